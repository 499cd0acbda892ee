// `mimic_iv_ecg`: MIMIC-IV-ECG (Gow et al., PhysioNet mimic-iv-ecg 1.0): about 800,000 10-s 12-lead
// 500 Hz diagnostic ECGs of about 160,000 patients, with the ECG machines' reports and measurements.
// An unlabeled corpus for pretraining and for text-paired methods (MERL-style): no classes, the
// machine report as EcgSplit::texts.
//
// What it follows
//  * Layout: `path` holds record_list.csv (subject_id, study_id, path = "files/p1000/p10000032/
//    s40689238/40689238", relative to `path`) and, optionally, machine_measurements.csv
//    (subject_id, study_id, report_0 … report_17, rr_interval, p_onset, qrs_onset, qrs_end, t_end,
//    p_axis, qrs_axis, t_axis).
//  * Texts: the non-empty report_N cells of the record's study, in order, joined with "; ".
//  * Covariates from the machine measurements (ms and degrees; NaN when empty or >= `not_measured`,
//    default 29999, the placeholder commonly reported for unmeasured values in these tables; not
//    verified here, no real MIMIC-IV-ECG files were available): hr_bpm (60000 / rr_interval), pr_ms (qrs_onset -
//    p_onset), qrs_ms (qrs_end - qrs_onset), qt_ms (t_end - qrs_onset), p_axis, qrs_axis, t_axis.
//  * Subjects: subject_id; the split ranks subjects by a seeded hash (patient-disjoint).
//  * Leads by name: the files store aVF before aVL; both come back under their canonical names.
// What it simplifies
//  * Everything loaded is held in memory (about 240 kB per record): `max_records` (0 = all) keeps the
//    first records in the order of (hash of subject, study_id), a deterministic patient-grouped
//    sample; the rest are not part of the instance (counted in preprocessing, not listed as dropped).
//  * No demographics (they live in MIMIC-IV's hosp module, not in this database), no labels.
//  * Dropped (listed): records whose header is missing or unreadable, not 500 Hz or shorter than
//    10 s, with invalid samples or unreadable signals.
//  * Signals whose description is not a standard lead name can be named with the lead mapping params
//    every WFDB-based plugin shares (`lead_alias`, `default_lead`: common/leads_io.hpp; none by default).
//  * Fingerprint: version, params, both CSV texts, and per used record its header text and signal
//    file sizes.
#include "common/csv.hpp"
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
#include <tuple>
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

const std::vector<ParamSpec>& schema() {
    static const std::vector<ParamSpec> specs = common::with_lead_mapping_params({
        {"path", ParamType::String, std::string{},
         "MIMIC-IV-ECG folder (required): record_list.csv, machine_measurements.csv, files/", {}, {}, {}},
        {"max_records", ParamType::Int, std::int64_t{0},
         "0 = all; else the first max_records records ordered by (hash of subject, study_id)", 0.0, 1.0e9, {}},
        {"not_measured", ParamType::Float, 29999.0, "measurement values >= this are read as NaN (placeholder)", 0.0, 1.0e9, {}},
        {"val_fraction", ParamType::Float, 0.1, "fraction of subjects in the validation split", 0.0, 0.9, {}},
        {"test_fraction", ParamType::Float, 0.1, "fraction of subjects in the test split", 0.0, 0.9, {}},
        {"seed", ParamType::Int, std::int64_t{0}, "seed of the split hash (and of the max_records order)", 0.0, 9.0e15, {}},
    });
    return specs;
}

const std::vector<std::string>& covariate_names() {
    static const std::vector<std::string> names{"hr_bpm", "pr_ms", "qrs_ms", "qt_ms", "p_axis", "qrs_axis", "t_axis"};
    return names;
}

struct Measurements {
    std::string report;
    std::vector<float> covariates;
};

class MimicIvEcg final : public ecgbench::Dataset {
public:
    explicit MimicIvEcg(const Params& p)
        : path_(p.get_string("path")),
          max_records_(p.get_int("max_records")),
          not_measured_(p.get_float("not_measured")),
          val_fraction_(p.get_float("val_fraction")),
          test_fraction_(p.get_float("test_fraction")) {
        mapping_ = common::LeadMapping::from_params(p, "mimic_iv_ecg");
        if (path_.empty()) throw std::invalid_argument("mimic_iv_ecg: parameter `path` is required but is empty");
        std::error_code ec;
        if (!fs::is_directory(path_, ec)) throw std::invalid_argument("mimic_iv_ecg: `path` '" + path_ + "' is not a folder");
        if (val_fraction_ + test_fraction_ >= 1.0) {
            throw std::invalid_argument("mimic_iv_ecg: val_fraction + test_fraction must be below 1");
        }
        scan(p, static_cast<std::uint64_t>(p.get_int("seed")));
        make_reader();
    }

