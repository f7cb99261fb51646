// Tornado's tornado.log for C++: the three loggers, the LogFormatter line,
// and pretty logging to stderr and to rotating files.
//
//   gale::app_log.info("listening on {}", port);   // [I 261122 18:00:27 main:12] listening on 8888
//   gale::gen_log.warning("slow: {:.1f}ms", ms);
//   try { ... } catch (...) { gale::app_log.exception("request failed"); }
//   gale::enable_pretty_logging({.logging = "debug", .log_file_prefix = "/var/log/app.log"});
//
// Synopsis:
//   log_level::{debug, info, warning, error, critical}      // Python's levels 10..50
//   Logger{name}: debug/info/warning/error/critical(format, args...), log(level, format, args...),
//                 exception(format, args...), is_enabled_for(level), name()
//   access_log, app_log, gen_log    // "tornado.access", "tornado.application", "tornado.general"
//   LogFormatter(color = true): format(record, when) -> "[I 261122 18:00:27 web:2293] message"
//   log_settings{.logging, .log_to_stderr, .log_file_prefix, .log_rotate_mode, .log_file_max_size,
//                .log_file_num_backups, .log_rotate_when, .log_rotate_interval}
//   enable_pretty_logging(settings = {})  // options.hpp adds enable_pretty_logging(parser)
//   set_log_level(level), log_level_named("warning") -> optional<log_level>
//   flush_logs()                          // returns once every line logged so far is written
//
// Formats are {fmt}'s, checked at compile time (so text known only at run
// time is logged as app_log.info("{}", text)); the module:line in the line is
// the calling file's name without directory and extension, and the calling
// line. A message's later lines are indented by four spaces, as Tornado does.
// Records below the level are skipped before formatting.
//
// Loggers share one level and one output, like Tornado's (which sets them on
// the root logger). Until enable_pretty_logging runs (parse_command_line and
// parse_config_file of gale::options call it, as in Tornado), lines go to
// stderr uncoloured, each written at once.
//
// enable_pretty_logging, as Tornado's: logging "none" leaves everything as it
// is; otherwise it sets the level, opens log_file_prefix (if set) with
// rotation by size (Python's RotatingFileHandler: at log_file_max_size bytes
// the file becomes file.1, file.1 becomes file.2 ... up to
// log_file_num_backups; no rotation when either is 0) or by time (Python's
// TimedRotatingFileHandler: when S, M, H, D, midnight or W0-W6 times
// log_rotate_interval; the old file becomes file.2026-11-22 (its period's
// start, with _HH-MM-SS as far as the unit needs), and only the newest
// log_file_num_backups of those are kept), and writes to stderr when
// log_to_stderr is true, or unset and there is no file. Colour (Tornado's
// codes: debug blue, info green, warning yellow, error red, critical
// magenta) only when stderr is a terminal with a TERM other than "dumb".
// Calling it again replaces the previous configuration. A bad level, mode or
// "when" throws std::invalid_argument, a log file that cannot be opened too.
// Without arguments it uses Tornado's defaults (Tornado's reads the global
// options instead; here that is enable_pretty_logging(gale::options)).
//
// Never blocking the loop: once enabled, a log call formats its line and
// appends it to an in-memory queue (a mutex held for a push); a writer thread
// does the writes, in batches. If the output falls 4 MiB behind, new lines
// are dropped and counted, and the writer logs "N log lines were dropped"
// when it catches up. At normal exit (return from main or exit()) the queue
// is drained before the process ends; lines still queued when the process is
// killed or calls _exit/abort are lost (call flush_logs() before those).
// Lines logged after exit began are written directly. fork() waits until the
// queue is empty (so no line is written twice) and the child starts its own
// writer thread on its first line; files stay shared, so give each forked
// process its own log_file_prefix, as Tornado says. Only exit, fork and
// flush_logs wait for the writes, so a stuck output delays those and nothing
// else.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <concepts>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include <fmt/core.h>

#include "detail/logging.hpp"

namespace gale {

using log_level = detail::log_level;
using log_record = detail::log_record;

namespace detail {

// A compile-time-checked format string and the place it was written.
template <class... Args>
struct log_format {
    fmt::format_string<Args...> format;
    const char* file;
    int line;

