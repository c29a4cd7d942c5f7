#include "app/seller_stats.h"

#include <boost/json.hpp>

#include "core/ids.h"
#include "core/log.h"

namespace hawker::app {
namespace json = boost::json;

void SellerStats::tick(int64_t now_us) {
  if (now_us - last_us_ < kStatsIntervalUs) return;
  last_us_ = now_us;
  auto channels = hub_.seller_channels();
  std::unordered_map<std::string, Previous> seen;
  for (const auto& channel : channels) {
    if (channel->subscriber_count() == 0) continue;
    const std::string& seller = channel->seller();
    auto totals = read_store_.seller_totals(seller);
    auto products = read_store_.list_products(seller, 0, kStatsProductsMax);
    if (!totals || !products) {
      log_warn("live.stats_failed", {{"seller", seller}});
      continue;
    }
    Previous& before = previous_[seller];
    double orders_per_second = 0;
    if (before.at_us > 0 && now_us > before.at_us)
      orders_per_second = static_cast<double>(totals->orders_confirmed - before.orders_confirmed) * 1e6 /
                          static_cast<double>(now_us - before.at_us);
    seen[seller] = Previous{totals->orders_confirmed, now_us};
    json::array stock;
    for (const auto& product : products->items)
      stock.push_back(json::object{{"product_id", format_product_id(product.definition.id)},
                                   {"available", product.inventory.available},
                                   {"state", market::stock_state_name(product.state)}});
    channel->publish("stats", json::object{{"viewers", hub_.seller_viewers(seller)},
                                           {"orders_per_second", orders_per_second},
                                           {"orders_confirmed", totals->orders_confirmed},
                                           {"revenue_cents", totals->revenue_cents},
                                           {"stock", std::move(stock)}});
  }
  previous_ = std::move(seen);  // forget sellers who left
}

}  // namespace hawker::app
