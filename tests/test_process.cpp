// Tests for <gale/process.hpp>: a real multi-process server
// (tests/fork_server.cpp) bound once and forked, talked to over HTTP.
#include <gale/process.hpp>

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <thread>

#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>

#include "support.hpp"

extern char** environ;

namespace {

using asio::ip::tcp;

// fork_server, built beside this test.
std::filesystem::path fork_server_path() {
    return std::filesystem::read_symlink("/proc/self/exe").parent_path() / "fork_server";
}

// One HTTP/1.0 request on a new connection; the body, or "" if the
// connection failed or was cut (a child exiting mid-request).
std::string get(std::uint16_t port, const std::string& path) {
    asio::io_context context;
    tcp::socket socket(context);
    std::error_code ec;
    socket.connect({asio::ip::address_v4::loopback(), port}, ec);
    if (ec) return "";
    std::string request = "GET " + path + " HTTP/1.0\r\n\r\n";
    asio::write(socket, asio::buffer(request), ec);
    std::string response;
    asio::read(socket, asio::dynamic_buffer(response), ec);
    std::size_t body = response.find("\r\n\r\n");
    return body == std::string::npos ? "" : response.substr(body + 4);
}

struct fork_server {
    pid_t pid = -1;    // the parent, until it has been waited for
    pid_t group = -1;  // its process group
    std::uint16_t port = 0;

    fork_server() {
        int out[2];
        REQUIRE(::pipe(out) == 0);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
        posix_spawn_file_actions_addclose(&actions, out[0]);
        posix_spawnattr_t attributes;  // a process group of its own, to kill it whole
        posix_spawnattr_init(&attributes);
        posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);
        posix_spawnattr_setpgroup(&attributes, 0);
        std::string path = fork_server_path().string();
        char* argv[] = {path.data(), nullptr};
        int spawned = posix_spawn(&pid, path.c_str(), &actions, &attributes, argv, environ);
        posix_spawnattr_destroy(&attributes);
        posix_spawn_file_actions_destroy(&actions);
        ::close(out[1]);
        REQUIRE(spawned == 0);
        FILE* from_server = ::fdopen(out[0], "r");
        char line[32] = {};
        REQUIRE(std::fgets(line, sizeof line, from_server) != nullptr);
        std::fclose(from_server);
        group = pid;
        port = static_cast<std::uint16_t>(std::atoi(line));
        REQUIRE(port != 0);
    }
    ~fork_server() {
        ::kill(-group, SIGKILL);  // the parent and its children, whatever is left
        if (pid > 0) ::waitpid(pid, nullptr, 0);
    }

    // Task id -> pid, from answers on new connections, until both children
    // have answered (or attempts run out).
    std::map<int, int> children(int wanted = 2, int attempts = 400) {
        std::map<int, int> seen;
        for (int i = 0; i < attempts && static_cast<int>(seen.size()) < wanted; ++i) {
            std::string body = get(port, "/");
            int id = -1, child = -1;
            if (std::sscanf(body.c_str(), "%d %d", &id, &child) == 2) seen[id] = child;
            else std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        return seen;
    }
};

}  // namespace

TEST_CASE("task_id is empty outside fork_processes and cpu_count is positive") {
    CHECK_FALSE(gale::task_id().has_value());
    CHECK(gale::cpu_count() >= 1);
}

TEST_CASE("forked children share the listening socket and the parent restarts a crashed one") {
    REQUIRE(std::filesystem::exists(fork_server_path()));
    fork_server server;
    std::map<int, int> first = server.children();
    REQUIRE(first.size() == 2);
    CHECK(first.count(0) == 1);
    CHECK(first.count(1) == 1);
    CHECK(first[0] != first[1]);

    // A child that dies with an error comes back with the same task id and
    // a new pid; the other one keeps serving.
    get(server.port, "/crash");
    std::set<int> restarted;
    for (int i = 0; i < 100 && restarted.empty(); ++i) {
        for (auto [id, pid] : server.children())
            if (pid != first[id]) restarted.insert(id);
    }
    CHECK(restarted.size() == 1);
    std::map<int, int> now = server.children();
    CHECK(now.size() == 2);

    // Children that exit normally are not replaced, and the parent exits
    // with status 0 after the last one.
    int status = -1;
    for (int i = 0; i < 400; ++i) {
        get(server.port, "/exit");
        pid_t done = ::waitpid(server.pid, &status, WNOHANG);
        if (done == server.pid) {
            server.pid = -1;
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    REQUIRE(server.pid == -1);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}
