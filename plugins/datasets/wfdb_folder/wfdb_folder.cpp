// `wfdb_folder`: any folder of WFDB records (searched recursively for `.hea` files) plus an optional
// CSV of labels and subjects, so users can benchmark on their own data without writing a plugin.
//
// What it does
//  * Records are cut to their first `duration_s` seconds and returned in physical units (mV; `uV`/`µV`
//    and `V` headers are converted). Leads are found by each signal's description through
//    ecgbench::canonical_lead_name (`MLII` → `II`, `v1` → `V1`), or through the shared lead mapping
//    params (`lead_alias = ["ECG=I"]`, `default_lead = "I"`: common/leads_io.hpp); DatasetInfo::leads
//    is the union of the canonical leads over the kept records, in standard 12-lead order. A lead a
//    record lacks is an explicit missing state: its column is 0 and `lead_present` is false.
//  * `labels_csv` (optional), `labels_format = "columns"` (default): header row, a `record` column
//    (path relative to `path`, no extension, `/` separators), an optional `subject` column and the
//    0/1 columns named by `label_columns`. `labels_format = "reference"`: a PhysioNet Challenge
//    REFERENCE.csv (CinC 2017: `A00001,N`, no header row, CRLF): `record,CLASS` rows, one-hot over
//    `label_columns` (the classes, in order); a record whose class is not listed is dropped with
//    that reason (e.g. CinC 2017's noisy `~`: list it to keep it as a class). Each record is its own
//    subject. With a CSV, folder records without a row are dropped; rows without a record are ignored.
//  * Splits: subjects (or records when there is no `subject` column) are ranked by a seeded hash and
//    cut val_fraction / test_fraction / rest, so splits are patient-disjoint when subjects are given.
//    The ranking is made over the records kept after reading headers, so a record dropped later
//    (invalid samples) never moves another record to another split. `test_folders` (subfolders of
//    `path`) instead puts every subject with a record under one of them into test, and cuts only the
//    other subjects into train/val (test_fraction is then ignored): a cross-dataset split, e.g. one
//    source's records to fit on and another's to test on, from one folder of links to both.
//  * Dropped records are counted and listed with their reason: header-level reasons (wrong sampling
//    rate, too short, no standard lead (naming the signals seen and the lead_alias that would map
//    them), ambiguous lead mapping, unsupported units, unreadable header, no CSV row, a class not in
//    label_columns) are known after construction; "invalid samples" (NaN after decoding) and
//    unreadable signal files only when the record's split is read. The per-record list is logged to
//    stderr once every split has been read, and the counts appear in DatasetInfo::preprocessing.
//  * Splits are read from the files on each load() / stream(), a chunk at a time (RecordReader).
//  * Fingerprint: FNV-1a 64 over the plugin version, every parameter, the CSV text, and per record
//    its name, its `.hea` text and the size of each signal file. info() never reads signal data.
// What it simplifies
//  * Records at another rate than `sampling_rate` are resampled per lead with the polyphase Kaiser
//    FIR of the `resample` pipeline step (`resample = false` drops and lists them instead).
//  * Multi-segment records are dropped (their segment headers are then seen as records of their own).
//  * Only the first `duration_s` seconds are used (no windowing of long records into several examples).
//  * Two signals with standard names for the same lead: the first is used; when the lead mapping put
//    one of them there, the record is dropped as ambiguous. No covariates are read.
//  * Dropped records are returned by dropped_records() (the runner stores them with the fingerprint),
//    summarised in DatasetInfo::preprocessing and listed on stderr.
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
#include <optional>
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

/// Bump whenever the same folder and params would give different records (part of the fingerprint).
constexpr const char* kVersion = "1";

