// Result<T>: the value of a fallible call, or an Error saying why not.
//
// Expected failures (sold out, version conflict, bad input, I/O errors) travel
// as values, never as exceptions on the request path. Cheap to move; callers
// must look at it ([[nodiscard]]). Thread-compatible like any value type.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace hawker {

enum class ErrorCode {
  kInvalid,       // bad input from outside: 400
  kUnauthorized,  // missing or bad credentials: 401
  kForbidden,     // authenticated but not allowed: 403
  kNotFound,      // 404
  kConflict,      // state conflict (e.g. idempotency key reused with another body): 422
  kSoldOut,       // 409
  kOverloaded,    // 429
  kVersionConflict,  // optimistic commit lost the race; caller reloads and retries
  kIo,            // storage or network failure: 503/500
  kTimeout,
  kUnavailable,
  kInternal,
};

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
};

inline Error make_error(ErrorCode code, std::string message) { return Error{code, std::move(message)}; }

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : state_(std::move(error)) {}  // NOLINT

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<0>(state_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(state_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(state_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const {
    assert(!ok());
    return std::get<1>(state_);
  }

 private:
  std::variant<T, Error> state_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const {
    assert(!ok_);
    return error_;
  }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;

inline Status ok_status() { return {}; }

}  // namespace hawker
