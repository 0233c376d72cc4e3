/* kan-formula.c — the closed-form formula of a locked network: compose, simplify, snap.
 *
 * Simplification works on two normal forms built from already simplified children: a sum is
 * a list of (coefficient, term) pairs plus a constant, a product is a coefficient times
 * numerator and denominator factors with integer powers. Rebuilding them gives a tree that
 * prints naturally (coefficient first, constant last, subtraction for negative terms) and
 * that collects to the same normal form again, so like terms can be found structurally.
 */
#include "kan-formula.h"
#include "kan-arith-private.h"
#include "kan-model-private.h"
#include "kan-symbolic.h"
#include "kan-error.h"

#include <float.h>
#include <math.h>
#include <string.h>

/* Integer powers up to this size are split over products and merged ((x^2)^3 → x^6). */
#define MAX_INT_POWER 64
/* Edges named in the error message; the full list goes to the caller's array. */
#define MAX_EDGES_IN_MESSAGE 20
/* Largest |p| of the fractions p/q and multiples p·π/q that constants snap to. */
#define MAX_SNAP_NUMERATOR 100
/* Simplification passes: one reaches the normal form; more only if something still moved. */
#define MAX_SIMPLIFY_PASSES 3
/* A snapped constant survives simplification up to a few roundings (1/3·π against π/3);
 * within this many units in the last place it still prints as the simple value. */
#define PRETTY_ULPS 8.0

/* ------------------------------------------------------------------------------------------ */
/* Composition                                                                                 */

/* mask_sym·(c·f(a·x+b)+d), in the order of operations of the forward pass. */
static KanExpr *
edge_expr (const KanLayer *L,
           int             e,
           const KanExpr  *x)
{
  const double *abcd = L->sym + (size_t) e * 4;
  KanExpr *arg, *f, *v;

  arg = kan_expr_binary (KAN_EXPR_ADD,
                         kan_expr_binary (KAN_EXPR_MUL, kan_expr_num (abcd[0]), kan_expr_copy (x)),
                         kan_expr_num (abcd[1]));
  f = kan_sym_expr (L->sym_fn[e], arg);
  v = kan_expr_binary (KAN_EXPR_ADD, kan_expr_binary (KAN_EXPR_MUL, kan_expr_num (abcd[2]), f),
                       kan_expr_num (abcd[3]));
  if (L->mask_sym[e] != 1.0)
    v = kan_expr_binary (KAN_EXPR_MUL, kan_expr_num (L->mask_sym[e]), v);
  return v;
}

/* s·x + b */
static KanExpr *
affine_expr (double   s,
             KanExpr *x,
             double   b)
{
  return kan_expr_binary (KAN_EXPR_ADD, kan_expr_binary (KAN_EXPR_MUL, kan_expr_num (s), x),
                          kan_expr_num (b));
}

/* Lists the edges whose numeric mask is on; FALSE (with ERROR set) if there are any. */
static gboolean
check_all_symbolic (const KanModel   *m,
                    char           ***numeric_edges_out,
                    GError          **error)
{
  GPtrArray *edges = g_ptr_array_new_with_free_func (g_free);
  GString *msg;

  for (int l = 0; l < m->depth; l++)
    {
      const KanLayer *L = &m->layers[l];

      for (int i = 0; i < L->n_in; i++)
        for (int j = 0; j < L->n_out; j++)
          if (L->mask[i * L->n_out + j] != 0.0)
            g_ptr_array_add (edges, g_strdup_printf ("(%d,%d,%d)", l, i, j));
    }
  if (edges->len == 0)
    {
      g_ptr_array_unref (edges);
      return TRUE;
    }

  msg = g_string_new (NULL);
  g_string_append_printf (msg, edges->len == 1 ? "%u edge is still a spline: "
                                               : "%u edges are still splines: ", edges->len);
  for (guint k = 0; k < edges->len && k < MAX_EDGES_IN_MESSAGE; k++)
    g_string_append_printf (msg, "%s%s", k > 0 ? ", " : "", (char *) edges->pdata[k]);
  if (edges->len > MAX_EDGES_IN_MESSAGE)
    g_string_append_printf (msg, ", … (%u more)", edges->len - MAX_EDGES_IN_MESSAGE);
  g_set_error_literal (error, KAN_ERROR, KAN_ERROR_INVALID, msg->str);
  g_string_free (msg, TRUE);

  if (numeric_edges_out != NULL)
    {
      g_ptr_array_set_free_func (edges, NULL);
      g_ptr_array_add (edges, NULL);
      *numeric_edges_out = (char **) g_ptr_array_free (edges, FALSE);
    }
  else
    g_ptr_array_unref (edges);
  return FALSE;
}

