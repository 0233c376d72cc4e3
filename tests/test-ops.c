/* test-ops.c — the session operations of kan-ops.c, on a trained network.
 *
 * The main promise: the prune preview lists exactly what the prune then removes, and the model
 * it leaves is pykan's prune (kan_model_prune) of the same thresholds, parameter for parameter.
 * Every operation records one history entry with the metrics of the model after it, and leaves
 * the session as it was when it fails.
 */
#include <check.h>
#include <math.h>
#include <string.h>
#include <gsl/gsl_errno.h>

#include "kan-ops.h"
#include "kan-error.h"
#include "kan-lock.h"
#include "kan-symbolic.h"
#include "kan-train.h"
#include "test-helpers.h"

/* The demo of the workbench, trained with a sparsifying regulariser; made once for each test
 * case (an unchecked fixture, in the parent process). */
static KanSession *trained;

static void
train_demo (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (KanTrainer) t = NULL;
  KanSession *s = kan_session_new ();

  s->data = kt_demo_data (300, 200);
  s->model = kt_model_new ("2,5,1", NULL, 5, 3, KAN_BASE_SILU, 1);
  kan_train_config_init (&s->train);
  s->train.steps = 20;
  s->train.lamb = 0.01;
  t = kan_trainer_new (s->model, s->data, &s->train, &error);
  ck_assert_msg (t != NULL, "%s", error ? error->message : "");
  for (int k = 0; k < s->train.steps; k++)
    {
      KanStepInfo info;
      ck_assert_msg (kan_trainer_step (t, NULL, &info, &error), "%s", error->message);
    }
  trained = s;
}

static void
free_demo (void)
{
  g_clear_pointer (&trained, kan_session_free);
}

/* A session of its own for each test: the trained model and data, an empty history. */
static KanSession *
session_copy (const KanSession *from)
{
  KanSession *s = kan_session_new ();

  s->model = kan_model_copy (from->model);
  s->data = kan_dataset_copy (from->data);
  s->train = from->train;
  return s;
}

static const KanHistoryEntry *
last_entry (const KanSession *s)
{
  ck_assert_uint_gt (s->history->len, 0);
  return g_ptr_array_index (s->history, s->history->len - 1);
}

static gboolean
same_params (const KanModel *a,
             const KanModel *b)
{
  return kan_model_n_params (a) == kan_model_n_params (b)
         && memcmp (kan_model_params_const (a), kan_model_params_const (b),
                    kan_model_n_params (a) * sizeof (double)) == 0;
}

static gboolean
same_modes (const KanModel *a,
            const KanModel *b)
{
  if (kan_model_depth (a) != kan_model_depth (b))
    return FALSE;
  for (int l = 0; l < kan_model_depth (a); l++)
    {
      if (kan_model_layer_in (a, l) != kan_model_layer_in (b, l)
          || kan_model_layer_out (a, l) != kan_model_layer_out (b, l))
        return FALSE;
      for (int i = 0; i < kan_model_layer_in (a, l); i++)
        for (int j = 0; j < kan_model_layer_out (a, l); j++)
          if (kan_model_edge_mode (a, l, i, j) != kan_model_edge_mode (b, l, i, j))
            return FALSE;
    }
  return TRUE;
}

static gboolean
same_array (const GArray *a,
            const GArray *b)
{
  guint size = g_array_get_element_size ((GArray *) a);

  return a->len == b->len && size == g_array_get_element_size ((GArray *) b)
         && (a->len == 0 || memcmp (a->data, b->data, (gsize) a->len * size) == 0);
}

/* The entry holds the metrics of the session's model now. */
static void
check_entry_metrics (const KanSession *s)
{
  const KanHistoryEntry *e = last_entry (s);
  double tr, te;

  kan_ops_metrics (s->model, s->data, s->train.loss, &tr, &te);
  ck_assert_double_eq (e->train_rmse, tr);
  ck_assert_double_eq (e->test_rmse, te);
}

/* Metrics and history ------------------------------------------------------------------------ */

