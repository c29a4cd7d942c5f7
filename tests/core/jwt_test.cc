// Proves HS256 tokens (core/jwt.h) admit exactly the tokens we signed and
// nothing else: sign/verify round-trips the claims; an expired token, a wrong
// secret, any single-character change anywhere in the token, a tampered header
// or payload, alg "none" and any other algorithm, and every invalid claim are
// refused; malformed input (empty, missing or extra dots, garbage base64, huge,
// seeded random garbage) comes back as a kUnauthorized error, never an
// exception or a crash. Also proves role parsing, base64url (RFC 4648 vectors,
// round trips of lengths 0..10, canonical decoding only) and that
// load_or_create_secret creates a 0600 file once and reads the same secret back.
#include "core/jwt.h"

#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <openssl/hmac.h>

namespace hawker {
namespace {

constexpr std::string_view kSecret = "0123456789abcdef0123456789abcdef";
constexpr int64_t kNow = 1'700'000'000;
constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

Claims buyer_claims() { return Claims{"buyer-42", Role::kBuyer, kNow + 3600}; }

std::string hmac_sha256(std::string_view key, std::string_view data) {
  std::array<unsigned char, 32> digest{};
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), digest.data(), &length);
  return std::string(reinterpret_cast<const char*>(digest.data()), length);
}

// A token with any header and payload text, correctly signed with `secret`:
// lets the tests reach the checks that come after the signature.
std::string craft_token(std::string_view header, std::string_view payload, std::string_view secret = kSecret) {
  std::string signing_input = base64url_encode(header) + "." + base64url_encode(payload);
  return signing_input + "." + base64url_encode(hmac_sha256(secret, signing_input));
}

constexpr std::string_view kHs256Header = R"({"alg":"HS256","typ":"JWT"})";

std::string payload_with_exp(int64_t exp) {
  return R"({"sub":"buyer-42","role":"buyer","exp":)" + std::to_string(exp) + "}";
}

// verify_token must refuse with kUnauthorized and must not throw.
void expect_refused(std::string_view token, std::string_view secret = kSecret, int64_t now = kNow) {
  SCOPED_TRACE(std::string(token.substr(0, 120)));
  bool threw = false;
  try {
    Result<Claims> claims = verify_token(token, secret, now);
    ASSERT_FALSE(claims.ok()) << "accepted sub " << claims->sub;
    EXPECT_EQ(claims.error().code, ErrorCode::kUnauthorized);
    EXPECT_FALSE(claims.error().message.empty());
  } catch (...) {
    threw = true;
  }
  EXPECT_FALSE(threw);
}

void expect_refused_with(std::string_view token, std::string_view message_part) {
  Result<Claims> claims = verify_token(token, kSecret, kNow);
  ASSERT_FALSE(claims.ok());
  EXPECT_EQ(claims.error().code, ErrorCode::kUnauthorized);
  EXPECT_NE(claims.error().message.find(message_part), std::string::npos) << claims.error().message;
}

// --- Roles ---------------------------------------------------------------------

TEST(Role, NamesRoundTrip) {
  EXPECT_EQ(role_name(Role::kBuyer), "buyer");
  EXPECT_EQ(role_name(Role::kSeller), "seller");
  for (Role role : {Role::kBuyer, Role::kSeller}) {
    Role parsed = role == Role::kBuyer ? Role::kSeller : Role::kBuyer;
    ASSERT_TRUE(parse_role(role_name(role), parsed));
    EXPECT_EQ(parsed, role);
  }
}

TEST(Role, ParseRefusesAnythingElseAndLeavesOutputAlone) {
  for (std::string_view text : std::initializer_list<std::string_view>{
           "", "Buyer", "SELLER", "buyer ", " seller", "admin", "root", "buyers", std::string_view("seller\0", 7)}) {
    Role role = Role::kSeller;
    EXPECT_FALSE(parse_role(text, role)) << text;
    EXPECT_EQ(role, Role::kSeller);
  }
}