KanExpr **
kan_formula_compose (const KanModel   *m,
                     char           ***numeric_edges_out,
                     GError          **error)
{
  KanExpr **xs;
  int n_x;

  g_return_val_if_fail (m != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (numeric_edges_out != NULL)
    *numeric_edges_out = NULL;
  if (!check_all_symbolic (m, numeric_edges_out, error))
    return NULL;

  n_x = kan_model_n_in (m);
  xs = g_new0 (KanExpr *, n_x + 1);
  for (int i = 0; i < n_x; i++)
    xs[i] = kan_expr_var (i);

  for (int l = 0; l < m->depth; l++)
    {
      const KanLayer *L = &m->layers[l];
      KanExpr **zs = g_new0 (KanExpr *, L->n_out);
      KanExpr **next = g_new0 (KanExpr *, L->n_next + 1);

      g_assert (L->n_in == n_x);
      /* Subnodes: the sum of the live symbolic edges, then the subnode affine. */
      for (int j = 0; j < L->n_out; j++)
        {
          KanExpr *z = NULL;

          for (int i = 0; i < L->n_in; i++)
            {
              int e = i * L->n_out + j;
              KanExpr *t;

              if (L->mask_sym[e] == 0.0)
                continue;
              t = edge_expr (L, e, xs[i]);
              z = z != NULL ? kan_expr_binary (KAN_EXPR_ADD, z, t) : t;
            }
          if (z == NULL)
            z = kan_expr_num (0.0);
          zs[j] = affine_expr (L->subnode_scale[j], z, L->subnode_bias[j]);
        }
      /* Nodes: the product of each group (one subnode for sum nodes), then the node affine. */
      for (int q = 0; q < L->n_next; q++)
        {
          KanExpr *prod = NULL;

          for (int s = L->group_start[q]; s < L->group_start[q + 1]; s++)
            {
              KanExpr *z = g_steal_pointer (&zs[s]);
              prod = prod != NULL ? kan_expr_binary (KAN_EXPR_MUL, prod, z) : z;
            }
          if (prod == NULL)
            prod = kan_expr_num (1.0);
          next[q] = affine_expr (L->node_scale[q], prod, L->node_bias[q]);
        }

      for (int j = 0; j < L->n_out; j++)
        kan_expr_free (zs[j]);
      g_free (zs);
      kan_formula_free (xs);
      xs = next;
      n_x = L->n_next;
    }
  return xs;
}

void
kan_formula_free (KanExpr **formulas)
{
  if (formulas == NULL)
    return;
  for (KanExpr **f = formulas; *f != NULL; f++)
    kan_expr_free (*f);
  g_free (formulas);
}

/* V with DIGITS significant digits (as printed, so that the label shows no more). */
static double
round_digits (double v,
              int    digits)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE], fmt[16];

  if (digits <= 0 || !isfinite (v))
    return v;
  g_snprintf (fmt, sizeof fmt, "%%.%dg", digits);
  return g_ascii_strtod (g_ascii_formatd (buf, sizeof buf, fmt, v), NULL);
}

