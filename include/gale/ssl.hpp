// TLS for gale's streams: Tornado's ssl_options, SSLIOStream and start_tls,
// on OpenSSL through Asio's SSL context.
//
//   // Server: Tornado's TCPServer(ssl_options={"certfile": ..., "keyfile": ...})
//   auto tls = gale::ssl_options_to_context({.certfile = "cert.pem", .keyfile = "key.pem"}, true);
//   EchoServer server({}, tls);   // handle_stream gets streams whose handshake is done
//
//   // Client: Tornado's TCPClient().connect(host, port, ssl_options=ctx)
//   auto ctx = gale::create_default_context();   // verifies against the system's CAs, checks the name
//   std::shared_ptr<gale::IOStream> stream = co_await gale::TCPClient().connect("example.com", 443, {}, ctx);
//
// Synopsis:
//   struct ssl_options { certfile, keyfile, cert_reqs, ca_certs, ciphers, check_hostname }
//   enum class ssl_cert_reqs { none, optional, required }         // ssl.CERT_NONE ...
//   ssl_options_to_context(options, server_side) -> std::shared_ptr<ssl_context>
//   create_default_context(server_side = false)  -> std::shared_ptr<ssl_context>
//   class ssl_context: load_cert_chain, load_verify_locations, load_default_certs,
//       set_verify_mode, set_check_hostname, set_ciphers, handshake_timeout, native()
//   ssl_wrap_socket(socket, context, server_side, server_hostname = "", stream_options = {})
//       -> task<std::shared_ptr<IOStream>>                      // handshake done
//   start_tls(stream, server_side, context, server_hostname = "")  // upgrade a plain stream (STARTTLS)
//   ssl_transport_of(stream) -> ssl_transport*: version(), cipher(), peer_certificate(),
//       peer_certificate_subject(), server_name(), native_handle()
//   SSLError, SSLCertVerificationError (verify_code(), verify_message())
//
// A context is for one side, as Python's PROTOCOL_TLS_SERVER / _CLIENT are.
// Defaults: TLS 1.2 or later, no TLS compression (Tornado turns it off),
// no renegotiation. A client context verifies the server's certificate and
// checks its name (server_hostname, which also goes out in SNI; an IP
// address is checked against the certificate's IP addresses and sent no
// SNI, per RFC 6066). A server context asks for client certificates only
// with cert_reqs optional or required.
//
// Differences from Tornado: the handshake is awaited before a server hands
// out the stream (Tornado starts it lazily), and it has a time limit,
// handshake_timeout, 60 s for server contexts by default (nginx's
// ssl_handshake_timeout); a client's is its connect timeout. A client
// context made by ssl_options_to_context without ca_certs trusts the
// system's CAs (Python's would trust none and fail every verification).
//
// Errors. A handshake that fails on the protocol or a certificate throws
// SSLError or SSLCertVerificationError (Python's message: "certificate
// verify failed: Hostname mismatch, certificate is not valid for 'x'") and
// is logged as a warning, "SSL Error on <fd> (<peer>): ...", as Tornado
// logs it. A peer that closes or resets during the handshake gives
// StreamClosedError, quietly. After the handshake, TLS errors close the
// stream like socket errors do (StreamClosedError whose real_error() is a
// std::system_error in Asio's SSL category). A peer closing without TLS's
// close_notify is an ordinary end of stream, as in Tornado (Python's
// suppress_ragged_eofs); closing a stream sends close_notify.
//
// Design. ssl_transport drives OpenSSL directly on the socket's descriptor,
// in the readiness style of iostream.hpp's stream_transport: SSL_read and
// SSL_write on the non-blocking socket, WANT_READ / WANT_WRITE mapped to
// would_block, and async_wait waiting for whichever direction OpenSSL
// asked for. asio::ssl::stream was not used: it is completion-based (its
// engine shuttles bytes through memory BIOs, one more copy each way, and
// owns the reads and writes), which does not fit a transport asked "what
// can you do now?". asio::ssl::context still holds and configures the
// SSL_CTX, so anything Asio or OpenSSL can set on it applies. OpenSSL does
// the socket I/O through a small BIO of gale's that sends with
// MSG_NOSIGNAL, so a peer gone mid-write is an error, never a SIGPIPE.
// Idle connections keep no TLS buffers (SSL_MODE_RELEASE_BUFFERS).
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include <asio/error.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/ssl/context.hpp>
#include <asio/ssl/error.hpp>
#include <fmt/core.h>