START_TEST (test_metrics)
{
  g_autoptr (KanSession) s = session_copy (trained);
  const KanDataset *d = s->data;
  double tr, te;
  size_t n_test = d->n_test;

  kan_ops_metrics (s->model, d, KAN_LOSS_MSE, &tr, &te);
  ck_assert_double_eq_tol (tr, sqrt (kan_model_loss (s->model, KAN_LOSS_MSE, d->train_x,
                                                     d->train_y, d->n_train)), 1e-15);
  ck_assert_double_eq_tol (te, sqrt (kan_model_loss (s->model, KAN_LOSS_MSE, d->test_x,
                                                     d->test_y, d->n_test)), 1e-15);
  ck_assert (tr > 0 && tr < 0.5);
  /* No rows, no data: NaN. */
  s->data->n_test = 0;
  kan_ops_metrics (s->model, d, KAN_LOSS_MSE, &tr, &te);
  ck_assert (isfinite (tr) && isnan (te));
  s->data->n_test = n_test;
  kan_ops_metrics (s->model, NULL, KAN_LOSS_MSE, &tr, &te);
  ck_assert (isnan (tr) && isnan (te));

  kan_ops_record (s, "note", "x=1");
  ck_assert_uint_eq (s->history->len, 1);
  ck_assert_str_eq (last_entry (s)->op, "note");
  ck_assert_str_eq (last_entry (s)->detail, "x=1");
  check_entry_metrics (s);
}
END_TEST

START_TEST (test_fit_record)
{
  g_autoptr (KanSession) s = session_copy (trained);
  KanTrainConfig cfg = s->train;
  KanOpsFitRun run = { .steps = 7, .stopped = TRUE, .data_note = "x1*x2" };
  KanOpsFitRun known = { .steps = 3, .have_rmse = TRUE, .train_rmse = 0.125,
                         .test_rmse = 0.25 };
  const KanHistoryEntry *e;

  cfg.opt = KAN_OPT_ADAM;
  cfg.steps = 40;
  cfg.lr = 0.01;
  cfg.batch = 32;
  cfg.update_grid = FALSE;
  s->steps_done = 5;
  e = kan_ops_fit_record (s, &cfg, &run);
  ck_assert_ptr_eq (e, last_entry (s));
  ck_assert_str_eq (e->op, "fit");
  ck_assert_str_eq (e->detail, "opt=adam steps=40 lr=0.01 lamb=0.01 batch=32 grid_update=no "
                    "stopped=7 data=x1*x2");
  check_entry_metrics (s);
  ck_assert_int_eq (s->steps_done, 12);
  ck_assert_int_eq (s->train.opt, KAN_OPT_ADAM);
  ck_assert_int_eq (s->train.steps, 40);

  /* Metrics the caller already has are recorded as given. */
  e = kan_ops_fit_record (s, &cfg, &known);
  ck_assert_double_eq (e->train_rmse, 0.125);
  ck_assert_double_eq (e->test_rmse, 0.25);
  ck_assert_ptr_null (strstr (e->detail, "stopped"));
  ck_assert_int_eq (s->steps_done, 15);
}
END_TEST

/* Prune -------------------------------------------------------------------------------------- */

/* Thresholds: pykan's defaults (the demo becomes 2,1,1); low ones that remove one node and
 * several faint edges; an edge threshold that cuts a live edge; and a node threshold above every
 * score, where each hidden layer must keep its best node rather than be emptied. */
static const double prune_th[][2] = {
  { KAN_OPS_NODE_THRESHOLD, KAN_OPS_EDGE_THRESHOLD },
  { 1e-5, 1e-5 },
  { 0.01, 0.5 },
  { 1e9, 0.0 },
};

