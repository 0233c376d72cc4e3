/* kanvas-cli.c — the headless Kanvas: sub-commands over session files.
 *
 *   kanvas-cli fit    [data] [model] [training] [-i IN] [-o OUT] [--json]
 *   kanvas-cli refine -i IN --grid G [-o OUT] [--json]
 *   kanvas-cli eval   -i IN [data | --points …] [--json]
 *   kanvas-cli info   -i IN [--json]
 *   kanvas-cli scores|prune|suggest|lock|unlock|symbolic|formula -i IN …   (cli-session-cmds.c)
 *   kanvas-cli discover [data] [--pareto] [-o OUT] [--json]               (cli-discover.c)
 *   kanvas-cli plot   -i IN -o OUT.png|.svg|.pdf [--edge l,i,j] …          (cli-plot.c)
 *   kanvas-cli bench  [--quick] [--json]
 *
 * Every error is one line "kanvas-cli: MESSAGE" on stderr; usage errors exit with 2, other
 * failures with 1, an interrupted fit with 130. No output file is written unless the command
 * succeeded (or a fit was stopped with Ctrl-C, which keeps what it has).
 */
/* From OpenBLAS's cblas.h, which clashes with GSL's gsl_cblas.h. */
extern void openblas_set_num_threads (int n);

#include "cli.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <gsl/gsl_errno.h>

#ifndef KANVAS_VERSION
#define KANVAS_VERSION "unknown"
#endif

#define DEMO_FORMULA "exp(sin(pi*x1)+x2^2)"

/* The progress bar is redrawn at most this often. */
#define PROGRESS_INTERVAL_US (50 * 1000)

/* ------------------------------------------------------------------------------------------ */
/* Ctrl-C                                                                                      */

/* How often the watcher thread looks at the flag the SIGINT handler sets. */
#define INTERRUPT_POLL_US (20 * 1000)

/* Set by the SIGINT handler, which may do nothing else (async-signal safety). */
static volatile sig_atomic_t interrupted = 0;

static void
on_sigint (int sig)
{
  interrupted = 1;
}

struct _CliInterrupt
{
  GCancellable     *cancellable;
  GThread          *thread;
  gint              done;       /* atomic: the watcher stops */
  struct sigaction  old;
};

/* Turns the flag into a cancellation within INTERRUPT_POLL_US: the core looks at the
 * cancellable inside its loops, so the command stops within a fraction of a second. The thread
 * allocates nothing until then. */
static gpointer
interrupt_watch (gpointer data)
{
  CliInterrupt *ci = data;

  while (!g_atomic_int_get (&ci->done))
    {
      if (interrupted)
        {
          g_cancellable_cancel (ci->cancellable);
          break;
        }
      g_usleep (INTERRUPT_POLL_US);
    }
  return NULL;
}

CliInterrupt *
cli_interrupt_begin (GCancellable *cancellable)
{
  CliInterrupt *ci = g_new0 (CliInterrupt, 1);
  struct sigaction sa;

  ci->cancellable = g_object_ref (cancellable);
  memset (&sa, 0, sizeof sa);
  sa.sa_handler = on_sigint;
  /* A second Ctrl-C gets the default action, so a run that does not stop can still be
   * killed; system calls the signal lands in are restarted, not failed. */
  sa.sa_flags = SA_RESETHAND | SA_RESTART;
  sigemptyset (&sa.sa_mask);
  interrupted = 0;
  sigaction (SIGINT, &sa, &ci->old);
  ci->thread = g_thread_new ("kanvas-cli-sigint", interrupt_watch, ci);
  return ci;
}

gboolean
cli_interrupt_end (CliInterrupt *ci)
{
  gboolean was = interrupted != 0;

  g_atomic_int_set (&ci->done, 1);
  g_thread_join (ci->thread);
  sigaction (SIGINT, &ci->old, NULL);
  g_object_unref (ci->cancellable);
  g_free (ci);
  return was;
}

/* ------------------------------------------------------------------------------------------ */
/* Progress bar                                                                                */

typedef struct
{
  gboolean on;
  gint64   last;
} Progress;

static void
progress_draw (Progress          *p,
               const KanStepInfo *info,
               int                done,
               int                total,
               gboolean           force)
{
  enum { BAR = 10 };
  char bar[BAR + 1], a[32], b[32];
  gint64 now = g_get_monotonic_time ();
  int fill;

  if (!p->on || (!force && now - p->last < PROGRESS_INTERVAL_US))
    return;
  p->last = now;
  fill = total > 0 ? (int) ((gint64) done * BAR / total) : BAR;
  for (int q = 0; q < BAR; q++)
    bar[q] = q < fill ? '#' : '.';
  bar[BAR] = '\0';
  snprintf (a, sizeof a, "%.1e", info->train_rmse);
  snprintf (b, sizeof b, "%.1e", info->test_rmse);
  fprintf (stderr, "\r[%s] step %d/%d  train %s  test %s  %.1f s\033[K", bar, done, total, a,
           isnan (info->test_rmse) ? "n/a" : b, info->seconds);
  fflush (stderr);
}

