// Internal to <gale/template.hpp>: a template file parsed into its node
// tree, as Tornado's _parse reads it (same tags, same errors and lines).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "template_expr.hpp"

namespace gale::detail::tmpl {

// ---- whitespace modes (Tornado's filter_whitespace) ----

inline bool valid_whitespace_mode(std::string_view mode) {
    return mode == "all" || mode == "single" || mode == "oneline";
}

inline std::string filter_whitespace(std::string_view mode, std::string_view text) {
    if (mode == "all") return std::string(text);
    std::string out;
    out.reserve(text.size());
    if (mode == "oneline") {  // \s+ -> " "
        for (std::size_t i = 0; i < text.size();) {
            std::size_t end = space_run_end(text, i);
            if (end > i) {
                out += ' ';
                i = end;
            } else {
                out += text[i++];
            }
        }
        return out;
    }
    // single: [\t ]+ -> " ", then each whitespace run holding a newline -> "\n"
    std::string step;
    step.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        if (text[i] == ' ' || text[i] == '\t') {
            while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
            step += ' ';
        } else {
            step += text[i++];
        }
    }
    for (std::size_t i = 0; i < step.size();) {
        std::size_t end = space_run_end(step, i);
        if (end > i) {
            std::string_view run(step.data() + i, end - i);
            if (run.find('\n') != std::string_view::npos) out += '\n';
            else out += run;
            i = end;
        } else {
            out += step[i++];
        }
    }
    return out;
}

// ---- nodes ----

struct parsed_file;
struct node;
using node_list = std::vector<node>;

enum class nk : std::uint8_t {
    text, expr, raw, module, if_, for_, while_, set, try_, apply, block, include, extends, break_, continue_, marker
};

struct branch {
    expr_ptr cond;  // null: else
    node_list body;
};
struct except_clause {
    std::vector<std::string> types;  // empty: any
    std::int64_t as_symbol = -1;
    node_list body;
};

struct node {
    nk kind = nk::text;
    int line = 0;
    const parsed_file* file = nullptr;
    std::string text;   // text; block, include and extends names; marker operator
    expr_ptr e;         // expression, iterable, condition, value, apply function, module call
    target tgt;         // for and set targets
    char aug = 0;       // set x += y: '+'
    node_list body;
    std::vector<branch> branches;  // if / elif / else
    node_list else_body;
    bool has_else = false;
    std::vector<except_clause> excepts;  // also a marker's except clause (one)
    node_list finally_body;
    bool has_finally = false;
};

// One template file as parsed: shared by every template that includes or
// extends it. autoescape is the file's final setting ({% autoescape %}
// anywhere in a file applies to all of it, as in Tornado).
struct parsed_file {
    std::string name;
    node_list body;
    std::optional<std::string> autoescape;
    std::int64_t autoescape_symbol = -1;
    std::vector<std::string> extends;  // top-level {% extends %}, in order
};

// ---- the parser (Tornado's _TemplateReader and _parse) ----

class file_parser {
public:
    file_parser(parsed_file& file, std::string_view text, std::string whitespace, symbol_table& symbols)
        : file_(file), text_(text), whitespace_(std::move(whitespace)), symbols_(symbols) {}

    void parse() {
        file_.body = parse_body(nullptr, false);
        if (file_.autoescape) file_.autoescape_symbol = symbols_.intern(*file_.autoescape);
        for (const node& n : file_.body)
            if (n.kind == nk::extends) file_.extends.push_back(n.text);
    }

private:
    [[noreturn]] void error(const std::string& message, int line = 0) {
        throw ParseError(message, file_.name, line ? line : line_);
    }
    std::string_view consume(std::size_t n) {
        std::string_view s = text_.substr(pos_, n);
        for (char c : s) line_ += c == '\n';
        pos_ += s.size();
        return s;
    }
    std::size_t remaining() const { return text_.size() - pos_; }
    std::size_t find(std::string_view needle, std::size_t from = 0) const {
        std::size_t i = text_.find(needle, pos_ + from);
        return i == std::string_view::npos ? i : i - pos_;
    }

