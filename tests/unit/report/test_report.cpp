// The report table as data (means, best and second in the metric's direction, gaps, category means,
// ranks, deltas), its renderings (Markdown, LaTeX, HTML, summary CSV), and the statistics computed
// from stored per-record outputs (bootstrap intervals, paired tests, experiment comparison), on a
// store written through the Store API (no model runs).
#include "report/compare_experiments.hpp"
#include "report/render.hpp"
#include "report/report.hpp"
#include "store/store.hpp"

#include "ecgbench/resampling.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace ecgbench;

namespace {

FlatResult result(const std::string& ssl, double fraction, std::int64_t seed, double value, bool higher = true,
                  const std::string& metric = "macro_auroc") {
    FlatResult r;
    r.experiment = "x";
    r.dataset = "pre";
    r.encoder = "enc";
    r.ssl = ssl;
    r.task = "probe";
    r.eval_dataset = "site1";
    r.label_fraction = fraction;
    r.seed = seed;
    r.metric = metric;
    r.split = "test";
    r.value = value;
    r.higher_is_better = higher;
    r.cell_hash = ssl + "/" + std::to_string(fraction) + "/" + std::to_string(seed);
    return r;
}

// Three methods, two label fractions, two seeds: a 0.80/0.70, b 0.90/0.60, c 0.85/0.65 (means).
std::vector<FlatResult> three_methods(bool higher = true) {
    return {result("a", 1.0, 0, 0.79, higher), result("a", 1.0, 1, 0.81, higher), result("a", 0.1, 0, 0.70, higher),
            result("a", 0.1, 1, 0.70, higher), result("b", 1.0, 0, 0.90, higher), result("b", 1.0, 1, 0.90, higher),
            result("b", 0.1, 0, 0.60, higher), result("b", 0.1, 1, 0.60, higher), result("c", 1.0, 0, 0.85, higher),
            result("c", 1.0, 1, 0.85, higher), result("c", 0.1, 0, 0.65, higher), result("c", 0.1, 1, 0.65, higher)};
}

const ReportRow& row_of(const ReportTable& t, const std::string& ssl) {
    return *std::find_if(t.rows.begin(), t.rows.end(), [&](const ReportRow& r) { return r.ssl == ssl; });
}

}  // namespace

TEST(ReportTable, MeansBestSecondRanksAndCategoryMeans) {
    const auto t = report_table(three_methods(), {});
    ASSERT_EQ(t.columns.size(), 2u);
    EXPECT_EQ(t.columns[0].label_fraction, 1.0);  // full labels first
    EXPECT_EQ(t.columns[0].category, "probe → site1");
    const auto& a = row_of(t, "a");
    EXPECT_NEAR(a.cell(0)->summary.mean, 0.80, 1e-12);
    EXPECT_NEAR(a.cell(0)->summary.std, std::sqrt(0.0002), 1e-12);
    EXPECT_EQ(a.cell(0)->summary.n, 2u);
    EXPECT_EQ(a.cell(0)->seeds, (std::vector<std::int64_t>{0, 1}));
    // Column 0: b best, c second; column 1: a best, c second.
    EXPECT_TRUE(row_of(t, "b").cell(0)->best);
    EXPECT_TRUE(row_of(t, "c").cell(0)->second);
    EXPECT_FALSE(a.cell(0)->best || a.cell(0)->second);
    EXPECT_TRUE(a.cell(1)->best);
    EXPECT_TRUE(row_of(t, "c").cell(1)->second);
    // One category, two columns: means 0.75, 0.75, 0.75; ranks a (3,1), b (1,3), c (2,2) -> all 2.
    ASSERT_EQ(t.categories.size(), 1u);
    EXPECT_NEAR(*a.category_means[0], 0.75, 1e-12);
    EXPECT_EQ(t.rank_columns.size(), 2u);
    EXPECT_DOUBLE_EQ(*a.average_rank, 2.0);
    ASSERT_TRUE(t.friedman);
    EXPECT_NEAR(t.friedman->chi_square, 0.0, 1e-12);
    EXPECT_GT(t.critical_difference, 0);
}

TEST(ReportTable, LowerIsBetterFlipsBestAndRanks) {
    const auto t = report_table(three_methods(false), {});
    EXPECT_FALSE(t.higher_is_better);
    EXPECT_TRUE(row_of(t, "a").cell(0)->best);   // 0.80 is the lowest of column 0
    EXPECT_TRUE(row_of(t, "b").cell(1)->best);   // 0.60 of column 1
    EXPECT_TRUE(row_of(t, "c").cell(0)->second);
}

