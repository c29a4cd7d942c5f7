#include "live/chat.h"

#include <algorithm>
#include <cassert>
#include <vector>

namespace hawker::live {
namespace {

bool is_continuation(unsigned char byte) { return (byte & 0xC0) == 0x80; }

// A byte that belongs to a word: ASCII letters and digits, '_', and every byte
// of a non-ASCII character (so letters of other scripts make words too).
bool is_word_byte(unsigned char byte) {
  return (byte >= 'a' && byte <= 'z') || (byte >= 'A' && byte <= 'Z') || (byte >= '0' && byte <= '9') ||
         byte == '_' || byte >= 0x80;
}

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string ascii_lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

bool is_blank(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; });
}

// Valid UTF-8, not blank, at most kChatTextCodePointsMax code points.
Status check_text(std::string_view text) {
  auto code_points = count_code_points(text);
  if (!code_points) return code_points.error();
  if (is_blank(text)) return make_error(ErrorCode::kInvalid, "text is empty");
  if (*code_points > kChatTextCodePointsMax)
    return make_error(ErrorCode::kInvalid,
                      "text is longer than " + std::to_string(kChatTextCodePointsMax) + " characters");
  return ok_status();
}

}  // namespace

boost::json::object ChatMessage::to_json() const {
  boost::json::object body;
  body["id"] = id;
  body["user"] = user;
  body["text"] = text;
  body["ts"] = ts_ms;
  return body;
}

Result<size_t> count_code_points(std::string_view text) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
  const size_t size = text.size();
  size_t count = 0;
  size_t i = 0;
  while (i < size) {
    const unsigned char lead = bytes[i];
    size_t length = 0;
    unsigned char second_min = 0x80, second_max = 0xBF;  // bounds that exclude overlongs and surrogates
    if (lead < 0x80) {
      length = 1;
    } else if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
      if (lead == 0xE0) second_min = 0xA0;  // overlong
      if (lead == 0xED) second_max = 0x9F;  // UTF-16 surrogates
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
      if (lead == 0xF0) second_min = 0x90;  // overlong
      if (lead == 0xF4) second_max = 0x8F;  // above U+10FFFF
    } else {
      return make_error(ErrorCode::kInvalid, "text is not valid UTF-8");
    }
    if (size - i < length) return make_error(ErrorCode::kInvalid, "text is not valid UTF-8");
    if (length > 1 && (bytes[i + 1] < second_min || bytes[i + 1] > second_max))
      return make_error(ErrorCode::kInvalid, "text is not valid UTF-8");
    for (size_t k = 2; k < length; ++k)
      if (!is_continuation(bytes[i + k])) return make_error(ErrorCode::kInvalid, "text is not valid UTF-8");
    i += length;
    ++count;
  }
  return count;
}

ChatRoom::ChatRoom(std::string seller, const Clock& clock, ChatLimits limits, uint32_t node_id)
    : seller_(std::move(seller)),
      clock_(clock),
      limits_(limits),
      id_base_(uint64_t{node_id} << kChatIdCounterBits) {
  assert(node_id <= kNodeIdMax);
  assert(limits_.burst > 0);
  assert(limits_.refill_interval_us > 0);
}

Result<ChatMessage> ChatRoom::post(std::string_view user, std::string_view text) {
  if (user.empty()) return make_error(ErrorCode::kUnauthorized, "sign in to chat");
  if (user.size() > kChatUserBytesMax) return make_error(ErrorCode::kInvalid, "user name too long");
  if (is_muted(user)) return make_error(ErrorCode::kForbidden, "you are muted in this show");
  const int64_t now_us = clock_.now_us();
  if (Status token = take_token(user, now_us); !token) return token.error();

  if (Status valid = check_text(text); !valid) return valid.error();
  if (contains_blocked_word(text)) return make_error(ErrorCode::kInvalid, "text contains a blocked word");
  if (last_id_ >= kChatIdCounterMax) return make_error(ErrorCode::kOverloaded, "this show's chat ids are used up");

  ChatMessage message;
  message.id = id_base_ | ++last_id_;
  message.user = std::string(user);
  message.text = std::string(text);
  message.ts_ms = now_us / 1000;
  return message;
}

Status ChatRoom::accept_relayed(const ChatMessage& message) const {
  if (message.id == 0 || (message.id & kChatIdCounterMax) == 0 ||
      (message.id >> kChatIdCounterBits) > kNodeIdMax)
    return make_error(ErrorCode::kInvalid, "bad chat message id");
  if ((message.id & ~kChatIdCounterMax) == id_base_)
    return make_error(ErrorCode::kConflict, "a relayed chat message carries this node's id");
  if (message.user.empty() || message.user.size() > kChatUserBytesMax)
    return make_error(ErrorCode::kInvalid, "bad chat user");
  return check_text(message.text);
}

