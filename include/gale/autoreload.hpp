// Tornado's tornado.autoreload for C++: the process re-executes itself, with
// the same arguments, when its program or a watched file changes.
//
//   gale::autoreload::start();                      // or Settings{.debug = true} / {.autoreload = true}
//   gale::autoreload::watch("config/app.conf");     // a file, or a directory (every file in it)
//   gale::autoreload::add_reload_hook([] { db.close(); });
//   gale::IOLoop::current().start();
//
// Synopsis (namespace gale::autoreload):
//   void start(IOLoop::duration check_time = 500ms)
//   void watch(std::filesystem::path path)
//   void add_reload_hook(std::function<void()> hook)
//   [[noreturn]] void reload()          // what a change does; callable by hand
//
// start() checks, every check_time on the calling thread's IOLoop, the
// program's executable (the file /proc/self/exe named when start() was
// first called) and every watched path: its modification time, size and
// inode, and for a directory those of every file below it, so a file
// added, removed, rewritten or replaced by a rename all count. A change
// must hold still for one check before the reload (a linker or an editor
// still writing the file would otherwise be executed half-written). Then
// gale logs "<path> modified; reloading..." (tornado.general, info, as
// Tornado does), runs the reload hooks, and calls execv on the program with
// the arguments it was started with (read from /proc/self/cmdline) and the
// same environment: the process keeps its pid, so a supervisor sees no
// exit. If execv fails (the program is missing meanwhile), the error is
// logged and the next check tries again.
//
// Before the exec, every descriptor above 2 is made close-on-exec (Asio's
// sockets are not): the listening sockets close with the old image, so the
// new one can bind the same port, and open connections are dropped, as with
// Tornado. Logging is flushed first (flush_logs).
//
// Calling start() again on the same loop does nothing; on another loop (the
// threads mode) it adds a checker there, and the first to see a change
// reloads the whole process. The checker belongs to the loop (an Asio
// service of its io_context) and goes with it. watch() and
// add_reload_hook() may be called before or after start(), from any thread.
//
// Like Tornado's, this is for development: it is incompatible with
// fork_processes (a child would re-exec as a lone copy of the program), and
// an Application with debug (or autoreload) starts it in its constructor.
// Linux only (it reads /proc).
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <asio/execution_context.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include "detail/logging.hpp"
#include "ioloop.hpp"
#include "log.hpp"

namespace gale::autoreload {

inline void start(IOLoop::duration check_time = std::chrono::milliseconds(500));
inline void watch(std::filesystem::path path);
inline void add_reload_hook(std::function<void()> hook);
[[noreturn]] inline void reload();

namespace detail {

// What identifies one version of a file.
struct file_stamp {
    std::int64_t mtime_ns = 0;
    std::int64_t size = 0;
    std::uint64_t inode = 0;
    bool operator==(const file_stamp&) const = default;
};

// Every file of the watched paths (a missing one has no entry).
using snapshot = std::map<std::string, file_stamp>;

inline void add_stamp(snapshot& files, const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return;
    files[path] = {static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec,
                   static_cast<std::int64_t>(st.st_size), static_cast<std::uint64_t>(st.st_ino)};
}

inline void add_path(snapshot& files, const std::filesystem::path& path) {
    std::error_code ec;
    if (!std::filesystem::is_directory(path, ec)) {
        add_stamp(files, path.string());
        return;
    }
    for (std::filesystem::recursive_directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec))
        if (it->is_regular_file(ec)) add_stamp(files, it->path().string());
}

// The first path whose stamp differs between two snapshots.
inline std::string first_difference(const snapshot& before, const snapshot& now) {
    for (const auto& [path, stamp] : now)
        if (auto old = before.find(path); old == before.end() || !(old->second == stamp)) return path;
    for (const auto& [path, stamp] : before)
        if (!now.contains(path)) return path;
    return {};
}

// The process-wide state (Tornado's module globals).
struct state {
    std::mutex mutex;
    std::string executable;                  // resolved once, at the first start()
    std::vector<std::string> arguments;      // argv, from /proc/self/cmdline
    std::vector<std::filesystem::path> watched;
    std::vector<std::function<void()>> hooks;
    snapshot baseline;                       // as the process started watching
    std::optional<snapshot> pending;         // a change seen, waiting for it to hold still

    static state& instance() {
        static state s;
        return s;
    }

