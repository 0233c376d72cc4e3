/* kan-spline.h — B-spline bases with local support, knots, least-squares fits.
 *
 * Knots follow pykan: G+1 interior knots, extended by k evenly spaced knots on each side using
 * the mean interior spacing, G+2k+1 in all; G+k basis functions. Only k+1 bases are non-zero at
 * a point, so evaluation returns the index of the first one and those k+1 values.
 *
 * Nothing here allocates what it returns: every result goes into buffers the caller owns.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Extends G+1 interior knots (in T[k … k+G]) by k on each side, in place. T has G+2k+1 slots. */
void     kan_knots_extend     (double       *t,
                               int           G,
                               int           k);
/* Uniform interior knots on [lo, hi], extended. */
void     kan_knots_uniform    (double       *t,
                               int           G,
                               int           k,
                               double        lo,
                               double        hi);

/* Evaluates the k+1 possibly non-zero bases of order k at X into B[0..k] and, if DB is not
 * NULL, their derivatives into DB[0..k]. Returns the index m0 of the first (B_{m0} … B_{m0+k}),
 * or -1 if X lies outside [t_0, t_last) (then every basis is 0). Needs k ≤ KAN_SPLINE_MAX_K. */
#define KAN_SPLINE_MAX_K 10

/* Full unrolling of the short loops over k once k is a constant (GCC needs the hint at -O2). */
#if defined(__GNUC__) && !defined(__clang__)
#define KAN_UNROLL _Pragma ("GCC unroll 12")
#elif defined(__clang__)
#define KAN_UNROLL _Pragma ("unroll")
#else
#define KAN_UNROLL
#endif
/* Hot loops over blocks of samples are compiled twice, for AVX2 and for the baseline, and the
 * loader picks one for the processor (GCC's function multiversioning). No FMA in either: the
 * results are the same bits on every x86-64. Not under the sanitizers: the loader runs the
 * picker (an ifunc resolver) before ThreadSanitizer's runtime is up, and the program crashes. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) \
    && !defined(__SANITIZE_THREAD__) && !defined(__SANITIZE_ADDRESS__)
#define KAN_SIMD_CLONES __attribute__ ((target_clones ("avx2", "default")))
#else
#define KAN_SIMD_CLONES
#endif
int      kan_spline_basis     (const double *t,
                               int           G,
                               int           k,
                               double        x,
                               double       *b,
                               double       *db);

/* Tables for fast evaluation on one knot vector T (G+2k+1 knots):
 *   EXT: the knots continued by k more on each side with the mean spacing (G+4k+1 values);
 *   INV: for orders j = 1 … k, INV[(j-1)·(G+4k+1) + q] = 1/(EXT[q+j] − EXT[q]) (0 if equal).
 * They turn every division of the recursion into a multiplication. */
static inline int kan_spline_ext_len (int G, int k) { return G + 4 * k + 1; }
void     kan_spline_tables    (const double *t,
                               int           G,
                               int           k,
                               double       *ext,
                               double       *inv);

/* As kan_spline_basis, with the tables of kan_spline_tables. Inlined so that a constant k
 * unrolls. */
G_ALWAYS_INLINE static inline int
kan_spline_basis_tab (const double *t,
                      const double *ext,
                      const double *inv,
                      int           G,
                      int           k,
                      double        x,
                      double       *b,
                      double       *db)
{
  const int last = G + 2 * k, n_basis = G + k, len = G + 4 * k + 1;
  /* P[1+r] = B_{s-(j-1)+r, j-1}, padded with a zero on each side so the recursion has no
   * branches. */
  double P[KAN_SPLINE_MAX_K + 3], N[KAN_SPLINE_MAX_K + 2];
  const double *base = t;
  int n = last + 1, s, m0, clip;

  if (!(x >= t[0] && x < t[last]))
    {
      for (int r = 0; r <= k; r++)
        {
          b[r] = 0.0;
          if (db)
            db[r] = 0.0;
        }
      return -1;
    }
  /* Branch-free search for the span s with t_s <= x < t_{s+1}: the data are random, so a
   * branching search mispredicts at every level. */
  while (n > 1)
    {
      int half = n >> 1;
      base = x >= base[half] ? base + half : base;
      n -= half;
    }
  s = (int) (base - t);

  P[0] = 0.0;
  P[1] = 1.0;
  P[2] = 0.0;
  KAN_UNROLL
  for (int j = 1; j <= k; j++)
    {
      const double *iv = inv + (size_t) (j - 1) * len;
      const int q0 = s - j + k;           /* ext index of t_m for m = s-j (r = 0) */
      if (j == k && db)
        KAN_UNROLL
        for (int r = 0; r <= k; r++)
          db[r] = k * (iv[q0 + r] * P[r] - iv[q0 + r + 1] * P[r + 1]);
      KAN_UNROLL
      for (int r = 0; r <= j; r++)
        N[r] = (x - ext[q0 + r]) * iv[q0 + r] * P[r]
               + (ext[q0 + r + j + 1] - x) * iv[q0 + r + 1] * P[r + 1];
      KAN_UNROLL
      for (int r = 0; r <= j; r++)
        P[r + 1] = N[r];
      P[j + 2] = 0.0;
    }
  if (k == 0 && db)
    db[0] = 0.0;

  m0 = s - k;
  clip = m0 < 0 ? 0 : (m0 > n_basis - (k + 1) ? n_basis - (k + 1) : m0);
  if (clip == m0)
    {
      KAN_UNROLL
      for (int r = 0; r <= k; r++)
        b[r] = P[r + 1];
      return m0;
    }
  {
    double dd[KAN_SPLINE_MAX_K + 1];
    for (int r = 0; r <= k; r++)
      dd[r] = db ? db[r] : 0.0;
    for (int r = 0; r <= k; r++)
      {
        int src = clip + r - m0;
        gboolean ok = src >= 0 && src <= k;
        b[r] = ok ? P[src + 1] : 0.0;
        if (db)
          db[r] = ok ? dd[src] : 0.0;
      }
  }
  return clip;
}

