// gale/websocket.hpp — tornado.websocket: WebSocket handlers (RFC 6455) on gale::web.
//
//   struct WebSocketClosedError : std::runtime_error      // write_message / ping on a closing connection
//   template <class Derived>
//   class WebSocketHandler : public RequestHandler        // derive with CRTP: struct H : WebSocketHandler<H>
//     hooks of Derived, found at compile time (each may return void or task<void>; all optional):
//       open(std::string_view... path_args)  or  open(std::span<const std::string_view>)
//       on_message(std::string_view message, bool binary)  // a task: the next message waits for it
//       on_ping(std::string_view data), on_pong(std::string_view data), on_close()
//     virtual hooks: check_origin(origin) -> bool          // default: the Origin's host is the Host header
//                    select_subprotocol(offered) -> optional<string>
//                    max_message_size() -> size_t          // default: Settings::websocket_max_message_size
//     write_message(text, binary = false), write_message(json)   // awaitable, see below
//     ping(data = ""), close(code = nullopt, reason = ""), is_closing()
//     close_code(), close_reason(), selected_subprotocol()
//
//   task<WebSocketClientConnection> websocket_connect(url, websocket_connect_options = {})   // ws:// only
//     websocket_connect_options { subprotocols, connect_timeout, max_message_size }
//     WebSocketClientConnection: read_message() -> task<optional<WebSocketMessage{data, binary}>> (nullopt once
//       closed), write_message(text, binary = false), ping(data), close(code, reason), close_code(),
//       close_reason(), selected_subprotocol()
//   struct WebSocketError : std::runtime_error           // the handshake failed ("HTTP 404: Not Found")
//
//   struct Echo : gale::WebSocketHandler<Echo> {
//       void open() { set_nodelay(true); }
//       gale::task<void> on_message(std::string_view m, bool binary) { co_await write_message(m, binary); }
//       void on_close() {}
//   };
//   gale::Application app({{"/ws", gale::handler<Echo>()}});
//
// Contract:
// - get() performs Tornado's handshake: 400 'Can "Upgrade" only to "WebSocket".', 400 '"Connection" must be
//   "Upgrade".', 403 "Cross origin websockets not allowed" (check_origin, called only when the request has an
//   Origin or Sec-Websocket-Origin header), 426 with "Sec-WebSocket-Version: 7, 8, 13" for other versions,
//   400 "Missing/Invalid WebSocket headers" without Host or Sec-WebSocket-Key. Otherwise it answers 101 (through
//   finish(), so the access log shows the 101 as Tornado's does), takes the stream from HTTP (detach) and runs
//   the connection inside get() itself: open(), then one message at a time, then on_close() exactly once. The
//   handler object therefore lives until the connection is closed; anything that keeps a pointer to it (a chat
//   room's set of users) must drop it in on_close().
// - The views handed to on_message / on_ping / on_pong are valid until the hook (or its task) finishes.
// - write_message / ping queue the frame at once (awaiting is optional, as in Tornado) and throw
//   WebSocketClosedError if the connection is closing; awaiting the result waits until the kernel has the frame
//   and throws WebSocketClosedError if the connection closed first. Use them from the loop's thread only:
//   another thread posts the work with loop.add_callback(...) (loop: the IOLoop that served the request,
//   IOLoop::current() in open()), and the posted callback finds the handler in a set kept on that loop (a
//   chat room's users, each removed in its on_close()) before writing, never through a pointer captured on
//   the other thread. A broadcast that awaits between writes iterates over a copy of the set (connections
//   may close meanwhile) and skips those that are closing.
// - close(code, reason) sends a close frame (code 1000 when only a reason is given) and waits up to 5 seconds for
//   the peer's; a close frame from the peer sets close_code() / close_reason() and is answered with its code.
// - Protocol errors from the peer (unmasked frame, reserved bits, unknown opcode, bad control frame, bad
//   fragment order, a close code that may not be sent) close the connection with 1002, invalid UTF-8 in a text
//   message with 1007, a message over max_message_size() with 1009 "message too big". Unlike Tornado, which
//   drops the TCP connection silently, gale sends that close frame first (RFC 6455 section 7.1.7).
// - An exception from open() or a message hook is logged as Tornado's log_exception does and drops the
//   connection.
// - The client masks every frame (a fresh key per frame), answers pings and the server's close frame inside
//   read_message(), and applies the same protocol checks (server frames must not be masked).
// - Not yet: permessage-deflate (offers are ignored), Settings::websocket_ping_interval / ping_timeout, wss://, the
//   close timeout on the client side.
#pragma once

