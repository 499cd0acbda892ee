// `ludb`: the Lobachevsky University Electrocardiography Database 1.0.1 (Kalyakulina et al., IEEE
// Access 2020): 200 10-s 12-lead records at 500 Hz, each with a P/QRS/T delineation per lead and
// the diagnoses of ludb.csv.
//
// What it follows
//  * Layout: `path` is the database folder: records `data/<n>.hea/.dat` (or directly in `path`)
//    with one annotation file per lead (`.i`, `.ii`, ..., `.v6`), and `ludb.csv`.
//  * Regression targets from the delineation of `delineation_lead` (default lead II, the usual lead
//    for intervals), as per-record medians over beats (delineation.hpp): covariates `pr_ms` (P onset
//    to QRS onset), `qrs_ms` (QRS onset to offset), `qt_ms` (QRS onset to T offset), `hr_bpm`
//    (60000 / median RR between QRS peaks); NaN where no beat gives a value (no P waves in AF).
//  * Labels (`label_set = "rhythm"`): one class per line of ludb.csv's `Rhythms` cells over the whole
//    file, sorted ("Atrial fibrillation", "Sinus bradycardia", ...; a cell may hold two lines, e.g.
//    "Sinus rhythm" and "Wandering atrial pacemaker"); `"none"` gives no classes.
//  * Covariates age (header `<age>`, ">89" read as 90) and sex (1 = male, 0 = female).
// What it simplifies
//  * Wave masks are not exposed (the plugin API has per-record scalars only): the per-lead sample
//    level segmentation stays in the annotation files; only the interval summaries are covariates.
//  * Splits: each LUDB record is a different subject, ranked by a seeded hash (no official split).
//  * Dropped (listed by dropped_records()): unreadable headers, records not at 500 Hz or shorter than
//    10 s, records without a readable delineation file for the chosen lead, without a ludb.csv row or
//    without a rhythm (label_set rhythm), and records with invalid samples.
//  * Signals whose description is not a standard lead name can be named with the lead mapping params
//    every WFDB-based plugin shares (`lead_alias`, `default_lead`: common/leads_io.hpp; none by default).
//  * Fingerprint: version, params, ludb.csv, and per record its header text, signal file sizes and
//    the chosen lead's annotation bytes.
#include "common/csv.hpp"
#include "common/leads_io.hpp"
#include "common/record_reader.hpp"
#include "common/splits.hpp"
#include "common/text.hpp"
#include "delineation.hpp"
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
constexpr double kRate = 500.0;
constexpr std::int64_t kSamples = 5000;

const std::vector<std::string>& lead_files() {
    static const std::vector<std::string> files{"i", "ii", "iii", "avr", "avl", "avf", "v1", "v2", "v3", "v4", "v5", "v6"};
    return files;
}

const std::vector<ParamSpec>& schema() {
    static const std::vector<ParamSpec> specs = common::with_lead_mapping_params({
        {"path", ParamType::String, std::string{}, "LUDB folder (required): data/<n>.hea/.dat/.<lead>, ludb.csv", {}, {}, {}},
        {"label_set", ParamType::String, std::string("rhythm"),
         "rhythm: classes from ludb.csv `Rhythms`; none: no labels (targets only)", {}, {}, {"rhythm", "none"}},
        {"delineation_lead", ParamType::String, std::string("ii"), "annotation file the interval targets come from", {},
         {}, lead_files()},
        {"val_fraction", ParamType::Float, 0.15, "fraction of records (= subjects) in the validation split", 0.0, 0.9, {}},
        {"test_fraction", ParamType::Float, 0.15, "fraction of records (= subjects) in the test split", 0.0, 0.9, {}},
        {"seed", ParamType::Int, std::int64_t{0}, "seed of the split hash", 0.0, 9.0e15, {}},
    });
    return specs;
}

const std::vector<std::string>& covariate_names() {
    static const std::vector<std::string> names{"age", "sex", "pr_ms", "qrs_ms", "qt_ms", "hr_bpm"};
    return names;
}

