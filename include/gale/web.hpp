// Tornado's tornado.web for C++: RequestHandler and Application.
//
//   struct MainHandler : gale::RequestHandler {
//       gale::task<void> get() { write("Hello, world"); co_return; }
//   };
//   struct StoryHandler : gale::RequestHandler {
//       const Db* db = nullptr;
//       void initialize(const Db* d) { db = d; }                 // Tornado's initialize(**kwargs)
//       gale::task<void> get(std::string_view story_id) {        // the route's groups, in order
//           write(gale::json::object{{"id", story_id}});
//           co_return;
//       }
//   };
//   gale::Application app({
//       {"/", gale::handler<MainHandler>()},
//       {R"(/story/([0-9]+))", gale::handler<StoryHandler>(&db)},
//       gale::url(R"(/people/(?P<name>\w+))", gale::handler<PeopleHandler>(), "people"),
//   }, {.debug = false});
//   app.listen(8888);
//   gale::IOLoop::current().start();
//
// Synopsis:
//   web::HTTPError(status_code = 500, log_message = "", reason = "")  // what(): "HTTP 404: Not Found (why)"
//   web::MissingArgumentError(arg_name)                            // HTTPError 400 "Missing argument x"
//   class RequestHandler                 // derive; define any of the HTTP methods below
//     HTTP methods (any subset): get head post delete_ patch put options, each
//       task<void> (or void) taking N std::string_view (N = the route's groups)
//       or one std::span<const std::string_view> (any number)
//     hooks: initialize(args...), prepare() (void or task<void>)    // found by name
//            data_received(piece) (void or task<void>; defining it streams the
//              request body to it, Tornado's @stream_request_body),
//            on_connection_close() (the client left before the response ended)
//            virtual set_default_headers(), write_error(code, error), on_finish()
//     input:  request(), application(), settings(), path_args(), path_kwargs(), path_kwarg(name)
//             get_argument(name) / get_argument(name, default, strip = true) /
//             get_argument(name, std::nullopt, strip = true), get_arguments(name, strip = true),
//             the same for get_query_argument(s) and get_body_argument(s), json_body()
//     output: set_status(code, reason = ""), get_status(), set_header, add_header, clear_header,
//             clear(), write(text), write(json::value), flush() (awaitable), finish(chunk = ""),
//             redirect(url, permanent = false, status = 0), send_error(code), finished(),
//             compute_etag(), set_etag_header(), check_etag_header(), reverse_url(name, args...)
//     cookies: cookies(), get_cookie(name) -> optional, get_cookie(name, default),
//             set_cookie(name, value, cookie_options{domain, expires, path = "/", expires_days,
//             max_age, httponly, secure, samesite}), clear_cookie(name, path = "/", domain = ""),
//             clear_all_cookies(path = "/", domain = "")
//     signed: set_signed_cookie(name, value, expires_days = 30, options = {}, version = 2),
//             get_signed_cookie(name[, value], max_age_days = 31, min_version = 1) -> optional,
//             get_signed_cookie_key_version(name[, value]), create_signed_value(name, value,
//             version = 2); Tornado 6.2's set_secure_cookie, get_secure_cookie,
//             get_secure_cookie_key_version are the same
//     users:  virtual get_current_user() -> optional<string>, current_user() (cached),
//             set_current_user(user), virtual get_login_url(); in the handler,
//             `static constexpr bool authenticated = true;` (every method) or
//             `static constexpr auto authenticated = methods::get | methods::post;`
//     XSRF:   xsrf_token(), xsrf_form_html(), virtual check_xsrf_cookie()
//     static: static_url(path, include_host = false, include_version = true)
//             -> "/static/path?v=<SHA-512 of the file>" (Tornado's content hash, cached per path)
//     templates: render(name, values), render_string(name, values), get_template_path(),
//             get_template_namespace(ns) (need <gale/web_template.hpp>); locale(), set_locale,
//             get_user_locale(), get_browser_locale() (need <gale/web_locale.hpp>)
//   handler<H>(args...)                  // a route's handler factory; args reach H::initialize
//   url(pattern, factory, name = "")     // a named rule (Tornado's url / URLSpec)
//   RedirectHandler (initialize(url, permanent = true), "{0}" / "{name}" filled from the groups)
//   ErrorHandler (initialize(status_code))
//   StaticFileHandler (initialize(path, default_filename = "")), routed as
//       {R"(/static/(.*))", handler<StaticFileHandler>(root)}: GET/HEAD, Etag, 304, one Range,
//       Content-Type by extension, ten-year caching of ?v= URLs, 403 outside the root;
//       overridable get_cache_time, set_extra_headers, get_content_type; static
//       make_static_url(settings, path), get_version(settings, path), reset()
//   struct Settings { debug, serve_traceback, default_handler, cookie_secret, key_version,
//                     xsrf_cookies, xsrf_cookie_version = 2, xsrf_cookie_kwargs, login_url,
//                     static_path, static_url_prefix = "/static/", static_handler_args
//                     {default_filename}, static_hash_cache (default !debug), template_path,
//                     template_loader, compiled_template_cache, autoescape, template_whitespace,
//                     ui_methods, ui_modules, autoreload (default debug), ..., extra }
//       // static_path adds static_url_prefix(.*), /(favicon\.ico) and /(robots\.txt) first
//   class Application(rules, settings = {})
//     add_handlers(host_pattern, rules), reverse_url(name, args...), settings(),
//     listen(port, address = "", HTTPServerOptions = {}) -> bound port, servers(), stop(),
//     close_all_connections(), shutdown(grace), add_shutdown_callback(fn), log_request(handler),
//     operator()(HTTPServerRequest&) -> task<void>   // the HTTPServer callback
//
// The lifecycle is Tornado's _execute, in order: the request's body is read
// and its arguments parsed (Application's servers leave the body to this
// step, HTTPServerOptions::read_body = false); a fresh handler object per
// request; clear() (default headers, then set_default_headers());
// initialize(args...); check_xsrf_cookie() (with xsrf_cookies, for methods
// but GET, HEAD and OPTIONS); prepare() (which may finish the request); the
// `authenticated` check; for a handler with data_received, each piece of
// the body as it arrives (each waiting for the previous one); the HTTP
// method; finish() unless the method finished; on_finish() (called by
// finish, after the access log line). An exception anywhere is logged
// (HTTPError with a log_message: tornado.general warning "404 GET /x
// (127.0.0.1): why"; anything else: tornado.application error "Uncaught
// exception GET /x (127.0.0.1)" with the request and what()), then
// send_error: clear(), set_default_headers() again, write_error(), finish().
// The default write_error writes Tornado's page
// "<html><title>404: Not Found</title><body>404: Not Found</body></html>";
// with serve_traceback (or debug) and a non-HTTPError exception it writes
// the exception's what() as text/plain (C++ has no traceback to show).
//
// Differences from Tornado 6.2, on purpose:
// - HTTP methods are found at compile time. A method the handler does not
//   define, and a method Tornado does not support, answer Tornado's 405 page
//   and, unlike Tornado, an "Allow" header naming the methods the handler
//   defines. DELETE is `delete_` (delete is a C++ keyword).
// - Groups reach a method as std::string_view arguments (a group that took
//   no part in the match is empty); named groups arrive positionally in the
//   pattern's order as well as through path_kwargs(). A route whose group
//   count no method of its handler can take throws std::invalid_argument
//   when the Application (or add_handlers) is built, not a TypeError per
//   request. A method taking std::string or int instead of std::string_view
//   does not compile.
// - The Server header is "gale/<version>" (Tornado: "TornadoServer/6.2");
//   set_default_headers can set another.
// - finish() sends what is buffered and returns; await flush() before it
//   for flow control. write(json::value) accepts objects only, as Tornado
//   accepts dicts only (std::invalid_argument with Tornado's message).
// - set_header refuses control characters with std::invalid_argument
//   ("Unsafe header value ..."), Tornado's ValueError.
// - StaticFileHandler: content types come from a built-in table (what
//   Python's mimetypes says on Debian for the common web types; others are
//   application/octet-stream), not from /etc/mime.types at run time. An
//   If-Modified-Since that names no valid date is ignored (Tornado answers
//   500). static_hash_cache = false hashes the file at each use instead of
//   emptying the cache at each request. There is no static_handler_class:
//   route a subclass of StaticFileHandler yourself.
// - The current user is text (std::optional<std::string>; nullopt or "" is
//   nobody), not any object: keep a richer user in the handler, loaded in
//   prepare(). `authenticated` is a static marker of the handler, not a
//   decorator, and is checked after prepare() as Tornado's wrapper is.
// - A missing cookie_secret or login_url throws std::logic_error with
//   Tornado's message (a 500), as Tornado's Exception. xsrf_cookie_kwargs is
//   a cookie_options; the 30 days given to a logged-in user's "_xsrf" cookie
//   do not stick to the setting (Tornado 6.2 writes them into its dict).
//
// compress_response (a setting) is Tornado's GZipContentEncoding: "Vary:
// Accept-Encoding" on every response, gzip (level 6) when the request
// accepts it, the type is text/* or a JSON/JavaScript/XML/SVG type, no
// Content-Encoding is set and a whole body is at least 1024 bytes; a
// flushed response is compressed chunk by chunk (sync-flushed).
// Text that is not UTF-8 in an argument (get_argument and the like) or a
// path group answers 400, logged "Invalid unicode in x: b'\xff'".
// When the client leaves, finish() sends nothing and does not throw; an
// awaited flush() throws StreamClosedError.
//
// Cost per request: one coroutine frame holds the handler object (frames
// are recycled by the task allocator), the route's groups are views, the
// Date header is formatted once a second, literal routes are compared as
// strings (routing.hpp's fast path).
#pragma once

