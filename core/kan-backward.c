/* kan-backward.c — the backward pass of the last forward, and the Jacobian built from it.
 *
 * Shapes in comments: n rows (samples), I = n_in nodes of the layer, O = n_out subnodes,
 * Q = n_next nodes after multiplication, P = G+k bases, K1 = k+1 non-zero bases at a point.
 */
#include "kan-work-private.h"
#include "kan-dense-private.h"
#include "kan-inline-private.h"
#include "kan-spline.h"

#include <string.h>

/* ------------------------------------------------------------------------------------------ */
/* Backward                                                                                    */

/* Σ_r c[m0+r]·bas[r]: the spline (from the bases) or its derivative (from their derivatives)
 * of the edge with coefficients C at one row, summed in the order of the forward pass. */
KAN_HOT_INLINE double
edge_spline (const double *c, int m0, const double *bas, int K1)
{
  double sv = 0.0;
  KAN_UNROLL
  for (int r = 0; r < K1; r++)
    sv += c[m0 + r] * bas[r];
  return sv;
}

/* Backward of sample B: DOUT (n_out) → adds into GRAD. K1 as in forward_edges. */
KAN_HOT_INLINE void
backward_sample_k (const KanModel *m,
                   KanWork        *w,
                   size_t          b,
                   const double   *dout,
                   double         *grad,
                   int             K1)
{
  int P = m->G + m->k;
  size_t n = w->n;
  double *g = w->g_a, *gx = w->g_b;
  gboolean reg = w->reg_pending;

  memcpy (g, dout, sizeof (double) * kan_model_n_out (m));
  for (int l = m->depth - 1; l >= 0; l--)
    {
      const KanLayer *L = &m->layers[l];
      WorkLayer *W = &w->wl[l];
      int I = L->n_in, O = L->n_out, Q = L->n_next;
      const double *zs = W->zs + b, *z = W->z + b;   /* stride n */
      double *gz = w->g_c;   /* ∂/∂z, per subnode */
      size_t off_ns = L->node_scale - m->params, off_nb = L->node_bias - m->params;
      size_t off_ss = L->subnode_scale - m->params, off_sb = L->subnode_bias - m->params;
      size_t off_coef = L->coef - m->params, off_sbase = L->scale_base - m->params;
      size_t off_ssp = L->scale_sp - m->params, off_sym = L->sym - m->params;

      /* Node affine and multiplication. */
      for (int q = 0; q < Q; q++)
        {
          double gq = g[q];
          double gy = gq * L->node_scale[q];
          int s0 = L->group_start[q], s1 = L->group_start[q + 1];
          grad[off_ns + q] += gq * kan_node_y (L, W, q, n)[b];
          grad[off_nb + q] += gq;
          for (int s = s0; s < s1; s++)
            {
              double others = 1.0;
              for (int t = s0; t < s1; t++)
                if (t != s)
                  others *= zs[t * n];
              /* Subnode affine: zs = ss·z + sb. */
              grad[off_ss + s] += gy * others * z[s * n];
              grad[off_sb + s] += gy * others;
              gz[s] = gy * others * L->subnode_scale[s];
            }
        }

      /* Edges: the row's values sit at its sorted position kb of each input node. */
      for (int i = 0; i < I; i++)
        {
          size_t kb = (size_t) W->pos[(size_t) i * n + b], ik = (size_t) i * n + kb;
          int m0 = W->m0[(size_t) i * n + b];
          double bas[KAN_SPLINE_MAX_K + 1] = { 0 }, dbas[KAN_SPLINE_MAX_K + 1] = { 0 };
          double xv = W->x[b * I + i], bv = W->base[ik], dbv = W->dbase[ik], gxi = 0.0;
          KAN_UNROLL
          for (int r = 0; r < K1; r++)
            {
              bas[r] = W->bas[((size_t) i * K1 + r) * n + kb];
              dbas[r] = l > 0 ? W->dbas[((size_t) i * K1 + r) * n + kb] : 0.0;
            }
          for (int j = 0; j < O; j++)
            {
              size_t e = (size_t) i * O + j, bij = (b * I + i) * O + j;
              double gnum = gz[j];
              if (reg)
                gnum += W->alpha[e] * (W->postnum[bij] - W->mean_p[e]);
              if (L->mask[e] != 0.0)
                {
                  const double *c = L->coef + e * P;
                  double gm = gnum * L->mask[e];
                  double gs = gm * L->scale_sp[e];
                  double *gc = grad + off_coef + e * P + m0;
                  KAN_UNROLL
                  for (int r = 0; r < K1; r++)
                    gc[r] += gs * bas[r];
                  grad[off_sbase + e] += gm * bv;
                  grad[off_ssp + e] += gm * W->spl[e * n + kb];
                  if (l > 0)
                    gxi += gm * (L->scale_base[e] * dbv
                                 + L->scale_sp[e] * edge_spline (c, m0, dbas, K1));
                }
              if (L->mask_sym[e] != 0.0)
                {
                  const double *a = L->sym + e * 4;
                  double gsym = gz[j] * L->mask_sym[e];
                  double f = W->symf[e * n + b], fp = W->dsymf[e * n + b];
                  double gu = gsym * a[2] * fp;
                  double *ga = grad + off_sym + e * 4;
                  ga[0] += gu * xv;
                  ga[1] += gu;
                  ga[2] += gsym * f;
                  ga[3] += gsym;
                  gxi += gu * a[0];
                }
            }
          if (reg)
            gxi += W->beta[i] * (xv - W->mean_x[i]);
          gx[i] = gxi;
        }
      if (l > 0)
        memcpy (g, gx, sizeof (double) * I);
    }
}

