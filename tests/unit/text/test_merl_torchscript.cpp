// `merl` with a user-supplied TorchScript text encoder and SentencePiece model (File params):
//  - the module's weights are the method's own: trained with the ECG side (or left as loaded with
//    freeze_text_model) and carried by the checkpoint into a method rebuilt for evaluation;
//  - through the real `ecgbench` binary: a tiny experiment pretrains with the module and evaluates
//    zero-shot, and editing the module file's bytes changes the plan's cell hashes;
//  - a module exported from Python (torch.jit.script) runs too, when Debian's python3-torch is
//    installed (skipped with a message otherwise).
// The modules are tiny (a mean of token embeddings), built here with torch::jit::Module.
#include "common/tokenizer.hpp"
#include "ecgbench/text.hpp"
#include "support/command.hpp"
#include "unit/plugins/ssl_method_support.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>
#include <torch/script.h>
#include <torch/serialize.h>
#include <torch/utils.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

using test_support::fixed_batch;
using test_support::make_method;

constexpr std::int64_t kLeads = 2, kSamples = 250, kWidth = 12;

std::vector<std::string> reports(std::int64_t n) {
    const std::vector<std::string> pool{"sinus rhythm. normal ECG.", "atrial fibrillation; left ventricular hypertrophy",
                                        "sinus bradycardia", "sinus rhythm; T wave inversion", "left bundle branch block",
                                        "right bundle branch block", "ST depression", "first degree AV block",
                                        "myocardial infarction", "non-specific ST-T changes, prolonged QT interval"};
    std::vector<std::string> out;
    for (std::int64_t i = 0; i < n; ++i) out.push_back(pool[static_cast<std::size_t>(i) % pool.size()]);
    return out;
}

// forward(ids, mask) -> the mean embedding of the unmasked tokens, [B, kWidth].
void save_text_model(std::int64_t vocab, std::uint64_t seed, const std::string& path) {
    torch::manual_seed(seed);
    torch::jit::Module module("TinyText");
    module.register_parameter("table", torch::randn({vocab, kWidth}) * 0.5, false);
    module.define(R"(
def forward(self, ids, mask):
    keep = mask.float().unsqueeze(-1)
    return (torch.embedding(self.table, ids) * keep).sum(1) / keep.sum(1).clamp(min=1.0)
)");
    module.save(path);
}

class MerlTorchScript : public ::testing::Test {
protected:
    void SetUp() override {
        std::random_device rd;
        dir_ = fs::temp_directory_path() / ("ecgbench-merl-ts-" + std::to_string(rd()));
        fs::create_directories(dir_);
        store_ = (dir_ / "store.db").string();
        const auto tokenizer = ecgbench::text::Tokenizer::train(reports(40), {"unigram", 60});
        vocab_ = tokenizer.pieces();
        tokenizer_path_ = (dir_ / "reports.model").string();
        std::ofstream(tokenizer_path_, std::ios::binary) << tokenizer.model();
        model_path_ = (dir_ / "text.pt").string();
        save_text_model(vocab_, 1, model_path_);
    }
    void TearDown() override { fs::remove_all(dir_); }

    std::map<std::string, ecgbench::ParamValue> params(bool frozen = false) const {
        return {{"text_model", model_path_}, {"text_tokenizer", tokenizer_path_}, {"freeze_text_model", frozen},
                {"proj_dim", std::int64_t{16}}, {"max_tokens", std::int64_t{16}}};
    }
    // A method set up as the host does: for pretraining (total_steps > 0) or rebuilt for an evaluation.
    std::shared_ptr<ecgbench::SslMethod> method(ecgbench::Encoder& encoder, std::int64_t total_steps, bool frozen = false) {
        auto m = make_method("merl", params(frozen));
        auto ctx = test_support::pretrain_context(encoder, kLeads, kSamples);
        ctx.has_texts = true;
        ctx.data = &data_;
        ctx.total_steps = total_steps;
        torch::manual_seed(0);
        m->setup(encoder, ctx);
        return m;
    }
    test_support::CommandResult ecgbench(const std::string& args) const {
        return test_support::run_command(std::string(ECGBENCH_BINARY_DIR) + "/ecgbench --threads 1 --store " + store_ + " " + args);
    }

    fs::path dir_;
    std::string store_, tokenizer_path_, model_path_;
    std::int64_t vocab_ = 0;
    ecgbench::EcgSplit data_;
};

