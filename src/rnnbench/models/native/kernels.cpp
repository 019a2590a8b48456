// Compiled time loops for the scan kernels (scan.py): RNN, LSTM (with the peephole and
// CIFG variants) and GRU, forward and backward, in float32 and float64; whole layers
// (projection, time loop and weight gradients in one pass) and the first layer's table
// lookup for compiled_layer.py.
//
// Why: at seed-A/seed-C sizes a step is a few thousand elements, so in eager PyTorch
// each of a step's 5-10 operations costs more in dispatch and memory passes than in
// arithmetic. Here one step is one small matrix product plus one fused elementwise loop,
// with the state in cache. The maths is exactly that of the Python loops in scan.py (the
// tests compare both, and torch's modules, in float64).
//
// Plain C++ with a C ABI, no torch headers, so it compiles in seconds (native.py
// builds it on first use and caches it per source, compiler and CPU). Layout as in
// scan.py: [T, D, features, B], batch last. Every function handles the batch columns
// [lo, hi) only: columns are independent recurrences, so native.py runs disjoint column
// ranges on separate threads with no synchronisation, and a column's arithmetic does not
// depend on the split (results are identical for any thread count).
//
// float64 uses the C library's exp/tanh. float32 uses the vectorisable Cephes
// approximations below, as Eigen and SLEEF do, because the library's scalar calls would
// cost more than the rest of the step: measured against float64 over [-20, 20], tanh is
// within 1.3 ulp and the sigmoid within 2.5 ulp (torch's own sigmoid: also 2.5).

#include <cmath>
#include <cstdint>
#include <cstring>
#include <algorithm>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif
#include <vector>

