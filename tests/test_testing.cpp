// tests for <gale/testing.hpp>: the fixture, fetch, gen_test and ExpectLog,
// used here exactly as a user tests an application, plus the failures they
// must report (a timed-out test, a required log line that never came).
#include <doctest/doctest.h>

#include <gale/testing.hpp>

#include <gale/gen.hpp>
#include <gale/locks.hpp>

#include <cstdlib>
#include <memory>
#include <string>

#include "support.hpp"

using namespace std::chrono_literals;
using gale::HTTPRequest;
using gale::HTTPResponse;
using gale::task;
using gale::testing::AsyncHTTPTestCase;
using gale::testing::ExpectLog;
using gale::testing::log_level;

namespace {

struct Hello : gale::RequestHandler {
    task<void> get() {
        write("Hello, world");
        co_return;
    }
};

struct Echo : gale::RequestHandler {
    task<void> post() {
        write("You wrote " + get_argument("message"));
        co_return;
    }
};

struct Boom : gale::RequestHandler {
    task<void> get() {
        throw std::runtime_error("boom");
        co_return;
    }
};

struct Slow : gale::RequestHandler {
    task<void> get() {
        co_await gale::sleep(300ms);
        write("late");
    }
};

std::unique_ptr<gale::Application> make_app() {
    return std::make_unique<gale::Application>(std::vector<gale::URLSpec>{
        {"/", gale::handler<Hello>()},
        {"/echo", gale::handler<Echo>()},
        {"/boom", gale::handler<Boom>()},
        {"/slow", gale::handler<Slow>()},
    });
}

// The way a user writes it: the fixture overrides get_app().
struct HelloTest : AsyncHTTPTestCase {
    std::unique_ptr<gale::Application> get_app() override { return make_app(); }
};

// Or hands the Application to the constructor.
struct GivenAppTest : AsyncHTTPTestCase {
    GivenAppTest() : AsyncHTTPTestCase(make_app()) {}
};

// Sets an environment variable for one scope.
struct scoped_env {
    std::string name;
    scoped_env(std::string n, const char* value) : name(std::move(n)) { ::setenv(name.c_str(), value, 1); }
    ~scoped_env() { ::unsetenv(name.c_str()); }
};

}  // namespace

TEST_CASE_FIXTURE(HelloTest, "testing: fetch returns the response whatever its code") {
    HTTPResponse r = fetch("/");
    CHECK(r.code == 200);
    CHECK(r.body == "Hello, world");

    r = fetch("/nope");  // raise_error = false, as Tornado's test fetch
    CHECK(r.code == 404);
    CHECK(r.body == "<html><title>404: Not Found</title><body>404: Not Found</body></html>");
    CHECK_THROWS_WITH_AS(fetch("/nope", {}, true), "HTTP 404: Not Found", gale::HTTPClientError);

    r = fetch("/echo", HTTPRequest().with_method("POST").with_body("message=hi"));
    CHECK(r.code == 200);
    CHECK(r.body == "You wrote hi");

    CHECK(get_http_port() != 0);
    CHECK(get_url("/x?y=1") == "http://127.0.0.1:" + std::to_string(get_http_port()) + "/x?y=1");
    CHECK(fetch(get_url("/")).body == "Hello, world");  // an absolute URL is fetched as is
    CHECK(fetch("HTTP://127.0.0.1:" + std::to_string(get_http_port()) + "/").code == 200);
}

TEST_CASE_FIXTURE(GivenAppTest, "testing: the Application may be given to the constructor") {
    CHECK(fetch("/").body == "Hello, world");
}

TEST_CASE("testing: a fixture without an Application says so") {
    AsyncHTTPTestCase nothing;
    CHECK_THROWS_WITH_AS(nothing.fetch("/"),
                         "AsyncHTTPTestCase: override get_app() or pass the Application to the constructor",
                         std::logic_error);
}

TEST_CASE("testing: each fixture has its own current IOLoop, the previous one comes back") {
    gale::IOLoop* before = &gale::IOLoop::current();
    {
        HelloTest t;
        CHECK(&gale::IOLoop::current() == &t.io_loop());
        CHECK(&t.io_loop() != before);
        CHECK(t.fetch("/").code == 200);
    }
    CHECK(&gale::IOLoop::current() == before);
}

GALE_GEN_TEST(HelloTest, "testing: GALE_GEN_TEST runs a coroutine body against the server") {
    auto [a, b] = co_await gale::gather(http_client().fetch(get_url("/")),
                                        http_client().fetch(get_url("/nope"), false));
    CHECK(a.body == "Hello, world");
    CHECK(b.code == 404);
    co_await gale::sleep(1ms);
}

GALE_GEN_TEST_TIMEOUT(HelloTest, "testing: GALE_GEN_TEST_TIMEOUT gives a test more time", 10s) {
    HTTPResponse r = co_await http_client().fetch(get_url("/slow"));
    CHECK(r.body == "late");
}

