/* kan-exprfit.c — fitting the free constants of a formula to data, with standard errors.
 *
 * The tree is flattened once into a tape in post-order (children before parents). A forward
 * sweep over the tape computes the same operations as kan_expr_eval, in the same order, so
 * values agree bit for bit; a reverse sweep gives the derivative of the row's value with
 * respect to every free constant at once, which is the row of the Jacobian. The errors come
 * from an SVD of the Jacobian with unit-length columns, which keeps constants of very different
 * magnitudes (1e-11 next to 1e3) from looking singular.
 */
#include "kan-exprfit.h"
#include "kan-error.h"
#include "kan-formula.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include <gsl/gsl_linalg.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_multifit_nlinear.h>
#include <gsl/gsl_sf_psi.h>
#include <gsl/gsl_vector.h>

/* A snapped value times its denominator lands on an integer up to this many units in the last
 * place (p/q is rounded once, and multiplying by q rounds again). */
#define FRACTION_ULPS 8.0
/* Largest |p| of the fractions p/q and multiples p·π/q (q > 1) that kan_snap_value returns;
 * its short decimals (12345.6 = 61728/5) are not simple values. */
#define FRACTION_MAX_NUMERATOR 100
/* Below this many units in the last place of the value, an error is beyond what the value can
 * show; it is then printed on its own rather than setting the value's digits. */
#define ERROR_ULPS 8.0
/* Rows the tape sweeps at a time: one dispatch per node serves the whole block, and a block's
 * values and adjoints (nodes × rows) stay in cache. */
#define TAPE_BLOCK 128

/* ------------------------------------------------------------------------------------------ */
/* Free constants                                                                              */

/* T is a whole number, of at most FRACTION_MAX_NUMERATOR unless ANY_SIZE. */
static gboolean
is_whole (double   t,
          gboolean any_size)
{
  return (any_size || fabs (t) <= FRACTION_MAX_NUMERATOR + 0.5)
         && fabs (t - round (t)) <= FRACTION_ULPS * DBL_EPSILON * fabs (t);
}

/* S (a value kan_snap_value returned) is an integer, p/q or p·π/q with q ≤
 * KAN_SNAP_DEFAULT_MAX_DEN, as opposed to a short decimal such as 0.731 or 12345.6, which
 * kan_snap_value also returns. */
static gboolean
is_fraction (double s)
{
  for (int q = 1; q <= KAN_SNAP_DEFAULT_MAX_DEN; q++)
    if (is_whole (s * q, q == 1) || is_whole (s * q / M_PI, FALSE))
      return TRUE;
  return FALSE;
}

static gboolean
is_exact (double v)
{
  double s;

  if (v == 0.0)
    return TRUE;
  if (fabs (fabs (v) - M_E) <= KAN_EXPR_FIT_EXACT_TOL * M_E)
    return TRUE;
  /* A nonzero number that snaps to 0 is tiny (ħ, G), not something set to 0 on purpose. */
  if (!kan_snap_value (v, KAN_EXPR_FIT_EXACT_TOL, KAN_SNAP_DEFAULT_MAX_DEN, &s) || s == 0.0)
    return FALSE;
  return is_fraction (s);
}

static gboolean
is_half_integer (double v)
{
  double t = 2.0 * v;

  return isfinite (t) && fabs (t - round (t)) <= KAN_EXPR_FIT_EXACT_TOL * MAX (1.0, fabs (t));
}

/* Operands in the order the printer writes them: a, then b. EXPONENT says that E is the
 * exponent of a power, or the operand of a sign in one. *INDEX counts the nodes in that order;
 * POS (if not NULL) receives the index of each free constant. */
static void
collect_free (const KanExpr *e,
              gboolean       exponent,
              int           *index,
              GPtrArray     *out,
              GArray        *pos)
{
  int i;

  if (e == NULL)
    return;
  i = (*index)++;
  if (e->kind == KAN_EXPR_NUM)
    {
      if (!is_exact (e->value) && !(exponent && is_half_integer (e->value)))
        {
          g_ptr_array_add (out, (gpointer) e);
          if (pos != NULL)
            g_array_append_val (pos, i);
        }
      return;
    }
  collect_free (e->a, exponent && e->kind == KAN_EXPR_NEG, index, out, pos);
  collect_free (e->b, e->kind == KAN_EXPR_POW, index, out, pos);
}

