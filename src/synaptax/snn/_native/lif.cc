// A recurrent network of leaky integrate-and-fire neurons, fused into two XLA FFI calls:
// the whole forward scan and the whole reverse scan of its gradient.
//
// Model (synaptax.snn.LIF with reset="subtract", no refractory period, reset signal
// detached; rows are independent samples, neurons are columns):
//
//   rec[t]  = s[t-1] @ wt                        (wt[pre, post]; event-driven: only the
//                                                  neurons that spiked are summed)
//   r[t]    = H(v[t-1] - theta)
//   v[t]    = beta * v[t-1] + (c[t] + rec[t]) - r[t] * theta
//   s[t]    = H(v[t] - theta)                     (surrogate derivative in the reverse scan)
//
// Reverse scan, with a_v and a_s the adjoints of v[t] and s[t] (each the sum of the
// caller's cotangent of that output and of what flows back from step t+1):
//
//   u       = a_v + a_s * sigma'(v[t] - theta)     (adjoint of v[t], and of c[t])
//   a_v     <- beta * u                            (for v[t-1])
//   a_s     <- u @ wt^T                            (for s[t-1]; a dense product: u is dense)
//   d wt    += s[t-1]^T u                          (event-driven)
//   d beta  += sum_rows u * v[t-1]
//   d theta += sum_rows (-r[t] * u - a_s * sigma'(v[t] - theta))
//
// Rows are split between threads; each thread runs the whole time loop for its rows, so
// the threads never wait for each other until the end, where their partial weight and
// parameter gradients are summed. The recurrent products are blocked by columns so that the
// weights a thread uses stay in its L2 cache.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;

namespace {

template <typename T>
struct VecOf;
template <>
struct VecOf<float> {
  typedef float type __attribute__((vector_size(64)));
};
template <>
struct VecOf<double> {
  typedef double type __attribute__((vector_size(64)));
};
template <typename T>
using Vec = typename VecOf<T>::type;  // 64 bytes: one AVX-512 register, or two AVX ones

template <typename T>
constexpr int64_t kLanes = 64 / sizeof(T);

template <typename T>
inline Vec<T> Load(const T* p) {
  Vec<T> v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

template <typename T>
inline void Store(T* p, const Vec<T>& v) {
  std::memcpy(p, &v, sizeof(v));
}

// Surrogate derivatives, numbered as in synaptax.snn._surrogate. A template parameter, so
// that the loops that use them are vectorised.
template <int K, typename T>
inline T Surrogate(T p1, T p2, T x) {
  if constexpr (K == 0) {  // fast sigmoid: 1 / (1 + slope |x|)^2
    const T d = T(1) + p1 * std::abs(x);
    return T(1) / (d * d);
  } else if constexpr (K == 1) {  // arctan: (alpha / 2) / (1 + (pi alpha x / 2)^2)
    const T y = T(M_PI / 2) * p1 * x;
    return (p1 / T(2)) / (T(1) + y * y);
  } else if constexpr (K == 2) {  // logistic: slope s (1 - s), s = 1 / (1 + exp(-slope x))
    const T s = T(1) / (T(1) + std::exp(-p1 * x));
    return p1 * s * (T(1) - s);
  } else {  // triangular: dampening * max(0, 1 - |x| / width)
    return p2 * std::max(T(0), T(1) - std::abs(x) / p1);
  }
}

// Spikes of a group of rows, as lists of (column, value) per row.
template <typename T>
struct Events {
  std::vector<int64_t> start, col;
  std::vector<T> val;

  void Collect(const T* s, int64_t rows, int64_t n) {
    start.assign(rows + 1, 0);
    col.resize(rows * n);
    val.resize(rows * n);
    int64_t k = 0;
    for (int64_t r = 0; r < rows; ++r) {
      const T* row = s + r * n;
      for (int64_t j = 0; j < n; ++j) {
        if (row[j] != T(0)) {
          col[k] = j;
          val[k] = row[j];
          ++k;
        }
      }
      start[r + 1] = k;
    }
  }
};

// out[r, :] = sum over the spikes (j, a) of row r of a * w[j, :], for row-major w (n x n)
// and out (rows x n). Column blocks outermost: the block of w (n x 4 vectors) is reused by
// every row while it is in L2.
template <typename T>
void EventProduct(const Events<T>& ev, int64_t rows, const T* w, int64_t n, T* out) {
  constexpr int64_t L = kLanes<T>, B = 4 * kLanes<T>;
  const int64_t full = n - n % B;
  for (int64_t c0 = 0; c0 < full; c0 += B) {
    for (int64_t r = 0; r < rows; ++r) {
      Vec<T> a0{}, a1{}, a2{}, a3{};
      for (int64_t q = ev.start[r]; q < ev.start[r + 1]; ++q) {
        const T* x = w + ev.col[q] * n + c0;
        const T a = ev.val[q];
        a0 += a * Load(x);
        a1 += a * Load(x + L);
        a2 += a * Load(x + 2 * L);
        a3 += a * Load(x + 3 * L);
      }
      T* o = out + r * n + c0;
      Store(o, a0);
      Store(o + L, a1);
      Store(o + 2 * L, a2);
      Store(o + 3 * L, a3);
    }
  }
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = full; c < n; ++c) {
      T a = T(0);
      for (int64_t q = ev.start[r]; q < ev.start[r + 1]; ++q) a += ev.val[q] * w[ev.col[q] * n + c];
      out[r * n + c] = a;
    }
  }
}

