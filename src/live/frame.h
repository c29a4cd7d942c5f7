// Frames: the JSON text messages the live layer sends to WebSocket clients.
//
// A frame is serialised once and shared, immutable, by every connection that
// sends it (DESIGN.md: one serialisation per broadcast), so it travels as a
// shared_ptr to a const string. Every frame is a JSON object that starts with
// "type" and "seq"; the rest is the body of that type.
//
// Thread-safety: a Frame is immutable and may be read from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

namespace hawker::live {

using Frame = std::shared_ptr<const std::string>;  // the same type as http::Frame

// Builds {"type": type, "seq": seq, ...body} and serialises it once.
// Precondition: body has no "type" or "seq" key of its own.
Frame make_frame(std::string_view type, uint64_t seq, const boost::json::object& body);

}  // namespace hawker::live
