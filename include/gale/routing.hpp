// Tornado's tornado.routing for C++: rules that map a request to a target.
//
//   using gale::PathMatches, gale::HostMatches;
//   gale::ReversibleRuleRouter<std::string> router({
//       {"/", "home"},                                        // a path pattern and a target
//       {R"(/story/([0-9]+))", "story", {}, "story"},         // ... kwargs, name
//       gale::Rule<std::string>(std::make_shared<HostMatches>(R"((www\.)?a\.com)"), "domain"),
//   });
//   gale::route_params params;
//   if (const auto* rule = router.find_rule(request, params))   // first match wins
//       ... rule->target, params.path_args ({"42"}), params.path_kwargs
//   router.reverse_url("story", 42);                          // "/story/42" (nullopt: unknown name)
//
// Synopsis:
//   struct route_params { path_args, path_kwargs; kwarg(name); clear(); }
//   class Matcher                      // virtual match(request, params) -> bool, reverse(args) -> optional<string>
//     AnyMatches()                     // every request
//     HostMatches(host_pattern)        // request.host_name, pattern anchored with '$' as Tornado
//     DefaultHostMatches(default_host, host_regex)  // the application's default_host, unless X-Real-Ip
//     PathMatches(path_pattern)        // request.path; groups -> path_args / path_kwargs, reversible
//       regex(), is_literal(), group_count(), reverse_pattern()
//   struct Rule<Target, Kwargs = no_kwargs> { matcher, target, target_kwargs, name; reverse(args...) }
//   class RuleRouter<Target, Kwargs>   // rules in order: add_rules, add_rule, insert_rule, rules()
//     find_rule(request, params), find_handler(request, params, get_target_delegate)
//   class ReversibleRuleRouter<Target, Kwargs> : RuleRouter  // + named rules, reverse_url(name, args...)
//   url_not_found(name)                // Tornado's KeyError text: "<name> not found in named urls"
//   to_url_arg(value)                  // str(value) as Python: strings as they are, 1.5, True
//
// Path patterns follow Tornado exactly: the pattern gets "$" appended unless
// it ends with "$", and is matched from the start of request.path, which is
// still %-encoded. Groups are either all named or all positional (else
// std::invalid_argument, Tornado's assertion); each matched group is
// url-unescaped without '+' (so "%2F" is "/", and the bytes are left
// undecoded, as Tornado's bytes); a group that took no part is nullopt
// (Tornado's None). Patterns are Python regular expressions compiled with
// PCRE2 (detail/regex.hpp lists the few syntax differences); a bad pattern
// throws detail::regex_error with the position. A pattern with no regex
// syntax at all ("/", "/about", "/favicon\.ico", "^/a/b$") is compared as a
// string, with no call into PCRE2, and matches exactly what the regex would.
//
// reverse(args...) is Tornado's PathMatches.reverse: the pattern is turned
// into a template by Tornado's _find_groups rules (every '(' must open a
// group, the text between groups must be what re.escape produces), so a
// pattern Tornado cannot reverse throws std::invalid_argument("Cannot reverse
// url regex <pattern>"); the wrong number of arguments throws
// std::invalid_argument("required number of arguments not found"). Arguments
// are made strings as Python's str() does and url-escaped without '+'.
//
// Targets are a template parameter: the Application puts its handler
// factories there; a test can use strings. Tornado's RuleRouter decides what
// a target is at run time (a nested router, a delegate, a callable) in
// get_target_delegate; here find_handler takes that step as a function that
// returns something testable (a pointer, an optional): a false result moves
// on to the next rule, as Tornado's None does. reverse_url looks into nested
// routers when the target is (or points to) something with
// reverse_url_args(name, args).
//
// Differences from Tornado:
// - Rules hold the matcher through std::shared_ptr<const Matcher>; a Rule
//   given a pattern string makes a PathMatches (Tornado's tuple form).
// - Rule's target_kwargs type is the Kwargs parameter (default: none);
//   Tornado stores a dict.
// - Reversing with arguments applies Tornado's `_path % args` for "%s" and
//   "%%" only; any other '%' in a pattern with groups throws
//   std::invalid_argument (Python would try a conversion such as "%5s").
// - Several rules with one name: the later one wins, as in Tornado, but
//   nothing is logged (routing sits below the logging of the web layer).
// - A group's bytes are passed on as they came after %-decoding. Tornado
//   sees the request line as latin-1 text and re-encodes a group as UTF-8
//   before decoding, so a raw (not %-encoded) byte 0xE9 reaches a Tornado
//   handler as "\xc3\xa9" and a gale handler as "\xe9". %-encoded bytes,
//   which is what clients send, arrive identically.
// - PathMatches takes a pattern string only (Tornado also accepts a
//   compiled re.Pattern, to which it adds no '$').
//
// Cost: a literal route is one length check and a comparison from the end. A regex route
// first compares its leading literal text ("/api/v1/users/" of
// "/api/v1/users/([0-9]+)") and calls PCRE2's JIT only for a path that
// starts with it, so a table of routes costs a few nanoseconds per rule that
// does not match. Matching allocates nothing beyond the group strings
// (short groups fit in std::string's own buffer; route_params is reused).
#pragma once

