#include "train/data_parallel.hpp"

#if ECGBENCH_HAVE_GLOO
#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <thread>

namespace ecgbench {

namespace {

std::optional<int> int_from_environment(const char* name) {
    const char* text = std::getenv(name);
    if (!text || !*text) return std::nullopt;
    try {
        std::size_t used = 0;
        const int value = std::stoi(text, &used);
        if (used == std::string(text).size() && value >= 0) return value;
    } catch (const std::exception&) {
    }
    throw std::invalid_argument(std::string("environment variable ") + name + " must be a non-negative integer, got \"" +
                                text + "\"");
}

}  // namespace

std::optional<Rendezvous> rendezvous_from_environment(const std::string& shared_dir) {
    Rendezvous r;
    if (const auto world = int_from_environment("ECGBENCH_WORLD_SIZE")) {
        const auto rank = int_from_environment("ECGBENCH_RANK");
        const char* file = std::getenv("ECGBENCH_RENDEZVOUS");
        if (!rank || !file || !*file)
            throw std::invalid_argument("ECGBENCH_WORLD_SIZE is set, so ECGBENCH_RANK and ECGBENCH_RENDEZVOUS must be too");
        r.world_size = *world;
        r.rank = *rank;
        r.file = file;
        r.loopback = true;
    } else if (const auto ntasks = int_from_environment("SLURM_NTASKS")) {
        const auto rank = int_from_environment("SLURM_PROCID");
        if (!rank) throw std::invalid_argument("SLURM_NTASKS is set but SLURM_PROCID is not (run under srun)");
        const char* job = std::getenv("SLURM_JOB_ID");
        const char* step = std::getenv("SLURM_STEP_ID");
        r.world_size = *ntasks;
        r.rank = *rank;
        r.file = (std::filesystem::path(shared_dir) / "rendezvous" /
                  (std::string(job ? job : "job") + "." + (step ? step : "0")))
                     .string();
        std::filesystem::create_directories(std::filesystem::path(r.file).parent_path());
    } else {
        return std::nullopt;
    }
    if (r.world_size < 1 || r.rank >= r.world_size)
        throw std::invalid_argument("data-parallel rank " + std::to_string(r.rank) + " is outside a world of " +
                                    std::to_string(r.world_size) + " processes");
    return r;
}

#if ECGBENCH_HAVE_GLOO

struct DataParallel::Impl {
    c10::intrusive_ptr<c10d::Store> store;
    c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
};

DataParallel::DataParallel(const Rendezvous& rendezvous, int timeout_s)
    : impl_(std::make_unique<Impl>()), rank_(rendezvous.rank), world_size_(rendezvous.world_size) {
    const std::chrono::milliseconds timeout(std::int64_t{timeout_s} * 1000);
    auto file_store = c10::make_intrusive<c10d::FileStore>(rendezvous.file, world_size_);
    file_store->setTimeout(timeout);
    impl_->store = file_store;
    auto options = c10d::ProcessGroupGloo::Options::create(timeout);
    options->devices.push_back(rendezvous.loopback ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
                                                   : c10d::ProcessGroupGloo::createDefaultDevice());
    // The group's own keys under a prefix, so they never meet the runner's messages.
    impl_->group = c10::make_intrusive<c10d::ProcessGroupGloo>(c10::make_intrusive<c10d::PrefixStore>("gloo", impl_->store), rank_,
                                                               world_size_, options);
}

DataParallel::~DataParallel() = default;

void DataParallel::all_reduce_sum(at::Tensor& tensor) {
    std::vector<at::Tensor> tensors{tensor};
    impl_->group->allreduce(tensors)->wait();
}

void DataParallel::broadcast(at::Tensor& tensor, int root) {
    std::vector<at::Tensor> tensors{tensor};
    c10d::BroadcastOptions options;
    options.rootRank = root;
    impl_->group->broadcast(tensors, options)->wait();
}

void DataParallel::post(const std::string& message) {
    impl_->store->set("message/" + std::to_string(posted_++), std::vector<std::uint8_t>(message.begin(), message.end()));
}

std::string DataParallel::next_message(const std::atomic<bool>* stop) {
    const std::string key = "message/" + std::to_string(read_);
    // Rank 0 may spend hours on evaluations between two pretraining cells: poll instead of one
    // blocking wait that would time out.
    while (!impl_->store->check({key})) {
        if (stop && stop->load()) return "";
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    ++read_;
    const auto bytes = impl_->store->get(key);
    return std::string(bytes.begin(), bytes.end());
}

#else  // a LibTorch without c10d Gloo: everything but the group itself still builds and runs

struct DataParallel::Impl {};

DataParallel::DataParallel(const Rendezvous&, int) {
    throw std::runtime_error("data-parallel training needs LibTorch's c10d Gloo backend, which this build lacks "
                             "(Debian: install libgloo-dev and reconfigure)");
}
DataParallel::~DataParallel() = default;
void DataParallel::all_reduce_sum(at::Tensor&) {}
void DataParallel::broadcast(at::Tensor&, int) {}
void DataParallel::post(const std::string&) {}
std::string DataParallel::next_message(const std::atomic<bool>*) { return ""; }

#endif

}  // namespace ecgbench
