/* test-canon.c — the canonical form of discovered formulas (kan_canon_polish).
 *
 * Every case is a parsed formula, polished, and checked four ways: the exact text, the value on
 * random points of its domain, the node count (never above the simplified input's), and that a
 * second polish prints the same text. Near misses check that a rewrite stays within its rule.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_rng.h>

#include "kan-canon.h"
#include "kan-formula.h"
#include "test-helpers.h"

/* ck_assert marks a point on every success; inner loops use this instead. */
#define CHECK(cond, ...) \
  do { if (!(cond)) ck_abort_msg (__VA_ARGS__); } while (0)

#define N_POINTS 200
/* Polished against input, relative to max(1, |value|): rewrites reorder roundings only. */
#define REL_TOL 1e-9
/* Rows a snapping case is checked on. */
#define N_ROWS 200

typedef struct
{
  const char *in;
  const char *out;
  double      lo, hi;  /* every variable is drawn from [lo, hi] */
} Case;

static char *
text_of (const KanExpr *e,
         GStrv          vars)
{
  return kan_expr_to_string (e, (const char *const *) vars, KAN_EXPR_STYLE_TEXT);
}

/* Rows drawn from the case's domain, labelled by the input formula itself. */
static KanCanonRows
rows_new (const KanExpr *e,
          int            n_in,
          double         lo,
          double         hi,
          gsl_rng       *r)
{
  double *x = g_new (double, (size_t) N_ROWS * n_in), *y = g_new (double, N_ROWS);
  double mean = 0.0, ss = 0.0;

  for (int i = 0; i < N_ROWS; i++)
    {
      for (int j = 0; j < n_in; j++)
        x[i * n_in + j] = kt_unif (r, lo, hi);
      y[i] = kan_expr_eval (e, x + i * n_in);
      mean += y[i] / N_ROWS;
    }
  for (int i = 0; i < N_ROWS; i++)
    ss += (y[i] - mean) * (y[i] - mean);
  return (KanCanonRows) { x, n_in, y, N_ROWS, sqrt (ss / N_ROWS) };
}

static void
rows_clear (KanCanonRows *rows)
{
  g_free ((double *) rows->x);
  g_free ((double *) rows->y);
}

/* Polishes C.in (with rows when SNAP) and checks text, values, size and idempotence. Snapping
 * cases may write coefficients as roots, which adds nodes on purpose: their size is not
 * checked. */
static void
check_case (const Case *c,
            gboolean    snap)
{
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) vars = NULL;
  g_autofree char *text = NULL, *again_text = NULL;
  KanExpr *in = kan_expr_parse (c->in, NULL, &vars, &error), *simple, *out, *again;
  gsl_rng *r = gsl_rng_alloc (gsl_rng_mt19937);
  KanCanonRows rows = { 0 };
  int n_in = g_strv_length (vars), compared = 0;

  ck_assert_msg (in != NULL, "%s: %s", c->in, error ? error->message : "?");
  gsl_rng_set (r, 11);
  if (snap)
    rows = rows_new (in, n_in, c->lo, c->hi, r);
  simple = kan_expr_simplify (kan_expr_copy (in));
  out = kan_canon_polish (kan_expr_copy (in), snap ? &rows : NULL, 1e-6);
  text = text_of (out, vars);
  ck_assert_msg (strcmp (text, c->out) == 0, "polish '%s': got '%s', want '%s'", c->in, text,
                 c->out);

  again = kan_canon_polish (kan_expr_copy (out), snap ? &rows : NULL, 1e-6);
  again_text = text_of (again, vars);
  ck_assert_msg (strcmp (again_text, text) == 0, "polish '%s' twice: '%s', then '%s'", c->in,
                 text, again_text);
  if (!snap)
    ck_assert_msg (kan_expr_size (out) <= kan_expr_size (simple),
                   "polish '%s': '%s' has %d nodes, the input simplified %d", c->in, text,
                   kan_expr_size (out), kan_expr_size (simple));

  for (int p = 0; p < N_POINTS; p++)
    {
      double x[8], want, got;

      g_assert (n_in <= (int) G_N_ELEMENTS (x));
      for (int j = 0; j < n_in; j++)
        x[j] = kt_unif (r, c->lo, c->hi);
      want = kan_expr_eval (in, x);
      got = kan_expr_eval (out, x);
      if (!isfinite (want))
        continue;
      compared++;
      /* Snapping may move the value by its tolerance; the rest only by rounding. */
      CHECK (kt_close_to (got, want, snap ? 1e-5 : REL_TOL),
             "'%s' → '%s' at x0 = %.17g: %.17g, want %.17g", c->in, text, x[0], got, want);
    }
  ck_assert_msg (compared > N_POINTS / 2, "%s: too few points in the domain", c->in);

  if (snap)
    rows_clear (&rows);
  gsl_rng_free (r);
  kan_expr_free (in);
  kan_expr_free (simple);
  kan_expr_free (out);
  kan_expr_free (again);
}

