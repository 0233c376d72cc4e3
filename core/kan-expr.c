/* kan-expr.c — expression trees: a recursive-descent parser, evaluation and printing.
 *
 * The parser never trusts its input: every error is a GError naming the 1-based character
 * position, and both the nesting depth and the height of the tree are bounded so that neither
 * the parser nor the recursive walkers (eval, print, free) can exhaust the stack.
 */
#include "kan-expr.h"
#include "kan-error.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include <gsl/gsl_sf_bessel.h>
#include <gsl/gsl_sf_gamma.h>

/* Parentheses, signs and exponents may nest this deep. */
#define KAN_EXPR_MAX_NESTING 200
/* A parsed tree may be at most this high (long chains like x+x+…+x count too). */
#define KAN_EXPR_MAX_HEIGHT 2000
/* Numbers and names quoted in parse errors are cut to this many characters. */
#define KAN_EXPR_TOKEN_CHARS 40

static char *excerpt_chars (const char *text, long pos, long max);

/* ------------------------------------------------------------------------------------------ */
/* Functions                                                                                  */
/* ------------------------------------------------------------------------------------------ */

typedef struct
{
  const char *name;     /* canonical, as printed in TEXT style */
  const char *alias;    /* also accepted by the parser, or NULL */
  const char *sympy;
  const char *c;
  const char *python;
  const char *latex;
} KanFuncInfo;

static const KanFuncInfo func_info[KAN_FUNC_N_FUNCS] = {
  [KAN_FUNC_SIN]      = { "sin", NULL, "sin", "sin", "np.sin", "\\sin" },
  [KAN_FUNC_COS]      = { "cos", NULL, "cos", "cos", "np.cos", "\\cos" },
  [KAN_FUNC_TAN]      = { "tan", NULL, "tan", "tan", "np.tan", "\\tan" },
  [KAN_FUNC_ASIN]     = { "asin", "arcsin", "asin", "asin", "np.arcsin", "\\arcsin" },
  [KAN_FUNC_ACOS]     = { "acos", "arccos", "acos", "acos", "np.arccos", "\\arccos" },
  [KAN_FUNC_ATAN]     = { "atan", "arctan", "atan", "atan", "np.arctan", "\\arctan" },
  [KAN_FUNC_SINH]     = { "sinh", NULL, "sinh", "sinh", "np.sinh", "\\sinh" },
  [KAN_FUNC_COSH]     = { "cosh", NULL, "cosh", "cosh", "np.cosh", "\\cosh" },
  [KAN_FUNC_TANH]     = { "tanh", NULL, "tanh", "tanh", "np.tanh", "\\tanh" },
  [KAN_FUNC_ASINH]    = { "asinh", "arcsinh", "asinh", "asinh", "np.arcsinh", "\\operatorname{asinh}" },
  [KAN_FUNC_ACOSH]    = { "acosh", "arccosh", "acosh", "acosh", "np.arccosh", "\\operatorname{acosh}" },
  [KAN_FUNC_ATANH]    = { "atanh", "arctanh", "atanh", "atanh", "np.arctanh", "\\operatorname{atanh}" },
  [KAN_FUNC_EXP]      = { "exp", NULL, "exp", "exp", "np.exp", "\\exp" },
  [KAN_FUNC_LOG]      = { "log", "ln", "log", "log", "np.log", "\\log" },
  [KAN_FUNC_SQRT]     = { "sqrt", NULL, "sqrt", "sqrt", "np.sqrt", "\\sqrt" },
  [KAN_FUNC_ABS]      = { "abs", NULL, "Abs", "fabs", "np.abs", NULL },
  [KAN_FUNC_SIGN]     = { "sign", "sgn", "sign", NULL, "np.sign", "\\operatorname{sign}" },
  [KAN_FUNC_SIGMOID]  = { "sigmoid", NULL, NULL, NULL, "scipy.special.expit", "\\sigma" },
  [KAN_FUNC_ERF]      = { "erf", NULL, "erf", "erf", "scipy.special.erf", "\\operatorname{erf}" },
  [KAN_FUNC_GAMMA]    = { "gamma", NULL, "gamma", "tgamma", "scipy.special.gamma", "\\Gamma" },
  [KAN_FUNC_BESSELJ0] = { "besselj0", NULL, "besselj(0, ", "gsl_sf_bessel_J0", "scipy.special.j0", "J_{0}" },
  [KAN_FUNC_BESSELJ1] = { "besselj1", NULL, "besselj(1, ", "gsl_sf_bessel_J1", "scipy.special.j1", "J_{1}" },
  [KAN_FUNC_BESSELY0] = { "bessely0", NULL, "bessely(0, ", "gsl_sf_bessel_Y0", "scipy.special.y0", "Y_{0}" },
  [KAN_FUNC_BESSELY1] = { "bessely1", NULL, "bessely(1, ", "gsl_sf_bessel_Y1", "scipy.special.y1", "Y_{1}" },
};

const char *
kan_func_name (KanFunc f)
{
  g_return_val_if_fail ((int) f >= 0 && f < KAN_FUNC_N_FUNCS, NULL);
  return func_info[f].name;
}

gboolean
kan_func_lookup (const char *name,
                 KanFunc    *out)
{
  g_return_val_if_fail (name != NULL, FALSE);

  for (int f = 0; f < KAN_FUNC_N_FUNCS; f++)
    if (strcmp (name, func_info[f].name) == 0
        || (func_info[f].alias != NULL && strcmp (name, func_info[f].alias) == 0))
      {
        if (out != NULL)
          *out = (KanFunc) f;
        return TRUE;
      }
  return FALSE;
}

/* GSL's special functions report poles, underflow and loss of precision through its global
 * error handler, which aborts by default and is not ours to change in a library. So GSL is
 * called only where it cannot fail; limits and poles are handled here, and the few arguments
 * beyond GSL's domain go to the C library. */
static double
bessel_j0 (double x)
{
  if (isnan (x))
    return x;
  if (isinf (x))
    return 0.0;
  return gsl_sf_bessel_J0 (x);
}

static double
bessel_j1 (double x)
{
  if (isnan (x))
    return x;
  if (isinf (x))
    return 0.0;
  if (fabs (x) < 1e-300)
    return 0.5 * x;  /* J1(x) = x/2 + O(x³); GSL signals underflow here */
  return gsl_sf_bessel_J1 (x);
}

static double
bessel_y (int    order,
          double x)
{
  if (isnan (x) || x < 0.0)
    return NAN;
  if (x == 0.0)
    return -INFINITY;
  if (isinf (x))
    return 0.0;
  if (x > 1.0 / DBL_EPSILON)
    return order == 0 ? y0 (x) : y1 (x);  /* GSL reports loss of precision here */
  if (order == 0)
    return gsl_sf_bessel_Y0 (x);
  if (x < 1e-300)
    return -2.0 / (M_PI * x);  /* Y1(x) = -2/(πx) + O(x log x) */
  return gsl_sf_bessel_Y1 (x);
}

static double
gamma_fn (double x)
{
  /* Poles (0, negative integers), overflow and underflow are left to C99's tgamma, which
   * answers them with IEEE values. */
  if (isfinite (x) && x > -169.0 && x < 171.0 && !(x <= 0.0 && x == floor (x)))
    return gsl_sf_gamma (x);
  return tgamma (x);
}

double
kan_func_eval (KanFunc f,
               double  x)
{
  switch (f)
    {
    case KAN_FUNC_SIN: return sin (x);
    case KAN_FUNC_COS: return cos (x);
    case KAN_FUNC_TAN: return tan (x);
    case KAN_FUNC_ASIN: return asin (x);
    case KAN_FUNC_ACOS: return acos (x);
    case KAN_FUNC_ATAN: return atan (x);
    case KAN_FUNC_SINH: return sinh (x);
    case KAN_FUNC_COSH: return cosh (x);
    case KAN_FUNC_TANH: return tanh (x);
    case KAN_FUNC_ASINH: return asinh (x);
    case KAN_FUNC_ACOSH: return acosh (x);
    case KAN_FUNC_ATANH: return atanh (x);
    case KAN_FUNC_EXP: return exp (x);
    case KAN_FUNC_LOG: return log (x);
    case KAN_FUNC_SQRT: return sqrt (x);
    case KAN_FUNC_ABS: return fabs (x);
    case KAN_FUNC_SIGN: return x > 0.0 ? 1.0 : x < 0.0 ? -1.0 : x == 0.0 ? 0.0 : x;
    case KAN_FUNC_SIGMOID: return 1.0 / (1.0 + exp (-x));
    case KAN_FUNC_ERF: return erf (x);
    case KAN_FUNC_GAMMA: return gamma_fn (x);
    case KAN_FUNC_BESSELJ0: return bessel_j0 (x);
    case KAN_FUNC_BESSELJ1: return bessel_j1 (x);
    case KAN_FUNC_BESSELY0: return bessel_y (0, x);
    case KAN_FUNC_BESSELY1: return bessel_y (1, x);
    case KAN_FUNC_N_FUNCS:
    default:
      break;
    }
  g_return_val_if_reached (NAN);
}

/* ------------------------------------------------------------------------------------------ */
/* Trees                                                                                      */
/* ------------------------------------------------------------------------------------------ */

static KanExpr *
expr_new (KanExprKind kind)
{
  KanExpr *e = g_new0 (KanExpr, 1);

  e->kind = kind;
  return e;
}

KanExpr *
kan_expr_num (double value)
{
  KanExpr *e = expr_new (KAN_EXPR_NUM);

  e->value = value;
  return e;
}

KanExpr *
kan_expr_var (int var)
{
  KanExpr *e;

  g_return_val_if_fail (var >= 0, NULL);
  e = expr_new (KAN_EXPR_VAR);
  e->var = var;
  return e;
}