TEST(ReportTable, TwoMethodsHaveNoSecondAndOneMethodNoBest) {
    auto rows = three_methods();
    rows.erase(std::remove_if(rows.begin(), rows.end(), [](const FlatResult& r) { return r.ssl == "c"; }), rows.end());
    const auto two = report_table(rows, {});
    for (const auto& row : two.rows)
        for (const auto& cell : row.cells) EXPECT_FALSE(cell.second);
    rows.erase(std::remove_if(rows.begin(), rows.end(), [](const FlatResult& r) { return r.ssl == "b"; }), rows.end());
    const auto one = report_table(rows, {});
    EXPECT_FALSE(one.rows[0].cells[0].best);
    EXPECT_FALSE(one.rows[0].average_rank);
}

TEST(ReportTable, GapsAndPartialCellsFromTheExperimentsCells) {
    auto rows = three_methods();
    // c's seed-1 cells did not finish: one failed at 100 %, one is running at 10 %; a new column
    // (a 6 dB shift) has nothing finished: a's failed, b's never ran, c's pretraining failed.
    rows.erase(std::remove_if(rows.begin(), rows.end(), [](const FlatResult& r) { return r.ssl == "c" && r.seed == 1; }), rows.end());
    auto eval = [](const std::string& ssl, double fraction, std::int64_t seed, std::optional<RunStatus> status,
                   const std::string& shift = "", std::optional<RunStatus> pretrain = RunStatus::Finished) {
        ExperimentEvalCell e;
        e.cell.hash = shift.empty() ? ssl + "/" + std::to_string(fraction) + "/" + std::to_string(seed) : ssl + "/" + shift;
        e.cell.kind = "eval";
        e.cell.dataset = "pre";
        e.cell.encoder = "enc";
        e.cell.ssl = ssl;
        e.cell.task = "probe";
        e.cell.eval_dataset = "site1";
        e.cell.label_fraction = fraction;
        e.cell.seed = seed;
        e.cell.shift = shift;
        e.shift_order = shift.empty() ? 0 : 99;
        e.status = status;
        e.pretrain_status = pretrain;
        if (!shift.empty()) {
            e.shift_noise = "muscle";
            e.shift_snr_db = 6;
        }
        if (status == RunStatus::Failed) e.error = "boom";
        e.leads = 12;
        return e;
    };
    std::vector<ExperimentEvalCell> cells;
    for (const auto& r : rows) cells.push_back(eval(r.ssl, r.label_fraction, r.seed, RunStatus::Finished));
    cells.push_back(eval("c", 1.0, 1, RunStatus::Failed));
    cells.push_back(eval("c", 0.1, 1, RunStatus::Running));
    cells.push_back(eval("a", 1.0, 0, RunStatus::Failed, "6 dB"));
    cells.push_back(eval("b", 1.0, 0, std::nullopt, "6 dB"));
    cells.push_back(eval("c", 1.0, 0, std::nullopt, "6 dB", RunStatus::Failed));
    const auto t = report_table(rows, {}, cells);
    ASSERT_EQ(t.columns.size(), 3u);
    EXPECT_EQ(t.columns[1].shift, "6 dB");
    EXPECT_EQ(t.columns[1].snr_db, 6.0);
    const auto& c = row_of(t, "c");
    EXPECT_EQ(c.cell(0)->summary.n, 1u);
    EXPECT_EQ(c.cell(0)->expected, 2u);
    EXPECT_EQ(c.cell(0)->failed, 1u);
    EXPECT_EQ(c.cell(2)->running, 1u);
    ASSERT_EQ(row_of(t, "a").gaps.size(), 1u);
    EXPECT_EQ(row_of(t, "a").gaps[0].state, GapState::Failed);
    EXPECT_EQ(row_of(t, "a").gaps[0].error, "boom");
    EXPECT_EQ(row_of(t, "b").gaps[0].state, GapState::NotRun);
    EXPECT_EQ(c.gaps[0].state, GapState::PretrainFailed);
    // Ranks only over the columns every method has; the shift column has none.
    EXPECT_EQ(t.rank_columns, (std::vector<std::size_t>{0, 2}));
    EXPECT_FALSE(c.category_means[0]);  // its category has a column it lacks

    const std::string md = render_markdown_table(t);
    EXPECT_NE(md.find("(n=1/2, 1 failed)"), std::string::npos) << md;
    EXPECT_NE(md.find("(n=1/2, 1 running)"), std::string::npos) << md;
    EXPECT_NE(md.find("*pretraining failed*"), std::string::npos) << md;
    EXPECT_NE(md.find("*not run*"), std::string::npos) << md;
    EXPECT_NE(md.find("[6 dB]"), std::string::npos) << md;
    const std::string csv = render_summary_csv(t);
    EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 1 + 3 * 3);  // header + every method × column
    EXPECT_NE(csv.find(",partial,"), std::string::npos);
    EXPECT_NE(csv.find(",not run,"), std::string::npos);
}

