// `physionet2021`: the PhysioNet/Computing in Cardiology Challenge 2020/2021 training data ("Will
// Two Do?", Reyna et al. 2021): 12-lead records from several databases, WFDB headers with MATLAB v4
// `.mat` signal files, SNOMED-CT diagnoses in `# Dx:` header comments.
//
// What it follows
//  * Layout: `path` is searched recursively for `.hea` files, so both the official layout (one
//    folder per source, g1/g2/... subfolders) and a flat folder work.
//  * Labels (default `label_space = "scored"`): the Challenge 2021 scored classes, named and ordered
//    as the columns of its weights.csv, with the four equivalent pairs merged into one class each
//    (713427006|59118001, 284470004|63593006, 427172004|17338001, 733534002|164909002). `"all"`: one
//    class per code seen in the selected records (pairs merged the same way), sorted.
//  * Sources: recognised by record-name prefix (A cpsc2018, Q cpsc2018_extra, I incart, S ptb,
//    HR ptbxl, E georgia, JS chapman_ningbo); `sources` selects some, so a held-out dataset is a
//    held-out source. Records of other sources are not part of the instance (counted, not listed as
//    dropped); a record with an unknown prefix is dropped.
//  * Header quirks tolerated (challenge_header.hpp): trailing commas and duplicates in Dx, NaN or
//    missing age, missing sex, lower-case units.
// What it simplifies
//  * Records at another rate than `sampling_rate` (INCART 257 Hz, PTB 1000 Hz at the default 500)
//    are resampled per lead with the polyphase Kaiser FIR of the `resample` pipeline step
//    (`resample = false` drops and lists them instead); records longer than `duration_s` are cut
//    to their start.
//  * No patient ids exist in these headers, so the patient-disjoint hashed split treats each record
//    as its own subject (PTB and INCART patients with several records can straddle splits).
//  * Records whose codes include no class of the label space are dropped unless `keep_unlabeled`.
//  * Signals whose description is not a standard lead name can be named with the lead mapping params
//    every WFDB-based plugin shares (`lead_alias`, `default_lead`: common/leads_io.hpp; none by default).
//  * Fingerprint: version, params, and per selected record its header text and signal file sizes.
#include "challenge_header.hpp"
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

constexpr const char* kVersion = "1";

const std::vector<ParamSpec>& schema() {
    static const std::vector<ParamSpec> specs = common::with_lead_mapping_params({
        {"path", ParamType::String, std::string{}, "folder of Challenge records (required; searched recursively)", {}, {}, {}},
        {"label_space", ParamType::String, std::string("scored"),
         "scored: the 26 Challenge 2021 scored classes; all: every code seen (equivalent pairs merged)", {}, {},
         {"scored", "all"}},
        {"sources", ParamType::StringList, std::vector<std::string>{},
         "sources to use (cpsc2018, cpsc2018_extra, incart, ptb, ptbxl, georgia, chapman_ningbo); empty = all", {}, {}, {}},
        {"sampling_rate", ParamType::Float, 500.0, "rate of the records served (Hz)", 1.0, 1.0e5, {}},
        {"resample", ParamType::Bool, true,
         "resample records at another rate (INCART 257 Hz, PTB 1000 Hz) to sampling_rate; false drops them", {}, {}, {}},
        {"duration_s", ParamType::Float, 10.0, "records are cut to their first duration_s seconds; shorter ones are dropped",
         0.01, 86400.0, {}},
        {"keep_unlabeled", ParamType::Bool, false, "keep records with no class of the label space (all-zero labels)", {}, {}, {}},
        {"val_fraction", ParamType::Float, 0.1, "fraction of records in the validation split", 0.0, 0.9, {}},
        {"test_fraction", ParamType::Float, 0.1, "fraction of records in the test split", 0.0, 0.9, {}},
        {"seed", ParamType::Int, std::int64_t{0}, "seed of the split hash", 0.0, 9.0e15, {}},
    });
    return specs;
}

