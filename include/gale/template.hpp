// Tornado's template language (tornado.template) for C++: the same tags,
// directives, escaping, whitespace handling, inheritance and errors, over a
// small documented expression language, rendering byte for byte what
// Tornado 6.2 renders given the same data.
//
//   gale::Loader loader("templates");
//   gale::template_namespace ns;
//   ns.set("houses", houses_json)
//     .set_function("title_join", [](const gale::template_args& a) -> gale::json::value {
//         std::string s;
//         for (auto& t : a[0].get_array()) s += (s.empty() ? "" : "+") + t.get_string();
//         return s;
//     });
//   std::string page;
//   loader.load("index.html").generate(ns, page);   // appends to page
//
// Synopsis (namespace gale):
//   struct template_options {
//       std::optional<std::string> autoescape = "xhtml_escape";  // a function name; nullopt: off
//       std::optional<std::string> whitespace;  // "all" | "single" | "oneline"; unset: by extension
//       std::shared_ptr<const template_namespace> globals;  // Tornado's loader namespace
//       bool cache = true;  // false: load() re-reads and re-parses (debug mode)
//   };
//   class Template  a compiled template; a cheap, copyable, thread-safe handle
//     Template(std::string_view source, std::string name = "<string>", template_options = {})
//     void generate(const template_namespace&, std::string& out) const   appends
//     std::string generate(const template_namespace& = {}) const
//     std::string generate(const json::object& args) const   (args borrowed)
//     const std::string& name() const
//   class BaseLoader  load(name, parent = "") -> Template; reset() drops the cache;
//                     resolve_path(name, parent); options()
//   class Loader : BaseLoader      Loader(root_directory, template_options = {})
//   class DictLoader : BaseLoader  DictLoader(std::map<std::string, std::string>, template_options = {})
//   class template_namespace  names a render sees, layered on an optional parent:
//     set(name, json::value)  set_ref(name, const json::value&)  update(obj)  update_ref(obj)
//     set_function(name, template_function)  set_lazy(name, std::function<json::value()>)
//     set_module(name, template_function)     the hook of {% module name(...) %}
//   using template_function = std::function<json::value(const template_args&)>;
//   class template_args  a[i], a.size(), a.kwarg("name"), a.get(i, "name")
//   class template_error : std::exception   type() (Python class name), message(),
//                                            filename(), lineno(); what() "index.html:3: KeyError: 'x'"
//   class ParseError : template_error       what() as Tornado: "Missing {% end %} block for if at a.html:3"
//
// Tags: {{ expr }}, {% directive %}, {# comment #}; {{! {%! {#! write the
// tag's opening literally. Directives: if / elif / else, for (with tuple
// targets and else), while, break, continue, set (also a, b = ... and
// x += ...), try / except [Names [as e]] / else / finally, apply f, autoescape
// name|None, raw expr, module Name(args), include "file", extends "file",
// block name, comment, whitespace all|single|oneline, end. {% import %} and
// {% from %} are parse errors (there are no Python modules to import).
//
// Rendering follows Tornado's generated code: {{ e }} writes str(e) passed
// through the file's autoescape function (xhtml_escape unless the loader's
// option or {% autoescape %} says otherwise; the directive applies to its
// whole file); raw, module and apply output is not escaped. Text between
// tags is filtered by the whitespace mode (single for .html and .js, else
// all, unless the options say otherwise; a text chunk holding "<pre>" is
// left alone). Blocks are replaced by the most derived template's version
// through any number of extends levels; include inlines a file (its own
// autoescape setting applies), and names set inside blocks and includes are
// the same variables as the including template's (one scope, as Tornado's
// single generated function has). include / extends paths are relative to
// the including file.
//
// Expressions (a subset of Python 3, over gale's json values):
//   literals    123, 0x1f, 1_000, 1.5, 1e3, 'a', "b\n", r'...', '''...''', adjacent
//               strings joined, True False None, [lists], (tuples,), {'dicts': 1}
//   operators   + - * / // % ** (Python semantics: str + str, str * n, list + list,
//               floor division and modulo rounding down, / always a float),
//               str % args (%s %r %d %i %f %e %g %x %o %c, flags, width, precision,
//               %(name)s), unary - +, == != < <= > >= chained, in, not in, is, is not,
//               and, or, not (returning an operand, as Python does), a if c else b
//   access      x.name, x[i], x[-1], x[a:b:c] (lists, tuples, str by code point),
//               d["key"]; d.name also reads a dict key (as torndb.Row / ObjectDict)
//   calls       f(a, b, key=c) for built-ins, methods and registered functions
//   comprehensions  [e for x in xs if c] and f(e for x in xs) (one for clause; a
//               generator expression is a list; the variable stays inside)
//   built-ins   len str int float bool range enumerate sorted(key=, reverse=)
//               min max (key=, default=) sum abs round list tuple dict zip repr
//   Tornado's   escape xhtml_escape url_escape(plus=) json_encode squeeze
//               linkify(shorten=, extra_params=, require_protocol=, permitted_protocols=)
//   methods     str: join upper lower strip lstrip rstrip split replace startswith
//               endswith format title capitalize count find index;
//               list: count index; dict: items keys values get
//   str.format  {} {0} {name} {!r}, format specs [[fill]align][sign][0][width][,][.prec][type]
// Values print as Python's str(): True, None, 1.5, 1e+16, ['a', 1], {'a': 1},
// ('a',), dict_items([('a', 1)]).
// Where gale differs from Python:
// - Integers are 64-bit: overflow raises OverflowError instead of growing.
// - Dict keys are strings; a dict or list holds data, not functions.
// - upper / lower / title / capitalize map ASCII letters only; repr() escapes
//   the common non-printable characters, not Unicode's full list.
// - No lambda, nested for clauses in comprehensions, set or dict
//   comprehensions, f-strings, bit operators, *args / **kwargs, attribute or
//   item assignment, datetime.
// - Tuples nested inside lists (list(d.items()), enumerate, zip) print as
//   lists; range() is a list ({{ range(3) }} prints [0, 1, 2]).
// - `x is y` is identity for None and booleans, and "same storage" otherwise.
// - except matches the Python class names of gale's errors (NameError,
//   KeyError, IndexError, TypeError, ValueError, AttributeError,
//   ZeroDivisionError, OverflowError, UnboundLocalError, and the bases
//   Exception, LookupError, ArithmeticError); an exception from a registered
//   function is an Exception. `as e` binds the message text.
// - apply's body shares the template's variables (Tornado compiles it into a
//   nested function), and its function receives the body as str (Tornado
//   passes bytes). {% set %} takes assignments only (name = e, a, b = e,
//   name += e ...), not arbitrary Python statements.
// - Functions return json values, printed and escaped like any value (so
//   {{ xsrf_form_html() }} is escaped, as in Tornado); unescaped HTML comes
//   only from {% raw %}, {% module %} and {% apply %}, exactly as in Tornado.
//
// Errors: a ParseError (with file and line) is thrown when a template is
// loaded or constructed, for bad tags, unbalanced blocks, unknown directives
// and bad expressions. Errors while rendering are template_errors carrying
// the Python exception name and the file and line of the statement.
//
// Compiling and caching: a loader parses each file once and caches the
// compiled template by resolved name (thread-safe; reset() drops the cache;
// options.cache = false re-parses on every load, for debug mode). A compiled
// template is a tree of nodes; each name is resolved at link time to a
// slot, so a render looks values up by index. A render writes into the
// caller's string through a small buffer writer, escapes with one
// 16-byte-at-a-time scan, reuses its thread's table of variables and
// allocates nothing else for {{ x }}, {{ x["k"] }}, {{ x.k }}, {{ len(x) }},
// loops over lists and conditions on such values; values it computes
// (calls, arithmetic, string methods) are made as json values.
#pragma once

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "detail/template_render.hpp"

