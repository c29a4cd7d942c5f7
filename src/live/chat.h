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
//  - Messages get increasing ids (1, 2, ...). Only the seller may delete one,
//    mute or unmute a user, or set the blocked words (else kForbidden).
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
  ChatRoom(std::string seller, const Clock& clock, ChatLimits limits = {});

  // Checks `text` from `user` against the policy; on success the message with
  // its new id and timestamp (the caller broadcasts it).
  Result<ChatMessage> post(std::string_view user, std::string_view text);

  // Returns the id to announce in `chat_deleted`. kNotFound for an id never issued.
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
  uint64_t last_id() const { return last_id_; }
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
  uint64_t last_id_ = 0;
  std::unordered_map<std::string, Bucket> buckets_;
  std::unordered_set<std::string> muted_;
  std::unordered_set<std::string> blocked_words_;  // ASCII-lowercased
};

}  // namespace hawker::live
