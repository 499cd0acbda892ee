// `--set KEY=VALUE` on the command line: one experiment key changed without editing the file.
//
// Each override is applied to the parsed TOML document before the experiment is read from it, so
// it goes through exactly the checks a line of the file goes through, and cells hash exactly as
// if the file had been edited. Nodes an override adds carry the source name "--set #k" (k counts
// from 1), which errors print in place of file:line:column. Syntax: docs/cli.md "--set".
#pragma once

#include <toml++/toml.h>

#include <string>
#include <vector>

namespace ecgbench {

/// "--set #k" for the k-th override (1-based): the location errors name.
std::string override_source(std::size_t k);

/// Applies `overrides` ("KEY=VALUE", in order) to `root`. KEY is a dotted path: table keys
/// (`pretrain.epochs`), an [[array]] entry by its name (`dataset.synth-site0.params.records`; an
/// entry without `name` goes by its `plugin`/`task`) or by index (`dataset[0]`), and quoted
/// segments for names with dots (`dataset."a.b"`). VALUE is a TOML value (`3`, `3e-3`, `"S"`,
/// `[0, 1]`, `true`, `{ size = "XS" }`). Missing tables on the path are created. Throws ConfigError
/// located at "--set #k".
void apply_overrides(toml::table& root, const std::vector<std::string>& overrides);

/// The `set` list of `[profile.NAME]` in the experiment file `path`: `--set` strings that run the
/// experiment in another setting (the paper experiments' `synthetic` profile swaps their real datasets
/// for the synthetic cohort at tiny scale). `--profile NAME` applies them before the command line's
/// own `--set`s, so they count first in "--set #k". Throws ConfigError naming the file and line for
/// an unknown profile (listing the file's profiles) or a malformed one.
std::vector<std::string> profile_overrides(const std::string& path, const std::string& name);

/// The experiment file's text followed by the overrides as TOML comments: what the store keeps
/// as the experiment's text when a run used `--set`.
std::string text_with_overrides(const std::string& text, const std::vector<std::string>& overrides);

}  // namespace ecgbench
