// cnats helpers: see nats_common.h.
#include "bus/nats_common.h"

#include <algorithm>
#include <cstring>

#include <boost/json.hpp>

#include "core/log.h"

namespace hawker::bus {
namespace {

void on_disconnected(natsConnection* connection, void* closure) {
  // Not when closing on purpose.
  if (!natsConnection_IsClosed(connection))
    log_warn(std::string(static_cast<const char*>(closure)) + ".disconnected");
}

void on_reconnected(natsConnection* /*connection*/, void* closure) {
  log_info(std::string(static_cast<const char*>(closure)) + ".reconnected");
}

}  // namespace

ErrorCode code_of(natsStatus status) {
  switch (status) {
    case NATS_TIMEOUT:
      return ErrorCode::kTimeout;
    case NATS_NO_SERVER:
    case NATS_CONNECTION_CLOSED:
    case NATS_CONNECTION_DISCONNECTED:
    case NATS_STALE_CONNECTION:
    case NATS_NO_RESPONDERS:
    case NATS_IO_ERROR:
    case NATS_CONNECTION_AUTH_FAILED:
    case NATS_NOT_PERMITTED:
      return ErrorCode::kUnavailable;
    case NATS_INVALID_ARG:
      return ErrorCode::kInvalid;
    default:
      return ErrorCode::kIo;
  }
}

Error nats_error(std::string_view component, std::string_view what, natsStatus status, jsErrCode js_code) {
  std::string message = std::string(component) + ": " + std::string(what) + ": " + natsStatus_GetText(status);
  const char* detail = nats_GetLastError(nullptr);
  if (detail != nullptr && *detail != '\0' && std::strcmp(detail, natsStatus_GetText(status)) != 0)
    message += std::string(" (") + detail + ")";
  if (js_code != 0) message += " [JetStream error " + std::to_string(static_cast<int>(js_code)) + "]";
  return make_error(code_of(status), std::move(message));
}

bool valid_prefix(const std::string& prefix) {
  if (prefix.empty() || prefix.size() > kNatsPrefixLengthMax) return false;
  return std::all_of(prefix.begin(), prefix.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
}

std::vector<std::string> split_servers(std::string_view list) {
  std::vector<std::string> servers;
  while (true) {
    const size_t comma = list.find(',');
    std::string_view entry = list.substr(0, comma);
    while (!entry.empty() && entry.front() == ' ') entry.remove_prefix(1);
    while (!entry.empty() && entry.back() == ' ') entry.remove_suffix(1);
    if (entry.empty() || servers.size() == kNatsServersMax) return {};
    servers.emplace_back(entry);
    if (comma == std::string_view::npos) return servers;
    list.remove_prefix(comma + 1);
  }
}

Result<NatsConnectionPtr> connect_nats(const NatsConnectOptions& options, std::string_view component) {
  const std::vector<std::string> servers = split_servers(options.url);
  if (servers.empty())
    return make_error(ErrorCode::kInvalid, std::string(component) + ": url must be 1 to " +
                                               std::to_string(kNatsServersMax) + " comma-separated server urls");
  std::vector<const char*> server_pointers;
  for (const std::string& server : servers) server_pointers.push_back(server.c_str());
  natsOptions* raw_options = nullptr;
  natsStatus status = natsOptions_Create(&raw_options);
  if (status != NATS_OK) return nats_error(component, "options", status);
  std::unique_ptr<natsOptions, void (*)(natsOptions*)> nats_options(raw_options, natsOptions_Destroy);
  const char* log_scope = options.log_scope;
  void* scope = const_cast<char*>(log_scope);
  status = natsOptions_SetServers(raw_options, server_pointers.data(), static_cast<int>(server_pointers.size()));
  if (status == NATS_OK) status = natsOptions_SetTimeout(raw_options, options.connect_timeout.count());
  if (status == NATS_OK && !options.client_name.empty())
    status = natsOptions_SetName(raw_options, options.client_name.c_str());
  if (status == NATS_OK && options.no_echo) status = natsOptions_SetNoEcho(raw_options, true);
  // After a first connection, keep trying to reconnect; callers fail fast meanwhile.
  if (status == NATS_OK) status = natsOptions_SetAllowReconnect(raw_options, true);
  if (status == NATS_OK) status = natsOptions_SetMaxReconnect(raw_options, -1);
  if (status == NATS_OK)
    status = natsOptions_SetReconnectWait(raw_options, static_cast<int64_t>(options.reconnect_wait.count()));
  if (status == NATS_OK) status = natsOptions_SetReconnectBufSize(raw_options, options.reconnect_buffer_bytes);
  if (status == NATS_OK && log_scope != nullptr)
    status = natsOptions_SetDisconnectedCB(raw_options, on_disconnected, scope);
  if (status == NATS_OK && log_scope != nullptr)
    status = natsOptions_SetReconnectedCB(raw_options, on_reconnected, scope);
  if (status != NATS_OK) return nats_error(component, "options for " + options.url, status);
  natsConnection* connection = nullptr;
  status = natsConnection_Connect(&connection, raw_options);
  if (status != NATS_OK) return nats_error(component, "connect to " + options.url, status);
  return NatsConnectionPtr(connection);
}

Status publish_requests(natsConnection* connection, const std::vector<NatsRequest>& requests,
                        const std::string& inbox, std::string_view component) {
  for (size_t i = 0; i < requests.size(); ++i) {
    const NatsRequest& request = requests[i];
    natsMsg* raw_msg = nullptr;
    const std::string reply = inbox + std::to_string(i);
    natsStatus status = natsMsg_Create(&raw_msg, request.subject.c_str(), reply.c_str(), request.data.data(),
                                       static_cast<int>(request.data.size()));
    NatsMsgPtr msg(raw_msg);
    if (status == NATS_OK && !request.msg_id.empty())
      status = natsMsgHeader_Set(raw_msg, "Nats-Msg-Id", request.msg_id.c_str());
    if (status == NATS_OK && request.expected_last_seq != 0)
      status = natsMsgHeader_Set(raw_msg, "Nats-Expected-Last-Sequence",
                                 std::to_string(request.expected_last_seq).c_str());
    if (status == NATS_OK && request.expect_new_subject)
      status = natsMsgHeader_Set(raw_msg, "Nats-Expected-Last-Subject-Sequence", "0");
    if (status == NATS_OK) status = natsConnection_PublishMsg(connection, raw_msg);
    if (status != NATS_OK) return nats_error(component, "publish to " + request.subject, status);
  }
  return {};
}

Status collect_replies(natsSubscription* sub, const std::string& inbox, std::vector<NatsMsgPtr>& replies,
                       std::chrono::milliseconds timeout, NoResponders no_responders, std::string_view component) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + timeout;
  size_t answered = 0;
  size_t unreachable = 0;  // "503 no responders" (kCount)
  while (answered + unreachable < replies.size()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) break;
    natsMsg* raw_reply = nullptr;
    const natsStatus status = natsSubscription_NextMsg(&raw_reply, sub, left);
    if (status == NATS_TIMEOUT) break;
    if (status == NATS_NO_RESPONDERS && no_responders == NoResponders::kCount) {
      ++unreachable;
      continue;
    }
    if (status != NATS_OK) return nats_error(component, "wait for replies", status);
    NatsMsgPtr reply(raw_reply);
    std::string_view subject = natsMsg_GetSubject(raw_reply);
    // A late reply to an earlier batch of this subscription is skipped.
    if (subject.size() <= inbox.size() || subject.substr(0, inbox.size()) != inbox) continue;
    size_t index = 0;
    bool digits = true;
    for (char c : subject.substr(inbox.size())) {
      digits = digits && c >= '0' && c <= '9';
      index = index * 10 + static_cast<size_t>(c - '0');
    }
    if (!digits || index >= replies.size() || replies[index]) continue;
    replies[index] = std::move(reply);
    ++answered;
  }
  if (unreachable > 0)
    return make_error(ErrorCode::kUnavailable, std::string(component) + ": " + std::to_string(unreachable) + " of " +
                                                   std::to_string(replies.size()) +
                                                   " requests found no responders (no stream leader?)");
  if (answered < replies.size())
    return make_error(ErrorCode::kTimeout, std::string(component) + ": " + std::to_string(replies.size() - answered) +
                                               " of " + std::to_string(replies.size()) +
                                               " requests unanswered within " + std::to_string(timeout.count()) +
                                               " ms");
  return {};
}

