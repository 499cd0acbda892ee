// MIT-format annotation files: reading (with SKIP, NUM, SUB, CHN, AUX pseudo-annotations and
// embedded label definitions), writing, and the standard annotation code table.
#include "ecgbench/wfdb.hpp"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

namespace ecgbench::wfdb {
namespace {

// Pseudo-annotation codes of the MIT format (the top 6 bits of a 16-bit word).
constexpr int kSkip = 59, kNum = 60, kSub = 61, kChn = 62, kAux = 63;
constexpr int kNote = 22;
constexpr int kMaxInterval = 1023;

// WFDB's standard mnemonics, codes 0..49 ("[n]" where the code has none).
const std::array<const char*, 50> kSymbols = {
    " ",    "N",    "L",    "R",    "a",    "V",    "F",    "J",    "A",    "S",    "E",    "j",    "/",
    "Q",    "~",    "[15]", "|",    "[17]", "s",    "T",    "*",    "D",    "\"",   "=",    "p",    "B",
    "^",    "t",    "+",    "u",    "?",    "!",    "[",    "]",    "e",    "n",    "@",    "x",    "f",
    "(",    ")",    "r",    "[42]", "[43]", "[44]", "[45]", "[46]", "[47]", "[48]", "[49]"};

struct Cursor {
    std::string_view bytes;
    const std::string& source;
    std::size_t pos = 0;

    [[noreturn]] void fail(const std::string& what) const {
        throw WfdbError(source + ": byte " + std::to_string(pos) + ": " + what);
    }
    bool at_end() const { return pos + 1 >= bytes.size(); }
    unsigned word() {
        if (pos + 2 > bytes.size()) fail("truncated annotation word");
        const unsigned w = static_cast<unsigned char>(bytes[pos]) | static_cast<unsigned char>(bytes[pos + 1]) << 8;
        pos += 2;
        return w;
    }
};

// SKIP carries a signed 32-bit interval as two little-endian words, high word first.
std::int64_t read_skip(Cursor& c) {
    const std::uint32_t high = c.word(), low = c.word();
    return static_cast<std::int32_t>(high << 16 | low);
}

std::string read_aux(Cursor& c, unsigned length) {
    if (c.pos + length > c.bytes.size()) c.fail("aux string of " + std::to_string(length) + " bytes runs past the end");
    std::string aux(c.bytes.substr(c.pos, length));
    c.pos += length + (length & 1u);  // padded to an even length
    return aux;
}

// Applies a "code mnemonic description" definition line; malformed lines are ignored as WFDB does.
void apply_definition(const std::string& aux, std::map<int, std::string>& custom) {
    std::istringstream in(aux);
    int code = -1;
    std::string mnemonic;
    if (in >> code >> mnemonic && code > 0 && code < kSkip) custom[code] = mnemonic;
}

bool is_time0_note(const Annotation& a) { return a.sample == 0 && a.type == kNote && a.subtype == 0; }

// A leading "## time resolution: R" note sets the tick rate and is dropped.
std::size_t take_time_resolution(const std::vector<Annotation>& all, double* resolution) {
    const std::string prefix = "## time resolution: ";
    if (all.empty() || !is_time0_note(all[0]) || all[0].aux.rfind(prefix, 0) != 0) return 0;
    if (resolution) *resolution = std::atof(all[0].aux.c_str() + prefix.size());
    return 1;
}

// A file that starts with time-0 notes carries a label table: "code mnemonic ..." lines define
// labels and every such note (comments and other text included) is dropped, as rdann does.
std::size_t take_label_table(const std::vector<Annotation>& all, std::map<int, std::string>& custom) {
    std::size_t i = 0;
    while (i < all.size() && is_time0_note(all[i])) apply_definition(all[i++].aux, custom);
    return i;
}

std::vector<Annotation> apply_labels(std::vector<Annotation> all, double* resolution) {
    std::map<int, std::string> custom;
    std::size_t first = take_time_resolution(all, resolution);
    if (first == 0) first = take_label_table(all, custom);
    std::vector<Annotation> kept;
    for (std::size_t i = first; i < all.size(); ++i) {
        auto& a = all[i];
        const auto it = custom.find(a.type);
        a.symbol = it != custom.end() ? it->second : annotation_symbol(a.type);
        kept.push_back(std::move(a));
    }
    return kept;
}

void put_word(std::string& out, unsigned code, unsigned data) {
    const unsigned w = code << 10 | (data & 0x3ffu);
    out.push_back(static_cast<char>(w & 0xff));
    out.push_back(static_cast<char>(w >> 8));
}

void put_skip(std::string& out, std::int64_t interval) {
    // Intervals beyond 32 bits are split into several SKIPs.
    while (interval != 0) {
        const auto step = std::clamp<std::int64_t>(interval, std::numeric_limits<std::int32_t>::min(),
                                                   std::numeric_limits<std::int32_t>::max());
        const auto u = static_cast<std::uint32_t>(static_cast<std::int32_t>(step));
        put_word(out, kSkip, 0);
        for (int shift : {16, 24, 0, 8}) out.push_back(static_cast<char>((u >> shift) & 0xff));
        interval -= step;
    }
}

void check_encodable(const Annotation& a, std::size_t index) {
    auto fail = [&](const std::string& what) {
        throw WfdbError("annotation " + std::to_string(index) + " (sample " + std::to_string(a.sample) + "): " + what);
    };
    if (a.type < 1 || a.type >= kSkip) fail("type " + std::to_string(a.type) + " cannot be written (1..58)");
    if (a.subtype < -128 || a.subtype > 127) fail("subtype out of range");
    if (a.num < -128 || a.num > 127) fail("num out of range");
    if (a.chan < 0 || a.chan > 255) fail("chan out of range");
    if (a.aux.size() > 255) fail("aux longer than 255 bytes");
}

}  // namespace

std::string annotation_symbol(int type) {
    if (type >= 0 && type < static_cast<int>(kSymbols.size())) return kSymbols[static_cast<std::size_t>(type)];
    std::string text = "[";  // built by appending: GCC 12 warns falsely on "literal" + string
    text += std::to_string(type);
    return text += "]";
}

std::optional<int> annotation_code(std::string_view symbol) {
    for (std::size_t i = 0; i < kSymbols.size(); ++i)
        if (symbol == kSymbols[i] && !(symbol.size() > 1 && symbol.front() == '[')) return static_cast<int>(i);
    return std::nullopt;
}

std::vector<Annotation> parse_annotations(std::string_view bytes, const std::string& source, double* time_resolution) {
    if (time_resolution) *time_resolution = 0;
    Cursor c{bytes, source};
    std::vector<Annotation> all;
    std::int64_t time = 0;
    int chan = 0, num = 0;  // sticky: written only when they change
    while (!c.at_end()) {
        const unsigned w = c.word();
        const int code = static_cast<int>(w >> 10);
        const unsigned data = w & 0x3ffu;
        if (w == 0) break;
        if (code == kSkip) {
            time += read_skip(c);
            continue;
        }
        if (code >= kNum && all.empty()) c.fail("modifier before any annotation");
        switch (code) {
        case kNum: all.back().num = num = static_cast<std::int8_t>(data & 0xff); break;
        case kSub: all.back().subtype = static_cast<std::int8_t>(data & 0xff); break;
        case kChn: all.back().chan = chan = static_cast<int>(data & 0xff); break;
        case kAux: all.back().aux = read_aux(c, data); break;
        case 0:  // NOTQRS words carry only an interval
            time += data;
            break;
        default: {
            time += data;
            Annotation a;
            a.sample = time;
            a.type = code;
            a.chan = chan;
            a.num = num;
            all.push_back(std::move(a));
        }
        }
    }
    if (c.pos < bytes.size() && c.pos + 1 == bytes.size()) c.fail("odd trailing byte");
    return apply_labels(std::move(all), time_resolution);
}

std::vector<Annotation> read_annotations(const std::filesystem::path& file, double* time_resolution) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw WfdbError("cannot open annotation file " + file.string());
    std::ostringstream bytes;
    bytes << in.rdbuf();
    return parse_annotations(bytes.str(), file.string(), time_resolution);
}

