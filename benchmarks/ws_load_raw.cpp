// The lean load generator of benchmarks/run_websocket.sh: WebSocket clients
// written straight on POSIX sockets and a level-triggered epoll, so that the
// client costs the kernel's two system calls per message (a send and a
// receive) and almost nothing above them. On two cores, a server as fast as
// gale's is otherwise measured against its load generator: gale's own client
// (ws_load) re-arms its readiness waits through Asio, a third system call.
//
//   ws_load_raw URL [--clients C] [--seconds S] [--size B] [--in-flight K]
//       C connections (1), each keeping K text messages of B bytes (1, 64)
//       in flight: every echo that comes back is checked byte for byte and
//       answered with the next message, for S seconds (3). Prints
//       "messages N seconds T cpu U" as ws_load does (N: echoes received,
//       U: this process's CPU seconds).
//
// The handshake uses RFC 6455's example key and checks the server's answer
// against the RFC's example accept value; frames are masked with a fixed key
// (a load generator is not a browser: the mask only has to be present).
// Exits with 1 and a message if a connection fails or an echo differs.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

[[noreturn]] void fail(const std::string& what) {
    std::fprintf(stderr, "ws_load_raw: %s\n", what.c_str());
    std::exit(1);
}

[[noreturn]] void fail_errno(const std::string& what) { fail(what + ": " + std::strerror(errno)); }

double cpu_seconds() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    auto seconds = [](const timeval& t) { return double(t.tv_sec) + double(t.tv_usec) / 1e6; };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// A masked client text frame carrying `payload`, and the unmasked frame a
// server sends back with the same payload.
struct frames {
    std::string request;
    std::string echo;
};

frames make_frames(std::size_t size) {
    if (size > 65535) fail("--size is at most 65535");
    std::string payload(size, 'x');
    for (std::size_t i = 0; i < size; ++i) payload[i] = static_cast<char>('a' + i % 26);
    std::string header(1, '\x81');  // FIN, text
    if (size < 126) {
        header += static_cast<char>(size);
    } else {
        header += static_cast<char>(126);
        header += static_cast<char>(size >> 8);
        header += static_cast<char>(size & 0xff);
    }
    const unsigned char mask[4] = {0x37, 0xfa, 0x21, 0x3d};
    std::string request = header;
    request[1] = static_cast<char>(request[1] | 0x80);  // the mask bit
    request.append(reinterpret_cast<const char*>(mask), 4);
    for (std::size_t i = 0; i < size; ++i) request += static_cast<char>(payload[i] ^ static_cast<char>(mask[i % 4]));
    return {request, header + payload};
}

void send_all(int fd, std::string_view data) {
    while (!data.empty()) {
        ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            fail_errno("send");
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
}

// Receives (blocking) until `buffer` holds at least `size` bytes.
void receive_at_least(int fd, std::string& buffer, std::size_t size) {
    char chunk[4096];
    while (buffer.size() < size) {
        ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
        if (n <= 0) {
            if (n < 0 && errno == EINTR) continue;
            fail(n == 0 ? "the server closed the connection" : std::string("recv: ") + std::strerror(errno));
        }
        buffer.append(chunk, static_cast<std::size_t>(n));
    }
}

struct url_parts {
    std::string host;
    std::uint16_t port = 0;
    std::string path;
};

url_parts parse_url(std::string_view url) {
    constexpr std::string_view scheme = "ws://";
    if (url.substr(0, scheme.size()) != scheme) fail("the URL must start with ws://");
    url.remove_prefix(scheme.size());
    std::size_t slash = url.find('/');
    std::string_view authority = url.substr(0, slash);
    url_parts parts;
    parts.path = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
    std::size_t colon = authority.rfind(':');
    if (colon == std::string_view::npos) fail("the URL needs a port");
    parts.host = std::string(authority.substr(0, colon));
    parts.port = static_cast<std::uint16_t>(std::strtoul(std::string(authority.substr(colon + 1)).c_str(), nullptr, 10));
    return parts;
}

// Connects, upgrades to WebSocket and checks one echo; returns the socket,
// blocking still.
int open_connection(const url_parts& url, const frames& f) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) fail_errno("socket");
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(url.port);
    if (::inet_pton(AF_INET, url.host.c_str(), &address.sin_addr) != 1) fail("the host must be an IPv4 address");
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) fail_errno("connect");
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

    std::string host = url.host + ":" + std::to_string(url.port);
    send_all(fd, "GET " + url.path + " HTTP/1.1\r\nHost: " + host +
                     "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
    std::string response;
    char byte;
    while (response.size() < 4 || response.compare(response.size() - 4, 4, "\r\n\r\n") != 0) {
        ssize_t n = ::recv(fd, &byte, 1, 0);  // byte by byte: the handshake must not swallow a frame
        if (n <= 0) fail("the server closed the connection during the handshake");
        response += byte;
    }
    if (response.compare(0, 12, "HTTP/1.1 101") != 0 ||
        response.find("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") == std::string::npos)
        fail("the server refused the upgrade: " + response.substr(0, response.find('\r')));

    send_all(fd, f.request);
    std::string echo;
    receive_at_least(fd, echo, f.echo.size());
    if (echo != f.echo) fail("the first echo differs");
    return fd;
}