#include "detail/config.hpp"

#include <algorithm>
#include <any>
#include <array>
#include <charconv>
#include <concepts>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <exception>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <fmt/core.h>

#include "detail/gzip.hpp"
#include "detail/logging.hpp"
#include "detail/static_files.hpp"
#include "httpserver.hpp"
#include "httputil.hpp"
#include "json.hpp"
#include "routing.hpp"
#include "signed_value.hpp"
#include "task.hpp"
#include "version.hpp"

namespace gale {

class Application;
class RequestHandler;

namespace detail {
// What RequestHandler::json_body() parses with; <gale/json_parse.hpp> defines it.
template <class>
struct json_text_parser;
}  // namespace detail

// ---- templates (section: helper templates)
// What render(), render_string() and locale() work with, defined by
// <gale/web_template.hpp> and <gale/web_locale.hpp>: web.hpp leaves the
// template engine and the locales out of what a plain handler compiles.
class BaseLoader;
class template_args;
class template_namespace;
struct ui_module_factory;
namespace locale {
class Locale;
}
// A function of Settings::ui_methods (Tornado's ui_methods: the handler
// comes first, then the template's arguments).
using ui_method = std::function<json::value(RequestHandler&, const template_args&)>;
namespace detail {
template <class>
struct web_templates;
template <class>
struct web_locale;
struct handler_templates;  // a request's UI modules and template namespace
struct template_loaders;   // an Application's loaders, one per template path
}  // namespace detail
// ---- end templates

// ------------------------------------------------------------------ errors

// tornado.web's exceptions live in gale::web (gale::HTTPError is the
// client's, tornado.httpclient.HTTPError): throw gale::web::HTTPError(404).
namespace web {

// Tornado's HTTPError: raise it (throw) from a handler to answer with
// status_code; log_message is logged (not shown to the client), reason
// replaces the standard reason phrase.
class HTTPError : public std::exception {
public:
    explicit HTTPError(int status_code = 500, std::string log_message = {}, std::string reason = {});
    const char* what() const noexcept override { return text_.c_str(); }

    int status_code;
    std::string log_message;
    std::string reason;

private:
    std::string text_;
};

// A required argument is missing: 400, logged as "Missing argument <name>".
class MissingArgumentError : public HTTPError {
public:
    explicit MissingArgumentError(std::string arg_name)
        : HTTPError(400, "Missing argument " + arg_name), arg_name(std::move(arg_name)) {}
    std::string arg_name;
};

}  // namespace web

// ------------------------------------------------------------------ settings

struct handler_factory;

// Application settings (Tornado's **settings). serve_traceback defaults to
// debug. default_handler answers requests no rule matches (Tornado's
// default_handler_class + default_handler_args: handler<H>(args...));
// without it, Tornado's 404 page. extra holds the application's own
// settings (Tornado's user keys such as "db"): see RequestHandler::setting.
struct Settings {
    bool debug = false;
    std::optional<bool> serve_traceback{};
    std::shared_ptr<const handler_factory> default_handler{};
    // ---- cookies, signed cookies, XSRF, users (section: helper cookies)
    // The secret of signed cookies: one string, or {key_version: secret}
    // with key_version naming the one that signs (all of them verify).
    gale::cookie_secret cookie_secret{};
    std::optional<long long> key_version{};
    // Check the XSRF token of every request but GET, HEAD and OPTIONS.
    bool xsrf_cookies = false;
    // The token xsrf_token() gives: 2 (masked, the default) or 1 (plain hex).
    int xsrf_cookie_version = 2;
    // Options of the "_xsrf" cookie (e.g. {.httponly = true, .secure = true}).
    cookie_options xsrf_cookie_kwargs{};
    // Where `authenticated` sends a GET or HEAD without a current user.
    std::string login_url{};
    // ---- end cookies
    // ---- static files (section: helper static)
    // With static_path, the Application serves its files at
    // static_url_prefix + path, /favicon.ico and /robots.txt with
    // StaticFileHandler, static_handler_args reaching its initialize.
    std::string static_path{};
    std::string static_url_prefix = "/static/";
    struct static_handler_arguments {
        std::string default_filename;  // e.g. "index.html" for a directory's URL
    };
    static_handler_arguments static_handler_args{};
    // Hash each static file once per process (static_url's ?v=, Etag);
    // default: not in debug.
    std::optional<bool> static_hash_cache{};
    // ---- end static
    // ---- response compression, templates, WebSocket (section: lead)
    bool compress_response = false;
    std::string template_path{};
    // Tornado's websocket_max_message_size (10 MiB), websocket_ping_interval
    // and websocket_ping_timeout (none: no keepalive pings).
    std::size_t websocket_max_message_size = 10 * 1024 * 1024;
    std::optional<IOLoop::duration> websocket_ping_interval{};
    std::optional<IOLoop::duration> websocket_ping_timeout{};
    // ---- end lead
    // ---- templates (section: helper templates)
    // The loader of render() (Tornado's template_loader), instead of a
    // Loader over template_path.
    std::shared_ptr<BaseLoader> template_loader{};
    // Keep compiled templates (default: not in debug, so edits show up).
    std::optional<bool> compiled_template_cache{};
    // The function every {{ }} goes through; std::nullopt: none (Tornado's
    // autoescape=None).
    std::optional<std::string> autoescape = "xhtml_escape";
    // "all", "single" or "oneline" for every template (unset: by extension).
    std::optional<std::string> template_whitespace{};
    // Functions every template sees ({"title_join", f}) and the UI modules of
    // {% module Name(...) %} ({"Book", ui_module<BookModule>()}).
    std::map<std::string, ui_method, std::less<>> ui_methods{};
    std::map<std::string, std::shared_ptr<const ui_module_factory>, std::less<>> ui_modules{};
    // ---- end templates
    // ---- autoreload (section: helper process)
    // Re-execute the process when its program, a template or a static file
    // changes (<gale/autoreload.hpp>); default: debug.
    std::optional<bool> autoreload{};
    // ---- end autoreload
    std::map<std::string, std::any, std::less<>> extra{};
};

// ------------------------------------------------------------------ handler

namespace detail {
enum class web_method : std::uint8_t { get, head, post, delete_, patch, put, options };
inline constexpr std::size_t web_method_count = 7;
inline constexpr std::array<std::string_view, web_method_count> web_method_names = {
    "GET", "HEAD", "POST", "DELETE", "PATCH", "PUT", "OPTIONS"};
inline constexpr std::array<std::string_view, web_method_count> web_method_functions = {
    "get", "head", "post", "delete_", "patch", "put", "options"};

inline std::optional<web_method> find_web_method(std::string_view method) {
    for (std::size_t i = 0; i < web_method_count; ++i)
        if (web_method_names[i] == method) return static_cast<web_method>(i);
    return std::nullopt;
}

// Tornado's decode_argument: text that is not UTF-8 is the client's fault,
// web::HTTPError 400 "Invalid unicode in <name>: b'...'" (name "url" for a
// path group; the value's first 40 bytes shown as Python shows bytes).
GALE_DECL void check_utf8_argument(std::string_view value, std::string_view name);

template <class H, class Args>
task<void> run_handler(Application& app, HTTPServerRequest& request, route_params params,
                       const void* factory_args, std::size_t group_count);
}  // namespace detail

class RequestHandler {
public:
    RequestHandler() = default;
    RequestHandler(const RequestHandler&) = delete;
    RequestHandler& operator=(const RequestHandler&) = delete;
    virtual ~RequestHandler() = default;

