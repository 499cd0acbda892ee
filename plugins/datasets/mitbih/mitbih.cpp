// `mitbih`: beat classification on the MIT-BIH Arrhythmia Database (Moody & Mark 2001) in the
// inter-patient protocol of de Chazal, O'Dwyer & Reilly (IEEE TBME 2004) with the AAMI EC57 classes.
//
// What it follows
//  * Examples are beats: every reference annotation (`.atr`) with a beat symbol, as a fixed window of
//    `window_s` seconds centred on the annotated R peak ([R - T/2, R - T/2 + T), T samples).
//  * Classes N / S / V / F / Q (AAMI): N = N L R e j, S = A a J S, V = V E, F = F, Q = / f Q; non-beat
//    annotations (rhythm `+`, noise `~`, `|`, `x`, ...) are not examples.
//  * Split: de Chazal's DS1 (101 106 108 109 112 114 115 116 118 119 122 124 201 203 205 207 208 209
//    215 220 223 230) for training, DS2 (100 103 105 111 113 117 121 123 200 202 210 212 213 214 219
//    221 222 228 231 232 233 234) for test; the paced records 102 104 107 217 are excluded. The
//    validation split is a seeded hash of `val_fraction` of the DS1 records, so it is patient-disjoint.
//    `test_records` moves named records to test (default none: de Chazal's split exactly), for data
//    where DS2 is missing (a DS1-only copy) or for record-wise protocols; the split stays record-disjoint.
//  * Covariates per beat: rr_prev_ms / rr_next_ms (to the neighbouring beat annotations, NaN at the
//    ends: the RR features of de Chazal), rhythm_af (1 inside an `(AFIB` or `(AFL` episode of the `+`
//    rhythm annotations' aux text, 0 in any other rhythm, NaN before the first rhythm annotation),
//    age and sex (1 = male) from the header's first note of the form "# 69 M ..." (age -1 = NaN).
// What it simplifies
//  * Records 201 and 202 come from the same subject (DS1 vs DS2), as in de Chazal's split.
//  * Leads: the dataset offers the canonical `leads` parameter (default II = MLII, and V1); a record
//    lacking one has it 0 with lead_present false; a record with none of them is dropped.
//  * No filtering, no resampling (records must be 360 Hz).
//  * Dropped (listed): paced records, absent records (no <n>.hea in `path`), unreadable files, and
//    single beats ("<record>:<sample>") whose window leaves the record or holds invalid samples.
//  * Signals whose description is not a standard lead name can be named with the lead mapping params
//    every WFDB-based plugin shares (`lead_alias`, `default_lead`: common/leads_io.hpp; none by default).
//  * Fingerprint: version, params, and per record its header text, signal file sizes and the
//    annotation file's bytes.
#include "common/leads_io.hpp"
#include "common/record_table.hpp"
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
#include <mutex>
#include <set>
#include <sstream>
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
constexpr double kRate = 360.0;

const std::vector<int> kDs1{101, 106, 108, 109, 112, 114, 115, 116, 118, 119, 122,
                            124, 201, 203, 205, 207, 208, 209, 215, 220, 223, 230};
const std::vector<int> kDs2{100, 103, 105, 111, 113, 117, 121, 123, 200, 202, 210,
                            212, 213, 214, 219, 221, 222, 228, 231, 232, 233, 234};
const std::vector<int> kPaced{102, 104, 107, 217};

const std::vector<std::string>& classes() {
    static const std::vector<std::string> names{"N", "S", "V", "F", "Q"};
    return names;
}

/// AAMI class index of a beat symbol, -1 for non-beat annotations.
int aami_class(const std::string& symbol) {
    static const std::map<std::string, int> table{{"N", 0}, {"L", 0}, {"R", 0}, {"e", 0}, {"j", 0}, {"A", 1},
                                                  {"a", 1}, {"J", 1}, {"S", 1}, {"V", 2}, {"E", 2}, {"F", 3},
                                                  {"/", 4}, {"f", 4}, {"Q", 4}};
    const auto it = table.find(symbol);
    return it == table.end() ? -1 : it->second;
}

