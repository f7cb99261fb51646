// Definitions for template.hpp: compiled in every translation unit that includes it
// in header-only mode, once (by <gale/src.hpp>) in separate compilation
// mode; see detail/config.hpp. The path helpers, the linker and the file and
// dict loaders' cores live here.
#pragma once

#include "../template.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace gale {

namespace detail::tmpl {

GALE_DECL std::string default_whitespace(std::string_view name, const template_options& o) {
    if (o.whitespace) return *o.whitespace;
    return name.ends_with(".html") || name.ends_with(".js") ? "single" : "all";
}

// Posix path helpers as Python's posixpath writes them.
GALE_DECL std::string normpath(std::string_view p) {
    if (p.empty()) return ".";
    std::size_t lead = 0;
    while (lead < p.size() && p[lead] == '/') ++lead;
    std::string prefix = lead == 0 ? "" : lead == 2 ? "//" : "/";
    std::vector<std::string_view> parts;
    std::size_t i = lead;
    while (i <= p.size()) {
        std::size_t j = p.find('/', i);
        if (j == std::string_view::npos) j = p.size();
        std::string_view c = p.substr(i, j - i);
        if (c.empty() || c == ".") {
        } else if (c == ".." && ((prefix.empty() && parts.empty()) || (!parts.empty() && parts.back() == ".."))) {
            parts.push_back(c);
        } else if (c == "..") {
            if (!parts.empty()) parts.pop_back();
        } else {
            parts.push_back(c);
        }
        i = j + 1;
    }
    std::string out = prefix;
    for (std::size_t k = 0; k < parts.size(); ++k) {
        if (k) out += '/';
        out += parts[k];
    }
    return out.empty() ? "." : out;
}
GALE_DECL std::string dirname(std::string_view p) {
    std::size_t slash = p.rfind('/');
    if (slash == std::string_view::npos) return "";
    std::string_view head = p.substr(0, slash + 1);
    if (head.find_first_not_of('/') != std::string_view::npos)
        while (!head.empty() && head.back() == '/') head.remove_suffix(1);
    return std::string(head);
}
GALE_DECL std::string join(std::string_view a, std::string_view b) {
    if (b.starts_with('/') || a.empty()) return std::string(b);
    std::string r(a);
    if (r.back() != '/') r += '/';
    r += b;
    return r;
}
GALE_DECL std::string abspath(std::string_view p) {
    if (p.starts_with('/')) return normpath(p);
    return normpath(join(std::filesystem::current_path().string(), p));
}

GALE_DECL std::shared_ptr<const program> loader_core::load(std::string_view name, std::string_view parent) {
        std::string resolved = resolve_path(name, parent);
        std::lock_guard lock(mutex_);
        if (options_.cache)
            if (auto it = cache_.find(resolved); it != cache_.end()) return it->second;
        for (const auto& l : loading_)
            if (l == resolved)
                raise("RecursionError", "template '" + resolved + "' includes or extends itself");
        loading_.push_back(resolved);
        std::shared_ptr<const program> p;
        try {
            std::string text = read(resolved);
            p = compile(text, resolved, options_, symbols_, this);
        } catch (...) {
            loading_.pop_back();
            throw;
        }
        loading_.pop_back();
        if (options_.cache) cache_[resolved] = p;
        return p;
    }
GALE_DECL void loader_core::reset() {
        std::lock_guard lock(mutex_);
        cache_.clear();
    }

class linker {
public:
    linker(program& p, loader_core* loader) : p_(p), loader_(loader) {}

    void link() {
        const parsed_file& self = *p_.self;
        p_.ancestors.push_back(p_.self);
        for (const node& n : self.body) {
            if (n.kind != nk::extends) continue;
            if (!loader_) throw ParseError("{% extends %} block found, but no template loader", self.name, n.line);
            auto parent = loader_->load(n.text, self.name);
            p_.ancestors.insert(p_.ancestors.end(), parent->ancestors.begin(), parent->ancestors.end());
        }
        p_.files = p_.ancestors;
        for (auto it = p_.ancestors.rbegin(); it != p_.ancestors.rend(); ++it) find_blocks((*it)->body, **it);
        p_.root = p_.ancestors.back().get();
        check_extends(p_.root->body, true);
        p_.assign_slots(p_.root->body);
    }

private:
    // Tornado's find_named_blocks: every block in the file (and in the
    // files it includes) registers under its name; later ones win.
    void find_blocks(const node_list& body, const parsed_file& file) {
        for (const node& n : body) {
            if (n.kind == nk::block) p_.blocks[n.text] = &n;
            if (n.kind == nk::include) {
                if (!loader_) throw ParseError("{% include %} found, but no template loader", file.name, n.line);
                auto included = loader_->load(n.text, file.name);
                p_.files.push_back(included->self);
                p_.includes[&n] = included->self.get();
                find_blocks(included->self->body, *included->self);
            }
            find_blocks(n.body, file);
            for (const auto& b : n.branches) find_blocks(b.body, file);
            for (const auto& x : n.excepts) find_blocks(x.body, file);
            find_blocks(n.else_body, file);
            find_blocks(n.finally_body, file);
        }
    }
    // An extends anywhere but the top of a file has no meaning in Tornado's
    // generated code (it fails there too).
    void check_extends(const node_list& body, bool top) {
        for (const node& n : body) {
            if (n.kind == nk::extends && !top)
                throw ParseError("{% extends %} must be at the top level of a template", n.file->name, n.line);
            check_extends(n.body, false);
            for (const auto& b : n.branches) check_extends(b.body, false);
            for (const auto& x : n.excepts) check_extends(x.body, false);
            check_extends(n.else_body, false);
            check_extends(n.finally_body, false);
        }
    }