const std::vector<ParamSpec>& schema() {
    static const std::vector<ParamSpec> specs = common::with_lead_mapping_params({
        {"path", ParamType::String, std::string{}, "folder of WFDB records (required; searched recursively)", {}, {}, {}},
        {"labels_csv", ParamType::String, std::string{},
         "CSV with a header row: `record` (relative to path, no extension), optional `subject`, 0/1 label "
         "columns; \"\" = no labels",
         {}, {}, {}},
        {"labels_format", ParamType::String, std::string("columns"),
         "columns: as labels_csv says; reference: PhysioNet Challenge REFERENCE.csv (`record,CLASS` rows, no header "
         "row), one-hot over label_columns, a class not listed drops the record",
         {}, {}, {"columns", "reference"}},
        {"label_columns", ParamType::StringList, std::vector<std::string>{},
         "CSV columns used as labels (each 0/1), in class order; with labels_format = reference: the classes", {}, {}, {}},
        {"duration_s", ParamType::Float, 10.0, "records are cut to their first duration_s seconds; shorter ones are dropped",
         0.01, 86400.0, {}},
        {"sampling_rate", ParamType::Float, 0.0, "required: the rate records are served at (Hz)", 0.0, 1.0e6, {}},
        {"resample", ParamType::Bool, true,
         "resample records at another rate to sampling_rate (polyphase Kaiser FIR); false drops them", {}, {}, {}},
        {"val_fraction", ParamType::Float, 0.15, "fraction of subjects in the validation split", 0.0, 0.9, {}},
        {"test_fraction", ParamType::Float, 0.15, "fraction of subjects in the test split", 0.0, 0.9, {}},
        {"seed", ParamType::Int, std::int64_t{0}, "seed of the split hash", 0.0, 9.0e15, {}},
        {"test_folders", ParamType::StringList, std::vector<std::string>{},
         "subfolders of path whose records (and their subjects) form the test split, the rest is cut into train/val "
         "(cross-dataset evaluation); empty = hashed test split",
         {}, {}, {}},
    });
    return specs;
}


/// A labels_csv row: subject, labels, and a drop reason ("" = usable).
struct LabelRow {
    std::string subject;
    std::vector<float> labels;
    std::string problem;
};

struct Record {
    std::string name;  ///< relative path without extension
    wfdb::Header header;
    common::LeadMap map;
    std::vector<float> labels;
    std::string subject;
};

class WfdbFolder final : public ecgbench::Dataset {
public:
    explicit WfdbFolder(const Params& p)
        : path_(p.get_string("path")),
          labels_csv_(p.get_string("labels_csv")),
          reference_(p.get_string("labels_format") == "reference"),
          label_columns_(p.get_strings("label_columns")),
          duration_s_(p.get_float("duration_s")),
          sampling_rate_(p.get_float("sampling_rate")),
          resample_(p.get_bool("resample")),
          val_fraction_(p.get_float("val_fraction")),
          test_fraction_(p.get_float("test_fraction")),
          seed_(static_cast<std::uint64_t>(p.get_int("seed"))),
          test_folders_(p.get_strings("test_folders")),
          mapping_(common::LeadMapping::from_params(p, "wfdb_folder")),
          dropped_({"no row in labels_csv", "label not in label_columns"}) {
        if (path_.empty()) {
            throw std::invalid_argument("wfdb_folder: parameter `path` is required (a folder of WFDB records) but is empty");
        }
        std::error_code ec;
        if (!fs::is_directory(path_, ec)) {
            throw std::invalid_argument("wfdb_folder: `path` '" + path_ + "' is not a folder");
        }
        if (sampling_rate_ <= 0) {
            throw std::invalid_argument("wfdb_folder: parameter `sampling_rate` is required (the rate records are "
                                        "served at, in Hz)");
        }
        if (val_fraction_ + test_fraction_ >= 1.0) {
            throw std::invalid_argument("wfdb_folder: val_fraction + test_fraction must be below 1");
        }
        if (!label_columns_.empty() && labels_csv_.empty()) {
            throw std::invalid_argument("wfdb_folder: `label_columns` given without `labels_csv`");
        }
        if (reference_ && !labels_csv_.empty() && label_columns_.empty()) {
            throw std::invalid_argument("wfdb_folder: labels_format = \"reference\" needs `label_columns`: the classes, "
                                        "in order (e.g. [\"N\", \"A\", \"O\"]; CinC 2017's noisy \"~\" too to keep "
                                        "those records)");
        }
        samples_ = std::llround(duration_s_ * sampling_rate_);
        if (samples_ < 1) throw std::invalid_argument("wfdb_folder: duration_s * sampling_rate gives no samples");
        scan(p);
        make_reader();
    }