namespace gale {

struct template_options {
    // The namespace function applied to every {{ }} (Tornado's autoescape);
    // nullopt writes values unescaped.
    std::optional<std::string> autoescape = "xhtml_escape";
    // "all", "single" or "oneline"; unset: single for .html and .js, else all.
    std::optional<std::string> whitespace{};
    // Names every template of the loader sees (under the render's namespace).
    std::shared_ptr<const template_namespace> globals{};
    // false: every load() re-reads and re-parses (Tornado's debug mode).
    bool cache = true;
};

class BaseLoader;

namespace detail::tmpl {

class loader_core;

inline std::string default_whitespace(std::string_view name, const template_options& o) {
    if (o.whitespace) return *o.whitespace;
    return name.ends_with(".html") || name.ends_with(".js") ? "single" : "all";
}

// Posix path helpers as Python's posixpath writes them.
inline std::string normpath(std::string_view p) {
    if (p.empty()) return ".";
    std::size_t lead = 0;
    while (lead < p.size() && p[lead] == '/') ++lead;
    std::string prefix = lead == 0 ? "" : lead == 2 ? "//" : "/";
    std::vector<std::string_view> parts;
    std::size_t i = lead;
    while (i <= p.size()) {
        std::size_t j = p.find('/', i);
        if (j == std::string_view::npos) j = p.size();
        std::string_view c = p.substr(i, j - i);
        if (c.empty() || c == ".") {
        } else if (c == ".." && ((prefix.empty() && parts.empty()) || (!parts.empty() && parts.back() == ".."))) {
            parts.push_back(c);
        } else if (c == "..") {
            if (!parts.empty()) parts.pop_back();
        } else {
            parts.push_back(c);
        }
        i = j + 1;
    }
    std::string out = prefix;
    for (std::size_t k = 0; k < parts.size(); ++k) {
        if (k) out += '/';
        out += parts[k];
    }
    return out.empty() ? "." : out;
}
inline std::string dirname(std::string_view p) {
    std::size_t slash = p.rfind('/');
    if (slash == std::string_view::npos) return "";
    std::string_view head = p.substr(0, slash + 1);
    if (head.find_first_not_of('/') != std::string_view::npos)
        while (!head.empty() && head.back() == '/') head.remove_suffix(1);
    return std::string(head);
}
inline std::string join(std::string_view a, std::string_view b) {
    if (b.starts_with('/') || a.empty()) return std::string(b);
    std::string r(a);
    if (r.back() != '/') r += '/';
    r += b;
    return r;
}
inline std::string abspath(std::string_view p) {
    if (p.starts_with('/')) return normpath(p);
    return normpath(join(std::filesystem::current_path().string(), p));
}

// Parses and links one template. loader may be null (a Template made from
// a string), in which case extends and include are errors.
inline std::shared_ptr<const program> compile(std::string_view source, std::string name, const template_options& options,
                                              std::shared_ptr<symbol_table> symbols, loader_core* loader);

// What every loader shares: options, the cache, and the symbol table of all
// its templates. Loading is serialised by a (reentrant) mutex, as in Tornado.
class loader_core {
public:
    explicit loader_core(template_options options) : options_(std::move(options)) {}
    virtual ~loader_core() = default;

