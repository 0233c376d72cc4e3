/* test-train.c — the training loop: L-BFGS, Adam, LM, losses, regulariser, safety. */
#include <check.h>
#include <math.h>
#include <string.h>
#include <gsl/gsl_errno.h>

#include "kan.h"
#include "kan-lbfgs.h"
#include "kan-model-private.h"
#include "kan-grid-private.h"
#include "test-helpers.h"

/* Trains for STEPS and returns the last step's info. */
static KanStepInfo
train (KanModel *m, const KanDataset *d, const KanTrainConfig *cfg)
{
  GError *error = NULL;
  KanTrainer *t = kan_trainer_new (m, d, cfg, &error);
  KanStepInfo info = { 0 };

  ck_assert_msg (t != NULL, "%s", error ? error->message : "");
  for (int s = 0; s < cfg->steps; s++)
    ck_assert_msg (kan_trainer_step (t, NULL, &info, &error), "step %d: %s", s,
                   error ? error->message : "");
  kan_trainer_free (t);
  return info;
}

/* pykan's hello-world recipe T1: width 2,5,1, G=5, 50 L-BFGS steps. pykan reaches a test RMSE
 * of 3.1e-3 on it; the issue asks for at most 1e-2. */
START_TEST (test_t1_lbfgs)
{
  KanDataset *d = kt_demo_data (1000, 1000);
  KanModel *m = kt_model_new ("2,5,1", NULL, 5, 3, KAN_BASE_SILU, 1);
  KanTrainConfig cfg;
  KanStepInfo info;

  kan_train_config_init (&cfg);
  info = train (m, d, &cfg);
  ck_assert_int_eq (info.step, 49);
  ck_assert_msg (info.test_rmse <= 1e-2, "test RMSE %g after 50 steps", info.test_rmse);
  /* pykan's step is up to 25 evaluations; 50 steps must stay within that budget. */
  ck_assert_int_le (info.n_evals, 50 * 26);
  ck_assert (kan_model_is_finite (m));
  kan_model_free (m);
  kan_dataset_free (d);
}
END_TEST

/* Test RMSE on T1 (width 2,5,1, G=5) after STEPS Levenberg–Marquardt steps from model SEED. */
static double
t1_lm_test_rmse (const KanDataset *d, guint64 seed, int steps)
{
  KanModel *m = kt_model_new ("2,5,1", NULL, 5, 3, KAN_BASE_SILU, seed);
  KanTrainConfig cfg;
  KanStepInfo info;

  kan_train_config_init (&cfg);
  cfg.opt = KAN_OPT_LM;
  cfg.steps = steps;
  info = train (m, d, &cfg);
  kan_model_free (m);
  return info.test_rmse;
}

START_TEST (test_t1_lm)
{
  KanDataset *d = kt_demo_data (1000, 1000);
  double rmse = t1_lm_test_rmse (d, 1, 30);

  ck_assert_msg (rmse <= 3.1e-3, "LM test RMSE %g after 30 iterations", rmse);
  kan_dataset_free (d);
}
END_TEST

START_TEST (test_adam_decreases)
{
  KanDataset *d = kt_demo_data (500, 200);
  KanModel *m = kt_model_new ("2,5,1", NULL, 5, 3, KAN_BASE_SILU, 3);
  KanTrainConfig cfg;
  KanStepInfo first, last;

  kan_train_config_init (&cfg);
  cfg.opt = KAN_OPT_ADAM;
  cfg.lr = 0.02;
  cfg.steps = 1;
  first = train (m, d, &cfg);
  cfg.steps = 300;
  last = train (m, d, &cfg);
  ck_assert_msg (last.train_rmse < 0.2 * first.train_rmse, "Adam: %g → %g", first.train_rmse,
                 last.train_rmse);
  kan_model_free (m);
  kan_dataset_free (d);
}
END_TEST

/* Same seed, same settings: bit-identical parameters. */
START_TEST (test_reproducible)
{
  KanDataset *d = kt_demo_data (300, 100);
  KanModel *a = kt_model_new ("2,3,1", NULL, 5, 3, KAN_BASE_SILU, 7);
  KanModel *b = kt_model_new ("2,3,1", NULL, 5, 3, KAN_BASE_SILU, 7);
  KanTrainConfig cfg;

  kan_train_config_init (&cfg);
  cfg.steps = 8;
  cfg.lamb = 1e-3;
  cfg.batch = 100;
  cfg.seed = 11;
  train (a, d, &cfg);
  train (b, d, &cfg);
  ck_assert_int_eq (kan_model_n_params (a), kan_model_n_params (b));
  ck_assert (memcmp (kan_model_params (a), kan_model_params (b),
                     sizeof (double) * kan_model_n_params (a)) == 0);
  ck_assert (memcmp (a->state_d, b->state_d, sizeof (double) * a->n_state_d) == 0);
  kan_model_free (a);
  kan_model_free (b);
  kan_dataset_free (d);
}
END_TEST

/* An absurd learning rate makes Adam diverge; the step fails with KAN_ERROR_NONFINITE and the
 * model is exactly what it was before the step. */
