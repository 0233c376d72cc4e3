/* test-data.c — data sets from formulas, CSV files and arrays. */
#include <check.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

#include <glib/gstdio.h>
#include <gsl/gsl_rng.h>

#include "kan-data.h"
#include "kan-error.h"
#include "test-helpers.h"

static char *
data_path (const char *name)
{
  const char *dir = g_getenv ("KANVAS_TEST_DATA");

  return g_build_filename (dir != NULL ? dir : "tests/data", name, NULL);
}

/* Checks that ERROR's message contains every fragment of the NULL-terminated ARGS. */
static void
expect_fragments (const GError *error,
                  va_list       args)
{
  const char *frag;

  ck_assert_msg (error != NULL, "no error");
  while ((frag = va_arg (args, const char *)) != NULL)
    ck_assert_msg (strstr (error->message, frag) != NULL, "message '%s' lacks '%s'",
                   error->message, frag);
}

/* Checks that ERROR is DOMAIN/CODE and its message contains every NULL-terminated fragment. */
static void
expect_error (const GError *error,
              int           code,
              ...)
{
  va_list args;

  ck_assert_msg (error != NULL, "no error");
  ck_assert_msg (g_error_matches (error, KAN_ERROR, code), "error '%s' has code %d, want %d",
                 error->message, error->code, code);
  va_start (args, code);
  expect_fragments (error, args);
  va_end (args);
}

/* ------------------------------------------------------------------------------------------ */
/* Formula data sets                                                                          */
/* ------------------------------------------------------------------------------------------ */

START_TEST (test_spec_defaults)
{
  KanFormulaSpec spec;

  memset (&spec, 0x5a, sizeof spec);
  kan_formula_spec_init (&spec);
  ck_assert_ptr_null (spec.formula);
  ck_assert_ptr_null (spec.vars);
  ck_assert_int_eq (spec.n_ranges, 1);
  ck_assert (spec.ranges[0] == -1.0 && spec.ranges[1] == 1.0);
  ck_assert_uint_eq (spec.n_train, 1000);
  ck_assert_uint_eq (spec.n_test, 1000);
  ck_assert (spec.noise == 0.0);
  ck_assert_uint_eq (spec.seed, 0);
  ck_assert (!spec.normalize_input && !spec.normalize_label);
}
END_TEST

START_TEST (test_formula_basic)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (KanDataset) d = NULL;
  g_autoptr (KanExpr) e = kan_expr_parse ("exp(sin(pi*x1)+x2^2)", NULL, NULL, NULL);
  KanFormulaSpec spec;

  kan_formula_spec_init (&spec);
  spec.formula = "exp(sin(pi*x1)+x2^2)";
  spec.n_train = 37;
  spec.n_test = 23;
  spec.seed = 2024;
  d = kan_dataset_from_formula (&spec, &error);
  ck_assert_msg (d != NULL, "%s", error ? error->message : "");
  ck_assert_int_eq (d->source, KAN_DATA_FORMULA);
  ck_assert_int_eq (d->n_in, 2);
  ck_assert_int_eq (d->n_out, 1);
  ck_assert_uint_eq (d->n_train, 37);
  ck_assert_uint_eq (d->n_test, 23);
  ck_assert_str_eq (d->in_names[0], "x1");
  ck_assert_str_eq (d->in_names[1], "x2");
  ck_assert_ptr_null (d->in_names[2]);
  ck_assert_str_eq (d->out_names[0], "y");
  ck_assert_ptr_null (d->out_names[1]);
  ck_assert_str_eq (d->formula, spec.formula);
  ck_assert_uint_eq (d->seed, 2024);
  for (int i = 0; i < 2; i++)
    ck_assert (d->ranges[2 * i] == -1.0 && d->ranges[2 * i + 1] == 1.0);
  ck_assert_ptr_null (d->in_mean);
  ck_assert_ptr_null (d->out_std);

  for (size_t r = 0; r < d->n_train; r++)
    ck_assert (d->train_y[r] == kan_expr_eval (e, d->train_x + 2 * r));
  for (size_t r = 0; r < d->n_test; r++)
    ck_assert (d->test_y[r] == kan_expr_eval (e, d->test_x + 2 * r));
  ck_assert (kan_dataset_validate (d, NULL));
}
END_TEST

static KanDataset *
sample (const char *formula,
        guint64     seed,
        size_t      n_train,
        size_t      n_test)
{
  KanFormulaSpec spec;
  g_autoptr (GError) error = NULL;
  KanDataset *d;

  kan_formula_spec_init (&spec);
  spec.formula = formula;
  spec.seed = seed;
  spec.n_train = n_train;
  spec.n_test = n_test;
  d = kan_dataset_from_formula (&spec, &error);
  ck_assert_msg (d != NULL, "%s", error ? error->message : "");
  return d;
}

START_TEST (test_determinism)
{
  g_autoptr (KanDataset) a = sample ("x1*x2 + x3", 7919, 101, 53);
  g_autoptr (KanDataset) b = sample ("x1*x2 + x3", 7919, 101, 53);
  g_autoptr (KanDataset) c = sample ("x1*x2 + x3", 7920, 101, 53);
  g_autoptr (KanDataset) big1 = sample ("x1", 1, 5, 0);
  g_autoptr (KanDataset) big2 = sample ("x1", 1 + ((guint64) 1 << 32), 5, 0);

  ck_assert (memcmp (a->train_x, b->train_x, 101 * 3 * sizeof (double)) == 0);
  ck_assert (memcmp (a->test_x, b->test_x, 53 * 3 * sizeof (double)) == 0);
  ck_assert (memcmp (a->train_y, b->train_y, 101 * sizeof (double)) == 0);
  ck_assert (memcmp (a->test_y, b->test_y, 53 * sizeof (double)) == 0);
  ck_assert (memcmp (a->train_x, c->train_x, 101 * 3 * sizeof (double)) != 0);
  ck_assert (memcmp (a->test_y, c->test_y, 53 * sizeof (double)) != 0);
  /* Seeds that differ only above bit 32 still differ. */
  ck_assert (memcmp (big1->train_x, big2->train_x, 5 * sizeof (double)) != 0);
  ck_assert_ptr_null (big1->test_x);
}
END_TEST

START_TEST (test_pykan_draw_order)
{
  const double ranges[] = { 2.0, 3.0, -7.0, -5.0 };
  g_autoptr (KanDataset) d = NULL;
  KanFormulaSpec spec;
  gsl_rng *rng = gsl_rng_alloc (gsl_rng_mt19937);

  kan_formula_spec_init (&spec);
  spec.formula = "x1 + x2";
  spec.ranges = ranges;
  spec.n_ranges = 2;
  spec.n_train = 11;
  spec.n_test = 7;
  spec.seed = 314159;
  d = kan_dataset_from_formula (&spec, NULL);
  ck_assert_ptr_nonnull (d);

  /* Variable by variable: its train column, then its test column. */
  gsl_rng_set (rng, 314159);
  for (int i = 0; i < 2; i++)
    {
      double lo = ranges[2 * i], hi = ranges[2 * i + 1];

      for (size_t r = 0; r < 11; r++)
        ck_assert (d->train_x[2 * r + i] == gsl_rng_uniform (rng) * (hi - lo) + lo);
      for (size_t r = 0; r < 7; r++)
        ck_assert (d->test_x[2 * r + i] == gsl_rng_uniform (rng) * (hi - lo) + lo);
      ck_assert (d->ranges[2 * i] == lo && d->ranges[2 * i + 1] == hi);
    }
  gsl_rng_free (rng);
}
END_TEST

