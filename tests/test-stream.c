/* test-stream.c — the streaming CSV reader and minibatch training (kan-stream.h). */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <glib/gstdio.h>

#include "kan-error.h"
#include "kan-stream.h"
#include "test-helpers.h"

/* ------------------------------------------------------------------------------------------ */
/* Numbers                                                                                    */

/* kan_stream_parse_number accepts TEXT exactly when kan_parse_number does, and then gives the
 * bits strtod gives. */
static void
check_number (const char *text)
{
  double a = 0, b = 0, c;
  gboolean fast = kan_stream_parse_number (text, text + strlen (text), &a);
  gboolean ref = kan_parse_number (text, &b, NULL);

  ck_assert_msg (fast == ref, "'%s': stream %d, kan_parse_number %d", text, fast, ref);
  if (!ref)
    return;
  c = strtod (text, NULL);
  ck_assert_msg (memcmp (&a, &c, sizeof a) == 0, "'%s': %.17g, strtod %.17g", text, a, c);
  ck_assert (memcmp (&b, &c, sizeof b) == 0);
}

START_TEST (test_number_edges)
{
  static const char *const cases[] = {
    "0", "-0", "+0", "0.0", "-0.0", "-0e5", "0e-999999", "00000", "007", "-007.50",
    "1", "-1", "+1", "1.", ".5", "-.5", "+.5e-3", "5.e2", "1e0", "1E+0", "1e-0",
    "1e22", "1e23", "1e-22", "1e-23", "9e22", "123456789012345e22", "123456789012345e-22",
    "9007199254740992", "9007199254740993", "9007199254740991", "18014398509481985",
    "0.1", "0.2", "0.3", "2.2250738585072014e-308", "2.2250738585072011e-308",
    "4.9406564584124654e-324", "5e-324", "2e-324", "1e-400", "-1e-400",
    "1.7976931348623157e308", "1.7976931348623158e308", "1.8e308", "-1e309", "1e99999999999",
    "0.30000000000000004", "3.141592653589793238462643383279502884197",
    "123456789012345678901234567890", "1234567890123456789", "12345678901234567890",
    "1.50000000000000000000000000", "100000000000000000000000", "0.000000000000000000000001",
    "000000000000000000000000000001.5", "8.98846567431158e307", "1.0000000000000002",
    "0.99999999999999999", "4503599627370495.5", "4503599627370496.5", "2.5e-8",
    "1e", "1e+", "1e-", "e5", ".", "+", "-", "", "inf", "-inf", "Infinity", "nan", "NaN",
    "0x10", "0X1p3", "-0x1", "1.5.2", "1,5", " 1", "1 ", "1_000", "1e5.5", "--1", "+-1",
    "1d5", "1f", "0b11", "\xd9\xa1",
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    check_number (cases[i]);
}
END_TEST

/* Random decimal strings of every shape: signs, leading zeros, up to 25 digits on either
 * side of the point, exponents up to ±400; and random doubles as printf writes them. */
START_TEST (test_number_random)
{
  gsl_rng *r = gsl_rng_alloc (gsl_rng_mt19937);
  GString *s = g_string_new (NULL);
  static const char *const fmts[] = { "%.17g", "%.15g", "%.6f", "%.9e", "%.3g", "%.20e" };

  gsl_rng_set (r, 2718);
  for (int n = 0; n < 200000; n++)
    {
      int ni = (int) gsl_rng_uniform_int (r, 26), nf = (int) gsl_rng_uniform_int (r, 26);

      g_string_truncate (s, 0);
      switch (gsl_rng_uniform_int (r, 4))
        {
        case 0: g_string_append_c (s, '-'); break;
        case 1: g_string_append_c (s, '+'); break;
        default: break;
        }
      if (gsl_rng_uniform (r) < 0.2)
        g_string_append (s, "000");
      for (int q = 0; q < ni; q++)
        g_string_append_c (s, (char) ('0' + gsl_rng_uniform_int (r, 10)));
      if (gsl_rng_uniform (r) < 0.8)
        {
          g_string_append_c (s, '.');
          for (int q = 0; q < nf; q++)
            g_string_append_c (s, (char) ('0' + gsl_rng_uniform_int (r, 10)));
        }
      if (gsl_rng_uniform (r) < 0.5)
        {
          int ex = (int) gsl_rng_uniform_int (r, gsl_rng_uniform (r) < 0.7 ? 30 : 400);

          g_string_append_printf (s, "%c%s%d", gsl_rng_uniform (r) < 0.5 ? 'e' : 'E',
                                  gsl_rng_uniform (r) < 0.5 ? "-" : "", ex);
        }
      check_number (s->str);
    }
  for (int n = 0; n < 100000; n++)
    {
      char buf[64];
      double v = ldexp (gsl_rng_uniform (r) - 0.5, (int) gsl_rng_uniform_int (r, 200) - 100);

      snprintf (buf, sizeof buf, fmts[n % G_N_ELEMENTS (fmts)], v);
      check_number (buf);
    }
  g_string_free (s, TRUE);
  gsl_rng_free (r);
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* The reader against kan-data.c                                                              */

static int
cmp_rows (const void *a,
          const void *b,
          void       *width)
{
  return memcmp (a, b, sizeof (double) * GPOINTER_TO_INT (width));
}

/* Rows of X (N × I) and Y (N × O) as N rows of I + O doubles, sorted by their bytes. */
static double *
sorted_rows (const double *x,
             const double *y,
             size_t        n,
             int           I,
             int           O)
{
  double *rows = g_new (double, MAX (n, 1) * (I + O));

  for (size_t r = 0; r < n; r++)
    {
      memcpy (rows + r * (I + O), x + r * I, sizeof (double) * I);
      memcpy (rows + r * (I + O) + I, y + r * O, sizeof (double) * O);
    }
  qsort_r (rows, n, sizeof (double) * (I + O), cmp_rows, GINT_TO_POINTER (I + O));
  return rows;
}

/* Every row of PATH through the stream, or NULL with ERROR; *N rows. */
static double *
stream_all (const char  *path,
            const char  *targets,
            gsize        block,
            size_t      *n,
            int         *I,
            int         *O,
            GError     **error)
{
  g_autoptr (KanCsvStream) s = kan_csv_stream_open (path, targets, error);
  g_autofree double *x = NULL, *y = NULL;
  GArray *xs, *ys;
  double *rows;
  gsize got;

  if (s == NULL)
    return NULL;
  *I = kan_csv_stream_n_in (s);
  *O = kan_csv_stream_n_out (s);
  x = g_new (double, block * *I);
  y = g_new (double, block * *O);
  xs = g_array_new (FALSE, FALSE, sizeof (double));
  ys = g_array_new (FALSE, FALSE, sizeof (double));
  for (;;)
    {
      if (!kan_csv_stream_read (s, x, y, block, &got, error))
        {
          g_array_free (xs, TRUE);
          g_array_free (ys, TRUE);
          return NULL;
        }
      if (got == 0)
        break;
      g_array_append_vals (xs, x, got * *I);
      g_array_append_vals (ys, y, got * *O);
    }
  *n = xs->len / *I;
  ck_assert_int_eq (kan_csv_stream_rows (s), (gint64) *n);
  rows = sorted_rows ((double *) xs->data, (double *) ys->data, *n, *I, *O);
  g_array_free (xs, TRUE);
  g_array_free (ys, TRUE);
  return rows;
}

/* The stream and kan_dataset_from_csv agree on PATH: the same rows (as a set: kan-data.c
 * shuffles them), names and units, or the same error. */
static void
check_same (const char *path,
            const char *targets)
{
  g_autoptr (GError) e1 = NULL;
  g_autoptr (GError) e2 = NULL;
  g_autoptr (KanDataset) d = kan_dataset_from_csv (path, targets, 0.0, 1, &e1);
  g_autofree double *want = NULL, *got = NULL;
  g_autoptr (KanCsvStream) s = NULL;
  size_t n = 0;
  int I = 0, O = 0;

  got = stream_all (path, targets, 7, &n, &I, &O, &e2);
  if (d == NULL)
    {
      ck_assert_msg (e2 != NULL, "%s: kan-data says '%s', the stream reads it", path,
                     e1->message);
      ck_assert_msg (strcmp (e1->message, e2->message) == 0 && e1->code == e2->code,
                     "%s:\n  kan-data: %s\n  stream:   %s", path, e1->message, e2->message);
      return;
    }
  ck_assert_msg (got != NULL, "%s: stream error %s", path, e2 ? e2->message : "");
  ck_assert_int_eq (n, d->n_train);
  ck_assert_int_eq (I, d->n_in);
  ck_assert_int_eq (O, d->n_out);
  want = sorted_rows (d->train_x, d->train_y, d->n_train, I, O);
  ck_assert_msg (memcmp (want, got, sizeof (double) * n * (I + O)) == 0, "%s: rows differ",
                 path);
  /* Names and units. */
  s = kan_csv_stream_open (path, targets, NULL);
  ck_assert_ptr_nonnull (s);
  {
    const KanDataset *c = kan_csv_stream_columns (s);

    for (int i = 0; i < I; i++)
      ck_assert_str_eq (c->in_names[i], d->in_names[i]);
    for (int t = 0; t < O; t++)
      ck_assert_str_eq (c->out_names[t], d->out_names[t]);
    ck_assert ((c->in_units == NULL) == (d->in_units == NULL));
    for (int i = 0; c->in_units && i < I; i++)
      ck_assert_str_eq (c->in_units[i], d->in_units[i]);
  }
}

static char *
write_temp (const char *text,
            gssize      len)
{
  GError *error = NULL;
  char *path = NULL;
  int fd = g_file_open_tmp ("kanvas-stream-XXXXXX.csv", &path, &error);

  ck_assert_msg (fd >= 0, "%s", error ? error->message : "");
  close (fd);
  ck_assert (g_file_set_contents (path, text, len, NULL));
  return path;
}

static void
check_text (const char *text,
            const char *targets)
{
  g_autofree char *path = write_temp (text, -1);

  check_same (path, targets);
  g_unlink (path);
}

START_TEST (test_reader_data_files)
{
  const char *dir = g_getenv ("KANVAS_TEST_DATA");
  g_autoptr (GDir) d = NULL;
  const char *name;
  int seen = 0;

  ck_assert_ptr_nonnull (dir);
  d = g_dir_open (dir, 0, NULL);
  ck_assert_ptr_nonnull (d);
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_autoptr (KanDataset) ds = NULL;

      if (!g_str_has_suffix (name, ".csv"))
        continue;
      ds = kan_dataset_from_csv (path, NULL, 0.0, 1, NULL);
      if (ds != NULL && ds->class_names != NULL)
        {
          /* Text labels: the stream refuses them (it trains on numbers). */
          g_autoptr (GError) e = NULL;
          size_t n;
          int I, O;
          g_autofree double *rows = stream_all (path, NULL, 64, &n, &I, &O, &e);

          ck_assert_ptr_null (rows);
          ck_assert_msg (strstr (e->message, "numeric targets only") != NULL, "%s", e->message);
          continue;
        }
      check_same (path, NULL);
      seen++;
    }
  ck_assert_int_ge (seen, 10);
}
END_TEST

START_TEST (test_reader_texts)
{
  static const char *const texts[] = {
    "a,b,y\n1,2,3\n4,5,6\n",
    "a,b,y\n1,2,3\n4,5,6",                            /* no final line end */
    "a,b,y\r\n1,2,3\r\n4,5,6\r\n",
    "a,b,y\r1,2,3\r4,5,6\r",                          /* CR line ends */
    "\xef\xbb\xbf" "a,b,y\n 1 ,\t2\t, 3 \n",
    "a,b,y\n\"1\",\" 2 \",3\n4,\"5\n\",6\n7,8,9\n",   /* quoted numbers, a break inside */
    "\"a\nb\",c,y\n1,2,3\n4,5,6\n",                   /* a header name on two lines */
    "a,\"b,c\",y\n1,2,3\n",                           /* a comma inside a quoted name */
    "a,b,y\n1,2,3\n\n4,5,6\n",                        /* a blank line between rows */
    "a,b,y\n1,2,3\n \t\n\n",                          /* blank lines at the end */
    "a,b,y\n1,2,3\n4,5\n",
    "a,b,y\n1,2,3\n4,5,6,7\n",
    "a,b,y\n1,2,3\n4,x,6\n",
    "a,b,y\n1,2,3\n4,,6\n",
    "a,b,y\n1,2,3\n4,inf,6\n",
    "a,b,y\n1,2,3\n4,nan,6\n",
    "a,b,y\n1,2,3\n4,1e999,6\n",
    "a,b,y\n1,2,3\n4,0x10,6\n",
    "a,b,y\n1,2,3\n4,\"5\"x,6\n",
    "a,b,y\n1,2,3\n4,\"5,6\n",
    "a,b,y\n1,2,3\n4,\xff,6\n",
    "a,b,y\n1,2,3\n4,5\0,6\n",
    "a,b,y\n1\t2\t3\n",
    "a,b,y\n1;2;3\n",
    "a,b,y\n",
    "a,b,y\n\n\n",
    "",
    "  \n \n",
    "\na,b\n1,2\n",
    "a\tb\ty\n1\t2\t3\n",
    "a,a,y\n1,2,3\n",
    "a,,y\n1,2,3\n",
    "v [m/s],t [s],d [m]\n1,2,3\n",
    "v [m/s,t,d\n1,2,3\n",
    "a,b,y\n1,2,3\n\"4\",5,6\n\n7,8,9\n",
    "a,b,y\n1,2,3\n4,5,6\r\n7,8,9\r8,9,10\n",
    "a,b,y\n1,2,3\n-0,+.5e-3,000123.4500\n",
    "a,b,y\n\"1\" , \" 2\"\t,\t\"3 \"\n\"-4e2\",\"5\",\"6\"",   /* quoted numbers */
    "a,b,y\n1,\"\",3\n",
    "a,b,y\n1,\"2\"\"\",3\n",
    "a,b,y\n1,\"2\" x,3\n",
    "a,b,y\n1,\"2,3\n",
    "a,b,y\n1,\"\v2\",3\n",
    "a,b,y\n1,\"2\r\n\",3\n4,5,6\n",
  };

  for (guint i = 0; i < G_N_ELEMENTS (texts); i++)
    check_text (texts[i], NULL);
  /* The NUL byte case needs its length. */
  {
    static const char nul[] = "a,b,y\n1,2,3\n4,5\0,6\n";
    g_autofree char *path = write_temp (nul, sizeof nul - 1);

    check_same (path, NULL);
    g_unlink (path);
  }
  check_text ("a,b,y\n1,2,3\n4,5,6\n", "a");
  check_text ("a,b,y\n1,2,3\n4,5,6\n", "y,a");
  check_text ("a,b,y\n1,2,3\n4,5,6\n", "zz");
  check_text ("a-1,b,y\n1,2,3\n", "y");
  check_text ("a-1,b,y\n1,2,3\n", "a-1");
}
END_TEST

/* Rows across the reader's 1 MiB chunks: a large file read in odd blocks, with quoted rows and
 * CRLF at the boundaries, gives kan-data.c's rows; an error far down names its line. */
START_TEST (test_reader_chunks)
{
  g_autoptr (GString) t = g_string_new ("x1,\"x_2\",y\n");
  gsl_rng *r = gsl_rng_alloc (gsl_rng_mt19937);
  g_autofree char *path = NULL;
  g_autofree char *bad = NULL;

  gsl_rng_set (r, 11);
  for (int q = 0; q < 60000; q++)
    {
      double a = kt_unif (r, -5, 5), b = kt_unif (r, -1e-3, 1e-3);

      if (q % 997 == 0)
        g_string_append_printf (t, "\"%.17g\",%.17g,%.6e\r\n", a, b, a * b);
      else if (q % 1201 == 0)
        g_string_append_printf (t, "%.21g,\"%.3g\n\",%.17g\n", a, b, a - b);
      else
        g_string_append_printf (t, "%.17g,%.9g,%.12g\n", a, b, a + b);
    }
  ck_assert_uint_gt (t->len, 2u << 20);
  path = write_temp (t->str, (gssize) t->len);
  check_same (path, NULL);
  g_string_append (t, "1,2\n");
  bad = write_temp (t->str, (gssize) t->len);
  check_same (bad, NULL);
  {
    g_autoptr (GError) e = NULL;
    g_autoptr (KanDataset) d = kan_dataset_from_csv (bad, NULL, 0, 1, &e);

    ck_assert_ptr_null (d);
    ck_assert_msg (strstr (e->message, "line 60051 has 2 fields") != NULL, "%s", e->message);
  }
  /* A line longer than 1 MiB. */
  {
    g_autoptr (GString) big = g_string_new ("a,y\n1,2\n");

    for (int q = 0; q < (1 << 20) / 8 + 10; q++)
      g_string_append (big, "1.000000");
    g_string_append (big, ",1\n");
    g_unlink (bad);
    g_free (bad);
    bad = write_temp (big->str, (gssize) big->len);
    check_same (bad, NULL);
  }
  g_unlink (path);
  g_unlink (bad);
  gsl_rng_free (r);
}
END_TEST

START_TEST (test_reader_rewind_and_errors)
{
  g_autofree char *path = write_temp ("a,b,y\n1,2,3\n4,5,6\n7,8,9\n", -1);
  g_autoptr (GError) e = NULL;
  g_autoptr (KanCsvStream) s = kan_csv_stream_open (path, "a", &e);
  double x[6], y[3];
  gsize n;

  ck_assert_ptr_nonnull (s);
  ck_assert_int_eq (kan_csv_stream_n_in (s), 2);
  ck_assert_int_eq (kan_csv_stream_n_out (s), 1);
  for (int pass = 0; pass < 2; pass++)
    {
      ck_assert (kan_csv_stream_read (s, x, y, 2, &n, NULL));
      ck_assert_uint_eq (n, 2);
      /* Inputs b and y, target a, in file order. */
      ck_assert (x[0] == 2 && x[1] == 3 && y[0] == 1 && x[2] == 5 && y[1] == 4);
      ck_assert (kan_csv_stream_read (s, x, y, 2, &n, NULL));
      ck_assert_uint_eq (n, 1);
      ck_assert (x[0] == 8 && y[0] == 7);
      ck_assert (kan_csv_stream_read (s, x, y, 2, &n, NULL));
      ck_assert_uint_eq (n, 0);
      ck_assert_uint_eq (kan_csv_stream_offset (s), kan_csv_stream_size (s));
      ck_assert (kan_csv_stream_rewind (s, NULL));
    }
  g_unlink (path);

  ck_assert_ptr_null (kan_csv_stream_open ("/nonexistent/x.csv", NULL, &e));
  ck_assert (g_error_matches (e, KAN_ERROR, KAN_ERROR_IO));
  g_clear_error (&e);
  ck_assert_ptr_null (kan_csv_stream_open ("/", NULL, &e));
  ck_assert (g_error_matches (e, KAN_ERROR, KAN_ERROR_IO));
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* Training                                                                                   */

/* A CSV of N rows of y = sin(2·x1) + x2² on [-1, 1]² with SEED. */
static char *
write_smooth (int     n,
              guint64 seed)
{
  g_autoptr (GString) t = g_string_new ("x1,x2,y\n");
  gsl_rng *r = gsl_rng_alloc (gsl_rng_mt19937);
  char *path;

  gsl_rng_set (r, seed);
  for (int q = 0; q < n; q++)
    {
      double a = kt_unif (r, -1, 1), b = kt_unif (r, -1, 1);

      g_string_append_printf (t, "%.6f,%.6f,%.6f\n", a, b, sin (2 * a) + b * b);
    }
  gsl_rng_free (r);
  path = write_temp (t->str, (gssize) t->len);
  return path;
}

START_TEST (test_fit_converges)
{
  g_autofree char *path = write_smooth (6000, 3);
  g_autoptr (GError) e = NULL;
  g_autoptr (KanCsvStream) s = kan_csv_stream_open (path, NULL, &e);
  g_autoptr (KanStreamFit) f = NULL;
  g_autoptr (KanModel) m = kt_model_new ("2,5,1", NULL, 5, 3, KAN_BASE_SILU, 1);
  KanStreamConfig cfg;
  double before, after;

  ck_assert_ptr_nonnull (s);
  kan_stream_config_init (&cfg);
  cfg.batch = 256;
  cfg.epochs = 8;
  cfg.reservoir = 500;
  cfg.seed = 5;
  cfg.train.lr = 0.02;
  f = kan_stream_fit_new (s, &cfg, NULL, NULL, NULL, &e);
  ck_assert_msg (f != NULL, "%s", e ? e->message : "");
  ck_assert_int_eq (kan_stream_fit_rows (f), 6000);
  ck_assert_int_eq (kan_stream_fit_train_rows (f), 5500);
  ck_assert_uint_eq (kan_stream_fit_sample (f)->n_train, 500);
  ck_assert_str_eq (kan_stream_fit_sample (f)->in_names[1], "x2");
  before = kan_stream_fit_test_rmse (f, m);
  ck_assert (kan_stream_fit_train (f, m, NULL, NULL, NULL, &e));
  after = kan_stream_fit_test_rmse (f, m);
  /* 5500 train rows in batches of 256: 22 steps an epoch (the last one filled up). */
  ck_assert_int_eq (kan_stream_fit_steps (f), 8 * 22);
  ck_assert_msg (after < 0.1 * before && after < 0.05, "held-out RMSE %g → %g", before, after);
  ck_assert (!kan_stream_fit_stopped (f));
  g_unlink (path);
}
END_TEST

/* The same seed draws the same sample and trains the same model, bit for bit. */
START_TEST (test_fit_deterministic)
{
  g_autofree char *path = write_smooth (3000, 4);
  double rmse[2];
  double *params[2] = { NULL, NULL };
  gsize np = 0;

  for (int k = 0; k < 2; k++)
    {
      g_autoptr (KanCsvStream) s = kan_csv_stream_open (path, NULL, NULL);
      g_autoptr (KanStreamFit) f = NULL;
      g_autoptr (KanModel) m = kt_model_new ("2,3,1", NULL, 5, 3, KAN_BASE_SILU, 1);
      KanStreamConfig cfg;

      kan_stream_config_init (&cfg);
      cfg.batch = 300;
      cfg.reservoir = 200;
      cfg.seed = 9;
      f = kan_stream_fit_new (s, &cfg, NULL, NULL, NULL, NULL);
      ck_assert (kan_stream_fit_train (f, m, NULL, NULL, NULL, NULL));
      rmse[k] = kan_stream_fit_test_rmse (f, m);
      np = kan_model_n_params (m);
      params[k] = g_memdup2 (kan_model_params (m), np * sizeof (double));
    }
  ck_assert (memcmp (&rmse[0], &rmse[1], sizeof (double)) == 0);
  ck_assert (memcmp (params[0], params[1], np * sizeof (double)) == 0);
  g_free (params[0]);
  g_free (params[1]);
  g_unlink (path);
}
END_TEST

/* What the fit holds is the batch, the sample and the reader's buffer: the same for a file of
 * 5000 rows and one of 60000, and for the larger file well under its size. */
START_TEST (test_fit_memory_fixed)
{
  gsize bytes[2], held[2];
  guint64 size = 0;
  const int rows[2] = { 5000, 60000 };

  for (int k = 0; k < 2; k++)
    {
      g_autofree char *path = write_smooth (rows[k], 6);
      g_autoptr (KanCsvStream) s = kan_csv_stream_open (path, NULL, NULL);
      g_autoptr (KanStreamFit) f = NULL;
      KanStreamConfig cfg;

      kan_stream_config_init (&cfg);
      cfg.batch = 512;
      cfg.reservoir = 1000;
      f = kan_stream_fit_new (s, &cfg, NULL, NULL, NULL, NULL);
      ck_assert_ptr_nonnull (f);
      ck_assert_int_eq (kan_stream_fit_rows (f), rows[k]);
      bytes[k] = kan_stream_fit_bytes (f);
      held[k] = kan_stream_fit_rows_held (f);
      size = kan_csv_stream_size (s);
      g_unlink (path);
    }
  ck_assert_uint_eq (bytes[0], bytes[1]);
  ck_assert_uint_eq (held[0], held[1]);
  ck_assert_uint_le (held[1], 512 + 4096 + 1000);
  ck_assert_uint_lt (held[1] * 3 * sizeof (double), size / 10);
}
END_TEST

/* A file too small to hold a row out, and settings the fit refuses. */
START_TEST (test_fit_refuses)
{
  g_autofree char *one = write_temp ("a,y\n1,2\n", -1);
  g_autoptr (KanCsvStream) s = kan_csv_stream_open (one, NULL, NULL);
  g_autoptr (GError) e = NULL;
  KanStreamConfig cfg;

  kan_stream_config_init (&cfg);
  ck_assert_ptr_null (kan_stream_fit_new (s, &cfg, NULL, NULL, NULL, &e));
  ck_assert (g_error_matches (e, KAN_ERROR, KAN_ERROR_DATA));
  g_clear_error (&e);
  cfg.train.opt = KAN_OPT_LBFGS;
  ck_assert_ptr_null (kan_stream_fit_new (s, &cfg, NULL, NULL, NULL, &e));
  ck_assert (g_error_matches (e, KAN_ERROR, KAN_ERROR_INVALID));
  g_clear_error (&e);
  kan_stream_config_init (&cfg);
  cfg.batch = 0;
  ck_assert_ptr_null (kan_stream_fit_new (s, &cfg, NULL, NULL, NULL, &e));
  ck_assert (g_error_matches (e, KAN_ERROR, KAN_ERROR_INVALID));
  g_unlink (one);
}
END_TEST

static Suite *
stream_suite (void)
{
  Suite *s = suite_create ("stream");
  TCase *tc = tcase_create ("core");

  tcase_set_timeout (tc, 600);
  tcase_add_test (tc, test_number_edges);
  tcase_add_test (tc, test_number_random);
  tcase_add_test (tc, test_reader_data_files);
  tcase_add_test (tc, test_reader_texts);
  tcase_add_test (tc, test_reader_chunks);
  tcase_add_test (tc, test_reader_rewind_and_errors);
  tcase_add_test (tc, test_fit_converges);
  tcase_add_test (tc, test_fit_deterministic);
  tcase_add_test (tc, test_fit_memory_fixed);
  tcase_add_test (tc, test_fit_refuses);
  suite_add_tcase (s, tc);
  return s;
}

int
main (int    argc,
      char **argv)
{
  return kt_run (stream_suite (), argc, argv);
}
