// Templates in the web framework (Tornado's RequestHandler.render,
// render_string, get_template_namespace, UIModule and the ui_methods /
// ui_modules settings): include this header where a handler renders.
// web.hpp declares render() and render_string() but leaves the template
// engine out, so that a handler that renders nothing does not compile it.
//
//   #include <gale/web_template.hpp>
//   struct Book : gale::UIModule {                          // {% module Book(book) %}
//       using UIModule::UIModule;
//       std::string render(const gale::template_args& a) override {
//           return render_string("modules/book.html", {{"book", a[0]}});
//       }
//       std::string embedded_css() override { return ".book { margin: 1em; }"; }
//   };
//   struct Home : gale::RequestHandler {
//       gale::task<void> get() {
//           render("index.html", {{"houses", houses}});  // values are borrowed
//           co_return;
//       }
//   };
//   gale::Application app({{"/", gale::handler<Home>()}},
//       {.template_path = "templates", .static_path = "static",
//        .ui_methods = {{"title_join", title_join}}, .ui_modules = {{"Book", gale::ui_module<Book>()}}});
//
// Synopsis (namespace gale):
//   RequestHandler::render(name, const json::object& values = {})   render_string, the UI modules'
//       resources put in the page as Tornado's render does, then finish(); std::logic_error after finish()
//   RequestHandler::render(name, const template_namespace& values)  the same, with functions among the values
//   RequestHandler::render_string(name, values) -> std::string
//   virtual RequestHandler::get_template_path()   the template_path setting (empty: the current directory)
//   virtual RequestHandler::get_template_namespace(template_namespace& ns)  adds or replaces names
//   class UIModule(RequestHandler&)     derive; render(const template_args&) -> std::string, and
//       embedded_javascript() embedded_css() html_head() html_body() -> std::string ("" = none),
//       javascript_files() css_files() -> std::vector<std::string> (relative paths go through
//       static_url); handler() request() current_user() locale() render_string(path, values)
//   ui_module<M>()                      a UIModule type for Settings::ui_modules
//   Settings: template_path, template_loader, compiled_template_cache (default !debug), autoescape
//       ("xhtml_escape"; std::nullopt: off), template_whitespace, ui_methods
//       ({name, [](RequestHandler&, const template_args&) -> json::value}), ui_modules
//
// The names a template sees, in this order (the first wins): the values
// given to render; the names get_template_namespace adds; the handler's:
// request (an object: method uri path query version remote_ip protocol host
// host_name headers arguments, text values; a header or argument given
// several times is joined by "," / listed), handler (an object: request,
// current_user, path_args, path_kwargs, settings: debug static_path
// static_url_prefix template_path login_url xsrf_cookies and the extra
// settings holding text, numbers, booleans or json), current_user (text or None),
// locale (an object: code name name_en rtl), _(message[, plural_message,
// count]) and pgettext(context, message[, plural_message, count]) (the
// handler's locale: <gale/web_locale.hpp> is included here), static_url(path,
// include_host=False, include_version=True), xsrf_form_html(), reverse_url(name,
// *args); the
// ui_methods; then the template engine's defaults (escape, url_escape,
// json_encode, squeeze, linkify...) and built-ins. `{% module Name(args) %}`
// calls the ui_modules, plus Tornado's three: linkify(text, **kwargs),
// xsrf_form_html() and Template(path, **kwargs) (renders path with only
// kwargs and set_resources(**kwargs) as its own names; set_resources'
// javascript_files, css_files, embedded_javascript, embedded_css, html_head
// and html_body join the page's once per path). Each UI module is made on
// first use in a request (one object per name) and its resources are
// gathered in that order.
//
// Loading: one Loader per template path per Application, made on first use
// with the autoescape, template_whitespace and compiled_template_cache
// settings, kept for the Application's life (template_loader replaces it).
// A template error (ParseError, or a template_error while rendering, both
// naming the file and line: "index.html:3: NameError: name 'x' is not
// defined") is an ordinary exception: logged with that text, and a 500
// whose page shows it with serve_traceback / debug.
//
// Where gale differs from Tornado 6.2, and why:
// - Values are json values, not Python objects: `handler`, `request`,
//   `locale` and `current_user` are data (objects and text) a template
//   reads, not objects whose methods it can call (handler.settings has no
//   secrets and only the extra settings a template can print): add what a
//   template needs with get_template_namespace. render_string returns text
//   (Tornado: bytes).
// - get_template_namespace adds to the namespace instead of returning it,
//   and runs once per request (its names are reused by each render); the
//   values given to render win over its names, as in Tornado.
// - ui_methods and ui_modules are given by name (Tornado also takes Python
//   modules and lists of them, and skips names starting with "_" or a capital
//   in ui_methods; gale skips the same names). There is no create_template_loader
//   to override: set the template_loader setting. render_linked_js,
//   render_embed_js, render_linked_css and render_embed_css are not hooks.
// - A page without "</body>" (or "</head>") where a module's resources must
//   go throws std::invalid_argument (Tornado's ValueError: substring not found).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "detail/config.hpp"
#include "escape.hpp"
#include "template.hpp"
#include "web.hpp"
#include "web_locale.hpp"

namespace gale {

// A reusable piece of page (Tornado's UIModule): one object per name and
// request, made on the first {% module Name(...) %}.
class UIModule {
public:
    explicit UIModule(RequestHandler& handler) : handler_(handler) {}
    virtual ~UIModule() = default;
    UIModule(const UIModule&) = delete;
    UIModule& operator=(const UIModule&) = delete;

