// Internal to <gale/template.hpp>: invoking a callable value — built-ins,
// methods of str / list / dict, and the application's functions.
#pragma once

#include "config.hpp"
#include "template_builtins.hpp"

namespace gale::detail::tmpl {

// Calls callee (a built-in, a bound method or a template_function) with
// args, as Python would; raises template_error as Python raises.
GALE_DECL value invoke(const value& callee, const call_args& args);

}  // namespace gale::detail::tmpl

#if GALE_HEADER_ONLY
#include "../impl/template_call.ipp"
#endif
