// Mutex and MutexLock: a std::mutex that both checkers of our locking understand.
//
// - clang's -Wthread-safety (-DABLATE_THREAD_SAFETY_ANALYSIS=ON) needs a mutex type declared as a
//   capability; libstdc++'s std::mutex is not, so ABSL_GUARDED_BY(a std::mutex) checks nothing.
// - ThreadSanitizer sees a lock only through the pthread calls it intercepts or through the
//   annotations inside a TSan-built absl. Debian's abseil is built without TSan, so absl::Mutex's
//   lock and unlock are invisible to it and every access a Debian absl::Mutex guards reads as a
//   data race (scripts/test.sh --sanitize thread).
// Wrapping std::mutex with absl's attribute macros (macros only: nothing of absl is linked) gives
// both. Not re-entrant, no condition variables: what the tree needs today.
//
// Thread safety: Lock/Unlock/TryLock from any thread; Unlock only by the holder.
#pragma once

#include <mutex>

#include "absl/base/thread_annotations.h"

namespace ablate {

class ABSL_LOCKABLE Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mu_.lock(); }
  void Unlock() ABSL_UNLOCK_FUNCTION() { mu_.unlock(); }
  bool TryLock() ABSL_EXCLUSIVE_TRYLOCK_FUNCTION(true) { return mu_.try_lock(); }

 private:
  std::mutex mu_;
};

// Holds `mu` for its scope.
class ABSL_SCOPED_LOCKABLE MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) { mu_->Lock(); }
  ~MutexLock() ABSL_UNLOCK_FUNCTION() { mu_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* const mu_;
};

}  // namespace ablate
