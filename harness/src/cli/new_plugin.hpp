// `ecgbench new-plugin KIND NAME [--out DIR]`: a plugin skeleton that compiles and runs as written
// — the source with its manifest and documented parameters, a CMakeLists.txt, a tiny experiment
// using the plugin, and a CTest test that runs that experiment through the ecgbench host. In an
// ecgbench checkout it goes to plugins/<kind>/NAME/ (picked up by the build with no other edit);
// with --out, DIR becomes a project built against the installed package (find_package(ecgbench)).
#pragma once

#include <string>
#include <vector>

namespace ecgbench {

/// The kinds new-plugin writes, as typed on the command line.
const std::vector<std::string>& plugin_skeleton_kinds();

/// One file of a skeleton: its path relative to the target directory, and its text.
struct SkeletonFile {
    std::string path;
    std::string text;
};

/// The skeleton's files. `in_tree` selects the CMakeLists.txt for plugins/<kind>/NAME/ rather than
/// a standalone project. Throws std::invalid_argument for an unknown kind or a name that is not
/// lower_snake_case (letters, digits, '_'; a letter first; at most 40 characters).
std::vector<SkeletonFile> plugin_skeleton(const std::string& kind, const std::string& name, bool in_tree);

/// Where an in-tree skeleton goes in the checkout `root`: plugins/<datasets|encoders|ssl|tasks>/NAME.
std::string in_tree_plugin_dir(const std::string& root, const std::string& kind, const std::string& name);

/// Whether `directory` is an ecgbench checkout's root (has plugins/CMakeLists.txt and the public headers).
bool is_ecgbench_checkout(const std::string& directory);

/// Writes the skeleton's files under `directory`, which must not exist or be empty (nothing is ever
/// overwritten); returns the paths written. Throws std::runtime_error naming the directory.
std::vector<std::string> write_plugin_skeleton(const std::vector<SkeletonFile>& files, const std::string& directory);

}  // namespace ecgbench
