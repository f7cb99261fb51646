// Tests for <gale/httpclient.hpp>: gale's client against real servers on
// 127.0.0.1 with ephemeral ports: gale's own HTTPServer, raw TCP servers
// that misbehave on purpose, a small proxy, and Tornado 6.2's web server
// (tests/tornado/client_server.py, run with Debian's python3-tornado).
// Expected behaviour is Tornado's simple_httpclient's, checked against the
// same Python server; where gale differs (connection reuse, credentials
// across origins) the test says so.
#include <gale/httpclient.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <asio/ip/tcp.hpp>

#include <gale/detail/gzip.hpp>
#include <gale/gen.hpp>
#include <gale/httpserver.hpp>
#include <gale/locks.hpp>
#include <gale/tcpserver.hpp>

#include "ssl_support.hpp"
#include "python_support.hpp"
#include "support.hpp"


namespace {

using namespace std::chrono_literals;
using namespace std::string_literals;
using gale::AsyncHTTPClient;
using gale::HTTPClientError;
using gale::HTTPHeaders;
using gale::HTTPRequest;
using gale::HTTPResponse;
using gale::HTTPServerRequest;
using gale::IOStream;
using gale::task;
using gale_test::elapsed_ms;
using gale_test::run_async;
using gale_test::thrown;

// ================================================================== servers

// Answers a request with a body and Content-Length.
task<void> respond(HTTPServerRequest& request, int code, std::string body, HTTPHeaders headers = {},
                   std::string reason = {}) {
    if (!headers.contains("Content-Length") && !headers.contains("Transfer-Encoding"))
        headers.set("Content-Length", std::to_string(body.size()));
    if (reason.empty()) reason = std::string(gale::http_reason(code));
    gale::ResponseStartLine start{"HTTP/1.1", code, reason};
    request.connection->write_headers(start, headers, request.method == "HEAD" ? std::string_view() : body);
    co_await request.connection->finish();
}

// The request as text (the same as client_server.py's /echo).
std::string echo_text(const HTTPServerRequest& request) {
    std::string text = "method=" + request.method + "\nuri=" + request.uri + "\n";
    for (const auto& field : request.headers.get_all()) text += "header=" + field.name + ": " + field.value + "\n";
    return text + "body=" + request.body;
}

bool contains(std::string_view haystack, std::string_view needle) {
    return haystack.find(needle) != std::string_view::npos;
}

// The what() of the E that f() throws.
template <class E, class F>
std::string thrown_message(F f) {
    try {
        f();
    } catch (const E& e) {
        return e.what();
    }
    return "<no exception>";
}

// gale's HTTPServer with a handler per test, counting the connections it
// accepts and the requests it serves.
class test_server : public gale::HTTPServer {
public:
    using handler = std::function<task<void>(HTTPServerRequest&)>;

    explicit test_server(handler h, gale::HTTPServerOptions options = {})
        : gale::HTTPServer([this](HTTPServerRequest& r) { return serve(r); }, std::move(options)),
          handler_(std::move(h)) {
        port = listen(0, "127.0.0.1");
    }

    task<void> handle_stream(std::shared_ptr<IOStream> stream, std::string address) override {
        ++connections;
        return gale::HTTPServer::handle_stream(std::move(stream), std::move(address));
    }

    std::string url(std::string_view path) const { return fmt::format("http://127.0.0.1:{}{}", port, path); }

    task<void> shut_down() {
        stop();
        co_await close_all_connections();
    }

    std::uint16_t port = 0;
    int connections = 0;
    int requests = 0;

private:
    task<void> serve(HTTPServerRequest& r) {
        ++requests;
        return handler_(r);
    }

    handler handler_;
};

// The everyday handler of the gale-server tests:
//   /echo, /hello, /redirect?status=N&url=U, /status?code=N, /gzip, /chunked,
//   /close (Connection: close), /peer (the client's port)
task<void> standard(HTTPServerRequest& r) {
    if (r.path == "/hello") co_return co_await respond(r, 200, "Hello world!");
    if (r.path == "/redirect") {
        HTTPHeaders h;
        h.add("Location", r.query_arguments.at("url").front());
        int code = std::stoi(r.query_arguments.count("status") ? r.query_arguments.at("status").front() : "302");
        co_return co_await respond(r, code, "", std::move(h));
    }
    if (r.path == "/status") {
        int code = std::stoi(r.query_arguments.at("code").front());
        co_return co_await respond(r, code, fmt::format("status {}", code));
    }
    if (r.path == "/gzip") {
        HTTPHeaders h;
        std::string text;
        for (int i = 0; i < 100; ++i) text += "gale gzip test line\n";
        if (contains(r.headers.get("Accept-Encoding", ""), "gzip")) {
            h.add("Content-Encoding", "gzip");
            co_return co_await respond(r, 200, gale::detail::gzip_compress(text), std::move(h));
        }
        co_return co_await respond(r, 200, text, std::move(h));
    }
    if (r.path == "/chunked") {
        HTTPHeaders h;
        gale::ResponseStartLine start{"HTTP/1.1", 200, "OK"};
        r.connection->write_headers(start, h);
        co_await r.connection->write("asdf");
        co_await gale::sleep(5ms);
        co_await r.connection->write("qwer");
        co_await r.connection->finish();
        co_return;
    }
    if (r.path == "/close") {
        HTTPHeaders h;
        h.add("Connection", "close");
        co_return co_await respond(r, 200, "closing", std::move(h));
    }
    co_return co_await respond(r, 200, echo_text(r));
}

// A bare TCP server whose handler gets each connection's stream, for
// servers that misbehave on purpose. shut_down() closes the connections and
// waits for the handlers.
class raw_server : public gale::TCPServer {
public:
    using handler = std::function<task<void>(std::shared_ptr<IOStream>)>;

    explicit raw_server(handler h) : handler_(std::move(h)) { port = listen(0, "127.0.0.1"); }

    task<void> handle_stream(std::shared_ptr<IOStream> stream, std::string) override {
        ++connections;
        ++running_;
        streams_.push_back(stream);
        try {
            co_await handler_(stream);
        } catch (const gale::StreamClosedError&) {
        }
        if (--running_ == 0) idle_.set();
    }

    task<void> shut_down() {
        stop();
        for (auto& weak : streams_)
            if (auto s = weak.lock()) s->close();
        while (running_ > 0) {
            idle_.clear();
            co_await idle_.wait();
        }
    }

    std::string url(std::string_view path) const { return fmt::format("http://127.0.0.1:{}{}", port, path); }

    std::uint16_t port = 0;
    int connections = 0;

private:
    handler handler_;
    std::vector<std::weak_ptr<IOStream>> streams_;
    int running_ = 0;
    gale::Event idle_;
};

// Reads one request head (and a Content-Length body) from a raw stream.
task<std::string> read_request(IOStream& stream) {
    std::string head = co_await stream.read_until("\r\n\r\n", 65536);
    HTTPHeaders headers = HTTPHeaders::parse(head.substr(head.find('\n') + 1));
    if (auto length = headers.get("Content-Length")) head += co_await stream.read_bytes(std::stoul(std::string(*length)));
    co_return head;
}

// An HTTP proxy: answers absolute-form requests itself with what it
// received ("proxied <request line>" and the Proxy-Authorization), and
// tunnels CONNECT to the named host:port, or refuses it with `refuse`.
class test_proxy : public gale::TCPServer {
public:
    explicit test_proxy(std::string refuse = {}) : refuse_(std::move(refuse)) { port = listen(0, "127.0.0.1"); }

    task<void> handle_stream(std::shared_ptr<IOStream> stream, std::string) override {
        ++running_;
        streams_.push_back(stream);
        try {
            co_await serve(stream);
        } catch (const std::exception&) {
        }
        if (--running_ == 0) idle_.set();
    }

    task<void> shut_down() {
        stop();
        for (auto& weak : streams_)
            if (auto s = weak.lock()) s->close();
        while (running_ > 0) {
            idle_.clear();
            co_await idle_.wait();
        }
    }

    std::uint16_t port = 0;
    std::vector<std::string> request_lines;
    std::vector<std::string> proxy_authorizations;

private:
    task<void> serve(std::shared_ptr<IOStream> stream) {
        for (;;) {
            std::string request = co_await read_request(*stream);
            std::string line = request.substr(0, request.find("\r\n"));
            HTTPHeaders headers = HTTPHeaders::parse(request.substr(request.find('\n') + 1));
            request_lines.push_back(line);
            proxy_authorizations.push_back(headers.get("Proxy-Authorization", ""));
            if (line.starts_with("CONNECT ")) {
                if (!refuse_.empty()) {
                    co_await stream->write("HTTP/1.1 " + refuse_ + "\r\nContent-Length: 0\r\n\r\n");
                    continue;
                }
                std::string authority = line.substr(8, line.find(' ', 8) - 8);
                std::size_t colon = authority.rfind(':');
                auto target = co_await gale::TCPClient().connect(
                    authority.substr(0, colon), static_cast<std::uint16_t>(std::stoi(authority.substr(colon + 1))));
                co_await stream->write("HTTP/1.1 200 Connection established\r\n\r\n");
                streams_.push_back(target);
                co_await gale::gather(pump(stream, target), pump(target, stream));
                co_return;
            }
            std::string body = "proxied " + line + "\n" + request;
            co_await stream->write(fmt::format("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{}", body.size(), body));
        }
    }

