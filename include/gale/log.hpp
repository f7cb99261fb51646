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

#include <atomic>
#include <concepts>
#include <condition_variable>
#include <cstdint>
#include <ctime>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include <fmt/core.h>

#include "detail/config.hpp"
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
GALE_DECL std::optional<log_level> log_level_named(std::string_view name);

inline void set_log_level(log_level level) noexcept {
    detail::logging_config().threshold.store(static_cast<int>(level), std::memory_order_relaxed);
}

// Whether stderr is a terminal that shows colours (Tornado asks curses).
GALE_DECL bool stderr_supports_color();

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
    log_file(std::string path, log_rotation rotation);
    ~log_file();
    log_file(const log_file&) = delete;
    log_file& operator=(const log_file&) = delete;

    // Adds a line (with its newline), rotating first if it is time to.
    void write(std::string_view line, std::time_t now);

    void flush();

    const std::string& path() const noexcept { return path_; }
    std::time_t rollover_at() const noexcept { return rollover_at_; }

private:
    // False if the file cannot be opened; after a rollover that is not
    // thrown (it runs on the writer thread): lines are lost until the next one.
    bool open();

    bool due(std::size_t bytes, std::time_t now) const;

    void rollover(std::time_t now);

    // file.(n-1) -> file.n ... file.1 -> file.2, file -> file.1.
    void shift_numbered_backups();

    void rename_to_dated_backup(std::time_t now);

    // Whether `suffix` looks like what suffix_format_ makes (digits where it has fields).
    bool dated_suffix(std::string_view suffix) const;

    void remove_old_dated_backups();

    void set_up_time_rotation();

    // Python's computeRollover: `from` plus the interval, or the next
    // midnight (of the given weekday, Monday being 0).
    std::time_t next_rollover(std::time_t from) const;

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
    static log_writer& instance();
    static bool made() noexcept { return made_flag().load(); }

    // Sets the outputs, once every line queued so far is written.
    void configure(bool to_stderr, bool color, std::unique_ptr<log_file> file);

    void push(const log_record& record);

    // Returns once every line queued so far is written.
    void flush();

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
    void start_writer_if_needed();

    static std::atomic<bool>& made_flag();

    void run(queue& q);

    void write_batch(const std::vector<log_entry>& batch, std::size_t dropped);

    void write_entry(const log_entry& e);

    void flush_outputs() {
        if (file_) file_->flush();
    }

    void shut_down();

    // The queue is emptied and its mutex held across fork(), so neither
    // process writes a line twice and the child's copy of the mutex is free.
    void before_fork();
    void after_fork_in_parent() { q_->mutex.unlock(); }
    // The child has no writer thread: it gets a fresh queue and starts one on its first line.
    void after_fork_in_child();

    queue* q_ = new queue;  // never deleted, see instance()
    // The outputs: used by the writer thread, and by others only while it is idle.
    bool to_stderr_ = true;
    std::unique_ptr<log_file> file_;
    std::atomic<bool> stderr_on_{true}, color_on_{false}, file_on_{false};
};

inline void pretty_log_handler(const log_record& record) { log_writer::instance().push(record); }

}  // namespace detail

// Tornado's enable_pretty_logging (see the header comment).
GALE_DECL void enable_pretty_logging(const log_settings& settings = {});

// Returns once every line logged so far is written (a no-op before
// enable_pretty_logging: those lines are written at once).
inline void flush_logs() {
    if (detail::log_writer::made()) detail::log_writer::instance().flush();
}

}  // namespace gale

#if GALE_HEADER_ONLY
#include "impl/log.ipp"
#endif
