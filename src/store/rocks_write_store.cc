// RocksWriteStore: the embedded write side on RocksDB.
//
// Column families: products (id -> product), orders (id -> order), holdings
// (product id + buyer -> units), payments (order ids awaiting payment), events
// (seq -> event); default holds the high-water mark of allocated product ids.
// A commit is one WriteBatch written with sync=true, so the state change and
// its events (the outbox) are durable together or not at all.
// Commits are serialised by one mutex: the version check and the seq
// assignment happen under it. Reads use a RocksDB snapshot so a decision load
// sees one consistent state.
// The orders this process holds reserved are also kept in memory, and
// get_order() answers them from there: settling reads each order twice (is it
// still reserved before charging; and again under the product's lock), and a
// point lookup in a large memtable costs a dozen cache misses. This process is
// the database's only writer and every order write is a commit here, so the
// map holds an order exactly while its stored status is reserved. It is as
// large as the number of orders holding stock reserved (waiting for or in
// payment, or for the sweep after a failed settle); after a restart it starts
// empty and reads fall through to RocksDB.
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include "core/rocks_tuning.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <unordered_map>

#include "core/ids.h"
#include "core/log.h"
#include "store/codec.h"
#include "store/seq_watch.h"
#include "store/write_store.h"

namespace hawker::store {
namespace {

std::string u64_key(uint64_t value) {
  std::string key;
  append_u64_be(key, value);
  return key;
}

std::string holding_key(uint64_t product_id, std::string_view buyer) {
  std::string key = u64_key(product_id);
  key.append(buyer);
  return key;
}

Error io_error(const rocksdb::Status& status) { return make_error(ErrorCode::kIo, "rocksdb: " + status.ToString()); }

class RocksWriteStore final : public WriteStore {
 public:
  ~RocksWriteStore() override {
    for (auto* handle : handles_) db_->DestroyColumnFamilyHandle(handle);
    delete db_;
  }

  static Result<WriteStorePtr> open(const std::string& directory) {
    rocksdb::Options options = embedded_db_options();
    std::vector<rocksdb::ColumnFamilyDescriptor> families;
    for (const char* name : {"default", "products", "orders", "holdings", "payments", "events"})
      families.emplace_back(name, point_lookup_family_options());
    auto store = std::unique_ptr<RocksWriteStore>(new RocksWriteStore());
    rocksdb::Status status = rocksdb::DB::Open(options, directory, families, &store->handles_, &store->db_);
    if (!status.ok()) return io_error(status);
    if (Status recovered = store->recover(); !recovered) return recovered.error();
    return WriteStorePtr(std::move(store));
  }

  Result<uint64_t> commit(const ProductCommit& commit) override {
    uint64_t last_seq;
    {
      std::lock_guard lock(commit_mutex_);
      auto stored = read_product(commit.product_id, nullptr);
      if (!stored) return stored.error();
      if (Status valid = validate_commit(commit, *stored); !valid) return valid.error();
      ProductSnapshot product;
      product.definition = commit.definition ? *commit.definition : (*stored)->definition;
      product.inventory = commit.inventory;
      rocksdb::WriteBatch batch;
      batch.Put(handles_[kProducts], u64_key(commit.product_id), encode_product(product));
      for (const auto& order : commit.orders) {
        std::string key = u64_key(order.order_id);
        batch.Put(handles_[kOrders], key, encode_order(order));
        if (order.status == market::OrderStatus::kReserved) batch.Put(handles_[kPayments], key, "");
        else batch.Delete(handles_[kPayments], key);
      }
      for (const auto& [buyer, units] : commit.holdings)
        batch.Put(handles_[kHoldings], holding_key(commit.product_id, buyer), std::to_string(units));
      uint64_t seq = events_.last();
      for (const auto& event : commit.events) {
        market::Event numbered = event;
        numbered.seq = ++seq;
        batch.Put(handles_[kEvents], u64_key(seq), market::encode_event(numbered));
      }
      rocksdb::WriteOptions write_options;
      write_options.sync = true;
      rocksdb::Status status = db_->Write(write_options, &batch);
      if (!status.ok()) return io_error(status);
      if (commit.product_id >= next_product_id_) next_product_id_ = commit.product_id + 1;
      remember_reserved(commit.orders);
      events_.advance(seq);
      last_seq = seq;
    }
    return last_seq;
  }