    void add_text(node_list& body, std::string_view text, int line) {
        std::string value = text.find("<pre>") == std::string_view::npos ? filter_whitespace(whitespace_, text)
                                                                          : std::string(text);
        if (value.empty()) return;
        if (!body.empty() && body.back().kind == nk::text) {  // adjacent text: one node
            body.back().text += value;
            return;
        }
        node n;
        n.kind = nk::text;
        n.line = line;
        n.file = &file_;
        n.text = std::move(value);
        body.push_back(std::move(n));
    }

    expr_parser expressions(std::string_view source, int line) {
        return expr_parser(source, symbols_, [this, line](const std::string& m) { error(m, line); });
    }
    expr_ptr expression(std::string_view source, int line) { return expressions(source, line).parse_expression(); }

    node make(nk kind, int line) {
        node n;
        n.kind = kind;
        n.line = line;
        n.file = &file_;
        return n;
    }

    static std::string_view strip(std::string_view s) {
        std::size_t b = s.find_first_not_of(" \t\n\r\f\v");
        if (b == std::string_view::npos) return {};
        return s.substr(b, s.find_last_not_of(" \t\n\r\f\v") - b + 1);
    }
    static std::string_view strip_quotes(std::string_view s) {
        while (!s.empty() && s.front() == '"') s.remove_prefix(1);
        while (!s.empty() && s.back() == '"') s.remove_suffix(1);
        while (!s.empty() && s.front() == '\'') s.remove_prefix(1);
        while (!s.empty() && s.back() == '\'') s.remove_suffix(1);
        return s;
    }

    node_list parse_body(const char* in_block, bool in_loop) {
        node_list body;
        while (true) {
            std::size_t curly = 0;
            while (true) {
                curly = find("{", curly);
                if (curly == std::string_view::npos || curly + 1 == remaining()) {
                    if (in_block) error(std::string("Missing {% end %} block for ") + in_block);
                    std::string_view rest = consume(remaining());
                    add_text(body, rest, line_);
                    return body;
                }
                char next = text_[pos_ + curly + 1];
                if (next != '{' && next != '%' && next != '#') {
                    ++curly;
                    continue;
                }
                if (curly + 2 < remaining() && next == '{' && text_[pos_ + curly + 2] == '{') {
                    ++curly;
                    continue;
                }
                break;
            }
            if (curly > 0) {
                std::string_view t = consume(curly);
                add_text(body, t, line_);
            }
            std::string_view start_brace = consume(2);
            int line = line_;
            if (remaining() && text_[pos_] == '!') {
                consume(1);
                add_text(body, start_brace, line);
                continue;
            }
            if (start_brace == "{#") {
                std::size_t end = find("#}");
                if (end == std::string_view::npos) error("Missing end comment #}");
                consume(end);
                consume(2);
                continue;
            }
            if (start_brace == "{{") {
                std::size_t end = find("}}");
                if (end == std::string_view::npos) error("Missing end expression }}");
                std::string_view contents = strip(consume(end));
                consume(2);
                if (contents.empty()) error("Empty expression");
                node n = make(nk::expr, line);
                n.e = expression(contents, line);
                body.push_back(std::move(n));
                continue;
            }
            std::size_t end = find("%}");
            if (end == std::string_view::npos) error("Missing end block %}");
            std::string_view contents = strip(consume(end));
            consume(2);
            if (contents.empty()) error("Empty block tag ({% %})");
            if (!directive(body, contents, line, in_block, in_loop)) return body;
        }
    }

    static std::string parents_text(std::string_view op) {
        if (op == "else") return "{'if', 'for', 'while', 'try'}";
        if (op == "elif") return "{'if'}";
        return "{'try'}";
    }

