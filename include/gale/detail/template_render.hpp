// Internal to <gale/template.hpp>: the namespace a template renders
// against, a compiled (linked) template, and the renderer that walks it.
#pragma once

#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config.hpp"
#include "template_call.hpp"
#include "template_parse.hpp"

namespace gale {

// The names a template sees (Tornado's namespace dict): values, functions,
// lazily made values and UI module hooks. A namespace may sit on a parent
// (looked up after it), so a handler can add per-request names on top of
// the application's without copying them. Entries added by reference must
// outlive the render.
class template_namespace {
public:
    template_namespace() = default;
    explicit template_namespace(const template_namespace* parent) : parent_(parent) {}

    template_namespace& set(std::string name, json::value v) {
        slot(std::move(name)).owned = std::move(v);
        return *this;
    }
    // Borrows v (no copy); v must outlive every render using this namespace.
    template_namespace& set_ref(std::string name, const json::value& v) {
        slot(std::move(name)).ref = &v;
        return *this;
    }
    template_namespace& set_function(std::string name, template_function f) {
        slot(std::move(name)).fn = std::move(f);
        return *this;
    }
    // A value made on first use in each render (e.g. a request summary).
    template_namespace& set_lazy(std::string name, std::function<json::value()> make) {
        slot(std::move(name)).lazy = std::move(make);
        return *this;
    }
    // The hook of {% module name(args) %}; its result is written unescaped.
    template_namespace& set_module(std::string name, template_function render) {
        modules_.push_back({std::move(name), std::move(render)});
        return *this;
    }
    // Every member of o, copied / borrowed.
    template_namespace& update(const json::object& o) {
        for (const auto& [k, v] : o) set(k, v);
        return *this;
    }
    template_namespace& update_ref(const json::object& o) {
        for (const auto& [k, v] : o) set_ref(k, v);
        return *this;
    }

    struct entry {
        std::string name;
        json::value owned;
        const json::value* ref = nullptr;  // borrowed data; nullptr: owned
        template_function fn;
        std::function<json::value()> lazy;
    };
    // Names looked up after this namespace and all its parents: what they
    // override (a handler's standard names under the values given to render,
    // which win as Tornado's keyword arguments do). f must outlive the renders.
    void set_fallback(const template_namespace* f) noexcept { fallback_ = f; }

    // The entry called name here, in a parent or in the fallback, or nullptr.
    const entry* find(std::string_view name) const noexcept;
    const template_function* find_module(std::string_view name) const noexcept;
    const template_namespace* parent() const noexcept { return parent_; }

private:
    entry& slot(std::string name);