static void
backward_sample (const KanModel *m, KanWork *w, size_t b, const double *dout, double *grad)
{
  if (m->k == 3)
    backward_sample_k (m, w, b, dout, grad, 4);
  else
    backward_sample_k (m, w, b, dout, grad, m->k + 1);
}

/* The sums over rows of the backward pass (a coefficient's gradient over its run, w_b's and
 * w_s's over all rows) are each kept as KAN_BACK_LANES partial sums, row kk of a run going to
 * lane (kk − start of the run) mod KAN_BACK_LANES, and the lanes are added pairwise at the
 * end: a fixed order (the same bits on every run and machine) whose loops the compiler
 * vectorises, where one running sum waits on the latency of each addition. */
#define KAN_BACK_LANES 8
/* Runs of fewer rows than this (fine grids) sum their coefficients' gradients row by row:
 * lanes would be mostly set-up and remainder there. */
#define KAN_BACK_SHORT_RUN 16

G_ALWAYS_INLINE static inline double
lanes_sum (const double *a)
{
  return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
}

/* Σ_k A[k]·B[k] over N values, in lanes. */
G_ALWAYS_INLINE static inline double
dot_lanes (const double *restrict a, const double *restrict b, size_t n)
{
  double s[KAN_BACK_LANES] = { 0 };
  size_t k = 0;

  for (; k + KAN_BACK_LANES <= n; k += KAN_BACK_LANES)
    for (int v = 0; v < KAN_BACK_LANES; v++)
      s[v] += a[k + v] * b[k + v];
  for (int v = 0; k < n; k++, v++)
    s[v] += a[k] * b[k];
  return lanes_sum (s);
}

/* The four sums Σ_k GS[k]·BAS[r·STRIDE + k] (r < 4, k < N) of a cubic run, added into
 * GC[0..3]: one pass with the four sums side by side, each in 4 lanes (row k in lane k mod
 * 4, the lanes added pairwise), where four dot_lanes would read GS four times. With DX, in the
 * same pass, ∂/∂x added into GXS: GM[k]·(SBW·DBASE[k] + SP·Σ_r C[r]·DBAS[r·STRIDE + k]).
 */
