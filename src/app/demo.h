// The demo catalog: a few sellers and products created through the public
// HTTP API of a running server, so the demo exercises the real path.
#pragma once

#include <cstdint>
#include <string>

#include "core/result.h"

namespace hawker::app {

// Seeds the catalog unless the server already has products, then prints the
// URLs and tokens to try. `secret` signs the demo tokens.
Status seed_demo(const std::string& host, uint16_t port, const std::string& secret);

}  // namespace hawker::app
