/* kan-grid.c — pykan's grid operations: updating the knots from data, refining to a finer grid. */
#include "kan-work-private.h"
#include "kan-spline.h"
#include "kan-spline-private.h"
#include "kan-grid-private.h"
#include "kan-error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------------------------ */
/* Grids                                                                                       */

/* Sorts the N values of A in place (TMP has room for N) by merging halves, as glibc's qsort
 * does: stable. */
static void
merge_sort (double *a, double *tmp, size_t n)
{
  size_t n1 = n / 2, i = 0, j = n1, o = 0;

  if (n < 2)
    return;
  merge_sort (a, tmp, n1);
  merge_sort (a + n1, tmp, n - n1);
  /* Ties take the left half's value first. */
  while (i < n1 && j < n)
    tmp[o++] = a[j] < a[i] ? a[j++] : a[i++];
  while (i < n1)
    tmp[o++] = a[i++];
  memcpy (a, tmp, sizeof (double) * o);
}

/* Buckets of sort_values that insertion sorts; larger ones are merge sorted. */
#define SORT_SMALL_BUCKET 32

/* Points whose old bases spline_values computes at once. */
#define VALUES_BLOCK 64

/* Sorts the N finite values of A, which lie in [LO, HI], in place; TMP (N values) and COUNT
 * (N+1) are scratch. Stable, so the result is the one qsort gave (glibc's is a stable merge
 * sort; -0.0 and +0.0 stay in their order): the values go into N buckets of equal width, in
 * their order (a bucket's index never decreases with the value, and equal values share one),
 * and each bucket is sorted stably. A grid update's columns are spread out, so most buckets
 * hold one or two values: about 8 times faster than qsort, which mispredicts the branch of
 * every comparison; concentrated values cost at most a merge sort. */
static void
sort_values (double *a, double *tmp, size_t *count, double lo, double hi, size_t n)
{
  double span = hi - lo, scale = (double) n / span;

  if (n < 2)
    return;
  if (!(span > 0) || !isfinite (span) || !isfinite (scale))
    {
      merge_sort (a, tmp, n);
      return;
    }
  memset (count, 0, sizeof (size_t) * (n + 1));
  for (size_t q = 0; q < n; q++)
    count[MIN ((size_t) ((a[q] - lo) * scale), n - 1) + 1]++;
  for (size_t b = 0; b < n; b++)
    count[b + 1] += count[b];
  for (size_t q = 0; q < n; q++)
    tmp[count[MIN ((size_t) ((a[q] - lo) * scale), n - 1)]++] = a[q];
  /* count[b] is now the end of bucket b. */
  for (size_t b = 0, start = 0; b < n; start = count[b++])
    {
      size_t end = count[b];
      if (end - start > SORT_SMALL_BUCKET)
        merge_sort (tmp + start, a, end - start);
      else
        for (size_t q = start + 1; q < end; q++)
          {
            double v = tmp[q];
            size_t j = q;
            for (; j > start && v < tmp[j - 1]; j--)
              tmp[j] = tmp[j - 1];
            tmp[j] = v;
          }
    }
  memcpy (a, tmp, sizeof (double) * n);
}

/* The splines of input I with knots T (G intervals) and coefficients COEF (O outputs, G+k
 * each) at the N points XS into YV (n × O): the k+1 bases once per point for every output,
 * each sum as kan_spline_eval forms it (the same bits). */
static void
spline_values (const double *t, int G, int k, const double *coef, int O, const double *xs,
               size_t n, double *yv)
{
  int P = G + k, K1 = k + 1;
  double bas[VALUES_BLOCK * (KAN_SPLINE_MAX_K + 1)];
  int m0s[VALUES_BLOCK];

  for (size_t s0 = 0; s0 < n; s0 += VALUES_BLOCK)
    {
      size_t nb = MIN ((size_t) VALUES_BLOCK, n - s0);
      kan_spline_basis_many (t, G, k, xs + s0, nb, m0s, bas);
      for (size_t s = s0; s < s0 + nb; s++)
        {
          int m0 = m0s[s - s0];
          const double *b = bas + (s - s0) * K1;
          for (int j = 0; j < O; j++)
            {
              const double *c = coef + (size_t) j * P;
              double y = 0.0;
              if (m0 >= 0)
                for (int r = 0; r <= k; r++)
                  y += c[m0 + r] * b[r];
              yv[s * O + j] = y;
            }
        }
    }
}

/* Refits the splines of input I of layer L on new interior knots NEW_INTERIOR (G+1 values) so
 * that they match the old splines at the samples XS (n, sorted or not). TNEW (G+2k+1), YV
 * (n × n_out) and C (n_out × (G+k)) are scratch. */