    template <class S>
        requires std::convertible_to<const S&, std::string_view>
    consteval log_format(const S& text, const char* file_name = __builtin_FILE(), int line_number = __builtin_LINE())
        : format(text), file(file_name), line(line_number) {}
};

// Python's %(module)s: the file's name without directory and extension.
constexpr std::string_view module_of(std::string_view file) {
    if (auto slash = file.rfind('/'); slash != std::string_view::npos) file.remove_prefix(slash + 1);
    if (auto dot = file.find('.'); dot != std::string_view::npos) file = file.substr(0, dot);
    return file;
}

}  // namespace detail

// A named logger; the three Tornado has are below. Copyable and constexpr.
class Logger {
public:
    constexpr explicit Logger(std::string_view name) noexcept : name_(name) {}

    constexpr std::string_view name() const noexcept { return name_; }
    bool is_enabled_for(log_level level) const noexcept { return detail::log_enabled(level); }

    template <class... Args>
    void log(log_level level, detail::log_format<std::type_identity_t<Args>...> format, Args&&... args) const {
        if (!detail::log_enabled(level)) return;
        detail::emit_log(name_, level, detail::module_of(format.file), format.line,
                         fmt::format(format.format, std::forward<Args>(args)...));
    }
    template <class... Args>
    void debug(detail::log_format<std::type_identity_t<Args>...> format, Args&&... args) const {
        log(log_level::debug, format, std::forward<Args>(args)...);
    }
    template <class... Args>
    void info(detail::log_format<std::type_identity_t<Args>...> format, Args&&... args) const {
        log(log_level::info, format, std::forward<Args>(args)...);
    }
    template <class... Args>
    void warning(detail::log_format<std::type_identity_t<Args>...> format, Args&&... args) const {
        log(log_level::warning, format, std::forward<Args>(args)...);
    }
    template <class... Args>
    void error(detail::log_format<std::type_identity_t<Args>...> format, Args&&... args) const {
        log(log_level::error, format, std::forward<Args>(args)...);
    }
    template <class... Args>
    void critical(detail::log_format<std::type_identity_t<Args>...> format, Args&&... args) const {
        log(log_level::critical, format, std::forward<Args>(args)...);
    }
    // Python's logger.exception: an error line, then the exception being
    // handled (call it inside a catch block) on the next line.
    template <class... Args>
    void exception(detail::log_format<std::type_identity_t<Args>...> format, Args&&... args) const {
        if (!detail::log_enabled(log_level::error)) return;
        std::string message = fmt::format(format.format, std::forward<Args>(args)...);
        message += '\n';
        message += detail::describe_current_exception();
        detail::emit_log(name_, log_level::error, detail::module_of(format.file), format.line, message);
    }

private:
    std::string_view name_;
};

inline constexpr Logger access_log{detail::access_log};
inline constexpr Logger app_log{detail::app_log};
inline constexpr Logger gen_log{detail::gen_log};

// The level named as Tornado's --logging takes it (any case), or nullopt.
inline std::optional<log_level> log_level_named(std::string_view name) {
    std::string lower(name);
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == "debug") return log_level::debug;
    if (lower == "info") return log_level::info;
    if (lower == "warning" || lower == "warn") return log_level::warning;
    if (lower == "error") return log_level::error;
    if (lower == "critical" || lower == "fatal") return log_level::critical;
    return std::nullopt;
}

inline void set_log_level(log_level level) noexcept {
    detail::logging_config().threshold.store(static_cast<int>(level), std::memory_order_relaxed);
}

// Whether stderr is a terminal that shows colours (Tornado asks curses).
inline bool stderr_supports_color() {
    const char* term = std::getenv("TERM");
    return ::isatty(STDERR_FILENO) && term && *term && std::string_view(term) != "dumb";
}

// Tornado's LogFormatter: "[I 261122 18:00:27 web:2293] message", the
// bracket coloured by level when `color` is asked for and stderr shows colours.
class LogFormatter {
public:
    explicit LogFormatter(bool color = true) : color_(color && stderr_supports_color()) {}
    bool color() const noexcept { return color_; }

    std::string format(const log_record& record, std::time_t when = std::time(nullptr)) const {
        std::string line;
        detail::append_log_line(line, record, when, color_);
        return line;
    }

private:
    bool color_;
};

