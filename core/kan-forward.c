/* kan-forward.c — the forward pass: bases, edges, subnode and node affines, products; plus
 * evaluation without a workspace and the value of one edge.
 *
 * Shapes in comments: n rows (samples), I = n_in nodes of the layer, O = n_out subnodes,
 * Q = n_next nodes after multiplication, P = G+k bases, K1 = k+1 non-zero bases at a point.
 */
#include "kan-work-private.h"
#include "kan-dense-private.h"
#include "kan-inline-private.h"
#include "kan-spline.h"
#include "kan-symbolic.h"

#include <math.h>
#include <string.h>

/* ------------------------------------------------------------------------------------------ */
/* Base functions (named in kan-model.c)                                                      */

static inline double
base_eval (KanBaseFun f, double x, double *d)
{
  switch (f)
    {
    case KAN_BASE_SILU:
      {
        double sg = 1.0 / (1.0 + exp (-x));
        *d = sg * (1.0 + x * (1.0 - sg));
        return x * sg;
      }
    case KAN_BASE_IDENTITY:
      *d = 1.0;
      return x;
    case KAN_BASE_ZERO:
    default:
      *d = 0.0;
      return 0.0;
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Forward                                                                                     */

static void
update_tables (const KanModel *m, KanWork *w)
{
  int len = kan_spline_ext_len (m->G, m->k);

  if (w->tab_valid && w->tab_model == m && w->tab_serial == m->grid_serial)
    return;
  for (int l = 0; l < m->depth; l++)
    {
      const KanLayer *L = &m->layers[l];
      WorkLayer *W = &w->wl[l];
      for (int i = 0; i < L->n_in; i++)
        kan_spline_tables (kan_layer_knots (m, L, i), m->G, m->k, W->ext + (size_t) i * len,
                           W->inv + (size_t) i * m->k * len);
    }
  w->tab_valid = TRUE;
  w->tab_model = m;
  w->tab_serial = m->grid_serial;
}

/* exp(V) for |V| <= KAN_EXP_POLY_MAX, with no branch and no library call, so that a loop over
 * values vectorises: V = n·ln 2 + r with |r| <= ln 2 / 2 (n rounded by the 1.5·2^52 shift,
 * ln 2 in two parts), e^r by its Taylor polynomial of degree 12 (truncation below 2e-16
 * relative) summed as 1 + (r + r²·q(r)), 2^n put into the exponent bits. Within 1 ulp of
 * libm's exp in tests; the caller redoes
 * values outside the range, NaN included, with exp. */
#define KAN_EXP_POLY_MAX 708.0

G_ALWAYS_INLINE static inline double
exp_poly (double v)
{
  const double shift = 6755399441055744.0, ln2_hi = 6.93147180369123816490e-01;
  const double ln2_lo = 1.90821492927058770002e-10, inv_ln2 = 1.44269504088896338700e+00;
  double kd = v * inv_ln2 + shift, nd = kd - shift, r = (v - nd * ln2_hi) - nd * ln2_lo, p, sc;
  guint64 bits;

  /* q(r) = Σ_{i=0}^{10} r^i/(i+2)! by Estrin's scheme: pairs, then powers r², r⁴, r⁸, a
   * dependency chain of 5 operations where Horner's has 20 (the loops over values wait on
   * it). */
  {
    double r2 = r * r, r4 = r2 * r2, r8 = r4 * r4;
    double q0 = 0.5 + r * (1.0 / 6.0), q1 = 1.0 / 24.0 + r * (1.0 / 120.0);
    double q2 = 1.0 / 720.0 + r * (1.0 / 5040.0), q3 = 1.0 / 40320.0 + r * (1.0 / 362880.0);
    double q4 = 1.0 / 3628800.0 + r * (1.0 / 39916800.0), q5 = 1.0 / 479001600.0;
    double s0 = q0 + r2 * q1, s1 = q2 + r2 * q3, s2 = q4 + r2 * q5;
    p = (s0 + r4 * s1) + r8 * s2;
    p = 1.0 + (r + r2 * p);
  }
  /* The low bits of kd hold n in two's complement; shifted into the exponent field with the
   * bias, the bits above it fall out. */
  memcpy (&bits, &kd, sizeof bits);
  bits = (bits + 1023) << 52;
  memcpy (&sc, &bits, sizeof sc);
  return p * sc;
}

/* Base function of the N values XS: b(x) into BX, b'(x) into DB. SiLU in one pass the
 * compiler vectorises (exp_poly, then the division and products), with libm's exp for the
 * rare values beyond exp_poly's range. */
KAN_SIMD_CLONES static void
base_block (KanBaseFun f, const double *restrict xs, double *restrict bx, double *restrict db,
            size_t n)
{
  switch (f)
    {
    case KAN_BASE_SILU:
      {
        int far = 0;
        for (size_t s = 0; s < n; s++)
          {
            double xv = xs[s], sg = 1.0 / (1.0 + exp_poly (-xv));
            far |= !(fabs (xv) <= KAN_EXP_POLY_MAX);
            db[s] = sg * (1.0 + xv * (1.0 - sg));
            bx[s] = xv * sg;
          }
        /* The rare values beyond exp_poly's range, NaN included, again with libm's exp. */
        if (far)
          for (size_t s = 0; s < n; s++)
            if (!(fabs (xs[s]) <= KAN_EXP_POLY_MAX))
              {
                double xv = xs[s], sg = 1.0 / (1.0 + exp (-xv));
                db[s] = sg * (1.0 + xv * (1.0 - sg));
                bx[s] = xv * sg;
              }
      }
      break;
    case KAN_BASE_IDENTITY:
    case KAN_BASE_ZERO:
    default:
      for (size_t s = 0; s < n; s++)
        bx[s] = base_eval (f, xs[s], &db[s]);
      break;
    }
}

/* Sorts the rows of input node i by their KEY (0 … NK−1; a stable counting sort) into W's
 * perm and pos, the start of each key's rows into KST (NK+1 entries, KST[NK] = n), and the
 * input (COL, the node's column) into W->xs. */
static void
sort_rows (WorkLayer *W, KanWork *w, int i, int nk, size_t n, const int *key,
           const double *col, int *kst)
{
  int *restrict next = w->t_next;   /* KAN_WORK_SORT_SLICES × NK */
  int *restrict perm = W->perm + (size_t) i * n, *restrict pos = W->pos + (size_t) i * n;
  double *restrict xs = W->xs + (size_t) i * n;
  size_t lo[KAN_WORK_SORT_SLICES + 1], len = n / KAN_WORK_SORT_SLICES;

  for (int j = 0; j <= KAN_WORK_SORT_SLICES; j++)
    lo[j] = j * len;
  lo[KAN_WORK_SORT_SLICES] = n;
  memset (next, 0, sizeof (int) * KAN_WORK_SORT_SLICES * nk);
  for (size_t p = 0; p < len; p++)
    KAN_UNROLL
    for (int j = 0; j < KAN_WORK_SORT_SLICES; j++)
      next[j * nk + key[lo[j] + p]]++;
  for (size_t b = lo[KAN_WORK_SORT_SLICES - 1] + len; b < n; b++)
    next[(KAN_WORK_SORT_SLICES - 1) * nk + key[b]]++;
  /* Key by key, slice by slice: the first position of each (slice, key). */
  {
    int at = 0;
    for (int q = 0; q < nk; q++)
      {
        kst[q] = at;
        for (int j = 0; j < KAN_WORK_SORT_SLICES; j++)
          {
            int c = next[j * nk + q];
            next[j * nk + q] = at;
            at += c;
          }
      }
    kst[nk] = at;
  }
  for (size_t p = 0; p < len; p++)
    KAN_UNROLL
    for (int j = 0; j < KAN_WORK_SORT_SLICES; j++)
      {
        size_t b = lo[j] + p, kk = (size_t) next[j * nk + key[b]]++;
        perm[kk] = (int) b;
        pos[b] = (int) kk;
        xs[kk] = col[b];
      }
  for (size_t b = lo[KAN_WORK_SORT_SLICES - 1] + len; b < n; b++)
    {
      size_t kk = (size_t) next[(KAN_WORK_SORT_SLICES - 1) * nk + key[b]]++;
      perm[kk] = (int) b;
      pos[b] = (int) kk;
      xs[kk] = col[b];
    }
}

/* Cubic rows on grids of at most this many intervals are sorted by their knot span, found by
 * counting (first3_keys); on larger grids by their interval, found by kan_spline_first3. */
#define KAN_FIRST3_COUNT_MAX_G 32

/* Keys of the sort by span for cubic bases (G + 7 of them): 0 for a point outside the knots
 * [t_0, t_{G+6}) or NaN (every basis 0), s + 1 for a point in span s (t_s <= x < t_{s+1},
 * 0 <= s <= G+5). The spans 3 … G+2 are the grid's intervals; the others, near the ends,
 * have some of their four bases missing. Keys 0 … 4 hold the rows whose first basis is 0,
 * key q + 4 those of interval q (0 < q < G−1), keys G+3 … G+6 those of G−1. */
#define KEYS3(G) ((G) + 7)

/* The span of each of the N points XS by counting the knots t_1 … t_{G+5} at or below it
 * (the knots are sorted: the largest such span, as kan_spline_basis_tab3's search finds it),
 * into KEY (see KEYS3) and the first non-zero basis M0, as kan_spline_first3 gives it (the
 * span − 3 clipped to 0 … G−1; 0 outside the knots). Passes over the points that the
 * compiler vectorises, where a search branches per point. CNT is scratch of N counts. */
KAN_HOT_INLINE void
first3_keys (const double *t, int G, const double *restrict xs, size_t n, int *restrict key,
             int *restrict m0, gint64 *restrict cnt)
{
  double first = t[0], last = t[G + 6];
  /* The knots t_1 … t_{G+5}, four a pass, the last pass padded with +∞ (no finite point
   * counts it; +∞ itself lies outside the knots). The counts are small integers: exact in any
   * order. */
  double tp[KAN_FIRST3_COUNT_MAX_G + 8];
  int nq = (G + 5 + 3) / 4 * 4;

  for (int q = 0; q < nq; q++)
    tp[q] = q < G + 5 ? t[q + 1] : INFINITY;
#define FIRST3_COUNT4(s)                                                                        \
  (((gint64) (xs[s] >= tp[q]) + (gint64) (xs[s] >= tp[q + 1]))                                   \
   + ((gint64) (xs[s] >= tp[q + 2]) + (gint64) (xs[s] >= tp[q + 3])))
  for (int q = 0; q < nq; q += 4)
    if (q == 0)
      for (size_t s = 0; s < n; s++)
        cnt[s] = FIRST3_COUNT4 (s);
    else
      for (size_t s = 0; s < n; s++)
        cnt[s] += FIRST3_COUNT4 (s);
#undef FIRST3_COUNT4
  for (size_t s = 0; s < n; s++)
    {
      int sp = (int) cnt[s];
      gboolean in = xs[s] >= first && xs[s] < last;
      key[s] = in ? sp + 1 : 0;
      m0[s] = in ? CLAMP (sp - 3, 0, G - 1) : 0;
    }
}

/* The four bases (and with DB their derivatives) at the N sorted points XS of span S, one of
 * those near the ends of the knots (S < 3 or S > G+2), as kan_spline_basis_tab3 gives them:
 * the bases of span S (computed as vectors: the span's knots are loop constants), then
 * shifted to the clipped first basis, those that do not exist 0. Rows r of B and DB are
 * STRIDE apart. */
KAN_SIMD_CLONES static void
edge_span_run (const double *ext, const double *inv, int G, int s, const double *xs, size_t n,
               double *b, double *db, size_t stride)
{
  KanCubicSpan c;
  int d = (s < 3 ? 0 : G - 1) - (s - 3);   /* row r takes the span's basis r + d */
  double *rb[4] = { b, b + stride, b + 2 * stride, b + 3 * stride };
  double *rd[4] = { db, db ? db + stride : NULL, db ? db + 2 * stride : NULL,
                    db ? db + 3 * stride : NULL };

  kan_spline_cubic_span (ext, inv, G + 13, s, &c);
  if (db)
    kan_spline_cubic_points (&c, xs, n, rb[0], rb[1], rb[2], rb[3], rd[0], rd[1], rd[2], rd[3],
                             TRUE);
  else
    kan_spline_cubic_points (&c, xs, n, rb[0], rb[1], rb[2], rb[3], NULL, NULL, NULL, NULL,
                             FALSE);
  /* Shift the rows: upwards in r when d > 0 (each source lies above its destination),
   * downwards when d < 0. */
  for (int q = 0; q < 4; q++)
    {
      int r = d > 0 ? q : 3 - q, src = r + d;
      for (int z = 0; z < (db ? 2 : 1); z++)
        {
          double **rows = z == 0 ? rb : rd;
          if (src >= 0 && src <= 3)
            memmove (rows[r], rows[src], sizeof (double) * n);
          else
            memset (rows[r], 0, sizeof (double) * n);
        }
    }
}

/* Bases and base function of layer input W->x (n × I), input node by input node, into the
 * node's sorted arrays (see WorkLayer); derivatives of the bases only if NEED_D. Cubic bases
 * (k = 3) are computed in sorted order, a run of rows of one interval at a time; other orders
 * row by row into the workspace's scratch, then sorted. K is a parameter so that the k = 3
 * call below is specialised by the compiler. Outside the grid m0 is 0 and the bases are 0, so
 * the edge loops need no branch. */
KAN_HOT_INLINE void
forward_bases_k (const KanModel *m, const KanLayer *L, WorkLayer *W, KanWork *w, int k, size_t n,
                 gboolean need_d)
{
  int I = L->n_in, K1 = k + 1, G = m->G, len = kan_spline_ext_len (G, k);
  double *restrict tb = w->t_bas, *restrict tdb = w->t_dbas;

  for (int i = 0; i < I; i++)
    {
      const double *t = kan_layer_knots (m, L, i);
      const double *ext = W->ext + (size_t) i * len, *inv = W->inv + (size_t) i * k * len;
      const int *restrict perm = W->perm + (size_t) i * n;
      int *restrict runs = W->runs + (size_t) i * (G + 1);
      int *restrict m0 = W->m0 + (size_t) i * n;
      const double *restrict xs = W->xs + (size_t) i * n;
      double *restrict bas = W->bas + (size_t) i * n * K1;
      double *restrict dbas = W->dbas + (size_t) i * n * K1;
      double *restrict base = W->base + (size_t) i * n, *restrict dbase = W->dbase + (size_t) i * n;
      /* The node's column: layers l > 0 have it from the previous layer's affine. */
      const double *restrict col = W->xc != NULL ? W->xc + (size_t) i * n : w->t_col;

      gboolean by_span = k == 3 && G <= KAN_FIRST3_COUNT_MAX_G;
      int *restrict key = by_span ? w->t_key : m0, *restrict kst = w->t_kst;

      for (size_t b0 = 0; b0 < n; b0 += KAN_WORK_BLOCK_ROWS)
        {
          size_t b1 = MIN (n, b0 + KAN_WORK_BLOCK_ROWS);
          if (kan_work_tick (w, b1 - b0))
            return;
          if (W->xc == NULL)
            for (size_t b = b0; b < b1; b++)
              w->t_col[b] = W->x[b * I + i];
          if (by_span)
            first3_keys (t, G, col + b0, b1 - b0, key + b0, m0 + b0, w->t_cnt);
          else if (k == 3)
            kan_spline_first3 (t, ext, inv, G, col + b0, b1 - b0, m0 + b0);
          else
            for (size_t b = b0; b < b1; b++)
              m0[b] = MAX (0, kan_spline_basis_tab (t, ext, inv, G, k, col[b], tb + b * K1,
                                                    need_d ? tdb + b * K1 : NULL));
        }

      if (by_span)
        {
          /* Span by span: the grid's intervals vectorised, the spans near the ends too. */
          sort_rows (W, w, i, KEYS3 (G), n, key, col, kst);
          runs[0] = 0;
          for (int q = 1; q < G; q++)
            runs[q] = kst[q + 4];
          runs[G] = (int) n;
          for (int y = 0; y < KEYS3 (G); y++)
            {
              size_t k0 = (size_t) kst[y], cnt = (size_t) kst[y + 1] - k0;
              int sp = y - 1;
              if (cnt == 0)
                continue;
              if (y == 0)
                for (int r = 0; r < 4; r++)
                  {
                    memset (bas + r * n + k0, 0, sizeof (double) * cnt);
                    if (need_d)
                      memset (dbas + r * n + k0, 0, sizeof (double) * cnt);
                  }
              else if (sp >= 3 && sp <= G + 2)
                kan_spline_cubic_run (ext, inv, G, sp - 3, xs + k0, cnt, bas + k0,
                                      need_d ? dbas + k0 : NULL, n);
              else
                edge_span_run (ext, inv, G, sp, xs + k0, cnt, bas + k0,
                               need_d ? dbas + k0 : NULL, n);
            }
        }
      else if (k == 3)
        {
          double lo = t[3], hi = t[G + 3];
          sort_rows (W, w, i, G, n, m0, col, runs);
          for (int q = 0; q < G; q++)
            kan_spline_cubic_run (ext, inv, G, q, xs + runs[q], runs[q + 1] - runs[q],
                                  bas + runs[q], need_d ? dbas + runs[q] : NULL, n);
          /* Rows outside the grid or at its ends, where some of the four bases do not
           * exist, sit in the first and last runs: redone one by one. */
          for (int q = 0; q < G; q += MAX (1, G - 1))
            for (size_t kk = (size_t) runs[q]; kk < (size_t) runs[q + 1]; kk++)
              if (!(xs[kk] >= lo && xs[kk] < hi))
                {
                  double B[4], D[4];
                  kan_spline_basis_tab3 (t, ext, inv, G, xs[kk], B, D);
                  for (int r = 0; r < 4; r++)
                    {
                      bas[r * n + kk] = B[r];
                      if (need_d)
                        dbas[r * n + kk] = D[r];
                    }
                }
        }
      else
        {
          sort_rows (W, w, i, G, n, m0, col, runs);
          for (size_t kk = 0; kk < n; kk++)
          {
            size_t b = (size_t) perm[kk];
            for (int r = 0; r < K1; r++)
              {
                bas[r * n + kk] = tb[b * K1 + r];
                if (need_d)
                  dbas[r * n + kk] = tdb[b * K1 + r];
              }
          }
        }
      base_block (m->base_fun, xs, base, dbase, n);
    }
}

KAN_SIMD_CLONES static void
forward_bases (const KanModel *m, const KanLayer *L, WorkLayer *W, KanWork *w, int K1, size_t n,
               gboolean need_d)
{
  if (K1 == 4)
    forward_bases_k (m, L, W, w, 3, n, need_d);
  else
    forward_bases_k (m, L, W, w, K1 - 1, n, need_d);
}

/* The spline of edge E over the rows of its input node, interval by interval (the node's
 * sorted order, RUNS over G intervals): SPL (sorted) = spline(x). Inside a run the K1
 * coefficients are constants; K1 a constant after inlining. */
KAN_HOT_INLINE void
edge_spline_runs (const int *restrict runs, int G, const double *restrict bas,
                  const double *restrict c, size_t n, int K1, double *restrict spl)
{
  for (int q = 0; q < G; q++)
    {
      size_t k0 = (size_t) runs[q], k1 = (size_t) runs[q + 1];
      double cc[KAN_SPLINE_MAX_K + 1] = { 0 };
      KAN_UNROLL
      for (int r = 0; r < K1; r++)
        cc[r] = c[q + r];
      for (size_t kk = k0; kk < k1; kk++)
        {
          double sv = 0.0;
          KAN_UNROLL
          for (int r = 0; r < K1; r++)
            sv += cc[r] * bas[r * n + kk];
          spl[kk] = sv;
        }
    }
}

/* The output of numeric edge E (input node I) at rows B0 … B1−1, from its sorted spline SPL
 * and the node's sorted base function BASE read at each row's position POS (a gather, so
 * that every output is written once and in row order): w_b·b(x) + w_s·spline(x), into
 * postnum (PNUM, stride STRIDE) when WITH_PNUM, added into the subnode sums Z (by row) when
 * WITH_Z. */
KAN_HOT_INLINE void
edge_rows (const int *restrict pos, const double *restrict base, const double *restrict spl,
           double wb, double ws, size_t b0, size_t b1, double *restrict pnum, size_t stride,
           double *restrict z, gboolean with_pnum, gboolean with_z)
{
  for (size_t b = b0; b < b1; b++)
    {
      size_t kb = (size_t) pos[b];
      double pn = wb * base[kb] + ws * spl[kb];
      if (with_pnum)
        pnum[b * stride] = pn;
      if (with_z)
        z[b] += pn;
    }
}

/* Edges of one layer: post[b,i,j] = mask·(w_b·b(x) + w_s·spline(x)) + mask_s·(c·f(a·x+b)+d),
 * summed into the subnodes z. First edge by edge, each a pass over the rows, so masks are
 * tested once per edge (K1 is a parameter so that the k = 3 call is unrolled): the splines in
 * sorted order, f(a·x+b) of the symbolic edges; then the outputs and sums row by row. The
 * spline derivatives are left to the backward pass, which computes them from the bases. */
KAN_HOT_INLINE void
forward_edges (const KanModel *m, const KanLayer *L, WorkLayer *W, KanWork *w, size_t n, int K1,
               gboolean has_sym, double y_th)
{
  int I = L->n_in, O = L->n_out, P = m->G + m->k;
  size_t IO = (size_t) I * O;

  /* The per-edge outputs only for symbolic layers (post adds to them) and callers that read
   * them after every forward (training with the regulariser); otherwise on demand. */
  gboolean lazy = !has_sym && !w->edges_eager;

  W->post_alias = !has_sym;
  W->postnum_pending = lazy;
  for (int i = 0; i < I; i++)
    for (int j = 0; j < O; j++)
      {
        size_t e = (size_t) i * O + j;

        if (kan_work_tick (w, n))
          return;
        /* A masked edge is exactly 0, whatever its (possibly stale) parameters hold. */
        if (L->mask[e] != 0.0)
          edge_spline_runs (W->runs + (size_t) i * (m->G + 1), m->G,
                            W->bas + (size_t) i * n * K1, L->coef + e * P, n, K1,
                            W->spl + e * n);
        if (has_sym && L->mask_sym[e] != 0.0)
          {
            const double *a = L->sym + e * 4;
            double *symf = W->symf + e * n, *dsymf = W->dsymf + e * n;
            for (size_t b = 0; b < n; b++)
              symf[b] = kan_sym_eval (L->sym_fn[e], a[0] * W->x[b * I + i] + a[1], y_th,
                                      &dsymf[b]);
          }
      }
  /* Subnode by subnode, its sum over the inputs i = 0, 1, … in order, each edge's numeric
   * part before its symbolic one. */
  memset (W->z, 0, sizeof (double) * n * O);
  for (int j = 0; j < O; j++)
    for (int i = 0; i < I; i++)
      {
        size_t e = (size_t) i * O + j;
        double msk = L->mask[e], *z = W->z + (size_t) j * n, *pnum = W->postnum + e;

        if (kan_work_tick (w, n))
          return;
        if (msk != 0.0 && lazy)
          edge_rows (W->pos + (size_t) i * n, W->base + (size_t) i * n, W->spl + e * n,
                     msk * L->scale_base[e], msk * L->scale_sp[e], 0, n, pnum, IO, z, FALSE,
                     TRUE);
        else if (msk != 0.0)
          edge_rows (W->pos + (size_t) i * n, W->base + (size_t) i * n, W->spl + e * n,
                     msk * L->scale_base[e], msk * L->scale_sp[e], 0, n, pnum, IO, z, TRUE,
                     TRUE);
        else if (!lazy)
          for (size_t b = 0; b < n; b++)
            pnum[b * IO] = 0.0;
        if (!has_sym)
          continue;
        if (L->mask_sym[e] != 0.0)
          {
            const double *a = L->sym + e * 4, *symf = W->symf + e * n;
            double ms = L->mask_sym[e];
            for (size_t b = 0; b < n; b++)
              {
                double ps = ms * (a[2] * symf[b] + a[3]);
                W->post[b * IO + e] = pnum[b * IO] + ps;
                z[b] += ps;
              }
          }
        else
          for (size_t b = 0; b < n; b++)
            W->post[b * IO + e] = pnum[b * IO];
      }
}

/* forward_edges for the model's order, compiled for AVX2 and the baseline (the same bits:
 * see KAN_SIMD_CLONES). */
KAN_SIMD_CLONES static void
forward_layer_edges (const KanModel *m, const KanLayer *L, WorkLayer *W, KanWork *w, size_t n,
                     gboolean has_sym, double y_th)
{
  if (m->k == 3)
    forward_edges (m, L, W, w, n, 4, has_sym, y_th);
  else
    forward_edges (m, L, W, w, n, m->k + 1, has_sym, y_th);
}

/* ------------------------------------------------------------------------------------------ */
/* The feature path of layer 0 (WorkLayer.feat)                                                */

/* TRUE if layer L (index l) of M goes the feature way this forward: layer 0 (its bases are
 * cached), at most KAN_FEAT_MAX_COLS columns per node, no symbolic edge, and every weight of
 * an edge that is on finite (a zero feature times a weight that is not would reach rows whose
 * bases do not). Whatever was read before: the same bits every time. */
static gboolean
feat_wanted (const KanModel *m, const KanLayer *L, const KanWork *w, int l, gboolean has_sym)
{
  int P = m->G + m->k;
  double probe = 0.0;

  if (l != 0 || P + 1 > KAN_FEAT_MAX_COLS || has_sym || w->feat_off)
    return FALSE;
  for (size_t e = 0; e < (size_t) L->n_in * L->n_out; e++)
    if (L->mask[e] != 0.0)
      {
        probe += 0.0 * L->scale_base[e] + 0.0 * L->scale_sp[e];
        for (int p = 0; p < P; p++)
          probe += 0.0 * L->coef[e * P + p];
      }
  return probe == 0.0;   /* 0·v is NaN for v infinite or NaN */
}

/* W->feat from the layer's sorted bases (see WorkLayer). */
static void
feat_build (const KanModel *m, const KanLayer *L, WorkLayer *W, KanWork *w, size_t n)
{
  int I = L->n_in, K1 = m->k + 1, C = m->G + m->k + 1;

  if (W->feat == NULL)
    W->feat = g_new (double, w->n_max * I * C);
  for (int i = 0; i < I; i++)
    {
      double *restrict F = W->feat + (size_t) i * C * n;
      const int *restrict pos = W->pos + (size_t) i * n, *restrict m0 = W->m0 + (size_t) i * n;
      const double *restrict bas = W->bas + (size_t) i * n * K1;
      const double *restrict base = W->base + (size_t) i * n;
      memset (F, 0, sizeof (double) * C * n);
      for (size_t b = 0; b < n; b++)
        {
          size_t kb = (size_t) pos[b];
          F[b] = base[kb];
          for (int r = 0; r < K1; r++)
            F[(size_t) (1 + m0[b] + r) * n + b] = bas[(size_t) r * n + kb];
        }
    }
  W->feat_valid = TRUE;
}

/* One edge by its features at rows b < N: w_b·F[b] + w_s·Σ_p c_p·F[(1+p)·STRIDE + b] (WT
 * holds w_b, w_s, c_0 … c_{C−2}), added into Z[b] (ADD) or stored into Z[b·ZSTRIDE]. The
 * spline sums the bases in order, so the bases a row does not reach add exact zeros and
 * every value has the bits of the per-edge pass (edge_spline_runs, edge_rows): the subnode
 * sums are the sums of the per-edge outputs exactly. C and ADD are constants after inlining,
 * so the sum unrolls and the loop over rows vectorises. */
KAN_HOT_INLINE void
feat_edge_c (const double *restrict F, const double *restrict wt, size_t n, size_t stride,
             int C, double *restrict z, size_t zstride, gboolean add)
{
  double wc[KAN_FEAT_MAX_COLS + 1] = { 0 };

  KAN_UNROLL
  for (int c = 0; c <= C; c++)
    wc[c] = wt[c];
  for (size_t b = 0; b < n; b++)
    {
      double sv = 0.0, pn;
      KAN_UNROLL
      for (int c = 1; c < C; c++)
        sv += wc[c + 1] * F[(size_t) c * stride + b];
      pn = wc[0] * F[b] + wc[1] * sv;
      if (add)
        z[b] += pn;
      else
        z[b * zstride] = pn;
    }
}

/* feat_edge_c for the layer's C (specialised for the column counts the path takes). */
KAN_HOT_INLINE void
feat_edge (const double *F, const double *wt, size_t n, size_t stride, int C, double *z,
           size_t zstride, gboolean add)
{
  switch (C)
    {
#define FEAT_CASE(c) case c: feat_edge_c (F, wt, n, stride, c, z, zstride, add); break;
    FEAT_CASE (5) FEAT_CASE (6) FEAT_CASE (7) FEAT_CASE (8) FEAT_CASE (9)
    FEAT_CASE (10) FEAT_CASE (11) FEAT_CASE (12)
#undef FEAT_CASE
    default:
      feat_edge_c (F, wt, n, stride, C, z, zstride, add);
      break;
    }
}

/* The weights of edge E of layer L on its features (see WorkLayer.feat): mask·w_b,
 * mask·w_s, then the P coefficients. */
static inline void
feat_weights (const KanModel *m, const KanLayer *L, size_t e, double *wt)
{
  int P = m->G + m->k;
  double msk = L->mask[e];

  wt[0] = msk * L->scale_base[e];
  wt[1] = msk * L->scale_sp[e];
  for (int p = 0; p < P; p++)
    wt[2 + p] = L->coef[e * P + p];
}

/* The subnode sums W->z of layer L from its features: node by node, in blocks of
 * KAN_FEAT_BLOCK rows (their features stay in the cache for all the node's edges); each
 * subnode's sum over the inputs i = 0, 1, … in order, as in forward_edges. Masked edges add
 * nothing. */
KAN_SIMD_CLONES static void
feat_forward (const KanModel *m, const KanLayer *L, WorkLayer *W, KanWork *w, size_t n)
{
  int I = L->n_in, O = L->n_out, P = m->G + m->k, C = P + 1;

  memset (W->z, 0, sizeof (double) * n * O);
  for (int i = 0; i < I; i++)
    {
      double wt[(KAN_FEAT_MAX_COLS + 1) * KAN_FEAT_MAX_EDGES];
      int js[KAN_FEAT_MAX_EDGES], ne = 0;
      if (kan_work_tick (w, n * O))
        return;
      for (int j = 0; j <= O; j++)
        {
          size_t e = (size_t) i * O + j;
          if (j < O && L->mask[e] != 0.0)
            {
              feat_weights (m, L, e, wt + (size_t) ne * (C + 1));
              js[ne++] = j;
            }
          if (ne == 0 || (j < O && ne < KAN_FEAT_MAX_EDGES))
            continue;
          for (size_t b0 = 0; b0 < n; b0 += KAN_FEAT_BLOCK)
            {
              size_t nb = MIN (n - b0, KAN_FEAT_BLOCK);
              const double *F = W->feat + (size_t) i * C * n + b0;
              for (int q = 0; q < ne; q++)
                feat_edge (F, wt + (size_t) q * (C + 1), nb, n, C,
                           W->z + (size_t) js[q] * n + b0, 1, TRUE);
            }
          ne = 0;
        }
    }
}

void
kan_forward_write_edges (KanWork *w)
{
  const KanModel *m = w->fwd_model;

  w->edges_read = TRUE;
  for (int l = 0; l < w->depth && m != NULL; l++)
    {
      const KanLayer *L = &m->layers[l];
      WorkLayer *W = &w->wl[l];
      size_t n = w->n, IO = (size_t) L->n_in * L->n_out;
      int P = m->G + m->k;
      if (W->spl_pending)
        for (size_t e = 0; e < IO; e++)
          if (L->mask[e] != 0.0)
            edge_spline_runs (W->runs + (e / L->n_out) * (m->G + 1), m->G,
                              W->bas + (e / L->n_out) * n * (m->k + 1), L->coef + e * P, n,
                              m->k + 1, W->spl + e * n);
      W->spl_pending = FALSE;
      if (!W->postnum_pending)
        continue;
      for (int i = 0; i < L->n_in; i++)
        for (int j = 0; j < L->n_out; j++)
          {
            size_t e = (size_t) i * L->n_out + j;
            double msk = L->mask[e], *pnum = W->postnum + e;
            if (msk != 0.0 && W->feat_active)
              {
                double wt[KAN_FEAT_MAX_COLS + 1];
                feat_weights (m, L, e, wt);
                feat_edge (W->feat + (size_t) i * (P + 1) * n, wt, n, n, P + 1, pnum, IO,
                           FALSE);
              }
            else if (msk != 0.0)
              edge_rows (W->pos + (size_t) i * n, W->base + (size_t) i * n, W->spl + e * n,
                         msk * L->scale_base[e], msk * L->scale_sp[e], 0, n, pnum, IO, NULL,
                         TRUE, FALSE);
            else
              for (size_t b = 0; b < n; b++)
                pnum[b * IO] = 0.0;
          }
      W->postnum_pending = FALSE;
    }
}

/* Forward through layers 0 … N_LAYERS−1: the input of layer N_LAYERS (or the output) is then
 * in the workspace. Stops early, with W->cancelled set, when the cancellable fires. */
void
kan_model_forward_layers (const KanModel *m,
                          KanWork        *w,
                          const double   *x,
                          size_t          n,
                          double          y_th,
                          int             n_layers)
{
  int K1 = m->k + 1;

  w->n = n;
  w->y_th = y_th;
  w->reg_pending = FALSE;
  w->fwd_model = m;
  w->edges_eager = w->edges_read;
  w->edges_read = FALSE;
  for (int l = 0; l < w->depth; l++)
    {
      w->wl[l].postnum_pending = FALSE;
      w->wl[l].spl_pending = FALSE;
      w->wl[l].feat_active = FALSE;
    }
  w->cancelled = FALSE;
  update_tables (m, w);

  for (int l = 0; l < n_layers; l++)
    {
      const KanLayer *L = &m->layers[l];
      WorkLayer *W = &w->wl[l];
      int I = L->n_in, O = L->n_out, Q = L->n_next;
      gboolean has_sym = kan_layer_has_symbolic (L);

      if (l == 0)
        {
          gboolean cached = w->cache_valid && w->cache_x == x && w->cache_n == n
                            && w->cache_model == m && w->cache_grid_serial == m->grid_serial;
          if (!cached)
            {
              w->cache_valid = FALSE;
              W->feat_valid = FALSE;
              kan_dense_forget (w);
              memcpy (W->x, x, sizeof (double) * n * I);
              forward_bases (m, L, W, w, K1, n, FALSE);
              if (w->cancelled)
                return;
              w->cache_valid = TRUE;
              w->cache_x = x;
              w->cache_n = n;
              w->cache_model = m;
              w->cache_grid_serial = m->grid_serial;
            }
        }
      else
        forward_bases (m, L, W, w, K1, n, TRUE);
      if (w->cancelled)
        return;

      if (has_sym && W->symf == NULL)
        {
          W->post = g_new (double, w->n_max * I * O);
          W->symf = g_new (double, w->n_max * I * O);
          W->dsymf = g_new (double, w->n_max * I * O);
        }

      /* Wide layers as matrix products (kan-dense.c), layer 0 of few bases from its features,
       * the others edge by edge. */
      if (kan_dense_forward_layer (m, w, l, has_sym))
        ;
      else if (feat_wanted (m, L, w, l, has_sym))
        {
          if (!W->feat_valid)
            feat_build (m, L, W, w, n);
          feat_forward (m, L, W, w, n);
          W->post_alias = TRUE;
          W->feat_active = TRUE;
          W->spl_pending = TRUE;
          W->postnum_pending = TRUE;
        }
      else
        forward_layer_edges (m, L, W, w, n, has_sym, y_th);
      if (w->cancelled)
        return;

      /* Subnode affine, multiplication, node affine, row-contiguous per (sub)node. A node
       * of one subnode has y = zs (node_y reads zs): one pass. */
      {
        double *xnext = l + 1 < m->depth ? w->wl[l + 1].x : w->out;
        double *xc = l + 1 < m->depth ? w->wl[l + 1].xc : NULL;
        for (int q = 0; q < Q; q++)
          {
            double *y = W->y + (size_t) q * n, ns = L->node_scale[q], nb = L->node_bias[q];
            for (int j = L->group_start[q]; j < L->group_start[q + 1]; j++)
              {
                const double *restrict z = W->z + (size_t) j * n;
                double *restrict zs = W->zs + (size_t) j * n, ss = L->subnode_scale[j];
                double sb = L->subnode_bias[j];
                if (L->group_start[q + 1] - L->group_start[q] > 1)
                  for (size_t b = 0; b < n; b++)
                    zs[b] = ss * z[b] + sb;
                else if (xc != NULL)
                  for (size_t b = 0; b < n; b++)
                    {
                      double v = ss * z[b] + sb, u = ns * v + nb;
                      zs[b] = v;
                      xnext[b * Q + q] = u;
                      xc[(size_t) q * n + b] = u;
                    }
                else
                  for (size_t b = 0; b < n; b++)
                    {
                      double v = ss * z[b] + sb;
                      zs[b] = v;
                      xnext[b * Q + q] = ns * v + nb;
                    }
              }
            if (L->group_start[q + 1] - L->group_start[q] == 1)
              continue;
            for (size_t b = 0; b < n; b++)
              y[b] = 1.0;
            for (int s = L->group_start[q]; s < L->group_start[q + 1]; s++)
              {
                const double *zs = W->zs + (size_t) s * n;
                for (size_t b = 0; b < n; b++)
                  y[b] *= zs[b];
              }
            for (size_t b = 0; b < n; b++)
              xnext[b * Q + q] = ns * y[b] + nb;
            if (xc != NULL)
              for (size_t b = 0; b < n; b++)
                xc[(size_t) q * n + b] = ns * y[b] + nb;
          }
      }
    }
}

void
kan_model_forward (const KanModel *m,
                   KanWork        *w,
                   const double   *x,
                   size_t          n,
                   double          y_th,
                   double         *out)
{
  g_return_if_fail (m != NULL && w != NULL);
  g_return_if_fail (n <= w->n_max && (x != NULL || n == 0));
  kan_model_forward_layers (m, w, x, n, y_th, m->depth);
  if (out && !w->cancelled)
    memcpy (out, w->out, sizeof (double) * n * kan_model_n_out (m));
}

void
kan_model_eval (const KanModel *m,
                const double   *x,
                size_t          n,
                double         *out)
{
  size_t chunk;
  KanWork *w;
  int I, O;

  g_return_if_fail (m != NULL);
  g_return_if_fail ((x != NULL && out != NULL) || n == 0);
  /* Chunks keep the workspace small for many rows and wide models. */
  chunk = kan_work_chunk_rows (m, n, KAN_WORK_CHUNK_BYTES);
  w = kan_work_new (m, chunk);
  I = kan_model_n_in (m);
  O = kan_model_n_out (m);
  for (size_t s = 0; s < n; s += chunk)
    {
      size_t c = MIN (chunk, n - s);
      kan_work_input_changed (w);
      kan_model_forward (m, w, x + s * I, c, 0.0, out + s * O);
    }
  kan_work_free (w);
}

void
kan_model_edge_eval (const KanModel *m, int l, int i, int j,
                     const double *xs, size_t n, double *ys)
{
  const KanLayer *L;
  size_t e;
  const double *t, *a;

  g_return_if_fail (kan_model_has_edge (m, l, i, j));
  g_return_if_fail ((xs != NULL && ys != NULL) || n == 0);
  L = &m->layers[l];
  e = (size_t) i * L->n_out + j;
  t = kan_layer_knots (m, L, i);
  a = L->sym + e * 4;
  for (size_t s = 0; s < n; s++)
    {
      double d, v = 0.0;
      if (L->mask[e] != 0.0)
        v += L->mask[e] * (L->scale_base[e] * base_eval (m->base_fun, xs[s], &d)
                           + L->scale_sp[e] * kan_spline_eval (t, m->G, m->k,
                                                               L->coef + e * (m->G + m->k),
                                                               xs[s]));
      if (L->mask_sym[e] != 0.0)
        v += L->mask_sym[e] * (a[2] * kan_sym_eval (L->sym_fn[e], a[0] * xs[s] + a[1], 0.0, NULL)
                               + a[3]);
      ys[s] = v;
    }
}
