// JSON values for gale: a document tree whose objects keep insertion order
// (as Python dicts do), and an encoder whose text is byte for byte Python's
// json.dumps with its defaults, which Tornado's write(dict) and json_encode
// send on the wire. Parsing lives in <gale/json_parse.hpp> (it pulls in
// simdjson); this header only builds, reads, compares and encodes.
//
//   gale::json::value v = gale::json::object{
//       {"id", 1}, {"name", "x"}, {"tags", gale::json::array{"a", "b"}}};
//   v["score"] = 2.5;                       // a new key goes last
//   gale::json::dump(v);  // {"id": 1, "name": "x", "tags": ["a", "b"], "score": 2.5}
//
// Synopsis (namespace gale::json):
//   class value   null | bool | int64 | double | string | array | object
//     value(), value(nullptr), value(bool), value(<integer>), value(<floating>),
//     value(const char*), value(std::string), value(std::string_view),
//     value(array), value(object)
//     kind type()  is_null() is_bool() is_int() is_double() is_number()
//                  is_string() is_array() is_object()
//     get_bool() get_int() get_double() get_string() get_array() get_object()
//     T as<T>()    bool, any integer (range-checked), float/double,
//                  std::string, std::string_view, array, object
//     operator[](key) / operator[](index), at(key) / at(index),
//     contains(key), find(key) -> pointer or nullptr, size(), empty()
//     operator==  numbers compare by value (1 == 1.0), objects ignore order
//   class array  : std::vector<value>, built from {v1, v2, ...}
//   class object   ordered (key, value) pairs, built from {{"k", v}, ...}:
//     operator[](key) (inserts null), at, find, contains, insert_or_assign,
//     erase(key), size, empty, begin/end (std::pair<std::string, value>)
//   std::string dump(const value&)           Python's json.dumps(value)
//   void dump(const value&, std::string& out) appends
//   error : std::runtime_error; type_error : error (wrong kind or range);
//   encode_error : error (invalid UTF-8 in a string)
//
// Encoding follows json.dumps(value) with its defaults: ", " and ": "
// separators, ensure_ascii (everything outside printable ASCII as a
// lowercase \uXXXX, characters above U+FFFF as a surrogate pair, \" \\ \n
// \r \t \b \f kept short), floats as Python's repr (shortest text that
// reads back the same: 1.0, 0.1, 1e+16, 1e-05, -0.0), NaN / Infinity /
// -Infinity as allow_nan=True writes them, integers as integers.
//
// Where gale differs from Python, and why:
// - Strings hold UTF-8. Encoding a string that is not valid UTF-8 throws
//   encode_error (Python cannot hold such text in a str at all; Tornado's
//   json_encode of bytes raises TypeError).
// - Integers are int64. Building a value from an unsigned integer above
//   INT64_MAX throws std::out_of_range rather than rounding it to a double;
//   json::parse refuses such numbers the same way (Python keeps big ints).
// - Keys are strings only; object lookups are linear (objects are expected
//   to be small, as in handlers' output); bool is not a number (Python's
//   True == 1 does not hold here).
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "detail/config.hpp"

namespace gale::json {

struct error : std::runtime_error {
    using std::runtime_error::runtime_error;
};
// A value of another kind than asked for, or a number out of the asked range.
struct type_error : error {
    using error::error;
};
// A string that cannot be encoded (invalid UTF-8).
struct encode_error : error {
    using error::error;
};

class value;

// A JSON array: a std::vector of values, built as array{1, "two", 3.0}.
class array : public std::vector<value> {
public:
    using std::vector<value>::vector;
    array() = default;
    friend bool operator==(const array& a, const array& b);
};

// A JSON object: (key, value) pairs in insertion order, as a Python dict.
// Assigning an existing key keeps its place (as in Python).
class object {
public:
    using member = std::pair<std::string, value>;
    using iterator = std::vector<member>::iterator;
    using const_iterator = std::vector<member>::const_iterator;

    object() = default;
    object(std::initializer_list<member> members);  // later duplicates win

    value& operator[](std::string_view key);  // inserts null when missing
    const value& operator[](std::string_view key) const;  // = at(key)
    value& at(std::string_view key);
    const value& at(std::string_view key) const;
    value* find(std::string_view key) noexcept;
    const value* find(std::string_view key) const noexcept;
    bool contains(std::string_view key) const noexcept;
    value& insert_or_assign(std::string key, value v);
    bool erase(std::string_view key);

    // (Defined below, where value is complete.)
    std::size_t size() const noexcept;
    bool empty() const noexcept;
    void clear() noexcept;
    void reserve(std::size_t n);
    iterator begin() noexcept;
    iterator end() noexcept;
    const_iterator begin() const noexcept;
    const_iterator end() const noexcept;

    // Appends without looking for the key (the caller knows it is new).
    value& push_back_unchecked(std::string key, value v);

