// Plugin discovery and loading (Boost.DLL). See registry.hpp for the rules; the order of checks
// follows LLVM's pass-plugin loader: symbol present → ABI version → descriptor → manifest sanity.
#include "registry/registry.hpp"

#include "util/text.hpp"

#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/dll/shared_library.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <sstream>
#include <stdexcept>

namespace ecgbench {
namespace fs = std::filesystem;

namespace {

// Every library ever loaded, kept until the process exits and deliberately leaked: unloading a
// library linked against LibTorch crashes (pytorch#61111), and objects a plugin created may
// outlive the registry that loaded it.
std::vector<boost::dll::shared_library>& loaded_libraries() {
    static auto* libraries = new std::vector<boost::dll::shared_library>();
    return *libraries;
}
std::mutex& loaded_libraries_mutex() {
    static auto* mutex = new std::mutex();
    return *mutex;
}

std::string with_article(const std::string& noun) {
    return (std::string("aeiou").find(noun.front()) == std::string::npos ? "a " : "an ") + noun;
}

}  // namespace

PluginRegistry::PluginRegistry() = default;
PluginRegistry::~PluginRegistry() = default;

std::vector<std::string> PluginRegistry::default_search_path() {
    std::vector<std::string> path;
    const auto exe_dir = boost::dll::program_location().parent_path();
    path.push_back((exe_dir / "plugins").string());                            // the build tree
    path.push_back((exe_dir.parent_path() / ECGBENCH_PLUGIN_INSTALL_DIR).string());  // an installed tree
    if (const char* env = std::getenv("ECGBENCH_PLUGIN_PATH")) {
        std::stringstream in(env);
        std::string entry;
        while (std::getline(in, entry, ':'))
            if (!entry.empty()) path.push_back(entry);
    }
    return path;
}

std::unique_ptr<PluginRegistry> PluginRegistry::load_default() {
    auto registry = std::make_unique<PluginRegistry>();
    for (const auto& dir : default_search_path()) registry->load_directory(dir);
    return registry;
}

void PluginRegistry::load_directory(const std::string& directory) {
    std::error_code ec;
    if (!fs::is_directory(directory, ec)) return;
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(directory, ec))
        if (entry.is_regular_file() && entry.path().extension() == ".so") files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    for (const auto& file : files) load_library(file.string());
}

