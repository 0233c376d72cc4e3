/* kan-work.c — workspaces for the passes over data: allocation, sizes, cancellation, traces. */
#include "kan-work-private.h"
#include "kan-dense-private.h"
#include "kan-spline.h"

#include <math.h>

/* Most rows of one chunk of kan_model_eval and of the grid operations. */
#define KAN_WORK_CHUNK_ROWS  4096

/* ------------------------------------------------------------------------------------------ */
/* Workspace                                                                                   */

gsize
kan_work_bytes (const KanModel *m,
                size_t          n_max)
{
  /* Counted in doubles, as kan_work_new allocates them (ints count as a double), plus the
   * arrays forward adds for layers with locked edges (post, symf, dsymf), the matrix path's
   * (kan-dense.c) and the structs. */
  double n, K1, ext, wmax = 1, total = 0;

  g_return_val_if_fail (m != NULL, G_MAXSIZE);
  n = (double) MAX (n_max, 1);
  K1 = m->k + 1;
  ext = kan_spline_ext_len (m->G, m->k);
  for (int l = 0; l < m->depth; l++)
    {
      const KanLayer *L = &m->layers[l];
      double I = L->n_in, O = L->n_out, Q = L->n_next;
      total += n * (I * (7 + 2 * K1 + (l > 0)) + 2 * I * O + 2 * O + Q)
               + 2 * I * O + 2 * I + I * ext * (1 + MAX (m->k, 1)) + I * (m->G + 1);
      if (kan_layer_has_symbolic (L))
        total += 3 * n * I * O;
      if (l == 0 && m->G + m->k + 1 <= KAN_FEAT_MAX_COLS)
        total += n * I * (m->G + m->k + 1);
      wmax = MAX (wmax, MAX (I, MAX (O, Q)));
    }
  total += n * m->layers[m->depth - 1].n_next + 3 * wmax + 3 * n * wmax + m->G + m->k
           + n * (6 + 2 * K1) + (KAN_WORK_SORT_SLICES + 1) * (m->G + 8);
  total += kan_dense_doubles (m, n);
  total = total * sizeof (double) + sizeof (KanWork) + m->depth * sizeof (WorkLayer);
  return total >= (double) G_MAXSIZE ? G_MAXSIZE : (gsize) total;
}

size_t
kan_work_chunk_rows (const KanModel *m,
                     size_t          n,
                     gsize           max_bytes)
{
  double fixed, per_row, rows;

  g_return_val_if_fail (m != NULL, 1);
  fixed = (double) kan_work_bytes (m, 1) - ((double) kan_work_bytes (m, 2)
                                            - (double) kan_work_bytes (m, 1));
  per_row = (double) kan_work_bytes (m, 2) - (double) kan_work_bytes (m, 1);
  rows = ((double) max_bytes - fixed) / MAX (per_row, 1.0);
  rows = MIN (rows, (double) KAN_WORK_CHUNK_ROWS);
  return (size_t) MAX (1.0, MIN ((double) MAX (n, 1), floor (rows)));
}