KanExpr *
kan_expr_unary (KanExprKind  kind,
                KanFunc      func,
                KanExpr     *a)
{
  KanExpr *e;

  g_return_val_if_fail (kind == KAN_EXPR_NEG || kind == KAN_EXPR_CALL, NULL);
  g_return_val_if_fail (kind != KAN_EXPR_CALL || ((int) func >= 0 && func < KAN_FUNC_N_FUNCS),
                        NULL);
  g_return_val_if_fail (a != NULL, NULL);

  e = expr_new (kind);
  e->func = kind == KAN_EXPR_CALL ? func : 0;
  e->a = a;
  return e;
}

KanExpr *
kan_expr_binary (KanExprKind  kind,
                 KanExpr     *a,
                 KanExpr     *b)
{
  KanExpr *e;

  g_return_val_if_fail (kind >= KAN_EXPR_ADD && kind <= KAN_EXPR_POW, NULL);
  g_return_val_if_fail (a != NULL && b != NULL, NULL);

  e = expr_new (kind);
  e->a = a;
  e->b = b;
  return e;
}

KanExpr *
kan_expr_copy (const KanExpr *e)
{
  KanExpr *c;

  if (e == NULL)
    return NULL;
  c = g_new (KanExpr, 1);
  *c = *e;
  c->a = kan_expr_copy (e->a);
  c->b = kan_expr_copy (e->b);
  return c;
}

void
kan_expr_free (KanExpr *e)
{
  if (e == NULL)
    return;
  kan_expr_free (e->a);
  kan_expr_free (e->b);
  g_free (e);
}

static gboolean
same_number (double x,
             double y)
{
  if (isnan (x) || isnan (y))
    return isnan (x) && isnan (y);
  return x == y && signbit (x) == signbit (y);
}

gboolean
kan_expr_equal (const KanExpr *x,
                const KanExpr *y)
{
  if (x == NULL || y == NULL)
    return x == y;
  if (x->kind != y->kind)
    return FALSE;
  switch (x->kind)
    {
    case KAN_EXPR_NUM:
      return same_number (x->value, y->value);
    case KAN_EXPR_VAR:
      return x->var == y->var;
    case KAN_EXPR_CALL:
      if (x->func != y->func)
        return FALSE;
      break;
    default:
      break;
    }
  return kan_expr_equal (x->a, y->a) && kan_expr_equal (x->b, y->b);
}

double
kan_expr_eval (const KanExpr *e,
               const double  *vars)
{
  g_return_val_if_fail (e != NULL, NAN);

  switch (e->kind)
    {
    case KAN_EXPR_NUM: return e->value;
    case KAN_EXPR_VAR: return vars[e->var];
    case KAN_EXPR_ADD: return kan_expr_eval (e->a, vars) + kan_expr_eval (e->b, vars);
    case KAN_EXPR_SUB: return kan_expr_eval (e->a, vars) - kan_expr_eval (e->b, vars);
    case KAN_EXPR_MUL: return kan_expr_eval (e->a, vars) * kan_expr_eval (e->b, vars);
    case KAN_EXPR_DIV: return kan_expr_eval (e->a, vars) / kan_expr_eval (e->b, vars);
    case KAN_EXPR_POW: return pow (kan_expr_eval (e->a, vars), kan_expr_eval (e->b, vars));
    case KAN_EXPR_NEG: return -kan_expr_eval (e->a, vars);
    case KAN_EXPR_CALL: return kan_func_eval (e->func, kan_expr_eval (e->a, vars));
    default:
      break;
    }
  g_return_val_if_reached (NAN);
}

void
kan_expr_eval_rows (const KanExpr *e,
                    const double  *x,
                    size_t         n,
                    size_t         stride,
                    double        *out)
{
  g_return_if_fail (e != NULL);
  g_return_if_fail (n == 0 || out != NULL);

  for (size_t i = 0; i < n; i++)
    out[i] = kan_expr_eval (e, x != NULL ? x + i * stride : NULL);
}

int
kan_expr_max_var (const KanExpr *e)
{
  int ma, mb;

  if (e == NULL)
    return -1;
  if (e->kind == KAN_EXPR_VAR)
    return e->var;
  /* Not MAX (m, kan_expr_max_var (…)): the macro would evaluate the call twice, which made
   * this exponential in the height of the tree. */
  ma = kan_expr_max_var (e->a);
  mb = kan_expr_max_var (e->b);
  return MAX (ma, mb);
}

int
kan_expr_size (const KanExpr *e)
{
  return e == NULL ? 0 : 1 + kan_expr_size (e->a) + kan_expr_size (e->b);
}

/* ------------------------------------------------------------------------------------------ */
/* Natural order of names: digit runs compare as numbers, so x2 sorts before x10.             */
/* ------------------------------------------------------------------------------------------ */

static int
natural_compare (const char *a,
                 const char *b)
{
  const char *p = a, *q = b;

  while (*p != '\0' && *q != '\0')
    {
      if (g_ascii_isdigit (*p) && g_ascii_isdigit (*q))
        {
          const char *ps, *qs;
          size_t lp, lq;
          int c;

          while (*p == '0' && g_ascii_isdigit (p[1]))
            p++;
          while (*q == '0' && g_ascii_isdigit (q[1]))
            q++;
          for (ps = p; g_ascii_isdigit (*p); p++)
            ;
          for (qs = q; g_ascii_isdigit (*q); q++)
            ;
          lp = p - ps;
          lq = q - qs;
          if (lp != lq)
            return lp < lq ? -1 : 1;
          c = strncmp (ps, qs, lp);
          if (c != 0)
            return c;
          continue;
        }
      if (*p != *q)
        return (unsigned char) *p < (unsigned char) *q ? -1 : 1;
      p++;
      q++;
    }
  if (*p != *q)
    return *p == '\0' ? -1 : 1;
  /* Equal up to leading zeros ("x01" and "x1"): any fixed order will do. */
  return strcmp (a, b);
}

static int
natural_compare_ptr (gconstpointer a,
                     gconstpointer b)
{
  return natural_compare (*(const char *const *) a, *(const char *const *) b);
}

/* ------------------------------------------------------------------------------------------ */
/* Parser                                                                                     */
/* ------------------------------------------------------------------------------------------ */

typedef struct
{
  const char         *text;
  const char         *p;         /* next unread byte */
  const char *const  *vars;      /* allowed names, or NULL */
  GPtrArray          *found;     /* names seen when vars == NULL */
  int                 nesting;
  int                 parens;    /* open parentheses */
  GError            **error;
  gboolean            failed;
} Parser;

/* 1-based character position of S in the text. */
static long
position_of (const Parser *ps,
             const char   *s)
{
  return g_utf8_pointer_to_offset (ps->text, s) + 1;
}

G_GNUC_PRINTF (3, 4)
static void
parse_error (Parser     *ps,
             const char *at,
             const char *format,
             ...)
{
  va_list args;
  char *msg;

  if (ps->failed)
    return;
  ps->failed = TRUE;
  va_start (args, format);
  msg = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (ps->error, KAN_ERROR, KAN_ERROR_PARSE, "position %ld: %s",
               position_of (ps, at), msg);
  g_free (msg);
}

static void
skip_space (Parser *ps)
{
  while (g_ascii_isspace (*ps->p))
    ps->p++;
}

/* Describes the token at S for messages: a quoted character or "the end of the formula". */
static char *
describe_at (const char *s)
{
  if (*s == '\0')
    return g_strdup ("the end of the formula");
  return g_strdup_printf ("'%.*s'", (int) (g_utf8_next_char (s) - s), s);
}

/* LEN bytes at S as quoted in messages: at most KAN_EXPR_TOKEN_CHARS characters, so that a
 * long number or name does not flood the message. */
static char *
token_text (const char *s,
            gsize       len)
{
  g_autofree char *t = g_strndup (s, len);

  return excerpt_chars (t, 0, KAN_EXPR_TOKEN_CHARS);
}

/* Operators are also accepted in their Unicode forms, as pasted from documents. */
static int
peek_op (const Parser *ps,
         int          *len)
{
  const char *p = ps->p;

  *len = 1;
  if (p[0] == '*' && p[1] == '*')
    {
      *len = 2;
      return '^';
    }
  if (strchr ("+-*/^()", *p) != NULL && *p != '\0')
    return *p;
  if (strncmp (p, "\xe2\x88\x92", 3) == 0)   /* − MINUS SIGN */
    {
      *len = 3;
      return '-';
    }
  if (strncmp (p, "\xc3\x97", 2) == 0 || strncmp (p, "\xc2\xb7", 2) == 0)  /* × · */
    {
      *len = 2;
      return '*';
    }
  return 0;
}

static KanExpr *parse_sum (Parser *ps, int *height);

/* The tree would grow higher than KAN_EXPR_MAX_HEIGHT. Unlike the nesting limit this is reached
 * without any nesting, by a long chain such as x+x+…+x, so the message says so. */
static void
height_error (Parser     *ps,
              const char *at)
{
  parse_error (ps, at, "the formula is too long: more than %d operations in a row make its "
               "tree higher than the limit of %d levels (KAN_EXPR_MAX_HEIGHT)",
               KAN_EXPR_MAX_HEIGHT, KAN_EXPR_MAX_HEIGHT);
}

static KanExpr *
make_binary (Parser       *ps,
             const char   *at,
             KanExprKind   kind,
             KanExpr      *a,
             int           ha,
             KanExpr      *b,
             int           hb,
             int          *height)
{
  *height = MAX (ha, hb) + 1;
  if (*height > KAN_EXPR_MAX_HEIGHT)
    {
      height_error (ps, at);
      kan_expr_free (a);
      kan_expr_free (b);
      return NULL;
    }
  return kan_expr_binary (kind, a, b);
}

