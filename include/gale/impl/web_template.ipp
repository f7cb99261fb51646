// Definitions for web_template.hpp: compiled in every translation unit that
// includes it in header-only mode, once (by <gale/src.hpp>) in separate
// compilation mode; see detail/config.hpp. render() and render_string()
// stay templates in the header (web.hpp's hooks); what they call, the
// handler's names and Tornado's three built-in UI modules live here.
#pragma once

#include "../web_template.hpp"

#include <algorithm>
#include <any>

namespace gale {

namespace detail {

// Tornado's web._linkify, _xsrf_form_html and TemplateModule.
namespace ui {

GALE_DECL std::string text_of(const json::value& v) {
    std::string out;
    tmpl::append_str(out, v);
    return out;
}

class linkify_module : public UIModule {
public:
    using UIModule::UIModule;
    std::string render(const template_args& a) override {
        linkify_options o;
        if (const json::value* v = a.kwarg("shorten")) o.shorten = tmpl::truth(*v);
        if (const json::value* v = a.kwarg("extra_params")) o.extra_params = text_of(*v);
        if (const json::value* v = a.kwarg("require_protocol")) o.require_protocol = tmpl::truth(*v);
        if (const json::value* v = a.kwarg("permitted_protocols")) {
            o.permitted_protocols.clear();
            for (const json::value& p : v->get_array()) o.permitted_protocols.push_back(text_of(p));
        }
        return linkify(text_of(a.at(0)), o);
    }
};

class xsrf_form_html_module : public UIModule {
public:
    using UIModule::UIModule;
    std::string render(const template_args&) override { return handler().xsrf_form_html(); }
};

class template_module : public UIModule {
public:
    using UIModule::UIModule;
    std::string render(const template_args& a) override {
        std::string path = text_of(a.at(0));
        template_namespace ns;
        for (std::size_t i = 0; i < a.kwarg_names().size(); ++i)
            ns.set_ref(std::string(a.kwarg_names()[i]), *a.kwarg_values()[i]);
        ns.set_function("set_resources", [this, path](const template_args& r) -> json::value {
            set_resources(path, r);
            return "";
        });
        return render_string(path, ns);
    }
    std::string embedded_javascript() override { return joined("embedded_javascript", "\n"); }
    std::vector<std::string> javascript_files() override { return files("javascript_files"); }
    std::string embedded_css() override { return joined("embedded_css", "\n"); }
    std::vector<std::string> css_files() override { return files("css_files"); }
    std::string html_head() override { return joined("html_head", ""); }
    std::string html_body() override { return joined("html_body", ""); }

private:
    void set_resources(const std::string& path, const template_args& r) {
        json::object given;
        for (std::size_t i = 0; i < r.kwarg_names().size(); ++i)
            given.insert_or_assign(std::string(r.kwarg_names()[i]), *r.kwarg_values()[i]);
        for (const auto& [p, resources] : resources_) {
            if (p != path) continue;
            if (!(resources == given))
                tmpl::raise("ValueError", "set_resources called with different resources for the same template");
            return;
        }
        resources_.emplace_back(path, std::move(given));
    }
    std::string joined(std::string_view key, std::string_view separator) const {
        std::string out;
        bool first = true;
        for (const auto& [path, resources] : resources_) {
            const json::value* v = resources.find(key);
            if (!v) continue;
            if (!first) out += separator;
            out += text_of(*v);
            first = false;
        }
        return out;
    }
    std::vector<std::string> files(std::string_view key) const {
        std::vector<std::string> out;
        for (const auto& [path, resources] : resources_) {
            const json::value* v = resources.find(key);
            if (!v) continue;
            if (v->is_array())
                for (const json::value& f : v->get_array()) out.push_back(text_of(f));
            else
                out.push_back(text_of(*v));
        }
        return out;
    }

