/* test-expr.c — the expression parser, evaluator and printers. */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_rng.h>
#include <gsl/gsl_sf_bessel.h>
#include <gsl/gsl_sf_gamma.h>
#include <glib/gstdio.h>

#include "kan-error.h"
#include "kan-expr.h"
#include "test-helpers.h"

/* Same value, NaN matching NaN. */
static gboolean
same_value (double a,
            double b)
{
  if (isnan (a) || isnan (b))
    return isnan (a) && isnan (b);
  return a == b;
}


static double
eval_text (const char   *text,
           const double *x)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (KanExpr) e = kan_expr_parse (text, NULL, NULL, &error);

  ck_assert_msg (e != NULL, "'%s' did not parse: %s", text, error ? error->message : "?");
  return kan_expr_eval (e, x);
}

/* Parses TEXT expecting a KAN_ERROR_PARSE whose message contains every NULL-terminated
 * fragment. */
static void
expect_parse_error (const char        *text,
                    const char *const *vars,
                    ...)
{
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) out_vars = NULL;
  KanExpr *e = kan_expr_parse (text, vars, &out_vars, &error);
  va_list args;
  const char *frag;

  ck_assert_msg (e == NULL, "'%s' parsed but should not", text);
  ck_assert_ptr_null (out_vars);
  ck_assert_msg (g_error_matches (error, KAN_ERROR, KAN_ERROR_PARSE), "'%s': wrong error", text);
  va_start (args, vars);
  while ((frag = va_arg (args, const char *)) != NULL)
    ck_assert_msg (strstr (error->message, frag) != NULL, "'%s': message '%s' lacks '%s'", text,
                   error->message, frag);
  va_end (args);
}

/* ------------------------------------------------------------------------------------------ */

START_TEST (test_precedence)
{
  const double x[] = { 1.7315 };
  const struct { const char *text; double want; } cases[] = {
    { "2+3*4", 14.0 },
    { "2*3+4", 10.0 },
    { "10-4-3", 3.0 },
    { "8/4/2", 1.0 },
    { "2^3^2", 512.0 },
    { "2**3**2", 512.0 },
    { "(2^3)^2", 64.0 },
    { "-2^2", -4.0 },
    { "(-2)^2", 4.0 },
    { "2^-1", 0.5 },
    { "2^-1^2", 0.5 },             /* 2^(-(1^2)) */
    { "-x^2", -(1.7315 * 1.7315) },
    { "+-+x", -1.7315 },
    { "- -x", 1.7315 },
    { "2*-x", -2 * 1.7315 },
    { "x/-2", 1.7315 / -2 },
    { "3-2*x^2/4", 3 - 2 * (1.7315 * 1.7315) / 4 },
    { "1e-3+.5", 0.501 },
    { "3.25e+2 - 2.5E2", 75.0 },
    { "5.", 5.0 },
    { "pi", M_PI },
    { "e", M_E },
    { "2*pi*x", 2 * M_PI * 1.7315 },
    { "\xcf\x80 \xc3\x97 2 \xe2\x88\x92 1", 2 * M_PI - 1 },  /* π × 2 − 1 */
    { "  ( ( x ) )  ", 1.7315 },
    { "x^0.5^2", pow (1.7315, 0.25) },
    { "2^x^2", pow (2.0, 1.7315 * 1.7315) },
    { "-(x - 3) * (x + 2)", -(1.7315 - 3) * (1.7315 + 2) },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      double got = eval_text (cases[i].text, x);
      ck_assert_msg (kt_close_to (got, cases[i].want, 1e-15), "'%s' = %.17g, want %.17g",
                     cases[i].text, got, cases[i].want);
    }
}
END_TEST

START_TEST (test_structure)
{
  g_autoptr (KanExpr) a = kan_expr_parse ("-x^2", NULL, NULL, NULL);
  g_autoptr (KanExpr) b = kan_expr_parse ("a-b-c", NULL, NULL, NULL);
  g_autoptr (KanExpr) c = kan_expr_parse ("a^b^c", NULL, NULL, NULL);

  /* -x^2 = -(x^2) */
  ck_assert_int_eq (a->kind, KAN_EXPR_NEG);
  ck_assert_int_eq (a->a->kind, KAN_EXPR_POW);
  /* left-associative subtraction */
  ck_assert_int_eq (b->kind, KAN_EXPR_SUB);
  ck_assert_int_eq (b->a->kind, KAN_EXPR_SUB);
  ck_assert_int_eq (b->b->kind, KAN_EXPR_VAR);
  /* right-associative power */
  ck_assert_int_eq (c->kind, KAN_EXPR_POW);
  ck_assert_int_eq (c->a->kind, KAN_EXPR_VAR);
  ck_assert_int_eq (c->b->kind, KAN_EXPR_POW);
}
END_TEST

typedef double (*RefFunc) (double);

static double ref_sign (double x) { return x > 0 ? 1.0 : x < 0 ? -1.0 : 0.0; }
static double ref_sigmoid (double x) { return 1.0 / (1.0 + exp (-x)); }

START_TEST (test_functions)
{
  const struct { const char *name; const char *alias; RefFunc ref; double lo, hi; } funcs[] = {
    [KAN_FUNC_SIN] = { "sin", NULL, sin, -7.3, 9.1 },
    [KAN_FUNC_COS] = { "cos", NULL, cos, -7.3, 9.1 },
    [KAN_FUNC_TAN] = { "tan", NULL, tan, -1.4, 1.4 },
    [KAN_FUNC_ASIN] = { "asin", "arcsin", asin, -0.99, 0.99 },
    [KAN_FUNC_ACOS] = { "acos", "arccos", acos, -0.99, 0.99 },
    [KAN_FUNC_ATAN] = { "atan", "arctan", atan, -13.0, 17.0 },
    [KAN_FUNC_SINH] = { "sinh", NULL, sinh, -5.0, 5.0 },
    [KAN_FUNC_COSH] = { "cosh", NULL, cosh, -5.0, 5.0 },
    [KAN_FUNC_TANH] = { "tanh", NULL, tanh, -5.0, 5.0 },
    [KAN_FUNC_ASINH] = { "asinh", "arcsinh", asinh, -9.0, 9.0 },
    [KAN_FUNC_ACOSH] = { "acosh", "arccosh", acosh, 1.01, 9.0 },
    [KAN_FUNC_ATANH] = { "atanh", "arctanh", atanh, -0.99, 0.99 },
    [KAN_FUNC_EXP] = { "exp", NULL, exp, -7.0, 7.0 },
    [KAN_FUNC_LOG] = { "log", "ln", log, 0.013, 91.0 },
    [KAN_FUNC_SQRT] = { "sqrt", NULL, sqrt, 0.0, 91.0 },
    [KAN_FUNC_ABS] = { "abs", NULL, fabs, -5.0, 5.0 },
    [KAN_FUNC_SIGN] = { "sign", "sgn", ref_sign, -5.0, 5.0 },
    [KAN_FUNC_SIGMOID] = { "sigmoid", NULL, ref_sigmoid, -9.0, 9.0 },
    [KAN_FUNC_ERF] = { "erf", NULL, erf, -3.0, 3.0 },
    [KAN_FUNC_GAMMA] = { "gamma", NULL, gsl_sf_gamma, 0.037, 17.3 },
    [KAN_FUNC_BESSELJ0] = { "besselj0", NULL, gsl_sf_bessel_J0, -23.0, 29.0 },
    [KAN_FUNC_BESSELJ1] = { "besselj1", NULL, gsl_sf_bessel_J1, -23.0, 29.0 },
    [KAN_FUNC_BESSELY0] = { "bessely0", NULL, gsl_sf_bessel_Y0, 0.013, 29.0 },
    [KAN_FUNC_BESSELY1] = { "bessely1", NULL, gsl_sf_bessel_Y1, 0.013, 29.0 },
  };
  G_STATIC_ASSERT (G_N_ELEMENTS (funcs) == KAN_FUNC_N_FUNCS);

  for (int f = 0; f < KAN_FUNC_N_FUNCS; f++)
    {
      KanFunc found;

      ck_assert_str_eq (kan_func_name (f), funcs[f].name);
      ck_assert (kan_func_lookup (funcs[f].name, &found));
      ck_assert_int_eq (found, f);
      if (funcs[f].alias != NULL)
        {
          ck_assert (kan_func_lookup (funcs[f].alias, &found));
          ck_assert_int_eq (found, f);
        }

      for (int k = 0; k < 17; k++)
        {
          double x = funcs[f].lo + (funcs[f].hi - funcs[f].lo) * (k + 0.382) / 17.0;
          double want = funcs[f].ref (x);
          g_autofree char *t1 = g_strdup_printf ("%s(x)", funcs[f].name);
          g_autofree char *t2 = g_strdup_printf ("%s ( x )", funcs[f].alias ? funcs[f].alias
                                                                           : funcs[f].name);

          ck_assert_msg (same_value (kan_func_eval (f, x), want), "%s(%g)", funcs[f].name, x);
          ck_assert (same_value (eval_text (t1, &x), want));
          ck_assert (same_value (eval_text (t2, &x), want));
        }
    }
  ck_assert (!kan_func_lookup ("foo", NULL));
  ck_assert (!kan_func_lookup ("Sin", NULL));
  ck_assert (!kan_func_lookup ("", NULL));
}
END_TEST

