// Definitions for json.hpp: compiled in every translation unit that
// includes it in header-only mode, once (by <gale/src.hpp>) in separate
// compilation mode; see detail/config.hpp. The encoder's string and number
// writers live here; decode_utf8 and value's accessors stay inline in the
// header (the template engine and escape.hpp call them per character).
#pragma once

#include "../json.hpp"

#include <charconv>
#include <limits>

namespace gale::json {

GALE_DECL object::object(std::initializer_list<member> members) {
    members_.reserve(members.size());
    for (const auto& m : members) insert_or_assign(m.first, m.second);
}

GALE_DECL value& object::at(std::string_view key) {
    if (value* v = find(key)) return *v;
    throw std::out_of_range("json: no key \"" + std::string(key) + "\"");
}

GALE_DECL const value& object::at(std::string_view key) const {
    if (const value* v = find(key)) return *v;
    throw std::out_of_range("json: no key \"" + std::string(key) + "\"");
}

GALE_DECL bool object::erase(std::string_view key) {
    for (auto it = members_.begin(); it != members_.end(); ++it)
        if (it->first == key) {
            members_.erase(it);
            return true;
        }
    return false;
}

GALE_DECL bool operator==(const array& a, const array& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (!(a[i] == b[i])) return false;
    return true;
}

// Python dicts compare equal whatever their order.
GALE_DECL bool operator==(const object& a, const object& b) {
    if (a.size() != b.size()) return false;
    for (const auto& m : a) {
        const value* other = b.find(m.first);
        if (!other || !(*other == m.second)) return false;
    }
    return true;
}

namespace detail {

GALE_DECL void append_python_float(std::string& out, double d) {
    if (d != d) {
        out += "NaN";
        return;
    }
    if (d == std::numeric_limits<double>::infinity() || d == -std::numeric_limits<double>::infinity()) {
        out += d < 0 ? "-Infinity" : "Infinity";
        return;
    }
    char buf[64];
    auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
    std::string_view sci(buf, static_cast<std::size_t>(res.ptr - buf));  // [-]d[.ddd]e(+|-)XX
    if (sci.front() == '-') {
        out += '-';
        sci.remove_prefix(1);
    }
    std::size_t e = sci.find('e');
    std::string digits;
    digits += sci[0];
    if (e > 1) digits.append(sci.substr(2, e - 2));
    int exp = 0;
    std::from_chars(sci.data() + e + (sci[e + 1] == '+' ? 2 : 1), sci.data() + sci.size(), exp);
    int decpt = exp + 1;  // digits d1d2... mean 0.d1d2... * 10^decpt
    int n = static_cast<int>(digits.size());
    if (decpt > -4 && decpt <= 16) {
        if (decpt <= 0) {
            out += "0.";
            out.append(static_cast<std::size_t>(-decpt), '0');
            out += digits;
        } else if (decpt >= n) {
            out += digits;
            out.append(static_cast<std::size_t>(decpt - n), '0');
            out += ".0";
        } else {
            out.append(digits, 0, static_cast<std::size_t>(decpt));
            out += '.';
            out.append(digits, static_cast<std::size_t>(decpt));
        }
    } else {
        out += digits[0];
        if (n > 1) {
            out += '.';
            out.append(digits, 1);
        }
        int x = decpt - 1;
        out += x < 0 ? "e-" : "e+";
        if (x < 0) x = -x;
        if (x < 10) out += '0';
        out += std::to_string(x);
    }
}

GALE_DECL void append_u_escape(std::string& out, std::uint32_t u) {
    static constexpr char hex[] = "0123456789abcdef";
    char buf[6] = {'\\', 'u', hex[(u >> 12) & 15], hex[(u >> 8) & 15], hex[(u >> 4) & 15], hex[u & 15]};
    out.append(buf, 6);
}

// A JSON string literal as json.dumps (ensure_ascii) writes it; with
// escape_lt_slash, "</" is written "<\/" (Tornado's json_encode).
GALE_DECL void append_string(std::string& out, std::string_view s, bool escape_lt_slash) {
    out += '"';
    std::size_t i = 0, run = 0;
    while (i < s.size()) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\' &&
            !(escape_lt_slash && c == '/' && i > 0 && s[i - 1] == '<')) {
            ++i;
            continue;
        }
        out.append(s, run, i - run);
        switch (c) {
        case '"': out += "\\\""; ++i; break;
        case '\\': out += "\\\\"; ++i; break;
        case '/': out += "\\/"; ++i; break;
        case '\n': out += "\\n"; ++i; break;
        case '\r': out += "\\r"; ++i; break;
        case '\t': out += "\\t"; ++i; break;
        case '\b': out += "\\b"; ++i; break;
        case '\f': out += "\\f"; ++i; break;
        default: {
            std::size_t at = i;
            std::int32_t cp = decode_utf8(s, i);
            if (cp < 0)
                throw encode_error("json: invalid UTF-8 in a string at byte " + std::to_string(at));
            auto u = static_cast<std::uint32_t>(cp);
            if (u >= 0x10000) {
                u -= 0x10000;
                append_u_escape(out, 0xD800 + (u >> 10));
                append_u_escape(out, 0xDC00 + (u & 0x3FF));
            } else {
                append_u_escape(out, u);
            }
        }
        }
        run = i;
    }
    out.append(s, run, i - run);
    out += '"';
}

GALE_DECL void dump_to(const value& v, std::string& out, bool escape_lt_slash) {
    switch (v.type()) {
    case kind::null: out += "null"; break;
    case kind::boolean: out += v.get_bool() ? "true" : "false"; break;
    case kind::integer: {
        char buf[24];
        auto res = std::to_chars(buf, buf + sizeof buf, v.get_int());
        out.append(buf, res.ptr);
        break;
    }
    case kind::floating: append_python_float(out, v.get_double()); break;
    case kind::string: append_string(out, v.get_string(), escape_lt_slash); break;
    case kind::array: {
        out += '[';
        bool first = true;
        for (const value& e : v.get_array()) {
            if (!first) out += ", ";
            first = false;
            dump_to(e, out, escape_lt_slash);
        }
        out += ']';
        break;
    }
    case kind::object: {
        out += '{';
        bool first = true;
        for (const auto& [k, e] : v.get_object()) {
            if (!first) out += ", ";
            first = false;
            append_string(out, k, escape_lt_slash);
            out += ": ";
            dump_to(e, out, escape_lt_slash);
        }
        out += '}';
        break;
    }
    }
}

}  // namespace detail

GALE_DECL void dump(const value& v, std::string& out) { detail::dump_to(v, out, false); }

GALE_DECL std::string dump(const value& v) {
    std::string out;
    detail::dump_to(v, out, false);
    return out;
}

GALE_DECL std::string encode(const value& v) {
    std::string out;
    detail::dump_to(v, out, true);
    return out;
}

}  // namespace gale::json
