#pragma once
// KLAB_DEVICE_PRAGMA(unroll) before a loop: the pragma where nvcc compiles device code (there,
// full unrolling keeps a small array indexed by the loop in registers, and lets later loads issue
// early), nothing elsewhere, where GCC would warn of an unknown pragma.
#ifdef __CUDA_ARCH__
#define KLAB_DEVICE_PRAGMA(text) _Pragma(#text)
#else
#define KLAB_DEVICE_PRAGMA(text)
#endif
