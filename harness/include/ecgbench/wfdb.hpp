// WFDB (PhysioNet) record access: header parsing, signal decoding (incl. FLAC) and writing (16/212),
// and MIT-format annotation files. Plain std types only, so plugins can use it without LibTorch.
#pragma once

#include <cstdint>
#include <filesystem>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace ecgbench::wfdb {

/// Any malformed or unreadable WFDB input. The message names the file (and line or sample).
class WfdbError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Digital value returned for an invalid sample, whatever the storage format's own marker is
/// (-2048 in 212, -32768 in 16, -128 in 80, ...). Physical reads give NaN instead.
inline constexpr std::int32_t kInvalidSample = std::numeric_limits<std::int32_t>::min();

/// One signal line of a header (or of a multi-segment layout header).
struct SignalInfo {
    std::string file_name;          ///< "~" in layout headers
    int format = 0;                 ///< storage format (0 = no data, layout headers)
    int samples_per_frame = 1;      ///< the `xN` suffix
    int skew = 0;                   ///< the `:N` suffix
    std::int64_t byte_offset = 0;   ///< the `+N` suffix
    double gain = 200.0;            ///< ADC units per physical unit (WFDB default 200)
    bool gain_given = false;        ///< false: the header omitted it or wrote 0 (the default applies)
    std::int32_t baseline = 0;      ///< `(b)` after the gain; ADC zero when absent
    std::string units = "mV";
    int adc_resolution = 0;         ///< bits; 0 = unspecified
    std::int32_t adc_zero = 0;
    std::int32_t initial_value = 0; ///< defaults to adc_zero
    std::optional<std::int32_t> checksum;
    int block_size = 0;
    std::string description;
};

/// One segment of a multi-segment header; name "~" is a null segment (no data, invalid samples).
struct SegmentInfo {
    std::string name;
    std::int64_t length = 0;
};

struct Header {
    std::string name;                   ///< record name from the record line
    std::filesystem::path directory;    ///< where the .hea was found (signal files are relative to it)
    int nsegments = 0;                  ///< 0 = single-segment record
    int nsig = 0;
    double fs = 250.0;                  ///< frame rate (WFDB default 250)
    bool fs_given = false;
    double counter_freq = 0.0;          ///< 0 = same as fs
    double base_counter = 0.0;
    std::optional<std::int64_t> nsamp;  ///< frames; absent when the header omits it
    std::string base_time;              ///< as written, e.g. "17:27:45" ("" = none)
    std::string base_date;              ///< as written, e.g. "15/08/1994"
    std::vector<SignalInfo> signals;
    std::vector<SegmentInfo> segments;
    std::vector<std::string> comments;  ///< text after '#', in order
    std::size_t leading_comments = 0;   ///< how many comments precede the record line (not "notes")

    bool multi_segment() const { return nsegments > 0; }
    int max_samples_per_frame() const;
};

/// Parses header text; `source` names the file in error messages ("100.hea:3: ...").
Header parse_header(std::string_view text, const std::string& source);
/// Reads RECORD.hea (RECORD is a path without extension).
Header read_header(const std::filesystem::path& record);
/// Header text in WFDB layout (used by the writer; round-trips through parse_header).
std::string format_header(const Header& header);

struct ReadOptions {
    std::int64_t from = 0;               ///< first frame
    std::optional<std::int64_t> to;      ///< one past the last frame (default: record end)
    std::vector<int> signals;            ///< indices into the header's signals; empty = all, in order
    bool high_resolution = false;        ///< every sample of multi-sample signals (rdsamp -H)
};

/// Samples of the selected signals. Rows are frames (or, high-resolution, frame × max spf).
struct SignalData {
    std::vector<SignalInfo> signals;     ///< the selected signals' header lines
    std::int64_t from = 0;               ///< first frame read
    std::int64_t rows = 0;
    int ticks_per_frame = 1;             ///< rows per frame (max spf when high-resolution, else 1)
    double fs = 250.0;                   ///< frame rate
    std::vector<std::vector<std::int32_t>> digital;  ///< [signal][row]; kInvalidSample = invalid

    /// (d - baseline) / gain, NaN for invalid samples.
    double physical(std::size_t signal, std::int64_t row) const;
    /// Row's first sample time in seconds from the record start.
    double seconds(std::int64_t row) const;
};

/// Reads a record's samples (formats 8, 16, 24, 32, 61, 80, 160, 212, 310, 311 and FLAC 508,
/// 516, 524). Throws WfdbError on missing, truncated or corrupt files and bad ranges.
SignalData read_signals(const std::filesystem::path& record, const ReadOptions& options = {});
SignalData read_signals(const Header& header, const ReadOptions& options = {});

/// Memory order of a sample matrix (read_physical, read_digital).
enum class Layout {
    frames,   ///< row-major, row × signal: (row, signal) at row * signals + signal
    signals,  ///< signal × row: (row, signal) at signal * rows + row (one contiguous run per signal)
};

