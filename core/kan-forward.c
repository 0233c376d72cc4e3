/* kan-forward.c — the forward pass: bases, edges, subnode and node affines, products; plus
 * evaluation without a workspace and the value of one edge.
 *
 * Shapes in comments: n rows (samples), I = n_in nodes of the layer, O = n_out subnodes,
 * Q = n_next nodes after multiplication, P = G+k bases, K1 = k+1 non-zero bases at a point.
 */
#include "kan-work-private.h"
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

/* Bases and base function of layer input W->x (n × I); K is a parameter so that the k = 3
 * call below is specialised by the compiler. */
G_ALWAYS_INLINE static inline void
forward_bases_k (const KanModel *m, const KanLayer *L, WorkLayer *W, KanWork *w, int k, size_t n)
{
  int I = L->n_in, K1 = k + 1, len = kan_spline_ext_len (m->G, k);
  for (size_t b0 = 0; b0 < n; b0 += KAN_WORK_BLOCK_ROWS)
    {
      size_t b1 = MIN (n, b0 + KAN_WORK_BLOCK_ROWS);
      if (kan_work_tick (w, (b1 - b0) * I))
        return;
      for (size_t b = b0; b < b1; b++)
        for (int i = 0; i < I; i++)
          {
            size_t bi = b * I + i;
            double xv = W->x[bi];
            const double *t = kan_layer_knots (m, L, i);
            const double *ext = W->ext + (size_t) i * len, *inv = W->inv + (size_t) i * k * len;
            if (k == 3)
              W->m0[bi] = kan_spline_basis_tab3 (t, ext, inv, m->G, xv, W->bas + bi * K1,
                                                 W->dbas + bi * K1);
            else
              W->m0[bi] = kan_spline_basis_tab (t, ext, inv, m->G, k, xv, W->bas + bi * K1,
                                                W->dbas + bi * K1);
            W->base[bi] = base_eval (m->base_fun, xv, &W->dbase[bi]);
          }
    }
}

static void
forward_bases (const KanModel *m, const KanLayer *L, WorkLayer *W, KanWork *w, int K1, size_t n)
{
  if (K1 == 4)
    forward_bases_k (m, L, W, w, 3, n);
  else
    forward_bases_k (m, L, W, w, K1 - 1, n);
}

/* Edges of one layer: post[b,i,j] = mask·(w_b·b(x) + w_s·spline(x)) + mask_s·(c·f(a·x+b)+d),
 * summed into the subnodes z. Edge by edge, so masks are tested once per edge; K1 is a parameter
 * so that the k = 3 call is unrolled. */
G_ALWAYS_INLINE static inline void
forward_edges (const KanModel *m, const KanLayer *L, WorkLayer *W, KanWork *w, size_t n, int K1,
               gboolean has_sym, gboolean need_dx, double y_th)
{
  int I = L->n_in, O = L->n_out, P = m->G + m->k;

  memset (W->z, 0, sizeof (double) * n * O);
  for (int i = 0; i < I; i++)
    for (int j = 0; j < O; j++)
      {
        size_t e = (size_t) i * O + j;
        const double *c = L->coef + e * P;
        double msk = L->mask[e], wb = msk * L->scale_base[e], ws = msk * L->scale_sp[e];
        gboolean sym = has_sym && L->mask_sym[e] != 0.0, numeric = msk != 0.0;

        if (kan_work_tick (w, n))
          return;

        for (size_t b = 0; b < n; b++)
          {
            size_t bi = b * I + i, bij = bi * O + j;
            int m0 = W->m0[bi];
            double sv = 0.0, ds = 0.0, pn;
            if (m0 >= 0)
              {
                const double *bas = W->bas + bi * K1;
                KAN_UNROLL
                for (int r = 0; r < K1; r++)
                  sv += c[m0 + r] * bas[r];
                /* Layer 0's inputs are data: nothing needs ∂/∂x there. */
                if (need_dx)
                  {
                    const double *dbas = W->dbas + bi * K1;
                    KAN_UNROLL
                    for (int r = 0; r < K1; r++)
                      ds += c[m0 + r] * dbas[r];
                  }
              }
            W->spl[bij] = sv;
            W->dspl[bij] = ds;
            /* A masked edge is exactly 0, whatever its (possibly stale) parameters hold. */
            pn = numeric ? wb * W->base[bi] + ws * sv : 0.0;
            W->postnum[bij] = pn;
            W->post[bij] = pn;
            W->z[b * O + j] += pn;
          }
        if (sym)
          {
            const double *a = L->sym + e * 4;
            double ms = L->mask_sym[e];
            for (size_t b = 0; b < n; b++)
              {
                size_t bi = b * I + i, bij = bi * O + j;
                double f = kan_sym_eval (L->sym_fn[e], a[0] * W->x[bi] + a[1], y_th,
                                         &W->dsymf[bij]);
                double ps = ms * (a[2] * f + a[3]);
                W->symf[bij] = f;
                W->post[bij] += ps;
                W->z[b * O + j] += ps;
              }
          }
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
              forward_bases (m, L, W, w, K1, n);
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
        forward_bases (m, L, W, w, K1, n);
      if (w->cancelled)
        return;

      if (has_sym && W->symf == NULL)
        {
          W->symf = g_new (double, w->n_max * I * O);
          W->dsymf = g_new (double, w->n_max * I * O);
        }

      if (K1 == 4)
        forward_edges (m, L, W, w, n, 4, has_sym, l > 0, y_th);
      else
        forward_edges (m, L, W, w, n, K1, has_sym, l > 0, y_th);
      if (w->cancelled)
        return;

      /* Subnode affine, multiplication, node affine. */
      {
        double *xnext = l + 1 < m->depth ? w->wl[l + 1].x : w->out;
        for (size_t b = 0; b < n; b++)
          {
            const double *z = W->z + b * O;
            double *zs = W->zs + b * O, *y = W->y + b * Q, *xn = xnext + b * Q;
            for (int j = 0; j < O; j++)
              zs[j] = L->subnode_scale[j] * z[j] + L->subnode_bias[j];
            for (int q = 0; q < Q; q++)
              {
                double prod = 1.0;
                for (int s = L->group_start[q]; s < L->group_start[q + 1]; s++)
                  prod *= zs[s];
                y[q] = prod;
                xn[q] = L->node_scale[q] * prod + L->node_bias[q];
              }
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
