// Measures market::decide_batch, the checkout hot path, on one core. The
// project's goal is >= 10 million decisions per second; items_per_second is
// decisions per second.
//
// Each iteration refills the inventory (five stores) and zeroes the batch's
// holdings (what a worker loads per batch anyway) inside the timed region:
// pausing the timer per iteration would cost more than the work measured.
// Requests are 1..3 units from batch/4 buyers in random (seeded) order, so a
// per-buyer limit of 5 rejects a realistic share of them.
//
//   BM_DecideBatch/<batch>/<limit>    enough stock for every request
//   BM_DecideBatchSellsOut/<batch>    stock for about half the demand
//   BM_DecideBatchSoldOut/<batch>     nothing left: every request sold_out
#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include <benchmark/benchmark.h>

#include "market/decision.h"

namespace {

using hawker::market::BatchItem;
using hawker::market::Inventory;
using hawker::market::Verdict;

struct BenchBatch {
  std::vector<BatchItem> items;
  std::vector<int32_t> holdings;
  std::vector<Verdict> verdicts;
  int64_t demand = 0;  // units asked for by the whole batch
};

BenchBatch make_batch(size_t size) {
  std::mt19937 rng(static_cast<uint32_t>(size));
  const uint32_t buyers = static_cast<uint32_t>(std::max<size_t>(1, size / 4));
  BenchBatch batch;
  batch.items.reserve(size);
  for (size_t i = 0; i < size; ++i) {
    BatchItem item;
    item.order_id = i + 1;
    item.buyer_slot = std::uniform_int_distribution<uint32_t>(0, buyers - 1)(rng);
    item.quantity = std::uniform_int_distribution<int32_t>(1, 3)(rng);
    batch.demand += item.quantity;
    batch.items.push_back(item);
  }
  batch.holdings.assign(buyers, 0);
  batch.verdicts.assign(size, Verdict::kInvalid);
  return batch;
}

inline void refill(Inventory& inventory, int64_t stock) {
  inventory.initial = stock;
  inventory.restocked = 0;
  inventory.available = stock;
  inventory.reserved = 0;
  inventory.sold = 0;
}

void run(benchmark::State& state, int64_t stock, int32_t max_per_buyer) {
  const size_t size = static_cast<size_t>(state.range(0));
  BenchBatch batch = make_batch(size);
  Inventory inventory;
  inventory.product_id = 1;
  size_t reserved_total = 0;
  for (auto _ : state) {
    refill(inventory, stock);
    std::fill(batch.holdings.begin(), batch.holdings.end(), 0);
    size_t reserved =
        hawker::market::decide_batch(inventory, max_per_buyer, batch.holdings, batch.items, batch.verdicts);
    benchmark::DoNotOptimize(reserved);
    benchmark::DoNotOptimize(inventory);
    benchmark::ClobberMemory();
    reserved_total += reserved;
  }
  const auto decisions = static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(size);
  state.SetItemsProcessed(decisions);
  if (stock > 0 && decisions > 0) {
    state.counters["reserved_share"] = static_cast<double>(reserved_total) / static_cast<double>(decisions);
  }
}

void BM_DecideBatch(benchmark::State& state) {
  const size_t size = static_cast<size_t>(state.range(0));
  run(state, static_cast<int64_t>(size) * 3, static_cast<int32_t>(state.range(1)));
}

void BM_DecideBatchSellsOut(benchmark::State& state) {
  run(state, make_batch(static_cast<size_t>(state.range(0))).demand / 2, 0);
}

void BM_DecideBatchSoldOut(benchmark::State& state) { run(state, 0, 0); }

BENCHMARK(BM_DecideBatch)->ArgNames({"batch", "limit"})->ArgsProduct({{256, 4096}, {0, 5}});
BENCHMARK(BM_DecideBatchSellsOut)->ArgName("batch")->Arg(256)->Arg(4096);
BENCHMARK(BM_DecideBatchSoldOut)->ArgName("batch")->Arg(256)->Arg(4096);

}  // namespace

BENCHMARK_MAIN();
