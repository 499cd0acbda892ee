// What a run records about where it ran: host, pid, git commit of the checkout, library versions.
#pragma once

#include "store/store.hpp"

#include <map>
#include <string>

namespace ecgbench {

/// Provenance of this process; `plugin_versions` maps plugin name -> version.
/// The BLAS library this process has mapped (its resolved path), or "none mapped".
std::string blas_library();

RunProvenance current_provenance(const std::map<std::string, std::string>& plugin_versions);

}  // namespace ecgbench