static void
progress_end (Progress *p)
{
  if (!p->on)
    return;
  fputs ("\r\033[K", stderr);
  fflush (stderr);
}

/* ------------------------------------------------------------------------------------------ */
/* Shared bits of the commands                                                                 */

/* Regulariser of the model as it is (the "reg" of step 0); NaN when its workspace for every
 * train row would not fit the training budget (with minibatches it can be the larger). */
static double
initial_reg (const KanModel       *m,
             const KanDataset     *d,
             const KanTrainConfig *cfg)
{
  g_autoptr (KanWork) w = NULL;
  double *out, reg;
  double budget = cfg->memory_budget > 0 ? cfg->memory_budget : KAN_TRAIN_BUDGET_BYTES;

  if (!(cfg->lamb > 0))
    return 0.0;
  if ((double) kan_work_bytes (m, d->n_train) + (double) kan_model_bytes (m)
      + (double) d->n_train * (d->n_in + 2 * d->n_out) * sizeof (double) > budget)
    return NAN;
  w = kan_work_new (m, d->n_train);
  out = g_new (double, d->n_train * kan_model_n_out (m));
  kan_model_forward (m, w, d->train_x, d->n_train,
                     cfg->singularity_avoiding ? cfg->y_th : 0.0, out);
  reg = kan_model_reg (m, w, cfg->lamb_l1, cfg->lamb_entropy, cfg->lamb_coef,
                       cfg->lamb_coefdiff, 1.0, NULL);
  g_free (out);
  return reg;
}

/* ------------------------------------------------------------------------------------------ */
/* fit                                                                                         */

/* KANVAS_MEMORY_BUDGET: the training budget in bytes, with an optional k, M or G (powers of
 * 1024); unset or empty keeps the default. */
static gboolean
budget_from_env (double  *budget,
                 GError **error)
{
  const char *text = g_getenv ("KANVAS_MEMORY_BUDGET");
  char *end;
  double v, unit = 1.0;

  if (text == NULL || *text == '\0')
    return TRUE;
  v = g_ascii_strtod (text, &end);
  if (*end == 'k' || *end == 'K')
    unit = 1024.0, end++;
  else if (*end == 'M')
    unit = 1048576.0, end++;
  else if (*end == 'G')
    unit = 1073741824.0, end++;
  if (end == text || *end != '\0' || !(v > 0) || !isfinite (v))
    {
      g_set_error (error, CLI_ERROR, CLI_ERROR_USAGE,
                   "KANVAS_MEMORY_BUDGET=%s: expected a positive number of bytes, e.g. 512M",
                   text);
      return FALSE;
    }
  *budget = v * unit;
  return TRUE;
}

typedef struct
{
  int    step;   /* steps done; 0 is the model before training */
  double train, test, reg;
} LossRow;

/* What a fit run did. */
typedef struct
{
  GArray      *rows;      /* LossRow, step 0 first */
  KanStepInfo  info;      /* of the last step */
  CliMetrics   mt;        /* of the model after the run */
  int          done;      /* steps done */
  gboolean     stopped;   /* by Ctrl-C before the last step */
} FitRun;

/* The session to train (loaded from IN, or new), its data (from the data options, the
 * session's, or the demo: *DEMO) and model (the session's, or new from the model options), and
 * the training settings into CFG. *DATA_NOTE names new data for the history. */