START_TEST (test_prune_preview_equals_prune)
{
  g_autoptr (KanSession) s = session_copy (trained);
  g_autoptr (KanModel) before = kan_model_copy (s->model);
  g_autoptr (KanOpsPrunePlan) preview = NULL, done = NULL;
  g_autoptr (KanModel) pykan = NULL;
  g_autoptr (KanScores) sc = NULL;
  g_autoptr (KanModel) nodes_only = NULL;
  g_autoptr (GError) error = NULL;
  double node_th = prune_th[_i][0], edge_th = prune_th[_i][1];
  const KanDataset *d = s->data;
  int off_before = 0, off_after = 0;

  preview = kan_ops_prune_preview (s, node_th, edge_th, NULL, &error);
  g_assert_no_error (error);
  /* The second and third thresholds remove nodes and edges both (so the comparisons below
   * compare something). */
  if (_i == 1 || _i == 2)
    ck_assert_msg (preview->nodes->len > 0 && preview->edges->len > 0, "%s", preview->detail);
  /* The preview changes nothing. */
  ck_assert (same_params (s->model, before));
  ck_assert_uint_eq (s->history->len, 0);

  ck_assert (kan_ops_prune (s, node_th, edge_th, NULL, &done, &error));
  g_assert_no_error (error);

  /* What the preview said is what the prune removed. */
  ck_assert (same_array (preview->nodes, done->nodes));
  ck_assert (same_array (preview->edges, done->edges));
  ck_assert_str_eq (preview->width_after, done->width_after);
  ck_assert_str_eq (preview->width_before, "2,5,1");
  ck_assert (same_params (s->model, preview->model));
  ck_assert (same_modes (s->model, preview->model));
  {
    g_autofree char *w = kan_shape_to_string (kan_model_shape (s->model));
    ck_assert_str_eq (w, preview->width_after);
  }
  /* Each hidden node listed is gone, and only those. */
  ck_assert_int_eq (kan_shape_nodes (kan_model_shape (s->model), 1),
                    5 - (int) preview->nodes->len);
  ck_assert_int_ge (kan_shape_nodes (kan_model_shape (s->model), 1), 1);

  /* The edges listed are off now, and no other edge changed. */
  sc = kan_scores_compute (before, d->train_x, d->n_train, &error);
  g_assert_no_error (error);
  nodes_only = kan_model_prune_nodes (before, sc, node_th, NULL, &error);
  g_assert_no_error (error);
  for (int l = 0; l < kan_model_depth (s->model); l++)
    for (int i = 0; i < kan_model_layer_in (s->model, l); i++)
      for (int j = 0; j < kan_model_layer_out (s->model, l); j++)
        {
          gboolean listed = FALSE;
          for (guint q = 0; q < preview->edges->len; q++)
            {
              const KanOpsEdge *e = &g_array_index (preview->edges, KanOpsEdge, q);
              listed |= e->l == l && e->i == i && e->j == j;
            }
          off_before += kan_model_edge_mode (nodes_only, l, i, j) == KAN_EDGE_OFF;
          off_after += kan_model_edge_mode (s->model, l, i, j) == KAN_EDGE_OFF;
          if (listed)
            ck_assert_int_ne (kan_model_edge_mode (nodes_only, l, i, j), KAN_EDGE_OFF);
          ck_assert_int_eq (kan_model_edge_mode (s->model, l, i, j),
                            listed ? KAN_EDGE_OFF : kan_model_edge_mode (nodes_only, l, i, j));
        }
  ck_assert_int_eq (off_after - off_before, (int) preview->edges->len);

  /* The removed nodes are those at or below the threshold, except a layer's best. */
  {
    const double *ns = kan_scores_node (sc, 1);
    int best = 0;
    for (int i = 1; i < 5; i++)
      if (ns[i] > ns[best])
        best = i;
    for (int i = 0; i < 5; i++)
      {
        gboolean removed = FALSE;
        for (guint q = 0; q < preview->nodes->len; q++)
          removed |= g_array_index (preview->nodes, KanOpsNode, q).i == i;
        if (removed)
          ck_assert (ns[i] <= node_th);
        else
          ck_assert (ns[i] > node_th || i == best);
      }
  }

  /* The model left is pykan's prune of the same thresholds. */
  pykan = kan_model_prune (before, d->train_x, d->n_train, node_th, edge_th, &error);
  g_assert_no_error (error);
  ck_assert (same_params (s->model, pykan));
  ck_assert (same_modes (s->model, pykan));

  /* The RMSE before and after, and the history entry. */
  {
    double tr, te;
    kan_ops_metrics (before, d, s->train.loss, &tr, &te);
    ck_assert_double_eq (preview->train_before, tr);
    ck_assert_double_eq (preview->test_before, te);
  }
  check_entry_metrics (s);
  ck_assert_double_eq (last_entry (s)->train_rmse, preview->train_after);
  ck_assert_double_eq (last_entry (s)->test_rmse, preview->test_after);
  ck_assert_str_eq (last_entry (s)->op, "prune");
  ck_assert_str_eq (last_entry (s)->detail, preview->detail);
  ck_assert_uint_eq (s->history->len, 1);
}
END_TEST

