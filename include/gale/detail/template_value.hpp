// Internal to <gale/template.hpp>: the values a template expression works
// on, their Python behaviour (str(), repr(), truth, comparison, arithmetic)
// and the errors templates raise. Users include <gale/template.hpp>.
#pragma once

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "../escape.hpp"
#include "../json.hpp"

namespace gale {

// An error raised while rendering (or loading) a template. type() is the
// Python exception class Tornado would raise (NameError, KeyError,
// TypeError, ...); message() its text; once the error has left the
// statement that raised it, filename() and lineno() say where, and what()
// reads "index.html:3: NameError: name 'x' is not defined".
class template_error : public std::exception {
public:
    template_error(std::string type, std::string message)
        : type_(std::move(type)), message_(std::move(message)) {
        what_ = type_ + ": " + message_;
    }
    const char* what() const noexcept override { return what_.c_str(); }
    const std::string& type() const noexcept { return type_; }
    const std::string& message() const noexcept { return message_; }
    const std::string& filename() const noexcept { return filename_; }
    int lineno() const noexcept { return lineno_; }
    bool located() const noexcept { return lineno_ > 0; }
    void locate(std::string filename, int lineno) {
        filename_ = std::move(filename);
        lineno_ = lineno;
        what_ = filename_ + ":" + std::to_string(lineno_) + ": " + type_ + ": " + message_;
    }

protected:
    std::string type_, message_, filename_, what_;
    int lineno_ = 0;
};

// Tornado's ParseError: a template that cannot be parsed (unbalanced
// blocks, unknown directives, bad expressions). what() is Tornado's text:
// "Missing {% end %} block for if at index.html:3".
class ParseError : public template_error {
public:
    ParseError(std::string message, std::string filename, int lineno) : template_error("ParseError", std::move(message)) {
        filename_ = std::move(filename);
        lineno_ = lineno;
        what_ = message_ + " at " + filename_ + ":" + std::to_string(lineno_);
    }
};

// What a function registered in a template namespace receives: positional
// arguments, then keyword arguments, as JSON values.
class template_args {
public:
    template_args(std::span<const json::value* const> positional, std::span<const std::string_view> kw_names,
                  std::span<const json::value* const> kw_values)
        : pos_(positional), kw_names_(kw_names), kw_values_(kw_values) {}
    std::size_t size() const noexcept { return pos_.size(); }
    bool empty() const noexcept { return pos_.empty(); }
    const json::value& operator[](std::size_t i) const { return at(i); }
    const json::value& at(std::size_t i) const {
        if (i >= pos_.size()) throw template_error("TypeError", "missing positional argument " + std::to_string(i + 1));
        return *pos_[i];
    }
    // The keyword argument called name, or nullptr.
    const json::value* kwarg(std::string_view name) const noexcept {
        for (std::size_t i = 0; i < kw_names_.size(); ++i)
            if (kw_names_[i] == name) return kw_values_[i];
        return nullptr;
    }
    // Positional argument i, else the keyword argument name, else nullptr.
    const json::value* get(std::size_t i, std::string_view name) const noexcept {
        return i < pos_.size() ? pos_[i] : kwarg(name);
    }
    std::span<const std::string_view> kwarg_names() const noexcept { return kw_names_; }
    std::span<const json::value* const> kwarg_values() const noexcept { return kw_values_; }

private:
    std::span<const json::value* const> pos_;
    std::span<const std::string_view> kw_names_;
    std::span<const json::value* const> kw_values_;
};

// A callable a template can use: f(args...) in an expression, or the
// render hook of {% module Name(args...) %}.
using template_function = std::function<json::value(const template_args&)>;

namespace detail::tmpl {

[[noreturn]] inline void raise(const char* type, std::string message) {
    throw template_error(type, std::move(message));
}

// A value inside an expression: JSON data (borrowed from the namespace or a
// constant, shared with a local variable, or owned), or something callable.
// view marks data that Python would print differently from a list.
class value {
public:
    enum class kind : std::uint8_t { unset, data, builtin, function, method };
    enum class view : std::uint8_t { none, tuple, dict_keys, dict_values, dict_items };

