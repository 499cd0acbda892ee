// The command-line conventions of issue 20 through the real binary: --version, exit codes of
// command-line errors, --set, --filter/--only/--force, --json documents, bash completion and
// new-plugin's in-tree layout. (new-plugin skeletons are built and run in test_new_plugin.cpp.)
#include "support/command.hpp"
#include "support/json_query.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <string>

namespace fs = std::filesystem;

namespace {

using test_support::CommandResult;
using test_support::JsonQuery;
using test_support::run_command;

const std::string kBinary = std::string(ECGBENCH_BINARY_DIR) + "/ecgbench";

// SimCLR and random init on a small synthetic site, one epoch, probed on another site.
const char* kExperiment = R"([experiment]
name = "conventions"

[[dataset]]
name = "pre"
plugin = "synthetic"
params = { seed = 1, records = 64, records_per_subject = 2, duration_s = 2.5 }

[[dataset]]
name = "heldout"
plugin = "synthetic"
params = { seed = 2, records = 96, records_per_subject = 2, site = 1, duration_s = 2.5 }

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
epochs = 1
batch_size = 32

[[evaluation]]
name = "probe"
task = "linear_probe"
datasets = ["heldout"]
)";

class Conventions : public ::testing::Test {
protected:
    void SetUp() override {
        std::random_device rd;
        dir_ = fs::temp_directory_path() / ("ecgbench-conventions-" + std::to_string(rd()));
        fs::create_directories(dir_);
        store_ = (dir_ / "store.db").string();
        file_ = write("exp.toml", kExperiment);
    }
    void TearDown() override { fs::remove_all(dir_); }

    std::string write(const std::string& name, const std::string& text) {
        const auto path = (dir_ / name).string();
        std::ofstream(path) << text;
        return path;
    }
    CommandResult ecgbench(const std::string& args) { return run_command(kBinary + " --store " + store_ + " " + args); }
    /// stdout alone (a JSON document), failing the test on a non-zero exit.
    std::string json(const std::string& args) {
        const auto result = run_command("{ " + kBinary + " --store " + store_ + " " + args + " 2>/dev/null; }");
        EXPECT_EQ(result.exit_code, 0) << args << "\n" << result.output;
        return result.output;
    }
    std::int64_t count(const std::string& sql) {
        SQLite::Database db(store_);
        return db.execAndGet(sql).getInt64();
    }

    fs::path dir_;
    std::string store_, file_;
};

}  // namespace

TEST(CliConventions, VersionNamesTheBuildAndCommandLineErrorsExit2) {
    const auto version = run_command(kBinary + " --version");
    ASSERT_EQ(version.exit_code, 0) << version.output;
    EXPECT_NE(version.output.find("ecgbench 0."), std::string::npos) << version.output;
    // Built from a git checkout (this one): a full commit hash, "+dirty" with local changes.
    EXPECT_TRUE(std::regex_search(version.output, std::regex("git commit: [0-9a-f]{40}(\\+dirty)?\n"))) << version.output;
    EXPECT_TRUE(std::regex_search(version.output, std::regex("LibTorch [0-9]+\\.[0-9]+[^\n]*: CPU; CUDA"))) << version.output;
    EXPECT_TRUE(std::regex_search(version.output, std::regex("BLAS: /[^\n]*blas"))) << version.output;

    for (const char* bad : {"", "plan", "frobnicate", "run --only training x.toml", "new-plugin widget foo",
                            "completion zsh", "plan --filter"}) {
        const auto result = run_command(kBinary + " " + bad);
        EXPECT_EQ(result.exit_code, 2) << "'" << bad << "': " << result.output;
    }
    // --help lists the new options.
    const auto help = run_command(kBinary + " run --help");
    for (const char* option : {"--set", "--filter", "--only", "--force"})
        EXPECT_NE(help.output.find(option), std::string::npos) << option << "\n" << help.output;
    EXPECT_NE(run_command(kBinary + " plan --help").output.find("--json"), std::string::npos);
}