START_TEST (test_prune_cases)
{
  g_autoptr (KanSession) s = session_copy (trained);
  g_autoptr (KanOpsPrunePlan) plan = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *nodes = NULL, *edges = NULL, *summary = NULL;
  const int keep1[] = { 3, 0, -1 };
  const int *keep[] = { keep1 };
  const int bad1[] = { 9, -1 };
  const int *bad[] = { bad1 };

  /* The thresholds of the default case keep the data's structure; above every score, the best
   * node is kept. */
  plan = kan_ops_prune_preview (s, 1e9, 0, NULL, &error);
  g_assert_no_error (error);
  ck_assert_str_eq (plan->width_after, "2,1,1");
  ck_assert_uint_eq (plan->nodes->len, 4);
  g_clear_pointer (&plan, kan_ops_prune_plan_free);

  /* Chosen nodes. */
  plan = kan_ops_prune_preview (s, KAN_OPS_NODE_THRESHOLD, 0, keep, &error);
  g_assert_no_error (error);
  ck_assert_str_eq (plan->width_after, "2,2,1");
  nodes = kan_ops_prune_plan_nodes_text (plan);
  edges = kan_ops_prune_plan_edges_text (plan);
  ck_assert_str_eq (nodes, "(1,1), (1,2), (1,4)");
  ck_assert_str_eq (edges, "");
  ck_assert_ptr_nonnull (strstr (plan->detail, "keep=1:3,0 "));
  ck_assert_ptr_nonnull (strstr (plan->detail, "width=2,5,1->2,2,1 nodes=3 edges=0"));
  summary = kan_ops_prune_plan_summary (plan);
  ck_assert_ptr_nonnull (strstr (summary, "3 nodes ((1,1), (1,2), (1,4)), then 0 edges"));
  ck_assert_ptr_nonnull (strstr (summary, "width 2,5,1 → 2,2,1"));
  g_clear_pointer (&plan, kan_ops_prune_plan_free);

  /* Bad lists and thresholds are errors, and change nothing. */
  ck_assert_ptr_null (kan_ops_prune_preview (s, 0.01, 0.03, bad, &error));
  ck_assert_ptr_nonnull (error);
  g_clear_error (&error);
  ck_assert (!kan_ops_prune (s, NAN, 0.03, NULL, NULL, &error));
  g_assert_error (error, KAN_ERROR, KAN_ERROR_INVALID);
  g_clear_error (&error);
  ck_assert_uint_eq (s->history->len, 0);
  ck_assert (same_params (s->model, trained->model));
}
END_TEST

