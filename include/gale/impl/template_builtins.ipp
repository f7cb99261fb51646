// Definitions for detail/template_builtins.hpp: compiled in every
// translation unit that includes it in header-only mode, once (by
// <gale/src.hpp>) in separate compilation mode; see detail/config.hpp.
#pragma once

#include "../detail/template_builtins.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace gale::detail::tmpl {

GALE_DECL std::uint16_t find_builtin(std::string_view name) {
    for (std::uint16_t i = 0; i < b_none; ++i)
        if (builtin_names[i] == name) return i;
    return b_none;
}

GALE_DECL void check_arity(const call_args& a, std::string_view fn, std::size_t min, std::size_t max) {
    std::size_t n = a.npos();
    if (n < min || n > max)
        raise("TypeError", std::string(fn) + "() takes " +
                               (min == max ? std::to_string(min) : std::to_string(min) + " to " + std::to_string(max)) +
                               " positional arguments but " + std::to_string(n) + " were given");
}

GALE_DECL json::array to_list(const json::value& j) {
    switch (j.type()) {
    case json::kind::array: return j.get_array();
    case json::kind::string: {
        json::array r;
        const std::string& s = j.get_string();
        auto at = code_point_offsets(s);
        for (std::size_t i = 0; i + 1 < at.size(); ++i) r.emplace_back(s.substr(at[i], at[i + 1] - at[i]));
        return r;
    }
    case json::kind::object: {
        json::array r;
        for (const auto& m : j.get_object()) r.emplace_back(m.first);
        return r;
    }
    default: raise("TypeError", std::string("'") + type_name(j) + "' object is not iterable");
    }
}

GALE_DECL std::int64_t to_int(const json::value& j) {
    if (is_intlike(j)) return as_int(j);
    if (j.is_double()) {
        double d = j.get_double();
        if (std::isnan(d)) raise("ValueError", "cannot convert float NaN to integer");
        if (std::isinf(d)) raise("OverflowError", "cannot convert float infinity to integer");
        if (!(d > -9.3e18 && d < 9.3e18)) raise("OverflowError", "integer out of gale's 64-bit range");
        return static_cast<std::int64_t>(d);
    }
    if (j.is_string()) {
        std::string_view s = detail::escape::strip(j.get_string());
        std::string digits;
        for (char c : s)
            if (c != '_') digits += c;
        std::int64_t n = 0;
        const char* b = digits.data() + (!digits.empty() && digits[0] == '+');
        auto r = std::from_chars(b, digits.data() + digits.size(), n);
        if (digits.empty() || r.ec != std::errc() || r.ptr != digits.data() + digits.size())
            raise("ValueError", "invalid literal for int() with base 10: " + [&] {
                std::string q;
                append_str_repr(q, j.get_string());
                return q;
            }());
        return n;
    }
    raise("TypeError", std::string("int() argument must be a string, a bytes-like object or a real number, not '") +
                           type_name(j) + "'");
}

GALE_DECL double to_float(const json::value& j) {
    if (is_numeric(j)) return as_double(j);
    if (j.is_string()) {
        std::string s(detail::escape::strip(j.get_string()));
        std::string low = s;
        for (char& c : low) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        std::string_view l = low;
        bool neg = !l.empty() && l[0] == '-';
        if (!l.empty() && (l[0] == '-' || l[0] == '+')) l.remove_prefix(1);
        if (l == "inf" || l == "infinity") return neg ? -INFINITY : INFINITY;
        if (l == "nan") return NAN;
        double d = 0;
        const char* b = s.data() + (!s.empty() && s[0] == '+');
        auto r = std::from_chars(b, s.data() + s.size(), d);
        if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size()) {
            std::string q;
            append_str_repr(q, j.get_string());
            raise("ValueError", "could not convert string to float: " + q);
        }
        return d;
    }
    raise("TypeError", std::string("float() argument must be a string or a real number, not '") + type_name(j) + "'");
}

GALE_DECL double round_to(double d, std::int64_t n) {
    if (!std::isfinite(d) || n > 300) return d;
    if (n < -308) return 0.0 * d;
    char buf[400];
    std::to_chars_result r;
    if (n >= 0) {
        r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::fixed, static_cast<int>(n));
    } else {
        double scale = std::pow(10.0, static_cast<double>(-n));
        double scaled = std::nearbyint(d / scale) * scale;
        return scaled;
    }
    double out = 0;
    std::from_chars(buf, r.ptr, out);
    return out;
}

