// The SAX half of the Alpha Vantage codec: reads any body with nlohmann/json's SAX parser
// straight into Bar values and decides its kind by its keys alone. The names it reads by are
// in av_codec_names.cc; the wording of refusals and the order of bars are settled in
// av_codec.cc, and whether the bars answer the request in av_codec_check.cc.
#include <fmt/format.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

#include "av_codec_internal.h"
#include "mdfetch/av_codec.h"

namespace mdfetch {
namespace {

using internal::Capped;
using internal::EqualsNoCase;
using internal::IsExactSeriesKey;
using internal::kNoField;
using internal::MetaText;

constexpr size_t kMaxListedKeys = 5;
// A compact JSON bar is ~100 bytes and a pretty-printed one ~200: reserving size/100 bars
// avoids regrowth at the cost of at most 2x slack for a pretty body.
constexpr size_t kMinBytesPerBar = 100;

std::string Quote(std::string_view text) { return fmt::format("'{}'", Capped(text)); }

Answer NoAnswer(AnswerKind kind, std::string message) {
  return Answer{kind, std::move(message), {}, {}};
}

// Which top-level member the parser is inside (or whose value comes next).
enum class Member { kOther, kMeta, kSeries, kErrorMessage, kNote, kInformation };

// Receives nlohmann's SAX events for one body. Depth 1 is the top-level object, depth 2 the
// inside of "Meta Data" or of the series, depth 3 the inside of one bar; anything deeper or
// in another member is skipped. After the first bad bar the rest of the body is only
// parsed, not read: a body cut short after a bad bar is kIncomplete (a retry may bring the
// whole of it), a whole one kMalformed. Bars stay in body order (DecodeAnswer sorts them).
class AnswerHandler final : public nlohmann::json_sax<nlohmann::json> {
 public:
  AnswerHandler(Function function, size_t body_size) : function_(function), body_size_(body_size) {}

  bool null() override { return Scalar(nullptr, "null", "null"); }
  bool boolean(bool val) override { return Scalar(nullptr, "boolean", val ? "true" : "false"); }
  bool number_integer(number_integer_t val) override {
    return Number(static_cast<double>(val), "integer");
  }
  bool number_unsigned(number_unsigned_t val) override {
    return Number(static_cast<double>(val), "integer");
  }
  bool number_float(number_float_t val, const string_t& /*text*/) override {
    return Number(val, "number");
  }
  bool string(string_t& val) override { return Scalar(&val, "string", ""); }
  bool binary(binary_t& /*val*/) override { return Scalar(nullptr, "binary", "binary"); }
  bool start_object(std::size_t /*elements*/) override;
  bool key(string_t& val) override;
  bool end_object() override;
  bool start_array(std::size_t /*elements*/) override;
  bool end_array() override {
    if (!Failed()) --depth_;
    return true;
  }
  bool parse_error(std::size_t position, const std::string& /*last_token*/,
                   const nlohmann::detail::exception& /*ex*/) override {
    // nlohmann counts the end of input as one byte past the body.
    not_json_ = position > body_size_
                    ? "truncated JSON at byte " + std::to_string(body_size_)
                    : "not JSON: syntax error at byte " + std::to_string(position);
    return false;
  }

  internal::Decoded Finish();

 private:
  // Once an answer has failed, every later event is only checked for syntax.
  bool Failed() const { return !failure_.empty(); }
  bool Fail(std::string message) {
    failure_ = std::move(message);
    return true;
  }
  bool NotAnObject(std::string_view type) {
    return Fail("answer is a JSON " + std::string(type) + ", not an object");
  }
  bool InSeries(int depth) const { return depth_ == depth && member_ == Member::kSeries; }
  bool BadValue(std::string_view shown) {
    return Fail("bar " + bar_.ts + ": " + Quote(shown) + " is not a number in '" +
                std::string(internal::FieldName(field_)) + "'");
  }
  void OnTopKey(const std::string& key);
  bool Scalar(const std::string* text, std::string_view type, std::string_view shown);
  bool Number(double value, std::string_view type);
  void SetField(double value) { internal::SetField(bar_, fields_set_, field_, value); }
  bool EndBar();
  Answer Refusal() const;
  internal::Decoded Data();
  std::string NoSeriesMessage() const;

