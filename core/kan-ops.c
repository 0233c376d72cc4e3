/* kan-ops.c — the operations a person applies to a session (see kan-ops.h). */
#include "kan-ops.h"
#include "kan-error.h"
#include "kan-lock.h"
#include "kan-symbolic.h"
#include "kan-train.h"

#include <math.h>
#include <string.h>

/* Helpers ------------------------------------------------------------------------------------ */

gboolean
kan_ops_check_edge (const KanModel *m,
                    int             l,
                    int             i,
                    int             j,
                    GError        **error)
{
  g_return_val_if_fail (m != NULL, FALSE);
  if (l < 0 || l >= kan_model_depth (m) || i < 0 || i >= kan_model_layer_in (m, l) || j < 0
      || j >= kan_model_layer_out (m, l))
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID,
                   "there is no edge (%d,%d,%d) in this network", l, i, j);
      return FALSE;
    }
  return TRUE;
}

gboolean
kan_ops_check_node (const KanModel *m,
                    int             l,
                    int             i,
                    GError        **error)
{
  const KanShape *sh;

  g_return_val_if_fail (m != NULL, FALSE);
  sh = kan_model_shape (m);
  if (l < 0 || l >= sh->n_layers || i < 0 || i >= kan_shape_nodes (sh, l))
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID,
                   "there is no node (%d,%d) in this network", l, i);
      return FALSE;
    }
  return TRUE;
}

/* Swaps M (taken) in as the session's model. */
static void
set_model (KanSession *s,
           KanModel   *m)
{
  kan_model_free (s->model);
  s->model = m;
}

static double
metric (const KanModel *m,
        KanLoss         loss,
        const double   *x,
        const double   *y,
        size_t          n)
{
  return n > 0 ? sqrt (kan_model_loss (m, loss, x, y, n)) : NAN;
}

/* Metrics and history ------------------------------------------------------------------------ */

void
kan_ops_metrics (const KanModel   *m,
                 const KanDataset *d,
                 KanLoss           loss,
                 double           *train,
                 double           *test)
{
  *train = *test = NAN;
  if (m == NULL || d == NULL)
    return;
  *train = metric (m, loss, d->train_x, d->train_y, d->n_train);
  *test = metric (m, loss, d->test_x, d->test_y, d->n_test);
}

static KanHistoryEntry *
record_with (KanSession *s,
             const char *op,
             const char *detail,
             double      train,
             double      test)
{
  kan_session_add_history (s, op, detail, train, test);
  return g_ptr_array_index (s->history, s->history->len - 1);
}

KanHistoryEntry *
kan_ops_record (KanSession *s,
                const char *op,
                const char *detail)
{
  double train, test;

  g_return_val_if_fail (s != NULL && op != NULL, NULL);
  kan_ops_metrics (s->model, s->data, s->train.loss, &train, &test);
  return record_with (s, op, detail, train, test);
}

gboolean
kan_ops_made_worse (double train_before,
                    double test_before,
                    double train_after,
                    double test_after)
{
  const double before[2] = { train_before, test_before };
  const double after[2] = { train_after, test_after };

  for (int k = 0; k < 2; k++)
    {
      if (!isfinite (before[k]))
        continue;
      if (!isfinite (after[k]) || after[k] > KAN_OPS_WORSE_FACTOR * before[k])
        return TRUE;
    }
  return FALSE;
}

double
kan_ops_last_fit_lamb (const KanSession *s,
                       int               upto)
{
  g_return_val_if_fail (s != NULL, NAN);
  for (int k = MIN (upto, (int) s->history->len - 1); k >= 0; k--)
    {
      const KanHistoryEntry *e = g_ptr_array_index (s->history, k);
      const char *at;

      if (!g_str_equal (e->op, "fit"))
        continue;
      /* kan_ops_fit_record writes " lamb=%g"; older files may have it anywhere. */
      at = e->detail ? strstr (e->detail, "lamb=") : NULL;
      if (at == NULL)
        return NAN;
      return g_ascii_strtod (at + strlen ("lamb="), NULL);
    }
  return NAN;
}

/* TRUE when M has a live edge and none of its live edges is symbolic. */
static gboolean
all_splines (const KanModel *m)
{
  gboolean live = FALSE;

  for (int l = 0; l < kan_model_depth (m); l++)
    for (int i = 0; i < kan_model_layer_in (m, l); i++)
      for (int j = 0; j < kan_model_layer_out (m, l); j++)
        {
          KanEdgeMode mode = kan_model_edge_mode (m, l, i, j);
          if (mode == KAN_EDGE_SYMBOLIC || mode == KAN_EDGE_BOTH)
            return FALSE;
          live |= mode == KAN_EDGE_NUMERIC;
        }
  return live;
}

