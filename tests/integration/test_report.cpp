// `ecgbench report` end to end: the real binary runs a tiny experiment (two SSL methods, two seeds,
// two label fractions, an evaluation under noise and lead shifts, a task that always fails), then writes every report
// format from the store, and the files are inspected: tables with seeds and gaps, bold best, LaTeX
// booktabs, the summary CSV, the HTML page with inline figures and provenance (rendered in
// headless Chromium when installed), `--json`, and `report --compare` against a second experiment
// that changed one setting and ran only part of its cells.
#include "support/command.hpp"
#include "support/json_query.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>

namespace fs = std::filesystem;

namespace {

const std::string kBinary = std::string(ECGBENCH_BINARY_DIR) + "/ecgbench";
const std::string kThrowingPlugin = std::string(ECGBENCH_TEST_PLUGIN_DIR) + "/throwing_task";
const std::string kCheckScript = std::string(ECGBENCH_SOURCE_DIR) + "/tools/check-html-report.sh";

std::string experiment(const std::string& name, const std::string& probe_params, const std::string& fractions, bool with_noise) {
    std::string toml = R"(
[experiment]
name = ")" + name + R"("

[[dataset]]
name = "pre"
plugin = "synthetic"
params = { seed = 1, records = 96, records_per_subject = 2, duration_s = 2.5 }

[[dataset]]
name = "heldout"
plugin = "synthetic"
params = { seed = 2, records = 200, records_per_subject = 2, site = 1, duration_s = 2.5 }

[[encoder]]
name = "xs"
plugin = "resnet1d"
params = { size = "XS" }

[[ssl]]
plugin = "simclr"

[[ssl]]
plugin = "random_init"

[pretrain]
datasets = ["pre"]
seeds = [0, 1]
epochs = 1
batch_size = 32

[[evaluation]]
name = "probe"
task = "linear_probe"
datasets = ["heldout"]
label_fractions = )" + fractions + R"(
params = )" + probe_params + "\n";
    if (with_noise) toml += R"(
[[evaluation]]
name = "noise"
task = "linear_probe"
datasets = ["heldout"]
params = )" + probe_params + R"(
shifts = [{ name = "6 dB", noise = "muscle", snr_db = 6 }, { name = "-6 dB", noise = "muscle", snr_db = -6 },
          { name = "lead I", leads = ["I"] }, { name = "limb", leads = ["I", "II", "III", "aVR", "aVL", "aVF"] }]

[[evaluation]]
name = "broken"
task = "throwing_task"
datasets = ["heldout"]
)";
    return toml;
}

std::string read(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), {});
}

std::size_t count(const std::string& text, const std::string& needle) {
    std::size_t n = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
    return n;
}

class Report : public ::testing::Test {
protected:
    void SetUp() override {
        std::random_device rd;
        dir_ = fs::temp_directory_path() / ("ecgbench-report-" + std::to_string(rd()));
        fs::create_directories(dir_);
        store_ = (dir_ / "store.db").string();
    }
    void TearDown() override { fs::remove_all(dir_); }

    test_support::CommandResult ecgbench(const std::string& args) {
        return test_support::run_command(kBinary + " --threads 1 --store " + store_ + " --plugin-dir " + kThrowingPlugin + " " + args);
    }
    std::string write(const std::string& file, const std::string& text) {
        const auto path = (dir_ / file).string();
        std::ofstream(path) << text;
        return path;
    }

    fs::path dir_;
    std::string store_;
};

}  // namespace

