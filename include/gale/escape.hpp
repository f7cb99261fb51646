// Tornado's tornado.escape for C++: HTML, JSON and URL escaping and a few
// text helpers, with Tornado's exact output.
//
//   gale::xhtml_escape(R"(<a href="x">&'</a>)");  // &lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;
//   gale::xhtml_unescape("&lt;&eacute;&#233;&#xe9;");    // <ééé
//   gale::json_encode(gale::json::object{{"a", "</script>"}});  // {"a": "<\/script>"}
//   gale::squeeze("  a \t\n b  ");                 // "a b"
//   gale::linkify("see www.tornadoweb.org!");
//       // see <a href="http://www.tornadoweb.org">www.tornadoweb.org</a>!
//
// Synopsis (namespace gale; strings are UTF-8):
//   std::string xhtml_escape(std::string_view)     & < > " ' as entities
//   void xhtml_escape(std::string_view, std::string& out)   the same, appended to out
//   std::string xhtml_unescape(std::string_view)   &name; &#NN; &#xNN;
//   std::string json_encode(const json::value&)    json.dumps + "</" -> "<\/"
//   json::value json_decode(std::string_view)      in <gale/json_parse.hpp>
//   std::string squeeze(std::string_view)          runs of [\x00-\x20] -> " ", stripped
//   std::string linkify(std::string_view text, linkify_options = {})
//   std::string linkify(text, bool shorten, extra_params = "", require_protocol = false,
//                       permitted_protocols = {"http", "https"})   // Tornado's positional form
//   struct linkify_options { bool shorten = false; std::string extra_params;
//       std::function<std::string(std::string_view href)> extra_params_fn;
//       bool require_protocol = false;
//       std::vector<std::string> permitted_protocols{"http", "https"}; };
//   url_escape(s, plus = true), url_unescape(s, plus = true): from <gale/httputil.hpp>,
//   included here (Tornado keeps them in tornado.escape; gale keeps one copy).
//
// Where gale differs from Tornado 6.2, and why:
// - json_decode lives in <gale/json_parse.hpp> so that pages which only
//   escape do not compile simdjson. It refuses integers outside int64,
//   NaN/Infinity and lone surrogates (see json_parse.hpp).
// - xhtml_unescape leaves an entity as written when Python would produce a
//   lone surrogate (&#xd800;), which UTF-8 cannot hold, and reads only
//   ASCII digits in numeric entities (Python's int() also reads other
//   scripts' digits). Like Python's int(), it accepts '_' between digits
//   and a 0x prefix after &#x (&#x0x41; is "A").
// - linkify and xhtml_unescape follow Python's Unicode \w and \s: \s is
//   Python's exact whitespace set; \w is exact for ASCII and approximated
//   above it (letters and digits of every script are word characters;
//   whitespace, combining diacritics and the common punctuation and symbol
//   blocks are not). Invalid UTF-8 in
//   linkify's text reads as U+FFFD. Lengths and cuts in shorten count code
//   points, as Python does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "detail/config.hpp"
#include "httputil.hpp"
#include "json.hpp"