#include "detail/config.hpp"
#include "detail/regex.hpp"
#include "httputil.hpp"

#include <charconv>
#include <concepts>
#include <cstddef>
#include <cstdlib>
#include <functional>
#include <initializer_list>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace gale {

// What a matcher found (Tornado's target_params): positional groups, or
// named groups in the pattern's order. Reuse one across requests: clear()
// keeps the memory.
struct route_params {
    std::vector<std::optional<std::string>> path_args;
    std::vector<std::pair<std::string, std::optional<std::string>>> path_kwargs;

    // The named group `name`: nullptr if there is no such group, a pointer
    // to nullopt if it took no part in the match.
    const std::optional<std::string>* kwarg(std::string_view name) const {
        for (const auto& [k, v] : path_kwargs)
            if (k == name) return &v;
        return nullptr;
    }
    void clear() {
        path_args.clear();
        path_kwargs.clear();
    }
};

// Python's str(value) for reverse_url's arguments.
inline std::string to_url_arg(std::string_view value) { return std::string(value); }
inline std::string to_url_arg(const char* value) { return std::string(value); }
inline std::string to_url_arg(const std::string& value) { return value; }
inline std::string to_url_arg(bool value) { return value ? "True" : "False"; }
template <class T>
    requires(std::is_arithmetic_v<T> && !std::is_same_v<T, bool> && !std::is_same_v<T, char>)
std::string to_url_arg(T value) {
    char buffer[64];
    if constexpr (std::is_floating_point_v<T>) {
        // Python's repr: the shortest digits that round-trip, written
        // "1.5e-05" when the exponent is below -4 or at least 16, else in
        // fixed notation with at least one decimal ("2.0", "0.0001").
        if (value != value) return "nan";
        if (value == std::numeric_limits<T>::infinity()) return "inf";
        if (value == -std::numeric_limits<T>::infinity()) return "-inf";
        char* end = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::scientific).ptr;
        std::string_view sci(buffer, static_cast<std::size_t>(end - buffer));
        std::size_t e = sci.find('e');
        int exponent = std::atoi(std::string(sci.substr(e + 1)).c_str());
        if (exponent < -4 || exponent >= 16) return std::string(sci);
        std::string out;
        std::string_view mantissa = sci.substr(0, e);
        if (mantissa.front() == '-') {
            out += '-';
            mantissa.remove_prefix(1);
        }
        std::string digits;
        for (char c : mantissa)
            if (c != '.') digits += c;
        if (exponent < 0) {
            out += "0.";
            out.append(static_cast<std::size_t>(-exponent - 1), '0');
            out += digits;
        } else {
            auto whole = static_cast<std::size_t>(exponent) + 1;
            if (digits.size() <= whole) {
                out += digits;
                out.append(whole - digits.size(), '0');
                out += ".0";
            } else {
                out += digits.substr(0, whole);
                out += '.';
                out += digits.substr(whole);
            }
        }
        return out;
    } else {
        char* end = std::to_chars(buffer, buffer + sizeof buffer, value).ptr;
        return std::string(buffer, end);
    }
}

// The text of Tornado's Application.reverse_url KeyError.
inline std::out_of_range url_not_found(std::string_view name) {
    return std::out_of_range(std::string(name) + " not found in named urls");
}

// Tornado's Matcher: decides whether a request matches and what it passes on.
class Matcher {
public:
    virtual ~Matcher() = default;
    // Whether `request` matches; on a match, fills `params` (cleared first
    // by the router).
    virtual bool match(const HTTPServerRequest& request, route_params& params) const = 0;
    // The URL for `args`, or nullopt if this matcher cannot make URLs.
    virtual std::optional<std::string> reverse(std::span<const std::string> args) const {
        (void)args;
        return std::nullopt;
    }
};

// Matches every request.
class AnyMatches final : public Matcher {
public:
    bool match(const HTTPServerRequest&, route_params&) const override { return true; }
};

// Matches requests whose host_name matches `host_pattern` (a Python regex,
// "$" appended unless present, matched from the start).
class HostMatches final : public Matcher {
public:
    explicit HostMatches(std::string_view host_pattern);
    bool match(const HTTPServerRequest& request, route_params&) const override;
    const std::shared_ptr<const detail::regex>& host_pattern() const noexcept { return regex_; }

private:
    std::shared_ptr<const detail::regex> regex_;
};

