// Encodings of write-side records for byte-oriented stores (RocksDB).
// Decoding treats bytes as possibly corrupt: errors are values.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"
#include "market/order.h"
#include "store/write_store.h"

namespace hawker::store {

std::string encode_product(const ProductSnapshot& product);
Result<ProductSnapshot> decode_product(std::string_view bytes);
std::string encode_order(const market::OrderRecord& order);
Result<market::OrderRecord> decode_order(std::string_view bytes);

// Checks a commit against the stored product before it is applied: version
// match, definition present on create, next version, conservation. Returns
// kVersionConflict for a lost race, kInternal for a malformed commit.
Status validate_commit(const ProductCommit& commit, const std::optional<ProductSnapshot>& stored);

}  // namespace hawker::store
