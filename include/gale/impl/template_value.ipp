// Definitions for detail/template_value.hpp: compiled in every translation unit that includes it
// in header-only mode, once (by <gale/src.hpp>) in separate compilation
// mode; see detail/config.hpp.
#pragma once

#include "../detail/template_value.hpp"

#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace gale::detail::tmpl {

GALE_DECL const char* type_name(const json::value& j, value::view v) {
    switch (j.type()) {
    case json::kind::null: return "NoneType";
    case json::kind::boolean: return "bool";
    case json::kind::integer: return "int";
    case json::kind::floating: return "float";
    case json::kind::string: return "str";
    case json::kind::array:
        switch (v) {
        case value::view::tuple: return "tuple";
        case value::view::dict_keys: return "dict_keys";
        case value::view::dict_values: return "dict_values";
        case value::view::dict_items: return "dict_items";
        default: return "list";
        }
    case json::kind::object: return "dict";
    }
    return "object";
}

GALE_DECL const char* type_name(const value& v) {
    switch (v.type()) {
    case value::kind::data: return type_name(v.data(), v.data_view());
    case value::kind::builtin: return "builtin_function_or_method";
    case value::kind::method: return "builtin_function_or_method";
    case value::kind::function: return "function";
    default: return "object";
    }
}

GALE_DECL std::size_t find_html_special(std::string_view s, std::size_t from) noexcept {
    static constexpr auto special = [] {
        std::array<bool, 256> t{};
        for (unsigned char c : std::string_view("&<>\"'")) t[c] = true;
        return t;
    }();
#if defined(__SSE2__)
    const __m128i amp = _mm_set1_epi8('&'), lt = _mm_set1_epi8('<'), gt = _mm_set1_epi8('>'),
                  quot = _mm_set1_epi8('"'), apos = _mm_set1_epi8('\'');
    auto hits = [&](std::size_t at) {  // bit i: s[at + i] is special
        __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s.data() + at));
        __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, amp), _mm_cmpeq_epi8(v, lt)),
                                   _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, gt), _mm_cmpeq_epi8(v, quot)),
                                                _mm_cmpeq_epi8(v, apos)));
        return static_cast<unsigned>(_mm_movemask_epi8(hit));
    };
    if (s.size() >= 16) {
        for (; from + 16 <= s.size(); from += 16)
            if (unsigned mask = hits(from)) return from + static_cast<std::size_t>(__builtin_ctz(mask));
        if (from == s.size()) return from;
        // The last 16 bytes, less the ones already looked at.
        std::size_t last = s.size() - 16;
        unsigned mask = hits(last) >> (from - last);
        return mask ? from + static_cast<std::size_t>(__builtin_ctz(mask)) : s.size();
    }
#endif
    for (; from < s.size(); ++from)
        if (special[static_cast<unsigned char>(s[from])]) return from;
    return s.size();
}

GALE_DECL std::vector<std::size_t> code_point_offsets(std::string_view s) {
    std::vector<std::size_t> at;
    at.reserve(s.size() + 1);
    for (std::size_t i = 0; i < s.size(); ++i)
        if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) at.push_back(i);
    at.push_back(s.size());
    return at;
}

GALE_DECL std::size_t space_run_end(std::string_view s, std::size_t i) {
    while (i < s.size()) {
        std::size_t next = i;
        std::int32_t cp = json::detail::decode_utf8(s, next);
        if (cp < 0 || !detail::escape::is_space(static_cast<char32_t>(cp))) break;
        i = next;
    }
    return i;
}

GALE_DECL void append_float(std::string& out, double d) {
    if (std::isnan(d)) out += "nan";
    else if (std::isinf(d)) out += d < 0 ? "-inf" : "inf";
    else json::detail::append_python_float(out, d);
}

GALE_DECL void append_str_repr(std::string& out, std::string_view s) {
    bool single = s.find('\'') != std::string_view::npos, dbl = s.find('"') != std::string_view::npos;
    char quote = single && !dbl ? '"' : '\'';
    static constexpr char hex[] = "0123456789abcdef";
    out += quote;
    std::size_t i = 0;
    while (i < s.size()) {
        std::size_t start = i;
        std::int32_t cp = json::detail::decode_utf8(s, i);
        if (cp < 0) {
            i = start + 1;
            cp = 0xFFFD;
        }
        auto c = static_cast<std::uint32_t>(cp);
        if (c == '\\' || c == static_cast<std::uint32_t>(quote)) {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c == '\t') {
            out += "\\t";
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\r') {
            out += "\\r";
        } else if (c < 0x20 || (c >= 0x7F && c <= 0xA0) || c == 0xAD) {
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 15];
        } else if (c == 0x1680 || (c >= 0x2000 && c <= 0x200F) || (c >= 0x2028 && c <= 0x202F) ||
                   (c >= 0x205F && c <= 0x206F) || c == 0x3000 || c == 0xFEFF || (c >= 0xE000 && c <= 0xF8FF)) {
            out += "\\u";
            for (int sh = 12; sh >= 0; sh -= 4) out += hex[(c >> sh) & 15];
        } else {
            out.append(s, start, i - start);
        }
    }
    out += quote;
}

