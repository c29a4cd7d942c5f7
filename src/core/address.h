// Network addresses as flags and configuration give them: "HOST:PORT".
#pragma once

#include <cstdint>
#include <string>

namespace hawker {

// Splits "host:port" ("[::1]:8080" loses its brackets); false when malformed.
// Port 0 is accepted (bind: pick a free port); callers that need a real port
// check it.
bool split_host_port(const std::string& text, std::string& host, uint16_t& port);

}  // namespace hawker