static void
check_cases (const Case *cases,
             gsize       n,
             gboolean    snap)
{
  for (gsize k = 0; k < n; k++)
    check_case (&cases[k], snap);
}

/* ------------------------------------------------------------------------------------------ */
/* The rewrites                                                                                */

/* exp of a sum with log terms: exp(c·log(a) + b) = a^c·exp(b) wherever a > 0. */
START_TEST (test_exp_of_logs)
{
  static const Case cases[] = {
    { "exp(log(x1) - x2)", "x1*exp(-x2)", 0.1, 3 },
    { "exp(2*log(x) + y)", "x^2*exp(y)", 0.1, 3 },
    { "exp(-log(x) + y)", "exp(y)/x", 0.1, 3 },
    { "exp(log(x)/2 + y)", "sqrt(x)*exp(y)", 0.1, 3 },
    { "exp(1.7*log(x) - 3*log(y))", "x^1.7/y^3", 0.1, 3 },
    { "exp(log(x) + log(y))", "x*y", 0.1, 3 },
    { "exp(log(x1) - x2 + 1)", "e*x1*exp(-x2)", 0.1, 3 },
    { "exp(log(x))", "x", 0.1, 3 },
    { "2*exp(log(x + 1) - x)", "2*(x + 1)*exp(-x)", 0.1, 3 },
  };

  check_cases (cases, G_N_ELEMENTS (cases), FALSE);
}
END_TEST

/* A quotient of a sum in a sum: (a + k·C)/C = a/C + k, and the constants collect. */
START_TEST (test_split_quotient)
{
  static const Case cases[] = {
    { "(q + 0.089*C)/C - 0.089", "q/C", 0.5, 2 },
    { "(q + 0.089*C)/C", "q/C + 0.089", 0.5, 2 },
    { "(x + y)/x - 1", "y/x", 0.5, 2 },
    { "(x*y + 2*x + 1)/x - 2", "y + 1/x", 0.5, 2 },
    { "3*(x + y^2)/y^2 + z - 3", "3*x/y^2 + z", 0.5, 2 },
  };

  check_cases (cases, G_N_ELEMENTS (cases), FALSE);
}
END_TEST

/* A factor every term of a denominator carries, constant terms too, cancels against the
 * numerator's leading number (Compton's law as fitted at 1 % noise). */
START_TEST (test_common_factor)
{
  static const Case cases[] = {
    { "0.078*m*c^2/(0.078*m*c^2/E - 0.078*cos(t) + 0.078)", "m*c^2/(m*c^2/E - cos(t) + 1)",
      0.5, 2 },
    { "2*x/(4*x + 4)", "0.5*x/(x + 1)", 0.5, 2 },
    { "3/(1.5*x + 1.5*y)", "2/(x + y)", 0.5, 2 },
  };

  check_cases (cases, G_N_ELEMENTS (cases), FALSE);
}
END_TEST

