// Weight files written by Python's torch.save: both file formats, a torchvision ResNet and a
// YOLACT state dict, the class-count mismatch of fine-tuning, shape mismatches and corrupt files.
// Every expected value (names, shapes, dtypes, sums, elements) was written by PyTorch 1.13 into
// detector/testdata/weight_files.json by testdata/make_weight_files.py, next to the files.
#include "detector/weights_file.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>
#include <map>

#include "common/sha256.h"
#include "detector/config/model_config.h"
#include "detector/init_weights.h"
#include "detector/model.h"
#include "detector/torch_pickle.h"
#include "nlohmann/json.hpp"

namespace ablate::detector {
namespace {

const std::filesystem::path kData = "detector/testdata";

struct Expected {
  std::string name, dtype;
  std::vector<int64_t> shape;
  double sum = 0, first = 0, last = 0;
};

std::vector<Expected> ExpectedTensors(const std::string& which) {
  std::ifstream in(kData / "weight_files.json");
  const nlohmann::json j = nlohmann::json::parse(in);
  std::vector<Expected> out;
  for (const auto& t : j.at("tensors").at(which)) {
    out.push_back({t.at("name"), t.at("dtype"), t.at("shape").get<std::vector<int64_t>>(),
                   t.at("sum"), t.at("first"), t.at("last")});
  }
  return out;
}

std::string DtypeName(const torch::Tensor& t) {
  switch (t.scalar_type()) {
    case torch::kFloat32:
      return "float32";
    case torch::kInt64:
      return "int64";
    default:
      return "other";
  }
}

void ExpectTensorEquals(const torch::Tensor& t, const Expected& e) {
  SCOPED_TRACE(e.name);
  EXPECT_EQ(t.sizes().vec(), e.shape);
  const torch::Tensor flat = t.reshape({-1}).to(torch::kFloat64);
  EXPECT_EQ(flat[0].item<double>(), e.first);
  EXPECT_EQ(flat[-1].item<double>(), e.last);
  EXPECT_NEAR(flat.sum().item<double>(), e.sum, 1e-9 * (1 + std::abs(e.sum)));
}

// Our network with the layout the fixtures were made for (make_weight_files.py): Basic blocks
// [1,1,1,1] of width 2, FPN 4, 2 prototypes, 3 priors per location, a 2-conv mask-IoU net.
ModelConfig FixtureYolactConfig(int num_classes) {
  ModelConfig c = *ModelPreset("tiny");
  c.num_classes = num_classes;
  c.base_width = 2;
  c.fpn_features = 4;
  c.proto_net = ReferenceProtoNet(4, 2);
  c.head_extra = {{4, 3, 1, 1, false}};
  c.maskiou = true;
  c.maskiou_net = {{2, 3, 2, 0, false}, {4, 3, 2, 0, false}};
  return c;
}

Yolact InitialisedModel(const ModelConfig& config) {
  torch::manual_seed(3);
  Yolact model(config);
  model->InitWeights(0, false);
  return model;
}

std::map<std::string, torch::Tensor> ByName(torch::nn::Module& m) {
  std::map<std::string, torch::Tensor> out;
  for (auto& [k, v] : StateDict(m)) out.emplace(k, v.clone());
  return out;
}

std::filesystem::path TempFile(const std::string& name, const std::string& bytes) {
  const auto path = std::filesystem::temp_directory_path() / ("ablate_weights_test_" + name);
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

std::string ReadBytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

class TorchSaveFormats : public testing::TestWithParam<std::string> {};

// Both formats give PyTorch's tensors, in file order, with dtypes (int64 num_batches_tracked).
TEST_P(TorchSaveFormats, ResNetStateDictReadsAsPyTorchWroteIt) {
  auto file = ReadTorchSaveFile(kData / GetParam());
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(file->kind, GetParam().find("legacy") != std::string::npos
                            ? WeightsFileKind::kTorchSaveLegacy
                            : WeightsFileKind::kTorchSaveZip);
  const auto expected = ExpectedTensors("resnet_w2");
  ASSERT_EQ(file->tensors.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(file->tensors[i].first, expected[i].name);
    EXPECT_EQ(DtypeName(file->tensors[i].second), expected[i].dtype) << expected[i].name;
    ExpectTensorEquals(file->tensors[i].second, expected[i]);
  }
}

// The torchvision layout lands on the backbone: conv1/bn1/layerN mapped, fc dropped, the rest of
// the network (FPN, heads) reported missing and left as initialised.
TEST_P(TorchSaveFormats, TorchvisionResNetInitialisesTheBackbone) {
  ModelConfig config = FixtureYolactConfig(5);
  Yolact model = InitialisedModel(config);
  auto before = ByName(*model);
  auto report = LoadInitWeights(*model, kData / GetParam(), InitMode::kFineTune);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->format, "torchvision-resnet");
  EXPECT_EQ(report->container, GetParam().find("legacy") != std::string::npos ? "legacy" : "zip");
  EXPECT_EQ(report->sha256, *Sha256HexOfFile(kData / GetParam()));
  EXPECT_TRUE(report->reinitialised.empty());
  EXPECT_TRUE(report->unexpected.empty());  // fc.* is dropped, not unexpected
  const auto after = ByName(*model);
  int64_t backbone = 0;
  for (const Expected& e : ExpectedTensors("resnet_w2")) {
    if (e.name.rfind("fc.", 0) == 0) continue;
    const std::string ours = TorchvisionToYolactName(e.name);
    ASSERT_EQ(after.count(ours), 1u) << e.name << " -> " << ours;
    ExpectTensorEquals(after.at(ours), e);
    ++backbone;
  }
  EXPECT_EQ(report->loaded, backbone);
  for (const auto& [name, t] : after) {
    if (name.rfind("backbone.", 0) == 0) continue;
    EXPECT_TRUE(torch::equal(t, before.at(name))) << name << " changed";
    EXPECT_NE(std::find(report->missing.begin(), report->missing.end(), name),
              report->missing.end())
        << name;
  }
  EXPECT_EQ(report->missing.size(), after.size() - static_cast<size_t>(backbone));
  EXPECT_EQ(report->ToJson()["format"], "torchvision-resnet");
}

INSTANTIATE_TEST_SUITE_P(BothFormats, TorchSaveFormats,
                         testing::Values("resnet_w2_zip.pth", "resnet_w2_legacy.pth"));

TEST(TorchvisionNames, MapOntoTheBackbone) {
  EXPECT_EQ(TorchvisionToYolactName("conv1.weight"), "backbone.conv1.weight");
  EXPECT_EQ(TorchvisionToYolactName("bn1.running_var"), "backbone.bn1.running_var");
  EXPECT_EQ(TorchvisionToYolactName("layer1.0.conv1.weight"), "backbone.layers.0.0.conv1.weight");
  EXPECT_EQ(TorchvisionToYolactName("layer4.2.downsample.1.bias"),
            "backbone.layers.3.2.downsample.1.bias");
  EXPECT_EQ(TorchvisionToYolactName("fc.weight"), "");
  EXPECT_EQ(TorchvisionToYolactName("layerx.0.weight"), "");
}

// An 81-class reference checkpoint on a 4-class dataset: the conf head, the semantic-seg head and
// the mask-IoU head's last conv keep their init and are named; every other tensor is PyTorch's.
TEST(YolactCheckpoint, EightyOneClassesOnFourReinitialisesTheClassLayers) {
  Yolact model = InitialisedModel(FixtureYolactConfig(5));
  const auto before = ByName(*model);
  auto report = LoadInitWeights(*model, kData / "yolact_81_legacy.pth", InitMode::kFineTune);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->format, "yolact");
  EXPECT_EQ(report->container, "legacy");
  const std::vector<std::string> class_layers = {"maskiou_net.maskiou_net.4.weight",
                                                 "maskiou_net.maskiou_net.4.bias",
                                                 "prediction_layers.0.conf_layer.weight",
                                                 "prediction_layers.0.conf_layer.bias",
                                                 "semantic_seg_conv.weight",
                                                 "semantic_seg_conv.bias"};
  std::vector<std::string> reinit = report->reinitialised, want = class_layers;
  std::sort(reinit.begin(), reinit.end());
  std::sort(want.begin(), want.end());
  EXPECT_EQ(reinit, want);
  EXPECT_TRUE(report->missing.empty()) << nlohmann::json(report->missing);
  EXPECT_TRUE(report->unexpected.empty()) << nlohmann::json(report->unexpected);
  const auto after = ByName(*model);
  const auto expected = ExpectedTensors("yolact_81");
  EXPECT_EQ(report->loaded, static_cast<int64_t>(expected.size() - class_layers.size()));
  EXPECT_EQ(after.size(), expected.size());
  for (const Expected& e : expected) {
    ASSERT_EQ(after.count(e.name), 1u) << e.name;
    if (std::find(class_layers.begin(), class_layers.end(), e.name) != class_layers.end()) {
      EXPECT_TRUE(torch::equal(after.at(e.name), before.at(e.name))) << e.name;
      EXPECT_NE(after.at(e.name).size(0), e.shape[0]) << e.name;  // 5 vs 81 classes
    } else {
      ExpectTensorEquals(after.at(e.name), e);
    }
  }
  EXPECT_NE(report->ToText().find(
                "reinitialised [maskiou_net.maskiou_net.4.weight, maskiou_net.maskiou_net.4.bias, "
                "prediction_layers.0.conf_layer.weight"),
            std::string::npos)
      << report->ToText();
}

// Evaluating a reference checkpoint needs the exact network: the class heads may not differ.
TEST(YolactCheckpoint, ExactModeRefusesAnotherClassCount) {
  Yolact model = InitialisedModel(FixtureYolactConfig(5));
  auto report = LoadInitWeights(*model, kData / "yolact_81_legacy.pth", InitMode::kExact);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(report.status().message().find(
                "prediction_layers.0.conf_layer.weight (file [243, 4, 3, 3], model [15, 4, 3, 3])"),
            std::string::npos)
      << report.status();
  Yolact exact = InitialisedModel(FixtureYolactConfig(81));
  auto ok = LoadInitWeights(*exact, kData / "yolact_81_legacy.pth", InitMode::kExact);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_TRUE(ok->reinitialised.empty());
}

// Any other shape difference is an error naming the tensor and both shapes; nothing is copied.
TEST(YolactCheckpoint, NonClassShapeMismatchIsAnErrorNamingBothShapes) {
  ModelConfig config = FixtureYolactConfig(5);
  config.fpn_features = 8;
  config.proto_net = ReferenceProtoNet(8, 2);
  config.head_extra = {{8, 3, 1, 1, false}};
  Yolact model = InitialisedModel(config);
  const auto before = ByName(*model);
  auto report = LoadInitWeights(*model, kData / "yolact_81_legacy.pth", InitMode::kFineTune);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(report.status().message().find(
                "fpn.lat_layers.0.weight (file [4, 16, 1, 1], model [8, 16, 1, 1])"),
            std::string::npos)
      << report.status();
  for (const auto& [name, t] : ByName(*model)) {
    EXPECT_TRUE(torch::equal(t, before.at(name))) << name << " was changed by a failed load";
  }
}

// Our own checkpoint format loads too (weights only), tensors by their state-dict names.
TEST(AblateCheckpoint, LoadsByName) {
  Yolact source = InitialisedModel(FixtureYolactConfig(5));
  const auto path = std::filesystem::temp_directory_path() / "ablate_weights_test_ckpt.pt";
  {
    torch::serialize::OutputArchive archive;
    for (const auto& [name, t] : StateDict(*source)) archive.write("model/" + name, t, true);
    archive.save_to(path.string());
  }
  auto kind = DetectWeightsFile(path);
  ASSERT_TRUE(kind.ok()) << kind.status();
  EXPECT_EQ(*kind, WeightsFileKind::kAblateCheckpoint);
  torch::manual_seed(99);
  Yolact target(FixtureYolactConfig(5));
  auto report = LoadInitWeights(*target, path, InitMode::kExact);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->format, "ablate");
  const auto want = ByName(*source);
  for (const auto& [name, t] : ByName(*target)) EXPECT_TRUE(torch::equal(t, want.at(name))) << name;
  std::filesystem::remove(path);
}