START_TEST (test_ranges_respected)
{
  const double ranges[] = { 0.25, 0.375, -130.0, 270.5, 1e6, 1e6 + 3.0 };
  g_autoptr (KanDataset) d = NULL;
  KanFormulaSpec spec;
  double lo[3] = { INFINITY, INFINITY, INFINITY }, hi[3] = { -INFINITY, -INFINITY, -INFINITY };

  kan_formula_spec_init (&spec);
  spec.formula = "a + b*c";
  spec.ranges = ranges;
  spec.n_ranges = 3;
  spec.n_train = 4000;
  spec.n_test = 1000;
  d = kan_dataset_from_formula (&spec, NULL);
  ck_assert_ptr_nonnull (d);
  for (size_t r = 0; r < 5000; r++)
    for (int i = 0; i < 3; i++)
      {
        double v = r < 4000 ? d->train_x[3 * r + i] : d->test_x[3 * (r - 4000) + i];

        lo[i] = MIN (lo[i], v);
        hi[i] = MAX (hi[i], v);
        ck_assert (v >= ranges[2 * i] && v < ranges[2 * i + 1]);
      }
  for (int i = 0; i < 3; i++)
    {
      double span = ranges[2 * i + 1] - ranges[2 * i];

      ck_assert (lo[i] - ranges[2 * i] < 0.01 * span);
      ck_assert (ranges[2 * i + 1] - hi[i] < 0.01 * span);
    }

  /* One pair applies to every variable. */
  {
    const double one[] = { 4.5, 4.75 };
    g_autoptr (KanDataset) d1 = NULL;

    spec.ranges = one;
    spec.n_ranges = 1;
    spec.n_train = 50;
    spec.n_test = 0;
    d1 = kan_dataset_from_formula (&spec, NULL);
    ck_assert_ptr_nonnull (d1);
    for (size_t k = 0; k < 150; k++)
      ck_assert (d1->train_x[k] >= 4.5 && d1->train_x[k] < 4.75);
    for (int i = 0; i < 3; i++)
      ck_assert (d1->ranges[2 * i] == 4.5 && d1->ranges[2 * i + 1] == 4.75);
  }
}
END_TEST

START_TEST (test_given_vars)
{
  const char *const vars[] = { "b", "a", "unused", NULL };
  g_autoptr (KanDataset) d = NULL;
  KanFormulaSpec spec;

  kan_formula_spec_init (&spec);
  spec.formula = "a - 2*b";
  spec.vars = vars;
  spec.n_train = 9;
  spec.n_test = 4;
  d = kan_dataset_from_formula (&spec, NULL);
  ck_assert_ptr_nonnull (d);
  ck_assert_int_eq (d->n_in, 3);
  ck_assert_str_eq (d->in_names[0], "b");
  ck_assert_str_eq (d->in_names[1], "a");
  ck_assert_str_eq (d->in_names[2], "unused");
  for (size_t r = 0; r < 9; r++)
    ck_assert (d->train_y[r] == d->train_x[3 * r + 1] - 2 * d->train_x[3 * r]);
}
END_TEST

START_TEST (test_noise)
{
  g_autoptr (KanDataset) clean = NULL, noisy = NULL;
  KanFormulaSpec spec;
  const double noise = 0.137;
  double label_std, *res_train, *res_test;

  kan_formula_spec_init (&spec);
  spec.formula = "3.5*x1 - x2^2";
  spec.n_train = 40000;
  spec.n_test = 30000;
  spec.seed = 99;
  clean = kan_dataset_from_formula (&spec, NULL);
  spec.noise = noise;
  noisy = kan_dataset_from_formula (&spec, NULL);
  ck_assert_ptr_nonnull (clean);
  ck_assert_ptr_nonnull (noisy);
  ck_assert (noisy->noise == noise);

  /* Noise is drawn after all inputs, so the inputs do not change. */
  ck_assert (memcmp (clean->train_x, noisy->train_x, 40000 * 2 * sizeof (double)) == 0);
  ck_assert (memcmp (clean->test_x, noisy->test_x, 30000 * 2 * sizeof (double)) == 0);

  label_std = kt_std (clean->train_y, 40000, 1);
  res_train = g_new (double, 40000);
  res_test = g_new (double, 30000);
  for (size_t r = 0; r < 40000; r++)
    res_train[r] = noisy->train_y[r] - clean->train_y[r];
  for (size_t r = 0; r < 30000; r++)
    res_test[r] = noisy->test_y[r] - clean->test_y[r];
  /* Mean 0 within ~4 standard errors; std within 2 %. */
  ck_assert (fabs (kt_mean (res_train, 40000, 1)) < 4 * noise * label_std / sqrt (40000));
  ck_assert (fabs (kt_mean (res_test, 30000, 1)) < 4 * noise * label_std / sqrt (30000));
  ck_assert (fabs (kt_std (res_train, 40000, 1) / (noise * label_std) - 1) < 0.02);
  ck_assert (fabs (kt_std (res_test, 30000, 1) / (noise * label_std) - 1) < 0.02);
  g_free (res_train);
  g_free (res_test);
}
END_TEST

START_TEST (test_normalisation)
{
  g_autoptr (KanDataset) raw = NULL, norm = NULL;
  KanFormulaSpec spec;
  const double ranges[] = { 3.0, 11.0, -0.5, 0.25 };

  kan_formula_spec_init (&spec);
  spec.formula = "x1*exp(x2) + 4";
  spec.ranges = ranges;
  spec.n_ranges = 2;
  spec.n_train = 517;
  spec.n_test = 211;
  spec.seed = 17;
  raw = kan_dataset_from_formula (&spec, NULL);
  spec.normalize_input = TRUE;
  spec.normalize_label = TRUE;
  norm = kan_dataset_from_formula (&spec, NULL);
  ck_assert_ptr_nonnull (raw);
  ck_assert_ptr_nonnull (norm);
  ck_assert_ptr_nonnull (norm->in_mean);
  ck_assert_ptr_nonnull (norm->in_std);
  ck_assert_ptr_nonnull (norm->out_mean);
  ck_assert_ptr_nonnull (norm->out_std);

  for (int i = 0; i < 2; i++)
    {
      ck_assert (fabs (kt_mean (norm->train_x + i, 517, 2)) < 1e-12);
      ck_assert (fabs (kt_std (norm->train_x + i, 517, 2) - 1.0) < 1e-12);
      ck_assert (fabs (norm->in_mean[i] - kt_mean (raw->train_x + i, 517, 2)) < 1e-12);
      ck_assert (fabs (norm->in_std[i] - kt_std (raw->train_x + i, 517, 2)) < 1e-12);
      /* Test rows use the train statistics. */
      for (size_t r = 0; r < 211; r++)
        ck_assert (fabs (norm->test_x[2 * r + i]
                         - (raw->test_x[2 * r + i] - norm->in_mean[i]) / norm->in_std[i])
                   < 1e-12);
    }
  ck_assert (fabs (kt_mean (norm->train_y, 517, 1)) < 1e-12);
  ck_assert (fabs (kt_std (norm->train_y, 517, 1) - 1.0) < 1e-12);
  for (size_t r = 0; r < 211; r++)
    ck_assert (fabs (norm->test_y[r] - (raw->test_y[r] - norm->out_mean[0]) / norm->out_std[0])
               < 1e-12);
  ck_assert (kan_dataset_validate (norm, NULL));
}
END_TEST

static void
expect_formula_error (KanFormulaSpec *spec,
                      int             code,
                      ...)
{
  g_autoptr (GError) error = NULL;
  KanDataset *d = kan_dataset_from_formula (spec, &error);
  va_list args;

  ck_assert_msg (d == NULL, "'%s' should fail", spec->formula ? spec->formula : "(null)");
  ck_assert_msg (g_error_matches (error, KAN_ERROR, code), "'%s' code %d", error->message,
                 error->code);
  va_start (args, code);
  expect_fragments (error, args);
  va_end (args);
}

