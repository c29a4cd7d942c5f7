#include "app/live_relay.h"

#include <string_view>
#include <utility>

#include "core/log.h"

namespace hawker::app {

Result<std::unique_ptr<NatsLiveRelay>> NatsLiveRelay::open(const bus::NatsRelayOptions& options,
                                                           live::LiveHub& hub) {
  auto relay = bus::open_nats_relay(options, [&hub](std::string_view bytes) {
    Status applied = hub.on_relayed(bytes);
    if (applied) return;
    // A show not open on this gateway is expected; anything else is worth a look.
    const bool expected = applied.error().code == ErrorCode::kNotFound;
    log(expected ? LogLevel::kDebug : LogLevel::kWarn, "live.relay_refused",
        {{"error", applied.error().message}, {"bytes", bytes.size()}});
  });
  if (!relay) return relay.error();
  std::unique_ptr<NatsLiveRelay> adapter(new NatsLiveRelay(std::move(*relay)));
  hub.set_relay(adapter.get());
  return adapter;
}

}  // namespace hawker::app
