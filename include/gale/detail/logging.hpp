// Internal logging used by every layer. log.hpp (layer 5) configures it; the
// runtime only needs a place to report what it must never swallow.
#pragma once

#include <atomic>
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

// Tornado's LogFormatter without colours: "[I 261121 18:00:27 web:2293] message".
inline std::string format_log_record(const log_record& r) {
    std::time_t now = std::time(nullptr);
    std::tm local{};
    localtime_r(&now, &local);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%y%m%d %H:%M:%S", &local);
    return fmt::format("[{} {} {}:{}] {}", level_letter(r.level), stamp, r.module, r.line,
                       r.message);
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

template <class... Args>
void log(std::string_view logger, log_level level, std::string_view module, int line,
         fmt::format_string<Args...> format, Args&&... args) {
    if (!log_enabled(level)) return;
    std::string message = fmt::format(format, std::forward<Args>(args)...);
    logging_config().handler.load(std::memory_order_relaxed)(
        log_record{logger, level, module, line, message});
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