static gboolean
refit_input (KanModel *m, KanLayer *L, int i, const double *new_interior,
             const double *xs, size_t n, double *tnew, double *yv, double *c, GError **error)
{
  int G = m->G, k = m->k, P = G + k, O = L->n_out, T = G + 2 * k + 1;
  double *t = kan_layer_knots (m, L, i);
  gboolean ok;

  spline_values (t, G, k, L->coef + (size_t) i * O * P, O, xs, n, yv);
  memcpy (tnew + k, new_interior, sizeof (double) * (G + 1));
  kan_knots_extend (tnew, G, k);
  ok = kan_spline_fit (tnew, G, k, xs, yv, n, O, c, error);
  if (ok)
    {
      memcpy (t, tnew, sizeof (double) * T);
      for (int j = 0; j < O; j++)
        memcpy (L->coef + ((size_t) i * O + j) * P, c + (size_t) j * P, sizeof (double) * P);
    }
  return ok;
}

/* Inputs of layer L of M for the N rows of X into XL (n × layer_in(L)), a chunk of rows at a
 * time through W (made for CHUNK rows). FALSE if W's cancellable fired. */
static gboolean
layer_inputs (const KanModel *m, KanWork *w, size_t chunk, int l, const double *x, size_t n,
              double *xl)
{
  int I0 = m->layers[0].n_in, I = m->layers[l].n_in;

  if (l == 0)
    {
      memcpy (xl, x, sizeof (double) * n * I0);
      return !(w->cancellable && g_cancellable_is_cancelled (w->cancellable));
    }
  for (size_t s = 0; s < n; s += chunk)
    {
      size_t c = MIN (chunk, n - s);
      kan_work_input_changed (w);
      kan_model_forward_layers (m, w, x + s * I0, c, 0.0, l);
      if (w->cancelled)
        return FALSE;
      memcpy (xl + s * I, w->wl[l].x, sizeof (double) * c * I);
    }
  return TRUE;
}

/* The most inputs (OUT = FALSE) or subnode outputs of any layer. */
static int
max_layer_width (const KanModel *m, gboolean out)
{
  int v = 1;
  for (int l = 0; l < m->depth; l++)
    v = MAX (v, out ? m->layers[l].n_out : m->layers[l].n_in);
  return v;
}

/* Bytes of the grid operations on N rows at G intervals: a chunk workspace, one layer's
 * inputs, a sorted column with its scratch and bucket counts, the old splines' values, the new
 * coefficients, knots and the fit. */
static double
grid_op_bytes (const KanModel *m, int G, size_t n)
{
  double I = max_layer_width (m, FALSE), O = max_layer_width (m, TRUE), P = (double) G + m->k;
  size_t chunk = kan_work_chunk_rows (m, n, KAN_WORK_CHUNK_BYTES);

  return (double) kan_work_bytes (m, chunk)
         + ((double) n * (I + 2 + O) + O * P + 2.0 * (G + 2 * m->k + 3)) * sizeof (double)
         + ((double) n + 1) * sizeof (size_t)
         + (double) kan_spline_fit_bytes (G, m->k, n, (int) O);
}

gsize
kan_model_update_grid_bytes (const KanModel *m,
                             size_t          n)
{
  double b;

  g_return_val_if_fail (m != NULL, G_MAXSIZE);
  b = grid_op_bytes (m, m->G, n);
  return b >= (double) G_MAXSIZE ? G_MAXSIZE : (gsize) b;
}

static gboolean
set_cancelled (GError **error, const char *what)
{
  g_set_error (error, KAN_ERROR, KAN_ERROR_CANCELLED, "%s was stopped", what);
  return FALSE;
}

gboolean
kan_model_update_grid (KanModel     *m,
                       const double *x,
                       size_t        n,
                       GError      **error)
{
  return kan_model_update_grid_full (m, x, n, NULL, error);
}

/* The grid update of kan_model_update_grid_full through the workspace W (made for M and for
 * CHUNK rows at a time). */