    std::vector<std::pair<std::string, json::object>> resources_;  // in order of first use
};

GALE_DECL const module_map& builtin_modules() {
    static const module_map modules = {
        {"linkify", ui_module<linkify_module>()},
        {"xsrf_form_html", ui_module<xsrf_form_html_module>()},
        {"Template", ui_module<template_module>()},
    };
    return modules;
}

// Tornado's is_absolute in render_linked_js / render_linked_css.
GALE_DECL bool is_absolute(std::string_view path) {
    return path.starts_with('/') || path.starts_with("http:") || path.starts_with("https:");
}

}  // namespace ui

GALE_DECL handler_templates& web_templates<void>::state(RequestHandler& h) {
    if (!h.templates_) h.templates_ = std::make_shared<handler_templates>();
    return *h.templates_;
}

GALE_DECL BaseLoader& web_templates<void>::loader(RequestHandler& h) {
    Application& app = h.application();
    const Settings& s = app.settings();
    {
        static std::mutex creating;
        std::lock_guard lock(creating);
        if (!app.template_loaders_) app.template_loaders_ = std::make_shared<template_loaders>();
    }
    std::string path = s.template_loader ? std::string() : h.get_template_path();
    template_loaders& all = *app.template_loaders_;
    std::lock_guard lock(all.mutex);
    auto it = all.by_path.find(path);
    if (it != all.by_path.end()) return *it->second;
    std::shared_ptr<BaseLoader> made = s.template_loader;
    if (!made)
        made = std::make_shared<Loader>(path, template_options{.autoescape = s.autoescape,
                                                               .whitespace = s.template_whitespace,
                                                               .cache = s.compiled_template_cache.value_or(!s.debug)});
    return *all.by_path.emplace(std::move(path), std::move(made)).first->second;
}

GALE_DECL const template_namespace& web_templates<void>::handler_names(RequestHandler& h) {
    handler_templates& st = state(h);
    if (!st.names) {
        st.names = std::make_unique<template_namespace>();
        add_handler_names(h, *st.names);
    }
    return *st.names;
}

GALE_DECL void web_templates<void>::add_handler_names(RequestHandler& h, template_namespace& ns) {
    RequestHandler* self = &h;
    ns.set_lazy("request", [self] { return request_object(self->request()); });
    ns.set_lazy("current_user", [self] { return user_value(*self); });
    ns.set_lazy("handler", [self] { return handler_object(*self); });
    ns.set_lazy("locale", [self]() -> json::value {
        const gale::locale::Locale& l = self->locale();
        return json::object{{"code", l.code()}, {"name", l.name()}, {"name_en", l.name_en()}, {"rtl", l.rtl()}};
    });
    ns.set_function("_", [self](const template_args& a) { return translate(self->locale(), a); });
    ns.set_function("pgettext", [self](const template_args& a) { return pgettext(self->locale(), a); });
    ns.set_function("static_url", [self](const template_args& a) -> json::value {
        const json::value* host = a.get(1, "include_host");
        const json::value* version = a.kwarg("include_version");
        return self->static_url(ui::text_of(a.at(0)), host && tmpl::truth(*host), !version || tmpl::truth(*version));
    });
    ns.set_function("xsrf_form_html", [self](const template_args&) -> json::value { return self->xsrf_form_html(); });
    ns.set_function("reverse_url", [self](const template_args& a) -> json::value { return reverse_url(*self, a); });
    const Settings& s = h.settings();
    for (const auto& entry : s.ui_methods) {
        const std::string& name = entry.first;
        const ui_method& method = entry.second;
        if (!name.empty() && name[0] != '_' && !(name[0] >= 'A' && name[0] <= 'Z') && method)
            ns.set_function(name, [self, &method](const template_args& a) { return method(*self, a); });
    }
    for (const auto& module : s.ui_modules)
        if (module.second)
            ns.set_module(module.first, module_hook(h, module));
    for (const auto& module : ui::builtin_modules())
        if (!s.ui_modules.contains(module.first))
            ns.set_module(module.first, module_hook(h, module));
    h.get_template_namespace(ns);
}

GALE_DECL template_function web_templates<void>::module_hook(RequestHandler& h,
                                                             const ui::module_map::value_type& module) {
    return [self = &h, m = &module](const template_args& a) -> json::value {
        auto& active = state(*self).active_modules;
        auto it = std::find_if(active.begin(), active.end(), [&](const auto& u) { return u.first == m->first; });
        if (it == active.end()) {
            active.emplace_back(m->first, m->second->make(*self));
            it = active.end() - 1;
        }
        return it->second->render(a);
    };
}

GALE_DECL json::value web_templates<void>::user_value(RequestHandler& h) {
    const std::optional<std::string>& user = h.current_user();
    return user ? json::value(*user) : json::value();
}

GALE_DECL json::value web_templates<void>::handler_object(RequestHandler& h) {
    json::array args;
    for (std::string_view a : h.path_args()) args.push_back(std::string(a));
    json::object kwargs;
    for (const auto& [name, value] : h.path_kwargs())
        kwargs.push_back_unchecked(name, value ? json::value(*value) : json::value());
    return json::object{{"request", request_object(h.request())},
                        {"current_user", user_value(h)},
                        {"path_args", std::move(args)},
                        {"path_kwargs", std::move(kwargs)},
                        {"settings", settings_object(h.settings())}};
}

GALE_DECL json::value web_templates<void>::settings_object(const Settings& s) {
    json::object out{{"debug", s.debug},
                     {"static_path", s.static_path},
                     {"static_url_prefix", s.static_url_prefix},
                     {"template_path", s.template_path},
                     {"login_url", s.login_url},
                     {"xsrf_cookies", s.xsrf_cookies}};
    for (const auto& [name, value] : s.extra) {
        if (const auto* v = std::any_cast<json::value>(&value)) out.insert_or_assign(name, *v);
        else if (const auto* t = std::any_cast<std::string>(&value)) out.insert_or_assign(name, *t);
        else if (const auto* c = std::any_cast<const char*>(&value)) out.insert_or_assign(name, std::string(*c));
        else if (const auto* b = std::any_cast<bool>(&value)) out.insert_or_assign(name, *b);
        else if (const auto* i = std::any_cast<int>(&value)) out.insert_or_assign(name, *i);
        else if (const auto* l = std::any_cast<long long>(&value)) out.insert_or_assign(name, *l);
        else if (const auto* d = std::any_cast<double>(&value)) out.insert_or_assign(name, *d);
    }
    return out;
}

GALE_DECL json::value web_templates<void>::request_object(const HTTPServerRequest& r) {
    json::object headers;
    for (const auto& f : r.headers.get_all()) {
        json::value* v = headers.find(f.name);
        if (v)
            v->get_string() += "," + f.value;
        else
            headers.push_back_unchecked(f.name, f.value);
    }
    json::object arguments;
    for (const auto& [name, values] : r.arguments) {
        json::array list;
        for (const std::string& v : values) list.push_back(v);
        arguments.push_back_unchecked(name, std::move(list));
    }
    return json::object{{"method", r.method},       {"uri", r.uri},
                        {"path", r.path},           {"query", r.query},
                        {"version", r.version},     {"remote_ip", r.remote_ip},
                        {"protocol", r.protocol},   {"host", r.host},
                        {"host_name", r.host_name}, {"headers", std::move(headers)},
                        {"arguments", std::move(arguments)}};
}

GALE_DECL json::value web_templates<void>::translate(const gale::locale::Locale& l, const template_args& a) {
    const json::value* plural = a.get(1, "plural_message");
    const json::value* count = a.get(2, "count");
    const json::value* message = a.get(0, "message");
    if (!message) tmpl::raise("TypeError", "translate() missing 1 required positional argument: 'message'");
    if (plural && count && !count->is_null())
        return l.translate(ui::text_of(*message), ui::text_of(*plural), count_of(*count));
    return l.translate(ui::text_of(*message));
}

GALE_DECL json::value web_templates<void>::pgettext(const gale::locale::Locale& l, const template_args& a) {
    const json::value* context = a.get(0, "context");
    const json::value* message = a.get(1, "message");
    const json::value* plural = a.get(2, "plural_message");
    const json::value* count = a.get(3, "count");
    if (!context || !message)
        tmpl::raise("TypeError", "pgettext() missing required positional arguments: 'context' and 'message'");
    if (plural && count && !count->is_null())
        return l.pgettext(ui::text_of(*context), ui::text_of(*message), ui::text_of(*plural), count_of(*count));
    return l.pgettext(ui::text_of(*context), ui::text_of(*message));
}

GALE_DECL long long web_templates<void>::count_of(const json::value& count) {
    if (count.is_int()) return count.get_int();
    if (count.is_bool()) return count.get_bool() ? 1 : 0;
    if (count.is_double()) return static_cast<long long>(count.get_double());
    tmpl::raise("TypeError", "count must be a number");
}

GALE_DECL std::string web_templates<void>::reverse_url(RequestHandler& h, const template_args& a) {
    std::string name = ui::text_of(a.at(0));
    std::vector<std::string> args;
    for (std::size_t i = 1; i < a.size(); ++i) args.push_back(ui::text_of(a[i]));
    switch (args.size()) {
        case 0: return h.reverse_url(name);
        case 1: return h.reverse_url(name, args[0]);
        case 2: return h.reverse_url(name, args[0], args[1]);
        case 3: return h.reverse_url(name, args[0], args[1], args[2]);
        case 4: return h.reverse_url(name, args[0], args[1], args[2], args[3]);
        default: tmpl::raise("TypeError", "reverse_url() takes at most 4 url arguments in gale");
    }
}

GALE_DECL void web_templates<void>::add_module_resources(RequestHandler& h, std::string& html) {
    std::vector<std::string> js_embed, js_files, css_embed, css_files, heads, bodies;
    for (auto& [name, module] : h.templates_->active_modules) {
        if (std::string s = module->embedded_javascript(); !s.empty()) js_embed.push_back(std::move(s));
        for (std::string& f : module->javascript_files()) js_files.push_back(std::move(f));
        if (std::string s = module->embedded_css(); !s.empty()) css_embed.push_back(std::move(s));
        for (std::string& f : module->css_files()) css_files.push_back(std::move(f));
        if (std::string s = module->html_head(); !s.empty()) heads.push_back(std::move(s));
        if (std::string s = module->html_body(); !s.empty()) bodies.push_back(std::move(s));
    }
    if (!js_files.empty())
        insert_before(html, "</body>", true,
                      linked(h, js_files, "<script src=\"", "\" type=\"text/javascript\"></script>"));
    if (!js_embed.empty())
        insert_before(html, "</body>", true,
                      "<script type=\"text/javascript\">\n//<![CDATA[\n" + join(js_embed, "\n") + "\n//]]>\n</script>");
    if (!css_files.empty())
        insert_before(html, "</head>", false,
                      linked(h, css_files, "<link href=\"", "\" type=\"text/css\" rel=\"stylesheet\"/>"));
    if (!css_embed.empty())
        insert_before(html, "</head>", false, "<style type=\"text/css\">\n" + join(css_embed, "\n") + "\n</style>");
    if (!heads.empty()) insert_before(html, "</head>", false, join(heads, ""));
    if (!bodies.empty()) insert_before(html, "</body>", false, join(bodies, ""));
}

GALE_DECL std::string web_templates<void>::join(const std::vector<std::string>& parts, std::string_view separator) {
    std::string out;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        if (i) out += separator;
        out += parts[i];
    }
    return out;
}

GALE_DECL std::string web_templates<void>::linked(RequestHandler& h, const std::vector<std::string>& files,
                                                  std::string_view open, std::string_view close) {
    std::vector<std::string> urls;
    std::string out;
    for (const std::string& f : files) {
        std::string url = ui::is_absolute(f) ? f : h.static_url(f);
        if (std::find(urls.begin(), urls.end(), url) != urls.end()) continue;
        out += open;
        out += xhtml_escape(url);
        out += close;
        urls.push_back(std::move(url));
    }
    return out;
}

GALE_DECL void web_templates<void>::insert_before(std::string& html, std::string_view tag, bool last,
                                                 const std::string& text) {
    std::size_t at = last ? html.rfind(tag) : html.find(tag);
    if (at == std::string::npos) throw std::invalid_argument("substring not found: the page has no " + std::string(tag));
    html.insert(at, text + "\n");
}

}  // namespace detail

}  // namespace gale