    static task<void> pump(std::shared_ptr<IOStream> from, std::shared_ptr<IOStream> to) {
        try {
            for (;;) {
                co_await from->fill();
                std::string data(from->read_buffer());
                from->consume(data.size());
                co_await to->write(data);
            }
        } catch (const gale::StreamClosedError&) {
        }
        to->close();
    }

    std::string refuse_;
    std::vector<std::weak_ptr<IOStream>> streams_;
    int running_ = 0;
    gale::Event idle_;
};

// ================================================================== Tornado's server

// tests/tornado/client_server.py: python3-tornado 6.2 (scripts/deps.sh
// installs it); it prints "port N".
struct tornado_server {
    explicit tornado_server(std::vector<std::string> extra = {})
        : process("client_server.py", std::move(extra)),
          port(static_cast<std::uint16_t>(std::stoi(process.read_line("port ").substr(5)))) {}

    std::string url(std::string_view path) const { return fmt::format("http://127.0.0.1:{}{}", port, path); }

    gale_test::python_process process;
    std::uint16_t port;
};

// One Tornado server for the whole suite.
const tornado_server& tornado() {
    static tornado_server server;
    return server;
}

// A port whose accept queue is full, so connecting to it hangs (the SYNs
// are dropped) until the connect timeout: a black hole that works offline.
// (Raw sockets: Asio's synchronous connect would wait for the fillers.)
struct blackhole {
    int listener = -1;
    std::vector<int> fillers;
    std::uint16_t port = 0;

    blackhole() {
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        listener = ::socket(AF_INET, SOCK_STREAM, 0);
        socklen_t length = sizeof address;
        if (listener < 0 || ::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
            ::listen(listener, 0) != 0 || ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) != 0)
            throw std::runtime_error("blackhole: cannot listen");
        port = ntohs(address.sin_port);
        for (int i = 0; i < 4; ++i) {
            int s = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
            fillers.push_back(s);
            (void)::connect(s, reinterpret_cast<sockaddr*>(&address), sizeof address);
        }
        std::this_thread::sleep_for(50ms);
    }

    ~blackhole() {
        for (int s : fillers) ::close(s);
        ::close(listener);
    }

    blackhole(const blackhole&) = delete;
    blackhole& operator=(const blackhole&) = delete;
};

}  // namespace

// ================================================================== URLs

TEST_CASE("httpclient: urljoin resolves a Location as Python's urljoin does") {
    struct example {
        const char* base;
        const char* url;
        const char* joined;
    };
    // Expected values from /usr/bin/python3 -c 'from urllib.parse import urljoin; ...'.
    const example examples[] = {
        {"http://a/b/c/d;p?q", "g", "http://a/b/c/g"},
        {"http://a/b/c/d;p?q", "./g", "http://a/b/c/g"},
        {"http://a/b/c/d;p?q", "g/", "http://a/b/c/g/"},
        {"http://a/b/c/d;p?q", "/g", "http://a/g"},
        {"http://a/b/c/d;p?q", "//g", "http://g"},
        {"http://a/b/c/d;p?q", "?y", "http://a/b/c/d;p?y"},
        {"http://a/b/c/d;p?q", "g?y", "http://a/b/c/g?y"},
        {"http://a/b/c/d;p?q", "#s", "http://a/b/c/d;p?q#s"},
        {"http://a/b/c/d;p?q", "g#s", "http://a/b/c/g#s"},
        {"http://a/b/c/d;p?q", "", "http://a/b/c/d;p?q"},
        {"http://a/b/c/d;p?q", ".", "http://a/b/c/"},
        {"http://a/b/c/d;p?q", "./", "http://a/b/c/"},
        {"http://a/b/c/d;p?q", "..", "http://a/b/"},
        {"http://a/b/c/d;p?q", "../", "http://a/b/"},
        {"http://a/b/c/d;p?q", "../g", "http://a/b/g"},
        {"http://a/b/c/d;p?q", "../..", "http://a/"},
        {"http://a/b/c/d;p?q", "../../g", "http://a/g"},
        {"http://a/b/c/d;p?q", "../../../g", "http://a/g"},
        {"http://a/b/c/d;p?q", "/./g", "http://a/g"},
        {"http://a/b/c/d;p?q", "g.", "http://a/b/c/g."},
        {"http://a/b/c/d;p?q", "./../g", "http://a/b/g"},
        {"http://a/b/c/d;p?q", "g/./h", "http://a/b/c/g/h"},
        {"http://a/b/c/d;p?q", "g;x=1/../y", "http://a/b/c/y"},
        {"http://a/b/c/d;p?q", "http:g", "http://a/b/c/g"},
        {"http://a/b/c/d;p?q", "https://x/y", "https://x/y"},
        {"http://h:8/a/b", "../../../x?z", "http://h:8/x?z"},
        {"http://h/a", "mailto:x@y", "mailto:x@y"},
        {"http://h/a//b/c", "d", "http://h/a/b/d"},
        {"http://h", "x", "http://h/x"},
    };
    for (const auto& e : examples) {
        CAPTURE(e.base);
        CAPTURE(e.url);
        CHECK(gale::detail::urljoin(e.base, e.url) == e.joined);
    }
}

TEST_CASE("httpclient: URLs are split as Tornado's client splits them") {
    using gale::detail::parse_request_url;
    auto u = parse_request_url("http://user:pa:ss@Example.COM:8080/a/b?x=1&y#frag");
    CHECK(u.scheme == "http");
    CHECK(u.netloc == "Example.COM:8080");
    CHECK(u.host == "Example.COM");
    CHECK(u.port == 8080);
    CHECK(u.target == "/a/b?x=1&y");
    CHECK(u.username == "user");
    CHECK(u.password == "pa:ss");

    auto v6 = parse_request_url("https://[::1]/");
    CHECK(v6.host == "::1");
    CHECK(v6.netloc == "[::1]");
    CHECK(v6.port == 443);
    CHECK(!v6.username);

    CHECK(parse_request_url("http://h").target == "/");
    CHECK(parse_request_url("http://h?q").target == "/?q");
    // Tab, CR and LF vanish (Python's urlsplit); spaces, controls and
    // non-ASCII bytes in the target are percent-encoded.
    CHECK(parse_request_url("  http://h/a\r\nb c\x01\xc3\xa9 ").target == "/ab%20c%01%C3%A9");

    CHECK(thrown_message<std::invalid_argument>([] { parse_request_url("ftp://h/"); }) ==
          "Unsupported url scheme: ftp://h/");
    CHECK_THROWS_AS(parse_request_url("http:///path"), std::invalid_argument);
    CHECK_THROWS_AS(parse_request_url("http://h:70000/"), std::invalid_argument);
    CHECK(gale::detail::base64_encode("u%20x:p") == "dSUyMHg6cA==");
    CHECK(gale::detail::base64_encode("me:pw") == "bWU6cHc=");
    CHECK(gale::detail::base64_encode("") == "");
    CHECK(gale::detail::base64_encode("a") == "YQ==");
}

// ================================================================== against gale's server

TEST_CASE("httpclient: a GET returns code, reason, headers, body, effective_url and timing") {
    run_async([]() -> task<void> {
        test_server server(standard);
        AsyncHTTPClient client;
        HTTPResponse r = co_await client.fetch(server.url("/echo?a=1"));
        CHECK(r.code == 200);
        CHECK(r.reason == "OK");
        CHECK(r.effective_url == server.url("/echo?a=1"));
        CHECK(r.headers.get("Content-Length") == std::to_string(r.body.size()));
        CHECK(!r.error);
        CHECK(r.request);
        CHECK(r.request->url == server.url("/echo?a=1"));
        CHECK(r.request_time.count() > 0);
        CHECK(r.request_time.count() < 10);
        CHECK(std::chrono::system_clock::now() - r.start_time < 10s);
        CHECK_NOTHROW(r.rethrow());
        // What Tornado's client sends, with gale's name (Tornado: "Tornado/6.2").
        CHECK(r.body.starts_with("method=GET\nuri=/echo?a=1\n"));
        CHECK(contains(r.body, "header=Host: 127.0.0.1:" + std::to_string(server.port) + "\n"));
        CHECK(contains(r.body, "header=User-Agent: gale/" GALE_VERSION "\n"));
        CHECK(contains(r.body, "header=Accept-Encoding: gzip\n"));
        CHECK(!contains(r.body, "header=Connection"));
        CHECK(!contains(r.body, "header=Content-Length"));
        CHECK(r.body.ends_with("body="));
        co_await server.shut_down();
    });
}

