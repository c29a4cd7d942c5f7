#include "bus/lease_table.h"

#include "core/clock.h"

namespace hawker::bus {

void LeaseTable::add(std::span<const std::pair<uint64_t, market::PurchaseRequest>> entries, bool recovered) {
  if (entries.empty()) return;
  {
    std::lock_guard lock(mutex_);
    // Ids grow with each append: the hints put each one at the end at once.
    for (const auto& [id, request] : entries) {
      entries_.insert_or_assign(entries_.end(), id, Entry{request, recovered ? 1u : 0u, 0});
      entry_of_order_[request.order_id] = id;
      ready_.insert(ready_.end(), id);
    }
  }
  ready_changed_.notify_all();
}

void LeaseTable::reclaim_expired_locked(int64_t now_us) {
  while (!leases_.empty() && leases_.front().deadline_us <= now_us) {
    const LeaseBatch& batch = leases_.front();
    for (uint64_t id : batch.ids) {
      auto found = entries_.find(id);
      if (found != entries_.end() && found->second.lease_deadline_us == batch.deadline_us) {
        found->second.lease_deadline_us = 0;
        ready_.insert(id);
      }
    }
    leases_.pop_front();
  }
}

std::vector<Delivery> LeaseTable::fetch(size_t max, std::chrono::milliseconds wait) {
  std::vector<Delivery> out;
  std::unique_lock lock(mutex_);
  auto deadline = std::chrono::steady_clock::now() + wait;
  while (true) {
    int64_t now = monotonic_us();
    reclaim_expired_locked(now);
    if (!ready_.empty() || std::chrono::steady_clock::now() >= deadline) break;
    // Wake for new entries, the end of the wait, or the next lease expiry.
    auto wake = deadline;
    if (!leases_.empty()) {
      auto lease_end = std::chrono::steady_clock::now() + std::chrono::microseconds(leases_.front().deadline_us - now);
      if (lease_end < wake) wake = lease_end;
    }
    ready_changed_.wait_until(lock, wake);
  }
  // A steady clock plus a fixed wait: never below the newest batch's deadline.
  const int64_t lease_deadline =
      monotonic_us() + std::chrono::duration_cast<std::chrono::microseconds>(ack_wait_).count();
  LeaseBatch batch;
  batch.deadline_us = lease_deadline;
  while (!ready_.empty() && out.size() < max) {
    uint64_t id = *ready_.begin();
    ready_.erase(ready_.begin());
    Entry& entry = entries_.at(id);
    entry.lease_deadline_us = lease_deadline;
    ++entry.attempt;
    batch.ids.push_back(id);
    out.push_back(Delivery{id, entry.attempt, entry.request});
  }
  if (!batch.ids.empty()) leases_.push_back(std::move(batch));
  return out;
}

std::vector<uint64_t> LeaseTable::ack(std::span<const uint64_t> delivery_ids) {
  std::vector<uint64_t> removed;
  std::lock_guard lock(mutex_);
  for (uint64_t id : delivery_ids) {
    auto found = entries_.find(id);
    if (found == entries_.end()) continue;
    entry_of_order_.erase(found->second.request.order_id);
    entries_.erase(found);
    ready_.erase(id);
    removed.push_back(id);
  }
  return removed;
}

void LeaseTable::release(std::span<const uint64_t> delivery_ids) {
  {
    std::lock_guard lock(mutex_);
    for (uint64_t id : delivery_ids) {
      auto found = entries_.find(id);
      if (found == entries_.end() || found->second.lease_deadline_us == 0) continue;
      found->second.lease_deadline_us = 0;
      ready_.insert(id);
    }
  }
  ready_changed_.notify_all();
}

void LeaseTable::expire_all() {
  {
    std::lock_guard lock(mutex_);
    leases_.clear();
    for (auto& [id, entry] : entries_) {
      entry.lease_deadline_us = 0;
      ready_.insert(id);
    }
  }
  ready_changed_.notify_all();
}

std::optional<market::PurchaseRequest> LeaseTable::find_order(uint64_t order_id) {
  std::lock_guard lock(mutex_);
  auto found = entry_of_order_.find(order_id);
  if (found == entry_of_order_.end()) return std::nullopt;
  return entries_.at(found->second).request;
}

size_t LeaseTable::depth() {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

std::vector<market::PurchaseRequest> LeaseTable::unacked() {
  std::lock_guard lock(mutex_);
  std::vector<market::PurchaseRequest> out;
  out.reserve(entries_.size());
  for (const auto& [id, entry] : entries_) out.push_back(entry.request);
  return out;
}

}  // namespace hawker::bus
