// Result<T>: the value of an operation that can fail in an expected way.
//
// Every module returns its recoverable failures as values: a Result<T> holds either a T or
// an Error whose message is lower-case, context first, and ready to show a person (it never
// holds the API key). Exceptions from third-party libraries are caught inside the module
// that calls them and never cross a module boundary.
#pragma once

#include <expected>
#include <string>
#include <utility>

namespace mdfetch {

struct Error {
  std::string message;
};

template <typename T>
using Result = std::expected<T, Error>;

using Status = std::expected<void, Error>;

// Shorthand for `return Fail("...")` inside a function returning any Result<T>.
inline std::unexpected<Error> Fail(std::string message) {
  return std::unexpected<Error>(Error{std::move(message)});
}

}  // namespace mdfetch
