// The acquisition stage: lead fields with electrode-placement jitter, site noise at a target SNR,
// the analogue band-pass, gain and ADC, and the cart's derivation of III, aVR, aVL and aVF.
//
// Noise follows the MIT-BIH Noise Stress Test idea (Moody et al. 1984): long recordings of
// baseline wander, muscle artefact and electrode motion, added at a calibrated SNR. Here those
// recordings are synthesised once per site (filtered Gaussian noise; motion with step-like
// transients), cut at random offsets per electrode, mixed at the site's weights with powerline
// interference, and formed into leads exactly as the electrodes would (I = LA − RA, V1 = V1 − WCT),
// so noise is correlated across leads as in a real cart. SNR = 10 log10(signal power / noise
// power) over all 12 leads after the analogue filters; it is met exactly before quantisation.
#include "synth/model.hpp"

#include "ecgbench/dsp.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace ecgbench::synth {
namespace {

/// First-order low-pass (exponential smoothing with the given corner).
void lowpass_rc(float* x, std::int64_t n, double corner_hz, double fs) {
    const double k = 1.0 - std::exp(-2 * kPi * corner_hz / fs);
    double y = 0;
    for (std::int64_t i = 0; i < n; ++i) {
        y += k * (x[i] - y);
        x[i] = static_cast<float>(y);
    }
}

void normalise_rms(std::vector<float>& x) {
    double power = 0;
    for (float v : x) power += static_cast<double>(v) * v;
    const double rms = std::sqrt(power / static_cast<double>(std::max<std::size_t>(1, x.size())));
    if (rms > 0)
        for (float& v : x) v = static_cast<float>(v / rms);
}

std::vector<float> white(Rng& rng, std::int64_t n) {
    std::vector<float> x(static_cast<std::size_t>(n));
    for (float& v : x) v = static_cast<float>(rng.normal());
    return x;
}

/// The site's analogue front end on `channels` signals stored one after another (`frames` each):
/// first-order RC high-pass, then a second-order Butterworth low-pass. Channels are advanced
/// together sample by sample so their recursions overlap (the per-channel loop is latency-bound).
void analogue_filter(float* data, int channels, std::int64_t frames, const SiteConfig& site) {
    constexpr int kMax = 9;
    const double fs = site.sampling_rate;
    const bool high = site.highpass_hz > 0, low = site.lowpass_hz > 0 && site.lowpass_hz < 0.45 * fs;
    if (!high && !low) return;
    const double rc = high ? 1.0 / (2 * kPi * site.highpass_hz) : 1.0, a = rc / (rc + 1.0 / fs);
    const dsp::Biquad q = low ? dsp::butterworth(site.lowpass_hz, fs, false) : dsp::Biquad{};
    std::array<double, kMax> y{}, previous{}, z1{}, z2{};
    for (int c = 0; c < channels; ++c) previous[static_cast<std::size_t>(c)] = data[c * frames];
    for (std::int64_t n = 0; n < frames; ++n) {
        for (int c = 0; c < channels; ++c) {
            const auto k = static_cast<std::size_t>(c);
            double v = data[c * frames + n];
            if (high) {
                y[k] = a * (y[k] + v - previous[k]);
                previous[k] = v;
                v = y[k];
            }
            if (low) {
                const double out = q.b0 * v + z1[k];
                z1[k] = q.b1 * v - q.a1 * out + z2[k];
                z2[k] = q.b2 * v - q.a2 * out;
                v = out;
            }
            data[c * frames + n] = static_cast<float>(v);
        }
    }
}

/// Round to the nearest multiple of `step` (ties to even) without a libm call.
inline double quantise(double v, double step) {
    constexpr double kMagic = 6755399441055744.0;  // 1.5 * 2^52: adding it rounds to an integer
    return ((v / step + kMagic) - kMagic) * step;
}

enum Electrode { RA = 0, LA, LL, V1 };
constexpr int kElectrodes = 9;
constexpr int kBaseLeads = 8;  // I, II, V1..V6
constexpr std::array<int, kBaseLeads> kBaseColumns{0, 1, 6, 7, 8, 9, 10, 11};

/// Power of one frame over all 12 leads, given its 8 base-lead values.
inline double frame_power(const std::array<float, kBaseLeads>& b) {
    const double i = b[0], ii = b[1];
    double p = i * i + ii * ii;
    const double iii = ii - i, avr = -(i + ii) / 2, avl = i - ii / 2, avf = ii - i / 2;
    p += iii * iii + avr * avr + avl * avl + avf * avf;
    for (int k = 2; k < kBaseLeads; ++k) p += static_cast<double>(b[static_cast<std::size_t>(k)]) * b[static_cast<std::size_t>(k)];
    return p;
}

double power_of(const std::vector<float>& leads, std::int64_t frames, std::int64_t from) {
    double power = 0;
    std::array<float, kBaseLeads> frame{};
    for (std::int64_t n = from; n < frames; ++n) {
        for (int k = 0; k < kBaseLeads; ++k) frame[static_cast<std::size_t>(k)] = leads[static_cast<std::size_t>(k * frames + n)];
        power += frame_power(frame);
    }
    return power;
}

}  // namespace

