// Definitions for routing.hpp; see detail/config.hpp.
#pragma once

#include "../routing.hpp"

#include <cstring>

namespace gale {

namespace detail {
// Tornado's convention for str patterns: "$" appended unless it ends with "$".
GALE_DECL std::string anchor_pattern(std::string_view pattern) {
    std::string p(pattern);
    if (p.empty() || p.back() != '$') p += '$';
    return p;
}
}  // namespace detail

GALE_DECL HostMatches::HostMatches(std::string_view host_pattern)
    : regex_(std::make_shared<const detail::regex>(detail::anchor_pattern(host_pattern))) {}

GALE_DECL bool HostMatches::match(const HTTPServerRequest& request, route_params&) const {
    return regex_->matches(request.host_name);
}

GALE_DECL bool DefaultHostMatches::match(const HTTPServerRequest& request, route_params&) const {
    if (request.headers.contains("X-Real-Ip")) return false;
    return regex_->matches(default_host_());
}

GALE_DECL PathMatches::PathMatches(std::string_view path_pattern) : pattern_(detail::anchor_pattern(path_pattern)) {
    literal_ = literal_of(pattern_);
    if (!literal_) {
        regex_.emplace(pattern_);
        prefix_ = required_prefix(pattern_);
        const auto& names = regex_->group_names();
        if (!names.empty() && names.size() != regex_->group_count())
            throw std::invalid_argument("groups in url regexes must either be all named or all positional: '" +
                                        pattern_ + "'");
    }
    find_groups();
}

GALE_DECL bool PathMatches::match(const HTTPServerRequest& request, route_params& params) const {
    return match_path(request.path, params);
}

GALE_DECL bool PathMatches::match_path(std::string_view path, route_params& params) const {
    if (literal_) {
        // '$' also matches before a final newline, as in Python.
        const std::string& lit = *literal_;
        return (path.size() == lit.size() || (path.size() == lit.size() + 1 && path.back() == '\n')) &&
               equal_from_end(path.data(), lit.data(), lit.size());
    }
    // Most routes start with text of their own ("/api/v1/users/"): a
    // path without it is refused before PCRE2 is called.
    if (path.size() < prefix_.size() || !equal_from_end(path.data(), prefix_.data(), prefix_.size())) return false;
    if (regex_->group_count() == 0) return regex_->matches(path);
    thread_local std::vector<std::optional<std::string_view>> groups;
    if (!regex_->match(path, groups)) return false;
    const auto& names = regex_->group_names();
    if (names.empty()) {
        params.path_args.reserve(groups.size());
        for (const auto& g : groups) params.path_args.push_back(unquote_or_none(g));
    } else {
        params.path_kwargs.reserve(names.size());
        for (const auto& [name, number] : names)
            params.path_kwargs.emplace_back(name, unquote_or_none(groups[number - 1]));
    }
    return true;
}

GALE_DECL std::optional<std::string> PathMatches::reverse(std::span<const std::string> args) const {
    if (!reverse_path_) throw std::invalid_argument("Cannot reverse url regex " + pattern_);
    if (args.size() != group_count()) throw std::invalid_argument("required number of arguments not found");
    if (args.empty()) return *reverse_path_;
    // Python's `_path % tuple(args)`, for the conversions a route can hold.
    const std::string& f = *reverse_path_;
    std::string url;
    std::size_t next = 0;
    for (std::size_t i = 0; i < f.size(); ++i) {
        if (f[i] != '%') {
            url += f[i];
            continue;
        }
        if (i + 1 < f.size() && f[i + 1] == '%') {
            url += '%';
        } else if (i + 1 < f.size() && f[i + 1] == 's') {
            if (next == args.size()) throw std::invalid_argument("not enough arguments for format string");
            url += url_escape(args[next++], false);
        } else {
            throw std::invalid_argument("unsupported format character in url pattern " + pattern_);
        }
        ++i;
    }
    if (next != args.size()) throw std::invalid_argument("not all arguments converted during string formatting");
    return url;
}

GALE_DECL bool PathMatches::equal_from_end(const char* a, const char* b, std::size_t n) noexcept {
    if (n > 32) return a[n - 1] == b[n - 1] && std::memcmp(a, b, n) == 0;
    while (n > 0) {
        --n;
        if (a[n] != b[n]) return false;
    }
    return true;
}

GALE_DECL std::optional<std::string> PathMatches::unquote_or_none(const std::optional<std::string_view>& s) {
    if (!s) return std::nullopt;
    return url_unescape_bytes(*s, false);
}

GALE_DECL bool PathMatches::is_alnum(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

GALE_DECL std::optional<std::string> PathMatches::re_unescape(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 1 < s.size()) {
            if (is_alnum(s[i + 1])) return std::nullopt;
            out += s[++i];
        } else {
            out += s[i];
        }
    }
    return out;
}

