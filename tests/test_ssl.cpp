// Tests for <gale/ssl.hpp>: TLS servers and clients on 127.0.0.1 with
// ephemeral ports and certificates made at test time (ssl_support.hpp);
// gale against itself, and against curl, openssl s_client and Tornado.
#include <gale/ssl.hpp>

#include <openssl/x509_vfy.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <asio/ip/tcp.hpp>

#include <gale/concurrent.hpp>
#include <gale/gen.hpp>
#include <gale/tcpclient.hpp>
#include <gale/tcpserver.hpp>
#include <gale/use_task.hpp>

#include "net_support.hpp"
#include "ssl_support.hpp"
#include "support.hpp"

namespace {

using namespace std::chrono_literals;
using asio::ip::tcp;
using gale::IOStream;
using gale::StreamClosedError;
using gale_test::run_async;
using gale_test::run_command;
using gale_test::live_count;
using gale_test::test_certs;

const test_certs& certs() { return test_certs::get(); }

std::shared_ptr<gale::ssl_context> server_context(std::string cert = {}, std::string key = {}) {
    gale::ssl_options options;
    options.certfile = cert.empty() ? certs().server_cert : cert;
    options.keyfile = key.empty() ? certs().server_key : key;
    return gale::ssl_options_to_context(options, true);
}

// A server that wants client certificates signed by the test CA.
std::shared_ptr<gale::ssl_context> client_auth_server_context(gale::ssl_cert_reqs reqs) {
    gale::ssl_options options;
    options.certfile = certs().server_cert;
    options.keyfile = certs().server_key;
    options.cert_reqs = reqs;
    options.ca_certs = certs().ca_cert;
    return gale::ssl_options_to_context(options, true);
}

std::shared_ptr<gale::ssl_context> client_context(std::string ca = {}) {
    gale::ssl_options options;
    options.ca_certs = ca.empty() ? certs().ca_cert : ca;
    return gale::ssl_options_to_context(options, false);
}

std::shared_ptr<gale::ssl_context> client_context_with_cert(const std::string& cert, const std::string& key) {
    gale::ssl_options options;
    options.certfile = cert;
    options.keyfile = key;
    options.ca_certs = certs().ca_cert;
    return gale::ssl_options_to_context(options, false);
}

template <class F>
gale::task<bool> wait_until(F done, std::chrono::milliseconds limit = 5000ms) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline) co_return false;
        co_await gale::sleep(1ms);
    }
    co_return true;
}

// An ssl_handshaker around another that counts handshakes: the hook is
// open to any implementation, and tests can wait for the server's
// handshakes to settle.
struct counting_handshaker final : gale::ssl_handshaker {
    explicit counting_handshaker(std::shared_ptr<const gale::ssl_handshaker> real) : inner(std::move(real)) {}

    gale::task<std::shared_ptr<IOStream>> handshake(tcp::socket socket, bool server_side, std::string host,
                                                    gale::stream_options options) const override {
        return run(this, std::move(socket), server_side, std::move(host), options);
    }

    static gale::task<std::shared_ptr<IOStream>> run(const counting_handshaker* self, tcp::socket socket,
                                                     bool server_side, std::string host,
                                                     gale::stream_options options) {
        ++self->running;
        try {
            auto stream = co_await self->inner->handshake(std::move(socket), server_side, std::move(host), options);
            --self->running;
            ++self->succeeded;
            co_return stream;
        } catch (...) {
            --self->running;
            ++self->failed;
            throw;
        }
    }

    gale::task<bool> settled(int failures) const {
        return wait_until([this, failures] { return running == 0 && failed >= failures; });
    }

    std::shared_ptr<const gale::ssl_handshaker> inner;
    mutable int running = 0;
    mutable int succeeded = 0;
    mutable int failed = 0;
};

// Echoes lines; records what it sees of each TLS session.
struct EchoServer : gale::TCPServer {
    using gale::TCPServer::TCPServer;
    live_count live;
    bool once = false;  // close after echoing one line
    std::vector<std::string> addresses, server_names, subjects, versions;

    gale::task<void> handle_stream(std::shared_ptr<IOStream> stream, std::string address) override {
        live_count::scope counted(live);
        addresses.push_back(address);
        if (gale::ssl_transport* tls = gale::ssl_transport_of(*stream)) {
            server_names.push_back(tls->server_name());
            subjects.push_back(tls->peer_certificate_subject());
            versions.push_back(tls->version());
        }
        try {
            do {
                co_await stream->write(co_await stream->read_until("\n"));
            } while (!once);
        } catch (const StreamClosedError&) {
        }
    }

    gale::task<bool> drained() {
        return wait_until([this] { return live.running == 0; });
    }
};

// Answers one HTTP request over whatever the stream is.
struct HelloHTTPServer : gale::TCPServer {
    using gale::TCPServer::TCPServer;
    live_count live;

    gale::task<void> handle_stream(std::shared_ptr<IOStream> stream, std::string) override {
        live_count::scope counted(live);
        try {
            co_await stream->read_until("\r\n\r\n", 65536);
            co_await stream->write(
                "HTTP/1.1 200 OK\r\nContent-Length: 14\r\nConnection: close\r\n\r\nhello over TLS");
        } catch (const StreamClosedError&) {
        }
    }
};

gale::task<std::shared_ptr<IOStream>> dial_plain(std::uint16_t port) {
    tcp::socket socket(gale::IOLoop::current().context());
    co_await socket.async_connect({asio::ip::address_v4::loopback(), port}, gale::use_task);
    co_return std::make_shared<IOStream>(std::move(socket));
}

gale::task<std::shared_ptr<IOStream>> dial_tls(std::uint16_t port, std::shared_ptr<gale::ssl_context> ctx,
                                               std::string host = "localhost", std::string server_hostname = {}) {
    gale::TCPClient client;
    co_return co_await client.connect(std::move(host), port, {}, std::move(ctx), std::move(server_hostname));
}

