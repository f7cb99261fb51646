// Definitions for log.hpp: compiled in every translation unit that includes
// it in header-only mode, once (by <gale/src.hpp>) in separate compilation
// mode; see detail/config.hpp. The rotating log file, the writer thread's
// queue and enable_pretty_logging live here; the Logger templates stay in
// the header.
#pragma once

#include "../log.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <system_error>

namespace gale {

GALE_DECL std::optional<log_level> log_level_named(std::string_view name) {
    std::string lower(name);
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == "debug") return log_level::debug;
    if (lower == "info") return log_level::info;
    if (lower == "warning" || lower == "warn") return log_level::warning;
    if (lower == "error") return log_level::error;
    if (lower == "critical" || lower == "fatal") return log_level::critical;
    return std::nullopt;
}

GALE_DECL bool stderr_supports_color() {
    const char* term = std::getenv("TERM");
    return ::isatty(STDERR_FILENO) && term && *term && std::string_view(term) != "dumb";
}

namespace detail {

// Writes all of `data` to `fd`, waiting if it is non-blocking; false on an error.
GALE_DECL bool log_write_all(int fd, std::string_view data) {
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

GALE_DECL log_file::log_file(std::string path, log_rotation rotation)
    : path_(std::move(path)), rotation_(std::move(rotation)) {
    if (rotation_.mode == log_rotation::time) set_up_time_rotation();
    if (!open()) throw std::system_error(errno, std::generic_category(), "cannot open log file " + path_);
    if (rotation_.mode == log_rotation::time) {
        struct stat st{};
        std::time_t start = ::stat(path_.c_str(), &st) == 0 && st.st_size > 0 ? st.st_mtime : std::time(nullptr);
        rollover_at_ = next_rollover(start);
    }
}

GALE_DECL log_file::~log_file() {
    flush();
    if (fd_ >= 0) ::close(fd_);
}

GALE_DECL void log_file::write(std::string_view line, std::time_t now) {
    if (due(line.size(), now)) rollover(now);
    buffer_ += line;
    size_ += static_cast<std::int64_t>(line.size());
}

GALE_DECL void log_file::flush() {
    if (fd_ >= 0) log_write_all(fd_, buffer_);
    buffer_.clear();
}

GALE_DECL bool log_file::open() {
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    struct stat st{};
    size_ = fd_ >= 0 && ::fstat(fd_, &st) == 0 ? st.st_size : 0;
    return fd_ >= 0;
}

GALE_DECL bool log_file::due(std::size_t bytes, std::time_t now) const {
    if (rotation_.mode == log_rotation::time) return now >= rollover_at_;
    return rotation_.max_bytes > 0 && rotation_.backups > 0 && size_ > 0 &&
           size_ + static_cast<std::int64_t>(bytes) >= rotation_.max_bytes;
}

GALE_DECL void log_file::rollover(std::time_t now) {
    flush();
    if (fd_ >= 0) ::close(fd_);
    if (rotation_.mode == log_rotation::size) shift_numbered_backups();
    else rename_to_dated_backup(now);
    open();
}

GALE_DECL void log_file::shift_numbered_backups() {
    namespace fs = std::filesystem;
    std::error_code ec;
    for (int i = rotation_.backups - 1; i >= 1; --i) {
        fs::path from = fmt::format("{}.{}", path_, i), to = fmt::format("{}.{}", path_, i + 1);
        if (fs::exists(from, ec)) fs::rename(from, to, ec);
    }
    fs::rename(path_, path_ + ".1", ec);
}

GALE_DECL void log_file::rename_to_dated_backup(std::time_t now) {
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

GALE_DECL bool log_file::dated_suffix(std::string_view suffix) const {
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

GALE_DECL void log_file::remove_old_dated_backups() {
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

GALE_DECL void log_file::set_up_time_rotation() {
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

GALE_DECL std::time_t log_file::next_rollover(std::time_t from) const {
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

GALE_DECL log_writer& log_writer::instance() {
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

GALE_DECL void log_writer::configure(bool to_stderr, bool color, std::unique_ptr<log_file> file) {
    std::unique_lock lock(q_->mutex);
    q_->idle.wait(lock, [&] { return q_->stopped || all_written(*q_); });
    if (file_) file_->flush();
    file_ = std::move(file);
    to_stderr_ = to_stderr;
    stderr_on_.store(to_stderr);
    color_on_.store(to_stderr && color);
    file_on_.store(file_ != nullptr);
}

GALE_DECL void log_writer::push(const log_record& record) {
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

GALE_DECL void log_writer::flush() {
    std::unique_lock lock(q_->mutex);
    q_->idle.wait(lock, [&] { return q_->stopped || all_written(*q_); });
    if (q_->stopped) flush_outputs();
}

GALE_DECL void log_writer::start_writer_if_needed() {
    if (!q_->thread) {
        queue* q = q_;
        q_->thread = new std::thread([this, q] { run(*q); });
    }
    q_->wake.notify_one();
}

GALE_DECL std::atomic<bool>& log_writer::made_flag() {
    static std::atomic<bool> flag{false};
    return flag;
}

GALE_DECL void log_writer::run(queue& q) {
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

GALE_DECL void log_writer::write_batch(const std::vector<log_entry>& batch, std::size_t dropped) {
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

GALE_DECL void log_writer::write_entry(const log_entry& e) {
    if (to_stderr_) log_write_all(STDERR_FILENO, e.colored.empty() ? e.text : e.colored);
    if (file_) file_->write(e.text, e.when);
}

GALE_DECL void log_writer::shut_down() {
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

GALE_DECL void log_writer::before_fork() {
    std::unique_lock lock(q_->mutex);
    q_->idle.wait(lock, [&] { return q_->stopped || all_written(*q_); });
    lock.release();
}

GALE_DECL void log_writer::after_fork_in_child() {
    auto* fresh = new queue;
    fresh->abandoned = q_;
    fresh->stopped = q_->stopped;
    q_ = fresh;
}

}  // namespace detail

GALE_DECL void enable_pretty_logging(const log_settings& settings) {
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

}  // namespace gale
