/* test-worker.c — the training worker: snapshots, pause, step, stop, errors, free, stress.
 *
 * The worker is GLib-only, so these tests iterate a private GMainContext: no GTK, no display.
 * The "stress" case is the one tools/tsan-stress.sh runs under ThreadSanitizer.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <gio/gio.h>
#include <gsl/gsl_errno.h>

#include "kan.h"
#include "kan-worker.h"
#include "test-helpers.h"

/* ------------------------------------------------------------------------------------------ */
/* Fixture                                                                                     */

typedef struct
{
  GMainContext *ctx;
  KanWorker    *w;
  KanDataset   *d;                 /* fx_init_demo's inputs, or NULL */
  KanModel     *m;
  gboolean      freed;             /* set right after kan_worker_free */
  int           callbacks_after_free;
  /* snapshots */
  int           n_snapshots;
  int           last_step;
  gboolean      steps_monotonic;
  gint64        first_snapshot_us, last_snapshot_us;
  double        checksum;          /* keeps the "drawing" from being optimised away */
  gboolean      free_in_snapshot;  /* the snapshot callback frees the worker */
  /* done */
  int           n_done;
  KanModel     *model;
  KanStepInfo   info;
  gboolean      have_info;
  GError       *error;
  gboolean      stopped;
} Fx;

/* Reads every field of S, the way the canvas would while drawing it. */
static double
draw (const KanSnapshot *s)
{
  double acc = 0;

  ck_assert (s->model != NULL);
  ck_assert_int_ge (s->depth, 1);
  for (int l = 0; l <= s->depth; l++)
    {
      acc += s->n_nodes[l] + s->n_sum[l] + s->n_sub[l];
      for (int i = 0; i < s->n_nodes[l]; i++)
        acc += s->node_score[l][i];
    }
  for (int q = 0; q < s->n_edges; q++)
    {
      const KanSnapshotEdge *e = &s->edges[q];
      acc += e->l + e->i + e->j + e->mode + e->sym_id + e->score;
      acc += e->abcd[0] + e->abcd[1] + e->abcd[2] + e->abcd[3];
      acc += e->x_min + e->x_max + e->y_min + e->y_max;
      for (int p = 0; p < KAN_SNAPSHOT_CURVE_POINTS; p++)
        acc += e->curve_x[p] + e->curve_y[p];
      for (int p = 0; p < e->n_samples; p++)
        acc += e->sample_x[p] + e->sample_y[p];
    }
  for (char **n = s->in_names; *n; n++)
    acc += strlen (*n);
  for (char **n = s->out_names; *n; n++)
    acc += strlen (*n);
  acc += s->step + s->seconds;
  if (s->step > 0)
    acc += s->train_rmse + s->test_rmse + s->loss;
  ck_assert_int_eq (s->n_history, s->step);
  /* One check for the whole history: each ck_assert records a checkpoint, which is slow. */
  int bad = 0;
  for (int k = 0; k < s->n_history; k++)
    {
      bad += !isfinite (s->history_train[k]);
      acc += s->history_train[k] + s->history_test[k];
    }
  ck_assert_int_eq (bad, 0);
  if (s->n_history > 0)
    ck_assert (s->history_train[s->n_history - 1] == s->train_rmse);
  acc += kan_model_n_params (s->model);
  return acc;
}

static void
fx_free_worker (Fx *f)
{
  kan_worker_free (f->w);
  f->w = NULL;
  f->freed = TRUE;
}

static void
on_snapshot (KanSnapshot *s, gpointer user_data)
{
  Fx *f = user_data;
  gint64 now = g_get_monotonic_time ();

  if (f->freed)
    f->callbacks_after_free++;
  if (f->n_snapshots == 0)
    f->first_snapshot_us = now;
  f->last_snapshot_us = now;
  f->n_snapshots++;
  if (s->step < f->last_step)
    f->steps_monotonic = FALSE;
  f->last_step = s->step;
  f->checksum += draw (s);
  kan_snapshot_free (s);

  if (f->free_in_snapshot && !f->freed)
    fx_free_worker (f);
}

