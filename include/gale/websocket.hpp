// gale/websocket.hpp — tornado.websocket: WebSocket handlers (RFC 6455, RFC 7692) on gale::web, and a client.
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
//                    get_compression_options() -> optional<websocket_compression_options>   // default: none
//                    ping_interval(), ping_timeout() -> optional<duration>   // default: Settings::websocket_ping_*
//     write_message(text, binary = false), write_message(json)   // awaitable, see below
//     ping(data = ""), close(code = nullopt, reason = ""), is_closing()
//     close_code(), close_reason(), selected_subprotocol()
//   struct websocket_compression_options { compression_level = 6, mem_level = 8 }   // Tornado's dict, zlib's
//
//   task<WebSocketClientConnection> websocket_connect(url, websocket_connect_options = {})   // ws:// and wss://
//     websocket_connect_options { subprotocols, connect_timeout, request_timeout (20 s), max_message_size,
//                                 compression_options, ping_interval, ping_timeout, ssl_options }
//     WebSocketClientConnection: read_message() -> task<optional<WebSocketMessage{data, binary}>> (nullopt once
//       closed), write_message(text, binary = false), ping(data), close(code, reason), is_closing(), close_code(),
//       close_reason(), selected_subprotocol(), compressing()
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
//   handler object therefore lives until the connection is closed, and no longer: anything that keeps a
//   pointer to it (a chat room's set of users) must drop it in on_close().
// - The views handed to on_message / on_ping / on_pong are valid until the hook (or its task) finishes.
// - write_message / ping queue the frame at once (awaiting is optional, as in Tornado) and throw
//   WebSocketClosedError if the connection is closing; awaiting the result waits until the kernel has the frame
//   and throws WebSocketClosedError if the connection closed first.
// - Threads. A connection belongs to the loop that serves it; write_message, ping and close must run on that
//   loop's thread. Another thread (a worker, a message queue's consumer) posts the work to the loop, whose
//   add_callback is the one thread-safe IOLoop call, and the posted callback finds the connection on the loop's
//   side before writing:
//       gale::IOLoop* loop;                           // = &gale::IOLoop::current(), saved in open()
//       loop->add_callback([text = std::string(text)] {   // from any thread; copy the data, not views
//           for (Chat* user : Chat::users) (void)user->write_message(text);   // Chat::users: the loop's own set
//       });
//   Never capture a handler pointer on the other thread and use it in the callback: the connection may have
//   closed (and the handler gone) by the time the callback runs; the set, kept on the loop (insert in open(),
//   erase in on_close()), is what says who is still there.
// - Broadcasting. A loop that writes to every member of a set without awaiting between the writes is safe: no
//   connection can close (nor on_close run) in the middle of it, and a member that is already closing throws
//   WebSocketClosedError, which the loop skips. A broadcast that awaits between writes (co_await
//   write_message(...) for back-pressure) must copy the set first and, after each wait, write only to members
//   still in the live set: a member that closed meanwhile has been erased in on_close() and its handler freed.
// - close(code, reason) sends a close frame (code 1000 when only a reason is given) and waits up to 5 seconds for
//   the peer's, then closes the connection (Tornado's close handshake, on the server and the client); a close
//   frame from the peer sets close_code() / close_reason() and is answered with its code.
// - Keepalive (Tornado 6.2's start_pinging): with ping_interval() (Settings::websocket_ping_interval, or the
//   client's ping_interval option) a ping goes out every interval; when no pong has come for ping_timeout (default:
//   3 intervals, at least 30 seconds), the connection is closed with close(): a close frame without a code or
//   reason, as Tornado 6.2 sends (later Tornados send reason "ping timed out"). A client sees pongs while
//   read_message() runs.
// - permessage-deflate (RFC 7692; see detail/websocket_deflate.hpp): a handler whose get_compression_options()
//   returns options accepts a client's first acceptable offer with the offer's parameters
//   (server_no_context_takeover, client_no_context_takeover, server_max_window_bits, client_max_window_bits), as
//   Tornado; a client with compression_options offers "permessage-deflate; client_max_window_bits". Messages are
//   then all sent compressed (RSV1); compressed messages are inflated up to max_message_size(), past which the
//   connection closes with 1009 "message too big after decompression".
// - Protocol errors from the peer (unmasked frame, reserved bits, RSV1 without permessage-deflate or on a control
//   or continuation frame, unknown opcode, bad control frame, bad fragment order, corrupt compressed data, a close
//   code that may not be sent) close the connection with 1002, invalid UTF-8 in a text message with 1007, a
//   message over max_message_size() with 1009 "message too big". Unlike Tornado, which drops the TCP connection
//   silently, gale sends that close frame first (RFC 6455 section 7.1.7).
// - An exception from open() or a message hook is logged as Tornado's log_exception does and drops the
//   connection.
// - The client masks every frame (a fresh key per frame), answers pings and the server's close frame inside
//   read_message(), and applies the same protocol checks (server frames must not be masked). wss:// connects
//   with options.ssl_options, or create_default_context() (the system's CAs, the host name checked).
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
#include "detail/websocket_deflate.hpp"
#include "gen.hpp"
#include "ioloop.hpp"
#include "iostream.hpp"
#include "json.hpp"
#include "ssl.hpp"
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

