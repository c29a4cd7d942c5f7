#include "market/decision.h"

#include <cassert>

namespace hawker::market {

RejectReason verdict_reason(Verdict verdict) {
  switch (verdict) {
    case Verdict::kReserve: return RejectReason::kNone;
    case Verdict::kSoldOut: return RejectReason::kSoldOut;
    case Verdict::kLimitExceeded: return RejectReason::kLimitExceeded;
    case Verdict::kInvalid: return RejectReason::kInvalid;
  }
  return RejectReason::kInvalid;
}

size_t decide_batch(Inventory& inventory, int32_t max_per_buyer, std::span<int32_t> holdings,
                    std::span<const BatchItem> items, std::span<Verdict> verdicts) {
  assert(verdicts.size() == items.size());
  assert(inventory_conserved(inventory));
  size_t reserved_count = 0;
  int64_t available = inventory.available;
  int64_t reserved = inventory.reserved;
  for (size_t i = 0; i < items.size(); ++i) {
    const BatchItem& item = items[i];
    assert(item.buyer_slot < holdings.size());
    Verdict verdict;
    if (item.quantity <= 0 || item.quantity > kQuantityMax) {
      verdict = Verdict::kInvalid;
    } else if (max_per_buyer > 0 && holdings[item.buyer_slot] + item.quantity > max_per_buyer) {
      verdict = Verdict::kLimitExceeded;
    } else if (available < item.quantity) {
      verdict = Verdict::kSoldOut;
    } else {
      verdict = Verdict::kReserve;
      available -= item.quantity;
      reserved += item.quantity;
      holdings[item.buyer_slot] += item.quantity;
      ++reserved_count;
    }
    verdicts[i] = verdict;
  }
  inventory.available = available;
  inventory.reserved = reserved;
  assert(inventory_conserved(inventory));
  return reserved_count;
}

void apply_confirmation(Inventory& inventory, int32_t quantity) {
  assert(quantity > 0 && inventory.reserved >= quantity);
  inventory.reserved -= quantity;
  inventory.sold += quantity;
  assert(inventory_conserved(inventory));
}

void apply_release(Inventory& inventory, int32_t quantity) {
  assert(quantity > 0 && inventory.reserved >= quantity);
  inventory.reserved -= quantity;
  inventory.available += quantity;
  assert(inventory_conserved(inventory));
}

void apply_restock(Inventory& inventory, int64_t quantity) {
  assert(quantity > 0);
  inventory.restocked += quantity;
  inventory.available += quantity;
  assert(inventory_conserved(inventory));
}

}  // namespace hawker::market