/* A factor every addend of a sum shares comes out of it (the sums the terms stage writes). */
START_TEST (test_shared_factor)
{
  static const Case cases[] = {
    { "kappa*(-T_1*A + T_2*A)/d", "kappa*A*(-T_1 + T_2)/d", 0.5, 2 },
    { "2*x*y - 3*x*z*y", "x*y*(-3*z + 2)", 0.5, 2 },
    { "x*exp(y) + x*exp(y)*z", "x*exp(y)*(z + 1)", 0.5, 2 },
    { "sqrt(m^2*u^2 + m^2*v^2)", "abs(m)*sqrt(u^2 + v^2)", 0.5, 2 },
    { "a/x + b/x", "(a + b)/x", 0.5, 2 },
    { "(1/r^2 + v^2/(r^2*c^2))^(-1/2)", "abs(r)/sqrt(v^2/c^2 + 1)", 0.5, 2 },
  };
  /* On rows where m > 0, |m| is m. */
  static const Case on_rows[] = {
    { "sqrt(m^2*u^2 + m^2*v^2)", "m*sqrt(u^2 + v^2)", 0.5, 2 },
    { "(1/r^2 + v^2/(r^2*c^2))^(-1/2)", "r/sqrt(v^2/c^2 + 1)", 0.5, 2 },
  };

  check_cases (cases, G_N_ELEMENTS (cases), FALSE);
  check_cases (on_rows, G_N_ELEMENTS (on_rows), TRUE);
}
END_TEST

/* c·u² + c·v² ± 2c·u·v among the addends of a sum, in any order, is c·(u ± v)², and
 * c·R·cos u·cos v ± c·R·sin u·sin v is c·R·cos(u ∓ v); terms of other sizes, or with other
 * factors R, are left alone. */
START_TEST (test_perfect_squares)
{
  static const Case cases[] = {
    { "sqrt(-2*y1*y2 + (x1 - x2)^2 + y1^2 + y2^2)", "sqrt((x1 - x2)^2 + (y1 - y2)^2)", 0.5, 2 },
    { "x1^2 - 2*x1*x2 + x2^2", "(x1 - x2)^2", 0.5, 2 },
    { "3*a^2 + 3*b^2 + 6*a*b + c", "3*(a + b)^2 + c", 0.5, 2 },
    { "a^2 + b^2 + 3*a*b", "a^2 + b^2 + 3*a*b", 0.5, 2 },
    /* The angle between two directions: c·cos u·cos v ± c·sin u·sin v = c·cos(u ∓ v). */
    { "d*(1 - a^2)/(a*sin(t1)*sin(t2) + a*cos(t1)*cos(t2) + 1)",
      "d*(-a^2 + 1)/(a*cos(t1 - t2) + 1)", 0.5, 2 },
    { "cos(a)*cos(b) - sin(a)*sin(b)", "cos(a + b)", 0.5, 2 },
    { "cos(a)*cos(b) + 0.5*sin(a)*sin(b)", "cos(a)*cos(b) + 0.5*sin(a)*sin(b)", 0.5, 2 },
    /* … with other factors shared by both products (a law of cosines written out)… */
    { "sqrt(a^2 + b^2 - 2*a*b*sin(t1)*sin(t2) - 2*a*b*cos(t1)*cos(t2))",
      "sqrt(a^2 + b^2 - 2*a*b*cos(t1 - t2))", 0.5, 2 },
    /* … but not when they differ. */
    { "a*b*cos(t1)*cos(t2) + a*c*sin(t1)*sin(t2)", "a*(b*cos(t1)*cos(t2) + c*sin(t1)*sin(t2))",
      0.5, 2 },
  };

  check_cases (cases, G_N_ELEMENTS (cases), FALSE);
}
END_TEST

/* Phases of sin and cos that are multiples of π/2. */
START_TEST (test_trig_phases)
{
  static const Case cases[] = {
    { "sin(theta - pi/2)", "-cos(theta)", -4, 4 },
    { "sin(x + pi/2)", "cos(x)", -4, 4 },
    { "cos(x + pi/2)", "-sin(x)", -4, 4 },
    { "cos(x - pi/2)", "sin(x)", -4, 4 },
    { "sin(x + pi)", "-sin(x)", -4, 4 },
    { "cos(x - pi)", "-cos(x)", -4, 4 },
    { "sin(2*x + 3*pi/2)", "-cos(2*x)", -4, 4 },
    { "sin(x + 5*pi/2)", "cos(x)", -4, 4 },
    { "cos(pi/2 - x)", "sin(x)", -4, 4 },
    { "sin(pi/2 - x)", "cos(x)", -4, 4 },
    { "3*sin(x*y - pi/2) + 1", "-3*cos(x*y) + 1", -4, 4 },
  };

  check_cases (cases, G_N_ELEMENTS (cases), FALSE);
}
END_TEST