// g[j, :] += a * u[r, :] over the spikes (j, a) of each row r, for row-major u (rows x n) and
// g (n x n). Column blocks outermost, the block of u's row in registers.
template <typename T>
void EventOuter(const Events<T>& ev, int64_t rows, const T* u, int64_t n, T* g) {
  constexpr int64_t L = kLanes<T>, B = 4 * kLanes<T>;
  const int64_t full = n - n % B;
  for (int64_t c0 = 0; c0 < full; c0 += B) {
    for (int64_t r = 0; r < rows; ++r) {
      const T* x = u + r * n + c0;
      const Vec<T> u0 = Load(x), u1 = Load(x + L), u2 = Load(x + 2 * L), u3 = Load(x + 3 * L);
      for (int64_t q = ev.start[r]; q < ev.start[r + 1]; ++q) {
        T* o = g + ev.col[q] * n + c0;
        const T a = ev.val[q];
        Store(o, Load(o) + a * u0);
        Store(o + L, Load(o + L) + a * u1);
        Store(o + 2 * L, Load(o + 2 * L) + a * u2);
        Store(o + 3 * L, Load(o + 3 * L) + a * u3);
      }
    }
  }
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t q = ev.start[r]; q < ev.start[r + 1]; ++q) {
      for (int64_t c = full; c < n; ++c) g[ev.col[q] * n + c] += ev.val[q] * u[r * n + c];
    }
  }
}

// out[rows, 0:n] = u[rows, 0:n] @ w for row-major u (stride n) and w (n x n): RB rows by
// two vectors of columns at a time, accumulated in registers.
template <typename T, int RB>
void GemmRows(const T* u, const T* w, int64_t n, T* out) {
  constexpr int64_t L = kLanes<T>;
  const int64_t full = n - n % (2 * L);
  for (int64_t c0 = 0; c0 < full; c0 += 2 * L) {
    Vec<T> acc0[RB], acc1[RB];
    for (int rr = 0; rr < RB; ++rr) acc0[rr] = acc1[rr] = Vec<T>{};
    for (int64_t i = 0; i < n; ++i) {
      const Vec<T> w0 = Load(w + i * n + c0), w1 = Load(w + i * n + c0 + L);
      for (int rr = 0; rr < RB; ++rr) {
        const T a = u[rr * n + i];
        acc0[rr] += a * w0;
        acc1[rr] += a * w1;
      }
    }
    for (int rr = 0; rr < RB; ++rr) {
      Store(out + rr * n + c0, acc0[rr]);
      Store(out + rr * n + c0 + L, acc1[rr]);
    }
  }
  for (int rr = 0; rr < RB; ++rr) {
    for (int64_t c = full; c < n; ++c) {
      T a = T(0);
      for (int64_t i = 0; i < n; ++i) a += u[rr * n + i] * w[i * n + c];
      out[rr * n + c] = a;
    }
  }
}

