// FLAC signal files through libFLAC, with its integrity checks on: frame header CRC-8 and frame
// CRC-16 on every frame, and the stream's MD5 signature (set_md5_checking) when a read decodes
// the stream to its end. libFLAC reports a damaged frame through its error callback and then
// carries on with silence; here the first report stops the read with an error naming the file.
#include "wfdb_flac.hpp"

#include "ecgbench/wfdb.hpp"

#include <FLAC/stream_decoder.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <memory>
#include <optional>
#include <string>

namespace ecgbench::wfdb::detail {
namespace {

std::vector<unsigned char> file_bytes(const std::filesystem::path& path, std::int64_t offset) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw WfdbError("cannot open signal file " + path.string());
    in.seekg(offset);
    return std::vector<unsigned char>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string error_text(FLAC__StreamDecoderErrorStatus status) {
    switch (status) {
    case FLAC__STREAM_DECODER_ERROR_STATUS_LOST_SYNC: return "lost frame sync (bytes that belong to no frame)";
    case FLAC__STREAM_DECODER_ERROR_STATUS_BAD_HEADER: return "bad frame header";
    case FLAC__STREAM_DECODER_ERROR_STATUS_FRAME_CRC_MISMATCH: return "frame CRC mismatch (corrupt data)";
    case FLAC__STREAM_DECODER_ERROR_STATUS_UNPARSEABLE_STREAM: return "unparseable stream";
    default: return FLAC__StreamDecoderErrorStatusString[status];
    }
}

// One pass of libFLAC over a stream held in memory; construction reads the metadata, and the
// frames decoded later keep the inter-channel samples of the range set by keep().
class FlacDecode {
public:
    FlacDecode(const std::filesystem::path& path, std::int64_t offset)
        : bytes_(file_bytes(path, offset)), source_(path.string()), decoder_(FLAC__stream_decoder_new(), &FLAC__stream_decoder_delete) {
        // libFLAC would skip ID3 tags in front of the marker; a WFDB signal file has none.
        if (bytes_.size() < 4 || std::memcmp(bytes_.data(), "fLaC", 4) != 0)
            throw WfdbError(source_ + ": not a FLAC stream (no 'fLaC' marker at byte " + std::to_string(offset) + ")");
        if (!decoder_) throw WfdbError(source_ + ": cannot create a FLAC decoder");
        FLAC__stream_decoder_set_md5_checking(decoder_.get(), true);
        if (FLAC__stream_decoder_init_stream(decoder_.get(), &FlacDecode::read, nullptr, nullptr, nullptr,
                                             &FlacDecode::eof, &FlacDecode::write, &FlacDecode::metadata,
                                             &FlacDecode::error, this) != FLAC__STREAM_DECODER_INIT_STATUS_OK)
            throw WfdbError(source_ + ": cannot start the FLAC decoder");
        const bool ok = FLAC__stream_decoder_process_until_end_of_metadata(decoder_.get());
        check(ok);
        if (channels_ == 0) throw WfdbError(source_ + ": FLAC stream without a STREAMINFO block");
    }
    FlacDecode(const FlacDecode&) = delete;  // libFLAC's callbacks hold `this`
    FlacDecode& operator=(const FlacDecode&) = delete;

    int channels() const { return channels_; }
    std::int64_t total_samples() const { return total_samples_; }  // 0 = not given
    std::int64_t decoded() const { return decoded_; }
    void keep(std::int64_t from, std::int64_t to) {
        keep_from_ = from;
        keep_to_ = to;
    }
    const std::vector<std::int32_t>& kept(int channel) const { return kept_[static_cast<std::size_t>(channel)]; }

    // Decodes frames until `needed` inter-channel samples are out or the stream ends; at the end,
    // a signature that differs from the decoded samples' MD5 is an error.
    void decode_until(std::int64_t needed) {
        while (decoded_ < needed && FLAC__stream_decoder_get_state(decoder_.get()) != FLAC__STREAM_DECODER_END_OF_STREAM)
            check(FLAC__stream_decoder_process_single(decoder_.get()));
        const bool ended = FLAC__stream_decoder_get_state(decoder_.get()) == FLAC__STREAM_DECODER_END_OF_STREAM;
        // finish() compares the MD5 of what was decoded so far: meaningful only at the end.
        if (!FLAC__stream_decoder_finish(decoder_.get()) && ended)
            throw WfdbError(source_ + ": FLAC MD5 signature mismatch (decoded samples differ from those encoded)");
    }

private:
    void check(bool ok) const {
        if (error_) throw WfdbError(source_ + ": FLAC " + *error_);
        if (!ok)
            throw WfdbError(source_ + ": FLAC decoder stopped (" +
                            FLAC__StreamDecoderStateString[FLAC__stream_decoder_get_state(decoder_.get())] + ")");
    }

