/* test-session.c — session documents: exact round trips, atomic saves, and every way loading
 * refuses a bad file. */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "kan-error.h"
#include "kan-formula.h"
#include "kan-model-private.h"
#include "kan-session.h"
#include "kan-symbolic.h"
#include "test-helpers.h"

/* ------------------------------------------------------------------------------------------ */
/* Fixtures                                                                                   */
/* ------------------------------------------------------------------------------------------ */

/* Moves every parameter and knot away from its initial value with high-entropy numbers, so a
 * round trip that loses a bit anywhere shows. Knots stay increasing. */
static void
scramble_model (KanModel *m,
                guint32   seed)
{
  GRand *r = g_rand_new_with_seed (seed);

  for (size_t q = 0; q < m->n_params; q++)
    m->params[q] += g_rand_double_range (r, -0.7, 0.7) * (1 + q % 3);
  for (int l = 0; l < m->depth; l++)
    {
      KanLayer *L = &m->layers[l];
      double h = (m->grid_range[1] - m->grid_range[0]) / m->G;

      for (int i = 0; i < L->n_in; i++)
        {
          double *t = kan_layer_knots (m, L, i);

          for (int q = 0; q < m->G + 2 * m->k + 1; q++)
            t[q] += g_rand_double_range (r, -0.2, 0.2) * h;
        }
    }
  g_rand_free (r);
}

static KanModel *
make_model (const char *width,
            const char *arity,
            guint64     seed)
{
  g_autoptr (KanShape) shape = NULL;
  g_autoptr (GError) error = NULL;
  KanModelConfig cfg;
  KanModel *m;
  const double abcd_sin[4] = { 2.385, -0.3125, 1.7071, 0.25 };
  const double abcd_x2[4] = { 0.9137, 0.1, -1.25, 3.0e-7 };

  shape = kan_shape_parse (width, arity, &error);
  ck_assert_msg (shape != NULL, "%s", error ? error->message : "");
  kan_model_config_init (&cfg);
  cfg.shape = shape;
  cfg.grid = 5;
  cfg.k = 3;
  cfg.seed = seed;
  cfg.grid_eps = 0.05;
  cfg.grid_range[0] = -1.5;
  cfg.grid_range[1] = 2.25;
  m = kan_model_new (&cfg, &error);
  ck_assert_msg (m != NULL, "%s", error ? error->message : "");
  scramble_model (m, (guint32) seed);

  kan_model_set_edge (m, 0, 0, 1, KAN_EDGE_SYMBOLIC, kan_sym_lookup ("sin"), abcd_sin);
  kan_model_set_edge (m, 0, 1, 2, KAN_EDGE_BOTH, kan_sym_lookup ("x^2"), abcd_x2);
  kan_model_set_edge (m, 0, 1, 0, KAN_EDGE_OFF, 0, NULL);
  kan_model_set_edge (m, 1, 1, 0, KAN_EDGE_OFF, 0, NULL);
  kan_model_set_edge (m, 1, 0, 0, KAN_EDGE_SYMBOLIC, kan_sym_lookup ("besselj0"), abcd_sin);
  return m;
}

static KanDataset *
make_formula_data (void)
{
  g_autoptr (GError) error = NULL;
  KanFormulaSpec spec;
  const double ranges[4] = { -1.0, 1.0, -0.5, 2.0 };
  KanDataset *d;

  kan_formula_spec_init (&spec);
  spec.formula = "exp(sin(pi*x1)+x2^2)";
  spec.ranges = ranges;
  spec.n_ranges = 2;
  spec.n_train = 120;
  spec.n_test = 40;
  spec.noise = 0.01;
  spec.seed = 11;
  spec.normalize_input = TRUE;
  d = kan_dataset_from_formula (&spec, &error);
  ck_assert_msg (d != NULL, "%s", error ? error->message : "");
  return d;
}

/* A CSV file read through the data module, with a target column that is not last. */
static KanDataset *
make_csv_data (const char *dir)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = g_build_filename (dir, "points.csv", NULL);
  g_autoptr (GString) text = g_string_new ("a,y,b\n");
  GRand *r = g_rand_new_with_seed (5);
  KanDataset *d;

  for (int i = 0; i < 60; i++)
    {
      char x1[G_ASCII_DTOSTR_BUF_SIZE], x2[G_ASCII_DTOSTR_BUF_SIZE], y[G_ASCII_DTOSTR_BUF_SIZE];
      double a = g_rand_double_range (r, -1, 1), b = g_rand_double_range (r, -1, 1);

      g_ascii_dtostr (x1, sizeof x1, a);
      g_ascii_dtostr (x2, sizeof x2, b);
      g_ascii_dtostr (y, sizeof y, a * b + 0.1 * a);
      g_string_append_printf (text, "%s,%s,%s\n", x1, y, x2);
    }
  g_rand_free (r);
  ck_assert (g_file_set_contents (path, text->str, -1, NULL));
  d = kan_dataset_from_csv (path, "y", 0.25, 3, &error);
  ck_assert_msg (d != NULL, "%s", error ? error->message : "");
  ck_assert_int_eq (d->source, KAN_DATA_CSV);
  return d;
}

/* A data set given as arrays, with normalisation statistics attached. */
static KanDataset *
make_array_data (void)
{
  double tx[30 * 2], ty[30], vx[10 * 2], vy[10];
  const char *const in_names[] = { "p", "q", NULL };
  const char *const out_names[] = { "f", NULL };
  GRand *r = g_rand_new_with_seed (9);
  KanDataset *d;

  for (int i = 0; i < 60; i++)
    tx[i] = g_rand_double_range (r, -3, 3);
  for (int i = 0; i < 30; i++)
    ty[i] = tx[2 * i] * tx[2 * i + 1] / 7.0;
  for (int i = 0; i < 20; i++)
    vx[i] = g_rand_double_range (r, -3, 3);
  for (int i = 0; i < 10; i++)
    vy[i] = vx[2 * i] - vx[2 * i + 1] / 3.0;
  g_rand_free (r);
  d = kan_dataset_new_arrays (2, 1, 30, 10, tx, ty, vx, vy, in_names, out_names);
  d->in_mean = g_new (double, 2);
  d->in_std = g_new (double, 2);
  d->in_mean[0] = 0.123456789;
  d->in_mean[1] = -1.0 / 3.0;
  d->in_std[0] = 1.7320508075688772;
  d->in_std[1] = 0.1;
  return d;
}

static KanSession *
make_session (const char *width,
              const char *arity,
              KanDataset *data)
{
  KanSession *s = kan_session_new ();

  s->model = make_model (width, arity, 42);
  s->data = data;
  s->train.opt = KAN_OPT_ADAM;
  s->train.lr = 0.01;
  s->train.lamb = 0.001;
  s->train.batch = 32;
  s->train.seed = G_GUINT64_CONSTANT (18446744073709551557); /* above 2^63 */
  s->train.steps = 77;
  s->steps_done = 17;
  kan_session_add_history (s, "new", "width=2,5,1 grid=5", NAN, NAN);
  kan_session_add_history (s, "fit", "steps=50 opt=\"lbfgs\"\tλ=0.001\n", 0.0123, 0.0456);
  kan_session_add_history (s, "lock", NULL, 1.0 / 3.0, NAN);
  return s;
}

static char *
make_tmpdir (void)
{
  g_autoptr (GError) error = NULL;
  char *dir = g_dir_make_tmp ("kanvas-session-XXXXXX", &error);

  ck_assert_msg (dir != NULL, "%s", error ? error->message : "");
  return dir;
}

static void
remove_tree (const char *dir)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  const char *name;

  if (d == NULL)
    return;
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *p = g_build_filename (dir, name, NULL);
      g_remove (p);
    }
  g_dir_close (d);
  g_rmdir (dir);
}

/* ------------------------------------------------------------------------------------------ */
/* Comparisons                                                                                */
/* ------------------------------------------------------------------------------------------ */

#define ck_assert_error(e, domain, code_) \
  ck_assert_msg (g_error_matches ((e), (domain), (code_)), "expected error %d, got %s", \
                 (int) (code_), (e) ? (e)->message : "no error")

