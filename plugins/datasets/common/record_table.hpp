// What a dataset plugin keeps after reading, for plugins that cut records into pieces in memory
// (mitbih's beat windows): every kept record's signals in the dataset's lead order, plus labels,
// subject, covariates and text, served per split with leads chosen by name. And the log of records
// a plugin left out. Plugins that read whole records or windows use RecordReader (record_reader.hpp).
#pragma once

#include "ecgbench/dataset.hpp"

#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace ecgbench::datasets {

/// Records of all three splits, in memory. Filled once (add, then finish), read by select().
class RecordTable {
public:
    /// `leads`: the dataset's canonical leads (DatasetInfo::leads); `samples` per record;
    /// `classes` label columns; `covariates` names (each float, NaN = missing); `texts`: whether
    /// records carry a free-text report.
    RecordTable(std::vector<std::string> leads, std::int64_t samples, std::size_t classes,
                std::vector<std::string> covariates, bool texts);

    /// Appends one record. `signal` is [leads x samples] in dataset lead order, `present` [leads],
    /// `labels` [classes], `covariates` [covariate names], `text` ignored without texts.
    void add(const std::string& id, Split split, std::int64_t subject, const float* signal, const unsigned char* present,
             const std::vector<float>& labels, const std::vector<float>& covariates = {}, const std::string& text = {});
    /// Builds the tensors; add() may not be called afterwards.
    void finish();

    /// The records of `split` with exactly `wanted` leads (canonical names; an unknown one throws
    /// std::invalid_argument naming it), every EcgSplit field filled.
    EcgSplit select(Split split, const std::vector<std::string>& wanted) const;

    std::int64_t size() const { return static_cast<std::int64_t>(ids_.size()); }
    std::int64_t size(Split split) const;

private:
    std::vector<std::string> leads_, covariate_names_;
    std::int64_t samples_;
    std::size_t classes_;
    bool has_texts_;
    bool finished_ = false;

    std::shared_ptr<std::vector<float>> signal_;  // grows during add(), owned by signals_ after finish()
    std::vector<unsigned char> present_;
    std::vector<float> labels_, covariates_;
    std::vector<std::int64_t> subjects_;
    std::vector<std::string> ids_, texts_;
    std::array<std::vector<std::int64_t>, 3> rows_;

    at::Tensor signals_t_, present_t_, labels_t_, subjects_t_, covariates_t_;
    std::array<at::Tensor, 3> rows_t_;
};

/// Records a dataset left out, with reasons. Thread-safe (info() may run while load() reads).
class DropLog {
public:
    /// `categories`: reason prefixes summarised together, besides those of the shared helpers
    /// ("sampling rate", "too short", "invalid samples", ...); a reason matching none is summarised
    /// up to its first " (" or ":".
    explicit DropLog(std::vector<std::string> categories = {}) : categories_(std::move(categories)) {}

    /// Logs a drop; a record already logged (a split read again, e.g. with other leads) keeps its
    /// first reason and is listed once.
    void add(const std::string& record, const std::string& reason);
    void add_all(const std::vector<DroppedRecord>& records);
    std::vector<DroppedRecord> list() const;
    std::size_t size() const;
    /// "dropped 0 records" or "dropped 3 records: 1 invalid samples, 2 too short" (categories sorted).
    std::string summary() const;
    /// Counts per category.
    std::map<std::string, int> counts() const;
    /// Writes "<who>: <what>, <summary>:" and one line per record to stderr (nothing when empty).
    void print(const std::string& who, const std::string& what) const;

private:
    std::string category(const std::string& reason) const;
    std::vector<std::string> categories_;
    mutable std::mutex mutex_;
    std::vector<DroppedRecord> records_;
    std::set<std::string> seen_;
};

}  // namespace ecgbench::datasets