static KanSession *
fit_setup (const char         *in,
           const CliDataOpts  *dopt,
           const CliModelOpts *mopt,
           const CliTrainOpts *topt,
           KanTrainConfig     *cfg,
           char              **data_note,
           gboolean           *demo,
           GError            **error)
{
  g_autoptr (KanSession) s = NULL;

  if (in)
    {
      if (cli_model_opts_given (mopt))
        {
          g_set_error (error, CLI_ERROR, CLI_ERROR_USAGE,
                       "model options make a new model and cannot be used with -i "
                       "(use 'refine' to change the grid)");
          return NULL;
        }
      s = cli_load_session (in, error);
      if (s == NULL)
        return NULL;
      *cfg = s->train;
    }
  else
    {
      s = kan_session_new ();
      kan_train_config_init (cfg);
      /* A new fit picks its optimiser (kan_train_resolve_optimizer; README). */
      cfg->opt = KAN_OPT_AUTO;
    }
  if (!cli_train_opts_apply (topt, cfg, error))
    return NULL;
  if (!budget_from_env (&cfg->memory_budget, error))
    return NULL;

  if (cli_data_opts_given (dopt))
    {
      KanDataset *d = cli_data_from_opts (dopt, error);
      if (d == NULL)
        return NULL;
      /* Text labels are the session's classes by name; a new session classifies them. */
      if (!cli_match_classes (s, d, error))
        {
          kan_dataset_free (d);
          return NULL;
        }
      if (d->class_names != NULL && !in && topt->loss == NULL)
        cfg->loss = KAN_LOSS_CE;
      kan_dataset_free (s->data);
      s->data = d;
      *data_note = g_strdup (d->source == KAN_DATA_FORMULA ? d->formula
                             : d->csv_path ? d->csv_path : "arrays");
    }
  else if (!in)
    {
      KanFormulaSpec spec;
      kan_formula_spec_init (&spec);
      spec.formula = DEMO_FORMULA;
      s->data = kan_dataset_from_formula (&spec, error);
      if (s->data == NULL)
        return NULL;
      *demo = TRUE;
    }
  else if (s->data == NULL)
    {
      g_set_error (error, CLI_ERROR, CLI_ERROR_FAILED,
                   "%s: the session has no data; give --formula or --csv", in);
      return NULL;
    }

  if (s->model == NULL)
    {
      g_autofree char *detail = NULL;
      s->model = cli_model_from_opts (mopt, s->data, cfg->loss, &detail, error);
      if (s->model == NULL)
        return NULL;
      kan_session_add_history (s, "new", detail, NAN, NAN);
    }
  if (!cli_check_fit (s->model, s->data, cfg->loss, error))
    return NULL;
  return g_steal_pointer (&s);
}

/* Trains S's model for CFG->steps steps, or until Ctrl-C, with a progress bar on a terminal
 * unless JSON; fills R. */
static gboolean
fit_run (KanSession           *s,
         const KanTrainConfig *cfg,
         gboolean              demo,
         gboolean              json,
         FitRun               *r,
         GError              **error)
{
  g_autoptr (KanTrainer) t = NULL;
  g_autoptr (GCancellable) cancel = g_cancellable_new ();
  Progress progress = { 0 };
  CliInterrupt *ci;
  LossRow row;
  double reg0;

  /* Before the trainer exists: its workspace for every train row is not the trainer's. */
  reg0 = initial_reg (s->model, s->data, cfg);
  t = kan_trainer_new (s->model, s->data, cfg, error);
  if (t == NULL)
    return FALSE;
  if (demo)
    fprintf (stderr, "using the built-in demo: %s on [-1,1]^2, %zu train / %zu test rows "
             "(give --formula or --csv for your own data)\n", DEMO_FORMULA, s->data->n_train,
             s->data->n_test);

  cli_metrics (s->model, s->data, cfg->loss, &r->mt);
  row = (LossRow) { 0, r->mt.train, r->mt.test, reg0 };
  g_array_append_val (r->rows, row);

  progress.on = !json && isatty (STDERR_FILENO);
  ci = cli_interrupt_begin (cancel);
  while (r->done < cfg->steps && !g_cancellable_is_cancelled (cancel))
    {
      g_autoptr (GError) local = NULL;

      /* A step stopped part-way leaves the model as it was before that step. */
      if (!kan_trainer_step (t, cancel, &r->info, &local))
        {
          if (g_error_matches (local, KAN_ERROR, KAN_ERROR_CANCELLED))
            break;
          g_propagate_error (error, g_steal_pointer (&local));
          break;
        }
      r->done++;
      row = (LossRow) { r->done, r->info.train_rmse, r->info.test_rmse, r->info.reg };
      g_array_append_val (r->rows, row);
      progress_draw (&progress, &r->info, r->done, cfg->steps, r->done == cfg->steps);
    }
  r->stopped = cli_interrupt_end (ci);
  r->stopped = r->done < cfg->steps && (r->stopped || g_cancellable_is_cancelled (cancel));
  progress_end (&progress);
  if (error != NULL && *error != NULL)
    return FALSE;

  /* After Ctrl-C the model is the one the last step reported on (or the first one), so its
   * metrics are known without another pass over the data. */
  if (r->stopped && r->done > 0 && cfg->loss == KAN_LOSS_MSE && !cfg->singularity_avoiding)
    {
      r->mt.train = r->info.train_rmse;
      r->mt.test = r->info.test_rmse;
    }
  else if (!(r->stopped && r->done == 0))
    cli_metrics (s->model, s->data, cfg->loss, &r->mt);
  return TRUE;
}

