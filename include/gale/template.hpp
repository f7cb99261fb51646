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

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "detail/config.hpp"
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

// Parses and links one template. loader may be null (a Template made from
// a string), in which case extends and include are errors.
GALE_DECL std::shared_ptr<const program> compile(std::string_view source, std::string name,
                                                 const template_options& options,
                                                 std::shared_ptr<symbol_table> symbols, loader_core* loader);

// What every loader shares: options, the cache, and the symbol table of all
// its templates. Loading is serialised by a (reentrant) mutex, as in Tornado.
class loader_core {
public:
    explicit loader_core(template_options options) : options_(std::move(options)) {}
    virtual ~loader_core() = default;

    virtual std::string resolve_path(std::string_view name, std::string_view parent) const = 0;
    virtual std::string read(const std::string& name) const = 0;

    std::shared_ptr<const program> load(std::string_view name, std::string_view parent);
    void reset();
    const template_options& options() const noexcept { return options_; }

private:
    template_options options_;
    std::shared_ptr<symbol_table> symbols_ = std::make_shared<symbol_table>();
    std::recursive_mutex mutex_;
    std::unordered_map<std::string, std::shared_ptr<const program>> cache_;
    std::vector<std::string> loading_;
};

}  // namespace detail::tmpl

// A compiled template. Copies share the compiled tree; generate() may run
// on any number of threads at once.
class Template {
public:
    // Tornado's Template(template_string, name): compiled from source
    // without a loader (so without include or extends).
    explicit Template(std::string_view source, std::string name = "<string>", template_options options = {});

    // Renders with ns (and the loader's globals, Tornado's default
    // namespace and the built-ins under it), appending to out.
    void generate(const template_namespace& ns, std::string& out) const;
    std::string generate(const template_namespace& ns = {}) const {
        std::string out;
        generate(ns, out);
        return out;
    }
    // args' members are borrowed for the render.
    std::string generate(const json::object& args) const;
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

// Tornado's Loader: templates from files under one root directory.
class Loader : public BaseLoader {
public:
    explicit Loader(std::string_view root_directory, template_options options = {});
};

// Tornado's DictLoader: templates from a map of name -> source.
class DictLoader : public BaseLoader {
public:
    explicit DictLoader(std::map<std::string, std::string> templates, template_options options = {});
};

}  // namespace gale

#if GALE_HEADER_ONLY
#include "impl/template.ipp"
#endif
