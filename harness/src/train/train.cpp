// The shared training loop (ecgbench/train.hpp). Everything that decides the result — the batch
// order, the random draws, the schedule — lives in LibTorch's global generator, the optimiser
// state and the step counter, all of which the resume state holds; so a resumed run continues
// bit-for-bit where the interrupted one stopped (on the CPU).
#include "ecgbench/train.hpp"

#include "ecgbench/ema.hpp"

#include "train/batch_loader.hpp"
#include "train/data_parallel.hpp"

#include <ATen/autocast_mode.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/cuda.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>
#include <torch/serialize.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>

namespace ecgbench {
namespace fs = std::filesystem;

namespace {

double scheduled_lr(const TrainOptions& options, std::int64_t step, std::int64_t total) {
    const auto warmup = static_cast<std::int64_t>(options.warmup_fraction * static_cast<double>(total));
    if (step < warmup) return options.learning_rate * static_cast<double>(step + 1) / static_cast<double>(warmup);
    const double progress = static_cast<double>(step - warmup) / static_cast<double>(std::max<std::int64_t>(1, total - warmup));
    return options.learning_rate * 0.5 * (1.0 + std::cos(M_PI * progress));
}

// One optimiser parameter group per TrainGroup (in order), so each can get its own rate.
std::unique_ptr<torch::optim::Optimizer> make_optimizer(const std::vector<std::vector<at::Tensor>>& groups, const TrainOptions& o) {
    auto param_groups = [&](const auto& defaults) {
        std::vector<torch::optim::OptimizerParamGroup> out;
        for (const auto& params : groups)
            out.emplace_back(params, std::make_unique<std::decay_t<decltype(defaults)>>(defaults));
        return out;
    };
    if (o.optimizer == "adamw") {
        const auto defaults = torch::optim::AdamWOptions(o.learning_rate).weight_decay(o.weight_decay);
        return std::make_unique<torch::optim::AdamW>(param_groups(defaults), defaults);
    }
    if (o.optimizer == "sgd") {
        const auto defaults = torch::optim::SGDOptions(o.learning_rate).momentum(o.momentum).weight_decay(o.weight_decay);
        return std::make_unique<torch::optim::SGD>(param_groups(defaults), defaults);
    }
    throw std::invalid_argument("optimizer must be \"adamw\" or \"sgd\", got \"" + o.optimizer + "\"");
}

/// Enables autocast for the loss computation when bf16 is asked for; restores the state after.
class AutocastScope {
public:
    AutocastScope(bool enabled, bool cuda) : enabled_(enabled), cuda_(cuda) {
        if (!enabled_) return;
        if (cuda_) {
            previous_ = at::autocast::is_enabled();
            at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
            at::autocast::set_enabled(true);
        } else {
            previous_ = at::autocast::is_cpu_enabled();
            at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
            at::autocast::set_cpu_enabled(true);
        }
        at::autocast::increment_nesting();
    }
    ~AutocastScope() {
        if (!enabled_) return;
        if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
        if (cuda_) at::autocast::set_enabled(previous_);
        else at::autocast::set_cpu_enabled(previous_);
    }
    AutocastScope(const AutocastScope&) = delete;
    AutocastScope& operator=(const AutocastScope&) = delete;

private:
    bool enabled_, cuda_, previous_ = false;
};

std::string encode_epochs(const std::vector<EpochSummary>& epochs) {
    std::ostringstream out;
    out.precision(17);
    for (const auto& e : epochs) {
        out << e.epoch << ' ' << e.steps << ' ' << e.loss;
        for (const auto& [name, value] : e.terms) out << ' ' << name << '=' << value;
        out << '\n';
    }
    return out.str();
}

std::vector<EpochSummary> decode_epochs(const std::string& text) {
    std::vector<EpochSummary> epochs;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        EpochSummary e;
        fields >> e.epoch >> e.steps >> e.loss;
        std::string term;
        while (fields >> term) {
            const auto eq = term.rfind('=');
            e.terms[term.substr(0, eq)] = std::stod(term.substr(eq + 1));
        }
        epochs.push_back(std::move(e));
    }
    return epochs;
}

/// The state of the loop between two steps.
struct LoopState {
    std::int64_t step = 0;        ///< steps completed
    std::int64_t epoch = 0;       ///< 0-based epoch in progress
    at::Tensor order;             ///< that epoch's row order
    double loss_sum = 0;          ///< over that epoch's completed steps
    std::int64_t epoch_steps = 0;
    std::map<std::string, double> term_sums;
    std::vector<EpochSummary> finished;
};

at::Tensor scalar_tensor(double v) { return torch::tensor(v, torch::kDouble); }
at::Tensor scalar_tensor(std::int64_t v) { return torch::tensor(v, torch::kLong); }

void save_state(const std::string& path, const std::vector<torch::nn::Module*>& modules, torch::optim::Optimizer& optimizer,
                const std::vector<at::Tensor>& ema, const LoopState& s, std::int64_t total, std::int64_t records) {
    torch::serialize::OutputArchive archive;
    for (std::size_t i = 0; i < modules.size(); ++i) {
        torch::serialize::OutputArchive sub;
        modules[i]->save(sub);
        archive.write("module" + std::to_string(i), sub);
    }
    torch::serialize::OutputArchive opt;
    optimizer.save(opt);
    archive.write("optimizer", opt);
    for (std::size_t i = 0; i < ema.size(); ++i) archive.write("ema" + std::to_string(i), ema[i], /*is_buffer=*/true);
    archive.write("step", scalar_tensor(s.step), true);
    archive.write("epoch", scalar_tensor(s.epoch), true);
    archive.write("total", scalar_tensor(total), true);
    archive.write("records", scalar_tensor(records), true);
    archive.write("order", s.order.defined() ? s.order : torch::empty({0}, torch::kLong), true);  // empty: between epochs
    archive.write("loss_sum", scalar_tensor(s.loss_sum), true);
    archive.write("epoch_steps", scalar_tensor(s.epoch_steps), true);
    std::ostringstream terms;
    terms.precision(17);
    for (const auto& [name, value] : s.term_sums) terms << name << '=' << value << '\n';
    archive.write("term_sums", c10::IValue(terms.str()));
    archive.write("finished", c10::IValue(encode_epochs(s.finished)));
    {
        auto generator = at::detail::getDefaultCPUGenerator();
        std::lock_guard<std::mutex> lock(generator.mutex());
        archive.write("cpu_rng", generator.get_state(), true);
    }
    fs::create_directories(fs::path(path).parent_path());
    const std::string partial = path + ".partial";
    archive.save_to(partial);
    fs::rename(partial, path);  // a kill mid-write never leaves a torn state under the final name
}

/// The step a state file written by save_state resumes at, or nullopt when it does not match this
/// run's shape.
std::optional<std::int64_t> resumable_step(const std::string& path, std::int64_t total, std::int64_t records) {
    torch::serialize::InputArchive archive;
    archive.load_from(path);
    at::Tensor t;
    archive.read("total", t, true);
    if (t.item<std::int64_t>() != total) return std::nullopt;
    at::Tensor r;
    archive.read("records", r, true);
    if (r.item<std::int64_t>() != records) return std::nullopt;
    at::Tensor step;
    archive.read("step", step, true);
    return step.item<std::int64_t>();
}

// --- data parallelism: what every rank must agree on, exchanged through the group ---

/// Rank 0's value of `tensor` on every rank (any device; the exchange goes through the CPU).
void broadcast_from_rank0(DataParallel& dp, const at::Tensor& tensor) {
    at::Tensor cpu = tensor.detach().to(torch::kCPU).contiguous();
    dp.broadcast(cpu, 0);
    tensor.detach().copy_(cpu);
}

/// Every rank's `value`, in rank order.
std::vector<std::int64_t> all_gather(DataParallel& dp, std::int64_t value) {
    at::Tensor slots = torch::zeros({dp.world_size()}, torch::kLong);
    slots[dp.rank()] = value;
    dp.all_reduce_sum(slots);
    return std::vector<std::int64_t>(slots.data_ptr<std::int64_t>(), slots.data_ptr<std::int64_t>() + slots.numel());
}

/// Rank 0's epoch order on every rank (the others pass an undefined tensor).
at::Tensor share_order(DataParallel& dp, const at::Tensor& order) {
    at::Tensor length = torch::tensor({order.defined() ? order.numel() : std::int64_t{0}}, torch::kLong);
    dp.broadcast(length, 0);
    at::Tensor shared = dp.rank() == 0 ? order.to(torch::kLong).contiguous() : torch::empty({length.item<std::int64_t>()}, torch::kLong);
    dp.broadcast(shared, 0);
    return shared;
}

/// One step's exchange: gradients averaged over the ranks (a parameter no rank has a gradient for
/// keeps none, as in one process), the loss and its terms averaged (equal local batches, so this
/// is the global batch's mean), and whether any rank was asked to stop.
struct ReducedStep {
    double loss = 0;
    std::map<std::string, double> terms;
    bool stop = false;
};

ReducedStep reduce_step(DataParallel& dp, const std::vector<at::Tensor>& params, double loss,
                        const std::map<std::string, at::Tensor>& terms, bool stop) {
    const double ranks = dp.world_size();
    std::vector<at::Tensor> grads;
    std::vector<double> stats;  // per parameter: has a gradient; then loss, terms, stop
    for (const auto& p : params) {
        const at::Tensor& g = p.grad();
        stats.push_back(g.defined() ? 1.0 : 0.0);
        grads.push_back(g.defined() ? g.detach().to(torch::kCPU, torch::kFloat).reshape({-1}) : torch::zeros({p.numel()}, torch::kFloat));
    }
    stats.push_back(loss);
    for (const auto& [name, term] : terms) stats.push_back(term.detach().to(torch::kDouble).item<double>());
    stats.push_back(stop ? 1.0 : 0.0);
    at::Tensor flat = torch::cat(grads);
    at::Tensor numbers = torch::tensor(stats, torch::kDouble);
    dp.all_reduce_sum(flat);
    dp.all_reduce_sum(numbers);
    const double* n = numbers.data_ptr<double>();
    std::int64_t offset = 0;
    for (std::size_t i = 0; i < params.size(); ++i) {
        at::Tensor p = params[i];
        const std::int64_t size = p.numel();
        if (n[i] > 0) p.mutable_grad() = flat.slice(0, offset, offset + size).view(p.sizes()).div(ranks).to(p.options());
        offset += size;
    }
    ReducedStep out;
    std::size_t k = params.size();
    out.loss = n[k++] / ranks;
    for (const auto& [name, term] : terms) out.terms[name] = n[k++] / ranks;
    out.stop = n[k] > 0;
    return out;
}

/// Restores the state written by save_state; false (and nothing changed) when the file does not
/// match this run's shape.
bool load_state(const std::string& path, const std::vector<torch::nn::Module*>& modules, torch::optim::Optimizer& optimizer,
                std::vector<at::Tensor>& ema, LoopState& s, std::int64_t total, std::int64_t records) {
    torch::serialize::InputArchive archive;
    archive.load_from(path);
    // A fresh tensor per key: reading into a defined tensor would reuse it (and its dtype).
    auto read = [&](const std::string& key) {
        at::Tensor t;
        archive.read(key, t, /*is_buffer=*/true);
        return t;
    };
    if (read("total").item<std::int64_t>() != total || read("records").item<std::int64_t>() != records) return false;
    for (std::size_t i = 0; i < modules.size(); ++i) {
        torch::serialize::InputArchive sub;
        archive.read("module" + std::to_string(i), sub);
        modules[i]->load(sub);
    }
    torch::serialize::InputArchive opt;
    archive.read("optimizer", opt);
    optimizer.load(opt);
    for (std::size_t i = 0; i < ema.size(); ++i) ema[i].copy_(read("ema" + std::to_string(i)));
    s.step = read("step").item<std::int64_t>();
    s.epoch = read("epoch").item<std::int64_t>();
    s.order = read("order");
    if (s.order.numel() == 0) s.order = at::Tensor();
    s.loss_sum = read("loss_sum").item<double>();
    s.epoch_steps = read("epoch_steps").item<std::int64_t>();
    c10::IValue text;
    archive.read("term_sums", text);
    std::istringstream terms(text.toStringRef());
    std::string line;
    while (std::getline(terms, line)) {
        const auto eq = line.rfind('=');
        s.term_sums[line.substr(0, eq)] = std::stod(line.substr(eq + 1));
    }
    archive.read("finished", text);
    s.finished = decode_epochs(text.toStringRef());
    const at::Tensor rng = read("cpu_rng");
    auto generator = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(generator.mutex());
    generator.set_state(rng);
    return true;
}

}  // namespace