// What Tornado's logging options say (see options.hpp's define_logging_options).
struct log_settings {
    std::string logging = "info";              // debug|info|warning|error|none
    std::optional<bool> log_to_stderr = {};    // unset: stderr when there is no file
    std::string log_file_prefix = {};          // the log file; "" for none
    std::string log_rotate_mode = "size";      // size|time
    std::int64_t log_file_max_size = 100 * 1000 * 1000;
    int log_file_num_backups = 10;
    std::string log_rotate_when = "midnight";  // S, M, H, D, midnight, W0-W6
    int log_rotate_interval = 1;
};

namespace detail {

// Writes all of `data` to `fd`, waiting if it is non-blocking; false on an error.
inline bool log_write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n > 0) {
            data.remove_prefix(static_cast<std::size_t>(n));
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            pollfd p{fd, POLLOUT, 0};
            ::poll(&p, 1, -1);
        } else {
            return false;
        }
    }
    return true;
}

struct log_rotation {
    enum mode_t { size, time } mode = size;
    std::int64_t max_bytes = 0;  // size: rotate before a line would reach this
    int backups = 0;
    std::string when = "midnight";  // time: S, M, H, D, midnight, W0-W6 (any case)
    int interval = 1;
};

// A log file that rotates as Python's RotatingFileHandler (mode size) or
// TimedRotatingFileHandler (mode time) does. Lines are buffered until flush().
class log_file {
public:
    log_file(std::string path, log_rotation rotation) : path_(std::move(path)), rotation_(std::move(rotation)) {
        if (rotation_.mode == log_rotation::time) set_up_time_rotation();
        if (!open()) throw std::system_error(errno, std::generic_category(), "cannot open log file " + path_);
        if (rotation_.mode == log_rotation::time) {
            struct stat st{};
            std::time_t start = ::stat(path_.c_str(), &st) == 0 && st.st_size > 0 ? st.st_mtime : std::time(nullptr);
            rollover_at_ = next_rollover(start);
        }
    }
    ~log_file() {
        flush();
        if (fd_ >= 0) ::close(fd_);
    }
    log_file(const log_file&) = delete;
    log_file& operator=(const log_file&) = delete;

    // Adds a line (with its newline), rotating first if it is time to.
    void write(std::string_view line, std::time_t now) {
        if (due(line.size(), now)) rollover(now);
        buffer_ += line;
        size_ += static_cast<std::int64_t>(line.size());
    }

    void flush() {
        if (fd_ >= 0) log_write_all(fd_, buffer_);
        buffer_.clear();
    }

    const std::string& path() const noexcept { return path_; }
    std::time_t rollover_at() const noexcept { return rollover_at_; }

private:
    // False if the file cannot be opened; after a rollover that is not
    // thrown (it runs on the writer thread): lines are lost until the next one.
    bool open() {
        fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        struct stat st{};
        size_ = fd_ >= 0 && ::fstat(fd_, &st) == 0 ? st.st_size : 0;
        return fd_ >= 0;
    }

    bool due(std::size_t bytes, std::time_t now) const {
        if (rotation_.mode == log_rotation::time) return now >= rollover_at_;
        return rotation_.max_bytes > 0 && rotation_.backups > 0 && size_ > 0 &&
               size_ + static_cast<std::int64_t>(bytes) >= rotation_.max_bytes;
    }

    void rollover(std::time_t now) {
        flush();
        if (fd_ >= 0) ::close(fd_);
        if (rotation_.mode == log_rotation::size) shift_numbered_backups();
        else rename_to_dated_backup(now);
        open();
    }

    // file.(n-1) -> file.n ... file.1 -> file.2, file -> file.1.
    void shift_numbered_backups() {
        namespace fs = std::filesystem;
        std::error_code ec;
        for (int i = rotation_.backups - 1; i >= 1; --i) {
            fs::path from = fmt::format("{}.{}", path_, i), to = fmt::format("{}.{}", path_, i + 1);
            if (fs::exists(from, ec)) fs::rename(from, to, ec);
        }
        fs::rename(path_, path_ + ".1", ec);
    }