TEST_F(Report, EveryFormatFromARealRunWithGapsFiguresAndComparison) {
    const std::string probe = "{ bootstrap_resamples = 0 }";
    const auto first = ecgbench("run --quiet " + write("a.toml", experiment("reported", probe, "[1.0, 0.5]", true)));
    ASSERT_EQ(first.exit_code, 1) << first.output;  // the broken task's cells fail, the rest finish

    const fs::path out = dir_ / "report";
    const auto report = ecgbench("report reported --out " + out.string() +
                                 " --format md,tex,csv,html,svg --ci bootstrap --baseline random_init --resamples 200");
    ASSERT_EQ(report.exit_code, 0) << report.output;

    // Markdown: seeds behind each cell, bootstrap intervals, the failed task's column, deltas.
    const std::string md = read(out / "report.md");
    EXPECT_NE(md.find("| pre | xs | simclr |"), std::string::npos) << md;
    EXPECT_NE(md.find("(n=2)"), std::string::npos) << md;
    EXPECT_NE(md.find("] (n=2)"), std::string::npos) << "bootstrap interval before the count\n" << md;
    EXPECT_NE(md.find("*failed*"), std::string::npos) << md;
    EXPECT_NE(md.find("[6 dB]"), std::string::npos) << md;
    EXPECT_NE(md.find("## Δ to random_init"), std::string::npos) << md;
    EXPECT_NE(md.find("(p="), std::string::npos) << md;
    EXPECT_NE(md.find("Friedman test over"), std::string::npos) << md;
    EXPECT_NE(md.find("figures/critical-difference.svg"), std::string::npos) << md;
    EXPECT_GE(count(md, "**"), 2u) << md;

    // LaTeX ready to paste: booktabs rules, escaped names, bold best.
    const std::string tex = read(out / "report.tex");
    for (const char* needle : {"\\toprule", "\\midrule", "\\bottomrule", "random\\_init", "\\textbf{", "\\begin{tabular}{lll"})
        EXPECT_NE(tex.find(needle), std::string::npos) << needle;

    // Summary CSV: a row per method × column, the failed column included; results.csv as before.
    const std::string summary = read(out / "summary.csv");
    EXPECT_EQ(summary.rfind("dataset,encoder,ssl,uses_labels,task,eval_dataset,label_fraction,shots,shift,metric,split,state,mean", 0), 0u);
    EXPECT_EQ(count(summary, ",test,finished,"), 2u * 6u) << summary;  // 2 methods × (2 fractions + 4 shifts)
    EXPECT_EQ(count(summary, ",test,failed,"), 2u) << summary;
    EXPECT_NE(read(out / "results.csv").find("cell_hash"), std::string::npos);

    // Figures as files and inline in the HTML page, which also holds the provenance.
    for (const char* name : {"label-efficiency-probe-heldout", "robustness-snr-noise-heldout-muscle", "robustness-leads-noise-heldout",
                             "per-dataset", "critical-difference"}) {
        const auto svg = read(out / "figures" / (std::string(name) + ".svg"));
        EXPECT_EQ(svg.rfind("<svg xmlns=", 0), 0u) << name;
        EXPECT_EQ(svg.find("nan"), std::string::npos) << name;
    }
    const std::string html = read(out / "report.html");
    EXPECT_EQ(count(html, "<figure"), 5u);
    EXPECT_EQ(count(html, "<svg"), 5u);
    for (const char* needle : {"id=\"provenance\"", "libtorch", "simclr", "pretrain cells' latest runs: 4 finished", "[experiment]"})
        EXPECT_NE(html.find(needle), std::string::npos) << needle;
    EXPECT_EQ(html.find("<script"), std::string::npos);

    // --json: the table with the new fields, the files written.
    test_support::JsonQuery json(ecgbench("report reported --json --baseline random_init --out " + (dir_ / "j").string()).output);
    EXPECT_EQ(json.text("$.schema"), "ecgbench.report/1");
    EXPECT_EQ(json.text("$.baseline"), "random_init");
    EXPECT_EQ(json.length("$.files"), 3);  // report.md, results.csv, summary.csv
    EXPECT_EQ(json.value("SELECT COUNT(*) FROM json_each(?, '$.rows') WHERE json_array_length(json_extract(value, '$.gaps')) = 1"), "2");
    EXPECT_EQ(json.value("SELECT COUNT(*) FROM json_each(?, '$.rows') WHERE json_extract(value, '$.average_rank') IS NOT NULL"), "2");

    // A bad format or baseline is a usage error naming it.
    const auto bad = ecgbench("report reported --baseline nope --out " + (dir_ / "x").string());
    EXPECT_EQ(bad.exit_code, 2) << bad.output;
    EXPECT_NE(bad.output.find("'nope'"), std::string::npos) << bad.output;
    EXPECT_EQ(ecgbench("report reported --format pdf").exit_code, 2);

    // A second experiment: the probe with another setting (changed cells), a new label fraction run
    // only in part (--filter): its report shows what has not run, and --compare lists the changes.
    const auto second = write("b.toml", experiment("retuned", "{ bootstrap_resamples = 0, max_iter = 50 }", "[1.0, 0.25]", false));
    const auto partial = ecgbench("run --quiet " + second + " --filter 'labels 100%'");
    ASSERT_EQ(partial.exit_code, 0) << partial.output;
    const auto partial_report = ecgbench("report retuned --out " + (dir_ / "retuned").string());
    ASSERT_EQ(partial_report.exit_code, 0) << partial_report.output;
    const std::string partial_md = read(dir_ / "retuned" / "report.md");
    EXPECT_EQ(count(partial_md, "*not run*"), 2u) << partial_md;
    EXPECT_NE(partial_md.find("4 of 8 evaluation cells finished"), std::string::npos) << partial_md;

    const auto compared = ecgbench("report --compare reported retuned --resamples 200 --permutations 200 --out " + (dir_ / "cmp").string());
    ASSERT_EQ(compared.exit_code, 0) << compared.output;
    EXPECT_NE(compared.output.find("4 changed"), std::string::npos) << compared.output;
    EXPECT_EQ(count(compared.output, "| changed |"), 4u) << compared.output;
    EXPECT_GE(count(compared.output, "| removed |"), 4u) << compared.output;
    EXPECT_TRUE(fs::exists(dir_ / "cmp" / "compare.md"));
    EXPECT_EQ(ecgbench("report reported --compare reported retuned").exit_code, 2);

    // The HTML page in a real browser (skipped, visibly, without Chromium).
    const auto browser = test_support::run_command(kCheckScript + " " + (out / "report.html").string() + " " + (dir_ / "browser").string());
    if (browser.exit_code == 77) GTEST_SKIP() << browser.output;
    EXPECT_EQ(browser.exit_code, 0) << browser.output;
    EXPECT_NE(browser.output.find("5 × <figure rendered"), std::string::npos) << browser.output;
}
