// RocksDB options shared by hawker's embedded adapters (header-only; include
// it only from code that links RocksDB).
//
// hawker's RocksDB reads are point lookups, most of them for keys that do not
// exist yet (a new idempotency key, an order not yet decided). A bloom filter
// on the memtable and on every table file answers "not here" without walking
// the skiplist or touching a block.
#pragma once

#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>

namespace hawker {

inline rocksdb::ColumnFamilyOptions point_lookup_family_options() {
  rocksdb::ColumnFamilyOptions options;
  options.memtable_whole_key_filtering = true;
  options.memtable_prefix_bloom_size_ratio = 0.05;
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table.whole_key_filtering = true;
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  options.write_buffer_size = 64 << 20;
  return options;
}

inline rocksdb::Options embedded_db_options() {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  options.IncreaseParallelism(2);
  return options;
}

}  // namespace hawker
