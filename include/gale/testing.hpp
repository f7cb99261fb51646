// Tornado's tornado.testing for C++: test an Application the way Tornado's
// AsyncHTTPTestCase does, from doctest (or any test framework).
//
//   #include <doctest/doctest.h>          // first, to use the GALE_GEN_TEST macros
//   #include <gale/testing.hpp>
//
//   struct HelloTest : gale::testing::AsyncHTTPTestCase {
//       std::unique_ptr<gale::Application> get_app() override { return make_app(); }
//   };
//
//   TEST_CASE_FIXTURE(HelloTest, "the home page") {
//       gale::HTTPResponse r = fetch("/");              // blocking; 404 does not throw
//       CHECK(r.code == 200);
//       CHECK(r.body == "Hello, world");
//       CHECK(fetch("/nope").code == 404);
//   }
//
//   GALE_GEN_TEST(HelloTest, "two pages at once") {     // the body is a coroutine
//       auto [a, b] = co_await gale::gather(http_client().fetch(get_url("/")),
//                                           http_client().fetch(get_url("/story/1")));
//       CHECK(a.body == "Hello, world");
//   }
//
//   TEST_CASE_FIXTURE(HelloTest, "errors are logged") {
//       gale::testing::ExpectLog expected("tornado.application", "Uncaught exception GET /boom");
//       CHECK(fetch("/boom").code == 500);
//   }   // throws "did not get expected log message" here if nothing matched
//
// Synopsis (namespace gale::testing):
//   IOLoop::duration get_async_test_timeout()   // $ASYNC_TEST_TIMEOUT seconds, else 5 s
//   class AsyncTestTimeoutError : std::runtime_error   // "async test timed out after 5 s ..."
//   class AsyncTestCase                         // a fresh IOLoop, current while the fixture lives
//       io_loop(), run_sync(fn, timeout = get_async_test_timeout()),
//       gen_test(fn, timeout = get_async_test_timeout())
//   class AsyncHTTPTestCase : AsyncTestCase     // the Application on 127.0.0.1, an ephemeral port
//       AsyncHTTPTestCase() (then override get_app()) / AsyncHTTPTestCase(std::unique_ptr<Application>)
//       virtual get_app(), get_httpserver_options(), get_http_client()
//       fetch(path_or_url, HTTPRequest options = {}, raise_error = false) -> HTTPResponse
//       get_url(path), get_http_port(), get_protocol(), app(), http_client()
//   class ExpectLog(logger, pattern, required = true, level = nullopt)
//       matched(); pattern: a Python regex (re.match: anchored at the start) or containing(text)
//   GALE_GEN_TEST(fixture, name) { ...co_await... }            // doctest test case, coroutine body
//   GALE_GEN_TEST_TIMEOUT(fixture, name, timeout) { ... }
//
// Behaviour is Tornado 6.2's:
// - AsyncTestCase makes a new IOLoop for each fixture object (doctest makes
//   one per test case and subcase run) and makes it the thread's current
//   loop until the fixture is destroyed, when the previous one is restored.
// - AsyncHTTPTestCase starts the Application on 127.0.0.1 with port 0 (a
//   free port chosen by the kernel) the first time the server is needed
//   (fetch, get_url, get_http_port, app, http_client): get_app() is virtual,
//   and a constructor cannot call an override. When the fixture ends it stops
//   the server, closes every connection (within the async test timeout) and
//   closes the client, as Tornado's tearDown.
// - fetch(path) runs the request on the loop until it completes and returns
//   the response whatever its code (raise_error = false: tests look at 404s
//   and 500s); errors that are not a response (connection refused, timeouts)
//   are thrown. A path that starts with http:// or https:// is fetched as
//   is. `options` gives everything else (method, body, headers,
//   follow_redirects...): fetch("/login", HTTPRequest().with_method("POST")
//   .with_body("name=ann")); its url is replaced.
// - gen_test (and GALE_GEN_TEST) runs a coroutine on the loop and fails
//   with AsyncTestTimeoutError once the timeout has passed (default
//   ASYNC_TEST_TIMEOUT, else 5 s): the body is cancelled where it waits (it
//   sees gale::CancelledError) and, once it has unwound, the error is thrown,
//   which doctest reports as the test's failure. A gale::TimeoutError the
//   body itself raises (with_timeout) passes through unchanged.
// - ExpectLog captures the records of a logger ("tornado.access",
//   "tornado.application", "tornado.general"; "" for every logger) while it
//   lives. Records that match are swallowed and counted; others go to the
//   handler that was installed before (stderr by default). With a level, a
//   match at another level is let through with a warning, as Tornado does,
//   and the logging threshold is lowered for the duration if needed. When it
//   goes out of scope normally, a required ExpectLog that matched nothing
//   throws std::runtime_error("did not get expected log message: ..."); while
//   an exception is already propagating it throws nothing (Tornado's
//   __exit__). ExpectLogs nest; records from other threads are handled too.
//
// Differences from Tornado, on purpose:
// - Python's unittest methods become a doctest fixture: derive a struct from
//   AsyncHTTPTestCase and use TEST_CASE_FIXTURE / GALE_GEN_TEST with it.
//   testing.hpp itself does not include doctest; the two macros expand to
//   doctest's TEST_CASE_FIXTURE, so include doctest before using them.
// - The regex of ExpectLog is a Python pattern run by PCRE2 (as routes are);
//   containing(text) matches a plain substring anywhere in the message.
// - No logged_stack (C++ logs no traceback) and no AsyncHTTPSTestCase yet:
//   override get_httpserver_options() to return ssl_options, get_protocol()
//   to return "https", and fetch with HTTPRequest().with_validate_cert(false)
//   for a self-signed certificate.
#pragma once

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <fmt/core.h>