char *
kan_formula_edge_to_string (int           sym_id,
                            const double  abcd[4],
                            int           digits)
{
  static const char *const x[] = { "x", NULL };
  KanExpr *arg, *e;
  double v[4];
  char *text;

  g_return_val_if_fail (kan_sym_info (sym_id) != NULL, NULL);
  g_return_val_if_fail (abcd != NULL, NULL);

  for (int q = 0; q < 4; q++)
    v[q] = round_digits (abcd[q], digits);
  arg = kan_expr_binary (KAN_EXPR_ADD,
                         kan_expr_binary (KAN_EXPR_MUL, kan_expr_num (v[0]), kan_expr_var (0)),
                         kan_expr_num (v[1]));
  e = kan_expr_binary (KAN_EXPR_ADD,
                       kan_expr_binary (KAN_EXPR_MUL, kan_expr_num (v[2]), kan_sym_expr (sym_id, arg)),
                       kan_expr_num (v[3]));
  e = kan_expr_simplify (e);
  text = kan_expr_to_string (e, x, KAN_EXPR_STYLE_TEXT);
  kan_expr_free (e);
  return text;
}

const char *
kan_edge_mode_name (KanEdgeMode mode)
{
  /* "locked", not "symbolic": the word of the Lock and Unlock commands and buttons. */
  switch (mode)
    {
    case KAN_EDGE_OFF:
      return "pruned";
    case KAN_EDGE_NUMERIC:
      return "spline";
    case KAN_EDGE_SYMBOLIC:
      return "locked";
    case KAN_EDGE_BOTH:
      return "spline+locked";
    }
  g_return_val_if_reached ("?");
}

/* ------------------------------------------------------------------------------------------ */
/* Normal forms                                                                                */

typedef struct
{
  KanExpr *base;
  int      power;   /* ≥ 1 */
} Factor;

typedef struct
{
  double  coef;
  GArray *num;      /* Factor */
  GArray *den;      /* Factor */
} Prod;

typedef struct
{
  KanExpr *term;    /* no numeric coefficient, not a sum */
  double   coef;
} Term;

typedef struct
{
  GArray *terms;    /* Term */
  double  constant;
} Sum;

static KanExpr *simp (const KanExpr *e);
static KanExpr *sum_build (Sum *s);
static void     sum_add (Sum *s, const KanExpr *e, double w);

static gboolean
is_num (const KanExpr *e, double v)
{
  return e->kind == KAN_EXPR_NUM && e->value == v;
}

/* The integer value of E if it is a constant whole number within the power limit. */
static gboolean
int_power (const KanExpr *e,
           int           *k)
{
  if (e->kind != KAN_EXPR_NUM || e->value != floor (e->value) || fabs (e->value) > MAX_INT_POWER)
    return FALSE;
  *k = (int) e->value;
  return TRUE;
}

static double
ipow (double v,
      int    k)
{
  if (k == 1)
    return v;
  if (k == -1)
    return 1.0 / v;
  return pow (v, k);
}

static void
prod_init (Prod   *p,
           double  coef)
{
  p->coef = coef;
  p->num = g_array_new (FALSE, FALSE, sizeof (Factor));
  p->den = g_array_new (FALSE, FALSE, sizeof (Factor));
}

static void
factors_clear (GArray *fs)
{
  for (guint k = 0; k < fs->len; k++)
    kan_expr_free (g_array_index (fs, Factor, k).base);
  g_array_unref (fs);
}

static void
prod_clear (Prod *p)
{
  factors_clear (p->num);
  factors_clear (p->den);
}

/* Multiplies P by E^POWER (E is copied, not taken), looking through products, quotients,
 * signs and integer powers. With RAW, E is not simplified yet and what is inside is
 * simplified first: 3·(x+y)·(x+y) is then seen as 3, x+y, x+y, whereas simplifying 3·(x+y)
 * on its own would distribute the 3. Equal bases on the same side of the fraction bar merge;
 * a base above and the same below stay apart, since x·x/x is not x at x = 0. */
