// The host's allocator policy (runner/allocator.hpp): after retain_freed_memory() a block far above
// glibc's mmap threshold comes from the heap (no new mmapped region) and its pages stay resident
// after free, ready for the next step; a GLIBC_TUNABLES malloc setting leaves glibc's default.
#include "runner/allocator.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <string>

#ifdef __GLIBC__
#include <malloc.h>

namespace {

constexpr std::size_t kBlock = 96u << 20;  // above glibc's largest mmap threshold (32 MiB)

double resident_mib() {
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);)
        if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
    return 0;
}

/// Mapped regions while a kBlock block is held (mallinfo2().hblks).
std::size_t mapped_regions_while_holding_a_block() {
    char* block = static_cast<char*>(std::malloc(kBlock));
    // Every page written through a volatile pointer: the compiler may not drop the stores (it may
    // drop a memset before free), so the block is resident while held.
    for (std::size_t i = 0; i < kBlock; i += 4096) static_cast<volatile char*>(block)[i] = 1;
    const std::size_t regions = mallinfo2().hblks;
    std::free(block);
    return regions;
}

TEST(Allocator, LargeBlocksComeFromTheHeapAndStayForReuseUnlessTheUserTunedMalloc) {
    const std::size_t before = mallinfo2().hblks;
    ::setenv("GLIBC_TUNABLES", "glibc.malloc.mmap_max=65536", 1);
    ecgbench::retain_freed_memory();  // the user's setting wins: nothing changes
    EXPECT_EQ(mapped_regions_while_holding_a_block(), before + 1);

    ::unsetenv("GLIBC_TUNABLES");
    ecgbench::retain_freed_memory();
    const double start = resident_mib();
    EXPECT_EQ(mapped_regions_while_holding_a_block(), before);
    const double kept = resident_mib();
    EXPECT_GT(kept - start, 0.9 * kBlock / (1 << 20)) << "the freed block's pages stay resident";
    EXPECT_EQ(mapped_regions_while_holding_a_block(), before);
    ecgbench::release_free_heap();
    EXPECT_LT(resident_mib(), kept - 0.9 * kBlock / (1 << 20)) << "malloc_trim hands them back";
}

}  // namespace
#endif
