// The definitions gale compiles once in separate-compilation mode (see
// detail/config.hpp): include this header in exactly one .cpp file of the
// program, and define GALE_SEPARATE_COMPILATION in all of them.
//
//   // gale.cpp, compiled with -DGALE_SEPARATE_COMPILATION like every file
//   #include <gale/src.hpp>
//
// With ASIO_SEPARATE_COMPILATION also defined everywhere, Asio's own
// definitions (its <asio/impl/src.hpp>, TLS included) are compiled here too.
// Meson's `gale-compiled` dependency does all of this.
#pragma once

#include "detail/config.hpp"

#if !defined(GALE_SEPARATE_COMPILATION)
#error "<gale/src.hpp> is for GALE_SEPARATE_COMPILATION builds: define it in every translation unit"
#endif

#if defined(ASIO_SEPARATE_COMPILATION)
#include <asio/impl/src.hpp>
#include <asio/ssl/impl/src.hpp>
#endif

// One line per header converted to the mode: its impl/<name>.ipp.
#include "impl/logging.ipp"
#include "impl/ioloop.ipp"
#include "impl/stream_buffer.ipp"
#include "impl/iostream.ipp"
#include "impl/netutil.ipp"
#include "impl/tcpserver.ipp"
#include "impl/tcpclient.ipp"
#include "impl/httputil.ipp"
#include "impl/gzip.ipp"
#include "impl/http1connection.ipp"
#include "impl/httpserver.ipp"
#include "impl/httpclient.ipp"
#include "impl/signed_value.ipp"
#include "impl/json.ipp"
#include "impl/escape.ipp"
#include "impl/regex.ipp"
#include "impl/routing.ipp"
#include "impl/static_files.ipp"
#include "impl/web.ipp"
#include "impl/log.ipp"
#include "impl/locale.ipp"
#include "impl/template_value.ipp"
#include "impl/template_expr.ipp"
#include "impl/template_call.ipp"
#include "impl/template_parse.ipp"
#include "impl/template_builtins.ipp"
#include "impl/template_render.ipp"
#include "impl/template.ipp"
#include "impl/web_template.ipp"
