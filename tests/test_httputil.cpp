// Tests for <gale/httputil.hpp>: expected values were produced once with
// Debian's python3-tornado 6.2 and pasted here.
#include <gale/httputil.hpp>

#include <string>
#include <vector>

#include <doctest/doctest.h>

using gale::HTTPHeaders;
using gale::HTTPInputError;

TEST_CASE("HTTPHeaders: Http-Header-Case, add, get joined, get_list") {
    HTTPHeaders h;
    h.add("content-type", "text/html");
    h.add("Set-Cookie", "A=B");
    h.add("set-cookie", "C=D");
    CHECK(h.get_all().front().name == "Content-Type");
    CHECK(*h.get("CONTENT-TYPE") == "text/html");
    CHECK(*h.get("set-cookie") == "A=B,C=D");
    CHECK(h.get_list("Set-Cookie") == std::vector<std::string_view>{"A=B", "C=D"});
    CHECK(h.size() == 2);
}

TEST_CASE("parse_request_start_line") {
    auto line = gale::parse_request_start_line("GET /foo HTTP/1.1");
    CHECK(line.method == "GET");
    CHECK(line.path == "/foo");
    CHECK(line.version == "HTTP/1.1");
    CHECK_THROWS_AS(gale::parse_request_start_line("GET /foo"), HTTPInputError);
}