static void
collect (Prod          *p,
         const KanExpr *e,
         int            power,
         gboolean       raw)
{
  int k;

  switch (e->kind)
    {
    case KAN_EXPR_NUM:
      p->coef *= ipow (e->value, power);
      return;
    case KAN_EXPR_NEG:
      if (power % 2 != 0)
        p->coef = -p->coef;
      collect (p, e->a, power, raw);
      return;
    case KAN_EXPR_MUL:
      collect (p, e->a, power, raw);
      collect (p, e->b, power, raw);
      return;
    case KAN_EXPR_DIV:
      collect (p, e->a, power, raw);
      collect (p, e->b, -power, raw);
      return;
    case KAN_EXPR_POW:
      if (int_power (e->b, &k) && k != 0 && abs (k * power) <= MAX_INT_POWER)
        {
          collect (p, e->a, k * power, raw);
          return;
        }
      break;
    default:
      break;
    }

  if (raw)
    {
      KanExpr *s = simp (e);
      collect (p, s, power, FALSE);
      kan_expr_free (s);
      return;
    }

  {
    GArray *side = power > 0 ? p->num : p->den;
    Factor f;

    for (guint i = 0; i < side->len; i++)
      {
        Factor *g = &g_array_index (side, Factor, i);
        if (kan_expr_equal (g->base, e) && abs (g->power + abs (power)) <= MAX_INT_POWER)
          {
            g->power += abs (power);
            return;
          }
      }
    f.base = kan_expr_copy (e);
    f.power = abs (power);
    g_array_append_val (side, f);
  }
}

static gboolean
is_sum (const KanExpr *e)
{
  return e->kind == KAN_EXPR_ADD || e->kind == KAN_EXPR_SUB;
}

/* INIT·f1^p1·f2^p2·… as a left-leaning chain (INIT may be NULL); takes the factors. */
static KanExpr *
chain (GArray  *fs,
       KanExpr *init)
{
  KanExpr *acc = init;

  for (guint i = 0; i < fs->len; i++)
    {
      Factor *f = &g_array_index (fs, Factor, i);
      KanExpr *t = f->power == 1 ? f->base
                   : kan_expr_binary (KAN_EXPR_POW, f->base, kan_expr_num (f->power));

      f->base = NULL;
      acc = acc != NULL ? kan_expr_binary (KAN_EXPR_MUL, acc, t) : t;
    }
  g_array_set_size (fs, 0);
  return acc;
}

/* The tree of P (taken): coefficient first, then the numerator factors, over the
 * denominator; a coefficient times a lone sum is distributed over the sum. */
static KanExpr *
prod_build (Prod *p)
{
  double c = p->coef;
  KanExpr *numer, *denom;

  if (c == 0.0)
    {
      /* 0·t → 0, even where t is not finite: see kan_expr_simplify. */
      prod_clear (p);
      return kan_expr_num (c);  /* keeps the sign of −0, which 1/x can see */
    }

  if (p->den->len == 0 && p->num->len == 1
      && g_array_index (p->num, Factor, 0).power == 1
      && is_sum (g_array_index (p->num, Factor, 0).base))
    {
      KanExpr *inner = g_array_index (p->num, Factor, 0).base;
      Sum s;

      if (c == 1.0)
        {
          g_array_index (p->num, Factor, 0).base = NULL;
          prod_clear (p);
          return inner;
        }
      s.terms = g_array_new (FALSE, FALSE, sizeof (Term));
      s.constant = 0.0;
      sum_add (&s, inner, c);
      prod_clear (p);
      return sum_build (&s);
    }

  denom = chain (p->den, NULL);
  if (p->num->len == 0)
    numer = kan_expr_num (c);
  else if (c == 1.0)
    numer = chain (p->num, NULL);
  else if (c == -1.0)
    {
      /* -x*y: the sign goes on the first factor, which prints without parentheses. */
      Factor *f = &g_array_index (p->num, Factor, 0);
      if (f->power != 1)
        {
          f->base = kan_expr_binary (KAN_EXPR_POW, f->base, kan_expr_num (f->power));
          f->power = 1;
        }
      f->base = kan_expr_unary (KAN_EXPR_NEG, 0, f->base);
      numer = chain (p->num, NULL);
    }
  else
    numer = chain (p->num, kan_expr_num (c));
  prod_clear (p);
  return denom != NULL ? kan_expr_binary (KAN_EXPR_DIV, numer, denom) : numer;
}

