// Tornado's tornado.options for C++: options from the command line and from
// config files, defined anywhere in the program.
//
//   auto& port = gale::define("port", 8888, "run on the given port");
//   auto& hosts = gale::define<std::vector<std::string>>("memcache_hosts", {}, "cache servers",
//                                                        {.metavar = "HOST[,HOST...]"});
//   int main(int argc, char** argv) {
//       auto args = gale::parse_command_line(argc, argv);  // ./app --port=80 --memcache_hosts=a,b
//       app.listen(*port);                                   // or gale::options.value<int>("port")
//   }
//
// Synopsis:
//   OptionError                            // std::runtime_error: a bad option, value or config line
//   help_requested                         // thrown by the try_ parsers when --help is set
//   option_settings<T>{.metavar, .group, .callback}   // define's optional fourth argument
//   option<T>                              // what define returns; stays valid as long as its parser
//     value(), *opt, opt->..., default_value(), set(T), name(), help(), metavar(), group_name()
//   OptionParser                           // a set of options; gale::options is the global one
//     define<T>(name, default, help = "", option_settings<T> = {}) -> option<T>&
//     value<T>(name), get<T>(name) -> option<T>&, at(name) -> option_base&, contains(name)
//     parse_command_line(argc, argv, final = true) -> positional args   (exits on error)
//     try_parse_command_line(argc, argv | {"prog", "--x=1"}, final = true) (throws)
//     parse_config_file(path, final = true)   (exits on error)
//     try_parse_config_file(path, final = true) (throws)
//     print_help(FILE* = stderr), help_text(), add_parse_callback(f), run_parse_callbacks()
//     groups(), as_dict(), group_dict(group)   // values as text, as Python's str() shows them
//   gale::options, and free define / parse_command_line / parse_config_file / print_help /
//   add_parse_callback acting on it
//   define_logging_options(parser), enable_pretty_logging(parser = gale::options)
//
// Option types. T is one of
//   std::string, any integer type, double/float, bool, a std::chrono::duration,
//   std::chrono::system_clock::time_point (Tornado's datetime),
//   std::optional<X> of those (Tornado's default=None: no value until one is given),
//   std::vector<X> of those (Tornado's multiple=True).
// T is deduced from the default (a string literal makes std::string) or given:
// define<std::vector<int>>("ports", {8000, 8001}).
//
// Command line, as Tornado: --name=value (--name value is not an option: the
// option then "requires a value"); a bare --flag sets a bool to true; the
// first argument not starting with '-', or everything after "--", is returned
// as the positional arguments; argv[0] is the program's name. '_' and '-' in
// names are the same. A list takes comma-separated values, and a list of
// integers also takes inclusive ranges: --ports=8000:8003,9000. Booleans:
// true/t/1/yes/y/on and false/f/0/no/n/off (any case). Durations use
// Tornado's timedelta syntax: "30" (seconds), "30s", "1.5h", "5m 3s", "2.5ms",
// "1h30m"; units w, d, h, m/min, s/sec, ms, us and their long names
// (weeks, days, hours, minutes, seconds, milliseconds, microseconds); a value
// is rounded to the option's duration type. Time points take the formats of
// Tornado's datetime options ("2026-11-22 18:00:27", "20261122", "18:00" ...)
// in local time.
//
// Errors. parse_command_line and parse_config_file are for programs: on a bad
// option they print the help and "<prog>: error: <message>" to stderr and
// exit with status 2; --help prints the help and exits 0. The try_ forms
// throw OptionError (and help_requested) instead, leaving the exit to the
// caller. Messages name the option and the value ("Option 'port' requires an
// integer from 0 to 65535, not 'abc'"), config errors also the file and line
// ("app.conf:3: Unrecognized option 'prot'").
//
// Config files are not Python: each statement is `name = value`, a value is a
// quoted string ('...' or "...", with \\ \' \" \n \t escapes), a number,
// True, False, None (an optional option's "no value") or a [list, of, values]
// that may span lines; '#' starts a comment. A string given to a non-string
// option is parsed as on the command line (so port = "80" and
// hosts = "a,b" work, as in Tornado).
//
// Callbacks: an option's callback runs with the new value each time it is set
// or parsed; parse callbacks (add_parse_callback) run after a parse with
// final = true. The global parser has the logging options and enables
// pretty logging from its parse callback, as Tornado's does; to keep it from
// touching logging, set its "logging" option to "none" before parsing
// (Tornado's options.logging = None). Options are plain values: set and read
// them on one thread, or before other threads start.
//
// The help is Tornado's print_help, byte for byte for the same definitions:
// "Usage: <argv[0]> [OPTIONS]", the options grouped by their group (by
// default the file that called define, read from the call site), groups and
// names sorted, names with '-', descriptions wrapped as Python's textwrap
// does and followed by "(default <Python's str() of it>)".
//
// On purpose unlike Tornado:
// - Errors exit with status 2 after the help and a one-line message (Tornado
//   raises, and the traceback ends the program with status 1).
// - Config files are the literal syntax above, not Python code (no imports,
//   no __file__). A name in one that is no option is an error (Tornado skips
//   it, as its files may hold helper variables; here it can only be a typo).
//   An integer serves a floating-point option.
// - Booleans other than the words above are errors (Tornado takes any other
//   text as true). Units may follow one another without a space ("1h30m").
// - The logging options' group is "gale/log.hpp" (Tornado prints the path of
//   its log.py). A range may make at most 1,048,576 values.
#pragma once

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <errno.h>

#include <fmt/core.h>

#include "escape.hpp"
#include "log.hpp"