G_ALWAYS_INLINE static inline void
run_dots4 (const double *restrict gs, const double *restrict bas, size_t stride, size_t n,
           double *restrict gc, gboolean dx, const double *restrict gm,
           const double *restrict dbas, const double *restrict dbase, const double *c,
           double sbw, double sp, double *restrict gxs)
{
  const double *restrict b0 = bas, *restrict b1 = bas + stride;
  const double *restrict b2 = bas + 2 * stride, *restrict b3 = bas + 3 * stride;
  double a0[4] = { 0 }, a1[4] = { 0 }, a2[4] = { 0 }, a3[4] = { 0 };
  double c0 = dx ? c[0] : 0.0, c1 = dx ? c[1] : 0.0, c2 = dx ? c[2] : 0.0, c3 = dx ? c[3] : 0.0;
  size_t k = 0;

#define RUN_DOTS4_ROW(k, v)                                                                     \
  do                                                                                            \
    {                                                                                           \
      double g = gs[k];                                                                         \
      a0[v] += g * b0[k];                                                                       \
      a1[v] += g * b1[k];                                                                       \
      a2[v] += g * b2[k];                                                                       \
      a3[v] += g * b3[k];                                                                       \
      if (dx)                                                                                   \
        {                                                                                       \
          double dsv = 0.0;                                                                     \
          dsv += c0 * dbas[k];                                                                  \
          dsv += c1 * dbas[stride + k];                                                         \
          dsv += c2 * dbas[2 * stride + k];                                                     \
          dsv += c3 * dbas[3 * stride + k];                                                     \
          gxs[k] += gm[k] * (sbw * dbase[k] + sp * dsv);                                        \
        }                                                                                       \
    }                                                                                           \
  while (0)
  for (; k + 4 <= n; k += 4)
    for (int v = 0; v < 4; v++)
      RUN_DOTS4_ROW (k + v, v);
  for (int v = 0; k < n; k++, v++)
    RUN_DOTS4_ROW (k, v);
#undef RUN_DOTS4_ROW
  gc[0] += (a0[0] + a0[1]) + (a0[2] + a0[3]);
  gc[1] += (a1[0] + a1[1]) + (a1[2] + a1[3]);
  gc[2] += (a2[0] + a2[1]) + (a2[2] + a2[3]);
  gc[3] += (a3[0] + a3[1]) + (a3[2] + a3[3]);
}

/* The numeric part of edge E over the rows, backward, in its input node's sorted order
 * (RUNS, PERM as in WorkLayer): GZ (∂/∂z of the edge's subnode, by row) → the coefficient
 * gradient GCL (P, zeroed: a sum per run and basis, added once), the sums for w_b and w_s,
 * and ∂/∂x added into GXS (the input node's, sorted) when DX. GM and GS are scratch (n).
 * With REG, the pending regulariser term of postnum (stride STRIDE) is added first. REG, DX
 * and K1 are constants after inlining, so each combination is its own branch-free loop. */
typedef struct
{
  const int    *runs, *perm;
  int           G;
  const double *bas, *dbas, *base, *dbase;
  const double *c, *spl;
  double        msk, sp, sbw;
  double        alpha, mp;
  const double *pnum;
  size_t        stride;
} EdgeBack;

