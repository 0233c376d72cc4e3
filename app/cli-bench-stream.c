/* cli-bench-stream.c — the streaming benchmark behind "kanvas-cli bench --scale": a synthetic
 * CSV of 8 inputs, read once for the MB/s of the reader, then one epoch of minibatch training
 * of width 8,8,1 through kan-stream.h.
 *
 * The data: x1 … x8 uniform on [-1, 1] from a generator seeded with BENCH_SEED, written with 6
 * decimals, and y = sin(πx1) + x2·x3 + exp(−x4²) + 0.5·x5 + cos(x6)·x7 + x8² (smooth, every
 * input matters).
 */
#include "cli.h"
#include "kan-stream.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <gsl/gsl_rng.h>

#define BENCH_SEED   1
#define BENCH_INPUTS 8
#define BENCH_BATCH  4096
#define BENCH_SAMPLE 10000

/* Appends V with 6 decimals (|V| < 1e9) to S: printf's %f is a large part of the writing. */
static void
append_fixed6 (GString *s,
               double   v)
{
  char buf[32];
  int n = 0;
  guint64 u;
  guint64 ip, fp;

  if (v < 0)
    {
      g_string_append_c (s, '-');
      v = -v;
    }
  u = (guint64) llround (v * 1e6);
  ip = u / 1000000;
  fp = u % 1000000;
  do
    buf[n++] = (char) ('0' + ip % 10);
  while ((ip /= 10) > 0);
  while (n > 0)
    g_string_append_c (s, buf[--n]);
  g_string_append_c (s, '.');
  for (int d = 100000; d > 0; d /= 10)
    g_string_append_c (s, (char) ('0' + (fp / (guint64) d) % 10));
}

static double
bench_label (const double *x)
{
  return sin (G_PI * x[0]) + x[1] * x[2] + exp (-x[3] * x[3]) + 0.5 * x[4]
         + cos (x[5]) * x[6] + x[7] * x[7];
}

/* Writes ROWS rows of the benchmark's data to a new temporary file, *PATH. */
static gboolean
write_data (gint64   rows,
            char   **path,
            GError **error)
{
  g_autoptr (GString) s = g_string_sized_new (1 << 20);
  gsl_rng *rng = gsl_rng_alloc (gsl_rng_mt19937);
  int fd = g_file_open_tmp ("kanvas-bench-XXXXXX.csv", path, error);
  FILE *fp;
  gboolean ok = TRUE;

  if (fd < 0)
    {
      gsl_rng_free (rng);
      return FALSE;
    }
  fp = fdopen (fd, "w");
  if (fp == NULL)
    {
      int saved = errno;
      close (fd);
      g_unlink (*path);
      gsl_rng_free (rng);
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved), "%s: %s", *path,
                   g_strerror (saved));
      return FALSE;
    }
  gsl_rng_set (rng, BENCH_SEED);
  g_string_append (s, "x1,x2,x3,x4,x5,x6,x7,x8,y\n");
  for (gint64 r = 0; r < rows && ok; r++)
    {
      double x[BENCH_INPUTS];

      for (int i = 0; i < BENCH_INPUTS; i++)
        {
          x[i] = round ((2.0 * gsl_rng_uniform (rng) - 1.0) * 1e6) / 1e6;
          append_fixed6 (s, x[i]);
          g_string_append_c (s, ',');
        }
      append_fixed6 (s, bench_label (x));
      g_string_append_c (s, '\n');
      if (s->len > (1 << 20) - 256 || r + 1 == rows)
        {
          ok = fwrite (s->str, 1, s->len, fp) == s->len;
          g_string_truncate (s, 0);
        }
    }
  ok = fclose (fp) == 0 && ok;
  gsl_rng_free (rng);
  if (!ok)
    {
      g_set_error (error, CLI_ERROR, CLI_ERROR_FAILED, "%s: cannot write the benchmark data",
                   *path);
      g_unlink (*path);
      g_clear_pointer (path, g_free);
    }
  return ok;
}

/* Reads every row of PATH once; *MB the file's size in MB (10^6 bytes). */
static gboolean
time_read (const char *path,
           double     *seconds,
           double     *mb,
           GError    **error)
{
  g_autoptr (KanCsvStream) s = kan_csv_stream_open (path, NULL, error);
  g_autofree double *x = NULL, *y = NULL;
  g_autoptr (GTimer) timer = g_timer_new ();
  gsize n;

  if (s == NULL)
    return FALSE;
  x = g_new (double, BENCH_BATCH * kan_csv_stream_n_in (s));
  y = g_new (double, BENCH_BATCH * kan_csv_stream_n_out (s));
  g_timer_start (timer);
  do
    if (!kan_csv_stream_read (s, x, y, BENCH_BATCH, &n, error))
      return FALSE;
  while (n > 0);
  *seconds = g_timer_elapsed (timer, NULL);
  *mb = (double) kan_csv_stream_size (s) / 1e6;
  return TRUE;
}

gboolean
cli_bench_stream (gint64           rows,
                  gboolean         quick,
                  CliStreamBench  *out,
                  GError         **error)
{
  g_autofree char *path = NULL;
  g_autoptr (KanCsvStream) s = NULL;
  g_autoptr (KanStreamFit) f = NULL;
  g_autoptr (KanModel) m = NULL;
  g_autoptr (KanShape) shape = NULL;
  g_autoptr (GTimer) timer = NULL;
  KanStreamConfig cfg;
  KanModelConfig mc;
  struct rusage ru;
  gboolean ok = FALSE;

  g_return_val_if_fail (out != NULL, FALSE);
  memset (out, 0, sizeof *out);
  if (rows < 10)
    {
      g_set_error (error, CLI_ERROR, CLI_ERROR_USAGE,
                   "the streaming benchmark needs at least 10 rows, not %" G_GINT64_FORMAT, rows);
      return FALSE;
    }
  if (!write_data (rows, &path, error))
    return FALSE;
  out->rows = rows;
  out->n_in = BENCH_INPUTS;
  if (!time_read (path, &out->read_seconds, &out->file_mb, error))
    goto done;
  out->read_mb_per_s = out->read_seconds > 0 ? out->file_mb / out->read_seconds : NAN;

  kan_stream_config_init (&cfg);
  cfg.batch = BENCH_BATCH;
  cfg.reservoir = quick ? 1000 : BENCH_SAMPLE;
  cfg.max_steps = quick ? 20 : 0;
  cfg.seed = BENCH_SEED;
  shape = kan_shape_parse ("8,8,1", NULL, error);
  if (shape == NULL)
    goto done;
  kan_model_config_init (&mc);
  mc.shape = shape;
  mc.seed = BENCH_SEED;
  m = kan_model_new (&mc, error);
  if (m == NULL)
    goto done;
  timer = g_timer_new ();
  s = kan_csv_stream_open (path, NULL, error);
  if (s == NULL)
    goto done;
  f = kan_stream_fit_new (s, &cfg, NULL, NULL, NULL, error);
  if (f == NULL || !kan_stream_fit_train (f, m, NULL, NULL, NULL, error))
    goto done;
  out->train_seconds = g_timer_elapsed (timer, NULL);
  out->batch = cfg.batch;
  out->steps = kan_stream_fit_steps (f);
  out->test_rmse = kan_stream_fit_test_rmse (f, m);
  if (getrusage (RUSAGE_SELF, &ru) == 0)
    out->peak_rss_kb = ru.ru_maxrss;
  ok = TRUE;

done:
  g_unlink (path);
  return ok;
}
