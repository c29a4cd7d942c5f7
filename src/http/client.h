// A small blocking HTTP/1.1 client for calls hawker makes to other services
// (payment processors, tests). One connection per call; bounded by a timeout.
// Errors: kUnavailable when the connection could not be made (nothing was
// sent), kTimeout when the deadline passed after sending (the outcome is
// unknown), kIo otherwise. Thread-safe (no shared state).
#pragma once

#include <cstdint>
#include <string>

#include "core/result.h"
#include "http/message.h"

namespace hawker::http {

Result<Response> call(const std::string& host, uint16_t port, const Request& request, int timeout_ms);

}  // namespace hawker::http