START_TEST (test_formula_errors)
{
  KanFormulaSpec spec;
  const double two[] = { -1.0, 1.0, 0.0, 2.0 };
  const double bad[] = { 1.0, -1.0 };
  const double nan_range[] = { NAN, 1.0 };
  const double positive[] = { 0.0, 1.0 };

  kan_formula_spec_init (&spec);
  expect_formula_error (&spec, KAN_ERROR_INVALID, "no formula", NULL);

  spec.formula = "x1 + foo(x2)";
  expect_formula_error (&spec, KAN_ERROR_PARSE, "position 6: unknown function 'foo'", NULL);

  spec.formula = "log(x1)";
  spec.seed = 5;
  expect_formula_error (&spec, KAN_ERROR_DATA, "formula 'log(x1)' is not finite at x1=-",
                        "(train row ", NULL);

  spec.formula = "2 + 3";
  expect_formula_error (&spec, KAN_ERROR_INVALID, "no variables", NULL);

  spec.formula = "x1 + x2 + x3";
  spec.ranges = two;
  spec.n_ranges = 2;
  expect_formula_error (&spec, KAN_ERROR_INVALID, "3 variables (x1, x2, x3)", "2 ranges", NULL);

  spec.formula = "x1 + x2";
  spec.ranges = bad;
  spec.n_ranges = 1;
  expect_formula_error (&spec, KAN_ERROR_INVALID, "[1, -1]", "lo < hi", NULL);
  spec.ranges = nan_range;
  expect_formula_error (&spec, KAN_ERROR_INVALID, "not a finite interval", NULL);
  spec.ranges = two;
  spec.n_ranges = 2;

  spec.n_train = 0;
  expect_formula_error (&spec, KAN_ERROR_INVALID, "train row", NULL);
  spec.n_train = 10;
  spec.noise = -0.5;
  expect_formula_error (&spec, KAN_ERROR_INVALID, "noise", NULL);
  spec.noise = NAN;
  expect_formula_error (&spec, KAN_ERROR_INVALID, "noise", NULL);
  spec.noise = 0.0;

  spec.n_train = (size_t) 1 << 40;
  expect_formula_error (&spec, KAN_ERROR_BUDGET, "4 GiB", NULL);
  spec.n_train = G_MAXSIZE;
  spec.n_test = G_MAXSIZE;
  expect_formula_error (&spec, KAN_ERROR_BUDGET, NULL);
  spec.n_train = 10;
  spec.n_test = 10;

  /* Normalisation needs variation. */
  spec.formula = "0*x1 + 2.5 + 0*x2";
  spec.normalize_label = TRUE;
  expect_formula_error (&spec, KAN_ERROR_DATA, "cannot normalise 'y'", NULL);
  spec.normalize_label = FALSE;
  spec.normalize_input = TRUE;
  spec.n_train = 1;
  expect_formula_error (&spec, KAN_ERROR_DATA, "at least 2 train rows", NULL);

  /* A label that is infinite only on a test row: 1/(x1 - t) where t is the first test value. */
  {
    gsl_rng *rng = gsl_rng_alloc (gsl_rng_mt19937);
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    g_autofree char *formula = NULL;
    double t;

    gsl_rng_set (rng, 8);
    for (int i = 0; i < 5; i++)
      gsl_rng_uniform (rng);
    t = gsl_rng_uniform (rng);
    gsl_rng_free (rng);
    formula = g_strdup_printf ("1/(x1 - %s)", g_ascii_dtostr (buf, sizeof buf, t));
    kan_formula_spec_init (&spec);
    spec.formula = formula;
    spec.ranges = positive;
    spec.seed = 8;
    spec.n_train = 5;
    spec.n_test = 3;
    expect_formula_error (&spec, KAN_ERROR_DATA, "is not finite at x1=", "(test row 1)", NULL);
  }
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* CSV                                                                                        */
/* ------------------------------------------------------------------------------------------ */

static KanDataset *
read_csv (const char *name,
          const char *targets,
          double      test_fraction,
          guint64     seed,
          GError    **error)
{
  g_autofree char *path = data_path (name);

  return kan_dataset_from_csv (path, targets, test_fraction, seed, error);
}

START_TEST (test_csv_basic)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (KanDataset) d = read_csv ("basic.csv", "y", 0.3, 12345, &error);
  gboolean seen[11] = { FALSE };
  const double a_of[11] = { 0, 0.25, 1.125, -7.75, 2.5, 0.5, 6.125, -0.875, 3.375, 1.75, -4.5 };
  const double y_of[11] = { 0, 2.75, -0.5, 0.0625, 9.5, -1.25, 3, 1.5, -2.25, 4.125, 7.75 };

  ck_assert_msg (d != NULL, "%s", error ? error->message : "");
  ck_assert_int_eq (d->source, KAN_DATA_CSV);
  ck_assert_int_eq (d->n_in, 3);
  ck_assert_int_eq (d->n_out, 1);
  ck_assert_uint_eq (d->n_train, 7);
  ck_assert_uint_eq (d->n_test, 3);
  ck_assert_str_eq (d->in_names[0], "row");
  ck_assert_str_eq (d->in_names[1], "a");
  ck_assert_str_eq (d->in_names[2], "b");
  ck_assert_str_eq (d->out_names[0], "y");
  ck_assert (d->test_fraction == 0.3);
  ck_assert_uint_eq (d->seed, 12345);
  ck_assert (g_str_has_suffix (d->csv_path, "basic.csv"));

  /* Every row lands exactly once, intact. */
  for (size_t r = 0; r < 10; r++)
    {
      const double *x = r < 7 ? d->train_x + 3 * r : d->test_x + 3 * (r - 7);
      double y = r < 7 ? d->train_y[r] : d->test_y[r - 7];
      int id = (int) x[0];

      ck_assert (id >= 1 && id <= 10 && !seen[id]);
      seen[id] = TRUE;
      ck_assert (x[1] == a_of[id]);
      ck_assert (y == y_of[id]);
    }
  ck_assert (kan_dataset_validate (d, NULL));

  /* The split depends on the seed, deterministically. */
  {
    g_autoptr (KanDataset) same = read_csv ("basic.csv", "y", 0.3, 12345, NULL);
    g_autoptr (KanDataset) other = read_csv ("basic.csv", "y", 0.3, 54321, NULL);

    ck_assert (memcmp (same->train_x, d->train_x, 7 * 3 * sizeof (double)) == 0);
    ck_assert (memcmp (other->train_x, d->train_x, 7 * 3 * sizeof (double)) != 0);
  }
}
END_TEST

START_TEST (test_csv_targets_and_split)
{
  g_autoptr (KanDataset) multi = read_csv ("basic.csv", " y , a", 0.0, 3, NULL);
  g_autoptr (KanDataset) dflt = read_csv ("basic.csv", NULL, 0.5, 3, NULL);
  g_autoptr (KanDataset) most = read_csv ("basic.csv", "y", 0.99, 3, NULL);
  g_autoptr (KanDataset) two = read_csv ("trailing-blank.csv", "y", 0.75, 3, NULL);

  ck_assert_ptr_nonnull (multi);
  ck_assert_int_eq (multi->n_in, 2);
  ck_assert_int_eq (multi->n_out, 2);
  ck_assert_str_eq (multi->out_names[0], "y");
  ck_assert_str_eq (multi->out_names[1], "a");
  ck_assert_str_eq (multi->in_names[0], "row");
  ck_assert_str_eq (multi->in_names[1], "b");
  ck_assert_uint_eq (multi->n_train, 10);
  ck_assert_uint_eq (multi->n_test, 0);
  ck_assert_ptr_null (multi->test_x);

  ck_assert_ptr_nonnull (dflt);
  ck_assert_str_eq (dflt->out_names[0], "y");
  ck_assert_uint_eq (dflt->n_test, 5);

  /* round(0.99 · 10) = 10, but one train row is kept. */
  ck_assert_ptr_nonnull (most);
  ck_assert_uint_eq (most->n_train, 1);
  ck_assert_uint_eq (most->n_test, 9);

  /* Trailing blank lines are fine; round(0.75 · 2) = 2 → 1. */
  ck_assert_ptr_nonnull (two);
  ck_assert_uint_eq (two->n_train, 1);
  ck_assert_uint_eq (two->n_test, 1);
}
END_TEST