// --- Sign and verify -------------------------------------------------------------

TEST(Jwt, RoundTripsBuyerAndSellerClaims) {
  for (Role role : {Role::kBuyer, Role::kSeller}) {
    Claims claims{"user \"q\" ünï", role, kNow + 60};
    Result<Claims> verified = verify_token(sign_token(claims, kSecret), kSecret, kNow);
    ASSERT_TRUE(verified.ok()) << verified.error().message;
    EXPECT_EQ(verified->sub, claims.sub);
    EXPECT_EQ(verified->role, role);
    EXPECT_EQ(verified->exp, claims.exp);
  }
}

TEST(Jwt, TokenHasThreeBase64UrlSegmentsAndTheStandardHeader) {
  std::string token = sign_token(buyer_claims(), kSecret);
  size_t first = token.find('.');
  size_t second = token.find('.', first + 1);
  ASSERT_NE(first, std::string::npos);
  ASSERT_NE(second, std::string::npos);
  EXPECT_EQ(token.find('.', second + 1), std::string::npos);
  for (char c : token) EXPECT_TRUE(c == '.' || kAlphabet.find(c) != std::string_view::npos) << c;
  std::string header;
  ASSERT_TRUE(base64url_decode(std::string_view(token).substr(0, first), header));
  EXPECT_EQ(header, kHs256Header);
  std::string signature;
  ASSERT_TRUE(base64url_decode(std::string_view(token).substr(second + 1), signature));
  EXPECT_EQ(signature.size(), 32u);
}

TEST(Jwt, SubOfExactlyTheLimitIsAccepted) {
  Claims claims{std::string(128, 's'), Role::kSeller, kNow + 1};
  Result<Claims> verified = verify_token(sign_token(claims, kSecret), kSecret, kNow);
  ASSERT_TRUE(verified.ok()) << verified.error().message;
  EXPECT_EQ(verified->sub, claims.sub);
}

TEST(Jwt, ExpiresAtExp) {
  Claims claims = buyer_claims();
  claims.exp = kNow + 1;
  std::string token = sign_token(claims, kSecret);
  EXPECT_TRUE(verify_token(token, kSecret, kNow).ok());
  expect_refused(token, kSecret, kNow + 1);  // exp is exclusive
  expect_refused(token, kSecret, kNow + 1'000'000);
  Result<Claims> late = verify_token(token, kSecret, kNow + 1);
  ASSERT_FALSE(late.ok());
  EXPECT_NE(late.error().message.find("expired"), std::string::npos);
}

TEST(Jwt, ExpInThePastOrNegativeIsRefused) {
  for (int64_t exp : {int64_t{0}, int64_t{-1}, kNow - 1, std::numeric_limits<int64_t>::min()}) {
    Claims claims = buyer_claims();
    claims.exp = exp;
    expect_refused(sign_token(claims, kSecret));
  }
}

TEST(Jwt, WrongSecretIsRefused) {
  std::string token = sign_token(buyer_claims(), kSecret);
  expect_refused(token, "another secret entirely");
  expect_refused(token, "");
  std::string one_bit_off(kSecret);
  one_bit_off.back() ^= 1;
  expect_refused(token, one_bit_off);
  std::string longer = std::string(kSecret) + "x";
  expect_refused(token, longer);
  expect_refused_with(sign_token(buyer_claims(), "other"), "signature");
}

TEST(Jwt, TamperedPayloadIsRefused) {
  std::string token = sign_token(buyer_claims(), kSecret);
  size_t first = token.find('.');
  size_t second = token.find('.', first + 1);
  std::string forged_payload =
      base64url_encode(R"({"sub":"buyer-42","role":"seller","exp":)" + std::to_string(kNow + 3600) + "}");
  std::string forged = token.substr(0, first + 1) + forged_payload + token.substr(second);
  expect_refused(forged);
  expect_refused_with(forged, "signature");

  std::string other_sub = base64url_encode(payload_with_exp(kNow + 3600).replace(8, 8, "seller-1"));
  expect_refused(token.substr(0, first + 1) + other_sub + token.substr(second));
}