static KanExpr *
make_unary (Parser       *ps,
            const char   *at,
            KanExprKind   kind,
            KanFunc       func,
            KanExpr      *a,
            int           ha,
            int          *height)
{
  *height = ha + 1;
  if (*height > KAN_EXPR_MAX_HEIGHT)
    {
      height_error (ps, at);
      kan_expr_free (a);
      return NULL;
    }
  return kan_expr_unary (kind, func, a);
}

static KanExpr *
parse_number (Parser *ps)
{
  const char *start = ps->p, *p = ps->p;
  char *lexeme, *end;
  double v;

  if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
    {
      const char *q = p + 2;

      while (g_ascii_isalnum (*q) || *q == '.')
        q++;
      parse_error (ps, start, "'%.*s' is a hexadecimal number; numbers are read in decimal only",
                   (int) MIN (q - start, 40), start);
      return NULL;
    }
  while (g_ascii_isdigit (*p))
    p++;
  if (*p == '.')
    {
      p++;
      while (g_ascii_isdigit (*p))
        p++;
    }
  if (*p == 'e' || *p == 'E')
    {
      const char *q = p + 1;

      if (*q == '+' || *q == '-')
        {
          q++;
          if (!g_ascii_isdigit (*q))
            {
              g_autofree char *t = token_text (start, q - start);
              parse_error (ps, start, "malformed number '%s' (the exponent has no digits)", t);
              return NULL;
            }
        }
      if (g_ascii_isdigit (*q))
        {
          while (g_ascii_isdigit (*q))
            q++;
          p = q;
        }
    }
  if (*p == '.')
    {
      g_autofree char *t = token_text (start, p + 1 - start);
      parse_error (ps, p, "malformed number '%s' (a second decimal point)", t);
      return NULL;
    }
  if (g_ascii_isalpha (*p) || *p == '_')
    {
      const char *q = p;
      g_autofree char *a = NULL, *b = NULL;

      while (g_ascii_isalnum (*q) || *q == '_')
        q++;
      a = token_text (start, p - start);
      b = token_text (p, q - p);
      parse_error (ps, p, "missing operator between '%s' and '%s' (write %s*%s)", a, b, a, b);
      return NULL;
    }
  lexeme = g_strndup (start, p - start);
  v = g_ascii_strtod (lexeme, &end);
  if (*end != '\0' || end == lexeme || !isfinite (v))
    {
      g_autofree char *t = token_text (start, p - start);

      if (!isfinite (v))
        parse_error (ps, start, "number '%s' is too large", t);
      else
        parse_error (ps, start, "malformed number '%s'", t);
      g_free (lexeme);
      return NULL;
    }
  g_free (lexeme);
  ps->p = p;
  return kan_expr_num (v);
}

/* The allowed variables for messages; a long list is cut after KAN_EXPR_EXCERPT_CHARS. */
static char *
join_vars (const char *const *vars)
{
  g_autofree char *all = NULL;

  if (vars == NULL || vars[0] == NULL)
    return g_strdup ("none");
  all = g_strjoinv (", ", (char **) vars);
  return excerpt_chars (all, 0, KAN_EXPR_EXCERPT_CHARS);
}

static KanExpr *
parse_identifier (Parser *ps,
                  int    *height)
{
  const char *start = ps->p;
  g_autofree char *name = NULL;
  g_autofree char *shown = NULL;
  KanFunc func;
  const char *after;

  while (g_ascii_isalnum (*ps->p) || *ps->p == '_')
    ps->p++;
  name = g_strndup (start, ps->p - start);
  shown = token_text (start, ps->p - start);

  after = ps->p;
  while (g_ascii_isspace (*after))
    after++;

  if (*after == '(')
    {
      KanExpr *arg;
      const char *open = after;
      int h;

      if (!kan_func_lookup (name, &func))
        {
          if (strcmp (name, "pi") == 0 || strcmp (name, "e") == 0)
            parse_error (ps, start, "'%s' is a constant, not a function", name);
          else
            parse_error (ps, start, "unknown function '%s'", shown);
          return NULL;
        }
      ps->p = after + 1;
      skip_space (ps);
      if (*ps->p == ')')
        {
          parse_error (ps, ps->p, "function '%s' needs an argument", name);
          return NULL;
        }
      ps->parens++;
      arg = parse_sum (ps, &h);
      ps->parens--;
      if (arg == NULL)
        return NULL;
      skip_space (ps);
      if (*ps->p == ',')
        {
          parse_error (ps, ps->p, "function '%s' takes one argument", name);
          kan_expr_free (arg);
          return NULL;
        }
      if (*ps->p != ')')
        {
          if (*ps->p == '\0')
            parse_error (ps, ps->p, "unbalanced parenthesis: '(' at position %ld is never closed",
                         position_of (ps, open));
          else
            {
              g_autofree char *what = describe_at (ps->p);
              parse_error (ps, ps->p, "expected ')' or an operator, found %s", what);
            }
          kan_expr_free (arg);
          return NULL;
        }
      ps->p++;
      return make_unary (ps, start, KAN_EXPR_CALL, func, arg, h, height);
    }

  *height = 1;

  if (ps->vars != NULL)
    for (int i = 0; ps->vars[i] != NULL; i++)
      if (strcmp (ps->vars[i], name) == 0)
        return kan_expr_var (i);

  if (strcmp (name, "pi") == 0)
    return kan_expr_num (M_PI);
  if (strcmp (name, "e") == 0)
    return kan_expr_num (M_E);

  if (kan_func_lookup (name, NULL))
    {
      parse_error (ps, start, "function '%s' needs its argument in parentheses, as in %s(x)",
                   name, name);
      return NULL;
    }

  if (ps->vars != NULL)
    {
      g_autofree char *list = join_vars (ps->vars);

      if (!ps->failed)
        {
          ps->failed = TRUE;
          g_set_error (ps->error, KAN_ERROR, KAN_ERROR_PARSE,
                       "unknown variable '%s' at position %ld (variables: %s)",
                       shown, position_of (ps, start), list);
        }
      return NULL;
    }

  for (guint i = 0; i < ps->found->len; i++)
    if (strcmp (g_ptr_array_index (ps->found, i), name) == 0)
      return kan_expr_var (i);
  g_ptr_array_add (ps->found, g_steal_pointer (&name));
  return kan_expr_var (ps->found->len - 1);
}

/* An operand is missing at ps->p; OP (may be NULL) is what came before it. */
static void
missing_operand (Parser     *ps,
                 const char *op_start,
                 int         op_len)
{
  if (op_start != NULL)
    parse_error (ps, ps->p, "expected an operand after '%.*s'", op_len, op_start);
  else
    {
      g_autofree char *what = describe_at (ps->p);
      parse_error (ps, ps->p, "expected an operand, found %s", what);
    }
}

static KanExpr *parse_unary (Parser *ps, const char *op_start, int op_len, int *height);

static KanExpr *
parse_primary (Parser     *ps,
               const char *op_start,
               int         op_len,
               int        *height)
{
  const char *start;
  int len;

  skip_space (ps);
  start = ps->p;

  if (g_ascii_isdigit (*ps->p) || (*ps->p == '.' && g_ascii_isdigit (ps->p[1])))
    {
      *height = 1;
      return parse_number (ps);
    }
  if (g_ascii_isalpha (*ps->p) || *ps->p == '_')
    return parse_identifier (ps, height);
  if (strncmp (ps->p, "\xcf\x80", 2) == 0)  /* π */
    {
      ps->p += 2;
      *height = 1;
      return kan_expr_num (M_PI);
    }
  if (*ps->p == '(')
    {
      KanExpr *inner;

      ps->p++;
      skip_space (ps);
      if (*ps->p == ')')
        {
          parse_error (ps, ps->p, "empty parentheses");
          return NULL;
        }
      ps->parens++;
      inner = parse_sum (ps, height);
      ps->parens--;
      if (inner == NULL)
        return NULL;
      skip_space (ps);
      if (*ps->p != ')')
        {
          if (*ps->p == '\0')
            parse_error (ps, ps->p, "unbalanced parenthesis: '(' at position %ld is never closed",
                         position_of (ps, start));
          else
            {
              g_autofree char *what = describe_at (ps->p);
              parse_error (ps, ps->p, "expected ')' or an operator, found %s", what);
            }
          kan_expr_free (inner);
          return NULL;
        }
      ps->p++;
      return inner;
    }
  if (*ps->p == ')' && ps->parens == 0)
    {
      parse_error (ps, ps->p, "unbalanced parenthesis: ')' without a matching '('");
      return NULL;
    }
  if (*ps->p != '\0' && *ps->p != ')' && peek_op (ps, &len) == 0)
    {
      g_autofree char *what = describe_at (ps->p);
      parse_error (ps, ps->p, "unexpected character %s", what);
      return NULL;
    }
  missing_operand (ps, op_start, op_len);
  return NULL;
}

/* power := primary [('^' | '**') unary] — right-associative, and tighter than unary minus. */
static KanExpr *
parse_power (Parser     *ps,
             const char *op_start,
             int         op_len,
             int        *height)
{
  KanExpr *base, *exponent;
  int hb, he, len;
  const char *op;

  base = parse_primary (ps, op_start, op_len, &hb);
  if (base == NULL)
    return NULL;
  skip_space (ps);
  op = ps->p;
  if (peek_op (ps, &len) != '^')
    {
      *height = hb;
      return base;
    }
  ps->p += len;
  exponent = parse_unary (ps, op, len, &he);
  if (exponent == NULL)
    {
      kan_expr_free (base);
      return NULL;
    }
  return make_binary (ps, op, KAN_EXPR_POW, base, hb, exponent, he, height);
}

