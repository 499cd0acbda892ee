// `af_holter`: atrial-fibrillation detection on long records with rhythm annotations, in the style
// of CPSC 2021 (Wang et al. 2021), the MIT-BIH Atrial Fibrillation Database and SHDB-AF: every
// record is cut into fixed windows, each labelled AF when enough of it lies in an AF episode.
//
// What it follows
//  * Episodes come from the rhythm annotations (`+` with aux "(AFIB", "(N", ...) of `annotator`: the
//    rhythm in force at a sample is the aux of the last `+` at or before it; `af_rhythms` (default
//    "(AFIB", "(AFL") count as AF. Before the first rhythm annotation the rhythm is taken as non-AF
//    (CPSC 2021's non-AF records have no `+` at all). CPSC 2021 ends an episode with "(N" at its last
//    sample, which this reading agrees with up to that one sample.
//  * Windows of `window_s` every `stride_s` from the record start, only whole windows; class AF when
//    the AF fraction is >= `min_af_fraction`; the exact fraction is the covariate `af_fraction`, the
//    window start (s) is `start_s`.
//  * Streaming: info() reads headers and annotations only; load() decodes each window's sample range
//    with the WFDB reader (no whole-day loads), so memory holds the windows, not the records.
//  * Subjects: the record name, or with `subject_separator` the part before its last occurrence
//    (CPSC 2021 "data_101_6" → "data_101" with "_"), so the hashed split is patient-disjoint.
// What it simplifies
//  * No resampling (records at another rate are dropped), no filtering, mV.
//  * Leads by signal description through canonical_lead_name; the shared lead mapping params
//    (`lead_alias = ["ECG1=I"]`, `default_lead`: common/leads_io.hpp) name the unlabelled AFDB-style
//    signals; `lead_aliases`, this plugin's older name for `lead_alias`, still works (merged). A
//    record with no usable lead, or with two signals mapped to one lead, is dropped.
//  * Dropped (listed): unreadable headers or annotation files, wrong rate, records shorter than one
//    window or without a sample count, and single windows ("<record>:<start sample>") with invalid
//    samples or unreadable data.
//  * Fingerprint: version, params, per record its header text, signal file sizes and annotation bytes.
#include "common/leads_io.hpp"
#include "common/record_reader.hpp"
#include "common/splits.hpp"
#include "common/text.hpp"
#include "ecgbench/dataset.hpp"
#include "ecgbench/fingerprint.hpp"
#include "ecgbench/leads.hpp"
#include "ecgbench/params.hpp"
#include "ecgbench/plugin.hpp"
#include "ecgbench/wfdb.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace {

namespace fs = std::filesystem;
namespace wfdb = ecgbench::wfdb;
namespace common = ecgbench::datasets;
using common::format_number;
using ecgbench::DatasetInfo;
using ecgbench::EcgSplit;
using ecgbench::Params;
using ecgbench::ParamSpec;
using ecgbench::ParamType;
using ecgbench::Split;

constexpr const char* kVersion = "2";  // 2: two signals aliased to one lead drop the record (was: first used)

const std::vector<ParamSpec>& schema() {
    static const std::vector<ParamSpec> specs = common::with_lead_mapping_params({
        {"path", ParamType::String, std::string{}, "folder of records with rhythm annotations (required; recursive)", {}, {}, {}},
        {"annotator", ParamType::String, std::string("atr"), "annotation file extension holding the `+` rhythm annotations", {}, {}, {}},
        {"sampling_rate", ParamType::Float, 200.0, "records at another rate are dropped (no resampling yet)", 1.0, 1.0e5, {}},
        {"window_s", ParamType::Float, 10.0, "window length in seconds", 0.1, 3600.0, {}},
        {"stride_s", ParamType::Float, 10.0, "distance between window starts in seconds", 0.1, 3600.0, {}},
        {"min_af_fraction", ParamType::Float, 0.5, "a window is AF when at least this fraction of it is in AF", 0.0, 1.0, {}},
        {"af_rhythms", ParamType::StringList, std::vector<std::string>{"(AFIB", "(AFL"}, "rhythm aux texts that count as AF", {}, {}, {}},
        {"lead_aliases", ParamType::StringList, std::vector<std::string>{},
         "older name of lead_alias (same SIGNAL=LEAD entries, merged with it); prefer lead_alias", {}, {}, {}},
        {"subject_separator", ParamType::String, std::string{},
         "subject = record name before the last occurrence of this text (\"\" = the record)", {}, {}, {}},
        {"val_fraction", ParamType::Float, 0.15, "fraction of subjects in the validation split", 0.0, 0.9, {}},
        {"test_fraction", ParamType::Float, 0.15, "fraction of subjects in the test split", 0.0, 0.9, {}},
        {"seed", ParamType::Int, std::int64_t{0}, "seed of the split hash", 0.0, 9.0e15, {}},
    });
    return specs;
}

