// What a refresh or fetch tells: the summary, the progress line, the call lines of --verbose,
// and the run report (--report), one JSON document per run.
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "cli_commands.h"
#include "cli_output.h"
#include "mdfetch/market_calendar.h"
#include "mdfetch/planner.h"
#include "output_file.h"

namespace mdfetch {
namespace {

using Json = nlohmann::ordered_json;

// Series the summary names one a line (failed, deferred, limited) before it counts the rest.
constexpr int64_t kNamedAtMost = 20;
const std::string& LimitedWhy() {
  static const std::string why = fmt::format(
      "only the latest {} bars (outputsize=full is premium for this key; weekly and monthly "
      "series give the whole history on a free key)",
      kCompactBars);
  return why;
}

std::string_view StatusWord(SeriesStatus status) {
  switch (status) {
    case SeriesStatus::kStored:
      return "stored";
    case SeriesStatus::kUpToDate:
      return "up_to_date";
    case SeriesStatus::kFailed:
      return "failed";
    case SeriesStatus::kDeferred:
      return "deferred";
  }
  return "?";
}

std::string_view StopWord(StopCause cause) {
  switch (cause) {
    case StopCause::kNone:
      return "none";
    case StopCause::kQuota:
      return "quota";
    case StopCause::kUnreachable:
      return "unreachable";
    case StopCause::kInterrupted:
      return "interrupted";
    case StopCause::kError:
      return "error";
  }
  return "?";
}

Json OrNull(const std::string& text) { return text.empty() ? Json(nullptr) : Json(text); }

Json SeriesJson(const SeriesKey& key) {
  // A crypto series is "COIN/MARKET": the market is the part after the slash.
  const size_t slash = key.symbol.find('/');
  const bool crypto = key.function == Function::kCryptoDaily && slash != std::string::npos;
  return Json{{"symbol", key.symbol},
              {"function", ShortName(key.function)},
              {"interval", OrNull(key.interval)},
              {"market", crypto ? Json(key.symbol.substr(slash + 1)) : Json(nullptr)},
              {"adjusted", key.adjusted},
              {"extended_hours", key.extended_hours},
              {"description", Describe(key)}};
}

Json ResultJson(const SeriesResult& r) {
  const std::string_view size = OutputSizeName(r.outputsize);
  return Json{
      {"series", SeriesJson(r.key)},
      {"month", OrNull(r.month)},
      {"status", StatusWord(r.status)},
      {"calls", r.calls},
      {"outputsize", size.empty() ? Json(nullptr) : Json(size)},
      {"bars",
       {{"new", r.counts.added}, {"changed", r.counts.changed}, {"unchanged", r.counts.unchanged}}},
      {"history_limited", r.history_limited},
      {"reason", OrNull(r.reason)}};
}

Json OptionsJson(const RunReport& report) {
  const RefreshArgs& a = *report.args;
  return Json{{"db", report.db},
              {"symbols_file", a.fetch ? Json(nullptr) : Json(a.symbols_file)},
              {"symbols", a.fetch ? Json(a.symbols) : Json(nullptr)},
              {"rate", report.rate},
              {"concurrency", a.concurrency},
              {"retries", a.retries},
              {"force", a.force},
              {"full", a.full},
              {"sim", a.sim},
              {"months", report.months}};
}

// OutputFile says "cannot write 'PATH': REASON"; the report's messages name it as the report.
std::string ReportError(const std::string& path, const std::string& message) {
  const std::string prefix = fmt::format("cannot write '{}'", path);
  if (!message.starts_with(prefix)) return message;
  const std::string rest = message.substr(prefix.size());  // ": REASON"
  if (path == "-") return "cannot write the report to stdout" + rest;
  return fmt::format("cannot write the report '{}'{}", path, rest);
}

std::string SummaryLine(const RunReport& report) {
  const RefreshSummary& s = *report.summary;
  // A backfill settles each month of each series: "6 months of 3 series".
  std::string what = fmt::format("{} series", s.items);
  if (!report.months.empty() && s.items > 0) {
    what = fmt::format("{} of {} series", Plural(s.items, "month"), report.results->series());
  }
  return fmt::format(
      "{}: {}: {} stored, {} up to date, {} failed, {} deferred; {} ({} throttled, {} retried); "
      "{} added, {} changed\n",
      report.db, what, s.Count(SeriesStatus::kStored), s.Count(SeriesStatus::kUpToDate),
      s.Count(SeriesStatus::kFailed), s.Count(SeriesStatus::kDeferred), Plural(s.calls, "call"),
      s.throttled, s.retries, Plural(s.BarsAdded(), "bar"), s.BarsChanged());
}

}  // namespace

std::string Plural(int64_t n, std::string_view what) {
  return fmt::format("{} {}{}", n, what, n == 1 ? "" : "s");
}

void PrintSummary(std::FILE* out, const RunReport& report, Verbosity verbosity) {
  const RefreshSummary& s = *report.summary;
  const bool quiet = verbosity == Verbosity::kQuiet;
  // Quiet, a line stands alone (no summary line above it): it is a message like any other.
  const std::string_view lead = quiet ? "mdfetch: " : "  ";
  if (!quiet) fmt::print(out, "{}", SummaryLine(report));
  // A run stopped by an interruption (or an error) leaves every series not yet called for the
  // same reason: one line says so, the cause is on the stop line.
  const bool grouped = s.stop == StopCause::kInterrupted || s.stop == StopCause::kError;
  const std::string left = std::string(StopCauseText(s.stop));
  int64_t left_alike = 0;
  // Past kNamedAtMost lines (unless --verbose) the rest are counted by what they say.
  const bool every = verbosity == Verbosity::kVerbose;
  int64_t named = 0;
  std::map<std::pair<std::string_view, std::string>, int64_t> more;
  report.results->ForEach([&](const SeriesResult& r) {
    if (grouped && r.reason == left && r.status != SeriesStatus::kStored) {
      ++left_alike;
    } else if (r.status == SeriesStatus::kFailed || r.status == SeriesStatus::kDeferred) {
      if (!every && named >= kNamedAtMost) {
        ++more[{SeriesStatusName(r.status), r.reason}];
        return;
      }
      ++named;
      fmt::print(out, "{}{} {}: {}\n", lead, SeriesStatusName(r.status), Describe(r), r.reason);
    } else if (!quiet && r.history_limited && r.status == SeriesStatus::kStored) {
      if (!every && named >= kNamedAtMost) {
        ++more[{"limited", LimitedWhy()}];
        return;
      }
      ++named;
      fmt::print(out, "  limited {}: {}\n", Describe(r.key), LimitedWhy());
    }
  });
  for (const auto& [what, n] : more) {
    fmt::print(out, "{}{} more {}: {}\n", lead, Grouped(n), what.first, what.second);
  }
  if (!more.empty()) fmt::print(out, "{}(each series: --verbose, or --report FILE)\n", lead);
  if (left_alike > 0) {
    fmt::print(out, "{}{} series {} ({})\n", lead, left_alike,
               s.stop == StopCause::kInterrupted ? "deferred" : "not called",
               s.stop == StopCause::kInterrupted ? "interrupted" : "the run stopped");
  }
  const int64_t up_to_date = s.Count(SeriesStatus::kUpToDate);
  if (!quiet && report.args->full && !report.args->force && up_to_date > 0) {
    fmt::print(out,
               "mdfetch: {} series up to date; --full applies when they are next due, or now "
               "with --force\n",
               up_to_date);
  }
  if (!s.stop_detail.empty()) fmt::print(out, "mdfetch: the service said: {}\n", s.stop_detail);
  if (!s.stop_reason.empty() && s.stop != StopCause::kInterrupted) {
    fmt::print(out, "mdfetch: stopped: {}{}\n", s.stop_reason,
               s.stop_detail.empty() ? "" : " (its answer above)");
  }
  if (s.stop == StopCause::kUnreachable) {
    fmt::print(out,
               "mdfetch: nothing was spent on the calls that could not be sent; the next run "
               "starts with the deferred series\n");
  }
  if (!quiet && report.args->sim) {
    fmt::print(out, "(simulated data from the built-in simulator, not Alpha Vantage)\n");
  }
}

void PrintCall(std::FILE* err, const CallEvent& call) {
  const std::string_view size = OutputSizeName(call.outputsize);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(call.elapsed).count();
  fmt::print(err, "mdfetch: {} {}{}{}: {}{}{}, {}, {} ms\n", IsoUtc(call.sent_at), call.series,
             size.empty() ? "" : " outputsize=", size, call.outcome,
             call.message.empty() ? "" : " (", call.message.empty() ? "" : call.message + ")",
             Plural(call.bytes, "byte"), ms);
}

ProgressLine::~ProgressLine() {
  if (drawn_) fmt::print(env_.err, "\r\x1b[K");
}

// One line, cut to the terminal's width less one column (a line that fills the last column
// wraps on some terminals, and `\r` would then clear only the copy below), each drawn over the
// last: `\r` to its start, `\x1b[K` to clear what a longer one left.
void ProgressLine::operator()(const Progress& p) {
  if (!env_.err_is_terminal) return;
  std::string line =
      fmt::format("{}/{} series, {}: {}", p.settled, p.total, Plural(p.calls, "call"), p.last);
  size_t width = static_cast<size_t>(std::max(env_.err_columns > 0 ? env_.err_columns : 80, 2) - 1);
  if (line.size() > width) {
    while (width > 0 && (static_cast<unsigned char>(line[width]) & 0xC0) == 0x80) --width;
    line.resize(width);
  }
  fmt::print(env_.err, "\r\x1b[K{}", line);
  std::fflush(env_.err);
  drawn_ = true;
}

void WriteReportJson(const RunReport& report, const std::function<void(std::string_view)>& write) {
  const RefreshSummary& s = *report.summary;
  Json doc;
  doc["report_version"] = kReportVersion;
  doc["mdfetch_version"] = MDFETCH_VERSION;
  doc["command"] = report.args->fetch ? "fetch" : "refresh";
  doc["started_at"] = IsoUtc(report.started);
  doc["ended_at"] = IsoUtc(report.ended);
  doc["options"] = OptionsJson(report);
  doc["series"] = Json::array();  // written one at a time where the empty array stands
  doc["invalid_lines"] = report.problems;
  doc["totals"] = Json{{"series", s.items},
                       {"stored", s.Count(SeriesStatus::kStored)},
                       {"up_to_date", s.Count(SeriesStatus::kUpToDate)},
                       {"failed", s.Count(SeriesStatus::kFailed)},
                       {"deferred", s.Count(SeriesStatus::kDeferred)},
                       {"calls", s.calls},
                       {"retries", s.retries},
                       {"throttled", s.throttled},
                       {"bars_new", s.BarsAdded()},
                       {"bars_changed", s.BarsChanged()}};
  doc["stop"] = Json{{"cause", StopWord(s.stop)},
                     {"reason", OrNull(s.stop_reason)},
                     {"detail", OrNull(s.stop_detail)}};
  doc["exit_status"] = report.exit_status;
  // Paths and fetch arguments are bytes as given, not always UTF-8: such bytes become U+FFFD
  // (the strict default would throw after the run, and no report would be written).
  const std::string text = JsonText(doc, 2) + "\n";
  // The first `"series": []` is the key's: one inside a string would have its quotes escaped,
  // and no key before it holds an object with a "series".
  constexpr std::string_view kEmpty = "\"series\": []";
  const size_t at = text.find(kEmpty);
  write(std::string_view(text).substr(0, at));
  write("\"series\": [");
  bool first = true;
  std::string entry;
  report.results->ForEach([&](const SeriesResult& r) {
    // Each element as dump() nests it: its lines indented by two levels.
    const std::string alone = JsonText(ResultJson(r), 2);
    entry.assign(first ? "\n    " : ",\n    ");
    for (char c : alone) {
      entry.push_back(c);
      if (c == '\n') entry.append("    ");
    }
    write(entry);
    first = false;
  });
  write(first ? "]" : "\n  ]");
  write(std::string_view(text).substr(at + kEmpty.size()));
}

std::string ReportJson(const RunReport& report) {
  std::string text;
  WriteReportJson(report, [&](std::string_view piece) { text.append(piece); });
  return text;
}

Status CheckReportPath(const std::string& path) {
  if (path == "-") return {};
  // A named pipe or a device (/dev/stdout, /dev/full) is written in place: its folder need
  // not be writable. Anything else is written beside its final target (links followed).
  struct stat st {};
  const bool exists = ::stat(path.c_str(), &st) == 0;
  if (exists && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) return {};
  std::error_code ec;
  std::filesystem::path target = path;
  if (std::filesystem::is_symlink(path, ec)) {
    target = std::filesystem::weakly_canonical(path, ec);
    if (ec) target = path;
  }
  std::filesystem::path folder = target.parent_path();
  if (folder.empty()) folder = ".";
  if (!std::filesystem::is_directory(folder, ec)) {
    return Fail(fmt::format("cannot write the report '{}': no folder '{}'", path, folder.string()));
  }
  if (::access(folder.c_str(), W_OK) != 0) {
    return Fail(fmt::format("cannot write the report '{}': folder '{}': {}", path, folder.string(),
                            std::strerror(errno)));
  }
  return {};
}

// Through OutputFile, as export writes: a regular file (or a link's target) is replaced
// whole and synced, a pipe or device written in place, "-" is `out`.
Status WriteReport(const std::string& path, const RunReport& report, std::FILE* out) {
  auto file = OutputFile::Open(path, out);
  if (!file) return Fail(ReportError(path, file.error().message));
  // A failed write makes Commit fail.
  WriteReportJson(report, [&](std::string_view piece) { (void)(*file)->Write(piece); });
  if (Status done = (*file)->Commit(); !done) return Fail(ReportError(path, done.error().message));
  return {};
}

namespace {

// RunResults::brief_: the status, and two flags.
constexpr uint8_t kStatusBits = 0x3;
constexpr uint8_t kLimitedBit = 0x4;
constexpr uint8_t kDetailBit = 0x8;

}  // namespace

RunResults::RunResults(SeriesSource& series, std::vector<std::string> months)
    : series_(series),
      months_(std::move(months)),
      brief_(series.size() * std::max<size_t>(1, months_.size()), 0) {}

void RunResults::Add(size_t position, SeriesResult&& r) {
  uint8_t& brief = brief_.at(position);
  brief = static_cast<uint8_t>(static_cast<uint8_t>(r.status) & kStatusBits);
  if (r.history_limited) brief |= kLimitedBit;
  const bool said = !r.reason.empty();
  if (!said && r.calls == 0 && r.outputsize == OutputSize::kNone && r.counts.added == 0 &&
      r.counts.changed == 0 && r.counts.unchanged == 0) {
    return;
  }
  brief |= kDetailBit;
  Detail detail{.counts = r.counts, .calls = r.calls, .outputsize = r.outputsize};
  if (said) {
    auto [it, added] = reason_ids_.try_emplace(r.reason, static_cast<uint32_t>(reasons_.size()));
    if (added) reasons_.push_back(std::move(r.reason));
    detail.reason = it->second;
  }
  details_.emplace_back(position, detail);
}

void RunResults::ForEach(const std::function<void(const SeriesResult&)>& each) const {
  // Results arrive a slice at a time, the deferred series' first.
  std::ranges::sort(details_, {}, &std::pair<size_t, Detail>::first);
  auto detail = details_.begin();
  const std::vector<std::string> latest{""};
  const std::vector<std::string>& months = months_.empty() ? latest : months_;
  series_.Rewind();
  SeriesResult r;
  size_t position = 0;
  while (position < brief_.size() && series_.Next(r.key)) {
    for (const std::string& month : months) {
      const uint8_t brief = brief_[position];
      r.month = month;
      r.status = static_cast<SeriesStatus>(brief & kStatusBits);
      r.history_limited = (brief & kLimitedBit) != 0;
      r.reason.clear();
      r.counts = {};
      r.calls = 0;
      r.outputsize = OutputSize::kNone;
      if ((brief & kDetailBit) != 0 && detail != details_.end() && detail->first == position) {
        r.counts = detail->second.counts;
        r.calls = detail->second.calls;
        r.outputsize = detail->second.outputsize;
        r.reason = reasons_[detail->second.reason];
        ++detail;
      }
      each(r);
      ++position;
    }
  }
}

}  // namespace mdfetch
