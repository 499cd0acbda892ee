// `ptbxl`: PTB-XL (Wagner et al. 2020, PhysioNet ptb-xl 1.0.x) with the label sets and split of the
// PTB-XL benchmark (Strodthoff et al. 2020, "Deep learning for ECG analysis: benchmarks and insights
// from PTB-XL").
//
// What it follows
//  * Layout: `path` holds ptbxl_database.csv, scp_statements.csv and the records named by the
//    database's filename_lr (100 Hz) or filename_hr (500 Hz) columns, relative to `path`.
//  * Labels (scp_labels.hpp): `label_set` all / diagnostic / subdiagnostic / superdiagnostic / form /
//    rhythm. Every code in a record's scp_codes counts, whatever its likelihood (0.0 included), as in
//    the benchmark's code; diagnostic/form/rhythm select statements by those scp_statements columns,
//    subdiagnostic/superdiagnostic map diagnostic statements to diagnostic_subclass / diagnostic_class.
//    Classes are the labels that occur in the database, sorted: with the published
//    scp_statements.csv and every statement in use that is 71 / 44 / 23 / 5 / 19 / 12, Strodthoff et
//    al.'s counts. Records without a label in the set are dropped and listed.
//  * Split: the recommended strat_fold split, folds 1-8 train, 9 val, 10 test (patient-disjoint by
//    construction of the folds).
//  * Subjects: patient_id. Covariates: age (years; PTB-XL writes 300 for patients over 89, read as
//    90), sex (1 = male, 0 = female, the ecgbench convention; PTB-XL writes 0 = male, 1 = female),
//    height (cm), weight (kg); NaN when empty. Texts: the `report` column (free text, often German).
// What it simplifies
//  * 10 s records as stored (1000 or 5000 samples), mV, no filtering or normalisation.
//  * No min_samples filter of rare classes (the benchmark's default of 0 is what this gives).
//  * Dropped records (no label in the set, unreadable header, wrong rate, too short, missing lead
//    units, invalid samples, unreadable signals) are listed by dropped_records(), counted in
//    DatasetInfo::preprocessing and printed to stderr once every split has been read.
//  * Signals whose description is not a standard lead name can be named with the lead mapping params
//    every WFDB-based plugin shares (`lead_alias`, `default_lead`: common/leads_io.hpp; none by default).
//  * Fingerprint: plugin version, parameters, both CSV texts, and per kept record its header text
//    and signal file sizes. info() reads no signal data.
#include "common/csv.hpp"
#include "common/leads_io.hpp"
#include "common/record_reader.hpp"
#include "common/text.hpp"
#include "ecgbench/dataset.hpp"
#include "ecgbench/fingerprint.hpp"
#include "ecgbench/leads.hpp"
#include "ecgbench/params.hpp"
#include "ecgbench/plugin.hpp"
#include "ecgbench/wfdb.hpp"
#include "scp_labels.hpp"

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
constexpr double kDurationS = 10.0;

const std::vector<ParamSpec>& schema() {
    static const std::vector<ParamSpec> specs = common::with_lead_mapping_params({
        {"path", ParamType::String, std::string{},
         "PTB-XL folder (required): ptbxl_database.csv, scp_statements.csv, records100/, records500/", {}, {}, {}},
        {"label_set", ParamType::String, std::string("superdiagnostic"),
         "Strodthoff et al. label set; records without a label in it are dropped", {}, {}, ptbxl::label_set_names()},
        {"sampling_rate", ParamType::Int, std::int64_t{100}, "100 (filename_lr) or 500 (filename_hr)", 100.0, 500.0, {}},
    });
    return specs;
}

const std::vector<std::string>& covariate_names() {
    static const std::vector<std::string> names{"age", "sex", "height", "weight"};
    return names;
}

class Ptbxl final : public ecgbench::Dataset {
public:
    explicit Ptbxl(const Params& p)
        : path_(p.get_string("path")), label_set_(p.get_string("label_set")), rate_(p.get_int("sampling_rate")) {
        mapping_ = common::LeadMapping::from_params(p, "ptbxl");
        if (path_.empty()) throw std::invalid_argument("ptbxl: parameter `path` is required (the PTB-XL folder) but is empty");
        std::error_code ec;
        if (!fs::is_directory(path_, ec)) throw std::invalid_argument("ptbxl: `path` '" + path_ + "' is not a folder");
        if (rate_ != 100 && rate_ != 500) {
            throw std::invalid_argument("ptbxl: `sampling_rate` must be 100 or 500, got " + std::to_string(rate_));
        }
        samples_ = static_cast<std::int64_t>(kDurationS) * rate_;
        scan(p);
        make_reader();
    }

