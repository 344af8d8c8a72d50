#include "coco/results.h"

#include <charconv>

#include "absl/strings/str_cat.h"
#include "coco/json_file.h"
#include "coco/json_internal.h"
#include "simdjson.h"

namespace ablate::coco {
namespace {

using internal::JsonFieldError;

// Fills Detection or ResultAnnotation (same field names) straight from the JSON.
template <typename T>
Status ParseDetections(simdjson::padded_string_view json, std::vector<T>* out) {
  size_t i = 0;
  try {
    simdjson::ondemand::parser parser;
    simdjson::ondemand::document doc = parser.iterate(json);
    if (doc.type() != simdjson::ondemand::json_type::array) {
      return absl::InvalidArgumentError("COCO results: the file must hold a JSON array");
    }
    for (auto item : doc.get_array()) {
      T det;
      det.has_bbox = false;
      bool have_img = false, have_cat = false, have_score = false;
      for (auto f : item.get_object()) {
        simdjson::ondemand::raw_json_string k = f.key();
        if (k == "image_id") {
          det.image_id = internal::ReadInt64(f.value(), "'image_id'");
          have_img = true;
        } else if (k == "category_id") {
          det.category_id = internal::ReadInt64(f.value(), "'category_id'");
          have_cat = true;
        } else if (k == "bbox") {
          bool empty = false;
          det.bbox = internal::ReadBox(f.value(), &empty);
          det.has_bbox = !empty;
        } else if (k == "score") {
          det.score = f.value().get_double();
          have_score = true;
        } else if (k == "segmentation") {
          det.segmentation = internal::ReadSegmentation(f.value());
        }
      }
      const char* missing = !have_img     ? "image_id"
                            : !have_cat   ? "category_id"
                            : !have_score ? "score"
                                          : nullptr;
      if (missing != nullptr) throw JsonFieldError{absl::StrCat("missing '", missing, "'")};
      out->push_back(std::move(det));
      ++i;
    }
  } catch (const JsonFieldError& e) {
    return absl::InvalidArgumentError(absl::StrCat("COCO results[", i, "]: ", e.message));
  } catch (const simdjson::simdjson_error& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("COCO results: malformed JSON at detection ", i, ": ", e.what()));
  }
  return absl::OkStatus();
}

}  // namespace

StatusOr<std::vector<Detection>> ReadDetectionsFile(const std::string& path) {
  ABLATE_ASSIGN_OR_RETURN(internal::JsonFile json, internal::JsonFile::Open(path, "results"));
  std::vector<Detection> dets;
  // ~100 bytes of JSON per bbox detection: avoids most reallocations on big files.
  dets.reserve(json.size() / 100 + 16);
  ABLATE_RETURN_IF_ERROR(ParseDetections(json.view(), &dets));
  return dets;
}

StatusOr<std::vector<Detection>> ParseDetectionsJson(std::string_view json) {
  simdjson::padded_string padded(json.data(), json.size());
  std::vector<Detection> dets;
  ABLATE_RETURN_IF_ERROR(ParseDetections(padded, &dets));
  return dets;
}

StatusOr<CocoResults> CocoResults::LoadFile(const std::string& path, const CocoDataset& gt) {
  ABLATE_ASSIGN_OR_RETURN(internal::JsonFile json, internal::JsonFile::Open(path, "results"));
  CocoResults res;
  res.annotations_.reserve(json.size() / 80 + 16);
  ABLATE_RETURN_IF_ERROR(ParseDetections(json.view(), &res.annotations_));
  ABLATE_RETURN_IF_ERROR(res.ApplyLoadRes(gt));
  return res;
}

StatusOr<CocoResults> CocoResults::Parse(std::string_view json, const CocoDataset& gt) {
  simdjson::padded_string padded(json.data(), json.size());
  CocoResults res;
  ABLATE_RETURN_IF_ERROR(ParseDetections(padded, &res.annotations_));
  ABLATE_RETURN_IF_ERROR(res.ApplyLoadRes(gt));
  return res;
}

StatusOr<CocoResults> CocoResults::FromDetections(std::vector<Detection> detections,
                                                  const CocoDataset& gt) {
  CocoResults res;
  res.annotations_.resize(detections.size());
  for (size_t i = 0; i < detections.size(); ++i) {
    Detection& d = detections[i];
    ResultAnnotation& r = res.annotations_[i];
    r.image_id = d.image_id;
    r.category_id = d.category_id;
    r.has_bbox = d.has_bbox;
    r.bbox = d.bbox;
    r.score = d.score;
    r.segmentation = std::move(d.segmentation);
    if (r.segmentation.kind == Segmentation::Kind::kRle) {
      Status valid = ValidateRle(r.segmentation.rle);
      if (!valid.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("COCO results: detection ", i, ": ", std::string(valid.message())));
      }
    }
  }
  ABLATE_RETURN_IF_ERROR(res.ApplyLoadRes(gt));
  return res;
}

