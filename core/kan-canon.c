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
/* Powers merged in products stay within this size, as the simplifier's integer powers do. */
#define MAX_POWER        64

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
terms_add (const KanExpr *term, double coef, gpointer t)
{
  g_ptr_array_add (((Terms *) t)->terms, (gpointer) term);
  g_array_append_val (((Terms *) t)->coefs, coef);
}

static void
terms_init (Terms *t, const KanExpr *e)
{
  t->terms = g_ptr_array_new ();
  t->coefs = g_array_new (FALSE, FALSE, sizeof (double));
  t->constant = 0.0;
  kan_expr_sum_walk (e, 1.0, terms_add, t, &t->constant);
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
      double c = g_array_index (t->coefs, double, k) / g;
      /* No 1·t: the simplifier cannot drop the 1 where t has a constant that is not finite. */
      KanExpr *term = c == 1.0 ? kan_expr_copy (t->terms->pdata[k])
                      : kan_expr_binary (KAN_EXPR_MUL, kan_expr_num (c),
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

/* ------------------------------------------------------------------------------------------ */
/* Powers of a product                                                                         */

/* A product as coef·Π baseᵢ^powerᵢ with real powers, sqrt(u) being u^(1/2): equal bases merge
 * across the fraction bar and through roots (x^2/x → x, sqrt(x)·sqrt(x) → x, x·sqrt(x) →
 * x^1.5). Merging x^a·x^b → x^(a+b) keeps the value wherever the left side is finite: for x > 0
 * always; for x < 0 both powers are integers or the left side is NaN; at x = 0 the left side
 * is 0 (and so is the right) or not finite. */
typedef struct
{
  KanExpr *base;   /* owned */
  double   power;
} Power;

typedef struct
{
  double   coef;
  GArray  *items;  /* Power */
  gboolean ok;     /* FALSE once a constant factor is not finite (division by 0, root of < 0) */
} Powers;

static gboolean
is_integer (double p)
{
  return p == floor (p) && fabs (p) <= MAX_POWER;
}

static void
powers_init (Powers *pw)
{
  pw->coef = 1.0;
  pw->items = g_array_new (FALSE, FALSE, sizeof (Power));
  pw->ok = TRUE;
}

static void
powers_clear (Powers *pw)
{
  for (guint k = 0; k < pw->items->len; k++)
    kan_expr_free (g_array_index (pw->items, Power, k).base);
  g_array_unref (pw->items);
}

/* (u^k)^p = u^(k·p) wherever the left side is defined, except for even k and fractional p:
 * (u^2)^(1/2) is |u|. */
static gboolean
power_of_power (double k,
                double p)
{
  if (!isfinite (k) || !(fabs (k * p) <= MAX_POWER))
    return FALSE;
  return is_integer (p) || !is_integer (k) || fmod (k, 2.0) != 0.0;
}

/* Multiplies PW by E^POWER (E copied where kept). Products, quotients and signs are looked
 * through only at integer powers: sqrt(x·y) is not sqrt(x)·sqrt(y) for x, y < 0. */
static void
powers_add (Powers        *pw,
            const KanExpr *e,
            double         power)
{
  Power f;

  switch (e->kind)
    {
    case KAN_EXPR_NUM:
      {
        double v = power == 1.0 ? e->value
                   : power == -1.0 ? 1.0 / e->value : pow (e->value, power);
        if (isfinite (v))
          pw->coef *= v;
        else
          pw->ok = FALSE;
        return;
      }
    case KAN_EXPR_NEG:
      if (!is_integer (power))
        break;
      if (fmod (power, 2.0) != 0.0)
        pw->coef = -pw->coef;
      powers_add (pw, e->a, power);
      return;
    case KAN_EXPR_MUL:
    case KAN_EXPR_DIV:
      if (!is_integer (power))
        break;
      powers_add (pw, e->a, power);
      powers_add (pw, e->b, e->kind == KAN_EXPR_DIV ? -power : power);
      return;
    case KAN_EXPR_POW:
      if (e->b->kind == KAN_EXPR_NUM && power_of_power (e->b->value, power))
        {
          powers_add (pw, e->a, e->b->value * power);
          return;
        }
      break;
    case KAN_EXPR_CALL:
      if (e->func == KAN_FUNC_SQRT && power_of_power (0.5, power))
        {
          powers_add (pw, e->a, 0.5 * power);
          return;
        }
      break;
    default:
      break;
    }

  for (guint k = 0; k < pw->items->len; k++)
    {
      Power *g = &g_array_index (pw->items, Power, k);
      if (kan_expr_equal (g->base, e) && fabs (g->power + power) <= MAX_POWER)
        {
          g->power += power;
          return;
        }
    }
  f.base = kan_expr_copy (e);
  f.power = power;
  g_array_append_val (pw->items, f);
}

/* BASE (taken) to the power M ≠ 0: u, sqrt(u) or u^M. */
static KanExpr *
power_expr (KanExpr *base,
            double   m)
{
  if (m == 1.0)
    return base;
  if (m == 0.5)
    return call (KAN_FUNC_SQRT, base);
  return kan_expr_binary (KAN_EXPR_POW, base, kan_expr_num (m));
}

/* The tree of PW (bases copied) in the simplifier's shape: coefficient first (−1 as a sign on
 * the first factor), the numerator factors in order, then the denominator; zero powers drop
 * out (x/x → 1, which only adds x = 0 to the domain). With KEEP_UP, the first fractional
 * negative power of a product that has nothing else above the bar stays there as u^p, which
 * saves the 1 of 1/…: x^(-0.5) has 3 nodes, 1/sqrt(x) 4. NULL when KEEP_UP finds none. */
static KanExpr *
powers_build (const Powers *pw,
              gboolean      keep_up)
{
  g_autoptr (GPtrArray) up = g_ptr_array_new ();
  KanExpr *num = NULL, *den = NULL;
  int kept = -1;

  if (keep_up)
    {
      if (pw->coef != 1.0 && pw->coef != -1.0)
        return NULL;
      for (guint k = 0; k < pw->items->len; k++)
        {
          double p = g_array_index (pw->items, Power, k).power;
          if (p > 0.0)
            return NULL;
          if (kept < 0 && p < 0.0 && !is_integer (p))
            kept = k;
        }
      if (kept < 0)
        return NULL;
    }
  for (guint k = 0; k < pw->items->len; k++)
    {
      const Power *f = &g_array_index (pw->items, Power, k);
      KanExpr *t;

      if (f->power == 0.0)
        continue;
      if (f->power > 0.0 || (int) k == kept)
        {
          g_ptr_array_add (up, power_expr (kan_expr_copy (f->base), f->power));
          continue;
        }
      t = power_expr (kan_expr_copy (f->base), -f->power);
      den = den != NULL ? kan_expr_binary (KAN_EXPR_MUL, den, t) : t;
    }
  if (up->len == 0)
    num = kan_expr_num (pw->coef);
  else
    {
      if (pw->coef == -1.0)
        up->pdata[0] = kan_expr_unary (KAN_EXPR_NEG, 0, up->pdata[0]);
      else if (pw->coef != 1.0)
        num = kan_expr_num (pw->coef);
      for (guint k = 0; k < up->len; k++)
        num = num != NULL ? kan_expr_binary (KAN_EXPR_MUL, num, up->pdata[k]) : up->pdata[k];
    }
  return den != NULL ? kan_expr_binary (KAN_EXPR_DIV, num, den) : num;
}

/* E (taken) as a product with its powers merged and roots written as sqrt (x^0.5 → sqrt(x),
 * y·x^(-0.5) → y/sqrt(x)). Powers that are neither whole nor halves stay powers, and so do
 * x^1.5 and the like: x^1.5 has 3 nodes, x*sqrt(x) 4. E itself if the result would be larger. */
static KanExpr *
canon_powers (KanExpr *e)
{
  Powers pw;
  KanExpr *r, *alt;

  powers_init (&pw);
  powers_add (&pw, e, 1.0);
  if (!pw.ok || pw.coef == 0.0 || !isfinite (pw.coef))
    {
      powers_clear (&pw);
      return e;
    }
  r = powers_build (&pw, FALSE);
  alt = powers_build (&pw, TRUE);
  powers_clear (&pw);
  if (alt != NULL && kan_expr_size (alt) < kan_expr_size (r))
    {
      kan_expr_free (r);
      r = g_steal_pointer (&alt);
    }
  kan_expr_free (alt);
  if (kan_expr_size (r) > kan_expr_size (e))
    {
      kan_expr_free (r);
      return e;
    }
  kan_expr_free (e);
  return r;
}

static gboolean
is_plain_sum (const KanExpr *e)
{
  return e->kind == KAN_EXPR_ADD || e->kind == KAN_EXPR_SUB;
}

/* S (taken; a sum, or a product as a sum of one term) with one of its terms c·N·F, N a sum
 * and F other factors, written out as Σ c·nᵢ·F with the powers of each piece merged:
 * (q + k·C)/C − k → q/C + k − k → q/C. Taken only when the simplified result has fewer nodes
 * than S simplified; otherwise S is returned as it is. */
static KanExpr *
canon_split (KanExpr *s)
{
  Terms t;
  KanExpr *best = NULL;
  int limit = -1;

  terms_init (&t, s);
  for (guint k = 0; k < t.terms->len && best == NULL; k++)
    {
      Powers pw;
      Power *n = NULL;
      Terms inner;
      KanExpr *alt = NULL, *rest;
      double c;

      powers_init (&pw);
      powers_add (&pw, t.terms->pdata[k], 1.0);
      for (guint q = 0; q < pw.items->len && n == NULL && pw.ok && pw.items->len >= 2; q++)
        {
          Power *f = &g_array_index (pw.items, Power, q);
          if (f->power == 1.0 && is_plain_sum (f->base))
            n = f;
        }
      if (n == NULL)
        {
          powers_clear (&pw);
          continue;
        }

      /* The other terms, then the pieces nᵢ·F. */
      for (guint q = 0; q < t.terms->len; q++)
        if (q != k)
          {
            KanExpr *o = times (g_array_index (t.coefs, double, q),
                                kan_expr_copy (t.terms->pdata[q]));
            alt = alt != NULL ? kan_expr_binary (KAN_EXPR_ADD, alt, o) : o;
          }
      if (t.constant != 0.0)
        alt = alt != NULL ? kan_expr_binary (KAN_EXPR_ADD, alt, kan_expr_num (t.constant))
                          : kan_expr_num (t.constant);
      c = g_array_index (t.coefs, double, k) * pw.coef;
      pw.coef = 1.0;
      terms_init (&inner, n->base);
      n->power = 0.0;
      rest = powers_build (&pw, FALSE);
      for (guint q = 0; q <= inner.terms->len; q++)
        {
          KanExpr *piece;
          if (q == inner.terms->len && inner.constant == 0.0)
            break;
          piece = q < inner.terms->len
                  ? times (c * g_array_index (inner.coefs, double, q),
                           kan_expr_binary (KAN_EXPR_MUL, kan_expr_copy (inner.terms->pdata[q]),
                                            kan_expr_copy (rest)))
                  : times (c * inner.constant, kan_expr_copy (rest));
          piece = canon_powers (piece);
          alt = alt != NULL ? kan_expr_binary (KAN_EXPR_ADD, alt, piece) : piece;
        }
      kan_expr_free (rest);
      terms_clear (&inner);
      powers_clear (&pw);

      alt = kan_expr_simplify (alt);
      if (limit < 0)
        {
          KanExpr *ref = kan_expr_simplify (kan_expr_copy (s));
          limit = kan_expr_size (ref);
          kan_expr_free (ref);
        }
      if (kan_expr_size (alt) < limit)
        best = alt;
      else
        kan_expr_free (alt);
    }
  terms_clear (&t);
  if (best == NULL)
    return s;
  kan_expr_free (s);
  return best;
}

static KanExpr *canon (const KanExpr *e);

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

/* exp(Σ cₖ·log uₖ + R + K) → e^K·Π uₖ^cₖ·exp(R): a power law, as KANs often find them, times
 * what is left in the exponent. It holds wherever the formula is defined (every uₖ > 0), and
 * each log term leaves one node less: exp(log(a) + b) → a·exp(b), exp(2·log(a) + b) →
 * a^2·exp(b). Without log terms only the constant comes out: exp(S + K) → e^K·exp(S). */
static KanExpr *
canon_exp (KanExpr *arg)
{
  Terms t, rest;
  KanExpr *prod = NULL, *r;

  terms_init (&t, arg);
  if (!isfinite (exp (t.constant)))
    {
      terms_clear (&t);
      return call (KAN_FUNC_EXP, arg);
    }
  rest.terms = g_ptr_array_new ();
  rest.coefs = g_array_new (FALSE, FALSE, sizeof (double));
  rest.constant = 0.0;
  for (guint k = 0; k < t.terms->len; k++)
    {
      const KanExpr *u = t.terms->pdata[k];
      double c = g_array_index (t.coefs, double, k);

      if (u->kind == KAN_EXPR_CALL && u->func == KAN_FUNC_LOG)
        {
          KanExpr *f = c == 1.0 ? kan_expr_copy (u->a)
                       : kan_expr_binary (KAN_EXPR_POW, kan_expr_copy (u->a), kan_expr_num (c));
          prod = prod != NULL ? kan_expr_binary (KAN_EXPR_MUL, prod, f) : f;
        }
      else
        {
          g_ptr_array_add (rest.terms, (gpointer) u);
          g_array_append_val (rest.coefs, c);
        }
    }
  if (prod == NULL && (t.constant == 0.0 || t.terms->len == 0))
    r = call (KAN_FUNC_EXP, kan_expr_copy (arg));
  else
    {
      if (rest.terms->len > 0)
        {
          KanExpr *x = call (KAN_FUNC_EXP, terms_build (&rest, 1.0, TRUE));
          prod = prod != NULL ? kan_expr_binary (KAN_EXPR_MUL, prod, x) : x;
        }
      r = t.constant != 0.0 ? times (exp (t.constant), prod) : prod;
      if (rest.terms->len < t.terms->len)
        r = canon_powers (r);
    }
  terms_clear (&rest);
  terms_clear (&t);
  kan_expr_free (arg);
  return r;
}

/* sin(S) and cos(S): the first coefficient made positive (sin(−u) = −sin u, cos(−u) = cos u),
 * the constant folded into (−π, π], and a phase that is a multiple of π/2 taken out:
 * sin(u + π/2) = cos u, sin(u + π) = −sin u, cos(u + π/2) = −sin u, cos(u − π/2) = sin u. A
 * phase counts as one when it is within the tolerance of snapping, as a gauge of the network
 * leaves it. */
static KanExpr *
canon_trig (KanFunc f, KanExpr *arg)
{
  Terms t;
  double sign = 1.0, k, quarter;
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
  quarter = round (k / M_PI_2);
  if (quarter != 0.0
      && fabs (k - quarter * M_PI_2) <= KAN_SNAP_DEFAULT_TOL * fabs (quarter * M_PI_2))
    {
      /* u + m·π/2 with m in −2 … 2: each quarter turns sin into cos and cos into −sin. */
      int m = ((int) quarter % 4 + 4) % 4;
      for (int q = 0; q < m; q++)
        {
          if (f == KAN_FUNC_COS)
            sign = -sign;
          f = f == KAN_FUNC_SIN ? KAN_FUNC_COS : KAN_FUNC_SIN;
        }
      k = 0.0;
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

/* CANDIDATE, a gauge rewrite of PLAIN, unless it has more nodes once both are simplified;
 * takes both and frees the other. */
static KanExpr *
unless_larger (KanExpr *candidate,
               KanExpr *plain)
{
  KanExpr *sc = kan_expr_simplify (kan_expr_copy (candidate));
  KanExpr *sp = kan_expr_simplify (kan_expr_copy (plain));
  gboolean larger = kan_expr_size (sc) > kan_expr_size (sp);

  kan_expr_free (sc);
  kan_expr_free (sp);
  if (larger)
    {
      kan_expr_free (candidate);
      return plain;
    }
  kan_expr_free (plain);
  return candidate;
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
      if (e->func == KAN_FUNC_SQRT && arg->kind == KAN_EXPR_MUL)
        {
          /* √(F²·S) = |F|·√S; on data where F keeps one sign, |F| becomes ±F (one_sided). */
          const KanExpr *sq = arg->a->kind == KAN_EXPR_POW ? arg->a : arg->b;
          const KanExpr *rest = sq == arg->a ? arg->b : arg->a;
          if (sq->kind == KAN_EXPR_POW && sq->b->kind == KAN_EXPR_NUM && sq->b->value == 2.0)
            return unless_larger (kan_expr_binary (KAN_EXPR_MUL,
                                                   call (KAN_FUNC_ABS, kan_expr_copy (sq->a)),
                                                   canon_call (&(KanExpr) {
                                                     .kind = KAN_EXPR_CALL,
                                                     .func = KAN_FUNC_SQRT,
                                                     .a = (KanExpr *) rest })),
                                  call (e->func, arg));
        }
      if (!is_sum (arg))
        break;
      inner = factor_sum (arg, &g);
      if (g == 1.0)
        {
          kan_expr_free (inner);
          break;
        }
      /* Each keeps its factor outside only where that leaves no more nodes. */
      if (e->func == KAN_FUNC_SQRT)
        return unless_larger (times (sqrt (g), call (KAN_FUNC_SQRT, inner)), call (e->func, arg));
      if (e->func == KAN_FUNC_ABS)
        return unless_larger (times (g, call (KAN_FUNC_ABS, inner)), call (e->func, arg));
      return unless_larger (kan_expr_binary (KAN_EXPR_ADD, call (KAN_FUNC_LOG, inner),
                                             kan_expr_num (log (g))),
                            call (e->func, arg));
    default:
      break;
    }
  return call (e->func, arg);
}

/* A sum whose terms all carry the same coefficient up to sign, as c/u + c/v − c·w, written as
 * c·(1/u + 1/v − w): *G_OUT = c and the result is the sum without it; NULL if the terms do not
 * share one (within 1e-9 relative). Terms c/u count as c·(1/u): factor_sum does not see those,
 * and networks of 1/x edges (parallel resistors, reduced masses) produce them. */
/* The number that leads the product E (its leftmost factor), or NULL. */
static KanExpr *
lead_coef (KanExpr *e)
{
  while (e->kind == KAN_EXPR_MUL)
    e = e->a;
  return e->kind == KAN_EXPR_NUM ? e : NULL;
}

/* A copy of the product E (lead_coef (E) not NULL) without its leading number. */
static KanExpr *
without_lead (const KanExpr *e)
{
  if (e->a->kind == KAN_EXPR_NUM)
    return kan_expr_copy (e->b);
  return kan_expr_binary (KAN_EXPR_MUL, without_lead (e->a), kan_expr_copy (e->b));
}

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
      /* A constant term carries its own value (c·x + c = c·(x + 1)). */
      c = sign * e->value;
      body = kan_expr_num (1.0);
      break;
    case KAN_EXPR_MUL:
      if (lead_coef ((KanExpr *) e) == NULL)
        return FALSE;
      c = sign * lead_coef ((KanExpr *) e)->value;
      body = without_lead (e);
      break;
    case KAN_EXPR_DIV:
      if (e->a->kind == KAN_EXPR_NUM)
        {
          c = sign * e->a->value;
          body = kan_expr_binary (KAN_EXPR_DIV, kan_expr_num (1.0), kan_expr_copy (e->b));
          break;
        }
      if (lead_coef (e->a) == NULL)
        return FALSE;
      c = sign * lead_coef (e->a)->value;
      body = kan_expr_binary (KAN_EXPR_DIV, without_lead (e->a), kan_expr_copy (e->b));
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

/* Whether F is one of the factors of the product E (a chain of * and the numerator of /). */
static gboolean
has_factor (const KanExpr *e, const KanExpr *f)
{
  if (kan_expr_equal (e, f))
    return TRUE;
  if (e->kind == KAN_EXPR_MUL)
    return has_factor (e->a, f) || has_factor (e->b, f);
  if (e->kind == KAN_EXPR_DIV)
    return has_factor (e->a, f);
  return FALSE;
}

/* A copy of E (has_factor (E, F)) with one factor F taken out. */
static KanExpr *
without_factor (const KanExpr *e, const KanExpr *f)
{
  if (kan_expr_equal (e, f))
    return kan_expr_num (1.0);
  if (e->kind == KAN_EXPR_MUL)
    return has_factor (e->a, f)
           ? kan_expr_binary (KAN_EXPR_MUL, without_factor (e->a, f), kan_expr_copy (e->b))
           : kan_expr_binary (KAN_EXPR_MUL, kan_expr_copy (e->a), without_factor (e->b, f));
  g_assert (e->kind == KAN_EXPR_DIV);
  return kan_expr_binary (KAN_EXPR_DIV, without_factor (e->a, f), kan_expr_copy (e->b));
}

/* The first non-number factor of the product E that every addend of S has, or NULL. */
static const KanExpr *
shared_factor (const KanExpr *e, const KanExpr *s)
{
  const KanExpr *f;

  if (e->kind == KAN_EXPR_MUL || e->kind == KAN_EXPR_DIV)
    {
      if ((f = shared_factor (e->a, s)) != NULL)
        return f;
      return e->kind == KAN_EXPR_MUL ? shared_factor (e->b, s) : NULL;
    }
  if (e->kind == KAN_EXPR_NUM)
    return NULL;
  /* Every addend of S (through +, − and unary −) must have E as a factor. */
  {
    const KanExpr *stack[64];
    int top = 0;
    stack[top++] = s;
    while (top > 0)
      {
        const KanExpr *a = stack[--top];
        if (a->kind == KAN_EXPR_ADD || a->kind == KAN_EXPR_SUB)
          {
            if (top + 2 > (int) G_N_ELEMENTS (stack))
              return NULL;
            stack[top++] = a->a;
            stack[top++] = a->b;
          }
        else if (a->kind == KAN_EXPR_NEG)
          stack[top++] = a->a;
        else if (!has_factor (a, e))
          return NULL;
      }
  }
  return e;
}

/* S (a sum) with every addend's factor F taken out. */
static KanExpr *
sum_without (const KanExpr *s, const KanExpr *f)
{
  if (s->kind == KAN_EXPR_ADD || s->kind == KAN_EXPR_SUB)
    return kan_expr_binary (s->kind, sum_without (s->a, f), sum_without (s->b, f));
  if (s->kind == KAN_EXPR_NEG)
    return kan_expr_unary (KAN_EXPR_NEG, 0, sum_without (s->a, f));
  return without_factor (s, f);
}

/* The addends of E (through +, − and unary −) as coefficient and body: a product's leading
 * number is its coefficient, anything else has coefficient ±1. */
static void
addends_collect (const KanExpr *e, double sign, GPtrArray *bodies, GArray *coefs)
{
  double c = sign;
  KanExpr *body;

  switch (e->kind)
    {
    case KAN_EXPR_ADD:
    case KAN_EXPR_SUB:
      addends_collect (e->a, sign, bodies, coefs);
      addends_collect (e->b, e->kind == KAN_EXPR_SUB ? -sign : sign, bodies, coefs);
      return;
    case KAN_EXPR_NEG:
      addends_collect (e->a, -sign, bodies, coefs);
      return;
    case KAN_EXPR_MUL:
      if (lead_coef ((KanExpr *) e) != NULL)
        {
          c = sign * lead_coef ((KanExpr *) e)->value;
          body = without_lead (e);
          break;
        }
      G_GNUC_FALLTHROUGH;
    default:
      body = kan_expr_copy (e);
      break;
    }
  g_ptr_array_add (bodies, body);
  g_array_append_val (coefs, c);
}

/* The sum of COEFS[q]·BODIES[q] over the bodies that are not NULL (addends_collect's parts
 * after a rewrite took some out), simplified. */
static KanExpr *
addends_sum (GPtrArray *bodies, GArray *coefs)
{
  KanExpr *r = NULL;

  for (guint q = 0; q < bodies->len; q++)
    {
      KanExpr *term;
      if (bodies->pdata[q] == NULL)
        continue;
      term = kan_expr_binary (KAN_EXPR_MUL, kan_expr_num (g_array_index (coefs, double, q)),
                              kan_expr_copy (bodies->pdata[q]));
      r = r ? kan_expr_binary (KAN_EXPR_ADD, r, term) : term;
    }
  return kan_expr_simplify (r);
}

/* Whether BODY is U·V or V·U. */
static gboolean
is_product_of (const KanExpr *body, const KanExpr *u, const KanExpr *v)
{
  return body->kind == KAN_EXPR_MUL
         && ((kan_expr_equal (body->a, u) && kan_expr_equal (body->b, v))
             || (kan_expr_equal (body->a, v) && kan_expr_equal (body->b, u)));
}

/* A sum with c·u² + c·v² ± 2c·u·v among its addends (any order) written with c·(u ± v)²
 * (distances: (x1 − x2)² + y1² − 2·y1·y2 + y2²), when that leaves fewer nodes. Takes S. */
static KanExpr *
perfect_squares (KanExpr *s)
{
  g_autoptr (GPtrArray) bodies = g_ptr_array_new_with_free_func ((GDestroyNotify) kan_expr_free);
  g_autoptr (GArray) coefs = g_array_new (FALSE, FALSE, sizeof (double));
  gboolean changed = FALSE;

  addends_collect (s, 1.0, bodies, coefs);
  if (coefs->len < 3)
    return s;
  for (guint i = 0; i < bodies->len; i++)
    for (guint j = i + 1; j < bodies->len; j++)
      {
        const KanExpr *bi = bodies->pdata[i], *bj = bodies->pdata[j];
        double c = g_array_index (coefs, double, i);
        if (bi == NULL || bj == NULL || bi->kind != KAN_EXPR_POW || bj->kind != KAN_EXPR_POW
            || bi->b->kind != KAN_EXPR_NUM || bi->b->value != 2.0
            || bj->b->kind != KAN_EXPR_NUM || bj->b->value != 2.0
            || fabs (g_array_index (coefs, double, j) - c) > 1e-12 * fabs (c))
          continue;
        for (guint k = 0; k < bodies->len; k++)
          {
            const KanExpr *bk = bodies->pdata[k];
            double ck = g_array_index (coefs, double, k);
            if (k == i || k == j || bk == NULL || !is_product_of (bk, bi->a, bj->a)
                || fabs (fabs (ck) - 2.0 * fabs (c)) > 1e-12 * fabs (c))
              continue;
            /* c·(u ± v)² in place of the first; the other two go. */
            bodies->pdata[i] = kan_expr_binary (
              KAN_EXPR_POW,
              kan_expr_binary ((ck < 0) == (c < 0) ? KAN_EXPR_ADD : KAN_EXPR_SUB,
                               kan_expr_copy (bi->a), kan_expr_copy (bj->a)),
              kan_expr_num (2.0));
            kan_expr_free ((KanExpr *) bi);
            kan_expr_free (g_steal_pointer (&bodies->pdata[j]));
            kan_expr_free (g_steal_pointer (&bodies->pdata[k]));
            changed = TRUE;
            break;
          }
      }
  return changed ? unless_larger (addends_sum (bodies, coefs), s) : s;
}

/* Whether every addend of S (through +, − and unary −) is a quotient whose denominator has
 * the factor F. */
static gboolean
all_divide_by (const KanExpr *s, const KanExpr *f)
{
  if (s->kind == KAN_EXPR_ADD || s->kind == KAN_EXPR_SUB)
    return all_divide_by (s->a, f) && all_divide_by (s->b, f);
  if (s->kind == KAN_EXPR_NEG)
    return all_divide_by (s->a, f);
  return s->kind == KAN_EXPR_DIV && has_factor (s->b, f);
}

/* S (all_divide_by (S, F)) with F taken out of every addend's denominator. */
static KanExpr *
sum_times (const KanExpr *s, const KanExpr *f)
{
  if (s->kind == KAN_EXPR_ADD || s->kind == KAN_EXPR_SUB)
    return kan_expr_binary (s->kind, sum_times (s->a, f), sum_times (s->b, f));
  if (s->kind == KAN_EXPR_NEG)
    return kan_expr_unary (KAN_EXPR_NEG, 0, sum_times (s->a, f));
  return kan_expr_binary (KAN_EXPR_DIV, kan_expr_copy (s->a), without_factor (s->b, f));
}

/* The first non-number factor of the denominator of the quotient E that every addend of S
 * divides by, or NULL. */
static const KanExpr *
shared_divisor (const KanExpr *e, const KanExpr *s)
{
  const KanExpr *d, *stack[32];
  int top = 0;

  if (e->kind != KAN_EXPR_DIV)
    return NULL;
  stack[top++] = e->b;
  while (top > 0)
    {
      d = stack[--top];
      if (d->kind == KAN_EXPR_MUL && top + 2 <= (int) G_N_ELEMENTS (stack))
        {
          stack[top++] = d->b;
          stack[top++] = d->a;
        }
      else if (d->kind != KAN_EXPR_NUM && all_divide_by (s, d))
        return d;
    }
  return NULL;
}

/* The factors of the product E (E itself when it is no product), left to right, into OUT. */
static void
mul_factors (const KanExpr *e, GPtrArray *out)
{
  if (e->kind == KAN_EXPR_MUL)
    {
      mul_factors (e->a, out);
      mul_factors (e->b, out);
    }
  else
    g_ptr_array_add (out, (gpointer) e);
}

/* BODY a product with exactly two factors FUNC(u) and FUNC(v): *U, *V point into it and
 * *REST receives the product of its other factors, in order (NULL when there are none). */
static gboolean
is_call_pair (const KanExpr *body, KanFunc func, const KanExpr **u, const KanExpr **v,
              KanExpr **rest)
{
  g_autoptr (GPtrArray) f = g_ptr_array_new ();
  int n_calls = 0;

  *rest = NULL;
  if (body == NULL || body->kind != KAN_EXPR_MUL)
    return FALSE;
  mul_factors (body, f);
  for (guint k = 0; k < f->len; k++)
    {
      const KanExpr *x = f->pdata[k];
      if (x->kind == KAN_EXPR_CALL && x->func == func && n_calls < 2)
        {
          *(n_calls++ ? v : u) = x->a;
          continue;
        }
      *rest = *rest ? kan_expr_binary (KAN_EXPR_MUL, *rest, kan_expr_copy (x))
                    : kan_expr_copy (x);
    }
  if (n_calls == 2)
    return TRUE;
  g_clear_pointer (rest, kan_expr_free);
  return FALSE;
}

static gboolean
same_rest (const KanExpr *a, const KanExpr *b)
{
  return a == NULL ? b == NULL : b != NULL && kan_expr_equal (a, b);
}

/* A sum with c·R·cos u·cos v ± c·R·sin u·sin v among its addends (R a product of other
 * factors, the same in both, or none) written with c·R·cos(u ∓ v) (the angle between two
 * directions; R = x1·x2 in a law of cosines), when that leaves fewer nodes. Takes S. */
static KanExpr *
angle_sums (KanExpr *s)
{
  g_autoptr (GPtrArray) bodies = g_ptr_array_new_with_free_func ((GDestroyNotify) kan_expr_free);
  g_autoptr (GArray) coefs = g_array_new (FALSE, FALSE, sizeof (double));
  gboolean changed = FALSE;

  addends_collect (s, 1.0, bodies, coefs);
  if (coefs->len < 2)
    return s;
  for (guint i = 0; i < bodies->len; i++)
    {
      const KanExpr *u, *v, *p, *q;
      g_autoptr (KanExpr) rest = NULL;
      double c = g_array_index (coefs, double, i);
      if (!is_call_pair (bodies->pdata[i], KAN_FUNC_COS, &u, &v, &rest))
        continue;
      for (guint j = 0; j < bodies->len; j++)
        {
          g_autoptr (KanExpr) rest_j = NULL;
          double cj = g_array_index (coefs, double, j);
          if (j == i || !is_call_pair (bodies->pdata[j], KAN_FUNC_SIN, &p, &q, &rest_j)
              || !same_rest (rest, rest_j)
              || !((kan_expr_equal (p, u) && kan_expr_equal (q, v))
                   || (kan_expr_equal (p, v) && kan_expr_equal (q, u)))
              || fabs (fabs (cj) - fabs (c)) > 1e-12 * fabs (c))
            continue;
          {
            KanExpr *angle = kan_expr_binary ((cj < 0) == (c < 0) ? KAN_EXPR_SUB : KAN_EXPR_ADD,
                                              kan_expr_copy (u), kan_expr_copy (v));
            KanExpr *body = call (KAN_FUNC_COS, angle);
            if (rest)
              body = kan_expr_binary (KAN_EXPR_MUL, g_steal_pointer (&rest), body);
            kan_expr_free (bodies->pdata[i]);
            bodies->pdata[i] = body;
            kan_expr_free (g_steal_pointer (&bodies->pdata[j]));
            changed = TRUE;
          }
          break;
        }
    }
  return changed ? unless_larger (addends_sum (bodies, coefs), s) : s;
}

/* A sum whose addends share a factor (0.5·m·u² + 0.5·m·v² → m·(0.5·u² + 0.5·v²)) as that
 * factor times the rest, again while one is shared, when that leaves fewer nodes; likewise a
 * divisor every addend has (1/ρ² − v²/(ρ²·c²) → (1 − v²/c²)/ρ²). Takes S. */
static KanExpr *
common_factor_sum (KanExpr *s)
{
  const KanExpr *first = s;
  const KanExpr *f;

  while (first->kind == KAN_EXPR_ADD || first->kind == KAN_EXPR_SUB
         || first->kind == KAN_EXPR_NEG)
    first = first->a;
  f = shared_factor (first, s);
  if (f == NULL && (f = shared_divisor (first, s)) != NULL)
    {
      KanExpr *rest = common_factor_sum (kan_expr_simplify (sum_times (s, f)));
      g_autoptr (KanExpr) quotient = kan_expr_binary (KAN_EXPR_DIV, rest, kan_expr_copy (f));
      return unless_larger (canon (quotient), s);
    }
  if (f == NULL)
    return s;
  {
    KanExpr *rest = common_factor_sum (kan_expr_simplify (sum_without (s, f)));
    g_autoptr (KanExpr) product = kan_expr_binary (KAN_EXPR_MUL, kan_expr_copy (f), rest);
    /* Its product's rewrites too: the rest's common number joins the coefficient. */
    return unless_larger (canon (product), s);
  }
}

/* Rewrites the node E (simplified) so that the constants that only a gauge of the network
 * fixes — the split of scales and offsets between an edge and the next — are gathered where
 * they become one coefficient: out of exp, roots, logs, powers and the factors of products. */
static KanExpr *
canon_node (const KanExpr *e)
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
      if (b->kind == KAN_EXPR_NUM && fabs (b->value) == 0.5
          && (a->kind == KAN_EXPR_DIV || a->kind == KAN_EXPR_MUL)
          && a->b->kind == KAN_EXPR_POW && a->b->b->kind == KAN_EXPR_NUM
          && a->b->b->value == 2.0)
        {
          /* (S/F²)^±½ = |F|^∓1·S^±½ and (S·F²)^±½ = |F|^±1·S^±½; on rows where F keeps one
           * sign |F| becomes ±F (one_sided). */
          double k = a->kind == KAN_EXPR_DIV ? -2.0 * b->value : 2.0 * b->value;
          KanExpr *absf = call (KAN_FUNC_ABS, kan_expr_copy (a->b->a));
          KanExpr *rest = kan_expr_binary (KAN_EXPR_POW, kan_expr_copy (a->a),
                                           kan_expr_num (b->value));
          KanExpr *alt = k > 0 ? kan_expr_binary (KAN_EXPR_MUL, absf, rest)
                               : kan_expr_binary (KAN_EXPR_DIV, rest, absf);
          return unless_larger (alt, kan_expr_binary (KAN_EXPR_POW, a, b));
        }
      if (b->kind == KAN_EXPR_NUM && is_sum (a) && a->kind != KAN_EXPR_MUL)
        {
          inner = factor_sum (a, &g);
          if (g != 1.0 && isfinite (pow (g, b->value)))
            return unless_larger (times (pow (g, b->value),
                                         kan_expr_binary (KAN_EXPR_POW, inner, kan_expr_copy (b))),
                                  kan_expr_binary (KAN_EXPR_POW, a, b));
          kan_expr_free (inner);
        }
      return kan_expr_binary (KAN_EXPR_POW, a, b);
    case KAN_EXPR_MUL:
    case KAN_EXPR_DIV:
      a = canon (e->a);
      b = canon (e->b);
      /* A sum that is a factor (not a coefficient's partner, where simplification would
       * distribute the coefficient again) gives its factor to the product — unless that
       * leaves more nodes, as when x − 1.2889 would become 0.7758·x − 1 only for the sake of
       * a short decimal. */
      if (!(e->kind == KAN_EXPR_MUL && (a->kind == KAN_EXPR_NUM || b->kind == KAN_EXPR_NUM)))
        {
          KanExpr **side[2] = { &a, &b };
          KanExpr *before = kan_expr_binary (e->kind, kan_expr_copy (a), kan_expr_copy (b));
          gboolean pulled = FALSE;

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
                pulled = TRUE;
              }
          if (pulled)
            {
              KanExpr *r = unless_larger (kan_expr_binary (e->kind, a, b), before);
              a = g_steal_pointer (&r->a);
              b = g_steal_pointer (&r->b);
              kan_expr_free (r);
            }
          else
            kan_expr_free (before);
        }
      if (e->kind == KAN_EXPR_DIV && (a->kind == KAN_EXPR_NUM || lead_coef (a) != NULL))
        {
          /* k·P/(c·S') → (k/c)·P/S' when every term of the denominator carries c. */
          inner = common_coef_sum (b, &g);
          if (inner != NULL)
            {
              KanExpr *k = a->kind == KAN_EXPR_NUM ? a : lead_coef (a);
              if (isfinite (k->value / g))
                {
                  k->value /= g;
                  kan_expr_free (b);
                  return kan_expr_binary (KAN_EXPR_DIV, a, inner);
                }
            }
          kan_expr_free (inner);
        }
      return kan_expr_binary (e->kind, a, b);
    case KAN_EXPR_NEG:
      return kan_expr_unary (KAN_EXPR_NEG, 0, canon (e->a));
    case KAN_EXPR_ADD:
    case KAN_EXPR_SUB:
      return common_factor_sum (angle_sums (perfect_squares (
        kan_expr_binary (e->kind, canon (e->a), canon (e->b)))));
    default:
      return kan_expr_binary (e->kind, canon (e->a), canon (e->b));
    }
}

