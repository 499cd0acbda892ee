// WFDB signal files: decoding of storage formats 8/16/24/32/61/80/160/212/310/311 and FLAC
// 508/516/524, frames with several samples per signal, skew, byte offsets, several files per
// record, multi-segment records; and the format 16/212 writer.
#include "ecgbench/wfdb.hpp"
#include "wfdb_bulk.hpp"
#include "wfdb_flac.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <optional>
#include <type_traits>
#include <utility>

namespace ecgbench::wfdb {
namespace {

bool is_flac(int format) { return format == 508 || format == 516 || format == 524; }

// Bytes and samples of one indivisible block of a format (212 packs 2 samples in 3 bytes, ...).
struct BlockShape {
    int bytes;
    int samples;
};

BlockShape block_shape(int format) {
    switch (format) {
    case 8: case 80: return {1, 1};
    case 16: case 61: case 160: return {2, 1};
    case 24: return {3, 1};
    case 32: return {4, 1};
    case 212: return {3, 2};
    case 310: case 311: return {4, 3};
    default: break;
    }
    throw WfdbError("format " + std::to_string(format) + " is not supported");
}

// The format's own marker for "no data"; format 8 (differences) has none.
std::optional<std::int32_t> invalid_marker(int format) {
    switch (format) {
    case 16: case 61: case 160: return -32768;
    case 80: return -128;
    case 212: return -2048;
    case 310: case 311: return -512;
    case 24: case 524: return -(1 << 23);
    case 508: return -128;
    case 516: return -32768;
    case 32: return kInvalidSample;
    default: return std::nullopt;
    }
}

std::int32_t sign_extend(std::uint32_t v, int bits) {
    const std::uint32_t m = 1u << (bits - 1);
    v &= (bits == 32) ? 0xffffffffu : ((1u << bits) - 1);
    return static_cast<std::int32_t>((v ^ m) - m);
}

// Samples a trailing partial block of `bytes` bytes holds (WFDB writes partial blocks short).
int samples_in_partial_block(int format, std::int64_t bytes) {
    if (format == 212) return bytes >= 2 ? 1 : 0;
    if (format == 310) return bytes >= 2 ? 1 : 0;  // 2 samples always fill the whole 4 bytes
    if (format == 311) return bytes >= 3 ? 2 : (bytes >= 2 ? 1 : 0);
    return 0;
}

std::int64_t samples_in_bytes(int format, std::int64_t bytes) {
    const auto shape = block_shape(format);
    const auto blocks = bytes / shape.bytes;
    return blocks * shape.samples + samples_in_partial_block(format, bytes % shape.bytes);
}

// Decodes `count` samples from `p` (at a block boundary), skipping the first `skip` of them.
// Missing trailing bytes (a partial block) read as zero; callers never ask past the data.
void decode(const std::vector<unsigned char>& p, int format, std::int64_t skip, std::int64_t count,
            std::vector<std::int32_t>& out) {
    auto byte = [&](std::size_t i) -> std::uint32_t { return i < p.size() ? p[i] : 0u; };
    out.reserve(out.size() + static_cast<std::size_t>(count));
    for (std::int64_t k = skip; k < skip + count; ++k) {
        const auto i = static_cast<std::size_t>(k);
        std::int32_t v = 0;
        switch (format) {
        case 8: v = sign_extend(byte(i), 8); break;
        case 80: v = static_cast<std::int32_t>(byte(i)) - 128; break;
        case 16: v = sign_extend(byte(2 * i) | byte(2 * i + 1) << 8, 16); break;
        case 61: v = sign_extend(byte(2 * i + 1) | byte(2 * i) << 8, 16); break;
        case 160: v = static_cast<std::int32_t>(byte(2 * i) | byte(2 * i + 1) << 8) - 32768; break;
        case 24: v = sign_extend(byte(3 * i) | byte(3 * i + 1) << 8 | byte(3 * i + 2) << 16, 24); break;
        case 32:
            v = static_cast<std::int32_t>(byte(4 * i) | byte(4 * i + 1) << 8 | byte(4 * i + 2) << 16 |
                                          byte(4 * i + 3) << 24);
            break;
        case 212: {
            const auto b = 3 * (i / 2);
            v = (i % 2 == 0) ? sign_extend(byte(b) | (byte(b + 1) & 0x0f) << 8, 12)
                             : sign_extend(byte(b + 2) | (byte(b + 1) & 0xf0) << 4, 12);
            break;
        }
        case 310: {
            // Two little-endian words; samples 0 and 1 in bits 1-10 of each, sample 2 split
            // over bits 11-15 of both (low half in the first word).
            const auto b = 4 * (i / 3);
            const auto w0 = byte(b) | byte(b + 1) << 8, w1 = byte(b + 2) | byte(b + 3) << 8;
            const auto r = i % 3;
            v = r == 0 ? sign_extend(w0 >> 1, 10)
                : r == 1 ? sign_extend(w1 >> 1, 10)
                         : sign_extend((w0 >> 11) | (w1 >> 11) << 5, 10);
            break;
        }
        case 311: {
            const auto b = 4 * (i / 3);
            const auto w = byte(b) | byte(b + 1) << 8 | byte(b + 2) << 16 | byte(b + 3) << 24;
            v = sign_extend(w >> (10 * (i % 3)), 10);
            break;
        }
        default: break;
        }
        out.push_back(v);
    }
}

// One signal file and the header signals stored in it, interleaved frame by frame.
struct Group {
    std::filesystem::path path;
    int format = 0;
    std::int64_t byte_offset = 0;
    std::vector<int> members;    // header signal indices, in file order
    std::vector<int> first;      // offset of each member's samples inside a stored frame
    int frame_samples = 0;       // samples per stored frame, all members
};

std::vector<Group> make_groups(const Header& h) {
    std::vector<Group> groups;
    for (int s = 0; s < h.nsig; ++s) {
        const auto& sig = h.signals[static_cast<std::size_t>(s)];
        // WFDB groups consecutive lines naming the same file.
        if (groups.empty() || s == 0 || h.signals[static_cast<std::size_t>(s - 1)].file_name != sig.file_name) {
            Group g;
            g.path = h.directory / sig.file_name;
            g.format = sig.format;
            g.byte_offset = sig.byte_offset;
            groups.push_back(g);
        }
        auto& g = groups.back();
        if (sig.format != g.format)
            throw WfdbError(h.name + ": signals in " + sig.file_name + " mix formats " + std::to_string(g.format) +
                            " and " + std::to_string(sig.format));
        // A FLAC file holds one channel per signal, so its signals must share their rate.
        if (is_flac(g.format) && !g.members.empty() &&
            h.signals[static_cast<std::size_t>(g.members.front())].samples_per_frame != sig.samples_per_frame)
            throw WfdbError(h.name + ": FLAC signals in " + sig.file_name + " differ in samples per frame");
        g.members.push_back(s);
        g.first.push_back(g.frame_samples);
        g.frame_samples += sig.samples_per_frame;
    }
    return groups;
}

std::int64_t signal_file_size(const std::filesystem::path& path) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    if (ec) throw WfdbError("cannot open signal file " + path.string() + ": " + ec.message());
    return static_cast<std::int64_t>(size);
}

std::int64_t frames_in_file(const Group& g) {
    if (is_flac(g.format)) return detail::flac_frames(g.path, g.byte_offset, g.frame_samples);
    const auto bytes = std::max<std::int64_t>(0, signal_file_size(g.path) - g.byte_offset);
    return samples_in_bytes(g.format, bytes) / std::max(1, g.frame_samples);
}

// Stored samples [s0, s1) of a group's file, decoded (format 8 stays as differences).
std::vector<std::int32_t> read_samples(const Group& g, std::int64_t s0, std::int64_t s1) {
    if (is_flac(g.format)) {  // make_groups checked that every member has the same rate
        const int spf = g.frame_samples / static_cast<int>(g.members.size());
        return detail::read_flac_samples(g.path, g.byte_offset, spf, s0, s1);
    }
    const auto shape = block_shape(g.format);
    const auto first_block = s0 / shape.samples;
    const auto last_block = (s1 + shape.samples - 1) / shape.samples;
    std::ifstream in(g.path, std::ios::binary);
    if (!in) throw WfdbError("cannot open signal file " + g.path.string());
    in.seekg(g.byte_offset + first_block * shape.bytes);
    std::vector<unsigned char> bytes(static_cast<std::size_t>((last_block - first_block) * shape.bytes));
    in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    bytes.resize(static_cast<std::size_t>(std::max<std::streamsize>(0, in.gcount())));
    std::vector<std::int32_t> out;
    decode(bytes, g.format, s0 - first_block * shape.samples, s1 - s0, out);
    return out;
}

std::vector<int> selected_signals(const Header& h, const ReadOptions& o) {
    if (o.signals.empty()) {
        std::vector<int> all(static_cast<std::size_t>(h.nsig));
        for (int s = 0; s < h.nsig; ++s) all[static_cast<std::size_t>(s)] = s;
        return all;
    }
    for (int s : o.signals)
        if (s < 0 || s >= h.nsig)
            throw WfdbError(h.name + ": signal " + std::to_string(s) + " out of range (record has " +
                            std::to_string(h.nsig) + ")");
    return o.signals;
}

// Frames of one signal, at its own rate: spf samples per frame, frames [from, to) after skew.
struct Stream {
    std::vector<std::int32_t> samples;
    int spf = 1;
};

// Reads every member of a group over frames [from, to), undoing skew, differences and markers.
std::map<int, Stream> read_group(const Group& g, const Header& h, std::int64_t from, std::int64_t to) {
    int max_skew = 0, min_skew = std::numeric_limits<int>::max();
    for (int s : g.members) {
        max_skew = std::max(max_skew, h.signals[static_cast<std::size_t>(s)].skew);
        min_skew = std::min(min_skew, h.signals[static_cast<std::size_t>(s)].skew);
    }
    std::map<int, Stream> streams;
    // An empty range reads nothing: a skew larger than the file (the range is then empty) must
    // not turn it into a read of [min_skew, max_skew) frames (found by fuzz_wfdb_signals).
    if (to <= from) {
        for (int s : g.members) streams[s].spf = h.signals[static_cast<std::size_t>(s)].samples_per_frame;
        return streams;
    }
    // Format 8 stores differences, so it is always decoded from the file start.
    const std::int64_t f0 = g.format == 8 ? 0 : from + min_skew;
    const std::int64_t f1 = to + max_skew;
    const auto raw = read_samples(g, f0 * g.frame_samples, f1 * g.frame_samples);
    const auto marker = invalid_marker(g.format);
    for (std::size_t m = 0; m < g.members.size(); ++m) {
        const auto& sig = h.signals[static_cast<std::size_t>(g.members[m])];
        Stream st;
        st.spf = sig.samples_per_frame;
        std::int32_t acc = sig.initial_value;
        const std::int64_t start = g.format == 8 ? 0 : from + sig.skew;
        for (std::int64_t f = start; f < to + sig.skew; ++f)
            for (int k = 0; k < st.spf; ++k) {
                const auto v = raw[static_cast<std::size_t>((f - f0) * g.frame_samples + g.first[m] + k)];
                if (g.format == 8) {
                    acc += v;
                    if (f >= from + sig.skew) st.samples.push_back(acc);
                } else {
                    st.samples.push_back(marker && v == *marker ? kInvalidSample : v);
                }
            }
        streams[g.members[m]] = std::move(st);
    }
    return streams;
}

// Mean of a frame's samples, rounded to nearest (WFDB 10.7 low-resolution mode); invalid if any is.
std::int32_t frame_mean(const std::int32_t* p, int spf) {
    std::int64_t sum = 0;
    for (int k = 0; k < spf; ++k) {
        if (p[k] == kInvalidSample) return kInvalidSample;
        sum += p[k];
    }
    const double mean = static_cast<double>(sum) / spf;
    return static_cast<std::int32_t>(std::floor(mean + 0.5));
}

std::vector<std::int32_t> to_rows(const Stream& st, std::int64_t frames, int ticks, bool high_res) {
    std::vector<std::int32_t> rows;
    rows.reserve(static_cast<std::size_t>(frames * ticks));
    for (std::int64_t f = 0; f < frames; ++f) {
        const auto* p = st.samples.data() + f * st.spf;
        if (!high_res) {
            rows.push_back(st.spf == 1 ? p[0] : frame_mean(p, st.spf));
            continue;
        }
        // Lower-rate signals repeat each sample until the next one is due.
        for (int t = 0; t < ticks; ++t) rows.push_back(p[static_cast<std::int64_t>(t) * st.spf / ticks]);
    }
    return rows;
}

// Groups the bulk decoder reads exactly as read_group + to_rows would: format 16 or 212 with one
// sample per frame and no skew in every member, one row per frame. A byte offset only moves the
// start of the byte range, and a short last 212 block reads as zero in both, so neither excludes.
bool bulk_decodable(const Group& g, const Header& h, int ticks_per_frame) {
    if (!detail::bulk_decode_enabled() || ticks_per_frame != 1 || (g.format != 16 && g.format != 212)) return false;
    return std::all_of(g.members.begin(), g.members.end(), [&](int s) {
        const auto& sig = h.signals[static_cast<std::size_t>(s)];
        return sig.samples_per_frame == 1 && sig.skew == 0;
    });
}

// Rows of the group's selected members over frames [from, to), by the bulk decoder.
template <typename IsSelected>
std::map<int, std::vector<std::int32_t>> read_bulk(const Group& g, std::int64_t from, std::int64_t to,
                                                    IsSelected is_selected) {
    std::vector<int> signals, positions;
    for (std::size_t m = 0; m < g.members.size(); ++m)
        if (is_selected(g.members[m])) {
            signals.push_back(g.members[m]);
            positions.push_back(g.first[m]);
        }
    auto columns = detail::read_plain_frames(g.path, g.format, g.byte_offset, g.frame_samples, from, to, positions);
    std::map<int, std::vector<std::int32_t>> rows;
    for (std::size_t k = 0; k < signals.size(); ++k) rows[signals[k]] = std::move(columns[k]);
    return rows;
}

// Frames a single-segment record holds, and the last frame readable given skew.
struct Extent {
    std::int64_t length = 0;    // header length (or inferred)
    std::int64_t readable = 0;  // frames every selected signal can deliver
};

Extent record_extent(const Header& h, const std::vector<Group>& groups, std::int64_t to_needed) {
    Extent e;
    e.length = h.nsamp.value_or(std::numeric_limits<std::int64_t>::max());
    e.readable = e.length;
    for (const auto& g : groups) {
        const auto frames = frames_in_file(g);
        int max_skew = 0;
        for (int s : g.members) max_skew = std::max(max_skew, h.signals[static_cast<std::size_t>(s)].skew);
        if (!h.nsamp) e.length = std::min(e.length, frames);
        if (h.nsamp && frames < *h.nsamp && std::min(to_needed, *h.nsamp) + max_skew > frames)
            throw WfdbError(g.path.string() + ": data ends at sample " + std::to_string(frames) +
                            " but the header gives " + std::to_string(*h.nsamp) + " samples");
        e.readable = std::min(e.readable, frames - max_skew);
    }
    if (groups.empty()) e.length = h.nsamp.value_or(0);
    e.readable = std::max<std::int64_t>(0, std::min(e.readable, e.length));
    return e;
}

// What a single-segment read covers: the selected signals, the record's files, frames [from, to).
struct SinglePlan {
    std::vector<int> selected;
    std::vector<Group> groups;
    std::int64_t from = 0, to = 0;
    int ticks_per_frame = 1;

