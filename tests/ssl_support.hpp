// Certificates for the TLS tests, made at test time with OpenSSL's API
// (EC P-256 keys, so making them takes milliseconds) and written as PEM
// files into a temporary directory removed at exit.
//
//   const gale_test::test_certs& certs = gale_test::test_certs::get();
//   auto server = gale::ssl_options_to_context({.certfile = certs.server_cert, .keyfile = certs.server_key}, true);
//   auto client = gale::ssl_options_to_context({.ca_certs = certs.ca_cert}, false);
//
// The server certificate is for localhost, 127.0.0.1 and ::1, signed by
// "gale test CA" (ca_cert). Every file name is a path.
#pragma once

#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

namespace gale_test {

namespace ssl_detail {

struct pkey_free {
    void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
struct x509_free {
    void operator()(X509* p) const noexcept { X509_free(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;
using x509_ptr = std::unique_ptr<X509, x509_free>;

inline void check(bool ok, const char* what) {
    if (!ok) throw std::runtime_error(std::string("making test certificates: ") + what);
}

inline pkey_ptr make_key() {
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_EC, nullptr);
    check(ctx != nullptr, "EVP_PKEY_CTX_new_id");
    EVP_PKEY* key = nullptr;
    bool ok = EVP_PKEY_keygen_init(ctx) == 1 && EVP_PKEY_CTX_set_ec_paramgen_curve_nid(ctx, NID_X9_62_prime256v1) == 1 &&
              EVP_PKEY_keygen(ctx, &key) == 1;
    EVP_PKEY_CTX_free(ctx);
    check(ok, "EC key generation");
    return pkey_ptr(key);
}

inline void add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    check(ext != nullptr, "X509V3_EXT_conf_nid");
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
}

// A certificate for `key` named CN=common_name, O=gale tests; signed by
// issuer/issuer_key, or by itself when they are null. san: the
// subjectAltName value ("DNS:localhost,IP:127.0.0.1"), none if empty.
inline x509_ptr make_cert(EVP_PKEY* key, const std::string& common_name, X509* issuer, EVP_PKEY* issuer_key, bool ca,
                          const std::string& san, long serial) {
    x509_ptr cert(X509_new());
    check(cert != nullptr, "X509_new");
    X509* x = cert.get();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 30L * 24 * 3600);
    X509_set_pubkey(x, key);
    X509_NAME* name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("gale tests"), -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(common_name.c_str()), -1,
                               -1, 0);
    X509* signer = issuer ? issuer : x;
    X509_set_issuer_name(x, X509_get_subject_name(signer));
    add_extension(x, signer, NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
    add_extension(x, signer, NID_key_usage,
                  ca ? "critical,keyCertSign,cRLSign,digitalSignature" : "critical,digitalSignature,keyEncipherment");
    if (!ca) add_extension(x, signer, NID_ext_key_usage, "serverAuth,clientAuth");
    add_extension(x, signer, NID_subject_key_identifier, "hash");
    if (issuer) add_extension(x, signer, NID_authority_key_identifier, "keyid:always");
    if (!san.empty()) add_extension(x, signer, NID_subject_alt_name, san);
    check(X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()) > 0, "X509_sign");
    return cert;
}

inline void write_pem(const std::filesystem::path& path, X509* cert, EVP_PKEY* key) {
    FILE* f = std::fopen(path.c_str(), "w");
    check(f != nullptr, "fopen");
    bool ok = true;
    if (cert) ok = ok && PEM_write_X509(f, cert) == 1;
    if (key) ok = ok && PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
    std::fclose(f);
    check(ok, "writing PEM");
}

}  // namespace ssl_detail

// A directory removed with everything in it when this goes.
struct scoped_directory {
    std::filesystem::path path;
    scoped_directory() = default;
    explicit scoped_directory(std::filesystem::path p) : path(std::move(p)) {}
    scoped_directory(scoped_directory&& other) noexcept : path(std::exchange(other.path, {})) {}
    scoped_directory& operator=(scoped_directory&&) = delete;
    ~scoped_directory() {
        if (path.empty()) return;
        std::error_code ignored;
        std::filesystem::remove_all(path, ignored);
    }
};

struct test_certs {
    scoped_directory dir;
    // "gale test CA", which signs the certificates below but the "other" ones.
    std::string ca_cert;
    // CN=localhost, SAN DNS:localhost, IP:127.0.0.1, IP:::1.
    std::string server_cert, server_key;
    // The server certificate followed by its key, in one file.
    std::string server_combined;
    // CN=client, for client authentication.
    std::string client_cert, client_key;
    // Signed by the test CA for www.example.com only.
    std::string wrong_name_cert, wrong_name_key;
    // Self-signed, CN=localhost with the server's names.
    std::string self_signed_cert, self_signed_key;
    // "other test CA", unknown to the tests' clients and servers, and a
    // server and a client certificate it signed.
    std::string other_ca_cert;
    std::string other_server_cert, other_server_key;
    std::string other_client_cert, other_client_key;