const KanHistoryEntry *
kan_ops_replaced_network (const KanSession *s,
                          int               upto)
{
  g_return_val_if_fail (s != NULL, NULL);
  for (int k = MIN (upto, (int) s->history->len - 1); k >= 0; k--)
    {
      const KanHistoryEntry *e = g_ptr_array_index (s->history, k);
      if (e->model && all_splines (e->model))
        return e;
    }
  return NULL;
}

/* Fit runs ----------------------------------------------------------------------------------- */

KanHistoryEntry *
kan_ops_fit_record (KanSession           *s,
                    const KanTrainConfig *cfg,
                    const KanOpsFitRun   *run)
{
  g_autoptr (GString) detail = g_string_new (NULL);
  double train, test;

  g_return_val_if_fail (s != NULL && cfg != NULL && run != NULL, NULL);
  g_string_append_printf (detail, "opt=%s steps=%d lr=%g lamb=%g", kan_optimizer_name (cfg->opt),
                          cfg->steps, cfg->lr, cfg->lamb);
  if (cfg->loss == KAN_LOSS_CE)
    g_string_append (detail, " loss=ce");
  if (cfg->batch > 0)
    g_string_append_printf (detail, " batch=%ld", cfg->batch);
  if (!cfg->update_grid)
    g_string_append (detail, " grid_update=no");
  if (run->stopped)
    g_string_append_printf (detail, " stopped=%d", run->steps);
  if (run->data_note)
    g_string_append_printf (detail, " data=%s", run->data_note);
  if (run->have_rmse)
    {
      train = run->train_rmse;
      test = run->test_rmse;
    }
  else
    kan_ops_metrics (s->model, s->data, cfg->loss, &train, &test);
  s->steps_done += run->steps;
  s->train = *cfg;
  return record_with (s, "fit", detail->str, train, test);
}

/* Prune -------------------------------------------------------------------------------------- */

void
kan_ops_prune_plan_free (KanOpsPrunePlan *plan)
{
  if (plan == NULL)
    return;
  g_array_unref (plan->nodes);
  g_array_unref (plan->edges);
  g_free (plan->width_before);
  g_free (plan->width_after);
  kan_model_free (plan->model);
  g_free (plan->detail);
  g_free (plan);
}

static gboolean
listed (const int *list,
        int        i)
{
  for (; *list >= 0; list++)
    if (*list == i)
      return TRUE;
  return FALSE;
}

/* "1:0,3;2:1": the layers the caller chose nodes for, for the history. */
static char *
keep_text (const int *const *keep,
           int               depth)
{
  GString *t = g_string_new (NULL);

  for (int l = 1; keep && l < depth; l++)
    if (keep[l - 1])
      {
        g_string_append_printf (t, "%s%d:", t->len ? ";" : "", l);
        for (const int *k = keep[l - 1]; *k >= 0; k++)
          g_string_append_printf (t, "%s%d", k == keep[l - 1] ? "" : ",", *k);
      }
  return g_string_free (t, t->len == 0);
}

