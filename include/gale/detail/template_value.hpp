// Internal to <gale/template.hpp>: the values a template expression works
// on, their Python behaviour (str(), repr(), truth, comparison, arithmetic)
// and the errors templates raise. Users include <gale/template.hpp>.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../escape.hpp"
#include "../json.hpp"
#include "config.hpp"

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

GALE_DECL const char* type_name(const json::value& j, value::view v = value::view::none);
GALE_DECL const char* type_name(const value& v);

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
GALE_DECL std::size_t find_html_special(std::string_view s, std::size_t from) noexcept;

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
GALE_DECL std::vector<std::size_t> code_point_offsets(std::string_view s);
inline std::size_t code_point_count(std::string_view s) {
    std::size_t n = 0;
    for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    return n;
}

// The end of the run of Python whitespace (str.isspace) starting at s[i].
GALE_DECL std::size_t space_run_end(std::string_view s, std::size_t i);

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

// Python's repr of a str: quotes chosen as Python does, control and
// non-printable characters escaped (the common non-printable ones; see the
// header for the approximation).
GALE_DECL void append_str_repr(std::string& out, std::string_view s);

// Python's repr(j), j seen as v.
GALE_DECL void append_repr(std::string& out, const json::value& j, value::view v = value::view::none);

// How Python prints the callable v (named name when it is a built-in).
GALE_DECL void append_callable(std::string& out, const value& v, std::string_view name);

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

GALE_DECL bool equal(const json::value& a, const json::value& b);

// Python's a < b (-1, 0, 1 as three-way); TypeError for unorderable kinds.
GALE_DECL int compare(const json::value& a, const json::value& b, const char* op);

// ---- arithmetic (integers are int64: overflow raises OverflowError) ----

[[noreturn]] inline void overflow() {
    raise("OverflowError", "integer result out of range (gale's integers are 64-bit)");
}

// Python's a + b, and a op b for op one of + - * / f(loor division) % p(ower).
GALE_DECL json::value add(const json::value& a, const json::value& b);
GALE_DECL json::value arith(char op, const json::value& a, const json::value& b);

}  // namespace detail::tmpl
}  // namespace gale

#if GALE_HEADER_ONLY
#include "../impl/template_value.ipp"
#endif