/* Roots of plain numbers fold into the coefficient; roots of simple values stay, on purpose. */
START_TEST (test_root_constants)
{
  static const Case folded[] = {
    { "sqrt(1.00149)*(x2 - 9.7e-05)^2", "1.0007447226940545*(x2 - 9.7e-05)^2", -2, 2 },
    { "sqrt(2)*x", "1.4142135623730951*x", -2, 2 },
  };
  static const Case snapped[] = {
    { "sqrt(1.00149)*(x2 - 9.7e-05)^2", "1.0007447226940545*(x2 - 9.7e-05)^2", -2, 2 },
    { "0.3989422804014327*exp(-x^2/2)", "exp(-0.5*x^2)/sqrt(2*pi)", -3, 3 },
    { "1.4142135623730951*x*y", "sqrt(2)*x*y", -2, 2 },
    { "-0.7071067811865476*x*y", "-x*y/sqrt(2)", -2, 2 },
    { "0.7071067811865476*x/z", "x/(z*sqrt(2))", 0.5, 2 },
  };

  check_cases (folded, G_N_ELEMENTS (folded), FALSE);
  check_cases (snapped, G_N_ELEMENTS (snapped), TRUE);
}
END_TEST

/* With rows: abs and sgn whose argument keeps one sign on the data drop out, and a power of a
 * sum whose constant dwarfs the rest is expanded so that what cancels cancels. Without rows
 * neither happens (the sign is not known). */
START_TEST (test_data_rewrites)
{
  static const Case with_rows[] = {
    { "n*exp(1.5*abs(0.5*u - 2))", "20.085536923187668*n*exp(-0.75*u)", 0.1, 2 },
    { "x*abs(x + 3)", "x*(x + 3)", -1, 1 },
    { "y*sgn(x - 5)", "-y", 0, 2 },
    { "-1.4*(-4.432132963988919e-18*(x - 475000000)^2 - 0.056841051104248336*cos(y) + 1)/x",
      "0.07957747154594766*cos(y)/x", 0.5, 2 },
  };
  static const Case without_rows[] = {
    { "x*abs(x + 3)", "x*abs(x + 3)", -1, 1 },
    { "(x - 1000)^2", "(x - 1000)^2", -1, 1 },
  };
  static const Case kept[] = {
    /* A kink inside the data, a shift of the same size as the data: nothing to do. */
    { "abs(x - 0.5)", "abs(x - 0.5)", 0, 1 },
    { "(x - 3)^2", "(x - 3)^2", -1, 1 },
  };

  check_cases (with_rows, G_N_ELEMENTS (with_rows), TRUE);
  check_cases (without_rows, G_N_ELEMENTS (without_rows), FALSE);
  check_cases (kept, G_N_ELEMENTS (kept), TRUE);
}
END_TEST

/* Powers: halves as roots, whole powers as they are. x^1.5 stays: x*sqrt(x) has a node more.
 * A lone x^(-0.5) stays too, for the same reason (1/sqrt(x) has 4 nodes, x^(-0.5) 3); next to
 * another factor the root goes below the bar. */
START_TEST (test_powers)
{
  static const Case cases[] = {
    { "x^0.5", "sqrt(x)", 0.1, 3 },
    { "x^(-0.5)", "x^(-0.5)", 0.1, 3 },
    { "y*x^(-0.5)", "y/sqrt(x)", 0.1, 3 },
    { "3*x^(-0.5)", "3/sqrt(x)", 0.1, 3 },
    { "x^1.5", "x^1.5", 0.1, 3 },
    { "x*sqrt(x)", "x^1.5", 0.1, 3 },
    { "sqrt(x)^3", "x^1.5", 0.1, 3 },
    { "sqrt(x^3)", "x^1.5", 0.1, 3 },
    { "sqrt(x)/x", "x^(-0.5)", 0.1, 3 },
    { "x^1", "x", -3, 3 },
    { "x^0", "1", -3, 3 },
  };

  check_cases (cases, G_N_ELEMENTS (cases), FALSE);
}
END_TEST