TEST(ReportTable, DeltasToTheBaseline) {
    ReportOptions options;
    options.baseline = "a";
    const auto t = report_table(three_methods(), options);
    EXPECT_NEAR(*row_of(t, "b").cell(0)->delta, 0.10, 1e-12);
    EXPECT_NEAR(*row_of(t, "b").cell(1)->delta, -0.10, 1e-12);
    EXPECT_FALSE(row_of(t, "a").cell(0)->delta);
    options.baseline = "nope";
    try {
        report_table(three_methods(), options);
        FAIL() << "an unknown baseline must throw";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("'nope'"), std::string::npos);
        EXPECT_NE(std::string(e.what()).find("'b'"), std::string::npos);
    }
}

TEST(ReportRender, MarkdownLatexAndHtmlMarkBestAndSecond) {
    auto rows = three_methods();
    for (auto& r : rows)
        if (r.ssl == "c") r.ssl = "random_init";
    ReportOptions options;
    options.baseline = "a";
    const auto t = report_table(rows, options);
    ReportContext context{"my_exp", "store.db", rows, {}, {}, {}, {}};
    const std::string md = render_markdown(t, context, {});
    EXPECT_NE(md.find("**0.900 ± 0.000 (n=2)**"), std::string::npos) << md;
    EXPECT_NE(md.find("<ins>0.850 ± 0.000 (n=2)</ins>"), std::string::npos) << md;
    EXPECT_NE(md.find("| pre | enc | a |"), std::string::npos) << md;
    EXPECT_NE(md.find("## Δ to a"), std::string::npos) << md;
    EXPECT_NE(md.find("+0.100"), std::string::npos) << md;
    EXPECT_NE(md.find("avg rank"), std::string::npos) << md;
    EXPECT_NE(md.find("Friedman test over 2 columns and 3 methods"), std::string::npos) << md;

    const std::string tex = render_latex(t, context);
    for (const char* needle : {"\\toprule", "\\midrule", "\\bottomrule", "\\textbf{0.900 $\\pm$ 0.000 (n=2)}", "\\underline{0.850 $\\pm$ 0.000 (n=2)}",
                               "random\\_init", "$\\pm$", "$\\to$", "\\label{tab:my-exp}", "\\label{tab:my-exp-delta}", "\\usepackage{booktabs}"})
        EXPECT_NE(tex.find(needle), std::string::npos) << needle << "\n" << tex;
    EXPECT_EQ(tex.find("→"), std::string::npos) << "unescaped Unicode arrow";
    EXPECT_EQ(tex.find("±"), std::string::npos);
    EXPECT_EQ(tex.find("random_init"), std::string::npos);

    const std::string html = render_html(t, context, report_figures(t));
    for (const char* needle : {"<!DOCTYPE html>", "<meta charset=\"utf-8\">", "<strong>0.900 ± 0.000 (n=2)</strong>", "<u>0.850 ± 0.000 (n=2)</u>",
                               "<svg xmlns=\"http://www.w3.org/2000/svg\"", "id=\"fig-label-efficiency-probe-site1\"",
                               "id=\"fig-critical-difference\"", "id=\"provenance\""})
        EXPECT_NE(html.find(needle), std::string::npos) << needle;
    // Self-contained: nothing loaded from elsewhere.
    EXPECT_EQ(html.find("<script"), std::string::npos);
    EXPECT_EQ(html.find("src="), std::string::npos);
    EXPECT_EQ(html.find("href="), std::string::npos);
}

// ---- statistics from stored outputs, on a store written through its API ----

namespace {

class ReportStore : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::path(::testing::TempDir()) /
               ("ecgbench_report_" + std::to_string(::getpid()) + "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
        store_ = std::make_unique<Store>((dir_ / "store.db").string());
    }
    void TearDown() override {
        store_.reset();
        fs::remove_all(dir_);
    }