#include "detail/logging.hpp"
#include "gen.hpp"
#include "ioloop.hpp"
#include "iostream.hpp"
#include "netutil.hpp"
#include "task.hpp"
#include "use_task.hpp"

namespace gale {

// ---------------------------------------------------------------- errors

// A TLS failure: the handshake, the protocol or the configuration
// (Python's ssl.SSLError), e.g. "SSL handshake failed: tlsv1 alert unknown
// ca". code() is OpenSSL's error in Asio's SSL category.
class SSLError : public std::runtime_error {
public:
    SSLError(std::error_code code, const std::string& what) : std::runtime_error(what), code_(code) {}
    const std::error_code& code() const noexcept { return code_; }

private:
    std::error_code code_;
};

// The peer's certificate did not verify (Python's SSLCertVerificationError):
// "certificate verify failed: Hostname mismatch, certificate is not valid
// for 'example.com'."
class SSLCertVerificationError : public SSLError {
public:
    SSLCertVerificationError(std::error_code code, long verify_code, std::string verify_message)
        : SSLError(code, "certificate verify failed: " + verify_message),
          verify_code_(verify_code),
          verify_message_(std::move(verify_message)) {}

    // OpenSSL's X509_V_ERR_* code and its text, e.g. "Hostname mismatch,
    // certificate is not valid for 'example.com'."
    long verify_code() const noexcept { return verify_code_; }
    const std::string& verify_message() const noexcept { return verify_message_; }

private:
    long verify_code_;
    std::string verify_message_;
};

// ---------------------------------------------------------------- options

// Whether and how the peer's certificate is checked (Python's CERT_NONE,
// CERT_OPTIONAL, CERT_REQUIRED). For a client optional means required, as
// in Python.
enum class ssl_cert_reqs { none, optional, required };

// Tornado's ssl_options dictionary (the keywords of ssl.wrap_socket).
struct ssl_options {
    // PEM certificate chain: the server's own, or a client's certificate.
    std::string certfile;
    // Its PEM private key; empty when the key is inside certfile.
    std::string keyfile;
    // Default: none for a server, required for a client.
    std::optional<ssl_cert_reqs> cert_reqs{};
    // PEM file of trusted CA certificates. A client that verifies and has
    // none uses the system's trust store.
    std::string ca_certs;
    // OpenSSL cipher list for TLS 1.2 (TLS 1.3 suites are not affected).
    std::string ciphers;
    // Client: check the server's name (default: when verifying).
    std::optional<bool> check_hostname{};
};

class ssl_transport;

namespace detail {

inline std::error_code ssl_error_code(unsigned long error) {
    return {static_cast<int>(error), asio::error::get_ssl_category()};
}

// OpenSSL's reason, "tlsv1 alert unknown ca", or the system's message.
inline std::string ssl_error_text(const std::error_code& ec) {
    if (ec.category() == asio::error::get_ssl_category()) {
        if (const char* reason = ERR_reason_error_string(static_cast<unsigned long>(ec.value()))) return reason;
        return "unknown SSL error";
    }
    return ec.message();
}

}  // namespace detail

// ---------------------------------------------------------------- context

// A TLS configuration for one side (Python's SSLContext), holding the
// OpenSSL SSL_CTX in an asio::ssl::context. Share it between connections
// by std::shared_ptr; configure it before connections use it. It is what
// TCPServer and TCPClient::connect take as their ssl_options.
class ssl_context final : public ssl_handshaker, public std::enable_shared_from_this<ssl_context> {
public:
    // Server contexts get this handshake_timeout unless changed.
    static constexpr std::chrono::seconds default_server_handshake_timeout{60};

    // A context with gale's defaults (see the top of this header). A client
    // context verifies and checks names but trusts no CA yet:
    // load_default_certs() or load_verify_locations(). A server context
    // needs load_cert_chain().
    explicit ssl_context(bool server_side)
        : context_(server_side ? asio::ssl::context::tls_server : asio::ssl::context::tls_client),
          server_side_(server_side) {
        SSL_CTX* ctx = native_handle();
        SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
        SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                     SSL_OP_CIPHER_SERVER_PREFERENCE);
        if (server_side) {
            handshake_timeout = default_server_handshake_timeout;
            set_verify_mode(ssl_cert_reqs::none);
        } else {
            set_verify_mode(ssl_cert_reqs::required);
            check_hostname_ = true;
        }
    }

