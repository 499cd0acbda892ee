#include "runner/checkpoint.hpp"

#include <torch/serialize.h>

#include <filesystem>
#include <fstream>
#include <iterator>

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

namespace {

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read checkpoint " + path);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

void load_encoder_bytes(Encoder& encoder, const std::string& bytes, const std::string& what) {
    torch::serialize::InputArchive archive;
    try {
        archive.load_from(bytes.data(), bytes.size());
        torch::serialize::InputArchive encoder_part;
        if (archive.try_read("encoder", encoder_part)) encoder.load(encoder_part);
        else encoder.load(archive);  // written before the method's state was kept
    } catch (const std::exception& e) {
        throw std::runtime_error("cannot load checkpoint " + what + ": " + e.what());
    }
}

bool load_method_bytes(SslMethod& method, const std::string& bytes, const std::string& what) {
    torch::serialize::InputArchive archive;
    try {
        archive.load_from(bytes.data(), bytes.size());
        torch::serialize::InputArchive method_part;
        if (!archive.try_read("method", method_part)) return false;
        method.load(method_part);
        return true;
    } catch (const std::exception& e) {
        throw std::runtime_error("cannot load the method's state from checkpoint " + what + ": " + e.what());
    }
}

void load_encoder(Encoder& encoder, const std::string& path) { load_encoder_bytes(encoder, read_file(path), path); }

bool load_method(SslMethod& method, const std::string& path) { return load_method_bytes(method, read_file(path), path); }

}  // namespace ecgbench