TEST_CASE("httpclient: request bodies, methods and Tornado's request checks") {
    run_async([]() -> task<void> {
        test_server server(standard);
        AsyncHTTPClient client;
        HTTPResponse post = co_await client.fetch(HTTPRequest(server.url("/echo"), "POST", "a=1&b=2"));
        CHECK(post.body.starts_with("method=POST\n"));
        CHECK(contains(post.body, "header=Content-Length: 7\n"));
        CHECK(contains(post.body, "header=Content-Type: application/x-www-form-urlencoded\n"));
        CHECK(post.body.ends_with("body=a=1&b=2"));

        HTTPResponse put = co_await client.fetch(
            HTTPRequest(server.url("/echo"), "PUT", "").with_header("Content-Type", "text/plain"));
        CHECK(put.body.starts_with("method=PUT\n"));
        CHECK(contains(put.body, "header=Content-Length: 0\n"));
        CHECK(contains(put.body, "header=Content-Type: text/plain\n"));

        HTTPResponse del = co_await client.fetch(HTTPRequest(server.url("/echo"), "DELETE"));
        CHECK(del.body.starts_with("method=DELETE\n"));
        HTTPResponse head = co_await client.fetch(HTTPRequest(server.url("/echo"), "HEAD"));
        CHECK(head.code == 200);
        CHECK(head.body.empty());
        CHECK(std::stoi(std::string(*head.headers.get("Content-Length"))) > 0);

        // Tornado's ValueError / KeyError, as std::invalid_argument.
        auto e1 = co_await thrown<std::invalid_argument>(client.fetch(HTTPRequest(server.url("/echo"), "POST")));
        CHECK(std::string(e1.what()) == "Body must not be None for method POST (unless allow_nonstandard_methods is true)");
        auto e2 = co_await thrown<std::invalid_argument>(client.fetch(HTTPRequest(server.url("/echo"), "GET", "x")));
        CHECK(std::string(e2.what()) == "Body must be None for method GET (unless allow_nonstandard_methods is true)");
        auto e3 = co_await thrown<std::invalid_argument>(client.fetch(HTTPRequest(server.url("/echo"), "PROPFIND")));
        CHECK(std::string(e3.what()) == "unknown method PROPFIND");
        auto e4 = co_await thrown<std::invalid_argument>(client.fetch("ftp://127.0.0.1/"));
        CHECK(std::string(e4.what()) == "Unsupported url scheme: ftp://127.0.0.1/");
        auto e5 = co_await thrown<std::invalid_argument>(
            client.fetch(HTTPRequest(server.url("/echo")).with_auth("a", "b").with_auth_mode("digest")));
        CHECK(std::string(e5.what()) == "unsupported auth_mode digest");
        CHECK(server.requests == 4);  // none of those was sent

        // allow_nonstandard_methods lifts both checks.
        HTTPResponse propfind = co_await client.fetch(
            HTTPRequest(server.url("/echo"), "PROPFIND", "<x/>").with_allow_nonstandard_methods(true));
        CHECK(propfind.body.starts_with("method=PROPFIND\n"));
        CHECK(propfind.body.ends_with("body=<x/>"));
        HTTPResponse get_body = co_await client.fetch(
            HTTPRequest(server.url("/echo"), "GET", "payload").with_allow_nonstandard_methods(true));
        CHECK(get_body.body.ends_with("body=payload"));
        // A POST without a body then goes out chunked, as Tornado sends it.
        HTTPResponse chunked = co_await client.fetch(
            HTTPRequest(server.url("/echo"), "POST").with_allow_nonstandard_methods(true));
        CHECK(contains(chunked.body, "header=Transfer-Encoding: chunked\n"));
        CHECK(chunked.body.ends_with("body="));
        co_await server.shut_down();
    });
}

TEST_CASE("httpclient: headers, user agent, If-Modified-Since and basic auth are sent as Tornado sends them") {
    run_async([]() -> task<void> {
        test_server server(standard);
        AsyncHTTPClient client;
        HTTPHeaders headers{{"X-Custom", "v"}, {"User-Agent", "mine/1"}};
        HTTPResponse r = co_await client.fetch(HTTPRequest(server.url("/echo"))
                                                    .with_headers(headers)
                                                    .with_auth("me", "pw")
                                                    .with_if_modified_since(std::chrono::system_clock::from_time_t(0))
                                                    .with_decompress_response(false));
        CHECK(contains(r.body, "header=X-Custom: v\n"));
        CHECK(contains(r.body, "header=User-Agent: mine/1\n"));
        CHECK(contains(r.body, "header=Authorization: Basic bWU6cHc=\n"));
        CHECK(contains(r.body, "header=If-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT\n"));
        CHECK(!contains(r.body, "Accept-Encoding"));

        // user_agent overrides the header; credentials in the URL win over auth_username.
        std::string with_userinfo = fmt::format("http://u%20x:p@127.0.0.1:{}/echo", server.port);
        HTTPResponse u = co_await client.fetch(
            HTTPRequest(with_userinfo).with_headers(headers).with_user_agent("agent/2").with_auth("me", "pw"));
        CHECK(contains(u.body, "header=User-Agent: agent/2\n"));
        CHECK(contains(u.body, "header=Authorization: Basic dSUyMHg6cA==\n"));  // as written, not unquoted
        CHECK(contains(u.body, "header=Host: 127.0.0.1:" + std::to_string(server.port) + "\n"));
        // auth_password defaults to "".
        HTTPResponse nopass = co_await client.fetch(HTTPRequest(server.url("/echo")).with_auth_username("solo"));
        CHECK(contains(nopass.body, "header=Authorization: Basic " + gale::detail::base64_encode("solo:") + "\n"));
        co_await server.shut_down();
    });
}

TEST_CASE("httpclient: aggregate-temporary trap of GCC 12: requests built inside the co_await expression") {
    // With GCC 12, an aggregate temporary holding a std::string in a
    // co_await's full-expression is destroyed twice; HTTPRequest is not an
    // aggregate, so each of these is safe (the ASan build and a GCC build
    // crash otherwise).
    run_async([]() -> task<void> {
        test_server server(standard);
        AsyncHTTPClient client;
        std::string long_body(100, 'b');
        for (int i = 0; i < 3; ++i) {
            HTTPResponse a = co_await client.fetch(HTTPRequest(server.url("/echo?long-enough-for-the-heap"), "POST",
                                                               std::string(long_body)));
            CHECK(a.body.ends_with("body=" + long_body));
            HTTPResponse b = co_await client.fetch(HTTPRequest(server.url("/echo"))
                                                       .with_method("PUT")
                                                       .with_body(std::string(64, 'x'))
                                                       .with_header("X-Long-Header-Name", std::string(40, 'h'))
                                                       .with_request_timeout(5s));
            CHECK(b.body.starts_with("method=PUT\n"));
            HTTPResponse c = co_await client.fetch(std::string(server.url("/hello")));
            CHECK(c.body == "Hello world!");
            HTTPResponse d = co_await client.fetch(gale::HTTPRequest(server.url("/echo"), "GET"), false);
            CHECK(d.code == 200);
            auto [e, f] = co_await gale::gather(client.fetch(HTTPRequest(server.url("/hello"))),
                                                client.fetch(HTTPRequest(server.url("/echo"), "POST", "z")));
            CHECK(e.body == "Hello world!");
            CHECK(f.body.ends_with("body=z"));
        }
        co_await server.shut_down();
    });
}

TEST_CASE("httpclient: non-2xx responses raise HTTPClientError unless raise_error is false") {
    run_async([]() -> task<void> {
        test_server server([](HTTPServerRequest& r) -> task<void> {
            if (r.path == "/teapot") co_return co_await respond(r, 418, "short and stout", {}, "I'm a little teapot");
            if (r.path == "/noreason") co_return co_await respond(r, 503, "", {}, " ");
            co_return co_await respond(r, 404, "nothing here");
        });
        AsyncHTTPClient client;
        HTTPClientError e = co_await thrown<HTTPClientError>(client.fetch(server.url("/missing")));
        CHECK(e.code == 404);
        CHECK(e.message == "Not Found");
        CHECK(std::string(e.what()) == "HTTP 404: Not Found");
        REQUIRE(e.response);
        CHECK(e.response->code == 404);
        CHECK(e.response->body == "nothing here");
        CHECK(e.response->effective_url == server.url("/missing"));

        HTTPClientError teapot = co_await thrown<HTTPClientError>(client.fetch(server.url("/teapot")));
        CHECK(std::string(teapot.what()) == "HTTP 418: I'm a little teapot");

        HTTPResponse r = co_await client.fetch(server.url("/missing"), false);
        CHECK(r.code == 404);
        CHECK(r.body == "nothing here");
        REQUIRE(r.error);
        bool rethrown = false;
        try {
            r.rethrow();
        } catch (const HTTPClientError& again) {
            rethrown = again.code == 404 && std::string(again.what()) == "HTTP 404: Not Found";
        }
        CHECK(rethrown);
        co_await server.shut_down();

        // Tornado's message without any server: the standard reasons.
        CHECK(std::string(HTTPClientError(500).what()) == "HTTP 500: Internal Server Error");
        CHECK(std::string(HTTPClientError(299).what()) == "HTTP 299: Unknown");
        CHECK(std::string(gale::HTTPTimeoutError("Timeout during request").what()) == "Timeout during request");
        CHECK(gale::HTTPTimeoutError("").code == 599);
        CHECK(std::string(gale::HTTPStreamClosedError("").what()) == "Stream closed");
    });
}

