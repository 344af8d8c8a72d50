// CPU thread configuration for training and inference processes.
#pragma once

namespace ablate::detector {

// Sets LibTorch's intra-op (OpenMP) thread count to `intra_op_threads` (>= 1) and, when the
// process's BLAS is OpenBLAS, pins OpenBLAS to one thread.
//
// Why the second part: Debian's libopenblas0-pthread (installed by scripts/setup.sh because the
// reference BLAS is 16x slower, STACK-NOTES.md) starts its own pool sized to the cores, and
// LibTorch calls BLAS from inside its OpenMP workers (1x1 convolutions at small batch), so two
// spinning pools fight over the same cores. Measured on the 2-core VM: the tiny preset's training
// step is 5-7% faster with OpenBLAS at one thread on a quiet machine, 18% with other processes
// competing. Call once, early, from the main thread.
void SetCpuThreads(int intra_op_threads);

}  // namespace ablate::detector
