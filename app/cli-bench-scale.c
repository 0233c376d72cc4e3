/* cli-bench-scale.c — "kanvas-cli bench --scale": the scale figures of issue 14, each beside
 * pykan 0.2.8's time on this machine kind and its target.
 *
 * - [10,10,10,1] Adam steps: pykan's fit defaults (G=5, k=3, 100 steps with a grid update every
 *   5 steps up to step 50, train and test RMSE every step) on create_dataset's 1000 train /
 *   1000 test rows of a 10-variable formula; pykan 394 ms per step, target ≥ 20× faster.
 * - [784,64,10] forward+backward of the MSE loss over 1024 rows (random inputs on [-1,1]); pykan
 *   6.8 s in float64, 2.4 s in float32; target ≥ 20× pykan's float64. The wide layer goes as
 *   matrix products (core/kan-dense.c); the first evaluation, which also computes the inputs'
 *   bases and features (later ones reuse them, as training on the same rows does) and first
 *   touches the workspace's memory, is shown beside the mean.
 * - Grid extension on [2,1,1], pykan's Example 1: T1's data, G = 3, 10, 20, 50, 100, 200 L-BFGS
 *   steps at each grid, every model refined from the previous one; pykan 204 s with a best test
 *   RMSE of 2.7e-6, target ≥ 100× faster at that accuracy. Then the cost per sample of one
 *   loss+gradient evaluation at G=200 against G=5, which must stay within 1.5×.
 * - A 1 000 000-row CSV (cli-bench-stream.c): reading at ≥ 100 MB/s, minibatch training, peak RSS.
 *
 * Times are wall-clock, with the CPU time of the thread beside them: every run is
 * single-threaded, so on a loaded machine the CPU time is the closer to what an idle one shows. --quick runs small
 * sizes for a smoke test, whose figures mean little.
 */
#include "cli.h"

#include <math.h>
#include <stdio.h>
#include <time.h>

#include <gsl/gsl_rng.h>

#define T1_FORMULA "exp(sin(pi*x1)+x2^2)"
/* Ten inputs for the [10,10,10,1] network: pykan's timing does not depend on the function. */
#define ADAM_FORMULA "exp(sin(pi*x1)+x2^2)+x3*x4+sin(x5+x6)+x7^2-x8+cos(x9*x10)"
#define ADAM_WIDTH "10,10,10,1"
#define ADAM_LR 0.01
#define FWD_BWD_WIDTH "784,64,10"
#define FWD_BWD_ROWS 1024
#define EXTEND_WIDTH "2,1,1"
#define STREAM_ROWS 1000000
#define STREAM_ROWS_QUICK 100000

#define PYKAN_ADAM_MS 394.0
#define PYKAN_FWD_BWD_F64_SECONDS 6.8
#define PYKAN_FWD_BWD_F32_SECONDS 2.4
#define PYKAN_EXTEND_SECONDS 204.0
#define PYKAN_EXTEND_TEST_RMSE 2.7e-6

#define TARGET_SPEEDUP 20.0          /* Adam steps and forward+backward, against pykan */
#define TARGET_EXTEND_SPEEDUP 100.0  /* grid extension, at pykan's accuracy */
#define TARGET_GRID_COST_RATIO 1.5   /* cost per sample at G=200 over G=5 */
#define TARGET_READ_MB_S 100.0

static const int extend_grids[] = { 3, 10, 20, 50, 100 };
static const int extend_grids_quick[] = { 3, 10 };
static const int cost_grids[] = { 5, 200 };

typedef struct
{
  gint64 wall0;
  double cpu0;
} Stopwatch;

typedef struct
{
  int    steps;
  double seconds, cpu_seconds;
  double test_rmse;
} AdamFigure;

typedef struct
{
  long   evals;
  double seconds, cpu_seconds;  /* mean of one evaluation */
  double first_seconds;         /* the first: bases, features, the workspace's first touch */
} FwdBwdFigure;