/* The nodes of E in print order, into OUT (kan_expr_size (E) entries). */
static void
collect_nodes (KanExpr  *e,
               int      *index,
               KanExpr **out)
{
  if (e == NULL)
    return;
  out[(*index)++] = e;
  collect_nodes (e->a, index, out);
  collect_nodes (e->b, index, out);
}

int
kan_expr_free_constants (KanExpr    *e,
                         KanExpr  ***out)
{
  GPtrArray *nums;
  int n, index = 0;

  g_return_val_if_fail (e != NULL, 0);

  nums = g_ptr_array_new ();
  collect_free (e, FALSE, &index, nums, NULL);
  n = (int) nums->len;
  if (out != NULL)
    *out = n > 0 ? (KanExpr **) g_ptr_array_free (nums, FALSE) : NULL;
  if (out == NULL || n == 0)
    g_ptr_array_free (nums, TRUE);
  return n;
}

/* ------------------------------------------------------------------------------------------ */
/* The tape                                                                                    */

typedef struct
{
  KanExprKind kind;
  KanFunc     func;
  int         a, b;    /* operand positions on the tape, -1 if none */
  int         var;     /* KAN_EXPR_VAR */
  int         param;   /* free constant's index for a NUM, else -1 */
  double      value;   /* NUM */
  gboolean    active;  /* a free constant lies in this subtree */
} Op;

typedef struct
{
  Op     *ops;
  int     n_ops;
  int     n_params;
  int    *param_op;  /* n_params: where each free constant sits on the tape */
  double *val;       /* n_ops × TAPE_BLOCK: the forward sweep of the current block */
  double *adj;       /* n_ops × TAPE_BLOCK: the reverse sweep */
} Tape;

static int
tape_add (Tape          *t,
          const KanExpr *e,
          KanExpr      **free_nums)
{
  int a = e->a != NULL ? tape_add (t, e->a, free_nums) : -1;
  int b = e->b != NULL ? tape_add (t, e->b, free_nums) : -1;
  Op *op = &t->ops[t->n_ops];

  *op = (Op) { e->kind, e->func, a, b, e->var, -1, e->value, FALSE };
  if (e->kind == KAN_EXPR_NUM)
    for (int k = 0; k < t->n_params; k++)
      if (free_nums[k] == e)
        {
          op->param = k;
          op->active = TRUE;
          t->param_op[k] = t->n_ops;
        }
  op->active = op->active || (a >= 0 && t->ops[a].active) || (b >= 0 && t->ops[b].active);
  return t->n_ops++;
}

static Tape *
tape_new (const KanExpr  *e,
          KanExpr       **free_nums,
          int             n_params)
{
  Tape *t = g_new0 (Tape, 1);
  int size = kan_expr_size (e);

  t->ops = g_new (Op, size);
  t->val = g_new (double, (size_t) size * TAPE_BLOCK);
  t->adj = g_new (double, (size_t) size * TAPE_BLOCK);
  t->n_params = n_params;
  t->param_op = g_new (int, MAX (n_params, 1));
  tape_add (t, e, free_nums);
  g_assert (t->n_ops == size);
  return t;
}

static void
tape_free (Tape *t)
{
  if (t == NULL)
    return;
  g_free (t->ops);
  g_free (t->val);
  g_free (t->adj);
  g_free (t->param_op);
  g_free (t);
}

static void
tape_set (Tape         *t,
          const double *params)
{
  for (int k = 0; k < t->n_params; k++)
    t->ops[t->param_op[k]].value = params[k];
}

static double
digamma (double x)
{
  /* Reflection keeps GSL on positive arguments, where it cannot signal an error. */
  if (x > 0.0)
    return gsl_sf_psi (x);
  return gsl_sf_psi (1.0 - x) - M_PI / tan (M_PI * x);
}

