// Event-driven spike propagation as XLA FFI custom calls.
//
// SpikeMatmul: out[r, :] = sum_j s[r, j] * wt[j, :] over the j with s[r, j] != 0, i.e.
// out = s @ wt for a spike (count) matrix s. A silent presynaptic neuron costs nothing,
// so with a fraction p of neurons spiking per step the work is p times that of a dense
// matrix product; the result is the same sum (in a different order of additions).
//
// SpikeOuter: out[j, :] = sum_r s[r, j] * g[r, :] over the nonzero s[r, j], i.e.
// out = s^T @ g: the weight gradient of SpikeMatmul, event-driven in the same way.
//
// Both take row-major 2-D buffers; the Python side flattens batch dimensions. They run on
// the calling thread (no waits on XLA's thread pool, which could deadlock when two such
// calls run at once on a small pool).

#include <cstdint>
#include <cstring>
#include <vector>

#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;

namespace {

template <typename T>
inline void Axpy(T a, const T* __restrict x, T* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}

template <ffi::DataType DT>
ffi::Error SpikeMatmulImpl(ffi::Buffer<DT> s, ffi::Buffer<DT> wt, ffi::ResultBuffer<DT> out) {
  using T = ffi::NativeType<DT>;
  auto sd = s.dimensions();
  auto wd = wt.dimensions();
  if (sd.size() != 2 || wd.size() != 2 || sd[1] != wd[0]) {
    return ffi::Error::InvalidArgument("spike_matmul: expected s [R, N] and wt [N, M]");
  }
  const int64_t rows = sd[0], n = sd[1], m = wd[1];
  const T* sp = s.typed_data();
  const T* wp = wt.typed_data();
  T* op = out->typed_data();
  {
    std::vector<int64_t> idx(n);
    for (int64_t r = 0; r < rows; ++r) {
      const T* srow = sp + r * n;
      int64_t k = 0;
      for (int64_t j = 0; j < n; ++j) {
        if (srow[j] != T(0)) idx[k++] = j;
      }
      T* orow = op + r * m;
      std::memset(orow, 0, sizeof(T) * m);
      for (int64_t q = 0; q < k; ++q) {
        const int64_t j = idx[q];
        const T a = srow[j];
        const T* wrow = wp + j * m;
        if (a == T(1)) {
          for (int64_t i = 0; i < m; ++i) orow[i] += wrow[i];
        } else {
          Axpy(a, wrow, orow, m);
        }
      }
    }
  }
  return ffi::Error::Success();
}

template <ffi::DataType DT>
ffi::Error SpikeOuterImpl(ffi::Buffer<DT> s, ffi::Buffer<DT> g, ffi::ResultBuffer<DT> out) {
  using T = ffi::NativeType<DT>;
  auto sd = s.dimensions();
  auto gd = g.dimensions();
  if (sd.size() != 2 || gd.size() != 2 || sd[0] != gd[0]) {
    return ffi::Error::InvalidArgument("spike_outer: expected s [R, N] and g [R, M]");
  }
  const int64_t rows = sd[0], n = sd[1], m = gd[1];
  const T* sp = s.typed_data();
  const T* gp = g.typed_data();
  T* op = out->typed_data();
  {
    const int64_t j0 = 0, j1 = n;
    std::memset(op, 0, sizeof(T) * n * m);
    for (int64_t r = 0; r < rows; ++r) {
      const T* srow = sp + r * n;
      const T* grow = gp + r * m;
      for (int64_t j = j0; j < j1; ++j) {
        const T a = srow[j];
        if (a == T(0)) continue;
        T* orow = op + j * m;
        if (a == T(1)) {
          for (int64_t i = 0; i < m; ++i) orow[i] += grow[i];
        } else {
          Axpy(a, grow, orow, m);
        }
      }
    }
  }
  return ffi::Error::Success();
}

}  // namespace

#define SYNAPTAX_DEFINE(NAME, IMPL, DT)                                              \
  XLA_FFI_DEFINE_HANDLER_SYMBOL(NAME, IMPL<DT>,                                      \
                                ffi::Ffi::Bind()                                     \
                                    .Arg<ffi::Buffer<DT>>()                          \
                                    .Arg<ffi::Buffer<DT>>()                          \
                                    .Ret<ffi::Buffer<DT>>());

SYNAPTAX_DEFINE(SynaptaxSpikeMatmulF32, SpikeMatmulImpl, ffi::F32)
SYNAPTAX_DEFINE(SynaptaxSpikeMatmulF64, SpikeMatmulImpl, ffi::F64)
SYNAPTAX_DEFINE(SynaptaxSpikeOuterF32, SpikeOuterImpl, ffi::F32)
SYNAPTAX_DEFINE(SynaptaxSpikeOuterF64, SpikeOuterImpl, ffi::F64)
