// NatsRelay over cnats: see nats_relay.h for the contract. Implementation
// notes:
// - One connection per relay object, with NoEcho (the server does not send a
//   connection its own messages) and an origin header checked on receipt.
// - The subscription is asynchronous: cnats runs on_message on its delivery
//   thread. The Receiver (handler, origin, stop flag) is shared between this
//   object and that thread; cnats' completion callback frees the thread's
//   reference once the last handler call has returned. The handler runs under
//   Receiver::mutex, which the destructor takes to set `closing`, so no
//   handler call runs after the destructor's first step.
#include "bus/nats_relay.h"

#include "bus/nats_common.h"

#include <nats/nats.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <exception>
#include <mutex>
#include <utility>
#include <vector>

#include "core/ids.h"
#include "core/log.h"

namespace hawker::bus {
namespace {

constexpr size_t kOriginBytes = 8;  // random bytes of an origin id (16 hex digits)
constexpr const char* kOriginHeader = "Hawker-Origin";
constexpr std::string_view kComponent = "nats relay";

Error nats_error(std::string_view what, natsStatus status) { return bus::nats_error(kComponent, what, status); }

struct Receiver {
  NatsRelayHandler handler;
  std::string origin;
  std::mutex mutex;  // held while the handler runs
  bool closing = false;
};
using ReceiverRef = std::shared_ptr<Receiver>;

void on_message(natsConnection* /*connection*/, natsSubscription* /*sub*/, natsMsg* msg, void* closure) {
  Receiver& receiver = **static_cast<ReceiverRef*>(closure);
  const char* origin = nullptr;
  const bool own = natsMsgHeader_Get(msg, kOriginHeader, &origin) == NATS_OK && origin != nullptr &&
                   receiver.origin == origin;
  if (!own) {
    const char* data = natsMsg_GetData(msg);
    const std::string_view bytes(data == nullptr ? "" : data, static_cast<size_t>(natsMsg_GetDataLength(msg)));
    std::lock_guard lock(receiver.mutex);
    if (!receiver.closing) {
      // Nothing may unwind into cnats' C thread.
      try {
        receiver.handler(bytes);
      } catch (const std::exception& error) {
        log_error("bus.nats_relay.handler_failed", {{"error", error.what()}});
      } catch (...) {
        log_error("bus.nats_relay.handler_failed", {{"error", "unknown exception"}});
      }
    }
  }
  natsMsg_Destroy(msg);
}

void on_complete(void* closure) { delete static_cast<ReceiverRef*>(closure); }

class NatsCoreRelay final : public NatsRelay {
 public:
  NatsCoreRelay(NatsRelayOptions options, NatsRelayHandler handler)
      : options_(std::move(options)),
        subject_prefix_(options_.name_prefix + ".live."),
        receiver_(std::make_shared<Receiver>()) {
    receiver_->handler = std::move(handler);
    receiver_->origin = random_hex(kOriginBytes);
  }

  ~NatsCoreRelay() override {
    {
      std::lock_guard lock(receiver_->mutex);  // waits for a handler call in progress
      receiver_->closing = true;
    }
    // Closing the connection first stops its reader thread and closes the
    // subscription with it (an unsubscribe racing the reader is avoided).
    if (connection_ != nullptr) natsConnection_Close(connection_);
    if (sub_ != nullptr) natsSubscription_Destroy(sub_);
    if (connection_ != nullptr) natsConnection_Destroy(connection_);
  }

  Status open();

  void publish(uint64_t show_id, std::string bytes) override {
    if (natsConnection_Status(connection_) != NATS_CONN_STATUS_CONNECTED) return drop("not connected");
    if (static_cast<int64_t>(bytes.size()) > max_payload_) return drop("message larger than the server's max payload");
    const std::string subject = subject_prefix_ + std::to_string(show_id);
    natsMsg* raw = nullptr;
    natsStatus status =
        natsMsg_Create(&raw, subject.c_str(), nullptr, bytes.data(), static_cast<int>(bytes.size()));
    if (status == NATS_OK) status = natsMsgHeader_Set(raw, kOriginHeader, receiver_->origin.c_str());
    if (status == NATS_OK) status = natsConnection_PublishMsg(connection_, raw);
    natsMsg_Destroy(raw);
    if (status != NATS_OK) return drop(natsStatus_GetText(status));
    warned_.store(false, std::memory_order_relaxed);
  }

