// Tornado's tornado.locale for C++: CSV translations, locale matching,
// relative dates, lists and numbers, with Tornado 6.2's exact output.
//
//   gale::locale::load_translations("translations");     // es_LA.csv, fr.csv, ...
//   const gale::locale::Locale& es = gale::locale::get("es_LA", "en_US");
//   es.translate("Sign out");                              // "Cerrar sesión"
//   gale::locale::interpolate(es.translate("%(list)s is online", "%(list)s are online", people.size()),
//                             {{"list", es.list(people)}});   // singular form when the count is 1
//   es.format_date(when);                                  // "hace 2 minutos", "ayer a las 15:14"
//   gale::locale::from_accept_language("fr-CH, fr;q=0.9, en;q=0.8");  // RequestHandler's browser locale
//
// Synopsis (namespace gale::locale; strings are UTF-8):
//   void load_translations(directory)     every LOCALE.csv in it (replaces what was loaded)
//   void set_default_locale(code)         default "en_US": the language of the message keys
//   std::string default_locale()
//   std::vector<std::string> get_supported_locales()        sorted; the default is always one
//   const Locale& get(codes...)           = Locale::get_closest(codes...)
//   const Locale& from_accept_language(header, default_code = "en_US")
//                                         Tornado's RequestHandler.get_browser_locale
//   const locale_name* find_locale_name(code)    Tornado's LOCALE_NAMES (62 codes), or nullptr
//   std::string interpolate(format, {{"key", "value"}, ...})   Python's "%(key)s" % dict
//   system_clock::time_point from_timestamp(double seconds)    Python's utcfromtimestamp
//   class Locale                          made once per code, lives until exit; thread-safe
//     static const Locale& get(code)      exact code; throws std::out_of_range if unsupported
//     static const Locale& get_closest({codes...}) / get_closest(range of strings)
//                                         "es-la" -> es_LA, else es, else the next code, else default
//     code(), name() ("Español"; "Unknown" outside the table), name_en(), rtl() (fa, ar, he)
//     std::string translate(message) / translate(message, plural_message, count)
//     std::string pgettext(context, message[, plural_message, count])   as Tornado's CSVLocale
//     std::string format_date(date, gmt_offset = 0, relative = true, shorter = false,
//                             full_format = false, now = system_clock::now())
//     std::string format_day(date, gmt_offset = 0, dow = true)     "Monday, January 22"
//     std::string list(parts)             "A, B and C" (translated " and ")
//     std::string friendly_number(value)  "1,234,567" in en and en_US, digits elsewhere
//
// CSV files (Tornado's format, Excel dialect: quotes doubled inside quoted
// fields, quoted fields may span lines):
//     "I love you","Te amo"
//     "%(name)s liked this","A %(name)s les gustó esto","plural"
//     "%(name)s liked this","A %(name)s le gustó esto","singular"
// The third column is "plural", "singular", "unknown" or empty; the file
// name is the locale code ([a-z]+(_[A-Z]+)?), files are UTF-8 with or
// without a BOM, or UTF-16 with a BOM. As in Tornado, a file with an
// unrecognised name and a row with an unknown plural indicator are logged on
// gen_log ("Unrecognized plural indicator 'x' in es_LA.csv line 3") and
// skipped. A file that cannot be read, or that is not valid UTF-8 / UTF-16,
// throws std::runtime_error naming the file and line ("es.csv line 2:
// invalid UTF-8"), a missing directory std::filesystem::filesystem_error;
// either way the translations loaded before stay as they were (Tornado has
// already dropped them). Locale::get(code) of an unsupported code throws
// std::out_of_range (Tornado's assert). Everything here may be called from
// any thread; load translations at startup, before serving.
//
// Dates: `date` and `now` are UTC time points (std::chrono::system_clock,
// or seconds since the epoch as a double, like Tornado's float); gmt_offset
// is in minutes WEST of UTC, as in Tornado (local = utc - gmt_offset; a user
// in UTC+2 passes -120).
//
// Where gale differs from Tornado 6.2, and why:
// - format_date takes "now" as a parameter (default: the clock) so a page
//   and a test can pin it; Tornado always reads utcnow().
// - Only the CSV format: load_gettext_translations / GettextLocale (.mo
//   files, real pgettext contexts) are not implemented. pgettext on a CSV
//   locale ignores the context and logs Tornado's warning, as Tornado does.
// - translate() returns the text; Python's `text % {...}` is interpolate(),
//   which knows %(key)s, %(key)d and %%, and throws std::invalid_argument
//   on a key it was not given (Python's KeyError).
// - load_translations forgets the Locale objects made from the previous
//   translations (Tornado keeps serving its cached ones); references already
//   handed out stay valid. Tornado's `encoding` argument is not offered: the
//   encoding is detected per file (Tornado lets the first file's guess stick
//   to the files after it). A file name with two dots is logged and skipped
//   (Tornado raises ValueError). A CSV error's "line" is the record number,
//   as in Tornado's message (a quoted field over two lines is one record).
// - Case mapping in codes and whitespace stripping of cells are ASCII only
//   (Python's are Unicode-wide); Accept-Language q-values are read as
//   Python's float() reads them, except that '_' between digits is refused.
// - friendly_number keeps Tornado's grouping of the decimal text, sign
//   included: -1234 is "-1,234" but -123456 is "-,123,456", as in Tornado.
#pragma once

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <ranges>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <fmt/core.h>

