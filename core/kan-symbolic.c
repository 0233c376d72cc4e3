/* kan-symbolic.c — the symbolic function library with derivatives and safe variants.
 *
 * Safe variants follow pykan's section 5.2 with two deliberate changes: they are continuous at
 * their thresholds (pykan's sqrt, arctanh and power-1.5 variants jump or are broken), and their
 * derivatives are the derivatives of the variant actually evaluated, so gradients stay finite.
 */
#include "kan-symbolic.h"

#include <math.h>
#include <gsl/gsl_sf_bessel.h>

typedef enum
{
  S_X, S_X2, S_X3, S_X4, S_X5,
  S_INV, S_INV2, S_INV3, S_INV4, S_INV5,
  S_SQRT, S_XHALF, S_X1P5, S_INVSQRT, S_INVXHALF,
  S_EXP, S_LOG, S_ABS, S_SIN, S_COS, S_TAN, S_TANH, S_SGN,
  S_ASIN, S_ACOS, S_ATAN, S_ATANH, S_ZERO, S_GAUSS,
  S_COSH, S_SINH, S_SIGMOID, S_J0,
  S_N
} SymId;

/* pykan's SYMBOLIC_LIB order and complexities, then Kanvas's additions. */
static const KanSymInfo sym_table[S_N] = {
  [S_X] = { "x", 1 },          [S_X2] = { "x^2", 2 },       [S_X3] = { "x^3", 3 },
  [S_X4] = { "x^4", 3 },       [S_X5] = { "x^5", 3 },
  [S_INV] = { "1/x", 2 },      [S_INV2] = { "1/x^2", 2 },   [S_INV3] = { "1/x^3", 3 },
  [S_INV4] = { "1/x^4", 4 },   [S_INV5] = { "1/x^5", 5 },
  [S_SQRT] = { "sqrt", 2 },    [S_XHALF] = { "x^0.5", 2 },  [S_X1P5] = { "x^1.5", 4 },
  [S_INVSQRT] = { "1/sqrt(x)", 2 }, [S_INVXHALF] = { "1/x^0.5", 2 },
  [S_EXP] = { "exp", 2 },      [S_LOG] = { "log", 2 },      [S_ABS] = { "abs", 3 },
  [S_SIN] = { "sin", 2 },      [S_COS] = { "cos", 2 },      [S_TAN] = { "tan", 3 },
  [S_TANH] = { "tanh", 3 },    [S_SGN] = { "sgn", 3 },
  [S_ASIN] = { "arcsin", 4 },  [S_ACOS] = { "arccos", 4 },  [S_ATAN] = { "arctan", 4 },
  [S_ATANH] = { "arctanh", 4 },
  [S_ZERO] = { "0", 0 },       [S_GAUSS] = { "gaussian", 3 },
  [S_COSH] = { "cosh", 3 },    [S_SINH] = { "sinh", 3 },    [S_SIGMOID] = { "sigmoid", 3 },
  [S_J0] = { "besselj0", 3 },
};

int
kan_sym_count (void)
{
  return S_N;
}

const KanSymInfo *
kan_sym_info (int id)
{
  g_return_val_if_fail (id >= 0 && id < S_N, NULL);
  return &sym_table[id];
}

int
kan_sym_lookup (const char *name)
{
  if (name == NULL)
    return -1;
  for (int id = 0; id < S_N; id++)
    if (g_strcmp0 (sym_table[id].name, name) == 0)
      return id;
  return -1;
}

int
kan_sym_zero (void)
{
  return S_ZERO;
}

static inline double
sgn (double u)
{
  return (u > 0) - (u < 0);
}

/* u^(-n) and its derivative. */
static inline double
inv_pow (double u, int n, double *d)
{
  double v = 1.0 / pow (u, n);
  *d = -n * v / u;
  return v;
}

/* Safe u^(-n): inside |u| < y_th^(-1/n) a constant y_th (even n) or the line through 0 that
 * meets the curve at the threshold (odd n, as pykan). */
static double
inv_pow_safe (double u, int n, double y_th, double *d)
{
  double u_th = pow (y_th, -1.0 / n);

  if (fabs (u) < u_th)
    {
      if (n % 2 == 0)
        {
          *d = 0.0;
          return y_th;
        }
      *d = y_th / u_th;
      return y_th / u_th * u;
    }
  return inv_pow (u, n, d);
}

