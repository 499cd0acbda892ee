#include "runner/allocator.hpp"

#include <climits>
#include <cstdlib>  // defines __GLIBC__
#include <string>

#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace ecgbench {

void retain_freed_memory() {
#ifdef __GLIBC__
    const char* tunables = std::getenv("GLIBC_TUNABLES");
    if (tunables && std::string(tunables).find("glibc.malloc.") != std::string::npos) return;
    mallopt(M_MMAP_MAX, 0);
    mallopt(M_TRIM_THRESHOLD, INT_MAX);
#endif
}

void release_free_heap() {
#ifdef __GLIBC__
    malloc_trim(0);
#endif
}

}  // namespace ecgbench
