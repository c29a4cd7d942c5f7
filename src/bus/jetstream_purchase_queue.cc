// JetStreamPurchaseQueue: see jetstream_purchase_queue.h for the layout and
// the contract. Implementation notes:
// - Publishes (key claims, requests), acks and NAKs go out as plain NATS
//   messages with a reply subject of their own under one inbox, and the
//   replies are collected on this thread (exchange()): a span costs one round
//   trip, no callbacks run on cnats' threads, and an ack is confirmed by the
//   server before ack() returns.
// - fetch() sends its own pull requests (CONSUMER.MSG.NEXT, no_wait with
//   the caller's wait as expires) to an inbox of this object and reads until
//   the server ends the request (404/408 status, or the batch is full), or
//   kPullEndGrace past its expiry (a server may drop an expired request
//   unanswered). A request left behind can only deliver into this object's
//   inbox, where the next fetch takes it; deliveries still in the inbox when
//   the object is destroyed come back after the ack wait. One fetch at a time
//   per object: fetch_mutex_.
// - exchange() takes a reply subscription from a pool (ReplyInboxes,
//   nats_common.h: cnats 3.4 crashes when subscriptions are made and
//   destroyed per exchange under load); the pool is cleared only after
//   natsConnection_Close() has stopped the read loop.
// - Fetched messages stay in leases_ (stream sequence -> latest delivery)
//   until acked or released; their reply subjects are what the server needs.
#include "bus/jetstream_purchase_queue.h"

#include <nats/nats.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <mutex>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/json.hpp>

#include "bus/logged_queue.h"
#include "bus/nats_common.h"
#include "core/ids.h"
#include "core/jwt.h"
#include "core/log.h"

namespace hawker::bus {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr size_t kAppendItemsMax = 65'536;   // one append's span
constexpr size_t kFetchBatchMax = 4'096;     // one fetch
constexpr int64_t kAckPendingMax = 1'000'000;  // leased at once, all workers
constexpr int kReplyPendingMax = 2 * 65'536 + 64;
constexpr milliseconds kFetchRetryPause{5};
// How long past its expiry a pull request's end status is waited for. The
// server (2.9 at least) sometimes drops an expired no_wait request without
// answering it; waiting the whole request timeout then held the deliveries
// already received (and the worker) for seconds. A request the server still
// holds is harmless: whatever it delivers later lands in the same inbox and
// is taken by the next fetch.
constexpr milliseconds kPullEndGrace{100};
// The queue's own reconnect pause (also NatsConnectOptions' default).
constexpr milliseconds kReconnectWait{250};
// Its cnats errors read "nats: <what>: <cnats' words>" (nats_error()).
constexpr std::string_view kComponent = "nats";

Error nats_failure(std::string_view what, natsStatus status, jsErrCode js_code = static_cast<jsErrCode>(0)) {
  return nats_error(kComponent, what, status, js_code);
}

// Idempotency keys are any bytes (the buyer, a newline, the client's key);
// subjects and header values are not. base64url keeps them exact and legal.
std::string key_token(std::string_view key) { return "k" + base64url_encode(key); }

// Bucket value: fingerprint, then the first request (encode_request).
std::string encode_key_record(const Enqueue& item) {
  std::string value;
  append_u64_be(value, item.fingerprint);
  value += encode_request(item.request);
  return value;
}

struct KeyRecord {
  uint64_t fingerprint = 0;
  market::PurchaseRequest request;
};

Result<KeyRecord> decode_key_record(std::string_view value) {
  if (value.size() < 8) return make_error(ErrorCode::kIo, "corrupt idempotency record");
  auto request = decode_request(value.substr(8));
  if (!request) return request.error();
  return KeyRecord{read_u64_be(value), std::move(*request)};
}

EnqueueResult answer_from(const KeyRecord& record, uint64_t fingerprint) {
  return EnqueueResult{fingerprint == record.fingerprint ? EnqueueOutcome::kDuplicate : EnqueueOutcome::kKeyReused,
                       record.request.order_id};
}

class JetStreamPurchaseQueue final : public PurchaseQueue {
 public:
  JetStreamPurchaseQueue(JetStreamOptions options, QueueOptions queue_options)
      : options_(std::move(options)),
        queue_options_(queue_options),
        stream_(options_.name_prefix + "_orders"),
        consumer_(options_.name_prefix + "_workers"),
        bucket_(options_.name_prefix + "_keys"),
        orders_filter_(options_.name_prefix + ".orders.>"),
        key_subject_prefix_("$KV." + bucket_ + "."),
        direct_get_subject_("$JS.API.DIRECT.GET." + stream_),
        next_subject_("$JS.API.CONSUMER.MSG.NEXT." + stream_ + "." + consumer_) {}