/* C·T as a product tree (T taken). */
static KanExpr *
scaled (double   c,
        KanExpr *t)
{
  Prod p;

  prod_init (&p, c);
  collect (&p, t, 1, FALSE);
  if (!isfinite (p.coef))
    {
      /* Distributing an infinite coefficient would turn inf·(x+1) into inf·x + inf. */
      prod_clear (&p);
      return c == 1.0 ? t : kan_expr_binary (KAN_EXPR_MUL, kan_expr_num (c), t);
    }
  kan_expr_free (t);
  return prod_build (&p);
}

void
kan_expr_sum_walk (const KanExpr  *e,
                   double          w,
                   KanSumTermFunc  func,
                   gpointer        data,
                   double         *constant)
{
  g_return_if_fail (e != NULL && func != NULL && constant != NULL);

  switch (e->kind)
    {
    case KAN_EXPR_NUM:
      *constant += w * e->value;
      return;
    case KAN_EXPR_ADD:
      kan_expr_sum_walk (e->a, w, func, data, constant);
      kan_expr_sum_walk (e->b, w, func, data, constant);
      return;
    case KAN_EXPR_SUB:
      kan_expr_sum_walk (e->a, w, func, data, constant);
      kan_expr_sum_walk (e->b, -w, func, data, constant);
      return;
    case KAN_EXPR_NEG:
      kan_expr_sum_walk (e->a, -w, func, data, constant);
      return;
    case KAN_EXPR_MUL:
      /* An infinite coefficient stays in its term: inf·x is no multiple of x to merge. */
      if (e->a->kind == KAN_EXPR_NUM && isfinite (e->a->value))
        {
          func (e->b, w * e->a->value, data);
          return;
        }
      break;
    default:
      break;
    }
  func (e, w, data);
}

/* Adds W·E to S, E a term of a simplified sum (neither a sum nor a number; copied, not
 * taken): its numeric factors go to the coefficient, and it merges with an equal term. */
static void
sum_add_term (const KanExpr *e,
              double         w,
              gpointer       data)
{
  Sum *s = data;
  Prod p;
  KanExpr *rest;
  double c;

  prod_init (&p, 1.0);
  collect (&p, e, 1, FALSE);
  c = p.coef * w;
  if (!isfinite (p.coef))
    {
      prod_clear (&p);
      rest = kan_expr_copy (e);
      c = w;
    }
  else
    {
      p.coef = 1.0;
      rest = prod_build (&p);
    }
  if (is_sum (rest) || rest->kind == KAN_EXPR_NUM)
    {
      /* c·(x+1) with the c taken out: the sum rules take the rest apart, distributing c. */
      sum_add (s, rest, c);
      kan_expr_free (rest);
      return;
    }

  for (guint i = 0; i < s->terms->len; i++)
    {
      Term *t = &g_array_index (s->terms, Term, i);
      if (kan_expr_equal (t->term, rest))
        {
          t->coef += c;
          kan_expr_free (rest);
          return;
        }
    }
  {
    Term t = { rest, c };
    g_array_append_val (s->terms, t);
  }
}

/* Adds W·E to S (E simplified; copied, not taken). */
static void
sum_add (Sum           *s,
         const KanExpr *e,
         double         w)
{
  kan_expr_sum_walk (e, w, sum_add_term, s, &s->constant);
}

/* The tree of S (taken): terms in order of first appearance, negative ones subtracted, the
 * constant last. Terms with a zero coefficient are dropped. */