/* d f(x) / dx, given y = f(x). */
static double
func_deriv (KanFunc f,
            double  x,
            double  y)
{
  switch (f)
    {
    case KAN_FUNC_SIN: return cos (x);
    case KAN_FUNC_COS: return -sin (x);
    case KAN_FUNC_TAN: return 1.0 + y * y;
    case KAN_FUNC_ASIN: return 1.0 / sqrt ((1.0 - x) * (1.0 + x));
    case KAN_FUNC_ACOS: return -1.0 / sqrt ((1.0 - x) * (1.0 + x));
    case KAN_FUNC_ATAN: return 1.0 / (1.0 + x * x);
    case KAN_FUNC_SINH: return cosh (x);
    case KAN_FUNC_COSH: return sinh (x);
    case KAN_FUNC_TANH: return 1.0 - y * y;
    case KAN_FUNC_ASINH: return 1.0 / hypot (x, 1.0);
    case KAN_FUNC_ACOSH: return 1.0 / sqrt ((x - 1.0) * (x + 1.0));
    case KAN_FUNC_ATANH: return 1.0 / ((1.0 - x) * (1.0 + x));
    case KAN_FUNC_EXP: return y;
    case KAN_FUNC_LOG: return 1.0 / x;
    case KAN_FUNC_SQRT: return 0.5 / y;
    case KAN_FUNC_ABS: return x > 0.0 ? 1.0 : x < 0.0 ? -1.0 : isnan (x) ? x : 0.0;
    case KAN_FUNC_SIGN: return isnan (x) ? x : 0.0;
    case KAN_FUNC_SIGMOID: return y * (1.0 - y);
    case KAN_FUNC_ERF: return M_2_SQRTPI * exp (-x * x);
    case KAN_FUNC_GAMMA: return isfinite (y) && isfinite (x) ? y * digamma (x) : NAN;
    case KAN_FUNC_BESSELJ0: return -kan_func_eval (KAN_FUNC_BESSELJ1, x);
    case KAN_FUNC_BESSELJ1:
      return x == 0.0 ? 0.5
                      : kan_func_eval (KAN_FUNC_BESSELJ0, x) - y / x;
    case KAN_FUNC_BESSELY0: return -kan_func_eval (KAN_FUNC_BESSELY1, x);
    case KAN_FUNC_BESSELY1: return kan_func_eval (KAN_FUNC_BESSELY0, x) - y / x;
    case KAN_FUNC_N_FUNCS:
    default:
      break;
    }
  g_return_val_if_reached (NAN);
}

/* Sweeps the M rows of X from row R0 (N_IN doubles per row): afterwards tape_value holds the
 * expression's value on each, and with GRAD tape_grad its derivatives with respect to the free
 * constants. */
