// Compiled time loops for the scan kernels (scan.py): RNN, LSTM (with the peephole and
// CIFG variants) and GRU, forward and backward, in float32 and float64.
//
// Why: at seed-A/seed-C sizes a step is a few thousand elements, so in eager PyTorch
// each of a step's 5-10 operations costs more in dispatch and memory passes than in
// arithmetic. Here one step is one small matrix product plus one fused elementwise loop,
// with the state in cache. The maths is exactly that of the Python loops in scan.py (the
// tests compare both, and torch's modules, in float64).
//
// Plain C++ with a C ABI, no torch headers, so it compiles in about a second (native.py
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

// C[m, j] (+)= sum_k A(m, k) X[k, j] for j < n, where A(m, k) = a[m * am + k * ak] (so a
// transposed weight is just other strides), X rows ldx apart, C rows ldc apart.
// Register blocking: 4 rows of C times NB columns are accumulated across all of k.
template <typename T, int NB>
inline void gemm_cols(index_t M, index_t K, const T* a, index_t am, index_t ak, const T* x,
                      index_t ldx, T* c, index_t ldc, bool accumulate) {
  index_t m = 0;
  for (; m + 4 <= M; m += 4) {
    T s[4][NB];
    for (int r = 0; r < 4; ++r)
      for (int j = 0; j < NB; ++j) s[r][j] = accumulate ? c[(m + r) * ldc + j] : T(0);
    for (index_t k = 0; k < K; ++k) {
      const T* xk = x + k * ldx;
      for (int r = 0; r < 4; ++r) {
        T w = a[(m + r) * am + k * ak];
        for (int j = 0; j < NB; ++j) s[r][j] += w * xk[j];
      }
    }
    for (int r = 0; r < 4; ++r)
      for (int j = 0; j < NB; ++j) c[(m + r) * ldc + j] = s[r][j];
  }
  for (; m < M; ++m) {
    T s[NB];
    for (int j = 0; j < NB; ++j) s[j] = accumulate ? c[m * ldc + j] : T(0);
    for (index_t k = 0; k < K; ++k) {
      T w = a[m * am + k * ak];
      for (int j = 0; j < NB; ++j) s[j] += w * x[k * ldx + j];
    }
    for (int j = 0; j < NB; ++j) c[m * ldc + j] = s[j];
  }
}

