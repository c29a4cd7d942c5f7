#include "core/log.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <ctime>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace hawker {
namespace {
std::atomic<LogLevel> g_level{LogLevel::kInfo};

const char* level_name(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
  }
  return "info";
}

std::string utc_now() {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  return buffer;
}
}  // namespace

void set_log_level(LogLevel level) { g_level.store(level); }

bool parse_log_level(std::string_view text, LogLevel& level) {
  if (text == "debug") level = LogLevel::kDebug;
  else if (text == "info") level = LogLevel::kInfo;
  else if (text == "warn") level = LogLevel::kWarn;
  else if (text == "error") level = LogLevel::kError;
  else return false;
  return true;
}

void log(LogLevel level, std::string_view event, LogFields fields) {
  if (level < g_level.load(std::memory_order_relaxed)) return;
  boost::json::object line;
  line["ts"] = utc_now();
  line["level"] = level_name(level);
  line["event"] = event;
  for (const auto& [key, value] : fields) line[key] = value.json;
  std::string text = boost::json::serialize(line);
  text.push_back('\n');
  const char* data = text.data();
  size_t left = text.size();
  while (left > 0) {
    ssize_t written = ::write(STDERR_FILENO, data, left);
    if (written <= 0) return;  // stderr closed: nothing sensible left to do
    data += written;
    left -= static_cast<size_t>(written);
  }
}

}  // namespace hawker
