// Definitions for locale.hpp: compiled in every translation unit that
// includes it in header-only mode, once (by <gale/src.hpp>) in separate
// compilation mode; see detail/config.hpp. The CSV reader and its decoding,
// the registry's members, date formatting and Accept-Language parsing
// live here.
#pragma once

#include "../locale.hpp"

#include <charconv>
#include <cmath>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>

#include <fmt/core.h>

namespace gale::locale {

namespace detail {

GALE_DECL bool is_ascii_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r') || c == '\x1c' || c == '\x1d' || c == '\x1e' || c == '\x1f'; }

GALE_DECL std::string_view strip(std::string_view s) {
    while (!s.empty() && is_ascii_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_ascii_space(s.back())) s.remove_suffix(1);
    return s;
}

GALE_DECL void append_utf8(std::string& out, char32_t cp) {
    if (cp < 0x80) {
        out += char(cp);
    } else if (cp < 0x800) {
        out += char(0xC0 | (cp >> 6));
        out += char(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += char(0xE0 | (cp >> 12));
        out += char(0x80 | ((cp >> 6) & 0x3F));
        out += char(0x80 | (cp & 0x3F));
    } else {
        out += char(0xF0 | (cp >> 18));
        out += char(0x80 | ((cp >> 12) & 0x3F));
        out += char(0x80 | ((cp >> 6) & 0x3F));
        out += char(0x80 | (cp & 0x3F));
    }
}

[[noreturn]] GALE_DECL void bad_file(const std::string& file, std::size_t line, std::string_view what) {
    throw std::runtime_error(fmt::format("{} line {}: {}", file, line, what));
}

GALE_DECL std::size_t line_at(std::string_view text, std::size_t offset) {
    return 1 + std::size_t(std::count(text.begin(), text.begin() + std::ptrdiff_t(offset), '\n'));
}

// The byte length of the UTF-8 sequence at s[i], or 0 when it is invalid.
GALE_DECL std::size_t utf8_sequence(std::string_view s, std::size_t i) {
    auto byte = [&](std::size_t k) { return k < s.size() ? static_cast<unsigned char>(s[k]) : 0u; };
    unsigned b0 = byte(i);
    if (b0 < 0x80) return 1;
    auto cont = [&](std::size_t k) { return (byte(k) & 0xC0) == 0x80; };
    if (b0 >= 0xC2 && b0 <= 0xDF) return cont(i + 1) ? 2 : 0;
    if (b0 >= 0xE0 && b0 <= 0xEF) {
        unsigned b1 = byte(i + 1);
        if ((b0 == 0xE0 && b1 < 0xA0) || (b0 == 0xED && b1 > 0x9F)) return 0;
        return cont(i + 1) && cont(i + 2) ? 3 : 0;
    }
    if (b0 >= 0xF0 && b0 <= 0xF4) {
        unsigned b1 = byte(i + 1);
        if ((b0 == 0xF0 && b1 < 0x90) || (b0 == 0xF4 && b1 > 0x8F)) return 0;
        return cont(i + 1) && cont(i + 2) && cont(i + 3) ? 4 : 0;
    }
    return 0;
}

GALE_DECL void check_utf8(std::string_view text, const std::string& file) {
    for (std::size_t i = 0; i < text.size();) {
        std::size_t n = utf8_sequence(text, i);
        if (n == 0) bad_file(file, line_at(text, i), "invalid UTF-8");
        i += n;
    }
}

// UTF-16 (after its BOM) to UTF-8; a lone surrogate is an error.
GALE_DECL std::string utf16_to_utf8(std::string_view bytes, bool big_endian, const std::string& file) {
    std::string out;
    std::size_t line = 1;
    auto unit = [&](std::size_t i) {
        auto b = [&](std::size_t k) { return char16_t(static_cast<unsigned char>(bytes[k])); };
        return big_endian ? char16_t(b(i) << 8 | b(i + 1)) : char16_t(b(i + 1) << 8 | b(i));
    };
    std::size_t i = 0;
    for (; i + 1 < bytes.size(); i += 2) {
        char32_t cp = unit(i);
        if (cp >= 0xD800 && cp <= 0xDBFF && i + 3 < bytes.size() && unit(i + 2) >= 0xDC00 && unit(i + 2) <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (unit(i + 2) - 0xDC00);
            i += 2;
        } else if (cp >= 0xD800 && cp <= 0xDFFF) {
            bad_file(file, line, "invalid UTF-16");
        }
        if (cp == '\n') ++line;
        append_utf8(out, cp);
    }
    if (i < bytes.size()) bad_file(file, line, "truncated UTF-16");
    return out;
}

// A CSV file's text as UTF-8: UTF-16 by its BOM, otherwise UTF-8 with an
// optional BOM (Python's "utf-8-sig").
GALE_DECL std::string decode_file(std::string bytes, const std::string& file) {
    if (bytes.starts_with("\xFF\xFE") || bytes.starts_with("\xFE\xFF"))
        return utf16_to_utf8(std::string_view(bytes).substr(2), bytes[0] == '\xFE', file);
    if (bytes.starts_with("\xEF\xBB\xBF")) bytes.erase(0, 3);
    check_utf8(bytes, file);
    return bytes;
}

// Python's csv.reader in the "excel" dialect, as leniently as Python reads
// it, over text whose line ends are already "\n": calls on_row(fields,
// record_number) for each record (an empty line is an empty record).
template <class OnRow>
void read_csv(std::string_view text, OnRow on_row) {
    std::vector<std::string> row;
    std::string field;
    std::size_t record = 0, i = 0;
    while (i < text.size()) {
        row.clear();
        ++record;
        if (text[i] == '\n') {
            ++i;
            on_row(row, record);
            continue;
        }
        for (bool more = true; more;) {
            field.clear();
            if (i < text.size() && text[i] == '"') {
                for (++i; i < text.size(); ++i) {
                    if (text[i] == '"' && text.compare(i, 2, "\"\"") != 0) break;
                    if (text[i] == '"') ++i;  // a doubled quote
                    field += text[i];
                }
                if (i < text.size()) ++i;  // the closing quote
            }
            // Unquoted text, or text after a closing quote (kept, as Python does).
            while (i < text.size() && text[i] != ',' && text[i] != '\n') field += text[i++];
            row.push_back(field);
            more = i < text.size() && text[i] == ',';
            if (i < text.size()) ++i;
        }
        on_row(row, record);
    }
}

// Python's universal newlines: "\r\n" and "\r" read as "\n".
GALE_DECL std::string universal_newlines(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '\r') {
            out += text[i];
            continue;
        }
        out += '\n';
        if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
    }
    return out;
}

GALE_DECL bool valid_locale_code(std::string_view code) {
    auto letters = [&](std::size_t& i, bool upper) {
        std::size_t start = i;
        while (i < code.size() && (upper ? (code[i] >= 'A' && code[i] <= 'Z') : (code[i] >= 'a' && code[i] <= 'z'))) ++i;
        return i > start;
    };
    std::size_t i = 0;
    if (!letters(i, false)) return false;
    if (i == code.size()) return true;
    if (code[i] != '_') return false;
    ++i;
    return letters(i, true) && i == code.size();
}

GALE_DECL std::string read_bytes(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error(fmt::format("{}: cannot be read", path.string()));
    std::ostringstream s;
    s << in.rdbuf();
    return std::move(s).str();
}

GALE_DECL translations load_file(const std::filesystem::path& path) {
    std::string file = path.filename().string();
    std::string text = universal_newlines(decode_file(read_bytes(path), path.string()));
    translations result;
    // Tornado counts records ("line" in its message), not physical lines.
    read_csv(text, [&](const std::vector<std::string>& row, std::size_t record) {
        if (row.size() < 2) return;
        std::string_view indicator = row.size() > 2 ? strip(row[2]) : std::string_view{};
        if (indicator.empty()) indicator = "unknown";
        message_map* table = indicator == "unknown"    ? &result.unknown
                             : indicator == "singular" ? &result.singular
                             : indicator == "plural"   ? &result.plural
                                                       : nullptr;
        if (!table) {
            gale::detail::log(gale::detail::gen_log, gale::detail::log_level::error, "locale", __LINE__,
                              "Unrecognized plural indicator '{}' in {} line {}", indicator, file, record);
            return;
        }
        (*table)[std::string(strip(row[0]))] = std::string(strip(row[1]));
    });
    return result;
}

GALE_DECL registry& registry::instance() {
    static registry r;
    return r;
}

GALE_DECL void registry::load(const std::filesystem::path& directory) {
    std::map<std::string, std::shared_ptr<const translations>, std::less<>> loaded;
    for (const auto& entry : std::filesystem::directory_iterator(directory)) {
        std::string file = entry.path().filename().string();
        if (!file.ends_with(".csv") || !entry.is_regular_file()) continue;
        std::string_view code = std::string_view(file).substr(0, file.size() - 4);
        if (!valid_locale_code(code)) {
            gale::detail::log(gale::detail::gen_log, gale::detail::log_level::error, "locale", __LINE__,
                              "Unrecognized locale '{}' (path: {})", code, entry.path().string());
            continue;
        }
        loaded[std::string(code)] = std::make_shared<const translations>(load_file(entry.path()));
    }
    std::lock_guard lock(mutex_);
    translations_ = std::move(loaded);
    for (auto& [code, locale] : cache_) retired_.push_back(std::move(locale));
    cache_.clear();
}

GALE_DECL void registry::set_default(std::string_view code) {
    std::lock_guard lock(mutex_);
    default_ = code;
}

GALE_DECL std::string registry::default_code() const {
    std::lock_guard lock(mutex_);
    return default_;
}

GALE_DECL std::vector<std::string> registry::supported() const {
    std::lock_guard lock(mutex_);
    std::vector<std::string> codes;
    for (const auto& [code, table] : translations_) codes.push_back(code);
    if (!translations_.contains(default_)) codes.insert(std::ranges::lower_bound(codes, default_), default_);
    return codes;
}

GALE_DECL const Locale& registry::get(std::string_view code) {
    std::lock_guard lock(mutex_);
    return get_locked(code);
}

GALE_DECL bool registry::supported_locked(std::string_view code) const {
    return code == default_ || translations_.find(code) != translations_.end();
}

GALE_DECL const Locale& registry::get_locked(std::string_view code) {
    if (auto it = cache_.find(code); it != cache_.end()) return *it->second;
    if (!supported_locked(code)) throw std::out_of_range(fmt::format("unsupported locale '{}'", code));
    auto table = translations_.find(code);
    std::unique_ptr<const Locale> locale(new Locale(
        std::string(code), table != translations_.end() ? table->second : std::make_shared<const translations>()));
    const Locale& made = *locale;
    cache_.emplace(std::string(code), std::move(locale));
    return made;
}

// Python's float() on a q-value; nullopt where it raises ValueError.
GALE_DECL std::optional<double> parse_python_float(std::string_view text) {
    text = strip(text);
    if (text.starts_with('+')) {
        text.remove_prefix(1);
        if (text.starts_with('-') || text.starts_with('+')) return std::nullopt;
    }
    double value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

}  // namespace detail

GALE_DECL std::string interpolate(std::string_view format,
                                  std::initializer_list<std::pair<std::string_view, std::string_view>> values) {
    std::string out;
    out.reserve(format.size() + 16);
    for (std::size_t i = 0; i < format.size(); ++i) {
        char c = format[i];
        if (c != '%') {
            out += c;
            continue;
        }
        if (format.compare(i, 2, "%%") == 0) {
            out += '%';
            ++i;
            continue;
        }
        std::size_t close = format.find(')', i);
        if (format.compare(i, 2, "%(") != 0 || close == std::string_view::npos || close + 1 >= format.size() ||
            (format[close + 1] != 's' && format[close + 1] != 'd'))
            throw std::invalid_argument(fmt::format("unsupported format at {} in '{}'", i, format));
        std::string_view key = format.substr(i + 2, close - i - 2);
        auto found = std::find_if(values.begin(), values.end(), [&](const auto& kv) { return kv.first == key; });
        if (found == values.end()) throw std::invalid_argument(fmt::format("no value for '{}' in '{}'", key, format));
        out += found->second;
        i = close + 1;
    }
    return out;
}

GALE_DECL std::chrono::system_clock::time_point from_timestamp(double timestamp) {
    double whole = 0;
    double fraction = std::modf(timestamp, &whole);
    auto micros = std::chrono::microseconds(static_cast<long long>(whole) * 1000000 +
                                            static_cast<long long>(std::nearbyint(fraction * 1e6)));
    return std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(micros));
}