class Physionet2021 final : public ecgbench::Dataset {
public:
    explicit Physionet2021(const Params& p)
        : path_(p.get_string("path")),
          label_space_(p.get_string("label_space")),
          rate_(p.get_float("sampling_rate")),
          resample_(p.get_bool("resample")),
          duration_s_(p.get_float("duration_s")),
          keep_unlabeled_(p.get_bool("keep_unlabeled")),
          val_fraction_(p.get_float("val_fraction")),
          test_fraction_(p.get_float("test_fraction")) {
        mapping_ = common::LeadMapping::from_params(p, "physionet2021");
        if (path_.empty()) throw std::invalid_argument("physionet2021: parameter `path` is required but is empty");
        std::error_code ec;
        if (!fs::is_directory(path_, ec)) throw std::invalid_argument("physionet2021: `path` '" + path_ + "' is not a folder");
        if (val_fraction_ + test_fraction_ >= 1.0) {
            throw std::invalid_argument("physionet2021: val_fraction + test_fraction must be below 1");
        }
        for (const auto& name : p.get_strings("sources")) {
            const auto& all = physionet2021::sources();
            if (std::none_of(all.begin(), all.end(), [&](const auto& s) { return name == s.name; })) {
                std::string known;
                for (const auto& s : all) known += (known.empty() ? "" : ", ") + std::string(s.name);
                throw std::invalid_argument("physionet2021: unknown source '" + name + "' in `sources` (known: " + known + ")");
            }
            sources_.insert(name);
        }
        samples_ = std::llround(duration_s_ * rate_);
        if (samples_ < 1) throw std::invalid_argument("physionet2021: duration_s * sampling_rate gives no samples");
        scan(p, static_cast<std::uint64_t>(p.get_int("seed")));
        make_reader();
    }