KanOpsPrunePlan *
kan_ops_prune_preview (const KanSession *s,
                       double            node_th,
                       double            edge_th,
                       const int *const *keep,
                       GError          **error)
{
  g_autoptr (KanOpsPrunePlan) p = NULL;
  g_autoptr (KanScores) sc = NULL, sc2 = NULL;
  g_autoptr (GPtrArray) lists = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (KanModel) nodes_pruned = NULL;
  g_autofree char *kept = NULL;
  const KanDataset *d;
  int depth;

  g_return_val_if_fail (s != NULL && s->model != NULL && s->data != NULL, NULL);
  if (isnan (node_th) || isnan (edge_th))
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID, "a prune threshold is NaN");
      return NULL;
    }
  d = s->data;
  depth = kan_model_depth (s->model);
  sc = kan_scores_compute (s->model, d->train_x, d->n_train, error);
  if (sc == NULL)
    return NULL;

  /* Every layer gets an explicit list, so the nodes listed here are exactly the ones
   * kan_model_prune_nodes removes. The caller's lists are passed on as given (it checks them). */
  for (int l = 1; l < depth; l++)
    g_ptr_array_add (lists,
                     keep && keep[l - 1] ? NULL : kan_scores_kept_nodes (sc, l, node_th));
  for (int l = 1; l < depth; l++)
    if (lists->pdata[l - 1] == NULL)
      {
        gsize len = 0;
        while (keep[l - 1][len] >= 0)
          len++;
        lists->pdata[l - 1] = g_memdup2 (keep[l - 1], sizeof (int) * (len + 1));
      }
  nodes_pruned = kan_model_prune_nodes (s->model, sc, node_th,
                                        depth > 1 ? (const int *const *) lists->pdata : NULL,
                                        error);
  if (nodes_pruned == NULL)
    return NULL;

  p = g_new0 (KanOpsPrunePlan, 1);
  p->node_th = node_th;
  p->edge_th = edge_th;
  p->nodes = g_array_new (FALSE, FALSE, sizeof (KanOpsNode));
  p->edges = g_array_new (FALSE, FALSE, sizeof (KanOpsEdge));
  for (int l = 1; l < depth; l++)
    for (int i = 0; i < kan_scores_width (sc, l); i++)
      if (!listed (lists->pdata[l - 1], i))
        {
          KanOpsNode node = { l, i };
          g_array_append_val (p->nodes, node);
        }

  sc2 = kan_scores_compute (nodes_pruned, d->train_x, d->n_train, error);
  if (sc2 == NULL)
    return NULL;
  p->model = kan_model_copy (nodes_pruned);
  kan_model_prune_edges (p->model, sc2, edge_th);
  for (int l = 0; l < kan_model_depth (p->model); l++)
    for (int i = 0; i < kan_model_layer_in (p->model, l); i++)
      for (int j = 0; j < kan_model_layer_out (p->model, l); j++)
        if (kan_model_edge_mode (nodes_pruned, l, i, j) != KAN_EDGE_OFF
            && kan_model_edge_mode (p->model, l, i, j) == KAN_EDGE_OFF)
          {
            KanOpsEdge edge = { l, i, j };
            g_array_append_val (p->edges, edge);
          }

  p->width_before = kan_shape_to_string (kan_model_shape (s->model));
  p->width_after = kan_shape_to_string (kan_model_shape (p->model));
  kan_ops_metrics (s->model, d, s->train.loss, &p->train_before, &p->test_before);
  kan_ops_metrics (p->model, d, s->train.loss, &p->train_after, &p->test_after);
  /* A note of the caller's lists: only those it gave (the hidden layers' lists above also
   * hold the threshold's choices). */
  kept = keep_text (keep, depth);
  p->detail = g_strdup_printf ("node_th=%g edge_th=%g%s%s width=%s->%s nodes=%u edges=%u",
                               node_th, edge_th, kept ? " keep=" : "", kept ? kept : "",
                               p->width_before, p->width_after, p->nodes->len, p->edges->len);
  return g_steal_pointer (&p);
}

void
kan_ops_prune_apply (KanSession      *s,
                     KanOpsPrunePlan *plan)
{
  g_return_if_fail (s != NULL && plan != NULL && plan->model != NULL);
  set_model (s, g_steal_pointer (&plan->model));
  record_with (s, "prune", plan->detail, plan->train_after, plan->test_after);
}

gboolean
kan_ops_prune (KanSession        *s,
               double             node_th,
               double             edge_th,
               const int *const  *keep,
               KanOpsPrunePlan  **plan_out,
               GError           **error)
{
  KanOpsPrunePlan *p = kan_ops_prune_preview (s, node_th, edge_th, keep, error);

  if (p == NULL)
    return FALSE;
  kan_ops_prune_apply (s, p);
  if (plan_out)
    *plan_out = p;
  else
    kan_ops_prune_plan_free (p);
  return TRUE;
}

/* "(1,0), (1,3)": the tuples of N ints that A holds. */
static char *
tuples_text (const GArray *a,
             int           n)
{
  GString *t = g_string_new (NULL);

  for (guint q = 0; q < a->len; q++)
    {
      const int *v = (const int *) (void *) (a->data + (gsize) q * n * sizeof (int));
      g_string_append (t, q ? ", (" : "(");
      for (int k = 0; k < n; k++)
        g_string_append_printf (t, "%s%d", k ? "," : "", v[k]);
      g_string_append_c (t, ')');
    }
  return g_string_free (t, FALSE);
}

char *
kan_ops_prune_plan_nodes_text (const KanOpsPrunePlan *plan)
{
  G_STATIC_ASSERT (sizeof (KanOpsNode) == 2 * sizeof (int));
  return tuples_text (plan->nodes, 2);
}

char *
kan_ops_prune_plan_edges_text (const KanOpsPrunePlan *plan)
{
  G_STATIC_ASSERT (sizeof (KanOpsEdge) == 3 * sizeof (int));
  return tuples_text (plan->edges, 3);
}

