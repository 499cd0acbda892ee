// `wfdb_folder`: any folder of WFDB records (searched recursively for `.hea` files) plus an optional
// CSV of labels and subjects, so users can benchmark on their own data without writing a plugin.
//
// What it does
//  * Records are cut to their first `duration_s` seconds and returned in physical units (mV; `uV`/`µV`
//    and `V` headers are converted). Leads are found by each signal's description through
//    ecgbench::canonical_lead_name (`MLII` → `II`, `v1` → `V1`); DatasetInfo::leads is the union of the
//    canonical leads over the kept records, in standard 12-lead order. A lead a record lacks is an
//    explicit missing state: its column is 0 and `lead_present` is false.
//  * `labels_csv` (optional): header row, a `record` column (path relative to `path`, no extension,
//    `/` separators), an optional `subject` column and the 0/1 columns named by `label_columns`.
//    With a CSV, folder records without a row are dropped; rows without a record are ignored.
//  * Splits: subjects (or records when there is no `subject` column) are ranked by a seeded hash and
//    cut val_fraction / test_fraction / rest, so splits are patient-disjoint when subjects are given.
//    The ranking is made over the records kept after reading headers, so a record dropped later
//    (invalid samples) never moves another record to another split.
//  * Dropped records are counted and listed with their reason: header-level reasons (wrong sampling
//    rate, too short, no standard lead, unsupported units, unreadable header, no CSV row) are known
//    after construction; "invalid samples" (NaN after decoding) and unreadable signal files only after
//    the first load(). The per-record list is logged to stderr once (after the first load) and the
//    counts appear in DatasetInfo::preprocessing.
//  * Fingerprint: FNV-1a 64 over the plugin version, every parameter, the CSV text, and per record
//    its name, its `.hea` text and the size of each signal file. info() never reads signal data.
// What it simplifies
//  * No resampling: records at another rate than `sampling_rate` are dropped (resampling comes later).
//  * Multi-segment records are dropped (their segment headers are then seen as records of their own).
//  * Only the first `duration_s` seconds are used (no windowing of long records into several examples).
//  * Two signals mapping to the same lead: the first is used. No covariates are read.
//  * Dropped records are returned by dropped_records() (the runner stores them with the fingerprint),
//    summarised in DatasetInfo::preprocessing and listed on stderr.
#include "ecgbench/dataset.hpp"
#include "ecgbench/leads.hpp"
#include "ecgbench/params.hpp"
#include "ecgbench/fingerprint.hpp"
#include "ecgbench/plugin.hpp"
#include "ecgbench/wfdb.hpp"

#include <ATen/ATen.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace {

namespace fs = std::filesystem;
namespace wfdb = ecgbench::wfdb;
using ecgbench::DatasetInfo;
using ecgbench::EcgSplit;
using ecgbench::Params;
using ecgbench::ParamSpec;
using ecgbench::ParamType;
using ecgbench::Split;

/// Bump whenever the same folder and params would give different records (part of the fingerprint).
constexpr const char* kVersion = "1";

const std::vector<ParamSpec>& schema() {
    static const std::vector<ParamSpec> specs{
        {"path", ParamType::String, std::string{}, "folder of WFDB records (required; searched recursively)", {}, {}, {}},
        {"labels_csv", ParamType::String, std::string{},
         "CSV with a header row: `record` (relative to path, no extension), optional `subject`, 0/1 label "
         "columns; \"\" = no labels",
         {}, {}, {}},
        {"label_columns", ParamType::StringList, std::vector<std::string>{},
         "CSV columns used as labels (each 0/1), in class order", {}, {}, {}},
        {"duration_s", ParamType::Float, 10.0, "records are cut to their first duration_s seconds; shorter ones are dropped",
         0.01, 86400.0, {}},
        {"sampling_rate", ParamType::Float, 0.0,
         "required: the records' sampling rate in Hz; records at another rate are dropped (no resampling yet)", 0.0,
         1.0e6, {}},
        {"val_fraction", ParamType::Float, 0.15, "fraction of subjects in the validation split", 0.0, 0.9, {}},
        {"test_fraction", ParamType::Float, 0.15, "fraction of subjects in the test split", 0.0, 0.9, {}},
        {"seed", ParamType::Int, std::int64_t{0}, "seed of the split hash", 0.0, 9.0e15, {}},
    };
    return specs;
}