#include <chrono>
#include <cstring>
#include <concepts>
#include <cstddef>
#include <exception>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <openssl/evp.h>

#include "detail/logging.hpp"
#include "detail/websocket_frame.hpp"
#include "iostream.hpp"
#include "json.hpp"
#include "task.hpp"
#include "tcpclient.hpp"
#include "web.hpp"

namespace gale {

struct WebSocketClosedError : std::runtime_error {
    WebSocketClosedError() : std::runtime_error("WebSocket is closed") {}
};

namespace detail::ws {

// Sec-WebSocket-Accept: base64(SHA-1(key + RFC 6455's GUID)).
inline std::string accept_value(std::string_view key) {
    std::string text(key);
    text += "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    if (EVP_Digest(text.data(), text.size(), digest, &size, EVP_sha1(), nullptr) != 1)
        throw std::runtime_error("SHA-1 failed");
    unsigned char out[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
    int n = EVP_EncodeBlock(out, digest, static_cast<int>(size));
    return std::string(reinterpret_cast<const char*>(out), static_cast<std::size_t>(n));
}

// Whether a comma-separated header value lists `token` (case-insensitive).
inline bool lists_token(std::string_view value, std::string_view token) {
    while (!value.empty()) {
        std::size_t comma = value.find(',');
        std::string_view item = value.substr(0, comma);
        std::size_t b = item.find_first_not_of(" \t");
        std::size_t e = item.find_last_not_of(" \t");
        if (b != std::string_view::npos && iequals(item.substr(b, e - b + 1), token)) return true;
        if (comma == std::string_view::npos) break;
        value.remove_prefix(comma + 1);
    }
    return false;
}

// The host[:port] of a URL (urlparse's netloc), lowercased.
inline std::string url_netloc(std::string_view url) {
    std::size_t scheme = url.find("//");
    if (scheme != std::string_view::npos) url.remove_prefix(scheme + 2);
    url = url.substr(0, url.find_first_of("/?#"));
    return ascii_lowered(url);
}

// Runs a hook returning void or task<void>; an empty task for void.
template <class F>
task<void> as_task(F&& hook) {
    if constexpr (std::is_void_v<std::invoke_result_t<F&>>) {
        hook();
        return task<void>();
    } else {
        return hook();
    }
}

template <class D, class Indices>
struct opens_with_n;
template <class D, std::size_t... I>
struct opens_with_n<D, std::index_sequence<I...>> {
    static constexpr bool value = requires(D& d) { d.open(((void)I, std::string_view())...); };
};
template <class D, std::size_t N>
inline constexpr bool opens_with = opens_with_n<D, std::make_index_sequence<N>>::value;

template <class D, std::size_t... I>
task<void> open_with(D& d, std::span<const std::string_view> args, std::index_sequence<I...>) {
    return as_task([&] { return d.open(args[I]...); });
}

// Calls the open() that takes args.size() views; any_open: a smaller arity exists.
template <class D, std::size_t N = 0>
task<void> open_by_arity(D& d, std::span<const std::string_view> args, bool any_open = false) {
    if constexpr (N > max_path_args) {
        if (any_open)
            throw std::invalid_argument("open() does not take " + std::to_string(args.size()) + " path arguments");
        return task<void>();
    } else if constexpr (opens_with<D, N>) {
        if (args.size() == N) return open_with(d, args, std::make_index_sequence<N>{});
        return open_by_arity<D, N + 1>(d, args, true);
    } else {
        return open_by_arity<D, N + 1>(d, args, any_open);
    }
}

template <class D>
task<void> call_open(D& d, std::span<const std::string_view> args) {
    if constexpr (requires(std::span<const std::string_view> a) { d.open(a); })
        return as_task([&] { return d.open(args); });
    else
        return open_by_arity(d, args);
}

}  // namespace detail::ws

// The awaitable write_message and ping return (server and client).
class websocket_write {
public:
    explicit websocket_write(IOStream::write_awaiter w) : write_(std::move(w)) {}
    bool await_ready() const noexcept { return write_.await_ready(); }
    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> h) {
        return write_.await_suspend(h);
    }
    void await_resume() const {
        try {
            write_.await_resume();
        } catch (const StreamClosedError&) {
            throw WebSocketClosedError();
        }
    }

private:
    IOStream::write_awaiter write_;
};

template <class Derived>
class WebSocketHandler : public RequestHandler {
public:
    // ------------------------------------------------------------ the handshake and the connection

