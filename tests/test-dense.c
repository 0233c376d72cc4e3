/* test-dense.c — the matrix path of wide layers (kan-dense.c) against the per-edge path: every
 * parameter kind, masks, multiplication nodes, symbolic edges, non-uniform grids, the
 * regulariser, the Jacobian, the layer-0 cache, non-finite inputs, run-to-run bits and
 * threads. */
#include "kan-dense-private.h"
#include "kan-symbolic.h"
#include "kan-train.h"
#include "test-helpers.h"

#include <gsl/gsl_errno.h>
#include <math.h>
#include <string.h>

/* ck_assert marks a point (a write to a pipe) on every success; inner loops use this instead. */
#define CHECK(cond, ...) \
  do { if (!(cond)) ck_abort_msg (__VA_ARGS__); } while (0)

/* The paths sum in other orders: every value within this much of the per-edge one, relative
 * to the largest value of its kind (an output column, one parameter block of a layer). */
#define DENSE_REL_TOL 1e-12

/* ------------------------------------------------------------------------------------------ */
/* Helpers                                                                                     */

typedef struct
{
  const char *width, *arity;
  int         G, k;
  KanBaseFun  base;
  gboolean    grid_update;   /* non-uniform knots from a grid update on the rows */
  double      masked;        /* fraction of numeric edges masked off */
  int         sym_layer;     /* layer with some symbolic edges, or -1 */
} DenseCase;

static const DenseCase dense_cases[] = {
  { "5,24,18", NULL, 5, 3, KAN_BASE_SILU, FALSE, 0.0, -1 },
  { "4,20,17", NULL, 3, 2, KAN_BASE_IDENTITY, TRUE, 0.2, -1 },
  { "6,[16,4],20,3", "2", 4, 1, KAN_BASE_SILU, TRUE, 0.15, -1 },
  { "3,[17,3],19", "3", 6, 3, KAN_BASE_ZERO, FALSE, 0.3, -1 },
  { "5,24,18", NULL, 5, 3, KAN_BASE_SILU, TRUE, 0.1, 1 },
  { "5,24,18,2", NULL, 4, 3, KAN_BASE_SILU, FALSE, 0.1, 0 },
};

#define DENSE_ROWS 157

/* Values for every parameter kind, masks and symbolic edges as the case says; stale values on
 * the masked edges (which must contribute exactly nothing). */
static void
randomize (KanModel *m, const DenseCase *c, gsl_rng *r)
{
  static const char *const fns[] = { "sin", "tanh", "x^2", "x", "cos", "gaussian" };
  int P = m->G + m->k;

  for (int l = 0; l < m->depth; l++)
    {
      KanLayer *L = &m->layers[l];
      for (int i = 0; i < L->n_in; i++)
        for (int j = 0; j < L->n_out; j++)
          {
            size_t e = (size_t) i * L->n_out + j;
            for (int q = 0; q < P; q++)
              L->coef[e * P + q] = kt_unif (r, -0.8, 0.8);
            L->scale_base[e] = kt_unif (r, -0.9, 0.9);
            L->scale_sp[e] = kt_unif (r, 0.3, 1.2);
            if (gsl_rng_uniform (r) < c->masked)
              L->mask[e] = 0.0;
            if (l == c->sym_layer && gsl_rng_uniform (r) < 0.3)
              {
                double abcd[4] = { kt_unif (r, 0.5, 1.5), kt_unif (r, -0.5, 0.5),
                                   kt_unif (r, -1.0, 1.0), kt_unif (r, -0.2, 0.2) };
                int id = kan_sym_lookup (fns[gsl_rng_uniform_int (r, G_N_ELEMENTS (fns))]);
                ck_assert_int_ge (id, 0);
                kan_model_set_edge (m, l, i, j, gsl_rng_uniform (r) < 0.5 ? KAN_EDGE_SYMBOLIC
                                                                          : KAN_EDGE_BOTH, id,
                                    abcd);
              }
          }
      kt_randomize_affines (m, l, r, 0.6);
    }
}

static double *
random_rows (gsl_rng *r, size_t n, int n_in, double lo, double hi)
{
  double *x = g_new (double, n * n_in);
  for (size_t q = 0; q < n * (size_t) n_in; q++)
    x[q] = kt_unif (r, lo, hi);
  return x;
}

