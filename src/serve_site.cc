// The routes of `serve` and the checks of their parameters: nothing reaches the store before
// every parameter of the request has been checked.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "chart.h"
#include "cli_output.h"
#include "mdfetch/market_calendar.h"
#include "mdfetch/symbols.h"
#include "serve_internal.h"

namespace mdfetch::serve {
namespace {

constexpr size_t kMaxValueLength = 64;
constexpr int64_t kDefaultTableRows = 20;
constexpr int64_t kMaxTableRows = 500;
constexpr int64_t kDefaultCalls = 50;
constexpr int64_t kMaxCalls = 1000;

// A request that cannot be answered: the status and what the page says.
struct Refusal {
  int status = 400;
  std::string message;
};
template <typename T>
using Checked = std::expected<T, Refusal>;

std::unexpected<Refusal> Refuse(int status, std::string message) {
  return std::unexpected(Refusal{status, std::move(message)});
}

// The parameters of one request, each checked against the route's list.
class Args {
 public:
  static Checked<Args> Of(const Params& params, std::initializer_list<std::string_view> allowed,
                          std::initializer_list<std::string_view> repeatable = {}) {
    Args args;
    for (const auto& [name, value] : params) {
      if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
        return Refuse(400, fmt::format("unknown parameter '{}'", Printable(name)));
      }
      if (value.size() > kMaxValueLength) {
        return Refuse(400, fmt::format("parameter '{}' is too long (at most {} characters)", name,
                                       kMaxValueLength));
      }
      const bool many = std::find(repeatable.begin(), repeatable.end(), name) != repeatable.end();
      if (!many && args.Get(name)) {
        return Refuse(400, fmt::format("parameter '{}' is given twice", name));
      }
      args.values_.emplace_back(name, value);
    }
    return args;
  }
  std::optional<std::string> Get(std::string_view name) const {
    for (const auto& [n, v] : values_) {
      if (n == name) return v;
    }
    return std::nullopt;
  }
  std::vector<std::string> All(std::string_view name) const {
    std::vector<std::string> out;
    for (const auto& [n, v] : values_) {
      if (n == name) out.push_back(v);
    }
    return out;
  }

