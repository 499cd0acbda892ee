// Published numbers beside ours (report/published.hpp): the sidecar reader's checks and messages,
// the matching of a value to one of our method × column results, and the rendered section.
#include "report/published.hpp"
#include "report/render.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace ecgbench;

namespace {

class Published : public ::testing::Test {
protected:
    fs::path dir = fs::temp_directory_path() / ("ecgbench-published-" + std::to_string(::getpid()));
    void SetUp() override { fs::create_directories(dir); }
    void TearDown() override { fs::remove_all(dir); }

    std::string write(const std::string& text) {
        const auto path = (dir / "x.published.toml").string();
        std::ofstream(path) << text;
        return path;
    }

    static FlatResult result(const std::string& ssl, const std::string& eval_dataset, std::int64_t seed, double value,
                             double fraction = 1.0, const std::string& metric = "macro_auroc") {
        FlatResult r;
        r.dataset = "pre";
        r.encoder = "enc";
        r.ssl = ssl;
        r.task = "probe";
        r.eval_dataset = eval_dataset;
        r.label_fraction = fraction;
        r.seed = seed;
        r.metric = metric;
        r.split = "test";
        r.value = value;
        return r;
    }

    // The message of what `f` throws ("" when it does not throw).
    template <typename F>
    static std::string error_of(F f) {
        try {
            f();
        } catch (const std::exception& e) {
            return e.what();
        }
        return "";
    }
};

const char* const kSidecar = R"([paper]
key = "p2020"
citation = "A. Author. A paper. 2020"
url = "https://example.org/p"

[[value]]
table = "Table 2"
row = "their model"
column = "all"
metric = "macro_auroc"
value = 0.925
interval = "±0.007"
ours = { ssl = "supervised", dataset = "site-all" }

[[value]]
table = "Table 2"
row = "their model"
column = "rhythm"
metric = "macro_auroc"
value = 0.9
ours = { ssl = "supervised", dataset = "site-rhythm" }

[[value]]
table = "Table 2"
row = "an LSTM"
column = "all"
metric = "macro_auroc"
value = 0.907
)";

TEST_F(Published, ReadsPapersAndValuesWithTheirLocation) {
    const auto set = read_published(write(kSidecar));
    ASSERT_EQ(set.papers.size(), 1u);
    EXPECT_EQ(set.papers[0].key, "p2020");
    ASSERT_EQ(set.values.size(), 3u);
    EXPECT_EQ(set.values[0].paper, "p2020");  // one paper: values need not name it
    EXPECT_DOUBLE_EQ(set.values[0].value, 0.925);
    EXPECT_EQ(set.values[0].interval, "±0.007");
    ASSERT_TRUE(set.values[0].ours);
    EXPECT_EQ(*set.values[0].ours->dataset, "site-all");
    EXPECT_FALSE(set.values[0].ours->encoder);
    EXPECT_EQ(set.values[0].ours->split, "test");
    EXPECT_FALSE(set.values[2].ours);
    EXPECT_NE(set.values[1].where.find("x.published.toml:"), std::string::npos);
}

TEST_F(Published, OursBesideTheirsWithTheMeanOverSeedsAndTheDifference) {
    const auto set = read_published(write(kSidecar));
    const std::vector<FlatResult> rows{result("supervised", "site-all", 0, 0.90), result("supervised", "site-all", 1, 0.92),
                                       result("random_init", "site-all", 0, 0.70),
                                       result("supervised", "site-all", 0, 0.5, 1.0, "macro_auprc")};
    const auto out = compare_published(set, rows);
    ASSERT_EQ(out.size(), 3u);
    EXPECT_EQ(out[0].state, PublishedState::Finished);
    EXPECT_EQ(out[0].ours.n, 2u);
    EXPECT_NEAR(out[0].ours.mean, 0.91, 1e-12);
    EXPECT_NEAR(*out[0].delta, 0.91 - 0.925, 1e-12);
    EXPECT_NE(out[0].matched.find("supervised: probe → site-all"), std::string::npos);
    EXPECT_EQ(out[1].state, PublishedState::NotRun);  // mapped, nothing finished on site-rhythm
    EXPECT_FALSE(out[1].delta);
    EXPECT_EQ(out[2].state, PublishedState::Unmapped);

    const std::string csv = render_published_csv(out);
    EXPECT_NE(csv.find("p2020,Table 2,their model,all,macro_auroc,0.925,±0.007,finished,0.91,"), std::string::npos) << csv;
    EXPECT_NE(csv.find("an LSTM,all,macro_auroc,0.907,,no counterpart,"), std::string::npos) << csv;
}