    // ------------------------------------------------------------ hooks

    // Called from clear(): at the start of the request and again before an
    // error page. Override to set headers every response carries.
    virtual void set_default_headers() {}
    // Writes the error page for send_error (error: the exception, or null).
    virtual void write_error(int status_code, std::exception_ptr error);
    // Called once the response is finished (after the access log line).
    virtual void on_finish() {}

    // ------------------------------------------------------------ input

    HTTPServerRequest& request() const noexcept { return *request_; }
    Application& application() const noexcept { return *application_; }
    const Settings& settings() const noexcept;
    // A user setting from Settings::extra, or null if absent or not a T.
    template <class T>
    const T* setting(std::string_view name) const;

    // The route's groups in order (named groups too, in the pattern's order).
    std::span<const std::string_view> path_args() const noexcept { return path_args_; }
    // The named groups (a group that took no part: nullopt).
    const std::vector<std::pair<std::string, std::optional<std::string>>>& path_kwargs() const noexcept {
        return params_->path_kwargs;
    }
    std::optional<std::string_view> path_kwarg(std::string_view name) const {
        const std::optional<std::string>* v = params_->kwarg(name);
        if (!v || !*v) return std::nullopt;
        return std::string_view(**v);
    }

    // The last value of argument `name` (query and body), control characters
    // replaced by spaces and (with strip) whitespace stripped.
    // MissingArgumentError if absent.
    std::string get_argument(std::string_view name) const { return required(request_->arguments, name); }
    std::string get_argument(std::string_view name, std::string_view default_value, bool strip = true) const {
        return last_of(request_->arguments, name, strip).value_or(std::string(default_value));
    }
    std::optional<std::string> get_argument(std::string_view name, std::nullopt_t, bool strip = true) const {
        return last_of(request_->arguments, name, strip);
    }
    std::vector<std::string> get_arguments(std::string_view name, bool strip = true) const {
        return all_of(request_->arguments, name, strip);
    }
    std::string get_query_argument(std::string_view name) const { return required(request_->query_arguments, name); }
    std::string get_query_argument(std::string_view name, std::string_view default_value, bool strip = true) const {
        return last_of(request_->query_arguments, name, strip).value_or(std::string(default_value));
    }
    std::optional<std::string> get_query_argument(std::string_view name, std::nullopt_t, bool strip = true) const {
        return last_of(request_->query_arguments, name, strip);
    }
    std::vector<std::string> get_query_arguments(std::string_view name, bool strip = true) const {
        return all_of(request_->query_arguments, name, strip);
    }
    std::string get_body_argument(std::string_view name) const { return required(request_->body_arguments, name); }
    std::string get_body_argument(std::string_view name, std::string_view default_value, bool strip = true) const {
        return last_of(request_->body_arguments, name, strip).value_or(std::string(default_value));
    }
    std::optional<std::string> get_body_argument(std::string_view name, std::nullopt_t, bool strip = true) const {
        return last_of(request_->body_arguments, name, strip);
    }
    std::vector<std::string> get_body_arguments(std::string_view name, bool strip = true) const {
        return all_of(request_->body_arguments, name, strip);
    }

    // The request body parsed as JSON (json::parse_error on bad input,
    // which answers 500 unless caught: turn it into web::HTTPError(400) to
    // blame the client). Needs #include <gale/json_parse.hpp> (simdjson),
    // which web.hpp leaves out so that handlers parsing no JSON do not pay
    // for it in compile time.
    template <class Parser = detail::json_text_parser<void>>
    json::value json_body() const {
        static_assert(requires { sizeof(Parser); }, "json_body() needs #include <gale/json_parse.hpp>");
        return Parser::parse(request_->body);
    }

    // ------------------------------------------------------------ output

    // Sets the status; reason defaults to the standard phrase or "Unknown".
    void set_status(int status_code, std::string_view reason = {});
    int get_status() const noexcept { return status_code_; }

    void set_header(std::string_view name, std::string_view value) { headers_.set(name, checked(value)); }
    void add_header(std::string_view name, std::string_view value) { headers_.add(name, checked(value)); }
    template <class N>
        requires std::is_arithmetic_v<N>
    void set_header(std::string_view name, N value) {
        set_header(name, std::string_view(to_url_arg(value)));
    }
    template <class N>
        requires std::is_arithmetic_v<N>
    void add_header(std::string_view name, N value) {
        add_header(name, std::string_view(to_url_arg(value)));
    }
    void clear_header(std::string_view name) { headers_.remove(name); }
    const HTTPHeaders& headers() const noexcept { return headers_; }

    // Resets the headers (Server, Content-Type, Date, then
    // set_default_headers()), the buffered body and the status (200).
    void clear();

    // Buffers text for the body.
    void write(std::string_view chunk);
    void write(const char* chunk) { write(std::string_view(chunk)); }
    // Buffers a JSON object as Tornado's json_encode writes it and sets
    // Content-Type to application/json (objects only, as Tornado).
    template <class J>
        requires(std::same_as<J, json::value> || std::same_as<J, json::object>)
    void write(const J& value) {
        const json::value& chunk = value;
        if (finished_) throw std::logic_error("Cannot write() after finish()");
        if (!chunk.is_object()) {
            std::string message = "write() only accepts bytes, unicode, and dict objects";
            if (chunk.is_array())
                message += ". Lists not accepted for security reasons; see "
                           "http://www.tornadoweb.org/en/stable/web.html#tornado.web.RequestHandler.write";
            throw std::invalid_argument(message);
        }
        write_buffer_ += json::encode(chunk);
        set_header("Content-Type", "application/json; charset=UTF-8");
    }

    // Sends the headers (first time) and the buffered body; awaiting it
    // waits until the data is handed to the kernel. A response flushed
    // before finish is sent chunked (HTTP/1.1).
    task<void> flush();

