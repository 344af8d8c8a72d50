// libFuzzer driver for one entry point; ABLATE_FUZZ_ENTRY (a compile definition) names the
// function of fuzz_entry_points.h, e.g. SweepYamlEntry.
#include <cstdint>
#include <string_view>

#include "fuzz/fuzz_entry_points.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ablate::fuzz::ABLATE_FUZZ_ENTRY(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
