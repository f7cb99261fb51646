// gale's version (Tornado's tornado.version / version_info). meson.build's
// project version is the same; tests/packaging/check.sh checks they agree.
#pragma once

#include <string_view>

// A macro too, so that it can be pasted into string literals
// ("gale/" GALE_VERSION).
#define GALE_VERSION "0.1.0"

namespace gale {

inline constexpr std::string_view version = GALE_VERSION;
inline constexpr int version_info[3] = {0, 1, 0};

}  // namespace gale