    // Finishes the response: the automatic ETag (and 304), Content-Length
    // when nothing was flushed, the access log line, then on_finish().
    void finish(std::string_view chunk = {});
    template <class J>
        requires(std::same_as<J, json::value> || std::same_as<J, json::object>)
    void finish(const J& chunk) {
        write(chunk);
        finish();
    }
    bool finished() const noexcept { return finished_; }

    // Redirects to url: 301 if permanent, else 302, or status (300-399).
    void redirect(std::string_view url, bool permanent = false, int status = 0);

    // Answers with an error page (Tornado's send_error); error is the
    // exception being handled, if any (its web::HTTPError reason is used).
    void send_error(int status_code = 500, std::exception_ptr error = nullptr);

    // Tornado's compute_etag: the quoted SHA-1 of the buffered body.
    virtual std::optional<std::string> compute_etag() const;
    void set_etag_header();
    // Whether the request's If-None-Match matches the Etag header set.
    bool check_etag_header() const;

    template <class... Args>
    std::string reverse_url(std::string_view name, const Args&... args) const;

    // ---- cookies, signed cookies, XSRF, users (section: helper cookies)

    // The request's cookies, name -> value (Tornado's self.cookies).
    const cookie_map& cookies() const { return request_->cookies(); }
    // A cookie of the request (cookies set in this request are not seen).
    std::optional<std::string_view> get_cookie(std::string_view name) const;
    std::string get_cookie(std::string_view name, std::string_view default_value) const {
        return std::string(get_cookie(name).value_or(default_value));
    }

    // Sets an outgoing cookie: one Set-Cookie header per name (the last
    // set_cookie of a name wins), written as Tornado writes it. Throws
    // cookie_error ("Invalid cookie 'n': 'v'") for bytes 0-32 in the name or
    // value and for a name Python's http.cookies refuses.
    //   set_cookie("n3", "v3", {.expires_days = 20});
    //   set_cookie("id", id, {.domain = "example.com", .expires = std::chrono::system_clock::now() + 24h,
    //                         .httponly = true, .samesite = "Lax"});
    void set_cookie(std::string_view name, std::string_view value, const cookie_options& options = {});
    // Deletes a cookie: an empty value that expired a year ago (Tornado 6.2;
    // path and domain must be those it was set with).
    void clear_cookie(std::string_view name, std::string_view path = "/", std::string_view domain = {});
    // Deletes every cookie the request carries, in the order it sent them.
    void clear_all_cookies(std::string_view path = "/", std::string_view domain = {});

    // Sets a cookie signed with the cookie_secret setting (and key_version);
    // expires_days = std::nullopt makes a session cookie. Read it back with
    // get_signed_cookie. Throws std::logic_error without a cookie_secret.
    void set_signed_cookie(std::string_view name, std::string_view value, std::optional<double> expires_days = 30,
                           cookie_options options = {}, int version = 2);
    // The signed, timestamped text set_signed_cookie stores (for other uses).
    std::string create_signed_value(std::string_view name, std::string_view value, int version = 2) const;
    // The value of a signed cookie of the request, or std::nullopt if it is
    // missing, forged, older than max_age_days or of a version below
    // min_version. With `value`: that text is checked instead of the cookie.
    std::optional<std::string> get_signed_cookie(std::string_view name, double max_age_days = 31,
                                                 int min_version = 1) const;
    std::optional<std::string> get_signed_cookie(std::string_view name, std::string_view value,
                                                 double max_age_days = 31, int min_version = 1) const;
    // The key version that signed a cookie (or `value`), unverified.
    std::optional<long long> get_signed_cookie_key_version(std::string_view name) const;
    std::optional<long long> get_signed_cookie_key_version(std::string_view, std::string_view value) const;
    // Tornado 6.2's names for the same.
    void set_secure_cookie(std::string_view name, std::string_view value, std::optional<double> expires_days = 30,
                           cookie_options options = {}, int version = 2) {
        set_signed_cookie(name, value, expires_days, std::move(options), version);
    }
    std::optional<std::string> get_secure_cookie(std::string_view name, double max_age_days = 31,
                                                 int min_version = 1) const {
        return get_signed_cookie(name, max_age_days, min_version);
    }
    std::optional<std::string> get_secure_cookie(std::string_view name, std::string_view value,
                                                 double max_age_days = 31, int min_version = 1) const {
        return get_signed_cookie(name, value, max_age_days, min_version);
    }
    std::optional<long long> get_secure_cookie_key_version(std::string_view name) const {
        return get_signed_cookie_key_version(name);
    }
    std::optional<long long> get_secure_cookie_key_version(std::string_view name, std::string_view value) const {
        return get_signed_cookie_key_version(name, value);
    }

    // The user making the request: get_current_user(), called once per
    // request, or what set_current_user gave. std::nullopt or "" is nobody.
    const std::optional<std::string>& current_user();
    // Sets current_user (e.g. from an asynchronous prepare()).
    void set_current_user(std::optional<std::string> user) {
        current_user_ = std::move(user);
        current_user_loaded_ = true;
    }
    // Override to find the user, e.g. `return get_signed_cookie("user");`.
    virtual std::optional<std::string> get_current_user() { return std::nullopt; }
    // Where `authenticated` sends visitors: the login_url setting
    // (std::logic_error without one). Override to choose per request.
    virtual std::string get_login_url();
    // A handler's `authenticated` marker names the methods that need a user:
    //   static constexpr bool authenticated = true;                      // every method
    //   static constexpr auto authenticated = methods::post | methods::delete_;
    // Without a current user, GET and HEAD redirect to
    // get_login_url()?next=<the request's uri> (the full URL when the login
    // URL is absolute; nothing is added when it has a query), others are 403.
    enum class methods : std::uint8_t { get = 1, head = 2, post = 4, delete_ = 8, patch = 16, put = 32, options = 64 };
    friend constexpr methods operator|(methods a, methods b) {
        return static_cast<methods>(static_cast<unsigned>(a) | static_cast<unsigned>(b));
    }

    // The XSRF token of this request: "2|mask|masked token|time" (or plain
    // hex with xsrf_cookie_version = 1). Sets the "_xsrf" cookie when the
    // request has none (xsrf_cookie_kwargs as its options, and 30 days for a
    // logged-in user unless they give expires_days).
    const std::string& xsrf_token();
    // <input type="hidden" name="_xsrf" value="..."/> for a form.
    std::string xsrf_form_html() { return gale::xsrf_form_html(xsrf_token()); }
    // Checks the "_xsrf" argument, else the X-XSRFToken or X-CSRFToken
    // header, against the "_xsrf" cookie: web::HTTPError 403 "'_xsrf'
    // argument missing from POST", "'_xsrf' argument has invalid format" or
    // "XSRF cookie does not match POST argument". Runs before prepare() when
    // xsrf_cookies is on, for methods other than GET, HEAD and OPTIONS;
    // override to exempt a handler.
    virtual void check_xsrf_cookie();

private:
    const Settings& require_cookie_secret() const;
    bool logged_in();
    const xsrf_token_parts& raw_xsrf_token();
    // The request's cookie names in the order of the Cookie header (as
    // Tornado's request.cookies, a dict, iterates them).
    std::vector<std::string> cookie_names_in_order() const;
    // Tornado's _execute: the XSRF check, before prepare().
    void check_xsrf_before_prepare(detail::web_method m);
    template <class H>
    static constexpr bool login_required(detail::web_method m) {
        if constexpr (requires { H::authenticated; }) {
            using marker = std::remove_cvref_t<decltype(H::authenticated)>;
            static_assert(std::is_same_v<marker, bool> || std::is_same_v<marker, methods>,
                          "a handler's `authenticated` is a bool or RequestHandler::methods");
            if constexpr (std::is_same_v<marker, bool>)
                return H::authenticated;
            else
                return (static_cast<unsigned>(H::authenticated) >> static_cast<unsigned>(m)) & 1u;
        } else {
            return false;
        }
    }
    // Tornado's authenticated decorator: whether method m of H may run (it
    // may not: redirected to the login page, or web::HTTPError 403).
    template <class H>
    bool admitted(detail::web_method m) {
        if (!login_required<H>(m) || logged_in()) return true;
        if (m != detail::web_method::get && m != detail::web_method::head) throw web::HTTPError(403);
        std::string url = get_login_url();
        if (url.find('?') == std::string::npos) {
            std::string next = has_url_scheme(url) ? request_->full_url() : request_->uri;
            url += "?next=" + url_escape(next);
        }
        redirect(url);
        return false;
    }
    // urllib's urlsplit(url).scheme is not empty.
    static bool has_url_scheme(std::string_view url);
    void add_cookie_headers();

