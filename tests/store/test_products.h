// Product builders shared by the store tests: one definition shape (seller
// "ada", EUR 25.00, at most 5 a buyer, the default low-stock threshold of its
// stock) so every suite creates products the same way.
//
// Pure functions; safe from any thread.
#pragma once

#include <cstdint>
#include <string>

#include "market/product.h"

namespace hawker::store {

inline market::ProductDefinition make_definition(uint64_t product_id, int64_t stock,
                                                 const std::string& seller = "ada") {
  market::ProductDefinition definition;
  definition.id = product_id;
  definition.seller = seller;
  definition.title = "Product " + std::to_string(product_id);
  definition.price_cents = 2500;
  definition.currency = "EUR";
  definition.max_per_buyer = 5;
  definition.low_threshold = market::default_low_threshold(stock);
  return definition;
}

}  // namespace hawker::store