    // The module's HTML, written unescaped where the module is called.
    virtual std::string render(const template_args& args) = 0;
    // Resources for the page render() finishes; "" or {} when none.
    virtual std::string embedded_javascript() { return {}; }
    virtual std::vector<std::string> javascript_files() { return {}; }
    virtual std::string embedded_css() { return {}; }
    virtual std::vector<std::string> css_files() { return {}; }
    virtual std::string html_head() { return {}; }
    virtual std::string html_body() { return {}; }

    RequestHandler& handler() const noexcept { return handler_; }
    HTTPServerRequest& request() const noexcept { return handler_.request(); }
    const std::optional<std::string>& current_user() const { return handler_.current_user(); }
    const gale::locale::Locale& locale() const { return handler_.locale(); }
    std::string render_string(std::string_view path, const json::object& values = {}) {
        return handler_.render_string(path, values);
    }
    std::string render_string(std::string_view path, const template_namespace& values) {
        return handler_.render_string(path, values);
    }

private:
    RequestHandler& handler_;
};

// How Settings::ui_modules makes a module (ui_module<M>()).
struct ui_module_factory {
    std::unique_ptr<UIModule> (*make)(RequestHandler&) = nullptr;
};

template <class M>
std::shared_ptr<const ui_module_factory> ui_module() {
    static_assert(std::is_base_of_v<UIModule, M>, "a UI module derives from gale::UIModule");
    static_assert(std::is_constructible_v<M, RequestHandler&>, "a UI module is made from the RequestHandler&");
    return std::make_shared<const ui_module_factory>(
        ui_module_factory{[](RequestHandler& h) -> std::unique_ptr<UIModule> { return std::make_unique<M>(h); }});
}

namespace detail {

namespace ui {

using module_map = decltype(Settings::ui_modules);

}  // namespace ui

// An Application's loaders: one per template path (or the template_loader setting).
struct template_loaders {
    std::mutex mutex;
    std::map<std::string, std::shared_ptr<BaseLoader>, std::less<>> by_path;
};

// What render() keeps for one request: the UI modules used, in order of
// first use, and the handler's names (made by the first render).
struct handler_templates {
    std::vector<std::pair<std::string, std::unique_ptr<UIModule>>> active_modules;
    std::unique_ptr<template_namespace> names;
};

template <>
struct web_templates<void> {
    template <class Values>
    static std::string render_string(RequestHandler& h, std::string_view name, const Values& values) {
        Template t = loader(h).load(name);
        std::string out;
        if constexpr (std::is_same_v<Values, json::object>) {
            template_namespace ns(&handler_names(h));
            ns.update_ref(values);
            t.generate(ns, out);
        } else {
            // The caller's names first, the handler's under them.
            template_namespace ns(&values);
            ns.set_fallback(&handler_names(h));
            t.generate(ns, out);
        }
        return out;
    }

    template <class Values>
    static void render(RequestHandler& h, std::string_view name, const Values& values) {
        if (h.finished()) throw std::logic_error("Cannot render() after finish()");
        std::string html = render_string(h, name, values);
        if (h.templates_) add_module_resources(h, html);
        h.finish(html);
    }

private:
    static handler_templates& state(RequestHandler& h);

    // Tornado's create_template_loader, kept per path as _template_loaders.
    static BaseLoader& loader(RequestHandler& h);

    static const template_namespace& handler_names(RequestHandler& h);

    // Tornado's get_template_namespace and handler.ui.
    static void add_handler_names(RequestHandler& h, template_namespace& ns);

    // Tornado's _ui_module: the module object for the name, made on first
    // use. (Two pointers: the function keeps them without allocating.)
    static template_function module_hook(RequestHandler& h, const ui::module_map::value_type& module);

    static json::value user_value(RequestHandler& h);

    // Tornado's `handler` in a template, as data: what templates read of it.
    static json::value handler_object(RequestHandler& h);

    // The settings a template may read (no secrets), and the extra ones
    // whose values are text, numbers, booleans or json.
    static json::value settings_object(const Settings& s);

    static json::value request_object(const HTTPServerRequest& r);

    // _(message) / _(message, plural_message, count): Locale.translate.
    static json::value translate(const gale::locale::Locale& l, const template_args& a);
    static json::value pgettext(const gale::locale::Locale& l, const template_args& a);
    static long long count_of(const json::value& count);

    // reverse_url(name, *args): the args as Tornado's url arguments (text).
    static std::string reverse_url(RequestHandler& h, const template_args& a);

    // Tornado's render: the active modules' resources, in this order, put
    // before </body> (scripts) and </head> (styles, html_head).
    static void add_module_resources(RequestHandler& h, std::string& html);
    static std::string join(const std::vector<std::string>& parts, std::string_view separator);
    // render_linked_js / render_linked_css: relative paths through
    // static_url, each URL once, in the order given.
    static std::string linked(RequestHandler& h, const std::vector<std::string>& files, std::string_view open,
                              std::string_view close);
    // html[:loc] + text + "\n" + html[loc:], loc the last (or first) tag.
    static void insert_before(std::string& html, std::string_view tag, bool last, const std::string& text);
};

}  // namespace detail

}  // namespace gale

#if GALE_HEADER_ONLY
#include "impl/web_template.ipp"
#endif
