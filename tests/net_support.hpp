// Helpers for the network suites.
#pragma once

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <memory>
#include <string>
#include <system_error>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

#include <gale/iostream.hpp>

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

struct stream_pair {
    std::shared_ptr<gale::IOStream> client;
    std::shared_ptr<gale::IOStream> server;
};

// Two streams joined by a TCP connection on 127.0.0.1 (an ephemeral port),
// on the thread's loop.
inline stream_pair connected_pair(gale::stream_options server_options = {},
                                  gale::stream_options client_options = {}) {
    using asio::ip::tcp;
    auto& context = gale::IOLoop::current().context();
    tcp::acceptor acceptor(context, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    tcp::socket client(context);
    client.connect(acceptor.local_endpoint());
    tcp::socket server = acceptor.accept();
    return {std::make_shared<gale::IOStream>(std::move(client), client_options),
            std::make_shared<gale::IOStream>(std::move(server), server_options)};
}

// A file of `data` in /tmp, open for reading (fd()), removed at once and
// closed when done: for write_file.
class temp_file {
public:
    explicit temp_file(const std::string& data) {
        char name[] = "/tmp/gale_test_XXXXXX";
        fd_ = ::mkstemp(name);
        if (fd_ < 0) throw std::system_error(errno, std::system_category(), "mkstemp");
        ::unlink(name);
        if (::pwrite(fd_, data.data(), data.size(), 0) != static_cast<ssize_t>(data.size())) {
            ::close(fd_);
            throw std::system_error(errno, std::system_category(), "pwrite");
        }
    }
    temp_file(const temp_file&) = delete;
    temp_file& operator=(const temp_file&) = delete;
    ~temp_file() { ::close(fd_); }
    int fd() const noexcept { return fd_; }

private:
    int fd_ = -1;
};

}  // namespace gale_test
