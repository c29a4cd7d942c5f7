// Proves the chat policy (live/chat.h), with an injected clock:
//  - messages get increasing ids and the clock's time; guests cannot chat;
//  - the length limit counts UTF-8 code points, not bytes (500 "é" pass,
//    501 ASCII characters do not); invalid UTF-8 (stray continuation bytes,
//    truncated sequences, overlongs, surrogates, > U+10FFFF) is refused, the
//    valid boundary code points pass; blank text is refused;
//  - the token bucket allows a burst, then one message per refill interval, is
//    capped at the burst after a long pause, is per user, charges refused
//    attempts too, and forgets idle users when its table is full;
//  - blocked words match whole words, ASCII case-insensitively ("SPAM!" but
//    not "spammer"); only the seller sets them; a bad list is refused whole;
//  - only the seller mutes, unmutes and deletes; a muted user is refused;
//    deleting an id never issued is kNotFound.
#include "live/chat.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/clock.h"

namespace hawker::live {
namespace {

constexpr int64_t kSecondUs = 1'000'000;

std::string repeat(std::string_view unit, size_t times) {
  std::string out;
  for (size_t i = 0; i < times; ++i) out += unit;
  return out;
}

class ChatRoomTest : public ::testing::Test {
 protected:
  ManualClock clock_;
  ChatRoom room_{"sel_a", clock_, ChatLimits{5, kSecondUs}};
  ChatRoom roomy_{"sel_a", clock_, ChatLimits{1'000'000, 1}};  // no rate limit in practice
};

TEST_F(ChatRoomTest, MessagesGetIncreasingIdsAndTheClocksTime) {
  auto first = room_.post("alice", "hello");
  auto second = room_.post("bob", "hi alice");
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->id, 1u);
  EXPECT_EQ(second->id, 2u);
  EXPECT_EQ(first->user, "alice");
  EXPECT_EQ(first->text, "hello");
  EXPECT_EQ(first->ts_ms, clock_.now_ms());
  boost::json::object json = first->to_json();
  EXPECT_EQ(json.at("id"), 1);
  EXPECT_EQ(json.at("user"), "alice");
  EXPECT_EQ(json.at("text"), "hello");
  EXPECT_EQ(json.at("ts"), clock_.now_ms());
  EXPECT_EQ(room_.last_id(), 2u);
}

TEST_F(ChatRoomTest, GuestsCannotChat) {
  auto result = room_.post("", "hello");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kUnauthorized);
  EXPECT_EQ(room_.post(std::string(kChatUserBytesMax + 1, 'u'), "hi").error().code, ErrorCode::kInvalid);
}

TEST_F(ChatRoomTest, TheLengthLimitCountsCodePointsNotBytes) {
  EXPECT_TRUE(roomy_.post("alice", repeat("a", 500)).ok());
  EXPECT_TRUE(roomy_.post("alice", repeat("\xC3\xA9", 500)).ok()) << "500 x e-acute = 1000 bytes";
  EXPECT_TRUE(roomy_.post("alice", repeat("\xF0\x9F\x9B\x8D", 500)).ok()) << "500 shopping bags = 2000 bytes";
  auto too_long = roomy_.post("alice", repeat("a", 501));
  ASSERT_FALSE(too_long.ok());
  EXPECT_EQ(too_long.error().code, ErrorCode::kInvalid);
  EXPECT_EQ(roomy_.post("alice", repeat("\xC3\xA9", 501)).error().code, ErrorCode::kInvalid);
}

TEST(CountCodePointsTest, ValidText) {
  EXPECT_EQ(*count_code_points(""), 0u);
  EXPECT_EQ(*count_code_points("abc"), 3u);
  EXPECT_EQ(*count_code_points("caf\xC3\xA9"), 4u);
  EXPECT_EQ(*count_code_points("\xC2\x80"), 1u) << "U+0080, smallest two-byte";
  EXPECT_EQ(*count_code_points("\xE0\xA0\x80"), 1u) << "U+0800, smallest three-byte";
  EXPECT_EQ(*count_code_points("\xED\x9F\xBF"), 1u) << "U+D7FF, just below the surrogates";
  EXPECT_EQ(*count_code_points("\xEE\x80\x80"), 1u) << "U+E000, just above them";
  EXPECT_EQ(*count_code_points("\xEF\xBF\xBF"), 1u) << "U+FFFF";
  EXPECT_EQ(*count_code_points("\xF0\x90\x80\x80"), 1u) << "U+10000";
  EXPECT_EQ(*count_code_points("\xF4\x8F\xBF\xBF"), 1u) << "U+10FFFF, the last";
  EXPECT_EQ(*count_code_points(std::string_view("a\0b", 3)), 3u) << "NUL is a code point";
}