    DatasetInfo info() const override {
        DatasetInfo info;
        info.name = "ptbxl";
        info.version = kVersion;
        info.fingerprint = fingerprint_;
        info.sampling_rate_hz = static_cast<double>(rate_);
        info.samples = samples_;
        info.leads = ecgbench::standard_12_leads();
        info.classes = classes_;
        info.class_descriptions = class_descriptions_;
        info.preprocessing = "10 s at " + std::to_string(rate_) + " Hz (" + (rate_ == 100 ? "filename_lr" : "filename_hr") +
                             "), mV, no filtering or normalisation; labels: " + label_set_ +
                             " (Strodthoff et al. 2020, every listed code whatever its likelihood); covariates age "
                             "(300 read as 90), sex (1 = male), height, weight; texts: report; " +
                             mapping_.note() + dropped_.summary() + (reader_->all_read() ? "" : " (not every split read yet)");
        info.split_rule = "strat_fold 1-8 train, 9 val, 10 test (PTB-XL recommended folds, patient-disjoint)";
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
            common::RecordLayout{ecgbench::standard_12_leads(), samples_, classes_.size(), covariate_names(), true}, std::move(pending_), &dropped_,
            [this] { dropped_.print("ptbxl", "'" + path_ + "' (" + label_set_ + ", " + std::to_string(rows_) + " database rows)"); });
        pending_ = {};
    }

    void scan(const Params& p) {
        ecgbench::Fingerprint h;
        h.add(std::string("ptbxl/") + kVersion + "|").add_params(schema(), p);
        const fs::path db_file = fs::path(path_) / "ptbxl_database.csv";
        const fs::path st_file = fs::path(path_) / "scp_statements.csv";
        const std::string db_text = common::read_text(db_file, "ptbxl");
        const std::string st_text = common::read_text(st_file, "ptbxl");
        h.add("db|" + db_text + "|st|" + st_text + "|");
        const auto statements = ptbxl::read_statements(common::parse_csv(st_text, st_file.string()));
        const auto db = common::parse_csv(db_text, db_file.string());
        rows_ = db.rows.size();

        const char* who = "ptbxl";
        const int c_id = db.require("ecg_id", who), c_patient = db.require("patient_id", who),
                  c_age = db.require("age", who), c_sex = db.require("sex", who), c_height = db.require("height", who),
                  c_weight = db.require("weight", who), c_report = db.require("report", who),
                  c_codes = db.require("scp_codes", who), c_fold = db.require("strat_fold", who),
                  c_file = db.require(rate_ == 100 ? "filename_lr" : "filename_hr", who);

        // Labels first: the class list is every label the database uses (cheap, signal-independent).
        struct Row {
            std::size_t index;
            int fold;
            std::set<std::string> labels;
        };
        std::vector<Row> labelled;
        std::set<std::string> classes;
        for (std::size_t r = 0; r < db.rows.size(); ++r) {
            const std::string where = "ptbxl: " + db.where(r);
            if (db.cell(r, c_id).empty()) throw std::invalid_argument(where + ": empty ecg_id");
            const auto fold = common::parse_number(db.cell(r, c_fold));
            if (!fold || *fold != std::floor(*fold) || *fold < 1 || *fold > 10) {
                throw std::invalid_argument(where + ": strat_fold: expected 1..10, got '" + db.cell(r, c_fold) + "'");
            }
            const auto codes = ptbxl::parse_scp_codes(db.cell(r, c_codes), where);
            auto labels = ptbxl::labels_of(codes, statements, label_set_);
            if (labels.empty()) {
                std::string listed;
                for (const auto& [code, likelihood] : codes) listed += (listed.empty() ? "" : ", ") + code;
                dropped_.add(db.cell(r, c_id), "no " + label_set_ + " label (scp_codes: " + (listed.empty() ? "none" : listed) + ")");
                continue;
            }
            classes.insert(labels.begin(), labels.end());
            labelled.push_back({r, static_cast<int>(*fold), std::move(labels)});
        }
        classes_.assign(classes.begin(), classes.end());
        class_descriptions_ = ptbxl::class_descriptions(classes_, statements, label_set_);

        std::map<std::string, std::int64_t> subject_index;
        for (const auto& [r, fold, labels] : labelled) {
            const std::string id = db.cell(r, c_id);
            const std::string where = "ptbxl: " + db.where(r);
            const std::string file = db.cell(r, c_file);
            if (file.empty()) throw std::invalid_argument(where + ": empty " + db.header[static_cast<std::size_t>(c_file)]);

            common::PendingRecord rec;
            rec.id = id;
            std::string problem;
            auto header = common::read_header_fingerprinted(fs::path(path_) / file, file, h, problem);
            if (!header) {
                dropped_.add(id, problem);
                continue;
            }
            rec.header = std::move(*header);
            if (problem = common::header_problem(rec.header, static_cast<double>(rate_), samples_); !problem.empty()) {
                dropped_.add(id, problem);
                continue;
            }
            rec.map = common::map_leads(rec.header, mapping_);
            if (!rec.map.problem.empty()) {
                dropped_.add(id, rec.map.problem);
                continue;
            }
            rec.split = fold <= 8 ? Split::Train : fold == 9 ? Split::Val : Split::Test;
            std::string patient = db.cell(r, c_patient);
            if (const auto number = common::parse_number(patient); number && std::isfinite(*number) &&
                                                                    *number == std::floor(*number)) {
                patient = std::to_string(static_cast<long long>(*number));  // "15709.0" → "15709"
            }
            if (patient.empty()) patient = "ecg" + id;  // no patient id: the record is its own subject
            rec.subject = subject_index.emplace(patient, static_cast<std::int64_t>(subject_index.size())).first->second;
            for (const auto& c : classes_) rec.labels.push_back(labels.count(c) ? 1.0f : 0.0f);
            rec.covariates = {number_or_nan(db, r, c_age, where), sex_of(db, r, c_sex, where),
                              number_or_nan(db, r, c_height, where), number_or_nan(db, r, c_weight, where)};
            if (rec.covariates[0] >= 300.0f) rec.covariates[0] = 90.0f;  // PTB-XL's "over 89"
            rec.text = db.cell(r, c_report);
            pending_.push_back(std::move(rec));
        }
        fingerprint_ = h.hex();
        if (pending_.empty()) {
            throw std::runtime_error("ptbxl: no usable records in '" + path_ + "' (" + std::to_string(rows_) + " rows, " +
                                     dropped_.summary() + ")");
        }
    }

    static float number_or_nan(const common::CsvTable& db, std::size_t r, int c, const std::string& where) {
        const std::string v = db.cell(r, c);
        if (v.empty()) return std::nanf("");
        const auto number = common::parse_number(v);
        if (!number) {
            throw std::invalid_argument(where + ": column `" + db.header[static_cast<std::size_t>(c)] + "`: not a number: '" + v + "'");
        }
        return static_cast<float>(*number);
    }

    static float sex_of(const common::CsvTable& db, std::size_t r, int c, const std::string& where) {
        const float v = number_or_nan(db, r, c, where);
        if (std::isnan(v)) return v;
        if (v != 0.0f && v != 1.0f) throw std::invalid_argument(where + ": column `sex`: expected 0 or 1, got '" + db.cell(r, c) + "'");
        return v == 0.0f ? 1.0f : 0.0f;  // PTB-XL 0 = male → ecgbench 1 = male
    }

    std::string path_, label_set_;
    std::int64_t rate_, samples_ = 0;
    std::size_t rows_ = 0;
    std::vector<std::string> classes_;
    std::map<std::string, std::string> class_descriptions_;
    common::LeadMapping mapping_;
    std::string fingerprint_;
    std::vector<common::PendingRecord> pending_;

    common::DropLog dropped_;
    std::unique_ptr<common::RecordReader> reader_;
};

ecgbench::PluginDescriptor describe() {
    ecgbench::PluginDescriptor d;
    d.manifest = {"ptbxl", ecgbench::PluginKind::Dataset, "1.1.0",
                  "PTB-XL: Strodthoff et al. label sets (all/diagnostic/subdiagnostic/superdiagnostic/form/rhythm), "
                  "strat_fold 1-8/9/10 split, 100 or 500 Hz, age/sex/height/weight, report texts",
                  schema()};
    d.make_dataset = [](const Params& p) { return std::make_unique<Ptbxl>(p); };
    return d;
}

}  // namespace

ECGBENCH_PLUGIN(describe)
