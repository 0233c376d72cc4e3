/* kan-canon.c — the canonical form of discovered formulas (see kan-canon.h). */
#include "kan-canon.h"
#include "kan-formula.h"
#include "kan-symbolic.h"

#include <math.h>
#include <string.h>

/* Rounds of canonicalise → simplify → snap; a round changes nothing once the form is reached. */
#define CANON_ROUNDS    4
/* Snapping constants may raise the train RMSE of a formula by this share of what it is. */
#define SNAP_RMSE_SHARE  1e-2
/* kan_snap_value's results are p/q or p·π/q up to the rounding of that one division. */
#define SIMPLE_VALUE_REL 1e-14

/* ------------------------------------------------------------------------------------------ */
/* Canonical form                                                                              */

/* The terms of a simplified sum: Σ coef[k]·term[k] + constant (terms borrowed from E). */
typedef struct
{
  GPtrArray *terms;  /* const KanExpr* */
  GArray    *coefs;  /* double */
  double     constant;
} Terms;

static void
terms_collect (const KanExpr *e, double w, Terms *t)
{
  switch (e->kind)
    {
    case KAN_EXPR_ADD:
      terms_collect (e->a, w, t);
      terms_collect (e->b, w, t);
      return;
    case KAN_EXPR_SUB:
      terms_collect (e->a, w, t);
      terms_collect (e->b, -w, t);
      return;
    case KAN_EXPR_NEG:
      terms_collect (e->a, -w, t);
      return;
    case KAN_EXPR_NUM:
      t->constant += w * e->value;
      return;
    case KAN_EXPR_MUL:
      if (e->a->kind == KAN_EXPR_NUM)
        {
          double c = w * e->a->value;
          g_ptr_array_add (t->terms, (gpointer) e->b);
          g_array_append_val (t->coefs, c);
          return;
        }
      break;
    default:
      break;
    }
  g_ptr_array_add (t->terms, (gpointer) e);
  g_array_append_val (t->coefs, w);
}

static void
terms_init (Terms *t, const KanExpr *e)
{
  t->terms = g_ptr_array_new ();
  t->coefs = g_array_new (FALSE, FALSE, sizeof (double));
  t->constant = 0.0;
  terms_collect (e, 1.0, t);
}

static void
terms_clear (Terms *t)
{
  g_ptr_array_unref (t->terms);
  g_array_unref (t->coefs);
}

/* Σ (coef/g)·term + constant/g, with the constant left out when DROP_CONSTANT. */
static KanExpr *
terms_build (const Terms *t, double g, gboolean drop_constant)
{
  KanExpr *e = NULL;

  for (guint k = 0; k < t->terms->len; k++)
    {
      KanExpr *term = kan_expr_binary (KAN_EXPR_MUL,
                                       kan_expr_num (g_array_index (t->coefs, double, k) / g),
                                       kan_expr_copy (t->terms->pdata[k]));
      e = e ? kan_expr_binary (KAN_EXPR_ADD, e, term) : term;
    }
  if (!drop_constant && t->constant != 0.0)
    {
      KanExpr *c = kan_expr_num (t->constant / g);
      e = e ? kan_expr_binary (KAN_EXPR_ADD, e, c) : c;
    }
  return e ? e : kan_expr_num (0.0);
}

/* How well the coefficients of T divided by G snap: the number that snap, and the sum of
 * their relative distances to the snapped values (smaller is better at an equal number). */
static int
count_snappable (const Terms *t, double g, double *dist)
{
  int n = 0;

  *dist = 0.0;
  for (guint k = 0; k <= t->coefs->len; k++)
    {
      double v, s;
      if (k == t->coefs->len && t->constant == 0.0)
        break;
      v = (k < t->coefs->len ? g_array_index (t->coefs, double, k) : t->constant) / g;
      if (kan_snap_value (v, KAN_SNAP_DEFAULT_TOL, KAN_SNAP_DEFAULT_MAX_DEN, &s))
        {
          n++;
          *dist += fabs (v - s) / MAX (1.0, fabs (s));
        }
    }
  return n;
}

/* The positive factor g to take out of the sum T so that most of its coefficients become
 * simple numbers, and of those the closest (the first such in term order, then the
 * constant), or 0 when no factor does better than none. */
