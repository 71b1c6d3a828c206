// A whole simulation of a Hodgkin-Huxley cable tree in one XLA FFI call, and its adjoint.
//
// The model is the one synaptax.simulate steps (NEURON's fixed step): per compartment
// i < nc the membrane carries NEURON's `hh` (m, h, n gates; sodium, potassium) plus a
// leak with conductance gleak and constant current il0 (the sum of g e over hh's leak
// and any `pas`), so the step is
//
//   G = gna m^3 h + gk n^4 + gleak
//   diag = dax + cap + G,  rhs = cap v + gna m^3 h ena + gk n^4 ek + il0 (+ stimuli)
//   u = A^-1 rhs (the tree system; nodes i >= nc are zero-area section ends)
//   v' = u (backward Euler) or 2u - v (Crank-Nicolson; cap then holds 2 C / dt)
//   x' = inf(v') + (x - inf(v')) exp(-dtq (alpha + beta)(v')) for x in m, h, n
//
// with dtq = dt q10. Stimulus s adds scale[s] xs[t, s] to rhs at node[s] and, for a
// voltage clamp (kind 1), scale[s] to the diagonal there. The forward optionally keeps
// the state (v, m, h, n) before every ckpt-th step (with ckpt 1: every step, and after
// the last); the reverse call walks back through the steps (the discrete adjoint: one
// transposed tree solve per step), recomputing those between kept states, and returns
// the cotangents of every input. Arithmetic is in double for both storage types.
//
// Batches: every operand may carry leading (vmapped) dimensions, all the same (jax.ffi's
// "broadcast_all"); the simulations of a batch are shared out between threads.

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;

