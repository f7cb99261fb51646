// gale/detail/websocket_deflate.hpp — permessage-deflate (RFC 7692): the negotiation and the
// per-message codec over zlib's raw deflate, without I/O.
//
//   namespace gale::detail::ws
//   struct compression_options { compression_level = 6, mem_level = 8 }   // Tornado's get_compression_options()
//   struct deflate_params { server/client_no_context_takeover, server/client_max_window_bits }
//   std::optional<accepted_offer> accept_deflate_offer(extensions_header)  // server: params + the answer
//   std::string deflate_offer()                                            // client: what Tornado offers
//   std::optional<deflate_params> read_deflate_answer(extensions_header)   // client: the server's answer
//   class deflater(context_takeover, window_bits, options): compress(message, out)
//   class inflater(context_takeover, window_bits):        decompress(payload, max_size, out) -> result
//
// Negotiation follows Tornado 6.2. A server with compression options takes
// the first permessage-deflate offer and answers with the offer's own
// parameters (it does whatever the client asks), leaving out a
// client_max_window_bits without a value; it then compresses with the
// server_* parameters and decompresses with the client_* ones. Where
// Tornado drops the connection on an offer it cannot honour (an unknown
// parameter, a bad value), gale declines that offer and looks at the next
// (RFC 7692 section 5), and it declines server_max_window_bits=8, which
// zlib's raw deflate cannot produce. A client offers
// "permessage-deflate; client_max_window_bits" and accepts any answer with
// known parameters, compressing with the client_* ones.
//
// The codec is Tornado's: each message is deflated and flushed
// (Z_SYNC_FLUSH) and the flush's 00 00 ff ff tail removed; the receiver
// puts the tail back and inflates. With context takeover the zlib stream
// lives across messages; without, it is reset after each one. A message
// whose decompressed size would pass the limit stops decompressing there
// (too_big): a small compressed frame never inflates past the limit.
#pragma once

#include <zlib.h>

#include <algorithm>
#include <cstddef>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gale::detail::ws {

// Tornado's compression options: zlib's level (GZipContentEncoding.GZIP_LEVEL) and memLevel.
struct compression_options {
    int compression_level = 6;
    int mem_level = 8;
};

// The agreed parameters of permessage-deflate (RFC 7692 section 7.1).
struct deflate_params {
    bool server_no_context_takeover = false;
    bool client_no_context_takeover = false;
    int server_max_window_bits = 15;
    int client_max_window_bits = 15;
};