char *
kan_ops_prune_plan_summary (const KanOpsPrunePlan *plan)
{
  g_autofree char *nodes = kan_ops_prune_plan_nodes_text (plan);
  g_autofree char *edges = kan_ops_prune_plan_edges_text (plan);
  guint n = plan->nodes->len, e = plan->edges->len;

  return g_strdup_printf ("%u node%s%s%s%s, then %u edge%s%s%s%s · width %s → %s · "
                          "train %.3e → %.3e", n, n == 1 ? "" : "s", n ? " (" : "", nodes,
                          n ? ")" : "", e, e == 1 ? "" : "s", e ? " (" : "", edges,
                          e ? ", in the new numbering)" : "", plan->width_before,
                          plan->width_after, plan->train_before, plan->train_after);
}

gboolean
kan_ops_prune_node (KanSession *s,
                    int         l,
                    int         i,
                    GError    **error)
{
  const KanShape *sh;
  g_autoptr (KanScores) sc = NULL;
  g_autoptr (GPtrArray) keep = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *detail = NULL;
  KanModel *m;
  int depth;

  g_return_val_if_fail (s != NULL && s->model != NULL && s->data != NULL, FALSE);
  sh = kan_model_shape (s->model);
  depth = kan_model_depth (s->model);
  if (!kan_ops_check_node (s->model, l, i, error))
    return FALSE;
  if (l == 0 || l == depth)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID, "node (%d,%d) is an %s node; only "
                   "hidden nodes can be pruned", l, i, l == 0 ? "input" : "output");
      return FALSE;
    }
  if (kan_shape_nodes (sh, l) == 1)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID, "node (%d,%d) is the last of its layer",
                   l, i);
      return FALSE;
    }
  sc = kan_scores_compute (s->model, s->data->train_x, s->data->n_train, error);
  if (sc == NULL)
    return FALSE;
  for (int layer = 1; layer < depth; layer++)
    {
      int n = kan_shape_nodes (sh, layer), k = 0;
      int *list = g_new (int, n + 1);
      for (int node = 0; node < n; node++)
        if (layer != l || node != i)
          list[k++] = node;
      list[k] = -1;
      g_ptr_array_add (keep, list);
    }
  m = kan_model_prune_nodes (s->model, sc, 0, (const int *const *) keep->pdata, error);
  if (m == NULL)
    return FALSE;
  set_model (s, m);
  detail = g_strdup_printf ("node (%d,%d)", l, i);
  kan_ops_record (s, "prune", detail);
  return TRUE;
}

gboolean
kan_ops_prune_edge (KanSession *s,
                    int         l,
                    int         i,
                    int         j,
                    GError    **error)
{
  g_autofree char *detail = NULL;

  g_return_val_if_fail (s != NULL && s->model != NULL, FALSE);
  if (!kan_ops_check_edge (s->model, l, i, j, error))
    return FALSE;
  kan_model_set_edge (s->model, l, i, j, KAN_EDGE_OFF, -1, NULL);
  detail = g_strdup_printf ("edge (%d,%d,%d)", l, i, j);
  kan_ops_record (s, "prune", detail);
  return TRUE;
}

/* Lock, unlock, auto-symbolic ---------------------------------------------------------------- */

gboolean
kan_ops_lock (KanSession *s,
              int         l,
              int         i,
              int         j,
              const char *name,
              KanSymFit  *fit,
              GError    **error)
{
  g_autofree char *detail = NULL;
  KanSymFit f;

  g_return_val_if_fail (s != NULL && s->model != NULL && s->data != NULL, FALSE);
  if (!kan_ops_check_edge (s->model, l, i, j, error))
    return FALSE;
  if (name == NULL || kan_sym_lookup (name) < 0)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID, "'%s' is not a library function",
                   name ? name : "(null)");
      return FALSE;
    }
  if (kan_model_edge_mode (s->model, l, i, j) == KAN_EDGE_OFF)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID, "edge (%d,%d,%d) is pruned", l, i, j);
      return FALSE;
    }
  if (!kan_model_lock (s->model, s->data->train_x, s->data->n_train, l, i, j, name, NULL, &f,
                       error))
    return FALSE;
  detail = g_strdup_printf ("(%d,%d,%d) %s r2=%.6f", l, i, j, name, f.r2);
  kan_ops_record (s, "lock", detail);
  if (fit)
    *fit = f;
  return TRUE;
}

