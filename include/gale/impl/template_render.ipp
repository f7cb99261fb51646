// Definitions for detail/template_render.hpp: compiled in every translation
// unit that includes it in header-only mode, once (by <gale/src.hpp>) in
// separate compilation mode; see detail/config.hpp. The whole renderer
// lives here (its members call one another, so they inline within this
// file in either mode); output::append and node_table stay in the header.
#pragma once

#include "../detail/template_render.hpp"

#include <algorithm>
#include <array>

namespace gale {

GALE_DECL const template_namespace::entry* template_namespace::find(std::string_view name) const noexcept {
    for (const template_namespace* ns = this; ns; ns = ns->parent_)
        for (const entry& e : ns->entries_)
            if (e.name == name) return &e;
    return fallback_ ? fallback_->find(name) : nullptr;
}

GALE_DECL const template_function* template_namespace::find_module(std::string_view name) const noexcept {
    for (const template_namespace* ns = this; ns; ns = ns->parent_)
        for (const auto& m : ns->modules_)
            if (m.first == name) return &m.second;
    return fallback_ ? fallback_->find_module(name) : nullptr;
}

GALE_DECL template_namespace::entry& template_namespace::slot(std::string name) {
    for (entry& e : entries_)
        if (e.name == name) {
            e = entry{};
            e.name = std::move(name);
            return e;
        }
    // The usual few names in one first block under 1 KB (which malloc
    // serves from its fast per-thread lists).
    if (entries_.empty()) entries_.reserve(std::max<std::size_t>(4, 1000 / sizeof(entry)));
    entries_.emplace_back();
    entries_.back().name.swap(name);
    return entries_.back();
}

namespace detail::tmpl {

GALE_DECL std::int32_t program::slot(std::uint32_t symbol) {
    if (slot_of.size() <= symbol) slot_of.resize(symbol + 1, -1);
    if (slot_of[symbol] < 0) {
        slot_of[symbol] = static_cast<std::int32_t>(slot_symbol.size());
        slot_symbol.push_back(symbol);
        slot_local.push_back(0);
        slot_name.push_back(symbols->name(symbol));
        slot_builtin.push_back(find_builtin(slot_name.back()));
    }
    return slot_of[symbol];
}

GALE_DECL void program::mark_local(const target& t) {
    if (t.symbol >= 0) slot_local[static_cast<std::size_t>(slot(static_cast<std::uint32_t>(t.symbol)))] = 1;
    for (const auto& i : t.items) mark_local(i);
}

GALE_DECL void program::use_target(const target& t) {
    if (t.symbol >= 0) slot(static_cast<std::uint32_t>(t.symbol));
    for (const auto& i : t.items) use_target(i);
}

GALE_DECL void program::use(const expr* e) {
    if (!e) return;
    if (e->kind == ex::name) slot(e->symbol);
    if (e->kind == ex::listcomp) use_target(e->comp_target);
    for (const auto& k : e->kids) use(k.get());
}

GALE_DECL void program::assign_slots(const node_list& body, int depth) {
    if (depth > 100) raise("RecursionError", "templates include each other too deeply");
    for (const node& n : body) {
        use(n.e.get());
        if (n.kind == nk::for_ || n.kind == nk::set) mark_local(n.tgt);
        if (n.kind == nk::expr && n.file->autoescape_symbol >= 0)
            slot(static_cast<std::uint32_t>(n.file->autoescape_symbol));
        for (const auto& b : n.branches) {
            use(b.cond.get());
            assign_slots(b.body, depth);
        }
        for (const auto& x : n.excepts) {
            if (x.as_symbol >= 0) mark_local(target{x.as_symbol, {}});
            assign_slots(x.body, depth);
        }
        if (n.kind == nk::block) {
            const node* derived = blocks.at(n.text);
            block_of.set(&n, derived);
            assign_slots(derived->body, depth + 1);
        } else if (n.kind == nk::include) {
            const parsed_file* file = includes.at(&n);
            include_of.set(&n, file);
            assign_slots(file->body, depth + 1);
        } else {
            assign_slots(n.body, depth);
        }
        assign_slots(n.else_body, depth);
        assign_slots(n.finally_body, depth);
    }
}


GALE_DECL bool exception_matches(const std::string& type, const std::vector<std::string>& names) {
    if (names.empty()) return true;
    for (const auto& n : names) {
        if (n == type || n == "Exception" || n == "BaseException") return true;
        if (n == "LookupError" && (type == "KeyError" || type == "IndexError")) return true;
        if (n == "ArithmeticError" && (type == "ZeroDivisionError" || type == "OverflowError")) return true;
        if (n == "NameError" && type == "UnboundLocalError") return true;
    }
    return false;
}

[[gnu::noinline]] GALE_DECL void output::grow(std::size_t n) {
    std::size_t want = len_ + n + 1024;
    if (want > s_->capacity()) want = std::max(want, 2 * s_->capacity());
    s_->resize(want);
}

GALE_DECL renderer::~renderer() {
    out_.trim();
    slots_.clear();
    if (slots_.capacity() > spare_slots().capacity()) spare_slots() = std::move(slots_);
}

GALE_DECL flow renderer::exec(const node_list& body) {
    for (const node& n : body) {
        if (n.kind == nk::text) {
            out_.append(n.text);
        } else if (n.kind != nk::expr || n.file != escaping_file_ || !emit_simple(*n.e)) {
            flow f = exec_located(n);
            if (f != flow::normal) return f;
        }
    }
    return flow::normal;
}

GALE_DECL bool renderer::emit_simple(const expr& e) {
    const json::value* j = nullptr;
    if (e.member) {
        const json::value* obj = set_data(*e.kids[0]);
        if (!obj || !obj->is_object()) return false;
        j = member_of(obj->get_object(), *e.member);
    } else if (e.kind == ex::name) {
        j = set_data(e);
    }
    if (!j) return false;
    if (j->is_string()) append_html_escaped(out_, j->get_string());
    else if (j->is_int()) append_int(out_, j->get_int());
    else return false;
    return true;
}

GALE_DECL const json::value* renderer::member_of(const json::object& o, const std::string& key) {
    for (const auto& [k, v] : o)
        if (k.size() == key.size() && same_bytes(k.data(), key.data(), key.size())) return &v;
    return nullptr;
}

GALE_DECL bool renderer::same_bytes(const char* a, const char* b, std::size_t n) {
    auto word = [](const char* p, auto w) {
        std::memcpy(&w, p, sizeof w);
        return w;
    };
    if (n >= 8) {
        for (std::size_t i = 0; i + 8 < n; i += 8)
            if (word(a + i, std::uint64_t{}) != word(b + i, std::uint64_t{})) return false;
        return word(a + n - 8, std::uint64_t{}) == word(b + n - 8, std::uint64_t{});
    }
    if (n >= 4)
        return word(a, std::uint32_t{}) == word(b, std::uint32_t{}) &&
               word(a + n - 4, std::uint32_t{}) == word(b + n - 4, std::uint32_t{});
    for (std::size_t i = 0; i < n; ++i)
        if (a[i] != b[i]) return false;
    return true;
}

GALE_DECL const json::value* renderer::set_data(const expr& name) const {
    const value& v = slots_[static_cast<std::size_t>(p_.slot_of[name.symbol])];
    return v.is_data() && v.data_view() == value::view::none ? &v.data() : nullptr;
}

GALE_DECL flow renderer::exec_located(const node& n) {
    if (n.kind == nk::text) {
        out_.append(n.text);
        return flow::normal;
    }
    try {
        return exec(n);
    } catch (template_error& e) {
        if (!e.located()) e.locate(n.file->name, n.line);
        throw;
    }
}

GALE_DECL flow renderer::exec(const node& n) {
    switch (n.kind) {
    case nk::text: out_.append(n.text); return flow::normal;
    case nk::expr:
    case nk::raw: {
        const parsed_file* file = n.kind == nk::expr ? n.file : nullptr;
        if (const json::value* j = peek(*n.e)) {
            emit_data(*j, value::view::none, file);
        } else if (std::int64_t size = peek_len(*n.e); size >= 0) {
            emit_data(json::value(size), value::view::none, file);
        } else {
            value tmp;
            emit(eval_ref(*n.e, tmp), file);
        }
        return flow::normal;
    }
    case nk::module: module(*n.e); return flow::normal;
    case nk::if_:
        for (const branch& b : n.branches)
            if (!b.cond || condition(*b.cond)) return exec(b.body);
        return flow::normal;
    case nk::for_: return loop(n);
    case nk::while_:
        while (condition(*n.e)) {
            flow f = exec(n.body);
            if (f == flow::brk) return flow::normal;
        }
        return n.has_else ? exec(n.else_body) : flow::normal;
    case nk::set: set(n); return flow::normal;
    case nk::try_: return try_block(n);
    case nk::apply: apply(n); return flow::normal;
    case nk::block: return exec(p_.block_of.at(&n).body);
    case nk::include: {
        if (++depth_ > 100) raise("RecursionError", "templates include each other too deeply");
        flow f = exec(p_.include_of.at(&n).body);
        --depth_;
        return f;
    }
    case nk::extends:
    case nk::marker: return flow::normal;
    case nk::break_: return flow::brk;
    case nk::continue_: return flow::cont;
    }
    return flow::normal;
}

GALE_DECL void renderer::emit(const value& v, const parsed_file* file) {
    if (v.is_data()) return emit_data(v.data(), v.data_view(), file);
    std::string s;
    append_callable(s, v, callable_name(v));
    emit_text(std::move(s), file);
}

GALE_DECL void renderer::emit_data(const json::value& j, value::view view, const parsed_file* file) {
    const value* custom = nullptr;
    bool html = false;
    if (file && file->autoescape_symbol >= 0) {
        if (file == escaping_file_) {
            html = true;
        } else {
            const value& fn = name(static_cast<std::uint32_t>(file->autoescape_symbol));
            if (fn.type() == value::kind::builtin && (fn.id() == b_xhtml_escape || fn.id() == b_escape)) {
                html = true;
                // The name cannot change during the render unless the template assigns it.
                if (!p_.slot_local[static_cast<std::size_t>(p_.slot_of[static_cast<std::size_t>(file->autoescape_symbol)])])
                    escaping_file_ = file;
            } else {
                custom = &fn;
            }
        }
    }
    if (!custom) {
        switch (j.type()) {  // the common kinds straight into the output
        case json::kind::string:
            if (html) append_html_escaped(out_, j.get_string());
            else out_.append(j.get_string());
            return;
        case json::kind::integer: append_int(out_, j.get_int()); return;
        case json::kind::null:
        case json::kind::boolean:
        case json::kind::floating: write_str(j, view); return;  // no markup possible
        default: break;
        }
    }
    std::string s;
    append_str(s, j, view);
    if (custom) emit_custom(std::move(s), *custom);
    else if (html) append_html_escaped(out_, s);
    else out_.append(s);
}

GALE_DECL void renderer::write_str(const json::value& j, value::view view) {
    std::string s;
    append_str(s, j, view);
    out_.append(s);
}

GALE_DECL void renderer::emit_text(std::string s, const parsed_file* file) {
    emit_data(json::value(std::move(s)), value::view::none, file);
}

GALE_DECL void renderer::emit_custom(std::string s, const value& fn) {
    std::array<value, 1> arg{value::own(std::move(s))};
    value r = invoke(fn, {arg, {}});
    write_str(data_of(r, "autoescape"), r.data_view());
}

GALE_DECL void renderer::module(const expr& call) {
    std::string_view name = p_.slot_name[static_cast<std::size_t>(p_.slot_of[call.kids[0]->symbol])];
    const template_function* fn = ns_ ? ns_->find_module(name) : nullptr;
    if (!fn && p_.globals) fn = p_.globals->find_module(name);
    if (!fn) raise("AttributeError", "no UI module named '" + std::string(name) + "'");
    value callee = value::function(fn, name);
    value r = call_with(callee, call);
    write_str(data_of(r, "module"), r.data_view());
}

GALE_DECL void renderer::apply(const node& n) {
    value fn = eval(*n.e);
    std::string body;
    output saved = out_;
    out_ = output(body);
    try {
        exec(n.body);
    } catch (...) {
        out_ = saved;
        throw;
    }
    out_.trim();
    out_ = saved;
    std::array<value, 1> arg{value::own(std::move(body))};
    value r = invoke(fn, {arg, {}});
    write_str(data_of(r, "apply"), r.data_view());
}

GALE_DECL flow renderer::try_block(const node& n) {
    flow f;
    try {
        f = try_body(n);
    } catch (...) {
        if (n.has_finally) exec(n.finally_body);
        throw;
    }
    if (n.has_finally) {
        flow g = exec(n.finally_body);
        if (g != flow::normal) return g;
    }
    return f;
}

GALE_DECL flow renderer::try_body(const node& n) {
    const except_clause* handler = nullptr;
    std::string message;
    try {
        flow f = exec(n.body);
        if (f != flow::normal) return f;
    } catch (const ParseError&) {
        throw;
    } catch (const template_error& e) {
        for (const auto& x : n.excepts)
            if (exception_matches(e.type(), x.types)) {
                handler = &x;
                break;
            }
        if (!handler) throw;
        message = e.message();
    }
    if (handler) {
        if (handler->as_symbol >= 0) assign_symbol(static_cast<std::uint32_t>(handler->as_symbol), value::own(message));
        return exec(handler->body);
    }
    return n.has_else ? exec(n.else_body) : flow::normal;
}

GALE_DECL void renderer::set(const node& n) {
    value v = eval(*n.e);
    if (n.aug) {
        const value& cur = name(static_cast<std::uint32_t>(n.tgt.symbol));
        if (n.aug == '%' && cur.is_data() && cur.data().is_string())
            v = value::own(percent_format(cur.data().get_string(), v));
        else
            v = value::own(arith(n.aug, data_of(cur, "+="), data_of(v, "+=")));
    }
    assign(n.tgt, std::move(v));
}

GALE_DECL void renderer::assign_symbol(std::uint32_t symbol, value v) {
    v.share();
    slots_[static_cast<std::size_t>(p_.slot_of[symbol])] = std::move(v);
}

GALE_DECL void renderer::assign(const target& t, value v) {
    if (t.symbol >= 0) {
        assign_symbol(static_cast<std::uint32_t>(t.symbol), std::move(v));
        return;
    }
    if (!v.is_data()) raise("TypeError", std::string("cannot unpack non-iterable ") + type_name(v) + " object");
    v.share();
    const json::value& j = v.data();
    if (j.is_array()) {
        const json::array& a = j.get_array();
        check_unpack(a.size(), t.items.size());
        for (std::size_t i = 0; i < a.size(); ++i) assign(t.items[i], v.element(a[i]));
        return;
    }
    if (!j.is_string() && !j.is_object())
        raise("TypeError", std::string("cannot unpack non-iterable ") + type_name(j) + " object");
    json::array items = to_list(j);
    check_unpack(items.size(), t.items.size());
    for (std::size_t i = 0; i < items.size(); ++i) assign(t.items[i], value::own(std::move(items[i])));
}

GALE_DECL void renderer::check_unpack(std::size_t got, std::size_t want) {
    if (got < want)
        raise("ValueError", "not enough values to unpack (expected " + std::to_string(want) + ", got " +
                                std::to_string(got) + ")");
    if (got > want) raise("ValueError", "too many values to unpack (expected " + std::to_string(want) + ")");
}

GALE_DECL bool renderer::step(const node& n, value v) {
    assign(n.tgt, std::move(v));
    return exec(n.body) != flow::brk;
}

GALE_DECL flow renderer::loop(const node& n) {
    const expr& it = *n.e;
    bool broke = false;
    if (!fast_loop(n, broke)) {
        value seq = eval(it);
        if (!seq.is_data()) raise("TypeError", std::string("'") + type_name(seq) + "' object is not iterable");
        seq.share();
        const json::value& j = seq.data();
        if (j.is_array() && n.tgt.symbol >= 0 && seq.data_view() != value::view::dict_items) {
            value& var = slots_[static_cast<std::size_t>(p_.slot_of[static_cast<std::size_t>(n.tgt.symbol)])];
            for (const json::value& e : j.get_array()) {  // the common case: the variable rebound in place
                var.rebind(e, seq.keep());
                if (exec(n.body) == flow::brk) {
                    broke = true;
                    break;
                }
            }
        } else if (j.is_array()) {
            auto inner = seq.data_view() == value::view::dict_items ? value::view::tuple : value::view::none;
            for (const json::value& e : j.get_array())
                if (!step(n, seq.element(e, inner))) {
                    broke = true;
                    break;
                }
        } else {
            for (auto& e : to_list(j))
                if (!step(n, value::own(std::move(e)))) {
                    broke = true;
                    break;
                }
        }
    }
    return !broke && n.has_else ? exec(n.else_body) : flow::normal;
}

GALE_DECL bool renderer::fast_loop(const node& n, bool& broke) {
    const expr& it = *n.e;
    if (it.kind != ex::call || !it.kw_names.empty()) return false;
    const expr& callee = *it.kids[0];
    if (callee.kind == ex::attr && callee.method == m_items && it.kids.size() == 1) {
        value d = eval(*callee.kids[0]);
        if (!d.is_data() || !d.data().is_object()) return false;
        d.share();
        for (const auto& [k, v] : d.data().get_object()) {
            if (n.tgt.items.size() == 2) {  // the common case: no pair built
                assign(n.tgt.items[0], value::own(k));
                if (!step(n.tgt.items[1], n, d.element(v))) return broke = true;
            } else if (!step(n, value::own(json::array{k, v}, value::view::tuple))) {
                return broke = true;
            }
        }
        return true;
    }
    if (callee.kind == ex::name) {
        const value& f = name(callee.symbol);
        if (f.type() != value::kind::builtin || f.id() != b_range) return false;
        std::int64_t args[3] = {0, 0, 1};
        std::size_t nargs = it.kids.size() - 1;
        if (nargs < 1 || nargs > 3) return false;
        for (std::size_t i = 0; i < nargs; ++i) args[nargs == 1 ? 1 : i] = to_int(data_of(eval(*it.kids[i + 1]), "range"));
        if (args[2] == 0) raise("ValueError", "range() arg 3 must not be zero");
        for (std::int64_t i = args[0]; args[2] > 0 ? i < args[1] : i > args[1]; i += args[2])
            if (!step(n, value::own(i))) return broke = true;
        return true;
    }
    return false;
}

GALE_DECL bool renderer::step(const target& t, const node& n, value v) {
    assign(t, std::move(v));
    return exec(n.body) != flow::brk;
}

GALE_DECL const value& renderer::name(std::uint32_t symbol) {
    auto slot = static_cast<std::size_t>(p_.slot_of[symbol]);
    value& v = slots_[slot];
    if (!v.is_unset()) [[likely]] return v;
    return first_use(slot);
}

[[gnu::noinline]] GALE_DECL const value& renderer::first_use(std::size_t slot) {
    value& v = slots_[slot];
    std::string_view name = p_.slot_name[slot];
    if (p_.slot_local[slot])
        raise("UnboundLocalError",
              "cannot access local variable '" + std::string(name) + "' where it is not associated with a value");
    v = resolve_global(name, p_.slot_builtin[slot]);
    return v;
}

GALE_DECL value renderer::resolve_global(std::string_view name, std::uint16_t builtin) {
    const template_namespace::entry* e = ns_ ? ns_->find(name) : nullptr;
    if (!e && p_.globals) e = p_.globals->find(name);
    if (e) {
        if (e->fn) return value::function(&e->fn, e->name);
        if (e->lazy) {
            value v = value::own(e->lazy());
            v.share();
            return v;
        }
        return value::borrow(e->ref ? *e->ref : e->owned);
    }
    if (builtin != b_none) return value::builtin(builtin);
    raise("NameError", "name '" + std::string(name) + "' is not defined");
}

GALE_DECL const value& renderer::eval_ref(const expr& e, value& tmp) {
    if (e.kind == ex::name) return name(e.symbol);
    tmp = eval(e);
    return tmp;
}

GALE_DECL const json::value* renderer::peek(const expr& e) {
    switch (e.kind) {
    case ex::constant: return &e.constant;
    case ex::name: return peek_name(e);
    case ex::index: {
        const json::value* obj = e.kids[0]->kind == ex::name ? peek_name(*e.kids[0]) : peek(*e.kids[0]);
        if (!obj || e.kids[1]->kind != ex::constant) return nullptr;
        const json::value& k = e.kids[1]->constant;
        if (obj->is_object() && k.is_string()) return obj->find(k.get_string());
        if (obj->is_array() && k.is_int()) {
            std::int64_t i = k.get_int(), n = static_cast<std::int64_t>(obj->size());
            if (i < 0) i += n;
            return i >= 0 && i < n ? &obj->get_array()[static_cast<std::size_t>(i)] : nullptr;
        }
        return nullptr;
    }
    case ex::attr: {
        const json::value* obj = e.kids[0]->kind == ex::name ? peek_name(*e.kids[0]) : peek(*e.kids[0]);
        if (!obj || !obj->is_object() || (e.method != m_none && method_applies(e.method, *obj))) return nullptr;
        return obj->find(e.attr);
    }
    default: return nullptr;
    }
}

GALE_DECL std::int64_t renderer::peek_len(const expr& e) {
    if (e.kind != ex::call || e.kids.size() != 2 || !e.kw_names.empty() || e.kids[0]->kind != ex::name) return -1;
    const value& f = name(e.kids[0]->symbol);
    if (f.type() != value::kind::builtin || f.id() != b_len) return -1;
    const json::value* x = peek(*e.kids[1]);
    if (!x) return -1;
    if (x->is_string()) return static_cast<std::int64_t>(code_point_count(x->get_string()));
    return x->is_array() || x->is_object() ? static_cast<std::int64_t>(x->size()) : -1;
}

GALE_DECL const json::value* renderer::peek_name(const expr& e) {
    const value& v = name(e.symbol);
    return v.is_data() && v.data_view() == value::view::none ? &v.data() : nullptr;
}

GALE_DECL bool renderer::condition(const expr& e) {
    if (const json::value* j = peek(e)) return truth(*j);
    return truth(eval(e));
}

GALE_DECL const json::value& renderer::eval_data_ref(const expr& e, value& tmp, std::string_view what) {
    if (e.kind == ex::constant) return e.constant;
    return data_of(eval_ref(e, tmp), what);
}

GALE_DECL value renderer::element_of(const value& obj, value& tmp, const json::value& v) {
    if (&obj == &tmp) return std::move(tmp).take_element(v);
    return obj.element(v);
}

GALE_DECL value renderer::eval(const expr& e) {
    switch (e.kind) {
    case ex::constant: return value::borrow(e.constant);
    case ex::name: return name(e.symbol);
    case ex::attr: return attribute(e);
    case ex::index: return index(e);
    case ex::slice: return slice(e);
    case ex::call: {
        value tmp;
        return call_with(eval_ref(*e.kids[0], tmp), e);
    }
    case ex::list:
    case ex::tuple: {
        json::array a;
        a.reserve(e.kids.size());
        for (const auto& k : e.kids) a.push_back(eval_data(*k));
        return value::own(std::move(a), e.kind == ex::tuple ? value::view::tuple : value::view::none);
    }
    case ex::dict: {
        json::object o;
        for (std::size_t i = 0; i + 1 < e.kids.size(); i += 2) {
            json::value k = eval_data(*e.kids[i]);
            if (!k.is_string()) raise("TypeError", "gale template dicts have string keys only");
            o.insert_or_assign(std::move(k.get_string()), eval_data(*e.kids[i + 1]));
        }
        return value::own(std::move(o));
    }
    case ex::neg:
    case ex::pos: {
        value v = eval(*e.kids[0]);
        const json::value& j = data_of(v, "unary");
        if (!is_numeric(j))
            raise("TypeError", std::string("bad operand type for unary ") + (e.kind == ex::neg ? "-" : "+") + ": '" +
                                   type_name(j) + "'");
        if (e.kind == ex::pos) return value::own(is_intlike(j) ? json::value(as_int(j)) : j);
        if (j.is_double()) return value::own(-j.get_double());
        return value::own(arith('-', json::value(0), j));
    }
    case ex::not_: return value::own(!truth(eval(*e.kids[0])));
    case ex::and_: {
        value a = eval(*e.kids[0]);
        return truth(a) ? eval(*e.kids[1]) : a;
    }
    case ex::or_: {
        value a = eval(*e.kids[0]);
        return truth(a) ? a : eval(*e.kids[1]);
    }
    case ex::cond: return truth(eval(*e.kids[0])) ? eval(*e.kids[1]) : eval(*e.kids[2]);
    case ex::binop: {
        value a = eval(*e.kids[0]);
        value b = eval(*e.kids[1]);
        const json::value& x = data_of(a, "operand");
        if (e.op == '%' && x.is_string()) return value::own(percent_format(x.get_string(), b));
        json::value r = arith(e.op, x, data_of(b, "operand"));
        if (r.is_array() && a.data_view() == value::view::tuple) return value::own(std::move(r), value::view::tuple);
        return value::own(std::move(r));
    }
    case ex::compare: return value::own(compare_chain(e));
    case ex::listcomp: return comprehension(e);
    }
    return {};
}

GALE_DECL void renderer::save_target(const target& t, std::vector<std::pair<std::size_t, value>>& saved) {
    if (t.symbol >= 0) {
        auto slot = static_cast<std::size_t>(p_.slot_of[static_cast<std::size_t>(t.symbol)]);
        saved.emplace_back(slot, std::move(slots_[slot]));
        slots_[slot] = value();
    }
    for (const auto& i : t.items) save_target(i, saved);
}

GALE_DECL value renderer::comprehension(const expr& e) {
    value seq = eval(*e.kids[1]);
    if (!seq.is_data()) raise("TypeError", std::string("'") + type_name(seq) + "' object is not iterable");
    seq.share();
    std::vector<std::pair<std::size_t, value>> saved;
    save_target(e.comp_target, saved);
    json::array out;
    auto one = [&](value item) {
        assign(e.comp_target, std::move(item));
        for (std::size_t i = 2; i < e.kids.size(); ++i)
            if (!condition(*e.kids[i])) return;
        out.push_back(eval_data(*e.kids[0]));
    };
    try {
        const json::value& j = seq.data();
        if (j.is_array()) {
            auto inner = seq.data_view() == value::view::dict_items ? value::view::tuple : value::view::none;
            for (const json::value& item : j.get_array()) one(seq.element(item, inner));
        } else {
            for (auto& item : to_list(j)) one(value::own(std::move(item)));
        }
    } catch (...) {
        for (auto& [slot, v] : saved) slots_[slot] = std::move(v);
        throw;
    }
    for (auto& [slot, v] : saved) slots_[slot] = std::move(v);
    return value::own(std::move(out));
}

GALE_DECL json::value renderer::eval_data(const expr& e) {
    value v = eval(e);
    if (!v.is_data()) raise("TypeError", "gale templates cannot store functions in lists or dicts");
    return std::move(v).take();
}

GALE_DECL bool renderer::compare_chain(const expr& e) {
    value left = eval(*e.kids[0]);
    for (std::size_t i = 0; i < e.cmps.size(); ++i) {
        value right = eval(*e.kids[i + 1]);
        if (!compare_one(e.cmps[i], left, right)) return false;
        left = std::move(right);
    }
    return true;
}

GALE_DECL bool renderer::compare_one(cmp c, const value& a, const value& b) {
    if (c == cmp::is || c == cmp::is_not) {
        bool same;
        if (!a.is_data() || !b.is_data()) same = a.type() == b.type() && a.id() == b.id() && a.fn() == b.fn();
        else if (a.data().is_null() || b.data().is_null()) same = a.data().is_null() && b.data().is_null();
        else if (a.data().is_bool() || b.data().is_bool()) same = a.data() == b.data();
        else same = &a.data() == &b.data();
        return c == cmp::is ? same : !same;
    }
    if (!a.is_data() || !b.is_data()) {
        bool same = a.type() == b.type() && a.id() == b.id() && a.fn() == b.fn();
        if (c == cmp::eq) return same;
        if (c == cmp::ne) return !same;
        raise("TypeError", "functions cannot be compared");
    }
    const json::value &x = a.data(), &y = b.data();
    switch (c) {
    case cmp::eq: return equal(x, y);
    case cmp::ne: return !equal(x, y);
    case cmp::lt: return compare(x, y, "<") < 0;
    case cmp::le: return compare(x, y, "<=") <= 0;
    case cmp::gt: return compare(x, y, ">") > 0;
    case cmp::ge: return compare(x, y, ">=") >= 0;
    case cmp::in:
    case cmp::not_in: {
        bool found;
        if (y.is_string()) {
            if (!x.is_string())
                raise("TypeError", std::string("'in <string>' requires string as left operand, not ") + type_name(x));
            found = y.get_string().find(x.get_string()) != std::string::npos;
        } else if (y.is_array()) {
            found = std::any_of(y.get_array().begin(), y.get_array().end(), [&](const json::value& e) { return equal(e, x); });
        } else if (y.is_object()) {
            found = x.is_string() && y.contains(x.get_string());
        } else {
            raise("TypeError", std::string("argument of type '") + type_name(y) + "' is not iterable");
        }
        return c == cmp::in ? found : !found;
    }
    default: return false;
    }
}

GALE_DECL value renderer::attribute(const expr& e) {
    value tmp;
    const value& obj = eval_ref(*e.kids[0], tmp);
    if (obj.is_data()) {
        const json::value& j = obj.data();
        if (e.method != m_none && method_applies(e.method, j)) return value::method(obj, e.method);
        if (j.is_object())  // gale: d.name reads d["name"] (as torndb.Row and ObjectDict do)
            if (const json::value* v = j.find(e.attr)) return element_of(obj, tmp, *v);
    }
    raise("AttributeError", std::string("'") + type_name(obj) + "' object has no attribute '" + e.attr + "'");
}

GALE_DECL std::int64_t renderer::normalize_index(std::int64_t i, std::size_t size, const char* what) {
    auto n = static_cast<std::int64_t>(size);
    if (i < 0) i += n;
    if (i < 0 || i >= n) raise("IndexError", std::string(what) + " index out of range");
    return i;
}

GALE_DECL value renderer::index(const expr& e) {
    value tmp, key_tmp;
    const value& obj = eval_ref(*e.kids[0], tmp);
    const json::value& j = data_of(obj, "subscript");
    const json::value& k = eval_data_ref(*e.kids[1], key_tmp, "subscript");
    if (j.is_object()) {
        const json::value* v = k.is_string() ? j.find(k.get_string()) : nullptr;
        if (!v) {
            std::string r;
            append_repr(r, k);
            raise("KeyError", r);
        }
        return element_of(obj, tmp, *v);
    }
    if (j.is_array() || j.is_string()) {
        if (!is_intlike(k))
            raise("TypeError", std::string(type_name(j, obj.data_view())) + " indices must be integers or slices, not " +
                                   type_name(k));
        if (j.is_array()) {
            std::int64_t i = normalize_index(as_int(k), j.size(), j.is_array() && obj.data_view() == value::view::tuple ? "tuple" : "list");
            return element_of(obj, tmp, j.get_array()[static_cast<std::size_t>(i)]);
        }
        const std::string& s = j.get_string();
        if (is_ascii(s)) {
            std::int64_t i = normalize_index(as_int(k), s.size(), "string");
            return value::own(s.substr(static_cast<std::size_t>(i), 1));
        }
        auto at = code_point_offsets(s);
        auto i = static_cast<std::size_t>(normalize_index(as_int(k), at.size() - 1, "string"));
        return value::own(s.substr(at[i], at[i + 1] - at[i]));
    }
    raise("TypeError", std::string("'") + type_name(j) + "' object is not subscriptable");
}

GALE_DECL value renderer::slice(const expr& e) {
    value obj = eval(*e.kids[0]);
    const json::value& j = data_of(obj, "slice");
    std::int64_t parts[3];
    bool given[3];
    for (int i = 0; i < 3; ++i) {
        given[i] = false;
        if (!e.kids[static_cast<std::size_t>(i) + 1]) continue;
        value v = eval(*e.kids[static_cast<std::size_t>(i) + 1]);
        const json::value& d = data_of(v, "slice");
        if (d.is_null()) continue;
        if (!is_intlike(d)) raise("TypeError", "slice indices must be integers or None");
        parts[i] = as_int(d);
        given[i] = true;
    }
    std::int64_t step = given[2] ? parts[2] : 1;
    if (step == 0) raise("ValueError", "slice step cannot be zero");
    bool ascii = j.is_string() && is_ascii(j.get_string());
    std::vector<std::size_t> at;
    std::size_t size;
    if (j.is_array()) size = j.size();
    else if (!j.is_string()) raise("TypeError", std::string("'") + type_name(j) + "' object is not subscriptable");
    else if (ascii) size = j.size();
    else {
        at = code_point_offsets(j.get_string());
        size = at.size() - 1;
    }
    auto n = static_cast<std::int64_t>(size);
    auto clamp = [&](std::int64_t i, bool is_given, std::int64_t dflt) {
        if (!is_given) return dflt;
        if (i < 0) i += n;
        if (step > 0) return std::clamp<std::int64_t>(i, 0, n);
        return std::clamp<std::int64_t>(i, -1, n - 1);
    };
    std::int64_t start = clamp(parts[0], given[0], step > 0 ? 0 : n - 1);
    std::int64_t stop = clamp(parts[1], given[1], step > 0 ? n : -1);
    if (j.is_array()) {
        json::array r;
        for (std::int64_t i = start; step > 0 ? i < stop : i > stop; i += step)
            r.push_back(j.get_array()[static_cast<std::size_t>(i)]);
        return value::own(std::move(r), obj.data_view() == value::view::tuple ? value::view::tuple : value::view::none);
    }
    const std::string& s = j.get_string();
    std::string r;
    for (std::int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
        auto u = static_cast<std::size_t>(i);
        if (ascii) r += s[u];
        else r.append(s, at[u], at[u + 1] - at[u]);
    }
    return value::own(std::move(r));
}

GALE_DECL value renderer::call_with(const value& callee, const expr& e) {
    std::size_t n = e.kids.size() - 1;
    if (n <= 2) {  // most calls: the arguments made in place, nothing to reset
        if (n == 0) return invoke(callee, {{}, e.kw_names});
        if (n == 1) {
            std::array<value, 1> args{eval(*e.kids[1])};
            return invoke(callee, {args, e.kw_names});
        }
        std::array<value, 2> args{eval(*e.kids[1]), eval(*e.kids[2])};
        return invoke(callee, {args, e.kw_names});
    }
    std::vector<value> args;
    args.reserve(n);
    for (std::size_t i = 0; i < n; ++i) args.push_back(eval(*e.kids[i + 1]));
    return invoke(callee, {args, e.kw_names});
}

GALE_DECL std::vector<value>& renderer::spare_slots() {
    thread_local std::vector<value> spare;
    return spare;
}

}  // namespace detail::tmpl
}  // namespace gale
