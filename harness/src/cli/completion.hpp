// `ecgbench completion bash`: a bash completion script generated from the command line's own
// definition (subcommands, their options, which options take values), so it cannot drift from it.
// The build writes it to build/share/bash-completion/completions/ecgbench and installs it there.
#pragma once

#include <CLI/CLI.hpp>

#include <map>
#include <string>

namespace ecgbench {

/// What to offer for an option's value or a positional argument. Keys: an option's long name
/// ("--only") or "<subcommand> <positional>" ("plan file"); values: "@file", "@dir" or words.
/// Values of options without a hint are not completed.
using CompletionHints = std::map<std::string, std::string>;

/// The script: defines _ecgbench and registers it for `ecgbench`.
std::string bash_completion(const CLI::App& app, const CompletionHints& hints);

}  // namespace ecgbench
