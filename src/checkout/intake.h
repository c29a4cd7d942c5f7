// Intake: the gateway's path from a validated "Buy Now" to a durable queue
// entry, with group commit.
//
// submit() hands a request to one committer thread, which takes everything
// waiting (up to batch_max), appends it to the PurchaseQueue with one synced
// write, and only then calls each request's callback: nothing is answered 202
// before it is durable. Before queueing, the gate answers sold_out at the edge
// and a queue over its bound answers overloaded; both still honour an
// Idempotency-Key seen before. Callbacks run on the committer thread or the
// caller's and must be quick. Thread-safe.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bus/purchase_queue.h"
#include "checkout/gate.h"
#include "core/clock.h"
#include "core/metrics.h"

namespace hawker::checkout {

struct Submission {
  std::string buyer;
  std::string idempotency_key;  // as the client sent it
  uint64_t product_id = 0;
  int32_t quantity = 0;
  std::string payment_token;
  uint64_t fingerprint = 0;  // of what was asked, for key reuse detection
};

enum class IntakeVerdict : uint8_t { kAccepted, kDuplicate, kKeyReused, kSoldOut, kOverloaded, kUnavailable };

struct IntakeResult {
  IntakeVerdict verdict = IntakeVerdict::kUnavailable;
  uint64_t order_id = 0;
};

struct IntakeOptions {
  size_t batch_max = 4096;        // requests per synced append
  size_t queue_depth_max = 200'000;  // above this, 429
  size_t waiting_max = 50'000;    // submissions waiting for the committer
};

class Intake {
 public:
  using Callback = std::function<void(const IntakeResult&)>;

  Intake(bus::PurchaseQueue& queue, Gate& gate, const Clock& clock, Registry& metrics, IntakeOptions options = {});
  ~Intake();
  void start();
  void stop();  // answers what is waiting, then joins

  // Precondition: the product is in the gate.
  void submit(Submission&& submission, Callback callback);

  static std::string scoped_key(std::string_view buyer, std::string_view key);

 private:
  struct Waiting {
    Submission submission;
    Callback callback;
  };
  void run();
  void commit(std::vector<Waiting>& batch);
  // Answers from an earlier use of the key, if any.
  bool answer_known_key(const Submission& submission, const Callback& callback);

  bus::PurchaseQueue& queue_;
  Gate& gate_;
  const Clock& clock_;
  IntakeOptions options_;
  Histogram& batch_sizes_;
  Histogram& append_seconds_;

  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<Waiting> waiting_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace hawker::checkout