GALE_DECL std::optional<std::string> PathMatches::literal_of(std::string_view p) {
    if (p.empty() || p.back() != '$') return std::nullopt;
    p.remove_suffix(1);
    if (!p.empty() && p.front() == '^') p.remove_prefix(1);
    std::string out;
    out.reserve(p.size());
    for (std::size_t i = 0; i < p.size(); ++i) {
        char c = p[i];
        if (c == '\\') {
            // Only "\<punctuation>" is a plain character; the final '$'
            // was escaped if a backslash ends what is left.
            if (i + 1 >= p.size()) return std::nullopt;
            char n = p[i + 1];
            if (is_alnum(n) || static_cast<unsigned char>(n) >= 0x80 || n == ' ' || n == '\n' || n == '\t')
                return std::nullopt;
            out += n;
            ++i;
            continue;
        }
        if (std::string_view(".^$*+?{}[]()|#").find(c) != std::string_view::npos) return std::nullopt;
        if (static_cast<unsigned char>(c) >= 0x80) return std::nullopt;  // transcoding: leave it to the regex
        out += c;
    }
    return out;
}

GALE_DECL std::string PathMatches::required_prefix(std::string_view p) {
    std::string out;
    if (p.find('|') != std::string_view::npos) return out;
    if (!p.empty() && p.front() == '^') p.remove_prefix(1);
    for (std::size_t i = 0; i < p.size(); ++i) {
        char c = p[i];
        if (c == '\\' && i + 1 < p.size()) {
            char n = p[i + 1];
            if (is_alnum(n) || static_cast<unsigned char>(n) >= 0x80 || n == ' ' || n == '\n' || n == '\t') break;
            out += n;
            ++i;
            continue;
        }
        if (static_cast<unsigned char>(c) >= 0x80 || c == '\\' ||
            std::string_view(".^$*+?{}[]()|#").find(c) != std::string_view::npos) {
            if ((c == '*' || c == '?' || c == '{') && !out.empty()) out.pop_back();
            break;
        }
        out += c;
    }
    return out;
}

GALE_DECL void PathMatches::find_groups() {
    std::string_view p = pattern_;
    if (!p.empty() && p.front() == '^') p.remove_prefix(1);
    if (!p.empty() && p.back() == '$') p.remove_suffix(1);
    std::size_t opens = 0;
    for (char c : p) opens += c == '(';
    if (group_count() != opens) return;
    std::string path;
    std::size_t start = 0;
    for (;;) {
        std::size_t end = p.find('(', start);
        std::string_view fragment = p.substr(start, end == std::string_view::npos ? p.npos : end - start);
        std::size_t close = fragment.find(')');
        std::optional<std::string> text =
            re_unescape(close == std::string_view::npos ? fragment : fragment.substr(close + 1));
        if (!text) return;
        if (close != std::string_view::npos) path += "%s";
        path += *text;
        if (end == std::string_view::npos) break;
        start = end + 1;
    }
    reverse_path_ = std::move(path);
}

}  // namespace gale