/* unary := ('-' | '+') unary | power */
static KanExpr *
parse_unary (Parser     *ps,
             const char *op_start,
             int         op_len,
             int        *height)
{
  KanExpr *e = NULL;
  int op, len;

  skip_space (ps);
  if (++ps->nesting > KAN_EXPR_MAX_NESTING)
    {
      parse_error (ps, ps->p, "formula is nested too deeply (more than %d levels)",
                   KAN_EXPR_MAX_NESTING);
      ps->nesting--;
      return NULL;
    }

  op = peek_op (ps, &len);
  if (op == '-' || op == '+')
    {
      const char *at = ps->p;
      int h;

      ps->p += len;
      e = parse_unary (ps, at, len, &h);
      if (e != NULL && op == '-')
        e = make_unary (ps, at, KAN_EXPR_NEG, 0, e, h, height);
      else
        *height = h;
    }
  else
    e = parse_power (ps, op_start, op_len, height);

  ps->nesting--;
  return e;
}

typedef KanExpr *(*ParseLevel) (Parser *ps, const char *op_start, int op_len, int *height);

/* One left-associative level: operand ((op1 | op2) operand)*, op1 building kind1 and op2 kind2.
 * op_start/op_len name the operator before the first operand (for error positions). */
static KanExpr *
parse_left_assoc (Parser      *ps,
                  const char  *op_start,
                  int          op_len,
                  int         *height,
                  ParseLevel   operand,
                  int          op1,
                  KanExprKind  kind1,
                  int          op2,
                  KanExprKind  kind2)
{
  KanExpr *left;
  int hl;

  left = operand (ps, op_start, op_len, &hl);
  while (left != NULL)
    {
      KanExpr *right;
      const char *at;
      int op, len, hr;

      skip_space (ps);
      at = ps->p;
      op = peek_op (ps, &len);
      if (op != op1 && op != op2)
        break;
      ps->p += len;
      right = operand (ps, at, len, &hr);
      if (right == NULL)
        {
          kan_expr_free (left);
          return NULL;
        }
      left = make_binary (ps, at, op == op1 ? kind1 : kind2, left, hl, right, hr, &hl);
    }
  *height = hl;
  return left;
}

/* product := unary (('*' | '/') unary)* */
static KanExpr *
parse_product (Parser     *ps,
               const char *op_start,
               int         op_len,
               int        *height)
{
  return parse_left_assoc (ps, op_start, op_len, height, parse_unary,
                           '*', KAN_EXPR_MUL, '/', KAN_EXPR_DIV);
}

/* sum := product (('+' | '-') product)* */
static KanExpr *
parse_sum (Parser *ps,
           int    *height)
{
  return parse_left_assoc (ps, NULL, 0, height, parse_product,
                           '+', KAN_EXPR_ADD, '-', KAN_EXPR_SUB);
}

static void
remap_vars (KanExpr   *e,
            const int *map)
{
  if (e == NULL)
    return;
  if (e->kind == KAN_EXPR_VAR)
    e->var = map[e->var];
  remap_vars (e->a, map);
  remap_vars (e->b, map);
}

KanExpr *
kan_expr_parse (const char         *text,
                const char *const  *vars,
                GStrv              *out_vars,
                GError            **error)
{
  Parser ps = { 0 };
  const char *invalid;
  KanExpr *e;
  int height;

  g_return_val_if_fail (text != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (out_vars != NULL)
    *out_vars = NULL;

  if (!g_utf8_validate (text, -1, &invalid))
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_PARSE, "position %ld: invalid UTF-8",
                   g_utf8_pointer_to_offset (text, invalid) + 1);
      return NULL;
    }

  ps.text = text;
  ps.p = text;
  ps.vars = vars;
  ps.error = error;
  if (vars == NULL)
    ps.found = g_ptr_array_new_with_free_func (g_free);

  skip_space (&ps);
  if (*ps.p == '\0')
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_PARSE, "position 1: the formula is empty");
      if (ps.found != NULL)
        g_ptr_array_free (ps.found, TRUE);
      return NULL;
    }

  e = parse_sum (&ps, &height);
  if (e != NULL)
    {
      skip_space (&ps);
      if (*ps.p != '\0')
        {
          if (*ps.p == ')')
            parse_error (&ps, ps.p, "unbalanced parenthesis: ')' without a matching '('");
          else if (*ps.p == ',')
            parse_error (&ps, ps.p, "unexpected ','; functions take one argument");
          else
            {
              g_autofree char *what = describe_at (ps.p);
              parse_error (&ps, ps.p, "unexpected %s after an operand (expected an operator)",
                           what);
            }
          g_clear_pointer (&e, kan_expr_free);
        }
    }

  if (ps.found != NULL)
    {
      if (e != NULL)
        {
          guint n = ps.found->len;
          g_autofree char **sorted = g_new0 (char *, n + 1);
          g_autofree int *map = g_new (int, MAX (n, 1));

          if (n > 0)
            memcpy (sorted, ps.found->pdata, n * sizeof (char *));
          qsort (sorted, n, sizeof (char *), natural_compare_ptr);
          for (guint i = 0; i < n; i++)
            for (guint j = 0; j < n; j++)
              if (sorted[j] == g_ptr_array_index (ps.found, i))
                map[i] = j;
          remap_vars (e, map);
          if (out_vars != NULL)
            {
              for (guint j = 0; j < n; j++)
                sorted[j] = g_strdup (sorted[j]);
              *out_vars = g_steal_pointer (&sorted);
            }
        }
      g_ptr_array_free (ps.found, TRUE);
    }
  else if (e != NULL && out_vars != NULL)
    *out_vars = g_strdupv ((char **) vars);

  return e;
}

/* ------------------------------------------------------------------------------------------ */
/* Printing                                                                                   */
/* ------------------------------------------------------------------------------------------ */

enum
{
  PREC_SUM = 1,
  PREC_PRODUCT = 2,
  PREC_NEG = 3,
  PREC_POWER = 4,
  PREC_ATOM = 5,
};

typedef struct
{
  const char *const *names;
  guint              n_names;
  KanExprStyle       style;
} Printer;

static void print_expr (const Printer *pr, const KanExpr *e, GString *out);

/* The shortest decimal that reads back as exactly X (X >= 0): plain notation for moderate
 * magnitudes (20, not 2e+01), exponent notation for tiny and huge ones. */
static void
append_shortest (GString *out,
                 double   x)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE + 32];

  if (x >= 1e-4 && x < 1e16)
    for (int decimals = 0; decimals <= 24; decimals++)
      {
        char format[8];

        g_snprintf (format, sizeof format, "%%.%df", decimals);
        g_ascii_formatd (buf, sizeof buf, format, x);
        if (g_ascii_strtod (buf, NULL) == x)
          {
            g_string_append (out, buf);
            return;
          }
      }

  for (int digits = 1; digits <= 17; digits++)
    {
      char format[8];

      g_snprintf (format, sizeof format, "%%.%dg", digits);
      g_ascii_formatd (buf, sizeof buf, format, x);
      if (g_ascii_strtod (buf, NULL) == x)
        break;
    }
  g_string_append (out, buf);
}

static gboolean
is_negative_number (const KanExpr *e)
{
  return e->kind == KAN_EXPR_NUM && !isnan (e->value) && signbit (e->value);
}

static int
precedence (const Printer *pr,
            const KanExpr *e)
{
  switch (e->kind)
    {
    case KAN_EXPR_NUM:
      if (isnan (e->value) || (isinf (e->value) && pr->style == KAN_EXPR_STYLE_TEXT))
        return PREC_ATOM;  /* printed in parentheses already */
      return is_negative_number (e) ? PREC_NEG : PREC_ATOM;
    case KAN_EXPR_VAR:
    case KAN_EXPR_CALL:
      return PREC_ATOM;
    case KAN_EXPR_ADD:
    case KAN_EXPR_SUB:
      return PREC_SUM;
    case KAN_EXPR_MUL:
      return PREC_PRODUCT;
    case KAN_EXPR_DIV:
      return pr->style == KAN_EXPR_STYLE_LATEX ? PREC_ATOM : PREC_PRODUCT;
    case KAN_EXPR_POW:
      return pr->style == KAN_EXPR_STYLE_C ? PREC_ATOM : PREC_POWER;
    case KAN_EXPR_NEG:
      return PREC_NEG;
    default:
      return PREC_ATOM;
    }
}

static void
print_wrapped (const Printer *pr,
               const KanExpr *e,
               gboolean       parens,
               GString       *out)
{
  gboolean latex = pr->style == KAN_EXPR_STYLE_LATEX;

  if (parens)
    g_string_append (out, latex ? "\\left(" : "(");
  print_expr (pr, e, out);
  if (parens)
    g_string_append (out, latex ? "\\right)" : ")");
}