GALE_DECL void append_items(std::string& out, const json::array& a, value::view v) {
    bool tuple = v == value::view::tuple;
    out += tuple ? '(' : '[';
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (i) out += ", ";
        append_repr(out, a[i], v == value::view::dict_items ? value::view::tuple : value::view::none);
    }
    if (tuple && a.size() == 1) out += ',';
    out += tuple ? ')' : ']';
}

GALE_DECL void append_repr(std::string& out, const json::value& j, value::view v) {
    switch (j.type()) {
    case json::kind::null: out += "None"; break;
    case json::kind::boolean: out += j.get_bool() ? "True" : "False"; break;
    case json::kind::integer: append_int(out, j.get_int()); break;
    case json::kind::floating: append_float(out, j.get_double()); break;
    case json::kind::string: append_str_repr(out, j.get_string()); break;
    case json::kind::array:
        if (v == value::view::dict_keys || v == value::view::dict_values || v == value::view::dict_items) {
            out += type_name(j, v);
            out += '(';
            append_items(out, j.get_array(), v);
            out += ')';
        } else {
            append_items(out, j.get_array(), v);
        }
        break;
    case json::kind::object: {
        out += '{';
        bool first = true;
        for (const auto& [k, e] : j.get_object()) {
            if (!first) out += ", ";
            first = false;
            append_str_repr(out, k);
            out += ": ";
            append_repr(out, e);
        }
        out += '}';
        break;
    }
    }
}

GALE_DECL void append_callable(std::string& out, const value& v, std::string_view name) {
    if (v.type() == value::kind::function) {
        out += "<function ";
        out += v.name();
        out += '>';
    } else if (v.type() == value::kind::method) {  // Python adds the address
        out += "<built-in method ";
        out += name;
        out += " of ";
        out += type_name(v.data(), v.data_view());
        out += " object>";
    } else {
        out += "<built-in function ";
        out += name;
        out += '>';
    }
}

GALE_DECL bool equal(const json::value& a, const json::value& b) {
    if (is_numeric(a) && is_numeric(b)) {
        if (is_intlike(a) && is_intlike(b)) return as_int(a) == as_int(b);
        if (a.is_double() && b.is_double()) return a.get_double() == b.get_double();
        json::value x = a.is_bool() ? json::value(as_int(a)) : a, y = b.is_bool() ? json::value(as_int(b)) : b;
        return x == y;
    }
    if (a.is_array() && b.is_array()) {
        const auto &x = a.get_array(), &y = b.get_array();
        if (x.size() != y.size()) return false;
        for (std::size_t i = 0; i < x.size(); ++i)
            if (!equal(x[i], y[i])) return false;
        return true;
    }
    return a == b;
}

GALE_DECL int compare(const json::value& a, const json::value& b, const char* op) {
    if (is_numeric(a) && is_numeric(b)) {
        if (is_intlike(a) && is_intlike(b)) {
            auto x = as_int(a), y = as_int(b);
            return x < y ? -1 : x > y;
        }
        double x = as_double(a), y = as_double(b);
        return x < y ? -1 : x > y;
    }
    if (a.is_string() && b.is_string()) {
        int c = a.get_string().compare(b.get_string());
        return c < 0 ? -1 : c > 0;
    }
    if (a.is_array() && b.is_array()) {
        const auto &x = a.get_array(), &y = b.get_array();
        for (std::size_t i = 0; i < x.size() && i < y.size(); ++i)
            if (!equal(x[i], y[i])) return compare(x[i], y[i], op);
        return x.size() < y.size() ? -1 : x.size() > y.size();
    }
    raise("TypeError", std::string("'") + op + "' not supported between instances of '" + type_name(a) + "' and '" +
                           type_name(b) + "'");
}

GALE_DECL double py_fmod(double a, double b) {
    double m = std::fmod(a, b);
    if (m != 0.0) {
        if ((b < 0) != (m < 0)) m += b;
    } else {
        m = std::copysign(0.0, b);
    }
    return m;
}