// Tornado's compression options (get_compression_options(), websocket_connect's compression_options):
// compression_level (6) and mem_level (8), zlib's.
using websocket_compression_options = detail::ws::compression_options;

namespace detail::ws {

// Tornado's _WebSocketParams, and the close handshake's time limit (5 seconds in Tornado).
struct connection_params {
    std::size_t max_message_size = std::size_t(10) * 1024 * 1024;
    std::optional<IOLoop::duration> ping_interval{};
    std::optional<IOLoop::duration> ping_timeout{};
    IOLoop::duration close_timeout = std::chrono::seconds(5);
};

// One end of an open WebSocket (Tornado's WebSocketProtocol13), shared by the server's handler and
// the client: frames out (masked by a client, compressed once permessage-deflate is agreed), events
// in, the close handshake with its time limit, and keepalive pings. Its timers hold it weakly.
class connection : public std::enable_shared_from_this<connection> {
public:
    connection(std::shared_ptr<IOStream> stream, bool server_side, connection_params params)
        : stream_(std::move(stream)),
          reader_(server_side, params.max_message_size),
          params_(params),
          loop_(&IOLoop::current()),
          server_side_(server_side) {}
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;
    ~connection() { stop_timers(); }

    // permessage-deflate was agreed: this side compresses with its own parameters and inflates with the peer's.
    void use_deflate(const deflate_params& agreed, const compression_options& options) {
        bool takeover_out = !(server_side_ ? agreed.server_no_context_takeover : agreed.client_no_context_takeover);
        bool takeover_in = !(server_side_ ? agreed.client_no_context_takeover : agreed.server_no_context_takeover);
        deflater_.emplace(takeover_out, server_side_ ? agreed.server_max_window_bits : agreed.client_max_window_bits,
                          options);
        reader_.use_inflater(takeover_in, server_side_ ? agreed.client_max_window_bits : agreed.server_max_window_bits);
    }

    websocket_write write_message(std::string_view message, bool binary) {
        if (is_closing()) throw WebSocketClosedError();
        return websocket_write(send(binary ? opcode::binary : opcode::text, message));
    }
    // Data: at most 125 bytes (std::invalid_argument otherwise).
    websocket_write ping(std::string_view data) {
        if (data.size() > 125) throw std::invalid_argument("ping data too long");
        if (is_closing()) throw WebSocketClosedError();
        return websocket_write(send(opcode::ping, data));
    }

    // Tornado's close(): our close frame (once), then the stream ends when the peer's has come or the
    // close timeout passes; pinging stops. The reason: at most 123 bytes (std::invalid_argument otherwise).
    void close(std::optional<int> code, std::string_view reason) {
        if (reason.size() > 123) throw std::invalid_argument("close reason too long");
        if (!sent_close_) {
            sent_close_ = true;
            if (!stream_->closed()) {
                try {
                    (void)send(opcode::close, close_payload(code, reason));
                } catch (const StreamClosedError&) {
                    stream_->close();
                }
            }
        }
        if (got_close_) {
            stop_timers();
            stream_->close();
        } else if (!close_timer_) {
            close_timer_ = loop_->call_later(params_.close_timeout, [weak = std::weak_ptr<IOStream>(stream_)] {
                if (auto s = weak.lock()) s->close();
            });
        }
        if (pinger_) pinger_->stop();
    }

    bool is_closing() const noexcept { return stream_->closed() || got_close_ || sent_close_; }

