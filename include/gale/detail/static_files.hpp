// The machinery under web.hpp's StaticFileHandler, each piece the Python
// function Tornado 6.2 relies on, so the handler answers as Tornado does:
//
//   posix_normpath / posix_abspath / posix_join   os.path.normpath, abspath, join
//   content_type(path)                           get_content_type over mimetypes.guess_type
//   parse_request_range(header)                  httputil._parse_request_range
//   content_range(start, end, total)             httputil._get_content_range
//   parse_http_date(text)                        email.utils.parsedate (time zone ignored, as Tornado does)
//   stat_path(path)                              os.stat: kind, size, mtime (whole seconds)
//   content_version(path)                        get_content_version: SHA-512 hex of the file
//   cached_version(path, use_cache)              _get_cached_version: one process-wide cache
//   reset_version_cache()                        StaticFileHandler.reset
//   file_reader                                  an open file read in order, a chunk at a time
//
// Users never include this header; web.hpp does.
#pragma once

#include "config.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace gale::detail::static_files {

// Tornado reads and sends a file in pieces of this size.
inline constexpr std::size_t chunk_size = 64 * 1024;

// ------------------------------------------------------------------ paths (posixpath)

// os.path.normpath: "." and empty components dropped, ".." resolved
// lexically (never above "/"), one leading "/" kept, or two exactly ("//"
// is special to POSIX), "." for an empty result.
GALE_DECL std::string posix_normpath(std::string_view path);

// os.path.join(a, b) for two components: b when it is absolute.
GALE_DECL std::string posix_join(std::string_view a, std::string_view b);

// os.path.abspath: relative paths are taken from the working directory.
GALE_DECL std::string posix_abspath(std::string_view path);

// ------------------------------------------------------------------ content types

// StaticFileHandler.get_content_type: mimetypes.guess_type(path), a gzip
// encoding as application/gzip (RFC 6713), any other encoding and unknown
// types as application/octet-stream. No charset is added, as in Tornado.
GALE_DECL std::string_view content_type(std::string_view path);

// ------------------------------------------------------------------ ranges

// A Range header's one range as slice indexes ([start, end)); a negative
// start counts from the end; absent bounds are open.
struct byte_range {
    std::optional<std::int64_t> start;
    std::optional<std::int64_t> end;
};

// httputil._parse_request_range: "bytes=1-2" -> {1, 3}, "bytes=6-" -> {6, -},
// "bytes=-6" -> {-6, -}, "bytes=-0" -> {-, 0}, "bytes=" -> {-, -}; anything
// else (another unit, several ranges, bad numbers) -> nullopt.
GALE_DECL std::optional<byte_range> parse_request_range(std::string_view header);

// httputil._get_content_range: "bytes 1-2/4".
GALE_DECL std::string content_range(std::optional<std::int64_t> start, std::optional<std::int64_t> end,
                                    std::int64_t total);

// ------------------------------------------------------------------ dates

// email.utils.parsedate as Tornado's should_return_304 uses it: the time
// zone is ignored (the fields are read as UTC), the result in seconds since
// the epoch. nullopt where Python returns None and, unlike Tornado (whose
// datetime() then raises, a 500), where the fields are no valid date.
GALE_DECL std::optional<std::int64_t> parse_http_date(std::string_view text);

// ------------------------------------------------------------------ files

enum class file_kind { missing, regular, directory, other };

struct file_status {
    file_kind kind = file_kind::missing;
    std::int64_t size = 0;
    std::int64_t mtime = 0;  // whole seconds, as Tornado's int(st_mtime)
};

// os.stat (symbolic links followed); a path Python cannot stat (a NUL
// byte in it, or any error) is missing, as os.path.exists says.
GALE_DECL file_status stat_path(const std::string& path);

// A file open for reading, read in order from an offset.
class file_reader {
public:
    explicit file_reader(const std::string& path);
    file_reader(const file_reader&) = delete;
    file_reader& operator=(const file_reader&) = delete;
    ~file_reader();

    void seek(std::int64_t offset);
    // Reads up to buffer.size() bytes; 0 at the end of the file.
    std::size_t read(std::span<char> buffer);
    // For IOStream::write_file.
    int fd() const noexcept { return fd_; }

private:
    int fd_;
};

// StaticFileHandler.get_content_version: the SHA-512 of the file, in hex.
GALE_DECL std::string content_version(const std::string& path);

// The file's version, or nullopt (logged) if it cannot be read; with
// use_cache, each path is hashed once per process.
GALE_DECL std::optional<std::string> cached_version(const std::string& abs_path, bool use_cache);

GALE_DECL void reset_version_cache();

}  // namespace gale::detail::static_files

#if GALE_HEADER_ONLY
#include "../impl/static_files.ipp"
#endif
