// Definitions for detail/template_expr.hpp: compiled in every translation unit that includes it
// in header-only mode, once (by <gale/src.hpp>) in separate compilation
// mode; see detail/config.hpp.
#pragma once

#include "../detail/template_expr.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace gale::detail::tmpl {

GALE_DECL std::uint32_t symbol_table::intern(std::string_view name) {
    if (auto it = ids_.find(name); it != ids_.end()) return it->second;
    names_.emplace_back(name);
    auto id = static_cast<std::uint32_t>(names_.size() - 1);
    ids_.emplace(names_.back(), id);
    return id;
}

GALE_DECL std::uint16_t find_method(std::string_view name) {
    for (std::uint16_t i = 0; i < m_none; ++i)
        if (method_names[i] == name) return i;
    return m_none;
}

GALE_DECL expr_ptr expr_parser::testlist() {
    auto first = test();
    if (!peek_op(",")) return first;
    auto t = make(ex::tuple);
    t->kids.push_back(std::move(first));
    while (accept_op(",")) {
        if (at_end() || peek_op(")") || peek_op("=") || peek_is_keyword("in")) break;
        t->kids.push_back(test());
    }
    return t;
}

GALE_DECL target expr_parser::parse_target_list() {
    target first = parse_target();
    if (!peek_op(",")) return first;
    target t;
    t.items.push_back(std::move(first));
    while (accept_op(",")) {
        if (peek_is_keyword("in") || peek_op("=") || at_end()) break;
        t.items.push_back(parse_target());
    }
    return t;
}

GALE_DECL bool expr_parser::is_keyword(std::string_view s) {
    static constexpr std::string_view kws[] = {"and", "or", "not", "in", "is", "if", "else", "for",
                                               "lambda", "None", "True", "False", "yield", "await"};
    for (auto k : kws)
        if (k == s) return true;
    return false;
}

GALE_DECL void expr_parser::tokenize() {
    std::size_t i = 0;
    while (true) {
        while (i < src_.size() && (src_[i] == ' ' || src_[i] == '\t' || src_[i] == '\n' || src_[i] == '\r' ||
                                   src_[i] == '\f' || src_[i] == '\\'))
            ++i;
        if (i >= src_.size()) break;
        char c = src_[i];
        std::size_t start = i;
        if (std::isalpha(static_cast<unsigned char>(c)) || c == '_' || static_cast<unsigned char>(c) >= 0x80) {
            while (i < src_.size() && (std::isalnum(static_cast<unsigned char>(src_[i])) || src_[i] == '_' ||
                                       static_cast<unsigned char>(src_[i]) >= 0x80))
                ++i;
            std::string_view word = src_.substr(start, i - start);
            if (i < src_.size() && (src_[i] == '\'' || src_[i] == '"') && word.size() <= 2 &&
                word.find_first_not_of("rRbBuU") == std::string_view::npos) {
                bool raw = word.find_first_of("rR") != std::string_view::npos;
                read_string(i, start, raw);
                continue;
            }
            if (i < src_.size() && (src_[i] == '\'' || src_[i] == '"') && word.size() <= 2 &&
                word.find_first_of("fF") != std::string_view::npos)
                fail("f-strings are not supported");
            toks_.push_back({tk::name, word, {}});
            continue;
        }
        if (std::isdigit(static_cast<unsigned char>(c)) ||
            (c == '.' && i + 1 < src_.size() && std::isdigit(static_cast<unsigned char>(src_[i + 1])))) {
            read_number(i);
            continue;
        }
        if (c == '\'' || c == '"') {
            read_string(i, start, false);
            continue;
        }
        static constexpr std::string_view ops3[] = {"**=", "//=", "...", ">>=", "<<="};
        static constexpr std::string_view ops2[] = {"**", "//", "==", "!=", "<=", ">=", "+=", "-=", "*=",
                                                    "/=", "%=", "<<", ">>", "->", ":="};
        std::string_view op;
        for (auto o : ops3)
            if (src_.substr(i, 3) == o) op = o;
        if (op.empty())
            for (auto o : ops2)
                if (src_.substr(i, 2) == o) op = o;
        if (op.empty()) {
            if (std::string_view("+-*/%<>()[]{},:.=|&^~@;").find(c) == std::string_view::npos)
                fail(std::string("invalid character '") + c + "'");
            op = src_.substr(i, 1);
        }
        toks_.push_back({tk::op, src_.substr(i, op.size()), {}});
        i += op.size();
    }
    toks_.push_back({tk::end, src_.substr(src_.size()), {}});
}