KAN_HOT_INLINE void
edge_numeric_back (const EdgeBack *E, const double *restrict gz, size_t n, int K1,
                   gboolean reg, gboolean dx, double *restrict gm, double *restrict gs,
                   double *restrict gcl, double *acc_sb, double *acc_sp, double *restrict gxs)
{
  const int *restrict runs = E->runs, *restrict perm = E->perm;
  const double *restrict bas = E->bas, *restrict dbas = E->dbas;
  const double *restrict dbase = E->dbase, *restrict c = E->c;
  double msk = E->msk, sp = E->sp, sbw = E->sbw, alpha = E->alpha, mp = E->mp;

  /* ∂/∂(mask · numeric part) of each row, gathered into sorted order, and times w_s; in the
   * same pass the sums for w_b and w_s, in lanes (row kk in lane kk mod KAN_BACK_LANES). */
  {
    double a_sb[KAN_BACK_LANES] = { 0 }, a_sp[KAN_BACK_LANES] = { 0 };
    const double *restrict base = E->base, *restrict spl = E->spl;
    size_t kk = 0;
    for (; kk + KAN_BACK_LANES <= n; kk += KAN_BACK_LANES)
      for (int v = 0; v < KAN_BACK_LANES; v++)
        {
          size_t b = (size_t) perm[kk + v];
          double g = gz[b];
          if (reg)
            g += alpha * (E->pnum[b * E->stride] - mp);
          gm[kk + v] = g * msk;
          gs[kk + v] = gm[kk + v] * sp;
          a_sb[v] += gm[kk + v] * base[kk + v];
          a_sp[v] += gm[kk + v] * spl[kk + v];
        }
    for (int v = 0; kk < n; kk++, v++)
      {
        size_t b = (size_t) perm[kk];
        double g = gz[b];
        if (reg)
          g += alpha * (E->pnum[b * E->stride] - mp);
        gm[kk] = g * msk;
        gs[kk] = gm[kk] * sp;
        a_sb[v] += gm[kk] * base[kk];
        a_sp[v] += gm[kk] * spl[kk];
      }
    *acc_sb = lanes_sum (a_sb);
    *acc_sp = lanes_sum (a_sp);
  }
  for (int q = 0; q < E->G; q++)
    {
      size_t k0 = (size_t) runs[q], k1 = (size_t) runs[q + 1];
      if (k0 == k1)
        continue;
      if (k1 - k0 < KAN_BACK_SHORT_RUN)
        {
          /* A short run (a fine grid): one running sum per basis, in registers. */
          double acc[KAN_SPLINE_MAX_K + 1] = { 0 };
          for (size_t kk = k0; kk < k1; kk++)
            KAN_UNROLL
            for (int r = 0; r < K1; r++)
              acc[r] += gs[kk] * bas[r * n + kk];
          KAN_UNROLL
          for (int r = 0; r < K1; r++)
            gcl[q + r] += acc[r];
        }
      else if (K1 == 4)
        {
          /* The four sums and ∂/∂x in one pass over the run. */
          run_dots4 (gs + k0, bas + k0, n, k1 - k0, gcl + q, dx, gm + k0, dbas + k0,
                     dbase + k0, c + q, sbw, sp, gxs + k0);
          continue;
        }
      else
        KAN_UNROLL
        for (int r = 0; r < K1; r++)
          gcl[q + r] += dot_lanes (gs + k0, bas + r * n + k0, k1 - k0);
      if (dx)
        {
          double cc[KAN_SPLINE_MAX_K + 1] = { 0 };
          KAN_UNROLL
          for (int r = 0; r < K1; r++)
            cc[r] = c[q + r];
          for (size_t kk = k0; kk < k1; kk++)
            {
              double dsv = 0.0;
              KAN_UNROLL
              for (int r = 0; r < K1; r++)
                dsv += cc[r] * dbas[r * n + kk];
              gxs[kk] += gm[kk] * (sbw * dbase[kk] + sp * dsv);
            }
        }
    }
}

KAN_HOT_INLINE void
edge_numeric_back_k (const EdgeBack *E, const double *gz, size_t n, int K1, gboolean reg,
                     gboolean dx, double *gm, double *gs, double *gcl, double *acc_sb,
                     double *acc_sp, double *gxs)
{
  if (reg && dx)
    edge_numeric_back (E, gz, n, K1, TRUE, TRUE, gm, gs, gcl, acc_sb, acc_sp, gxs);
  else if (reg)
    edge_numeric_back (E, gz, n, K1, TRUE, FALSE, gm, gs, gcl, acc_sb, acc_sp, gxs);
  else if (dx)
    edge_numeric_back (E, gz, n, K1, FALSE, TRUE, gm, gs, gcl, acc_sb, acc_sp, gxs);
  else
    edge_numeric_back (E, gz, n, K1, FALSE, FALSE, gm, gs, gcl, acc_sb, acc_sp, gxs);
}