TEST(Jwt, TamperedHeaderIsRefused) {
  std::string token = sign_token(buyer_claims(), kSecret);
  size_t first = token.find('.');
  expect_refused(base64url_encode(R"({"alg":"HS256","typ":"JWT","kid":"x"})") + token.substr(first));
  expect_refused(base64url_encode(R"({"alg":"none","typ":"JWT"})") + token.substr(first));
}

TEST(Jwt, EverySingleCharacterChangeIsRefused) {
  const std::string token = sign_token(buyer_claims(), kSecret);
  const std::string replacements = std::string(kAlphabet) + ".=+/ \n";
  size_t tried = 0;
  for (size_t at = 0; at < token.size(); ++at) {
    for (char c : replacements) {
      if (c == token[at]) continue;
      std::string changed = token;
      changed[at] = c;
      expect_refused(changed);
      ++tried;
      if (HasFatalFailure()) return;
    }
  }
  EXPECT_GT(tried, token.size() * 60);
}

TEST(Jwt, InsertedOrDeletedCharactersAreRefused) {
  const std::string token = sign_token(buyer_claims(), kSecret);
  for (size_t at = 0; at <= token.size(); ++at) {
    std::string inserted = token;
    inserted.insert(at, 1, 'A');
    expect_refused(inserted);
    if (at < token.size()) {
      std::string deleted = token;
      deleted.erase(at, 1);
      expect_refused(deleted);
    }
  }
}

TEST(Jwt, SignatureFromAnotherTokenIsRefused) {
  std::string buyer = sign_token(buyer_claims(), kSecret);
  std::string seller = sign_token(Claims{"buyer-42", Role::kSeller, kNow + 3600}, kSecret);
  std::string spliced = seller.substr(0, seller.rfind('.')) + buyer.substr(buyer.rfind('.'));
  expect_refused(spliced);
}

// --- Algorithms ------------------------------------------------------------------

TEST(Jwt, AlgNoneWithoutSignatureIsRefused) {
  std::string header = base64url_encode(R"({"alg":"none","typ":"JWT"})");
  std::string payload = base64url_encode(payload_with_exp(kNow + 3600));
  expect_refused(header + "." + payload + ".");
  expect_refused(header + "." + payload);
  expect_refused(base64url_encode(R"({"alg":"none"})") + "." + payload + ".");
}

TEST(Jwt, AnyAlgorithmButHs256IsRefusedEvenWhenCorrectlySigned) {
  for (std::string_view header : std::initializer_list<std::string_view>{
           R"({"alg":"none","typ":"JWT"})", R"({"alg":"None"})", R"({"alg":"hs256"})", R"({"alg":"HS512","typ":"JWT"})",
           R"({"alg":"RS256"})", R"({"alg":""})", R"({"alg":256})", R"({"alg":null})", R"({"alg":["HS256"]})",
           R"({"typ":"JWT"})", "{}"}) {
    SCOPED_TRACE(std::string(header));
    std::string token = craft_token(header, payload_with_exp(kNow + 3600));
    expect_refused(token);
    expect_refused_with(token, "algorithm");
  }
}

TEST(Jwt, CraftedHs256TokenIsAcceptedSoTheRefusalsAboveAreMeaningful) {
  Result<Claims> claims = verify_token(craft_token(kHs256Header, payload_with_exp(kNow + 10)), kSecret, kNow);
  ASSERT_TRUE(claims.ok()) << claims.error().message;
  EXPECT_EQ(claims->sub, "buyer-42");
  // The header needs only alg; extra members are ignored.
  EXPECT_TRUE(verify_token(craft_token(R"({"alg":"HS256"})", payload_with_exp(kNow + 10)), kSecret, kNow).ok());
}

