// XSRF protection (Tornado's xsrf_cookies, xsrf_form_html and X-XSRFToken
// seeds), on 127.0.0.1:8000 (--port=N, --address=A).
//
//   $ curl -i http://127.0.0.1:8000/             # the form, and a "_xsrf" cookie
//   $ curl -i -d message=hi http://127.0.0.1:8000/   # 403: '_xsrf' argument missing from POST
//   $ curl -c jar http://127.0.0.1:8000/xsrf_token   # sets the cookie; then, with its value:
//   $ curl -b jar -H "X-XSRFToken: <cookie value>" -d '{"key1": 2}' http://127.0.0.1:8000/new
//
// With xsrf_cookies on, every POST, PUT, PATCH and DELETE must carry the
// "_xsrf" cookie's token as the "_xsrf" argument (the form's hidden field,
// from xsrf_form_html()) or in an X-XSRFToken (or X-CSRFToken) header, or it
// is refused with 403 before the handler runs. "/xsrf.html" posts a form
// body from JavaScript, "/json.html" a JSON body with the header (the seed
// used jQuery from a CDN; these pages use fetch()). The seed's template is
// written out here as C++ (templates arrive with template.hpp).
#include <string>

#include <gale/web.hpp>

#include "example_args.hpp"

namespace xsrf_form {

struct IndexHandler : gale::RequestHandler {
    void get() {
        write("<!DOCTYPE html>\n<html>\n<head>\n    <title>测试XSRF</title>\n</head>\n<body>\n"
              "    <form method=\"post\">\n      " +
              xsrf_form_html() +
              "\n      <input type=\"text\" name=\"message\"/>\n"
              "      <input type=\"submit\" value=\"Post\"/>\n    </form>\n</body>\n</html>\n");
    }
    void post() { write("hello itcast"); }
};

// Only sets the "_xsrf" cookie, for pages that are not forms.
struct XSRFTokenHandler : gale::RequestHandler {
    void get() {
        xsrf_token();
        write("Ok");
    }
};

// The target of the two AJAX pages.
struct NewHandler : gale::RequestHandler {
    void post() { write("OK"); }
};

// The two AJAX pages: the seed's getCookie() and an xsrfPost() that posts
// to /new. Visiting one sets the "_xsrf" cookie the script reads.
inline std::string ajax_page(std::string_view post_script) {
    return std::string(R"html(<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<title>测试XSRF</title>
</head>
<body>
<a href="javascript:;" onclick="xsrfPost()">发送POST请求</a>
<script>
function getCookie(name) {
    var r = document.cookie.match("\\b" + name + "=([^;]*)\\b");
    return r ? r[1] : undefined;
}
)html") + std::string(post_script) +
           R"(</script>
</body>
</html>
)";
}

// Posts a form-encoded body with the token as the "_xsrf" field.
struct FormPostPage : gale::RequestHandler {
    void get() {
        xsrf_token();
        write(ajax_page(R"(function xsrfPost() {
    var xsrf = getCookie("_xsrf");
    fetch("/new", {method: "POST", headers: {"Content-Type": "application/x-www-form-urlencoded"},
                   body: "_xsrf=" + encodeURIComponent(xsrf) + "&key1=value1"})
        .then(function () { alert("OK"); });
}
)"));
    }
};

// Posts JSON with the token in an X-XSRFToken header.
struct JsonPostPage : gale::RequestHandler {
    void get() {
        xsrf_token();
        write(ajax_page(R"(function xsrfPost() {
    var xsrf = getCookie("_xsrf");
    fetch("/new", {method: "POST", headers: {"X-XSRFToken": xsrf}, body: JSON.stringify({key1: 2})})
        .then(function () { alert("OK"); });
}
)"));
    }
};

inline std::vector<gale::URLSpec> rules() {
    return {
        {"/", gale::handler<IndexHandler>()},
        {"/xsrf_token", gale::handler<XSRFTokenHandler>()},
        {"/new", gale::handler<NewHandler>()},
        {"/xsrf.html", gale::handler<FormPostPage>()},
        {"/json.html", gale::handler<JsonPostPage>()},
    };
}

inline gale::Settings settings() {
    return {.cookie_secret = "2hcicVu+TqShDpfsjMWQLZ0Mkq5NPEWSk9fi0zsSt3A=", .xsrf_cookies = true};
}

}  // namespace xsrf_form

int main(int argc, char** argv) {
    example::args args(argc, argv, 8000);
    gale::Application app(xsrf_form::rules(), xsrf_form::settings());
    example::serve(app, args);
    return 0;
}