static double
best_factor (const Terms *t)
{
  double best = 0.0, best_dist;
  int best_n = count_snappable (t, 1.0, &best_dist);

  for (int k = 0; k <= (int) t->coefs->len; k++)
    {
      double g = k < (int) t->coefs->len ? fabs (g_array_index (t->coefs, double, k))
                                         : fabs (t->constant);
      double dist;
      int n;
      if (!(g > 0.0) || !isfinite (g) || g == 1.0)
        continue;
      n = count_snappable (t, g, &dist);
      if (n > best_n || (n == best_n && n > 0 && dist < 0.5 * best_dist))
        {
          best_n = n;
          best_dist = dist;
          best = g;
        }
    }
  return best;
}

static KanExpr *canon (const KanExpr *e);

static KanExpr *
call (KanFunc f, KanExpr *a)
{
  return kan_expr_unary (KAN_EXPR_CALL, f, a);
}

static KanExpr *
times (double c, KanExpr *e)
{
  return kan_expr_binary (KAN_EXPR_MUL, kan_expr_num (c), e);
}

/* A sum S as g·S', written as the pair (g, S'); g = 1 and S' = copy when nothing helps. */
static KanExpr *
factor_sum (const KanExpr *s, double *g_out)
{
  Terms t;
  double g;
  KanExpr *r;

  terms_init (&t, s);
  g = (t.terms->len + (t.constant != 0.0) >= 1) ? best_factor (&t) : 0.0;
  if (g > 0.0)
    r = terms_build (&t, g, FALSE);
  else
    {
      g = 1.0;
      r = kan_expr_copy (s);
    }
  terms_clear (&t);
  *g_out = g;
  return r;
}

static gboolean
is_sum (const KanExpr *e)
{
  return e->kind == KAN_EXPR_ADD || e->kind == KAN_EXPR_SUB
         || (e->kind == KAN_EXPR_MUL && e->a->kind == KAN_EXPR_NUM);
}

/* exp(S + K) → e^K·exp(S). */
static KanExpr *
canon_exp (KanExpr *arg)
{
  Terms t;
  KanExpr *r;

  terms_init (&t, arg);
  {
    /* exp(Σ cₖ·log uₖ + K) → e^K·Π uₖ^cₖ: a power law, as KANs often find them. It holds
     * wherever the formula is defined (every uₖ > 0). */
    gboolean all_logs = t.terms->len > 0;
    for (guint k = 0; k < t.terms->len && all_logs; k++)
      {
        const KanExpr *u = t.terms->pdata[k];
        all_logs = u->kind == KAN_EXPR_CALL && u->func == KAN_FUNC_LOG;
      }
    if (all_logs && isfinite (exp (t.constant)))
      {
        KanExpr *prod = NULL;
        for (guint k = 0; k < t.terms->len; k++)
          {
            const KanExpr *u = t.terms->pdata[k];
            double c = g_array_index (t.coefs, double, k);
            KanExpr *f = c == 1.0 ? kan_expr_copy (u->a)
                                  : kan_expr_binary (KAN_EXPR_POW, kan_expr_copy (u->a),
                                                     kan_expr_num (c));
            prod = prod ? kan_expr_binary (KAN_EXPR_MUL, prod, f) : f;
          }
        r = t.constant != 0.0 ? times (exp (t.constant), prod) : prod;
        kan_expr_free (arg);
        terms_clear (&t);
        return r;
      }
  }
  if (t.constant != 0.0 && t.terms->len > 0 && isfinite (exp (t.constant)))
    {
      r = times (exp (t.constant), call (KAN_FUNC_EXP, terms_build (&t, 1.0, TRUE)));
      kan_expr_free (arg);
    }
  else
    r = call (KAN_FUNC_EXP, arg);
  terms_clear (&t);
  return r;
}

/* sin(S): the first coefficient made positive (sin(−u) = −sin u, cos(−u) = cos u), the
 * constant folded into (−π, π], and a phase of π taken out as a sign. */
static KanExpr *
canon_trig (KanFunc f, KanExpr *arg)
{
  Terms t;
  double sign = 1.0, k, s;
  KanExpr *r;

  terms_init (&t, arg);
  if (t.terms->len == 0)
    {
      terms_clear (&t);
      return call (f, arg);
    }
  if (g_array_index (t.coefs, double, 0) < 0.0)
    {
      for (guint q = 0; q < t.coefs->len; q++)
        g_array_index (t.coefs, double, q) *= -1.0;
      t.constant = -t.constant;
      if (f == KAN_FUNC_SIN)
        sign = -sign;
    }
  k = remainder (t.constant, 2.0 * M_PI);
  if (kan_snap_value (fabs (k), KAN_SNAP_DEFAULT_TOL, KAN_SNAP_DEFAULT_MAX_DEN, &s) && s == M_PI)
    {
      k = 0.0;
      sign = -sign;
    }
  t.constant = k;
  r = call (f, terms_build (&t, 1.0, FALSE));
  if (sign < 0)
    r = kan_expr_unary (KAN_EXPR_NEG, 0, r);
  terms_clear (&t);
  kan_expr_free (arg);
  return r;
}