namespace gale {

// A bad option definition, option name, value or config file line.
class OptionError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Thrown by the try_ parsers when the help option is set (--help).
struct help_requested {};

class OptionParser;
void define_logging_options(OptionParser& parser);

// Makes an OptionParser with the logging options: OptionParser p{gale::with_logging_options}.
inline constexpr struct with_logging_options_t {
} with_logging_options;

namespace detail::opt {

// Where define was called, for the option's group.
struct call_site {
    const char* file = __builtin_FILE();
};

template <class T>
struct is_std_vector : std::false_type {};
template <class T, class A>
struct is_std_vector<std::vector<T, A>> : std::true_type {};

template <class T>
struct is_std_optional : std::false_type {};
template <class T>
struct is_std_optional<std::optional<T>> : std::true_type {};

template <class T>
struct is_duration : std::false_type {};
template <class R, class P>
struct is_duration<std::chrono::duration<R, P>> : std::true_type {};

using option_time_point = std::chrono::system_clock::time_point;

template <class T>
concept option_integer = std::integral<T> && !std::same_as<T, bool> && !std::same_as<T, char>;

template <class T>
concept option_scalar = std::same_as<T, std::string> || std::same_as<T, bool> || option_integer<T> ||
                        std::floating_point<T> || is_duration<T>::value || std::same_as<T, option_time_point>;

// The element type of an option type: X for X, optional<X> and vector<X>.
template <class T>
struct option_element {
    using type = T;
};
template <class T>
struct option_element<std::optional<T>> {
    using type = T;
};
template <class T>
struct option_element<std::vector<T>> {
    using type = T;
};

template <class T>
concept option_value_type = option_scalar<typename option_element<T>::type> &&
                            !(is_std_optional<T>::value && is_std_vector<typename option_element<T>::type>::value);

// The option type a default value makes: string literals and views make std::string.
template <class D>
using option_type_of =
    std::conditional_t<std::is_convertible_v<D, std::string_view> && !std::same_as<std::decay_t<D>, std::nullptr_t>,
                       std::string, std::decay_t<D>>;

inline std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

inline std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

inline std::string normalize_option_name(std::string_view name) {
    std::string out(name);
    std::replace(out.begin(), out.end(), '_', '-');
    return out;
}

// --- parsing one value from text (nullopt when the text is not one) ---

template <option_integer T>
std::optional<T> parse_integer(std::string_view text) {
    text = trim(text);
    if (!text.empty() && text.front() == '+') text.remove_prefix(1);
    T value{};
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    return value;
}

inline std::optional<double> parse_real(std::string_view text) {
    text = trim(text);
    if (!text.empty() && text.front() == '+') text.remove_prefix(1);
    double value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    return value;
}

inline std::optional<bool> parse_bool(std::string_view text) {
    std::string word = lower(trim(text));
    for (const char* t : {"true", "t", "1", "yes", "y", "on"})
        if (word == t) return true;
    for (const char* f : {"false", "f", "0", "no", "n", "off"})
        if (word == f) return false;
    return std::nullopt;
}

// Microseconds in one of Tornado's timedelta units, 0 if unknown.
inline double duration_unit_us(std::string_view unit) {
    struct entry {
        std::string_view name;
        double us;
    };
    static constexpr entry units[] = {
        {"w", 604800e6},   {"weeks", 604800e6},  {"d", 86400e6},       {"days", 86400e6},
        {"h", 3600e6},     {"hours", 3600e6},    {"m", 60e6},          {"min", 60e6},
        {"minutes", 60e6}, {"s", 1e6},           {"sec", 1e6},         {"seconds", 1e6},
        {"", 1e6},         {"ms", 1e3},          {"milliseconds", 1e3}, {"us", 1},
        {"microseconds", 1},
    };
    for (const entry& e : units)
        if (e.name == unit) return e.us;
    return 0;
}

// Tornado's timedelta syntax: numbers each followed by an optional unit.
inline std::optional<double> parse_duration_us(std::string_view text) {
    double total = 0;
    std::size_t i = 0;
    auto skip_space = [&] {
        while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    };
    skip_space();
    while (i < text.size()) {
        std::size_t start = i;
        if (text[i] == '+' || text[i] == '-') ++i;
        while (i < text.size() && ((text[i] >= '0' && text[i] <= '9') || text[i] == '.')) ++i;
        if (i < text.size() && (text[i] == 'e' || text[i] == 'E') && i + 1 < text.size() &&
            (std::isdigit(static_cast<unsigned char>(text[i + 1])) || text[i + 1] == '-' || text[i + 1] == '+')) {
            i += 2;
            while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
        }
        auto number = parse_real(text.substr(start, i - start));
        if (!number) return std::nullopt;
        skip_space();
        std::size_t unit_start = i;
        while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
        double unit = duration_unit_us(text.substr(unit_start, i - unit_start));
        if (unit == 0) return std::nullopt;
        total += *number * unit;
        skip_space();
    }
    return total;
}

inline std::optional<option_time_point> parse_time_point(std::string_view text) {
    static constexpr const char* formats[] = {
        "%a %b %d %H:%M:%S %Y", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y%m%d %H:%M:%S",
        "%Y%m%d %H:%M",         "%Y-%m-%d",          "%Y%m%d",         "%H:%M:%S",       "%H:%M",
    };
    std::string copy(text);
    for (const char* format : formats) {
        std::tm fields{};
        fields.tm_mday = 1;  // a format without a date means 1900-01-01, as Python's strptime
        const char* end = ::strptime(copy.c_str(), format, &fields);
        if (!end || *end != '\0') continue;
        fields.tm_isdst = -1;
        std::time_t t = std::mktime(&fields);
        return std::chrono::system_clock::from_time_t(t);
    }
    return std::nullopt;
}

// What a value of type T looks like, for "Option 'x' requires <this>, not '...'".
template <class T>
std::string describe_type() {
    if constexpr (std::same_as<T, std::string>) return "a string";
    else if constexpr (std::same_as<T, bool>) return "a boolean (true or false)";
    else if constexpr (option_integer<T>)
        return fmt::format("an integer from {} to {}", std::numeric_limits<T>::min(), std::numeric_limits<T>::max());
    else if constexpr (std::floating_point<T>) return "a number";
    else if constexpr (is_duration<T>::value) return "a duration (like 30s, 1.5h or 5m 3s)";
    else return "a date and time (like 2026-11-22 18:00:27)";
}

template <option_scalar T>
std::optional<T> parse_scalar(std::string_view text) {
    if constexpr (std::same_as<T, std::string>) return std::string(text);
    else if constexpr (std::same_as<T, bool>) return parse_bool(text);
    else if constexpr (option_integer<T>) return parse_integer<T>(text);
    else if constexpr (std::floating_point<T>) {
        auto v = parse_real(text);
        if (!v) return std::nullopt;
        return static_cast<T>(*v);
    } else if constexpr (is_duration<T>::value) {
        auto us = parse_duration_us(text);
        if (!us) return std::nullopt;
        std::chrono::duration<double, std::micro> exact(*us);
        if constexpr (std::chrono::treat_as_floating_point_v<typename T::rep>)
            return std::chrono::duration_cast<T>(exact);
        else {
            double units = std::round(std::chrono::duration<double, typename T::period>(exact).count());
            if (!(std::abs(units) < 9e18)) return std::nullopt;
            return T(static_cast<typename T::rep>(units));
        }
    } else return parse_time_point(text);
}

// --- Python's str() of values, for the help's "(default ...)" and as_dict ---

inline std::string python_float(double v) {
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    std::string s = fmt::format("{}", v);
    if (s.find_first_of(".en") == std::string::npos) s += ".0";
    return s;
}

// Python's str(timedelta): "0:00:30", "1 day, 2:03:04", "0:00:00.002500".
inline std::string python_timedelta(long long us) {
    long long days = us >= 0 ? us / 86400000000LL : -((-us + 86400000000LL - 1) / 86400000000LL);
    long long rest = us - days * 86400000000LL;
    long long seconds = rest / 1000000, micro = rest % 1000000;
    std::string out;
    if (days != 0) out = fmt::format("{} day{}, ", days, days == 1 || days == -1 ? "" : "s");
    out += fmt::format("{}:{:02}:{:02}", seconds / 3600, seconds / 60 % 60, seconds % 60);
    if (micro) out += fmt::format(".{:06}", micro);
    return out;
}

inline std::string python_time_point(option_time_point t) {
    std::time_t seconds = std::chrono::system_clock::to_time_t(t);
    std::tm local{};
    localtime_r(&seconds, &local);
    char text[64];
    std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &local);
    return text;
}

template <option_scalar T>
std::string python_str(const T& v) {
    if constexpr (std::same_as<T, std::string>) return v;
    else if constexpr (std::same_as<T, bool>) return v ? "True" : "False";
    else if constexpr (option_integer<T>) return fmt::format("{}", v);
    else if constexpr (std::floating_point<T>) return python_float(static_cast<double>(v));
    else if constexpr (is_duration<T>::value)
        return python_timedelta(
            std::llround(std::chrono::duration<double, std::micro>(v).count()));
    else return python_time_point(v);
}

// Python's repr() of a list element: strings quoted.
template <option_scalar T>
std::string python_repr(const T& v) {
    if constexpr (std::same_as<T, std::string>) {
        char quote = v.find('\'') != std::string::npos && v.find('"') == std::string::npos ? '"' : '\'';
        std::string out(1, quote);
        for (char c : v) {
            if (c == '\\' || c == quote) out += '\\';
            out += c;
        }
        return out + quote;
    } else {
        return python_str(v);
    }
}

template <class T>
std::string python_text(const T& v) {
    if constexpr (is_std_vector<T>::value) {
        std::string out = "[";
        for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + python_repr(v[i]);
        return out + "]";
    } else if constexpr (is_std_optional<T>::value) {
        return v ? python_str(*v) : "None";
    } else return python_str(v);
}

// --- Python's textwrap.wrap, for the help's descriptions ---

// A letter as Python's regex [^\d\W] sees it.
inline bool wrap_letter(char32_t c) { return escape::is_word(c) && !(c >= '0' && c <= '9'); }

// Python's textwrap chunks (its wordsep_re): runs of spaces; em-dashes
// ("--" between words); words, split after the hyphen of a hyphenated word
// ("well-known" -> "well-", "known") and before an em-dash.
struct wrap_chunker {
    const std::u32string& t;