/* One node's rewrites above its canonical children, then the powers of a product merged and
 * quotients of sums split where that leaves fewer nodes. */
static KanExpr *
canon (const KanExpr *e)
{
  KanExpr *r = canon_node (e);

  if (r->kind == KAN_EXPR_MUL || r->kind == KAN_EXPR_DIV || r->kind == KAN_EXPR_POW
      || (r->kind == KAN_EXPR_CALL && r->func == KAN_FUNC_SQRT))
    r = canon_powers (r);
  if (is_plain_sum (r) || r->kind == KAN_EXPR_MUL || r->kind == KAN_EXPR_DIV)
    r = canon_split (r);
  return r;
}


KanExpr *
kan_canon (const KanExpr *e)
{
  g_return_val_if_fail (e != NULL, NULL);
  return canon (e);
}

/* abs(z) and sgn(z) whose argument keeps one sign over R's rows: z or −z, ±1. Abs with its kink
 * outside the data is a line there, and a fit that happens to use it says nothing more. */
static KanExpr *
one_sided (KanExpr *e, const KanCanonRows *r)
{
  if (e->a)
    e->a = one_sided (e->a, r);
  if (e->b)
    e->b = one_sided (e->b, r);
  if (e->kind == KAN_EXPR_CALL && (e->func == KAN_FUNC_ABS || e->func == KAN_FUNC_SIGN))
    {
      g_autofree double *z = g_new (double, r->n);
      gboolean pos = TRUE, neg = TRUE;
      KanExpr *arg;

      kan_expr_eval_rows (e->a, r->x, r->n, r->n_in, z);
      for (size_t q = 0; q < r->n; q++)
        {
          pos &= z[q] >= 0.0;
          neg &= z[q] <= 0.0;
        }
      if (!pos && !neg)
        return e;
      gboolean sign = e->func == KAN_FUNC_SIGN;
      arg = e->a;
      e->a = NULL;
      kan_expr_free (e);
      if (sign)
        {
          kan_expr_free (arg);
          return kan_expr_num (pos ? 1.0 : -1.0);
        }
      return pos ? arg : kan_expr_unary (KAN_EXPR_NEG, 0, arg);
    }
  return e;
}