START_TEST (test_prune_by_hand)
{
  g_autoptr (KanSession) s = session_copy (trained);
  g_autoptr (GError) error = NULL;
  g_autofree char *w = NULL;

  ck_assert (kan_ops_prune_node (s, 1, 0, &error));
  w = kan_shape_to_string (kan_model_shape (s->model));
  ck_assert_str_eq (w, "2,4,1");
  ck_assert_str_eq (last_entry (s)->op, "prune");
  ck_assert_str_eq (last_entry (s)->detail, "node (1,0)");
  check_entry_metrics (s);

  ck_assert (kan_ops_prune_edge (s, 0, 1, 2, &error));
  ck_assert_int_eq (kan_model_edge_mode (s->model, 0, 1, 2), KAN_EDGE_OFF);
  ck_assert_str_eq (last_entry (s)->detail, "edge (0,1,2)");
  check_entry_metrics (s);

  /* Input, output and missing nodes, missing edges; the last node of a layer stays. */
  ck_assert (!kan_ops_prune_node (s, 0, 0, &error));
  g_clear_error (&error);
  ck_assert (!kan_ops_prune_node (s, 2, 0, &error));
  g_clear_error (&error);
  ck_assert (!kan_ops_prune_node (s, 1, 4, &error));
  g_clear_error (&error);
  ck_assert (!kan_ops_prune_edge (s, 0, 2, 0, &error));
  g_clear_error (&error);
  for (int k = 0; k < 3; k++)
    ck_assert (kan_ops_prune_node (s, 1, 0, &error));
  ck_assert (!kan_ops_prune_node (s, 1, 0, &error));
  ck_assert_ptr_nonnull (strstr (error->message, "last of its layer"));
  ck_assert_uint_eq (s->history->len, 5);
}
END_TEST

/* Lock, unlock, auto-symbolic ---------------------------------------------------------------- */

START_TEST (test_lock_unlock)
{
  g_autoptr (KanSession) s = session_copy (trained);
  g_autoptr (GError) error = NULL;
  KanSymFit fit;

  ck_assert (kan_ops_lock (s, 0, 0, 0, "sin", &fit, &error));
  g_assert_no_error (error);
  ck_assert_int_eq (kan_model_edge_mode (s->model, 0, 0, 0), KAN_EDGE_SYMBOLIC);
  ck_assert_int_eq (kan_model_edge_sym (s->model, 0, 0, 0), kan_sym_lookup ("sin"));
  ck_assert_int_eq (fit.sym_id, kan_sym_lookup ("sin"));
  ck_assert_str_eq (last_entry (s)->op, "lock");
  {
    g_autofree char *want = g_strdup_printf ("(0,0,0) sin r2=%.6f", fit.r2);
    ck_assert_str_eq (last_entry (s)->detail, want);
  }
  check_entry_metrics (s);

  ck_assert (kan_ops_unlock (s, 0, 0, 0, &error));
  ck_assert_int_eq (kan_model_edge_mode (s->model, 0, 0, 0), KAN_EDGE_NUMERIC);
  ck_assert_str_eq (last_entry (s)->op, "unlock");
  ck_assert_str_eq (last_entry (s)->detail, "(0,0,0)");
  check_entry_metrics (s);
  ck_assert_uint_eq (s->history->len, 2);

  /* Refused, with nothing recorded: unlocking a spline, unknown or listed names, missing edges,
   * and locking or unlocking a pruned edge (it stays pruned). */
  ck_assert (!kan_ops_unlock (s, 0, 0, 0, &error));
  ck_assert_ptr_nonnull (strstr (error->message, "not locked"));
  g_clear_error (&error);
  ck_assert (!kan_ops_lock (s, 0, 0, 1, "no-such", NULL, &error));
  g_clear_error (&error);
  ck_assert (!kan_ops_lock (s, 0, 0, 1, "sin,x", NULL, &error));
  g_clear_error (&error);
  ck_assert (!kan_ops_lock (s, 3, 0, 0, "sin", NULL, &error));
  g_clear_error (&error);
  ck_assert (kan_ops_prune_edge (s, 0, 1, 1, &error));
  ck_assert (!kan_ops_lock (s, 0, 1, 1, "x", NULL, &error));
  ck_assert_ptr_nonnull (strstr (error->message, "pruned"));
  g_clear_error (&error);
  ck_assert (!kan_ops_unlock (s, 0, 1, 1, &error));
  g_clear_error (&error);
  ck_assert_int_eq (kan_model_edge_mode (s->model, 0, 1, 1), KAN_EDGE_OFF);
  ck_assert_uint_eq (s->history->len, 3);
}
END_TEST