    friend bool operator==(const object& a, const object& b);

private:
    std::vector<member> members_;
};

enum class kind : std::uint8_t { null, boolean, integer, floating, string, array, object };

namespace detail {
template <class T>
concept json_integer = std::integral<T> && !std::same_as<T, bool> && !std::same_as<T, char> &&
                       !std::same_as<T, char8_t> && !std::same_as<T, char16_t> &&
                       !std::same_as<T, char32_t> && !std::same_as<T, wchar_t>;
}  // namespace detail

class value {
public:
    value() noexcept = default;
    value(std::nullptr_t) noexcept {}
    value(bool b) noexcept : v_(b) {}
    template <detail::json_integer T>
    value(T n) : v_(to_int64(n)) {}
    template <std::floating_point T>
    value(T d) noexcept : v_(static_cast<double>(d)) {}
    value(const char* s) : v_(std::string(s)) {}
    value(std::string s) noexcept : v_(std::move(s)) {}
    value(std::string_view s) : v_(std::string(s)) {}
    value(array a) noexcept : v_(std::move(a)) {}
    value(object o) noexcept : v_(std::move(o)) {}

    kind type() const noexcept { return static_cast<kind>(v_.index()); }
    bool is_null() const noexcept { return type() == kind::null; }
    bool is_bool() const noexcept { return type() == kind::boolean; }
    bool is_int() const noexcept { return type() == kind::integer; }
    bool is_double() const noexcept { return type() == kind::floating; }
    bool is_number() const noexcept { return is_int() || is_double(); }
    bool is_string() const noexcept { return type() == kind::string; }
    bool is_array() const noexcept { return type() == kind::array; }
    bool is_object() const noexcept { return type() == kind::object; }

    bool get_bool() const { return get<bool>("a bool"); }
    std::int64_t get_int() const { return get<std::int64_t>("an integer"); }
    double get_double() const {  // an integer converts
        if (auto* i = std::get_if<std::int64_t>(&v_)) return static_cast<double>(*i);
        return get<double>("a number");
    }
    const std::string& get_string() const { return get<std::string>("a string"); }
    std::string& get_string() { return get<std::string>("a string"); }
    const array& get_array() const { return get<array>("an array"); }
    array& get_array() { return get<array>("an array"); }
    const object& get_object() const { return get<object>("an object"); }
    object& get_object() { return get<object>("an object"); }

    template <class T>
    T as() const {
        if constexpr (std::same_as<T, bool>) {
            return get_bool();
        } else if constexpr (detail::json_integer<T>) {
            std::int64_t n = get_int();
            if (!std::in_range<T>(n)) throw type_error("json: integer out of range for the asked type");
            return static_cast<T>(n);
        } else if constexpr (std::floating_point<T>) {
            return static_cast<T>(get_double());
        } else if constexpr (std::same_as<T, std::string>) {
            return get_string();
        } else if constexpr (std::same_as<T, std::string_view>) {
            return std::string_view(get_string());
        } else if constexpr (std::same_as<T, array>) {
            return get_array();
        } else if constexpr (std::same_as<T, object>) {
            return get_object();
        } else if constexpr (std::same_as<T, value>) {
            return *this;
        } else {
            static_assert(sizeof(T) == 0, "json::value::as<T>: unsupported type");
        }
    }

    // Objects: a null value becomes an empty object first (as in building
    // a document); a missing key is inserted as null.
    value& operator[](std::string_view key) {
        if (is_null()) v_ = object{};
        return get_object()[key];
    }
    const value& operator[](std::string_view key) const { return at(key); }
    value& operator[](const char* key) { return (*this)[std::string_view(key)]; }
    const value& operator[](const char* key) const { return at(std::string_view(key)); }
    // Arrays: an index out of range throws std::out_of_range.
    template <detail::json_integer I>
    value& operator[](I i) { return at(i); }
    template <detail::json_integer I>
    const value& operator[](I i) const { return at(i); }
    value& at(std::string_view key) { return get_object().at(key); }
    const value& at(std::string_view key) const { return get_object().at(key); }
    template <detail::json_integer I>
    value& at(I i) { return get_array()[checked_index(i)]; }
    template <detail::json_integer I>
    const value& at(I i) const { return get_array()[checked_index(i)]; }
    bool contains(std::string_view key) const noexcept {
        auto* o = std::get_if<object>(&v_);
        return o && o->contains(key);
    }
    const value* find(std::string_view key) const noexcept {
        auto* o = std::get_if<object>(&v_);
        return o ? o->find(key) : nullptr;
    }
    value* find(std::string_view key) noexcept {
        auto* o = std::get_if<object>(&v_);
        return o ? o->find(key) : nullptr;
    }
    // Elements of an array, members of an object, bytes of a string; 0 otherwise.
    std::size_t size() const noexcept {
        switch (type()) {
        case kind::array: return std::get<array>(v_).size();
        case kind::object: return std::get<object>(v_).size();
        case kind::string: return std::get<std::string>(v_).size();
        default: return 0;
        }
    }
    bool empty() const noexcept { return size() == 0; }

