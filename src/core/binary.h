// Compact binary records: fixed-width numbers, little-endian whatever the
// host (events travel between machines in cluster mode), and strings with a
// 32-bit length before them. BinaryReader treats its input as possibly
// corrupt: every read reports failure instead of reading past the end.
// (Before events used it, this wrote host order; on the little-endian hosts
// hawker runs on the bytes are the same. Records a big-endian host wrote then
// would not read back.)
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>

namespace hawker {

class BinaryWriter {
 public:
  explicit BinaryWriter(std::string& out) : out_(out) {}
  template <typename T>
    requires std::is_arithmetic_v<T> || std::is_enum_v<T>
  BinaryWriter& put(T value) {
    char bytes[sizeof(T)];
    std::memcpy(bytes, &value, sizeof(T));
    if constexpr (std::endian::native == std::endian::big) std::reverse(bytes, bytes + sizeof(T));
    out_.append(bytes, sizeof(T));
    return *this;
  }
  BinaryWriter& put_string(std::string_view text) {
    put(static_cast<uint32_t>(text.size()));
    out_.append(text);
    return *this;
  }

 private:
  std::string& out_;
};

class BinaryReader {
 public:
  explicit BinaryReader(std::string_view in) : in_(in) {}
  template <typename T>
    requires std::is_arithmetic_v<T> || std::is_enum_v<T>
  bool get(T& value) {
    if (in_.size() < sizeof(T)) return false;
    char bytes[sizeof(T)];
    std::memcpy(bytes, in_.data(), sizeof(T));
    if constexpr (std::endian::native == std::endian::big) std::reverse(bytes, bytes + sizeof(T));
    std::memcpy(&value, bytes, sizeof(T));
    in_.remove_prefix(sizeof(T));
    return true;
  }
  bool get_string(std::string& text) {
    uint32_t size = 0;
    if (!get(size) || in_.size() < size) return false;
    text.assign(in_.data(), size);
    in_.remove_prefix(size);
    return true;
  }
  bool done() const { return in_.empty(); }

 private:
  std::string_view in_;
};

}  // namespace hawker
