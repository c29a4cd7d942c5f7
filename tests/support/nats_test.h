// NatsTest<Options>: the gtest fixture of the tests of one NATS adapter on
// the binary's shared nats-server (NatsServer::shared()). SetUp() fails the
// test when the server could not start, and fills options_ for this test:
// url = the server's, name_prefix = a prefix no other test of the process
// uses (unique_prefix() of the test's name), so tests share the server
// without seeing each other's streams, buckets or subjects. Options is any
// options struct with `url` and `name_prefix` strings.
//
// Threads: like any gtest fixture, SetUp() runs on the test thread;
// server_ and options_ are then read-only unless the test changes them.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "support/nats_server.h"

namespace hawker::testing {

template <typename Options>
class NatsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    server_ = NatsServer::shared(&why);
    ASSERT_NE(server_, nullptr) << why;
    options_.url = server_->url();
    options_.name_prefix = unique_prefix(::testing::UnitTest::GetInstance()->current_test_info()->name());
  }

  NatsServer* server_ = nullptr;
  Options options_;
};

}  // namespace hawker::testing
