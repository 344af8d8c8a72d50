// Mutex and MutexLock: a std::mutex that both checkers of our locking understand.
//
// - clang's -Wthread-safety (-DABLATE_THREAD_SAFETY_ANALYSIS=ON) needs a mutex type declared as a
//   capability; libstdc++'s std::mutex is not, so ABSL_GUARDED_BY(a std::mutex) checks nothing.
// - ThreadSanitizer sees a lock only through the pthread calls it intercepts or through the
//   annotations inside a TSan-built absl. Debian's abseil is built without TSan, so absl::Mutex's
//   lock and unlock are invisible to it and every access a Debian absl::Mutex guards reads as a
//   data race (scripts/test.sh --sanitize thread).
// Wrapping std::mutex with absl's attribute macros (macros only: nothing of absl is linked) gives
// both. Not re-entrant; CondVar waits on it (a std::condition_variable over the same std::mutex).
//
// Thread safety: Lock/Unlock/TryLock from any thread; Unlock only by the holder.
#pragma once

#include <condition_variable>
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
  friend class CondVar;
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

// Waiting for a condition on state a Mutex guards.
class CondVar {
 public:
  // The caller holds `mu`. Releases it until `done()` holds (checked with `mu` held, so the
  // predicate may read what `mu` guards) and returns holding it again.
  template <typename Predicate>
  void Wait(Mutex* mu, Predicate done) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    std::unique_lock<std::mutex> lock(mu->mu_, std::adopt_lock);
    cv_.wait(lock, done);
    lock.release();  // still locked: the caller's MutexLock unlocks it
  }
  void NotifyAll() { cv_.notify_all(); }

 private:
  std::condition_variable cv_;
};

}  // namespace ablate