    static FLAC__StreamDecoderReadStatus read(const FLAC__StreamDecoder*, FLAC__byte buffer[], std::size_t* bytes,
                                              void* self) {
        auto& d = *static_cast<FlacDecode*>(self);
        const auto n = std::min(*bytes, d.bytes_.size() - d.pos_);
        std::copy_n(d.bytes_.data() + d.pos_, n, buffer);
        d.pos_ += n;
        *bytes = n;
        return n == 0 ? FLAC__STREAM_DECODER_READ_STATUS_END_OF_STREAM : FLAC__STREAM_DECODER_READ_STATUS_CONTINUE;
    }

    static FLAC__bool eof(const FLAC__StreamDecoder*, void* self) {
        const auto& d = *static_cast<FlacDecode*>(self);
        return d.pos_ >= d.bytes_.size();
    }

    static void metadata(const FLAC__StreamDecoder*, const FLAC__StreamMetadata* m, void* self) {
        if (m->type != FLAC__METADATA_TYPE_STREAMINFO) return;
        auto& d = *static_cast<FlacDecode*>(self);
        d.channels_ = static_cast<int>(m->data.stream_info.channels);
        d.total_samples_ = static_cast<std::int64_t>(m->data.stream_info.total_samples);
        d.kept_.assign(static_cast<std::size_t>(d.channels_), {});
    }

    static FLAC__StreamDecoderWriteStatus write(const FLAC__StreamDecoder*, const FLAC__Frame* frame,
                                                const FLAC__int32* const buffer[], void* self) {
        auto& d = *static_cast<FlacDecode*>(self);
        // After a reported error libFLAC hands over the frame as silence; stop there instead.
        if (d.error_) return FLAC__STREAM_DECODER_WRITE_STATUS_ABORT;
        if (static_cast<int>(frame->header.channels) != d.channels_) {
            d.error_ = "frame at sample " + std::to_string(d.decoded_) + " has " +
                       std::to_string(frame->header.channels) + " channels, the stream " + std::to_string(d.channels_);
            return FLAC__STREAM_DECODER_WRITE_STATUS_ABORT;
        }
        const auto block = static_cast<std::int64_t>(frame->header.blocksize);
        const auto a = std::max(d.decoded_, d.keep_from_), b = std::min(d.decoded_ + block, d.keep_to_);
        for (int c = 0; c < d.channels_ && a < b; ++c)
            d.kept_[static_cast<std::size_t>(c)].insert(d.kept_[static_cast<std::size_t>(c)].end(),
                                                        buffer[c] + (a - d.decoded_), buffer[c] + (b - d.decoded_));
        d.decoded_ += block;
        return FLAC__STREAM_DECODER_WRITE_STATUS_CONTINUE;
    }

    static void error(const FLAC__StreamDecoder*, FLAC__StreamDecoderErrorStatus status, void* self) {
        auto& d = *static_cast<FlacDecode*>(self);
        if (!d.error_)
            d.error_ = error_text(status) + " in the frame after sample " + std::to_string(d.decoded_);
    }

    std::vector<unsigned char> bytes_;
    std::size_t pos_ = 0;
    std::string source_;
    std::int64_t keep_from_ = 0, keep_to_ = 0;
    std::unique_ptr<FLAC__StreamDecoder, decltype(&FLAC__stream_decoder_delete)> decoder_;
    int channels_ = 0;
    std::int64_t total_samples_ = 0;
    std::int64_t decoded_ = 0;
    std::vector<std::vector<std::int32_t>> kept_;
    std::optional<std::string> error_;
};

constexpr auto kWholeStream = std::numeric_limits<std::int64_t>::max();

}  // namespace

std::vector<std::int32_t> read_flac_samples(const std::filesystem::path& path, std::int64_t offset, int spf,
                                            std::int64_t s0, std::int64_t s1) {
    FlacDecode flac(path, offset);
    const std::int64_t frame_samples = std::int64_t{flac.channels()} * spf;
    const auto first = s0 / frame_samples * spf, last = (s1 + frame_samples - 1) / frame_samples * spf;
    flac.keep(first, last);
    // A read that reaches the stream's end decodes through it, so the MD5 signature is checked.
    const bool to_end = flac.total_samples() == 0 || last >= flac.total_samples();
    flac.decode_until(to_end ? kWholeStream : last);
    std::vector<std::int32_t> out;
    out.reserve(static_cast<std::size_t>(s1 - s0));
    for (std::int64_t i = s0; i < s1; ++i) {
        const auto frame = i / frame_samples, within = i % frame_samples;
        const auto& col = flac.kept(static_cast<int>(within / spf));
        const auto k = static_cast<std::size_t>((frame * spf - first) + within % spf);
        out.push_back(k < col.size() ? col[k] : 0);
    }
    return out;
}

std::int64_t flac_frames(const std::filesystem::path& path, std::int64_t offset, int frame_samples) {
    FlacDecode flac(path, offset);
    if (frame_samples % flac.channels() != 0)
        throw WfdbError(path.string() + ": FLAC stream has " + std::to_string(flac.channels()) +
                        " channels, which does not fit " + std::to_string(frame_samples) + " samples per frame");
    const int spf = frame_samples / flac.channels();
    if (flac.total_samples() > 0) return flac.total_samples() / spf;
    flac.decode_until(kWholeStream);
    return flac.decoded() / spf;
}

}  // namespace ecgbench::wfdb::detail
