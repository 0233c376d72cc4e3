/* test-model-api.c — the model's public accessors: shapes, knot ranges, sizes, bounds checks.
 *
 * ui/ and programs outside Kanvas read a model only through kan-model.h; these tests hold the
 * accessors to the private layout they summarise, and check that an index out of range is a
 * critical with a harmless result rather than a read past an array.
 */
#include <check.h>
#include <math.h>
#include <string.h>
#include <gsl/gsl_errno.h>

#include "kan-model-private.h"
#include "kan-symbolic.h"
#include "test-helpers.h"

static KanModel *
model_new (const char *width, const char *arity, int G)
{
  return kt_model_new (width, arity, G, 3, KAN_BASE_SILU, 7);
}

START_TEST (test_shape_accessors)
{
  g_autoptr (KanModel) m = model_new ("2,[3,2],[1,1]", "2,3,4", 4);
  const KanShape *s = kan_model_shape (m);

  ck_assert_int_eq (kan_shape_n_sum (s, 0), 2);
  ck_assert_int_eq (kan_shape_n_mult (s, 0), 0);
  ck_assert_int_eq (kan_shape_n_sum (s, 1), 3);
  ck_assert_int_eq (kan_shape_n_mult (s, 1), 2);
  ck_assert_int_eq (kan_shape_arity (s, 1, 0), 2);
  ck_assert_int_eq (kan_shape_arity (s, 1, 1), 3);
  ck_assert_int_eq (kan_shape_n_sum (s, 2), 1);
  ck_assert_int_eq (kan_shape_n_mult (s, 2), 1);
  ck_assert_int_eq (kan_shape_arity (s, 2, 0), 4);
  ck_assert_int_eq (kan_shape_subnodes (s, 1), 3 + 2 + 3);
  ck_assert_int_eq (kan_shape_subnodes (s, 2), 1 + 4);

  /* The subnode → node map is the grouping the forward pass multiplies by. */
  for (int l = 1; l < s->n_layers; l++)
    {
      const KanLayer *L = &m->layers[l - 1];
      for (int q = 0; q < L->n_next; q++)
        for (int j = L->group_start[q]; j < L->group_start[q + 1]; j++)
          ck_assert_int_eq (kan_shape_subnode_node (s, l, j), q);
      ck_assert_int_eq (kan_shape_subnode_node (s, l, L->n_out), -1);
      ck_assert_int_eq (kan_shape_subnode_node (s, l, -1), -1);
    }
  /* Input nodes are their own subnodes. */
  ck_assert_int_eq (kan_shape_subnode_node (s, 0, 1), 1);
  ck_assert_int_eq (kan_shape_subnode_node (s, 0, 2), -1);
}
END_TEST

START_TEST (test_knot_range)
{
  g_autoptr (KanModel) m = model_new ("2,3,1", NULL, 5);
  g_autoptr (GError) error = NULL;
  double x[40 * 2], range[2];

  for (int l = 0; l < kan_model_depth (m); l++)
    for (int i = 0; i < kan_model_layer_in (m, l); i++)
      {
        const double *t = kan_layer_knots (m, &m->layers[l], i);
        kan_model_knot_range (m, l, i, range);
        ck_assert (range[0] == t[m->k] && range[1] == t[m->G + m->k]);
        ck_assert_double_eq_tol (range[0], -1.0, 1e-12);
        ck_assert_double_eq_tol (range[1], 1.0, 1e-12);
      }

  /* After a grid update, layer 0's grid spans the samples exactly. */
  for (int b = 0; b < 40; b++)
    {
      x[2 * b] = 0.37 + 2.385 * b / 39.0;
      x[2 * b + 1] = -3.1 + 0.05 * ((b * 7) % 40);
    }
  ck_assert_msg (kan_model_update_grid (m, x, 40, &error), "%s", error ? error->message : "");
  kan_model_knot_range (m, 0, 0, range);
  ck_assert (range[0] == 0.37 && range[1] == x[2 * 39]);
  kan_model_knot_range (m, 0, 1, range);
  ck_assert (range[0] == -3.1 && range[1] == -3.1 + 0.05 * 39);
}
END_TEST