gale::task<std::string> echo_over(std::shared_ptr<IOStream> stream, std::string line) {
    co_await stream->write(line);
    co_return co_await stream->read_until("\n");
}

// Records at debug level while alive (handshake failures are logged there).
struct debug_logging {
    int previous = gale::detail::logging_config().threshold.exchange(static_cast<int>(gale::detail::log_level::debug));
    debug_logging() = default;
    debug_logging(const debug_logging&) = delete;
    debug_logging& operator=(const debug_logging&) = delete;
    ~debug_logging() { gale::detail::logging_config().threshold.store(previous); }
};

// A Python with Tornado: the system's, which a pyenv shim may hide.
std::string tornado_python() {
    for (const char* python : {"/usr/bin/python3", "python3"})
        if (std::system((std::string(python) + " -c 'import tornado' >/dev/null 2>&1").c_str()) == 0) return python;
    return {};
}

bool have(const char* program) {
    return std::system((std::string("command -v ") + program + " >/dev/null 2>&1").c_str()) == 0;
}

std::string pattern(std::size_t size, unsigned seed) {
    std::string s(size, '\0');
    std::uint32_t x = seed * 2654435761u + 1;
    for (auto& c : s) {
        x = x * 1664525u + 1013904223u;
        c = static_cast<char>(x >> 24);
    }
    return s;
}

// ---------------------------------------------------------------- basics

TEST_CASE("echo over TLS: gale server, gale client, SNI and the server's name verified") {
    run_async([]() -> gale::task<void> {
        EchoServer server({}, server_context());
        std::uint16_t port = server.listen(0, "127.0.0.1");

        auto stream = co_await dial_tls(port, client_context());
        CHECK(co_await echo_over(stream, "hello\n") == "hello\n");
        CHECK(co_await echo_over(stream, "again\n") == "again\n");
        gale::ssl_transport* tls = gale::ssl_transport_of(*stream);
        REQUIRE(tls != nullptr);
        CHECK(tls->version() == "TLSv1.3");
        CHECK_FALSE(tls->cipher().empty());
        CHECK_FALSE(tls->server_side());
        CHECK(tls->server_name() == "localhost");
        CHECK(tls->peer_certificate_subject().find("CN=localhost") != std::string::npos);
        stream->close();

        // By address: checked against the certificate's IP addresses, no SNI.
        auto by_ip = co_await dial_tls(port, client_context(), "127.0.0.1");
        CHECK(co_await echo_over(by_ip, "by ip\n") == "by ip\n");
        by_ip->close();

        // By address, verifying a name given apart (Tornado passes host).
        auto named = co_await dial_tls(port, client_context(), "127.0.0.1", "localhost");
        CHECK(co_await echo_over(named, "named\n") == "named\n");
        named->close();

        CHECK(co_await server.drained());
        REQUIRE(server.server_names.size() == 3);
        CHECK(server.server_names[0] == "localhost");
        CHECK(server.server_names[1].empty());
        CHECK(server.server_names[2] == "localhost");
        CHECK(server.versions[0] == "TLSv1.3");
        CHECK(server.subjects[0].empty());  // no client certificate asked for
        CHECK(server.addresses[0].rfind("127.0.0.1:", 0) == 0);

        // A plain stream has no TLS transport.
        auto plain = co_await dial_plain(port);
        CHECK(gale::ssl_transport_of(*plain) == nullptr);
    });
}

TEST_CASE("many TLS clients at once") {
    run_async([]() -> gale::task<void> {
        EchoServer server({}, server_context());
        std::uint16_t port = server.listen(0, "127.0.0.1");
        auto ctx = client_context();
        std::vector<gale::task<std::string>> clients;
        for (int i = 0; i < 20; ++i)
            clients.push_back([](std::uint16_t p, std::shared_ptr<gale::ssl_context> c, int n) -> gale::task<std::string> {
                auto stream = co_await dial_tls(p, c);
                std::string reply = co_await echo_over(stream, "client " + std::to_string(n) + "\n");
                stream->close();
                co_return reply;
            }(port, ctx, i));
        std::vector<std::string> replies = co_await gale::gather(std::move(clients));
        for (int i = 0; i < 20; ++i) CHECK(replies[static_cast<std::size_t>(i)] == "client " + std::to_string(i) + "\n");
        CHECK(co_await server.drained());
        CHECK(server.live.total == 20);
    });
}

TEST_CASE("TLS 1.2 works too") {
    run_async([]() -> gale::task<void> {
        EchoServer server({}, server_context());
        std::uint16_t port = server.listen(0, "127.0.0.1");
        auto ctx = client_context();
        SSL_CTX_set_max_proto_version(ctx->native_handle(), TLS1_2_VERSION);
        auto stream = co_await dial_tls(port, ctx);
        CHECK(co_await echo_over(stream, "old school\n") == "old school\n");
        CHECK(gale::ssl_transport_of(*stream)->version() == "TLSv1.2");
        stream->close();
        CHECK(co_await server.drained());
        CHECK(server.versions.at(0) == "TLSv1.2");
    });
}

// ---------------------------------------------------------------- verification

TEST_CASE("a certificate for another name is rejected, and the server carries on") {
    gale_test::log_capture log;
    run_async([]() -> gale::task<void> {
        auto hooks = std::make_shared<counting_handshaker>(server_context());
        EchoServer server({}, hooks);
        std::uint16_t port = server.listen(0, "127.0.0.1");

        auto e = co_await gale_test::thrown<gale::SSLCertVerificationError>(
            dial_tls(port, client_context(), "127.0.0.1", "wrong.example"));
        CHECK(e.verify_code() == X509_V_ERR_HOSTNAME_MISMATCH);
        CHECK(e.verify_message() == "Hostname mismatch, certificate is not valid for 'wrong.example'.");
        CHECK(std::string(e.what()).rfind(
                  "certificate verify failed: Hostname mismatch, certificate is not valid for 'wrong.example'.", 0) == 0);
        CHECK(co_await hooks->settled(1));
        CHECK(hooks->failed == 1);

        // Turning check_hostname off accepts it.
        auto relaxed = client_context();
        relaxed->set_check_hostname(false);
        auto stream = co_await dial_tls(port, relaxed, "127.0.0.1", "wrong.example");
        CHECK(co_await echo_over(stream, "still here\n") == "still here\n");
        stream->close();
        CHECK(co_await server.drained());
        CHECK(server.live.total == 1);
    });
    CHECK_FALSE(log.matching("SSL Error on").empty());  // as Tornado logs it
}

