#include "worker/retention_task.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "worker/job_spec.h"

namespace ablate::worker {
namespace {

using nlohmann::json;

std::string Mib(int64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
  return buf;
}

FileDeletion DeleteOne(const CheckpointFile& f) {
  FileDeletion d;
  d.checkpoint_id = f.checkpoint_id;
  auto fail = [&](std::string why) {
    d.result = FileDeletion::Result::kFailed;
    d.reason = std::move(why);
    return d;
  };
  auto path = PathFromUri(f.uri);
  if (!path.ok()) return fail("not a local file URI: " + f.uri);
  struct stat st {};
  if (::lstat(path->c_str(), &st) != 0) {
    const int err = errno;
    if (err != ENOENT) return fail(*path + ": " + std::strerror(err));
    const std::string dir = std::filesystem::path(*path).parent_path().string();
    struct stat dir_st {};
    if (::stat(dir.c_str(), &dir_st) != 0 || !S_ISDIR(dir_st.st_mode)) {
      return fail("directory " + dir + " is not reachable from this worker");
    }
    d.result = FileDeletion::Result::kMissing;
    return d;
  }
  if (!S_ISREG(st.st_mode)) return fail(*path + " is not a regular file; left alone");
  if (f.bytes > 0 && st.st_size != f.bytes) {
    return fail(*path + " has " + std::to_string(st.st_size) + " bytes, the registered file " +
                std::to_string(f.bytes) + "; left alone");
  }
  if (::unlink(path->c_str()) != 0) return fail(*path + ": " + std::strerror(errno));
  d.result = FileDeletion::Result::kDeleted;
  d.bytes_freed = st.st_size;
  return d;
}

}  // namespace

StatusOr<RetentionTask> ParseRetentionTask(const json& spec) {
  if (!spec.is_object() || !spec.contains("delete") || !spec["delete"].is_array()) {
    return absl::InvalidArgumentError("retention job spec: 'delete' must be a list");
  }
  RetentionTask task;
  size_t index = 0;
  for (const json& e : spec["delete"]) {
    const std::string where = "retention job spec: delete[" + std::to_string(index++) + "]";
    if (!e.is_object() || !e.contains("checkpoint_id") || !e["checkpoint_id"].is_number_integer() ||
        !e.contains("uri") || !e["uri"].is_string()) {
      return absl::InvalidArgumentError(where + " needs checkpoint_id and uri");
    }
    CheckpointFile f;
    f.checkpoint_id = e["checkpoint_id"].get<int64_t>();
    f.uri = e["uri"].get<std::string>();
    f.label = e.value("run", "") + "/" + e.value("name", "");
    f.bytes = e.contains("bytes") && e["bytes"].is_number_integer() ? e["bytes"].get<int64_t>() : 0;
    task.files.push_back(std::move(f));
  }
  return task;
}

std::vector<FileDeletion> DeleteCheckpointFiles(const RetentionTask& task,
                                                const std::function<bool()>& may_continue) {
  std::vector<FileDeletion> done;
  for (const CheckpointFile& f : task.files) {
    if (!may_continue()) break;
    done.push_back(DeleteOne(f));
  }
  return done;
}

std::string SummarizeDeletions(const RetentionTask& task, const std::vector<FileDeletion>& done) {
  int deleted = 0, missing = 0, failed = 0;
  int64_t bytes = 0;
  std::string failures;
  for (size_t i = 0; i < done.size(); ++i) {
    switch (done[i].result) {
      case FileDeletion::Result::kDeleted:
        ++deleted;
        bytes += done[i].bytes_freed;
        break;
      case FileDeletion::Result::kMissing:
        ++missing;
        break;
      case FileDeletion::Result::kFailed:
        ++failed;
        if (!failures.empty()) failures += "; ";
        failures += task.files[i].label + ": " + done[i].reason;
        break;
    }
  }
  std::string out = "deleted " + std::to_string(deleted) + " (" + Mib(bytes) + "), missing " +
                    std::to_string(missing) + ", failed " + std::to_string(failed);
  if (!failures.empty()) out += " (" + failures + ")";
  if (done.size() < task.files.size()) {
    out += ", stopped before " + std::to_string(task.files.size() - done.size()) + " file(s)";
  }
  return out;
}

}  // namespace ablate::worker
