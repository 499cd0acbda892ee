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
#include <sstream>
#include <vector>
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

    // Subgroups from the stored covariates: a row per finished classification cell and group, the
    // whole test split equal to the table's mean (the probe's stored logits reproduce its AUROC),
    // one worst group per cell, and a section in every format.
    const fs::path sub = dir_ / "subgroups";
    const auto subgroups = ecgbench("report reported --subgroups sex --subgroups age:50 --format md,tex,csv,html --out " + sub.string());
    ASSERT_EQ(subgroups.exit_code, 0) << subgroups.output;
    const std::string groups_csv = read(sub / "subgroups.csv");
    EXPECT_EQ(count(groups_csv, "\nsex,sex = 0,"), 12u) << groups_csv;  // 2 methods × 6 classification columns
    EXPECT_EQ(count(groups_csv, "\nsex,sex = 1,"), 12u) << groups_csv;
    EXPECT_EQ(count(groups_csv, "\nage,age < 50,"), 12u) << groups_csv;
    EXPECT_EQ(count(groups_csv, "\nage,age ≥ 50,"), 12u) << groups_csv;
    EXPECT_EQ(count(groups_csv, ",1,2\n"), 24u) << "one worst group per cell and covariate\n" << groups_csv;
    const std::string table_csv = read(sub / "summary.csv");
    const std::string key = "pre,xs,simclr,probe,heldout,1,0,,test,macro_auroc,";
    const auto at = groups_csv.find(key);
    ASSERT_NE(at, std::string::npos) << groups_csv;
    std::vector<std::string> fields;
    {
        std::stringstream line(groups_csv.substr(at, groups_csv.find('\n', at) - at));
        for (std::string f; std::getline(line, f, ',');) fields.push_back(f);
    }
    const auto mean_at = table_csv.find("pre,xs,simclr,0,probe,heldout,1,0,,macro_auroc,test,finished,");
    ASSERT_NE(mean_at, std::string::npos) << table_csv;
    const double table_mean = std::stod(table_csv.substr(mean_at + std::string("pre,xs,simclr,0,probe,heldout,1,0,,macro_auroc,test,finished,").size()));
    EXPECT_NEAR(std::stod(fields.at(14)), table_mean, 1e-6) << groups_csv;  // overall
    // Every defined group has a bootstrap interval around its value, and every cell's worst-group
    // gap one around the gap (the same resamples); an interval is [1, 1] only for a perfect group.
    {
        std::stringstream rows(groups_csv);
        std::string line;
        std::getline(rows, line);
        EXPECT_EQ(line, "covariate,group,dataset,encoder,ssl,task,eval_dataset,label_fraction,shots,shift,split,metric,value,ci_low,ci_high,"
                        "records,overall,gap,gap_low,gap_high,worst,n");
        std::size_t with_interval = 0;
        while (std::getline(rows, line)) {
            std::vector<std::string> f;
            std::stringstream cells(line);
            for (std::string x; std::getline(cells, x, ',');) f.push_back(x);
            ASSERT_EQ(f.size(), 22u) << line;
            if (f[12].empty()) continue;  // an undefined group
            const double v = std::stod(f[12]), lo = std::stod(f.at(13)), hi = std::stod(f.at(14));
            EXPECT_LE(lo, v) << line;
            EXPECT_GE(hi, v) << line;
            if (v < 1) EXPECT_LT(lo, hi) << line;  // a point only for a perfectly separated group
            else EXPECT_EQ(lo, 1.0) << line;
            const double gap = std::stod(f.at(17)), gap_lo = std::stod(f.at(18)), gap_hi = std::stod(f.at(19));
            if (f.at(20) == "1") EXPECT_NEAR(gap, std::stod(f.at(16)) - v, 1e-9) << "the worst group's gap: " << line;
            EXPECT_LE(gap_lo, gap + 1e-12) << line;
            EXPECT_GE(gap_hi, gap - 1e-12) << line;
            ++with_interval;
        }
        EXPECT_GE(with_interval, 40u) << groups_csv;
    }
    // The same seed gives the same intervals; another seed other ones.
    const auto again = ecgbench("report reported --subgroups sex --subgroups age:50 --format csv --out " + (dir_ / "sub2").string());
    ASSERT_EQ(again.exit_code, 0) << again.output;
    EXPECT_EQ(read(dir_ / "sub2" / "subgroups.csv"), groups_csv);
    const auto reseeded = ecgbench("report reported --subgroups sex --seed 5 --format csv --out " + (dir_ / "sub3").string());
    ASSERT_EQ(reseeded.exit_code, 0) << reseeded.output;
    EXPECT_NE(read(dir_ / "sub3" / "subgroups.csv"), groups_csv.substr(0, groups_csv.find("\nage,")));
    for (const char* file : {"report.md", "report.html", "report.tex"}) {
        const std::string text = read(sub / file);
        EXPECT_NE(text.find("ubgroups: sex"), std::string::npos) << file;
        EXPECT_NE(text.find("ubgroups: age"), std::string::npos) << file;
        EXPECT_NE(text.find("percentile bootstrap interval"), std::string::npos) << file;
    }
    const std::string sub_md = read(sub / "report.md");
    EXPECT_GE(count(sub_md, " rec.)"), 48u);  // 12 cells × 2 groups × 2 covariates
    EXPECT_GE(count(sub_md, "] ("), 40u) << "intervals beside the group values";
    const auto continuous = ecgbench("report reported --subgroups age --out " + (dir_ / "x").string());
    EXPECT_EQ(continuous.exit_code, 2) << continuous.output;
    EXPECT_NE(continuous.output.find("give band edges"), std::string::npos) << continuous.output;
    const auto bad_edge = ecgbench("report reported --subgroups age:5o --out " + (dir_ / "x").string());
    EXPECT_EQ(bad_edge.exit_code, 2) << bad_edge.output;
    EXPECT_NE(bad_edge.output.find("'5o'"), std::string::npos) << bad_edge.output;

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
