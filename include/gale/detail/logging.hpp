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
#include <ctime>
#include <string>
#include <string_view>

#include <fmt/core.h>

#include "config.hpp"

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

// Appends Tornado's LogFormatter line for `r` at time `when`, without the
// final newline: "[I 261121 18:00:27 web:2293] message". The bracket is
// coloured when `color`; lines after the first in the message are indented
// by four spaces, as Tornado does.
GALE_DECL void append_log_line(std::string& out, const log_record& r, std::time_t when, bool color = false);

GALE_DECL void stderr_log_handler(const log_record& r);

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
GALE_DECL std::string describe_current_exception();

}  // namespace gale::detail

#if GALE_HEADER_ONLY
#include "../impl/logging.ipp"
#endif