void PluginRegistry::load_library(const std::string& path) {
    std::error_code ec;
    const std::string canonical = fs::weakly_canonical(path, ec).string();
    for (const auto& plugin : plugins_)
        if (plugin.path == canonical) return;  // the same file reached through two search entries

    auto fail = [&](const std::string& reason) { failures_.push_back({canonical, reason}); };

    boost::dll::shared_library library;
    try {
        library.load(canonical, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
    } catch (const std::exception& e) {
        return fail(std::string("cannot load: ") + e.what());
    }
    if (!library.has("ecgbench_plugin_abi"))
        return fail("not an ecgbench plugin: missing symbol ecgbench_plugin_abi (declare it with ECGBENCH_PLUGIN)");
    const std::uint32_t abi = library.get_alias<PluginAbiFn>("ecgbench_plugin_abi")();
    if (abi != kAbiVersion)
        return fail("ABI version mismatch: plugin built against " + std::to_string(abi) + ", host expects " +
                    std::to_string(kAbiVersion) + " (rebuild the plugin against this ecgbench)");
    if (!library.has("ecgbench_plugin_build") || !library.has("ecgbench_plugin_descriptors"))
        return fail("not an ecgbench plugin: missing symbol ecgbench_plugin_build or ecgbench_plugin_descriptors "
                    "(declare it with ECGBENCH_PLUGIN)");
    // Checked before any descriptor is touched: a std::string or tensor from another LibTorch or
    // string ABI would crash, not fail.
    const std::string build = library.get_alias<PluginBuildFn>("ecgbench_plugin_build")();
    if (build != host_build_signature())
        return fail("built against another toolchain: plugin '" + build + "', host '" + host_build_signature() +
                    "' (rebuild the plugin against this ecgbench and its LibTorch)");

    const std::vector<PluginDescriptor>* descriptors = nullptr;
    try {
        descriptors = library.get_alias<PluginDescriptorsFn>("ecgbench_plugin_descriptors")();
    } catch (const std::exception& e) {
        return fail(std::string("plugin threw while describing itself: ") + e.what());
    }
    if (descriptors == nullptr || descriptors->empty()) return fail("plugin library declares no plugin");
    // All or nothing per library: a library whose second plugin is broken registers none, so an
    // experiment never runs half a method/task pair.
    std::vector<std::string> names;
    for (const auto& descriptor : *descriptors) {
        const auto& m = descriptor.manifest;
        if (m.name.empty()) return fail("plugin manifest has an empty name");
        const bool has_factory = (m.kind == PluginKind::Dataset && descriptor.make_dataset) ||
                                 (m.kind == PluginKind::Encoder && descriptor.make_encoder) ||
                                 (m.kind == PluginKind::Ssl && descriptor.make_ssl) ||
                                 (m.kind == PluginKind::Task && descriptor.make_task);
        if (!has_factory)
            return fail("plugin '" + m.name + "' declares kind " + to_string(m.kind) + " but sets no factory for it");
        if (const auto* other = find(m.name))
            return fail("duplicate plugin name '" + m.name + "' (already loaded from " + other->path + ")");
        if (std::find(names.begin(), names.end(), m.name) != names.end())
            return fail("duplicate plugin name '" + m.name + "' twice in the same library");
        names.push_back(m.name);
    }

    {
        std::lock_guard<std::mutex> lock(loaded_libraries_mutex());
        loaded_libraries().push_back(std::move(library));
    }
    for (const auto& descriptor : *descriptors) plugins_.push_back({canonical, &descriptor});
}

std::vector<PluginManifest> PluginRegistry::manifests() const {
    std::vector<PluginManifest> out;
    for (const auto& p : plugins_) out.push_back(p.manifest());
    return out;
}

const LoadedPlugin* PluginRegistry::find(const std::string& name) const {
    for (const auto& p : plugins_)
        if (p.manifest().name == name) return &p;
    return nullptr;
}

const LoadedPlugin& PluginRegistry::require(const std::string& name, PluginKind kind) const {
    const auto* plugin = find(name);
    if (plugin && plugin->manifest().kind == kind) return *plugin;
    if (plugin)
        throw std::invalid_argument("'" + name + "' is " + with_article(to_string(plugin->manifest().kind)) +
                                    " plugin, not " + with_article(to_string(kind)) + " plugin");
    std::vector<std::string> names;
    for (const auto& p : plugins_)
        if (p.manifest().kind == kind) names.push_back(p.manifest().name);
    std::string message = std::string("unknown ") + to_string(kind) + " plugin '" + name + "'" + did_you_mean(name, names);
    if (!failures_.empty()) message += " (" + std::to_string(failures_.size()) + " plugin libraries failed to load: see `ecgbench plugins`)";
    throw std::invalid_argument(message);
}

std::unique_ptr<Dataset> PluginRegistry::make_dataset(const std::string& name, const Params& params) const {
    return require(name, PluginKind::Dataset).descriptor->make_dataset(params);
}

EncoderPtr PluginRegistry::make_encoder(const std::string& name, const Params& params, const EncoderInput& input) const {
    return require(name, PluginKind::Encoder).descriptor->make_encoder(params, input);
}

std::shared_ptr<SslMethod> PluginRegistry::make_ssl(const std::string& name, const Params& params) const {
    return require(name, PluginKind::Ssl).descriptor->make_ssl(params);
}

std::unique_ptr<Task> PluginRegistry::make_task(const std::string& name, const Params& params) const {
    return require(name, PluginKind::Task).descriptor->make_task(params);
}

}  // namespace ecgbench