START_TEST (test_nonfinite_rollback)
{
  KanDataset *d = kt_demo_data (200, 50);
  KanModel *m = kt_model_new ("2,3,1", NULL, 5, 3, KAN_BASE_SILU, 2);
  KanTrainConfig cfg;
  GError *error = NULL;
  KanTrainer *t;
  double *before;
  gboolean ok = TRUE;
  int s;

  kan_train_config_init (&cfg);
  cfg.opt = KAN_OPT_ADAM;
  cfg.lr = 1e200;
  cfg.update_grid = FALSE;
  t = kan_trainer_new (m, d, &cfg, &error);
  ck_assert (t != NULL);
  before = g_new (double, kan_model_n_params (m));
  for (s = 0; s < 10 && ok; s++)
    {
      memcpy (before, kan_model_params (m), sizeof (double) * kan_model_n_params (m));
      ok = kan_trainer_step (t, NULL, NULL, &error);
    }
  ck_assert_msg (!ok, "training with lr=1e200 never failed");
  ck_assert (g_error_matches (error, KAN_ERROR, KAN_ERROR_NONFINITE));
  ck_assert (strstr (error->message, "non-finite") != NULL);
  ck_assert (kan_model_is_finite (m));
  ck_assert (memcmp (before, kan_model_params (m), sizeof (double) * kan_model_n_params (m)) == 0);
  g_error_free (error);
  g_free (before);
  kan_trainer_free (t);
  kan_model_free (m);
  kan_dataset_free (d);
}
END_TEST

START_TEST (test_cancel)
{
  KanDataset *d = kt_demo_data (100, 10);
  KanModel *m = kt_model_new ("2,3,1", NULL, 5, 3, KAN_BASE_SILU, 2);
  KanTrainConfig cfg;
  GError *error = NULL;
  GCancellable *c = g_cancellable_new ();
  KanTrainer *t;

  kan_train_config_init (&cfg);
  t = kan_trainer_new (m, d, &cfg, &error);
  ck_assert (kan_trainer_step (t, c, NULL, &error));
  g_cancellable_cancel (c);
  ck_assert (!kan_trainer_step (t, c, NULL, &error));
  ck_assert (g_error_matches (error, KAN_ERROR, KAN_ERROR_CANCELLED));
  ck_assert_int_eq (kan_trainer_steps_done (t), 1);
  g_error_free (error);
  g_object_unref (c);
  kan_trainer_free (t);
  kan_model_free (m);
  kan_dataset_free (d);
}
END_TEST

/* Cancelling from another thread in the middle of a step. */
typedef struct
{
  GCancellable *c;
  gulong        delay_us;
} CancelLater;

static gpointer
cancel_later (gpointer data)
{
  CancelLater *cl = data;
  g_usleep (cl->delay_us);
  g_cancellable_cancel (cl->c);
  return NULL;
}

/* The whole model (parameters, knots, masks, …) is the same. */
static void
assert_same_model (const KanModel *a, const KanModel *b)
{
  ck_assert_uint_eq (a->n_params, b->n_params);
  ck_assert (memcmp (a->params, b->params, sizeof (double) * a->n_params) == 0);
  ck_assert (memcmp (a->state_d, b->state_d, sizeof (double) * a->n_state_d) == 0);
  ck_assert (memcmp (a->state_i, b->state_i, sizeof (int) * a->n_state_i) == 0);
}

/* A step that would run for minutes (an L-BFGS step allowed 10⁶ evaluations) is cancelled
 * from another thread after a moment: it stops inside an evaluation, reports the
 * cancellation, and leaves the model exactly as it was before the step (knots too: step 0
 * updates the grid). The trainer then refuses further steps on the cancelled cancellable,
 * and a fresh trainer continues normally. With and without worker threads. */
START_TEST (test_cancel_inside_step)
{
  const int threads[] = { 1, 2 };

  for (unsigned v = 0; v < G_N_ELEMENTS (threads); v++)
    {
      KanDataset *d = kt_demo_data (4000, 100);
      KanModel *m = kt_model_new ("2,20,1", NULL, 5, 3, KAN_BASE_SILU, 3);
      KanModel *before = kan_model_copy (m);
      KanTrainConfig cfg;
      KanStepInfo info;
      GError *error = NULL;
      GCancellable *c = g_cancellable_new ();
      CancelLater cl = { c, 300 * 1000 };
      KanTrainer *t;
      GThread *th;
      gint64 t0;

      kan_train_config_init (&cfg);
      cfg.threads = threads[v];
      cfg.lbfgs_max_iter = 1000000;
      cfg.lbfgs_max_eval = 1000000;
      t = kan_trainer_new (m, d, &cfg, &error);
      ck_assert_msg (t != NULL, "%s", error ? error->message : "");
      th = g_thread_new ("cancel", cancel_later, &cl);
      t0 = g_get_monotonic_time ();
      ck_assert (!kan_trainer_step (t, c, &info, &error));
      /* Generous: uncancelled, the L-BFGS step takes minutes. */
      ck_assert_msg (g_get_monotonic_time () - t0 < 10 * G_USEC_PER_SEC,
                     "variant %u: the step took %.1f s to stop", v,
                     (g_get_monotonic_time () - t0) / 1e6);
      g_thread_join (th);
      ck_assert_msg (g_error_matches (error, KAN_ERROR, KAN_ERROR_CANCELLED), "variant %u: %s",
                     v, error ? error->message : "no error");
      g_clear_error (&error);
      assert_same_model (m, before);
      ck_assert_int_eq (kan_trainer_steps_done (t), 0);
      ck_assert (!kan_trainer_step (t, c, NULL, &error));
      ck_assert (g_error_matches (error, KAN_ERROR, KAN_ERROR_CANCELLED));
      g_clear_error (&error);
      g_object_unref (c);
      kan_trainer_free (t);

      /* A fresh trainer on the restored model steps normally. */
      cfg.lbfgs_max_iter = 2;
      cfg.lbfgs_max_eval = 3;
      t = kan_trainer_new (m, d, &cfg, &error);
      ck_assert_msg (kan_trainer_step (t, NULL, &info, &error), "%s",
                     error ? error->message : "");
      ck_assert (isfinite (info.train_rmse) && isfinite (info.test_rmse));
      kan_trainer_free (t);
      kan_model_free (before);
      kan_model_free (m);
      kan_dataset_free (d);
    }
}
END_TEST

