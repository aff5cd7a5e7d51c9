// Private to the store: how an answer's bars meet the stored ones, the same on every backend
// (src/store_write.cc for SQLite, src/store_pg_write.cc for PostgreSQL).
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>

#include "mdfetch/series.h"

namespace mdfetch {

// Where the bars that can be appended start: the longest tail of `bars` that is strictly
// ascending and newer than every stored bar (`newest`), provided no bar before it is newer
// too. Such bars can neither be stored already nor collide with each other or with the bars
// before them, so a plain INSERT (or COPY) adds each one; the codec's order (ascending, no
// duplicates) puts every new bar there. Returns bars.size() when nothing can be appended.
size_t AppendFrom(std::span<const Bar> bars, const std::optional<std::string>& newest);

// The service keys the bar of a week or month still under way by its latest day ("2026-11-25"
// on the Wednesday of the week that ends on Friday 2026-11-27), and once the period is over by
// its last trading day. So the newest stored bar of a weekly or monthly series (`newest`) may
// be such a bar: when the answer holds not it but a later bar of the same week or month, that
// bar replaces it, and this returns the stored one's timestamp (to delete). nullopt for other
// functions, and whenever the answer holds `newest` itself or nothing later in its period.
std::optional<std::string> SupersededPeriodBar(Function function,
                                               const std::optional<std::string>& newest,
                                               std::span<const Bar> bars);

}  // namespace mdfetch