Result<uint64_t> ChatRoom::delete_message(std::string_view actor, uint64_t message_id) {
  if (Status allowed = check_seller(actor); !allowed) return allowed.error();
  if ((message_id & kChatIdCounterMax) == 0 || (message_id >> kChatIdCounterBits) > kNodeIdMax)
    return make_error(ErrorCode::kNotFound, "no such message");
  const bool ours = (message_id & ~kChatIdCounterMax) == id_base_;
  if (ours && (message_id & kChatIdCounterMax) > last_id_) return make_error(ErrorCode::kNotFound, "no such message");
  return message_id;
}

Status ChatRoom::mute(std::string_view actor, std::string_view user) {
  if (Status allowed = check_seller(actor); !allowed) return allowed;
  if (user.empty() || user.size() > kChatUserBytesMax) return make_error(ErrorCode::kInvalid, "bad user");
  if (user == seller_) return make_error(ErrorCode::kInvalid, "the seller cannot be muted");
  if (muted_.size() >= kMutedUsersMax && !is_muted(user))
    return make_error(ErrorCode::kOverloaded, "too many muted users");
  muted_.emplace(user);
  return ok_status();
}

Status ChatRoom::unmute(std::string_view actor, std::string_view user) {
  if (Status allowed = check_seller(actor); !allowed) return allowed;
  muted_.erase(std::string(user));
  return ok_status();
}

bool ChatRoom::is_muted(std::string_view user) const { return muted_.contains(std::string(user)); }

Status ChatRoom::set_blocked_words(std::string_view actor, std::span<const std::string> words) {
  if (Status allowed = check_seller(actor); !allowed) return allowed;
  if (words.size() > kBlockedWordsMax)
    return make_error(ErrorCode::kInvalid, "at most " + std::to_string(kBlockedWordsMax) + " blocked words");
  std::unordered_set<std::string> lowered;
  for (const std::string& word : words) {
    if (word.empty() || word.size() > kBlockedWordBytesMax || !count_code_points(word).ok() ||
        !std::all_of(word.begin(), word.end(), [](char c) { return is_word_byte(static_cast<unsigned char>(c)); }))
      return make_error(ErrorCode::kInvalid, "bad blocked word: a word is 1 to " +
                                                 std::to_string(kBlockedWordBytesMax) +
                                                 " bytes of letters, digits or '_'");
    lowered.insert(ascii_lowercase(word));
  }
  blocked_words_ = std::move(lowered);
  return ok_status();
}

bool ChatRoom::contains_blocked_word(std::string_view text) const {
  if (blocked_words_.empty()) return false;
  std::string word;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && !is_word_byte(static_cast<unsigned char>(text[i]))) ++i;
    word.clear();
    while (i < text.size() && is_word_byte(static_cast<unsigned char>(text[i]))) word.push_back(ascii_lower(text[i++]));
    if (!word.empty() && word.size() <= kBlockedWordBytesMax && blocked_words_.contains(word)) return true;
  }
  return false;
}

Status ChatRoom::check_seller(std::string_view actor) const {
  if (actor.empty() || actor != seller_) return make_error(ErrorCode::kForbidden, "only the show's seller may do that");
  return ok_status();
}

int64_t ChatRoom::credit_at(const Bucket& bucket, int64_t now_us) const {
  const int64_t capacity = limits_.burst * limits_.refill_interval_us;
  const int64_t elapsed = now_us > bucket.updated_us ? now_us - bucket.updated_us : 0;  // clock went back: no refill
  return std::min(capacity, bucket.credit_us + std::min(elapsed, capacity));
}

Status ChatRoom::take_token(std::string_view user, int64_t now_us) {
  auto it = buckets_.find(std::string(user));
  if (it == buckets_.end()) {
    if (buckets_.size() >= kRateLimitedUsersMax) forget_idle_buckets(now_us);
    if (buckets_.size() >= kRateLimitedUsersMax) return make_error(ErrorCode::kOverloaded, "chat is busy, try again");
    it = buckets_.emplace(std::string(user), Bucket{limits_.burst * limits_.refill_interval_us, now_us}).first;
  }
  Bucket& bucket = it->second;
  bucket.credit_us = credit_at(bucket, now_us);
  bucket.updated_us = now_us;
  if (bucket.credit_us < limits_.refill_interval_us) {
    const int64_t wait_ms = (limits_.refill_interval_us - bucket.credit_us + 999) / 1000;
    return make_error(ErrorCode::kOverloaded, "slow down: next message in " + std::to_string(wait_ms) + " ms");
  }
  bucket.credit_us -= limits_.refill_interval_us;
  return ok_status();
}

void ChatRoom::forget_idle_buckets(int64_t now_us) {
  // A full bucket is the same as no bucket: forgetting it changes nothing.
  const int64_t capacity = limits_.burst * limits_.refill_interval_us;
  std::erase_if(buckets_, [&](const auto& entry) { return credit_at(entry.second, now_us) >= capacity; });
}

}  // namespace hawker::live