static void
tape_rows (Tape         *t,
           const double *x,
           int           n_in,
           size_t        r0,
           int           m,
           gboolean      grad)
{
  const Op *ops = t->ops;
  int root = t->n_ops - 1;

  for (int i = 0; i < t->n_ops; i++)
    {
      const Op *op = &ops[i];
      double *v = t->val + (size_t) i * TAPE_BLOCK;
      const double *va = op->a >= 0 ? t->val + (size_t) op->a * TAPE_BLOCK : NULL;
      const double *vb = op->b >= 0 ? t->val + (size_t) op->b * TAPE_BLOCK : NULL;

      switch (op->kind)
        {
        case KAN_EXPR_NUM:
          for (int r = 0; r < m; r++) v[r] = op->value;
          break;
        case KAN_EXPR_VAR:
          for (int r = 0; r < m; r++) v[r] = x[(r0 + r) * n_in + op->var];
          break;
        case KAN_EXPR_ADD: for (int r = 0; r < m; r++) v[r] = va[r] + vb[r]; break;
        case KAN_EXPR_SUB: for (int r = 0; r < m; r++) v[r] = va[r] - vb[r]; break;
        case KAN_EXPR_MUL: for (int r = 0; r < m; r++) v[r] = va[r] * vb[r]; break;
        case KAN_EXPR_DIV: for (int r = 0; r < m; r++) v[r] = va[r] / vb[r]; break;
        case KAN_EXPR_POW: for (int r = 0; r < m; r++) v[r] = pow (va[r], vb[r]); break;
        case KAN_EXPR_NEG: for (int r = 0; r < m; r++) v[r] = -va[r]; break;
        case KAN_EXPR_CALL:
          for (int r = 0; r < m; r++) v[r] = kan_func_eval (op->func, va[r]);
          break;
        default:
          g_assert_not_reached ();
        }
    }
  if (!grad)
    return;

  for (int i = 0; i < t->n_ops; i++)
    if (ops[i].active)
      memset (t->adj + (size_t) i * TAPE_BLOCK, 0, sizeof (double) * m);
  for (int r = 0; r < m; r++)
    t->adj[(size_t) root * TAPE_BLOCK + r] = 1.0;
  /* Parents come after their operands, so a backward pass sees each node's adjoint complete.
   * Only subtrees holding a free constant are visited, and a zero adjoint is not propagated:
   * 0·∞ from a part that does not matter must not spoil the row. */
  for (int i = root; i >= 0; i--)
    {
      const Op *op = &ops[i];
      const double *v = t->val + (size_t) i * TAPE_BLOCK, *g = t->adj + (size_t) i * TAPE_BLOCK;
      const double *va = NULL, *vb = NULL;
      double *ga = NULL, *gb = NULL;

      if (!op->active || op->kind == KAN_EXPR_NUM)
        continue;
      if (op->a >= 0)
        {
          va = t->val + (size_t) op->a * TAPE_BLOCK;
          if (ops[op->a].active)
            ga = t->adj + (size_t) op->a * TAPE_BLOCK;
        }
      if (op->b >= 0)
        {
          vb = t->val + (size_t) op->b * TAPE_BLOCK;
          if (ops[op->b].active)
            gb = t->adj + (size_t) op->b * TAPE_BLOCK;
        }
      for (int r = 0; r < m; r++)
        {
          double gi = g[r];

          if (gi == 0.0)
            continue;
          switch (op->kind)
            {
            case KAN_EXPR_ADD:
              if (ga) ga[r] += gi;
              if (gb) gb[r] += gi;
              break;
            case KAN_EXPR_SUB:
              if (ga) ga[r] += gi;
              if (gb) gb[r] -= gi;
              break;
            case KAN_EXPR_MUL:
              if (ga) ga[r] += gi * vb[r];
              if (gb) gb[r] += gi * va[r];
              break;
            case KAN_EXPR_DIV:
              if (ga) ga[r] += gi / vb[r];
              if (gb) gb[r] -= gi * v[r] / vb[r];
              break;
            case KAN_EXPR_POW:
              if (ga) ga[r] += gi * vb[r] * pow (va[r], vb[r] - 1.0);
              if (gb) gb[r] += gi * v[r] * log (va[r]);
              break;
            case KAN_EXPR_NEG:
              if (ga) ga[r] -= gi;
              break;
            case KAN_EXPR_CALL:
              if (ga) ga[r] += gi * func_deriv (op->func, va[r], v[r]);
              break;
            default:
              g_assert_not_reached ();
            }
        }
    }
}

/* The values of the last block swept. */
static const double *
tape_value (const Tape *t)
{
  return t->val + (size_t) (t->n_ops - 1) * TAPE_BLOCK;
}

/* The derivative on row R of the last block with respect to free constant K. */
static double
tape_grad (const Tape *t,
           int         r,
           int         k)
{
  return t->adj[(size_t) t->param_op[k] * TAPE_BLOCK + r];
}

/* Sum of squared residuals at the tape's current constants: non-finite if the formula is
 * not finite on some row. */
static double
tape_rss (Tape         *t,
          const double *x,
          int           n_in,
          const double *y,
          size_t        n)
{
  double ss = 0.0;

  for (size_t r0 = 0; r0 < n; r0 += TAPE_BLOCK)
    {
      int m = (int) MIN (TAPE_BLOCK, n - r0);
      const double *v = tape_value (t);

      tape_rows (t, x, n_in, r0, m, FALSE);
      for (int r = 0; r < m; r++)
        {
          double d = v[r] - y[r0 + r];
          ss += d * d;
        }
    }
  return ss;
}

/* ------------------------------------------------------------------------------------------ */
/* Levenberg–Marquardt                                                                         */

