// The spike's report: the summaries drawn from click records, the JSON
// results, and an HTML report that needs no network.
#include <gtest/gtest.h>

#include <string>

#include <boost/json.hpp>

#include "spike/chart.h"
#include "spike/report.h"

namespace hawker::spike {
namespace {

namespace json = boost::json;

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

// Four clicks: two sold at the edge, one confirmed, one accepted and never final.
Results sample() {
  Results r;
  r.url = "127.0.0.1:8080";
  r.product_id = "prd_1";
  r.show_id = "shw_1";
  r.arrival = "within 1 s";
  r.started_at = "2026-11-29T22:00:00Z";
  auto click = [&](int64_t due, int64_t answer, int64_t final_us, int status, ClickRecord::Outcome outcome) {
    ClickRecord c;
    c.due_us = due;
    c.answer_us = answer;
    c.final_us = final_us;
    c.status = status;
    c.outcome = outcome;
    r.clicks.push_back(c);
  };
  click(0, 2'000, 40'000, 202, ClickRecord::Outcome::kConfirmed);
  click(100'000, 101'000, 101'000, 409, ClickRecord::Outcome::kSoldOutAtEdge);
  click(200'000, 204'000, 204'000, 409, ClickRecord::Outcome::kSoldOutAtEdge);
  click(900'000, 910'000, -1, 202, ClickRecord::Outcome::kNone);
  r.stock = {{0, 1}, {30'000, 0}};
  r.tally.stock = 1;
  r.tally.buyers = 4;
  r.tally.clicks = 4;
  r.tally.answered = 4;
  r.tally.accepted = 2;
  r.tally.sold_out = 2;
  r.tally.confirmed = 1;
  r.tally.unresolved = 1;
  r.answers_202 = 2;
  r.answers_409 = 2;
  r.checks = verdict(r.tally);
  summarize_clicks(r, 1'000'000);
  return r;
}

TEST(ReportTest, SummariesComeFromTheClickRecords) {
  const Results r = sample();
  EXPECT_EQ(r.click_to_202.count, 2u);
  EXPECT_DOUBLE_EQ(r.click_to_202.max, 10.0);
  EXPECT_EQ(r.click_to_answer.count, 4u);
  EXPECT_DOUBLE_EQ(r.click_to_answer.p50, 2.0);
  EXPECT_EQ(r.click_to_final.count, 3u);  // the unresolved order has no final
  EXPECT_DOUBLE_EQ(r.click_to_final.max, 40.0);
  EXPECT_EQ(r.click_to_final_accepted.count, 1u);
  EXPECT_DOUBLE_EQ(r.click_to_final_accepted.p50, 40.0);
  EXPECT_DOUBLE_EQ(r.offered_per_s, 4.0);
  EXPECT_NEAR(r.window_s, 0.91, 1e-9);
}

TEST(ReportTest, JsonCarriesCountsLatenciesChecksAndSeries) {
  const Results r = sample();
  json::value results = json::parse(results_json(r));
  EXPECT_EQ(results.at("answers").at("202").as_int64(), 2);
  EXPECT_EQ(results.at("answers").at("409").as_int64(), 2);
  EXPECT_EQ(results.at("finals").at("confirmed").as_int64(), 1);
  EXPECT_EQ(results.at("finals").at("unresolved").as_int64(), 1);
  EXPECT_DOUBLE_EQ(results.at("latency").at("click_to_final").at("max_ms").to_number<double>(), 40.0);
  EXPECT_FALSE(results.at("pass").as_bool());  // one order never reached a final state
  EXPECT_EQ(results.at("checks").as_array().size(), r.checks.size());
  EXPECT_EQ(results.at("series").at("stock").as_array().size(), 2u);
  EXPECT_FALSE(results.at("series").at("answers").as_array().empty());
  EXPECT_FALSE(results.at("series").at("latency_by_click_time").as_array().empty());
}

TEST(ReportTest, HtmlIsSelfContainedWithThreePlotsAndEveryCheck) {
  const Results r = sample();
  const std::string html = report_html(r);
  EXPECT_EQ(count(html, "<svg"), 3u);
  for (const auto& check : r.checks) EXPECT_NE(html.find(xml_escape(check.name)), std::string::npos) << check.name;
  EXPECT_NE(html.find("FAIL"), std::string::npos);
  // Nothing to fetch: no scripts, links or sources, and the only URL is the SVG namespace.
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("src="), std::string::npos);
  EXPECT_EQ(html.find("href="), std::string::npos);
  EXPECT_EQ(count(html, "http://"), count(html, "http://www.w3.org/2000/svg"));
  EXPECT_EQ(html.find("https://"), std::string::npos);
}

TEST(ChartTest, DrawsOnePolylinePerSeriesAndEscapesText) {
  Chart chart{"latency <p99> & \"max\"", "s", "ms", {}, false};
  chart.series.push_back({"a", "#111", {{0, 1}, {1, 2}, {2, 3}}, false});
  chart.series.push_back({"b", "#222", {{0, 3}, {2, 1}}, true});
  const std::string svg = render_svg(chart);
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_EQ(count(svg, "<polyline"), 2u);
  EXPECT_NE(svg.find("latency &lt;p99&gt; &amp; &quot;max&quot;"), std::string::npos);
  EXPECT_EQ(svg.find("<p99>"), std::string::npos);
  // A step series holds its level: the second point is drawn as two vertices.
  const size_t b = svg.find("stroke=\"#222\" points=\"");
  ASSERT_NE(b, std::string::npos);
  const std::string points = svg.substr(b, svg.find("\"/>", b) - b);
  EXPECT_EQ(count(points, ","), 3u);
}

TEST(ChartTest, EmptyAndLogChartsStillRender) {
  const std::string empty = render_svg(Chart{"nothing", "x", "y", {{"a", "#111", {}, false}}, false});
  EXPECT_NE(empty.find("no data"), std::string::npos);
  EXPECT_EQ(count(empty, "<polyline"), 0u);
  // Log scale skips values it cannot draw (y <= 0) instead of producing NaN.
  const std::string log = render_svg(Chart{"log", "x", "y", {{"a", "#111", {{0, 0}, {1, 10}, {2, 1000}}, false}}, true});
  EXPECT_EQ(log.find("nan"), std::string::npos);
  EXPECT_EQ(count(log, "<polyline"), 1u);
}

}  // namespace
}  // namespace hawker::spike
