// The demo catalog: a few sellers and products created through the public
// HTTP API of a running server, so the demo exercises the real path.
#pragma once

#include <cstdint>
#include <string>

#include "core/result.h"

namespace hawker::app {

struct DemoSeed {
  std::string show_id;       // the demo's live show (seller 'ava')
  std::string stream_key;    // its key, for the synthetic source
  std::string rtmp_url;      // ingest URL with the key ("" when the server has no RTMP ingest)
  std::string playback_url;  // the show's master playlist
  std::string pin_product;   // the product to pin once the show is live
};

// Seeds the catalog and the demo show unless the server already has them.
// `secret` signs the demo tokens.
Result<DemoSeed> seed_demo(const std::string& host, uint16_t port, const std::string& secret);

// Prints the URLs and tokens to try.
void print_demo(const std::string& host, uint16_t port, const std::string& secret, const DemoSeed& seed);

// Asks the server to publish its synthetic test source to the demo show.
Status start_demo_stream(const std::string& host, uint16_t port, const std::string& secret, const DemoSeed& seed);

// Once the show is live (waits up to timeout_ms), pins the demo product, so
// the stream carries a product moment.
Status pin_when_live(const std::string& host, uint16_t port, const std::string& secret, const DemoSeed& seed,
                     int timeout_ms);

}  // namespace hawker::app