    // One pretraining cell per (ssl, seed) and its evaluation on 200 shared test records of one
    // class: scores = label · separation + noise, so a larger separation is a better method.
    std::string add(std::int64_t experiment, const std::string& ssl, std::int64_t seed, double separation,
                    const std::string& eval_hash_suffix = "", bool run = true) {
        CellRecord pre;
        pre.hash = "pre-" + ssl + std::to_string(seed);
        pre.kind = "pretrain";
        pre.config = R"({"dataset":{"fingerprint":"fp-pre"}})";
        pre.dataset = "pre";
        pre.encoder = "enc";
        pre.ssl = ssl;
        pre.seed = seed;
        store_->upsert_cell(experiment, pre);
        CellRecord eval = pre;
        eval.hash = "eval-" + ssl + std::to_string(seed) + eval_hash_suffix;
        eval.kind = "eval";
        eval.parent_hash = pre.hash;
        eval.config = R"({"dataset":{"fingerprint":"fp-eval","leads":["I","II"]}})";
        eval.task = "probe";
        eval.eval_dataset = "site1";
        eval.protocol = "linear_probe";
        store_->upsert_cell(experiment, eval);
        if (!run) return eval.hash;
        RunProvenance provenance{"host", 1, "abc123", R"({"libtorch":"1.13"})", R"({"probe":"1.0"})", "{}"};
        const auto pre_run = store_->claim(pre.hash, provenance, false);
        if (pre_run.result == Claim::Result::Claimed) store_->finish(pre_run.run_id, {}, {}, {{"train", 2.0}});
        const auto claim = store_->claim(eval.hash, provenance, false);
        if (claim.result != Claim::Result::Claimed) return eval.hash;  // the same cell, already run for another experiment
        std::mt19937 rng(static_cast<unsigned>(seed * 7 + separation * 100));
        std::normal_distribution<float> noise;
        OutputRecord logits{"test", "logits", {"AF"}, {}, {}}, labels{"test", "labels", {"AF"}, {}, {}};
        std::vector<double> s;
        std::vector<int> y;
        for (int i = 0; i < 200; ++i) {
            const int label = i % 2;
            std::string id = std::to_string(i);
            id.insert(id.begin(), 'r');
            logits.record_ids.push_back(id);
            labels.record_ids.push_back(id);
            logits.values.push_back(static_cast<float>(label * separation) + noise(rng));
            labels.values.push_back(static_cast<float>(label));
            s.push_back(logits.values.back());
            y.push_back(label);
        }
        const double auroc = macro_auroc(s, y, 1);
        store_->finish(claim.run_id, {{"macro_auroc", "test", auroc, std::nullopt, std::nullopt, true}}, {}, {{"evaluate", 1.0}},
                       {logits, labels});
        return eval.hash;
    }

    fs::path dir_;
    std::unique_ptr<Store> store_;
};

}  // namespace

