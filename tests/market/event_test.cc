// Proves domain events survive storage: encode_event/decode_event round-trips
// every field each of the 8 event types names (including extreme integers and
// awkward strings), and the encoding is stable; the JSON records older
// versions wrote still decode to the same events. Proves decode_event treats
// its bytes as untrusted, in both forms: garbage, every truncation, trailing
// bytes, unknown formats and flags, every missing field, every wrongly typed
// field, out-of-range numbers and enum values, deep nesting and thousands of
// seeded random mutations come back as kIo errors, never as an exception or a
// crash, and never as an out-of-range enum.
#include "market/event.h"

#include <cstdint>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json.hpp>

namespace hawker::market {
namespace {
namespace json = boost::json;

constexpr EventType kAllEventTypes[] = {
    EventType::kProductCreated, EventType::kProductRestocked, EventType::kOrderReserved, EventType::kOrderRejected,
    EventType::kOrderConfirmed, EventType::kLowStock,         EventType::kSoldOut,       EventType::kPaymentFailed};

bool is_order_event(EventType type) {
  return type == EventType::kOrderReserved || type == EventType::kOrderRejected || type == EventType::kOrderConfirmed ||
         type == EventType::kPaymentFailed;
}

Inventory sample_inventory(uint64_t product_id) {
  Inventory inventory;
  inventory.product_id = product_id;
  inventory.initial = 100;
  inventory.restocked = 5;
  inventory.available = 60;
  inventory.reserved = 20;
  inventory.sold = 25;
  inventory.low_threshold = 10;
  inventory.version = 33;
  return inventory;
}

// A fully populated event of `type`, using every field that type names.
Event sample_event(EventType type) {
  Event event;
  event.seq = 1'234'567;
  event.type = type;
  event.ts_us = 1'700'000'000'123'456;
  event.product_id = 77;
  event.seller = "seller \"one\" \\ ünïcødé\n\t";
  event.inventory = sample_inventory(event.product_id);
  switch (type) {
    case EventType::kProductCreated:
      event.definition.id = event.product_id;
      event.definition.seller = event.seller;
      event.definition.title = "Hand-thrown mug, glazed \xE2\x98\x95";
      event.definition.price_cents = 2599;
      event.definition.currency = "EUR";
      event.definition.max_per_buyer = 2;
      event.definition.low_threshold = event.inventory.low_threshold;
      break;
    case EventType::kProductRestocked:
      event.quantity = 5;
      break;
    case EventType::kOrderRejected:
      event.reason = RejectReason::kPaymentDeclined;
      event.was_reserved = true;
      [[fallthrough]];
    case EventType::kOrderReserved:
    case EventType::kOrderConfirmed:
    case EventType::kPaymentFailed:
      event.order_id = 0xdeadbeefcafef00dull;
      event.buyer = "buyer-9";
      event.quantity = 2;
      event.amount_cents = 5198;
      event.accepted_us = 1'700'000'000'000'001;
      if (type == EventType::kPaymentFailed) event.reason = RejectReason::kPaymentFailed;
      break;
    case EventType::kLowStock:
    case EventType::kSoldOut:
      break;
  }
  return event;
}

void expect_same_event(const Event& expected, const Event& actual) {
  EXPECT_EQ(actual.seq, expected.seq);
  EXPECT_EQ(actual.type, expected.type);
  EXPECT_EQ(actual.ts_us, expected.ts_us);
  EXPECT_EQ(actual.product_id, expected.product_id);
  EXPECT_EQ(actual.seller, expected.seller);
  EXPECT_EQ(actual.order_id, expected.order_id);
  EXPECT_EQ(actual.buyer, expected.buyer);
  EXPECT_EQ(actual.quantity, expected.quantity);
  EXPECT_EQ(actual.amount_cents, expected.amount_cents);
  EXPECT_EQ(actual.reason, expected.reason);
  EXPECT_EQ(actual.was_reserved, expected.was_reserved);
  EXPECT_EQ(actual.accepted_us, expected.accepted_us);
  EXPECT_EQ(actual.inventory, expected.inventory);
  if (expected.type == EventType::kProductCreated) {
    EXPECT_EQ(actual.definition.id, expected.definition.id);
    EXPECT_EQ(actual.definition.seller, expected.definition.seller);
    EXPECT_EQ(actual.definition.title, expected.definition.title);
    EXPECT_EQ(actual.definition.price_cents, expected.definition.price_cents);
    EXPECT_EQ(actual.definition.currency, expected.definition.currency);
    EXPECT_EQ(actual.definition.max_per_buyer, expected.definition.max_per_buyer);
    EXPECT_EQ(actual.definition.low_threshold, expected.definition.low_threshold);
  }
}

// decode_event must fail with kIo and must not throw.
void expect_corrupt(std::string_view bytes) {
  SCOPED_TRACE(std::string(bytes.substr(0, 200)));
  bool threw = false;
  try {
    Result<Event> decoded = decode_event(bytes);
    ASSERT_FALSE(decoded.ok());
    EXPECT_EQ(decoded.error().code, ErrorCode::kIo);
    EXPECT_FALSE(decoded.error().message.empty());
  } catch (...) {
    threw = true;
  }
  EXPECT_FALSE(threw);
}

json::object encoded_object(const Event& event) { return json::parse(encode_event_json(event)).as_object(); }

// --- Names -------------------------------------------------------------------

TEST(EventTypeName, NamesEveryTypeDistinctly) {
  std::set<std::string> names;
  for (EventType type : kAllEventTypes) {
    std::string name(event_type_name(type));
    EXPECT_NE(name, "unknown");
    EXPECT_FALSE(name.empty());
    names.insert(name);
  }
  EXPECT_EQ(names.size(), std::size(kAllEventTypes));
  EXPECT_EQ(event_type_name(EventType::kProductCreated), "product_created");
  EXPECT_EQ(event_type_name(EventType::kPaymentFailed), "payment_failed");
  EXPECT_EQ(event_type_name(static_cast<EventType>(200)), "unknown");
}

// --- Round trips ---------------------------------------------------------------

class EventRoundTrip : public ::testing::TestWithParam<EventType> {};

TEST_P(EventRoundTrip, DecodeOfEncodeGivesTheSameEvent) {
  const Event event = sample_event(GetParam());
  Result<Event> decoded = decode_event(encode_event(event));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  expect_same_event(event, *decoded);
}

TEST_P(EventRoundTrip, EncodingIsStable) {
  const std::string bytes = encode_event(sample_event(GetParam()));
  Result<Event> decoded = decode_event(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(encode_event(*decoded), bytes);
}

TEST_P(EventRoundTrip, SurvivesExtremeValues) {
  Event event = sample_event(GetParam());
  event.seq = std::numeric_limits<uint64_t>::max();
  event.ts_us = std::numeric_limits<int64_t>::min();
  event.product_id = std::numeric_limits<uint64_t>::max();
  event.seller = std::string("nul\0byte", 8);
  event.inventory.product_id = event.product_id;
  event.inventory.initial = std::numeric_limits<int64_t>::max();
  event.inventory.restocked = 0;
  event.inventory.available = std::numeric_limits<int64_t>::min();
  event.inventory.reserved = -1;
  event.inventory.sold = 0;
  event.inventory.low_threshold = std::numeric_limits<int64_t>::max();
  event.inventory.version = std::numeric_limits<uint64_t>::max();
  if (event.type == EventType::kProductCreated) {
    event.definition.id = event.product_id;
    event.definition.seller = event.seller;
    event.definition.title = "";
    event.definition.price_cents = std::numeric_limits<int64_t>::min();
    event.definition.currency = "";
    event.definition.max_per_buyer = std::numeric_limits<int32_t>::max();
    event.definition.low_threshold = event.inventory.low_threshold;
  }
  if (event.type == EventType::kProductRestocked) event.quantity = std::numeric_limits<int32_t>::max();
  if (is_order_event(event.type)) {
    event.order_id = std::numeric_limits<uint64_t>::max();
    event.buyer = std::string(10'000, 'b');
    event.quantity = std::numeric_limits<int32_t>::min();
    event.amount_cents = std::numeric_limits<int64_t>::max();
    event.accepted_us = std::numeric_limits<int64_t>::min();
  }
  Result<Event> decoded = decode_event(encode_event(event));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  expect_same_event(event, *decoded);
}

INSTANTIATE_TEST_SUITE_P(AllTypes, EventRoundTrip, ::testing::ValuesIn(kAllEventTypes),
                         [](const ::testing::TestParamInfo<EventType>& info) {
                           return std::string(event_type_name(info.param));
                         });

TEST(EventRoundTripReasons, EveryRejectReasonSurvives) {
  for (RejectReason reason : {RejectReason::kNone, RejectReason::kSoldOut, RejectReason::kLimitExceeded,
                              RejectReason::kPaymentDeclined, RejectReason::kPaymentFailed, RejectReason::kInvalid}) {
    for (bool was_reserved : {false, true}) {
      Event event = sample_event(EventType::kOrderRejected);
      event.reason = reason;
      event.was_reserved = was_reserved;
      Result<Event> decoded = decode_event(encode_event(event));
      ASSERT_TRUE(decoded.ok()) << decoded.error().message;
      expect_same_event(event, *decoded);
    }
  }
}

TEST(EventRoundTripFields, RestockKeepsItsQuantity) {
  Event event = sample_event(EventType::kProductRestocked);
  event.quantity = 250;
  Result<Event> decoded = decode_event(encode_event(event));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(decoded->quantity, 250);
}

TEST(EventRoundTripFields, CreatedProductGetsIdSellerAndThresholdFromTheEvent) {
  Event event = sample_event(EventType::kProductCreated);
  Result<Event> decoded = decode_event(encode_event(event));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(decoded->definition.id, event.product_id);
  EXPECT_EQ(decoded->definition.seller, event.seller);
  EXPECT_EQ(decoded->definition.low_threshold, event.inventory.low_threshold);
  EXPECT_EQ(decoded->inventory.product_id, event.product_id);
}

// --- Corrupt input ---------------------------------------------------------------

TEST(DecodeEvent, RefusesBytesThatAreNotJson) {
  for (std::string_view bytes :
       {std::string_view(""), std::string_view(" "), std::string_view("{"), std::string_view("}"),
        std::string_view("nul"), std::string_view("garbage"), std::string_view("{\"seq\":1"),
        std::string_view("{\"seq\":1,}"), std::string_view("\x00\x01\x02\xff", 4), std::string_view("\xff\xfe{}"),
        std::string_view("{\"seq\":1}\x00", 10), std::string_view("{} {}")}) {
    expect_corrupt(bytes);
  }
}

TEST(DecodeEvent, RefusesJsonThatIsNotAnObject) {
  for (std::string_view bytes : {"null", "[]", "[1,2,3]", "42", "-1.5e300", "\"text\"", "true", "{}"}) {
    expect_corrupt(bytes);
  }
}

TEST(DecodeEvent, RefusesEveryTruncation) {
  for (EventType type : kAllEventTypes) {
    for (const std::string& bytes : {encode_event(sample_event(type)), encode_event_json(sample_event(type))}) {
      for (size_t length = 0; length < bytes.size(); ++length)
        expect_corrupt(std::string_view(bytes).substr(0, length));
    }
  }
}

TEST(DecodeEvent, RefusesTrailingBytes) {
  for (EventType type : kAllEventTypes) {
    expect_corrupt(encode_event(sample_event(type)) + '\0');
    expect_corrupt(encode_event(sample_event(type)) + "x");
  }
}

// The binary form's single-byte fields: the format number, the flags, the
// enums and the bool take only the values the encoder writes.
TEST(DecodeEvent, RefusesUnknownFormatsFlagsEnumsAndBools) {
  const std::string order = encode_event(sample_event(EventType::kOrderRejected));
  // Offsets in the binary layout: format 0, seq 1..8, type 9, ts 10..17,
  // product 18..25, seller length 26..29 then the seller, quantity, flags.
  const size_t seller_size = sample_event(EventType::kOrderRejected).seller.size();
  const size_t flags_at = 30 + seller_size + 4;
  const size_t reason_at = flags_at + 1 + 8 + 4 + std::string("buyer-9").size() + 8;
  const size_t was_reserved_at = reason_at + 1;
  ASSERT_EQ(order[flags_at], 1);
  ASSERT_EQ(order[reason_at], static_cast<char>(RejectReason::kPaymentDeclined));
  ASSERT_EQ(order[was_reserved_at], 1);
  struct Case {
    size_t at;
    uint8_t value;
  };
  for (Case c : {Case{0, 0}, Case{0, 1}, Case{0, 3}, Case{0, 255}, Case{9, 8}, Case{9, 255}, Case{flags_at, 2},
                 Case{flags_at, 3}, Case{flags_at, 128}, Case{reason_at, 6}, Case{reason_at, 255},
                 Case{was_reserved_at, 2}, Case{was_reserved_at, 255}}) {
    SCOPED_TRACE("byte " + std::to_string(c.at) + " = " + std::to_string(c.value));
    std::string broken = order;
    broken[c.at] = static_cast<char>(c.value);
    expect_corrupt(broken);
  }
}

TEST(DecodeEvent, ReadsTheJsonRecordsOlderVersionsWrote) {
  for (EventType type : kAllEventTypes) {
    SCOPED_TRACE(std::string(event_type_name(type)));
    const Event event = sample_event(type);
    const std::string old_record = encode_event_json(event);
    ASSERT_EQ(old_record.front(), '{');
    Result<Event> decoded = decode_event(old_record);
    ASSERT_TRUE(decoded.ok()) << decoded.error().message;
    expect_same_event(event, *decoded);
    // Written again, it is the binary form of the same event.
    EXPECT_EQ(encode_event(*decoded), encode_event(event));
  }
}

TEST(EncodeEvent, IsBinaryLittleEndianAndSmallerThanJson) {
  Event event = sample_event(EventType::kOrderConfirmed);
  event.seq = 0x0102030405060708ull;
  const std::string bytes = encode_event(event);
  ASSERT_GE(bytes.size(), 9u);
  EXPECT_EQ(bytes[0], 2);  // format
  EXPECT_EQ(bytes.substr(1, 8), std::string("\x08\x07\x06\x05\x04\x03\x02\x01", 8));
  EXPECT_LT(bytes.size(), encode_event_json(event).size());
}

TEST(DecodeEvent, RefusesEveryMissingField) {
  for (EventType type : kAllEventTypes) {
    SCOPED_TRACE(std::string(event_type_name(type)));
    const json::object full = encoded_object(sample_event(type));
    for (const auto& field : full) {
      // Without "order" the record is simply not about an order; the other
      // order keys are then ignored, so that one removal is legal.
      if (field.key() == "order") continue;
      SCOPED_TRACE(std::string(field.key()));
      json::object broken = full;
      broken.erase(field.key());
      expect_corrupt(json::serialize(broken));
    }
  }
}

TEST(DecodeEvent, RefusesEveryWronglyTypedField) {
  for (EventType type : kAllEventTypes) {
    SCOPED_TRACE(std::string(event_type_name(type)));
    const json::object full = encoded_object(sample_event(type));
    for (const auto& field : full) {
      SCOPED_TRACE(std::string(field.key()));
      std::vector<json::value> wrong_values{json::value(nullptr), json::value(json::object{})};
      if (field.value().is_string()) {
        wrong_values.emplace_back(1);
      } else {
        wrong_values.emplace_back("x");
        wrong_values.emplace_back(json::array{});
      }
      if (field.value().is_bool()) wrong_values.emplace_back(1);
      for (const json::value& wrong : wrong_values) {
        json::object broken = full;
        broken[field.key()] = wrong;
        expect_corrupt(json::serialize(broken));
      }
    }
  }
}

TEST(DecodeEvent, RefusesOutOfRangeNumbers) {
  const json::object order = encoded_object(sample_event(EventType::kOrderRejected));
  const json::object created = encoded_object(sample_event(EventType::kProductCreated));
  struct Case {
    const json::object* base;
    const char* key;
    json::value value;
  };
  const std::vector<Case> cases{
      {&order, "seq", json::value(-1)},
      {&order, "seq", json::value(1.5)},
      {&order, "ts", json::value(std::numeric_limits<uint64_t>::max())},
      {&order, "product", json::value(-7)},
      {&order, "order", json::value(-1)},
      {&order, "qty", json::value(int64_t{1} << 31)},
      {&order, "qty", json::value(-(int64_t{1} << 31) - 1)},
      {&order, "qty", json::value(2.5)},
      {&order, "amount", json::value(1e300)},
      {&order, "accepted", json::value(std::numeric_limits<uint64_t>::max())},
      {&order, "type", json::value(-1)},
      {&order, "type", json::value(8)},
      {&order, "type", json::value(255)},
      {&order, "type", json::value(int64_t{1} << 40)},
      {&order, "reason", json::value(-1)},
      {&order, "reason", json::value(6)},
      {&order, "reason", json::value(256)},
      {&created, "price", json::value(std::numeric_limits<uint64_t>::max())},
      {&created, "max_per_buyer", json::value(int64_t{1} << 32)},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.key) + " = " + json::serialize(c.value));
    json::object broken = *c.base;
    broken[c.key] = c.value;
    expect_corrupt(json::serialize(broken));
  }
}

TEST(DecodeEvent, RefusesMalformedInventory) {
  const json::object full = encoded_object(sample_event(EventType::kOrderReserved));
  std::vector<json::value> bad_inventories{
      json::array{},
      json::array{1, 2, 3, 4, 5, 6},
      json::array{1, 2, 3, 4, 5, 6, "7"},
      json::array{1, 2, 3, 4, 5, 6, -1},
      json::array{1, 2, 3, 4, 5, 6, 1.5},
      json::array{1, 2, nullptr, 4, 5, 6, 7},
      json::array{std::numeric_limits<uint64_t>::max(), 2, 3, 4, 5, 6, 7},
      json::array{json::array{}, 2, 3, 4, 5, 6, 7},
  };
  for (const json::value& inventory : bad_inventories) {
    SCOPED_TRACE(json::serialize(inventory));
    json::object broken = full;
    broken["inv"] = inventory;
    expect_corrupt(json::serialize(broken));
  }
}

TEST(DecodeEvent, RefusesDeepNestingWithoutCrashing) {
  expect_corrupt(std::string(100'000, '['));
  expect_corrupt(std::string(100'000, '[') + std::string(100'000, ']'));
  std::string nested_object;
  for (int i = 0; i < 10'000; ++i) nested_object += "{\"a\":";
  expect_corrupt(nested_object);
}

// Every mutation either fails cleanly or decodes to an event with in-range
// enums whose encoding decodes again.
TEST(DecodeEvent, SeededMutationsNeverThrowOrYieldOutOfRangeEnums) {
  // Both forms: the binary one, and the JSON older versions wrote (every
  // type in each, alternating by rounds of eight seeds).
  for (uint32_t seed = 1; seed <= 400; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    const EventType type = kAllEventTypes[seed % std::size(kAllEventTypes)];
    const bool json_form = (seed / std::size(kAllEventTypes)) % 2 == 1;
    std::string bytes = json_form ? encode_event_json(sample_event(type)) : encode_event(sample_event(type));
    for (int step = 0; step < 100; ++step) {
      std::string mutated = bytes;
      const int mutations = std::uniform_int_distribution<int>(1, 4)(rng);
      for (int m = 0; m < mutations && !mutated.empty(); ++m) {
        size_t at = std::uniform_int_distribution<size_t>(0, mutated.size() - 1)(rng);
        switch (std::uniform_int_distribution<int>(0, 3)(rng)) {
          case 0:
            mutated[at] = static_cast<char>(std::uniform_int_distribution<int>(0, 255)(rng));
            break;
          case 1:
            mutated.erase(at, 1);
            break;
          case 2:
            mutated.insert(at, 1, "0123456789-.,:{}[]\"e"[std::uniform_int_distribution<int>(0, 19)(rng)]);
            break;
          case 3:
            mutated.resize(at);
            break;
        }
      }
      Result<Event> decoded = decode_event(mutated);
      if (!decoded.ok()) {
        ASSERT_EQ(decoded.error().code, ErrorCode::kIo) << mutated;
        continue;
      }
      ASSERT_LE(static_cast<int>(decoded->type), static_cast<int>(EventType::kPaymentFailed)) << mutated;
      ASSERT_LE(static_cast<int>(decoded->reason), static_cast<int>(RejectReason::kInvalid)) << mutated;
      // A mutated record may decode to something non-canonical (say "order":0
      // with a buyer); one re-encoding normalises it, and from then on it is stable.
      const std::string normalised = encode_event(*decoded);
      Result<Event> again = decode_event(normalised);
      ASSERT_TRUE(again.ok()) << mutated;
      ASSERT_EQ(encode_event(*again), normalised) << mutated;
    }
  }
}

}  // namespace
}  // namespace hawker::market