/// `<age>: 51` / `<sex>: F` header comments.
std::pair<float, float> age_sex(const std::vector<std::string>& comments) {
    float age = std::nanf(""), sex = std::nanf("");
    for (const auto& c : comments) {
        const std::string t = common::trim(c);
        const auto colon = t.find(':');
        if (colon == std::string::npos) continue;
        const std::string key = common::lower(common::trim(t.substr(0, colon)));
        const std::string value = common::trim(t.substr(colon + 1));
        if (key == "<age>") {
            if (value.rfind(">89", 0) == 0) age = 90.0f;
            else if (const auto n = common::parse_number(value); n && std::isfinite(*n)) age = static_cast<float>(*n);
        } else if (key == "<sex>") {
            if (value == "M" || value == "m") sex = 1.0f;
            else if (value == "F" || value == "f") sex = 0.0f;
        }
    }
    return {age, sex};
}

class Ludb final : public ecgbench::Dataset {
public:
    explicit Ludb(const Params& p)
        : path_(p.get_string("path")),
          label_set_(p.get_string("label_set")),
          lead_(p.get_string("delineation_lead")),
          val_fraction_(p.get_float("val_fraction")),
          test_fraction_(p.get_float("test_fraction")) {
        mapping_ = common::LeadMapping::from_params(p, "ludb");
        if (path_.empty()) throw std::invalid_argument("ludb: parameter `path` is required (the LUDB folder) but is empty");
        std::error_code ec;
        if (!fs::is_directory(path_, ec)) throw std::invalid_argument("ludb: `path` '" + path_ + "' is not a folder");
        if (val_fraction_ + test_fraction_ >= 1.0) throw std::invalid_argument("ludb: val_fraction + test_fraction must be below 1");
        scan(p, static_cast<std::uint64_t>(p.get_int("seed")));
        make_reader();
    }

