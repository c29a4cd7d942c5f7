// ServerSuite: a test fixture that starts one real hawker server for a whole
// test suite (fresh data folder, free port), checks it is up before each
// test, and prints the tail of its log after a failing test.
#pragma once

#include <gtest/gtest.h>

#include <cstdio>

#include "support/hawker_process.h"

namespace hawker::testing {

class ServerSuite : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new HawkerProcess();
    ASSERT_TRUE(server_->start()) << server_->error();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(server_, nullptr);
    ASSERT_TRUE(server_->running());
  }
  void TearDown() override {
    if (HasFailure()) std::fprintf(stderr, "---- hawker server log, last lines ----\n%s----\n", server_->log_tail(60).c_str());
  }

  static inline HawkerProcess* server_ = nullptr;
};

}  // namespace hawker::testing
