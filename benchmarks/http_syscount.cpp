// An LD_PRELOAD library that counts a server's network system calls, for
// the HTTP benchmarks (benchmarks/http_bench.py, part "syscalls").
//
//   LD_PRELOAD=.../libhttp_syscount.so http_hello_gale
//   kill -USR2 <pid>     # writes "syscalls recv=N ... epoll_ctl=N" on stderr
//
// It wraps the libc entry points of the calls a socket server makes per
// request (recv/recvfrom/recvmsg/read, send/sendto/sendmsg/write/writev,
// epoll_wait/epoll_pwait, epoll_ctl), counts them in plain counters (the
// servers measured are single-threaded) and passes them on. The count is
// printed on SIGUSR2, from the signal handler with a raw write(2); the
// driver signals before and after a wrk run and takes the difference.
// Unlike strace, it does not stop the server at every call, so it does not
// change how often a speculative read finds data already waiting.
#include <dlfcn.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>

namespace {

enum counter { c_recv, c_send, c_epoll_wait, c_epoll_ctl, c_count };
constexpr const char* counter_names[c_count] = {"recv", "send", "epoll_wait", "epoll_ctl"};
volatile std::uint64_t counters[c_count];

template <class F>
F next(const char* name) {
    return reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}

void append(char*& p, const char* s) {
    while (*s) *p++ = *s++;
}

void append(char*& p, std::uint64_t v) {
    char digits[24];
    int n = 0;
    do {
        digits[n++] = static_cast<char>('0' + v % 10);
        v /= 10;
    } while (v);
    while (n) *p++ = digits[--n];
}

void report(int) {
    char text[256];
    char* p = text;
    append(p, "syscalls");
    for (int i = 0; i < c_count; ++i) {
        append(p, " ");
        append(p, counter_names[i]);
        append(p, "=");
        append(p, counters[i]);
    }
    append(p, "\n");
    // The raw system call: write() is wrapped below, and async-signal-safe
    // code must not run the wrapper's first-call dlsym.
    long ignored = syscall(SYS_write, 2, text, static_cast<std::size_t>(p - text));
    (void)ignored;
}

__attribute__((constructor)) void install() {
    struct sigaction action {};
    action.sa_handler = report;
    action.sa_flags = SA_RESTART;
    sigemptyset(&action.sa_mask);
    sigaction(SIGUSR2, &action, nullptr);
}

}  // namespace

extern "C" {

ssize_t recv(int fd, void* buf, size_t n, int flags) {
    static auto real = next<ssize_t (*)(int, void*, size_t, int)>("recv");
    counters[c_recv] = counters[c_recv] + 1;
    return real(fd, buf, n, flags);
}

ssize_t recvfrom(int fd, void* buf, size_t n, int flags, sockaddr* addr, socklen_t* len) {
    static auto real = next<ssize_t (*)(int, void*, size_t, int, sockaddr*, socklen_t*)>("recvfrom");
    counters[c_recv] = counters[c_recv] + 1;
    return real(fd, buf, n, flags, addr, len);
}

ssize_t recvmsg(int fd, msghdr* msg, int flags) {
    static auto real = next<ssize_t (*)(int, msghdr*, int)>("recvmsg");
    counters[c_recv] = counters[c_recv] + 1;
    return real(fd, msg, flags);
}

ssize_t read(int fd, void* buf, size_t n) {
    static auto real = next<ssize_t (*)(int, void*, size_t)>("read");
    counters[c_recv] = counters[c_recv] + 1;
    return real(fd, buf, n);
}

ssize_t send(int fd, const void* buf, size_t n, int flags) {
    static auto real = next<ssize_t (*)(int, const void*, size_t, int)>("send");
    counters[c_send] = counters[c_send] + 1;
    return real(fd, buf, n, flags);
}

ssize_t sendto(int fd, const void* buf, size_t n, int flags, const sockaddr* addr, socklen_t len) {
    static auto real = next<ssize_t (*)(int, const void*, size_t, int, const sockaddr*, socklen_t)>("sendto");
    counters[c_send] = counters[c_send] + 1;
    return real(fd, buf, n, flags, addr, len);
}

ssize_t sendmsg(int fd, const msghdr* msg, int flags) {
    static auto real = next<ssize_t (*)(int, const msghdr*, int)>("sendmsg");
    counters[c_send] = counters[c_send] + 1;
    return real(fd, msg, flags);
}

ssize_t write(int fd, const void* buf, size_t n) {
    static auto real = next<ssize_t (*)(int, const void*, size_t)>("write");
    counters[c_send] = counters[c_send] + 1;
    return real(fd, buf, n);
}

ssize_t writev(int fd, const iovec* iov, int n) {
    static auto real = next<ssize_t (*)(int, const iovec*, int)>("writev");
    counters[c_send] = counters[c_send] + 1;
    return real(fd, iov, n);
}

int epoll_wait(int epfd, epoll_event* events, int max, int timeout) {
    static auto real = next<int (*)(int, epoll_event*, int, int)>("epoll_wait");
    counters[c_epoll_wait] = counters[c_epoll_wait] + 1;
    return real(epfd, events, max, timeout);
}

int epoll_pwait(int epfd, epoll_event* events, int max, int timeout, const sigset_t* mask) {
    static auto real = next<int (*)(int, epoll_event*, int, int, const sigset_t*)>("epoll_pwait");
    counters[c_epoll_wait] = counters[c_epoll_wait] + 1;
    return real(epfd, events, max, timeout, mask);
}

int epoll_ctl(int epfd, int op, int fd, epoll_event* event) {
    static auto real = next<int (*)(int, int, int, epoll_event*)>("epoll_ctl");
    counters[c_epoll_ctl] = counters[c_epoll_ctl] + 1;
    return real(epfd, op, fd, event);
}

}  // extern "C"
