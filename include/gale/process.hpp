// Tornado's tornado.process for C++: serving from several processes.
//
//   auto sockets = gale::bind_sockets(8888);        // 1. bind in the parent
//   gale::fork_processes(0);                        // 2. one child per CPU
//   gale::HTTPServer server(handle);                // 3. each child serves
//   server.add_sockets(std::move(sockets));
//   gale::IOLoop::current().start();
//
// Synopsis:
//   int fork_processes(int num_processes, int max_restarts = 100)
//   std::optional<int> task_id()
//   int cpu_count()
//
// fork_processes forks num_processes children (cpu_count() when it is 0 or
// less) and returns, in each child, that child's task id, 0 to n-1. The
// parent never returns: it waits for its children, starts a new child with
// the same id for one that exits with an error or is killed by a signal
// (at most max_restarts times in all, then throws std::runtime_error), and
// exits with status 0 once every child has exited normally.
//
// Call it before the loop starts and before any other thread is made.
// Unlike Tornado, where the IOLoop must not exist yet, the thread's loop may
// already hold the sockets of bind_sockets: it is told of the fork (Asio's
// notify_fork), so each child gets an epoll descriptor of its own with the
// same sockets in it. Sockets bound before the fork are shared, and the
// kernel spreads the connections among the children; alternatively each
// child binds its own with reuse_port.
#pragma once

#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <map>
#include <optional>
#include <stdexcept>
#include <system_error>

#include <asio/execution_context.hpp>

#include "detail/logging.hpp"
#include "ioloop.hpp"

namespace gale {

namespace detail {
inline std::optional<int>& task_id_slot() noexcept {
    static std::optional<int> id;
    return id;
}
}  // namespace detail

// The number of processors, at least 1.
inline int cpu_count() noexcept {
    long n = ::sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? static_cast<int>(n) : 1;
}

// The id fork_processes gave this process, or nullopt if none.
inline std::optional<int> task_id() noexcept { return detail::task_id_slot(); }

inline int fork_processes(int num_processes, int max_restarts = 100) {
    if (detail::task_id_slot()) throw std::logic_error("fork_processes: already called in this process");
    if (num_processes <= 0) num_processes = cpu_count();
    detail::log(detail::gen_log, detail::log_level::info, "process", __LINE__, "Starting {} processes",
                num_processes);
    std::map<pid_t, int> children;
    // Forks child `id`; true in the child.
    IOLoop* loop = IOLoop::current_or_null();
    auto start_child = [&children, loop](int id) {
        if (loop) loop->context().notify_fork(asio::execution_context::fork_prepare);
        pid_t pid = ::fork();
        if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork_processes: fork");
        if (loop)
            loop->context().notify_fork(pid == 0 ? asio::execution_context::fork_child
                                                 : asio::execution_context::fork_parent);
        if (pid == 0) {
            detail::task_id_slot() = id;
            return true;
        }
        children[pid] = id;
        return false;
    };
    for (int id = 0; id < num_processes; ++id)
        if (start_child(id)) return id;

    int restarts = 0;
    while (!children.empty()) {
        int status = 0;
        pid_t pid = ::wait(&status);
        if (pid < 0) {
            if (errno == EINTR) continue;
            throw std::system_error(errno, std::generic_category(), "fork_processes: wait");
        }
        auto child = children.find(pid);
        if (child == children.end()) continue;
        int id = child->second;
        children.erase(child);
        if (WIFSIGNALED(status)) {
            detail::log(detail::gen_log, detail::log_level::warning, "process", __LINE__,
                        "child {} (pid {}) killed by signal {}, restarting", id, pid, WTERMSIG(status));
        } else if (WEXITSTATUS(status) != 0) {
            detail::log(detail::gen_log, detail::log_level::warning, "process", __LINE__,
                        "child {} (pid {}) exited with status {}, restarting", id, pid, WEXITSTATUS(status));
        } else {
            detail::log(detail::gen_log, detail::log_level::info, "process", __LINE__,
                        "child {} (pid {}) exited normally", id, pid);
            continue;
        }
        if (++restarts > max_restarts) throw std::runtime_error("Too many child restarts, giving up");
        if (start_child(id)) return id;
    }
    // Every child exited cleanly: so does the parent, instead of returning
    // to code that would go on to serve as if it were a child.
    std::exit(0);
}

}  // namespace gale