const std::vector<ParamSpec>& schema() {
    static const std::vector<ParamSpec> specs = common::with_lead_mapping_params({
        {"path", ParamType::String, std::string{}, "folder of the MIT-BIH records 100..234 (.hea, .dat, .atr; required)", {}, {}, {}},
        {"window_s", ParamType::Float, 1.0, "beat window length in seconds, centred on the R peak", 0.1, 10.0, {}},
        {"leads", ParamType::StringList, std::vector<std::string>{"II", "V1"}, "canonical leads the dataset offers", {}, {}, {}},
        {"val_fraction", ParamType::Float, 0.2, "fraction of the DS1 records used for validation", 0.0, 0.9, {}},
        {"seed", ParamType::Int, std::int64_t{0}, "seed of the DS1 train/val hash", 0.0, 9.0e15, {}},
        {"test_records", ParamType::StringList, std::vector<std::string>{},
         "records moved to the test split whatever their DS1/DS2 side (e.g. [\"101\", \"205\"] when only DS1 is at hand); "
         "empty = de Chazal's DS1/DS2 split",
         {}, {}, {}},
    });
    return specs;
}

const std::vector<std::string>& covariate_names() {
    static const std::vector<std::string> names{"rr_prev_ms", "rr_next_ms", "rhythm_af", "age", "sex"};
    return names;
}

struct Record {
    std::string name;
    wfdb::Header header;
    common::LeadMap map;
    fs::path annotations;
    Split split = Split::Train;
    std::int64_t subject = 0;
    float age = std::nanf(""), sex = std::nanf("");
};

class MitBih final : public ecgbench::Dataset {
public:
    explicit MitBih(const Params& p)
        : path_(p.get_string("path")), window_s_(p.get_float("window_s")), val_fraction_(p.get_float("val_fraction")) {
        mapping_ = common::LeadMapping::from_params(p, "mitbih");
        if (path_.empty()) throw std::invalid_argument("mitbih: parameter `path` is required but is empty");
        std::error_code ec;
        if (!fs::is_directory(path_, ec)) throw std::invalid_argument("mitbih: `path` '" + path_ + "' is not a folder");
        for (const auto& lead : p.get_strings("leads")) {
            const auto canonical = ecgbench::canonical_lead_name(lead);
            if (!canonical || *canonical != lead) {
                throw std::invalid_argument("mitbih: `leads`: '" + lead + "' is not a canonical lead name (I, II, ..., V6)");
            }
            leads_.push_back(lead);
        }
        if (leads_.empty()) throw std::invalid_argument("mitbih: `leads` is empty");
        window_ = std::llround(window_s_ * kRate);
        for (const auto& name : p.get_strings("test_records")) {
            const bool known = std::any_of(kDs1.begin(), kDs1.end(), [&](int r) { return std::to_string(r) == name; }) ||
                               std::any_of(kDs2.begin(), kDs2.end(), [&](int r) { return std::to_string(r) == name; });
            if (!known)
                throw std::invalid_argument("mitbih: `test_records`: '" + name + "' is not one of the 44 non-paced records of DS1/DS2");
            test_records_.insert(name);
        }
        scan(p, static_cast<std::uint64_t>(p.get_int("seed")));
    }

    DatasetInfo info() const override {
        DatasetInfo info;
        info.name = "mitbih";
        info.version = kVersion;
        info.fingerprint = fingerprint_;
        info.sampling_rate_hz = kRate;
        info.samples = window_;
        info.leads = leads_;
        info.classes = classes();
        std::lock_guard<std::mutex> lock(mutex_);
        info.preprocessing = "beats: " + std::to_string(window_) + "-sample windows centred on the .atr R peak, 360 Hz, mV, "
                             "no filtering; AAMI classes N/S/V/F/Q; covariates rr_prev_ms, rr_next_ms, rhythm_af, age, "
                             "sex (1 = male); " + mapping_.note() + dropped_.summary() + (loaded_ ? "" : " (beats not read yet)");
        info.split_rule = "inter-patient (de Chazal et al. 2004): DS1 records train, of which " + format_number(val_fraction_) +
                          " of the records (seeded hash) val; DS2 records test; paced 102/104/107/217 excluded";
        if (!test_records_.empty()) {
            info.split_rule += "; moved to test: ";
            for (const auto& name : test_records_) info.split_rule += name + " ";
            info.split_rule.pop_back();
        }
        info.covariates = covariate_names();
        return info;
    }

