#include "runner/pretrain.hpp"

#include "runner/batch_loader.hpp"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <filesystem>

namespace ecgbench {

namespace {

double scheduled_lr(const TrainBudget& budget, std::int64_t step, std::int64_t total) {
    const auto warmup = static_cast<std::int64_t>(budget.warmup_fraction * static_cast<double>(total));
    if (step < warmup) return budget.learning_rate * static_cast<double>(step + 1) / static_cast<double>(warmup);
    const double progress = static_cast<double>(step - warmup) / static_cast<double>(std::max<std::int64_t>(1, total - warmup));
    return budget.learning_rate * 0.5 * (1.0 + std::cos(M_PI * progress));
}

}  // namespace

TrainReport pretrain(Encoder& encoder, SslMethod& method, const EcgSplit& data, const TrainBudget& budget,
                     const std::string& device_name, const TrainHooks& hooks) {
    const torch::Device device(device_name);
    const std::int64_t n = data.size();
    if (n < 2) throw std::invalid_argument("pretraining needs at least 2 records, the dataset has " + std::to_string(n));
    // Contrastive losses and BatchNorm need full batches: drop the ragged tail unless it is all we have.
    const std::int64_t batch = std::min(budget.batch_size, n);
    const std::int64_t steps_per_epoch = n / batch;
    std::int64_t total = steps_per_epoch * budget.epochs;
    if (budget.max_steps > 0) total = std::min(total, budget.max_steps);

    std::vector<torch::Tensor> params = encoder.parameters();
    for (auto& p : method.parameters()) params.push_back(p);
    torch::optim::AdamW optimizer(params, torch::optim::AdamWOptions(budget.learning_rate).weight_decay(budget.weight_decay));

    encoder.train();
    method.train(true);
    TrainReport report;
    const auto start = std::chrono::steady_clock::now();
    double epoch_loss = 0;
    std::int64_t step = 0;
    for (std::int64_t epoch = 0; epoch < budget.epochs && step < total; ++epoch) {
        // Batches are gathered (and checked for NaN) on loader threads, ahead of the step.
        BatchLoader loader(data, torch::randperm(n, torch::kLong), batch,
                           std::min(steps_per_epoch, total - step), budget.loader);
        epoch_loss = 0;
        std::int64_t epoch_steps = 0;
        for (std::int64_t b = 0; b < steps_per_epoch && step < total; ++b, ++step) {
            if (hooks.stop && hooks.stop->load()) throw Interrupted();
            const HostBatch host = loader.next();
            Batch batch_on_device{host.signals.to(device), host.lead_present.to(device), host.labels.to(device),
                                  host.subjects.to(device)};

            for (auto& group : optimizer.param_groups())
                static_cast<torch::optim::AdamWOptions&>(group.options()).lr(scheduled_lr(budget, step, total));
            // Drop gradients instead of zero-filling them (PyTorch's set_to_none): backward then
            // writes fresh buffers rather than accumulating into zeroed ones.
            for (auto& p : params) p.mutable_grad().reset();
            auto loss = method.loss(encoder, batch_on_device);
            const double value = loss.item<double>();
            if (!std::isfinite(value))
                throw std::runtime_error("loss became " + std::to_string(value) + " at epoch " + std::to_string(epoch + 1) +
                                         ", step " + std::to_string(step + 1) + " (lower the learning rate?)");
            loss.backward();
            optimizer.step();
            epoch_loss += value;
            ++epoch_steps;
            if (hooks.on_step) {
                const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
                hooks.on_step({epoch + 1, budget.epochs, step + 1, total, value, elapsed});
            }
        }
        if (epoch_steps) epoch_loss /= static_cast<double>(epoch_steps);
    }
    encoder.eval();
    method.train(false);
    report.steps = step;
    report.final_loss = epoch_loss;
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    report.samples_per_second = report.seconds > 0 ? static_cast<double>(step * batch) / report.seconds : 0;
    return report;
}

void save_encoder(Encoder& encoder, const std::string& path) {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    // Write then rename: a kill mid-write never leaves a truncated checkpoint under the final name.
    const std::string partial = path + ".partial";
    torch::serialize::OutputArchive archive;
    encoder.save(archive);
    archive.save_to(partial);
    std::filesystem::rename(partial, path);
}

void load_encoder(Encoder& encoder, const std::string& path) {
    torch::serialize::InputArchive archive;
    try {
        archive.load_from(path);
        encoder.load(archive);
    } catch (const std::exception& e) {
        throw std::runtime_error("cannot load checkpoint " + path + ": " + e.what());
    }
}

}  // namespace ecgbench