GALE_DECL void expr_parser::read_number(std::size_t& i) {
    std::size_t start = i;
    std::string digits;
    bool is_float = false;
    int base = 10;
    if (src_[i] == '0' && i + 1 < src_.size() && std::string_view("xXoObB").find(src_[i + 1]) != std::string_view::npos) {
        char b = static_cast<char>(std::tolower(static_cast<unsigned char>(src_[i + 1])));
        base = b == 'x' ? 16 : b == 'o' ? 8 : 2;
        i += 2;
    }
    while (i < src_.size()) {
        char c = src_[i];
        if (c == '_' || std::isxdigit(static_cast<unsigned char>(c)) ||
            (base == 10 && (c == '.' || ((c == '+' || c == '-') && (src_[i - 1] == 'e' || src_[i - 1] == 'E'))))) {
            if (base == 10 && std::isalpha(static_cast<unsigned char>(c)) && c != 'e' && c != 'E') break;
            if (base == 10 && (c == '.' || c == 'e' || c == 'E')) is_float = true;
            if (c != '_') digits += c;
            ++i;
        } else {
            break;
        }
    }
    if (i < src_.size() && (std::isalpha(static_cast<unsigned char>(src_[i])) || src_[i] == '_'))
        fail("invalid number '" + std::string(src_.substr(start, i - start + 1)) + "'");
    token t{tk::number, src_.substr(start, i - start), {}};
    if (is_float) {
        double d = 0;
        auto r = std::from_chars(digits.data(), digits.data() + digits.size(), d);
        if (r.ec != std::errc() || r.ptr != digits.data() + digits.size())
            fail("invalid number '" + std::string(t.text) + "'");
        t.literal = d;
    } else {
        std::int64_t n = 0;
        auto r = std::from_chars(digits.data(), digits.data() + digits.size(), n, base);
        if (r.ec == std::errc::result_out_of_range) fail("integer literal out of gale's 64-bit range");
        if (r.ec != std::errc() || r.ptr != digits.data() + digits.size())
            fail("invalid number '" + std::string(t.text) + "'");
        t.literal = n;
    }
    toks_.push_back(std::move(t));
}

GALE_DECL void expr_parser::read_string(std::size_t& i, std::size_t start, bool raw) {
    char q = src_[i];
    bool triple = src_.substr(i, 3) == std::string(3, q);
    i += triple ? 3 : 1;
    std::string s;
    while (true) {
        if (i >= src_.size()) fail("unterminated string literal");
        char c = src_[i];
        if (triple ? src_.substr(i, 3) == std::string(3, q) : c == q) {
            i += triple ? 3 : 1;
            break;
        }
        if (c == '\\' && i + 1 < src_.size()) {
            char e = src_[i + 1];
            if (raw) {
                s += c;
                s += e;
                i += 2;
                continue;
            }
            i += 2;
            switch (e) {
            case 'n': s += '\n'; break;
            case 't': s += '\t'; break;
            case 'r': s += '\r'; break;
            case '0': s += '\0'; break;
            case 'a': s += '\a'; break;
            case 'b': s += '\b'; break;
            case 'f': s += '\f'; break;
            case 'v': s += '\v'; break;
            case '\\': s += '\\'; break;
            case '\'': s += '\''; break;
            case '"': s += '"'; break;
            case '\n': break;
            case 'x':
            case 'u':
            case 'U': {
                std::size_t n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
                std::uint32_t cp = 0;
                auto r = std::from_chars(src_.data() + i, src_.data() + std::min(i + n, src_.size()), cp, 16);
                if (r.ec != std::errc() || r.ptr != src_.data() + i + n || cp > 0x10FFFF)
                    fail("invalid \\" + std::string(1, e) + " escape in string");
                detail::escape::append_utf8(s, cp);
                i += n;
                break;
            }
            default:
                s += '\\';
                s += e;
            }
            continue;
        }
        s += c;
        ++i;
    }
    // Adjacent literals concatenate, as in Python.
    if (!toks_.empty() && toks_.back().kind == tk::string && !pending_gap(start)) {
        toks_.back().literal.get_string() += s;
        toks_.back().text = src_.substr(static_cast<std::size_t>(toks_.back().text.data() - src_.data()),
                                        i - static_cast<std::size_t>(toks_.back().text.data() - src_.data()));
        return;
    }
    toks_.push_back({tk::string, src_.substr(start, i - start), json::value(std::move(s))});
}