namespace deflate_detail {

inline std::string_view trimmed(std::string_view s) {
    std::size_t b = s.find_first_not_of(" \t");
    if (b == std::string_view::npos) return {};
    return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

inline std::string lowered(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

// One parameter of an extension: "name" or "name=value" (value unquoted).
struct param {
    std::string name;
    std::optional<std::string> value;
};

// One element of Sec-WebSocket-Extensions: "permessage-deflate; a; b=1".
struct extension {
    std::string name;
    std::vector<param> params;
};

// Splits s at `sep` outside double quotes.
inline std::vector<std::string_view> split_unquoted(std::string_view s, char sep) {
    std::vector<std::string_view> parts;
    bool quoted = false;
    std::size_t start = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '"') quoted = !quoted;
        if (s[i] == sep && !quoted) {
            parts.push_back(s.substr(start, i - start));
            start = i + 1;
        }
    }
    parts.push_back(s.substr(start));
    return parts;
}

// Tornado's _parse_extensions_header: names lowercased, quoted values unquoted.
inline std::vector<extension> parse_extensions(std::string_view header) {
    std::vector<extension> out;
    for (std::string_view item : split_unquoted(header, ',')) {
        std::vector<std::string_view> pieces = split_unquoted(item, ';');
        extension ext{lowered(trimmed(pieces[0])), {}};
        if (ext.name.empty()) continue;
        for (std::size_t i = 1; i < pieces.size(); ++i) {
            std::string_view piece = trimmed(pieces[i]);
            if (piece.empty()) continue;
            std::size_t eq = piece.find('=');
            param p{lowered(trimmed(piece.substr(0, eq))), std::nullopt};
            if (eq != std::string_view::npos) {
                std::string_view value = trimmed(piece.substr(eq + 1));
                if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
                    value = value.substr(1, value.size() - 2);
                p.value = std::string(value);
            }
            ext.params.push_back(std::move(p));
        }
        out.push_back(std::move(ext));
    }
    return out;
}

// "8" to "15" (RFC 7692's 1*DIGIT without leading zeros); 0 otherwise.
inline int window_bits(const std::optional<std::string>& value) {
    if (!value || value->empty() || value->size() > 2 || (*value)[0] == '0') return 0;
    int bits = 0;
    for (char c : *value) {
        if (c < '0' || c > '9') return 0;
        bits = bits * 10 + (c - '0');
    }
    return bits >= 8 && bits <= 15 ? bits : 0;
}

// Reads permessage-deflate's parameters; nullopt if one is unknown, repeated or malformed.
// offer: a client's offer, where client_max_window_bits may come without a value.
inline std::optional<deflate_params> read_params(const std::vector<param>& params, bool offer) {
    deflate_params out;
    std::vector<std::string_view> seen;
    for (const param& p : params) {
        if (std::find(seen.begin(), seen.end(), p.name) != seen.end()) return std::nullopt;
        seen.push_back(p.name);
        if (p.name == "server_no_context_takeover" || p.name == "client_no_context_takeover") {
            if (p.value) return std::nullopt;
            (p.name[0] == 's' ? out.server_no_context_takeover : out.client_no_context_takeover) = true;
        } else if (p.name == "server_max_window_bits") {
            out.server_max_window_bits = window_bits(p.value);
            if (out.server_max_window_bits < 9) return std::nullopt;  // zlib's raw deflate has no 256-byte window
        } else if (p.name == "client_max_window_bits") {
            if (!p.value && offer) continue;  // "you may limit my window": Tornado does not
            out.client_max_window_bits = window_bits(p.value);
            if (out.client_max_window_bits == 0) return std::nullopt;
        } else {
            return std::nullopt;
        }
    }
    return out;
}

}  // namespace deflate_detail

struct accepted_offer {
    deflate_params params;
    std::string answer;  // the Sec-WebSocket-Extensions value of the 101
};

// Server side: the first permessage-deflate offer that can be honoured, answered with its own
// parameters (minus a valueless client_max_window_bits), as Tornado answers.
inline std::optional<accepted_offer> accept_deflate_offer(std::string_view extensions_header) {
    for (const deflate_detail::extension& ext : deflate_detail::parse_extensions(extensions_header)) {
        if (ext.name != "permessage-deflate") continue;
        std::optional<deflate_params> params = deflate_detail::read_params(ext.params, true);
        if (!params) continue;
        accepted_offer out{*params, "permessage-deflate"};
        for (const deflate_detail::param& p : ext.params) {
            if (p.name == "client_max_window_bits" && !p.value) continue;
            out.answer += "; " + p.name;
            if (p.value) out.answer += "=" + *p.value;
        }
        return out;
    }
    return std::nullopt;
}

// Client side: Tornado's offer, which lets the server choose the client's window.
inline std::string deflate_offer() { return "permessage-deflate; client_max_window_bits"; }

// Client side: the server's answer to deflate_offer(); nullopt if it is not a valid
// permessage-deflate answer (another extension, an unknown parameter, a bad value).
inline std::optional<deflate_params> read_deflate_answer(std::string_view extensions_header) {
    std::vector<deflate_detail::extension> exts = deflate_detail::parse_extensions(extensions_header);
    if (exts.size() != 1 || exts[0].name != "permessage-deflate") return std::nullopt;
    return deflate_detail::read_params(exts[0].params, false);
}

