// The plugin ABI. A plugin library exports three functions through Boost.DLL aliases
// (ECGBENCH_PLUGIN / ECGBENCH_PLUGINS below): the ABI version it was built against, checked first;
// a build signature (LibTorch version, C++ ABI flag, compiler), checked second, so a plugin built
// against another LibTorch gets a message instead of a crash; and the descriptors of the plugins it
// holds (one library may register several: a method together with the task that uses its text
// tower). Libraries are never unloaded (LibTorch crashes on unload, pytorch#61111); plugins are
// built with hidden visibility so factories cannot collide.
#pragma once

#include "ecgbench/dataset.hpp"
#include "ecgbench/encoder.hpp"
#include "ecgbench/params.hpp"
#include "ecgbench/ssl.hpp"
#include "ecgbench/task.hpp"

#include <boost/dll/alias.hpp>
#include <torch/version.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace ecgbench {

/// Bump whenever any type in harness/include/ecgbench changes layout or virtual interface.
/// 2: Dataset::dropped_records; 3: EcgSplit::texts; 4: Dataset::stream; 5: Plugin API 2 (modules,
/// full batches, encode(), task results, capabilities, several plugins per library); 6: TrainHooks::
/// on_epoch_end, TrainReport::stopped_early; 7: Encoder::token_spans.
inline constexpr std::uint32_t kAbiVersion = 8;

#define ECGBENCH_STRINGIFY_(x) #x
#define ECGBENCH_STRINGIFY(x) ECGBENCH_STRINGIFY_(x)
/// What host and plugin must agree on besides kAbiVersion: LibTorch's version and the libstdc++
/// string ABI (compiled into every std::string crossing the boundary), and the compiler.
#define ECGBENCH_BUILD_SIGNATURE                                                                   \
    "libtorch " TORCH_VERSION "; _GLIBCXX_USE_CXX11_ABI=" ECGBENCH_STRINGIFY(_GLIBCXX_USE_CXX11_ABI) \
    "; gcc " ECGBENCH_STRINGIFY(__GNUC__)

enum class PluginKind { Dataset, Encoder, Ssl, Task };
const char* to_string(PluginKind kind);

/// What `ecgbench plugins` shows and what every result records.
///
/// Capabilities are plain strings. A dataset provides "labels" (it has classes), "texts",
/// "covariate:<name>" for each covariate, and "class_descriptions"; an encoder or method provides
/// what its manifest lists (e.g. "tokens", "text_tower"). `plan` refuses, before anything runs, a
/// pretraining whose encoder or method needs what the pretraining dataset, encoder and method
/// do not provide, and an evaluation whose task needs what the evaluation dataset, encoder and
/// method do not provide.
struct PluginManifest {
    std::string name;              ///< unique across all plugins, used in experiment files
    PluginKind kind;
    std::string version;           ///< bump when results would change
    std::string summary;           ///< one line
    std::vector<ParamSpec> params; ///< declared parameters
    std::vector<std::string> needs{};     ///< capabilities this plugin needs, e.g. "texts", "covariate:age", "tokens"
    std::vector<std::string> provides{};  ///< capabilities it adds, e.g. "tokens" (encoder), "text_tower" (method)
};

/// A plugin's manifest and its factory; exactly the factory matching manifest.kind is set.
struct PluginDescriptor {
    PluginManifest manifest;
    std::function<std::unique_ptr<Dataset>(const Params&)> make_dataset;
    std::function<EncoderPtr(const Params&, const EncoderInput&)> make_encoder;
    std::function<std::shared_ptr<SslMethod>(const Params&)> make_ssl;
    std::function<std::unique_ptr<Task>(const Params&)> make_task;
};

/// Signatures of the exported entry points.
using PluginAbiFn = std::uint32_t();
using PluginBuildFn = const char*();
using PluginDescriptorsFn = const std::vector<PluginDescriptor>*();

/// The host's own build signature (compare with a plugin's).
const char* host_build_signature();

}  // namespace ecgbench

/// Exports the plugins of a library. `describe_all` returns std::vector<PluginDescriptor>; it runs
/// once, on the first call after the host has checked the ABI version and build signature.
#define ECGBENCH_PLUGINS(describe_all)                                                             \
    namespace {                                                                                    \
    std::uint32_t ecgbench_plugin_abi_impl() { return ::ecgbench::kAbiVersion; }                   \
    const char* ecgbench_plugin_build_impl() { return ECGBENCH_BUILD_SIGNATURE; }                  \
    const std::vector<::ecgbench::PluginDescriptor>* ecgbench_plugin_descriptors_impl() {          \
        static const std::vector<::ecgbench::PluginDescriptor> descriptors = describe_all();       \
        return &descriptors;                                                                       \
    }                                                                                              \
    }                                                                                              \
    BOOST_DLL_ALIAS(ecgbench_plugin_abi_impl, ecgbench_plugin_abi)                                 \
    BOOST_DLL_ALIAS(ecgbench_plugin_build_impl, ecgbench_plugin_build)                             \
    BOOST_DLL_ALIAS(ecgbench_plugin_descriptors_impl, ecgbench_plugin_descriptors)

/// Exports a library holding one plugin; `describe` returns its PluginDescriptor.
#define ECGBENCH_PLUGIN(describe)                                                                  \
    namespace {                                                                                    \
    std::vector<::ecgbench::PluginDescriptor> ecgbench_describe_one() { return {describe()}; }    \
    }                                                                                              \
    ECGBENCH_PLUGINS(ecgbench_describe_one)
