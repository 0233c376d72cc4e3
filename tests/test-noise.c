/* test-noise.c — discovery on noisy labels: simple values within the noise, snapping that the
 * data allow and no more, degenerate edge fits, the demo under noise, and a search whose
 * result does not depend on the number of threads.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <gsl/gsl_errno.h>

#include "kan.h"
#include "test-helpers.h"
#include "kan-noise.h"

static KanDataset *
noisy (const char *formula, double noise, guint64 seed)
{
  KanFormulaSpec spec;
  GError *error = NULL;
  KanDataset *d;

  kan_formula_spec_init (&spec);
  spec.formula = formula;
  spec.n_train = 1000;
  spec.n_test = 1000;
  spec.noise = noise;
  spec.seed = seed;
  d = kan_dataset_from_formula (&spec, &error);
  ck_assert_msg (d != NULL, "%s: %s", formula, error ? error->message : "");
  return d;
}

/* E parsed over x1, x2, noise-snapped on D's train rows, printed. */
static char *
snap_text (const char *text, const KanDataset *d, KanExprFit **fit)
{
  const char *const names[] = { "x1", "x2", NULL };
  KanCanonRows rows = { d->train_x, d->n_in, d->train_y, d->n_train,
                        kt_std (d->train_y, d->n_train, 1) };
  GError *error = NULL;
  KanExpr *e = kan_expr_parse (text, names, NULL, &error);
  char *out;

  ck_assert_msg (e != NULL, "%s", error ? error->message : "");
  e = kan_noise_snap (e, &rows, fit);
  e = kan_canon_polish (e, &rows, 1e-9);
  out = kan_expr_to_string (e, names, KAN_EXPR_STYLE_TEXT);
  kan_expr_free (e);
  return out;
}

START_TEST (test_simple_value)
{
  double v;

  ck_assert (kan_noise_simple_value (0.004, 0.01, &v) && v == 0.0);
  ck_assert (kan_noise_simple_value (2.003, 0.01, &v) && v == 2.0);
  ck_assert (kan_noise_simple_value (0.3338, 0.001, &v) && fabs (v - 1.0 / 3) < 1e-15);
  ck_assert (kan_noise_simple_value (3.1381, 0.01, &v) && fabs (v - M_PI) < 1e-15);
  ck_assert (kan_noise_simple_value (0.1502, 0.0005, &v) && fabs (v - 0.15) < 1e-15);
  /* Nothing simple within a tight window; NaN never snaps. */
  ck_assert (!kan_noise_simple_value (0.7231, 1e-6, &v));
  ck_assert (!kan_noise_simple_value (NAN, 1.0, &v));
  /* The simplest value wins: 1 before 0.99 (a decimal) for 0.993 ± 0.01. */
  ck_assert (kan_noise_simple_value (0.993, 0.01, &v) && v == 1.0);
}
END_TEST

/* Noisy labels: constants within their errors of simple values snap, offsets of the order
 * of their errors vanish. */
START_TEST (test_snap_noisy)
{
  g_autoptr (KanDataset) d = noisy ("2.5*x1 + x2^2", 0.05, 3);
  g_autofree char *t = snap_text ("2.4987*x1 + 1.0021*(x2 - 0.0013)^2 + 0.0011", d, NULL);

  ck_assert_str_eq (t, "2.5*x1 + x2^2");
}
END_TEST

/* Noise-free labels of a constant that is not simple: nothing snaps, the fit finds it. */
START_TEST (test_snap_exact_data)
{
  g_autoptr (KanDataset) d = noisy ("0.7231*x1 + x2", 0.0, 4);
  KanExprFit *fit = NULL;
  g_autofree char *t = snap_text ("0.72*x1 + x2", d, &fit);

  ck_assert_str_eq (t, "0.7231*x1 + x2");
  ck_assert_ptr_nonnull (fit);
  kan_expr_fit_free (fit);
}
END_TEST

/* A real effect several standard errors away from a simple value is kept. */
START_TEST (test_snap_keeps_effect)
{
  g_autoptr (KanDataset) d = noisy ("1.05*x1 + x2", 0.01, 5);
  g_autofree char *t = snap_text ("1.05*x1 + x2", d, NULL);

  ck_assert_str_eq (t, "1.05*x1 + x2");
}
END_TEST