START_TEST (test_auto_symbolic)
{
  g_autoptr (KanSession) s = session_copy (trained);
  g_autoptr (GError) error = NULL;
  g_autoptr (KanOpsSymbolicReport) r = NULL;
  g_autofree int *lib = NULL;
  const double r2 = 0.99;
  int n_lib, counted = 0, skipped_r2 = 0;

  lib = kan_sym_parse_lib ("x,x^2,sin,exp", &n_lib, &error);
  g_assert_no_error (error);
  ck_assert (kan_ops_prune_edge (s, 0, 0, 4, &error));
  ck_assert (kan_ops_lock (s, 1, 2, 0, "x", NULL, &error));
  r = kan_ops_auto_symbolic (s, lib, n_lib, r2, &error);
  g_assert_no_error (error);

  /* One report per edge, in order, each saying what happened to it. */
  ck_assert_uint_eq (r->edges->len, 2 * 5 + 5 * 1);
  for (guint q = 0; q < r->edges->len; q++)
    {
      const KanOpsEdgeReport *e = &g_array_index (r->edges, KanOpsEdgeReport, q);
      KanEdgeMode mode = kan_model_edge_mode (s->model, e->l, e->i, e->j);
      g_autofree char *line = kan_ops_edge_report_text (e, r2);
      g_autofree char *head = g_strdup_printf ("(%d,%d,%d) ", e->l, e->i, e->j);

      ck_assert_int_eq ((int) q, e->l == 0 ? e->i * 5 + e->j : 10 + e->i);
      ck_assert (g_str_has_prefix (line, head));
      switch (e->outcome)
        {
        case KAN_OPS_EDGE_LOCKED:
          counted++;
          ck_assert_int_eq (mode, KAN_EDGE_SYMBOLIC);
          ck_assert_int_eq (kan_model_edge_sym (s->model, e->l, e->i, e->j), e->fit.sym_id);
          ck_assert (e->fit.r2 >= r2);
          ck_assert_ptr_nonnull (strstr (line, "locked to"));
          break;
        case KAN_OPS_EDGE_SKIPPED_PRUNED:
          ck_assert (e->l == 0 && e->i == 0 && e->j == 4);
          ck_assert_int_eq (mode, KAN_EDGE_OFF);
          break;
        case KAN_OPS_EDGE_SKIPPED_LOCKED:
          ck_assert (e->l == 1 && e->i == 2 && e->j == 0);
          ck_assert_int_eq (kan_model_edge_sym (s->model, 1, 2, 0), kan_sym_lookup ("x"));
          break;
        case KAN_OPS_EDGE_SKIPPED_R2:
          skipped_r2++;
          ck_assert_int_eq (mode, KAN_EDGE_NUMERIC);
          ck_assert (e->fit.sym_id >= 0 && e->fit.r2 < r2);
          ck_assert_ptr_nonnull (strstr (line, "left numeric"));
          break;
        }
    }
  ck_assert_int_eq (counted, r->n_locked);
  ck_assert_int_eq (counted + skipped_r2, 13);
  ck_assert_str_eq (last_entry (s)->op, "symbolic");
  {
    g_autofree char *want = g_strdup_printf ("lib=x,x^2,sin,exp r2=0.99 locked=%d", counted);
    ck_assert_str_eq (last_entry (s)->detail, want);
  }
  check_entry_metrics (s);
}
END_TEST

