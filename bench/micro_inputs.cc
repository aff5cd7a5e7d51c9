#include "micro_inputs.h"

#include "bench_corpus.h"

namespace mdfetch::bench {
namespace {

MicroInputs Fetch() {
  MicroInputs in;
  auto fetch = [&](Date session, std::string_view outputsize, std::string& body) {
    if (!in.error.empty()) return;
    auto source = BodySource::Start(session);
    if (!source) {
      in.error = source.error().message;
      return;
    }
    auto got = (*source)->Daily(std::string(kBenchSymbol), outputsize);
    if (!got) {
      in.error = got.error().message;
      return;
    }
    body = std::move(*got);
  };
  fetch(kBenchLastSession, "compact", in.compact_body);
  fetch(kBenchLastSession, "full", in.full_body);
  fetch(kBenchNextSession, "compact", in.next_body);
  if (in.error.empty()) {
    const SeriesKey key{std::string(kBenchSymbol), Function::kDaily, ""};
    in.full = DecodeAnswer(Request{key, OutputSize::kFull, ""}, in.full_body);
    if (in.full.kind != AnswerKind::kData) in.error = "full body: " + in.full.message;
  }
  return in;
}

}  // namespace

const MicroInputs& Inputs() {
  static const MicroInputs inputs = Fetch();
  return inputs;
}

}  // namespace mdfetch::bench
