// Tornado's tornado.netutil for C++: listening sockets, IP address checks and
// asynchronous name resolution.
//
//   std::vector<asio::ip::tcp::acceptor> sockets = gale::bind_sockets(8888);  // IPv4 and IPv6
//   server.add_sockets(std::move(sockets));
//
//   gale::is_valid_ip("::1");                                                 // true
//   std::vector<asio::ip::tcp::endpoint> addresses =
//       co_await gale::Resolver().resolve("localhost", 8888);
//
// Synopsis:
//   bind_sockets(port, address = "", backlog = 128, reuse_port = false, family = unspecified)
//   is_valid_ip(text)
//   Resolver::resolve(host, port, family = unspecified) -> task<vector<tcp::endpoint>>
//   OverrideResolver(resolver, host map, host:port map)   // fixed answers, e.g. for tests
//
// Sockets and resolvers belong to the calling thread's IOLoop.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <asio/ip/tcp.hpp>
#include <asio/ip/v6_only.hpp>  // the option bind_sockets sets, for callers to check

#include "detail/config.hpp"
#include "task.hpp"

namespace gale {

enum class address_family { unspecified, ipv4, ipv6 };

// The listen() backlog Tornado uses.
inline constexpr int default_backlog = 128;

namespace detail {

// "127.0.0.1:8888", "[::1]:8888": how gale writes an endpoint in messages
// and in the address TCPServer::handle_stream receives.
GALE_DECL std::string endpoint_text(const asio::ip::tcp::endpoint& endpoint);

}  // namespace detail

// Creates listening sockets bound to `port` on `address`, as Tornado's
// bind_sockets: one per address the name resolves to. An empty address means
// every interface, IPv4 and IPv6 each on its own socket (IPv6 sockets are
// IPv6-only). Port 0 picks a free port, the same one for every socket; read
// it from local_endpoint(). SO_REUSEADDR is set; reuse_port sets
// SO_REUSEPORT. Throws std::system_error naming the address that failed.
GALE_DECL std::vector<asio::ip::tcp::acceptor> bind_sockets(std::uint16_t port, std::string_view address = "",
                                                            int backlog = default_backlog,
                                                            bool reuse_port = false,
                                                            address_family family = address_family::unspecified);

// True if text is an IPv4 or IPv6 address (not a host name), as the C
// library reads it numerically: Tornado's is_valid_ip, so the legacy IPv4
// forms ("127.1") count and surrounding spaces do not.
GALE_DECL bool is_valid_ip(std::string_view text);

// Asynchronous name resolution (Tornado's Resolver). The default resolves
// with the system's getaddrinfo off the loop thread; derive to answer
// differently (OverrideResolver below does).
class Resolver {
public:
    Resolver() = default;
    Resolver(const Resolver&) = delete;
    Resolver& operator=(const Resolver&) = delete;
    virtual ~Resolver() = default;

    // The endpoints for host (a name or a literal address) and port, in the
    // order getaddrinfo gives them. Throws std::system_error naming the host
    // when it cannot be resolved.
    virtual task<std::vector<asio::ip::tcp::endpoint>> resolve(std::string host, std::uint16_t port,
                                                               address_family family = address_family::unspecified);
};

// Answers some names from fixed maps before asking another resolver
// (Tornado's OverrideResolver), to point clients at local servers in tests:
//
//   auto resolver = std::make_shared<gale::OverrideResolver>(
//       std::make_shared<gale::Resolver>(),
//       std::map<std::string, std::string>{{"example.com", "127.0.0.1"}},
//       gale::OverrideResolver::endpoint_map{{{"login.example.com", 443}, {"localhost", 1443}}});
class OverrideResolver : public Resolver {
public:
    using host_port = std::pair<std::string, std::uint16_t>;
    using endpoint_map = std::map<host_port, host_port>;

    OverrideResolver(std::shared_ptr<Resolver> resolver, std::map<std::string, std::string> hosts,
                     endpoint_map endpoints = {})
        : resolver_(std::move(resolver)), hosts_(std::move(hosts)), endpoints_(std::move(endpoints)) {
        if (!resolver_) throw std::invalid_argument("OverrideResolver needs a resolver to wrap");
    }

    // A host:port entry wins over a host entry.
    task<std::vector<asio::ip::tcp::endpoint>> resolve(std::string host, std::uint16_t port,
                                                       address_family family = address_family::unspecified) override;

private:
    std::shared_ptr<Resolver> resolver_;
    std::map<std::string, std::string> hosts_;
    endpoint_map endpoints_;
};

}  // namespace gale

#if GALE_HEADER_ONLY
#include "impl/netutil.ipp"
#endif
