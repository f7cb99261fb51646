// Definitions for detail/template_call.hpp: compiled in every translation unit that includes it
// in header-only mode, once (by <gale/src.hpp>) in separate compilation
// mode; see detail/config.hpp.
#pragma once

#include "../detail/template_call.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gale::detail::tmpl {

GALE_DECL std::string_view str_arg(const value* v, std::string_view fn) {
    if (!v || !v->is_data() || !v->data().is_string())
        raise("TypeError", std::string(fn) + "() argument must be str, not " + (v ? type_name(*v) : "nothing"));
    return v->data().get_string();
}
GALE_DECL bool bool_arg(const value* v, bool otherwise) { return v ? truth(*v) : otherwise; }

GALE_DECL value key_of(const value* key, const value& item) {
    if (!key || (key->is_data() && key->data().is_null())) return item;
    std::array<value, 1> one{item};
    return invoke(*key, {one, {}});
}

GALE_DECL json::value sorted_of(const json::value& seq, const value* key, bool reverse) {
    json::array items = to_list(seq);
    if (!key || (key->is_data() && key->data().is_null())) {
        std::stable_sort(items.begin(), items.end(), [&](const json::value& a, const json::value& b) {
            return reverse ? compare(b, a, "<") < 0 : compare(a, b, "<") < 0;
        });
        return items;
    }
    std::vector<std::pair<json::value, std::size_t>> keyed;
    for (std::size_t i = 0; i < items.size(); ++i)
        keyed.emplace_back(data_of(key_of(key, value::borrow(items[i])), "key"), i);
    std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& a, const auto& b) {
        return reverse ? compare(b.first, a.first, "<") < 0 : compare(a.first, b.first, "<") < 0;
    });
    json::array out;
    out.reserve(items.size());
    for (auto& k : keyed) out.push_back(std::move(items[k.second]));
    return out;
}

GALE_DECL value min_max(const call_args& a, bool is_max) {
    const char* fn = is_max ? "max" : "min";
    json::array items = a.npos() == 1 ? to_list(data_of(a.all[0], fn)) : json::array{};
    if (a.npos() > 1)
        for (std::size_t i = 0; i < a.npos(); ++i) items.push_back(data_of(a.all[i], fn));
    if (a.npos() == 0) raise("TypeError", std::string(fn) + " expected at least 1 argument, got 0");
    if (items.empty()) {
        if (const value* d = a.kw("default")) return *d;
        raise("ValueError", std::string(fn) + "() arg is an empty sequence");
    }
    const value* key = a.kw("key");
    std::size_t best = 0;
    json::value best_key = data_of(key_of(key, value::borrow(items[0])), "key");
    for (std::size_t i = 1; i < items.size(); ++i) {
        json::value k = data_of(key_of(key, value::borrow(items[i])), "key");
        int c = compare(k, best_key, is_max ? ">" : "<");
        if (is_max ? c > 0 : c < 0) {
            best = i;
            best_key = std::move(k);
        }
    }
    return value::own(std::move(items[best]));
}

GALE_DECL json::value round_of(const call_args& a) {
    check_arity(a, "round", 1, 2);
    const json::value& x = data_of(a.all[0], "round");
    const value* nd = a.get(1, "ndigits");
    bool has_nd = nd && !(nd->is_data() && nd->data().is_null());
    if (is_intlike(x)) {
        if (!has_nd || to_int(data_of(*nd, "round")) >= 0) return as_int(x);
        double r = round_to(static_cast<double>(as_int(x)), to_int(nd->data()));
        return static_cast<std::int64_t>(r);
    }
    if (!x.is_double()) raise("TypeError", std::string("type ") + type_name(x) + " doesn't define __round__ method");
    if (!has_nd) return to_int(json::value(std::nearbyint(x.get_double())));
    return round_to(x.get_double(), to_int(data_of(*nd, "round")));
}