static void
fit_print_json (const KanSession     *s,
                const KanTrainConfig *cfg,
                const FitRun         *r,
                const char           *out)
{
  CliJson j;

  cli_json_begin_result (&j);
  cli_metrics_json (&j, &r->mt, cfg->loss, "");
  cli_json_double (&j, "seconds", r->info.seconds);
  cli_json_int (&j, "steps", r->done);
  cli_json_int (&j, "evals", r->info.n_evals);
  cli_json_int (&j, "steps_done", s->steps_done);
  cli_json_bool (&j, "stopped", r->stopped);
  cli_json_string (&j, "optimizer", kan_optimizer_name (cfg->opt));
  cli_json_string (&j, "output", out);
  if (cfg->loss == KAN_LOSS_CE)
    cli_classes_json (&j, s->model, s->data);
  cli_json_begin_array (&j, "losses");
  for (guint q = 0; q < r->rows->len; q++)
    {
      const LossRow *row = &g_array_index (r->rows, LossRow, q);
      cli_json_begin_object (&j, NULL);
      cli_json_int (&j, "step", row->step);
      cli_json_double (&j, "train_rmse", row->train);
      cli_json_double (&j, "test_rmse", row->test);
      cli_json_double (&j, "reg", row->reg);
      cli_json_end_object (&j);
    }
  cli_json_end_array (&j);
  cli_json_end_object (&j);
  cli_print_json (&j);
}

static int
cmd_fit (int argc, char **argv, GError **error)
{
  CliCommand c;
  CliDataOpts dopt = { 0 };
  CliModelOpts mopt = { 0 };
  CliTrainOpts topt = { 0 };
  g_autofree char *in = NULL, *out = NULL;
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "input", 'i', 0, G_OPTION_ARG_FILENAME, &in,
      "Continue this session (model, data and settings)", "IN.kanvas" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &out, "Save the session (atomically)",
      "OUT.kanvas" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the result as JSON", NULL },
    { NULL }
  };
  g_autoptr (KanSession) s = NULL;
  g_autoptr (GArray) rows = g_array_new (FALSE, FALSE, sizeof (LossRow));
  g_autofree char *data_note = NULL;
  KanTrainConfig cfg;
  FitRun r = { .rows = rows };
  gboolean demo = FALSE;
  int status = 1;

  cli_command_init (&c, "fit", "train a KAN (the built-in demo without data options)", entries);
  cli_data_opts_add (&c, &dopt);
  cli_model_opts_add (&c, &mopt);
  cli_train_opts_add (&c, &topt);
  g_option_context_set_description (c.ctx,
    "Without data options and -i, fits the built-in demo " DEMO_FORMULA " on [-1,1]^2\n"
    "(1000 train / 1000 test rows, width 2,5,1, G=5). With -i, the model, data and training\n"
    "settings come from the session; data options replace the data and training options\n"
    "override the settings. Ctrl-C stops within a second: the step in progress is undone and\n"
    "what there is is saved (exit status 130). KANVAS_MEMORY_BUDGET (bytes, or with k, M, G)\n"
    "lowers the 4 GiB training budget.\n");
  if (!cli_command_parse_or_help (&c, &argc, &argv, &status, error))
    goto done;

  s = fit_setup (in, &dopt, &mopt, &topt, &cfg, &data_note, &demo, error);
  if (s == NULL || !fit_run (s, &cfg, demo, json, &r, error))
    goto done;

  /* Record and save. */
  {
    KanOpsFitRun run = { .steps = r.done, .stopped = r.stopped, .data_note = data_note,
                         .have_rmse = TRUE, .train_rmse = r.mt.train, .test_rmse = r.mt.test };
    kan_ops_fit_record (s, &cfg, &run);
  }
  if (out && !kan_session_save (s, out, error))
    goto done;

  if (r.stopped)
    fprintf (stderr, "stopped at step %d\n", r.done);
  if (json)
    fit_print_json (s, &cfg, &r, out);
  else
    {
      g_autofree char *text = cli_metrics_text (&r.mt, cfg.loss);
      printf ("step %d/%d: %s (%.2f s, %ld evaluations)\n", r.done, cfg.steps, text,
              r.info.seconds, r.info.n_evals);
      if (cfg.loss == KAN_LOSS_CE)
        cli_print_classes (s->model, s->data);
    }
  status = r.stopped ? CLI_EXIT_INTERRUPTED : 0;

done:
  cli_data_opts_clear (&dopt);
  cli_model_opts_clear (&mopt);
  cli_train_opts_clear (&topt);
  cli_command_clear (&c);
  return status;
}

/* ------------------------------------------------------------------------------------------ */
/* refine                                                                                      */

