#include "mdfetch/redact.h"

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
