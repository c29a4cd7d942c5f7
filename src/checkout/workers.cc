#include "core/thread_name.h"
#include "checkout/workers.h"

#include <algorithm>

#include "core/log.h"

namespace hawker::checkout {

CheckoutWorkers::CheckoutWorkers(CheckoutEngine& engine, store::WriteStore& store, bus::PurchaseQueue& queue,
                                 WorkerOptions options)
    : engine_(engine), store_(store), queue_(queue), options_(options) {
  // 0 would never let a decide thread run.
  options_.settle_backlog_max = std::max<size_t>(1, options_.settle_backlog_max);
}

CheckoutWorkers::~CheckoutWorkers() { stop(); }

void CheckoutWorkers::start() {
  for (int i = 0; i < options_.decide_threads; ++i)
    threads_.emplace_back([this] {
      set_thread_name("hawker-decide");
      decide_loop();
    });
  for (int i = 0; i < options_.payment_threads; ++i)
    threads_.emplace_back([this] {
      set_thread_name("hawker-payment");
      payment_loop();
    });
  threads_.emplace_back([this] {
    set_thread_name("hawker-sweep");
    sweep_loop();
  });
}

void CheckoutWorkers::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
  }
  changed_.notify_all();
  drained_.notify_all();
  for (auto& thread : threads_) thread.join();
  threads_.clear();
}

void CheckoutWorkers::enqueue_payments(std::vector<market::OrderRecord>&& orders) {
  if (orders.empty()) return;
  {
    std::lock_guard lock(mutex_);
    for (auto& order : orders)
      if (in_flight_.insert(order.order_id).second) to_settle_.push_back(std::move(order));
  }
  changed_.notify_all();
}

size_t CheckoutWorkers::settle_backlog() {
  std::lock_guard lock(mutex_);
  return to_settle_.size();
}

void CheckoutWorkers::decide_loop() {
  while (true) {
    {
      std::unique_lock lock(mutex_);
      drained_.wait(lock, [&] { return stopping_ || to_settle_.size() < options_.settle_backlog_max; });
      if (stopping_) return;
    }
    // The fetch returns as soon as there is work; the wait bounds an idle
    // loop (at least 40 ms, so batch_wait_ms 0 does not spin).
    auto batch = queue_.fetch(options_.batch_max, std::chrono::milliseconds(std::max(options_.batch_wait_ms * 20, 40)));
    if (!batch) {
      log_error("checkout.fetch_failed", {{"error", batch.error().message}});
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    if (batch->empty()) continue;
    // Let a burst gather for up to batch_wait_ms: fuller batches, fewer commits.
    if (batch->size() < options_.batch_max && options_.batch_wait_ms > 0) {
      auto more = queue_.fetch(options_.batch_max - batch->size(), std::chrono::milliseconds(options_.batch_wait_ms));
      if (more) batch->insert(batch->end(), more->begin(), more->end());
    }
    auto reserved = engine_.decide(*batch);
    if (!reserved) {
      log_error("checkout.decide_failed", {{"error", reserved.error().message}});
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    enqueue_payments(std::move(*reserved));
  }
}

void CheckoutWorkers::payment_loop() {
  std::vector<market::OrderRecord> batch;
  while (true) {
    {
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [&] { return stopping_ || !to_settle_.empty(); });
      if (stopping_) return;
      while (!to_settle_.empty() && batch.size() < options_.settle_batch_max) {
        batch.push_back(std::move(to_settle_.front()));
        to_settle_.pop_front();
      }
    }
    drained_.notify_all();
    Status settled = engine_.settle(batch);
    if (!settled) log_error("checkout.settle_failed", {{"error", settled.error().message}});
    {
      // Failed settles stay awaiting payment in the store; the sweep retries them.
      std::lock_guard lock(mutex_);
      for (const auto& order : batch) in_flight_.erase(order.order_id);
    }
    batch.clear();
  }
}

void CheckoutWorkers::sweep_loop() {
  while (true) {
    auto awaiting = store_.awaiting_payment(10'000);
    if (awaiting) enqueue_payments(std::move(*awaiting));
    else log_error("checkout.sweep_failed", {{"error", awaiting.error().message}});
    std::unique_lock lock(mutex_);
    if (changed_.wait_for(lock, std::chrono::milliseconds(options_.sweep_interval_ms), [&] { return stopping_; }))
      return;
  }
}

}  // namespace hawker::checkout