static void
print_number (const Printer *pr,
              double         v,
              GString       *out)
{
  KanExprStyle s = pr->style;
  double a = fabs (v);
  gsize start;

  if (isnan (v))
    {
      /* TEXT has no NaN or infinity; 0/0 and 1/0 read back as them. */
      g_string_append (out, s == KAN_EXPR_STYLE_TEXT ? "(0/0)"
                            : s == KAN_EXPR_STYLE_SYMPY ? "nan"
                            : s == KAN_EXPR_STYLE_C ? "NAN"
                            : s == KAN_EXPR_STYLE_PYTHON ? "np.nan" : "\\mathrm{NaN}");
      return;
    }
  if (isinf (v) && s == KAN_EXPR_STYLE_TEXT)
    {
      g_string_append (out, v < 0 ? "(-1/0)" : "(1/0)");
      return;
    }
  if (signbit (v))
    g_string_append_c (out, '-');
  if (isinf (v))
    {
      g_string_append (out, s == KAN_EXPR_STYLE_SYMPY ? "oo"
                            : s == KAN_EXPR_STYLE_C ? "INFINITY"
                            : s == KAN_EXPR_STYLE_PYTHON ? "np.inf" : "\\infty");
      return;
    }
  if (a == M_PI)
    {
      g_string_append (out, s == KAN_EXPR_STYLE_C ? "M_PI"
                            : s == KAN_EXPR_STYLE_PYTHON ? "np.pi"
                            : s == KAN_EXPR_STYLE_LATEX ? "\\pi" : "pi");
      return;
    }
  if (a == M_E)
    {
      g_string_append (out, s == KAN_EXPR_STYLE_C ? "M_E"
                            : s == KAN_EXPR_STYLE_PYTHON ? "np.e"
                            : s == KAN_EXPR_STYLE_SYMPY ? "E" : "e");
      return;
    }

  start = out->len;
  append_shortest (out, a);
  if (s == KAN_EXPR_STYLE_C && strpbrk (out->str + start, ".e") == NULL)
    g_string_append (out, ".0");  /* a double literal: 1/2 must not be integer division */
  if (s == KAN_EXPR_STYLE_LATEX)
    {
      char *e = strchr (out->str + start, 'e');

      if (e != NULL)
        {
          int exponent = atoi (e + 1);
          gsize mantissa_len = e - (out->str + start);
          g_autofree char *mantissa = g_strndup (out->str + start, mantissa_len);

          g_string_truncate (out, start);
          if (strcmp (mantissa, "1") != 0)
            g_string_append_printf (out, "%s \\cdot ", mantissa);
          g_string_append_printf (out, "10^{%d}", exponent);
        }
    }
}

static const char *const greek[] = {
  "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa",
  "lambda", "mu", "nu", "xi", "pi", "rho", "sigma", "tau", "upsilon", "phi", "chi", "psi",
  "omega", "Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma", "Phi", "Psi", "Omega",
  NULL
};

static void
append_latex_text (GString    *out,
                   const char *s,
                   gssize      len)
{
  for (const char *p = s; *p != '\0' && (len < 0 || p < s + len); p++)
    {
      if (strchr ("_#$%&{}", *p) != NULL)
        g_string_append_c (out, '\\');
      if (*p == '\\' || *p == '^' || *p == '~')
        g_string_append (out, "\\textbackslash{}");
      else
        g_string_append_c (out, *p);
    }
}

/* x1 → x_{1}, x_10 → x_{10}, alpha2 → \alpha_{2}, temp → \mathrm{temp}. */
static void
append_latex_name (GString    *out,
                   const char *name)
{
  const char *sub = strchr (name, '_');
  gsize base_len;

  if (sub == NULL)
    {
      sub = name + strlen (name);
      while (sub > name && g_ascii_isdigit (sub[-1]))
        sub--;
      if (sub == name)
        sub = name + strlen (name);
    }
  base_len = sub - name;

  if (base_len == 1)
    append_latex_text (out, name, 1);
  else
    {
      gboolean is_greek = FALSE;

      for (int i = 0; greek[i] != NULL; i++)
        if (strlen (greek[i]) == base_len && strncmp (greek[i], name, base_len) == 0)
          is_greek = TRUE;
      if (is_greek)
        {
          g_string_append_c (out, '\\');
          g_string_append_len (out, name, base_len);
        }
      else
        {
          g_string_append (out, "\\mathrm{");
          append_latex_text (out, name, base_len);
          g_string_append_c (out, '}');
        }
    }
  if (*sub == '_')
    sub++;
  if (*sub != '\0')
    {
      g_string_append (out, "_{");
      append_latex_text (out, sub, -1);
      g_string_append_c (out, '}');
    }
}

static void append_style_name (GString *out, const char *name, KanExprStyle style);

static void
print_var (const Printer *pr,
           int            var,
           GString       *out)
{
  g_autofree char *fallback = NULL;
  const char *name;

  if (var >= 0 && (guint) var < pr->n_names)
    name = pr->names[var];
  else
    name = fallback = g_strdup_printf ("x%d", var + 1);

  append_style_name (out, name, pr->style);
}

static void
print_call (const Printer *pr,
            const KanExpr *e,
            GString       *out)
{
  const KanFuncInfo *info = &func_info[e->func];
  KanExprStyle s = pr->style;

  switch (s)
    {
    case KAN_EXPR_STYLE_TEXT:
      g_string_append_printf (out, "%s(", info->name);
      print_expr (pr, e->a, out);
      g_string_append_c (out, ')');
      return;

    case KAN_EXPR_STYLE_SYMPY:
      if (e->func == KAN_FUNC_SIGMOID)
        {
          g_string_append (out, "(1/(1 + exp(-");
          print_wrapped (pr, e->a, TRUE, out);
          g_string_append (out, ")))");
          return;
        }
      g_string_append (out, info->sympy);
      if (info->sympy[strlen (info->sympy) - 1] != ' ')
        g_string_append_c (out, '(');
      print_expr (pr, e->a, out);
      g_string_append_c (out, ')');
      return;

    case KAN_EXPR_STYLE_C:
      if (e->func == KAN_FUNC_SIGMOID)
        {
          g_string_append (out, "(1.0/(1.0 + exp(-");
          print_wrapped (pr, e->a, TRUE, out);
          g_string_append (out, ")))");
          return;
        }
      if (e->func == KAN_FUNC_SIGN)
        {
          /* The argument is printed twice; generated code is pure, so that is harmless. */
          g_string_append (out, "((double) ((");
          print_expr (pr, e->a, out);
          g_string_append (out, ") > 0) - (double) ((");
          print_expr (pr, e->a, out);
          g_string_append (out, ") < 0))");
          return;
        }
      G_GNUC_FALLTHROUGH;
    case KAN_EXPR_STYLE_PYTHON:
      g_string_append_printf (out, "%s(", s == KAN_EXPR_STYLE_C ? info->c : info->python);
      print_expr (pr, e->a, out);
      g_string_append_c (out, ')');
      return;

    case KAN_EXPR_STYLE_LATEX:
      if (e->func == KAN_FUNC_EXP)
        {
          g_string_append (out, "e^{");
          print_expr (pr, e->a, out);
          g_string_append_c (out, '}');
        }
      else if (e->func == KAN_FUNC_SQRT)
        {
          g_string_append (out, "\\sqrt{");
          print_expr (pr, e->a, out);
          g_string_append_c (out, '}');
        }
      else if (e->func == KAN_FUNC_ABS)
        {
          g_string_append (out, "\\left|");
          print_expr (pr, e->a, out);
          g_string_append (out, "\\right|");
        }
      else
        {
          g_string_append (out, info->latex);
          g_string_append (out, "\\left(");
          print_expr (pr, e->a, out);
          g_string_append (out, "\\right)");
        }
      return;

    default:
      g_return_if_reached ();
    }
}

static void
print_binary (const Printer *pr,
              const KanExpr *e,
              GString       *out)
{
  KanExprStyle s = pr->style;
  int p = precedence (pr, e);
  int pa = precedence (pr, e->a);
  int pb = precedence (pr, e->b);
  gboolean latex = s == KAN_EXPR_STYLE_LATEX;

  if (e->kind == KAN_EXPR_POW)
    {
      if (s == KAN_EXPR_STYLE_C)
        {
          g_string_append (out, "pow(");
          print_expr (pr, e->a, out);
          g_string_append (out, ", ");
          print_expr (pr, e->b, out);
          g_string_append_c (out, ')');
          return;
        }
      if (latex)
        {
          /* A base that carries its own superscript (e^{…}, a^{b}) needs parentheses. */
          gboolean plain = e->a->kind == KAN_EXPR_VAR
                           || (e->a->kind == KAN_EXPR_NUM && pa == PREC_ATOM)
                           || (e->a->kind == KAN_EXPR_CALL && e->a->func != KAN_FUNC_EXP);
          print_wrapped (pr, e->a, !plain, out);
          g_string_append (out, "^{");
          print_expr (pr, e->b, out);
          g_string_append_c (out, '}');
          return;
        }
      /* Right-associative: the base needs parentheses for anything but an atom, the exponent
       * for anything looser than a power (signs included, for readability). */
      print_wrapped (pr, e->a, pa <= PREC_POWER, out);
      g_string_append (out, s == KAN_EXPR_STYLE_TEXT ? "^" : "**");
      print_wrapped (pr, e->b, pb < PREC_POWER, out);
      return;
    }

  if (latex && e->kind == KAN_EXPR_DIV)
    {
      g_string_append (out, "\\frac{");
      print_expr (pr, e->a, out);
      g_string_append (out, "}{");
      print_expr (pr, e->b, out);
      g_string_append_c (out, '}');
      return;
    }

  /* Left-associative: the left operand needs parentheses only when it binds more loosely;
   * the right one also when it binds equally, since floating-point a+(b+c) is not (a+b)+c.
   * A signed right operand is parenthesised too: a - (-b), not a - -b. */
  print_wrapped (pr, e->a, pa < p, out);
  switch (e->kind)
    {
    case KAN_EXPR_ADD: g_string_append (out, " + "); break;
    case KAN_EXPR_SUB: g_string_append (out, " - "); break;
    case KAN_EXPR_DIV: g_string_append (out, "/"); break;
    case KAN_EXPR_MUL:
      if (!latex)
        g_string_append_c (out, '*');
      else
        {
          /* Juxtapose unless the right factor starts with a digit (2 \cdot 3, x \cdot 2). */
          const KanExpr *r = e->b;
          while (r->kind == KAN_EXPR_POW || r->kind == KAN_EXPR_MUL)
            r = r->a;
          if (pb <= p || r->kind != KAN_EXPR_NUM || r->value == M_PI || r->value == M_E)
            g_string_append_c (out, ' ');
          else
            g_string_append (out, " \\cdot ");
        }
      break;
    default:
      g_return_if_reached ();
    }
  /* In TEXT style a negated right operand stays a - -b: like a chain of signs, every added
   * parenthesis is a level of nesting, and a formula the parser took at its nesting limit must
   * read back after printing. */
  if (s == KAN_EXPR_STYLE_TEXT && (e->b->kind == KAN_EXPR_NEG || is_negative_number (e->b)))
    print_expr (pr, e->b, out);
  else
    print_wrapped (pr, e->b, pb <= p || pb == PREC_NEG, out);
}