/// AF intervals [begin, end) in samples from the `+` annotations.
std::vector<std::pair<std::int64_t, std::int64_t>> af_episodes(const std::vector<wfdb::Annotation>& annotations,
                                                               const std::set<std::string>& af, std::int64_t length) {
    std::vector<std::pair<std::int64_t, std::int64_t>> episodes;
    std::int64_t start = -1;
    for (const auto& a : annotations) {
        if (a.symbol != "+") continue;
        const std::string aux = common::trim(a.aux.substr(0, a.aux.find('\0')));
        const bool is_af = af.count(aux) > 0;
        if (is_af && start < 0) start = a.sample;
        if (!is_af && start >= 0) {
            episodes.emplace_back(start, a.sample);
            start = -1;
        }
    }
    if (start >= 0) episodes.emplace_back(start, length);
    return episodes;
}

class AfHolter final : public ecgbench::Dataset {
public:
    explicit AfHolter(const Params& p)
        : path_(p.get_string("path")),
          annotator_(p.get_string("annotator")),
          rate_(p.get_float("sampling_rate")),
          min_af_(p.get_float("min_af_fraction")),
          separator_(p.get_string("subject_separator")),
          val_fraction_(p.get_float("val_fraction")),
          test_fraction_(p.get_float("test_fraction")),
          mapping_(common::LeadMapping::from_params(p, "af_holter")) {
        if (path_.empty()) throw std::invalid_argument("af_holter: parameter `path` is required but is empty");
        std::error_code ec;
        if (!fs::is_directory(path_, ec)) throw std::invalid_argument("af_holter: `path` '" + path_ + "' is not a folder");
        if (val_fraction_ + test_fraction_ >= 1.0) throw std::invalid_argument("af_holter: val_fraction + test_fraction must be below 1");
        window_ = std::llround(p.get_float("window_s") * rate_);
        stride_ = std::llround(p.get_float("stride_s") * rate_);
        if (window_ < 1 || stride_ < 1) throw std::invalid_argument("af_holter: window_s and stride_s must give at least one sample");
        for (const auto& r : p.get_strings("af_rhythms")) af_.insert(r);
        scan(p, static_cast<std::uint64_t>(p.get_int("seed")));
        make_reader();
    }

    DatasetInfo info() const override {
        DatasetInfo info;
        info.name = "af_holter";
        info.version = kVersion;
        info.fingerprint = fingerprint_;
        info.sampling_rate_hz = rate_;
        info.samples = window_;
        info.leads = leads_;
        info.classes = {"AF"};
        info.preprocessing = std::to_string(window_) + "-sample windows every " + std::to_string(stride_) + " samples at " +
                             format_number(rate_) + " Hz, mV, no filtering; AF when >= " + format_number(min_af_) +
                             " of the window is in an AF episode of the `" + annotator_ +
                             "` rhythm annotations; covariates af_fraction, start_s; " +
                             mapping_.note() + dropped_.summary() +
                             (reader_->all_read() ? "" : " (not every split read yet)");
        info.split_rule = common::hashed_split_rule(separator_.empty() ? "records" : "subjects (record name before the last '" + separator_ + "')",
                                                    val_fraction_, test_fraction_);
        info.covariates = {"af_fraction", "start_s"};
        return info;
    }

    EcgSplit load(Split split, const std::vector<std::string>& wanted) override { return reader_->load(split, wanted); }
    void stream(Split split, const std::vector<std::string>& wanted, std::int64_t chunk_records,
                const ecgbench::SplitSink& sink) override {
        reader_->stream(split, wanted, chunk_records, sink);
    }

    std::vector<ecgbench::DroppedRecord> dropped_records() const override { return dropped_.list(); }

private:
    /// Hands the scanned records to the reader (called once, after scan()).
    void make_reader() {
        reader_ = std::make_unique<common::RecordReader>(
            common::RecordLayout{leads_, window_, 1, std::vector<std::string>{"af_fraction", "start_s"}, false}, std::move(pending_), &dropped_,
            [this] { dropped_.print("af_holter", "'" + path_ + "'"); });
        pending_ = {};
    }

