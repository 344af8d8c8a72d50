#include "coco/dataset.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "coco/json_file.h"
#include "coco/json_internal.h"
#include "simdjson.h"

namespace ablate::coco {
namespace {

using internal::JsonFieldError;
using internal::ReadBox;
using internal::ReadInt64;
using internal::ReadSegmentation;

Status ParseInto(simdjson::padded_string_view json, std::vector<ImageInfo>* images,
                 std::vector<CategoryInfo>* categories, std::vector<GtAnnotation>* annotations) {
  std::string where = "top level";
  try {
    simdjson::ondemand::parser parser;
    simdjson::ondemand::document doc = parser.iterate(json);
    simdjson::ondemand::object top = doc.get_object();
    for (auto section : top) {
      std::string_view name = section.unescaped_key();
      if (name == "images") {
        size_t i = 0;
        for (auto item : section.value().get_array()) {
          where = absl::StrCat("images[", i++, "]");
          ImageInfo img;
          bool have_id = false;
          for (auto f : item.get_object()) {
            simdjson::ondemand::raw_json_string k = f.key();
            if (k == "id") {
              img.id = ReadInt64(f.value(), "'id'");
              have_id = true;
            } else if (k == "width") {
              img.width = static_cast<uint32_t>(ReadInt64(f.value(), "'width'"));
            } else if (k == "height") {
              img.height = static_cast<uint32_t>(ReadInt64(f.value(), "'height'"));
            } else if (k == "file_name") {
              img.file_name = std::string(std::string_view(f.value().get_string()));
            }
          }
          if (!have_id) throw JsonFieldError{"missing 'id'"};
          images->push_back(std::move(img));
        }
      } else if (name == "categories") {
        size_t i = 0;
        for (auto item : section.value().get_array()) {
          where = absl::StrCat("categories[", i++, "]");
          CategoryInfo cat;
          bool have_id = false;
          for (auto f : item.get_object()) {
            simdjson::ondemand::raw_json_string k = f.key();
            if (k == "id") {
              cat.id = ReadInt64(f.value(), "'id'");
              have_id = true;
            } else if (k == "name") {
              cat.name = std::string(std::string_view(f.value().get_string()));
            } else if (k == "supercategory") {
              cat.supercategory = std::string(std::string_view(f.value().get_string()));
            }
          }
          if (!have_id) throw JsonFieldError{"missing 'id'"};
          categories->push_back(std::move(cat));
        }
      } else if (name == "annotations") {
        size_t i = 0;
        for (auto item : section.value().get_array()) {
          // Cheap context: the index is formatted only when an error is reported.
          ++i;
          GtAnnotation ann;
          bool have_id = false, have_img = false, have_cat = false, have_area = false;
          bool have_bbox = false;
          try {
            for (auto f : item.get_object()) {
              simdjson::ondemand::raw_json_string k = f.key();
              if (k == "id") {
                ann.id = ReadInt64(f.value(), "'id'");
                have_id = true;
              } else if (k == "image_id") {
                ann.image_id = ReadInt64(f.value(), "'image_id'");
                have_img = true;
              } else if (k == "category_id") {
                ann.category_id = ReadInt64(f.value(), "'category_id'");
                have_cat = true;
              } else if (k == "bbox") {
                bool empty = false;
                ann.bbox = ReadBox(f.value(), &empty);
                have_bbox = !empty;
              } else if (k == "area") {
                ann.area = f.value().get_double();
                have_area = true;
              } else if (k == "iscrowd") {
                simdjson::ondemand::value v = f.value();
                if (v.type() == simdjson::ondemand::json_type::boolean) {
                  ann.iscrowd = v.get_bool();
                } else {
                  ann.iscrowd = ReadInt64(v, "'iscrowd'") != 0;
                }
              } else if (k == "segmentation") {
                ann.segmentation = ReadSegmentation(f.value());
              }
              // "ignore" is deliberately not read: pycocotools overwrites it with iscrowd.
            }
          } catch (const JsonFieldError& e) {
            throw JsonFieldError{absl::StrCat("annotations[", i - 1, "]: ", e.message)};
          } catch (const simdjson::simdjson_error& e) {
            throw JsonFieldError{absl::StrCat("annotations[", i - 1, "]: ", e.what())};
          }
          const char* missing = !have_id     ? "id"
                                : !have_img  ? "image_id"
                                : !have_cat  ? "category_id"
                                : !have_area ? "area"
                                : !have_bbox ? "bbox"
                                             : nullptr;
          if (missing != nullptr) {
            throw JsonFieldError{absl::StrCat("annotations[", i - 1, "]: missing '", missing, "'")};
          }
          annotations->push_back(std::move(ann));
        }
        where = "after annotations";
      }
    }
  } catch (const JsonFieldError& e) {
    if (e.message.rfind("annotations[", 0) == 0) {
      return absl::InvalidArgumentError(absl::StrCat("COCO ground truth: ", e.message));
    }
    return absl::InvalidArgumentError(absl::StrCat("COCO ground truth: ", where, ": ", e.message));
  } catch (const simdjson::simdjson_error& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("COCO ground truth: malformed JSON at ", where, ": ", e.what()));
  }
  return absl::OkStatus();
}

}  // namespace