    void rename_to_dated_backup(std::time_t now) {
        namespace fs = std::filesystem;
        std::error_code ec;
        std::time_t period_start = rollover_at_ - interval_seconds_;
        std::tm local{};
        localtime_r(&period_start, &local);
        char suffix[64];
        std::strftime(suffix, sizeof suffix, suffix_format_, &local);
        std::string backup = path_ + "." + suffix;
        fs::remove(backup, ec);
        fs::rename(path_, backup, ec);
        if (rotation_.backups > 0) remove_old_dated_backups();
        std::time_t next = next_rollover(now);
        while (next <= now) next += interval_seconds_;
        rollover_at_ = next;
    }

    // Whether `suffix` looks like what suffix_format_ makes (digits where it has fields).
    bool dated_suffix(std::string_view suffix) const {
        std::size_t at = 0;
        for (const char* f = suffix_format_; *f; ++f) {
            std::size_t digits = 0;
            if (*f == '%') digits = *++f == 'Y' ? 4 : 2;
            if (digits == 0) {
                if (at >= suffix.size() || suffix[at] != *f) return false;
                ++at;
                continue;
            }
            for (std::size_t k = 0; k < digits; ++k, ++at)
                if (at >= suffix.size() || !std::isdigit(static_cast<unsigned char>(suffix[at]))) return false;
        }
        return at == suffix.size();
    }

    void remove_old_dated_backups() {
        namespace fs = std::filesystem;
        std::error_code ec;
        fs::path base(path_);
        fs::path dir = base.has_parent_path() ? base.parent_path() : fs::path(".");
        std::string prefix = base.filename().string() + ".";
        std::vector<fs::path> backups;
        for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
            std::string name = it->path().filename().string();
            if (name.starts_with(prefix) && dated_suffix(std::string_view(name).substr(prefix.size())))
                backups.push_back(it->path());
        }
        std::sort(backups.begin(), backups.end());
        for (std::size_t i = 0; i + static_cast<std::size_t>(rotation_.backups) < backups.size(); ++i)
            fs::remove(backups[i], ec);
    }

    void set_up_time_rotation() {
        std::string when = rotation_.when;
        for (char& c : when) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        long unit = 0;
        if (when == "S") {
            unit = 1;
            suffix_format_ = "%Y-%m-%d_%H-%M-%S";
        } else if (when == "M") {
            unit = 60;
            suffix_format_ = "%Y-%m-%d_%H-%M";
        } else if (when == "H") {
            unit = 3600;
            suffix_format_ = "%Y-%m-%d_%H";
        } else if (when == "D" || when == "MIDNIGHT") {
            unit = 86400;
            midnight_ = when == "MIDNIGHT";
        } else if (when.size() == 2 && when[0] == 'W' && when[1] >= '0' && when[1] <= '6') {
            unit = 7 * 86400;
            midnight_ = true;
            weekday_ = when[1] - '0';
        } else {
            throw std::invalid_argument(fmt::format("Invalid rollover interval specified: {}", rotation_.when));
        }
        if (rotation_.interval < 1) throw std::invalid_argument("log_rotate_interval must be at least 1");
        interval_seconds_ = unit * rotation_.interval;
    }

    // Python's computeRollover: `from` plus the interval, or the next
    // midnight (of the given weekday, Monday being 0).
    std::time_t next_rollover(std::time_t from) const {
        if (!midnight_) return from + interval_seconds_;
        std::tm local{};
        localtime_r(&from, &local);
        std::time_t next = from + (86400 - (local.tm_hour * 3600 + local.tm_min * 60 + local.tm_sec));
        if (weekday_ >= 0) {
            int day = (local.tm_wday + 6) % 7;
            if (day != weekday_) next += 86400L * (day < weekday_ ? weekday_ - day : 6 - day + weekday_ + 1);
        }
        return next;
    }

    std::string path_;
    log_rotation rotation_;
    int fd_ = -1;
    std::int64_t size_ = 0;
    std::string buffer_;
    // time rotation
    const char* suffix_format_ = "%Y-%m-%d";
    long interval_seconds_ = 0;
    bool midnight_ = false;
    int weekday_ = -1;
    std::time_t rollover_at_ = 0;
};

// The queue between log calls and the writer thread (see the header comment).
class log_writer {
public:
    static constexpr std::size_t max_pending_bytes = 4 << 20;