Status CocoResults::ApplyLoadRes(const CocoDataset& gt) {
  std::vector<ResultAnnotation>& anns = annotations_;
  if (anns.empty()) {
    return absl::InvalidArgumentError(
        "COCO results: the results list is empty (pycocotools' loadRes raises IndexError)");
  }
  for (size_t i = 0; i < anns.size(); ++i) {
    if (gt.FindImage(anns[i].image_id) == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "COCO results: results do not correspond to the ground truth: detection ", i,
          " has image_id ", anns[i].image_id, ", which is not in the ground truth images"));
    }
  }
  const bool bbox_branch = anns[0].has_bbox;
  if (!bbox_branch && anns[0].segmentation.kind == Segmentation::Kind::kNone) {
    return absl::InvalidArgumentError(
        "COCO results: detection 0 has neither a bbox nor a segmentation");
  }
  for (size_t i = 0; i < anns.size(); ++i) {
    ResultAnnotation& r = anns[i];
    r.id = static_cast<AnnotationId>(i + 1);
    if (bbox_branch) {
      if (!r.has_bbox) {
        return absl::InvalidArgumentError(absl::StrCat(
            "COCO results: detection ", i,
            " has no bbox, but the first detection has one (pycocotools raises KeyError)"));
      }
      // A detection without segmentation keeps Kind::kNone: its mask is the box polygon
      // loadRes would build, rasterised on demand (RleFromBox gives the same pixels).
      r.area = r.bbox.w * r.bbox.h;
    } else {
      const Segmentation& s = r.segmentation;
      if (s.kind == Segmentation::Kind::kNone) {
        return absl::InvalidArgumentError(absl::StrCat(
            "COCO results: detection ", i,
            " has no segmentation, but the first detection has no bbox (pycocotools raises "
            "KeyError)"));
      }
      if (s.kind != Segmentation::Kind::kRle || s.rle_was_uncompressed) {
        return absl::InvalidArgumentError(absl::StrCat(
            "COCO results: detection ", i, " has a ",
            s.kind == Segmentation::Kind::kPolygons ? "polygon" : "uncompressed RLE",
            " segmentation and the results have no bbox; pycocotools' loadRes only takes "
            "compressed RLE there (it raises TypeError) - give each detection a bbox"));
      }
      r.area = static_cast<double>(RleArea(s.rle));
      if (!r.has_bbox) r.bbox = RleToBbox(s.rle);
    }
  }
  return absl::OkStatus();
}

namespace {

void AppendDouble(std::string* out, double v) {
  char buf[32];
  auto res = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, res.ptr);
}

void AppendJsonString(std::string* out, std::string_view s) {
  out->push_back('"');
  for (char c : s) {
    if (c == '"' || c == '\\') out->push_back('\\');
    out->push_back(c);
  }
  out->push_back('"');
}

}  // namespace

std::string WriteResultsJson(const std::vector<Detection>& detections) {
  std::string out;
  out.reserve(detections.size() * 110 + 2);
  out.push_back('[');
  for (size_t i = 0; i < detections.size(); ++i) {
    const Detection& d = detections[i];
    if (i) out.push_back(',');
    absl::StrAppend(&out, "{\"image_id\":", d.image_id, ",\"category_id\":", d.category_id);
    if (d.has_bbox) {
      out.append(",\"bbox\":[");
      AppendDouble(&out, d.bbox.x);
      out.push_back(',');
      AppendDouble(&out, d.bbox.y);
      out.push_back(',');
      AppendDouble(&out, d.bbox.w);
      out.push_back(',');
      AppendDouble(&out, d.bbox.h);
      out.push_back(']');
    }
    out.append(",\"score\":");
    AppendDouble(&out, d.score);
    const Segmentation& s = d.segmentation;
    if (s.kind == Segmentation::Kind::kRle) {
      absl::StrAppend(&out, ",\"segmentation\":{\"size\":[", s.rle.h, ",", s.rle.w,
                      "],\"counts\":");
      AppendJsonString(&out, RleToString(s.rle));
      out.push_back('}');
    } else if (s.kind == Segmentation::Kind::kPolygons) {
      out.append(",\"segmentation\":[");
      for (size_t p = 0; p < s.polygons.size(); ++p) {
        if (p) out.push_back(',');
        out.push_back('[');
        for (size_t j = 0; j < s.polygons[p].size(); ++j) {
          if (j) out.push_back(',');
          AppendDouble(&out, s.polygons[p][j]);
        }
        out.push_back(']');
      }
      out.push_back(']');
    }
    out.push_back('}');
  }
  out.push_back(']');
  return out;
}

}  // namespace ablate::coco
