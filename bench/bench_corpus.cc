#include "bench_corpus.h"

#include <fmt/format.h>

#include "mdfetch/av_codec.h"

namespace mdfetch::bench {

Result<std::unique_ptr<BodySource>> BodySource::Start(Date last_session) {
  std::unique_ptr<BodySource> source(new BodySource());
  SimOptions options;
  options.last_session = last_session;
  source->simulator_ = std::make_unique<Simulator>(options);
  if (auto port = source->simulator_->Start(0); !port) return std::unexpected(port.error());
  auto factory = MakeHttpTransportFactory(source->simulator_->BaseUrl(), TransportOptions{});
  if (!factory) return std::unexpected(factory.error());
  source->transport_ = (*factory)();
  return source;
}

BodySource::~BodySource() {
  transport_.reset();
  simulator_.reset();
}

Result<std::string> BodySource::Daily(const std::string& symbol, std::string_view outputsize) {
  const SeriesKey key{symbol, Function::kDaily, ""};
  const OutputSize size = outputsize == "full" ? OutputSize::kFull : OutputSize::kCompact;
  auto response = transport_->Get(BuildTarget(Request{key, size, ""}, "bench"));
  if (!response) return std::unexpected(response.error());
  if (response->status != 200) {
    return Fail(fmt::format("simulator answered HTTP {} for {}", response->status, symbol));
  }
  return std::move(response->body);
}

std::string KeepNewest(std::string_view body, size_t bars) {
  // Each bar of the simulator's layout ends with this line; the last one has no comma.
  constexpr std::string_view kBarEnd = "\n        },\n";
  size_t at = 0;
  for (size_t kept = 0; kept < bars; ++kept) {
    at = body.find(kBarEnd, at);
    if (at == std::string_view::npos) return std::string(body);
    at += kBarEnd.size();
  }
  std::string cut(body.substr(0, at - 2));  // up to and including the bar's closing brace
  cut += "\n    }\n}";
  return cut;
}

}  // namespace mdfetch::bench
