#include "detector/checkpoint.h"

#include <fcntl.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_format.h"
#include "common/atomic_file.h"
#include "detector/weights.h"
#include "nlohmann/json.hpp"

namespace ablate::detector {
namespace {

using nlohmann::json;

torch::Tensor JsonToTensor(const json& j) {
  const std::string s = j.dump();
  return torch::from_blob(const_cast<char*>(s.data()), {static_cast<int64_t>(s.size())},
                          torch::kUInt8)
      .clone();
}

StatusOr<CheckpointMeta> ReadMeta(torch::serialize::InputArchive& archive) {
  torch::Tensor meta_t;
  archive.read("meta", meta_t, /*is_buffer=*/true);
  meta_t = meta_t.contiguous();
  const std::string text(reinterpret_cast<const char*>(meta_t.data_ptr<uint8_t>()),
                         static_cast<size_t>(meta_t.numel()));
  CheckpointMeta meta;
  try {
    json j = json::parse(text);
    meta.step = j.at("step").get<int64_t>();
    meta.epoch = j.at("epoch").get<int64_t>();
    meta.loss = j.at("loss").get<double>();
    meta.schedule_offset = j.value("schedule_offset", int64_t{0});
    meta.class_names = j.value("class_names", std::vector<std::string>{});
    ABLATE_ASSIGN_OR_RETURN(meta.config, TrainConfigFromJson(j.at("config")));
  } catch (const json::exception& e) {
    return absl::DataLossError(std::string("checkpoint meta: ") + e.what());
  }
  return meta;
}

}  // namespace

std::string CheckpointName(int64_t step, int64_t epoch, double loss) {
  return absl::StrFormat("step%07d-ep%03d-loss%.3f", step, epoch, loss);
}

StatusOr<LoadedCheckpoint> LoadCheckpoint(const std::filesystem::path& path, torch::Device device) {
  if (!std::filesystem::exists(path)) return absl::NotFoundError("no checkpoint " + path.string());
  LoadedCheckpoint out;
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path.string());
    ABLATE_ASSIGN_OR_RETURN(out.meta, ReadMeta(archive));
    out.model = Yolact(out.meta.config.model);
    NamedTensors tensors;
    for (auto& [name, t] : StateDict(*out.model)) {
      torch::Tensor v;
      if (!archive.try_read("model/" + name, v, /*is_buffer=*/true)) {
        return absl::DataLossError(path.string() + ": missing tensor " + name);
      }
      tensors.emplace_back(name, v);
    }
    ABLATE_RETURN_IF_ERROR(LoadStateDict(*out.model, tensors));
    out.model->to(device);
  } catch (const std::exception& e) {
    return absl::DataLossError("reading checkpoint " + path.string() + ": " + e.what());
  }
  return out;
}

Status LoadOptimizerState(const std::filesystem::path& path, torch::Device device,
                          torch::optim::Optimizer& optimizer) {
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path.string(), device);
    torch::serialize::InputArchive opt_archive;
    archive.read("optimizer", opt_archive);
    optimizer.load(opt_archive);
  } catch (const std::exception& e) {
    return absl::DataLossError(e.what());
  }
  return absl::OkStatus();
}

Status SaveCheckpoint(const std::filesystem::path& path, YolactImpl& model,
                      torch::optim::Optimizer& optimizer, const CheckpointMeta& meta) {
  try {
    torch::serialize::OutputArchive archive;
    for (const auto& [name, t] : StateDict(model)) {
      archive.write("model/" + name, t.detach().to(torch::kCPU), /*is_buffer=*/true);
    }
    torch::serialize::OutputArchive opt_archive;
    optimizer.save(opt_archive);
    archive.write("optimizer", opt_archive);
    json j = {{"step", meta.step},
              {"epoch", meta.epoch},
              {"loss", meta.loss},
              {"schedule_offset", meta.schedule_offset},
              {"config", TrainConfigToJson(meta.config)},
              {"class_names", meta.class_names},
              {"format", "ablate-detector-checkpoint/1"}};
    archive.write("meta", JsonToTensor(j), /*is_buffer=*/true);
    std::filesystem::path temp = path;
    temp += ".tmp";
    // Written through our own descriptor: LibTorch's file writer throws from its destructor on
    // a short write (a full disk), which ends the process. Here a failed write is remembered,
    // the rest is swallowed, and the error (with errno's text) returned.
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
      return absl::FailedPreconditionError("writing checkpoint " + temp.string() + ": " +
                                           std::strerror(errno));
    }
    int write_errno = 0;
    archive.save_to([&](const void* data, size_t n) -> size_t {
      const char* p = static_cast<const char*>(data);
      for (size_t done = 0; write_errno == 0 && done < n;) {
        const ssize_t w = ::write(fd, p + done, n - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) write_errno = w < 0 ? errno : EIO;
        if (w > 0) done += static_cast<size_t>(w);
      }
      return n;
    });
    if (::close(fd) != 0 && write_errno == 0) write_errno = errno;
    if (write_errno != 0) {
      ::unlink(temp.c_str());
      const std::string message =
          "writing checkpoint " + path.string() + ": " + std::strerror(write_errno);
      return write_errno == ENOSPC || write_errno == EDQUOT ? absl::ResourceExhaustedError(message)
                                                            : absl::InternalError(message);
    }
    return CommitFileAtomically(temp, path);
  } catch (const std::exception& e) {
    return absl::InternalError("writing checkpoint " + path.string() + ": " + e.what());
  }
}

void PruneCheckpoints(const std::filesystem::path& dir, int keep,
                      const std::filesystem::path& protect) {
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("step", 0) == 0 && e.path().extension() == ".pt") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  for (size_t i = 0; i + keep < files.size(); ++i) {
    if (files[i] != protect) std::filesystem::remove(files[i]);
  }
}

}  // namespace ablate::detector
