#include "core/thread_name.h"
#include "checkout/intake.h"

#include "core/ids.h"
#include "core/log.h"

namespace hawker::checkout {

Intake::Intake(bus::PurchaseQueue& queue, Gate& gate, const Clock& clock, Registry& metrics, IntakeOptions options)
    : queue_(queue),
      gate_(gate),
      clock_(clock),
      options_(options),
      batch_sizes_(metrics.histogram("hawker_intake_batch_size", "Requests per synced queue append",
                                     {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096})),
      append_seconds_(metrics.histogram("hawker_intake_append_seconds", "Duration of one synced queue append",
                                        latency_buckets_seconds())) {}

Intake::~Intake() { stop(); }

void Intake::start() { thread_ = std::thread([this] {
    set_thread_name("hawker-intake");
    run();
  }); }

void Intake::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::string Intake::scoped_key(std::string_view buyer, std::string_view key) {
  std::string scoped;
  scoped.reserve(buyer.size() + key.size() + 1);
  scoped.append(buyer);
  scoped.push_back('\n');
  scoped.append(key);
  return scoped;
}

bool Intake::answer_known_key(const Submission& submission, const Callback& callback) {
  auto known = queue_.find_key(scoped_key(submission.buyer, submission.idempotency_key), submission.fingerprint);
  if (!known) {
    callback(IntakeResult{IntakeVerdict::kUnavailable, 0});
    return true;
  }
  if (!*known) return false;
  callback(IntakeResult{(*known)->outcome == bus::EnqueueOutcome::kDuplicate ? IntakeVerdict::kDuplicate
                                                                            : IntakeVerdict::kKeyReused,
                        (*known)->order_id});
  return true;
}

void Intake::submit(Submission&& submission, Callback callback) {
  Gate::Entry* entry = gate_.find(submission.product_id);
  if (entry->sold_out()) {
    if (!answer_known_key(submission, callback)) callback(IntakeResult{IntakeVerdict::kSoldOut, 0});
    return;
  }
  if (queue_.depth() >= options_.queue_depth_max) {
    if (!answer_known_key(submission, callback)) callback(IntakeResult{IntakeVerdict::kOverloaded, 0});
    return;
  }
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || waiting_.size() >= options_.waiting_max) {
      callback(IntakeResult{stopping_ ? IntakeVerdict::kUnavailable : IntakeVerdict::kOverloaded, 0});
      return;
    }
    entry->pending.fetch_add(submission.quantity);
    waiting_.push_back(Waiting{std::move(submission), std::move(callback)});
  }
  wake_.notify_one();
}

void Intake::run() {
  std::vector<Waiting> batch;
  while (true) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !waiting_.empty(); });
      if (waiting_.empty() && stopping_) return;
      if (waiting_.size() <= options_.batch_max) {
        batch.swap(waiting_);
      } else {
        auto split = waiting_.begin() + static_cast<std::ptrdiff_t>(options_.batch_max);
        batch.assign(std::make_move_iterator(waiting_.begin()), std::make_move_iterator(split));
        waiting_.erase(waiting_.begin(), split);
      }
    }
    commit(batch);
    batch.clear();
  }
}

void Intake::commit(std::vector<Waiting>& batch) {
  const int64_t now = clock_.now_us();
  std::vector<bus::Enqueue> items(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    Submission& s = batch[i].submission;
    bus::Enqueue& item = items[i];
    item.request.order_id = new_order_id();
    item.request.product_id = s.product_id;
    item.request.buyer = s.buyer;
    item.request.quantity = s.quantity;
    item.request.payment_token = std::move(s.payment_token);
    item.request.accepted_us = now;
    item.idempotency_key = scoped_key(s.buyer, s.idempotency_key);
    item.fingerprint = s.fingerprint;
  }
  std::vector<bus::EnqueueResult> results(batch.size());
  const int64_t started = monotonic_us();
  Status appended = queue_.append(items, results);
  append_seconds_.observe(static_cast<double>(monotonic_us() - started) / 1e6);
  batch_sizes_.observe(static_cast<double>(batch.size()));
  for (size_t i = 0; i < batch.size(); ++i) {
    const Submission& s = batch[i].submission;
    IntakeResult result;
    if (!appended) {
      result.verdict = IntakeVerdict::kUnavailable;
    } else {
      result.order_id = results[i].order_id;
      switch (results[i].outcome) {
        case bus::EnqueueOutcome::kAppended: result.verdict = IntakeVerdict::kAccepted; break;
        case bus::EnqueueOutcome::kDuplicate: result.verdict = IntakeVerdict::kDuplicate; break;
        case bus::EnqueueOutcome::kKeyReused: result.verdict = IntakeVerdict::kKeyReused; break;
      }
    }
    // Only a newly queued request waits for a decision.
    if (result.verdict != IntakeVerdict::kAccepted) gate_.add_pending(s.product_id, -s.quantity);
    batch[i].callback(result);
  }
  if (!appended) log_error("intake.append_failed", {{"error", appended.error().message}, {"requests", batch.size()}});
}

}  // namespace hawker::checkout