    // The peer's next message, ping, pong, close or protocol error from the bytes received so far;
    // need_more when they hold no whole frame (co_await stream().fill(), then poll again). Pings are
    // answered, a close frame is answered with its code; an error is for fail(). Not a coroutine: a
    // message already received costs no allocation. The event's views live until the next poll().
    event poll() {
        for (;;) {
            event e = reader_.next(stream_->read_buffer());
            stream_->consume(e.used);
            if (e.what == event::kind::need_more) {
                if (e.used) continue;
                return e;
            }
            switch (e.what) {
                case event::kind::ping:
                    if (!sent_close_ && !stream_->closed()) (void)send(opcode::pong, e.data);  // nothing after our close
                    break;
                case event::kind::pong:
                    last_pong_ = loop_->time();
                    break;
                case event::kind::close:
                    got_close_ = true;
                    close_code_ = e.code;
                    if (e.code) close_reason_ = std::string(e.reason);
                    close(close_code_, {});  // echo the code (RFC 6455 section 5.5.1)
                    break;
                default:
                    break;
            }
            return e;
        }
    }

    // Fails the connection after a protocol error: our close frame with its code, then the TCP
    // connection ends.
    task<void> fail(const event& error) {
        int code = *error.code;
        detail::log(gen_log, log_level::debug, "websocket", 0, "WebSocket protocol error: {} {}", code, error.reason);
        if (!sent_close_ && !stream_->closed()) {
            sent_close_ = true;
            try {
                co_await send(opcode::close, close_payload(code, error.reason));
            } catch (const StreamClosedError&) {
            }
        }
        finish();
    }

    // Tornado's start_pinging: a ping every ping_interval; close() when no pong came for ping_timeout
    // (default: 3 intervals, at least 30 seconds).
    void start_pinging() {
        if (!params_.ping_interval || *params_.ping_interval <= IOLoop::duration::zero()) return;
        last_ping_ = last_pong_ = loop_->time();
        pinger_.emplace([weak = weak_from_this()] {
            if (auto self = weak.lock()) self->periodic_ping();
        }, *params_.ping_interval);
        pinger_->start();
    }

    // The connection is over: no more timers, the stream is closed.
    void finish() {
        stop_timers();
        stream_->close();
    }

    bool closed() const noexcept { return stream_->closed(); }
    void set_nodelay(bool value) { stream_->set_nodelay(value); }
    IOStream& stream() noexcept { return *stream_; }
    std::optional<int> close_code() const noexcept { return close_code_; }
    const std::optional<std::string>& close_reason() const noexcept { return close_reason_; }
    bool compressing() const noexcept { return deflater_.has_value(); }

private:
    IOStream::write_awaiter send(opcode op, std::string_view payload) {
        bool compress = deflater_ && (op == opcode::text || op == opcode::binary);
        if (compress) {
            deflater_->compress(payload, compressed_);
            payload = compressed_;
        }
        out_.clear();
        if (server_side_) {
            append_head(out_, op, payload.size(), true, false, compress);
            return stream_->write(std::string_view(out_), payload);
        }
        thread_local std::mt19937 random{std::random_device{}()};
        mask_key key;
        std::uint32_t bits = static_cast<std::uint32_t>(random());
        std::memcpy(key.data(), &bits, 4);
        append_frame(out_, op, payload, true, &key, compress);
        return stream_->write(std::string_view(out_));
    }

    void periodic_ping() {
        if (is_closing()) {
            pinger_->stop();
            return;
        }
        // As Tornado: the pong is late only if our last ping is recent (the machine may have slept).
        IOLoop::time_point now = loop_->time();
        IOLoop::duration interval = *params_.ping_interval;
        IOLoop::duration timeout =
            params_.ping_timeout ? *params_.ping_timeout : std::max<IOLoop::duration>(3 * interval, std::chrono::seconds(30));
        if (now - last_ping_ < 2 * interval && now - last_pong_ > timeout) {
            close(std::nullopt, {});
            return;
        }
        (void)send(opcode::ping, {});
        last_ping_ = now;
    }

    void stop_timers() noexcept {
        if (close_timer_) loop_->remove_timeout(*close_timer_);
        close_timer_.reset();
        if (pinger_) pinger_->stop();
    }

