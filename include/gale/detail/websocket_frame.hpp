// gale/detail/websocket_frame.hpp — the RFC 6455 frame codec, without I/O.
//
//   namespace gale::detail::ws
//   enum class opcode { continuation, text, binary, close, ping, pong }
//   bool valid_utf8(text)                          // strict UTF-8 (no surrogates, no overlongs)
//   bool valid_close_code(code)                    // codes a peer may send (RFC 6455 7.4)
//   void append_frame(out, op, payload, fin = true, mask = nullptr, compressed = false)  // header + payload
//   std::string frame_head(op, size, fin = true)   // an unmasked header alone (server side)
//   std::string close_payload(code, reason)        // code (if any) then reason
//   class frame_reader(expect_masked, max_message_size)
//     use_inflater(context_takeover, window_bits)   // permessage-deflate was negotiated
//     next(bytes) -> event                          // one frame from the front of bytes
//
// Contract of frame_reader: give it the bytes received so far; next() reads
// at most one frame and says how many bytes it used (event::used, 0 while a
// frame is incomplete). Data frames are gathered into a whole message;
// control frames (ping, pong, close) may come between the fragments and
// are returned at once. event::data and event::reason view the reader's own
// buffers and stay valid until the next call. Any protocol error is an
// event of kind error with the close code to send (1002 protocol error,
// 1007 bad UTF-8, 1009 message too big) and a reason; the reader is then
// unusable. Reserved bits are refused, except RSV1 on the first frame of a
// data message once use_inflater() was called (permessage-deflate, RFC 7692:
// the message is inflated when whole; RSV1 on a control or continuation
// frame is 1002). The size limit applies to the whole message and is
// checked as soon as a frame's header is in, before its payload is read;
// a compressed message is checked again as it inflates (1009 "message too
// big after decompression", Tornado's reason), and corrupt compressed data
// is 1002.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "websocket_deflate.hpp"