    std::vector<ecgbench::DroppedRecord> dropped_records() const override { return dropped_.list(); }

    DatasetInfo info() const override {
        DatasetInfo info;
        info.name = "wfdb_folder";
        info.version = kVersion;
        info.fingerprint = fingerprint_;
        info.sampling_rate_hz = sampling_rate_;
        info.samples = samples_;
        info.leads = leads_;
        info.classes = label_columns_;
        info.preprocessing = "first " + format_number(duration_s_) + " s at " + format_number(sampling_rate_) +
                             " Hz, mV" + (resample_ ? " (other rates resampled: polyphase Kaiser FIR)" : "") +
                             " (no filtering, no normalisation; absent leads are 0 with lead_present false); " +
                             mapping_.note() + dropped_.summary() +
                             (reader_->all_read() ? std::string()
                                                  : " (not every split read yet: records with invalid samples are "
                                                    "found and dropped when their split is read)");
        info.split_rule = common::hashed_split_rule(has_subjects_ ? "subjects (labels_csv `subject`)" : "records",
                                                    val_fraction_, test_folders_.empty() ? test_fraction_ : 0.0);
        if (!test_folders_.empty()) {
            info.split_rule += "; test: the subjects with records under";
            for (const auto& folder : test_folders_) info.split_rule += " " + folder + "/";
        }
        return info;
    }