/* Equal bases of a product merge, across the fraction bar and through roots. */
START_TEST (test_products)
{
  static const Case cases[] = {
    { "x*x", "x^2", -3, 3 },
    { "x^2/x", "x", -3, 3 },
    { "sqrt(x)*sqrt(x)", "x", 0.1, 3 },
    { "2*x*3*y", "6*x*y", -3, 3 },
    { "x*y/(x*z)", "y/z", 0.5, 3 },
    { "x^3*y/x", "x^2*y", -3, 3 },
    { "2*x*0.5*y/x", "y", -3, 3 },
    { "sin(x)^2*y/sin(x)", "sin(x)*y", -3, 3 },
  };

  check_cases (cases, G_N_ELEMENTS (cases), FALSE);
}
END_TEST

/* Near misses: each looks like a rewrite above but is outside its rule. */
START_TEST (test_near_misses)
{
  static const Case cases[] = {
    /* A phase that is not a multiple of π/2. */
    { "sin(x - 1.5)", "sin(x - 1.5)", -4, 4 },
    { "cos(x + 1.57)", "cos(x + 1.57)", -4, 4 },
    { "sin(x + pi/3)", "sin(x + 1.0471975511965976)", -4, 4 },
    /* Logs that are not terms of the exponent with a numeric coefficient. */
    { "exp(log(x)^2)", "exp(log(x)^2)", 0.1, 3 },
    { "exp(y*log(x))", "exp(y*log(x))", 0.1, 3 },
    { "exp(sin(x) + y)", "exp(sin(x) + y)", -3, 3 },
    { "exp(log(x)*log(y))", "exp(log(x)*log(y))", 0.1, 3 },
    /* Roots of squares and of products are not taken apart: sqrt(x^2) = |x|. */
    { "sqrt(x^2)", "sqrt(x^2)", -3, 3 },
    { "(x^2)^0.5", "sqrt(x^2)", -3, 3 },
    { "sqrt(x*y)", "sqrt(x*y)", -3, 3 },
    { "sqrt(x)*sqrt(y)", "sqrt(x)*sqrt(y)", 0.1, 3 },
    /* A split that saves nothing, and a quotient with nothing to cancel. */
    { "(x + y)/x", "(x + y)/x", 0.5, 3 },
    { "(x + y)/z + 1", "(x + y)/z + 1", 0.5, 3 },
    { "x/y", "x/y", 0.5, 3 },
  };

  check_cases (cases, G_N_ELEMENTS (cases), FALSE);
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* Random formulas                                                                             */

/* A random tree over x0, x1 with simple constants, phases of π/2 among them. Constants that
 * do not snap are left out: canon takes a factor out of a sum when that makes more of its
 * coefficients snap, a gauge choice that may add a node or two. */
static KanExpr *
random_tree (gsl_rng *r,
             int      depth)
{
  static const double consts[] = { 0, 1, -1, 2, 0.5, 3, -0.25, 1.5, M_PI_2, -M_PI, 0.089, 7 };
  static const KanFunc funcs[] = { KAN_FUNC_SIN, KAN_FUNC_EXP, KAN_FUNC_LOG, KAN_FUNC_SQRT,
                                   KAN_FUNC_TANH, KAN_FUNC_COS };
  static const double powers[] = { 0, 1, 2, 3, -1, 0.5, -0.5, 1.5 };
  unsigned pick = gsl_rng_uniform_int (r, depth <= 0 ? 2 : 9);

  switch (pick)
    {
    case 0:
      return kan_expr_num (consts[gsl_rng_uniform_int (r, G_N_ELEMENTS (consts))]);
    case 1:
      return kan_expr_var (gsl_rng_uniform_int (r, 2));
    case 2: case 3:
      return kan_expr_binary (gsl_rng_uniform (r) < 0.5 ? KAN_EXPR_ADD : KAN_EXPR_SUB,
                              random_tree (r, depth - 1), random_tree (r, depth - 1));
    case 4: case 5:
      return kan_expr_binary (gsl_rng_uniform (r) < 0.6 ? KAN_EXPR_MUL : KAN_EXPR_DIV,
                              random_tree (r, depth - 1), random_tree (r, depth - 1));
    case 6:
      {
        double k = powers[gsl_rng_uniform_int (r, G_N_ELEMENTS (powers))];
        return kan_expr_binary (KAN_EXPR_POW, random_tree (r, depth - 1), kan_expr_num (k));
      }
    case 7:
      return kan_expr_unary (KAN_EXPR_NEG, 0, random_tree (r, depth - 1));
    default:
      return kan_expr_unary (KAN_EXPR_CALL, funcs[gsl_rng_uniform_int (r, G_N_ELEMENTS (funcs))],
                             random_tree (r, depth - 1));
    }
}

/* Whether E calls an odd function (sin, tanh, …): canon moves its sign out, sin(−u) → −sin(u),
 * so that equal terms meet, and that may cost a node where nothing takes the sign. */
static gboolean
has_odd_call (const KanExpr *e)
{
  if (e == NULL)
    return FALSE;
  if (e->kind == KAN_EXPR_CALL && e->func != KAN_FUNC_COS && e->func != KAN_FUNC_EXP
      && e->func != KAN_FUNC_LOG && e->func != KAN_FUNC_SQRT)
    return TRUE;
  return has_odd_call (e->a) || has_odd_call (e->b);
}

/* Polishing keeps values wherever the input is finite, is idempotent and, but for the signs
 * of odd functions, never adds nodes to the simplified input. The phases π/2 and π among the
 * constants fold within the tolerance of snapping, so values are compared at that tolerance. */
START_TEST (test_random_formulas)
{
  gsl_rng *r = gsl_rng_alloc (gsl_rng_mt19937);
  int compared = 0, sized = 0;

  gsl_rng_set (r, 2025);
  for (int t = 0; t < 2000; t++)
    {
      KanExpr *e = random_tree (r, 5);
      KanExpr *s = kan_expr_simplify (kan_expr_copy (e));
      KanExpr *p = kan_canon_polish (kan_expr_copy (e), NULL, 0.0);
      KanExpr *p2 = kan_canon_polish (kan_expr_copy (p), NULL, 0.0);
      g_autofree char *te = kan_expr_to_string (e, NULL, KAN_EXPR_STYLE_TEXT);
      g_autofree char *tp = kan_expr_to_string (p, NULL, KAN_EXPR_STYLE_TEXT);
      g_autofree char *tp2 = kan_expr_to_string (p2, NULL, KAN_EXPR_STYLE_TEXT);

      CHECK (strcmp (tp, tp2) == 0, "not idempotent: '%s' → '%s' → '%s'", te, tp, tp2);
      CHECK (has_odd_call (p) || kan_expr_size (p) <= kan_expr_size (s),
             "'%s' → '%s': %d nodes, simplified %d", te, tp, kan_expr_size (p),
             kan_expr_size (s));
      sized += !has_odd_call (p);
      for (int q = 0; q < 20; q++)
        {
          double x[2] = { kt_unif (r, -2, 2), kt_unif (r, -2, 2) };
          double want = kan_expr_eval (e, x), got = kan_expr_eval (p, x);

          if (!isfinite (want) || kt_largest_part (e, x) > 1e4)
            continue;
          compared++;
          CHECK (kt_close_to (got, want, 1e-6),
                 "'%s' → '%s' at (%.17g, %.17g): %.17g, want %.17g", te, tp, x[0], x[1], got,
                 want);
        }
      kan_expr_free (e);
      kan_expr_free (s);
      kan_expr_free (p);
      kan_expr_free (p2);
    }
  ck_assert_int_gt (compared, 5000);
  ck_assert_int_gt (sized, 500);
  gsl_rng_free (r);
}
END_TEST

static Suite *
canon_suite (void)
{
  Suite *s = suite_create ("canon");
  TCase *tc = tcase_create ("core");

  tcase_set_timeout (tc, 300);
  tcase_add_test (tc, test_exp_of_logs);
  tcase_add_test (tc, test_split_quotient);
  tcase_add_test (tc, test_common_factor);
  tcase_add_test (tc, test_shared_factor);
  tcase_add_test (tc, test_perfect_squares);
  tcase_add_test (tc, test_trig_phases);
  tcase_add_test (tc, test_root_constants);
  tcase_add_test (tc, test_powers);
  tcase_add_test (tc, test_data_rewrites);
  tcase_add_test (tc, test_products);
  tcase_add_test (tc, test_near_misses);
  tcase_add_test (tc, test_random_formulas);
  suite_add_tcase (s, tc);
  return s;
}

int
main (int    argc,
      char **argv)
{
  gsl_set_error_handler_off ();
  return kt_run (canon_suite (), argc, argv);
}
