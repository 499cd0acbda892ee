// A plugin built against another ABI version: exports the entry points by hand with version 999.
#include "ecgbench/plugin.hpp"

namespace {
std::uint32_t wrong_abi() { return 999; }
const std::vector<ecgbench::PluginDescriptor>* no_descriptors() { return nullptr; }
}  // namespace
BOOST_DLL_ALIAS(wrong_abi, ecgbench_plugin_abi)
BOOST_DLL_ALIAS(no_descriptors, ecgbench_plugin_descriptors)
