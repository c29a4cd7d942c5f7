// File responses: serving one file of a folder over HTTP the way CDNs and
// browsers expect, shared by the HLS origin (stream/hls_origin.h) and the web
// pages (app). Beast-free: only http/message.h values.
//
// A name is served only when it is a plain name, [A-Za-z0-9_-]{1,64} and one
// of the caller's extensions, so it can never leave the folder; the folder
// and the file are opened with O_NOFOLLOW (no symlink is followed) and only
// a regular file up to kFileBytesMax is served. Responses carry the type's
// Cache-Control, an ETag (a hash of the bytes for files read whole, else size
// and mtime) and Last-Modified; If-None-Match / If-Modified-Since give 304;
// single byte ranges on GET give 206 (416 when unsatisfiable; malformed or
// multiple ranges get the whole file); HEAD answers as GET without the body
// (Content-Length through Response::content_length); CORS for any origin.
// Errors use the API's JSON envelope with `Cache-Control: no-cache`.
//
// Thread-safe: free functions over their arguments.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "http/message.h"

namespace hawker::http {

// Larger files are refused (404): they are not ours to serve from memory.
inline constexpr uint64_t kFileBytesMax = 64ull * 1024 * 1024;

struct FileType {
  std::string_view extension;  // ".m3u8"
  std::string_view mime;
  std::string_view cache_control;
  // Read whole and offered to the transform (playlists, pages); else only
  // the bytes sent are read.
  bool read_whole = false;
};

// The type of `name` among `types`, or null when the name is not a plain
// name with one of their extensions.
const FileType* file_type_of(std::string_view name, std::span<const FileType> types);

// Rewrites the bytes of a file read whole before they are sent; returns
// whether it changed them (the file's mtime then no longer dates them).
using FileTransform = std::function<bool(std::string& bytes)>;

// GET or HEAD of folder/name of `type`; 404 when there is no such file.
Response file_response(const Request& request, const std::string& folder, std::string_view name,
                       const FileType& type, const FileTransform& transform = {});

// An error in the API's envelope; `code` and `message` hold no '"'.
Response file_error(int status, std::string_view code, std::string_view message);

// 204 to a CORS preflight.
Response cors_preflight();

// 405 naming the methods files allow.
Response file_method_not_allowed();

}  // namespace hawker::http
