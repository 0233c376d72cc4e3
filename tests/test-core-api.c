/* test-core-api.c — argument checks at the public entry points of the core modules.
 *
 * A programming error (a NULL object, an index out of range, an error already set) must give
 * a critical warning and the documented failure value, as in GLib, and must not touch the
 * caller's buffers; the same calls with good arguments stay silent.
 */
#include <check.h>
#include <math.h>
#include <string.h>
#include <gsl/gsl_errno.h>

#include "kan.h"
#include "test-helpers.h"

#define EXPECT_CRITICAL KT_EXPECT_CRITICAL

START_TEST (test_checks_numerics)
{
  double t[5 + 2 * 3 + 1], b[4] = { 2.5, 2.5, 2.5, 2.5 }, coef[8] = { 0 };
  int n_out = -3;

  kt_count_criticals ();
  kan_knots_uniform (t, 5, 3, -1, 1);
  EXPECT_CRITICAL (kan_knots_uniform (NULL, 5, 3, -1, 1));
  EXPECT_CRITICAL (kan_knots_extend (t, 0, 3));
  EXPECT_CRITICAL (ck_assert_int_eq (kan_spline_basis (t, 5, KAN_SPLINE_MAX_K + 1, 0.1, b, NULL),
                                     -1));
  EXPECT_CRITICAL (ck_assert_int_eq (kan_spline_basis (NULL, 5, 3, 0.1, b, NULL), -1));
  EXPECT_CRITICAL (ck_assert (isnan (kan_spline_eval (t, 5, 3, NULL, 0.1))));
  EXPECT_CRITICAL (ck_assert (!kan_spline_fit (t, 5, 3, NULL, NULL, 4, 1, coef, NULL)));
  EXPECT_CRITICAL (ck_assert_uint_eq (kan_spline_fit_bytes (0, 3, 10, 1), 0));
  for (int r = 0; r < 4; r++)
    ck_assert (b[r] == 2.5);

  EXPECT_CRITICAL (ck_assert_ptr_null (kan_sym_expr (kan_sym_lookup ("sin"), NULL)));
  EXPECT_CRITICAL (ck_assert_ptr_null (kan_sym_parse_lib ("x,sin", NULL, NULL)));
  EXPECT_CRITICAL (ck_assert (!kan_optimizer_lookup (NULL, NULL)));
  EXPECT_CRITICAL (kan_train_config_init (NULL));
  EXPECT_CRITICAL (ck_assert_ptr_null (kan_json_root (NULL)));
  EXPECT_CRITICAL (ck_assert_int_eq (kan_json_type (NULL), KAN_JSON_NULL));
  EXPECT_CRITICAL (ck_assert (kan_json_get_double (NULL) == 0.0));
  EXPECT_CRITICAL (ck_assert_uint_eq (kan_json_length (NULL), 0));
  EXPECT_CRITICAL (ck_assert_ptr_null (kan_json_object_get (NULL, "a")));

  /* Good arguments: silent. */
  ck_assert_int_ge (kan_spline_basis (t, 5, 3, 0.1, b, NULL), 0);
  {
    g_autofree int *lib = kan_sym_parse_lib ("x,sin", &n_out, NULL);
    ck_assert_int_eq (n_out, 2);
  }
  ck_assert_int_eq (kt_criticals (), 16);
}
END_TEST

