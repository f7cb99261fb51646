// Tests for <gale/detail/gzip.hpp>: round trips, streaming, corrupt and
// truncated input, the output limit against a zip bomb, and interop with
// Python's gzip module both ways.
#include <gale/detail/gzip.hpp>

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <new>
#include <sstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

// Allocation tracking: the largest single allocation made while a test
// watches, to show that a zip bomb is refused without inflating it.
namespace {
std::atomic<bool> tracking{false};
std::atomic<std::size_t> largest_allocation{0};
}  // namespace

// (Out of line, so GCC does not pair the malloc and free it would see
// inlined with the new and delete expressions around them.)
[[gnu::noinline]] void* operator new(std::size_t size) {
    if (tracking.load(std::memory_order_relaxed)) {
        std::size_t seen = largest_allocation.load(std::memory_order_relaxed);
        while (size > seen && !largest_allocation.compare_exchange_weak(seen, size)) {
        }
    }
    if (void* p = std::malloc(size ? size : 1)) return p;
    throw std::bad_alloc();
}
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace {

using gale::detail::gzip_compress;
using gale::detail::gzip_compressor;
using gale::detail::gzip_decompress;
using gale::detail::gzip_decompressor;
using gale::detail::gzip_error;
using gale::detail::gzip_limit_error;

struct allocation_watch {
    allocation_watch() {
        largest_allocation = 0;
        tracking = true;
    }
    ~allocation_watch() { tracking = false; }
    std::size_t largest() const { return largest_allocation.load(); }
};

// Text that compresses like real pages do, with some variety.
std::string sample_text(std::size_t size) {
    std::string s;
    s.reserve(size);
    unsigned x = 12345;
    while (s.size() < size) {
        x = x * 1103515245u + 12345u;
        s += "line " + std::to_string(x % 1000) + ": the quick brown fox jumps over the lazy dog\n";
    }
    s.resize(size);
    return s;
}

// Bytes that do not compress.
std::string noise(std::size_t size) {
    std::string s(size, '\0');
    std::uint64_t x = 88172645463325252ull;
    for (auto& c : s) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        c = static_cast<char>(x);
    }
    return s;
}

std::string feed_all(gzip_decompressor& d, std::string_view data, std::size_t* largest_piece = nullptr) {
    std::string out;
    for (std::string_view piece : d.feed(data)) {
        if (largest_piece) *largest_piece = std::max(*largest_piece, piece.size());
        out += piece;
    }
    return out;
}

