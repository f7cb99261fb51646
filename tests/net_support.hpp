// Helpers for the network suites.
#pragma once

#include <system_error>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

namespace gale_test {

// Whether this machine can bind ::1 (some containers have no IPv6 loopback).
inline bool has_ipv6_loopback() {
    using asio::ip::tcp;
    asio::io_context context;
    tcp::acceptor probe(context);
    std::error_code ec;
    probe.open(tcp::v6(), ec);
    if (!ec) probe.bind({asio::ip::address_v6::loopback(), 0}, ec);
    return !ec;
}

}  // namespace gale_test