/* The evaluators below share one shape: the value of function ID at U, its derivative in *D.
 * SAFE says whether Y_TH > 0 asks for the bounded variant; each family handles only its ids. */

/* x^n and x^-n (n = 1…5). */
static double
eval_power (SymId    id,
            double   u,
            double   y_th,
            gboolean safe,
            double  *d)
{
  double v;

  switch (id)
    {
    case S_X:
      v = u; *d = 1.0;
      break;
    case S_X2:
      v = u * u; *d = 2 * u;
      break;
    case S_X3:
      v = u * u * u; *d = 3 * u * u;
      break;
    case S_X4:
      v = u * u * u * u; *d = 4 * u * u * u;
      break;
    case S_X5:
      v = u * u * u * u * u; *d = 5 * u * u * u * u;
      break;
    default:
      {
        int n = id - S_INV + 1;
        v = safe ? inv_pow_safe (u, n, y_th, d) : inv_pow (u, n, d);
      }
      break;
    }
  return v;
}

/* √x, x^1.5 and 1/√x, whose plain forms are undefined for x < 0. */
static double
eval_root (SymId    id,
           double   u,
           double   y_th,
           gboolean safe,
           double  *d)
{
  double v;

  switch (id)
    {
    case S_SQRT: case S_XHALF:
      if (safe)
        {
          /* Odd extension sign(u)·√|u|, linear (slope y_th) inside |u| < 1/y_th². */
          double u_th = 1.0 / (y_th * y_th);
          if (fabs (u) < u_th)
            {
              v = y_th * u; *d = y_th;
            }
          else
            {
              v = sgn (u) * sqrt (fabs (u)); *d = 0.5 / sqrt (fabs (u));
            }
        }
      else
        {
          v = sqrt (u); *d = 0.5 / v;
        }
      break;
    case S_X1P5:
      if (safe)
        {
          v = pow (fabs (u), 1.5); *d = 1.5 * sqrt (fabs (u)) * sgn (u);
        }
      else
        {
          v = pow (u, 1.5); *d = 1.5 * sqrt (u);
        }
      break;
    default:  /* S_INVSQRT, S_INVXHALF */
      if (safe)
        {
          double u_th = 1.0 / (y_th * y_th);
          if (fabs (u) < u_th)
            {
              v = y_th; *d = 0.0;
            }
          else
            {
              v = 1.0 / sqrt (fabs (u)); *d = -0.5 * sgn (u) * v / fabs (u);
            }
        }
      else
        {
          v = 1.0 / sqrt (u); *d = -0.5 * v / u;
        }
      break;
    }
  return v;
}

/* exp and log, bounded by y_th in their safe forms. */
static double
eval_exp_log (SymId    id,
              double   u,
              double   y_th,
              gboolean safe,
              double  *d)
{
  double v;

  if (id == S_EXP)
    {
      if (safe && u > log (y_th))
        {
          v = y_th; *d = 0.0;
        }
      else
        {
          v = exp (u); *d = v;
        }
    }
  else if (safe)
    {
      /* Compared in log space: exp(-y_th) underflows to 0 for y_th > 745 (pykan's fit
       * uses 1000), which would let log(0) = -inf through. */
      double lu = log (fabs (u));
      if (lu < -y_th)
        {
          v = -y_th; *d = 0.0;
        }
      else
        {
          v = lu; *d = 1.0 / u;
        }
    }
  else
    {
      v = log (u); *d = 1.0 / u;
    }
  return v;
}