    program& p_;
    loader_core* loader_;
};

GALE_DECL std::shared_ptr<const program> compile(std::string_view source, std::string name,
                                                 const template_options& options,
                                                 std::shared_ptr<symbol_table> symbols, loader_core* loader) {
    auto file = std::make_shared<parsed_file>();
    file->name = std::move(name);
    file->autoescape = options.autoescape;
    std::string whitespace = default_whitespace(file->name, options);
    if (!valid_whitespace_mode(whitespace)) raise("ValueError", "invalid whitespace mode " + whitespace);
    file_parser(*file, source, whitespace, *symbols).parse();
    auto p = std::make_shared<program>();
    p->symbols = std::move(symbols);
    p->globals = options.globals;
    p->self = std::move(file);
    linker(*p, loader).link();
    return p;
}

GALE_DECL bool relative_to_parent(std::string_view name, std::string_view parent) {
    return !parent.empty() && !parent.starts_with('<') && !parent.starts_with('/') && !name.starts_with('/');
}

class file_loader_core : public loader_core {
public:
    file_loader_core(std::string_view root, template_options o) : loader_core(std::move(o)), root_(abspath(root)) {}
    std::string resolve_path(std::string_view name, std::string_view parent) const override {
        if (!relative_to_parent(name, parent)) return std::string(name);
        std::string dir = dirname(abspath(join(root_, parent)));
        std::string path = abspath(join(dir, name));
        if (path.starts_with(root_)) return path.size() > root_.size() ? path.substr(root_.size() + 1) : std::string();
        return std::string(name);
    }
    std::string read(const std::string& name) const override {
        std::string path = join(root_, name);
        std::ifstream in(path, std::ios::binary);
        if (!in || std::filesystem::is_directory(path))
            raise("FileNotFoundError", "[Errno 2] No such file or directory: '" + path + "'");
        std::ostringstream s;
        s << in.rdbuf();
        return std::move(s).str();
    }

private:
    std::string root_;
};

class dict_loader_core : public loader_core {
public:
    dict_loader_core(std::map<std::string, std::string> files, template_options o)
        : loader_core(std::move(o)), files_(std::move(files)) {}
    std::string resolve_path(std::string_view name, std::string_view parent) const override {
        if (!relative_to_parent(name, parent)) return std::string(name);
        return normpath(join(dirname(parent), name));
    }
    std::string read(const std::string& name) const override {
        auto it = files_.find(name);
        if (it == files_.end()) {
            std::string q;
            append_str_repr(q, name);
            raise("KeyError", q);
        }
        return it->second;
    }

private:
    std::map<std::string, std::string> files_;
};

}  // namespace detail::tmpl

GALE_DECL Template::Template(std::string_view source, std::string name, template_options options)
    : p_(detail::tmpl::compile(source, std::move(name), options, std::make_shared<detail::tmpl::symbol_table>(),
                               nullptr)) {}

GALE_DECL void Template::generate(const template_namespace& ns, std::string& out) const {
    detail::tmpl::renderer(*p_, &ns, out).run();
}

GALE_DECL std::string Template::generate(const json::object& args) const {
    template_namespace ns;
    ns.update_ref(args);
    return generate(ns);
}

GALE_DECL Loader::Loader(std::string_view root_directory, template_options options)
    : BaseLoader(std::make_unique<detail::tmpl::file_loader_core>(root_directory, std::move(options))) {}

GALE_DECL DictLoader::DictLoader(std::map<std::string, std::string> templates, template_options options)
    : BaseLoader(std::make_unique<detail::tmpl::dict_loader_core>(std::move(templates), std::move(options))) {}

}  // namespace gale