ecgbench::Batch batch_of(std::int64_t n) {
    ecgbench::Batch b = fixed_batch(n, kLeads, kSamples);
    b.texts = reports(n);
    return b;
}

TEST_F(MerlTorchScript, TheModuleTrainsWithTheMethodAndTravelsInTheCheckpoint) {
    auto encoder = test_support::resnet_xs(kLeads, kSamples);
    auto trained = method(*encoder, 20);
    const at::Tensor loaded = trained->named_parameters()["text_model.table"].clone();
    ASSERT_EQ(loaded.sizes(), (std::vector<std::int64_t>{vocab_, kWidth}));
    test_support::train_on_batch(*trained, *encoder, batch_of(6), 3);
    EXPECT_FALSE(at::equal(trained->named_parameters()["text_model.table"], loaded)) << "the text model was not trained";

    auto* tower = dynamic_cast<ecgbench::TextTower*>(trained.get());
    ASSERT_NE(tower, nullptr);
    EXPECT_NE(tower->text_identity().find("TorchScript " + model_path_), std::string::npos) << tower->text_identity();
    trained->eval();
    torch::NoGradGuard no_grad;
    const std::vector<std::string> prompts{"atrial fibrillation", "normal ECG"};
    const at::Tensor texts = tower->embed_texts(prompts);
    EXPECT_EQ(texts.sizes(), (std::vector<std::int64_t>{2, 16}));

    torch::serialize::OutputArchive archive;
    trained->save(archive);
    std::ostringstream bytes;
    archive.save_to(bytes);
    auto rebuilt = method(*encoder, /*total_steps=*/0);  // reloads the module from its file…
    torch::serialize::InputArchive in;
    const std::string data = bytes.str();
    in.load_from(data.data(), data.size());
    rebuilt->load(in);  // …then takes the trained weights from the checkpoint
    rebuilt->eval();
    EXPECT_TRUE(at::equal(dynamic_cast<ecgbench::TextTower*>(rebuilt.get())->embed_texts(prompts), texts));
}

TEST_F(MerlTorchScript, AFrozenModuleKeepsItsWeights) {
    auto encoder = test_support::resnet_xs(kLeads, kSamples);
    auto frozen = method(*encoder, 20, /*frozen=*/true);
    const at::Tensor table = frozen->named_parameters()["text_model.table"];
    EXPECT_FALSE(table.requires_grad());
    const at::Tensor loaded = table.clone();
    const auto losses = test_support::train_on_batch(*frozen, *encoder, batch_of(6), 3);
    EXPECT_TRUE(at::equal(frozen->named_parameters()["text_model.table"], loaded));
    EXPECT_GT(losses.at(0), 0.0);  // the ECG side and projections still train
}

TEST_F(MerlTorchScript, ATextModelNeedsItsTokenizerAndAModuleFile) {
    auto given = params();
    given.erase("text_tokenizer");
    EXPECT_THROW(make_method("merl", given), std::invalid_argument);
    std::ofstream(model_path_) << "not a TorchScript archive";
    auto encoder = test_support::resnet_xs(kLeads, kSamples);
    try {
        method(*encoder, 20);
        FAIL() << "a file that is no TorchScript module was loaded";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find(model_path_), std::string::npos) << e.what();
    }
}

std::string experiment(const std::string& model, const std::string& tokenizer) {
    return R"(
[experiment]
name = "merl-torchscript"

[[dataset]]
name = "pre"
plugin = "synthetic"
params = { seed = 1, records = 160, records_per_subject = 2, duration_s = 2.5 }
cache = false

[[encoder]]
plugin = "resnet1d"
params = { size = "XS" }

[[ssl]]
plugin = "merl"
params = { text_model = ")" + model + R"(", text_tokenizer = ")" + tokenizer + R"(", proj_dim = 16, max_tokens = 32 }

[pretrain]
datasets = ["pre"]
epochs = 1
batch_size = 32

[[evaluation]]
task = "zero_shot"
datasets = ["pre"]
params = { bootstrap_resamples = 0 }
)";
}

std::set<std::string> plan_hashes(const test_support::CommandResult& plan) {
    std::set<std::string> hashes;
    const std::regex hash("\"hash\":\"([0-9a-f]{64})\"");
    for (std::sregex_iterator it(plan.output.begin(), plan.output.end(), hash), end; it != end; ++it) hashes.insert((*it)[1]);
    return hashes;
}