GALE_DECL void pad(std::string& out, std::string body, const format_spec& f, bool numeric) {
    int len = static_cast<int>(code_point_count(body));
    if (f.width <= len) {
        out += body;
        return;
    }
    auto n = static_cast<std::size_t>(f.width - len);
    char align = f.align ? f.align : numeric ? '>' : '<';
    char fill = f.fill;
    if (f.zero && !f.align) {
        align = '=';
        fill = '0';
    }
    if (align == '<') {
        out += body;
        out.append(n, fill);
    } else if (align == '>') {
        out.append(n, fill);
        out += body;
    } else if (align == '^') {
        out.append(n / 2, fill);
        out += body;
        out.append(n - n / 2, fill);
    } else {  // '=': after the sign
        std::size_t sign = !body.empty() && (body[0] == '-' || body[0] == '+' || body[0] == ' ');
        out.append(body, 0, sign);
        out.append(n, fill);
        out.append(body, sign);
    }
}

// Built by appending: GCC 12 at -O2 reports a false -Wrestrict overlap for
// the same thing done with string::insert once this is compiled out of line.
GALE_DECL std::string with_commas(std::string digits) {
    std::size_t start = !digits.empty() && digits[0] == '-';
    std::size_t end = std::min(digits.find('.'), digits.size());
    std::string out(digits, 0, start);
    for (std::size_t i = start; i < end; ++i) {
        if (i > start && (end - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    out.append(digits, end);
    return out;
}

GALE_DECL void format_one(std::string& out, const json::value& j, format_spec f, value::view v) {
    char t = f.type;
    std::string body;
    bool numeric = false;
    if (t == 0 && is_numeric(j) && !j.is_bool() && (f.precision >= 0 || f.sign != '-' || f.zero || f.comma))
        t = j.is_double() ? 'g' : 'd';
    if (t == 0 || t == 's' || t == 'r') {
        if (t == 'r') append_repr(body, j, v);
        else append_str(body, j, v);
        if (f.precision >= 0) {
            auto at = code_point_offsets(body);
            if (static_cast<std::size_t>(f.precision) + 1 < at.size()) body.resize(at[static_cast<std::size_t>(f.precision)]);
        }
    } else if (t == 'd' || t == 'i' || t == 'x' || t == 'X' || t == 'o' || t == 'b') {
        if (!is_numeric(j)) raise("TypeError", std::string("%") + t + " format: a real number is required, not " + type_name(j));
        if (j.is_double() && (t == 'x' || t == 'X' || t == 'o' || t == 'b'))
            raise("TypeError", std::string("%") + t + " format: an integer is required, not float");
        std::int64_t n = to_int(j);
        char buf[80];
        int base = t == 'x' || t == 'X' ? 16 : t == 'o' ? 8 : t == 'b' ? 2 : 10;
        auto r = std::to_chars(buf, buf + sizeof buf, n, base);
        body.assign(buf, r.ptr);
        if (t == 'X')
            for (char& c : body) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        numeric = true;
    } else if (t == 'f' || t == 'F' || t == 'e' || t == 'E' || t == 'g' || t == 'G' || t == '%') {
        if (!is_numeric(j)) raise("TypeError", std::string("must be real number, not ") + type_name(j));
        double d = as_double(j);
        if (t == '%') d *= 100;
        int p = f.precision < 0 ? 6 : f.precision;
        char buf[512];
        std::to_chars_result r;
        if (std::isnan(d) || std::isinf(d)) {
            body = std::isnan(d) ? "nan" : d < 0 ? "-inf" : "inf";
        } else if (t == 'f' || t == 'F' || t == '%') {
            r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::fixed, p);
            body.assign(buf, r.ptr);
        } else if (t == 'e' || t == 'E') {
            r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific, p);
            body.assign(buf, r.ptr);
            if (body.size() >= 2 && body[body.size() - 2] == '+') body.insert(body.size() - 1, "0");
            if (body.size() >= 2 && body[body.size() - 2] == '-') body.insert(body.size() - 1, "0");
        } else {
            int snprintf_len = std::snprintf(buf, sizeof buf, "%.*g", p == 0 ? 1 : p, d);
            body.assign(buf, static_cast<std::size_t>(snprintf_len));
        }
        if (t == '%') body += '%';
        if (t == 'E' || t == 'G' || t == 'F')
            for (char& c : body) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        numeric = true;
    } else if (t == 'c') {
        if (j.is_string()) body = j.get_string();
        else detail::escape::append_utf8(body, static_cast<char32_t>(to_int(j)));
    } else {
        raise("ValueError", std::string("Unknown format code '") + t + "' for object of type '" + type_name(j) + "'");
    }
    if (numeric) {
        if (f.comma) body = with_commas(body);
        if (body[0] != '-' && f.sign != '-') body.insert(0, 1, f.sign);
    }
    pad(out, std::move(body), f, numeric);
}

GALE_DECL format_spec parse_spec(std::string_view s) {
    format_spec f;
    std::size_t i = 0;
    auto is_align = [](char c) { return c == '<' || c == '>' || c == '^' || c == '='; };
    if (s.size() >= 2 && is_align(s[1])) {
        f.fill = s[0];
        f.align = s[1];
        i = 2;
    } else if (!s.empty() && is_align(s[0])) {
        f.align = s[0];
        i = 1;
    }
    if (i < s.size() && (s[i] == '+' || s[i] == '-' || s[i] == ' ')) f.sign = s[i++];
    if (i < s.size() && s[i] == '#') f.alternate = true, ++i;
    if (i < s.size() && s[i] == '0') f.zero = true, ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) f.width = std::max(f.width, 0) * 10 + (s[i++] - '0');
    if (i < s.size() && s[i] == ',') f.comma = true, ++i;
    if (i < s.size() && s[i] == '.') {
        ++i;
        f.precision = 0;
        while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) f.precision = f.precision * 10 + (s[i++] - '0');
    }
    if (i < s.size()) f.type = s[i++];
    if (i != s.size()) raise("ValueError", "Invalid format specifier");
    return f;
}