/* Arguments where GSL would call its (aborting) error handler: the test keeps GSL's default
 * handler, so any such call would kill it. */
START_TEST (test_function_edges)
{
  const double inputs[] = { 0.0, -0.0, -1.0, -3.0, 1e-320, -1e-320, 1e-300, 2.3e-308, 1e17,
                            1e300, -1e300, 171.6, 200.0, -171.5, -200.5, -2.9999999999999996,
                            INFINITY, -INFINITY, NAN };

  for (int f = 0; f < KAN_FUNC_N_FUNCS; f++)
    for (gsize i = 0; i < G_N_ELEMENTS (inputs); i++)
      (void) kan_func_eval (f, inputs[i]);

  ck_assert (isinf (kan_func_eval (KAN_FUNC_BESSELY0, 0.0))
             && kan_func_eval (KAN_FUNC_BESSELY0, 0.0) < 0);
  ck_assert (isnan (kan_func_eval (KAN_FUNC_BESSELY1, -2.5)));
  ck_assert (kan_func_eval (KAN_FUNC_BESSELJ0, INFINITY) == 0.0);
  ck_assert (kt_close_to (kan_func_eval (KAN_FUNC_BESSELY0, 1e17), y0 (1e17), 1e-12));
  ck_assert (kan_func_eval (KAN_FUNC_BESSELJ1, 1e-320) == 0.5 * 1e-320);
  ck_assert (kan_func_eval (KAN_FUNC_GAMMA, 200.0) == INFINITY);
  ck_assert (kt_close_to (kan_func_eval (KAN_FUNC_GAMMA, -0.5), -2.0 * sqrt (M_PI), 1e-14));
  ck_assert (!isfinite (kan_func_eval (KAN_FUNC_GAMMA, -3.0)));
  ck_assert (isnan (kan_func_eval (KAN_FUNC_SIGN, NAN)));
  ck_assert (kan_func_eval (KAN_FUNC_SIGN, -0.0) == 0.0);
  ck_assert (kan_func_eval (KAN_FUNC_SIGMOID, -1000.0) == 0.0);
}
END_TEST

START_TEST (test_natural_order)
{
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) vars = NULL;
  g_autoptr (KanExpr) e = kan_expr_parse ("x10 + 3*x2 - y/x1 + 7*x10 + x02b", NULL, &vars,
                                          &error);
  const double v[] = { 2.5, 1.25, 0.75, 11.5, 4.0 };  /* x1 x2 x02b x10 y */

  ck_assert_ptr_nonnull (e);
  ck_assert_int_eq (g_strv_length (vars), 5);
  ck_assert_str_eq (vars[0], "x1");
  ck_assert_str_eq (vars[1], "x2");
  ck_assert_str_eq (vars[2], "x02b");
  ck_assert_str_eq (vars[3], "x10");
  ck_assert_str_eq (vars[4], "y");
  ck_assert_int_eq (kan_expr_max_var (e), 4);
  ck_assert (kan_expr_eval (e, v) == 11.5 + 3 * 1.25 - 4.0 / 2.5 + 7 * 11.5 + 0.75);

  {
    g_auto (GStrv) v2 = NULL;
    g_autoptr (KanExpr) e2 = kan_expr_parse ("b + a + a9 + a10 + a100 + _z + B", NULL, &v2, NULL);
    const char *want[] = { "B", "_z", "a", "a9", "a10", "a100", "b" };

    ck_assert_ptr_nonnull (e2);
    ck_assert_int_eq (g_strv_length (v2), G_N_ELEMENTS (want));
    for (gsize i = 0; i < G_N_ELEMENTS (want); i++)
      ck_assert_str_eq (v2[i], want[i]);
  }
  {
    g_auto (GStrv) v3 = NULL;
    g_autoptr (KanExpr) e3 = kan_expr_parse ("2*pi + e", NULL, &v3, NULL);

    ck_assert_ptr_nonnull (v3);
    ck_assert_int_eq (g_strv_length (v3), 0);
    ck_assert_int_eq (kan_expr_max_var (e3), -1);
  }
}
END_TEST

START_TEST (test_given_vars)
{
  const char *const vars[] = { "x1", "x2", NULL };
  const char *const with_e[] = { "e", "gamma", NULL };
  g_auto (GStrv) out = NULL;
  g_autoptr (KanExpr) e = kan_expr_parse ("x2 - x1", vars, &out, NULL);
  g_autoptr (KanExpr) f = kan_expr_parse ("e*gamma + gamma(e)", with_e, NULL, NULL);
  const double v[] = { 0.375, 2.125 };

  ck_assert_ptr_nonnull (e);
  ck_assert (kan_expr_eval (e, v) == 2.125 - 0.375);
  ck_assert_int_eq (g_strv_length (out), 2);
  ck_assert_str_eq (out[1], "x2");
  /* Listed names win over constants; a name followed by '(' is still a function. */
  ck_assert_ptr_nonnull (f);
  ck_assert (kt_close_to (kan_expr_eval (f, v), 0.375 * 2.125 + tgamma (0.375), 1e-15));

  expect_parse_error ("1+z*x1", vars, "unknown variable 'z' at position 3",
                      "(variables: x1, x2)", NULL);
  expect_parse_error ("y", (const char *const[]) { NULL }, "unknown variable 'y' at position 1",
                      NULL);
}
END_TEST