TEST_F(MerlTorchScript, ZeroShotCellRunsThroughTheCliAndTheModuleBytesAreItsIdentity) {
    const std::string file = (dir_ / "exp.toml").string();
    std::ofstream(file) << experiment(model_path_, tokenizer_path_);
    const auto run = ecgbench("run " + file);
    ASSERT_EQ(run.exit_code, 0) << run.output;
    SQLite::Database db(store_);
    EXPECT_EQ(db.execAndGet("SELECT COUNT(*) FROM results WHERE metric = 'macro_auroc' AND split = 'test'").getInt(), 1);
    const double macro = db.execAndGet("SELECT value FROM results WHERE metric = 'macro_auroc' AND split = 'test'").getDouble();
    EXPECT_TRUE(macro >= 0.0 && macro <= 1.0) << macro;

    const auto before = ecgbench("plan --json " + file);
    ASSERT_EQ(before.exit_code, 0) << before.output;
    save_text_model(vocab_, 2, model_path_);  // same path, other weights
    const auto after = ecgbench("plan --json " + file);
    ASSERT_EQ(after.exit_code, 0) << after.output;
    const auto old_hashes = plan_hashes(before), new_hashes = plan_hashes(after);
    ASSERT_EQ(old_hashes.size(), 2u) << before.output;
    ASSERT_EQ(new_hashes.size(), 2u) << after.output;
    for (const std::string& h : new_hashes) EXPECT_EQ(old_hashes.count(h), 0u) << "cell " << h << " kept its hash";

    fs::remove(model_path_);
    const auto missing = ecgbench("plan " + file);
    EXPECT_NE(missing.exit_code, 0);
    EXPECT_NE(missing.output.find("'text_model'"), std::string::npos) << missing.output;
    EXPECT_NE(missing.output.find(model_path_), std::string::npos) << missing.output;
}

// The same module written in Python and exported with torch.jit.script, as a user would.
TEST_F(MerlTorchScript, AModuleExportedFromPythonRuns) {
    const std::string script = (dir_ / "export.py").string();
    const std::string exported = (dir_ / "python_text.pt").string();
    // One interpreter start (importing torch takes seconds): exit status 77 says torch is absent.
    std::ofstream(script) << "import sys\n"
                             "try:\n"
                             "    import torch\n"
                             "except ImportError:\n"
                             "    sys.exit(77)\n"
                             "class Text(torch.nn.Module):\n"
                             "    def __init__(self, vocab: int):\n"
                             "        super().__init__()\n"
                             "        self.embed = torch.nn.Embedding(vocab, 10)\n"
                             "        self.out = torch.nn.Linear(10, 6)\n"
                             "    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:\n"
                             "        keep = mask.to(torch.float).unsqueeze(-1)\n"
                             "        mean = (self.embed(ids) * keep).sum(1) / keep.sum(1).clamp(min=1.0)\n"
                             "        return self.out(torch.tanh(mean))\n"
                             "torch.manual_seed(0)\n"
                             "torch.jit.script(Text(int(sys.argv[1]))).save(sys.argv[2])\n";
    if (!fs::exists("/usr/bin/python3")) GTEST_SKIP() << "/usr/bin/python3 is absent: Python export not tested";
    const auto export_run = test_support::run_command("/usr/bin/python3 " + script + " " + std::to_string(vocab_) + " " + exported);
    if (export_run.exit_code == 77)
        GTEST_SKIP() << "python3-torch is not installed (/usr/bin/python3 cannot import torch): Python export not tested";
    ASSERT_EQ(export_run.exit_code, 0) << export_run.output;
    model_path_ = exported;

    auto encoder = test_support::resnet_xs(kLeads, kSamples);
    auto m = method(*encoder, 20);
    EXPECT_TRUE(m->named_parameters().contains("text_model.embed.weight"));
    EXPECT_TRUE(m->named_parameters().contains("text_model.out.bias"));
    const auto losses = test_support::train_on_batch(*m, *encoder, batch_of(6), 2);
    EXPECT_TRUE(std::isfinite(losses.at(1))) << losses.at(1);
    m->eval();
    torch::NoGradGuard no_grad;
    const at::Tensor texts = dynamic_cast<ecgbench::TextTower*>(m.get())->embed_texts({"sinus rhythm", "ST depression"});
    EXPECT_EQ(texts.sizes(), (std::vector<std::int64_t>{2, 16}));
}

}  // namespace
