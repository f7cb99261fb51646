// How gale's functions are compiled.
//
// Header-only (the default): every function is inline, defined in the
// headers, and compiled again in each translation unit that uses it.
//
// Separately (GALE_SEPARATE_COMPILATION defined in every translation unit
// of the program): the headers only declare the larger non-template
// functions; their definitions, in include/gale/impl/*.ipp, are compiled
// once, by the one translation unit that includes <gale/src.hpp>. A file
// that includes gale then compiles its own code, not the HTTP server again.
// Meson users get both by depending on `gale-compiled` instead of `gale`.
//
// GALE_DECL marks those functions: `inline` in header-only mode, nothing
// in separate mode. Templates, constexpr functions and the small functions
// of the hot path stay in the headers in both modes.
#pragma once

#if defined(GALE_SEPARATE_COMPILATION)
#define GALE_DECL
#else
#define GALE_HEADER_ONLY 1
#define GALE_DECL inline
#endif
