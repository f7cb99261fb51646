// use_task: Asio operations awaited from gale coroutines, with errors and cancellation.
#include <gale/use_task.hpp>

#include <string>
#include <system_error>

#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/read.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>

#include <gale/gen.hpp>

#include "support.hpp"

using namespace std::chrono_literals;
using asio::ip::tcp;
using gale::task;
using gale_test::elapsed_ms;
using gale_test::run_async;

namespace {

tcp::acceptor loopback_acceptor() {
    return tcp::acceptor(gale::IOLoop::current().context(),
                         tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
}

}  // namespace

TEST_CASE("a timer wait is awaitable") {
    run_async([]() -> task<void> {
        asio::steady_timer timer(gale::IOLoop::current().context(), 20ms);
        auto start = std::chrono::steady_clock::now();
        co_await timer.async_wait(gale::use_task);
        CHECK(elapsed_ms(start) >= 19.0);
    });
}

TEST_CASE("a post with no results is awaitable and resumes on the loop") {
    run_async([]() -> task<void> {
        int hops = 0;
        for (int i = 0; i < 3; ++i) {
            co_await asio::post(gale::IOLoop::current().context(), gale::use_task);
            ++hops;
        }
        CHECK(hops == 3);
    });
}

TEST_CASE("socket operations return their values: accept, connect, write, read") {
    run_async([]() -> task<void> {
        auto& ctx = gale::IOLoop::current().context();
        tcp::acceptor acceptor = loopback_acceptor();
        tcp::socket client(ctx);
        auto [server, ignored] = co_await gale::gather(acceptor.async_accept(gale::use_task),
                                                       client.async_connect(acceptor.local_endpoint(),
                                                                            gale::use_task));
        (void)ignored;
        std::string message = "ping over loopback";
        std::size_t written = co_await asio::async_write(client, asio::buffer(message), gale::use_task);
        CHECK(written == message.size());
        std::string received(message.size(), '\0');
        std::size_t n = co_await asio::async_read(server, asio::buffer(received), gale::use_task);
        CHECK(n == message.size());
        CHECK(received == message);
    });
}

TEST_CASE("errors throw std::system_error, or come back as values with use_task_nothrow") {
    run_async([]() -> task<void> {
        auto& ctx = gale::IOLoop::current().context();
        tcp::endpoint closed;
        {
            tcp::acceptor probe = loopback_acceptor();
            closed = probe.local_endpoint();
        }  // nobody listens there now
        tcp::socket a(ctx);
        bool threw = false;
        try {
            co_await a.async_connect(closed, gale::use_task);
        } catch (const std::system_error& e) {
            threw = true;
            CHECK(e.code() == asio::error::connection_refused);
        }
        CHECK(threw);

        tcp::socket b(ctx);
        std::error_code ec = co_await b.async_connect(closed, gale::use_task_nothrow);
        CHECK(ec == asio::error::connection_refused);

        tcp::acceptor acceptor = loopback_acceptor();
        tcp::socket c(ctx);
        auto [server, ignored] = co_await gale::gather(
            acceptor.async_accept(gale::use_task), c.async_connect(acceptor.local_endpoint(), gale::use_task));
        (void)ignored;
        c.shutdown(tcp::socket::shutdown_send);
        char byte;
        auto [read_ec, n] = co_await server.async_read_some(asio::buffer(&byte, 1), gale::use_task_nothrow);
        CHECK(read_ec == asio::error::eof);
        CHECK(n == 0);
    });
}

TEST_CASE("with_timeout cancels a pending Asio operation, which stays usable") {
    run_async([]() -> task<void> {
        auto& ctx = gale::IOLoop::current().context();
        tcp::acceptor acceptor = loopback_acceptor();
        bool cancelled = false;
        auto accept_one = [&]() -> task<tcp::socket> {
            try {
                co_return co_await acceptor.async_accept(gale::use_task);
            } catch (const gale::CancelledError&) {
                cancelled = true;
                throw;
            }
        };
        CHECK_THROWS_AS(co_await gale::with_timeout(20ms, accept_one()), gale::TimeoutError);
        co_await gale::sleep(5ms);
        CHECK(cancelled);

        // The acceptor was not closed: the next accept works.
        tcp::socket client(ctx);
        auto [server, ignored] = co_await gale::with_timeout(
            2s, gale::gather(acceptor.async_accept(gale::use_task),
                             client.async_connect(acceptor.local_endpoint(), gale::use_task)));
        (void)ignored;
        CHECK(server.is_open());
    });
}