GALE_DECL Locale::Locale(std::string code, std::shared_ptr<const detail::translations> table)
    : code_(std::move(code)), table_(std::move(table)), names_(find_locale_name(code_)) {
    for (std::string_view prefix : {"fa", "ar", "he"})
        if (code_.starts_with(prefix)) rtl_ = true;
    static constexpr std::string_view months[] = {"January", "February", "March",     "April",   "May",      "June",
                                                  "July",    "August",   "September", "October", "November", "December"};
    static constexpr std::string_view weekdays[] = {"Monday", "Tuesday", "Wednesday", "Thursday",
                                                    "Friday", "Saturday", "Sunday"};
    for (std::size_t i = 0; i < 12; ++i) months_[i] = lookup(months[i]);
    for (std::size_t i = 0; i < 7; ++i) weekdays_[i] = lookup(weekdays[i]);
}

GALE_DECL void Locale::warn_pgettext(std::string_view) const {
    if (!table_->empty())
        gale::detail::log(gale::detail::gen_log, gale::detail::log_level::warning, "locale", __LINE__,
                          "pgettext is not supported by CSVLocale");
}

GALE_DECL void load_translations(const std::filesystem::path& directory) {
    detail::registry::instance().load(directory);
}

GALE_DECL void set_default_locale(std::string_view code) { detail::registry::instance().set_default(code); }

