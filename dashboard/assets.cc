#include "dashboard/assets.h"

namespace ablate::dashboard {

const Asset* FindAsset(std::string_view url_path) {
  for (const Asset& a : EmbeddedAssets()) {
    if (url_path == a.url_path) return &a;
  }
  return nullptr;
}

}  // namespace ablate::dashboard
