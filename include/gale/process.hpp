// Tornado's tornado.process for C++: serving from several processes (or,
// beyond Tornado, several threads), child processes whose pipes are
// IOStreams, and (beyond Tornado) graceful shutdown on SIGTERM / SIGINT.
//
//   auto sockets = gale::bind_sockets(8888);        // 1. bind in the parent
//   gale::fork_processes(0);                        // 2. one child per CPU
//   gale::HTTPServer server(handle);                // 3. each child serves
//   server.add_sockets(std::move(sockets));
//   gale::IOLoop::current().start();
//
//   gale::Subprocess proc({"sort"}, {.in = gale::stdio::stream, .out = gale::stdio::stream});
//   co_await proc.stdin_stream()->write("b\na\n");
//   proc.stdin_stream()->close();
//   std::string sorted = co_await proc.stdout_stream()->read_until_close();
//   int status = co_await proc.wait_for_exit();      // CalledProcessError unless 0
//
// Synopsis:
//   int fork_processes(int num_processes, int max_restarts = 100)
//   std::optional<int> task_id()
//   int cpu_count()
//   void run_threads(int num_threads, serve(id)), stop_threads()   // beyond Tornado
//   void shutdown_on_signal(server, grace = 10s)                   // beyond Tornado
//   Subprocess(argv, subprocess_options{.in, .out, .err, .cwd, .env})
//     stdin_stream() / stdout_stream() / stderr_stream()   // shared_ptr<IOStream>, null unless stdio::stream
//     pid(), returncode(), task<int> wait_for_exit(raise_error = true), set_exit_callback(fn)
//   stdio::{inherit, stream, devnull, to_stdout}
//   CalledProcessError{returncode(), cmd()}
//
// fork_processes forks num_processes children (cpu_count() when it is 0 or
// less) and returns, in each child, that child's task id, 0 to n-1. The
// parent never returns: it waits for its children, starts a new child with
// the same id for one that exits with an error or is killed by a signal
// (at most max_restarts times in all, then throws std::runtime_error), and
// exits with status 0 once every child has exited normally. Beyond Tornado,
// SIGTERM or SIGINT sent to the parent (by supervisor or systemd, say) is
// passed on to every child; none is restarted after that, and the parent
// exits 0 once they have all ended, so stopping the parent stops the group.
//
// Call it before the loop starts and before any other thread is made.
// Unlike Tornado, where the IOLoop must not exist yet, the thread's loop may
// already hold the sockets of bind_sockets: it is told of the fork (Asio's
// notify_fork), so each child gets an epoll descriptor of its own with the
// same sockets in it. Sockets bound before the fork are shared, and the
// kernel spreads the connections among the children; alternatively each
// child binds its own with reuse_port.
//
// run_threads is gale's threads mode (not in Tornado): one IOLoop per
// thread in one process, each thread listening on the same port with
// SO_REUSEPORT, handler state shared between them; see its comment.
//
//   gale::run_threads(0, [&app](int) {
//       gale::HTTPServer server([&app](gale::HTTPServerRequest& r) { return app(r); });
//       server.listen(8888, "", gale::default_backlog, /*reuse_port=*/true);
//       gale::IOLoop::current().start();
//   });
//
// Subprocess is Tornado's: it starts argv[0] (searched in PATH) with argv,
// and each of the child's standard streams is inherited (the default),
// connected to a pipe that this side reads or writes as an IOStream
// (stdio::stream, Tornado's Subprocess.STREAM), /dev/null, or, for stderr,
// the child's stdout (Python's subprocess.STDOUT). Since stdin, stdout and
// stderr are macros in C++, the streams are stdin_stream(),
// stdout_stream() and stderr_stream(); closing stdin_stream() is how the
// child sees end of input. A program that cannot be started throws
// std::system_error at once (Python's FileNotFoundError).
//
// wait_for_exit completes once the child has exited, with its returncode:
// the exit status, or minus the signal that killed it, as in Python. With
// raise_error (the default) a returncode other than 0 throws
// CalledProcessError instead. Any number of coroutines may wait;
// set_exit_callback(fn) calls fn(returncode) on the loop instead (at once,
// on the next turn, if the child has already exited). Exits are noticed
// through SIGCHLD, handled by the loop (Asio's signal_set) without
// blocking it; only this loop's own children are reaped, with
// waitpid(pid, WNOHANG), so other children of the process are left to
// their owners. A child is reaped even if its Subprocess is gone first, so
// no zombie stays behind; the loop must outlive the child or the process.
//
// The child gets descriptors 0, 1 and 2 only (Python's close_fds): the
// server's sockets, which Asio does not open close-on-exec, stay here.
// A Subprocess belongs to the calling thread's IOLoop, like its streams.
// Writing to a child that has closed its stdin fails with
// StreamClosedError (EPIPE), never with a SIGPIPE that would end this
// process; the child starts with the default SIGPIPE disposition and an
// empty signal mask, as Python's restore_signals does.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include <asio/execution_context.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/signal_set.hpp>
#include <fmt/core.h>