static int
cmd_refine (int argc, char **argv, GError **error)
{
  CliCommand c;
  g_autofree char *in = NULL, *out = NULL, *grid_text = NULL;
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "input", 'i', 0, G_OPTION_ARG_FILENAME, &in, "The session to refine (required)",
      "IN.kanvas" },
    { "grid", 0, 0, G_OPTION_ARG_FILENAME, &grid_text,
      "New number of grid intervals, 1 … " G_STRINGIFY (CLI_MAX_GRID) " (required)", "G" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &out, "Save the refined session (atomically)",
      "OUT.kanvas" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the result as JSON", NULL },
    { NULL }
  };
  g_autoptr (KanSession) s = NULL;
  CliMetrics before, after;
  gint64 g;
  int old_grid, status = 1;

  cli_command_init (&c, "refine", "refit the splines on a finer (or coarser) grid", entries);
  g_option_context_set_description (c.ctx,
    "Refits every spline with G' intervals by least squares on the session's training inputs\n"
    "and prints the train and test RMSE before and after.\n");
  if (!cli_command_parse (&c, &argc, &argv, error))
    goto done;
  if (c.help)
    {
      status = 0;
      goto done;
    }
  if (!cli_require (in, "-i IN.kanvas", error) || !cli_require (grid_text, "--grid G", error)
      || !cli_parse_int ("--grid", grid_text, 1, CLI_MAX_GRID, &g, error))
    goto done;

  s = cli_load_session (in, error);
  if (s == NULL)
    goto done;
  if (s->data == NULL || s->data->n_train == 0)
    {
      g_set_error (error, CLI_ERROR, CLI_ERROR_FAILED,
                   "%s: refining needs the session's training inputs, and it has none", in);
      goto done;
    }
  if (!cli_check_fit (s->model, s->data, s->train.loss, error))
    goto done;

  old_grid = kan_model_grid (s->model);
  cli_metrics (s->model, s->data, s->train.loss, &before);
  if (!kan_ops_refine (s, (int) g, NULL, NULL, error))
    goto done;
  cli_metrics_recorded (s, &after);
  if (out && !kan_session_save (s, out, error))
    goto done;

  if (json)
    {
      CliJson j;
      cli_json_begin_result (&j);
      cli_json_int (&j, "grid_before", old_grid);
      cli_json_int (&j, "grid", g);
      cli_print_result_json (&j, &before, &after, s->train.loss, out);
    }
  else
    {
      g_autofree char *t1 = cli_metrics_text (&before, s->train.loss);
      g_autofree char *t2 = cli_metrics_text (&after, s->train.loss);
      printf ("before (G=%d): %s\nafter (G=%d): %s\n", old_grid, t1, (int) g, t2);
    }
  status = 0;

done:
  cli_command_clear (&c);
  return status;
}

/* ------------------------------------------------------------------------------------------ */
/* eval                                                                                        */

/* Evaluates the model at the points "x1,x2[:x1,x2…]", in the units of the raw data: inputs are
 * normalised and outputs denormalised the way the session's data were. */
static gboolean
eval_points (const KanSession *s,
             const char       *text,
             gboolean          json,
             GError          **error)
{
  const KanModel *m = s->model;
  const KanDataset *d = s->data;
  int I = kan_model_n_in (m), O = kan_model_n_out (m);
  g_auto (GStrv) pts = g_strsplit (text, ":", -1);
  size_t n = g_strv_length (pts);
  g_autofree double *x = NULL;
  g_autofree double *y = NULL;
  CliJson j;

  if (n == 0)
    {
      g_set_error (error, CLI_ERROR, CLI_ERROR_USAGE,
                   "--points: no points given; write x1,x2[:x1,x2…] with %d value%s each", I,
                   I == 1 ? "" : "s");
      return FALSE;
    }
  x = g_new (double, n * I);
  y = g_new (double, n * O);
  for (size_t b = 0; b < n; b++)
    {
      g_autofree double *v = NULL;
      int got;

      if (pts[b][strspn (pts[b], " \t")] == '\0')
        {
          g_set_error (error, CLI_ERROR, CLI_ERROR_USAGE,
                       "--points: point %zu is empty; write x1,x2[:x1,x2…] with %d value%s "
                       "each", b + 1, I, I == 1 ? "" : "s");
          return FALSE;
        }
      if (!cli_parse_doubles ("--points", pts[b], I, &v, &got, error))
        return FALSE;
      for (int i = 0; i < I; i++)
        x[b * I + i] = d && d->in_mean ? (v[i] - d->in_mean[i]) / d->in_std[i] : v[i];
    }
  kan_model_eval (m, x, n, y);
  if (d && d->out_mean && d->n_out == O)
    for (size_t b = 0; b < n; b++)
      for (int o = 0; o < O; o++)
        y[b * O + o] = y[b * O + o] * d->out_std[o] + d->out_mean[o];
  /* A pole (a locked 1/x at 0) or an overflow gives no number to print. */
  for (size_t b = 0; b < n * O; b++)
    if (!isfinite (y[b]))
      {
        g_autofree char *point = cli_term_escape (pts[b / O]);
        g_autofree char *shown = kan_expr_excerpt (point, 0);

        g_set_error (error, CLI_ERROR, CLI_ERROR_FAILED,
                     "--points: at point %zu (%s) output %zu of the model is %s; the point "
                     "may be at a pole or outside the model's domain", b / O + 1, g_strstrip (shown),
                     b % O + 1, isnan (y[b]) ? "not a number (NaN)"
                                             : y[b] > 0 ? "+infinity" : "-infinity");
        return FALSE;
      }

  if (json)
    {
      cli_json_begin_result (&j);
      cli_json_begin_array (&j, "outputs");
      for (size_t b = 0; b < n; b++)
        {
          cli_json_begin_array (&j, NULL);
          for (int o = 0; o < O; o++)
            cli_json_double (&j, NULL, y[b * O + o]);
          cli_json_end_array (&j);
        }
      cli_json_end_array (&j);
      cli_json_end_object (&j);
      cli_print_json (&j);
      return TRUE;
    }
  for (size_t b = 0; b < n; b++)
    {
      for (int o = 0; o < O; o++)
        printf ("%s%.17g", o ? "," : "", y[b * O + o]);
      putchar ('\n');
    }
  return TRUE;
}

