// Corruptions of real recordings for noise- and missing-lead-robust training: the recording noise
// of the synthetic cohort (harness/src/synth/acquisition.cpp) on tensors, and random lead dropping
// that marks the dropped leads absent. Batched, on the signals' device, from LibTorch's global
// generator (seeded per cell by the host).
#pragma once

#include <ATen/core/Tensor.h>

namespace ecgbench {

/// Relative power of each noise type (the synthetic cohort's defaults) and the mains frequency.
struct RecordingNoise {
    double baseline = 0.35;      ///< baseline wander: two sinusoids of 0.05–0.5 Hz per lead
    double muscle = 0.35;        ///< EMG: white noise minus its 50 ms moving average, in 0.2–1 Hz bursts
    double motion = 0.15;        ///< electrode motion: noise smoothed over 1/6 s plus one decaying step (τ 50–300 ms)
    double powerline = 0.15;     ///< mains sinusoid (one phase per record); skipped at or above Nyquist
    double powerline_hz = 50.0;  ///< mains frequency
};

/// signals float [B, L, T] at `sampling_rate_hz` plus noise of the `mix` types, each at unit RMS
/// per lead before mixing, scaled per record so that its SNR over its present leads,
/// 10·log10(P_signal / P_noise) with P = mean square (the signal's per-lead mean removed), is
/// snr_db [B]. Leads absent in `lead_present` (bool [B, L]; undefined = all present) stay as they are.
at::Tensor add_recording_noise(const at::Tensor& signals, const at::Tensor& lead_present, const at::Tensor& snr_db,
                               double sampling_rate_hz, const RecordingNoise& mix = {});

/// Missing-lead simulation: each present lead is dropped with a per-record probability drawn from
/// U(0, max_drop), and a record that had a present lead keeps at least one. Returns the new
/// lead_present, bool [B, L] (a subset of `lead_present`).
at::Tensor drop_leads(const at::Tensor& lead_present, double max_drop);

}  // namespace ecgbench