    snapshot take_snapshot() const {
        snapshot files;
        if (!executable.empty()) add_stamp(files, executable);
        for (const auto& path : watched) add_path(files, path);
        return files;
    }
};

inline std::vector<std::string> read_cmdline() {
    std::ifstream in("/proc/self/cmdline", std::ios::binary);
    std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<std::string> args;
    for (std::size_t begin = 0; begin < all.size();) {
        std::size_t end = all.find('\0', begin);
        if (end == std::string::npos) end = all.size();
        args.emplace_back(all, begin, end - begin);
        begin = end + 1;
    }
    return args;
}

// Marks every descriptor above 2 close-on-exec.
inline void close_on_exec_above_stderr() {
    DIR* dir = ::opendir("/proc/self/fd");
    if (!dir) return;
    const int own = ::dirfd(dir);
    while (dirent* entry = ::readdir(dir)) {
        char* end = nullptr;
        long fd = std::strtol(entry->d_name, &end, 10);
        if (*end != '\0' || fd <= 2 || fd == own) continue;
        int flags = ::fcntl(static_cast<int>(fd), F_GETFD);
        if (flags >= 0) ::fcntl(static_cast<int>(fd), F_SETFD, flags | FD_CLOEXEC);
    }
    ::closedir(dir);
}

// The checker of one loop: a timer on its io_context, so it ends with it.
class checker final : public asio::execution_context::service {
public:
    inline static asio::execution_context::id id;

    explicit checker(asio::io_context& context) : service(context), timer_(context) {}

    void start(IOLoop::duration interval) {
        if (interval_) return;  // already checking on this loop
        interval_ = interval;
        schedule();
    }

private:
    void shutdown() override { timer_.cancel(); }

    void schedule() {
        timer_.expires_after(*interval_);
        timer_.async_wait([this](std::error_code ec) {
            if (ec) return;
            check();
            schedule();
        });
    }

    static void check() {
        state& s = state::instance();
        std::string changed;
        {
            std::lock_guard lock(s.mutex);
            snapshot now = s.take_snapshot();
            if (now == s.baseline) {
                s.pending.reset();
                return;
            }
            if (!s.pending || !(*s.pending == now)) {  // still changing: wait for it to settle
                s.pending = std::move(now);
                return;
            }
            changed = first_difference(s.baseline, now);
        }
        gale::gen_log.info("{} modified; reloading...", changed);
        try {
            reload();
        } catch (const std::exception& e) {
            gale::gen_log.error("autoreload: cannot restart: {}", e.what());
        }
    }

    asio::steady_timer timer_;
    std::optional<IOLoop::duration> interval_;
};

}  // namespace detail

// Starts checking, on the calling thread's loop, for changes to the
// program and the watched paths.
inline void start(IOLoop::duration check_time) {
    detail::state& s = detail::state::instance();
    {
        std::lock_guard lock(s.mutex);
        if (s.executable.empty()) {
            std::error_code ec;
            s.executable = std::filesystem::read_symlink("/proc/self/exe", ec).string();
            s.arguments = detail::read_cmdline();
            detail::add_stamp(s.baseline, s.executable);
        }
    }
    asio::use_service<detail::checker>(IOLoop::current().context()).start(check_time);
}

// Reloads when `path` changes: a file, or a directory and every file below
// it. Its current state is the baseline.
inline void watch(std::filesystem::path path) {
    detail::state& s = detail::state::instance();
    std::lock_guard lock(s.mutex);
    detail::add_path(s.baseline, path);
    s.watched.push_back(std::move(path));
}

// Calls hook just before the process re-executes itself.
inline void add_reload_hook(std::function<void()> hook) {
    detail::state& s = detail::state::instance();
    std::lock_guard lock(s.mutex);
    s.hooks.push_back(std::move(hook));
}

// Runs the reload hooks and re-executes the program with its arguments.
// Throws std::system_error if execv fails (the process goes on).
[[noreturn]] inline void reload() {
    detail::state& s = detail::state::instance();
    std::vector<std::function<void()>> hooks;
    std::string executable;
    std::vector<std::string> arguments;
    {
        std::lock_guard lock(s.mutex);
        hooks = s.hooks;
        executable = s.executable.empty() ? std::filesystem::read_symlink("/proc/self/exe").string() : s.executable;
        arguments = s.arguments.empty() ? detail::read_cmdline() : s.arguments;
    }
    for (auto& hook : hooks) hook();
    flush_logs();
    detail::close_on_exec_above_stderr();
    std::vector<char*> argv;
    for (std::string& arg : arguments) argv.push_back(arg.data());
    argv.push_back(nullptr);
    ::execv(executable.c_str(), argv.data());
    throw std::system_error(errno, std::generic_category(), "execv " + executable);
}

}  // namespace gale::autoreload