/* The first of N rows of X where M's outputs are not all finite, or -1. */
static long
first_nonfinite_row (const KanModel *m,
                     const double   *x,
                     size_t          n)
{
  int O = kan_model_n_out (m);
  g_autofree double *y = g_new (double, MAX (n * O, 1));

  kan_model_eval (m, x, n, y);
  for (size_t b = 0; b < n * O; b++)
    if (!isfinite (y[b]))
      return (long) (b / O);
  return -1;
}

static int
cmd_eval (int argc, char **argv, GError **error)
{
  CliCommand c;
  CliDataOpts dopt = { 0 };
  g_autofree char *in = NULL, *points = NULL;
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "input", 'i', 0, G_OPTION_ARG_FILENAME, &in, "The session to evaluate (required)",
      "IN.kanvas" },
    { "points", 0, 0, G_OPTION_ARG_FILENAME, &points,
      "Print the model's outputs at these points, one line each", "x1,x2[:x1,x2…]" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the result as JSON", NULL },
    { NULL }
  };
  g_autoptr (KanSession) s = NULL;
  g_autoptr (KanDataset) own = NULL;
  const KanDataset *d;
  CliMetrics mt;
  int status = 1;

  cli_command_init (&c, "eval", "evaluate a session's model on data or at points", entries);
  cli_data_opts_add (&c, &dopt);
  g_option_context_set_description (c.ctx,
    "Prints the RMSE (with --loss ce: cross-entropy and accuracy) of the model on the train\n"
    "and test rows of the session's data, or of the data given by --formula or --csv.\n");
  if (!cli_command_parse (&c, &argc, &argv, error))
    goto done;
  if (c.help)
    {
      status = 0;
      goto done;
    }
  if (!cli_require (in, "-i IN.kanvas", error))
    goto done;
  if (points && cli_data_opts_given (&dopt))
    {
      g_set_error (error, CLI_ERROR, CLI_ERROR_USAGE,
                   "--points cannot be combined with data options");
      goto done;
    }
  s = cli_load_session (in, error);
  if (s == NULL)
    goto done;
  if (points)
    {
      status = eval_points (s, points, json, error) ? 0 : 1;
      goto done;
    }

  if (cli_data_opts_given (&dopt))
    {
      own = cli_data_from_opts (&dopt, error);
      if (own == NULL || !cli_match_classes (s, own, error))
        goto done;
      d = own;
    }
  else if (s->data != NULL)
    d = s->data;
  else
    {
      g_set_error (error, CLI_ERROR, CLI_ERROR_FAILED,
                   "%s: the session has no data; give --formula or --csv", in);
      goto done;
    }
  if (!cli_check_fit (s->model, d, s->train.loss, error))
    goto done;
  cli_metrics (s->model, d, s->train.loss, &mt);
  /* An RMSE that is not a number means outputs that are not numbers (a pole, an overflow):
   * say where, rather than print "n/a" as for a part without rows. */
  if ((d->n_train > 0 && !isfinite (mt.train)) || (d->n_test > 0 && !isfinite (mt.test)))
    {
      gboolean train = d->n_train > 0 && !isfinite (mt.train);
      long row = first_nonfinite_row (s->model, train ? d->train_x : d->test_x,
                                      train ? d->n_train : d->n_test);

      g_autofree char *where = row >= 0 ? g_strdup_printf (" (its outputs are not finite at %s "
                                                           "row %ld)", train ? "train" : "test",
                                                           row + 1)
                                          : g_strdup ("");

      g_set_error (error, CLI_ERROR, CLI_ERROR_FAILED,
                   "the model's %s on the %s rows is not a number%s; an input may be at a pole "
                   "or outside the model's domain",
                   s->train.loss == KAN_LOSS_CE ? "cross-entropy" : "RMSE",
                   train ? "train" : "test", where);
      goto done;
    }

  if (json)
    {
      CliJson j;
      cli_json_begin_result (&j);
      cli_metrics_json (&j, &mt, s->train.loss, "");
      cli_json_int (&j, "n_train", (gint64) d->n_train);
      cli_json_int (&j, "n_test", (gint64) d->n_test);
      if (s->train.loss == KAN_LOSS_CE)
        cli_classes_json (&j, s->model, d);
      cli_json_end_object (&j);
      cli_print_json (&j);
    }
  else
    {
      g_autofree char *text = cli_metrics_text (&mt, s->train.loss);
      printf ("%s (%zu train / %zu test rows)\n", text, d->n_train, d->n_test);
      if (s->train.loss == KAN_LOSS_CE)
        cli_print_classes (s->model, d);
    }
  status = 0;