START_TEST (test_checks_model_operations)
{
  g_autoptr (KanModel) m = kt_model_new ("2,3,1", NULL, 5, 3, KAN_BASE_SILU, 1);
  g_autoptr (KanDataset) d = kt_demo_data (100, 10);
  g_autoptr (GError) set = g_error_new_literal (KAN_ERROR, KAN_ERROR_INVALID, "already set");
  g_autoptr (KanScores) s = NULL;
  KanTrainConfig cfg;
  double xs[100], ys[100];
  int n_fits = 0;

  kt_count_criticals ();
  kan_train_config_init (&cfg);
  EXPECT_CRITICAL (ck_assert_ptr_null (kan_trainer_new (m, d, &cfg, &set)));
  EXPECT_CRITICAL (ck_assert (!kan_trainer_step (NULL, NULL, NULL, NULL)));
  EXPECT_CRITICAL (ck_assert_int_eq (kan_trainer_steps_done (NULL), 0));
  EXPECT_CRITICAL (ck_assert_uint_eq (kan_trainer_bytes (m, NULL, &cfg), 0));
  EXPECT_CRITICAL (ck_assert (isnan (kan_model_loss (NULL, KAN_LOSS_MSE, d->train_x,
                                                     d->train_y, 10))));
  EXPECT_CRITICAL (ck_assert (!kan_model_edge_samples (m, NULL, 100, 0, 0, 0, xs, ys, NULL)));
  EXPECT_CRITICAL (ck_assert_ptr_null (kan_model_suggest (m, d->train_x, 100, 0, 0, 0, NULL, 0,
                                                          NULL, NULL, NULL)));
  EXPECT_CRITICAL (ck_assert (!kan_model_lock (NULL, d->train_x, 100, 0, 0, 0, "sin", NULL,
                                               NULL, NULL)));
  EXPECT_CRITICAL (kan_model_unlock (NULL, 0, 0, 0));
  EXPECT_CRITICAL (ck_assert_int_eq (kan_model_auto_symbolic (m, d->train_x, 100, NULL, 0, 0,
                                                              NULL, NULL, &set), -1));
  EXPECT_CRITICAL (ck_assert_int_eq (kan_scores_depth (NULL), 0));
  EXPECT_CRITICAL (ck_assert_ptr_null (kan_scores_inputs (NULL)));

  /* Nothing above changed the model: every edge is still a spline. */
  for (int l = 0; l < kan_model_depth (m); l++)
    for (int i = 0; i < kan_model_layer_in (m, l); i++)
      for (int j = 0; j < kan_model_layer_out (m, l); j++)
        ck_assert_int_eq (kan_model_edge_mode (m, l, i, j), KAN_EDGE_NUMERIC);

  /* Good arguments: silent. */
  s = kan_scores_compute (m, d->train_x, 100, NULL);
  ck_assert_ptr_nonnull (s);
  ck_assert_int_eq (kan_scores_depth (s), 2);
  g_free (kan_model_suggest (m, d->train_x, 100, 0, 0, 0, NULL, 0, NULL, &n_fits, NULL));
  ck_assert_int_gt (n_fits, 0);
  ck_assert_int_eq (kt_criticals (), 12);
}
END_TEST

START_TEST (test_checks_text_and_files)
{
  g_autoptr (GError) set = g_error_new_literal (KAN_ERROR, KAN_ERROR_INVALID, "already set");
  gsize len = 7;

  kt_count_criticals ();
  EXPECT_CRITICAL (ck_assert_ptr_null (kan_expr_parse (NULL, NULL, NULL, NULL)));
  EXPECT_CRITICAL (ck_assert_ptr_null (kan_expr_to_string (NULL, NULL, KAN_EXPR_STYLE_TEXT)));
  EXPECT_CRITICAL (ck_assert_ptr_null (kan_expr_simplify (NULL)));
  EXPECT_CRITICAL (ck_assert_ptr_null (kan_formula_compose (NULL, NULL, NULL)));
  EXPECT_CRITICAL (ck_assert_ptr_null (kan_dataset_from_formula (NULL, NULL)));
  EXPECT_CRITICAL (ck_assert (!kan_file_check_output ("/tmp/x", &set)));
  EXPECT_CRITICAL (ck_assert (!kan_file_replace ("/tmp/x", NULL, 3, NULL)));
  EXPECT_CRITICAL (ck_assert_ptr_null (kan_file_read (NULL, 10, &len, NULL)));
  ck_assert_uint_eq (len, 7);
  ck_assert_int_eq (kt_criticals (), 8);
}
END_TEST

/* The version macros agree with each other and order versions. */
START_TEST (test_version_macros)
{
  g_autofree char *text = g_strdup_printf ("%d.%d.%d", KAN_VERSION_MAJOR, KAN_VERSION_MINOR,
                                           KAN_VERSION_MICRO);

  ck_assert_str_eq (text, KAN_VERSION_STRING);
  ck_assert (KAN_CHECK_VERSION (KAN_VERSION_MAJOR, KAN_VERSION_MINOR, KAN_VERSION_MICRO));
  ck_assert (KAN_CHECK_VERSION (KAN_VERSION_MAJOR, KAN_VERSION_MINOR, 0));
  ck_assert (!KAN_CHECK_VERSION (KAN_VERSION_MAJOR, KAN_VERSION_MINOR, KAN_VERSION_MICRO + 1));
  ck_assert (!KAN_CHECK_VERSION (KAN_VERSION_MAJOR, KAN_VERSION_MINOR + 1, 0));
  ck_assert (!KAN_CHECK_VERSION (KAN_VERSION_MAJOR + 1, 0, 0));
}
END_TEST

static Suite *
core_api_suite (void)
{
  Suite *s = suite_create ("core-api");
  TCase *tc = tcase_create ("core");

  tcase_add_test (tc, test_checks_numerics);
  tcase_add_test (tc, test_checks_model_operations);
  tcase_add_test (tc, test_checks_text_and_files);
  tcase_add_test (tc, test_version_macros);
  suite_add_tcase (s, tc);
  return s;
}

int
main (int    argc,
      char **argv)
{
  gsl_set_error_handler_off ();
  return kt_run (core_api_suite (), argc, argv);
}