TEST_F(Conventions, SetIsCheckedHashedAsTheEditedFileAndRecorded) {
    // Identity: `--set` gives exactly the cells of the edited file, and others than the original's.
    const std::string hashes = "SELECT group_concat(json_extract(value, '$.hash')) FROM json_each(?, '$.cells')";
    const std::string overridden =
        JsonQuery(json("plan --json " + file_ + " --set pretrain.epochs=2 --set dataset.heldout.params.records=120 "
                       "--set 'encoder.resnet-xs.params.size=\"S\"'")).value(hashes);
    std::string text = kExperiment;
    text.replace(text.find("epochs = 1"), 10, "epochs = 2");
    text.replace(text.find("records = 96"), 12, "records = 120");
    text.replace(text.find("size = \"XS\""), 11, "size = \"S\"");
    const std::string edited = JsonQuery(json("plan --json " + write("edited.toml", text))).value(hashes);
    const std::string original = JsonQuery(json("plan --json " + file_)).value(hashes);
    EXPECT_EQ(overridden, edited);
    EXPECT_NE(overridden, original);
    EXPECT_EQ(std::count(overridden.begin(), overridden.end(), ','), 3) << overridden;  // 4 cells

    // Errors: the file's wording, located at the override; exit 2; nothing run.
    auto bad = ecgbench("run " + file_ + " --set pretrain.epochs=2 --set pretrain.epohcs=3");
    EXPECT_EQ(bad.exit_code, 2);
    EXPECT_NE(bad.output.find("error: --set #2: unknown key 'epohcs' in [pretrain] (did you mean 'epochs'?)"),
              std::string::npos) << bad.output;
    bad = ecgbench("plan " + file_ + " --set 'encoder.resnet-xs.params.size=\"XL\"'");
    EXPECT_EQ(bad.exit_code, 2);
    EXPECT_NE(bad.output.find("error: --set #1: plugin 'resnet1d'"), std::string::npos) << bad.output;
    EXPECT_FALSE(fs::exists(store_));

    // Provenance: each run lists its overrides, and the stored experiment text ends with them.
    const auto ran = ecgbench("run --quiet --only pretrain --filter random_init " + file_ + " --set pretrain.batch_size=16");
    ASSERT_EQ(ran.exit_code, 0) << ran.output;
    EXPECT_EQ(count("SELECT COUNT(*) FROM runs"), 1);
    EXPECT_EQ(count("SELECT COUNT(*) FROM runs WHERE json_extract(extra, '$.overrides[0]') = 'pretrain.batch_size=16'"), 1);
    EXPECT_EQ(count("SELECT COUNT(*) FROM experiments WHERE toml_text LIKE '%# --set pretrain.batch_size=16%'"), 1);
}