static KanExpr *
sum_build (Sum *s)
{
  KanExpr *acc = NULL;
  double k = s->constant;

  for (guint i = 0; i < s->terms->len; i++)
    {
      Term *t = &g_array_index (s->terms, Term, i);

      if (t->coef == 0.0)
        kan_expr_free (t->term);
      else if (acc == NULL)
        acc = scaled (t->coef, t->term);
      else if (t->coef < 0.0)
        acc = kan_expr_binary (KAN_EXPR_SUB, acc, scaled (-t->coef, t->term));
      else
        acc = kan_expr_binary (KAN_EXPR_ADD, acc, scaled (t->coef, t->term));
    }
  g_array_unref (s->terms);

  if (acc == NULL)
    return kan_expr_num (k);
  if (k < 0.0)
    return kan_expr_binary (KAN_EXPR_SUB, acc, kan_expr_num (-k));
  if (k != 0.0 || isnan (k))
    return kan_expr_binary (KAN_EXPR_ADD, acc, kan_expr_num (k));
  return acc;
}

/* ------------------------------------------------------------------------------------------ */
/* Simplification                                                                              */

static KanExpr *
simp_sum (const KanExpr *e)
{
  KanExpr *sa = simp (e->a), *sb = e->b != NULL ? simp (e->b) : NULL;
  Sum s;

  if (e->kind == KAN_EXPR_NEG && sa->kind == KAN_EXPR_NUM)
    {
      sa->value = -sa->value;
      return sa;
    }
  s.terms = g_array_new (FALSE, FALSE, sizeof (Term));
  s.constant = 0.0;
  sum_add (&s, sa, e->kind == KAN_EXPR_NEG ? -1.0 : 1.0);
  if (sb != NULL)
    sum_add (&s, sb, e->kind == KAN_EXPR_SUB ? -1.0 : 1.0);
  kan_expr_free (sa);
  kan_expr_free (sb);
  return sum_build (&s);
}

/* A product, quotient or integer power E as one normal form; E itself, with simplified
 * operands, when the coefficient would not be finite (division by zero, overflow). */
static KanExpr *
simp_prod (const KanExpr *e)
{
  Prod p;

  prod_init (&p, 1.0);
  collect (&p, e, 1, TRUE);
  if (!isfinite (p.coef))
    {
      prod_clear (&p);
      return kan_expr_binary (e->kind, simp (e->a), simp (e->b));
    }
  return prod_build (&p);
}

static KanExpr *
simp_pow (const KanExpr *e)
{
  KanExpr *sa, *sb;
  int k;

  if (int_power (e->b, &k) && k != 0)
    return simp_prod (e);
  sa = simp (e->a);
  sb = simp (e->b);

  if (sa->kind == KAN_EXPR_NUM && sb->kind == KAN_EXPR_NUM)
    {
      double v = pow (sa->value, sb->value);
      if (isfinite (v))
        {
          kan_expr_free (sa);
          kan_expr_free (sb);
          return kan_expr_num (v);
        }
    }
  /* C's pow: x^0 = 1 and 1^y = 1 for every x and y, NaN included. */
  if (is_num (sb, 0.0) || is_num (sa, 1.0))
    {
      kan_expr_free (sa);
      kan_expr_free (sb);
      return kan_expr_num (1.0);
    }
  if (int_power (sb, &k))
    {
      Prod p;

      prod_init (&p, 1.0);
      collect (&p, sa, k, FALSE);
      if (isfinite (p.coef))
        {
          kan_expr_free (sa);
          kan_expr_free (sb);
          return prod_build (&p);
        }
      prod_clear (&p);
    }
  return kan_expr_binary (KAN_EXPR_POW, sa, sb);
}

static KanExpr *
simp (const KanExpr *e)
{
  switch (e->kind)
    {
    case KAN_EXPR_NUM:
    case KAN_EXPR_VAR:
      return kan_expr_copy (e);

    case KAN_EXPR_ADD:
    case KAN_EXPR_SUB:
    case KAN_EXPR_NEG:
      return simp_sum (e);

    case KAN_EXPR_MUL:
    case KAN_EXPR_DIV:
      return simp_prod (e);

    case KAN_EXPR_POW:
      return simp_pow (e);

    case KAN_EXPR_CALL:
      {
        KanExpr *sa = simp (e->a);

        if (sa->kind == KAN_EXPR_NUM)
          {
            double v = kan_func_eval (e->func, sa->value);
            if (isfinite (v))
              {
                kan_expr_free (sa);
                return kan_expr_num (v);
              }
          }
        return kan_expr_unary (KAN_EXPR_CALL, e->func, sa);
      }

    default:
      break;
    }
  g_return_val_if_reached (kan_expr_copy (e));
}

