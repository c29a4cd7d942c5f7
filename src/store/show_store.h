// ShowStore: live shows — who sells, the title, the status, and the pinned
// product (the showcase).
//
// Port (abstract). Adapters: SqliteShowStore (embedded; its own SQLite file,
// WAL, synchronous=FULL) and PostgresShowStore (cluster mode;
// store/postgres_show_store.h, its own `show_store` schema). Both pass
// tests/store/show_store_contract_test.cc.
//
// Contract: ids are never reused; status moves scheduled -> live -> ended
// (a live show may also end; an ended show may go live again for a replay
// of the same stream key); set_showcase records when the pin happened.
// Each show has a stream key, unique among shows (a duplicate is
// kConflict); the key is a secret of the show's seller, which the caller
// generates (core/ids.h random_hex) and may replace (rotation).
// Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace hawker::store {

enum class ShowStatus : uint8_t { kScheduled, kLive, kEnded };

std::string_view show_status_name(ShowStatus status);
bool parse_show_status(std::string_view text, ShowStatus& status);

struct ShowRecord {
  uint64_t id = 0;
  std::string seller;
  std::string title;
  ShowStatus status = ShowStatus::kScheduled;
  uint64_t showcase_product_id = 0;  // 0: nothing pinned
  int64_t showcase_us = 0;           // when it was pinned
  int64_t created_us = 0;
  std::string stream_key;  // secret: only the seller sees it
};

class ShowStore {
 public:
  virtual ~ShowStore() = default;
  virtual Result<ShowRecord> create(const std::string& seller, const std::string& title,
                                    const std::string& stream_key, int64_t now_us) = 0;
  virtual Result<std::optional<ShowRecord>> get(uint64_t show_id) = 0;
  // The show whose current key this is; none for an old (rotated) key.
  virtual Result<std::optional<ShowRecord>> find_by_stream_key(const std::string& stream_key) = 0;
  virtual Status set_stream_key(uint64_t show_id, const std::string& stream_key) = 0;
  // Live shows first, then scheduled, then ended; newest first within each.
  // Paged by offset: the list is short (shows of one platform, not orders).
  virtual Result<std::vector<ShowRecord>> list(size_t offset, size_t limit) = 0;
  virtual Status set_showcase(uint64_t show_id, uint64_t product_id, int64_t now_us) = 0;
  virtual Status set_status(uint64_t show_id, ShowStatus status) = 0;
};

using ShowStorePtr = std::unique_ptr<ShowStore>;

Result<ShowStorePtr> open_sqlite_show_store(const std::string& path);

}  // namespace hawker::store
