// A plugin with the right ABI version but built against another LibTorch: exports the entry points
// by hand with a foreign build signature. The host must refuse it before touching its descriptors.
#include "ecgbench/plugin.hpp"

namespace {
std::uint32_t right_abi() { return ecgbench::kAbiVersion; }
const char* foreign_build() { return "libtorch 2.9.0; _GLIBCXX_USE_CXX11_ABI=0; gcc 14"; }
const std::vector<ecgbench::PluginDescriptor>* must_not_be_called() { std::abort(); }
}  // namespace
BOOST_DLL_ALIAS(right_abi, ecgbench_plugin_abi)
BOOST_DLL_ALIAS(foreign_build, ecgbench_plugin_build)
BOOST_DLL_ALIAS(must_not_be_called, ecgbench_plugin_descriptors)
