// Definitions for detail/regex.hpp; see detail/config.hpp.
#pragma once

#include "../detail/regex.hpp"

#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH 8
#endif
#include <pcre2.h>

#include <cstdint>
#include <new>

namespace gale::detail {

GALE_DECL regex::regex(std::string_view pattern) : pattern_(pattern) {
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

GALE_DECL void regex::code_deleter::operator()(pcre2_real_code_8* c) const noexcept { pcre2_code_free_8(c); }

struct regex::match_data_holder {
    pcre2_match_data_8* data = nullptr;
    std::uint32_t pairs = 0;
    match_data_holder() = default;
    match_data_holder(const match_data_holder&) = delete;
    match_data_holder& operator=(const match_data_holder&) = delete;
    ~match_data_holder() { pcre2_match_data_free_8(data); }
};

GALE_DECL regex::match_data_holder& regex::thread_match_data() {
    thread_local match_data_holder holder;
    return holder;
}

GALE_DECL bool regex::match(std::string_view subject, std::vector<std::optional<std::string_view>>& groups) const {
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

GALE_DECL int regex::run(std::string_view subject) const {
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

GALE_DECL std::string regex::to_latin1(const std::string& p) {
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

}  // namespace gale::detail
