// Definitions for detail/template_render.hpp: compiled in every translation unit that includes it
// in header-only mode, once (by <gale/src.hpp>) in separate compilation
// mode; see detail/config.hpp.
#pragma once

#include "../detail/template_render.hpp"