KanWork *
kan_work_new (const KanModel *m,
              size_t          n_max)
{
  KanWork *w;
  int K1, wmax = 1;

  g_return_val_if_fail (m != NULL, NULL);
  g_return_val_if_fail (n_max <= (size_t) G_MAXINT, NULL);   /* row positions are ints */
  w = g_new0 (KanWork, 1);
  K1 = m->k + 1;
  w->depth = m->depth;
  w->n_max = n_max;
  w->K1 = K1;
  w->wl = g_new0 (WorkLayer, m->depth);
  for (int l = 0; l < m->depth; l++)
    {
      const KanLayer *L = &m->layers[l];
      WorkLayer *W = &w->wl[l];
      size_t I = L->n_in, O = L->n_out, Q = L->n_next;
      W->x = g_new (double, n_max * I);
      W->xc = l > 0 ? g_new (double, n_max * I) : NULL;
      W->perm = g_new (int, n_max * I);
      W->pos = g_new (int, n_max * I);
      W->runs = g_new (int, (m->G + 1) * I);
      W->m0 = g_new (int, n_max * I);
      W->xs = g_new (double, n_max * I);
      W->bas = g_new (double, n_max * I * K1);
      W->dbas = g_new (double, n_max * I * K1);
      W->base = g_new (double, n_max * I);
      W->dbase = g_new (double, n_max * I);
      W->post_alias = TRUE;
      W->postnum = g_new (double, n_max * I * O);
      W->spl = g_new (double, n_max * I * O);
      W->z = g_new (double, n_max * O);
      W->zs = g_new (double, n_max * O);
      W->y = g_new (double, n_max * Q);
      W->alpha = g_new0 (double, I * O);
      W->mean_p = g_new0 (double, I * O);
      W->beta = g_new0 (double, I);
      W->mean_x = g_new0 (double, I);
      W->ext = g_new (double, I * kan_spline_ext_len (m->G, m->k));
      W->inv = g_new (double, I * MAX (m->k, 1) * kan_spline_ext_len (m->G, m->k));
      wmax = MAX (wmax, (int) MAX (I, MAX (O, Q)));
    }
  w->out = g_new (double, n_max * m->layers[m->depth - 1].n_next);
  w->g_a = g_new (double, wmax);
  w->g_b = g_new (double, wmax);
  w->g_c = g_new (double, wmax);
  w->gb1 = g_new (double, n_max * wmax);
  w->gb2 = g_new (double, n_max * wmax);
  w->gzb = g_new (double, n_max * wmax);
  w->gcl = g_new (double, m->G + m->k);
  w->t_bas = g_new (double, n_max * K1);
  w->t_dbas = g_new (double, n_max * K1);
  w->t_col = g_new (double, n_max);
  w->t_gm = g_new (double, n_max);
  w->t_gxs = g_new (double, n_max);
  w->t_gs = g_new (double, n_max);
  w->t_next = g_new (int, KAN_WORK_SORT_SLICES * (m->G + 8));
  w->t_kst = g_new (int, m->G + 8);
  w->t_key = g_new (int, n_max);
  w->t_cnt = g_new (gint64, n_max);
  return w;
}

void
kan_work_free (KanWork *w)
{
  if (w == NULL)
    return;
  for (int l = 0; l < w->depth; l++)
    {
      WorkLayer *W = &w->wl[l];
      g_free (W->x); g_free (W->xc); g_free (W->perm); g_free (W->pos); g_free (W->runs);
      g_free (W->m0);
      g_free (W->xs); g_free (W->bas); g_free (W->dbas); g_free (W->base); g_free (W->dbase);
      g_free (W->spl);
      g_free (W->post); g_free (W->postnum); g_free (W->symf); g_free (W->dsymf);
      g_free (W->z); g_free (W->zs); g_free (W->y);
      g_free (W->alpha); g_free (W->mean_p); g_free (W->beta); g_free (W->mean_x);
      g_free (W->ext); g_free (W->inv); g_free (W->feat);
    }
  g_free (w->wl);
  kan_dense_free (w->dense);
  g_free (w->out);
  g_free (w->g_a);
  g_free (w->g_b);
  g_free (w->g_c);
  g_free (w->gb1);
  g_free (w->gb2);
  g_free (w->gzb);
  g_free (w->gcl);
  g_free (w->t_bas);
  g_free (w->t_dbas);
  g_free (w->t_col);
  g_free (w->t_gm);
  g_free (w->t_gxs);
  g_free (w->t_gs);
  g_free (w->t_next);
  g_free (w->t_kst);
  g_free (w->t_key);
  g_free (w->t_cnt);
  g_free (w);
}

void
kan_work_input_changed (KanWork *w)
{
  g_return_if_fail (w != NULL);
  w->cache_valid = FALSE;
}

void
kan_work_set_cancellable (KanWork      *w,
                          GCancellable *cancellable)
{
  g_return_if_fail (w != NULL);
  w->cancellable = cancellable;
  w->cancelled = FALSE;
  w->ticks = 0;
}

gboolean
kan_work_cancelled (const KanWork *w)
{
  g_return_val_if_fail (w != NULL, FALSE);
  return w->cancelled;
}

const double *
kan_work_layer_input (const KanWork *w, int l)
{
  g_return_val_if_fail (w != NULL && l >= 0 && l < w->depth, NULL);
  return w->wl[l].x;
}

const double *
kan_work_edge_output (const KanWork *w, int l)
{
  g_return_val_if_fail (w != NULL && l >= 0 && l < w->depth, NULL);
  kan_dense_edges ((KanWork *) w);   /* a cache of the last forward, written on demand */
  return w->wl[l].post_alias ? w->wl[l].postnum : w->wl[l].post;
}

size_t
kan_work_rows (const KanWork *w)
{
  g_return_val_if_fail (w != NULL, 0);
  return w->n;
}