/* ACC[c·4 + v] += Σ_b GZ[b]·F[c·STRIDE + b] over the rows b < N (a multiple of 4 but for the
 * last block) with b mod 4 = v, for c < C: the sums of feat_backward in 4 lanes. C is a
 * constant after inlining. */
KAN_HOT_INLINE void
feat_sums_c (const double *restrict F, const double *restrict gz, size_t n, size_t stride,
             int C, double *restrict acc)
{
  double a[KAN_FEAT_MAX_COLS][4];
  size_t b = 0;

  KAN_UNROLL
  for (int c = 0; c < C; c++)
    for (int v = 0; v < 4; v++)
      a[c][v] = acc[c * 4 + v];
  for (; b + 4 <= n; b += 4)
    KAN_UNROLL
    for (int c = 0; c < C; c++)
      for (int v = 0; v < 4; v++)
        a[c][v] += gz[b + v] * F[(size_t) c * stride + b + v];
  for (int v = 0; b < n; b++, v++)
    KAN_UNROLL
    for (int c = 0; c < C; c++)
      a[c][v] += gz[b] * F[(size_t) c * stride + b];
  KAN_UNROLL
  for (int c = 0; c < C; c++)
    for (int v = 0; v < 4; v++)
      acc[c * 4 + v] = a[c][v];
}

/* Backward of the edges of layer L from its features (its forward went that way, no
 * regulariser gradient pending): GZB (O × n, ∂/∂z) → the gradients of the coefficients,
 * w_b and w_s added into GRAD; node by node in blocks of rows as feat_forward. Layer 0: no
 * ∂/∂x. */
KAN_SIMD_CLONES static void
feat_backward (const KanModel *m, const KanLayer *L, const WorkLayer *W, KanWork *w,
               const double *gzb, double *grad)
{
  int I = L->n_in, O = L->n_out, P = m->G + m->k, C = P + 1;
  size_t n = w->n;
  double *g_coef = grad + (L->coef - m->params), *g_sb = grad + (L->scale_base - m->params);
  double *g_sp = grad + (L->scale_sp - m->params);

  for (int i = 0; i < I; i++)
    {
      double acc[KAN_FEAT_MAX_EDGES * KAN_FEAT_MAX_COLS * 4];
      int js[KAN_FEAT_MAX_EDGES], ne = 0;
      if (kan_work_tick (w, n * O))
        return;
      for (int j = 0; j <= O; j++)
        {
          if (j < O && L->mask[(size_t) i * O + j] != 0.0)
            js[ne++] = j;
          if (ne == 0 || (j < O && ne < KAN_FEAT_MAX_EDGES))
            continue;
          memset (acc, 0, sizeof (double) * ne * C * 4);
          for (size_t b0 = 0; b0 < n; b0 += KAN_FEAT_BLOCK)
            {
              size_t nb = MIN (n - b0, KAN_FEAT_BLOCK);
              const double *F = W->feat + (size_t) i * C * n + b0;
              for (int q = 0; q < ne; q++)
                {
                  const double *gz = gzb + (size_t) js[q] * n + b0;
                  double *aq = acc + (size_t) q * C * 4;
                  switch (C)
                    {
#define FEAT_CASE(cc) case cc: feat_sums_c (F, gz, nb, n, cc, aq); break;
                    FEAT_CASE (5) FEAT_CASE (6) FEAT_CASE (7) FEAT_CASE (8) FEAT_CASE (9)
                    FEAT_CASE (10) FEAT_CASE (11) FEAT_CASE (12)
#undef FEAT_CASE
                    default:
                      feat_sums_c (F, gz, nb, n, C, aq);
                      break;
                    }
                }
            }
          for (int q = 0; q < ne; q++)
            {
              size_t e = (size_t) i * O + js[q];
              const double *aq = acc + (size_t) q * C * 4, *c = L->coef + e * P;
              double msk = L->mask[e], gs = msk * L->scale_sp[e], sp = 0.0, gf[KAN_FEAT_MAX_COLS];
              for (int cc = 0; cc < C; cc++)
                gf[cc] = (aq[cc * 4] + aq[cc * 4 + 1]) + (aq[cc * 4 + 2] + aq[cc * 4 + 3]);
              for (int p = 0; p < P; p++)
                {
                  g_coef[e * P + p] += gs * gf[1 + p];
                  sp += c[p] * gf[1 + p];
                }
              g_sb[e] += msk * gf[0];
              g_sp[e] += msk * sp;
            }
          ne = 0;
        }
    }
}

