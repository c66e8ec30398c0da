// Portability macros shared by code that compiles as host C++, as CUDA and as Metal Shading Language.
// Headers that hold op math (elementwise_ops.h) include only this file.
#pragma once

#if defined(__METAL_VERSION__)
#define EMBER_FN inline
#define EMBER_FORCE_INLINE inline
#elif defined(__CUDACC__)
#define EMBER_FN __host__ __device__ __forceinline__
#define EMBER_FORCE_INLINE __host__ __device__ __forceinline__
#elif defined(_MSC_VER)
#define EMBER_FN __forceinline
#define EMBER_FORCE_INLINE __forceinline
#else
#define EMBER_FN inline __attribute__((always_inline))
#define EMBER_FORCE_INLINE inline __attribute__((always_inline))
#endif

// Kernel translation units are compiled once per SIMD level with EMBER_ISA_NS set (generic, avx2,
// avx512, neon, ...). Everything a kernel instantiates from headers lives in an inline namespace of
// that name, so two ISA builds of the same template never merge into one symbol at link time.
#ifndef EMBER_ISA_NS
#define EMBER_ISA_NS generic
#endif