GALE_DECL bool expr_parser::pending_gap(std::size_t start) const {
    std::size_t end = static_cast<std::size_t>(toks_.back().text.data() - src_.data()) + toks_.back().text.size();
    for (std::size_t k = end; k < start; ++k)
        if (!std::isspace(static_cast<unsigned char>(src_[k]))) return true;
    return false;
}

GALE_DECL expr_ptr expr_parser::test() {
    if (peek_is_keyword("lambda")) fail("lambda is not supported");
    auto e = or_test();
    if (accept_keyword("if")) {
        auto c = make(ex::cond);
        auto cond = or_test();
        if (!accept_keyword("else")) fail("expected 'else' in conditional expression");
        auto other = test();
        c->kids.push_back(std::move(cond));
        c->kids.push_back(std::move(e));
        c->kids.push_back(std::move(other));
        return c;
    }
    return e;
}

GALE_DECL expr_ptr expr_parser::or_test() {
    auto e = and_test();
    while (accept_keyword("or")) {
        auto o = make(ex::or_);
        o->kids.push_back(std::move(e));
        o->kids.push_back(and_test());
        e = std::move(o);
    }
    return e;
}

GALE_DECL expr_ptr expr_parser::and_test() {
    auto e = not_test();
    while (accept_keyword("and")) {
        auto a = make(ex::and_);
        a->kids.push_back(std::move(e));
        a->kids.push_back(not_test());
        e = std::move(a);
    }
    return e;
}

GALE_DECL expr_ptr expr_parser::not_test() {
    if (accept_keyword("not")) {
        auto n = make(ex::not_);
        n->kids.push_back(not_test());
        return n;
    }
    return comparison();
}

GALE_DECL bool expr_parser::comparison_op(cmp& c) {
    const token& t = toks_[pos_];
    if (t.kind == tk::op) {
        static constexpr std::pair<std::string_view, cmp> ops[] = {
            {"<", cmp::lt}, {"<=", cmp::le}, {">", cmp::gt}, {">=", cmp::ge}, {"==", cmp::eq}, {"!=", cmp::ne}};
        for (auto [s, k] : ops)
            if (t.text == s) {
                ++pos_;
                c = k;
                return true;
            }
        return false;
    }
    if (accept_keyword("in")) {
        c = cmp::in;
        return true;
    }
    if (peek_is_keyword("not") && toks_[pos_ + 1].kind == tk::name && toks_[pos_ + 1].text == "in") {
        pos_ += 2;
        c = cmp::not_in;
        return true;
    }
    if (accept_keyword("is")) {
        c = accept_keyword("not") ? cmp::is_not : cmp::is;
        return true;
    }
    return false;
}

GALE_DECL expr_ptr expr_parser::comparison() {
    auto e = bit_or();
    cmp c;
    if (!comparison_op(c)) return e;
    auto node = make(ex::compare);
    node->kids.push_back(std::move(e));
    do {
        node->cmps.push_back(c);
        node->kids.push_back(bit_or());
    } while (comparison_op(c));
    return node;
}

GALE_DECL expr_ptr expr_parser::bit_or() {
    auto e = arith();
    for (std::string_view op : {"|", "&", "^", "<<", ">>"})
        if (peek_op(op)) fail("the operator '" + std::string(op) + "' is not supported");
    return e;
}

