// The one way Ablate prints a size for people: 1024-based with IEC units, "512 B", "4.9 KiB",
// "3.0 MiB", "5.00 GiB" (GiB and above with two decimals; no TiB: 2048.00 GiB). Used by the
// CLI's tables and messages, the worker's messages and logs; the dashboard page's fmtBytes
// (web/src/app.js) prints the same.
//
// Pure function; safe from any thread.
#pragma once

#include <cstdint>
#include <string>

namespace ablate {

// Negative sizes print as bytes ("-5 B").
std::string HumanBytes(int64_t bytes);

}  // namespace ablate