// Runs a shell command, feeding it `input`, and returns its standard output.
std::string run_filter(const std::string& command, std::string_view input) {
    auto dir = std::filesystem::temp_directory_path() / ("gale-gzip-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    auto in_path = dir / "in.bin";
    {
        std::ofstream f(in_path, std::ios::binary);
        f.write(input.data(), static_cast<std::streamsize>(input.size()));
    }
    std::string full = command + " < '" + in_path.string() + "'";
    std::string out;
    if (FILE* p = ::popen(full.c_str(), "r")) {
        char buf[65536];
        std::size_t n;
        while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
        int status = ::pclose(p);
        CHECK(status == 0);
    }
    std::filesystem::remove_all(dir);
    return out;
}

// gzip.compress(text, compresslevel=9, mtime=1700000000) in Python 3.11,
// where text is the sentence below three times.
const std::string python_gzip(
    "\x1f\x8b\x08\x00\x00\xf1\x53\x65\x02\xff\xcd\xcc\xc1\x0d\x80\x20\x10\x04\xc0\xbf\x55\x6c\x05\xd6"
    "\xe2\x83\x06\x0e\x39\x85\x88\x7b\xc9\x81\x21\x74\x6f\xec\xc2\xf7\x24\x13\xcc\x29\xc9\x50\x1a\x04"
    "\xdb\xec\xd9\x88\xa1\x11\x87\xcb\xad\xc3\xfc\x82\x30\x41\xda\xe4\x9e\xdd\x68\x4f\x03\xb5\x7f\x50"
    "\x78\xa2\x96\xe8\xe2\x73\x5d\xc2\xaf\x9a\x17\x96\xff\xc8\x70\xd5\x00\x00\x00",
    91);
const std::string python_text =
    "Tornado is a Python web framework and asynchronous networking library.\n"
    "Tornado is a Python web framework and asynchronous networking library.\n"
    "Tornado is a Python web framework and asynchronous networking library.\n";

// What Tornado's GZipContentEncoding sends for the chunks "<html><body>",
// "Hello, world! " * 20 and "</body></html>\n": a GzipFile at level 6
// (mtime fixed at 1234567890 here) flushed after each chunk but the last,
// closed after it.
const std::string tornado_parts[] = {
    std::string("\x1f\x8b\x08\x00\xd2\x02\x96\x49\x00\xff\xb2\xc9\x28\xc9\xcd\xb1\xb3\x49\xca\x4f\xa9\xb4\x03\x00"
                "\x00\x00\xff\xff",
                28),
    std::string("\xf2\x48\xcd\xc9\xc9\xd7\x51\x28\xcf\x2f\xca\x49\x51\x54\x18\xe5\xc1\x78\x00\x00\x00\x00\xff\xff",
                24),
    std::string("\xb3\xd1\x07\x07\x8f\x8d\x3e\x38\xac\xb8\x00\xb1\x9f\xad\xee\x33\x01\x00\x00", 19),
};

std::string hello_twenty() {
    std::string s;
    for (int i = 0; i < 20; ++i) s += "Hello, world! ";
    return s;
}

TEST_CASE("bytes compressed by Python's gzip module decompress to their text") {
    CHECK(gzip_decompress(python_gzip) == python_text);

    gzip_decompressor d;
    CHECK(d.decompress(python_gzip) == python_text);
    CHECK(d.eof());
    CHECK(d.total_out() == python_text.size());
    CHECK_NOTHROW(d.finish());
}

TEST_CASE("the compressor writes exactly what Tornado's GZipContentEncoding writes") {
    gzip_compressor c(6, 1234567890u);
    CHECK(c.transform_chunk("<html><body>", false) == tornado_parts[0]);
    CHECK(c.transform_chunk(hello_twenty(), false) == tornado_parts[1]);
    CHECK(c.transform_chunk("</body></html>\n", true) == tornado_parts[2]);
    CHECK(c.finished());

    // And the pieces decode, each as soon as it arrives.
    gzip_decompressor d;
    CHECK(d.decompress(tornado_parts[0]) == "<html><body>");
    CHECK(d.decompress(tornado_parts[1]) == hello_twenty());
    CHECK(d.decompress(tornado_parts[2]) == "</body></html>\n");
    CHECK_NOTHROW(d.finish());
}

TEST_CASE("the header is GzipFile's: the time now, no name, OS 255") {
    std::time_t before = std::time(nullptr);
    std::string z = gzip_compress("x");
    std::time_t after = std::time(nullptr);
    REQUIRE(z.size() >= 10);
    CHECK(static_cast<unsigned char>(z[0]) == 0x1f);
    CHECK(static_cast<unsigned char>(z[1]) == 0x8b);
    CHECK(z[2] == 8);  // deflate
    CHECK(z[3] == 0);  // no flags: no name, no comment
    std::uint32_t mtime = 0;
    for (int i = 0; i < 4; ++i) mtime |= std::uint32_t{static_cast<unsigned char>(z[4 + i])} << (8 * i);
    CHECK(mtime >= static_cast<std::uint32_t>(before));
    CHECK(mtime <= static_cast<std::uint32_t>(after));
    CHECK(static_cast<unsigned char>(z[9]) == 255);
}

TEST_CASE("round trips at every level and size") {
    const std::vector<std::string> inputs = {"", "a", sample_text(1000), sample_text(300 * 1024), noise(200 * 1024)};
    for (int level = 0; level <= 9; ++level) {
        for (const std::string& input : inputs) {
            CAPTURE(level);
            CAPTURE(input.size());
            std::string z = gzip_compress(input, level);
            CHECK(gzip_decompress(z) == input);
        }
    }
    // Compression does something for text.
    CHECK(gzip_compress(sample_text(100000)).size() < 100000 / 4);
}

TEST_CASE("streaming compression: compress, flush and finish") {
    const std::string text = sample_text(500 * 1024);
    gzip_compressor c;
    std::string wire;
    gzip_decompressor d;
    std::string decoded;
    for (std::size_t at = 0; at < text.size(); at += 7000) {
        std::string_view part = std::string_view(text).substr(at, 7000);
        std::string out = c.compress(part);  // may hold data back
        out += c.flush();                    // now everything so far is decodable
        wire += out;
        decoded += d.decompress(out);
        CHECK(decoded == text.substr(0, at + part.size()));
    }
    CHECK(c.flush().empty());  // a flush with nothing new emits nothing
    std::string tail = c.finish();
    wire += tail;
    decoded += d.decompress(tail);
    CHECK(decoded == text);
    CHECK_NOTHROW(d.finish());
    CHECK(gzip_decompress(wire) == text);
    CHECK_THROWS_AS(c.compress("more"), gzip_error);
    CHECK_THROWS_AS(gzip_compressor(10), std::invalid_argument);
}

TEST_CASE("our output decompresses with Python's gzip module and gzip(1)") {
    const std::string text = sample_text(2 * 1024 * 1024);
    gzip_compressor c;
    std::string wire;
    for (std::size_t at = 0; at < text.size(); at += 100000)
        wire += c.transform_chunk(std::string_view(text).substr(at, 100000), at + 100000 >= text.size());
    std::string by_python =
        run_filter("python3 -c 'import gzip,sys; sys.stdout.buffer.write(gzip.decompress(sys.stdin.buffer.read()))'",
                   wire);
    CHECK(by_python.size() == text.size());
    CHECK(by_python == text);
    if (std::system("command -v gzip >/dev/null 2>&1") == 0) CHECK(run_filter("gzip -dc", wire) == text);
}

TEST_CASE("chunked feeding: one byte at a time and in uneven pieces") {
    const std::string text = sample_text(200 * 1024);
    const std::string z = gzip_compress(text);

    gzip_decompressor bytewise;
    std::string out;
    for (char c : z) out += feed_all(bytewise, std::string_view(&c, 1));
    CHECK(out == text);
    CHECK(bytewise.eof());
    CHECK_NOTHROW(bytewise.finish());

    for (std::size_t step : {2u, 9u, 100u, 4096u, 65537u}) {
        CAPTURE(step);
        gzip_decompressor d(1000);
        std::size_t largest = 0;
        std::string got;
        for (std::size_t at = 0; at < z.size(); at += step)
            got += feed_all(d, std::string_view(z).substr(at, step), &largest);
        CHECK(got == text);
        CHECK(largest <= 1000);  // pieces never exceed piece_size
        if (step >= 100) CHECK(largest == 1000);
        for (std::string_view piece : d.finish()) CHECK(piece.empty());
    }
}

TEST_CASE("pieces are produced lazily, one buffer for all of them") {
    // 10 MB of output from about 10 KB of input, read 64 KiB at a time.
    const std::string zeros(10 * 1024 * 1024, '\0');
    const std::string bomb = gzip_compress(zeros, 9);
    CHECK(bomb.size() < 20 * 1024);

    gzip_decompressor d(64 * 1024);
    std::size_t total = 0, pieces = 0;
    {
        allocation_watch watch;
        for (std::string_view piece : d.feed(bomb)) {
            CHECK(piece.size() <= 64 * 1024);
            CHECK(piece.find_first_not_of('\0') == std::string_view::npos);
            total += piece.size();
            ++pieces;
        }
        CHECK(watch.largest() <= 64 * 1024 + 1);  // (+1: std::string's terminator)
    }
    CHECK(total == zeros.size());
    CHECK(pieces == 160);
    CHECK_NOTHROW(d.finish());
}

TEST_CASE("a zip bomb passes the output limit and is refused without being inflated") {
    const std::string bomb = gzip_compress(std::string(10 * 1024 * 1024, '\0'), 9);
    const std::size_t limit = 1024 * 1024;

    {
        allocation_watch watch;
        gzip_decompressor d(limit, limit);  // even with pieces as large as the limit
        std::size_t total = 0;
        bool refused = false;
        try {
            for (std::string_view piece : d.feed(bomb)) total += piece.size();
        } catch (const gzip_limit_error& e) {
            refused = true;
            CHECK(std::string(e.what()).find("1048576") != std::string::npos);
        }
        CHECK(refused);
        CHECK(total <= limit);
        CHECK(d.total_out() <= limit + 1);
        CHECK(watch.largest() <= limit + 2);
        // Once refused, it stays refused.
        CHECK_THROWS_AS(d.decompress("x"), gzip_error);
    }
    {
        allocation_watch watch;
        CHECK_THROWS_AS(gzip_decompress(bomb, limit), gzip_limit_error);
        CHECK(watch.largest() < 2 * limit);
    }
    // A gzip_limit_error is a gzip_error.
    CHECK_THROWS_AS(gzip_decompress(bomb, limit), gzip_error);
}

TEST_CASE("the output limit is exact") {
    const std::string text = sample_text(5000);
    const std::string z = gzip_compress(text);
    CHECK(gzip_decompress(z, 5000) == text);
    CHECK_THROWS_AS(gzip_decompress(z, 4999), gzip_limit_error);
    gzip_decompressor fed(100, 5000);  // across several feeds and pieces
    std::string out;
    for (std::size_t at = 0; at < z.size(); at += 13) out += feed_all(fed, std::string_view(z).substr(at, 13));
    CHECK(out == text);
    gzip_decompressor over(100, 4999);
    CHECK_THROWS_AS(
        [&] {
            for (std::size_t at = 0; at < z.size(); at += 13) feed_all(over, std::string_view(z).substr(at, 13));
        }(),
        gzip_limit_error);
}

TEST_CASE("corrupt data is an error with Python's message") {
    SUBCASE("not gzip at all") {
        gzip_decompressor d;
        try {
            d.decompress("this is not gzip data");
            FAIL("no error");
        } catch (const gzip_error& e) {
            CHECK(std::string(e.what()) == "Error -3 while decompressing data: incorrect header check");
        }
    }
    SUBCASE("zlib format is not accepted") {
        // A zlib stream (RFC 1950): Tornado's decompressor takes gzip only.
        CHECK_THROWS_AS(gzip_decompress(std::string("\x78\x9c\xcb\x48\xcd\xc9\xc9\x07\x00\x06\x2c\x02\x15", 13)),
                        gzip_error);
    }
    SUBCASE("a damaged body") {
        std::string z = gzip_compress(sample_text(10000));
        z[z.size() / 2] = static_cast<char>(z[z.size() / 2] ^ 0x55);
        CHECK_THROWS_AS(gzip_decompress(z), gzip_error);
    }
    SUBCASE("a wrong checksum") {
        std::string z = gzip_compress(sample_text(10000));
        z[z.size() - 6] = static_cast<char>(z[z.size() - 6] ^ 1);  // inside the CRC32
        try {
            gzip_decompress(z);
            FAIL("no error");
        } catch (const gzip_error& e) {
            CHECK(std::string(e.what()) == "Error -3 while decompressing data: incorrect data check");
        }
    }
    SUBCASE("a wrong length in the trailer") {
        std::string z = gzip_compress(sample_text(10000));
        z[z.size() - 1] = static_cast<char>(z[z.size() - 1] ^ 1);
        CHECK_THROWS_WITH_AS(gzip_decompress(z), "Error -3 while decompressing data: incorrect length check",
                             gzip_error);
    }
}

TEST_CASE("truncated data is reported at finish") {
    const std::string text = sample_text(3000);
    const std::string z = gzip_compress(text);
    for (std::size_t cut : {std::size_t{0}, std::size_t{5}, std::size_t{10}, z.size() / 2, z.size() - 8,
                            z.size() - 1}) {
        CAPTURE(cut);
        gzip_decompressor d;
        std::string out = d.decompress(std::string_view(z).substr(0, cut));
        CHECK(text.starts_with(out));  // what came through is right, as far as it goes
        CHECK_FALSE(d.eof());
        CHECK_THROWS_WITH_AS(d.finish(), "Error -5 while decompressing data: incomplete or truncated stream",
                             gzip_error);
        CHECK_THROWS_AS(gzip_decompress(std::string_view(z).substr(0, cut)), gzip_error);
    }
}

TEST_CASE("bytes after the end of the stream are ignored, as Tornado ignores them") {
    const std::string z = gzip_compress("hello");
    gzip_decompressor d;
    CHECK(d.decompress(z + "trailing garbage") == "hello");
    CHECK(d.eof());
    CHECK(d.decompress("more garbage").empty());
    CHECK_NOTHROW(d.finish());
    CHECK(gzip_decompress(python_gzip + python_gzip) == python_text);  // only the first member
}

TEST_CASE("a decompressor can be moved between feeds") {
    const std::string text = sample_text(50000);
    const std::string z = gzip_compress(text);
    gzip_decompressor a(4096);
    std::string out = feed_all(a, std::string_view(z).substr(0, 1000));
    gzip_decompressor b = std::move(a);
    out += feed_all(b, std::string_view(z).substr(1000));
    CHECK(out == text);
    CHECK_NOTHROW(b.finish());
    CHECK_THROWS_AS(a.decompress("x"), gzip_error);  // NOLINT(bugprone-use-after-move): moved-from is unusable
}

}  // namespace
