#include "spike/arrival.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cmath>
#include <random>

namespace hawker::spike {
namespace {

constexpr int64_t kRampMaxUs = 3'600'000'000;
constexpr double kRateMin = 0.001;
constexpr double kRateMax = 1e7;

Result<int64_t> parse_duration_us(std::string_view text) {
  int64_t scale = 0;
  if (text.ends_with("ms")) {
    scale = 1'000;
    text.remove_suffix(2);
  } else if (text.ends_with("us")) {
    scale = 1;
    text.remove_suffix(2);
  } else if (text.ends_with("s")) {
    scale = 1'000'000;
    text.remove_suffix(1);
  } else if (text == "0") {
    return int64_t{0};
  } else {
    return make_error(ErrorCode::kInvalid, "a ramp needs a unit: ramp:1s, ramp:500ms");
  }
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value) || value < 0)
    return make_error(ErrorCode::kInvalid, "the ramp must be a non-negative number with a unit, e.g. ramp:1s");
  const double us = value * static_cast<double>(scale);
  if (us > static_cast<double>(kRampMaxUs)) return make_error(ErrorCode::kInvalid, "the ramp may last at most 1 hour");
  return static_cast<int64_t>(std::llround(us));
}

}  // namespace

Result<Arrival> parse_arrival(std::string_view spec) {
  const size_t colon = spec.find(':');
  if (colon == std::string_view::npos)
    return make_error(ErrorCode::kInvalid, "--arrival is ramp:DURATION (e.g. ramp:1s) or rate:PER_SECOND (e.g. rate:5000)");
  const std::string_view kind = spec.substr(0, colon), value = spec.substr(colon + 1);
  Arrival arrival;
  if (kind == "ramp") {
    auto us = parse_duration_us(value);
    if (!us) return us.error();
    arrival.kind = Arrival::Kind::kRamp;
    arrival.ramp_us = *us;
    return arrival;
  }
  if (kind == "rate") {
    double rate = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), rate);
    if (ec != std::errc() || end != value.data() + value.size() || !std::isfinite(rate) || rate < kRateMin ||
        rate > kRateMax)
      return make_error(ErrorCode::kInvalid, "the rate must be a number of clicks a second from 0.001 to 10000000");
    arrival.kind = Arrival::Kind::kRate;
    arrival.rate_per_s = rate;
    return arrival;
  }
  return make_error(ErrorCode::kInvalid, "--arrival must start with ramp: or rate:");
}

std::string describe(const Arrival& arrival) {
  if (arrival.kind == Arrival::Kind::kRate) {
    char text[64];
    std::snprintf(text, sizeof text, "%g clicks/s", arrival.rate_per_s);
    return text;
  }
  char text[64];
  std::snprintf(text, sizeof text, "within %g s", static_cast<double>(arrival.ramp_us) / 1e6);
  return text;
}

std::vector<int64_t> schedule(const Arrival& arrival, size_t clicks, uint64_t seed) {
  std::vector<int64_t> offsets(clicks);
  if (arrival.kind == Arrival::Kind::kRate) {
    const double spacing_us = 1e6 / arrival.rate_per_s;
    for (size_t i = 0; i < clicks; ++i) offsets[i] = static_cast<int64_t>(static_cast<double>(i) * spacing_us);
    return offsets;
  }
  if (arrival.ramp_us == 0) return offsets;
  std::mt19937_64 random(seed);
  std::uniform_int_distribution<int64_t> within(0, arrival.ramp_us - 1);
  for (auto& offset : offsets) offset = within(random);
  std::sort(offsets.begin(), offsets.end());
  return offsets;
}

std::vector<uint32_t> click_owners(uint32_t buyers, uint32_t clicks_per_buyer, uint64_t seed) {
  std::vector<uint32_t> owners;
  owners.reserve(static_cast<size_t>(buyers) * clicks_per_buyer);
  for (uint32_t c = 0; c < clicks_per_buyer; ++c)
    for (uint32_t b = 0; b < buyers; ++b) owners.push_back(b);
  std::mt19937_64 random(seed ^ 0x9e3779b97f4a7c15ULL);
  std::shuffle(owners.begin(), owners.end(), random);
  return owners;
}

}  // namespace hawker::spike