    task<void> get(std::span<const std::string_view> args) {
        if (!handshake_ok()) co_return;
        std::string_view version = request().headers.get("Sec-WebSocket-Version").value_or(std::string_view());
        if (version != "13" && version != "8" && version != "7") {
            set_status(426, "Upgrade Required");
            set_header("Sec-WebSocket-Version", "7, 8, 13");
            co_return;
        }
        if (!request().headers.get("Host") || !request().headers.get("Sec-Websocket-Key")) {
            refuse(400, "Missing/Invalid WebSocket headers");
            co_return;
        }
        accept();
        co_await serve(args);
    }

    // ------------------------------------------------------------ overridable

    // Tornado's default: accept only an Origin whose host[:port] is this request's Host.
    virtual bool check_origin(std::string_view origin) {
        return detail::ws::url_netloc(origin) == request().headers.get("Host", "");
    }
    // One of the offered subprotocols (Sec-WebSocket-Protocol), or none.
    virtual std::optional<std::string> select_subprotocol(std::span<const std::string> /*offered*/) {
        return std::nullopt;
    }
    virtual std::size_t max_message_size() const { return settings().websocket_max_message_size; }

    // ------------------------------------------------------------ sending

    websocket_write write_message(std::string_view message, bool binary = false) {
        return websocket_write(send_frame(binary ? detail::ws::opcode::binary : detail::ws::opcode::text, message));
    }
    websocket_write write_message(const char* message) { return write_message(std::string_view(message)); }
    // A JSON value is sent as text (Tornado's json_encode).
    template <class J>
        requires(std::same_as<J, json::value> || std::same_as<J, json::object>)
    websocket_write write_message(const J& message) {
        std::string text = json::encode(json::value(message));
        return write_message(std::string_view(text));
    }
    // Data: at most 125 bytes (std::invalid_argument otherwise).
    websocket_write ping(std::string_view data = {}) {
        if (data.size() > 125) throw std::invalid_argument("ping data too long");
        return websocket_write(send_frame(detail::ws::opcode::ping, data));
    }

    // Starts the closing handshake; harmless if already closing.
    void close(std::optional<int> code = std::nullopt, std::string_view reason = {}) {
        if (!stream_) return;
        if (!server_terminated_) {
            server_terminated_ = true;
            if (!stream_->closed()) {
                try {
                    (void)stream_->write(close_frame(code, reason));
                } catch (const StreamClosedError&) {
                    stream_->close();
                }
            }
        }
        if (client_terminated_) {
            stream_->close();
        } else if (!close_timer_) {
            close_timer_ = IOLoop::current().call_later(std::chrono::seconds(5),
                                                        [weak = std::weak_ptr<IOStream>(stream_)] {
                                                            if (auto s = weak.lock()) s->close();
                                                        });
        }
    }

    bool is_closing() const noexcept {
        return !stream_ || stream_->closed() || client_terminated_ || server_terminated_;
    }
    std::optional<int> close_code() const noexcept { return close_code_; }
    const std::optional<std::string>& close_reason() const noexcept { return close_reason_; }
    const std::optional<std::string>& selected_subprotocol() const noexcept { return subprotocol_; }
    void set_nodelay(bool value) {
        if (stream_) stream_->set_nodelay(value);
    }

private:
    using event = detail::ws::event;

    Derived& self() noexcept { return static_cast<Derived&>(*this); }

    void refuse(int status, std::string_view message) {
        set_status(status);
        finish(message);
        detail::log(detail::gen_log, detail::log_level::debug, "websocket", 0, "{}", message);
    }

    bool handshake_ok() {
        const HTTPHeaders& headers = request().headers;
        if (!detail::iequals(headers.get("Upgrade", ""), "websocket")) {
            refuse(400, "Can \"Upgrade\" only to \"WebSocket\".");
            return false;
        }
        if (!detail::ws::lists_token(headers.get("Connection", ""), "upgrade")) {
            refuse(400, "\"Connection\" must be \"Upgrade\".");
            return false;
        }
        std::optional<std::string_view> origin = headers.get("Origin");
        if (!origin) origin = headers.get("Sec-Websocket-Origin");
        if (origin && !check_origin(*origin)) {
            refuse(403, "Cross origin websockets not allowed");
            return false;
        }
        return true;
    }

