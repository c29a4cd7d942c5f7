#include "stream/hls_origin.h"

#include <cassert>
#include <utility>

#include "core/ids.h"
#include "http/file_response.h"

namespace hawker::stream {
namespace {

using http::Method;
using http::Request;
using http::Response;

constexpr std::string_view kPathPrefix = "/hls/";
constexpr std::string_view kMasterPlaylist = "master.m3u8";
constexpr std::string_view kPlaylistCache = "public, max-age=1";
constexpr std::string_view kSegmentCache = "public, max-age=86400, immutable";

// Playlists change every segment and are read whole (moments are added);
// segments are never rewritten.
constexpr http::FileType kFileTypes[] = {
    {".m3u8", "application/vnd.apple.mpegurl", kPlaylistCache, true},
    {".ts", "video/mp2t", kSegmentCache, false},
    {".m4s", "video/iso.segment", kSegmentCache, false},
    {".mp4", "video/mp4", kSegmentCache, false},  // fMP4 init segment
    {".aac", "audio/aac", kSegmentCache, false},
};

}  // namespace

HlsOrigin::HlsOrigin(std::string root, MomentsFn moments, Registry* metrics)
    : root_(std::move(root)), moments_(std::move(moments)) {
  if (metrics) {
    const std::string help = "HLS origin requests by kind";
    playlist_requests_ = &metrics->counter("hawker_hls_requests_total{kind=\"playlist\"}", help);
    segment_requests_ = &metrics->counter("hawker_hls_requests_total{kind=\"segment\"}", help);
    not_found_requests_ = &metrics->counter("hawker_hls_requests_total{kind=\"not_found\"}", help);
  }
}

Response HlsOrigin::serve(const Request& request) const {
  if (request.method == Method::kOptions) return http::cors_preflight();
  if (request.method != Method::kGet && request.method != Method::kHead) return http::file_method_not_allowed();
  // Exactly /hls/{show}/{file}; the query (already cut off by path()) is ignored.
  std::string_view path = request.path();
  if (path.substr(0, kPathPrefix.size()) != kPathPrefix) return not_found();
  path.remove_prefix(kPathPrefix.size());
  size_t slash = path.find('/');
  if (slash == std::string_view::npos) return not_found();
  std::string_view show_text = path.substr(0, slash);
  std::string_view name = path.substr(slash + 1);
  uint64_t show_id = 0;
  const http::FileType* type = http::file_type_of(name, kFileTypes);
  if (!parse_show_id(show_text, show_id) || format_show_id(show_id) != show_text || !type) return not_found();

  http::FileTransform add_moments;
  if (type->read_whole && name != kMasterPlaylist && moments_)
    add_moments = [this, show_id](std::string& text) {
      std::vector<Moment> moments = moments_(show_id);
      if (moments.empty()) return false;
      text = with_dateranges(text, moments);
      return true;
    };
  Response response = http::file_response(request, root_ + "/" + format_show_id(show_id), name, *type, add_moments);
  if (response.status == 404) return not_found();
  if (Counter* counter = type->read_whole ? playlist_requests_ : segment_requests_) counter->add();
  return response;
}

Response HlsOrigin::not_found() const {
  if (not_found_requests_) not_found_requests_->add();
  return http::file_error(404, "not_found", "no such HLS file");
}

}  // namespace hawker::stream