std::string resolve_device(const std::string& requested) {
    if (requested == "auto") return torch::cuda::is_available() ? "cuda" : "cpu";
    if (requested.rfind("cuda", 0) == 0 && !torch::cuda::is_available())
        throw std::invalid_argument("device = \"" + requested + "\" but this LibTorch build sees no CUDA device");
    return requested;
}

bool cpu_has_bf16() {
    std::ifstream cpuinfo("/proc/cpuinfo");
    std::string line;
    while (std::getline(cpuinfo, line)) {
        if (line.rfind("flags", 0) != 0) continue;
        std::istringstream flags(line.substr(line.find(':') + 1));
        std::string flag;
        while (flags >> flag)
            if (flag == "avx512_bf16" || flag == "amx_bf16") return true;
        return false;
    }
    return false;
}

void check_precision(const std::string& precision, const std::string& device) {
    if (precision == "fp32") return;
    if (precision != "bf16") throw std::invalid_argument("precision must be \"fp32\" or \"bf16\", got \"" + precision + "\"");
    if (device.rfind("cuda", 0) == 0) return;
    if (!cpu_has_bf16())
        throw std::invalid_argument("precision = \"bf16\" on the CPU needs AVX512-BF16 or AMX-BF16, which this CPU lacks "
                                    "(emulated bf16 is slower than fp32); use precision = \"fp32\" or a CUDA device");
}

