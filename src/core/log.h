// Structured logging: one JSON object per line on stderr.
//
// log_info("server.listening", {{"address", addr}}) writes
// {"ts":"...","level":"info","event":"server.listening","address":"..."}.
// Thread-safe: each line is formatted first and written with one write(2).
#pragma once

#include <initializer_list>
#include <string_view>
#include <utility>

#include <boost/json/value.hpp>

namespace hawker {

enum class LogLevel { kDebug, kInfo, kWarn, kError };

using LogFields = std::initializer_list<std::pair<std::string_view, boost::json::value>>;

void set_log_level(LogLevel level);
bool parse_log_level(std::string_view text, LogLevel& level);
void log(LogLevel level, std::string_view event, LogFields fields = {});
inline void log_debug(std::string_view event, LogFields fields = {}) { log(LogLevel::kDebug, event, fields); }
inline void log_info(std::string_view event, LogFields fields = {}) { log(LogLevel::kInfo, event, fields); }
inline void log_warn(std::string_view event, LogFields fields = {}) { log(LogLevel::kWarn, event, fields); }
inline void log_error(std::string_view event, LogFields fields = {}) { log(LogLevel::kError, event, fields); }

}  // namespace hawker
