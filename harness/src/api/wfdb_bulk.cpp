// Bulk decoding of plain format 16 and 212 files (the common PhysioNet layouts): the byte range
// is read in cache-sized chunks, each unpacked by one tight loop per selected signal. The general
// decoder in wfdb_signals.cpp handles everything else and is the reference these loops must match.
#include "wfdb_bulk.hpp"

#include "ecgbench/wfdb.hpp"

#include <algorithm>
#include <atomic>
#include <fstream>
#include <limits>
#include <type_traits>
#include <vector>

#include <sys/mman.h>
#include <unistd.h>

namespace ecgbench::wfdb::detail {
namespace {

std::atomic<bool> bulk_enabled{true};

// Stored samples per chunk: the chunk's bytes (128 KiB in format 16) stay in cache while every
// selected column takes its samples from them, and no buffer the size of the range is faulted in.
constexpr std::int64_t kChunkSamples = 65536;

// Zero bytes after a chunk's last block, so the 212 unpacker may load 8 bytes where 6 remain.
constexpr std::size_t kSlack = 8;

// Bytes [begin, begin + length) of the file into `buffer` (plus kSlack zero bytes); whatever lies
// past the end of the file reads as zero.
void read_bytes(std::ifstream& in, std::int64_t begin, std::int64_t length, std::vector<unsigned char>& buffer) {
    buffer.resize(static_cast<std::size_t>(length) + kSlack);
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

// A stored value, or kInvalidSample where it is the format's invalid marker (branch-free).
inline std::int32_t valid_or_invalid(std::int32_t v, std::int32_t marker) { return v == marker ? kInvalidSample : v; }

// Every stored sample of `blocks` whole blocks at `p`, in file order, into `out`, markers already
// kInvalidSample: one branch-free pass, so the per-signal loops below only pick and convert.
void unpack16(const unsigned char* p, std::int64_t blocks, std::int32_t* out) {
    for (std::int64_t i = 0; i < blocks; ++i)
        out[i] = valid_or_invalid(static_cast<std::int16_t>(static_cast<std::uint16_t>(p[2 * i] | p[2 * i + 1] << 8)),
                                  -32768);
}

// A 12-bit two's-complement field as int32, kInvalidSample for 212's marker (-2048).
inline std::int32_t sample12(std::uint64_t bits) {
    return valid_or_invalid(static_cast<std::int32_t>((static_cast<std::uint32_t>(bits & 0xfffu) ^ 0x800u) - 0x800u), -2048);
}

// Format 212: two 12-bit samples per 3 bytes, the high nibbles of both in the middle byte.
void unpack212(const unsigned char* p, std::int64_t blocks, std::int32_t* out) {
    for (std::int64_t i = 0; i < blocks; ++i) {
        const unsigned char* b = p + 3 * i;
        out[2 * i] = sample12(b[0] | (b[1] & 0x0fu) << 8);
        out[2 * i + 1] = sample12(b[2] | (b[1] & 0xf0u) << 4);
    }
}

// Frames [from, to) of the file, a chunk at a time: emit(stored, f0, f1) gets, for rows [f0, f1),
// stored[i] = the i-th stored sample from frame from + f0 on (kInvalidSample where invalid).
// `direct`, when not null, is where frame from + f0's samples go in the caller's matrix when that
// matrix is the file's frames as stored: chunks that are whole blocks are unpacked straight there
// (emit is then not called for them).
template <typename Emit>
void for_each_chunk(const std::filesystem::path& file, int format, std::int64_t byte_offset, int width,
                    std::int64_t from, std::int64_t to, Emit emit, std::int32_t* direct = nullptr) {
    if (format != 16 && format != 212)
        throw WfdbError("bulk decoding supports formats 16 and 212, not " + std::to_string(format));
    const std::int64_t block_bytes = format == 16 ? 2 : 3, block_samples = format == 16 ? 1 : 2;
    if (to <= from) return;
    std::ifstream in(file, std::ios::binary);
    if (!in) throw WfdbError("cannot open signal file " + file.string());
    std::vector<unsigned char> buffer;
    std::vector<std::int32_t> stored;
    const auto chunk_frames = std::max<std::int64_t>(1, kChunkSamples / width);
    const auto unpack = format == 16 ? unpack16 : unpack212;
    for (std::int64_t f0 = 0; f0 < to - from; f0 += chunk_frames) {
        const auto f1 = std::min(to - from, f0 + chunk_frames);
        // Stored samples [a, b) lie in whole blocks from first_block on; a may be a block's second.
        const auto a = (from + f0) * width, b = (from + f1) * width;
        const auto first_block = a / block_samples, end_block = (b + block_samples - 1) / block_samples;
        const auto blocks = end_block - first_block;
        read_bytes(in, byte_offset + first_block * block_bytes, blocks * block_bytes, buffer);
        if (direct && a == first_block * block_samples && b == end_block * block_samples) {
            unpack(buffer.data(), blocks, direct + f0 * width);
            continue;
        }
        stored.resize(static_cast<std::size_t>(blocks * block_samples));
        unpack(buffer.data(), blocks, stored.data());
        emit(stored.data() + (a - first_block * block_samples), f0, f1);
    }
}

// Rows [f0, f1) of one column from a chunk's stored samples: out[row * stride] = convert(sample).
template <typename T, typename Convert>
void put_rows(const std::int32_t* stored, std::int64_t f0, std::int64_t f1, int width, int position, T* out,
              std::size_t stride, Convert convert) {
    const std::int32_t* in = stored + position;
    for (std::int64_t f = f0; f < f1; ++f) out[static_cast<std::size_t>(f) * stride] = convert(in[(f - f0) * width]);
}

std::int32_t as_stored(std::int32_t v) { return v; }

}  // namespace

std::vector<std::vector<std::int32_t>> read_plain_frames(const std::filesystem::path& file, int format,
                                                         std::int64_t byte_offset, int width, std::int64_t from,
                                                         std::int64_t to, const std::vector<int>& positions) {
    std::vector<std::vector<std::int32_t>> columns(positions.size());
    if (to > from)
        for (auto& column : columns) allocate_rows(column, static_cast<std::size_t>(to - from));
    for_each_chunk(file, format, byte_offset, width, from, to, [&](const std::int32_t* stored, auto f0, auto f1) {
        for (std::size_t k = 0; k < positions.size(); ++k)
            put_rows(stored, f0, f1, width, positions[k], columns[k].data(), 1, as_stored);
    });
    return columns;
}

namespace {

// Whether the columns are the file's whole frames in order, row-major: matrix row f is then the
// stored frame f, and a digital matrix takes a chunk's stored samples as they are.
bool whole_frames(const std::vector<MatrixColumn>& columns, int width, std::size_t stride) {
    if (stride != static_cast<std::size_t>(width) || columns.size() != static_cast<std::size_t>(width)) return false;
    for (std::size_t k = 0; k < columns.size(); ++k)
        if (columns[k].position != static_cast<int>(k) || columns[k].first != k) return false;
    return true;
}

}  // namespace

template <typename T>
void read_plain_matrix(const std::filesystem::path& file, int format, std::int64_t byte_offset, int width,
                       std::int64_t from, std::int64_t to, const std::vector<MatrixColumn>& columns, T* out,
                       std::size_t stride) {
    [[maybe_unused]] const bool linear = whole_frames(columns, width, stride);
    std::int32_t* direct = nullptr;
    if constexpr (std::is_same_v<T, std::int32_t>) direct = linear ? out : nullptr;
    for_each_chunk(file, format, byte_offset, width, from, to, [&](const std::int32_t* stored, auto f0, auto f1) {
        if constexpr (std::is_same_v<T, std::int32_t>) {
            if (linear) {  // a chunk that starts or ends inside a 212 block
                std::copy(stored, stored + (f1 - f0) * width, out + static_cast<std::size_t>(f0) * stride);
                return;
            }
        }
        for (const auto& c : columns) {
            if constexpr (std::is_floating_point_v<T>) {
                const double baseline = c.baseline, gain = c.gain;
                // The expression SignalData::physical uses, so both give the same values.
                put_rows(stored, f0, f1, width, c.position, out + c.first, stride, [&](std::int32_t v) {
                    return v == kInvalidSample ? std::numeric_limits<T>::quiet_NaN() : static_cast<T>((v - baseline) / gain);
                });
            } else {
                put_rows(stored, f0, f1, width, c.position, out + c.first, stride, as_stored);
            }
        }
    }, direct);
}

template <typename T>
void allocate(std::vector<T>& values, std::size_t size) {
    allocate_rows(values, size);
}

template void read_plain_matrix<float>(const std::filesystem::path&, int, std::int64_t, int, std::int64_t, std::int64_t,
                                       const std::vector<MatrixColumn>&, float*, std::size_t);
template void read_plain_matrix<double>(const std::filesystem::path&, int, std::int64_t, int, std::int64_t, std::int64_t,
                                        const std::vector<MatrixColumn>&, double*, std::size_t);
template void read_plain_matrix<std::int32_t>(const std::filesystem::path&, int, std::int64_t, int, std::int64_t,
                                              std::int64_t, const std::vector<MatrixColumn>&, std::int32_t*, std::size_t);
template void allocate<float>(std::vector<float>&, std::size_t);
template void allocate<double>(std::vector<double>&, std::size_t);
template void allocate<std::int32_t>(std::vector<std::int32_t>&, std::size_t);

bool bulk_decode_enabled() { return bulk_enabled.load(std::memory_order_relaxed); }
void set_bulk_decode(bool enabled) { bulk_enabled.store(enabled, std::memory_order_relaxed); }

}  // namespace ecgbench::wfdb::detail
