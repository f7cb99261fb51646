// Internal to <gale/template.hpp>: a template file parsed into its node
// tree, as Tornado's _parse reads it (same tags, same errors and lines).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config.hpp"
#include "template_expr.hpp"

namespace gale::detail::tmpl {

// ---- whitespace modes (Tornado's filter_whitespace) ----

inline bool valid_whitespace_mode(std::string_view mode) {
    return mode == "all" || mode == "single" || mode == "oneline";
}

// Tornado's filter_whitespace(mode, text) for a valid mode.
GALE_DECL std::string filter_whitespace(std::string_view mode, std::string_view text);

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

    void parse();

private:
    [[noreturn]] void error(const std::string& message, int line = 0);
    std::string_view consume(std::size_t n);
    std::size_t remaining() const { return text_.size() - pos_; }
    std::size_t find(std::string_view needle, std::size_t from = 0) const {
        std::size_t i = text_.find(needle, pos_ + from);
        return i == std::string_view::npos ? i : i - pos_;
    }

    void add_text(node_list& body, std::string_view text, int line);
    expr_parser expressions(std::string_view source, int line);
    expr_ptr expression(std::string_view source, int line) { return expressions(source, line).parse_expression(); }

    node make(nk kind, int line);
    static std::string_view strip(std::string_view s);
    static std::string_view strip_quotes(std::string_view s);

    node_list parse_body(const char* in_block, bool in_loop);
    static std::string parents_text(std::string_view op);
    // Handles one {% ... %}; false at {% end %}.
    bool directive(node_list& body, std::string_view contents, int line, const char* in_block, bool in_loop);

    except_clause except_of(std::string_view suffix, int line);
    void for_header(node& n, std::string_view suffix, int line);
    node set_node(std::string_view suffix, int line);

    // Splits a control block's body at its elif / else / except / finally
    // markers, checking their order as Python's grammar would.
    void control(node& n, std::string_view op, std::string_view suffix, node_list inner, int line);

    parsed_file& file_;
    std::string_view text_;
    std::string whitespace_;
    symbol_table& symbols_;
    std::size_t pos_ = 0;
    int line_ = 1;
};

}  // namespace gale::detail::tmpl

#if GALE_HEADER_ONLY
#include "../impl/template_parse.ipp"
#endif