// Truncated, text and other non-PyTorch files are errors naming the file; the model is untouched.
TEST(CorruptFiles, AreErrorsNamingTheFile) {
  const std::string legacy = ReadBytes(kData / "resnet_w2_legacy.pth");
  const std::string zip = ReadBytes(kData / "resnet_w2_zip.pth");
  struct Case {
    std::string name, bytes, message;
    absl::StatusCode code;
  };
  const std::vector<Case> cases = {
      {"truncated_legacy.pth", legacy.substr(0, legacy.size() - 100), "truncated (storage",
       absl::StatusCode::kDataLoss},
      {"truncated_pickle.pth", legacy.substr(0, 700), "truncated (", absl::StatusCode::kDataLoss},
      {"truncated_zip.pth", zip.substr(0, zip.size() / 2), "not a readable PyTorch zip file",
       absl::StatusCode::kDataLoss},
      {"text.pth", "this is not a weights file\n", "not a PyTorch weights file",
       absl::StatusCode::kDataLoss},
      {"empty.pth", "", "not a PyTorch weights file", absl::StatusCode::kDataLoss},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const auto path = TempFile(c.name, c.bytes);
    Yolact model = InitialisedModel(FixtureYolactConfig(5));
    const auto before = ByName(*model);
    auto report = LoadInitWeights(*model, path, InitMode::kFineTune);
    ASSERT_FALSE(report.ok());
    EXPECT_EQ(report.status().code(), c.code) << report.status();
    EXPECT_NE(report.status().message().find(path.string()), std::string::npos) << report.status();
    EXPECT_NE(report.status().message().find(c.message), std::string::npos) << report.status();
    for (const auto& [name, t] : ByName(*model)) EXPECT_TRUE(torch::equal(t, before.at(name)));
    std::filesystem::remove(path);
  }
  auto missing = LoadInitWeights(*InitialisedModel(FixtureYolactConfig(5)),
                                 "/nonexistent/resnet50.pth", InitMode::kFineTune);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
}