done:
  cli_data_opts_clear (&dopt);
  cli_command_clear (&c);
  return status;
}

/* ------------------------------------------------------------------------------------------ */
/* info                                                                                        */

static int
cmd_info (int argc, char **argv, GError **error)
{
  CliCommand c;
  g_autofree char *in = NULL;
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "input", 'i', 0, G_OPTION_ARG_FILENAME, &in, "The session to describe (required)",
      "S.kanvas" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the result as JSON", NULL },
    { NULL }
  };
  g_autoptr (KanSession) s = NULL;
  g_autofree char *width = NULL, *data_text = NULL;
  g_autofree size_t *idx = NULL;
  const KanTrainConfig *tc;
  size_t n_params, n_active;
  int status = 1;

  cli_command_init (&c, "info", "describe a session: model, data, settings, history", entries);
  if (!cli_command_parse (&c, &argc, &argv, error))
    goto done;
  if (c.help)
    {
      status = 0;
      goto done;
    }
  if (!cli_require (in, "-i S.kanvas", error))
    goto done;
  s = cli_load_session (in, error);
  if (s == NULL)
    goto done;

  width = kan_shape_to_string (kan_model_shape (s->model));
  n_params = kan_model_n_params (s->model);
  idx = g_new (size_t, MAX (n_params, 1));
  n_active = kan_model_active_params (s->model, idx);
  data_text = s->data ? cli_data_describe (s->data) : g_strdup ("none");
  tc = &s->train;

  if (json)
    {
      CliJson j;
      cli_json_begin_result (&j);
      cli_json_string (&j, "width", width);
      cli_json_int (&j, "grid", kan_model_grid (s->model));
      cli_json_int (&j, "k", kan_model_k (s->model));
      cli_json_int (&j, "params", (gint64) n_params);
      cli_json_int (&j, "active_params", (gint64) n_active);
      cli_json_string (&j, "data", data_text);
      cli_json_string (&j, "optimizer", kan_optimizer_name (tc->opt));
      cli_json_string (&j, "loss", tc->loss == KAN_LOSS_CE ? "ce" : "mse");
      cli_json_int (&j, "steps", tc->steps);
      cli_json_double (&j, "lr", tc->lr);
      cli_json_double (&j, "lamb", tc->lamb);
      cli_json_int (&j, "steps_done", s->steps_done);
      cli_json_begin_array (&j, "history");
      for (guint q = 0; q < s->history->len; q++)
        {
          const KanHistoryEntry *e = g_ptr_array_index (s->history, q);
          cli_json_begin_object (&j, NULL);
          cli_json_string (&j, "op", e->op);
          cli_json_string (&j, "detail", e->detail);
          cli_json_double (&j, "train_rmse", e->train_rmse);
          cli_json_double (&j, "test_rmse", e->test_rmse);
          cli_json_end_object (&j);
        }
      cli_json_end_array (&j);
      cli_json_end_object (&j);
      cli_print_json (&j);
    }
  else
    {
      g_autofree char *data_shown = cli_term_escape (data_text);

      printf ("model:    width %s, G=%d, k=%d, %zu parameters (%zu trainable)\n", width,
              kan_model_grid (s->model), kan_model_k (s->model), n_params, n_active);
      /* Strings from the file are escaped: a session must not drive the terminal. */
      printf ("data:     %s\n", data_shown);
      printf ("training: %s, %d steps, lr %g, lamb %g, loss %s; %d steps done\n",
              kan_optimizer_name (tc->opt), tc->steps, tc->lr, tc->lamb,
              tc->loss == KAN_LOSS_CE ? "ce" : "mse", s->steps_done);
      printf ("history:\n");
      for (guint q = 0; q < s->history->len; q++)
        {
          const KanHistoryEntry *e = g_ptr_array_index (s->history, q);
          g_autofree char *op = cli_term_escape (e->op);
          g_autofree char *detail = cli_term_escape (e->detail ? e->detail : "");
          char a[32], b[32];
          printf ("  %2u. %-8s %s", q + 1, op, detail);
          if (!isnan (e->train_rmse) || !isnan (e->test_rmse))
            printf ("  (train %s, test %s)", cli_fmt_sci (a, e->train_rmse),
                    cli_fmt_sci (b, e->test_rmse));
          putchar ('\n');
        }
    }
  status = 0;

