// `--json` output of `plugins`, `plan`, `status` and `report`: one JSON document on stdout each, so
// scripts and notebooks never parse the human text. Every document carries "schema"
// ("ecgbench.<command>/<version>"); the schemas are documented in docs/json.md and a field is
// only ever added, never renamed or retyped, within one schema version.
#pragma once

#include "config/selection.hpp"
#include "registry/registry.hpp"
#include "report/report.hpp"
#include "runner/runner.hpp"
#include "store/store.hpp"

#include <string>
#include <vector>

namespace ecgbench {

/// ecgbench.plugins/1: `plugins` (every loaded plugin and every load failure), in listing order.
std::string plugins_json(const std::vector<const LoadedPlugin*>& plugins, const std::vector<LoadFailure>& failures);

/// ecgbench.plan/1: the selected cells (and the unselected pretraining cells they need), each with
/// its label, status, names and canonical config. `store` may be null (nothing has run yet).
std::string plan_json(const PreparedExperiment& prepared, const Selection& selection, const Store* store,
                      const std::string& store_path);

/// ecgbench.status/1: counts by state of the selected cells and each one's latest run.
std::string status_json(const PreparedExperiment& prepared, const Selection& selection, const Store* store,
                        const std::string& store_path);

/// ecgbench.report/1: the comparison table as data, every result row, and the files written.
std::string report_json(const std::string& experiment, const std::string& store_path, const ReportTable& table,
                        const std::vector<FlatResult>& rows, const std::vector<std::string>& files);

}  // namespace ecgbench