TEST_CASE("httpclient: network errors are thrown whatever raise_error says (Tornado 6)") {
    run_async([]() -> task<void> {
        AsyncHTTPClient client;
        // A port nobody listens on: the cause itself, as Tornado raises ConnectionRefusedError.
        std::uint16_t closed_port;
        {
            asio::ip::tcp::acceptor probe(gale::IOLoop::current().context(),
                                          {asio::ip::address_v4::loopback(), 0});
            closed_port = probe.local_endpoint().port();
        }
        std::string refused = fmt::format("http://127.0.0.1:{}/", closed_port);
        auto e = co_await thrown<std::system_error>(client.fetch(refused, false));
        CHECK(e.code() == asio::error::connection_refused);
        CHECK(contains(e.what(), "Connection refused"));

        // The server closes mid-response: HTTPStreamClosedError, code 599.
        raw_server truncating([](std::shared_ptr<IOStream> s) -> task<void> {
            co_await read_request(*s);
            co_await s->write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten..");
            s->close();
        });
        auto closed = co_await thrown<gale::HTTPStreamClosedError>(client.fetch(truncating.url("/"), false));
        CHECK(closed.code == 599);
        CHECK(std::string(closed.what()) == "Stream closed");

        // A malformed response: HTTPInputError, as Tornado raises it.
        raw_server garbage([](std::shared_ptr<IOStream> s) -> task<void> {
            co_await read_request(*s);
            co_await s->write("SMTP ready\r\n\r\n");
            s->close();
        });
        CHECK(co_await gale_test::throws<gale::HTTPInputError>(client.fetch(garbage.url("/"), false)));
        co_await truncating.shut_down();
        co_await garbage.shut_down();
    });
}

TEST_CASE("httpclient: request_timeout against a server that never answers") {
    run_async([]() -> task<void> {
        raw_server silent([](std::shared_ptr<IOStream> s) -> task<void> {
            co_await read_request(*s);
            co_await s->read_until_close();
        });
        AsyncHTTPClient client;
        auto start = std::chrono::steady_clock::now();
        auto e = co_await thrown<gale::HTTPTimeoutError>(
            client.fetch(HTTPRequest(silent.url("/")).with_request_timeout(200ms), false));
        CHECK(e.code == 599);
        CHECK(std::string(e.what()) == "Timeout during request");
        CHECK(e.message == "Timeout during request");
        CHECK(elapsed_ms(start) < 5000);
        CHECK(client.idle_connections() == 0);  // a timed-out connection is not reused
        co_await silent.shut_down();
    });
}

TEST_CASE("httpclient: connect_timeout against a port that drops connection attempts") {
    blackhole hole;
    run_async([&]() -> task<void> {
        AsyncHTTPClient client;
        auto start = std::chrono::steady_clock::now();
        auto e = co_await thrown<gale::HTTPTimeoutError>(client.fetch(
            HTTPRequest(fmt::format("http://127.0.0.1:{}/", hole.port)).with_connect_timeout(200ms)));
        CHECK(e.code == 599);
        CHECK(std::string(e.what()) == "Timeout while connecting");
        CHECK(elapsed_ms(start) < 5000);
        // The smaller of the two timeouts bounds connecting, as in Tornado.
        auto e2 = co_await thrown<gale::HTTPTimeoutError>(
            client.fetch(HTTPRequest(fmt::format("http://127.0.0.1:{}/", hole.port)).with_request_timeout(150ms)));
        CHECK(std::string(e2.what()) == "Timeout while connecting");
    });
}

TEST_CASE("httpclient: gzip responses are decompressed unless decompress_response is false") {
    run_async([]() -> task<void> {
        test_server server(standard);
        AsyncHTTPClient client;
        std::string text;
        for (int i = 0; i < 100; ++i) text += "gale gzip test line\n";
        HTTPResponse r = co_await client.fetch(server.url("/gzip"));
        CHECK(r.body == text);
        CHECK(!r.headers.contains("Content-Encoding"));
        CHECK(r.headers.get("X-Consumed-Content-Encoding") == "gzip");
        CHECK(std::stoul(std::string(*r.headers.get("Content-Length"))) < text.size());

        HTTPResponse raw = co_await client.fetch(HTTPRequest(server.url("/gzip")).with_decompress_response(false));
        CHECK(raw.body == text);  // nothing asked for gzip, so none was sent
        HTTPResponse asked = co_await client.fetch(
            HTTPRequest(server.url("/gzip")).with_decompress_response(false).with_header("Accept-Encoding", "gzip"));
        CHECK(asked.headers.get("Content-Encoding") == "gzip");
        CHECK(gale::detail::gzip_decompress(asked.body) == text);
        co_await server.shut_down();
    });
}

TEST_CASE("httpclient: chunked responses, streaming_callback and header_callback") {
    run_async([]() -> task<void> {
        test_server server(standard);
        AsyncHTTPClient client;
        HTTPResponse r = co_await client.fetch(server.url("/chunked"));
        CHECK(r.body == "asdfqwer");
        CHECK(r.headers.get("Transfer-Encoding") == "chunked");

        std::vector<std::string> pieces;
        std::vector<std::string> lines;
        HTTPResponse s = co_await client.fetch(
            HTTPRequest(server.url("/chunked"))
                .with_streaming_callback([&](std::string_view piece) { pieces.emplace_back(piece); })
                .with_header_callback([&](std::string_view line) { lines.emplace_back(line); }));
        CHECK(s.body.empty());
        std::string joined;
        for (auto& p : pieces) joined += p;
        CHECK(joined == "asdfqwer");
        CHECK(pieces.size() >= 2);
        REQUIRE(lines.size() == 3);
        CHECK(lines[0] == "HTTP/1.1 200 OK\r\n");
        CHECK(lines[1] == "Transfer-Encoding: chunked\r\n");
        CHECK(lines[2] == "\r\n");
        co_await server.shut_down();
    });
}

TEST_CASE("httpclient: redirects follow Tornado's method rewriting for each code") {
    run_async([]() -> task<void> {
        test_server server(standard);
        AsyncHTTPClient client;
        auto redirect = [&](int code, std::string_view to) {
            return server.url(fmt::format("/redirect?status={}&url={}", code, gale::url_escape(to)));
        };
        struct expectation {
            int code;
            const char* method;
            const char* final_method;
            bool body_kept;       // the body goes to the new URL
            bool entity_headers;  // Content-Type survives (removed when rewritten to GET)
        };
        const expectation table[] = {
            {301, "POST", "GET", false, false},  {302, "POST", "GET", false, false}, {303, "POST", "GET", false, false},
            {307, "POST", "POST", true, true},   {308, "POST", "POST", true, true},  {301, "PUT", "PUT", true, true},
            {302, "PUT", "PUT", true, true},     {303, "PUT", "GET", false, false},  {303, "HEAD", "HEAD", false, true},
            {302, "GET", "GET", false, true},    {303, "DELETE", "GET", false, false},
        };
        for (const auto& t : table) {
            CAPTURE(t.code);
            CAPTURE(std::string(t.method));
            std::optional<std::string> body;
            if (std::string_view(t.method) == "POST" || std::string_view(t.method) == "PUT") body = "payload";
            HTTPResponse r = co_await client.fetch(
                HTTPRequest(redirect(t.code, "/echo"), t.method, body).with_header("Content-Type", "text/x-mine"));
            CHECK(r.code == 200);
            CHECK(r.effective_url == server.url("/echo"));
            if (std::string_view(t.method) == "HEAD") {
                CHECK(r.body.empty());
                continue;
            }
            CHECK(r.body.starts_with("method="s + t.final_method + "\n"));
            CHECK(r.body.ends_with(t.body_kept ? "body=payload" : "body="));
            CHECK(contains(r.body, "header=Content-Length") == t.body_kept);
            CHECK(contains(r.body, "header=Content-Type: text/x-mine") == t.entity_headers);
        }
        co_await server.shut_down();
    });
}