typedef struct
{
  Tape         *tape;
  const double *x;
  int           n_in;
  const double *y;
} Problem;

static int
problem_f (const gsl_vector *p,
           void             *data,
           gsl_vector       *f)
{
  Problem *pr = data;
  Tape *t = pr->tape;
  const double *v = tape_value (t);

  tape_set (t, p->data);
  for (size_t r0 = 0; r0 < f->size; r0 += TAPE_BLOCK)
    {
      int m = (int) MIN (TAPE_BLOCK, f->size - r0);

      tape_rows (t, pr->x, pr->n_in, r0, m, FALSE);
      for (int r = 0; r < m; r++)
        {
          double d = v[r] - pr->y[r0 + r];
          gsl_vector_set (f, r0 + r, isfinite (d) ? d : KAN_EXPR_FIT_PENALTY);
        }
    }
  return GSL_SUCCESS;
}

static int
problem_df (const gsl_vector *p,
            void             *data,
            gsl_matrix       *J)
{
  Problem *pr = data;
  Tape *t = pr->tape;
  const double *v = tape_value (t);
  int np = t->n_params;

  tape_set (t, p->data);
  for (size_t r0 = 0; r0 < J->size1; r0 += TAPE_BLOCK)
    {
      int m = (int) MIN (TAPE_BLOCK, J->size1 - r0);

      tape_rows (t, pr->x, pr->n_in, r0, m, TRUE);
      for (int r = 0; r < m; r++)
        {
          double *jrow = J->data + (r0 + r) * J->tda;
          gboolean penalty = !isfinite (v[r] - pr->y[r0 + r]);

          /* Where the residual is the constant penalty, it does not move; elsewhere a
           * derivative that is not finite would only derail the step. */
          for (int k = 0; k < np; k++)
            {
              double d = tape_grad (t, r, k);
              jrow[k] = penalty || !isfinite (d) ? 0.0 : d;
            }
        }
    }
  return GSL_SUCCESS;
}

/* Whether the Jacobian (as the solver sees it) is zero at the tape's constants: then the
 * constants sit at a stationary point, and GSL's solvers would only report the singular
 * system through the error handler. */
static gboolean
problem_flat (Problem *pr,
              size_t   n)
{
  Tape *t = pr->tape;
  const double *v = tape_value (t);

  for (size_t r0 = 0; r0 < n; r0 += TAPE_BLOCK)
    {
      int m = (int) MIN (TAPE_BLOCK, n - r0);

      tape_rows (t, pr->x, pr->n_in, r0, m, TRUE);
      for (int r = 0; r < m; r++)
        if (isfinite (v[r] - pr->y[r0 + r]))
          for (int k = 0; k < t->n_params; k++)
            {
              double d = tape_grad (t, r, k);

              if (d != 0.0 && isfinite (d))
                return FALSE;
            }
    }
  return TRUE;
}

/* Runs the driver from the tape's constants; leaves the end point in END. */
static int
problem_solve (Problem *pr,
               size_t   n,
               int      max_iter,
               double  *end)
{
  int np = pr->tape->n_params;
  gsl_multifit_nlinear_parameters fp = gsl_multifit_nlinear_default_parameters ();
  gsl_multifit_nlinear_fdf fdf = { 0 };
  gsl_multifit_nlinear_workspace *w;
  gsl_vector *p0 = gsl_vector_alloc (np);
  int info = 0, iterations = 0;

  for (int k = 0; k < np; k++)
    gsl_vector_set (p0, k, pr->tape->ops[pr->tape->param_op[k]].value);
  fp.trs = gsl_multifit_nlinear_trs_lm;
  /* Normal equations: JᵀJ is formed once per iteration and each trial damping costs a small
   * Cholesky solve, where QR would refactor the tall Jacobian. Their squared conditioning only
   * affects the steps; the errors come from an SVD of J itself. */
  fp.solver = gsl_multifit_nlinear_solver_cholesky;
  fdf.f = problem_f;
  fdf.df = problem_df;
  fdf.n = n;
  fdf.p = np;
  fdf.params = pr;
  w = gsl_multifit_nlinear_alloc (gsl_multifit_nlinear_trust, &fp, n, np);
  if (gsl_multifit_nlinear_init (p0, &fdf, w) == GSL_SUCCESS)
    {
      gsl_multifit_nlinear_driver (max_iter, KAN_EXPR_FIT_XTOL, KAN_EXPR_FIT_GTOL, 0.0,
                                   NULL, NULL, &info, w);
      iterations = (int) gsl_multifit_nlinear_niter (w);
    }
  memcpy (end, gsl_multifit_nlinear_position (w)->data, sizeof (double) * np);
  gsl_multifit_nlinear_free (w);
  gsl_vector_free (p0);
  return iterations;
}

