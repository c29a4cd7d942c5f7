// The HTTP server's bytes on the wire: status line, headers, Content-Length,
// keep-alive and close, as a raw socket sees them.
#include "http/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace hawker::http {
namespace {

class RawClient {
 public:
  explicit RawClient(uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    timeval timeout{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  }
  ~RawClient() { ::close(fd_); }

  bool connected() const { return connected_; }
  bool send(const std::string& text) {
    return ::send(fd_, text.data(), text.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(text.size());
  }
  // Reads until `bytes` more bytes arrived, the peer closed, or 5 s passed.
  std::string receive(size_t bytes) {
    std::string out;
    char buffer[4096];
    while (out.size() < bytes) {
      const ssize_t n = ::recv(fd_, buffer, std::min(sizeof buffer, bytes - out.size()), 0);
      if (n <= 0) break;
      out.append(buffer, static_cast<size_t>(n));
    }
    return out;
  }
  // Everything until the peer closes (or 5 s pass).
  std::string receive_all() { return receive(SIZE_MAX); }

 private:
  int fd_;
  bool connected_ = false;
};

class HttpServerTest : public ::testing::Test {
 protected:
  void start(Handler handler) {
    ServerOptions options;
    options.port = 0;
    options.threads = 1;
    server_ = make_http_server(options, std::move(handler));
    ASSERT_TRUE(server_->start().ok());
  }
  void TearDown() override {
    if (server_) server_->stop();
  }
  uint16_t port() const { return server_->port(); }
  // Sends `requests` on a fresh connection: everything the server wrote
  // until it closed the connection (or 5 s passed).
  std::string exchange(const std::string& requests) const {
    RawClient client(port());
    if (!client.connected() || !client.send(requests)) return "<could not connect and send>";
    return client.receive_all();
  }

  std::unique_ptr<HttpServer> server_;
};

// The head of a 200 with the default content type, up to Content-Length.
const std::string kOk = "HTTP/1.1 200 OK\r\nServer: hawker\r\nContent-Type: application/json\r\n";

Handler answer_with(Response response) {
  return [response](Request&, Responder responder) {
    Response copy = response;
    responder.send(std::move(copy));
  };
}

TEST_F(HttpServerTest, AnAnswerHasItsStatusLineHeadersLengthAndBody) {
  Response response;
  response.status = 202;
  response.headers.emplace_back("Retry-After", "1");
  response.body = R"({"ok":true})";
  start(answer_with(response));
  EXPECT_EQ(exchange("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"),
            "HTTP/1.1 202 Accepted\r\n"
            "Server: hawker\r\n"
            "Content-Type: application/json\r\n"
            "Retry-After: 1\r\n"
            "Content-Length: 11\r\n"
            "Connection: close\r\n"
            "\r\n"
            R"({"ok":true})");
}

TEST_F(HttpServerTest, KeepAliveAnswersEachRequestOnOneConnectionWithoutAClose) {
  int calls = 0;
  start([&](Request& request, Responder responder) {
    Response response;
    response.body = std::string(request.path()) + "#" + std::to_string(++calls);
    responder.send(std::move(response));
  });
  RawClient client(port());
  ASSERT_TRUE(client.connected());
  const std::string first_expected =
      kOk + "Content-Length: 4\r\n\r\n/a#1";
  ASSERT_TRUE(client.send("GET /a HTTP/1.1\r\nHost: a\r\n\r\n"));
  EXPECT_EQ(client.receive(first_expected.size()), first_expected);
  // Two requests in one send (pipelined): answered in order.
  ASSERT_TRUE(client.send("GET /b HTTP/1.1\r\nHost: a\r\n\r\nGET /c HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"));
  EXPECT_EQ(client.receive_all(),
            kOk + "Content-Length: 4\r\n\r\n/b#2" +
            kOk + "Content-Length: 4\r\n"
            "Connection: close\r\n\r\n/c#3");
}

TEST_F(HttpServerTest, AnHttp10ClientGetsConnectionClose) {
  start(answer_with(Response{}));
  EXPECT_EQ(exchange("GET / HTTP/1.0\r\n\r\n"),
            kOk + "Content-Length: 0\r\n"
            "Connection: close\r\n\r\n");
}

TEST_F(HttpServerTest, AResponseThatAsksToCloseClosesTheConnection) {
  Response response;
  response.status = 503;
  response.body = "{}";
  response.close = true;
  start(answer_with(response));
  // The second request is never read: the connection ends after the first answer.
  EXPECT_EQ(exchange("GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"),
            "HTTP/1.1 503 Service Unavailable\r\nServer: hawker\r\nContent-Type: application/json\r\n"
            "Content-Length: 2\r\nConnection: close\r\n\r\n{}");
}

TEST_F(HttpServerTest, NoContentCarriesNeitherBodyNorLength) {
  Response response;
  response.status = 204;
  response.body = "dropped";
  start(answer_with(response));
  EXPECT_EQ(exchange("DELETE /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"),
            "HTTP/1.1 204 No Content\r\nServer: hawker\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n");
}

TEST_F(HttpServerTest, AHeadAnswerAnnouncesTheLengthItLeavesOut) {
  Response response;
  response.content_type = "video/mp2t";
  response.content_length = 1000;
  start(answer_with(response));
  EXPECT_EQ(exchange("HEAD /s.ts HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"),
            "HTTP/1.1 200 OK\r\nServer: hawker\r\nContent-Type: video/mp2t\r\nContent-Length: 1000\r\n"
            "Connection: close\r\n\r\n");
}

// Whatever the handler answers a HEAD with (here an error with a JSON
// body), the body stays home and the next answer on the connection is
// framed right.
TEST_F(HttpServerTest, AHeadAnswerNeverCarriesABodyEvenForAnError) {
  start([](Request& request, Responder responder) {
    Response response;
    response.status = request.path() == "/missing" ? 404 : 200;
    response.body = request.path() == "/missing" ? R"({"error":1})" : "found";
    responder.send(std::move(response));
  });
  EXPECT_EQ(exchange("HEAD /missing HTTP/1.1\r\nHost: a\r\n\r\n"
                     "GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"),
            "HTTP/1.1 404 Not Found\r\nServer: hawker\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n" +
            kOk + "Content-Length: 5\r\n"
            "Connection: close\r\n\r\nfound");
}

TEST_F(HttpServerTest, NotModifiedMayAnnounceALengthButNoContentNeverDoes) {
  start([](Request& request, Responder responder) {
    Response response;
    response.status = request.path() == "/etag" ? 304 : 204;
    response.content_length = 1000;
    responder.send(std::move(response));
  });
  EXPECT_EQ(exchange("GET /etag HTTP/1.1\r\nHost: a\r\n\r\nGET /gone HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"),
            "HTTP/1.1 304 Not Modified\r\nServer: hawker\r\nContent-Type: application/json\r\n"
            "Content-Length: 1000\r\n\r\n"
            "HTTP/1.1 204 No Content\r\nServer: hawker\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n");
}

TEST_F(HttpServerTest, AnHttp10ClientThatAsksToKeepTheConnectionIsToldItStaysOpen) {
  start(answer_with(Response{}));
  RawClient client(port());
  ASSERT_TRUE(client.connected());
  const std::string kept =
      kOk + "Content-Length: 0\r\n"
      "Connection: keep-alive\r\n\r\n";
  ASSERT_TRUE(client.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  EXPECT_EQ(client.receive(kept.size()), kept);
  // Still open: a second request on it is answered, and then it closes.
  ASSERT_TRUE(client.send("GET / HTTP/1.0\r\n\r\n"));
  EXPECT_EQ(client.receive_all(),
            kOk + "Content-Length: 0\r\n"
            "Connection: close\r\n\r\n");
}

// A handler that answers and then throws: the answer it gave stands, the
// 500 is not written over it, and the connection carries on.
TEST_F(HttpServerTest, AHandlerThatThrowsAfterAnsweringKeepsItsAnswer) {
  start([](Request& request, Responder responder) {
    Response response;
    response.body = std::string(request.path());
    responder.send(std::move(response));
    if (request.path() == "/throw") throw std::runtime_error("after the answer");
  });
  EXPECT_EQ(exchange("GET /throw HTTP/1.1\r\nHost: a\r\n\r\n"
                     "GET /next HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"),
            kOk + "Content-Length: 6\r\n\r\n/throw" +
            kOk + "Content-Length: 5\r\n"
            "Connection: close\r\n\r\n/next");
}

TEST_F(HttpServerTest, AHandlerThatThrowsWithoutAnsweringGets500AndAClose) {
  start([](Request&, Responder) { throw std::runtime_error("no answer"); });
  const std::string answer = exchange("GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(answer.rfind("HTTP/1.1 500 Internal Server Error\r\n", 0), 0u) << answer;
  EXPECT_NE(answer.find("Connection: close\r\n"), std::string::npos) << answer;
  EXPECT_NE(answer.find(R"("code":"internal")"), std::string::npos) << answer;
  EXPECT_EQ(answer.find("HTTP/1.1", 1), std::string::npos) << "answered the second request: " << answer;
}

TEST_F(HttpServerTest, AMalformedRequestGets400AndTheConnectionCloses) {
  std::atomic<bool> called = false;
  start([&](Request&, Responder responder) {
    called = true;
    responder.send(Response{});
  });
  const std::string answer = exchange("NOT HTTP AT ALL\r\n\r\n");
  EXPECT_EQ(answer.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << answer;
  EXPECT_NE(answer.find("Connection: close\r\n"), std::string::npos) << answer;
  EXPECT_NE(answer.find(R"("code":"bad_request")"), std::string::npos) << answer;
  EXPECT_FALSE(called);
}

TEST_F(HttpServerTest, AnAnswerFromAnotherThreadReachesTheClient) {
  std::vector<std::thread> threads;
  std::mutex mutex;
  start([&](Request&, Responder responder) {
    std::lock_guard lock(mutex);
    threads.emplace_back([responder] {
      Response response;
      response.status = 202;
      response.body = "late";
      responder.send(std::move(response));
    });
  });
  {
    RawClient client(port());
    ASSERT_TRUE(client.connected());
    ASSERT_TRUE(client.send("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"));
    EXPECT_EQ(client.receive_all(),
              "HTTP/1.1 202 Accepted\r\nServer: hawker\r\nContent-Type: application/json\r\nContent-Length: 4\r\n"
              "Connection: close\r\n\r\nlate");
  }
  std::lock_guard lock(mutex);
  for (auto& thread : threads) thread.join();
}

}  // namespace
}  // namespace hawker::http
