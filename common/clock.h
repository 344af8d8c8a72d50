// Injectable time source. Lease expiry and heartbeat logic take a Clock& so tests advance a
// FakeClock instead of sleeping. Thread safety: both implementations are safe from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace ablate {

class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since the Unix epoch.
  virtual int64_t NowUnixMs() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t NowUnixMs() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t start_unix_ms = 1'700'000'000'000) : now_ms_(start_unix_ms) {}
  int64_t NowUnixMs() const override { return now_ms_.load(); }
  void AdvanceMs(int64_t delta_ms) { now_ms_ += delta_ms; }

 private:
  std::atomic<int64_t> now_ms_;
};

}  // namespace ablate
