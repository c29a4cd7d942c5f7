// Proves the wire identifiers (core/ids.h) round-trip and that parsing
// untrusted text refuses every malformed id — wrong or missing prefix, zero,
// overflow, signs, spaces, non-digits / non-hex, wrong length — without
// touching the output. Also proves new_order_id never returns 0 and does not
// repeat in practice, fnv1a64 is the standard FNV-1a 64-bit hash (published
// test vectors, and chaining through the seed equals hashing the whole), and
// big-endian keys round-trip and sort like the numbers they hold.
#include "core/ids.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <random>
#include <chrono>
#include <set>
#include <thread>
#include <vector>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace hawker {
namespace {

constexpr uint64_t kSentinel = 0x5EED;
constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

using Parser = bool (*)(std::string_view, uint64_t&);

void expect_refused(Parser parse, std::string_view text) {
  uint64_t id = kSentinel;
  EXPECT_FALSE(parse(text, id)) << '"' << text << '"';
  EXPECT_EQ(id, kSentinel) << '"' << text << '"';
}

std::vector<uint64_t> sample_ids() {
  std::vector<uint64_t> ids{1, 9, 10, 12, 99, 100, 12345, 0xFFFFFFFFull, 0x100000000ull, kMax - 1, kMax};
  std::mt19937_64 rng(2024);
  for (int i = 0; i < 200; ++i) ids.push_back(rng() | 1);
  return ids;
}

// --- Product and show ids (decimal) -----------------------------------------

TEST(ProductId, FormatsAsPrefixedDecimal) {
  EXPECT_EQ(format_product_id(12), "prd_12");
  EXPECT_EQ(format_product_id(1), "prd_1");
  EXPECT_EQ(format_product_id(kMax), "prd_18446744073709551615");
}

TEST(ProductId, RoundTrips) {
  for (uint64_t id : sample_ids()) {
    uint64_t parsed = 0;
    ASSERT_TRUE(parse_product_id(format_product_id(id), parsed)) << id;
    EXPECT_EQ(parsed, id);
  }
}

TEST(ProductId, RefusesBadStrings) {
  for (std::string_view text : std::initializer_list<std::string_view>{
           "",
           "prd_",
           "prd",
           "12",
           "prd_0",
           "prd_00",
           "prd_000000000000000000000",
           "PRD_12",
           "Prd_12",
           "prod_12",
           "prd-12",
           "prd12",
           "ord_12",
           "shw_12",
           "_12",
           " prd_12",
           "prd_12 ",
           "prd_ 12",
           "prd_12\n",
           "prd_-1",
           "prd_+1",
           "prd_1a",
           "prd_a1",
           "prd_0x1f",
           "prd_1.0",
           "prd_1e3",
           "prd_١",
           "prd_18446744073709551616",            // 2^64: overflow
           "prd_99999999999999999999",            // 20 digits, overflow
           "prd_184467440737095516150",           // 21 digits
           "prd_100000000000000000000000000000",  // far too long
           "prd_prd_12",
       }) {
    expect_refused(parse_product_id, text);
  }
  expect_refused(parse_product_id, std::string_view("prd_1\0", 6));
  expect_refused(parse_product_id, std::string_view("prd\0_1", 6));
}

TEST(ShowId, RoundTripsAndRefusesBadStrings) {
  EXPECT_EQ(format_show_id(7), "shw_7");
  for (uint64_t id : sample_ids()) {
    uint64_t parsed = 0;
    ASSERT_TRUE(parse_show_id(format_show_id(id), parsed)) << id;
    EXPECT_EQ(parsed, id);
  }
  for (std::string_view text : std::initializer_list<std::string_view>{"", "shw_", "shw_0", "prd_7", "SHW_7", "shw_-7",
                                                                       "shw_7x", "shw_18446744073709551616"}) {
    expect_refused(parse_show_id, text);
  }
}

// --- Order ids (fixed-width hex) ---------------------------------------------

TEST(OrderId, FormatsAsSixteenLowercaseHexDigits) {
  EXPECT_EQ(format_order_id(1), "ord_0000000000000001");
  EXPECT_EQ(format_order_id(0xdeadbeefcafef00dull), "ord_deadbeefcafef00d");
  EXPECT_EQ(format_order_id(kMax), "ord_ffffffffffffffff");
  for (uint64_t id : sample_ids()) {
    std::string text = format_order_id(id);
    ASSERT_EQ(text.size(), 20u);
    EXPECT_EQ(text.find_first_not_of("0123456789abcdef", 4), std::string::npos) << text;
  }
}

TEST(OrderId, RoundTrips) {
  for (uint64_t id : sample_ids()) {
    uint64_t parsed = 0;
    ASSERT_TRUE(parse_order_id(format_order_id(id), parsed)) << id;
    EXPECT_EQ(parsed, id);
  }
}

TEST(OrderId, FormatSortsLikeTheNumber) {
  std::vector<uint64_t> ids = sample_ids();
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  for (size_t i = 1; i < ids.size(); ++i) EXPECT_LT(format_order_id(ids[i - 1]), format_order_id(ids[i]));
}

TEST(OrderId, RefusesBadStrings) {
  for (std::string_view text : std::initializer_list<std::string_view>{
           "",
           "ord_",
           "ord",
           "ord_0000000000000000",  // zero
           "prd_0000000000000001",
           "ORD_0000000000000001",
           "ord-0000000000000001",
           "xord_000000000000001",
           "ord_000000000000001",    // 15 digits
           "ord_00000000000000001",  // 17 digits
           "ord_1",                  // not fixed width
           "ord_1ffffffffffffffff",  // 17 digits: overflow
           "ord_000000000000000g",
           "ord_g000000000000000",
           "ord_00000000000000x1",
           "ord_0x00000000000001",
           "ord_-000000000000001",
           "ord_+000000000000001",
           "ord_ 000000000000001",
           "ord_000000000000001 ",
           " ord_000000000000001",
           "ord_00000000000000.1",
       }) {
    expect_refused(parse_order_id, text);
  }
  expect_refused(parse_order_id, std::string_view("ord_000000000000000\0", 20));
  std::string embedded_nul = format_order_id(1);
  embedded_nul[4] = '\0';
  expect_refused(parse_order_id, embedded_nul);
}

TEST(NewOrderId, IsNeverZeroAndDoesNotRepeat) {
  std::set<uint64_t> seen;
  for (int i = 0; i < 100'000; ++i) {
    uint64_t id = new_order_id();
    ASSERT_NE(id, 0u);
    ASSERT_TRUE(seen.insert(id).second) << "repeated " << id;
    uint64_t parsed = 0;
    ASSERT_TRUE(parse_order_id(format_order_id(id), parsed));
    ASSERT_EQ(parsed, id);
  }
}

TEST(NewOrderId, IncreasesAcrossThreadsWithoutRepeats) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 20'000;
  std::vector<std::vector<uint64_t>> made(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&made, t] {
      for (int i = 0; i < kPerThread; ++i) made[t].push_back(new_order_id());
    });
  for (auto& thread : threads) thread.join();
  std::set<uint64_t> all;
  for (const auto& ids : made) {
    for (size_t i = 1; i < ids.size(); ++i) ASSERT_LT(ids[i - 1], ids[i]) << "ids from one thread must increase";
    all.insert(ids.begin(), ids.end());
  }
  EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kPerThread));
}

