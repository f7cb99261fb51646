// Internal to <gale/template.hpp>: calling things from a template — the
// Python built-ins templates use, Tornado's default namespace (escape,
// url_escape, json_encode, squeeze, linkify), str/list/dict methods, string
// formatting (% and str.format), and functions the application registered.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "config.hpp"
#include "template_expr.hpp"

namespace gale::detail::tmpl {

enum builtin_id : std::uint16_t {
    b_len, b_str, b_int, b_float, b_bool, b_range, b_enumerate, b_sorted, b_min, b_max, b_sum, b_abs, b_round,
    b_list, b_dict, b_zip, b_repr, b_tuple, b_escape, b_xhtml_escape, b_url_escape, b_json_encode, b_squeeze,
    b_linkify, b_none
};
inline constexpr std::string_view builtin_names[] = {
    "len", "str", "int", "float", "bool", "range", "enumerate", "sorted", "min", "max", "sum", "abs", "round",
    "list", "dict", "zip", "repr", "tuple", "escape", "xhtml_escape", "url_escape", "json_encode", "squeeze",
    "linkify"};

GALE_DECL std::uint16_t find_builtin(std::string_view name);

// What str() shows for a built-in function or method.
inline std::string_view callable_name(const value& v) {
    if (v.type() == value::kind::builtin) return builtin_names[v.id()];
    if (v.type() == value::kind::method) return method_names[v.id()];
    return v.name();
}

// Arguments of one call: values, with the names of the trailing keyword ones.
struct call_args {
    std::span<const value> all;
    std::span<const std::string> kw_names;

    std::size_t npos() const { return all.size() - kw_names.size(); }
    const value* pos(std::size_t i) const { return i < npos() ? &all[i] : nullptr; }
    const value* kw(std::string_view name) const {
        for (std::size_t i = 0; i < kw_names.size(); ++i)
            if (kw_names[i] == name) return &all[npos() + i];
        return nullptr;
    }
    const value* get(std::size_t i, std::string_view name) const {
        const value* v = pos(i);
        return v ? v : kw(name);
    }
};

inline const json::value& data_of(const value& v, std::string_view what) {
    if (!v.is_data()) raise("TypeError", std::string(what) + ": expected a value, got " + type_name(v));
    return v.data();
}

GALE_DECL void check_arity(const call_args& a, std::string_view fn, std::size_t min, std::size_t max);

// Python's list(x) for data: elements of a list, characters of a str, keys of a dict.
GALE_DECL json::array to_list(const json::value& j);

GALE_DECL std::int64_t to_int(const json::value& j);

GALE_DECL double to_float(const json::value& j);

// Python's round(x, n) for floats: the correctly rounded decimal.
GALE_DECL double round_to(double d, std::int64_t n);

// ---- %-formatting and str.format ----

struct format_spec {
    char fill = ' ', align = 0, sign = '-', type = 0;
    bool zero = false, comma = false, alternate = false;
    int width = -1, precision = -1;
};

GALE_DECL void pad(std::string& out, std::string body, const format_spec& f, bool numeric);

GALE_DECL std::string with_commas(std::string digits);

// Formats one value by a (Python format-spec or printf) conversion.
GALE_DECL void format_one(std::string& out, const json::value& j, format_spec f, value::view v = value::view::none);

// Python's format-spec mini-language: [[fill]align][sign][#][0][width][,][.precision][type]
GALE_DECL format_spec parse_spec(std::string_view s);

// str % args: %s %r %d %i %f %e %g %x %o %c %% with flags, width,
// precision and %(name)s against a dict.
GALE_DECL std::string percent_format(std::string_view fmt, const value& args);

GALE_DECL std::string brace_format(std::string_view fmt, const call_args& args);

// ---- string methods (ASCII case mapping; see the header) ----

inline bool is_ascii_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f); }

GALE_DECL std::string_view strip_chars(std::string_view s, const value* chars, bool left, bool right);

GALE_DECL json::array split(std::string_view s, const value* sep, std::int64_t maxsplit);

}  // namespace gale::detail::tmpl

#if GALE_HEADER_ONLY
#include "../impl/template_builtins.ipp"
#endif