#define ck_assert_bits_eq(a, b, n) \
  ck_assert_msg (memcmp ((a), (b), sizeof *(a) * (n)) == 0, "%s differs from %s", #a, #b)

static void
assert_models_equal (const KanModel *a,
                     const KanModel *b)
{
  g_autofree char *wa = kan_shape_to_string (a->shape);
  g_autofree char *wb = kan_shape_to_string (b->shape);
  const KanShape *sa = a->shape, *sb = b->shape;

  ck_assert_str_eq (wa, wb);
  for (int l = 0; l < sa->n_layers; l++)
    for (int q = 0; q < sa->n_mult[l]; q++)
      ck_assert_int_eq (sa->arity[l][q], sb->arity[l][q]);
  ck_assert_int_eq (a->depth, b->depth);
  ck_assert_int_eq (a->G, b->G);
  ck_assert_int_eq (a->k, b->k);
  ck_assert_int_eq (a->base_fun, b->base_fun);
  ck_assert_bits_eq (&a->grid_eps, &b->grid_eps, 1);
  ck_assert_bits_eq (a->grid_range, b->grid_range, 2);
  ck_assert_int_eq (a->sp_trainable, b->sp_trainable);
  ck_assert_int_eq (a->sb_trainable, b->sb_trainable);
  ck_assert_int_eq (a->affine_trainable, b->affine_trainable);
  ck_assert_bits_eq (&a->noise_scale, &b->noise_scale, 1);
  ck_assert_bits_eq (&a->scale_base_mu, &b->scale_base_mu, 1);
  ck_assert_bits_eq (&a->scale_base_sigma, &b->scale_base_sigma, 1);
  ck_assert_uint_eq (a->seed, b->seed);
  ck_assert_uint_eq (a->n_params, b->n_params);
  ck_assert_bits_eq (a->params, b->params, a->n_params);

  for (int l = 0; l < a->depth; l++)
    {
      const KanLayer *La = &a->layers[l], *Lb = &b->layers[l];
      size_t E = (size_t) La->n_in * La->n_out;

      ck_assert_int_eq (La->n_in, Lb->n_in);
      ck_assert_int_eq (La->n_out, Lb->n_out);
      ck_assert_int_eq (La->n_next, Lb->n_next);
      ck_assert_bits_eq (La->grid, Lb->grid, (size_t) La->n_in * (a->G + 2 * a->k + 1));
      ck_assert_bits_eq (La->mask, Lb->mask, E);
      ck_assert_bits_eq (La->mask_sym, Lb->mask_sym, E);
      ck_assert_bits_eq (La->sym_fn, Lb->sym_fn, E);
      ck_assert_bits_eq (La->group_start, Lb->group_start, (size_t) La->n_next + 1);
      for (int i = 0; i < La->n_in; i++)
        for (int j = 0; j < La->n_out; j++)
          ck_assert_int_eq (kan_model_edge_mode (a, l, i, j), kan_model_edge_mode (b, l, i, j));
    }

  /* The same function, to the bit. */
  {
    enum { N = 64 };
    int n_in = kan_model_n_in (a), n_out = kan_model_n_out (a);
    g_autofree double *x = g_new (double, N * n_in);
    g_autofree double *ya = g_new (double, N * n_out);
    g_autofree double *yb = g_new (double, N * n_out);
    GRand *r = g_rand_new_with_seed (3);

    for (int q = 0; q < N * n_in; q++)
      x[q] = g_rand_double_range (r, -1.7, 2.4);
    g_rand_free (r);
    kan_model_eval (a, x, N, ya);
    kan_model_eval (b, x, N, yb);
    ck_assert_bits_eq (ya, yb, (size_t) N * n_out);
  }
}

static void
assert_strv_equal (char **a,
                   char **b,
                   int    n)
{
  for (int i = 0; i < n; i++)
    ck_assert_str_eq (a[i], b[i]);
}

static void
assert_stats_equal (const double *a,
                    const double *b,
                    int           n)
{
  ck_assert ((a == NULL) == (b == NULL));
  if (a != NULL)
    ck_assert_bits_eq (a, b, (size_t) n);
}

static void
assert_data_equal (const KanDataset *a,
                   const KanDataset *b)
{
  ck_assert_int_eq (a->source, b->source);
  ck_assert_int_eq (a->n_in, b->n_in);
  ck_assert_int_eq (a->n_out, b->n_out);
  ck_assert_uint_eq (a->n_train, b->n_train);
  ck_assert_uint_eq (a->n_test, b->n_test);
  ck_assert_bits_eq (a->train_x, b->train_x, a->n_train * a->n_in);
  ck_assert_bits_eq (a->train_y, b->train_y, a->n_train * a->n_out);
  ck_assert_bits_eq (a->test_x, b->test_x, a->n_test * a->n_in);
  ck_assert_bits_eq (a->test_y, b->test_y, a->n_test * a->n_out);
  assert_strv_equal (a->in_names, b->in_names, a->n_in);
  assert_strv_equal (a->out_names, b->out_names, a->n_out);
  ck_assert ((a->class_names == NULL) == (b->class_names == NULL));
  if (a->class_names != NULL)
    {
      ck_assert_uint_eq (g_strv_length (a->class_names), g_strv_length (b->class_names));
      assert_strv_equal (a->class_names, b->class_names, (int) g_strv_length (a->class_names));
    }
  assert_stats_equal (a->in_mean, b->in_mean, a->n_in);
  assert_stats_equal (a->in_std, b->in_std, a->n_in);
  assert_stats_equal (a->out_mean, b->out_mean, a->n_out);
  assert_stats_equal (a->out_std, b->out_std, a->n_out);
  ck_assert_uint_eq (a->seed, b->seed);
  if (a->source == KAN_DATA_FORMULA)
    {
      ck_assert_str_eq (a->formula, b->formula);
      ck_assert_bits_eq (a->ranges, b->ranges, 2 * (size_t) a->n_in);
      ck_assert_bits_eq (&a->noise, &b->noise, 1);
    }
  else
    {
      ck_assert_bits_eq (&a->test_fraction, &b->test_fraction, 1);
      ck_assert_str_eq (a->csv_path ? a->csv_path : "(null)", b->csv_path ? b->csv_path : "(null)");
    }
}

static void
assert_rmse_equal (double a,
                   double b)
{
  if (isnan (a))
    ck_assert (isnan (b));
  else
    ck_assert_bits_eq (&a, &b, 1);
}

static void
assert_sessions_equal (const KanSession *a,
                       const KanSession *b)
{
  const KanTrainConfig *ta = &a->train, *tb = &b->train;

  ck_assert ((a->model == NULL) == (b->model == NULL));
  if (a->model != NULL)
    assert_models_equal (a->model, b->model);
  ck_assert ((a->data == NULL) == (b->data == NULL));
  if (a->data != NULL)
    assert_data_equal (a->data, b->data);

  ck_assert_int_eq (ta->opt, tb->opt);
  ck_assert_int_eq (ta->loss, tb->loss);
  ck_assert_int_eq (ta->steps, tb->steps);
  ck_assert_bits_eq (&ta->lr, &tb->lr, 1);
  ck_assert_bits_eq (&ta->lamb, &tb->lamb, 1);
  ck_assert_bits_eq (&ta->lamb_l1, &tb->lamb_l1, 1);
  ck_assert_bits_eq (&ta->lamb_entropy, &tb->lamb_entropy, 1);
  ck_assert_bits_eq (&ta->lamb_coef, &tb->lamb_coef, 1);
  ck_assert_bits_eq (&ta->lamb_coefdiff, &tb->lamb_coefdiff, 1);
  ck_assert_int_eq (ta->update_grid, tb->update_grid);
  ck_assert_int_eq (ta->grid_update_num, tb->grid_update_num);
  ck_assert_int_eq (ta->start_grid_update_step, tb->start_grid_update_step);
  ck_assert_int_eq (ta->stop_grid_update_step, tb->stop_grid_update_step);
  ck_assert_bits_eq (&ta->grid_update_tolerance, &tb->grid_update_tolerance, 1);
  ck_assert_int_eq (ta->batch, tb->batch);
  ck_assert_uint_eq (ta->seed, tb->seed);
  ck_assert_int_eq (ta->singularity_avoiding, tb->singularity_avoiding);
  ck_assert_bits_eq (&ta->y_th, &tb->y_th, 1);
  ck_assert_int_eq (ta->lbfgs_history, tb->lbfgs_history);
  ck_assert_int_eq (ta->lbfgs_max_iter, tb->lbfgs_max_iter);
  ck_assert_int_eq (ta->lbfgs_max_eval, tb->lbfgs_max_eval);
  ck_assert_int_eq (ta->threads, tb->threads);

  ck_assert_int_eq (a->steps_done, b->steps_done);
  ck_assert_uint_eq (a->history->len, b->history->len);
  for (guint i = 0; i < a->history->len; i++)
    {
      const KanHistoryEntry *ea = g_ptr_array_index (a->history, i);
      const KanHistoryEntry *eb = g_ptr_array_index (b->history, i);

      ck_assert_str_eq (ea->op, eb->op);
      ck_assert ((ea->detail == NULL) == (eb->detail == NULL));
      if (ea->detail != NULL)
        ck_assert_str_eq (ea->detail, eb->detail);
      assert_rmse_equal (ea->train_rmse, eb->train_rmse);
      assert_rmse_equal (ea->test_rmse, eb->test_rmse);
    }
}

/* Saves S to DIR/NAME, loads it back, checks equality and that saving the loaded session gives
 * the same bytes. Returns the loaded session. */
static KanSession *
round_trip (const KanSession *s,
            const char       *dir,
            const char       *name)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autofree char *path2 = g_strconcat (path, ".again", NULL);
  g_autofree char *bytes1 = NULL;
  g_autofree char *bytes2 = NULL;
  g_autofree char *json = NULL;
  gsize len1, len2, len;
  KanSession *back;

  ck_assert_msg (kan_session_save (s, path, &error), "%s", error ? error->message : "");
  back = kan_session_load (path, &error);
  ck_assert_msg (back != NULL, "%s", error ? error->message : "");
  assert_sessions_equal (s, back);

  ck_assert_msg (kan_session_save (back, path2, &error), "%s", error ? error->message : "");
  ck_assert (g_file_get_contents (path, &bytes1, &len1, NULL));
  ck_assert (g_file_get_contents (path2, &bytes2, &len2, NULL));
  ck_assert_uint_eq (len1, len2);
  ck_assert_msg (memcmp (bytes1, bytes2, len1) == 0, "saving a loaded session changed it");
  json = kan_session_to_json (s, &len);
  ck_assert_uint_eq (len, len1);
  ck_assert (memcmp (json, bytes1, len) == 0);
  return back;
}

/* ------------------------------------------------------------------------------------------ */
/* Round trips                                                                                */
/* ------------------------------------------------------------------------------------------ */

START_TEST (test_round_trip_formula)
{
  g_autofree char *dir = make_tmpdir ();
  g_autoptr (KanSession) s = make_session ("2,5,1", NULL, make_formula_data ());
  g_autoptr (KanSession) back = round_trip (s, dir, "formula.kanvas");
  g_autofree char *json = kan_session_to_json (s, NULL);

  /* Locked, masked-off and mixed edges survive. */
  ck_assert_int_eq (kan_model_edge_mode (back->model, 0, 0, 1), KAN_EDGE_SYMBOLIC);
  ck_assert_int_eq (kan_model_edge_sym (back->model, 0, 0, 1), kan_sym_lookup ("sin"));
  ck_assert_int_eq (kan_model_edge_mode (back->model, 0, 1, 2), KAN_EDGE_BOTH);
  ck_assert_int_eq (kan_model_edge_mode (back->model, 0, 1, 0), KAN_EDGE_OFF);
  ck_assert_int_eq (kan_model_edge_mode (back->model, 1, 0, 0), KAN_EDGE_SYMBOLIC);
  ck_assert_int_eq (kan_model_edge_sym (back->model, 1, 0, 0), kan_sym_lookup ("besselj0"));
  ck_assert_int_eq (kan_model_edge_mode (back->model, 0, 0, 0), KAN_EDGE_NUMERIC);

  /* Readable, and NaN is null. */
  ck_assert_ptr_nonnull (strstr (json, "\"format\": \"kanvas-session\""));
  ck_assert_ptr_nonnull (strstr (json, "\"width\": \"2,5,1\""));
  ck_assert_ptr_nonnull (strstr (json, "\"source\": \"formula\""));
  ck_assert_ptr_nonnull (strstr (json, "\"optimizer\": \"adam\""));
  ck_assert_ptr_nonnull (strstr (json, "\"train_rmse\": null"));
  ck_assert_ptr_nonnull (strstr (json, "\"sin\""));
  ck_assert_ptr_null (strstr (json, "nan"));
  ck_assert_ptr_null (strstr (json, "\"train_x\""));
  remove_tree (dir);
}
END_TEST