GALE_DECL std::string default_locale() { return detail::registry::instance().default_code(); }

GALE_DECL std::vector<std::string> get_supported_locales() { return detail::registry::instance().supported(); }

GALE_DECL const Locale& Locale::get(std::string_view code) { return detail::registry::instance().get(code); }

GALE_DECL const Locale& from_accept_language(std::string_view header, std::string_view default_code) {
    std::vector<std::pair<std::string_view, double>> scored;
    while (true) {
        std::size_t comma = header.find(',');
        std::string_view language = detail::strip(header.substr(0, comma));
        std::size_t semi = language.find(';');
        std::string_view tag = language.substr(0, semi);
        double score = 1.0;
        if (semi != std::string_view::npos) {
            std::string_view param = language.substr(semi + 1);
            param = detail::strip(param.substr(0, param.find(';')));
            if (param.starts_with("q=")) {
                auto q = detail::parse_python_float(param.substr(2));
                score = q && !(*q < 0) ? *q : 0.0;
            }
        }
        if (score > 0) scored.emplace_back(tag, score);
        if (comma == std::string_view::npos) break;
        header.remove_prefix(comma + 1);
    }
    if (scored.empty()) return Locale::get_closest({default_code});
    std::ranges::stable_sort(scored, std::greater<>{}, &std::pair<std::string_view, double>::second);
    std::vector<std::string_view> codes;
    codes.reserve(scored.size());
    for (const auto& [tag, score] : scored) codes.push_back(tag);
    return Locale::get_closest(codes);
}