NoiseBanks make_noise_banks(const SiteConfig& site, std::uint64_t seed, std::int64_t frames) {
    const double fs = site.sampling_rate;
    const std::int64_t n = std::max<std::int64_t>(1 << 16, 8 * frames);
    Rng rng(derive_seed(seed, static_cast<std::uint64_t>(site.site), Stream::Bank, 0));
    NoiseBanks banks;

    // Baseline wander: integrated (1/f^2) noise below ~0.5 Hz.
    banks.baseline = white(rng, n);
    lowpass_rc(banks.baseline.data(), n, 0.3, fs);
    lowpass_rc(banks.baseline.data(), n, 0.3, fs);
    normalise_rms(banks.baseline);

    // Muscle: broadband EMG (20 Hz up to the band edge) in bursts.
    banks.muscle = white(rng, n);
    dsp::lfilter(dsp::butterworth(20.0, fs, true), banks.muscle.data(), n);
    if (0.45 * fs > 25.0) dsp::lfilter(dsp::butterworth(std::min(150.0, 0.45 * fs), fs, false), banks.muscle.data(), n);
    std::vector<float> envelope = white(rng, n);
    lowpass_rc(envelope.data(), n, 0.4, fs);
    normalise_rms(envelope);
    for (std::int64_t i = 0; i < n; ++i)
        banks.muscle[static_cast<std::size_t>(i)] *= 0.3f + std::fabs(envelope[static_cast<std::size_t>(i)]);
    normalise_rms(banks.muscle);

    // Electrode motion: low-frequency noise plus step-like transients that decay.
    banks.motion = white(rng, n);
    dsp::lfilter(dsp::butterworth(std::min(6.0, 0.4 * fs), fs, false), banks.motion.data(), n);
    for (double event_s = rng.uniform(0.0, 3.0);; event_s += -std::log(1.0 - rng.uniform()) / 0.3) {  // 0.3/s
        const auto at = static_cast<std::int64_t>(event_s * fs);
        if (at >= n) break;
        const double amplitude = rng.normal(0.0, 4.0), tau = rng.uniform(0.05, 0.3) * fs;
        for (std::int64_t k = at; k < std::min(n, at + static_cast<std::int64_t>(6 * tau)); ++k)
            banks.motion[static_cast<std::size_t>(k)] += static_cast<float>(amplitude * std::exp(-static_cast<double>(k - at) / tau));
    }
    normalise_rms(banks.motion);

    // Mains at sample n of a record: sin/cos of the fundamental and 3rd harmonic (phase per record).
    if (site.powerline_hz < 0.5 * fs) {
        const double w = 2 * kPi * site.powerline_hz / fs;
        for (auto* table : {&banks.mains_sin, &banks.mains_cos, &banks.mains3_sin, &banks.mains3_cos})
            table->resize(static_cast<std::size_t>(frames));
        for (std::int64_t k = 0; k < frames; ++k) {
            const auto u = static_cast<std::size_t>(k);
            const double arg = w * static_cast<double>(k);
            banks.mains_sin[u] = static_cast<float>(std::sin(arg));
            banks.mains_cos[u] = static_cast<float>(std::cos(arg));
            banks.mains3_sin[u] = static_cast<float>(std::sin(3 * arg));
            banks.mains3_cos[u] = static_cast<float>(std::cos(3 * arg));
        }
    }
    return banks;
}