static gboolean
update_grid (KanModel     *m,
             KanWork      *w,
             size_t        chunk,
             const double *x,
             size_t        n,
             GCancellable *cancellable,
             GError      **error)
{
  double *xl, *xs, *tmp, *interior, *tnew, *yv, *c;
  size_t *count;
  gboolean ok = TRUE;
  int G = m->G, O = max_layer_width (m, TRUE);

  if (n < 2)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_DATA, "a grid update needs at least two samples");
      return FALSE;
    }
  xl = g_new (double, n * max_layer_width (m, FALSE));
  xs = g_new (double, n);
  tmp = g_new (double, n);
  count = g_new (size_t, n + 1);
  interior = g_new (double, G + 1);
  tnew = g_new (double, G + 2 * m->k + 1);
  yv = g_new (double, n * O);
  c = g_new (double, (size_t) O * (G + m->k));
  for (int l = 0; l < m->depth && ok; l++)
    {
      KanLayer *L = &m->layers[l];
      if (!layer_inputs (m, w, chunk, l, x, n, xl))
        {
          ok = set_cancelled (error, "the grid update");
          break;
        }
      for (int i = 0; i < L->n_in && ok; i++)
        {
          gboolean finite = TRUE;
          double lo = INFINITY, hi = -INFINITY;
          if (cancellable && g_cancellable_is_cancelled (cancellable))
            {
              ok = set_cancelled (error, "the grid update");
              break;
            }
          for (size_t s = 0; s < n; s++)
            {
              double v = xl[s * L->n_in + i];
              xs[s] = v;
              finite = finite && isfinite (v);
              lo = MIN (lo, v);
              hi = MAX (hi, v);
            }
          /* A constant or non-finite input (a dead node) keeps its grid. */
          if (!finite || !(hi > lo))
            continue;
          sort_values (xs, tmp, count, lo, hi, n);
          for (int q = 0; q <= G; q++)
            {
              size_t id = q < G ? (size_t) floor ((double) n / G * q) : n - 1;
              double uni = lo + (hi - lo) / G * q;
              interior[q] = m->grid_eps * uni + (1.0 - m->grid_eps) * xs[id];
            }
          /* Both mixtures agree at the ends; keep them exact so the samples lie inside. */
          interior[0] = lo;
          interior[G] = hi;
          ok = refit_input (m, L, i, interior, xs, n, tnew, yv, c, error);
        }
      kan_model_grid_changed (m);
    }
  g_free (c);
  g_free (yv);
  g_free (tnew);
  g_free (interior);
  g_free (count);
  g_free (tmp);
  g_free (xs);
  g_free (xl);
  return ok;
}