GALE_DECL std::string percent_format(std::string_view fmt, const value& args) {
    const json::value& a = args.data();
    bool is_tuple = a.is_array() && args.data_view() == value::view::tuple;
    std::size_t next = 0;
    std::string out;
    bool used_mapping = false;
    auto next_arg = [&]() -> const json::value& {
        if (is_tuple) {
            if (next >= a.get_array().size()) raise("TypeError", "not enough arguments for format string");
            return a.get_array()[next++];
        }
        if (next++ > 0) raise("TypeError", "not enough arguments for format string");
        return a;
    };
    for (std::size_t i = 0; i < fmt.size(); ++i) {
        if (fmt[i] != '%') {
            out += fmt[i];
            continue;
        }
        if (++i >= fmt.size()) raise("ValueError", "incomplete format");
        const json::value* arg = nullptr;
        if (fmt[i] == '(') {
            std::size_t close = fmt.find(')', i);
            if (close == std::string_view::npos) raise("ValueError", "incomplete format key");
            if (!a.is_object()) raise("TypeError", "format requires a mapping");
            const json::value* found = a.find(fmt.substr(i + 1, close - i - 1));
            if (!found) {
                std::string q;
                append_str_repr(q, fmt.substr(i + 1, close - i - 1));
                raise("KeyError", q);
            }
            arg = found;
            used_mapping = true;
            i = close + 1;
        }
        format_spec f;
        f.align = '>';
        for (; i < fmt.size() && std::string_view("-+ #0").find(fmt[i]) != std::string_view::npos; ++i) {
            if (fmt[i] == '-') f.align = '<';
            else if (fmt[i] == '0') f.zero = true;
            else if (fmt[i] == '+' || fmt[i] == ' ') f.sign = fmt[i];
        }
        if (f.align == '<') f.zero = false;
        if (f.zero) f.align = 0;
        while (i < fmt.size() && std::isdigit(static_cast<unsigned char>(fmt[i]))) f.width = std::max(f.width, 0) * 10 + (fmt[i++] - '0');
        if (i < fmt.size() && fmt[i] == '.') {
            f.precision = 0;
            ++i;
            while (i < fmt.size() && std::isdigit(static_cast<unsigned char>(fmt[i]))) f.precision = f.precision * 10 + (fmt[i++] - '0');
        }
        if (i >= fmt.size()) raise("ValueError", "incomplete format");
        char t = fmt[i];
        if (t == '%') {
            out += '%';
            continue;
        }
        if (std::string_view("srdifFeEgGxXoc").find(t) == std::string_view::npos)
            raise("ValueError", std::string("unsupported format character '") + t + "'");
        f.type = t == 'i' ? 'd' : t;
        if (t == 's' || t == 'r' || t == 'c') {
            f.zero = false;
            if (!f.align) f.align = '>';
        }
        format_one(out, arg ? *arg : next_arg(), f);
    }
    if (!used_mapping && ((is_tuple && next < a.get_array().size()) || (!is_tuple && next == 0 && !a.is_object())))
        raise("TypeError", "not all arguments converted during string formatting");
    return out;
}

