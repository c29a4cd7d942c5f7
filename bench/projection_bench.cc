// Measures SqliteReadStore::apply(), the projection thread's whole job, on
// batches shaped like a sale: one product, every order reserved and then
// confirmed, each event carrying the product's inventory after the change.
// items_per_second is events per second (commit and fsync included: the store
// runs with synchronous=FULL in a temporary folder on the real disk).
//
//   BM_ApplySale/<batch>          each order's reserve and confirm in one batch
//   BM_ApplySaleStraddling/<batch> confirms land in the batch after the reserves
//
// The batch is rewritten in place between iterations (new seqs, order ids and
// inventory versions) with the timer paused, so only apply() is timed.
#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <benchmark/benchmark.h>

#include "store/read_store.h"

namespace {

using hawker::market::Event;
using hawker::market::EventType;
using hawker::market::Inventory;

constexpr uint64_t kProductId = 1;
constexpr int64_t kInitialStock = 1'000'000'000;  // never sells out in a run
constexpr int32_t kQuantity = 1;
constexpr int64_t kPriceCents = 2500;

// Order ids are random 64-bit numbers in production; splitmix64 spreads a
// counter the same way, so rows land all over the orders table.
uint64_t order_id_for(uint64_t counter) {
  uint64_t z = counter + 0x9E37'79B9'7F4A'7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58'476D'1CE4'E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D0'49BB'1331'11EBull;
  return z ^ (z >> 31);
}

// The sale's running state: what the write side would put in each event.
struct Sale {
  uint64_t seq = 0;
  uint64_t orders = 0;
  Inventory inventory;

  // Rewrites `event` in place; its strings keep their buffers.
  void fill(Event& event, EventType type, uint64_t order_counter) {
    if (type == EventType::kOrderReserved) {
      inventory.available -= kQuantity;
      inventory.reserved += kQuantity;
    } else {
      inventory.reserved -= kQuantity;
      inventory.sold += kQuantity;
    }
    ++inventory.version;
    event.seq = ++seq;
    event.type = type;
    event.ts_us = static_cast<int64_t>(event.seq);
    event.product_id = kProductId;
    event.seller = "ada";
    event.order_id = order_id_for(order_counter);
    event.buyer = "buyer-" + std::to_string(order_counter % 1000);
    event.quantity = kQuantity;
    event.amount_cents = kPriceCents * kQuantity;
    event.accepted_us = static_cast<int64_t>(order_counter);
    event.inventory = inventory;
  }
};

Event product_created(Sale& sale) {
  Event event;
  event.seq = ++sale.seq;
  event.type = EventType::kProductCreated;
  event.product_id = kProductId;
  event.seller = "ada";
  event.definition.id = kProductId;
  event.definition.seller = "ada";
  event.definition.title = "Drop";
  event.definition.price_cents = kPriceCents;
  event.definition.currency = "EUR";
  event.definition.max_per_buyer = 3;
  event.definition.low_threshold = hawker::market::default_low_threshold(kInitialStock);
  sale.inventory.product_id = kProductId;
  sale.inventory.initial = kInitialStock;
  sale.inventory.available = kInitialStock;
  sale.inventory.low_threshold = event.definition.low_threshold;
  sale.inventory.version = 1;
  event.inventory = sale.inventory;
  return event;
}

// A read store in a fresh temporary folder, removed on destruction.
class TempStore {
 public:
  TempStore() {
    std::string pattern = (std::filesystem::temp_directory_path() / "hawker_projection_bench_XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) return;
    directory_ = pattern;
    hawker::Result<hawker::store::ReadStorePtr> opened =
        hawker::store::open_sqlite_read_store(directory_ + "/read_store.db");
    if (opened.ok()) store_ = std::move(opened).value();
  }
  ~TempStore() {
    store_.reset();
    std::error_code ignored;
    if (!directory_.empty()) std::filesystem::remove_all(directory_, ignored);
  }
  TempStore(const TempStore&) = delete;
  TempStore& operator=(const TempStore&) = delete;

  hawker::store::ReadStore* get() const { return store_.get(); }

 private:
  std::string directory_;
  hawker::store::ReadStorePtr store_;
};

// Refills `batch` with the next events of the sale: half as many new orders as
// events, each reserved and then confirmed. With `straddle`, the first half of
// the batch confirms the previous batch's orders and the second half reserves
// new ones (the caller has reserved the first orders already).
void refill(Sale& sale, std::vector<Event>& batch, bool straddle) {
  const size_t half = batch.size() / 2;
  const uint64_t first_order = sale.orders;
  for (size_t i = 0; i < half; ++i) {
    const uint64_t order = first_order + i;
    if (straddle) {
      sale.fill(batch[i], EventType::kOrderConfirmed, order - half);
      sale.fill(batch[half + i], EventType::kOrderReserved, order);
    } else {
      sale.fill(batch[2 * i], EventType::kOrderReserved, order);
      sale.fill(batch[2 * i + 1], EventType::kOrderConfirmed, order);
    }
  }
  sale.orders += half;
}

// Reserves the first half-batch of orders, so a straddling batch has earlier
// orders to confirm.
hawker::Status reserve_first_orders(Sale& sale, hawker::store::ReadStore& store, size_t batch_size) {
  std::vector<Event> reserves(batch_size / 2);
  for (size_t i = 0; i < reserves.size(); ++i) sale.fill(reserves[i], EventType::kOrderReserved, i);
  sale.orders += reserves.size();
  return store.apply(reserves);
}

void run(benchmark::State& state, bool straddle) {
  TempStore store;
  if (store.get() == nullptr) {
    state.SkipWithError("cannot open the read store");
    return;
  }
  Sale sale;
  const std::vector<Event> created = {product_created(sale)};
  if (!store.get()->apply(created).ok()) {
    state.SkipWithError("cannot create the product");
    return;
  }
  std::vector<Event> batch(static_cast<size_t>(state.range(0)));
  if (straddle && !reserve_first_orders(sale, *store.get(), batch.size()).ok()) {
    state.SkipWithError("cannot reserve the first orders");
    return;
  }
  for (auto _ : state) {
    state.PauseTiming();
    refill(sale, batch, straddle);
    state.ResumeTiming();
    hawker::Status status = store.get()->apply(batch);
    if (!status.ok()) {
      state.SkipWithError(status.error().message.c_str());
      break;
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}

void BM_ApplySale(benchmark::State& state) { run(state, false); }
void BM_ApplySaleStraddling(benchmark::State& state) { run(state, true); }

BENCHMARK(BM_ApplySale)->ArgName("batch")->Arg(2048)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ApplySaleStraddling)->ArgName("batch")->Arg(2048)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
