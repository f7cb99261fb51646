// Helpers for the suites that run gale programs as processes (test_process,
// test_autoreload, test_deploy): blocking HTTP/1.0 requests, programs
// started and killed, temporary directories.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>
#include <doctest/doctest.h>

#include "support.hpp"

extern char** environ;

namespace process_test {

namespace fs = std::filesystem;

// The build directory (this test program lives in its tests/).
inline fs::path build_root() { return fs::read_symlink("/proc/self/exe").parent_path().parent_path(); }

// examples/<name> of this build, or empty if the examples are not built.
inline fs::path example(const std::string& name) {
    fs::path path = build_root() / "examples" / name;
    return fs::exists(path) ? path : fs::path();
}

// A port nobody listens on now, for a program that must bind the same one
// again later (port 0 would not do).
inline std::uint16_t free_port() {
    asio::io_context context;
    asio::ip::tcp::acceptor probe(context, {asio::ip::address_v4::loopback(), 0});
    return probe.local_endpoint().port();
}

struct response {
    int status = 0;     // 0: the connection failed or was cut before the head ended
    std::string head;   // status line and headers
    std::string body;
};

// GET path as HTTP/1.0 on a new connection to 127.0.0.1:port, from the
// address `from` if given (another loopback address tells a client from a
// proxy on 127.0.0.1).
inline response http_get(std::uint16_t port, const std::string& path,
                         std::optional<asio::ip::address> from = std::nullopt) {
    asio::io_context context;
    asio::ip::tcp::socket socket(context);
    std::error_code ec;
    socket.open(asio::ip::tcp::v4(), ec);
    if (from) socket.bind({*from, 0}, ec);
    socket.connect({asio::ip::address_v4::loopback(), port}, ec);
    if (ec) return {};
    std::string request = "GET " + path + " HTTP/1.0\r\nHost: gale.test\r\n\r\n";
    asio::write(socket, asio::buffer(request), ec);
    std::string raw;
    asio::read(socket, asio::dynamic_buffer(raw), ec);
    std::size_t end = raw.find("\r\n\r\n");
    if (end == std::string::npos || raw.size() < 12) return {};
    return {std::atoi(raw.c_str() + 9), raw.substr(0, end + 2), raw.substr(end + 4)};
}

// The value of "name=" in a "name=value name=value" answer (examples/production's).
inline std::string field(const std::string& body, const std::string& name) {
    std::size_t at = body.find(name + "=");
    if (at == std::string::npos) return "";
    at += name.size() + 1;
    return body.substr(at, body.find_first_of(" \n", at) - at);
}

// A program running until stop() or the end of the test (then killed),
// its standard output and error in `log` (or discarded).
struct running {
    pid_t pid = -1;

    explicit running(std::vector<std::string> argv, const fs::path& log = "/dev/null") {
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
        std::vector<char*> args;
        for (std::string& arg : argv) args.push_back(arg.data());
        args.push_back(nullptr);
        int spawned = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        REQUIRE(spawned == 0);
    }
    running(const running&) = delete;
    running& operator=(const running&) = delete;
    ~running() { stop(SIGKILL); }

    void stop(int sig) {
        if (pid <= 0) return;
        ::kill(pid, sig);
        ::waitpid(pid, nullptr, 0);
        pid = -1;
    }
    bool alive() const { return ::waitpid(pid, nullptr, WNOHANG) == 0; }
};

using gale_test::temp_dir;

inline void write_file(const fs::path& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
}

}  // namespace process_test
