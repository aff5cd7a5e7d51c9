#include "mdfetch/redact.h"

#include <cctype>

namespace mdfetch {

std::string Redact(std::string_view text, std::string_view api_key) {
  std::string out(text);
  if (!api_key.empty()) {
    for (size_t pos = out.find(api_key); pos != std::string::npos;
         pos = out.find(api_key, pos + 3)) {
      out.replace(pos, api_key.size(), "***");
    }
  }
  // Any apikey= parameter, whatever key it holds (a URL from a redirect, say).
  constexpr std::string_view kParam = "apikey=";
  for (size_t pos = out.find(kParam); pos != std::string::npos; pos = out.find(kParam, pos)) {
    size_t start = pos + kParam.size();
    size_t end = out.find_first_of("&# \t\r\n\"'", start);
    if (end == std::string::npos) end = out.size();
    out.replace(start, end - start, "***");
    pos = start + 3;
  }
  return out;
}

}  // namespace mdfetch

namespace mdfetch {

namespace {

bool StartsWithNoCase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) != prefix[i]) return false;
  }
  return true;
}

}  // namespace

bool IsPostgresUri(std::string_view db) {
  return StartsWithNoCase(db, "postgresql://") || StartsWithNoCase(db, "postgres://");
}

std::string RedactDb(std::string_view db) {
  if (!IsPostgresUri(db)) return std::string(db);
  std::string out(db);
  // The authority ends at the first '/', '?' or '#' after the scheme; its user part at the
  // last '@' within it (a password may hold '@' only percent-encoded, but be safe).
  const size_t scheme_end = out.find("://") + 3;
  size_t authority_end = out.find_first_of("/?#", scheme_end);
  if (authority_end == std::string::npos) authority_end = out.size();
  const size_t at = out.rfind('@', authority_end);
  if (at != std::string::npos && at >= scheme_end) {
    const size_t colon = out.find(':', scheme_end);
    if (colon != std::string::npos && colon < at) {
      out.replace(colon + 1, at - colon - 1, "***");
      authority_end = out.find_first_of("/?#", scheme_end);
      if (authority_end == std::string::npos) authority_end = out.size();
    }
  }
  // Query parameters: ?password=... or &password=... (the name in any case).
  const size_t query = out.find('?', authority_end);
  if (query == std::string::npos) return out;
  for (size_t pos = query + 1; pos < out.size();) {
    size_t end = out.find_first_of("&#", pos);
    if (end == std::string::npos) end = out.size();
    std::string_view param(out.data() + pos, end - pos);
    if (StartsWithNoCase(param, "password=")) {
      const size_t value = pos + 9;
      out.replace(value, end - value, "***");
      end = value + 3;
    }
    if (end >= out.size() || out[end] == '#') break;
    pos = end + 1;
  }
  return out;
}

}  // namespace mdfetch
