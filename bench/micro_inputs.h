// The inputs every micro-benchmark shares, fetched once from a simulator on loopback (see
// bench_corpus.h) the first time a benchmark asks for them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "mdfetch/av_codec.h"
#include "mdfetch/series.h"

namespace mdfetch::bench {

// The symbol of every body below.
inline constexpr std::string_view kBenchSymbol = "IBM";

struct MicroInputs {
  std::string error;         // why the inputs could not be had; empty when they could
  std::string compact_body;  // IBM, outputsize=compact, last session kBenchLastSession
  std::string full_body;     // IBM, outputsize=full, same session
  std::string next_body;     // IBM, outputsize=compact, one session later: one new bar
  Answer full;               // full_body decoded
};

// Fetched on the first call; later calls return the same object.
const MicroInputs& Inputs();

}  // namespace mdfetch::bench
