// Tornado's tornado.tcpclient for C++: opens TCP connections as IOStreams.
//
//   gale::TCPClient client;
//   std::shared_ptr<gale::IOStream> stream =
//       co_await client.connect("localhost", 8888, {.timeout = 5s});
//   co_await stream->write("ping\n");
//
// Synopsis:
//   TCPClient(std::shared_ptr<Resolver> resolver = default Resolver)
//   task<std::shared_ptr<IOStream>> connect(host, port, connect_options = {})
//   task<std::shared_ptr<IOStream>> connect(host, port, connect_options, ssl_options, server_hostname = "")
//   connect_options: timeout, family, source_ip, source_port, stream (stream_options)
//
// TLS (Tornado's connect(ssl_options=...)): with ssl_options, a
// gale::ssl_context from <gale/ssl.hpp>, the connection is secured before
// connect() returns it. The name sent in SNI and checked against the
// server's certificate is server_hostname, or host when that is empty:
//
//   auto ctx = gale::create_default_context();        // verifies, system CAs
//   auto stream = co_await client.connect("example.com", 443, {}, ctx);
//
// options.timeout then covers the handshake too. A failed handshake throws
// gale::SSLError (gale::SSLCertVerificationError for a certificate that
// does not verify) or StreamClosedError if the server hung up.
//
// connect() resolves the host, then tries its addresses as Tornado does
// ("Happy Eyeballs", RFC 6555): the addresses of the first family returned
// one after another, and those of the other family in parallel from the
// first failure or after 300 ms, whichever comes first. The first connection
// made wins; the attempts still running are abandoned.
//
// Errors: TimeoutError when options.timeout (covering resolution and
// connection) passes; otherwise std::system_error with the error code of
// the last attempt and a message naming what failed, such as
// "connect to 127.0.0.1:9: Connection refused" or
// "cannot resolve nosuch.example:80: Host not found (authoritative)".
// (Tornado raises StreamClosedError wrapping the same cause.) Awaited inside
// gale::with_timeout, a connect is cancelled like any other operation.
#pragma once

#include <chrono>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <asio/error.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include "detail/cancel.hpp"
#include "gen.hpp"
#include "iostream.hpp"
#include "ioloop.hpp"
#include "netutil.hpp"
#include "task.hpp"

namespace gale {

// Every member is trivially copyable on purpose: GCC 12 corrupts an
// aggregate temporary holding a std::string (its small-string buffer) when
// it lives across a co_await, as `co_await client.connect(h, p, {...})` does.
struct connect_options {
    // Limit on resolving and connecting together; TimeoutError when it passes.
    std::optional<IOLoop::duration> timeout{};
    // Restricts the addresses tried to one family.
    address_family family = address_family::unspecified;
    // Binds the local end. A source_port without a source_ip binds to the
    // loopback address of the family being tried, as Tornado does.
    std::optional<asio::ip::address> source_ip{};
    std::uint16_t source_port = 0;
    // Options of the stream returned.
    stream_options stream{};
};

namespace detail {

// Tornado's _Connector: tries the resolved addresses "Happy Eyeballs" style
// and yields the first connected socket. Attempts run as plain Asio
// operations whose handlers hold the connector, so abandoned attempts wind
// down on their own after the winner (or a cancellation) closes them.
class net_connector : public std::enable_shared_from_this<net_connector>, cancel_registration {
public:
    // Tornado's _INITIAL_CONNECT_TIMEOUT: when the second family joins in.
    static constexpr std::chrono::milliseconds fallback_delay{300};

    net_connector(const std::vector<asio::ip::tcp::endpoint>& addresses, const connect_options& options)
        : fallback_(IOLoop::current().context()),
          source_ip_(options.source_ip),
          source_port_(options.source_port),
          remaining_(addresses.size()) {
        for (const auto& endpoint : addresses)
            queues_[endpoint.protocol() == addresses.front().protocol() ? 0 : 1].push_back(endpoint);
    }

    // co_await connector->connect(): the connected socket, or std::system_error.
    struct connect_awaiter {
        std::shared_ptr<net_connector> connector;

        bool await_ready() const noexcept { return false; }

        template <class Promise>
        bool await_suspend(std::coroutine_handle<Promise> h) {
            net_connector& c = *connector;
            c.scope_ = scope_of(h);
            if (c.scope_ && c.scope_->cancelled()) {
                c.cancelled_ = true;
                return false;
            }
            c.start();
            if (c.done_) return false;  // every address failed before any wait
            if (c.scope_) c.scope_->attach(c, &on_cancel);
            c.waiter_ = h;
            return true;
        }

        asio::ip::tcp::socket await_resume() { return connector->take_result(); }
    };

    [[nodiscard]] connect_awaiter connect() { return connect_awaiter{shared_from_this()}; }

private:
    struct attempt {
        asio::ip::tcp::socket socket;
        asio::ip::tcp::endpoint endpoint;
        std::size_t queue;
    };

    void start() {
        try_next(0);
        if (done_) return;
        if (remaining_ < queues_[0].size() + queues_[1].size()) {  // an address failed at once
            start_fallback();
            return;
        }
        fallback_.expires_after(fallback_delay);
        fallback_.async_wait([self = shared_from_this()](std::error_code ec) {
            if (!ec) self->start_fallback();
        });
    }

    // Starts the second family's attempts (once).
    void start_fallback() {
        if (fallback_started_ || done_) return;
        fallback_started_ = true;
        fallback_.cancel();
        try_next(1);
    }

