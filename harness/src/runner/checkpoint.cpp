#include "runner/checkpoint.hpp"

#include <torch/serialize.h>

#include <filesystem>

namespace ecgbench {

void save_checkpoint(Encoder& encoder, SslMethod* method, const std::string& path) {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    // Write then rename: a kill mid-write never leaves a truncated checkpoint under the final name.
    const std::string partial = path + ".partial";
    torch::serialize::OutputArchive archive, encoder_part;
    encoder.save(encoder_part);
    archive.write("encoder", encoder_part);
    if (method && (!method->parameters().empty() || !method->buffers().empty())) {
        torch::serialize::OutputArchive method_part;
        method->save(method_part);
        archive.write("method", method_part);
    }
    archive.save_to(partial);
    std::filesystem::rename(partial, path);
}

void load_encoder(Encoder& encoder, const std::string& path) {
    torch::serialize::InputArchive archive;
    try {
        archive.load_from(path);
        torch::serialize::InputArchive encoder_part;
        if (archive.try_read("encoder", encoder_part)) encoder.load(encoder_part);
        else encoder.load(archive);  // written before the method's state was kept
    } catch (const std::exception& e) {
        throw std::runtime_error("cannot load checkpoint " + path + ": " + e.what());
    }
}

bool load_method(SslMethod& method, const std::string& path) {
    torch::serialize::InputArchive archive;
    try {
        archive.load_from(path);
        torch::serialize::InputArchive method_part;
        if (!archive.try_read("method", method_part)) return false;
        method.load(method_part);
        return true;
    } catch (const std::exception& e) {
        throw std::runtime_error("cannot load the method's state from checkpoint " + path + ": " + e.what());
    }
}

}  // namespace ecgbench
