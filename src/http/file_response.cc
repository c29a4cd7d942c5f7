#include "http/file_response.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <optional>
#include <utility>

#include "core/ids.h"

namespace hawker::http {
namespace {

constexpr size_t kNameStemBytesMax = 64;
constexpr std::string_view kErrorCache = "no-cache";
constexpr std::string_view kAllowedMethods = "GET, HEAD, OPTIONS";
constexpr std::string_view kExposedHeaders = "Content-Length, Content-Range, ETag, Last-Modified";

bool is_name_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

class UniqueFd {
 public:
  explicit UniqueFd(int fd = -1) : fd_(fd) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

struct OpenFile {
  std::optional<UniqueFd> fd;
  uint64_t size = 0;
  int64_t mtime_s = 0;
  int64_t mtime_ns = 0;  // since the epoch
};

// Opens folder/name for reading, following no symlink (neither the show
// folder nor the file) and accepting only a regular file up to the limit.
bool open_file(const std::string& folder, std::string_view name, OpenFile& file) {
  UniqueFd folder_fd(::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (folder_fd.get() < 0) return false;
  const std::string name_text(name);
  // O_NONBLOCK: opening a FIFO planted in the folder must not block a thread.
  file.fd.emplace(::openat(folder_fd.get(), name_text.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
  if (file.fd->get() < 0) return false;
  struct stat info {};
  if (::fstat(file.fd->get(), &info) != 0 || !S_ISREG(info.st_mode)) return false;
  if (info.st_size < 0 || static_cast<uint64_t>(info.st_size) > kFileBytesMax) return false;
  file.size = static_cast<uint64_t>(info.st_size);
  file.mtime_s = info.st_mtim.tv_sec;
  file.mtime_ns = static_cast<int64_t>(info.st_mtim.tv_sec) * 1'000'000'000 + info.st_mtim.tv_nsec;
  return true;
}

// Reads exactly `length` bytes at `offset`; false on an error or early EOF.
bool read_exact(int fd, uint64_t offset, uint64_t length, std::string& out) {
  assert(length <= kFileBytesMax);
  out.resize(length);
  uint64_t done = 0;
  while (done < length) {
    ssize_t n = ::pread(fd, out.data() + done, length - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<uint64_t>(n);
  }
  return true;
}

std::string hex(uint64_t value) {
  char buffer[17];
  auto [end, error] = std::to_chars(buffer, buffer + sizeof buffer, value, 16);
  assert(error == std::errc());
  return std::string(buffer, end);
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

constexpr const char* kWeekdays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// IMF-fixdate (RFC 9110 5.6.7): "Sun, 06 Nov 1994 08:49:37 GMT".
std::string http_date(int64_t unix_s) {
  const time_t seconds = static_cast<time_t>(unix_s);
  struct tm utc {};
  if (!::gmtime_r(&seconds, &utc)) return "Thu, 01 Jan 1970 00:00:00 GMT";
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%s, %02d %s %04d %02d:%02d:%02d GMT", kWeekdays[utc.tm_wday], utc.tm_mday,
                kMonths[utc.tm_mon], utc.tm_year + 1900, utc.tm_hour, utc.tm_min, utc.tm_sec);
  return buffer;
}

bool read_number(std::string_view text, size_t position, size_t count, int& value) {
  auto [end, error] = std::from_chars(text.data() + position, text.data() + position + count, value, 10);
  return error == std::errc() && end == text.data() + position + count;
}

// Parses an IMF-fixdate. The obsolete RFC 850 and asctime forms are not
// understood: the condition is then ignored and the full file sent, which is
// always a correct answer.
bool parse_http_date(std::string_view text, int64_t& unix_s) {
  text = trim(text);
  if (text.size() != 29 || text.substr(3, 2) != ", " || text[7] != ' ' || text[11] != ' ' || text[16] != ' ' ||
      text[19] != ':' || text[22] != ':' || text.substr(25) != " GMT")
    return false;
  struct tm utc {};
  int year = 0;
  if (!read_number(text, 5, 2, utc.tm_mday) || !read_number(text, 12, 4, year) ||
      !read_number(text, 17, 2, utc.tm_hour) || !read_number(text, 20, 2, utc.tm_min) ||
      !read_number(text, 23, 2, utc.tm_sec))
    return false;
  auto month = std::find(std::begin(kMonths), std::end(kMonths), text.substr(8, 3));
  if (month == std::end(kMonths)) return false;
  if (utc.tm_mday < 1 || utc.tm_mday > 31 || utc.tm_hour > 23 || utc.tm_min > 59 || utc.tm_sec > 60) return false;
  utc.tm_mon = static_cast<int>(month - std::begin(kMonths));
  utc.tm_year = year - 1900;
  unix_s = static_cast<int64_t>(::timegm(&utc));
  return true;
}

// If-None-Match (weak comparison, RFC 9110 13.1.2): "*" or any listed tag.
bool none_match_hits(std::string_view header, std::string_view etag) {
  while (!header.empty()) {
    size_t comma = header.find(',');
    std::string_view tag = trim(header.substr(0, comma));
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    if (tag == "*") return true;
    if (tag.substr(0, 2) == "W/") tag.remove_prefix(2);
    if (tag == etag) return true;
  }
  return false;
}

enum class RangeAnswer { kWholeFile, kPart, kUnsatisfiable };

bool parse_u64(std::string_view text, uint64_t& value) {
  if (text.empty()) return false;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value, 10);
  return error == std::errc() && end == text.data() + text.size();
}

// One byte range (RFC 9110 14.1.2) of a representation of `size` bytes:
// [first, last] when satisfiable. Malformed headers and lists of several
// ranges are ignored (the whole file), which the RFC allows.
RangeAnswer parse_range(std::string_view header, uint64_t size, uint64_t& first, uint64_t& last) {
  header = trim(header);
  constexpr std::string_view kUnit = "bytes=";
  if (header.size() < kUnit.size()) return RangeAnswer::kWholeFile;
  for (size_t i = 0; i < kUnit.size(); ++i) {
    char c = header[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kUnit[i]) return RangeAnswer::kWholeFile;
  }
  std::string_view spec = trim(header.substr(kUnit.size()));
  size_t dash = spec.find('-');
  if (spec.find(',') != std::string_view::npos || dash == std::string_view::npos) return RangeAnswer::kWholeFile;
  std::string_view from = spec.substr(0, dash);
  std::string_view to = spec.substr(dash + 1);
  uint64_t a = 0, b = 0;
  if (from.empty()) {  // the last `b` bytes
    if (!parse_u64(to, b)) return RangeAnswer::kWholeFile;
    if (b == 0 || size == 0) return RangeAnswer::kUnsatisfiable;
    first = size - std::min(b, size);
    last = size - 1;
    return RangeAnswer::kPart;
  }
  if (!parse_u64(from, a)) return RangeAnswer::kWholeFile;
  if (to.empty()) {
    b = UINT64_MAX;
  } else if (!parse_u64(to, b) || b < a) {
    return RangeAnswer::kWholeFile;
  }
  if (a >= size) return RangeAnswer::kUnsatisfiable;
  first = a;
  last = std::min(b, size - 1);
  return RangeAnswer::kPart;
}

void add_cors(Response& response) {
  response.headers.emplace_back("Access-Control-Allow-Origin", "*");
  response.headers.emplace_back("Access-Control-Expose-Headers", std::string(kExposedHeaders));
}

// An error in the API's envelope; `message` is one of our own constants.
Response error_response_of(int status, std::string_view code, std::string_view message) {
  assert(message.find('"') == std::string_view::npos && code.find('"') == std::string_view::npos);
  Response response;
  response.status = status;
  response.content_type = "application/json";
  response.body =
      std::string(R"({"error":{"code":")") + std::string(code) + R"(","message":")" + std::string(message) + "\"}}";
  response.headers.emplace_back("Cache-Control", std::string(kErrorCache));
  add_cors(response);
  return response;
}


// What a GET of one file sends, and how to validate it.
struct Representation {
  const FileType* type = nullptr;
  OpenFile file;
  std::string text;   // files read whole: the bytes served (after the transform)
  uint64_t size = 0;  // of the bytes served
  std::string etag;
  // Whether the file's mtime dates the bytes served: not when the transform
  // changed them, as that can change without the file changing.
  bool mtime_validates = true;
};

// If-None-Match, else If-Modified-Since (RFC 9110 13.2.2): true for a 304.
bool not_modified(const Request& request, const Representation& representation) {
  std::string_view if_none_match = request.header("if-none-match");
  if (!if_none_match.empty()) return none_match_hits(if_none_match, representation.etag);
  int64_t since_s = 0;
  return representation.mtime_validates && parse_http_date(request.header("if-modified-since"), since_s) &&
         since_s >= representation.file.mtime_s;
}

// The range a GET asks for, if If-Range (when present) says the client's
// copy is still this one.
RangeAnswer requested_range(const Request& request, const Representation& representation, uint64_t& first,
                            uint64_t& last) {
  std::string_view range = request.header("range");
  if (request.method != Method::kGet || range.empty()) return RangeAnswer::kWholeFile;
  std::string_view if_range = trim(request.header("if-range"));
  int64_t if_range_s = 0;
  const bool same = if_range.empty() || if_range == representation.etag ||
                    (representation.mtime_validates && parse_http_date(if_range, if_range_s) &&
                     if_range_s == representation.file.mtime_s);
  return same ? parse_range(range, representation.size, first, last) : RangeAnswer::kWholeFile;
}

// The answer to a GET or HEAD of a file that exists.
Response answer(const Request& request, Representation& representation) {
  const bool whole = representation.type->read_whole;
  Response response;
  response.content_type = std::string(representation.type->mime);
  response.headers.emplace_back("Accept-Ranges", "bytes");
  response.headers.emplace_back("Cache-Control", std::string(representation.type->cache_control));
  response.headers.emplace_back("ETag", representation.etag);
  response.headers.emplace_back("Last-Modified", http_date(representation.file.mtime_s));
  add_cors(response);
  const uint64_t size = representation.size;
  if (not_modified(request, representation)) {
    response.status = 304;
    response.content_length = size;  // what a 200 would send (RFC 9110 8.6)
    return response;
  }
  uint64_t first = 0, last = size == 0 ? 0 : size - 1;
  const RangeAnswer range = requested_range(request, representation, first, last);
  if (range == RangeAnswer::kUnsatisfiable) {
    Response refusal = error_response_of(416, "range_not_satisfiable", "the range is outside the file");
    refusal.headers.emplace_back("Content-Range", "bytes */" + std::to_string(size));
    refusal.headers.emplace_back("Accept-Ranges", "bytes");
    return refusal;
  }
  if (range == RangeAnswer::kPart) {
    response.status = 206;
    response.headers.emplace_back(
        "Content-Range", "bytes " + std::to_string(first) + "-" + std::to_string(last) + "/" + std::to_string(size));
  }
  const uint64_t length = size == 0 ? 0 : last - first + 1;
  if (request.method == Method::kHead) {
    response.content_length = length;
    return response;
  }
  if (whole) {
    response.body =
        range == RangeAnswer::kPart ? representation.text.substr(first, length) : std::move(representation.text);
  } else if (!read_exact(representation.file.fd->get(), first, length, response.body)) {
    return error_response_of(500, "internal", "cannot read the file");
  }
  return response;
}

}  // namespace

// [A-Za-z0-9_-]{1,64} and one known extension: no '/', '.', '%' or NUL can
// get through, so the name cannot leave the folder, and "x.ts.tmp" is not a name.
const FileType* file_type_of(std::string_view name, std::span<const FileType> types) {
  size_t dot = name.find('.');
  if (dot == 0 || dot == std::string_view::npos || dot > kNameStemBytesMax) return nullptr;
  if (!std::all_of(name.begin(), name.begin() + static_cast<std::ptrdiff_t>(dot), is_name_char)) return nullptr;
  std::string_view extension = name.substr(dot);
  for (const FileType& type : types)
    if (type.extension == extension) return &type;
  return nullptr;
}

Response file_response(const Request& request, const std::string& folder, std::string_view name,
                       const FileType& type, const FileTransform& transform) {
  Representation representation;
  representation.type = &type;
  OpenFile& file = representation.file;
  if (!open_file(folder, name, file)) return error_response_of(404, "not_found", "no such file");
  // Files read whole are small (playlists, pages); others only for the bytes sent.
  if (type.read_whole) {
    std::string& text = representation.text;
    if (!read_exact(file.fd->get(), 0, file.size, text))
      return error_response_of(500, "internal", "cannot read the file");
    if (transform && transform(text)) representation.mtime_validates = false;
    representation.size = text.size();
    representation.etag = "\"" + hex(fnv1a64(text)) + "\"";
  } else {
    representation.size = file.size;
    representation.etag = "\"" + hex(file.size) + "-" + hex(static_cast<uint64_t>(file.mtime_ns)) + "\"";
  }
  return answer(request, representation);
}

Response file_error(int status, std::string_view code, std::string_view message) {
  return error_response_of(status, code, message);
}

Response cors_preflight() {
  Response response;
  response.status = 204;
  response.headers.emplace_back("Access-Control-Allow-Methods", std::string(kAllowedMethods));
  response.headers.emplace_back("Access-Control-Allow-Headers", "Range");
  response.headers.emplace_back("Access-Control-Max-Age", "86400");
  add_cors(response);
  return response;
}

Response file_method_not_allowed() {
  Response response = error_response_of(405, "method_not_allowed", "method not allowed");
  response.headers.emplace_back("Allow", std::string(kAllowedMethods));
  return response;
}

}  // namespace hawker::http