GALE_DECL double py_floordiv(double a, double b) {
    double m = std::fmod(a, b);
    double div = (a - m) / b;
    if (m != 0.0 && ((b < 0) != (m < 0))) div -= 1.0;
    if (div == 0.0) return std::copysign(0.0, a / b);
    double fl = std::floor(div);
    if (div - fl > 0.5) fl += 1.0;
    return fl;
}

[[noreturn]] GALE_DECL void unsupported(const char* op, const json::value& a, const json::value& b) {
    raise("TypeError", std::string("unsupported operand type(s) for ") + op + ": '" + type_name(a) + "' and '" +
                           type_name(b) + "'");
}

GALE_DECL json::value repeat(const json::value& seq, std::int64_t n) {
    if (seq.is_string()) {
        std::string r;
        for (std::int64_t i = 0; i < n; ++i) r += seq.get_string();
        return r;
    }
    json::array r;
    for (std::int64_t i = 0; i < n; ++i) r.insert(r.end(), seq.get_array().begin(), seq.get_array().end());
    return r;
}

GALE_DECL json::value add(const json::value& a, const json::value& b) {
    if (is_intlike(a) && is_intlike(b)) {
        std::int64_t r = 0;
        if (__builtin_add_overflow(as_int(a), as_int(b), &r)) overflow();
        return r;
    }
    if (is_numeric(a) && is_numeric(b)) return as_double(a) + as_double(b);
    if (a.is_string() && b.is_string()) return a.get_string() + b.get_string();
    if (a.is_array() && b.is_array()) {
        json::array r = a.get_array();
        r.insert(r.end(), b.get_array().begin(), b.get_array().end());
        return r;
    }
    if (a.is_string()) raise("TypeError", std::string("can only concatenate str (not \"") + type_name(b) + "\") to str");
    if (a.is_array())
        raise("TypeError", std::string("can only concatenate list (not \"") + type_name(b) + "\") to list");
    unsupported("+", a, b);
}

GALE_DECL json::value arith(char op, const json::value& a, const json::value& b) {
    if (op == '+') return add(a, b);
    bool ints = is_intlike(a) && is_intlike(b);
    if (op == '*' && !(is_numeric(a) && is_numeric(b))) {
        if ((a.is_string() || a.is_array()) && is_intlike(b)) return repeat(a, as_int(b));
        if ((b.is_string() || b.is_array()) && is_intlike(a)) return repeat(b, as_int(a));
        unsupported("*", a, b);
    }
    static constexpr const char* names[] = {"-", "*", "/", "//", "%", "**"};
    const char* name = op == '-' ? names[0] : op == '*' ? names[1] : op == '/' ? names[2] : op == 'f' ? names[3]
                     : op == '%' ? names[4] : names[5];
    if (!(is_numeric(a) && is_numeric(b))) unsupported(name, a, b);
    if (ints) {
        std::int64_t x = as_int(a), y = as_int(b), r = 0;
        switch (op) {
        case '-':
            if (__builtin_sub_overflow(x, y, &r)) overflow();
            return r;
        case '*':
            if (__builtin_mul_overflow(x, y, &r)) overflow();
            return r;
        case '/':
            if (y == 0) raise("ZeroDivisionError", "division by zero");
            return static_cast<double>(x) / static_cast<double>(y);
        case 'f':
        case '%': {
            if (y == 0) raise("ZeroDivisionError", "integer division or modulo by zero");
            if (x == INT64_MIN && y == -1) overflow();
            std::int64_t q = x / y, m = x % y;
            if (m != 0 && ((m < 0) != (y < 0))) {
                m += y;
                --q;
            }
            return op == 'f' ? q : m;
        }
        case 'p': {
            if (y < 0) return std::pow(static_cast<double>(x), static_cast<double>(y));
            std::int64_t result = 1;
            while (y > 0) {  // by squaring
                if ((y & 1) && __builtin_mul_overflow(result, x, &result)) overflow();
                y >>= 1;
                if (y > 0 && __builtin_mul_overflow(x, x, &x)) overflow();
            }
            return result;
        }
        }
    }
    double x = as_double(a), y = as_double(b);
    switch (op) {
    case '-': return x - y;
    case '*': return x * y;
    case '/':
        if (y == 0) raise("ZeroDivisionError", "float division by zero");
        return x / y;
    case 'f':
        if (y == 0) raise("ZeroDivisionError", "float floor division by zero");
        return py_floordiv(x, y);
    case '%':
        if (y == 0) raise("ZeroDivisionError", "float modulo");
        return py_fmod(x, y);
    default: return std::pow(x, y);
    }
}

}  // namespace gale::detail::tmpl