/* The model of case C (seed SEED) and DENSE_ROWS rows of inputs, partly outside the grid. */
static KanModel *
case_model (const DenseCase *c, guint64 seed, double **x)
{
  KanModel *m = kt_model_new (c->width, c->arity, c->G, c->k, c->base, seed);
  gsl_rng *r = gsl_rng_alloc (gsl_rng_mt19937);

  gsl_rng_set (r, seed);
  *x = random_rows (r, DENSE_ROWS, kan_model_n_in (m), -1.25, 1.25);
  if (c->grid_update)
    ck_assert (kan_model_update_grid (m, *x, DENSE_ROWS, NULL));
  randomize (m, c, r);
  gsl_rng_free (r);
  return m;
}

typedef struct
{
  double *out, *grad, *edges, reg;
  guint   active;   /* bit l: layer l went the matrix way */
} Pass;

static void
pass_clear (Pass *p)
{
  g_free (p->out);
  g_free (p->grad);
  g_free (p->edges);
}

/* Forward, (with REG) the regulariser with its gradient, backward of a fixed ∂/∂out; the edge
 * outputs of every layer concatenated. */
static Pass
run_pass (const KanModel *m, const double *x, size_t n, KanDensePolicy policy, gboolean reg)
{
  KanWork *w = kan_work_new (m, n);
  int NO = kan_model_n_out (m);
  size_t n_edges = 0, at = 0;
  g_autofree double *dout = g_new (double, n * NO);
  Pass p = { 0 };

  kan_dense_set_policy (w, policy);
  p.out = g_new (double, n * NO);
  p.grad = g_new0 (double, kan_model_n_params (m));
  kan_model_forward (m, w, x, n, 0.0, p.out);
  for (int l = 0; l < m->depth; l++)
    p.active |= kan_dense_layer_active (w, l) ? 1u << l : 0u;
  if (reg)
    p.reg = kan_model_reg (m, w, 1.0, 2.0, 0.0, 0.0, 0.37, p.grad);
  for (size_t q = 0; q < n * NO; q++)
    dout[q] = sin (1.7 * q) * 0.6 + 0.1;
  kan_model_backward (m, w, dout, p.grad);
  for (int l = 0; l < m->depth; l++)
    n_edges += n * m->layers[l].n_in * m->layers[l].n_out;
  p.edges = g_new (double, n_edges);
  for (int l = 0; l < m->depth; l++)
    {
      size_t len = n * m->layers[l].n_in * m->layers[l].n_out;
      memcpy (p.edges + at, kan_work_edge_output (w, l), sizeof (double) * len);
      at += len;
    }
  kan_work_free (w);
  return p;
}

/* Every GOT[q] within DENSE_REL_TOL of WANT[q] relative to the largest |WANT| of the N. */
static void
assert_block_close (const double *got, const double *want, size_t n, const char *what, int l)
{
  double scale = 0.0;

  for (size_t q = 0; q < n; q++)
    scale = MAX (scale, fabs (want[q]));
  for (size_t q = 0; q < n; q++)
    CHECK (fabs (got[q] - want[q]) <= DENSE_REL_TOL * scale,
           "%s of layer %d [%zu]: %.17g, per-edge %.17g (scale %g)", what, l, q, got[q],
           want[q], scale);
}

/* N rows of outputs of M, column by column. */
static void
assert_outputs_close (const KanModel *m, const double *got, const double *want, size_t n)
{
  int NO = kan_model_n_out (m);

  for (int o = 0; o < NO; o++)
    {
      g_autofree double *ga = g_new (double, n), *gb = g_new (double, n);
      for (size_t s = 0; s < n; s++)
        {
          ga[s] = got[s * NO + o];
          gb[s] = want[s * NO + o];
        }
      assert_block_close (ga, gb, n, "output", o);
    }
}

/* The outputs column by column, the gradient block by block of every layer. */
static void
assert_pass_close (const KanModel *m, const Pass *a, const Pass *b, size_t n)
{
  int P = m->G + m->k;

  assert_outputs_close (m, a->out, b->out, n);
  for (int l = 0; l < m->depth; l++)
    {
      const KanLayer *L = &m->layers[l];
      size_t E = (size_t) L->n_in * L->n_out;
      struct { const double *p; size_t len; const char *what; } blocks[] = {
        { L->coef, E * P, "coefficient gradient" },
        { L->scale_base, E, "scale_base gradient" },
        { L->scale_sp, E, "scale_sp gradient" },
        { L->sym, E * 4, "symbolic gradient" },
        { L->subnode_scale, L->n_out, "subnode_scale gradient" },
        { L->subnode_bias, L->n_out, "subnode_bias gradient" },
        { L->node_scale, L->n_next, "node_scale gradient" },
        { L->node_bias, L->n_next, "node_bias gradient" },
      };
      for (size_t q = 0; q < G_N_ELEMENTS (blocks); q++)
        {
          size_t off = blocks[q].p - m->params;
          assert_block_close (a->grad + off, b->grad + off, blocks[q].len, blocks[q].what, l);
        }
    }
}