START_TEST (test_errors)
{
  expect_parse_error ("", NULL, "position 1", "empty", NULL);
  expect_parse_error (" \t\n ", NULL, "position 1", "empty", NULL);
  expect_parse_error ("x1 + foo(x2)", NULL, "position 6: unknown function 'foo'", NULL);
  expect_parse_error ("sin(x) + (x1*(x2 - 1)", NULL, "position 22: unbalanced parenthesis",
                      "position 10", NULL);
  expect_parse_error ("sin(x1 + 2", NULL, "position 11: unbalanced parenthesis", NULL);
  expect_parse_error ("(x1 + 2))", NULL, "position 9: unbalanced parenthesis", NULL);
  expect_parse_error (")", NULL, "position 1: unbalanced parenthesis", NULL);
  expect_parse_error ("x1 +", NULL, "position 5: expected an operand after '+'", NULL);
  expect_parse_error ("x1 + * 2", NULL, "position 6: expected an operand after '+'", NULL);
  expect_parse_error ("x1 ** ", NULL, "position 7: expected an operand after '**'", NULL);
  expect_parse_error ("(3 / )", NULL, "position 6: expected an operand after '/'", NULL);
  expect_parse_error ("3 / )", NULL, "position 5: unbalanced parenthesis", NULL);
  expect_parse_error ("* 2", NULL, "position 1: expected an operand", NULL);
  expect_parse_error ("2x", NULL, "position 2: missing operator between '2' and 'x'", NULL);
  expect_parse_error ("x y", NULL, "position 3: unexpected 'y'", NULL);
  expect_parse_error ("x $ y", NULL, "position 3: unexpected '$'", NULL);
  expect_parse_error ("x + \xc3\xa9", NULL, "position 5: unexpected character '\xc3\xa9'", NULL);
  expect_parse_error ("x + \xff", NULL, "position 5: invalid UTF-8", NULL);
  expect_parse_error ("atan(1, 2)", NULL, "position 7", "one argument", NULL);
  expect_parse_error ("1, 2", NULL, "position 2", "','", NULL);
  expect_parse_error ("1.2.3", NULL, "position 4: malformed number", NULL);
  expect_parse_error ("1e+", NULL, "position 1: malformed number '1e+'", NULL);
  expect_parse_error ("2 + 1e999", NULL, "position 5: number '1e999' is too large", NULL);
  expect_parse_error ("sin x", NULL, "position 1: function 'sin' needs its argument", NULL);
  expect_parse_error ("sin()", NULL, "position 5: function 'sin' needs an argument", NULL);
  expect_parse_error ("pi(2)", NULL, "position 1: 'pi' is a constant", NULL);
  expect_parse_error ("()", NULL, "position 2: empty parentheses", NULL);
  expect_parse_error (".", NULL, "position 1: unexpected character '.'", NULL);
  expect_parse_error ("x^", NULL, "position 3: expected an operand after '^'", NULL);
  expect_parse_error ("(x))(", NULL, "position 4: unbalanced parenthesis", NULL);
  expect_parse_error ("exp(x", NULL, "position 6", "'(' at position 4 is never closed", NULL);
  expect_parse_error ("exp(x]", NULL, "position 6: expected ')' or an operator, found ']'",
                      NULL);
}
END_TEST

START_TEST (test_depth_limits)
{
  GString *s = g_string_new (NULL);
  g_autoptr (KanExpr) ok = NULL;

  /* 150 nested parentheses are fine ... */
  for (int i = 0; i < 150; i++)
    g_string_append_c (s, '(');
  g_string_append_c (s, 'x');
  for (int i = 0; i < 150; i++)
    g_string_append_c (s, ')');
  ok = kan_expr_parse (s->str, NULL, NULL, NULL);
  ck_assert_ptr_nonnull (ok);

  /* ... 250 are not, nor are deep chains of signs, powers or calls. */
  g_string_truncate (s, 0);
  for (int i = 0; i < 250; i++)
    g_string_append_c (s, '(');
  expect_parse_error (s->str, NULL, "nested too deeply", NULL);
  for (int i = 0; i < 100000; i++)
    g_string_append (s, "(-");
  expect_parse_error (s->str, NULL, "nested too deeply", NULL);

  g_string_assign (s, "x");
  for (int i = 0; i < 300; i++)
    g_string_append (s, "^x");
  expect_parse_error (s->str, NULL, "nested too deeply", NULL);

  g_string_truncate (s, 0);
  for (int i = 0; i < 300; i++)
    g_string_append (s, "sin(");
  expect_parse_error (s->str, NULL, "nested too deeply", NULL);

  /* A very long flat chain builds a very high tree; that is bounded too. */
  g_string_assign (s, "x");
  for (int i = 0; i < 200000; i++)
    g_string_append (s, "+x");
  expect_parse_error (s->str, NULL, "too long", NULL);

  g_string_free (s, TRUE);
}
END_TEST

START_TEST (test_fuzz)
{
  static const char alphabet[] = "0123456789.eE+-*/^()x1y_ pisncoqrtgamb,\t\xcf\x80\xff\xc3";
  gsl_rng *rng = gsl_rng_alloc (gsl_rng_mt19937);
  char buf[64];

  gsl_rng_set (rng, 977);
  for (int trial = 0; trial < 60000; trial++)
    {
      int len = (int) gsl_rng_uniform_int (rng, sizeof buf);
      g_autoptr (GError) error = NULL;
      g_auto (GStrv) vars = NULL;
      g_autoptr (KanExpr) e = NULL;

      for (int i = 0; i < len; i++)
        buf[i] = trial % 7 == 0 ? (char) (1 + gsl_rng_uniform_int (rng, 255))
                                : alphabet[gsl_rng_uniform_int (rng, sizeof alphabet - 1)];
      buf[len] = '\0';

      e = kan_expr_parse (buf, NULL, &vars, &error);
      ck_assert ((e == NULL) == (error != NULL));
      if (e == NULL)
        {
          ck_assert (g_error_matches (error, KAN_ERROR, KAN_ERROR_PARSE));
          ck_assert_msg (strstr (error->message, "position ") != NULL, "%s", error->message);
          continue;
        }
      /* Whatever parses prints, and the printout parses to the same values. */
      {
        g_autofree char *text = kan_expr_to_string (e, (const char *const *) vars,
                                                    KAN_EXPR_STYLE_TEXT);
        g_autoptr (KanExpr) again = kan_expr_parse (text, (const char *const *) vars, NULL,
                                                    NULL);
        double x[16];

        ck_assert_msg (again != NULL, "'%s' printed as unparseable '%s'", buf, text);
        for (int i = 0; i < 16; i++)
          x[i] = 0.37 + 0.61 * i;
        ck_assert (same_value (kan_expr_eval (e, x), kan_expr_eval (again, x)));
        for (int s = KAN_EXPR_STYLE_LATEX; s <= KAN_EXPR_STYLE_PYTHON; s++)
          g_free (kan_expr_to_string (e, NULL, s));
      }
    }
  gsl_rng_free (rng);
}
END_TEST