    bool letter(std::size_t k) const { return k < t.size() && wrap_letter(t[k]); }
    bool word(std::size_t k) const { return k < t.size() && escape::is_word(t[k]); }
    bool word_punct(std::size_t k) const {
        return k < t.size() && (word(k) || std::u32string_view(U"!\"'&.,?").find(t[k]) != std::u32string_view::npos);
    }
    // The length of an em-dash at k (two or more hyphens, then a word character), or 0.
    std::size_t em_dash(std::size_t k) const {
        std::size_t end = k;
        while (end < t.size() && t[end] == '-') ++end;
        return end - k >= 2 && word(end) ? end - k : 0;
    }
    // Whether a hyphenated word may break after the hyphen at i - 1.
    bool hyphen_break(std::size_t i) const {
        if (i < 2 || t[i - 1] != '-') return false;
        bool before = (i >= 3 && letter(i - 3) && letter(i - 2)) ||
                      (i >= 4 && letter(i - 4) && t[i - 3] == '-' && letter(i - 2));
        return before && letter(i) && (letter(i + 1) || (i + 1 < t.size() && t[i + 1] == '-' && letter(i + 2)));
    }
    // The end of the chunk that starts at `start`.
    std::size_t end_of(std::size_t start) const {
        if (t[start] == ' ') return t.find_first_not_of(U' ', start) == std::u32string::npos
                                       ? t.size()
                                       : t.find_first_not_of(U' ', start);
        if (start > 0 && word_punct(start - 1))
            if (std::size_t dash = em_dash(start)) return start + dash;
        for (std::size_t i = start + 1;; ++i) {
            if (i >= t.size() || t[i] == ' ') return i;
            if (i - 1 > start && hyphen_break(i)) return i;
            if (word_punct(i - 1) && em_dash(i)) return i;
        }
    }
};

inline std::vector<std::u32string> wrap_chunks(const std::u32string& text) {
    std::vector<std::u32string> chunks;
    wrap_chunker chunker{text};
    for (std::size_t i = 0; i < text.size();) {
        std::size_t end = chunker.end_of(i);
        chunks.push_back(text.substr(i, end - i));
        i = end;
    }
    return chunks;
}

// textwrap's whitespace handling: tabs expanded to 8-column stops, then
// every whitespace character made a space.
inline std::u32string munge_whitespace(std::u32string_view text) {
    std::u32string out;
    std::size_t column = 0;
    for (char32_t c : text) {
        if (c == '\t') {
            std::size_t spaces = 8 - column % 8;
            out.append(spaces, U' ');
            column += spaces;
            continue;
        }
        column = c == '\n' || c == '\r' ? 0 : column + 1;
        out += c == '\n' || c == '\r' || c == '\v' || c == '\f' ? U' ' : c;
    }
    return out;
}

inline std::vector<std::string> text_wrap(std::string_view text, std::size_t width) {
    std::vector<std::u32string> chunks = wrap_chunks(munge_whitespace(escape::decode(text)));
    std::reverse(chunks.begin(), chunks.end());
    std::vector<std::string> lines;
    auto blank = [](const std::u32string& s) { return s.find_first_not_of(U' ') == std::u32string::npos; };
    while (!chunks.empty()) {
        std::vector<std::u32string> line;
        std::size_t length = 0;
        if (!lines.empty() && blank(chunks.back())) chunks.pop_back();
        while (!chunks.empty() && length + chunks.back().size() <= width) {
            length += chunks.back().size();
            line.push_back(std::move(chunks.back()));
            chunks.pop_back();
        }
        if (!chunks.empty() && chunks.back().size() > width) {
            // As Python: with no room left an empty piece is taken (and the
            // line keeps its trailing space).
            std::size_t space_left = width - length;
            std::u32string& chunk = chunks.back();
            std::size_t end = space_left;
            std::size_t hyphen = space_left == 0 ? std::u32string::npos : chunk.rfind(U'-', space_left - 1);
            if (hyphen != std::u32string::npos && hyphen > 0 && chunk.find_first_not_of(U'-') < hyphen)
                end = hyphen + 1;
            line.push_back(chunk.substr(0, end));
            length += end;
            chunk.erase(0, end);
        }
        if (!line.empty() && blank(line.back())) line.pop_back();
        if (!line.empty()) {
            std::u32string joined;
            for (auto& part : line) joined += part;
            lines.push_back(escape::encode(joined));
        }
    }
    return lines;
}

// --- config files ---

// One value of a config file: what Python's literal would have been.
struct config_value {
    enum kind_t { none, boolean, integer, real, string, list } kind = none;
    bool flag = false;
    long long integer_value = 0;
    double real_value = 0;
    std::string text;  // the string's contents, or the source text of other kinds
    std::vector<config_value> items;
};

class config_reader {
public:
    config_reader(std::string_view source, std::string name) : src_(source), name_(std::move(name)) {}