TEST(NewOrderId, CarriesTheNodeNumberSoTwoGatewaysNeverCollide) {
  // Two gateways started in the same millisecond made the same ids before
  // node numbers; now the low bits tell them apart.
  set_order_id_node(7);
  const uint64_t first = new_order_id();
  const uint64_t second = new_order_id();
  set_order_id_node(kOrderNodesMax + 3);  // taken modulo the node count
  const uint64_t third = new_order_id();
  set_order_id_node(0);
  const uint64_t fourth = new_order_id();
  EXPECT_EQ(order_id_node(first), 7u);
  EXPECT_EQ(order_id_node(second), 7u);
  EXPECT_EQ(order_id_node(third), 3u);
  EXPECT_EQ(order_id_node(fourth), 0u);
  EXPECT_LT(first, second);
  EXPECT_LT(second, third);
  EXPECT_LT(third, fourth);
  // The time part still reads as milliseconds since the epoch.
  const uint64_t now_ms = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                    std::chrono::system_clock::now().time_since_epoch())
                                                    .count());
  EXPECT_LE(fourth >> 22, now_ms + 1);
  EXPECT_GE(fourth >> 22, now_ms - 60'000);
}

// --- FNV-1a ----------------------------------------------------------------------

TEST(Fnv1a64, MatchesThePublishedTestVectors) {
  EXPECT_EQ(fnv1a64(""), 0xcbf29ce484222325ull);  // the offset basis
  EXPECT_EQ(fnv1a64("a"), 0xaf63dc4c8601ec8cull);
  EXPECT_EQ(fnv1a64("foobar"), 0x85944171f73967e8ull);
}

