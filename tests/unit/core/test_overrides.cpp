// `--set KEY=VALUE` overrides (config/overrides.hpp) and cell selection (config/selection.hpp):
// key addressing, TOML values, errors named "--set #k" with the file's wording, and identities
// equal to those of the edited file.
#include "config/experiment.hpp"
#include "config/matrix.hpp"
#include "config/overrides.hpp"
#include "config/selection.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <string>
#include <vector>

namespace ecgbench {
namespace {

std::vector<PluginManifest> manifests() {
    return {{"synthetic", PluginKind::Dataset, "1.2", "synthetic ECGs",
             {{"records", ParamType::Int, std::int64_t{1000}, "records", 10.0, std::nullopt, {}},
              {"noise", ParamType::Float, 0.0, "noise std", 0.0, 1.0, {}}}},
            {"resnet1d", PluginKind::Encoder, "0.3", "1-D ResNet",
             {{"size", ParamType::String, std::string("S"), "size", std::nullopt, std::nullopt, {"XS", "S", "M"}}}},
            {"simclr", PluginKind::Ssl, "1.0", "SimCLR", {{"temperature", ParamType::Float, 0.5, "temperature", 0.01, 10.0}}},
            {"random_init", PluginKind::Ssl, "1.0", "baseline", {}},
            {"linear_probe", PluginKind::Task, "1.0", "linear probe", {{"epochs", ParamType::Int, std::int64_t{10}, "epochs", 1.0}}}};
}

const std::string kText = R"([experiment]
name = "small"

[[dataset]]
name = "pre"
plugin = "synthetic"
params = { records = 100 }

[[dataset]]
name = "held.out"
plugin = "synthetic"

[[encoder]]
name = "resnet-xs"
plugin = "resnet1d"
params = { size = "XS" }

[[ssl]]
plugin = "simclr"

[[ssl]]
plugin = "random_init"

[pretrain]
datasets = ["pre"]
epochs = 2

[[evaluation]]
name = "probe"
task = "linear_probe"
datasets = ["held.out"]
label_fractions = [1.0, 0.1]
)";

Experiment parse(const std::string& text, const std::vector<std::string>& overrides = {}) {
    Experiment e = parse_experiment_text(text, "exp.toml", overrides);
    validate_experiment(e, manifests());
    return e;
}

Plan plan_of(const Experiment& e) {
    std::map<std::string, DatasetIdentity> identities;
    for (const auto& d : e.datasets) identities[d.name] = {"fp-" + d.name, "v1", 100.0, {"I", "II"}, Json::array()};
    return expand(e, identities);
}

std::vector<std::string> hashes(const Plan& plan) {
    std::vector<std::string> out;
    for (const auto& c : plan.pretrain) out.push_back(c.hash);
    for (const auto& c : plan.evaluations) out.push_back(c.hash);
    return out;
}

std::string replace(std::string text, const std::string& from, const std::string& to) {
    const auto at = text.find(from);
    if (at == std::string::npos) throw std::logic_error("test bug: '" + from + "' not in text");
    return text.replace(at, from.size(), to);
}

/// The message of the ConfigError that parsing (and validating) throws.
std::string error_of(const std::string& text, const std::vector<std::string>& overrides = {}) {
    try {
        (void)parse(text, overrides);
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "(no error)";
}

TEST(Overrides, CellsHashExactlyAsTheEditedFile) {
    const std::vector<std::string> overrides = {"pretrain.epochs=3", "dataset.pre.params.records=500",
                                                "ssl.simclr.params.temperature=0.2", "pretrain.seeds=[0, 1]",
                                                "evaluation[0].label_fractions=[0.5]", "encoder.resnet-xs.params.size=\"S\""};
    std::string edited = replace(kText, "epochs = 2", "epochs = 3\nseeds = [0, 1]");
    edited = replace(edited, "params = { records = 100 }", "params = { records = 500 }");
    edited = replace(edited, "plugin = \"simclr\"\n", "plugin = \"simclr\"\nparams = { temperature = 0.2 }\n");
    edited = replace(edited, "label_fractions = [1.0, 0.1]", "label_fractions = [0.5]");
    edited = replace(edited, "size = \"XS\"", "size = \"S\"");

    const Experiment with_set = parse(kText, overrides);
    EXPECT_EQ(with_set.pretrain.epochs, 3);
    EXPECT_EQ(with_set.overrides, overrides);
    const auto set_hashes = hashes(plan_of(with_set));
    EXPECT_EQ(set_hashes, hashes(plan_of(parse(edited))));
    EXPECT_NE(set_hashes, hashes(plan_of(parse(kText))));
    EXPECT_EQ(set_hashes.size(), 2u * 2u + 2u * 2u * 1u);  // 2 ssl × 2 seeds, each probed at one fraction
}

TEST(Overrides, AddressEntriesByNameIndexOrQuotedName) {
    EXPECT_EQ(std::get<std::int64_t>(parse(kText, {"dataset[0].params.records=7000"}).datasets[0].ref.raw.at("records")), 7000);
    // An entry without `name` goes by its plugin; a name with a dot is quoted as in TOML.
    EXPECT_DOUBLE_EQ(std::get<double>(parse(kText, {"ssl.simclr.params.temperature=3e-2"}).ssl_methods[0].ref.raw.at("temperature")), 0.03);
    EXPECT_DOUBLE_EQ(std::get<double>(parse(kText, {"dataset.\"held.out\".params.noise=0.25"}).datasets[1].ref.raw.at("noise")), 0.25);
    // Missing tables are created; later overrides see earlier ones; booleans and strings are TOML values.
    const Experiment e = parse(kText, {"dataset.pre.cache=false", "experiment.description=\"from --set\"",
                                       "pretrain.epochs=4", "pretrain.epochs=5"});
    EXPECT_FALSE(e.datasets[0].cache);
    EXPECT_EQ(e.description, "from --set");
    EXPECT_EQ(e.pretrain.epochs, 5);
}

TEST(Overrides, ErrorsReadAsTheFileWouldWithTheOverrideForALocation) {
    // The same mistake in the file and on the command line: one message, two locations.
    const std::string in_file = error_of(replace(kText, "epochs = 2", "epoch = 2"));
    ASSERT_EQ(in_file.rfind("exp.toml:", 0), 0u) << in_file;
    const std::string message = in_file.substr(in_file.find(": ") + 2);
    EXPECT_EQ(message, "unknown key 'epoch' in [pretrain] (did you mean 'epochs'?)");
    EXPECT_EQ(error_of(kText, {"pretrain.epoch=2"}), "--set #1: " + message);

    EXPECT_EQ(error_of(kText, {"pretrain.epochs=3", "pretrain.epochs=0"}),
              "--set #2: 'epochs' in [pretrain] must be >= 1, found 0");
    EXPECT_EQ(error_of(kText, {"pretrain.epochs=\"3\""}),
              "--set #1: wrong type for 'epochs' in [pretrain]: expected integer, found string");
    EXPECT_EQ(error_of(kText, {"encoder.resnet-xs.params.size=\"XL\""}).rfind("--set #1: plugin 'resnet1d': ", 0), 0u)
        << error_of(kText, {"encoder.resnet-xs.params.size=\"XL\""});
    EXPECT_EQ(error_of(kText, {"ssl.simclr.params.temprature=0.1"}).rfind("--set #1: unknown param 'temprature'", 0), 0u);
    EXPECT_EQ(error_of(kText, {"pretrain.datasets=[\"pre\", \"nope\"]"}).rfind("--set #1: unknown dataset 'nope'", 0), 0u)
        << error_of(kText, {"pretrain.datasets=[\"pre\", \"nope\"]"});
}

TEST(Overrides, BadKeysAndValuesAreNamed) {
    EXPECT_EQ(error_of(kText, {"pretrain.epochs"}), "--set #1: expected KEY=VALUE, found 'pretrain.epochs'");
    EXPECT_EQ(error_of(kText, {"=3"}), "--set #1: expected KEY=VALUE, found '=3'");
    EXPECT_NE(error_of(kText, {"pretrain.device=cuda"}).find("a string needs TOML quotes"), std::string::npos);
    EXPECT_EQ(error_of(kText, {"pretrain.epochs=3", "pretrain.epochs="}).rfind("--set #2: bad value '': TOML syntax error", 0), 0u);
    EXPECT_EQ(error_of(kText, {"dataset.nope.params.records=1"}),
              "--set #1: no [[dataset]] entry named 'nope' (entries: pre, held.out; address one as dataset.NAME or dataset[INDEX])");
    EXPECT_EQ(error_of(kText, {"dataset[2].params.records=1"}),
              "--set #1: 'dataset[2]': the experiment has 2 [[dataset]] entries (indexes from 0)");
    EXPECT_EQ(error_of(kText, {"dataset.pre=1"}), "--set #1: 'dataset.pre' names a whole [[dataset]] entry; set one of its keys");
    EXPECT_EQ(error_of(kText, {"pretrain.epochs.x=1"}), "--set #1: 'pretrain.epochs' is an integer, not a table: it has no key 'x'");
    EXPECT_EQ(error_of(kText, {"pretrain..epochs=1"}), "--set #1: bad key 'pretrain..epochs': empty segment");
}

TEST(Overrides, StoredTextRecordsThem) {
    EXPECT_EQ(text_with_overrides("a = 1\n", {}), "a = 1\n");
    EXPECT_EQ(text_with_overrides("a = 1", {"b=2", "c=\"x\""}),
              "a = 1\n\n# Overridden on the command line (applied in this order):\n# --set b=2\n# --set c=\"x\"\n");
}

// [profile.NAME]: a named list of --set strings in the file (`--profile NAME` prepends them).
TEST(Profiles, AreTheFilesOwnOverridesAndHashAsTheEditedFile) {
    const std::string profiled = kText + R"(
[profile.tiny]
description = "fewer records, one fraction"
set = ['dataset.pre.params.records=50', 'evaluation.probe.label_fractions=[1.0]']

[profile.other]
description = "nothing changed"
)";
    const auto path = (std::filesystem::temp_directory_path() / ("profiles-" + std::to_string(::getpid()) + ".toml")).string();
    std::ofstream(path) << profiled;
    const auto tiny = profile_overrides(path, "tiny");
    EXPECT_EQ(tiny, (std::vector<std::string>{"dataset.pre.params.records=50", "evaluation.probe.label_fractions=[1.0]"}));
    EXPECT_TRUE(profile_overrides(path, "other").empty());
    // Applied, the cells are those of the edited file; the profile tables change no identity.
    const std::string edited = replace(replace(kText, "params = { records = 100 }", "params = { records = 50 }"),
                                       "label_fractions = [1.0, 0.1]", "label_fractions = [1.0]");
    EXPECT_EQ(hashes(plan_of(parse(profiled, tiny))), hashes(plan_of(parse(edited))));
    EXPECT_EQ(hashes(plan_of(parse(profiled))), hashes(plan_of(parse(kText))));

    try {
        (void)profile_overrides(path, "big");
        ADD_FAILURE() << "no error for an unknown profile";
    } catch (const ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find("no [profile.big] in this file (profiles: other, tiny)"), std::string::npos) << e.what();
    }
    std::filesystem::remove(path);