GALE_DECL std::string Locale::clock_time(int hour, int minute) const {
    if (code_ == "zh_CN")  // 上午 / 下午
        return fmt::format("{}{}:{:02}", hour >= 12 ? "\u4e0b\u5348" : "\u4e0a\u5348", hour % 12 ? hour % 12 : 12,
                           minute);
    if (code_ == "en" || code_ == "en_US")
        return fmt::format("{}:{:02} {}", hour % 12 ? hour % 12 : 12, minute, hour >= 12 ? "pm" : "am");
    return fmt::format("{}:{:02}", hour, minute);
}

GALE_DECL std::string Locale::format_date(time_point date, int gmt_offset, bool relative, bool shorter,
                                          bool full_format, time_point now) const {
    using namespace std::chrono;
    using micro_time = sys_time<microseconds>;
    auto date_us = floor<microseconds>(date);
    auto now_us = floor<microseconds>(now);
    // Python's timedelta: whole days (floored) and 0 <= seconds < 86400.
    auto split = [](microseconds d) {
        auto day_count = floor<days>(d);
        return std::pair{day_count.count(), duration_cast<seconds>(d - day_count).count()};
    };
    if (date_us > now_us) {
        if (relative && split(date_us - now_us).second < 60)
            date_us = now_us;  // clock skew: the near future is now
        else
            full_format = true;
    }
    const minutes offset(gmt_offset);
    micro_time local_date = date_us - offset;
    micro_time local_yesterday = now_us - offset - hours(24);
    auto [day_count, secs] = split(now_us - date_us);

    auto ymd_of = [](micro_time t) { return year_month_day(floor<days>(t)); };
    year_month_day date_ymd = ymd_of(local_date);

    std::string_view format;
    if (!full_format) {
        if (relative && day_count == 0) {
            if (secs < 50)
                return interpolate(lookup("1 second ago", "%(seconds)d seconds ago", secs),
                                   {{"seconds", std::to_string(secs)}});
            if (secs < 50 * 60) {
                auto mins = static_cast<long long>(std::nearbyint(double(secs) / 60.0));
                return interpolate(lookup("1 minute ago", "%(minutes)d minutes ago", mins),
                                   {{"minutes", std::to_string(mins)}});
            }
            auto hrs = static_cast<long long>(std::nearbyint(double(secs) / 3600.0));
            return interpolate(lookup("1 hour ago", "%(hours)d hours ago", hrs), {{"hours", std::to_string(hrs)}});
        }
        if (day_count == 0)
            format = lookup("%(time)s");
        else if (day_count == 1 && date_ymd.day() == ymd_of(local_yesterday).day() && relative)
            format = shorter ? lookup("yesterday") : lookup("yesterday at %(time)s");
        else if (day_count < 5)
            format = shorter ? lookup("%(weekday)s") : lookup("%(weekday)s at %(time)s");
        else if (day_count < 334)  // 11 months: "March 5" would be ambiguous a year later
            format = shorter ? lookup("%(month_name)s %(day)s") : lookup("%(month_name)s %(day)s at %(time)s");
    }
    if (format.empty())
        format = shorter ? lookup("%(month_name)s %(day)s, %(year)s")
                         : lookup("%(month_name)s %(day)s, %(year)s at %(time)s");

    hh_mm_ss clock(local_date - floor<days>(local_date));
    std::string time = clock_time(int(clock.hours().count()), int(clock.minutes().count()));
    weekday wd(floor<days>(local_date));
    return interpolate(format, {{"month_name", months_[unsigned(date_ymd.month()) - 1]},
                                {"weekday", weekdays_[wd.iso_encoding() - 1]},
                                {"day", std::to_string(unsigned(date_ymd.day()))},
                                {"year", std::to_string(int(date_ymd.year()))},
                                {"time", time}});
}

GALE_DECL std::string Locale::format_day(time_point date, int gmt_offset, bool dow) const {
    using namespace std::chrono;
    auto local = floor<days>(floor<microseconds>(date) - minutes(gmt_offset));
    year_month_day ymd(local);
    std::string_view month = months_[unsigned(ymd.month()) - 1];
    std::string day = std::to_string(unsigned(ymd.day()));
    if (dow)
        return interpolate(lookup("%(weekday)s, %(month_name)s %(day)s"),
                           {{"month_name", month}, {"weekday", weekdays_[weekday(local).iso_encoding() - 1]}, {"day", day}});
    return interpolate(lookup("%(month_name)s %(day)s"), {{"month_name", month}, {"day", day}});
}

GALE_DECL std::string Locale::friendly_number(long long value) const {
    std::string digits = std::to_string(value);
    if (code_ != "en" && code_ != "en_US") return digits;
    std::string out;
    std::size_t head = digits.size() % 3 ? digits.size() % 3 : 3;
    out.append(digits, 0, head);
    for (std::size_t i = head; i < digits.size(); i += 3) {
        out += ',';
        out.append(digits, i, 3);
    }
    return out;
}

}  // namespace gale::locale