KanExpr *
kan_expr_simplify (KanExpr *e)
{
  g_return_val_if_fail (e != NULL, NULL);

  for (int pass = 0; pass < MAX_SIMPLIFY_PASSES; pass++)
    {
      KanExpr *s = simp (e);
      gboolean same = kan_expr_equal (s, e);

      kan_expr_free (e);
      e = s;
      if (same)
        break;
    }
  return e;
}

/* ------------------------------------------------------------------------------------------ */
/* Snapping                                                                                    */

/* S is a candidate of a family whose members lie SPACING apart: it counts only if V is within
 * the tolerance window and the window is narrow enough to single out one member. */
static gboolean
within (double v,
        double s,
        double spacing,
        double tol)
{
  double window = tol * MAX (1.0, fabs (s));

  return window < spacing / 4 && fabs (v - s) <= window;
}

gboolean
kan_snap_value (double  v,
                double  tol,
                int     max_den,
                double *snapped)
{
  g_return_val_if_fail (tol >= 0.0, FALSE);

  if (!isfinite (v))
    return FALSE;
  for (int q = 1; q <= MAX (1, max_den); q++)
    {
      double p = round (v * q), s = p / q;

      if ((q == 1 || fabs (p) <= MAX_SNAP_NUMERATOR) && within (v, s, 1.0 / q, tol))
        {
          *snapped = s;
          return TRUE;
        }
      p = round (v * q / M_PI);
      s = p * M_PI / q;
      if (p != 0 && fabs (p) <= MAX_SNAP_NUMERATOR && within (v, s, M_PI / q, tol))
        {
          *snapped = s;
          return TRUE;
        }
    }
  /* Last, a short decimal (up to 6 significant digits): constants of physics such as 6.674 come
   * back from the fit as 6.674000000000009. */
  for (int digits = 1; digits <= 6; digits++)
    {
      char buf[G_ASCII_DTOSTR_BUF_SIZE], fmt[8];
      double s, spacing;
      /* g_ascii_formatd: the GUI runs in the user's locale, whose decimal point may be ','. */
      g_snprintf (fmt, sizeof fmt, "%%.%de", digits - 1);
      g_ascii_formatd (buf, sizeof buf, fmt, v);
      s = g_ascii_strtod (buf, NULL);
      spacing = pow (10.0, floor (log10 (fabs (v))) - (digits - 1));
      if (s != 0.0 && within (v, s, spacing, tol))
        {
          *snapped = s;
          return TRUE;
        }
    }
  return FALSE;
}

static gboolean
close_ulps (double v,
            double s)
{
  return fabs (v - s) <= PRETTY_ULPS * DBL_EPSILON * fabs (s);
}

/* Only 2 and 5 in Q: p/q has a short decimal expansion, which reads better. */
static gboolean
decimal_denominator (int q)
{
  while (q % 2 == 0)
    q /= 2;
  while (q % 5 == 0)
    q /= 5;
  return q == 1;
}

/* Rewrites, in place, constants that are (up to a few roundings) p/q or p·π/q into those
 * shapes, so that they print as 1/3, pi, 2*pi, pi/2. */
