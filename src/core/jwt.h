// HS256 JSON Web Tokens with the claims hawker uses: sub, role, exp.
//
// verify() treats its input as untrusted: every failure is a value with a
// reason, never an exception or a crash. Stateless and thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace hawker {

enum class Role { kBuyer, kSeller };

std::string_view role_name(Role role);
bool parse_role(std::string_view text, Role& role);

struct Claims {
  std::string sub;
  Role role = Role::kBuyer;
  int64_t exp = 0;  // seconds since the Unix epoch
};

std::string sign_token(const Claims& claims, std::string_view secret);
Result<Claims> verify_token(std::string_view token, std::string_view secret, int64_t now_seconds);

// Reads the secret from `path`, creating it (mode 0600, 32 random bytes hex) if
// it does not exist and `create` is true.
Result<std::string> load_or_create_secret(const std::string& path, bool create);

std::string base64url_encode(std::string_view data);
bool base64url_decode(std::string_view text, std::string& out);

}  // namespace hawker