static void
on_done (KanModel *model, const KanStepInfo *info, const GError *error, gboolean stopped,
         gpointer user_data)
{
  Fx *f = user_data;

  if (f->freed)
    f->callbacks_after_free++;
  f->n_done++;
  kan_model_free (f->model);
  f->model = model;
  f->have_info = info != NULL;
  if (info)
    f->info = *info;
  g_clear_error (&f->error);
  f->error = error ? g_error_copy (error) : NULL;
  f->stopped = stopped;
}

static void
fx_init (Fx *f)
{
  memset (f, 0, sizeof *f);
  f->ctx = g_main_context_new ();
  f->w = kan_worker_new (f->ctx, on_snapshot, on_done, f);
  f->steps_monotonic = TRUE;
}

/* The inputs most tests run on: the demo data (200 train, 100 test rows) and a 2,3,1 model. */
static void
fx_init_demo (Fx *f)
{
  fx_init (f);
  f->d = kt_demo_data (200, 100);
  f->m = kt_model_new ("2,3,1", NULL, 5, 3, KAN_BASE_SILU, 1);
}

static void
fx_clear (Fx *f)
{
  if (f->w)
    fx_free_worker (f);
  while (g_main_context_iteration (f->ctx, FALSE))
    ;
  ck_assert_int_eq (f->callbacks_after_free, 0);
  kan_model_free (f->model);
  kan_model_free (f->m);
  kan_dataset_free (f->d);
  g_clear_error (&f->error);
  g_main_context_unref (f->ctx);
}

static void
iterate (Fx *f)
{
  while (g_main_context_iteration (f->ctx, FALSE))
    ;
}

/* Iterates the context for SECONDS. */
static void
spin (Fx *f, double seconds)
{
  gint64 end = g_get_monotonic_time () + (gint64) (seconds * 1e6);

  while (g_get_monotonic_time () < end)
    {
      iterate (f);
      g_usleep (500);
    }
  iterate (f);
}

typedef gboolean (*Pred) (Fx *f, int arg);

static gboolean
is_done (Fx *f, int n)
{
  return f->n_done >= n;
}

static gboolean
is_paused (Fx *f, int unused)
{
  return kan_worker_get_state (f->w) == KAN_WORKER_PAUSED;
}

static gboolean
has_steps (Fx *f, int n)
{
  return kan_worker_steps_done (f->w) >= n;
}

static gboolean
has_snapshots (Fx *f, int n)
{
  return f->n_snapshots >= n;
}

/* Iterates the context until PRED holds; fails after 10 s. */
static void
wait_for (Fx *f, Pred pred, int arg, const char *what)
{
  gint64 end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  while (!pred (f, arg))
    {
      if (g_get_monotonic_time () >= end)
        ck_abort_msg ("timed out waiting for %s", what);
      iterate (f);
      g_usleep (200);
    }
}

static void
adam_config (KanTrainConfig *cfg, int steps)
{
  kan_train_config_init (cfg);
  cfg->opt = KAN_OPT_ADAM;
  cfg->lr = 1e-2;
  cfg->steps = steps;
  cfg->update_grid = FALSE;
}

/* ------------------------------------------------------------------------------------------ */
/* Runs                                                                                        */

/* A whole run: snapshots with increasing steps, then on_done with a trained copy; the caller's
 * model is untouched. */
