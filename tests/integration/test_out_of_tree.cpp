// Plugins built outside the tree against an installed ecgbench: `cmake --install` into a temporary
// prefix, configure tests/out_of_tree (find_package(ecgbench), ecgbench_add_plugin) against it,
// build its six one-file plugins — an EMA-target method, a texts + covariate method, a token
// encoder, a masked-token method, a fine-tuning task and a dataset derived from the public synthetic
// cohort generator — and run them through the installed `ecgbench run`, then inspect the store.
#include "support/command.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

namespace fs = std::filesystem;

namespace {

const auto run = test_support::run_command;

const char* kExperiment = R"(
[experiment]
name = "out-of-tree"

[[dataset]]
name = "pre"
plugin = "synthetic"
params = { seed = 1, records = 96, records_per_subject = 2, duration_s = 2.5 }

[[dataset]]
name = "heldout"
plugin = "af_cohort"
params = { seed = 2, records = 96, records_per_subject = 2, site = 1, duration_s = 2.5, prevalence_af = 0.5 }

[[encoder]]
plugin = "patch_encoder"

[[ssl]]
plugin = "byol_mini"

[[ssl]]
plugin = "report_age"

[[ssl]]
plugin = "masked_patches"

[pretrain]
datasets = ["pre"]
epochs = 2
batch_size = 16

[[evaluation]]
task = "finetune_mini"
datasets = ["heldout"]
params = { epochs = 1 }
)";

TEST(OutOfTree, PluginsBuiltAgainstTheInstalledPackageRunThroughTheInstalledHost) {
    std::random_device rd;
    const fs::path dir = fs::temp_directory_path() / ("ecgbench-oot-" + std::to_string(rd()));
    fs::create_directories(dir);
    const std::string prefix = (dir / "prefix").string(), build = (dir / "build").string();

    const auto install = run("cmake --install " + std::string(ECGBENCH_BINARY_DIR) + " --prefix " + prefix);
    ASSERT_EQ(install.exit_code, 0) << install.output;
    ASSERT_TRUE(fs::exists(prefix + "/include/ecgbench/plugin.hpp"));
    ASSERT_TRUE(fs::exists(prefix + "/bin/ecgbench"));

    const auto configure = run("cmake -S " + std::string(ECGBENCH_SOURCE_DIR) + "/tests/out_of_tree -B " + build +
                               " -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH=" + prefix);
    ASSERT_EQ(configure.exit_code, 0) << configure.output;
    const auto compile = run("cmake --build " + build + " -j 2");
    ASSERT_EQ(compile.exit_code, 0) << compile.output;

    // The installed host finds its own plugins (synthetic) under the prefix, and these in the build dir.
    const std::string host = prefix + "/bin/ecgbench --store " + (dir / "store.db").string() + " --plugin-dir " + build;
    const auto plugins = run(host + " plugins");
    ASSERT_EQ(plugins.exit_code, 0) << plugins.output;
    for (const char* name : {"byol_mini", "report_age", "patch_encoder", "masked_patches", "finetune_mini", "af_cohort", "synthetic"})
        EXPECT_NE(plugins.output.find(name), std::string::npos) << name << " missing:\n" << plugins.output;

    std::ofstream((dir / "exp.toml").string()) << kExperiment;
    const auto experiment = run(host + " run " + (dir / "exp.toml").string());
    ASSERT_EQ(experiment.exit_code, 0) << experiment.output;

    SQLite::Database db((dir / "store.db").string());
    auto count = [&](const std::string& sql) { return db.execAndGet(sql).getInt64(); };
    EXPECT_EQ(count("SELECT COUNT(*) FROM results WHERE metric = 'macro_auroc' AND split = 'test' AND value BETWEEN 0 AND 1"), 3);
    // Every evaluation read af_cohort (the plugin in its provenance).
    EXPECT_EQ(count("SELECT COUNT(*) FROM provenance WHERE dataset_plugin = 'af_cohort'"), 3);
    EXPECT_EQ(count("SELECT COUNT(*) FROM record_outputs WHERE kind = 'logits' AND records > 0"), 3);
    // report_age's terms, per epoch; every pretraining finished with a checkpoint holding the method.
    EXPECT_EQ(count("SELECT COUNT(*) FROM metrics WHERE name IN ('loss/contrastive/epoch2', 'loss/age/epoch2')"), 2);
    EXPECT_EQ(count("SELECT COUNT(*) FROM artifacts WHERE kind = 'checkpoint'"), 3);
    fs::remove_all(dir);
}

}  // namespace
