// Reading a dataset's records a split at a time, straight from their WFDB files: what the WFDB-based
// dataset plugins (ptbxl, physionet2021, ludb, mimic_iv_ecg, af_holter, wfdb_folder) serve load()
// and stream() with. Headers and metadata are scanned up front (PendingRecord); samples are decoded
// only when a split is asked for, a chunk at a time (records of a chunk in parallel on ATen's
// intra-op threads, output identical for any thread count), so a split never has to fit in memory
// when the runner streams it into the shard cache. Only the leads asked for are decoded, so a
// record is dropped for invalid samples only when they lie in one of those leads.
#pragma once

#include "common/leads_io.hpp"
#include "common/record_table.hpp"
#include "ecgbench/dsp.hpp"
#include "ecgbench/dataset.hpp"
#include "ecgbench/wfdb.hpp"

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace ecgbench::datasets {

/// One record to read: where its frames are and what goes with it.
struct PendingRecord {
    std::string id;
    wfdb::Header header;
    LeadMap map;
    std::int64_t from = 0;             ///< first frame
    Split split = Split::Train;
    std::int64_t subject = 0;
    std::vector<float> labels;
    std::vector<float> covariates;
    std::string text;
};

/// What every record of a dataset looks like once read.
struct RecordLayout {
    std::vector<std::string> leads;       ///< the dataset's canonical leads (DatasetInfo::leads)
    std::int64_t samples = 0;             ///< frames per record
    std::size_t classes = 0;              ///< label columns
    std::vector<std::string> covariates;  ///< covariate names (float each, NaN = missing)
    bool texts = false;                   ///< whether records carry a free-text report
    /// Rate of the records served. 0: every record is at the dataset's rate already. Otherwise a
    /// record at another rate (header_problem with `resample` let it through) is resampled per
    /// lead with the polyphase Kaiser FIR of the `resample` pipeline step (dsp::resample_poly).
    double sampling_rate = 0;
};

/// How records at one rate are brought to the layout's rate.
struct Resampler {
    dsp::Ratio ratio;
    std::vector<double> filter;
    std::int64_t frames = 0;  ///< frames read: those covering the record plus the filter's reach
};

class RecordReader {
public:
    RecordReader(const RecordReader&) = delete;
    RecordReader& operator=(const RecordReader&) = delete;
    /// `records` in the order splits list them; `dropped` receives records that turn out unreadable
    /// or hold invalid samples; `on_all_read` runs once, after every split has been read in full.
    RecordReader(RecordLayout layout, std::vector<PendingRecord> records, DropLog* dropped,
                 std::function<void()> on_all_read = {});

    /// Dataset::stream: the readable records of `split` with exactly `wanted` leads (an unknown
    /// name throws std::invalid_argument naming it, before anything is read), in chunks of at most
    /// `chunk_records` records. Chunks where every record was dropped are skipped.
    void stream(Split split, const std::vector<std::string>& wanted, std::int64_t chunk_records,
                const SplitSink& sink) const;
    /// Dataset::load: the whole split in one EcgSplit.
    EcgSplit load(Split split, const std::vector<std::string>& wanted) const;

    /// Records listed for `split` (before read failures).
    std::int64_t listed(Split split) const { return static_cast<std::int64_t>(rows_[static_cast<std::size_t>(split)].size()); }
    /// Whether every split has been read in full at least once (the drop log is then complete).
    bool all_read() const;

private:
    EcgSplit read_chunk(const std::vector<std::size_t>& rows, const std::vector<std::string>& wanted) const;
    /// Reads record `rec` with `wanted` leads into `out` ([leads x samples]) and `present`,
    /// resampling when its rate differs; "" or a drop reason.
    std::string read_record(const PendingRecord& rec, const std::vector<std::string>& wanted, float* out,
                            unsigned char* present) const;

    RecordLayout layout_;
    std::vector<PendingRecord> records_;
    std::array<std::vector<std::size_t>, 3> rows_;
    std::map<double, Resampler> resamplers_;  ///< per record rate other than layout_.sampling_rate
    DropLog* dropped_ = nullptr;
    std::function<void()> on_all_read_;
    mutable std::array<std::atomic<bool>, 3> read_{};
    mutable std::atomic<bool> announced_{false};
};

}  // namespace ecgbench::datasets