std::string_view nats_data(natsMsg* msg) {
  const char* data = natsMsg_GetData(msg);
  return std::string_view(data == nullptr ? "" : data, static_cast<size_t>(natsMsg_GetDataLength(msg)));
}

std::string nats_reply_status(natsMsg* msg) {
  const char* status = nullptr;
  if (natsMsg_GetDataLength(msg) != 0 || natsMsgHeader_Get(msg, "Status", &status) != NATS_OK || status == nullptr)
    return {};
  return std::string(status, strnlen(status, 3));
}

uint64_t json_u64(const boost::json::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  if (value == nullptr) return 0;
  if (value->is_uint64()) return value->as_uint64();
  if (value->is_int64() && value->as_int64() > 0) return static_cast<uint64_t>(value->as_int64());
  return 0;
}

PubAck parse_pub_ack(natsMsg* reply) {
  PubAck ack;
  if (nats_reply_status(reply) == "503") {
    ack.description = "no stream listens on this subject (no responders)";
    return ack;
  }
  boost::system::error_code ec;
  boost::json::value json = boost::json::parse(nats_data(reply), ec);
  const boost::json::object* object = ec ? nullptr : json.if_object();
  if (object == nullptr) {
    ack.description = "unreadable publish acknowledgement";
    return ack;
  }
  if (const auto* error = object->if_contains("error"); error != nullptr && error->is_object()) {
    const auto& fields = error->as_object();
    if (const auto* code = fields.if_contains("err_code"); code != nullptr && code->is_int64())
      ack.error_code = code->as_int64();
    if (const auto* text = fields.if_contains("description"); text != nullptr && text->is_string())
      ack.description = std::string(text->as_string());
    return ack;
  }
  ack.sequence = json_u64(*object, "seq");
  if (ack.sequence == 0) {
    ack.description = "publish acknowledgement without a sequence";
    return ack;
  }
  if (const auto* duplicate = object->if_contains("duplicate"); duplicate != nullptr && duplicate->is_bool())
    ack.duplicate = duplicate->as_bool();
  ack.ok = true;
  return ack;
}