GALE_DECL value call_builtin(std::uint16_t id, const call_args& a) {
    std::string_view fn = builtin_names[id];
    auto arg = [&](std::size_t i) -> const json::value& {
        const value* v = a.pos(i);
        if (!v) raise("TypeError", std::string(fn) + "() missing a required argument");
        return data_of(*v, fn);
    };
    switch (id) {
    case b_len: {
        check_arity(a, fn, 1, 1);
        const json::value& x = arg(0);
        if (x.is_string()) return value::own(static_cast<std::int64_t>(code_point_count(x.get_string())));
        if (x.is_array() || x.is_object()) return value::own(static_cast<std::int64_t>(x.size()));
        raise("TypeError", std::string("object of type '") + type_name(x) + "' has no len()");
    }
    case b_str: {
        check_arity(a, fn, 0, 1);
        if (a.npos() == 0) return value::own("");
        const value& v = a.all[0];
        std::string s;
        if (v.is_data()) append_str(s, v.data(), v.data_view());
        else append_callable(s, v, callable_name(v));
        return value::own(std::move(s));
    }
    case b_repr: {
        check_arity(a, fn, 1, 1);
        std::string s;
        append_repr(s, arg(0), a.all[0].data_view());
        return value::own(std::move(s));
    }
    case b_int: check_arity(a, fn, 0, 1); return value::own(a.npos() ? to_int(arg(0)) : 0);
    case b_float: check_arity(a, fn, 0, 1); return value::own(a.npos() ? to_float(arg(0)) : 0.0);
    case b_bool: check_arity(a, fn, 0, 1); return value::own(a.npos() ? truth(a.all[0]) : false);
    case b_abs: {
        check_arity(a, fn, 1, 1);
        const json::value& x = arg(0);
        if (is_intlike(x)) {
            std::int64_t n = as_int(x);
            if (n == INT64_MIN) overflow();
            return value::own(n < 0 ? -n : n);
        }
        if (x.is_double()) return value::own(std::fabs(x.get_double()));
        raise("TypeError", std::string("bad operand type for abs(): '") + type_name(x) + "'");
    }
    case b_round: return value::own(round_of(a));
    case b_range: {
        check_arity(a, fn, 1, 3);
        std::int64_t start = 0, stop, step = 1;
        if (a.npos() == 1) {
            stop = to_int(arg(0));
        } else {
            start = to_int(arg(0));
            stop = to_int(arg(1));
            if (a.npos() == 3) step = to_int(arg(2));
        }
        if (step == 0) raise("ValueError", "range() arg 3 must not be zero");
        json::array r;
        for (std::int64_t i = start; step > 0 ? i < stop : i > stop; i += step) r.emplace_back(i);
        return value::own(std::move(r));
    }
    case b_enumerate: {
        check_arity(a, fn, 1, 2);
        const value* s = a.get(1, "start");
        std::int64_t n = s ? to_int(data_of(*s, fn)) : 0;
        json::array r;
        for (auto& e : to_list(arg(0))) r.push_back(json::array{n++, std::move(e)});
        return value::own(std::move(r));
    }
    case b_zip: {
        std::vector<json::array> lists;
        std::size_t n = SIZE_MAX;
        for (std::size_t i = 0; i < a.npos(); ++i) {
            lists.push_back(to_list(arg(i)));
            n = std::min(n, lists.back().size());
        }
        json::array r;
        for (std::size_t k = 0; !lists.empty() && k < n; ++k) {
            json::array t;
            for (auto& l : lists) t.push_back(std::move(l[k]));
            r.push_back(std::move(t));
        }
        return value::own(std::move(r));
    }
    case b_sorted:
        check_arity(a, fn, 1, 1);
        return value::own(sorted_of(arg(0), a.kw("key"), bool_arg(a.kw("reverse"), false)));
    case b_min:
    case b_max: return min_max(a, id == b_max);
    case b_sum: {
        check_arity(a, fn, 1, 2);
        const value* s = a.get(1, "start");
        json::value total = s ? data_of(*s, fn) : json::value(0);
        if (total.is_string()) raise("TypeError", "sum() can't sum strings [use ''.join(seq) instead]");
        for (auto& e : to_list(arg(0))) total = add(total, e);
        return value::own(std::move(total));
    }
    case b_list:
    case b_tuple: {
        check_arity(a, fn, 0, 1);
        json::array r = a.npos() ? to_list(arg(0)) : json::array{};
        return value::own(std::move(r), id == b_tuple ? value::view::tuple : value::view::none);
    }
    case b_dict: {
        check_arity(a, fn, 0, 1);
        json::object o;
        if (a.npos()) {
            const json::value& src = arg(0);
            if (src.is_object()) {
                o = src.get_object();
            } else {
                for (const auto& pair : to_list(src)) {
                    if (!pair.is_array() || pair.size() != 2)
                        raise("ValueError", "dictionary update sequence element has wrong length");
                    o.insert_or_assign(str_of(pair[0]), pair[1]);
                }
            }
        }
        for (std::size_t i = 0; i < a.kw_names.size(); ++i)
            o.insert_or_assign(a.kw_names[i], data_of(a.all[a.npos() + i], fn));
        return value::own(std::move(o));
    }
    case b_escape:
    case b_xhtml_escape: check_arity(a, fn, 1, 1); return value::own(xhtml_escape(str_arg(a.pos(0), fn)));
    case b_url_escape:
        check_arity(a, fn, 1, 2);
        return value::own(url_escape(str_arg(a.pos(0), fn), bool_arg(a.get(1, "plus"), true)));
    case b_json_encode: check_arity(a, fn, 1, 1); return value::own(json_encode(arg(0)));
    case b_squeeze: check_arity(a, fn, 1, 1); return value::own(squeeze(str_arg(a.pos(0), fn)));
    case b_linkify: {
        check_arity(a, fn, 1, 5);
        linkify_options o;
        o.shorten = bool_arg(a.get(1, "shorten"), false);
        if (const value* p = a.get(2, "extra_params")) o.extra_params = std::string(str_arg(p, fn));
        o.require_protocol = bool_arg(a.get(3, "require_protocol"), false);
        if (const value* p = a.get(4, "permitted_protocols")) {
            o.permitted_protocols.clear();
            for (auto& e : to_list(data_of(*p, fn))) o.permitted_protocols.push_back(str_of(e));
        }
        return value::own(linkify(str_arg(a.pos(0), fn), o));
    }
    default: raise("TypeError", "not callable");
    }
}

