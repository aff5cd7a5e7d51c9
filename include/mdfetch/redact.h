// Redaction of the API key from anything shown, logged or stored. The service quotes the key
// back in its daily-limit answer, and URLs carry it as `apikey=`: both are masked as "***".
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mdfetch {

// Replaces every occurrence of `api_key` (when non-empty) and every `apikey=VALUE` query
// parameter value in `text` with "***".
std::string Redact(std::string_view text, std::string_view api_key);

}  // namespace mdfetch

namespace mdfetch {

// Whether a --db value names a PostgreSQL database: a libpq connection URI, which starts with
// "postgresql://" or "postgres://" (any case). Anything else is a SQLite path.
bool IsPostgresUri(std::string_view db);

// A --db value as it may be shown: in a PostgreSQL URI the password of the user part
// ("postgresql://ann:PASSWORD@host/db") and the value of every parameter whose name ends in
// "password" ("?password=PASSWORD", "&sslpassword=KEY") become "***", found where libpq finds
// them (a '#' or '?' inside the user part is part of the password); a SQLite path is
// returned as it is.
std::string RedactDb(std::string_view db);

// The secrets RedactDb hides in `db`, each as written and, when it differs, percent-decoded
// (libpq's messages may quote either); none for a SQLite path.
std::vector<std::string> DbPasswords(std::string_view db);

}  // namespace mdfetch
