#include "dashboard/gallery_files.h"

#include <filesystem>
#include <fstream>
#include <system_error>

#include "absl/strings/str_cat.h"

namespace ablate::dashboard {
namespace fs = std::filesystem;

std::string GalleryImageUrl(int64_t evaluation_id, int64_t image_id) {
  return absl::StrCat("/api/gallery/", evaluation_id, "/", image_id);
}

StatusOr<std::string> ReadGalleryImage(server::RunReader& store, int64_t evaluation_id,
                                       int64_t image_id) {
  server::GalleryFileFilter filter;
  filter.evaluation = server::EvaluationId{evaluation_id};
  ABLATE_ASSIGN_OR_RETURN(std::vector<server::GalleryFile> files, store.ListGalleryFiles(filter));
  const server::GalleryFile* file = nullptr;
  for (const server::GalleryFile& f : files) {
    if (f.pass == 0 && f.image_id == image_id) file = &f;
  }
  if (file == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("evaluation ", evaluation_id, " has no registered gallery image ", image_id));
  }
  if (file->deleted()) {
    return absl::FailedPreconditionError(
        absl::StrCat("gallery image ", image_id, " of evaluation ", evaluation_id,
                     " was deleted by retention job ", file->deleted_by_job_id));
  }
  constexpr char kScheme[] = "file://";
  const fs::path path = file->uri.rfind(kScheme, 0) == 0
                            ? fs::path(file->uri.substr(sizeof(kScheme) - 1))
                            : fs::path();
  // The store accepted only file:///abs/dir/name.jpg without '.' or '..' (server::ValidateGallery);
  // check again so a row written some other way cannot name another file.
  if (!path.is_absolute() || path.lexically_normal() != path) {
    return absl::NotFoundError(absl::StrCat("gallery image ", image_id, " of evaluation ",
                                            evaluation_id, " has an unusable uri ", file->uri));
  }
  std::error_code ec;
  const fs::file_status status = fs::symlink_status(path, ec);
  if (ec || !fs::exists(status)) {
    return absl::NotFoundError(absl::StrCat("gallery image ", image_id, " of evaluation ",
                                            evaluation_id, " is gone: ", path.string()));
  }
  if (!fs::is_regular_file(status)) {
    return absl::NotFoundError(
        absl::StrCat("gallery image ", path.string(), " is not a regular file"));
  }
  const auto size = fs::file_size(path, ec);
  if (ec) {
    return absl::NotFoundError(absl::StrCat("gallery image ", path.string(), ": ", ec.message()));
  }
  if (static_cast<int64_t>(size) > kMaxGalleryImageBytes) {
    return absl::ResourceExhaustedError(absl::StrCat("gallery image ", path.string(), " has ", size,
                                                     " bytes (limit ", kMaxGalleryImageBytes, ")"));
  }
  std::ifstream in(path, std::ios::binary);
  std::string bytes(size, '\0');
  if (!in || !in.read(bytes.data(), static_cast<std::streamsize>(size))) {
    return absl::InternalError(absl::StrCat("cannot read gallery image ", path.string()));
  }
  // JPEG files start with SOI (FF D8) and a marker (FF).
  if (bytes.size() < 3 || static_cast<unsigned char>(bytes[0]) != 0xFF ||
      static_cast<unsigned char>(bytes[1]) != 0xD8 ||
      static_cast<unsigned char>(bytes[2]) != 0xFF) {
    return absl::NotFoundError(absl::StrCat("gallery image ", path.string(), " is not a JPEG"));
  }
  return bytes;
}

}  // namespace ablate::dashboard