#include "detail/cancel.hpp"
#include "detail/logging.hpp"
#include "detail/regex.hpp"
#include "httpclient.hpp"
#include "httpserver.hpp"
#include "ioloop.hpp"
#include "task.hpp"
#include "web.hpp"

namespace gale::testing {

// Tornado's get_async_test_timeout: the ASYNC_TEST_TIMEOUT environment
// variable (seconds, may have a fraction) if it is a number, else 5 s.
inline IOLoop::duration get_async_test_timeout() {
    using seconds = std::chrono::duration<double>;
    if (const char* env = std::getenv("ASYNC_TEST_TIMEOUT")) {
        char* end = nullptr;
        double value = std::strtod(env, &end);
        if (end != env && *end == '\0' && value >= 0)
            return std::chrono::duration_cast<IOLoop::duration>(seconds(value));
    }
    return std::chrono::seconds(5);
}

// An async test (gen_test, fetch) ran past its time limit.
class AsyncTestTimeoutError : public std::runtime_error {
public:
    AsyncTestTimeoutError(std::string_view what, IOLoop::duration timeout)
        : std::runtime_error(fmt::format("{} timed out after {:g} s (the limit is ASYNC_TEST_TIMEOUT, 5 s by "
                                         "default, or the timeout given)",
                                         what, std::chrono::duration<double>(timeout).count())) {}
};

// A fresh IOLoop per fixture, current on this thread while the fixture lives.
class AsyncTestCase {
public:
    AsyncTestCase() : previous_(IOLoop::current_or_null()), loop_(std::make_unique<IOLoop>()) {
        loop_->make_current();
    }
    AsyncTestCase(const AsyncTestCase&) = delete;
    AsyncTestCase& operator=(const AsyncTestCase&) = delete;
    virtual ~AsyncTestCase() {
        loop_.reset();
        if (previous_) previous_->make_current();
    }

    IOLoop& io_loop() noexcept { return *loop_; }

    // Runs the coroutine fn() on the loop to its end and returns its value
    // (IOLoop::run_sync, with the async test timeout by default).
    template <class F>
    auto run_sync(F&& fn, std::optional<IOLoop::duration> timeout = get_async_test_timeout()) {
        return loop_->run_sync(std::forward<F>(fn), timeout);
    }

    // Tornado's gen_test: runs the coroutine body() on the loop; past
    // `timeout` the body is cancelled and AsyncTestTimeoutError thrown.
    template <class F>
    void gen_test(F&& body, IOLoop::duration timeout = get_async_test_timeout()) {
        run_limited("async test", body, timeout);
    }

protected:
    // Runs fn() on the loop; a timeout that cancelled it becomes
    // AsyncTestTimeoutError naming `what` (a TimeoutError fn() raises itself
    // passes through).
    template <class F>
    auto run_limited(std::string_view what, F& fn, IOLoop::duration timeout) {
        bool cancelled = false;
        auto guarded = [&]() -> task<await_result_t<std::invoke_result_t<F&>>> {
            try {
                co_return co_await fn();
            } catch (const CancelledError&) {
                cancelled = true;
                throw;
            }
        };
        try {
            return loop_->run_sync(guarded, timeout);
        } catch (const TimeoutError&) {
            if (!cancelled) throw;
            throw AsyncTestTimeoutError(what, timeout);
        }
    }

private:
    IOLoop* previous_;
    std::unique_ptr<IOLoop> loop_;
};

// Tornado's AsyncHTTPTestCase: the Application on 127.0.0.1, an ephemeral
// port, a client, and a blocking fetch.
class AsyncHTTPTestCase : public AsyncTestCase {
public:
    // The Application comes from get_app(), which the fixture overrides.
    AsyncHTTPTestCase() = default;
    // The Application is given.
    explicit AsyncHTTPTestCase(std::unique_ptr<Application> app) : app_(std::move(app)) {}
    ~AsyncHTTPTestCase() override {
        if (app_ && started_) {
            try {
                run_sync([this] { return app_->close_all_connections(); });
            } catch (...) {
                detail::log(detail::gen_log, detail::log_level::error, "testing", __LINE__,
                            "closing the test server's connections failed: {}", detail::describe_current_exception());
            }
        }
        if (client_) client_->close();
        client_.reset();
        app_.reset();
    }

