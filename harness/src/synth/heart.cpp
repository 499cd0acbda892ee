// The heart stage: beat schedule (rhythm, HRV, ectopy), wave components per beat, atrial activity,
// rendered into a body-frame vectorcardiogram, with exact fiducial ground truth.
//
// Follows ECGSYN (McSharry et al., IEEE TBME 2003) in describing each beat as a sum of Gaussian
// events placed relative to the beat and scaled with the RR interval, and its RR tachogram with a
// bimodal LF (0.1 Hz) / HF (respiratory) spectrum. Differs from it: events are rendered directly in
// time (no limit-cycle ODE), each event has a 3-D direction (a dipole, not one lead), and the
// repolarisation adapts with Bazett's QT = QTc·sqrt(RR) instead of ECGSYN's sqrt(hr) factor.
// A wave's on/offset is its earliest/latest component's centre ∓ 2.5 σ (the Gaussian at 4.4 % of
// its peak): the ground truth is exactly what was rendered.
#include "synth/model.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace ecgbench::synth {

Mat3 rotate_frontal(double degrees) {
    const double c = std::cos(deg(degrees)), s = std::sin(deg(degrees));
    return Mat3{{c, -s, 0, s, c, 0, 0, 0, 1}};
}
Mat3 rotate_transverse(double degrees) {
    const double c = std::cos(deg(degrees)), s = std::sin(deg(degrees));
    return Mat3{{c, 0, -s, 0, 1, 0, s, 0, c}};
}
Mat3 rotate_sagittal(double degrees) {
    const double c = std::cos(deg(degrees)), s = std::sin(deg(degrees));
    return Mat3{{1, 0, 0, 0, c, -s, 0, s, c}};
}

