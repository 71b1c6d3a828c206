// Tree (Hines) elimination for the cable equation as an XLA FFI custom call.
//
// Solves A x = r for a matrix whose sparsity is a forest: row i holds diag[i] on the
// diagonal, lower[i] in column parent[i] and, for every child c of i, upper[c] in
// column c (parent[i] = -1 marks a root). `order` lists the nodes parents first, so one
// sweep from the leaves to the roots and one back make an exact O(n) solve.
//
// Leading (batch) dimensions broadcast NumPy-style: each operand's batch dimension is
// either the output's or 1, which is what jax.ffi's "expand_dims" vmap method passes.

#include <cstdint>
#include <vector>

#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;

namespace {

struct Broadcast {
  // Offsets (in elements) of one operand for each flattened batch index.
  std::vector<int64_t> offsets;
};

template <typename Buf>
ffi::Error BatchOffsets(const Buf& buf, ffi::Span<const int64_t> out_dims, int64_t n,
                        Broadcast* bc) {
  auto dims = buf.dimensions();
  const size_t rank = out_dims.size();
  if (dims.size() != rank || dims[rank - 1] != n) {
    return ffi::Error::InvalidArgument("hines: operand shape does not match the output");
  }
  int64_t batch = 1;
  for (size_t k = 0; k + 1 < rank; ++k) batch *= out_dims[k];
  bc->offsets.assign(batch, 0);
  // Row-major strides of the operand, zero where it broadcasts.
  std::vector<int64_t> stride(rank, 0);
  int64_t s = n;
  for (size_t k = rank - 1; k-- > 0;) {
    if (dims[k] != 1 && dims[k] != out_dims[k]) {
      return ffi::Error::InvalidArgument("hines: batch dimensions do not broadcast");
    }
    stride[k] = dims[k] == 1 ? 0 : s;
    s *= dims[k];
  }
  for (int64_t b = 0; b < batch; ++b) {
    int64_t rem = b, off = 0;
    for (size_t k = rank - 1; k-- > 0;) {
      off += (rem % out_dims[k]) * stride[k];
      rem /= out_dims[k];
    }
    bc->offsets[b] = off;
  }
  return ffi::Error::Success();
}

template <ffi::DataType T>
ffi::Error HinesImpl(ffi::Buffer<T> lower, ffi::Buffer<T> upper, ffi::Buffer<T> diag,
                     ffi::Buffer<T> rhs, ffi::Buffer<ffi::S32> parent,
                     ffi::Buffer<ffi::S32> order, ffi::ResultBuffer<T> out) {
  using Real = ffi::NativeType<T>;
  auto out_dims = out->dimensions();
  if (out_dims.size() == 0) return ffi::Error::InvalidArgument("hines: scalar output");
  const int64_t n = out_dims[out_dims.size() - 1];
  if (parent.element_count() != n || order.element_count() != n) {
    return ffi::Error::InvalidArgument("hines: parent and order need one entry per node");
  }
  Broadcast bl, bu, bd, br;
  for (auto [buf, bc] : {std::pair{&lower, &bl}, std::pair{&upper, &bu},
                         std::pair{&diag, &bd}, std::pair{&rhs, &br}}) {
    auto err = BatchOffsets(*buf, out_dims, n, bc);
    if (!err.success()) return err;
  }
  const int32_t* par = parent.typed_data();
  const int32_t* ord = order.typed_data();
  const int64_t batch = static_cast<int64_t>(br.offsets.size());
  Real* x_all = out->typed_data();
  // One system after another: with breadth-first node numbering consecutive nodes
  // are on independent paths, so each sweep overlaps well on out-of-order cores
  // (measured faster than a node-major layout vectorised over the batch, whose
  // transposes cost more than they save).
  std::vector<Real> d(n);
  for (int64_t b = 0; b < batch; ++b) {
    const Real* lo = lower.typed_data() + bl.offsets[b];
    const Real* up = upper.typed_data() + bu.offsets[b];
    const Real* dg = diag.typed_data() + bd.offsets[b];
    const Real* r = rhs.typed_data() + br.offsets[b];
    Real* x = x_all + b * n;
    for (int64_t i = 0; i < n; ++i) {
      d[i] = dg[i];
      x[i] = r[i];
    }
    for (int64_t k = n - 1; k >= 0; --k) {
      const int32_t i = ord[k];
      const int32_t p = par[i];
      if (p >= 0) {
        const Real f = up[i] / d[i];
        d[p] -= f * lo[i];
        x[p] -= f * x[i];
      }
    }
    for (int64_t k = 0; k < n; ++k) {
      const int32_t i = ord[k];
      const int32_t p = par[i];
      if (p >= 0) x[i] -= lo[i] * x[p];
      x[i] /= d[i];
    }
  }
  return ffi::Error::Success();
}

}  // namespace

XLA_FFI_DEFINE_HANDLER_SYMBOL(SynaptaxHinesF64, HinesImpl<ffi::F64>,
                              ffi::Ffi::Bind()
                                  .Arg<ffi::Buffer<ffi::F64>>()
                                  .Arg<ffi::Buffer<ffi::F64>>()
                                  .Arg<ffi::Buffer<ffi::F64>>()
                                  .Arg<ffi::Buffer<ffi::F64>>()
                                  .Arg<ffi::Buffer<ffi::S32>>()
                                  .Arg<ffi::Buffer<ffi::S32>>()
                                  .Ret<ffi::Buffer<ffi::F64>>());

XLA_FFI_DEFINE_HANDLER_SYMBOL(SynaptaxHinesF32, HinesImpl<ffi::F32>,
                              ffi::Ffi::Bind()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Arg<ffi::Buffer<ffi::S32>>()
                                  .Arg<ffi::Buffer<ffi::S32>>()
                                  .Ret<ffi::Buffer<ffi::F32>>());