START_TEST (test_round_trip_mult_csv)
{
  g_autofree char *dir = make_tmpdir ();
  g_autoptr (KanSession) s = make_session ("2,[2,2],1", "2,3", make_csv_data (dir));
  g_autoptr (KanSession) back = NULL;
  const KanShape *shape = s->model->shape;

  ck_assert_int_eq (shape->n_mult[1], 2);
  ck_assert_int_eq (shape->arity[1][0], 2);
  ck_assert_int_eq (shape->arity[1][1], 3);
  back = round_trip (s, dir, "mult.kanvas");
  ck_assert_int_eq (back->model->shape->arity[1][1], 3);
  ck_assert_int_eq (back->data->source, KAN_DATA_CSV);
  ck_assert_str_eq (back->data->in_names[0], "a");
  ck_assert_str_eq (back->data->in_names[1], "b");
  ck_assert_str_eq (back->data->out_names[0], "y");
  remove_tree (dir);
}
END_TEST

START_TEST (test_round_trip_arrays)
{
  g_autofree char *dir = make_tmpdir ();
  g_autoptr (KanSession) s = make_session ("2,[2,2],1", "2,3", make_array_data ());
  g_autoptr (KanSession) back = NULL;

  s->train.opt = KAN_OPT_LM;
  s->train.loss = KAN_LOSS_MSE;
  back = round_trip (s, dir, "arrays.kanvas");
  ck_assert_int_eq (back->data->source, KAN_DATA_ARRAYS);
  ck_assert_ptr_null (back->data->out_mean);
  ck_assert_ptr_nonnull (back->data->in_mean);
  remove_tree (dir);
}
END_TEST

START_TEST (test_round_trip_empty)
{
  g_autofree char *dir = make_tmpdir ();
  g_autoptr (KanSession) s = kan_session_new ();
  g_autoptr (KanSession) back = round_trip (s, dir, "empty.kanvas");

  ck_assert_ptr_null (back->model);
  ck_assert_ptr_null (back->data);
  ck_assert_uint_eq (back->history->len, 0);
  remove_tree (dir);
}
END_TEST

/* Doubles that printf-style writers get wrong: -0.0 (read back as the integer 0), integral
 * values (1e22 is "1e+22.0" in json-glib 1.6), subnormals, the extremes, and values that need
 * all 17 digits. */
START_TEST (test_numbers_exact)
{
  static const double special[] = {
    -0.0, 0.0, 1.0, -1.0, 0.1, 1.0 / 3.0, 2.0 / 3.0, 1e22, -1e21, 1e300, 5e-324, -DBL_MIN,
    DBL_MAX, -DBL_MAX, DBL_EPSILON, 1.0 + DBL_EPSILON, 123456789012345678.0, 4.35, 9007199254740993.0,
    2.2250738585072009e-308, 0.30000000000000004, 100.0, 1e-7, M_PI, -M_E,
  };
  g_autofree char *dir = make_tmpdir ();
  g_autoptr (KanSession) s = kan_session_new ();
  g_autoptr (KanSession) back = NULL;
  g_autofree char *json = NULL;
  GRand *r = g_rand_new_with_seed (77);
  KanModel *m;

  s->model = m = make_model ("2,5,1", NULL, 7);
  for (size_t q = 0; q < m->n_params; q++)
    {
      if (q < G_N_ELEMENTS (special))
        m->params[q] = special[q];
      else
        {
          /* Random bit patterns, skipping non-finite ones. */
          guint64 bits;
          double v;

          do
            {
              bits = ((guint64) g_rand_int (r) << 32) | g_rand_int (r);
              memcpy (&v, &bits, sizeof v);
            }
          while (!isfinite (v));
          m->params[q] = v;
        }
    }
  g_rand_free (r);
  s->train.lr = 1e22;
  s->train.y_th = 5e-324;
  s->train.seed = 0;
  back = round_trip (s, dir, "numbers.kanvas");
  ck_assert (signbit (back->model->params[0]));
  json = kan_session_to_json (s, NULL);
  ck_assert_ptr_nonnull (strstr (json, "-0.0"));
  ck_assert_ptr_nonnull (strstr (json, "\"lr\": 1e+22,"));
  ck_assert_ptr_nonnull (strstr (json, "\"grid\": 5,"));
  ck_assert_ptr_nonnull (strstr (json, "\"steps_done\": 0,"));
  ck_assert_ptr_null (strstr (json, "e+22.0"));
  remove_tree (dir);
}
END_TEST

static char *
fixture_path (const char *name)
{
  const char *dir = g_getenv ("KANVAS_TEST_DATA");
  g_autofree char *here = NULL;

  if (dir != NULL)
    return g_build_filename (dir, "sessions", name, NULL);
  here = g_path_get_dirname (__FILE__);
  return g_build_filename (here, "data", "sessions", name, NULL);
}

/* A version-1 file written when the format was defined: it still loads, and writing it again
 * gives the same bytes, so the format cannot drift unnoticed. */
START_TEST (test_fixture_v1)
{
  g_autofree char *path = fixture_path ("v1-mult-arrays.kanvas");
  g_autofree char *bytes = NULL;
  g_autofree char *again = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (KanSession) s = NULL;
  const KanHistoryEntry *e;
  double abcd[4];
  gsize len, len2;

  ck_assert_msg (g_file_get_contents (path, &bytes, &len, &error), "%s", error->message);
  s = kan_session_load (path, &error);
  ck_assert_msg (s != NULL, "%s", error ? error->message : "");
  again = kan_session_to_json (s, &len2);
  ck_assert_uint_eq (len, len2);
  ck_assert_msg (memcmp (bytes, again, len) == 0, "the v1 fixture no longer writes back as is");

  ck_assert_int_eq (kan_model_grid (s->model), 3);
  ck_assert_int_eq (s->model->shape->arity[1][1], 3);
  ck_assert_int_eq (kan_model_edge_mode (s->model, 0, 0, 1), KAN_EDGE_SYMBOLIC);
  ck_assert_int_eq (kan_model_edge_sym (s->model, 0, 0, 1), kan_sym_lookup ("sin"));
  /* The file keeps masks, not the word for the mode, so a file from the time the workbench
   * said "symbolic" reads back as what every place now calls "locked". */
  ck_assert_str_eq (kan_edge_mode_name (kan_model_edge_mode (s->model, 0, 0, 1)), "locked");
  kan_model_edge_abcd (s->model, 0, 0, 1, abcd);
  ck_assert (abcd[2] == 2.5 && abcd[3] == 0.0 && signbit (abcd[3]));
  ck_assert (s->model->layers[1].coef[0] == 5e-324);
  ck_assert (s->model->layers[1].node_bias[0] == -1e22);
  ck_assert_uint_eq (s->train.seed, G_MAXUINT64);
  ck_assert_int_eq (s->steps_done, 50);
  ck_assert_int_eq (s->data->source, KAN_DATA_ARRAYS);
  ck_assert_uint_eq (s->data->n_test, 1);
  ck_assert (s->data->test_x[1] == 6.0);
  ck_assert_uint_eq (s->history->len, 2);
  e = g_ptr_array_index (s->history, 1);
  ck_assert_str_eq (e->op, "fit");
  ck_assert (e->train_rmse == 0.012345678901234567 && isnan (e->test_rmse));
}
END_TEST

/* Two sessions built the same way give the same bytes. */
START_TEST (test_deterministic)
{
  g_autofree char *dir = make_tmpdir ();
  g_autofree char *p1 = g_build_filename (dir, "one.kanvas", NULL);
  g_autofree char *p2 = g_build_filename (dir, "two.kanvas", NULL);
  g_autoptr (KanSession) a = make_session ("2,[2,2],1", "2,3", make_formula_data ());
  g_autoptr (KanSession) b = make_session ("2,[2,2],1", "2,3", make_formula_data ());
  g_autoptr (KanSession) c = make_session ("2,5,1", NULL, NULL);
  g_autoptr (GError) error = NULL;
  g_autofree char *t1 = NULL;
  g_autofree char *t2 = NULL;
  g_autofree char *tc = NULL;
  gsize l1, l2;

  ck_assert (kan_session_save (a, p1, &error));
  ck_assert (kan_session_save (b, p2, &error));
  ck_assert (g_file_get_contents (p1, &t1, &l1, NULL));
  ck_assert (g_file_get_contents (p2, &t2, &l2, NULL));
  ck_assert_uint_eq (l1, l2);
  ck_assert (memcmp (t1, t2, l1) == 0);
  /* A different model gives a different file. */
  tc = kan_session_to_json (c, NULL);
  ck_assert_str_ne (tc, t1);
  remove_tree (dir);
}
END_TEST

static guint
count_entries (const char *dir)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  guint n = 0;

  ck_assert_ptr_nonnull (d);
  while (g_dir_read_name (d) != NULL)
    n++;
  g_dir_close (d);
  return n;
}

