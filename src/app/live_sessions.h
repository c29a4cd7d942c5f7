// The WebSocket endpoints of the live layer, gluing the transport
// (http::WebSocketConnection) to the hub (live::LiveHub):
//
//   GET /v1/shows/{id}/live   a viewer (guest, or signed in to chat and to get
//                             their `order` frames); client frames `chat
//                             {text}`, `resume {since_seq}`, and for the show's
//                             seller `delete_chat {id}` and `mute {user}`.
//   GET /v1/sellers/me/live   a seller's notices.
//
// live_upgrade() decides the handshake: Origin allowlist (403), token (401 on
// a bad one; none means guest), unknown show (404). Sessions answer bad client
// frames with an `error` frame and close (1008) after kClientErrorsMax of them.
// Thread-safety: a session's WebSocket callbacks run on its connection's
// strand; deliver() may come from any thread (it only queues).
#pragma once

#include <string>
#include <vector>

#include "core/clock.h"
#include "core/token_cache.h"
#include "http/server.h"
#include "live/hub.h"

namespace hawker::app {

inline constexpr int kClientErrorsMax = 10;

struct LiveEndpointContext {
  live::LiveHub* hub = nullptr;
  TokenCache* tokens = nullptr;
  const Clock* clock = nullptr;
  // Browser origins allowed besides the server's own (http://<Host>).
  std::vector<std::string> allowed_origins;
};

http::UpgradeDecision live_upgrade(const LiveEndpointContext& context, const http::Request& request);

}  // namespace hawker::app
