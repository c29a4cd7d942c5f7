#include "live/seller_channel.h"

namespace hawker::live {

size_t SellerChannel::subscribe(const SubscriberPtr& subscriber) {
  std::lock_guard lock(mutex_);
  subscribers_.insert(subscriber);
  return subscribers_.size();
}

size_t SellerChannel::unsubscribe(const Subscriber* subscriber) {
  std::lock_guard lock(mutex_);
  subscribers_.erase(subscriber);
  return subscribers_.size();
}

uint64_t SellerChannel::publish(std::string_view type, const boost::json::object& body) {
  uint64_t seq;
  {
    std::lock_guard lock(mutex_);
    seq = ++seq_;
    outbox_.push(make_frame(type, seq, body), subscribers_.snapshot());
  }
  outbox_.drain(mutex_);
  return seq;
}

size_t SellerChannel::subscriber_count() const {
  std::lock_guard lock(mutex_);
  return subscribers_.size();
}

uint64_t SellerChannel::seq() const {
  std::lock_guard lock(mutex_);
  return seq_;
}

}  // namespace hawker::live
