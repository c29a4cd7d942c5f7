// CheckoutWorkers: the threads that run checkout in a process.
//
// Decide threads fetch batches from the purchase queue (up to batch_max
// requests, waiting at most batch_wait_ms for the first) and run
// CheckoutEngine::decide; the orders they reserve go to payment threads, which
// settle up to settle_batch_max orders at a time. At start, and every
// sweep_interval_ms, orders still awaiting payment in the store (after a crash,
// or a failed settle) are picked up again. Start once, stop once.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "checkout/engine.h"

namespace hawker::checkout {

struct WorkerOptions {
  int decide_threads = 2;
  int payment_threads = 2;
  size_t batch_max = 4096;
  int batch_wait_ms = 5;
  size_t settle_batch_max = 256;
  int sweep_interval_ms = 5'000;
};

class CheckoutWorkers {
 public:
  CheckoutWorkers(CheckoutEngine& engine, store::WriteStore& store, bus::PurchaseQueue& queue,
                  WorkerOptions options);
  ~CheckoutWorkers();
  void start();
  void stop();

 private:
  void decide_loop();
  void payment_loop();
  void sweep_loop();
  void enqueue_payments(std::vector<market::OrderRecord>&& orders);

  CheckoutEngine& engine_;
  store::WriteStore& store_;
  bus::PurchaseQueue& queue_;
  WorkerOptions options_;
  std::vector<std::thread> threads_;

  std::mutex mutex_;
  std::condition_variable changed_;
  bool stopping_ = false;
  std::deque<market::OrderRecord> to_settle_;
  std::set<uint64_t> in_flight_;  // order ids queued or being settled
};

}  // namespace hawker::checkout
