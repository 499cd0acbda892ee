// SVG figures checked structurally: the elements each chart must hold, every coordinate finite,
// and which figures a table yields (label efficiency, robustness vs SNR and vs leads, per-dataset
// bars, critical difference).
#include "report/figures.hpp"
#include "report/svg.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

using namespace ecgbench;

namespace {

std::size_t count(const std::string& text, const std::string& needle) {
    std::size_t n = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
    return n;
}

// Every geometric attribute parses as a finite number.
void expect_finite_coordinates(const std::string& svg) {
    static const std::regex attribute(R"re(\s(x|y|x1|y1|x2|y2|cx|cy|r|width|height)="([^"]*)")re");
    std::size_t seen = 0;
    for (std::sregex_iterator it(svg.begin(), svg.end(), attribute), end; it != end; ++it) {
        const double v = std::stod((*it)[2].str());
        EXPECT_TRUE(std::isfinite(v)) << (*it)[0].str();
        ++seen;
    }
    static const std::regex points(R"re(points="([^"]*)")re");
    for (std::sregex_iterator it(svg.begin(), svg.end(), points), end; it != end; ++it) {
        std::string list = (*it)[1].str();
        for (char& c : list)
            if (c == ',') c = ' ';
        std::istringstream in(list);
        std::string token;
        while (in >> token) EXPECT_TRUE(std::isfinite(std::stod(token))) << token;
    }
    EXPECT_GT(seen, 0u);
}

void expect_svg_document(const std::string& svg) {
    EXPECT_EQ(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u) << svg.substr(0, 80);
    EXPECT_NE(svg.find("viewBox=\"0 0 "), std::string::npos);
    EXPECT_NE(svg.find("<title>"), std::string::npos);
    EXPECT_EQ(count(svg, "<svg"), 1u);
    EXPECT_NE(svg.find("</svg>"), std::string::npos);
    expect_finite_coordinates(svg);
}

ReportCell cell(std::size_t column, double mean, double std, std::size_t n = 2) {
    ReportCell c;
    c.column = column;
    c.summary = {mean, std, n};
    c.expected = n;
    return c;
}

}  // namespace

TEST(Svg, EscapesTextAndRefusesNonFiniteCoordinates) {
    SvgCanvas svg(100, 50, "a < b & \"c\"");
    svg.text(10, 10, "x<y>&");
    const std::string out = svg.str();
    EXPECT_NE(out.find("<title>a &lt; b &amp; &quot;c&quot;</title>"), std::string::npos) << out;
    EXPECT_NE(out.find(">x&lt;y&gt;&amp;</text>"), std::string::npos) << out;
    EXPECT_THROW(svg.line(0, NAN, 1, 1, "black"), std::logic_error);
    EXPECT_THROW(svg.circle(INFINITY, 1, 1, "black"), std::logic_error);
}

TEST(Svg, LineChartHasAMarkerPerPointALinePerSeriesAndWhiskers) {
    const std::vector<ChartSeries> series{{"simclr", {{0.01, 0.70, 0.65, 0.75}, {0.1, 0.80, 0.78, 0.82}, {1.0, 0.85, 0.85, 0.85}}},
                                          {"random_init", {{0.01, 0.60, 0.60, 0.60}, {1.0, 0.70, 0.69, 0.71}}}};
    const ChartAxis x{"labels", true, {{0.01, "1%"}, {0.1, "10%"}, {1.0, "100%"}}};
    const std::string svg = line_chart_svg("Label efficiency", x, "macro_auroc", series);
    expect_svg_document(svg);
    EXPECT_EQ(count(svg, "<circle"), 5u);
    EXPECT_EQ(count(svg, "<polyline"), 2u);
    // Whiskers (3 lines each) where the interval is not empty: 2 + 1 points.
    EXPECT_EQ(count(svg, "stroke-width=\"1.20\""), 9u);
    for (const char* label : {">1%<", ">10%<", ">100%<", ">simclr<", ">random_init<", ">macro_auroc<"})
        EXPECT_NE(svg.find(label), std::string::npos) << label;
}

TEST(Svg, BarChartDrawsOneBarPerValueAndSkipsMissingOnes) {
    const std::vector<BarGroup> groups{{"ptbxl", {{0, 0.9, 0.88, 0.92}, {0, 0.8, 0.8, 0.8}}},
                                       {"cinc", {{0, 0.7, 0.6, 0.75}, {0, NAN, NAN, NAN}}}};
    const std::string svg = bar_chart_svg("Per evaluation", "macro_auroc", {"a", "b"}, groups);
    expect_svg_document(svg);
    // Background + 2 legend swatches + 3 bars.
    EXPECT_EQ(count(svg, "<rect"), 6u);
    EXPECT_NE(svg.find(">ptbxl<"), std::string::npos);
    EXPECT_NE(svg.find(">cinc<"), std::string::npos);
}

// Ranks 1.2, 1.5, 2.9, 3.1 with CD 0.5: cliques {1.2, 1.5} and {2.9, 3.1}, two thick bars.
TEST(Svg, CriticalDifferenceDiagramJoinsMethodsWithinTheCd) {
    const std::string svg = critical_difference_svg({"a", "b", "c", "d"}, {1.2, 2.9, 1.5, 3.1}, 0.5, "CD");
    expect_svg_document(svg);
    EXPECT_EQ(count(svg, "stroke-width=\"4.00\""), 2u);
    EXPECT_NE(svg.find(">CD = 0.50<"), std::string::npos);
    for (const char* label : {">a (1.20)<", ">b (2.90)<", ">c (1.50)<", ">d (3.10)<"}) EXPECT_NE(svg.find(label), std::string::npos) << label;
    // A CD larger than every gap: one clique over all four.
    EXPECT_EQ(count(critical_difference_svg({"a", "b", "c", "d"}, {1.2, 2.9, 1.5, 3.1}, 2.5, "CD"), "stroke-width=\"4.00\""), 1u);
}

TEST(Figures, TableYieldsEveryFigureItSupports) {
    ReportTable t;
    t.metric = "macro_auroc";
    t.split = "test";
    auto column = [](double fraction, const std::string& shift, const std::string& noise, std::optional<double> snr, std::int64_t shift_leads) {
        ReportColumn c{"probe", "site1", fraction, shift, "probe → site1", noise, snr, shift_leads ? shift_leads : 12, shift_leads};
        return c;
    };
    t.columns = {column(1.0, "", "", std::nullopt, 0),      column(1.0, "12 dB", "muscle", 12.0, 0), column(1.0, "0 dB", "muscle", 0.0, 0),
                 column(1.0, "lead I", "", std::nullopt, 1), column(1.0, "limb", "", std::nullopt, 6),  column(0.1, "", "", std::nullopt, 0)};
    t.categories = {"probe → site1"};
    for (const char* ssl : {"simclr", "random_init"}) {
        ReportRow row;
        row.dataset = "pre";
        row.encoder = "enc";
        row.ssl = ssl;
        const double base = std::string(ssl) == "simclr" ? 0.85 : 0.7;
        for (std::size_t c = 0; c < t.columns.size(); ++c) row.cells.push_back(cell(c, base - 0.02 * static_cast<double>(c), 0.01));
        row.average_rank = std::string(ssl) == "simclr" ? 1.0 : 2.0;
        t.rows.push_back(row);
    }
    t.rank_columns = {0, 1, 2, 3, 4, 5};
    t.friedman = FriedmanTest{6, 0.014, INFINITY, 2, 6};
    t.critical_difference = 0.8;
    const auto figures = report_figures(t);
    std::set<std::string> names;
    for (const auto& f : figures) {
        names.insert(f.name);
        expect_svg_document(f.svg);
        EXPECT_FALSE(f.caption.empty());
    }
    EXPECT_EQ(names, (std::set<std::string>{"label-efficiency-probe-site1", "robustness-snr-probe-site1-muscle",
                                            "robustness-leads-probe-site1", "per-dataset", "critical-difference"}));
    for (const auto& f : figures) {
        if (f.name == "robustness-snr-probe-site1-muscle") {
            EXPECT_NE(f.svg.find(">clean<"), std::string::npos);  // the unshifted column at the right end
            EXPECT_EQ(count(f.svg, "<circle"), 2u * 3u);          // 12 dB, 0 dB, clean for each method
        }
        if (f.name == "robustness-leads-probe-site1") {
            EXPECT_EQ(count(f.svg, "<circle"), 2u * 3u);  // 1, 6, 12 leads
        }
    }
    // No shifts, one label fraction, one method: only the bars.
    t.columns.resize(1);
    t.rows.resize(1);
    t.rows[0].cells.resize(1);
    t.friedman.reset();
    const auto few = report_figures(t);
    ASSERT_EQ(few.size(), 1u);
    EXPECT_EQ(few[0].name, "per-dataset");
}
