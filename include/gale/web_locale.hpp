// RequestHandler::locale() and get_browser_locale() (Tornado's
// RequestHandler.locale): include this header where a handler asks for its
// locale. web.hpp declares them but leaves <gale/locale.hpp> out, so that a
// handler that translates nothing does not compile it.
//
//   #include <gale/web_locale.hpp>
//   struct Hello : gale::RequestHandler {
//       const gale::locale::Locale* get_user_locale() override {   // optional
//           auto lang = get_cookie("lang");
//           return lang ? &gale::locale::get(*lang) : nullptr;     // nullptr: the browser's
//       }
//       gale::task<void> get() { write(locale().translate("Sign out")); co_return; }
//   };
//
// locale(): get_user_locale(), else get_browser_locale(), computed once per
// request; set_locale(l) replaces it. get_browser_locale(default = "en_US"):
// the Accept-Language header's codes by q-value (q <= 0 and bad q-values
// dropped), the first supported one (es-la -> es_LA, else es), else the
// default locale; without the header, locale::get(default). Load the
// translations (locale::load_translations, set_default_locale) before
// serving; Locale references stay valid for the program's life.
#pragma once

#include "locale.hpp"
#include "web.hpp"

namespace gale::detail {

template <>
struct web_locale<void> {
    static const gale::locale::Locale& browser_locale(RequestHandler& h, std::string_view default_code) {
        // Tornado reads headers["Accept-Language"]: several headers joined by ",".
        if (std::optional<std::string_view> header = h.request().headers.get("Accept-Language"))
            return gale::locale::from_accept_language(*header, default_code);
        return gale::locale::Locale::get_closest({default_code});
    }
};

}  // namespace gale::detail