/* (z + c)^n, n = 2 … 4, with |c| over FAR_SHIFT times the largest |z| on R's rows: expanded
 * by the binomial theorem. A power fitted to a nearly straight stretch of data puts its
 * vertex far away, and only the expanded form lets the terms that cancel, or do not matter
 * on the data, cancel and snap away. */
#define FAR_SHIFT 10.0
static KanExpr *
expand_far (KanExpr *e, const KanCanonRows *r)
{
  KanExpr *z, *sum = NULL;
  double c, zmax = 0.0;
  int n;

  if (e->a)
    e->a = expand_far (e->a, r);
  if (e->b)
    e->b = expand_far (e->b, r);
  if (e->kind != KAN_EXPR_POW || e->b->kind != KAN_EXPR_NUM || e->b->value != round (e->b->value)
      || e->b->value < 2 || e->b->value > 4
      || (e->a->kind != KAN_EXPR_ADD && e->a->kind != KAN_EXPR_SUB))
    return e;
  if (e->a->b->kind == KAN_EXPR_NUM)
    {
      z = e->a->a;
      c = e->a->kind == KAN_EXPR_SUB ? -e->a->b->value : e->a->b->value;
    }
  else if (e->a->a->kind == KAN_EXPR_NUM && e->a->kind == KAN_EXPR_ADD)
    {
      z = e->a->b;
      c = e->a->a->value;
    }
  else
    return e;
  {
    g_autofree double *v = g_new (double, MAX (r->n, 1));
    kan_expr_eval_rows (z, r->x, r->n, r->n_in, v);
    for (size_t q = 0; q < r->n; q++)
      zmax = isfinite (v[q]) ? MAX (zmax, fabs (v[q])) : HUGE_VAL;
  }
  if (!(fabs (c) > FAR_SHIFT * zmax) || !isfinite (c))
    return e;
  n = (int) e->b->value;
  for (int k = 0, binom = 1; k <= n; binom = binom * (n - k) / (k + 1), k++)
    {
      double coef = binom * pow (c, n - k);
      KanExpr *t = k == 0 ? kan_expr_num (coef)
                   : kan_expr_binary (KAN_EXPR_MUL, kan_expr_num (coef),
                                      k == 1 ? kan_expr_copy (z)
                                             : kan_expr_binary (KAN_EXPR_POW, kan_expr_copy (z),
                                                                kan_expr_num (k)));
      sum = sum ? kan_expr_binary (KAN_EXPR_ADD, sum, t) : t;
    }
  kan_expr_free (e);
  return sum;
}

