// Internal to libecgbench_api: FLAC signal files (WFDB formats 508/516/524), decoded by libFLAC
// as WFDB itself does. A FLAC channel holds one signal; every signal of the file has the same
// samples per frame (`spf`), so one FLAC inter-channel sample is 1/spf of a stored WFDB frame.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

namespace ecgbench::wfdb::detail {

/// Stored samples [s0, s1) of the FLAC stream starting at byte `offset` of `path`, in the
/// frame-interleaved order of the other formats (frame, then signal, then sample within the
/// frame); samples past the stream's end read as zero. Every decoded frame's CRC is checked, and
/// the stream's MD5 signature whenever the decode reaches the stream's end; any mismatch, lost
/// sync or bad header is a WfdbError naming the file.
std::vector<std::int32_t> read_flac_samples(const std::filesystem::path& path, std::int64_t offset, int spf,
                                            std::int64_t s0, std::int64_t s1);

/// WFDB frames in the stream (`frame_samples` stored samples each): STREAMINFO's total, or a
/// checked full decode when the total is not given.
std::int64_t flac_frames(const std::filesystem::path& path, std::int64_t offset, int frame_samples);

}  // namespace ecgbench::wfdb::detail