    EcgSplit load(Split split, const std::vector<std::string>& wanted) override {
        ecgbench::lead_columns(leads_, wanted);
        std::call_once(read_once_, [this] { read_all(); });
        return table_->select(split, wanted);
    }

    std::vector<ecgbench::DroppedRecord> dropped_records() const override { return dropped_.list(); }

private:
    void scan(const Params& p, std::uint64_t seed) {
        ecgbench::Fingerprint h;
        h.add(std::string("mitbih/") + kVersion + "|").add_params(schema(), p);
        std::set<std::string> ds1;
        for (const int paced : kPaced) dropped_.add(std::to_string(paced), "paced record (excluded, de Chazal et al. 2004)");
        for (const auto* list : {&kDs1, &kDs2}) {
            for (const int number : *list) {
                Record rec;
                rec.name = std::to_string(number);
                const fs::path base = fs::path(path_) / rec.name;
                if (!fs::exists(fs::path(path_) / (rec.name + ".hea"))) {
                    dropped_.add(rec.name, "absent (no " + rec.name + ".hea in path)");
                    continue;
                }
                std::string problem;
                auto header = common::read_header_fingerprinted(base, rec.name, h, problem);
                if (!header) {
                    dropped_.add(rec.name, problem);
                    continue;
                }
                if (problem = common::header_problem(*header, kRate, 1); !problem.empty()) {
                    dropped_.add(rec.name, problem);
                    continue;
                }
                if (!header->nsamp) {
                    dropped_.add(rec.name, "no sample count in the header");
                    continue;
                }
                rec.map = common::map_leads(*header, mapping_);
                const bool any = std::any_of(leads_.begin(), leads_.end(), [&](const auto& l) { return rec.map.has(l); });
                if (!rec.map.problem.empty() || !any) {
                    dropped_.add(rec.name, rec.map.problem.empty() ? "none of the leads " + join(leads_) : rec.map.problem);
                    continue;
                }
                rec.annotations = fs::path(path_) / (rec.name + ".atr");
                try {
                    h.add("atr|" + common::read_text(rec.annotations, "mitbih") + "|");
                } catch (const std::exception& e) {
                    dropped_.add(rec.name, std::string("unreadable annotations: ") + e.what());
                    continue;
                }
                // "# 69 M 1085 1629 x1": age, sex, ... in the first note after the signal lines that has them
                // (comments before the record line are not notes).
                for (std::size_t c = header->leading_comments; c < header->comments.size(); ++c) {
                    std::istringstream note(header->comments[c]);
                    std::string age, sex;
                    note >> age >> sex;
                    const auto n = common::parse_number(age);
                    if (!n || (sex != "M" && sex != "F")) continue;
                    if (std::isfinite(*n) && *n >= 0) rec.age = static_cast<float>(*n);
                    rec.sex = sex == "M" ? 1.0f : 0.0f;
                    break;
                }
                rec.header = std::move(*header);
                const bool train_side = list == &kDs1 && !test_records_.contains(rec.name);
                rec.split = train_side ? Split::Train : Split::Test;
                if (train_side) ds1.insert(rec.name);
                records_.push_back(std::move(rec));
            }
        }
        fingerprint_ = h.hex();
        if (records_.empty()) {
            throw std::runtime_error("mitbih: none of the 44 non-paced MIT-BIH records is usable in '" + path_ + "' (" +
                                     dropped_.summary() + ")");
        }
        const auto val = common::hashed_subject_splits(ds1, val_fraction_, 0.0, seed);
        std::int64_t subject = 0;
        for (auto& rec : records_) {
            if (rec.split == Split::Train) rec.split = val.at(rec.name);
            rec.subject = subject++;
        }
    }

    static std::string join(const std::vector<std::string>& v) {
        std::string s;
        for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
        return s;
    }