/* Cancelled between two steps, a step of a trainer with a grid update due keeps nothing. */
START_TEST (test_cancel_restores_grid)
{
  KanDataset *d = kt_demo_data (300, 10);
  KanModel *m = kt_model_new ("2,4,1", NULL, 5, 3, KAN_BASE_SILU, 2);
  KanTrainConfig cfg;
  GError *error = NULL;
  GCancellable *c = g_cancellable_new ();
  KanTrainer *t;
  KanModel *before;

  kan_train_config_init (&cfg);
  t = kan_trainer_new (m, d, &cfg, &error);
  ck_assert (kan_trainer_step (t, NULL, NULL, &error));
  before = kan_model_copy (m);
  g_cancellable_cancel (c);
  ck_assert (!kan_trainer_step (t, c, NULL, &error));
  ck_assert (g_error_matches (error, KAN_ERROR, KAN_ERROR_CANCELLED));
  g_clear_error (&error);
  assert_same_model (m, before);
  g_object_unref (c);
  kan_model_free (before);
  kan_trainer_free (t);
  kan_model_free (m);
  kan_dataset_free (d);
}
END_TEST

/* The budget counts what training holds beyond the workspaces: it grows with the L-BFGS
 * history, is refused under a small budget with KAN_ERROR_BUDGET, and a Levenberg–Marquardt
 * problem too long to interrupt is refused. */
START_TEST (test_budget_estimate)
{
  KanDataset *d = kt_demo_data (500, 100);
  KanModel *m = kt_model_new ("2,40,1", NULL, 20, 3, KAN_BASE_SILU, 1);
  KanTrainConfig cfg;
  GError *error = NULL;
  gsize b10, b50, work;

  kan_train_config_init (&cfg);
  b10 = kan_trainer_bytes (m, d, &cfg);
  cfg.lbfgs_history = 50;
  b50 = kan_trainer_bytes (m, d, &cfg);
  /* 80 more vectors of the parameters. */
  ck_assert_uint_ge (b50 - b10, 80 * kan_model_n_params (m) * sizeof (double));
  work = kan_work_bytes (m, 500);
  ck_assert_uint_gt (b10, work + kan_model_bytes (m) + 2 * kan_model_bytes (m));
  cfg.memory_budget = (double) b50 - 1;
  ck_assert_ptr_null (kan_trainer_new (m, d, &cfg, &error));
  ck_assert (g_error_matches (error, KAN_ERROR, KAN_ERROR_BUDGET));
  g_clear_error (&error);
  cfg.memory_budget = (double) b50;
  {
    KanTrainer *t = kan_trainer_new (m, d, &cfg, &error);
    ck_assert_msg (t != NULL, "%s", error ? error->message : "");
    kan_trainer_free (t);
  }
  kan_dataset_free (d);

  /* LM on 4000 parameters and 20000 residuals: about 3e11 operations per step. */
  d = kt_demo_data (20000, 10);
  kan_train_config_init (&cfg);
  cfg.opt = KAN_OPT_LM;
  ck_assert_ptr_null (kan_trainer_new (m, d, &cfg, &error));
  ck_assert_msg (g_error_matches (error, KAN_ERROR, KAN_ERROR_BUDGET), "%s",
                 error ? error->message : "no error");
  g_clear_error (&error);
  kan_model_free (m);
  kan_dataset_free (d);
}
END_TEST

/* A locked edge c·sin(a·x+b)+d is fine-tuned to the data it came from. */
START_TEST (test_symbolic_finetune)
{
  const size_t n = 200;
  double *x = g_new (double, n), *y = g_new (double, n);
  KanModel *m = kt_model_new ("1,1", NULL, 5, 3, KAN_BASE_SILU, 1);
  double abcd[4] = { 2.7, 0.31, 1.7, 0.2 }, got[4];
  KanDataset *d;
  KanTrainConfig cfg;
  KanStepInfo info;

  for (size_t b = 0; b < n; b++)
    {
      x[b] = -1.0 + 2.0 * (b + 0.37) / n;
      y[b] = 2.0 * sin (3.0 * x[b] + 0.5) + 0.1;
    }
  d = kan_dataset_new_arrays (1, 1, n, 0, x, y, NULL, NULL, NULL, NULL);
  kan_model_set_edge (m, 0, 0, 0, KAN_EDGE_SYMBOLIC, kan_sym_lookup ("sin"), abcd);
  kan_train_config_init (&cfg);
  cfg.steps = 20;
  cfg.update_grid = FALSE;
  info = train (m, d, &cfg);
  ck_assert_msg (info.train_rmse < 1e-8, "train RMSE %g", info.train_rmse);
  kan_model_edge_abcd (m, 0, 0, 0, got);
  /* The fit may land on an equivalent affine (sin is periodic and odd); check the function. */
  for (double xv = -1; xv <= 1; xv += 0.125)
    ck_assert_double_eq_tol (got[2] * sin (got[0] * xv + got[1]) + got[3],
                             2.0 * sin (3.0 * xv + 0.5) + 0.1, 1e-7);
  g_free (x);
  g_free (y);
  kan_model_free (m);
  kan_dataset_free (d);
}
END_TEST