    // Handles one {% ... %}; false at {% end %}.
    bool directive(node_list& body, std::string_view contents, int line, const char* in_block, bool in_loop) {
        std::size_t space = contents.find(' ');
        std::string_view op = contents.substr(0, space);
        std::string_view suffix = space == std::string_view::npos ? std::string_view() : strip(contents.substr(space + 1));

        if (op == "else" || op == "elif" || op == "except" || op == "finally") {
            if (!in_block) error(std::string(op) + " outside " + parents_text(op) + " block");
            std::string_view b(in_block);
            bool ok = op == "elif" ? b == "if"
                    : op == "else" ? (b == "if" || b == "for" || b == "while" || b == "try")
                                   : b == "try";
            if (!ok) error(std::string(op) + " block cannot be attached to " + std::string(b) + " block");
            node n = make(nk::marker, line);
            n.text = std::string(op);
            if (op == "elif") n.e = expression(suffix, line);
            if (op == "except") n.excepts.push_back(except_of(suffix, line));
            body.push_back(std::move(n));
            return true;
        }
        if (op == "end") {
            if (!in_block) error("Extra {% end %} block");
            return false;
        }
        if (op == "comment") return true;
        if (op == "extends" || op == "include") {
            std::string_view path = strip_quotes(suffix);
            if (path.empty()) error(std::string(op) + " missing file path");
            node n = make(op == "extends" ? nk::extends : nk::include, line);
            n.text = std::string(path);
            body.push_back(std::move(n));
            return true;
        }
        if (op == "import" || op == "from") {
            if (suffix.empty()) error("import missing statement");
            error("{% " + std::string(op) + " %} is not supported: gale templates cannot import Python modules "
                  "(register functions in the template namespace)");
        }
        if (op == "set") {
            if (suffix.empty()) error("set missing statement");
            body.push_back(set_node(suffix, line));
            return true;
        }
        if (op == "autoescape") {
            std::string_view fn = strip(suffix);
            if (fn == "None") file_.autoescape.reset();
            else file_.autoescape = std::string(fn);
            return true;
        }
        if (op == "whitespace") {
            std::string_view mode = strip(suffix);
            if (!valid_whitespace_mode(mode)) error("invalid whitespace mode " + std::string(mode));
            whitespace_ = std::string(mode);
            return true;
        }
        if (op == "raw" || op == "module") {
            node n = make(op == "raw" ? nk::raw : nk::module, line);
            n.e = expression(suffix, line);
            if (n.kind == nk::module && (n.e->kind != ex::call || n.e->kids[0]->kind != ex::name))
                error("module expects a call of a UI module by name: {% module Name(args) %}", line);
            body.push_back(std::move(n));
            return true;
        }
        if (op == "apply" || op == "block" || op == "try" || op == "if" || op == "for" || op == "while") {
            static const std::string names[] = {"apply", "block", "try", "if", "for", "while"};
            const char* name = nullptr;
            for (const auto& s : names)
                if (s == op) name = s.c_str();
            bool loop = op == "for" || op == "while" ? true : op == "apply" ? false : in_loop;
            node n = make(nk::text, line);
            if (op == "for") for_header(n, suffix, line);
            node_list inner = parse_body(name, loop);
            if (op == "apply") {
                if (suffix.empty()) error("apply missing method name");
                n.kind = nk::apply;
                n.e = expression(suffix, line);
                n.body = std::move(inner);
            } else if (op == "block") {
                if (suffix.empty()) error("block missing name");
                n.kind = nk::block;
                n.text = std::string(suffix);
                n.body = std::move(inner);
            } else {
                control(n, op, suffix, std::move(inner), line);
            }
            body.push_back(std::move(n));
            return true;
        }
        if (op == "break" || op == "continue") {
            if (!in_loop) error(std::string(op) + " outside {'for', 'while'} block");
            body.push_back(make(op == "break" ? nk::break_ : nk::continue_, line));
            return true;
        }
        error("unknown operator: '" + std::string(op) + "'");
    }

    except_clause except_of(std::string_view suffix, int line) {
        except_clause c;
        std::size_t as = suffix.rfind(" as ");
        std::string_view types = suffix;
        if (as != std::string_view::npos) {
            auto p = expressions(suffix.substr(as + 4), line);
            target t = p.parse_target_list();
            p.expect_end();
            if (t.symbol < 0) error("except ... as expects a name", line);
            c.as_symbol = t.symbol;
            types = strip(suffix.substr(0, as));
        }
        if (!types.empty()) {
            expr_ptr e = expression(types, line);
            auto add = [&](const expr& x) {
                if (x.kind != ex::name) error("except expects exception class names", line);
                c.types.emplace_back(symbols_.name(x.symbol));
            };
            if (e->kind == ex::tuple)
                for (auto& k : e->kids) add(*k);
            else
                add(*e);
        }
        return c;
    }

