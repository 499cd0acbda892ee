// Bulk decoding of plain format 16 and 212 files (the common PhysioNet layouts): the byte range
// is read in cache-sized chunks, each unpacked by one tight loop per selected signal. The general
// decoder in wfdb_signals.cpp handles everything else and is the reference these loops must match.
#include "wfdb_bulk.hpp"

#include "ecgbench/wfdb.hpp"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstring>
#include <fstream>
#include <limits>
#include <vector>

#include <sys/mman.h>
#include <unistd.h>

namespace ecgbench::wfdb::detail {
namespace {

std::atomic<bool> bulk_enabled{true};

// Stored samples per chunk: the chunk's bytes (128 KiB in format 16) stay in cache while every
// selected column takes its samples from them, and no buffer the size of the range is faulted in.
constexpr std::int64_t kChunkSamples = 65536;

// Bytes [begin, begin + length) of the file into `buffer`; whatever lies past the end reads as zero.
void read_bytes(std::ifstream& in, std::int64_t begin, std::int64_t length, std::vector<unsigned char>& buffer) {
    buffer.resize(static_cast<std::size_t>(length));
    in.clear();
    in.seekg(begin);
    in.read(reinterpret_cast<char*>(buffer.data()), length);
    std::fill(buffer.begin() + std::max<std::streamsize>(0, in.gcount()), buffer.end(), 0);
}

// Output columns are megabytes of fresh memory that the kernel would map one page fault at a
// time on first touch; one madvise maps a column's pages in a single call instead. Where faults
// are costly (the development VM) that made whole-record reads about 1.7x faster. Best effort:
// kernels without MADV_POPULATE_WRITE (before 5.14) just fault as usual.
template <typename T>
void allocate_rows(std::vector<T>& column, std::size_t rows) {
    column.reserve(rows);
#ifdef MADV_POPULATE_WRITE
    const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
    const auto begin = (reinterpret_cast<std::uintptr_t>(column.data()) + page - 1) / page * page;
    const auto end = reinterpret_cast<std::uintptr_t>(column.data() + rows) / page * page;
    if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_POPULATE_WRITE);
#endif
    column.resize(rows);
}

std::int32_t le16(const unsigned char* p) {
    if constexpr (std::endian::native == std::endian::little) {
        std::int16_t v;
        std::memcpy(&v, p, sizeof v);
        return v;
    } else {
        return static_cast<std::int16_t>(p[0] | p[1] << 8);
    }
}

// Sample i of a 212 byte run that starts at a block: two 12-bit samples per 3 bytes, the high
// nibbles of both in the middle byte.
std::int32_t sample212(const unsigned char* p, std::int64_t i) {
    const unsigned char* b = p + 3 * (i >> 1);
    const std::uint32_t v = (i & 1) ? (b[2] | (b[1] & 0xf0u) << 4) : (b[0] | (b[1] & 0x0fu) << 8);
    return static_cast<std::int32_t>((v ^ 0x800u) - 0x800u);
}

// Rows [f0, f1) of the columns from `sample(i)`, the i-th stored sample from frame f0 on.
template <typename Sample>
void fill_rows(Sample sample, std::int64_t f0, std::int64_t f1, int width, const std::vector<int>& positions,
               std::int32_t marker, std::vector<std::vector<std::int32_t>>& columns) {
    for (std::size_t k = 0; k < positions.size(); ++k) {
        auto* out = columns[k].data() + f0;
        const std::int64_t at = positions[k];
        for (std::int64_t f = 0; f < f1 - f0; ++f) {
            const auto v = sample(f * width + at);
            out[f] = v == marker ? kInvalidSample : v;
        }
    }
}

// Frames [from, to) of the file, a chunk at a time: emit(sample, f0, f1, marker) gets, for rows
// [f0, f1), sample(i) = the i-th stored sample from frame from + f0 on, and the format's marker.
template <typename Emit>
void for_each_chunk(const std::filesystem::path& file, int format, std::int64_t byte_offset, int width,
                    std::int64_t from, std::int64_t to, Emit emit) {
    if (format != 16 && format != 212)
        throw WfdbError("bulk decoding supports formats 16 and 212, not " + std::to_string(format));
    const std::int64_t block_bytes = format == 16 ? 2 : 3, block_samples = format == 16 ? 1 : 2;
    if (to <= from) return;
    std::ifstream in(file, std::ios::binary);
    if (!in) throw WfdbError("cannot open signal file " + file.string());
    std::vector<unsigned char> buffer;
    const auto chunk_frames = std::max<std::int64_t>(1, kChunkSamples / width);
    for (std::int64_t f0 = 0; f0 < to - from; f0 += chunk_frames) {
        const auto f1 = std::min(to - from, f0 + chunk_frames);
        // Stored samples [a, b) lie in whole blocks from first_block on; a may be a block's second.
        const auto a = (from + f0) * width, b = (from + f1) * width;
        const auto first_block = a / block_samples, end_block = (b + block_samples - 1) / block_samples;
        read_bytes(in, byte_offset + first_block * block_bytes, (end_block - first_block) * block_bytes, buffer);
        const auto skip = a - first_block * block_samples;
        const auto* p = buffer.data();
        if (format == 16)
            emit([p](std::int64_t i) { return le16(p + 2 * i); }, f0, f1, std::int32_t{-32768});
        else
            emit([p, skip](std::int64_t i) { return sample212(p, i + skip); }, f0, f1, std::int32_t{-2048});
    }
}

}  // namespace