// The pickle reader: unsupported opcodes and classes are errors with the byte offset.
TEST(TorchPickle, UnsupportedContentNamesTheOffset) {
  size_t end = 0;
  // PROTO 2, GLOBAL os.system, EMPTY_TUPLE, REDUCE, STOP.
  const std::string evil = std::string("\x80\x02") + "cos\nsystem\n)R.";
  auto v = ParsePickle(evil, 0, &end, "evil.pkl");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().message(), "evil.pkl: unsupported class os.system at byte 14");
  auto op = ParsePickle(std::string("\x80\x02\x81", 3), 0, &end, "x.pkl");
  EXPECT_EQ(op.status().message(), "x.pkl: unsupported pickle opcode 0x81 at byte 2");
  // {'a': 1} (a one-item dict: SETITEM, which LibTorch 1.13 cannot read) is fine.
  const std::string one_item = std::string("\x80\x02}q\x00X\x01\x00\x00\x00", 10) +
                               "aq\x01K\x01s.";  // pickle.dumps({"a": 1}, protocol=2)
  auto one = ParsePickle(one_item, 0, &end, "o");
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_EQ(end, 17u);
  ASSERT_EQ(one.value()->items.size(), 2u);
  EXPECT_EQ(one.value()->items[0]->text, "a");
  EXPECT_EQ(one.value()->items[1]->int_value, 1);
  auto entries = StateDictEntries(**one, "o");
  EXPECT_EQ(entries.status().message(), "o: state dict entry 'a' is a int, not a tensor");
}

}  // namespace
}  // namespace ablate::detector
