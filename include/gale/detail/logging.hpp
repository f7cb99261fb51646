// Internal logging used by every layer. log.hpp (layer 5) configures it; the
// runtime only needs a place to report what it must never swallow.
//
// Every layer logs with detail::log(logger, level, module, line, format, args...).
// The record goes to logging_config().handler (a plain function pointer, so
// tests may swap it); records below logging_config().threshold are skipped
// before formatting. Until log.hpp's enable_pretty_logging installs its
// handler, stderr_log_handler writes each line to stderr at once (one
// fwrite under a mutex).
#pragma once

#include <atomic>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <string>
#include <string_view>

#include <fmt/core.h>

namespace gale::detail {

// Python's logging levels, so --logging=warning means what it means in Tornado.
enum class log_level : int { debug = 10, info = 20, warning = 30, error = 40, critical = 50 };

struct log_record {
    std::string_view logger;  // "tornado.access", "tornado.application", "tornado.general"
    log_level level;
    std::string_view module;  // short source name shown as module:line
    int line;
    std::string_view message;
};

using log_handler = void (*)(const log_record&);

inline char level_letter(log_level level) {
    switch (level) {
        case log_level::debug: return 'D';
        case log_level::info: return 'I';
        case log_level::warning: return 'W';
        case log_level::error: return 'E';
        case log_level::critical: return 'C';
    }
    return '?';
}

// Tornado's LogFormatter colours by level (curses colour numbers: blue, green,
// yellow, red, magenta), as ANSI escapes.
inline std::string_view level_color(log_level level) {
    switch (level) {
        case log_level::debug: return "\033[34m";
        case log_level::info: return "\033[32m";
        case log_level::warning: return "\033[33m";
        case log_level::error: return "\033[31m";
        case log_level::critical: return "\033[35m";
    }
    return "";
}
inline constexpr std::string_view color_reset = "\033[0m";

// "yymmdd HH:MM:SS" in local time; the last one made is kept per thread.
inline std::string_view log_timestamp(std::time_t when) {
    thread_local std::time_t cached_second = -1;
    thread_local char stamp[32];
    if (when != cached_second) {
        std::tm local{};
        localtime_r(&when, &local);
        std::strftime(stamp, sizeof stamp, "%y%m%d %H:%M:%S", &local);
        cached_second = when;
    }
    return stamp;
}

// Appends Tornado's LogFormatter line for `r` at time `when`, without the
// final newline: "[I 261121 18:00:27 web:2293] message". The bracket is
// coloured when `color`; lines after the first in the message are indented
// by four spaces, as Tornado does.
inline void append_log_line(std::string& out, const log_record& r, std::time_t when, bool color = false) {
    if (color) out += level_color(r.level);
    char line_number[16];
    auto [end, ec] = std::to_chars(line_number, line_number + sizeof line_number, r.line);
    (void)ec;
    out.append(1, '[').append(1, level_letter(r.level)).append(1, ' ').append(log_timestamp(when));
    out.append(1, ' ').append(r.module).append(1, ':').append(line_number, end).append(1, ']');
    if (color) out += color_reset;
    out += ' ';
    std::string_view message = r.message;
    for (std::size_t newline; (newline = message.find('\n')) != std::string_view::npos;) {
        out.append(message.substr(0, newline + 1)).append("    ");
        message.remove_prefix(newline + 1);
    }
    out += message;
}

// Tornado's LogFormatter without colours: "[I 261121 18:00:27 web:2293] message".
inline std::string format_log_record(const log_record& r) {
    std::string line;
    append_log_line(line, r, std::time(nullptr));
    return line;
}

inline void stderr_log_handler(const log_record& r) {
    static std::mutex write_mutex;
    std::string text = format_log_record(r);
    text.push_back('\n');
    std::lock_guard lock(write_mutex);
    std::fwrite(text.data(), 1, text.size(), stderr);
}

struct log_config {
    std::atomic<log_handler> handler{&stderr_log_handler};
    std::atomic<int> threshold{static_cast<int>(log_level::info)};
};

inline log_config& logging_config() {
    static log_config config;
    return config;
}

inline bool log_enabled(log_level level) {
    return static_cast<int>(level) >= logging_config().threshold.load(std::memory_order_relaxed);
}

// Hands a finished message to the configured handler (no level check).
inline void emit_log(std::string_view logger, log_level level, std::string_view module, int line,
                     std::string_view message) {
    logging_config().handler.load(std::memory_order_relaxed)(log_record{logger, level, module, line, message});
}

template <class... Args>
void log(std::string_view logger, log_level level, std::string_view module, int line,
         fmt::format_string<Args...> format, Args&&... args) {
    if (!log_enabled(level)) return;
    emit_log(logger, level, module, line, fmt::format(format, std::forward<Args>(args)...));
}

// The three loggers Tornado names.
inline constexpr std::string_view access_log = "tornado.access";
inline constexpr std::string_view app_log = "tornado.application";
inline constexpr std::string_view gen_log = "tornado.general";

// Describes the exception currently being handled, for log lines.
inline std::string describe_current_exception() {
    try {
        throw;
    } catch (const std::exception& e) {
        return e.what();
    } catch (...) {
        return "unknown exception";
    }
}

}  // namespace gale::detail