#include "detail/logging.hpp"
#include "ioloop.hpp"
#include "iostream.hpp"
#include "locks.hpp"
#include "task.hpp"

namespace gale {

namespace detail {
inline std::optional<int>& task_id_slot() noexcept {
    static std::optional<int> id;
    return id;
}
// The id run_threads gave the calling thread.
inline std::optional<int>& thread_task_id_slot() noexcept {
    thread_local std::optional<int> id;
    return id;
}
}  // namespace detail

// The number of processors, at least 1.
inline int cpu_count() noexcept {
    long n = ::sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? static_cast<int>(n) : 1;
}

// The id run_threads gave the calling thread, else the id fork_processes
// gave this process, else nullopt.
inline std::optional<int> task_id() noexcept {
    if (std::optional<int> thread_id = detail::thread_task_id_slot()) return thread_id;
    return detail::task_id_slot();
}

namespace detail {

// The parent of fork_processes waits for its children and for SIGTERM and
// SIGINT with sigwaitinfo, those signals blocked meanwhile (no handler, no
// race between a signal and the wait); each child gets the mask back.
class parent_signals {
public:
    parent_signals() {
        sigemptyset(&watched_);
        for (int sig : {SIGCHLD, SIGTERM, SIGINT}) sigaddset(&watched_, sig);
        pthread_sigmask(SIG_BLOCK, &watched_, &previous_);
    }
    ~parent_signals() { restore(); }
    parent_signals(const parent_signals&) = delete;
    parent_signals& operator=(const parent_signals&) = delete;

    void restore() noexcept { pthread_sigmask(SIG_SETMASK, &previous_, nullptr); }

