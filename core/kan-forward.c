/* kan-forward.c — the forward pass: bases, edges, subnode and node affines, products; plus
 * evaluation without a workspace and the value of one edge.
 *
 * Shapes in comments: n rows (samples), I = n_in nodes of the layer, O = n_out subnodes,
 * Q = n_next nodes after multiplication, P = G+k bases, K1 = k+1 non-zero bases at a point.
 */
#include "kan-work-private.h"
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

/* Base function of N values: BX holds x on entry and b(x) on return, DB gets b'(x). SiLU in
 * two passes: the scalar exp calls, then the divisions and products, which the compiler
 * vectorises. */
static void
base_block (KanBaseFun f, double *restrict bx, double *restrict db, size_t n)
{
  switch (f)
    {
    case KAN_BASE_SILU:
      for (size_t s = 0; s < n; s++)
        db[s] = exp (-bx[s]);
      for (size_t s = 0; s < n; s++)
        {
          double xv = bx[s], sg = 1.0 / (1.0 + db[s]);
          db[s] = sg * (1.0 + xv * (1.0 - sg));
          bx[s] = xv * sg;
        }
      break;
    case KAN_BASE_IDENTITY:
    case KAN_BASE_ZERO:
    default:
      for (size_t s = 0; s < n; s++)
        bx[s] = base_eval (f, bx[s], &db[s]);
      break;
    }
}

/* Bases and base function of layer input W->x (n × I), input node by input node into the
 * sample-major arrays (I × n); derivatives of the bases only if NEED_D. K is a parameter so
 * that the k = 3 call below is specialised by the compiler. Outside the grid m0 is 0 and the
 * bases are 0, so the edge loops need no branch. */
KAN_HOT_INLINE void
forward_bases_k (const KanModel *m, const KanLayer *L, WorkLayer *W, KanWork *w, int k, size_t n,
                 gboolean need_d)
{
  int I = L->n_in, K1 = k + 1, len = kan_spline_ext_len (m->G, k);
  for (int i = 0; i < I; i++)
    {
      const double *t = kan_layer_knots (m, L, i);
      const double *ext = W->ext + (size_t) i * len, *inv = W->inv + (size_t) i * k * len;
      int *m0 = W->m0 + (size_t) i * n;
      double *bas = W->bas + (size_t) i * n * K1, *dbas = W->dbas + (size_t) i * n * K1;
      double *base = W->base + (size_t) i * n, *dbase = W->dbase + (size_t) i * n;
      for (size_t b0 = 0; b0 < n; b0 += KAN_WORK_BLOCK_ROWS)
        {
          size_t b1 = MIN (n, b0 + KAN_WORK_BLOCK_ROWS);
          if (kan_work_tick (w, b1 - b0))
            return;
          for (size_t b = b0; b < b1; b++)
            base[b] = W->x[b * I + i];
          if (k == 3)
            kan_spline_basis_block3 (t, ext, inv, m->G, base + b0, b1 - b0, m0 + b0,
                                     bas + b0 * K1, need_d ? dbas + b0 * K1 : NULL);
          else
            for (size_t b = b0; b < b1; b++)
              m0[b] = MAX (0, kan_spline_basis_tab (t, ext, inv, m->G, k, base[b], bas + b * K1,
                                                    need_d ? dbas + b * K1 : NULL));
          base_block (m->base_fun, base + b0, dbase + b0, b1 - b0);
        }
    }
}

static void
forward_bases (const KanModel *m, const KanLayer *L, WorkLayer *W, KanWork *w, int K1, size_t n,
               gboolean need_d)
{
  if (K1 == 4)
    forward_bases_k (m, L, W, w, 3, n, need_d);
  else
    forward_bases_k (m, L, W, w, K1 - 1, n, need_d);
}

/* The numeric part of edge E over the rows: SPL = spline(x) and
 * postnum[b,i,j] = mask·(w_b·b(x) + w_s·spline(x)), added into the subnode sums Z
 * (row-contiguous). One pass over the input node's sample-major
 * bases; K1 a constant after inlining. */