    bool is_selected(int s) const { return std::find(selected.begin(), selected.end(), s) != selected.end(); }
    bool reads(const Group& g) const {
        return std::any_of(g.members.begin(), g.members.end(), [&](int s) { return is_selected(s); });
    }
};

SinglePlan plan_single(const Header& h, const ReadOptions& o) {
    SinglePlan p;
    p.selected = selected_signals(h, o);
    p.groups = make_groups(h);
    const auto extent = record_extent(h, p.groups, o.to.value_or(std::numeric_limits<std::int64_t>::max()));
    p.from = o.from;
    p.to = std::min(o.to.value_or(extent.readable), extent.readable);
    if (o.from < 0 || (o.to && *o.to > extent.length) || o.from > p.to)
        throw WfdbError(h.name + ": bad sample range [" + std::to_string(o.from) + ", " +
                        std::to_string(o.to.value_or(p.to)) + ") for a record of " + std::to_string(extent.length) +
                        " samples");
    p.ticks_per_frame = o.high_resolution ? h.max_samples_per_frame() : 1;
    return p;
}

SignalData read_single(const Header& h, const ReadOptions& o) {
    const auto p = plan_single(h, o);
    SignalData d;
    d.from = p.from;
    d.fs = h.fs;
    d.ticks_per_frame = p.ticks_per_frame;
    d.rows = (p.to - p.from) * d.ticks_per_frame;
    auto is_selected = [&](int s) { return p.is_selected(s); };
    std::map<int, std::vector<std::int32_t>> rows;  // header signal -> its rows
    for (const auto& g : p.groups) {
        if (!p.reads(g)) continue;
        if (bulk_decodable(g, h, d.ticks_per_frame)) {
            rows.merge(read_bulk(g, p.from, p.to, is_selected));
            continue;
        }
        for (const auto& [s, stream] : read_group(g, h, p.from, p.to))
            if (is_selected(s)) rows[s] = to_rows(stream, p.to - p.from, d.ticks_per_frame, o.high_resolution);
    }
    for (auto k = p.selected.begin(); k != p.selected.end(); ++k) {
        d.signals.push_back(h.signals[static_cast<std::size_t>(*k)]);
        // A signal requested again later is copied; its last request takes the rows.
        auto& r = rows.at(*k);
        d.digital.push_back(std::find(k + 1, p.selected.end(), *k) != p.selected.end() ? r : std::move(r));
    }
    return d;
}

// Headers built by hand may disagree with themselves; parse_header never produces that.
void check_signal_count(const Header& header) {
    if (header.signals.size() != static_cast<std::size_t>(header.nsig))
        throw WfdbError(header.name + ": header lists " + std::to_string(header.signals.size()) + " signals, nsig is " +
                        std::to_string(header.nsig));
}

template <typename Matrix>
Matrix matrix_shape(const std::vector<SignalInfo>& signals, std::int64_t from, std::int64_t rows, int ticks_per_frame,
                    double fs, Layout layout) {
    Matrix m;
    m.signals = signals;
    m.from = from;
    m.rows = rows;
    m.ticks_per_frame = ticks_per_frame;
    m.fs = fs;
    m.layout = layout;
    detail::allocate(m.values, static_cast<std::size_t>(rows) * signals.size());
    return m;
}

// Matrix entries of column k: out[first + row * stride].
std::pair<std::size_t, std::size_t> column_place(Layout layout, std::size_t k, std::size_t columns, std::int64_t rows) {
    return layout == Layout::frames ? std::pair{k, columns} : std::pair{k * static_cast<std::size_t>(rows), std::size_t{1}};
}

// A single-segment read straight from the bytes of plain 16/212 files into a digital or physical
// matrix; nullopt when some file read needs the general decoder.
template <typename Matrix>
std::optional<Matrix> read_matrix_bulk(const Header& h, const ReadOptions& o, Layout layout) {
    // Decided before planning, which for FLAC files already decodes.
    const auto selected = selected_signals(h, o);
    for (const auto& g : make_groups(h))
        for (int s : g.members)
            if (std::find(selected.begin(), selected.end(), s) != selected.end() && !bulk_decodable(g, h, 1))
                return std::nullopt;
    const auto p = plan_single(h, o);
    std::vector<SignalInfo> signals;
    for (int s : p.selected) signals.push_back(h.signals[static_cast<std::size_t>(s)]);
    auto m = matrix_shape<Matrix>(signals, p.from, p.to - p.from, 1, h.fs, layout);
    for (const auto& g : p.groups) {
        std::vector<detail::MatrixColumn> columns;
        for (std::size_t k = 0; k < p.selected.size(); ++k) {
            const auto at = std::find(g.members.begin(), g.members.end(), p.selected[k]);
            if (at == g.members.end()) continue;
            const auto& sig = signals[k];
            columns.push_back({g.first[static_cast<std::size_t>(at - g.members.begin())],
                               column_place(layout, k, signals.size(), m.rows).first, sig.gain,
                               static_cast<double>(sig.baseline)});
        }
        if (columns.empty()) continue;
        const auto stride = column_place(layout, 0, signals.size(), m.rows).second;
        detail::read_plain_matrix(g.path, g.format, g.byte_offset, g.frame_samples, p.from, p.to, columns,
                                  m.values.data(), stride);
    }
    return m;
}

// read_signals' samples as a matrix: digital values copied, physical ones converted.
template <typename Matrix>
Matrix to_matrix(const SignalData& d, Layout layout) {
    auto m = matrix_shape<Matrix>(d.signals, d.from, d.rows, d.ticks_per_frame, d.fs, layout);
    using T = typename decltype(m.values)::value_type;
    for (std::size_t k = 0; k < d.signals.size(); ++k) {
        const auto [first, stride] = column_place(layout, k, d.signals.size(), d.rows);
        for (std::int64_t r = 0; r < d.rows; ++r) {
            auto& out = m.values[first + static_cast<std::size_t>(r) * stride];
            if constexpr (std::is_floating_point_v<T>)
                out = static_cast<T>(d.physical(k, r));
            else
                out = d.digital[k][static_cast<std::size_t>(r)];
        }
    }
    return m;
}

// The bulk path where the record allows it, else read_signals converted.
template <typename Matrix>
Matrix read_matrix(const Header& header, const ReadOptions& options, Layout layout) {
    if (!header.multi_segment() && !options.high_resolution && detail::bulk_decode_enabled()) {
        check_signal_count(header);
        if (auto m = read_matrix_bulk<Matrix>(header, options, layout)) return std::move(*m);
    }
    return to_matrix<Matrix>(read_signals(header, options), layout);
}

// Multi-segment records: the signals of the whole record (layout header, or first segment).
Header segment_header(const Header& h, const SegmentInfo& seg) {
    auto sh = read_header(h.directory / seg.name);
    if (sh.multi_segment())
        throw WfdbError(h.name + ": segment " + seg.name + " is itself multi-segment (not allowed)");
    return sh;
}

std::int32_t rescale(std::int32_t v, const SignalInfo& from, const SignalInfo& to) {
    if (v == kInvalidSample || (from.gain == to.gain && from.baseline == to.baseline)) return v;
    const double physical = (v - static_cast<double>(from.baseline)) / from.gain;
    return static_cast<std::int32_t>(std::lround(physical * to.gain + to.baseline));
}

// The signals of a multi-segment record: the layout header (variable layout, first segment of
// length 0) or the first segment with data (fixed layout).
Header multi_layout(const Header& h) {
    if (h.segments.empty()) throw WfdbError(h.name + ": multi-segment header without segments");
    for (const auto& seg : h.segments) {
        if (seg.name == "~") continue;
        auto layout = segment_header(h, seg);
        if (layout.signals.size() != static_cast<std::size_t>(h.nsig))
            throw WfdbError(h.name + ": layout " + seg.name + " has " + std::to_string(layout.signals.size()) +
                            " signals, the record " + std::to_string(h.nsig));
        return layout;
    }
    throw WfdbError(h.name + ": every segment is null");
}

// Index in `sh` of the record's k-th selected signal: by position (fixed layout) or by
// description (variable layout, where segments hold varying subsets); -1 when absent.
int segment_signal(const Header& sh, const SignalInfo& want, int layout_index, bool variable) {
    if (!variable) return layout_index < sh.nsig ? layout_index : -1;
    for (int s = 0; s < sh.nsig; ++s)
        if (sh.signals[static_cast<std::size_t>(s)].description == want.description) return s;
    return -1;
}

// Appends frames [a, b) (segment-relative) of one segment to d's columns; absent signals and
// null segments give invalid samples, other gains are rescaled to the layout's.
void append_segment(SignalData& d, const Header& h, const SegmentInfo& seg, std::int64_t a, std::int64_t b,
                    const std::vector<int>& selected, bool variable) {
    const auto rows = static_cast<std::size_t>((b - a) * d.ticks_per_frame);
    std::vector<int> found(selected.size(), -1);
    Header sh;
    if (seg.name != "~") {
        sh = segment_header(h, seg);
        for (std::size_t k = 0; k < selected.size(); ++k) found[k] = segment_signal(sh, d.signals[k], selected[k], variable);
    }
    ReadOptions so;
    so.from = a;
    so.to = b;
    so.high_resolution = d.ticks_per_frame > 1;
    for (int f : found)
        if (f >= 0) so.signals.push_back(f);
    const auto part = so.signals.empty() ? SignalData{} : read_single(sh, so);
    std::size_t next = 0;
    for (std::size_t k = 0; k < selected.size(); ++k) {
        auto& col = d.digital[k];
        const auto begin = col.size();
        if (found[k] >= 0) {
            const auto& src = part.digital[next];
            for (std::size_t i = 0; i < std::min(rows, src.size()); ++i)
                col.push_back(rescale(src[i], part.signals[next], d.signals[k]));
            ++next;
        }
        col.resize(begin + rows, kInvalidSample);
    }
}

SignalData read_multi(const Header& h, const ReadOptions& o) {
    const auto layout = multi_layout(h);
    const bool variable = h.segments.front().length == 0;
    std::int64_t total = 0;
    for (const auto& seg : h.segments) total += seg.length;
    const auto length = h.nsamp.value_or(total);
    const auto to = o.to.value_or(length);
    if (o.from < 0 || to > length || o.from > to)
        throw WfdbError(h.name + ": bad sample range [" + std::to_string(o.from) + ", " + std::to_string(to) +
                        ") for a record of " + std::to_string(length) + " samples");
    const auto selected = selected_signals(layout, o);
    SignalData d;
    d.from = o.from;
    d.fs = h.fs;
    d.ticks_per_frame = o.high_resolution ? layout.max_samples_per_frame() : 1;
    d.rows = (to - o.from) * d.ticks_per_frame;
    for (int s : selected) d.signals.push_back(layout.signals[static_cast<std::size_t>(s)]);
    d.digital.assign(selected.size(), {});
    std::int64_t start = 0;
    for (const auto& seg : h.segments) {
        const auto a = std::max(o.from, start), b = std::min(to, start + seg.length);
        if (a < b) append_segment(d, h, seg, a - start, b - start, selected, variable);
        start += seg.length;
    }
    return d;
}

void put16(std::string& out, std::int32_t v) {
    out.push_back(static_cast<char>(v & 0xff));
    out.push_back(static_cast<char>((v >> 8) & 0xff));
}

// Samples in file order (frame by frame). The format's lowest value is its invalid marker, so
// a valid sample must lie above it; anything outside is refused rather than silently clipped.
std::string encode(const std::vector<std::int32_t>& seq, int format) {
    std::string out;
    const std::int32_t lo = format == 16 ? -32768 : -2048, hi = format == 16 ? 32767 : 2047;
    auto clamp = [&](std::int32_t v) {
        if (v == kInvalidSample) return lo;
        if (v <= lo || v > hi)
            throw WfdbError("sample " + std::to_string(v) + " does not fit format " + std::to_string(format));
        return v;
    };
    if (format == 16) {
        for (auto v : seq) put16(out, clamp(v));
        return out;
    }
    for (std::size_t i = 0; i < seq.size(); i += 2) {
        const auto a = static_cast<std::uint32_t>(clamp(seq[i])) & 0xfff;
        const auto b = i + 1 < seq.size() ? static_cast<std::uint32_t>(clamp(seq[i + 1])) & 0xfff : 0u;
        out.push_back(static_cast<char>(a & 0xff));
        out.push_back(static_cast<char>(((a >> 8) & 0x0f) | ((b >> 4) & 0xf0)));
        if (i + 1 < seq.size()) out.push_back(static_cast<char>(b & 0xff));
    }
    return out;
}


}  // namespace

