// Redaction of the API key from anything shown, logged or stored. The service quotes the key
// back in its daily-limit answer, and URLs carry it as `apikey=`: both are masked as "***".
#pragma once

#include <string>
#include <string_view>

namespace mdfetch {

// Replaces every occurrence of `api_key` (when non-empty) and every `apikey=VALUE` query
// parameter value in `text` with "***".
std::string Redact(std::string_view text, std::string_view api_key);

}  // namespace mdfetch
