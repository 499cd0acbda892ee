// Statistics for comparing several methods over several evaluations (Demšar 2006, "Statistical
// comparisons of classifiers over multiple data sets", JMLR 7): per-evaluation ranks, the Friedman
// test, and the Nemenyi critical difference of average ranks. Plain C++, no LibTorch.
#pragma once

#include <cstddef>
#include <vector>

namespace ecgbench {

/// Ranks of `values` (1 = best in the given direction); tied values share the mean of their ranks.
std::vector<double> ranks(const std::vector<double>& values, bool higher_is_better);

/// Average rank of each method over blocks: `blocks[i][j]` is method j's value on evaluation i
/// (every block complete: Demšar's test needs each method on each evaluation).
std::vector<double> average_ranks(const std::vector<std::vector<double>>& blocks, bool higher_is_better);

/// Friedman test from average ranks R_j of k methods over n blocks:
/// χ²_F = 12n / (k(k+1)) · (Σ R_j² − k(k+1)²/4), df k − 1; Iman–Davenport
/// F_F = (n−1) χ²_F / (n(k−1) − χ²_F), df (k−1, (k−1)(n−1)) (infinite when χ²_F = n(k−1), i.e. the
/// same ranking in every block).
struct FriedmanTest {
    double chi_square = 0;
    double p_chi_square = 1;  ///< upper tail of χ² with k − 1 degrees of freedom
    double iman_davenport = 0;
    std::size_t methods = 0, blocks = 0;
};
FriedmanTest friedman_test(const std::vector<double>& average_ranks, std::size_t blocks);

/// Upper tail P(X ≥ x) of a χ² distribution with `df` degrees of freedom.
double chi_square_upper_tail(double x, double df);

/// P(range of k independent standard normals ≤ w): the studentized range CDF with infinite degrees
/// of freedom, by numerical integration of k ∫ φ(z) (Φ(z+w) − Φ(z))^(k−1) dz.
double normal_range_cdf(double w, std::size_t k);

/// Nemenyi's q_α for k methods: the (1 − α) quantile of the studentized range with infinite degrees
/// of freedom, divided by √2 (Demšar's Table 5: 2.569 for k = 4, α = 0.05). k ≥ 2.
double nemenyi_q(std::size_t k, double alpha);

/// Nemenyi critical difference of average ranks: q_α √(k(k+1) / (6n)).
double nemenyi_critical_difference(std::size_t k, std::size_t blocks, double alpha);

}  // namespace ecgbench