TEST_F(Conventions, FilterOnlyAndForceActOnTheSelectedCells) {
    // Only SimCLR's evaluation: its pretraining runs first because the evaluation needs it.
    auto result = ecgbench("run --quiet --only eval --filter simclr " + file_);
    ASSERT_EQ(result.exit_code, 0) << result.output;
    EXPECT_NE(result.output.find("done: 2 ran, 0 already finished"), std::string::npos) << result.output;
    EXPECT_EQ(count("SELECT COUNT(*) FROM runs r JOIN cells c ON c.hash = r.cell_hash WHERE c.ssl = 'simclr' AND r.status = 'finished'"), 2);
    EXPECT_EQ(count("SELECT COUNT(*) FROM runs r JOIN cells c ON c.hash = r.cell_hash WHERE c.ssl = 'random_init'"), 0);

    // plan shows the selection (the pretraining it needs in parentheses) and counts only selected cells.
    const auto plan = ecgbench("plan --only eval --filter simclr " + file_);
    EXPECT_NE(plan.output.find("selected 0 pretraining, 1 evaluation"), std::string::npos) << plan.output;
    EXPECT_NE(plan.output.find("(finished) "), std::string::npos) << plan.output;
    EXPECT_NE(plan.output.find("\n1 finished  \n"), std::string::npos) << plan.output;
    const auto status = ecgbench("status --filter random_init " + file_);
    EXPECT_NE(status.output.find("todo 2  (2 of 4 cells selected)"), std::string::npos) << status.output;

    ASSERT_EQ(ecgbench("run --quiet " + file_).exit_code, 0);
    EXPECT_EQ(count("SELECT COUNT(*) FROM runs"), 4);
    // --force redoes the selected cells only: both evaluations, not their pretrainings...
    result = ecgbench("run --quiet --force --filter probe " + file_);
    ASSERT_EQ(result.exit_code, 0) << result.output;
    EXPECT_NE(result.output.find("done: 2 ran, 0 already finished"), std::string::npos) << result.output;
    EXPECT_EQ(count("SELECT COUNT(*) FROM runs r JOIN cells c ON c.hash = r.cell_hash WHERE c.kind = 'pretrain'"), 2);
    EXPECT_EQ(count("SELECT COUNT(*) FROM runs r JOIN cells c ON c.hash = r.cell_hash WHERE c.kind = 'eval'"), 4);
    // ...and one pretraining alone, leaving its evaluation as it was.
    ASSERT_EQ(ecgbench("run --quiet --force --only pretrain --filter random_init " + file_).exit_code, 0);
    EXPECT_EQ(count("SELECT COUNT(*) FROM runs"), 7);
    EXPECT_EQ(ecgbench("run --filter '([' " + file_).exit_code, 2);

    // The JSON documents of plan, status and report over this store.
    JsonQuery plan_json(json("plan --json --filter simclr " + file_));
    ASSERT_TRUE(plan_json.valid());
    EXPECT_EQ(plan_json.text("$.schema"), "ecgbench.plan/1");
    EXPECT_EQ(plan_json.length("$.cells"), 2);
    EXPECT_EQ(plan_json.text("$.cells[0].label"), "pretrain pre × resnet-xs × simclr × seed 0");
    EXPECT_EQ(plan_json.text("$.cells[1].label"), "pretrain pre × resnet-xs × simclr × seed 0 → probe on heldout (labels 100%)");
    EXPECT_EQ(plan_json.text("$.cells[1].kind"), "eval");
    EXPECT_EQ(plan_json.text("$.cells[1].pretrain_hash"), plan_json.text("$.cells[0].hash"));
    EXPECT_EQ(plan_json.type("$.cells[0].config"), "object");
    EXPECT_EQ(plan_json.text("$.cells[0].config.ssl.plugin"), "simclr");
    EXPECT_EQ(plan_json.text("$.counts.finished"), "2");
    EXPECT_EQ(plan_json.text("$.total.eval"), "2");

    JsonQuery status_json(json("status --json " + file_));
    EXPECT_EQ(status_json.text("$.schema"), "ecgbench.status/1");
    EXPECT_EQ(status_json.length("$.cells"), 4);
    EXPECT_EQ(status_json.text("$.counts.finished"), "4");
    EXPECT_EQ(status_json.type("$.cells[0].run.id"), "integer");
    EXPECT_EQ(status_json.type("$.cells[0].run.error"), "null");

    JsonQuery report_json(json("report conventions --json --out " + (dir_ / "report").string()));
    EXPECT_EQ(report_json.text("$.schema"), "ecgbench.report/1");
    EXPECT_EQ(report_json.length("$.columns"), 1);
    EXPECT_EQ(report_json.text("$.columns[0].task"), "probe");
    EXPECT_EQ(report_json.length("$.rows"), 2);
    EXPECT_EQ(report_json.value("SELECT COUNT(*) FROM json_each(?, '$.rows') WHERE json_extract(value, '$.cells[0].n') = 1 "
                                "AND json_extract(value, '$.cells[0].mean') BETWEEN 0 AND 1"), "2");
    EXPECT_EQ(report_json.value("SELECT COUNT(*) FROM json_each(?, '$.results') WHERE json_extract(value, '$.metric') = "
                                "'macro_auroc' AND json_extract(value, '$.split') = 'test'"), "2");
    EXPECT_EQ(report_json.length("$.files"), 3);  // report.md, results.csv, summary.csv
    EXPECT_TRUE(fs::exists(report_json.text("$.files[0]")));
}

TEST(CliConventions, PluginsJsonDescribesEveryPluginAndItsParameters) {
    JsonQuery all(run_command("{ " + kBinary + " plugins --json 2>/dev/null; }").output);
    ASSERT_TRUE(all.valid());
    EXPECT_EQ(all.text("$.schema"), "ecgbench.plugins/1");
    EXPECT_EQ(all.value("SELECT COUNT(*) FROM json_each(?, '$.plugins') WHERE json_extract(value, '$.name') IN "
                        "('synthetic', 'resnet1d', 'simclr', 'linear_probe')"), "4");
    EXPECT_EQ(all.type("$.failures"), "array");
    JsonQuery one(run_command("{ " + kBinary + " plugins resnet1d --json 2>/dev/null; }").output);
    EXPECT_EQ(one.length("$.plugins"), 1);
    EXPECT_EQ(one.text("$.plugins[0].kind"), "encoder");
    EXPECT_EQ(one.value("SELECT json_extract(value, '$.type') || ' ' || json_extract(value, '$.default') || ' ' || "
                        "json_array_length(value, '$.choices') FROM json_each(?, '$.plugins[0].params') WHERE "
                        "json_extract(value, '$.name') = 'size'"), "string S 4");
    EXPECT_EQ(run_command(kBinary + " plugins resnet1e --json").exit_code, 2);
}