gboolean
kan_ops_unlock (KanSession *s,
                int         l,
                int         i,
                int         j,
                GError    **error)
{
  g_autofree char *detail = NULL;
  KanEdgeMode mode;

  g_return_val_if_fail (s != NULL && s->model != NULL, FALSE);
  if (!kan_ops_check_edge (s->model, l, i, j, error))
    return FALSE;
  mode = kan_model_edge_mode (s->model, l, i, j);
  if (mode == KAN_EDGE_OFF || mode == KAN_EDGE_NUMERIC)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID, "edge (%d,%d,%d) is %s", l, i, j,
                   mode == KAN_EDGE_OFF ? "pruned" : "not locked");
      return FALSE;
    }
  kan_model_unlock (s->model, l, i, j);
  detail = g_strdup_printf ("(%d,%d,%d)", l, i, j);
  kan_ops_record (s, "unlock", detail);
  return TRUE;
}

void
kan_ops_symbolic_report_free (KanOpsSymbolicReport *r)
{
  if (r == NULL)
    return;
  g_array_unref (r->edges);
  g_free (r);
}

char *
kan_ops_edge_report_text (const KanOpsEdgeReport *e,
                          double                  r2)
{
  const KanSymFit *f = &e->fit;

  switch (e->outcome)
    {
    case KAN_OPS_EDGE_LOCKED:
      return g_strdup_printf ("(%d,%d,%d) locked to %s, r2 = %.6f, c·f(a·x+b)+d with a=%.6g "
                              "b=%.6g c=%.6g d=%.6g", e->l, e->i, e->j,
                              kan_sym_info (f->sym_id)->name, f->r2, f->a, f->b, f->c, f->d);
    case KAN_OPS_EDGE_SKIPPED_PRUNED:
      return g_strdup_printf ("(%d,%d,%d) pruned, skipped", e->l, e->i, e->j);
    case KAN_OPS_EDGE_SKIPPED_LOCKED:
      return g_strdup_printf ("(%d,%d,%d) already locked", e->l, e->i, e->j);
    case KAN_OPS_EDGE_SKIPPED_R2:
      return g_strdup_printf ("(%d,%d,%d) left numeric: best %s has r2 = %.6f < %.6f", e->l,
                              e->i, e->j, f->sym_id >= 0 ? kan_sym_info (f->sym_id)->name : "-",
                              f->sym_id >= 0 ? f->r2 : NAN, r2);
    }
  g_return_val_if_reached (NULL);
}

/* "x,x^2,sin" or "all". */
static char *
lib_text (const int *lib,
          int        n_lib)
{
  GString *t;

  if (lib == NULL)
    return g_strdup ("all");
  t = g_string_new (NULL);
  for (int k = 0; k < n_lib; k++)
    g_string_append_printf (t, "%s%s", k ? "," : "", kan_sym_info (lib[k])->name);
  return g_string_free (t, FALSE);
}

/* Fits edge (L,I,J) of M on the N rows of X and locks it if the best fit reaches R2; fills
 * E. */
static gboolean
auto_edge (KanModel              *m,
           const double          *x,
           size_t                 n,
           const int             *lib,
           int                    n_lib,
           const KanSymFitParams *p,
           double                 r2,
           KanOpsEdgeReport      *e,
           GError               **error)
{
  KanEdgeMode mode = kan_model_edge_mode (m, e->l, e->i, e->j);
  g_autofree KanSymFit *fits = NULL;
  int n_fits = 0;

  e->fit.sym_id = -1;
  e->fit.r2 = NAN;
  if (mode == KAN_EDGE_OFF || mode == KAN_EDGE_SYMBOLIC)
    {
      e->outcome = mode == KAN_EDGE_OFF ? KAN_OPS_EDGE_SKIPPED_PRUNED
                                        : KAN_OPS_EDGE_SKIPPED_LOCKED;
      return TRUE;
    }
  fits = kan_model_suggest (m, x, n, e->l, e->i, e->j, lib, n_lib, p, &n_fits, error);
  if (fits == NULL)
    return FALSE;
  if (n_fits > 0)
    e->fit = fits[0];
  if (n_fits > 0 && fits[0].r2 >= r2)
    {
      /* "0" on a negligible edge keeps its constant d, so the output does not jump. */
      double abcd[4] = { fits[0].a, fits[0].b, fits[0].c, fits[0].d };
      kan_model_set_edge (m, e->l, e->i, e->j, KAN_EDGE_SYMBOLIC, fits[0].sym_id, abcd);
      e->outcome = KAN_OPS_EDGE_LOCKED;
    }
  else
    e->outcome = KAN_OPS_EDGE_SKIPPED_R2;
  return TRUE;
}