double SignalData::physical(std::size_t signal, std::int64_t row) const {
    const auto v = digital[signal][static_cast<std::size_t>(row)];
    if (v == kInvalidSample) return std::numeric_limits<double>::quiet_NaN();
    return (v - static_cast<double>(signals[signal].baseline)) / signals[signal].gain;
}

double SignalData::seconds(std::int64_t row) const {
    return (static_cast<double>(from) + static_cast<double>(row) / ticks_per_frame) / fs;
}

SignalData read_signals(const Header& header, const ReadOptions& options) {
    if (header.multi_segment()) return read_multi(header, options);
    check_signal_count(header);
    return read_single(header, options);
}

template <typename T>
PhysicalData<T> read_physical(const Header& header, const ReadOptions& options, Layout layout) {
    return read_matrix<PhysicalData<T>>(header, options, layout);
}

template <typename T>
PhysicalData<T> read_physical(const std::filesystem::path& record, const ReadOptions& options, Layout layout) {
    return read_physical<T>(read_header(record), options, layout);
}

template PhysicalData<float> read_physical<float>(const Header&, const ReadOptions&, Layout);
template PhysicalData<double> read_physical<double>(const Header&, const ReadOptions&, Layout);
template PhysicalData<float> read_physical<float>(const std::filesystem::path&, const ReadOptions&, Layout);
template PhysicalData<double> read_physical<double>(const std::filesystem::path&, const ReadOptions&, Layout);