SiteSignature site_signature(const SiteConfig& site) {
    SiteSignature sig;
    if (site.site == 0 || site.site_shift == 0) return sig;  // site 0 is the reference device
    Rng rng(derive_seed(0, static_cast<std::uint64_t>(site.site), Stream::Site, 0));
    sig.gain = 1.0 + site.site_shift * rng.uniform(-0.08, 0.08);
    sig.chest_shift_deg = site.site_shift * rng.normal(0.0, 6.0);
    for (double& w : sig.noise_weight) w = std::exp(site.site_shift * rng.uniform(-0.5, 0.5));
    return sig;
}

double acquire(const SiteConfig& site, const SiteSignature& signature, const NoiseBanks& banks, const Subject& s,
               const VcgBuffer& vcg, std::int64_t samples, bool with_noise, Rng& rng, float* out) {
    const std::int64_t frames = vcg.frames, warm = frames - samples;

    // Lead fields: I and II exact; chest electrodes around the transverse plane, placement varying
    // per subject, site and visit; chest leads see more voltage (closer to the heart).
    static constexpr std::array<double, 6> kChestAngles{115, 95, 78, 60, 35, 8};
    static constexpr std::array<double, 6> kChestGains{1.2, 1.75, 1.9, 1.85, 1.6, 1.35};
    std::array<Vec3, kBaseLeads> fields{};
    fields[0] = {1, 0, 0};
    fields[1] = {0.5, std::sqrt(3.0) / 2, 0};
    const double row = s.chest_shift_deg + signature.chest_shift_deg + rng.normal(0.0, 3.0);
    for (std::size_t k = 0; k < 6; ++k) {
        const double angle = deg(kChestAngles[k] + row + rng.normal(0.0, 3.0));
        const double y = (k >= 3 ? 0.1 : 0.0) + rng.normal(0.0, 0.06);
        fields[2 + k] = kChestGains[k] * unit({std::cos(angle), y, std::sin(angle)});
    }

    // Scratch buffers live per thread: a record allocates nothing (no page faults, no memset).
    thread_local std::vector<float> filtered_vcg, clean, noise, electrodes;
    // The front end is linear, so filtering the 3 VCG components equals filtering the 8 leads.
    filtered_vcg.resize(static_cast<std::size_t>(3 * frames));
    std::copy(vcg.x.begin(), vcg.x.end(), filtered_vcg.begin());
    std::copy(vcg.y.begin(), vcg.y.end(), filtered_vcg.begin() + frames);
    std::copy(vcg.z.begin(), vcg.z.end(), filtered_vcg.begin() + 2 * frames);
    analogue_filter(filtered_vcg.data(), 3, frames, site);
    clean.resize(static_cast<std::size_t>(kBaseLeads * frames));
    const float* vx = filtered_vcg.data();
    const float* vy = vx + frames;
    const float* vz = vy + frames;
    for (int k = 0; k < kBaseLeads; ++k) {
        const Vec3 f = fields[static_cast<std::size_t>(k)];
        const auto fx = static_cast<float>(f.x), fy = static_cast<float>(f.y), fz = static_cast<float>(f.z);
        float* lead = clean.data() + k * frames;
        for (std::int64_t n = 0; n < frames; ++n) lead[n] = fx * vx[n] + fy * vy[n] + fz * vz[n];
    }

    double snr = std::numeric_limits<double>::infinity();
    double noise_scale = 0;
    if (with_noise) {
        // Electrode potentials: each noise type cut from its bank at a random offset, weighted.
        const std::array<const std::vector<float>*, 3> bank{&banks.baseline, &banks.muscle, &banks.motion};
        const std::array<double, 4> weight{site.noise_baseline * signature.noise_weight[0],
                                           site.noise_muscle * signature.noise_weight[1],
                                           site.noise_motion * signature.noise_weight[2],
                                           site.noise_powerline * signature.noise_weight[3]};
        electrodes.assign(static_cast<std::size_t>(kElectrodes * frames), 0.0f);
        const double mains_phase = rng.uniform(0.0, 2 * kPi);
        for (int e = 0; e < kElectrodes; ++e) {
            float* out_e = electrodes.data() + e * frames;
            for (std::size_t b = 0; b < bank.size(); ++b) {
                const auto length = static_cast<std::int64_t>(bank[b]->size());
                const auto offset = static_cast<std::int64_t>(rng.uniform() * static_cast<double>(length - frames));
                const auto scale = static_cast<float>(std::sqrt(weight[b]) * rng.uniform(0.5, 1.5));
                const float* src = bank[b]->data() + offset;
                for (std::int64_t n = 0; n < frames; ++n) out_e[n] += scale * src[n];
            }
            // Powerline (+ 3rd harmonic): mostly common-mode (cancels in leads), partly differential.
            if (!banks.mains_sin.empty()) {
                const double amplitude = std::sqrt(2 * weight[3]) * rng.uniform(0.5, 1.5);
                const double phase = mains_phase + rng.normal(0.0, 0.6);
                const auto cs = static_cast<float>(amplitude * std::cos(phase)), sn = static_cast<float>(amplitude * std::sin(phase));
                const auto cs3 = static_cast<float>(0.2 * amplitude * std::cos(3 * phase)),
                           sn3 = static_cast<float>(0.2 * amplitude * std::sin(3 * phase));
                for (std::int64_t n = 0; n < frames; ++n) {
                    const auto u = static_cast<std::size_t>(n);
                    out_e[n] += cs * banks.mains_sin[u] + sn * banks.mains_cos[u] + cs3 * banks.mains3_sin[u] +
                                sn3 * banks.mains3_cos[u];
                }
            }
        }
        noise.resize(static_cast<std::size_t>(kBaseLeads * frames));
        const float* ra = electrodes.data() + RA * frames;
        const float* la = electrodes.data() + LA * frames;
        const float* ll = electrodes.data() + LL * frames;
        for (std::int64_t n = 0; n < frames; ++n) {
            noise[static_cast<std::size_t>(n)] = la[n] - ra[n];
            noise[static_cast<std::size_t>(frames + n)] = ll[n] - ra[n];
            const float wct = (ra[n] + la[n] + ll[n]) / 3.0f;
            for (int k = 0; k < 6; ++k)
                noise[static_cast<std::size_t>((2 + k) * frames + n)] = electrodes[static_cast<std::size_t>((V1 + k) * frames + n)] - wct;
        }
        analogue_filter(noise.data(), kBaseLeads, frames, site);
        snr = site.snr_db + site.snr_spread_db * rng.normal();
        const double p_clean = power_of(clean, frames, warm), p_noise = power_of(noise, frames, warm);
        noise_scale = p_noise > 0 ? std::sqrt(p_clean / (p_noise * std::pow(10.0, snr / 10.0))) : 0.0;
    }

    // Gain, ADC, then the derived limb leads from the digitised I and II (as a cart does).
    const double gain = site.gain * signature.gain;
    const double step = site.adc_resolution_uv / 1000.0;
    for (int k = 0; k < kBaseLeads; ++k) {
        float* dst = out + kBaseColumns[static_cast<std::size_t>(k)] * samples;
        const float* c = clean.data() + k * frames + warm;
        const float* z = with_noise ? noise.data() + k * frames + warm : nullptr;
        for (std::int64_t n = 0; n < samples; ++n) {
            double v = gain * (c[n] + (z ? noise_scale * z[n] : 0.0));
            if (step > 0) v = quantise(v, step);
            dst[n] = static_cast<float>(v);
        }
    }
    const float* i = out;
    const float* ii = out + samples;
    for (std::int64_t n = 0; n < samples; ++n) {
        out[2 * samples + n] = ii[n] - i[n];
        out[3 * samples + n] = -(i[n] + ii[n]) / 2.0f;
        out[4 * samples + n] = i[n] - ii[n] / 2.0f;
        out[5 * samples + n] = ii[n] - i[n] / 2.0f;
    }
    return snr;
}

}  // namespace ecgbench::synth
