/* test-formula.c — composing a locked network into formulas, simplifying and snapping them.
 *
 * The composed formula must compute what the network computes: every test builds networks by
 * hand (random functions and affines on every edge, pruned edges, multiplication nodes of
 * arity 2 and 3, node and subnode affines, several layers) and compares kan_model_eval with
 * the formula as composed, as simplified, and as printed and parsed back.
 */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_rng.h>

#include "kan-error.h"
#include "kan-expr.h"
#include "kan-formula.h"
#include "kan-model-private.h"
#include "kan-symbolic.h"
#include "test-helpers.h"

/* ck_assert marks a point on every success; inner loops use this instead. */
#define CHECK(cond, ...) \
  do { if (!(cond)) ck_abort_msg (__VA_ARGS__); } while (0)

#define N_POINTS 200
/* Formula against network, relative to max(1, |value|). */
#define REL_TOL 1e-9

/* ------------------------------------------------------------------------------------------ */
/* Helpers                                                                                     */

/* Away from zero: scales of either sign with magnitude in [0.5, 1.5]. */
static double
signed_scale (gsl_rng *r)
{
  double v = kt_unif (r, 0.5, 1.5);
  return gsl_rng_uniform (r) < 0.5 ? -v : v;
}

/* Functions defined and smooth on all of R, for any layer. */
static const char *const total_funcs[] = {
  "x", "x^2", "x^3", "x^4", "sin", "cos", "tanh", "exp", "sigmoid", "arctan", "gaussian",
  "abs", "sinh", "cosh", "besselj0", "0",
};
/* Functions with a restricted domain, used on the first layer where the inputs are in
 * [-1, 1]: the affine keeps a·x+b inside the domain (positive, or within (-1, 1)). */
static const char *const positive_funcs[] = {
  "sqrt", "log", "1/x", "1/x^2", "1/x^3", "1/sqrt(x)", "x^1.5", "x^0.5", "1/x^0.5",
};
static const char *const unit_funcs[] = { "arcsin", "arccos", "arctanh", "tan" };

static int
sym (const char *name)
{
  int id = kan_sym_lookup (name);

  ck_assert_msg (id >= 0, "no library function '%s'", name);
  return id;
}

/* Locks every edge of M to a random function with a random affine, prunes about P_OFF of
 * them, and draws random node and subnode affines. */
static void
lock_random (KanModel *m,
             gsl_rng  *r,
             double    p_off)
{
  for (int l = 0; l < m->depth; l++)
    {
      KanLayer *L = &m->layers[l];

      for (int i = 0; i < L->n_in; i++)
        for (int j = 0; j < L->n_out; j++)
          {
            double abcd[4] = { kt_unif (r, -1, 1), kt_unif (r, -1, 1), kt_unif (r, -1.5, 1.5),
                               kt_unif (r, -1, 1) };
            const char *f;
            double u = gsl_rng_uniform (r);

            if (gsl_rng_uniform (r) < p_off)
              {
                kan_model_set_edge (m, l, i, j, KAN_EDGE_OFF, 0, NULL);
                continue;
              }
            if (l == 0 && u < 0.3)
              {
                f = positive_funcs[gsl_rng_uniform_int (r, G_N_ELEMENTS (positive_funcs))];
                abcd[1] = kt_unif (r, 1.5, 2.5);
              }
            else if (l == 0 && u < 0.45)
              {
                f = unit_funcs[gsl_rng_uniform_int (r, G_N_ELEMENTS (unit_funcs))];
                abcd[0] = kt_unif (r, -0.45, 0.45);
                abcd[1] = kt_unif (r, -0.45, 0.45);
              }
            else
              f = total_funcs[gsl_rng_uniform_int (r, G_N_ELEMENTS (total_funcs))];
            kan_model_set_edge (m, l, i, j, KAN_EDGE_SYMBOLIC, sym (f), abcd);
          }
      for (int j = 0; j < L->n_out; j++)
        {
          L->subnode_scale[j] = signed_scale (r);
          L->subnode_bias[j] = kt_unif (r, -0.5, 0.5);
        }
      for (int q = 0; q < L->n_next; q++)
        {
          L->node_scale[q] = signed_scale (r);
          L->node_bias[q] = kt_unif (r, -0.5, 0.5);
        }
    }
}

/* "x1" … "xN", NULL-terminated. */
static GStrv
default_names (int n)
{
  GStrv names = g_new0 (char *, n + 1);

  for (int i = 0; i < n; i++)
    names[i] = g_strdup_printf ("x%d", i + 1);
  return names;
}

static double *
random_points (gsl_rng *r,
               int      n_in,
               size_t   n)
{
  double *x = g_new (double, n * n_in);

  for (size_t k = 0; k < n * n_in; k++)
    x[k] = kt_unif (r, -1, 1);
  return x;
}

/* Compares output O of the network (OUT, n × n_out) with E on the rows of X. Random deep
 * networks (sinh of a product of exponentials …) can overflow at some points; those are left
 * out, but nine in ten points must be finite. */
static void
expect_same_values (const KanExpr *e,
                    const double  *x,
                    int            n_in,
                    const double  *out,
                    int            n_out,
                    int            o,
                    size_t         n,
                    const char    *what)
{
  size_t finite = 0;

  for (size_t p = 0; p < n; p++)
    {
      double want = out[p * n_out + o], got = kan_expr_eval (e, x + p * n_in);

      if (!isfinite (want))
        continue;
      finite++;
      CHECK (kt_close_to (got, want, REL_TOL),
             "%s, output %d, point %zu: formula %.17g, network %.17g", what, o, p, got, want);
    }
  CHECK (finite >= n - n / 10, "%s: the network is finite at only %zu of %zu points", what,
         finite, n);
}

