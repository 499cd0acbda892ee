// Masked-token pretraining end to end: the real CLI pretrains vit1d XS (patches of 25 samples: 12
// leads x 10 patches) with a masked-token method on a small synthetic site and linear-probes a
// held-out site (another device signature, a 40 Hz low-pass, 20 dB SNR, an older population); the
// method's test macro AUROC minus random_init's (same seeds) must reach the case's bound. The same
// data as the SslMethods test (1,000 records of 2.5 s at 100 Hz); small decoders and predictors. One
// intra-op thread, as the other integration tests.
//
// st_mem asserts a gain; it needs two things the earlier runs below lacked (docs/results.md):
//  - per-patch normalised targets (its default): vit1d's patch embedding starts with a LayerNorm over
//    each patch, so the encoder never sees a patch's offset or scale and raw targets cannot be
//    learned beyond the mean patch (the 100-epoch raw-target run below ended exactly there);
//  - enough steps to leave the reconstruction plateau: for its first ~1,000 steps every masked run
//    reconstructs a hidden patch from its own lead only (loss 0.945-0.954, what a linear fit from
//    the lead's neighbouring patches reaches); only then does it use the other leads at the same
//    moment (a linear fit from them: 0.21).
// Measured 2026-12-03 (commit 42d1afa, the EPYC below, one thread beside other jobs), seed 0 / 1,
// linear probe, random_init 0.652 / 0.622:
//   st_mem, decoder 64 x 2, normalised targets, 50 epochs (1,050 steps), rate 2e-3: loss 0.880,
//     test macro AUROC 0.699 / 0.678 (gain +0.047 / +0.055; 3-4 min of pretraining beside other jobs)
//   the same, 100 epochs (2,100 steps), rate 1e-3: loss 0.823 / 0.812, 0.724 / 0.704 (+0.072 / +0.082)
// mtfp asserts the same gain at the same budget now that its prototypes are not restarted (2026-12-03,
// the EPYC below, one thread beside another job; seeds 0 / 1, random_init 0.652 /
// 0.622; decoder 64 x 2, lead-wise):
//   restarts every 50 idle steps (the old default): time term 0.951, both prototype terms at log K:
//     0.659; the same without the prototype terms (proto_weight = 0): time 0.904, 0.711
//   no restarts (the default now): time 0.919, beat cross-entropy 2.82 (log 64 = 4.16): 0.732 / 0.672
//     (+0.080 / +0.050); with embeddings centred on the batch mean before assignment: 0.713
// jepa (ECG-JEPA's time blocks, tau from 0.996) needs twice the steps at a lower rate: 100 epochs
// (2,100 steps) at 5e-4: loss 0.101, 0.693 / 0.691 (+0.041 / +0.069), 11-13 min beside another job;
// at 1,050 steps every rate tried stayed within 0.04 of random init (docs/results.md). That case
// passed but exceeds CTest's 600 s limit on 2 shared cores (600 s in CI), so the test runs the
// per-lead variant: 50 epochs at 1e-3, loss 0.082, 0.696 / 0.651 (+0.044 / +0.029).
//
// Measured 2026-12-02 at commit b90a3fd (`lscpu`: "AMD EPYC", 2 vCPUs, AVX-512; OpenBLAS 0.3.21,
// LibTorch 1.13), one intra-op thread, niced under another job; test macro AUROC on the held-out
// site's 150 test records (700 train, 150 val), pretraining seeds 0 / 1, st_mem then at 10 epochs
// with raw targets (normalise_targets = false), jepa and mtfp as in the cases below (random_init's
// weights do not depend on the epochs: its probe scores 0.652 at 3 and 10):
//
//   protocol (task, labels)                 random_init    st_mem 10 ep   jepa 3 ep      mtfp 3 ep
//   linear_probe, 100 %                     0.652 / 0.622  0.613 / 0.582  0.634 / 0.601  0.609 / 0.602
//   attention_probe, 100 %                  0.713 / 0.680  0.728 / 0.641  0.719 / 0.684  0.727 / 0.678
//   finetune full, encoder 0.1x, 10 %       0.496 / 0.495  0.519 / 0.541  -              -
//   finetune full, encoder 1x, 10 %         0.516 / 0.496  0.510 / 0.536  -              -
//   finetune full, encoder 0.1x, 100 %      -              0.565 / -      -              -
//   finetune full, head rate 1e-2, 10 %     not finished   0.510 / -      -              -
//   linear_probe, 10 %                      0.626 / -      0.619 / -      -              -
//
// Gains over random_init: linear probe -0.018 to -0.043 for every method and seed; attention probe
// st_mem +0.015 / -0.039, jepa +0.006 / +0.003, mtfp +0.014 / -0.002 (jepa's is positive at both
// seeds but about a tenth of the sampling error of an AUROC on 150 records, so it is not asserted);
// fine-tuning on 10 % of the labels (70 records) stays near chance for every encoder (validation
// AUROC <= 0.58): st_mem +0.023 / +0.046 with the default encoder rate but -0.005 / +0.040 with the
// encoder at the head's rate, not a gain either. Fine-tuning on all labels (235 s of CPU for one
// cell) scores below the linear probe at the defaults (0.565 for st_mem seed 0); a ten times larger
// head rate (85 s) does not help st_mem, nor does a linear probe on 10 % of the labels (-0.006).
// CPU per cell (one thread): pretraining st_mem 10 epochs 55-64 s, jepa and mtfp 3 epochs 18-24 s
// (64 s for jepa seed 0, the first cell of its process); linear probe 23-29 s,
// attention probe 28-41 s, finetune at 10 % labels 33-99 s (random_init stops later); so a case
// (one method and random_init, seed 0, linear probe) takes about 100-120 s of CPU (user + system).
//
// Every run of this block sat on the plateau. Ten times the pretraining with raw targets (st_mem 100
// epochs, seed 0, 2026-12-02): linear 0.598, attention 0.714 (random_init 0.652, 0.713). Neither on
// the pretraining site itself (st_mem 100 epochs: linear 0.654 vs 0.636, attention 0.696 vs 0.736),
// nor with ST-MEM's 0.67-40 Hz band-pass on both sites (0.624 vs 0.648; with per-lead
// standardisation 0.628 vs 0.648), nor for jepa at 10 / 20 epochs (0.641 / 0.638 vs 0.652):
// docs/results.md.
// Earlier, seed 0 only: st_mem 0.612 with per-patch normalised targets; jepa 0.641 (0.634 in this
// run); mtfp at 3 epochs 0.586 at temperature 0.1, 0.606 at 0.5, 0.594 without the prototype
// terms (proto_weight = 0), 0.579 with normalised targets (0.612 at 6 epochs): its prototype
// cross-entropies stay near log K at this size. jepa took about 5 min at 10 epochs on a loaded
// machine, hence its 3 epochs (mtfp's too: an extra full-view pass and a decoder over all 120 tokens).
#include "support/command.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <random>
#include <string>

