// cnats helpers shared by the NATS adapters of the bus layer (NatsRelay,
// JetStreamEventLog, JetStreamPurchaseQueue): how a cnats status becomes an
// ErrorCode, how an error message is worded, what a name prefix may contain,
// how a connection is opened to a comma-separated list of servers with
// bounded connect and reconnect-forever, owners of cnats messages and
// subscriptions, how a batch of requests goes out with one reply subject
// each and its answers are collected on the calling thread (one round trip,
// no cnats callbacks; the caller owns the reply subscription), and how a
// JetStream reply (status-only or publish acknowledgement) is read.
//
// Error mapping (code_of): a timeout is kTimeout; a server that cannot be
// reached, a closed/disconnected/stale connection, no responders, I/O, auth
// and permission failures are kUnavailable; an invalid argument is kInvalid;
// everything else is kIo.
//
// Stateless functions; safe from any thread (collect_replies(): one caller
// per subscription at a time). nats_error() reads the calling
// thread's last cnats error, so call it on the thread whose call failed.
#pragma once

#include <nats/nats.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "core/result.h"

namespace hawker::bus {

constexpr size_t kNatsPrefixLengthMax = 64;
constexpr size_t kNatsServersMax = 32;

ErrorCode code_of(natsStatus status);

// "<component>: <what>: <cnats status text> (<last error detail>) [JetStream error N]".
Error nats_error(std::string_view component, std::string_view what, natsStatus status,
                 jsErrCode js_code = static_cast<jsErrCode>(0));

// 1 to kNatsPrefixLengthMax letters, digits, '-' or '_' (legal in stream,
// consumer and bucket names and in subject tokens).
bool valid_prefix(const std::string& prefix);

// "a, b,c" -> {"a", "b", "c"}; empty when an entry is empty or there are
// more than kNatsServersMax. cnats 3.4's natsOptions_SetURL takes one URL
// only (given a list it connects to nothing, "No server available"), so
// connect_nats() hands the list to natsOptions_SetServers instead.
std::vector<std::string> split_servers(std::string_view list);

struct NatsConnectOptions {
  std::string url;                       // one server url or a comma-separated list
  std::string client_name;               // shown by the server (connz)
  std::chrono::milliseconds connect_timeout{2'000};
  std::chrono::milliseconds reconnect_wait{250};
  int reconnect_buffer_bytes = 8 << 20;  // cnats' buffer while a publish races a disconnect
  bool no_echo = false;                  // the server does not send this connection its own messages
  // Log events "<log_scope>.disconnected" / ".reconnected". Must be a string
  // literal (or outlive the connection): cnats' callbacks hold the pointer.
  // nullptr: no callbacks, nothing logged.
  const char* log_scope = "bus.nats";
};

struct NatsConnectionCloser {
  void operator()(natsConnection* connection) const {
    natsConnection_Close(connection);
    natsConnection_Destroy(connection);
  }
};
using NatsConnectionPtr = std::unique_ptr<natsConnection, NatsConnectionCloser>;

struct NatsMsgDeleter {
  void operator()(natsMsg* msg) const { natsMsg_Destroy(msg); }
};
using NatsMsgPtr = std::unique_ptr<natsMsg, NatsMsgDeleter>;

// Unsubscribes and destroys. Only while the connection's read loop cannot
// be delivering to it, or on a cnats with nats.c PR #638 (3.6+): see the
// notes in jetstream_purchase_queue.cc.
struct NatsSubscriptionDeleter {
  void operator()(natsSubscription* sub) const {
    natsSubscription_Unsubscribe(sub);
    natsSubscription_Destroy(sub);
  }
};
using NatsSubscriptionPtr = std::unique_ptr<natsSubscription, NatsSubscriptionDeleter>;

// Connects to the first reachable server of the list (bounded by
// connect_timeout per server); after that cnats reconnects forever to any of
// them. kInvalid: a bad url list; kUnavailable/kTimeout: no server answered.
Result<NatsConnectionPtr> connect_nats(const NatsConnectOptions& options, std::string_view component);

// One request of a batch (publish_requests()).
struct NatsRequest {
  std::string subject;
  std::string data;
  std::string msg_id;               // Nats-Msg-Id, when not empty
  uint64_t expected_last_seq = 0;   // Nats-Expected-Last-Sequence, when not 0
  bool expect_new_subject = false;  // Nats-Expected-Last-Subject-Sequence 0: create-only
};

// Publishes requests[i] with the reply subject `inbox` + i (`inbox` ends
// with '.'), every one before any answer is read: a batch costs one round
// trip. collect_replies() then reads the answers.
Status publish_requests(natsConnection* connection, const std::vector<NatsRequest>& requests,
                        const std::string& inbox, std::string_view component);

// What collect_replies() does with a "503 no responders": cnats hands it over
// as NATS_NO_RESPONDERS and drops the message, so which request it answered
// is unknown. kFail: the wait fails at once. kCount: it counts as one answer
// and the batch fails (kUnavailable) once every request is answered one way
// or the other (a subscription reused for later batches is left clean).
enum class NoResponders { kFail, kCount };

// Reads `sub` (subscribed to `inbox` + "*" or ">") until every request of the
// batch is answered or `timeout` has passed: the answer to request i goes to
// replies[i] (replies.size() is the batch's size). Replies to other batches
// of the same subscription, and second answers, are dropped. kTimeout when
// some went unanswered.
Status collect_replies(natsSubscription* sub, const std::string& inbox, std::vector<NatsMsgPtr>& replies,
                       std::chrono::milliseconds timeout, NoResponders no_responders, std::string_view component);

// A message's payload ("" when it has none).
std::string_view nats_data(natsMsg* msg);

// A status-only reply (no data, a Status header): its code, "404", "503",
// ...; empty otherwise.
std::string nats_reply_status(natsMsg* msg);

// A JetStream API answer's unsigned field: 0 when missing, negative or not a number.
uint64_t json_u64(const boost::json::object& object, std::string_view key);

// A JetStream publish acknowledgement (or its refusal).
struct PubAck {
  bool ok = false;
  bool duplicate = false;
  uint64_t sequence = 0;  // the stream sequence (never 0 when ok)
  int64_t error_code = 0;  // JetStream err_code when !ok
  std::string description;
};

// Reads the reply to a JetStream publish: an acknowledgement, a JetStream
// error, a "503 no responders" or bytes that are none of these (!ok, with a
// description).
PubAck parse_pub_ack(natsMsg* reply);

// Reply subscriptions for exchanges of many requests (publish_requests() +
// collect_replies()), reused instead of made and destroyed per exchange.
// cnats 3.4 (Debian's) has a race, fixed upstream in nats.c PR #638 (3.6),
// where its read loop locks a subscription the application is destroying: a
// subscription made and destroyed per exchange crashed processes (heap
// corruption, a SEGV in natsConn_processMsg) within seconds under the 3-node
// cluster test. The pool holds at most one subscription per exchange running
// at once; clear() destroys them, and may be called only once the
// connection is closed (natsConnection_Close has stopped the read loop).
// Exchanges through a pooled subscription must use NoResponders::kCount, so
// none of their answers is left behind for the next user.
// Thread-safe.
class ReplyInboxes {
 public:
  struct Inbox {
    NatsSubscriptionPtr sub;
    std::string prefix;  // the subscription is on prefix + ">"; ends with '.'
    uint64_t round = 0;
  };
  // A subscription taken from the pool, given back when the lease ends.
  class Lease {
   public:
    Lease(ReplyInboxes& owner, std::unique_ptr<Inbox> inbox) : owner_(&owner), inbox_(std::move(inbox)) {}
    Lease(Lease&&) = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (inbox_) owner_->give_back(std::move(inbox_));
    }
    natsSubscription* sub() const { return inbox_->sub.get(); }
    // A fresh reply prefix for one exchange (ends with '.'): late answers to
    // an earlier exchange on this subscription carry another one.
    std::string next_inbox() { return inbox_->prefix + std::to_string(++inbox_->round) + "."; }

   private:
    ReplyInboxes* owner_;
    std::unique_ptr<Inbox> inbox_;
  };

  // `pending_max`: the most replies one exchange may leave queued.
  explicit ReplyInboxes(int pending_max) : pending_max_(pending_max) {}
  // An idle subscription emptied of earlier exchanges' leftovers, or a new one.
  Result<Lease> take(natsConnection* connection, std::string_view component);
  void clear();

 private:
  void give_back(std::unique_ptr<Inbox> inbox);
  const int pending_max_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<Inbox>> idle_;
};

}  // namespace hawker::bus
