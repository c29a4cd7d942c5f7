// Reading one field out of a flat JSON text frame without parsing it: what a
// load generator does for every one of tens of thousands of frames a second.
// Only for fields whose values have no escapes (type names, ids, numbers).
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string_view>

namespace hawker::spike {

// The value of the first `"key": "..."`; `quoted_key` includes the quotes.
inline std::optional<std::string_view> string_field(std::string_view text, std::string_view quoted_key) {
  size_t at = text.find(quoted_key);
  if (at == std::string_view::npos) return std::nullopt;
  at = text.find_first_not_of(" \t\r\n:", at + quoted_key.size());
  if (at == std::string_view::npos || text[at] != '"') return std::nullopt;
  const size_t end = text.find('"', at + 1);
  if (end == std::string_view::npos) return std::nullopt;
  return text.substr(at + 1, end - at - 1);
}

// The integer value of the first `"key": N`.
inline std::optional<int64_t> int_field(std::string_view text, std::string_view quoted_key) {
  size_t at = text.find(quoted_key);
  if (at == std::string_view::npos) return std::nullopt;
  at = text.find_first_not_of(" \t\r\n:", at + quoted_key.size());
  if (at == std::string_view::npos) return std::nullopt;
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data() + at, text.data() + text.size(), value);
  if (ec != std::errc()) return std::nullopt;
  return value;
}

}  // namespace hawker::spike