    const template_namespace* parent_ = nullptr;
    const template_namespace* fallback_ = nullptr;
    std::vector<entry> entries_;
    std::vector<std::pair<std::string, template_function>> modules_;
};

namespace detail::tmpl {

// A map from nodes to what the linker found for them (the block that
// replaces a block, the file an include inlines), looked up on every
// execution of such a node: open addressing over a power-of-two table, so
// a lookup is a multiply, a shift and usually one comparison.
template <class V>
class node_table {
public:
    void set(const node* key, const V* v) {
        if (2 * (size_ + 1) > slots_.size()) rehash(slots_.empty() ? 16 : slots_.size() * 2);
        if (place(key, v)) ++size_;
    }
    const V& at(const node* key) const {
        if (!slots_.empty())
            for (std::size_t i = hash(key);; i = (i + 1) & (slots_.size() - 1)) {
                if (slots_[i].first == key) return *slots_[i].second;
                if (!slots_[i].first) break;
            }
        raise("RuntimeError", "template node not linked");
    }

private:
    std::size_t hash(const node* key) const {
        auto h = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(key)) * 0x9E3779B97F4A7C15ull;
        return static_cast<std::size_t>(h >> 32) & (slots_.size() - 1);
    }
    bool place(const node* key, const V* v) {
        for (std::size_t i = hash(key);; i = (i + 1) & (slots_.size() - 1)) {
            if (slots_[i].first == key || !slots_[i].first) {
                bool added = !slots_[i].first;
                slots_[i] = {key, v};
                return added;
            }
        }
    }
    void rehash(std::size_t n) {
        std::vector<std::pair<const node*, const V*>> old(n);
        old.swap(slots_);
        for (const auto& [k, v] : old)
            if (k) place(k, v);
    }
    std::vector<std::pair<const node*, const V*>> slots_;
    std::size_t size_ = 0;
};

// A template linked with its ancestors and includes: Tornado's generated
// _tt_execute, as a tree walk. Immutable once built; shared by renders.
struct program {
    std::shared_ptr<symbol_table> symbols;
    std::shared_ptr<const template_namespace> globals;  // the loader's namespace
    std::shared_ptr<const parsed_file> self;
    std::vector<std::shared_ptr<const parsed_file>> ancestors;  // self first, root last
    std::vector<std::shared_ptr<const parsed_file>> files;      // everything kept alive
    const parsed_file* root = nullptr;
    std::unordered_map<std::string_view, const node*> blocks;  // most derived
    std::unordered_map<const node*, const parsed_file*> includes;
    node_table<node> block_of;           // a block node -> the most derived block of its name
    node_table<parsed_file> include_of;  // an include node -> the file (includes, for render)
    std::vector<std::int32_t> slot_of;  // symbol -> slot (-1: unused)
    std::vector<std::uint32_t> slot_symbol;
    std::vector<std::uint8_t> slot_local;
    std::vector<std::uint16_t> slot_builtin;  // the built-in of that name, or b_none
    // Each slot's name, read while linking: a render never touches the
    // loader's symbol table, which another thread may be adding to.
    std::vector<std::string_view> slot_name;

    std::int32_t slot(std::uint32_t symbol);
    void mark_local(const target& t);
    void use_target(const target& t);
    void use(const expr* e);
    // Gives a slot to every name the generated code would use, walking it
    // as Tornado generates it (blocks replaced, includes inlined).
    void assign_slots(const node_list& body, int depth = 0);
};

enum class flow { normal, brk, cont };

// Whether an exception of Python type `type` is caught by `except names:`
// (empty: a bare except), following the built-in exception hierarchy.
GALE_DECL bool exception_matches(const std::string& type, const std::vector<std::string>& names);

// A render's output: bytes go to the end of a string that is grown ahead
// of them (the length past what was written is slack), so a write is a
// bounds check and a copy; trim() cuts the slack off when the render ends.
class output {
public:
    explicit output(std::string& s) : s_(&s), len_(s.size()) {}

    void append(const char* p, std::size_t n) {
        if (n > s_->size() - len_) [[unlikely]]
            grow(n);
        copy(s_->data() + len_, p, n);
        len_ += n;
    }
    void append(std::string_view v) { append(v.data(), v.size()); }
    void trim() { s_->resize(len_); }

private:
    // A kilobyte of slack at a time within the string's capacity (resize
    // zero-fills it), doubling the capacity when it runs out.
    void grow(std::size_t n);
    // Short copies inline (most text between tags and most values are short).
    static void copy(char* d, const char* s, std::size_t n) {
        if (n > 16) {
            std::memcpy(d, s, n);
        } else if (n >= 8) {
            std::memcpy(d, s, 8);
            std::memcpy(d + n - 8, s + n - 8, 8);
        } else if (n >= 4) {
            std::memcpy(d, s, 4);
            std::memcpy(d + n - 4, s + n - 4, 4);
        } else {
            for (std::size_t i = 0; i < n; ++i) d[i] = s[i];
        }
    }

    std::string* s_;
    std::size_t len_;
};

// One render: the program's variables (slots) and the output buffer.
class renderer {
public:
    renderer(const program& p, const template_namespace* ns, std::string& out)
        : p_(p), ns_(ns), out_(out), slots_(std::move(spare_slots())) {
        slots_.resize(p.slot_symbol.size());
    }
    ~renderer();
    renderer(const renderer&) = delete;
    renderer& operator=(const renderer&) = delete;

    void run() { exec(p_.root->body); }

private:
    // ---- statements ----

    flow exec(const node_list& body);

