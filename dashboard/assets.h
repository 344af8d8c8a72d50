// The dashboard's page files (web/), compiled into the binary by embed_assets.cmake so the page
// needs no files at run time and no network access (no CDN).
//
// Thread safety: immutable static data.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

namespace ablate::dashboard {

struct Asset {
  const char* url_path;      // e.g. "/assets/app.js"; "/" is the page itself
  const char* content_type;  // e.g. "text/javascript; charset=utf-8"
  const unsigned char* data;
  size_t size;  // bytes, without the trailing NUL kept after data
  std::string_view bytes() const { return {reinterpret_cast<const char*>(data), size}; }
};

// Every embedded file, in the order CMake listed them.
std::span<const Asset> EmbeddedAssets();

// The asset served at `url_path`, or nullptr.
const Asset* FindAsset(std::string_view url_path);

}  // namespace ablate::dashboard
