#include "live/fanout.h"

#include <algorithm>
#include <cassert>
#include <utility>

namespace hawker::live {

Target::Target(const SubscriberPtr& s, Resolve) : subscriber(s), resolved(true) {
  if (!s) return;
  std::shared_ptr<http::NetworkThread> thread = s->home();
  home = thread;
  home_key = thread.get();
}

bool SubscriberSet::insert(const SubscriberPtr& subscriber) {
  assert(subscriber != nullptr);
  const bool inserted = members_.try_emplace(subscriber.get(), subscriber).second;
  if (inserted) snapshot_.reset();
  return inserted;
}

bool SubscriberSet::erase(const Subscriber* subscriber) {
  const bool erased = members_.erase(subscriber) > 0;
  if (erased) snapshot_.reset();
  return erased;
}

bool SubscriberSet::contains(const Subscriber* subscriber) const { return members_.contains(subscriber); }

TargetsPtr SubscriberSet::snapshot() {
  if (snapshot_) return snapshot_;
  auto targets = std::make_shared<Targets>();
  targets->reserve(members_.size());
  for (auto it = members_.begin(); it != members_.end();) {
    if (it->second.subscriber.expired()) {
      it = members_.erase(it);
    } else {
      targets->push_back(it->second);
      ++it;
    }
  }
  // Grouped by thread: Outbox::deliver posts one task per run of one home.
  std::stable_sort(targets->begin(), targets->end(),
                   [](const Target& a, const Target& b) { return std::less<>()(a.home_key, b.home_key); });
  snapshot_ = std::move(targets);
  return snapshot_;
}

void Outbox::push(Frame frame, TargetsPtr targets, uint64_t replace_key) {
  assert(frame != nullptr && targets != nullptr);
  queue_.push_back(Entry{std::move(frame), std::move(targets), replace_key});
}

void Outbox::drain(std::mutex& owner_mutex) {
  std::unique_lock lock(owner_mutex);
  if (draining_) return;  // the drainer will deliver what we left behind
  draining_ = true;
  std::vector<Entry> batch = std::move(spare_);
  while (!queue_.empty()) {
    batch.swap(queue_);
    lock.unlock();
    for (const Entry& entry : batch) deliver(entry);
    batch.clear();  // frames and snapshots released outside the lock
    lock.lock();
  }
  spare_ = std::move(batch);
  draining_ = false;
}

// Strong references to subscribers live only while deliver() is called and
// die outside any lock, so a session's destructor may unsubscribe.
void Outbox::deliver(const Entry& entry) {
  const Targets& targets = *entry.targets;
  for (size_t i = 0; i < targets.size();) {
    const Target& first = targets[i];
    if (!first.resolved) {  // the home is looked up now, for this one
      if (SubscriberPtr subscriber = first.subscriber.lock()) {
        if (std::shared_ptr<http::NetworkThread> home = subscriber->home()) {
          home->post([weak = first.subscriber, frame = entry.frame, key = entry.replace_key] {
            if (SubscriberPtr s = weak.lock()) s->deliver(frame, key);
          });
        } else {
          subscriber->deliver(entry.frame, entry.replace_key);
        }
      }
      ++i;
      continue;
    }
    size_t end = i + 1;
    while (end < targets.size() && targets[end].resolved && targets[end].home_key == first.home_key) ++end;
    if (first.home_key == nullptr) {  // no thread of their own: here
      for (; i < end; ++i)
        if (SubscriberPtr subscriber = targets[i].subscriber.lock()) subscriber->deliver(entry.frame, entry.replace_key);
      continue;
    }
    // Tasks of at most kSubscribersPerTask of this thread's subscribers, so
    // the thread serves its other connections between them, and a newer frame
    // with the same key supersedes the part of this one not yet started. A
    // thread that is gone (its server stopped) takes nothing.
    if (std::shared_ptr<http::NetworkThread> home = first.home.lock()) {
      const size_t count = end - i;
      const size_t tasks = (count + kSubscribersPerTask - 1) / kSubscribersPerTask;
      std::vector<std::shared_ptr<Posted>>* posted = nullptr;
      size_t first_task = 0;
      if (entry.replace_key != 0) {
        // Start where the superseded frame stopped: the subscribers it had
        // not reached come first, so under a steady stream of newer frames
        // the end of the list is not left waiting behind its start.
        auto [list, resume_at] = supersede(first.home_key, entry.replace_key);
        posted = &list;
        if (resume_at < count) first_task = resume_at / kSubscribersPerTask;
      }
      for (size_t n = 0; n < tasks; ++n) {
        const size_t offset = ((first_task + n) % tasks) * kSubscribersPerTask;
        const size_t from = i + offset;
        const size_t to = std::min(end, from + kSubscribersPerTask);
        std::shared_ptr<Posted> state;
        if (posted) state = posted->emplace_back(std::make_shared<Posted>(offset));
        home->post([targets = entry.targets, frame = entry.frame, key = entry.replace_key, from, to, state] {
          if (state && state->state.exchange(Posted::kStarted) == Posted::kSuperseded) return;
          for (size_t k = from; k < to; ++k)
            if (SubscriberPtr subscriber = (*targets)[k].subscriber.lock()) subscriber->deliver(frame, key);
        });
      }
    }
    i = end;
  }
}

std::pair<std::vector<std::shared_ptr<Outbox::Posted>>&, size_t> Outbox::supersede(const http::NetworkThread* home,
                                                                                    uint64_t replace_key) {
  std::vector<std::shared_ptr<Posted>>& last = posted_[{home, replace_key}];
  size_t resume_at = SIZE_MAX;  // offset of the first task superseded, in posting order
  for (const auto& task : last) {
    int waiting = Posted::kWaiting;
    // Too late for a task that started.
    if (task->state.compare_exchange_strong(waiting, Posted::kSuperseded) && resume_at == SIZE_MAX)
      resume_at = task->offset;
  }
  last.clear();
  return {last, resume_at};
}

}  // namespace hawker::live