// --- Claims --------------------------------------------------------------------

TEST(Jwt, InvalidClaimsAreRefusedEvenWhenCorrectlySigned) {
  const std::string exp = std::to_string(kNow + 3600);
  const std::string long_sub(129, 's');
  const std::vector<std::string> payloads{
      R"({"role":"buyer","exp":)" + exp + "}",
      R"({"sub":"","role":"buyer","exp":)" + exp + "}",
      R"({"sub":")" + long_sub + R"(","role":"buyer","exp":)" + exp + "}",
      R"({"sub":42,"role":"buyer","exp":)" + exp + "}",
      R"({"sub":null,"role":"buyer","exp":)" + exp + "}",
      R"({"sub":"u","exp":)" + exp + "}",
      R"({"sub":"u","role":"admin","exp":)" + exp + "}",
      R"({"sub":"u","role":"Buyer","exp":)" + exp + "}",
      R"({"sub":"u","role":1,"exp":)" + exp + "}",
      R"({"sub":"u","role":"buyer"})",
      R"({"sub":"u","role":"buyer","exp":")" + exp + R"("})",
      R"({"sub":"u","role":"buyer","exp":1e10})",
      R"({"sub":"u","role":"buyer","exp":1700003600.5})",
      R"({"sub":"u","role":"buyer","exp":null})",
      R"({"sub":"u","role":"buyer","exp":true})",
      R"(["u","buyer",)" + exp + "]",
      "null",
      "42",
      R"("a string")",
      R"({"sub":"u","role":"buyer","exp":)" + exp,  // not JSON
      "",
  };
  for (const std::string& payload : payloads) {
    SCOPED_TRACE(payload);
    expect_refused(craft_token(kHs256Header, payload));
  }
}

TEST(Jwt, HeaderThatIsNotAJsonObjectIsRefused) {
  for (std::string_view header :
       std::initializer_list<std::string_view>{"", "null", "[]", R"(["HS256"])", "HS256", R"({"alg":"HS256")"}) {
    SCOPED_TRACE(std::string(header));
    expect_refused(craft_token(header, payload_with_exp(kNow + 3600)));
  }
}

TEST(Jwt, SegmentsThatAreNotBase64AreRefusedEvenWhenCorrectlySigned) {
  std::string payload = base64url_encode(payload_with_exp(kNow + 3600));
  for (std::string_view header : std::initializer_list<std::string_view>{"!!!!", "eyJ=", "a+b/", "A"}) {
    std::string signing_input = std::string(header) + "." + payload;
    expect_refused(signing_input + "." + base64url_encode(hmac_sha256(kSecret, signing_input)));
  }
}

// --- Malformed input -------------------------------------------------------------

TEST(Jwt, MalformedInputIsRefused) {
  const std::string token = sign_token(buyer_claims(), kSecret);
  const std::vector<std::string> inputs{
      "",
      ".",
      "..",
      "...",
      "a",
      "a.b",
      "a.b.c.d",
      "a..b",
      "..a",
      "!!!.@@@.###",
      "eyJhbGciOiJIUzI1NiJ9.e30.A",  // signature of impossible length (4n+1)
      "eyJhbGciOiJIUzI1NiJ9.e30.",
      std::string("a\0b.c\0d.e\0f", 11),
      token + ".",
      "." + token,
      " " + token,
      token + "\n",
      token + "." + token,
      std::string(4097, 'a'),
      std::string(4097, '.'),
      token + std::string(4097 - token.size(), 'A'),
      std::string(10 << 20, 'A') + "." + "B" + "." + "C",
  };
  for (const std::string& input : inputs) expect_refused(input);
  expect_refused_with(std::string(4097, 'a'), "too long");
  expect_refused_with("", "missing");
}