    // The hot path of {{ x }}, {{ x["k"] }} and {{ x.k }} in a file known to
    // autoescape with xhtml_escape: a variable already set, holding (at that
    // key) a string or an integer, is written straight out. false for
    // anything else, which exec() then evaluates (and reports errors of).
    bool emit_simple(const expr& e);
    // o[key] or nullptr: json::object::find with the comparison inline.
    static const json::value* member_of(const json::object& o, const std::string& key);
    static bool same_bytes(const char* a, const char* b, std::size_t n);
    // The data of a variable that is set (no lookup, no error), or nullptr.
    const json::value* set_data(const expr& name) const;
    flow exec_located(const node& n);
    flow exec(const node& n);

    // Writes str(v), through the file's autoescape function unless raw
    // (xhtml_escape runs inline; text without & < > " ' is copied as is).
    void emit(const value& v, const parsed_file* file);
    void emit_data(const json::value& j, value::view view, const parsed_file* file);
    // Writes str(j) unescaped.
    void write_str(const json::value& j, value::view view);
    void emit_text(std::string s, const parsed_file* file);
    void emit_custom(std::string s, const value& fn);
    void module(const expr& call);
    void apply(const node& n);
    flow try_block(const node& n);
    flow try_body(const node& n);
    void set(const node& n);
    void assign_symbol(std::uint32_t symbol, value v);
    void assign(const target& t, value v);
    static void check_unpack(std::size_t got, std::size_t want);

    // One iteration; false to stop the loop (break).
    bool step(const node& n, value v);
    flow loop(const node& n);

    // for k, v in d.items() and for i in range(...) without building lists.
    bool fast_loop(const node& n, bool& broke);
    bool step(const target& t, const node& n, value v);

    // ---- expressions ----

    const value& name(std::uint32_t symbol);
    // A name's first use in this render: the namespace, the globals or a
    // built-in (or an error for a local read before it is set).
    const value& first_use(std::size_t slot);
    value resolve_global(std::string_view name, std::uint16_t builtin);

    // e's value without copying a variable: the slot itself, or tmp.
    const value& eval_ref(const expr& e, value& tmp);
    // The data e names when it is a constant, a variable or a chain of
    // [constant] / .name lookups that succeeds, read in place (no value is
    // made); nullptr otherwise (then eval() gives the result or the error).
    const json::value* peek(const expr& e);
    // len(x) when x can be peeked at and has a length (-1 otherwise: eval()
    // then gives the result or the error); {{ len(rows) }} makes no value.
    std::int64_t peek_len(const expr& e);
    const json::value* peek_name(const expr& e);
    bool condition(const expr& e);
    // e's data, without making a value for a constant.
    const json::value& eval_data_ref(const expr& e, value& tmp, std::string_view what);
    // Element v of obj (which is tmp or a variable): moved out of a
    // temporary, borrowed from a variable.
    static value element_of(const value& obj, value& tmp, const json::value& v);
    value eval(const expr& e);

    // Python 3 comprehensions have their own scope: the target's variables
    // are saved and restored around the loop.
    void save_target(const target& t, std::vector<std::pair<std::size_t, value>>& saved);
    value comprehension(const expr& e);
    json::value eval_data(const expr& e);
    bool compare_chain(const expr& e);
    static bool compare_one(cmp c, const value& a, const value& b);
    value attribute(const expr& e);
    static std::int64_t normalize_index(std::int64_t i, std::size_t size, const char* what);
    value index(const expr& e);
    value slice(const expr& e);
    value call_with(const value& callee, const expr& e);

    // The variables' table of the thread's last render, kept so that a
    // render allocates none (a nested render takes a fresh one).
    static std::vector<value>& spare_slots();

    const program& p_;
    const template_namespace* ns_;
    output out_;
    std::vector<value> slots_;
    int depth_ = 0;
    const parsed_file* escaping_file_ = nullptr;  // the last file seen to autoescape with xhtml_escape
};

}  // namespace detail::tmpl
}  // namespace gale

#if GALE_HEADER_ONLY
#include "../impl/template_render.ipp"
#endif
