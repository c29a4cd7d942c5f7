#include "core/jwt.h"
#include "core/ids.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <fstream>
#include <sstream>

#include <boost/json.hpp>
#include <openssl/crypto.h>
#include <openssl/hmac.h>

namespace hawker {
namespace {

constexpr size_t kTokenMaxBytes = 4096;
constexpr size_t kSubMaxBytes = 128;

std::string hmac_sha256(std::string_view key, std::string_view data) {
  std::array<unsigned char, 32> digest{};
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), digest.data(), &length);
  return std::string(reinterpret_cast<const char*>(digest.data()), length);
}

}  // namespace

std::string_view role_name(Role role) { return role == Role::kSeller ? "seller" : "buyer"; }

bool parse_role(std::string_view text, Role& role) {
  if (text == "buyer") role = Role::kBuyer;
  else if (text == "seller") role = Role::kSeller;
  else return false;
  return true;
}

std::string base64url_encode(std::string_view data) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((data.size() * 4 + 2) / 3);
  size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    uint32_t n = (uint8_t(data[i]) << 16) | (uint8_t(data[i + 1]) << 8) | uint8_t(data[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  if (i + 1 == data.size()) {
    uint32_t n = uint8_t(data[i]) << 16;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
  } else if (i + 2 == data.size()) {
    uint32_t n = (uint8_t(data[i]) << 16) | (uint8_t(data[i + 1]) << 8);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
  }
  return out;
}

bool base64url_decode(std::string_view text, std::string& out) {
  auto value_of = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
  };
  if (text.size() % 4 == 1) return false;
  out.clear();
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    int v = value_of(c);
    if (v < 0) return false;
    buffer = (buffer << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xFF));
    }
  }
  // The spare low bits of the last character must be zero: each byte string
  // then has one encoding, so a signature cannot be altered and still verify.
  return (buffer & ((1u << bits) - 1)) == 0;
}

std::string sign_token(const Claims& claims, std::string_view secret) {
  std::string header = base64url_encode(R"({"alg":"HS256","typ":"JWT"})");
  boost::json::object payload;
  payload["sub"] = claims.sub;
  payload["role"] = role_name(claims.role);
  payload["exp"] = claims.exp;
  std::string signing_input = header + "." + base64url_encode(boost::json::serialize(payload));
  return signing_input + "." + base64url_encode(hmac_sha256(secret, signing_input));
}

Result<Claims> verify_token(std::string_view token, std::string_view secret, int64_t now_seconds) {
  auto bad = [](std::string message) { return make_error(ErrorCode::kUnauthorized, std::move(message)); };
  if (token.empty()) return bad("missing token");
  if (token.size() > kTokenMaxBytes) return bad("token too long");
  size_t first = token.find('.');
  size_t second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos)
    return bad("malformed token");
  std::string_view signing_input = token.substr(0, second);
  std::string signature;
  if (!base64url_decode(token.substr(second + 1), signature)) return bad("malformed token signature");
  std::string expected = hmac_sha256(secret, signing_input);
  if (signature.size() != expected.size() || CRYPTO_memcmp(signature.data(), expected.data(), expected.size()) != 0)
    return bad("bad token signature");

  std::string header_text, payload_text;
  if (!base64url_decode(token.substr(0, first), header_text) ||
      !base64url_decode(token.substr(first + 1, second - first - 1), payload_text))
    return bad("malformed token");
  boost::system::error_code ec;
  boost::json::value header = boost::json::parse(header_text, ec);
  if (ec || !header.is_object()) return bad("malformed token header");
  const auto* alg = header.as_object().if_contains("alg");
  if (!alg || !alg->is_string() || alg->as_string() != "HS256") return bad("unsupported token algorithm");
  boost::json::value payload = boost::json::parse(payload_text, ec);
  if (ec || !payload.is_object()) return bad("malformed token claims");
  const auto& object = payload.as_object();
  const auto* sub = object.if_contains("sub");
  const auto* role = object.if_contains("role");
  const auto* exp = object.if_contains("exp");
  if (!sub || !sub->is_string() || sub->as_string().empty() || sub->as_string().size() > kSubMaxBytes)
    return bad("token has no valid sub");
  Claims claims;
  claims.sub = std::string(sub->as_string());
  if (!role || !role->is_string() || !parse_role(std::string_view(role->as_string()), claims.role))
    return bad("token has no valid role");
  if (!exp || !(exp->is_int64() || exp->is_uint64())) return bad("token has no valid exp");
  claims.exp = exp->is_int64() ? exp->as_int64() : static_cast<int64_t>(exp->as_uint64());
  if (claims.exp <= now_seconds) return bad("token expired");
  return claims;
}

Result<std::string> load_or_create_secret(const std::string& path, bool create) {
  std::ifstream in(path);
  if (in) {
    std::stringstream buffer;
    buffer << in.rdbuf();
    std::string secret = buffer.str();
    while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r' || secret.back() == ' ')) secret.pop_back();
    if (secret.size() < 16) return make_error(ErrorCode::kInvalid, "secret file " + path + " holds under 16 bytes");
    return secret;
  }
  if (!create) return make_error(ErrorCode::kNotFound, "cannot read secret file " + path);
  std::string secret = random_hex(32);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) {
    // Lost a race with another process creating it: read theirs.
    if (errno == EEXIST) return load_or_create_secret(path, false);
    return make_error(ErrorCode::kIo, "cannot create secret file " + path);
  }
  std::string line = secret + "\n";
  bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!written || !synced) return make_error(ErrorCode::kIo, "cannot write secret file " + path);
  return secret;
}

}  // namespace hawker
