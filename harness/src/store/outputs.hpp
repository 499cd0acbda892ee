// Encoding of per-record task outputs for the store: a TSV (header "record_id<TAB>column…", one
// row per record, floats as %.9g so float32 values round-trip exactly) compressed with zstd
// (encoding 'tsv+zstd'). Stores written before hold zlib streams ('tsv+zlib'); decoding tells the
// two apart by the zstd frame's magic number and reads both.
#pragma once

#include "store/store.hpp"

#include <string>
#include <vector>

namespace ecgbench {

/// zstd level for stored outputs: docs/store.md has the sizes per level on a real run's logits.
inline constexpr int kOutputsZstdLevel = 12;

struct EncodedOutputs {
    std::vector<unsigned char> compressed;
    std::string sha256;    ///< of the uncompressed TSV
    std::size_t bytes = 0; ///< uncompressed size
};

/// Checks shapes (values = records × columns; no tab or newline in ids and names) and encodes.
EncodedOutputs encode_outputs(const OutputRecord& outputs);
/// Decompresses and parses what encode_outputs wrote; throws std::runtime_error naming `what`
/// when the data is damaged or its sha256 differs from `sha256`.
OutputRecord decode_outputs(const void* data, std::size_t size, std::size_t bytes, const std::string& sha256,
                            const std::string& what);
/// JSON array of strings (columns).
std::string json_string_array(const std::vector<std::string>& values);

}  // namespace ecgbench