gboolean
kan_model_update_grid_full (KanModel     *m,
                            const double *x,
                            size_t        n,
                            GCancellable *cancellable,
                            GError      **error)
{
  KanWork *w;
  size_t chunk;
  gboolean ok;

  g_return_val_if_fail (m != NULL && (x != NULL || n == 0), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  chunk = kan_work_chunk_rows (m, MAX (n, 1), KAN_WORK_CHUNK_BYTES);
  w = kan_work_new (m, chunk);
  kan_work_set_cancellable (w, cancellable);
  ok = update_grid (m, w, chunk, x, n, cancellable, error);
  kan_work_free (w);
  return ok;
}

gboolean
kan_model_update_grid_work (KanModel     *m,
                            KanWork      *w,
                            const double *x,
                            size_t        n,
                            GCancellable *cancellable,
                            GError      **error)
{
  g_return_val_if_fail (m != NULL && w != NULL && w->n_max > 0, FALSE);
  g_return_val_if_fail (x != NULL || n == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  return update_grid (m, w, w->n_max, x, n, cancellable, error);
}

KanModel *
kan_model_refine (const KanModel *m,
                  int             new_grid,
                  const double   *x,
                  size_t          n,
                  GError        **error)
{
  return kan_model_refine_full (m, new_grid, x, n, NULL, error);
}

KanModel *
kan_model_refine_full (const KanModel *m,
                       int             new_grid,
                       const double   *x,
                       size_t          n,
                       GCancellable   *cancellable,
                       GError        **error)
{
  KanModelConfig cfg;
  KanModel *c;
  KanWork *w;
  double *xl;
  size_t chunk;
  int Gp, k;

  g_return_val_if_fail (m != NULL && (x != NULL || n == 0), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  Gp = m->G;
  k = m->k;
  if (n < 1)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_DATA, "refining the grid needs samples");
      return NULL;
    }
  kan_model_get_config (m, &cfg);
  cfg.grid = new_grid;
  c = kan_model_alloc (&cfg, error);
  if (c == NULL)
    return NULL;

  /* The parent's layer inputs, a layer and a chunk of rows at a time. */
  chunk = kan_work_chunk_rows (m, n, KAN_WORK_CHUNK_BYTES);
  w = kan_work_new (m, chunk);
  kan_work_set_cancellable (w, cancellable);
  xl = g_new (double, n * max_layer_width (m, FALSE));
  for (int l = 0; l < m->depth; l++)
    {
      const KanLayer *Lp = &m->layers[l];
      KanLayer *Lc = &c->layers[l];
      int I = Lp->n_in, O = Lp->n_out, Pc = new_grid + k, Pp = Gp + k;
      size_t E = (size_t) I * O;
      double *xs = g_new (double, n), *yv = g_new (double, n * O);
      double *coef = g_new (double, (size_t) O * Pc);

      if (!layer_inputs (m, w, chunk, l, x, n, xl))
        {
          g_free (xs); g_free (yv); g_free (coef); g_free (xl);
          kan_work_free (w);
          kan_model_free (c);
          set_cancelled (error, "refining the grid");
          return NULL;
        }
      for (int i = 0; i < I; i++)
        {
          const double *tp = kan_layer_knots (m, Lp, i);
          double *tc = kan_layer_knots (c, Lc, i);
          double smin = INFINITY, smax = -INFINITY;
          for (size_t s = 0; s < n; s++)
            {
              double v = xl[s * I + i];
              smin = MIN (smin, v);
              smax = MAX (smax, v);
            }
          {
            /* New interior knots interpolate anchor knots piecewise-linearly (anchor q at
             * q/(n_anchor-1), child knot r at r/G'). The anchors are the parent's interior knots
             * (pykan's rule: an integer ratio G'/Gp nests the grids and the refit is exact) or,
             * when training moved the inputs past them, the parent knots that span the samples,
             * widened to the samples (pykan keeps the parent's range and loses the function
             * outside it). */
            int last = Gp + 2 * k, lo = k, hi = k + Gp, n_anchor = 0;
            double *anchor = g_new (double, last + 3);
            if (!(smin >= tp[k] && smax <= tp[k + Gp]) && smax > smin)
              {
                lo = 0;
                while (lo < last && tp[lo + 1] <= smin)
                  lo++;
                hi = last;
                while (hi > 0 && tp[hi - 1] >= smax)
                  hi--;
                if (smin < tp[lo])
                  anchor[n_anchor++] = smin;
              }
            for (int q = lo; q <= hi; q++)
              anchor[n_anchor++] = tp[q];
            if (hi == last && smax > tp[last])
              anchor[n_anchor++] = smax;
            for (int r = 0; r <= new_grid; r++)
              {
                double pos = (double) r / new_grid * (n_anchor - 1);
                int q = MIN ((int) floor (pos), n_anchor - 2);
                double f = pos - q;
                tc[k + r] = (1 - f) * anchor[q] + f * anchor[q + 1];
              }
            tc[k] = anchor[0];
            tc[k + new_grid] = anchor[n_anchor - 1];
            g_free (anchor);
          }
          kan_knots_extend (tc, new_grid, k);

          for (size_t s = 0; s < n; s++)
            xs[s] = xl[s * I + i];
          spline_values (tp, Gp, k, Lp->coef + (size_t) i * O * Pp, O, xs, n, yv);
          if ((cancellable && g_cancellable_is_cancelled (cancellable)
               && !set_cancelled (error, "refining the grid"))
              || !kan_spline_fit (tc, new_grid, k, xs, yv, n, O, coef, error))
            {
              g_free (xs); g_free (yv); g_free (coef); g_free (xl);
              kan_work_free (w);
              kan_model_free (c);
              return NULL;
            }
          for (int j = 0; j < O; j++)
            memcpy (Lc->coef + ((size_t) i * O + j) * Pc, coef + (size_t) j * Pc,
                    sizeof (double) * Pc);
        }
      memcpy (Lc->scale_base, Lp->scale_base, sizeof (double) * E);
      memcpy (Lc->scale_sp, Lp->scale_sp, sizeof (double) * E);
      memcpy (Lc->sym, Lp->sym, sizeof (double) * E * 4);
      memcpy (Lc->mask, Lp->mask, sizeof (double) * E);
      memcpy (Lc->mask_sym, Lp->mask_sym, sizeof (double) * E);
      memcpy (Lc->sym_fn, Lp->sym_fn, sizeof (int) * E);
      memcpy (Lc->subnode_scale, Lp->subnode_scale, sizeof (double) * O);
      memcpy (Lc->subnode_bias, Lp->subnode_bias, sizeof (double) * O);
      memcpy (Lc->node_scale, Lp->node_scale, sizeof (double) * Lp->n_next);
      memcpy (Lc->node_bias, Lp->node_bias, sizeof (double) * Lp->n_next);
      g_free (xs);
      g_free (yv);
      g_free (coef);
    }
  g_free (xl);
  kan_work_free (w);
  return c;
}