    virtual std::string resolve_path(std::string_view name, std::string_view parent) const = 0;
    virtual std::string read(const std::string& name) const = 0;

    std::shared_ptr<const program> load(std::string_view name, std::string_view parent) {
        std::string resolved = resolve_path(name, parent);
        std::lock_guard lock(mutex_);
        if (options_.cache)
            if (auto it = cache_.find(resolved); it != cache_.end()) return it->second;
        for (const auto& l : loading_)
            if (l == resolved)
                raise("RecursionError", "template '" + resolved + "' includes or extends itself");
        loading_.push_back(resolved);
        std::shared_ptr<const program> p;
        try {
            std::string text = read(resolved);
            p = compile(text, resolved, options_, symbols_, this);
        } catch (...) {
            loading_.pop_back();
            throw;
        }
        loading_.pop_back();
        if (options_.cache) cache_[resolved] = p;
        return p;
    }
    void reset() {
        std::lock_guard lock(mutex_);
        cache_.clear();
    }
    const template_options& options() const noexcept { return options_; }

private:
    template_options options_;
    std::shared_ptr<symbol_table> symbols_ = std::make_shared<symbol_table>();
    std::recursive_mutex mutex_;
    std::unordered_map<std::string, std::shared_ptr<const program>> cache_;
    std::vector<std::string> loading_;
};

class linker {
public:
    linker(program& p, loader_core* loader) : p_(p), loader_(loader) {}

