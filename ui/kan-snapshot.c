/* kan-snapshot.c — an immutable picture of a model for drawing.
 *
 * Built on the worker thread every few tens of milliseconds while training, so it does one
 * scored pass and one traced forward over at most KAN_SNAPSHOT_MAX_ROWS rows (evenly spaced
 * when the data set is larger) and evaluates each edge on KAN_SNAPSHOT_CURVE_POINTS points.
 */
#include "kan-snapshot.h"

#include <math.h>
#include <string.h>

/* Of a degenerate range (constant input, flat curve), half the width it is widened to, relative
 * to its size (or absolute when the value is 0). */
#define RANGE_PAD_REL 0.05
#define RANGE_PAD_ABS 0.5

/* The rows of X used for scores and traces: all of them up to KAN_SNAPSHOT_MAX_ROWS, else an
 * evenly spaced subset copied into *OWN. */
static const double *
pick_rows (const double *x,
           size_t        n,
           int           n_in,
           size_t       *n_used,
           double      **own)
{
  *own = NULL;
  if (n <= KAN_SNAPSHOT_MAX_ROWS)
    {
      *n_used = n;
      return x;
    }
  *own = g_new (double, (size_t) KAN_SNAPSHOT_MAX_ROWS * n_in);
  for (size_t r = 0; r < KAN_SNAPSHOT_MAX_ROWS; r++)
    {
      size_t b = r * n / KAN_SNAPSHOT_MAX_ROWS;
      memcpy (*own + r * n_in, x + b * n_in, sizeof (double) * n_in);
    }
  *n_used = KAN_SNAPSHOT_MAX_ROWS;
  return *own;
}

static void
widen (double *lo, double *hi)
{
  if (!isfinite (*lo) || !isfinite (*hi))
    {
      *lo = -1.0;
      *hi = 1.0;
    }
  else if (*hi - *lo <= 1e-12 * MAX (fabs (*lo), fabs (*hi)))
    {
      double c = 0.5 * (*lo + *hi);
      double h = c != 0.0 ? RANGE_PAD_REL * fabs (c) : RANGE_PAD_ABS;
      *lo = c - h;
      *hi = c + h;
    }
}

static char **
names_new (const char *const *given,
           int                count,
           const char        *prefix)
{
  char **v = g_new0 (char *, count + 1);
  gboolean more = given != NULL;

  for (int q = 0; q < count; q++)
    {
      if (more && given[q] == NULL)
        more = FALSE;
      v[q] = more ? g_strdup (given[q]) : g_strdup_printf ("%s%d", prefix, q + 1);
    }
  return v;
}

/* Traced inputs and outputs of edge (l,i,j): range, even subsample, curve. */
static void
edge_fill (KanSnapshotEdge *e,
           const KanModel  *m,
           const KanWork   *w,
           size_t           n)
{
  int in = kan_model_layer_in (m, e->l), out = kan_model_layer_out (m, e->l);
  double lo = INFINITY, hi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;

  if (n > 0)
    {
      const double *xin = kan_work_layer_input (w, e->l);
      const double *yout = kan_work_edge_output (w, e->l);
      int ns = (int) MIN (n, (size_t) KAN_SNAPSHOT_MAX_SAMPLES);

      for (size_t b = 0; b < n; b++)
        {
          double v = xin[b * in + e->i];
          if (isfinite (v))
            {
              lo = MIN (lo, v);
              hi = MAX (hi, v);
            }
        }
      e->sample_x = g_new (double, ns);
      e->sample_y = g_new (double, ns);
      for (int r = 0; r < ns; r++)
        {
          size_t b = (size_t) r * n / ns;
          double sx = xin[b * in + e->i], sy = yout[(b * in + e->i) * out + e->j];
          if (!isfinite (sx) || !isfinite (sy))
            continue;
          e->sample_x[e->n_samples] = sx;
          e->sample_y[e->n_samples] = sy;
          e->n_samples++;
          ylo = MIN (ylo, sy);
          yhi = MAX (yhi, sy);
        }
    }
  if (!(lo <= hi))
    {
      /* No data: the grid range of the input node. */
      double range[2];
      kan_model_knot_range (m, e->l, e->i, range);
      lo = range[0];
      hi = range[1];
    }
  widen (&lo, &hi);
  e->x_min = lo;
  e->x_max = hi;
  for (int p = 0; p < KAN_SNAPSHOT_CURVE_POINTS; p++)
    e->curve_x[p] = lo + (hi - lo) * p / (KAN_SNAPSHOT_CURVE_POINTS - 1);
  e->curve_x[KAN_SNAPSHOT_CURVE_POINTS - 1] = hi;
  kan_model_edge_eval (m, e->l, e->i, e->j, e->curve_x, KAN_SNAPSHOT_CURVE_POINTS, e->curve_y);
  for (int p = 0; p < KAN_SNAPSHOT_CURVE_POINTS; p++)
    if (isfinite (e->curve_y[p]))
      {
        ylo = MIN (ylo, e->curve_y[p]);
        yhi = MAX (yhi, e->curve_y[p]);
      }
  widen (&ylo, &yhi);
  e->y_min = ylo;
  e->y_max = yhi;
}