    // The Application under test (called once, when the server is first needed).
    virtual std::unique_ptr<Application> get_app() {
        throw std::logic_error("AsyncHTTPTestCase: override get_app() or pass the Application to the constructor");
    }
    virtual HTTPServerOptions get_httpserver_options() { return {}; }
    virtual std::unique_ptr<AsyncHTTPClient> get_http_client() { return std::make_unique<AsyncHTTPClient>(); }
    virtual std::string get_protocol() { return "http"; }

    Application& app() {
        start();
        return *app_;
    }
    AsyncHTTPClient& http_client() {
        start();
        return *client_;
    }
    std::uint16_t get_http_port() {
        start();
        return port_;
    }
    // An absolute URL for `path` on the test server.
    std::string get_url(std::string_view path) {
        return fmt::format("{}://127.0.0.1:{}{}", get_protocol(), get_http_port(), path);
    }

    // Fetches `path` (or an absolute http(s) URL) and returns the response,
    // whatever its code unless raise_error; `options` supplies the rest of
    // the request. Runs the loop until the response is complete, or throws
    // AsyncTestTimeoutError after the async test timeout.
    HTTPResponse fetch(std::string_view path, HTTPRequest options = {}, bool raise_error = false) {
        options.url = is_absolute(path) ? std::string(path) : get_url(path);
        std::string what = "fetch(" + options.url + ")";
        AsyncHTTPClient& client = http_client();
        auto request = [&] { return client.fetch(std::move(options), raise_error); };
        return run_limited(what, request, get_async_test_timeout());
    }

private:
    static bool is_absolute(std::string_view path) {
        auto starts = [&](std::string_view prefix) {
            return path.size() >= prefix.size() &&
                   std::equal(prefix.begin(), prefix.end(), path.begin(), [](char a, char b) {
                       return a == std::tolower(static_cast<unsigned char>(b));
                   });
        };
        return starts("http://") || starts("https://");
    }

    void start() {
        if (started_) return;
        if (!app_) app_ = get_app();
        if (!app_) throw std::logic_error("AsyncHTTPTestCase: get_app() returned no Application");
        client_ = get_http_client();
        port_ = app_->listen(0, "127.0.0.1", get_httpserver_options());
        started_ = true;
    }

    std::unique_ptr<Application> app_;
    std::unique_ptr<AsyncHTTPClient> client_;
    std::uint16_t port_ = 0;
    bool started_ = false;
};

// ------------------------------------------------------------------ ExpectLog

using log_level = detail::log_level;

// What an ExpectLog looks for: a Python regular expression matched at the
// start of the message (Tornado's re.match), or, from containing(), a
// substring anywhere in it.
class log_pattern {
public:
    log_pattern(std::string_view regex) : text_(regex), regex_(std::make_shared<const detail::regex>(regex)) {}
    log_pattern(const char* regex) : log_pattern(std::string_view(regex)) {}
    log_pattern(const std::string& regex) : log_pattern(std::string_view(regex)) {}

    bool matches(std::string_view message) const {
        return regex_ ? regex_->matches(message) : message.find(text_) != std::string_view::npos;
    }
    const std::string& text() const noexcept { return text_; }

private:
    friend log_pattern containing(std::string_view text);
    struct substring_tag {};
    log_pattern(substring_tag, std::string_view text) : text_(text) {}

    std::string text_;
    std::shared_ptr<const detail::regex> regex_;
};

// A pattern matching messages that contain `text`.
inline log_pattern containing(std::string_view text) { return log_pattern(log_pattern::substring_tag{}, text); }

// Tornado's ExpectLog: swallows and counts the matching records of a logger
// while it lives; see the top of this file.
class ExpectLog {
public:
    ExpectLog(std::string_view logger, log_pattern pattern, bool required = true,
              std::optional<log_level> level = std::nullopt)
        : logger_(logger), pattern_(std::move(pattern)), required_(required), level_(level),
          uncaught_(std::uncaught_exceptions()) {
        auto& config = gale::detail::logging_config();
        if (level_ && static_cast<int>(*level_) < config.threshold.load()) {
            previous_threshold_ = config.threshold.exchange(static_cast<int>(*level_));
        }
        registry& r = the_registry();
        std::lock_guard lock(r.mutex);
        if (r.active.empty()) r.previous = config.handler.exchange(&filter);
        r.active.push_back(this);
    }
    ExpectLog(const ExpectLog&) = delete;
    ExpectLog& operator=(const ExpectLog&) = delete;

