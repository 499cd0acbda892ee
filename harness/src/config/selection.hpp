// Cell labels and cell selection (`--filter REGEX`, `--only pretrain|eval`).
//
// A label is what `plan` prints for a cell and what --filter is matched against:
//   pretraining: "pretrain <dataset> × <encoder> × <ssl> × seed <n>"
//   evaluation:  "<its pretraining cell's label> → <evaluation> on <dataset> (labels <p>%)"
// so a filter naming a method selects its pretraining and its evaluations, and one naming an
// evaluation selects only evaluations. The selection decides what `plan`/`status` list and count,
// what `run` runs and what `run --force` redoes; a selected evaluation whose pretraining cell is
// not selected still needs that cell's checkpoint, which `run` makes first when it is missing.
#pragma once

#include "config/matrix.hpp"

#include <optional>
#include <string>
#include <vector>

namespace ecgbench {

std::string pretrain_label(const Experiment& experiment, const PretrainCell& cell);
std::string eval_label(const Experiment& experiment, const Plan& plan, const EvalCell& cell);

/// Which cells of a plan a command acts on; parallel to Plan::pretrain and Plan::evaluations.
struct Selection {
    std::vector<bool> pretrain;
    std::vector<bool> evaluations;

    /// Every cell of `plan`.
    static Selection all(const Plan& plan);
    std::size_t count() const;
    /// Pretraining cell `p` is selected or has a selected evaluation (its checkpoint is needed).
    bool involved(const Plan& plan, std::size_t p) const;
};

/// Which kinds of cell --only keeps.
enum class CellKinds { All, Pretrain, Eval };
/// "pretrain", "eval" or "" (all); throws std::invalid_argument for anything else.
CellKinds parse_cell_kinds(const std::string& text);

/// The cells whose label matches `filter` (ECMAScript regex, searched anywhere in the label; none
/// = all), whose kind `kinds` keeps and, when `cells` is not empty, that one of `cells` names
/// (`--cell`): a hash prefix names a cell and, when it is a pretraining cell's, its evaluations too,
/// as a filter matching a pretraining label does. Throws std::invalid_argument for a bad regex and
/// for a prefix shorter than 6 hex digits or naming no cell.
Selection select_cells(const Experiment& experiment, const Plan& plan, const std::optional<std::string>& filter,
                       CellKinds kinds, const std::vector<std::string>& cells = {});

}  // namespace ecgbench