namespace {

using index_t = int64_t;

// ---- activations ------------------------------------------------------------------

[[gnu::always_inline]] inline float exp_approx(float x) {
  // Cephes expf: x = n ln2 + r, |r| <= ln2/2, exp(r) by a degree-7 polynomial. The clamp
  // keeps 2^n a normal float; comparisons are false for NaN, so NaN passes through.
  float xc = x < -87.3f ? -87.3f : (x > 88.3f ? 88.3f : x);
  const float shifter = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  float n = (xc * 1.44269504088896341f + shifter) - shifter;
  float r = xc - n * 0.693359375f;
  r = r + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

[[gnu::always_inline]] inline float sigmoid(float x) { return 1.0f / (1.0f + exp_approx(-x)); }
inline double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

[[gnu::always_inline]] inline float tanh_act(float x) {
  // Cephes tanhf: an odd polynomial near 0 (where 1 - 2/(e^2x + 1) would cancel), the
  // exponential form elsewhere.
  float ax = x < 0.0f ? -x : x;
  float z = x * x;
  float small = ((((-5.70498872745e-3f * z + 2.06390887954e-2f) * z - 5.37397155531e-2f) * z +
                  1.33314422036e-1f) * z - 3.33332819422e-1f) * z * x + x;
  float big = 1.0f - 2.0f / (exp_approx(2.0f * ax) + 1.0f);
  big = x < 0.0f ? -big : big;
  return ax >= 0.625f ? big : small;
}
inline double tanh_act(double x) { return std::tanh(x); }

// ---- the per-step product -----------------------------------------------------------

// One term of a step's product: A(m, k) = a[m * am + k * ak] for k < K (so a transposed
// weight is just other strides) times X [K, n], rows ldx apart.
template <typename T>
struct Term {
  const T* a;
  index_t am, ak, K;
  const T* x;
  index_t ldx;
};

// Rows [m, m + MB) and columns [j, j + NB) of C = init + sum over terms of A X, where
// init is C's own value (accumulate), row_init[m] or zero. The MB x NB block of C stays
// in registers across every term and k, and is written once.
template <typename T, int MB, int NB>
inline void product_block(index_t m, index_t j, const Term<T>* terms, int count,
                          const T* row_init, bool accumulate, T* c, index_t ldc) {
  T s[MB][NB];
  for (int r = 0; r < MB; ++r)
    for (int q = 0; q < NB; ++q)
      s[r][q] = accumulate ? c[(m + r) * ldc + j + q] : (row_init ? row_init[m + r] : T(0));
  for (int i = 0; i < count; ++i) {
    const Term<T>& term = terms[i];
    for (index_t k = 0; k < term.K; ++k) {
      const T* xk = term.x + k * term.ldx + j;
      for (int r = 0; r < MB; ++r) {
        const T w = term.a[(m + r) * term.am + k * term.ak];
        for (int q = 0; q < NB; ++q) s[r][q] += w * xk[q];
      }
    }
  }
  for (int r = 0; r < MB; ++r)
    for (int q = 0; q < NB; ++q) c[(m + r) * ldc + j + q] = s[r][q];
}

template <typename T, int NB>
inline void product_cols(index_t M, index_t j, const Term<T>* terms, int count,
                         const T* row_init, bool accumulate, T* c, index_t ldc) {
  index_t m = 0;
  for (; m + 8 <= M; m += 8)
    product_block<T, 8, NB>(m, j, terms, count, row_init, accumulate, c, ldc);
  for (; m + 4 <= M; m += 4)
    product_block<T, 4, NB>(m, j, terms, count, row_init, accumulate, c, ldc);
  for (; m < M; ++m) product_block<T, 1, NB>(m, j, terms, count, row_init, accumulate, c, ldc);
}

// C [M, n] (rows ldc apart) = init + sum of the terms' products; see product_block.
template <typename T>
void product(index_t M, const Term<T>* terms, int count, const T* row_init, bool accumulate,
             T* c, index_t ldc, index_t n) {
  constexpr int NB = 64 / sizeof(T) * 2;  // two cache lines of columns
  index_t j = 0;
  for (; j + NB <= n; j += NB)
    product_cols<T, NB>(M, j, terms, count, row_init, accumulate, c, ldc);
  for (; j + 8 <= n; j += 8) product_cols<T, 8>(M, j, terms, count, row_init, accumulate, c, ldc);
  for (; j < n; ++j) product_cols<T, 1>(M, j, terms, count, row_init, accumulate, c, ldc);
}

// C[m, j] (+)= sum_k A(m, k) X[k, j] for j < n: one term.
template <typename T>
void gemm(index_t M, index_t K, const T* a, index_t am, index_t ak, const T* x, index_t ldx,
          T* c, index_t ldc, index_t n, bool accumulate) {
  const Term<T> term{a, am, ak, K, x, ldx};
  product<T>(M, &term, 1, nullptr, accumulate, c, ldc, n);
}

// Offsets into [T, D, G, B] tensors. A call computes directions [d_lo, d_hi) and batch
// columns [lo, hi).
struct Layout {
  index_t steps, dirs, batch, d_lo, d_hi, lo, hi;
  index_t at(index_t t, index_t d, index_t width, index_t row) const {
    return ((t * dirs + d) * width + row) * batch + lo;
  }
  index_t cols() const { return hi - lo; }
};

// ---- RNN ----------------------------------------------------------------------------

template <typename T>
void elman_forward(const Layout& L, index_t H, const T* x_proj, const T* w_hh, T* out) {
  const index_t n = L.cols(), B = L.batch;
  for (index_t d = L.d_lo; d < L.d_hi; ++d) {
    const T* w = w_hh + d * H * H;
    for (index_t t = 0; t < L.steps; ++t) {
      T* o = out + L.at(t, d, H, 0);
      const T* xp = x_proj + L.at(t, d, H, 0);
      for (index_t g = 0; g < H; ++g)
        for (index_t j = 0; j < n; ++j) o[g * B + j] = xp[g * B + j];
      if (t) gemm<T>(H, H, w, H, 1, out + L.at(t - 1, d, H, 0), B, o, B, n, true);
      for (index_t g = 0; g < H; ++g) {
        T* __restrict row = o + g * B;
        for (index_t j = 0; j < n; ++j) row[j] = tanh_act(row[j]);
      }
    }
  }
}

template <typename T>
void elman_backward(const Layout& L, index_t H, const T* out, const T* w_hh, const T* grad_out,
                    T* d_pre) {
  const index_t n = L.cols(), B = L.batch;
  std::vector<T> carry(H * n);  // W^T d_pre[t + 1], the gradient reaching h[t] through t + 1
  for (index_t d = L.d_lo; d < L.d_hi; ++d) {
    const T* w = w_hh + d * H * H;
    std::fill(carry.begin(), carry.end(), T(0));
    for (index_t t = L.steps - 1; t >= 0; --t) {
      for (index_t g = 0; g < H; ++g) {
        const T* __restrict o = out + L.at(t, d, H, g);
        const T* __restrict go = grad_out + L.at(t, d, H, g);
        const T* __restrict cr = carry.data() + g * n;
        T* __restrict dp = d_pre + L.at(t, d, H, g);
        for (index_t j = 0; j < n; ++j) dp[j] = (go[j] + cr[j]) * (T(1) - o[j] * o[j]);
      }
      T* dp = d_pre + L.at(t, d, H, 0);
      if (t) gemm<T>(H, H, w, 1, H, dp, B, carry.data(), n, n, false);
    }
  }
}

// ---- LSTM (kernel block order o, i, f, g; CIFG o, f, g) ------------------------------
//
// Peepholes (i, f see c[t-1], o sees c[t]) enter as per-unit scalars; without them they
// are zero, which leaves the plain LSTM's arithmetic (a + 0 * c is exact).

// One element of a step from its pre-activations and c[t-1]: the activated gates, the
// new cell and its tanh (CIFG: i = 1 - f). Shared by the scan rows and the layer rows;
// Peep = false (the layer rows) leaves the peephole terms out at compile time.
template <typename T>
struct LSTMGates {
  T o, i, f, g, c, tc;
};

template <typename T, bool Coupled, bool Peep = true>
[[gnu::always_inline]] inline LSTMGates<T> lstm_element(T a_o, T a_i, T a_f, T a_g, T cp, T pi,
                                                        T pf, T po) {
  LSTMGates<T> s;
  s.f = sigmoid(Peep ? a_f + pf * cp : a_f);
  s.g = tanh_act(a_g);
  s.i = Coupled ? T(1) - s.f : sigmoid(Peep ? a_i + pi * cp : a_i);
  s.c = s.f * cp + s.i * s.g;
  s.o = sigmoid(Peep ? a_o + po * s.c : a_o);
  s.tc = tanh_act(s.c);
  return s;
}

// One element's gradients: from the step's gates s, c[t-1], dh (all that reaches h[t])
// and dc (what reaches c[t] from t + 1), the pre-activations' gradients; returns what
// reaches c[t - 1].
template <typename T, bool Coupled, bool Peep = true>
[[gnu::always_inline]] inline T lstm_element_backward(const LSTMGates<T>& s, T cp, T dh, T dc_next,
                                                      T pi, T pf, T po, T& d_o, T& d_i, T& d_f,
                                                      T& d_g) {
  d_o = dh * s.tc * s.o * (T(1) - s.o);
  T dc = dc_next + dh * s.o * (T(1) - s.tc * s.tc);
  if constexpr (Peep) dc = dc + d_o * po;
  T keep;
  if constexpr (Coupled) {  // c = f c_prev + (1 - f) g
    d_i = T(0);
    d_f = dc * (cp - s.g) * s.f * (T(1) - s.f);
    d_g = dc * (T(1) - s.f) * (T(1) - s.g * s.g);
    keep = dc * s.f;
  } else {
    d_i = dc * s.g * s.i * (T(1) - s.i);
    d_f = dc * cp * s.f * (T(1) - s.f);
    d_g = dc * s.i * (T(1) - s.g * s.g);
    keep = Peep ? dc * s.f + d_i * pi : dc * s.f;
  }
  return Peep ? keep + d_f * pf : keep;  // i and f also saw c_prev (peepholes)
}

template <typename T, bool Coupled>
void lstm_row_forward(index_t n, T pi, T pf, T po, const T* __restrict cp, T* __restrict a_o,
                      T* __restrict a_i, T* __restrict a_f, T* __restrict a_g, T* __restrict c,
                      T* __restrict tc, T* __restrict h) {
  for (index_t j = 0; j < n; ++j) {
    const T i_pre = Coupled ? T(0) : a_i[j];  // CIFG's a_i is a_f: never read as a_i
    const LSTMGates<T> s =
        lstm_element<T, Coupled>(a_o[j], i_pre, a_f[j], a_g[j], cp[j], pi, pf, po);
    a_o[j] = s.o;
    if constexpr (!Coupled) a_i[j] = s.i;
    a_f[j] = s.f;
    a_g[j] = s.g;
    c[j] = s.c;
    tc[j] = s.tc;
    h[j] = s.o * s.tc;
  }
}

template <typename T, bool Coupled>
void lstm_forward(const Layout& L, index_t H, const T* x_proj, const T* w_hh, const T* peep,
                  T* gates, T* cell, T* tanh_cell, T* out) {
  const index_t n = L.cols(), B = L.batch, blocks = Coupled ? 3 : 4, G = blocks * H;
  const std::vector<T> zeros(H * B);  // the initial state, rows B apart like the others
  for (index_t d = L.d_lo; d < L.d_hi; ++d) {
    const T* w = w_hh + d * G * H;
    const T* p = peep ? peep + d * 3 * H : nullptr;  // [3, H]: i, f, o
    for (index_t t = 0; t < L.steps; ++t) {
      T* a = gates + L.at(t, d, G, 0);
      const T* xp = x_proj + L.at(t, d, G, 0);
      for (index_t g = 0; g < G; ++g) std::memcpy(a + g * B, xp + g * B, n * sizeof(T));
      if (t) gemm<T>(G, H, w, H, 1, out + L.at(t - 1, d, H, 0), B, a, B, n, true);
      for (index_t u = 0; u < H; ++u) {
        const index_t r = u * B;
        const T pi = p ? p[u] : T(0), pf = p ? p[H + u] : T(0), po = p ? p[2 * H + u] : T(0);
        const T* __restrict cp = t ? cell + L.at(t - 1, d, H, u) : zeros.data();
        T* __restrict a_o = a + r;
        T* __restrict a_i = a + H * B + r;  // unused by CIFG
        T* __restrict a_f = a + (blocks - 2) * H * B + r;
        T* __restrict a_g = a + (blocks - 1) * H * B + r;
        T* __restrict c = cell + L.at(t, d, H, u);
        T* __restrict tc = tanh_cell + L.at(t, d, H, u);
        T* __restrict h = out + L.at(t, d, H, u);
        lstm_row_forward<T, Coupled>(n, pi, pf, po, cp, a_o, a_i, a_f, a_g, c, tc, h);
      }
    }
  }
}

// dh_carry, dc_carry: in, what reaches h[t], c[t] from step t + 1; out, dc_carry becomes
// what reaches c[t - 1] (dh_carry is then recomputed by the caller's product).
template <typename T, bool Coupled>
void lstm_row_backward(index_t n, T pi, T pf, T po, const T* __restrict cp,
                       const T* __restrict tc, const T* __restrict go, const T* __restrict a_o,
                       const T* __restrict a_i, const T* __restrict a_f,
                       const T* __restrict a_g, T* __restrict da_o, T* __restrict da_i,
                       T* __restrict da_f, T* __restrict da_g, const T* __restrict dh_carry,
                       T* __restrict dc_carry) {
  for (index_t j = 0; j < n; ++j) {
    const T i = Coupled ? T(1) - a_f[j] : a_i[j];
    const LSTMGates<T> s{a_o[j], i, a_f[j], a_g[j], T(0), tc[j]};
    T d_i;
    dc_carry[j] = lstm_element_backward<T, Coupled>(s, cp[j], go[j] + dh_carry[j], dc_carry[j],
                                                    pi, pf, po, da_o[j], d_i, da_f[j], da_g[j]);
    if constexpr (!Coupled) da_i[j] = d_i;
  }
}

template <typename T, bool Coupled>
void lstm_backward(const Layout& L, index_t H, const T* gates, const T* cell,
                   const T* tanh_cell, const T* w_hh, const T* peep, const T* grad_out,
                   T* d_pre) {
  const index_t n = L.cols(), B = L.batch, blocks = Coupled ? 3 : 4, G = blocks * H;
  const std::vector<T> zeros(H * B);
  // What reaches h[t] and c[t] from step t + 1 (zero after the last step).
  std::vector<T> dh_carry(H * n), dc_carry(H * n);
  for (index_t d = L.d_lo; d < L.d_hi; ++d) {
    const T* w = w_hh + d * G * H;
    const T* p = peep ? peep + d * 3 * H : nullptr;
    std::fill(dh_carry.begin(), dh_carry.end(), T(0));
    std::fill(dc_carry.begin(), dc_carry.end(), T(0));
    for (index_t t = L.steps - 1; t >= 0; --t) {
      const T* a = gates + L.at(t, d, G, 0);
      T* da = d_pre + L.at(t, d, G, 0);
      for (index_t u = 0; u < H; ++u) {
        const index_t r = u * B;
        const T pi = p ? p[u] : T(0), pf = p ? p[H + u] : T(0), po = p ? p[2 * H + u] : T(0);
        const T* __restrict cp = t ? cell + L.at(t - 1, d, H, u) : zeros.data();
        const T* __restrict tc = tanh_cell + L.at(t, d, H, u);
        const T* __restrict go = grad_out + L.at(t, d, H, u);
        const T* __restrict a_o = a + r;
        const T* __restrict a_i = a + H * B + r;
        const T* __restrict a_f = a + (blocks - 2) * H * B + r;
        const T* __restrict a_g = a + (blocks - 1) * H * B + r;
        T* __restrict da_o = da + r;
        T* __restrict da_i = da + H * B + r;
        T* __restrict da_f = da + (blocks - 2) * H * B + r;
        T* __restrict da_g = da + (blocks - 1) * H * B + r;
        T* __restrict dh_in = dh_carry.data() + u * n;
        T* __restrict dc_in = dc_carry.data() + u * n;
        lstm_row_backward<T, Coupled>(n, pi, pf, po, cp, tc, go, a_o, a_i, a_f, a_g, da_o, da_i,
                                      da_f, da_g, dh_in, dc_in);
      }
      if (t) gemm<T>(H, G, w, 1, H, da, B, dh_carry.data(), n, n, false);
    }
  }
}

// ---- GRU (blocks r, z, n; mixed = [r, z, W_hn h + b_hn]) -----------------------------

// One element of a GRU step from the input half x and the state half m = W_h h + [0, 0,
// b_hn]; h[t] = n + z (h[t-1] - n). Shared by the scan rows and the layer rows.
template <typename T>
struct GRUGates {
  T r, z, n;
};

template <typename T>
[[gnu::always_inline]] inline GRUGates<T> gru_element(T x_r, T x_z, T x_n, T m_r, T m_z, T m_n) {
  const T r = sigmoid(x_r + m_r);
  return {r, sigmoid(x_z + m_z), tanh_act(x_n + r * m_n)};
}

// The gradients of the gates' pre-activations from dh (all that reaches h[t]).
template <typename T>
[[gnu::always_inline]] inline void gru_element_backward(const GRUGates<T>& s, T m_n, T hp, T dh,
                                                        T& dr_pre, T& dz_pre, T& dn_pre) {
  dn_pre = dh * (T(1) - s.z) * (T(1) - s.n * s.n);
  dz_pre = dh * (hp - s.n) * s.z * (T(1) - s.z);
  dr_pre = dn_pre * m_n * s.r * (T(1) - s.r);
}

// One hidden unit's row of a step (restrict holds for function parameters, which lets
// the compiler vectorise the loop).
template <typename T>
void gru_row_forward(index_t n, const T* __restrict x_r, const T* __restrict x_z,
                     const T* __restrict x_n, T* __restrict m_r, T* __restrict m_z,
                     const T* __restrict m_n, const T* __restrict hp, T* __restrict nn,
                     T* __restrict h) {
  for (index_t j = 0; j < n; ++j) {
    const GRUGates<T> s = gru_element(x_r[j], x_z[j], x_n[j], m_r[j], m_z[j], m_n[j]);
    m_r[j] = s.r;
    m_z[j] = s.z;
    nn[j] = s.n;
    h[j] = s.n + s.z * (hp[j] - s.n);
  }
}

template <typename T>
void gru_forward(const Layout& L, index_t H, const T* x_proj, const T* w_hh, const T* b_hn,
                 T* mixed, T* cand, T* out) {
  const index_t n = L.cols(), B = L.batch, G = 3 * H;
  const std::vector<T> zeros(H * B);
  for (index_t d = L.d_lo; d < L.d_hi; ++d) {
    const T* w = w_hh + d * G * H;
    for (index_t t = 0; t < L.steps; ++t) {
      T* m = mixed + L.at(t, d, G, 0);
      for (index_t g = 0; g < G; ++g) {
        const T b = g >= 2 * H ? b_hn[d * H + g - 2 * H] : T(0);
        T* __restrict row = m + g * B;
        for (index_t j = 0; j < n; ++j) row[j] = b;
      }
      if (t) gemm<T>(G, H, w, H, 1, out + L.at(t - 1, d, H, 0), B, m, B, n, true);
      for (index_t u = 0; u < H; ++u) {
        const T* __restrict x_r = x_proj + L.at(t, d, G, u);
        const T* __restrict x_z = x_proj + L.at(t, d, G, H + u);
        const T* __restrict x_n = x_proj + L.at(t, d, G, 2 * H + u);
        T* __restrict m_r = m + u * B;
        T* __restrict m_z = m + (H + u) * B;
        const T* __restrict m_n = m + (2 * H + u) * B;
        const T* __restrict hp = t ? out + L.at(t - 1, d, H, u) : zeros.data();
        T* __restrict nn = cand + L.at(t, d, H, u);
        T* __restrict h = out + L.at(t, d, H, u);
        gru_row_forward(n, x_r, x_z, x_n, m_r, m_z, m_n, hp, nn, h);
      }
    }
  }
}

template <typename T>
void gru_row_backward(index_t n, const T* __restrict m_r, const T* __restrict m_z,
                      const T* __restrict m_n, const T* __restrict nn, const T* __restrict hp,
                      const T* __restrict go, T* __restrict dm_r, T* __restrict dm_z,
                      T* __restrict dm_n, T* __restrict dx_r, T* __restrict dx_z,
                      T* __restrict dx_n, T* __restrict carry) {
  for (index_t j = 0; j < n; ++j) {
    const T dh = go[j] + carry[j];
    const GRUGates<T> s{m_r[j], m_z[j], nn[j]};
    T dr_pre, dz_pre, dn_pre;
    gru_element_backward(s, m_n[j], hp[j], dh, dr_pre, dz_pre, dn_pre);
    dm_r[j] = dx_r[j] = dr_pre;
    dm_z[j] = dx_z[j] = dz_pre;
    dm_n[j] = dn_pre * s.r;
    dx_n[j] = dn_pre;
    carry[j] = dh * s.z;  // h = n + z (h_prev - n): the direct path to h_prev
  }
}

template <typename T>
void gru_backward(const Layout& L, index_t H, const T* mixed, const T* cand, const T* out,
                  const T* w_hh, const T* grad_out, T* d_mixed, T* d_x) {
  const index_t n = L.cols(), B = L.batch, G = 3 * H;
  const std::vector<T> zeros(H * B);
  std::vector<T> carry(H * n);  // the gradient reaching h[t] from step t + 1
  for (index_t d = L.d_lo; d < L.d_hi; ++d) {
    const T* w = w_hh + d * G * H;
    std::fill(carry.begin(), carry.end(), T(0));
    for (index_t t = L.steps - 1; t >= 0; --t) {
      T* dm = d_mixed + L.at(t, d, G, 0);
      for (index_t u = 0; u < H; ++u) {
        const T* __restrict m_r = mixed + L.at(t, d, G, u);
        const T* __restrict m_z = mixed + L.at(t, d, G, H + u);
        const T* __restrict m_n = mixed + L.at(t, d, G, 2 * H + u);
        const T* __restrict nn = cand + L.at(t, d, H, u);
        const T* __restrict hp = t ? out + L.at(t - 1, d, H, u) : zeros.data();
        const T* __restrict go = grad_out + L.at(t, d, H, u);
        T* __restrict dm_r = dm + u * B;
        T* __restrict dm_z = dm + (H + u) * B;
        T* __restrict dm_n = dm + (2 * H + u) * B;
        T* __restrict dx_r = d_x + L.at(t, d, G, u);
        T* __restrict dx_z = d_x + L.at(t, d, G, H + u);
        T* __restrict dx_n = d_x + L.at(t, d, G, 2 * H + u);
        T* __restrict cr = carry.data() + u * n;
        gru_row_backward(n, m_r, m_z, m_n, nn, hp, go, dm_r, dm_z, dm_n, dx_r, dx_z, dx_n, cr);
      }
      if (t) gemm<T>(H, G, w, 1, H, dm, B, carry.data(), n, n, true);
    }
  }
}


// ---- minGRU / minLSTM: h[t] = a[t] h[t-1] + b[t], h[-1] = 0 (Feng et al. 2024) -------
//
// The gates read only the input, so a and b come from the step's own pre-activations
// (the layer's Linear output, rows [B, T, G*H]: candidate, gate for minGRU; candidate,
// forget, input for minLSTM), and the step is elementwise. A piece's "columns" are rows
// b in [lo, hi): each an independent recurrence whose H units are one contiguous vector
// per step. Gates, recurrence and (in the backward) every gradient in one pass over the
// rows, with no log-space terms: the sequential definition the parallel scan computes.

// g(x) = x + 0.5 for x >= 0, sigmoid(x) below (keeps h~ positive); dg its derivative.
template <typename T>
[[gnu::always_inline]] inline T min_candidate(T x, T& dg) {
  const T s = sigmoid(x);
  dg = x >= T(0) ? T(1) : s * (T(1) - s);
  return x >= T(0) ? x + T(0.5) : s;
}

// One element's a and b (and what the backward needs) from its pre-activations.
template <typename T, bool Lstm>
struct MinElement {
  T a, b, gc, dg, z, f, i, sum;
  [[gnu::always_inline]] MinElement(const T* p, index_t H, index_t k) {
    T slope;  // a local, not the member: a member written through a reference kept the
    gc = min_candidate(p[k], slope);  // struct in memory and the backward's loop scalar
    dg = slope;
    if constexpr (Lstm) {  // f' = f / (f + i), i' = i / (f + i)
      f = sigmoid(p[H + k]);
      i = sigmoid(p[2 * H + k]);
      sum = f + i;
      a = f / sum;
      b = i / sum * gc;
    } else {  // a = 1 - z, b = z g(candidate)
      z = sigmoid(p[H + k]);
      a = T(1) - z;
      b = z * gc;
    }
  }
};

template <typename T, bool Lstm>
void min_scan_forward(const Layout& L, index_t H, const T* pre, T* h) {
  const index_t steps = L.steps, G = (Lstm ? 3 : 2) * H;
  const std::vector<T> zeros(H);
  for (index_t b = L.lo; b < L.hi; ++b) {
    for (index_t t = 0; t < steps; ++t) {
      const T* __restrict p = pre + (b * steps + t) * G;
      const T* __restrict hp = t ? h + (b * steps + t - 1) * H : zeros.data();
      T* __restrict ht = h + (b * steps + t) * H;
      for (index_t k = 0; k < H; ++k) {
        const MinElement<T, Lstm> e(p, H, k);
        ht[k] = e.a * hp[k] + e.b;
      }
    }
  }
}

// g = grad_out[t] + a[t + 1] g[t + 1] reaches h[t]; from it the pre-activations' gradients.
template <typename T, bool Lstm>
void min_scan_backward(const Layout& L, index_t H, const T* pre, const T* h, const T* grad_out,
                       T* d_pre) {
  const index_t steps = L.steps, G = (Lstm ? 3 : 2) * H;
  const std::vector<T> zeros(H);
  std::vector<T> carry(H);
  for (index_t b = L.lo; b < L.hi; ++b) {
    std::fill(carry.begin(), carry.end(), T(0));
    for (index_t t = steps - 1; t >= 0; --t) {
      const index_t at = b * steps + t;
      const T* __restrict p = pre + at * G;
      const T* __restrict hp = t ? h + (at - 1) * H : zeros.data();
      const T* __restrict go = grad_out + at * H;
      T* __restrict dp = d_pre + at * G;
      T* __restrict c = carry.data();
      // GCC 12 left this loop scalar without the pragma: the backward took 15-20x the
      // forward's time (seed A, minGRU and minLSTM). omp simd reorders nothing within an
      // element, so the results are bit for bit those of the scalar loop (checked on
      // float32 and float64; the reference tests: tests/test_models_scan.py).
#pragma omp simd
      for (index_t k = 0; k < H; ++k) {
        const MinElement<T, Lstm> e(p, H, k);
        const T g = go[k] + c[k];
        if constexpr (Lstm) {
          const T da = g * hp[k], dbg = g * e.gc, scale = T(1) / (e.sum * e.sum);
          dp[k] = g * (e.i / e.sum) * e.dg;
          dp[H + k] = e.i * scale * (da - dbg) * e.f * (T(1) - e.f);
          dp[2 * H + k] = e.f * scale * (dbg - da) * e.i * (T(1) - e.i);
        } else {
          dp[k] = g * e.z * e.dg;
          dp[H + k] = g * (e.gc - hp[k]) * e.z * (T(1) - e.z);
        }
        c[k] = e.a * g;
      }
    }
  }
}

// ---- whole layers: input projection, recurrence and weight gradients in one pass -----
//
// Why: at seed C (hidden 8, batch 1000, 25 layers) a layer run as projection + time loop
// + weight products writes and rereads [T, G, B] pre-activations, gates and their
// gradients several times over (~240 MB per GRU layer); that traffic, not arithmetic,
// was most of a layer's time. Here a step computes b + W_ih x[t] + W_hh h[t-1] into a
// block that stays in cache, the forward stores only the states (and the LSTM's cells
// and gates), and the backward recomputes the RNN's and GRU's gates from x[t] and
// h[t-1], writes d x[t] and adds the weight and bias gradients up in cache (~40 MB per
// layer). Each piece returns partial gradient sums for its one direction and its
// columns; the caller adds the pieces in a fixed order, so the sums do not depend on the
// thread count either.

template <typename T>
constexpr int kLanes = 64 / static_cast<int>(sizeof(T));

// kLanes<T> values of T in one 64-byte vector (GCC's vector extension), and loads of it.
template <typename T>
struct LaneVector {
  typedef T type __attribute__((vector_size(64)));
};
template <typename T>
using Lanes = typename LaneVector<T>::type;

template <typename T>
[[gnu::always_inline]] inline Lanes<T> load_lanes(const T* p) {
  Lanes<T> v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// The first `count` values from p, the other lanes zero.
template <typename T>
[[gnu::always_inline]] inline Lanes<T> load_lanes(const T* p, index_t count) {
  T buffer[kLanes<T>] = {};
  std::copy(p, p + count, buffer);
  return load_lanes(buffer);
}

// acc[(r * K + c) * V + v] += sum over columns j = v (mod V) of a[r, j] x[c, j], for an
// MB x KB block. Kept per lane so that the sum over columns stays vectorised; the lanes
// are added once at the end (lanes_to), always in the same order. The block's sums are
// whole vectors, so that they stay in registers (as plain arrays GCC kept them on the
// stack: a load and a store around every product, 3x slower). The last, partial group
// of columns reads zeros beyond n: each of those lanes adds 0 * 0, which leaves its
// sum as it was (the sums start at +0 and never become -0).
template <typename T, int MB, int KB>
inline void outer_block(const T* a, index_t lda, const T* x, index_t ldx, index_t n, T* acc,
                        index_t K) {
  constexpr int V = kLanes<T>;
  Lanes<T> s[MB][KB] = {};
  const auto add = [&](auto load) {
    Lanes<T> av[MB], xv[KB];
    for (int r = 0; r < MB; ++r) av[r] = load(a + r * lda);
    for (int c = 0; c < KB; ++c) xv[c] = load(x + c * ldx);
    for (int r = 0; r < MB; ++r)
      for (int c = 0; c < KB; ++c) s[r][c] += av[r] * xv[c];
  };
  index_t j = 0;
  for (; j + V <= n; j += V) add([j](const T* row) { return load_lanes(row + j); });
  if (j < n) add([j, n](const T* row) { return load_lanes(row + j, n - j); });
  for (int r = 0; r < MB; ++r)
    for (int c = 0; c < KB; ++c)
      for (int v = 0; v < V; ++v) acc[(r * K + c) * V + v] += s[r][c][v];
}

// acc [M, K, V] += a [M, n] (rows lda apart) times x [K, n]^T (rows ldx apart), per lane.
template <typename T>
void outer(index_t M, index_t K, const T* a, index_t lda, const T* x, index_t ldx, index_t n,
           T* acc) {
  constexpr int V = kLanes<T>;
  index_t m = 0;
  for (; m + 4 <= M; m += 4) {
    index_t k = 0;
    for (; k + 4 <= K; k += 4)
      outer_block<T, 4, 4>(a + m * lda, lda, x + k * ldx, ldx, n, acc + (m * K + k) * V, K);
    for (; k < K; ++k)
      outer_block<T, 4, 1>(a + m * lda, lda, x + k * ldx, ldx, n, acc + (m * K + k) * V, K);
  }
  for (; m < M; ++m)
    for (index_t k = 0; k < K; ++k)
      outer_block<T, 1, 1>(a + m * lda, lda, x + k * ldx, ldx, n, acc + (m * K + k) * V, K);
}

// acc [M, V] += the rows of a [M, n] (rows lda apart), per lane.
template <typename T>
void row_sums(index_t M, const T* a, index_t lda, index_t n, T* acc) {
  constexpr int V = kLanes<T>;
  for (index_t m = 0; m < M; ++m) {
    T s[V] = {};
    const T* row = a + m * lda;
    index_t j = 0;
    for (; j + V <= n; j += V)
      for (int v = 0; v < V; ++v) s[v] += row[j + v];
    for (int v = 0; j + v < n; ++v) s[v] += row[j + v];
    for (int v = 0; v < V; ++v) acc[m * V + v] += s[v];
  }
}

// out[i] = the sum of acc[i]'s V lanes, for count rows.
template <typename T>
void lanes_to(index_t count, const T* acc, T* out) {
  constexpr int V = kLanes<T>;
  for (index_t i = 0; i < count; ++i) {
    T s = T(0);
    for (int v = 0; v < V; ++v) s += acc[i * V + v];
    out[i] = s;
  }
}

// What every layer kernel shares: the layer's weights for one direction, its per-step
// blocks ([rows, n], rows n apart, in cache) and, in the backward, the gradient sums.
template <typename T>
struct LayerStep {
  const Layout& L;
  index_t H, F, G, d, n;
  const T *x, *w_ih, *w_hh, *bias;  // this direction's
  const T* out;
  std::vector<T> zeros;  // the initial state's row

  LayerStep(const Layout& layout, index_t hidden, index_t features, index_t gates,
            index_t dir, const T* inputs, const T* wi, const T* wh, const T* b, const T* states)
      : L(layout), H(hidden), F(features), G(gates), d(dir), n(layout.cols()), x(inputs),
        w_ih(wi + dir * gates * features), w_hh(wh + dir * gates * hidden),
        bias(b + dir * gates), out(states), zeros(layout.cols()) {}

  const T* x_at(index_t t) const { return x + L.at(t, d, F, 0); }
  // h[t - 1]'s row u (the zero initial state at t = 0), rows B apart.
  const T* h_prev(index_t t, index_t u) const {
    return t ? out + L.at(t - 1, d, H, u) : zeros.data();
  }
  // pre [G, n] = b + W_ih x[t] (+ W_hh h[t-1] if with_state), in one pass.
  void preact(index_t t, T* pre, bool with_state) const {
    const Term<T> terms[2] = {{w_ih, F, 1, F, x_at(t), L.batch},
                              {w_hh, H, 1, H, t ? out + L.at(t - 1, d, H, 0) : nullptr, L.batch}};
    product<T>(G, terms, with_state && t ? 2 : 1, bias, false, pre, n, n);
  }
};

// The backward's gradient sums of one piece: dW_ih [G, F], dW_hh [G, H], the bias [G]
// (and extra rows, the GRU's b_hn [H]), per lane until finish().
template <typename T>
struct LayerGrads {
  std::vector<T> w_ih, w_hh, bias, extra;
  LayerGrads(index_t G, index_t F, index_t H, index_t extra_rows)
      : w_ih(G * F * kLanes<T>), w_hh(G * H * kLanes<T>), bias(G * kLanes<T>),
        extra(extra_rows * kLanes<T>) {}

  // A step's d x[t] = W_ih^T da and gradient sums; da is the input half's gradient
  // [G, n], dm that of W_hh h[t-1] (the same but for the GRU's reset-gated rows).
  void step(const LayerStep<T>& S, index_t t, const T* da, const T* dm, T* d_x) {
    const index_t n = S.n, B = S.L.batch;
    gemm<T>(S.F, S.G, S.w_ih, 1, S.F, da, n, d_x + S.L.at(t, S.d, S.F, 0), B, n, false);
    outer<T>(S.G, S.F, da, n, S.x_at(t), B, n, w_ih.data());
    row_sums<T>(S.G, da, n, n, bias.data());
    if (t) outer<T>(S.G, S.H, dm, n, S.out + S.L.at(t - 1, S.d, S.H, 0), B, n, w_hh.data());
  }
  // [dW_ih | dW_hh | bias | extra] into the piece's row of grads.
  void finish(T* grads, index_t piece) const {
    const auto parts = {&w_ih, &w_hh, &bias, &extra};
    index_t width = 0;
    for (const std::vector<T>* part : parts) width += part->size() / kLanes<T>;
    grads += piece * width;
    for (const std::vector<T>* part : parts) {
      lanes_to<T>(part->size() / kLanes<T>, part->data(), grads);
      grads += part->size() / kLanes<T>;
    }
  }
};

// RNN: h[t] = tanh(b + W_ih x[t] + W_hh h[t-1]).
template <typename T>
void elman_layer_forward(const Layout& L, index_t H, index_t F, const T* x, const T* w_ih,
                         const T* w_hh, const T* bias, T* out) {
  const LayerStep<T> S(L, H, F, H, L.d_lo, x, w_ih, w_hh, bias, out);
  std::vector<T> pre(H * S.n);
  for (index_t t = 0; t < L.steps; ++t) {
    S.preact(t, pre.data(), true);
    for (index_t u = 0; u < H; ++u) {
      const T* __restrict p = pre.data() + u * S.n;
      T* __restrict h = out + L.at(t, S.d, H, u);
      for (index_t j = 0; j < S.n; ++j) h[j] = tanh_act(p[j]);
    }
  }
}

template <typename T>
void elman_layer_backward(const Layout& L, index_t H, index_t F, const T* x, const T* w_ih,
                          const T* w_hh, const T* bias, const T* out, const T* grad_out,
                          T* d_x, T* grads, index_t piece) {
  const LayerStep<T> S(L, H, F, H, L.d_lo, x, w_ih, w_hh, bias, out);
  LayerGrads<T> acc(H, F, H, 0);
  std::vector<T> d_pre(H * S.n), carry(H * S.n);
  for (index_t t = L.steps - 1; t >= 0; --t) {
    for (index_t u = 0; u < H; ++u) {
      const T* __restrict o = out + L.at(t, S.d, H, u);
      const T* __restrict go = grad_out + L.at(t, S.d, H, u);
      const T* __restrict cr = carry.data() + u * S.n;
      T* __restrict dp = d_pre.data() + u * S.n;
      for (index_t j = 0; j < S.n; ++j) dp[j] = (go[j] + cr[j]) * (T(1) - o[j] * o[j]);
    }
    acc.step(S, t, d_pre.data(), d_pre.data(), d_x);
    if (t) gemm<T>(H, H, S.w_hh, 1, H, d_pre.data(), S.n, carry.data(), S.n, S.n, false);
  }
  acc.finish(grads, piece);
}

// LSTM in the kernel's block order o, i, f, g. The forward keeps the cells and the
// activated gates ([T, D, 4H, B]) for the backward: recomputing the gates there instead
// (a second W_ih x[t] + W_hh h[t-1] per step) took 1.2-1.3x the time of reading them at
// seed A, seed C and the memory task's BiLSTM (1 thread, AMD EPYC; the same values).
template <typename T>
void lstm_layer_row_forward(index_t n, const T* __restrict a_o, const T* __restrict a_i,
                            const T* __restrict a_f, const T* __restrict a_g,
                            const T* __restrict cp, T* __restrict c, T* __restrict h,
                            T* __restrict k_o, T* __restrict k_i, T* __restrict k_f,
                            T* __restrict k_g) {
  for (index_t j = 0; j < n; ++j) {
    const LSTMGates<T> s =
        lstm_element<T, false, false>(a_o[j], a_i[j], a_f[j], a_g[j], cp[j], T(0), T(0), T(0));
    c[j] = s.c;
    h[j] = s.o * s.tc;
    k_o[j] = s.o;
    k_i[j] = s.i;
    k_f[j] = s.f;
    k_g[j] = s.g;
  }
}

// k_*: the step's stored gates; c: its cells, cp the previous ones; dh_carry: in, what
// reaches h[t] from step t + 1; dc_carry: in, what reaches c[t], out, what reaches
// c[t - 1].
template <typename T>
void lstm_layer_row_backward(index_t n, const T* __restrict k_o, const T* __restrict k_i,
                             const T* __restrict k_f, const T* __restrict k_g,
                             const T* __restrict cp, const T* __restrict c,
                             const T* __restrict go, T* __restrict da_o, T* __restrict da_i,
                             T* __restrict da_f, T* __restrict da_g,
                             const T* __restrict dh_carry, T* __restrict dc_carry) {
  for (index_t j = 0; j < n; ++j) {
    const LSTMGates<T> s{k_o[j], k_i[j], k_f[j], k_g[j], c[j], tanh_act(c[j])};
    dc_carry[j] = lstm_element_backward<T, false, false>(
        s, cp[j], go[j] + dh_carry[j], dc_carry[j], T(0), T(0), T(0), da_o[j], da_i[j], da_f[j],
        da_g[j]);
  }
}

template <typename T>
void lstm_layer_forward(const Layout& L, index_t H, index_t F, const T* x, const T* w_ih,
                        const T* w_hh, const T* bias, T* out, T* cell, T* gates) {
  const LayerStep<T> S(L, H, F, 4 * H, L.d_lo, x, w_ih, w_hh, bias, out);
  const index_t n = S.n, ld = H * L.batch;  // a stored gate's rows: ld after the last's
  std::vector<T> pre(4 * H * n);
  for (index_t t = 0; t < L.steps; ++t) {
    S.preact(t, pre.data(), true);
    for (index_t u = 0; u < H; ++u) {
      const T* cp = t ? cell + L.at(t - 1, S.d, H, u) : S.zeros.data();
      const T* p = pre.data() + u * n;  // o; i, f, g follow H rows apart each
      T* k = gates + L.at(t, S.d, 4 * H, u);
      lstm_layer_row_forward(n, p, p + H * n, p + 2 * H * n, p + 3 * H * n, cp,
                             cell + L.at(t, S.d, H, u), out + L.at(t, S.d, H, u), k, k + ld,
                             k + 2 * ld, k + 3 * ld);
    }
  }
}

template <typename T>
void lstm_layer_backward(const Layout& L, index_t H, index_t F, const T* x, const T* w_ih,
                         const T* w_hh, const T* bias, const T* out, const T* cell,
                         const T* gates, const T* grad_out, T* d_x, T* grads, index_t piece) {
  const LayerStep<T> S(L, H, F, 4 * H, L.d_lo, x, w_ih, w_hh, bias, out);
  const index_t n = S.n, ld = H * L.batch;
  LayerGrads<T> acc(4 * H, F, H, 0);
  std::vector<T> d_pre(4 * H * n), dh_carry(H * n), dc_carry(H * n);
  for (index_t t = L.steps - 1; t >= 0; --t) {
    for (index_t u = 0; u < H; ++u) {
      const T* cp = t ? cell + L.at(t - 1, S.d, H, u) : S.zeros.data();
      const T* k = gates + L.at(t, S.d, 4 * H, u);
      T* dp = d_pre.data() + u * n;
      lstm_layer_row_backward(n, k, k + ld, k + 2 * ld, k + 3 * ld, cp,
                              cell + L.at(t, S.d, H, u), grad_out + L.at(t, S.d, H, u), dp,
                              dp + H * n, dp + 2 * H * n, dp + 3 * H * n,
                              dh_carry.data() + u * n, dc_carry.data() + u * n);
    }
    acc.step(S, t, d_pre.data(), d_pre.data(), d_x);
    if (t) gemm<T>(H, 4 * H, S.w_hh, 1, H, d_pre.data(), n, dh_carry.data(), n, n, false);
  }
  acc.finish(grads, piece);
}

// GRU (blocks r, z, n): the input half a = b + W_ih x[t] and the state half
// m = [0, 0, b_hn] + W_hh h[t-1] stay apart, since n = tanh(a_n + r m_n).
template <typename T>
std::vector<T> gru_state_init(index_t H, const T* b_hn) {
  std::vector<T> init(3 * H);
  std::copy(b_hn, b_hn + H, init.begin() + 2 * H);
  return init;
}

// m_init: [0, 0, b_hn], m's value before the product.
template <typename T>
void gru_layer_preact(const LayerStep<T>& S, index_t t, const T* m_init, T* a, T* m) {
  const index_t n = S.n, H = S.H;
  S.preact(t, a, false);
  const Term<T> state{S.w_hh, H, 1, H, t ? S.out + S.L.at(t - 1, S.d, H, 0) : nullptr, S.L.batch};
  product<T>(3 * H, &state, t ? 1 : 0, m_init, false, m, n, n);
}

template <typename T>
void gru_layer_row_forward(index_t n, const T* __restrict a_r, const T* __restrict a_z,
                           const T* __restrict a_n, const T* __restrict m_r,
                           const T* __restrict m_z, const T* __restrict m_n,
                           const T* __restrict hp, T* __restrict h) {
  for (index_t j = 0; j < n; ++j) {
    const GRUGates<T> s = gru_element(a_r[j], a_z[j], a_n[j], m_r[j], m_z[j], m_n[j]);
    h[j] = s.n + s.z * (hp[j] - s.n);
  }
}

template <typename T>
void gru_layer_forward(const Layout& L, index_t H, index_t F, const T* x, const T* w_ih,
                       const T* w_hh, const T* bias, const T* b_hn, T* out) {
  const LayerStep<T> S(L, H, F, 3 * H, L.d_lo, x, w_ih, w_hh, bias, out);
  const index_t n = S.n;
  std::vector<T> a(3 * H * n), m(3 * H * n);
  const std::vector<T> m_init = gru_state_init(H, b_hn + S.d * H);
  for (index_t t = 0; t < L.steps; ++t) {
    gru_layer_preact(S, t, m_init.data(), a.data(), m.data());
    for (index_t u = 0; u < H; ++u) {
      const index_t r = u * n, z = (H + u) * n, c = (2 * H + u) * n;
      gru_layer_row_forward(n, &a[r], &a[z], &a[c], &m[r], &m[z], &m[c], S.h_prev(t, u),
                            out + L.at(t, S.d, H, u));
    }
  }
}

// The forward's row recomputed, then its gradient: da for the input half, dm for the
// state half (dm_n = da_n r), carry = dh z (the direct path to h[t-1]).
template <typename T>
void gru_layer_row_backward(index_t n, const T* __restrict a_r, const T* __restrict a_z,
                            const T* __restrict a_n, const T* __restrict m_r,
                            const T* __restrict m_z, const T* __restrict m_n,
                            const T* __restrict hp, const T* __restrict go,
                            T* __restrict da_r, T* __restrict da_z, T* __restrict da_n,
                            T* __restrict dm_r, T* __restrict dm_z, T* __restrict dm_n,
                            T* __restrict carry) {
  for (index_t j = 0; j < n; ++j) {
    const GRUGates<T> s = gru_element(a_r[j], a_z[j], a_n[j], m_r[j], m_z[j], m_n[j]);
    const T dh = go[j] + carry[j];
    T dr_pre, dz_pre, dn_pre;
    gru_element_backward(s, m_n[j], hp[j], dh, dr_pre, dz_pre, dn_pre);
    da_r[j] = dm_r[j] = dr_pre;
    da_z[j] = dm_z[j] = dz_pre;
    da_n[j] = dn_pre;
    dm_n[j] = dn_pre * s.r;
    carry[j] = dh * s.z;
  }
}

template <typename T>
void gru_layer_backward(const Layout& L, index_t H, index_t F, const T* x, const T* w_ih,
                        const T* w_hh, const T* bias, const T* b_hn, const T* out,
                        const T* grad_out, T* d_x, T* grads, index_t piece) {
  const LayerStep<T> S(L, H, F, 3 * H, L.d_lo, x, w_ih, w_hh, bias, out);
  const index_t n = S.n;
  LayerGrads<T> acc(3 * H, F, H, H);  // extra: b_hn
  std::vector<T> a(3 * H * n), m(3 * H * n), da(3 * H * n), dm(3 * H * n), carry(H * n);
  const std::vector<T> m_init = gru_state_init(H, b_hn + S.d * H);
  for (index_t t = L.steps - 1; t >= 0; --t) {
    gru_layer_preact(S, t, m_init.data(), a.data(), m.data());
    for (index_t u = 0; u < H; ++u) {
      const index_t r = u * n, z = (H + u) * n, c = (2 * H + u) * n;
      gru_layer_row_backward(n, &a[r], &a[z], &a[c], &m[r], &m[z], &m[c], S.h_prev(t, u),
                             grad_out + L.at(t, S.d, H, u), &da[r], &da[z], &da[c], &dm[r],
                             &dm[z], &dm[c], &carry[u * n]);
    }
    acc.step(S, t, da.data(), dm.data(), d_x);
    row_sums<T>(H, &dm[2 * H * n], n, n, acc.extra.data());
    if (t) gemm<T>(H, 3 * H, S.w_hh, 1, H, dm.data(), n, carry.data(), n, n, true);
  }
  acc.finish(grads, piece);
}

// ---- the first layer's input projection by table lookup ------------------------------
//
// x_proj[t, d, g, b] = table[d, g, ids[t, d, b]]: a token's projection W_ih e + b is a
// column of the [D, G, V] table, computed once per batch for the whole vocabulary
// (recurrent.py: project_table). The backward adds the gradients up per token.

template <typename T>
void table_gather(const Layout& L, index_t G, index_t V, const int64_t* ids, const T* table,
                  T* out) {
  const index_t d = L.d_lo, n = L.cols();
  for (index_t t = 0; t < L.steps; ++t) {
    const int64_t* __restrict id = ids + (t * L.dirs + d) * L.batch + L.lo;
    for (index_t g = 0; g < G; ++g) {
      const T* __restrict column = table + (d * G + g) * V;
      T* __restrict o = out + L.at(t, d, G, g);
      for (index_t j = 0; j < n; ++j) o[j] = column[id[j]];
    }
  }
}

// partial [G, V] (this piece's, zeroed by the caller) += the piece's gradients per token.
template <typename T>
void table_scatter(const Layout& L, index_t G, index_t V, const int64_t* ids,
                   const T* grad, T* partial) {
  const index_t d = L.d_lo, n = L.cols();
  for (index_t t = 0; t < L.steps; ++t) {
    const int64_t* id = ids + (t * L.dirs + d) * L.batch + L.lo;
    for (index_t g = 0; g < G; ++g) {
      const T* gr = grad + L.at(t, d, G, g);
      T* column = partial + g * V;
      for (index_t j = 0; j < n; ++j) column[id[j]] += gr[j];
    }
  }
}

}  // namespace

// ---- C ABI ---------------------------------------------------------------------------
//
// One symbol per kernel and precision (suffix f32 / f64). ``shape`` is [steps, dirs,
// hidden, batch]; ``pieces`` holds ``count`` rows [d_lo, d_hi, lo, hi]: disjoint blocks
// of directions and batch columns, which run in parallel on the OpenMP threads. Built
// against the libgomp.so.1 that torch has already loaded, these are torch's own
// intra-op threads, so the kernels neither add threads nor compete with idle-spinning
// ones (a separate thread pool measured 30-50% slower for that reason).

namespace {
// The caller's floating-point mode (torch.set_flush_denormal sets flush-to-zero on the
// calling thread only) applied on every thread for the call: otherwise a piece would
// depend on which thread ran it, and vanishing gradients would crawl through subnormals
// (measured 5x slower at seed C) on the threads without it.
#if defined(__x86_64__) || defined(__i386__)
using FloatMode = unsigned int;
FloatMode float_mode() { return _mm_getcsr(); }
void set_float_mode(FloatMode mode) { _mm_setcsr(mode); }
#else
using FloatMode = int;
FloatMode float_mode() { return 0; }
void set_float_mode(FloatMode) {}
#endif

// body(layout, hidden, p) for every piece p (its index picks its slot of partial sums).
template <typename Body>
void for_pieces(const index_t* shape, index_t count, const index_t* pieces, Body body) {
  const FloatMode caller = float_mode();
#pragma omp parallel for schedule(static) if (count > 1)
  for (index_t p = 0; p < count; ++p) {
    const FloatMode own = float_mode();
    set_float_mode(caller);
    const index_t* q = pieces + 4 * p;
    body(Layout{shape[0], shape[1], shape[3], q[0], q[1], q[2], q[3]}, shape[2], p);
    set_float_mode(own);
  }
}
}  // namespace

#define RNNBENCH_EXPORT(T, SUFFIX)                                                         \
  extern "C" void elman_forward_##SUFFIX(const index_t* s, index_t np, const index_t* pc,  \
                                         const T* x_proj, const T* w_hh, T* out) {         \
    for_pieces(s, np, pc, [=](const Layout& L, index_t H, index_t) {                       \
      elman_forward<T>(L, H, x_proj, w_hh, out);                                           \
    });                                                                                    \
  }                                                                                        \
  extern "C" void elman_backward_##SUFFIX(const index_t* s, index_t np, const index_t* pc, \
                                          const T* out, const T* w_hh, const T* grad_out,  \
                                          T* d_pre) {                                      \
    for_pieces(s, np, pc, [=](const Layout& L, index_t H, index_t) {                       \
      elman_backward<T>(L, H, out, w_hh, grad_out, d_pre);                                 \
    });                                                                                    \
  }                                                                                        \
  extern "C" void lstm_forward_##SUFFIX(const index_t* s, index_t np, const index_t* pc,   \
                                        int coupled, const T* x_proj, const T* w_hh,       \
                                        const T* peep, T* gates, T* cell, T* tanh_cell,    \
                                        T* out) {                                          \
    for_pieces(s, np, pc, [=](const Layout& L, index_t H, index_t) {                       \
      if (coupled)                                                                         \
        lstm_forward<T, true>(L, H, x_proj, w_hh, peep, gates, cell, tanh_cell, out);      \
      else                                                                                 \
        lstm_forward<T, false>(L, H, x_proj, w_hh, peep, gates, cell, tanh_cell, out);     \
    });                                                                                    \
  }                                                                                        \
  extern "C" void lstm_backward_##SUFFIX(const index_t* s, index_t np, const index_t* pc,  \
                                         int coupled, const T* gates, const T* cell,       \
                                         const T* tanh_cell, const T* w_hh, const T* peep, \
                                         const T* grad_out, T* d_pre) {                    \
    for_pieces(s, np, pc, [=](const Layout& L, index_t H, index_t) {                       \
      if (coupled)                                                                         \
        lstm_backward<T, true>(L, H, gates, cell, tanh_cell, w_hh, peep, grad_out, d_pre); \
      else                                                                                 \
        lstm_backward<T, false>(L, H, gates, cell, tanh_cell, w_hh, peep, grad_out,        \
                                d_pre);                                                    \
    });                                                                                    \
  }                                                                                        \
  extern "C" void gru_forward_##SUFFIX(const index_t* s, index_t np, const index_t* pc,    \
                                       const T* x_proj, const T* w_hh, const T* b_hn,      \
                                       T* mixed, T* cand, T* out) {                        \
    for_pieces(s, np, pc, [=](const Layout& L, index_t H, index_t) {                       \
      gru_forward<T>(L, H, x_proj, w_hh, b_hn, mixed, cand, out);                          \
    });                                                                                    \
  }                                                                                        \
  extern "C" void gru_backward_##SUFFIX(const index_t* s, index_t np, const index_t* pc,   \
                                        const T* mixed, const T* cand, const T* out,       \
                                        const T* w_hh, const T* grad_out, T* d_mixed,      \
                                        T* d_x) {                                          \
    for_pieces(s, np, pc, [=](const Layout& L, index_t H, index_t) {                       \
      gru_backward<T>(L, H, mixed, cand, out, w_hh, grad_out, d_mixed, d_x);               \
    });                                                                                    \
  }