TEST_F(ReportStore, BootstrapIntervalsAndPairedTestsFromStoredOutputs) {
    const auto id = store_->upsert_experiment("e", "e.toml", "[experiment]\nname = \"e\"\n");
    for (std::int64_t seed : {0, 1}) {
        add(id, "strong", seed, 2.0);
        add(id, "weak", seed, 0.3);
    }
    const auto unrun = add(id, "never", 0, 1.0, "", false);
    store_->record_dropped("fp-eval", "site1", {{"r900", "too short"}, {"r901", "invalid samples"}});
    ReportOptions options;
    options.ci = CiMode::Bootstrap;
    options.baseline = "weak";
    options.resamples = 200;
    const auto t = build_report(*store_, "e", options);
    const auto& strong = row_of(t, "strong");
    const ReportCell& cell = strong.cells.at(0);
    ASSERT_TRUE(cell.ci_low && cell.ci_high);
    EXPECT_LE(*cell.ci_low, cell.summary.mean);
    EXPECT_GE(*cell.ci_high, cell.summary.mean);
    EXPECT_GT(*cell.ci_high - *cell.ci_low, 0.0);
    ASSERT_TRUE(cell.p_value);
    EXPECT_LT(*cell.p_value, 0.05);  // AUROC ≈ 0.92 against ≈ 0.58 on 200 records
    EXPECT_GT(*cell.delta, 0.2);
    EXPECT_FALSE(row_of(t, "weak").cells.at(0).p_value);
    ASSERT_EQ(row_of(t, "never").gaps.size(), 1u);
    EXPECT_EQ(row_of(t, "never").gaps[0].state, GapState::NotRun);
    EXPECT_EQ(t.columns.at(0).leads, 2);
    // Every run kept its outputs: the only note is that one shared column cannot carry a Friedman test.
    ASSERT_EQ(t.notes.size(), 1u);
    EXPECT_NE(t.notes[0].find("Friedman test not computed"), std::string::npos) << t.notes[0];
    (void)unrun;

    // The stratified per-label bootstrap: an interval around the same mean, from the same outputs.
    ReportOptions stratified = options;
    stratified.ci = CiMode::Stratified;
    const auto stratified_table = build_report(*store_, "e", stratified);
    const ReportCell& s = row_of(stratified_table, "strong").cells.at(0);
    ASSERT_TRUE(s.ci_low && s.ci_high);
    EXPECT_LE(*s.ci_low, s.summary.mean);
    EXPECT_GE(*s.ci_high, s.summary.mean);
    EXPECT_GT(*s.ci_high - *s.ci_low, 0.0);
    EXPECT_NE(*s.ci_low, *cell.ci_low);  // other resamples than the plain bootstrap's

    const auto provenance = store_->experiment_provenance("e");
    EXPECT_EQ(provenance.file, "e.toml");
    EXPECT_EQ(provenance.runs.size(), 8u);  // 4 pretraining + 4 evaluation runs (the unrun cell has none)
    ASSERT_EQ(provenance.dropped.size(), 1u);
    EXPECT_EQ(provenance.dropped[0].records, 2);
    EXPECT_THROW(store_->experiment_eval_cells("nope"), std::runtime_error);

    // Files: every format, figures inline in the HTML and as files.
    options.formats = {"md", "tex", "csv", "html", "svg"};
    const auto files = write_report(*store_, "e", (dir_ / "out").string(), options);
    EXPECT_TRUE(fs::exists(dir_ / "out" / "report.html"));
    EXPECT_TRUE(fs::exists(dir_ / "out" / "figures" / "per-dataset.svg"));
    EXPECT_NE(std::find(files.begin(), files.end(), (dir_ / "out" / "summary.csv").string()), files.end());
    options.formats = {"pdf"};
    EXPECT_THROW(write_report(*store_, "e", (dir_ / "out").string(), options), std::invalid_argument);
    EXPECT_THROW(write_report(*store_, "missing", (dir_ / "out").string(), {}), std::runtime_error);
}

TEST_F(ReportStore, ComparesTwoExperimentsCellByCell) {
    const auto a = store_->upsert_experiment("a", "a.toml", "");
    const auto b = store_->upsert_experiment("b", "b.toml", "");
    add(a, "shared", 0, 1.0);  // the same cell in both
    add(b, "shared", 0, 1.0);
    add(a, "old", 0, 1.0);     // only in a
    add(b, "new", 0, 1.0);     // only in b
    add(a, "tuned", 0, 0.2);          // same names, another configuration in b
    add(b, "tuned", 0, 2.5, "-v2");
    CompareOptions options;
    options.resamples = 200;
    options.permutations = 200;
    const auto changes = compare_experiments(*store_, "a", "b", "macro_auroc", "test", options);
    ASSERT_EQ(changes.size(), 4u);
    std::map<std::string, ExperimentChange> by_ssl;
    for (const auto& c : changes) by_ssl[c.ssl] = c;
    EXPECT_EQ(by_ssl["shared"].kind, ExperimentChange::Kind::Same);
    EXPECT_EQ(by_ssl["old"].kind, ExperimentChange::Kind::Removed);
    EXPECT_EQ(by_ssl["new"].kind, ExperimentChange::Kind::Added);
    const auto& tuned = by_ssl["tuned"];
    EXPECT_EQ(tuned.kind, ExperimentChange::Kind::Changed);
    ASSERT_TRUE(tuned.low && tuned.high && tuned.p_permutation);
    EXPECT_GT(*tuned.b - *tuned.a, 0.2);
    EXPECT_GT(*tuned.low, 0.0);
    EXPECT_LT(*tuned.p_permutation, 0.05);
    const std::string md = experiment_changes_markdown(changes, "a", "b", "macro_auroc", options);
    EXPECT_NE(md.find("1 cells identical"), std::string::npos) << md;
    EXPECT_NE(md.find("| added |"), std::string::npos) << md;
    EXPECT_NE(md.find("| removed |"), std::string::npos) << md;
    EXPECT_EQ(md.find("| same cell |"), std::string::npos) << md;
    EXPECT_THROW(compare_experiments(*store_, "a", "zzz", "macro_auroc", "test"), std::runtime_error);
}
