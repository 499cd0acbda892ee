// Internal to libecgbench_api (not part of the plugin API): the bulk decoder for plain format 16
// and 212 signal files, and the switch tests use to compare it with the general decoder.
#pragma once

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

/// Whether read_signals may use read_plain_frames (default on; tests turn it off).
bool bulk_decode_enabled();
void set_bulk_decode(bool enabled);

}  // namespace ecgbench::wfdb::detail
