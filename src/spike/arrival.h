// How the clicks of a spike arrive: the open-loop schedule of `hawker spike`.
//
// A schedule is fixed before the first click is sent: click i is due at
// offset[i] after the start, whatever the server does. A slow server makes
// clicks wait, and their latency is counted from when they were due, so it
// cannot slow the clock and hide its own latency (no coordinated omission).
//
//   ramp:T    every click at a uniformly random moment within T (e.g. ramp:1s,
//             ramp:250ms; ramp:0 = all at once), the celebrity moment
//   rate:R    one click every 1/R seconds (R clicks a second), a steady queue
//
// Pure functions; deterministic for a given seed.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace hawker::spike {

struct Arrival {
  enum class Kind { kRamp, kRate };
  Kind kind = Kind::kRamp;
  int64_t ramp_us = 1'000'000;  // kRamp: the window
  double rate_per_s = 0;        // kRate: clicks per second
};

// Parses "ramp:1s", "ramp:750ms", "ramp:0", "rate:5000". Bounds: a ramp up to
// one hour, a rate from 0.001 to 10^7 a second.
Result<Arrival> parse_arrival(std::string_view spec);
std::string describe(const Arrival& arrival);

// The due offsets (microseconds after the start) of `clicks` clicks, ascending.
std::vector<int64_t> schedule(const Arrival& arrival, size_t clicks, uint64_t seed);

// Which buyer makes each click: `clicks_per_buyer` clicks for every one of
// `buyers`, in a seeded random order (a buyer's second click lands anywhere in
// the window, as a double-tap or a retry from another tab would).
std::vector<uint32_t> click_owners(uint32_t buyers, uint32_t clicks_per_buyer, uint64_t seed);

}  // namespace hawker::spike
