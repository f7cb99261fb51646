// Shared helpers for gale's test suites.
#pragma once

#include <stdlib.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include <doctest/doctest.h>

#include <gale/detail/logging.hpp>
#include <gale/ioloop.hpp>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <vector>

#include <gale/task.hpp>

namespace gale_test {

using namespace std::chrono_literals;

// Runs an async test body on a fresh IOLoop with a deadline, so a hang fails
// the test instead of blocking CI.
template <class F>
auto run_async(F&& body, gale::IOLoop::duration limit = std::chrono::seconds(20)) {
    auto loop = std::make_unique<gale::IOLoop>();
    return loop->run_sync(std::forward<F>(body), limit);
}

// Counts constructions and destructions, to catch leaks and double
// destruction in coroutine code.
struct lifetime_counter {
    static inline std::atomic<int> alive{0};
    static inline std::atomic<int> constructed{0};
    lifetime_counter() {
        ++alive;
        ++constructed;
    }
    lifetime_counter(const lifetime_counter&) : lifetime_counter() {}
    lifetime_counter(lifetime_counter&&) noexcept : lifetime_counter() {}
    lifetime_counter& operator=(const lifetime_counter&) = default;
    ~lifetime_counter() { --alive; }
};

// Captures log records while alive (Tornado's ExpectLog, in miniature).
class log_capture {
public:
    log_capture() : previous_(config().handler.exchange(&record)) {
        std::lock_guard lock(mutex());
        lines().clear();
    }
    ~log_capture() { config().handler.store(previous_); }
    log_capture(const log_capture&) = delete;
    log_capture& operator=(const log_capture&) = delete;

    // Every captured message containing `needle`.
    std::vector<std::string> matching(const std::string& needle) const {
        std::lock_guard lock(mutex());
        std::vector<std::string> found;
        for (auto& line : lines())
            if (line.find(needle) != std::string::npos) found.push_back(line);
        return found;
    }

private:
    static gale::detail::log_config& config() { return gale::detail::logging_config(); }
    static std::mutex& mutex() {
        static std::mutex m;
        return m;
    }
    static std::vector<std::string>& lines() {
        static std::vector<std::string> v;
        return v;
    }
    static void record(const gale::detail::log_record& r) {
        std::lock_guard lock(mutex());
        lines().push_back(std::string(r.logger) + " " + std::string(r.message));
    }
    gale::detail::log_handler previous_;
};

// Awaits `work` and reports whether it threw E (any other exception escapes).
template <class E, class A>
gale::task<bool> throws(A work) {
    try {
        (void)co_await std::move(work);
    } catch (const E&) {
        co_return true;
    }
    co_return false;
}

// Awaits `work` and returns the E it throws; no exception at all is an error.
template <class E, class A>
gale::task<E> thrown(A work) {
    std::optional<E> caught;
    try {
        co_await std::move(work);
    } catch (const E& e) {
        caught.emplace(e);
    }
    if (!caught) throw std::logic_error("expected an exception, none was thrown");
    co_return *caught;
}

inline double elapsed_ms(std::chrono::steady_clock::time_point since) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - since).count();
}

// Counts the coroutines of a kind running (and ever started), so a test can
// wait for all of them to end before its loop goes away.
struct live_count {
    int running = 0;
    int total = 0;
    struct scope {
        live_count& c;
        explicit scope(live_count& count) : c(count) {
            ++c.running;
            ++c.total;
        }
        scope(const scope&) = delete;
        scope& operator=(const scope&) = delete;
        ~scope() { --c.running; }
    };
};

// Runs a shell command; returns what it printed on standard output.
inline std::string run_command(const std::string& command) {
    std::string output;
    FILE* pipe = ::popen(command.c_str(), "r");
    if (!pipe) return output;
    char chunk[4096];
    while (std::size_t n = std::fread(chunk, 1, sizeof chunk, pipe)) output.append(chunk, n);
    ::pclose(pipe);
    return output;
}

inline bool have_curl() { return std::system("curl --version >/dev/null 2>&1") == 0; }

// A fresh directory under the system's temporary directory, removed with
// everything in it at the end of the scope.
struct temp_dir {
    std::filesystem::path path;
    temp_dir() {
        std::string pattern = (std::filesystem::temp_directory_path() / "gale-test-XXXXXX").string();
        if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
        path = pattern;
    }
    ~temp_dir() {
        std::error_code ignored;
        std::filesystem::remove_all(path, ignored);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    // The path of name inside, as text.
    std::string file(const std::string& name) const { return (path / name).string(); }
    // Writes text to name inside (its directories made as needed).
    void write(const std::string& name, std::string_view text) const {
        std::filesystem::path target = path / name;
        std::filesystem::create_directories(target.parent_path());
        std::ofstream(target, std::ios::binary) << text;
    }
};

}  // namespace gale_test