    // Calls assign(name, value, line) for each statement.
    template <class F>
    void read(F&& assign) {
        for (;;) {
            skip_blank(true);
            if (pos_ >= src_.size()) return;
            int line = line_;
            std::string name = read_name();
            skip_blank(false);
            if (pos_ >= src_.size() || src_[pos_] != '=') fail(fmt::format("expected '=' after '{}'", name));
            ++pos_;
            skip_blank(false);
            config_value value = read_value();
            skip_blank(false);
            if (pos_ < src_.size() && src_[pos_] != '\n')
                fail(fmt::format("unexpected '{}' after the value of '{}'", src_[pos_], name));
            assign(name, value, line);
        }
    }

    [[noreturn]] void fail(std::string_view message) const { fail_at(line_, message); }
    [[noreturn]] void fail_at(int line, std::string_view message) const {
        throw OptionError(fmt::format("{}:{}: {}", name_, line, message));
    }

private:
    // Skips spaces and comments; newlines too when `newlines` (between statements, inside brackets).
    void skip_blank(bool newlines) {
        while (pos_ < src_.size()) {
            char c = src_[pos_];
            if (c == '#') {
                while (pos_ < src_.size() && src_[pos_] != '\n') ++pos_;
            } else if (c == ' ' || c == '\t' || c == '\r') {
                ++pos_;
            } else if (c == '\n' && newlines) {
                ++pos_;
                ++line_;
            } else if (c == '\\' && pos_ + 1 < src_.size() && src_[pos_ + 1] == '\n') {
                pos_ += 2;
                ++line_;
            } else {
                return;
            }
        }
    }

    static bool name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'; }

    std::string read_name() {
        std::size_t start = pos_;
        while (pos_ < src_.size() && name_char(src_[pos_])) ++pos_;
        if (start == pos_) {
            std::size_t end = src_.find('\n', pos_);
            fail(fmt::format("expected 'name = value', found '{}'", trim(src_.substr(pos_, end - pos_))));
        }
        return std::string(src_.substr(start, pos_ - start));
    }