TEST(CliConventions, BashCompletionOffersSubcommandsOptionsAndValues) {
    const auto script = run_command("{ " + kBinary + " completion bash 2>/dev/null; }");
    ASSERT_EQ(script.exit_code, 0);
    // The build wrote the same script for installation.
    std::ifstream built(std::string(ECGBENCH_BINARY_DIR) + "/share/bash-completion/completions/ecgbench");
    EXPECT_EQ(std::string((std::istreambuf_iterator<char>(built)), {}), script.output);
    // Complete as bash would: COMP_WORDS/COMP_CWORD set, the function called, COMPREPLY printed.
    const fs::path file = fs::temp_directory_path() / ("ecgbench-completion-" + std::to_string(std::random_device{}()));
    std::ofstream(file) << script.output;
    auto complete = [&](const std::string& words) {
        return run_command("bash -c 'source " + file.string() + "; COMP_WORDS=(" + words + "); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); "
                           "_ecgbench; echo \"${COMPREPLY[*]}\"'").output;
    };
    EXPECT_EQ(complete("ecgbench pl"), "plugins plan\n");
    EXPECT_EQ(complete("ecgbench n"), "new-plugin\n");
    EXPECT_EQ(complete("ecgbench run --f"), "--filter --force\n");
    EXPECT_EQ(complete("ecgbench status --only \"\""), "pretrain eval\n");
    EXPECT_EQ(complete("ecgbench new-plugin \"\""), "dataset encoder ssl task\n");
    EXPECT_EQ(complete("ecgbench wfdb \"\""), "info read ann\n");
    EXPECT_EQ(complete("ecgbench --vers"), "--version\n");
    EXPECT_EQ(complete("ecgbench run --force --q"), "--quiet\n");  // a flag takes no value
    fs::remove(file);
}

TEST_F(Conventions, NewPluginWritesIntoTheCheckoutOrRefuses) {
    // A checkout's root, as new-plugin recognises it.
    const fs::path root = dir_ / "checkout";
    fs::create_directories(root / "plugins");
    fs::create_directories(root / "harness/include/ecgbench");
    std::ofstream(root / "plugins/CMakeLists.txt") << "";
    std::ofstream(root / "harness/include/ecgbench/plugin.hpp") << "";
    auto in = [&](const fs::path& cwd, const std::string& args) {
        return run_command("cd " + cwd.string() + " && " + kBinary + " " + args);
    };
    auto result = in(root, "new-plugin ssl my_method");
    ASSERT_EQ(result.exit_code, 0) << result.output;
    for (const char* file : {"my_method.cpp", "CMakeLists.txt", "experiment.toml"})
        EXPECT_TRUE(fs::exists(root / "plugins/ssl/my_method" / file)) << file;
    std::ifstream cmake(root / "plugins/ssl/my_method/CMakeLists.txt");
    const std::string text((std::istreambuf_iterator<char>(cmake)), {});
    EXPECT_NE(text.find("ecgbench_add_plugin(my_method SOURCES my_method.cpp)"), std::string::npos) << text;
    EXPECT_EQ(text.find("find_package"), std::string::npos) << text;  // in tree: the tree's own targets

    result = in(root, "new-plugin ssl my_method");  // never overwrites
    EXPECT_EQ(result.exit_code, 2);
    EXPECT_NE(result.output.find("already exists"), std::string::npos) << result.output;
    result = in(root, "new-plugin ssl simclr");  // a name a loaded plugin has
    EXPECT_EQ(result.exit_code, 2);
    EXPECT_NE(result.output.find("a plugin named 'simclr' already exists"), std::string::npos) << result.output;
    result = in(root, "new-plugin task Bad-Name");
    EXPECT_EQ(result.exit_code, 2);
    EXPECT_NE(result.output.find("lower_snake_case"), std::string::npos) << result.output;
    result = in(dir_, "new-plugin encoder my_encoder");  // not a checkout and no --out
    EXPECT_EQ(result.exit_code, 2);
    EXPECT_NE(result.output.find("pass --out DIR"), std::string::npos) << result.output;
    result = in(dir_, "new-plugin encoder my_encoder --out " + (dir_ / "proj").string());
    ASSERT_EQ(result.exit_code, 0) << result.output;
    std::ifstream project(dir_ / "proj/CMakeLists.txt");
    EXPECT_NE(std::string((std::istreambuf_iterator<char>(project)), {}).find("find_package(ecgbench REQUIRED)"), std::string::npos);
}
