#include "report/subgroups.hpp"

#include "ecgbench/resampling.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

namespace ecgbench {

namespace {

std::string number_text(double v) {
    std::ostringstream out;
    out << v;
    return out.str();
}

// Distinct values beyond this are a continuous covariate: it needs band edges.
constexpr std::size_t kMaxDistinctGroups = 12;

// The run's stored covariate column for its scored records, in their order; nullopt when the run
// stored no covariates or not this one. Throws when the covariates cover other records.
std::optional<std::vector<double>> covariate_of(const Store& store, std::int64_t run_id, const std::string& split,
                                                const std::string& name, const ScoredRecords& records) {
    for (const auto& o : store.outputs(run_id)) {
        if (o.split != split || o.kind != "covariates") continue;
        const auto column = std::find(o.columns.begin(), o.columns.end(), name);
        if (column == o.columns.end()) return std::nullopt;
        const auto k = static_cast<std::size_t>(column - o.columns.begin());
        std::map<std::string, double> value_of;
        for (std::size_t i = 0; i < o.record_ids.size(); ++i) value_of[o.record_ids[i]] = o.values[i * o.columns.size() + k];
        std::vector<double> out;
        out.reserve(records.record_ids.size());
        for (const auto& id : records.record_ids) {
            const auto it = value_of.find(id);
            if (it == value_of.end())
                throw std::runtime_error("run " + std::to_string(run_id) + ": stored covariates have no row for scored record '" + id + "'");
            out.push_back(it->second);
        }
        return out;
    }
    return std::nullopt;
}

constexpr std::size_t kNoGroup = static_cast<std::size_t>(-1);

// Each row's index into `groups` (kNoGroup: a missing covariate, or a group not listed).
std::vector<std::size_t> groups_of_rows(const std::vector<double>& covariate, const SubgroupSpec& spec,
                                        const std::vector<std::string>& groups) {
    std::vector<std::size_t> out(covariate.size(), kNoGroup);
    for (std::size_t r = 0; r < covariate.size(); ++r) {
        const auto label = group_label(spec, covariate[r]);
        if (!label) continue;
        const auto g = std::find(groups.begin(), groups.end(), *label);
        if (g != groups.end()) out[r] = static_cast<std::size_t>(g - groups.begin());
    }
    return out;
}

// Macro AUROC of a subset of the records' rows (the resampling statistic, on one subset).
double macro_auroc_of_rows(const ScoredRecords& records, const std::vector<std::size_t>& rows) {
    return table_statistic(records.scores, records.labels, records.classes, macro_auroc)(rows);
}

}  // namespace

SubgroupSpec parse_subgroup_spec(const std::string& text) {
    const auto colon = text.find(':');
    SubgroupSpec spec;
    spec.covariate = text.substr(0, colon);
    if (spec.covariate.empty()) throw std::invalid_argument("subgroup spec '" + text + "': no covariate name (e.g. 'sex' or 'age:40,65')");
    if (colon == std::string::npos) return spec;
    std::stringstream edges(text.substr(colon + 1));
    std::string edge;
    while (std::getline(edges, edge, ',')) {
        std::size_t used = 0;
        double value = 0;
        try {
            value = std::stod(edge, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (used == 0 || used != edge.size() || !std::isfinite(value))
            throw std::invalid_argument("subgroup spec '" + text + "': band edge '" + edge + "' is not a number");
        if (!spec.edges.empty() && value <= spec.edges.back())
            throw std::invalid_argument("subgroup spec '" + text + "': band edges must increase");
        spec.edges.push_back(value);
    }
    if (spec.edges.empty()) throw std::invalid_argument("subgroup spec '" + text + "': no band edges after ':'");
    return spec;
}

std::optional<std::string> group_label(const SubgroupSpec& spec, double value) {
    if (std::isnan(value)) return std::nullopt;
    const std::string& name = spec.covariate;
    if (spec.edges.empty()) return name + " = " + number_text(value);
    const auto& e = spec.edges;
    if (value < e.front()) return name + " < " + number_text(e.front());
    for (std::size_t i = 1; i < e.size(); ++i)
        if (value < e[i]) return number_text(e[i - 1]) + " ≤ " + name + " < " + number_text(e[i]);
    return name + " ≥ " + number_text(e.back());
}

std::vector<std::string> group_labels(const SubgroupSpec& spec, const std::vector<double>& values) {
    std::vector<std::string> out;
    if (!spec.edges.empty()) {
        out.push_back(*group_label(spec, spec.edges.front() - 1));
        for (std::size_t i = 0; i < spec.edges.size(); ++i) out.push_back(*group_label(spec, spec.edges[i]));
        return out;
    }
    std::set<double> distinct;
    for (double v : values)
        if (!std::isnan(v)) distinct.insert(v);
    if (distinct.size() > kMaxDistinctGroups)
        throw std::invalid_argument("subgroup covariate '" + spec.covariate + "' has " + std::to_string(distinct.size()) +
                                    " distinct values: give band edges, e.g. '" + spec.covariate + ":40,65'");
    for (double v : distinct) out.push_back(*group_label(spec, v));
    return out;
}

std::vector<double> group_macro_auroc(const ScoredRecords& records, const std::vector<double>& covariate,
                                      const SubgroupSpec& spec, const std::vector<std::string>& groups) {
    const auto group_of = groups_of_rows(covariate, spec, groups);
    std::vector<std::vector<std::size_t>> rows(groups.size());
    for (std::size_t r = 0; r < group_of.size(); ++r)
        if (group_of[r] != kNoGroup) rows[group_of[r]].push_back(r);
    std::vector<double> out;
    for (const auto& group : rows) out.push_back(group.empty() ? std::nan("") : macro_auroc_of_rows(records, group));
    return out;
}

GroupIntervals group_intervals(const std::vector<ScoredRecords>& runs, const std::vector<double>& covariate, const SubgroupSpec& spec,
                               const std::vector<std::string>& groups, const ResampleOptions& options, double level) {
    if (runs.empty()) throw std::invalid_argument("group_intervals: no runs");
    for (const auto& run : runs)
        if (run.record_ids != runs.front().record_ids)
            throw std::invalid_argument("group_intervals: the runs must be aligned to one record order");
    if (covariate.size() != runs.front().record_ids.size())
        throw std::invalid_argument("group_intervals: " + std::to_string(covariate.size()) + " covariate values for " +
                                    std::to_string(runs.front().record_ids.size()) + " records");
    const auto group_of = groups_of_rows(covariate, spec, groups);
    const Statistic mean = mean_macro_auroc(runs);
    // Group g's value on a resample: the seed mean on the drawn rows that fall in g (repeats kept).
    auto in_group = [&](std::size_t g) -> Statistic {
        return [&, g](const std::vector<std::size_t>& rows) {
            std::vector<std::size_t> kept;
            for (std::size_t r : rows)
                if (group_of[r] == g) kept.push_back(r);
            return kept.empty() ? std::nan("") : mean(kept);
        };
    };
    std::vector<Statistic> per_group;
    for (std::size_t g = 0; g < groups.size(); ++g) per_group.push_back(in_group(g));
    const Statistic gap = [&](const std::vector<std::size_t>& rows) {
        double worst = std::numeric_limits<double>::infinity();
        for (const auto& statistic : per_group) {
            const double v = statistic(rows);
            if (!std::isnan(v)) worst = std::min(worst, v);
        }
        return std::isinf(worst) ? std::nan("") : mean(rows) - worst;
    };
    const Resamples resamples(runs.front().record_ids.size(), options);
    GroupIntervals out;
    for (const auto& statistic : per_group) out.groups.push_back(percentile_interval(statistic, resamples, level));
    out.gap = percentile_interval(gap, resamples, level);
    return out;
}

SubgroupTable subgroup_table(const Store& store, const ReportTable& table, const SubgroupSpec& spec, const std::string& split,
                             const ResampleOptions& resampling, double level) {
    SubgroupTable out{spec, split, {}, {}, {}, resampling.resamples, resampling.seed, level};
    // Each cell's runs with their covariate column, loaded once; the groups are their union.
    struct Loaded {
        std::size_t row, column;
        std::vector<ScoredRecords> runs;
        std::vector<std::vector<double>> covariates;
    };
    std::vector<Loaded> loaded;
    std::size_t without_outputs = 0, without_covariate = 0, unaligned = 0;
    std::vector<double> every_value;
    for (std::size_t r = 0; r < table.rows.size(); ++r)
        for (const auto& cell : table.rows[r].cells) {
            Loaded l{r, cell.column, {}, {}};
            bool complete = true;
            for (std::int64_t run_id : cell.run_ids) {
                auto scored = load_scored_records(store, run_id, split);
                if (!scored) {
                    ++without_outputs;
                    complete = false;
                    break;
                }
                auto covariate = covariate_of(store, run_id, split, spec.covariate, *scored);
                if (!covariate) {
                    ++without_covariate;
                    complete = false;
                    break;
                }
                every_value.insert(every_value.end(), covariate->begin(), covariate->end());
                l.runs.push_back(std::move(*scored));
                l.covariates.push_back(std::move(*covariate));
            }
            if (complete && !l.runs.empty()) loaded.push_back(std::move(l));
        }
    out.groups = group_labels(spec, every_value);
    for (const auto& l : loaded) {
        SubgroupCell cell;
        cell.row = l.row;
        cell.column = l.column;
        cell.seeds = l.runs.size();
        std::vector<double> sums(out.groups.size(), 0.0);
        std::vector<std::size_t> defined(out.groups.size(), 0);
        for (std::size_t s = 0; s < l.runs.size(); ++s) {
            const auto values = group_macro_auroc(l.runs[s], l.covariates[s], spec, out.groups);
            for (std::size_t g = 0; g < values.size(); ++g)
                if (!std::isnan(values[g])) {
                    sums[g] += values[g];
                    ++defined[g];
                }
            std::vector<std::size_t> all(l.runs[s].record_ids.size());
            for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
            cell.overall += macro_auroc_of_rows(l.runs[s], all) / static_cast<double>(l.runs.size());
        }
        // Group sizes and missing values from the first seed: every seed scores the same test records.
        cell.records.assign(out.groups.size(), 0);
        for (std::size_t g : groups_of_rows(l.covariates.front(), spec, out.groups)) {
            if (g == kNoGroup) ++cell.missing;
            else ++cell.records[g];
        }
        // Intervals on the seeds aligned to the first seed's record order (its covariate column).
        std::vector<ScoredRecords> aligned;
        for (const auto& run : l.runs) {
            auto a = aligned_to(run, l.runs.front().record_ids);
            if (!a) break;
            aligned.push_back(std::move(*a));
        }
        if (aligned.size() == l.runs.size()) cell.intervals = group_intervals(aligned, l.covariates.front(), spec, out.groups, resampling, level);
        else ++unaligned;
        for (std::size_t g = 0; g < out.groups.size(); ++g) {
            if (defined[g] == 0) {
                cell.values.emplace_back();
                continue;
            }
            cell.values.emplace_back(sums[g] / static_cast<double>(defined[g]));
            if (!cell.worst || *cell.values[g] < *cell.values[*cell.worst]) cell.worst = g;
        }
        out.cells.push_back(std::move(cell));
    }
    if (without_outputs > 0)
        out.notes.push_back(std::to_string(without_outputs) + " cell(s) without stored " + split +
                            " logits and labels (regression and other tasks, or evaluated before outputs were stored): not split by " +
                            spec.covariate + ".");
    if (unaligned > 0)
        out.notes.push_back(std::to_string(unaligned) + " cell(s) whose seeds scored different records: no bootstrap interval there.");
    if (without_covariate > 0)
        out.notes.push_back(std::to_string(without_covariate) + " cell(s) whose runs stored no covariate '" + spec.covariate +
                            "' (the dataset does not declare it, or the run predates stored covariates: `ecgbench run --force` "
                            "re-evaluates).");
    return out;
}

}  // namespace ecgbench