    value() = default;
    // Copies and moves touch the owned json value only when there is one
    // (a borrowed or callable value, the common case, holds null there).
    value(const value& o)
        : kind_(o.kind_), view_(o.view_), id_(o.id_), ptr_(o.ptr_), keep_(o.keep_), fn_(o.fn_), name_(o.name_) {
        if (!o.own_.is_null()) own_ = o.own_;
    }
    value(value&& o) noexcept
        : kind_(o.kind_), view_(o.view_), id_(o.id_), ptr_(o.ptr_), keep_(std::move(o.keep_)), fn_(o.fn_),
          name_(o.name_) {
        if (!o.own_.is_null()) own_ = std::move(o.own_);
    }
    value& operator=(const value& o) {
        if (this != &o) *this = value(o);
        return *this;
    }
    value& operator=(value&& o) noexcept {
        kind_ = o.kind_;
        view_ = o.view_;
        id_ = o.id_;
        ptr_ = o.ptr_;
        keep_ = std::move(o.keep_);
        if (!own_.is_null() || !o.own_.is_null()) own_ = std::move(o.own_);
        fn_ = o.fn_;
        name_ = o.name_;
        return *this;
    }
    ~value() = default;

    static value borrow(const json::value& j, std::shared_ptr<const json::value> keep = {}, view v = view::none) {
        value r;
        r.kind_ = kind::data;
        r.ptr_ = &j;
        r.keep_ = std::move(keep);
        r.view_ = v;
        return r;
    }
    static value own(json::value j, view v = view::none) {
        value r;
        r.kind_ = kind::data;
        r.own_ = std::move(j);
        r.view_ = v;
        return r;
    }
    static value builtin(std::uint16_t id) {
        value r;
        r.kind_ = kind::builtin;
        r.id_ = id;
        return r;
    }
    static value function(const template_function* f, std::string_view name) {
        value r;
        r.kind_ = kind::function;
        r.fn_ = f;
        r.name_ = name;
        return r;
    }
    // A bound method: receiver's method number id.
    static value method(value receiver, std::uint16_t id) {
        receiver.kind_ = kind::method;
        receiver.id_ = id;
        return receiver;
    }

    kind type() const noexcept { return kind_; }
    view data_view() const noexcept { return view_; }
    bool is_unset() const noexcept { return kind_ == kind::unset; }
    bool is_data() const noexcept { return kind_ == kind::data; }
    bool is_callable() const noexcept { return kind_ > kind::data; }
    std::uint16_t id() const noexcept { return id_; }
    const template_function* fn() const noexcept { return fn_; }
    std::string_view name() const noexcept { return name_; }
    const json::value& data() const noexcept { return ptr_ ? *ptr_ : own_; }
    const std::shared_ptr<const json::value>& keep() const noexcept { return keep_; }
    bool owns() const noexcept { return ptr_ == nullptr; }
    json::value take() && { return ptr_ ? *ptr_ : std::move(own_); }
    void set_view(view v) noexcept { view_ = v; }

