// Internal to <gale/template.hpp>: the expression language's syntax tree
// and its parser (a precedence-climbing parser over Python's grammar, for
// the subset the header documents).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config.hpp"
#include "template_value.hpp"

namespace gale::detail::tmpl {

// Names used by a loader's templates, interned to small numbers so that a
// compiled template finds a variable by index, never by string.
class symbol_table {
public:
    std::uint32_t intern(std::string_view name);
    std::string_view name(std::uint32_t id) const { return names_[id]; }
    std::size_t size() const noexcept { return names_.size(); }

private:
    std::deque<std::string> names_;
    std::unordered_map<std::string_view, std::uint32_t> ids_;
};

// Methods of str, list and dict that templates may call.
enum method_id : std::uint16_t {
    m_join, m_upper, m_lower, m_strip, m_lstrip, m_rstrip, m_split, m_replace, m_startswith, m_endswith,
    m_format, m_title, m_capitalize, m_count, m_index, m_find, m_items, m_keys, m_values, m_get, m_none
};
inline constexpr std::string_view method_names[] = {
    "join", "upper", "lower", "strip", "lstrip", "rstrip", "split", "replace", "startswith", "endswith",
    "format", "title", "capitalize", "count", "index", "find", "items", "keys", "values", "get"};

GALE_DECL std::uint16_t find_method(std::string_view name);
inline bool method_applies(std::uint16_t m, const json::value& j) {
    if (j.is_string()) return m <= m_find;
    if (j.is_array()) return m == m_count || m == m_index;
    if (j.is_object()) return m >= m_items && m < m_none;
    return false;
}

// An assignment target: a name, or a (possibly nested) tuple of targets.
struct target {
    std::int64_t symbol = -1;
    std::vector<target> items;
};

enum class ex : std::uint8_t {
    constant, name, attr, index, slice, call, list, tuple, dict, neg, pos, not_, and_, or_, cond, binop, compare,
    listcomp
};
enum class cmp : std::uint8_t { lt, le, gt, ge, eq, ne, in, not_in, is, is_not };

struct expr {
    ex kind = ex::constant;
    char op = 0;                    // binop: + - * / f(loor) % p(ower)
    std::uint32_t symbol = 0;       // name
    std::uint16_t method = m_none;  // attr
    json::value constant;
    std::string attr;               // attr name
    std::vector<std::unique_ptr<expr>> kids;
    std::vector<std::string> kw_names;  // call: kids = callee, positional..., keyword...
    std::vector<cmp> cmps;              // compare: kids[0] cmps[0] kids[1] cmps[1] ...
    target comp_target;                 // listcomp: kids = element, iterable, conditions...
    // x["key"] or x.key (not a method) with x a name: the key, for the
    // renderer's fast path; nullptr otherwise.
    const std::string* member = nullptr;
};
using expr_ptr = std::unique_ptr<expr>;

// ---- tokens ----

enum class tk : std::uint8_t { name, number, string, op, end };
struct token {
    tk kind;
    std::string_view text;
    json::value literal;  // number or string
};

class expr_parser {
public:
    // error(message) must throw (a ParseError naming the file and line).
    expr_parser(std::string_view source, symbol_table& symbols, std::function<void(const std::string&)> error)
        : src_(source), symbols_(symbols), error_(std::move(error)) {
        tokenize();
    }

    expr_ptr parse_expression() {  // a whole expression (a bare tuple allowed)
        auto e = testlist();
        expect_end();
        return e;
    }
    expr_ptr testlist();
    target parse_target_list();
    bool accept_keyword(std::string_view kw) {
        if (!peek_is_keyword(kw)) return false;
        ++pos_;
        return true;
    }
    bool accept_op(std::string_view op) {
        if (!peek_op(op)) return false;
        ++pos_;
        return true;
    }
    bool at_end() const { return toks_[pos_].kind == tk::end; }
    void expect_end() {
        if (!at_end()) fail("invalid syntax near '" + std::string(toks_[pos_].text) + "'");
    }
    std::string_view rest() const { return src_.substr(offset_of(pos_)); }
    [[noreturn]] void fail(const std::string& message) {
        error_(message + " in '" + std::string(src_) + "'");
        throw std::logic_error("unreachable");
    }

private:
    std::size_t offset_of(std::size_t i) const {
        return static_cast<std::size_t>(toks_[i].text.data() - src_.data());
    }
    static bool is_keyword(std::string_view s);
    bool peek_op(std::string_view op) const { return toks_[pos_].kind == tk::op && toks_[pos_].text == op; }
    bool peek_is_keyword(std::string_view kw) const {
        return toks_[pos_].kind == tk::name && toks_[pos_].text == kw;
    }
    void expect_op(std::string_view op) {
        if (!accept_op(op)) fail("expected '" + std::string(op) + "'");
    }
    static expr_ptr make(ex kind) {
        auto e = std::make_unique<expr>();
        e->kind = kind;
        return e;
    }

    // ---- tokenizer ----

    void tokenize();
    void read_number(std::size_t& i);
    void read_string(std::size_t& i, std::size_t start, bool raw);
    // True when something other than whitespace separates the last token from start.
    bool pending_gap(std::size_t start) const;

    // ---- grammar ----

    expr_ptr test();
    expr_ptr or_test();
    expr_ptr and_test();
    expr_ptr not_test();
    bool comparison_op(cmp& c);
    expr_ptr comparison();
    expr_ptr bit_or();
    expr_ptr binop(char op, expr_ptr a, expr_ptr b);
    expr_ptr arith();
    expr_ptr term();
    expr_ptr factor();
    expr_ptr primary();
    expr_ptr subscript(expr_ptr obj);
    expr_ptr call(expr_ptr callee);
    expr_ptr constant(json::value v) {
        auto e = make(ex::constant);
        e->constant = std::move(v);
        return e;
    }
    expr_ptr atom();
    // [element for target in iterable if condition ...] (one for clause).
    expr_ptr comprehension(expr_ptr element);
    target parse_target();

    std::string_view src_;
    symbol_table& symbols_;
    std::function<void(const std::string&)> error_;
    std::vector<token> toks_;
    std::size_t pos_ = 0;
};

}  // namespace gale::detail::tmpl

#if GALE_HEADER_ONLY
#include "../impl/template_expr.ipp"
#endif