/* ------------------------------------------------------------------------------------------ */
/* The paths agree                                                                             */

/* Outputs and every gradient block agree with the per-edge path, the layers without symbolic
 * edges went the matrix way, and the edge outputs written on demand agree (layer 0's bit for
 * bit). The second round has the regulariser's gradient pending, with which backward goes the
 * per-edge way on the edge outputs written on demand; the regulariser agrees too. */
START_TEST (test_paths_agree)
{
  gboolean reg = _i >= (int) G_N_ELEMENTS (dense_cases);
  const DenseCase *c = &dense_cases[_i % G_N_ELEMENTS (dense_cases)];
  g_autofree double *x = NULL;
  g_autoptr (KanModel) m = case_model (c, 40 + _i, &x);
  Pass ref = run_pass (m, x, DENSE_ROWS, KAN_DENSE_NEVER, reg);
  Pass got = run_pass (m, x, DENSE_ROWS, KAN_DENSE_ALWAYS, reg);
  size_t n_edges = 0, n_edges0 = DENSE_ROWS * m->layers[0].n_in * m->layers[0].n_out;
  guint want_active = 0;

  for (int l = 0; l < m->depth; l++)
    {
      n_edges += DENSE_ROWS * m->layers[l].n_in * m->layers[l].n_out;
      if (l != c->sym_layer)
        want_active |= 1u << l;
    }
  ck_assert_uint_eq (ref.active, 0);
  ck_assert_uint_eq (got.active, want_active);
  assert_pass_close (m, &got, &ref, DENSE_ROWS);
  /* Layer 0's inputs are the same on both paths, so are its edge outputs; the next layers' see
   * inputs rounded differently. */
  ck_assert (memcmp (got.edges, ref.edges, sizeof (double) * n_edges0) == 0);
  assert_block_close (got.edges, ref.edges, n_edges, "edge outputs", -1);
  if (reg)
    {
      ck_assert (isfinite (ref.reg) && ref.reg > 0.0);
      ck_assert (fabs (got.reg - ref.reg) <= DENSE_REL_TOL * ref.reg);
    }
  pass_clear (&ref);
  pass_clear (&got);
}
END_TEST

