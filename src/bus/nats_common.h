// cnats helpers shared by the NATS adapters of the bus layer (NatsRelay,
// JetStreamEventLog; JetStreamPurchaseQueue moves here later): how a cnats
// status becomes an ErrorCode, how an error message is worded, what a name
// prefix may contain, and how a connection is opened to a comma-separated
// list of servers with bounded connect and reconnect-forever.
//
// Error mapping (code_of): a timeout is kTimeout; a server that cannot be
// reached, a closed/disconnected/stale connection, no responders, I/O, auth
// and permission failures are kUnavailable; an invalid argument is kInvalid;
// everything else is kIo.
//
// Stateless functions; safe from any thread. nats_error() reads the calling
// thread's last cnats error, so call it on the thread whose call failed.
#pragma once

#include <nats/nats.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

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
// more than kNatsServersMax.
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
  const char* log_scope = "bus.nats";
};

struct NatsConnectionCloser {
  void operator()(natsConnection* connection) const {
    natsConnection_Close(connection);
    natsConnection_Destroy(connection);
  }
};
using NatsConnectionPtr = std::unique_ptr<natsConnection, NatsConnectionCloser>;

// Connects to the first reachable server of the list (bounded by
// connect_timeout per server); after that cnats reconnects forever to any of
// them. kInvalid: a bad url list; kUnavailable/kTimeout: no server answered.
Result<NatsConnectionPtr> connect_nats(const NatsConnectOptions& options, std::string_view component);

}  // namespace hawker::bus