    friend bool operator==(const value& a, const value& b) {
        if (a.is_number() && b.is_number()) {
            if (a.is_int() && b.is_int()) return a.get_int() == b.get_int();
            if (a.is_double() && b.is_double()) return std::get<double>(a.v_) == std::get<double>(b.v_);
            // int against double: exact, as Python compares them.
            std::int64_t i = a.is_int() ? std::get<std::int64_t>(a.v_) : std::get<std::int64_t>(b.v_);
            double d = a.is_double() ? std::get<double>(a.v_) : std::get<double>(b.v_);
            if (!(d >= -0x1p63 && d < 0x1p63)) return false;  // NaN too
            auto whole = static_cast<std::int64_t>(d);
            return static_cast<double>(whole) == d && whole == i;
        }
        return a.v_ == b.v_;
    }

    using storage = std::variant<std::nullptr_t, bool, std::int64_t, double, std::string, array, object>;
    const storage& variant() const noexcept { return v_; }
    storage& variant() noexcept { return v_; }

private:
    template <class I>
    std::size_t checked_index(I i) const {
        const auto& a = get_array();
        if (!std::in_range<std::size_t>(i) || static_cast<std::size_t>(i) >= a.size())
            throw std::out_of_range("json: array index out of range");
        return static_cast<std::size_t>(i);
    }
    template <class T>
    static std::int64_t to_int64(T n) {
        if (!std::in_range<std::int64_t>(n))
            throw std::out_of_range("json: integer above INT64_MAX (gale keeps integers as int64)");
        return static_cast<std::int64_t>(n);
    }
    template <class T>
    const T& get(const char* what) const {
        if (auto* p = std::get_if<T>(&v_)) return *p;
        throw type_error(std::string("json: value is not ") + what);
    }
    template <class T>
    T& get(const char* what) {
        if (auto* p = std::get_if<T>(&v_)) return *p;
        throw type_error(std::string("json: value is not ") + what);
    }

    storage v_;
};

// ---- object members (value is complete here) ----

inline std::size_t object::size() const noexcept { return members_.size(); }
inline bool object::empty() const noexcept { return members_.empty(); }
inline void object::clear() noexcept { members_.clear(); }
inline void object::reserve(std::size_t n) { members_.reserve(n); }
inline object::iterator object::begin() noexcept { return members_.begin(); }
inline object::iterator object::end() noexcept { return members_.end(); }
inline object::const_iterator object::begin() const noexcept { return members_.begin(); }
inline object::const_iterator object::end() const noexcept { return members_.end(); }

inline bool object::contains(std::string_view key) const noexcept { return find(key) != nullptr; }
inline value* object::find(std::string_view key) noexcept {
    for (auto& m : members_)
        if (m.first == key) return &m.second;
    return nullptr;
}
inline const value* object::find(std::string_view key) const noexcept {
    for (auto& m : members_)
        if (m.first == key) return &m.second;
    return nullptr;
}
inline value& object::operator[](std::string_view key) {
    if (value* v = find(key)) return *v;
    return members_.emplace_back(std::string(key), value()).second;
}
inline const value& object::operator[](std::string_view key) const { return at(key); }
inline value& object::insert_or_assign(std::string key, value v) {
    if (value* old = find(key)) return *old = std::move(v);
    return members_.emplace_back(std::move(key), std::move(v)).second;
}
inline value& object::push_back_unchecked(std::string key, value v) {
    return members_.emplace_back(std::move(key), std::move(v)).second;
}

// ---- encoding ----

namespace detail {

// Python's float repr: the shortest digits that read back the same, in
// fixed notation when the decimal exponent is in [-4, 16), else d.ddde+XX.
GALE_DECL void append_python_float(std::string& out, double d);

// Decodes one UTF-8 sequence at s[i]; returns the code point and advances i,
// or returns -1 for an invalid sequence (overlong, surrogate, > U+10FFFF, cut).
inline std::int32_t decode_utf8(std::string_view s, std::size_t& i) noexcept {
    auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    unsigned char c = b(i);
    if (c < 0x80) {
        ++i;
        return c;
    }
    int len;
    std::uint32_t cp, min;
    if (c >= 0xC2 && c <= 0xDF) len = 2, cp = c & 0x1Fu, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF) len = 3, cp = c & 0x0Fu, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4) len = 4, cp = c & 0x07u, min = 0x10000;
    else return -1;
    if (i + static_cast<std::size_t>(len) > s.size()) return -1;
    for (int k = 1; k < len; ++k) {
        unsigned char cc = b(i + static_cast<std::size_t>(k));
        if ((cc & 0xC0) != 0x80) return -1;
        cp = (cp << 6) | (cc & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return -1;
    i += static_cast<std::size_t>(len);
    return static_cast<std::int32_t>(cp);
}

}  // namespace detail

// Python's json.dumps(v) with default arguments, appended to out.
GALE_DECL void dump(const value& v, std::string& out);

// Python's json.dumps(v) with default arguments.
GALE_DECL std::string dump(const value& v);

// Tornado's json_encode: dumps(v) with every "</" written "<\/".
GALE_DECL std::string encode(const value& v);

}  // namespace gale::json

#if GALE_HEADER_ONLY
#include "impl/json.ipp"
#endif
