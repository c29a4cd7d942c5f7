#include "spike/chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace hawker::spike {
namespace {

constexpr int kLeft = 64, kRight = 16, kTop = 36, kBottom = 64;

std::string number(double value) {
  char text[32];
  const double magnitude = std::fabs(value);
  if (magnitude >= 1e6) std::snprintf(text, sizeof text, "%.3gM", value / 1e6);
  else if (magnitude >= 1e4) std::snprintf(text, sizeof text, "%.3gk", value / 1e3);
  else std::snprintf(text, sizeof text, "%.4g", value);
  return text;
}

std::string coordinate(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", value);
  return text;
}

// A "nice" tick step (1, 2 or 5 times a power of ten) for about `ticks` ticks.
double nice_step(double span, int ticks) {
  if (span <= 0) return 1;
  const double raw = span / ticks;
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  for (double factor : {1.0, 2.0, 5.0, 10.0})
    if (raw <= factor * power) return factor * power;
  return 10 * power;
}

}  // namespace

std::string xml_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string render_svg(const Chart& chart, int width, int height) {
  double x_min = std::numeric_limits<double>::infinity(), x_max = -x_min;
  double y_min = std::numeric_limits<double>::infinity(), y_max = -y_min;
  for (const auto& series : chart.series)
    for (const auto& [x, y] : series.points) {
      if (!std::isfinite(x) || !std::isfinite(y) || (chart.log_y && y <= 0)) continue;
      x_min = std::min(x_min, x);
      x_max = std::max(x_max, x);
      y_min = std::min(y_min, y);
      y_max = std::max(y_max, y);
    }
  const bool empty = !(x_min <= x_max);
  if (empty) x_min = 0, x_max = 1, y_min = 0, y_max = 1;
  if (!chart.log_y) y_min = std::min(y_min, 0.0);
  if (x_max == x_min) x_max = x_min + 1;
  if (y_max == y_min) y_max = y_min + 1;

  const double plot_w = width - kLeft - kRight, plot_h = height - kTop - kBottom;
  double ty_min = y_min, ty_max = y_max;
  if (chart.log_y) {
    ty_min = std::floor(std::log10(y_min));
    ty_max = std::ceil(std::log10(y_max));
    if (ty_max == ty_min) ty_max += 1;
  } else {
    const double step = nice_step(y_max - y_min, 5);
    ty_min = std::floor(y_min / step) * step;
    ty_max = std::ceil(y_max / step) * step;
  }
  auto px = [&](double x) { return kLeft + (x - x_min) / (x_max - x_min) * plot_w; };
  auto py = [&](double y) {
    const double v = chart.log_y ? std::log10(y) : y;
    return kTop + plot_h - (v - ty_min) / (ty_max - ty_min) * plot_h;
  };

  std::string svg;
  svg += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(width) + "\" height=\"" +
         std::to_string(height) + "\" viewBox=\"0 0 " + std::to_string(width) + " " + std::to_string(height) +
         "\" font-family=\"sans-serif\" font-size=\"11\">\n";
  svg += "<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n";
  svg += "<text x=\"" + std::to_string(width / 2) + "\" y=\"20\" text-anchor=\"middle\" font-size=\"14\">" +
         xml_escape(chart.title) + "</text>\n";

  // Grid and y ticks.
  if (chart.log_y) {
    for (double e = ty_min; e <= ty_max + 1e-9; e += 1) {
      const double y = kTop + plot_h - (e - ty_min) / (ty_max - ty_min) * plot_h;
      svg += "<line x1=\"" + std::to_string(kLeft) + "\" x2=\"" + coordinate(kLeft + plot_w) + "\" y1=\"" +
             coordinate(y) + "\" y2=\"" + coordinate(y) + "\" stroke=\"#ddd\"/>\n";
      svg += "<text x=\"" + std::to_string(kLeft - 6) + "\" y=\"" + coordinate(y + 4) + "\" text-anchor=\"end\">" +
             number(std::pow(10.0, e)) + "</text>\n";
    }
  } else {
    const double step = nice_step(ty_max - ty_min, 5);
    for (double v = ty_min; v <= ty_max + step * 1e-6; v += step) {
      const double y = py(v);
      svg += "<line x1=\"" + std::to_string(kLeft) + "\" x2=\"" + coordinate(kLeft + plot_w) + "\" y1=\"" +
             coordinate(y) + "\" y2=\"" + coordinate(y) + "\" stroke=\"#ddd\"/>\n";
      svg += "<text x=\"" + std::to_string(kLeft - 6) + "\" y=\"" + coordinate(y + 4) + "\" text-anchor=\"end\">" +
             number(v) + "</text>\n";
    }
  }
  // x ticks.
  const double x_step = nice_step(x_max - x_min, 8);
  for (double v = std::ceil(x_min / x_step) * x_step; v <= x_max + x_step * 1e-6; v += x_step) {
    const double x = px(v);
    svg += "<line x1=\"" + coordinate(x) + "\" x2=\"" + coordinate(x) + "\" y1=\"" + coordinate(kTop + plot_h) +
           "\" y2=\"" + coordinate(kTop + plot_h + 4) + "\" stroke=\"#333\"/>\n";
    svg += "<text x=\"" + coordinate(x) + "\" y=\"" + coordinate(kTop + plot_h + 16) + "\" text-anchor=\"middle\">" +
           number(v) + "</text>\n";
  }
  svg += "<rect x=\"" + std::to_string(kLeft) + "\" y=\"" + std::to_string(kTop) + "\" width=\"" +
         coordinate(plot_w) + "\" height=\"" + coordinate(plot_h) + "\" fill=\"none\" stroke=\"#333\"/>\n";
  svg += "<text x=\"" + coordinate(kLeft + plot_w / 2) + "\" y=\"" + coordinate(kTop + plot_h + 32) +
         "\" text-anchor=\"middle\">" + xml_escape(chart.x_label) + "</text>\n";
  svg += "<text transform=\"translate(14," + coordinate(kTop + plot_h / 2) +
         ") rotate(-90)\" text-anchor=\"middle\">" + xml_escape(chart.y_label) + "</text>\n";
  if (empty)
    svg += "<text x=\"" + coordinate(kLeft + plot_w / 2) + "\" y=\"" + coordinate(kTop + plot_h / 2) +
           "\" text-anchor=\"middle\" fill=\"#999\">no data</text>\n";

  // Series and legend.
  double legend_x = kLeft;
  for (const auto& series : chart.series) {
    std::string points;
    double last_y = std::numeric_limits<double>::quiet_NaN();
    for (const auto& [x, y] : series.points) {
      if (!std::isfinite(x) || !std::isfinite(y) || (chart.log_y && y <= 0)) continue;
      if (series.step && std::isfinite(last_y)) points += coordinate(px(x)) + "," + coordinate(py(last_y)) + " ";
      points += coordinate(px(x)) + "," + coordinate(py(y)) + " ";
      last_y = y;
    }
    if (!points.empty())
      svg += "<polyline fill=\"none\" stroke-width=\"1.5\" stroke=\"" + xml_escape(series.color) + "\" points=\"" +
             points + "\"/>\n";
    const double legend_y = height - 14;
    svg += "<rect x=\"" + coordinate(legend_x) + "\" y=\"" + coordinate(legend_y - 8) +
           "\" width=\"12\" height=\"3\" fill=\"" + xml_escape(series.color) + "\"/>\n";
    svg += "<text x=\"" + coordinate(legend_x + 16) + "\" y=\"" + coordinate(legend_y - 4) + "\">" +
           xml_escape(series.name) + "</text>\n";
    legend_x += 24 + 7.0 * static_cast<double>(series.name.size());
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace hawker::spike
