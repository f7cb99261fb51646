// Tests for <gale/locale.hpp>: translations, matching, Accept-Language,
// dates, lists and numbers against Tornado 6.2's answers for the same inputs
// (tests/locale/expected.inc, written by tests/tornado/locale_expected.py
// from tests/locale/translations), then loading errors and the registry.
#include <gale/locale.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <unistd.h>
#include <vector>

#include "support.hpp"

namespace {

namespace fs = std::filesystem;
namespace locale = gale::locale;

struct translate_case {
    const char* code;
    const char* message;
    const char* plural;  // nullptr: translate(message)
    long long count;
    const char* expected;
};
struct closest_case {
    std::vector<std::string_view> codes;
    const char* expected;
};
struct accept_case {
    const char* header;
    const char* expected;
};
struct date_case {
    const char* code;
    double date;
    double now;
    int gmt_offset;
    bool relative, shorter, full_format;
    const char* expected;
};
struct day_case {
    const char* code;
    long long timestamp;
    int gmt_offset;
    bool dow;
    const char* expected;
};
struct list_case {
    const char* code;
    std::vector<std::string_view> parts;
    const char* expected;
};
struct number_case {
    const char* code;
    long long value;
    const char* expected;
};
struct name_case {
    const char* asked;
    const char* code;
    const char* name;
    bool rtl;
};

#include "locale/expected.inc"

// tests/locale, found next to this file (__FILE__ may be relative to the
// build directory, whose tests/ holds the executable).
fs::path data_dir() {
    fs::path source(__FILE__);
    std::vector<fs::path> candidates{source.parent_path() / "locale"};
    if (source.is_relative()) {
        char exe[4096];
        ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n > 0) {
            exe[n] = '\0';
            candidates.push_back(fs::path(exe).parent_path().parent_path() / source.parent_path() / "locale");
        }
    }
    for (const auto& c : candidates)
        if (fs::is_directory(c)) return c;
    FAIL("tests/locale not found next to " << __FILE__);
    return {};
}

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return std::move(s).str();
}

// Loads tests/locale/translations quietly (the first test checks the log).
void load_test_translations() {
    gale_test::log_capture quiet;
    locale::set_default_locale("en_US");
    locale::load_translations(data_dir() / "translations");
}

}  // namespace

TEST_CASE("tests/locale/expected.inc is what Tornado answers today (skipped without python3-tornado)") {
    if (std::system("/usr/bin/python3 -c 'import tornado.locale' >/dev/null 2>&1") != 0) {
        MESSAGE("python3-tornado not installed: expected.inc not regenerated");
        return;
    }
    fs::path script = data_dir().parent_path() / "tornado" / "locale_expected.py";
    fs::path output = fs::temp_directory_path() / ("gale-locale-expected-" + std::to_string(::getpid()) + ".inc");
    gale_test::run_command("/usr/bin/python3 '" + script.string() + "' --output '" + output.string() + "' 2>/dev/null");
    std::string fresh = read_file(output);
    fs::remove(output);
    CHECK_MESSAGE(fresh == read_file(data_dir() / "expected.inc"),
                  "run tests/tornado/locale_expected.py after changing tests/locale/translations");
}

TEST_CASE("load_translations: supported locales and Tornado's log lines for bad names and rows") {
    gale_test::log_capture logs;
    locale::set_default_locale("en_US");
    locale::load_translations(data_dir() / "translations");
    std::vector<std::string> expected(std::begin(supported_locales), std::end(supported_locales));
    CHECK(locale::get_supported_locales() == expected);
    CHECK(logs.matching("Unrecognized locale 'Bad-Name' (path: ").size() == 1);
    CHECK(logs.matching("Unrecognized plural indicator 'dual' in es_LA.csv line 41").size() == 1);
}

TEST_CASE("translate and plural forms as Tornado's CSVLocale") {
    load_test_translations();
    for (const auto& c : translate_cases) {
        INFO(c.code << " " << c.message << " " << (c.plural ? c.plural : "-") << " " << c.count);
        const auto& l = locale::Locale::get(c.code);
        CHECK(l.code() == c.code);
        if (c.plural)
            CHECK(l.translate(c.message, c.plural, c.count) == c.expected);
        else
            CHECK(l.translate(c.message) == c.expected);
    }
}

TEST_CASE("get / get_closest: es-la -> es_LA, es_MX -> es? -> next code -> default") {
    load_test_translations();
    for (const auto& c : closest_cases) {
        std::string codes;
        for (auto code : c.codes) codes += std::string(code) + "|";
        INFO(codes);
        CHECK(locale::Locale::get_closest(c.codes).code() == c.expected);
    }
    CHECK(locale::get("es-la", "fr").code() == "es_LA");
    CHECK(locale::get(std::string("xx"), "fr").code() == "fr");
    CHECK(locale::get().code() == "en_US");
    CHECK(locale::Locale::get_closest({"de-at", "es"}).code() == "en_US");
}