template <typename T>
void Gemm(const T* u, const T* w, int64_t rows, int64_t n, T* out) {
  int64_t r = 0;
  for (; r + 8 <= rows; r += 8) GemmRows<T, 8>(u + r * n, w, n, out + r * n);
  for (; r + 4 <= rows; r += 4) GemmRows<T, 4>(u + r * n, w, n, out + r * n);
  for (; r < rows; ++r) GemmRows<T, 1>(u + r * n, w, n, out + r * n);
}

// Split rows [0, rows) into contiguous chunks, one per thread, and run fn(chunk, r0, r1).
template <typename F>
void Parallel(int64_t rows, int64_t threads, F fn) {
  threads = std::max<int64_t>(1, std::min<int64_t>(threads, rows));
  std::vector<std::thread> pool;
  for (int64_t k = 1; k < threads; ++k) {
    pool.emplace_back(fn, k, rows * k / threads, rows * (k + 1) / threads);
  }
  fn(0, 0, rows / threads);
  for (auto& th : pool) th.join();
}

int64_t Threads(int64_t requested) {
  if (requested > 0) return requested;
  const int64_t hw = static_cast<int64_t>(std::thread::hardware_concurrency());
  return std::max<int64_t>(1, hw);
}

// One step of the membrane update for `size` values (rows of n neurons, row-major).
template <typename T>
void Update(int64_t size, int64_t n, const T* __restrict vprev, const T* __restrict cur,
            const T* __restrict rec, const T* __restrict beta, const T* __restrict theta,
            T* __restrict v, T* __restrict s) {
  for (int64_t r = 0; r < size; r += n) {
    for (int64_t i = 0; i < n; ++i) {
      const T reset = vprev[r + i] - theta[i] > T(0) ? T(1) : T(0);
      const T vi = beta[i] * vprev[r + i] + (cur[r + i] + rec[r + i]) - reset * theta[i];
      v[r + i] = vi;
      s[r + i] = vi - theta[i] > T(0) ? T(1) : T(0);
    }
  }
}

// One step of the reverse scan's elementwise part (see the top of the file): u, the new
// a_v, and the sums of the beta and theta gradients.
template <int K, typename T>
void AdjointK(int64_t size, int64_t n, T p1, T p2, const T* __restrict v, const T* __restrict vprev,
              const T* __restrict gs, const T* __restrict gv, const T* __restrict beta,
              const T* __restrict theta, T* __restrict a_v, const T* __restrict a_rec,
              T* __restrict u, T* __restrict gbeta, T* __restrict gtheta) {
  for (int64_t r = 0; r < size; r += n) {
    for (int64_t i = 0; i < n; ++i) {
      const int64_t k = r + i;
      const T sg = Surrogate<K>(p1, p2, v[k] - theta[i]);
      const T a_s = gs[k] + a_rec[k];
      const T uk = a_v[k] + gv[k] + a_s * sg;
      const T reset = vprev[k] - theta[i] > T(0) ? T(1) : T(0);
      u[k] = uk;
      gbeta[i] += uk * vprev[k];
      gtheta[i] -= reset * uk + a_s * sg;
      a_v[k] = beta[i] * uk;
    }
  }
}

template <typename T, typename... A>
void Adjoint(int kind, A... args) {
  switch (kind) {
    case 0:
      return AdjointK<0, T>(args...);
    case 1:
      return AdjointK<1, T>(args...);
    case 2:
      return AdjointK<2, T>(args...);
    default:
      return AdjointK<3, T>(args...);
  }
}