KanSnapshot *
kan_snapshot_new (const KanModel    *m,
                  const double      *x,
                  size_t             n,
                  const char *const *in_names,
                  const char *const *out_names,
                  GError           **error)
{
  KanSnapshot *s;
  const KanShape *shape;
  g_autoptr (KanScores) scores = NULL;
  g_autoptr (KanWork) work = NULL;
  g_autofree double *own = NULL;
  const double *rows;
  size_t n_used = 0;
  int n_in, q;

  g_return_val_if_fail (m != NULL, NULL);
  g_return_val_if_fail (x != NULL || n == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  n_in = kan_model_n_in (m);
  rows = n > 0 ? pick_rows (x, n, n_in, &n_used, &own) : NULL;

  s = g_new0 (KanSnapshot, 1);
  s->model = kan_model_copy (m);
  s->depth = kan_model_depth (m);
  shape = kan_model_shape (m);
  s->n_nodes = g_new (int, s->depth + 1);
  s->n_sum = g_new (int, s->depth + 1);
  s->n_sub = g_new (int, s->depth + 1);
  s->node_score = g_new0 (double *, s->depth + 1);
  for (int l = 0; l <= s->depth; l++)
    {
      s->n_nodes[l] = kan_shape_nodes (shape, l);
      s->n_sum[l] = kan_shape_n_sum (shape, l);
      s->n_sub[l] = l == 0 ? s->n_nodes[0] : kan_shape_subnodes (shape, l);
      s->node_score[l] = g_new (double, s->n_nodes[l]);
    }

  /* Scores need two finite rows; without them every live part counts fully. */
  if (n_used >= 2)
    scores = kan_scores_compute (s->model, rows, n_used, NULL);
  for (int l = 0; l <= s->depth; l++)
    for (int i = 0; i < s->n_nodes[l]; i++)
      s->node_score[l][i] = scores ? kan_scores_node (scores, l)[i] : 1.0;

  if (n_used > 0)
    {
      work = kan_work_new (s->model, n_used);
      g_autofree double *out = g_new (double, n_used * kan_model_n_out (m));
      kan_model_forward (s->model, work, rows, n_used, 0.0, out);
    }

  s->n_edges = 0;
  for (int l = 0; l < s->depth; l++)
    s->n_edges += kan_model_layer_in (m, l) * kan_model_layer_out (m, l);
  s->edges = g_new0 (KanSnapshotEdge, s->n_edges);
  q = 0;
  for (int l = 0; l < s->depth; l++)
    {
      int in = kan_model_layer_in (m, l), out = kan_model_layer_out (m, l);
      const double *es = scores ? kan_scores_edge (scores, l) : NULL;
      for (int i = 0; i < in; i++)
        for (int j = 0; j < out; j++, q++)
          {
            KanSnapshotEdge *e = &s->edges[q];
            e->l = l;
            e->i = i;
            e->j = j;
            e->mode = kan_model_edge_mode (m, l, i, j);
            e->sym_id = e->mode == KAN_EDGE_SYMBOLIC || e->mode == KAN_EDGE_BOTH
                        ? kan_model_edge_sym (m, l, i, j) : -1;
            kan_model_edge_abcd (m, l, i, j, e->abcd);
            if (e->mode == KAN_EDGE_OFF)
              e->score = 0.0;
            else
              e->score = es ? es[i * out + j] : 1.0;
            edge_fill (e, s->model, work, n_used);
          }
    }

  s->in_names = names_new (in_names, n_in, "x");
  s->out_names = names_new (out_names, kan_model_n_out (m), "y");
  s->step = 0;
  s->train_rmse = NAN;
  s->test_rmse = NAN;
  s->loss = NAN;
  s->seconds = 0.0;
  return s;
}

void
kan_snapshot_free (KanSnapshot *s)
{
  if (s == NULL)
    return;
  kan_model_free (s->model);
  for (int q = 0; q < s->n_edges; q++)
    {
      g_free (s->edges[q].sample_x);
      g_free (s->edges[q].sample_y);
    }
  g_free (s->edges);
  if (s->node_score != NULL)
    for (int l = 0; l <= s->depth; l++)
      g_free (s->node_score[l]);
  g_free (s->node_score);
  g_free (s->n_nodes);
  g_free (s->n_sum);
  g_free (s->n_sub);
  g_strfreev (s->in_names);
  g_strfreev (s->out_names);
  g_free (s->history_train);
  g_free (s->history_test);
  g_free (s);
}

const KanSnapshotEdge *
kan_snapshot_edge (const KanSnapshot *s,
                   int                l,
                   int                i,
                   int                j)
{
  int q = 0;

  g_return_val_if_fail (s != NULL, NULL);
  if (l < 0 || l >= s->depth)
    return NULL;
  /* Edges are ordered by layer, then input, then output subnode. */
  for (int k = 0; k < l; k++)
    q += kan_model_layer_in (s->model, k) * kan_model_layer_out (s->model, k);
  {
    int in = kan_model_layer_in (s->model, l), out = kan_model_layer_out (s->model, l);
    if (i < 0 || i >= in || j < 0 || j >= out)
      return NULL;
    return &s->edges[q + i * out + j];
  }
}

char *
kan_edge_form_text (int           sym_id,
                    const double  abcd[4])
{
  return kan_formula_edge_to_string (sym_id, abcd, 4);
}

char **
kan_class_names (const KanDataset *d,
                 int               n_classes)
{
  char **names;
  const char *label;

  g_return_val_if_fail (n_classes >= 0, NULL);
  label = d != NULL && d->out_names != NULL && d->out_names[0] != NULL ? d->out_names[0] : NULL;
  names = g_new0 (char *, n_classes + 1);
  for (int k = 0; k < n_classes; k++)
    if (d != NULL && d->class_names != NULL && k < (int) g_strv_length (d->class_names))
      names[k] = g_strdup (d->class_names[k]);  /* text labels: the names themselves */
    else
      names[k] = label ? g_strdup_printf ("%s = %d", label, k) : g_strdup_printf ("class %d", k);
  return names;
}

char **
kan_output_names (const KanDataset *d,
                  KanLoss           loss,
                  int               n_out)
{
  g_return_val_if_fail (d != NULL, NULL);

  return loss == KAN_LOSS_CE ? kan_class_names (d, n_out) : g_strdupv (d->out_names);
}
