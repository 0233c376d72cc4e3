/* fuzz-formula.c — libFuzzer target for the formula parser (kan_expr_parse).
 *
 * A parsed formula is evaluated, printed in every style, and its text form must parse again
 * to an expression that evaluates to the same value (or to NaN where the original is NaN).
 * The simplifier must keep finite values finite-or-equal, so it is run too (without checks on
 * the value, which rounding may change).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>

#include "kan.h"

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  gsl_set_error_handler_off ();
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  static const char *const fixed_vars[] = { "x1", "x2", "a", "b_c", NULL };
  static const double point[] = { 0.37, -1.25, 2.5, 0.5, 1.75, 3.0, -0.5, 0.25 };
  g_autofree char *text = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (KanExpr) e = NULL;
  g_autoptr (KanExpr) again = NULL;
  g_auto (GStrv) names = NULL;
  g_autofree char *printed = NULL;
  const char *const *vars;
  double v, w;
  int n_vars;

  if (size < 1 || size > 4096)
    return 0;
  /* The first byte chooses between inferred and fixed variables. */
  vars = (data[0] & 1) ? fixed_vars : NULL;
  text = g_strndup ((const char *) data + 1, size - 1);
  e = kan_expr_parse (text, vars, vars ? NULL : &names, &error);
  if (e == NULL)
    {
      if (error == NULL || error->domain != KAN_ERROR || error->message[0] == '\0')
        abort ();
      return 0;
    }
  if (error != NULL)
    abort ();
  if (vars == NULL)
    vars = (const char *const *) names;
  n_vars = (int) g_strv_length ((char **) vars);
  if (kan_expr_max_var (e) >= n_vars || n_vars > (int) G_N_ELEMENTS (point))
    {
      if (n_vars > (int) G_N_ELEMENTS (point))
        return 0;
      abort ();
    }

  v = kan_expr_eval (e, point);
  for (int style = KAN_EXPR_STYLE_TEXT; style <= KAN_EXPR_STYLE_PYTHON; style++)
    {
      g_autofree char *s = kan_expr_to_string (e, vars, (KanExprStyle) style);
      if (s == NULL)
        abort ();
      if (style == KAN_EXPR_STYLE_TEXT)
        printed = g_steal_pointer (&s);
    }

  /* The printed text parses back to the same function. */
  again = kan_expr_parse (printed, vars, NULL, &error);
  if (again == NULL)
    {
      fprintf (stderr, "'%s' printed as '%s', which does not parse: %s\n", text, printed,
               error->message);
      abort ();
    }
  w = kan_expr_eval (again, point);
  if (!(v == w || (isnan (v) && isnan (w))
        || fabs (v - w) <= 1e-9 * MAX (1.0, fabs (v))))
    {
      fprintf (stderr, "'%s' = %.17g but its print '%s' = %.17g\n", text, v, printed, w);
      abort ();
    }

  kan_expr_free (kan_expr_simplify (kan_expr_copy (e)));
  return 0;
}