START_TEST (test_run_to_end)
{
  g_autofree double *before = NULL;
  KanTrainConfig cfg;
  GError *error = NULL;
  size_t np;
  Fx f;

  fx_init_demo (&f);
  np = kan_model_n_params (f.m);
  before = g_memdup2 (kan_model_params_const (f.m), sizeof (double) * np);
  kan_train_config_init (&cfg);
  cfg.steps = 20;
  ck_assert_int_eq (kan_worker_get_state (f.w), KAN_WORKER_IDLE);
  ck_assert (kan_worker_start (f.w, f.m, f.d, &cfg, FALSE, &error));
  ck_assert (error == NULL);
  ck_assert_int_ne (kan_worker_get_state (f.w), KAN_WORKER_IDLE);
  wait_for (&f, is_done, 1, "the end of the run");

  ck_assert_int_eq (f.n_done, 1);
  ck_assert_msg (f.error == NULL, "%s", f.error ? f.error->message : "");
  ck_assert (!f.stopped);
  ck_assert (f.have_info);
  ck_assert_int_eq (f.info.step, 19);
  ck_assert (isfinite (f.info.train_rmse) && isfinite (f.info.test_rmse));
  ck_assert_int_eq (kan_worker_steps_done (f.w), 20);
  ck_assert_int_eq (kan_worker_get_state (f.w), KAN_WORKER_IDLE);

  ck_assert_int_gt (f.n_snapshots, 0);
  ck_assert (f.steps_monotonic);
  ck_assert_int_eq (f.last_step, 20);

  ck_assert (f.model != NULL && f.model != f.m);
  ck_assert (kan_model_is_finite (f.model));
  ck_assert_int_eq (kan_model_n_params (f.model), np);
  ck_assert (memcmp (kan_model_params_const (f.model), before, sizeof (double) * np) != 0);
  ck_assert (memcmp (kan_model_params_const (f.m), before, sizeof (double) * np) == 0);
  fx_clear (&f);
}
END_TEST

/* The worker copies its inputs: the caller may free them as soon as start returns. */
START_TEST (test_inputs_copied)
{
  KanDataset *d = kt_demo_data (200, 100);
  KanModel *m = kt_model_new ("2,3,1", NULL, 5, 3, KAN_BASE_SILU, 2);
  KanTrainConfig cfg;
  Fx f;

  fx_init (&f);
  kan_train_config_init (&cfg);
  cfg.steps = 5;
  ck_assert (kan_worker_start (f.w, m, d, &cfg, FALSE, NULL));
  kan_model_free (m);
  kan_dataset_free (d);
  wait_for (&f, is_done, 1, "the end of the run");
  ck_assert (f.error == NULL);
  ck_assert_int_eq (f.info.step, 4);
  fx_clear (&f);
}
END_TEST

/* Snapshots come every interval, not every step. */
START_TEST (test_interval)
{
  KanTrainConfig cfg;
  gint64 t0;
  double seconds, spacing_ms;
  int steps, s_stop;
  Fx f;

  fx_init_demo (&f);
  adam_config (&cfg, 1000000);
  kan_worker_set_interval (f.w, 50);
  t0 = g_get_monotonic_time ();
  ck_assert (kan_worker_start (f.w, f.m, f.d, &cfg, FALSE, NULL));
  spin (&f, 1.0);
  s_stop = kan_worker_steps_done (f.w);
  kan_worker_stop (f.w);
  wait_for (&f, is_done, 1, "the end of the run");
  seconds = (g_get_monotonic_time () - t0) / 1e6;
  steps = kan_worker_steps_done (f.w);

  ck_assert (f.stopped);
  ck_assert (f.error == NULL);
  ck_assert_int_le (steps, s_stop + 1);
  ck_assert (f.steps_monotonic);
  ck_assert_int_eq (f.last_step, steps);
  /* About one per 50 ms, plus the one at the end. */
  ck_assert_int_ge (f.n_snapshots, 5);
  ck_assert_msg (f.n_snapshots <= seconds * 1000 / 50 + 3, "%d snapshots in %.2f s",
                 f.n_snapshots, seconds);
  ck_assert_msg (steps > 5 * f.n_snapshots, "%d steps, %d snapshots", steps, f.n_snapshots);
  spacing_ms = (f.last_snapshot_us - f.first_snapshot_us) / 1e3 / (f.n_snapshots - 1);
  ck_assert_msg (spacing_ms >= 35, "snapshots %.1f ms apart", spacing_ms);
  fx_clear (&f);
}
END_TEST

