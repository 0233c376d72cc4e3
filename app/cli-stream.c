/* cli-stream.c — "kanvas-cli stream": minibatch training on a CSV file read as a stream
 * (kan-stream.h), for files too large to hold in memory.
 *
 * A first pass counts the rows and draws the held-out sample; each epoch then re-reads the file
 * and takes one Adam step per batch. On a terminal, stderr shows the rows read, MB/s, the last
 * batch's RMSE and the time left; the result and the saved session are as for "fit", with the
 * held-out sample as the session's data.
 */
#include "cli.h"
#include "kan-stream.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* The progress line is redrawn at most this often. */
#define STREAM_PROGRESS_US 100000

typedef struct
{
  gboolean on;
  gint64   last;
  gboolean drawn;
} StreamProgress;

static void
stream_progress (const KanStreamProgress *p,
                 gpointer                 user_data)
{
  StreamProgress *sp = user_data;
  enum { BAR = 10 };
  char bar[BAR + 1], rmse[32], eta[32];
  gint64 now = g_get_monotonic_time ();
  double mbs = p->seconds > 0 ? (double) p->bytes / 1e6 / p->seconds : 0;
  double frac;
  int fill;

  if (!sp->on || now - sp->last < STREAM_PROGRESS_US)
    return;
  sp->last = now;
  sp->drawn = TRUE;
  if (p->sampling)
    frac = p->bytes_total > 0 ? (double) p->bytes / (double) p->bytes_total : 0;
  else
    frac = p->steps_total > 0 ? (double) p->step / (double) p->steps_total : 0;
  fill = (int) (MIN (frac, 1.0) * BAR);
  for (int q = 0; q < BAR; q++)
    bar[q] = q < fill ? '#' : '.';
  bar[BAR] = '\0';
  if (frac > 0 && frac < 1)
    snprintf (eta, sizeof eta, "ETA %.0f s", p->seconds * (1 - frac) / frac);
  else
    snprintf (eta, sizeof eta, "ETA n/a");
  if (p->sampling)
    fprintf (stderr, "\r[%s] sampling: %" G_GINT64_FORMAT " rows, %.0f MB/s, %.1f s, %s\033[K",
             bar, p->rows, mbs, p->seconds, eta);
  else
    {
      snprintf (rmse, sizeof rmse, "%.2e", p->batch_rmse);
      fprintf (stderr, "\r[%s] epoch %d/%d, step %ld/%ld, %" G_GINT64_FORMAT "/%" G_GINT64_FORMAT
               " rows, %.0f MB/s, batch RMSE %s, %.1f s, %s\033[K", bar, p->epoch + 1,
               p->epochs, p->step, p->steps_total, p->rows, p->rows_total, mbs,
               isnan (p->batch_rmse) ? "n/a" : rmse, p->seconds, eta);
    }
  fflush (stderr);
}

static void
stream_progress_end (StreamProgress *sp)
{
  if (!sp->on || !sp->drawn)
    return;
  fputs ("\r\033[K", stderr);
  fflush (stderr);
  sp->drawn = FALSE;
}

/* The process's peak resident memory in KiB, or -1. */
static gint64
peak_rss_kb (void)
{
  struct rusage ru;

  return getrusage (RUSAGE_SELF, &ru) == 0 ? (gint64) ru.ru_maxrss : -1;
}

/* cli_parse_int of an option's TEXT, if it was given (else *OUT stays). */
static gboolean
opt_int (const char  *name,
         const char  *text,
         gint64       lo,
         gint64       hi,
         gint64      *out,
         GError     **error)
{
  return text == NULL || cli_parse_int (name, text, lo, hi, out, error);
}