/* The value at x1 = A, x2 = B of TEXT (a formula over x1, x2). */
static double
value_at (const char *text, double a, double b)
{
  const char *const names[] = { "x1", "x2", NULL };
  const double x[2] = { a, b };
  g_autoptr (KanExpr) e = kan_expr_parse (text, names, NULL, NULL);

  ck_assert_ptr_nonnull (e);
  return kan_expr_eval (e, x);
}

/* Two coefficients that agree within their errors under noise are tied at one short decimal
 * (three free constants become one); on noise-free data, or where they differ by more than
 * the noise allows, they stay apart. */
START_TEST (test_tie_constants)
{
  {
    g_autoptr (KanDataset) d = noisy ("0.7231*x1 + 0.7231*x2^2", 0.01, 6);
    g_autofree char *t = snap_text ("0.7229*x1 + 0.7236*x2^2", d, NULL);
    double c1 = value_at (t, 1, 0), c2 = value_at (t, 0, 1);
    ck_assert_msg (c1 == c2 && fabs (c1 - 0.7231) < 2e-3, "%s", t);
  }
  {
    g_autoptr (KanDataset) d = noisy ("0.7231*x1 + 0.7236*x2^2", 0.0, 6);
    g_autofree char *t = snap_text ("0.7231*x1 + 0.7236*x2^2", d, NULL);
    ck_assert_msg (value_at (t, 1, 0) != value_at (t, 0, 1), "%s", t);
  }
  {
    g_autoptr (KanDataset) d = noisy ("0.7031*x1 + 0.7531*x2^2", 0.01, 6);
    g_autofree char *t = snap_text ("0.7031*x1 + 0.7531*x2^2", d, NULL);
    ck_assert_msg (fabs (value_at (t, 1, 0) - value_at (t, 0, 1)) > 0.03, "%s", t);
  }
}
END_TEST

/* x² data: a sin fitted over a sliver of its period matches them as well as x² does; it is
 * degenerate and never ranks first, whatever the order of the library. */
START_TEST (test_degenerate_fit)
{
  double x[200], y[200];
  int lib[2] = { kan_sym_lookup ("sin"), kan_sym_lookup ("x^2") }, n = 0;
  KanSymFit *fits;
  GError *error = NULL;

  for (int q = 0; q < 200; q++)
    {
      x[q] = -1.0 + 2.0 * q / 199.0;
      y[q] = x[q] * x[q];
    }
  fits = kan_symfit_suggest (x, y, 200, lib, 2, NULL, &n, &error);
  ck_assert_ptr_nonnull (fits);
  ck_assert_int_eq (n, 2);
  ck_assert_str_eq (kan_sym_info (fits[0].sym_id)->name, "x^2");
  ck_assert (!fits[0].degenerate);
  if (fits[1].r2 > 0.999)
    ck_assert (fits[1].degenerate);
  g_free (fits);
}
END_TEST

static void
check_demo (double noise)
{
  g_autoptr (KanDataset) d = noisy ("exp(sin(pi*x1)+x2^2)", noise, 0);
  g_autoptr (KanDiscoverResult) r = NULL;
  KanDiscoverOptions o;
  GError *error = NULL;

  kan_discover_options_init (&o);
  o.time_limit = 120;
  ck_assert_msg (kan_discover (d, &o, &r, &error), "%s", error ? error->message : "");
  printf ("noise %g: %s (noise estimate %.3g, %s)\n", noise, r->best->text, r->noise,
          r->within_noise ? "within noise" : "not within noise");
  ck_assert_str_eq (r->best->text, "exp(sin(pi*x1) + x2^2)");
  ck_assert (r->within_noise);
  /* The estimate is of the noise added: noise·std(y) (within 20 %). */
  ck_assert_double_le (fabs (r->noise / (noise * kt_std (d->train_y, d->n_train, 1)) - 1.0),
                       0.2);
}

START_TEST (test_demo_noise_001)
{
  check_demo (0.01);
}
END_TEST

START_TEST (test_demo_noise_01)
{
  check_demo (0.1);
}
END_TEST