START_TEST (test_csv_crlf_bom_quoted)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (KanDataset) d = read_csv ("crlf-bom-quoted.csv", "y", 0.0, 1, &error);
  double sum[3] = { 0 };

  ck_assert_msg (d != NULL, "%s", error ? error->message : "");
  ck_assert_int_eq (d->n_in, 2);
  ck_assert_str_eq (d->in_names[0], "x_1");
  ck_assert_str_eq (d->in_names[1], "x2");
  ck_assert_str_eq (d->out_names[0], "y");
  ck_assert_uint_eq (d->n_train, 3);
  for (size_t r = 0; r < 3; r++)
    {
      sum[0] += d->train_x[2 * r];
      sum[1] += d->train_x[2 * r + 1];
      sum[2] += d->train_y[r];
    }
  ck_assert (sum[0] == 1.5 - 4.75 + 7);
  ck_assert (sum[1] == 2.25 + 5.5 + 8);
  ck_assert (sum[2] == -3 + 6.125 + 9);
}
END_TEST

static void
expect_csv_error (const char *name,
                  const char *targets,
                  int         code,
                  ...)
{
  g_autoptr (GError) error = NULL;
  KanDataset *d = read_csv (name, targets, 0.25, 1, &error);
  va_list args;
  const char *frag;

  ck_assert_msg (d == NULL, "%s should be rejected", name);
  ck_assert_msg (g_error_matches (error, KAN_ERROR, code), "%s: '%s' has code %d", name,
                 error->message, error->code);
  va_start (args, code);
  while ((frag = va_arg (args, const char *)) != NULL)
    ck_assert_msg (strstr (error->message, frag) != NULL, "%s: message '%s' lacks '%s'", name,
                   error->message, frag);
  va_end (args);
}

START_TEST (test_csv_rejects)
{
  expect_csv_error ("empty.csv", "y", KAN_ERROR_DATA, "empty.csv:1:1: the file is empty", NULL);
  expect_csv_error ("blank-only.csv", "y", KAN_ERROR_DATA, "blank-only.csv:1:1:", "empty",
                    NULL);
  expect_csv_error ("header-only.csv", "y", KAN_ERROR_DATA, "header-only.csv:2:1:",
                    "no data rows", NULL);
  expect_csv_error ("ragged.csv", "y", KAN_ERROR_DATA, "ragged.csv:5:9:",
                    "line 5 has 3 fields, the header has 4", NULL);
  expect_csv_error ("ragged-long.csv", "y", KAN_ERROR_DATA, "ragged-long.csv:3:9:",
                    "line 3 has 5 fields, the header has 4", NULL);
  expect_csv_error ("not-a-number.csv", "y", KAN_ERROR_DATA,
                    "not-a-number.csv:3:4: 'abc' is not a number", NULL);
  expect_csv_error ("trailing-junk.csv", "y", KAN_ERROR_DATA,
                    "trailing-junk.csv:3:3: '1.5x' is not a number", NULL);
  expect_csv_error ("nan.csv", "y", KAN_ERROR_DATA, "nan.csv:3:3: 'NaN' is not a finite number",
                    NULL);
  expect_csv_error ("inf.csv", "y", KAN_ERROR_DATA, "inf.csv:3:5: '-inf' is not a finite",
                    NULL);
  expect_csv_error ("overflow.csv", "y", KAN_ERROR_DATA, "overflow.csv:2:5: '1e999'", NULL);
  expect_csv_error ("duplicate.csv", "y", KAN_ERROR_DATA,
                    "duplicate.csv:1:5: duplicate column name 'a' (also column 1)", NULL);
  expect_csv_error ("empty-field.csv", "y", KAN_ERROR_DATA,
                    "empty-field.csv:2:3: empty field in column 'b'", NULL);
  expect_csv_error ("empty-name.csv", "y", KAN_ERROR_DATA,
                    "empty-name.csv:1:3: column 2 has an empty name", NULL);
  expect_csv_error ("blank-middle.csv", "y", KAN_ERROR_DATA, "blank-middle.csv:3:1:",
                    "empty line", NULL);
  expect_csv_error ("unterminated-quote.csv", "y", KAN_ERROR_DATA,
                    "unterminated-quote.csv:1:3: unterminated quoted field", NULL);
  expect_csv_error ("junk-after-quote.csv", "y", KAN_ERROR_DATA, "junk-after-quote.csv:1:6:",
                    NULL);
  expect_csv_error ("abc.csv", "y", KAN_ERROR_DATA,
                    "abc.csv:1:1: no column named 'y' (columns: a, b, c)", NULL);
  expect_csv_error ("abc.csv", "c,b,a", KAN_ERROR_DATA, "every column is a target", NULL);
  expect_csv_error ("abc.csv", "c,c", KAN_ERROR_INVALID, "named twice", NULL);
  expect_csv_error ("abc.csv", "c,", KAN_ERROR_INVALID, "empty name", NULL);
  expect_csv_error ("no-such-file.csv", "y", KAN_ERROR_IO, "no-such-file.csv", NULL);

  {
    g_autoptr (GError) error = NULL;
    g_autofree char *path = data_path ("basic.csv");

    ck_assert_ptr_null (kan_dataset_from_csv (path, "y", 1.0, 0, &error));
    expect_error (error, KAN_ERROR_INVALID, "test fraction", NULL);
    g_clear_error (&error);
    ck_assert_ptr_null (kan_dataset_from_csv (path, "y", -0.1, 0, &error));
    expect_error (error, KAN_ERROR_INVALID, NULL);
    g_clear_error (&error);
    ck_assert_ptr_null (kan_dataset_from_csv (path, "y", NAN, 0, &error));
    expect_error (error, KAN_ERROR_INVALID, NULL);
  }
}
END_TEST

/* Binary and oversized inputs are generated rather than kept in the repository. */
static char *
write_temp (const char *dir,
            const char *name,
            const char *contents,
            gssize      len)
{
  char *path = g_build_filename (dir, name, NULL);

  ck_assert (g_file_set_contents (path, contents, len, NULL));
  return path;
}