std::int64_t planned_steps(std::int64_t records, const TrainOptions& options) {
    const std::int64_t batch = std::min(options.batch_size, records);
    if (batch < 1) return 0;
    std::int64_t total = (records / batch) * options.epochs;
    if (options.max_steps > 0) total = std::min(total, options.max_steps);
    return total;
}

Batch gather_batch(const EcgSplit& data, const at::Tensor& rows) {
    EcgSplit picked = subset(data, rows);
    Batch out;
    out.signals = std::move(picked.signals);
    out.lead_present = std::move(picked.lead_present);
    out.labels = std::move(picked.labels);
    out.subjects = std::move(picked.subjects);
    out.rows = rows;
    out.source_records = picked.source_records.defined() ? std::move(picked.source_records) : rows;
    out.record_ids = std::move(picked.record_ids);
    out.texts = std::move(picked.texts);
    out.covariates = std::move(picked.covariates);
    return out;
}

Batch to_device(const Batch& batch, const c10::Device& device) {
    if (device.is_cpu()) return batch;
    Batch out = batch;
    auto move = [&](at::Tensor& t) {
        if (t.defined()) t = t.to(device, /*non_blocking=*/true);
    };
    move(out.signals);
    move(out.lead_present);
    move(out.labels);
    move(out.subjects);
    move(out.rows);
    move(out.source_records);
    for (auto& [name, values] : out.covariates) move(values);
    return out;
}