    void accept() {
        const HTTPHeaders& headers = request().headers;
        std::vector<std::string> offered;
        std::string_view protocols = headers.get("Sec-WebSocket-Protocol").value_or(std::string_view());
        while (!protocols.empty()) {
            std::size_t comma = protocols.find(',');
            std::string_view item = protocols.substr(0, comma);
            std::size_t b = item.find_first_not_of(" \t");
            if (b != std::string_view::npos) offered.emplace_back(item.substr(b, item.find_last_not_of(" \t") - b + 1));
            if (comma == std::string_view::npos) break;
            protocols.remove_prefix(comma + 1);
        }
        if (!offered.empty()) subprotocol_ = select_subprotocol(offered);
        if (subprotocol_) set_header("Sec-WebSocket-Protocol", *subprotocol_);
        clear_header("Content-Type");
        set_status(101);
        set_header("Upgrade", "websocket");
        set_header("Connection", "Upgrade");
        set_header("Sec-WebSocket-Accept", detail::ws::accept_value(headers.get("Sec-Websocket-Key", "")));
        finish();
        stream_ = request().connection->detach();
    }

    task<void> serve(std::span<const std::string_view> args) {
        std::exception_ptr failed;
        try {
            task<void> opened = detail::ws::call_open(self(), args);
            if (opened.valid()) co_await std::move(opened);
        } catch (...) {
            failed = std::current_exception();
        }
        if (failed) {
            log_exception(failed);
            stream_->close();
        } else {
            co_await receive();
        }
        if (close_timer_) IOLoop::current().remove_timeout(*close_timer_);
        stream_->close();
        if constexpr (requires(Derived& d) { d.on_close(); }) {
            try {
                task<void> closed = detail::ws::as_task([&] { return self().on_close(); });
                if (closed.valid()) co_await std::move(closed);
            } catch (...) {
                failed = std::current_exception();
            }
            if (failed) log_exception(failed);
        }
    }

    task<void> receive() {
        detail::ws::frame_reader reader(true, max_message_size());
        try {
            while (!stream_->closed()) {
                event e = reader.next(stream_->read_buffer());
                if (e.what == event::kind::need_more) {
                    if (e.used)
                        stream_->consume(e.used);
                    else
                        co_await stream_->fill();
                    continue;
                }
                stream_->consume(e.used);
                if (e.what == event::kind::error) {
                    co_await fail_connection(*e.code, e.reason);
                    co_return;
                }
                std::exception_ptr failed;
                try {
                    task<void> work = dispatch(e);
                    if (work.valid()) co_await std::move(work);
                } catch (...) {
                    failed = std::current_exception();
                }
                if (failed) {
                    log_exception(failed);
                    co_return;
                }
            }
        } catch (const StreamClosedError&) {
        }
    }

    task<void> dispatch(const event& e) {
        switch (e.what) {
            case event::kind::message:
                if (client_terminated_) return task<void>();
                if constexpr (requires(Derived& d, std::string_view m, bool b) { d.on_message(m, b); })
                    return detail::ws::as_task([&] { return self().on_message(e.data, e.binary); });
                else
                    return task<void>();
            case event::kind::ping:
                if (!server_terminated_ && !stream_->closed())  // nothing follows our close frame
                    (void)send_frame_unchecked(detail::ws::opcode::pong, e.data);
                if constexpr (requires(Derived& d, std::string_view m) { d.on_ping(m); })
                    return detail::ws::as_task([&] { return self().on_ping(e.data); });
                else
                    return task<void>();
            case event::kind::pong:
                if constexpr (requires(Derived& d, std::string_view m) { d.on_pong(m); })
                    return detail::ws::as_task([&] { return self().on_pong(e.data); });
                else
                    return task<void>();
            case event::kind::close:
                client_terminated_ = true;
                close_code_ = e.code;
                if (e.code) close_reason_ = std::string(e.reason);
                close(close_code_);  // echo the code (RFC 6455 section 5.5.1)
                return task<void>();
            default:
                return task<void>();
        }
    }

    // Fails the connection: a close frame with the code, then the TCP connection ends.
    task<void> fail_connection(int code, std::string_view reason) {
        detail::log(detail::gen_log, detail::log_level::debug, "websocket", 0, "WebSocket protocol error: {} {}", code,
                    reason);
        if (!server_terminated_) {
            server_terminated_ = true;
            try {
                co_await stream_->write(close_frame(code, reason));
            } catch (const StreamClosedError&) {
            }
        }
        stream_->close();
    }