/* Seeds run side by side give the result one thread gives. */
START_TEST (test_threads_same_result)
{
  g_autoptr (KanDataset) d = noisy ("x1*x2 + sin(x1)", 0.0, 6);
  g_autoptr (KanDiscoverResult) r1 = NULL, r2 = NULL;
  KanDiscoverOptions o;
  const char *const widths[] = { "2,2,1", "2,3,1", NULL };
  GError *error = NULL;

  kan_discover_options_init (&o);
  o.widths = widths;
  o.n_seeds = 3;
  o.threads = 1;
  ck_assert (kan_discover (d, &o, &r1, &error));
  o.threads = 3;
  ck_assert (kan_discover (d, &o, &r2, &error));
  ck_assert_str_eq (r1->best->text, r2->best->text);
  ck_assert_int_eq (r1->n_candidates, r2->n_candidates);
  ck_assert_int_eq (r1->stages->len, r2->stages->len);
  for (guint q = 0; q < r1->stages->len; q++)
    {
      const KanDiscoverStage *a = r1->stages->pdata[q], *b = r2->stages->pdata[q];
      ck_assert_str_eq (a->stage, b->stage);
      ck_assert (a->seed == b->seed);
      ck_assert (a->test_rmse == b->test_rmse || (isnan (a->test_rmse) && isnan (b->test_rmse)));
    }
}
END_TEST

/* Progress reaches the caller after every stage, with the candidates so far. */
static void
count_progress (const KanDiscoverProgress *p, gpointer data)
{
  int *calls = data;

  ck_assert_ptr_nonnull (p->stage);
  ck_assert_int_ge (p->n_candidates, 0);
  ck_assert (p->seconds >= 0.0);
  (*calls)++;
}

START_TEST (test_progress)
{
  g_autoptr (KanDataset) d = noisy ("x1*x2 + sin(x1)", 0.0, 6);
  g_autoptr (KanDiscoverResult) r = NULL;
  KanDiscoverOptions o;
  const char *const widths[] = { "2,2,1", NULL };
  int calls = 0;
  GError *error = NULL;

  kan_discover_options_init (&o);
  o.widths = widths;
  o.n_seeds = 2;
  o.progress = count_progress;
  o.progress_data = &calls;
  ck_assert (kan_discover (d, &o, &r, &error));
  ck_assert_int_eq (calls, (int) r->stages->len);
}
END_TEST

/* A noisy monomial: the monomial stage's weighted fit finds it, the noise probe's general
 * network says it is within the noise, and the search stops there, before the ladder's wider
 * widths. */
START_TEST (test_noisy_monomial_stops_early)
{
  g_autoptr (KanDataset) d = noisy ("1.5*x1*x2^2", 0.01, 3);
  g_autoptr (KanDiscoverResult) r = NULL;
  GError *error = NULL;
  gboolean probed = FALSE;

  ck_assert_msg (kan_discover (d, NULL, &r, &error), "%s", error ? error->message : "");
  for (guint q = 0; q < r->stages->len; q++)
    probed |= strcmp (((KanDiscoverStage *) r->stages->pdata[q])->stage, "noise probe") == 0;
  ck_assert (probed);
  ck_assert_str_eq (r->best->text, "1.5*x1*x2^2");
  ck_assert (r->within_noise);
  ck_assert_int_le (r->n_candidates, 5);
}
END_TEST

static Suite *
noise_suite (void)
{
  Suite *s = suite_create ("noise");
  TCase *tc = tcase_create ("snap");
  TCase *td = tcase_create ("discover");

  tcase_add_test (tc, test_simple_value);
  tcase_add_test (tc, test_snap_noisy);
  tcase_add_test (tc, test_snap_exact_data);
  tcase_add_test (tc, test_snap_keeps_effect);
  tcase_add_test (tc, test_degenerate_fit);
  tcase_add_test (tc, test_tie_constants);
  suite_add_tcase (s, tc);
  tcase_set_timeout (td, 600);
  tcase_add_test (td, test_demo_noise_001);
  tcase_add_test (td, test_demo_noise_01);
  tcase_add_test (td, test_threads_same_result);
  tcase_add_test (td, test_progress);
  tcase_add_test (td, test_noisy_monomial_stops_early);
  suite_add_tcase (s, td);
  return s;
}

int
main (int argc, char **argv)
{
  gsl_set_error_handler_off ();
  return kt_run (noise_suite (), argc, argv);
}
