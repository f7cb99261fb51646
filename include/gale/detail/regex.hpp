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

#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH 8
#endif
#include <pcre2.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

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
    explicit regex(std::string_view pattern) : pattern_(pattern) {
        std::string latin1 = to_latin1(pattern_);
        int error = 0;
        PCRE2_SIZE offset = 0;
        pcre2_code_8* code = pcre2_compile_8(reinterpret_cast<PCRE2_SPTR8>(latin1.data()), latin1.size(),
                                             PCRE2_ANCHORED | PCRE2_UCP, &error, &offset, nullptr);
        if (code == nullptr) {
            PCRE2_UCHAR8 buffer[256];
            int n = pcre2_get_error_message_8(error, buffer, sizeof buffer);
            std::string message = n > 0 ? std::string(reinterpret_cast<const char*>(buffer), static_cast<std::size_t>(n))
                                        : std::string("invalid pattern");
            throw regex_error(message, pattern_, offset);
        }
        code_.reset(code);
        jit_ = pcre2_jit_compile_8(code, PCRE2_JIT_COMPLETE) == 0;
        std::uint32_t count = 0;
        pcre2_pattern_info_8(code, PCRE2_INFO_CAPTURECOUNT, &count);
        group_count_ = count;
        std::uint32_t name_count = 0, entry_size = 0;
        PCRE2_SPTR8 table = nullptr;
        pcre2_pattern_info_8(code, PCRE2_INFO_NAMECOUNT, &name_count);
        if (name_count > 0) {
            pcre2_pattern_info_8(code, PCRE2_INFO_NAMEENTRYSIZE, &entry_size);
            pcre2_pattern_info_8(code, PCRE2_INFO_NAMETABLE, &table);
            for (std::uint32_t i = 0; i < name_count; ++i) {
                PCRE2_SPTR8 entry = table + static_cast<std::size_t>(i) * entry_size;
                std::size_t number = (static_cast<std::size_t>(entry[0]) << 8) | entry[1];
                names_.emplace_back(std::string(reinterpret_cast<const char*>(entry + 2)), number);
            }
            // The table is sorted by name; Python's groupdict() follows group numbers.
            for (std::size_t i = 1; i < names_.size(); ++i)
                for (std::size_t j = i; j > 0 && names_[j - 1].second > names_[j].second; --j)
                    std::swap(names_[j - 1], names_[j]);
        }
    }

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
    bool match(std::string_view subject, std::vector<std::optional<std::string_view>>& groups) const {
        int rc = run(subject);
        if (rc < 0) return false;
        groups.assign(group_count_, std::nullopt);
        const PCRE2_SIZE* ov = pcre2_get_ovector_pointer_8(thread_match_data().data);
        // rc is one more than the highest group that matched; later ones are unset.
        for (std::size_t i = 1; i < static_cast<std::size_t>(rc) && i <= group_count_; ++i) {
            if (ov[2 * i] == PCRE2_UNSET) continue;
            groups[i - 1] = subject.substr(ov[2 * i], ov[2 * i + 1] - ov[2 * i]);
        }
        return true;
    }