    // Takes over a context configured with Asio's (or OpenSSL's) API as it
    // is; check_hostname starts on for a client context that verifies.
    ssl_context(asio::ssl::context context, bool server_side)
        : context_(std::move(context)), server_side_(server_side) {
        if (server_side) handshake_timeout = default_server_handshake_timeout;
        else check_hostname_ = verify_mode() != ssl_cert_reqs::none;
    }

    // The certificate chain (PEM, leaf first) and private key this side
    // presents; keyfile empty: the key is in certfile. Throws SSLError
    // naming the file.
    void load_cert_chain(const std::string& certfile, const std::string& keyfile = {}) {
        const std::string& key = keyfile.empty() ? certfile : keyfile;
        const std::string mismatch =
            fmt::format("the private key \"{}\" does not match the certificate \"{}\"", key, certfile);
        std::error_code ec;
        context_.use_certificate_chain_file(certfile, ec);
        if (ec) fail(ec, fmt::format("cannot load the certificate chain \"{}\"", certfile));
        context_.use_private_key_file(key, asio::ssl::context::pem, ec);
        if (ec && ec.category() == asio::error::get_ssl_category() &&
            ERR_GET_LIB(static_cast<unsigned long>(ec.value())) == ERR_LIB_X509 &&
            ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == X509_R_KEY_VALUES_MISMATCH) {
            ERR_clear_error();
            throw SSLError(ec, mismatch);
        }
        if (ec) fail(ec, fmt::format("cannot load the private key \"{}\"", key));
        if (SSL_CTX_check_private_key(native_handle()) != 1) {
            std::error_code check_ec = detail::ssl_error_code(ERR_get_error());
            ERR_clear_error();
            throw SSLError(check_ec, mismatch);
        }
    }

    // Trusts the CA certificates in a PEM file (Python's
    // load_verify_locations(cafile)).
    void load_verify_locations(const std::string& cafile) {
        std::error_code ec;
        context_.load_verify_file(cafile, ec);
        if (ec) fail(ec, fmt::format("cannot load CA certificates from \"{}\"", cafile));
    }

    // Trusts the system's CA certificates.
    void load_default_certs() {
        std::error_code ec;
        context_.set_default_verify_paths(ec);
        if (ec) fail(ec, "cannot load the system's CA certificates");
    }

    // none: no certificate is asked for (server) or checked (client; this
    // also turns check_hostname off, as Tornado's ssl_options_to_context
    // does). optional: a server asks for a client certificate and verifies
    // one if sent. required: the handshake fails without a valid one.
    void set_verify_mode(ssl_cert_reqs mode) {
        int flags = SSL_VERIFY_NONE;
        if (mode != ssl_cert_reqs::none) flags = SSL_VERIFY_PEER;
        if (mode == ssl_cert_reqs::required) flags |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
        SSL_CTX_set_verify(native_handle(), flags, nullptr);
        if (mode == ssl_cert_reqs::none) check_hostname_ = false;
    }

    ssl_cert_reqs verify_mode() const noexcept {
        int flags = SSL_CTX_get_verify_mode(native_handle());
        if (!(flags & SSL_VERIFY_PEER)) return ssl_cert_reqs::none;
        return (flags & SSL_VERIFY_FAIL_IF_NO_PEER_CERT) || !server_side_ ? ssl_cert_reqs::required
                                                                            : ssl_cert_reqs::optional;
    }

    // Client: whether the server's certificate must match server_hostname.
    // Turning it on makes verify_mode required if it was none (Python's
    // rule).
    void set_check_hostname(bool on) {
        if (on && verify_mode() == ssl_cert_reqs::none) set_verify_mode(ssl_cert_reqs::required);
        check_hostname_ = on;
    }
    bool check_hostname() const noexcept { return check_hostname_; }

    // OpenSSL cipher list for TLS 1.2 and below. Throws SSLError if it
    // selects nothing.
    void set_ciphers(const std::string& ciphers) {
        if (SSL_CTX_set_cipher_list(native_handle(), ciphers.c_str()) != 1)
            fail(detail::ssl_error_code(ERR_get_error()), fmt::format("no cipher can be selected from \"{}\"", ciphers));
    }

    // The longest a handshake may take (TimeoutError); none: no limit.
    std::optional<IOLoop::duration> handshake_timeout{};

    bool server_side() const noexcept { return server_side_; }