// Python's str.title / capitalize with ASCII case mapping.
GALE_DECL std::string title_case(std::string_view s, bool only_first) {
    std::string r(s);
    bool prev_letter = false;
    for (std::size_t i = 0; i < r.size(); ++i) {
        auto c = static_cast<unsigned char>(r[i]);
        bool letter = std::isalpha(c);
        if (only_first) r[i] = static_cast<char>(i == 0 ? std::toupper(c) : std::tolower(c));
        else if (letter) r[i] = static_cast<char>(prev_letter ? std::tolower(c) : std::toupper(c));
        prev_letter = letter;
    }
    return r;
}

GALE_DECL bool affix_matches(std::string_view s, const value& affix, bool start) {
    const json::value& a = data_of(affix, start ? "startswith" : "endswith");
    auto one = [&](const json::value& x) {
        if (!x.is_string()) raise("TypeError", "startswith first arg must be str or a tuple of str");
        return start ? s.starts_with(x.get_string()) : s.ends_with(x.get_string());
    };
    if (a.is_array()) return std::any_of(a.get_array().begin(), a.get_array().end(), one);
    return one(a);
}

GALE_DECL value dict_view(const value& recv, std::uint16_t m) {
    const json::object& o = recv.data().get_object();
    json::array r;
    r.reserve(o.size());
    for (const auto& [k, v] : o) {
        if (m == m_keys) r.emplace_back(k);
        else if (m == m_values) r.push_back(v);
        else r.push_back(json::array{k, v});
    }
    auto view = m == m_keys ? value::view::dict_keys : m == m_values ? value::view::dict_values : value::view::dict_items;
    return value::own(std::move(r), view);
}