    // Made once per process.
    static const test_certs& get() {
        static const test_certs certs = make();
        return certs;
    }

    test_certs() = default;
    test_certs(const test_certs&) = delete;
    test_certs& operator=(const test_certs&) = delete;
    test_certs(test_certs&&) = default;

private:
    static test_certs make() {
        using namespace ssl_detail;
        test_certs c;
        c.dir.path = std::filesystem::temp_directory_path() / ("gale-certs-" + std::to_string(::getpid()));
        std::filesystem::create_directories(c.dir.path);
        auto path = [&](const char* name) { return (c.dir.path / name).string(); };
        const std::string local_names = "DNS:localhost,IP:127.0.0.1,IP:::1";

        pkey_ptr ca_key = make_key();
        x509_ptr ca = make_cert(ca_key.get(), "gale test CA", nullptr, nullptr, true, "", 1);
        write_pem(c.ca_cert = path("ca.pem"), ca.get(), nullptr);

        pkey_ptr server_key = make_key();
        x509_ptr server = make_cert(server_key.get(), "localhost", ca.get(), ca_key.get(), false, local_names, 2);
        write_pem(c.server_cert = path("server.pem"), server.get(), nullptr);
        write_pem(c.server_key = path("server.key"), nullptr, server_key.get());
        write_pem(c.server_combined = path("server-combined.pem"), server.get(), server_key.get());

        pkey_ptr client_key = make_key();
        x509_ptr client = make_cert(client_key.get(), "client", ca.get(), ca_key.get(), false, "", 3);
        write_pem(c.client_cert = path("client.pem"), client.get(), nullptr);
        write_pem(c.client_key = path("client.key"), nullptr, client_key.get());

        pkey_ptr wrong_key = make_key();
        x509_ptr wrong = make_cert(wrong_key.get(), "www.example.com", ca.get(), ca_key.get(), false,
                                   "DNS:www.example.com", 4);
        write_pem(c.wrong_name_cert = path("wrong-name.pem"), wrong.get(), nullptr);
        write_pem(c.wrong_name_key = path("wrong-name.key"), nullptr, wrong_key.get());

        pkey_ptr self_key = make_key();
        x509_ptr self = make_cert(self_key.get(), "localhost", nullptr, nullptr, true, local_names, 5);
        write_pem(c.self_signed_cert = path("self-signed.pem"), self.get(), nullptr);
        write_pem(c.self_signed_key = path("self-signed.key"), nullptr, self_key.get());

        pkey_ptr other_ca_key = make_key();
        x509_ptr other_ca = make_cert(other_ca_key.get(), "other test CA", nullptr, nullptr, true, "", 6);
        write_pem(c.other_ca_cert = path("other-ca.pem"), other_ca.get(), nullptr);
        pkey_ptr other_server_key = make_key();
        x509_ptr other_server =
            make_cert(other_server_key.get(), "localhost", other_ca.get(), other_ca_key.get(), false, local_names, 7);
        write_pem(c.other_server_cert = path("other-server.pem"), other_server.get(), nullptr);
        write_pem(c.other_server_key = path("other-server.key"), nullptr, other_server_key.get());
        pkey_ptr other_client_key = make_key();
        x509_ptr other_client =
            make_cert(other_client_key.get(), "intruder", other_ca.get(), other_ca_key.get(), false, "", 8);
        write_pem(c.other_client_cert = path("other-client.pem"), other_client.get(), nullptr);
        write_pem(c.other_client_key = path("other-client.key"), nullptr, other_client_key.get());
        return c;
    }
};

}  // namespace gale_test