    // The Asio context, for configuration this class does not wrap.
    asio::ssl::context& native() noexcept { return context_; }
    const asio::ssl::context& native() const noexcept { return context_; }
    SSL_CTX* native_handle() const noexcept { return const_cast<asio::ssl::context&>(context_).native_handle(); }

    // ssl_handshaker: what TCPServer and TCPClient call.
    task<std::shared_ptr<IOStream>> handshake(asio::ip::tcp::socket socket, bool server_side,
                                              std::string server_hostname,
                                              stream_options options) const override;

private:
    [[noreturn]] static void fail(std::error_code ec, const std::string& what) {
        ERR_clear_error();
        throw SSLError(ec, what + ": " + detail::ssl_error_text(ec));
    }

    asio::ssl::context context_;
    bool server_side_;
    bool check_hostname_ = false;
};

// Tornado's ssl_options_to_context: a context for one side from the
// options. Throws SSLError when a file cannot be loaded, and
// std::invalid_argument for a server without certfile (Tornado's KeyError).
inline std::shared_ptr<ssl_context> ssl_options_to_context(const ssl_options& options, bool server_side) {
    if (server_side && options.certfile.empty())
        throw std::invalid_argument("ssl_options: a server needs certfile");
    auto context = std::make_shared<ssl_context>(server_side);
    if (!options.certfile.empty()) context->load_cert_chain(options.certfile, options.keyfile);
    if (options.cert_reqs) context->set_verify_mode(*options.cert_reqs);
    if (!options.ca_certs.empty()) context->load_verify_locations(options.ca_certs);
    else if (!server_side && context->verify_mode() != ssl_cert_reqs::none) context->load_default_certs();
    if (!options.ciphers.empty()) context->set_ciphers(options.ciphers);
    if (options.check_hostname) context->set_check_hostname(*options.check_hostname);
    return context;
}

// Python's ssl.create_default_context: a client context that verifies
// against the system's CAs and checks names, or a server context (to which
// load_cert_chain adds the certificate).
inline std::shared_ptr<ssl_context> create_default_context(bool server_side = false) {
    auto context = std::make_shared<ssl_context>(server_side);
    if (!server_side) context->load_default_certs();
    return context;
}

// ---------------------------------------------------------------- transport

namespace detail {

// What gale's socket BIO reads and writes: the descriptor, and the errno of
// the last failure, for SSL_ERROR_SYSCALL.
struct ssl_socket_io {
    int fd = -1;
    int last_errno = 0;
};

inline int ssl_bio_write(BIO* bio, const char* data, int size) {
    auto* io = static_cast<ssl_socket_io*>(BIO_get_data(bio));
    BIO_clear_retry_flags(bio);
#ifdef MSG_NOSIGNAL
    constexpr int flags = MSG_NOSIGNAL;
#else
    constexpr int flags = 0;
#endif
    for (;;) {
        ssize_t n = ::send(io->fd, data, static_cast<std::size_t>(size), flags);
        if (n >= 0) return static_cast<int>(n);
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) BIO_set_retry_write(bio);
        else io->last_errno = errno;
        return -1;
    }
}

inline int ssl_bio_read(BIO* bio, char* data, int size) {
    auto* io = static_cast<ssl_socket_io*>(BIO_get_data(bio));
    BIO_clear_retry_flags(bio);
    for (;;) {
        ssize_t n = ::recv(io->fd, data, static_cast<std::size_t>(size), 0);
        if (n >= 0) return static_cast<int>(n);  // 0: the peer closed
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) BIO_set_retry_read(bio);
        else io->last_errno = errno;
        return -1;
    }
}

inline long ssl_bio_ctrl(BIO*, int command, long, void*) {
    switch (command) {
        case BIO_CTRL_FLUSH: return 1;  // writes go straight to the socket
        default: return 0;
    }
}

inline int ssl_bio_create(BIO* bio) {
    BIO_set_init(bio, 1);
    return 1;
}

inline int ssl_bio_destroy(BIO*) { return 1; }

// The BIO method, made once per process (it lives as long as the process).
inline BIO_METHOD* ssl_socket_bio_method() {
    static BIO_METHOD* const method = [] {
        BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "gale socket");
        if (!m) throw std::bad_alloc();
        BIO_meth_set_write(m, &ssl_bio_write);
        BIO_meth_set_read(m, &ssl_bio_read);
        BIO_meth_set_ctrl(m, &ssl_bio_ctrl);
        BIO_meth_set_create(m, &ssl_bio_create);
        BIO_meth_set_destroy(m, &ssl_bio_destroy);
        return m;
    }();
    return method;
}