    // The receiver of a method, as data.
    value receiver() const {
        value r = *this;
        r.kind_ = kind::data;
        return r;
    }
    // Moves owned data to the heap so that borrowed elements can outlive
    // this value (locals and loops keep values this way).
    void share() {
        if (kind_ != kind::unset && !ptr_) {
            keep_ = std::make_shared<const json::value>(std::move(own_));
            ptr_ = keep_.get();
            own_ = json::value();
        }
    }
    // Element e of this value's data, borrowed when this value is shared or
    // borrowed, copied otherwise.
    value element(const json::value& e, view v = view::none) const {
        return ptr_ ? borrow(e, keep_, v) : own(e, v);
    }
    // Makes this a plain borrow of e kept alive by keep (a loop variable
    // moving to the next element), reusing what it holds when it can.
    void rebind(const json::value& e, const std::shared_ptr<const json::value>& keep) {
        if (kind_ == kind::data && ptr_ && view_ == view::none && keep_ == keep) ptr_ = &e;
        else *this = borrow(e, keep);
    }
    value take_element(const json::value& e, view v = view::none) && {
        if (ptr_) return borrow(e, std::move(keep_), v);
        return own(std::move(const_cast<json::value&>(e)), v);
    }

private:
    kind kind_ = kind::unset;
    view view_ = view::none;
    std::uint16_t id_ = 0;
    const json::value* ptr_ = nullptr;
    std::shared_ptr<const json::value> keep_;
    json::value own_;
    const template_function* fn_ = nullptr;
    std::string_view name_;
};

// ---- Python type names, truth ----

inline const char* type_name(const json::value& j, value::view v = value::view::none) {
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

inline const char* type_name(const value& v) {
    switch (v.type()) {
    case value::kind::data: return type_name(v.data(), v.data_view());
    case value::kind::builtin: return "builtin_function_or_method";
    case value::kind::method: return "builtin_function_or_method";
    case value::kind::function: return "function";
    default: return "object";
    }
}

inline bool truth(const json::value& j) {
    switch (j.type()) {
    case json::kind::null: return false;
    case json::kind::boolean: return j.get_bool();
    case json::kind::integer: return j.get_int() != 0;
    case json::kind::floating: return j.get_double() != 0.0;
    default: return !j.empty();
    }
}
inline bool truth(const value& v) { return !v.is_data() || truth(v.data()); }

// bool counts as int in arithmetic and comparison, as in Python.
inline bool is_intlike(const json::value& j) { return j.is_int() || j.is_bool(); }
inline bool is_numeric(const json::value& j) { return j.is_number() || j.is_bool(); }
inline std::int64_t as_int(const json::value& j) { return j.is_bool() ? (j.get_bool() ? 1 : 0) : j.get_int(); }
inline double as_double(const json::value& j) { return j.is_double() ? j.get_double() : static_cast<double>(as_int(j)); }

// ---- escaping: xhtml_escape appended to the output, with a fast scan ----

// The index of the first of & < > " ' in s at or after from (the characters
// xhtml_escape replaces), or s.size(). Sixteen bytes a step with SSE2.
inline std::size_t find_html_special(std::string_view s, std::size_t from) noexcept {
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

// Appends xhtml_escape(s) to out (the same text as escape.hpp's
// xhtml_escape): runs without a special character are copied whole. Out is
// std::string or anything with append(const char*, size_t).
template <class Out>
void append_html_escaped(Out& out, std::string_view s) {
    std::size_t run = 0;
    for (std::size_t i = find_html_special(s, 0); i < s.size(); i = find_html_special(s, run)) {
        out.append(s.data() + run, i - run);
        switch (s[i]) {
        case '&': out.append("&amp;", 5); break;
        case '<': out.append("&lt;", 4); break;
        case '>': out.append("&gt;", 4); break;
        case '"': out.append("&quot;", 6); break;
        default: out.append("&#39;", 5); break;
        }
        run = i + 1;
    }
    out.append(s.data() + run, s.size() - run);
}

// ---- UTF-8 helpers (Python strings count code points) ----

inline bool is_ascii(std::string_view s) {
    for (char c : s)
        if (static_cast<unsigned char>(c) >= 0x80) return false;
    return true;
}
// Byte offsets of each code point start, plus the end.
inline std::vector<std::size_t> code_point_offsets(std::string_view s) {
    std::vector<std::size_t> at;
    at.reserve(s.size() + 1);
    for (std::size_t i = 0; i < s.size(); ++i)
        if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) at.push_back(i);
    at.push_back(s.size());
    return at;
}
inline std::size_t code_point_count(std::string_view s) {
    std::size_t n = 0;
    for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    return n;
}

// The end of the run of Python whitespace (str.isspace) starting at s[i].
inline std::size_t space_run_end(std::string_view s, std::size_t i) {
    while (i < s.size()) {
        std::size_t next = i;
        std::int32_t cp = json::detail::decode_utf8(s, next);
        if (cp < 0 || !detail::escape::is_space(static_cast<char32_t>(cp))) break;
        i = next;
    }
    return i;
}

// ---- str() and repr() ----

template <class Out>
void append_int(Out& out, std::int64_t n) {
    char buf[24];
    char* const end = buf + sizeof buf;
    char* p = end;
    std::uint64_t u = n < 0 ? 0 - static_cast<std::uint64_t>(n) : static_cast<std::uint64_t>(n);
    do {
        *--p = static_cast<char>('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (n < 0) *--p = '-';
    out.append(p, static_cast<std::size_t>(end - p));
}

inline void append_float(std::string& out, double d) {
    if (std::isnan(d)) out += "nan";
    else if (std::isinf(d)) out += d < 0 ? "-inf" : "inf";
    else json::detail::append_python_float(out, d);
}

// Python's repr of a str: quotes chosen as Python does, control and
// non-printable characters escaped (the common non-printable ones; see the
// header for the approximation).
inline void append_str_repr(std::string& out, std::string_view s) {
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

inline void append_repr(std::string& out, const json::value& j, value::view v = value::view::none);

inline void append_items(std::string& out, const json::array& a, value::view v) {
    bool tuple = v == value::view::tuple;
    out += tuple ? '(' : '[';
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (i) out += ", ";
        append_repr(out, a[i], v == value::view::dict_items ? value::view::tuple : value::view::none);
    }
    if (tuple && a.size() == 1) out += ',';
    out += tuple ? ')' : ']';
}

inline void append_repr(std::string& out, const json::value& j, value::view v) {
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

inline void append_callable(std::string& out, const value& v, std::string_view name) {
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

// Python's str(j).
inline void append_str(std::string& out, const json::value& j, value::view v = value::view::none) {
    if (j.is_string()) out += j.get_string();
    else append_repr(out, j, v);
}

inline std::string str_of(const json::value& j, value::view v = value::view::none) {
    std::string s;
    append_str(s, j, v);
    return s;
}

// ---- comparison ----

inline bool equal(const json::value& a, const json::value& b) {
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

// Python's a < b (-1, 0, 1 as three-way); TypeError for unorderable kinds.
inline int compare(const json::value& a, const json::value& b, const char* op) {
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

// ---- arithmetic (integers are int64: overflow raises OverflowError) ----

[[noreturn]] inline void overflow() {
    raise("OverflowError", "integer result out of range (gale's integers are 64-bit)");
}

inline double py_fmod(double a, double b) {
    double m = std::fmod(a, b);
    if (m != 0.0) {
        if ((b < 0) != (m < 0)) m += b;
    } else {
        m = std::copysign(0.0, b);
    }
    return m;
}
inline double py_floordiv(double a, double b) {
    double m = std::fmod(a, b);
    double div = (a - m) / b;
    if (m != 0.0 && ((b < 0) != (m < 0))) div -= 1.0;
    if (div == 0.0) return std::copysign(0.0, a / b);
    double fl = std::floor(div);
    if (div - fl > 0.5) fl += 1.0;
    return fl;
}

[[noreturn]] inline void unsupported(const char* op, const json::value& a, const json::value& b) {
    raise("TypeError", std::string("unsupported operand type(s) for ") + op + ": '" + type_name(a) + "' and '" +
                           type_name(b) + "'");
}

inline json::value repeat(const json::value& seq, std::int64_t n) {
    if (seq.is_string()) {
        std::string r;
        for (std::int64_t i = 0; i < n; ++i) r += seq.get_string();
        return r;
    }
    json::array r;
    for (std::int64_t i = 0; i < n; ++i) r.insert(r.end(), seq.get_array().begin(), seq.get_array().end());
    return r;
}

inline json::value add(const json::value& a, const json::value& b) {
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

inline json::value arith(char op, const json::value& a, const json::value& b) {
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

}  // namespace detail::tmpl
}  // namespace gale