/* A random tree of height at most DEPTH over N_VARS variables. */
static KanExpr *
random_tree (gsl_rng *rng,
             int      depth,
             int      n_vars)
{
  int pick = (int) gsl_rng_uniform_int (rng, depth <= 0 ? 2 : 10);

  switch (pick)
    {
    case 0:
      {
        static const double specials[] = { 0.5, 2.0, 3.0, 1e-7, 2.5e17, M_PI, M_E, 0.1, -0.0,
                                           123456.789, 1.0 / 3.0 };
        double v = gsl_rng_uniform_int (rng, 2)
                   ? specials[gsl_rng_uniform_int (rng, G_N_ELEMENTS (specials))]
                   : (gsl_rng_uniform (rng) - 0.3) * 7.3;
        if (gsl_rng_uniform_int (rng, 4) == 0)
          v = -v;
        return kan_expr_num (v);
      }
    case 1:
      return kan_expr_var ((int) gsl_rng_uniform_int (rng, n_vars));
    case 2: case 3: case 4: case 5: case 6:
      return kan_expr_binary (KAN_EXPR_ADD + (pick - 2), random_tree (rng, depth - 1, n_vars),
                              random_tree (rng, depth - 1, n_vars));
    case 7:
      return kan_expr_unary (KAN_EXPR_NEG, 0, random_tree (rng, depth - 1, n_vars));
    default:
      return kan_expr_unary (KAN_EXPR_CALL, (KanFunc) gsl_rng_uniform_int (rng, KAN_FUNC_N_FUNCS),
                             random_tree (rng, depth - 1, n_vars));
    }
}

START_TEST (test_round_trip_text)
{
  const char *const names[] = { "x1", "x2", "x10", "alpha", NULL };
  gsl_rng *rng = gsl_rng_alloc (gsl_rng_mt19937);

  gsl_rng_set (rng, 31337);
  for (int trial = 0; trial < 3000; trial++)
    {
      g_autoptr (KanExpr) e = random_tree (rng, 1 + trial % 6, 4);
      g_autofree char *text = kan_expr_to_string (e, names, KAN_EXPR_STYLE_TEXT);
      g_autoptr (GError) error = NULL;
      g_autoptr (KanExpr) again = kan_expr_parse (text, names, NULL, &error);
      g_autofree char *text2 = NULL;
      g_autoptr (KanExpr) copy = kan_expr_copy (e);

      ck_assert_msg (again != NULL, "'%s': %s", text, error ? error->message : "");
      text2 = kan_expr_to_string (again, names, KAN_EXPR_STYLE_TEXT);
      ck_assert_str_eq (text, text2);
      ck_assert (kan_expr_equal (e, copy));
      for (int k = 0; k < 5; k++)
        {
          double x[4];

          for (int i = 0; i < 4; i++)
            x[i] = gsl_rng_uniform (rng) * 4.0 - 1.5;
          ck_assert_msg (same_value (kan_expr_eval (e, x), kan_expr_eval (again, x)),
                         "'%s': %.17g vs %.17g", text, kan_expr_eval (e, x),
                         kan_expr_eval (again, x));
        }
    }
  gsl_rng_free (rng);
}
END_TEST

static void
expect_print (const char   *text,
              KanExprStyle  style,
              const char   *want)
{
  g_auto (GStrv) vars = NULL;
  g_autoptr (KanExpr) e = kan_expr_parse (text, NULL, &vars, NULL);
  g_autofree char *got = NULL;

  ck_assert_ptr_nonnull (e);
  got = kan_expr_to_string (e, (const char *const *) vars, style);
  ck_assert_msg (strcmp (got, want) == 0, "'%s' (style %d) printed '%s', want '%s'", text, style,
                 got, want);
}

START_TEST (test_print_styles)
{
  const char *f = "exp(sin(pi*x1)+x2^2)";

  expect_print (f, KAN_EXPR_STYLE_TEXT, "exp(sin(pi*x1) + x2^2)");
  expect_print (f, KAN_EXPR_STYLE_SYMPY, "exp(sin(pi*x1) + x2**2)");
  expect_print (f, KAN_EXPR_STYLE_C, "exp(sin(M_PI*x1) + pow(x2, 2.0))");
  expect_print (f, KAN_EXPR_STYLE_PYTHON, "np.exp(np.sin(np.pi*x1) + x2**2)");
  expect_print (f, KAN_EXPR_STYLE_LATEX, "e^{\\sin\\left(\\pi x_{1}\\right) + x_{2}^{2}}");

  expect_print ("a - (b - c) + (d + f)", KAN_EXPR_STYLE_TEXT, "a - (b - c) + (d + f)");
  expect_print ("a / (b * c) * (d / f)", KAN_EXPR_STYLE_TEXT, "a/(b*c)*(d/f)");
  expect_print ("-(x*y) + (-x)*y", KAN_EXPR_STYLE_TEXT, "-(x*y) + -x*y");
  /* A negated right operand keeps its sign unwrapped in text, so printing never adds a level
   * of nesting (a formula at the parser's nesting limit must read back). */
  expect_print ("x - -y", KAN_EXPR_STYLE_TEXT, "x - -y");
  expect_print ("(-x)^2 + -x^2", KAN_EXPR_STYLE_TEXT, "(-x)^2 + -x^2");
  expect_print ("2^-x", KAN_EXPR_STYLE_TEXT, "2^(-x)");
  expect_print ("(x^y)^z + x^y^z", KAN_EXPR_STYLE_TEXT, "(x^y)^z + x^y^z");
  expect_print ("--x", KAN_EXPR_STYLE_C, "-(-x)");
  expect_print ("1/2*x", KAN_EXPR_STYLE_C, "1.0/2.0*x");
  expect_print ("abs(x)+sign(y)", KAN_EXPR_STYLE_SYMPY, "Abs(x) + sign(y)");
  expect_print ("besselj0(x) - bessely1(2*x)", KAN_EXPR_STYLE_SYMPY,
                "besselj(0, x) - bessely(1, 2*x)");
  expect_print ("besselj0(x) - bessely1(2*x)", KAN_EXPR_STYLE_C,
                "gsl_sf_bessel_J0(x) - gsl_sf_bessel_Y1(2.0*x)");
  expect_print ("besselj0(x) - gamma(x)", KAN_EXPR_STYLE_PYTHON,
                "scipy.special.j0(x) - scipy.special.gamma(x)");
  expect_print ("abs(x) + arcsin(y)", KAN_EXPR_STYLE_C, "fabs(x) + asin(y)");
  expect_print ("abs(x) + arcsin(y)", KAN_EXPR_STYLE_PYTHON, "np.abs(x) + np.arcsin(y)");
  expect_print ("e^x + exp(e)", KAN_EXPR_STYLE_SYMPY, "E**x + exp(E)");
  expect_print ("e^x + exp(e)", KAN_EXPR_STYLE_TEXT, "e^x + exp(e)");
  expect_print ("x1/(x2+1)", KAN_EXPR_STYLE_LATEX, "\\frac{x_{1}}{x_{2} + 1}");
  expect_print ("sqrt(abs(x))*2", KAN_EXPR_STYLE_LATEX, "\\sqrt{\\left|x\\right|} \\cdot 2");
  expect_print ("besselj0(alpha2) + temp_k + gamma(x)", KAN_EXPR_STYLE_LATEX,
                "J_{0}\\left(\\alpha_{2}\\right) + \\mathrm{temp}_{k} + \\Gamma\\left(x\\right)");
  expect_print ("exp(x)^2 + (x^2)^3", KAN_EXPR_STYLE_LATEX,
                "\\left(e^{x}\\right)^{2} + \\left(x^{2}\\right)^{3}");
  expect_print ("3e-7*x", KAN_EXPR_STYLE_LATEX, "3 \\cdot 10^{-7} x");
}
END_TEST