TEST_CASE("from_accept_language: q-values, order, unreadable values, as get_browser_locale") {
    load_test_translations();
    for (const auto& c : accept_cases) {
        INFO("Accept-Language: " << c.header);
        CHECK(locale::from_accept_language(c.header).code() == c.expected);
    }
    // Only q=0 everywhere: the handler's default (through get_closest).
    CHECK(locale::from_accept_language("fr;q=0", "es_LA").code() == "es_LA");
    CHECK(locale::from_accept_language("fr;q=0", "es-mx").code() == "en_US");
}

TEST_CASE("format_date: relative forms, offsets, shorter and full formats over a table of times") {
    load_test_translations();
    for (const auto& c : date_cases) {
        INFO(c.code << " date=" << std::to_string(c.date) << " now=" << std::to_string(c.now) << " offset="
                    << c.gmt_offset << " relative=" << c.relative << " shorter=" << c.shorter
                    << " full=" << c.full_format);
        const auto& l = locale::Locale::get(c.code);
        CHECK(l.format_date(c.date, c.gmt_offset, c.relative, c.shorter, c.full_format,
                            locale::from_timestamp(c.now)) == c.expected);
    }
}

TEST_CASE("format_date: time points and the clock's now") {
    load_test_translations();
    const auto& en = locale::Locale::get("en_US");
    auto now = locale::from_timestamp(1583421240);  // Thursday 2020-03-05 15:14 UTC
    CHECK(en.format_date(now - std::chrono::hours(26), 0, true, false, false, now) == "yesterday at 1:14 pm");
    CHECK(en.format_date(now - std::chrono::hours(26), 0, true, true, false, now) == "yesterday");
    CHECK(en.format_date(now, 0, false, false, false, now) == "3:14 pm");
    CHECK(locale::Locale::get("es_LA").format_date(now - std::chrono::minutes(3), 0, true, false, false, now) ==
          "hace 3 minutos");
    // Without a pinned now the clock is read; ten minutes ago rounds to ten.
    auto ten_minutes_ago = std::chrono::system_clock::now() - std::chrono::minutes(10);
    CHECK(en.format_date(ten_minutes_ago) == "10 minutes ago");
}

TEST_CASE("format_day") {
    load_test_translations();
    for (const auto& c : day_cases) {
        INFO(c.code << " " << c.timestamp << " " << c.gmt_offset << " " << c.dow);
        CHECK(locale::Locale::get(c.code).format_day(locale::from_timestamp(double(c.timestamp)), c.gmt_offset,
                                                     c.dow) == c.expected);
    }
}

TEST_CASE("list and friendly_number") {
    load_test_translations();
    for (const auto& c : list_cases) {
        INFO(c.code << " " << c.parts.size());
        CHECK(locale::Locale::get(c.code).list(c.parts) == c.expected);
    }
    for (const auto& c : number_cases) {
        INFO(c.code << " " << c.value);
        CHECK(locale::Locale::get(c.code).friendly_number(c.value) == c.expected);
    }
    const auto& en = locale::Locale::get("en_US");
    std::vector<std::string> names{"Ana", "Ben", "Cy"};
    CHECK(en.list(names) == "Ana, Ben and Cy");
    CHECK(en.list({"x", "y"}) == "x and y");
    // The header's example: a plural chosen by the count, then filled in.
    std::vector<std::string> people{"Ana", "Ben"};
    CHECK(locale::interpolate(en.translate("%(list)s is online", "%(list)s are online", people.size()),
                              {{"list", en.list(people)}}) == "Ana and Ben are online");
    const auto& es = locale::Locale::get("es_LA");
    CHECK(locale::interpolate(es.translate("%(name)s liked this", "%(name)s liked this", 1),
                              {{"name", es.list(std::vector<std::string>{"Ana"})}}) == "A Ana le gust\u00f3 esto");
}

TEST_CASE("names and rtl from Tornado's LOCALE_NAMES") {
    load_test_translations();
    for (const auto& c : name_cases) {
        INFO(c.asked);
        const auto& l = locale::get(c.asked);
        CHECK(l.code() == c.code);
        CHECK(l.name() == c.name);
        CHECK(l.rtl() == c.rtl);
    }
    CHECK(std::size(locale::locale_names) == locale_name_count);
    CHECK(std::ranges::is_sorted(locale::locale_names, {}, &locale::locale_name::code));
    const auto* es = locale::find_locale_name("es_LA");
    REQUIRE(es != nullptr);
    CHECK(es->name == "Espa\u00f1ol");
    CHECK(es->name_en == "Spanish");
    CHECK(locale::find_locale_name("es") == nullptr);
    CHECK(locale::Locale::get("fr").name_en() == "Unknown");
}