// Matches when the application's default_host (read at match time) matches
// `host_pattern`, unless the request has an X-Real-Ip header.
class DefaultHostMatches final : public Matcher {
public:
    DefaultHostMatches(std::function<std::string_view()> default_host,
                       std::shared_ptr<const detail::regex> host_pattern)
        : default_host_(std::move(default_host)), regex_(std::move(host_pattern)) {}
    bool match(const HTTPServerRequest& request, route_params&) const override;

private:
    std::function<std::string_view()> default_host_;
    std::shared_ptr<const detail::regex> regex_;
};

// Matches request.path against a Python regex, Tornado's rules (see the top).
class PathMatches final : public Matcher {
public:
    explicit PathMatches(std::string_view path_pattern);

    bool match(const HTTPServerRequest& request, route_params& params) const override;

    // The matching step alone, for a path given directly.
    bool match_path(std::string_view path, route_params& params) const;

    std::optional<std::string> reverse(std::span<const std::string> args) const override;
    template <class... Args>
    std::string reverse_args(const Args&... args) const {
        std::vector<std::string> v{to_url_arg(args)...};
        return *reverse(v);
    }

    // The compiled pattern (with Tornado's '$'), as Python's regex.pattern.
    const std::string& pattern() const noexcept { return pattern_; }
    // Whether the pattern is matched by string comparison.
    bool is_literal() const noexcept { return literal_.has_value(); }
    std::size_t group_count() const noexcept { return regex_ ? regex_->group_count() : 0; }
    // Tornado's _path: the pattern with "%s" for each group, or nullopt when
    // it cannot be reversed.
    const std::optional<std::string>& reverse_pattern() const noexcept { return reverse_path_; }

private:
    // Routes of one table share their beginnings ("/api/v1/...") and differ
    // near the end of their text, so short texts are compared from the end.
    static bool equal_from_end(const char* a, const char* b, std::size_t n) noexcept;
    static std::optional<std::string> unquote_or_none(const std::optional<std::string_view>& s);
    static bool is_alnum(char c);
    // Tornado's re_unescape: "\x" -> "x" for any non-alphanumeric x; an
    // escaped letter or digit cannot be unescaped.
    static std::optional<std::string> re_unescape(std::string_view s);
    // The string an anchored pattern matches, if it has no regex syntax:
    // an optional leading '^', escaped or plain characters, a final '$'.
    static std::optional<std::string> literal_of(std::string_view p);
    // Text every match of `p` starts with: the plain characters before the
    // first piece of regex syntax, less the last one if a quantifier
    // follows it. Nothing for a pattern with '|' (it may be at the top).
    static std::string required_prefix(std::string_view p);

    // Tornado's PathMatches._find_groups, step by step: strip one '^' and
    // one '$', require as many '(' as groups, split at '(' and keep the
    // unescaped text after each fragment's first ')' behind a "%s".
    void find_groups();

    std::string pattern_;
    std::optional<std::string> literal_;
    std::string prefix_;  // what every match starts with (regex patterns)
    std::optional<detail::regex> regex_;
    std::optional<std::string> reverse_path_;
};

// Rules carry no per-rule arguments unless a Kwargs type is given.
struct no_kwargs {};

// Tornado's Rule: a matcher, a target, arguments for the target, a name.
template <class Target, class Kwargs = no_kwargs>
struct Rule {
    std::shared_ptr<const Matcher> matcher;
    Target target;
    Kwargs target_kwargs{};
    std::string name;

    Rule(std::shared_ptr<const Matcher> matcher_, Target target_, Kwargs kwargs = {}, std::string name_ = {})
        : matcher(std::move(matcher_)), target(std::move(target_)), target_kwargs(std::move(kwargs)),
          name(std::move(name_)) {}
    // A path pattern: Tornado's tuple form, which makes a PathMatches.
    Rule(std::string_view path_pattern, Target target_, Kwargs kwargs = {}, std::string name_ = {})
        : Rule(std::make_shared<const PathMatches>(path_pattern), std::move(target_), std::move(kwargs),
               std::move(name_)) {}
    Rule(const char* path_pattern, Target target_, Kwargs kwargs = {}, std::string name_ = {})
        : Rule(std::string_view(path_pattern), std::move(target_), std::move(kwargs), std::move(name_)) {}

    template <class... Args>
    std::optional<std::string> reverse(const Args&... args) const {
        std::vector<std::string> v{to_url_arg(args)...};
        return matcher->reverse(v);
    }
};

namespace detail {
template <class T>
concept direct_reversible = requires(const T& t, std::string_view n, std::span<const std::string> a) {
    { t.reverse_url_args(n, a) } -> std::convertible_to<std::optional<std::string>>;
};
template <class T>
concept pointer_reversible = requires(const T& t, std::string_view n, std::span<const std::string> a) {
    { t->reverse_url_args(n, a) } -> std::convertible_to<std::optional<std::string>>;
};
}  // namespace detail