    std::shared_ptr<IOStream> stream_;
    frame_reader reader_;
    connection_params params_;
    IOLoop* loop_;  // the loop the connection runs on
    std::optional<deflater> deflater_;
    std::string out_;         // the frame being queued, or its header (reused)
    std::string compressed_;  // the message being queued, compressed (reused)
    std::optional<timeout_handle> close_timer_;
    std::optional<PeriodicCallback> pinger_;
    IOLoop::time_point last_ping_{};
    IOLoop::time_point last_pong_{};
    std::optional<int> close_code_;
    std::optional<std::string> close_reason_;
    bool server_side_;
    bool sent_close_ = false;  // Tornado's server_terminated: our close frame is out
    bool got_close_ = false;   // Tornado's client_terminated: the peer's close frame is in
};

inline const std::optional<std::string> no_reason{};

}  // namespace detail::ws

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
    // permessage-deflate: none (the default) refuses it, any options accept a client's offer.
    virtual std::optional<websocket_compression_options> get_compression_options() { return std::nullopt; }
    // Keepalive pings: Settings::websocket_ping_interval and websocket_ping_timeout.
    virtual std::optional<IOLoop::duration> ping_interval() const { return settings().websocket_ping_interval; }
    virtual std::optional<IOLoop::duration> ping_timeout() const { return settings().websocket_ping_timeout; }

    // ------------------------------------------------------------ sending

    websocket_write write_message(std::string_view message, bool binary = false) {
        if (!ws_) throw WebSocketClosedError();
        return ws_->write_message(message, binary);
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
        if (!ws_) throw WebSocketClosedError();
        return ws_->ping(data);
    }

    // Starts the closing handshake; harmless if already closing. reason: at most 123 bytes.
    void close(std::optional<int> code = std::nullopt, std::string_view reason = {}) {
        if (ws_) ws_->close(code, reason);
    }

    bool is_closing() const noexcept { return !ws_ || ws_->is_closing(); }
    std::optional<int> close_code() const noexcept { return ws_ ? ws_->close_code() : std::nullopt; }
    const std::optional<std::string>& close_reason() const noexcept {
        return ws_ ? ws_->close_reason() : detail::ws::no_reason;
    }
    const std::optional<std::string>& selected_subprotocol() const noexcept { return subprotocol_; }
    void set_nodelay(bool value) {
        if (ws_ && !ws_->closed()) ws_->set_nodelay(value);
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
        std::optional<websocket_compression_options> compression = get_compression_options();
        std::optional<detail::ws::accepted_offer> deflate;
        if (std::optional<std::string_view> extensions = headers.get("Sec-WebSocket-Extensions"); extensions && compression)
            deflate = detail::ws::accept_deflate_offer(*extensions);
        if (deflate) set_header("Sec-WebSocket-Extensions", deflate->answer);
        clear_header("Content-Type");
        set_status(101);
        set_header("Upgrade", "websocket");
        set_header("Connection", "Upgrade");
        set_header("Sec-WebSocket-Accept", detail::ws::accept_value(headers.get("Sec-Websocket-Key", "")));
        finish();
        detail::ws::connection_params params;
        params.max_message_size = max_message_size();
        params.ping_interval = ping_interval();
        params.ping_timeout = ping_timeout();
        ws_ = std::make_shared<detail::ws::connection>(request().connection->detach(), true, params);
        if (deflate) ws_->use_deflate(deflate->params, *compression);
    }

    task<void> serve(std::span<const std::string_view> args) {
        ws_->start_pinging();  // as Tornado, before open()
        // Application::shutdown() reaches this connection, which has left HTTP, through a callback:
        // the close handshake with 1001 "Going away"; unregistered however serve() ends.
        struct going_away_registration {
            Application& app;
            Application::shutdown_callbacks::iterator handle;
            ~going_away_registration() { app.remove_shutdown_callback(handle); }
        } going_away{application(), application().add_shutdown_callback([ws = ws_] {
                         if (!ws->is_closing()) ws->close(1001, "Going away");
                     })};
        std::exception_ptr failed;
        try {
            task<void> opened = detail::ws::call_open(self(), args);
            if (opened.valid()) co_await std::move(opened);
        } catch (...) {
            failed = std::current_exception();
        }
        if (failed)
            log_exception(failed);
        else
            co_await receive();
        ws_->finish();
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

    // Messages that arrived together are dispatched with the stream's writes held, so the replies
    // of synchronous handlers leave together in one system call when the received bytes run out. A
    // coroutine handler, which may wait, runs with them released.
    task<void> receive() {
        IOStream& stream = ws_->stream();
        try {
            while (!ws_->closed()) {
                event e = ws_->poll();
                if (e.what == event::kind::need_more) {
                    stream.release_writes();
                    co_await stream.fill();
                    continue;
                }
                if (e.what == event::kind::error) {
                    co_await ws_->fail(e);
                    co_return;
                }
                if (!stream.read_buffer().empty()) stream.hold_writes();  // more is here already
                std::exception_ptr failed;
                try {
                    task<void> work = dispatch(e);
                    if (work.valid()) {
                        stream.release_writes();
                        co_await std::move(work);
                    }
                } catch (...) {
                    failed = std::current_exception();
                }
                if (failed) {
                    stream.release_writes();
                    log_exception(failed);
                    co_return;
                }
            }
        } catch (const StreamClosedError&) {
        }
        stream.release_writes();
    }

    // The hook for an event; poll() has done the protocol's part.
    task<void> dispatch(const event& e) {
        switch (e.what) {
            case event::kind::message:
                if constexpr (requires(Derived& d, std::string_view m, bool b) { d.on_message(m, b); })
                    return detail::ws::as_task([&] { return self().on_message(e.data, e.binary); });
                else
                    return task<void>();
            case event::kind::ping:
                if constexpr (requires(Derived& d, std::string_view m) { d.on_ping(m); })
                    return detail::ws::as_task([&] { return self().on_ping(e.data); });
                else
                    return task<void>();
            case event::kind::pong:
                if constexpr (requires(Derived& d, std::string_view m) { d.on_pong(m); })
                    return detail::ws::as_task([&] { return self().on_pong(e.data); });
                else
                    return task<void>();
            default:
                return task<void>();
        }
    }

    std::shared_ptr<detail::ws::connection> ws_;
    std::optional<std::string> subprotocol_;
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
    // Limit on connecting (TCP and TLS); TimeoutError when it passes.
    std::optional<IOLoop::duration> connect_timeout{};
    // Limit on the whole of websocket_connect, handshake included (Tornado's request_timeout, 20 s).
    std::optional<IOLoop::duration> request_timeout = std::chrono::seconds(20);
    std::size_t max_message_size = std::size_t(10) * 1024 * 1024;
    // Offer permessage-deflate (none: do not offer, and refuse a server that uses it anyway).
    std::optional<websocket_compression_options> compression_options{};
    // Keepalive pings, as the server's Settings (while read_message() runs, pongs are seen).
    std::optional<IOLoop::duration> ping_interval{};
    std::optional<IOLoop::duration> ping_timeout{};
    // wss://: the TLS context (an ssl_context from <gale/ssl.hpp>); create_default_context() if none.
    std::shared_ptr<const ssl_handshaker> ssl_options{};
};

