#include "report/stats.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

namespace ecgbench {

std::vector<double> ranks(const std::vector<double>& values, bool higher_is_better) {
    std::vector<std::size_t> order(values.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return higher_is_better ? values[a] > values[b] : values[a] < values[b];
    });
    std::vector<double> out(values.size());
    for (std::size_t i = 0; i < order.size();) {
        std::size_t j = i;
        while (j + 1 < order.size() && values[order[j + 1]] == values[order[i]]) ++j;
        const double shared = (static_cast<double>(i + 1) + static_cast<double>(j + 1)) / 2;  // mean of ranks i+1..j+1
        for (std::size_t t = i; t <= j; ++t) out[order[t]] = shared;
        i = j + 1;
    }
    return out;
}

std::vector<double> average_ranks(const std::vector<std::vector<double>>& blocks, bool higher_is_better) {
    if (blocks.empty()) return {};
    std::vector<double> sum(blocks.front().size(), 0.0);
    for (const auto& block : blocks) {
        if (block.size() != sum.size()) throw std::invalid_argument("average_ranks: blocks of different sizes");
        const auto r = ranks(block, higher_is_better);
        for (std::size_t j = 0; j < r.size(); ++j) sum[j] += r[j];
    }
    for (double& s : sum) s /= static_cast<double>(blocks.size());
    return sum;
}

double chi_square_upper_tail(double x, double df) {
    if (x <= 0) return 1;
    // Regularised upper incomplete gamma Q(a, y) with a = df/2, y = x/2: the power series of P for
    // y < a + 1, a continued fraction (evaluated by the modified Lentz method) for Q otherwise.
    const double a = df / 2, y = x / 2;
    const double log_prefix = a * std::log(y) - y - std::lgamma(a);
    if (y < a + 1) {
        double term = 1 / a, sum = term;
        for (int n = 1; n < 1000 && std::abs(term) > 1e-16 * std::abs(sum); ++n) {
            term *= y / (a + n);
            sum += term;
        }
        return std::max(0.0, 1 - std::exp(log_prefix) * sum);
    }
    const double tiny = 1e-300;
    double b = y + 1 - a, c = 1 / tiny, d = 1 / b, h = d;
    for (int n = 1; n < 1000; ++n) {
        const double an = -n * (n - a);
        b += 2;
        d = an * d + b;
        if (std::abs(d) < tiny) d = tiny;
        c = b + an / c;
        if (std::abs(c) < tiny) c = tiny;
        d = 1 / d;
        const double delta = d * c;
        h *= delta;
        if (std::abs(delta - 1) < 1e-16) break;
    }
    return std::exp(log_prefix) * h;
}

FriedmanTest friedman_test(const std::vector<double>& average_ranks, std::size_t blocks) {
    const std::size_t k = average_ranks.size();
    if (k < 2 || blocks < 2) throw std::invalid_argument("friedman_test: needs at least 2 methods and 2 blocks");
    const double kd = static_cast<double>(k), n = static_cast<double>(blocks);
    double squares = 0;
    for (double r : average_ranks) squares += r * r;
    FriedmanTest t;
    t.methods = k;
    t.blocks = blocks;
    t.chi_square = 12 * n / (kd * (kd + 1)) * (squares - kd * (kd + 1) * (kd + 1) / 4);
    t.p_chi_square = chi_square_upper_tail(t.chi_square, kd - 1);
    const double denominator = n * (kd - 1) - t.chi_square;
    t.iman_davenport = denominator > 1e-12 ? (n - 1) * t.chi_square / denominator : INFINITY;
    return t;
}

double normal_range_cdf(double w, std::size_t k) {
    if (w <= 0) return 0;
    auto phi = [](double z) { return std::exp(-z * z / 2) / std::sqrt(2 * M_PI); };
    auto Phi = [](double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); };
    // Simpson's rule over z in [-9, 9]: φ is below 1e-17 outside, far under the table's 3 decimals.
    const int steps = 3600;
    const double lo = -9, hi = 9, h = (hi - lo) / steps;
    double sum = 0;
    for (int i = 0; i <= steps; ++i) {
        const double z = lo + i * h;
        const double f = phi(z) * std::pow(Phi(z + w) - Phi(z), static_cast<double>(k - 1));
        sum += f * (i == 0 || i == steps ? 1 : (i % 2 ? 4 : 2));
    }
    return static_cast<double>(k) * sum * h / 3;
}

double nemenyi_q(std::size_t k, double alpha) {
    if (k < 2) throw std::invalid_argument("nemenyi_q: needs at least 2 methods");
    if (!(alpha > 0 && alpha < 1)) throw std::invalid_argument("nemenyi_q: alpha must lie in (0, 1)");
    double lo = 0, hi = 20;  // the range quantile for any k of interest lies well below 20
    for (int i = 0; i < 80; ++i) {
        const double mid = (lo + hi) / 2;
        (normal_range_cdf(mid, k) < 1 - alpha ? lo : hi) = mid;
    }
    return (lo + hi) / 2 / std::sqrt(2.0);
}

double nemenyi_critical_difference(std::size_t k, std::size_t blocks, double alpha) {
    if (blocks == 0) throw std::invalid_argument("nemenyi_critical_difference: no blocks");
    const double kd = static_cast<double>(k);
    return nemenyi_q(k, alpha) * std::sqrt(kd * (kd + 1) / (6 * static_cast<double>(blocks)));
}

}  // namespace ecgbench