  ~JetStreamPurchaseQueue() override {
    if (connection_ != nullptr && connected()) hand_back_leases();
    for (auto& [sequence, msg] : leases_) natsMsg_Destroy(msg);
    leases_.clear();
    // Subscriptions go only once the read loop has stopped (see the notes above).
    if (connection_ != nullptr) natsConnection_Close(connection_);
    fetch_sub_.reset();
    replies_.clear();
    if (keys_ != nullptr) kvStore_Destroy(keys_);
    if (js_ != nullptr) jsCtx_Destroy(js_);
    if (connection_ != nullptr) natsConnection_Destroy(connection_);
  }

  Status open();

  Status append(std::span<const Enqueue> items, std::span<EnqueueResult> results) override;
  Result<std::optional<EnqueueResult>> find_key(std::string_view idempotency_key, uint64_t fingerprint) override;
  Result<std::optional<market::PurchaseRequest>> find_order(uint64_t order_id) override;
  Result<std::vector<Delivery>> fetch(size_t max, std::chrono::milliseconds wait) override;
  Status ack(std::span<const uint64_t> delivery_ids) override {
    Status done = confirm(delivery_ids, "+ACK");
    invalidate_depth();
    return done;
  }
  Status release(std::span<const uint64_t> delivery_ids) override {
    Status done = confirm(delivery_ids, "-NAK");
    invalidate_depth();
    return done;
  }
  size_t depth() override;
  Result<std::vector<market::PurchaseRequest>> unacked() override;

 private:
  Status ensure_stream();
  Status ensure_keys();
  Status align_key_ttl(int64_t ttl_ns);
  Status ensure_consumer();
  Result<std::vector<NatsMsgPtr>> exchange(const std::vector<NatsRequest>& requests);
  Result<std::vector<PubAck>> publish_all(const std::vector<NatsRequest>& requests);
  Result<std::optional<KeyRecord>> read_key(std::string_view key);
  // One message of the stream by a JSON get request (null: none).
  Result<NatsMsgPtr> direct_get(const std::string& body);
  Status confirm(std::span<const uint64_t> delivery_ids, std::string_view verb);
  void hand_back_leases();
  Status pull_round(size_t batch, milliseconds expires, std::vector<NatsMsgPtr>& received);
  std::vector<Delivery> take(std::vector<NatsMsgPtr>& received);
  void invalidate_depth() {
    std::lock_guard lock(depth_mutex_);
    ++depth_generation_;
    depth_fresh_ = false;
  }
  // Fails fast while cnats reconnects (a publish would only sit in its buffer).
  Status connected() const {
    if (natsConnection_Status(connection_) == NATS_CONN_STATUS_CONNECTED) return {};
    return make_error(ErrorCode::kUnavailable, "nats: not connected to " + options_.url + " (reconnecting)");
  }
  int request_timeout_ms() const { return static_cast<int>(options_.request_timeout.count()); }
  std::string order_subject(const market::PurchaseRequest& request) const {
    return options_.name_prefix + ".orders." + std::to_string(request.product_id) + "." +
           std::to_string(request.order_id);
  }

  const JetStreamOptions options_;
  const QueueOptions queue_options_;
  const std::string stream_;
  const std::string consumer_;
  const std::string bucket_;
  const std::string orders_filter_;
  const std::string key_subject_prefix_;
  const std::string direct_get_subject_;

  natsConnection* connection_ = nullptr;
  jsCtx* js_ = nullptr;
  kvStore* keys_ = nullptr;
  NatsSubscriptionPtr fetch_sub_;  // fetch_inbox_* : what pull requests deliver
  std::string fetch_inbox_;    // ends with '.'
  const std::string next_subject_;
  uint64_t fetch_round_ = 0;  // guarded by fetch_mutex_
  uint64_t recovered_through_ = 0;  // the stream's last sequence when this object opened

  ReplyInboxes replies_{kReplyPendingMax};  // exchange()'s reply subscriptions

  std::mutex append_mutex_;  // one append at a time: claims and publishes of a span stay together
  std::mutex fetch_mutex_;   // one fetch at a time
  std::mutex leases_mutex_;
  std::unordered_map<uint64_t, natsMsg*> leases_;  // stream sequence -> latest delivery (owned)