    // Made on first use and never destroyed (a log line may come from any
    // static destructor); drained by an atexit handler.
    static log_writer& instance() {
        static log_writer* writer = [] {
            auto* made = new log_writer;
            made_flag().store(true);
            std::atexit([] { instance().shut_down(); });
            ::pthread_atfork([] { instance().before_fork(); }, [] { instance().after_fork_in_parent(); },
                             [] { instance().after_fork_in_child(); });
            return made;
        }();
        return *writer;
    }
    static bool made() noexcept { return made_flag().load(); }

    // Sets the outputs, once every line queued so far is written.
    void configure(bool to_stderr, bool color, std::unique_ptr<log_file> file) {
        std::unique_lock lock(q_->mutex);
        q_->idle.wait(lock, [&] { return q_->stopped || all_written(*q_); });
        if (file_) file_->flush();
        file_ = std::move(file);
        to_stderr_ = to_stderr;
        stderr_on_.store(to_stderr);
        color_on_.store(to_stderr && color);
        file_on_.store(file_ != nullptr);
    }

    void push(const log_record& record) {
        bool to_stderr = stderr_on_.load(), to_file = file_on_.load();
        if (!to_stderr && !to_file) return;
        log_entry entry;
        entry.when = std::time(nullptr);
        append_log_line(entry.text, record, entry.when);
        entry.text += '\n';
        if (to_stderr && color_on_.load()) {
            append_log_line(entry.colored, record, entry.when, true);
            entry.colored += '\n';
        }
        std::size_t bytes = entry.text.size() + entry.colored.size();
        std::lock_guard lock(q_->mutex);
        if (q_->stopped) {
            write_entry(entry);
            flush_outputs();
            return;
        }
        if (q_->pending_bytes + bytes > max_pending_bytes) {
            ++q_->dropped;
            start_writer_if_needed();
            return;
        }
        q_->pending_bytes += bytes;
        q_->pending.push_back(std::move(entry));
        start_writer_if_needed();
    }

    // Returns once every line queued so far is written.
    void flush() {
        std::unique_lock lock(q_->mutex);
        q_->idle.wait(lock, [&] { return q_->stopped || all_written(*q_); });
        if (q_->stopped) flush_outputs();
    }

private:
    struct log_entry {
        std::string text;     // plain, for the file (and stderr without colour)
        std::string colored;  // for stderr when it shows colours, else empty
        std::time_t when = 0;
    };

    struct queue {
        std::mutex mutex;
        std::condition_variable wake;  // the writer: lines to write, or stop
        std::condition_variable idle;  // flushers: all written
        std::vector<log_entry> pending;
        std::size_t pending_bytes = 0;
        std::size_t dropped = 0;
        bool writing = false;
        bool stopping = false;
        bool stopped = false;            // no writer any more: log calls write themselves
        std::thread* thread = nullptr;   // started on the first line
        queue* abandoned = nullptr;      // in a forked child: the parent's queue, never used again
    };

    static bool all_written(const queue& q) { return q.pending.empty() && q.dropped == 0 && !q.writing; }

    // With q_->mutex held: wakes the writer thread, started on the first line.
    void start_writer_if_needed() {
        if (!q_->thread) {
            queue* q = q_;
            q_->thread = new std::thread([this, q] { run(*q); });
        }
        q_->wake.notify_one();
    }

    static std::atomic<bool>& made_flag() {
        static std::atomic<bool> flag{false};
        return flag;
    }

    void run(queue& q) {
        std::unique_lock lock(q.mutex);
        for (;;) {
            q.wake.wait(lock, [&] { return !q.pending.empty() || q.dropped || q.stopping; });
            if (q.pending.empty() && !q.dropped) break;
            std::vector<log_entry> batch;
            batch.swap(q.pending);
            q.pending_bytes = 0;
            std::size_t dropped = std::exchange(q.dropped, 0);
            q.writing = true;
            lock.unlock();
            write_batch(batch, dropped);
            lock.lock();
            q.writing = false;
            q.idle.notify_all();
        }
        q.stopped = true;
        q.idle.notify_all();
    }