/* Two classes on a line, cross-entropy: the trained model separates them. */
START_TEST (test_cross_entropy)
{
  const size_t n = 200;
  double *x = g_new (double, n), *y = g_new (double, n), *out = g_new (double, 2 * n);
  KanModel *m = kt_model_new ("1,2", NULL, 5, 3, KAN_BASE_SILU, 1);
  KanDataset *d;
  KanTrainConfig cfg;
  KanStepInfo first, last;
  int correct = 0;

  for (size_t b = 0; b < n; b++)
    {
      x[b] = -1.0 + 2.0 * (b + 0.5) / n;
      y[b] = x[b] > 0.13 ? 1.0 : 0.0;
    }
  d = kan_dataset_new_arrays (1, 1, n, 0, x, y, NULL, NULL, NULL, NULL);
  kan_train_config_init (&cfg);
  cfg.loss = KAN_LOSS_CE;
  cfg.steps = 1;
  first = train (m, d, &cfg);
  cfg.steps = 20;
  last = train (m, d, &cfg);
  ck_assert (last.train_rmse < first.train_rmse);
  kan_model_eval (m, x, n, out);
  for (size_t b = 0; b < n; b++)
    correct += (out[2 * b + 1] > out[2 * b]) == (y[b] > 0.5);
  ck_assert_int_ge (correct, 196);
  g_free (x);
  g_free (y);
  g_free (out);
  kan_model_free (m);
  kan_dataset_free (d);
}
END_TEST

START_TEST (test_regularised)
{
  KanDataset *d = kt_demo_data (500, 100);
  KanModel *m = kt_model_new ("2,5,1", NULL, 5, 3, KAN_BASE_SILU, 1);
  KanTrainConfig cfg;
  KanStepInfo info;

  kan_train_config_init (&cfg);
  cfg.lamb = 1e-2;
  cfg.steps = 20;
  info = train (m, d, &cfg);
  ck_assert (info.reg > 0);
  ck_assert_double_eq_tol (info.loss, info.train_rmse * info.train_rmse + cfg.lamb * info.reg,
                           1e-12 * (1 + info.loss));
  ck_assert (info.test_rmse < 0.2);
  kan_model_free (m);
  kan_dataset_free (d);
}
END_TEST

START_TEST (test_minibatch)
{
  KanDataset *d = kt_demo_data (1000, 100);
  KanModel *m = kt_model_new ("2,5,1", NULL, 5, 3, KAN_BASE_SILU, 1);
  KanTrainConfig cfg;
  KanStepInfo info;

  kan_train_config_init (&cfg);
  cfg.batch = 128;
  cfg.steps = 15;
  info = train (m, d, &cfg);
  ck_assert (info.train_rmse < 0.1);
  kan_model_free (m);
  kan_dataset_free (d);
}
END_TEST

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

/* A grid update gives the bits of the straightforward algorithm (qsort of each input column,
 * pykan's quantile knots, kan_spline_eval of every old spline at the sorted samples, a
 * least-squares refit) on columns that stress the sort: ties, -0.0 beside +0.0, a tight
 * cluster with far outliers (most values in one bucket), and sorted input. A column with an
 * infinite value keeps its grid. */
START_TEST (test_grid_update_bits)
{
  enum { N = 700, I = 4, O = 3 };
  KanModel *m = kt_model_new ("4,3", NULL, 6, 3, KAN_BASE_SILU, 5);
  KanModel *ref = NULL;
  KanLayer *L = &m->layers[0];
  int G = m->G, k = m->k, P = G + k, T = G + 2 * k + 1;
  double *x = g_new (double, N * I), *col = g_new (double, N), *yv = g_new (double, N * O);
  double *want_c = g_new (double, O * P), *want_t = g_new (double, T);
  gsl_rng *r = gsl_rng_alloc (gsl_rng_mt19937);
  GError *error = NULL;

  gsl_rng_set (r, 11);
  for (int q = 0; q < I * O * P; q++)
    L->coef[q] = 2.0 * gsl_rng_uniform (r) - 1.0;
  for (size_t s = 0; s < N; s++)
    {
      double u = gsl_rng_uniform (r);
      /* Ties on a few levels, and a run of zeros of both signs where the middle knot falls. */
      x[s * I + 0] = s == 0 ? -1.0 : s == N - 1 ? 1.0
                     : s < 300 ? -0.1 - floor (u * 9.0) / 10.0
                     : s < 400 ? (s % 2 ? -0.0 : 0.0) : 0.1 + floor (u * 9.0) / 10.0;
      /* A cluster 1e-9 wide with two far outliers. */
      x[s * I + 1] = s == 3 ? -40.0 : s == 500 ? 55.0 : 0.3 + 1e-9 * gsl_rng_uniform (r);
      /* Already sorted. */
      x[s * I + 2] = -1.0 + 2.0 * s / N;
      x[s * I + 3] = s == 123 ? INFINITY : u;
    }
  ref = kan_model_copy (m);
  ck_assert_msg (kan_model_update_grid (m, x, N, &error), "%s", error ? error->message : "");
  for (int i = 0; i < I; i++)
    {
      const double *t_old = kan_layer_knots (ref, &ref->layers[0], i);
      const double *t_new = kan_layer_knots (m, L, i);
      const double *c_old = ref->layers[0].coef + (size_t) i * O * P;
      double lo, hi;

      if (i == 3)
        {
          ck_assert (memcmp (t_new, t_old, sizeof (double) * T) == 0);
          ck_assert (memcmp (L->coef + (size_t) i * O * P, c_old, sizeof (double) * O * P) == 0);
          continue;
        }
      for (size_t s = 0; s < N; s++)
        col[s] = x[s * I + i];
      qsort (col, N, sizeof (double), cmp_double);
      lo = col[0];
      hi = col[N - 1];
      for (int q = 0; q <= G; q++)
        {
          size_t id = q < G ? (size_t) floor ((double) N / G * q) : N - 1;
          want_t[k + q] = m->grid_eps * (lo + (hi - lo) / G * q) + (1.0 - m->grid_eps) * col[id];
        }
      want_t[k] = lo;
      want_t[k + G] = hi;
      kan_knots_extend (want_t, G, k);
      for (size_t s = 0; s < N; s++)
        for (int j = 0; j < O; j++)
          yv[s * O + j] = kan_spline_eval (t_old, G, k, c_old + (size_t) j * P, col[s]);
      ck_assert (kan_spline_fit (want_t, G, k, col, yv, N, O, want_c, NULL));
      ck_assert_msg (memcmp (t_new, want_t, sizeof (double) * T) == 0, "knots of input %d", i);
      ck_assert_msg (memcmp (L->coef + (size_t) i * O * P, want_c, sizeof (double) * O * P) == 0,
                     "coefficients of input %d", i);
    }
  gsl_rng_free (r);
  g_free (x); g_free (col); g_free (yv); g_free (want_c); g_free (want_t);
  kan_model_free (ref);
  kan_model_free (m);
}
END_TEST