START_TEST (test_csv_binary_and_long)
{
  g_autofree char *dir = g_dir_make_tmp ("kan-data-XXXXXX", NULL);
  const char nul[] = "a,b,y\n1,2,3\n4,\0,6\n";
  const char *bad_utf8 = "a,b,y\n1,2,3\n4,5\xc3\x28,6\n";
  const char *latin1_header = "a,b\xe9,y\n1,2,3\n";
  g_autofree char *p1 = write_temp (dir, "nul.csv", nul, sizeof nul - 1);
  g_autofree char *p2 = write_temp (dir, "utf8.csv", bad_utf8, -1);
  g_autofree char *p3 = write_temp (dir, "latin1.csv", latin1_header, -1);
  g_autofree char *p4 = NULL, *p5 = NULL;
  g_autoptr (GError) error = NULL;
  GString *s;

  ck_assert_ptr_null (kan_dataset_from_csv (p1, "y", 0, 0, &error));
  expect_error (error, KAN_ERROR_DATA, "nul.csv:3:3:", "NUL byte", NULL);
  g_clear_error (&error);
  ck_assert_ptr_null (kan_dataset_from_csv (p2, "y", 0, 0, &error));
  expect_error (error, KAN_ERROR_DATA, "utf8.csv:3:4:", "invalid UTF-8", NULL);
  g_clear_error (&error);
  ck_assert_ptr_null (kan_dataset_from_csv (p3, "y", 0, 0, &error));
  expect_error (error, KAN_ERROR_DATA, "latin1.csv:1:4:", "invalid UTF-8", NULL);
  g_clear_error (&error);

  /* Random binary garbage never crashes and is always an error. */
  {
    gsl_rng *rng = gsl_rng_alloc (gsl_rng_mt19937);
    char buf[512];

    gsl_rng_set (rng, 2718);
    for (int trial = 0; trial < 300; trial++)
      {
        g_autofree char *p = NULL;
        KanDataset *d;
        size_t n = 1 + gsl_rng_uniform_int (rng, sizeof buf);

        for (size_t i = 0; i < n; i++)
          buf[i] = (char) gsl_rng_uniform_int (rng, 256);
        p = write_temp (dir, "garbage.csv", buf, n);
        d = kan_dataset_from_csv (p, "y", 0.2, 0, &error);
        ck_assert_ptr_null (d);
        ck_assert (error != NULL && error->domain == KAN_ERROR);
        g_clear_error (&error);
        g_unlink (p);
      }
    gsl_rng_free (rng);
  }

  /* A line over 1 MiB. */
  s = g_string_new ("a,y\n1,");
  while (s->len < (1 << 20) + 100)
    g_string_append (s, "0000000000");
  g_string_append (s, "1\n");
  p4 = write_temp (dir, "long.csv", s->str, s->len);
  ck_assert_ptr_null (kan_dataset_from_csv (p4, "y", 0, 0, &error));
  expect_error (error, KAN_ERROR_DATA, "long.csv:2:1:", "longer than 1 MiB", NULL);
  g_clear_error (&error);

  /* Old Mac line ends (CR only) and many columns are fine. */
  p5 = write_temp (dir, "cr.csv", "a,b,y\r1,2,3\r4,5,6\r", -1);
  {
    g_autoptr (KanDataset) d = kan_dataset_from_csv (p5, "y", 0, 0, &error);

    ck_assert_msg (d != NULL, "%s", error ? error->message : "");
    ck_assert_uint_eq (d->n_train, 2);
  }

  g_string_free (s, TRUE);
  g_unlink (p1);
  g_unlink (p2);
  g_unlink (p3);
  g_unlink (p4);
  g_unlink (p5);
  g_rmdir (dir);
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* Arrays, copies, validation, ranges                                                         */
/* ------------------------------------------------------------------------------------------ */

/* Classes of a cross-entropy data set: the largest label in train or test rows, + 1, read
 * from the first output column only; absurd labels are capped. */
START_TEST (test_n_classes)
{
  const double x[] = { 0.25, 0.5, 0.75, 1.0 };
  const double ty[] = { 0, 7.5, 2, -3, 1, 4 };   /* labels in column 0, column 1 ignored */
  const double vy[] = { 5, 9 };
  const double huge[] = { 3e9, 0, 1, 0, 2, 0 };
  g_autoptr (KanDataset) d = kan_dataset_new_arrays (1, 2, 3, 1, x, ty, x + 3, vy, NULL, NULL);
  g_autoptr (KanDataset) train_only = kan_dataset_new_arrays (1, 2, 3, 0, x, ty, NULL, NULL,
                                                              NULL, NULL);
  g_autoptr (KanDataset) capped = kan_dataset_new_arrays (1, 2, 3, 0, x, huge, NULL, NULL,
                                                          NULL, NULL);

  ck_assert_int_eq (kan_dataset_n_classes (d), 6);
  ck_assert_int_eq (kan_dataset_n_classes (train_only), 3);
  ck_assert_int_eq (kan_dataset_n_classes (capped), 1000001);
}
END_TEST

START_TEST (test_arrays_copy_validate)
{
  const double tx[] = { 0.5, 1.5, -2.5, 3.25, 4.125, -5.0 };
  const double ty[] = { 7.5, 8.25, 9.125 };
  const double vx[] = { 1.75, -0.25 };
  const double vy[] = { 6.5 };
  g_autoptr (KanDataset) d = kan_dataset_new_arrays (2, 1, 3, 1, tx, ty, vx, vy, NULL, NULL);
  g_autoptr (KanDataset) named = kan_dataset_new_arrays (2, 1, 3, 0, tx, ty, NULL, NULL,
                                                         (const char *const[]) { "u", "v", NULL },
                                                         (const char *const[]) { "w", NULL });
  g_autoptr (KanDataset) c = NULL;
  g_autoptr (GError) error = NULL;

  ck_assert_int_eq (d->source, KAN_DATA_ARRAYS);
  ck_assert_str_eq (d->in_names[0], "x1");
  ck_assert_str_eq (d->in_names[1], "x2");
  ck_assert_str_eq (d->out_names[0], "y1");
  ck_assert_str_eq (named->in_names[1], "v");
  ck_assert_str_eq (named->out_names[0], "w");
  ck_assert_ptr_ne (d->train_x, tx);
  ck_assert (memcmp (d->train_x, tx, sizeof tx) == 0);
  ck_assert (kan_dataset_validate (d, NULL));
  ck_assert (kan_dataset_validate (named, NULL));

  c = kan_dataset_copy (d);
  ck_assert_ptr_ne (c->train_x, d->train_x);
  ck_assert_ptr_ne (c->in_names, d->in_names);
  ck_assert (memcmp (c->test_x, vx, sizeof vx) == 0);
  ck_assert_str_eq (c->in_names[1], "x2");

  /* The copy is independent. */
  c->train_x[4] = NAN;
  ck_assert (kan_dataset_validate (d, NULL));
  ck_assert (!kan_dataset_validate (c, &error));
  expect_error (error, KAN_ERROR_DATA, "train input row 3, column 'x1'", NULL);
  g_clear_error (&error);
  c->train_x[4] = 1.0;
  c->test_y[0] = INFINITY;
  ck_assert (!kan_dataset_validate (c, &error));
  expect_error (error, KAN_ERROR_DATA, "test label row 1", NULL);
  g_clear_error (&error);
  c->test_y[0] = 1.0;
  c->n_out = 0;
  ck_assert (!kan_dataset_validate (c, &error));
  expect_error (error, KAN_ERROR_SHAPE, NULL);
  g_clear_error (&error);
  c->n_out = 1;
  g_free (c->out_names[0]);
  c->out_names[0] = NULL;
  ck_assert (!kan_dataset_validate (c, &error));
  expect_error (error, KAN_ERROR_SHAPE, "names", NULL);
  g_clear_error (&error);
  ck_assert (!kan_dataset_validate (NULL, &error));
  expect_error (error, KAN_ERROR_SHAPE, NULL);

  kan_dataset_free (NULL);
  ck_assert_ptr_null (kan_dataset_copy (NULL));

  /* A formula data set copies its provenance and normalisation too. */
  {
    KanFormulaSpec spec;
    g_autoptr (KanDataset) f = NULL, fc = NULL;

    kan_formula_spec_init (&spec);
    spec.formula = "sin(x1) + x2";
    spec.n_train = 20;
    spec.n_test = 5;
    spec.normalize_input = TRUE;
    f = kan_dataset_from_formula (&spec, NULL);
    fc = kan_dataset_copy (f);
    ck_assert_str_eq (fc->formula, "sin(x1) + x2");
    ck_assert_ptr_ne (fc->ranges, f->ranges);
    ck_assert (memcmp (fc->ranges, f->ranges, 4 * sizeof (double)) == 0);
    ck_assert (memcmp (fc->in_std, f->in_std, 2 * sizeof (double)) == 0);
    ck_assert_ptr_null (fc->out_mean);
    ck_assert (kan_dataset_validate (fc, NULL));
  }
}
END_TEST

START_TEST (test_parse_ranges)
{
  g_autoptr (GError) error = NULL;
  double *r = NULL;
  int n = -1;
  const char *bad[] = { "", "  ", "1", "1,2,3", "a,b", "2,1", "1,1", "1,2:", "1,2::3,4",
                        "-1,1e999", "1,(2", ",2" };

  ck_assert (kan_parse_ranges ("-1,1", &r, &n, &error));
  ck_assert_int_eq (n, 1);
  ck_assert (r[0] == -1.0 && r[1] == 1.0);
  g_free (r);

  ck_assert (kan_parse_ranges (" -1.5 , 1:0,2.25", &r, &n, &error));
  ck_assert_int_eq (n, 2);
  ck_assert (r[0] == -1.5 && r[1] == 1.0 && r[2] == 0.0 && r[3] == 2.25);
  g_free (r);

  ck_assert (kan_parse_ranges ("-pi,pi:0.2,2*e", &r, &n, &error));
  ck_assert (r[0] == -M_PI && r[1] == M_PI && r[3] == 2 * M_E);
  g_free (r);

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      r = (double *) 0x1;
      ck_assert_msg (!kan_parse_ranges (bad[i], &r, &n, &error), "'%s' parsed", bad[i]);
      ck_assert_ptr_null (r);
      ck_assert_int_eq (n, 0);
      expect_error (error, KAN_ERROR_PARSE, "ranges '", NULL);
      g_clear_error (&error);
    }
  ck_assert (!kan_parse_ranges ("0,1:5,x", &r, &n, &error));
  expect_error (error, KAN_ERROR_PARSE, "range 2, upper bound", "unknown variable 'x'", NULL);
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* Names, separators, line breaks in quotes, hexadecimal numbers (hardening round two)        */
/* ------------------------------------------------------------------------------------------ */

static void
expect_csv_text_error (const char *text,
                       const char *targets,
                       ...)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (KanDataset) d = kt_csv_text (text, targets, &error);
  va_list args;

  ck_assert_msg (d == NULL, "'%s' was read", text);
  va_start (args, targets);
  expect_fragments (error, args);
  va_end (args);
}