/* The whole pipeline on M: compose; compare raw, simplified and TEXT round trip with the
 * network on random points. Returns the simplified formulas. */
static KanExpr **
check_model (KanModel   *m,
             gsl_rng    *r,
             const char *label)
{
  int n_in = kan_model_n_in (m), n_out = kan_model_n_out (m);
  g_autofree double *x = random_points (r, n_in, N_POINTS);
  g_autofree double *out = g_new (double, N_POINTS * n_out);
  g_auto (GStrv) names = default_names (n_in);
  g_autoptr (GError) error = NULL;
  char **numeric = NULL;
  KanExpr **f;

  kan_model_eval (m, x, N_POINTS, out);
  f = kan_formula_compose (m, &numeric, &error);
  ck_assert_msg (f != NULL, "%s: %s", label, error ? error->message : "?");
  ck_assert_ptr_null (numeric);

  for (int o = 0; o < n_out; o++)
    {
      g_autofree char *raw_what = g_strdup_printf ("%s composed", label);
      g_autofree char *simp_what = g_strdup_printf ("%s simplified", label);
      g_autofree char *text_what = g_strdup_printf ("%s printed", label);
      g_autofree char *text = NULL;
      g_autoptr (KanExpr) back = NULL;

      ck_assert_ptr_nonnull (f[o]);
      ck_assert_int_lt (kan_expr_max_var (f[o]), n_in);
      expect_same_values (f[o], x, n_in, out, n_out, o, N_POINTS, raw_what);

      f[o] = kan_expr_simplify (f[o]);
      expect_same_values (f[o], x, n_in, out, n_out, o, N_POINTS, simp_what);

      text = kan_expr_to_string (f[o], (const char *const *) names, KAN_EXPR_STYLE_TEXT);
      back = kan_expr_parse (text, (const char *const *) names, NULL, &error);
      ck_assert_msg (back != NULL, "%s: '%s' does not parse: %s", label, text,
                     error ? error->message : "?");
      expect_same_values (back, x, n_in, out, n_out, o, N_POINTS, text_what);
    }
  ck_assert_ptr_null (f[n_out]);
  return f;
}

/* ------------------------------------------------------------------------------------------ */
/* Composition                                                                                 */

START_TEST (test_compose_random_networks)
{
  static const struct { const char *width, *arity; } shapes[] = {
    { "2,3,1", NULL },
    { "3,2", NULL },
    { "2,3,2,1", NULL },
    { "2,[1,2],1", "2" },
    { "2,[1,2],1", "2,3" },
    { "3,[0,1],1", "3" },
    { "3,[2,1],[1,1],2", "3,2" },
    { "4,[1,3],2,1", "2,3,2" },
  };
  gsl_rng *r = gsl_rng_alloc (gsl_rng_mt19937);

  for (gsize s = 0; s < G_N_ELEMENTS (shapes); s++)
    for (int trial = 0; trial < 6; trial++)
      {
        g_autoptr (KanModel) m = kt_model_new (shapes[s].width, shapes[s].arity, 3, 3,
                                               KAN_BASE_SILU, 7);
        g_autofree char *label = g_strdup_printf ("%s (arity %s), trial %d", shapes[s].width,
                                                  shapes[s].arity ? shapes[s].arity : "2", trial);

        gsl_rng_set (r, 1000 * s + trial + 1);
        lock_random (m, r, trial == 0 ? 0.0 : 0.2);
        /* A symbolic mask other than 1 scales its edge. */
        m->layers[0].mask_sym[0] = m->layers[0].mask_sym[0] != 0.0 ? 0.75 : 0.0;
        kan_formula_free (check_model (m, r, label));
      }
  gsl_rng_free (r);
}
END_TEST

/* A multiplication node of arity 3 multiplies all three subnodes (pykan multiplies two). */
START_TEST (test_compose_arity_three)
{
  g_autoptr (KanModel) m = kt_model_new ("3,[0,1],1", "3", 3, 3, KAN_BASE_SILU, 7);
  const double id[4] = { 1, 0, 1, 0 };
  gsl_rng *r = gsl_rng_alloc (gsl_rng_mt19937);
  KanExpr **f;
  g_autofree char *text = NULL;

  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 3; j++)
      kan_model_set_edge (m, 0, i, j, i == j ? KAN_EDGE_SYMBOLIC : KAN_EDGE_OFF, sym ("x"), id);
  kan_model_set_edge (m, 1, 0, 0, KAN_EDGE_SYMBOLIC, sym ("x"), id);

  f = check_model (m, r, "arity 3");
  text = kan_expr_to_string (f[0], NULL, KAN_EXPR_STYLE_TEXT);
  ck_assert_str_eq (text, "x1*x2*x3");
  kan_formula_free (f);
  gsl_rng_free (r);
}
END_TEST