    void scan(const Params& p, std::uint64_t seed) {
        ecgbench::Fingerprint h;
        h.add(std::string("af_holter/") + kVersion + "|").add_params(schema(), p);
        std::vector<std::pair<std::string, fs::path>> found;  // relative name → path without extension
        for (const auto& entry : fs::recursive_directory_iterator(path_, fs::directory_options::skip_permission_denied)) {
            if (!entry.is_regular_file() || entry.path().extension() != "." + annotator_) continue;
            fs::path record = entry.path();
            record.replace_extension();
            fs::path rel = fs::relative(record, path_);
            found.emplace_back(rel.generic_string(), record);
        }
        std::sort(found.begin(), found.end());

        std::set<std::string> lead_set, subjects;
        std::map<std::string, std::string> subject_of;
        for (const auto& [name, record] : found) {
            std::string problem;
            auto header = common::read_header_fingerprinted(record, name, h, problem);
            if (!header) {
                dropped_.add(name, problem);
                continue;
            }
            if (problem = common::header_problem(*header, rate_, window_); !problem.empty()) {
                dropped_.add(name, problem);
                continue;
            }
            if (!header->nsamp) {
                dropped_.add(name, "no sample count in the header");
                continue;
            }
            const auto map = common::map_leads(*header, mapping_);
            if (!map.problem.empty()) {
                dropped_.add(name, map.problem);
                continue;
            }
            std::vector<wfdb::Annotation> annotations;
            const fs::path ann = fs::path(record).concat("." + annotator_);
            try {
                h.add("ann|" + common::read_text(ann, "af_holter") + "|");
                annotations = wfdb::read_annotations(ann);
            } catch (const std::exception& e) {
                dropped_.add(name, std::string("unreadable annotations: ") + e.what());
                continue;
            }
            const std::int64_t n = *header->nsamp;
            const auto episodes = af_episodes(annotations, af_, n);
            std::string subject = name;
            if (!separator_.empty()) {
                const auto cut = name.rfind(separator_);
                if (cut != std::string::npos && cut > 0) subject = name.substr(0, cut);
            }
            subjects.insert(subject);
            for (std::int64_t start = 0; start + window_ <= n; start += stride_) {
                std::int64_t in_af = 0;
                for (const auto& [b, e] : episodes) in_af += std::max<std::int64_t>(0, std::min(e, start + window_) - std::max(b, start));
                const double fraction = static_cast<double>(in_af) / static_cast<double>(window_);
                common::PendingRecord w;
                w.id = name + ":" + std::to_string(start);
                w.header = *header;
                w.map = map;
                w.from = start;
                w.labels = {fraction >= min_af_ ? 1.0f : 0.0f};
                w.covariates = {static_cast<float>(fraction), static_cast<float>(static_cast<double>(start) / rate_)};
                subject_of[w.id] = subject;
                pending_.push_back(std::move(w));
            }
            for (const auto& l : map.leads) lead_set.insert(l.first);
        }
        fingerprint_ = h.hex();
        if (pending_.empty()) {
            throw std::runtime_error("af_holter: no usable records with ." + annotator_ + " annotations in '" + path_ + "' (" +
                                     dropped_.summary() + ")");
        }
        for (const auto& lead : ecgbench::standard_12_leads())
            if (lead_set.count(lead)) leads_.push_back(lead);
        const auto split_of = common::hashed_subject_splits(subjects, val_fraction_, test_fraction_, seed);
        std::map<std::string, std::int64_t> index;
        for (const auto& s : subjects) index.emplace(s, static_cast<std::int64_t>(index.size()));
        for (auto& w : pending_) {
            const auto& s = subject_of.at(w.id);
            w.split = split_of.at(s);
            w.subject = index.at(s);
        }
    }

    std::string path_, annotator_;
    double rate_, min_af_;
    std::string separator_;
    double val_fraction_, test_fraction_;
    std::int64_t window_ = 0, stride_ = 0;
    common::LeadMapping mapping_;
    std::set<std::string> af_;
    std::vector<std::string> leads_;
    std::string fingerprint_;
    std::vector<common::PendingRecord> pending_;

    common::DropLog dropped_;
    std::unique_ptr<common::RecordReader> reader_;
};

ecgbench::PluginDescriptor describe() {
    ecgbench::PluginDescriptor d;
    d.manifest = {"af_holter", ecgbench::PluginKind::Dataset, "1.1.0",
                  "AF windows from long records with rhythm annotations (CPSC 2021 / AFDB / SHDB-AF style), streamed "
                  "window by window; AF fraction covariate; hashed subject splits",
                  schema()};
    d.make_dataset = [](const Params& p) { return std::make_unique<AfHolter>(p); };
    return d;
}

}  // namespace

ECGBENCH_PLUGIN(describe)