    std::string close_frame(std::optional<int> code, std::string_view reason) {
        std::string frame;
        detail::ws::append_frame(frame, detail::ws::opcode::close, detail::ws::close_payload(code, reason));
        return frame;
    }

    IOStream::write_awaiter send_frame(detail::ws::opcode op, std::string_view payload) {
        if (is_closing()) throw WebSocketClosedError();
        return send_frame_unchecked(op, payload);
    }
    IOStream::write_awaiter send_frame_unchecked(detail::ws::opcode op, std::string_view payload) {
        head_.clear();
        detail::ws::append_head(head_, op, payload.size(), true, false);
        return stream_->write(std::string_view(head_), payload);
    }

    std::shared_ptr<IOStream> stream_;
    std::string head_;  // the header of the frame being queued (reused)
    std::optional<timeout_handle> close_timer_;
    std::optional<int> close_code_;
    std::optional<std::string> close_reason_;
    std::optional<std::string> subprotocol_;
    bool client_terminated_ = false;
    bool server_terminated_ = false;
};

// ------------------------------------------------------------------ the client

// The handshake failed (not a 101, or a wrong Sec-WebSocket-Accept).
struct WebSocketError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct WebSocketMessage {
    std::string data;
    bool binary = false;
};

struct websocket_connect_options {
    std::vector<std::string> subprotocols{};
    std::optional<IOLoop::duration> connect_timeout{};
    std::size_t max_message_size = std::size_t(10) * 1024 * 1024;
};

class WebSocketClientConnection {
public:
    WebSocketClientConnection(std::shared_ptr<IOStream> stream, std::size_t max_message_size,
                              std::optional<std::string> subprotocol)
        : stream_(std::move(stream)), reader_(false, max_message_size), subprotocol_(std::move(subprotocol)) {}

    // The next message; nullopt once the connection is closed (answering pings and the close handshake
    // on the way).
    task<std::optional<WebSocketMessage>> read_message() {
        for (;;) {
            detail::ws::event e = reader_.next(stream_->read_buffer());
            if (e.what == detail::ws::event::kind::need_more) {
                if (e.used) {
                    stream_->consume(e.used);
                    continue;
                }
                bool ended = stream_->closed();
                if (!ended) {
                    try {
                        co_await stream_->fill();
                    } catch (const StreamClosedError&) {
                        ended = true;
                    }
                }
                if (ended) {
                    stream_->close();
                    co_return std::nullopt;
                }
                continue;
            }
            stream_->consume(e.used);
            switch (e.what) {
                case detail::ws::event::kind::message: {
                    WebSocketMessage message{std::string(e.data), e.binary};
                    co_return message;
                }
                case detail::ws::event::kind::ping:
                    if (!closing_ && !stream_->closed()) (void)send(detail::ws::opcode::pong, e.data);
                    break;
                case detail::ws::event::kind::close:
                    close_code_ = e.code;
                    if (e.code) close_reason_ = std::string(e.reason);
                    if (!closing_ && !stream_->closed()) (void)send(detail::ws::opcode::close, detail::ws::close_payload(e.code, {}));
                    closing_ = true;
                    stream_->close();
                    co_return std::nullopt;
                case detail::ws::event::kind::error:
                    if (!closing_ && !stream_->closed()) (void)send(detail::ws::opcode::close, detail::ws::close_payload(e.code, e.reason));
                    closing_ = true;
                    stream_->close();
                    co_return std::nullopt;
                default:
                    break;
            }
        }
    }

    websocket_write write_message(std::string_view message, bool binary = false) {
        if (closing_ || stream_->closed()) throw WebSocketClosedError();
        return websocket_write(send(binary ? detail::ws::opcode::binary : detail::ws::opcode::text, message));
    }
    websocket_write ping(std::string_view data = {}) {
        if (data.size() > 125) throw std::invalid_argument("ping data too long");
        if (closing_ || stream_->closed()) throw WebSocketClosedError();
        return websocket_write(send(detail::ws::opcode::ping, data));
    }
    // Sends a close frame; read_message() then returns nullopt once the server answers.
    void close(std::optional<int> code = std::nullopt, std::string_view reason = {}) {
        if (closing_ || stream_->closed()) return;
        closing_ = true;
        (void)send(detail::ws::opcode::close, detail::ws::close_payload(code, reason));
    }

