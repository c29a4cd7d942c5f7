// The batch decision: the heart of checkout, pure and allocation-free.
//
// Given one product's inventory, its per-buyer limit, what each buyer in the
// batch already holds, and the batch's requests in arrival order, decide each
// request: reserve it, or reject it (sold_out, limit_exceeded, invalid). The
// decision mutates the inventory and holdings it is given; the caller commits
// the result with an optimistic version check. Thread-compatible.
#pragma once

#include <cstdint>
#include <span>

#include "market/order.h"
#include "market/product.h"

namespace hawker::market {

struct BatchItem {
  uint64_t order_id = 0;
  uint32_t buyer_slot = 0;  // index into the holdings span
  int32_t quantity = 0;
};

enum class Verdict : uint8_t { kReserve, kSoldOut, kLimitExceeded, kInvalid };

RejectReason verdict_reason(Verdict verdict);

// Decides `items` in order. Preconditions: verdicts.size() == items.size(),
// every buyer_slot < holdings.size(), inventory conserved. Postcondition:
// inventory still conserved, available >= 0. Returns how many were reserved.
size_t decide_batch(Inventory& inventory, int32_t max_per_buyer, std::span<int32_t> holdings,
                    std::span<const BatchItem> items, std::span<Verdict> verdicts);

// Payment outcomes on a reserved quantity. Preconditions: reserved >= quantity.
void apply_confirmation(Inventory& inventory, int32_t quantity);
void apply_release(Inventory& inventory, int32_t quantity);
// Adds stock. Precondition: quantity > 0.
void apply_restock(Inventory& inventory, int64_t quantity);

}  // namespace hawker::market
