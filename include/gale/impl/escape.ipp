// Definitions for escape.hpp: compiled in every translation unit that
// includes it in header-only mode, once (by <gale/src.hpp>) in separate
// compilation mode; see detail/config.hpp. The entity table, xhtml_unescape,
// squeeze and linkify (with its URL matcher) live here; xhtml_escape and
// the per-character helpers stay inline in the header (hot paths).
#pragma once

#include "../escape.hpp"

#include <algorithm>

namespace gale {

namespace detail::escape {

GALE_DECL std::u32string decode(std::string_view s) {
    std::u32string out;
    out.reserve(s.size());
    std::size_t i = 0;
    while (i < s.size()) {
        std::int32_t cp = json::detail::decode_utf8(s, i);
        if (cp < 0) {
            out += U'\uFFFD';
            ++i;
        } else {
            out += static_cast<char32_t>(cp);
        }
    }
    return out;
}

GALE_DECL std::string encode(std::u32string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char32_t c : s) append_utf8(out, c);
    return out;
}

GALE_DECL std::string_view strip(std::string_view s) {
    while (!s.empty()) {
        std::size_t i = 0;
        std::int32_t cp = json::detail::decode_utf8(s, i);
        if (cp < 0 || !is_space(static_cast<char32_t>(cp))) break;
        s.remove_prefix(i);
    }
    while (!s.empty()) {
        std::size_t start = s.size() - 1;
        while (start > 0 && s.size() - start < 4 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
        std::size_t i = start;
        std::int32_t cp = json::detail::decode_utf8(s, i);
        if (cp < 0 || i != s.size() || !is_space(static_cast<char32_t>(cp))) break;
        s.remove_suffix(s.size() - start);
    }
    return s;
}

// Python's int(text, base) for the digits Tornado's entity pattern lets
// through: ASCII digits, '_' between digits, an optional 0x prefix in base
// 16. Values above U+10FFFF come back as 0x110000 (chr() refuses them).
GALE_DECL std::optional<std::uint32_t> py_int(std::string_view s, int base) {
    bool after_prefix = false;
    if (base == 16 && s.size() >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        s.remove_prefix(2);
        after_prefix = true;
    }
    std::uint32_t v = 0;
    bool any = false, last_underscore = false;
    for (char c : s) {
        if (c == '_') {
            if (last_underscore || (!any && !after_prefix)) return std::nullopt;
            last_underscore = true;
            continue;
        }
        int d;
        if (c >= '0' && c <= '9') d = c - '0';
        else if (base == 16 && c >= 'a' && c <= 'f') d = c - 'a' + 10;
        else if (base == 16 && c >= 'A' && c <= 'F') d = c - 'A' + 10;
        else return std::nullopt;
        last_underscore = false;
        any = true;
        v = std::min<std::uint32_t>(v * static_cast<std::uint32_t>(base) + static_cast<std::uint32_t>(d), 0x110000);
    }
    if (!any || last_underscore) return std::nullopt;
    return v;
}

struct entity {
    std::string_view name;
    char32_t code;
};
// Python's html.entities.name2codepoint (the HTML 4 entities), sorted by name.
inline constexpr entity entities[] = {
    {"AElig", 198},
    {"Aacute", 193},
    {"Acirc", 194},
    {"Agrave", 192},
    {"Alpha", 913},
    {"Aring", 197},
    {"Atilde", 195},
    {"Auml", 196},
    {"Beta", 914},
    {"Ccedil", 199},
    {"Chi", 935},
    {"Dagger", 8225},
    {"Delta", 916},
    {"ETH", 208},
    {"Eacute", 201},
    {"Ecirc", 202},
    {"Egrave", 200},
    {"Epsilon", 917},
    {"Eta", 919},
    {"Euml", 203},
    {"Gamma", 915},
    {"Iacute", 205},
    {"Icirc", 206},
    {"Igrave", 204},
    {"Iota", 921},
    {"Iuml", 207},
    {"Kappa", 922},
    {"Lambda", 923},
    {"Mu", 924},
    {"Ntilde", 209},
    {"Nu", 925},
    {"OElig", 338},
    {"Oacute", 211},
    {"Ocirc", 212},
    {"Ograve", 210},
    {"Omega", 937},
    {"Omicron", 927},
    {"Oslash", 216},
    {"Otilde", 213},
    {"Ouml", 214},
    {"Phi", 934},
    {"Pi", 928},
    {"Prime", 8243},
    {"Psi", 936},
    {"Rho", 929},
    {"Scaron", 352},
    {"Sigma", 931},
    {"THORN", 222},
    {"Tau", 932},
    {"Theta", 920},
    {"Uacute", 218},
    {"Ucirc", 219},
    {"Ugrave", 217},
    {"Upsilon", 933},
    {"Uuml", 220},
    {"Xi", 926},
    {"Yacute", 221},
    {"Yuml", 376},
    {"Zeta", 918},
    {"aacute", 225},
    {"acirc", 226},
    {"acute", 180},
    {"aelig", 230},
    {"agrave", 224},
    {"alefsym", 8501},
    {"alpha", 945},
    {"amp", 38},
    {"and", 8743},
    {"ang", 8736},
    {"aring", 229},
    {"asymp", 8776},
    {"atilde", 227},
    {"auml", 228},
    {"bdquo", 8222},
    {"beta", 946},
    {"brvbar", 166},
    {"bull", 8226},
    {"cap", 8745},
    {"ccedil", 231},
    {"cedil", 184},
    {"cent", 162},
    {"chi", 967},
    {"circ", 710},
    {"clubs", 9827},
    {"cong", 8773},
    {"copy", 169},
    {"crarr", 8629},
    {"cup", 8746},
    {"curren", 164},
    {"dArr", 8659},
    {"dagger", 8224},
    {"darr", 8595},
    {"deg", 176},
    {"delta", 948},
    {"diams", 9830},
    {"divide", 247},
    {"eacute", 233},
    {"ecirc", 234},
    {"egrave", 232},
    {"empty", 8709},
    {"emsp", 8195},
    {"ensp", 8194},
    {"epsilon", 949},
    {"equiv", 8801},
    {"eta", 951},
    {"eth", 240},
    {"euml", 235},
    {"euro", 8364},
    {"exist", 8707},
    {"fnof", 402},
    {"forall", 8704},
    {"frac12", 189},
    {"frac14", 188},
    {"frac34", 190},
    {"frasl", 8260},
    {"gamma", 947},
    {"ge", 8805},
    {"gt", 62},
    {"hArr", 8660},
    {"harr", 8596},
    {"hearts", 9829},
    {"hellip", 8230},
    {"iacute", 237},
    {"icirc", 238},
    {"iexcl", 161},
    {"igrave", 236},
    {"image", 8465},
    {"infin", 8734},
    {"int", 8747},
    {"iota", 953},
    {"iquest", 191},
    {"isin", 8712},
    {"iuml", 239},
    {"kappa", 954},
    {"lArr", 8656},
    {"lambda", 955},
    {"lang", 9001},
    {"laquo", 171},
    {"larr", 8592},
    {"lceil", 8968},
    {"ldquo", 8220},
    {"le", 8804},
    {"lfloor", 8970},
    {"lowast", 8727},
    {"loz", 9674},
    {"lrm", 8206},
    {"lsaquo", 8249},
    {"lsquo", 8216},
    {"lt", 60},
    {"macr", 175},
    {"mdash", 8212},
    {"micro", 181},
    {"middot", 183},
    {"minus", 8722},
    {"mu", 956},
    {"nabla", 8711},
    {"nbsp", 160},
    {"ndash", 8211},
    {"ne", 8800},
    {"ni", 8715},
    {"not", 172},
    {"notin", 8713},
    {"nsub", 8836},
    {"ntilde", 241},
    {"nu", 957},
    {"oacute", 243},
    {"ocirc", 244},
    {"oelig", 339},
    {"ograve", 242},
    {"oline", 8254},
    {"omega", 969},
    {"omicron", 959},
    {"oplus", 8853},
    {"or", 8744},
    {"ordf", 170},
    {"ordm", 186},
    {"oslash", 248},
    {"otilde", 245},
    {"otimes", 8855},
    {"ouml", 246},
    {"para", 182},
    {"part", 8706},
    {"permil", 8240},
    {"perp", 8869},
    {"phi", 966},
    {"pi", 960},
    {"piv", 982},
    {"plusmn", 177},
    {"pound", 163},
    {"prime", 8242},
    {"prod", 8719},
    {"prop", 8733},
    {"psi", 968},
    {"quot", 34},
    {"rArr", 8658},
    {"radic", 8730},
    {"rang", 9002},
    {"raquo", 187},
    {"rarr", 8594},
    {"rceil", 8969},
    {"rdquo", 8221},
    {"real", 8476},
    {"reg", 174},
    {"rfloor", 8971},
    {"rho", 961},
    {"rlm", 8207},
    {"rsaquo", 8250},
    {"rsquo", 8217},
    {"sbquo", 8218},
    {"scaron", 353},
    {"sdot", 8901},
    {"sect", 167},
    {"shy", 173},
    {"sigma", 963},
    {"sigmaf", 962},
    {"sim", 8764},
    {"spades", 9824},
    {"sub", 8834},
    {"sube", 8838},
    {"sum", 8721},
    {"sup", 8835},
    {"sup1", 185},
    {"sup2", 178},
    {"sup3", 179},
    {"supe", 8839},
    {"szlig", 223},
    {"tau", 964},
    {"there4", 8756},
    {"theta", 952},
    {"thetasym", 977},
    {"thinsp", 8201},
    {"thorn", 254},
    {"tilde", 732},
    {"times", 215},
    {"trade", 8482},
    {"uArr", 8657},
    {"uacute", 250},
    {"uarr", 8593},
    {"ucirc", 251},
    {"ugrave", 249},
    {"uml", 168},
    {"upsih", 978},
    {"upsilon", 965},
    {"uuml", 252},
    {"weierp", 8472},
    {"xi", 958},
    {"yacute", 253},
    {"yen", 165},
    {"yuml", 255},
    {"zeta", 950},
    {"zwj", 8205},
    {"zwnj", 8204}};

GALE_DECL std::optional<char32_t> named_entity(std::string_view name) {
    auto it = std::lower_bound(std::begin(entities), std::end(entities), name,
                               [](const entity& e, std::string_view n) { return e.name < n; });
    if (it != std::end(entities) && it->name == name) return it->code;
    return std::nullopt;
}

}  // namespace detail::escape

GALE_DECL std::string xhtml_unescape(std::string_view value) {
    namespace d = detail::escape;
    std::string out;
    out.reserve(value.size());
    std::size_t i = 0;
    while (i < value.size()) {
        std::size_t amp = value.find('&', i);
        if (amp == std::string_view::npos) break;
        out.append(value, i, amp - i);
        std::size_t j = amp + 1;
        bool hash = j < value.size() && value[j] == '#';
        if (hash) ++j;
        std::size_t name_start = j;
        while (j < value.size()) {  // a run of \w
            std::size_t k = j;
            std::int32_t cp = json::detail::decode_utf8(value, k);
            if (cp < 0 || !d::is_word(static_cast<char32_t>(cp))) break;
            j = k;
        }
        if (j == name_start || j >= value.size() || value[j] != ';') {
            out += '&';
            i = amp + 1;
            continue;
        }
        std::string_view name = value.substr(name_start, j - name_start);
        std::optional<char32_t> code;
        if (hash) {
            std::optional<std::uint32_t> n = (name[0] == 'x' || name[0] == 'X') ? d::py_int(name.substr(1), 16)
                                                                                 : d::py_int(name, 10);
            if (n && *n <= 0x10FFFF && !(*n >= 0xD800 && *n <= 0xDFFF)) code = static_cast<char32_t>(*n);
        } else {
            code = d::named_entity(name);
        }
        if (code) d::append_utf8(out, *code);
        else out.append(value, amp, j + 1 - amp);
        i = j + 1;
    }
    if (i < value.size()) out.append(value, i);
    return out;
}

GALE_DECL std::string squeeze(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (std::size_t i = 0; i < value.size();) {
        if (static_cast<unsigned char>(value[i]) <= 0x20) {
            while (i < value.size() && static_cast<unsigned char>(value[i]) <= 0x20) ++i;
            out += ' ';
        } else {
            out += value[i++];
        }
    }
    std::string_view stripped = detail::escape::strip(out);
    return std::string(stripped);
}

namespace detail::escape {

// Tornado's _URL_RE, matched by hand at position p of the escaped text:
//   \b((?:([\w-]+):(/{1,3})|www[.])(?:(?:(?:[^\s&()]|&amp;|&quot;)*
//   (?:[^!"#$%&'()*+,.:;<=>?@\[\]^`{|}~\s]))|(?:\((?:[^\s&()]|&amp;|&quot;)*\)))+)
struct url_match {
    std::size_t end;
    std::size_t proto_len;  // 0: the www. form
    std::size_t slashes;
};

class url_matcher {
public:
    explicit url_matcher(std::u32string_view t) : t_(t) {}