    std::vector<std::pair<std::string, std::string>> new_cookies_;  // name, Set-Cookie value
    std::optional<std::string> current_user_;
    bool current_user_loaded_ = false;
    std::optional<xsrf_token_parts> raw_xsrf_token_;
    std::optional<std::string> xsrf_token_;

public:
    // ---- end cookies

    // ---- static files (section: helper static)
    // Tornado's static_url: static_url_prefix + path + "?v=<version>" (the
    // SHA-512 of the file under static_path; no ?v= if it cannot be read),
    // after "<protocol>://<host>" with include_host. std::logic_error
    // without the static_path setting.
    std::string static_url(std::string_view path, bool include_host = false, bool include_version = true) const;
    // ---- end static

    // ---- templates (section: helper templates)
    // Tornado's render(): render_string, the UI modules' CSS and JavaScript
    // put in the page, then finish(). render_string(): the template's text.
    // values are the template's names (borrowed), or a template_namespace
    // (for functions). Need #include <gale/web_template.hpp>.
    template <class T = detail::web_templates<void>>
    void render(std::string_view template_name, const json::object& values = {}) {
        static_assert(requires { sizeof(T); }, "render() needs #include <gale/web_template.hpp>");
        T::render(*this, template_name, values);
    }
    template <class T = detail::web_templates<void>>
    void render(std::string_view template_name, const template_namespace& values) {
        static_assert(requires { sizeof(T); }, "render() needs #include <gale/web_template.hpp>");
        T::render(*this, template_name, values);
    }
    template <class T = detail::web_templates<void>>
    std::string render_string(std::string_view template_name, const json::object& values = {}) {
        static_assert(requires { sizeof(T); }, "render_string() needs #include <gale/web_template.hpp>");
        return T::render_string(*this, template_name, values);
    }
    template <class T = detail::web_templates<void>>
    std::string render_string(std::string_view template_name, const template_namespace& values) {
        static_assert(requires { sizeof(T); }, "render_string() needs #include <gale/web_template.hpp>");
        return T::render_string(*this, template_name, values);
    }
    // The directory of the templates: the template_path setting.
    virtual std::string get_template_path() { return settings().template_path; }
    // Adds names to (or replaces names of) the namespace every template of
    // this handler sees, after the standard ones.
    virtual void get_template_namespace(template_namespace& /*ns*/) {}

    // Tornado's locale: get_user_locale(), else get_browser_locale(), once
    // per request (set_locale replaces it). Needs #include <gale/web_locale.hpp>.
    template <class L = detail::web_locale<void>>
    const gale::locale::Locale& locale() {
        static_assert(requires { sizeof(L); }, "locale() needs #include <gale/web_locale.hpp>");
        if (!locale_) locale_ = get_user_locale();
        if (!locale_) locale_ = &get_browser_locale<L>();
        return *locale_;
    }
    void set_locale(const gale::locale::Locale& l) noexcept { locale_ = &l; }
    // Override to choose the locale (e.g. the user's); nullptr: the browser's.
    virtual const gale::locale::Locale* get_user_locale() { return nullptr; }
    // The Accept-Language header's best supported locale, else default_code's.
    template <class L = detail::web_locale<void>>
    const gale::locale::Locale& get_browser_locale(std::string_view default_code = "en_US") {
        static_assert(requires { sizeof(L); }, "get_browser_locale() needs #include <gale/web_locale.hpp>");
        return L::browser_locale(*this, default_code);
    }

private:
    template <class>
    friend struct detail::web_templates;
    const gale::locale::Locale* locale_ = nullptr;
    std::shared_ptr<detail::handler_templates> templates_;

public:
    // ---- end templates

private:
    template <class H, class Args>
    friend task<void> detail::run_handler(Application&, HTTPServerRequest&, route_params, const void*, std::size_t);