StatusOr<CocoDataset> CocoDataset::LoadFile(const std::string& path) {
  ABLATE_ASSIGN_OR_RETURN(internal::JsonFile json, internal::JsonFile::Open(path, "ground truth"));
  CocoDataset ds;
  ABLATE_RETURN_IF_ERROR(ParseInto(json.view(), &ds.images_, &ds.categories_, &ds.annotations_));
  ABLATE_RETURN_IF_ERROR(ds.BuildIndex());
  return ds;
}

StatusOr<CocoDataset> CocoDataset::Parse(std::string_view json) {
  simdjson::padded_string padded(json.data(), json.size());
  CocoDataset ds;
  ABLATE_RETURN_IF_ERROR(ParseInto(padded, &ds.images_, &ds.categories_, &ds.annotations_));
  ABLATE_RETURN_IF_ERROR(ds.BuildIndex());
  return ds;
}

StatusOr<CocoDataset> CocoDataset::FromParts(std::vector<ImageInfo> images,
                                             std::vector<CategoryInfo> categories,
                                             std::vector<GtAnnotation> annotations) {
  CocoDataset ds;
  ds.images_ = std::move(images);
  ds.categories_ = std::move(categories);
  ds.annotations_ = std::move(annotations);
  for (const GtAnnotation& a : ds.annotations_) {
    if (a.segmentation.kind != Segmentation::Kind::kRle) continue;
    Status valid = ValidateRle(a.segmentation.rle);
    if (!valid.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("COCO ground truth: annotation ", a.id, ": ", std::string(valid.message())));
    }
  }
  ABLATE_RETURN_IF_ERROR(ds.BuildIndex());
  return ds;
}

Status CocoDataset::BuildIndex() {
  image_index_.reserve(images_.size());
  for (uint32_t i = 0; i < images_.size(); ++i) {
    if (!image_index_.emplace(images_[i].id, i).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("COCO ground truth: duplicate image id ", images_[i].id));
    }
  }
  for (uint32_t i = 0; i < categories_.size(); ++i) {
    if (!category_index_.emplace(categories_[i].id, i).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("COCO ground truth: duplicate category id ", categories_[i].id));
    }
  }
  return absl::OkStatus();
}

const ImageInfo* CocoDataset::FindImage(ImageId id) const {
  auto it = image_index_.find(id);
  return it == image_index_.end() ? nullptr : &images_[it->second];
}

std::vector<ImageId> CocoDataset::SortedImageIds() const {
  std::vector<ImageId> ids;
  ids.reserve(images_.size());
  for (const auto& img : images_) ids.push_back(img.id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::vector<CategoryId> CocoDataset::SortedCategoryIds() const {
  std::vector<CategoryId> ids;
  ids.reserve(categories_.size());
  for (const auto& c : categories_) ids.push_back(c.id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

}  // namespace ablate::coco
