// Line charts as standalone SVG text, for the spike's HTML report and the
// images in docs/BENCHMARKS.md: no script, no fonts or styles from the
// network, so the report opens anywhere.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace hawker::spike {

struct Series {
  std::string name;
  std::string color;  // any SVG colour, e.g. "#1f77b4"
  std::vector<std::pair<double, double>> points;  // (x, y), x ascending
  bool step = false;  // hold each value until the next point (a level, like stock)
};

struct Chart {
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<Series> series;
  bool log_y = false;  // for latencies spanning orders of magnitude (y > 0 only)
};

// An SVG document `width` x `height` pixels with axes, ticks, a legend and one
// polyline per series. Empty or all-empty series draw the axes and "no data".
std::string render_svg(const Chart& chart, int width = 760, int height = 320);

// Escapes &, <, >, " and ' for XML text and attributes.
std::string xml_escape(const std::string& text);

}  // namespace hawker::spike
