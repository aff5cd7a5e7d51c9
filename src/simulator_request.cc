// How the simulator reads a GET /query: parameter names as the service spells them, values
// of `function`, `outputsize` and the intraday switches in any case, symbols upper-cased.
#include <httplib.h>

#include <cctype>

#include "simulator_internal.h"

namespace mdfetch::sim {

std::string Upper(std::string text) {
  for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

namespace {

std::string Pair(const httplib::Request& req, const char* from, const char* to) {
  const std::string a = req.get_param_value(from), b = req.get_param_value(to);
  return a.empty() || b.empty() ? std::string() : Upper(a) + "/" + Upper(b);
}

// An intraday switch: absent = true (the service's default), else true/false in any case.
bool ParseSwitch(const httplib::Request& req, const char* name, bool& value) {
  if (!req.has_param(name)) return true;
  const std::string text = Upper(req.get_param_value(name));
  if (text != "TRUE" && text != "FALSE") return false;
  value = text == "TRUE";
  return true;
}

// The service takes any month since 2000-01; the simulator has none after its last session.
bool ValidMonth(const httplib::Request& req, Date last_session) {
  if (!req.has_param("month")) return true;
  const auto month = ParseMonth(req.get_param_value("month"));
  return month && *month >= std::chrono::year(2000) / std::chrono::January &&
         *month <= last_session.year() / last_session.month();
}

void ParseIntradayOptions(const httplib::Request& req, Call& call) {
  call.key.interval = req.get_param_value("interval");
  call.month = req.get_param_value("month");
  call.valid_options = ParseSwitch(req, "adjusted", call.key.adjusted) &&
                       ParseSwitch(req, "extended_hours", call.key.extended_hours) &&
                       ValidMonth(req, call.last_session);
}

}  // namespace

Call ParseCall(const httplib::Request& req, Date last_session, Date utc_today) {
  Call call;
  call.last_session = last_session;
  call.utc_today = utc_today;
  call.function_name = req.get_param_value("function");
  call.apikey = req.get_param_value("apikey");
  call.size =
      Upper(req.get_param_value("outputsize")) == "FULL" ? OutputSize::kFull : OutputSize::kCompact;
  const std::string upper = Upper(call.function_name);
  call.function = ParseFunction(upper);
  if (call.function && ApiName(*call.function) != upper) call.function.reset();
  const Function f = call.function.value_or(Function::kDaily);
  call.key.function = f;
  if (f == Function::kFxDaily) {
    call.key.symbol = Pair(req, "from_symbol", "to_symbol");
  } else if (f == Function::kCryptoDaily) {
    call.key.symbol = Pair(req, "symbol", "market");
  } else {
    call.key.symbol = Upper(req.get_param_value("symbol"));
  }
  if (f == Function::kIntraday) ParseIntradayOptions(req, call);
  return call;
}

}  // namespace mdfetch::sim