KAN_HOT_INLINE void
edge_numeric (const int *restrict m0, const double *restrict bas, const double *restrict base,
              const double *restrict c, double wb, double ws, size_t n, int K1,
              double *restrict spl, double *restrict pnum, size_t stride, double *restrict z)
{
  for (size_t b = 0; b < n; b++)
    {
      const double *bb = bas + b * K1, *cc = c + m0[b];
      double sv = 0.0, pn;
      KAN_UNROLL
      for (int r = 0; r < K1; r++)
        sv += cc[r] * bb[r];
      spl[b] = sv;
      pn = wb * base[b] + ws * sv;
      pnum[b * stride] = pn;
      z[b] += pn;
    }
}

/* Edges of one layer: post[b,i,j] = mask·(w_b·b(x) + w_s·spline(x)) + mask_s·(c·f(a·x+b)+d),
 * summed into the subnodes z. Edge by edge, each a pass over the rows, so masks are tested
 * once per edge; K1 is a parameter so that the k = 3 call is unrolled. The spline derivatives
 * are left to the backward pass, which computes them from the bases. */
KAN_HOT_INLINE void
forward_edges (const KanModel *m, const KanLayer *L, WorkLayer *W, KanWork *w, size_t n, int K1,
               gboolean has_sym, double y_th)
{
  int I = L->n_in, O = L->n_out, P = m->G + m->k;
  size_t IO = (size_t) I * O;

  memset (W->z, 0, sizeof (double) * n * O);
  W->post_alias = !has_sym;
  for (int i = 0; i < I; i++)
    for (int j = 0; j < O; j++)
      {
        size_t e = (size_t) i * O + j;
        double msk = L->mask[e], *z = W->z + (size_t) j * n, *pnum = W->postnum + e;

        if (kan_work_tick (w, n))
          return;

        /* A masked edge is exactly 0, whatever its (possibly stale) parameters hold. */
        if (msk != 0.0)
          edge_numeric (W->m0 + (size_t) i * n, W->bas + (size_t) i * n * K1,
                        W->base + (size_t) i * n, L->coef + e * P, msk * L->scale_base[e],
                        msk * L->scale_sp[e], n, K1, W->spl + e * n, pnum, IO, z);
        else
          for (size_t b = 0; b < n; b++)
            {
              pnum[b * IO] = 0.0;
              z[b] += 0.0;
            }
        if (!has_sym)
          continue;
        if (L->mask_sym[e] != 0.0)
          {
            const double *a = L->sym + e * 4;
            double ms = L->mask_sym[e], *symf = W->symf + e * n, *dsymf = W->dsymf + e * n;
            for (size_t b = 0; b < n; b++)
              {
                double f = kan_sym_eval (L->sym_fn[e], a[0] * W->x[b * I + i] + a[1], y_th,
                                         &dsymf[b]);
                double ps = ms * (a[2] * f + a[3]);
                symf[b] = f;
                W->post[b * IO + e] = pnum[b * IO] + ps;
                z[b] += ps;
              }
          }
        else
          for (size_t b = 0; b < n; b++)
            W->post[b * IO + e] = pnum[b * IO];
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

      if (K1 == 4)
        forward_edges (m, L, W, w, n, 4, has_sym, y_th);
      else
        forward_edges (m, L, W, w, n, K1, has_sym, y_th);
      if (w->cancelled)
        return;

      /* Subnode affine, multiplication, node affine, row-contiguous per (sub)node. */
      {
        double *xnext = l + 1 < m->depth ? w->wl[l + 1].x : w->out;
        for (int j = 0; j < O; j++)
          {
            const double *z = W->z + (size_t) j * n;
            double *zs = W->zs + (size_t) j * n, ss = L->subnode_scale[j];
            double sb = L->subnode_bias[j];
            for (size_t b = 0; b < n; b++)
              zs[b] = ss * z[b] + sb;
          }
        for (int q = 0; q < Q; q++)
          {
            double *y = W->y + (size_t) q * n, ns = L->node_scale[q], nb = L->node_bias[q];
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