    DatasetInfo info() const override {
        DatasetInfo info;
        info.name = "mimic_iv_ecg";
        info.version = kVersion;
        info.fingerprint = fingerprint_;
        info.sampling_rate_hz = kRate;
        info.samples = kSamples;
        info.leads = ecgbench::standard_12_leads();
        info.preprocessing = "10 s at 500 Hz, mV, no filtering or normalisation; unlabeled; texts: machine report "
                             "statements joined with \"; \"; covariates hr_bpm, pr_ms, qrs_ms, qt_ms, p/qrs/t_axis from "
                             "machine_measurements.csv (>= " + format_number(not_measured_) + " = NaN); " +
                             (unused_ ? std::to_string(unused_) + " records beyond max_records not used; " : std::string()) +
                             mapping_.note() + dropped_.summary() + (reader_->all_read() ? "" : " (not every split read yet)");
        info.split_rule = common::hashed_split_rule("subjects (subject_id)", val_fraction_, test_fraction_);
        info.covariates = covariate_names();
        info.has_texts = true;
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
            common::RecordLayout{ecgbench::standard_12_leads(), kSamples, 0, covariate_names(), true}, std::move(pending_), &dropped_,
            [this] { dropped_.print("mimic_iv_ecg", "'" + path_ + "'"); });
        pending_ = {};
    }

    /// machine_measurements.csv by study_id (absent file: no texts, NaN covariates).
    std::map<std::string, Measurements> read_measurements(ecgbench::Fingerprint& h) {
        std::map<std::string, Measurements> out;
        const fs::path file = fs::path(path_) / "machine_measurements.csv";
        std::error_code ec;
        if (!fs::exists(file, ec)) {
            h.add("mm|none|");
            return out;
        }
        const std::string text = common::read_text(file, "mimic_iv_ecg");
        h.add("mm|" + text + "|");
        const auto csv = common::parse_csv(text, file.string());
        const int c_study = csv.require("study_id", "mimic_iv_ecg");
        std::vector<int> reports;
        for (int k = 0;; ++k) {
            const int c = csv.column("report_" + std::to_string(k));
            if (c < 0) break;
            reports.push_back(c);
        }
        const char* names[] = {"rr_interval", "p_onset", "qrs_onset", "qrs_end", "t_end", "p_axis", "qrs_axis", "t_axis"};
        std::map<std::string, int> col;
        for (const char* n : names) col[n] = csv.column(n);
        for (std::size_t r = 0; r < csv.rows.size(); ++r) {
            auto value = [&](const char* name) {
                const std::string v = csv.cell(r, col.at(name));
                if (v.empty()) return std::nan("");
                const auto number = common::parse_number(v);
                if (!number) {
                    throw std::invalid_argument("mimic_iv_ecg: " + csv.where(r) + ": column `" + name + "`: not a number: '" + v + "'");
                }
                return *number >= not_measured_ ? std::nan("") : *number;
            };
            Measurements m;
            for (const int c : reports) {
                const std::string statement = csv.cell(r, c);
                if (!statement.empty()) m.report += (m.report.empty() ? "" : "; ") + statement;
            }
            const double rr = value("rr_interval"), p_on = value("p_onset"), q_on = value("qrs_onset"),
                         q_end = value("qrs_end"), t_end = value("t_end");
            m.covariates = {static_cast<float>(rr > 0 ? 60000.0 / rr : std::nan("")), static_cast<float>(q_on - p_on),
                            static_cast<float>(q_end - q_on), static_cast<float>(t_end - q_on),
                            static_cast<float>(value("p_axis")), static_cast<float>(value("qrs_axis")),
                            static_cast<float>(value("t_axis"))};
            out[csv.cell(r, c_study)] = std::move(m);
        }
        return out;
    }

    void scan(const Params& p, std::uint64_t seed) {
        ecgbench::Fingerprint h;
        h.add(std::string("mimic_iv_ecg/") + kVersion + "|").add_params(schema(), p);
        const fs::path list_file = fs::path(path_) / "record_list.csv";
        const std::string text = common::read_text(list_file, "mimic_iv_ecg");
        h.add("list|" + text + "|");
        const auto list = common::parse_csv(text, list_file.string());
        const int c_subject = list.require("subject_id", "mimic_iv_ecg"), c_study = list.require("study_id", "mimic_iv_ecg"),
                  c_path = list.require("path", "mimic_iv_ecg");
        const auto measurements = read_measurements(h);

        // Order by (subject hash, study) so max_records takes whole patients first, deterministically.
        for (std::size_t r = 0; r < list.rows.size(); ++r) {
            const std::string subject = list.cell(r, c_subject), study = list.cell(r, c_study), path = list.cell(r, c_path);
            if (subject.empty() || study.empty() || path.empty()) {
                throw std::invalid_argument("mimic_iv_ecg: " + list.where(r) + ": empty subject_id, study_id or path");
            }
        }
        std::vector<std::tuple<std::uint64_t, std::string, std::size_t>> order;
        for (std::size_t r = 0; r < list.rows.size(); ++r) {
            const std::string subject = list.cell(r, c_subject);
            order.emplace_back(ecgbench::splitmix64(ecgbench::Fingerprint().add(subject).value() ^ ecgbench::splitmix64(seed + 1)),
                               list.cell(r, c_study), r);
        }
        std::sort(order.begin(), order.end());
        if (max_records_ > 0 && order.size() > static_cast<std::size_t>(max_records_)) {
            unused_ = order.size() - static_cast<std::size_t>(max_records_);
            order.resize(static_cast<std::size_t>(max_records_));
        }

        std::set<std::string> subjects;
        std::vector<std::string> subject_of;
        for (const auto& [rank, study, r] : order) {
            const std::string id = list.cell(r, c_study);
            std::string problem;
            auto header = common::read_header_fingerprinted(fs::path(path_) / list.cell(r, c_path), id, h, problem);
            if (!header) {
                dropped_.add(id, problem);
                continue;
            }
            if (problem = common::header_problem(*header, kRate, kSamples); !problem.empty()) {
                dropped_.add(id, problem);
                continue;
            }
            common::PendingRecord rec;
            rec.id = id;
            rec.map = common::map_leads(*header, mapping_);
            if (!rec.map.problem.empty()) {
                dropped_.add(id, rec.map.problem);
                continue;
            }
            rec.header = std::move(*header);
            if (const auto it = measurements.find(id); it != measurements.end()) {
                rec.text = it->second.report;
                rec.covariates = it->second.covariates;
            } else {
                rec.covariates.assign(covariate_names().size(), std::nanf(""));
            }
            subjects.insert(list.cell(r, c_subject));
            subject_of.push_back(list.cell(r, c_subject));
            pending_.push_back(std::move(rec));
        }
        fingerprint_ = h.hex();
        if (pending_.empty()) {
            throw std::runtime_error("mimic_iv_ecg: no usable records in '" + path_ + "' (" + std::to_string(list.rows.size()) +
                                     " listed, " + dropped_.summary() + ")");
        }
        const auto split_of = common::hashed_subject_splits(subjects, val_fraction_, test_fraction_, seed);
        std::map<std::string, std::int64_t> index;
        for (const auto& s : subjects) index.emplace(s, static_cast<std::int64_t>(index.size()));
        for (std::size_t i = 0; i < pending_.size(); ++i) {
            pending_[i].split = split_of.at(subject_of[i]);
            pending_[i].subject = index.at(subject_of[i]);
        }
    }

    std::string path_;
    std::int64_t max_records_;
    double not_measured_;
    double val_fraction_, test_fraction_;
    std::size_t unused_ = 0;
    common::LeadMapping mapping_;
    std::string fingerprint_;
    std::vector<common::PendingRecord> pending_;

    common::DropLog dropped_;
    std::unique_ptr<common::RecordReader> reader_;
};

ecgbench::PluginDescriptor describe() {
    ecgbench::PluginDescriptor d;
    d.manifest = {"mimic_iv_ecg", ecgbench::PluginKind::Dataset, "1.1.0",
                  "MIMIC-IV-ECG: unlabeled 12-lead 500 Hz corpus with machine-report texts and measurement covariates, "
                  "patient-disjoint hashed splits, optional deterministic max_records subset",
                  schema()};
    d.make_dataset = [](const Params& p) { return std::make_unique<MimicIvEcg>(p); };
    return d;
}

}  // namespace

ECGBENCH_PLUGIN(describe)