/* Pruned edges and dead nodes leave nothing behind but the constants of their affines. */
START_TEST (test_compose_pruned)
{
  g_autoptr (KanModel) m = kt_model_new ("3,3,1", NULL, 3, 3, KAN_BASE_SILU, 7);
  gsl_rng *r = gsl_rng_alloc (gsl_rng_mt19937);
  const double abcd[4] = { 1.25, 0.5, -0.75, 0.125 };
  KanLayer *L0 = &m->layers[0];
  KanExpr **f;
  g_autofree char *text = NULL;

  gsl_rng_set (r, 99);
  lock_random (m, r, 0.0);
  /* Input x3 is cut off entirely; hidden node 1 receives nothing; node 2 is not read. */
  for (int j = 0; j < 3; j++)
    kan_model_set_edge (m, 0, 2, j, KAN_EDGE_OFF, 0, NULL);
  for (int i = 0; i < 3; i++)
    kan_model_set_edge (m, 0, i, 1, KAN_EDGE_OFF, 0, NULL);
  kan_model_set_edge (m, 1, 2, 0, KAN_EDGE_OFF, 0, NULL);
  kan_model_set_edge (m, 1, 1, 0, KAN_EDGE_SYMBOLIC, sym ("sin"), abcd);

  f = check_model (m, r, "pruned");
  ck_assert_int_le (kan_expr_max_var (f[0]), 1);
  text = kan_expr_to_string (f[0], NULL, KAN_EXPR_STYLE_TEXT);
  ck_assert_msg (strstr (text, "x3") == NULL, "%s", text);

  /* Everything off: the output is the constant of the affines. */
  for (int l = 0; l < m->depth; l++)
    for (int i = 0; i < m->layers[l].n_in; i++)
      for (int j = 0; j < m->layers[l].n_out; j++)
        kan_model_set_edge (m, l, i, j, KAN_EDGE_OFF, 0, NULL);
  (void) L0;
  kan_formula_free (f);
  f = check_model (m, r, "all pruned");
  ck_assert_int_eq (f[0]->kind, KAN_EXPR_NUM);
  kan_formula_free (f);
  gsl_rng_free (r);
}
END_TEST

START_TEST (test_compose_numeric_edges)
{
  g_autoptr (KanModel) m = kt_model_new ("2,1,1", NULL, 3, 3, KAN_BASE_SILU, 7);
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) numeric = NULL;
  const double abcd[4] = { 1, 0, 1, 0 };
  KanExpr **f;

  /* A fresh model is all splines. */
  f = kan_formula_compose (m, &numeric, &error);
  ck_assert_ptr_null (f);
  ck_assert (g_error_matches (error, KAN_ERROR, KAN_ERROR_INVALID));
  ck_assert_str_eq (error->message, "3 edges are still splines: (0,0,0), (0,1,0), (1,0,0)");
  ck_assert_ptr_nonnull (numeric);
  ck_assert_int_eq (g_strv_length (numeric), 3);
  ck_assert_str_eq (numeric[0], "(0,0,0)");
  ck_assert_str_eq (numeric[2], "(1,0,0)");
  g_clear_error (&error);
  g_clear_pointer (&numeric, g_strfreev);

  /* Spline and function summed is still a spline; a pruned edge is fine. */
  kan_model_set_edge (m, 0, 0, 0, KAN_EDGE_SYMBOLIC, sym ("sin"), abcd);
  kan_model_set_edge (m, 0, 1, 0, KAN_EDGE_BOTH, sym ("x^2"), abcd);
  kan_model_set_edge (m, 1, 0, 0, KAN_EDGE_OFF, 0, NULL);
  f = kan_formula_compose (m, &numeric, &error);
  ck_assert_ptr_null (f);
  ck_assert_str_eq (error->message, "1 edge is still a spline: (0,1,0)");
  ck_assert_int_eq (g_strv_length (numeric), 1);
  ck_assert_str_eq (numeric[0], "(0,1,0)");
  g_clear_error (&error);
  g_clear_pointer (&numeric, g_strfreev);

  /* Without a list, only the error. */
  f = kan_formula_compose (m, NULL, &error);
  ck_assert_ptr_null (f);
  ck_assert (g_error_matches (error, KAN_ERROR, KAN_ERROR_INVALID));
  g_clear_error (&error);

  kan_model_set_edge (m, 0, 1, 0, KAN_EDGE_SYMBOLIC, sym ("x^2"), abcd);
  f = kan_formula_compose (m, &numeric, &error);
  ck_assert_ptr_nonnull (f);
  ck_assert_ptr_null (numeric);
  f[0] = kan_expr_simplify (f[0]);
  ck_assert_int_eq (f[0]->kind, KAN_EXPR_NUM);  /* the only path to the output is pruned */
  kan_formula_free (f);
}
END_TEST

/* Many numeric edges: the message stops after 20, the list has them all. */
START_TEST (test_compose_many_numeric_edges)
{
  g_autoptr (KanModel) m = kt_model_new ("5,5,1", NULL, 3, 3, KAN_BASE_SILU, 7);
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) numeric = NULL;

  ck_assert_ptr_null (kan_formula_compose (m, &numeric, &error));
  ck_assert_int_eq (g_strv_length (numeric), 30);
  ck_assert_msg (g_str_has_prefix (error->message, "30 edges are still splines: (0,0,0), "),
                 "%s", error->message);
  ck_assert_msg (g_str_has_suffix (error->message, ", … (10 more)"), "%s", error->message);
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* Natural forms                                                                               */

/* exp(sin(a·x1+b)·c + d + x2^2) on [2,1,1]. */
static KanModel *
natural_model (double a,
               double c,
               double d)
{
  KanModel *m = kt_model_new ("2,1,1", NULL, 3, 3, KAN_BASE_SILU, 7);
  const double e_sin[4] = { a, 0, c, d }, e_sq[4] = { 1, 0, 1, 0 }, e_exp[4] = { 1, 0, 1, 0 };

  kan_model_set_edge (m, 0, 0, 0, KAN_EDGE_SYMBOLIC, sym ("sin"), e_sin);
  kan_model_set_edge (m, 0, 1, 0, KAN_EDGE_SYMBOLIC, sym ("x^2"), e_sq);
  kan_model_set_edge (m, 1, 0, 0, KAN_EDGE_SYMBOLIC, sym ("exp"), e_exp);
  return m;
}