int
cli_cmd_stream (int argc, char **argv, GError **error)
{
  CliCommand c;
  CliModelOpts mopt = { 0 };
  g_autofree char *csv = NULL, *target = NULL, *out = NULL;
  g_autofree char *batch = NULL, *epochs = NULL, *sample = NULL, *sample_seed = NULL;
  g_autofree char *lr = NULL, *threads = NULL, *max_steps = NULL;
  gboolean json = FALSE, no_grid_update = FALSE;
  GOptionEntry entries[] = {
    { "csv", 0, 0, G_OPTION_ARG_FILENAME, &csv, "The CSV file to train on (required)",
      "FILE" },
    { "target", 0, 0, G_OPTION_ARG_STRING, &target,
      "Target column(s), comma-separated (default: the last column)", "NAMES" },
    { "batch", 0, 0, G_OPTION_ARG_STRING, &batch, "Rows per Adam step (default 4096)", "N" },
    { "epochs", 0, 0, G_OPTION_ARG_STRING, &epochs, "Passes over the file (default 1)", "N" },
    { "max-steps", 0, 0, G_OPTION_ARG_STRING, &max_steps,
      "Stop after N steps (default: all batches of every epoch)", "N" },
    { "sample", 0, 0, G_OPTION_ARG_STRING, &sample,
      "Held-out rows: the test set, and the grids' samples (default 10000, at most a fifth "
      "of the file)", "N" },
    { "sample-seed", 0, 0, G_OPTION_ARG_STRING, &sample_seed,
      "Seed of the held-out sample (default 0)", "SEED" },
    { "lr", 0, 0, G_OPTION_ARG_STRING, &lr, "Adam's learning rate (default 0.01)", "LR" },
    { "threads", 0, 0, G_OPTION_ARG_STRING, &threads,
      "Threads per step (default 1)", "N" },
    { "no-grid-update", 0, 0, G_OPTION_ARG_NONE, &no_grid_update,
      "Keep the grids as they are (no updates from the sample)", NULL },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &out, "Save the session (atomically)",
      "OUT.kanvas" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the result as JSON", NULL },
    { NULL }
  };
  g_autoptr (KanCsvStream) s = NULL;
  g_autoptr (KanStreamFit) f = NULL;
  g_autoptr (KanSession) session = NULL;
  g_autoptr (GCancellable) cancel = g_cancellable_new ();
  g_autoptr (GTimer) timer = g_timer_new ();
  g_autofree char *detail = NULL;
  StreamProgress progress = { 0 };
  KanStreamConfig cfg;
  CliInterrupt *ci;
  gint64 n_batch, n_epochs, n_max_steps = 0, n_sample, n_seed = 0, n_threads = 1;
  double read_seconds, train_seconds, mb, rmse;
  gboolean ok, stopped;
  int status = 1;

  cli_command_init (&c, "stream", "train on a CSV file too large for memory, a batch at a time",
                    entries);
  cli_model_opts_add (&c, &mopt);
  g_option_context_set_description (c.ctx,
    "Reads --csv as a stream: a first pass counts the rows and holds out a sample (the test\n"
    "set, also used to place the grids); each epoch then re-reads the file and takes one Adam\n"
    "step per batch. Memory is the batch and the sample, whatever the file's size. The saved\n"
    "session holds the model and the sample as its data. Ctrl-C stops after undoing the step\n"
    "in progress and saves what there is (exit status 130).\n");
  if (!cli_command_parse_or_help (&c, &argc, &argv, &status, error))
    goto done;

  kan_stream_config_init (&cfg);
  n_batch = cfg.batch;
  n_epochs = cfg.epochs;
  n_sample = (gint64) cfg.reservoir;
  if (!cli_require (csv, "--csv FILE", error)
      || !opt_int ("--batch", batch, 1, G_MAXINT, &n_batch, error)
      || !opt_int ("--epochs", epochs, 1, G_MAXINT, &n_epochs, error)
      || !opt_int ("--max-steps", max_steps, 1, G_MAXINT, &n_max_steps, error)
      || !opt_int ("--sample", sample, 1, 1000000, &n_sample, error)
      || !opt_int ("--sample-seed", sample_seed, 0, G_MAXINT64, &n_seed, error)
      || !opt_int ("--threads", threads, 1, CLI_MAX_THREADS, &n_threads, error)
      || (lr != NULL && !cli_parse_double ("--lr", lr, 0, G_MAXDOUBLE, &cfg.train.lr, error)))
    goto done;
  if (!(cfg.train.lr > 0))
    {
      g_set_error (error, CLI_ERROR, CLI_ERROR_USAGE, "--lr must be > 0");
      goto done;
    }
  cfg.batch = (long) n_batch;
  cfg.epochs = (int) n_epochs;
  cfg.max_steps = (long) n_max_steps;
  cfg.reservoir = (gsize) n_sample;
  cfg.seed = (guint64) n_seed;
  cfg.train.threads = (int) n_threads;
  cfg.train.update_grid = !no_grid_update;
  if (out && !kan_file_check_output (out, error))
    goto done;

  s = kan_csv_stream_open (csv, target, error);
  if (s == NULL)
    goto done;
  progress.on = !json && isatty (STDERR_FILENO);
  ci = cli_interrupt_begin (cancel);
  f = kan_stream_fit_new (s, &cfg, cancel, stream_progress, &progress, error);
  read_seconds = g_timer_elapsed (timer, NULL);
  stream_progress_end (&progress);
  if (f == NULL)
    {
      stopped = cli_interrupt_end (ci);
      if (stopped && error != NULL && g_error_matches (*error, KAN_ERROR, KAN_ERROR_CANCELLED))
        status = CLI_EXIT_INTERRUPTED;
      goto done;
    }
  session = kan_session_new ();
  session->data = kan_dataset_copy (kan_stream_fit_sample (f));
  session->model = cli_model_from_opts (&mopt, session->data, KAN_LOSS_MSE, &detail, error);
  if (session->model == NULL)
    {
      cli_interrupt_end (ci);
      goto done;
    }
  kan_session_add_history (session, "new", detail, NAN, NAN);
  progress.last = 0;
  g_timer_start (timer);
  ok = kan_stream_fit_train (f, session->model, cancel, stream_progress, &progress, error);
  train_seconds = g_timer_elapsed (timer, NULL);
  stopped = cli_interrupt_end (ci) || kan_stream_fit_stopped (f);
  stream_progress_end (&progress);
  if (!ok)
    goto done;

  rmse = kan_stream_fit_test_rmse (f, session->model);
  {
    g_autofree char *note = g_strdup_printf ("%s (streamed: %" G_GINT64_FORMAT " rows, batch "
                                             "%ld, %d epoch%s; the data kept are the %zu "
                                             "held-out rows)", csv, kan_stream_fit_rows (f),
                                             cfg.batch, cfg.epochs, cfg.epochs == 1 ? "" : "s",
                                             session->data->n_train);
    KanTrainConfig tc = cfg.train;
    KanOpsFitRun run = { .steps = (int) MIN (kan_stream_fit_steps (f), G_MAXINT),
                         .stopped = stopped, .data_note = note, .have_rmse = TRUE,
                         .train_rmse = rmse, .test_rmse = NAN };

    tc.batch = cfg.batch;
    tc.steps = run.steps;
    kan_ops_fit_record (session, &tc, &run);
  }
  if (out && !kan_session_save (session, out, error))
    goto done;

  mb = (double) kan_csv_stream_size (s) / 1e6;
  if (stopped)
    fprintf (stderr, "stopped at step %ld\n", kan_stream_fit_steps (f));
  if (json)
    {
      CliJson j;

      cli_json_begin_result (&j);
      cli_json_int (&j, "rows", kan_stream_fit_rows (f));
      cli_json_int (&j, "train_rows", kan_stream_fit_train_rows (f));
      cli_json_int (&j, "sample_rows", (gint64) session->data->n_train);
      cli_json_double (&j, "file_mb", mb);
      cli_json_double (&j, "sample_seconds", read_seconds);
      cli_json_double (&j, "read_mb_per_s", read_seconds > 0 ? mb / read_seconds : NAN);
      cli_json_int (&j, "batch", cfg.batch);
      cli_json_int (&j, "epochs", cfg.epochs);
      cli_json_int (&j, "steps", kan_stream_fit_steps (f));
      cli_json_double (&j, "train_seconds", train_seconds);
      cli_json_double (&j, "test_rmse", rmse);
      cli_json_int (&j, "memory_bytes", (gint64) kan_stream_fit_bytes (f));
      cli_json_int (&j, "peak_rss_kb", peak_rss_kb ());
      cli_json_bool (&j, "stopped", stopped);
      cli_json_string (&j, "output", out);
      cli_json_end_object (&j);
      cli_print_json (&j);
    }
  else
    {
      char a[32];

      printf ("read %" G_GINT64_FORMAT " rows (%.1f MB) in %.2f s (%.0f MB/s); %ld steps of %ld "
              "rows in %.2f s; held-out RMSE %s on %zu rows\n", kan_stream_fit_rows (f), mb,
              read_seconds, read_seconds > 0 ? mb / read_seconds : 0.0,
              kan_stream_fit_steps (f), cfg.batch, train_seconds, cli_fmt_sci (a, rmse),
              session->data->n_train);
    }
  status = stopped ? CLI_EXIT_INTERRUPTED : 0;

done:
  cli_model_opts_clear (&mopt);
  cli_command_clear (&c);
  return status;
}