/* A grid update through a caller's workspace (the trainer's; here one of 64 rows, so the
 * layer inputs come a chunk at a time, and used before for other rows) gives the model of
 * kan_model_update_grid, bit for bit, in every layer. */
START_TEST (test_grid_update_work_bits)
{
  KanDataset *d = kt_demo_data (300, 10);
  KanModel *a = kt_model_new ("2,3,2", NULL, 6, 3, KAN_BASE_SILU, 7);
  KanModel *b = kan_model_copy (a), *orig = kan_model_copy (a);
  KanWork *w = kan_work_new (b, 64);
  double out[64 * 2];
  GError *error = NULL;

  kan_model_forward (b, w, d->test_x, 10, 0.0, out);
  ck_assert_msg (kan_model_update_grid (a, d->train_x, d->n_train, &error), "%s",
                 error ? error->message : "");
  ck_assert_msg (kan_model_update_grid_work (b, w, d->train_x, d->n_train, NULL, &error), "%s",
                 error ? error->message : "");
  ck_assert (memcmp (a->state_d, b->state_d, sizeof (double) * a->n_state_d) == 0);
  ck_assert (memcmp (a->params, b->params, sizeof (double) * a->n_params) == 0);
  /* The update moved the knots of the second layer too. */
  ck_assert (memcmp (kan_layer_knots (a, &a->layers[1], 0),
                     kan_layer_knots (orig, &orig->layers[1], 0),
                     sizeof (double) * (a->G + 2 * a->k + 1)) != 0);
  kan_model_free (orig);
  kan_work_free (w);
  kan_model_free (b);
  kan_model_free (a);
  kan_dataset_free (d);
}
END_TEST

/* The per-step test RMSE (whose evaluation keeps the bases of the test rows between steps) is
 * the test loss of the model after the step, to the bit: across grid updates, kept and undone,
 * and after the caller rewrote the rows in place (kan_trainer_rows_changed). */
START_TEST (test_step_test_rmse)
{
  KanDataset *d = kt_demo_data (300, 200);
  KanModel *m = kt_model_new ("2,3,1", NULL, 5, 3, KAN_BASE_SILU, 2);
  KanTrainConfig cfg;
  KanTrainer *t;
  KanStepInfo info;
  GError *error = NULL;
  int updated = 0;

  kan_train_config_init (&cfg);
  cfg.steps = 12;
  cfg.stop_grid_update_step = 12;
  cfg.grid_update_num = 6;
  t = kan_trainer_new (m, d, &cfg, &error);
  ck_assert_msg (t != NULL, "%s", error ? error->message : "");
  for (int s = 0; s < cfg.steps; s++)
    {
      double want;
      if (s == 7)
        {
          /* New rows in place, train and test alike. */
          for (size_t b = 0; b < d->n_test; b++)
            {
              d->test_x[b * 2] *= -0.9;
              d->test_y[b] = exp (sin (G_PI * d->test_x[b * 2]) + d->test_x[b * 2 + 1]
                                  * d->test_x[b * 2 + 1]);
            }
          kan_trainer_rows_changed (t);
        }
      ck_assert_msg (kan_trainer_step (t, NULL, &info, &error), "%s",
                     error ? error->message : "");
      updated += info.grid_updated || info.grid_rejected;
      want = sqrt (kan_model_loss (m, KAN_LOSS_MSE, d->test_x, d->test_y, d->n_test));
      ck_assert_msg (info.test_rmse == want, "step %d: test RMSE %.17g, the model's %.17g", s,
                     info.test_rmse, want);
    }
  ck_assert_int_ge (updated, 3);
  kan_trainer_free (t);
  kan_model_free (m);
  kan_dataset_free (d);
}
END_TEST

/* L-BFGS takes the objective at the last accepted point from its memo (the grid check's loss
 * before, the next step's first evaluation, also after a rejected update): the same bits as
 * evaluating. Run B invalidates the memo before every step (rows "changed", the same rows), so
 * it evaluates everything; both runs change a parameter and a mask between steps, which the
 * memo must notice. */