    void link() {
        const parsed_file& self = *p_.self;
        p_.ancestors.push_back(p_.self);
        for (const node& n : self.body) {
            if (n.kind != nk::extends) continue;
            if (!loader_) throw ParseError("{% extends %} block found, but no template loader", self.name, n.line);
            auto parent = loader_->load(n.text, self.name);
            p_.ancestors.insert(p_.ancestors.end(), parent->ancestors.begin(), parent->ancestors.end());
        }
        p_.files = p_.ancestors;
        for (auto it = p_.ancestors.rbegin(); it != p_.ancestors.rend(); ++it) find_blocks((*it)->body, **it);
        p_.root = p_.ancestors.back().get();
        check_extends(p_.root->body, true);
        p_.assign_slots(p_.root->body);
    }

private:
    // Tornado's find_named_blocks: every block in the file (and in the
    // files it includes) registers under its name; later ones win.
    void find_blocks(const node_list& body, const parsed_file& file) {
        for (const node& n : body) {
            if (n.kind == nk::block) p_.blocks[n.text] = &n;
            if (n.kind == nk::include) {
                if (!loader_) throw ParseError("{% include %} found, but no template loader", file.name, n.line);
                auto included = loader_->load(n.text, file.name);
                p_.files.push_back(included->self);
                p_.includes[&n] = included->self.get();
                find_blocks(included->self->body, *included->self);
            }
            find_blocks(n.body, file);
            for (const auto& b : n.branches) find_blocks(b.body, file);
            for (const auto& x : n.excepts) find_blocks(x.body, file);
            find_blocks(n.else_body, file);
            find_blocks(n.finally_body, file);
        }
    }
    // An extends anywhere but the top of a file has no meaning in Tornado's
    // generated code (it fails there too).
    void check_extends(const node_list& body, bool top) {
        for (const node& n : body) {
            if (n.kind == nk::extends && !top)
                throw ParseError("{% extends %} must be at the top level of a template", n.file->name, n.line);
            check_extends(n.body, false);
            for (const auto& b : n.branches) check_extends(b.body, false);
            for (const auto& x : n.excepts) check_extends(x.body, false);
            check_extends(n.else_body, false);
            check_extends(n.finally_body, false);
        }
    }

    program& p_;
    loader_core* loader_;
};

inline std::shared_ptr<const program> compile(std::string_view source, std::string name, const template_options& options,
                                              std::shared_ptr<symbol_table> symbols, loader_core* loader) {
    auto file = std::make_shared<parsed_file>();
    file->name = std::move(name);
    file->autoescape = options.autoescape;
    std::string whitespace = default_whitespace(file->name, options);
    if (!valid_whitespace_mode(whitespace)) raise("ValueError", "invalid whitespace mode " + whitespace);
    file_parser(*file, source, whitespace, *symbols).parse();
    auto p = std::make_shared<program>();
    p->symbols = std::move(symbols);
    p->globals = options.globals;
    p->self = std::move(file);
    linker(*p, loader).link();
    return p;
}

}  // namespace detail::tmpl

// A compiled template. Copies share the compiled tree; generate() may run
// on any number of threads at once.
class Template {
public:
    // Tornado's Template(template_string, name): compiled from source
    // without a loader (so without include or extends).
    explicit Template(std::string_view source, std::string name = "<string>", template_options options = {})
        : p_(detail::tmpl::compile(source, std::move(name), options, std::make_shared<detail::tmpl::symbol_table>(),
                                   nullptr)) {}

