// The PhysioNet/CinC Challenge 2021 score (see metrics.hpp), following the organisers'
// evaluate_model.py (github.com/physionetchallenges/evaluation-2021): a weighted multi-label
// confusion matrix, normalised so that the always-sinus-rhythm classifier scores 0 and a perfect
// one 1. Only the degenerate case differs: when those two references coincide the score is NaN
// here, where the organisers report 0.
#include "ecgbench/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <istream>
#include <limits>
#include <stdexcept>
#include <string>

namespace ecgbench {
namespace {

std::string trimmed(const std::string& text) {
    const auto first = text.find_first_not_of(" \t\r");
    if (first == std::string::npos) return "";
    return text.substr(first, text.find_last_not_of(" \t\r") - first + 1);
}

std::vector<std::string> split(const std::string& text, char separator) {
    std::vector<std::string> parts;
    std::size_t start = 0;
    for (std::size_t end; (end = text.find(separator, start)) != std::string::npos; start = end + 1)
        parts.push_back(trimmed(text.substr(start, end - start)));
    parts.push_back(trimmed(text.substr(start)));
    return parts;
}

/// The codes of a class name, sorted: "b|a" and "a|b" name the same equivalent pair.
std::vector<std::string> codes_of(const std::string& name) {
    std::vector<std::string> codes = split(name, '|');
    std::sort(codes.begin(), codes.end());
    return codes;
}

bool share_a_code(const std::vector<std::string>& a, const std::vector<std::string>& b) {
    return std::any_of(a.begin(), a.end(), [&](const std::string& code) { return std::binary_search(b.begin(), b.end(), code); });
}

void check_binary_table(const std::vector<int>& table, const char* what) {
    for (std::size_t i = 0; i < table.size(); ++i) {
        if (table[i] != 0 && table[i] != 1)
            throw std::invalid_argument(std::string("challenge score: ") + what + " must be 0 or 1, entry " + std::to_string(i) +
                                        " is " + std::to_string(table[i]));
    }
}

double weighted_sum(const std::vector<double>& weights, const std::vector<double>& confusion) {
    double sum = 0;
    for (std::size_t i = 0; i < weights.size(); ++i) sum += weights[i] * confusion[i];
    return sum;
}

}  // namespace

ChallengeWeights parse_challenge_weights(std::istream& in, const std::string& source) {
    ChallengeWeights result;
    std::vector<std::vector<std::string>> header_codes;
    std::size_t rows = 0, line_number = 0;
    for (std::string line; std::getline(in, line);) {
        ++line_number;
        const std::string text = trimmed(line);
        if (text.empty() || text[0] == '#') continue;
        const std::vector<std::string> cells = split(text, ',');
        const std::string where = source + ":" + std::to_string(line_number);
        if (header_codes.empty()) {  // the header: an empty corner cell, then the class names
            if (cells.size() < 2) throw std::invalid_argument(where + ": the header row names no class");
            result.classes.assign(cells.begin() + 1, cells.end());
            for (const auto& name : result.classes) {
                if (name.empty()) throw std::invalid_argument(where + ": empty class name in the header row");
                header_codes.push_back(codes_of(name));
            }
            continue;
        }
        const std::size_t k = result.classes.size();
        if (rows == k) throw std::invalid_argument(where + ": more rows than the " + std::to_string(k) + " classes of the header");
        if (cells.size() != k + 1)
            throw std::invalid_argument(where + ": " + std::to_string(cells.size() - 1) + " weights, the header names " + std::to_string(k) +
                                        " classes");
        if (codes_of(cells[0]) != header_codes[rows])
            throw std::invalid_argument(where + ": row '" + cells[0] + "' where the header's class " + std::to_string(rows + 1) + " is '" +
                                        result.classes[rows] + "'");
        for (std::size_t j = 1; j <= k; ++j) {
            char* end = nullptr;
            const double value = std::strtod(cells[j].c_str(), &end);
            if (cells[j].empty() || *end != '\0' || !std::isfinite(value))
                throw std::invalid_argument(where + ": column " + std::to_string(j + 1) + " ('" + result.classes[j - 1] + "') is '" + cells[j] +
                                            "', not a finite number");
            result.weights.push_back(value);
        }
        ++rows;
    }
    if (header_codes.empty()) throw std::invalid_argument(source + ": no weights table");
    if (rows != result.classes.size())
        throw std::invalid_argument(source + ": " + std::to_string(rows) + " rows for the " + std::to_string(result.classes.size()) +
                                    " classes of the header");
    return result;
}

ChallengeWeights read_challenge_weights(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::invalid_argument("cannot read challenge weights file " + path);
    return parse_challenge_weights(in, path);
}

std::vector<double> challenge_confusion_matrix(const std::vector<int>& labels, const std::vector<int>& outputs, std::int64_t classes) {
    if (classes < 1 || labels.size() != outputs.size() || labels.size() % static_cast<std::size_t>(classes) != 0)
        throw std::invalid_argument("challenge_confusion_matrix: labels and outputs must both be [n, classes]");
    check_binary_table(labels, "labels");
    check_binary_table(outputs, "outputs");
    const auto k = static_cast<std::size_t>(classes);
    std::vector<double> confusion(k * k, 0.0);
    for (std::size_t row = 0; row < labels.size(); row += k) {
        const int* truth = labels.data() + row;
        const int* output = outputs.data() + row;
        std::size_t involved = 0;  // classes true or output in this record
        for (std::size_t j = 0; j < k; ++j) involved += (truth[j] | output[j]) != 0 ? 1 : 0;
        const double share = 1.0 / static_cast<double>(std::max<std::size_t>(involved, 1));
        for (std::size_t j = 0; j < k; ++j) {
            if (truth[j] == 0) continue;
            for (std::size_t o = 0; o < k; ++o)
                if (output[o] != 0) confusion[j * k + o] += share;
        }
    }
    return confusion;
}

ChallengeScore challenge_score(const std::vector<int>& labels, const std::vector<int>& outputs, const std::vector<std::string>& classes,
                               const ChallengeWeights& weights) {
    const std::size_t c = classes.size(), k = weights.classes.size();
    if (c == 0 || labels.size() != outputs.size() || labels.size() % c != 0)
        throw std::invalid_argument("challenge_score: labels and outputs must both be [n, " + std::to_string(c) + " classes]");
    if (k == 0 || weights.weights.size() != k * k) throw std::invalid_argument("challenge_score: the weights must be [classes, classes]");
    check_binary_table(labels, "labels");
    check_binary_table(outputs, "outputs");

    std::vector<std::vector<std::string>> weight_codes;
    for (const auto& name : weights.classes) weight_codes.push_back(codes_of(name));
    const std::vector<std::string> sinus{kChallengeSinusRhythm};
    const auto sinus_at = std::find(weight_codes.begin(), weight_codes.end(), sinus);
    if (sinus_at == weight_codes.end())
        throw std::invalid_argument(std::string("challenge_score: sinus rhythm (") + kChallengeSinusRhythm + ") is not a class of the weights");
    const auto sinus_index = static_cast<std::size_t>(sinus_at - weight_codes.begin());

    // The weights class each column counts for (k: none).
    std::vector<std::size_t> target(c, k);
    for (std::size_t col = 0; col < c; ++col) {
        const std::vector<std::string> codes = codes_of(classes[col]);
        for (std::size_t w = 0; w < k && target[col] == k; ++w)
            if (share_a_code(codes, weight_codes[w])) target[col] = w;
    }
    const std::size_t n = labels.size() / c;
    std::vector<int> truth(n * k, 0), output(n * k, 0), inactive_output(n * k, 0);
    for (std::size_t i = 0; i < n; ++i) {
        for (std::size_t col = 0; col < c; ++col) {
            if (target[col] == k) continue;
            truth[i * k + target[col]] |= labels[i * c + col];
            output[i * k + target[col]] |= outputs[i * c + col];
        }
        inactive_output[i * k + sinus_index] = 1;
    }

    const auto classes_k = static_cast<std::int64_t>(k);
    ChallengeScore score;
    score.observed = weighted_sum(weights.weights, challenge_confusion_matrix(truth, output, classes_k));
    score.correct = weighted_sum(weights.weights, challenge_confusion_matrix(truth, truth, classes_k));
    score.inactive = weighted_sum(weights.weights, challenge_confusion_matrix(truth, inactive_output, classes_k));
    score.normalized = score.correct != score.inactive ? (score.observed - score.inactive) / (score.correct - score.inactive)
                                                       : std::numeric_limits<double>::quiet_NaN();
    return score;
}

}  // namespace ecgbench