/* The size a configuration predicts is the size the model it makes reports. */
START_TEST (test_one_size_formula)
{
  static const struct { const char *width, *arity; int G; } cases[] = {
    { "2,5,1", NULL, 5 }, { "3,[2,2],[1,1]", "3,2,2", 7 }, { "1,1", NULL, 1 },
  };

  for (gsize c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      g_autoptr (KanModel) m = model_new (cases[c].width, cases[c].arity, cases[c].G);
      KanModelConfig cfg;

      kan_model_config_init (&cfg);
      cfg.shape = kan_model_shape (m);
      cfg.grid = cases[c].G;
      ck_assert_uint_eq (kan_model_config_bytes (&cfg), kan_model_bytes (m));
      ck_assert_uint_ge (kan_model_bytes (m),
                         (m->n_params + m->n_state_d) * sizeof (double)
                         + m->n_state_i * sizeof (int));
    }

  /* A model far beyond any budget still gets its real size (budget errors quote it), and only
   * an absurd one saturates. */
  {
    g_autoptr (KanShape) s = kan_shape_parse ("2,1000000,1000000,1", NULL, NULL);
    KanModelConfig cfg;
    gsize bytes;

    kan_model_config_init (&cfg);
    cfg.shape = s;
    cfg.grid = 3;
    bytes = kan_model_config_bytes (&cfg);
    /* 10¹² edges, each 14 doubles (G+k coefficients, 2 scales, 4 affine, 2 masks) and an int. */
    ck_assert_uint_gt (bytes, (gsize) 116 * 1000000 * (gsize) 1000000);
    ck_assert_uint_lt (bytes, (gsize) 117 * 1000000 * (gsize) 1000000);
    cfg.grid = 100000;
    ck_assert_uint_eq (kan_model_config_bytes (&cfg), G_MAXSIZE);
  }
}
END_TEST

/* kan_model_get_config gives back every setting, and a model allocated from it has M's layout. */
START_TEST (test_get_config)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (KanShape) s = kan_shape_parse ("3,[2,1],2", "3", &error);
  g_autoptr (KanModel) m = NULL, c = NULL;
  KanModelConfig cfg, got;

  kan_model_config_init (&cfg);
  cfg.shape = s;
  cfg.grid = 6;
  cfg.k = 2;
  cfg.noise_scale = 0.17;
  cfg.scale_base_mu = 0.25;
  cfg.scale_base_sigma = 0.6;
  cfg.base_fun = KAN_BASE_IDENTITY;
  cfg.grid_eps = 0.4;
  cfg.grid_range[0] = -2.5;
  cfg.grid_range[1] = 3.25;
  cfg.sp_trainable = FALSE;
  cfg.sb_trainable = FALSE;
  cfg.affine_trainable = TRUE;
  cfg.seed = 99;
  m = kan_model_new (&cfg, &error);
  ck_assert_msg (m != NULL, "%s", error ? error->message : "");

  kan_model_get_config (m, &got);
  ck_assert_ptr_eq (got.shape, kan_model_shape (m));
  ck_assert_int_eq (got.grid, 6);
  ck_assert_int_eq (got.k, 2);
  ck_assert (got.noise_scale == 0.17 && got.scale_base_mu == 0.25 && got.scale_base_sigma == 0.6);
  ck_assert_int_eq (got.base_fun, KAN_BASE_IDENTITY);
  ck_assert (got.grid_eps == 0.4 && got.grid_range[0] == -2.5 && got.grid_range[1] == 3.25);
  ck_assert (!got.sp_trainable && !got.sb_trainable && got.affine_trainable);
  ck_assert (!got.sparse_init);
  ck_assert_uint_eq (got.seed, 99);

  c = kan_model_alloc (&got, &error);
  ck_assert_msg (c != NULL, "%s", error ? error->message : "");
  ck_assert_uint_eq (kan_model_n_params (c), kan_model_n_params (m));
  ck_assert_uint_eq (kan_model_bytes (c), kan_model_bytes (m));
  ck_assert_uint_eq (kan_model_config_bytes (&got), kan_model_bytes (m));
}
END_TEST

