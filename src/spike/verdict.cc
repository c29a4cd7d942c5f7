#include "spike/verdict.h"

#include <algorithm>

namespace hawker::spike {
namespace {

std::string n(int64_t value) { return std::to_string(value); }

}  // namespace

int64_t expected_confirmed(const Tally& tally) {
  const int64_t per_buyer =
      tally.max_per_buyer > 0 ? std::min(tally.clicks_per_buyer, tally.max_per_buyer) : tally.clicks_per_buyer;
  return std::min(tally.stock, tally.buyers * per_buyer);
}

std::vector<Check> verdict(const Tally& t) {
  std::vector<Check> checks;
  const int64_t expected = expected_confirmed(t);

  // Nothing oversold: by the client's count and by the server's books.
  {
    bool pass = t.confirmed <= t.stock;
    std::string detail = "confirmed " + n(t.confirmed) + " of " + n(t.stock) + " in stock";
    if (t.books_read) {
      pass = pass && t.available >= 0 && t.reserved >= 0 && t.sold <= t.initial + t.restocked;
      detail += "; books: available " + n(t.available) + ", reserved " + n(t.reserved) + ", sold " + n(t.sold) +
                " of " + n(t.initial + t.restocked);
    }
    checks.push_back({"nothing oversold", pass, detail});
  }
  checks.push_back({"confirmed == min(stock, demand under per-buyer limits)", t.confirmed == expected,
                    "confirmed " + n(t.confirmed) + ", expected " + n(expected)});
  {
    const bool pass = t.answered == t.clicks && t.unresolved == 0 && t.dropped == 0 && t.throttled == 0;
    checks.push_back({"every buyer answered, every 202 reached a final state", pass,
                      n(t.answered) + " of " + n(t.clicks) + " clicks answered (" + n(t.throttled) +
                          " still 429, " + n(t.dropped) + " no answer); " + n(t.unresolved) + " of " +
                          n(t.accepted) + " accepted orders unresolved"});
  }
  if (t.books_read) {
    const int64_t total = t.initial + t.restocked;
    const bool pass = total == t.available + t.reserved + t.sold && t.reserved == 0 &&
                      t.sold - t.sold_before == t.confirmed;
    checks.push_back({"counts conserved (initial + restocked = available + reserved + sold; sold = confirmed)", pass,
                      n(total) + " = " + n(t.available) + " + " + n(t.reserved) + " + " + n(t.sold) +
                          "; sold during the spike " + n(t.sold - t.sold_before) + ", confirmed " + n(t.confirmed)});
  } else {
    checks.push_back({"counts conserved (initial + restocked = available + reserved + sold; sold = confirmed)", false,
                      "the product's books could not be read"});
  }
  checks.push_back({"every viewer saw the final stock", t.viewers_saw_final == t.viewers,
                    n(t.viewers_saw_final) + " of " + n(t.viewers) + " connected viewers" +
                        (t.books_read ? " saw available " + n(t.available) : std::string())});
  {
    const bool pass = t.server_errors == 0 && t.client_errors == 0 && t.replays_mismatched == 0;
    checks.push_back({"no 5xx, no unexpected 4xx, one order per Idempotency-Key", pass,
                      n(t.server_errors) + " 5xx, " + n(t.client_errors) + " other 4xx, " +
                          n(t.replays_mismatched) + " retried keys with another order"});
  }
  return checks;
}

bool all_pass(const std::vector<Check>& checks) {
  return std::all_of(checks.begin(), checks.end(), [](const Check& check) { return check.pass; });
}

}  // namespace hawker::spike
