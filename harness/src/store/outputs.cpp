#include "store/outputs.hpp"

#include "ecgbench/sha256.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <nlohmann/json.hpp>
#include <zlib.h>
#include <zstd.h>

#include <cstdio>
#include <cstring>
#include <sstream>
#include <stdexcept>

namespace ecgbench {

namespace {

void require_plain(const std::string& text, const char* what) {
    if (text.find_first_of("\t\n\r") != std::string::npos)
        throw std::invalid_argument(std::string("record outputs: ") + what + " '" + text + "' contains a tab or newline");
}

bool is_zstd_frame(const void* data, std::size_t size) {
    // A zstd frame starts with the magic number 0xFD2FB528, little-endian; a zlib stream (what
    // stores before schema encoding 'tsv+zstd' hold) starts with 0x78.
    static const unsigned char kMagic[4] = {0x28, 0xB5, 0x2F, 0xFD};
    return size >= 4 && std::memcmp(data, kMagic, 4) == 0;
}

// Decompresses into `tsv` (sized to the recorded uncompressed length); false when the data is damaged.
bool decompress(const void* data, std::size_t size, std::string& tsv) {
    if (is_zstd_frame(data, size)) {
        const std::size_t length = ZSTD_decompress(tsv.data(), tsv.size(), data, size);
        return !ZSTD_isError(length) && length == tsv.size();
    }
    uLongf length = static_cast<uLongf>(tsv.size());
    return uncompress(reinterpret_cast<Bytef*>(tsv.data()), &length, static_cast<const Bytef*>(data), static_cast<uLong>(size)) == Z_OK &&
           length == tsv.size();
}

}  // namespace

std::string json_string_array(const std::vector<std::string>& values) {
    return nlohmann::json(values).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

EncodedOutputs encode_outputs(const OutputRecord& o) {
    if (o.values.size() != o.record_ids.size() * o.columns.size())
        throw std::invalid_argument("record outputs (" + o.split + ", " + o.kind + "): " + std::to_string(o.values.size()) +
                                    " values for " + std::to_string(o.record_ids.size()) + " records × " +
                                    std::to_string(o.columns.size()) + " columns");
    std::string tsv = "record_id";
    for (const auto& c : o.columns) {
        require_plain(c, "column");
        tsv += "\t" + c;
    }
    tsv += "\n";
    char number[32];
    for (std::size_t r = 0; r < o.record_ids.size(); ++r) {
        require_plain(o.record_ids[r], "record id");
        tsv += o.record_ids[r];
        for (std::size_t c = 0; c < o.columns.size(); ++c) {
            std::snprintf(number, sizeof number, "\t%.9g", static_cast<double>(o.values[r * o.columns.size() + c]));
            tsv += number;
        }
        tsv += "\n";
    }
    EncodedOutputs out;
    out.sha256 = sha256_hex(tsv);
    out.bytes = tsv.size();
    out.compressed.resize(ZSTD_compressBound(tsv.size()));
    const std::size_t size = ZSTD_compress(out.compressed.data(), out.compressed.size(), tsv.data(), tsv.size(), kOutputsZstdLevel);
    if (ZSTD_isError(size)) throw std::runtime_error(std::string("record outputs: zstd compression failed: ") + ZSTD_getErrorName(size));
    out.compressed.resize(size);
    return out;
}

OutputRecord decode_outputs(const void* data, std::size_t size, std::size_t bytes, const std::string& sha256,
                            const std::string& what) {
    std::string tsv(bytes, '\0');
    if (!decompress(data, size, tsv))
        throw std::runtime_error(what + ": stored outputs are damaged (cannot decompress)");
    const std::string actual = sha256_hex(tsv);
    if (actual != sha256) throw std::runtime_error(what + ": stored outputs have sha256 " + actual + ", recorded " + sha256);
    OutputRecord out;
    std::istringstream in(tsv);
    std::string line;
    std::getline(in, line);
    std::istringstream header(line);
    std::string field;
    std::getline(header, field, '\t');  // "record_id"
    while (std::getline(header, field, '\t')) out.columns.push_back(field);
    while (std::getline(in, line)) {
        std::istringstream row(line);
        std::getline(row, field, '\t');
        out.record_ids.push_back(field);
        while (std::getline(row, field, '\t')) out.values.push_back(std::stof(field));
    }
    return out;
}

std::vector<OutputRecord> Store::outputs(std::int64_t run_id) const {
    SQLite::Statement q(*db_, "SELECT split, kind, bytes, sha256, data FROM record_outputs WHERE run_id = ? ORDER BY split, kind");
    q.bind(1, static_cast<int64_t>(run_id));
    std::vector<OutputRecord> rows;
    while (q.executeStep()) {
        const std::string split = q.getColumn(0).getString(), kind = q.getColumn(1).getString();
        const auto blob = q.getColumn(4);
        OutputRecord o = decode_outputs(blob.getBlob(), static_cast<std::size_t>(blob.getBytes()),
                                        static_cast<std::size_t>(q.getColumn(2).getInt64()), q.getColumn(3).getString(),
                                        "ecgbench store " + path_ + ": run " + std::to_string(run_id) + " " + split + "/" + kind);
        o.split = split;
        o.kind = kind;
        rows.push_back(std::move(o));
    }
    return rows;
}

}  // namespace ecgbench
