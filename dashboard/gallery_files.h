// Serving gallery images (issue 7): the dashboard reads a gallery JPEG only when the store has it
// registered for that evaluation. The request names numbers (evaluation id, image id), never a
// path: the path comes from the registered file:// URI (checked when it was recorded, see
// server::ValidateGallery), so no request can reach a file outside the registered set.
//
// Thread safety: stateless; safe from any thread (RunReader is thread-safe).
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"
#include "server/run_store.h"

namespace ablate::dashboard {

// The URL under which the page loads an image: "/api/gallery/{evaluation_id}/{image_id}".
std::string GalleryImageUrl(int64_t evaluation_id, int64_t image_id);

// Files larger than this are refused (gallery images are small JPEGs).
inline constexpr int64_t kMaxGalleryImageBytes = 16 << 20;

// The bytes of the registered image `image_id` of the gallery evaluation `evaluation_id` shows
// (pass 0; files of later identical passes are registered for retention only, never served).
// FailedPrecondition naming the retention job when retention deleted the file (the API answers
// 410 Gone: the row is kept, the file will not come back). NotFound, naming what is missing, when
// the evaluation has no such registered image, when the file is gone otherwise, is not a regular
// file (symlinks are refused) or does not start like a JPEG; ResourceExhausted above
// kMaxGalleryImageBytes; Internal on a read error.
StatusOr<std::string> ReadGalleryImage(server::RunReader& store, int64_t evaluation_id,
                                       int64_t image_id);

}  // namespace ablate::dashboard