START_TEST (test_atomic_save)
{
  g_autofree char *dir = make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "s.kanvas", NULL);
  g_autoptr (KanSession) s = make_session ("2,5,1", NULL, make_formula_data ());
  g_autoptr (KanSession) back = NULL;
  g_autoptr (GError) error = NULL;

  ck_assert (g_file_set_contents (path, "old contents", -1, NULL));
  for (int i = 0; i < 3; i++)
    {
      s->steps_done = i;
      ck_assert_msg (kan_session_save (s, path, &error), "%s", error ? error->message : "");
    }
  /* Only the session itself: no temporary file is left behind. */
  ck_assert_uint_eq (count_entries (dir), 1);
  back = kan_session_load (path, &error);
  ck_assert_msg (back != NULL, "%s", error ? error->message : "");
  ck_assert_int_eq (back->steps_done, 2);

  /* A model with a non-finite parameter is not saved; the old file stays. */
  s->model->params[3] = NAN;
  ck_assert (!kan_session_save (s, path, &error));
  ck_assert_error (error, KAN_ERROR, KAN_ERROR_NONFINITE);
  ck_assert_ptr_nonnull (strstr (error->message, "s.kanvas"));
  g_clear_error (&error);
  g_clear_pointer (&back, kan_session_free);
  back = kan_session_load (path, &error);
  ck_assert_ptr_nonnull (back);
  ck_assert_uint_eq (count_entries (dir), 1);
  remove_tree (dir);
}
END_TEST

START_TEST (test_save_unwritable)
{
  g_autofree char *dir = make_tmpdir ();
  g_autofree char *file = g_build_filename (dir, "plain-file", NULL);
  g_autofree char *below_file = g_build_filename (file, "s.kanvas", NULL);
  g_autofree char *missing = g_build_filename (dir, "no-such-dir", "s.kanvas", NULL);
  g_autoptr (KanSession) s = make_session ("2,5,1", NULL, NULL);
  g_autoptr (GError) error = NULL;

  ck_assert (g_file_set_contents (file, "x", -1, NULL));
  /* A folder that does not exist, and a "folder" that is a file (fails even for root). */
  ck_assert (!kan_session_save (s, missing, &error));
  ck_assert_error (error, KAN_ERROR, KAN_ERROR_IO);
  ck_assert_ptr_nonnull (strstr (error->message, missing));
  g_clear_error (&error);
  ck_assert (!kan_session_save (s, below_file, &error));
  ck_assert_error (error, KAN_ERROR, KAN_ERROR_IO);
  ck_assert_ptr_nonnull (strstr (error->message, below_file));
  g_clear_error (&error);
  /* A read-only folder, where permissions apply (not for root). */
  if (geteuid () != 0)
    {
      g_autofree char *ro = g_build_filename (dir, "ro", NULL);
      g_autofree char *inside = g_build_filename (ro, "s.kanvas", NULL);

      ck_assert (g_mkdir (ro, 0500) == 0);
      ck_assert (!kan_session_save (s, inside, &error));
      ck_assert_error (error, KAN_ERROR, KAN_ERROR_IO);
      ck_assert_ptr_nonnull (strstr (error->message, inside));
      ck_assert_uint_eq (count_entries (ro), 0);
      g_clear_error (&error);
    }
  ck_assert_uint_eq (count_entries (dir), geteuid () != 0 ? 2 : 1);
  remove_tree (dir);
}
END_TEST

START_TEST (test_load_unreadable)
{
  g_autofree char *dir = make_tmpdir ();
  g_autofree char *missing = g_build_filename (dir, "missing.kanvas", NULL);
  g_autoptr (GError) error = NULL;

  ck_assert_ptr_null (kan_session_load (missing, &error));
  ck_assert_error (error, KAN_ERROR, KAN_ERROR_IO);
  ck_assert_ptr_nonnull (strstr (error->message, missing));
  g_clear_error (&error);
  /* A directory. */
  ck_assert_ptr_null (kan_session_load (dir, &error));
  ck_assert_error (error, KAN_ERROR, KAN_ERROR_IO);
  ck_assert_ptr_nonnull (strstr (error->message, dir));
  remove_tree (dir);
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* Refusing bad documents                                                                     */
/* ------------------------------------------------------------------------------------------ */

/* The node at PATH ("model.layers[1].coef[3]") of ROOT, or NULL. With PARENT, stops one step
 * short and returns the last step's key (or index, with *KEY NULL). */
static JsonNode *
walk (JsonNode    *root,
      const char  *path,
      char       **last_key,
      int         *last_index)
{
  g_auto (GStrv) steps = NULL;
  g_autoptr (GPtrArray) parts = g_ptr_array_new_with_free_func (g_free);
  JsonNode *node = root;

  /* Split "a.b[1][2].c" into a, b, [1], [2], c. */
  steps = g_strsplit (path, ".", -1);
  for (char **s = steps; *s != NULL; s++)
    {
      char *br = strchr (*s, '[');

      if (br != *s)
        g_ptr_array_add (parts, g_strndup (*s, br ? (gsize) (br - *s) : strlen (*s)));
      while (br != NULL)
        {
          char *end = strchr (br, ']');

          g_ptr_array_add (parts, g_strndup (br, (gsize) (end - br + 1)));
          br = strchr (end, '[');
        }
    }
  for (guint i = 0; i < parts->len; i++)
    {
      const char *p = g_ptr_array_index (parts, i);
      gboolean is_last = i + 1 == parts->len;

      if (is_last && last_key != NULL)
        {
          if (p[0] == '[')
            {
              *last_key = NULL;
              *last_index = atoi (p + 1);
            }
          else
            *last_key = g_strdup (p);
          return node;
        }
      if (p[0] == '[')
        node = json_array_get_element (json_node_get_array (node), (guint) atoi (p + 1));
      else
        node = json_object_get_member (json_node_get_object (node), p);
      ck_assert_msg (node != NULL, "no %s in the test document", path);
    }
  return node;
}

/* JSON of the valid session TEXT with the value at PATH replaced by VALUE (JSON text), added if
 * it is a new member, or removed when VALUE is NULL. */
static char *
edit (const char *text,
      const char *path,
      const char *value)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (JsonParser) vparser = json_parser_new ();
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autofree char *key = NULL;
  JsonNode *root, *parent, *v = NULL;
  int index = -1;

  ck_assert (json_parser_load_from_data (parser, text, -1, NULL));
  root = json_parser_get_root (parser);
  parent = walk (root, path, &key, &index);
  if (value != NULL)
    {
      ck_assert_msg (json_parser_load_from_data (vparser, value, -1, NULL), "bad value %s", value);
      v = json_node_copy (json_parser_get_root (vparser));
    }
  if (key != NULL)
    {
      JsonObject *obj = json_node_get_object (parent);

      if (v != NULL)
        json_object_set_member (obj, key, v);
      else
        {
          ck_assert (json_object_has_member (obj, key));
          json_object_remove_member (obj, key);
        }
    }
  else
    {
      JsonArray *a = json_node_get_array (parent);

      ck_assert_int_lt (index, (int) json_array_get_length (a));
      if (v != NULL)
        {
          /* json-glib has no "replace element": rebuild the array. */
          JsonArray *b = json_array_sized_new (json_array_get_length (a));

          for (guint i = 0; i < json_array_get_length (a); i++)
            json_array_add_element (b, (int) i == index
                                       ? v : json_node_copy (json_array_get_element (a, i)));
          json_node_take_array (parent, b);
        }
      else
        json_array_remove_element (a, (guint) index);
    }
  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, TRUE);
  return json_generator_to_data (gen, NULL);
}

static char *
valid_json (const char *width,
            const char *arity,
            KanDataset *data)
{
  g_autoptr (KanSession) s = make_session (width, arity, data);
  return kan_session_to_json (s, NULL);
}

/* Loads TEXT as "s.kanvas" and expects error CODE with a message that names the file and
 * contains EXPECT. */
static void
expect_error (const char *text,
              KanError    code,
              const char *expect)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (KanSession) s = kan_session_from_json (text, -1, "s.kanvas", &error);

  ck_assert_msg (s == NULL, "accepted a document that should fail with \"%s\"", expect);
  ck_assert_msg (g_error_matches (error, KAN_ERROR, code),
                 "wrong error code %d for \"%s\": %s", error->code, expect, error->message);
  ck_assert_msg (g_str_has_prefix (error->message, "s.kanvas:"),
                 "message does not start with the file name: %s", error->message);
  ck_assert_msg (strstr (error->message, expect) != NULL,
                 "message \"%s\" does not contain \"%s\"", error->message, expect);
}

/* One broken document: TEXT with the value at PATH replaced by VALUE (or removed), which must
 * fail with CODE and a message containing EXPECT. */
typedef struct
{
  const char *path;
  const char *value;
  const char *expect;
  KanError    code;
} Edit;

#define BAD(path, value, expect)  { path, value, expect, KAN_ERROR_SESSION }
#define OVER(path, value, expect) { path, value, expect, KAN_ERROR_BUDGET }

static void
run_edits (const char *text,
           const Edit *edits,
           gsize       n)
{
  for (gsize i = 0; i < n; i++)
    {
      g_autofree char *bad = edit (text, edits[i].path, edits[i].value);
      expect_error (bad, edits[i].code, edits[i].expect);
    }
}

/* TEXT with the value after the first PREFIX ("\"batch\": ") replaced by VALUE as text, which
 * must fail with a message containing EXPECT. */
static void
raw_edit (const char *text,
          const char *prefix,
          const char *value,
          const char *expect)
{
  const char *at = strstr (text, prefix), *end;
  g_autofree char *bad = NULL;

  ck_assert_msg (at != NULL, "no %s in the document", prefix);
  at += strlen (prefix);
  end = at + strcspn (at, ",\n}]");
  bad = g_strdup_printf ("%.*s%s%s", (int) (at - text), text, value, end);
  expect_error (bad, KAN_ERROR_SESSION, expect);
}

/* The edited documents are valid JSON written by json-glib: the test checks that the loader
 * accepts its layout, then breaks one thing at a time. */