GALE_DECL std::string brace_format(std::string_view fmt, const call_args& args) {
    std::string out;
    std::size_t auto_index = 0;
    for (std::size_t i = 0; i < fmt.size(); ++i) {
        char c = fmt[i];
        if (c == '}') {
            if (i + 1 < fmt.size() && fmt[i + 1] == '}') ++i;
            else raise("ValueError", "Single '}' encountered in format string");
            out += '}';
            continue;
        }
        if (c != '{') {
            out += c;
            continue;
        }
        if (i + 1 < fmt.size() && fmt[i + 1] == '{') {
            out += '{';
            ++i;
            continue;
        }
        std::size_t close = fmt.find('}', i);
        if (close == std::string_view::npos) raise("ValueError", "Single '{' encountered in format string");
        std::string_view field = fmt.substr(i + 1, close - i - 1);
        i = close;
        std::string_view spec, conv;
        if (auto colon = field.find(':'); colon != std::string_view::npos) {
            spec = field.substr(colon + 1);
            field = field.substr(0, colon);
        }
        if (auto bang = field.find('!'); bang != std::string_view::npos) {
            conv = field.substr(bang + 1);
            field = field.substr(0, bang);
        }
        const value* arg;
        if (field.empty() || std::isdigit(static_cast<unsigned char>(field[0]))) {
            std::size_t index = auto_index++;
            if (!field.empty()) std::from_chars(field.data(), field.data() + field.size(), index);
            arg = args.pos(index);
            if (!arg) raise("IndexError", "Replacement index " + std::to_string(index) + " out of range for positional args tuple");
        } else {
            arg = args.kw(field);
            if (!arg) {
                std::string q;
                append_str_repr(q, field);
                raise("KeyError", q);
            }
        }
        format_spec f = parse_spec(spec);
        if (conv == "r") {
            std::string r;
            append_repr(r, data_of(*arg, "format"), arg->data_view());
            format_one(out, json::value(std::move(r)), f);
        } else {
            format_one(out, data_of(*arg, "format"), f, arg->data_view());
        }
    }
    return out;
}

GALE_DECL std::string_view strip_chars(std::string_view s, const value* chars, bool left, bool right) {
    if (chars && chars->is_data() && chars->data().is_string()) {
        const std::string& cs = chars->data().get_string();
        if (left) s.remove_prefix(std::min(s.size(), s.find_first_not_of(cs)));
        if (right) {
            std::size_t last = s.find_last_not_of(cs);
            s = last == std::string_view::npos ? std::string_view() : s.substr(0, last + 1);
        }
        return s;
    }
    std::string_view full = detail::escape::strip(s);
    if (!left) return std::string_view(s.data(), static_cast<std::size_t>(full.data() - s.data()) + full.size());
    if (!right) return std::string_view(full.data(), static_cast<std::size_t>(s.data() + s.size() - full.data()));
    return full;
}

GALE_DECL json::array split(std::string_view s, const value* sep, std::int64_t maxsplit) {
    json::array r;
    if (sep && sep->is_data() && !sep->data().is_null()) {
        const std::string& d = data_of(*sep, "split").get_string();
        if (d.empty()) raise("ValueError", "empty separator");
        std::size_t start = 0;
        while (maxsplit < 0 || static_cast<std::int64_t>(r.size()) < maxsplit) {
            std::size_t at = s.find(d, start);
            if (at == std::string_view::npos) break;
            r.emplace_back(s.substr(start, at - start));
            start = at + d.size();
        }
        r.emplace_back(s.substr(start));
        return r;
    }
    std::size_t i = 0;
    while (true) {
        i = space_run_end(s, i);
        if (i >= s.size()) break;
        if (maxsplit >= 0 && static_cast<std::int64_t>(r.size()) >= maxsplit) {
            r.emplace_back(s.substr(i));  // the rest keeps its trailing whitespace
            break;
        }
        std::size_t j = i;
        while (j < s.size()) {
            std::size_t k = j;
            std::int32_t cp = json::detail::decode_utf8(s, k);
            if (cp >= 0 && detail::escape::is_space(static_cast<char32_t>(cp))) break;
            j = cp < 0 ? j + 1 : k;
        }
        r.emplace_back(s.substr(i, j - i));
        i = j;
    }
    return r;
}

}  // namespace gale::detail::tmpl
