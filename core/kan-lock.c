/* kan-lock.c — suggest, lock and unlock (see kan-lock.h). */
#include "kan-lock.h"
#include "kan-model-private.h"
#include "kan-symbolic.h"
#include "kan-error.h"

#include <math.h>
#include <string.h>

static gboolean
check_edge (const KanModel *m, int l, int i, int j, GError **error)
{
  if (l < 0 || l >= m->depth || i < 0 || i >= m->layers[l].n_in || j < 0
      || j >= m->layers[l].n_out)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID,
                   "edge (%d,%d,%d) does not exist in this network", l, i, j);
      return FALSE;
    }
  return TRUE;
}

/* Edge samples plus the standard deviation of the subnode sum the edge feeds. */
static gboolean
edge_samples (const KanModel *m, const double *x, size_t n, int l, int i, int j,
              double *xs, double *ys, double *sub_std, GError **error)
{
  KanWork *w;
  const double *in, *post;
  int I, O;
  double mu = 0.0, ss = 0.0;

  if (!check_edge (m, l, i, j, error))
    return FALSE;
  if (n < 4)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_DATA,
                   "fitting an edge needs at least 4 samples, got %zu", n);
      return FALSE;
    }
  I = m->layers[l].n_in;
  O = m->layers[l].n_out;
  w = kan_work_new (m, n);
  kan_model_forward (m, w, x, n, 0.0, NULL);
  in = kan_work_layer_input (w, l);
  post = kan_work_edge_output (w, l);
  for (size_t b = 0; b < n; b++)
    {
      double z = 0.0;
      xs[b] = in[b * I + i];
      ys[b] = post[(b * I + i) * O + j];
      for (int q = 0; q < I; q++)
        z += post[(b * I + q) * O + j];
      mu += z;
      ss += z * z;
    }
  kan_work_free (w);
  mu /= n;
  *sub_std = sqrt (MAX (0.0, (ss - n * mu * mu) / (n - 1)));
  for (size_t b = 0; b < n; b++)
    if (!isfinite (xs[b]) || !isfinite (ys[b]))
      {
        g_set_error (error, KAN_ERROR, KAN_ERROR_NONFINITE,
                     "edge (%d,%d,%d) has non-finite values on row %zu", l, i, j, b + 1);
        return FALSE;
      }
  return TRUE;
}

gboolean
kan_model_edge_samples (const KanModel *m, const double *x, size_t n, int l, int i, int j,
                        double *xs, double *ys, GError **error)
{
  double sub_std;

  g_return_val_if_fail (m != NULL && (x != NULL || n == 0), FALSE);
  g_return_val_if_fail (xs != NULL && ys != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  return edge_samples (m, x, n, l, i, j, xs, ys, &sub_std, error);
}

/* The fit parameters for one edge: "0" is judged against the subnode the edge feeds. */
static KanSymFitParams
edge_params (const KanSymFitParams *p, double sub_std)
{
  KanSymFitParams q;
  if (p)
    q = *p;
  else
    kan_symfit_params_init (&q);
  q.zero_threshold *= sub_std > 0 ? sub_std : 1.0;
  return q;
}

KanSymFit *
kan_model_suggest (const KanModel *m, const double *x, size_t n, int l, int i, int j,
                   const int *lib, int n_lib, const KanSymFitParams *p, int *n_out,
                   GError **error)
{
  double *xs, *ys, sub_std;
  KanSymFit *fits = NULL;

  g_return_val_if_fail (m != NULL && (x != NULL || n == 0), NULL);
  g_return_val_if_fail (n_out != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  xs = g_new (double, MAX (n, 1));
  ys = g_new (double, MAX (n, 1));
  if (edge_samples (m, x, n, l, i, j, xs, ys, &sub_std, error))
    {
      KanSymFitParams q = edge_params (p, sub_std);
      fits = kan_symfit_suggest (xs, ys, n, lib, n_lib, &q, n_out, error);
    }
  g_free (xs);
  g_free (ys);
  return fits;
}

gboolean
kan_model_lock (KanModel *m, const double *x, size_t n, int l, int i, int j, const char *name,
                const KanSymFitParams *p, KanSymFit *fit, GError **error)
{
  int id;
  double *xs, *ys, sub_std;
  KanSymFit f;
  gboolean ok;

  g_return_val_if_fail (m != NULL && (x != NULL || n == 0), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  id = kan_sym_lookup (name);
  if (id < 0)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID,
                   "unknown symbolic function '%s'", name ? name : "(null)");
      return FALSE;
    }
  xs = g_new (double, MAX (n, 1));
  ys = g_new (double, MAX (n, 1));
  ok = edge_samples (m, x, n, l, i, j, xs, ys, &sub_std, error);
  if (ok)
    {
      KanSymFitParams q = edge_params (p, sub_std);
      ok = kan_symfit_fit (id, xs, ys, n, &q, &f, error);
    }
  if (ok)
    {
      double abcd[4] = { f.a, f.b, f.c, f.d };
      kan_model_set_edge (m, l, i, j, KAN_EDGE_SYMBOLIC, id, abcd);
      if (fit)
        *fit = f;
    }
  g_free (xs);
  g_free (ys);
  return ok;
}

void
kan_model_unlock (KanModel *m, int l, int i, int j)
{
  g_return_if_fail (m != NULL);
  g_return_if_fail (check_edge (m, l, i, j, NULL));
  if (kan_model_edge_mode (m, l, i, j) == KAN_EDGE_OFF)
    return;
  kan_model_set_edge (m, l, i, j, KAN_EDGE_NUMERIC, 0, NULL);
}

int *
kan_sym_parse_lib (const char *names, int *n_out, GError **error)
{
  g_auto (GStrv) parts = NULL;
  int n, k = 0;
  int *ids;

  g_return_val_if_fail (n_out != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  parts = g_strsplit (names ? names : "", ",", -1);
  n = g_strv_length (parts);
  ids = g_new (int, MAX (n, 1));

  for (int q = 0; q < n; q++)
    {
      char *name = g_strstrip (parts[q]);
      int id;
      if (*name == '\0')
        continue;
      id = kan_sym_lookup (name);
      if (id < 0)
        {
          GString *all = g_string_new (NULL);
          for (int r = 0; r < kan_sym_count (); r++)
            g_string_append_printf (all, "%s%s", r ? ", " : "", kan_sym_info (r)->name);
          g_set_error (error, KAN_ERROR, KAN_ERROR_PARSE,
                       "unknown symbolic function '%s' (the library: %s)", name, all->str);
          g_string_free (all, TRUE);
          g_free (ids);
          return NULL;
        }
      ids[k++] = id;
    }
  if (k == 0)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_PARSE, "the symbolic library list is empty");
      g_free (ids);
      return NULL;
    }
  *n_out = k;
  return ids;
}
