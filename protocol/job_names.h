// The names of job kinds and states: the jobs table's `kind` and `state` columns (migrations/),
// scheduler.proto's deprecated `kind`/`state` strings and `ablate jobs --json`. One list, read by
// the store's enums (server/job_store.h) and the wire's (proto/job_enums.h); each of them declares
// its values in this order and checks it with static_asserts.
//
// Header-only constants and constexpr lookups; safe from any thread.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string_view>

namespace ablate::protocol {

inline constexpr std::array<std::string_view, 3> kJobKindNames = {"train", "eval", "retention"};
inline constexpr std::array<std::string_view, 5> kJobStateNames = {"pending", "leased", "succeeded",
                                                                   "failed", "cancelled"};

// The enum value named `name`, for an enum that declares one value per name in the list's order
// starting at `first_value` (exact, case-sensitive match); nullopt when `name` is not listed.
template <typename Enum, std::size_t N>
constexpr std::optional<Enum> EnumNamed(const std::array<std::string_view, N>& names,
                                        std::string_view name, int first_value = 0) {
  for (std::size_t i = 0; i < N; ++i) {
    if (names[i] == name) return static_cast<Enum>(first_value + static_cast<int>(i));
  }
  return std::nullopt;
}

// The name of `value` in the same numbering; `fallback` for a value outside the list (one this
// build does not know, or an UNSPECIFIED before `first_value`).
template <typename Enum, std::size_t N>
constexpr std::string_view NameOf(const std::array<std::string_view, N>& names, Enum value,
                                  std::string_view fallback, int first_value = 0) {
  const long long index = static_cast<long long>(value) - first_value;
  return index >= 0 && index < static_cast<long long>(N) ? names[static_cast<std::size_t>(index)]
                                                         : fallback;
}

}  // namespace ablate::protocol
