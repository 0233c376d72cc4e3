/* test-terms.c — sparse regression on a library of terms (kan-terms.h) and its stage in
 * discover: laws that are short sums of products after a transform of y are found exactly,
 * with the fewest terms; laws that are not are refused; the found formula agrees with the law
 * on rows it was not fitted on. */
#include "test-helpers.h"

#include <gsl/gsl_rng.h>
#include <math.h>

#include "kan-data.h"
#include "kan-discover.h"
#include "kan-expr.h"
#include "kan-formula.h"
#include "kan-terms.h"

/* N train rows (and N/4 test rows) of LAW with inputs uniform on [LO, HI]. */
static KanDataset *
law_data (const char *law, double lo, double hi, size_t n, guint64 seed)
{
  return kt_formula_data (law, lo, hi, n, n / 4, seed);
}

/* Fits LAW; asserts it is found with N_TERMS terms and agrees with the law to 1e-8
 * (relative to std y) on the test rows, which the fit never saw. */
static void
expect_found (const char *law, double lo, double hi, int n_terms, const char *transform)
{
  g_autoptr (KanDataset) d = law_data (law, lo, hi, 800, 3);
  KanTermsFit fit;
  g_autofree char *text = NULL;
  double sd = kt_std (d->test_y, d->n_test, 1), worst = 0.0;

  ck_assert_msg (kan_terms_fit (d->train_x, d->n_in, d->train_y, d->n_train, d->test_x,
                                d->n_test, 1e-7, NULL, &fit),
                 "%s: no fit", law);
  text = kan_expr_to_string (fit.expr, NULL, KAN_EXPR_STYLE_TEXT);
  ck_assert_msg (fit.n_terms == n_terms, "%s: %d terms (%s), want %d", law, fit.n_terms, text,
                 n_terms);
  ck_assert_msg (g_str_has_prefix (fit.what, transform), "%s: %s, want %s", law, fit.what,
                 transform);
  ck_assert (fit.rel_rmse <= 1e-7);
  for (size_t q = 0; q < d->n_test; q++)
    worst = MAX (worst, fabs (kan_expr_eval (fit.expr, d->test_x + q * d->n_in)
                              - d->test_y[q]));
  ck_assert_msg (worst <= 1e-8 * sd, "%s: %s is off by %g on the test rows", law, text, worst);
  kan_terms_fit_clear (&fit);
}

/* A law of cosines: 1/y² is r² + d² − 2·r·d·cos α, three terms, where greedy selection alone
 * takes cos r·cos d for r² + d². */
START_TEST (test_law_of_cosines)
{
  expect_found ("1/sqrt(x1^2 + x2^2 - 2*x1*x2*cos(x3))", 0.2, 3.0, 2, "1/y^2");
}
END_TEST

/* Products of four factors, which no product of fewer predicts (every sub-product of
 * x1·x3·x4·sin x5 is uncorrelated with it when x1, x3, x4 are centred): a force q·(E + B·v·sin θ)
 * and a law of cosines with the angle between two directions written out, 2·x1·x2·cos x3·cos x4
 * + 2·x1·x2·sin x3·sin x4. */
START_TEST (test_four_factors)
{
  expect_found ("x1*(x2 + x3*x4*sin(x5))", -1.0, 1.0, 2, "y");
  expect_found ("sqrt(x1^2 + x2^2 - 2*x1*x2*cos(x3 - x4))", 0.2, 3.0, 3, "y^2");
}
END_TEST

/* Snell's law solved for the angle: sin y is one product, where |y| ≤ π/2 on every row. */
START_TEST (test_arcsine)
{
  expect_found ("asin(x1*sin(x2))", 0.1, 0.9, 1, "sin(y)");
}
END_TEST

/* A quotient: the ellipse (1 − a²)/(1 + a·cos u), one numerator term and one denominator
 * term (as y, or as its reciprocal with the two sums exchanged). */
START_TEST (test_quotient)
{
  g_autoptr (KanDataset) d = law_data ("(1 - x1^2)/(1 + x1*cos(x2))", 0.05, 0.9, 800, 5);
  KanTermsFit fit;

  ck_assert (kan_terms_fit (d->train_x, d->n_in, d->train_y, d->n_train, d->test_x, d->n_test,
                            1e-7, NULL, &fit));
  ck_assert_int_eq (fit.n_terms, 2);
  ck_assert (fit.rel_rmse <= 1e-7);
  kan_terms_fit_clear (&fit);
}
END_TEST

