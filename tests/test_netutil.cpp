// Tests for <gale/netutil.hpp>: bind_sockets, is_valid_ip, Resolver. No
// traffic leaves 127.0.0.1 / ::1, and no name is looked up in DNS.
#include <gale/netutil.hpp>

#include <algorithm>
#include <string>
#include <system_error>
#include <vector>

#include <asio/ip/tcp.hpp>

#include "net_support.hpp"
#include "support.hpp"

namespace {

using asio::ip::tcp;
using gale_test::run_async;
using gale_test::has_ipv6_loopback;


// A TCP connection to the acceptor succeeds.
bool accepts(tcp::acceptor& acceptor, asio::ip::address address) {
    tcp::socket client(acceptor.get_executor());
    std::error_code ec;
    client.connect({address, acceptor.local_endpoint().port()}, ec);
    if (ec) return false;
    tcp::socket server = acceptor.accept(ec);
    return !ec;
}

}  // namespace

TEST_CASE("is_valid_ip: Tornado's cases") {
    CHECK(gale::is_valid_ip("127.0.0.1"));
    CHECK(gale::is_valid_ip("4.4.4.4"));
    CHECK(gale::is_valid_ip("::1"));
    CHECK(gale::is_valid_ip("2620:0:1cfe:face:b00c::3"));
    CHECK(gale::is_valid_ip("::ffff:1.2.3.4"));
    CHECK_FALSE(gale::is_valid_ip("www.google.com"));
    CHECK_FALSE(gale::is_valid_ip("localhost"));
    CHECK_FALSE(gale::is_valid_ip("4.4.4.4<"));
    CHECK_FALSE(gale::is_valid_ip(" 127.0.0.1"));
    CHECK_FALSE(gale::is_valid_ip("1.2.3.4 "));
    CHECK_FALSE(gale::is_valid_ip(""));
    CHECK_FALSE(gale::is_valid_ip(" "));
    CHECK_FALSE(gale::is_valid_ip("\n"));
    CHECK_FALSE(gale::is_valid_ip(std::string_view("\0", 1)));
    CHECK_FALSE(gale::is_valid_ip(std::string_view("127.0.0.1\0", 10)));
    CHECK_FALSE(gale::is_valid_ip(std::string(100, 'a')));
    CHECK_FALSE(gale::is_valid_ip("::1%lo"));  // getaddrinfo takes a scope only on link-local addresses
    // The C library's numeric forms, which Tornado accepts as well.
    CHECK(gale::is_valid_ip("127.1"));
    CHECK(gale::is_valid_ip("fe80::1%lo"));
}

TEST_CASE("bind_sockets on 127.0.0.1 with port 0 listens on a free port") {
    run_async([]() -> gale::task<void> {
        std::vector<tcp::acceptor> sockets = gale::bind_sockets(0, "127.0.0.1");
        REQUIRE(sockets.size() == 1);
        tcp::endpoint endpoint = sockets[0].local_endpoint();
        CHECK(endpoint.address() == asio::ip::address_v4::loopback());
        CHECK(endpoint.port() != 0);
        CHECK(accepts(sockets[0], asio::ip::address_v4::loopback()));
        asio::socket_base::reuse_address reuse;
        sockets[0].get_option(reuse);
        CHECK(reuse.value());
        co_return;
    });
}

TEST_CASE("bind_sockets with no address listens on IPv4 and IPv6, on one port") {
    run_async([]() -> gale::task<void> {
        std::vector<tcp::acceptor> sockets = gale::bind_sockets(0);
        REQUIRE(!sockets.empty());
        CHECK(sockets[0].local_endpoint().address().is_v4());  // IPv4 first
        CHECK(sockets[0].local_endpoint().address().to_v4().is_unspecified());
        if (has_ipv6_loopback()) {
            REQUIRE(sockets.size() == 2);
            tcp::endpoint v6 = sockets[1].local_endpoint();
            CHECK(v6.address().is_v6());
            CHECK(v6.port() == sockets[0].local_endpoint().port());
            asio::ip::v6_only only;
            sockets[1].get_option(only);
            CHECK(only.value());
            CHECK(accepts(sockets[1], asio::ip::address_v6::loopback()));
        }
        CHECK(accepts(sockets[0], asio::ip::address_v4::loopback()));

        std::vector<tcp::acceptor> v4 = gale::bind_sockets(0, "", gale::default_backlog, false, gale::address_family::ipv4);
        REQUIRE(v4.size() == 1);
        CHECK(v4[0].local_endpoint().address().is_v4());
        co_return;
    });
}

