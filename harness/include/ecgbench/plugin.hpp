// The plugin ABI. A plugin is a shared library exporting two functions through Boost.DLL aliases
// (ECGBENCH_PLUGIN below): the ABI version it was built against, checked first, and a descriptor
// with its manifest and one factory for its kind. Libraries are never unloaded (LibTorch crashes on
// unload, pytorch#61111); plugins are built with hidden visibility so factories cannot collide.
#pragma once

#include "ecgbench/dataset.hpp"
#include "ecgbench/encoder.hpp"
#include "ecgbench/params.hpp"
#include "ecgbench/ssl.hpp"
#include "ecgbench/task.hpp"

#include <boost/dll/alias.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace ecgbench {

/// Bump whenever any type in harness/include/ecgbench changes layout or virtual interface.
inline constexpr std::uint32_t kAbiVersion = 4;  // 2: Dataset::dropped_records; 3: EcgSplit::texts; 4: Dataset::stream

enum class PluginKind { Dataset, Encoder, Ssl, Task };
const char* to_string(PluginKind kind);

/// What `ecgbench plugins` shows and what every result records.
struct PluginManifest {
    std::string name;              ///< unique across all plugins, used in experiment files
    PluginKind kind;
    std::string version;           ///< bump when results would change
    std::string summary;           ///< one line
    std::vector<ParamSpec> params; ///< declared parameters
};

/// A plugin's manifest and its factory; exactly the factory matching manifest.kind is set.
struct PluginDescriptor {
    PluginManifest manifest;
    std::function<std::unique_ptr<Dataset>(const Params&)> make_dataset;
    std::function<EncoderPtr(const Params&, const EncoderInput&)> make_encoder;
    std::function<std::unique_ptr<SslMethod>(const Params&)> make_ssl;
    std::function<std::unique_ptr<Task>(const Params&)> make_task;
};

/// Signatures of the two exported entry points.
using PluginAbiFn = std::uint32_t();
using PluginDescriptorFn = const PluginDescriptor*();

}  // namespace ecgbench

/// Exports a plugin. `describe` is a function returning a PluginDescriptor; it runs once, on the
/// first call after the host has checked the ABI version.
#define ECGBENCH_PLUGIN(describe)                                                                  \
    namespace {                                                                                    \
    std::uint32_t ecgbench_plugin_abi_impl() { return ::ecgbench::kAbiVersion; }                   \
    const ::ecgbench::PluginDescriptor* ecgbench_plugin_descriptor_impl() {                        \
        static const ::ecgbench::PluginDescriptor descriptor = describe();                         \
        return &descriptor;                                                                        \
    }                                                                                              \
    }                                                                                              \
    BOOST_DLL_ALIAS(ecgbench_plugin_abi_impl, ecgbench_plugin_abi)                                 \
    BOOST_DLL_ALIAS(ecgbench_plugin_descriptor_impl, ecgbench_plugin_descriptor)