/* The Jacobian (per sample, from the edge outputs written on demand) agrees. */
START_TEST (test_jacobian)
{
  const DenseCase *c = &dense_cases[2];
  g_autofree double *x = NULL;
  g_autoptr (KanModel) m = case_model (c, 80, &x);
  size_t n = 23, NO = kan_model_n_out (m);
  g_autofree size_t *idx = g_new (size_t, kan_model_n_params (m));
  size_t n_idx = kan_model_active_params (m, idx);
  g_autofree double *ja = g_new (double, n * NO * n_idx), *jb = g_new (double, n * NO * n_idx);
  KanDensePolicy policy[2] = { KAN_DENSE_NEVER, KAN_DENSE_ALWAYS };
  double *jac[2] = { ja, jb };

  for (int q = 0; q < 2; q++)
    {
      KanWork *w = kan_work_new (m, n);
      kan_dense_set_policy (w, policy[q]);
      kan_model_forward (m, w, x, n, 0.0, NULL);
      ck_assert (kan_dense_layer_active (w, 0) == (q == 1));
      kan_model_jacobian (m, w, idx, n_idx, jac[q]);
      kan_work_free (w);
    }
  assert_block_close (jb, ja, n * NO * n_idx, "Jacobian", -1);
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* Caches, non-finite inputs, bits                                                             */

/* Layer 0's features are cached with its bases: new rows behind the same pointer (after
 * kan_work_input_changed), another row count and new knots are all seen. */
START_TEST (test_layer0_cache)
{
  const DenseCase *c = &dense_cases[0];
  g_autofree double *x = NULL;
  g_autoptr (KanModel) m = case_model (c, 90, &x);
  int NO = kan_model_n_out (m);
  KanWork *w = kan_work_new (m, DENSE_ROWS);
  g_autofree double *out = g_new (double, DENSE_ROWS * NO);
  gsl_rng *r = gsl_rng_alloc (gsl_rng_mt19937);

  kan_dense_set_policy (w, KAN_DENSE_ALWAYS);
  gsl_rng_set (r, 91);
  kan_model_forward (m, w, x, DENSE_ROWS, 0.0, out);
  for (int step = 0; step < 3; step++)
    {
      size_t n = step == 1 ? DENSE_ROWS - 40 : DENSE_ROWS;
      Pass ref;
      if (step == 0)
        {
          for (size_t q = 0; q < DENSE_ROWS * (size_t) kan_model_n_in (m); q++)
            x[q] = kt_unif (r, -1.1, 1.1);
          kan_work_input_changed (w);
        }
      else if (step == 2)
        ck_assert (kan_model_update_grid (m, x, DENSE_ROWS, NULL));
      kan_model_forward (m, w, x, n, 0.0, out);
      ck_assert (kan_dense_layer_active (w, 0));
      ref = run_pass (m, x, n, KAN_DENSE_NEVER, FALSE);
      assert_outputs_close (m, out, ref.out, n);
      pass_clear (&ref);
    }
  gsl_rng_free (r);
  kan_work_free (w);
}
END_TEST

/* An input node whose edges are all masked contributes exactly nothing, even when its input is
 * NaN: the matrix path (where 0·NaN would spread) leaves that layer to the per-edge pass. */
START_TEST (test_nonfinite_masked_input)
{
  g_autoptr (KanModel) m = kt_model_new ("3,32,2", NULL, 5, 3, KAN_BASE_SILU, 7);
  gsl_rng *r = gsl_rng_alloc (gsl_rng_mt19937);
  g_autofree double *x = NULL;
  DenseCase c = { "3,32,2", NULL, 5, 3, KAN_BASE_SILU, FALSE, 0.0, -1 };
  Pass ref, got;

  gsl_rng_set (r, 8);
  x = random_rows (r, DENSE_ROWS, 3, -1.0, 1.0);
  randomize (m, &c, r);
  for (int j = 0; j < 32; j++)
    m->layers[0].mask[j] = 0.0;   /* every edge of input node 0 */
  for (size_t s = 0; s < DENSE_ROWS; s += 3)
    x[s * 3] = s % 2 ? NAN : INFINITY;
  ref = run_pass (m, x, DENSE_ROWS, KAN_DENSE_NEVER, FALSE);
  got = run_pass (m, x, DENSE_ROWS, KAN_DENSE_ALWAYS, FALSE);
  ck_assert_uint_eq (got.active, 2u);   /* layer 1 only */
  for (size_t q = 0; q < DENSE_ROWS * 2; q++)
    CHECK (isfinite (got.out[q]), "output %zu is %g", q, got.out[q]);
  assert_pass_close (m, &got, &ref, DENSE_ROWS);
  pass_clear (&ref);
  pass_clear (&got);
  gsl_rng_free (r);
}
END_TEST

/* The matrix path gives the same bits run to run. */
START_TEST (test_bits_repeat)
{
  const DenseCase *c = &dense_cases[2];
  g_autofree double *x = NULL;
  g_autoptr (KanModel) m = case_model (c, 100, &x);
  Pass a = run_pass (m, x, DENSE_ROWS, KAN_DENSE_ALWAYS, FALSE);
  Pass b = run_pass (m, x, DENSE_ROWS, KAN_DENSE_ALWAYS, FALSE);

  ck_assert (memcmp (a.out, b.out, sizeof (double) * DENSE_ROWS * kan_model_n_out (m)) == 0);
  ck_assert (memcmp (a.grad, b.grad, sizeof (double) * kan_model_n_params (m)) == 0);
  pass_clear (&a);
  pass_clear (&b);
}
END_TEST

/* The size rule: a wide layer goes the matrix way by default; T1's [2,5,1], a narrow layer
 * and a fine grid do not. */
START_TEST (test_size_rule)
{
  struct { const char *width; int G; size_t n; guint want; } rule[] = {
    { "40,32,1", 5, 400, 1u },
    { "2,5,1", 5, 1000, 0u },
    { "100,8", 5, 1000, 0u },
    { "40,32,1", 40, 400, 0u },
  };

  for (size_t q = 0; q < G_N_ELEMENTS (rule); q++)
    {
      g_autoptr (KanModel) m = kt_model_new (rule[q].width, NULL, rule[q].G, 3, KAN_BASE_SILU, 3);
      gsl_rng *r = gsl_rng_alloc (gsl_rng_mt19937);
      g_autofree double *x = NULL;
      Pass p;
      gsl_rng_set (r, q);
      x = random_rows (r, rule[q].n, kan_model_n_in (m), -1.0, 1.0);
      p = run_pass (m, x, rule[q].n, KAN_DENSE_AUTO, FALSE);
      ck_assert_msg (p.active == rule[q].want, "%s G=%d: layers %#x", rule[q].width, rule[q].G,
                     p.active);
      pass_clear (&p);
      gsl_rng_free (r);
    }
}
END_TEST

/* A forward after one whose edge outputs were read (as training with the regulariser reads
 * them every time) goes the per-edge way under the size rule; after one whose were not, the
 * matrix way again. */
START_TEST (test_edges_read)
{
  g_autoptr (KanModel) m = kt_model_new ("40,32,1", NULL, 5, 3, KAN_BASE_SILU, 3);
  gsl_rng *r = gsl_rng_alloc (gsl_rng_mt19937);
  g_autofree double *x = NULL;
  KanWork *w = kan_work_new (m, 400);
  gboolean read[] = { TRUE, TRUE, FALSE, FALSE, TRUE };
  gboolean want[] = { TRUE, FALSE, FALSE, TRUE, TRUE };

  gsl_rng_set (r, 12);
  x = random_rows (r, 400, 40, -1.0, 1.0);
  for (size_t q = 0; q < G_N_ELEMENTS (read); q++)
    {
      kan_model_forward (m, w, x, 400, 0.0, NULL);
      ck_assert_msg (kan_dense_layer_active (w, 0) == want[q], "forward %zu", q);
      if (read[q])
        ck_assert (kan_work_edge_output (w, 0) != NULL);
    }
  kan_work_free (w);
  gsl_rng_free (r);
}
END_TEST

/* The trainer on two threads (each its own rows, workspace and matrix products) gives the same
 * bits run to run, and agrees with one thread. */
START_TEST (test_trainer_threads)
{
  const DenseCase c = { "8,32,4", NULL, 5, 3, KAN_BASE_SILU, FALSE, 0.1, -1 };
  size_t n = 700;
  g_autoptr (KanModel) m = kt_model_new (c.width, NULL, c.G, c.k, c.base, 5);
  gsl_rng *r = gsl_rng_alloc (gsl_rng_mt19937);
  g_autofree double *x = NULL, *y = NULL;
  g_autoptr (KanDataset) d = NULL;
  size_t np = kan_model_n_params (m);
  g_autofree double *g1 = g_new (double, np), *g2 = g_new (double, np), *g3 = g_new (double, np);
  double loss[3];
  double *grads[3] = { g1, g2, g3 };
  int threads[3] = { 2, 2, 1 };

  gsl_rng_set (r, 6);
  x = random_rows (r, n, 8, -1.0, 1.0);
  y = random_rows (r, n, 4, 0.0, 1.0);
  randomize (m, &c, r);
  d = kan_dataset_new_arrays (8, 4, n, 0, x, y, NULL, NULL, NULL, NULL);
  for (int q = 0; q < 3; q++)
    {
      KanTrainConfig cfg;
      g_autoptr (GError) error = NULL;
      KanTrainer *t;
      kan_train_config_init (&cfg);
      cfg.threads = threads[q];
      t = kan_trainer_new (m, d, &cfg, &error);
      ck_assert_msg (t != NULL, "%s", error ? error->message : "");
      loss[q] = kan_trainer_evaluate (t, grads[q]);
      kan_trainer_free (t);
    }
  ck_assert (memcmp (&loss[0], &loss[1], sizeof (double)) == 0);
  ck_assert (memcmp (g1, g2, sizeof (double) * np) == 0);
  ck_assert (fabs (loss[0] - loss[2]) <= DENSE_REL_TOL * loss[2]);
  assert_block_close (g1, g3, np, "gradient, 2 threads against 1", -1);
  gsl_rng_free (r);
}
END_TEST

/* ------------------------------------------------------------------------------------------ */

static Suite *
dense_suite (void)
{
  Suite *s = suite_create ("dense");
  TCase *tc;

  tc = tcase_create ("paths");
  tcase_set_timeout (tc, 120);
  tcase_add_loop_test (tc, test_paths_agree, 0, 2 * G_N_ELEMENTS (dense_cases));
  tcase_add_test (tc, test_jacobian);
  suite_add_tcase (s, tc);

  tc = tcase_create ("state");
  tcase_set_timeout (tc, 120);
  tcase_add_test (tc, test_layer0_cache);
  tcase_add_test (tc, test_nonfinite_masked_input);
  tcase_add_test (tc, test_bits_repeat);
  tcase_add_test (tc, test_size_rule);
  tcase_add_test (tc, test_edges_read);
  tcase_add_test (tc, test_trainer_threads);
  suite_add_tcase (s, tc);
  return s;
}

int
main (int    argc,
      char **argv)
{
  gsl_set_error_handler_off ();
  return kt_run (dense_suite (), argc, argv);
}