  bool connected() const override {
    return natsConnection_Status(connection_) == NATS_CONN_STATUS_CONNECTED;
  }
  uint64_t dropped_published() const override { return dropped_.load(std::memory_order_relaxed); }
  uint64_t dropped_received() const override {
    int64_t dropped = 0;
    if (sub_ == nullptr || natsSubscription_GetDropped(sub_, &dropped) != NATS_OK) return 0;
    return static_cast<uint64_t>(dropped);
  }
  const std::string& origin() const override { return receiver_->origin; }

 private:
  // Counts the drop; logs the first of a run (until a publish succeeds again).
  void drop(std::string_view why) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    if (!warned_.exchange(true, std::memory_order_relaxed))
      log_warn("bus.nats_relay.publish_dropped", {{"prefix", options_.name_prefix}, {"reason", why}});
  }

  const NatsRelayOptions options_;
  const std::string subject_prefix_;  // "<prefix>.live."
  ReceiverRef receiver_;
  natsConnection* connection_ = nullptr;
  natsSubscription* sub_ = nullptr;
  int64_t max_payload_ = 0;
  std::atomic<uint64_t> dropped_{0};
  std::atomic<bool> warned_{false};
};

Status NatsCoreRelay::open() {
  NatsConnectOptions connect;
  connect.url = options_.url;
  connect.client_name = "hawker-live-relay";
  connect.connect_timeout = options_.connect_timeout;
  connect.no_echo = true;
  connect.log_scope = "bus.nats_relay";
  auto connected = connect_nats(connect, kComponent);
  if (!connected) return connected.error();
  // The destructor closes it before destroying the subscription.
  connection_ = connected->release();
  max_payload_ = natsConnection_GetMaxPayload(connection_);

  auto* closure = new ReceiverRef(receiver_);
  const std::string filter = subject_prefix_ + ">";
  natsStatus status = natsConnection_Subscribe(&sub_, connection_, filter.c_str(), on_message, closure);
  if (status != NATS_OK) {
    sub_ = nullptr;
    delete closure;
    return nats_error("subscribe to " + filter, status);
  }
  // From here on cnats' thread owns `closure` and frees it when the
  // subscription closes (if this fails, the reference is left behind).
  status = natsSubscription_SetOnCompleteCB(sub_, on_complete, closure);
  if (status == NATS_OK)
    status = natsSubscription_SetPendingLimits(sub_, options_.pending_messages_max, options_.pending_bytes_max);
  // The subscription reaches the server before open() returns.
  if (status == NATS_OK) status = natsConnection_FlushTimeout(connection_, options_.connect_timeout.count());
  if (status != NATS_OK) return nats_error("subscription " + filter, status);
  return ok_status();
}

}  // namespace

Result<NatsRelayPtr> open_nats_relay(const NatsRelayOptions& options, NatsRelayHandler handler) {
  if (!valid_prefix(options.name_prefix))
    return make_error(ErrorCode::kInvalid, "nats relay: name prefix must be 1-64 letters, digits, '-' or '_'");
  if (!handler) return make_error(ErrorCode::kInvalid, "nats relay: no handler");
  if (options.pending_messages_max <= 0 || options.pending_bytes_max <= 0)
    return make_error(ErrorCode::kInvalid, "nats relay: pending limits must be positive");
  auto relay = std::make_unique<NatsCoreRelay>(options, std::move(handler));
  if (Status opened = relay->open(); !opened) return opened.error();
  return NatsRelayPtr(std::move(relay));
}

}  // namespace hawker::bus
