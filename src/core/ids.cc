#include "core/ids.h"

#include <random>

#include <charconv>
#include <atomic>
#include <chrono>

namespace hawker {
namespace {

bool parse_prefixed_decimal(std::string_view text, std::string_view prefix, uint64_t& id) {
  if (text.size() <= prefix.size() || text.substr(0, prefix.size()) != prefix) return false;
  std::string_view digits = text.substr(prefix.size());
  if (digits.size() > 20) return false;
  uint64_t value = 0;
  auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value, 10);
  if (error != std::errc() || end != digits.data() + digits.size() || value == 0) return false;
  id = value;
  return true;
}

}  // namespace

std::string format_product_id(uint64_t id) { return "prd_" + std::to_string(id); }
bool parse_product_id(std::string_view text, uint64_t& id) { return parse_prefixed_decimal(text, "prd_", id); }
std::string format_show_id(uint64_t id) { return "shw_" + std::to_string(id); }
bool parse_show_id(std::string_view text, uint64_t& id) { return parse_prefixed_decimal(text, "shw_", id); }

std::string format_order_id(uint64_t id) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "ord_";
  for (int shift = 60; shift >= 0; shift -= 4) out.push_back(kHex[(id >> shift) & 0xF]);
  return out;
}

bool parse_order_id(std::string_view text, uint64_t& id) {
  if (text.size() != 20 || text.substr(0, 4) != "ord_") return false;
  uint64_t value = 0;
  auto [end, error] = std::from_chars(text.data() + 4, text.data() + 20, value, 16);
  if (error != std::errc() || end != text.data() + 20 || value == 0) return false;
  id = value;
  return true;
}

namespace {
std::atomic<uint32_t> order_node{0};
}  // namespace

void set_order_id_node(uint32_t node) { order_node.store(node % kOrderNodesMax, std::memory_order_relaxed); }

uint64_t new_order_id() {
  // Time-ordered: milliseconds since the epoch, shifted, plus a counter
  // (4,096 ids a millisecond before it borrows from the next one), then the
  // node number in the low bits. Ids made later sort later, so RocksDB
  // inserts them near the end of its tables instead of at random places.
  // Strictly increasing within a process; a restart resumes from the clock,
  // which has moved on.
  static std::atomic<uint64_t> last{0};
  const uint64_t now_ms = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
  const uint64_t floor = now_ms << (22 - kOrderNodeBits);
  uint64_t previous = last.load(std::memory_order_relaxed);
  uint64_t next;
  do {
    next = previous + 1 > floor ? previous + 1 : floor;
  } while (!last.compare_exchange_weak(previous, next, std::memory_order_relaxed));
  return next << kOrderNodeBits | order_node.load(std::memory_order_relaxed);
}

std::string random_hex(size_t bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::random_device device;  // /dev/urandom on Linux
  std::string out;
  out.reserve(bytes * 2);
  for (size_t i = 0; i < bytes; ++i) {
    unsigned value = device() & 0xFF;
    out.push_back(kHex[value >> 4]);
    out.push_back(kHex[value & 0xF]);
  }
  return out;
}

uint64_t fnv1a64(std::string_view data, uint64_t seed) {
  uint64_t hash = seed;
  for (unsigned char c : data) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

void append_u64_be(std::string& out, uint64_t value) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((value >> shift) & 0xFF));
}

uint64_t read_u64_be(std::string_view data) {
  uint64_t value = 0;
  for (size_t i = 0; i < 8 && i < data.size(); ++i) value = (value << 8) | static_cast<unsigned char>(data[i]);
  return value;
}

}  // namespace hawker