 private:
  Params values_;
};

// A whole number in [low, high], digits only.
Checked<int64_t> WholeNumber(const Args& args, std::string_view name, int64_t fallback, int64_t low,
                             int64_t high) {
  const std::optional<std::string> text = args.Get(name);
  if (!text) return fallback;
  int64_t value = 0;
  const char* end = text->data() + text->size();
  auto [ptr, ec] = std::from_chars(text->data(), end, value);
  if (text->empty() || (*text)[0] == '-' || (*text)[0] == '+' || ec != std::errc() || ptr != end ||
      value < low || value > high) {
    return Refuse(400, fmt::format("bad {} '{}': expected a whole number from {} to {}", name,
                                   Printable(*text), low, high));
  }
  return value;
}

Checked<RangeChoice> RangeOf(const Args& args) {
  RangeChoice choice;
  if (auto range = args.Get("range")) {
    auto parsed = ParseRange(*range);
    if (!parsed) {
      return Refuse(
          400, fmt::format("bad range '{}': expected 1M, 6M, 1Y, 5Y or all", Printable(*range)));
    }
    choice.range = *parsed;
  }
  for (auto [name, field] : {std::pair{"from", &choice.from}, std::pair{"to", &choice.to}}) {
    auto text = args.Get(name);
    if (!text) continue;
    auto date = ParseDate(*text);
    if (text->size() != 10 || !date || !date->ok()) {
      return Refuse(400,
                    fmt::format("bad {} '{}': expected a date YYYY-MM-DD", name, Printable(*text)));
    }
    *field = *text;
  }
  if (choice.Explicit() && args.Get("range")) {
    return Refuse(400, "range and from/to cannot be given together");
  }
  if (choice.from && choice.to && *choice.from > *choice.to) {
    return Refuse(400, fmt::format("from {} is later than to {}", *choice.from, *choice.to));
  }
  return choice;
}

// The stored series `text` names, written like a symbol-list line.
Checked<SeriesState> FindSeries(Store& store, const std::string& text) {
  auto key = ParseSeriesArgument(text, SeriesDefaults{});
  if (!key) return Refuse(400, fmt::format("bad series: {}", key.error().message));
  auto found = store.Find(*key);
  if (!found) return Refuse(500, found.error().message);
  if (!*found) return Refuse(404, fmt::format("{} is not stored", Describe(*key)));
  return **found;
}

Checked<SeriesState> OneSeries(Store& store, const Args& args) {
  auto text = args.Get("s");
  if (!text) return Refuse(400, "missing parameter 's' (the series, e.g. s=IBM)");
  return FindSeries(store, *text);
}

Checked<std::vector<SeriesBars>> SeveralSeries(Store& store, const Args& args,
                                               const RangeChoice& range) {
  const std::vector<std::string> names = args.All("s");
  if (names.empty()) return Refuse(400, "choose at least one series to compare (s=IBM&s=MSFT)");
  if (names.size() > kMaxCompared) {
    return Refuse(400, fmt::format("at most {} series can be compared", kMaxCompared));
  }
  std::vector<SeriesBars> out;
  for (const std::string& name : names) {
    auto state = FindSeries(store, name);
    if (!state) return std::unexpected(state.error());
    auto bars = ReadRange(store, *state, range);
    if (!bars) return Refuse(500, bars.error().message);
    out.push_back(std::move(*bars));
  }
  return out;
}

// The chart of `series` (one: candles; several: normalised closes), as chart.h draws it.
Checked<std::string> Chart(Store& store, const std::vector<SeriesBars>& series, WallTime now) {
  auto source = ChartSource(store);
  if (!source) return Refuse(500, source.error().message);
  std::vector<ChartSeries> charted;
  for (const SeriesBars& s : series) {
    charted.push_back(ChartSeries{
        .state = s.state,
        .bars = s.bars,
        .findings = CheckSeries(s.state, s.bars, now, CheckOptions{.max_per_kind = 0})});
  }
  std::string svg = RenderChart(charted, ChartOptions{.source = *source});
  return svg;
}

// The chart inline in a page: HTML takes the <svg> element, not the XML declaration.
std::string Inline(std::string svg) {
  if (svg.starts_with("<?xml")) svg.erase(0, svg.find("?>") + 2);
  if (!svg.empty() && svg.front() == '\n') svg.erase(0, 1);
  return svg;
}

Reply HtmlReply(std::string body) { return Reply{.body = std::move(body)}; }
Reply JsonReply(std::string body) {
  return Reply{.content_type = "application/json; charset=utf-8", .body = std::move(body)};
}

// A name a download can have: the series and range, other characters as '-'.
std::string FileName(const SeriesKey& key, const RangeChoice& range) {
  std::string name = Describe(key) + "-" +
                     (range.Explicit() ? range.from.value_or("") + "_" + range.to.value_or("")
                                       : std::string(RangeName(range.range)));
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_') c = '-';
  }
  return name + ".csv";
}

Checked<Reply> ListRoute(Store& store, const Params& params, WallTime now,
                         const std::string& default_rate, bool api) {
  auto args = Args::Of(params, api ? std::initializer_list<std::string_view>{}
                                   : std::initializer_list<std::string_view>{"sort", "order"});
  if (!args) return std::unexpected(args.error());
  ListView view;
  if (auto sort = args->Get("sort")) {
    if (std::find(std::begin(kSortColumns), std::end(kSortColumns), *sort) ==
        std::end(kSortColumns)) {
      return Refuse(400, fmt::format("bad sort '{}': expected series, freshness, bars, first, "
                                     "last, outcome or findings",
                                     Printable(*sort)));
    }
    view.sort = *sort;
  }
  if (auto order = args->Get("order")) {
    if (*order != "asc" && *order != "desc") {
      return Refuse(400, fmt::format("bad order '{}': expected asc or desc", Printable(*order)));
    }
    view.descending = *order == "desc";
  }
  auto rows = ListRows(store, now);
  if (!rows) return Refuse(500, rows.error().message);
  if (api) return JsonReply(SeriesListJson(store.Location(), now, *rows));
  auto overview = ReadOverview(store, now, default_rate);
  if (!overview) return Refuse(500, overview.error().message);
  SortRows(*rows, view);
  return HtmlReply(ListPage(*overview, *rows, view));
}