class WebSocketClientConnection {
public:
    WebSocketClientConnection(std::shared_ptr<detail::ws::connection> ws, std::optional<std::string> subprotocol)
        : ws_(std::move(ws)), subprotocol_(std::move(subprotocol)) {}

    // The next message; nullopt once the connection is closed (answering pings and the close handshake
    // on the way).
    task<std::optional<WebSocketMessage>> read_message() {
        using kind = detail::ws::event::kind;
        try {
            while (!ws_->closed()) {
                detail::ws::event e = ws_->poll();
                if (e.what == kind::need_more) {
                    co_await ws_->stream().fill();
                } else if (e.what == kind::message) {
                    WebSocketMessage message{std::string(e.data), e.binary};
                    co_return message;
                } else if (e.what == kind::error) {
                    co_await ws_->fail(e);
                } else if (e.what == kind::close) {
                    break;
                }
            }
        } catch (const StreamClosedError&) {
        }
        ws_->finish();
        co_return std::nullopt;
    }

    websocket_write write_message(std::string_view message, bool binary = false) {
        return ws_->write_message(message, binary);
    }
    websocket_write ping(std::string_view data = {}) { return ws_->ping(data); }
    // Sends a close frame; read_message() then returns nullopt once the server answers (or after 5 seconds).
    void close(std::optional<int> code = std::nullopt, std::string_view reason = {}) { ws_->close(code, reason); }

    bool is_closing() const noexcept { return ws_->is_closing(); }
    std::optional<int> close_code() const noexcept { return ws_->close_code(); }
    const std::optional<std::string>& close_reason() const noexcept { return ws_->close_reason(); }
    const std::optional<std::string>& selected_subprotocol() const noexcept { return subprotocol_; }
    // Whether permessage-deflate was agreed.
    bool compressing() const noexcept { return ws_->compressing(); }
    IOStream& stream() noexcept { return ws_->stream(); }

private:
    std::shared_ptr<detail::ws::connection> ws_;
    std::optional<std::string> subprotocol_;
};

