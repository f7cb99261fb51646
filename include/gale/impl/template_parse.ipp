// Definitions for detail/template_parse.hpp: compiled in every translation
// unit that includes it in header-only mode, once (by <gale/src.hpp>) in
// separate compilation mode; see detail/config.hpp.
#pragma once

#include "../detail/template_parse.hpp"

namespace gale::detail::tmpl {

GALE_DECL std::string filter_whitespace(std::string_view mode, std::string_view text) {
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

GALE_DECL void file_parser::parse() {
    file_.body = parse_body(nullptr, false);
    if (file_.autoescape) file_.autoescape_symbol = symbols_.intern(*file_.autoescape);
    for (const node& n : file_.body)
        if (n.kind == nk::extends) file_.extends.push_back(n.text);
}

GALE_DECL void file_parser::error(const std::string& message, int line) {
    throw ParseError(message, file_.name, line ? line : line_);
}

GALE_DECL std::string_view file_parser::consume(std::size_t n) {
    std::string_view s = text_.substr(pos_, n);
    for (char c : s) line_ += c == '\n';
    pos_ += s.size();
    return s;
}

GALE_DECL void file_parser::add_text(node_list& body, std::string_view text, int line) {
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

GALE_DECL expr_parser file_parser::expressions(std::string_view source, int line) {
    return expr_parser(source, symbols_, [this, line](const std::string& m) { error(m, line); });
}

GALE_DECL node file_parser::make(nk kind, int line) {
    node n;
    n.kind = kind;
    n.line = line;
    n.file = &file_;
    return n;
}

GALE_DECL std::string_view file_parser::strip(std::string_view s) {
    std::size_t b = s.find_first_not_of(" \t\n\r\f\v");
    if (b == std::string_view::npos) return {};
    return s.substr(b, s.find_last_not_of(" \t\n\r\f\v") - b + 1);
}

GALE_DECL std::string_view file_parser::strip_quotes(std::string_view s) {
    while (!s.empty() && s.front() == '"') s.remove_prefix(1);
    while (!s.empty() && s.back() == '"') s.remove_suffix(1);
    while (!s.empty() && s.front() == '\'') s.remove_prefix(1);
    while (!s.empty() && s.back() == '\'') s.remove_suffix(1);
    return s;
}

GALE_DECL node_list file_parser::parse_body(const char* in_block, bool in_loop) {
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

GALE_DECL std::string file_parser::parents_text(std::string_view op) {
    if (op == "else") return "{'if', 'for', 'while', 'try'}";
    if (op == "elif") return "{'if'}";
    return "{'try'}";
}

GALE_DECL bool file_parser::directive(node_list& body, std::string_view contents, int line, const char* in_block, bool in_loop) {
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

GALE_DECL except_clause file_parser::except_of(std::string_view suffix, int line) {
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

GALE_DECL void file_parser::for_header(node& n, std::string_view suffix, int line) {
    auto p = expressions(suffix, line);
    n.tgt = p.parse_target_list();
    if (!p.accept_keyword("in")) p.fail("expected 'in' in for");
    n.e = p.testlist();
    p.expect_end();
}

GALE_DECL node file_parser::set_node(std::string_view suffix, int line) {
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

GALE_DECL void file_parser::control(node& n, std::string_view op, std::string_view suffix, node_list inner, int line) {
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

}  // namespace gale::detail::tmpl