START_TEST (test_auto_symbolic_fails_cleanly)
{
  g_autoptr (KanSession) s = session_copy (trained);
  g_autoptr (GError) error = NULL;
  g_autoptr (KanOpsSymbolicReport) r = NULL;
  size_t n_train = s->data->n_train;

  /* Nothing reaches R² 2: no edge locked, every one reported, one entry. */
  r = kan_ops_auto_symbolic (s, NULL, 0, 2.0, &error);
  g_assert_no_error (error);
  ck_assert_int_eq (r->n_locked, 0);
  ck_assert_str_eq (last_entry (s)->detail, "lib=all r2=2 locked=0");
  ck_assert (same_params (s->model, trained->model));
  g_clear_pointer (&r, kan_ops_symbolic_report_free);

  /* Too few rows to fit: an error, and the model and history as they were. */
  s->data->n_train = 3;
  r = kan_ops_auto_symbolic (s, NULL, 0, 0.0, &error);
  s->data->n_train = n_train;
  ck_assert_ptr_null (r);
  g_assert_error (error, KAN_ERROR, KAN_ERROR_DATA);
  ck_assert (same_params (s->model, trained->model));
  ck_assert (same_modes (s->model, trained->model));
  ck_assert_uint_eq (s->history->len, 1);
}
END_TEST

/* Refine and formula ------------------------------------------------------------------------- */

START_TEST (test_refine)
{
  g_autoptr (KanSession) s = session_copy (trained);
  g_autoptr (GError) error = NULL;
  double tr, te, tr0, te0;

  kan_ops_metrics (s->model, s->data, s->train.loss, &tr0, &te0);
  ck_assert (kan_ops_refine (s, 10, &tr, &te, &error));
  g_assert_no_error (error);
  ck_assert_double_eq (tr, tr0);
  ck_assert_double_eq (te, te0);
  ck_assert_int_eq (kan_model_grid (s->model), 10);
  ck_assert_str_eq (last_entry (s)->op, "refine");
  ck_assert_str_eq (last_entry (s)->detail, "grid=5->10");
  check_entry_metrics (s);
  /* A refined spline is a least-squares fit of the old one: close, not equal. */
  ck_assert (fabs (last_entry (s)->train_rmse - tr0) < 0.1 * tr0 + 1e-3);

  ck_assert (!kan_ops_refine (s, 0, NULL, NULL, &error));
  ck_assert_ptr_nonnull (error);
  ck_assert_int_eq (kan_model_grid (s->model), 10);
  ck_assert_uint_eq (s->history->len, 1);
}
END_TEST

START_TEST (test_formula)
{
  g_autoptr (KanSession) s = session_copy (trained);
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) numeric = NULL;
  KanExpr *e;

  /* Splines left: no formula, and the edges named. */
  e = kan_ops_formula (s, TRUE, &numeric, &error);
  ck_assert_ptr_null (e);
  ck_assert_ptr_nonnull (error);
  ck_assert_ptr_nonnull (numeric);
  ck_assert_uint_eq (g_strv_length (numeric), 15);
}
END_TEST

static Suite *
ops_suite (void)
{
  Suite *s = suite_create ("ops");
  TCase *tc;

  tc = tcase_create ("history");
  tcase_add_unchecked_fixture (tc, train_demo, free_demo);
  tcase_add_test (tc, test_metrics);
  tcase_add_test (tc, test_fit_record);
  suite_add_tcase (s, tc);

  tc = tcase_create ("prune");
  tcase_add_unchecked_fixture (tc, train_demo, free_demo);
  tcase_set_timeout (tc, 120);
  tcase_add_loop_test (tc, test_prune_preview_equals_prune, 0, G_N_ELEMENTS (prune_th));
  tcase_add_test (tc, test_prune_cases);
  tcase_add_test (tc, test_prune_by_hand);
  suite_add_tcase (s, tc);

  tc = tcase_create ("symbolic");
  tcase_add_unchecked_fixture (tc, train_demo, free_demo);
  tcase_set_timeout (tc, 120);
  tcase_add_test (tc, test_lock_unlock);
  tcase_add_test (tc, test_auto_symbolic);
  tcase_add_test (tc, test_auto_symbolic_fails_cleanly);
  suite_add_tcase (s, tc);

  tc = tcase_create ("refine");
  tcase_add_unchecked_fixture (tc, train_demo, free_demo);
  tcase_add_test (tc, test_refine);
  tcase_add_test (tc, test_formula);
  suite_add_tcase (s, tc);
  return s;
}

int
main (int    argc,
      char **argv)
{
  gsl_set_error_handler_off ();
  return kt_run (ops_suite (), argc, argv);
}
