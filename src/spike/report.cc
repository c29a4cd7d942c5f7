#include "spike/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <boost/json.hpp>

#include "spike/chart.h"

namespace hawker::spike {
namespace {

namespace json = boost::json;

double ms(int64_t us) { return static_cast<double>(us) / 1000.0; }

// A bucket width that cuts the run into about 100 buckets, at least 10 ms.
int64_t bucket_us_for(const Results& results) {
  int64_t end = 0;
  for (const auto& click : results.clicks) end = std::max({end, click.due_us, click.answer_us, click.final_us});
  return std::max<int64_t>(10'000, (end / 100 + 9'999) / 10'000 * 10'000);
}

json::object summary_json(const Summary& s) {
  return {{"count", s.count}, {"p50_ms", s.p50}, {"p90_ms", s.p90}, {"p99_ms", s.p99}, {"p999_ms", s.p999},
          {"max_ms", s.max}};
}

struct LatencyBucket {
  double at_s = 0;
  double p50 = 0, p99 = 0, max = 0;
  bool any = false;
};

// click->final by the second the click was due.
std::vector<LatencyBucket> latency_buckets(const Results& results, int64_t bucket_us) {
  std::vector<std::vector<double>> values;
  for (const auto& click : results.clicks) {
    if (click.final_us < 0) continue;
    const size_t index = static_cast<size_t>(click.due_us / bucket_us);
    if (values.size() <= index) values.resize(index + 1);
    values[index].push_back(ms(click.final_us - click.due_us));
  }
  std::vector<LatencyBucket> buckets(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    buckets[i].at_s = static_cast<double>(static_cast<int64_t>(i) * bucket_us) / 1e6;
    if (values[i].empty()) continue;
    std::sort(values[i].begin(), values[i].end());
    buckets[i].any = true;
    buckets[i].p50 = percentile_sorted(values[i], 50);
    buckets[i].p99 = percentile_sorted(values[i], 99);
    buckets[i].max = values[i].back();
  }
  return buckets;
}

struct AnswerBucket {
  double at_s = 0;
  int64_t clicks = 0, accepted = 0, sold_out = 0, other = 0, finals = 0;
};

// Clicks due, answers by kind and accepted orders' finals per bucket, scaled to per second.
std::vector<AnswerBucket> answer_buckets(const Results& results, int64_t bucket_us) {
  std::vector<AnswerBucket> buckets;
  auto at = [&](int64_t us) -> AnswerBucket& {
    const size_t index = static_cast<size_t>(us / bucket_us);
    if (buckets.size() <= index) buckets.resize(index + 1);
    return buckets[index];
  };
  for (const auto& click : results.clicks) {
    ++at(click.due_us).clicks;
    if (click.answer_us >= 0) {
      AnswerBucket& bucket = at(click.answer_us);
      if (click.status == 202) ++bucket.accepted;
      else if (click.status == 409) ++bucket.sold_out;
      else ++bucket.other;
    }
    if (click.status == 202 && click.final_us >= 0) ++at(click.final_us).finals;
  }
  for (size_t i = 0; i < buckets.size(); ++i) buckets[i].at_s = static_cast<double>(static_cast<int64_t>(i) * bucket_us) / 1e6;
  return buckets;
}

std::string row(const char* name, const Summary& s) {
  char line[160];
  std::snprintf(line, sizeof line, "  %-22s %9.2f %9.2f %9.2f %9.2f %9.2f  (%zu)\n", name, s.p50, s.p90, s.p99, s.p999,
                s.max, s.count);
  return line;
}

}  // namespace

void summarize_clicks(Results& results, int64_t arrival_window_us) {
  std::vector<double> to_202, to_answer, to_final, to_final_accepted;
  int64_t first_due = -1, last_answer = 0, last_final = 0, answered = 0;
  for (const auto& click : results.clicks) {
    if (first_due < 0 || click.due_us < first_due) first_due = click.due_us;
    if (click.answer_us >= 0) {
      ++answered;
      last_answer = std::max(last_answer, click.answer_us);
      to_answer.push_back(ms(click.answer_us - click.due_us));
      if (click.status == 202) to_202.push_back(ms(click.answer_us - click.due_us));
    }
    if (click.final_us >= 0) {
      last_final = std::max(last_final, click.final_us);
      to_final.push_back(ms(click.final_us - click.due_us));
      if (click.status == 202) to_final_accepted.push_back(ms(click.final_us - click.due_us));
    }
  }
  results.click_to_202 = summarize(to_202);
  results.click_to_answer = summarize(to_answer);
  results.click_to_final = summarize(to_final);
  results.click_to_final_accepted = summarize(to_final_accepted);
  if (first_due < 0) first_due = 0;
  results.window_s = static_cast<double>(std::max(last_final, last_answer) - first_due) / 1e6;
  const double arrival_s = std::max(static_cast<double>(arrival_window_us) / 1e6, 1e-3);
  results.offered_per_s = static_cast<double>(results.clicks.size()) / arrival_s;
  const double answer_span_s = static_cast<double>(last_answer - first_due) / 1e6;
  results.answered_per_s = answer_span_s > 0 ? static_cast<double>(answered) / answer_span_s : 0;
}