/* ------------------------------------------------------------------------------------------ */
/* Standard errors                                                                             */

/* Errors at the tape's constants, into SE (n_params); RSS is the sum of squared residuals
 * there. */
static void
standard_errors (Tape         *t,
                 const double *x,
                 int           n_in,
                 size_t        n,
                 double        rss,
                 double       *se)
{
  int np = t->n_params, n_cols = 0;
  g_autofree double *jac = NULL, *norm = NULL;
  g_autofree int *cols = NULL;
  gsl_matrix *a, *v;
  gsl_vector *s;
  double s2;

  for (int k = 0; k < np; k++)
    se[k] = NAN;
  if (n <= (size_t) np || !isfinite (rss))
    return;

  jac = g_new (double, n * np);
  for (size_t r0 = 0; r0 < n; r0 += TAPE_BLOCK)
    {
      int m = (int) MIN (TAPE_BLOCK, n - r0);

      tape_rows (t, x, n_in, r0, m, TRUE);
      for (int r = 0; r < m; r++)
        for (int k = 0; k < np; k++)
          {
            double d = tape_grad (t, r, k);

            if (!isfinite (d))
              return;
            jac[(r0 + r) * np + k] = d;
          }
    }

  /* Columns that are all zero get an infinite error and leave the rest to be judged alone. */
  norm = g_new0 (double, np);
  cols = g_new (int, np);
  for (int k = 0; k < np; k++)
    {
      double ss = 0.0;

      for (size_t r = 0; r < n; r++)
        ss += jac[r * np + k] * jac[r * np + k];
      norm[k] = sqrt (ss);
      if (norm[k] == 0.0)
        se[k] = INFINITY;
      else if (isfinite (norm[k]))
        cols[n_cols++] = k;
      else
        return;  /* a column too large to scale; nothing sensible follows */
    }
  if (n_cols == 0)
    return;

  a = gsl_matrix_alloc (n, n_cols);
  v = gsl_matrix_alloc (n_cols, n_cols);
  s = gsl_vector_alloc (n_cols);
  for (size_t r = 0; r < n; r++)
    for (int j = 0; j < n_cols; j++)
      gsl_matrix_set (a, r, j, jac[r * np + cols[j]] / norm[cols[j]]);
  s2 = rss / (double) (n - np);
  if (gsl_linalg_SV_decomp_jacobi (a, v, s) == GSL_SUCCESS
      && gsl_vector_min (s) > KAN_EXPR_FIT_RCOND * gsl_vector_max (s))
    for (int i = 0; i < n_cols; i++)
      {
        double var = 0.0;

        /* (AᵀA)⁻¹ = V·S⁻²·Vᵀ, and J = A·diag(norm). */
        for (int j = 0; j < n_cols; j++)
          {
            double vij = gsl_matrix_get (v, i, j) / gsl_vector_get (s, j);
            var += vij * vij;
          }
        se[cols[i]] = sqrt (s2 * var) / norm[cols[i]];
      }
  gsl_matrix_free (a);
  gsl_matrix_free (v);
  gsl_vector_free (s);
}

/* ------------------------------------------------------------------------------------------ */
/* The fit                                                                                     */

static gboolean
all_finite (const double *v,
            size_t        n)
{
  for (size_t i = 0; i < n; i++)
    if (!isfinite (v[i]))
      return FALSE;
  return TRUE;
}

