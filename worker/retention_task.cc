#include "worker/retention_task.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/human_bytes.h"
#include "protocol/job_spec.h"

namespace ablate::worker {

using protocol::PathFromUri;
using protocol::UriFromPath;
namespace {

using nlohmann::json;

struct Removal {
  FileDeletion::Result result = FileDeletion::Result::kFailed;
  std::string reason;
  int64_t bytes_freed = 0;
};

bool Exists(const std::string& dir) {
  struct stat st {};
  return ::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// The checks of the header, for one file. `folder_may_be_gone`: a gallery image, whose folder
// retention removes once it is empty.
Removal RemoveFile(const std::string& uri, int64_t registered_bytes, bool folder_may_be_gone) {
  Removal d;
  auto fail = [&](std::string why) {
    d.result = FileDeletion::Result::kFailed;
    d.reason = std::move(why);
    return d;
  };
  auto path = PathFromUri(uri);
  if (!path.ok()) return fail("not a local file URI: " + uri);
  struct stat st {};
  if (::lstat(path->c_str(), &st) != 0) {
    const int err = errno;
    if (err != ENOENT) return fail(*path + ": " + std::strerror(err));
    const std::filesystem::path dir = std::filesystem::path(*path).parent_path();
    const bool reachable =
        Exists(dir.string()) || (folder_may_be_gone && Exists(dir.parent_path().string()));
    if (!reachable) return fail("directory " + dir.string() + " is not reachable from this worker");
    d.result = FileDeletion::Result::kMissing;
    return d;
  }
  if (!S_ISREG(st.st_mode)) return fail(*path + " is not a regular file; left alone");
  if (registered_bytes > 0 && st.st_size != registered_bytes) {
    return fail(*path + " has " + std::to_string(st.st_size) + " bytes, the registered file " +
                std::to_string(registered_bytes) + "; left alone");
  }
  if (::unlink(path->c_str()) != 0) return fail(*path + ": " + std::strerror(errno));
  d.result = FileDeletion::Result::kDeleted;
  d.bytes_freed = st.st_size;
  return d;
}

bool IsJpegName(const std::string& uri) {
  std::string lower = uri;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto ends = [&](const std::string& suffix) {
    return lower.size() > suffix.size() &&
           lower.compare(lower.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  return ends(".jpg") || ends(".jpeg");
}

std::string Counts(int deleted, int64_t bytes, int missing, int failed) {
  return "deleted " + std::to_string(deleted) + " (" + HumanBytes(bytes) + "), missing " +
         std::to_string(missing) + ", failed " + std::to_string(failed);
}

// "deleted N (bytes), missing M, failed F (label: reason; ...)" for one list of outcomes;
// `label(i, outcome)` names the file of a failure.
template <typename Outcome, typename Label>
std::string SummarizeOutcomes(const std::vector<Outcome>& done, Label label) {
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
        failures += label(i, done[i]) + ": " + done[i].reason;
        break;
    }
  }
  std::string out = Counts(deleted, bytes, missing, failed);
  if (!failures.empty()) out += " (" + failures + ")";
  return out;
}

}  // namespace

StatusOr<RetentionTask> ParseRetentionTask(const json& spec) {
  ABLATE_ASSIGN_OR_RETURN(protocol::RetentionSpec parsed, protocol::ParseLeasedRetentionSpec(spec));
  const protocol::RetentionFiles files =
      std::move(parsed.files).value_or(protocol::RetentionFiles{});
  RetentionTask task;
  for (const protocol::RetentionCheckpointFile& f : files.checkpoints) {
    task.files.push_back(CheckpointFile{f.checkpoint_id, f.run + "/" + f.name, f.uri, f.bytes});
  }
  for (const protocol::RetentionGalleryFile& g : files.gallery) {
    task.gallery.push_back(GalleryFileEntry{
        g.checkpoint_id, absl::StrCat(g.run, "/", g.checkpoint, " image ", g.image_id), g.uri,
        g.bytes});
  }
  return task;
}

std::vector<FileDeletion> DeleteCheckpointFiles(const RetentionTask& task,
                                                const std::function<bool()>& may_continue) {
  std::vector<FileDeletion> done;
  for (const CheckpointFile& f : task.files) {
    if (!may_continue()) break;
    Removal r = RemoveFile(f.uri, f.bytes, /*folder_may_be_gone=*/false);
    done.push_back(FileDeletion{f.checkpoint_id, r.result, std::move(r.reason), r.bytes_freed});
  }
  return done;
}

GalleryOutcome DeleteGalleryFiles(const RetentionTask& task,
                                  const std::vector<FileDeletion>& checkpoint_results,
                                  const std::function<bool()>& may_continue) {
  std::map<int64_t, std::string> listed;  // checkpoint id -> label, for the task's checkpoints
  for (const CheckpointFile& f : task.files) listed[f.checkpoint_id] = f.label;
  std::map<int64_t, FileDeletion::Result> result_of;
  for (const FileDeletion& d : checkpoint_results) result_of[d.checkpoint_id] = d.result;

  GalleryOutcome out;
  std::set<std::string> folders;
  bool stopped = false;
  for (const GalleryFileEntry& g : task.gallery) {
    if (!may_continue()) {
      stopped = true;
      break;
    }
    GalleryDeletion d;
    d.uri = g.uri;
    if (auto it = listed.find(g.checkpoint_id); it != listed.end()) {
      auto r = result_of.find(g.checkpoint_id);
      if (r == result_of.end()) continue;  // its checkpoint was not reached: not reported
      if (r->second == FileDeletion::Result::kFailed) {
        d.reason = "kept with its checkpoint " + it->second + ", whose file was not deleted";
        out.done.push_back(std::move(d));
        continue;
      }
    }
    if (!IsJpegName(g.uri)) {
      d.reason = "not a gallery image (.jpg/.jpeg): " + g.uri + "; left alone";
      out.done.push_back(std::move(d));
      continue;
    }
    Removal r = RemoveFile(g.uri, g.bytes, /*folder_may_be_gone=*/true);
    d.result = r.result;
    d.reason = std::move(r.reason);
    d.bytes_freed = r.bytes_freed;
    if (d.result != FileDeletion::Result::kFailed) {
      folders.insert(std::filesystem::path(*PathFromUri(g.uri)).parent_path().string());
    }
    out.done.push_back(std::move(d));
  }
  if (stopped || !may_continue()) return out;
  for (const std::string& folder : folders) {
    // rmdir() removes only an empty directory: anything else written there keeps it.
    if (::rmdir(folder.c_str()) == 0) out.folders_removed.push_back(folder);
  }
  return out;
}

std::string SummarizeDeletions(const RetentionTask& task, const std::vector<FileDeletion>& done,
                               const GalleryOutcome* gallery) {
  std::string out =
      SummarizeOutcomes(done, [&](size_t i, const FileDeletion&) { return task.files[i].label; });
  if (done.size() < task.files.size()) {
    out += ", stopped before " + std::to_string(task.files.size() - done.size()) + " file(s)";
  }
  if (gallery == nullptr || task.gallery.empty()) return out;
  std::map<std::string, std::string> label_of;
  for (const GalleryFileEntry& g : task.gallery) label_of[g.uri] = g.label;
  out += "; gallery images: " +
         SummarizeOutcomes(gallery->done,
                           [&](size_t, const GalleryDeletion& d) { return label_of[d.uri]; });
  if (gallery->done.size() < task.gallery.size()) {
    out += ", not reached " + std::to_string(task.gallery.size() - gallery->done.size());
  }
  if (!gallery->folders_removed.empty()) {
    out += ", " + std::to_string(gallery->folders_removed.size()) + " folder(s) removed";
  }
  return out;
}

}  // namespace ablate::worker