namespace gale::detail::ws {

enum class opcode : std::uint8_t { continuation = 0, text = 1, binary = 2, close = 8, ping = 9, pong = 10 };

inline bool is_control(std::uint8_t op) noexcept { return (op & 0x8) != 0; }
inline bool known_opcode(std::uint8_t op) noexcept { return op <= 2 || (op >= 8 && op <= 10); }

inline bool valid_utf8(std::string_view text) noexcept {
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    const unsigned char* end = p + text.size();
    while (p < end) {
        unsigned char c = *p;
        if (c < 0x80) {
            ++p;
            continue;
        }
        std::size_t n;
        std::uint32_t cp;
        if (c >= 0xc2 && c <= 0xdf) {
            n = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (static_cast<std::size_t>(end - p) <= n) return false;
        for (std::size_t i = 1; i <= n; ++i) {
            if ((p[i] & 0xc0) != 0x80) return false;
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        p += n + 1;
    }
    return true;
}

inline bool valid_close_code(int code) noexcept {
    if (code >= 3000 && code <= 4999) return true;
    return code >= 1000 && code <= 1014 && code != 1004 && code != 1005 && code != 1006;
}

using mask_key = std::array<unsigned char, 4>;

// XORs data with the key, starting at key byte `offset % 4`.
inline void apply_mask(char* data, std::size_t n, const mask_key& key, std::size_t offset = 0) noexcept {
    for (std::size_t i = 0; i < n; ++i) data[i] = static_cast<char>(data[i] ^ key[(offset + i) & 3]);
}

// compressed: RSV1, permessage-deflate's mark on a compressed message's first frame.
inline void append_head(std::string& out, opcode op, std::uint64_t size, bool fin, bool masked,
                        bool compressed = false) {
    out += static_cast<char>((fin ? 0x80 : 0) | (compressed ? 0x40 : 0) | static_cast<std::uint8_t>(op));
    char mask_bit = masked ? char(0x80) : char(0);
    if (size < 126) {
        out += static_cast<char>(mask_bit | static_cast<char>(size));
    } else if (size <= 0xffff) {
        out += static_cast<char>(mask_bit | 126);
        out += static_cast<char>(size >> 8);
        out += static_cast<char>(size & 0xff);
    } else {
        out += static_cast<char>(mask_bit | 127);
        for (int shift = 56; shift >= 0; shift -= 8) out += static_cast<char>((size >> shift) & 0xff);
    }
}

inline std::string frame_head(opcode op, std::uint64_t size, bool fin = true) {
    std::string out;
    append_head(out, op, size, fin, false);
    return out;
}

inline void append_frame(std::string& out, opcode op, std::string_view payload, bool fin = true,
                         const mask_key* mask = nullptr, bool compressed = false) {
    append_head(out, op, payload.size(), fin, mask != nullptr, compressed);
    if (!mask) {
        out += payload;
        return;
    }
    out.append(reinterpret_cast<const char*>(mask->data()), 4);
    std::size_t at = out.size();
    out += payload;
    apply_mask(out.data() + at, payload.size(), *mask);
}

inline std::string close_payload(std::optional<int> code, std::string_view reason) {
    std::string out;
    if (!code && !reason.empty()) code = 1000;
    if (code) {
        out += static_cast<char>((*code >> 8) & 0xff);
        out += static_cast<char>(*code & 0xff);
    }
    out += reason;
    return out;
}

struct event {
    enum class kind { need_more, message, ping, pong, close, error };
    kind what = kind::need_more;
    std::size_t used = 0;                     // bytes of the input this frame took
    bool binary = false;                      // message: opcode was binary
    std::string_view data;                    // message / ping / pong payload
    std::optional<int> code;                  // close: the peer's code; error: the code to send
    std::string_view reason;                  // close / error
};

class frame_reader {
public:
    // expect_masked: true on a server (clients must mask), false on a client.
    frame_reader(bool expect_masked, std::uint64_t max_message_size)
        : expect_masked_(expect_masked), max_message_size_(max_message_size) {}

    // Accepts compressed messages from now on (the peer's side of the agreed parameters).
    void use_inflater(bool context_takeover, int window_bits) { inflater_.emplace(context_takeover, window_bits); }

    event next(std::string_view in) {
        if (!fragmented_) message_.clear();
        std::size_t have = in.size();
        if (have < 2) return {};
        auto b0 = static_cast<std::uint8_t>(in[0]);
        auto b1 = static_cast<std::uint8_t>(in[1]);
        bool fin = b0 & 0x80;
        std::uint8_t op = b0 & 0x0f;
        bool masked = b1 & 0x80;
        std::uint64_t size = b1 & 0x7f;
        bool compressed = b0 & 0x40;
        if ((b0 & 0x30) || (compressed && !inflater_)) return fail(1002, "reserved bits set");
        if (!known_opcode(op)) return fail(1002, "unknown opcode");
        if (compressed && is_control(op)) return fail(1002, "compressed control frame");
        if (compressed && op == 0) return fail(1002, "compressed continuation frame");
        if (is_control(op) && (size >= 126 || !fin)) return fail(1002, "bad control frame");
        if (masked != expect_masked_) return fail(1002, expect_masked_ ? "unmasked frame" : "masked frame");
        std::size_t at = 2;
        if (size == 126 || size == 127) {
            std::size_t bytes = size == 126 ? 2 : 8;
            if (have < at + bytes) return {};
            size = 0;
            for (std::size_t i = 0; i < bytes; ++i) size = (size << 8) | static_cast<std::uint8_t>(in[at + i]);
            at += bytes;
            if (bytes == 8 && (size >> 63)) return fail(1002, "bad frame length");
        }
        if (op == 0 && !fragmented_) return fail(1002, "nothing to continue");
        if (op != 0 && !is_control(op) && fragmented_) return fail(1002, "message not finished");
        if (!is_control(op) && size > max_message_size_ - message_.size()) return fail(1009, "message too big");
        mask_key key{};
        if (masked) {
            if (have < at + 4) return {};
            std::memcpy(key.data(), in.data() + at, 4);
            at += 4;
        }
        if (have - at < size) return {};
        std::string_view payload = in.substr(at, static_cast<std::size_t>(size));
        std::size_t used = at + static_cast<std::size_t>(size);
        if (is_control(op)) return control(op, payload, masked ? &key : nullptr, used);
        return data(op, fin, compressed, payload, masked ? &key : nullptr, used);
    }

private:
    event fail(int code, std::string_view reason) {
        event e;
        e.what = event::kind::error;
        e.code = code;
        e.reason = reason;
        return e;
    }
    static void take(std::string& into, std::string_view payload, const mask_key* key) {
        std::size_t start = into.size();
        into += payload;
        if (key) apply_mask(into.data() + start, payload.size(), *key);
    }
    event data(std::uint8_t op, bool fin, bool compressed, std::string_view payload, const mask_key* key,
               std::size_t used) {
        if (op != 0) {
            binary_ = op == static_cast<std::uint8_t>(opcode::binary);
            compressed_ = compressed;
        }
        take(message_, payload, key);
        fragmented_ = !fin;
        event e;
        e.used = used;
        if (!fin) return e;  // need_more, with bytes used
        std::string_view message = message_;
        if (compressed_) {
            inflater::result r = inflater_->decompress(message_, max_message_size_, inflated_);
            if (r == inflater::result::too_big) return fail(1009, "message too big after decompression");
            if (r == inflater::result::corrupt) return fail(1002, "bad compressed data");
            message = inflated_;
        }
        if (!binary_ && !valid_utf8(message)) return fail(1007, "invalid UTF-8");
        e.what = event::kind::message;
        e.binary = binary_;
        e.data = message;
        return e;
    }
    event control(std::uint8_t op, std::string_view payload, const mask_key* key, std::size_t used) {
        control_.clear();
        take(control_, payload, key);
        event e;
        e.used = used;
        e.data = control_;
        if (op == static_cast<std::uint8_t>(opcode::ping)) {
            e.what = event::kind::ping;
        } else if (op == static_cast<std::uint8_t>(opcode::pong)) {
            e.what = event::kind::pong;
        } else {
            e.what = event::kind::close;
            if (control_.size() == 1) return fail(1002, "bad close frame");
            if (control_.size() >= 2) {
                int code = (static_cast<std::uint8_t>(control_[0]) << 8) | static_cast<std::uint8_t>(control_[1]);
                if (!valid_close_code(code)) return fail(1002, "bad close code");
                e.code = code;
                e.reason = std::string_view(control_).substr(2);
                if (!valid_utf8(e.reason)) return fail(1007, "invalid UTF-8 in close reason");
            }
        }
        return e;
    }

    std::string message_;  // the message being gathered (reused)
    std::string control_;  // the last control frame's payload (reused)
    std::string inflated_;  // the last compressed message, inflated (reused)
    std::optional<inflater> inflater_;
    bool expect_masked_;
    bool fragmented_ = false;
    bool binary_ = false;
    bool compressed_ = false;
    std::uint64_t max_message_size_;
};

}  // namespace gale::detail::ws
