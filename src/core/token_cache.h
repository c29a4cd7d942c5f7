// TokenCache: remembers tokens that verified, so the hot path (a buyer
// clicking Buy Now again and again with the same token) skips the HMAC and
// two JSON parses. A token's claims are a pure function of its bytes and the
// secret, so a cached answer is the answer; expiry is still checked on every
// use. Failures are never cached. Bounded: kShards x kEntriesPerShardMax
// entries, a full shard is cleared. Thread-safe (one mutex per shard).
#pragma once

#include <array>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/jwt.h"

namespace hawker {

class TokenCache {
 public:
  explicit TokenCache(std::string secret) : secret_(std::move(secret)) {}

  Result<Claims> verify(std::string_view token, int64_t now_seconds);

 private:
  static constexpr size_t kShards = 16;
  static constexpr size_t kEntriesPerShardMax = 4096;
  // Looked up by string_view: no allocation for a token seen before.
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view token) const { return std::hash<std::string_view>{}(token); }
  };
  struct Shard {
    std::mutex mutex;
    std::unordered_map<std::string, Claims, Hash, std::equal_to<>> entries;
  };
  const std::string secret_;
  std::array<Shard, kShards> shards_;
};

}  // namespace hawker