TEST_F(Published, ASelectorMatchingSeveralOfOurResultsIsAnErrorNamingThem) {
    // Two label fractions of one method on site-all: "ssl + dataset" no longer singles one out.
    const auto set = read_published(write(kSidecar));
    const std::vector<FlatResult> rows{result("supervised", "site-all", 0, 0.90), result("supervised", "site-all", 0, 0.80, 0.1)};
    const std::string message = error_of([&] { compare_published(set, rows); });
    EXPECT_NE(message.find("x.published.toml:6:"), std::string::npos) << message;
    EXPECT_NE(message.find("matches 2 of our results"), std::string::npos) << message;
    EXPECT_NE(message.find("(10% labels)"), std::string::npos) << message;
}

TEST_F(Published, BadSidecarsAreErrorsNamingFileLineAndKey) {
    struct Case {
        std::string text, expected;
    };
    const std::string paper = "[paper]\nkey = \"p\"\ncitation = \"c\"\n";
    const std::string value = "[[value]]\ntable = \"T\"\nrow = \"r\"\ncolumn = \"c\"\nmetric = \"m\"\n";
    for (const Case& c : std::vector<Case>{
             {value + "value = 1\n", "no [paper]"},
             {paper, "no [[value]] entries"},
             {paper + value, "x.published.toml:4:1: missing required key 'value'"},
             {paper + value + "value = \"high\"\n", "x.published.toml:9:9: 'value' in [[value]] at"},
             {paper + value + "value = 1\nsource = \"x\"\n", "unknown key 'source'"},
             {paper + value + "value = 1\nours = { ssl = \"s\", seed = 1 }\n", "unknown key 'seed' in 'ours'"},
             {paper + value + "value = 1\npaper = \"q\"\n", "unknown paper 'q'"},
             {paper + value + "value = nan\n", "must be finite"},
             {"[paper\n", "TOML syntax error"},
         }) {
        const std::string message = error_of([&] { read_published(write(c.text)); });
        EXPECT_NE(message.find(c.expected), std::string::npos) << "for:\n" << c.text << "\ngot: " << message;
    }
}

TEST_F(Published, TheReportSectionListsEveryValueAndTheSources) {
    const auto set = read_published(write(kSidecar));
    ReportContext context;
    context.experiment = "x";
    context.papers = set.papers;
    context.published = compare_published(set, {result("supervised", "site-all", 0, 0.93)});
    ReportTable table;
    const std::string md = render_markdown(table, context, {});
    EXPECT_NE(md.find("## Published results"), std::string::npos);
    EXPECT_NE(md.find("3 published values, 2 with a counterpart here, 1 of those finished"), std::string::npos) << md;
    EXPECT_NE(md.find("| p2020, Table 2 | their model | all | macro_auroc | 0.925 ±0.007 | 0.930 (n=1) | +0.005 |"), std::string::npos) << md;
    EXPECT_NE(md.find("*not run*"), std::string::npos);
    EXPECT_NE(md.find("The paper's other rows (no counterpart here):"), std::string::npos) << md;
    EXPECT_NE(md.find("| p2020, Table 2 | an LSTM | all | macro_auroc | 0.907 |\n"), std::string::npos) << md;
    EXPECT_NE(md.find("<https://example.org/p>"), std::string::npos);
    const std::string tex = render_latex(table, context);
    EXPECT_NE(tex.find("\\label{tab:x-published}"), std::string::npos);
    EXPECT_NE(tex.find("\\label{tab:x-published-context}"), std::string::npos);
    EXPECT_NE(render_html(table, context, {}).find("<h2 id=\"published\">Published results</h2>"), std::string::npos);
}

}  // namespace
