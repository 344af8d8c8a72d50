#include "detector/cpu_threads.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>

#include <algorithm>

namespace ablate::detector {

void SetCpuThreads(int intra_op_threads) {
  at::set_num_threads(std::max(1, intra_op_threads));
  // Looked up at run time: the BLAS behind libblas.so.3 is chosen by Debian's alternatives, so
  // OpenBLAS may or may not be there; no link-time dependency on it.
  using SetThreadsFn = void (*)(int);
  if (auto* set_threads =
          reinterpret_cast<SetThreadsFn>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) {
    set_threads(1);
  }
}

}  // namespace ablate::detector