// Tornado's RuleRouter: rules tried in order, the first match wins.
template <class Target, class Kwargs = no_kwargs>
class RuleRouter {
public:
    using rule_type = Rule<Target, Kwargs>;

    RuleRouter() = default;
    RuleRouter(std::initializer_list<rule_type> rules) { add_rules(rules); }
    explicit RuleRouter(std::vector<rule_type> rules) { add_rules(std::move(rules)); }
    virtual ~RuleRouter() = default;

    void add_rules(std::initializer_list<rule_type> rules) {
        for (const auto& r : rules) add_rule(r);
    }
    void add_rules(std::vector<rule_type> rules) {
        for (auto& r : rules) add_rule(std::move(r));
    }
    void add_rule(rule_type rule) { rules_.push_back(process_rule(std::move(rule))); }
    // Inserts before position `index` (negative counts from the end, as
    // Python's list.insert: -1 is before the last rule).
    void insert_rule(std::ptrdiff_t index, rule_type rule) {
        auto n = static_cast<std::ptrdiff_t>(rules_.size());
        if (index < 0) index = index + n < 0 ? 0 : index + n;
        if (index > n) index = n;
        rules_.insert(rules_.begin() + index, process_rule(std::move(rule)));
    }
    const std::vector<rule_type>& rules() const noexcept { return rules_; }

    // The first rule whose matcher matches, with what it found in `params`;
    // nullptr when none does.
    const rule_type* find_rule(const HTTPServerRequest& request, route_params& params) const {
        for (const auto& rule : rules_) {
            params.clear();
            if (rule.matcher->match(request, params)) return &rule;
        }
        params.clear();
        return nullptr;
    }

    // Tornado's find_handler: for each matching rule in order,
    // get_target_delegate(rule, params); the first result that converts to
    // true is returned, else a value-initialised result.
    template <class F>
    auto find_handler(const HTTPServerRequest& request, route_params& params, F&& get_target_delegate) const
        -> std::invoke_result_t<F&, const rule_type&, route_params&> {
        for (const auto& rule : rules_) {
            params.clear();
            if (!rule.matcher->match(request, params)) continue;
            auto delegate = get_target_delegate(rule, params);
            if (delegate) return delegate;
        }
        params.clear();
        return {};
    }

protected:
    // Tornado's process_rule hook: each rule passes here when added.
    virtual rule_type process_rule(rule_type rule) { return rule; }

    std::vector<rule_type> rules_;
};

// Tornado's ReversibleRuleRouter: named rules make URLs.
template <class Target, class Kwargs = no_kwargs>
class ReversibleRuleRouter : public RuleRouter<Target, Kwargs> {
    using base = RuleRouter<Target, Kwargs>;

public:
    using rule_type = typename base::rule_type;

    ReversibleRuleRouter() = default;
    ReversibleRuleRouter(std::initializer_list<rule_type> rules) { this->add_rules(rules); }
    explicit ReversibleRuleRouter(std::vector<rule_type> rules) { this->add_rules(std::move(rules)); }

    // The URL of the rule named `name` for `args` (each made a string as
    // Python's str() and url-escaped), looking into nested routers after the
    // named rules; nullopt if no rule has that name. Throws
    // std::invalid_argument when the pattern cannot be reversed or the count
    // of arguments is wrong.
    template <class... Args>
    std::optional<std::string> reverse_url(std::string_view name, const Args&... args) const {
        std::vector<std::string> v{to_url_arg(args)...};
        return reverse_url_args(name, v);
    }

    std::optional<std::string> reverse_url_args(std::string_view name, std::span<const std::string> args) const {
        for (const auto& [n, matcher] : named_)
            if (n == name) return matcher->reverse(args);
        for (const auto& rule : this->rules_) {
            if constexpr (detail::direct_reversible<Target>) {
                if (auto url = rule.target.reverse_url_args(name, args)) return url;
            } else if constexpr (detail::pointer_reversible<Target>) {
                if (rule.target)
                    if (auto url = rule.target->reverse_url_args(name, args)) return url;
            }
        }
        return std::nullopt;
    }

protected:
    // Records the rule's name; a later rule of the same name replaces an
    // earlier one, as Tornado's dict.
    rule_type process_rule(rule_type rule) override {
        rule = base::process_rule(std::move(rule));
        if (!rule.name.empty()) {
            bool replaced = false;
            for (auto& entry : named_)
                if (entry.first == rule.name) {
                    entry.second = rule.matcher;
                    replaced = true;
                }
            if (!replaced) named_.emplace_back(rule.name, rule.matcher);
        }
        return rule;
    }

private:
    std::vector<std::pair<std::string, std::shared_ptr<const Matcher>>> named_;
};

}  // namespace gale

#if GALE_HEADER_ONLY
#include "impl/routing.ipp"
#endif