namespace detail::ws {

struct ws_url {
    bool tls = false;
    std::string host;
    std::uint16_t port = 80;
    std::string host_header;
    std::string target;
};

inline ws_url parse_ws_url(std::string_view url) {
    ws_url out;
    if (url.starts_with("wss://")) {
        out.tls = true;
        out.port = 443;
        url.remove_prefix(6);
    } else if (url.starts_with("ws://")) {
        url.remove_prefix(5);
    } else {
        throw std::invalid_argument("websocket_connect: the URL must start with ws:// or wss://");
    }
    std::size_t slash = url.find_first_of("/?");
    std::string_view authority = url.substr(0, slash);
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

inline std::string upgrade_request(const ws_url& where, std::string_view key, const websocket_connect_options& options) {
    std::string request = "GET " + where.target + " HTTP/1.1\r\nHost: " + where.host_header +
                          "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + std::string(key) +
                          "\r\nSec-WebSocket-Version: 13\r\n";
    if (!options.subprotocols.empty()) {
        request += "Sec-WebSocket-Protocol: ";
        for (std::size_t i = 0; i < options.subprotocols.size(); ++i)
            request += (i ? ", " : "") + options.subprotocols[i];
        request += "\r\n";
    }
    if (options.compression_options) request += "Sec-WebSocket-Extensions: " + deflate_offer() + "\r\n";
    request += "\r\n";
    return request;
}

inline task<WebSocketClientConnection> connect(std::string url, websocket_connect_options options) {
    ws_url where = parse_ws_url(url);
    std::shared_ptr<const ssl_handshaker> tls = options.ssl_options;
    if (where.tls && !tls) tls = create_default_context();
    if (!where.tls) tls = nullptr;
    connect_options how;
    how.timeout = options.connect_timeout;
    TCPClient client;
    std::shared_ptr<IOStream> stream = co_await client.connect(where.host, where.port, how, tls);
    std::string key = random_key();
    co_await stream->write(upgrade_request(where, key, options));
    std::string head = co_await stream->read_until("\r\n\r\n", 65536);
    std::size_t line_end = head.find("\r\n");
    ResponseStartLine start = parse_response_start_line(std::string_view(head).substr(0, line_end));
    auto refuse = [&](std::string message) {
        stream->close();
        return WebSocketError(std::move(message));
    };
    if (start.code != 101) throw refuse("HTTP " + std::to_string(start.code) + ": " + std::string(start.reason));
    HTTPHeaders headers = HTTPHeaders::parse(std::string_view(head).substr(line_end + 2));
    if (headers.get("Sec-Websocket-Accept").value_or(std::string_view()) != accept_value(key))
        throw refuse("Invalid Sec-WebSocket-Accept");
    std::optional<deflate_params> deflate;
    if (std::optional<std::string_view> extensions = headers.get("Sec-WebSocket-Extensions")) {
        if (options.compression_options) deflate = read_deflate_answer(*extensions);
        if (!deflate) throw refuse("unsupported extension " + std::string(*extensions));
    }
    std::optional<std::string> subprotocol;
    if (std::optional<std::string_view> chosen = headers.get("Sec-WebSocket-Protocol")) subprotocol = std::string(*chosen);
    connection_params params;
    params.max_message_size = options.max_message_size;
    params.ping_interval = options.ping_interval;
    params.ping_timeout = options.ping_timeout;
    auto ws = std::make_shared<connection>(std::move(stream), false, params);
    if (deflate) ws->use_deflate(*deflate, *options.compression_options);
    ws->start_pinging();
    co_return WebSocketClientConnection(std::move(ws), std::move(subprotocol));
}

}  // namespace detail::ws

// Tornado's websocket_connect for ws:// and wss:// URLs: connects, sends the handshake, checks the 101
// answer. WebSocketError if the server does not switch protocols (its status line in the message) or
// answers with an extension that was not offered; TimeoutError past connect_timeout or request_timeout.
inline task<WebSocketClientConnection> websocket_connect(std::string url, websocket_connect_options options = {}) {
    std::optional<IOLoop::duration> limit = options.request_timeout;
    task<WebSocketClientConnection> work = detail::ws::connect(std::move(url), std::move(options));
    if (!limit) return work;
    return with_timeout(*limit, std::move(work));
}

}  // namespace gale