START_TEST (test_csv_names)
{
  g_autoptr (GError) error = NULL;

  /* Input columns name variables; each kind of bad name is refused at its column. */
  expect_csv_text_error ("a-1,pi,y\n1,2,3\n", "y", "t.csv:1:1: input column 1 'a-1'",
                         "not an identifier", "e.g. to a_1", NULL);
  expect_csv_text_error ("a,pi,y\n1,2,3\n", "y", "t.csv:1:3: input column 2 'pi'",
                         "the constant pi", NULL);
  expect_csv_text_error ("\"a b\",e,y\n1,2,3\n", "y", "input column 1 'a b'", NULL);
  expect_csv_text_error ("x,nan,y\n1,2,3\n", "y", "input column 2 'nan'", "the constant nan",
                         NULL);
  /* Words that a language reserves are names all the same: each style renames them itself
   * (kan_expr_style_name), so a physicist's gamma, lambda, E or N columns read as they are. */
  {
    const char *const ok[] = { "x,sin,y\n1,2,3\n", "lambda,x,y\n1,2,3\n", "x, int ,y\n1,2,3\n",
                               "E,x,y\n1,2,3\n", "x,np,y\n1,2,3\n", "x,sigma,y\n1,2,3\n",
                               "gamma,N,y\n1,2,3\n" };
    for (gsize i = 0; i < G_N_ELEMENTS (ok); i++)
      {
        g_autoptr (KanDataset) d = kt_csv_text (ok[i], "y", &error);
        ck_assert_msg (d != NULL, "'%s': %s", ok[i], error ? error->message : "");
        ck_assert (kan_dataset_validate (d, NULL));
      }
  }
  expect_csv_text_error ("x1,x_1,y\n1,2,3\n", "y", "t.csv:1:4:", "columns 1 'x1' and 2 'x_1'",
                         "x_{1} in LaTeX", NULL);

  /* Targets are labels: any name without control characters. */
  {
    g_autoptr (KanDataset) d = kt_csv_text ("x,\"total cost (EUR)\"\n1,2\n3,4\n",
                                         "total cost (EUR)", &error);
    ck_assert_msg (d != NULL, "%s", error ? error->message : "");
    ck_assert_str_eq (d->out_names[0], "total cost (EUR)");
    ck_assert (kan_dataset_validate (d, NULL));
  }

  /* A data set made by a program, or loaded from a session, is checked the same way. */
  {
    const double x[] = { 1, 2 }, y[] = { 3 };
    const char *const names[] = { "a-1", "x", NULL };
    g_autoptr (KanDataset) d = kan_dataset_new_arrays (2, 1, 1, 0, x, y, NULL, NULL, names,
                                                       NULL);
    ck_assert (!kan_dataset_validate (d, &error));
    expect_error (error, KAN_ERROR_INVALID, "input 1 'a-1' is not an identifier", NULL);
    g_clear_error (&error);
  }
}
END_TEST

START_TEST (test_csv_separators_quotes_hex)
{
  g_autoptr (GError) error = NULL;

  expect_csv_text_error ("a\tb\ty\n1\t2\t3\n", "y",
                         "t.csv:1:1: line 1 has 1 field; the file looks tab-separated — Kanvas "
                         "reads comma-separated values", NULL);
  expect_csv_text_error ("a;b;y\n1,5;2;3\n", "y", "line 1 has 1 field",
                         "semicolon-separated", NULL);
  expect_csv_text_error ("a|b|y\n1|2|3\n", "y", "pipe-separated", NULL);
  expect_csv_text_error ("a b y\n1 2 3\n", "y", "space-separated", NULL);
  expect_csv_text_error ("a,b,y\n1;2;3\n", "y",
                         "t.csv:2:6: line 2 has 1 field, the header has 3; the line looks "
                         "semicolon-separated", NULL);
  /* Blanks around numbers are not taken for a separator. */
  expect_csv_text_error ("a,b,y\n1 , 2\n", "y", "line 2 has 2 fields, the header has 3", NULL);

  /* A quoted header name may hold line breaks; they read as a space, and the lines after it
   * keep their numbers. */
  {
    g_autoptr (KanDataset) d = kt_csv_text ("x,\"total\r\n  cost\"\n1,2\n3,4\n", "total cost",
                                         &error);
    ck_assert_msg (d != NULL, "%s", error ? error->message : "");
    ck_assert_str_eq (d->out_names[0], "total cost");
    ck_assert_uint_eq (d->n_train, 2);
  }
  expect_csv_text_error ("\"a\nb\",c,y\n1,2,3\n", "y", "t.csv:1:1: input column 1 'a b'",
                         NULL);
  expect_csv_text_error ("x,\"y\n\"\n1,2\nx,2\n", "y", "t.csv:4:1: 'x' is not a number",
                         NULL);
  expect_csv_text_error ("x,\"y\n\"\n1,2\n3,4,5\n", "y", "t.csv:4:5: line 4 has 3 fields",
                         NULL);
  expect_csv_text_error ("x,y\n\"1\n2\",3\n", "y", "t.csv:2:1: '1\n2' is not a number", NULL);
  /* An unclosed quote is still reported where it opens. */
  expect_csv_text_error ("x,\"y\n1,2\n", "y", "t.csv:1:3: unterminated quoted field", NULL);

  /* Numbers are decimal. */
  expect_csv_text_error ("x,y\n0x1p3,1\n", "y",
                         "t.csv:2:1: '0x1p3' is a hexadecimal number; numbers are read in "
                         "decimal only", NULL);
  expect_csv_text_error ("x,y\n1,-0X10\n", "y", "hexadecimal", NULL);
  expect_csv_text_error ("x,y\n1,infinity\n", "y", "'infinity' is not a finite number", NULL);
}
END_TEST