    DatasetInfo info() const override {
        DatasetInfo info;
        info.name = "ludb";
        info.version = kVersion;
        info.fingerprint = fingerprint_;
        info.sampling_rate_hz = kRate;
        info.samples = kSamples;
        info.leads = ecgbench::standard_12_leads();
        info.classes = classes_;
        info.preprocessing = "10 s at 500 Hz, mV, no filtering or normalisation; labels: " + label_set_ +
                             "; covariates age, sex (1 = male), and medians over beats of lead " + lead_ +
                             "'s delineation: pr_ms, qrs_ms, qt_ms, hr_bpm (NaN when no beat gives one); " +
                             mapping_.note() + dropped_.summary() + (reader_->all_read() ? "" : " (not every split read yet)");
        info.split_rule = common::hashed_split_rule("records (one subject each)", val_fraction_, test_fraction_);
        info.covariates = covariate_names();
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
            common::RecordLayout{ecgbench::standard_12_leads(), kSamples, classes_.size(), covariate_names(), false}, std::move(pending_), &dropped_,
            [this] { dropped_.print("ludb", "'" + path_ + "'"); });
        pending_ = {};
    }

    void scan(const Params& p, std::uint64_t seed) {
        ecgbench::Fingerprint h;
        h.add(std::string("ludb/") + kVersion + "|").add_params(schema(), p);

        // Rhythm labels per record id, and the class list over the whole CSV.
        std::map<std::string, std::vector<std::string>> rhythms;
        if (label_set_ == "rhythm") {
            const fs::path csv_file = fs::path(path_) / "ludb.csv";
            const std::string text = common::read_text(csv_file, "ludb");
            h.add("csv|" + text + "|");
            const auto csv = common::parse_csv(text, csv_file.string());
            const int c_id = csv.require("ID", "ludb"), c_rhythm = csv.require("Rhythms", "ludb");
            std::set<std::string> classes;
            for (std::size_t r = 0; r < csv.rows.size(); ++r) {
                const std::string id = csv.cell(r, c_id);
                if (id.empty()) continue;
                std::vector<std::string> labels;
                for (const auto& line : common::split_fields(csv.cell(r, c_rhythm), '\n'))
                    if (!line.empty()) labels.push_back(line);
                classes.insert(labels.begin(), labels.end());
                if (!rhythms.emplace(id, labels).second) {
                    throw std::invalid_argument("ludb: " + csv.where(r) + ": record ID '" + id + "' listed twice");
                }
            }
            classes_.assign(classes.begin(), classes.end());
        }

        std::error_code ec;
        const fs::path dir = fs::is_directory(fs::path(path_) / "data", ec) ? fs::path(path_) / "data" : fs::path(path_);
        std::vector<std::string> names;
        for (const auto& entry : fs::directory_iterator(dir)) {
            if (entry.is_regular_file() && entry.path().extension() == ".hea") names.push_back(entry.path().stem().string());
        }
        // Numeric record names in numeric order ("2" before "10").
        std::sort(names.begin(), names.end(), [](const std::string& a, const std::string& b) {
            return a.size() != b.size() ? a.size() < b.size() : a < b;
        });

        std::set<std::string> kept;
        for (const auto& name : names) {
            std::string problem;
            auto header = common::read_header_fingerprinted(dir / name, name, h, problem);
            if (!header) {
                dropped_.add(name, problem);
                continue;
            }
            if (problem = common::header_problem(*header, kRate, kSamples); !problem.empty()) {
                dropped_.add(name, problem);
                continue;
            }
            common::PendingRecord rec;
            rec.id = name;
            rec.map = common::map_leads(*header, mapping_);
            if (!rec.map.problem.empty()) {
                dropped_.add(name, rec.map.problem);
                continue;
            }
            const fs::path ann = dir / (name + "." + lead_);
            ludb::Intervals iv{};
            try {
                h.add("ann|" + common::read_text(ann, "ludb") + "|");
                iv = ludb::intervals_from(ludb::waves_from(wfdb::read_annotations(ann)), header->fs);
            } catch (const std::exception& e) {
                dropped_.add(name, std::string("unreadable delineation (") + lead_ + "): " + e.what());
                continue;
            }
            if (label_set_ == "rhythm") {
                const auto it = rhythms.find(name);
                if (it == rhythms.end()) {
                    dropped_.add(name, "no row in ludb.csv");
                    continue;
                }
                if (it->second.empty()) {
                    dropped_.add(name, "no rhythm in ludb.csv");
                    continue;
                }
                for (const auto& c : classes_)
                    rec.labels.push_back(std::find(it->second.begin(), it->second.end(), c) != it->second.end() ? 1.0f : 0.0f);
            }
            const auto [age, sex] = age_sex(header->comments);
            rec.covariates = {age, sex, static_cast<float>(iv.pr_ms), static_cast<float>(iv.qrs_ms),
                              static_cast<float>(iv.qt_ms), static_cast<float>(iv.hr_bpm)};
            rec.header = std::move(*header);
            kept.insert(name);
            pending_.push_back(std::move(rec));
        }
        fingerprint_ = h.hex();
        if (pending_.empty()) {
            throw std::runtime_error("ludb: no usable records in '" + dir.string() + "' (" + std::to_string(names.size()) +
                                     " headers, " + dropped_.summary() + ")");
        }
        const auto split_of = common::hashed_subject_splits(kept, val_fraction_, test_fraction_, seed);
        std::int64_t index = 0;
        for (auto& rec : pending_) {
            rec.split = split_of.at(rec.id);
            rec.subject = index++;
        }
    }

    std::string path_, label_set_, lead_;
    double val_fraction_, test_fraction_;
    std::vector<std::string> classes_;
    common::LeadMapping mapping_;
    std::string fingerprint_;
    std::vector<common::PendingRecord> pending_;

    common::DropLog dropped_;
    std::unique_ptr<common::RecordReader> reader_;
};

ecgbench::PluginDescriptor describe() {
    ecgbench::PluginDescriptor d;
    d.manifest = {"ludb", ecgbench::PluginKind::Dataset, "1.1.0",
                  "LUDB: 12-lead 500 Hz records; PR/QRS/QT/HR targets from the wave delineation (covariates), rhythm "
                  "labels from ludb.csv, hashed record splits",
                  schema()};
    d.make_dataset = [](const Params& p) { return std::make_unique<Ludb>(p); };
    return d;
}

}  // namespace

ECGBENCH_PLUGIN(describe)