Checked<Reply> SeriesRoute(Store& store, const Params& params, WallTime now) {
  auto args = Args::Of(params, {"s", "range", "from", "to", "rows"});
  if (!args) return std::unexpected(args.error());
  auto range = RangeOf(*args);
  if (!range) return std::unexpected(range.error());
  auto rows = WholeNumber(*args, "rows", kDefaultTableRows, 1, kMaxTableRows);
  if (!rows) return std::unexpected(rows.error());
  auto state = OneSeries(store, *args);
  if (!state) return std::unexpected(state.error());
  auto all = store.ReadBars(state->key, BarFilter{});
  if (!all) return Refuse(500, all.error().message);
  SeriesRow row = MakeRow(*state, *all, now);
  all->clear();
  auto bars = ReadRange(store, *state, *range);
  if (!bars) return Refuse(500, bars.error().message);
  // Made whole at once: assigning `range` after the others made GCC 12 at -O3 warn that its
  // strings may be used uninitialized (-Wmaybe-uninitialized, a false positive).
  SeriesPageData data{
      .row = std::move(row), .range = std::move(*bars), .choice = *range, .table_rows = *rows};
  auto chart = Chart(store, {data.range}, now);
  if (!chart) return std::unexpected(chart.error());
  data.chart_svg = Inline(std::move(*chart));
  auto calls = store.RecentCalls(state->key, kDefaultCalls);
  if (!calls) return Refuse(500, calls.error().message);
  data.calls = std::move(*calls);
  return HtmlReply(SeriesPage(data));
}

Checked<Reply> BarsRoute(Store& store, const Params& params, bool csv) {
  auto args = Args::Of(params, {"s", "range", "from", "to"});
  if (!args) return std::unexpected(args.error());
  auto range = RangeOf(*args);
  if (!range) return std::unexpected(range.error());
  auto state = OneSeries(store, *args);
  if (!state) return std::unexpected(state.error());
  auto bars = ReadRange(store, *state, *range);
  if (!bars) return Refuse(500, bars.error().message);
  if (!csv) return JsonReply(BarJson(bars->state, bars->bars));
  const bool adjusted = IsAdjusted(state->key.function);
  std::string out = BarCsvHeader(false, adjusted);
  for (const Bar& bar : bars->bars) AppendBarCsv(out, "", bar, adjusted);
  return Reply{.content_type = "text/csv; charset=utf-8",
               .body = std::move(out),
               .filename = FileName(state->key, *range)};
}

Checked<Reply> CallsRoute(Store& store, const Params& params) {
  auto args = Args::Of(params, {"s", "limit"});
  if (!args) return std::unexpected(args.error());
  auto limit = WholeNumber(*args, "limit", kDefaultCalls, 1, kMaxCalls);
  if (!limit) return std::unexpected(limit.error());
  std::optional<SeriesKey> key;
  if (args->Get("s")) {
    auto state = OneSeries(store, *args);
    if (!state) return std::unexpected(state.error());
    key = state->key;
  }
  auto calls = store.RecentCalls(key, *limit);
  if (!calls) return Refuse(500, calls.error().message);
  return JsonReply(CallsJson(key, *calls));
}

