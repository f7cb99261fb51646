// Cookies and signed cookies (Tornado's set_cookie / set_secure_cookie
// seeds), on 127.0.0.1:8000 (--port=N, --address=A).
//
//   $ curl -c jar -b jar http://127.0.0.1:8000/      # <h1>您已访问本页1次。</h1>
//   $ curl -c jar -b jar http://127.0.0.1:8000/      # <h1>您已访问本页2次。</h1>
//   $ curl -c jar -b jar http://127.0.0.1:8000/plain # Your cookie was not set yet!, then ...was set!
//
// "/" counts visits in a signed cookie: the browser can read it but not
// change it (a forged or edited value reads as no cookie, and counting starts
// again). "/plain" and "/signed" are the first cookie seeds: a plain cookie,
// then the same with a signed one. "/clear" deletes the cookies the browser
// sent (clear_all_cookies).
#include <string>

#include <gale/web.hpp>

#include "example_args.hpp"

namespace cookie_counter {

struct CounterHandler : gale::RequestHandler {
    void get() {
        std::optional<std::string> cookie = get_signed_cookie("count");
        int count = cookie ? std::stoi(*cookie) + 1 : 1;
        set_signed_cookie("count", std::to_string(count));
        write("<html><head><title>Cookie计数器</title></head><body><h1>您已访问本页" + std::to_string(count) +
              "次。</h1></body></html>");
    }
};

// The first cookie seed, with a plain cookie or (signed = true) a signed one.
struct MyCookieHandler : gale::RequestHandler {
    bool signed_ = false;
    void initialize(bool signed_cookie) { signed_ = signed_cookie; }
    void get() {
        bool set = signed_ ? get_signed_cookie("mycookie").has_value() : get_cookie("mycookie").has_value();
        if (set) {
            write("Your cookie was set!");
            return;
        }
        if (signed_)
            set_signed_cookie("mycookie", "myvalue");
        else
            set_cookie("mycookie", "myvalue");
        write("Your cookie was not set yet!");
    }
};

struct ClearHandler : gale::RequestHandler {
    void get() {
        clear_all_cookies();
        write("OK");
    }
};

inline std::vector<gale::URLSpec> rules() {
    return {
        {"/", gale::handler<CounterHandler>()},
        {"/plain", gale::handler<MyCookieHandler>(false)},
        {"/signed", gale::handler<MyCookieHandler>(true)},
        {"/clear", gale::handler<ClearHandler>()},
    };
}

inline gale::Settings settings() { return {.cookie_secret = "61oETzKXQAGaYdkL5gEmGeJJFuYh7EQnp2XdTP1o/Vo="}; }

}  // namespace cookie_counter

int main(int argc, char** argv) {
    example::args args(argc, argv, 8000);
    gale::Application app(cookie_counter::rules(), cookie_counter::settings());
    example::serve(app, args);
    return 0;
}
