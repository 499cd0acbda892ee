// How the process's heap (glibc malloc) treats the memory training frees. Both calls are no-ops
// on other C libraries.
#pragma once

namespace ecgbench {

/// Keeps the memory a training step frees for the next step instead of returning it to the kernel.
/// glibc serves blocks above its mmap threshold (at most 32 MiB) with fresh mmaps and unmaps them on
/// free, and trims the heap's free top: every step of a CPU training then faults in and zeroes its
/// large activations anew, which measured half the time of an ST-MEM vit1d XS step (docs/benchmarks.md,
/// "Allocator"). This turns both off: every block comes from the heap and a freed top is kept up to
/// 2 GiB. The cost is a higher resident peak (+14 % on that step). Memory is still handed back
/// between cells and cache chunks by release_free_heap(). Left alone when GLIBC_TUNABLES sets a
/// glibc.malloc tunable, so a user's setting wins (e.g. glibc.malloc.mmap_max=65536 restores the default).
void retain_freed_memory();

/// Returns the heap's free pages to the kernel (malloc_trim). Each cache chunk's temporaries (tens
/// of MB) are freed, but glibc keeps the pages when small long-lived allocations (record ids, texts)
/// land above them: measured, a 2.9 GB split grew the heap by 1.9 GB of free memory without this,
/// and a 28.6 GB split by 19 GB.
void release_free_heap();

}  // namespace ecgbench