#include "detail/logging.hpp"

namespace gale::locale {

struct locale_name {
    std::string_view code;
    std::string_view name;     // in the language itself: "Español"
    std::string_view name_en;  // "Spanish"
};

// Tornado's tornado._locale_data.LOCALE_NAMES, sorted by code. Generated by
// tests/tornado/locale_expected.py --names (do not edit by hand).
// ---- generated LOCALE_NAMES
inline constexpr locale_name locale_names[] = {
    {"af_ZA", "Afrikaans", "Afrikaans"},
    {"am_ET", "\341\212\240\341\210\233\341\210\255\341\212\233", "Amharic"},
    {"ar_AR", "\330\247\331\204\330\271\330\261\330\250\331\212\330\251", "Arabic"},
    {"bg_BG", "\320\221\321\212\320\273\320\263\320\260\321\200\321\201\320\272\320\270", "Bulgarian"},
    {"bn_IN", "\340\246\254\340\246\276\340\246\202\340\246\262\340\246\276", "Bengali"},
    {"bs_BA", "Bosanski", "Bosnian"},
    {"ca_ES", "Catal\303\240", "Catalan"},
    {"cs_CZ", "\304\214e\305\241tina", "Czech"},
    {"cy_GB", "Cymraeg", "Welsh"},
    {"da_DK", "Dansk", "Danish"},
    {"de_DE", "Deutsch", "German"},
    {"el_GR", "\316\225\316\273\316\273\316\267\316\275\316\271\316\272\316\254", "Greek"},
    {"en_GB", "English (UK)", "English (UK)"},
    {"en_US", "English (US)", "English (US)"},
    {"es_ES", "Espa\303\261ol (Espa\303\261a)", "Spanish (Spain)"},
    {"es_LA", "Espa\303\261ol", "Spanish"},
    {"et_EE", "Eesti", "Estonian"},
    {"eu_ES", "Euskara", "Basque"},
    {"fa_IR", "\331\201\330\247\330\261\330\263\333\214", "Persian"},
    {"fi_FI", "Suomi", "Finnish"},
    {"fr_CA", "Fran\303\247ais (Canada)", "French (Canada)"},
    {"fr_FR", "Fran\303\247ais", "French"},
    {"ga_IE", "Gaeilge", "Irish"},
    {"gl_ES", "Galego", "Galician"},
    {"he_IL", "\327\242\327\221\327\250\327\231\327\252", "Hebrew"},
    {"hi_IN", "\340\244\271\340\244\277\340\244\250\340\245\215\340\244\246\340\245\200", "Hindi"},
    {"hr_HR", "Hrvatski", "Croatian"},
    {"hu_HU", "Magyar", "Hungarian"},
    {"id_ID", "Bahasa Indonesia", "Indonesian"},
    {"is_IS", "\303\215slenska", "Icelandic"},
    {"it_IT", "Italiano", "Italian"},
    {"ja_JP", "\346\227\245\346\234\254\350\252\236", "Japanese"},
    {"ko_KR", "\355\225\234\352\265\255\354\226\264", "Korean"},
    {"lt_LT", "Lietuvi\305\263", "Lithuanian"},
    {"lv_LV", "Latvie\305\241u", "Latvian"},
    {"mk_MK", "\320\234\320\260\320\272\320\265\320\264\320\276\320\275\321\201\320\272\320\270", "Macedonian"},
    {"ml_IN", "\340\264\256\340\264\262\340\264\257\340\264\276\340\264\263\340\264\202", "Malayalam"},
    {"ms_MY", "Bahasa Melayu", "Malay"},
    {"nb_NO", "Norsk (bokm\303\245l)", "Norwegian (bokmal)"},
    {"nl_NL", "Nederlands", "Dutch"},
    {"nn_NO", "Norsk (nynorsk)", "Norwegian (nynorsk)"},
    {"pa_IN", "\340\250\252\340\251\260\340\250\234\340\250\276\340\250\254\340\251\200", "Punjabi"},
    {"pl_PL", "Polski", "Polish"},
    {"pt_BR", "Portugu\303\252s (Brasil)", "Portuguese (Brazil)"},
    {"pt_PT", "Portugu\303\252s (Portugal)", "Portuguese (Portugal)"},
    {"ro_RO", "Rom\303\242n\304\203", "Romanian"},
    {"ru_RU", "\320\240\321\203\321\201\321\201\320\272\320\270\320\271", "Russian"},
    {"sk_SK", "Sloven\304\215ina", "Slovak"},
    {"sl_SI", "Sloven\305\241\304\215ina", "Slovenian"},
    {"sq_AL", "Shqip", "Albanian"},
    {"sr_RS", "\320\241\321\200\320\277\321\201\320\272\320\270", "Serbian"},
    {"sv_SE", "Svenska", "Swedish"},
    {"sw_KE", "Kiswahili", "Swahili"},
    {"ta_IN", "\340\256\244\340\256\256\340\256\277\340\256\264\340\257\215", "Tamil"},
    {"te_IN", "\340\260\244\340\261\206\340\260\262\340\261\201\340\260\227\340\261\201", "Telugu"},
    {"th_TH", "\340\270\240\340\270\262\340\270\251\340\270\262\340\271\204\340\270\227\340\270\242", "Thai"},
    {"tl_PH", "Filipino", "Filipino"},
    {"tr_TR", "T\303\274rk\303\247e", "Turkish"},
    {"uk_UA", "\320\243\320\272\321\200\320\260\321\227\320\275\321\201\321\214\320\272\320\260", "Ukraini "},
    {"vi_VN", "Ti\341\272\277ng Vi\341\273\207t", "Vietnamese"},
    {"zh_CN", "\344\270\255\346\226\207(\347\256\200\344\275\223)", "Chinese (Simplified)"},
    {"zh_TW", "\344\270\255\346\226\207(\347\271\201\351\253\224)", "Chinese (Traditional)"},
};
// ---- end generated LOCALE_NAMES

inline const locale_name* find_locale_name(std::string_view code) {
    auto it = std::ranges::lower_bound(locale_names, code, {}, &locale_name::code);
    return it != std::end(locale_names) && it->code == code ? it : nullptr;
}

namespace detail {

struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
using message_map = std::unordered_map<std::string, std::string, string_hash, std::equal_to<>>;

// One locale's CSV rows, by plural indicator.
struct translations {
    message_map unknown, singular, plural;
    bool empty() const { return unknown.empty() && singular.empty() && plural.empty(); }
};

inline bool is_ascii_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r') || c == '\x1c' || c == '\x1d' || c == '\x1e' || c == '\x1f'; }

inline std::string_view strip(std::string_view s) {
    while (!s.empty() && is_ascii_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_ascii_space(s.back())) s.remove_suffix(1);
    return s;
}

inline char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; }
inline char ascii_upper(char c) { return c >= 'a' && c <= 'z' ? char(c - 'a' + 'A') : c; }

inline std::string lowered(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = ascii_lower(c);
    return out;
}

inline std::string uppered(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = ascii_upper(c);
    return out;
}

inline void append_utf8(std::string& out, char32_t cp) {
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

[[noreturn]] inline void bad_file(const std::string& file, std::size_t line, std::string_view what) {
    throw std::runtime_error(fmt::format("{} line {}: {}", file, line, what));
}

inline std::size_t line_at(std::string_view text, std::size_t offset) {
    return 1 + std::size_t(std::count(text.begin(), text.begin() + std::ptrdiff_t(offset), '\n'));
}

// The byte length of the UTF-8 sequence at s[i], or 0 when it is invalid.
inline std::size_t utf8_sequence(std::string_view s, std::size_t i) {
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

inline void check_utf8(std::string_view text, const std::string& file) {
    for (std::size_t i = 0; i < text.size();) {
        std::size_t n = utf8_sequence(text, i);
        if (n == 0) bad_file(file, line_at(text, i), "invalid UTF-8");
        i += n;
    }
}

// UTF-16 (after its BOM) to UTF-8; a lone surrogate is an error.
inline std::string utf16_to_utf8(std::string_view bytes, bool big_endian, const std::string& file) {
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
inline std::string decode_file(std::string bytes, const std::string& file) {
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
inline std::string universal_newlines(std::string_view text) {
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

inline bool valid_locale_code(std::string_view code) {
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

inline std::string read_bytes(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error(fmt::format("{}: cannot be read", path.string()));
    std::ostringstream s;
    s << in.rdbuf();
    return std::move(s).str();
}

inline translations load_file(const std::filesystem::path& path) {
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

class registry;

}  // namespace detail

// Python's `format % {"key": value}` for the placeholders Tornado's strings
// use: %(key)s and %(key)d insert the value as given (the caller formats
// numbers), %% is a percent sign; anything else throws std::invalid_argument.
inline std::string interpolate(std::string_view format,
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

// Seconds since the epoch (Tornado's int or float date) as a time point,
// to the microsecond as Python's utcfromtimestamp (half to even).
inline std::chrono::system_clock::time_point from_timestamp(double timestamp) {
    double whole = 0;
    double fraction = std::modf(timestamp, &whole);
    auto micros = std::chrono::microseconds(static_cast<long long>(whole) * 1000000 +
                                            static_cast<long long>(std::nearbyint(fraction * 1e6)));
    return std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(micros));
}

class Locale {
public:
    using time_point = std::chrono::system_clock::time_point;

    static const Locale& get(std::string_view code);
    static const Locale& get_closest(std::initializer_list<std::string_view> codes) {
        return get_closest(std::span<const std::string_view>(codes.begin(), codes.size()));
    }
    template <std::ranges::input_range R>
        requires std::convertible_to<std::ranges::range_reference_t<R>, std::string_view>
    static const Locale& get_closest(const R& codes);

    const std::string& code() const { return code_; }
    std::string_view name() const { return names_ ? names_->name : "Unknown"; }
    std::string_view name_en() const { return names_ ? names_->name_en : "Unknown"; }
    bool rtl() const { return rtl_; }

    std::string translate(std::string_view message) const { return std::string(lookup(message)); }
    std::string translate(std::string_view message, std::string_view plural_message, long long count) const {
        return std::string(lookup(message, plural_message, count));
    }
    std::string pgettext(std::string_view context, std::string_view message) const {
        warn_pgettext(context);
        return translate(message);
    }
    std::string pgettext(std::string_view context, std::string_view message, std::string_view plural_message,
                         long long count) const {
        warn_pgettext(context);
        return translate(message, plural_message, count);
    }

    std::string format_date(time_point date, int gmt_offset = 0, bool relative = true, bool shorter = false,
                            bool full_format = false, time_point now = std::chrono::system_clock::now()) const;
    // Seconds since the epoch, as Tornado's int or float.
    std::string format_date(double timestamp, int gmt_offset = 0, bool relative = true, bool shorter = false,
                            bool full_format = false, time_point now = std::chrono::system_clock::now()) const {
        return format_date(locale::from_timestamp(timestamp), gmt_offset, relative, shorter, full_format, now);
    }
    std::string format_day(time_point date, int gmt_offset = 0, bool dow = true) const;

    template <std::ranges::input_range R>
        requires std::convertible_to<std::ranges::range_reference_t<R>, std::string_view>
    std::string list(const R& parts) const;
    std::string list(std::initializer_list<std::string_view> parts) const {
        return list(std::span<const std::string_view>(parts.begin(), parts.size()));
    }

    std::string friendly_number(long long value) const;

private:
    friend class detail::registry;

    Locale(std::string code, std::shared_ptr<const detail::translations> table)
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

    // The translation as a view into this locale's table, or `message` itself.
    std::string_view lookup(std::string_view message) const { return find(table_->unknown, message); }
    std::string_view lookup(std::string_view message, std::string_view plural_message, long long count) const {
        return count != 1 ? find(table_->plural, plural_message) : find(table_->singular, message);
    }
    static std::string_view find(const detail::message_map& map, std::string_view message) {
        auto it = map.find(message);
        return it == map.end() ? message : std::string_view(it->second);
    }
    void warn_pgettext(std::string_view) const {
        if (!table_->empty())
            gale::detail::log(gale::detail::gen_log, gale::detail::log_level::warning, "locale", __LINE__,
                              "pgettext is not supported by CSVLocale");
    }
    std::string clock_time(int hour, int minute) const;

    std::string code_;
    std::shared_ptr<const detail::translations> table_;
    const locale_name* names_;
    bool rtl_ = false;
    std::string_view months_[12];
    std::string_view weekdays_[7];
};

namespace detail {

// The loaded translations, the default code and the Locale objects made so
// far. Locales are never destroyed before exit, so references stay valid.
class registry {
public:
    static registry& instance() {
        static registry r;
        return r;
    }

    void load(const std::filesystem::path& directory) {
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

    void set_default(std::string_view code) {
        std::lock_guard lock(mutex_);
        default_ = code;
    }

    std::string default_code() const {
        std::lock_guard lock(mutex_);
        return default_;
    }

    std::vector<std::string> supported() const {
        std::lock_guard lock(mutex_);
        std::vector<std::string> codes;
        for (const auto& [code, table] : translations_) codes.push_back(code);
        if (!translations_.contains(default_)) codes.insert(std::ranges::lower_bound(codes, default_), default_);
        return codes;
    }

    const Locale& get(std::string_view code) {
        std::lock_guard lock(mutex_);
        return get_locked(code);
    }

    // Tornado's Locale.get_closest.
    template <class R>
    const Locale& closest(const R& codes) {
        std::lock_guard lock(mutex_);
        for (std::string_view given : codes) {
            if (given.empty()) continue;
            std::string code(given);
            std::ranges::replace(code, '-', '_');
            std::size_t underscores = std::size_t(std::ranges::count(code, '_'));
            if (underscores > 1) continue;
            std::size_t cut = code.find('_');
            std::string language = lowered(std::string_view(code).substr(0, cut));
            if (underscores == 1) code = language + "_" + uppered(std::string_view(code).substr(cut + 1));
            if (supported_locked(code)) return get_locked(code);
            if (supported_locked(language)) return get_locked(language);
        }
        return get_locked(default_);
    }

private:
    bool supported_locked(std::string_view code) const {
        return code == default_ || translations_.find(code) != translations_.end();
    }

    const Locale& get_locked(std::string_view code) {
        if (auto it = cache_.find(code); it != cache_.end()) return *it->second;
        if (!supported_locked(code)) throw std::out_of_range(fmt::format("unsupported locale '{}'", code));
        auto table = translations_.find(code);
        std::unique_ptr<const Locale> locale(new Locale(
            std::string(code), table != translations_.end() ? table->second : std::make_shared<const translations>()));
        const Locale& made = *locale;
        cache_.emplace(std::string(code), std::move(locale));
        return made;
    }

    mutable std::mutex mutex_;
    std::string default_ = "en_US";
    std::map<std::string, std::shared_ptr<const translations>, std::less<>> translations_;
    std::map<std::string, std::unique_ptr<const Locale>, std::less<>> cache_;
    std::vector<std::unique_ptr<const Locale>> retired_;
};

// Python's float() on a q-value; nullopt where it raises ValueError.
inline std::optional<double> parse_python_float(std::string_view text) {
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

inline void load_translations(const std::filesystem::path& directory) {
    detail::registry::instance().load(directory);
}

inline void set_default_locale(std::string_view code) { detail::registry::instance().set_default(code); }

inline std::string default_locale() { return detail::registry::instance().default_code(); }

inline std::vector<std::string> get_supported_locales() { return detail::registry::instance().supported(); }

inline const Locale& Locale::get(std::string_view code) { return detail::registry::instance().get(code); }

template <std::ranges::input_range R>
    requires std::convertible_to<std::ranges::range_reference_t<R>, std::string_view>
const Locale& Locale::get_closest(const R& codes) {
    return detail::registry::instance().closest(codes);
}

template <class... Codes>
    requires(std::convertible_to<const Codes&, std::string_view> && ...)
const Locale& get(const Codes&... codes) {
    return Locale::get_closest({std::string_view(codes)...});
}

// Tornado's RequestHandler.get_browser_locale: the Accept-Language
// languages by q-value (highest first, ties in header order; q=0 and
// unreadable q-values are dropped), then get_closest; `default_code` when
// nothing is left.
inline const Locale& from_accept_language(std::string_view header, std::string_view default_code = "en_US") {
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

inline std::string Locale::clock_time(int hour, int minute) const {
    if (code_ == "zh_CN")  // 上午 / 下午
        return fmt::format("{}{}:{:02}", hour >= 12 ? "\u4e0b\u5348" : "\u4e0a\u5348", hour % 12 ? hour % 12 : 12,
                           minute);
    if (code_ == "en" || code_ == "en_US")
        return fmt::format("{}:{:02} {}", hour % 12 ? hour % 12 : 12, minute, hour >= 12 ? "pm" : "am");
    return fmt::format("{}:{:02}", hour, minute);
}

inline std::string Locale::format_date(time_point date, int gmt_offset, bool relative, bool shorter,
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

inline std::string Locale::format_day(time_point date, int gmt_offset, bool dow) const {
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

template <std::ranges::input_range R>
    requires std::convertible_to<std::ranges::range_reference_t<R>, std::string_view>
std::string Locale::list(const R& parts) const {
    std::vector<std::string_view> items;
    for (std::string_view part : parts) items.push_back(part);
    if (items.empty()) return {};
    if (items.size() == 1) return std::string(items[0]);
    std::string_view comma = code_.starts_with("fa") ? " \u0648 " : ", ";
    std::string commas;
    for (std::size_t i = 0; i + 1 < items.size(); ++i) {
        if (i) commas += comma;
        commas += items[i];
    }
    return interpolate(lookup("%(commas)s and %(last)s"), {{"commas", commas}, {"last", items.back()}});
}

inline std::string Locale::friendly_number(long long value) const {
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
