#include "config/selection.hpp"

#include <algorithm>
#include <regex>
#include <sstream>
#include <stdexcept>

namespace ecgbench {

std::string pretrain_label(const Experiment& experiment, const PretrainCell& cell) {
    return "pretrain " + experiment.datasets[cell.dataset].name + " × " + experiment.encoders[cell.encoder].name + " × " +
           experiment.ssl_methods[cell.ssl].name + " × seed " + std::to_string(cell.seed);
}

std::string eval_label(const Experiment& experiment, const Plan& plan, const EvalCell& cell) {
    std::ostringstream label;
    label << pretrain_label(experiment, plan.pretrain[cell.pretrain]) << " → "
          << experiment.evaluations[cell.evaluation].name << " on " << experiment.datasets[cell.dataset].name
          << " (" << label_budget_text(cell);
    const std::string& shift = experiment.evaluations[cell.evaluation].shifts[cell.shift].name;
    if (!shift.empty()) label << ", shift " << shift;
    label << ")";
    return label.str();
}

Selection Selection::all(const Plan& plan) {
    return {std::vector<bool>(plan.pretrain.size(), true), std::vector<bool>(plan.evaluations.size(), true)};
}

std::size_t Selection::count() const {
    std::size_t n = 0;
    for (bool b : pretrain) n += b;
    for (bool b : evaluations) n += b;
    return n;
}

bool Selection::involved(const Plan& plan, std::size_t p) const {
    if (pretrain[p]) return true;
    for (std::size_t e = 0; e < plan.evaluations.size(); ++e)
        if (evaluations[e] && plan.evaluations[e].pretrain == p) return true;
    return false;
}

CellKinds parse_cell_kinds(const std::string& text) {
    if (text.empty()) return CellKinds::All;
    if (text == "pretrain") return CellKinds::Pretrain;
    if (text == "eval") return CellKinds::Eval;
    throw std::invalid_argument("--only takes 'pretrain' or 'eval', not '" + text + "'");
}

Selection select_cells(const Experiment& experiment, const Plan& plan, const std::optional<std::string>& filter,
                       CellKinds kinds, const std::vector<std::string>& cells) {
    for (const auto& prefix : cells) {
        if (prefix.size() < 6 || prefix.find_first_not_of("0123456789abcdef") != std::string::npos)
            throw std::invalid_argument("--cell '" + prefix + "': expected at least 6 hex digits of a cell hash (see `ecgbench plan`)");
        const auto named = [&](const std::string& hash) { return hash.starts_with(prefix); };
        if (std::none_of(plan.pretrain.begin(), plan.pretrain.end(), [&](const PretrainCell& c) { return named(c.hash); }) &&
            std::none_of(plan.evaluations.begin(), plan.evaluations.end(), [&](const EvalCell& c) { return named(c.hash); }))
            throw std::invalid_argument("--cell '" + prefix + "' names no cell of experiment '" + experiment.name + "'");
    }
    auto named = [&](const std::string& hash, const std::string& parent) {
        if (cells.empty()) return true;
        return std::any_of(cells.begin(), cells.end(), [&](const std::string& prefix) {
            return hash.starts_with(prefix) || (!parent.empty() && parent.starts_with(prefix));
        });
    };
    std::optional<std::regex> pattern;
    if (filter) {
        try {
            pattern.emplace(*filter, std::regex::ECMAScript);
        } catch (const std::regex_error& e) {
            throw std::invalid_argument("--filter '" + *filter + "' is not a valid regular expression: " + e.what());
        }
    }
    auto matches = [&](const std::string& label) { return !pattern || std::regex_search(label, *pattern); };
    Selection selection;
    for (const PretrainCell& cell : plan.pretrain)
        selection.pretrain.push_back(kinds != CellKinds::Eval && named(cell.hash, "") && matches(pretrain_label(experiment, cell)));
    for (const EvalCell& cell : plan.evaluations)
        selection.evaluations.push_back(kinds != CellKinds::Pretrain && named(cell.hash, cell.pretrain_hash) &&
                                        matches(eval_label(experiment, plan, cell)));
    return selection;
}

}  // namespace ecgbench