// Python's wording for the two name checks; OpenSSL's text otherwise.
inline std::string ssl_verify_message(long code, const std::string& hostname) {
    if (code == X509_V_ERR_HOSTNAME_MISMATCH)
        return fmt::format("Hostname mismatch, certificate is not valid for '{}'.", hostname);
    if (code == X509_V_ERR_IP_ADDRESS_MISMATCH)
        return fmt::format("IP address mismatch, certificate is not valid for '{}'.", hostname);
    return X509_verify_cert_error_string(code);
}

}  // namespace detail

// A TLS connection over a TCP socket, as an IOStream transport (see the
// design note at the top of this header). Made by ssl_wrap_socket and
// start_tls, which run the handshake before the stream exists; reach it
// from a stream with ssl_transport_of().
class ssl_transport final : public stream_transport {
public:
    // Prepares the TLS session; handshake() runs it. Client side:
    // server_hostname goes out in SNI (unless it is an IP address) and, with
    // check_hostname, must match the certificate; an empty one with
    // check_hostname on is std::invalid_argument (Python's ValueError).
    ssl_transport(asio::ip::tcp::socket socket, std::shared_ptr<const ssl_context> context, bool server_side,
                  std::string server_hostname = {})
        : socket_(std::move(socket)),
          context_(std::move(context)),
          hostname_(std::move(server_hostname)),
          server_side_(server_side) {
        if (!context_) throw std::invalid_argument("ssl_transport: no ssl_context");
        if (server_side && !context_->server_side())
            throw std::invalid_argument("a client ssl_context cannot be used on the server side");
        if (!server_side && context_->server_side())
            throw std::invalid_argument("a server ssl_context cannot be used on the client side");
        if (!server_side && context_->check_hostname() && hostname_.empty())
            throw std::invalid_argument("check_hostname requires server_hostname");
        std::error_code ec;
        socket_.non_blocking(true, ec);  // OpenSSL's reads and writes must not block
        io_.fd = socket_.native_handle();

        ssl_ = SSL_new(context_->native_handle());
        if (!ssl_) throw SSLError(detail::ssl_error_code(ERR_get_error()), "SSL_new failed");
        BIO* bio = BIO_new(detail::ssl_socket_bio_method());
        if (!bio) {
            SSL_free(ssl_);
            throw std::bad_alloc();
        }
        BIO_set_data(bio, &io_);
        SSL_set_bio(ssl_, bio, bio);
        // Partial writes and a moving buffer: a write that would block is
        // retried later from IOStream's queue, same bytes, other address.
        SSL_set_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                               SSL_MODE_RELEASE_BUFFERS);
        if (server_side) {
            SSL_set_accept_state(ssl_);
        } else {
            SSL_set_connect_state(ssl_);
            if (!hostname_.empty() && !configure_hostname()) {
                SSL_free(ssl_);
                throw std::invalid_argument(fmt::format("invalid server_hostname \"{}\"", hostname_));
            }
        }
    }

    ~ssl_transport() override { SSL_free(ssl_); }

    // Runs the handshake (awaitable; a with_timeout around it cancels it).
    // Throws SSLError / SSLCertVerificationError, or StreamClosedError if
    // the peer closed or reset the connection.
    task<void> handshake() {
        for (;;) {
            clear_errors();
            int result = SSL_do_handshake(ssl_);
            if (result == 1) co_return;
            int error = SSL_get_error(ssl_, result);
            if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
                auto direction = error == SSL_ERROR_WANT_READ ? asio::socket_base::wait_read
                                                              : asio::socket_base::wait_write;
                std::error_code ec = co_await socket_.async_wait(direction, use_task_nothrow);
                if (ec) throw StreamClosedError(std::make_exception_ptr(std::system_error(ec, "SSL handshake")));
                continue;
            }
            fail_handshake(error);
        }
    }

    // ------------------------------------------------------ stream_transport

    std::size_t read_some(asio::mutable_buffer buffer, std::error_code& ec) override {
        ec = {};
        if (pending_error_) {
            ec = pending_error_;
            return 0;
        }
        char* out = static_cast<char*>(buffer.data());
        std::size_t total = 0;
        // Records arrive up to 16 KiB at a time: take all that is ready.
        while (total < buffer.size()) {
            clear_errors();
            std::size_t n = 0;
            int result = SSL_read_ex(ssl_, out + total, buffer.size() - total, &n);
            if (result == 1) {
                total += n;
                continue;
            }
            int error = SSL_get_error(ssl_, result);
            if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
                read_wants_ = error == SSL_ERROR_WANT_READ ? wait_type::read : wait_type::write;
                break;
            }
            std::error_code failure = translate(error);
            if (total > 0) {
                pending_error_ = failure;  // reported by the next call, after these bytes
                break;
            }
            ec = failure;
            return 0;
        }
        if (total == 0) ec = asio::error::would_block;
        return total;
    }

    // After would_block, the caller offers the same unsent bytes again first
    // (from wherever it keeps them), as IOStream's write queue does: OpenSSL
    // has already sealed part of them into a record it must finish sending.
    std::size_t write_some(std::span<const asio::const_buffer> buffers, std::error_code& ec) override {
        ec = {};
        if (pending_error_) {
            ec = pending_error_;
            return 0;
        }
        std::size_t total = 0, index = 0, offset = 0;
        for (;;) {
            while (index < buffers.size() && offset == buffers[index].size()) {
                ++index;
                offset = 0;
            }
            if (index == buffers.size()) break;
            // At most one record per SSL_write. A short buffer is gathered
            // with those after it, so small writes do not make small
            // records; either way a retry after WANT_WRITE offers at least
            // the bytes the blocked record held, as OpenSSL requires.
            const char* data = static_cast<const char*>(buffers[index].data()) + offset;
            std::size_t size = std::min(buffers[index].size() - offset, record_size);
            if (size < record_size && index + 1 < buffers.size()) {
                std::array<char, record_size>& scratch = gather_buffer();
                size = 0;
                std::size_t i = index, off = offset;
                while (i < buffers.size() && size < record_size) {
                    std::size_t take = std::min(buffers[i].size() - off, record_size - size);
                    std::copy_n(static_cast<const char*>(buffers[i].data()) + off, take, scratch.data() + size);
                    size += take;
                    off += take;
                    if (off == buffers[i].size()) {
                        ++i;
                        off = 0;
                    }
                }
                data = scratch.data();
            }
            clear_errors();
            std::size_t n = 0;
            int result = SSL_write_ex(ssl_, data, size, &n);
            if (result == 1) {
                total += n;
                while (n > 0) {  // step past the bytes written
                    std::size_t take = std::min(buffers[index].size() - offset, n);
                    offset += take;
                    n -= take;
                    if (offset == buffers[index].size() && n > 0) {
                        ++index;
                        offset = 0;
                    }
                }
                continue;
            }
            int error = SSL_get_error(ssl_, result);
            if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
                write_wants_ = error == SSL_ERROR_WANT_WRITE ? wait_type::write : wait_type::read;
                break;
            }
            std::error_code failure = translate(error);
            if (total > 0) {
                pending_error_ = failure;
                break;
            }
            ec = failure;
            return 0;
        }
        if (total == 0 && index < buffers.size()) ec = asio::error::would_block;
        return total;
    }

    void async_wait(wait_type what, ready_handler handler) override {
        // Decrypted bytes OpenSSL holds already: no need to wait for the socket.
        if (what == wait_type::read && SSL_has_pending(ssl_) && socket_.is_open()) {
            asio::post(socket_.get_executor(), [h = std::move(handler)]() mutable { h(std::error_code()); });
            return;
        }
        // Otherwise wait for whatever OpenSSL last asked for in that
        // direction: a read may need to write (TLS 1.3 key updates), a write
        // to read (renegotiation, which gale's own contexts refuse).
        wait_type socket_wait = what == wait_type::read ? read_wants_ : write_wants_;
        socket_.async_wait(socket_wait == wait_type::read ? asio::socket_base::wait_read
                                                          : asio::socket_base::wait_write,
                           std::move(handler));
    }

    // Sends close_notify if it can (without waiting), then closes.
    void close() noexcept override {
        if (socket_.is_open() && !failed_ && SSL_is_init_finished(ssl_)) {
            clear_errors();
            SSL_shutdown(ssl_);
            ERR_clear_error();
        }
        std::error_code ignored;
        socket_.close(ignored);
    }

    asio::ip::tcp::socket& socket() noexcept override { return socket_; }

    // ------------------------------------------------------ the session

    SSL* native_handle() const noexcept { return ssl_; }
    bool server_side() const noexcept { return server_side_; }
    const std::shared_ptr<const ssl_context>& context() const noexcept { return context_; }
    // The protocol, "TLSv1.3", and cipher, "TLS_AES_256_GCM_SHA384".
    std::string version() const { return SSL_get_version(ssl_); }
    std::string cipher() const {
        const char* name = SSL_get_cipher_name(ssl_);
        return name ? name : "";
    }
    // The name the client asked for in SNI (server side), or the one this
    // client sent.
    std::string server_name() const {
        if (!server_side_) return hostname_;
        const char* name = SSL_get_servername(ssl_, TLSEXT_NAMETYPE_host_name);
        return name ? name : "";
    }
    // The peer's certificate (borrowed; null if it sent none), and its
    // subject, "CN=client,O=gale" (RFC 2253), empty if none.
    X509* peer_certificate() const noexcept {
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
        return SSL_get0_peer_certificate(ssl_);
#else
        X509* cert = SSL_get_peer_certificate(ssl_);
        X509_free(cert);  // the session keeps its own reference
        return cert;
#endif
    }
    std::string peer_certificate_subject() const {
        X509* cert = peer_certificate();
        if (!cert) return {};
        BIO* out = BIO_new(BIO_s_mem());
        if (!out) throw std::bad_alloc();
        X509_NAME_print_ex(out, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
        char* text = nullptr;
        long size = BIO_get_mem_data(out, &text);
        std::string subject(text, static_cast<std::size_t>(size));
        BIO_free(out);
        return subject;
    }

private:
    static constexpr std::size_t record_size = 16 * 1024;  // TLS's largest record

    static std::array<char, record_size>& gather_buffer() {
        thread_local std::array<char, record_size> buffer;
        return buffer;
    }

    void clear_errors() noexcept {
        ERR_clear_error();
        io_.last_errno = 0;
    }

    bool configure_hostname() {
        const bool ip = is_valid_ip(hostname_);
        if (!ip && SSL_set_tlsext_host_name(ssl_, hostname_.c_str()) != 1) return false;
        if (!context_->check_hostname()) return true;
        if (ip) return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), hostname_.c_str()) == 1;
        SSL_set_hostflags(ssl_, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);  // as Python
        return SSL_set1_host(ssl_, hostname_.c_str()) == 1;
    }

    // The error of a failed SSL_read / SSL_write after the handshake.
    std::error_code translate(int error) {
        unsigned long queued = ERR_peek_last_error();
        switch (error) {
            case SSL_ERROR_ZERO_RETURN: return asio::error::eof;  // close_notify
            case SSL_ERROR_SYSCALL:
                failed_ = true;
                if (queued) return detail::ssl_error_code(ERR_get_error());
                if (io_.last_errno) return {io_.last_errno, asio::error::get_system_category()};
                return asio::error::eof;  // closed without close_notify: an ordinary end
            default:
                failed_ = true;
#ifdef SSL_R_UNEXPECTED_EOF_WHILE_READING
                if (ERR_GET_LIB(queued) == ERR_LIB_SSL && ERR_GET_REASON(queued) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
                    return asio::error::eof;
#endif
                return detail::ssl_error_code(queued ? queued : static_cast<unsigned long>(SSL_R_SSL_HANDSHAKE_FAILURE));
        }
    }

    [[noreturn]] void fail_handshake(int error) {
        failed_ = true;
        unsigned long queued = ERR_peek_last_error();
        bool eof = error == SSL_ERROR_ZERO_RETURN || (error == SSL_ERROR_SYSCALL && !queued);
#ifdef SSL_R_UNEXPECTED_EOF_WHILE_READING
        eof = eof || (ERR_GET_LIB(queued) == ERR_LIB_SSL && ERR_GET_REASON(queued) == SSL_R_UNEXPECTED_EOF_WHILE_READING);
#endif
        if (eof) {
            ERR_clear_error();
            if (io_.last_errno)  // a reset, most likely: quiet, as in Tornado
                throw StreamClosedError(std::make_exception_ptr(
                    std::system_error(io_.last_errno, asio::error::get_system_category(), "SSL handshake")));
            throw StreamClosedError();
        }
        std::error_code code = detail::ssl_error_code(queued);
        ERR_clear_error();
        long verify = SSL_get_verify_result(ssl_);
        std::error_code peer_ec;
        auto peer = socket_.remote_endpoint(peer_ec);
        const std::string where = "(" + (peer_ec ? std::string("not connected") : detail::endpoint_text(peer)) + ")";
        if (verify != X509_V_OK && ERR_GET_REASON(queued) == SSL_R_CERTIFICATE_VERIFY_FAILED) {
            SSLCertVerificationError e(code, verify, detail::ssl_verify_message(verify, hostname_));
            detail::log(detail::gen_log, detail::log_level::warning, "ssl", __LINE__, "SSL Error on {} {}: {}",
                        io_.fd, where, e.what());
            throw e;
        }
        SSLError e(code, "SSL handshake failed: " + detail::ssl_error_text(code));
        detail::log(detail::gen_log, detail::log_level::warning, "ssl", __LINE__, "SSL Error on {} {}: {}", io_.fd,
                    where, e.what());
        throw e;
    }

    asio::ip::tcp::socket socket_;
    std::shared_ptr<const ssl_context> context_;
    std::string hostname_;
    detail::ssl_socket_io io_;
    SSL* ssl_ = nullptr;
    wait_type read_wants_ = wait_type::read;   // what the last SSL_read waited for
    wait_type write_wants_ = wait_type::write;  // what the last SSL_write waited for
    std::error_code pending_error_;
    bool server_side_;
    bool failed_ = false;  // a fatal error: no close_notify
};