/* f(S) of an odd f with a negative first coefficient → −f(−S). */
static KanExpr *
canon_odd (KanFunc f, KanExpr *arg)
{
  Terms t;
  KanExpr *r;

  terms_init (&t, arg);
  if (t.terms->len == 0 || g_array_index (t.coefs, double, 0) >= 0.0)
    {
      terms_clear (&t);
      return call (f, arg);
    }
  r = kan_expr_unary (KAN_EXPR_NEG, 0, call (f, terms_build (&t, -1.0, FALSE)));
  terms_clear (&t);
  kan_expr_free (arg);
  return r;
}

static KanExpr *
canon_call (const KanExpr *e)
{
  KanExpr *arg = canon (e->a), *inner;
  double g;

  switch (e->func)
    {
    case KAN_FUNC_EXP:
      return canon_exp (arg);
    case KAN_FUNC_SIN:
    case KAN_FUNC_COS:
      return canon_trig (e->func, arg);
    case KAN_FUNC_TANH:
    case KAN_FUNC_ATANH:
    case KAN_FUNC_ATAN:
    case KAN_FUNC_ASIN:
    case KAN_FUNC_SINH:
    case KAN_FUNC_ASINH:
      return canon_odd (e->func, arg);
    case KAN_FUNC_SQRT:
    case KAN_FUNC_LOG:
    case KAN_FUNC_ABS:
      if (!is_sum (arg))
        break;
      inner = factor_sum (arg, &g);
      if (g == 1.0)
        {
          kan_expr_free (inner);
          break;
        }
      kan_expr_free (arg);
      if (e->func == KAN_FUNC_SQRT)
        return times (sqrt (g), call (KAN_FUNC_SQRT, inner));
      if (e->func == KAN_FUNC_ABS)
        return times (g, call (KAN_FUNC_ABS, inner));
      return kan_expr_binary (KAN_EXPR_ADD, call (KAN_FUNC_LOG, inner), kan_expr_num (log (g)));
    default:
      break;
    }
  return call (e->func, arg);
}

/* Rewrites E (simplified) so that the constants that only a gauge of the network fixes — the
 * split of scales and offsets between an edge and the next — are gathered where they become
 * one coefficient: out of exp, roots, logs, powers and the factors of products. */
/* A sum whose terms all carry the same coefficient up to sign, as c/u + c/v − c·w, written as
 * c·(1/u + 1/v − w): *G_OUT = c and the result is the sum without it; NULL if the terms do not
 * share one (within 1e-9 relative). Terms c/u count as c·(1/u): factor_sum does not see those,
 * and networks of 1/x edges (parallel resistors, reduced masses) produce them. */
static gboolean
common_coef_collect (const KanExpr *e, double sign, GPtrArray *bodies, GArray *coefs)
{
  double c;
  KanExpr *body;

  switch (e->kind)
    {
    case KAN_EXPR_ADD:
      return common_coef_collect (e->a, sign, bodies, coefs)
             && common_coef_collect (e->b, sign, bodies, coefs);
    case KAN_EXPR_SUB:
      return common_coef_collect (e->a, sign, bodies, coefs)
             && common_coef_collect (e->b, -sign, bodies, coefs);
    case KAN_EXPR_NEG:
      return common_coef_collect (e->a, -sign, bodies, coefs);
    case KAN_EXPR_NUM:
      return FALSE;
    case KAN_EXPR_MUL:
      if (e->a->kind != KAN_EXPR_NUM)
        return FALSE;
      c = sign * e->a->value;
      body = kan_expr_copy (e->b);
      break;
    case KAN_EXPR_DIV:
      if (e->a->kind != KAN_EXPR_NUM)
        return FALSE;
      c = sign * e->a->value;
      body = kan_expr_binary (KAN_EXPR_DIV, kan_expr_num (1.0), kan_expr_copy (e->b));
      break;
    default:
      return FALSE;
    }
  g_ptr_array_add (bodies, body);
  g_array_append_val (coefs, c);
  return TRUE;
}