START_TEST (test_formula_names_and_ranges)
{
  KanFormulaSpec spec;
  const char *const empty[] = { "x1", "", "x2", NULL };
  const char *const dup[] = { "x1", "x1", NULL };
  const char *const cnst[] = { "x1", "x2", "pi", NULL };
  const char *const none[] = { NULL };
  const double wide[] = { -1e308, 1e308 };
  g_autoptr (GError) error = NULL;
  double *r = NULL;
  int n = 0;
  GString *sum = g_string_new ("x1");

  kan_formula_spec_init (&spec);
  spec.formula = "x1+x2";
  spec.vars = empty;
  expect_formula_error (&spec, KAN_ERROR_INVALID, "has an empty name (variable 2)", NULL);
  spec.vars = dup;
  expect_formula_error (&spec, KAN_ERROR_INVALID, "variable 2 'x1' is a duplicate", NULL);
  spec.vars = cnst;
  expect_formula_error (&spec, KAN_ERROR_INVALID, "variable 3 'pi' is the constant pi", NULL);
  spec.vars = none;
  expect_formula_error (&spec, KAN_ERROR_INVALID, "the list of variables is empty", NULL);

  /* Names found in the formula are checked too. */
  spec.vars = NULL;
  {
    /* A variable may share a function's name: in a formula a call is always NAME(…). */
    const char *const func[] = { "gamma", "lambda", "E", NULL };
    g_autoptr (GError) local = NULL;
    g_autoptr (KanDataset) d = NULL;
    const double *x;

    spec.vars = func;
    spec.formula = "gamma*lambda + gamma(E)";
    spec.ranges = (const double[]) { 1, 2 };
    spec.n_ranges = 1;
    d = kan_dataset_from_formula (&spec, &local);
    ck_assert_msg (d != NULL, "%s", local ? local->message : "");
    ck_assert_int_eq (d->n_in, 3);
    x = d->train_x;
    ck_assert_double_eq_tol (d->train_y[0], x[0] * x[1] + tgamma (x[2]), 1e-12);
    spec.vars = NULL;
    spec.ranges = NULL;
    spec.n_ranges = 0;
  }
  spec.formula = "x1*x_1";
  expect_formula_error (&spec, KAN_ERROR_INVALID, "x_{1} in LaTeX", NULL);

  /* A range whose width overflows is blamed on the range. */
  spec.formula = "x1";
  spec.ranges = wide;
  spec.n_ranges = 1;
  expect_formula_error (&spec, KAN_ERROR_INVALID, "is too wide", NULL);
  ck_assert (!kan_parse_ranges ("-1e308,1e308", &r, &n, &error));
  expect_error (error, KAN_ERROR_PARSE, "range 1", "too wide", NULL);
  g_clear_error (&error);
  ck_assert (kan_parse_ranges ("-1e307,1e307", &r, &n, &error));
  g_free (r);

  /* Noise that makes labels overflow is blamed on the noise. */
  kan_formula_spec_init (&spec);
  spec.formula = "1000*x1";
  spec.noise = 1e308;
  spec.n_train = 50;
  expect_formula_error (&spec, KAN_ERROR_INVALID, "the noise level", "is too large", NULL);

  /* Long formulas are quoted in part, around the position of the error. */
  for (int i = 1; i < 11000; i++)
    g_string_append (sum, "+x1");
  kan_formula_spec_init (&spec);
  spec.formula = sum->str;
  {
    g_autoptr (KanDataset) d = kan_dataset_from_formula (&spec, &error);
    ck_assert_ptr_null (d);
    ck_assert_int_lt (g_utf8_strlen (error->message, -1), 400);
    ck_assert_ptr_nonnull (strstr (error->message, "formula '…+x1+x1"));
    ck_assert_ptr_nonnull (strstr (error->message, "position 6000"));
    ck_assert_ptr_nonnull (strstr (error->message, "KAN_EXPR_MAX_HEIGHT"));
  }
  g_string_free (sum, TRUE);
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* Text labels: class names                                                                   */
/* ------------------------------------------------------------------------------------------ */

/* The class name of row B (train rows first) of D. */
static const char *
row_class (const KanDataset *d,
           size_t            b)
{
  double c = b < d->n_train ? d->train_y[b] : d->test_y[b - d->n_train];

  ck_assert (c == floor (c) && c >= 0 && c < kan_dataset_n_classes (d));
  return d->class_names[(int) c];
}

START_TEST (test_csv_class_names)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (KanDataset) d = read_csv ("species.csv", "species", 0.2, 7, &error);
  g_autoptr (KanDataset) other_seed = NULL;
  g_autoptr (KanDataset) c = NULL;
  g_autofree char *path = data_path ("species.csv");
  g_autofree char *text = NULL;
  g_auto (GStrv) lines = NULL;
  int count[3] = { 0 };

  ck_assert_msg (d != NULL, "%s", error ? error->message : "");
  /* Sorted by byte order, not in the order of appearance (virginica comes first in the file). */
  ck_assert_int_eq (kan_dataset_n_classes (d), 3);
  ck_assert_str_eq (d->class_names[0], "setosa");
  ck_assert_str_eq (d->class_names[1], "versicolor");
  ck_assert_str_eq (d->class_names[2], "virginica");
  ck_assert_ptr_null (d->class_names[3]);
  ck_assert_str_eq (d->out_names[0], "species");
  ck_assert_int_eq (d->n_in, 2);
  ck_assert_int_eq (d->n_out, 1);
  ck_assert_uint_eq (d->n_train + d->n_test, 150);
  ck_assert_uint_eq (d->n_test, 30);
  ck_assert (kan_dataset_validate (d, &error));

  /* Every row keeps its own label: rows are matched by their inputs, which are distinct. */
  ck_assert (g_file_get_contents (path, &text, NULL, NULL));
  lines = g_strsplit (text, "\n", -1);
  for (size_t b = 0; b < d->n_train + d->n_test; b++)
    {
      const double *x = b < d->n_train ? d->train_x + 2 * b : d->test_x + 2 * (b - d->n_train);
      g_autofree char *want = g_strdup_printf ("%.3f,%.3f,%s", x[0], x[1], row_class (d, b));
      gboolean found = FALSE;

      for (char **l = lines + 1; *l && !found; l++)
        found = strcmp (*l, want) == 0;
      ck_assert_msg (found, "row %zu (%s) is not in the file", b, want);
      count[(int) (b < d->n_train ? d->train_y[b] : d->test_y[b - d->n_train])]++;
    }
  ck_assert_int_eq (count[0], 50);
  ck_assert_int_eq (count[1], 50);
  ck_assert_int_eq (count[2], 50);

  /* Another split numbers the classes the same way. */
  other_seed = read_csv ("species.csv", "species", 0.5, 99, &error);
  ck_assert_msg (other_seed != NULL, "%s", error ? error->message : "");
  ck_assert_str_eq (other_seed->class_names[0], "setosa");
  ck_assert_str_eq (other_seed->class_names[2], "virginica");

  /* Copies keep the names; a regression loss is refused, naming the first text label. */
  c = kan_dataset_copy (d);
  ck_assert (c->class_names != d->class_names);
  ck_assert_str_eq (c->class_names[1], "versicolor");
  ck_assert (!kan_dataset_check_numeric_labels (c, &error));
  expect_error (error, KAN_ERROR_DATA, "species.csv:2:14: 'virginica' (column 'species') is not "
                "a number", "cross-entropy", NULL);
  g_clear_error (&error);
  g_clear_pointer (&c->class_source, g_free);
  ck_assert (!kan_dataset_check_numeric_labels (c, &error));
  expect_error (error, KAN_ERROR_DATA, "column 'species' name classes (setosa, versicolor, "
                "virginica)", NULL);
  g_clear_error (&error);
}
END_TEST