template <ffi::DataType DT>
ffi::Error ForwardImpl(ffi::Buffer<DT> c, ffi::Buffer<DT> wt, ffi::Buffer<DT> beta,
                       ffi::Buffer<DT> theta, ffi::Buffer<DT> v0, ffi::Buffer<DT> s0,
                       int64_t threads, ffi::ResultBuffer<DT> v_out,
                       ffi::ResultBuffer<DT> s_out) {
  using T = ffi::NativeType<DT>;
  auto cd = c.dimensions();
  if (cd.size() != 3 || wt.dimensions().size() != 2 || wt.dimensions()[0] != cd[2] ||
      wt.dimensions()[1] != cd[2]) {
    return ffi::Error::InvalidArgument("lif_forward: expected c [T, R, N] and wt [N, N]");
  }
  const int64_t steps = cd[0], rows = cd[1], n = cd[2];
  const T* cp = c.typed_data();
  const T* wp = wt.typed_data();
  const T* bp = beta.typed_data();
  const T* thp = theta.typed_data();
  T* vp = v_out->typed_data();
  T* sp = s_out->typed_data();
  auto work = [&](int64_t, int64_t r0, int64_t r1) {
    const int64_t nr = r1 - r0;
    Events<T> ev;
    std::vector<T> rec(nr * n);
    for (int64_t t = 0; t < steps; ++t) {
      const int64_t o = (t * rows + r0) * n;
      const T* vprev = t ? vp + o - rows * n : v0.typed_data() + r0 * n;
      const T* sprev = t ? sp + o - rows * n : s0.typed_data() + r0 * n;
      ev.Collect(sprev, nr, n);
      EventProduct(ev, nr, wp, n, rec.data());
      Update(nr * n, n, vprev, cp + o, rec.data(), bp, thp, vp + o, sp + o);
    }
  };
  Parallel(rows, Threads(threads), work);
  return ffi::Error::Success();
}

template <ffi::DataType DT>
ffi::Error BackwardImpl(ffi::Buffer<DT> ct_s, ffi::Buffer<DT> ct_v, ffi::Buffer<DT> v,
                        ffi::Buffer<DT> s,
                        ffi::Buffer<DT> v0, ffi::Buffer<DT> s0, ffi::Buffer<DT> w,
                        ffi::Buffer<DT> beta, ffi::Buffer<DT> theta, int64_t kind, double p1,
                        double p2, int64_t threads, ffi::ResultBuffer<DT> ct_c,
                        ffi::ResultBuffer<DT> ct_wt, ffi::ResultBuffer<DT> ct_beta,
                        ffi::ResultBuffer<DT> ct_theta, ffi::ResultBuffer<DT> ct_v0,
                        ffi::ResultBuffer<DT> ct_s0) {
  using T = ffi::NativeType<DT>;
  auto vd = v.dimensions();
  if (vd.size() != 3 || w.dimensions().size() != 2 || w.dimensions()[0] != vd[2]) {
    return ffi::Error::InvalidArgument("lif_backward: expected v [T, R, N] and w [N, N]");
  }
  const int64_t steps = vd[0], rows = vd[1], n = vd[2];
  const T sp1 = static_cast<T>(p1), sp2 = static_cast<T>(p2);
  const T* vp = v.typed_data();
  const T* spk = s.typed_data();
  const T* wp = w.typed_data();  // w[post, pre] = wt^T
  const T* bp = beta.typed_data();
  const T* thp = theta.typed_data();
  const T* gs = ct_s.typed_data();
  const T* gv = ct_v.typed_data();
  T* up = ct_c->typed_data();
  T* av = ct_v0->typed_data();  // a_v, carried backwards in place
  T* as = ct_s0->typed_data();  // the recurrent part of a_s, carried backwards in place
  std::fill(av, av + rows * n, T(0));
  std::fill(as, as + rows * n, T(0));
  const int64_t nthreads = std::max<int64_t>(1, std::min<int64_t>(Threads(threads), rows));
  std::vector<std::vector<T>> dwt(nthreads), dbeta(nthreads), dtheta(nthreads);
  auto work = [&](int64_t id, int64_t r0, int64_t r1) {
    std::vector<T>& gw = dwt[id];
    std::vector<T>& gb = dbeta[id];
    std::vector<T>& gt = dtheta[id];
    gw.assign(n * n, T(0));
    gb.assign(n, T(0));
    gt.assign(n, T(0));
    const int64_t nr = r1 - r0;
    Events<T> ev;
    for (int64_t t = steps - 1; t >= 0; --t) {
      const int64_t o = (t * rows + r0) * n;
      const T* vprev = t ? vp + o - rows * n : v0.typed_data() + r0 * n;
      const T* sprev = t ? spk + o - rows * n : s0.typed_data() + r0 * n;
      Adjoint<T>(static_cast<int>(kind), nr * n, n, sp1, sp2, vp + o, vprev, gs + o, gv + o,
                 bp, thp, av + r0 * n, as + r0 * n, up + o, gb.data(), gt.data());
      ev.Collect(sprev, nr, n);
      EventOuter(ev, nr, up + o, n, gw.data());  // d wt += s[t-1]^T u
      // The recurrent adjoint of s[t-1]: (u @ wt^T)[r, j] = sum_i u[r, i] w[i, j], w = wt^T.
      Gemm(up + o, wp, nr, n, as + r0 * n);
    }
  };
  Parallel(rows, nthreads, work);
  T* gwt = ct_wt->typed_data();
  T* gbeta = ct_beta->typed_data();
  T* gtheta = ct_theta->typed_data();
  std::fill(gwt, gwt + n * n, T(0));
  std::fill(gbeta, gbeta + n, T(0));
  std::fill(gtheta, gtheta + n, T(0));
  for (int64_t id = 0; id < nthreads; ++id) {
    for (int64_t i = 0; i < n * n; ++i) gwt[i] += dwt[id][i];
    for (int64_t i = 0; i < n; ++i) {
      gbeta[i] += dbeta[id][i];
      gtheta[i] += dtheta[id][i];
    }
  }
  return ffi::Error::Success();
}

}  // namespace