    static std::string_view checked(std::string_view value);
    static std::optional<std::string> last_of(const argument_map& map, std::string_view name, bool strip);
    static std::vector<std::string> all_of(const argument_map& map, std::string_view name, bool strip);
    static std::string required(const argument_map& map, std::string_view name);
    std::string take_buffer();
    // finishing: chunk is the whole body.
    void send_headers(std::string_view chunk, bool finishing);
    // Tornado's GZipContentEncoding (compress_response): Vary always;
    // gzip when the client accepts it, the type is text/* or a listed
    // one, the body is not already encoded and, if it is all here, at
    // least 1024 bytes. Returns the chunk to send (kept in storage).
    std::string_view compress_first_chunk(std::string_view chunk, bool finishing, std::string& storage);
    std::string request_summary() const;
    void log_request() const;
    void handle_request_exception(std::exception_ptr error);

protected:
    // Tornado's log_exception: an HTTPError's log_message as a warning, any
    // other exception as "Uncaught exception GET /x (ip)" with the request.
    void log_exception(std::exception_ptr error) const;
    // Whether what is written is transformed before it is sent (gzipped by
    // compress_response); known once the headers are out.
    bool body_transformed() const noexcept { return gzip_ != nullptr; }

private:
    std::unique_ptr<detail::gzip_compressor> gzip_;  // set once the response is gzipped
    Application* application_ = nullptr;
    HTTPServerRequest* request_ = nullptr;
    const route_params* params_ = nullptr;
    std::span<const std::string_view> path_args_{};
    HTTPHeaders headers_;
    std::string write_buffer_;
    int status_code_ = 200;
    std::string reason_ = "OK";
    bool headers_written_ = false;
    bool finished_ = false;
    // The methods the handler defines, for the Allow header of a 405.
    std::string_view allow_{};
    bool method_not_allowed_ = false;
};

// ------------------------------------------------------------------ methods found at compile time

namespace detail {

template <std::size_t>
using path_arg_t = std::string_view;

template <web_method M>
struct web_call;
template <>
struct web_call<web_method::get> {
    template <class H, class... A>
    static auto call(H& h, A... a) -> decltype(h.get(a...)) { return h.get(a...); }
    template <class H>
    static constexpr bool named = requires { requires std::is_member_function_pointer_v<decltype(&H::get)>; };
};
template <>
struct web_call<web_method::head> {
    template <class H, class... A>
    static auto call(H& h, A... a) -> decltype(h.head(a...)) { return h.head(a...); }
    template <class H>
    static constexpr bool named = requires { requires std::is_member_function_pointer_v<decltype(&H::head)>; };
};
template <>
struct web_call<web_method::post> {
    template <class H, class... A>
    static auto call(H& h, A... a) -> decltype(h.post(a...)) { return h.post(a...); }
    template <class H>
    static constexpr bool named = requires { requires std::is_member_function_pointer_v<decltype(&H::post)>; };
};
template <>
struct web_call<web_method::delete_> {
    template <class H, class... A>
    static auto call(H& h, A... a) -> decltype(h.delete_(a...)) { return h.delete_(a...); }
    template <class H>
    static constexpr bool named = requires { requires std::is_member_function_pointer_v<decltype(&H::delete_)>; };
};
template <>
struct web_call<web_method::patch> {
    template <class H, class... A>
    static auto call(H& h, A... a) -> decltype(h.patch(a...)) { return h.patch(a...); }
    template <class H>
    static constexpr bool named = requires { requires std::is_member_function_pointer_v<decltype(&H::patch)>; };
};
template <>
struct web_call<web_method::put> {
    template <class H, class... A>
    static auto call(H& h, A... a) -> decltype(h.put(a...)) { return h.put(a...); }
    template <class H>
    static constexpr bool named = requires { requires std::is_member_function_pointer_v<decltype(&H::put)>; };
};
template <>
struct web_call<web_method::options> {
    template <class H, class... A>
    static auto call(H& h, A... a) -> decltype(h.options(a...)) { return h.options(a...); }
    template <class H>
    static constexpr bool named = requires { requires std::is_member_function_pointer_v<decltype(&H::options)>; };
};

inline constexpr std::size_t max_path_args = 8;

template <class H, web_method M, class Seq>
struct takes_n;
template <class H, web_method M, std::size_t... I>
struct takes_n<H, M, std::index_sequence<I...>> {
    static constexpr bool value = requires(H& h) { web_call<M>::call(h, path_arg_t<I>{}...); };
};
template <class H, web_method M, std::size_t N>
inline constexpr bool takes_v = takes_n<H, M, std::make_index_sequence<N>>::value;
template <class H, web_method M>
inline constexpr bool takes_span_v =
    requires(H& h, std::span<const std::string_view> a) { web_call<M>::call(h, a); };

// Which numbers of string_view arguments method M of H takes (bit N), and
// whether it takes a span of them (any number).
struct method_shape {
    std::uint16_t arities = 0;
    bool variadic = false;
    constexpr bool defined() const noexcept { return arities != 0 || variadic; }
    constexpr bool accepts(std::size_t n) const noexcept { return variadic || (n <= max_path_args && (arities >> n) & 1u); }
};

template <class H, web_method M>
constexpr method_shape shape_of() {
    method_shape s;
    [&]<std::size_t... N>(std::index_sequence<N...>) {
        ((s.arities |= takes_v<H, M, N> ? std::uint16_t(1u << N) : std::uint16_t(0)), ...);
    }(std::make_index_sequence<max_path_args + 1>{});
    s.variadic = takes_span_v<H, M>;
    return s;
}

template <class H>
constexpr std::array<method_shape, web_method_count> shapes_of() {
    return {shape_of<H, web_method::get>(),   shape_of<H, web_method::head>(),  shape_of<H, web_method::post>(),
            shape_of<H, web_method::delete_>(), shape_of<H, web_method::patch>(), shape_of<H, web_method::put>(),
            shape_of<H, web_method::options>()};
}

// A method named like an HTTP method that takes no std::string_view
// arguments (std::string, int...) would silently answer 405: refuse it.
template <class H, web_method M>
constexpr bool misdeclared() {
    if constexpr (web_call<M>::template named<H>)
        return !shape_of<H, M>().defined();
    else
        return false;
}

template <class H>
struct allow_text {
    static constexpr auto shapes = shapes_of<H>();
    static constexpr std::size_t length = [] {
        std::size_t n = 0;
        for (std::size_t i = 0; i < web_method_count; ++i)
            if (shapes[i].defined()) n += web_method_names[i].size() + (n ? 2 : 0);
        return n;
    }();
    static constexpr std::array<char, length + 1> text = [] {
        std::array<char, length + 1> out{};
        std::size_t k = 0;
        for (std::size_t i = 0; i < web_method_count; ++i) {
            if (!shapes[i].defined()) continue;
            if (k) {
                out[k++] = ',';
                out[k++] = ' ';
            }
            for (char c : web_method_names[i]) out[k++] = c;
        }
        return out;
    }();
    static constexpr std::string_view value{text.data(), length};
};

// Calls method M with n = args.size() arguments; a void method returns an
// empty task.
template <class H, web_method M>
task<void> start_method(H& h, std::span<const std::string_view> args) {
    task<void> result;
    auto take = [&](auto&& r) {
        if constexpr (!std::is_void_v<std::remove_cvref_t<decltype(r)>>) result = std::move(r);
    };
    if constexpr (takes_span_v<H, M>) {
        if constexpr (std::is_void_v<decltype(web_call<M>::call(h, args))>)
            web_call<M>::call(h, args);
        else
            result = web_call<M>::call(h, args);
    } else {
        [&]<std::size_t... N>(std::index_sequence<N...>) {
            (
                [&] {
                    if constexpr (takes_v<H, M, N>) {
                        if (args.size() != N) return;
                        [&]<std::size_t... I>(std::index_sequence<I...>) {
                            using R = decltype(web_call<M>::call(h, path_arg_t<I>{}...));
                            if constexpr (std::is_void_v<R>)
                                web_call<M>::call(h, args[I]...);
                            else
                                take(web_call<M>::call(h, args[I]...));
                        }(std::make_index_sequence<N>{});
                    }
                }(),
                ...);
        }(std::make_index_sequence<max_path_args + 1>{});
    }
    return result;
}

template <class H>
task<void> start_web_method(H& h, web_method m, std::span<const std::string_view> args) {
    switch (m) {
        case web_method::get: return start_method<H, web_method::get>(h, args);
        case web_method::head: return start_method<H, web_method::head>(h, args);
        case web_method::post: return start_method<H, web_method::post>(h, args);
        case web_method::delete_: return start_method<H, web_method::delete_>(h, args);
        case web_method::patch: return start_method<H, web_method::patch>(h, args);
        case web_method::put: return start_method<H, web_method::put>(h, args);
        case web_method::options: return start_method<H, web_method::options>(h, args);
    }
    return {};
}

template <class H, class... A>
constexpr bool can_initialize(std::tuple<A...>*) {
    return requires(H& h, const A&... a) { h.initialize(a...); };
}

template <class H>
task<void> start_prepare(H& h) {
    if constexpr (requires { h.prepare(); }) {
        if constexpr (std::is_void_v<decltype(h.prepare())>)
            h.prepare();
        else
            return h.prepare();
    }
    return {};
}

}  // namespace detail

// ------------------------------------------------------------------ factories and rules

// How a route makes its handler: the handler type's run function, the
// arguments for its initialize, and the methods it defines (from handler<H>).
struct handler_factory {
    task<void> (*run)(Application&, HTTPServerRequest&, route_params, const void*, std::size_t) = nullptr;
    std::shared_ptr<const void> args;
    std::array<detail::method_shape, detail::web_method_count> shapes{};

