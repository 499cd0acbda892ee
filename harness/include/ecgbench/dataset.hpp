// Dataset plugin interface: a dataset yields patient-disjoint train/val/test splits of fixed-length
// multi-lead records, with leads addressed by canonical name.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace ecgbench {

/// The three splits every dataset provides (patient-disjoint).
enum class Split { Train, Val, Test };
const char* to_string(Split split);

/// What a dataset is; everything here is recorded with every result that uses it.
struct DatasetInfo {
    std::string name;                   ///< identity of the data source, e.g. "synthetic", "ptbxl"
    std::string version;                ///< data/generator version
    std::string fingerprint;            ///< hash of everything that determines the records (cheap to compute)
    double sampling_rate_hz = 0;        ///< after the dataset's own preprocessing
    std::int64_t samples = 0;           ///< samples per record
    std::vector<std::string> leads;     ///< canonical names of the leads it can provide
    std::vector<std::string> classes;   ///< label names, column order of EcgSplit::labels
    std::string preprocessing;          ///< human-readable preprocessing and normalisation applied
    std::string split_rule;             ///< how train/val/test were formed
    // What the splits carry, declared up front so `plan` can refuse a method or task that needs
    // something the dataset lacks (see PluginManifest::needs).
    std::vector<std::string> covariates;  ///< names of EcgSplit::covariates (ages, risk scores, regression targets…)
    bool has_texts = false;               ///< EcgSplit::texts holds a report per record
    std::map<std::string, std::string> class_descriptions;  ///< class name -> human description (zero-shot prompts)
};

/// One split, in memory. Signals are float32 [N, leads, samples] in the order the caller asked for.
struct EcgSplit {
    at::Tensor signals;        ///< float32 [N, L, T], mV or standardised (see DatasetInfo::preprocessing)
    at::Tensor lead_present;   ///< bool [N, L]; false marks a lead missing in that record (its column is 0)
    at::Tensor labels;         ///< float32 [N, C] multi-hot; C may be 0 for unlabeled corpora
    at::Tensor subjects;       ///< int64 [N] subject (patient) index, for patient-level methods
    std::vector<std::string> record_ids;          ///< one per record
    std::vector<std::string> texts;               ///< free-text report per record ("" = none); empty if the dataset has no text
    std::map<std::string, at::Tensor> covariates; ///< float32 [N] each (age, sex, risk…); NaN = missing
    at::Tensor source_records; ///< int64 [N] after a window/beats step: rows with equal values were cut from one record; undefined = every row is its own record
    std::int64_t size() const { return signals.defined() ? signals.size(0) : 0; }
};

/// A record a dataset left out, and why (no label, unreadable, invalid samples, too short…).
struct DroppedRecord {
    std::string record;
    std::string reason;
};

/// Receives consecutive chunks of a split (see Dataset::stream).
using SplitSink = std::function<void(EcgSplit&& chunk)>;

/// A dataset plugin instance. load() may be slow (generation, reading files); info() must be cheap.
class Dataset {
public:
    virtual ~Dataset();
    /// Identity, format and label space.
    virtual DatasetInfo info() const = 0;
    /// Records of `split` with exactly `leads` (canonical names, in that order). A lead the dataset
    /// does not have at all is an error (std::invalid_argument naming it).
    virtual EcgSplit load(Split split, const std::vector<std::string>& leads) = 0;
    /// The records load() returns, in the same order, handed to `sink` in consecutive chunks of at
    /// most `chunk_records` records each (every EcgSplit field filled per chunk), so that a split
    /// larger than memory can be preprocessed and cached with bounded memory. The default cuts
    /// load() into such chunks; plugins whose splits can be large read or generate per chunk.
    virtual void stream(Split split, const std::vector<std::string>& leads, std::int64_t chunk_records,
                        const SplitSink& sink);
    /// Records left out so far (complete once every split has been loaded). The runner stores
    /// them with the dataset's fingerprint, so no record is ever dropped silently.
    virtual std::vector<DroppedRecord> dropped_records() const { return {}; }
};

/// Rows `index` (int64 [K]) of a split, every field included.
EcgSplit subset(const EcgSplit& split, const at::Tensor& index);

/// The records of `parts` one after another (fields must agree: leads, samples, classes,
/// covariate names, texts present or not; std::invalid_argument otherwise). Empty input gives
/// an empty split.
EcgSplit concatenate(const std::vector<EcgSplit>& parts);

/// Collects a Dataset::stream into one split: what load() returns for plugins that stream.
EcgSplit collect(Dataset& dataset, Split split, const std::vector<std::string>& leads, std::int64_t chunk_records);

}  // namespace ecgbench