    config_value read_value() {
        if (pos_ >= src_.size() || src_[pos_] == '\n') fail("expected a value");
        char c = src_[pos_];
        if (c == '\'' || c == '"') return read_string(c);
        if (c == '[' || c == '(') return read_list(c == '[' ? ']' : ')');
        std::size_t start = pos_;
        while (pos_ < src_.size() && (name_char(src_[pos_]) || src_[pos_] == '.' || src_[pos_] == '+' ||
                                      (src_[pos_] == '-' && pos_ == start)))
            ++pos_;
        // An exponent's sign: 1e-3.
        while (pos_ < src_.size() && (src_[pos_] == '-' || src_[pos_] == '+') && pos_ > start &&
               (src_[pos_ - 1] == 'e' || src_[pos_ - 1] == 'E')) {
            ++pos_;
            while (pos_ < src_.size() && std::isdigit(static_cast<unsigned char>(src_[pos_]))) ++pos_;
        }
        std::string word(src_.substr(start, pos_ - start));
        config_value v;
        v.text = word;
        if (word == "True" || word == "False") {
            v.kind = config_value::boolean;
            v.flag = word == "True";
            return v;
        }
        if (word == "None") return v;
        std::string digits;
        for (char d : word)
            if (d != '_') digits += d;
        if (auto i = parse_integer<long long>(digits)) {
            v.kind = config_value::integer;
            v.integer_value = *i;
            return v;
        }
        if (auto r = parse_real(digits); r && digits.find_first_of("0123456789") != std::string::npos) {
            v.kind = config_value::real;
            v.real_value = *r;
            return v;
        }
        if (word.empty()) fail(fmt::format("unexpected '{}'", c));
        fail(fmt::format("'{}' is not a value (strings are quoted)", word));
    }

    config_value read_string(char quote) {
        config_value v;
        v.kind = config_value::string;
        ++pos_;
        for (;;) {
            if (pos_ >= src_.size() || src_[pos_] == '\n') fail("unterminated string");
            char c = src_[pos_++];
            if (c == quote) break;
            if (c == '\\' && pos_ < src_.size()) {
                char e = src_[pos_++];
                switch (e) {
                    case 'n': v.text += '\n'; break;
                    case 't': v.text += '\t'; break;
                    case 'r': v.text += '\r'; break;
                    case '\\': case '\'': case '"': v.text += e; break;
                    default: v.text += '\\'; v.text += e;
                }
            } else {
                v.text += c;
            }
        }
        return v;
    }

    config_value read_list(char close) {
        config_value v;
        v.kind = config_value::list;
        v.text = "[...]";
        ++pos_;
        for (;;) {
            skip_blank(true);
            if (pos_ >= src_.size()) fail(fmt::format("unclosed list, expected '{}'", close));
            if (src_[pos_] == close) {
                ++pos_;
                return v;
            }
            v.items.push_back(read_value());
            skip_blank(true);
            if (pos_ < src_.size() && src_[pos_] == ',') {
                ++pos_;
            } else if (pos_ < src_.size() && src_[pos_] != close) {
                fail(fmt::format("expected ',' or '{}' in a list", close));
            }
        }
    }

    std::string_view src_;
    std::string name_;
    std::size_t pos_ = 0;
    int line_ = 1;
};

inline constexpr std::size_t max_range_values = 1 << 20;

}  // namespace detail::opt

// Optional parts of a definition: define(name, default, help, {.metavar = "PATH"}).
template <class T>
struct option_settings {
    std::string metavar = {};                        // shown as --name=METAVAR in the help
    std::string group = {};                          // help section; default: the defining file
    std::function<void(const T&)> callback = {};     // runs with each new value
};

// One defined option; option<T> holds its typed value.
class option_base {
public:
    virtual ~option_base() = default;
    option_base(const option_base&) = delete;
    option_base& operator=(const option_base&) = delete;

    const std::string& name() const noexcept { return name_; }
    const std::string& help() const noexcept { return help_; }
    const std::string& metavar() const noexcept { return metavar_; }
    const std::string& group_name() const noexcept { return group_; }
    const std::string& file_name() const noexcept { return file_; }

    virtual bool multiple() const noexcept = 0;
    virtual bool is_bool() const noexcept = 0;
    // Sets the value from text, as on the command line; runs the callback.
    virtual void parse(std::string_view text) = 0;
    // Python's str() of the default, as the help shows it ("" for None and "").
    virtual std::string default_text() const = 0;
    // Python's str() of the current value.
    virtual std::string value_text() const = 0;
    virtual void set_from_config(const detail::opt::config_value& value) = 0;

protected:
    option_base(std::string name, std::string help, std::string metavar, std::string group, std::string file)
        : name_(std::move(name)), help_(std::move(help)), metavar_(std::move(metavar)), group_(std::move(group)),
          file_(std::move(file)) {}

    [[noreturn]] void bad_value(std::string_view what, std::string_view given) const {
        throw OptionError(fmt::format("Option '{}' requires {}, not '{}'", name_, what, given));
    }

private:
    std::string name_, help_, metavar_, group_, file_;
};

template <class T>
class option final : public option_base {
    using element = typename detail::opt::option_element<T>::type;

public:
    option(std::string name, T default_value, std::string help, option_settings<T> settings, std::string file)
        : option_base(std::move(name), std::move(help), std::move(settings.metavar),
                      settings.group.empty() ? file : std::move(settings.group), file),
          default_(default_value), value_(std::move(default_value)), callback_(std::move(settings.callback)) {}