KanExprFit *
kan_expr_fit (KanExpr       *e,
              const double  *x,
              int            n_in,
              const double  *y,
              size_t         n,
              int            max_iter,
              GError       **error)
{
  g_autoptr (GPtrArray) free_nums = NULL;
  g_autoptr (GArray) pos = NULL;
  g_autofree double *start = NULL, *end = NULL;
  KanExpr **nums;
  KanExprFit *fit;
  Problem pr;
  Tape *t;
  double before, after;
  int np, index = 0;

  g_return_val_if_fail (e != NULL, NULL);
  g_return_val_if_fail (n == 0 || y != NULL, NULL);
  g_return_val_if_fail (n == 0 || n_in <= 0 || x != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (kan_expr_max_var (e) >= n_in)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_SHAPE,
                   "the formula uses %d variables but the data have %d columns",
                   kan_expr_max_var (e) + 1, MAX (n_in, 0));
      return NULL;
    }
  if (n == 0)
    {
      g_set_error_literal (error, KAN_ERROR, KAN_ERROR_DATA, "there are no rows to fit on");
      return NULL;
    }
  if (!all_finite (y, n) || (n_in > 0 && !all_finite (x, n * n_in)))
    {
      g_set_error_literal (error, KAN_ERROR, KAN_ERROR_DATA,
                           "the data hold a value that is not a finite number");
      return NULL;
    }
  if (max_iter < 0)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID,
                   "the iteration limit must be at least 0, not %d", max_iter);
      return NULL;
    }

  free_nums = g_ptr_array_new ();
  pos = g_array_new (FALSE, FALSE, sizeof (int));
  collect_free (e, FALSE, &index, free_nums, pos);
  nums = (KanExpr **) free_nums->pdata;
  np = (int) free_nums->len;
  t = tape_new (e, nums, np);
  start = g_new (double, MAX (np, 1));
  end = g_new (double, MAX (np, 1));
  for (int k = 0; k < np; k++)
    start[k] = nums[k]->value;

  fit = g_new0 (KanExprFit, 1);
  fit->n = np;
  fit->value = g_new (double, MAX (np, 1));
  fit->stderr_ = g_new (double, MAX (np, 1));
  fit->node = g_new (int, MAX (np, 1));
  if (np > 0)
    memcpy (fit->node, pos->data, sizeof (int) * np);

  before = tape_rss (t, x, n_in, y, n);
  after = before;
  pr = (Problem) { t, x, n_in, y };
  /* GSL's solver needs at least as many rows as constants. */
  if (np > 0 && max_iter > 0 && n >= (size_t) np && !problem_flat (&pr, n))
    {
      fit->iterations = problem_solve (&pr, n, max_iter, end);
      tape_set (t, end);
      after = tape_rss (t, x, n_in, y, n);
      if (!(after <= before || (!isfinite (before) && isfinite (after))))
        {
          tape_set (t, start);
          after = before;
        }
    }

  for (int k = 0; k < np; k++)
    {
      fit->value[k] = t->ops[t->param_op[k]].value;
      nums[k]->value = fit->value[k];
    }
  fit->rmse = isfinite (after) ? sqrt (after / (double) n) : NAN;
  standard_errors (t, x, n_in, n, after, fit->stderr_);
  tape_free (t);
  return fit;
}

void
kan_expr_fit_free (KanExprFit *fit)
{
  if (fit == NULL)
    return;
  g_free (fit->value);
  g_free (fit->stderr_);
  g_free (fit->node);
  g_free (fit);
}

/* ------------------------------------------------------------------------------------------ */
/* Printing                                                                                    */

/* V with DECIMALS digits after the point, without a sign on a zero ("-0.00" reads oddly). */
static void
append_fixed (GString *out,
              double   v,
              int      decimals)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE + 400], format[16];
  const char *p;

  g_snprintf (format, sizeof format, "%%.%df", decimals);
  g_ascii_formatd (buf, sizeof buf, format, v);
  p = buf;
  if (*p == '-' && strspn (p + 1, "0.") == strlen (p + 1))
    p++;
  g_string_append (out, p);
}

static void
append_number (GString *out,
               double   v)
{
  g_autoptr (KanExpr) num = kan_expr_num (v);
  g_autofree char *text = kan_expr_to_string (num, NULL, KAN_EXPR_STYLE_TEXT);

  g_string_append (out, text);
}