/* Backward over all rows of the last forward, layer by layer and edge by edge, each edge a
 * pass over the rows of the sample-major arrays: per-edge sums stay in registers and the
 * branches on masks and the regulariser leave the inner loops. The gradients of the nodes
 * (g, gz, gx) are row-contiguous per node. K1 as in forward_edges. */
KAN_HOT_INLINE void
backward_batch_k (const KanModel *m,
                  KanWork        *w,
                  const double   *dout,
                  double         *grad,
                  int             K1)
{
  size_t n = w->n;
  int P = m->G + m->k, NO = kan_model_n_out (m);
  gboolean reg = w->reg_pending;
  double *g = w->gb1, *gx = w->gb2, *gzb = w->gzb;

  for (int q = 0; q < NO; q++)
    for (size_t b = 0; b < n; b++)
      g[(size_t) q * n + b] = dout[b * NO + q];
  for (int l = m->depth - 1; l >= 0; l--)
    {
      const KanLayer *L = &m->layers[l];
      WorkLayer *W = &w->wl[l];
      int I = L->n_in, O = L->n_out, Q = L->n_next;
      size_t IO = (size_t) I * O;
      double *g_ns = grad + (L->node_scale - m->params), *g_nb = grad + (L->node_bias - m->params);
      double *g_ss = grad + (L->subnode_scale - m->params);
      double *g_sb = grad + (L->subnode_bias - m->params);
      gboolean dense;

      /* Node affine and multiplication: g (Q × n) → gz (O × n). Every parameter's sum over
       * the rows in lanes (KAN_BACK_LANES). A subnode alone in its node (no multiplication)
       * has the product of the others 1: one loop with its node's, which the compiler
       * vectorises. */
      for (int q = 0; q < Q; q++)
        {
          const double *gq = g + (size_t) q * n, *y = kan_node_y (L, W, q, n);
          double ns = L->node_scale[q];
          double a_ns[KAN_BACK_LANES] = { 0 }, a_nb[KAN_BACK_LANES] = { 0 };
          int s0 = L->group_start[q], s1 = L->group_start[q + 1];
          size_t b = 0;
          if (s1 - s0 == 1)
            {
              /* One subnode: its sums and gz in the same pass as the node's. */
              const double *restrict z = W->z + (size_t) s0 * n;
              double *restrict gz = gzb + (size_t) s0 * n, ss = L->subnode_scale[s0];
              double a_ss[KAN_BACK_LANES] = { 0 }, a_sb[KAN_BACK_LANES] = { 0 };
#define NODE_BACK_ROW(b, v)                                                                     \
  do                                                                                            \
    {                                                                                           \
      double gy = gq[b] * ns;                                                                   \
      a_ns[v] += gq[b] * y[b];                                                                  \
      a_nb[v] += gq[b];                                                                         \
      a_ss[v] += gy * z[b];                                                                     \
      a_sb[v] += gy;                                                                            \
      gz[b] = gy * ss;                                                                          \
    }                                                                                           \
  while (0)
              for (; b + KAN_BACK_LANES <= n; b += KAN_BACK_LANES)
                for (int v = 0; v < KAN_BACK_LANES; v++)
                  NODE_BACK_ROW (b + v, v);
              for (int v = 0; b < n; b++, v++)
                NODE_BACK_ROW (b, v);
#undef NODE_BACK_ROW
              g_ns[q] += lanes_sum (a_ns);
              g_nb[q] += lanes_sum (a_nb);
              g_ss[s0] += lanes_sum (a_ss);
              g_sb[s0] += lanes_sum (a_sb);
              continue;
            }
          for (; b + KAN_BACK_LANES <= n; b += KAN_BACK_LANES)
            for (int v = 0; v < KAN_BACK_LANES; v++)
              {
                a_ns[v] += gq[b + v] * y[b + v];
                a_nb[v] += gq[b + v];
              }
          for (int v = 0; b < n; b++, v++)
            {
              a_ns[v] += gq[b] * y[b];
              a_nb[v] += gq[b];
            }
          g_ns[q] += lanes_sum (a_ns);
          g_nb[q] += lanes_sum (a_nb);
          /* Products: the product of the others' zs. */
          for (int s = s0; s < s1; s++)
            {
              const double *restrict z = W->z + (size_t) s * n;
              double *restrict gz = gzb + (size_t) s * n, ss = L->subnode_scale[s];
              double a_ss[KAN_BACK_LANES] = { 0 }, a_sb[KAN_BACK_LANES] = { 0 };
              for (b = 0; b < n; b++)
                {
                  double gy = gq[b] * ns, others = 1.0;
                  int v = (int) (b % KAN_BACK_LANES);
                  for (int t = s0; t < s1; t++)
                    if (t != s)
                      others *= W->zs[(size_t) t * n + b];
                  a_ss[v] += gy * others * z[b];
                  a_sb[v] += gy * others;
                  gz[b] = gy * others * ss;
                }
              g_ss[s] += lanes_sum (a_ss);
              g_sb[s] += lanes_sum (a_sb);
            }
        }

      /* Input node by input node: ∂/∂x of its rows in its sorted order (GXS), edge by edge,
       * each edge's numeric part before its symbolic one, then back in row order. */
      if (l > 0)
        memset (gx, 0, sizeof (double) * n * I);
      /* Wide layers as matrix products (kan-dense.c), the others edge by edge. */
      dense = kan_dense_backward_layer (m, w, l, gzb, gx, grad);
      if (!dense && W->feat_active && !reg && l == 0)
        {
          feat_backward (m, L, W, w, gzb, grad);
          dense = TRUE;
        }
      for (int i = 0; i < I && !dense; i++)
        {
          const int *pos = W->pos + (size_t) i * n;
          double *gxs = w->t_gxs, *gxi = gx + (size_t) i * n;
          if (l > 0)
            memset (gxs, 0, sizeof (double) * n);
          for (int j = 0; j < O; j++)
            {
              size_t e = (size_t) i * O + j;
              const double *gz = gzb + (size_t) j * n;
              if (kan_work_tick (w, n))
                return;
              if (L->mask[e] != 0.0)
                {
                  EdgeBack E = {
                    .runs = W->runs + (size_t) i * (m->G + 1), .perm = W->perm + (size_t) i * n,
                    .G = m->G,
                    .bas = W->bas + (size_t) i * n * K1, .dbas = W->dbas + (size_t) i * n * K1,
                    .base = W->base + (size_t) i * n, .dbase = W->dbase + (size_t) i * n,
                    .c = L->coef + e * P, .spl = W->spl + e * n,
                    .msk = L->mask[e], .sp = L->scale_sp[e], .sbw = L->scale_base[e],
                    .alpha = reg ? W->alpha[e] : 0.0, .mp = W->mean_p[e],
                    .pnum = W->postnum + e, .stride = IO,
                  };
                  double acc_sb, acc_sp, *gcl = w->gcl, *gc;
                  memset (gcl, 0, sizeof (double) * P);
                  edge_numeric_back_k (&E, gz, n, K1, reg, l > 0, w->t_gm, w->t_gs, gcl,
                                       &acc_sb, &acc_sp, gxs);
                  gc = grad + (L->coef - m->params) + e * P;
                  for (int r = 0; r < P; r++)
                    gc[r] += gcl[r];
                  grad[(L->scale_base - m->params) + e] += acc_sb;
                  grad[(L->scale_sp - m->params) + e] += acc_sp;
                }
              if (L->mask_sym[e] != 0.0)
                {
                  const double *a = L->sym + e * 4;
                  const double *symf = W->symf + e * n, *dsymf = W->dsymf + e * n;
                  double ms = L->mask_sym[e], ga = 0.0, gb = 0.0, gcc = 0.0, gd = 0.0;
                  double *gs4 = grad + (L->sym - m->params) + e * 4;
                  for (size_t b = 0; b < n; b++)
                    {
                      double gsym = gz[b] * ms;
                      double gu = gsym * a[2] * dsymf[b];
                      ga += gu * W->x[b * I + i];
                      gb += gu;
                      gcc += gsym * symf[b];
                      gd += gsym;
                      if (l > 0)
                        gxs[pos[b]] += gu * a[0];
                    }
                  gs4[0] += ga;
                  gs4[1] += gb;
                  gs4[2] += gcc;
                  gs4[3] += gd;
                }
            }
          if (l > 0)
            for (size_t b = 0; b < n; b++)
              gxi[b] = gxs[pos[b]];
        }

      if (l > 0)
        {
          double *tmp;
          if (reg)
            for (int i = 0; i < I; i++)
              for (size_t b = 0; b < n; b++)
                gx[(size_t) i * n + b] += W->beta[i] * (W->x[b * I + i] - W->mean_x[i]);
          tmp = g;
          g = gx;
          gx = tmp;
        }
    }
}