static char *
print_num (double       v,
           KanExprStyle style)
{
  g_autoptr (KanExpr) e = kan_expr_num (v);

  return kan_expr_to_string (e, NULL, style);
}

START_TEST (test_print_numbers)
{
  const struct { double v; const char *text; } cases[] = {
    { 0.5, "0.5" }, { 0.1, "0.1" }, { 20.0, "20" }, { 1234.5678, "1234.5678" },
    { 1.0 / 3.0, "0.3333333333333333" }, { 1e-30, "1e-30" }, { 2.5e20, "2.5e+20" },
    { M_PI, "pi" }, { -M_PI, "-pi" }, { M_E, "e" }, { 0.0, "0" }, { -0.0, "-0" },
    { -7.25, "-7.25" }, { NAN, "(0/0)" }, { INFINITY, "(1/0)" }, { -INFINITY, "(-1/0)" },
    { DBL_MAX, "1.7976931348623157e+308" }, { DBL_TRUE_MIN, "5e-324" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *got = print_num (cases[i].v, KAN_EXPR_STYLE_TEXT);
      double back;

      ck_assert_msg (strcmp (got, cases[i].text) == 0, "%.17g printed as '%s'", cases[i].v, got);
      back = eval_text (got, NULL);
      ck_assert (same_value (back, cases[i].v));
      ck_assert (signbit (back) == signbit (cases[i].v) || isnan (back));
    }

  /* Every double reads back exactly. */
  {
    gsl_rng *rng = gsl_rng_alloc (gsl_rng_mt19937);

    gsl_rng_set (rng, 4242);
    for (int i = 0; i < 20000; i++)
      {
        double v = ldexp (gsl_rng_uniform_pos (rng), (int) gsl_rng_uniform_int (rng, 200) - 100);
        g_autofree char *t = print_num (v, KAN_EXPR_STYLE_TEXT);

        ck_assert_msg (eval_text (t, NULL) == v, "%.17g printed as '%s'", v, t);
        ck_assert (strlen (t) <= 24);
      }
    gsl_rng_free (rng);
  }

  {
    g_autofree char *c1 = print_num (2.0, KAN_EXPR_STYLE_C);
    g_autofree char *c2 = print_num (M_E, KAN_EXPR_STYLE_SYMPY);
    g_autofree char *c3 = print_num (INFINITY, KAN_EXPR_STYLE_C);
    g_autofree char *c4 = print_num (M_PI, KAN_EXPR_STYLE_PYTHON);

    ck_assert_str_eq (c1, "2.0");
    ck_assert_str_eq (c2, "E");
    ck_assert_str_eq (c3, "INFINITY");
    ck_assert_str_eq (c4, "np.pi");
  }
}
END_TEST

START_TEST (test_tree_api)
{
  KanExpr *x = kan_expr_var (0);
  KanExpr *y = kan_expr_var (2);
  g_autoptr (KanExpr) e = kan_expr_binary (KAN_EXPR_MUL,
                                           kan_expr_unary (KAN_EXPR_CALL, KAN_FUNC_SIN, x),
                                           kan_expr_binary (KAN_EXPR_ADD, y,
                                                            kan_expr_num (0.625)));
  g_autoptr (KanExpr) c = kan_expr_copy (e);
  g_autoptr (KanExpr) n1 = kan_expr_num (NAN);
  g_autoptr (KanExpr) n2 = kan_expr_num (NAN);
  g_autoptr (KanExpr) z1 = kan_expr_num (0.0);
  g_autoptr (KanExpr) z2 = kan_expr_num (-0.0);
  const double rows[] = { 0.3, 99.0, 1.7, 77.0,
                          -1.1, 99.0, 0.2, 77.0,
                          2.9, 99.0, -4.4, 77.0 };
  double out[3];
  g_autofree char *text = NULL;

  ck_assert_ptr_ne (c, e);
  ck_assert (kan_expr_equal (e, c));
  ck_assert_int_eq (kan_expr_max_var (e), 2);
  c->b->b->value = 0.626;
  ck_assert (!kan_expr_equal (e, c));
  ck_assert (kan_expr_equal (n1, n2));
  ck_assert (!kan_expr_equal (z1, z2));
  ck_assert (kan_expr_equal (NULL, NULL));
  ck_assert (!kan_expr_equal (e, NULL));
  kan_expr_free (NULL);
  ck_assert_ptr_null (kan_expr_copy (NULL));

  kan_expr_eval_rows (e, rows, 3, 4, out);
  for (int i = 0; i < 3; i++)
    ck_assert (out[i] == sin (rows[4 * i]) * (rows[4 * i + 2] + 0.625));

  /* Names beyond the list fall back to x<index+1>. */
  text = kan_expr_to_string (e, (const char *const[]) { "u", NULL }, KAN_EXPR_STYLE_TEXT);
  ck_assert_str_eq (text, "sin(u)*(x3 + 0.625)");
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* Other tools read what we print.                                                            */
/* ------------------------------------------------------------------------------------------ */

static const char *const foreign_formulas[] = {
  "exp(sin(pi*x1)+x2^2)",
  "x1 - (x2 - x3) / (x1 * x2) ^ 0.5",
  "-x1^2 + 2^-x2 + (-x3)^2",
  "sqrt(abs(x1)) + sign(x2 - 0.3) * log(x3 + 2)",
  "asin(x1/3) + acos(x2/4) + atan(x3) + sinh(x1) - cosh(x2) * tanh(x3)",
  "asinh(x1) + acosh(x2 + 3) + atanh(x3 / 5)",
  "sigmoid(3*x1) + erf(x2) + gamma(x3 + 2.5)",
  "besselj0(20*x1) + besselj1(x2) + bessely0(x3 + 2) + bessely1(x1 + 2)",
  "1e-7*x1 + 2.5e17/x2^30 + e^x3 + exp(e)",
  "x1^x2^0.5 * cos(x3) / -x1",
  "1/3 + 2/7*x1",
};

static const double foreign_points[][3] = {
  { 0.731, 1.418, 0.277 },
  { 1.129, 0.613, -0.845 },
  { -0.422, 1.909, 0.531 },
};


/* Prints every foreign formula in STYLE and has python3 evaluate the printouts with EVALUATE
 * after PRELUDE; points where our own value is not finite are left out. */
static void
check_with_python (KanExprStyle  style,
                   const char   *prelude,
                   const char   *evaluate)
{
  const char *const names[] = { "x1", "x2", "x3", NULL };
  GString *script = g_string_new (prelude);
  g_autofree char *out = NULL, *err = NULL;
  g_autoptr (GError) error = NULL;
  char *argv[] = { "python3", "-c", NULL, NULL };
  int status;

  g_string_append (script, "\nbad = 0\ncases = [\n");
  for (gsize i = 0; i < G_N_ELEMENTS (foreign_formulas); i++)
    {
      g_autoptr (KanExpr) e = kan_expr_parse (foreign_formulas[i], names, NULL, NULL);
      g_autofree char *text = kan_expr_to_string (e, names, style);

      ck_assert_ptr_nonnull (e);
      for (gsize p = 0; p < G_N_ELEMENTS (foreign_points); p++)
        {
          double want = kan_expr_eval (e, foreign_points[p]);

          if (!isfinite (want))
            continue;
          ck_assert (strpbrk (text, "'\\") == NULL);
          g_string_append_printf (script, "  ('%s', %.17g, %.17g, %.17g, %.17g),\n",
                                  text, foreign_points[p][0],
                                  foreign_points[p][1], foreign_points[p][2], want);
        }
    }
  g_string_append_printf (script,
                          "]\n"
                          "for text, x1, x2, x3, want in cases:\n"
                          "    got = %s\n"
                          "    if not abs(got - want) <= 1e-9 * max(1.0, abs(want)):\n"
                          "        print('MISMATCH', text, got, want)\n"
                          "        bad += 1\n"
                          "print('checked', len(cases))\n"
                          "raise SystemExit(1 if bad else 0)\n", evaluate);
  argv[2] = script->str;
  ck_assert (g_spawn_sync (NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err,
                           &status, &error));
  ck_assert_msg (g_spawn_check_wait_status (status, NULL), "python3 disagrees:\n%s\n%s", out,
                 err);
  ck_assert (strstr (out, "checked") != NULL);
  g_string_free (script, TRUE);
}

START_TEST (test_sympy_round_trip)
{
  check_with_python (KAN_EXPR_STYLE_SYMPY,
                     "import sympy\n"
                     "x1s, x2s, x3s = sympy.symbols('x1 x2 x3')\n",
                     "float(sympy.sympify(text).subs({x1s: x1, x2s: x2, x3s: x3}).evalf(30))");
}
END_TEST

START_TEST (test_python_style)
{
  /* NumPy and SciPy are not required for the tests; a stand-in module with the same names,
   * backed by math and mpmath (which comes with sympy), checks the printed syntax and names. */
  check_with_python (KAN_EXPR_STYLE_PYTHON,
                     "import math, mpmath, types\n"
                     "np = types.SimpleNamespace(sin=math.sin, cos=math.cos, tan=math.tan,\n"
                     "  arcsin=math.asin, arccos=math.acos, arctan=math.atan, sinh=math.sinh,\n"
                     "  cosh=math.cosh, tanh=math.tanh, arcsinh=math.asinh, arccosh=math.acosh,\n"
                     "  arctanh=math.atanh, exp=math.exp, log=math.log, sqrt=math.sqrt,\n"
                     "  abs=abs, sign=lambda v: float((v > 0) - (v < 0)), pi=math.pi, e=math.e)\n"
                     "special = types.SimpleNamespace(expit=lambda v: 1 / (1 + math.exp(-v)),\n"
                     "  erf=math.erf, gamma=math.gamma,\n"
                     "  j0=lambda v: float(mpmath.besselj(0, v)),\n"
                     "  j1=lambda v: float(mpmath.besselj(1, v)),\n"
                     "  y0=lambda v: float(mpmath.bessely(0, v)),\n"
                     "  y1=lambda v: float(mpmath.bessely(1, v)))\n"
                     "scipy = types.SimpleNamespace(special=special)\n",
                     "eval(text)");
}
END_TEST

/* Compiles the C printout with the system compiler and compares what it computes. */
START_TEST (test_c_style_compiles)
{
  const char *const names[] = { "x1", "x2", "x3", NULL };
  g_autofree char *dir = NULL, *src = NULL, *exe = NULL, *out = NULL, *err = NULL;
  g_autoptr (GError) error = NULL;
  GString *prog;
  int status;

  dir = g_dir_make_tmp ("kan-expr-XXXXXX", &error);
  ck_assert_ptr_nonnull (dir);
  src = g_build_filename (dir, "f.c", NULL);
  exe = g_build_filename (dir, "f", NULL);

  prog = g_string_new ("#include <math.h>\n#include <stdio.h>\n#include <gsl/gsl_sf_bessel.h>\n"
                       "int main (void) {\n  static const double pts[][3] = {\n");
  for (gsize p = 0; p < G_N_ELEMENTS (foreign_points); p++)
    g_string_append_printf (prog, "    { %.17g, %.17g, %.17g },\n", foreign_points[p][0],
                            foreign_points[p][1], foreign_points[p][2]);
  g_string_append_printf (prog, "  };\n  for (int p = 0; p < %d; p++) {\n"
                          "    double x1 = pts[p][0], x2 = pts[p][1], x3 = pts[p][2];\n",
                          (int) G_N_ELEMENTS (foreign_points));
  for (gsize i = 0; i < G_N_ELEMENTS (foreign_formulas); i++)
    {
      g_autoptr (KanExpr) e = kan_expr_parse (foreign_formulas[i], names, NULL, NULL);
      g_autofree char *text = kan_expr_to_string (e, names, KAN_EXPR_STYLE_C);

      g_string_append_printf (prog, "    printf (\"%%.17g\\n\", (double) (%s));\n", text);
    }
  g_string_append (prog, "    (void) x1; (void) x2; (void) x3;\n  }\n  return 0;\n}\n");
  ck_assert (g_file_set_contents (src, prog->str, -1, NULL));

  {
    char *argv[] = { "cc", "-std=c99", "-D_GNU_SOURCE", "-Wall", "-Werror", "-o", exe, src,
                     "-lgsl", "-lgslcblas", "-lm", NULL };

    ck_assert (g_spawn_sync (NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err,
                             &status, NULL));
    ck_assert_msg (g_spawn_check_wait_status (status, NULL), "cc failed:\n%s\n%s", err,
                   prog->str);
    g_clear_pointer (&out, g_free);
    g_clear_pointer (&err, g_free);
  }
  {
    char *argv[] = { exe, NULL };
    char **lines;
    int k = 0;

    ck_assert (g_spawn_sync (NULL, argv, NULL, 0, NULL, NULL, &out, &err, &status, NULL));
    ck_assert (g_spawn_check_wait_status (status, NULL));
    lines = g_strsplit (out, "\n", 0);
    for (gsize p = 0; p < G_N_ELEMENTS (foreign_points); p++)
      for (gsize i = 0; i < G_N_ELEMENTS (foreign_formulas); i++)
        {
          g_autoptr (KanExpr) e = kan_expr_parse (foreign_formulas[i], names, NULL, NULL);
          double want = kan_expr_eval (e, foreign_points[p]);
          double got;

          ck_assert_ptr_nonnull (lines[k]);
          got = g_ascii_strtod (lines[k++], NULL);
          ck_assert_msg (kt_close_to (got, want, 1e-12), "%s at point %zu: C gives %.17g, we %.17g",
                         foreign_formulas[i], p, got, want);
        }
    g_strfreev (lines);
  }
  g_unlink (exe);
  g_unlink (src);
  g_rmdir (dir);
  g_string_free (prog, TRUE);
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* Variable names, excerpts and numbers                                                       */

/* Names that every style prints as a plain variable. */
static const char *const good_names[] = {
  "x1", "x2", "x10", "temp_K", "v_max", "alpha", "Alpha", "rate", "row", "a", "b", "X",
  "mass2", "lambda_1", "E_1", "sin_1", "a_1", "xi", "Temp", "y0", NULL
};

/* Words that mean something in one of the output languages: accepted, and renamed by that
 * style only. */
static const char *const reserved_names[] = {
  "sin", "arcsin", "ln", "sgn", "besselj0", "gamma", "int", "double", "return", "auto", "M_PI",
  "NAN", "pow", "fabs", "tgamma", "exp", "lambda", "None", "yield", "np", "scipy", "E", "I", "N",
  "O", "Q", "S", "beta", "zeta", "oo", "zoo", "Abs", "id", "sum", "Symbol", "sigma", "Gamma",
  "J0", "Y1", NULL
};

START_TEST (test_name_rules)
{
  const struct { const char *name; const char *fragment; } bad[] = {
    { "", "is empty" },
    { "a-1", "not an identifier" }, { "a b", "not an identifier" },
    { "1x", "not an identifier" }, { "_x", "not an identifier" },
    { "x_", "not an identifier" }, { "x__y", "not an identifier" },
    { "\xce\xb1", "not an identifier" }, { "x\x1b[31m", "not an identifier" },
    { "pi", "the constant pi" }, { "e", "the constant e" }, { "inf", "the constant inf" },
    { "nan", "the constant nan" },
  };
  const struct { const char *name; KanExprStyle style; const char *want; } styled[] = {
    { "x1", KAN_EXPR_STYLE_TEXT, "x1" }, { "gamma", KAN_EXPR_STYLE_TEXT, "gamma" },
    { "int", KAN_EXPR_STYLE_C, "int_" }, { "exp", KAN_EXPR_STYLE_C, "exp_" },
    { "pow", KAN_EXPR_STYLE_C, "pow_" }, { "M_PI", KAN_EXPR_STYLE_C, "M_PI_" },
    { "fabs", KAN_EXPR_STYLE_C, "fabs_" }, { "x1", KAN_EXPR_STYLE_C, "x1" },
    { "lambda", KAN_EXPR_STYLE_C, "lambda" },
    { "lambda", KAN_EXPR_STYLE_PYTHON, "lambda_" }, { "np", KAN_EXPR_STYLE_PYTHON, "np_" },
    { "None", KAN_EXPR_STYLE_PYTHON, "None_" }, { "int", KAN_EXPR_STYLE_PYTHON, "int" },
    { "E", KAN_EXPR_STYLE_SYMPY, "Symbol('E', real=True)" },
    { "lambda", KAN_EXPR_STYLE_SYMPY, "Symbol('lambda', real=True)" },
    { "gamma", KAN_EXPR_STYLE_SYMPY, "Symbol('gamma', real=True)" },
    { "x1", KAN_EXPR_STYLE_SYMPY, "x1" }, { "theta", KAN_EXPR_STYLE_LATEX, "\\theta" },
    { "x1", KAN_EXPR_STYLE_LATEX, "x_{1}" },
  };

  for (int i = 0; good_names[i] != NULL; i++)
    {
      g_autofree char *problem = kan_expr_name_problem (good_names[i]);
      ck_assert_msg (problem == NULL, "'%s' %s", good_names[i], problem);
    }
  for (int i = 0; reserved_names[i] != NULL; i++)
    {
      g_autofree char *problem = kan_expr_name_problem (reserved_names[i]);
      ck_assert_msg (problem == NULL, "'%s' %s", reserved_names[i], problem);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree char *problem = kan_expr_name_problem (bad[i].name);
      ck_assert_msg (problem != NULL && strstr (problem, bad[i].fragment) != NULL,
                     "'%s': '%s' lacks '%s'", bad[i].name, problem ? problem : "(accepted)",
                     bad[i].fragment);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (styled); i++)
    {
      g_autofree char *got = kan_expr_style_name (styled[i].name, styled[i].style);
      ck_assert_msg (strcmp (got, styled[i].want) == 0, "'%s' in style %d: '%s', not '%s'",
                     styled[i].name, styled[i].style, got, styled[i].want);
    }

  /* A formula over such names prints in every style with the renamed words only. */
  {
    const char *const vars[] = { "gamma", "lambda", "int", NULL };
    g_autoptr (GError) error = NULL;
    g_autoptr (KanExpr) e = kan_expr_parse ("gamma*lambda + exp(int)", vars, NULL, &error);
    g_autofree char *text = NULL, *c = NULL, *py = NULL;

    ck_assert_msg (e != NULL, "%s", error ? error->message : "");
    text = kan_expr_to_string (e, vars, KAN_EXPR_STYLE_TEXT);
    c = kan_expr_to_string (e, vars, KAN_EXPR_STYLE_C);
    py = kan_expr_to_string (e, vars, KAN_EXPR_STYLE_PYTHON);
    ck_assert_msg (strstr (text, "gamma*lambda") != NULL && strstr (text, "exp(int)") != NULL,
                   "%s", text);
    ck_assert_msg (strstr (c, "exp(int_)") != NULL && strstr (c, "gamma*lambda") != NULL, "%s", c);
    ck_assert_msg (strstr (py, "lambda_") != NULL && strstr (py, "(int)") != NULL, "%s", py);
  }

  /* Names that print alike: the same LaTeX. */
  {
    g_autofree char *k1 = kan_expr_name_key ("x1");
    g_autofree char *k2 = kan_expr_name_key ("x_1");
    g_autofree char *k3 = kan_expr_name_key ("x2");
    ck_assert_str_eq (k1, k2);
    ck_assert_str_ne (k1, k3);
  }

  /* Suggestions are usable names. */
  {
    const struct { const char *name, *want; } sug[] = {
      { "a-1", "a_1" }, { "a b", "a_b" }, { "1st", "x_1st" }, { "lambda", NULL },
      { "pi", "pi_1" }, { "Temperature (K)", "Temperature_K" }, { "\xce\xb1", NULL },
      { "x1", NULL },
    };
    for (gsize i = 0; i < G_N_ELEMENTS (sug); i++)
      {
        g_autofree char *got = kan_expr_name_suggest (sug[i].name);
        if (sug[i].want == NULL)
          ck_assert_msg (got == NULL, "'%s' → '%s'", sug[i].name, got);
        else
          ck_assert_msg (got != NULL && strcmp (got, sug[i].want) == 0, "'%s' → '%s'",
                         sug[i].name, got ? got : "(none)");
      }
  }
}
END_TEST

/* Every name, as the SymPy style prints it, reads back through sympify as that one real
 * symbol: plain where sympify reads the bare word as a symbol, Symbol('…', real=True) where
 * it would read something else (the table agrees with sympify itself). */
START_TEST (test_names_in_sympy)
{
  GString *script;
  g_autofree char *out = NULL, *err = NULL;
  char *argv[] = { "python3", "-c", NULL, NULL };
  int status;

  script = g_string_new ("import sympy\n"
                         "def reads(n, printed):\n"
                         "  try:\n"
                         "    e = sympy.sympify(printed + '*2 + 1')\n"
                         "    s = [v for v in e.free_symbols]\n"
                         "    return len(s) == 1 and s[0].name == n and e == 2*s[0] + 1\n"
                         "  except Exception:\n"
                         "    return False\n"
                         "pairs = [");
  for (int k = 0; k < 2; k++)
    for (int i = 0; (k ? reserved_names : good_names)[i] != NULL; i++)
      {
        const char *n = (k ? reserved_names : good_names)[i];
        g_autofree char *printed = kan_expr_style_name (n, KAN_EXPR_STYLE_SYMPY);
        g_string_append_printf (script, "(\"%s\", \"%s\"), ", n, printed);
      }
  g_string_append (script, "]\n"
                           "wrong = [p for p in pairs if not reads(*p)]\n"
                           "assert not wrong, wrong\n");
  argv[2] = script->str;
  ck_assert (g_spawn_sync (NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err,
                           &status, NULL));
  ck_assert_msg (g_spawn_check_wait_status (status, NULL), "%s", err);
  g_string_free (script, TRUE);
}
END_TEST

START_TEST (test_excerpt_and_numbers)
{
  GString *s = g_string_new (NULL);
  g_autofree char *head = NULL, *mid = NULL, *same = kan_expr_excerpt ("x1+x2", 3);
  const struct { const char *text; gboolean ok; double v; const char *fragment; } nums[] = {
    { "1.5", TRUE, 1.5, NULL }, { "-2e3", TRUE, -2e3, NULL }, { ".5", TRUE, 0.5, NULL },
    { "5.", TRUE, 5.0, NULL }, { "+7", TRUE, 7.0, NULL }, { "1E-2", TRUE, 0.01, NULL },
    { "0x1p3", FALSE, 0, "hexadecimal" }, { "-0X10", FALSE, 0, "hexadecimal" },
    { "inf", FALSE, 0, "not a finite number" }, { "NaN", FALSE, 0, "not a finite number" },
    { "1e999", FALSE, 0, "not a finite number" }, { "", FALSE, 0, "not a number" },
    { " 1", FALSE, 0, "not a number" }, { "1 ", FALSE, 0, "not a number" },
    { "1e", FALSE, 0, "not a number" }, { ".", FALSE, 0, "not a number" },
    { "-", FALSE, 0, "not a number" }, { "1,5", FALSE, 0, "not a number" },
  };

  ck_assert_str_eq (same, "x1+x2");
  for (int i = 0; i < 1000; i++)
    g_string_append (s, i == 600 ? "HERE" : "ab");
  head = kan_expr_excerpt (s->str, 0);
  mid = kan_expr_excerpt (s->str, 1201);
  ck_assert_int_le (g_utf8_strlen (head, -1), KAN_EXPR_EXCERPT_CHARS);
  ck_assert_int_le (g_utf8_strlen (mid, -1), KAN_EXPR_EXCERPT_CHARS);
  ck_assert (g_str_has_suffix (head, "…") && g_str_has_prefix (head, "abab"));
  ck_assert (g_str_has_prefix (mid, "…") && g_str_has_suffix (mid, "…"));
  ck_assert_ptr_nonnull (strstr (mid, "HERE"));
  g_string_free (s, TRUE);

  for (gsize i = 0; i < G_N_ELEMENTS (nums); i++)
    {
      const char *problem = NULL;
      double v = -1;
      gboolean ok = kan_parse_number (nums[i].text, &v, &problem);

      ck_assert_msg (ok == nums[i].ok, "'%s'", nums[i].text);
      if (ok)
        ck_assert (v == nums[i].v);
      else
        ck_assert_msg (strstr (problem, nums[i].fragment) != NULL, "'%s': %s", nums[i].text,
                       problem);
    }
}
END_TEST

START_TEST (test_long_formula_errors)
{
  GString *sum = g_string_new ("x1");
  GString *token = g_string_new ("2");
  g_autoptr (GError) error = NULL;

  /* A flat sum of 11 000 terms: the height limit, named, not the nesting limit. */
  for (int i = 1; i < 11000; i++)
    g_string_append (sum, "+x1");
  expect_parse_error (sum->str, NULL, "KAN_EXPR_MAX_HEIGHT", "2000", NULL);
  ck_assert_ptr_null (kan_expr_parse (sum->str, NULL, NULL, &error));
  ck_assert_ptr_null (strstr (error->message, "nest"));
  g_clear_error (&error);

  /* Hexadecimal numbers are refused by name. */
  expect_parse_error ("2*0x1p3", NULL, "position 3", "'0x1p3' is a hexadecimal number", NULL);

  /* Long numbers and names are cut in messages. */
  for (int i = 0; i < 5000; i++)
    g_string_append_c (token, '7');
  g_string_append (token, "abc");
  ck_assert_ptr_null (kan_expr_parse (token->str, NULL, NULL, &error));
  ck_assert_int_lt (strlen (error->message), 300);
  g_clear_error (&error);
  g_string_assign (token, "");
  for (int i = 0; i < 5000; i++)
    g_string_append_c (token, 'q');
  g_string_append (token, "(x1)");
  ck_assert_ptr_null (kan_expr_parse (token->str, NULL, NULL, &error));
  ck_assert_int_lt (strlen (error->message), 300);
  ck_assert_int_eq (kan_expr_error_position (error), 1);
  g_string_free (sum, TRUE);
  g_string_free (token, TRUE);
}
END_TEST

static Suite *
expr_suite (void)
{
  Suite *s = suite_create ("expr");
  TCase *tc = tcase_create ("core");

  tcase_set_timeout (tc, 120);
  tcase_add_test (tc, test_precedence);
  tcase_add_test (tc, test_structure);
  tcase_add_test (tc, test_functions);
  tcase_add_test (tc, test_function_edges);
  tcase_add_test (tc, test_natural_order);
  tcase_add_test (tc, test_given_vars);
  tcase_add_test (tc, test_errors);
  tcase_add_test (tc, test_depth_limits);
  tcase_add_test (tc, test_fuzz);
  tcase_add_test (tc, test_round_trip_text);
  tcase_add_test (tc, test_print_styles);
  tcase_add_test (tc, test_print_numbers);
  tcase_add_test (tc, test_tree_api);
  tcase_add_test (tc, test_name_rules);
  tcase_add_test (tc, test_excerpt_and_numbers);
  tcase_add_test (tc, test_long_formula_errors);
  suite_add_tcase (s, tc);

  /* Printouts checked by outside programs; Meson runs each case as a test of its own. */
  tc = kt_tcase_needing (s, "sympy", NULL, "sympy");
  tcase_set_timeout (tc, 120);
  tcase_add_test (tc, test_sympy_round_trip);
  tcase_add_test (tc, test_names_in_sympy);
  tc = kt_tcase_needing (s, "python", NULL, "mpmath");
  tcase_set_timeout (tc, 120);
  tcase_add_test (tc, test_python_style);
  tc = kt_tcase_needing (s, "cc", "cc", NULL);
  tcase_set_timeout (tc, 120);
  tcase_add_test (tc, test_c_style_compiles);
  return s;
}

int
main (int    argc,
      char **argv)
{
  /* GSL's default error handler (abort) stays on here on purpose: kan_func_eval must never
   * reach it, and an abort fails the test that caused it. */
  return kt_run (expr_suite (), argc, argv);
}
