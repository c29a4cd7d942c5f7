// MemoryPurchaseQueue: the PurchaseQueue port in memory, for tests and the
// deterministic simulator, with the fault switches the simulator uses.
// Thread-safe.
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <string>

#include "bus/logged_queue.h"

namespace hawker::bus {

class MemoryPurchaseQueue final : public LoggedQueue {
 public:
  explicit MemoryPurchaseQueue(QueueOptions options = {});
  // While set, append() fails before anything is stored.
  void set_fail_appends(bool fail) { fail_appends_ = fail; }

 protected:
  Result<std::optional<KeyRecord>> lookup_key(std::string_view key) override;
  Status persist(std::span<const NewEntry> entries) override;
  Status erase(std::span<const uint64_t> ids) override;

 private:
  std::atomic<bool> fail_appends_{false};
  std::mutex mutex_;
  std::map<std::string, KeyRecord> keys_;
};

}  // namespace hawker::bus
