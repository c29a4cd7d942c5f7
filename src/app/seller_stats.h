// SellerStats: the `stats` frame of the seller channel, at most once a
// second per connected seller: viewers on the seller's shows, confirmed orders
// per second (over the last interval), revenue so far, and the stock of each
// of the seller's products. Read from the hub and the read side; runs on the
// live ticker thread. Thread-compatible (one caller).
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>

#include "live/hub.h"
#include "store/read_store.h"

namespace hawker::app {

inline constexpr int64_t kStatsIntervalUs = 1'000'000;
inline constexpr size_t kStatsProductsMax = 100;

class SellerStats {
 public:
  SellerStats(live::LiveHub& hub, store::ReadStore& read_store) : hub_(hub), read_store_(read_store) {}
  // Publishes a stats frame to each connected seller when a second has passed.
  void tick(int64_t now_us);

 private:
  struct Previous {
    int64_t orders_confirmed = 0;
    int64_t at_us = 0;
  };
  live::LiveHub& hub_;
  store::ReadStore& read_store_;
  int64_t last_us_ = 0;
  std::unordered_map<std::string, Previous> previous_;
};

}  // namespace hawker::app