static void
print_expr (const Printer *pr,
            const KanExpr *e,
            GString       *out)
{
  switch (e->kind)
    {
    case KAN_EXPR_NUM:
      print_number (pr, e->value, out);
      break;
    case KAN_EXPR_VAR:
      print_var (pr, e->var, out);
      break;
    case KAN_EXPR_NEG:
      g_string_append_c (out, '-');
      /* Parenthesise anything but an atom or a power: -(a*b) and -(-a) keep their shape.
       * In TEXT style a chain of signs stays --a (and -(-2) is --2, which reads back as
       * --2): each parenthesis counts as a level of nesting, so -(-(…)) of a chain the parser
       * took would exceed its nesting limit. */
      if (pr->style == KAN_EXPR_STYLE_TEXT
          && (e->a->kind == KAN_EXPR_NEG || is_negative_number (e->a)))
        print_expr (pr, e->a, out);
      else
        print_wrapped (pr, e->a, precedence (pr, e->a) <= PREC_NEG, out);
      break;
    case KAN_EXPR_CALL:
      print_call (pr, e, out);
      break;
    default:
      print_binary (pr, e, out);
      break;
    }
}

char *
kan_expr_to_string (const KanExpr      *e,
                    const char *const  *var_names,
                    KanExprStyle        style)
{
  Printer pr = { var_names, var_names != NULL ? g_strv_length ((char **) var_names) : 0, style };
  GString *out;

  g_return_val_if_fail (e != NULL, NULL);
  g_return_val_if_fail (style >= KAN_EXPR_STYLE_TEXT && style <= KAN_EXPR_STYLE_PYTHON, NULL);

  out = g_string_new (NULL);
  print_expr (&pr, e, out);
  return g_string_free (out, FALSE);
}

/* ------------------------------------------------------------------------------------------ */
/* Variable names                                                                             */
/* ------------------------------------------------------------------------------------------ */

/* C's keywords (C11, C23 and GNU's asm and typeof). */
static const char *const c_keywords[] = {
  "alignas", "alignof", "asm", "auto", "bool", "break", "case", "char", "const", "constexpr",
  "continue", "default", "do", "double", "else", "enum", "extern", "false", "float", "for",
  "goto", "if", "inline", "int", "long", "nullptr", "register", "restrict", "return", "short",
  "signed", "sizeof", "static", "static_assert", "struct", "switch", "thread_local", "true",
  "typedef", "typeof", "typeof_unqual", "union", "unsigned", "void", "volatile", "while",
  NULL
};

/* What the C output writes besides the functions of func_info: powers and constants. */
/* Constants the text printer writes by name (and the parser reads). */
static const char *const text_constants[] = { "pi", "e", "inf", "nan", NULL };
static const char *const c_output_names[] = { "pow", "M_PI", "M_E", "NAN", "INFINITY", NULL };

/* Python's keywords (3.12). */
static const char *const python_keywords[] = {
  "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class",
  "continue", "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if",
  "import", "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try",
  "while", "with", "yield",
  NULL
};

/* Every name of the form above that SymPy 1.14's sympify does not read as a plain symbol (its
 * namespace `from sympy import *` and Python's built-in functions), Python keywords aside; in
 * strcmp order. Made by trying each name of sympy.__all__, builtins, the Greek letters and the
 * single letters: sympify("NAME*2 + 1") == Symbol("NAME")*2 + 1, and likewise "sin(NAME)". */
