// The pages of `serve` as HTML: every text from the store passes through Escape(), every value
// in a link through UrlEncode().
#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "mdfetch/market_calendar.h"
#include "serve_internal.h"

namespace mdfetch::serve {
namespace {

std::string Head(std::string_view title) {
  return fmt::format(
      "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      "<link rel=\"icon\" href=\"data:,\">"
      "<title>{}</title><link rel=\"stylesheet\" href=\"/style.css\"></head>\n<body>"
      "<header><a class=\"home\" href=\"/\">mdfetch</a> <span>read-only view</span></header>\n"
      "<main>\n",
      Escape(title));
}

constexpr std::string_view kTail = "</main></body></html>\n";

std::string When(const std::optional<WallTime>& t) { return t ? FormatUtc(*t) : "-"; }

std::string Number(double v) { return fmt::format("{}", v); }
std::string Optional(const std::optional<double>& v) { return v ? Number(*v) : ""; }

std::string RangeQuery(const RangeChoice& range) {
  if (!range.Explicit()) return "range=" + std::string(RangeName(range.range));
  std::string q;
  if (range.from) q += "from=" + *range.from;
  if (range.to) q += std::string(q.empty() ? "" : "&") + "to=" + *range.to;
  return q;
}

// The range links of a page: `base` is its link without the range ("/series?s=IBM").
std::string RangeNav(const std::string& base, const RangeChoice& current) {
  std::string out = "<nav class=\"ranges\">";
  for (Range r : kRanges) {
    const bool on = !current.Explicit() && current.range == r;
    out += fmt::format("<a{} href=\"{}&amp;range={}\">{}</a>", on ? " class=\"current\"" : "",
                       Escape(base), RangeName(r), RangeName(r));
  }
  return out + "</nav>\n";
}

std::string FindingsList(const std::vector<Finding>& findings) {
  if (findings.empty()) return "<p class=\"healthy\">Nothing found.</p>\n";
  std::string out = "<ul class=\"findings\">";
  for (const Finding& f : findings) {
    out += fmt::format("<li><span class=\"kind\">{}</span> {}</li>", FindingKindName(f.kind),
                       Escape(f.message));
  }
  return out + "</ul>\n";
}

std::string OutcomeCell(const SeriesState& s) {
  if (s.last_outcome.empty()) return "-";
  std::string out = Escape(s.last_outcome);
  if (s.last_attempt_at) {
    out += ' ';  // not `" " + ...`: GCC 12 -O3's -Wrestrict false positive, as in SeriesLink
    out += FormatUtc(*s.last_attempt_at);
  }
  if (!s.last_error.empty()) out += fmt::format("<br><small>{}</small>", Escape(s.last_error));
  return out;
}

std::string FreshnessCell(Freshness f) {
  std::string cls(FreshnessName(f));
  std::replace(cls.begin(), cls.end(), ' ', '-');
  return fmt::format("<td class=\"fresh {}\">{}</td>", cls, FreshnessName(f));
}

std::string QuotaText(const Quota& q) {
  const std::string source =
      q.recorded_at
          ? fmt::format("--rate {}, recorded by the refresh of {}", Escape(q.rate),
                        FormatUtc(*q.recorded_at))
          : fmt::format("--rate {}, the default: no refresh recorded one", Escape(q.rate));
  if (!q.per_day) {
    return fmt::format("{} calls in the last 24 h; no daily quota ({})", q.spent, source);
  }
  return fmt::format("<strong>{} of {}</strong> calls spent in the last 24 h ({})", q.spent,
                     *q.per_day, source);
}

std::string LastRunText(const std::vector<CallRow>& calls) {
  if (calls.empty()) return "<p>No call is logged yet.</p>\n";
  std::map<std::string, int> outcomes;
  for (const CallRow& c : calls) ++outcomes[c.outcome.empty() ? "in flight" : c.outcome];
  std::string counts;
  for (const auto& [outcome, n] : outcomes) {
    counts += fmt::format("{}{} {}", counts.empty() ? "" : ", ", n, Escape(outcome));
  }
  return fmt::format(
      "<p id=\"last-run\">{} call{} from {} to {}: {}.</p>\n<p class=\"note\">Read off the call "
      "log (calls less than {} min apart); the store keeps no run report: "
      "<code>refresh --report FILE</code> writes one.</p>\n",
      calls.size(), calls.size() == 1 ? "" : "s", FormatUtc(calls.back().at),
      FormatUtc(calls.front().at), counts,
      std::chrono::duration_cast<std::chrono::minutes>(kRunGap).count());
}

std::string SortLink(std::string_view column, std::string_view label, const ListView& view) {
  const bool on = view.sort == column;
  const bool next_desc = on && !view.descending;
  return fmt::format("<th><a href=\"/?sort={}&amp;order={}\"{}>{}{}</a></th>", column,
                     next_desc ? "desc" : "asc", on ? " class=\"sorted\"" : "", label,
                     on ? (view.descending ? " &#9660;" : " &#9650;") : "");
}

std::string RangeSelect() {
  std::string out = "<select name=\"range\">";
  for (Range r : kRanges) {
    out += fmt::format("<option{}>{}</option>", r == Range::k1Y ? " selected" : "", RangeName(r));
  }
  return out + "</select>";
}

std::string SeriesRowHtml(const SeriesRow& row) {
  const SeriesState& s = row.state;
  const std::string name = Describe(s.key);
  std::string findings = "<td class=\"num\">0</td>";
  if (!row.findings.empty()) {
    findings = fmt::format("<td><details><summary>{}</summary>{}</details></td>",
                           row.findings.size(), FindingsList(row.findings));
  }
  return fmt::format(
      "<tr class=\"series-row\" data-series=\"{0}\"><td><input type=\"checkbox\" name=\"s\" "
      "value=\"{0}\" aria-label=\"compare {0}\"></td><td><a href=\"{1}\">{0}</a></td>{2}"
      "<td class=\"num\">{3}</td><td>{4}</td><td>{5}</td><td>{6}</td>{7}</tr>\n",
      Escape(name), Escape(SeriesLink("/series", s.key, RangeChoice{})),
      FreshnessCell(row.freshness), s.bar_count, Escape(s.first_ts.empty() ? "-" : s.first_ts),
      Escape(s.last_ts.empty() ? "-" : s.last_ts), OutcomeCell(s), findings);
}

}  // namespace

std::string UrlEncode(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

std::string SeriesLink(std::string_view page, const SeriesKey& key, const RangeChoice& range) {
  std::string link = fmt::format("{}?s={}", page, UrlEncode(Describe(key)));
  // Appended in two steps: `"&" + RangeQuery(...)` makes GCC 12 at -O3 warn (-Wrestrict) about
  // its own inlined memcpy (a known false positive of libstdc++'s operator+).
  if (range.Explicit() || range.range != Range::k1Y) {
    link += '&';
    link += RangeQuery(range);
  }
  return link;
}

void SortRows(std::vector<SeriesRow>& rows, const ListView& view) {
  auto key = [&](const SeriesRow& r) {
    const SeriesState& s = r.state;
    // Ties keep the store's order (symbol, function, interval): the sort is stable.
    if (view.sort == "freshness") return fmt::format("{}", static_cast<int>(r.freshness));
    if (view.sort == "bars") return fmt::format("{:020}", s.bar_count);
    if (view.sort == "first") return s.first_ts;
    if (view.sort == "last") return s.last_ts;
    if (view.sort == "outcome") return s.last_outcome;
    if (view.sort == "findings") return fmt::format("{:020}", r.findings.size());
    return std::string();
  };
  if (view.sort != "series") {
    std::stable_sort(rows.begin(), rows.end(),
                     [&](const SeriesRow& a, const SeriesRow& b) { return key(a) < key(b); });
  }
  if (view.descending) std::reverse(rows.begin(), rows.end());
}

std::string ListPage(const Overview& overview, const std::vector<SeriesRow>& rows,
                     const ListView& view) {
  std::string out = Head("mdfetch: " + overview.database);
  out += fmt::format("<h1>Stored series</h1>\n<p class=\"db\">{} &middot; {} &middot; at {}</p>\n",
                     Escape(overview.database),
                     rows.size() == 1 ? "1 series" : fmt::format("{} series", rows.size()),
                     FormatUtc(overview.at));
  out += fmt::format(
      "<section class=\"status\"><h2>Quota</h2><p id=\"quota\">{}</p>\n"
      "<h2>Last run</h2>\n{}</section>\n",
      QuotaText(overview.quota), LastRunText(overview.last_run));
  if (rows.empty()) {
    return out + "<p>No series stored yet: <code>mdfetch refresh</code> stores them.</p>\n" +
           std::string(kTail);
  }
  out +=
      "<form action=\"/compare\" method=\"get\">\n<table id=\"series\"><thead><tr>"
      "<th>compare</th>";
  const std::pair<std::string_view, std::string_view> columns[] = {
      {"series", "series"},    {"freshness", "freshness"}, {"bars", "bars"},
      {"first", "first bar"},  {"last", "last bar"},       {"outcome", "last outcome"},
      {"findings", "findings"}};
  for (const auto& [column, label] : columns) out += SortLink(column, label, view);
  out += "</tr></thead>\n<tbody>\n";
  for (const SeriesRow& row : rows) out += SeriesRowHtml(row);
  out += fmt::format(
      "</tbody></table>\n<p class=\"compare\">{} <button type=\"submit\">Compare the chosen "
      "series</button> (at most {})</p>\n</form>\n",
      RangeSelect(), kMaxCompared);
  return out + std::string(kTail);
}

namespace {

std::string BarsTable(const SeriesBars& range, int64_t rows) {
  const bool adjusted = IsAdjusted(range.state.key.function);
  std::string out =
      "<table id=\"bars\"><thead><tr><th>ts</th><th>open</th><th>high</th>"
      "<th>low</th><th>close</th><th>volume</th>";
  if (adjusted) out += "<th>adjusted close</th><th>dividend</th><th>split</th>";
  out += "</tr></thead><tbody>\n";
  const auto n = std::min<size_t>(range.bars.size(), static_cast<size_t>(rows));
  for (size_t i = 0; i < n; ++i) {
    const Bar& b = range.bars[range.bars.size() - 1 - i];
    const bool provisional = b.ts == range.state.provisional_ts;
    out += fmt::format("<tr><td>{}{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
                       Escape(b.ts), provisional ? " (provisional)" : "", Number(b.open),
                       Number(b.high), Number(b.low), Number(b.close), Optional(b.volume));
    if (adjusted) {
      out += fmt::format("<td>{}</td><td>{}</td><td>{}</td>", Optional(b.adjusted_close),
                         Optional(b.dividend), Optional(b.split_coefficient));
    }
    out += "</tr>\n";
  }
  return out + "</tbody></table>\n";
}

std::string CallsTable(const std::vector<CallRow>& calls) {
  if (calls.empty()) return "<p>No call logged for this series.</p>\n";
  std::string out =
      "<table id=\"calls\"><thead><tr><th>at</th><th>outputsize</th><th>outcome</th>"
      "<th>HTTP</th><th>bytes</th><th>new</th><th>changed</th><th>unchanged</th><th>month</th>"
      "<th>error</th></tr></thead><tbody>\n";
  for (const CallRow& c : calls) {
    out += fmt::format(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
        "<td>{}</td><td>{}</td><td>{}</td></tr>\n",
        FormatUtc(c.at), Escape(c.outputsize), Escape(c.outcome.empty() ? "-" : c.outcome),
        c.http_status, c.bytes, c.bars_new, c.bars_changed, c.bars_unchanged, Escape(c.month),
        Escape(c.error));
  }
  return out + "</tbody></table>\n";
}

std::string RangeSummary(const SeriesBars& range) {
  if (range.bars.empty()) return "No bar in this range.";
  return fmt::format(
      "{} bar{} from {} to {}{}", range.bars.size(), range.bars.size() == 1 ? "" : "s",
      Escape(range.bars.front().ts), Escape(range.bars.back().ts),
      range.capped ? fmt::format(" (the newest {}: the range holds more)", kMaxRangeBars) : "");
}

}  // namespace

std::string SeriesPage(const SeriesPageData& data) {
  const SeriesState& s = data.row.state;
  const std::string name = Describe(s.key);
  std::string out = Head("mdfetch: " + name);
  out += fmt::format("<h1>{}</h1>\n<p class=\"meta\">", Escape(name));
  out += fmt::format(
      "<span class=\"fresh-label\">{}</span> &middot; {} bars stored, {} to {} &middot; zone {} "
      "&middot; last refreshed {} &middot; last success {}</p>\n",
      FreshnessName(data.row.freshness), s.bar_count, Escape(s.first_ts.empty() ? "-" : s.first_ts),
      Escape(s.last_ts.empty() ? "-" : s.last_ts), Escape(s.time_zone.empty() ? "-" : s.time_zone),
      Escape(s.last_refreshed.empty() ? "-" : s.last_refreshed), When(s.last_success_at));
  out += RangeNav("/series?s=" + UrlEncode(name), data.choice);
  if (!data.chart_svg.empty()) out += "<figure class=\"chart\">" + data.chart_svg + "</figure>\n";
  out += fmt::format(
      "<p id=\"range\">{} &middot; <a id=\"csv\" href=\"{}\" download>CSV of the range</a> "
      "&middot; <a href=\"{}\">JSON</a></p>\n",
      RangeSummary(data.range), Escape(SeriesLink("/series.csv", s.key, data.choice)),
      Escape(SeriesLink("/api/bars", s.key, data.choice)));
  out += "<h2>Health</h2>\n" + FindingsList(data.row.findings);
  out += fmt::format("<h2>Last bars</h2>\n{}", BarsTable(data.range, data.table_rows));
  out += fmt::format("<h2>Calls</h2>\n{}", CallsTable(data.calls));
  return out + std::string(kTail);
}

std::string ComparePage(const std::vector<SeriesBars>& series, const RangeChoice& choice,
                        const Normalised& normalised, const std::string& chart_svg) {
  std::string names, base = "/compare?";
  for (size_t i = 0; i < series.size(); ++i) {
    const std::string name = Describe(series[i].state.key);
    names += fmt::format("{}<a href=\"{}\">{}</a>", i == 0 ? "" : ", ",
                         Escape(SeriesLink("/series", series[i].state.key, choice)), Escape(name));
    base += (i == 0 ? "s=" : "&s=") + UrlEncode(name);
  }
  std::string out = Head("mdfetch: comparison");
  out += fmt::format("<h1>Comparison</h1>\n<p class=\"meta\">{}</p>\n", names);
  out += RangeNav(base, choice);
  if (!chart_svg.empty()) out += "<figure class=\"chart\">" + chart_svg + "</figure>\n";
  if (normalised.base_ts.empty()) {
    return out + "<p id=\"base\">These series have no bar in common in this range.</p>\n" +
           std::string(kTail);
  }
  out += fmt::format("<p id=\"base\">Closes as 100 at {}, their first bar in common.</p>\n",
                     Escape(normalised.base_ts));
  out +=
      "<table id=\"compare\"><thead><tr><th>series</th><th>bars</th><th>last common bar</th>"
      "<th>value</th><th>change</th></tr></thead><tbody>\n";
  for (size_t i = 0; i < series.size(); ++i) {
    const auto& points = normalised.points[i];
    const auto& [ts, value] =
        points.empty() ? std::pair<std::string, double>{"-", 100} : points.back();
    out += fmt::format(
        "<tr class=\"compared\"><td>{}</td><td class=\"num\">{}</td><td>{}</td>"
        "<td class=\"num\">{:.2f}</td><td class=\"num\">{:+.2f}%</td></tr>\n",
        Escape(Describe(series[i].state.key)), series[i].bars.size(), Escape(ts), value,
        value - 100);
  }
  return out + "</tbody></table>\n" + std::string(kTail);
}

std::string ErrorPage(int status, std::string_view message) {
  std::string_view title = status == 404   ? "Not found"
                           : status == 400 ? "Bad request"
                           : status == 405 ? "Method not allowed"
                                           : "Error";
  return Head(fmt::format("mdfetch: {}", title)) +
         fmt::format(
             "<h1>{} ({})</h1>\n<p class=\"error\">{}</p>\n<p><a href=\"/\">All stored "
             "series</a></p>\n",
             title, status, Escape(message)) +
         std::string(kTail);
}

std::string StyleSheet() {
  return R"(body { font: 15px/1.45 system-ui, sans-serif; margin: 0; color: #1d1d1f; background: #fafafa; }
header { background: #233; color: #eee; padding: .5em 1.5em; }
header a.home { color: #fff; font-weight: bold; text-decoration: none; margin-right: .5em; }
main { padding: 1em 1.5em; max-width: 1200px; }
h1 { font-size: 1.5em; margin: .2em 0; }
h2 { font-size: 1.1em; margin: 1.2em 0 .3em; }
.db, .meta, .note { color: #555; }
table { border-collapse: collapse; background: #fff; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid #ddd; padding: .25em .6em; text-align: left; vertical-align: top; }
th a { color: inherit; }
th a.sorted { font-weight: bold; }
td.num { text-align: right; }
td.fresh.up-to-date { color: #176b1e; }
td.fresh.due { color: #7a5b00; }
td.fresh.failing { color: #b00020; font-weight: bold; }
td.fresh.deferred { color: #5b3a99; }
.findings { margin: .2em 0; padding-left: 1.2em; }
.findings .kind { font-weight: bold; }
.error { color: #b00020; }
nav.ranges a { display: inline-block; padding: .15em .7em; margin-right: .3em; border: 1px solid #99a;
  border-radius: 4px; text-decoration: none; color: #233; background: #fff; }
nav.ranges a.current { background: #233; color: #fff; }
figure.chart { margin: 1em 0; }
figure.chart svg { max-width: 100%; height: auto; background: #fff; }
)";
}

}  // namespace mdfetch::serve