typedef struct
{
  int    grid;
  double seconds;             /* since the start of the extension, refining included */
  double best_test;           /* the lowest test RMSE of this grid's steps */
  double train, test;         /* RMSEs after the last step */
  double inside_test;         /* test RMSE then on the rows inside the train rows' range */
  int    n_inside, n_outside; /* test rows inside it and outside */
} ExtendGrid;

typedef struct
{
  gboolean    update_grid;    /* grid updates during each fit, as pykan's default */
  int         n_grids;
  int         steps;          /* L-BFGS steps per grid */
  ExtendGrid  grids[G_N_ELEMENTS (extend_grids)];
  double      seconds, cpu_seconds;
  double      best_test;
} ExtendFigure;

typedef struct
{
  long   evals[G_N_ELEMENTS (cost_grids)];
  double ns_per_sample[G_N_ELEMENTS (cost_grids)];
} GridCostFigure;

typedef struct
{
  gboolean        quick;
  AdamFigure      adam;
  FwdBwdFigure    fwd_bwd;
  ExtendFigure    extend[2];    /* pykan's recipe; then without grid updates */
  GridCostFigure  cost;
  CliStreamBench  stream;
} ScaleFigures;

double
cli_thread_cpu_seconds (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static void
stopwatch_start (Stopwatch *w)
{
  w->wall0 = g_get_monotonic_time ();
  w->cpu0 = cli_thread_cpu_seconds ();
}

/* Wall-clock and CPU seconds since stopwatch_start. */
static void
stopwatch_read (const Stopwatch *w, double *wall, double *cpu)
{
  *wall = 1e-6 * (g_get_monotonic_time () - w->wall0);
  *cpu = cli_thread_cpu_seconds () - w->cpu0;
}

/* A model as `kanvas-cli fit --width WIDTH --grid GRID` makes it: k=3, seed 1, pykan's other
 * defaults. */
static KanModel *
scale_model (const char *width, int grid, GError **error)
{
  g_autofree char *grid_text = g_strdup_printf ("%d", grid);
  CliModelOpts o = { .width = (char *) width, .grid = grid_text };

  return cli_model_from_opts (&o, NULL, KAN_LOSS_MSE, NULL, error);
}

/* create_dataset's defaults: 1000 train and 1000 test rows on [-1,1], seed 0. */
static KanDataset *
formula_data (const char *formula, GError **error)
{
  KanFormulaSpec spec;

  kan_formula_spec_init (&spec);
  spec.formula = formula;
  spec.seed = 0;
  return kan_dataset_from_formula (&spec, error);
}

/* Mean wall-clock seconds (returned) and CPU seconds (*CPU) of one evaluation of T's objective
 * and gradient over its train rows, timed after one evaluation that warms the caches (the
 * bases of the inputs, and the features of wide layers, kept while the inputs stay), for at
 * least BUDGET seconds and MIN_EVALS evaluations. FIRST (may be NULL) gets the wall-clock
 * seconds of that first evaluation. */
static double
eval_seconds (KanTrainer *t,
              size_t      n_params,
              double      budget,
              long        min_evals,
              long       *evals,
              double     *cpu,
              double     *first)
{
  g_autofree double *grad = g_new (double, n_params);
  Stopwatch w;
  double elapsed, first_cpu;
  long n = 0;

  stopwatch_start (&w);
  kan_trainer_evaluate (t, grad);
  stopwatch_read (&w, &elapsed, &first_cpu);
  if (first != NULL)
    *first = elapsed;
  stopwatch_start (&w);
  do
    {
      kan_trainer_evaluate (t, grad);
      n++;
      stopwatch_read (&w, &elapsed, cpu);
    }
  while (elapsed < budget || n < min_evals);
  *evals = n;
  *cpu /= n;
  return elapsed / n;
}

static gboolean
bench_adam (gboolean quick, AdamFigure *r, GError **error)
{
  g_autoptr (KanDataset) data = formula_data (ADAM_FORMULA, error);
  g_autoptr (KanModel) m = NULL;
  g_autoptr (KanTrainer) t = NULL;
  KanTrainConfig cfg;
  KanStepInfo info = { 0 };
  Stopwatch w;

  if (data == NULL || (m = scale_model (ADAM_WIDTH, 5, error)) == NULL)
    return FALSE;
  kan_train_config_init (&cfg);
  cfg.opt = KAN_OPT_ADAM;
  cfg.lr = ADAM_LR;
  cfg.steps = quick ? 5 : 100;
  stopwatch_start (&w);
  t = kan_trainer_new (m, data, &cfg, error);
  if (t == NULL)
    return FALSE;
  for (int s = 0; s < cfg.steps; s++)
    if (!kan_trainer_step (t, NULL, &info, error))
      return FALSE;
  stopwatch_read (&w, &r->seconds, &r->cpu_seconds);
  r->steps = cfg.steps;
  r->test_rmse = info.test_rmse;
  return TRUE;
}

static gboolean
bench_fwd_bwd (gboolean quick, FwdBwdFigure *r, GError **error)
{
  size_t rows = quick ? 64 : FWD_BWD_ROWS;
  int n_in = 784, n_out = 10;
  g_autoptr (KanModel) m = scale_model (FWD_BWD_WIDTH, 5, error);
  g_autoptr (KanDataset) data = NULL;
  g_autoptr (KanTrainer) t = NULL;
  g_autofree double *x = g_new (double, rows * n_in);
  g_autofree double *y = g_new (double, rows * n_out);
  gsl_rng *rng = gsl_rng_alloc (gsl_rng_mt19937);
  KanTrainConfig cfg;

  gsl_rng_set (rng, 0);
  for (size_t q = 0; q < rows * n_in; q++)
    x[q] = 2.0 * gsl_rng_uniform (rng) - 1.0;
  for (size_t q = 0; q < rows * n_out; q++)
    y[q] = gsl_rng_uniform (rng);
  gsl_rng_free (rng);
  if (m == NULL)
    return FALSE;
  data = kan_dataset_new_arrays (n_in, n_out, rows, 0, x, y, NULL, NULL, NULL, NULL);
  kan_train_config_init (&cfg);
  t = kan_trainer_new (m, data, &cfg, error);
  if (t == NULL)
    return FALSE;
  r->seconds = eval_seconds (t, kan_model_n_params (m), quick ? 0.0 : 2.0, quick ? 1 : 3,
                             &r->evals, &r->cpu_seconds, &r->first_seconds);
  return TRUE;
}

/* RMSE of M on the test rows of D whose inputs to every layer lie within the range the train
 * rows give that input; the numbers of test rows inside and outside. pykan's grid update
 * puts the outermost interior knots at the train rows' extremes; beyond them the splines
 * extrapolate, and on fine grids the few test rows there decide the test RMSE. */
static double
inside_test_rmse (const KanModel *m, const KanDataset *d, int *n_inside, int *n_outside)
{
  int depth = kan_model_depth (m), O = kan_model_n_out (m), n_cols = 0;
  g_autoptr (KanWork) w = kan_work_new (m, MAX (d->n_train, d->n_test));
  g_autofree double *lo = NULL, *hi = NULL, *out = g_new (double, d->n_test * O);
  g_autofree gboolean *outside = g_new0 (gboolean, d->n_test);
  double sum = 0.0;

  for (int l = 0; l < depth; l++)
    n_cols += kan_model_layer_in (m, l);
  lo = g_new (double, n_cols);
  hi = g_new (double, n_cols);
  for (int c = 0; c < n_cols; c++)
    {
      lo[c] = INFINITY;
      hi[c] = -INFINITY;
    }
  kan_model_forward (m, w, d->train_x, d->n_train, 0.0, NULL);
  for (int l = 0, c0 = 0; l < depth; c0 += kan_model_layer_in (m, l++))
    {
      const double *x = kan_work_layer_input (w, l);
      int I = kan_model_layer_in (m, l);
      for (size_t b = 0; b < d->n_train; b++)
        for (int i = 0; i < I; i++)
          {
            lo[c0 + i] = MIN (lo[c0 + i], x[b * I + i]);
            hi[c0 + i] = MAX (hi[c0 + i], x[b * I + i]);
          }
    }
  kan_model_forward (m, w, d->test_x, d->n_test, 0.0, out);
  for (int l = 0, c0 = 0; l < depth; c0 += kan_model_layer_in (m, l++))
    {
      const double *x = kan_work_layer_input (w, l);
      int I = kan_model_layer_in (m, l);
      for (size_t b = 0; b < d->n_test; b++)
        for (int i = 0; i < I; i++)
          if (!(x[b * I + i] >= lo[c0 + i] && x[b * I + i] <= hi[c0 + i]))
            outside[b] = TRUE;
    }
  *n_inside = *n_outside = 0;
  for (size_t b = 0; b < d->n_test; b++)
    {
      if (outside[b])
        {
          (*n_outside)++;
          continue;
        }
      (*n_inside)++;
      for (int j = 0; j < O; j++)
        sum += (out[b * O + j] - d->test_y[b * O + j]) * (out[b * O + j] - d->test_y[b * O + j]);
    }
  return *n_inside > 0 ? sqrt (sum / ((double) *n_inside * O)) : NAN;
}

/* pykan's Example 1: fit at each grid, each model refined from the previous one on the train
 * inputs; the time includes the refinements. UPDATE_GRID FALSE turns off the grid updates
 * during the fits (pykan's update_grid=False), so every grid stays uniform. */
static gboolean
bench_extend (const KanDataset *data,
              gboolean          quick,
              gboolean          update_grid,
              ExtendFigure     *r,
              GError          **error)
{
  const int *grids = quick ? extend_grids_quick : extend_grids;
  g_autoptr (KanModel) m = NULL;
  KanTrainConfig cfg;
  Stopwatch w;
  double cpu;

  r->update_grid = update_grid;
  r->n_grids = quick ? G_N_ELEMENTS (extend_grids_quick) : G_N_ELEMENTS (extend_grids);
  r->steps = quick ? 5 : 200;
  r->best_test = INFINITY;
  kan_train_config_init (&cfg);
  cfg.steps = r->steps;
  cfg.update_grid = update_grid;
  stopwatch_start (&w);
  for (int q = 0; q < r->n_grids; q++)
    {
      g_autoptr (KanTrainer) t = NULL;
      KanStepInfo info = { 0 };
      ExtendGrid *eg = &r->grids[q];

      if (q == 0)
        m = scale_model (EXTEND_WIDTH, grids[q], error);
      else
        {
          KanModel *c = kan_model_refine (m, grids[q], data->train_x, data->n_train, error);
          kan_model_free (m);
          m = c;
        }
      if (m == NULL || (t = kan_trainer_new (m, data, &cfg, error)) == NULL)
        return FALSE;
      eg->grid = grids[q];
      eg->best_test = INFINITY;
      for (int s = 0; s < cfg.steps; s++)
        {
          if (!kan_trainer_step (t, NULL, &info, error))
            return FALSE;
          eg->best_test = MIN (eg->best_test, info.test_rmse);
        }
      stopwatch_read (&w, &eg->seconds, &cpu);
      r->best_test = MIN (r->best_test, eg->best_test);
      eg->train = info.train_rmse;
      eg->test = info.test_rmse;
      {
        /* Not timed: the stopwatch skips it. */
        Stopwatch aside;
        double wall_aside, cpu_aside;
        stopwatch_start (&aside);
        eg->inside_test = inside_test_rmse (m, data, &eg->n_inside, &eg->n_outside);
        stopwatch_read (&aside, &wall_aside, &cpu_aside);
        w.wall0 += (gint64) (1e6 * wall_aside);
        w.cpu0 += cpu_aside;
      }
    }
  stopwatch_read (&w, &r->seconds, &r->cpu_seconds);
  return TRUE;
}

static gboolean
bench_grid_cost (const KanDataset *data, gboolean quick, GridCostFigure *r, GError **error)
{
  for (unsigned q = 0; q < G_N_ELEMENTS (cost_grids); q++)
    {
      g_autoptr (KanModel) m = scale_model (EXTEND_WIDTH, cost_grids[q], error);
      g_autoptr (KanTrainer) t = NULL;
      KanTrainConfig cfg;
      double s, cpu;

      kan_train_config_init (&cfg);
      if (m == NULL || (t = kan_trainer_new (m, data, &cfg, error)) == NULL)
        return FALSE;
      s = eval_seconds (t, kan_model_n_params (m), quick ? 0.02 : 0.5, 3, &r->evals[q], &cpu,
                     NULL);
      r->ns_per_sample[q] = 1e9 * s / data->n_train;
    }
  return TRUE;
}

/* The verdicts. */
static double
adam_ms (const ScaleFigures *f)
{
  return 1e3 * f->adam.seconds / f->adam.steps;
}

static gboolean
adam_met (const ScaleFigures *f)
{
  return adam_ms (f) <= PYKAN_ADAM_MS / TARGET_SPEEDUP;
}

static gboolean
fwd_bwd_met (const ScaleFigures *f)
{
  return f->fwd_bwd.seconds <= PYKAN_FWD_BWD_F64_SECONDS / TARGET_SPEEDUP;
}

static gboolean
extend_met (const ExtendFigure *e)
{
  return e->seconds <= PYKAN_EXTEND_SECONDS / TARGET_EXTEND_SPEEDUP
         && e->best_test <= PYKAN_EXTEND_TEST_RMSE;
}

static double
cost_ratio (const ScaleFigures *f)
{
  return f->cost.ns_per_sample[1] / f->cost.ns_per_sample[0];
}

static gboolean
read_met (const ScaleFigures *f)
{
  return f->stream.read_mb_per_s >= TARGET_READ_MB_S;
}

static const char *
verdict (gboolean met)
{
  return met ? "met" : "missed";
}

static void
print_adam (const ScaleFigures *f)
{
  const AdamFigure *a = &f->adam;

  printf ("[%s] Adam steps: G=5, k=3, lr %g, %d steps (grid updates every 5 steps up to\n"
          "step 50, train and test RMSE every step), 1000 train / 1000 test rows of\n%s:\n",
          ADAM_WIDTH, ADAM_LR, a->steps, ADAM_FORMULA);
  printf ("  %.2f ms/step (CPU %.2f ms), test RMSE %.2e; pykan %.0f ms/step: %.1fx\n"
          "  (target >= %.0fx, <= %.1f ms): %s\n\n", adam_ms (f),
          1e3 * a->cpu_seconds / a->steps, a->test_rmse, PYKAN_ADAM_MS,
          PYKAN_ADAM_MS / adam_ms (f), TARGET_SPEEDUP, PYKAN_ADAM_MS / TARGET_SPEEDUP,
          verdict (adam_met (f)));
  fflush (stdout);
}

static void
print_fwd_bwd (const ScaleFigures *f, size_t rows)
{
  const FwdBwdFigure *b = &f->fwd_bwd;

  printf ("[%s] forward+backward of the MSE loss over %zu rows (inputs uniform on\n"
          "[-1,1]), G=5, k=3, mean of %ld evaluation%s:\n", FWD_BWD_WIDTH, rows, b->evals,
          b->evals == 1 ? "" : "s");
  printf ("  %.1f ms (CPU %.1f ms); pykan float32 %.1f s: %.1fx; pykan float64 %.1f s: %.1fx\n"
          "  (target >= %.0fx pykan float64, <= %.0f ms): %s\n"
          "  the first evaluation, which also computes the bases and features of the inputs and\n"
          "  first touches the workspace: %.1f ms, %.1fx pykan float64\n\n", 1e3 * b->seconds,
          1e3 * b->cpu_seconds, PYKAN_FWD_BWD_F32_SECONDS, PYKAN_FWD_BWD_F32_SECONDS / b->seconds,
          PYKAN_FWD_BWD_F64_SECONDS, PYKAN_FWD_BWD_F64_SECONDS / b->seconds, TARGET_SPEEDUP,
          1e3 * PYKAN_FWD_BWD_F64_SECONDS / TARGET_SPEEDUP, verdict (fwd_bwd_met (f)),
          1e3 * b->first_seconds, PYKAN_FWD_BWD_F64_SECONDS / b->first_seconds);
  fflush (stdout);
}

static void
print_extend (const ExtendFigure *e)
{
  printf ("Grid extension on [%s], %s, %d L-BFGS steps per grid, each model\n"
          "refined from the previous one, %s:\n", EXTEND_WIDTH, T1_FORMULA, e->steps,
          e->update_grid ? "grid updates in the first 50 steps of each fit (pykan's default)"
                         : "no grid updates during the fits (uniform grids)");
  for (int q = 0; q < e->n_grids; q++)
    {
      const ExtendGrid *g = &e->grids[q];
      printf ("  G=%-4d done at %7.3f s, best test RMSE %.2e; at the end train %.2e, test %.2e,"
              "\n         test %.2e on the %d rows inside the train rows' range (%d outside)\n",
              g->grid, g->seconds, g->best_test, g->train, g->test, g->inside_test,
              g->n_inside, g->n_outside);
    }
  printf ("  total %.3f s (CPU %.3f s), best test RMSE %.2e; pykan %.0f s, %.1e: %.1fx\n"
          "  (target >= %.0fx, <= %.2f s, best test RMSE <= %.1e): %s\n\n", e->seconds,
          e->cpu_seconds, e->best_test, PYKAN_EXTEND_SECONDS, PYKAN_EXTEND_TEST_RMSE,
          PYKAN_EXTEND_SECONDS / e->seconds, TARGET_EXTEND_SPEEDUP,
          PYKAN_EXTEND_SECONDS / TARGET_EXTEND_SPEEDUP, PYKAN_EXTEND_TEST_RMSE,
          verdict (extend_met (e)));
  fflush (stdout);
}

static void
print_cost (const ScaleFigures *f)
{
  printf ("Cost per sample of one loss+gradient evaluation on [%s] over 1000 rows:\n"
          "  G=%d %.1f ns, G=%d %.1f ns: %.2fx (target <= %.1fx): %s\n", EXTEND_WIDTH,
          cost_grids[0], f->cost.ns_per_sample[0], cost_grids[1], f->cost.ns_per_sample[1],
          cost_ratio (f), TARGET_GRID_COST_RATIO,
          verdict (cost_ratio (f) <= TARGET_GRID_COST_RATIO));
  fflush (stdout);
}

static void
print_stream (const ScaleFigures *f)
{
  const CliStreamBench *s = &f->stream;

  printf ("%" G_GINT64_FORMAT " CSV rows, %d inputs, width 8,8,1 (a %.1f MB file):\n", s->rows,
          s->n_in, s->file_mb);
  printf ("  reading %.2f s, %.1f MB/s (target >= %.0f MB/s): %s\n", s->read_seconds,
          s->read_mb_per_s, TARGET_READ_MB_S, verdict (read_met (f)));
  printf ("  training %ld steps of batch %ld in %.2f s, test RMSE %.2e; peak RSS %.1f MB\n\n",
          s->steps, s->batch, s->train_seconds, s->test_rmse, s->peak_rss_kb / 1024.0);
  fflush (stdout);
}

static void
json_extend (CliJson *j, const char *key, const ExtendFigure *e)
{
  cli_json_begin_object (j, key);
  cli_json_string (j, "width", EXTEND_WIDTH);
  cli_json_string (j, "formula", T1_FORMULA);
  cli_json_bool (j, "update_grid", e->update_grid);
  cli_json_int (j, "steps_per_grid", e->steps);
  cli_json_begin_array (j, "grids");
  for (int q = 0; q < e->n_grids; q++)
    {
      cli_json_begin_object (j, NULL);
      cli_json_int (j, "grid", e->grids[q].grid);
      cli_json_double (j, "seconds", e->grids[q].seconds);
      cli_json_double (j, "best_test_rmse", e->grids[q].best_test);
      cli_json_double (j, "final_train_rmse", e->grids[q].train);
      cli_json_double (j, "final_test_rmse", e->grids[q].test);
      cli_json_double (j, "inside_test_rmse", e->grids[q].inside_test);
      cli_json_int (j, "outside_test_rows", e->grids[q].n_outside);
      cli_json_end_object (j);
    }
  cli_json_end_array (j);
  cli_json_double (j, "seconds", e->seconds);
  cli_json_double (j, "cpu_seconds", e->cpu_seconds);
  cli_json_double (j, "best_test_rmse", e->best_test);
  cli_json_double (j, "pykan_seconds", PYKAN_EXTEND_SECONDS);
  cli_json_double (j, "pykan_best_test_rmse", PYKAN_EXTEND_TEST_RMSE);
  cli_json_double (j, "speedup_vs_pykan", PYKAN_EXTEND_SECONDS / e->seconds);
  cli_json_double (j, "target_speedup", TARGET_EXTEND_SPEEDUP);
  cli_json_bool (j, "target_met", extend_met (e));
  cli_json_end_object (j);
}

static void
print_json (const ScaleFigures *f, size_t fwd_bwd_rows)
{
  const AdamFigure *a = &f->adam;
  const FwdBwdFigure *b = &f->fwd_bwd;
  const CliStreamBench *s = &f->stream;
  CliJson j;

  cli_json_begin_result (&j);
  cli_json_bool (&j, "quick", f->quick);

  cli_json_begin_object (&j, "adam");
  cli_json_string (&j, "width", ADAM_WIDTH);
  cli_json_string (&j, "formula", ADAM_FORMULA);
  cli_json_int (&j, "grid", 5);
  cli_json_int (&j, "k", 3);
  cli_json_int (&j, "train_rows", 1000);
  cli_json_int (&j, "test_rows", 1000);
  cli_json_double (&j, "lr", ADAM_LR);
  cli_json_int (&j, "steps", a->steps);
  cli_json_double (&j, "seconds", a->seconds);
  cli_json_double (&j, "cpu_seconds", a->cpu_seconds);
  cli_json_double (&j, "ms_per_step", adam_ms (f));
  cli_json_double (&j, "test_rmse", a->test_rmse);
  cli_json_double (&j, "pykan_ms_per_step", PYKAN_ADAM_MS);
  cli_json_double (&j, "speedup_vs_pykan", PYKAN_ADAM_MS / adam_ms (f));
  cli_json_double (&j, "target_speedup", TARGET_SPEEDUP);
  cli_json_bool (&j, "target_met", adam_met (f));
  cli_json_end_object (&j);

  cli_json_begin_object (&j, "forward_backward");
  cli_json_string (&j, "width", FWD_BWD_WIDTH);
  cli_json_int (&j, "rows", (gint64) fwd_bwd_rows);
  cli_json_int (&j, "evals", b->evals);
  cli_json_double (&j, "seconds", b->seconds);
  cli_json_double (&j, "cpu_seconds", b->cpu_seconds);
  cli_json_double (&j, "first_seconds", b->first_seconds);
  cli_json_double (&j, "pykan_seconds_float64", PYKAN_FWD_BWD_F64_SECONDS);
  cli_json_double (&j, "pykan_seconds_float32", PYKAN_FWD_BWD_F32_SECONDS);
  cli_json_double (&j, "speedup_vs_pykan_float64", PYKAN_FWD_BWD_F64_SECONDS / b->seconds);
  cli_json_double (&j, "speedup_vs_pykan_float32", PYKAN_FWD_BWD_F32_SECONDS / b->seconds);
  cli_json_double (&j, "target_speedup", TARGET_SPEEDUP);
  cli_json_bool (&j, "target_met", fwd_bwd_met (f));
  cli_json_end_object (&j);

  json_extend (&j, "grid_extension", &f->extend[0]);
  json_extend (&j, "grid_extension_uniform", &f->extend[1]);

  cli_json_begin_object (&j, "grid_cost");
  cli_json_string (&j, "width", EXTEND_WIDTH);
  cli_json_int (&j, "rows", 1000);
  for (unsigned q = 0; q < G_N_ELEMENTS (cost_grids); q++)
    {
      g_autofree char *key = g_strdup_printf ("ns_per_sample_g%d", cost_grids[q]);
      cli_json_double (&j, key, f->cost.ns_per_sample[q]);
    }
  cli_json_double (&j, "ratio", cost_ratio (f));
  cli_json_double (&j, "target_ratio", TARGET_GRID_COST_RATIO);
  cli_json_bool (&j, "target_met", cost_ratio (f) <= TARGET_GRID_COST_RATIO);
  cli_json_end_object (&j);

  cli_json_begin_object (&j, "stream");
  cli_json_int (&j, "rows", s->rows);
  cli_json_int (&j, "n_in", s->n_in);
  cli_json_double (&j, "file_mb", s->file_mb);
  cli_json_double (&j, "read_seconds", s->read_seconds);
  cli_json_double (&j, "read_mb_per_s", s->read_mb_per_s);
  cli_json_int (&j, "batch", s->batch);
  cli_json_int (&j, "steps", s->steps);
  cli_json_double (&j, "train_seconds", s->train_seconds);
  cli_json_double (&j, "test_rmse", s->test_rmse);
  cli_json_int (&j, "peak_rss_kb", s->peak_rss_kb);
  cli_json_double (&j, "target_read_mb_per_s", TARGET_READ_MB_S);
  cli_json_bool (&j, "target_met", read_met (f));
  cli_json_end_object (&j);

  cli_json_end_object (&j);
  cli_print_json (&j);
}

gboolean
cli_bench_scale (gboolean quick, gboolean json, GError **error)
{
  g_autoptr (KanDataset) t1 = formula_data (T1_FORMULA, error);
  size_t fwd_bwd_rows = quick ? 64 : FWD_BWD_ROWS;
  ScaleFigures f = { .quick = quick };

  if (t1 == NULL)
    return FALSE;
  if (!json)
    {
      printf ("Scale figures against pykan 0.2.8 on this machine kind (wall-clock; a loaded "
              "machine\ninflates them).%s\n\n",
              quick ? " --quick: small sizes, so the figures mean little." : "");
      fflush (stdout);
    }
  /* The stream first: its peak RSS is the process's, which the [784,64,10] network would
   * raise. */
  if (!cli_bench_stream (quick ? STREAM_ROWS_QUICK : STREAM_ROWS, quick, &f.stream, error))
    return FALSE;
  if (!json)
    print_stream (&f);
  if (!bench_adam (quick, &f.adam, error))
    return FALSE;
  if (!json)
    print_adam (&f);
  if (!bench_fwd_bwd (quick, &f.fwd_bwd, error))
    return FALSE;
  if (!json)
    print_fwd_bwd (&f, fwd_bwd_rows);
  for (int q = 0; q < 2; q++)
    {
      if (!bench_extend (t1, quick, q == 0, &f.extend[q], error))
        return FALSE;
      if (!json)
        print_extend (&f.extend[q]);
    }
  if (!bench_grid_cost (t1, quick, &f.cost, error))
    return FALSE;
  if (json)
    print_json (&f, fwd_bwd_rows);
  else
    print_cost (&f);
  return TRUE;
}