    // Throws std::invalid_argument if a method cannot take `groups` arguments.
    void check(std::size_t groups, std::string_view pattern) const;
};

// A route's handler: each request gets a fresh H; if H has
// initialize(args...), it is called with copies of args (Tornado's
// initialize(**kwargs)), after set_default_headers and before prepare.
template <class H, class... Args>
std::shared_ptr<const handler_factory> handler(Args&&... args) {
    static_assert(std::is_base_of_v<RequestHandler, H>, "a handler derives from gale::RequestHandler");
    static_assert(std::is_default_constructible_v<H>, "a handler is default-constructible (use initialize)");
    static_assert(!detail::misdeclared<H, detail::web_method::get>() &&
                      !detail::misdeclared<H, detail::web_method::head>() &&
                      !detail::misdeclared<H, detail::web_method::post>() &&
                      !detail::misdeclared<H, detail::web_method::delete_>() &&
                      !detail::misdeclared<H, detail::web_method::patch>() &&
                      !detail::misdeclared<H, detail::web_method::put>() &&
                      !detail::misdeclared<H, detail::web_method::options>(),
                  "an HTTP method of a handler takes std::string_view arguments (one per group) "
                  "or one std::span<const std::string_view>");
    using tuple_type = std::tuple<std::decay_t<Args>...>;
    if constexpr (sizeof...(Args) > 0)
        static_assert(detail::can_initialize<H>(static_cast<tuple_type*>(nullptr)),
                      "handler<H>(args...): H needs initialize(args...) taking those arguments");
    auto f = std::make_shared<handler_factory>();
    f->run = &detail::run_handler<H, tuple_type>;
    f->args = std::make_shared<const tuple_type>(std::forward<Args>(args)...);
    f->shapes = detail::shapes_of<H>();
    return f;
}

// One rule of an Application: a path pattern, its handler, a name for
// reverse_url.
struct URLSpec {
    std::string pattern;
    std::shared_ptr<const handler_factory> factory;
    std::string name{};

    URLSpec(std::string_view pattern_, std::shared_ptr<const handler_factory> factory_, std::string name_ = {})
        : pattern(pattern_), factory(std::move(factory_)), name(std::move(name_)) {}
};

inline URLSpec url(std::string_view pattern, std::shared_ptr<const handler_factory> factory, std::string name = {}) {
    return URLSpec(pattern, std::move(factory), std::move(name));
}

// ------------------------------------------------------------------ Application

class Application {
public:
    explicit Application(std::vector<URLSpec> rules = {}, Settings settings = {});
    Application(const Application&) = delete;
    Application& operator=(const Application&) = delete;

    // Rules for requests whose host (without port) matches host_pattern;
    // tried before the rules given to the constructor, in the order added.
    void add_handlers(std::string_view host_pattern, std::vector<URLSpec> rules);

    const Settings& settings() const noexcept { return settings_; }

    // The path of the rule named `name` with args in its groups
    // (std::out_of_range "<name> not found in named urls" if there is none).
    template <class... Args>
    std::string reverse_url(std::string_view name, const Args&... args) const {
        std::vector<std::string> v{to_url_arg(args)...};
        for (const host_group& g : hosts_)
            for (const route& r : g.routes)
                if (!r.name.empty() && r.name == name) return *r.matcher.reverse(v);
        throw url_not_found(name);
    }

    // The HTTPServer callback: routes the request and runs its handler.
    task<void> operator()(HTTPServerRequest& request);

    // Starts an HTTPServer for this application; returns the bound port.
    std::uint16_t listen(std::uint16_t port, std::string_view address = "", HTTPServerOptions options = {});
    // Stops accepting on every server started by listen().
    void stop();
    // Stops accepting, closes every connection and waits for them to end.
    task<void> close_all_connections();
    // ---- graceful shutdown (section: helper process)
    // Stops accepting, closes idle connections, lets the requests in flight
    // finish within `grace` (none: no limit), then closes what is left: see
    // HTTPServer::shutdown. gale::shutdown_on_signal (<gale/process.hpp>)
    // runs it on SIGTERM or SIGINT.
    task<void> shutdown(std::optional<IOLoop::duration> grace = std::nullopt) {
        stop();
        // Copied first: a callback may remove its own entry.
        std::vector<std::function<void()>> going_away(shutdown_callbacks_.begin(), shutdown_callbacks_.end());
        for (auto& callback : going_away) callback();
        std::optional<IOLoop::time_point> deadline;
        if (grace) deadline = IOLoop::current().time() + *grace;
        for (auto& s : servers_) {
            std::optional<IOLoop::duration> left;
            if (deadline) left = std::max(IOLoop::duration::zero(), *deadline - IOLoop::current().time());
            co_await s->shutdown(left);
        }
    }
    // Calls fn when shutdown() begins: what has left HTTP (a WebSocket
    // connection) closes itself there, with 1001 "Going away". Remove it
    // with the handle returned once it is no longer needed.
    using shutdown_callbacks = std::list<std::function<void()>>;
    shutdown_callbacks::iterator add_shutdown_callback(std::function<void()> fn) {
        return shutdown_callbacks_.insert(shutdown_callbacks_.end(), std::move(fn));
    }
    void remove_shutdown_callback(shutdown_callbacks::iterator handle) { shutdown_callbacks_.erase(handle); }
    // ---- end graceful shutdown
    const std::vector<std::unique_ptr<HTTPServer>>& servers() const noexcept { return servers_; }

    // Tornado's log_request: the access log line, its level by status.
    void log_request(const RequestHandler& handler) const;

private:
    struct route {
        PathMatches matcher;
        std::shared_ptr<const handler_factory> factory;
        std::string name;
        std::size_t groups;
    };
    struct host_group {
        std::shared_ptr<const HostMatches> host;  // null: any host
        std::vector<route> routes;
    };

    static std::vector<route> compile(const std::vector<URLSpec>& rules);