using ecgbench::splitmix64;

std::string format_number(double value) {
    char buffer[40];
    std::snprintf(buffer, sizeof buffer, "%g", value);
    return buffer;
}

std::string read_text(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw std::runtime_error("wfdb_folder: cannot read " + file.string());
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::string trim(const std::string& s) {
    const auto begin = s.find_first_not_of(" \t\r\n");
    if (begin == std::string::npos) return {};
    const auto end = s.find_last_not_of(" \t\r\n");
    return s.substr(begin, end - begin + 1);
}

/// RFC 4180-style CSV: quoted fields may hold commas, newlines and doubled quotes.
std::vector<std::vector<std::string>> parse_csv(const std::string& text, const std::string& source) {
    std::vector<std::vector<std::string>> rows;
    std::vector<std::string> row;
    std::string field;
    bool quoted = false, any = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char ch = text[i];
        if (quoted) {
            if (ch == '"') {
                if (i + 1 < text.size() && text[i + 1] == '"') {
                    field += '"';
                    ++i;
                } else {
                    quoted = false;
                }
            } else {
                field += ch;
            }
        } else if (ch == '"') {
            quoted = true;
            any = true;
        } else if (ch == ',') {
            row.push_back(std::move(field));
            field.clear();
            any = true;
        } else if (ch == '\n' || ch == '\r') {
            if (ch == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
            if (any || !field.empty()) {
                row.push_back(std::move(field));
                rows.push_back(std::move(row));
            }
            row.clear();
            field.clear();
            any = false;
        } else {
            field += ch;
            any = true;
        }
    }
    if (quoted) throw std::invalid_argument("wfdb_folder: " + source + ": unterminated quoted field");
    if (any || !field.empty()) {
        row.push_back(std::move(field));
        rows.push_back(std::move(row));
    }
    return rows;
}

/// Physical-unit factor to mV, or 0 when the unit is not a voltage we know.
double to_millivolt(const std::string& units) {
    const std::string u = trim(units);
    if (u.empty() || u == "mV" || u == "mv") return 1.0;
    if (u == "uV" || u == "uv" || u == "\xC2\xB5V" || u == "\xCE\xBCV") return 1e-3;
    if (u == "V") return 1e3;
    return 0.0;
}

/// Short category of a drop reason, for the summary ("sampling rate 250 Hz (expected 500)" → "sampling rate").
std::string reason_category(const std::string& reason) {
    for (const char* key : {"sampling rate", "too short", "invalid samples", "unreadable signals", "unreadable header",
                            "no standard ECG lead", "units", "multi-segment", "no row in labels_csv"}) {
        if (reason.rfind(key, 0) == 0) return key;
    }
    return reason;
}

struct Record {
    std::string name;                 ///< relative path without extension
    wfdb::Header header;
    std::vector<int> signal_of_lead;  ///< per union lead: signal index, -1 = absent (filled after scan)
    std::vector<std::pair<std::string, int>> leads;  ///< canonical lead → signal index
    std::vector<double> unit_factor;  ///< per signal
    std::vector<float> labels;
    std::string subject;
};

using Dropped = ecgbench::DroppedRecord;

class WfdbFolder final : public ecgbench::Dataset {
public:
    explicit WfdbFolder(const Params& p)
        : path_(p.get_string("path")),
          labels_csv_(p.get_string("labels_csv")),
          label_columns_(p.get_strings("label_columns")),
          duration_s_(p.get_float("duration_s")),
          sampling_rate_(p.get_float("sampling_rate")),
          val_fraction_(p.get_float("val_fraction")),
          test_fraction_(p.get_float("test_fraction")),
          seed_(static_cast<std::uint64_t>(p.get_int("seed"))) {
        if (path_.empty()) {
            throw std::invalid_argument("wfdb_folder: parameter `path` is required (a folder of WFDB records) but is empty");
        }
        std::error_code ec;
        if (!fs::is_directory(path_, ec)) {
            throw std::invalid_argument("wfdb_folder: `path` '" + path_ + "' is not a folder");
        }
        if (sampling_rate_ <= 0) {
            throw std::invalid_argument("wfdb_folder: parameter `sampling_rate` is required (the records' rate in Hz; "
                                        "records at another rate are dropped)");
        }
        if (val_fraction_ + test_fraction_ >= 1.0) {
            throw std::invalid_argument("wfdb_folder: val_fraction + test_fraction must be below 1");
        }
        if (!label_columns_.empty() && labels_csv_.empty()) {
            throw std::invalid_argument("wfdb_folder: `label_columns` given without `labels_csv`");
        }
        samples_ = std::llround(duration_s_ * sampling_rate_);
        if (samples_ < 1) throw std::invalid_argument("wfdb_folder: duration_s * sampling_rate gives no samples");
        scan(p);
    }

    std::vector<Dropped> dropped_records() const override {
        std::lock_guard<std::mutex> lock(mutex_);
        return dropped_;
    }

    DatasetInfo info() const override {
        std::lock_guard<std::mutex> lock(mutex_);
        DatasetInfo info;
        info.name = "wfdb_folder";
        info.version = kVersion;
        info.fingerprint = fingerprint_;
        info.sampling_rate_hz = sampling_rate_;
        info.samples = samples_;
        info.leads = leads_;
        info.classes = label_columns_;
        info.preprocessing = "first " + format_number(duration_s_) + " s at " + format_number(sampling_rate_) +
                             " Hz, mV (no filtering, no normalisation; absent leads are 0 with lead_present false); " +
                             drop_summary() +
                             (loaded_ ? std::string() : " (signals not read yet: records with invalid samples are "
                                                        "found and dropped at the first load)");
        info.split_rule = std::string("patient-disjoint: ") + (has_subjects_ ? "subjects (labels_csv `subject`)" : "records") +
                          " ranked by a hash of (seed, name); first " + format_number(val_fraction_) +
                          " val, next " + format_number(test_fraction_) +
                          " test, rest train (at least one each when fraction > 0 and >= 3 subjects)";
        return info;
    }

    EcgSplit load(Split split, const std::vector<std::string>& wanted) override {
        const std::vector<int> columns = ecgbench::lead_columns(leads_, wanted);  // unknown name fails fast
        std::call_once(read_once_, [this] { read_all(); });
        const at::Tensor& rows = split_rows_[static_cast<std::size_t>(split)];
        const at::Tensor cols = at::tensor(std::vector<std::int64_t>(columns.begin(), columns.end()), at::kLong);
        EcgSplit out;
        out.signals = signals_.index_select(0, rows).index_select(1, cols).contiguous();
        out.lead_present = present_.index_select(0, rows).index_select(1, cols).contiguous();
        out.labels = labels_.index_select(0, rows);
        out.subjects = subjects_.index_select(0, rows);
        const auto* row = rows.data_ptr<std::int64_t>();
        for (std::int64_t i = 0; i < rows.size(0); ++i) out.record_ids.push_back(record_ids_[static_cast<std::size_t>(row[i])]);
        return out;
    }

private:
    void drop(const std::string& record, const std::string& reason) { dropped_.push_back({record, reason}); }

    std::string drop_summary() const {
        if (dropped_.empty()) return "dropped 0 records";
        std::map<std::string, int> counts;
        for (const auto& d : dropped_) ++counts[reason_category(d.reason)];
        std::string s = "dropped " + std::to_string(dropped_.size()) + " record" + (dropped_.size() == 1 ? "" : "s") + ": ";
        bool first = true;
        for (const auto& [reason, count] : counts) {
            s += (first ? "" : ", ") + std::to_string(count) + " " + reason;
            first = false;
        }
        return s;
    }

    /// Finds the records, reads headers and the CSV, applies header-level checks, ranks subjects.
    void scan(const Params& p) {
        ecgbench::Fingerprint h;
        h.add(std::string("wfdb_folder/") + kVersion + "|").add_params(schema(), p);

        // Labels and subjects.
        std::map<std::string, std::pair<std::string, std::vector<float>>> csv_rows;  // record → (subject, labels)
        if (!labels_csv_.empty()) {
            const std::string text = read_text(labels_csv_);
            h.add("csv|" + text + "|");
            const auto rows = parse_csv(text, labels_csv_);
            if (rows.empty()) throw std::invalid_argument("wfdb_folder: " + labels_csv_ + " is empty");
            const auto& head = rows[0];
            auto column = [&](const std::string& name) -> int {
                for (std::size_t i = 0; i < head.size(); ++i)
                    if (trim(head[i]) == name) return static_cast<int>(i);
                return -1;
            };
            const int record_col = column("record");
            if (record_col < 0) throw std::invalid_argument("wfdb_folder: " + labels_csv_ + " has no `record` column");
            const int subject_col = column("subject");
            has_subjects_ = subject_col >= 0;
            std::vector<int> label_cols;
            for (const auto& name : label_columns_) {
                const int c = column(name);
                if (c < 0) throw std::invalid_argument("wfdb_folder: label column `" + name + "` not in " + labels_csv_);
                label_cols.push_back(c);
            }
            for (std::size_t r = 1; r < rows.size(); ++r) {
                const auto& row = rows[r];
                auto cell = [&](int c) { return c < static_cast<int>(row.size()) ? trim(row[static_cast<std::size_t>(c)]) : std::string(); };
                const std::string record = cell(record_col);
                if (record.empty()) continue;
                std::vector<float> labels;
                for (std::size_t k = 0; k < label_cols.size(); ++k) {
                    const std::string v = cell(label_cols[k]);
                    if (v != "0" && v != "1") {
                        throw std::invalid_argument("wfdb_folder: " + labels_csv_ + " row " + std::to_string(r + 1) +
                                                    ", column `" + label_columns_[k] + "`: expected 0 or 1, got '" + v + "'");
                    }
                    labels.push_back(v == "1" ? 1.0f : 0.0f);
                }
                std::string subject = subject_col >= 0 ? cell(subject_col) : record;
                if (subject.empty()) subject = record;
                csv_rows[record] = {subject, std::move(labels)};
            }
        }

        // Headers, in sorted order of their relative names.
        std::vector<std::pair<std::string, fs::path>> found;
        for (const auto& entry : fs::recursive_directory_iterator(path_, fs::directory_options::skip_permission_denied)) {
            if (!entry.is_regular_file() || entry.path().extension() != ".hea") continue;
            fs::path rel = fs::relative(entry.path(), path_);
            rel.replace_extension();
            found.emplace_back(rel.generic_string(), entry.path());
        }
        std::sort(found.begin(), found.end());

        std::set<std::string> lead_set;
        for (const auto& [name, hea] : found) {
            const std::string text = read_text(hea);
            h.add("rec|" + name + "|" + text + "|");
            Record rec;
            rec.name = name;
            try {
                rec.header = wfdb::parse_header(text, hea.string());
            } catch (const std::exception& e) {
                drop(name, std::string("unreadable header: ") + e.what());
                continue;
            }
            rec.header.directory = hea.parent_path();
            std::set<std::string> files;
            for (const auto& s : rec.header.signals) files.insert(s.file_name);
            for (const auto& f : files) {
                std::error_code ec;
                const auto size = fs::file_size(rec.header.directory / f, ec);
                h.add("dat|" + f + "|" + (ec ? std::string("missing") : std::to_string(size)) + "|");
            }

            const auto& hd = rec.header;
            if (hd.multi_segment()) {
                drop(name, "multi-segment record (not supported)");
                continue;
            }
            if (std::abs(hd.fs - sampling_rate_) > 1e-9 * sampling_rate_) {
                drop(name, "sampling rate " + format_number(hd.fs) + " Hz (expected " + format_number(sampling_rate_) + ")");
                continue;
            }
            if (hd.nsamp && *hd.nsamp < samples_) {
                drop(name, "too short (" + format_number(static_cast<double>(*hd.nsamp) / hd.fs) + " s < " +
                               format_number(duration_s_) + " s)");
                continue;
            }
            bool bad_units = false;
            for (std::size_t s = 0; s < hd.signals.size(); ++s) {
                const auto canonical = ecgbench::canonical_lead_name(hd.signals[s].description);
                if (!canonical) continue;
                const double factor = to_millivolt(hd.signals[s].units);
                if (factor == 0.0) {
                    drop(name, "units '" + hd.signals[s].units + "' of signal " + hd.signals[s].description +
                                   " not a voltage (mV, uV, V)");
                    bad_units = true;
                    break;
                }
                const bool seen = std::any_of(rec.leads.begin(), rec.leads.end(),
                                              [&](const auto& l) { return l.first == *canonical; });
                if (!seen) rec.leads.emplace_back(*canonical, static_cast<int>(s));
            }
            if (bad_units) continue;
            if (rec.leads.empty()) {
                drop(name, "no standard ECG lead among the signal descriptions");
                continue;
            }
            if (!labels_csv_.empty()) {
                const auto it = csv_rows.find(name);
                if (it == csv_rows.end()) {
                    drop(name, "no row in labels_csv");
                    continue;
                }
                rec.subject = it->second.first;
                rec.labels = it->second.second;
            } else {
                rec.subject = name;
            }
            rec.unit_factor.reserve(hd.signals.size());
            for (const auto& s : hd.signals) rec.unit_factor.push_back(to_millivolt(s.units));
            for (const auto& l : rec.leads) lead_set.insert(l.first);
            records_.push_back(std::move(rec));
        }
        fingerprint_ = h.hex();

        if (records_.empty()) {
            std::string list;
            for (std::size_t i = 0; i < dropped_.size() && i < 5; ++i) list += "; " + dropped_[i].record + ": " + dropped_[i].reason;
            throw std::runtime_error("wfdb_folder: no usable records in '" + path_ + "' (" + std::to_string(found.size()) +
                                     " headers found, " + drop_summary() + list + ")");
        }
        for (const auto& lead : ecgbench::standard_12_leads())
            if (lead_set.count(lead)) leads_.push_back(lead);
        for (auto& rec : records_) {
            rec.signal_of_lead.assign(leads_.size(), -1);
            for (const auto& [lead, signal] : rec.leads) {
                const auto pos = std::find(leads_.begin(), leads_.end(), lead) - leads_.begin();
                rec.signal_of_lead[static_cast<std::size_t>(pos)] = signal;
            }
        }

        // Patient-disjoint split: rank subjects by a seeded hash, cut val / test / rest.
        std::set<std::string> subject_set;
        for (const auto& rec : records_) subject_set.insert(rec.subject);
        std::vector<std::pair<std::uint64_t, std::string>> ranked;
        for (const auto& s : subject_set) {
            ranked.emplace_back(splitmix64(ecgbench::Fingerprint().add(s).value() ^ splitmix64(seed_)), s);
        }
        std::sort(ranked.begin(), ranked.end());
        const auto n = static_cast<std::int64_t>(ranked.size());
        auto count = [n](double fraction) {
            std::int64_t k = std::llround(fraction * static_cast<double>(n));
            if (fraction > 0 && n >= 3) k = std::max<std::int64_t>(k, 1);
            return k;
        };
        std::int64_t val = count(val_fraction_), test = count(test_fraction_);
        while (val + test >= n && (val > 0 || test > 0)) (test >= val ? test : val) -= 1;  // keep >= 1 train
        for (std::int64_t k = 0; k < n; ++k) {
            const int split = k < val ? 1 : k < val + test ? 2 : 0;
            subject_split_[ranked[static_cast<std::size_t>(k)].second] = split;
            subject_index_[ranked[static_cast<std::size_t>(k)].second] = 0;
        }
        std::int64_t index = 0;
        for (auto& [s, i] : subject_index_) i = index++;  // alphabetical subject index
    }

    /// Reads every kept record once (all splits), dropping those with invalid samples.
    void read_all() {
        const auto L = static_cast<std::int64_t>(leads_.size());
        const auto C = static_cast<std::int64_t>(label_columns_.size());
        std::vector<float> signal, labels;
        std::vector<unsigned char> present;
        std::vector<std::int64_t> subjects;
        std::array<std::vector<std::int64_t>, 3> rows;
        std::vector<Dropped> late;
        for (const auto& rec : records_) {
            std::vector<float> block(static_cast<std::size_t>(L * samples_), 0.0f);
            std::string failure;
            try {
                wfdb::ReadOptions options;
                options.to = samples_;
                for (const int s : rec.signal_of_lead)
                    if (s >= 0) options.signals.push_back(s);
                const wfdb::SignalData data = wfdb::read_signals(rec.header, options);
                if (data.rows < samples_) throw wfdb::WfdbError("only " + std::to_string(data.rows) + " samples");
                std::size_t k = 0;
                for (std::int64_t l = 0; l < L && failure.empty(); ++l) {
                    const int s = rec.signal_of_lead[static_cast<std::size_t>(l)];
                    if (s < 0) continue;
                    const double factor = rec.unit_factor[static_cast<std::size_t>(s)];
                    for (std::int64_t t = 0; t < samples_; ++t) {
                        const double v = data.physical(k, t) * factor;
                        if (!std::isfinite(v)) {
                            failure = "invalid samples (signal " + rec.header.signals[static_cast<std::size_t>(s)].description +
                                      ", sample " + std::to_string(t) + ")";
                            break;
                        }
                        block[static_cast<std::size_t>(l * samples_ + t)] = static_cast<float>(v);
                    }
                    ++k;
                }
            } catch (const std::exception& e) {
                failure = std::string("unreadable signals: ") + e.what();
            }
            if (!failure.empty()) {
                late.push_back({rec.name, failure});
                continue;
            }
            const std::int64_t row = static_cast<std::int64_t>(record_ids_.size());
            record_ids_.push_back(rec.name);
            signal.insert(signal.end(), block.begin(), block.end());
            for (std::int64_t l = 0; l < L; ++l) present.push_back(rec.signal_of_lead[static_cast<std::size_t>(l)] >= 0 ? 1 : 0);
            labels.insert(labels.end(), rec.labels.begin(), rec.labels.end());
            subjects.push_back(subject_index_.at(rec.subject));
            rows[static_cast<std::size_t>(subject_split_.at(rec.subject))].push_back(row);
        }
        const auto N = static_cast<std::int64_t>(record_ids_.size());
        signals_ = at::tensor(signal, at::kFloat).reshape({N, L, samples_});
        present_ = at::tensor(std::vector<std::int64_t>(present.begin(), present.end()), at::kLong).reshape({N, L}).to(at::kBool);
        labels_ = at::tensor(labels, at::kFloat).reshape({N, C});
        subjects_ = at::tensor(subjects, at::kLong);
        for (std::size_t k = 0; k < 3; ++k) split_rows_[k] = at::tensor(rows[k], at::kLong);

        std::lock_guard<std::mutex> lock(mutex_);
        dropped_.insert(dropped_.end(), late.begin(), late.end());
        loaded_ = true;
        if (!dropped_.empty()) {
            std::fprintf(stderr, "wfdb_folder: '%s': %zu records found, %s:\n", path_.c_str(),
                         records_.size() + dropped_.size() - late.size(), drop_summary().c_str());
            for (const auto& d : dropped_) std::fprintf(stderr, "  %s: %s\n", d.record.c_str(), d.reason.c_str());
        }
    }

    std::string path_, labels_csv_;
    std::vector<std::string> label_columns_;
    double duration_s_, sampling_rate_, val_fraction_, test_fraction_;
    std::uint64_t seed_;
    std::int64_t samples_ = 0;
    bool has_subjects_ = false;
    std::string fingerprint_;
    std::vector<std::string> leads_;
    std::vector<Record> records_;
    std::map<std::string, int> subject_split_;
    std::map<std::string, std::int64_t> subject_index_;

    mutable std::mutex mutex_;  // guards dropped_ and loaded_ (info() may run while load() reads)
    std::vector<Dropped> dropped_;
    bool loaded_ = false;

    std::once_flag read_once_;
    std::vector<std::string> record_ids_;
    at::Tensor signals_, present_, labels_, subjects_;
    std::array<at::Tensor, 3> split_rows_;  // indexed by Split
};

ecgbench::PluginDescriptor describe() {
    ecgbench::PluginDescriptor d;
    d.manifest = {"wfdb_folder", ecgbench::PluginKind::Dataset, "1.0.0",
                  "any folder of WFDB records (+ optional labels/subjects CSV); first duration_s seconds in mV, "
                  "canonical leads, patient-disjoint hashed splits",
                  schema()};
    d.make_dataset = [](const Params& p) { return std::make_unique<WfdbFolder>(p); };
    return d;
}

}  // namespace

ECGBENCH_PLUGIN(describe)