    const T& value() const noexcept { return value_; }
    const T& operator*() const noexcept { return value_; }
    const T* operator->() const noexcept { return &value_; }
    const T& default_value() const noexcept { return default_; }

    // Sets the value (Tornado's options.name = value) and runs the callback.
    void set(T value) {
        value_ = std::move(value);
        if (callback_) callback_(value_);
    }

    bool multiple() const noexcept override { return detail::opt::is_std_vector<T>::value; }
    bool is_bool() const noexcept override { return std::same_as<element, bool>; }

    void parse(std::string_view text) override {
        if constexpr (detail::opt::is_std_vector<T>::value) {
            T values;
            std::size_t start = 0;
            for (;;) {
                std::size_t comma = text.find(',', start);
                append_parsed(values, text.substr(start, comma == std::string_view::npos ? comma : comma - start));
                if (comma == std::string_view::npos) break;
                start = comma + 1;
            }
            set(std::move(values));
        } else {
            set(T(parse_one(text)));
        }
    }

    std::string default_text() const override {
        if constexpr (detail::opt::is_std_optional<T>::value) {
            if (!default_) return "";
        }
        return detail::opt::python_text(default_);
    }
    std::string value_text() const override { return detail::opt::python_text(value_); }

    void set_from_config(const detail::opt::config_value& v) override {
        using detail::opt::config_value;
        if (v.kind == config_value::string) return parse(v.text);
        if constexpr (detail::opt::is_std_vector<T>::value) {
            if (v.kind != config_value::list)
                throw OptionError(fmt::format("Option '{}' requires a list or a comma-separated string, not {}",
                                              name(), v.text));
            T values;
            for (const config_value& item : v.items) values.push_back(from_config(item));
            set(std::move(values));
        } else if constexpr (detail::opt::is_std_optional<T>::value) {
            set(v.kind == config_value::none ? T() : T(from_config(v)));
        } else {
            set(from_config(v));
        }
    }

private:
    element parse_one(std::string_view text) const {
        auto parsed = detail::opt::parse_scalar<element>(text);
        if (!parsed) bad_value(detail::opt::describe_type<element>(), text);
        return std::move(*parsed);
    }

    // One comma-separated part; for integers also an inclusive range lo:hi.
    void append_parsed(T& values, std::string_view part) const {
        if constexpr (detail::opt::option_integer<element>) {
            std::size_t colon = part.find(':');
            if (colon != std::string_view::npos) {
                element lo = parse_one(part.substr(0, colon)), hi = parse_one(part.substr(colon + 1));
                if (hi >= lo && static_cast<double>(hi) - static_cast<double>(lo) >= detail::opt::max_range_values)
                    throw OptionError(fmt::format("Option '{}': the range {} makes too many values", name(), part));
                for (element i = lo; i <= hi; ++i) {
                    values.push_back(i);
                    if (i == hi) break;  // hi may be the type's maximum
                }
                return;
            }
        }
        values.push_back(parse_one(part));
    }

    element from_config(const detail::opt::config_value& v) const {
        using detail::opt::config_value;
        if (v.kind == config_value::string) return parse_one(v.text);
        if constexpr (std::same_as<element, bool>) {
            if (v.kind == config_value::boolean) return v.flag;
        } else if constexpr (detail::opt::option_integer<element>) {
            if (v.kind == config_value::integer && std::in_range<element>(v.integer_value))
                return static_cast<element>(v.integer_value);
        } else if constexpr (std::floating_point<element>) {
            if (v.kind == config_value::integer) return static_cast<element>(v.integer_value);
            if (v.kind == config_value::real) return static_cast<element>(v.real_value);
        }
        bad_value(detail::opt::describe_type<element>(), v.text);
    }

    T default_;
    T value_;
    std::function<void(const T&)> callback_;
};

// A set of options (Tornado's OptionParser). gale::options is the global one;
// tests and libraries may make their own. Not copyable: options refer to it.
class OptionParser {
public:
    OptionParser() {
        define<std::optional<bool>>("help", std::nullopt, "show this help information",
                                    {.callback = [](const std::optional<bool>& on) {
                                         if (on.value_or(false)) throw help_requested{};
                                     }},
                                    {""});
    }
    explicit OptionParser(with_logging_options_t) : OptionParser() { define_logging_options(*this); }
    OptionParser(const OptionParser&) = delete;
    OptionParser& operator=(const OptionParser&) = delete;

    // Defines an option; its type is the default's (a string literal makes
    // std::string) or the one given: define<std::vector<int>>("ports", {}).
    // Throws OptionError if the name is taken. The reference stays valid as
    // long as the parser.
    template <class D, class T = detail::opt::option_type_of<D>>
        requires detail::opt::option_value_type<T>
    option<T>& define(std::string_view name, D default_value, std::string_view help = {},
                      std::type_identity_t<option_settings<T>> settings = {}, detail::opt::call_site where = {}) {
        std::string key = detail::opt::normalize_option_name(name);
        if (auto found = options_.find(key); found != options_.end())
            throw OptionError(fmt::format("Option '{}' already defined in {}", key, found->second->file_name()));
        std::string file = where.file ? where.file : "";
        if (!file.empty()) file = std::filesystem::path(file).lexically_normal().string();
        auto made = std::make_unique<option<T>>(std::string(name), T(std::move(default_value)), std::string(help),
                                                std::move(settings), std::move(file));
        option<T>& result = *made;
        options_.emplace(std::move(key), std::move(made));
        return result;
    }

    bool contains(std::string_view name) const { return options_.count(detail::opt::normalize_option_name(name)) != 0; }