TEST_CASE("bind_sockets: a port in use fails clearly; reuse_port shares it") {
    run_async([]() -> gale::task<void> {
        std::vector<tcp::acceptor> first = gale::bind_sockets(0, "127.0.0.1");
        std::uint16_t port = first[0].local_endpoint().port();
        try {
            (void)gale::bind_sockets(port, "127.0.0.1");
            FAIL("binding a port in use succeeded");
        } catch (const std::system_error& e) {
            CHECK(e.code() == asio::error::address_in_use);
            CHECK(std::string(e.what()).find("bind to 127.0.0.1:" + std::to_string(port)) != std::string::npos);
        }

        std::vector<tcp::acceptor> shared = gale::bind_sockets(0, "127.0.0.1", 16, true);
        std::uint16_t shared_port = shared[0].local_endpoint().port();
        std::vector<tcp::acceptor> again = gale::bind_sockets(shared_port, "127.0.0.1", 16, true);
        CHECK(again[0].local_endpoint().port() == shared_port);
        co_return;
    });
}

TEST_CASE("Resolver resolves literal addresses and /etc/hosts names") {
    run_async([]() -> gale::task<void> {
        gale::Resolver resolver;
        auto v4 = co_await resolver.resolve("127.0.0.1", 8080);
        REQUIRE(v4.size() == 1);
        CHECK(v4[0] == tcp::endpoint(asio::ip::address_v4::loopback(), 8080));

        auto v6 = co_await resolver.resolve("::1", 443);
        REQUIRE(v6.size() == 1);
        CHECK(v6[0] == tcp::endpoint(asio::ip::address_v6::loopback(), 443));

        auto local = co_await resolver.resolve("localhost", 80, gale::address_family::ipv4);
        REQUIRE(!local.empty());
        CHECK(std::all_of(local.begin(), local.end(), [](const tcp::endpoint& e) { return e.address().is_v4(); }));
        CHECK(std::find(local.begin(), local.end(), tcp::endpoint(asio::ip::address_v4::loopback(), 80)) !=
              local.end());
    });
}

TEST_CASE("OverrideResolver answers from its maps, host:port entries first") {
    run_async([]() -> gale::task<void> {
        gale::OverrideResolver resolver(
            std::make_shared<gale::Resolver>(),
            std::map<std::string, std::string>{{"example.com", "127.0.0.1"}, {"login.example.com", "127.0.0.2"}},
            gale::OverrideResolver::endpoint_map{{{"login.example.com", 443}, {"::1", 1443}}});
        auto plain = co_await resolver.resolve("example.com", 80);
        REQUIRE(plain.size() == 1);
        CHECK(plain[0] == tcp::endpoint(asio::ip::address_v4::loopback(), 80));

        auto moved = co_await resolver.resolve("login.example.com", 443);
        REQUIRE(moved.size() == 1);
        CHECK(moved[0] == tcp::endpoint(asio::ip::address_v6::loopback(), 1443));

        auto by_host = co_await resolver.resolve("login.example.com", 80);
        REQUIRE(by_host.size() == 1);
        CHECK(by_host[0] == tcp::endpoint(asio::ip::make_address("127.0.0.2"), 80));

        auto untouched = co_await resolver.resolve("127.0.0.3", 1);
        CHECK(untouched.at(0).address() == asio::ip::make_address("127.0.0.3"));
    });
}