    // The next of the watched signals.
    int wait() {
        for (;;) {
            int sig = ::sigwaitinfo(&watched_, nullptr);
            if (sig >= 0) return sig;
            if (errno != EINTR) throw std::system_error(errno, std::generic_category(), "fork_processes: sigwaitinfo");
        }
    }

private:
    sigset_t watched_;
    sigset_t previous_;
};

}  // namespace detail

inline int fork_processes(int num_processes, int max_restarts = 100) {
    if (detail::task_id_slot()) throw std::logic_error("fork_processes: already called in this process");
    if (num_processes <= 0) num_processes = cpu_count();
    detail::log(detail::gen_log, detail::log_level::info, "process", __LINE__, "Starting {} processes",
                num_processes);
    std::map<pid_t, int> children;
    detail::parent_signals signals;
    // Forks child `id`; true in the child.
    IOLoop* loop = IOLoop::current_or_null();
    auto start_child = [&children, &signals, loop](int id) {
        if (loop) loop->context().notify_fork(asio::execution_context::fork_prepare);
        pid_t pid = ::fork();
        if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork_processes: fork");
        if (loop)
            loop->context().notify_fork(pid == 0 ? asio::execution_context::fork_child
                                                 : asio::execution_context::fork_parent);
        if (pid == 0) {
            signals.restore();
            detail::task_id_slot() = id;
            return true;
        }
        children[pid] = id;
        return false;
    };
    for (int id = 0; id < num_processes; ++id)
        if (start_child(id)) return id;

    int restarts = 0;
    bool stopping = false;  // SIGTERM or SIGINT came: passed on, nobody restarted
    while (!children.empty()) {
        int status = 0;
        pid_t pid = ::waitpid(-1, &status, WNOHANG);
        if (pid < 0 && errno != ECHILD) throw std::system_error(errno, std::generic_category(), "fork_processes: wait");
        if (pid <= 0) {
            int sig = signals.wait();
            if (sig != SIGCHLD && !stopping) {
                stopping = true;
                detail::log(detail::gen_log, detail::log_level::info, "process", __LINE__,
                            "signal {}: passing it on to the children and waiting for them", sig);
                for (const auto& [child_pid, id] : children) ::kill(child_pid, sig);
            }
            continue;
        }
        auto child = children.find(pid);
        if (child == children.end()) continue;
        int id = child->second;
        children.erase(child);
        if (stopping) {
            detail::log(detail::gen_log, detail::log_level::info, "process", __LINE__, "child {} (pid {}) stopped",
                        id, pid);
            continue;
        }
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
    // Every child exited cleanly, or was stopped by the signal passed on:
    // so does the parent, instead of returning to code that would go on to
    // serve as if it were a child.
    std::exit(0);
}

// ------------------------------------------------------------------ threads mode

namespace detail {

// The loops of the running run_threads, for stop_threads and for stopping
// the others when one thread fails.
struct thread_loops {
    std::mutex mutex;
    std::vector<IOLoop*> loops;
    bool stopping = false;

    static thread_loops& instance() {
        static thread_loops registry;
        return registry;
    }

    void add(IOLoop& loop) {
        std::lock_guard lock(mutex);
        loops.push_back(&loop);
        if (stopping) loop.stop();
    }
    void remove(IOLoop& loop) {
        std::lock_guard lock(mutex);
        std::erase(loops, &loop);
    }
    void stop_all() {
        std::lock_guard lock(mutex);
        stopping = true;
        for (IOLoop* loop : loops) loop->stop();
    }
};

}  // namespace detail

// Stops every loop of the running run_threads; any thread may call it.
inline void stop_threads() { detail::thread_loops::instance().stop_all(); }

// Beyond Tornado: serving from several threads of one process. Starts
// num_threads threads (cpu_count() when 0 or less), each with an IOLoop of
// its own made current, and calls serve(id) on thread id (0 to n-1), where
// task_id() returns id. serve typically makes its servers, listens with
// reuse_port on the same port as the others, and runs the loop; the kernel
// spreads connections over the sockets. Returns once every serve has
// returned. If one throws, the loops of the others are stopped (a loop
// started later returns at once) and the first exception is rethrown here.
// stop_threads() stops every loop of the current run_threads, from any
// thread (for example from a signal handler's callback).
//
// Handler state is then shared between threads: an Application, its
// settings and anything a handler reaches through globals or captures are
// used by every thread at once, so each must be immutable after start or
// guarded (a std::mutex, atomics); coroutine primitives (Lock, Event, Queue)
// and IOStreams belong to one loop and must not be shared. Giving each
// thread an Application of its own avoids most of it.
inline void run_threads(int num_threads, const std::function<void(int)>& serve) {
    if (num_threads <= 0) num_threads = cpu_count();
    detail::thread_loops& registry = detail::thread_loops::instance();
    {
        std::lock_guard lock(registry.mutex);
        if (!registry.loops.empty()) throw std::logic_error("run_threads: already running");
        registry.stopping = false;
    }
    std::mutex failure_mutex;
    std::exception_ptr failure;
    std::vector<std::thread> threads;
    threads.reserve(static_cast<std::size_t>(num_threads));
    for (int id = 0; id < num_threads; ++id) {
        threads.emplace_back([&, id] {
            detail::thread_task_id_slot() = id;
            IOLoop loop;
            loop.make_current();
            registry.add(loop);
            try {
                serve(id);
            } catch (...) {
                {
                    std::lock_guard lock(failure_mutex);
                    if (!failure) failure = std::current_exception();
                }
                registry.stop_all();
            }
            registry.remove(loop);
        });
    }
    for (std::thread& thread : threads) thread.join();
    if (failure) std::rethrow_exception(failure);
}

// ------------------------------------------------------------------ graceful shutdown

namespace detail {

// SIGTERM and SIGINT on one loop, for shutdown_on_signal: an Asio service
// of the loop's io_context, so it lives exactly as long as the loop.
class shutdown_signals final : public asio::execution_context::service {
public:
    inline static asio::execution_context::id id;

    explicit shutdown_signals(asio::io_context& context) : service(context), signals_(context, SIGTERM, SIGINT) {}

    void on_signal(std::function<void(int)> handler) {
        handler_ = std::move(handler);
        if (!waiting_) wait_next();
    }

private:
    void shutdown() override {
        std::error_code ignored;
        signals_.cancel(ignored);
        handler_ = nullptr;
    }

    void wait_next() {
        waiting_ = true;
        signals_.async_wait([this](std::error_code ec, int sig) {
            waiting_ = false;
            if (ec) return;
            wait_next();
            if (handler_) handler_(sig);
        });
    }

    asio::signal_set signals_;
    std::function<void(int)> handler_;
    bool waiting_ = false;
};

template <class Server>
task<void> shut_down_then_stop(Server& server, IOLoop& loop, std::optional<IOLoop::duration> grace) {
    co_await server.shutdown(grace);
    detail::log(detail::gen_log, detail::log_level::info, "process", __LINE__, "Shutdown complete");
    loop.stop();
}

}  // namespace detail

// Beyond Tornado (which leaves it to the application): on SIGTERM or
// SIGINT, shuts `server` down gracefully, then stops the calling thread's
// loop, so that start() returns and main can return 0. server is a
// gale::Application or a gale::HTTPServer (anything with
// task<void> shutdown(std::optional<IOLoop::duration>)): it stops accepting,
// closes idle keep-alive connections, lets the requests in flight finish
// within `grace` (none: no limit) and closes what is left. A second signal
// during the grace stops the loop at once. server must outlive the loop's
// run. In the threads mode each thread calls it for its own server: every
// loop sees the signal. Under fork_processes each child calls it, and the
// parent passes the signal on and exits 0 once the children have.
//
//   app.listen(8000, "", {.xheaders = true});
//   gale::shutdown_on_signal(app, std::chrono::seconds(10));
//   gale::IOLoop::current().start();
//   return 0;
template <class Server>
void shutdown_on_signal(Server& server, std::optional<IOLoop::duration> grace = std::chrono::seconds(10)) {
    IOLoop& loop = IOLoop::current();
    auto& signals = asio::use_service<detail::shutdown_signals>(loop.context());
    signals.on_signal([&server, &loop, grace, received = 0](int sig) mutable {
        if (++received == 1) {
            detail::log(detail::gen_log, detail::log_level::info, "process", __LINE__,
                        "Received signal {}: shutting down gracefully", sig);
            loop.spawn_callback(detail::shut_down_then_stop(server, loop, grace));
            return;
        }
        detail::log(detail::gen_log, detail::log_level::warning, "process", __LINE__,
                    "Received signal {} again: stopping now", sig);
        loop.stop();
    });
}

// ------------------------------------------------------------------ Subprocess

// How one of a child's standard streams is connected.
enum class stdio {
    inherit,    // this process's own
    stream,     // a pipe, read or written here as an IOStream (Tornado's Subprocess.STREAM)
    devnull,    // /dev/null
    to_stdout,  // stderr only: wherever the child's stdout goes (Python's subprocess.STDOUT)
};

struct subprocess_options {
    stdio in = stdio::inherit;
    stdio out = stdio::inherit;
    stdio err = stdio::inherit;
    // The child's working directory; empty: this process's.
    std::string cwd{};
    // The child's environment ("NAME=value" each); none: this process's.
    std::optional<std::vector<std::string>> env{};
};

// A child exited with a status other than 0 (Python's CalledProcessError).
class CalledProcessError : public std::runtime_error {
public:
    CalledProcessError(int returncode, std::vector<std::string> cmd)
        : std::runtime_error(describe(returncode, cmd)), returncode_(returncode), cmd_(std::move(cmd)) {}

    // The exit status, or minus the signal that killed the child.
    int returncode() const noexcept { return returncode_; }
    const std::vector<std::string>& cmd() const noexcept { return cmd_; }

private:
    static std::string describe(int returncode, const std::vector<std::string>& cmd) {
        std::string command;
        for (const std::string& arg : cmd) command += (command.empty() ? "" : " ") + arg;
        if (returncode < 0) return fmt::format("Command '{}' died with signal {}.", command, -returncode);
        return fmt::format("Command '{}' returned non-zero exit status {}.", command, returncode);
    }

    int returncode_;
    std::vector<std::string> cmd_;
};

namespace detail {

// One end of a pipe as an IOStream transport. Pipes have no socket: socket()
// is one that was never opened, so socket operations on it fail harmlessly
// (set_nodelay is ignored, remote_endpoint reports an error).
class pipe_transport final : public stream_transport {
public:
    pipe_transport(asio::io_context& context, int fd) : pipe_(context, fd), no_socket_(context) {
        std::error_code ignored;  // a descriptor that is not a pipe fails its first operation instead
        pipe_.non_blocking(true, ignored);
    }

    std::size_t read_some(asio::mutable_buffer buffer, std::error_code& ec) override {
        return pipe_.read_some(buffer, ec);
    }

    // A reader gone makes write(2) raise SIGPIPE, which would end the
    // process (sockets use MSG_NOSIGNAL instead): the signal is blocked for
    // the call and, if this write raised it, taken back, leaving EPIPE.
    std::size_t write_some(std::span<const asio::const_buffer> buffers, std::error_code& ec) override {
        sigset_t sigpipe, previous, pending;
        sigemptyset(&sigpipe);
        sigaddset(&sigpipe, SIGPIPE);
        sigpending(&pending);
        const bool was_pending = sigismember(&pending, SIGPIPE) == 1;
        pthread_sigmask(SIG_BLOCK, &sigpipe, &previous);
        std::size_t n = pipe_.write_some(buffers, ec);
        if (ec == asio::error::broken_pipe && !was_pending) {
            const timespec no_wait{};
            while (sigtimedwait(&sigpipe, nullptr, &no_wait) < 0 && errno == EINTR) {
            }
        }
        pthread_sigmask(SIG_SETMASK, &previous, nullptr);
        return n;
    }

    void async_wait(wait_type what, ready_handler handler) override {
        pipe_.async_wait(what == wait_type::read ? asio::posix::descriptor_base::wait_read
                                                 : asio::posix::descriptor_base::wait_write,
                         std::move(handler));
    }

    void close() noexcept override {
        std::error_code ignored;
        pipe_.close(ignored);
    }

    asio::ip::tcp::socket& socket() noexcept override { return no_socket_; }

private:
    asio::posix::stream_descriptor pipe_;
    asio::ip::tcp::socket no_socket_;
};

// A descriptor closed when it goes, unless released.
class unique_fd {
public:
    unique_fd() = default;
    explicit unique_fd(int fd) noexcept : fd_(fd) {}
    unique_fd(unique_fd&& other) noexcept : fd_(other.release()) {}
    unique_fd& operator=(unique_fd&& other) noexcept {
        if (this != &other) {
            reset();
            fd_ = other.release();
        }
        return *this;
    }
    ~unique_fd() { reset(); }

    int get() const noexcept { return fd_; }
    int release() noexcept { return std::exchange(fd_, -1); }
    void reset() noexcept {
        if (fd_ >= 0) ::close(std::exchange(fd_, -1));
    }

private:
    int fd_ = -1;
};

// What is known of a child's exit; shared by its Subprocess, its waiters
// and the loop's child_watcher, so the child is reaped whoever goes first.
struct child_state {
    std::vector<std::string> argv;
    std::optional<int> returncode;
    Event exited;
    std::function<void(int)> exit_callback;

    void set_status(int status) {
        returncode = WIFSIGNALED(status) ? -WTERMSIG(status) : WEXITSTATUS(status);
        exited.set();
        if (exit_callback) {
            auto callback = std::move(exit_callback);
            callback(*returncode);
        }
    }
};

// A loop's children: on each SIGCHLD it reaps those of them that have
// exited (Tornado's Subprocess._cleanup). An Asio service of the loop's
// io_context, so it lives exactly as long as the loop.
class child_watcher final : public asio::execution_context::service {
public:
    inline static asio::execution_context::id id;

    explicit child_watcher(asio::io_context& context) : service(context), signals_(context, SIGCHLD) {
        wait_next();
    }

    static child_watcher& of(IOLoop& loop) { return asio::use_service<child_watcher>(loop.context()); }

    void watch(pid_t pid, std::shared_ptr<child_state> state) {
        children_.emplace(pid, std::move(state));
        reap();  // in case it has already gone
    }

private:
    void shutdown() override {
        std::error_code ignored;
        signals_.cancel(ignored);
        children_.clear();
    }

    void wait_next() {
        signals_.async_wait([this](std::error_code ec, int) {
            if (ec) return;
            reap();
            wait_next();
        });
    }

    void reap() {
        for (auto it = children_.begin(); it != children_.end();) {
            int status = 0;
            pid_t done = ::waitpid(it->first, &status, WNOHANG);
            if (done == 0 || (done < 0 && errno == EINTR)) {
                ++it;
                continue;
            }
            std::shared_ptr<child_state> state = std::move(it->second);
            it = children_.erase(it);
            if (done < 0) status = 0xff00;  // already reaped by someone else: report 255
            state->set_status(status);
        }
    }

    asio::signal_set signals_;
    std::map<pid_t, std::shared_ptr<child_state>> children_;
};

// The file actions that connect one standard stream (fd 0, 1 or 2) of the
// child, and the pipe end kept here for stdio::stream.
inline unique_fd connect_stdio(posix_spawn_file_actions_t& actions, stdio how, int fd,
                               std::vector<unique_fd>& child_ends) {
    switch (how) {
        case stdio::inherit: return {};
        case stdio::devnull:
            posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0);
            return {};
        case stdio::to_stdout:
            if (fd != 2) throw std::invalid_argument("Subprocess: only stderr can go to stdout");
            posix_spawn_file_actions_adddup2(&actions, 1, 2);
            return {};
        case stdio::stream: break;
    }
    int ends[2];
    if (::pipe2(ends, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "Subprocess: pipe");
    unique_fd read_end(ends[0]), write_end(ends[1]);
    unique_fd& child_end = fd == 0 ? read_end : write_end;
    posix_spawn_file_actions_adddup2(&actions, child_end.get(), fd);  // dup2 clears close-on-exec
    child_ends.push_back(std::move(child_end));
    return fd == 0 ? std::move(write_end) : std::move(read_end);
}

inline std::vector<char*> c_strings(std::vector<std::string>& strings) {
    std::vector<char*> pointers;
    for (std::string& s : strings) pointers.push_back(s.data());
    pointers.push_back(nullptr);
    return pointers;
}

}  // namespace detail

// Tornado's Subprocess: a child process with (optionally) piped standard
// streams and an awaitable exit. See the header comment.
class Subprocess {
public:
    explicit Subprocess(std::vector<std::string> argv, subprocess_options options = {})
        : loop_(&IOLoop::current()), state_(std::make_shared<detail::child_state>()) {
        if (argv.empty()) throw std::invalid_argument("Subprocess: argv is empty");
        state_->argv = std::move(argv);
        detail::child_watcher& watcher = detail::child_watcher::of(*loop_);  // before the child can exit
        spawn(options);
        watcher.watch(pid_, state_);
    }

    Subprocess(Subprocess&&) noexcept = default;
    Subprocess& operator=(Subprocess&&) noexcept = default;

    // The pipes of stdio::stream, null for the others.
    const std::shared_ptr<IOStream>& stdin_stream() const noexcept { return stdin_; }
    const std::shared_ptr<IOStream>& stdout_stream() const noexcept { return stdout_; }
    const std::shared_ptr<IOStream>& stderr_stream() const noexcept { return stderr_; }

    pid_t pid() const noexcept { return pid_; }
    // The exit status (minus the signal that killed it), once it has exited.
    std::optional<int> returncode() const noexcept { return state_->returncode; }

    // Completes with the returncode once the child has exited; with
    // raise_error, a returncode other than 0 throws CalledProcessError.
    task<int> wait_for_exit(bool raise_error = true) const {
        std::shared_ptr<detail::child_state> state = state_;
        co_await state->exited.wait();
        if (raise_error && *state->returncode != 0) throw CalledProcessError(*state->returncode, state->argv);
        co_return *state->returncode;
    }

    // Calls callback(returncode) on the loop once the child has exited,
    // replacing any earlier callback.
    void set_exit_callback(std::function<void(int)> callback) {
        if (!state_->returncode) {
            state_->exit_callback = std::move(callback);
            return;
        }
        loop_->add_callback([callback = std::move(callback), code = *state_->returncode] { callback(code); });
    }

private:
    void spawn(const subprocess_options& options) {
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawnattr_t attributes;
        posix_spawnattr_init(&attributes);
        std::vector<detail::unique_fd> child_ends;  // closed here once the child has them
        int spawned = 0;
        try {
            detail::unique_fd in = detail::connect_stdio(actions, options.in, 0, child_ends);
            detail::unique_fd out = detail::connect_stdio(actions, options.out, 1, child_ends);
            detail::unique_fd err = detail::connect_stdio(actions, options.err, 2, child_ends);
            // Python's close_fds: Asio's sockets are not close-on-exec, and a
            // child must not keep the server's listening socket or its clients.
            posix_spawn_file_actions_addclosefrom_np(&actions, 3);
            if (!options.cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, options.cwd.c_str());
            sigset_t signals;
            sigemptyset(&signals);
            posix_spawnattr_setsigmask(&attributes, &signals);
            sigaddset(&signals, SIGPIPE);
            sigaddset(&signals, SIGXFSZ);
            posix_spawnattr_setsigdefault(&attributes, &signals);
            posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

            std::vector<std::string> argv = state_->argv;
            std::vector<char*> arg_pointers = detail::c_strings(argv);
            std::vector<std::string> env = options.env.value_or(std::vector<std::string>{});
            std::vector<char*> env_pointers = detail::c_strings(env);
            spawned = ::posix_spawnp(&pid_, arg_pointers[0], &actions, &attributes, arg_pointers.data(),
                                     options.env ? env_pointers.data() : environ);
            if (spawned == 0) {
                stdin_ = stream_over(std::move(in));
                stdout_ = stream_over(std::move(out));
                stderr_ = stream_over(std::move(err));
            }
        } catch (...) {
            posix_spawnattr_destroy(&attributes);
            posix_spawn_file_actions_destroy(&actions);
            throw;
        }
        posix_spawnattr_destroy(&attributes);
        posix_spawn_file_actions_destroy(&actions);
        if (spawned != 0)
            throw std::system_error(spawned, std::generic_category(),
                                    "Subprocess: cannot run '" + state_->argv[0] + "'");
    }

    std::shared_ptr<IOStream> stream_over(detail::unique_fd fd) {
        if (fd.get() < 0) return nullptr;
        auto transport = std::make_unique<detail::pipe_transport>(loop_->context(), fd.get());
        fd.release();  // the transport owns it now
        return std::make_shared<IOStream>(std::move(transport));
    }

    IOLoop* loop_;
    std::shared_ptr<detail::child_state> state_;
    pid_t pid_ = -1;
    std::shared_ptr<IOStream> stdin_, stdout_, stderr_;
};

}  // namespace gale