TrainReport train(const std::vector<torch::nn::Module*>& modules, const EcgSplit& data, const LossFn& loss_fn,
                  const TrainOptions& options, const TrainHooks& hooks) {
    std::vector<TrainGroup> groups;
    for (auto* m : modules) groups.push_back({m, 1.0});
    return train(groups, data, loss_fn, options, hooks);
}

TrainReport train(const std::vector<TrainGroup>& groups, const EcgSplit& data, const LossFn& loss_fn, const TrainOptions& options,
                  const TrainHooks& hooks) {
    const torch::Device device(options.device);
    check_precision(options.precision, options.device);
    const std::int64_t n = data.size();
    if (n < 2) throw std::invalid_argument("training needs at least 2 records, the split has " + std::to_string(n));
    if (options.batch_size < 1) throw std::invalid_argument("batch_size must be >= 1");
    // Contrastive losses and BatchNorm need full batches: drop the ragged tail unless it is all we have.
    const std::int64_t batch = std::min(options.batch_size, n);
    const std::int64_t total = planned_steps(n, options);
    DataParallel* dp = options.data_parallel && options.data_parallel->world_size() > 1 ? options.data_parallel : nullptr;
    const std::int64_t ranks = dp ? dp->world_size() : 1;
    if (batch % ranks != 0)
        throw std::invalid_argument("batch_size " + std::to_string(batch) + " does not divide over " + std::to_string(ranks) +
                                    " data-parallel processes");
    const std::int64_t local_batch = batch / ranks;

    std::vector<torch::nn::Module*> modules;
    std::vector<at::Tensor> params;                  // every trained parameter, group after group
    std::vector<std::vector<at::Tensor>> group_params;
    std::vector<double> lr_scales;                   // per optimiser parameter group
    for (const auto& group : groups) {
        if (!group.module) throw std::invalid_argument("training: a train group has no module");
        if (!(group.lr_scale > 0)) throw std::invalid_argument("training: a train group's lr_scale must be positive");
        modules.push_back(group.module);
        std::vector<at::Tensor> trained;
        for (auto& p : group.module->parameters())
            if (p.requires_grad()) trained.push_back(p);
        if (trained.empty()) continue;  // a frozen module: nothing to optimise
        params.insert(params.end(), trained.begin(), trained.end());
        group_params.push_back(std::move(trained));
        lr_scales.push_back(group.lr_scale);
    }
    if (params.empty()) throw std::invalid_argument("training: no parameter requires a gradient");
    auto optimizer = make_optimizer(group_params, options);
    std::vector<at::Tensor> ema;
    if (options.ema_decay > 0) {
        torch::NoGradGuard no_grad;
        for (auto& p : params) ema.push_back(p.detach().clone());
    }

    for (auto* m : modules) m->train();
    LoopState state;
    TrainReport report;
    const bool can_resume = !options.resume_path.empty();
    // Each rank keeps its own resume state (its random stream differs); they resume only together.
    const std::string resume_file =
        dp && dp->rank() > 0 ? options.resume_path + ".rank" + std::to_string(dp->rank()) : options.resume_path;
    try {
        std::int64_t resume_at = -1;
        if (can_resume && fs::exists(resume_file)) resume_at = resumable_step(resume_file, total, n).value_or(-1);
        if (dp) {
            const auto steps = all_gather(*dp, resume_at);
            if (std::any_of(steps.begin(), steps.end(), [&](std::int64_t s) { return s != steps.front(); })) resume_at = -1;
        }
        if (resume_at >= 0 && load_state(resume_file, modules, *optimizer, ema, state, total, n)) report.resumed_from_step = state.step;
    } catch (const std::exception& e) {
        throw std::runtime_error("cannot resume from " + resume_file + ": " + e.what() + " (delete the file to start the cell afresh)");
    }
    std::vector<at::Tensor> buffers;
    if (dp) {
        // Every rank starts from rank 0's weights; the ranks' random streams (augmentations,
        // masks) must differ, or each would draw the same views for different records.
        torch::NoGradGuard no_grad;
        for (auto* m : modules) {
            for (auto& p : m->parameters()) broadcast_from_rank0(*dp, p);
            for (auto& b : m->buffers()) buffers.push_back(b);
        }
        for (auto& b : buffers) broadcast_from_rank0(*dp, b);
        if (dp->rank() > 0 && report.resumed_from_step == 0) {
            auto generator = at::detail::getDefaultCPUGenerator();
            std::lock_guard<std::mutex> lock(generator.mutex());
            generator.set_current_seed(generator.current_seed() ^ (0x9E3779B97F4A7C15ULL * static_cast<std::uint64_t>(dp->rank())));
        }
    }
    const auto start = std::chrono::steady_clock::now();
    const bool autocast = options.precision == "bf16";
    LoaderOptions loader_options{options.loader_workers, options.prefetch, /*pin_memory=*/device.is_cuda()};

    while (state.step < total) {
        std::int64_t done_in_epoch = state.epoch_steps;
        if (!state.order.defined()) {
            // A fresh epoch: the method's composition, else a shuffle of the global generator.
            // With several ranks, rank 0 draws it and the others take it from there.
            at::Tensor order;
            if (!dp || dp->rank() == 0) {
                if (hooks.epoch_order) order = hooks.epoch_order(state.epoch + 1);
                if (!order.defined()) order = torch::randperm(n, torch::kLong);
            }
            if (dp) order = share_order(*dp, order);
            if (order.dim() != 1 || order.numel() < batch)
                throw std::invalid_argument("epoch order for epoch " + std::to_string(state.epoch + 1) + " has " +
                                            std::to_string(order.numel()) + " rows, fewer than one batch");
            state.order = order.to(torch::kLong).contiguous();
            done_in_epoch = 0;
        }
        const std::int64_t epoch_batches = state.order.numel() / batch;
        const std::int64_t remaining = std::min(epoch_batches - done_in_epoch, total - state.step);
        const std::int64_t batches = std::max<std::int64_t>(0, remaining);
        at::Tensor rows = state.order.slice(0, done_in_epoch * batch, (done_in_epoch + batches) * batch);
        // Rank r trains on the r-th slice of every global batch.
        if (dp) rows = rows.view({batches, ranks, local_batch}).select(1, dp->rank()).reshape({-1});
        BatchLoader loader(data, rows, local_batch, batches, loader_options);
        for (std::int64_t b = 0; b < remaining; ++b) {
            const bool stop_asked = hooks.stop && hooks.stop->load();
            if (stop_asked && !dp) throw Interrupted();  // ranks stop together, after the exchange below
            const Batch on_device = to_device(loader.next(), device);
            const double lr = scheduled_lr(options, state.step, total);
            for (std::size_t g = 0; g < lr_scales.size(); ++g) optimizer->param_groups()[g].options().set_lr(lr * lr_scales[g]);
            // Drop gradients instead of zero-filling them (PyTorch's set_to_none): backward then
            // writes fresh buffers rather than accumulating into zeroed ones.
            for (auto& p : params) p.mutable_grad().reset();
            Loss loss;
            {
                AutocastScope scope(autocast, device.is_cuda());
                loss = loss_fn(on_device);
            }
            if (!loss.total.defined() || loss.total.numel() != 1)
                throw std::invalid_argument("the loss must be a defined scalar tensor");
            double value = loss.total.item<double>();
            auto require_finite_loss = [&] {
                if (!std::isfinite(value))
                    throw std::runtime_error("loss became " + std::to_string(value) + " at epoch " + std::to_string(state.epoch + 1) +
                                             ", step " + std::to_string(state.step + 1) + " (lower the learning rate?)");
            };
            if (!dp) require_finite_loss();
            loss.total.backward();
            std::map<std::string, double> terms;
            if (dp) {
                ReducedStep reduced = reduce_step(*dp, params, value, loss.terms, stop_asked);
                if (reduced.stop) throw Interrupted();
                value = reduced.loss;
                terms = std::move(reduced.terms);
                require_finite_loss();
            } else {
                for (const auto& [name, term] : loss.terms) terms[name] = term.detach().to(torch::kDouble).item<double>();
            }
            if (options.grad_clip_norm > 0) torch::nn::utils::clip_grad_norm_(params, options.grad_clip_norm);
            optimizer->step();
            if (dp) {
                // Buffers (BatchNorm statistics) follow rank 0, as DistributedDataParallel's do.
                torch::NoGradGuard no_grad;
                for (auto& b : buffers) broadcast_from_rank0(*dp, b);
            }
            ++state.step;
            if (!ema.empty()) ema_update(params, ema, options.ema_decay, "training weight EMA");
            for (const auto& [name, value] : terms) state.term_sums[name] += value;
            state.loss_sum += value;
            ++state.epoch_steps;
            if (hooks.on_step_end) hooks.on_step_end({state.step, total, state.epoch + 1, lr});
            if (hooks.on_progress) {
                const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
                hooks.on_progress({state.epoch + 1, options.epochs, state.step, total, value, terms, lr, elapsed});
            }
            const bool epoch_over = b + 1 == remaining && done_in_epoch + b + 1 == epoch_batches;
            if (epoch_over || state.step == total) {
                EpochSummary summary{state.epoch + 1, state.epoch_steps, state.loss_sum / static_cast<double>(state.epoch_steps), {}};
                for (const auto& [name, sum] : state.term_sums) summary.terms[name] = sum / static_cast<double>(state.epoch_steps);
                state.finished.push_back(std::move(summary));
                state.order = at::Tensor();
                state.loss_sum = 0;
                state.epoch_steps = 0;
                state.term_sums.clear();
                ++state.epoch;
                if (hooks.on_epoch_end) {
                    const bool go_on = hooks.on_epoch_end(state.finished.back());
                    for (auto* m : modules) m->train();
                    if (!go_on && state.step < total) {
                        report.stopped_early = true;
                        break;
                    }
                }
            }
            if (can_resume && options.checkpoint_every > 0 && state.step % options.checkpoint_every == 0 && state.step < total)
                save_state(resume_file, modules, *optimizer, ema, state, total, n);
        }
        if (remaining <= 0) break;  // an order shorter than a batch already failed above; never spin
        if (report.stopped_early) break;
    }
    if (!ema.empty()) {
        torch::NoGradGuard no_grad;
        for (std::size_t i = 0; i < ema.size(); ++i) params[i].copy_(ema[i]);
    }
    for (auto* m : modules) m->eval();
    if (can_resume) fs::remove(resume_file);
    report.steps = state.step;
    report.epochs = state.finished;
    if (!report.epochs.empty()) {
        report.final_loss = report.epochs.back().loss;
        report.final_terms = report.epochs.back().terms;
    }
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const std::int64_t trained = state.step - report.resumed_from_step;
    report.samples_per_second = report.seconds > 0 ? static_cast<double>(trained * batch) / report.seconds : 0;
    return report;
}

}  // namespace ecgbench
