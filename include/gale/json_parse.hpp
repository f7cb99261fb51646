// JSON parsing for gale: text to a gale::json::value through simdjson, as
// Python's json.loads (Tornado's json_decode). Kept out of <gale/json.hpp>
// so that code which only builds and encodes JSON does not compile simdjson.
//
//   gale::json::value v = gale::json::parse(R"({"id": 1, "tags": ["a"]})");
//   v["id"].get_int();                      // 1
//   gale::json_decode(request.body);        // the same, Tornado's name
//
// Synopsis:
//   gale::json::value gale::json::parse(std::string_view text)
//   gale::json::value gale::json_decode(std::string_view text)
//   struct gale::json::parse_error : gale::json::error {
//       std::size_t offset, line, column;   // where (byte offset; 1-based line/column)
//       std::string reason;                 // "Expecting value", ...
//   };                                       // what(): "json: Expecting value: line 1 column 5 (char 4)"
//
// As Python: objects keep their keys in document order and a key given
// twice keeps its first place and its last value; numbers with a fraction or
// an exponent are doubles, others integers; leading and trailing whitespace
// is allowed, anything else after the value is "Extra data".
//
// Where gale differs from Python, and why:
// - Integers outside int64 are refused (parse_error "Integer out of range");
//   Python keeps big integers exactly, and gale would rather refuse than
//   round one silently.
// - NaN, Infinity and -Infinity are refused (strict JSON, simdjson's rule;
//   Python accepts them), and so are numbers beyond the double range
//   (Python reads 1e400 as inf).
// - Escaped lone surrogates (\ud800) are refused: a gale string is UTF-8
//   and cannot hold one. Invalid UTF-8 is refused (Python refuses the bytes
//   when decoding them first).
// - Nesting deeper than 1024 is refused (Python's recursion limit is ~1000).
//
// Each thread keeps one simdjson parser, whose buffers grow to the largest
// document it has read and are reused for the next.
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <simdjson.h>

#include "json.hpp"

namespace gale::json {

struct parse_error : error {
    parse_error(std::string reason_, std::size_t offset_, std::size_t line_, std::size_t column_)
        : error("json: " + reason_ + ": line " + std::to_string(line_) + " column " + std::to_string(column_) +
                " (char " + std::to_string(offset_) + ")"),
          offset(offset_), line(line_), column(column_), reason(std::move(reason_)) {}
    std::size_t offset, line, column;
    std::string reason;
};

namespace detail {

// Finds where and why `text` is not JSON gale accepts, with Python's
// messages. Run only after simdjson refused the text, so it is written for
// clarity, not speed. Iterative: a refused document may be nested deeply.
struct json_locator {
    std::string_view s;
    std::size_t i = 0;
    std::string reason;
    std::size_t where = 0;

    bool fail(std::string r, std::size_t at) {
        reason = std::move(r);
        where = at;
        return false;
    }
    void ws() {
        while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) ++i;
    }
    static int hex4(std::string_view h) {
        int v = 0;
        for (char c : h) {
            v <<= 4;
            if (c >= '0' && c <= '9') v |= c - '0';
            else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
            else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
            else return -1;
        }
        return v;
    }
    bool string() {  // at '"'
        std::size_t start = i++;
        while (true) {
            if (i >= s.size()) return fail("Unterminated string starting at", start);
            unsigned char c = static_cast<unsigned char>(s[i]);
            if (c == '"') {
                ++i;
                return true;
            }
            if (c < 0x20) return fail("Invalid control character at", i);
            if (c == '\\') {
                if (i + 1 >= s.size()) return fail("Unterminated string starting at", start);
                char e = s[i + 1];
                if (e == 'u') {
                    int u = i + 6 <= s.size() ? hex4(s.substr(i + 2, 4)) : -1;
                    if (u < 0) return fail("Invalid \\uXXXX escape", i + 1);
                    if (u >= 0xDC00 && u <= 0xDFFF) return fail("Lone surrogate in \\uXXXX escape", i);
                    if (u >= 0xD800 && u <= 0xDBFF) {
                        int low = i + 12 <= s.size() && s[i + 6] == '\\' && s[i + 7] == 'u'
                                      ? hex4(s.substr(i + 8, 4))
                                      : -1;
                        if (low < 0xDC00 || low > 0xDFFF) return fail("Lone surrogate in \\uXXXX escape", i);
                        i += 12;
                    } else {
                        i += 6;
                    }
                    continue;
                }
                if (std::string_view("\"\\/bfnrt").find(e) == std::string_view::npos)
                    return fail("Invalid \\escape", i);
                i += 2;
                continue;
            }
            if (c >= 0x80) {
                std::size_t at = i;
                if (decode_utf8(s, i) < 0) return fail("Invalid UTF-8", at);
                continue;
            }
            ++i;
        }
    }
    bool number() {
        std::size_t start = i;
        if (s[i] == '-') ++i;
        auto digit = [&] { return i < s.size() && s[i] >= '0' && s[i] <= '9'; };
        if (!digit()) return fail("Expecting value", start);
        if (s[i] == '0') ++i;
        else
            while (digit()) ++i;
        bool integer = true;
        // As Python: a '.' or an exponent without digits ends the number
        // before it (the next check then finds what is wrong there).
        if (i + 1 < s.size() && s[i] == '.' && s[i + 1] >= '0' && s[i + 1] <= '9') {
            ++i;
            integer = false;
            while (digit()) ++i;
        }
        if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
            std::size_t e = i++;
            if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
            if (digit()) {
                integer = false;
                while (digit()) ++i;
            } else {
                i = e;
            }
        }
        std::string text(s.substr(start, i - start));
        if (integer) {
            errno = 0;
            (void)std::strtoll(text.c_str(), nullptr, 10);
            if (errno == ERANGE) return fail("Integer out of range (gale keeps integers as int64)", start);
        } else {
            errno = 0;
            double d = std::strtod(text.c_str(), nullptr);
            if (errno == ERANGE && (d > 1 || d < -1)) return fail("Number out of range", start);
        }
        return true;
    }
    bool value_start(std::vector<char>& stack) {
        if (i >= s.size()) return fail("Expecting value", i);
        char c = s[i];
        if (c == '{' || c == '[') {
            if (stack.size() >= 1024) return fail("Nesting too deep", i);
            stack.push_back(c);
            ++i;
            return true;
        }
        if (c == '"') return string();
        for (std::string_view word : {"true", "false", "null"})
            if (s.substr(i, word.size()) == word) {
                i += word.size();
                return true;
            }
        if (c == '-' || (c >= '0' && c <= '9')) return number();
        return fail("Expecting value", i);
    }
    // Returns false with reason/where set at the first problem.
    bool run() {
        std::vector<char> stack;
        bool fresh = false;  // just opened a container
        ws();
        if (!value_start(stack)) return false;
        fresh = !stack.empty();
        while (!stack.empty()) {
            ws();
            char top = stack.back();
            if (fresh) {
                fresh = false;
                char close = top == '{' ? '}' : ']';
                if (i < s.size() && s[i] == close) {
                    ++i;
                    stack.pop_back();
                    continue;
                }
            } else {
                char close = top == '{' ? '}' : ']';
                if (i < s.size() && s[i] == close) {
                    ++i;
                    stack.pop_back();
                    continue;
                }
                if (i >= s.size() || s[i] != ',')
                    return fail("Expecting ',' delimiter", i);
                ++i;
                ws();
            }
            if (top == '{') {
                if (i >= s.size() || s[i] != '"')
                    return fail("Expecting property name enclosed in double quotes", i);
                if (!string()) return false;
                ws();
                if (i >= s.size() || s[i] != ':') return fail("Expecting ':' delimiter", i);
                ++i;
                ws();
            }
            std::size_t depth = stack.size();
            if (!value_start(stack)) return false;
            fresh = stack.size() > depth;
        }
        ws();
        if (i < s.size()) return fail("Extra data", i);
        return true;
    }
};