    std::optional<url_match> at(std::size_t p) const {
        bool prev = p > 0 && is_word(t_[p - 1]);
        if (p >= t_.size() || prev == is_word(t_[p])) return std::nullopt;  // \b
        std::size_t j = p;
        while (j < t_.size() && (is_word(t_[j]) || t_[j] == U'-')) ++j;
        if (j > p && j < t_.size() && t_[j] == U':') {
            std::size_t k = 0;
            while (k < 3 && j + 1 + k < t_.size() && t_[j + 1 + k] == U'/') ++k;
            for (; k >= 1; --k)
                if (std::size_t end = body(j + 1 + k)) return url_match{end, j - p, k};
        }
        if (t_.substr(p, 4) == U"www.")
            if (std::size_t end = body(p + 4)) return url_match{end, 0, 0};
        return std::nullopt;
    }

private:
    // [^\s&()] is one character; &amp; and &quot; are whole tokens.
    std::size_t plain_token(std::size_t i) const {
        if (i >= t_.size()) return 0;
        char32_t c = t_[i];
        if (c == U'&') {
            if (t_.substr(i, 5) == U"&amp;") return 5;
            if (t_.substr(i, 6) == U"&quot;") return 6;
            return 0;
        }
        if (is_space(c) || c == U'(' || c == U')') return 0;
        return 1;
    }
    static bool url_end_char(char32_t c) {
        return !is_space(c) && !(c < 0x80 && std::u32string_view(U"!\"#$%&'()*+,.:;<=>?@[]^`{|}~").find(c) !=
                                                   std::u32string_view::npos);
    }
    // The (A|B)+ part from q; returns its end, or 0 when not even one
    // repetition matches. Greedy choices are the regex's first success
    // here because nothing follows the group (see test_escape.cpp's corpus).
    std::size_t body(std::size_t q) const {
        std::size_t pos = q;
        for (;;) {
            std::size_t i = pos, last_end = 0;  // A: tokens, ending at the last end character
            while (std::size_t n = plain_token(i)) {
                if (n == 1 && url_end_char(t_[i])) last_end = i + 1;
                i += n;
            }
            if (last_end) {
                pos = last_end;
                continue;
            }
            if (pos < t_.size() && t_[pos] == U'(') {  // B: ( tokens )
                i = pos + 1;
                while (std::size_t n = plain_token(i)) i += n;
                if (i < t_.size() && t_[i] == U')') {
                    pos = i + 1;
                    continue;
                }
            }
            break;
        }
        return pos > q ? pos : 0;
    }