#define SYNAPTAX_FORWARD(NAME, DT)                                     \
  XLA_FFI_DEFINE_HANDLER_SYMBOL(NAME, ForwardImpl<DT>,                 \
                                ffi::Ffi::Bind()                       \
                                    .Arg<ffi::Buffer<DT>>()            \
                                    .Arg<ffi::Buffer<DT>>()            \
                                    .Arg<ffi::Buffer<DT>>()            \
                                    .Arg<ffi::Buffer<DT>>()            \
                                    .Arg<ffi::Buffer<DT>>()            \
                                    .Arg<ffi::Buffer<DT>>()            \
                                    .Attr<int64_t>("threads")          \
                                    .Ret<ffi::Buffer<DT>>()            \
                                    .Ret<ffi::Buffer<DT>>());

#define SYNAPTAX_BACKWARD(NAME, DT)                                    \
  XLA_FFI_DEFINE_HANDLER_SYMBOL(NAME, BackwardImpl<DT>,                \
                                ffi::Ffi::Bind()                       \
                                    .Arg<ffi::Buffer<DT>>()            \
                                    .Arg<ffi::Buffer<DT>>()            \
                                    .Arg<ffi::Buffer<DT>>()            \
                                    .Arg<ffi::Buffer<DT>>()            \
                                    .Arg<ffi::Buffer<DT>>()            \
                                    .Arg<ffi::Buffer<DT>>()            \
                                    .Arg<ffi::Buffer<DT>>()            \
                                    .Arg<ffi::Buffer<DT>>()            \
                                    .Arg<ffi::Buffer<DT>>()            \
                                    .Attr<int64_t>("kind")             \
                                    .Attr<double>("p1")                \
                                    .Attr<double>("p2")                \
                                    .Attr<int64_t>("threads")          \
                                    .Ret<ffi::Buffer<DT>>()            \
                                    .Ret<ffi::Buffer<DT>>()            \
                                    .Ret<ffi::Buffer<DT>>()            \
                                    .Ret<ffi::Buffer<DT>>()            \
                                    .Ret<ffi::Buffer<DT>>()            \
                                    .Ret<ffi::Buffer<DT>>());

SYNAPTAX_FORWARD(SynaptaxLifForwardF32, ffi::F32)
SYNAPTAX_FORWARD(SynaptaxLifForwardF64, ffi::F64)
SYNAPTAX_BACKWARD(SynaptaxLifBackwardF32, ffi::F32)
SYNAPTAX_BACKWARD(SynaptaxLifBackwardF64, ffi::F64)