static KanExpr *
common_coef_sum (const KanExpr *s, double *g_out)
{
  g_autoptr (GPtrArray) bodies = g_ptr_array_new_with_free_func ((GDestroyNotify) kan_expr_free);
  g_autoptr (GArray) coefs = g_array_new (FALSE, FALSE, sizeof (double));
  KanExpr *r = NULL;
  double g;

  if (!common_coef_collect (s, 1.0, bodies, coefs) || coefs->len < 2)
    return NULL;
  g = g_array_index (coefs, double, 0);
  if (!(fabs (g) > 0) || !isfinite (g))
    return NULL;
  for (guint k = 1; k < coefs->len; k++)
    if (fabs (fabs (g_array_index (coefs, double, k)) - fabs (g)) > 1e-9 * fabs (g))
      return NULL;
  for (guint k = 0; k < coefs->len; k++)
    {
      KanExpr *b = kan_expr_copy (bodies->pdata[k]);
      gboolean neg = (g_array_index (coefs, double, k) < 0) != (g < 0);
      if (r == NULL)
        r = neg ? kan_expr_unary (KAN_EXPR_NEG, 0, b) : b;
      else
        r = kan_expr_binary (neg ? KAN_EXPR_SUB : KAN_EXPR_ADD, r, b);
    }
  *g_out = g;
  return r;
}

static KanExpr *
canon (const KanExpr *e)
{
  KanExpr *a, *b, *inner;
  double g;

  switch (e->kind)
    {
    case KAN_EXPR_NUM:
    case KAN_EXPR_VAR:
      return kan_expr_copy (e);
    case KAN_EXPR_CALL:
      return canon_call (e);
    case KAN_EXPR_POW:
      a = canon (e->a);
      b = canon (e->b);
      if (b->kind == KAN_EXPR_NUM && is_sum (a) && a->kind != KAN_EXPR_MUL)
        {
          inner = factor_sum (a, &g);
          if (g != 1.0 && isfinite (pow (g, b->value)))
            {
              double c = pow (g, b->value);
              kan_expr_free (a);
              return times (c, kan_expr_binary (KAN_EXPR_POW, inner, b));
            }
          kan_expr_free (inner);
        }
      return kan_expr_binary (KAN_EXPR_POW, a, b);
    case KAN_EXPR_MUL:
    case KAN_EXPR_DIV:
      a = canon (e->a);
      b = canon (e->b);
      /* A sum that is a factor (not a coefficient's partner, where simplification would
       * distribute the coefficient again) gives its factor to the product. */
      if (!(e->kind == KAN_EXPR_MUL && (a->kind == KAN_EXPR_NUM || b->kind == KAN_EXPR_NUM)))
        {
          KanExpr **side[2] = { &a, &b };
          for (int q = 0; q < 2; q++)
            if ((*side[q])->kind == KAN_EXPR_ADD || (*side[q])->kind == KAN_EXPR_SUB)
              {
                inner = factor_sum (*side[q], &g);
                if (g == 1.0)
                  {
                    kan_expr_free (inner);
                    continue;
                  }
                kan_expr_free (*side[q]);
                *side[q] = inner;
                if (q == 1 && e->kind == KAN_EXPR_DIV)
                  g = 1.0 / g;
                a = times (g, a);
              }
        }
      if (e->kind == KAN_EXPR_DIV && a->kind == KAN_EXPR_NUM)
        {
          /* k/(c·S') → (k/c)/S' when every term of the denominator carries c. */
          inner = common_coef_sum (b, &g);
          if (inner != NULL && isfinite (a->value / g))
            {
              double k = a->value / g;
              kan_expr_free (a);
              kan_expr_free (b);
              return kan_expr_binary (KAN_EXPR_DIV, kan_expr_num (k), inner);
            }
          kan_expr_free (inner);
        }
      return kan_expr_binary (e->kind, a, b);
    case KAN_EXPR_NEG:
      return kan_expr_unary (KAN_EXPR_NEG, 0, canon (e->a));
    default:
      return kan_expr_binary (e->kind, canon (e->a), canon (e->b));
    }
}


KanExpr *
kan_canon (const KanExpr *e)
{
  g_return_val_if_fail (e != NULL, NULL);
  return canon (e);
}