TEST(CountCodePointsTest, InvalidText) {
  const std::vector<std::string> invalid = {
      "\x80",                  // continuation byte alone
      "a\xBF",                 // continuation byte after ASCII
      "\xC3",                  // truncated two-byte
      "\xE2\x82",              // truncated three-byte
      "\xF0\x9F\x9B",          // truncated four-byte
      "\xC3\x28",              // bad continuation
      "\xE2\x28\xA1",          // bad second byte of three
      "\xE2\x82\x28",          // bad third byte of three
      "\xF0\x9F\x9B\x28",      // bad fourth byte
      "\xC0\xAF",              // overlong '/'
      "\xC1\xBF",              // overlong
      "\xE0\x80\xAF",          // overlong three-byte
      "\xF0\x80\x80\xAF",      // overlong four-byte
      "\xED\xA0\x80",          // surrogate U+D800
      "\xED\xBF\xBF",          // surrogate U+DFFF
      "\xF4\x90\x80\x80",      // U+110000
      "\xF5\x80\x80\x80",      // lead byte beyond U+10FFFF
      "\xFF",                  // never valid
      "\xFE",                  // never valid
      "ok \xF8\x88\x80\x80\x80",  // five-byte form
  };
  for (const std::string& text : invalid) {
    auto result = count_code_points(text);
    EXPECT_FALSE(result.ok()) << "accepted invalid bytes at case of size " << text.size();
    if (!result.ok()) {
      EXPECT_EQ(result.error().code, ErrorCode::kInvalid);
    }
  }
}

TEST_F(ChatRoomTest, InvalidUtf8AndBlankTextAreRefused) {
  EXPECT_EQ(roomy_.post("alice", "bad \xC3\x28 bytes").error().code, ErrorCode::kInvalid);
  EXPECT_EQ(roomy_.post("alice", "").error().code, ErrorCode::kInvalid);
  EXPECT_EQ(roomy_.post("alice", " \t\n ").error().code, ErrorCode::kInvalid);
  EXPECT_EQ(roomy_.last_id(), 0u) << "refused messages take no id";
}

TEST_F(ChatRoomTest, BurstThenOneMessagePerInterval) {
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(room_.post("alice", "msg").ok()) << i;
  auto limited = room_.post("alice", "one too many");
  ASSERT_FALSE(limited.ok());
  EXPECT_EQ(limited.error().code, ErrorCode::kOverloaded);
  EXPECT_NE(limited.error().message.find("1000 ms"), std::string::npos) << limited.error().message;

  clock_.advance_us(kSecondUs - 1);
  EXPECT_EQ(room_.post("alice", "not yet").error().code, ErrorCode::kOverloaded);
  clock_.advance_us(1);  // the refused attempt cost nothing: it had no token to take
  EXPECT_TRUE(room_.post("alice", "now").ok());
  EXPECT_EQ(room_.post("alice", "again").error().code, ErrorCode::kOverloaded);

  clock_.advance_us(60 * kSecondUs);  // a long pause refills the burst, no more
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(room_.post("alice", "msg").ok()) << i;
  EXPECT_EQ(room_.post("alice", "msg").error().code, ErrorCode::kOverloaded);
}

TEST_F(ChatRoomTest, TheRateLimitIsPerUser) {
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(room_.post("alice", "msg").ok());
  EXPECT_FALSE(room_.post("alice", "msg").ok());
  EXPECT_TRUE(room_.post("bob", "msg").ok());
}

TEST_F(ChatRoomTest, RefusedAttemptsCostATokenToo) {
  for (int i = 0; i < 5; ++i) EXPECT_EQ(room_.post("mallory", repeat("x", 501)).error().code, ErrorCode::kInvalid);
  EXPECT_EQ(room_.post("mallory", "ok text").error().code, ErrorCode::kOverloaded)
      << "flooding with bad input is throttled like flooding with good input";
}