// zlib failed to set up or met corrupt data.
struct deflate_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Compresses messages for one direction of a connection.
class deflater {
public:
    deflater(bool context_takeover, int window_bits, const compression_options& options)
        : z_(std::make_unique<z_stream>()), takeover_(context_takeover) {
        if (deflateInit2(z_.get(), options.compression_level, Z_DEFLATED, -window_bits, options.mem_level,
                         Z_DEFAULT_STRATEGY) != Z_OK) {
            z_.reset();
            throw deflate_error("permessage-deflate: bad compression options");
        }
    }
    deflater(deflater&&) noexcept = default;
    deflater& operator=(deflater&&) = delete;
    ~deflater() {
        if (z_) deflateEnd(z_.get());
    }

    // Replaces out with the message's compressed payload (the flush's 00 00 ff ff tail removed).
    void compress(std::string_view message, std::string& out) {
        out.clear();
        z_->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(message.data()));
        z_->avail_in = static_cast<uInt>(message.size());
        for (;;) {
            std::size_t at = out.size();
            std::size_t room = std::max<std::size_t>(64, deflateBound(z_.get(), z_->avail_in) + 8);
            out.resize(at + room);
            z_->next_out = reinterpret_cast<Bytef*>(out.data() + at);
            z_->avail_out = static_cast<uInt>(room);
            int rc = ::deflate(z_.get(), Z_SYNC_FLUSH);
            out.resize(at + room - z_->avail_out);
            if (rc != Z_OK && rc != Z_BUF_ERROR) throw deflate_error("permessage-deflate: deflate failed");
            if (z_->avail_out != 0 && z_->avail_in == 0) break;  // all taken and flushed
        }
        if (out.size() >= 4 && out.ends_with(std::string_view("\0\0\xff\xff", 4))) out.resize(out.size() - 4);
        if (!takeover_) deflateReset(z_.get());
    }

private:
    std::unique_ptr<z_stream> z_;  // on the heap: zlib keeps a pointer back to it
    bool takeover_;
};

// Decompresses messages for one direction of a connection.
class inflater {
public:
    enum class result { ok, too_big, corrupt };

    inflater(bool context_takeover, int window_bits) : z_(std::make_unique<z_stream>()), takeover_(context_takeover) {
        if (inflateInit2(z_.get(), -window_bits) != Z_OK) {
            z_.reset();
            throw deflate_error("permessage-deflate: inflateInit2 failed");
        }
    }
    inflater(inflater&&) noexcept = default;
    inflater& operator=(inflater&&) = delete;
    ~inflater() {
        if (z_) inflateEnd(z_.get());
    }

    // Replaces out with the message of a compressed payload, never more than max_size bytes of it.
    result decompress(std::string_view payload, std::size_t max_size, std::string& out) {
        out.clear();
        static constexpr char tail[4] = {0, 0, '\xff', '\xff'};
        result r = run(payload, max_size, out);
        if (r == result::ok) r = run(std::string_view(tail, 4), max_size, out);
        if (!takeover_ || r != result::ok) inflateReset(z_.get());
        return r;
    }

private:
    result run(std::string_view in, std::size_t max_size, std::string& out) {
        z_->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
        z_->avail_in = static_cast<uInt>(in.size());
        for (;;) {
            // Room for one byte past the limit at most: that byte is how passing it shows.
            std::size_t at = out.size();
            std::size_t want = std::max<std::size_t>(in.size() * 4, 4096);
            std::size_t room = std::min(want, max_size - at);
            if (room < want) ++room;
            out.resize(at + room);
            z_->next_out = reinterpret_cast<Bytef*>(out.data() + at);
            z_->avail_out = static_cast<uInt>(room);
            int rc = ::inflate(z_.get(), Z_SYNC_FLUSH);
            out.resize(at + room - z_->avail_out);
            if (out.size() > max_size) return result::too_big;
            if (rc == Z_STREAM_END) {  // a final block (BFINAL): what follows is a new stream, without the old window
                inflateReset(z_.get());
                if (z_->avail_in == 0) return result::ok;
                continue;
            }
            if (rc != Z_OK && rc != Z_BUF_ERROR) return result::corrupt;
            if (z_->avail_out != 0) return result::ok;  // all the input taken, all its output given
        }
    }

    std::unique_ptr<z_stream> z_;
    bool takeover_;
};

}  // namespace gale::detail::ws