/* Simplify, canonicalise and snap (checked on R's rows) until nothing moves. */
static KanExpr *
polish (KanExpr *e, const KanCanonRows *r, gboolean snap, double snap_tol)
{
  char *prev = NULL;

  double allowed;

  e = kan_expr_simplify (e);
  /* A snap may cost SNAP_RMSE_SHARE of the error the formula has anyway, or SNAP_TOL·std(y)
   * when it has none to speak of. */
  allowed = snap ? MAX (snap_tol * r->y_std,
                        SNAP_RMSE_SHARE * kan_expr_rmse (e, r->x, r->n_in, r->y,
                                                         1, r->n))
                 : 0.0;
  if (!isfinite (allowed))
    allowed = snap_tol * r->y_std;
  for (int round = 0; round < CANON_ROUNDS; round++)
    {
      KanExpr *c = canon (e);
      char *text;

      kan_expr_free (e);
      e = kan_expr_simplify (c);
      if (snap)
        e = kan_expr_snap_checked (e, r->x, r->n_in, r->y, 1, r->n,
                                   allowed, KAN_SNAP_DEFAULT_TOL,
                                   KAN_SNAP_DEFAULT_MAX_DEN);
      text = kan_expr_to_string (e, NULL, KAN_EXPR_STYLE_TEXT);
      if (prev && strcmp (prev, text) == 0)
        {
          g_free (text);
          break;
        }
      g_free (prev);
      prev = text;
    }
  g_free (prev);
  return e;
}

/* The tree of a value that kan_snap_value returned: p, p/q, pi, p*pi or p*pi/q. */
static KanExpr *
simple_value_expr (double v)
{
  for (int pi = 0; pi < 2; pi++)
    for (int q = 1; q <= KAN_SNAP_DEFAULT_MAX_DEN; q++)
      {
        double unit = pi ? M_PI : 1.0, p = round (v * q / unit);
        KanExpr *e;

        if (p == 0.0 || fabs (p * unit / q - v) > SIMPLE_VALUE_REL * fabs (v))
          continue;
        e = !pi ? kan_expr_num (p)
            : p == 1.0 ? kan_expr_num (M_PI) : times (p, kan_expr_num (M_PI));
        return q == 1 ? e : kan_expr_binary (KAN_EXPR_DIV, e, kan_expr_num (q));
      }
  return kan_expr_num (v);
}

/* Coefficients c (of c·T) that do not snap but whose square, or inverse square, does, as
 * sqrt(s)·T or T/sqrt(s): 0.3989…·exp(…) is exp(…)/sqrt(2*pi). Works in place; the result
 * must not be simplified again, which would fold the roots back into numbers. */
static KanExpr *
root_constants (KanExpr *e)
{
  double c, s;

  if (e == NULL)
    return NULL;
  e->a = root_constants (e->a);
  e->b = root_constants (e->b);
  if (e->kind != KAN_EXPR_MUL || e->a->kind != KAN_EXPR_NUM || e->b->kind == KAN_EXPR_NUM)
    return e;
  c = e->a->value;
  if (c == 0.0 || !isfinite (c)
      || kan_snap_value (c, KAN_SNAP_DEFAULT_TOL, KAN_SNAP_DEFAULT_MAX_DEN, &s))
    return e;
  if (kan_snap_value (1.0 / (c * c), KAN_SNAP_DEFAULT_TOL, KAN_SNAP_DEFAULT_MAX_DEN, &s))
    {
      KanExpr *t = e->b;
      e->b = NULL;
      kan_expr_free (e);
      e = kan_expr_binary (KAN_EXPR_DIV, t, call (KAN_FUNC_SQRT, simple_value_expr (s)));
    }
  else if (kan_snap_value (c * c, KAN_SNAP_DEFAULT_TOL, KAN_SNAP_DEFAULT_MAX_DEN, &s))
    {
      kan_expr_free (e->a);
      e->a = call (KAN_FUNC_SQRT, simple_value_expr (s));
    }
  else
    return e;
  return c < 0 ? kan_expr_unary (KAN_EXPR_NEG, 0, e) : e;
}

KanExpr *
kan_canon_polish (KanExpr *e, const KanCanonRows *r, double snap_tol)
{
  gboolean snap = r != NULL && r->n > 0;

  e = polish (e, r, snap, snap_tol);
  if (snap)
    {
      double before = kan_expr_rmse (e, r->x, r->n_in, r->y, 1, r->n);
      KanExpr *rooted = root_constants (kan_expr_copy (e));
      if (kan_expr_rmse (rooted, r->x, r->n_in, r->y, 1, r->n)
          <= before + MAX (snap_tol * r->y_std, SNAP_RMSE_SHARE * before))
        {
          kan_expr_free (e);
          e = rooted;
        }
      else
        kan_expr_free (rooted);
    }
  return e;
}