    std::u32string_view t_;
};

}  // namespace detail::escape

GALE_DECL std::string linkify(std::string_view text, const linkify_options& options) {
    namespace d = detail::escape;
    std::u32string t = d::decode(xhtml_escape(text));
    std::string fixed_params;
    if (!options.extra_params.empty() && !options.extra_params_fn)
        fixed_params = " " + std::string(d::strip(options.extra_params));
    d::url_matcher matcher(t);
    std::string out;
    out.reserve(text.size() + text.size() / 4);
    std::size_t p = 0, run = 0;
    while (p < t.size()) {
        std::optional<d::url_match> m = matcher.at(p);
        if (!m) {
            ++p;
            continue;
        }
        out += d::encode(std::u32string_view(t).substr(run, p - run));
        std::u32string_view url_text = std::u32string_view(t).substr(p, m->end - p);
        std::u32string_view proto = url_text.substr(0, m->proto_len);
        p = run = m->end;
        bool linked = !(options.require_protocol && proto.empty());
        if (linked && !proto.empty()) {
            std::string p8 = d::encode(proto);
            linked = std::find(options.permitted_protocols.begin(), options.permitted_protocols.end(), p8) !=
                     options.permitted_protocols.end();
        }
        if (!linked) {
            out += d::encode(url_text);
            continue;
        }
        std::string href = proto.empty() ? "http://" + d::encode(url_text) : d::encode(url_text);
        std::string params =
            options.extra_params_fn ? " " + std::string(d::strip(options.extra_params_fn(href))) : fixed_params;
        std::u32string url(url_text);
        constexpr std::size_t max_len = 30;
        if (options.shorten && url.size() > max_len) {
            std::u32string before_clip = url;
            std::size_t proto_len = proto.empty() ? 0 : proto.size() + 1 + m->slashes;
            std::u32string_view rest = std::u32string_view(before_clip).substr(proto_len);
            std::size_t slash = rest.find(U'/');
            if (slash != std::u32string_view::npos) {
                std::u32string_view host = rest.substr(0, slash);
                std::u32string_view part1 = rest.substr(slash + 1);
                part1 = part1.substr(0, std::min(part1.find(U'/'), part1.size()));
                part1 = part1.substr(0, 8);
                part1 = part1.substr(0, std::min(part1.find(U'?'), part1.size()));
                part1 = part1.substr(0, std::min(part1.find(U'.'), part1.size()));
                url = before_clip.substr(0, proto_len);
                url += host;
                url += U'/';
                url += part1;
            }
            if (url.size() > max_len + max_len / 2) url.resize(max_len);
            if (url != before_clip) {
                std::size_t amp = url.rfind(U'&');
                if (amp != std::u32string::npos && amp > max_len - 5) url.resize(amp);
                url += U"...";
                if (url.size() >= before_clip.size()) {
                    url = before_clip;
                } else {
                    params += " title=\"" + href + "\"";
                }
            }
        }
        out += "<a href=\"";
        out += href;
        out += '"';
        out += params;
        out += '>';
        out += d::encode(url);
        out += "</a>";
    }
    out += d::encode(std::u32string_view(t).substr(run));
    return out;
}

GALE_DECL std::string linkify(std::string_view text, bool shorten, std::string_view extra_params,
                              bool require_protocol,
                              std::vector<std::string> permitted_protocols) {
    linkify_options options;
    options.shorten = shorten;
    options.extra_params = std::string(extra_params);
    options.require_protocol = require_protocol;
    options.permitted_protocols = std::move(permitted_protocols);
    return linkify(text, options);
}

}  // namespace gale