private:
    struct code_deleter {
        void operator()(pcre2_code_8* c) const noexcept { pcre2_code_free_8(c); }
    };
    // One match data block per thread, grown to the largest group count.
    struct match_data_holder {
        pcre2_match_data_8* data = nullptr;
        std::uint32_t pairs = 0;
        match_data_holder() = default;
        match_data_holder(const match_data_holder&) = delete;
        match_data_holder& operator=(const match_data_holder&) = delete;
        ~match_data_holder() { pcre2_match_data_free_8(data); }
    };
    static match_data_holder& thread_match_data() {
        thread_local match_data_holder holder;
        return holder;
    }

    // The return code of pcre2_(jit_)match: < 0 for no match.
    int run(std::string_view subject) const {
        match_data_holder& md = thread_match_data();
        std::uint32_t pairs = static_cast<std::uint32_t>(group_count_) + 1;
        if (md.pairs < pairs) {
            pcre2_match_data_8* data = pcre2_match_data_create_8(pairs < 16 ? 16 : pairs, nullptr);
            if (data == nullptr) throw std::bad_alloc();
            pcre2_match_data_free_8(md.data);
            md.data = data;
            md.pairs = pairs < 16 ? 16 : pairs;
        }
        // An empty view may have a null data pointer, which PCRE2 refuses.
        PCRE2_SPTR8 s = subject.empty() ? reinterpret_cast<PCRE2_SPTR8>("")
                                        : reinterpret_cast<PCRE2_SPTR8>(subject.data());
        int rc = jit_ ? pcre2_jit_match_8(code_.get(), s, subject.size(), 0, 0, md.data, nullptr)
                      : pcre2_match_8(code_.get(), s, subject.size(), 0, 0, md.data, nullptr);
        if (rc < 0 && rc != PCRE2_ERROR_NOMATCH) {
            // Resource limits (match limit, JIT stack): Python would keep
            // going; report instead of pretending there was no match.
            PCRE2_UCHAR8 buffer[256];
            int n = pcre2_get_error_message_8(rc, buffer, sizeof buffer);
            throw std::runtime_error("regex match failed for pattern '" + pattern_ + "': " +
                                     (n > 0 ? std::string(reinterpret_cast<const char*>(buffer),
                                                          static_cast<std::size_t>(n))
                                            : std::string("error")));
        }
        if (rc == 0) rc = static_cast<int>(md.pairs);  // ovector too small: cannot happen, sized above
        return rc;
    }

    // UTF-8 -> latin-1, one byte per character so PCRE2's offsets are
    // Python's character positions (but for the one below); \Z becomes \z,
    // and "{,n}" outside a class becomes "{0,n}" (one character longer). A byte that is not valid
    // UTF-8 is kept as it is.
    static std::string to_latin1(const std::string& p) {
        std::string out;
        out.reserve(p.size());
        std::size_t chars = 0;
        bool escaped = false, in_class = false;
        std::size_t class_start = 0;
        for (std::size_t i = 0; i < p.size(); ++chars) {
            auto c = static_cast<unsigned char>(p[i]);
            if (c < 0x80) {
                if (!escaped && !in_class && c == '{' && i + 1 < p.size() && p[i + 1] == ',') {
                    // Python reads "{,n}" as "{0,n}"; PCRE2 10.42 as text.
                    std::size_t j = i + 2;
                    while (j < p.size() && p[j] >= '0' && p[j] <= '9') ++j;
                    if (j < p.size() && p[j] == '}') {
                        out += "{0";
                        ++i;
                        continue;
                    }
                }
                if (!escaped && c == '[' && !in_class) {
                    in_class = true;
                    class_start = i;
                } else if (!escaped && c == ']' && in_class && i > class_start + 1 &&
                           !(i == class_start + 2 && p[class_start + 1] == '^')) {
                    in_class = false;  // a ']' first in a class is a character
                }
                out += (escaped && c == 'Z') ? 'z' : static_cast<char>(c);
                escaped = !escaped && c == '\\';
                ++i;
                continue;
            }
            escaped = false;
            std::size_t len = c >= 0xF0 && c < 0xF5 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 0;
            bool valid = len > 0 && i + len <= p.size();
            std::uint32_t cp = len == 2 ? (c & 0x1Fu) : len == 3 ? (c & 0x0Fu) : (c & 0x07u);
            for (std::size_t k = 1; valid && k < len; ++k) {
                auto cc = static_cast<unsigned char>(p[i + k]);
                if ((cc & 0xC0) != 0x80) valid = false;
                cp = (cp << 6) | (cc & 0x3Fu);
            }
            if (!valid) {
                out += static_cast<char>(c);
                ++i;
                continue;
            }
            if (cp > 0xFF)
                throw regex_error("character beyond U+00FF cannot match a latin-1 request path", p, chars);
            out += static_cast<char>(static_cast<unsigned char>(cp));
            i += len;
        }
        return out;
    }

    std::string pattern_;
    std::unique_ptr<pcre2_code_8, code_deleter> code_;
    std::size_t group_count_ = 0;
    std::vector<std::pair<std::string, std::size_t>> names_;
    bool jit_ = false;
};

}  // namespace gale::detail
