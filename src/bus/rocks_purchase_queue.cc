// RocksPurchaseQueue: the embedded purchase queue on RocksDB.
//
// Column families: entries (queue id -> request, deleted on ack), keys
// (idempotency key -> order id + fingerprint, kept). Unacked requests are
// also held in memory (the lease table), which answers find_order().
// One append is one WriteBatch with sync=true: the group commit that lets many
// 202s share one fsync. Acks are not synced: a lost ack only means a
// redelivery, which checkout treats as a no-op. Thread-safe.
#include <rocksdb/db.h>
#include <rocksdb/memtablerep.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include "core/rocks_tuning.h"

#include "bus/logged_queue.h"
#include "core/ids.h"

namespace hawker::bus {
namespace {

std::string u64_key(uint64_t value) {
  std::string key;
  append_u64_be(key, value);
  return key;
}

Error io_error(const rocksdb::Status& status) { return make_error(ErrorCode::kIo, "rocksdb: " + status.ToString()); }

class RocksPurchaseQueue final : public LoggedQueue {
 public:
  explicit RocksPurchaseQueue(QueueOptions options) : LoggedQueue(options) {}
  ~RocksPurchaseQueue() override {
    for (auto* handle : handles_) db_->DestroyColumnFamilyHandle(handle);
    delete db_;
  }

  Status open(const std::string& directory) {
    rocksdb::Options options = embedded_db_options();
    // The vector memtable (below) takes one writer at a time; appends are
    // serialised by LoggedQueue anyway.
    options.allow_concurrent_memtable_write = false;
    std::vector<rocksdb::ColumnFamilyDescriptor> families;
    // entries: appended in id order and never read by key; keys: point lookups.
    rocksdb::ColumnFamilyOptions entries_options;
    entries_options.memtable_factory = std::make_shared<rocksdb::VectorRepFactory>();
    families.emplace_back("default", rocksdb::ColumnFamilyOptions());
    families.emplace_back("entries", entries_options);
    families.emplace_back("keys", point_lookup_family_options());
    rocksdb::Status status = rocksdb::DB::Open(options, directory, families, &handles_, &db_);
    if (!status.ok()) return io_error(status);
    // Everything still in `entries` was never acked: deliver it again.
    std::vector<std::pair<uint64_t, market::PurchaseRequest>> pending;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), handles_[kEntries]));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      auto request = decode_request(it->value().ToStringView());
      if (!request) return request.error();
      pending.emplace_back(read_u64_be(it->key().ToStringView()), std::move(*request));
    }
    if (!it->status().ok()) return io_error(it->status());
    std::string last;
    status = db_->Get(rocksdb::ReadOptions(), handles_[kDefault], "next_id", &last);
    if (status.ok()) next_id_ = read_u64_be(last);
    else if (!status.IsNotFound()) return io_error(status);
    if (!pending.empty() && pending.back().first >= next_id_) next_id_ = pending.back().first + 1;
    leases_.add(pending, /*recovered=*/true);
    return {};
  }

 protected:
  Result<std::optional<KeyRecord>> lookup_key(std::string_view key) override {
    std::string value;
    rocksdb::Status status = db_->Get(rocksdb::ReadOptions(), handles_[kKeys], key, &value);
    if (status.IsNotFound()) return std::optional<KeyRecord>();
    if (!status.ok()) return io_error(status);
    if (value.size() != 16) return make_error(ErrorCode::kIo, "corrupt idempotency record");
    return std::optional<KeyRecord>(KeyRecord{read_u64_be(value), read_u64_be(std::string_view(value).substr(8))});
  }

  Status persist(std::span<const NewEntry> entries) override {
    rocksdb::WriteBatch batch;
    for (const auto& entry : entries) {
      std::string encoded = encode_request(entry.item->request);
      batch.Put(handles_[kEntries], u64_key(entry.id), encoded);
      std::string key_value = u64_key(entry.item->request.order_id);
      append_u64_be(key_value, entry.item->fingerprint);
      batch.Put(handles_[kKeys], entry.item->idempotency_key, key_value);
    }
    batch.Put(handles_[kDefault], "next_id", u64_key(entries.back().id + 1));
    rocksdb::WriteOptions options;
    options.sync = true;
    rocksdb::Status status = db_->Write(options, &batch);
    if (!status.ok()) return io_error(status);
    return {};
  }

  Status erase(std::span<const uint64_t> ids) override {
    rocksdb::WriteBatch batch;
    for (uint64_t id : ids) batch.Delete(handles_[kEntries], u64_key(id));
    rocksdb::Status status = db_->Write(rocksdb::WriteOptions(), &batch);
    if (!status.ok()) return io_error(status);
    return {};
  }

 private:
  enum Family { kDefault = 0, kEntries, kKeys };
  rocksdb::DB* db_ = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
};

}  // namespace

Result<PurchaseQueuePtr> open_rocks_purchase_queue(const std::string& directory, QueueOptions options) {
  auto queue = std::make_unique<RocksPurchaseQueue>(options);
  if (Status opened = queue->open(directory); !opened) return opened.error();
  return PurchaseQueuePtr(std::move(queue));
}

}  // namespace hawker::bus