/* "(value ± error)" with the value rounded where the error's second significant digit is. */
static void
append_with_error (GString *out,
                   double   v,
                   double   err)
{
  double ae = fabs (err), big, unit;
  int top, last, shared = 0;

  g_string_append_c (out, '(');
  if (!isfinite (v) || !isfinite (err) || ae == 0.0 || ae < ERROR_ULPS * DBL_EPSILON * fabs (v))
    {
      char buf[G_ASCII_DTOSTR_BUF_SIZE];

      append_number (out, v);
      g_string_append (out, " ± ");
      if (isnan (err))
        g_string_append (out, "nan");
      else if (isinf (err))
        g_string_append (out, "inf");
      else if (ae == 0.0)
        g_string_append (out, "0");
      else
        g_string_append (out, g_ascii_formatd (buf, sizeof buf, "%.1e", ae));
      g_string_append_c (out, ')');
      return;
    }

  /* TOP is the power of ten of the error's first digit after rounding to two (0.0996 rounds
   * to 0.10), LAST that of its second digit. */
  top = (int) floor (log10 (ae));
  if (round (ae / pow (10.0, top - 1)) >= 100.0)
    top++;
  last = top - 1;
  big = MAX (fabs (v), ae);
  if (big >= 1e6 || big < 1e-3)
    shared = (int) floor (log10 (big));
  if (shared != 0)
    {
      double scale = pow (10.0, shared);

      append_fixed (out, v / scale, shared - last);
      g_string_append (out, " ± ");
      append_fixed (out, ae / scale, shared - last);
      g_string_append_printf (out, ")e%d", shared);
      return;
    }
  if (last >= 0)
    {
      /* An error of 100 or more: round to its second digit and print no decimals. */
      unit = pow (10.0, last);
      append_fixed (out, round (v / unit) * unit, 0);
      g_string_append (out, " ± ");
      append_fixed (out, round (ae / unit) * unit, 0);
    }
  else
    {
      append_fixed (out, v, -last);
      g_string_append (out, " ± ");
      append_fixed (out, ae, -last);
    }
  g_string_append_c (out, ')');
}

char *
kan_expr_to_string_with_errors (const KanExpr     *e,
                                const KanExprFit  *fit,
                                const char *const *var_names,
                                KanExprStyle       style)
{
  g_autoptr (KanExpr) copy = NULL;
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autofree KanExpr **nodes = NULL;
  guint n_names = var_names != NULL ? g_strv_length ((char **) var_names) : 0;
  int base, size, index = 0;

  g_return_val_if_fail (e != NULL, NULL);
  g_return_val_if_fail (fit != NULL, NULL);
  g_return_val_if_fail (fit->n == 0 || (fit->node != NULL && fit->stderr_ != NULL), NULL);
  g_return_val_if_fail (style == KAN_EXPR_STYLE_TEXT, NULL);

  /* Each free constant becomes a variable whose name is the constant with its error, so the
   * printer places it, and chooses parentheses around it, as for any other atom. */
  copy = kan_expr_copy (e);
  size = kan_expr_size (copy);
  nodes = g_new (KanExpr *, size);
  collect_nodes (copy, &index, nodes);
  for (int k = 0; k < fit->n; k++)
    g_return_val_if_fail (fit->node[k] >= 0 && fit->node[k] < size
                          && nodes[fit->node[k]]->kind == KAN_EXPR_NUM, NULL);

  base = MAX ((int) n_names, kan_expr_max_var (e) + 1);
  for (int i = 0; i < base; i++)
    g_ptr_array_add (names, (guint) i < n_names ? g_strdup (var_names[i])
                                                : g_strdup_printf ("x%d", i + 1));
  for (int k = 0; k < fit->n; k++)
    {
      KanExpr *num = nodes[fit->node[k]];
      GString *text = g_string_new (NULL);

      append_with_error (text, num->value, fit->stderr_[k]);
      g_ptr_array_add (names, g_string_free (text, FALSE));
      num->kind = KAN_EXPR_VAR;
      num->var = base + k;
    }
  g_ptr_array_add (names, NULL);
  return kan_expr_to_string (copy, (const char *const *) names->pdata, style);
}
