// Internal to libecgbench_api (not part of the plugin API): the bulk decoder for plain format 16
// and 212 signal files (to digital columns or straight to a digital or physical matrix), and the switch tests
// use to compare it with the general decoder.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <vector>

namespace ecgbench::wfdb::detail {

/// Frames [from, to) of a format 16 or 212 file whose frames hold `width` samples, one per
/// signal (no skew, one sample per frame), starting at `byte_offset`. Returns one column per
/// entry of `positions` (a signal's place inside a frame); markers become kInvalidSample and
/// bytes missing at the end of the file read as zero, as in the general decoder.
std::vector<std::vector<std::int32_t>> read_plain_frames(const std::filesystem::path& file, int format,
                                                         std::int64_t byte_offset, int width, std::int64_t from,
                                                         std::int64_t to, const std::vector<int>& positions);

/// Where read_plain_matrix puts one selected signal: its place inside a stored frame, and the
/// matrix entries of its rows, out[first + row * stride]; gain and baseline convert to physical
/// units when the matrix holds floating-point values.
struct MatrixColumn {
    int position = 0;
    std::size_t first = 0;
    double gain = 200.0;
    double baseline = 0.0;
};

/// As read_plain_frames, but the samples go straight into a matrix: T = float or double holds
/// (v - baseline) / gain (NaN if invalid), T = int32 the digital value (kInvalidSample if invalid).
template <typename T>
void read_plain_matrix(const std::filesystem::path& file, int format, std::int64_t byte_offset, int width,
                       std::int64_t from, std::int64_t to, const std::vector<MatrixColumn>& columns, T* out,
                       std::size_t stride);

/// `values` resized to `size`, its pages mapped in one call rather than one fault at a time.
template <typename T>
void allocate(std::vector<T>& values, std::size_t size);

/// Whether read_signals and read_physical may use read_plain_frames (default on; tests turn it off).
bool bulk_decode_enabled();
void set_bulk_decode(bool enabled);

}  // namespace ecgbench::wfdb::detail