namespace {

constexpr double kEdge = 2.5;  // fiducial at centre ∓ 2.5 σ
const double kNaN = std::numeric_limits<double>::quiet_NaN();

/// A Gaussian event at `offset_s` from the QRS onset (P events: from the P onset).
struct Event {
    double offset_s, sigma_s;
    Vec3 amplitude;  // mV, heart frame until oriented
};

/// A repolarisation event. T events sit relative to the T end, in units of the T duration t_d;
/// ST events relative to the QRS offset, in units of the ST-T span (QRS offset to T end).
struct RepolEvent {
    double position, width;
    Vec3 amplitude;
    bool st;
};

/// The beat shapes of one visit, oriented into the body frame.
struct BeatShapes {
    std::vector<Event> p, p_ectopic;     // relative to P onset
    std::vector<Event> qrs, qrs_pvc;     // relative to QRS onset
    std::vector<RepolEvent> repol, repol_pvc;
    double r_offset = 0, r_offset_pvc = 0;  // R peak relative to QRS onset
    double p_duration = 0.1, pr = 0.16, qtc = 0.41;
};

double span_start(const std::vector<Event>& events) {
    double t = std::numeric_limits<double>::infinity();
    for (const Event& e : events) t = std::min(t, e.offset_s - kEdge * e.sigma_s);
    return t;
}
double span_end(const std::vector<Event>& events) {
    double t = -std::numeric_limits<double>::infinity();
    for (const Event& e : events) t = std::max(t, e.offset_s + kEdge * e.sigma_s);
    return t;
}

Mat3 ventricular_orientation(const Subject& s) {
    return rotate_transverse(s.transverse_deg) * rotate_sagittal(s.sagittal_deg) * rotate_frontal(s.axis_deg - 60.0);
}
Mat3 atrial_orientation(const Subject& s) {
    return rotate_transverse(s.transverse_deg) * rotate_sagittal(s.sagittal_deg) * rotate_frontal(0.3 * (s.axis_deg - 60.0));
}

BeatShapes build_shapes(const Subject& s, const Visit& v, const Findings& f) {
    BeatShapes b;
    const double A = s.qrs_amplitude * v.amplitude;
    const double d = s.qrs_ms / 1000.0;
    const Vec3 septal = unit({-0.7, 0.15, 0.7});
    const Vec3 early = unit({0.35, 0.55, 0.6});
    Vec3 main = unit({0.5, 0.85, -0.25});
    const Vec3 terminal = unit({-0.35, -0.5, -0.65});
    double t_amp = s.t_amplitude * std::sqrt(v.amplitude);
    const Vec3 t_dir = rotate_frontal(s.t_axis_offset_deg)(unit({0.5, 0.65, 0.6}));

    // Depolarisation.
    if (f.lbbb) {
        // Septum activated right-to-left (no septal q), slow notched leftward-posterior R.
        b.qrs = {{0.30 * d, 0.12 * d, (0.7 * A) * unit({0.7, 0.2, -0.45})},
                 {0.62 * d, 0.12 * d, (0.9 * A) * unit({0.8, 0.35, -0.5})},
                 {0.85 * d, 0.06 * d, (0.1 * A) * unit({-0.2, -0.3, -0.6})}};
        b.r_offset = 0.62 * d;
        main = unit({0.8, 0.35, -0.5});
    } else if (f.rbbb) {
        // Normal left-sided activation in the first 60 %, then a slow rightward-anterior R'.
        b.qrs = {{0.09 * d, 0.036 * d, (0.12 * A) * septal},
                 {0.20 * d, 0.054 * d, (0.45 * A) * early},
                 {0.30 * d, 0.057 * d, (1.0 * A) * main},
                 {0.45 * d, 0.060 * d, (0.35 * A) * terminal},
                 {0.78 * d, 0.088 * d, (0.5 * A) * unit({-0.6, 0.05, 0.8})}};
        b.r_offset = 0.30 * d;
    } else {
        b.qrs = {{0.15 * d, 0.060 * d, (0.12 * A) * septal},
                 {0.33 * d, 0.080 * d, (0.45 * A) * early},
                 {0.50 * d, 0.070 * d, (1.0 * A) * main},
                 {0.74 * d, 0.104 * d, (0.4 * A) * terminal}};
        b.r_offset = 0.50 * d;
    }
    if (f.lvh) {  // more left-posterior voltage: tall R in I/aVL/V5–V6, deep S in V1–V2
        for (Event& e : b.qrs) {
            if (dot(e.amplitude, main) > 0 || dot(e.amplitude, terminal) > 0) e.amplitude = s.lvh_factor * e.amplitude;
        }
    }

    // Repolarisation: asymmetric T (slow upstroke, faster downstroke).
    if (f.lbbb) {  // secondary change: ST-T discordant to the QRS
        b.repol = {{0.55, 0.20, (-0.45 * t_amp) * main, false},
                   {0.28, 0.112, (-0.75 * t_amp) * main, false},
                   {0.30, 0.22, (-0.10 * A) * main, true}};
    } else {
        b.repol = {{0.55, 0.20, (0.45 * t_amp) * t_dir, false}, {0.28, 0.112, (0.75 * t_amp) * t_dir, false}};
    }
    if (f.rbbb) b.repol.push_back({0.5, 0.2, (-0.15 * t_amp) * unit({-0.6, 0.05, 0.8}), false});
    if (f.lvh && f.lvh_strain) {
        for (RepolEvent& e : b.repol) e.amplitude = -0.5 * e.amplitude;
        b.repol.push_back({0.30, 0.20, -0.08 * main, true});
    }
    if (f.mi != Territory::None) {
        const Vec3 u = f.mi == Territory::Anterior   ? unit({0.05, 0.1, 1.0})
                       : f.mi == Territory::Inferior ? unit({0.0, 1.0, 0.1})
                                                     : unit({1.0, -0.4, 0.15});
        // Necrosis no longer depolarises: early forces point away from the territory (Q waves).
        for (Event& e : b.qrs) e.amplitude = remove_toward(e.amplitude, u, 0.6);
        b.qrs.push_back({0.20 * d, 0.09 * d, (-s.mi_q * A) * u});
        if (f.mi_acute) {  // injury current: ST elevation and hyperacute T toward the territory
            b.repol.push_back({0.30, 0.25, s.mi_st * u, true});
            b.repol.push_back({0.60, 0.25, (0.5 * s.mi_st) * u, false});
        } else {  // evolved: T inversion in the territory
            b.repol.push_back({0.45, 0.18, -s.mi_t * u, false});
        }
    }
    switch (f.sttc) {
        case Repolarisation::StDepression:
            b.repol.push_back({0.30, 0.22, -(0.05 + 0.15 * s.sttc_severity) * main, true});
            for (RepolEvent& e : b.repol)
                if (!e.st) e.amplitude = 0.7 * e.amplitude;
            break;
        case Repolarisation::TInversion:
            for (RepolEvent& e : b.repol)
                if (!e.st) e.amplitude = -(0.4 + 0.5 * s.sttc_severity) * e.amplitude;
            break;
        case Repolarisation::NonSpecific:
            for (RepolEvent& e : b.repol)
                if (!e.st) e.amplitude = (0.15 + 0.2 * (1 - s.sttc_severity)) * e.amplitude;
            b.repol.push_back({0.30, 0.22, -0.03 * main, true});
            break;
        case Repolarisation::None: break;
    }

    // Atrial depolarisation: right then left atrium.
    b.p_duration = 0.09 + 0.02 * s.p_amplitude / 0.12;
    const double pd = b.p_duration;
    b.p = {{0.33 * pd, 0.13 * pd, (0.6 * s.p_amplitude) * unit({0.2, 0.8, 0.5})},
           {0.62 * pd, 0.15 * pd, (0.6 * s.p_amplitude) * unit({0.85, 0.4, -0.35})}};
    b.p_ectopic = {{0.45 * pd, 0.17 * pd, (0.9 * s.p_amplitude) * s.ectopic_p}};
    b.pr = (f.avb1 ? s.avb_pr_ms : s.pr_ms) / 1000.0;
    b.qtc = (f.long_qt ? s.lqt_qtc_ms : s.qtc_ms) / 1000.0;

    // Ventricular ectopic beat: wide, from the subject's focus, discordant T.
    const double dv = 0.13 + 0.03 * std::fabs(s.ectopic_focus.z);
    const Vec3 e = s.ectopic_focus;
    b.qrs_pvc = {{0.32 * dv, 0.13 * dv, (0.8 * A) * unit(e + Vec3{0, 0, 0.4})}, {0.62 * dv, 0.15 * dv, (1.6 * A) * e}};
    b.r_offset_pvc = 0.62 * dv;
    b.repol_pvc = {{0.55, 0.22, (-0.6 * t_amp) * e, false}, {0.28, 0.12, (-0.5 * t_amp) * e, false}};

    // Orient with the subject's heart: ventricular events follow the QRS axis; atrial ones only
    // partly (the P axis stays near 60° when the QRS axis deviates).
    const Mat3 orientation = ventricular_orientation(s);
    const Mat3 atrial = atrial_orientation(s);
    for (auto* list : {&b.p, &b.p_ectopic})
        for (Event& ev : *list) ev.amplitude = atrial(ev.amplitude);
    for (auto* list : {&b.qrs, &b.qrs_pvc})
        for (Event& ev : *list) ev.amplitude = orientation(ev.amplitude);
    for (auto* list : {&b.repol, &b.repol_pvc})
        for (RepolEvent& ev : *list) ev.amplitude = orientation(ev.amplitude);
    return b;
}

/// Adds one Gaussian event, widened by the anti-alias front end (area kept).
void render(VcgBuffer& vcg, double centre_s, double sigma_s, Vec3 amplitude) {
    const double blur = 0.4 / vcg.fs;
    const double sigma = std::sqrt(sigma_s * sigma_s + blur * blur);
    const Vec3 a = (sigma_s / sigma) * amplitude;
    const double reach = 4.0 * sigma;
    const auto first = std::max<std::int64_t>(0, static_cast<std::int64_t>(std::ceil((centre_s - reach - vcg.t0) * vcg.fs)));
    const auto last = std::min<std::int64_t>(vcg.frames - 1,
                                             static_cast<std::int64_t>(std::floor((centre_s + reach - vcg.t0) * vcg.fs)));
    if (first > last) return;
    const float inv = static_cast<float>(1.0 / (sigma * vcg.fs));
    const float start = static_cast<float>((static_cast<double>(first) / vcg.fs + vcg.t0 - centre_s) / sigma);
    const auto ax = static_cast<float>(a.x), ay = static_cast<float>(a.y), az = static_cast<float>(a.z);
    float* x = vcg.x.data();
    float* y = vcg.y.data();
    float* z = vcg.z.data();
    for (std::int64_t n = first; n <= last; ++n) {
        const float u = start + static_cast<float>(n - first) * inv;
        const float g = std::exp(-0.5f * u * u);
        x[n] += g * ax;
        y[n] += g * ay;
        z[n] += g * az;
    }
}

/// Sinus RR tachogram: ECGSYN's bimodal spectrum, synthesised as a sum of sinusoids whose
/// frequencies are drawn from the LF and HF Gaussians (so the process has that spectrum).
class Tachogram {
public:
    Tachogram(const Subject& s, double hrv_scale, Rng& rng) {
        const double sd = s.rr_sd * hrv_scale;  // relative SD of RR
        const double lf_share = s.lf_hf / (1.0 + s.lf_hf);
        for (int k = 0; k < kWaves; ++k) {
            const bool lf = k < kWaves / 2;
            const double share = lf ? lf_share : 1.0 - lf_share;
            waves_[static_cast<std::size_t>(k)] = {
                std::max(0.01, lf ? rng.normal(0.1, 0.01) : rng.normal(s.resp_hz, 0.01)),
                std::sqrt(2.0 * sd * sd * share / (kWaves / 2)), rng.uniform(0.0, 2 * kPi)};
        }
    }
    double relative(double t) const {
        double x = 0;
        for (const Wave& w : waves_) x += w.amplitude * std::cos(2 * kPi * w.hz * t + w.phase);
        return x;
    }

private:
    static constexpr int kWaves = 12;
    struct Wave {
        double hz, amplitude, phase;
    };
    std::array<Wave, kWaves> waves_{};
};

struct ScheduledBeat {
    double r_s;
    char type;      // 'N', 'V', 'A'
    bool p_wave;    // sinus P (or ectopic P for 'A')
    double rr_prev; // time since the previous beat
};

Rhythm sinus_kind(double hr) {
    return hr < 60 ? Rhythm::SinusBrady : hr > 100 ? Rhythm::SinusTachy : Rhythm::Sinus;
}

}  // namespace

