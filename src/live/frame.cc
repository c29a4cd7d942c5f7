#include "live/frame.h"

#include <cassert>

#include <boost/json/serialize.hpp>

namespace hawker::live {

Frame make_frame(std::string_view type, uint64_t seq, const boost::json::object& body) {
  assert(!body.contains("type") && !body.contains("seq"));
  boost::json::object frame;
  frame.reserve(body.size() + 2);
  frame.emplace("type", type);
  frame.emplace("seq", seq);
  for (const auto& field : body) frame.emplace(field.key(), field.value());
  return std::make_shared<const std::string>(boost::json::serialize(frame));
}

}  // namespace hawker::live