    // Renders with ns (and the loader's globals, Tornado's default
    // namespace and the built-ins under it), appending to out.
    void generate(const template_namespace& ns, std::string& out) const {
        detail::tmpl::renderer(*p_, &ns, out).run();
    }
    std::string generate(const template_namespace& ns = {}) const {
        std::string out;
        generate(ns, out);
        return out;
    }
    // args' members are borrowed for the render.
    std::string generate(const json::object& args) const {
        template_namespace ns;
        ns.update_ref(args);
        return generate(ns);
    }
    const std::string& name() const noexcept { return p_->self->name; }

private:
    friend class BaseLoader;
    explicit Template(std::shared_ptr<const detail::tmpl::program> p) : p_(std::move(p)) {}
    std::shared_ptr<const detail::tmpl::program> p_;
};

// Tornado's BaseLoader: loads templates by name, caching them.
class BaseLoader {
public:
    virtual ~BaseLoader() = default;
    // The template called name (relative to parent, the including
    // template's name, when given). Throws ParseError for a bad template
    // and template_error (FileNotFoundError / KeyError) for a missing one.
    Template load(std::string_view name, std::string_view parent = {}) { return Template(core_->load(name, parent)); }
    // Drops every compiled template (the next load re-reads the files).
    void reset() { core_->reset(); }
    std::string resolve_path(std::string_view name, std::string_view parent = {}) const {
        return core_->resolve_path(name, parent);
    }
    const template_options& options() const noexcept { return core_->options(); }

protected:
    explicit BaseLoader(std::unique_ptr<detail::tmpl::loader_core> core) : core_(std::move(core)) {}

private:
    std::unique_ptr<detail::tmpl::loader_core> core_;
};

namespace detail::tmpl {

inline bool relative_to_parent(std::string_view name, std::string_view parent) {
    return !parent.empty() && !parent.starts_with('<') && !parent.starts_with('/') && !name.starts_with('/');
}

class file_loader_core : public loader_core {
public:
    file_loader_core(std::string_view root, template_options o) : loader_core(std::move(o)), root_(abspath(root)) {}
    std::string resolve_path(std::string_view name, std::string_view parent) const override {
        if (!relative_to_parent(name, parent)) return std::string(name);
        std::string dir = dirname(abspath(join(root_, parent)));
        std::string path = abspath(join(dir, name));
        if (path.starts_with(root_)) return path.size() > root_.size() ? path.substr(root_.size() + 1) : std::string();
        return std::string(name);
    }
    std::string read(const std::string& name) const override {
        std::string path = join(root_, name);
        std::ifstream in(path, std::ios::binary);
        if (!in || std::filesystem::is_directory(path))
            raise("FileNotFoundError", "[Errno 2] No such file or directory: '" + path + "'");
        std::ostringstream s;
        s << in.rdbuf();
        return std::move(s).str();
    }

private:
    std::string root_;
};

class dict_loader_core : public loader_core {
public:
    dict_loader_core(std::map<std::string, std::string> files, template_options o)
        : loader_core(std::move(o)), files_(std::move(files)) {}
    std::string resolve_path(std::string_view name, std::string_view parent) const override {
        if (!relative_to_parent(name, parent)) return std::string(name);
        return normpath(join(dirname(parent), name));
    }
    std::string read(const std::string& name) const override {
        auto it = files_.find(name);
        if (it == files_.end()) {
            std::string q;
            append_str_repr(q, name);
            raise("KeyError", q);
        }
        return it->second;
    }

private:
    std::map<std::string, std::string> files_;
};

}  // namespace detail::tmpl

// Tornado's Loader: templates from files under one root directory.
class Loader : public BaseLoader {
public:
    explicit Loader(std::string_view root_directory, template_options options = {})
        : BaseLoader(std::make_unique<detail::tmpl::file_loader_core>(root_directory, std::move(options))) {}
};

// Tornado's DictLoader: templates from a map of name -> source.
class DictLoader : public BaseLoader {
public:
    explicit DictLoader(std::map<std::string, std::string> templates, template_options options = {})
        : BaseLoader(std::make_unique<detail::tmpl::dict_loader_core>(std::move(templates), std::move(options))) {}
};

}  // namespace gale
