// Definitions for tcpclient.hpp: resolving, then trying the addresses
// "Happy Eyeballs" style. Compiled in every translation unit in header-only
// mode, or once by <gale/src.hpp> with GALE_SEPARATE_COMPILATION; see
// detail/config.hpp.
#pragma once

#include "../tcpclient.hpp"

#include <chrono>
#include <coroutine>
#include <cstddef>
#include <system_error>
#include <utility>
#include <vector>

#include <asio/error.hpp>
#include <asio/steady_timer.hpp>

#include "../detail/cancel.hpp"
#include "../gen.hpp"

namespace gale {

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

GALE_DECL TCPClient::TCPClient(std::shared_ptr<Resolver> resolver)
    : resolver_(resolver ? std::move(resolver) : std::make_shared<Resolver>()) {}

GALE_DECL task<std::shared_ptr<IOStream>> TCPClient::connect(std::string host, std::uint16_t port,
                                                             connect_options options) {
    // The task holds the resolver, not the client, so it may outlive it.
    task<std::shared_ptr<IOStream>> work = open(resolver_, std::move(host), port, options, nullptr, {});
    if (!options.timeout) return work;
    return with_timeout(*options.timeout, std::move(work));
}

GALE_DECL task<std::shared_ptr<IOStream>> TCPClient::connect(std::string host, std::uint16_t port,
                                                             connect_options options,
                                                             std::shared_ptr<const ssl_handshaker> ssl_options,
                                                             std::string server_hostname) {
    task<std::shared_ptr<IOStream>> work =
        open(resolver_, std::move(host), port, options, std::move(ssl_options), std::move(server_hostname));
    if (!options.timeout) return work;
    return with_timeout(*options.timeout, std::move(work));
}

GALE_DECL task<std::shared_ptr<IOStream>> TCPClient::open(std::shared_ptr<Resolver> resolver, std::string host,
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

}  // namespace gale