    // Starts the next attempt from a queue; with the queue empty and nothing
    // left running anywhere, the connection has failed.
    void try_next(std::size_t queue) {
        while (!done_) {
            if (next_[queue] == queues_[queue].size()) {
                if (remaining_ == 0) finish();
                return;
            }
            const asio::ip::tcp::endpoint endpoint = queues_[queue][next_[queue]++];
            auto& a = *attempts_.emplace_back(
                std::make_unique<attempt>(attempt{asio::ip::tcp::socket(fallback_.get_executor()), endpoint, queue}));
            std::error_code ec;
            a.socket.open(endpoint.protocol(), ec);
            if (!ec && (source_ip_ || source_port_ != 0)) {
                asio::ip::address ip = source_ip_ ? *source_ip_
                                       : endpoint.address().is_v6()
                                           ? asio::ip::address(asio::ip::address_v6::loopback())
                                           : asio::ip::address(asio::ip::address_v4::loopback());
                a.socket.bind({ip, source_port_}, ec);
                if (ec) {
                    record_failure(ec, "bind to " + endpoint_text({ip, source_port_}));
                    continue;
                }
            }
            if (ec) {
                record_failure(ec, "connect to " + endpoint_text(endpoint));
                continue;
            }
            a.socket.async_connect(endpoint, [self = shared_from_this(), &a](std::error_code connect_ec) {
                self->on_connected(a, connect_ec);
            });
            return;
        }
    }

    void record_failure(std::error_code ec, std::string what) {
        --remaining_;
        last_error_ = ec;
        last_failure_ = std::move(what);
    }

    void on_connected(attempt& a, std::error_code ec) {
        if (done_) return;  // a late arrival: the winner or a cancellation closed it
        if (ec) {
            record_failure(ec, "connect to " + endpoint_text(a.endpoint));
            std::error_code ignored;
            a.socket.close(ignored);
            try_next(a.queue);
            // A failure in the first family brings the second in at once.
            if (a.queue == 0) start_fallback();
            return;
        }
        --remaining_;
        result_.emplace(std::move(a.socket));
        finish();
    }

    // Settles the outcome: closes the attempts still running and resumes the
    // coroutine waiting, if it is already parked.
    void finish() {
        done_ = true;
        fallback_.cancel();
        for (auto& a : attempts_) {
            std::error_code ignored;
            if (a->socket.is_open()) a->socket.close(ignored);
        }
        if (auto waiter = std::exchange(waiter_, {})) {
            if (scope_) scope_->detach(*this);
            waiter.resume();
        }
    }

    static void on_cancel(cancel_registration& r) {
        auto& self = static_cast<net_connector&>(r);
        self.cancelled_ = true;
        auto waiter = std::exchange(self.waiter_, {});
        self.finish();
        IOLoop::current().resume_soon(waiter);
    }

    asio::ip::tcp::socket take_result() {
        if (cancelled_) throw CancelledError();
        if (result_) return std::move(*result_);
        if (last_failure_.empty())
            throw std::system_error(asio::error::host_not_found, "connect: no address to connect to");
        throw std::system_error(last_error_, last_failure_);
    }

    std::vector<asio::ip::tcp::endpoint> queues_[2];  // the first family, the others
    std::size_t next_[2] = {0, 0};
    std::vector<std::unique_ptr<attempt>> attempts_;
    asio::steady_timer fallback_;
    std::optional<asio::ip::address> source_ip_;
    std::uint16_t source_port_;
    std::size_t remaining_;  // addresses not yet settled
    std::error_code last_error_;
    std::string last_failure_;
    std::optional<asio::ip::tcp::socket> result_;
    cancel_scope* scope_ = nullptr;
    std::coroutine_handle<> waiter_;
    bool fallback_started_ = false;
    bool done_ = false;
    bool cancelled_ = false;
};

}  // namespace detail

// A factory of connections (Tornado's TCPClient).
class TCPClient {
public:
    explicit TCPClient(std::shared_ptr<Resolver> resolver = nullptr)
        : resolver_(resolver ? std::move(resolver) : std::make_shared<Resolver>()) {}

    // Connects to host:port and returns the connection's stream. See the
    // top of this header for how addresses are tried and errors reported.
    task<std::shared_ptr<IOStream>> connect(std::string host, std::uint16_t port, connect_options options = {}) {
        // The task holds the resolver, not the client, so it may outlive it.
        task<std::shared_ptr<IOStream>> work = open(resolver_, std::move(host), port, options, nullptr, {});
        if (!options.timeout) return work;
        return with_timeout(*options.timeout, std::move(work));
    }

    // Connects and secures the connection with TLS (see the top of this
    // header). Without ssl_options it is the plain connect above.
    task<std::shared_ptr<IOStream>> connect(std::string host, std::uint16_t port, connect_options options,
                                            std::shared_ptr<const ssl_handshaker> ssl_options,
                                            std::string server_hostname = {}) {
        task<std::shared_ptr<IOStream>> work =
            open(resolver_, std::move(host), port, options, std::move(ssl_options), std::move(server_hostname));
        if (!options.timeout) return work;
        return with_timeout(*options.timeout, std::move(work));
    }

private:
    static task<std::shared_ptr<IOStream>> open(std::shared_ptr<Resolver> resolver, std::string host,
                                                std::uint16_t port, connect_options options,
                                                std::shared_ptr<const ssl_handshaker> ssl,
                                                std::string server_hostname) {
        std::vector<asio::ip::tcp::endpoint> addresses = co_await resolver->resolve(host, port, options.family);
        auto connector = std::make_shared<detail::net_connector>(addresses, options);
        asio::ip::tcp::socket socket = co_await connector->connect();
        if (ssl) {
            std::string name = server_hostname.empty() ? std::move(host) : std::move(server_hostname);
            co_return co_await ssl->handshake(std::move(socket), false, std::move(name), options.stream);
        }
        co_return std::make_shared<IOStream>(std::move(socket), options.stream);
    }

    std::shared_ptr<Resolver> resolver_;
};

}  // namespace gale
