// Structured logging: one JSON object per line on stderr.
//
// log_info("server.listening", {{"address", addr}}) writes
// {"ts":"...","level":"info","event":"server.listening","address":"..."}.
// Thread-safe: each line is formatted first and written with one write(2).
#pragma once

#include <initializer_list>
#include <string>
#include <type_traits>
#include <string_view>
#include <utility>

#include <boost/json/value.hpp>

namespace hawker {

enum class LogLevel { kDebug, kInfo, kWarn, kError };

// A field value: text or a number, turned into JSON.
struct LogValue {
  LogValue(std::string_view text) : json(text) {}         // NOLINT: implicit by design
  LogValue(const std::string& text) : json(text) {}       // NOLINT
  LogValue(const char* text) : json(text) {}              // NOLINT
  template <typename T>
    requires std::is_arithmetic_v<T>
  LogValue(T number) : json(number) {}                    // NOLINT
  boost::json::value json;
};

using LogFields = std::initializer_list<std::pair<std::string_view, LogValue>>;

void set_log_level(LogLevel level);
bool parse_log_level(std::string_view text, LogLevel& level);
void log(LogLevel level, std::string_view event, LogFields fields = {});
inline void log_debug(std::string_view event, LogFields fields = {}) { log(LogLevel::kDebug, event, fields); }
inline void log_info(std::string_view event, LogFields fields = {}) { log(LogLevel::kInfo, event, fields); }
inline void log_warn(std::string_view event, LogFields fields = {}) { log(LogLevel::kWarn, event, fields); }
inline void log_error(std::string_view event, LogFields fields = {}) { log(LogLevel::kError, event, fields); }

}  // namespace hawker
