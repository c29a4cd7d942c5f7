// NatsLiveRelay: the live hub's relay port (live::LiveRelay) on the bus's
// NATS core relay (bus::NatsRelay): what the hub publishes goes to the show's
// subject, and what the other gateways publish is applied to the hub
// (LiveHub::on_relayed; a refused message is logged and dropped).
//
// open() connects, subscribes and calls hub.set_relay(): call it before the
// gateway serves (after its startup open_show calls, or those are published
// too: harmless, every gateway loads the same shows). The relay must outlive
// the hub's serving (destroy it after the servers stop); the hub must outlive
// the relay (received messages are applied to it until the destructor).
//
// Thread-safety: as bus::NatsRelay; publish() from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "bus/nats_relay.h"
#include "core/result.h"
#include "live/hub.h"
#include "live/relay.h"

namespace hawker::app {

class NatsLiveRelay final : public live::LiveRelay {
 public:
  static Result<std::unique_ptr<NatsLiveRelay>> open(const bus::NatsRelayOptions& options, live::LiveHub& hub);

  void publish(uint64_t show_id, std::string bytes) override { relay_->publish(show_id, std::move(bytes)); }
  bus::NatsRelay& bus_relay() { return *relay_; }

 private:
  explicit NatsLiveRelay(bus::NatsRelayPtr relay) : relay_(std::move(relay)) {}
  bus::NatsRelayPtr relay_;
};

}  // namespace hawker::app
