// Users and login (Tornado's get_current_user, @authenticated and login_url
// seeds), on 127.0.0.1:8888 (--port=N, --address=A).
//
//   $ curl -i http://127.0.0.1:8888/            # 302, Location: /login?next=%2F
//   $ curl -i -c jar -d name=ann 'http://127.0.0.1:8888/login?next=%2F'   # 302 to /, a signed "user" cookie
//   $ curl -b jar http://127.0.0.1:8888/        # Hello, ann
//
// The current user is the name in the signed "user" cookie. The `authenticated`
// marker of MainHandler sends a visitor without one to the login_url setting
// with the page they asked for in `next` (a POST would get 403 instead);
// the login form posts the name back, and the handler signs it into the
// cookie and returns to `next`. "/logout" clears the cookie.
#include <string>

#include <gale/escape.hpp>
#include <gale/web.hpp>

#include "example_args.hpp"

namespace login {

struct BaseHandler : gale::RequestHandler {
    std::optional<std::string> get_current_user() override { return get_signed_cookie("user"); }
};

struct MainHandler : BaseHandler {
    static constexpr bool authenticated = true;
    void get() { write("Hello, " + gale::xhtml_escape(*current_user())); }
};

struct LoginHandler : BaseHandler {
    void get() {
        write("<html><body><form action=\"/login?next=" + gale::url_escape(get_argument("next", "/")) +
              "\" method=\"post\">Name: <input type=\"text\" name=\"name\"><input type=\"submit\" "
              "value=\"Sign in\"></form></body></html>");
    }
    void post() {
        set_signed_cookie("user", get_argument("name"));
        redirect(get_argument("next", "/"));
    }
};

struct LogoutHandler : BaseHandler {
    void get() {
        clear_cookie("user");
        redirect("/");
    }
};

inline std::vector<gale::URLSpec> rules() {
    return {
        {"/", gale::handler<MainHandler>()},
        {"/login", gale::handler<LoginHandler>()},
        {"/logout", gale::handler<LogoutHandler>()},
    };
}

inline gale::Settings settings() {
    return {.cookie_secret = "61oETzKXQAGaYdkL5gEmGeJJFuYh7EQnp2XdTP1o/Vo=", .login_url = "/login"};
}

}  // namespace login

int main(int argc, char** argv) {
    example::args args(argc, argv, 8888);
    gale::Application app(login::rules(), login::settings());
    example::serve(app, args);
    return 0;
}
