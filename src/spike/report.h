// The results of a spike and how they are shown: the terminal table, the JSON
// file and the self-contained HTML report (inline SVG plots, no network).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "spike/stats.h"
#include "spike/verdict.h"

namespace hawker::spike {

// One click as the spike saw it. Times are microseconds after the start (the
// moment click 0 of a ramp could be due); -1 when it never happened.
struct ClickRecord {
  int64_t due_us = 0;     // when the schedule said to click
  int64_t answer_us = -1; // the final HTTP answer (after any 429 retries)
  int64_t final_us = -1;  // when the buyer knew the outcome: the 409, or the order's final state
  int status = 0;         // the final HTTP status; 0: no answer
  enum class Outcome : uint8_t { kNone, kConfirmed, kRejectedSoldOut, kRejectedLimit, kRejectedOther, kSoldOutAtEdge };
  Outcome outcome = Outcome::kNone;
};

struct StockPoint {
  int64_t at_us = 0;  // after the start
  int64_t available = 0;
};

struct Results {
  // What was asked.
  std::string url, product_id, show_id, arrival, started_at;  // started_at: ISO 8601 UTC
  int64_t viewers_asked = 0, connections = 0;
  uint64_t seed = 0;

  Tally tally;
  std::vector<Check> checks;

  // Answers by HTTP status, every attempt counted (a retried 429 counts once per answer).
  int64_t answers_202 = 0, answers_409 = 0, answers_429 = 0, answers_other = 0;
  int64_t finals_by_frame = 0, finals_by_poll = 0;  // how accepted orders' outcomes were learned

  Summary click_to_202, click_to_answer, click_to_final, stock_tick;
  Summary click_to_final_accepted;  // click -> final of the 202s alone: how fast winners (and late losers) learn
  double window_s = 0;        // first due click to last final
  double offered_per_s = 0;   // clicks / arrival window
  double answered_per_s = 0;  // answers / (first due .. last answer)

  std::vector<ClickRecord> clicks;  // not written to the JSON (its summaries and series are)
  std::vector<StockPoint> stock;    // what one viewer saw (hello, then every inventory frame)
};

// Fills click_to_202, click_to_answer, click_to_final(_accepted), window_s, offered and
// answered rates from `clicks` (stock_tick is filled by the runner).
void summarize_clicks(Results& results, int64_t arrival_window_us);

// The table printed at the end (plain text, one line per figure and check).
std::string summary_table(const Results& results);

std::string results_json(const Results& results);
std::string report_html(const Results& results);

// The three plots alone, as SVG documents (for docs/ images).
std::string latency_svg(const Results& results);
std::string answers_svg(const Results& results);
std::string stock_svg(const Results& results);

}  // namespace hawker::spike
