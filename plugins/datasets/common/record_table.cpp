#include "common/record_table.hpp"

#include "ecgbench/leads.hpp"

#include <ATen/ATen.h>

#include <cstdio>
#include <stdexcept>
#include <utility>

namespace ecgbench::datasets {

RecordTable::RecordTable(std::vector<std::string> leads, std::int64_t samples, std::size_t classes,
                         std::vector<std::string> covariates, bool texts)
    : leads_(std::move(leads)),
      covariate_names_(std::move(covariates)),
      samples_(samples),
      classes_(classes),
      has_texts_(texts),
      signal_(std::make_shared<std::vector<float>>()) {}

void RecordTable::add(const std::string& id, Split split, std::int64_t subject, const float* signal,
                      const unsigned char* present, const std::vector<float>& labels,
                      const std::vector<float>& covariates, const std::string& text) {
    if (finished_) throw std::logic_error("RecordTable::add after finish");
    if (labels.size() != classes_) throw std::logic_error("RecordTable::add: " + id + ": wrong label count");
    if (covariates.size() != covariate_names_.size()) throw std::logic_error("RecordTable::add: " + id + ": wrong covariate count");
    const auto L = leads_.size();
    const std::int64_t row = size();
    signal_->insert(signal_->end(), signal, signal + L * static_cast<std::size_t>(samples_));
    present_.insert(present_.end(), present, present + L);
    labels_.insert(labels_.end(), labels.begin(), labels.end());
    covariates_.insert(covariates_.end(), covariates.begin(), covariates.end());
    subjects_.push_back(subject);
    ids_.push_back(id);
    if (has_texts_) texts_.push_back(text);
    rows_[static_cast<std::size_t>(split)].push_back(row);
}

void RecordTable::finish() {
    if (finished_) return;
    finished_ = true;
    const std::int64_t N = size();
    const auto L = static_cast<std::int64_t>(leads_.size());
    // The signal buffer is handed to the tensor without a copy (it may be gigabytes).
    auto owner = signal_;
    signals_t_ = at::from_blob(owner->data(), {N, L, samples_}, [owner](void*) mutable { owner.reset(); },
                               at::TensorOptions().dtype(at::kFloat));
    signal_.reset();
    present_t_ = at::from_blob(present_.data(), {N, L}, at::kByte).to(at::kBool);
    labels_t_ = at::from_blob(labels_.data(), {N, static_cast<std::int64_t>(classes_)}, at::kFloat).clone();
    subjects_t_ = at::from_blob(subjects_.data(), {N}, at::kLong).clone();
    covariates_t_ =
        at::from_blob(covariates_.data(), {N, static_cast<std::int64_t>(covariate_names_.size())}, at::kFloat).clone();
    for (std::size_t k = 0; k < 3; ++k) {
        rows_t_[k] = at::from_blob(rows_[k].data(), {static_cast<std::int64_t>(rows_[k].size())}, at::kLong).clone();
    }
    std::vector<unsigned char>().swap(present_);
    std::vector<float>().swap(labels_);
    std::vector<float>().swap(covariates_);
}

std::int64_t RecordTable::size(Split split) const { return static_cast<std::int64_t>(rows_[static_cast<std::size_t>(split)].size()); }

EcgSplit RecordTable::select(Split split, const std::vector<std::string>& wanted) const {
    const std::vector<int> columns = lead_columns(leads_, wanted);
    if (!finished_) throw std::logic_error("RecordTable::select before finish");
    const at::Tensor& rows = rows_t_[static_cast<std::size_t>(split)];
    const at::Tensor cols = at::tensor(std::vector<std::int64_t>(columns.begin(), columns.end()), at::kLong);
    EcgSplit out;
    out.signals = signals_t_.index_select(0, rows).index_select(1, cols).contiguous();
    out.lead_present = present_t_.index_select(0, rows).index_select(1, cols).contiguous();
    out.labels = labels_t_.index_select(0, rows);
    out.subjects = subjects_t_.index_select(0, rows);
    const at::Tensor cov = covariates_t_.index_select(0, rows);
    for (std::size_t k = 0; k < covariate_names_.size(); ++k) {
        out.covariates[covariate_names_[k]] = cov.select(1, static_cast<std::int64_t>(k)).contiguous();
    }
    const auto& idx = rows_[static_cast<std::size_t>(split)];
    out.record_ids.reserve(idx.size());
    for (const auto r : idx) out.record_ids.push_back(ids_[static_cast<std::size_t>(r)]);
    if (has_texts_) {
        out.texts.reserve(idx.size());
        for (const auto r : idx) out.texts.push_back(texts_[static_cast<std::size_t>(r)]);
    }
    return out;
}

void DropLog::add(const std::string& record, const std::string& reason) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (seen_.insert(record).second) records_.push_back({record, reason});
}

void DropLog::add_all(const std::vector<DroppedRecord>& records) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& d : records)
        if (seen_.insert(d.record).second) records_.push_back(d);
}

std::vector<DroppedRecord> DropLog::list() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return records_;
}

std::size_t DropLog::size() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return records_.size();
}

std::string DropLog::category(const std::string& reason) const {
    for (const auto& key : categories_)
        if (reason.rfind(key, 0) == 0) return key;
    // The reasons the shared helpers produce (leads_io.hpp), summarised without their details.
    for (const char* key : {"sampling rate", "too short", "invalid samples", "unreadable signals", "unreadable header",
                            "no standard ECG lead", "units", "multi-segment"}) {
        if (reason.rfind(key, 0) == 0) return key;
    }
    const auto cut = std::min(reason.find(" ("), reason.find(':'));
    return cut == std::string::npos ? reason : reason.substr(0, cut);
}

std::map<std::string, int> DropLog::counts() const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::map<std::string, int> counts;
    for (const auto& d : records_) ++counts[category(d.reason)];
    return counts;
}

std::string DropLog::summary() const {
    const auto by_category = counts();
    std::size_t n = 0;
    for (const auto& [reason, count] : by_category) n += static_cast<std::size_t>(count);
    if (n == 0) return "dropped 0 records";
    std::string s = "dropped " + std::to_string(n) + " record" + (n == 1 ? "" : "s") + ": ";
    bool first = true;
    for (const auto& [reason, count] : by_category) {
        s += (first ? "" : ", ") + std::to_string(count) + " " + reason;
        first = false;
    }
    return s;
}

void DropLog::print(const std::string& who, const std::string& what) const {
    const auto records = list();
    if (records.empty()) return;
    std::fprintf(stderr, "%s: %s, %s:\n", who.c_str(), what.c_str(), summary().c_str());
    for (const auto& d : records) std::fprintf(stderr, "  %s: %s\n", d.record.c_str(), d.reason.c_str());
}

}  // namespace ecgbench::datasets