TEST(Jwt, SeededRandomGarbageIsRefusedWithoutCrashing) {
  const std::string token = sign_token(buyer_claims(), kSecret);
  std::string characters = std::string(kAlphabet) + "...=+/ {}\"\\";
  characters.push_back('\0');
  characters.push_back('\xff');
  for (uint32_t seed = 1; seed <= 2000; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    std::string garbage;
    if (seed % 2 == 0) {
      size_t length = std::uniform_int_distribution<size_t>(0, 300)(rng);
      for (size_t i = 0; i < length; ++i) {
        garbage.push_back(characters[std::uniform_int_distribution<size_t>(0, characters.size() - 1)(rng)]);
      }
    } else {
      garbage = token;
      int edits = std::uniform_int_distribution<int>(1, 6)(rng);
      for (int e = 0; e < edits; ++e) {
        size_t at = std::uniform_int_distribution<size_t>(0, garbage.size() - 1)(rng);
        garbage[at] = characters[std::uniform_int_distribution<size_t>(0, characters.size() - 1)(rng)];
      }
      if (garbage == token) continue;
    }
    expect_refused(garbage);
    if (HasFatalFailure()) return;
  }
}

// --- base64url -------------------------------------------------------------------

TEST(Base64Url, MatchesRfc4648VectorsWithoutPadding) {
  const std::pair<std::string_view, std::string_view> vectors[] = {
      {"", ""},           {"f", "Zg"},          {"fo", "Zm8"},          {"foo", "Zm9v"},
      {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(base64url_encode(plain), encoded);
    std::string decoded = "stale";
    ASSERT_TRUE(base64url_decode(encoded, decoded));
    EXPECT_EQ(decoded, plain);
  }
}

TEST(Base64Url, UsesTheUrlSafeAlphabet) {
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
  EXPECT_EQ(base64url_encode("\xff\xff\xff"), "____");
  EXPECT_EQ(base64url_encode(std::string("\0\0\0", 3)), "AAAA");
  std::string decoded;
  ASSERT_TRUE(base64url_decode("-_8", decoded));
  EXPECT_EQ(decoded, "\xfb\xff");
}

TEST(Base64Url, RoundTripsEveryLengthFromZeroToTen) {
  std::mt19937 rng(7);
  for (size_t length = 0; length <= 10; ++length) {
    std::vector<std::string> inputs{std::string(length, '\0'), std::string(length, '\xff'), std::string(length, 'a')};
    std::string counting, random;
    for (size_t i = 0; i < length; ++i) {
      counting.push_back(static_cast<char>(i * 37 + 1));
      random.push_back(static_cast<char>(std::uniform_int_distribution<int>(0, 255)(rng)));
    }
    inputs.push_back(counting);
    inputs.push_back(random);
    for (const std::string& input : inputs) {
      SCOPED_TRACE("length " + std::to_string(length));
      std::string encoded = base64url_encode(input);
      EXPECT_EQ(encoded.size(), (length * 4 + 2) / 3);
      for (char c : encoded) EXPECT_NE(kAlphabet.find(c), std::string_view::npos) << c;
      std::string decoded;
      ASSERT_TRUE(base64url_decode(encoded, decoded));
      EXPECT_EQ(decoded, input);
    }
  }
}

TEST(Base64Url, RoundTripsAllByteValues) {
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  std::string decoded;
  ASSERT_TRUE(base64url_decode(base64url_encode(all), decoded));
  EXPECT_EQ(decoded, all);
}

TEST(Base64Url, RefusesCharactersOutsideTheAlphabetAndImpossibleLengths) {
  for (std::string_view text : std::initializer_list<std::string_view>{
           "Zg==", "Zm9v+", "Zm9v/A", "Zm 9v", "Zm9v\n", "A", "Zm9vY", "=", std::string_view("Zg\0", 3), "\xc3\xa9"}) {
    std::string decoded;
    EXPECT_FALSE(base64url_decode(text, decoded)) << text;
  }
}

// Each byte string has exactly one encoding; the unused low bits of the last
// character must be zero, or a token could be altered and still verify.
TEST(Base64Url, RefusesNonCanonicalTrailingBits) {
  for (std::string_view text :
       std::initializer_list<std::string_view>{"Zh", "Zj", "Z_", "Zm9", "Zm_", "Zm9vYh", "Zm9vYmF", "Zm9vYmG"}) {
    std::string decoded;
    EXPECT_FALSE(base64url_decode(text, decoded)) << text;
  }
  for (std::string_view text : std::initializer_list<std::string_view>{"Zg", "Zm8", "Zm9vYg", "Zm9vYmE"}) {
    std::string decoded;
    EXPECT_TRUE(base64url_decode(text, decoded)) << text;
  }
}

// --- Secret file -----------------------------------------------------------------

class SecretFile : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "hawker_jwt_test_XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    directory_ = pattern;
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(directory_, ignored);
  }
  std::string path(std::string_view name) const { return (directory_ / name).string(); }
  static void write_file(const std::string& path, std::string_view content) {
    std::ofstream out(path, std::ios::binary);
    out << content;
  }

  std::filesystem::path directory_;
};

