// Definitions for netutil.hpp: binding, address checks and name resolution.
// Compiled in every translation unit in header-only mode, or once by
// <gale/src.hpp> with GALE_SEPARATE_COMPILATION; see detail/config.hpp.
#pragma once

#include "../netutil.hpp"

#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <system_error>
#include <tuple>

#include <asio/error.hpp>
#include <fmt/core.h>

#include "../ioloop.hpp"
#include "../use_task.hpp"

namespace gale {

namespace detail {

GALE_DECL std::string endpoint_text(const asio::ip::tcp::endpoint& endpoint) {
    const asio::ip::address address = endpoint.address();
    if (address.is_v6()) return fmt::format("[{}]:{}", address.to_string(), endpoint.port());
    return fmt::format("{}:{}", address.to_string(), endpoint.port());
}

// SO_REUSEPORT in the shape of an Asio socket option.
struct net_reuse_port_option {
    int value = 1;
    template <class Protocol>
    int level(const Protocol&) const noexcept { return SOL_SOCKET; }
    template <class Protocol>
    int name(const Protocol&) const noexcept {
#ifdef SO_REUSEPORT
        return SO_REUSEPORT;
#else
        return -1;
#endif
    }
    template <class Protocol>
    const void* data(const Protocol&) const noexcept { return &value; }
    template <class Protocol>
    std::size_t size(const Protocol&) const noexcept { return sizeof value; }
};

GALE_DECL asio::ip::tcp::resolver::results_type net_resolve_passive(asio::ip::tcp::resolver& resolver,
                                                                    const std::string& host,
                                                                    std::uint16_t port,
                                                                    address_family family) {
    const auto flags = asio::ip::resolver_base::passive | asio::ip::resolver_base::numeric_service;
    const std::string service = std::to_string(port);
    std::error_code ec;
    asio::ip::tcp::resolver::results_type results;
    switch (family) {
        case address_family::unspecified: results = resolver.resolve(host, service, flags, ec); break;
        case address_family::ipv4: results = resolver.resolve(asio::ip::tcp::v4(), host, service, flags, ec); break;
        case address_family::ipv6: results = resolver.resolve(asio::ip::tcp::v6(), host, service, flags, ec); break;
    }
    if (ec) throw std::system_error(ec, fmt::format("bind_sockets: cannot resolve \"{}\"", host));
    return results;
}

}  // namespace detail

GALE_DECL std::vector<asio::ip::tcp::acceptor> bind_sockets(std::uint16_t port, std::string_view address,
                                                            int backlog, bool reuse_port,
                                                            address_family family) {
#ifndef SO_REUSEPORT
    if (reuse_port) throw std::invalid_argument("the platform doesn't support SO_REUSEPORT");
#endif
    asio::io_context& context = IOLoop::current().context();
    asio::ip::tcp::resolver resolver(context);
    const std::string host(address);
    std::vector<asio::ip::tcp::endpoint> endpoints;
    for (const auto& entry : detail::net_resolve_passive(resolver, host, port, family))
        if (std::find(endpoints.begin(), endpoints.end(), entry.endpoint()) == endpoints.end())
            endpoints.push_back(entry.endpoint());
    std::stable_sort(endpoints.begin(), endpoints.end(), [](const auto& a, const auto& b) {
        return a.address().is_v4() && b.address().is_v6();  // IPv4 first, as Tornado sorts by family
    });

    std::vector<asio::ip::tcp::acceptor> sockets;
    std::uint16_t bound_port = 0;
    for (asio::ip::tcp::endpoint endpoint : endpoints) {
        asio::ip::tcp::acceptor acceptor(context);
        std::error_code ec;
        acceptor.open(endpoint.protocol(), ec);
        if (ec == asio::error::address_family_not_supported) continue;  // no IPv6 here
        if (ec) throw std::system_error(ec, "bind_sockets: socket");
        acceptor.set_option(asio::socket_base::reuse_address(true));
        if (reuse_port) acceptor.set_option(detail::net_reuse_port_option{});
        // Linux lets an IPv6 socket take IPv4 too, which would stop 0.0.0.0
        // and :: from both binding; keep the families apart everywhere.
        if (endpoint.address().is_v6()) acceptor.set_option(asio::ip::v6_only(true));
        if (endpoint.port() == 0 && bound_port != 0) endpoint.port(bound_port);
        acceptor.bind(endpoint, ec);
        // Hosts with IPv6 half disabled (docker's default) resolve localhost
        // to ::1 but cannot bind it; Tornado skips exactly that case.
        if (ec == std::error_code(EADDRNOTAVAIL, asio::error::get_system_category()) && host == "localhost" &&
            endpoint.address() == asio::ip::address_v6::loopback())
            continue;
        if (ec) throw std::system_error(ec, "bind_sockets: bind to " + detail::endpoint_text(endpoint));
        bound_port = acceptor.local_endpoint().port();
        acceptor.listen(backlog);
        sockets.push_back(std::move(acceptor));
    }
    if (sockets.empty())
        throw std::system_error(asio::error::address_family_not_supported,
                                fmt::format("bind_sockets: nothing to listen on for \"{}\"", host));
    return sockets;
}

GALE_DECL bool is_valid_ip(std::string_view text) {
    // getaddrinfo would read "" as localhost and stop at a NUL.
    if (text.empty() || text.find('\0') != std::string_view::npos) return false;
    const std::string host(text);
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST;
    addrinfo* result = nullptr;
    const int status = ::getaddrinfo(host.c_str(), "0", &hints, &result);
    if (result) ::freeaddrinfo(result);
    return status == 0;
}

GALE_DECL task<std::vector<asio::ip::tcp::endpoint>> Resolver::resolve(std::string host, std::uint16_t port,
                                                                     address_family family) {
    asio::ip::tcp::resolver resolver(IOLoop::current().context());
    const std::string service = std::to_string(port);
    const auto flags = asio::ip::resolver_base::numeric_service;
    std::error_code ec;
    asio::ip::tcp::resolver::results_type results;
    if (family == address_family::unspecified)
        std::tie(ec, results) = co_await resolver.async_resolve(host, service, flags, use_task_nothrow);
    else
        std::tie(ec, results) = co_await resolver.async_resolve(
            family == address_family::ipv4 ? asio::ip::tcp::v4() : asio::ip::tcp::v6(), host, service,
            flags, use_task_nothrow);
    if (!ec && results.empty()) ec = asio::error::host_not_found;
    if (ec) throw std::system_error(ec, fmt::format("cannot resolve {}:{}", host, port));
    std::vector<asio::ip::tcp::endpoint> endpoints;
    for (const auto& entry : results)
        if (std::find(endpoints.begin(), endpoints.end(), entry.endpoint()) == endpoints.end())
            endpoints.push_back(entry.endpoint());
    co_return endpoints;
}

GALE_DECL task<std::vector<asio::ip::tcp::endpoint>> OverrideResolver::resolve(std::string host, std::uint16_t port,
                                                                             address_family family) {
    if (auto it = endpoints_.find(host_port(host, port)); it != endpoints_.end()) {
        host = it->second.first;
        port = it->second.second;
    } else if (auto named = hosts_.find(host); named != hosts_.end()) {
        host = named->second;
    }
    co_return co_await resolver_->resolve(std::move(host), port, family);
}

}  // namespace gale
