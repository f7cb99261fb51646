// Definitions for detail/logging.hpp: compiled in every translation unit
// that includes it in header-only mode, once (by <gale/src.hpp>) in
// separate compilation mode; see detail/config.hpp. The line formatter and
// the stderr handler live here; the level check and the hand-over to the
// handler stay inline in the header (every log call runs them).
#pragma once

#include "../detail/logging.hpp"

#include <charconv>
#include <cstdio>
#include <exception>
#include <mutex>

namespace gale::detail {

GALE_DECL char level_letter(log_level level) {
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
GALE_DECL std::string_view level_color(log_level level) {
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
GALE_DECL std::string_view log_timestamp(std::time_t when) {
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

GALE_DECL void append_log_line(std::string& out, const log_record& r, std::time_t when, bool color) {
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
GALE_DECL std::string format_log_record(const log_record& r) {
    std::string line;
    append_log_line(line, r, std::time(nullptr));
    return line;
}

GALE_DECL void stderr_log_handler(const log_record& r) {
    static std::mutex write_mutex;
    std::string text = format_log_record(r);
    text.push_back('\n');
    std::lock_guard lock(write_mutex);
    std::fwrite(text.data(), 1, text.size(), stderr);
}

GALE_DECL std::string describe_current_exception() {
    try {
        throw;
    } catch (const std::exception& e) {
        return e.what();
    } catch (...) {
        return "unknown exception";
    }
}

}  // namespace gale::detail