TEST_CASE("an IP address not in the certificate is rejected") {
    run_async([]() -> gale::task<void> {
        auto hooks = std::make_shared<counting_handshaker>(server_context(certs().wrong_name_cert, certs().wrong_name_key));
        EchoServer server({}, hooks);
        std::uint16_t port = server.listen(0, "127.0.0.1");
        auto e = co_await gale_test::thrown<gale::SSLCertVerificationError>(
            dial_tls(port, client_context(), "127.0.0.1"));
        CHECK(e.verify_code() == X509_V_ERR_IP_ADDRESS_MISMATCH);
        CHECK(e.verify_message() == "IP address mismatch, certificate is not valid for '127.0.0.1'.");
        // And it is valid for its own name.
        auto stream = co_await dial_tls(port, client_context(), "127.0.0.1", "www.example.com");
        CHECK(co_await echo_over(stream, "example\n") == "example\n");
        stream->close();
        CHECK(co_await hooks->settled(1));
        CHECK(co_await server.drained());
    });
}

TEST_CASE("a server certificate from an unknown CA is rejected when verifying") {
    gale_test::log_capture log;
    run_async([]() -> gale::task<void> {
        auto hooks = std::make_shared<counting_handshaker>(server_context());
        EchoServer server({}, hooks);
        std::uint16_t port = server.listen(0, "127.0.0.1");

        // Trusting another CA.
        auto e = co_await gale_test::thrown<gale::SSLCertVerificationError>(
            dial_tls(port, client_context(certs().other_ca_cert)));
        CHECK(e.verify_code() == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
        CHECK(e.verify_message() == "unable to get local issuer certificate");
        // Trusting the system's CAs only (Python's create_default_context).
        CHECK(co_await gale_test::throws<gale::SSLCertVerificationError>(
            dial_tls(port, gale::create_default_context())));
        // An SSLCertVerificationError is an SSLError.
        CHECK(co_await gale_test::throws<gale::SSLError>(dial_tls(port, client_context(certs().other_ca_cert))));
        CHECK(co_await hooks->settled(3));
        CHECK(server.live.total == 0);
    });
    CHECK(log.matching("certificate verify failed").size() >= 3);
}

TEST_CASE("a self-signed server certificate: rejected, unless trusted or verification is off") {
    run_async([]() -> gale::task<void> {
        auto hooks = std::make_shared<counting_handshaker>(
            server_context(certs().self_signed_cert, certs().self_signed_key));
        EchoServer server({}, hooks);
        std::uint16_t port = server.listen(0, "127.0.0.1");

        auto e = co_await gale_test::thrown<gale::SSLCertVerificationError>(dial_tls(port, client_context()));
        CHECK(e.verify_code() == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT);

        // Trusted as its own CA.
        auto trusting = co_await dial_tls(port, client_context(certs().self_signed_cert));
        CHECK(co_await echo_over(trusting, "trusted\n") == "trusted\n");
        trusting->close();

        // Verification off (Tornado's cert_reqs=ssl.CERT_NONE): accepted,
        // whatever the name.
        gale::ssl_options off;
        off.cert_reqs = gale::ssl_cert_reqs::none;
        auto unverified = gale::ssl_options_to_context(off, false);
        CHECK(unverified->verify_mode() == gale::ssl_cert_reqs::none);
        CHECK_FALSE(unverified->check_hostname());
        auto stream = co_await dial_tls(port, unverified, "127.0.0.1", "anything.example");
        CHECK(co_await echo_over(stream, "unverified\n") == "unverified\n");
        stream->close();
        // Also with no server_hostname at all.
        tcp::socket raw(gale::IOLoop::current().context());
        co_await raw.async_connect({asio::ip::address_v4::loopback(), port}, gale::use_task);
        auto wrapped = co_await gale::ssl_wrap_socket(std::move(raw), unverified, false);
        CHECK(co_await echo_over(wrapped, "no name\n") == "no name\n");
        wrapped->close();

        CHECK(co_await hooks->settled(1));
        CHECK(co_await server.drained());
        CHECK(server.live.total == 3);
    });
}

// ---------------------------------------------------------------- client certificates

TEST_CASE("client certificates required: accepted from the trusted CA, refused otherwise") {
    gale_test::log_capture log;
    run_async([]() -> gale::task<void> {
        auto hooks = std::make_shared<counting_handshaker>(client_auth_server_context(gale::ssl_cert_reqs::required));
        EchoServer server({}, hooks);
        std::uint16_t port = server.listen(0, "127.0.0.1");

        // With the right certificate.
        auto good = co_await dial_tls(port, client_context_with_cert(certs().client_cert, certs().client_key));
        CHECK(co_await echo_over(good, "it's me\n") == "it's me\n");
        good->close();
        CHECK(co_await server.drained());
        REQUIRE(server.subjects.size() == 1);
        CHECK(server.subjects[0] == "CN=client,O=gale tests");

        // Without one, and with one from an unknown CA. In TLS 1.3 the
        // client finishes its side of the handshake before the server
        // judges its certificate, so the refusal may only show on the first
        // read; either way no stream reaches handle_stream.
        auto attempt = [](std::uint16_t p, std::shared_ptr<gale::ssl_context> ctx) -> gale::task<bool> {
            try {
                auto stream = co_await dial_tls(p, ctx);
                co_await stream->write("let me in\n");
                co_await stream->read_until("\n");
                co_return false;  // served: should not happen
            } catch (const gale::SSLError&) {
            } catch (const StreamClosedError&) {
            }
            co_return true;
        };
        CHECK(co_await attempt(port, client_context()));
        CHECK(co_await attempt(port, client_context_with_cert(certs().other_client_cert, certs().other_client_key)));
        CHECK(co_await hooks->settled(2));
        CHECK(hooks->failed == 2);
        CHECK(server.live.total == 1);
    });
    CHECK_FALSE(log.matching("peer did not return a certificate").empty());
    auto unknown = log.matching("certificate verify failed");
    REQUIRE_FALSE(unknown.empty());
    CHECK(unknown[0].find("unable to get local issuer certificate") != std::string::npos);
}

TEST_CASE("client certificates optional: none is fine, a bad one is not") {
    run_async([]() -> gale::task<void> {
        auto hooks = std::make_shared<counting_handshaker>(client_auth_server_context(gale::ssl_cert_reqs::optional));
        EchoServer server({}, hooks);
        std::uint16_t port = server.listen(0, "127.0.0.1");

        auto anonymous = co_await dial_tls(port, client_context());
        CHECK(co_await echo_over(anonymous, "anonymous\n") == "anonymous\n");
        anonymous->close();
        auto known = co_await dial_tls(port, client_context_with_cert(certs().client_cert, certs().client_key));
        CHECK(co_await echo_over(known, "known\n") == "known\n");
        known->close();
        CHECK(co_await server.drained());
        REQUIRE(server.subjects.size() == 2);
        CHECK(server.subjects[0].empty());
        CHECK(server.subjects[1] == "CN=client,O=gale tests");

        bool refused = false;
        try {
            auto stream =
                co_await dial_tls(port, client_context_with_cert(certs().other_client_cert, certs().other_client_key));
            co_await stream->write("intruder\n");
            co_await stream->read_until("\n");
        } catch (const gale::SSLError&) {
            refused = true;
        } catch (const StreamClosedError&) {
            refused = true;
        }
        CHECK(refused);
        CHECK(co_await hooks->settled(1));
        CHECK(server.live.total == 2);
    });
}

// ---------------------------------------------------------------- transfers

TEST_CASE("several megabytes both ways at once") {
    run_async(
        []() -> gale::task<void> {
            struct ChunkEcho : gale::TCPServer {
                using gale::TCPServer::TCPServer;
                live_count live;
                gale::task<void> handle_stream(std::shared_ptr<IOStream> stream, std::string) override {
                    live_count::scope counted(live);
                    try {
                        for (;;) co_await stream->write(co_await stream->read_bytes(256 * 1024, true));
                    } catch (const StreamClosedError&) {
                    }
                }
            };
            ChunkEcho server({}, server_context());
            std::uint16_t port = server.listen(0, "127.0.0.1");
            auto stream = co_await dial_tls(port, client_context());

            const std::string data = pattern(12 * 1024 * 1024, 1);
            auto writer = [](std::shared_ptr<IOStream> s, const std::string& d) -> gale::task<void> {
                for (std::size_t at = 0; at < d.size(); at += 100000)
                    co_await s->write(std::string_view(d).substr(at, 100000));
            };
            auto [ignored, echoed] = co_await gale::gather(writer(stream, data), stream->read_bytes(data.size()));
            (void)ignored;
            CHECK(echoed.size() == data.size());
            CHECK(echoed == data);
            stream->close();
            CHECK(co_await wait_until([&] { return server.live.running == 0; }));
        },
        60s);
}

TEST_CASE("a slow reader: the server's writes wait for the socket, nothing is lost") {
    run_async(
        []() -> gale::task<void> {
            static const std::string data = pattern(24 * 1024 * 1024, 2);
            struct Sender : gale::TCPServer {
                using gale::TCPServer::TCPServer;
                live_count live;
                bool wrote_all = false;
                gale::task<void> handle_stream(std::shared_ptr<IOStream> stream, std::string) override {
                    live_count::scope counted(live);
                    // One write of everything, then a second queued behind it.
                    auto first = stream->write(data);
                    CHECK(stream->writing());  // the kernel could not take 24 MB at once
                    co_await stream->write("\nthe end\n");
                    co_await std::move(first);
                    wrote_all = true;
                    co_await stream->read_until_close();
                }
            };
            Sender server({}, server_context());
            std::uint16_t port = server.listen(0, "127.0.0.1");
            auto stream = co_await dial_tls(port, client_context());
            co_await gale::sleep(300ms);  // let the server fill every buffer
            CHECK_FALSE(server.wrote_all);
            std::string got = co_await stream->read_bytes(data.size());
            CHECK(got == data);
            CHECK(co_await stream->read_until("the end\n") == "\nthe end\n");
            CHECK(server.wrote_all);
            stream->close();
            CHECK(co_await wait_until([&] { return server.live.running == 0; }));
        },
        60s);
}

TEST_CASE("many small writes, coalesced while the socket is blocked, arrive intact and in order") {
    run_async(
        []() -> gale::task<void> {
            struct Chatty : gale::TCPServer {
                using gale::TCPServer::TCPServer;
                live_count live;
                gale::task<void> handle_stream(std::shared_ptr<IOStream> stream, std::string) override {
                    live_count::scope counted(live);
                    // Lines of varying length, pairs of pieces, and a big
                    // string now and then, none awaited until the end.
                    for (int i = 0; i < 60000; ++i) {
                        std::string line = "line " + std::to_string(i) + std::string(static_cast<std::size_t>(i % 97), '.') + "\n";
                        if (i % 1000 == 999) (void)stream->write(std::string(100000, 'L') + "\n");
                        else if (i % 2) (void)stream->write(std::move(line));
                        else (void)stream->write(std::string_view(line).substr(0, 3), std::string_view(line).substr(3));
                    }
                    co_await stream->write("done\n");
                    co_await stream->read_until_close();
                }
            };
            Chatty server({}, server_context());
            std::uint16_t port = server.listen(0, "127.0.0.1");
            auto stream = co_await dial_tls(port, client_context());
            co_await gale::sleep(200ms);
            std::string expected;
            for (int i = 0; i < 60000; ++i) {
                if (i % 1000 == 999) expected += std::string(100000, 'L') + "\n";
                else expected += "line " + std::to_string(i) + std::string(static_cast<std::size_t>(i % 97), '.') + "\n";
            }
            expected += "done\n";
            std::string got = co_await stream->read_bytes(expected.size());
            CHECK(got.size() == expected.size());
            CHECK(got == expected);
            stream->close();
            CHECK(co_await wait_until([&] { return server.live.running == 0; }));
        },
        60s);
}

TEST_CASE("closing: close_notify and a bare TCP close both read as the end of the stream") {
    run_async([]() -> gale::task<void> {
        struct Collector : gale::TCPServer {
            using gale::TCPServer::TCPServer;
            live_count live;
            std::vector<std::string> received;
            std::vector<bool> clean;
            gale::task<void> handle_stream(std::shared_ptr<IOStream> stream, std::string) override {
                live_count::scope counted(live);
                received.push_back(co_await stream->read_until_close());
                clean.push_back(stream->error() == nullptr);
            }
        };
        Collector server({}, server_context());
        std::uint16_t port = server.listen(0, "127.0.0.1");

        auto polite = co_await dial_tls(port, client_context());
        co_await polite->write("goodbye");
        polite->close();  // sends close_notify

        auto abrupt = co_await dial_tls(port, client_context());
        co_await abrupt->write("gone");
        abrupt->socket().shutdown(tcp::socket::shutdown_both);  // no close_notify

        CHECK(co_await wait_until([&] { return server.received.size() == 2 && server.live.running == 0; }));
        std::sort(server.received.begin(), server.received.end());
        CHECK(server.received == std::vector<std::string>{"gone", "goodbye"});
        CHECK(server.clean == std::vector<bool>{true, true});
        abrupt->close();
    });
}

TEST_CASE("writing to a peer that has gone: an error, not SIGPIPE") {
    run_async([]() -> gale::task<void> {
        struct Writer : gale::TCPServer {
            using gale::TCPServer::TCPServer;
            live_count live;
            bool closed_error = false;
            gale::task<void> handle_stream(std::shared_ptr<IOStream> stream, std::string) override {
                live_count::scope counted(live);
                co_await stream->read_until("\n");
                const std::string block(256 * 1024, 'x');
                try {
                    for (int i = 0; i < 400; ++i) co_await stream->write(block);  // 100 MB: more than any buffer
                } catch (const StreamClosedError&) {
                    closed_error = true;
                }
            }
        };
        Writer server({}, server_context());
        std::uint16_t port = server.listen(0, "127.0.0.1");
        auto stream = co_await dial_tls(port, client_context());
        co_await stream->write("go\n");
        co_await stream->read_bytes(1000);
        stream->close();  // with megabytes unread: the server's next sends fail
        CHECK(co_await wait_until([&] { return server.live.running == 0; }, 20000ms));
        CHECK(server.closed_error);
    });
}

TEST_CASE("a TLS stream's close callback runs when the peer closes") {
    run_async([]() -> gale::task<void> {
        struct Watcher : gale::TCPServer {
            using gale::TCPServer::TCPServer;
            bool called = false;
            gale::task<void> handle_stream(std::shared_ptr<IOStream> stream, std::string) override {
                stream->set_close_callback([this, stream] { called = true; });
                co_return;
            }
        };
        Watcher server({}, server_context());
        std::uint16_t port = server.listen(0, "127.0.0.1");
        auto stream = co_await dial_tls(port, client_context());
        co_await gale::sleep(50ms);  // the server's stream waits idle, with TLS 1.3 tickets sent
        CHECK_FALSE(server.called);
        stream->close();
        CHECK(co_await wait_until([&] { return server.called; }));
    });
}

TEST_CASE("TLS over IPv6 loopback, checked against the certificate's ::1") {
    if (!gale_test::has_ipv6_loopback()) {
        MESSAGE("no IPv6 loopback; skipped");
        return;
    }
    run_async([]() -> gale::task<void> {
        EchoServer server({}, server_context());
        std::uint16_t port = server.listen(0, "::1");
        auto stream = co_await dial_tls(port, client_context(), "::1");
        CHECK(co_await echo_over(stream, "six\n") == "six\n");
        stream->close();
        CHECK(co_await server.drained());
        CHECK(server.addresses.at(0).rfind("[::1]:", 0) == 0);
    });
}

// ---------------------------------------------------------------- failures

TEST_CASE("a peer closing mid-handshake is quiet and harmless, on either side") {
    gale_test::log_capture log;
    debug_logging debug;
    run_async([]() -> gale::task<void> {
        auto hooks = std::make_shared<counting_handshaker>(server_context());
        EchoServer server({}, hooks);
        std::uint16_t port = server.listen(0, "127.0.0.1");

        // A client that starts a TLS record and hangs up.
        auto raw = co_await dial_plain(port);
        co_await raw->write(std::string("\x16\x03\x01\x02\x00\x01\x00", 7));
        raw->close();
        // One that connects and hangs up at once (a port scan).
        (co_await dial_plain(port))->close();
        CHECK(co_await hooks->settled(2));

        // The server still serves.
        auto stream = co_await dial_tls(port, client_context());
        CHECK(co_await echo_over(stream, "fine\n") == "fine\n");
        stream->close();
        CHECK(co_await server.drained());
        CHECK(server.live.total == 1);

        // A server that accepts, reads the ClientHello and hangs up.
        tcp::acceptor acceptor(gale::IOLoop::current().context(), {asio::ip::address_v4::loopback(), 0});
        std::uint16_t rude_port = acceptor.local_endpoint().port();
        auto rude = [](tcp::acceptor& a) -> gale::task<void> {
            tcp::socket s = co_await a.async_accept(gale::use_task);
            std::array<char, 512> buffer;
            co_await s.async_read_some(asio::buffer(buffer), gale::use_task);
            s.close();
        };
        auto [ignored, closed] = co_await gale::gather(
            rude(acceptor), gale_test::thrown<StreamClosedError>(dial_tls(rude_port, client_context())));
        (void)ignored;
        CHECK(closed.real_error() == nullptr);
    });
    CHECK(log.matching("SSL Error").empty());  // not worth a warning
    CHECK(log.matching("SSL handshake with 127.0.0.1:").size() == 2);
}

TEST_CASE("plain text to a TLS port: an SSL Error warning, the connection closed") {
    gale_test::log_capture log;
    run_async([]() -> gale::task<void> {
        auto hooks = std::make_shared<counting_handshaker>(server_context());
        EchoServer server({}, hooks);
        std::uint16_t port = server.listen(0, "127.0.0.1");
        auto raw = co_await dial_plain(port);
        co_await raw->write("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
        std::string answer = co_await raw->read_until_close();
        CHECK(answer.find("HTTP/1.1") == std::string::npos);
        CHECK(co_await hooks->settled(1));
        CHECK(server.live.total == 0);
    });
    auto warnings = log.matching("SSL Error on");
    REQUIRE(warnings.size() == 1);
    CHECK(warnings[0].rfind("tornado.general SSL Error on ", 0) == 0);
    CHECK(warnings[0].find("(127.0.0.1:") != std::string::npos);
}

TEST_CASE("handshake timeouts: a silent client is dropped, a silent server times the client out") {
    gale_test::log_capture log;
    debug_logging debug;
    run_async([]() -> gale::task<void> {
        auto ctx = server_context();
        CHECK(ctx->handshake_timeout == gale::ssl_context::default_server_handshake_timeout);
        ctx->handshake_timeout = 200ms;
        EchoServer server({}, ctx);
        std::uint16_t port = server.listen(0, "127.0.0.1");

        auto started = std::chrono::steady_clock::now();
        auto silent = co_await dial_plain(port);
        CHECK((co_await silent->read_until_close()).empty());  // the server hung up
        double waited = gale_test::elapsed_ms(started);
        CHECK(waited >= 150);
        CHECK(waited < 5000);
        CHECK(server.live.total == 0);

        // A server that accepts and says nothing.
        tcp::acceptor acceptor(gale::IOLoop::current().context(), {asio::ip::address_v4::loopback(), 0});
        std::uint16_t mute_port = acceptor.local_endpoint().port();
        tcp::socket held(gale::IOLoop::current().context());
        acceptor.async_accept(held, [](std::error_code) {});

        gale::TCPClient client;
        started = std::chrono::steady_clock::now();
        CHECK(co_await gale_test::throws<gale::TimeoutError>(
            client.connect("localhost", mute_port, {.timeout = 200ms}, client_context())));
        CHECK(gale_test::elapsed_ms(started) < 5000);

        // Or a with_timeout around ssl_wrap_socket, or the client
        // context's own handshake_timeout.
        tcp::socket raw(gale::IOLoop::current().context());
        co_await raw.async_connect({asio::ip::address_v4::loopback(), mute_port}, gale::use_task);
        CHECK(co_await gale_test::throws<gale::TimeoutError>(gale::with_timeout(
            200ms, gale::ssl_wrap_socket(std::move(raw), client_context(), false, "localhost"))));
        auto impatient = client_context();
        impatient->handshake_timeout = 100ms;
        CHECK(co_await gale_test::throws<gale::TimeoutError>(dial_tls(mute_port, impatient)));
    });
    CHECK_FALSE(log.matching("failed: Timeout").empty());
}

TEST_CASE("a server destroyed while a handshake runs drops that connection") {
    run_async([]() -> gale::task<void> {
        int served = 0;
        struct Counting : gale::TCPServer {
            int* served;
            Counting(std::shared_ptr<const gale::ssl_handshaker> ssl, int* count) : TCPServer({}, ssl), served(count) {}
            gale::task<void> handle_stream(std::shared_ptr<IOStream>, std::string) override {
                ++*served;
                co_return;
            }
        };
        auto hooks = std::make_shared<counting_handshaker>(server_context());
        auto server = std::make_unique<Counting>(hooks, &served);
        std::uint16_t port = server->listen(0, "127.0.0.1");
        tcp::socket raw(gale::IOLoop::current().context());
        co_await raw.async_connect({asio::ip::address_v4::loopback(), port}, gale::use_task);
        CHECK(co_await wait_until([&] { return hooks->running == 1; }));  // the server's handshake waits for us
        server.reset();
        // The handshake completes, but no one is left to serve the stream.
        auto stream = co_await gale::ssl_wrap_socket(std::move(raw), client_context(), false, "localhost");
        CHECK(co_await gale_test::throws<StreamClosedError>(stream->read_until("\n")));
        CHECK(served == 0);
    });
}

// ---------------------------------------------------------------- start_tls

TEST_CASE("start_tls upgrades a plain connection (STARTTLS)") {
    run_async([]() -> gale::task<void> {
        struct StartTLSServer : gale::TCPServer {
            using gale::TCPServer::TCPServer;
            live_count live;
            std::string secret;
            bool old_closed = false;
            gale::task<void> handle_stream(std::shared_ptr<IOStream> stream, std::string) override {
                live_count::scope counted(live);
                CHECK(co_await stream->read_until("\n") == "STARTTLS\n");
                co_await stream->write("220 go ahead\n");
                auto tls = co_await gale::start_tls(stream, true, server_context());
                old_closed = stream->closed();
                secret = co_await tls->read_until("\n");
                co_await tls->write("got it\n");
                co_await tls->read_until_close();
            }
        };
        StartTLSServer server;  // a plain server
        std::uint16_t port = server.listen(0, "127.0.0.1");
        auto plain = co_await dial_plain(port);
        co_await plain->write("STARTTLS\n");
        CHECK(co_await plain->read_until("\n") == "220 go ahead\n");
        auto tls = co_await gale::start_tls(plain, false, client_context(), "localhost");
        CHECK(plain->closed());
        CHECK(gale::ssl_transport_of(*tls) != nullptr);
        co_await tls->write("the password\n");
        CHECK(co_await tls->read_until("\n") == "got it\n");
        tls->close();
        CHECK(co_await wait_until([&] { return server.live.running == 0; }));
        CHECK(server.secret == "the password\n");
        CHECK(server.old_closed);
    });
}

TEST_CASE("start_tls refuses a stream that is not idle") {
    run_async([]() -> gale::task<void> {
        EchoServer server;
        std::uint16_t port = server.listen(0, "127.0.0.1");
        auto plain = co_await dial_plain(port);
        co_await plain->write("one\ntwo\n");
        CHECK(co_await plain->read_until("\n") == "one\n");
        while (plain->read_buffer().size() < 4) co_await plain->fill();
        CHECK(plain->read_buffer() == "two\n");  // buffered, unread: upgrading would lose it
        CHECK_THROWS_WITH_AS((void)gale::start_tls(plain, false, client_context(), "localhost"),
                             "IOStream is not idle; cannot convert to SSL", std::logic_error);
        CHECK_FALSE(plain->closed());
        // A TLS stream cannot be upgraded again.
        EchoServer tls_server({}, server_context());
        std::uint16_t tls_port = tls_server.listen(0, "127.0.0.1");
        auto tls = co_await dial_tls(tls_port, client_context());
        CHECK_THROWS_AS((void)gale::start_tls(tls, false, client_context(), "localhost"), std::invalid_argument);
        tls->close();
        plain->close();
        CHECK(co_await server.drained());
        CHECK(co_await tls_server.drained());
    });
}

// ---------------------------------------------------------------- configuration

TEST_CASE("ssl_options and ssl_context report configuration mistakes clearly") {
    gale::ssl_options no_cert;
    CHECK_THROWS_AS(gale::ssl_options_to_context(no_cert, true), std::invalid_argument);

    gale::ssl_options missing;
    missing.certfile = "/nonexistent/cert.pem";
    try {
        gale::ssl_options_to_context(missing, true);
        FAIL("no error");
    } catch (const gale::SSLError& e) {
        CHECK(std::string(e.what()).find("/nonexistent/cert.pem") != std::string::npos);
    }

    gale::ssl_options mismatched;
    mismatched.certfile = certs().server_cert;
    mismatched.keyfile = certs().client_key;
    CHECK_THROWS_WITH_AS(gale::ssl_options_to_context(mismatched, true),
                         doctest::Contains("does not match the certificate"), gale::SSLError);

    // The certificate and key in one file (keyfile omitted), as Python allows.
    gale::ssl_options combined;
    combined.certfile = certs().server_combined;
    CHECK_NOTHROW(gale::ssl_options_to_context(combined, true));

    gale::ssl_options bad_ca;
    bad_ca.ca_certs = "/nonexistent/ca.pem";
    CHECK_THROWS_AS(gale::ssl_options_to_context(bad_ca, false), gale::SSLError);

    auto ctx = client_context();
    CHECK_THROWS_AS(ctx->set_ciphers("NO-SUCH-CIPHER"), gale::SSLError);
    CHECK_NOTHROW(ctx->set_ciphers("ECDHE+AESGCM"));

    // Defaults, Python's.
    CHECK(ctx->verify_mode() == gale::ssl_cert_reqs::required);
    CHECK(ctx->check_hostname());
    CHECK_FALSE(ctx->server_side());
    CHECK_FALSE(ctx->handshake_timeout);
    auto srv = server_context();
    CHECK(srv->verify_mode() == gale::ssl_cert_reqs::none);
    CHECK(srv->server_side());
    CHECK(client_auth_server_context(gale::ssl_cert_reqs::optional)->verify_mode() == gale::ssl_cert_reqs::optional);
    CHECK((SSL_CTX_get_options(srv->native_handle()) & SSL_OP_NO_COMPRESSION) != 0);
    CHECK(SSL_CTX_get_min_proto_version(srv->native_handle()) == TLS1_2_VERSION);
    // check_hostname on again makes a client verify again.
    auto relaxed = client_context();
    relaxed->set_verify_mode(gale::ssl_cert_reqs::none);
    CHECK_FALSE(relaxed->check_hostname());
    relaxed->set_check_hostname(true);
    CHECK(relaxed->verify_mode() == gale::ssl_cert_reqs::required);

    // An Asio context taken over as it is.
    asio::ssl::context native(asio::ssl::context::tls_client);
    native.set_verify_mode(asio::ssl::verify_peer);
    native.load_verify_file(certs().ca_cert);
    auto wrapped = std::make_shared<gale::ssl_context>(std::move(native), false);
    CHECK(wrapped->check_hostname());
    CHECK(wrapped->verify_mode() == gale::ssl_cert_reqs::required);

    run_async([&]() -> gale::task<void> {
        auto& io = gale::IOLoop::current().context();
        // The wrong side, and a missing name, are refused at the call.
        CHECK_THROWS_AS((void)gale::ssl_wrap_socket(tcp::socket(io), client_context(), true), std::invalid_argument);
        CHECK_THROWS_AS((void)gale::ssl_wrap_socket(tcp::socket(io), server_context(), false, "localhost"),
                        std::invalid_argument);
        CHECK_THROWS_WITH_AS((void)gale::ssl_wrap_socket(tcp::socket(io), client_context(), false),
                             "check_hostname requires server_hostname", std::invalid_argument);

        // The Asio-configured context works for a real connection.
        EchoServer server({}, server_context());
        std::uint16_t port = server.listen(0, "127.0.0.1");
        auto stream = co_await dial_tls(port, wrapped);
        CHECK(co_await echo_over(stream, "asio context\n") == "asio context\n");
        stream->close();
        CHECK(co_await server.drained());
    });
}

// ---------------------------------------------------------------- other implementations

TEST_CASE("curl --cacert talks HTTPS to a gale TLS server") {
    if (!have("curl")) {
        MESSAGE("curl not found; skipped");
        return;
    }
    run_async([]() -> gale::task<void> {
        HelloHTTPServer server({}, server_context());
        std::uint16_t port = server.listen(0, "127.0.0.1");
        const std::string p = std::to_string(port);
        const std::string url = "https://localhost:" + p + "/";
        const std::string resolve = " --resolve localhost:" + p + ":127.0.0.1 ";

        std::string ok = co_await gale::run_in_executor(
            [&] { return run_command("curl -sS --max-time 10 --cacert " + certs().ca_cert + resolve + url); });
        CHECK(ok == "hello over TLS");

        // Without the CA, curl refuses the certificate (exit status 60).
        std::string refused = co_await gale::run_in_executor(
            [&] { return run_command("curl -s --max-time 10" + resolve + url + "; echo \" exit=$?\""); });
        CHECK(refused == " exit=60\n");

        // Over TLS 1.2 as well.
        std::string old = co_await gale::run_in_executor([&] {
            return run_command("curl -sS --max-time 10 --tls-max 1.2 --cacert " + certs().ca_cert + resolve + url);
        });
        CHECK(old == "hello over TLS");
        CHECK(co_await wait_until([&] { return server.live.running == 0; }));
        CHECK(server.live.total == 3 - 1);  // the refused one never reached handle_stream
    });
}

TEST_CASE("curl presents a client certificate to a server that requires one") {
    if (!have("curl")) {
        MESSAGE("curl not found; skipped");
        return;
    }
    run_async([]() -> gale::task<void> {
        HelloHTTPServer server({}, client_auth_server_context(gale::ssl_cert_reqs::required));
        std::uint16_t port = server.listen(0, "127.0.0.1");
        const std::string p = std::to_string(port);
        const std::string base = "curl -sS --max-time 10 --cacert " + certs().ca_cert + " --resolve localhost:" + p +
                                 ":127.0.0.1 https://localhost:" + p + "/";
        std::string with_cert = co_await gale::run_in_executor(
            [&] { return run_command(base + " --cert " + certs().client_cert + " --key " + certs().client_key); });
        CHECK(with_cert == "hello over TLS");
        std::string without = co_await gale::run_in_executor([&] { return run_command(base + " 2>/dev/null"); });
        CHECK(without.empty());
        CHECK(co_await wait_until([&] { return server.live.running == 0; }));
        CHECK(server.live.total == 1);
    });
}

TEST_CASE("openssl s_client verifies the chain and echoes through a gale TLS server") {
    if (!have("openssl")) {
        MESSAGE("openssl not found; skipped");
        return;
    }
    run_async([]() -> gale::task<void> {
        EchoServer server({}, server_context());
        server.once = true;
        std::uint16_t port = server.listen(0, "127.0.0.1");
        std::string output = co_await gale::run_in_executor([&] {
            return run_command("printf 'ping from s_client\\n' | openssl s_client -connect 127.0.0.1:" +
                               std::to_string(port) + " -servername localhost -verify_hostname localhost -CAfile " +
                               certs().ca_cert + " -verify_return_error -quiet 2>/dev/null");
        });
        CHECK(output == "ping from s_client\n");
        CHECK(co_await server.drained());
        REQUIRE(server.server_names.size() == 1);
        CHECK(server.server_names[0] == "localhost");
    });
}

TEST_CASE("Tornado's TLS client talks to a gale server, and gale's client to a Tornado server") {
    const std::string python = tornado_python();
    if (python.empty()) {
        MESSAGE("Python's Tornado not found; skipped");
        return;
    }
    const std::string script_dir = certs().dir.path.string();
    {
        std::ofstream client(script_dir + "/tornado_client.py");
        client << R"(import asyncio, ssl, sys
from tornado.tcpclient import TCPClient
async def main():
    ctx = ssl.create_default_context(cafile=sys.argv[1])
    stream = await TCPClient().connect("localhost", int(sys.argv[2]), ssl_options=ctx)
    await stream.write(b"hello from tornado\n")
    print((await stream.read_until(b"\n")).decode(), end="")
    stream.close()
asyncio.run(main())
)";
        std::ofstream server(script_dir + "/tornado_server.py");
        server << R"(import asyncio, ssl, sys
from tornado.netutil import bind_sockets
from tornado.tcpserver import TCPServer
done = asyncio.Event()
class Echo(TCPServer):
    async def handle_stream(self, stream, address):
        line = await stream.read_until(b"\n")
        await stream.write(b"tornado heard " + line)
        stream.close()
        done.set()
async def main():
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(sys.argv[1], sys.argv[2])
    sockets = bind_sockets(0, "127.0.0.1")
    print(sockets[0].getsockname()[1], flush=True)
    Echo(ssl_options=ctx).add_sockets(sockets)
    await asyncio.wait_for(done.wait(), 20)
asyncio.run(main())
)";
    }

    // Tornado's client against gale's server.
    run_async([&]() -> gale::task<void> {
        EchoServer server({}, server_context());
        std::uint16_t port = server.listen(0, "127.0.0.1");
        std::string output = co_await gale::run_in_executor([&] {
            return run_command(python + " " + script_dir + "/tornado_client.py " + certs().ca_cert + " " +
                               std::to_string(port));
        });
        CHECK(output == "hello from tornado\n");
        CHECK(co_await server.drained());
        CHECK(server.server_names.at(0) == "localhost");
    });

    // gale's client against Tornado's server.
    FILE* tornado = ::popen(
        (python + " " + script_dir + "/tornado_server.py " + certs().server_cert + " " + certs().server_key).c_str(), "r");
    REQUIRE(tornado != nullptr);
    char line[64] = {};
    REQUIRE(std::fgets(line, sizeof line, tornado) != nullptr);
    const auto port = static_cast<std::uint16_t>(std::stoi(line));
    run_async([&]() -> gale::task<void> {
        auto stream = co_await dial_tls(port, client_context());
        CHECK(co_await echo_over(stream, "gale here\n") == "tornado heard gale here\n");
        CHECK(co_await stream->read_until_close() == "");
    });
    CHECK(::pclose(tornado) == 0);
}

}  // namespace
