#include "core/token_cache.h"

#include "core/ids.h"

namespace hawker {

Result<Claims> TokenCache::verify(std::string_view token, int64_t now_seconds) {
  Shard& shard = shards_[fnv1a64(token) % kShards];
  {
    std::lock_guard lock(shard.mutex);
    auto found = shard.entries.find(token);
    if (found != shard.entries.end()) {
      if (found->second.exp > now_seconds) return found->second;
      shard.entries.erase(found);
    }
  }
  auto claims = verify_token(token, secret_, now_seconds);
  if (!claims) return claims;
  std::lock_guard lock(shard.mutex);
  if (shard.entries.size() >= kEntriesPerShardMax) shard.entries.clear();
  shard.entries.emplace(std::string(token), *claims);
  return claims;
}

}  // namespace hawker