/* backward_batch_k for the model's order, compiled for AVX2 and the baseline (the same bits:
 * see KAN_SIMD_CLONES). */
KAN_SIMD_CLONES static void
backward_batch (const KanModel *m, KanWork *w, const double *dout, double *grad)
{
  if (m->k == 3)
    backward_batch_k (m, w, dout, grad, 4);
  else
    backward_batch_k (m, w, dout, grad, m->k + 1);
}

void
kan_model_backward (const KanModel *m,
                    KanWork        *w,
                    const double   *dout,
                    double         *grad)
{
  g_return_if_fail (m != NULL && w != NULL);
  g_return_if_fail ((dout != NULL && grad != NULL) || w->n == 0);
  backward_batch (m, w, dout, grad);
  w->reg_pending = FALSE;
}

void
kan_model_jacobian (const KanModel *m,
                    KanWork        *w,
                    const size_t   *idx,
                    size_t          n_idx,
                    double         *jac)
{
  int O;
  double *row, *e;
  gboolean reg;

  g_return_if_fail (m != NULL && w != NULL);
  g_return_if_fail ((idx != NULL && jac != NULL) || n_idx == 0);
  O = kan_model_n_out (m);
  row = g_new (double, m->n_params);
  e = g_new0 (double, O);
  reg = w->reg_pending;
  w->reg_pending = FALSE;
  kan_dense_edges (w);   /* backward_sample reads the per-edge outputs */
  for (size_t b = 0; b < w->n && !kan_work_tick (w, m->n_params); b++)
    for (int o = 0; o < O; o++)
      {
        double *J = jac + (b * O + o) * n_idx;
        memset (row, 0, sizeof (double) * m->n_params);
        e[o] = 1.0;
        backward_sample (m, w, b, e, row);
        e[o] = 0.0;
        for (size_t q = 0; q < n_idx; q++)
          J[q] = row[idx[q]];
      }
  w->reg_pending = reg;
  g_free (row);
  g_free (e);
}