/* Each call below is out of range: a critical, a documented default, and no write. */
START_TEST (test_bounds_checked)
{
  g_autoptr (KanModel) m = model_new ("2,[2,1],1", "2", 3);
  g_autoptr (KanWork) w = kan_work_new (m, 4);
  const KanShape *s = kan_model_shape (m);
  double abcd[4] = { 2.5, 2.5, 2.5, 2.5 }, range[2] = { 7.5, 7.5 }, ys[3] = { 1.5, 1.5, 1.5 };
  double xs[3] = { 0.1, 0.2, 0.3 };
  int D = kan_model_depth (m), expected;

  kt_count_criticals ();
  KT_EXPECT_CRITICAL (ck_assert_int_eq (kan_model_layer_in (m, D), 0));
  KT_EXPECT_CRITICAL (ck_assert_int_eq (kan_model_layer_out (m, -1), 0));
  KT_EXPECT_CRITICAL (ck_assert_int_eq (kan_model_edge_mode (m, 0, 2, 0), KAN_EDGE_OFF));
  KT_EXPECT_CRITICAL (ck_assert_int_eq (kan_model_edge_mode (m, 0, 0, 4), KAN_EDGE_OFF));
  KT_EXPECT_CRITICAL (ck_assert_int_eq (kan_model_edge_sym (m, D, 0, 0), kan_sym_zero ()));
  KT_EXPECT_CRITICAL (kan_model_edge_abcd (m, 1, 0, 1, abcd));
  KT_EXPECT_CRITICAL (kan_model_knot_range (m, 0, 2, range));
  KT_EXPECT_CRITICAL (kan_model_edge_eval (m, 0, -1, 0, xs, 3, ys));
  KT_EXPECT_CRITICAL (kan_model_set_edge (m, 0, 0, 4, KAN_EDGE_OFF, 0, NULL));
  KT_EXPECT_CRITICAL (ck_assert_ptr_null (kan_work_layer_input (w, D)));
  KT_EXPECT_CRITICAL (ck_assert_ptr_null (kan_work_edge_output (w, -1)));
  KT_EXPECT_CRITICAL (ck_assert_int_eq (kan_shape_arity (s, 1, 1), 0));
  KT_EXPECT_CRITICAL (ck_assert_int_eq (kan_shape_n_sum (s, s->n_layers), 0));
  KT_EXPECT_CRITICAL (ck_assert_int_eq (kan_shape_nodes (s, -1), 0));
  KT_EXPECT_CRITICAL (ck_assert_int_eq (kan_shape_subnode_node (s, 3, 0), -1));
  KT_EXPECT_CRITICAL (ck_assert_ptr_null (kan_model_shape (NULL)));
  KT_EXPECT_CRITICAL (ck_assert_ptr_null (kan_model_copy (NULL)));
  KT_EXPECT_CRITICAL (ck_assert_int_eq (kan_model_depth (NULL), 0));
  expected = kt_criticals ();

  for (int q = 0; q < 4; q++)
    ck_assert (abcd[q] == 2.5);
  ck_assert (range[0] == 7.5 && range[1] == 7.5);
  for (int q = 0; q < 3; q++)
    ck_assert (ys[q] == 1.5);
  ck_assert_int_eq (kan_model_edge_mode (m, 0, 0, 2), KAN_EDGE_NUMERIC);

  /* In range, the same calls are silent. */
  kan_model_edge_abcd (m, 0, 1, 2, abcd);
  kan_model_knot_range (m, 0, 1, range);
  kan_model_edge_eval (m, 0, 1, 0, xs, 3, ys);
  ck_assert_int_eq (kan_shape_arity (s, 1, 0), 2);
  ck_assert_int_eq (kt_criticals (), expected);
}
END_TEST

static Suite *
model_api_suite (void)
{
  Suite *s = suite_create ("model-api");
  TCase *tc = tcase_create ("api");

  tcase_add_test (tc, test_shape_accessors);
  tcase_add_test (tc, test_knot_range);
  tcase_add_test (tc, test_one_size_formula);
  tcase_add_test (tc, test_get_config);
  tcase_add_test (tc, test_bounds_checked);
  suite_add_tcase (s, tc);
  return s;
}

int
main (int    argc,
      char **argv)
{
  gsl_set_error_handler_off ();
  return kt_run (model_api_suite (), argc, argv);
}