TEST_CASE("httpclient: relative Locations, max_redirects and follow_redirects") {
    run_async([]() -> task<void> {
        test_server server([](HTTPServerRequest& r) -> task<void> {
            // /count/N redirects to the relative "N-1" until 0.
            if (r.path.starts_with("/count/")) {
                int n = std::stoi(r.path.substr(7));
                if (n == 0) co_return co_await respond(r, 200, "Zero");
                HTTPHeaders h;
                h.add("Location", std::to_string(n - 1));
                co_return co_await respond(r, 302, "", std::move(h));
            }
            if (r.path == "/a/b/up") {
                HTTPHeaders h;
                h.add("Location", "../c?x=1");
                co_return co_await respond(r, 301, "", std::move(h));
            }
            if (r.path == "/nolocation") co_return co_await respond(r, 302, "moved, but where?");
            co_return co_await respond(r, 200, echo_text(r));
        });
        AsyncHTTPClient client;
        HTTPResponse up = co_await client.fetch(server.url("/a/b/up"));
        CHECK(up.effective_url == server.url("/a/c?x=1"));
        CHECK(up.body.starts_with("method=GET\nuri=/a/c?x=1\n"));

        HTTPResponse five = co_await client.fetch(server.url("/count/5"));
        CHECK(five.body == "Zero");
        CHECK(five.effective_url == server.url("/count/0"));

        // One redirect too many: the last redirect is the response (Tornado).
        HTTPClientError e = co_await thrown<HTTPClientError>(client.fetch(server.url("/count/6")));
        CHECK(e.code == 302);
        CHECK(std::string(e.what()) == "HTTP 302: Found");
        REQUIRE(e.response);
        CHECK(e.response->headers.get("Location") == "0");
        CHECK(e.response->effective_url == server.url("/count/1"));

        HTTPResponse two = co_await client.fetch(HTTPRequest(server.url("/count/3")).with_max_redirects(2), false);
        CHECK(two.code == 302);
        CHECK(two.effective_url == server.url("/count/1"));

        HTTPResponse none = co_await client.fetch(HTTPRequest(server.url("/count/3")).with_follow_redirects(false), false);
        CHECK(none.code == 302);
        CHECK(none.headers.get("Location") == "2");
        CHECK(none.effective_url == server.url("/count/3"));

        HTTPResponse nowhere = co_await client.fetch(server.url("/nolocation"), false);
        CHECK(nowhere.code == 302);
        CHECK(nowhere.body == "moved, but where?");
        co_await server.shut_down();
    });
}

TEST_CASE("httpclient: a redirect to another origin drops Authorization and Cookie (gale, not Tornado 6.2)") {
    run_async([]() -> task<void> {
        test_server server(standard);
        AsyncHTTPClient client;
        auto request = [&](std::string url) {
            return HTTPRequest(std::move(url))
                .with_header("Cookie", "session=secret")
                .with_header("X-Custom", "kept")
                .with_auth("me", "pw");
        };
        // Same origin: kept.
        std::string same = server.url("/redirect?url=" + gale::url_escape(server.url("/echo")));
        HTTPResponse kept = co_await client.fetch(request(same));
        CHECK(contains(kept.body, "header=Cookie: session=secret\n"));
        CHECK(contains(kept.body, "header=Authorization: Basic bWU6cHc=\n"));
        // localhost is another origin than 127.0.0.1 (same server): dropped.
        std::string other = fmt::format("http://localhost:{}/echo", server.port);
        HTTPResponse dropped = co_await client.fetch(request(server.url("/redirect?url=" + gale::url_escape(other))));
        CHECK(dropped.effective_url == other);
        CHECK(!contains(dropped.body, "Cookie"));
        CHECK(!contains(dropped.body, "Authorization"));
        CHECK(contains(dropped.body, "header=X-Custom: kept\n"));
        CHECK(contains(dropped.body, fmt::format("header=Host: localhost:{}\n", server.port)));
        // A different port is another origin too.
        test_server second(standard);
        HTTPResponse port_change =
            co_await client.fetch(request(server.url("/redirect?url=" + gale::url_escape(second.url("/echo")))));
        CHECK(!contains(port_change.body, "Authorization"));
        co_await server.shut_down();
        co_await second.shut_down();
    });
}

TEST_CASE("httpclient: keep-alive connections are pooled and reused") {
    run_async([]() -> task<void> {
        test_server server(standard);
        AsyncHTTPClient client;
        for (int i = 0; i < 5; ++i) {
            HTTPResponse r = co_await client.fetch(server.url("/hello"));
            CHECK(r.body == "Hello world!");
        }
        CHECK(server.connections == 1);
        CHECK(client.connections_opened() == 1);
        CHECK(client.idle_connections() == 1);

        // Redirects, POSTs, HEADs, chunked and gzip bodies and errors all leave it reusable.
        co_await client.fetch(server.url("/redirect?url=/echo"));
        co_await client.fetch(HTTPRequest(server.url("/echo"), "POST", "x"));
        co_await client.fetch(HTTPRequest(server.url("/echo"), "HEAD"));
        co_await client.fetch(server.url("/chunked"));
        co_await client.fetch(server.url("/gzip"));
        co_await client.fetch(server.url("/status?code=404"), false);
        CHECK(server.connections == 1);

        // Three at once need three connections; then all three are reused.
        co_await gale::gather(client.fetch(server.url("/hello")), client.fetch(server.url("/hello")),
                              client.fetch(server.url("/hello")));
        CHECK(server.connections == 3);
        CHECK(client.idle_connections() == 3);
        co_await gale::gather(client.fetch(server.url("/hello")), client.fetch(server.url("/hello")),
                              client.fetch(server.url("/hello")));
        CHECK(server.connections == 3);

        // "Connection: close" from the server, or from the request: not pooled.
        std::size_t idle = client.idle_connections();
        HTTPResponse closing = co_await client.fetch(server.url("/close"));
        CHECK(closing.headers.get("Connection") == "close");
        CHECK(client.idle_connections() == idle - 1);
        co_await client.fetch(HTTPRequest(server.url("/hello")).with_header("Connection", "close"));
        CHECK(client.idle_connections() == idle - 2);
        co_await server.shut_down();
    });
}

TEST_CASE("httpclient: keep_alive = false sends Connection: close and never reuses") {
    run_async([]() -> task<void> {
        test_server server(standard);
        gale::AsyncHTTPClientOptions options;
        options.keep_alive = false;
        AsyncHTTPClient client(options);
        HTTPResponse r = co_await client.fetch(server.url("/echo"));
        CHECK(contains(r.body, "header=Connection: close\n"));
        co_await client.fetch(server.url("/echo"));
        CHECK(server.connections == 2);
        CHECK(client.idle_connections() == 0);
        co_await server.shut_down();
    });
}

TEST_CASE("httpclient: idle pooled connections expire, and those the server closes are dropped") {
    run_async([]() -> task<void> {
        test_server server(standard);
        gale::AsyncHTTPClientOptions options;
        options.idle_connection_timeout = 100ms;
        AsyncHTTPClient client(options);
        co_await client.fetch(server.url("/hello"));
        CHECK(client.idle_connections() == 1);
        co_await gale::sleep(400ms);
        CHECK(client.idle_connections() == 0);
        co_await client.fetch(server.url("/hello"));
        CHECK(server.connections == 2);
        co_await server.shut_down();

        // The server closes idle connections after 100 ms: the pool notices.
        gale::HTTPServerOptions server_options;
        server_options.idle_connection_timeout = 100ms;
        test_server impatient(standard, server_options);
        AsyncHTTPClient second;
        co_await second.fetch(impatient.url("/hello"));
        CHECK(second.idle_connections() == 1);
        co_await gale::sleep(400ms);
        CHECK(second.idle_connections() == 0);
        HTTPResponse again = co_await second.fetch(HTTPRequest(impatient.url("/echo"), "POST", "not idempotent"));
        CHECK(again.body.ends_with("body=not idempotent"));
        CHECK(impatient.connections == 2);
        co_await impatient.shut_down();
    });
}

TEST_CASE("httpclient: max_idle_connections bounds the pool, oldest first") {
    run_async([]() -> task<void> {
        test_server server(standard);
        gale::AsyncHTTPClientOptions options;
        options.max_idle_connections = 2;
        AsyncHTTPClient client(options);
        co_await gale::gather(client.fetch(server.url("/hello")), client.fetch(server.url("/hello")),
                              client.fetch(server.url("/hello")), client.fetch(server.url("/hello")));
        CHECK(server.connections == 4);
        CHECK(client.idle_connections() == 2);
        co_await server.shut_down();
    });
}