/* sin, cos, tan and their inverses. */
static double
eval_trig (SymId    id,
           double   u,
           double   y_th,
           gboolean safe,
           double  *d)
{
  double v;

  switch (id)
    {
    case S_SIN:
      v = sin (u); *d = cos (u);
      break;
    case S_COS:
      v = cos (u); *d = -sin (u);
      break;
    case S_TAN:
      if (safe)
        {
          /* pykan: near the poles, a steep line through 0 at the pole instead of ±∞. */
          double w = fmod (u, M_PI), delta = M_PI / 2 - atan (y_th);
          if (w < 0)
            w += M_PI;
          if (fabs (w - M_PI / 2) < delta)
            {
              *d = -y_th / delta;
              v = *d * (w - M_PI / 2);
            }
          else
            {
              v = tan (w); *d = 1.0 + v * v;
            }
        }
      else
        {
          v = tan (u); *d = 1.0 + v * v;
        }
      break;
    case S_ASIN:
      if (fabs (u) < 1)
        {
          v = asin (u); *d = 1.0 / sqrt (1 - u * u);
        }
      else if (safe)
        {
          v = M_PI / 2 * sgn (u); *d = 0.0;
        }
      else
        {
          v = asin (u); *d = NAN;
        }
      break;
    case S_ACOS:
      if (fabs (u) < 1)
        {
          v = acos (u); *d = -1.0 / sqrt (1 - u * u);
        }
      else if (safe)
        {
          v = M_PI / 2 * (1 - sgn (u)); *d = 0.0;
        }
      else
        {
          v = acos (u); *d = NAN;
        }
      break;
    default:  /* S_ATAN */
      v = atan (u); *d = 1.0 / (1 + u * u);
      break;
    }
  return v;
}

/* tanh, arctanh, cosh and sinh. */
static double
eval_hyperbolic (SymId    id,
                 double   u,
                 double   y_th,
                 gboolean safe,
                 double  *d)
{
  double v;

  if (id == S_TANH)
    {
      v = tanh (u); *d = 1.0 - v * v;
    }
  else if (id == S_ATANH)
    {
      /* Safe: clamp at |u| = 1-δ with pykan's δ, continuously (pykan jumps to ±y_th). */
      double lim = 1.0 - (1.0 - tanh (y_th) + 1e-4);
      if (safe && fabs (u) > lim)
        {
          v = atanh (lim) * sgn (u); *d = 0.0;
        }
      else
        {
          v = atanh (u); *d = 1.0 / (1 - u * u);
        }
    }
  else  /* S_COSH, S_SINH */
    {
      double lim = safe ? acosh (y_th) : INFINITY;
      double w = safe ? CLAMP (u, -lim, lim) : u;
      gboolean inside = !safe || fabs (u) <= lim;
      if (id == S_COSH)
        {
          v = cosh (w); *d = inside ? sinh (w) : 0.0;
        }
      else
        {
          v = sinh (w); *d = inside ? cosh (w) : 0.0;
        }
    }
  return v;
}

/* The functions defined everywhere, which have no safe variant. */
static double
eval_total (SymId   id,
            double  u,
            double *d)
{
  double v;

  switch (id)
    {
    case S_ABS:
      v = fabs (u); *d = sgn (u);
      break;
    case S_SGN:
      v = sgn (u); *d = 0.0;
      break;
    case S_ZERO:
      v = 0.0; *d = 0.0;
      break;
    case S_GAUSS:
      v = exp (-u * u); *d = -2 * u * v;
      break;
    case S_SIGMOID:
      v = 1.0 / (1.0 + exp (-u)); *d = v * (1 - v);
      break;
    default:  /* S_J0 */
      v = gsl_sf_bessel_J0 (u); *d = -gsl_sf_bessel_J1 (u);
      break;
    }
  return v;
}

double
kan_sym_eval (int     id,
              double  u,
              double  y_th,
              double *deriv)
{
  gboolean safe = y_th > 0;
  double d = 0.0, v;

  switch ((SymId) id)
    {
    case S_X: case S_X2: case S_X3: case S_X4: case S_X5:
    case S_INV: case S_INV2: case S_INV3: case S_INV4: case S_INV5:
      v = eval_power ((SymId) id, u, y_th, safe, &d);
      break;
    case S_SQRT: case S_XHALF: case S_X1P5: case S_INVSQRT: case S_INVXHALF:
      v = eval_root ((SymId) id, u, y_th, safe, &d);
      break;
    case S_EXP: case S_LOG:
      v = eval_exp_log ((SymId) id, u, y_th, safe, &d);
      break;
    case S_SIN: case S_COS: case S_TAN: case S_ASIN: case S_ACOS: case S_ATAN:
      v = eval_trig ((SymId) id, u, y_th, safe, &d);
      break;
    case S_TANH: case S_ATANH: case S_COSH: case S_SINH:
      v = eval_hyperbolic ((SymId) id, u, y_th, safe, &d);
      break;
    case S_ABS: case S_SGN: case S_ZERO: case S_GAUSS: case S_SIGMOID: case S_J0:
      v = eval_total ((SymId) id, u, &d);
      break;
    default:
      g_return_val_if_reached (NAN);
    }
  if (deriv)
    *deriv = d;
  return v;
}

