// The shipped plugins from build/plugins, loaded once per test process (plugin libraries are never
// unloaded, so neither is the registry that holds them).
#pragma once

#include "registry/registry.hpp"

namespace test_support {

inline const ecgbench::PluginRegistry& registry() {
    static const auto* reg = [] {
        auto* r = new ecgbench::PluginRegistry();
        r->load_directory(ECGBENCH_PLUGIN_DIR);
        return r;
    }();
    return *reg;
}

}  // namespace test_support