struct connection {
    int fd = -1;
    std::string received;  // bytes of echoes not yet complete
};

void run(const url_parts& url, int clients, double seconds, std::size_t size, int in_flight) {
    frames f = make_frames(size);
    std::vector<connection> connections(static_cast<std::size_t>(clients));
    int poll = ::epoll_create1(0);
    if (poll < 0) fail_errno("epoll_create1");
    for (std::size_t i = 0; i < connections.size(); ++i) {
        connections[i].fd = open_connection(url, f);
        epoll_event event{};
        event.events = EPOLLIN;  // level-triggered: registered once, never re-armed
        event.data.u64 = i;
        if (::epoll_ctl(poll, EPOLL_CTL_ADD, connections[i].fd, &event) != 0) fail_errno("epoll_ctl");
    }

    std::string burst;
    for (int i = 0; i < in_flight; ++i) burst += f.request;
    std::string replies;  // the next messages, one per echo received
    std::vector<epoll_event> events(connections.size());
    std::vector<char> chunk(64 * 1024);

    double cpu0 = cpu_seconds();
    clock_type::time_point start = clock_type::now();
    clock_type::time_point until =
        start + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(seconds));
    for (connection& c : connections) send_all(c.fd, burst);
    std::uint64_t messages = 0;
    while (clock_type::now() < until) {
        int ready = ::epoll_wait(poll, events.data(), static_cast<int>(events.size()), 100);
        if (ready < 0) {
            if (errno == EINTR) continue;
            fail_errno("epoll_wait");
        }
        for (int e = 0; e < ready; ++e) {
            connection& c = connections[events[e].data.u64];
            ssize_t n = ::recv(c.fd, chunk.data(), chunk.size(), MSG_DONTWAIT);
            if (n <= 0) {
                if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
                fail(n == 0 ? "the server closed a connection" : std::string("recv: ") + std::strerror(errno));
            }
            std::string_view data(chunk.data(), static_cast<std::size_t>(n));
            std::size_t complete = 0;
            if (!c.received.empty()) {  // finish an echo split across receives
                std::size_t missing = std::min(f.echo.size() - c.received.size(), data.size());
                c.received.append(data.substr(0, missing));
                data.remove_prefix(missing);
                if (c.received.size() < f.echo.size()) continue;
                if (c.received != f.echo) fail("an echo differs");
                c.received.clear();
                ++complete;
            }
            while (data.size() >= f.echo.size()) {
                if (data.substr(0, f.echo.size()) != f.echo) fail("an echo differs");
                data.remove_prefix(f.echo.size());
                ++complete;
            }
            c.received.assign(data);
            messages += complete;
            replies.clear();
            for (std::size_t i = 0; i < complete; ++i) replies += f.request;
            if (!replies.empty()) send_all(c.fd, replies);
        }
    }
    std::chrono::duration<double> wall = clock_type::now() - start;
    std::printf("messages %llu seconds %.6f cpu %.6f\n", static_cast<unsigned long long>(messages), wall.count(),
                cpu_seconds() - cpu0);
    for (connection& c : connections) ::close(c.fd);
    ::close(poll);
}

[[noreturn]] void usage(const char* argv0) {
    std::fprintf(stderr, "usage: %s URL [--clients C] [--seconds S] [--size B] [--in-flight K]\n", argv0);
    std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2 || (argc - 2) % 2 != 0) usage(argv[0]);
    int clients = 1;
    double seconds = 3;
    std::size_t size = 64;
    int in_flight = 1;
    for (int i = 2; i + 1 < argc; i += 2) {
        std::string_view arg = argv[i];
        if (arg == "--clients")
            clients = std::atoi(argv[i + 1]);
        else if (arg == "--seconds")
            seconds = std::atof(argv[i + 1]);
        else if (arg == "--size")
            size = static_cast<std::size_t>(std::atol(argv[i + 1]));
        else if (arg == "--in-flight")
            in_flight = std::atoi(argv[i + 1]);
        else
            usage(argv[0]);
    }
    if (clients < 1 || in_flight < 1 || seconds <= 0) usage(argv[0]);
    run(parse_url(argv[1]), clients, seconds, size, in_flight);
}
