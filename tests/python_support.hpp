// Reference scripts under tests/tornado/ run with Debian's python3-tornado
// (Tornado 6.2, /usr/bin/python3), for suites that compare gale with
// Tornado on the wire.
//
//   gale_test::python_process server("static_server.py", {root});
//   int port = server.first_line_number("port ");   // the script prints "port N" once it listens
//
// The child's stdin is a pipe; the scripts exit when it closes, which the
// destructor does (then waits, and kills after two seconds).
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace gale_test {

// tests/tornado/<name>, found from this file's path (absolute, or relative
// to a build directory up to four levels below the source root).
inline std::filesystem::path tornado_script(const std::string& name) {
    std::filesystem::path here(__FILE__);
    std::vector<std::filesystem::path> candidates = {here.parent_path() / "tornado"};
    if (here.is_relative()) {
        std::filesystem::path cwd = std::filesystem::current_path();
        for (int up = 0; up < 4; ++up, cwd = cwd.parent_path())
            candidates.push_back(cwd / here.parent_path() / "tornado");
    }
    for (const auto& dir : candidates)
        if (std::filesystem::exists(dir / name)) return dir / name;
    throw std::runtime_error("cannot find tests/tornado/" + name + " from " + here.string());
}

class python_process {
public:
    // Starts /usr/bin/python3 tests/tornado/<script> args...; with
    // quiet_stderr, the child's stderr goes to /dev/null (Tornado's own
    // tracebacks for errors a test provokes).
    explicit python_process(const std::string& script, std::vector<std::string> args = {},
                            bool quiet_stderr = false)
        : script_(script) {
        int in[2], out[2];
        if (::pipe(in) != 0 || ::pipe(out) != 0) throw std::runtime_error("pipe failed");
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, in[0], 0);
        posix_spawn_file_actions_adddup2(&actions, out[1], 1);
        posix_spawn_file_actions_addclose(&actions, in[1]);
        posix_spawn_file_actions_addclose(&actions, out[0]);
        if (quiet_stderr) posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
        args.insert(args.begin(), {"/usr/bin/python3", tornado_script(script).string()});
        std::vector<char*> argv;
        for (std::string& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        ::close(in[0]);
        ::close(out[1]);
        stdin_ = in[1];
        stdout_ = out[0];
        ::fcntl(stdin_, F_SETFD, FD_CLOEXEC);
        ::fcntl(stdout_, F_SETFD, FD_CLOEXEC);
        if (rc != 0) throw std::runtime_error("cannot start /usr/bin/python3");
    }
    ~python_process() {
        ::close(stdin_);
        ::close(stdout_);
        int status = 0;
        for (int i = 0; i < 100; ++i) {
            if (::waitpid(pid_, &status, WNOHANG) == pid_) return;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
    }
    python_process(const python_process&) = delete;
    python_process& operator=(const python_process&) = delete;

    // The next line the script prints (without its newline); throws if it
    // must start with `prefix` and does not (the script did not start:
    // python3-tornado is missing).
    std::string read_line(const std::string& prefix = "") {
        std::string line;
        char c;
        while (::read(stdout_, &c, 1) == 1 && c != '\n') line += c;
        if (!line.starts_with(prefix))
            throw std::runtime_error("tests/tornado/" + script_ +
                                     " did not start: python3-tornado 6.2 is required "
                                     "(/usr/bin/python3 -c 'import tornado'; scripts/deps.sh installs it)");
        return line;
    }

private:
    std::string script_;
    pid_t pid_ = -1;
    int stdin_ = -1;
    int stdout_ = -1;
};

}  // namespace gale_test