  std::mutex depth_mutex_;
  uint64_t depth_generation_ = 0;
  bool depth_fresh_ = false;
  size_t depth_known_ = 0;
  Clock::time_point depth_at_{};
};

Status JetStreamPurchaseQueue::open() {
  if (!valid_prefix(options_.name_prefix))
    return make_error(ErrorCode::kInvalid, "jetstream: name prefix must be 1-64 letters, digits, '-' or '_'");
  NatsConnectOptions connect;
  connect.url = options_.url;
  connect.client_name = "hawker-purchase-queue";
  connect.connect_timeout = options_.connect_timeout;
  // After a first connection, keep trying to reconnect; calls fail (bounded)
  // in the meantime.
  connect.reconnect_wait = kReconnectWait;
  connect.log_scope = nullptr;  // the queue logs no connection events
  auto connection = connect_nats(connect, kComponent);
  if (!connection) return connection.error();
  connection_ = connection->release();
  jsOptions js_options;
  jsOptions_Init(&js_options);
  js_options.Wait = options_.request_timeout.count();
  natsStatus status = natsConnection_JetStream(&js_, connection_, &js_options);
  if (status != NATS_OK) return nats_failure("jetstream context", status);
  if (Status made = ensure_stream(); !made) return made;
  if (Status made = ensure_keys(); !made) return made;
  if (Status made = ensure_consumer(); !made) return made;
  natsInbox* inbox = nullptr;
  status = natsInbox_Create(&inbox);
  if (status != NATS_OK) return nats_failure("inbox", status);
  fetch_inbox_ = std::string(inbox) + ".";
  natsInbox_Destroy(inbox);
  natsSubscription* sub = nullptr;
  status = natsConnection_SubscribeSync(&sub, connection_, (fetch_inbox_ + "*").c_str());
  if (status != NATS_OK) return nats_failure("subscribe for deliveries", status);
  fetch_sub_.reset(sub);
  natsSubscription_SetPendingLimits(sub, kReplyPendingMax, 256 << 20);
  return {};
}

Status JetStreamPurchaseQueue::ensure_stream() {
  jsStreamInfo* info = nullptr;
  jsErrCode js_code = static_cast<jsErrCode>(0);
  natsStatus status = js_GetStreamInfo(&info, js_, stream_.c_str(), nullptr, &js_code);
  if (status == NATS_NOT_FOUND || js_code == JSStreamNotFoundErr) {
    jsStreamConfig config;
    jsStreamConfig_Init(&config);
    const char* subjects[] = {orders_filter_.c_str()};
    config.Name = stream_.c_str();
    config.Subjects = subjects;
    config.SubjectsLen = 1;
    config.Retention = js_WorkQueuePolicy;  // an acked request leaves the stream
    config.Storage = js_FileStorage;
    config.Replicas = options_.replicas;
    config.Duplicates = std::chrono::duration_cast<std::chrono::nanoseconds>(options_.duplicate_window).count();
    config.AllowDirect = true;  // find_order() and unacked() read by subject
    js_code = static_cast<jsErrCode>(0);
    status = js_AddStream(&info, js_, &config, nullptr, &js_code);
  }
  if (status != NATS_OK) return nats_failure("stream " + stream_, status, js_code);
  recovered_through_ = info->State.LastSeq;
  jsStreamInfo_Destroy(info);
  return {};
}

Status JetStreamPurchaseQueue::ensure_keys() {
  const int64_t ttl_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(options_.key_ttl).count();
  natsStatus status = js_KeyValue(&keys_, js_, bucket_.c_str());
  if (status == NATS_OK) return align_key_ttl(ttl_ns);
  keys_ = nullptr;
  kvConfig config;
  kvConfig_Init(&config);
  config.Bucket = bucket_.c_str();
  config.History = 1;
  config.TTL = ttl_ns;
  config.StorageType = js_FileStorage;
  config.Replicas = options_.replicas;
  status = js_CreateKeyValue(&keys_, js_, &config);
  if (status != NATS_OK) {
    keys_ = nullptr;
    return nats_failure("key-value bucket " + bucket_, status);
  }
  return {};
}

// A bucket made with another TTL (or none, before key_ttl existed) gets this
// opener's: its stream's max age is the TTL.
Status JetStreamPurchaseQueue::align_key_ttl(int64_t ttl_ns) {
  const std::string stream = "KV_" + bucket_;
  jsStreamInfo* info = nullptr;
  jsErrCode js_code = static_cast<jsErrCode>(0);
  natsStatus status = js_GetStreamInfo(&info, js_, stream.c_str(), nullptr, &js_code);
  if (status != NATS_OK) return nats_failure("key-value bucket " + bucket_, status, js_code);
  if (info->Config == nullptr || info->Config->MaxAge == ttl_ns) {
    jsStreamInfo_Destroy(info);
    return {};
  }
  info->Config->MaxAge = ttl_ns;
  jsStreamInfo* updated = nullptr;
  status = js_UpdateStream(&updated, js_, info->Config, nullptr, &js_code);
  jsStreamInfo_Destroy(info);
  if (status != NATS_OK) return nats_failure("key-value bucket " + bucket_ + " ttl", status, js_code);
  jsStreamInfo_Destroy(updated);
  log_info("bus.jetstream.key_ttl", {{"bucket", bucket_}, {"ttl_s", ttl_ns / 1'000'000'000}});
  return {};
}

Status JetStreamPurchaseQueue::ensure_consumer() {
  jsConsumerConfig config;
  jsConsumerConfig_Init(&config);
  config.Durable = consumer_.c_str();
  config.DeliverPolicy = js_DeliverAll;
  config.AckPolicy = js_AckExplicit;
  config.AckWait = std::chrono::duration_cast<std::chrono::nanoseconds>(queue_options_.ack_wait).count();
  config.MaxDeliver = -1;
  config.FilterSubject = orders_filter_.c_str();
  config.MaxAckPending = kAckPendingMax;
  config.Replicas = options_.replicas;
  jsConsumerInfo* info = nullptr;
  jsErrCode js_code = static_cast<jsErrCode>(0);
  natsStatus status = js_GetConsumerInfo(&info, js_, stream_.c_str(), consumer_.c_str(), nullptr, &js_code);
  if (status == NATS_OK) {
    // The ack wait is the opener's choice (all workers should agree).
    const bool same = info->Config != nullptr && info->Config->AckWait == config.AckWait;
    jsConsumerInfo_Destroy(info);
    if (same) return {};
    info = nullptr;
    status = js_UpdateConsumer(&info, js_, stream_.c_str(), &config, nullptr, &js_code);
  } else if (status == NATS_NOT_FOUND || js_code == JSConsumerNotFoundErr) {
    js_code = static_cast<jsErrCode>(0);
    status = js_AddConsumer(&info, js_, stream_.c_str(), &config, nullptr, &js_code);
  }
  if (status != NATS_OK) return nats_failure("consumer " + consumer_, status, js_code);
  jsConsumerInfo_Destroy(info);
  return {};
}

Result<std::vector<NatsMsgPtr>> JetStreamPurchaseQueue::exchange(const std::vector<NatsRequest>& requests) {
  std::vector<NatsMsgPtr> replies(requests.size());
  if (requests.empty()) return replies;
  if (Status up = connected(); !up) return up.error();
  auto lease = replies_.take(connection_, kComponent);  // back to the pool however this returns
  if (!lease) return lease.error();
  const std::string inbox = lease->next_inbox();
  if (Status sent = publish_requests(connection_, requests, inbox, kComponent); !sent) return sent.error();
  // A "503 no responders" counts as an answer, and the exchange fails once
  // every request is answered one way or the other: returning at the first
  // one would leave the rest queued in this pooled subscription.
  if (Status got = collect_replies(lease->sub(), inbox, replies, options_.request_timeout, NoResponders::kCount,
                                   kComponent);
      !got)
    return got.error();
  return replies;
}

Result<std::vector<PubAck>> JetStreamPurchaseQueue::publish_all(const std::vector<NatsRequest>& requests) {
  auto replies = exchange(requests);
  if (!replies) return replies.error();
  std::vector<PubAck> acks;
  acks.reserve(replies->size());
  for (const NatsMsgPtr& reply : *replies) acks.push_back(parse_pub_ack(reply.get()));
  return acks;
}

Result<std::optional<KeyRecord>> JetStreamPurchaseQueue::read_key(std::string_view key) {
  if (Status up = connected(); !up) return up.error();
  kvEntry* entry = nullptr;
  const std::string token = key_token(key);
  natsStatus status = kvStore_Get(&entry, keys_, token.c_str());
  if (status == NATS_NOT_FOUND) return std::optional<KeyRecord>();
  if (status != NATS_OK) return nats_failure("read idempotency key", status);
  auto record = decode_key_record(
      std::string_view(static_cast<const char*>(kvEntry_Value(entry)), static_cast<size_t>(kvEntry_ValueLen(entry))));
  kvEntry_Destroy(entry);
  if (!record) return record.error();
  return std::optional<KeyRecord>(std::move(*record));
}

Status JetStreamPurchaseQueue::append(std::span<const Enqueue> items, std::span<EnqueueResult> results) {
  if (items.size() != results.size()) return make_error(ErrorCode::kInternal, "append: results size mismatch");
  if (items.size() > kAppendItemsMax) return make_error(ErrorCode::kInvalid, "append: span over kAppendItemsMax");
  if (items.empty()) return {};
  std::lock_guard lock(append_mutex_);
  // The first item of each key in the span claims it; later ones follow it.
  std::unordered_map<std::string_view, size_t> first_of_key;
  std::vector<size_t> claimants;
  for (size_t i = 0; i < items.size(); ++i)
    if (first_of_key.emplace(items[i].idempotency_key, i).second) claimants.push_back(i);

  // Wave 1: create-only claims in the key bucket.
  std::vector<NatsRequest> claims;
  claims.reserve(claimants.size());
  for (size_t i : claimants)
    claims.push_back(NatsRequest{key_subject_prefix_ + key_token(items[i].idempotency_key),
                              encode_key_record(items[i]), {}, 0, /*expect_new_subject=*/true});
  auto claimed = publish_all(claims);
  if (!claimed) return claimed.error();

  // The record each key stands for: this span's claim or the one stored.
  std::unordered_map<std::string_view, KeyRecord> record_of_key;
  std::vector<bool> won(items.size(), false);  // this item claimed its key
  std::vector<NatsRequest> publishes;
  publishes.reserve(claimants.size());
  for (size_t c = 0; c < claimants.size(); ++c) {
    const Enqueue& item = items[claimants[c]];
    const PubAck& ack = (*claimed)[c];
    KeyRecord record{item.fingerprint, item.request};
    if (ack.ok) {
      won[claimants[c]] = true;
    } else {
      if (ack.error_code != JSStreamWrongLastSequenceErr)
        return make_error(ErrorCode::kUnavailable, "jetstream: claim idempotency key: " + ack.description);
      auto stored = read_key(item.idempotency_key);
      if (!stored) return stored.error();
      if (!*stored) return make_error(ErrorCode::kIo, "jetstream: idempotency key claimed but unreadable");
      record = std::move(**stored);
    }
    // Also the stored request of a key claimed earlier: its claimant may have
    // died before publishing; the stream's dedupe drops it otherwise.
    publishes.push_back(NatsRequest{order_subject(record.request), encode_request(record.request),
                                 key_token(item.idempotency_key), 0, false});
    record_of_key.emplace(item.idempotency_key, std::move(record));
  }

  // Wave 2: the requests, deduplicated by the stream on Nats-Msg-Id.
  auto published = publish_all(publishes);
  invalidate_depth();
  if (!published) return published.error();
  for (const PubAck& ack : *published)
    if (!ack.ok) return make_error(ErrorCode::kUnavailable, "jetstream: publish request: " + ack.description);

  for (size_t i = 0; i < items.size(); ++i) {
    results[i] = won[i] ? EnqueueResult{EnqueueOutcome::kAppended, items[i].request.order_id}
                        : answer_from(record_of_key.at(items[i].idempotency_key), items[i].fingerprint);
  }
  return {};
}

Result<std::optional<EnqueueResult>> JetStreamPurchaseQueue::find_key(std::string_view idempotency_key,
                                                                      uint64_t fingerprint) {
  auto stored = read_key(idempotency_key);
  if (!stored) return stored.error();
  if (!*stored) return std::optional<EnqueueResult>();
  // A key can be claimed while its request never reached the stream (the
  // claimant's second wave failed, e.g. in a leader election, and it answered
  // 503). The buyer's retry looks the key up first and is answered with the
  // first order id, so that request must be queued now: publish it again
  // (the stream's dedupe drops it when it is there; past the dedupe window
  // checkout skips an order that already exists).
  const std::vector<NatsRequest> request = {NatsRequest{order_subject((*stored)->request),
                                                 encode_request((*stored)->request), key_token(idempotency_key), 0,
                                                 false}};
  std::lock_guard lock(append_mutex_);
  auto published = publish_all(request);
  invalidate_depth();
  if (!published) return published.error();
  if (!published->front().ok)
    return make_error(ErrorCode::kUnavailable, "jetstream: publish request: " + published->front().description);
  return std::optional<EnqueueResult>(answer_from(**stored, fingerprint));
}

Result<NatsMsgPtr> JetStreamPurchaseQueue::direct_get(const std::string& body) {
  if (Status up = connected(); !up) return up.error();
  natsMsg* raw = nullptr;
  natsStatus status = natsConnection_Request(&raw, connection_, direct_get_subject_.c_str(), body.data(),
                                             static_cast<int>(body.size()), request_timeout_ms());
  if (status != NATS_OK) return nats_failure("read stream " + stream_, status);
  NatsMsgPtr msg(raw);
  const char* value = nullptr;
  if (natsMsg_GetDataLength(raw) == 0 && natsMsgHeader_Get(raw, "Status", &value) == NATS_OK && value != nullptr) {
    if (std::strncmp(value, "404", 3) == 0) return NatsMsgPtr();
    const char* description = nullptr;
    natsMsgHeader_Get(raw, "Description", &description);
    return make_error(std::strncmp(value, "503", 3) == 0 ? ErrorCode::kUnavailable : ErrorCode::kIo,
                      std::string("jetstream: read stream: ") + value + " " + (description ? description : ""));
  }
  return msg;
}

Result<std::optional<market::PurchaseRequest>> JetStreamPurchaseQueue::find_order(uint64_t order_id) {
  // Requests live on P.orders.<product>.<order> until acked.
  auto got = direct_get("{\"last_by_subj\":\"" + options_.name_prefix + ".orders.*." + std::to_string(order_id) + "\"}");
  if (!got) return got.error();
  if (!*got) return std::optional<market::PurchaseRequest>();
  natsMsg* raw = got->get();
  auto request = decode_request(
      nats_data(raw));
  if (!request) return request.error();
  return std::optional<market::PurchaseRequest>(std::move(*request));
}

std::vector<Delivery> JetStreamPurchaseQueue::take(std::vector<NatsMsgPtr>& received) {
  std::vector<Delivery> out;
  out.reserve(received.size());
  for (NatsMsgPtr& owned : received) {
    natsMsg* msg = owned.get();
    jsMsgMetaData* meta = nullptr;
    natsStatus status = natsMsg_GetMetaData(&meta, msg);
    auto request = decode_request(
        nats_data(msg));
    if (status != NATS_OK || !request) {
      // Not ours (someone published on our subjects): it would come back forever.
      log_warn("bus.jetstream.bad_message", {{"subject", std::string(natsMsg_GetSubject(msg))}});
      if (const char* reply = natsMsg_GetReply(msg); reply != nullptr)
        natsConnection_PublishString(connection_, reply, "+TERM");
      if (meta != nullptr) jsMsgMetaData_Destroy(meta);
      continue;
    }
    const uint64_t sequence = meta->Sequence.Stream;
    uint64_t attempt = meta->NumDelivered;
    jsMsgMetaData_Destroy(meta);
    // Already in the stream when we opened: another process may have had it.
    if (sequence <= recovered_through_) attempt = std::max<uint64_t>(attempt, 2);
    {
      std::lock_guard lock(leases_mutex_);
      auto [slot, inserted] = leases_.try_emplace(sequence, msg);
      if (!inserted) {
        natsMsg_Destroy(slot->second);
        slot->second = msg;
      }
    }
    (void)owned.release();
    out.push_back(Delivery{sequence, static_cast<uint32_t>(std::min<uint64_t>(attempt, UINT32_MAX)),
                           std::move(*request)});
  }
  received.clear();
  return out;
}

// One pull request: the server hands out up to `batch` ready requests (or
// the first that become ready within `expires`) and ends the request with a
// status, which this waits for (bounded by expires + kPullEndGrace, or by
// the request timeout when it asked not to wait at all).
Status JetStreamPurchaseQueue::pull_round(size_t batch, milliseconds expires, std::vector<NatsMsgPtr>& received) {
  const std::string reply = fetch_inbox_ + std::to_string(++fetch_round_);
  std::string body = "{\"batch\":" + std::to_string(batch) + ",\"no_wait\":true";
  if (expires.count() > 0)
    body += ",\"expires\":" + std::to_string(std::chrono::duration_cast<std::chrono::nanoseconds>(expires).count());
  body += "}";
  natsStatus status = natsConnection_PublishRequest(connection_, next_subject_.c_str(), reply.c_str(), body.data(),
                                                    static_cast<int>(body.size()));
  if (status != NATS_OK) return nats_failure("pull request", status);
  const bool waits = expires.count() > 0;
  const auto until = Clock::now() + expires + (waits ? kPullEndGrace : options_.request_timeout);
  size_t delivered = 0;
  while (delivered < batch) {
    const auto left = std::chrono::duration_cast<milliseconds>(until - Clock::now()).count();
    if (left <= 0) {
      if (!received.empty() || waits) return {};
      return make_error(ErrorCode::kTimeout, "nats: pull request to " + consumer_ + " not answered within " +
                                                 std::to_string(options_.request_timeout.count()) + " ms");
    }
    natsMsg* raw = nullptr;
    status = natsSubscription_NextMsg(&raw, fetch_sub_.get(), left);
    if (status == NATS_TIMEOUT) continue;
    if (status != NATS_OK) return nats_failure("wait for deliveries", status);
    NatsMsgPtr msg(raw);
    const bool this_round = reply == natsMsg_GetSubject(raw);
    const char* code = nullptr;
    if (natsMsg_GetDataLength(raw) == 0 && natsMsgHeader_Get(raw, "Status", &code) == NATS_OK && code != nullptr) {
      if (!this_round || std::strncmp(code, "100", 3) == 0) continue;  // an older round's end; a heartbeat
      if (std::strncmp(code, "404", 3) == 0 || std::strncmp(code, "408", 3) == 0) return {};  // the end
      const char* description = nullptr;
      natsMsgHeader_Get(raw, "Description", &description);
      return make_error(ErrorCode::kUnavailable, std::string("jetstream: pull request to ") + consumer_ + ": " + code +
                                                     " " + (description != nullptr ? description : ""));
    }
    // Deliveries carry the stream's subject, not the request's: one to an
    // older round (a request that outlived its wait) counts here too. It is
    // leased to this object all the same.
    ++delivered;
    received.push_back(std::move(msg));
  }
  return {};
}

Result<std::vector<Delivery>> JetStreamPurchaseQueue::fetch(size_t max, std::chrono::milliseconds wait) {
  if (max == 0) return std::vector<Delivery>();
  const size_t batch = std::min(max, kFetchBatchMax);
  std::lock_guard lock(fetch_mutex_);
  const auto deadline = Clock::now() + wait;
  std::vector<NatsMsgPtr> received;
  while (true) {
    if (Status up = connected(); !up) return up.error();
    const auto round_start = Clock::now();
    const milliseconds left = std::max(std::chrono::duration_cast<milliseconds>(deadline - round_start), milliseconds(0));
    Status round = pull_round(batch, left, received);
    // Whatever arrived is leased to us: hand it out even if the round failed.
    if (!received.empty()) return take(received);
    if (!round) return round.error();
    const auto now = Clock::now();
    if (now >= deadline) return std::vector<Delivery>();
    // The server refused at once (e.g. other requests waiting): do not spin.
    if (now - round_start < kFetchRetryPause)
      std::this_thread::sleep_for(std::min<Clock::duration>(kFetchRetryPause, deadline - now));
  }
}

Status JetStreamPurchaseQueue::confirm(std::span<const uint64_t> delivery_ids, std::string_view verb) {
  std::vector<std::pair<uint64_t, NatsMsgPtr>> held;
  {
    std::lock_guard lock(leases_mutex_);
    for (uint64_t id : delivery_ids) {
      auto found = leases_.find(id);
      if (found == leases_.end()) continue;  // acked already, or never ours
      held.emplace_back(id, NatsMsgPtr(found->second));
      leases_.erase(found);
    }
  }
  if (held.empty()) return {};
  // In sequence order: released requests come back in append order.
  std::sort(held.begin(), held.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<NatsRequest> messages;
  messages.reserve(held.size());
  for (const auto& [id, msg] : held) {
    const char* reply = natsMsg_GetReply(msg.get());
    if (reply == nullptr) continue;
    messages.push_back(NatsRequest{reply, std::string(verb), {}, 0, false});
  }
  // The server answers each one once it has applied it.
  auto replies = exchange(messages);
  if (!replies) return replies.error();
  for (const NatsMsgPtr& reply : *replies)
    if (nats_reply_status(reply.get()) == "503")
      return make_error(ErrorCode::kUnavailable, "jetstream: consumer " + consumer_ + " does not answer acks");
  return {};
}

// A clean shutdown hands this object's leases back at once (as a restart of
// an embedded queue would) instead of leaving them to the ack wait. That
// includes messages the server sent to a pull request this object had
// stopped waiting for: they sit in the subscription, leased to us.
void JetStreamPurchaseQueue::hand_back_leases() {
  std::vector<NatsMsgPtr> received;
  for (size_t i = 0; fetch_sub_ && i < kFetchBatchMax; ++i) {  // bounded
    natsMsg* raw = nullptr;
    if (natsSubscription_NextMsg(&raw, fetch_sub_.get(), 0) != NATS_OK) break;  // 0: only what is there
    NatsMsgPtr msg(raw);
    if (natsMsg_GetDataLength(raw) > 0) received.push_back(std::move(msg));
  }
  (void)take(received);
  std::vector<uint64_t> held;
  {
    std::lock_guard lock(leases_mutex_);
    for (const auto& [sequence, msg] : leases_) held.push_back(sequence);
  }
  if (held.empty()) return;
  if (Status naked = confirm(held, "-NAK"); !naked)
    log_warn("bus.jetstream.close_nak_failed", {{"error", naked.error().message}});
}

size_t JetStreamPurchaseQueue::depth() {
  uint64_t generation = 0;
  {
    std::lock_guard lock(depth_mutex_);
    if (depth_fresh_ && Clock::now() - depth_at_ < options_.depth_cache) return depth_known_;
    generation = depth_generation_;
    if (!connected()) return depth_known_;  // depth() cannot fail: the last known value stands
  }
  jsConsumerInfo* info = nullptr;
  jsErrCode js_code = static_cast<jsErrCode>(0);
  natsStatus status = js_GetConsumerInfo(&info, js_, stream_.c_str(), consumer_.c_str(), nullptr, &js_code);
  std::lock_guard lock(depth_mutex_);
  if (status != NATS_OK) {
    // depth() cannot fail: the last known value stands (appends report the outage).
    log_warn("bus.jetstream.depth_failed", {{"error", nats_failure("consumer info", status, js_code).message}});
    return depth_known_;
  }
  const size_t value = static_cast<size_t>(info->NumPending) + static_cast<size_t>(std::max<int64_t>(info->NumAckPending, 0));
  jsConsumerInfo_Destroy(info);
  depth_known_ = value;
  if (generation == depth_generation_) {
    depth_fresh_ = true;
    depth_at_ = Clock::now();
  }
  return value;
}

Result<std::vector<market::PurchaseRequest>> JetStreamPurchaseQueue::unacked() {
  if (Status up = connected(); !up) return up.error();
  jsStreamInfo* info = nullptr;
  jsErrCode js_code = static_cast<jsErrCode>(0);
  natsStatus status = js_GetStreamInfo(&info, js_, stream_.c_str(), nullptr, &js_code);
  if (status != NATS_OK) return nats_failure("stream info", status, js_code);
  uint64_t sequence = std::max<uint64_t>(info->State.FirstSeq, 1);
  const uint64_t last = info->State.LastSeq;
  const uint64_t count = info->State.Msgs;
  jsStreamInfo_Destroy(info);
  std::vector<market::PurchaseRequest> out;
  // Work-queue retention: what is left in the stream is what is not acked.
  while (sequence <= last && out.size() <= count) {  // bounded by what was there
    auto got = direct_get("{\"seq\":" + std::to_string(sequence) + ",\"next_by_subj\":\"" + orders_filter_ + "\"}");
    if (!got) return got.error();
    if (!*got) break;
    natsMsg* raw = got->get();
    const char* found = nullptr;
    if (natsMsgHeader_Get(raw, "Nats-Sequence", &found) != NATS_OK || found == nullptr)
      return make_error(ErrorCode::kIo, "jetstream: direct get without Nats-Sequence");
    const uint64_t at = std::strtoull(found, nullptr, 10);
    if (at < sequence || at > last) break;
    auto request = decode_request(
        nats_data(raw));
    if (request) out.push_back(std::move(*request));
    sequence = at + 1;
  }
  return out;
}

}  // namespace

Result<PurchaseQueuePtr> open_jetstream_purchase_queue(const JetStreamOptions& options, QueueOptions queue_options) {
  auto queue = std::make_unique<JetStreamPurchaseQueue>(options, queue_options);
  if (Status opened = queue->open(); !opened) return opened.error();
  return PurchaseQueuePtr(std::move(queue));
}

}  // namespace hawker::bus