template <typename T>
void gemm(index_t M, index_t K, const T* a, index_t am, index_t ak, const T* x, index_t ldx,
          T* c, index_t ldc, index_t n, bool accumulate) {
  constexpr int NB = 64 / sizeof(T) * 2;  // two cache lines of columns
  index_t j = 0;
  for (; j + NB <= n; j += NB)
    gemm_cols<T, NB>(M, K, a, am, ak, x + j, ldx, c + j, ldc, accumulate);
  for (; j + 8 <= n; j += 8)
    gemm_cols<T, 8>(M, K, a, am, ak, x + j, ldx, c + j, ldc, accumulate);
  for (; j < n; ++j) gemm_cols<T, 1>(M, K, a, am, ak, x + j, ldx, c + j, ldc, accumulate);
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

template <typename T, bool Coupled>
void lstm_row_forward(index_t n, T pi, T pf, T po, const T* __restrict cp, T* __restrict a_o,
                      T* __restrict a_i, T* __restrict a_f, T* __restrict a_g, T* __restrict c,
                      T* __restrict tc, T* __restrict h) {
  for (index_t j = 0; j < n; ++j) {
    const T f = sigmoid(a_f[j] + pf * cp[j]);
    const T g = tanh_act(a_g[j]);
    T cn;
    if constexpr (Coupled) {
      cn = f * cp[j] + (T(1) - f) * g;
    } else {
      const T i = sigmoid(a_i[j] + pi * cp[j]);
      a_i[j] = i;
      cn = f * cp[j] + i * g;
    }
    const T o = sigmoid(a_o[j] + po * cn);
    const T tcn = tanh_act(cn);
    a_o[j] = o;
    a_f[j] = f;
    a_g[j] = g;
    c[j] = cn;
    tc[j] = tcn;
    h[j] = o * tcn;
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
    const T dh = go[j] + dh_carry[j];
    const T o = a_o[j], f = a_f[j], g = a_g[j], tcn = tc[j];
    const T do_pre = dh * tcn * o * (T(1) - o);
    const T dc = dc_carry[j] + dh * o * (T(1) - tcn * tcn) + do_pre * po;
    T df_pre, dg_pre, keep;
    if constexpr (Coupled) {  // c = f c_prev + (1 - f) g
      df_pre = dc * (cp[j] - g) * f * (T(1) - f);
      dg_pre = dc * (T(1) - f) * (T(1) - g * g);
      keep = dc * f;
    } else {
      const T i = a_i[j];
      const T di_pre = dc * g * i * (T(1) - i);
      df_pre = dc * cp[j] * f * (T(1) - f);
      dg_pre = dc * i * (T(1) - g * g);
      da_i[j] = di_pre;
      keep = dc * f + di_pre * pi;
    }
    da_o[j] = do_pre;
    da_f[j] = df_pre;
    da_g[j] = dg_pre;
    dc_carry[j] = keep + df_pre * pf;  // i and f also saw c_prev (peepholes)
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

// One hidden unit's row of a step (restrict holds for function parameters, which lets
// the compiler vectorise the loop).
template <typename T>
void gru_row_forward(index_t n, const T* __restrict x_r, const T* __restrict x_z,
                     const T* __restrict x_n, T* __restrict m_r, T* __restrict m_z,
                     const T* __restrict m_n, const T* __restrict hp, T* __restrict nn,
                     T* __restrict h) {
  for (index_t j = 0; j < n; ++j) {
    const T r = sigmoid(x_r[j] + m_r[j]);
    const T z = sigmoid(x_z[j] + m_z[j]);
    const T c = tanh_act(x_n[j] + r * m_n[j]);
    m_r[j] = r;
    m_z[j] = z;
    nn[j] = c;
    h[j] = c + z * (hp[j] - c);
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
    const T r = m_r[j], z = m_z[j], c = nn[j];
    const T dn_pre = dh * (T(1) - z) * (T(1) - c * c);
    const T dz_pre = dh * (hp[j] - c) * z * (T(1) - z);
    const T dr_pre = dn_pre * m_n[j] * r * (T(1) - r);
    dm_r[j] = dr_pre;
    dm_z[j] = dz_pre;
    dm_n[j] = dn_pre * r;
    dx_r[j] = dr_pre;
    dx_z[j] = dz_pre;
    dx_n[j] = dn_pre;
    carry[j] = dh * z;  // h = n + z (h_prev - n): the direct path to h_prev
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

template <typename Body>
void for_pieces(const index_t* shape, index_t count, const index_t* pieces, Body body) {
  const FloatMode caller = float_mode();
#pragma omp parallel for schedule(static) if (count > 1)
  for (index_t p = 0; p < count; ++p) {
    const FloatMode own = float_mode();
    set_float_mode(caller);
    const index_t* q = pieces + 4 * p;
    body(Layout{shape[0], shape[1], shape[3], q[0], q[1], q[2], q[3]}, shape[2]);
    set_float_mode(own);
  }
}
}  // namespace

#define RNNBENCH_EXPORT(T, SUFFIX)                                                         \
  extern "C" void elman_forward_##SUFFIX(const index_t* s, index_t np, const index_t* pc,  \
                                         const T* x_proj, const T* w_hh, T* out) {         \
    for_pieces(s, np, pc, [=](const Layout& L, index_t H) {                                \
      elman_forward<T>(L, H, x_proj, w_hh, out);                                           \
    });                                                                                    \
  }                                                                                        \
  extern "C" void elman_backward_##SUFFIX(const index_t* s, index_t np, const index_t* pc, \
                                          const T* out, const T* w_hh, const T* grad_out,  \
                                          T* d_pre) {                                      \
    for_pieces(s, np, pc, [=](const Layout& L, index_t H) {                                \
      elman_backward<T>(L, H, out, w_hh, grad_out, d_pre);                                 \
    });                                                                                    \
  }                                                                                        \
  extern "C" void lstm_forward_##SUFFIX(const index_t* s, index_t np, const index_t* pc,   \
                                        int coupled, const T* x_proj, const T* w_hh,       \
                                        const T* peep, T* gates, T* cell, T* tanh_cell,    \
                                        T* out) {                                          \
    for_pieces(s, np, pc, [=](const Layout& L, index_t H) {                                \
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
    for_pieces(s, np, pc, [=](const Layout& L, index_t H) {                                \
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
    for_pieces(s, np, pc, [=](const Layout& L, index_t H) {                                \
      gru_forward<T>(L, H, x_proj, w_hh, b_hn, mixed, cand, out);                          \
    });                                                                                    \
  }                                                                                        \
  extern "C" void gru_backward_##SUFFIX(const index_t* s, index_t np, const index_t* pc,   \
                                        const T* mixed, const T* cand, const T* out,       \
                                        const T* w_hh, const T* grad_out, T* d_mixed,      \
                                        T* d_x) {                                          \
    for_pieces(s, np, pc, [=](const Layout& L, index_t H) {                                \
      gru_backward<T>(L, H, mixed, cand, out, w_hh, grad_out, d_mixed, d_x);               \
    });                                                                                    \
  }

RNNBENCH_EXPORT(float, f32)
RNNBENCH_EXPORT(double, f64)
