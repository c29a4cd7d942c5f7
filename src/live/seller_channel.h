// SellerChannel: the notices of one seller, sent to every connection that
// seller has open on `GET /v1/sellers/me/live`. Frames carry a per-seller
// increasing seq; there is no history (a seller who reconnects reads the
// current state through the HTTP API).
//
// Thread-safety: thread-safe, like ShowChannel: one mutex, never held while
// calling Subscriber::deliver; frames reach each subscriber in seq order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "live/fanout.h"
#include "live/subscriber.h"

namespace hawker::live {

class SellerChannel {
 public:
  explicit SellerChannel(std::string seller) : seller_(std::move(seller)) {}
  SellerChannel(const SellerChannel&) = delete;
  SellerChannel& operator=(const SellerChannel&) = delete;

  // Return the number of connections left.
  size_t subscribe(const SubscriberPtr& subscriber);
  size_t unsubscribe(const Subscriber* subscriber);

  // Broadcasts {type, seq, ...body} to every connection; returns the seq.
  uint64_t publish(std::string_view type, const boost::json::object& body);

  const std::string& seller() const { return seller_; }
  size_t subscriber_count() const;
  uint64_t seq() const;

 private:
  const std::string seller_;
  mutable std::mutex mutex_;
  uint64_t seq_ = 0;
  SubscriberSet subscribers_;
  Outbox outbox_;
};

}  // namespace hawker::live