  Result<std::optional<ProductSnapshot>> get_product(uint64_t product_id) override {
    return read_product(product_id, nullptr);
  }

  Result<std::vector<ProductSnapshot>> list_products() override {
    std::vector<ProductSnapshot> out;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), handles_[kProducts]));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      auto product = decode_product(it->value().ToStringView());
      if (!product) return product.error();
      out.push_back(std::move(*product));
    }
    if (!it->status().ok()) return io_error(it->status());
    return out;
  }

  Result<uint64_t> allocate_product_id() override {
    std::lock_guard lock(commit_mutex_);
    // The high-water mark is durable before the id leaves, so a restart never
    // hands out an id again, even one whose product was never created.
    const uint64_t id = next_product_id_;
    rocksdb::WriteOptions write_options;
    write_options.sync = true;
    rocksdb::Status status = db_->Put(write_options, handles_[kDefault], kNextProductIdKey, u64_key(id + 1));
    if (!status.ok()) return io_error(status);
    next_product_id_ = id + 1;
    return id;
  }

  Result<uint32_t> allocate_node_number() override {
    // One process holds a RocksDB folder, so numbers need not outlive it.
    return next_node_number_.fetch_add(1);
  }

  Result<DecisionLoad> load_for_decision(uint64_t product_id, std::span<const std::string_view> buyers,
                                         std::span<const uint64_t> order_ids) override {
    const rocksdb::Snapshot* snapshot = db_->GetSnapshot();
    struct Release {
      rocksdb::DB* db;
      const rocksdb::Snapshot* snapshot;
      ~Release() { db->ReleaseSnapshot(snapshot); }
    } release{db_, snapshot};
    rocksdb::ReadOptions read_options;
    read_options.snapshot = snapshot;
    auto product = read_product(product_id, snapshot);
    if (!product) return product.error();
    if (!*product) return make_error(ErrorCode::kNotFound, "unknown product");
    DecisionLoad load;
    load.product = std::move(**product);
    load.holdings.reserve(buyers.size());
    std::string value;
    for (std::string_view buyer : buyers) {
      rocksdb::Status status = db_->Get(read_options, handles_[kHoldings], holding_key(product_id, buyer), &value);
      if (status.IsNotFound()) load.holdings.push_back(0);
      else if (!status.ok()) return io_error(status);
      else load.holdings.push_back(static_cast<int32_t>(std::stol(value)));
    }
    load.order_exists.reserve(order_ids.size());
    for (uint64_t id : order_ids) {
      rocksdb::Status status = db_->Get(read_options, handles_[kOrders], u64_key(id), &value);
      if (!status.ok() && !status.IsNotFound()) return io_error(status);
      load.order_exists.push_back(status.ok() ? 1 : 0);
    }
    return load;
  }

  Result<std::optional<market::OrderRecord>> get_order(uint64_t order_id) override {
    {
      std::lock_guard lock(reserved_mutex_);
      if (auto found = reserved_.find(order_id); found != reserved_.end())
        return std::optional<market::OrderRecord>(found->second);
    }
    std::string value;
    rocksdb::Status status = db_->Get(rocksdb::ReadOptions(), handles_[kOrders], u64_key(order_id), &value);
    if (status.IsNotFound()) return std::optional<market::OrderRecord>();
    if (!status.ok()) return io_error(status);
    auto order = decode_order(value);
    if (!order) return order.error();
    return std::optional<market::OrderRecord>(std::move(*order));
  }

  Result<std::vector<market::OrderRecord>> awaiting_payment(size_t limit) override {
    std::vector<uint64_t> ids;
    {
      std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), handles_[kPayments]));
      for (it->SeekToFirst(); it->Valid() && ids.size() < limit; it->Next())
        ids.push_back(read_u64_be(it->key().ToStringView()));
      if (!it->status().ok()) return io_error(it->status());
    }
    std::vector<market::OrderRecord> out;
    for (uint64_t id : ids) {
      auto order = get_order(id);
      if (!order) return order.error();
      if (*order) out.push_back(std::move(**order));
    }
    return out;
  }

  Result<std::vector<market::Event>> read_events(uint64_t after_seq, size_t limit) override {
    const uint64_t visible = last_event_seq();
    std::vector<market::Event> out;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), handles_[kEvents]));
    for (it->Seek(u64_key(after_seq + 1)); it->Valid() && out.size() < limit; it->Next()) {
      uint64_t seq = read_u64_be(it->key().ToStringView());
      if (seq > visible) break;
      auto event = market::decode_event(it->value().ToStringView());
      if (!event) return event.error();
      out.push_back(std::move(*event));
    }
    if (!it->status().ok()) return io_error(it->status());
    return out;
  }

  uint64_t last_event_seq() override { return events_.last(); }

  void wait_for_events(uint64_t after_seq, std::chrono::milliseconds timeout) override {
    events_.wait_past(after_seq, timeout);
  }

 private:
  enum Family { kDefault = 0, kProducts, kOrders, kHoldings, kPayments, kEvents };
  static constexpr const char* kNextProductIdKey = "next_product_id";  // in kDefault

  RocksWriteStore() = default;

  Status recover() {
    {
      std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), handles_[kEvents]));
      it->SeekToLast();
      if (it->Valid()) events_.advance(read_u64_be(it->key().ToStringView()));
      if (!it->status().ok()) return io_error(it->status());
    }
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), handles_[kProducts]));
    it->SeekToLast();
    if (it->Valid()) next_product_id_ = read_u64_be(it->key().ToStringView()) + 1;
    if (!it->status().ok()) return io_error(it->status());
    std::string allocated;
    rocksdb::Status status = db_->Get(rocksdb::ReadOptions(), handles_[kDefault], kNextProductIdKey, &allocated);
    if (status.ok() && allocated.size() == 8) next_product_id_ = std::max(next_product_id_, read_u64_be(allocated));
    else if (status.ok()) return make_error(ErrorCode::kIo, "corrupt product id high-water mark");
    else if (!status.IsNotFound()) return io_error(status);
    return {};
  }

  // After the commit's write, before it returns, under commit_mutex_. A reader
  // racing the commit may still see an order as it was before (as it would
  // had it read a moment earlier).
  void remember_reserved(const std::vector<market::OrderRecord>& orders) {
    std::lock_guard lock(reserved_mutex_);
    for (const auto& order : orders) {
      if (order.status == market::OrderStatus::kReserved) reserved_.insert_or_assign(order.order_id, order);
      else reserved_.erase(order.order_id);
    }
  }

  Result<std::optional<ProductSnapshot>> read_product(uint64_t product_id, const rocksdb::Snapshot* snapshot) {
    rocksdb::ReadOptions read_options;
    read_options.snapshot = snapshot;
    std::string value;
    rocksdb::Status status = db_->Get(read_options, handles_[kProducts], u64_key(product_id), &value);
    if (status.IsNotFound()) return std::optional<ProductSnapshot>();
    if (!status.ok()) return io_error(status);
    auto product = decode_product(value);
    if (!product) return product.error();
    return std::optional<ProductSnapshot>(std::move(*product));
  }

  rocksdb::DB* db_ = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::mutex commit_mutex_;  // serialises commits and id allocation
  uint64_t next_product_id_ = 1;
  std::atomic<uint32_t> next_node_number_{0};
  SeqWatch events_;  // advanced under commit_mutex_, read anywhere
  std::mutex reserved_mutex_;  // guards reserved_ (held for a lookup or one commit's orders)
  std::unordered_map<uint64_t, market::OrderRecord> reserved_;
};

}  // namespace

Result<WriteStorePtr> open_rocks_write_store(const std::string& directory) { return RocksWriteStore::open(directory); }

}  // namespace hawker::store