GALE_DECL value call_method(const value& callee, const call_args& a) {
    std::uint16_t m = callee.id();
    std::string_view fn = method_names[m];
    const json::value& recv = callee.data();
    if (recv.is_object()) {
        if (m == m_get) {
            check_arity(a, fn, 1, 2);
            const json::value* v = recv.find(str_of(data_of(a.all[0], fn)));
            if (v) return callee.element(*v);
            return a.npos() > 1 ? a.all[1] : value::own(nullptr);
        }
        check_arity(a, fn, 0, 0);
        return dict_view(callee, m);
    }
    if (recv.is_array()) {
        check_arity(a, fn, 1, 1);
        const json::array& arr = recv.get_array();
        const json::value& x = data_of(a.all[0], fn);
        if (m == m_count)
            return value::own(std::count_if(arr.begin(), arr.end(), [&](const json::value& e) { return equal(e, x); }));
        for (std::size_t i = 0; i < arr.size(); ++i)
            if (equal(arr[i], x)) return value::own(static_cast<std::int64_t>(i));
        raise("ValueError", str_of(x) + " is not in list");
    }
    std::string_view s = recv.get_string();
    switch (m) {
    case m_join: {
        check_arity(a, fn, 1, 1);
        std::string out;
        std::size_t i = 0;
        for (const auto& e : to_list(data_of(a.all[0], fn))) {
            if (!e.is_string())
                raise("TypeError", "sequence item " + std::to_string(i) + ": expected str instance, " +
                                       type_name(e) + " found");
            if (i++) out += s;
            out += e.get_string();
        }
        return value::own(std::move(out));
    }
    case m_upper:
    case m_lower: {
        check_arity(a, fn, 0, 0);
        std::string r(s);
        for (char& c : r)
            c = static_cast<char>(m == m_upper ? std::toupper(static_cast<unsigned char>(c))
                                               : std::tolower(static_cast<unsigned char>(c)));
        return value::own(std::move(r));
    }
    case m_strip:
    case m_lstrip:
    case m_rstrip:
        check_arity(a, fn, 0, 1);
        return value::own(std::string(strip_chars(s, a.pos(0), m != m_rstrip, m != m_lstrip)));
    case m_split: {
        check_arity(a, fn, 0, 2);
        const value* mx = a.get(1, "maxsplit");
        return value::own(split(s, a.get(0, "sep"), mx ? to_int(data_of(*mx, fn)) : -1));
    }
    case m_replace: {
        check_arity(a, fn, 2, 3);
        std::string_view from = str_arg(a.pos(0), fn), to = str_arg(a.pos(1), fn);
        std::int64_t count = a.npos() > 2 ? to_int(data_of(a.all[2], fn)) : -1;
        std::string out;
        std::size_t start = 0;
        if (from.empty()) {  // Python inserts `to` around every character
            auto at = code_point_offsets(s);
            for (std::size_t i = 0; i + 1 < at.size() && count != 0; ++i, --count) {
                out += to;
                out.append(s.substr(at[i], at[i + 1] - at[i]));
                start = at[i + 1];
            }
            if (count != 0) out += to;
            out.append(s.substr(start));
            return value::own(std::move(out));
        }
        while (count != 0) {
            std::size_t at = s.find(from, start);
            if (at == std::string_view::npos) break;
            out.append(s.substr(start, at - start));
            out += to;
            start = at + from.size();
            --count;
        }
        out.append(s.substr(start));
        return value::own(std::move(out));
    }
    case m_startswith:
    case m_endswith: check_arity(a, fn, 1, 1); return value::own(affix_matches(s, a.all[0], m == m_startswith));
    case m_format: return value::own(brace_format(s, a));
    case m_title:
    case m_capitalize: check_arity(a, fn, 0, 0); return value::own(title_case(s, m == m_capitalize));
    case m_count:
    case m_find:
    case m_index: {
        check_arity(a, fn, 1, 1);
        std::string_view sub = str_arg(a.pos(0), fn);
        if (m == m_count) {
            if (sub.empty()) return value::own(static_cast<std::int64_t>(code_point_count(s) + 1));
            std::int64_t n = 0;
            for (std::size_t at = s.find(sub); at != std::string_view::npos; at = s.find(sub, at + sub.size())) ++n;
            return value::own(n);
        }
        std::size_t at = s.find(sub);
        if (at == std::string_view::npos) {
            if (m == m_index) raise("ValueError", "substring not found");
            return value::own(-1);
        }
        return value::own(static_cast<std::int64_t>(code_point_count(s.substr(0, at))));
    }
    default: raise("AttributeError", "no such method");
    }
}

GALE_DECL value call_function(const value& callee, const call_args& a) {
    constexpr std::size_t small = 8;
    std::array<const json::value*, small> fixed{};
    std::vector<const json::value*> heap;
    const json::value** ptrs = fixed.data();
    if (a.all.size() > small) {
        heap.resize(a.all.size());
        ptrs = heap.data();
    }
    for (std::size_t i = 0; i < a.all.size(); ++i) ptrs[i] = &data_of(a.all[i], callee.name());
    std::array<std::string_view, small> fixed_names{};
    std::vector<std::string_view> heap_names;
    std::string_view* names = fixed_names.data();
    if (a.kw_names.size() > small) {
        heap_names.resize(a.kw_names.size());
        names = heap_names.data();
    }
    for (std::size_t i = 0; i < a.kw_names.size(); ++i) names[i] = a.kw_names[i];
    template_args args({ptrs, a.npos()}, {names, a.kw_names.size()}, {ptrs + a.npos(), a.kw_names.size()});
    try {
        return value::own((*callee.fn())(args));
    } catch (const template_error&) {
        throw;
    } catch (const std::exception& e) {
        raise("Exception", std::string(callee.name()) + "(): " + e.what());
    }
}

GALE_DECL value invoke(const value& callee, const call_args& args) {
    switch (callee.type()) {
    case value::kind::builtin: return call_builtin(callee.id(), args);
    case value::kind::method:
        if (!args.kw_names.empty() && callee.id() != m_format && callee.id() != m_split)
            raise("TypeError", std::string(method_names[callee.id()]) + "() takes no keyword arguments");
        return call_method(callee, args);
    case value::kind::function: return call_function(callee, args);
    default: raise("TypeError", std::string("'") + type_name(callee) + "' object is not callable");
    }
}

}  // namespace gale::detail::tmpl