// The TLS transport under a stream, or null for a plain one.
inline ssl_transport* ssl_transport_of(IOStream& stream) noexcept {
    return dynamic_cast<ssl_transport*>(&stream.transport());
}

// ---------------------------------------------------------------- wrapping

namespace detail {

inline task<std::shared_ptr<IOStream>> ssl_handshake_stream(std::unique_ptr<ssl_transport> transport,
                                                           stream_options options) {
    co_await transport->handshake();
    co_return std::make_shared<IOStream>(std::move(transport), std::move(options));
}

}  // namespace detail

// Tornado's ssl_wrap_socket and SSLIOStream in one: secures a connected
// socket and returns its stream once the handshake is done (see the top of
// this header for errors). Within the context's handshake_timeout, if any
// (TimeoutError); a with_timeout around it cancels it too. Arguments are
// checked at the call (std::invalid_argument: a context for the other
// side, a client without server_hostname while check_hostname is on).
inline task<std::shared_ptr<IOStream>> ssl_wrap_socket(asio::ip::tcp::socket socket,
                                                       std::shared_ptr<const ssl_context> context, bool server_side,
                                                       std::string server_hostname = {},
                                                       stream_options options = {}) {
    std::optional<IOLoop::duration> limit = context ? context->handshake_timeout : std::nullopt;
    auto transport =
        std::make_unique<ssl_transport>(std::move(socket), std::move(context), server_side, std::move(server_hostname));
    task<std::shared_ptr<IOStream>> work = detail::ssl_handshake_stream(std::move(transport), std::move(options));
    if (!limit) return work;
    return with_timeout(*limit, std::move(work));
}