START_TEST (test_edit_harness)
{
  g_autofree char *text = valid_json ("2,5,1", NULL, make_formula_data ());
  g_autofree char *same = edit (text, "steps_done", "17");
  g_autoptr (GError) error = NULL;
  g_autoptr (KanSession) a = kan_session_from_json (text, -1, "a", &error);
  g_autoptr (KanSession) b = kan_session_from_json (same, -1, "b", &error);

  ck_assert_msg (a != NULL && b != NULL, "%s", error ? error->message : "");
  assert_sessions_equal (a, b);
}
END_TEST

START_TEST (test_reject_not_json)
{
  g_autofree char *text = valid_json ("2,5,1", NULL, NULL);
  g_autofree char *half = g_strndup (text, strlen (text) / 2);
  g_autofree char *dir = make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "cut.kanvas", NULL);
  g_autoptr (GError) error = NULL;

  /* Truncated: json-glib's message with the line, under the file's name. */
  expect_error (half, KAN_ERROR_SESSION, "s.kanvas:");
  ck_assert (g_file_set_contents (path, half, -1, NULL));
  ck_assert_ptr_null (kan_session_load (path, &error));
  ck_assert_error (error, KAN_ERROR, KAN_ERROR_SESSION);
  ck_assert_msg (g_str_has_prefix (error->message, path), "%s", error->message);
  ck_assert_msg (g_regex_match_simple ("cut\\.kanvas:[0-9]+:", error->message, 0, 0),
                 "no line number: %s", error->message);
  g_clear_error (&error);

  expect_error ("this is not a session", KAN_ERROR_SESSION, "s.kanvas:");
  expect_error ("", KAN_ERROR_SESSION, "empty");
  expect_error ("   \n", KAN_ERROR_SESSION, "s.kanvas");
  expect_error ("[1, 2, 3]", KAN_ERROR_SESSION, "expected an object, found an array");
  expect_error ("{\"format\": \"kanvas-session\", \"version\": 1,}", KAN_ERROR_SESSION,
                "s.kanvas:1:");
  expect_error ("{\"version\": 1}", KAN_ERROR_SESSION, "format is missing");
  remove_tree (dir);
}
END_TEST

START_TEST (test_reject_format_version)
{
  g_autofree char *text = valid_json ("2,5,1", NULL, make_formula_data ());

  static const Edit edits[] = {
    BAD ("format", "\"foo\"", "unknown format 'foo'"),
    BAD ("format", "3", "format: expected a string, found an integer"),
    BAD ("version", "7", "version 7 is newer than this Kanvas understands (2)"),
    BAD ("version", "0", "version 0 is not valid"),
    BAD ("version", "\"1\"", "version: expected an integer, found a string"),
    BAD ("version", NULL, "version is missing"),
  };

  run_edits (text, edits, G_N_ELEMENTS (edits));
}
END_TEST

START_TEST (test_reject_missing_unknown)
{
  g_autofree char *text = valid_json ("2,5,1", NULL, make_formula_data ());

  static const Edit edits[] = {
    BAD ("train", NULL, "s.kanvas: train is missing"),
    BAD ("model.layers[0].coef", NULL, "model.layers[0].coef is missing"),
    BAD ("data.seed", NULL, "data.seed is missing"),
    BAD ("history[1].op", NULL, "history[1].op is missing"),
    BAD ("model.layers[1].colour", "\"red\"", "model.layers[1]: unknown field 'colour'"),
    BAD ("author", "\"me\"", "unknown field 'author'"),
    BAD ("train.momentum", "0.9", "train: unknown field 'momentum'"),
    BAD ("data.train_x", "[]", "data: unknown field 'train_x'"),
  };

  run_edits (text, edits, G_N_ELEMENTS (edits));
}
END_TEST

START_TEST (test_reject_types)
{
  g_autofree char *text = valid_json ("2,5,1", NULL, make_formula_data ());

  static const Edit edits[] = {
    BAD ("model.grid", "\"5\"", "model.grid: expected an integer, found a string"),
    BAD ("model.grid", "5.5", "model.grid: expected an integer, found a number"),
    BAD ("model.sp_trainable", "1", "model.sp_trainable: expected true or false, found an integer"),
    BAD ("model.layers", "{}", "model.layers: expected an array, found an object"),
    BAD ("model.layers[0]", "[]", "model.layers[0]: expected an object, found an array"),
    BAD ("model", "42", "model: expected an object, found an integer"),
    BAD ("model.width", "null", "model.width: expected a string, found null"),
    BAD ("train.optimizer", "\"sgd\"", "train.optimizer: unknown optimizer 'sgd'"),
    BAD ("train.loss", "\"l1\"", "train.loss: unknown loss 'l1'"),
    BAD ("model.base_fun", "\"relu\"", "model.base_fun: unknown base function 'relu'"),
    BAD ("data.source", "\"sql\"", "data.source: unknown source 'sql'"),
    BAD ("history[0]", "\"fit\"", "history[0]: expected an object, found a string"),
    BAD ("model.layers[1].grid[0]", "3",
         "model.layers[1].grid[0]: expected an array, found an integer"),
    /* A seed written as a string must be a number. */
    BAD ("train.seed", "\"many\"", "train.seed: 'many' is not a seed"),
    BAD ("model.seed", "-1", "model.seed is -1"),
  };

  run_edits (text, edits, G_N_ELEMENTS (edits));
}
END_TEST

START_TEST (test_reject_lengths)
{
  g_autofree char *text = valid_json ("2,5,1", NULL, make_formula_data ());
  static const Edit edits[] = {
    /* Layer 1 of 2,5,1: 5 inputs, 1 output, G+k = 8 coefficients per edge. */
    BAD ("model.layers[1].coef[0]", NULL,
         "s.kanvas: model.layers[1].coef has 39 values, expected 40"),
    BAD ("model.layers[0].sym[5]", NULL, "model.layers[0].sym has 39 values, expected 40"),
    BAD ("model.layers[0].grid[1][3]", NULL, "model.layers[0].grid[1] has 11 values, expected 12"),
    BAD ("model.layers[0].grid[1]", NULL, "model.layers[0].grid has 1 values, expected 2"),
    BAD ("model.layers[0].node_bias[0]", NULL,
         "model.layers[0].node_bias has 4 values, expected 5"),
    BAD ("model.layers[0].sym_fn[9]", NULL, "model.layers[0].sym_fn has 9 values, expected 10"),
    BAD ("model.layers[1]", NULL, "model.layers has 1 values, expected 2"),
    BAD ("model.grid_range", "[0.0]", "model.grid_range has 1 values, expected 2"),
    BAD ("model.layers[0].n_in", "3",
         "model.layers[0] is 3×5, but the width gives it 2 inputs and 5 subnodes"),
    BAD ("model.width", "\"2,5,5,1\"", "model.layers has 2 values, expected 3"),
    BAD ("model.mult_arity", "[2]", "model.mult_arity has 1 values, expected 0"),
    BAD ("model.grid", "4", "model.layers[0].grid[0] has 12 values, expected 11"),
    BAD ("data.ranges[1]", NULL, "data.ranges has 1 values, expected 2"),
  };

  run_edits (text, edits, G_N_ELEMENTS (edits));
}
END_TEST

START_TEST (test_reject_values)
{
  g_autofree char *text = valid_json ("2,5,1", NULL, make_formula_data ());
  g_autofree char *inf = NULL;
  const char *at, *end;

  static const Edit edits[] = {
    BAD ("model.layers[0].coef[3]", "\"NaN\"",
         "model.layers[0].coef[3]: expected a number, found a string"),
    BAD ("model.layers[1].scale_sp[2]", "null",
         "model.layers[1].scale_sp[2]: expected a number, found null"),
    BAD ("model.noise_scale", "\"Infinity\"",
         "model.noise_scale: expected a number, found a string"),
    BAD ("model.layers[0].mask[2]", "0.5", "model.layers[0].mask[2] is 0.5, expected 0 or 1"),
    BAD ("model.layers[0].sym_fn[3]", "\"foo\"",
         "model.layers[0].sym_fn[3]: unknown symbolic function 'foo'"),
    BAD ("model.layers[0].sym_fn[6]", "7",
         "model.layers[0].sym_fn[6]: expected a function name, found an integer"),
    BAD ("model.layers[0].grid[1][4]", "5.0", "model.layers[0].grid[1]: knot 5"),
    BAD ("model.grid", "-3", "model.grid is -3"),
    BAD ("model.k", "0", "model.k is 0"),
    BAD ("model.grid_eps", "-0.5", "model.grid_eps is -0.5, expected at least 0"),
    BAD ("model.grid_range", "[1.0, -1.0]", "model.grid_range [1, -1] is empty"),
    BAD ("model.width", "\"2,x,1\"", "model.width '2,x,1'"),
    BAD ("steps_done", "-4", "steps_done is -4"),
    BAD ("train.threads", "0", "train.threads is 0"),
    BAD ("train.batch", "-7", "train.batch is -7"),
    BAD ("history[0].train_rmse", "\"NaN\"",
         "history[0].train_rmse: expected a number, found a string"),
    BAD ("data.formula", "\"sin(x1\"", "data.formula: "),
    BAD ("data.n_train", "-5", "data.n_train is -5"),
    /* The data set and the model must fit. */
    BAD ("data.vars", "[\"x1\", \"x2\", \"x3\"]", "data.ranges has 2 values, expected 3"),
  };

  run_edits (text, edits, G_N_ELEMENTS (edits));

  /* Numbers too large for a double read as infinity. */
  at = strstr (text, "\"noise_scale\": ");
  ck_assert_ptr_nonnull (at);
  at += strlen ("\"noise_scale\": ");
  end = strchr (at, ',');
  inf = g_strdup_printf ("%.*s1e999%s", (int) (at - text), text, end);
  expect_error (inf, KAN_ERROR_SESSION, "model.noise_scale: inf is not a finite number");
}
END_TEST