TEST(Fnv1a64, ChainsThroughTheSeed) {
  EXPECT_EQ(fnv1a64("bar", fnv1a64("foo")), fnv1a64("foobar"));
  EXPECT_EQ(fnv1a64("", 12345), 12345u);
}

TEST(Fnv1a64, IsStableAndSensitiveToEveryByte) {
  const std::string body = R"({"product_id":"prd_12","quantity":2})";
  EXPECT_EQ(fnv1a64(body), fnv1a64(body));
  std::set<uint64_t> hashes{fnv1a64(body)};
  for (size_t at = 0; at < body.size(); ++at) {
    std::string changed = body;
    changed[at] ^= 1;
    hashes.insert(fnv1a64(changed));
  }
  EXPECT_EQ(hashes.size(), body.size() + 1);
  EXPECT_NE(fnv1a64(std::string_view("a\0", 2)), fnv1a64("a"));
}

// --- Big-endian keys ---------------------------------------------------------------

TEST(BigEndian, RoundTripsAndWritesMostSignificantByteFirst) {
  std::string out;
  append_u64_be(out, 0x0102030405060708ull);
  EXPECT_EQ(out, std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8));
  for (uint64_t value : sample_ids()) {
    std::string key = "prefix";
    append_u64_be(key, value);
    ASSERT_EQ(key.size(), 14u);
    EXPECT_EQ(read_u64_be(std::string_view(key).substr(6)), value);
  }
  std::string zero;
  append_u64_be(zero, 0);
  EXPECT_EQ(zero, std::string(8, '\0'));
  EXPECT_EQ(read_u64_be(zero), 0u);
}

TEST(BigEndian, ByteOrderEqualsNumericOrder) {
  std::vector<uint64_t> values = sample_ids();
  values.push_back(0);
  values.push_back(255);
  values.push_back(256);
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
  for (size_t i = 1; i < values.size(); ++i) {
    std::string lower, higher;
    append_u64_be(lower, values[i - 1]);
    append_u64_be(higher, values[i]);
    EXPECT_LT(lower, higher) << values[i - 1] << " vs " << values[i];
  }
}

TEST(BigEndian, ReadsOnlyTheFirstEightBytesAndToleratesShortInput) {
  EXPECT_EQ(read_u64_be(""), 0u);
  EXPECT_EQ(read_u64_be("\x01"), 1u);
  EXPECT_EQ(read_u64_be(std::string_view("\x01\x00", 2)), 256u);
  std::string long_key(8, '\0');
  long_key[7] = 5;
  long_key += "tail";
  EXPECT_EQ(read_u64_be(long_key), 5u);
}

}  // namespace
}  // namespace hawker
