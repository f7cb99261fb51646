// The floor of benchmarks/run_websocket.sh: a WebSocket echo server with no
// framework at all, one thread on POSIX sockets and a level-triggered epoll,
// doing only what an echo must (the handshake, unmasking, one send per
// message). What it reaches is what the kernel and the machine allow; gale's
// and Tornado's rates are read against it.
//
//   ws_echo_floor
//
// Listens on 127.0.0.1, prints "port N" on stdout, echoes text and binary
// messages (answers pings, closes on a close frame or a protocol error it
// does not bother to name) until killed. Not a server to copy: it trusts the
// handshake, ignores fragmentation and extensions, and allocates freely.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <unordered_map>

namespace {

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "ws_echo_floor: %s: %s\n", what, std::strerror(errno));
    std::exit(1);
}

// RFC 6455's Sec-WebSocket-Accept for a Sec-WebSocket-Key.
std::string accept_value(std::string_view key) {
    std::string text = std::string(key) + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    EVP_Digest(text.data(), text.size(), digest, &size, EVP_sha1(), nullptr);
    unsigned char encoded[64];
    int length = EVP_EncodeBlock(encoded, digest, static_cast<int>(size));
    return std::string(reinterpret_cast<char*>(encoded), static_cast<std::size_t>(length));
}

// The value of header `name` (matched without case) in a request head.
std::string_view header_value(std::string_view head, std::string_view name) {
    std::size_t line = head.find("\r\n");
    while (line != std::string_view::npos && line + 2 < head.size()) {
        std::size_t start = line + 2;
        std::size_t end = head.find("\r\n", start);
        std::string_view field = head.substr(start, end - start);
        std::size_t colon = field.find(':');
        if (colon == name.size() && strncasecmp(field.data(), name.data(), name.size()) == 0) {
            std::string_view value = field.substr(colon + 1);
            while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
            while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
            return value;
        }
        line = end;
    }
    return {};
}

struct connection {
    bool upgraded = false;
    std::string in;  // bytes received and not yet handled
};

bool send_all(int fd, std::string_view data) {
    while (!data.empty()) {
        ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) {  // a slow reader: wait for room (a floor need not queue)
                fd_set out;
                FD_ZERO(&out);
                FD_SET(fd, &out);
                ::select(fd + 1, nullptr, &out, nullptr, nullptr);
                continue;
            }
            return false;
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

// Handles what `c.in` holds; false when the connection is to be closed.
bool handle(int fd, connection& c, std::string& out) {
    if (!c.upgraded) {
        std::size_t end = c.in.find("\r\n\r\n");
        if (end == std::string::npos) return c.in.size() < 65536;
        std::string_view head(c.in.data(), end + 2);
        std::string_view key = header_value(head, "Sec-WebSocket-Key");
        if (key.empty()) return false;
        std::string response = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                               "Sec-WebSocket-Accept: " + accept_value(key) + "\r\n\r\n";
        c.in.erase(0, end + 4);
        c.upgraded = true;
        if (!send_all(fd, response)) return false;
    }
    out.clear();
    std::size_t at = 0;
    const auto* bytes = reinterpret_cast<const unsigned char*>(c.in.data());
    bool keep = true;
    while (c.in.size() - at >= 2) {
        unsigned opcode = bytes[at] & 0x0f;
        bool masked = (bytes[at + 1] & 0x80) != 0;
        std::uint64_t length = bytes[at + 1] & 0x7f;
        std::size_t header = 2;
        if (length == 126 || length == 127) {
            std::size_t extra = length == 126 ? 2 : 8;
            if (c.in.size() - at < header + extra) break;
            length = 0;
            for (std::size_t i = 0; i < extra; ++i) length = (length << 8) | bytes[at + header + i];
            header += extra;
        }
        if (!masked || length > (std::uint64_t(1) << 26)) return false;
        if (c.in.size() - at < header + 4 + length) break;
        const unsigned char* mask = bytes + at + header;
        const unsigned char* payload = mask + 4;
        if (opcode == 0x8) keep = false;  // close: echo it, then close
        unsigned reply = opcode == 0x9 ? 0xa : opcode;  // ping -> pong
        if (opcode == 0xa) {  // a pong needs no answer
            at += header + 4 + length;
            continue;
        }
        out += static_cast<char>(0x80 | reply);
        if (length < 126) {
            out += static_cast<char>(length);
        } else if (length < 65536) {
            out += static_cast<char>(126);
            out += static_cast<char>(length >> 8);
            out += static_cast<char>(length & 0xff);
        } else {
            out += static_cast<char>(127);
            for (int shift = 56; shift >= 0; shift -= 8) out += static_cast<char>((length >> shift) & 0xff);
        }
        std::size_t start = out.size();
        out.resize(start + length);
        for (std::size_t i = 0; i < length; ++i) out[start + i] = static_cast<char>(payload[i] ^ mask[i % 4]);
        at += header + 4 + length;
        if (!keep) break;
    }
    c.in.erase(0, at);
    if (!out.empty() && !send_all(fd, out)) return false;
    return keep;
}

}  // namespace

int main() {
    int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (listener < 0) fail("socket");
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) fail("bind");
    if (::listen(listener, 1024) != 0) fail("listen");
    socklen_t size = sizeof address;
    ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &size);
    std::printf("port %d\n", ntohs(address.sin_port));
    std::fflush(stdout);

    int poll = ::epoll_create1(0);
    if (poll < 0) fail("epoll_create1");
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.fd = listener;
    ::epoll_ctl(poll, EPOLL_CTL_ADD, listener, &event);

    std::unordered_map<int, connection> connections;
    epoll_event events[256];
    char chunk[64 * 1024];
    std::string out;
    for (;;) {
        int ready = ::epoll_wait(poll, events, 256, -1);
        if (ready < 0) {
            if (errno == EINTR) continue;
            fail("epoll_wait");
        }
        for (int e = 0; e < ready; ++e) {
            int fd = events[e].data.fd;
            if (fd == listener) {
                for (;;) {
                    int client = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK);
                    if (client < 0) break;
                    int one = 1;
                    ::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    epoll_event added{};
                    added.events = EPOLLIN;  // level-triggered: registered once, never re-armed
                    added.data.fd = client;
                    ::epoll_ctl(poll, EPOLL_CTL_ADD, client, &added);
                    connections[client];
                }
                continue;
            }
            connection& c = connections[fd];
            ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
            if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
            bool keep = n > 0;
            if (keep) {
                c.in.append(chunk, static_cast<std::size_t>(n));
                keep = handle(fd, c, out);
            }
            if (!keep) {
                ::close(fd);  // also leaves the epoll set
                connections.erase(fd);
            }
        }
    }
}