static char *
formula_text (KanExpr      *e,
              KanExprStyle  style)
{
  const char *const names[] = { "x1", "x2", NULL };
  return kan_expr_to_string (e, names, style);
}

START_TEST (test_natural_form_exact)
{
  g_autoptr (KanModel) m = natural_model (M_PI, 1, 0);
  gsl_rng *r = gsl_rng_alloc (gsl_rng_mt19937);
  KanExpr **f = check_model (m, r, "natural");
  g_autofree char *plain = formula_text (f[0], KAN_EXPR_STYLE_TEXT);
  g_autofree char *snapped = NULL, *sympy = NULL, *c = NULL;

  ck_assert_str_eq (plain, "exp(sin(pi*x1) + x2^2)");
  f[0] = kan_expr_snap (f[0], KAN_SNAP_DEFAULT_TOL, KAN_SNAP_DEFAULT_MAX_DEN);
  snapped = formula_text (f[0], KAN_EXPR_STYLE_TEXT);
  ck_assert_str_eq (snapped, "exp(sin(pi*x1) + x2^2)");
  sympy = formula_text (f[0], KAN_EXPR_STYLE_SYMPY);
  ck_assert_str_eq (sympy, "exp(sin(pi*x1) + x2**2)");
  c = formula_text (f[0], KAN_EXPR_STYLE_C);
  ck_assert_str_eq (c, "exp(sin(M_PI*x1) + pow(x2, 2.0))");
  kan_formula_free (f);
  gsl_rng_free (r);
}
END_TEST

START_TEST (test_natural_form_perturbed)
{
  g_autoptr (KanModel) m = natural_model (3.14159265 + 1e-9, 0.9999999998, 1e-11);
  gsl_rng *r = gsl_rng_alloc (gsl_rng_mt19937);
  KanExpr **f = check_model (m, r, "perturbed");
  g_autofree char *plain = formula_text (f[0], KAN_EXPR_STYLE_TEXT);
  g_autofree char *snapped = NULL;

  /* Before snapping the constants show. */
  ck_assert_msg (strstr (plain, "3.141592651") != NULL && strstr (plain, "0.9999999998") != NULL,
                 "%s", plain);
  f[0] = kan_expr_snap (f[0], KAN_SNAP_DEFAULT_TOL, KAN_SNAP_DEFAULT_MAX_DEN);
  snapped = formula_text (f[0], KAN_EXPR_STYLE_TEXT);
  ck_assert_str_eq (snapped, "exp(sin(pi*x1) + x2^2)");
  kan_formula_free (f);
  gsl_rng_free (r);
}
END_TEST