inline task<std::shared_ptr<IOStream>> ssl_context::handshake(asio::ip::tcp::socket socket, bool server_side,
                                                              std::string server_hostname,
                                                              stream_options options) const {
    return ssl_wrap_socket(std::move(socket), shared_from_this(), server_side, std::move(server_hostname),
                           std::move(options));
}

// Tornado's IOStream.start_tls: turns an idle plain stream into a TLS one
// (STARTTLS in SMTP, IMAP ...). The stream must have nothing buffered,
// being read or being written (std::logic_error otherwise); it is closed
// and must not be used again, its close callback is dropped, and the
// returned stream carries on over the same connection with the same
// options.
inline task<std::shared_ptr<IOStream>> start_tls(std::shared_ptr<IOStream> stream, bool server_side,
                                                 std::shared_ptr<const ssl_context> context,
                                                 std::string server_hostname = {}) {
    if (!stream) throw std::invalid_argument("start_tls: no stream");
    if (stream->closed()) throw StreamClosedError(stream->error());
    if (!dynamic_cast<tcp_transport*>(&stream->transport()))
        throw std::invalid_argument("start_tls: the stream is not a plain TCP stream");
    if (stream->reading() || stream->writing() || !stream->read_buffer().empty())
        throw std::logic_error("IOStream is not idle; cannot convert to SSL");
    stream_options options = stream->options();
    stream->set_close_callback(nullptr);  // ends its watch on the socket first
    asio::ip::tcp::socket socket = std::move(stream->socket());
    stream->close();
    return ssl_wrap_socket(std::move(socket), std::move(context), server_side, std::move(server_hostname),
                           std::move(options));
}

}  // namespace gale