namespace {

// exp(x) to within two ulp for |x| < 708, in plain arithmetic that the compiler
// vectorises: Cody-Waite reduction x = k ln 2 + r, |r| <= ln2 / 2, exp(r) by its Taylor
// polynomial to degree 13 (truncation below 2e-16) in Estrin's scheme (a short
// dependency chain), 2^k by bit assembly.
inline double Exp(double x) {
  constexpr double kLog2e = 1.4426950408889634074;
  constexpr double kLn2Hi = 6.93147180369123816490e-01;
  constexpr double kLn2Lo = 1.90821492927058770002e-10;
  constexpr double kShift = 6755399441055744.0;  // 1.5 * 2^52: rounds to an integer
  constexpr double c[14] = {1.0,
                            1.0,
                            1.0 / 2,
                            1.0 / 6,
                            1.0 / 24,
                            1.0 / 120,
                            1.0 / 720,
                            1.0 / 5040,
                            1.0 / 40320,
                            1.0 / 362880,
                            1.0 / 3628800,
                            1.0 / 39916800,
                            1.0 / 479001600,
                            1.0 / 6227020800};
  x = x < -708.0 ? -708.0 : (x > 708.0 ? 708.0 : x);
  const double t = x * kLog2e + kShift;
  const double k = t - kShift;
  const double r = (x - k * kLn2Hi) - k * kLn2Lo;
  const double r2 = r * r, r4 = r2 * r2, r8 = r4 * r4;
  const double w0 = (c[0] + c[1] * r) + (c[2] + c[3] * r) * r2;
  const double w1 = (c[4] + c[5] * r) + (c[6] + c[7] * r) * r2;
  const double w2 = (c[8] + c[9] * r) + (c[10] + c[11] * r) * r2;
  const double w3 = c[12] + c[13] * r;
  const double p = (w0 + w1 * r4) + (w2 + w3 * r4) * r8;
  uint64_t bits;
  std::memcpy(&bits, &t, sizeof bits);
  bits = (bits + 1023) << 52;  // the low mantissa bits of t hold k
  double scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

constexpr double kE1 = 2.718281828459045235;   // e
constexpr double kE25 = 12.18249396070347343;  // e^2.5
constexpr double kE3 = 20.08553692318766774;   // e^3

// f = x / (exp(x / 10) - 1) given ex = exp(x / 10) (series near x = 0), and with
// kSlope its derivative df/dx (series for |x| < 0.1, where the closed form cancels).
template <bool kSlope>
inline void Vtrap(double x, double ex, double* f, double* df) {
  const bool small = std::fabs(x * 0.1) < 1e-6;  // NEURON's switch to the series
  const double den = small ? 2.0 : ex - 1.0;
  const double rden = 1.0 / den;
  *f = small ? 10.0 * (1.0 - x * 0.05) : x * rden;
  if constexpr (kSlope) {
    const bool near = std::fabs(x) < 0.1;
    *df = near ? -0.5 + x * (1.0 / 60.0) - x * x * x * (1.0 / 180000.0)
               : (den - x * ex * 0.1) * (rden * rden);
  }
}

// Opening and closing rates (1/ms, before q10) of m, h, n at v (mV), NEURON's hh, and
// with kSlopes their derivatives in v.
struct Rates {
  double am, bm, ah, bh, an, bn;
  double dam, dbm, dah, dbh, dan, dbn;
};

template <bool kSlopes>
inline Rates HHRates(double v) {
  Rates r;
  const double u = v + 65.0;
  const double e18 = Exp(-u * (1.0 / 18.0));
  const double e80 = Exp(-u * (1.0 / 80.0));
  const double e40 = e80 * e80;
  const double e20 = e40 * e40;
  const double e10 = e20 * e20;  // exp(-u / 10) to about 10 ulp
  double fm, dfm, fn, dfn;
  Vtrap<kSlopes>(25.0 - u, kE25 * e10, &fm, &dfm);
  Vtrap<kSlopes>(10.0 - u, kE1 * e10, &fn, &dfn);
  r.am = 0.1 * fm;
  r.an = 0.01 * fn;
  r.bm = 4.0 * e18;
  r.ah = 0.07 * e20;
  r.bh = 1.0 / (kE3 * e10 + 1.0);
  r.bn = 0.125 * e80;
  if constexpr (kSlopes) {
    r.dam = -0.1 * dfm;  // d/dv = -d/dx
    r.dan = -0.01 * dfn;
    r.dbm = -r.bm * (1.0 / 18.0);
    r.dah = -r.ah * (1.0 / 20.0);
    r.dbh = kE3 * e10 * 0.1 * r.bh * r.bh;
    r.dbn = -r.bn * (1.0 / 80.0);
  }
  return r;
}

// One gate's exponential-Euler update x' = inf + (x - inf) E, E = exp(-dtq (a + b)).
inline double GateStep(double x, double a, double b, double dtq) {
  const double s = a + b;
  const double inf = a * (1.0 / s);
  return inf + (x - inf) * Exp(-dtq * s);
}

// Reverse of GateStep: given the cotangent xb of x', adds to *vb (through v') and *qb
// (through dtq) and returns the cotangent of x.
inline double GateBack(double x, double a, double b, double da, double db, double dtq,
                       double xb, double* vb, double* qb) {
  const double s = a + b;
  const double rs = 1.0 / s;
  const double inf = a * rs;
  const double e = Exp(-dtq * s);
  const double ds = da + db;
  const double dinf = (da - inf * ds) * rs;
  const double w = (x - inf) * e;
  *vb += xb * (dinf * (1.0 - e) - w * dtq * ds);
  *qb -= xb * w * s;
  return xb * e;
}

// Sizes and integer tables shared by every simulation of a call.
struct Layout {
  int64_t n = 0, nc = 0, nt = 0, ns = 0, np = 0;
  bool cn = false;
  int64_t ckpt = 1;     // the forward keeps the state every ckpt steps for the reverse
  int64_t threads = 0;  // 0: one per hardware thread
  const int32_t* parent = nullptr;
  const int32_t* order = nullptr;
  const int32_t* stim_node = nullptr;
  const int32_t* stim_kind = nullptr;
  const int32_t* rec_node = nullptr;
};

// The 17 floating-point inputs, in call order, and their sizes per simulation.
enum Input {
  kV0, kM0, kH0, kN0, kGna, kGk, kEna, kEk, kGleak, kIl0, kCap,
  kLower, kUpper, kDax, kDtq, kXs, kScale, kNumInputs
};

int64_t InputSize(const Layout& L, int k) {
  switch (k) {
    case kV0: case kLower: case kUpper: case kDax: return L.n;
    case kDtq: return 1;
    case kXs: return L.nt * L.ns;
    case kScale: return L.ns;
    default: return L.nc;
  }
}

// Per-simulation pointers into possibly batched buffers (stride 0: shared).
template <typename Real>
struct Operand {
  const Real* data;
  int64_t stride;
  const Real* at(int64_t b) const { return data + b * stride; }
};

// Solve A x = r in place (d is overwritten with the pivots' reciprocals): lo is the
// entry in the parent's column, up the entry the node has in its parent's row.
inline void TreeSolve(const Layout& L, const double* lo, const double* up, double* d,
                      double* x) {
  for (int64_t k = L.n - 1; k >= 0; --k) {
    const int32_t i = L.order[k];
    const int32_t p = L.parent[i];
    const double inv = 1.0 / d[i];  // d[i] is final: its children came before it
    d[i] = inv;
    if (p >= 0) {
      const double f = up[i] * inv;
      d[p] -= f * lo[i];
      x[p] -= f * x[i];
    }
  }
  for (int64_t k = 0; k < L.n; ++k) {
    const int32_t i = L.order[k];
    const int32_t p = L.parent[i];
    if (p >= 0) x[i] -= lo[i] * x[p];
    x[i] *= d[i];
  }
}

// The parameters of one simulation as double arrays.
struct Inputs {
  std::vector<double> in[kNumInputs];
};

template <typename Real>
void LoadInputs(const Layout& L, const std::vector<Operand<Real>>& ops, int64_t b,
                Inputs* out) {
  for (int k = 0; k < kNumInputs; ++k) {
    const Real* p = ops[k].at(b);
    out->in[k].assign(p, p + InputSize(L, k));
  }
}

// This step's diagonal and (with kRhs) right-hand side from the state (v, m, h, q = n).
template <bool kRhs>
inline void Assemble(const Layout& L, const Inputs& P, int64_t t, const double* v,
                     const double* m, const double* h, const double* q, double* d,
                     double* x) {
  const double *gna = P.in[kGna].data(), *gk = P.in[kGk].data(), *ena = P.in[kEna].data(),
               *ek = P.in[kEk].data(), *gl = P.in[kGleak].data(), *il = P.in[kIl0].data(),
               *cap = P.in[kCap].data(), *dax = P.in[kDax].data();
#pragma omp simd
  for (int64_t i = 0; i < L.nc; ++i) {
    const double gn = gna[i] * m[i] * m[i] * m[i] * h[i];
    const double q2 = q[i] * q[i];
    const double gq = gk[i] * q2 * q2;
    d[i] = dax[i] + cap[i] + gn + gq + gl[i];
    if constexpr (kRhs) x[i] = cap[i] * v[i] + gn * ena[i] + gq * ek[i] + il[i];
  }
  for (int64_t i = L.nc; i < L.n; ++i) {
    d[i] = dax[i];
    if constexpr (kRhs) x[i] = 0.0;
  }
  const double* xs = P.in[kXs].data() + t * L.ns;
  const double* sc = P.in[kScale].data();
  for (int64_t s = 0; s < L.ns; ++s) {
    const int32_t j = L.stim_node[s];
    if constexpr (kRhs) x[j] += sc[s] * xs[s];
    if (L.stim_kind[s]) d[j] += sc[s];
  }
}

// The model's state and the solver's scratch space.
struct State {
  std::vector<double> v, m, h, q, d, x;
  explicit State(const Inputs& P)
      : v(P.in[kV0]), m(P.in[kM0]), h(P.in[kH0]), q(P.in[kN0]), d(v.size()), x(v.size()) {}

  // Advance by step t.
  void Step(const Layout& L, const Inputs& P, int64_t t) {
    Assemble<true>(L, P, t, v.data(), m.data(), h.data(), q.data(), d.data(), x.data());
    TreeSolve(L, P.in[kLower].data(), P.in[kUpper].data(), d.data(), x.data());
    if (L.cn) {
      for (int64_t i = 0; i < L.n; ++i) v[i] = 2.0 * x[i] - v[i];
    } else {
      std::swap(v, x);
    }
    const double dtq = P.in[kDtq][0];
    double *vp = v.data(), *mp = m.data(), *hp = h.data(), *qp = q.data();
#pragma omp simd
    for (int64_t i = 0; i < L.nc; ++i) {
      const Rates r = HHRates<false>(vp[i]);
      mp[i] = GateStep(mp[i], r.am, r.bm, dtq);
      hp[i] = GateStep(hp[i], r.ah, r.bh, dtq);
      qp[i] = GateStep(qp[i], r.an, r.bn, dtq);
    }
  }

  // Write (v, m, h, q) to o, or read it from o.
  template <typename Real>
  void Put(Real* o) const {
    const std::vector<double>* parts[] = {&v, &m, &h, &q};
    for (const auto* part : parts) {
      for (double value : *part) *o++ = static_cast<Real>(value);
    }
  }
  template <typename Real>
  void Get(const Real* o) {
    std::vector<double>* parts[] = {&v, &m, &h, &q};
    for (auto* part : parts) {
      for (double& value : *part) value = *o++;
    }
  }
};

// The simulation; with traj, the state before step t for every t % ckpt == 0 (row
// t / ckpt), the state after the last step too when ckpt is 1.
template <typename Real>
void Forward(const Layout& L, const Inputs& P, Real* rec, Real* traj) {
  const int64_t width = L.n + 3 * L.nc;
  State s(P);
  if (traj) s.Put(traj);
  for (int64_t t = 0; t < L.nt; ++t) {
    s.Step(L, P, t);
    for (int64_t p = 0; p < L.np; ++p) rec[t * L.np + p] = static_cast<Real>(s.v[L.rec_node[p]]);
    if (traj && (t + 1) % L.ckpt == 0) s.Put(traj + (t + 1) / L.ckpt * width);
  }
}

// Rows of the forward's stored trajectory.
inline int64_t TrajRows(const Layout& L) { return L.nt / L.ckpt + 1; }

// The arrays one pass of the reverse sweep reads and writes (see ReversePass).
struct Pass {
  const double *rb, *u, *v, *m, *h, *q, *mp, *hp, *qp;
  const double *gna, *gk, *ena, *ek, *gl, *cap, *dax;
  double dtq;
  double *gna_b, *gk_b, *ena_b, *ek_b, *gl_b, *il_b, *cap_b, *vb, *mb, *hb, *qb, *d;
};

// One pass over the compartments of the reverse sweep, fusing up to three loops.
// kF: the reverse of step t's assembly, from its solve (rb = A^-T ub, u) and the state
// (v, m, h, q) before step t: adds to the parameters' cotangents, to vb (v's) and to
// mb, hb, qb (the gates'). kB: then the reverse of step t-1's gate update at the
// potential v from the gates (mp, hp, qp) before it: mb, hb, qb become those gates'
// cotangents and vb gains v's share; and step t-1's diagonal (centres) into d.
// Returns the cotangent of dtq.
template <bool kF, bool kB>
inline double ReversePass(const Pass& a, int64_t nc) {
  // local restrict-qualified copies: the arrays never overlap, and the loop vectorises
  const double *__restrict rb = a.rb, *__restrict u = a.u, *__restrict v = a.v;
  const double *__restrict m = a.m, *__restrict h = a.h, *__restrict q = a.q;
  const double *__restrict mp = a.mp, *__restrict hp = a.hp, *__restrict qp = a.qp;
  const double *__restrict gna = a.gna, *__restrict gk = a.gk, *__restrict ena = a.ena;
  const double *__restrict ek = a.ek, *__restrict gl = a.gl, *__restrict cap = a.cap;
  const double* __restrict dax = a.dax;
  double *__restrict gna_b = a.gna_b, *__restrict gk_b = a.gk_b, *__restrict ena_b = a.ena_b;
  double *__restrict ek_b = a.ek_b, *__restrict gl_b = a.gl_b, *__restrict il_b = a.il_b;
  double *__restrict cap_b = a.cap_b, *__restrict vb = a.vb, *__restrict mb = a.mb;
  double *__restrict hb = a.hb, *__restrict qb = a.qb, *__restrict d = a.d;
  const double dtq = a.dtq;
  double qsum = 0.0;
#pragma omp simd reduction(+ : qsum)
  for (int64_t i = 0; i < nc; ++i) {
    if constexpr (kF) {
      const double r = rb[i], db = -r * u[i];
      const double mi = m[i], hi = h[i], qi = q[i];
      const double m2 = mi * mi, q2 = qi * qi;
      const double m3h = m2 * mi * hi, q4 = q2 * q2;
      const double x = db + r * ena[i], y = db + r * ek[i];
      gna_b[i] += x * m3h;
      gk_b[i] += y * q4;
      ena_b[i] += r * gna[i] * m3h;
      ek_b[i] += r * gk[i] * q4;
      gl_b[i] += db;
      il_b[i] += r;
      cap_b[i] += db + r * v[i];
      vb[i] += r * cap[i];
      mb[i] += x * gna[i] * 3.0 * m2 * hi;
      hb[i] += x * gna[i] * m2 * mi;
      qb[i] += y * gk[i] * 4.0 * q2 * qi;
    }
    if constexpr (kB) {
      const Rates r = HHRates<true>(v[i]);
      double vacc = 0.0, qacc = 0.0;
      const double mi = mp[i], hi = hp[i], qi = qp[i];
      mb[i] = GateBack(mi, r.am, r.bm, r.dam, r.dbm, dtq, mb[i], &vacc, &qacc);
      hb[i] = GateBack(hi, r.ah, r.bh, r.dah, r.dbh, dtq, hb[i], &vacc, &qacc);
      qb[i] = GateBack(qi, r.an, r.bn, r.dan, r.dbn, dtq, qb[i], &vacc, &qacc);
      vb[i] += vacc;
      qsum += qacc;
      const double q2 = qi * qi;
      d[i] = dax[i] + cap[i] + gna[i] * mi * mi * mi * hi + gk[i] * q2 * q2 + gl[i];
    }
  }
  return qsum;
}

template <typename Real>
void Backward(const Layout& L, const Inputs& P, const Real* traj, const Real* rec_bar,
              Inputs* G) {
  const int64_t n = L.n, nc = L.nc, nt = L.nt, width = n + 3 * nc;
  for (int k = 0; k < kNumInputs; ++k) G->in[k].assign(InputSize(L, k), 0.0);
  const double *lo = P.in[kLower].data(), *up = P.in[kUpper].data();
  const double *dax = P.in[kDax].data(), *sc = P.in[kScale].data();
  double *lo_b = G->in[kLower].data(), *up_b = G->in[kUpper].data(),
         *dax_b = G->in[kDax].data(), *xs_b = G->in[kXs].data(), *sc_b = G->in[kScale].data();
  double dtq_b = 0.0;
  // vb: cotangent of the potential after the step being reversed; mb, hb, qb: of the
  // gates before it (once its gate update is reversed)
  std::vector<double> vb(n, 0.0), mb(nc, 0.0), hb(nc, 0.0), qb(nc, 0.0);
  std::vector<double> d(n), u(n), ub(n), vb_prev(n);
  std::vector<int32_t> psafe(n);  // roots point at themselves, with has_parent 0
  std::vector<double> has_parent(n);
  for (int64_t i = 0; i < n; ++i) {
    psafe[i] = L.parent[i] >= 0 ? L.parent[i] : static_cast<int32_t>(i);
    has_parent[i] = L.parent[i] >= 0 ? 1.0 : 0.0;
  }
  // The state before step t. With ckpt 1 the trajectory holds them all (read in place,
  // or converted to double: three live at a time). Otherwise it holds every ckpt-th, and
  // segment c (states c ckpt .. (c + 1) ckpt) is recomputed from its first state into one
  // of two buffers: the three states live at a time span at most two segments.
  constexpr bool kDouble = std::is_same_v<Real, double>;
  const int64_t k = L.ckpt;
  std::vector<double> conv[3], seg[2];
  int64_t seg_id[2] = {-1, -1};
  int slot = 0;
  State work(P);
  auto state = [&](int64_t t) -> const double* {
    if (k > 1) {
      const int64_t c = t == 0 ? 0 : (t - 1) / k;
      std::vector<double>& buf = seg[c % 2];
      if (seg_id[c % 2] != c) {
        const int64_t first = c * k, last = std::min(first + k, nt);
        buf.resize((k + 1) * width);
        work.Get(traj + c * width);
        work.Put(buf.data());
        for (int64_t j = first; j < last; ++j) {
          work.Step(L, P, j);
          work.Put(buf.data() + (j + 1 - first) * width);
        }
        seg_id[c % 2] = c;
      }
      return buf.data() + (t - c * k) * width;
    }
    const Real* o = traj + t * width;
    if constexpr (kDouble) {
      return o;
    } else {
      std::vector<double>& buf = conv[slot++ % 3];
      buf.assign(o, o + width);
      return buf.data();
    }
  };
  Pass a{};
  a.gna = P.in[kGna].data();
  a.gk = P.in[kGk].data();
  a.ena = P.in[kEna].data();
  a.ek = P.in[kEk].data();
  a.gl = P.in[kGleak].data();
  a.cap = P.in[kCap].data();
  a.dax = dax;
  a.dtq = P.in[kDtq][0];
  a.gna_b = G->in[kGna].data();
  a.gk_b = G->in[kGk].data();
  a.ena_b = G->in[kEna].data();
  a.ek_b = G->in[kEk].data();
  a.gl_b = G->in[kGleak].data();
  a.il_b = G->in[kIl0].data();
  a.cap_b = G->in[kCap].data();
  a.mb = mb.data();
  a.hb = hb.data();
  a.qb = qb.data();
  a.d = d.data();
  a.rb = ub.data();
  a.u = u.data();
  auto gates = [&](const double* s, const double** m, const double** h, const double** q) {
    *m = s + n;
    *h = s + n + nc;
    *q = s + n + 2 * nc;
  };
  auto add_records = [&](int64_t t, double* vbt) {
    for (int64_t p = 0; p < L.np; ++p) vbt[L.rec_node[p]] += rec_bar[t * L.np + p];
  };
  // the last step's gate update, and its diagonal
  const double* s1 = state(nt);
  const double* s0 = state(nt - 1);
  add_records(nt - 1, vb.data());
  a.v = s1;
  a.vb = vb.data();
  gates(s0, &a.mp, &a.hp, &a.qp);
  dtq_b += ReversePass<false, true>(a, nc);
  for (int64_t t = nt - 1; t >= 0; --t) {
    // here vb is complete for v_{t+1} and d holds step t's diagonal at the centres
    const double *v0 = s0, *v1 = s1;
    for (int64_t i = nc; i < n; ++i) d[i] = dax[i];
    for (int64_t s = 0; s < L.ns; ++s) {
      if (L.stim_kind[s]) d[L.stim_node[s]] += sc[s];
    }
    // v1 = u (backward Euler) or 2u - v0 (Crank-Nicolson)
    if (L.cn) {
      for (int64_t i = 0; i < n; ++i) {
        ub[i] = 2.0 * vb[i];
        vb_prev[i] = -vb[i];
        u[i] = 0.5 * (v1[i] + v0[i]);
      }
    } else {
      std::copy(vb.begin(), vb.end(), ub.begin());
      std::fill(vb_prev.begin(), vb_prev.end(), 0.0);
      std::copy(v1, v1 + n, u.begin());
    }
    // the transposed tree solve: A^T rb = ub, A^T swaps the off-diagonals
    TreeSolve(L, up, lo, d.data(), ub.data());
    const double *rb = ub.data(), *up_ = u.data();
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) {
      const int32_t p = psafe[i];
      dax_b[i] -= rb[i] * up_[i];
      lo_b[i] -= has_parent[i] * rb[i] * up_[p];
      up_b[i] -= has_parent[i] * rb[p] * up_[i];
    }
    const double* xs = P.in[kXs].data() + t * L.ns;
    for (int64_t s = 0; s < L.ns; ++s) {
      const int32_t j = L.stim_node[s];
      xs_b[t * L.ns + s] = rb[j] * sc[s];
      sc_b[s] += rb[j] * xs[s] - (L.stim_kind[s] ? rb[j] * u[j] : 0.0);
    }
    // step t's assembly, fused with step t-1's gate update and diagonal
    a.v = v0;
    a.vb = vb_prev.data();
    gates(s0, &a.m, &a.h, &a.q);
    const double* sp = nullptr;
    if (t > 0) {
      sp = state(t - 1);
      add_records(t - 1, vb_prev.data());
      gates(sp, &a.mp, &a.hp, &a.qp);
      dtq_b += ReversePass<true, true>(a, nc);
    } else {
      ReversePass<true, false>(a, nc);
    }
    std::swap(vb, vb_prev);
    s1 = s0;
    s0 = sp;
  }
  G->in[kV0] = vb;
  G->in[kM0] = mb;
  G->in[kH0] = hb;
  G->in[kN0] = qb;
  G->in[kDtq][0] = dtq_b;
}

// Run fn(b) for b in [0, batch) on up to `threads` threads (0: one per hardware thread).
template <typename F>
void ForEach(int64_t batch, int64_t threads, F fn) {
  if (threads <= 0) threads = std::max<int64_t>(1, std::thread::hardware_concurrency());
  threads = std::min(threads, batch);
  std::atomic<int64_t> next{0};
  auto work = [&] {
    for (int64_t b; (b = next.fetch_add(1)) < batch;) fn(b);
  };
  std::vector<std::thread> pool;
  for (int64_t k = 1; k < threads; ++k) pool.emplace_back(work);
  work();
  for (auto& th : pool) th.join();
}

ffi::Error Fail(const std::string& what) {
  return ffi::Error::InvalidArgument("synaptax hh kernel: " + what);
}

template <typename Real>
constexpr ffi::DataType kType =
    std::is_same_v<Real, double> ? ffi::DataType::F64 : ffi::DataType::F32;

// dims = (n, nc, nt, ns, np, cn, ckpt, threads); tables = parent (n), order (n),
// stimulus nodes (ns), stimulus kinds (ns), recorded nodes (np).
// What both handlers read from a call: the layout, the operands per simulation, the
// batch size, and the width and number of rows of the stored trajectory.
template <typename Real>
struct Call {
  Layout L;
  std::vector<Operand<Real>> ops;
  int64_t batch = 0, width = 0, rows = 0;
};

template <typename Real>
ffi::Error ReadLayout(ffi::RemainingArgs args, ffi::Span<const int64_t> dims,
                      ffi::Span<const int32_t> tables, Call<Real>* call) {
  Layout* L = &call->L;
  std::vector<Operand<Real>>* ops = &call->ops;
  int64_t* batch = &call->batch;
  if (dims.size() != 8) return Fail("dims must hold 8 sizes");
  L->n = dims[0];
  L->nc = dims[1];
  L->nt = dims[2];
  L->ns = dims[3];
  L->np = dims[4];
  L->cn = dims[5] != 0;
  L->ckpt = dims[6];
  L->threads = dims[7];
  if (static_cast<int64_t>(tables.size()) != 2 * L->n + 2 * L->ns + L->np || L->nc > L->n ||
      L->n <= 0 || L->nt < 1 || L->ckpt < 1) {
    return Fail("inconsistent sizes or tables");
  }
  const int32_t* tab = tables.begin();
  L->parent = tab;
  L->order = tab + L->n;
  L->stim_node = tab + 2 * L->n;
  L->stim_kind = L->stim_node + L->ns;
  L->rec_node = L->stim_kind + L->ns;
  if (args.size() < kNumInputs) return Fail("too few operands");
  auto v0 = args.get<ffi::AnyBuffer>(kV0);
  if (v0.has_error()) return v0.error();
  *batch = static_cast<int64_t>(v0->element_count()) / L->n;
  ops->clear();
  for (int k = 0; k < kNumInputs; ++k) {
    auto buf = args.get<ffi::AnyBuffer>(k);
    if (buf.has_error()) return buf.error();
    if (buf->element_type() != kType<Real>) return Fail("operands must all be of one dtype");
    const int64_t size = InputSize(*L, k);
    const int64_t count = static_cast<int64_t>(buf->element_count());
    int64_t stride;
    if (count == size) {
      stride = 0;
    } else if (count == size * *batch) {
      stride = size;
    } else {
      return Fail("operand " + std::to_string(k) + " has " + std::to_string(count) +
                  " elements, expected " + std::to_string(size) + " per simulation");
    }
    ops->push_back({static_cast<const Real*>(buf->untyped_data()), stride});
  }
  call->width = L->n + 3 * L->nc;
  call->rows = TrajRows(*L);
  return ffi::Error::Success();
}

// A result (or operand) buffer of exactly `count` elements.
template <typename Buffers, typename T>
ffi::Error Sized(Buffers& bufs, size_t index, int64_t count, const char* what, T** out) {
  auto b = bufs.template get<ffi::AnyBuffer>(index);
  if (b.has_error()) return b.error();
  auto check = [&](auto& buf) -> ffi::Error {  // an operand, or a result's buffer
    if (static_cast<int64_t>(buf.element_count()) != count) {
      return Fail(std::string(what) + " has the wrong size");
    }
    *out = static_cast<T*>(buf.untyped_data());
    return ffi::Error::Success();
  };
  if constexpr (std::is_same_v<Buffers, ffi::RemainingArgs>) {
    return check(b.value());
  } else {
    return check(*b.value());
  }
}

// Results: the records [batch, nt, np] and, if asked for, the kept trajectory
// [batch, TrajRows, n + 3 nc].
template <typename Real>
ffi::Error ForwardImpl(ffi::RemainingArgs args, ffi::RemainingRets rets,
                       ffi::Span<const int64_t> dims, ffi::Span<const int32_t> tables) {
  Call<Real> call;
  auto err = ReadLayout<Real>(args, dims, tables, &call);
  if (!err.success()) return err;
  const Layout& L = call.L;
  const int64_t batch = call.batch, width = call.width, rows = call.rows;
  Real *rec = nullptr, *traj = nullptr;
  err = Sized(rets, 0, batch * L.nt * L.np, "the record output", &rec);
  if (!err.success()) return err;
  if (rets.size() > 1) {
    err = Sized(rets, 1, batch * rows * width, "the trajectory output", &traj);
    if (!err.success()) return err;
  }
  ForEach(batch, L.threads, [&](int64_t b) {
    Inputs P;
    LoadInputs(L, call.ops, b, &P);
    Forward<Real>(L, P, rec + b * L.nt * L.np, traj ? traj + b * rows * width : nullptr);
  });
  return ffi::Error::Success();
}

// Operands: the 17 inputs, then the trajectory and the records' cotangent; results: the
// 17 inputs' cotangents, each with the batch shape of the call.
template <typename Real>
ffi::Error BackwardImpl(ffi::RemainingArgs args, ffi::RemainingRets rets,
                        ffi::Span<const int64_t> dims, ffi::Span<const int32_t> tables) {
  Call<Real> call;
  auto err = ReadLayout<Real>(args, dims, tables, &call);
  if (!err.success()) return err;
  const Layout& L = call.L;
  const int64_t batch = call.batch, width = call.width, rows = call.rows;
  if (args.size() != kNumInputs + 2 || rets.size() != kNumInputs) {
    return Fail("the reverse call takes 19 operands and returns 17");
  }
  const Real *traj = nullptr, *rec_bar = nullptr;
  err = Sized(args, kNumInputs, batch * rows * width, "the trajectory", &traj);
  if (!err.success()) return err;
  err = Sized(args, kNumInputs + 1, batch * L.nt * L.np, "the records' cotangent", &rec_bar);
  if (!err.success()) return err;
  std::vector<Real*> outs(kNumInputs);
  for (int k = 0; k < kNumInputs; ++k) {
    err = Sized(rets, k, batch * InputSize(L, k), "a cotangent", &outs[k]);
    if (!err.success()) return err;
  }
  ForEach(batch, L.threads, [&](int64_t b) {
    Inputs P, G;
    LoadInputs(L, call.ops, b, &P);
    Backward<Real>(L, P, traj + b * rows * width, rec_bar + b * L.nt * L.np, &G);
    for (int k = 0; k < kNumInputs; ++k) {
      const int64_t size = InputSize(L, k);
      Real* o = outs[k] + b * size;
      for (int64_t i = 0; i < size; ++i) o[i] = static_cast<Real>(G.in[k][i]);
    }
  });
  return ffi::Error::Success();
}

}  // namespace

#define SYNAPTAX_HH_HANDLER(NAME, IMPL, REAL)                  \
  XLA_FFI_DEFINE_HANDLER_SYMBOL(NAME, IMPL<REAL>,              \
                                ffi::Ffi::Bind()               \
                                    .RemainingArgs()           \
                                    .RemainingRets()           \
                                    .Attr<ffi::Span<const int64_t>>("dims") \
                                    .Attr<ffi::Span<const int32_t>>("tables"));

SYNAPTAX_HH_HANDLER(SynaptaxHHForwardF64, ForwardImpl, double)
SYNAPTAX_HH_HANDLER(SynaptaxHHForwardF32, ForwardImpl, float)
SYNAPTAX_HH_HANDLER(SynaptaxHHBackwardF64, BackwardImpl, double)
SYNAPTAX_HH_HANDLER(SynaptaxHHBackwardF32, BackwardImpl, float)