    std::optional<int> close_code() const noexcept { return close_code_; }
    const std::optional<std::string>& close_reason() const noexcept { return close_reason_; }
    const std::optional<std::string>& selected_subprotocol() const noexcept { return subprotocol_; }
    IOStream& stream() noexcept { return *stream_; }

private:
    IOStream::write_awaiter send(detail::ws::opcode op, std::string_view payload) {
        thread_local std::mt19937 random{std::random_device{}()};
        detail::ws::mask_key key;
        std::uint32_t bits = static_cast<std::uint32_t>(random());
        std::memcpy(key.data(), &bits, 4);
        out_.clear();
        detail::ws::append_frame(out_, op, payload, true, &key);
        return stream_->write(std::string_view(out_));
    }

    std::shared_ptr<IOStream> stream_;
    detail::ws::frame_reader reader_;
    std::string out_;  // the frame being queued (reused)
    std::optional<int> close_code_;
    std::optional<std::string> close_reason_;
    std::optional<std::string> subprotocol_;
    bool closing_ = false;
};

namespace detail::ws {

struct ws_url {
    std::string host;
    std::uint16_t port = 80;
    std::string host_header;
    std::string target;
};

inline ws_url parse_ws_url(std::string_view url) {
    if (!url.starts_with("ws://")) throw std::invalid_argument("websocket_connect: only ws:// URLs are supported");
    url.remove_prefix(5);
    std::size_t slash = url.find_first_of("/?");
    std::string_view authority = url.substr(0, slash);
    ws_url out;
    out.target = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
    if (out.target.front() == '?') out.target.insert(0, "/");
    out.host_header = std::string(authority);
    std::size_t colon = authority.rfind(':');
    if (colon != std::string_view::npos && authority.find(']', colon) == std::string_view::npos) {
        out.port = static_cast<std::uint16_t>(std::stoul(std::string(authority.substr(colon + 1))));
        authority = authority.substr(0, colon);
    }
    if (authority.starts_with('[') && authority.ends_with(']')) authority = authority.substr(1, authority.size() - 2);
    out.host = std::string(authority);
    return out;
}

inline std::string random_key() {
    std::random_device device;
    unsigned char bytes[16];
    for (unsigned char& b : bytes) b = static_cast<unsigned char>(device());
    unsigned char out[25];
    int n = EVP_EncodeBlock(out, bytes, 16);
    return std::string(reinterpret_cast<const char*>(out), static_cast<std::size_t>(n));
}

}  // namespace detail::ws

// Tornado's websocket_connect, for ws:// URLs: connects, sends the handshake, checks the 101 answer.
// WebSocketError if the server does not switch protocols (its status line in the message).
inline task<WebSocketClientConnection> websocket_connect(std::string url, websocket_connect_options options = {}) {
    detail::ws::ws_url where = detail::ws::parse_ws_url(url);
    TCPClient client;
    connect_options how;
    how.timeout = options.connect_timeout;
    std::shared_ptr<IOStream> stream = co_await client.connect(where.host, where.port, how);
    std::string key = detail::ws::random_key();
    std::string request = "GET " + where.target + " HTTP/1.1\r\nHost: " + where.host_header +
                          "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key +
                          "\r\nSec-WebSocket-Version: 13\r\n";
    if (!options.subprotocols.empty()) {
        request += "Sec-WebSocket-Protocol: ";
        for (std::size_t i = 0; i < options.subprotocols.size(); ++i)
            request += (i ? ", " : "") + options.subprotocols[i];
        request += "\r\n";
    }
    request += "\r\n";
    co_await stream->write(std::move(request));
    std::string head = co_await stream->read_until("\r\n\r\n", 65536);
    std::size_t line_end = head.find("\r\n");
    ResponseStartLine start = parse_response_start_line(std::string_view(head).substr(0, line_end));
    if (start.code != 101) {
        stream->close();
        throw WebSocketError("HTTP " + std::to_string(start.code) + ": " + std::string(start.reason));
    }
    HTTPHeaders headers = HTTPHeaders::parse(std::string_view(head).substr(line_end + 2));
    if (headers.get("Sec-Websocket-Accept").value_or(std::string_view()) != detail::ws::accept_value(key)) {
        stream->close();
        throw WebSocketError("Invalid Sec-WebSocket-Accept");
    }
    std::optional<std::string> subprotocol;
    if (std::optional<std::string_view> chosen = headers.get("Sec-WebSocket-Protocol")) subprotocol = std::string(*chosen);
    co_return WebSocketClientConnection(std::move(stream), options.max_message_size, std::move(subprotocol));
}

}  // namespace gale