KanOpsSymbolicReport *
kan_ops_auto_symbolic_rows (KanModel              *m,
                            const double          *x,
                            size_t                 n,
                            const int             *lib,
                            int                    n_lib,
                            const KanSymFitParams *p,
                            double                 r2,
                            GCancellable          *cancellable,
                            GError               **error)
{
  g_autoptr (KanOpsSymbolicReport) r = NULL;

  g_return_val_if_fail (m != NULL && (x != NULL || n == 0), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  r = g_new0 (KanOpsSymbolicReport, 1);
  r->edges = g_array_new (FALSE, TRUE, sizeof (KanOpsEdgeReport));
  for (int l = 0; l < kan_model_depth (m); l++)
    for (int i = 0; i < kan_model_layer_in (m, l); i++)
      for (int j = 0; j < kan_model_layer_out (m, l); j++)
        {
          KanOpsEdgeReport e = { .l = l, .i = i, .j = j };
          if (cancellable && g_cancellable_is_cancelled (cancellable))
            {
              g_set_error (error, KAN_ERROR, KAN_ERROR_CANCELLED, "auto-symbolic was cancelled");
              return NULL;
            }
          if (!auto_edge (m, x, n, lib, n_lib, p, r2, &e, error))
            return NULL;
          r->n_locked += e.outcome == KAN_OPS_EDGE_LOCKED;
          g_array_append_val (r->edges, e);
        }
  return g_steal_pointer (&r);
}

int
kan_model_auto_symbolic (KanModel *m, const double *x, size_t n, const int *lib, int n_lib,
                         double r2_threshold, const KanSymFitParams *p, GString *log,
                         GError **error)
{
  g_autoptr (KanOpsSymbolicReport) r = NULL;

  g_return_val_if_fail (m != NULL && (x != NULL || n == 0), -1);
  g_return_val_if_fail (error == NULL || *error == NULL, -1);
  /* kan-ops decides what is locked and why; this entry point only keeps the older signature
   * (rows and a text log) for programs that use the model API alone. */
  r = kan_ops_auto_symbolic_rows (m, x, n, lib, n_lib, p, r2_threshold, NULL, error);
  if (r == NULL)
    return -1;
  for (guint q = 0; log && q < r->edges->len; q++)
    {
      g_autofree char *line = kan_ops_edge_report_text (&g_array_index (r->edges,
                                                                       KanOpsEdgeReport, q),
                                                        r2_threshold);
      g_string_append_printf (log, "%s\n", line);
    }
  return r->n_locked;
}

KanOpsSymbolicReport *
kan_ops_auto_symbolic_model (KanModel         *m,
                             const KanDataset *d,
                             const int        *lib,
                             int               n_lib,
                             double            r2,
                             GCancellable     *cancellable,
                             GError          **error)
{
  g_return_val_if_fail (m != NULL && d != NULL, NULL);
  return kan_ops_auto_symbolic_rows (m, d->train_x, d->n_train, lib, n_lib, NULL, r2,
                                     cancellable, error);
}

void
kan_ops_auto_symbolic_apply (KanSession                 *s,
                             KanModel                   *m,
                             const KanOpsSymbolicReport *r,
                             const int                  *lib,
                             int                         n_lib,
                             double                      r2)
{
  g_autofree char *names = NULL, *detail = NULL;

  g_return_if_fail (s != NULL && m != NULL && r != NULL);
  set_model (s, m);
  names = lib_text (lib, n_lib);
  detail = g_strdup_printf ("lib=%s r2=%g locked=%d", names, r2, r->n_locked);
  kan_ops_record (s, "symbolic", detail);
}

KanOpsSymbolicReport *
kan_ops_auto_symbolic (KanSession *s,
                       const int  *lib,
                       int         n_lib,
                       double      r2,
                       GError    **error)
{
  KanOpsSymbolicReport *r;
  g_autoptr (KanModel) m = NULL;

  g_return_val_if_fail (s != NULL && s->model != NULL && s->data != NULL, NULL);
  /* On a copy: a fit that fails half-way leaves the session as it was. */
  m = kan_model_copy (s->model);
  r = kan_ops_auto_symbolic_model (m, s->data, lib, n_lib, r2, NULL, error);
  if (r)
    kan_ops_auto_symbolic_apply (s, g_steal_pointer (&m), r, lib, n_lib, r2);
  return r;
}

/* Refine, formula, discover ----------------------------------------------------------------- */

gboolean
kan_ops_refine (KanSession *s,
                int         new_grid,
                double     *before_train,
                double     *before_test,
                GError    **error)
{
  KanModel *m;

  g_return_val_if_fail (s != NULL && s->model != NULL && s->data != NULL, FALSE);
  if (before_train || before_test)
    {
      double tr, te;
      kan_ops_metrics (s->model, s->data, s->train.loss, &tr, &te);
      if (before_train)
        *before_train = tr;
      if (before_test)
        *before_test = te;
    }
  m = kan_model_refine (s->model, new_grid, s->data->train_x, s->data->n_train, error);
  if (m == NULL)
    return FALSE;
  kan_ops_refine_apply (s, m, new_grid);
  return TRUE;
}

void
kan_ops_refine_apply (KanSession *s,
                      KanModel   *m,
                      int         new_grid)
{
  g_autofree char *detail = NULL;

  g_return_if_fail (s != NULL && s->model != NULL && m != NULL);
  detail = g_strdup_printf ("grid=%d->%d", kan_model_grid (s->model), new_grid);
  set_model (s, m);
  kan_ops_record (s, "refine", detail);
}

KanExpr *
kan_ops_formula (const KanSession *s,
                 gboolean          snap,
                 char           ***numeric_edges_out,
                 GError          **error)
{
  g_return_val_if_fail (s != NULL && s->model != NULL && s->data != NULL, NULL);
  return kan_discover_formula (s->model, s->data, snap, KAN_OPS_SNAP_TOL, numeric_edges_out,
                               error);
}

KanSession *
kan_ops_discover_session (const KanDiscoverResult *r,
                          const KanDataset        *d)
{
  const KanDiscoverCandidate *best;
  KanSession *s;
  g_autofree char *detail = NULL;

  g_return_val_if_fail (r != NULL && r->best != NULL && d != NULL, NULL);
  best = r->best;
  if (best->model == NULL)
    return NULL;
  s = kan_session_new ();
  s->model = kan_model_copy (best->model);
  /* With units the network takes the dimensionless groups. */
  s->data = kan_dataset_copy (r->model_data ? r->model_data : d);
  s->train.opt = KAN_OPT_LM;
  s->train.update_grid = FALSE;
  detail = g_strdup_printf ("%s (width %s, seed %" G_GUINT64_FORMAT ", %s; %d formulas, %.1f s)",
                            best->text, best->width, best->seed, best->lock, r->n_candidates,
                            r->seconds);
  kan_ops_record (s, "discover", detail);
  return s;
}

/* Classification and inputs ----------------------------------------------------------------- */

/* The share of the N rows of X whose largest output of M is the label in Y (stride N_Y). */
static double
accuracy_rows (const KanModel *m,
               const double   *x,
               const double   *y,
               int             n_y,
               size_t          n)
{
  int n_out = kan_model_n_out (m);
  g_autofree double *out = NULL;
  size_t hits = 0;

  if (n == 0)
    return NAN;
  out = g_new (double, n * n_out);
  kan_model_eval (m, x, n, out);
  for (size_t b = 0; b < n; b++)
    {
      int best = 0;
      for (int q = 1; q < n_out; q++)
        if (out[b * n_out + q] > out[b * n_out + best])
          best = q;
      hits += best == (int) y[b * n_y];
    }
  return (double) hits / n;
}

void
kan_ops_accuracy (const KanModel   *m,
                  const KanDataset *d,
                  KanLoss           loss,
                  double           *train,
                  double           *test)
{
  *train = *test = NAN;
  if (m == NULL || d == NULL || loss != KAN_LOSS_CE || d->n_in != kan_model_n_in (m))
    return;
  *train = accuracy_rows (m, d->train_x, d->train_y, d->n_out, d->n_train);
  *test = accuracy_rows (m, d->test_x, d->test_y, d->n_out, d->n_test);
}

static int
input_rank_cmp (gconstpointer a,
                gconstpointer b)
{
  const KanOpsInputRank *ra = a, *rb = b;

  if (ra->score != rb->score)
    return ra->score > rb->score ? -1 : 1;
  return ra->input - rb->input;
}

GArray *
kan_ops_input_ranking (const KanSession *s,
                       GError          **error)
{
  g_autoptr (KanScores) sc = NULL;
  const double *scores;
  GArray *r;

  g_return_val_if_fail (s != NULL && s->model != NULL && s->data != NULL, NULL);
  sc = kan_scores_compute (s->model, s->data->train_x, s->data->n_train, error);
  if (sc == NULL)
    return NULL;
  scores = kan_scores_inputs (sc);
  r = g_array_new (FALSE, FALSE, sizeof (KanOpsInputRank));
  for (int i = 0; i < kan_model_n_in (s->model); i++)
    {
      KanOpsInputRank e = { i, scores[i] };
      g_array_append_val (r, e);
    }
  g_array_sort (r, input_rank_cmp);
  return r;
}

/* X (N rows of N_IN columns) with only the columns KEPT (ending with -1). */
static double *
keep_columns (const double *x,
              size_t        n,
              int           n_in,
              const int    *kept,
              int           n_kept)
{
  double *c = g_new (double, MAX (n * n_kept, 1));

  for (size_t b = 0; b < n; b++)
    for (int q = 0; q < n_kept; q++)
      c[b * n_kept + q] = x[b * n_in + kept[q]];
  return c;
}

static char **
keep_strv (char *const *v,
           const int   *kept,
           int          n_kept)
{
  char **c;

  if (v == NULL)
    return NULL;
  c = g_new0 (char *, n_kept + 1);
  for (int q = 0; q < n_kept; q++)
    c[q] = g_strdup (v[kept[q]]);
  return c;
}

static double *
keep_values (const double *v,
             const int    *kept,
             int           n_kept,
             int           stride)
{
  double *c;

  if (v == NULL)
    return NULL;
  c = g_new (double, n_kept * stride);
  for (int q = 0; q < n_kept; q++)
    for (int k = 0; k < stride; k++)
      c[q * stride + k] = v[kept[q] * stride + k];
  return c;
}

/* A copy of D with only the input columns KEPT; a formula data set becomes rows (its formula
 * needs the columns that are gone). */
static KanDataset *
dataset_keep_inputs (const KanDataset *d,
                     const int        *kept,
                     int               n_kept)
{
  KanDataset *c = kan_dataset_copy (d);

  g_free (c->train_x);
  g_free (c->test_x);
  c->train_x = keep_columns (d->train_x, d->n_train, d->n_in, kept, n_kept);
  c->test_x = keep_columns (d->test_x, d->n_test, d->n_in, kept, n_kept);
  g_strfreev (c->in_names);
  c->in_names = keep_strv (d->in_names, kept, n_kept);
  g_strfreev (c->in_units);
  c->in_units = keep_strv (d->in_units, kept, n_kept);
  g_free (c->in_mean);
  c->in_mean = keep_values (d->in_mean, kept, n_kept, 1);
  g_free (c->in_std);
  c->in_std = keep_values (d->in_std, kept, n_kept, 1);
  g_free (c->ranges);
  c->ranges = keep_values (d->ranges, kept, n_kept, 2);
  c->n_in = n_kept;
  if (c->source == KAN_DATA_FORMULA)
    {
      c->source = KAN_DATA_ARRAYS;
      g_clear_pointer (&c->formula, g_free);
      g_clear_pointer (&c->ranges, g_free);
    }
  return c;
}

static void
append_names (GString     *t,
              char *const *names,
              const int   *cols,
              int          n)
{
  for (int q = 0; q < n; q++)
    g_string_append_printf (t, "%s%s", q ? "," : "", names ? names[cols[q]] : "?");
}

int
kan_ops_prune_inputs (KanSession *s,
                      double      threshold,
                      GError    **error)
{
  g_autoptr (KanScores) sc = NULL;
  g_autoptr (KanModel) pruned = NULL;
  g_autofree int *kept = NULL;
  g_autofree int *removed = NULL;
  g_autoptr (GString) detail = g_string_new (NULL);
  int n_in, n_kept = 0, n_removed = 0;

  g_return_val_if_fail (s != NULL && s->model != NULL && s->data != NULL, -1);
  if (isnan (threshold))
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID, "the input threshold is NaN");
      return -1;
    }
  n_in = kan_model_n_in (s->model);
  if (s->data->n_in != n_in)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_SHAPE,
                   "the data have %d input columns but the model takes %d inputs",
                   s->data->n_in, n_in);
      return -1;
    }
  sc = kan_scores_compute (s->model, s->data->train_x, s->data->n_train, error);
  if (sc == NULL)
    return -1;
  pruned = kan_model_prune_inputs (s->model, sc, threshold, NULL, &kept, error);
  if (pruned == NULL)
    return -1;
  while (kept[n_kept] >= 0)
    n_kept++;
  if (n_kept == n_in)
    return 0;
  removed = g_new (int, n_in);
  for (int i = 0, q = 0; i < n_in; i++)
    if (q < n_kept && kept[q] == i)
      q++;
    else
      removed[n_removed++] = i;

  g_string_append_printf (detail, "threshold=%g removed=", threshold);
  append_names (detail, s->data->in_names, removed, n_removed);
  g_string_append (detail, " kept=");
  append_names (detail, s->data->in_names, kept, n_kept);
  {
    KanDataset *nd = dataset_keep_inputs (s->data, kept, n_kept);
    kan_dataset_free (s->data);
    s->data = nd;
  }
  set_model (s, g_steal_pointer (&pruned));
  kan_ops_record (s, "prune-inputs", detail->str);
  return n_removed;
}
