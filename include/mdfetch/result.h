// Result<T>: the value of an operation that can fail in an expected way.
//
// Every module returns its recoverable failures as values: a Result<T> holds either a T or
// an Error. The error's message is lower-case, context first, and ready to show a person (it
// never holds the API key); its code says what a caller may do about it, so that no caller
// ever classifies an error by its text. Exceptions from third-party libraries are caught
// inside the module that calls them and never cross a module boundary. Result and Status are
// [[nodiscard]]: a failure is handled or passed on, never dropped by accident.
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <utility>

namespace mdfetch {

enum class ErrorCode {
  // The same operation would fail the same way again (a bad argument, a refusal that cannot
  // change, a full disk): report it, do not retry it.
  kPermanent,
  // It may succeed if tried again later: a connection dropped after the request was sent, an
  // HTTP 5xx, a timeout waiting for the answer, an answer cut short.
  kTransient,
  // The request never left this machine (connection refused, name resolution or TLS
  // handshake failed, connect timed out): the service cannot have seen it, so it is no call.
  kNotSent,
  // Abandoned on request (SIGINT/SIGTERM).
  kCancelled,
  // A store opened for reading holds no mdfetch data yet: no SQLite file, or a file or
  // database that no refresh has written to (Store::Open with OpenMode::kReadOnly).
  kNoStore,
};

std::string_view ErrorCodeName(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kPermanent;
  std::string message;
};

template <typename T>
class [[nodiscard]] Result : public std::expected<T, Error> {
 public:
  using Base = std::expected<T, Error>;
  using Base::Base;
  Result() = default;
  Result(Base base) : Base(std::move(base)) {}  // NOLINT: from and_then/transform chains
};

using Status = Result<void>;

// Shorthand for `return Fail("...")` inside a function returning any Result<T>.
inline std::unexpected<Error> Fail(std::string message) {
  return std::unexpected<Error>(Error{ErrorCode::kPermanent, std::move(message)});
}
inline std::unexpected<Error> Fail(ErrorCode code, std::string message) {
  return std::unexpected<Error>(Error{code, std::move(message)});
}

inline std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kPermanent:
      return "permanent";
    case ErrorCode::kTransient:
      return "transient";
    case ErrorCode::kNotSent:
      return "not sent";
    case ErrorCode::kCancelled:
      return "cancelled";
    case ErrorCode::kNoStore:
      return "no store";
  }
  return "?";
}

}  // namespace mdfetch