    DatasetInfo info() const override {
        DatasetInfo info;
        info.name = "physionet2021";
        info.version = kVersion;
        info.fingerprint = fingerprint_;
        info.sampling_rate_hz = rate_;
        info.samples = samples_;
        info.leads = leads_;
        info.classes = classes_;
        std::string selected;
        for (const auto& s : sources_) selected += (selected.empty() ? "" : ", ") + s;
        info.preprocessing = "first " + format_number(duration_s_) + " s at " + format_number(rate_) +
                             " Hz, mV" + (resample_ ? " (other rates resampled: polyphase Kaiser FIR)" : "") +
                             ", no filtering or normalisation; labels: " +
                             (label_space_ == "scored" ? "Challenge 2021 scored classes" : "every code seen") +
                             ", equivalent pairs merged; sources: " + (selected.empty() ? "all" : selected) + " (" +
                             std::to_string(other_sources_) + " records of other sources not used); " + mapping_.note() +
                             dropped_.summary() +
                             (reader_->all_read() ? "" : " (not every split read yet)");
        info.split_rule = common::hashed_split_rule("records (no patient ids in the headers)", val_fraction_, test_fraction_);
        info.covariates = {"age", "sex"};
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
            common::RecordLayout{leads_, samples_, classes_.size(), std::vector<std::string>{"age", "sex"}, false,
                                 resample_ ? rate_ : 0.0}, std::move(pending_), &dropped_,
            [this] { dropped_.print("physionet2021", "'" + path_ + "'"); });
        pending_ = {};
    }

    struct Candidate {
        common::PendingRecord rec;
        std::vector<std::string> classes;  // merged class names of its codes
    };

    void scan(const Params& p, std::uint64_t seed) {
        ecgbench::Fingerprint h;
        h.add(std::string("physionet2021/") + kVersion + "|").add_params(schema(), p);

        std::vector<std::pair<std::string, fs::path>> found;  // record name → path without extension
        for (const auto& entry : fs::recursive_directory_iterator(path_, fs::directory_options::skip_permission_denied)) {
            if (!entry.is_regular_file() || entry.path().extension() != ".hea") continue;
            found.emplace_back(entry.path().stem().string(), fs::path(entry.path()).replace_extension());
        }
        std::sort(found.begin(), found.end());
        for (std::size_t i = 1; i < found.size(); ++i) {
            if (found[i].first == found[i - 1].first) {
                throw std::invalid_argument("physionet2021: record name '" + found[i].first + "' found twice: " +
                                            found[i - 1].second.string() + " and " + found[i].second.string());
            }
        }

        std::vector<Candidate> candidates;
        std::set<std::string> lead_set, seen_classes;
        for (const auto& [name, record] : found) {
            const auto* source = physionet2021::source_of(name);
            if (!source) {
                dropped_.add(name, "unknown source (record-name prefix not one of A, Q, I, S, HR, E, JS)");
                continue;
            }
            if (!sources_.empty() && !sources_.count(source->name)) {
                ++other_sources_;
                continue;
            }
            std::string problem;
            auto header = common::read_header_fingerprinted(record, name, h, problem);
            if (!header) {
                dropped_.add(name, problem);
                continue;
            }
            if (problem = common::header_problem(*header, rate_, samples_, resample_); !problem.empty()) {
                dropped_.add(name, problem);
                continue;
            }
            Candidate c;
            c.rec.id = name;
            c.rec.map = common::map_leads(*header, mapping_);
            if (!c.rec.map.problem.empty()) {
                dropped_.add(name, c.rec.map.problem);
                continue;
            }
            const auto comments = physionet2021::parse_comments(header->comments);
            for (const auto& code : comments.dx) {
                const std::string cls = physionet2021::merged_class(code);
                if (std::find(c.classes.begin(), c.classes.end(), cls) == c.classes.end()) c.classes.push_back(cls);
            }
            c.rec.covariates = {comments.age, comments.sex};
            c.rec.header = std::move(*header);
            if (label_space_ == "all") seen_classes.insert(c.classes.begin(), c.classes.end());
            candidates.push_back(std::move(c));
        }
        fingerprint_ = h.hex();

        if (label_space_ == "scored") classes_ = physionet2021::scored_classes();
        else classes_.assign(seen_classes.begin(), seen_classes.end());

        std::set<std::string> names;
        for (auto& c : candidates) {
            c.rec.labels.assign(classes_.size(), 0.0f);
            bool any = false;
            for (std::size_t k = 0; k < classes_.size(); ++k) {
                if (std::find(c.classes.begin(), c.classes.end(), classes_[k]) != c.classes.end()) {
                    c.rec.labels[k] = 1.0f;
                    any = true;
                }
            }
            if (!any && !keep_unlabeled_) {
                std::string codes;
                for (const auto& code : c.classes) codes += (codes.empty() ? "" : ",") + code;
                dropped_.add(c.rec.id, "no " + label_space_ + " class (Dx: " + (codes.empty() ? "none" : codes) + ")");
                continue;
            }
            for (const auto& l : c.rec.map.leads) lead_set.insert(l.first);
            names.insert(c.rec.id);
            pending_.push_back(std::move(c.rec));
        }
        if (pending_.empty()) {
            throw std::runtime_error("physionet2021: no usable records in '" + path_ + "' (" + std::to_string(found.size()) +
                                     " headers, " + std::to_string(other_sources_) + " of other sources, " +
                                     dropped_.summary() + ")");
        }
        for (const auto& lead : ecgbench::standard_12_leads())
            if (lead_set.count(lead)) leads_.push_back(lead);

        const auto split_of = common::hashed_subject_splits(names, val_fraction_, test_fraction_, seed);
        std::map<std::string, std::int64_t> index;
        for (const auto& n : names) index.emplace(n, static_cast<std::int64_t>(index.size()));
        for (auto& rec : pending_) {
            rec.split = split_of.at(rec.id);
            rec.subject = index.at(rec.id);
        }
    }

    std::string path_, label_space_;
    double rate_;
    bool resample_;
    double duration_s_;
    bool keep_unlabeled_;
    double val_fraction_, test_fraction_;
    std::set<std::string> sources_;
    std::int64_t samples_ = 0;
    std::size_t other_sources_ = 0;
    std::vector<std::string> leads_, classes_;
    common::LeadMapping mapping_;
    std::string fingerprint_;
    std::vector<common::PendingRecord> pending_;

    common::DropLog dropped_;
    std::unique_ptr<common::RecordReader> reader_;
};

ecgbench::PluginDescriptor describe() {
    ecgbench::PluginDescriptor d;
    d.manifest = {"physionet2021", ecgbench::PluginKind::Dataset, "1.2.0",
                  "PhysioNet/CinC Challenge 2020/2021 12-lead data: SNOMED-CT Dx labels (26 scored classes, equivalent "
                  "pairs merged, or all codes), per-source selection, age/sex, hashed record-level splits",
                  schema()};
    d.make_dataset = [](const Params& p) { return std::make_unique<Physionet2021>(p); };
    return d;
}

}  // namespace

ECGBENCH_PLUGIN(describe)
