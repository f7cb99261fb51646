// A program that uses gale as an application would, built three ways by
// tests/packaging/check.sh: with a bare -I include, against an installed
// gale.pc, and as a Meson project that gets gale through subprojects/gale.wrap.
// It exits non-zero unless the coroutines ran and produced the right answer.
#include <gale/gen.hpp>

#include <chrono>
#include <cstdio>

using namespace std::chrono_literals;

namespace {

gale::task<int> square_later(int x) {
    co_await gale::sleep(1ms);
    co_return x * x;
}

}  // namespace

int main() {
    int total = gale::IOLoop::current().run_sync([]() -> gale::task<int> {
        auto [a, b] = co_await gale::gather(square_later(3), square_later(4));
        co_return a + b;
    });
    if (total != 25) {
        std::fprintf(stderr, "consumer: expected 3*3 + 4*4 = 25, got %d\n", total);
        return 1;
    }
    std::puts("consumer: 3*3 + 4*4 = 25");
    return 0;
}