/* A Gaussian: log y = −x2²/(2·x1²) − log x1 + c, two terms after the log. */
START_TEST (test_gaussian)
{
  expect_found ("exp(-x2^2/(2*x1^2))/x1", 1.0, 3.0, 2, "log|y|");
}
END_TEST

/* A plain sum stays a sum: three terms as y. */
START_TEST (test_sum)
{
  expect_found ("x1*x2 + sin(x3) + 2*x1^2", -2.0, 2.0, 3, "y");
}
END_TEST

/* Laws outside the library are refused, not approximated: tanh is no term, and sin(x1·x2) is
 * no product of functions of one input each. */
START_TEST (test_refuses)
{
  static const char *const laws[] = { "tanh(3*x1)*x2 + x3", "sin(x1*x2) + x1" };

  for (guint k = 0; k < G_N_ELEMENTS (laws); k++)
    {
      g_autoptr (KanDataset) d = law_data (laws[k], 0.5, 2.5, 600, 7);
      KanTermsFit fit;
      gboolean found = kan_terms_fit (d->train_x, d->n_in, d->train_y, d->n_train, d->test_x,
                                      d->n_test, 1e-7, NULL, &fit);
      ck_assert_msg (!found, "%s fitted as %s", laws[k], found ? fit.what : "");
      ck_assert (fit.expr == NULL && fit.what == NULL);
    }
}
END_TEST

/* Shapes it does not take, and a cancelled search, return FALSE with nothing to free. */
START_TEST (test_limits)
{
  g_autoptr (KanDataset) d = law_data ("x1 + x2", 0.5, 2.5, 400, 9);
  g_autoptr (GCancellable) stop = g_cancellable_new ();
  KanTermsFit fit;

  ck_assert (!kan_terms_fit (d->train_x, 0, d->train_y, d->n_train, NULL, 0, 1e-7, NULL, &fit));
  ck_assert (!kan_terms_fit (d->train_x, d->n_in, d->train_y, 10, NULL, 0, 1e-7, NULL, &fit));
  g_cancellable_cancel (stop);
  ck_assert (!kan_terms_fit (d->train_x, d->n_in, d->train_y, d->n_train, d->test_x, d->n_test,
                             1e-7, stop, &fit));
  ck_assert (fit.expr == NULL);
}
END_TEST

/* In discover (four inputs: the stage comes right after the monomial one), the terms stage
 * ends the search with the exact law, and says so in its stages. */
START_TEST (test_discover_stage)
{
  g_autoptr (KanDataset) d = law_data ("1/sqrt(x1^2 + x2^2 - 2*x1*x2*cos(x3) + x4^2)", 0.2, 3.0,
                                       800, 11);
  g_autoptr (KanDiscoverResult) r = NULL;
  GError *error = NULL;
  gboolean staged = FALSE;

  ck_assert_msg (kan_discover (d, NULL, &r, &error), "%s", error ? error->message : "");
  for (guint q = 0; q < r->stages->len; q++)
    {
      const KanDiscoverStage *st = r->stages->pdata[q];
      staged = staged || (strcmp (st->stage, "terms") == 0 && st->detail
                          && strstr (st->detail, "1/y^2 as 3 terms"));
    }
  ck_assert_msg (staged, "no terms stage found the law (the answer: %s)", r->best->text);
  ck_assert_msg (r->exact, "%s is not exact", r->best->text);
  ck_assert_str_eq (r->best->width, "terms");
  ck_assert_int_le (r->best->complexity, 30);
}
END_TEST

static Suite *
terms_suite (void)
{
  Suite *s = suite_create ("terms");
  TCase *tc = tcase_create ("core");

  tcase_set_timeout (tc, 300);
  tcase_add_test (tc, test_law_of_cosines);
  tcase_add_test (tc, test_four_factors);
  tcase_add_test (tc, test_arcsine);
  tcase_add_test (tc, test_quotient);
  tcase_add_test (tc, test_gaussian);
  tcase_add_test (tc, test_sum);
  tcase_add_test (tc, test_refuses);
  tcase_add_test (tc, test_limits);
  tcase_add_test (tc, test_discover_stage);
  suite_add_tcase (s, tc);
  return s;
}

int
main (int    argc,
      char **argv)
{
  gsl_set_error_handler_off ();
  return kt_run (terms_suite (), argc, argv);
}
