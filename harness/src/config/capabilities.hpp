// Capability checks: what plugins need (PluginManifest::needs) against what the datasets, encoders
// and methods of a matrix provide, so an impossible pairing (a text method on a dataset without
// reports) is refused at `plan`, naming the file, line and missing capability, before anything runs.
#pragma once

#include "config/experiment.hpp"
#include "ecgbench/plugin.hpp"

#include <string>
#include <vector>

namespace ecgbench {

/// What a dataset provides: "labels" when it has classes, "texts", "class_descriptions", and
/// "covariate:<name>" per covariate.
std::vector<std::string> dataset_capabilities(const DatasetInfo& info);

/// Throws ConfigError (at the needing entry's location) for the first capability a pretraining
/// (encoder and method needs vs. pretraining dataset + encoder + method) or an evaluation (task
/// needs vs. evaluation dataset + encoder + method) lacks. `infos` is parallel to
/// experiment.datasets; `manifests` are the loaded plugins'.
void check_capabilities(const Experiment& experiment, const std::vector<DatasetInfo>& infos,
                        const std::vector<PluginManifest>& manifests);

}  // namespace ecgbench
