// cnats helpers: see nats_common.h.
#include "bus/nats_common.h"

#include <algorithm>
#include <cstring>

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
  void* scope = const_cast<char*>(options.log_scope);
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
  if (status == NATS_OK) status = natsOptions_SetDisconnectedCB(raw_options, on_disconnected, scope);
  if (status == NATS_OK) status = natsOptions_SetReconnectedCB(raw_options, on_reconnected, scope);
  if (status != NATS_OK) return nats_error(component, "options for " + options.url, status);
  natsConnection* connection = nullptr;
  status = natsConnection_Connect(&connection, raw_options);
  if (status != NATS_OK) return nats_error(component, "connect to " + options.url, status);
  return NatsConnectionPtr(connection);
}

}  // namespace hawker::bus