static void
prettify (KanExpr *e,
          int      max_den)
{
  if (e == NULL)
    return;
  if (e->kind != KAN_EXPR_NUM)
    {
      prettify (e->a, max_den);
      prettify (e->b, max_den);
      return;
    }
  if (!isfinite (e->value) || e->value == floor (e->value))
    return;
  for (int q = 1; q <= max_den; q++)
    {
      double v = e->value, p = round (v * q);
      KanExpr *numer;

      if (q > 1 && !decimal_denominator (q) && fabs (p) <= MAX_SNAP_NUMERATOR
          && kan_gcd ((gint64) p, q) == 1 && close_ulps (v, p / q))
        {
          e->kind = KAN_EXPR_DIV;
          e->a = kan_expr_num (p);
          e->b = kan_expr_num (q);
          return;
        }
      p = round (v * q / M_PI);
      if (p == 0 || fabs (p) > MAX_SNAP_NUMERATOR || kan_gcd ((gint64) p, q) != 1
          || !close_ulps (v, p * M_PI / q))
        continue;
      if (p == 1 || p == -1)
        numer = kan_expr_num (p * M_PI);
      else
        numer = kan_expr_binary (KAN_EXPR_MUL, kan_expr_num (p), kan_expr_num (M_PI));
      if (q == 1)
        {
          if (numer->kind == KAN_EXPR_NUM)
            {
              e->value = numer->value;
              kan_expr_free (numer);
              return;
            }
          *e = *numer;
          g_free (numer);
          return;
        }
      e->kind = KAN_EXPR_DIV;
      e->a = numer;
      e->b = kan_expr_num (q);
      return;
    }
}

static void
snap_all (KanExpr *e,
          double   tol,
          int      max_den)
{
  if (e == NULL)
    return;
  if (e->kind == KAN_EXPR_NUM)
    kan_snap_value (e->value, tol, max_den, &e->value);
  snap_all (e->a, tol, max_den);
  snap_all (e->b, tol, max_den);
}

KanExpr *
kan_expr_snap (KanExpr *e,
               double   tol,
               int      max_den)
{
  g_return_val_if_fail (e != NULL, NULL);
  g_return_val_if_fail (tol >= 0.0, e);

  e = kan_expr_simplify (e);
  snap_all (e, tol, max_den);
  e = kan_expr_simplify (e);
  prettify (e, max_den);
  return e;
}

double
kan_expr_rmse (const KanExpr *e,
               const double  *x,
               int            n_in,
               const double  *y,
               size_t         y_stride,
               size_t         n)
{
  double ss = 0.0;

  g_return_val_if_fail (e != NULL, NAN);
  g_return_val_if_fail (n == 0 || (x != NULL && y != NULL), NAN);
  g_return_val_if_fail (kan_expr_max_var (e) < n_in, NAN);

  if (n == 0)
    return NAN;
  for (size_t r = 0; r < n; r++)
    {
      double d = kan_expr_eval (e, x + r * n_in) - y[r * y_stride];
      ss += d * d;
    }
  return sqrt (ss / n);
}

static void
collect_nums (KanExpr   *e,
              GPtrArray *out)
{
  if (e == NULL)
    return;
  if (e->kind == KAN_EXPR_NUM)
    g_ptr_array_add (out, e);
  collect_nums (e->a, out);
  collect_nums (e->b, out);
}

KanExpr *
kan_expr_snap_checked (KanExpr      *e,
                       const double *x,
                       int           n_in,
                       const double *y,
                       size_t        y_stride,
                       size_t        n,
                       double        max_rmse_increase,
                       double        tol,
                       int           max_den)
{
  GPtrArray *nums;
  double rmse0;

  g_return_val_if_fail (e != NULL, NULL);
  g_return_val_if_fail (tol >= 0.0, e);
  g_return_val_if_fail (kan_expr_max_var (e) < n_in, e);
  g_return_val_if_fail (n == 0 || (x != NULL && y != NULL), e);

  e = kan_expr_simplify (e);
  rmse0 = kan_expr_rmse (e, x, n_in, y, y_stride, n);

  nums = g_ptr_array_new ();
  collect_nums (e, nums);
  for (guint k = 0; k < nums->len; k++)
    {
      KanExpr *c = nums->pdata[k];
      double old = c->value, s;

      if (!kan_snap_value (old, tol, max_den, &s) || s == old)
        continue;
      c->value = s;
      if (!(kan_expr_rmse (e, x, n_in, y, y_stride, n) <= rmse0 + max_rmse_increase))
        c->value = old;
    }
  g_ptr_array_unref (nums);

  e = kan_expr_simplify (e);
  prettify (e, max_den);
  return e;
}