START_TEST (test_reject_rows)
{
  g_autofree char *text = valid_json ("2,[2,2],1", "2,3", make_array_data ());

  static const Edit edits[] = {
    BAD ("data.train_x[3]", "[1.0]", "data.train_x[3] has 1 values, expected 2"),
    BAD ("data.train_y[0]", NULL, "data.train_y has 29 values, expected 30"),
    BAD ("data.test_x[2][1]", "null", "data.test_x[2][1]: expected a number, found null"),
    BAD ("data.in_std[1]", "0.0", "data.in_std[1] is 0, expected more than 0"),
    BAD ("data.in_std", "null", "in_mean and in_std must both be null or both be given"),
    BAD ("data.in_names", "[\"p\"]", "data.train_x[0] has 2 values, expected 1"),
    BAD ("data.in_names", "[\"p\", 3]", "data.in_names[1]: expected a string, found an integer"),
    BAD ("data.path", "3", "data.path: expected a string or null, found an integer"),
    BAD ("data.test_fraction", "1.5", "data.test_fraction is 1.5, expected less than 1"),
    BAD ("data.normalize_input", "true", "data: unknown field 'normalize_input'"),
    BAD ("data.mult_arity", "[2, 3]", "data: unknown field 'mult_arity'"),
    BAD ("model.mult_arity", "[2]", "model.mult_arity has 1 values, expected 2"),
    BAD ("model.mult_arity[1]", "1", "model.mult_arity[1] is 1, expected 2 to"),
  };

  run_edits (text, edits, G_N_ELEMENTS (edits));
}
END_TEST

/* The data set and the model must fit each other. */
START_TEST (test_reject_mismatch)
{
  g_autofree char *wide = valid_json ("3,5,1", NULL, make_array_data ());
  g_autofree char *two = valid_json ("2,5,2", NULL, make_formula_data ());
  g_autofree char *ce = edit (two, "train.loss", "\"ce\"");
  g_autoptr (GError) error = NULL;
  g_autoptr (KanSession) s = NULL;

  expect_error (wide, KAN_ERROR_SESSION, "data: the data set has 2 inputs, the model 3");
  expect_error (two, KAN_ERROR_SESSION, "data: the data set has 1 outputs, the model needs 2");
  /* Cross-entropy labels are one column of class indices. */
  s = kan_session_from_json (ce, -1, "ce.kanvas", &error);
  ck_assert_msg (s != NULL, "%s", error ? error->message : "");
  ck_assert_int_eq (s->train.loss, KAN_LOSS_CE);
}
END_TEST

START_TEST (test_reject_sizes)
{
  g_autofree char *text = valid_json ("2,5,1", NULL, make_formula_data ());

  static const Edit edits[] = {
    /* The shape parser itself refuses layers wider than a million nodes. */
    BAD ("model.width", "\"2,100000000,1\"", "model.width '2,100000000,1'"),
    OVER ("model.width", "\"2,1000000,1000000,1\"", "the model would need"),
    OVER ("model.width", "\"1000,1000000,1\"", "the model would need"),
    /* A wide model whose arrays are not in the file is refused before it is allocated. */
    BAD ("model.width", "\"2,40000,1\"",
         "model.layers[0] is 2×5, but the width gives it 2 inputs and 40000 subnodes"),
    BAD ("model.grid", "100000000", "s.kanvas: model.grid is 100000000, expected 1 to 100000"),
    OVER ("data.n_train", "100000000000", "the data set would need"),
  };

  run_edits (text, edits, G_N_ELEMENTS (edits));
  /* Integers beyond 63 bits are read exactly and refused with their value. */
  raw_edit (text, "\"n_test\": ", "18446744073709551615",
            "data.n_test is 18446744073709551615, expected 0 to 9223372036854775807");
}
END_TEST

/* Every size or count a document gives is range-checked where it is read, with its JSON path;
 * sizes too large for 64 bits (or for a double) are reported as too large, never wrapped. */
START_TEST (test_reject_huge_sizes)
{
  g_autofree char *text = valid_json ("2,[2,2],1", "2,3", make_array_data ());
  g_autofree char *formula = valid_json ("2,5,1", NULL, make_formula_data ());
  g_autofree char *digits401 = g_strnfill (401, '7');
  g_autofree char *neg401 = g_strconcat ("-", digits401, NULL);
  g_autofree char *version401 = NULL;

  static const Edit edits[] = {
    BAD ("train.lbfgs_history", "2147483647",
         "s.kanvas: train.lbfgs_history is 2147483647, expected 1 to 1000"),
    BAD ("train.lbfgs_history", "1001", "train.lbfgs_history is 1001, expected 1 to 1000"),
    BAD ("train.lbfgs_history", "-5", "train.lbfgs_history is -5, expected 1 to 1000"),
    BAD ("train.lbfgs_history", "0", "train.lbfgs_history is 0"),
    BAD ("train.lbfgs_history", "10.5", "train.lbfgs_history: expected an integer, found a number"),
    BAD ("train.lbfgs_max_iter", "2147483647", "train.lbfgs_max_iter is 2147483647, expected 1 to"),
    BAD ("train.lbfgs_max_eval", "-1", "train.lbfgs_max_eval is -1, expected 1 to"),
    BAD ("train.steps", "-1", "train.steps is -1, expected 0 to 2147483647"),
    BAD ("train.steps", "2147483648", "train.steps is 2147483648, expected 0 to 2147483647"),
    BAD ("train.threads", "1025", "train.threads is 1025, expected 1 to 1024"),
    BAD ("train.threads", "-2147483648", "train.threads is -2147483648, expected 1 to 1024"),
    BAD ("train.batch", "-2", "train.batch is -2, expected -1 to"),
    BAD ("train.grid_update_num", "-1", "train.grid_update_num is -1, expected 0 to"),
    BAD ("train.start_grid_update_step", "-2", "train.start_grid_update_step is -2, expected -1"),
    BAD ("train.stop_grid_update_step", "4294967296",
         "train.stop_grid_update_step is 4294967296, expected -1 to 2147483647"),
    BAD ("model.k", "11", "model.k is 11, expected 1 to 10"),
    BAD ("model.k", "-1", "model.k is -1, expected 1 to 10"),
    BAD ("model.grid", "100001", "model.grid is 100001, expected 1 to 100000"),
    BAD ("model.grid", "0", "model.grid is 0, expected 1 to 100000"),
    BAD ("model.mult_arity[0]", "1000001", "model.mult_arity[0] is 1000001, expected 2 to 1000000"),
    BAD ("model.mult_arity[1]", "-3", "model.mult_arity[1] is -3, expected 2 to 1000000"),
    BAD ("model.layers[0].n_in", "-1", "model.layers[0].n_in is -1, expected 0 to 2147483647"),
    BAD ("model.layers[1].n_out", "2147483648", "model.layers[1].n_out is 2147483648"),
    BAD ("model.seed", "-1", "model.seed is -1, expected 0 to 18446744073709551615"),
    BAD ("train.seed", "\"18446744073709551616\"", "train.seed: '18446744073709551616' is not a seed"),
  };
  static const Edit formula_edits[] = {
    BAD ("data.n_train", "0", "data.n_train is 0, expected 1 to 9223372036854775807"),
    OVER ("data.n_test", "9223372036854775807", "the data set would need"),
    BAD ("version", "1.0", "version: expected an integer, found a number"),
  };

  run_edits (text, edits, G_N_ELEMENTS (edits));
  run_edits (formula, formula_edits, G_N_ELEMENTS (formula_edits));
  /* Beyond 64 bits json-glib (the edit harness) would wrap, and it writes 1e30 as "1e+30.0":
   * edited as text. */
  raw_edit (text, "\"lbfgs_history\": ", "1e300",
            "train.lbfgs_history is 1e+300, expected 1 to 1000");
  raw_edit (text, "\"steps_done\": ", "1e30", "steps_done is 1e+30, expected 0 to 2147483647");
  raw_edit (text, "\"seed\": ", "1.5e19", "model.seed: expected an integer, found a number");
  raw_edit (formula, "\"n_train\": ", "1e19",
            "data.n_train is 1e+19, expected 1 to 9223372036854775807");
  raw_edit (formula, "\"version\": ", "1e30",
            "version 1e+30 is newer than this Kanvas understands (2)");
  raw_edit (formula, "\"version\": ", "-1e30", "version -1e+30 is not valid");
  raw_edit (text, "\"batch\": ", "9223372036854775808",
            "train.batch is 9223372036854775808, expected -1 to 9223372036854775807");
  raw_edit (text, "\"seed\": ", "18446744073709551616",
            "model.seed is too large (a 20-digit integer), expected 0 to 18446744073709551615");
  raw_edit (formula, "\"n_test\": ", "-9223372036854775809",
            "data.n_test is too small (a negative 19-digit integer), expected 0 to");
  raw_edit (formula, "\"version\": ", "18446744073709551615",
            "version 18446744073709551615 is newer than this Kanvas understands (2)");
  raw_edit (formula, "\"version\": ", "-9223372036854775808", "version -9223372036854775808 is not valid");

  /* A 401-digit seed, version or size: too large, whatever the sign. */
  raw_edit (text, "\"seed\": ", digits401,
            "model.seed is too large (a 401-digit integer), expected 0 to 18446744073709551615");
  raw_edit (text, "\"steps\": ", neg401,
            "s.kanvas: train.steps is too small (a negative 401-digit integer), expected 0 to");
  version401 = g_strdup_printf ("{\"format\": \"kanvas-session\", \"version\": %s}", digits401);
  expect_error (version401, KAN_ERROR_SESSION,
                "version a 401-digit integer is newer than this Kanvas understands (2)");
  g_free (version401);
  version401 = g_strdup_printf ("{\"format\": \"kanvas-session\", \"version\": %s}", neg401);
  expect_error (version401, KAN_ERROR_SESSION, "version a negative 401-digit integer is not valid");
  /* A seed above 2^63 may be written as an integer as well as a string. */
  {
    g_autoptr (GString) big = g_string_new (text);
    g_autoptr (GError) error = NULL;
    g_autoptr (KanSession) s = NULL;

    ck_assert (g_string_replace (big, "\"seed\": \"18446744073709551557\"",
                                 "\"seed\": 18446744073709551615", 0) == 1);
    s = kan_session_from_json (big->str, -1, "big", &error);
    ck_assert_msg (s != NULL, "%s", error ? error->message : "");
    ck_assert_uint_eq (s->train.seed, G_MAXUINT64);
  }
}
END_TEST

