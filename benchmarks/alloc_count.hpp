// Counts heap allocations: the benchmark binary replaces the global
// operator new (alloc_count.cpp), and every call lands here.
#pragma once

#include <cstdint>

namespace alloc_count {

// Allocations made so far by every thread of the process. A thread's count
// is visible to another once the two have synchronised (a post through a
// mutex does it), which is all the benchmarks need.
std::uint64_t total() noexcept;

}  // namespace alloc_count