    EcgSplit load(Split split, const std::vector<std::string>& wanted) override { return reader_->load(split, wanted); }
    void stream(Split split, const std::vector<std::string>& wanted, std::int64_t chunk_records,
                const ecgbench::SplitSink& sink) override {
        reader_->stream(split, wanted, chunk_records, sink);
    }

private:
    /// Finds the records, reads headers and the CSV, applies header-level checks, ranks subjects.
    void scan(const Params& p) {
        ecgbench::Fingerprint h;
        h.add(std::string("wfdb_folder/") + kVersion + "|").add_params(schema(), p);

        // Labels and subjects.
        std::map<std::string, LabelRow> csv_rows;
        if (!labels_csv_.empty() && reference_) {
            const std::string text = common::read_text(labels_csv_, "wfdb_folder");
            h.add("csv|" + text + "|");
            csv_rows = reference_rows(text);
        } else if (!labels_csv_.empty()) {
            const std::string text = common::read_text(labels_csv_, "wfdb_folder");
            h.add("csv|" + text + "|");
            const auto csv = common::parse_csv(text, labels_csv_);
            const int record_col = csv.require("record", "wfdb_folder");
            const int subject_col = csv.column("subject");
            has_subjects_ = subject_col >= 0;
            std::vector<int> label_cols;
            for (const auto& name : label_columns_) {
                const int c = csv.column(name);
                if (c < 0) throw std::invalid_argument("wfdb_folder: label column `" + name + "` not in " + labels_csv_);
                label_cols.push_back(c);
            }
            for (std::size_t r = 0; r < csv.rows.size(); ++r) {
                const std::string record = csv.cell(r, record_col);
                if (record.empty()) continue;
                std::vector<float> labels;
                for (std::size_t k = 0; k < label_cols.size(); ++k) {
                    const std::string v = csv.cell(r, label_cols[k]);
                    if (v != "0" && v != "1") {
                        throw std::invalid_argument("wfdb_folder: " + csv.where(r) + ": column `" + label_columns_[k] +
                                                    "`: expected 0 or 1, got '" + v + "'");
                    }
                    labels.push_back(v == "1" ? 1.0f : 0.0f);
                }
                std::string subject = subject_col >= 0 ? csv.cell(r, subject_col) : record;
                if (subject.empty()) subject = record;
                csv_rows[record] = {subject, std::move(labels), {}};
            }
        }

        // Headers, in sorted order of their relative names.
        std::vector<std::pair<std::string, fs::path>> found;
        for (const auto& entry : fs::recursive_directory_iterator(path_, fs::directory_options::skip_permission_denied)) {
            if (!entry.is_regular_file() || entry.path().extension() != ".hea") continue;
            // Lexically, so a linked header keeps the name of its link (fs::relative resolves links).
            fs::path rel = entry.path().lexically_relative(path_);
            rel.replace_extension();
            found.emplace_back(rel.generic_string(), entry.path());
        }
        std::sort(found.begin(), found.end());

        std::set<std::string> lead_set;
        for (const auto& [name, hea] : found) {
            Record rec;
            rec.name = name;
            std::string problem;
            auto header = common::read_header_fingerprinted(fs::path(hea).replace_extension(), name, h, problem);
            if (!header) {
                dropped_.add(name, problem);
                continue;
            }
            rec.header = std::move(*header);
            const auto& hd = rec.header;
            if (const std::string problem = common::header_problem(hd, sampling_rate_, samples_, resample_); !problem.empty()) {
                dropped_.add(name, problem);
                continue;
            }
            rec.map = common::map_leads(hd, mapping_);
            if (!rec.map.problem.empty()) {
                dropped_.add(name, rec.map.problem);
                continue;
            }
            if (!labels_csv_.empty()) {
                const auto it = csv_rows.find(name);
                if (it == csv_rows.end()) {
                    dropped_.add(name, "no row in labels_csv");
                    continue;
                }
                if (!it->second.problem.empty()) {
                    dropped_.add(name, it->second.problem);
                    continue;
                }
                rec.subject = it->second.subject;
                rec.labels = it->second.labels;
            } else {
                rec.subject = name;
            }
            for (const auto& l : rec.map.leads) lead_set.insert(l.first);
            records_.push_back(std::move(rec));
        }
        fingerprint_ = h.hex();

        if (records_.empty()) {
            std::string list;
            const auto dropped = dropped_.list();
            for (std::size_t i = 0; i < dropped.size() && i < 5; ++i) list += "; " + dropped[i].record + ": " + dropped[i].reason;
            throw std::runtime_error("wfdb_folder: no usable records in '" + path_ + "' (" + std::to_string(found.size()) +
                                     " headers found, " + dropped_.summary() + list + ")");
        }
        for (const auto& lead : ecgbench::standard_12_leads())
            if (lead_set.count(lead)) leads_.push_back(lead);

        // Patient-disjoint split over the records kept so far, so a later drop moves nobody.
        std::set<std::string> subjects, test_subjects;
        for (auto folder : test_folders_) {
            while (!folder.empty() && folder.back() == '/') folder.pop_back();
            const std::string prefix = folder + "/";
            bool any = false;
            for (const auto& rec : records_)
                if (rec.name.rfind(prefix, 0) == 0) {
                    test_subjects.insert(rec.subject);
                    any = true;
                }
            if (folder.empty() || !any)
                throw std::invalid_argument("wfdb_folder: `test_folders`: no usable record under '" + folder + "/' in '" + path_ + "'");
        }
        for (const auto& rec : records_)
            if (!test_subjects.count(rec.subject)) subjects.insert(rec.subject);
        subject_split_ = common::hashed_subject_splits(subjects, val_fraction_, test_subjects.empty() ? test_fraction_ : 0.0, seed_);
        for (const auto& s : test_subjects) {
            subject_split_[s] = Split::Test;
            subjects.insert(s);
        }
        std::int64_t index = 0;
        for (const auto& s : subjects) subject_index_[s] = index++;  // alphabetical subject index
    }