    void for_header(node& n, std::string_view suffix, int line) {
        auto p = expressions(suffix, line);
        n.tgt = p.parse_target_list();
        if (!p.accept_keyword("in")) p.fail("expected 'in' in for");
        n.e = p.testlist();
        p.expect_end();
    }

    node set_node(std::string_view suffix, int line) {
        node n = make(nk::set, line);
        auto p = expressions(suffix, line);
        n.tgt = p.parse_target_list();
        static constexpr std::pair<std::string_view, char> augs[] = {
            {"+=", '+'}, {"-=", '-'}, {"*=", '*'}, {"/=", '/'}, {"//=", 'f'}, {"%=", '%'}, {"**=", 'p'}};
        bool ok = p.accept_op("=");
        for (auto [s, c] : augs)
            if (!ok && p.accept_op(s)) {
                ok = true;
                n.aug = c;
            }
        if (!ok) p.fail("set expects 'name = expression'");
        if (n.aug && n.tgt.symbol < 0) p.fail("illegal expression for augmented assignment");
        n.e = p.testlist();
        p.expect_end();
        return n;
    }

    // Splits a control block's body at its elif / else / except / finally
    // markers, checking their order as Python's grammar would.
    void control(node& n, std::string_view op, std::string_view suffix, node_list inner, int line) {
        std::vector<node> markers;
        markers.reserve(inner.size());
        std::vector<node_list> bodies(1);
        for (node& c : inner) {
            if (c.kind == nk::marker) {
                markers.push_back(std::move(c));
                bodies.emplace_back();
            } else {
                bodies.back().push_back(std::move(c));
            }
        }
        auto bad = [&](const node& m) {
            error("invalid syntax: " + m.text + " is out of place in " + std::string(op), m.line);
        };
        if (op == "if") {
            n.kind = nk::if_;
            if (suffix.empty()) error("if missing condition", line);
            n.branches.push_back({expression(suffix, line), std::move(bodies[0])});
            bool seen_else = false;
            for (std::size_t i = 0; i < markers.size(); ++i) {
                if (seen_else) bad(markers[i]);
                seen_else = markers[i].text == "else";
                n.branches.push_back({std::move(markers[i].e), std::move(bodies[i + 1])});
            }
            return;
        }
        if (op == "for" || op == "while") {
            n.kind = op == "for" ? nk::for_ : nk::while_;
            if (n.kind == nk::while_) {
                if (suffix.empty()) error("while missing condition", line);
                n.e = expression(suffix, line);
            }
            n.body = std::move(bodies[0]);
            if (markers.size() > 1) bad(markers[1]);
            if (!markers.empty()) {
                n.has_else = true;
                n.else_body = std::move(bodies[1]);
            }
            return;
        }
        n.kind = nk::try_;  // try: except* [else] [finally]
        n.body = std::move(bodies[0]);
        int stage = 0;  // 0 excepts, 1 else, 2 finally
        for (std::size_t i = 0; i < markers.size(); ++i) {
            node& m = markers[i];
            if (m.text == "except") {
                if (stage > 0) bad(m);
                m.excepts[0].body = std::move(bodies[i + 1]);
                n.excepts.push_back(std::move(m.excepts[0]));
            } else if (m.text == "else") {
                if (stage > 0 || n.excepts.empty()) bad(m);
                stage = 1;
                n.has_else = true;
                n.else_body = std::move(bodies[i + 1]);
            } else {
                if (stage > 1) bad(m);
                stage = 2;
                n.has_finally = true;
                n.finally_body = std::move(bodies[i + 1]);
            }
        }
        if (n.excepts.empty() && !n.has_finally) error("invalid syntax: try needs except or finally", line);
    }

    parsed_file& file_;
    std::string_view text_;
    std::string whitespace_;
    symbol_table& symbols_;
    std::size_t pos_ = 0;
    int line_ = 1;
};

}  // namespace gale::detail::tmpl
