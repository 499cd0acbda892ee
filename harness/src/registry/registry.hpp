// Finds and loads plugin libraries with Boost.DLL. Checks each library's ABI version before
// touching anything else, rejects duplicate names, and collects failures instead of stopping:
// one broken plugin never hides the others. Libraries stay loaded for the life of the process.
#pragma once

#include "ecgbench/plugin.hpp"

#include <memory>
#include <string>
#include <vector>

namespace ecgbench {

/// A plugin that loaded and passed the checks (one library may hold several).
struct LoadedPlugin {
    std::string path;                      ///< file it came from
    const PluginDescriptor* descriptor;    ///< owned by the (never unloaded) library
    const PluginManifest& manifest() const { return descriptor->manifest; }
};

/// A library that did not load, and why (missing symbol, ABI mismatch, duplicate name, …).
struct LoadFailure {
    std::string path;
    std::string reason;
};

class PluginRegistry {
public:
    PluginRegistry();
    ~PluginRegistry();
    PluginRegistry(const PluginRegistry&) = delete;
    PluginRegistry& operator=(const PluginRegistry&) = delete;

    /// The default search path: <directory of the running executable>/plugins (build tree), then
    /// <that directory>/../lib/ecgbench/plugins (installed tree), then each entry of
    /// ECGBENCH_PLUGIN_PATH (colon-separated directories).
    static std::vector<std::string> default_search_path();

    /// Loads every *.so in `directory` (sorted by name, non-recursive). A missing directory is not an error.
    void load_directory(const std::string& directory);
    /// Loads one library; a failure is recorded, not thrown.
    void load_library(const std::string& path);
    /// Convenience: a registry loaded from default_search_path().
    static std::unique_ptr<PluginRegistry> load_default();

    const std::vector<LoadedPlugin>& plugins() const { return plugins_; }
    const std::vector<LoadFailure>& failures() const { return failures_; }
    std::vector<PluginManifest> manifests() const;

    /// The plugin called `name`, or nullptr.
    const LoadedPlugin* find(const std::string& name) const;
    /// The plugin called `name` of `kind`; throws std::invalid_argument with a did-you-mean otherwise.
    const LoadedPlugin& require(const std::string& name, PluginKind kind) const;

    /// Factories with validated params (see validate_params); throw std::invalid_argument on misuse.
    std::unique_ptr<Dataset> make_dataset(const std::string& name, const Params& params) const;
    EncoderPtr make_encoder(const std::string& name, const Params& params, const EncoderInput& input) const;
    std::shared_ptr<SslMethod> make_ssl(const std::string& name, const Params& params) const;
    std::unique_ptr<Task> make_task(const std::string& name, const Params& params) const;

private:
    std::vector<LoadedPlugin> plugins_;
    std::vector<LoadFailure> failures_;
};

}  // namespace ecgbench