    /// A labels_format = "reference" file: `record,CLASS` rows without a header row (extra fields
    /// ignored), one-hot over label_columns; a class not listed is the record's drop reason.
    std::map<std::string, LabelRow> reference_rows(const std::string& text) const {
        std::vector<std::size_t> lines;
        const auto rows = common::parse_csv_rows(text, labels_csv_, &lines);
        std::map<std::string, LabelRow> out;
        for (std::size_t r = 0; r < rows.size(); ++r) {
            const std::string record = rows[r].empty() ? std::string() : common::trim(rows[r][0]);
            const std::string cls = rows[r].size() < 2 ? std::string() : common::trim(rows[r][1]);
            if (record.empty()) continue;
            if (cls.empty()) {
                throw std::invalid_argument("wfdb_folder: " + labels_csv_ + ":" + std::to_string(lines[r]) +
                                            ": expected `record,CLASS` (labels_format = \"reference\")");
            }
            LabelRow row{record, std::vector<float>(label_columns_.size(), 0.0f), {}};
            const auto k = std::find(label_columns_.begin(), label_columns_.end(), cls);
            if (k == label_columns_.end()) row.problem = "label not in label_columns ('" + cls + "')";
            else row.labels[static_cast<std::size_t>(k - label_columns_.begin())] = 1.0f;
            out[record] = std::move(row);
        }
        return out;
    }

    /// Hands the kept records to the reader, which drops those with invalid samples when read.
    void make_reader() {
        std::vector<common::PendingRecord> pending;
        for (auto& rec : records_) {
            common::PendingRecord p;
            p.id = rec.name;
            p.header = std::move(rec.header);
            p.map = std::move(rec.map);
            p.split = subject_split_.at(rec.subject);
            p.subject = subject_index_.at(rec.subject);
            p.labels = std::move(rec.labels);
            pending.push_back(std::move(p));
        }
        const std::string found = std::to_string(records_.size() + dropped_.size()) + " records found";
        records_ = {};
        reader_ = std::make_unique<common::RecordReader>(
            common::RecordLayout{leads_, samples_, label_columns_.size(), {}, false, resample_ ? sampling_rate_ : 0.0}, std::move(pending), &dropped_,
            [this, found] { dropped_.print("wfdb_folder", "'" + path_ + "': " + found); });
    }

    std::string path_, labels_csv_;
    bool reference_;
    std::vector<std::string> label_columns_;
    double duration_s_, sampling_rate_;
    bool resample_;
    double val_fraction_, test_fraction_;
    std::uint64_t seed_;
    std::vector<std::string> test_folders_;
    common::LeadMapping mapping_;
    std::int64_t samples_ = 0;
    bool has_subjects_ = false;
    std::string fingerprint_;
    std::vector<std::string> leads_;
    std::vector<Record> records_;
    std::map<std::string, Split> subject_split_;
    std::map<std::string, std::int64_t> subject_index_;

    common::DropLog dropped_;
    std::unique_ptr<common::RecordReader> reader_;
};

ecgbench::PluginDescriptor describe() {
    ecgbench::PluginDescriptor d;
    d.manifest = {"wfdb_folder", ecgbench::PluginKind::Dataset, "1.3.0",
                  "any folder of WFDB records (+ optional labels/subjects CSV or Challenge REFERENCE.csv); first "
                  "duration_s seconds in mV, canonical leads (lead_alias / default_lead for other names), "
                  "patient-disjoint hashed splits",
                  schema()};
    d.make_dataset = [](const Params& p) { return std::make_unique<WfdbFolder>(p); };
    return d;
}

}  // namespace

ECGBENCH_PLUGIN(describe)