    ~ExpectLog() noexcept(false) {
        {
            registry& r = the_registry();
            std::lock_guard lock(r.mutex);
            std::erase(r.active, this);
            if (r.active.empty()) gale::detail::logging_config().handler.store(r.previous);
        }
        if (previous_threshold_) gale::detail::logging_config().threshold.store(*previous_threshold_);
        if (required_ && !matched() && std::uncaught_exceptions() == uncaught_)
            throw std::runtime_error(fmt::format("did not get expected log message: {} {}{}",
                                                 logger_.empty() ? "(any logger)" : logger_, pattern_.text(),
                                                 level_ ? fmt::format(" at {}", level_name(*level_)) : ""));
    }

    // Whether a record matched (at the expected level, if one was given).
    bool matched() const {
        std::lock_guard lock(the_registry().mutex);
        return matched_;
    }

private:
    static std::string_view level_name(log_level level) {
        switch (level) {
            case log_level::debug: return "DEBUG";
            case log_level::info: return "INFO";
            case log_level::warning: return "WARNING";
            case log_level::error: return "ERROR";
            case log_level::critical: return "CRITICAL";
        }
        return "?";
    }

    struct registry {
        std::mutex mutex;
        std::vector<ExpectLog*> active;
        gale::detail::log_handler previous = nullptr;
    };
    static registry& the_registry() {
        static registry r;
        return r;
    }

    // The installed log handler: the first active ExpectLog (most recent
    // first) that matches takes the record, else it goes to the previous one.
    static void filter(const gale::detail::log_record& record) {
        registry& r = the_registry();
        gale::detail::log_handler forward = nullptr;
        std::optional<std::string> complaint;
        {
            std::lock_guard lock(r.mutex);
            forward = r.previous;
            for (auto it = r.active.rbegin(); it != r.active.rend(); ++it) {
                ExpectLog& e = **it;
                if (!e.logger_.empty() && e.logger_ != record.logger) continue;
                if (!e.pattern_.matches(record.message)) continue;
                if (e.level_ && *e.level_ != record.level) {
                    complaint = fmt::format("Got expected log message '{}' at unexpected level ({} vs {})",
                                            record.message, level_name(*e.level_),
                                            level_name(record.level));
                    break;
                }
                e.matched_ = true;
                return;
            }
        }
        if (!forward) return;
        if (complaint)
            forward(gale::detail::log_record{gale::detail::app_log, log_level::warning, "testing", __LINE__,
                                             *complaint});
        forward(record);
    }

    std::string logger_;
    log_pattern pattern_;
    bool required_;
    std::optional<log_level> level_;
    int uncaught_;
    std::optional<int> previous_threshold_;
    bool matched_ = false;
};

}  // namespace gale::testing

// A doctest test case whose body is a coroutine run by the fixture's
// gen_test (the fixture derives from gale::testing::AsyncTestCase or
// AsyncHTTPTestCase). Include <doctest/doctest.h> before using it.
//
//   GALE_GEN_TEST(MyAppTest, "gathers") { auto r = co_await http_client().fetch(get_url("/")); }
#define GALE_GEN_TEST(fixture, name) \
    GALE_GEN_TEST_TIMEOUT(fixture, name, ::gale::testing::get_async_test_timeout())
#define GALE_GEN_TEST_TIMEOUT(fixture, name, timeout) \
    GALE_GEN_TEST_IMPL_(GALE_GEN_TEST_CAT_(gale_gen_test_, __COUNTER__), fixture, name, timeout)

#define GALE_GEN_TEST_CAT2_(a, b) a##b
#define GALE_GEN_TEST_CAT_(a, b) GALE_GEN_TEST_CAT2_(a, b)
#define GALE_GEN_TEST_IMPL_(body_type, fixture, name, timeout)                              \
    namespace {                                                                             \
    struct body_type : fixture {                                                            \
        ::gale::task<void> gen_test_body();                                                 \
    };                                                                                      \
    }                                                                                       \
    TEST_CASE_FIXTURE(body_type, name) {                                                    \
        gen_test([this] { return gen_test_body(); }, timeout);                              \
    }                                                                                       \
    ::gale::task<void> body_type::gen_test_body()