TEST_CASE("httpclient: a pooled connection found dead is retried once for idempotent requests only") {
    run_async([]() -> task<void> {
        // Answers the first request of each connection with keep-alive, then
        // closes the connection when the second request arrives (as a server
        // whose idle timeout fires just as the request goes out).
        raw_server flaky([](std::shared_ptr<IOStream> s) -> task<void> {
            co_await read_request(*s);
            co_await s->write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst");
            co_await read_request(*s);
            s->close();
        });
        AsyncHTTPClient client;
        CHECK((co_await client.fetch(flaky.url("/"))).body == "first");
        CHECK(client.idle_connections() == 1);
        HTTPResponse retried = co_await client.fetch(flaky.url("/"));
        CHECK(retried.body == "first");  // from a new connection
        CHECK(flaky.connections == 2);
        CHECK(client.connections_opened() == 2);
        HTTPResponse put = co_await client.fetch(HTTPRequest(flaky.url("/"), "PUT", "idempotent"));
        CHECK(put.body == "first");
        CHECK(flaky.connections == 3);

        // A POST is not retried: the server may have acted on it.
        CHECK(client.idle_connections() == 1);
        auto e = co_await thrown<gale::HTTPStreamClosedError>(client.fetch(HTTPRequest(flaky.url("/"), "POST", "once")));
        CHECK(e.code == 599);
        CHECK(flaky.connections == 3);
        co_await flaky.shut_down();
    });
}

TEST_CASE("httpclient: max_clients queues requests first come, first served") {
    run_async([]() -> task<void> {
        gale::Event arrived, release;
        std::vector<std::string> order;
        test_server server([&](HTTPServerRequest& r) -> task<void> {
            order.push_back(r.uri);
            if (r.path == "/wait") {
                arrived.set();
                co_await release.wait();
            }
            co_return co_await respond(r, 200, r.uri);
        });
        gale::AsyncHTTPClientOptions options;
        options.max_clients = 1;
        AsyncHTTPClient client(options);
        auto first = gale::spawn(client.fetch(server.url("/wait")));
        auto second = gale::spawn(client.fetch(server.url("/2")));
        auto third = gale::spawn(client.fetch(server.url("/3")));
        co_await arrived.wait();
        // A fourth gives up in the queue after its (connect) timeout.
        auto start = std::chrono::steady_clock::now();
        auto e = co_await thrown<gale::HTTPTimeoutError>(
            client.fetch(HTTPRequest(server.url("/4")).with_connect_timeout(100ms)));
        CHECK(std::string(e.what()) == "Timeout in request queue");
        CHECK(e.code == 599);
        CHECK(elapsed_ms(start) < 5000);
        CHECK(order == std::vector<std::string>{"/wait"});
        release.set();
        CHECK((co_await first).body == "/wait");
        CHECK((co_await second).body == "/2");
        CHECK((co_await third).body == "/3");
        CHECK(order == std::vector<std::string>{"/wait", "/2", "/3"});
        CHECK(server.connections == 1);  // one at a time: one connection, reused
        co_await server.shut_down();
    });
}

TEST_CASE("httpclient: expect_100_continue sends the body after 100 Continue") {
    run_async([]() -> task<void> {
        test_server server(standard);
        AsyncHTTPClient client;
        std::vector<std::string> lines;
        HTTPResponse r = co_await client.fetch(HTTPRequest(server.url("/echo"), "PUT", "the body")
                                                    .with_expect_100_continue(true)
                                                    .with_header_callback([&](std::string_view l) { lines.emplace_back(l); }));
        CHECK(contains(r.body, "header=Expect: 100-continue\n"));
        CHECK(r.body.ends_with("body=the body"));
        REQUIRE(!lines.empty());
        CHECK(lines.front() == "HTTP/1.1 200 OK\r\n");  // the 100 is not reported
        // The connection is reusable afterwards.
        co_await client.fetch(server.url("/hello"));
        CHECK(server.connections == 1);
        co_await server.shut_down();

        // A server that answers at once without 100: the body is never sent.
        std::string received;
        raw_server refusing([&](std::shared_ptr<IOStream> s) -> task<void> {
            std::string head = co_await s->read_until("\r\n\r\n");
            co_await s->write("HTTP/1.1 417 Expectation Failed\r\nContent-Length: 2\r\n\r\nno");
            received = co_await s->read_until_close();
        });
        AsyncHTTPClient second;
        HTTPResponse refused = co_await second.fetch(
            HTTPRequest(refusing.url("/"), "POST", "unsent body").with_expect_100_continue(true), false);
        CHECK(refused.code == 417);
        CHECK(refused.body == "no");
        CHECK(second.idle_connections() == 0);
        co_await gale::sleep(50ms);
        co_await refusing.shut_down();
        CHECK(received.empty());
    });
}

TEST_CASE("httpclient: http through a proxy uses the absolute URL and Proxy-Authorization") {
    run_async([]() -> task<void> {
        test_proxy proxy;
        AsyncHTTPClient client;
        HTTPResponse r = co_await client.fetch(HTTPRequest("http://example.invalid:8080/path?q=1")
                                                    .with_proxy("127.0.0.1", proxy.port, "puser", "ppass"));
        CHECK(r.code == 200);
        CHECK(r.body.starts_with("proxied GET http://example.invalid:8080/path?q=1 HTTP/1.1\n"));
        CHECK(contains(r.body, "\r\nHost: example.invalid:8080\r\n"));
        REQUIRE(proxy.proxy_authorizations.size() == 1);
        CHECK(proxy.proxy_authorizations[0] == "Basic " + gale::detail::base64_encode("puser:ppass"));
        // The connection to the proxy is reused, for another origin too.
        HTTPResponse second =
            co_await client.fetch(HTTPRequest("http://other.invalid/").with_proxy("127.0.0.1", proxy.port));
        CHECK(second.body.starts_with("proxied GET http://other.invalid/ HTTP/1.1\n"));
        CHECK(proxy.proxy_authorizations[1].empty());
        CHECK(client.connections_opened() == 1);
        auto no_port = co_await thrown<std::invalid_argument>(
            client.fetch(HTTPRequest("http://x.invalid/").with_proxy_host("127.0.0.1")));
        CHECK(std::string(no_port.what()) == "proxy_host needs a proxy_port");
        co_await proxy.shut_down();
    });
}

TEST_CASE("httpclient: a refused CONNECT is an HTTPClientError 599") {
    run_async([]() -> task<void> {
        test_proxy proxy("407 Proxy Authentication Required");
        AsyncHTTPClient client;
        auto e = co_await thrown<HTTPClientError>(
            client.fetch(HTTPRequest("https://secure.invalid/").with_proxy("127.0.0.1", proxy.port, "u", "p")));
        CHECK(e.code == 599);
        CHECK(std::string(e.what()) == "HTTP 599: Tunnel connection failed: 407 Proxy Authentication Required");
        REQUIRE(proxy.request_lines.size() == 1);
        CHECK(proxy.request_lines[0] == "CONNECT secure.invalid:443 HTTP/1.1");
        CHECK(proxy.proxy_authorizations[0] == "Basic " + gale::detail::base64_encode("u:p"));
        co_await proxy.shut_down();
    });
}

TEST_CASE("httpclient: close() ends the pool and refuses later fetches") {
    run_async([]() -> task<void> {
        test_server server(standard);
        AsyncHTTPClient client;
        co_await client.fetch(server.url("/hello"));
        CHECK(client.idle_connections() == 1);
        client.close();
        CHECK(client.idle_connections() == 0);
        CHECK(thrown_message<std::runtime_error>([&] { (void)client.fetch(server.url("/hello")); }) ==
              "fetch() called on closed AsyncHTTPClient");
        co_await server.shut_down();
    });
}

// ================================================================== against Tornado's server

