// Subgroup and worst-group metrics from the store (`report --subgroups`): the test records of each
// finished classification cell split by a covariate stored beside its outputs (age bands, sex, …),
// macro AUROC per group from the stored logits and labels (mean over the seeds), the worst group and
// its gap to all records, each with a percentile bootstrap interval over the test records (Efron &
// Tibshirani 1993, ch. 13; through the resampling layer, ecgbench/resampling.hpp: every group and the
// gap are evaluated on the same resamples of the whole split, so a group's size varies over the
// resamples; the gap's worst group is chosen on each resample). Nothing is re-run: the runner stores
// the test split's covariates with every evaluation that stores test outputs.
// Reference: docs/reports.md#subgroups.
#pragma once

#include "report/report.hpp"
#include "report/scored_outputs.hpp"
#include "store/store.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ecgbench {

/// How to split the records: by band of a numeric covariate (`edges` ascending: groups
/// < e1, [e1, e2), …, ≥ ek) or, without edges, by each distinct value (sex, a site code…).
struct SubgroupSpec {
    std::string covariate;
    std::vector<double> edges;
};

/// "age:40,65" (bands) or "sex" (distinct values). Throws std::invalid_argument naming the spec.
SubgroupSpec parse_subgroup_spec(const std::string& text);

/// The group label of one covariate value ("age < 40", "40 ≤ age < 65", "age ≥ 65", "sex = 1");
/// nullopt for a missing (NaN) value.
std::optional<std::string> group_label(const SubgroupSpec& spec, double value);

/// Groups in display order: the bands in order, or the distinct values ascending, of `values`.
/// Throws std::invalid_argument when a spec without edges meets more than 12 distinct values
/// (a continuous covariate: give band edges).
std::vector<std::string> group_labels(const SubgroupSpec& spec, const std::vector<double>& values);

/// Macro AUROC of the records in each of `groups` (NaN where no class is evaluable in the group),
/// the records' group given by `covariate` (aligned with `records`); records with a missing
/// covariate belong to no group.
std::vector<double> group_macro_auroc(const ScoredRecords& records, const std::vector<double>& covariate,
                                      const SubgroupSpec& spec, const std::vector<std::string>& groups);

/// Bootstrap intervals of the per-group values and of the worst-group gap.
struct GroupIntervals {
    std::vector<Interval> groups;  ///< per group: estimate = the seed mean of its macro AUROC (low/high NaN: never defined)
    Interval gap;                  ///< all records − the worst defined group, the worst chosen on each resample
};

/// Percentile intervals at `level` over the resamples of all n test records (`options`: count and
/// seed): on each resample, a group's value is the mean over `runs` (seeds aligned to one record
/// order, `covariate` in that order) of macro AUROC on the resampled rows in that group (NaN, and
/// left out, when none is or no class has both labels there); the gap is the mean over runs of macro
/// AUROC on the whole resample minus the lowest defined group value of the same resample.
GroupIntervals group_intervals(const std::vector<ScoredRecords>& runs, const std::vector<double>& covariate, const SubgroupSpec& spec,
                               const std::vector<std::string>& groups, const ResampleOptions& options, double level = 0.95);

/// One method × column of the report, split by the covariate.
struct SubgroupCell {
    std::size_t row = 0, column = 0;           ///< indices into ReportTable::rows / columns
    std::vector<std::optional<double>> values; ///< per SubgroupTable::groups: mean over seeds (nullopt: undefined)
    std::vector<std::int64_t> records;         ///< test records per group
    double overall = 0;                        ///< macro AUROC over every test record (mean over seeds)
    std::optional<std::size_t> worst;          ///< index of the lowest defined group
    std::int64_t missing = 0;                  ///< test records without the covariate
    std::size_t seeds = 0;
    /// Bootstrap intervals (group_intervals); nullopt when the seeds scored different records.
    std::optional<GroupIntervals> intervals;
};

struct SubgroupTable {
    SubgroupSpec spec;
    std::string split;
    std::vector<std::string> groups;  ///< union over the cells, in display order
    std::vector<SubgroupCell> cells;  ///< in the report's row, then column order
    std::vector<std::string> notes;   ///< cells left out, and why
    int resamples = 0;                ///< bootstrap resamples behind the intervals
    std::uint64_t seed = 0;           ///< their seed (the same resamples for every cell)
    double level = 0.95;              ///< interval level
};

/// The subgroup table of every finished cell of `table` whose runs stored logits, labels and
/// covariates, with bootstrap intervals from `resampling` (count and seed) at `level`.
SubgroupTable subgroup_table(const Store& store, const ReportTable& table, const SubgroupSpec& spec, const std::string& split,
                             const ResampleOptions& resampling = {}, double level = 0.95);

}  // namespace ecgbench