TEST_CASE_FIXTURE(HelloTest, "testing: a hanging async test fails with a clear message instead of hanging") {
    gale::Event never;
    bool unwound = false;
    auto hang = [&]() -> task<void> {
        try {
            co_await never.wait();
        } catch (const gale::CancelledError&) {
            unwound = true;
            throw;
        }
    };
    CHECK_THROWS_WITH_AS(gen_test(hang, 50ms),
                         "async test timed out after 0.05 s (the limit is ASYNC_TEST_TIMEOUT, 5 s by default, or "
                         "the timeout given)",
                         gale::testing::AsyncTestTimeoutError);
    CHECK(unwound);  // cancelled where it waited, and unwound before the failure was reported

    // A TimeoutError the body raises itself is its own business.
    auto own = [&]() -> task<void> { co_await gale::with_timeout(1ms, never.wait()); };
    CHECK_THROWS_AS(gen_test(own, 5s), gale::TimeoutError);
    CHECK_NOTHROW(gen_test([]() -> task<void> { co_await gale::sleep(1ms); }));
}

TEST_CASE("testing: ASYNC_TEST_TIMEOUT sets the default limit, of fetch too") {
    CHECK(gale::testing::get_async_test_timeout() == 5s);
    {
        scoped_env env("ASYNC_TEST_TIMEOUT", "0.25");
        CHECK(gale::testing::get_async_test_timeout() == 250ms);
    }
    {
        scoped_env env("ASYNC_TEST_TIMEOUT", "soon");
        CHECK(gale::testing::get_async_test_timeout() == 5s);  // not a number: ignored, as Tornado
    }
    HelloTest t;
    std::string url = t.get_url("/slow");
    {
        scoped_env env("ASYNC_TEST_TIMEOUT", "0.05");
        CHECK_THROWS_WITH_AS(t.fetch("/slow"),
                             ("fetch(" + url +
                              ") timed out after 0.05 s (the limit is ASYNC_TEST_TIMEOUT, 5 s by default, or the "
                              "timeout given)")
                                 .c_str(),
                             gale::testing::AsyncTestTimeoutError);
    }
    CHECK(t.fetch("/slow").body == "late");  // the server is fine
}

TEST_CASE_FIXTURE(HelloTest, "testing: ExpectLog swallows the lines it expects and lets the others through") {
    gale_test::log_capture seen;  // what reaches the handler installed before ExpectLog
    {
        ExpectLog expected("tornado.application", "Uncaught exception GET /boom");
        CHECK(fetch("/boom").code == 500);
        CHECK(expected.matched());
    }
    CHECK(seen.matching("Uncaught exception").empty());
    CHECK(seen.matching("tornado.access 500 GET /boom (127.0.0.1)").size() == 1);

    {
        ExpectLog access("tornado.access", gale::testing::containing("404 GET /nope"));
        ExpectLog anything("", "nothing like this", false);  // not required: silent
        fetch("/nope");
        CHECK(access.matched());
        CHECK(!anything.matched());
    }
    CHECK(seen.matching("404 GET /nope").empty());

    // Nested: the innermost match takes the record; the outer one still sees the others.
    {
        ExpectLog outer("tornado.access", "200 GET /");
        {
            ExpectLog inner("tornado.access", "200 GET /echo", false);
            fetch("/");
            CHECK(!inner.matched());
        }
        CHECK(outer.matched());
    }
    CHECK(seen.matching("200 GET /").empty());
}

TEST_CASE_FIXTURE(HelloTest, "testing: a required ExpectLog that saw nothing is reported") {
    auto expect_nothing_logged = [&] {
        ExpectLog expected("tornado.general", "Missing argument message");
        fetch("/");  // logs only the access line
    };
    CHECK_THROWS_WITH_AS(expect_nothing_logged(),
                         "did not get expected log message: tornado.general Missing argument message",
                         std::runtime_error);

    // While another exception propagates, ExpectLog adds none (Tornado's __exit__).
    auto failing_test = [&] {
        ExpectLog expected("tornado.general", "never");
        throw std::logic_error("the test's own failure");
    };
    CHECK_THROWS_WITH_AS(failing_test(), "the test's own failure", std::logic_error);

    // The handler installed before is back.
    gale_test::log_capture seen;
    fetch("/");
    CHECK(seen.matching("tornado.access 200 GET / ").size() == 1);
}

TEST_CASE_FIXTURE(HelloTest, "testing: ExpectLog with a level") {
    gale_test::log_capture seen;
    // A match at another level passes through, with a warning; it does not count.
    auto wrong_level = [&] {
        ExpectLog expected("tornado.access", "200 GET /", true, log_level::error);
        fetch("/");
    };
    CHECK_THROWS_WITH_AS(wrong_level(), "did not get expected log message: tornado.access 200 GET / at ERROR",
                         std::runtime_error);
    auto warned = seen.matching("tornado.application Got expected log message '200 GET / (127.0.0.1) ");
    REQUIRE(warned.size() == 1);
    CHECK(warned[0].ends_with("' at unexpected level (ERROR vs INFO)"));
    CHECK(seen.matching("tornado.access 200 GET / (127.0.0.1)").size() == 1);

    // A level below the threshold is enabled while the ExpectLog lives.
    auto quiet = [] { gale::detail::log(gale::detail::gen_log, log_level::debug, "test", 1, "debug line"); };
    {
        ExpectLog expected("tornado.general", "debug line", true, log_level::debug);
        quiet();
        CHECK(expected.matched());
    }
    CHECK(!gale::detail::log_enabled(log_level::debug));
    quiet();
    CHECK(seen.matching("debug line").empty());

    // A pattern that is not a valid regex is refused at once, with its place.
    CHECK_THROWS_AS(ExpectLog("", "(unclosed"), std::invalid_argument);
}