GALE_DECL expr_ptr expr_parser::binop(char op, expr_ptr a, expr_ptr b) {
    auto e = make(ex::binop);
    e->op = op;
    e->kids.push_back(std::move(a));
    e->kids.push_back(std::move(b));
    return e;
}

GALE_DECL expr_ptr expr_parser::arith() {
    auto e = term();
    while (true) {
        if (accept_op("+")) e = binop('+', std::move(e), term());
        else if (accept_op("-")) e = binop('-', std::move(e), term());
        else return e;
    }
}

GALE_DECL expr_ptr expr_parser::term() {
    auto e = factor();
    while (true) {
        if (accept_op("*")) e = binop('*', std::move(e), factor());
        else if (accept_op("/")) e = binop('/', std::move(e), factor());
        else if (accept_op("//")) e = binop('f', std::move(e), factor());
        else if (accept_op("%")) e = binop('%', std::move(e), factor());
        else if (peek_op("@")) fail("the operator '@' is not supported");
        else return e;
    }
}

GALE_DECL expr_ptr expr_parser::factor() {
    if (accept_op("-")) {
        auto n = make(ex::neg);
        n->kids.push_back(factor());
        return n;
    }
    if (accept_op("+")) {
        auto n = make(ex::pos);
        n->kids.push_back(factor());
        return n;
    }
    if (peek_op("~")) fail("the operator '~' is not supported");
    auto e = primary();
    if (accept_op("**")) e = binop('p', std::move(e), factor());
    return e;
}

GALE_DECL expr_ptr expr_parser::primary() {
    auto e = atom();
    while (true) {
        if (accept_op(".")) {
            if (toks_[pos_].kind != tk::name || is_keyword(toks_[pos_].text)) fail("expected a name after '.'");
            auto a = make(ex::attr);
            a->attr = std::string(toks_[pos_++].text);
            a->method = find_method(a->attr);
            if (a->method == m_none && e->kind == ex::name) a->member = &a->attr;
            a->kids.push_back(std::move(e));
            e = std::move(a);
        } else if (accept_op("[")) {
            e = subscript(std::move(e));
        } else if (accept_op("(")) {
            e = call(std::move(e));
        } else {
            return e;
        }
    }
}

GALE_DECL expr_ptr expr_parser::subscript(expr_ptr obj) {
    expr_ptr parts[3];
    bool is_slice = false;
    for (int k = 0; k < 3; ++k) {
        if (!peek_op(":") && !peek_op("]")) parts[k] = test();
        if (k < 2 && accept_op(":")) {
            is_slice = true;
            continue;
        }
        break;
    }
    if (!is_slice && !parts[0]) fail("invalid syntax: empty subscript");
    if (!is_slice && peek_op(",")) {  // x[a, b]: a tuple index
        auto t = make(ex::tuple);
        t->kids.push_back(std::move(parts[0]));
        while (accept_op(",") && !peek_op("]")) t->kids.push_back(test());
        parts[0] = std::move(t);
    }
    expect_op("]");
    auto e = make(is_slice ? ex::slice : ex::index);
    e->kids.push_back(std::move(obj));
    if (is_slice)
        for (auto& p : parts) e->kids.push_back(std::move(p));
    else
        e->kids.push_back(std::move(parts[0]));
    if (!is_slice && e->kids[0]->kind == ex::name && e->kids[1]->kind == ex::constant && e->kids[1]->constant.is_string())
        e->member = &e->kids[1]->constant.get_string();
    return e;
}