std::string encode_annotations(const std::vector<Annotation>& annotations) {
    std::string out;
    std::int64_t time = 0;
    int chan = 0, num = 0;
    for (std::size_t i = 0; i < annotations.size(); ++i) {
        const auto& a = annotations[i];
        check_encodable(a, i);
        const auto interval = a.sample - time;
        if (interval < 0 || interval > kMaxInterval) {
            put_skip(out, interval);
            put_word(out, static_cast<unsigned>(a.type), 0);
        } else {
            put_word(out, static_cast<unsigned>(a.type), static_cast<unsigned>(interval));
        }
        time = a.sample;
        if (a.subtype != 0) put_word(out, kSub, static_cast<unsigned>(a.subtype) & 0xffu);
        if (a.chan != chan) put_word(out, kChn, static_cast<unsigned>(chan = a.chan));
        if (a.num != num) put_word(out, kNum, static_cast<unsigned>(num = a.num) & 0xffu);
        if (!a.aux.empty()) {
            put_word(out, kAux, static_cast<unsigned>(a.aux.size()));
            out += a.aux;
            if (a.aux.size() & 1u) out.push_back('\0');
        }
    }
    put_word(out, 0, 0);
    return out;
}

void write_annotations(const std::filesystem::path& file, const std::vector<Annotation>& annotations) {
    const auto bytes = encode_annotations(annotations);
    std::ofstream out(file, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw WfdbError("cannot write annotation file " + file.string());
}

}  // namespace ecgbench::wfdb