    // Malformed profiles fail at parse time whether or not they are used, at their line.
    EXPECT_NE(error_of(kText + "\n[profile.x]\nsets = []\n").find("unknown key 'sets' in [profile.x]"), std::string::npos)
        << error_of(kText + "\n[profile.x]\nsets = []\n");
    EXPECT_NE(error_of(kText + "\n[profile.x]\nset = [1]\n").find("exp.toml:"), std::string::npos);
    EXPECT_NE(error_of(kText + "\n[profile.x]\nset = [1]\n").find("expected string"), std::string::npos)
        << error_of(kText + "\n[profile.x]\nset = [1]\n");
    EXPECT_NE(error_of("profile = 3\n" + kText).find("wrong type for 'profile'"), std::string::npos) << error_of("profile = 3\n" + kText);
}

TEST(Selection, LabelsFiltersAndKinds) {
    const Experiment e = parse(kText);
    const Plan plan = plan_of(e);
    ASSERT_EQ(plan.pretrain.size(), 2u);
    ASSERT_EQ(plan.evaluations.size(), 4u);
    EXPECT_EQ(pretrain_label(e, plan.pretrain[0]), "pretrain pre × resnet-xs × simclr × seed 0");
    EXPECT_EQ(eval_label(e, plan, plan.evaluations[1]),
              "pretrain pre × resnet-xs × simclr × seed 0 → probe on held.out (labels 10%)");

    auto chosen = [&](const std::optional<std::string>& filter, CellKinds kinds) {
        const Selection s = select_cells(e, plan, filter, kinds);
        std::string out;
        for (bool b : s.pretrain) out += b ? 'P' : '.';
        out += '|';
        for (bool b : s.evaluations) out += b ? 'E' : '.';
        return out;
    };
    EXPECT_EQ(chosen(std::nullopt, CellKinds::All), "PP|EEEE");
    EXPECT_EQ(chosen("simclr", CellKinds::All), "P.|EE..");        // a method: its pretraining and evaluations
    EXPECT_EQ(chosen("probe", CellKinds::All), "..|EEEE");         // an evaluation: evaluations only
    EXPECT_EQ(chosen("labels 10%", CellKinds::All), "..|.E.E");
    EXPECT_EQ(chosen("random_init", CellKinds::Eval), "..|..EE");
    EXPECT_EQ(chosen(std::nullopt, CellKinds::Pretrain), "PP|....");
    EXPECT_EQ(chosen("^pretrain [^→]*simclr[^→]*$", CellKinds::All), "P.|....");  // anchored: the pretraining alone
    EXPECT_EQ(chosen("nothing matches this", CellKinds::All), "..|....");

    const Selection evals = select_cells(e, plan, "simclr.*probe", CellKinds::All);
    EXPECT_TRUE(evals.involved(plan, 0));  // its evaluations need its checkpoint
    EXPECT_FALSE(evals.involved(plan, 1));
    EXPECT_EQ(evals.count(), 2u);

    EXPECT_THROW((void)select_cells(e, plan, "([", CellKinds::All), std::invalid_argument);

    // --cell: a pretraining cell's hash names it and its evaluations; combined with --only and --filter.
    auto by_hash = [&](const std::vector<std::string>& cells, CellKinds kinds, const std::optional<std::string>& filter = {}) {
        const Selection s = select_cells(e, plan, filter, kinds, cells);
        std::string out;
        for (bool b : s.pretrain) out += b ? 'P' : '.';
        out += '|';
        for (bool b : s.evaluations) out += b ? 'E' : '.';
        return out;
    };
    const std::string p1 = plan.pretrain[1].hash.substr(0, 8);
    EXPECT_EQ(by_hash({p1}, CellKinds::All), ".P|..EE");
    EXPECT_EQ(by_hash({p1}, CellKinds::Pretrain), ".P|....");
    EXPECT_EQ(by_hash({p1}, CellKinds::Eval), "..|..EE");
    EXPECT_EQ(by_hash({p1}, CellKinds::Eval, "labels 10%"), "..|...E");
    EXPECT_EQ(by_hash({plan.evaluations[0].hash, p1}, CellKinds::All), ".P|E.EE");
    EXPECT_THROW((void)select_cells(e, plan, std::nullopt, CellKinds::All, {"abc"}), std::invalid_argument);
    EXPECT_THROW((void)select_cells(e, plan, std::nullopt, CellKinds::All, {"0000000000"}), std::invalid_argument);
    EXPECT_EQ(parse_cell_kinds("eval"), CellKinds::Eval);
    EXPECT_THROW((void)parse_cell_kinds("evaluation"), std::invalid_argument);
}

}  // namespace
}  // namespace ecgbench