START_TEST (test_csv_class_mixed_and_errors)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (KanDataset) d = NULL;
  g_autoptr (KanDataset) yes = NULL;
  GString *many = g_string_new ("x,y\n");

  /* Numbers and text in one label column: every label is text; "1" and "1.0" are two classes,
   * and a label that is not finite as a number is a name too, before or after the text. */
  d = kt_csv_text ("x,y\n1,1\n2,no\n3,1.0\n4,-inf\n5,1\n", "y", &error);
  ck_assert_msg (d != NULL, "%s", error ? error->message : "");
  ck_assert_int_eq (kan_dataset_n_classes (d), 4);
  ck_assert_str_eq (d->class_names[0], "-inf");
  ck_assert_str_eq (d->class_names[1], "1");
  ck_assert_str_eq (d->class_names[2], "1.0");
  ck_assert_str_eq (d->class_names[3], "no");
  ck_assert_str_eq (d->class_source, "t.csv:3:3: 'no' (column 'y')");
  g_clear_pointer (&d, kan_dataset_free);

  /* Quoted labels, blanks around them, CRLF. */
  yes = kt_csv_text ("a,b,\"ok?\"\r\n1,2, yes \r\n3,4,\"no\"\r\n5,6,yes\r\n", "ok?", &error);
  ck_assert_msg (yes != NULL, "%s", error ? error->message : "");
  ck_assert_int_eq (kan_dataset_n_classes (yes), 2);
  ck_assert_str_eq (yes->class_names[0], "no");
  ck_assert_str_eq (yes->class_names[1], "yes");
  for (size_t b = 0; b < 3; b++)
    ck_assert_str_eq (row_class (yes, b), yes->train_x[2 * b] == 3 ? "no" : "yes");

  /* Numeric labels keep today's behaviour: no class names. */
  d = kt_csv_text ("x,y\n1,0\n2,1\n3,2\n", "y", &error);
  ck_assert_ptr_nonnull (d);
  ck_assert_ptr_null (d->class_names);
  ck_assert (kan_dataset_check_numeric_labels (d, &error));
  g_clear_pointer (&d, kan_dataset_free);

  /* A number that is not finite, in a column of numbers, is still an error where it is. */
  expect_csv_text_error ("x,y\n1,2\n2,nan\n3,4\n", "y", "t.csv:3:3: 'nan' is not a finite",
                         NULL);
  /* Text in an input column is not a label. */
  expect_csv_text_error ("x,y\n1,yes\nabc,no\n", "y", "t.csv:3:1: 'abc' is not a number "
                         "(column 'x')", NULL);
  /* Empty labels, labels with line breaks, text with several targets. */
  expect_csv_text_error ("x,y\n1,yes\n2,\n", "y", "t.csv:3:3: empty label in column 'y'", NULL);
  expect_csv_text_error ("x,y\n1,\"a\nb\"\n", "y", "t.csv:2:3: the label in column 'y' "
                         "contains a line break", NULL);
  expect_csv_text_error ("x,y,z\n1,2,3\n2,3,big\n", "y,z", "t.csv:3:5: 'big' is not a number "
                         "(column 'z'); text labels name classes, which need a single target",
                         NULL);
  /* At most KAN_DATA_MAX_CLASSES distinct labels; the message says which is one too many and
   * where the text began (a numeric column with a stray word). */
  for (int i = 0; i < KAN_DATA_MAX_CLASSES; i++)
    g_string_append_printf (many, "%d,%d.5\n", i, i);
  g_string_append (many, "0,oops\n");
  d = kt_csv_text (many->str, "y", &error);
  ck_assert_ptr_null (d);
  expect_error (error, KAN_ERROR_DATA, "t.csv:258:3: 'oops' would be class 257 of column 'y'",
                "at most 256 classes", "t.csv:258:3: 'oops' (column 'y')", NULL);
  g_clear_error (&error);
  g_string_free (many, TRUE);
}
END_TEST

/* Other data of the same classes are renumbered into the model's classes by name. */
START_TEST (test_use_classes)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (KanDataset) d = kt_csv_text ("x,c\n1,b\n2,c\n3,b\n", "c", &error);
  g_autoptr (KanDataset) e = kt_csv_text ("x,c\n1,d\n2,b\n", "c", &error);
  const char *const model[] = { "a", "b", "c", NULL };
  const char *const small[] = { "a", "c", NULL };

  ck_assert_ptr_nonnull (d);
  ck_assert_int_eq (kan_dataset_n_classes (d), 2);
  for (size_t b = 0; b < 3; b++)
    ck_assert (d->train_y[b] == (d->train_x[b] == 2 ? 1 : 0));
  ck_assert (kan_dataset_use_classes (d, model, &error));
  ck_assert_int_eq (kan_dataset_n_classes (d), 3);
  for (size_t b = 0; b < 3; b++)
    ck_assert_str_eq (row_class (d, b), d->train_x[b] == 2 ? "c" : "b");
  ck_assert (kan_dataset_validate (d, &error));
  ck_assert (!kan_dataset_use_classes (d, small, &error));
  expect_error (error, KAN_ERROR_DATA, "class 'b' of column 'c' is not one of the model's "
                "classes (a, c)", NULL);
  g_clear_error (&error);
  ck_assert (d->train_y[0] == (d->train_x[0] == 2 ? 2 : 1) && kan_dataset_n_classes (d) == 3);
  ck_assert (!kan_dataset_use_classes (e, model, &error));
  g_clear_error (&error);

  /* Validation: labels must index the names. */
  d->train_y[1] = 3;
  ck_assert (!kan_dataset_validate (d, &error));
  ck_assert_ptr_nonnull (e);
  expect_error (error, KAN_ERROR_SHAPE, "train row 2: label 3 is not a class index 0 … 2", NULL);
}
END_TEST

static Suite *
data_suite (void)
{
  Suite *s = suite_create ("data");
  TCase *tc = tcase_create ("core");

  tcase_set_timeout (tc, 120);
  tcase_add_test (tc, test_spec_defaults);
  tcase_add_test (tc, test_formula_basic);
  tcase_add_test (tc, test_determinism);
  tcase_add_test (tc, test_pykan_draw_order);
  tcase_add_test (tc, test_ranges_respected);
  tcase_add_test (tc, test_given_vars);
  tcase_add_test (tc, test_noise);
  tcase_add_test (tc, test_normalisation);
  tcase_add_test (tc, test_formula_errors);
  tcase_add_test (tc, test_csv_basic);
  tcase_add_test (tc, test_csv_targets_and_split);
  tcase_add_test (tc, test_csv_crlf_bom_quoted);
  tcase_add_test (tc, test_csv_rejects);
  tcase_add_test (tc, test_csv_binary_and_long);
  tcase_add_test (tc, test_arrays_copy_validate);
  tcase_add_test (tc, test_n_classes);
  tcase_add_test (tc, test_parse_ranges);
  tcase_add_test (tc, test_csv_names);
  tcase_add_test (tc, test_csv_separators_quotes_hex);
  tcase_add_test (tc, test_formula_names_and_ranges);
  tcase_add_test (tc, test_csv_class_names);
  tcase_add_test (tc, test_csv_class_mixed_and_errors);
  tcase_add_test (tc, test_use_classes);
  suite_add_tcase (s, tc);
  return s;
}

int
main (int    argc,
      char **argv)
{
  /* GSL's default error handler (abort) stays on: nothing here may reach it. */
  return kt_run (data_suite (), argc, argv);
}
