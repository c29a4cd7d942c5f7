#include "market/product.h"

namespace hawker::market {

std::string_view stock_state_name(StockState state) {
  switch (state) {
    case StockState::kInStock: return "in_stock";
    case StockState::kLow: return "low";
    case StockState::kSoldOut: return "sold_out";
  }
  return "in_stock";
}

int64_t default_low_threshold(int64_t initial_stock) {
  if (initial_stock <= 0) return 0;
  int64_t tenth = initial_stock / 10;
  return tenth > 0 ? tenth : 1;
}

StockState stock_state(int64_t available, int64_t low_threshold) {
  if (available <= 0) return StockState::kSoldOut;
  if (available <= low_threshold) return StockState::kLow;
  return StockState::kInStock;
}

bool inventory_conserved(const Inventory& inventory) {
  return inventory.available >= 0 && inventory.reserved >= 0 && inventory.sold >= 0 && inventory.initial >= 0 &&
         inventory.restocked >= 0 &&
         inventory.initial + inventory.restocked == inventory.available + inventory.reserved + inventory.sold;
}

}  // namespace hawker::market