static const char *const sympy_names[] = {
  "Abs", "AccumBounds", "Add", "Adjoint", "AlgebraicField", "AlgebraicNumber", "And",
  "AppliedPredicate", "Array", "AssumptionsContext", "Atom", "AtomicExpr", "BasePolynomialError",
  "Basic", "BlockDiagMatrix", "BlockMatrix", "CC", "CRootOf", "Catalan", "Chi", "Ci", "Circle",
  "CoercionFailed", "Complement", "ComplexField", "ComplexRegion", "ComplexRootOf", "Complexes",
  "ComputationFailed", "ConditionSet", "Contains", "CosineTransform", "Curve", "DeferredVector",
  "DenseNDimArray", "Derivative", "Determinant", "DiagMatrix", "DiagonalMatrix", "DiagonalOf",
  "Dict", "DiracDelta", "DisjointUnion", "Domain", "DomainError", "DotProduct", "Dummy", "E",
  "E1", "EPath", "EX", "EXRAW", "Ei", "Eijk", "Ellipse", "EmptySequence", "EmptySet", "Eq",
  "Equality", "Equivalent", "EulerGamma", "EvaluationFailed", "ExactQuotientFailed", "Expr",
  "ExpressionDomain", "ExtraneousFactors", "FF", "FF_gmpy", "FF_python", "FallingFactorial",
  "FiniteField", "FiniteSet", "FlagError", "Float", "FourierTransform", "FractionField",
  "Function", "FunctionClass", "FunctionMatrix", "GF", "GMPYFiniteField", "GMPYIntegerRing",
  "GMPYRationalField", "Ge", "GeneratorsError", "GeneratorsNeeded", "GeometryError",
  "GoldenRatio", "GramSchmidt", "GreaterThan", "GroebnerBasis", "Gt", "HadamardPower",
  "HadamardProduct", "HankelTransform", "Heaviside", "HeuristicGCDFailed", "HomomorphismFailed",
  "I", "ITE", "Id", "Identity", "Idx", "ImageSet", "ImmutableDenseMatrix",
  "ImmutableDenseNDimArray", "ImmutableMatrix", "ImmutableSparseMatrix",
  "ImmutableSparseNDimArray", "Implies", "Indexed", "IndexedBase", "Integer", "IntegerRing",
  "Integers", "Integral", "Intersection", "Interval", "Inverse", "InverseCosineTransform",
  "InverseFourierTransform", "InverseHankelTransform", "InverseLaplaceTransform",
  "InverseMellinTransform", "InverseSineTransform", "IsomorphismFailed", "KroneckerDelta",
  "KroneckerProduct", "LC", "LM", "LT", "Lambda", "LambertW", "LaplaceTransform", "Le",
  "LessThan", "LeviCivita", "Li", "Limit", "Line", "Line2D", "Line3D", "Lt", "MatAdd", "MatMul",
  "MatPow", "Matrix", "MatrixBase", "MatrixExpr", "MatrixPermute", "MatrixSlice", "MatrixSymbol",
  "Max", "MellinTransform", "Min", "Mod", "Monomial", "Mul", "MultivariatePolynomialError",
  "MutableDenseMatrix", "MutableDenseNDimArray", "MutableMatrix", "MutableSparseMatrix",
  "MutableSparseNDimArray", "N", "NDimArray", "Nand", "Naturals", "Naturals0", "Ne",
  "NonSquareMatrixError", "Nor", "Not", "NotAlgebraic", "NotInvertible", "NotReversible",
  "Number", "NumberSymbol", "O", "OmegaPower", "OneMatrix", "OperationNotSupported",
  "OptionError", "Options", "Or", "Order", "Ordinal", "POSform", "Parabola", "Permanent",
  "PermutationMatrix", "Piecewise", "Plane", "Point", "Point2D", "Point3D", "PoleError",
  "PolificationFailed", "Poly", "Polygon", "PolynomialDivisionFailed", "PolynomialError",
  "PolynomialRing", "Pow", "PowerSet", "PrecisionExhausted", "Predicate", "Product", "ProductSet",
  "PurePoly", "PythonFiniteField", "PythonIntegerRing", "PythonRational", "Q", "QQ", "QQ_I",
  "QQ_gmpy", "QQ_python", "Quaternion", "RR", "Range", "Rational", "RationalField", "Rationals",
  "Ray", "Ray2D", "Ray3D", "RealField", "RealNumber", "Reals", "RefinementFailed",
  "RegularPolygon", "Rel", "Rem", "RisingFactorial", "RootOf", "RootSum", "S", "SOPform",
  "Segment", "Segment2D", "Segment3D", "SeqAdd", "SeqFormula", "SeqMul", "SeqPer", "Set",
  "ShapeError", "Shi", "Si", "Sieve", "SineTransform", "SingularityFunction", "SparseMatrix",
  "SparseNDimArray", "StrPrinter", "StrictGreaterThan", "StrictLessThan", "Subs", "Sum", "Symbol",
  "SymmetricDifference", "SympifyError", "TableForm", "Trace", "Transpose", "Triangle",
  "TribonacciConstant", "Tuple", "Unequality", "UnevaluatedExpr", "UnificationFailed", "Union",
  "UnivariatePolynomialError", "UniversalSet", "Wild", "WildFunction", "Xor", "Ynm", "Ynm_c",
  "ZZ", "ZZ_I", "ZZ_gmpy", "ZZ_python", "ZeroMatrix", "Znm", "abs", "abundance", "acos", "acosh",
  "acot", "acoth", "acsc", "acsch", "adjoint", "airyai", "airyaiprime", "airybi", "airybiprime",
  "aiter", "all", "all_roots", "andre", "anext", "any", "apart", "apart_list", "appellf1",
  "apply_finite_diff", "approximants", "are_similar", "arg", "arity", "ascii", "asec", "asech",
  "asin", "asinh", "ask", "assemble_partfrac_list", "assoc_laguerre", "assoc_legendre",
  "assuming", "atan", "atan2", "atanh", "banded", "bell", "bernoulli", "besseli", "besselj",
  "besselk", "besselsimp", "bessely", "beta", "betainc", "betainc_regularized", "bin", "binomial",
  "binomial_coefficients", "binomial_coefficients_list", "block_collapse", "blockcut", "bool_map",
  "bottom_up", "breakpoint", "bspline_basis", "bspline_basis_set", "cacheit", "callable",
  "cancel", "capture", "carmichael", "cartes", "casoratian", "catalan", "cbrt", "ccode",
  "ceiling", "centroid", "chebyshevt", "chebyshevt_poly", "chebyshevt_root", "chebyshevu",
  "chebyshevu_poly", "chebyshevu_root", "check_assumptions", "checkodesol", "checkpdesol",
  "checksol", "chr", "classify_ode", "classify_pde", "closest_points", "cofactors", "collect",
  "collect_const", "combsimp", "comp", "compile", "compose", "composite", "compositepi",
  "conjugate", "construct_domain", "content", "continued_fraction",
  "continued_fraction_convergents", "continued_fraction_iterator", "continued_fraction_periodic",
  "continued_fraction_reduce", "convex_hull", "convolution", "cos", "cosh", "cosine_transform",
  "cot", "coth", "count_ops", "count_roots", "covering_product", "csc", "csch", "cse", "cxxcode",
  "cycle_length", "cyclotomic_poly", "decompogen", "decompose", "default_sort_key", "deg",
  "degree", "degree_list", "delattr", "denom", "derive_by_array", "det", "det_quick", "diag",
  "diagonalize_vector", "dict_merge", "diff", "difference_delta", "differentiate_finite",
  "digamma", "diophantine", "dir", "dirichlet_eta", "discrete_log", "discriminant", "div",
  "divisor_count", "divisor_sigma", "divisors", "divmod", "doctest", "dotprint", "dsolve",
  "egyptian_fraction", "elliptic_e", "elliptic_f", "elliptic_k", "elliptic_pi", "epath", "erf",
  "erf2", "erf2inv", "erfc", "erfcinv", "erfi", "erfinv", "euler", "euler_equations", "eval",
  "evaluate", "exec", "exp", "exp_polar", "expand", "expand_complex", "expand_func", "expand_log",
  "expand_mul", "expand_multinomial", "expand_power_base", "expand_power_exp", "expand_trig",
  "expint", "exptrigsimp", "exquo", "eye", "factor", "factor_list", "factor_nc", "factor_system",
  "factor_terms", "factorial", "factorial2", "factorint", "factorrat", "failing_assumptions",
  "false", "farthest_points", "fcode", "ff", "fft", "fibonacci", "field", "field_isomorphism",
  "filldedent", "finite_diff_weights", "flatten", "floor", "format", "fourier_series",
  "fourier_transform", "fps", "frac", "fraction", "fresnelc", "fresnels", "fu", "fwht",
  "galois_group", "gamma", "gammasimp", "gcd", "gcd_list", "gcd_terms", "gcdex", "gegenbauer",
  "genocchi", "get_contraction_structure", "get_indices", "getattr", "gff", "gff_list", "globals",
  "glsl_code", "grevlex", "grlex", "groebner", "ground_roots", "group", "gruntz",
  "hadamard_product", "half_gcdex", "hankel1", "hankel2", "hankel_transform", "harmonic",
  "has_dups", "has_variety", "hasattr", "hash", "hermite", "hermite_poly", "hermite_prob",
  "hermite_prob_poly", "hessian", "hex", "hn1", "hn2", "homogeneous_order", "horner", "hyper",
  "hyperexpand", "hypersimilar", "hypersimp", "id", "idiff", "ifft", "ifwht", "igcd", "igrevlex",
  "igrlex", "ilcm", "ilex", "im", "imageset", "init_printing", "init_session", "input",
  "integer_log", "integer_nthroot", "integrate", "interactive_traversal", "interpolate",
  "interpolating_poly", "interpolating_spline", "intersecting_product", "intersection",
  "intervals", "intt", "inv_quick", "inverse_cosine_transform", "inverse_fourier_transform",
  "inverse_hankel_transform", "inverse_laplace_transform", "inverse_mellin_transform",
  "inverse_mobius_transform", "inverse_sine_transform", "invert", "is_abundant", "is_amicable",
  "is_carmichael", "is_convex", "is_decreasing", "is_deficient", "is_increasing",
  "is_mersenne_prime", "is_monotonic", "is_nthpow_residue", "is_perfect", "is_primitive_root",
  "is_quad_residue", "is_strictly_decreasing", "is_strictly_increasing", "is_zero_dimensional",
  "isinstance", "isolate", "isprime", "issubclass", "iter", "itermonomials", "jacobi",
  "jacobi_normalized", "jacobi_poly", "jacobi_symbol", "jn", "jn_zeros", "jordan_cell", "jscode",
  "julia_code", "kronecker_product", "kronecker_symbol", "kroneckersimp", "laguerre",
  "laguerre_poly", "lambdify", "laplace_correspondence", "laplace_initial_conds",
  "laplace_transform", "latex", "lcm", "lcm_list", "legendre", "legendre_poly", "legendre_symbol",
  "len", "lerchphi", "lex", "li", "limit", "limit_seq", "line_integrate", "linear_eq_to_matrix",
  "linsolve", "list2numpy", "ln", "locals", "log", "logcombine", "loggamma", "lowergamma",
  "lucas", "maple_code", "marcumq", "mathematica_code", "mathieuc", "mathieucprime", "mathieus",
  "mathieusprime", "mathml", "matrix2numpy", "matrix_multiply_elementwise", "matrix_symbols",
  "max", "maximum", "meijerg", "mellin_transform", "memoize_property", "mersenne_prime_exponent",
  "min", "minimal_polynomial", "minimum", "minpoly", "mobius", "mobius_transform", "mod_inverse",
  "monic", "motzkin", "multigamma", "multiline_latex", "multinomial_coefficients", "multiplicity",
  "n_order", "nan", "next", "nextprime", "nfloat", "nonlinsolve", "not_empty_in", "npartitions",
  "nroots", "nsimplify", "nsolve", "nth_power_roots_poly", "nthroot_mod", "ntt", "num_digits",
  "numbered_symbols", "numer", "oct", "octave_code", "ode_order", "ones", "oo", "open", "ord",
  "ord0", "ordered", "pager_print", "parallel_poly_from_expr", "parse_expr", "partition",
  "pde_separate", "pde_separate_add", "pde_separate_mul", "pdiv", "pdsolve", "per",
  "perfect_power", "periodic_argument", "periodicity", "permutedims", "pexquo", "pi",
  "piecewise_exclusive", "piecewise_fold", "plot", "plot_implicit", "plot_parametric",
  "polar_lift", "polarify", "pollard_pm1", "pollard_rho", "poly", "poly_from_expr", "polygamma",
  "polylog", "posify", "postfixes", "postorder_traversal", "pow", "powdenest", "powsimp",
  "pprint", "pprint_try_use_unicode", "pprint_use_unicode", "pquo", "prefixes", "prem",
  "preorder_traversal", "pretty", "pretty_print", "preview", "prevprime", "prime", "prime_decomp",
  "prime_valuation", "primefactors", "primenu", "primeomega", "primepi", "primerange",
  "primitive", "primitive_element", "primitive_root", "primorial", "principal_branch", "print",
  "print_ccode", "print_fcode", "print_glsl", "print_gtk", "print_jscode", "print_latex",
  "print_maple_code", "print_mathml", "print_python", "print_rcode", "print_tree", "prod",
  "product", "proper_divisor_count", "proper_divisors", "public", "pycode", "python",
  "quadratic_congruence", "quadratic_residues", "quo", "rad", "radsimp", "randMatrix",
  "random_poly", "randprime", "rational_interpolate", "ratsimp", "ratsimpmodprime", "rcode",
  "rcollect", "re", "real_root", "real_roots", "reduce_abs_inequalities", "reduce_abs_inequality",
  "reduce_inequalities", "reduced", "reduced_totient", "refine", "refine_root",
  "register_handler", "rem", "remove_handler", "repr", "reshape", "residue", "resultant", "rf",
  "riemann_xi", "ring", "root", "rootof", "roots", "rot_axis1", "rot_axis2", "rot_axis3",
  "rot_ccw_axis1", "rot_ccw_axis2", "rot_ccw_axis3", "rot_givens", "rotations", "round",
  "round_two", "rsolve", "rsolve_hyper", "rsolve_poly", "rsolve_ratio", "rust_code",
  "satisfiable", "sec", "sech", "separatevars", "sequence", "series", "setattr", "seterr",
  "sfield", "shape", "sift", "sign", "signsimp", "simplify", "simplify_logic", "sin", "sinc",
  "sine_transform", "singularities", "singularityintegrate", "sinh", "smtlib_code", "solve",
  "solve_linear", "solve_linear_system", "solve_linear_system_LU", "solve_poly_inequality",
  "solve_poly_system", "solve_rational_inequalities", "solve_triangulated",
  "solve_undetermined_coeffs", "solve_univariate_inequality", "solveset", "sorted", "sqf",
  "sqf_list", "sqf_norm", "sqf_part", "sqrt", "sqrt_mod", "sqrt_mod_iter", "sqrtdenest", "srepr",
  "sring", "sstr", "sstrrepr", "stationary_points", "stieltjes", "sturm", "subfactorial",
  "subresultants", "subsets", "substitution", "sum", "summation", "swinnerton_dyer_poly",
  "symarray", "symbols", "symmetric_poly", "symmetrize", "sympify", "take", "tan", "tanh",
  "tensorcontraction", "tensordiagonal", "tensorproduct", "terms_gcd", "test", "textplot",
  "threaded", "timed", "to_cnf", "to_dnf", "to_nnf", "to_number_field", "together",
  "topological_sort", "total_degree", "totient", "trace", "trailing", "transpose", "tribonacci",
  "trigamma", "trigsimp", "true", "trunc", "unbranched_argument", "unflatten", "unpolarify",
  "uppergamma", "use", "var", "variations", "vars", "vectorize", "vfield", "viete", "vring",
  "wronskian", "xfield", "xring", "xthreaded", "yn", "zeros", "zeta", "zoo",
};

