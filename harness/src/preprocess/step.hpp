// One declared preprocessing step (see pipeline.hpp for the steps). Light: experiment files use it.
#pragma once

#include "ecgbench/params.hpp"

#include <string>
#include <vector>

namespace ecgbench {

struct PreprocessStep {
    std::string step;  ///< one of preprocess_step_names()
    Params params;     ///< validated against preprocess_step_schema(step)
};

const std::vector<std::string>& preprocess_step_names();
/// Parameters of a step (std::invalid_argument, with a did-you-mean, for an unknown step).
const std::vector<ParamSpec>& preprocess_step_schema(const std::string& step);

}  // namespace ecgbench