  const Function function_;
  const size_t body_size_;
  int depth_ = 0;
  Member member_ = Member::kOther;
  bool next_series_exact_ = false;
  bool series_seen_ = false;
  bool series_exact_ = false;
  std::string next_series_key_;
  internal::Decoded decoded_;  // the series key and the price currencies of the bars read
  std::string MetaText::*meta_field_ = nullptr;
  size_t field_ = kNoField;
  uint32_t fields_set_ = 0;  // bit per kFields entry of the bar being read
  Bar bar_;
  std::vector<Bar> bars_;
  MetaText meta_;
  std::optional<std::string> error_message_, note_, information_;
  std::vector<std::string> keys_;  // the first top-level keys, for "no time series" messages
  size_t key_count_ = 0;
  std::string failure_;   // the first reason the answer is no usable answer
  std::string not_json_;  // the parse error, when the body is not (whole) JSON
};

void AnswerHandler::OnTopKey(const std::string& key) {
  if (key_count_++ < kMaxListedKeys) keys_.push_back(Capped(key));
  member_ = Member::kOther;
  if (key == "Meta Data") {
    member_ = Member::kMeta;
  } else if (EqualsNoCase(key, "Error Message")) {
    member_ = Member::kErrorMessage;
  } else if (EqualsNoCase(key, "Note")) {
    member_ = Member::kNote;
  } else if (EqualsNoCase(key, "Information")) {
    member_ = Member::kInformation;
  } else if (IsExactSeriesKey(function_, key)) {
    // The expected key replaces a look-alike seen before it; a second exact one is skipped.
    if (!series_exact_) member_ = Member::kSeries;
    next_series_exact_ = true;
    next_series_key_ = key;
  } else if (key.find("Time Series") != std::string::npos && !series_seen_) {
    // Another function's or interval's series: read, so that the check names what came.
    member_ = Member::kSeries;
    next_series_exact_ = false;
    next_series_key_ = key;
  }
}

bool AnswerHandler::key(string_t& val) {
  if (Failed()) return true;
  if (depth_ == 1) {
    OnTopKey(val);
  } else if (depth_ == 2 && member_ == Member::kMeta) {
    meta_field_ = internal::ParseMetaField(val);
  } else if (InSeries(2)) {
    if (!internal::IsTimestamp(val)) return Fail("bad timestamp " + Quote(val));
    bar_.ts = val;
  } else if (InSeries(3)) {
    const internal::FieldKey field = internal::ParseField(val);
    field_ = field.field;
    internal::NoteCurrency(decoded_, field);
  }
  return true;
}

bool AnswerHandler::start_object(std::size_t /*elements*/) {
  if (Failed()) return true;
  if (depth_ == 1 && member_ == Member::kSeries) {
    series_seen_ = true;
    series_exact_ = next_series_exact_;
    decoded_ = {};
    decoded_.series_key = std::move(next_series_key_);
    bars_.clear();
    bars_.reserve(body_size_ / kMinBytesPerBar + 1);
  } else if (depth_ == 1 && member_ != Member::kMeta) {
    member_ = Member::kOther;
  } else if (InSeries(2)) {
    fields_set_ = 0;
    bar_.volume.reset();
    bar_.adjusted_close.reset();
    bar_.dividend.reset();
    bar_.split_coefficient.reset();
  } else if (InSeries(3) && field_ != kNoField) {
    return BadValue("{...}");
  }
  ++depth_;
  return true;
}

bool AnswerHandler::start_array(std::size_t /*elements*/) {
  if (Failed()) return true;
  if (depth_ == 0) return NotAnObject("array");
  if (depth_ == 1) member_ = Member::kOther;
  if (InSeries(2)) return Fail("bar " + bar_.ts + ": not an object");
  if (InSeries(3) && field_ != kNoField) return BadValue("[...]");
  ++depth_;
  return true;
}

bool AnswerHandler::end_object() {
  if (Failed()) return true;
  --depth_;
  if (InSeries(2)) return EndBar();
  if (depth_ == 1) member_ = Member::kOther;
  return true;
}

// Strings, nulls, booleans: text members and metadata at depth 1-2, bar values at depth 3.
bool AnswerHandler::Scalar(const std::string* text, std::string_view type, std::string_view shown) {
  if (Failed()) return true;
  if (depth_ == 0) return NotAnObject(type);
  if (InSeries(2)) return Fail("bar " + bar_.ts + ": not an object");
  if (InSeries(3)) {
    if (field_ == kNoField) return true;
    if (text == nullptr) return BadValue(shown);
    const std::optional<double> value = internal::ParseNumber(*text);
    if (!value) return BadValue(*text);
    SetField(*value);
    return true;
  }
  if (text == nullptr) return true;
  if (depth_ == 1) {
    if (member_ == Member::kErrorMessage) error_message_ = *text;
    if (member_ == Member::kNote) note_ = *text;
    if (member_ == Member::kInformation) information_ = *text;
  } else if (depth_ == 2 && member_ == Member::kMeta) {
    if (meta_field_ != nullptr) meta_.*meta_field_ = *text;
  }
  return true;
}

// Bare JSON numbers are accepted as bar values (a 2025 crypto sample had one).
bool AnswerHandler::Number(double value, std::string_view type) {
  if (Failed()) return true;
  if (depth_ == 0) return NotAnObject(type);
  if (InSeries(2)) return Fail("bar " + bar_.ts + ": not an object");
  if (InSeries(3) && field_ != kNoField) SetField(value);
  return true;
}

bool AnswerHandler::EndBar() {
  if (const size_t missing = internal::FirstMissingField(fields_set_); missing != kNoField) {
    return Fail("bar " + bar_.ts + ": missing " + std::string(internal::FieldName(missing)));
  }
  bars_.push_back(std::move(bar_));
  return true;
}

std::string AnswerHandler::NoSeriesMessage() const {
  if (key_count_ == 0) return "no time series in answer (empty object)";
  std::string message = "no time series in answer (keys: ";
  for (size_t i = 0; i < keys_.size(); ++i) {
    if (i > 0) message += ", ";
    message += keys_[i];
  }
  if (key_count_ > keys_.size()) message += ", ...";
  return message + ")";
}

// The wording is classified by DecodeAnswer: here an `Error Message` is kErrorMessage and a
// `Note` or `Information` is kThrottle.
Answer AnswerHandler::Refusal() const {
  if (error_message_) return {AnswerKind::kErrorMessage, *error_message_, {}, {}};
  return {AnswerKind::kThrottle, information_ ? *information_ : *note_, {}, {}};
}

internal::Decoded AnswerHandler::Data() {
  decoded_.answer = {AnswerKind::kData, "", internal::TakeMeta(meta_), std::move(bars_)};
  return std::move(decoded_);
}

internal::Decoded AnswerHandler::Finish() {
  if (!not_json_.empty()) return {NoAnswer(AnswerKind::kIncomplete, not_json_)};
  if (Failed()) return {NoAnswer(AnswerKind::kMalformed, failure_)};
  const bool refused = error_message_ || note_ || information_;
  if (series_seen_ && !bars_.empty()) return Data();
  // An empty series beside a refusal text: the text says why, so it decides.
  if (refused) return {Refusal()};
  if (series_seen_) return {NoAnswer(AnswerKind::kMalformed, "empty time series")};
  return {NoAnswer(AnswerKind::kMalformed, NoSeriesMessage())};
}

}  // namespace

namespace internal {

Decoded ReadAnswer(Function function, std::string_view body) {
  AnswerHandler handler(function, body.size());
  nlohmann::json::sax_parse(body.data(), body.data() + body.size(), &handler);
  return handler.Finish();
}

}  // namespace internal
}  // namespace mdfetch