// Whole-layer kernels: F is the input width; ``grads`` holds one row of partial sums per
// piece, [dW_ih | dW_hh | bias (| b_hn)]; a piece is one direction.
#define RNNBENCH_EXPORT_LAYERS(T, SUFFIX)                                                  \
  extern "C" void elman_layer_forward_##SUFFIX(const index_t* s, index_t np,               \
                                               const index_t* pc, int F, const T* x,       \
                                               const T* w_ih, const T* w_hh, const T* b,   \
                                               T* out) {                                   \
    for_pieces(s, np, pc, [=](const Layout& L, index_t H, index_t) {                       \
      elman_layer_forward<T>(L, H, F, x, w_ih, w_hh, b, out);                              \
    });                                                                                    \
  }                                                                                        \
  extern "C" void elman_layer_backward_##SUFFIX(                                           \
      const index_t* s, index_t np, const index_t* pc, int F, const T* x, const T* w_ih,   \
      const T* w_hh, const T* b, const T* out, const T* grad_out, T* d_x, T* grads) {      \
    for_pieces(s, np, pc, [=](const Layout& L, index_t H, index_t p) {                     \
      elman_layer_backward<T>(L, H, F, x, w_ih, w_hh, b, out, grad_out, d_x, grads, p);    \
    });                                                                                    \
  }                                                                                        \
  extern "C" void lstm_layer_forward_##SUFFIX(const index_t* s, index_t np,                \
                                              const index_t* pc, int F, const T* x,        \
                                              const T* w_ih, const T* w_hh, const T* b,    \
                                              T* out, T* cell, T* gates) {                 \
    for_pieces(s, np, pc, [=](const Layout& L, index_t H, index_t) {                       \
      lstm_layer_forward<T>(L, H, F, x, w_ih, w_hh, b, out, cell, gates);                  \
    });                                                                                    \
  }                                                                                        \
  extern "C" void lstm_layer_backward_##SUFFIX(                                            \
      const index_t* s, index_t np, const index_t* pc, int F, const T* x, const T* w_ih,   \
      const T* w_hh, const T* b, const T* out, const T* cell, const T* gates,              \
      const T* grad_out, T* d_x, T* grads) {                                               \
    for_pieces(s, np, pc, [=](const Layout& L, index_t H, index_t p) {                     \
      lstm_layer_backward<T>(L, H, F, x, w_ih, w_hh, b, out, cell, gates, grad_out, d_x,   \
                             grads, p);                                                    \
    });                                                                                    \
  }                                                                                        \
  extern "C" void gru_layer_forward_##SUFFIX(const index_t* s, index_t np,                 \
                                             const index_t* pc, int F, const T* x,         \
                                             const T* w_ih, const T* w_hh, const T* b,     \
                                             const T* b_hn, T* out) {                      \
    for_pieces(s, np, pc, [=](const Layout& L, index_t H, index_t) {                       \
      gru_layer_forward<T>(L, H, F, x, w_ih, w_hh, b, b_hn, out);                          \
    });                                                                                    \
  }                                                                                        \
  extern "C" void gru_layer_backward_##SUFFIX(                                             \
      const index_t* s, index_t np, const index_t* pc, int F, const T* x, const T* w_ih,   \
      const T* w_hh, const T* b, const T* b_hn, const T* out, const T* grad_out, T* d_x,   \
      T* grads) {                                                                          \
    for_pieces(s, np, pc, [=](const Layout& L, index_t H, index_t p) {                     \
      gru_layer_backward<T>(L, H, F, x, w_ih, w_hh, b, b_hn, out, grad_out, d_x, grads, p); \
    });                                                                                    \
  }