/* The knots and inverse spacings the cubic bases on one span s use: e[d+2] = t_{s+d} for
 * d = −2 … 3, i1 = 1/(t_{s+1} − t_s), i2[d+1] = 1/(t_{s+d+2} − t_{s+d}) for d = −1, 0 and
 * i3[d+2] = 1/(t_{s+d+3} − t_{s+d}) for d = −2 … 0, from the tables EXT and INV
 * (LEN = G+13). */
typedef struct
{
  double e[6], i1, i2[2], i3[3];
} KanCubicSpan;

G_ALWAYS_INLINE static inline void
kan_spline_cubic_span (const double *ext, const double *inv, int len, long s, KanCubicSpan *c)
{
  const double *e = ext + s + 3, *i2 = inv + len + s + 3, *i3 = inv + 2 * len + s + 3;

  for (int d = 0; d < 6; d++)
    c->e[d] = e[d - 2];
  c->i1 = inv[s + 3];
  c->i2[0] = i2[-1];
  c->i2[1] = i2[0];
  c->i3[0] = i3[-2];
  c->i3[1] = i3[-1];
  c->i3[2] = i3[0];
}

/* The four cubic bases at X (on the span of C) and their derivatives into B and D. */
G_ALWAYS_INLINE static inline void
kan_spline_cubic_eval (const KanCubicSpan *c, double x, double *B, double *D)
{
  const double *e = c->e + 2, *i2 = c->i2 + 1, *i3 = c->i3 + 2;
  double a0, a1, c0, c1, c2;

  a0 = (e[1] - x) * c->i1;
  a1 = (x - e[0]) * c->i1;
  c0 = (e[1] - x) * i2[-1] * a0;
  c1 = (x - e[-1]) * i2[-1] * a0 + (e[2] - x) * i2[0] * a1;
  c2 = (x - e[0]) * i2[0] * a1;
  B[0] = (e[1] - x) * i3[-2] * c0;
  B[1] = (x - e[-2]) * i3[-2] * c0 + (e[2] - x) * i3[-1] * c1;
  B[2] = (x - e[-1]) * i3[-1] * c1 + (e[3] - x) * i3[0] * c2;
  B[3] = (x - e[0]) * i3[0] * c2;
  D[0] = -3.0 * i3[-2] * c0;
  D[1] = 3.0 * (i3[-2] * c0 - i3[-1] * c1);
  D[2] = 3.0 * (i3[-1] * c1 - i3[0] * c2);
  D[3] = 3.0 * i3[0] * c2;
}

/* kan_spline_cubic_eval over N points XS of one span, each output row its own restrict
 * pointer (B0…B3, and D0…D3 when WITH_D): the span's knots and inverse spacings are loop
 * constants, so the loop vectorises without gathers. */
G_ALWAYS_INLINE static inline void
kan_spline_cubic_points (const KanCubicSpan *c, const double *restrict xs, size_t n,
                         double *restrict b0, double *restrict b1, double *restrict b2,
                         double *restrict b3, double *restrict d0, double *restrict d1,
                         double *restrict d2, double *restrict d3, gboolean with_d)
{
  KanCubicSpan cs = *c;

  for (size_t p = 0; p < n; p++)
    {
      double B[4], D[4];
      kan_spline_cubic_eval (&cs, xs[p], B, D);
      b0[p] = B[0];
      b1[p] = B[1];
      b2[p] = B[2];
      b3[p] = B[3];
      if (with_d)
        {
          d0[p] = D[0];
          d1[p] = D[1];
          d2[p] = D[2];
          d3[p] = D[3];
        }
    }
}

/* The four cubic bases at X and their derivatives into B and D, on the span S
 * (t_s <= x < t_{s+1}) of the knots whose kan_spline_tables are EXT and INV (LEN = G+13). */
G_ALWAYS_INLINE static inline void
kan_spline_cubic_at_span (const double *ext,
                          const double *inv,
                          int           len,
                          long          s,
                          double        x,
                          double       *B,
                          double       *D)
{
  KanCubicSpan c;

  kan_spline_cubic_span (ext, inv, len, s, &c);
  kan_spline_cubic_eval (&c, x, B, D);
}