GALE_DECL expr_ptr expr_parser::call(expr_ptr callee) {
    auto c = make(ex::call);
    c->kids.push_back(std::move(callee));
    while (!accept_op(")")) {
        if (peek_op("*") || peek_op("**")) fail("*args and **kwargs in calls are not supported");
        if (toks_[pos_].kind == tk::name && toks_[pos_ + 1].kind == tk::op && toks_[pos_ + 1].text == "=") {
            c->kw_names.emplace_back(toks_[pos_].text);
            pos_ += 2;
            c->kids.push_back(test());
        } else {
            if (!c->kw_names.empty()) fail("positional argument follows keyword argument");
            auto arg = test();
            if (peek_is_keyword("for")) {  // f(x for x in xs): the sole argument, read as a list
                if (c->kids.size() != 1) fail("Generator expression must be parenthesized");
                arg = comprehension(std::move(arg));
                if (!peek_op(")")) fail("Generator expression must be parenthesized");
            }
            c->kids.push_back(std::move(arg));
        }
        if (!accept_op(",")) {
            expect_op(")");
            break;
        }
    }
    return c;
}

GALE_DECL expr_ptr expr_parser::atom() {
    token& t = toks_[pos_];
    switch (t.kind) {
    case tk::number:
    case tk::string: ++pos_; return constant(t.literal);
    case tk::end: fail("unexpected end of expression");
    case tk::name: {
        ++pos_;
        if (t.text == "None") return constant(nullptr);
        if (t.text == "True") return constant(true);
        if (t.text == "False") return constant(false);
        if (is_keyword(t.text)) fail("invalid syntax near '" + std::string(t.text) + "'");
        auto e = make(ex::name);
        e->symbol = symbols_.intern(t.text);
        return e;
    }
    case tk::op: break;
    }
    if (accept_op("(")) {
        if (accept_op(")")) return make(ex::tuple);
        auto first = test();
        if (peek_is_keyword("for")) {  // (x for x in xs), read as a list
            first = comprehension(std::move(first));
            expect_op(")");
            return first;
        }
        if (accept_op(")")) return first;
        auto tup = make(ex::tuple);
        tup->kids.push_back(std::move(first));
        while (accept_op(",")) {
            if (peek_op(")")) break;
            tup->kids.push_back(test());
        }
        expect_op(")");
        return tup;
    }
    if (accept_op("[")) {
        auto list = make(ex::list);
        while (!accept_op("]")) {
            list->kids.push_back(test());
            if (list->kids.size() == 1 && peek_is_keyword("for")) {
                auto comp = comprehension(std::move(list->kids[0]));
                expect_op("]");
                return comp;
            }
            if (!accept_op(",")) {
                expect_op("]");
                break;
            }
        }
        return list;
    }
    if (accept_op("{")) {
        auto dict = make(ex::dict);
        while (!accept_op("}")) {
            dict->kids.push_back(test());
            if (!accept_op(":")) fail("set literals and dict comprehensions are not supported");
            dict->kids.push_back(test());
            if (!accept_op(",")) {
                expect_op("}");
                break;
            }
        }
        return dict;
    }
    fail("invalid syntax near '" + std::string(t.text) + "'");
}

GALE_DECL expr_ptr expr_parser::comprehension(expr_ptr element) {
    accept_keyword("for");
    auto c = make(ex::listcomp);
    c->comp_target = parse_target_list();
    if (!accept_keyword("in")) fail("expected 'in' in comprehension");
    c->kids.push_back(std::move(element));
    c->kids.push_back(or_test());
    while (accept_keyword("if")) c->kids.push_back(or_test());
    if (peek_is_keyword("for")) fail("comprehensions with more than one for are not supported");
    return c;
}

GALE_DECL target expr_parser::parse_target() {
    if (accept_op("(") || accept_op("[")) {
        bool paren = toks_[pos_ - 1].text == "(";
        target t;
        while (!accept_op(paren ? ")" : "]")) {
            t.items.push_back(parse_target());
            if (!accept_op(",")) {
                expect_op(paren ? ")" : "]");
                break;
            }
        }
        return t;
    }
    const token& t = toks_[pos_];
    if (t.kind != tk::name || is_keyword(t.text)) fail("cannot assign to '" + std::string(t.text) + "'");
    ++pos_;
    if (peek_op(".") || peek_op("[")) fail("only names can be assigned to");
    target r;
    r.symbol = symbols_.intern(t.text);
    return r;
}

}  // namespace gale::detail::tmpl