// Table lookup: shape [T, D, G, B]; ids [T, D, B] int64 in [0, V); table [D, G, V];
// partial: one [G, V] block per piece.
#define RNNBENCH_EXPORT_TABLE(T, SUFFIX)                                                   \
  extern "C" void table_gather_##SUFFIX(const index_t* s, index_t np, const index_t* pc,   \
                                        int V, const int64_t* ids, const T* table,         \
                                        T* out) {                                          \
    for_pieces(s, np, pc, [=](const Layout& L, index_t G, index_t) {                       \
      table_gather<T>(L, G, V, ids, table, out);                                           \
    });                                                                                    \
  }                                                                                        \
  extern "C" void table_scatter_##SUFFIX(const index_t* s, index_t np, const index_t* pc,  \
                                         int V, const int64_t* ids, const T* grad,         \
                                         T* partial) {                                     \
    for_pieces(s, np, pc, [=](const Layout& L, index_t G, index_t p) {                     \
      table_scatter<T>(L, G, V, ids, grad, partial + p * G * V);                           \
    });                                                                                    \
  }

// minGRU / minLSTM over rows: pre [B, T, G*H], h [B, T, H]; shape (T, 1, H, B).
#define RNNBENCH_EXPORT_MIN(T, SUFFIX)                                                     \
  extern "C" void min_scan_forward_##SUFFIX(const index_t* s, index_t np,                  \
                                            const index_t* pc, int lstm, const T* pre,     \
                                            T* h) {                                        \
    for_pieces(s, np, pc, [=](const Layout& L, index_t H, index_t) {                       \
      if (lstm)                                                                            \
        min_scan_forward<T, true>(L, H, pre, h);                                           \
      else                                                                                 \
        min_scan_forward<T, false>(L, H, pre, h);                                          \
    });                                                                                    \
  }                                                                                        \
  extern "C" void min_scan_backward_##SUFFIX(const index_t* s, index_t np,                 \
                                             const index_t* pc, int lstm, const T* pre,    \
                                             const T* h, const T* grad_out, T* d_pre) {    \
    for_pieces(s, np, pc, [=](const Layout& L, index_t H, index_t) {                       \
      if (lstm)                                                                            \
        min_scan_backward<T, true>(L, H, pre, h, grad_out, d_pre);                         \
      else                                                                                 \
        min_scan_backward<T, false>(L, H, pre, h, grad_out, d_pre);                        \
    });                                                                                    \
  }

RNNBENCH_EXPORT_MIN(float, f32)
RNNBENCH_EXPORT_MIN(double, f64)

RNNBENCH_EXPORT_TABLE(float, f32)
RNNBENCH_EXPORT_TABLE(double, f64)

RNNBENCH_EXPORT_LAYERS(float, f32)
RNNBENCH_EXPORT_LAYERS(double, f64)
RNNBENCH_EXPORT(float, f32)
RNNBENCH_EXPORT(double, f64)
