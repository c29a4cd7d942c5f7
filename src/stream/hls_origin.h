// HlsOrigin: serves the HLS files ffmpeg writes (DATA/hls/shw_<id>/) over
// HTTP, as the origin behind a CDN or straight to players.
//
//   GET|HEAD|OPTIONS /hls/{show}/{file}
//
// {show} is a show id ("shw_42", canonical form only) and {file} a plain name
// [A-Za-z0-9_-]{1,64} with one of .m3u8 .ts .m4s .mp4 .aac. Anything else
// (more path segments, "..", percent-escapes, .tmp files, a show without a
// folder, a missing file, a symlink, a file over kFileBytesMax) is a 404 with
// the API's JSON error body. The query string plays no part in the lookup.
// Files are opened relative to the show folder with O_NOFOLLOW (the folder
// itself too), so nothing outside a show folder is ever served.
//
// Files are served by http/file_response.h. Media playlists (every .m3u8 but
// master.m3u8) get the show's product moments as #EXT-X-DATERANGE tags
// (stream/playlist.h). Responses carry:
//  - Cache-Control: playlists `public, max-age=1` (they change every
//    segment), segments `public, max-age=86400, immutable` (never rewritten),
//    errors `no-cache` (a segment asked for just before it exists must not
//    be cached as missing);
//  - ETag (playlists: a hash of the bytes served; other files: size and
//    mtime) and Last-Modified; If-None-Match and If-Modified-Since give 304;
//  - single byte ranges on GET (206, 416 when unsatisfiable; malformed or
//    multiple ranges get the whole file), Accept-Ranges: bytes;
//  - CORS for any origin (players run on other sites).
// HEAD answers as GET without the body (Content-Length set through
// http::Response::content_length); Range applies to GET only (RFC 9110 14.2).
//
// Thread-safety: serve() may be called from many threads at once; the object
// holds no mutable state besides metric counters. MomentsFn is called from
// those threads too, so it must be thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/metrics.h"
#include "http/file_response.h"
#include "http/message.h"
#include "stream/playlist.h"

namespace hawker::stream {

// Larger files are refused (404): segments are a few MB.
using http::kFileBytesMax;

class HlsOrigin {
 public:
  // The product moments of a show, to tag its media playlists with.
  using MomentsFn = std::function<std::vector<Moment>(uint64_t show_id)>;

  // `root` holds one folder per show (root/shw_42/...). `moments` may be
  // empty (no tags); `metrics` may be null, else must outlive this object.
  HlsOrigin(std::string root, MomentsFn moments, Registry* metrics);

  // Answers one request for a path under /hls/. Never throws for bad input.
  http::Response serve(const http::Request& request) const;

 private:
  http::Response not_found() const;

  std::string root_;
  MomentsFn moments_;
  Counter* playlist_requests_ = nullptr;
  Counter* segment_requests_ = nullptr;
  Counter* not_found_requests_ = nullptr;
};

}  // namespace hawker::stream