    // The option called `name`; OptionError if there is none.
    option_base& at(std::string_view name) const {
        auto found = options_.find(detail::opt::normalize_option_name(name));
        if (found == options_.end()) throw OptionError(fmt::format("Unrecognized option '{}'", name));
        return *found->second;
    }

    // The option called `name` of type T; OptionError if there is none or its type is another.
    template <class T>
    option<T>& get(std::string_view name) const {
        option_base& base = at(name);
        auto* typed = dynamic_cast<option<T>*>(&base);
        if (!typed) throw OptionError(fmt::format("Option '{}' is not of the type asked for", base.name()));
        return *typed;
    }

    template <class T>
    const T& value(std::string_view name) const {
        return get<T>(name).value();
    }

    template <class T>
    void set(std::string_view name, T value) {
        get<T>(name).set(std::move(value));
    }

    // --- the command line ---

    // Parses argv (argv[0] is the program) and returns the positional
    // arguments. Throws OptionError for an unknown option or a bad value, and
    // help_requested for --help. Runs the parse callbacks if `final`.
    std::vector<std::string> try_parse_command_line(int argc, const char* const* argv, bool final = true) {
        std::vector<std::string_view> args(argv, argv + argc);
        return parse_args(args, final);
    }
    std::vector<std::string> try_parse_command_line(std::initializer_list<std::string_view> args,
                                                    bool final = true) {
        return parse_args(std::span(args.begin(), args.size()), final);
    }

    // As try_parse_command_line, for programs: an error prints the help and
    // "<prog>: error: <message>" to stderr and exits with status 2; --help
    // prints the help and exits 0.
    std::vector<std::string> parse_command_line(int argc, const char* const* argv, bool final = true) {
        return or_exit([&] { return try_parse_command_line(argc, argv, final); }, true);
    }

    // --- config files ---

    // Reads `name = value` statements from `path` (see the header comment).
    // Throws OptionError ("path:line: message") and help_requested.
    void try_parse_config_file(const std::string& path, bool final = true) {
        std::ifstream in(path, std::ios::binary);
        if (!in) throw OptionError(fmt::format("{}: cannot open the config file", path));
        std::stringstream text;
        text << in.rdbuf();
        std::string source = text.str();
        detail::opt::config_reader reader(source, path);
        reader.read([&](const std::string& name, const detail::opt::config_value& value, int line) {
            auto found = options_.find(detail::opt::normalize_option_name(name));
            if (found == options_.end()) reader.fail_at(line, fmt::format("Unrecognized option '{}'", name));
            try {
                found->second->set_from_config(value);
            } catch (const OptionError& e) {
                reader.fail_at(line, e.what());
            }
        });
        if (final) run_parse_callbacks();
    }

    // As try_parse_config_file, for programs: an error prints
    // "<prog>: error: <message>" and exits with status 2.
    void parse_config_file(const std::string& path, bool final = true) {
        or_exit(
            [&] {
                try_parse_config_file(path, final);
                return 0;
            },
            false);
    }

    // --- help and callbacks ---

    // Tornado's print_help layout: options grouped by file (or group), sorted by name.
    std::string help_text() const {
        std::string out = fmt::format("Usage: {} [OPTIONS]\n\nOptions:\n\n", program_name());
        std::map<std::string, std::vector<const option_base*>> by_group;
        for (auto& [key, opt] : options_) by_group[opt->group_name()].push_back(opt.get());
        for (auto& [group, list] : by_group) {
            if (!group.empty()) out += fmt::format("\n{} options:\n\n", group);
            std::sort(list.begin(), list.end(), [](auto* a, auto* b) { return a->name() < b->name(); });
            for (const option_base* opt : list) append_help_entry(out, *opt);
        }
        out += '\n';
        return out;
    }

    void print_help(std::FILE* out = stderr) const {
        std::string text = help_text();
        std::fwrite(text.data(), 1, text.size(), out);
        std::fflush(out);
    }

    void add_parse_callback(std::function<void()> callback) { parse_callbacks_.push_back(std::move(callback)); }

    void run_parse_callbacks() {
        for (auto& callback : parse_callbacks_) callback();
    }

    // --- looking at all options ---

    std::set<std::string> groups() const {
        std::set<std::string> names;
        for (auto& [key, opt] : options_) names.insert(opt->group_name());
        return names;
    }

    // Names and values (as Python's str() shows them) of a group's options, or of all if group is "".
    std::map<std::string, std::string> group_dict(std::string_view group) const {
        std::map<std::string, std::string> values;
        for (auto& [key, opt] : options_)
            if (group.empty() || opt->group_name() == group) values.emplace(opt->name(), opt->value_text());
        return values;
    }
    std::map<std::string, std::string> as_dict() const { return group_dict(""); }