/* Checked snapping on the network's own data reaches the same form. */
START_TEST (test_natural_form_checked)
{
  g_autoptr (KanModel) m = natural_model (3.14159265 + 1e-9, 0.9999999998, 1e-11);
  gsl_rng *r = gsl_rng_alloc (gsl_rng_mt19937);
  g_autofree double *x = random_points (r, 2, N_POINTS);
  g_autofree double *y = g_new (double, N_POINTS);
  g_autofree char *text = NULL;
  KanExpr **f;

  kan_model_eval (m, x, N_POINTS, y);
  f = kan_formula_compose (m, NULL, NULL);
  ck_assert_ptr_nonnull (f);
  f[0] = kan_expr_snap_checked (f[0], x, 2, y, 1, N_POINTS, 1e-6, KAN_SNAP_DEFAULT_TOL,
                                KAN_SNAP_DEFAULT_MAX_DEN);
  text = formula_text (f[0], KAN_EXPR_STYLE_TEXT);
  ck_assert_str_eq (text, "exp(sin(pi*x1) + x2^2)");
  ck_assert (kan_expr_rmse (f[0], x, 2, y, 1, N_POINTS) < 1e-6);
  kan_formula_free (f);
  gsl_rng_free (r);
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* Simplification                                                                              */

START_TEST (test_simplify_rules)
{
  static const struct { const char *in, *out; } cases[] = {
    { "0*x + 1*y + z^1 + --w", "y + z + w" },
    { "2*3 + x", "x + 6" },
    { "2*(3*x + 1) + 4", "6*x + 6" },
    { "2*(0.5*x - 3) + 1", "x - 5" },
    { "2*sin(x) + 3*sin(x)", "5*sin(x)" },
    { "sin(x) - sin(x) + y", "y" },
    { "x - x", "0" },
    { "x + 1 - 1", "x" },
    { "x*x*3", "3*x^2" },
    { "(2*x)^2", "4*x^2" },
    { "(x^2)^3", "x^6" },
    { "x/2", "0.5*x" },
    { "1/(2*x)", "0.5/x" },
    { "2*x/(4*y)", "0.5*x/y" },
    { "-(x - y)", "-x + y" },
    { "-(-x)", "x" },
    { "x^0", "1" },
    { "1^x", "1" },
    { "exp(1*(x + 0))", "exp(x)" },
    { "3*(x + y)*(x + y)", "3*(x + y)^2" },
    { "-2*x*y", "-2*x*y" },
    { "-(x*y)", "-x*y" },
    { "4 - 2*x^2 - x^2", "-3*x^2 + 4" },
    { "1*(1*(1*x + 0) + 0)^2 + 0", "x^2" },
    { "sqrt(4) + x", "x + 2" },
    { "0*log(x) + y", "y" },
    { "x*2*y*0.5", "x*y" },
    { "x/x", "x/x" },
    { "(x + 1)/(x + 1)", "(x + 1)/(x + 1)" },
    { "1/x", "1/x" },
    { "x^0.5*2", "2*x^0.5" },
  };

  for (gsize k = 0; k < G_N_ELEMENTS (cases); k++)
    {
      g_autoptr (GError) error = NULL;
      g_auto (GStrv) vars = NULL;
      KanExpr *e = kan_expr_parse (cases[k].in, NULL, &vars, &error);
      g_autofree char *text = NULL;

      ck_assert_msg (e != NULL, "%s: %s", cases[k].in, error ? error->message : "?");
      e = kan_expr_simplify (e);
      text = kan_expr_to_string (e, (const char *const *) vars, KAN_EXPR_STYLE_TEXT);
      ck_assert_msg (strcmp (text, cases[k].out) == 0, "simplify '%s': got '%s', want '%s'",
                     cases[k].in, text, cases[k].out);
      kan_expr_free (e);
    }
}
END_TEST

/* A random tree over x0, x1 with small constants. */
static KanExpr *
random_tree (gsl_rng *r,
             int      depth)
{
  static const double consts[] = { 0, 1, -1, 2, 0.5, 3, -0.25, 1.5 };
  static const KanFunc funcs[] = { KAN_FUNC_SIN, KAN_FUNC_EXP, KAN_FUNC_LOG, KAN_FUNC_SQRT,
                                   KAN_FUNC_TANH, KAN_FUNC_COS };
  unsigned pick = gsl_rng_uniform_int (r, depth <= 0 ? 2 : 9);

  switch (pick)
    {
    case 0:
      if (gsl_rng_uniform (r) < 0.6)
        return kan_expr_num (consts[gsl_rng_uniform_int (r, G_N_ELEMENTS (consts))]);
      return kan_expr_num (kt_unif (r, -2, 2));
    case 1:
      return kan_expr_var (gsl_rng_uniform_int (r, 2));
    case 2: case 3:
      return kan_expr_binary (gsl_rng_uniform (r) < 0.5 ? KAN_EXPR_ADD : KAN_EXPR_SUB,
                              random_tree (r, depth - 1), random_tree (r, depth - 1));
    case 4: case 5:
      return kan_expr_binary (gsl_rng_uniform (r) < 0.75 ? KAN_EXPR_MUL : KAN_EXPR_DIV,
                              random_tree (r, depth - 1), random_tree (r, depth - 1));
    case 6:
      {
        static const double powers[] = { 0, 1, 2, 3, -1, 0.5 };
        return kan_expr_binary (KAN_EXPR_POW, random_tree (r, depth - 1),
                                kan_expr_num (powers[gsl_rng_uniform_int (r, 6)]));
      }
    case 7:
      return kan_expr_unary (KAN_EXPR_NEG, 0, random_tree (r, depth - 1));
    default:
      return kan_expr_unary (KAN_EXPR_CALL, funcs[gsl_rng_uniform_int (r, G_N_ELEMENTS (funcs))],
                             random_tree (r, depth - 1));
    }
}


/* Simplification keeps values wherever the input is finite, and reaches a fixed point. */
START_TEST (test_simplify_fuzz)
{
  gsl_rng *r = gsl_rng_alloc (gsl_rng_mt19937);
  int compared = 0;

  gsl_rng_set (r, 2024);
  for (int t = 0; t < 3000; t++)
    {
      KanExpr *e = random_tree (r, 5);
      KanExpr *s = kan_expr_simplify (kan_expr_copy (e));
      KanExpr *s2 = kan_expr_simplify (kan_expr_copy (s));
      g_autofree char *te = kan_expr_to_string (e, NULL, KAN_EXPR_STYLE_TEXT);
      g_autofree char *ts = kan_expr_to_string (s, NULL, KAN_EXPR_STYLE_TEXT);
      g_autofree char *ts2 = kan_expr_to_string (s2, NULL, KAN_EXPR_STYLE_TEXT);

      CHECK (strcmp (ts, ts2) == 0, "not a fixed point: '%s' → '%s' → '%s'", te, ts, ts2);
      for (int p = 0; p < 20; p++)
        {
          double x[2] = { kt_unif (r, -2, 2), kt_unif (r, -2, 2) };
          double want = kan_expr_eval (e, x), got = kan_expr_eval (s, x);

          if (!isfinite (want) || kt_largest_part (e, x) > 1e4)
            continue;
          compared++;
          CHECK (kt_close_to (got, want, 1e-9),
                 "'%s' → '%s' at (%.17g, %.17g): %.17g, want %.17g", te, ts, x[0], x[1], got,
                 want);
        }
      kan_expr_free (e);
      kan_expr_free (s);
      kan_expr_free (s2);
    }
  ck_assert_int_gt (compared, 10000);
  gsl_rng_free (r);
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* Snapping                                                                                    */

START_TEST (test_snap_value)
{
  static const struct { double v, want; gboolean snaps; } cases[] = {
    { 2.0000001, 2.0, TRUE },
    { -7.0000004, -7.0, TRUE },
    { 1e-11, 0.0, TRUE },
    { 0.3333334, 1.0 / 3, TRUE },
    { -0.7142857, -5.0 / 7, TRUE },
    { 1.5707964, M_PI / 2, TRUE },
    { 6.2831853, 2 * M_PI, TRUE },
    { -3.1415927, -M_PI, TRUE },
    { 2.0943951, 2 * M_PI / 3, TRUE },
    { 0.1234567, 0, FALSE },
    { 12345.678, 0, FALSE },
    { 2.718281828, 0, FALSE },
  };

  for (gsize k = 0; k < G_N_ELEMENTS (cases); k++)
    {
      double s = 123.0;
      gboolean ok = kan_snap_value (cases[k].v, KAN_SNAP_DEFAULT_TOL, KAN_SNAP_DEFAULT_MAX_DEN, &s);

      ck_assert_msg (ok == cases[k].snaps, "%.17g: snapped %d", cases[k].v, ok);
      if (ok)
        ck_assert_msg (s == cases[k].want, "%.17g → %.17g, want %.17g", cases[k].v, s,
                       cases[k].want);
    }
  /* A wider tolerance, a smaller denominator limit. */
  {
    double s;
    ck_assert (kan_snap_value (0.334, 1e-2, 12, &s) && s == 1.0 / 3);
    ck_assert (!kan_snap_value (0.334, 1e-2, 2, &s));
    ck_assert (!kan_snap_value (NAN, 1e-2, 12, &s));
    ck_assert (!kan_snap_value (INFINITY, 1e-2, 12, &s));
  }
}
END_TEST

START_TEST (test_snap_printing)
{
  static const struct { const char *in, *out; } cases[] = {
    { "1.5707963*x + 0.33333334*y + 2.0000001", "pi/2*x + 1/3*y + 2" },
    { "6.2831853*x - 3.1415927", "2*pi*x - pi" },
    { "sin(3.14159265*x)*0.9999999 + 1e-9", "sin(pi*x)" },
    { "x^2.0000001 + 0.5000000001*y", "x^2 + 0.5*y" },
    { "-2.0943951*x", "-2*pi/3*x" },
    { "-0.6666667*x + 0.1234567", "-2/3*x + 0.1234567" },
    { "x^(1.5707963)", "x^(pi/2)" },
  };

  for (gsize k = 0; k < G_N_ELEMENTS (cases); k++)
    {
      const char *const vars[] = { "x", "y", NULL };
      g_autoptr (GError) error = NULL;
      KanExpr *e = kan_expr_parse (cases[k].in, vars, NULL, &error);
      g_autofree char *text = NULL;
      g_autoptr (KanExpr) back = NULL;

      ck_assert_msg (e != NULL, "%s: %s", cases[k].in, error ? error->message : "?");
      e = kan_expr_snap (e, KAN_SNAP_DEFAULT_TOL, KAN_SNAP_DEFAULT_MAX_DEN);
      text = kan_expr_to_string (e, vars, KAN_EXPR_STYLE_TEXT);
      ck_assert_msg (strcmp (text, cases[k].out) == 0, "snap '%s': got '%s', want '%s'",
                     cases[k].in, text, cases[k].out);
      /* The printed form reads back to the same values. */
      back = kan_expr_parse (text, vars, NULL, &error);
      ck_assert_ptr_nonnull (back);
      for (int p = 0; p < 10; p++)
        {
          double x[2] = { 0.3 + 0.17 * p, -0.4 + 0.11 * p };
          ck_assert (kt_close_to (kan_expr_eval (back, x), kan_expr_eval (e, x), 1e-14));
        }
      kan_expr_free (e);
    }
}
END_TEST

/* The one printer of an edge: exact with DIGITS 0 (what it prints evaluates to
 * c·f(a·x+b)+d), rounded with DIGITS > 0, and the zero function a constant. */
START_TEST (test_edge_to_string)
{
  static const char *const names[] = { "sin", "x", "x^2", "1/x", "exp", "tanh", "x^0.5" };
  const double abcd[4] = { 0.4968312, -3.1415927, 2.50123, -0.3487 };
  const char *const vars[] = { "x", NULL };
  int zero = kan_sym_zero ();

  for (gsize k = 0; k < G_N_ELEMENTS (names); k++)
    {
      int id = kan_sym_lookup (names[k]);
      g_autofree char *exact = kan_formula_edge_to_string (id, abcd, 0);
      g_autofree char *label = kan_formula_edge_to_string (id, abcd, 3);
      g_autoptr (GError) error = NULL;
      g_autoptr (KanExpr) back = kan_expr_parse (exact, vars, NULL, &error);

      ck_assert_int_ge (id, 0);
      ck_assert_msg (back != NULL, "%s: '%s' does not parse: %s", names[k], exact,
                     error ? error->message : "?");
      for (int p = 0; p < 9; p++)
        {
          double x = 7.0 + 0.37 * p;  /* inside the domain of every function above */
          double want = abcd[2] * kan_sym_eval (id, abcd[0] * x + abcd[1], 0.0, NULL) + abcd[3];
          CHECK (kt_close_to (kan_expr_eval (back, &x), want, 1e-12), "%s at %g: %.17g vs %.17g",
                 exact, x, kan_expr_eval (back, &x), want);
        }
      /* Three digits: no constant keeps more. */
      ck_assert_msg (strstr (label, "0.4968") == NULL && strstr (label, "3.1415") == NULL
                     && strstr (label, "0.3487") == NULL, "'%s' is not rounded", label);
      ck_assert_msg (strstr (exact, "0.4968312") != NULL || strstr (exact, "1.2426") != NULL,
                     "'%s' lost digits", exact);
    }
  {
    g_autofree char *sin3 = kan_formula_edge_to_string (kan_sym_lookup ("sin"), abcd, 3);
    g_autofree char *c = kan_formula_edge_to_string (zero, abcd, 4);

    ck_assert_str_eq (sin3, "2.5*sin(0.497*x - 3.14) - 0.349");
    ck_assert_str_eq (c, "-0.3487");
  }
  /* One word per mode, "locked" rather than "symbolic". */
  ck_assert_str_eq (kan_edge_mode_name (KAN_EDGE_OFF), "pruned");
  ck_assert_str_eq (kan_edge_mode_name (KAN_EDGE_NUMERIC), "spline");
  ck_assert_str_eq (kan_edge_mode_name (KAN_EDGE_SYMBOLIC), "locked");
  ck_assert_str_eq (kan_edge_mode_name (KAN_EDGE_BOTH), "spline+locked");
}
END_TEST

typedef struct
{
  const KanExpr *term[16];
  double         coef[16];
  int            n;
} Walked;

static void
walked_add (const KanExpr *term, double coef, gpointer data)
{
  Walked *w = data;

  ck_assert_int_lt (w->n, 16);
  w->term[w->n] = term;
  w->coef[w->n++] = coef;
}

/* The sum normal form read back: Σ coef·term + constant is the simplified expression, each
 * term once, with no numeric factor left in front. */
START_TEST (test_sum_walk)
{
  static const char *const in[] = {
    "3*x - 2*(x - y) + 4 - sin(x)*2 + 0.5*sin(x) - 7",
    "-(x*y) + 2*x*y/3 - 1e-3",
    "2*(x + 1)^2 - x",
  };
  const char *const vars[] = { "x", "y", NULL };

  for (gsize k = 0; k < G_N_ELEMENTS (in); k++)
    {
      g_autoptr (GError) error = NULL;
      KanExpr *e = kan_expr_parse (in[k], vars, NULL, &error);
      Walked w = { .n = 0 };
      double constant = 0.0;

      ck_assert_msg (e != NULL, "%s: %s", in[k], error ? error->message : "?");
      e = kan_expr_simplify (e);
      kan_expr_sum_walk (e, -2.0, walked_add, &w, &constant);
      for (int a = 0; a < w.n; a++)
        {
          ck_assert_msg (w.term[a]->kind != KAN_EXPR_NUM, "%s: a number as a term", in[k]);
          ck_assert (!(w.term[a]->kind == KAN_EXPR_MUL && w.term[a]->a->kind == KAN_EXPR_NUM));
          for (int b = a + 1; b < w.n; b++)
            ck_assert_msg (!kan_expr_equal (w.term[a], w.term[b]), "%s: a term twice", in[k]);
        }
      for (int p = 0; p < 7; p++)
        {
          double x[2] = { -1.3 + 0.41 * p, 0.7 - 0.23 * p };
          double sum = constant;

          for (int a = 0; a < w.n; a++)
            sum += w.coef[a] * kan_expr_eval (w.term[a], x);
          ck_assert_msg (kt_close_to (sum, -2.0 * kan_expr_eval (e, x), 1e-13), "%s: %g vs %g",
                         in[k], sum, -2.0 * kan_expr_eval (e, x));
        }
      kan_expr_free (e);
    }
}
END_TEST

/* Checked snapping keeps a constant the data needs and snaps the ones it does not. */
START_TEST (test_snap_checked)
{
  const char *const vars[] = { "x", NULL };
  gsl_rng *r = gsl_rng_alloc (gsl_rng_mt19937);
  double x[N_POINTS], y[2 * N_POINTS];
  KanExpr *e;
  g_autofree char *loose = NULL, *checked = NULL;

  gsl_rng_set (r, 5);
  for (int p = 0; p < N_POINTS; p++)
    {
      x[p] = kt_unif (r, -3, 3);
      y[2 * p] = 1.0004 * sin (x[p]) + 0.5;
      y[2 * p + 1] = NAN;  /* the stride skips these */
    }

  e = kan_expr_parse ("1.0004*sin(x) + 0.5000001", vars, NULL, NULL);
  e = kan_expr_snap (e, 1e-3, KAN_SNAP_DEFAULT_MAX_DEN);
  loose = kan_expr_to_string (e, vars, KAN_EXPR_STYLE_TEXT);
  ck_assert_str_eq (loose, "sin(x) + 0.5");
  kan_expr_free (e);

  e = kan_expr_parse ("1.0004*sin(x) + 0.5000001", vars, NULL, NULL);
  e = kan_expr_snap_checked (e, x, 1, y, 2, N_POINTS, 1e-9, 1e-3, KAN_SNAP_DEFAULT_MAX_DEN);
  checked = kan_expr_to_string (e, vars, KAN_EXPR_STYLE_TEXT);
  ck_assert_str_eq (checked, "1.0004*sin(x) + 0.5");
  ck_assert (kan_expr_rmse (e, x, 1, y, 2, N_POINTS) < 1e-12);
  kan_expr_free (e);

  /* An allowance large enough takes both. */
  e = kan_expr_parse ("1.0004*sin(x) + 0.5000001", vars, NULL, NULL);
  e = kan_expr_snap_checked (e, x, 1, y, 2, N_POINTS, 1e-2, 1e-3, KAN_SNAP_DEFAULT_MAX_DEN);
  g_free (checked);
  checked = kan_expr_to_string (e, vars, KAN_EXPR_STYLE_TEXT);
  ck_assert_str_eq (checked, "sin(x) + 0.5");
  kan_expr_free (e);

  /* No rows: the RMSE is NaN and nothing snaps. */
  e = kan_expr_parse ("1.0000001*x", vars, NULL, NULL);
  ck_assert (isnan (kan_expr_rmse (e, x, 1, y, 2, 0)));
  e = kan_expr_snap_checked (e, x, 1, y, 2, 0, 1.0, 1e-3, KAN_SNAP_DEFAULT_MAX_DEN);
  g_free (checked);
  checked = kan_expr_to_string (e, vars, KAN_EXPR_STYLE_TEXT);
  ck_assert_str_eq (checked, "1.0000001*x");
  kan_expr_free (e);
  gsl_rng_free (r);
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* SymPy                                                                                       */


/* SymPy reads the printed formulas with the data's own variable names and computes the
 * network's values. */
START_TEST (test_sympy_round_trip)
{
  const char *const names[] = { "temp", "vel", "rho_2", NULL };
  static const struct { const char *width, *arity; } shapes[] = {
    { "3,2,1", NULL }, { "3,[1,1],1", "3" }, { "3,3,2", NULL },
  };
  gsl_rng *r = gsl_rng_alloc (gsl_rng_mt19937);
  GString *script;
  g_autofree char *out = NULL, *err = NULL;
  char *argv[] = { "python3", "-c", NULL, NULL };
  int status, n_cases = 0;

  script = g_string_new ("import sympy\n"
                         "names = ['temp', 'vel', 'rho_2']\n"
                         "syms = {n: sympy.Symbol(n) for n in names}\n"
                         "bad = 0\ncases = [\n");
  gsl_rng_set (r, 31);
  for (gsize s = 0; s < G_N_ELEMENTS (shapes); s++)
    for (int trial = 0; trial < 3; trial++)
      {
        g_autoptr (KanModel) m = kt_model_new (shapes[s].width, shapes[s].arity, 3, 3,
                                               KAN_BASE_SILU, 7);
        g_autofree double *x = random_points (r, 3, 10);
        int n_out = kan_model_n_out (m);
        g_autofree double *y = g_new (double, 10 * n_out);
        KanExpr **f;

        lock_random (m, r, 0.1);
        kan_model_eval (m, x, 10, y);
        f = kan_formula_compose (m, NULL, NULL);
        ck_assert_ptr_nonnull (f);
        for (int o = 0; o < n_out; o++)
          {
            g_autofree char *text = NULL;

            f[o] = kan_expr_snap (f[o], KAN_SNAP_DEFAULT_TOL, KAN_SNAP_DEFAULT_MAX_DEN);
            text = kan_expr_to_string (f[o], names, KAN_EXPR_STYLE_SYMPY);
            ck_assert (strpbrk (text, "'\\") == NULL);
            for (int p = 0; p < 10; p++)
              {
                double want = kan_expr_eval (f[o], x + 3 * p);

                /* Snapping moves values by at most its tolerance; the check is of printing. */
                ck_assert (kt_close_to (want, y[p * n_out + o], 1e-4));
                g_string_append_printf (script, "  ('%s', %.17g, %.17g, %.17g, %.17g),\n", text,
                                        x[3 * p], x[3 * p + 1], x[3 * p + 2], want);
                n_cases++;
              }
          }
        kan_formula_free (f);
      }
  g_string_append (script,
                   "]\n"
                   "for text, a, b, c, want in cases:\n"
                   "    e = sympy.sympify(text, locals=syms)\n"
                   "    assert e.free_symbols <= set(syms.values()), (text, e.free_symbols)\n"
                   "    got = float(e.subs({syms['temp']: a, syms['vel']: b, syms['rho_2']: c})"
                   ".evalf(30))\n"
                   "    if not abs(got - want) <= 1e-9 * max(1.0, abs(want)):\n"
                   "        print('MISMATCH', text, got, want)\n"
                   "        bad += 1\n"
                   "print('checked', len(cases))\n"
                   "raise SystemExit(1 if bad else 0)\n");
  argv[2] = script->str;
  ck_assert (g_spawn_sync (NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err,
                           &status, NULL));
  ck_assert_msg (g_spawn_check_wait_status (status, NULL), "sympy: %s%s", out, err);
  ck_assert_msg (strstr (out, "checked") != NULL, "%s", out);
  ck_assert_int_gt (n_cases, 50);
  g_string_free (script, TRUE);
  gsl_rng_free (r);
}
END_TEST

/* ------------------------------------------------------------------------------------------ */

static Suite *
formula_suite (void)
{
  Suite *s = suite_create ("formula");
  TCase *tc = tcase_create ("core");

  tcase_set_timeout (tc, 300);
  tcase_add_test (tc, test_compose_random_networks);
  tcase_add_test (tc, test_compose_arity_three);
  tcase_add_test (tc, test_compose_pruned);
  tcase_add_test (tc, test_compose_numeric_edges);
  tcase_add_test (tc, test_compose_many_numeric_edges);
  tcase_add_test (tc, test_natural_form_exact);
  tcase_add_test (tc, test_natural_form_perturbed);
  tcase_add_test (tc, test_natural_form_checked);
  tcase_add_test (tc, test_simplify_rules);
  tcase_add_test (tc, test_simplify_fuzz);
  tcase_add_test (tc, test_snap_value);
  tcase_add_test (tc, test_snap_printing);
  tcase_add_test (tc, test_snap_checked);
  tcase_add_test (tc, test_edge_to_string);
  tcase_add_test (tc, test_sum_walk);
  suite_add_tcase (s, tc);

  /* SymPy reads the printouts back; Meson runs this case as a test of its own. */
  tc = kt_tcase_needing (s, "sympy", NULL, "sympy");
  tcase_set_timeout (tc, 300);
  tcase_add_test (tc, test_sympy_round_trip);
  return s;
}

int
main (int    argc,
      char **argv)
{
  gsl_set_error_handler_off ();
  return kt_run (formula_suite (), argc, argv);
}