/// The selected signals as one matrix of T, `values[row * signals + signal]` (Layout::frames) or
/// `values[signal * rows + row]` (Layout::signals): one allocation, so reading record after record
/// reuses the memory instead of faulting fresh columns in (see docs/benchmarks.md).
template <typename T>
struct SampleMatrix {
    std::vector<SignalInfo> signals;     ///< the selected signals' header lines
    std::int64_t from = 0;               ///< first frame read
    std::int64_t rows = 0;
    int ticks_per_frame = 1;             ///< as in SignalData
    double fs = 250.0;                   ///< frame rate
    Layout layout = Layout::frames;
    std::vector<T> values;               ///< rows × signals.size(), in `layout` order

    T at(std::int64_t row, std::size_t signal) const {
        const auto r = static_cast<std::size_t>(row);
        return values[layout == Layout::frames ? r * signals.size() + signal
                                               : signal * static_cast<std::size_t>(rows) + r];
    }
};

/// Physical units (float or double); NaN = invalid.
template <typename T>
struct PhysicalData : SampleMatrix<T> {};

/// Digital samples as stored (ADC units); kInvalidSample = invalid.
struct DigitalData : SampleMatrix<std::int32_t> {};

/// What read_signals reads, in physical units in one pass: (d - baseline) / gain per signal,
/// computed in double as SignalData::physical does and then stored as T (so equal to
/// static_cast<T>(physical(signal, row))), NaN for invalid samples. Plain format 16/212 files
/// (one sample per frame, no skew, low resolution) go from their bytes straight into the matrix;
/// other records are converted from read_signals' digital samples. Same errors as read_signals.
template <typename T = float>
PhysicalData<T> read_physical(const Header& header, const ReadOptions& options = {}, Layout layout = Layout::frames);
template <typename T = float>
PhysicalData<T> read_physical(const std::filesystem::path& record, const ReadOptions& options = {},
                              Layout layout = Layout::frames);
extern template PhysicalData<float> read_physical<float>(const Header&, const ReadOptions&, Layout);
extern template PhysicalData<double> read_physical<double>(const Header&, const ReadOptions&, Layout);
extern template PhysicalData<float> read_physical<float>(const std::filesystem::path&, const ReadOptions&, Layout);
extern template PhysicalData<double> read_physical<double>(const std::filesystem::path&, const ReadOptions&, Layout);

/// What read_signals reads, as one matrix instead of one column per signal: the same samples
/// (kInvalidSample for invalid ones). Plain format 16/212 files go from their bytes straight into
/// the matrix; other records are copied from read_signals. Same errors as read_signals.
DigitalData read_digital(const Header& header, const ReadOptions& options = {}, Layout layout = Layout::frames);
DigitalData read_digital(const std::filesystem::path& record, const ReadOptions& options = {},
                         Layout layout = Layout::frames);

/// Writes RECORD.hea and RECORD.dat (one file, all signals interleaved) in format 16 or 212.
/// `samples` is [signal][frame]; kInvalidSample is stored as the format's invalid marker.
/// Checksums and initial values in `header` are recomputed; `header.signals` gives gain etc.
void write_record(const std::filesystem::path& record, Header header,
                  const std::vector<std::vector<std::int32_t>>& samples, int format);

/// One MIT-format annotation.
struct Annotation {
    std::int64_t sample = 0;
    int type = 1;        ///< annotation code (1 = N); see annotation_symbol
    int subtype = 0;     ///< signed 8-bit
    int chan = 0;        ///< 0..255
    int num = 0;         ///< signed 8-bit
    std::string aux;     ///< raw bytes (may contain NUL)
    std::string symbol;  ///< mnemonic: the file's own label definitions, else the standard table
};

/// Standard mnemonic of an annotation code ("N", "V", "+", ...); codes without one give "[code]"
/// as WFDB prints them.
std::string annotation_symbol(int type);
/// Inverse of annotation_symbol; nullopt for unknown mnemonics.
std::optional<int> annotation_code(std::string_view symbol);

/// Reads an MIT-format annotation file, hiding what rdann hides: a leading
/// "## time resolution: R" note (R is stored in `*time_resolution`, else 0 = the record's
/// frequency; `sample` is then in ticks of 1/R s), and a leading block of time-0 NOTE
/// annotations that define labels ("code mnemonic description", applied to `symbol`) or are
/// comments. Type-0 words only advance the time, as in WFDB.
std::vector<Annotation> read_annotations(const std::filesystem::path& file, double* time_resolution = nullptr);
std::vector<Annotation> parse_annotations(std::string_view bytes, const std::string& source,
                                          double* time_resolution = nullptr);
/// MIT-format bytes; annotations must be in non-decreasing sample order.
std::string encode_annotations(const std::vector<Annotation>& annotations);
void write_annotations(const std::filesystem::path& file, const std::vector<Annotation>& annotations);

}  // namespace ecgbench::wfdb