[[noreturn]] inline void throw_parse_error(std::string_view text, simdjson::error_code code) {
    json_locator loc;
    loc.s = text;
    std::string reason;
    std::size_t where = 0;
    if (!loc.run()) {
        reason = std::move(loc.reason);
        where = loc.where;
    } else {  // refused by simdjson for a reason the locator does not know
        reason = simdjson::error_message(code);
        where = 0;
    }
    std::size_t line = 1, column = 1;
    for (std::size_t k = 0; k < where && k < text.size(); ++k) {
        if (text[k] == '\n') {
            ++line;
            column = 1;
        } else {
            ++column;
        }
    }
    throw parse_error(std::move(reason), where, line, column);
}

struct uint64_found {};

inline value from_simdjson(simdjson::dom::element e) {
    using simdjson::dom::element_type;
    switch (e.type()) {
    case element_type::NULL_VALUE: return value();
    case element_type::BOOL: return value(bool(e.get_bool().value_unsafe()));
    case element_type::INT64: return value(e.get_int64().value_unsafe());
    case element_type::UINT64: throw uint64_found{};  // parse() reports where
    case element_type::DOUBLE: return value(e.get_double().value_unsafe());
    case element_type::STRING: return value(std::string(e.get_string().value_unsafe()));
    case element_type::ARRAY: {
        simdjson::dom::array a = e.get_array().value_unsafe();
        array out;
        out.reserve(a.size());
        for (simdjson::dom::element x : a) out.push_back(from_simdjson(x));
        return value(std::move(out));
    }
    case element_type::OBJECT: {
        simdjson::dom::object o = e.get_object().value_unsafe();
        object out;
        std::size_t n = o.size();
        out.reserve(n);
        if (n <= 16) {
            for (simdjson::dom::key_value_pair kv : o) out.insert_or_assign(std::string(kv.key), from_simdjson(kv.value));
        } else {  // many keys: an index keeps duplicate detection linear
            std::unordered_map<std::string_view, std::size_t> index;
            index.reserve(n);
            for (simdjson::dom::key_value_pair kv : o) {
                auto [it, fresh] = index.try_emplace(kv.key, out.size());
                if (fresh) {
                    out.push_back_unchecked(std::string(kv.key), from_simdjson(kv.value));
                } else {
                    (out.begin() + static_cast<std::ptrdiff_t>(it->second))->second = from_simdjson(kv.value);
                }
            }
        }
        return value(std::move(out));
    }
    }
    throw error("json: unknown simdjson element type");
}

}  // namespace detail

// Python's json.loads(text) (see the header comment for the differences).
// Throws parse_error.
inline value parse(std::string_view text) {
    thread_local simdjson::dom::parser parser;
    simdjson::dom::element root;
    auto code = parser.parse(text.data(), text.size(), true).get(root);
    if (code) detail::throw_parse_error(text, code);
    try {
        return detail::from_simdjson(root);
    } catch (const detail::uint64_found&) {
        detail::throw_parse_error(text, simdjson::NUMBER_ERROR);
    }
}

}  // namespace gale::json

namespace gale {

namespace detail {
// RequestHandler::json_body()'s parser (web.hpp declares it and does not
// include this header, so only handlers that parse JSON pay for simdjson).
template <class>
struct json_text_parser {
    static json::value parse(std::string_view text) { return json::parse(text); }
};
}  // namespace detail

// Tornado's escape.json_decode: json::parse.
inline json::value json_decode(std::string_view text) { return json::parse(text); }

}  // namespace gale