SignalData read_signals(const std::filesystem::path& record, const ReadOptions& options) {
    return read_signals(read_header(record), options);
}

DigitalData read_digital(const Header& header, const ReadOptions& options, Layout layout) {
    return read_matrix<DigitalData>(header, options, layout);
}

DigitalData read_digital(const std::filesystem::path& record, const ReadOptions& options, Layout layout) {
    return read_digital(read_header(record), options, layout);
}

void write_record(const std::filesystem::path& record, Header h, const std::vector<std::vector<std::int32_t>>& samples,
                  int format) {
    if (format != 16 && format != 212) throw WfdbError("writer supports formats 16 and 212, not " + std::to_string(format));
    if (samples.size() != h.signals.size()) throw WfdbError("write_record: sample columns do not match signals");
    const std::size_t n = samples.empty() ? 0 : samples[0].size();
    for (const auto& col : samples)
        if (col.size() != n) throw WfdbError("write_record: signals differ in length");
    const auto dat_name = record.filename().string() + ".dat";
    std::vector<std::int32_t> seq;
    seq.reserve(n * samples.size());
    for (std::size_t i = 0; i < n; ++i)
        for (const auto& col : samples) seq.push_back(col[i]);
    h.name = record.filename().string();
    h.nsegments = 0;
    h.segments.clear();
    h.nsig = static_cast<int>(h.signals.size());
    h.nsamp = static_cast<std::int64_t>(n);
    for (std::size_t s = 0; s < h.signals.size(); ++s) {
        auto& sig = h.signals[s];
        sig.file_name = dat_name;
        sig.format = format;
        sig.samples_per_frame = 1;
        sig.skew = 0;
        sig.byte_offset = 0;
        sig.adc_resolution = format == 16 ? 16 : 12;
        std::int32_t sum = 0;
        for (auto v : samples[s]) sum = static_cast<std::int16_t>(sum + (v == kInvalidSample ? (format == 16 ? -32768 : -2048) : v));
        sig.checksum = sum;
        sig.initial_value = n > 0 && samples[s][0] != kInvalidSample ? samples[s][0] : sig.adc_zero;
    }
    auto write_file = [](const std::filesystem::path& path, const std::string& bytes) {
        std::ofstream out(path, std::ios::binary);
        out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        if (!out) throw WfdbError("cannot write " + path.string());
    };
    write_file(record.parent_path() / dat_name, encode(seq, format));
    auto hea = record;
    hea += ".hea";
    write_file(hea, format_header(h));
}

}  // namespace ecgbench::wfdb