TEST_CASE("httpclient, Tornado server: GET, POST and what Tornado receives") {
    const auto& server = tornado();
    run_async([&]() -> task<void> {
        AsyncHTTPClient client;
        HTTPResponse hello = co_await client.fetch(server.url("/hello"));
        CHECK(hello.code == 200);
        CHECK(hello.body == "Hello world!");
        CHECK(hello.headers.get("Content-Type") == "text/html; charset=UTF-8");
        CHECK(hello.headers.contains("Date"));
        CHECK(hello.headers.get("Server") == "TornadoServer/6.2");

        HTTPResponse echo = co_await client.fetch(
            HTTPRequest(server.url("/echo?x=1"), "POST", "k=v").with_header("X-Custom", "v").with_auth("me", "pw"));
        CHECK(echo.body.starts_with("method=POST\nuri=/echo?x=1\n"));
        CHECK(contains(echo.body, "header=X-Custom: v\n"));
        CHECK(contains(echo.body, fmt::format("header=Host: 127.0.0.1:{}\n", server.port)));
        CHECK(contains(echo.body, "header=Authorization: Basic bWU6cHc=\n"));
        CHECK(contains(echo.body, "header=User-Agent: gale/" GALE_VERSION "\n"));
        CHECK(contains(echo.body, "header=Content-Length: 3\n"));
        CHECK(contains(echo.body, "header=Content-Type: application/x-www-form-urlencoded\n"));
        CHECK(contains(echo.body, "header=Accept-Encoding: gzip\n"));
        CHECK(echo.body.ends_with("body=k=v"));

        HTTPResponse auth = co_await client.fetch(HTTPRequest(server.url("/auth")).with_auth("Aladdin", "open sesame"));
        CHECK(auth.body == "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
    });
}

TEST_CASE("httpclient, Tornado server: errors carry Tornado's error page") {
    const auto& server = tornado();
    run_async([&]() -> task<void> {
        AsyncHTTPClient client;
        HTTPClientError e = co_await thrown<HTTPClientError>(client.fetch(server.url("/no/such/page")));
        CHECK(std::string(e.what()) == "HTTP 404: Not Found");
        REQUIRE(e.response);
        CHECK(e.response->body == "<html><title>404: Not Found</title><body>404: Not Found</body></html>");
        HTTPClientError e500 = co_await thrown<HTTPClientError>(client.fetch(server.url("/status?code=500")));
        CHECK(std::string(e500.what()) == "HTTP 500: Internal Server Error");
        CHECK(e500.response->body == "status 500");
        HTTPResponse r = co_await client.fetch(server.url("/status?code=503"), false);
        CHECK(r.code == 503);
        CHECK(r.reason == "Service Unavailable");
        CHECK(r.error);
    });
}

TEST_CASE("httpclient, Tornado server: redirects") {
    const auto& server = tornado();
    run_async([&]() -> task<void> {
        AsyncHTTPClient client;
        HTTPResponse zero = co_await client.fetch(server.url("/countdown/5"));
        CHECK(zero.body == "Zero");
        CHECK(zero.effective_url == server.url("/countdown/0"));
        HTTPClientError e = co_await thrown<HTTPClientError>(client.fetch(server.url("/countdown/6")));
        CHECK(e.code == 302);
        CHECK(e.response->effective_url == server.url("/countdown/1"));

        HTTPResponse see_other = co_await client.fetch(
            HTTPRequest(server.url("/redirect?status=303&url=/echo"), "POST", "data"));
        CHECK(see_other.body.starts_with("method=GET\nuri=/echo\n"));
        CHECK(see_other.body.ends_with("body="));
        HTTPResponse temporary = co_await client.fetch(
            HTTPRequest(server.url("/redirect?status=307&url=/echo"), "POST", "data"));
        CHECK(temporary.body.starts_with("method=POST\nuri=/echo\n"));
        CHECK(temporary.body.ends_with("body=data"));
    });
}

TEST_CASE("httpclient, Tornado server: gzip, chunked, streaming and header callbacks") {
    const auto& server = tornado();
    run_async([&]() -> task<void> {
        AsyncHTTPClient client;
        std::string text;
        for (int i = 0; i < 100; ++i) text += "gale gzip test line\n";
        HTTPResponse gz = co_await client.fetch(server.url("/gzip"));
        CHECK(gz.body == text);
        CHECK(gz.headers.get("X-Consumed-Content-Encoding") == "gzip");
        HTTPResponse plain = co_await client.fetch(HTTPRequest(server.url("/gzip")).with_decompress_response(false));
        CHECK(plain.body == text);
        CHECK(!plain.headers.contains("X-Consumed-Content-Encoding"));

        HTTPResponse chunked = co_await client.fetch(server.url("/chunked"));
        CHECK(chunked.body == "asdfqwer");
        CHECK(chunked.headers.get("Transfer-Encoding") == "chunked");

        std::size_t total = 0;
        int calls = 0;
        std::string first_bytes;
        std::vector<std::string> lines;
        HTTPResponse streamed = co_await client.fetch(
            HTTPRequest(server.url("/stream?n=20&size=10000"))
                .with_streaming_callback([&](std::string_view piece) {
                    if (first_bytes.empty()) first_bytes = std::string(piece.substr(0, 3));
                    total += piece.size();
                    ++calls;
                })
                .with_header_callback([&](std::string_view line) { lines.emplace_back(line); }));
        CHECK(streamed.body.empty());
        CHECK(total == 200000);
        CHECK(calls >= 4);
        CHECK(first_bytes == "aaa");
        REQUIRE(lines.size() >= 3);
        CHECK(lines.front() == "HTTP/1.1 200 OK\r\n");
        CHECK(lines.back() == "\r\n");
        CHECK(std::find(lines.begin(), lines.end(), "Transfer-Encoding: chunked\r\n") != lines.end());
        CHECK(std::find(lines.begin(), lines.end(), "Server: TornadoServer/6.2\r\n") != lines.end());
    });
}

TEST_CASE("httpclient, Tornado server: keep-alive reuse, seen from the server") {
    const auto& server = tornado();
    run_async([&]() -> task<void> {
        AsyncHTTPClient client;
        std::string a = (co_await client.fetch(server.url("/peer"))).body;
        std::string b = (co_await client.fetch(server.url("/peer"))).body;
        std::string c = (co_await client.fetch(HTTPRequest(server.url("/peer"), "POST", ""))).body;
        CHECK(a == b);
        CHECK(b == c);
        co_await client.fetch(server.url("/close"));
        std::string d = (co_await client.fetch(server.url("/peer"))).body;
        CHECK(d != a);
        CHECK(client.connections_opened() == 2);
    });
}

TEST_CASE("httpclient, Tornado server: timeouts and 100-continue") {
    const auto& server = tornado();
    run_async([&]() -> task<void> {
        AsyncHTTPClient client;
        auto start = std::chrono::steady_clock::now();
        auto e = co_await thrown<gale::HTTPTimeoutError>(
            client.fetch(HTTPRequest(server.url("/hang")).with_request_timeout(200ms)));
        CHECK(std::string(e.what()) == "Timeout during request");
        CHECK(elapsed_ms(start) < 5000);

        HTTPResponse continued = co_await client.fetch(
            HTTPRequest(server.url("/echo"), "POST", "after continue").with_expect_100_continue(true));
        CHECK(contains(continued.body, "header=Expect: 100-continue\n"));
        CHECK(continued.body.ends_with("body=after continue"));

        HTTPResponse rejected = co_await client.fetch(
            HTTPRequest(server.url("/reject_expect"), "POST", std::string(100000, 'x')).with_expect_100_continue(true),
            false);
        CHECK(rejected.code == 417);
        CHECK(rejected.body == "no body wanted");
    });
}

// ================================================================== the blocking client

TEST_CASE("httpclient: the blocking HTTPClient") {
    const auto& server = tornado();
    gale::HTTPClient client;
    HTTPResponse r = client.fetch(server.url("/hello"));
    CHECK(r.code == 200);
    CHECK(r.body == "Hello world!");
    std::string port = client.fetch(server.url("/peer")).body;
    CHECK(client.fetch(HTTPRequest(server.url("/peer"))).body == port);  // reused between fetches
    HTTPResponse missing = client.fetch(server.url("/status?code=404"), false);
    CHECK(missing.code == 404);
    CHECK(thrown_message<HTTPClientError>([&] { client.fetch(server.url("/status?code=404")); }) == "HTTP 404: Not Found");
    client.close();
    CHECK(thrown_message<std::runtime_error>([&] { client.fetch(server.url("/hello")); }) ==
          "fetch() called on closed HTTPClient");
}

TEST_CASE("httpclient: the blocking client notices a connection the server closed between fetches") {
    // Between fetches the blocking client's loop does not run, so nothing
    // watches its pool; the check before reuse (a peek) sees the close, and
    // even a POST goes out on a new connection.
    tornado_server server({"--idle-timeout", "0.2"});
    gale::HTTPClient client;
    std::string first = client.fetch(server.url("/peer")).body;
    std::this_thread::sleep_for(600ms);
    std::string second = client.fetch(HTTPRequest(server.url("/peer"), "POST", "")).body;
    CHECK(first != second);
}

// ================================================================== HTTPS

namespace {

const gale_test::test_certs& certs() { return gale_test::test_certs::get(); }

std::shared_ptr<gale::ssl_context> server_context(std::string cert, std::string key, bool require_client = false) {
    gale::ssl_options options;
    options.certfile = std::move(cert);
    options.keyfile = std::move(key);
    if (require_client) {
        options.cert_reqs = gale::ssl_cert_reqs::required;
        options.ca_certs = certs().ca_cert;
    }
    return gale::ssl_options_to_context(options, true);
}

gale::HTTPServerOptions tls_options(std::shared_ptr<gale::ssl_context> context) {
    gale::HTTPServerOptions options;
    options.ssl_options = std::move(context);
    return options;
}

std::string https_url(std::uint16_t port, std::string_view path, std::string_view host = "localhost") {
    return fmt::format("https://{}:{}{}", host, port, path);
}

}  // namespace

TEST_CASE("httpclient: HTTPS verifies the certificate and the name, and reuses connections") {
    gale_test::log_capture quiet;  // the handshakes that fail are logged as warnings
    run_async([]() -> task<void> {
        test_server server(standard, tls_options(server_context(certs().server_cert, certs().server_key)));
        AsyncHTTPClient client;
        for (int i = 0; i < 3; ++i) {
            HTTPResponse r = co_await client.fetch(
                HTTPRequest(https_url(server.port, "/echo")).with_ca_certs(certs().ca_cert));
            CHECK(r.code == 200);
            CHECK(contains(r.body, fmt::format("header=Host: localhost:{}\n", server.port)));
        }
        CHECK(server.connections == 1);
        CHECK(client.connections_opened() == 1);
        // By IP address: checked against the certificate's IP addresses.
        HTTPResponse by_ip = co_await client.fetch(
            HTTPRequest(https_url(server.port, "/hello", "127.0.0.1")).with_ca_certs(certs().ca_cert));
        CHECK(by_ip.body == "Hello world!");

        // The system's CAs do not know the test CA: the verification error itself.
        auto unknown = co_await thrown<gale::SSLCertVerificationError>(client.fetch(https_url(server.port, "/hello")));
        CHECK(contains(unknown.what(), "certificate verify failed"));
        // validate_cert = false accepts it; such connections are pooled apart.
        HTTPResponse unchecked =
            co_await client.fetch(HTTPRequest(https_url(server.port, "/hello")).with_validate_cert(false));
        CHECK(unchecked.body == "Hello world!");
        // A context given as ssl_options is used as it is.
        gale::ssl_options mine;
        mine.ca_certs = certs().ca_cert;
        auto context = gale::ssl_options_to_context(mine, false);
        HTTPResponse with_context =
            co_await client.fetch(HTTPRequest(https_url(server.port, "/hello")).with_ssl_options(context));
        CHECK(with_context.body == "Hello world!");
        co_await server.shut_down();

        // A certificate for another name fails the name check.
        test_server wrong(standard, tls_options(server_context(certs().wrong_name_cert, certs().wrong_name_key)));
        auto mismatch = co_await thrown<gale::SSLCertVerificationError>(
            client.fetch(HTTPRequest(https_url(wrong.port, "/hello")).with_ca_certs(certs().ca_cert)));
        CHECK(contains(mismatch.what(), "Hostname mismatch"));
        co_await wrong.shut_down();

        // A self-signed certificate: only without validation.
        test_server self(standard, tls_options(server_context(certs().self_signed_cert, certs().self_signed_key)));
        CHECK(co_await gale_test::throws<gale::SSLCertVerificationError>(
            client.fetch(HTTPRequest(https_url(self.port, "/hello")).with_ca_certs(certs().ca_cert))));
        HTTPResponse self_ok =
            co_await client.fetch(HTTPRequest(https_url(self.port, "/hello")).with_validate_cert(false));
        CHECK(self_ok.body == "Hello world!");
        co_await self.shut_down();
    });
}

TEST_CASE("httpclient: HTTPS with a client certificate") {
    gale_test::log_capture quiet;  // the handshakes that fail are logged as warnings
    run_async([]() -> task<void> {
        test_server server(standard, tls_options(server_context(certs().server_cert, certs().server_key, true)));
        AsyncHTTPClient client;
        HTTPResponse r = co_await client.fetch(HTTPRequest(https_url(server.port, "/hello"))
                                                    .with_ca_certs(certs().ca_cert)
                                                    .with_client_cert(certs().client_cert)
                                                    .with_client_key(certs().client_key));
        CHECK(r.body == "Hello world!");
        // Without one the server refuses the handshake (TLS 1.3 reports it on the first read).
        CHECK(co_await gale_test::throws<std::exception>(
            client.fetch(HTTPRequest(https_url(server.port, "/hello")).with_ca_certs(certs().ca_cert))));
        co_await server.shut_down();
    });
}

TEST_CASE("httpclient: HTTPS through a proxy's CONNECT tunnel") {
    run_async([]() -> task<void> {
        test_server server(standard, tls_options(server_context(certs().server_cert, certs().server_key)));
        test_proxy proxy;
        AsyncHTTPClient client;
        for (int i = 0; i < 2; ++i) {
            HTTPResponse r = co_await client.fetch(HTTPRequest(https_url(server.port, "/echo?tunnel"))
                                                        .with_ca_certs(certs().ca_cert)
                                                        .with_proxy("127.0.0.1", proxy.port, "pu", "pp"));
            CHECK(r.code == 200);
            // Inside the tunnel: origin-form, and no proxy credentials.
            CHECK(r.body.starts_with("method=GET\nuri=/echo?tunnel\n"));
            CHECK(!contains(r.body, "Proxy-Authorization"));
        }
        REQUIRE(proxy.request_lines.size() == 1);  // the tunnel is pooled and reused
        CHECK(proxy.request_lines[0] == fmt::format("CONNECT localhost:{} HTTP/1.1", server.port));
        CHECK(proxy.proxy_authorizations[0] == "Basic " + gale::detail::base64_encode("pu:pp"));
        CHECK(server.connections == 1);
        co_await proxy.shut_down();
        co_await server.shut_down();
    });
}

TEST_CASE("httpclient, Tornado server: HTTPS") {
    gale_test::log_capture quiet;  // the handshakes that fail are logged as warnings
    tornado_server server({"--cert", certs().server_cert, "--key", certs().server_key});
    run_async([&]() -> task<void> {
        AsyncHTTPClient client;
        std::string url = https_url(server.port, "/peer");
        std::string first = (co_await client.fetch(HTTPRequest(url).with_ca_certs(certs().ca_cert))).body;
        std::string second = (co_await client.fetch(HTTPRequest(url).with_ca_certs(certs().ca_cert))).body;
        CHECK(first == second);
        HTTPResponse gz = co_await client.fetch(HTTPRequest(https_url(server.port, "/gzip")).with_ca_certs(certs().ca_cert));
        CHECK(gz.headers.get("X-Consumed-Content-Encoding") == "gzip");
        CHECK(co_await gale_test::throws<gale::SSLCertVerificationError>(client.fetch(https_url(server.port, "/hello"))));
    });
}

// ================================================================== odds and ends

static_assert(!std::is_aggregate_v<gale::HTTPRequest>, "GCC 12: no aggregate temporaries in co_await expressions");
static_assert(!std::is_aggregate_v<gale::HTTPResponse>);

TEST_CASE("httpclient: 1xx heads reach the header_callback, as in Tornado") {
    run_async([]() -> task<void> {
        raw_server server([](std::shared_ptr<IOStream> s) -> task<void> {
            co_await read_request(*s);
            co_await s->write("HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
            co_await read_request(*s);
        });
        AsyncHTTPClient client;
        std::vector<std::string> lines;
        HTTPResponse r = co_await client.fetch(
            HTTPRequest(server.url("/")).with_header_callback([&](std::string_view l) { lines.emplace_back(l); }));
        CHECK(r.code == 200);
        CHECK(r.body == "ok");
        CHECK(lines == std::vector<std::string>{"HTTP/1.1 102 Processing\r\n", "\r\n", "HTTP/1.1 200 OK\r\n",
                                                "Content-Length: 2\r\n", "\r\n"});
        co_await server.shut_down();
    });
}

TEST_CASE("httpclient: body limits, failing callbacks, network_interface and allow_ipv6") {
    gale_test::log_capture quiet;  // the server logs the response it could not finish
    run_async([]() -> task<void> {
        test_server server(standard);
        gale::AsyncHTTPClientOptions options;
        options.max_body_size = 10;
        AsyncHTTPClient small(options);
        // Too large a body: Tornado's HTTPInputError, thrown as it is.
        CHECK(co_await gale_test::throws<gale::HTTPInputError>(small.fetch(server.url("/echo"))));
        CHECK(co_await gale_test::throws<gale::HTTPInputError>(small.fetch(server.url("/chunked"), false)) == false);
        CHECK(small.idle_connections() == 1);  // the 8-byte chunked body fits; its connection is kept

        // A callback that throws: its exception, and the connection is closed.
        AsyncHTTPClient client;
        struct callback_failure : std::runtime_error {
            using std::runtime_error::runtime_error;
        };
        auto e = co_await thrown<callback_failure>(client.fetch(
            HTTPRequest(server.url("/chunked")).with_streaming_callback([](std::string_view) {
                throw callback_failure("enough");
            })));
        CHECK(std::string(e.what()) == "enough");
        CHECK(client.idle_connections() == 0);

        HTTPResponse bound = co_await client.fetch(HTTPRequest(server.url("/hello")).with_network_interface("127.0.0.1"));
        CHECK(bound.body == "Hello world!");
        auto bad = co_await thrown<std::invalid_argument>(
            client.fetch(HTTPRequest(server.url("/hello")).with_network_interface("eth0")));
        CHECK(std::string(bad.what()) == "Unrecognized IPv4 or IPv6 address for network_interface, got 'eth0'");
        HTTPResponse v4 = co_await client.fetch(
            HTTPRequest(fmt::format("http://localhost:{}/hello", server.port)).with_allow_ipv6(false));
        CHECK(v4.body == "Hello world!");
        HTTPResponse by_view = co_await client.fetch(std::string_view(server.url("/hello")));
        CHECK(by_view.body == "Hello world!");
        co_await server.shut_down();
    });
}
