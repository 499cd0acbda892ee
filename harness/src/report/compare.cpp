#include "report/compare.hpp"

#include "report/format.hpp"

#include "ecgbench/metrics.hpp"
#include "ecgbench/resampling.hpp"

#include <cstdio>
#include <map>
#include <sstream>
#include <stdexcept>
#include <tuple>

namespace ecgbench {
namespace {

using CellKey = std::tuple<std::string, std::string, std::string, std::string, double, std::int64_t, std::string, std::int64_t>;

const OutputRecord& output_of(const std::vector<OutputRecord>& outputs, const std::string& kind, std::int64_t run_id) {
    for (const auto& o : outputs)
        if (o.split == "test" && o.kind == kind) return o;
    throw std::runtime_error("run " + std::to_string(run_id) + " kept no test " + kind +
                             " (evaluated before they were stored? run it again with --force)");
}

}  // namespace

std::vector<ComparedCell> compare_methods(const Store& store, const std::string& experiment, const std::string& a,
                                          const std::string& b, const CompareOptions& options) {
    std::map<CellKey, std::map<std::string, std::int64_t>> runs;  // cell -> ssl -> run
    for (const auto& r : store.results(experiment)) {
        if (r.metric != "macro_auroc" || r.split != "test" || (r.ssl != a && r.ssl != b)) continue;
        runs[{r.dataset, r.encoder, r.task, r.eval_dataset, r.label_fraction, r.shots, r.shift, r.seed}][r.ssl] = r.run_id;
    }
    std::vector<ComparedCell> out;
    for (const auto& [key, by_ssl] : runs) {
        if (by_ssl.size() != 2) continue;
        const std::int64_t run_a = by_ssl.at(a), run_b = by_ssl.at(b);
        const auto outputs_a = store.outputs(run_a), outputs_b = store.outputs(run_b);
        const OutputRecord& logits_a = output_of(outputs_a, "logits", run_a);
        const OutputRecord& labels = output_of(outputs_a, "labels", run_a);
        const OutputRecord& logits_b = output_of(outputs_b, "logits", run_b);
        const std::size_t classes = logits_a.columns.size();
        if (logits_b.columns != logits_a.columns || labels.record_ids != logits_a.record_ids)
            throw std::runtime_error("runs " + std::to_string(run_a) + " and " + std::to_string(run_b) + " scored different classes");
        // b's rows in a's record order.
        std::map<std::string, std::size_t> row_of_b;
        for (std::size_t i = 0; i < logits_b.record_ids.size(); ++i) row_of_b[logits_b.record_ids[i]] = i;
        if (row_of_b.size() != logits_a.record_ids.size())
            throw std::runtime_error("runs " + std::to_string(run_a) + " and " + std::to_string(run_b) + " scored different test records");
        std::vector<double> scores_a(logits_a.values.begin(), logits_a.values.end()), scores_b(scores_a.size());
        std::vector<int> truth(labels.values.size());
        for (std::size_t i = 0; i < truth.size(); ++i) truth[i] = labels.values[i] >= 0.5f ? 1 : 0;
        for (std::size_t i = 0; i < logits_a.record_ids.size(); ++i) {
            const auto it = row_of_b.find(logits_a.record_ids[i]);
            if (it == row_of_b.end())
                throw std::runtime_error("run " + std::to_string(run_b) + " has no output for record " + logits_a.record_ids[i]);
            for (std::size_t k = 0; k < classes; ++k) scores_b[i * classes + k] = logits_b.values[it->second * classes + k];
        }
        const auto c = static_cast<std::int64_t>(classes);
        const auto paired =
            options.stratified
                ? paired_stratified_per_label(scores_a, scores_b, truth, c, auroc, {options.resamples, options.seed}, options.level)
                : paired_bootstrap(table_statistic(scores_a, truth, c, macro_auroc), table_statistic(scores_b, truth, c, macro_auroc),
                                   Resamples(logits_a.record_ids.size(), {options.resamples, options.seed}), options.level);
        ComparedCell cell;
        std::tie(cell.dataset, cell.encoder, cell.task, cell.eval_dataset, cell.label_fraction, cell.shots, cell.shift, cell.seed) = key;
        cell.records = static_cast<std::int64_t>(logits_a.record_ids.size());
        cell.auroc_a = macro_auroc(scores_a, truth, c);
        cell.auroc_b = macro_auroc(scores_b, truth, c);
        cell.difference = paired.difference.estimate;
        cell.low = paired.difference.low;
        cell.high = paired.difference.high;
        cell.p_bootstrap = paired.p_bootstrap;
        cell.p_permutation = permutation_p_value(scores_a, scores_b, truth, c, macro_auroc, options.permutations, options.seed);
        out.push_back(cell);
    }
    if (out.empty())
        throw std::invalid_argument("experiment '" + experiment + "' has no evaluation cell with results for both '" + a + "' and '" + b + "'");
    return out;
}

std::string comparison_markdown(const std::vector<ComparedCell>& cells, const std::string& a, const std::string& b,
                                const CompareOptions& options) {
    std::ostringstream out;
    out << "Paired comparison of `" << a << "` (a) and `" << b << "` (b): test macro AUROC on the same records, the difference a − b with its "
        << fixed(100 * options.level, 0) << " % paired-bootstrap interval (" << options.resamples
        << (options.stratified ? " stratified per-label resamples: each class's positives and negatives drawn apart" : " resamples of the records")
        << ", identical for both), the bootstrap p-value and a paired permutation test (" << options.permutations
        << " permutations).\n\n";
    out << "| pretrained on | encoder | task → data | labels | shift | seed | records | a | b | a − b [interval] | p (bootstrap) | p (permutation) |\n";
    out << "|---|---|---|---|---|---|---|---|---|---|---|---|\n";
    for (const auto& c : cells) {
        out << "| " << c.dataset << " | " << c.encoder << " | " << c.task << " → " << c.eval_dataset << " | "
            << (c.shots > 0 ? std::to_string(c.shots) + "-shot" : fixed(100 * c.label_fraction, 0) + " %") << " | " << (c.shift.empty() ? "—" : c.shift) << " | " << c.seed << " | " << c.records << " | " << fixed(c.auroc_a, 3) << " | "
            << fixed(c.auroc_b, 3) << " | " << fixed(c.difference, 3) << " [" << fixed(c.low, 3) << ", " << fixed(c.high, 3) << "] | "
            << fixed(c.p_bootstrap, 3) << " | " << fixed(c.p_permutation, 3) << " |\n";
    }
    return out.str();
}

}  // namespace ecgbench