/* Interval 0: a snapshot after every step (the mailbox may merge some the main thread has not
 * taken yet, never more than steps + 1). */
START_TEST (test_interval_zero)
{
  KanTrainConfig cfg;
  Fx f;

  fx_init_demo (&f);
  kan_train_config_init (&cfg);
  cfg.steps = 10;
  kan_worker_set_interval (f.w, 0);
  ck_assert (kan_worker_start (f.w, f.m, f.d, &cfg, FALSE, NULL));
  wait_for (&f, is_done, 1, "the end of the run");
  ck_assert_int_ge (f.n_snapshots, 1);
  ck_assert_int_le (f.n_snapshots, 11);
  ck_assert_int_eq (f.last_step, 10);
  fx_clear (&f);
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* Pause, step, resume, stop                                                                   */

START_TEST (test_pause_step_resume)
{
  KanTrainConfig cfg;
  int s0, s1, n_snap;
  Fx f;

  fx_init_demo (&f);
  adam_config (&cfg, 1000000);
  ck_assert (kan_worker_start (f.w, f.m, f.d, &cfg, FALSE, NULL));
  wait_for (&f, has_steps, 5, "5 steps");

  /* Pause takes effect after at most the step in progress. */
  kan_worker_pause (f.w);
  s0 = kan_worker_steps_done (f.w);
  wait_for (&f, is_paused, 0, "the pause");
  s1 = kan_worker_steps_done (f.w);
  ck_assert_int_le (s1, s0 + 1);
  spin (&f, 0.15);
  ck_assert_int_eq (kan_worker_steps_done (f.w), s1);
  ck_assert_int_eq (kan_worker_get_state (f.w), KAN_WORKER_PAUSED);
  /* The snapshot at pause shows the model at rest. */
  ck_assert_int_eq (f.last_step, s1);

  /* Step while paused: exactly one step and one snapshot, then paused again. */
  n_snap = f.n_snapshots;
  kan_worker_step (f.w);
  wait_for (&f, has_steps, s1 + 1, "one step");
  spin (&f, 0.15);
  ck_assert_int_eq (kan_worker_steps_done (f.w), s1 + 1);
  ck_assert_int_eq (kan_worker_get_state (f.w), KAN_WORKER_PAUSED);
  ck_assert_int_eq (f.n_snapshots, n_snap + 1);
  ck_assert_int_eq (f.last_step, s1 + 1);

  /* Two steps asked for: two steps. */
  kan_worker_step (f.w);
  kan_worker_step (f.w);
  wait_for (&f, has_steps, s1 + 3, "two steps");
  spin (&f, 0.1);
  ck_assert_int_eq (kan_worker_steps_done (f.w), s1 + 3);

  /* Resume: training goes on. */
  kan_worker_resume (f.w);
  wait_for (&f, has_steps, s1 + 20, "steps after resume");
  ck_assert_int_eq (kan_worker_get_state (f.w), KAN_WORKER_RUNNING);
  /* Step while running does nothing special. */
  kan_worker_step (f.w);
  ck_assert_int_eq (kan_worker_get_state (f.w), KAN_WORKER_RUNNING);

  kan_worker_stop (f.w);
  wait_for (&f, is_done, 1, "the end of the run");
  ck_assert (f.stopped);
  ck_assert (f.error == NULL);
  ck_assert (f.steps_monotonic);
  ck_assert (kan_model_is_finite (f.model));
  fx_clear (&f);
}
END_TEST

/* START_PAUSED: nothing runs until asked; a snapshot of the initial model comes at once; stop
 * wakes the paused worker. */
START_TEST (test_start_paused)
{
  KanTrainConfig cfg;
  Fx f;

  fx_init_demo (&f);
  kan_train_config_init (&cfg);
  cfg.steps = 50;
  ck_assert (kan_worker_start (f.w, f.m, f.d, &cfg, TRUE, NULL));
  ck_assert_int_eq (kan_worker_get_state (f.w), KAN_WORKER_PAUSED);
  wait_for (&f, has_snapshots, 1, "the first snapshot");
  ck_assert_int_eq (f.last_step, 0);
  spin (&f, 0.1);
  ck_assert_int_eq (kan_worker_steps_done (f.w), 0);

  kan_worker_step (f.w);
  wait_for (&f, has_snapshots, 2, "the snapshot of the step");
  ck_assert_int_eq (f.last_step, 1);
  spin (&f, 0.1);
  ck_assert_int_eq (kan_worker_steps_done (f.w), 1);

  kan_worker_stop (f.w);
  wait_for (&f, is_done, 1, "the end of the run");
  ck_assert (f.stopped);
  ck_assert (f.have_info);
  ck_assert_int_eq (f.info.step, 0);
  ck_assert_int_eq (kan_worker_steps_done (f.w), 1);
  ck_assert_int_eq (kan_worker_get_state (f.w), KAN_WORKER_IDLE);
  fx_clear (&f);
}
END_TEST

/* Stop ends an L-BFGS run within one step. */
START_TEST (test_stop)
{
  KanTrainConfig cfg;
  int s0;
  Fx f;

  fx_init_demo (&f);
  kan_train_config_init (&cfg);
  cfg.steps = 100000;
  ck_assert (kan_worker_start (f.w, f.m, f.d, &cfg, FALSE, NULL));
  wait_for (&f, has_steps, 3, "3 steps");
  kan_worker_stop (f.w);
  s0 = kan_worker_steps_done (f.w);
  wait_for (&f, is_done, 1, "the end of the run");
  ck_assert_int_le (kan_worker_steps_done (f.w), s0 + 1);
  ck_assert (f.stopped);
  ck_assert (f.error == NULL);
  ck_assert (f.have_info);
  ck_assert (kan_model_is_finite (f.model));
  ck_assert_int_eq (f.last_step, kan_worker_steps_done (f.w));
  /* Stop without a run is harmless. */
  kan_worker_stop (f.w);
  kan_worker_pause (f.w);
  kan_worker_step (f.w);
  kan_worker_resume (f.w);
  spin (&f, 0.05);
  ck_assert_int_eq (f.n_done, 1);
  fx_clear (&f);
}
END_TEST

/* A second start while a run is busy fails; after on_done the worker takes a new run. */
START_TEST (test_busy_and_restart)
{
  KanTrainConfig cfg;
  GError *error = NULL;
  Fx f;

  fx_init_demo (&f);
  kan_train_config_init (&cfg);
  cfg.steps = 3;
  ck_assert (kan_worker_start (f.w, f.m, f.d, &cfg, TRUE, NULL));
  ck_assert (!kan_worker_start (f.w, f.m, f.d, &cfg, FALSE, &error));
  ck_assert (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_PENDING));
  g_clear_error (&error);
  kan_worker_resume (f.w);
  wait_for (&f, is_done, 1, "the first run");
  ck_assert (!f.stopped);
  ck_assert_int_eq (f.info.step, 2);

  /* Start from the trained model. */
  {
    g_autoptr (KanModel) m2 = kan_model_copy (f.model);
    f.last_step = 0;
    ck_assert (kan_worker_start (f.w, m2, f.d, &cfg, FALSE, &error));
    ck_assert (error == NULL);
  }
  wait_for (&f, is_done, 2, "the second run");
  ck_assert (!f.stopped);
  ck_assert_int_eq (f.info.step, 2);
  ck_assert_int_eq (f.last_step, 3);
  fx_clear (&f);
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* Errors                                                                                      */

/* Adam with lr = 1e200 diverges at once: a non-finite error, and the model is finite. */
START_TEST (test_diverge)
{
  KanTrainConfig cfg;
  Fx f;

  fx_init_demo (&f);
  adam_config (&cfg, 20);
  cfg.lr = 1e200;
  ck_assert (kan_worker_start (f.w, f.m, f.d, &cfg, FALSE, NULL));
  wait_for (&f, is_done, 1, "the end of the run");
  ck_assert (g_error_matches (f.error, KAN_ERROR, KAN_ERROR_NONFINITE));
  ck_assert (!f.stopped);
  ck_assert (f.model != NULL);
  ck_assert (kan_model_is_finite (f.model));
  ck_assert_int_lt (kan_worker_steps_done (f.w), 20);
  /* The last snapshot shows the restored model. */
  ck_assert_int_ge (f.n_snapshots, 1);
  ck_assert (kan_model_is_finite (f.m));
  fx_clear (&f);
}
END_TEST

/* A config kan_trainer_new rejects: on_done with the error, no step, the model as given. */
START_TEST (test_bad_config)
{
  g_autoptr (KanModel) m3 = kt_model_new ("3,2,1", NULL, 5, 3, KAN_BASE_SILU, 1);
  KanTrainConfig cfg;
  size_t np;
  Fx f;

  fx_init_demo (&f);
  np = kan_model_n_params (f.m);
  kan_train_config_init (&cfg);
  cfg.lr = -1;
  ck_assert (kan_worker_start (f.w, f.m, f.d, &cfg, FALSE, NULL));
  wait_for (&f, is_done, 1, "the end of the run");
  ck_assert (g_error_matches (f.error, KAN_ERROR, KAN_ERROR_INVALID));
  ck_assert (!f.have_info);
  ck_assert (!f.stopped);
  ck_assert (memcmp (kan_model_params_const (f.model), kan_model_params_const (f.m),
                     sizeof (double) * np) == 0);
  ck_assert_int_eq (f.n_snapshots, 0);
  ck_assert_int_eq (kan_worker_get_state (f.w), KAN_WORKER_IDLE);

  /* A model that does not fit the data. */
  kan_train_config_init (&cfg);
  ck_assert (kan_worker_start (f.w, m3, f.d, &cfg, FALSE, NULL));
  wait_for (&f, is_done, 2, "the end of the second run");
  ck_assert (g_error_matches (f.error, KAN_ERROR, KAN_ERROR_SHAPE));
  fx_clear (&f);
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* Free                                                                                        */

/* Free while running, with dispatches queued that the context has not run: no callback runs
 * afterwards. */
START_TEST (test_free_running)
{
  KanTrainConfig cfg;
  Fx f;

  fx_init_demo (&f);
  adam_config (&cfg, 1000000);
  kan_worker_set_interval (f.w, 5);
  ck_assert (kan_worker_start (f.w, f.m, f.d, &cfg, FALSE, NULL));
  wait_for (&f, has_snapshots, 1, "a snapshot");
  /* Let the worker queue a dispatch without running it. */
  for (int k = 0; k < 5000 && !g_main_context_pending (f.ctx); k++)
    g_usleep (1000);
  ck_assert (g_main_context_pending (f.ctx));
  g_usleep (20000);
  fx_free_worker (&f);
  spin (&f, 0.1);
  ck_assert_int_eq (f.callbacks_after_free, 0);
  ck_assert_int_eq (f.n_done, 0);
  fx_clear (&f);
}
END_TEST

/* Free while paused (the thread waits on the condition) and free of an idle worker. */
START_TEST (test_free_paused)
{
  KanTrainConfig cfg;
  Fx f;

  fx_init_demo (&f);
  kan_train_config_init (&cfg);
  ck_assert (kan_worker_start (f.w, f.m, f.d, &cfg, TRUE, NULL));
  wait_for (&f, has_snapshots, 1, "the snapshot at rest");
  fx_free_worker (&f);
  spin (&f, 0.05);
  fx_clear (&f);

  fx_init (&f);
  fx_clear (&f);
  kan_worker_free (NULL);
}
END_TEST

/* Free after the run ended but before its on_done was dispatched: the trained model it held
 * is freed (ASan checks), and on_done never runs. */
START_TEST (test_free_done_pending)
{
  KanTrainConfig cfg;
  Fx f;

  fx_init_demo (&f);
  kan_train_config_init (&cfg);
  cfg.steps = 2;
  ck_assert (kan_worker_start (f.w, f.m, f.d, &cfg, FALSE, NULL));
  while (kan_worker_steps_done (f.w) < 2)
    g_usleep (1000);
  g_usleep (100000);
  fx_free_worker (&f);
  spin (&f, 0.05);
  ck_assert_int_eq (f.n_done, 0);
  ck_assert_int_eq (f.n_snapshots, 0);
  fx_clear (&f);
}
END_TEST

/* The snapshot callback frees the worker: nothing runs after it, not even the on_done that
 * the same dispatch carried. */
START_TEST (test_free_in_callback)
{
  KanTrainConfig cfg;
  Fx f;

  for (int steps = 1; steps <= 30; steps += 29)
    {
      fx_init_demo (&f);
      kan_train_config_init (&cfg);
      cfg.steps = steps;
      f.free_in_snapshot = TRUE;
      ck_assert (kan_worker_start (f.w, f.m, f.d, &cfg, FALSE, NULL));
      /* With one step, wait until the run ended so that one dispatch carries both. */
      if (steps == 1)
        g_usleep (200000);
      wait_for (&f, has_snapshots, 1, "a snapshot");
      ck_assert (f.freed);
      spin (&f, 0.1);
      ck_assert_int_eq (f.n_snapshots, 1);
      ck_assert_int_eq (f.n_done, 0);
      fx_clear (&f);
    }
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* Stress                                                                                      */

typedef struct
{
  Fx       *f;
  gboolean  freed;
  gboolean  restart;   /* on_done starts another run */
  const KanModel   *m;
  const KanDataset *d;
} StressTag;

static void
stress_snapshot (KanSnapshot *s, gpointer user_data)
{
  StressTag *t = user_data;

  if (t->freed)
    t->f->callbacks_after_free++;
  t->f->n_snapshots++;
  t->f->checksum += draw (s);
  kan_snapshot_free (s);
}

static KanWorker *stress_worker;

static void
stress_done (KanModel *model, const KanStepInfo *info, const GError *error, gboolean stopped,
             gpointer user_data)
{
  StressTag *t = user_data;

  if (t->freed)
    t->f->callbacks_after_free++;
  t->f->n_done++;
  ck_assert (model != NULL && kan_model_is_finite (model));
  if (info)
    t->f->checksum += info->step + info->train_rmse;
  kan_model_free (model);
  if (t->restart)
    {
      KanTrainConfig cfg;
      t->restart = FALSE;
      kan_train_config_init (&cfg);
      cfg.steps = 3;
      ck_assert (kan_worker_start (stress_worker, t->m, t->d, &cfg, FALSE, NULL));
    }
}

/* A new stress_worker on F's context, with a new tag (kept in TAGS) for M and D. */
static StressTag *
stress_new_worker (Fx               *f,
                   GPtrArray        *tags,
                   const KanModel   *m,
                   const KanDataset *d)
{
  StressTag *tag = g_new0 (StressTag, 1);

  tag->f = f;
  tag->m = m;
  tag->d = d;
  g_ptr_array_add (tags, tag);
  stress_worker = kan_worker_new (f->ctx, stress_snapshot, stress_done, tag);
  return tag;
}

START_TEST (test_stress)
{
  g_autoptr (KanDataset) d = kt_demo_data (200, 100);
  g_autoptr (KanModel) m = kt_model_new ("2,3,1", NULL, 5, 3, KAN_BASE_SILU, 1);
  GPtrArray *tags = g_ptr_array_new_with_free_func (g_free);
  GRand *rand = g_rand_new_with_seed (20240607);
  int n_starts = 0, n_busy = 0;
  StressTag *tag;
  Fx f;

  memset (&f, 0, sizeof f);
  f.ctx = g_main_context_new ();
  tag = stress_new_worker (&f, tags, m, d);

  for (int it = 0; it < 200; it++)
    {
      switch (g_rand_int_range (rand, 0, 11))
        {
        case 0:
        case 1:
        case 8:
          {
            KanTrainConfig cfg;
            GError *error = NULL;
            kan_train_config_init (&cfg);
            cfg.opt = g_rand_boolean (rand) ? KAN_OPT_LBFGS : KAN_OPT_ADAM;
            if (cfg.opt == KAN_OPT_ADAM)
              cfg.lr = 1e-2;
            cfg.steps = g_rand_int_range (rand, 0, 40);
            if (kan_worker_start (stress_worker, m, d, &cfg, g_rand_int_range (rand, 0, 4) == 0,
                                  &error))
              n_starts++;
            else
              {
                ck_assert (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_PENDING));
                g_error_free (error);
                n_busy++;
              }
          }
          break;
        case 2:
          kan_worker_pause (stress_worker);
          break;
        case 3:
          kan_worker_step (stress_worker);
          break;
        case 4:
          kan_worker_resume (stress_worker);
          break;
        case 5:
        case 9:
          kan_worker_stop (stress_worker);
          break;
        case 6:
          kan_worker_free (stress_worker);
          tag->freed = TRUE;
          tag = stress_new_worker (&f, tags, m, d);
          kan_worker_set_interval (stress_worker, g_rand_int_range (rand, 0, 20));
          break;
        case 7:
          kan_worker_set_interval (stress_worker, g_rand_int_range (rand, 0, 20));
          tag->restart = g_rand_boolean (rand);
          break;
        default:
          (void) kan_worker_get_state (stress_worker);
          (void) kan_worker_steps_done (stress_worker);
          break;
        }
      iterate (&f);
      g_usleep (g_rand_int_range (rand, 0, 3000));
      iterate (&f);
    }

  kan_worker_free (stress_worker);
  tag->freed = TRUE;
  stress_worker = NULL;
  spin (&f, 0.05);
  ck_assert_int_eq (f.callbacks_after_free, 0);
  ck_assert_int_gt (n_starts, 5);
  ck_assert_int_gt (f.n_snapshots, 0);
  ck_assert_int_gt (f.n_done, 0);
  ck_assert (isfinite (f.checksum) || isnan (f.checksum));
  fprintf (stderr, "stress: %d starts, %d refused as busy, %d snapshots, %d runs ended\n",
           n_starts, n_busy, f.n_snapshots, f.n_done);

  g_rand_free (rand);
  g_ptr_array_unref (tags);
  g_main_context_unref (f.ctx);
}
END_TEST

static Suite *
worker_suite (void)
{
  Suite *s = suite_create ("worker");
  TCase *tc = tcase_create ("run");
  TCase *tc_stress = tcase_create ("stress");

  tcase_set_timeout (tc, 60);
  tcase_add_test (tc, test_run_to_end);
  tcase_add_test (tc, test_inputs_copied);
  tcase_add_test (tc, test_interval);
  tcase_add_test (tc, test_interval_zero);
  tcase_add_test (tc, test_pause_step_resume);
  tcase_add_test (tc, test_start_paused);
  tcase_add_test (tc, test_stop);
  tcase_add_test (tc, test_busy_and_restart);
  tcase_add_test (tc, test_diverge);
  tcase_add_test (tc, test_bad_config);
  tcase_add_test (tc, test_free_running);
  tcase_add_test (tc, test_free_paused);
  tcase_add_test (tc, test_free_done_pending);
  tcase_add_test (tc, test_free_in_callback);
  suite_add_tcase (s, tc);

  tcase_set_timeout (tc_stress, 300);
  tcase_add_test (tc_stress, test_stress);
  suite_add_tcase (s, tc_stress);
  return s;
}

int
main (void)
{
  SRunner *sr;
  int failed;

  gsl_set_error_handler_off ();
  sr = srunner_create (worker_suite ());
  srunner_run_all (sr, CK_NORMAL);
  failed = srunner_ntests_failed (sr);
  srunner_free (sr);
  return failed == 0 ? 0 : 1;
}