std::vector<std::vector<std::int32_t>> read_plain_frames(const std::filesystem::path& file, int format,
                                                         std::int64_t byte_offset, int width, std::int64_t from,
                                                         std::int64_t to, const std::vector<int>& positions) {
    std::vector<std::vector<std::int32_t>> columns(positions.size());
    if (to > from)
        for (auto& column : columns) allocate_rows(column, static_cast<std::size_t>(to - from));
    for_each_chunk(file, format, byte_offset, width, from, to, [&](auto sample, auto f0, auto f1, auto marker) {
        fill_rows(sample, f0, f1, width, positions, marker, columns);
    });
    return columns;
}

template <typename T>
void read_plain_physical(const std::filesystem::path& file, int format, std::int64_t byte_offset, int width,
                         std::int64_t from, std::int64_t to, const std::vector<PhysicalColumn>& columns, T* out,
                         std::size_t stride) {
    for_each_chunk(file, format, byte_offset, width, from, to, [&](auto sample, auto f0, auto f1, auto marker) {
        for (const auto& c : columns) {
            T* o = out + c.first;
            const double baseline = c.baseline, gain = c.gain;
            const std::int64_t at = c.position;
            for (std::int64_t f = f0; f < f1; ++f) {
                const auto v = sample((f - f0) * width + at);
                // The expression SignalData::physical uses, so both give the same values.
                o[static_cast<std::size_t>(f) * stride] = v == marker ? std::numeric_limits<T>::quiet_NaN()
                                                                      : static_cast<T>((v - baseline) / gain);
            }
        }
    });
}

template <typename T>
void allocate(std::vector<T>& values, std::size_t size) {
    allocate_rows(values, size);
}

template void read_plain_physical<float>(const std::filesystem::path&, int, std::int64_t, int, std::int64_t,
                                         std::int64_t, const std::vector<PhysicalColumn>&, float*, std::size_t);
template void read_plain_physical<double>(const std::filesystem::path&, int, std::int64_t, int, std::int64_t,
                                          std::int64_t, const std::vector<PhysicalColumn>&, double*, std::size_t);
template void allocate<float>(std::vector<float>&, std::size_t);
template void allocate<double>(std::vector<double>&, std::size_t);

bool bulk_decode_enabled() { return bulk_enabled.load(std::memory_order_relaxed); }
void set_bulk_decode(bool enabled) { bulk_enabled.store(enabled, std::memory_order_relaxed); }

}  // namespace ecgbench::wfdb::detail