START_TEST (test_lbfgs_memo_bits)
{
  KanDataset *d = kt_demo_data (300, 200);
  KanModel *m[2];
  KanTrainer *t[2];
  KanStepInfo info[2];
  KanTrainConfig cfg;
  GError *error = NULL;
  long evals[2] = { 0, 0 };

  kan_train_config_init (&cfg);
  cfg.steps = 16;
  cfg.stop_grid_update_step = 16;
  cfg.grid_update_num = 4;
  for (int r = 0; r < 2; r++)
    {
      m[r] = kt_model_new ("2,3,1", NULL, 5, 3, KAN_BASE_SILU, 4);
      t[r] = kan_trainer_new (m[r], d, &cfg, &error);
      ck_assert_msg (t[r] != NULL, "%s", error ? error->message : "");
    }
  for (int s = 0; s < cfg.steps; s++)
    {
      for (int r = 0; r < 2; r++)
        {
          if (s == 6)
            kan_model_params (m[r])[3] += 0.01;
          if (s == 10)
            m[r]->layers[1].mask[1] = 0.0;
          if (r == 1)
            kan_trainer_rows_changed (t[r]);
          ck_assert_msg (kan_trainer_step (t[r], NULL, &info[r], &error), "%s",
                         error ? error->message : "");
          evals[r] = info[r].n_evals;
        }
      ck_assert_msg (memcmp (&info[0].loss, &info[1].loss, sizeof (double)) == 0
                     && memcmp (&info[0].test_rmse, &info[1].test_rmse, sizeof (double)) == 0
                     && memcmp (&info[0].train_rmse, &info[1].train_rmse, sizeof (double)) == 0,
                     "step %d: loss %.17g vs %.17g", s, info[0].loss, info[1].loss);
      ck_assert_int_eq (info[0].grid_updated, info[1].grid_updated);
      ck_assert_int_eq (info[0].grid_rejected, info[1].grid_rejected);
    }
  ck_assert (memcmp (kan_model_params (m[0]), kan_model_params (m[1]),
                     sizeof (double) * kan_model_n_params (m[0])) == 0);
  /* Run A reused an evaluation at least once per step after the first. */
  ck_assert_int_le (evals[0], evals[1] - (cfg.steps - 1));
  for (int r = 0; r < 2; r++)
    {
      kan_trainer_free (t[r]);
      kan_model_free (m[r]);
    }
  kan_dataset_free (d);
}
END_TEST

START_TEST (test_bad_settings)
{
  KanDataset *d = kt_demo_data (50, 10);
  KanModel *m = kt_model_new ("3,2,1", NULL, 5, 3, KAN_BASE_SILU, 1);
  KanModel *m2 = kt_model_new ("2,2,1", NULL, 5, 3, KAN_BASE_SILU, 1);
  KanTrainConfig cfg;
  GError *error = NULL;

  kan_train_config_init (&cfg);
  ck_assert (kan_trainer_new (m, d, &cfg, &error) == NULL);
  ck_assert (g_error_matches (error, KAN_ERROR, KAN_ERROR_SHAPE));
  g_clear_error (&error);
  cfg.lr = -1;
  ck_assert (kan_trainer_new (m2, d, &cfg, &error) == NULL);
  ck_assert (g_error_matches (error, KAN_ERROR, KAN_ERROR_INVALID));
  g_clear_error (&error);
  kan_train_config_init (&cfg);
  cfg.opt = KAN_OPT_LM;
  cfg.lamb = 1e-3;
  ck_assert (kan_trainer_new (m2, d, &cfg, &error) == NULL);
  ck_assert (strstr (error->message, "Levenberg") != NULL);
  g_clear_error (&error);
  kan_model_free (m);
  kan_model_free (m2);
  kan_dataset_free (d);
}
END_TEST

/* The optimiser alone, on Rosenbrock's function. */
static double
rosenbrock (void *data, const double *x, double *g)
{
  double a = 1 - x[0], b = x[1] - x[0] * x[0];
  g[0] = -2 * a - 400 * x[0] * b;
  g[1] = 200 * b;
  return a * a + 100 * b * b;
}

START_TEST (test_lbfgs_rosenbrock)
{
  KanLbfgsParams p;
  KanLbfgs *s;
  double x[2] = { -1.2, 1.0 }, f = 0;
  int evals = 0;

  kan_lbfgs_params_init (&p);
  s = kan_lbfgs_new (2, &p);
  for (int step = 0; step < 10; step++)
    evals += kan_lbfgs_step (s, x, rosenbrock, NULL, NULL, &f);
  ck_assert_msg (f < 1e-16, "f = %g after %d evaluations", f, evals);
  ck_assert_double_eq_tol (x[0], 1.0, 1e-7);
  ck_assert_double_eq_tol (x[1], 1.0, 1e-7);
  kan_lbfgs_free (s);
}
END_TEST

/* Objective that is non-finite beyond x = 0.5: the line search must never accept such a point. */
static double
walled (void *data, const double *x, double *g)
{
  if (x[0] > 0.5)
    {
      g[0] = NAN;
      return NAN;
    }
  g[0] = -1.0;
  return -x[0];
}

START_TEST (test_lbfgs_nonfinite_rejected)
{
  KanLbfgsParams p;
  KanLbfgs *s;
  double x[1] = { 0.0 }, f = 0;

  kan_lbfgs_params_init (&p);
  s = kan_lbfgs_new (1, &p);
  for (int step = 0; step < 3; step++)
    kan_lbfgs_step (s, x, walled, NULL, NULL, &f);
  ck_assert (isfinite (f));
  ck_assert (x[0] <= 0.5);
  ck_assert (x[0] > 0.0);
  kan_lbfgs_free (s);
}
END_TEST

/* LM with geodesic acceleration reaches pykan's accuracy on T1 from every model seed 1 … 8
 * (plain LM stalled at test RMSE 0.37 on seed 8). */
START_TEST (test_t1_lm_seeds)
{
  KanDataset *d = kt_demo_data (1000, 1000);

  for (int seed = 1; seed <= 8; seed++)
    {
      double rmse = t1_lm_test_rmse (d, seed, 40);
      ck_assert_msg (rmse <= 3.1e-3, "seed %d: LM test RMSE %g after 40 iterations", seed, rmse);
    }
  kan_dataset_free (d);
}
END_TEST

/* The automatic choice: LM for a small unregularised MSE fit on the whole train set, L-BFGS
 * for everything else; the other optimisers stay as they are. */