// The series (s=, repeated) and the range of a comparison or a chart, their bars read.
struct Compared {
  RangeChoice range;
  std::vector<SeriesBars> series;
};

Checked<Compared> ComparedOf(Store& store, const Params& params) {
  auto args = Args::Of(params, {"s", "range", "from", "to"}, {"s"});
  if (!args) return std::unexpected(args.error());
  auto range = RangeOf(*args);
  if (!range) return std::unexpected(range.error());
  auto series = SeveralSeries(store, *args, *range);
  if (!series) return std::unexpected(series.error());
  return Compared{std::move(*range), std::move(*series)};
}

Checked<Reply> CompareRoute(Store& store, const Params& params, WallTime now, bool api) {
  auto compared = ComparedOf(store, params);
  if (!compared) return std::unexpected(compared.error());
  const Normalised normalised = Normalise(compared->series);
  if (api) return JsonReply(CompareJson(compared->series, normalised));
  auto chart = Chart(store, compared->series, now);
  if (!chart) return std::unexpected(chart.error());
  return HtmlReply(
      ComparePage(compared->series, compared->range, normalised, Inline(std::move(*chart))));
}

Checked<Reply> ChartRoute(Store& store, const Params& params, WallTime now) {
  auto compared = ComparedOf(store, params);
  if (!compared) return std::unexpected(compared.error());
  auto chart = Chart(store, compared->series, now);
  if (!chart) return std::unexpected(chart.error());
  return Reply{.content_type = "image/svg+xml; charset=utf-8", .body = std::move(*chart)};
}

constexpr std::string_view kRoutes[] = {"/",          "/series",    "/series.csv", "/compare",
                                        "/chart.svg", "/style.css", "/api/status", "/api/series",
                                        "/api/bars",  "/api/calls", "/api/compare"};

}  // namespace

bool Site::Known(std::string_view path) {
  return std::find(std::begin(kRoutes), std::end(kRoutes), path) != std::end(kRoutes);
}

Reply Site::Handle(std::string_view path, const Params& params, Store& store) {
  const WallTime now = clock_.WallNow();
  const bool api = path.starts_with("/api/");
  Checked<Reply> reply = Refuse(404, "no such page");
  if (path == "/") {
    reply = ListRoute(store, params, now, default_rate_, false);
  } else if (path == "/series") {
    reply = SeriesRoute(store, params, now);
  } else if (path == "/series.csv") {
    reply = BarsRoute(store, params, true);
  } else if (path == "/compare") {
    reply = CompareRoute(store, params, now, false);
  } else if (path == "/chart.svg") {
    reply = ChartRoute(store, params, now);
  } else if (path == "/style.css") {
    reply =
        params.empty()
            ? Checked<Reply>(Reply{.content_type = "text/css; charset=utf-8", .body = StyleSheet()})
            : Refuse(400, "the stylesheet takes no parameter");
  } else if (path == "/api/status") {
    auto args = Args::Of(params, {});
    if (!args) {
      reply = std::unexpected(args.error());
    } else if (auto overview = ReadOverview(store, now, default_rate_); !overview) {
      reply = Refuse(500, overview.error().message);
    } else {
      reply = JsonReply(OverviewJson(*overview));
    }
  } else if (path == "/api/series") {
    reply = ListRoute(store, params, now, default_rate_, true);
  } else if (path == "/api/bars") {
    reply = BarsRoute(store, params, false);
  } else if (path == "/api/calls") {
    reply = CallsRoute(store, params);
  } else if (path == "/api/compare") {
    reply = CompareRoute(store, params, now, true);
  }
  if (reply) return std::move(*reply);
  const Refusal& refusal = reply.error();
  Reply error{.status = refusal.status};
  if (api) {
    error.content_type = "application/json; charset=utf-8";
    error.body = ErrorJson(refusal.message);
  } else {
    error.body = ErrorPage(refusal.status, refusal.message);
  }
  return error;
}

}  // namespace mdfetch::serve
