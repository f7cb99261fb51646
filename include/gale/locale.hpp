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
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <ranges>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "detail/config.hpp"
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

class registry;

}  // namespace detail

// Python's `format % {"key": value}` for the placeholders Tornado's strings
// use: %(key)s and %(key)d insert the value as given (the caller formats
// numbers), %% is a percent sign; anything else throws std::invalid_argument.
GALE_DECL std::string interpolate(std::string_view format,
                                  std::initializer_list<std::pair<std::string_view, std::string_view>> values);

// Seconds since the epoch (Tornado's int or float date) as a time point,
// to the microsecond as Python's utcfromtimestamp (half to even).
GALE_DECL std::chrono::system_clock::time_point from_timestamp(double timestamp);

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

    Locale(std::string code, std::shared_ptr<const detail::translations> table);

    // The translation as a view into this locale's table, or `message` itself.
    std::string_view lookup(std::string_view message) const { return find(table_->unknown, message); }
    std::string_view lookup(std::string_view message, std::string_view plural_message, long long count) const {
        return count != 1 ? find(table_->plural, plural_message) : find(table_->singular, message);
    }
    static std::string_view find(const detail::message_map& map, std::string_view message) {
        auto it = map.find(message);
        return it == map.end() ? message : std::string_view(it->second);
    }
    void warn_pgettext(std::string_view context) const;
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
    static registry& instance();
    void load(const std::filesystem::path& directory);
    void set_default(std::string_view code);
    std::string default_code() const;
    std::vector<std::string> supported() const;
    const Locale& get(std::string_view code);

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
    bool supported_locked(std::string_view code) const;
    const Locale& get_locked(std::string_view code);

    mutable std::mutex mutex_;
    std::string default_ = "en_US";
    std::map<std::string, std::shared_ptr<const translations>, std::less<>> translations_;
    std::map<std::string, std::unique_ptr<const Locale>, std::less<>> cache_;
    std::vector<std::unique_ptr<const Locale>> retired_;
};

}  // namespace detail

GALE_DECL void load_translations(const std::filesystem::path& directory);
GALE_DECL void set_default_locale(std::string_view code);
GALE_DECL std::string default_locale();
GALE_DECL std::vector<std::string> get_supported_locales();

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
GALE_DECL const Locale& from_accept_language(std::string_view header, std::string_view default_code = "en_US");

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

}  // namespace gale::locale

#if GALE_HEADER_ONLY
#include "impl/locale.ipp"
#endif
