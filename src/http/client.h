// A small blocking HTTP/1.1 client for calls hawker makes to other services
// (payment processors, tests). One connection per call; bounded by a timeout.
// Errors: kUnavailable when the connection could not be made (nothing was
// sent), kTimeout when the deadline passed after sending (the outcome is
// unknown), kIo otherwise. Thread-safe (no shared state).
#pragma once

#include <cstdint>
#include <string>

#include <boost/json/value.hpp>

#include "core/result.h"
#include "http/message.h"

namespace hawker::http {

Result<Response> call(const std::string& host, uint16_t port, const Request& request, int timeout_ms);

// One call to a JSON API (hawker's own, from its tools): `token` as a bearer
// token and `body` as JSON when not empty. The answer's body parsed, when its
// status is `expected_status`. Errors: call()'s own, prefixed "cannot reach
// HOST:PORT"; kInvalid "METHOD TARGET answered STATUS: BODY" for another
// status, or when the body is not JSON.
Result<boost::json::value> call_json(const std::string& host, uint16_t port, Method method, const std::string& target,
                                     const std::string& token, const std::string& body, int expected_status,
                                     int timeout_ms);

}  // namespace hawker::http
