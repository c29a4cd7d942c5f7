// ChatRoom: the chat policy of one show. Pure logic, no I/O; every expected
// failure is a Result, never an exception.
//
//  - Only signed-in users chat (a guest is kUnauthorized); a muted user is
//    kForbidden.
//  - Each user has a token bucket: `burst` messages at once, then one every
//    `refill_interval_us` (kOverloaded with the wait in the message). Every
//    attempt of an unmuted user costs a token, valid or not, so flooding with
//    bad input is throttled like flooding with good input.
//  - Text is valid UTF-8 (else kInvalid), not blank, and at most
//    kChatTextCodePointsMax code points (characters as a person counts them,
//    not bytes).
//  - The show's seller manages a list of blocked words; a message containing
//    one as a whole word, compared case-insensitively (ASCII letters; other
//    characters exactly), is kInvalid. A word is a maximal run of ASCII letters,
//    digits, '_' and non-ASCII characters, so "spam" blocks "SPAM!" but not
//    "spammer".
//  - Messages get increasing ids: node_id << kChatIdCounterBits, plus 1, 2, ...
//    (node 0: plain 1, 2, ...), so ids issued by the gateways of a cluster
//    (LiveHub's node id) never collide and stay below 2^53 (exact in a
//    JavaScript number). Only the seller may delete one, mute or unmute a
//    user, or set the blocked words (else kForbidden).
//  - accept_relayed() takes a message another node already posted: its shape
//    is checked (id, user, text as above) but not the rate limit, mutes or
//    blocked words: the node that posted it applied those.
//  - Every table has a bound (k...Max below): users with a full bucket are
//    forgotten when the table is full.
//
// Thread-safety: thread-compatible; its owner (ShowChannel) holds a lock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include <boost/json/object.hpp>

#include "core/clock.h"
#include "core/result.h"

namespace hawker::live {

inline constexpr size_t kChatTextCodePointsMax = 500;
inline constexpr size_t kChatUserBytesMax = 128;
inline constexpr size_t kBlockedWordsMax = 1000;
inline constexpr size_t kBlockedWordBytesMax = 64;
inline constexpr size_t kMutedUsersMax = 10'000;
inline constexpr size_t kRateLimitedUsersMax = 100'000;
// Chat ids: a node id (20 bits) above a per-show counter (33 bits): < 2^53.
inline constexpr int kChatIdCounterBits = 33;
inline constexpr uint64_t kChatIdCounterMax = (uint64_t{1} << kChatIdCounterBits) - 1;
inline constexpr uint32_t kNodeIdMax = (uint32_t{1} << 20) - 1;

struct ChatLimits {
  int64_t burst = 5;                       // messages a user may send at once
  int64_t refill_interval_us = 1'000'000;  // then one per this long
};

struct ChatMessage {
  uint64_t id = 0;
  std::string user;
  std::string text;
  int64_t ts_ms = 0;

  // The body of a `chat` frame: {id, user, text, ts}.
  boost::json::object to_json() const;
};

// The number of code points in `text`, or kInvalid when it is not valid UTF-8
// (overlong forms, surrogates and values above U+10FFFF are invalid).
Result<size_t> count_code_points(std::string_view text);

class ChatRoom {
 public:
  // `node_id` (0..kNodeIdMax) goes into the high bits of every id issued here.
  ChatRoom(std::string seller, const Clock& clock, ChatLimits limits = {}, uint32_t node_id = 0);

  // Checks `text` from `user` against the policy; on success the message with
  // its new id and timestamp (the caller broadcasts it).
  Result<ChatMessage> post(std::string_view user, std::string_view text);

  // A message posted on another node (its id, user, text and ts as sent).
  // kInvalid when its shape is wrong (id 0 or >= 2^53, bad user or text);
  // kConflict when its id carries this room's node id (a loop, or two nodes
  // sharing a node id).
  Status accept_relayed(const ChatMessage& message) const;

  // Returns the id to announce in `chat_deleted`. kNotFound for 0, or an id
  // of this node's that was never issued; ids of other nodes are taken on trust
  // (this node may have missed the message).
  Result<uint64_t> delete_message(std::string_view actor, uint64_t message_id);

  Status mute(std::string_view actor, std::string_view user);
  Status unmute(std::string_view actor, std::string_view user);
  bool is_muted(std::string_view user) const;

  // Replaces the list. Each word: 1..kBlockedWordBytesMax bytes of valid UTF-8,
  // word characters only (see above); else kInvalid and the list is unchanged.
  Status set_blocked_words(std::string_view actor, std::span<const std::string> words);
  // True when `text` contains a blocked word as a whole word.
  bool contains_blocked_word(std::string_view text) const;

  const std::string& seller() const { return seller_; }
  // The last id this room issued (0: none).
  uint64_t last_id() const { return last_id_ == 0 ? 0 : id_base_ | last_id_; }
  size_t rate_limited_users() const { return buckets_.size(); }

 private:
  struct Bucket {
    int64_t credit_us = 0;  // one message costs refill_interval_us
    int64_t updated_us = 0;
  };
  Status check_seller(std::string_view actor) const;
  // Takes one token from `user`'s bucket, or says how long to wait.
  Status take_token(std::string_view user, int64_t now_us);
  int64_t credit_at(const Bucket& bucket, int64_t now_us) const;
  void forget_idle_buckets(int64_t now_us);

  std::string seller_;
  const Clock& clock_;
  ChatLimits limits_;
  const uint64_t id_base_;  // node_id << kChatIdCounterBits
  uint64_t last_id_ = 0;    // the counter part of the last id issued
  std::unordered_map<std::string, Bucket> buckets_;
  std::unordered_set<std::string> muted_;
  std::unordered_set<std::string> blocked_words_;  // ASCII-lowercased
};

}  // namespace hawker::live