START_TEST (test_auto_resolve)
{
  KanDataset *d = kt_demo_data (1000, 100);
  KanModel *small = kt_model_new ("2,5,1", NULL, 5, 3, KAN_BASE_SILU, 1);
  KanModel *big = kt_model_new ("2,5,1", NULL, 50, 3, KAN_BASE_SILU, 1);
  KanDataset *few = kt_demo_data (20, 10);
  KanTrainConfig cfg;

  ck_assert_str_eq (kan_optimizer_name (KAN_OPT_AUTO), "auto");
  kan_train_config_init (&cfg);
  for (KanOptimizer o = KAN_OPT_LBFGS; o <= KAN_OPT_LM; o++)
    {
      cfg.opt = o;
      ck_assert_int_eq (kan_train_resolve_optimizer (small, d, &cfg), o);
    }
  cfg.opt = KAN_OPT_AUTO;
  ck_assert_int_eq (kan_train_resolve_optimizer (small, d, &cfg), KAN_OPT_LM);
  ck_assert_uint_gt (kan_model_active_params (big, NULL), KAN_AUTO_LM_MAX_PARAMS);
  ck_assert_int_eq (kan_train_resolve_optimizer (big, d, &cfg), KAN_OPT_LBFGS);
  /* Fewer residuals than parameters. */
  ck_assert_int_eq (kan_train_resolve_optimizer (small, few, &cfg), KAN_OPT_LBFGS);
  cfg.lamb = 1e-3;
  ck_assert_int_eq (kan_train_resolve_optimizer (small, d, &cfg), KAN_OPT_LBFGS);
  cfg.lamb = 0;
  cfg.batch = 100;
  ck_assert_int_eq (kan_train_resolve_optimizer (small, d, &cfg), KAN_OPT_LBFGS);
  cfg.batch = -1;
  cfg.singularity_avoiding = TRUE;
  ck_assert_int_eq (kan_train_resolve_optimizer (small, d, &cfg), KAN_OPT_LBFGS);
  cfg.singularity_avoiding = FALSE;
  cfg.loss = KAN_LOSS_CE;
  ck_assert_int_eq (kan_train_resolve_optimizer (small, d, &cfg), KAN_OPT_LBFGS);
  cfg.loss = KAN_LOSS_MSE;
  /* LM's memory over the budget. */
  cfg.memory_budget = (double) kan_trainer_bytes (small, d, &cfg) / 2;
  ck_assert_int_eq (kan_train_resolve_optimizer (small, d, &cfg), KAN_OPT_LBFGS);
  kan_model_free (small);
  kan_model_free (big);
  kan_dataset_free (few);
  kan_dataset_free (d);
}
END_TEST

/* The default fit of kanvas-cli (auto: LM with a fixed grid) reaches pykan's test RMSE on T1
 * (3.1e-3) from every model seed 1–8 within 20 steps (10–14 measured), without moving a knot. */
START_TEST (test_t1_auto_seeds)
{
  KanDataset *d = kt_demo_data (1000, 1000);

  for (int seed = 1; seed <= 8; seed++)
    {
      KanModel *m = kt_model_new ("2,5,1", NULL, 5, 3, KAN_BASE_SILU, seed);
      KanModel *before = kan_model_copy (m);
      KanTrainConfig cfg;
      KanTrainer *t;
      KanStepInfo info = { 0 };
      int s;

      kan_train_config_init (&cfg);
      cfg.opt = KAN_OPT_AUTO;
      t = kan_trainer_new (m, d, &cfg, NULL);
      ck_assert (t != NULL);
      ck_assert_int_eq (kan_trainer_optimizer (t), KAN_OPT_LM);
      for (s = 0, info.test_rmse = INFINITY; s < 20 && !(info.test_rmse <= 3.1e-3); s++)
        ck_assert (kan_trainer_step (t, NULL, &info, NULL));
      ck_assert_msg (info.test_rmse <= 3.1e-3, "seed %d: test RMSE %g after %d steps", seed,
                     info.test_rmse, s);
      for (int l = 0; l < m->depth; l++)
        {
          size_t nk = (size_t) m->layers[l].n_in * (m->G + 2 * m->k + 1);
          ck_assert (memcmp (m->layers[l].grid, before->layers[l].grid,
                             sizeof (double) * nk) == 0);
        }
      kan_trainer_free (t);
      /* The same steps again from the same model: the same parameters bit for bit. */
      t = kan_trainer_new (before, d, &cfg, NULL);
      for (int q = 0; q < s; q++)
        ck_assert (kan_trainer_step (t, NULL, NULL, NULL));
      ck_assert (memcmp (m->params, before->params, sizeof (double) * m->n_params) == 0);
      kan_trainer_free (t);
      kan_model_free (before);
      kan_model_free (m);
    }
  kan_dataset_free (d);
}
END_TEST

/* One evaluation on 2 threads (row blocks, gradients summed in block order) against 1 thread,
 * to 1e-12, and bit for bit the same from run to run; also with multiplication nodes. */