/* Simplify, canonicalise and snap (checked on R's rows) until nothing moves. */
static KanExpr *
polish (KanExpr *e, const KanCanonRows *r, gboolean snap, double snap_tol)
{
  char *prev = NULL;

  double allowed;

  if (snap)
    e = expand_far (one_sided (e, r), r);
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
      /* The canonical form may write |F| (√(F²·S)); on the rows it may be ±F. */
      e = kan_expr_simplify (snap ? one_sided (c, r) : c);
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

/* The tree of V if it is a simple value — p, p/q, pi, p*pi or p*pi/q with q up to the snapping
 * limit — with q in *DEN; NULL otherwise. kan_snap_value also snaps to short decimals (6.674,
 * 1.00149), which are not simple: sqrt(1.00149) says no more than the number it stands for. */
static KanExpr *
simple_value_expr (double v, int *den)
{
  for (int q = 1; q <= KAN_SNAP_DEFAULT_MAX_DEN; q++)
    for (int pi = 0; pi < 2; pi++)
      {
        double unit = pi ? M_PI : 1.0, p = round (v * q / unit);
        KanExpr *e;

        if (p == 0.0 || fabs (p * unit / q - v) > SIMPLE_VALUE_REL * fabs (v))
          continue;
        e = !pi ? kan_expr_num (p)
            : p == 1.0 ? kan_expr_num (M_PI) : times (p, kan_expr_num (M_PI));
        *den = q;
        return q == 1 ? e : kan_expr_binary (KAN_EXPR_DIV, e, kan_expr_num (q));
      }
  return NULL;
}

/* The root of simple value that V snaps to (see simple_value_expr), with its denominator in
 * *DEN; NULL if there is none. */
static KanExpr *
simple_root (double v, int *den)
{
  double s;
  KanExpr *e;

  if (!kan_snap_value (v, KAN_SNAP_DEFAULT_TOL, KAN_SNAP_DEFAULT_MAX_DEN, &s))
    return NULL;
  e = simple_value_expr (s, den);
  return e != NULL ? call (KAN_FUNC_SQRT, e) : NULL;
}

/* The coefficient c of a product E = c·T or c·T/D (in the simplifier's shape: c heads the
 * chain of the numerator) that does not snap but whose square, or inverse square, is a simple
 * value, written as sqrt(s)·T or T/(D·sqrt(s)): 0.3989…·exp(…) is exp(…)/sqrt(2*pi), 1.4142…·x·y
 * is sqrt(2)*x*y. Of the two, the radicand with the smaller denominator wins, sqrt(s)·T at a
 * tie. E (taken) as it is when c is not such a coefficient. */
static KanExpr *
root_coefficient (KanExpr *e)
{
  KanExpr **head = e->kind == KAN_EXPR_DIV ? &e->a : &e, *m, *up, *down;
  int den_up = 0, den_down = 0;
  double c, s;

  while ((*head)->kind == KAN_EXPR_MUL && (*head)->a->kind == KAN_EXPR_MUL)
    head = &(*head)->a;
  m = *head;
  if (m->kind != KAN_EXPR_MUL || m->a->kind != KAN_EXPR_NUM || m->b->kind == KAN_EXPR_NUM)
    return e;
  c = m->a->value;
  if (c == 0.0 || !isfinite (c)
      || kan_snap_value (c, KAN_SNAP_DEFAULT_TOL, KAN_SNAP_DEFAULT_MAX_DEN, &s))
    return e;
  up = simple_root (c * c, &den_up);
  down = simple_root (1.0 / (c * c), &den_down);
  if (up != NULL && (down == NULL || den_up <= den_down))
    {
      kan_expr_free (down);
      kan_expr_free (m->a);
      m->a = c < 0 ? kan_expr_unary (KAN_EXPR_NEG, 0, up) : up;
      return e;
    }
  if (down == NULL)
    return e;
  kan_expr_free (up);
  /* c leaves the chain (its sign goes to the next factor) and its root joins the denominator. */
  *head = c < 0 ? kan_expr_unary (KAN_EXPR_NEG, 0, m->b) : m->b;
  m->b = NULL;
  kan_expr_free (m);
  if (e->kind == KAN_EXPR_DIV)
    {
      e->b = kan_expr_binary (KAN_EXPR_MUL, e->b, down);
      return e;
    }
  return kan_expr_binary (KAN_EXPR_DIV, e, down);
}

/* Every product's coefficient through root_coefficient, outermost products first (so that a
 * chain is rewritten as a whole). Works in place; the result must not be simplified again,
 * which would fold the roots back into numbers — it is the one rewrite here that may add
 * nodes. */
static KanExpr *
root_constants (KanExpr *e)
{
  if (e == NULL)
    return NULL;
  if (e->kind == KAN_EXPR_MUL || e->kind == KAN_EXPR_DIV)
    e = root_coefficient (e);
  e->a = root_constants (e->a);
  e->b = root_constants (e->b);
  return e;
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
