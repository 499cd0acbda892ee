#include "ecgbench/record_noise.hpp"

#include "ecgbench/dsp.hpp"
#include "ecgbench/wfdb.hpp"

#include <cmath>
#include <stdexcept>

namespace ecgbench::noise {

void normalise_rms(std::vector<float>& x) {
    double mean = 0, power = 0;
    for (float v : x) mean += v;
    mean /= static_cast<double>(x.size());
    for (float& v : x) {
        v = static_cast<float>(v - mean);
        power += static_cast<double>(v) * v;
    }
    const double rms = std::sqrt(power / static_cast<double>(x.size()));
    if (rms > 0)
        for (float& v : x) v = static_cast<float>(v / rms);
}

Bank read_record_bank(const std::string& record, double fs) {
    const auto data = wfdb::read_physical<float>(record, {}, wfdb::Layout::signals);
    Bank bank;
    for (std::size_t s = 0; s < data.signals.size(); ++s) {
        const auto first = data.values.begin() + static_cast<std::ptrdiff_t>(s * static_cast<std::size_t>(data.rows));
        std::vector<float> x(first, first + data.rows);
        for (auto& v : x)
            if (!std::isfinite(v)) v = 0.0f;
        if (std::abs(data.fs - fs) > 1e-6) {
            const dsp::Ratio ratio = dsp::resampling_ratio(data.fs, fs);
            std::vector<float> resampled(static_cast<std::size_t>(dsp::resampled_length(data.rows, ratio)));
            dsp::resample_poly(x.data(), data.rows, ratio, dsp::resampling_filter(ratio), resampled.data());
            x = std::move(resampled);
        }
        normalise_rms(x);
        bank.push_back(std::move(x));
    }
    if (bank.empty()) throw std::invalid_argument("noise record " + record + " has no signals");
    return bank;
}

void add_at_snr(float* lead, std::int64_t samples, const std::vector<float>& source, double snr_db, std::mt19937_64& engine,
                const std::string& what) {
    if (static_cast<std::int64_t>(source.size()) < samples) throw std::invalid_argument(what + " is shorter than one record");
    double mean = 0, power = 0;
    for (std::int64_t k = 0; k < samples; ++k) mean += lead[k];
    mean /= static_cast<double>(samples);
    for (std::int64_t k = 0; k < samples; ++k) power += (lead[k] - mean) * (lead[k] - mean);
    const double scale = std::sqrt(power / static_cast<double>(samples)) * std::pow(10.0, -snr_db / 20.0);
    // A random stretch of the bank, re-centred so only its shape is added.
    const auto offset =
        static_cast<std::int64_t>(engine() % static_cast<std::uint64_t>(source.size() - static_cast<std::size_t>(samples) + 1));
    double noise_mean = 0, noise_power = 0;
    for (std::int64_t k = 0; k < samples; ++k) noise_mean += source[static_cast<std::size_t>(offset + k)];
    noise_mean /= static_cast<double>(samples);
    for (std::int64_t k = 0; k < samples; ++k) {
        const double v = source[static_cast<std::size_t>(offset + k)] - noise_mean;
        noise_power += v * v;
    }
    const double noise_rms = std::sqrt(noise_power / static_cast<double>(samples));
    if (noise_rms == 0) return;
    for (std::int64_t k = 0; k < samples; ++k)
        lead[k] += static_cast<float>((source[static_cast<std::size_t>(offset + k)] - noise_mean) / noise_rms * scale);
}

}  // namespace ecgbench::noise
