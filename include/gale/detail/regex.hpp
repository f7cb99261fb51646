// A thin wrapper over PCRE2 for Python-syntax regular expressions, used by
// routing.hpp for route and host patterns. Internal: users write patterns,
// never this class.
//
//   gale::detail::regex re(R"(/story/(?P<id>[0-9]+)$)");   // throws regex_error
//   re.group_count();                    // 1
//   re.group_names();                    // {{"id", 1}}
//   std::vector<std::optional<std::string_view>> groups;
//   if (re.match("/story/42", groups)) ...   // groups[0] == "42"
//   re.matches("/story/x");              // false (no groups captured)
//
// Semantics are Python's re.match on Tornado's request.path and host_name:
// anchored at the start (PCRE2_ANCHORED), not at the end ('$' is in the
// pattern, and as in Python it also matches before a final "\n"). Tornado
// decodes the request line and headers as latin-1, so its patterns see one
// character per byte; gale matches bytes the same way: PCRE2's 8-bit
// library without UTF, with PCRE2_UCP so that \w, \d, \b and (?i) treat bytes
// 0x80-0xFF as the latin-1 characters Python sees. A pattern is written in
// UTF-8 and is transcoded to latin-1 before compiling ("/café" matches the
// byte 0xE9, exactly where Python's "/café" matches).
//
// Compiled once, JIT-compiled when PCRE2 has a JIT for this machine
// (interpreted otherwise). Matching allocates nothing: the match data is one
// buffer per thread, grown to the largest group count seen and reused.
// A regex is immutable and may be shared between threads.
//
// Differences from Python's re that remain:
// - A character above U+00FF in a pattern is refused (regex_error): it can
//   never match a latin-1 path (Python compiles it and never matches).
// - \s follows Unicode's White_Space in the latin-1 range (Python also counts
//   \x1c-\x1f as whitespace). \Z is rewritten to PCRE2's \z (Python's \Z is
//   the very end); \u, \U and \N{...} escapes are not supported; group names
//   are at most 32 bytes (PCRE2's limit); "{,n}" is rewritten "{0,n}" as
//   Python reads it; possessive quantifiers and atomic
//   groups, which Python 3.11 added, work here too.
// - Error messages are PCRE2's text with Python's " at position N" (N counts
//   characters of the pattern, from 0; PCRE2 reports where it noticed the
//   error, e.g. the end of the pattern for a missing ')', where Python names
//   the open parenthesis).
#pragma once

#include "config.hpp"

#include <cstddef>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// PCRE2's compiled pattern (8-bit library); <pcre2.h> itself is included by
// impl/regex.ipp only.
struct pcre2_real_code_8;

namespace gale::detail {

// A pattern that does not compile (Python's re.error). what() is
// "<reason> at position <pos> in pattern '<pattern>'".
class regex_error : public std::invalid_argument {
public:
    regex_error(const std::string& message, std::string pattern, std::size_t pos)
        : std::invalid_argument(message + " at position " + std::to_string(pos) + " in pattern '" + pattern + "'"),
          pattern_(std::move(pattern)), pos_(pos) {}
    const std::string& pattern() const noexcept { return pattern_; }
    std::size_t pos() const noexcept { return pos_; }

private:
    std::string pattern_;
    std::size_t pos_;
};

class regex {
public:
    // Compiles `pattern` (Python syntax, UTF-8), anchored at the start.
    explicit regex(std::string_view pattern);

    // The pattern as given.
    const std::string& pattern() const noexcept { return pattern_; }
    // Python's regex.groups: the number of capturing groups.
    std::size_t group_count() const noexcept { return group_count_; }
    // Python's regex.groupindex, in group-number order: (name, number from 1).
    const std::vector<std::pair<std::string, std::size_t>>& group_names() const noexcept { return names_; }
    // Whether PCRE2 compiled the pattern to machine code.
    bool jit() const noexcept { return jit_; }

    // Python's bool(regex.match(subject)).
    bool matches(std::string_view subject) const { return run(subject) >= 0; }

    // Python's regex.match(subject).groups(): on a match, `groups` holds one
    // entry per group (nullopt for a group that did not take part), as views
    // into `subject`. `groups` keeps its capacity from call to call.
    bool match(std::string_view subject, std::vector<std::optional<std::string_view>>& groups) const;

private:
    struct code_deleter {
        void operator()(pcre2_real_code_8* c) const noexcept;
    };
    // One match data block per thread, grown to the largest group count.
    struct match_data_holder;
    static match_data_holder& thread_match_data();

    // The return code of pcre2_(jit_)match: < 0 for no match.
    int run(std::string_view subject) const;

    // UTF-8 -> latin-1, one byte per character so PCRE2's offsets are
    // Python's character positions (but for the one below); \Z becomes \z,
    // and "{,n}" outside a class becomes "{0,n}" (one character longer). A byte that is not valid
    // UTF-8 is kept as it is.
    static std::string to_latin1(const std::string& p);

    std::string pattern_;
    std::unique_ptr<pcre2_real_code_8, code_deleter> code_;
    std::size_t group_count_ = 0;
    std::vector<std::pair<std::string, std::size_t>> names_;
    bool jit_ = false;
};

}  // namespace gale::detail

#if GALE_HEADER_ONLY
#include "../impl/regex.ipp"
#endif