/* kan_spline_basis_tab written out for k = 3, the order nearly everyone uses. */
G_ALWAYS_INLINE static inline int
kan_spline_basis_tab3 (const double *t,
                       const double *ext,
                       const double *inv,
                       int           G,
                       double        x,
                       double       *b,
                       double       *db)
{
  const int last = G + 6, n_basis = G + 3, len = G + 13;
  const double *base = t;
  double B[4], D[4];
  int n = last + 1, s, m0, clip;

  if (!(x >= t[0] && x < t[last]))
    {
      for (int r = 0; r < 4; r++)
        {
          b[r] = 0.0;
          if (db)
            db[r] = 0.0;
        }
      return -1;
    }
  while (n > 1)
    {
      int half = n >> 1;
      base = x >= base[half] ? base + half : base;
      n -= half;
    }
  s = (int) (base - t);

  kan_spline_cubic_at_span (ext, inv, len, s, x, B, D);

  m0 = s - 3;
  clip = m0 < 0 ? 0 : (m0 > n_basis - 4 ? n_basis - 4 : m0);
  if (clip == m0)
    {
      /* Inside the grid (the common case): all four bases are real. */
      b[0] = B[0]; b[1] = B[1]; b[2] = B[2]; b[3] = B[3];
      if (db)
        {
          db[0] = D[0]; db[1] = D[1]; db[2] = D[2]; db[3] = D[3];
        }
      return m0;
    }
  for (int r = 0; r < 4; r++)
    {
      int src = clip + r - m0;
      gboolean ok = src >= 0 && src <= 3;
      b[r] = ok ? B[src] : 0.0;
      if (db)
        db[r] = ok ? D[src] : 0.0;
    }
  return clip;
}

/* kan_spline_basis_tab3 at the N points XS, sample-major: M0[s] (0 where the point lies
 * outside the grid, whose bases are then 0), B[s·4 + r] and, if DB is not NULL,
 * DB[s·4 + r]. The same values as N calls of kan_spline_basis_tab3: the span by arithmetic
 * when the interior knots are near uniform (checked once per call), by binary search
 * otherwise, then the recursion; the rare points near or outside the ends (where some of the
 * four bases do not exist) as kan_spline_basis_tab3 does them. */
void     kan_spline_basis_block3 (const double *t,
                                  const double *ext,
                                  const double *inv,
                                  int           G,
                                  const double *xs,
                                  size_t        n,
                                  int          *m0,
                                  double       *b,
                                  double       *db);

/* The first non-zero cubic basis at each of the N points XS into M0, as
 * kan_spline_basis_tab3 returns it (clipped to 0 … G−1 near the ends; 0 outside the grid
 * and for NaN), with the span found as kan_spline_basis_block3 finds it. */
void     kan_spline_first3    (const double *t,
                               const double *ext,
                               const double *inv,
                               int           G,
                               const double *xs,
                               size_t        n,
                               int          *m0);

/* The four cubic bases and, if DB is not NULL, their derivatives at the N points XS that all
 * lie in interval Q < G of the grid (t_{Q+3} <= x < t_{Q+4}, where kan_spline_first3 gives Q),
 * structure of arrays: B[r·STRIDE + p] is basis Q+r at point p. The bits of
 * kan_spline_basis_tab3 at those points; at a point outside the interval, values without
 * meaning (the caller redoes those). One interval's knots are constants of the loop over the
 * points, which the compiler vectorises. */
void     kan_spline_cubic_run (const double *ext,
                               const double *inv,
                               int           G,
                               int           q,
                               const double *xs,
                               size_t        n,
                               double       *b,
                               double       *db,
                               size_t        stride);

/* Σ_m coef[m]·B_m(x) with stride STRIDE between coefficients. */
double   kan_spline_eval      (const double *t,
                               int           G,
                               int           k,
                               const double *coef,
                               double        x);

/* Least-squares coefficients (G+k of them, for each of N_RHS right-hand sides) of splines on
 * knots T through the points (X[s], Y[s·n_rhs + r]) for s < n. Underdetermined and
 * rank-deficient systems get the minimum-norm solution (a basis no sample touches gets 0;
 * directions the samples barely determine are damped by a small ridge, see kan-spline.c).
 * COEF is n_rhs × (G+k). Everything is banded (bandwidth k): memory is kan_spline_fit_bytes,
 * time O(n·k² + (G+k)·k²·n_rhs) (the minimum-norm iteration: up to 200 times the last). */
gboolean kan_spline_fit       (const double *t,
                               int           G,
                               int           k,
                               const double *x,
                               const double *y,
                               size_t        n,
                               int           n_rhs,
                               double       *coef,
                               GError      **error);
/* Bytes kan_spline_fit allocates for N samples and N_RHS right-hand sides (saturating). */
gsize    kan_spline_fit_bytes (int           G,
                               int           k,
                               size_t        n,
                               int           n_rhs);

G_END_DECLS