KanExpr *
kan_sym_expr (int      id,
              KanExpr *arg)
{
  g_return_val_if_fail (arg != NULL, NULL);
  switch ((SymId) id)
    {
    case S_X:
      return arg;
    case S_X2: case S_X3: case S_X4: case S_X5:
      return kan_expr_binary (KAN_EXPR_POW, arg, kan_expr_num (id - S_X + 1));
    case S_INV:
      return kan_expr_binary (KAN_EXPR_DIV, kan_expr_num (1), arg);
    case S_INV2: case S_INV3: case S_INV4: case S_INV5:
      return kan_expr_binary (KAN_EXPR_DIV, kan_expr_num (1),
                              kan_expr_binary (KAN_EXPR_POW, arg, kan_expr_num (id - S_INV + 1)));
    case S_SQRT: case S_XHALF:
      return kan_expr_unary (KAN_EXPR_CALL, KAN_FUNC_SQRT, arg);
    case S_X1P5:
      return kan_expr_binary (KAN_EXPR_POW, arg, kan_expr_num (1.5));
    case S_INVSQRT: case S_INVXHALF:
      return kan_expr_binary (KAN_EXPR_DIV, kan_expr_num (1),
                              kan_expr_unary (KAN_EXPR_CALL, KAN_FUNC_SQRT, arg));
    case S_EXP:
      return kan_expr_unary (KAN_EXPR_CALL, KAN_FUNC_EXP, arg);
    case S_LOG:
      return kan_expr_unary (KAN_EXPR_CALL, KAN_FUNC_LOG, arg);
    case S_ABS:
      return kan_expr_unary (KAN_EXPR_CALL, KAN_FUNC_ABS, arg);
    case S_SIN:
      return kan_expr_unary (KAN_EXPR_CALL, KAN_FUNC_SIN, arg);
    case S_COS:
      return kan_expr_unary (KAN_EXPR_CALL, KAN_FUNC_COS, arg);
    case S_TAN:
      return kan_expr_unary (KAN_EXPR_CALL, KAN_FUNC_TAN, arg);
    case S_TANH:
      return kan_expr_unary (KAN_EXPR_CALL, KAN_FUNC_TANH, arg);
    case S_SGN:
      return kan_expr_unary (KAN_EXPR_CALL, KAN_FUNC_SIGN, arg);
    case S_ASIN:
      return kan_expr_unary (KAN_EXPR_CALL, KAN_FUNC_ASIN, arg);
    case S_ACOS:
      return kan_expr_unary (KAN_EXPR_CALL, KAN_FUNC_ACOS, arg);
    case S_ATAN:
      return kan_expr_unary (KAN_EXPR_CALL, KAN_FUNC_ATAN, arg);
    case S_ATANH:
      return kan_expr_unary (KAN_EXPR_CALL, KAN_FUNC_ATANH, arg);
    case S_ZERO:
      kan_expr_free (arg);
      return kan_expr_num (0);
    case S_GAUSS:
      return kan_expr_unary (KAN_EXPR_CALL, KAN_FUNC_EXP,
                             kan_expr_unary (KAN_EXPR_NEG, 0,
                                             kan_expr_binary (KAN_EXPR_POW, arg,
                                                              kan_expr_num (2))));
    case S_COSH:
      return kan_expr_unary (KAN_EXPR_CALL, KAN_FUNC_COSH, arg);
    case S_SINH:
      return kan_expr_unary (KAN_EXPR_CALL, KAN_FUNC_SINH, arg);
    case S_SIGMOID:
      return kan_expr_unary (KAN_EXPR_CALL, KAN_FUNC_SIGMOID, arg);
    case S_J0:
      return kan_expr_unary (KAN_EXPR_CALL, KAN_FUNC_BESSELJ0, arg);
    default:
      kan_expr_free (arg);
      g_return_val_if_reached (NULL);
    }
}