std::string summary_table(const Results& r) {
  const Tally& t = r.tally;
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line, "spike: %lld buyers x %lld click(s), %s, stock %lld, %lld viewers, product %s\n",
                static_cast<long long>(t.buyers), static_cast<long long>(t.clicks_per_buyer), r.arrival.c_str(),
                static_cast<long long>(t.stock), static_cast<long long>(t.viewers), r.product_id.c_str());
  out += line;
  std::snprintf(line, sizeof line, "answers: 202 %lld, 409 %lld, 429 %lld, other %lld (5xx %lld, no answer %lld)\n",
                static_cast<long long>(r.answers_202), static_cast<long long>(r.answers_409),
                static_cast<long long>(r.answers_429), static_cast<long long>(r.answers_other),
                static_cast<long long>(t.server_errors), static_cast<long long>(t.dropped));
  out += line;
  std::snprintf(line, sizeof line,
                "finals: confirmed %lld, rejected sold_out %lld, limit_exceeded %lld, other %lld, unresolved %lld "
                "(learned by order frame %lld, by polling %lld)\n",
                static_cast<long long>(t.confirmed), static_cast<long long>(t.rejected_sold_out),
                static_cast<long long>(t.rejected_limit), static_cast<long long>(t.rejected_other),
                static_cast<long long>(t.unresolved), static_cast<long long>(r.finals_by_frame),
                static_cast<long long>(r.finals_by_poll));
  out += line;
  std::snprintf(line, sizeof line, "throughput: offered %.0f clicks/s, answered %.0f clicks/s; all final %.2f s after the first click\n",
                r.offered_per_s, r.answered_per_s, r.window_s);
  out += line;
  out += "latency ms                   p50       p90       p99     p99.9       max  (samples)\n";
  out += row("click -> 202", r.click_to_202);
  out += row("click -> any answer", r.click_to_answer);
  out += row("click -> final", r.click_to_final);
  out += row("  of the 202s", r.click_to_final_accepted);
  out += row("stock tick delivery", r.stock_tick);
  for (const auto& check : r.checks) out += (check.pass ? "PASS " : "FAIL ") + check.name + ": " + check.detail + "\n";
  return out;
}

std::string results_json(const Results& r) {
  const Tally& t = r.tally;
  json::array checks;
  for (const auto& check : r.checks)
    checks.push_back(json::object{{"name", check.name}, {"pass", check.pass}, {"detail", check.detail}});
  const int64_t bucket_us = bucket_us_for(r);
  json::array latency, answers, stock;
  for (const auto& b : latency_buckets(r, bucket_us))
    if (b.any) latency.push_back(json::object{{"at_s", b.at_s}, {"p50_ms", b.p50}, {"p99_ms", b.p99}, {"max_ms", b.max}});
  const double per_s = 1e6 / static_cast<double>(bucket_us);
  for (const auto& b : answer_buckets(r, bucket_us))
    answers.push_back(json::object{{"at_s", b.at_s},
                                   {"clicks_per_s", static_cast<double>(b.clicks) * per_s},
                                   {"accepted_per_s", static_cast<double>(b.accepted) * per_s},
                                   {"sold_out_per_s", static_cast<double>(b.sold_out) * per_s},
                                   {"other_per_s", static_cast<double>(b.other) * per_s},
                                   {"finals_per_s", static_cast<double>(b.finals) * per_s}});
  for (const auto& point : r.stock) stock.push_back(json::array{static_cast<double>(point.at_us) / 1e6, point.available});
  json::object out{
      {"started_at", r.started_at},
      {"url", r.url},
      {"product_id", r.product_id},
      {"show_id", r.show_id},
      {"arrival", r.arrival},
      {"seed", r.seed},
      {"buyers", t.buyers},
      {"clicks_per_buyer", t.clicks_per_buyer},
      {"stock", t.stock},
      {"max_per_buyer", t.max_per_buyer},
      {"viewers", json::object{{"asked", r.viewers_asked}, {"connected", t.viewers}, {"saw_final", t.viewers_saw_final}}},
      {"connections", r.connections},
      {"answers", json::object{{"202", r.answers_202}, {"409", r.answers_409}, {"429", r.answers_429}, {"other", r.answers_other},
                               {"5xx", t.server_errors}, {"no_answer", t.dropped}}},
      {"finals", json::object{{"confirmed", t.confirmed}, {"rejected_sold_out", t.rejected_sold_out},
                              {"rejected_limit_exceeded", t.rejected_limit}, {"rejected_other", t.rejected_other},
                              {"unresolved", t.unresolved}, {"by_order_frame", r.finals_by_frame},
                              {"by_polling", r.finals_by_poll}}},
      {"books", t.books_read ? json::value(json::object{{"initial", t.initial}, {"restocked", t.restocked},
                                                        {"available", t.available}, {"reserved", t.reserved},
                                                        {"sold", t.sold}, {"sold_before", t.sold_before}})
                             : json::value(nullptr)},
      {"latency", json::object{{"click_to_202", summary_json(r.click_to_202)},
                               {"click_to_answer", summary_json(r.click_to_answer)},
                               {"click_to_final", summary_json(r.click_to_final)},
                               {"click_to_final_accepted", summary_json(r.click_to_final_accepted)},
                               {"stock_tick", summary_json(r.stock_tick)}}},
      {"throughput", json::object{{"offered_per_s", r.offered_per_s}, {"answered_per_s", r.answered_per_s},
                                  {"all_final_after_s", r.window_s}}},
      {"checks", std::move(checks)},
      {"pass", all_pass(r.checks)},
      {"series", json::object{{"bucket_ms", static_cast<double>(bucket_us) / 1000.0},
                              {"latency_by_click_time", std::move(latency)},
                              {"answers", std::move(answers)},
                              {"stock", std::move(stock)}}},
  };
  return json::serialize(out) + "\n";
}