    // The name the help shows in "Usage: <name> [OPTIONS]": argv[0] of the last parse.
    std::string program_name() const {
        if (!program_.empty()) return program_;
        return program_invocation_name ? program_invocation_name : "";
    }

private:
    std::vector<std::string> parse_args(std::span<const std::string_view> args, bool final) {
        if (!args.empty()) program_ = std::string(args[0]);
        std::vector<std::string> remaining;
        for (std::size_t i = 1; i < args.size(); ++i) {
            std::string_view arg = args[i];
            if (arg.empty() || arg.front() != '-') {
                remaining.assign(args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
                break;
            }
            if (arg == "--") {
                remaining.assign(args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
                break;
            }
            arg.remove_prefix(std::min(arg.find_first_not_of('-'), arg.size()));
            std::size_t equals = arg.find('=');
            std::string name = detail::opt::normalize_option_name(arg.substr(0, equals));
            auto found = options_.find(name);
            if (found == options_.end())
                throw OptionError(fmt::format("Unrecognized command line option: '{}'", name));
            option_base& opt = *found->second;
            if (equals == std::string_view::npos) {
                if (!opt.is_bool()) throw OptionError(fmt::format("Option '{}' requires a value", name));
                opt.parse("true");
            } else {
                opt.parse(arg.substr(equals + 1));
            }
        }
        if (final) run_parse_callbacks();
        return remaining;
    }

    template <class F>
    std::invoke_result_t<F&> or_exit(F&& parse, bool show_help_on_error) {
        try {
            return parse();
        } catch (const help_requested&) {
            print_help();
            std::exit(0);
        } catch (const OptionError& e) {
            if (show_help_on_error) print_help();
            std::fputs(fmt::format("{}: error: {}\n", program_name(), e.what()).c_str(), stderr);
            std::fflush(stderr);
            std::exit(2);
        }
    }

    static void append_help_entry(std::string& out, const option_base& opt) {
        std::string prefix = detail::opt::normalize_option_name(opt.name());
        if (!opt.metavar().empty()) prefix += "=" + opt.metavar();
        std::string description = opt.help();
        std::string default_text = opt.default_text();
        if (!default_text.empty()) description += fmt::format(" (default {})", default_text);
        std::vector<std::string> lines = detail::opt::text_wrap(description, 79 - 35);
        std::size_t prefix_length = detail::escape::decode(prefix).size();
        if (prefix_length > 30 || lines.empty()) lines.insert(lines.begin(), "");
        out += fmt::format("  --{}{} {}\n", prefix, std::string(prefix_length < 30 ? 30 - prefix_length : 0, ' '),
                           lines[0]);
        for (std::size_t i = 1; i < lines.size(); ++i) out += fmt::format("{:34} {}\n", "", lines[i]);
    }

    std::map<std::string, std::unique_ptr<option_base>> options_;  // by normalized name
    std::vector<std::function<void()>> parse_callbacks_;
    std::string program_;
};

// --- logging options (Tornado's tornado.log.define_logging_options) ---

// The log_settings that the logging options of `parser` describe.
inline log_settings logging_settings(const OptionParser& parser) {
    log_settings s;
    s.logging = parser.value<std::string>("logging");
    s.log_to_stderr = parser.value<std::optional<bool>>("log_to_stderr");
    s.log_file_prefix = parser.value<std::optional<std::string>>("log_file_prefix").value_or("");
    s.log_file_max_size = parser.value<std::int64_t>("log_file_max_size");
    s.log_file_num_backups = parser.value<int>("log_file_num_backups");
    s.log_rotate_when = parser.value<std::string>("log_rotate_when");
    s.log_rotate_interval = parser.value<int>("log_rotate_interval");
    s.log_rotate_mode = parser.value<std::string>("log_rotate_mode");
    return s;
}

// Turns on formatted logging as the parser's logging options say (Tornado's
// enable_pretty_logging(options)); a bad level or rotation mode is an OptionError.
inline void enable_pretty_logging(const OptionParser& parser) {
    try {
        enable_pretty_logging(logging_settings(parser));
    } catch (const std::invalid_argument& e) {
        throw OptionError(e.what());
    }
}

// Adds Tornado's logging options to `parser`, and a parse callback that
// applies them. The global gale::options has them already.
inline void define_logging_options(OptionParser& parser) {
    const detail::opt::call_site file{"gale/log.hpp"};
    parser.define<std::string>("logging", "info",
                               "Set the log level. If 'none', gale won't touch the logging configuration.",
                               {.metavar = "debug|info|warning|error|none"}, file);
    parser.define<std::optional<bool>>("log_to_stderr", std::nullopt,
                                       "Send log output to stderr (colorized if possible). By default use stderr if "
                                       "--log_file_prefix is not set and no other logging is configured.",
                                       {}, file);
    parser.define<std::optional<std::string>>(
        "log_file_prefix", std::nullopt,
        "Path prefix for log files. Note that if you are running multiple gale processes, log_file_prefix must be "
        "different for each of them (e.g. include the port number)",
        {.metavar = "PATH"}, file);
    parser.define<std::int64_t>("log_file_max_size", 100 * 1000 * 1000, "max size of log files before rollover", {},
                                file);
    parser.define<int>("log_file_num_backups", 10, "number of log files to keep", {}, file);
    parser.define<std::string>("log_rotate_when", "midnight",
                               "specify the type of TimedRotatingFileHandler interval other options:('S', 'M', 'H', "
                               "'D', 'W0'-'W6')",
                               {}, file);
    parser.define<int>("log_rotate_interval", 1, "The interval value of timed rotating", {}, file);
    parser.define<std::string>("log_rotate_mode", "size", "The mode of rotating files(time or size)", {}, file);
    parser.add_parse_callback([&parser] { enable_pretty_logging(parser); });
}

// The global options, with the logging options defined (Tornado's
// tornado.options.options). An inline variable: it is made before any
// namespace-scope define in a file that includes this header.
inline OptionParser options{with_logging_options};

template <class D, class T = detail::opt::option_type_of<D>>
    requires detail::opt::option_value_type<T>
option<T>& define(std::string_view name, D default_value, std::string_view help = {},
                  std::type_identity_t<option_settings<T>> settings = {}, detail::opt::call_site where = {}) {
    return options.define<D, T>(name, std::move(default_value), help, std::move(settings), where);
}

inline std::vector<std::string> parse_command_line(int argc, const char* const* argv, bool final = true) {
    return options.parse_command_line(argc, argv, final);
}

inline void parse_config_file(const std::string& path, bool final = true) { options.parse_config_file(path, final); }

inline void print_help(std::FILE* out = stderr) { options.print_help(out); }

inline void add_parse_callback(std::function<void()> callback) { options.add_parse_callback(std::move(callback)); }

}  // namespace gale