TEST_F(SecretFile, CreatesA0600FileWith64HexCharacters) {
  const std::string file = path("secret");
  Result<std::string> created = load_or_create_secret(file, true);
  ASSERT_TRUE(created.ok()) << created.error().message;
  EXPECT_EQ(created->size(), 64u);
  EXPECT_EQ(created->find_first_not_of("0123456789abcdef"), std::string::npos);

  struct stat info {};
  ASSERT_EQ(::stat(file.c_str(), &info), 0);
  EXPECT_TRUE(S_ISREG(info.st_mode));
  EXPECT_EQ(info.st_mode & 0777, 0600u);

  std::ifstream in(file);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, *created + "\n");
}

TEST_F(SecretFile, ReadsTheSameSecretBackAndNeverOverwrites) {
  const std::string file = path("secret");
  Result<std::string> created = load_or_create_secret(file, true);
  ASSERT_TRUE(created.ok()) << created.error().message;
  Result<std::string> loaded = load_or_create_secret(file, false);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(*loaded, *created);
  Result<std::string> again = load_or_create_secret(file, true);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(*again, *created);

  // And it signs tokens the next start can verify.
  std::string token = sign_token(buyer_claims(), *created);
  EXPECT_TRUE(verify_token(token, *loaded, kNow).ok());
}

TEST_F(SecretFile, FreshFilesGetDifferentSecrets) {
  Result<std::string> first = load_or_create_secret(path("a"), true);
  Result<std::string> second = load_or_create_secret(path("b"), true);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_NE(*first, *second);
}

TEST_F(SecretFile, MissingFileWithoutCreateIsNotFound) {
  Result<std::string> loaded = load_or_create_secret(path("absent"), false);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error().code, ErrorCode::kNotFound);
  EXPECT_FALSE(std::filesystem::exists(path("absent")));
}

TEST_F(SecretFile, ReadsAnOperatorWrittenSecretAndTrimsTrailingWhitespace) {
  const std::string file = path("operator");
  write_file(file, "an operator chose this secret \r\n");
  Result<std::string> loaded = load_or_create_secret(file, false);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(*loaded, "an operator chose this secret");
}

TEST_F(SecretFile, RefusesASecretUnderSixteenBytes) {
  const std::string file = path("short");
  write_file(file, "fifteen-bytes!!\n\n");
  Result<std::string> loaded = load_or_create_secret(file, true);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error().code, ErrorCode::kInvalid);
  write_file(file, "");
  EXPECT_FALSE(load_or_create_secret(file, true).ok());
}

TEST_F(SecretFile, UncreatableFileIsAnIoError) {
  Result<std::string> created = load_or_create_secret(path("no/such/dir/secret"), true);
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.error().code, ErrorCode::kIo);
}

}  // namespace
}  // namespace hawker