done:
  cli_command_clear (&c);
  return status;
}

/* ------------------------------------------------------------------------------------------ */
/* main                                                                                        */

typedef struct
{
  const char *name;
  int       (*run) (int argc, char **argv, GError **error);
  const char *summary;
} Command;

static const Command commands[] = {
  { "fit",    cmd_fit,       "train a model (new, or continue a session with -i)" },
  { "refine", cmd_refine,    "change a session's grid size G by least-squares refitting" },
  { "eval",   cmd_eval,      "RMSE on the session's or other data; outputs at given points" },
  { "info",   cmd_info,      "describe a session: model, data, settings, history" },
  { "scores", cli_cmd_scores, "attribution scores of edges, nodes and inputs" },
  { "prune",  cli_cmd_prune, "remove weak hidden nodes, then weak edges" },
  { "suggest", cli_cmd_suggest, "rank library functions for one edge" },
  { "lock",   cli_cmd_lock,  "lock one edge to a library function" },
  { "unlock", cli_cmd_unlock, "return a locked edge to its spline" },
  { "symbolic", cli_cmd_symbolic, "lock every spline edge to its best library function" },
  { "formula", cli_cmd_formula, "the closed-form formula of a fully locked network" },
  { "discover", cli_cmd_discover, "find a closed-form formula for data, end to end" },
  { "stream", cli_cmd_stream, "train on a CSV file too large for memory, a batch at a time" },
  { "plot",   cli_cmd_plot,  "draw the network (or one edge) to PNG, SVG or PDF" },
  { "bench",  cli_cmd_bench, "time the optimisers on pykan's recipe T1" },
};

static void
usage (FILE *f)
{
  fprintf (f, "Usage: kanvas-cli COMMAND [OPTION…]\n\n"
              "Kolmogorov–Arnold networks on the command line, over session files.\n\n"
              "Commands:\n");
  for (unsigned q = 0; q < G_N_ELEMENTS (commands); q++)
    fprintf (f, "  %-9s %s\n", commands[q].name, commands[q].summary);
  fprintf (f, "\nRun 'kanvas-cli COMMAND --help' for a command's options.\n"
              "Exit status: 0 on success, 1 on failure, 2 on a usage error, 130 when a fit was "
              "stopped with Ctrl-C.\n");
}

int
cli_run (int          argc,
         char       **argv,
         const char **command,
         GError     **error)
{
  const Command *cmd = NULL;
  const char *name;

  *command = NULL;
  if (argc < 2)
    {
      usage (stderr);
      return 2;
    }
  name = argv[1];
  if (strcmp (name, "--help") == 0 || strcmp (name, "-h") == 0
      || (strcmp (name, "help") == 0 && argc == 2))
    {
      usage (stdout);
      return 0;
    }
  if (strcmp (name, "--version") == 0)
    {
      printf ("kanvas-cli %s\n", KANVAS_VERSION);
      return 0;
    }
  if (strcmp (name, "help") == 0)
    {
      /* "kanvas-cli help fit" is "kanvas-cli fit --help". */
      static char help_flag[] = "--help";
      argv[1] = argv[2];
      argv[2] = help_flag;
      argc = 3;
      name = argv[1];
    }
  for (unsigned q = 0; q < G_N_ELEMENTS (commands); q++)
    if (strcmp (name, commands[q].name) == 0)
      cmd = &commands[q];
  if (cmd == NULL)
    {
      g_autofree char *cut = kan_expr_excerpt (name, 0);

      g_set_error (error, CLI_ERROR, CLI_ERROR_USAGE,
                   "unknown command '%s' (see 'kanvas-cli --help')", cut);
      return 2;
    }

  *command = cmd->name;
  {
    g_autofree char *prgname = g_strdup_printf ("kanvas-cli %s", cmd->name);
    g_set_prgname (prgname);
  }
  return cmd->run (argc - 1, argv + 1, error);
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  const char *command;
  int status;

  gsl_set_error_handler_off ();
  /* One BLAS thread: a threaded dsyrk changes its summation order from run to run, and runs
   * must be reproducible. Training threads are Kanvas's own (--threads). */
  openblas_set_num_threads (1);

  status = cli_run (argc, argv, &command, &error);
  if (error != NULL)
    {
      gboolean usage_error = g_error_matches (error, CLI_ERROR, CLI_ERROR_USAGE);
      /* Messages quote file contents and arguments: one line of bounded length, nothing a
       * terminal acts on. */
      g_autofree char *shorter = cli_shorten_words (error->message);
      g_autofree char *message = cli_term_escape (shorter);

      if (usage_error && command != NULL)
        fprintf (stderr, "kanvas-cli: %s (see 'kanvas-cli %s --help')\n", message, command);
      else
        fprintf (stderr, "kanvas-cli: %s\n", message);
      return usage_error ? 2 : 1;
    }
  return status;
}
