// Products and their inventory: the state every purchase decision reads.
//
// Invariant (conservation), checked by check_inventory():
//   initial + restocked == available + reserved + sold, all counts >= 0.
// Plain values; no I/O; thread-compatible.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace hawker::market {

enum class StockState : uint8_t { kInStock, kLow, kSoldOut };

std::string_view stock_state_name(StockState state);

// What a seller defines; immutable after creation except for restocks.
struct ProductDefinition {
  uint64_t id = 0;
  std::string seller;
  std::string title;
  int64_t price_cents = 0;
  std::string currency = "USD";
  int32_t max_per_buyer = 0;   // 0 = no per-buyer limit
  int64_t low_threshold = 0;   // "low" at or under this many available
};

struct Inventory {
  uint64_t product_id = 0;
  int64_t initial = 0;
  int64_t restocked = 0;
  int64_t available = 0;
  int64_t reserved = 0;
  int64_t sold = 0;
  int64_t low_threshold = 0;
  uint64_t version = 0;  // bumped by every committed change

  friend bool operator==(const Inventory&, const Inventory&) = default;
};

// Default low threshold: 10% of the initial stock (at least 1 unit when stock > 0).
int64_t default_low_threshold(int64_t initial_stock);

StockState stock_state(int64_t available, int64_t low_threshold);
inline StockState stock_state(const Inventory& inventory) {
  return stock_state(inventory.available, inventory.low_threshold);
}

// True when the counts are non-negative and conserved.
bool inventory_conserved(const Inventory& inventory);

// Limits on what a seller may create; inputs outside are refused as invalid.
inline constexpr int64_t kStockMax = 1'000'000'000;
inline constexpr int64_t kPriceCentsMax = 100'000'000'000;
inline constexpr size_t kTitleBytesMax = 200;
inline constexpr int32_t kQuantityMax = 1000;  // per order

}  // namespace hawker::market