static gboolean
in_list (const char *const *list,
         const char        *name)
{
  for (int i = 0; list[i] != NULL; i++)
    if (strcmp (list[i], name) == 0)
      return TRUE;
  return FALSE;
}

static int
compare_names (const void *a,
               const void *b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* TRUE if the leading identifier of CODE (up to '.', '(' or the end) is NAME: "np" for
 * "np.sin", "besselj" for "besselj(0, ". */
static gboolean
code_head_is (const char *code,
              const char *name)
{
  size_t n;

  if (code == NULL)
    return FALSE;
  n = strcspn (code, ".( ");
  return strlen (name) == n && strncmp (code, name, n) == 0;
}

/* NAME as the LaTeX printer writes it. */
static char *
latex_of_name (const char *name)
{
  GString *s = g_string_new (NULL);

  append_latex_name (s, name);
  return g_string_free (s, FALSE);
}

static gboolean
name_is_identifier (const char *name)
{
  const char *p = name;

  if (!g_ascii_isalpha (*p))
    return FALSE;
  for (p++; *p != '\0'; p++)
    {
      if (*p == '_')
        {
          if (!g_ascii_isalnum (p[1]))
            return FALSE;  /* a trailing or doubled underscore */
        }
      else if (!g_ascii_isalnum (*p))
        return FALSE;
    }
  return TRUE;
}

char *
kan_expr_name_problem (const char *name)
{
  g_autofree char *latex = NULL;

  g_return_val_if_fail (name != NULL, NULL);

  if (name[0] == '\0')
    return g_strdup ("is empty");
  if (!name_is_identifier (name))
    return g_strdup ("is not an identifier (an ASCII letter, then letters and digits with "
                     "single underscores between them)");
  /* The text printer writes these constants by name; a variable of that name would read back
   * as the constant. Every other identifier is a variable name: in text a function is only
   * ever a name followed by '(', and the code styles rename what their language reserves
   * (kan_expr_style_name). */
  for (int i = 0; text_constants[i] != NULL; i++)
    if (strcmp (name, text_constants[i]) == 0)
      return g_strdup_printf ("is the constant %s in formulas", name);
  return NULL;
}

char *
kan_expr_name_suggest (const char *name)
{
  GString *s;
  g_autofree char *problem = NULL;

  g_return_val_if_fail (name != NULL, NULL);

  /* Runs of other characters become one underscore; a leading digit gets "x_" before it. */
  s = g_string_new (NULL);
  for (const char *p = name; *p != '\0'; p++)
    {
      if (g_ascii_isalnum (*p))
        g_string_append_c (s, *p);
      else if (s->len > 0 && s->str[s->len - 1] != '_')
        g_string_append_c (s, '_');
      if (s->len > 64)
        break;
    }
  while (s->len > 0 && s->str[s->len - 1] == '_')
    g_string_truncate (s, s->len - 1);
  if (s->len == 0)
    {
      g_string_free (s, TRUE);
      return NULL;
    }
  if (g_ascii_isdigit (s->str[0]))
    g_string_prepend (s, "x_");
  problem = kan_expr_name_problem (s->str);
  if (problem != NULL)
    {
      g_clear_pointer (&problem, g_free);
      g_string_append (s, "_1");
      problem = kan_expr_name_problem (s->str);
    }
  if (problem != NULL || strcmp (s->str, name) == 0)
    {
      g_string_free (s, TRUE);
      return NULL;
    }
  return g_string_free (s, FALSE);
}

char *
kan_expr_name_key (const char *name)
{
  g_return_val_if_fail (name != NULL, NULL);

  /* Other styles print names as they are, so names that differ differ there too. */
  return latex_of_name (name);
}

/* How NAME reads in STYLE: text as it is; LaTeX typeset (x1 → x_{1}, theta → \theta); C and
 * Python with an underscore appended when the language or the output reserves it (int → int_,
 * exp → exp_ in C, lambda → lambda_, np → np_ in Python; a valid name never ends in '_', so the
 * result cannot clash with another); SymPy as Symbol('NAME', real=True) when sympify would
 * read the bare name as something else (E, I, N, S, gamma, beta, lambda, …). */
static void
append_style_name (GString      *out,
                   const char   *name,
                   KanExprStyle  style)
{
  gboolean reserved = FALSE;

  switch (style)
    {
    case KAN_EXPR_STYLE_LATEX:
      append_latex_name (out, name);
      return;
    case KAN_EXPR_STYLE_C:
      reserved = in_list (c_keywords, name) || in_list (c_output_names, name);
      for (int f = 0; f < KAN_FUNC_N_FUNCS && !reserved; f++)
        reserved = code_head_is (func_info[f].c, name);
      break;
    case KAN_EXPR_STYLE_PYTHON:
      reserved = in_list (python_keywords, name) || strcmp (name, "math") == 0;
      for (int f = 0; f < KAN_FUNC_N_FUNCS && !reserved; f++)
        reserved = code_head_is (func_info[f].python, name);
      break;
    case KAN_EXPR_STYLE_SYMPY:
      if (in_list (python_keywords, name)
          || bsearch (&name, sympy_names, G_N_ELEMENTS (sympy_names), sizeof (char *),
                      compare_names) != NULL)
        {
          g_string_append_printf (out, "Symbol('%s', real=True)", name);
          return;
        }
      break;
    case KAN_EXPR_STYLE_TEXT:
    default:
      break;
    }
  g_string_append (out, name);
  if (reserved)
    g_string_append_c (out, '_');
}

char *
kan_expr_style_name (const char   *name,
                     KanExprStyle  style)
{
  GString *s = g_string_new (NULL);

  g_return_val_if_fail (name != NULL, NULL);
  append_style_name (s, name, style);
  return g_string_free (s, FALSE);
}

/* ------------------------------------------------------------------------------------------ */
/* Messages and numbers                                                                       */
/* ------------------------------------------------------------------------------------------ */

/* At most MAX characters of TEXT around the 1-based position POS, ellipses included. */
static char *
excerpt_chars (const char *text,
               long        pos,
               long        max)
{
  g_autofree char *valid = NULL;
  long len, start, end;
  GString *s;

  valid = g_utf8_make_valid (text, -1);
  len = g_utf8_strlen (valid, -1);
  if (len <= max)
    return g_steal_pointer (&valid);
  if (pos < 1)
    start = 0;
  else
    start = CLAMP (pos - 1 - max / 2, 0, len - max);
  end = start + max;
  if (start > 0)
    start++;
  if (end < len)
    end--;
  s = g_string_new (start > 0 ? "…" : "");
  {
    const char *a = g_utf8_offset_to_pointer (valid, start);
    const char *b = g_utf8_offset_to_pointer (valid, end);
    g_string_append_len (s, a, b - a);
  }
  if (end < len)
    g_string_append (s, "…");
  return g_string_free (s, FALSE);
}

char *
kan_expr_excerpt (const char *text,
                  long        pos)
{
  g_return_val_if_fail (text != NULL, NULL);

  return excerpt_chars (text, pos, KAN_EXPR_EXCERPT_CHARS);
}

long
kan_expr_error_position (const GError *error)
{
  const char *p;

  if (error == NULL || error->message == NULL)
    return 0;
  p = strstr (error->message, "position ");
  if (p == NULL)
    return 0;
  return strtol (p + strlen ("position "), NULL, 10);
}

gboolean
kan_parse_number (const char  *text,
                  double      *out,
                  const char **problem)
{
  const char *p = text, *digits;
  gboolean mantissa = FALSE;
  char *end = NULL;
  double v;

  g_return_val_if_fail (text != NULL && out != NULL, FALSE);

  if (*p == '+' || *p == '-')
    p++;
  if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
    {
      if (problem != NULL)
        *problem = "is a hexadecimal number; numbers are read in decimal only";
      return FALSE;
    }
  digits = p;
  while (g_ascii_isdigit (*p))
    p++;
  mantissa = p > digits;
  if (*p == '.')
    {
      p++;
      digits = p;
      while (g_ascii_isdigit (*p))
        p++;
      mantissa = mantissa || p > digits;
    }
  if (mantissa && (*p == 'e' || *p == 'E'))
    {
      p++;
      if (*p == '+' || *p == '-')
        p++;
      digits = p;
      while (g_ascii_isdigit (*p))
        p++;
      if (p == digits)
        mantissa = FALSE;
    }
  if (!mantissa || *p != '\0')
    {
      /* "inf", "nan" and the like read as numbers, but not as finite ones. */
      v = g_ascii_strtod (text, &end);
      if (problem != NULL)
        *problem = end != text && *end == '\0' && !isfinite (v) && !g_ascii_isspace (text[0])
                   ? "is not a finite number" : "is not a number";
      return FALSE;
    }
  v = g_ascii_strtod (text, &end);
  if (!isfinite (v))
    {
      if (problem != NULL)
        *problem = "is not a finite number";
      return FALSE;
    }
  *out = v;
  return TRUE;
}