namespace fs = std::filesystem;

namespace {

struct MaskedCase {
    std::string name;    ///< test name
    std::string method;  ///< plugin name
    std::string params;  ///< TOML inline-table body
    std::string seeds;   ///< pretraining seeds, a TOML array body
    int epochs;          ///< pretraining epochs
    double rate;         ///< learning rate
    double margin;       ///< required gain in mean test macro AUROC over random_init (negative: a collapse guard)
};

void PrintTo(const MaskedCase& c, std::ostream* out) { *out << c.method << " {" << c.params << "} seeds [" << c.seeds << "]"; }

const MaskedCase kCases[] = {
    {"st_mem", "st_mem", R"(decoder_width = 64, decoder_depth = 2, decoder_heads = 4)", "0", 50, 2e-3, 0.02},
    {"jepa", "jepa", R"(masking = "per_lead", predictor_width = 64, predictor_depth = 2, predictor_heads = 4)", "0", 50, 1e-3, 0.02},
    {"mtfp", "mtfp", R"(decoder_width = 64, decoder_depth = 2, decoder_heads = 4)", "0", 50, 2e-3, 0.02},
};

std::string experiment(const MaskedCase& c) {
    return R"(
[experiment]
name = "masked-)" + c.name + R"("

[[dataset]]
name = "pre"
plugin = "synthetic"
params = { seed = 1, records = 1000, records_per_subject = 3, duration_s = 2.5 }
cache = false

[[dataset]]
name = "heldout"
plugin = "synthetic"
params = { seed = 2, records = 1000, records_per_subject = 2, duration_s = 2.5, site = 1, lowpass_hz = 40.0, snr_db = 20.0, age_mean = 66.0 }
cache = false

[[encoder]]
name = "vit-xs"
plugin = "vit1d"
params = { size = "XS", patch_size = 25 }

[[ssl]]
plugin = ")" + c.method + R"("
params = { )" + c.params + R"( }

[[ssl]]
plugin = "random_init"

[pretrain]
datasets = ["pre"]
seeds = [)" + c.seeds + R"(]
epochs = )" + std::to_string(c.epochs) + R"(
batch_size = 32
learning_rate = )" + std::to_string(c.rate) + R"(

[[evaluation]]
name = "probe"
task = "linear_probe"
datasets = ["heldout"]
)";
}

class MaskedTokenMethods : public ::testing::TestWithParam<MaskedCase> {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("ecgbench-masked-" + std::to_string(std::random_device{}()));
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }
    fs::path dir_;
};

TEST_P(MaskedTokenMethods, PretrainingReachesItsBoundOnAHeldOutSite) {
    const MaskedCase& c = GetParam();
    const std::string toml = (dir_ / "masked.toml").string(), store = (dir_ / "store.db").string();
    std::ofstream(toml) << experiment(c);
    const auto start = std::chrono::steady_clock::now();
    const auto run = test_support::run_command(std::string(ECGBENCH_BINARY_DIR) + "/ecgbench --threads 1 --store " + store + " run --quiet " + toml);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ASSERT_EQ(run.exit_code, 0) << run.output;

    SQLite::Database db(store);
    auto auroc = [&](const std::string& ssl) {
        SQLite::Statement q(db, "SELECT COUNT(*), AVG(value) FROM results WHERE ssl = ? AND metric = 'macro_auroc' AND split = 'test'");
        q.bind(1, ssl);
        q.executeStep();
        EXPECT_GT(q.getColumn(0).getInt(), 0) << "no test macro AUROC for " << ssl;
        return q.getColumn(1).getDouble();
    };
    const double method = auroc(c.method), baseline = auroc("random_init");
    std::cout << c.name << ": mean test macro AUROC " << method << " vs random_init " << baseline << " (" << seconds << " s)\n";
    EXPECT_GE(method - baseline, c.margin) << c.name << " " << method << " vs random_init " << baseline;
}

INSTANTIATE_TEST_SUITE_P(Synthetic, MaskedTokenMethods, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<MaskedCase>& info) { return info.param.name; });

}  // namespace
