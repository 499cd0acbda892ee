#include "report/compare_experiments.hpp"

#include "report/format.hpp"

#include "report/scored_outputs.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <sstream>
#include <stdexcept>
#include <tuple>

namespace ecgbench {
namespace {

using Key = std::tuple<std::string, std::string, std::string, std::string, std::string, double, std::int64_t, std::string, std::int64_t>;

std::map<Key, const FlatResult*> by_key(const std::vector<FlatResult>& rows, const std::string& metric, const std::string& split) {
    std::map<Key, const FlatResult*> out;
    for (const auto& r : rows)
        if (r.metric == metric && r.split == split)
            out[{r.dataset, r.encoder, r.ssl, r.task, r.eval_dataset, r.label_fraction, r.shots, r.shift, r.seed}] = &r;
    return out;
}

void require_experiment(const Store& store, const std::string& name) {
    const auto known = store.experiments();
    if (std::find(known.begin(), known.end(), name) == known.end())
        throw std::runtime_error("no experiment '" + name + "' in " + store.path());
}

std::string optional_fixed(const std::optional<double>& v, int digits) { return v ? fixed(*v, digits) : "—"; }

}  // namespace

const char* to_string(ExperimentChange::Kind kind) {
    switch (kind) {
        case ExperimentChange::Kind::Added: return "added";
        case ExperimentChange::Kind::Removed: return "removed";
        case ExperimentChange::Kind::Same: return "same cell";
        case ExperimentChange::Kind::Changed: return "changed";
    }
    return "?";
}

std::vector<ExperimentChange> compare_experiments(const Store& store, const std::string& a, const std::string& b,
                                                  const std::string& metric, const std::string& split,
                                                  const CompareOptions& options) {
    require_experiment(store, a);
    require_experiment(store, b);
    const auto rows_a = store.results(a), rows_b = store.results(b);
    const auto in_a = by_key(rows_a, metric, split), in_b = by_key(rows_b, metric, split);
    std::map<Key, std::pair<const FlatResult*, const FlatResult*>> all;
    for (const auto& [k, r] : in_a) all[k].first = r;
    for (const auto& [k, r] : in_b) all[k].second = r;
    std::vector<ExperimentChange> out;
    for (const auto& [key, pair] : all) {
        ExperimentChange c;
        std::tie(c.dataset, c.encoder, c.ssl, c.task, c.eval_dataset, c.label_fraction, c.shots, c.shift, c.seed) = key;
        const auto [ra, rb] = pair;
        if (ra) c.a = ra->value;
        if (rb) c.b = rb->value;
        c.kind = !ra ? ExperimentChange::Kind::Added
                 : !rb ? ExperimentChange::Kind::Removed
                 : ra->cell_hash == rb->cell_hash ? ExperimentChange::Kind::Same
                                                  : ExperimentChange::Kind::Changed;
        if (c.kind == ExperimentChange::Kind::Changed && metric == "macro_auroc") {
            const auto sa = load_scored_records(store, ra->run_id, split), sb = load_scored_records(store, rb->run_id, split);
            const auto aligned = sa && sb ? aligned_to(*sb, sa->record_ids) : std::nullopt;
            if (aligned && aligned->classes == sa->classes && aligned->labels == sa->labels) {
                const std::vector<ScoredRecords> runs_a{*sa}, runs_b{*aligned};
                const Resamples resamples(sa->record_ids.size(), {options.resamples, options.seed});
                const auto paired = paired_bootstrap(mean_macro_auroc(runs_b), mean_macro_auroc(runs_a), resamples, options.level);
                c.low = paired.difference.low;
                c.high = paired.difference.high;
                c.p_bootstrap = paired.p_bootstrap;
                c.p_permutation = permutation_p_value(aligned->scores, sa->scores, sa->labels, sa->classes, macro_auroc,
                                                      options.permutations, options.seed);
            }
        }
        out.push_back(std::move(c));
    }
    return out;
}

std::string experiment_changes_markdown(const std::vector<ExperimentChange>& changes, const std::string& a, const std::string& b,
                                        const std::string& metric, const CompareOptions& options) {
    std::map<ExperimentChange::Kind, std::size_t> counts;
    for (const auto& c : changes) ++counts[c.kind];
    std::ostringstream out;
    out << "Changes from `" << a << "` (A) to `" << b << "` (B), " << metric << ": " << counts[ExperimentChange::Kind::Same]
        << " cells identical (the same stored cell), " << counts[ExperimentChange::Kind::Changed] << " changed, "
        << counts[ExperimentChange::Kind::Added] << " added, " << counts[ExperimentChange::Kind::Removed] << " removed. "
        << "For changed cells scored on the same test records: B − A with its " << fixed(100 * options.level, 0)
        << " % paired-bootstrap interval (" << options.resamples << " resamples) and a paired permutation test (" << options.permutations
        << " permutations).\n\n";
    if (counts[ExperimentChange::Kind::Same] == changes.size()) return out.str();
    out << "| change | pretrained on | encoder | SSL | task → data | labels | shift | seed | A | B | B − A [interval] | p (bootstrap) | p (permutation) |\n"
        << "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
    for (const auto& c : changes) {
        if (c.kind == ExperimentChange::Kind::Same) continue;
        std::string delta = c.a && c.b ? fixed(*c.b - *c.a, 3) : "—";
        if (c.a && c.b && *c.b >= *c.a) delta.insert(delta.begin(), '+');
        if (c.low && c.high) delta += " [" + fixed(*c.low, 3) + ", " + fixed(*c.high, 3) + "]";
        out << "| " << to_string(c.kind) << " | " << c.dataset << " | " << c.encoder << " | " << c.ssl << " | " << c.task << " → "
            << c.eval_dataset << " | " << (c.shots > 0 ? std::to_string(c.shots) + "-shot" : fixed(100 * c.label_fraction, 0) + " %") << " | "
            << (c.shift.empty() ? "—" : c.shift) << " | " << c.seed
            << " | " << optional_fixed(c.a, 3) << " | " << optional_fixed(c.b, 3) << " | " << delta << " | "
            << optional_fixed(c.p_bootstrap, 3) << " | " << optional_fixed(c.p_permutation, 3) << " |\n";
    }
    return out.str();
}

}  // namespace ecgbench