    /// Reads each record once, cuts its beats into windows.
    void read_all() {
        const std::size_t L = leads_.size();
        table_ = std::make_unique<common::RecordTable>(leads_, window_, classes().size(), covariate_names(), false);
        std::vector<float> signal, window(L * static_cast<std::size_t>(window_));
        std::vector<unsigned char> present(L);
        const double ms = 1000.0 / kRate;
        for (const auto& rec : records_) {
            const std::int64_t n = *rec.header.nsamp;
            signal.assign(L * static_cast<std::size_t>(n), 0.0f);
            std::string failure = common::read_leads(rec.header, rec.map, leads_, 0, n, signal.data(), present.data(), true);
            std::vector<wfdb::Annotation> annotations;
            if (failure.empty()) {
                try {
                    annotations = wfdb::read_annotations(rec.annotations);
                } catch (const std::exception& e) {
                    failure = std::string("unreadable annotations: ") + e.what();
                }
            }
            if (!failure.empty()) {
                dropped_.add(rec.name, failure);
                continue;
            }
            std::vector<std::size_t> beats;
            for (std::size_t i = 0; i < annotations.size(); ++i)
                if (aami_class(annotations[i].symbol) >= 0) beats.push_back(i);
            float af = std::nanf("");
            std::size_t next_annotation = 0;
            for (std::size_t b = 0; b < beats.size(); ++b) {
                const auto& beat = annotations[beats[b]];
                for (; next_annotation <= beats[b]; ++next_annotation) {  // rhythm in force at this beat
                    const auto& a = annotations[next_annotation];
                    if (a.symbol != "+") continue;
                    const std::string aux = a.aux.substr(0, a.aux.find('\0'));
                    af = (aux == "(AFIB" || aux == "(AFL") ? 1.0f : 0.0f;
                }
                const std::string id = rec.name + ":" + std::to_string(beat.sample);
                const std::int64_t start = beat.sample - window_ / 2;
                if (start < 0 || start + window_ > n) {
                    dropped_.add(id, "beat window outside the record (" + std::to_string(window_) + " samples around " +
                                         std::to_string(beat.sample) + ", record has " + std::to_string(n) + ")");
                    continue;
                }
                bool finite = true;
                for (std::size_t l = 0; l < L && finite; ++l) {
                    const float* from = signal.data() + l * static_cast<std::size_t>(n) + start;
                    std::copy(from, from + window_, window.begin() + static_cast<std::ptrdiff_t>(l * static_cast<std::size_t>(window_)));
                    finite = std::all_of(from, from + window_, [](float v) { return std::isfinite(v); });
                }
                if (!finite) {
                    dropped_.add(id, "invalid samples in the beat window");
                    continue;
                }
                std::vector<float> labels(classes().size(), 0.0f);
                labels[static_cast<std::size_t>(aami_class(beat.symbol))] = 1.0f;
                const float rr_prev = b > 0 ? static_cast<float>((beat.sample - annotations[beats[b - 1]].sample) * ms) : std::nanf("");
                const float rr_next = b + 1 < beats.size() ? static_cast<float>((annotations[beats[b + 1]].sample - beat.sample) * ms)
                                                           : std::nanf("");
                table_->add(id, rec.split, rec.subject, window.data(), present.data(), labels,
                            {rr_prev, rr_next, af, rec.age, rec.sex});
            }
        }
        table_->finish();
        std::lock_guard<std::mutex> lock(mutex_);
        loaded_ = true;
        dropped_.print("mitbih", "'" + path_ + "'");
    }

    std::string path_;
    double window_s_, val_fraction_;
    std::int64_t window_ = 0;
    std::vector<std::string> leads_;
    std::set<std::string> test_records_;
    std::vector<Record> records_;
    common::LeadMapping mapping_;
    std::string fingerprint_;

    common::DropLog dropped_;
    mutable std::mutex mutex_;
    bool loaded_ = false;
    std::once_flag read_once_;
    std::unique_ptr<common::RecordTable> table_;
};

ecgbench::PluginDescriptor describe() {
    ecgbench::PluginDescriptor d;
    d.manifest = {"mitbih", ecgbench::PluginKind::Dataset, "1.2.0",
                  "MIT-BIH Arrhythmia beats: AAMI N/S/V/F/Q, R-centred windows, de Chazal DS1/DS2 inter-patient split, "
                  "RR and AF-rhythm covariates",
                  schema()};
    d.make_dataset = [](const Params& p) { return std::make_unique<MitBih>(p); };
    return d;
}

}  // namespace

ECGBENCH_PLUGIN(describe)
