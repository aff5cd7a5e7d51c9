// Private to the PostgreSQL store (src/store_pg*.cc): the helpers its files share.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "pg_conn.h"
#include "store_pg.h"

namespace mdfetch {

// SQL for a WallTime parameter ($n holding Unix milliseconds) and back.
std::string PgTimeParam(int n);
std::string PgMillisOf(std::string_view column);
std::string MillisText(WallTime time);
WallTime TimeFromMillis(int64_t millis);
// ts as the SQLite store keeps it, from PostgreSQL's "YYYY-MM-DD HH:MM:SS" text.
std::string BarTsText(std::string_view pg_text, Function function);
// The key's four columns, as text parameters (symbol, function, interval, options).
std::vector<PgParam> KeyParams(const SeriesKey& key);
// A key from text columns symbol, function, interval, options at `first`.
Result<SeriesKey> PgReadKey(const PgRows& rows, int row, int first);
// Returns r, or its error prefixed with "<what> failed: " (its code kept).
template <typename T>
Result<T> PgInContext(Result<T> r, std::string_view what) {
  if (!r) {
    return std::unexpected(
        Error{r.error().code, std::string(what) + " failed: " + r.error().message});
  }
  return r;
}

}  // namespace mdfetch
