// The /api routes of `serve`: the pages' data as JSON, with the field names of `list`, `query`
// and `check` (README, "mdfetch serve").
#include <map>
#include <nlohmann/json.hpp>

#include "cli_output.h"
#include "serve_internal.h"

namespace mdfetch::serve {
namespace {

using Json = nlohmann::ordered_json;

Json CallJson(const CallRow& c) {
  return Json{{"id", c.id},
              {"at", IsoUtc(c.at)},
              {"series", c.series ? Json(Describe(*c.series)) : Json(nullptr)},
              {"outputsize", c.outputsize},
              {"outcome", c.outcome},
              {"http_status", c.http_status},
              {"bytes", c.bytes},
              {"bars_new", c.bars_new},
              {"bars_changed", c.bars_changed},
              {"bars_unchanged", c.bars_unchanged},
              {"month", c.month},
              {"error", c.error}};
}

Json CallsArray(const std::vector<CallRow>& calls) {
  Json out = Json::array();
  for (const CallRow& c : calls) out.push_back(CallJson(c));
  return out;
}

}  // namespace

std::string OverviewJson(const Overview& overview) {
  const Quota& q = overview.quota;
  Json run{{"source", "call log"}, {"calls", overview.last_run.size()}};
  run["first_at"] =
      overview.last_run.empty() ? Json(nullptr) : Json(IsoUtc(overview.last_run.back().at));
  run["last_at"] =
      overview.last_run.empty() ? Json(nullptr) : Json(IsoUtc(overview.last_run.front().at));
  std::map<std::string, int> outcomes;
  for (const CallRow& c : overview.last_run) ++outcomes[c.outcome];
  run["outcomes"] = Json::object();
  for (const auto& [outcome, n] : outcomes) run["outcomes"][outcome] = n;
  run["calls_list"] = CallsArray(overview.last_run);
  return JsonText(
             Json{{"version", 1},
                  {"database", overview.database},
                  {"at", IsoUtc(overview.at)},
                  {"quota",
                   {{"rate", q.rate},
                    {"recorded_at", q.recorded_at ? Json(IsoUtc(*q.recorded_at)) : Json(nullptr)},
                    {"per_day", q.per_day ? Json(*q.per_day) : Json(nullptr)},
                    {"spent_last_24h", q.spent}}},
                  {"last_run", std::move(run)}},
             2) +
         "\n";
}

std::string SeriesListJson(const std::string& database, WallTime at,
                           const std::vector<SeriesRow>& rows) {
  Json series = Json::array();
  for (const SeriesRow& row : rows) {
    Json fields{{"series", Describe(row.state.key)}};
    fields.update(SeriesJsonFields(row.state));
    fields["freshness"] = FreshnessName(row.freshness);
    Json findings = Json::array();
    for (const Finding& f : row.findings) {
      findings.push_back({{"kind", FindingKindName(f.kind)},
                          {"first", f.first_ts},
                          {"last", f.last_ts},
                          {"message", f.message}});
    }
    fields["findings"] = std::move(findings);
    series.push_back(std::move(fields));
  }
  return JsonText(Json{{"version", 1},
                       {"database", database},
                       {"at", IsoUtc(at)},
                       {"series", std::move(series)}},
                  2) +
         "\n";
}

std::string CallsJson(const std::optional<SeriesKey>& series, const std::vector<CallRow>& calls) {
  return JsonText(Json{{"version", 1},
                       {"series", series ? Json(Describe(*series)) : Json(nullptr)},
                       {"calls", CallsArray(calls)}},
                  2) +
         "\n";
}

std::string CompareJson(const std::vector<SeriesBars>& series, const Normalised& normalised) {
  Json out{{"version", 1},
           {"base_ts", normalised.base_ts.empty() ? Json(nullptr) : Json(normalised.base_ts)}};
  Json list = Json::array();
  for (size_t i = 0; i < series.size(); ++i) {
    Json points = Json::array();
    for (const auto& [ts, value] : normalised.points[i]) points.push_back(Json::array({ts, value}));
    list.push_back({{"series", Describe(series[i].state.key)},
                    {"bars", series[i].bars.size()},
                    {"capped", series[i].capped},
                    {"points", std::move(points)}});
  }
  out["series"] = std::move(list);
  return JsonText(out, 2) + "\n";
}

std::string ErrorJson(std::string_view message) {
  return JsonText(Json{{"error", std::string(message)}}) + "\n";
}

}  // namespace mdfetch::serve