Result<ReplyInboxes::Lease> ReplyInboxes::take(natsConnection* connection, std::string_view component) {
  {
    std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      std::unique_ptr<Inbox> inbox = std::move(idle_.back());
      idle_.pop_back();
      // Drop what earlier exchanges left (late replies, 503s of one that
      // timed out): a 503 cannot be told apart from this exchange's (bounded).
      for (int i = 0; i < pending_max_; ++i) {
        natsMsg* stale = nullptr;
        const natsStatus got = natsSubscription_NextMsg(&stale, inbox->sub.get(), 0);  // 0: only what is there
        if (got == NATS_OK) natsMsg_Destroy(stale);
        else if (got != NATS_NO_RESPONDERS) break;
      }
      return Lease(*this, std::move(inbox));
    }
  }
  auto inbox = std::make_unique<Inbox>();
  natsInbox* raw_inbox = nullptr;
  natsStatus status = natsInbox_Create(&raw_inbox);
  if (status != NATS_OK) return nats_error(component, "inbox", status);
  inbox->prefix = std::string(raw_inbox) + ".";
  natsInbox_Destroy(raw_inbox);
  natsSubscription* raw_sub = nullptr;
  status = natsConnection_SubscribeSync(&raw_sub, connection, (inbox->prefix + ">").c_str());
  if (status != NATS_OK) return nats_error(component, "subscribe to replies", status);
  inbox->sub.reset(raw_sub);
  natsSubscription_SetPendingLimits(raw_sub, pending_max_, 256 << 20);
  return Lease(*this, std::move(inbox));
}

void ReplyInboxes::give_back(std::unique_ptr<Inbox> inbox) {
  std::lock_guard lock(mutex_);
  idle_.push_back(std::move(inbox));
}

void ReplyInboxes::clear() {
  std::lock_guard lock(mutex_);
  idle_.clear();
}

}  // namespace hawker::bus