/* L-BFGS keeps 2·history vectors of the parameters: a history in range can still be too much
 * for a large model, and is refused when the session loads rather than when training starts. */
START_TEST (test_reject_lbfgs_memory)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (KanShape) shape = kan_shape_parse ("100,100,1", NULL, &error);
  g_autoptr (KanSession) s = kan_session_new ();
  g_autoptr (KanSession) back = NULL;
  g_autofree char *text = NULL;
  g_autofree char *bad = NULL;
  KanModelConfig cfg;
  char *at;

  kan_model_config_init (&cfg);
  cfg.shape = shape;
  cfg.grid = 20;
  s->model = kan_model_new (&cfg, &error);
  ck_assert_msg (s->model != NULL, "%s", error ? error->message : "");
  ck_assert_uint_gt (kan_model_n_params (s->model), 270000);
  s->train.lbfgs_history = 100;
  text = kan_session_to_json (s, NULL);
  back = kan_session_from_json (text, -1, "ok.kanvas", &error);
  ck_assert_msg (back != NULL, "%s", error ? error->message : "");
  ck_assert_int_eq (back->train.lbfgs_history, 100);

  bad = g_strdup (text);
  at = strstr (bad, "\"lbfgs_history\": 100,");
  ck_assert_ptr_nonnull (at);
  memcpy (at + strlen ("\"lbfgs_history\": "), "999", 3);
  expect_error (bad, KAN_ERROR_BUDGET, "train.lbfgs_history is 999: L-BFGS would need");
}
END_TEST

/* A file of 100 000 nested brackets (200 KB) is refused with its place and the limit, instead
 * of overflowing the parser's stack. */
START_TEST (test_reject_deep_nesting)
{
  enum { N = 100000 };
  g_autofree char *dir = make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "deep.kanvas", NULL);
  g_autofree char *deep = g_malloc (2 * N + 1);
  g_autofree char *deep_obj = NULL;
  g_autoptr (GString) nested = g_string_new ("{\"format\": \"kanvas-session\", \"x\": ");
  g_autoptr (GError) error = NULL;
  g_autofree char *expect = NULL;

  memset (deep, '[', N);
  memset (deep + N, ']', N);
  deep[2 * N] = '\0';
  ck_assert (g_file_set_contents (path, deep, 2 * N, NULL));
  ck_assert_ptr_null (kan_session_load (path, &error));
  ck_assert_error (error, KAN_ERROR, KAN_ERROR_SESSION);
  expect = g_strdup_printf ("%s:1:513: arrays and objects nest deeper than 512 levels", path);
  ck_assert_str_eq (error->message, expect);
  expect_error (deep, KAN_ERROR_SESSION, "s.kanvas:1:513: arrays and objects nest deeper than 512");

  /* Objects, on the second line. */
  for (int i = 0; i < N; i++)
    g_string_append (nested, "{\"a\":\n");
  expect_error (nested->str, KAN_ERROR_SESSION, "s.kanvas:512:1: arrays and objects nest deeper");
  remove_tree (dir);
}
END_TEST

/* The strict reader's rules reach the session loader with the file, line and column. */
START_TEST (test_reject_strict_json)
{
  g_autofree char *text = valid_json ("2,5,1", NULL, make_formula_data ());
  g_autofree char *garbage = g_strconcat (text, "}\n", NULL);
  g_autofree char *comment = g_strconcat ("// saved by hand\n", text, NULL);
  g_autoptr (GString) dup = g_string_new (text);
  g_autoptr (GString) nan = g_string_new (text);
  g_autoptr (GString) quote = g_string_new (text);
  g_autoptr (GString) zero = g_string_new (text);
  g_autoptr (GString) ctrl = g_string_new (text);
  g_autoptr (GString) utf8 = g_string_new (text);
  g_autoptr (GString) surrogate = g_string_new (text);
  g_autoptr (GString) trailing = g_string_new (text);
  gsize lines = 0;
  g_autofree char *where = NULL;

  for (const char *q = text; *q; q++)
    lines += *q == '\n';
  where = g_strdup_printf ("s.kanvas:%" G_GSIZE_FORMAT ":1: unexpected text after the JSON value",
                           lines + 1);
  expect_error (garbage, KAN_ERROR_SESSION, where);
  expect_error (comment, KAN_ERROR_SESSION, "s.kanvas:1:1: comments are not allowed in JSON");

  ck_assert (g_string_replace (dup, "\"grid\": 5,", "\"grid\": 5, \"grid\": 5,", 1) == 1);
  expect_error (dup->str, KAN_ERROR_SESSION, "duplicate key: model.grid");
  ck_assert (g_string_replace (nan, "\"noise_scale\": 0.3", "\"noise_scale\": NaN", 1) == 1);
  expect_error (nan->str, KAN_ERROR_SESSION, "'NaN' is not a JSON number");
  ck_assert (g_string_replace (quote, "\"base_fun\": \"silu\"", "\"base_fun\": 'silu'", 1) == 1);
  expect_error (quote->str, KAN_ERROR_SESSION, "double quotes, not single quotes");
  ck_assert (g_string_replace (zero, "\"k\": 3,", "\"k\": 03,", 1) == 1);
  expect_error (zero->str, KAN_ERROR_SESSION, "leading zeros are not allowed");
  ck_assert (g_string_replace (ctrl, "\"op\": \"fit\"", "\"op\": \"f\tit\"", 1) == 1);
  expect_error (ctrl->str, KAN_ERROR_SESSION, "unescaped control character U+0009");
  ck_assert (g_string_replace (utf8, "\"op\": \"fit\"", "\"op\": \"f\xe9t\"", 1) == 1);
  expect_error (utf8->str, KAN_ERROR_SESSION, "invalid UTF-8");
  ck_assert (g_string_replace (surrogate, "\"op\": \"fit\"", "\"op\": \"\\udc01\"", 1) == 1);
  expect_error (surrogate->str, KAN_ERROR_SESSION, "lone surrogate \\uDC01");
  ck_assert (g_string_replace (trailing, "\"history\": [", "\"history\": [1, ", 1) == 1);
  {
    /* The line and column point at the problem. */
    const char *at = strstr (trailing->str, "\"history\": [1, ");
    gsize line = 1, col = 1;
    g_autofree char *msg = NULL;

    for (const char *q = trailing->str; q < at; q++)
      {
        if (*q == '\n')
          line++, col = 1;
        else
          col++;
      }
    g_string_replace (trailing, "\"history\": [1, ", "\"history\": [1, ]", 1);
    expect_error (trailing->str, KAN_ERROR_SESSION, "trailing comma before ']'");
    msg = g_strdup_printf ("s.kanvas:%" G_GSIZE_FORMAT ":%" G_GSIZE_FORMAT ": trailing comma",
                           line, col + strlen ("\"history\": [1"));
    expect_error (trailing->str, KAN_ERROR_SESSION, msg);
  }
}
END_TEST

/* The largest file follows from the memory loading may take; a larger one is refused before
 * it is parsed, with the limit and the factor. */
START_TEST (test_reject_file_size)
{
  gsize n = (gsize) KAN_SESSION_MAX_FILE_BYTES + 1;
  g_autofree char *big = g_malloc (n + 1);
  g_autoptr (GError) error = NULL;
  g_autofree char *limit = g_strdup_printf ("a session file may be at most %" G_GUINT64_FORMAT
                                            " MiB (loading one needs up to %d times its size",
                                            (guint64) KAN_SESSION_MAX_FILE_BYTES >> 20,
                                            KAN_SESSION_LOAD_FACTOR);

  ck_assert_uint_eq ((guint64) KAN_SESSION_MAX_FILE_BYTES * KAN_SESSION_LOAD_FACTOR,
                     KAN_SESSION_LOAD_BUDGET_BYTES);
  memset (big, ' ', n);
  big[n] = '\0';
  ck_assert_ptr_null (kan_session_from_json (big, (gssize) n, "big.kanvas", &error));
  ck_assert_error (error, KAN_ERROR, KAN_ERROR_BUDGET);
  ck_assert_msg (strstr (error->message, limit) != NULL, "%s", error->message);
  ck_assert (g_str_has_prefix (error->message, "big.kanvas: "));
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* Memory                                                                                     */
/* ------------------------------------------------------------------------------------------ */

/* Most a load may take, in file sizes. AddressSanitizer keeps freed blocks in quarantine and
 * pads every allocation, so the bound is looser there. */
#if defined(__SANITIZE_ADDRESS__)
#define LOAD_PEAK_MAX 6
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LOAD_PEAK_MAX 6
#endif
#endif
#ifndef LOAD_PEAK_MAX
#define LOAD_PEAK_MAX 3
#endif

/* Peak resident memory of this process (VmHWM), in bytes. */
static guint64
peak_rss (void)
{
  g_autofree char *status = NULL;
  const char *at;

  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL)
      || (at = strstr (status, "VmHWM:")) == NULL)
    return 0;
  return g_ascii_strtoull (at + 6, NULL, 10) * 1024;
}

/* The child side of test_load_peak: loads PATH in a fresh process and prints the peak resident
 * memory before and after. */
static int
measure_load (const char *path)
{
  g_autoptr (GError) error = NULL;
  guint64 before, after;
  KanSession *s;

  before = peak_rss ();
  s = kan_session_load (path, &error);
  after = peak_rss ();
  if (s == NULL)
    {
      fprintf (stderr, "%s\n", error->message);
      return 1;
    }
  printf ("%" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT " %u\n", before, after,
          (unsigned) kan_model_n_params (s->model));
  kan_session_free (s);
  return 0;
}

/* A 60 MB session (a wide model and 32 000 rows of 60 columns) loads within a small multiple of
 * its size, the text itself included. Measured in a fresh process (this program run again),
 * as the growth of its peak resident memory. */