START_TEST (test_threads_evaluate)
{
  const char *shapes[] = { "2,5,1", "2,[3,2],1" };
  KanDataset *d = kt_demo_data (4001, 10);

  for (unsigned q = 0; q < G_N_ELEMENTS (shapes); q++)
    {
      KanModel *m = kt_model_new (shapes[q], NULL, 5, 3, KAN_BASE_SILU, 3);
      size_t P = kan_model_n_params (m);
      double *g1 = g_new (double, P), *g2 = g_new (double, P), *g3 = g_new (double, P);
      double f1, f2, f3, scale = 0.0;
      KanTrainer *t1, *t2, *t3;
      KanTrainConfig cfg;

      kan_train_config_init (&cfg);
      t1 = kan_trainer_new (m, d, &cfg, NULL);
      cfg.threads = 2;
      t2 = kan_trainer_new (m, d, &cfg, NULL);
      t3 = kan_trainer_new (m, d, &cfg, NULL);
      ck_assert (t1 != NULL && t2 != NULL && t3 != NULL);
      f1 = kan_trainer_evaluate (t1, g1);
      f2 = kan_trainer_evaluate (t2, g2);
      f3 = kan_trainer_evaluate (t3, g3);
      ck_assert (isfinite (f1) && f1 > 0);
      ck_assert_msg (fabs (f2 - f1) <= 1e-12 * f1, "%s: loss %.17g vs %.17g", shapes[q], f2, f1);
      for (size_t k = 0; k < P; k++)
        scale = MAX (scale, fabs (g1[k]));
      ck_assert (scale > 0);
      for (size_t k = 0; k < P; k++)
        ck_assert_msg (fabs (g2[k] - g1[k]) <= 1e-12 * scale, "%s: gradient %zu: %.17g vs %.17g",
                       shapes[q], k, g2[k], g1[k]);
      ck_assert (memcmp (&f2, &f3, sizeof f2) == 0);
      ck_assert (memcmp (g2, g3, sizeof (double) * P) == 0);
      /* Again on the same trainer: the workers are reused, the result is the same. */
      f3 = kan_trainer_evaluate (t2, g3);
      ck_assert (memcmp (&f2, &f3, sizeof f2) == 0);
      ck_assert (memcmp (g2, g3, sizeof (double) * P) == 0);
      kan_trainer_free (t1);
      kan_trainer_free (t2);
      kan_trainer_free (t3);
      g_free (g1);
      g_free (g2);
      g_free (g3);
      kan_model_free (m);
    }
  kan_dataset_free (d);
}
END_TEST

/* Many evaluations on 2 threads, back to back (the worker still spinning) and with pauses (the
 * worker asleep), with and without the gradient: every one the same bit for bit. */
START_TEST (test_threads_handoff)
{
  KanDataset *d = kt_demo_data (1000, 10);
  KanModel *m = kt_model_new ("2,5,1", NULL, 5, 3, KAN_BASE_SILU, 4);
  size_t P = kan_model_n_params (m);
  double *g0 = g_new (double, P), *g = g_new (double, P);
  double f0, f;
  KanTrainConfig cfg;
  KanTrainer *t;

  kan_train_config_init (&cfg);
  cfg.threads = 2;
  t = kan_trainer_new (m, d, &cfg, NULL);
  ck_assert (t != NULL);
  f0 = kan_trainer_evaluate (t, g0);
  for (int q = 0; q < 200; q++)
    {
      if (q % 20 == 19)
        g_usleep (2000);
      f = kan_trainer_evaluate (t, q % 3 == 0 ? NULL : g);
      ck_assert (memcmp (&f, &f0, sizeof f) == 0);
      if (q % 3 != 0)
        ck_assert (memcmp (g, g0, sizeof (double) * P) == 0);
    }
  kan_trainer_free (t);
  g_free (g0);
  g_free (g);
  kan_model_free (m);
  kan_dataset_free (d);
}
END_TEST

/* Training on 2 threads twice gives the same model bit for bit. */
START_TEST (test_threads_reproducible)
{
  KanDataset *d = kt_demo_data (2000, 10);
  KanModel *a = kt_model_new ("2,5,1", NULL, 5, 3, KAN_BASE_SILU, 2);
  KanModel *b = kan_model_copy (a);
  KanTrainConfig cfg;

  kan_train_config_init (&cfg);
  cfg.threads = 2;
  cfg.steps = 3;
  train (a, d, &cfg);
  train (b, d, &cfg);
  ck_assert (memcmp (a->params, b->params, sizeof (double) * a->n_params) == 0);
  kan_model_free (a);
  kan_model_free (b);
  kan_dataset_free (d);
}
END_TEST

int
main (int    argc,
      char **argv)
{
  Suite *s = suite_create ("train");
  TCase *tc = tcase_create ("train");

  gsl_set_error_handler_off ();
  tcase_set_timeout (tc, 300);
  tcase_add_test (tc, test_t1_lbfgs);
  tcase_add_test (tc, test_t1_lm);
  tcase_add_test (tc, test_t1_lm_seeds);
  tcase_add_test (tc, test_threads_evaluate);
  tcase_add_test (tc, test_threads_reproducible);
  tcase_add_test (tc, test_threads_handoff);
  tcase_add_test (tc, test_auto_resolve);
  tcase_add_test (tc, test_t1_auto_seeds);
  tcase_add_test (tc, test_adam_decreases);
  tcase_add_test (tc, test_reproducible);
  tcase_add_test (tc, test_nonfinite_rollback);
  tcase_add_test (tc, test_cancel);
  tcase_add_test (tc, test_cancel_inside_step);
  tcase_add_test (tc, test_cancel_restores_grid);
  tcase_add_test (tc, test_budget_estimate);
  tcase_add_test (tc, test_symbolic_finetune);
  tcase_add_test (tc, test_cross_entropy);
  tcase_add_test (tc, test_regularised);
  tcase_add_test (tc, test_minibatch);
  tcase_add_test (tc, test_grid_update_bits);
  tcase_add_test (tc, test_grid_update_work_bits);
  tcase_add_test (tc, test_step_test_rmse);
  tcase_add_test (tc, test_lbfgs_memo_bits);
  tcase_add_test (tc, test_bad_settings);
  tcase_add_test (tc, test_lbfgs_rosenbrock);
  tcase_add_test (tc, test_lbfgs_nonfinite_rejected);
  suite_add_tcase (s, tc);
  return kt_run (s, argc, argv);
}