    void write_batch(const std::vector<log_entry>& batch, std::size_t dropped) {
        std::string to_stderr;
        for (const log_entry& e : batch) {
            if (to_stderr_) to_stderr += e.colored.empty() ? e.text : e.colored;
            if (file_) file_->write(e.text, e.when);
        }
        if (dropped) {
            std::string message = fmt::format("{} log lines were dropped: the log output could not keep up", dropped);
            log_entry e;
            e.when = std::time(nullptr);
            append_log_line(e.text, log_record{gen_log, log_level::warning, "log", __LINE__, message}, e.when);
            e.text += '\n';
            if (to_stderr_) to_stderr += e.text;
            if (file_) file_->write(e.text, e.when);
        }
        if (!to_stderr.empty()) log_write_all(STDERR_FILENO, to_stderr);
        if (file_) file_->flush();
    }

    void write_entry(const log_entry& e) {
        if (to_stderr_) log_write_all(STDERR_FILENO, e.colored.empty() ? e.text : e.colored);
        if (file_) file_->write(e.text, e.when);
    }

    void flush_outputs() {
        if (file_) file_->flush();
    }

    void shut_down() {
        std::thread* thread = nullptr;
        {
            std::lock_guard lock(q_->mutex);
            q_->stopping = true;
            thread = q_->thread;
            if (!thread) q_->stopped = true;
            q_->wake.notify_one();
        }
        if (thread && thread->joinable()) thread->join();
        std::lock_guard lock(q_->mutex);
        flush_outputs();
    }

    // The queue is emptied and its mutex held across fork(), so neither
    // process writes a line twice and the child's copy of the mutex is free.
    void before_fork() {
        std::unique_lock lock(q_->mutex);
        q_->idle.wait(lock, [&] { return q_->stopped || all_written(*q_); });
        lock.release();
    }
    void after_fork_in_parent() { q_->mutex.unlock(); }
    // The child has no writer thread: it gets a fresh queue and starts one on its first line.
    void after_fork_in_child() {
        auto* fresh = new queue;
        fresh->abandoned = q_;
        fresh->stopped = q_->stopped;
        q_ = fresh;
    }

    queue* q_ = new queue;  // never deleted, see instance()
    // The outputs: used by the writer thread, and by others only while it is idle.
    bool to_stderr_ = true;
    std::unique_ptr<log_file> file_;
    std::atomic<bool> stderr_on_{true}, color_on_{false}, file_on_{false};
};

inline void pretty_log_handler(const log_record& record) { log_writer::instance().push(record); }

}  // namespace detail

// Tornado's enable_pretty_logging (see the header comment).
inline void enable_pretty_logging(const log_settings& settings = {}) {
    std::string level_name = settings.logging;
    for (char& c : level_name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (level_name.empty() || level_name == "none") return;
    auto level = log_level_named(level_name);
    if (!level)
        throw std::invalid_argument(fmt::format(
            "Unknown log level '{}' (debug, info, warning, error, critical or none)", settings.logging));
    std::unique_ptr<detail::log_file> file;
    if (!settings.log_file_prefix.empty()) {
        detail::log_rotation rotation;
        if (settings.log_rotate_mode == "size") {
            rotation.mode = detail::log_rotation::size;
            rotation.max_bytes = settings.log_file_max_size;
        } else if (settings.log_rotate_mode == "time") {
            rotation.mode = detail::log_rotation::time;
            rotation.when = settings.log_rotate_when;
            rotation.interval = settings.log_rotate_interval;
        } else {
            throw std::invalid_argument(fmt::format(
                "The value of log_rotate_mode option should be \"size\" or \"time\", not \"{}\".",
                settings.log_rotate_mode));
        }
        rotation.backups = settings.log_file_num_backups;
        try {
            file = std::make_unique<detail::log_file>(settings.log_file_prefix, std::move(rotation));
        } catch (const std::system_error& e) {
            throw std::invalid_argument(e.what());
        }
    }
    bool to_stderr = settings.log_to_stderr.value_or(file == nullptr);
    detail::log_writer::instance().configure(to_stderr, stderr_supports_color(), std::move(file));
    set_log_level(*level);
    detail::logging_config().handler.store(&detail::pretty_log_handler);
}

// Returns once every line logged so far is written (a no-op before
// enable_pretty_logging: those lines are written at once).
inline void flush_logs() {
    if (detail::log_writer::made()) detail::log_writer::instance().flush();
}

}  // namespace gale