START_TEST (test_load_peak)
{
  g_autofree char *dir = make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "big.kanvas", NULL);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (KanShape) shape = kan_shape_parse ("30,400,30", NULL, &error);
  g_autoptr (KanSession) s = kan_session_new ();
  enum { ROWS = 32000, IN = 30, OUT = 30 };
  g_autofree double *x = g_new (double, (size_t) ROWS * IN);
  g_autofree double *y = g_new (double, (size_t) ROWS * OUT);
  const char *argv[] = { "/proc/self/exe", "--measure-load", path, NULL };
  GRand *r = g_rand_new_with_seed (60);
  guint64 before = 0, after = 0, size;
  gsize len;
  int status = 0;
  unsigned n_params = 0;
  KanModelConfig cfg;

  kan_model_config_init (&cfg);
  cfg.shape = shape;
  cfg.grid = 20;
  s->model = kan_model_new (&cfg, &error);
  ck_assert_msg (s->model != NULL, "%s", error ? error->message : "");
  scramble_model (s->model, 60);
  for (size_t i = 0; i < (size_t) ROWS * IN; i++)
    x[i] = g_rand_double_range (r, -3, 3);
  for (size_t i = 0; i < (size_t) ROWS * OUT; i++)
    y[i] = g_rand_double_range (r, -1, 1);
  g_rand_free (r);
  s->data = kan_dataset_new_arrays (IN, OUT, ROWS * 3 / 4, ROWS / 4, x, y,
                                    x + (size_t) ROWS * 3 / 4 * IN, y + (size_t) ROWS * 3 / 4 * OUT,
                                    NULL, NULL);
  ck_assert_msg (kan_session_save (s, path, &error), "%s", error ? error->message : "");
  g_clear_pointer (&s, kan_session_free);
  {
    GStatBuf st;
    ck_assert (g_stat (path, &st) == 0);
    size = (guint64) st.st_size;
    len = (gsize) size;
  }
  ck_assert_uint_gt (len, 50 << 20);

  ck_assert_msg (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out,
                               &err, &status, &error), "%s", error ? error->message : "");
  ck_assert_msg (g_spawn_check_wait_status (status, NULL), "the child failed: %s", err);
  ck_assert_int_eq (sscanf (out, "%" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT " %u", &before, &after,
                            &n_params), 3);
  ck_assert_uint_gt (n_params, 500000);
  ck_assert_uint_gt (before, 0);
  fprintf (stderr, "load peak: %.1f MB for a %.1f MB file (%.2f×)\n", (after - before) / 1e6,
           size / 1e6, (double) (after - before) / (double) size);
  /* The text (1×), the parsed document and the session (about 0.4× each here). */
  ck_assert_msg (after - before <= LOAD_PEAK_MAX * size, "loading a %.1f MB file took %.1f MB (%.2f×)",
                 size / 1e6, (after - before) / 1e6, (double) (after - before) / (double) size);
  remove_tree (dir);
}
END_TEST

/* A cross-entropy session of width WIDTH on the CSV TEXT, written to DIR, whose last column is
 * the target (text labels). */
static KanSession *
class_session (const char *dir,
               const char *text,
               const char *width)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = g_build_filename (dir, "classes.csv", NULL);
  g_autofree char *header = g_strndup (text, strcspn (text, "\n"));
  KanSession *s;
  KanDataset *d;

  ck_assert (g_file_set_contents (path, text, -1, NULL));
  d = kan_dataset_from_csv (path, strrchr (header, ',') + 1, 0.25, 3, &error);
  ck_assert_msg (d != NULL, "%s", error ? error->message : "");
  ck_assert_ptr_nonnull (d->class_names);
  s = make_session (width, NULL, d);
  s->train.loss = KAN_LOSS_CE;
  return s;
}

/* Class names from text labels: saved as version 2 with data.class_names, loaded back the same;
 * files without class names stay version 1 (the v1 fixture and the other round trips), and a
 * version 1 file cannot carry them. */
START_TEST (test_round_trip_class_names)
{
  g_autofree char *dir = make_tmpdir ();
  g_autoptr (KanSession) s = class_session (dir, "a,b,ok\n0.5,1.25,yes\n-0.75,2.5,no\n"
                                            "1.5,-3.25,maybe\n2.75,0.125,yes\n-1.5,0.25,no\n"
                                            "0.0625,1.75,yes\n", "2,4,3");
  g_autoptr (KanSession) back = NULL;
  g_autofree char *json = NULL;
  g_autofree char *numeric = NULL;

  back = round_trip (s, dir, "classes.kanvas");
  ck_assert_str_eq (back->data->class_names[0], "maybe");
  ck_assert_str_eq (back->data->class_names[1], "no");
  ck_assert_str_eq (back->data->class_names[2], "yes");
  ck_assert_ptr_null (back->data->class_names[3]);
  ck_assert_int_eq (kan_dataset_n_classes (back->data), 3);
  /* Where the first text label was is not kept: messages then name the column. */
  ck_assert_ptr_null (back->data->class_source);
  json = kan_session_to_json (s, NULL);
  ck_assert_ptr_nonnull (strstr (json, "\"version\": 2,"));
  ck_assert_ptr_nonnull (strstr (json, "\"class_names\": [\"maybe\", \"no\", \"yes\"]"));

  /* The same session without class names is a version 1 document. */
  g_clear_pointer (&s->data->class_names, g_strfreev);
  numeric = kan_session_to_json (s, NULL);
  ck_assert_ptr_nonnull (strstr (numeric, "\"version\": 1,"));
  ck_assert_ptr_null (strstr (numeric, "class_names"));

  /* The optimiser "auto" is not known to version 1 readers either. */
  {
    g_autofree char *with_auto = NULL;
    g_autoptr (KanSession) back_auto = NULL;
    s->train.opt = KAN_OPT_AUTO;
    with_auto = kan_session_to_json (s, NULL);
    ck_assert_ptr_nonnull (strstr (with_auto, "\"version\": 2,"));
    ck_assert_ptr_nonnull (strstr (with_auto, "\"optimizer\": \"auto\""));
    back_auto = round_trip (s, dir, "auto.kanvas");
    ck_assert_int_eq (back_auto->train.opt, KAN_OPT_AUTO);
  }
  remove_tree (dir);
}
END_TEST

START_TEST (test_reject_class_names)
{
  g_autofree char *dir = make_tmpdir ();
  g_autoptr (KanSession) s = class_session (dir, "a,b,c\n1,2,x\n2,3,y\n3,4,z\n4,5,x\n", "2,4,3");
  g_autofree char *text = NULL;
  static const Edit edits[] = {
    BAD ("version", "1", "data: unknown field 'class_names'"),
    BAD ("data.class_names", "[\"a\", \"a\", \"b\"]", "class name 2 is a duplicate"),
    BAD ("data.class_names", "[\"a\", \"\", \"b\"]", "class name 2 is empty"),
    BAD ("data.class_names", "[\"a\", \"b\"]", "label 2 is not a class index 0 … 1"),
    BAD ("data.class_names", "[]", "the data set has 0 class names"),
    BAD ("data.class_names", "[\"a\", 2, \"b\"]", "data.class_names[1]: expected a string"),
    BAD ("data.class_names", "[\"a\", \"b\\n\", \"c\"]", "class name 2 contains a control"),
    BAD ("train.loss", "\"mse\"", "data.class_names: the labels name classes, but train.loss "
         "is 'mse'"),
  };

  text = kan_session_to_json (s, NULL);
  run_edits (text, edits, G_N_ELEMENTS (edits));
  /* A model with fewer outputs than there are classes. */
  {
    g_autoptr (KanSession) small = make_session ("2,4,2", NULL, kan_dataset_copy (s->data));
    g_autofree char *t2 = NULL;

    small->train.loss = KAN_LOSS_CE;
    t2 = kan_session_to_json (small, NULL);
    expect_error (t2, KAN_ERROR_SESSION, "the data set has 3 classes, the model 2 outputs");
  }
  remove_tree (dir);
}
END_TEST

static Suite *
session_suite (void)
{
  Suite *s = suite_create ("session");
  TCase *tc;

  tc = tcase_create ("round-trip");
  tcase_add_test (tc, test_round_trip_formula);
  tcase_add_test (tc, test_round_trip_mult_csv);
  tcase_add_test (tc, test_round_trip_arrays);
  tcase_add_test (tc, test_round_trip_empty);
  tcase_add_test (tc, test_numbers_exact);
  tcase_add_test (tc, test_deterministic);
  tcase_add_test (tc, test_fixture_v1);
  tcase_add_test (tc, test_round_trip_class_names);
  suite_add_tcase (s, tc);

  tc = tcase_create ("files");
  tcase_add_test (tc, test_atomic_save);
  tcase_add_test (tc, test_save_unwritable);
  tcase_add_test (tc, test_load_unreadable);
  suite_add_tcase (s, tc);

  tc = tcase_create ("refuse");
  tcase_add_test (tc, test_edit_harness);
  tcase_add_test (tc, test_reject_not_json);
  tcase_add_test (tc, test_reject_format_version);
  tcase_add_test (tc, test_reject_class_names);
  tcase_add_test (tc, test_reject_missing_unknown);
  tcase_add_test (tc, test_reject_types);
  tcase_add_test (tc, test_reject_lengths);
  tcase_add_test (tc, test_reject_values);
  tcase_add_test (tc, test_reject_rows);
  tcase_add_test (tc, test_reject_mismatch);
  tcase_add_test (tc, test_reject_sizes);
  tcase_add_test (tc, test_reject_huge_sizes);
  tcase_add_test (tc, test_reject_lbfgs_memory);
  tcase_add_test (tc, test_reject_deep_nesting);
  tcase_add_test (tc, test_reject_strict_json);
  tcase_add_test (tc, test_reject_file_size);
  suite_add_tcase (s, tc);

  tc = tcase_create ("memory");
  tcase_add_test (tc, test_load_peak);
  suite_add_tcase (s, tc);
  return s;
}

int
main (int    argc,
      char **argv)
{
  if (argc == 3 && strcmp (argv[1], "--measure-load") == 0)
    return measure_load (argv[2]);
  return kt_run (session_suite (), argc, argv);
}