TEST_CASE("pgettext ignores the context and warns, as Tornado's CSVLocale") {
    load_test_translations();
    {
        gale_test::log_capture logs;
        CHECK(locale::Locale::get("es_LA").pgettext("menu", "Sign out") == "Cerrar sesi\u00f3n");
        CHECK(locale::Locale::get("es_LA").pgettext("likes", "%(name)s liked this", "%(name)s liked this", 1) ==
              "A %(name)s le gust\u00f3 esto");
        CHECK(logs.matching("pgettext is not supported by CSVLocale").size() == 2);
    }
    gale_test::log_capture logs;
    CHECK(locale::Locale::get("en_US").pgettext("menu", "Sign out") == "Sign out");
    CHECK(logs.matching("pgettext").empty());  // no translations, no warning (as Tornado)
}

TEST_CASE("interpolate: Python's % with a dict") {
    CHECK(locale::interpolate("%(a)s and %(b)d%% done", {{"a", "x"}, {"b", "5"}}) == "x and 5% done");
    CHECK(locale::interpolate("no placeholders", {{"a", "x"}}) == "no placeholders");
    CHECK_THROWS_WITH_AS(locale::interpolate("%(missing)s", {{"a", "x"}}), "no value for 'missing' in '%(missing)s'",
                         std::invalid_argument);
    CHECK_THROWS_AS(locale::interpolate("50% off", {}), std::invalid_argument);
    CHECK_THROWS_AS(locale::interpolate("%(a)r", {{"a", "x"}}), std::invalid_argument);
}

TEST_CASE("errors: invalid UTF-8 names the file and line, a missing directory throws, unknown codes") {
    load_test_translations();
    try {
        locale::load_translations(data_dir() / "bad");
        FAIL("no exception");
    } catch (const std::runtime_error& e) {
        std::string what = e.what();
        CHECK(what.find("es.csv line 2: invalid UTF-8") != std::string::npos);
    }
    CHECK_THROWS_AS(locale::load_translations(data_dir() / "no such directory"), fs::filesystem_error);
    load_test_translations();
    CHECK_THROWS_AS(locale::Locale::get("pt_BR"), std::out_of_range);
    CHECK_THROWS_AS(locale::Locale::get("es"), std::out_of_range);
}

TEST_CASE("set_default_locale: the fallback of get_closest and a supported locale without a file") {
    load_test_translations();
    locale::set_default_locale("pt_BR");
    CHECK(locale::default_locale() == "pt_BR");
    CHECK(locale::get("xx").code() == "pt_BR");
    CHECK(locale::get("pt").code() == "pt_BR");  // through the default: "pt" itself matches nothing
    auto supported = locale::get_supported_locales();
    CHECK(std::ranges::find(supported, "pt_BR") != supported.end());
    CHECK(std::ranges::find(supported, "en_US") == supported.end());
    CHECK(locale::Locale::get("pt_BR").translate("Sign out") == "Sign out");
    CHECK(locale::Locale::get("pt_BR").name() == "Portugu\u00eas (Brasil)");
    locale::set_default_locale("en_US");
}

TEST_CASE("reloading keeps handed-out locales valid and serves the new translations") {
    load_test_translations();
    const auto& before = locale::Locale::get("es_LA");
    locale::load_translations(data_dir() / "translations");
    const auto& after = locale::Locale::get("es_LA");
    CHECK(before.translate("Sign out") == "Cerrar sesi\u00f3n");
    CHECK(after.translate("Sign out") == "Cerrar sesi\u00f3n");
    CHECK(&before != &after);
}

TEST_CASE("UTF-16 and UTF-8 BOM files, CRLF lines, quoted fields over two lines") {
    load_test_translations();
    CHECK(locale::Locale::get("de_DE").translate("Monday") == "Montag");
    CHECK(locale::Locale::get("fa").translate("Sign out") == "\u062e\u0631\u0648\u062c");
    CHECK(locale::Locale::get("fr").translate("Sign out") == "Se d\u00e9connecter");
    CHECK(locale::Locale::get("es_LA").translate("He said \"hi\"") == "Dijo \"hola\"\nen dos l\u00edneas");
}

TEST_CASE("locales from several threads at once") {
    load_test_translations();
    std::vector<std::thread> threads;
    std::atomic<int> right{0};
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] {
            for (int i = 0; i < 200; ++i) {
                const auto& l = locale::from_accept_language("es-LA;q=0.9, fr;q=0.5");
                if (l.translate("Sign out") == "Cerrar sesi\u00f3n") ++right;
            }
        });
    for (auto& t : threads) t.join();
    CHECK(right == 800);
}