std::string latency_svg(const Results& r) {
  Chart chart{"click -> final latency, by when the click was due", "seconds after the first click", "ms (log scale)",
              {}, true};
  Series p50{"p50", "#1f77b4", {}, false}, p99{"p99", "#d62728", {}, false}, max{"max", "#999999", {}, false};
  for (const auto& b : latency_buckets(r, bucket_us_for(r))) {
    if (!b.any) continue;
    p50.points.emplace_back(b.at_s, std::max(b.p50, 0.01));
    p99.points.emplace_back(b.at_s, std::max(b.p99, 0.01));
    max.points.emplace_back(b.at_s, std::max(b.max, 0.01));
  }
  chart.series = {std::move(max), std::move(p99), std::move(p50)};
  return render_svg(chart);
}

std::string answers_svg(const Results& r) {
  Chart chart{"clicks and answers per second", "seconds after the first click", "per second", {}, false};
  Series clicks{"clicks due", "#999999", {}, false}, accepted{"202 accepted", "#2ca02c", {}, false},
      sold_out{"409 sold out", "#ff7f0e", {}, false}, other{"other answers", "#d62728", {}, false},
      finals{"orders final", "#1f77b4", {}, false};
  const int64_t bucket_us = bucket_us_for(r);
  const double per_s = 1e6 / static_cast<double>(bucket_us);
  for (const auto& b : answer_buckets(r, bucket_us)) {
    clicks.points.emplace_back(b.at_s, static_cast<double>(b.clicks) * per_s);
    accepted.points.emplace_back(b.at_s, static_cast<double>(b.accepted) * per_s);
    sold_out.points.emplace_back(b.at_s, static_cast<double>(b.sold_out) * per_s);
    other.points.emplace_back(b.at_s, static_cast<double>(b.other) * per_s);
    finals.points.emplace_back(b.at_s, static_cast<double>(b.finals) * per_s);
  }
  chart.series = {std::move(clicks), std::move(accepted), std::move(sold_out), std::move(other), std::move(finals)};
  return render_svg(chart);
}

std::string stock_svg(const Results& r) {
  Chart chart{"available stock, as a viewer saw it", "seconds after the first click", "units available", {}, false};
  Series stock{"available", "#9467bd", {}, true};
  for (const auto& point : r.stock) stock.points.emplace_back(static_cast<double>(point.at_us) / 1e6, point.available);
  chart.series = {std::move(stock)};
  return render_svg(chart);
}

std::string report_html(const Results& r) {
  std::string html;
  html += "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>hawker spike " +
          xml_escape(r.started_at) + "</title>\n";
  html += "<style>body{font-family:sans-serif;max-width:820px;margin:24px auto;color:#222}"
          "pre{background:#f6f6f6;padding:12px;overflow-x:auto}.pass{color:#2ca02c}.fail{color:#d62728}"
          "td,th{padding:2px 10px;text-align:left}</style></head><body>\n";
  html += "<h1>hawker spike</h1>\n<p>" + xml_escape(r.started_at) + " against " + xml_escape(r.url) + ", product " +
          xml_escape(r.product_id) + ", show " + xml_escape(r.show_id) + ", seed " + std::to_string(r.seed) + ".</p>\n";
  html += "<h2>Invariants</h2>\n<table>\n";
  for (const auto& check : r.checks)
    html += std::string("<tr><td class=\"") + (check.pass ? "pass\">PASS" : "fail\">FAIL") + "</td><td>" +
            xml_escape(check.name) + "</td><td>" + xml_escape(check.detail) + "</td></tr>\n";
  html += "</table>\n<h2>Summary</h2>\n<pre>" + xml_escape(summary_table(r)) + "</pre>\n";
  html += "<h2>Latency over time</h2>\n" + latency_svg(r);
  html += "<h2>Answers per second</h2>\n" + answers_svg(r);
  html += "<h2>Stock over time</h2>\n" + stock_svg(r);
  html += "</body></html>\n";
  return html;
}

}  // namespace hawker::spike
