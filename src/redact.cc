#include "mdfetch/redact.h"

#include <cctype>
#include <vector>

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

namespace {

// Where the secrets of a PostgreSQL URI are, found the way libpq's URI parser finds them
// (conninfo_uri_parse_options): the user part runs from after "://" to the first '@' met
// before any '/', and its password from the first ':' in it; the parameters follow the first
// '?' after that and split on '&' alone ('#' means nothing to libpq). Every parameter whose
// name ends in "password" (password, sslpassword) is a secret.
struct Span {
  size_t begin;
  size_t end;
};

std::vector<Span> SecretSpans(std::string_view db) {
  std::vector<Span> spans;
  if (!IsPostgresUri(db)) return spans;
  const size_t start = db.find("://") + 3;
  size_t pos = start;
  while (pos < db.size() && db[pos] != '@' && db[pos] != '/') ++pos;
  size_t after_user = start;
  if (pos < db.size() && db[pos] == '@') {
    const size_t colon = db.find(':', start);
    if (colon < pos) spans.push_back({colon + 1, pos});
    after_user = pos + 1;
  }
  const size_t query = db.find('?', after_user);
  if (query == std::string_view::npos) return spans;
  for (size_t begin = query + 1; begin <= db.size();) {
    size_t end = db.find('&', begin);
    if (end == std::string_view::npos) end = db.size();
    const std::string_view param = db.substr(begin, end - begin);
    const size_t eq = param.find('=');
    if (eq != std::string_view::npos) {
      std::string name(param.substr(0, eq));
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (name.ends_with("password")) spans.push_back({begin + eq + 1, end});
    }
    begin = end + 1;
  }
  return spans;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// "s3cr%40t" -> "s3cr@t", as libpq reads a URI.
std::string PercentDecoded(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && HexValue(text[i + 1]) >= 0 &&
        HexValue(text[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(text[i + 1]) * 16 + HexValue(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

}  // namespace

std::string RedactDb(std::string_view db) {
  std::string out(db);
  const std::vector<Span> spans = SecretSpans(db);
  // From the last to the first, so that the earlier positions stay where they are.
  for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
    out.replace(it->begin, it->end - it->begin, "***");
  }
  return out;
}

std::vector<std::string> DbPasswords(std::string_view db) {
  std::vector<std::string> all;
  for (const Span& span : SecretSpans(db)) {
    const std::string_view raw = db.substr(span.begin, span.end - span.begin);
    if (raw.empty()) continue;
    all.emplace_back(raw);
    if (std::string decoded = PercentDecoded(raw); decoded != raw) all.push_back(decoded);
  }
  return all;
}

}  // namespace mdfetch