    Settings settings_;
    std::vector<host_group> hosts_;
    std::shared_ptr<const handler_factory> not_found_;
    std::vector<std::unique_ptr<HTTPServer>> servers_;
    // ---- templates (section: helper templates)
    template <class>
    friend struct detail::web_templates;
    std::shared_ptr<detail::template_loaders> template_loaders_;
    // ---- end templates
    // ---- graceful shutdown (section: helper process)
    shutdown_callbacks shutdown_callbacks_;
    // ---- end graceful shutdown
};

// ------------------------------------------------------------------ RequestHandler members needing Application

inline const Settings& RequestHandler::settings() const noexcept { return application_->settings(); }

template <class T>
const T* RequestHandler::setting(std::string_view name) const {
    const auto& extra = application_->settings().extra;
    auto it = extra.find(name);
    if (it == extra.end()) return nullptr;
    return std::any_cast<T>(&it->second);
}

template <class... Args>
std::string RequestHandler::reverse_url(std::string_view name, const Args&... args) const {
    return application_->reverse_url(name, args...);
}

// ------------------------------------------------------------------ the request's life

namespace detail {

// Reads the request's body and parses its arguments, unless the server
// already did (HTTPServerOptions::read_body).
GALE_DECL task<void> read_whole_body(HTTPServerRequest& request);

// Hands the body to the handler's data_received (Tornado's
// stream_request_body): each piece as it arrives, the next one once
// data_received (void or task<void>) is done.
template <class H>
task<void> stream_body(H& h, HTTPServerRequest& request) {
    co_await request.connection->read_body_into([&h](std::string_view piece) -> task<void> {
        if constexpr (std::same_as<decltype(h.data_received(piece)), task<void>>)
            co_await h.data_received(piece);
        else
            h.data_received(piece);
    });
}

// A handler hears of the client leaving when it defines on_connection_close.
template <class H>
inline constexpr bool watches_close = requires(H& h) { h.on_connection_close(); };

// Calls the handler's on_connection_close at most once, and not once the
// handler is gone (handler null: the close callback may run later).
template <class H>
struct close_watch {
    explicit close_watch(H* h) : handler(h) {}
    H* handler;
    bool told = false;
    void tell() {
        if (handler && !told && !handler->finished()) {
            told = true;
            handler->on_connection_close();
        }
    }
};

// A handler streams its request body when it defines data_received.
template <class H>
inline constexpr bool streams_body = requires(H& h, std::string_view piece) { h.data_received(piece); };

template <class H, class Args>
task<void> run_handler(Application& app, HTTPServerRequest& request, route_params params, const void* factory_args,
                       std::size_t group_count) {
    // As Tornado, a handler that does not stream is made once the body is in
    // (an HTTPInputError here is the server's 400).
    if constexpr (!streams_body<H>)
        if (!request.connection->read_finished()) co_await read_whole_body(request);
    H h;
    RequestHandler& base = h;
    base.application_ = &app;
    base.request_ = &request;
    base.params_ = &params;
    base.allow_ = allow_text<H>::value;
    // The groups as views: positional groups, else the named ones in order.
    std::array<std::string_view, max_path_args> small{};
    std::vector<std::string_view> large;
    std::span<std::string_view> views;
    if (group_count <= max_path_args)
        views = std::span<std::string_view>(small.data(), group_count);
    else {
        large.resize(group_count);
        views = large;
    }
    for (std::size_t i = 0; i < group_count; ++i) {
        const std::optional<std::string>* g = nullptr;
        if (i < params.path_args.size())
            g = &params.path_args[i];
        else if (i < params.path_kwargs.size())
            g = &params.path_kwargs[i].second;
        if (g && *g) views[i] = **g;
    }
    base.path_args_ = views;
    // on_connection_close is called once if the client leaves while the
    // handler runs.
    std::shared_ptr<close_watch<H>> watch;
    if constexpr (watches_close<H>) {
        watch = std::make_shared<close_watch<H>>(&h);
        request.connection->set_close_callback([watch] { watch->tell(); });
    }

    std::exception_ptr error;
    bool client_left = false;
    try {
        base.clear();
        for (std::string_view arg : views) check_utf8_argument(arg, "url");
        if constexpr (std::tuple_size_v<Args> > 0)
            std::apply([&](const auto&... a) { h.initialize(a...); }, *static_cast<const Args*>(factory_args));
        else if constexpr (requires { h.initialize(); })
            h.initialize();  // Tornado calls initialize() for every rule, with or without kwargs
        std::optional<web_method> method = find_web_method(request.method);
        if (!method) {
            base.method_not_allowed_ = true;
            throw web::HTTPError(405);
        }
        base.check_xsrf_before_prepare(*method);
        task<void> prepared = start_prepare(h);
        if (prepared.valid()) co_await std::move(prepared);
        if constexpr (streams_body<H>) {
            if (!base.finished_ && !request.connection->read_finished()) {
                try {
                    co_await stream_body(h, request);
                } catch (const StreamClosedError&) {
                    client_left = true;  // nothing to answer
                }
            }
        }
        if (!base.finished_ && !client_left) {
            if (!allow_text<H>::shapes[static_cast<std::size_t>(*method)].defined()) {
                base.method_not_allowed_ = true;
                throw web::HTTPError(405);
            }
            task<void> work = base.admitted<H>(*method) ? start_web_method(h, *method, views) : task<void>();
            if (work.valid()) co_await std::move(work);
            if (!base.finished_) base.finish();
        }
    } catch (...) {
        error = std::current_exception();
    }
    if constexpr (watches_close<H>) {
        if (client_left) watch->tell();  // before the posted close callback could
        watch->handler = nullptr;
        if (!client_left) request.connection->set_close_callback(nullptr);
    }
    if (error) {
        try {
            base.handle_request_exception(error);
        } catch (...) {
            log(app_log, log_level::error, "web", 1742, "Exception in exception handler: {}",
                describe_current_exception());
        }
    }
}

}  // namespace detail

// ------------------------------------------------------------------ built-in handlers

// Redirects every GET to url, "{0}", "{1}"... replaced by the groups and
// "{name}" by named groups (Python's str.format with plain fields), the
// request's query appended. 301 when permanent (the default), else 302.
class RedirectHandler : public RequestHandler {
public:
    void initialize(const std::string& url, bool permanent = true) {
        url_ = url;
        permanent_ = permanent;
    }
    task<void> get(std::span<const std::string_view> args);

private:
    std::string url_;
    bool permanent_ = true;
};

// Answers every request with web::HTTPError(status_code) (the 404 of an
// unmatched path is this handler with 404).
class ErrorHandler : public RequestHandler {
public:
    void initialize(int status_code) { code_ = status_code; }
    void prepare() { throw web::HTTPError(code_); }

private:
    int code_ = 500;
};

// ---- StaticFileHandler (section: helper static)

// Serves the files under a directory (Tornado's StaticFileHandler), routed
// as {R"(/static/(.*))", handler<StaticFileHandler>(root[, default_filename])}:
// GET and HEAD with Accept-Ranges, Etag (the quoted SHA-512 of the file),
// Last-Modified, Content-Type by extension, 304 for If-None-Match (else
// If-Modified-Since), one byte range (206 / 416), Cache-Control and Expires
// of ten years when the URL has a "v" argument; 403 for a path outside the
// root or that is no file, 404 for a missing one. A directory's URL serves
// default_filename, redirecting first to the URL with a trailing slash.
// The file is read and sent 64 KiB at a time, waiting for each piece to
// reach the kernel. Subclasses may override the hooks below.
class StaticFileHandler : public RequestHandler {
public:
    static constexpr std::int64_t CACHE_MAX_AGE = 86400LL * 365 * 10;

    void initialize(const std::string& path, const std::string& default_filename = {}) {
        root_ = path;
        default_filename_ = default_filename;
    }

    task<void> get(std::string_view path) { return serve(path, true); }
    task<void> head(std::string_view path) { return serve(path, false); }

    // The Etag: the file's version, quoted (none if it cannot be read).
    std::optional<std::string> compute_etag() const override;

    // Seconds a response may be cached: CACHE_MAX_AGE for a versioned URL
    // (a "v" argument), else 0 (no Expires, no Cache-Control).
    virtual std::int64_t get_cache_time(std::string_view /*path*/, std::int64_t /*modified*/,
                                        std::string_view /*mime_type*/);
    // For subclasses: headers to add to every file response.
    virtual void set_extra_headers(std::string_view /*path*/) {}
    // The Content-Type: by extension, as Python's mimetypes (see static_files.hpp).
    virtual std::string get_content_type() const;

    // The URL path of static_path's `path` (static_url without the host).
    static std::string make_static_url(const Settings& settings, std::string_view path, bool include_version = true);
    // The version of static_path's `path`: the SHA-512 of the file in hex.
    static std::optional<std::string> get_version(const Settings& settings, std::string_view path);
    // Forgets every cached version (Tornado's StaticFileHandler.reset).
    static void reset() { detail::static_files::reset_version_cache(); }
    // os.path.abspath(os.path.join(root, path)).
    static std::string get_absolute_path(std::string_view root, std::string_view path) {
        return detail::static_files::posix_abspath(detail::static_files::posix_join(root, path));
    }

    // The request's path relative to the root, the file's absolute path and
    // modification time (seconds since the epoch), once validated.
    const std::string& path() const noexcept { return path_; }
    const std::string& absolute_path() const noexcept { return absolute_path_; }
    std::int64_t modified() const noexcept { return modified_; }

private:
    static bool use_hash_cache(const Settings& settings) { return settings.static_hash_cache.value_or(!settings.debug); }

    task<void> serve(std::string_view url_path, bool include_body);
    bool validate_absolute_path(std::string absolute);
    void set_headers();
    bool should_return_304() const;
    task<void> send_content(std::int64_t start, std::int64_t end);

    std::string root_;
    std::string default_filename_;
    std::string path_;
    std::string absolute_path_;
    std::int64_t modified_ = 0;
    std::int64_t size_ = 0;
};

namespace detail {

// Python's re.escape (3.7 and later: only the special characters).
GALE_DECL std::string regex_escape(std::string_view text);

}  // namespace detail

// ---- end static

}  // namespace gale

#if GALE_HEADER_ONLY
#include "impl/web.ipp"
#endif
