// Identifiers. Internally products and orders are 64-bit numbers; on the wire
// they are strings ("prd_12", "ord_00f3a9...") so clients never do arithmetic
// on them. Parsing untrusted text returns false, never throws.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace hawker {

std::string format_product_id(uint64_t id);
bool parse_product_id(std::string_view text, uint64_t& id);
std::string format_order_id(uint64_t id);
bool parse_order_id(std::string_view text, uint64_t& id);
std::string format_show_id(uint64_t id);
bool parse_show_id(std::string_view text, uint64_t& id);

// A fresh order id: never 0, increasing within a process (time-ordered):
// (milliseconds since the epoch << 12 + a counter) << kOrderNodeBits | node.
// The node number keeps ids of several gateways (cluster mode) apart: each
// takes its own from the shared write store before it accepts orders; a
// process that never sets one is node 0 (the embedded default). Thread-safe.
inline constexpr int kOrderNodeBits = 10;
inline constexpr uint32_t kOrderNodesMax = 1u << kOrderNodeBits;
uint64_t new_order_id();
// Sets this process's node number (taken modulo kOrderNodesMax) for the ids
// made from now on. Call before serving.
void set_order_id_node(uint32_t node);
// The node number an order id was made with.
inline uint32_t order_id_node(uint64_t id) { return static_cast<uint32_t>(id & (kOrderNodesMax - 1)); }

// A secret: `bytes` bytes from the system's random source, as lower-case
// hex (stream keys, the JWT secret). Thread-safe.
std::string random_hex(size_t bytes);

// FNV-1a 64-bit: a stable hash for idempotency body fingerprints.
uint64_t fnv1a64(std::string_view data, uint64_t seed = 14695981039346656037ull);

// Big-endian fixed-width keys so byte order equals numeric order in RocksDB.
void append_u64_be(std::string& out, uint64_t value);
uint64_t read_u64_be(std::string_view data);

}  // namespace hawker