TEST_F(ChatRoomTest, AFullUserTableForgetsIdleUsers) {
  for (size_t i = 0; i < kRateLimitedUsersMax; ++i) ASSERT_TRUE(room_.post("user" + std::to_string(i), "hi").ok());
  EXPECT_EQ(room_.rate_limited_users(), kRateLimitedUsersMax);
  auto busy = room_.post("newcomer", "hi");
  ASSERT_FALSE(busy.ok()) << "everyone is still refilling: nobody can be forgotten";
  EXPECT_EQ(busy.error().code, ErrorCode::kOverloaded);
  clock_.advance_us(kSecondUs);  // every bucket is full again
  EXPECT_TRUE(room_.post("newcomer", "hi").ok());
  EXPECT_EQ(room_.rate_limited_users(), 1u);
}

TEST_F(ChatRoomTest, BlockedWordsMatchWholeWordsIgnoringAsciiCase) {
  const std::vector<std::string> words = {"spam", "Scam", "caf\xC3\xA9"};
  ASSERT_TRUE(roomy_.set_blocked_words("sel_a", words).ok());
  for (const char* text : {"buy SPAM now", "spam", "spam!", "(Spam)", "non-spam", "a scam", "SCAM?", "le Caf\xC3\xA9"}) {
    auto result = roomy_.post("alice", text);
    ASSERT_FALSE(result.ok()) << text;
    EXPECT_EQ(result.error().code, ErrorCode::kInvalid) << text;
  }
  for (const char* text : {"spammer", "antispam", "spam_bot", "scams", "sp am", "caf\xC3\xA9s", "CAF\xC3\x89"}) {
    EXPECT_TRUE(roomy_.post("alice", text).ok()) << text;
  }
  EXPECT_TRUE(roomy_.contains_blocked_word("so much spam"));
  EXPECT_FALSE(roomy_.contains_blocked_word("so much ham"));
}

TEST_F(ChatRoomTest, OnlyTheSellerSetsBlockedWordsAndABadListIsRefusedWhole) {
  const std::vector<std::string> spam = {"spam"};
  EXPECT_EQ(roomy_.set_blocked_words("alice", spam).error().code, ErrorCode::kForbidden);
  ASSERT_TRUE(roomy_.set_blocked_words("sel_a", spam).ok());
  for (const std::vector<std::string>& bad : std::vector<std::vector<std::string>>{
           {"ok", ""}, {"two words"}, {"dash-ed"}, {std::string(kBlockedWordBytesMax + 1, 'w')}, {"bad\xC3"}}) {
    EXPECT_EQ(roomy_.set_blocked_words("sel_a", bad).error().code, ErrorCode::kInvalid);
  }
  std::vector<std::string> too_many(kBlockedWordsMax + 1, "w");
  EXPECT_EQ(roomy_.set_blocked_words("sel_a", too_many).error().code, ErrorCode::kInvalid);
  EXPECT_TRUE(roomy_.contains_blocked_word("spam")) << "the old list stays";
  ASSERT_TRUE(roomy_.set_blocked_words("sel_a", std::vector<std::string>{}).ok());
  EXPECT_FALSE(roomy_.contains_blocked_word("spam"));
}

TEST_F(ChatRoomTest, MutedUsersAreRefusedUntilUnmuted) {
  EXPECT_EQ(room_.mute("alice", "bob").error().code, ErrorCode::kForbidden);
  EXPECT_EQ(room_.mute("sel_a", "sel_a").error().code, ErrorCode::kInvalid);
  ASSERT_TRUE(room_.mute("sel_a", "bob").ok());
  EXPECT_TRUE(room_.is_muted("bob"));
  auto refused = room_.post("bob", "let me talk");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kForbidden);
  EXPECT_TRUE(room_.post("alice", "others still can").ok());
  EXPECT_EQ(room_.unmute("bob", "bob").error().code, ErrorCode::kForbidden);
  ASSERT_TRUE(room_.unmute("sel_a", "bob").ok());
  EXPECT_TRUE(room_.post("bob", "thanks").ok());
}

TEST_F(ChatRoomTest, OnlyTheSellerDeletesAndOnlyIssuedIds) {
  auto message = room_.post("alice", "oops");
  ASSERT_TRUE(message.ok());
  EXPECT_EQ(room_.delete_message("alice", message->id).error().code, ErrorCode::kForbidden)
      << "not even the author";
  EXPECT_EQ(room_.delete_message("", message->id).error().code, ErrorCode::kForbidden);
  EXPECT_EQ(room_.delete_message("sel_a", 0).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(room_.delete_message("sel_a", message->id + 1).error().code, ErrorCode::kNotFound);
  auto deleted = room_.delete_message("sel_a", message->id);
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(*deleted, message->id);
}

}  // namespace
}  // namespace hawker::live