namespace gale {

namespace detail::escape {

// Python's str.isspace / re's \s for str.
constexpr bool is_space(char32_t c) noexcept {
    return (c >= 9 && c <= 13) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
           c == 0x3000;
}

// re's \w for str: exact for ASCII, approximated above it (see the header).
constexpr bool is_word(char32_t c) noexcept {
    if (c < 0x80)
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (is_space(c)) return false;
    if (c < 0xC0)  // Latin-1 punctuation and symbols, except its letters and digits
        return c == 0xAA || c == 0xB2 || c == 0xB3 || c == 0xB5 || c == 0xB9 || c == 0xBA ||
               (c >= 0xBC && c <= 0xBE);
    if (c == 0xD7 || c == 0xF7) return false;
    if (c >= 0x0300 && c <= 0x036F) return false;  // combining marks (not alphanumeric in Python)
    if (c >= 0x2000 && c <= 0x206F) return false;  // general punctuation
    if (c >= 0x20A0 && c <= 0x20CF) return false;  // currency
    if (c >= 0x2190 && c <= 0x23FF) return false;  // arrows, math operators, technical
    if (c >= 0x2500 && c <= 0x27BF) return false;  // box drawing, shapes, dingbats
    if (c >= 0x3000 && c <= 0x303F) return c == 0x3005 || c == 0x3006 || c == 0x3007 || (c >= 0x3021 && c <= 0x3029);
    if (c >= 0xFF01 && c <= 0xFF0F) return false;  // fullwidth punctuation
    if ((c >= 0xFF1A && c <= 0xFF20) || (c >= 0xFF3B && c <= 0xFF40) || (c >= 0xFF5B && c <= 0xFF65)) return false;
    if (c >= 0xE000 && c <= 0xF8FF) return false;    // private use
    if (c >= 0xFFF0 && c <= 0xFFFF) return false;    // specials (U+FFFD)
    if (c >= 0x1F000 && c <= 0x1FAFF) return false;  // emoji and pictographs
    return true;
}

// UTF-8 to code points; an invalid byte reads as U+FFFD.
GALE_DECL std::u32string decode(std::string_view s);

inline void append_utf8(std::string& out, char32_t c) {
    if (c < 0x80) {
        out += static_cast<char>(c);
    } else if (c < 0x800) {
        out += static_cast<char>(0xC0 | (c >> 6));
        out += static_cast<char>(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
        out += static_cast<char>(0xE0 | (c >> 12));
        out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (c & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (c >> 18));
        out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (c & 0x3F));
    }
}

GALE_DECL std::string encode(std::u32string_view s);

// Python's str.strip() on UTF-8 text (invalid bytes are never stripped).
GALE_DECL std::string_view strip(std::string_view s);

}  // namespace detail::escape

// Tornado 6.2's xhtml_escape: & < > " ' replaced by &amp; &lt; &gt; &quot; &#39;
// (6.3 and later write &#x27;, from Python's html.escape; gale follows the
// version it reproduces).
// The appending form writes the escaped text at the end of out (no
// allocation when out has room: the template engine renders through it).
inline void xhtml_escape(std::string_view value, std::string& out) {
    std::size_t run = 0;
    for (std::size_t i = 0; i < value.size(); ++i) {
        const char* rep;
        switch (value[i]) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&#39;"; break;
        default: continue;
        }
        out.append(value, run, i - run);
        out += rep;
        run = i + 1;
    }
    out.append(value, run);
}
inline std::string xhtml_escape(std::string_view value) {
    std::string out;
    out.reserve(value.size() + value.size() / 8);
    xhtml_escape(value, out);
    return out;
}

// Tornado's xhtml_unescape: every "&(#?)(\w+?);" replaced by the named
// entity (Python's html.entities.name2codepoint) or the decimal / hex code
// point; anything unknown or out of range is left as written.
GALE_DECL std::string xhtml_unescape(std::string_view value);

// Tornado's json_encode: Python's json.dumps(value) with "</" written "<\/",
// so the text is safe inside a <script> element.
inline std::string json_encode(const json::value& value) { return json::encode(value); }

// Tornado's squeeze: every run of characters \x00-\x20 becomes one space,
// then whitespace (Python's str.strip) is removed from both ends.
GALE_DECL std::string squeeze(std::string_view value);

struct linkify_options {
    bool shorten = false;  // shorten long URLs for display (full URL in title)
    std::string extra_params{};  // extra text inside the <a> tag, e.g. rel="nofollow"
    // If set, called with each link's href; its result is used instead of extra_params.
    std::function<std::string(std::string_view href)> extra_params_fn{};
    bool require_protocol = false;  // false: www.example.com is linked too
    std::vector<std::string> permitted_protocols{"http", "https"};
};

// Tornado's linkify: the text is xhtml-escaped, then every URL in it becomes
// a link, exactly as Tornado writes it:
//   <a href="http://www.x.org/a"[ extra_params][ title="..."]>display</a>
// A URL without a protocol (www.…) gets http:// in its href unless
// require_protocol (then it stays text); one whose protocol is not permitted
// stays text. With shorten, a display longer than 30 characters is cut to the
// host and the start of the path (or to 30 characters) with "..." added,
// and the full URL goes into title="...".
GALE_DECL std::string linkify(std::string_view text, const linkify_options& options = {});

// Tornado's positional form: linkify(text, shorten, extra_params,
// require_protocol, permitted_protocols).
GALE_DECL std::string linkify(std::string_view text, bool shorten, std::string_view extra_params = {},
                              bool require_protocol = false,
                              std::vector<std::string> permitted_protocols = {"http", "https"});

}  // namespace gale

#if GALE_HEADER_ONLY
#include "impl/escape.ipp"
#endif
