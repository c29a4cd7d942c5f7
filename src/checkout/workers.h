// CheckoutWorkers: the threads that run checkout in a process.
//
// Decide threads fetch batches from the purchase queue (up to batch_max
// requests, waiting at most batch_wait_ms for the first) and run
// CheckoutEngine::decide; the orders they reserve go to payment threads, which
// settle up to settle_batch_max orders at a time. At start, and every
// sweep_interval_ms, orders still awaiting payment in the store (after a crash,
// or a failed settle) are picked up again. Start once, stop once.
//
// Backpressure: while settle_backlog_max reserved orders wait for a payment
// thread, decide threads fetch nothing (a batch already being decided still
// joins the backlog, so it may pass the bound by batch_max per decide
// thread). When payments are the slow stage (a slow processor, a long
// overload), the overload then stays in the purchase queue, whose bound turns
// new clicks away with 429, instead of growing this process's memory without
// limit.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <unordered_set>
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
  size_t settle_backlog_max = 16'384;
  int sweep_interval_ms = 5'000;
};

class CheckoutWorkers {
 public:
  CheckoutWorkers(CheckoutEngine& engine, store::WriteStore& store, bus::PurchaseQueue& queue,
                  WorkerOptions options);
  ~CheckoutWorkers();
  void start();
  void stop();
  // Reserved orders waiting for a payment thread (not those being settled).
  size_t settle_backlog();

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
  std::condition_variable changed_;  // to_settle_ filled, or stopping
  std::condition_variable drained_;  // to_settle_ fell under settle_backlog_max, or stopping
  bool stopping_ = false;
  std::deque<market::OrderRecord> to_settle_;
  std::unordered_set<uint64_t> in_flight_;  // order ids queued or being settled
};

}  // namespace hawker::checkout