void render_heart(const Subject& s, const Visit& v, double duration_s, double hrv_scale, Rng& rng, VcgBuffer& vcg,
                  Truth& truth) {
    const Findings& f = v.findings;
    const BeatShapes shapes = build_shapes(s, v, f);
    const Tachogram tachogram(s, hrv_scale, rng);
    const bool flutter = f.rhythm == Rhythm::Flutter;
    auto in_af = [&](double t) { return t >= v.af_start && t < v.af_end; };

    // Beat schedule, starting early enough that the first samples hold the previous beat's tail.
    const double rr_sinus = 60.0 / v.hr_bpm;
    const double af_rr = 60.0 / v.af_hr_bpm;
    const double flutter_period = 1.0 / v.flutter_hz;
    const double end = duration_s + 0.6;
    std::vector<ScheduledBeat> beats;
    double t = vcg.t0 - 1.2 + rng.uniform() * rr_sinus;
    double previous = t - rr_sinus;
    while (t < end) {
        double next;
        if (in_af(t)) {
            // Irregularly irregular: i.i.d. RR, lognormal with unit mean, CV ≈ 0.2.
            beats.push_back({t, 'N', false, t - previous});
            next = t + std::max(0.3, af_rr * rng.lognormal(0.2) * std::exp(-0.02));
        } else if (flutter) {
            beats.push_back({t, 'N', false, t - previous});
            const double ratio = rng.chance(0.1) ? (v.flutter_conduction == 2 ? 4 : 2) : v.flutter_conduction;
            next = t + ratio * flutter_period;
        } else {
            const double rr = rr_sinus * (1.0 + tachogram.relative(t));
            beats.push_back({t, 'N', true, t - previous});
            next = t + rr;
            if (rng.chance(v.pvc_rate)) {  // PVC, then a full compensatory pause
                const double at = t + rng.uniform(0.55, 0.7) * rr;
                beats.push_back({at, 'V', false, at - t});
                next = t + 2 * rr;
            } else if (rng.chance(v.pac_rate)) {  // PAC resets the sinus node: no full pause
                const double at = t + rng.uniform(0.65, 0.8) * rr;
                beats.push_back({at, 'A', true, at - t});
                next = at + rr;
            }
        }
        previous = beats.back().r_s;
        t = next;
    }

    // Render: respiration modulates the QRS voltage by ±5 %.
    truth.beats.clear();
    std::vector<double> pr, qrs, qts, qtcs;
    for (const ScheduledBeat& beat : beats) {
        const bool pvc = beat.type == 'V';
        const auto& qrs_events = pvc ? shapes.qrs_pvc : shapes.qrs;
        const double qrs_on = beat.r_s - (pvc ? shapes.r_offset_pvc : shapes.r_offset);
        const double breathing = 1.0 + 0.05 * std::sin(2 * kPi * s.resp_hz * beat.r_s + v.resp_phase);
        for (const Event& e : qrs_events) render(vcg, qrs_on + e.offset_s, e.sigma_s, breathing * e.amplitude);
        const double qrs_start = qrs_on + span_start(qrs_events);
        const double qrs_end = qrs_on + span_end(qrs_events);

        double p_on = kNaN, p_off = kNaN;
        if (beat.p_wave) {
            const auto& p_events = beat.type == 'A' ? shapes.p_ectopic : shapes.p;
            const double pr_s = beat.type == 'A' ? 0.9 * shapes.pr : shapes.pr;
            const double onset = qrs_start - pr_s;
            for (const Event& e : p_events) render(vcg, onset + e.offset_s, e.sigma_s, e.amplitude);
            p_on = onset + span_start(p_events);
            p_off = onset + span_end(p_events);
        }

        // Bazett: QT = QTc sqrt(RR); the T lasts 42 % of the QT but starts >= 20 ms after the QRS.
        const double rr = std::clamp(beat.rr_prev, 0.25, 2.5);
        const double qt = shapes.qtc * std::sqrt(rr) * (pvc ? 1.1 : 1.0);
        const double t_end = qrs_start + qt;
        const double t_d = std::max(0.04, std::min(0.42 * qt, (t_end - qrs_end - 0.02) / (0.55 + kEdge * 0.2)));
        const double st_span = std::max(0.02, t_end - qrs_end);
        double t_on = std::numeric_limits<double>::infinity();
        for (const RepolEvent& e : pvc ? shapes.repol_pvc : shapes.repol) {
            if (e.st) {
                render(vcg, qrs_end + e.position * st_span, e.width * st_span, e.amplitude);
            } else {
                render(vcg, t_end - e.position * t_d, e.width * t_d, e.amplitude);
                t_on = std::min(t_on, t_end - (e.position + kEdge * e.width) * t_d);
            }
        }
        if (beat.r_s < 0 || beat.r_s >= duration_s) continue;
        truth.beats.push_back({beat.r_s, beat.type, p_on, p_off, qrs_start, qrs_end, t_on, t_end});
        if (beat.type == 'N') {
            if (beat.p_wave) pr.push_back(1000 * (qrs_start - p_on));
            qrs.push_back(1000 * (qrs_end - qrs_start));
            qts.push_back(1000 * qt);
            qtcs.push_back(1000 * qt / std::sqrt(rr));
        }
    }

    // Atrial activity outside the beats: fibrillatory waves (4–9 Hz, drifting) or flutter waves
    // (sawtooth, slow descent and sharp rise in the inferior leads).
    const Mat3 orientation = atrial_orientation(s);
    if (v.af_end > v.af_start) {
        const Vec3 dir = orientation(unit({-0.3, 0.6, 0.75}));
        const double a = rng.uniform(0.03, 0.12);
        std::array<double, 3> hz{}, phase{}, weight{0.6, 0.3, 0.2};
        for (std::size_t k = 0; k < 3; ++k) {
            hz[k] = rng.uniform(4.0, 9.0);
            phase[k] = rng.uniform(0.0, 2 * kPi);
        }
        const double drift = rng.uniform(0.0, 2 * kPi);
        for (std::int64_t n = 0; n < vcg.frames; ++n) {
            const double time = vcg.t0 + static_cast<double>(n) / vcg.fs;
            if (!in_af(time)) continue;
            double w = 0;
            for (std::size_t k = 0; k < 3; ++k)
                w += weight[k] * std::sin(2 * kPi * hz[k] * time + phase[k] + 1.5 * std::sin(2 * kPi * 0.15 * time + drift + static_cast<double>(k)));
            const auto value = static_cast<float>(a * w);
            vcg.x[static_cast<std::size_t>(n)] += value * static_cast<float>(dir.x);
            vcg.y[static_cast<std::size_t>(n)] += value * static_cast<float>(dir.y);
            vcg.z[static_cast<std::size_t>(n)] += value * static_cast<float>(dir.z);
        }
    }
    if (flutter) {
        const Vec3 dir = orientation(unit({0.1, 0.95, 0.2}));
        const double a = rng.uniform(0.08, 0.2);
        const double origin = rng.uniform(0.0, flutter_period);
        for (std::int64_t n = 0; n < vcg.frames; ++n) {
            const double time = vcg.t0 + static_cast<double>(n) / vcg.fs;
            double phase = (time - origin) / flutter_period;
            phase -= std::floor(phase);
            const double w = phase < 0.8 ? 1.0 - 2.0 * phase / 0.8 : -1.0 + 2.0 * (phase - 0.8) / 0.2;
            const auto value = static_cast<float>(a * w);
            vcg.x[static_cast<std::size_t>(n)] += value * static_cast<float>(dir.x);
            vcg.y[static_cast<std::size_t>(n)] += value * static_cast<float>(dir.y);
            vcg.z[static_cast<std::size_t>(n)] += value * static_cast<float>(dir.z);
        }
    }

    // Summary truth.
    auto median = [](std::vector<double> values) {
        if (values.empty()) return kNaN;
        std::sort(values.begin(), values.end());
        const std::size_t m = values.size() / 2;
        return values.size() % 2 ? values[m] : 0.5 * (values[m - 1] + values[m]);
    };
    const bool all_af = v.af_start <= 0 && v.af_end >= duration_s;
    truth.requested_hr_bpm = all_af ? v.af_hr_bpm : v.hr_bpm;
    if (truth.beats.size() >= 2) {
        truth.hr_bpm = 60.0 * static_cast<double>(truth.beats.size() - 1) / (truth.beats.back().r_s - truth.beats.front().r_s);
    } else {
        truth.hr_bpm = truth.requested_hr_bpm;
    }
    truth.pr_ms = median(pr);
    truth.qrs_ms = median(qrs);
    truth.qt_ms = median(qts);
    truth.qtc_ms = median(qtcs);

    // Rhythm episodes over [0, duration).
    truth.episodes.clear();
    const Rhythm base = flutter ? Rhythm::Flutter : sinus_kind(v.hr_bpm);
    const double af_from = std::clamp(v.af_start, 0.0, duration_s), af_to = std::clamp(v.af_end, 0.0, duration_s);
    if (af_to > af_from) {
        if (af_from > 0) truth.episodes.push_back({0, af_from, base});
        truth.episodes.push_back({af_from, af_to, Rhythm::Af});
        if (af_to < duration_s) truth.episodes.push_back({af_to, duration_s, base});
    } else {
        truth.episodes.push_back({0, duration_s, base});
    }
}

}  // namespace ecgbench::synth
