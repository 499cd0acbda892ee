// The one training loop every SSL method shares: AdamW, linear warm-up then cosine decay, shuffled
// batches gathered ahead on loader threads (batch_loader.hpp), a NaN guard on data and loss,
// cooperative interruption and checkpoint save/load. Methods only provide heads and a loss (ssl.hpp).
#pragma once

#include "ecgbench/dataset.hpp"
#include "ecgbench/encoder.hpp"
#include "ecgbench/ssl.hpp"
#include "runner/batch_loader.hpp"

#include <atomic>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>

namespace ecgbench {

/// Thrown when a stop was requested (Ctrl-C, SIGTERM) between steps.
class Interrupted : public std::runtime_error {
public:
    Interrupted() : std::runtime_error("interrupted") {}
};

struct TrainBudget {
    std::int64_t epochs = 10;
    std::int64_t batch_size = 64;
    std::int64_t max_steps = 0;   ///< 0 = epochs decide
    double learning_rate = 1e-3;
    double weight_decay = 1e-4;
    double warmup_fraction = 0.05;
    LoaderOptions loader;         ///< how batches are gathered (never changes the result)
};

struct TrainReport {
    std::int64_t steps = 0;
    double final_loss = 0;       ///< mean loss of the last epoch
    double seconds = 0;
    double samples_per_second = 0;
};

/// Progress of one step, for display.
struct StepInfo {
    std::int64_t epoch, epochs, step, total_steps;
    double loss, seconds_elapsed;
};

struct TrainHooks {
    std::function<void(const StepInfo&)> on_step;   ///< after every step
    const std::atomic<bool>* stop = nullptr;        ///< checked before every step
};

/// Optimises encoder + method heads on `data` (already on CPU; batches moved to `device`).
TrainReport pretrain(Encoder& encoder, SslMethod& method, const EcgSplit& data, const TrainBudget& budget,
                     const std::string& device, const TrainHooks& hooks);

/// Saves the encoder's parameters and buffers to `path` (LibTorch archive; parent dirs created).
void save_encoder(Encoder& encoder, const std::string& path);
/// Loads what save_encoder wrote into an encoder of the same architecture. Throws naming the path.
void load_encoder(Encoder& encoder, const std::string& path);

}  // namespace ecgbench
