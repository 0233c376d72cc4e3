/* kan-terms.c — sparse regression on a library of terms (see kan-terms.h).
 *
 * The columns are the terms evaluated on up to SELECT_ROWS train rows, each scaled to unit
 * norm. A beam of BEAM sets of columns grows one column at a time; for each set it keeps, for
 * every column, the squared norm of the part of the column outside the set's span (PERP) and
 * its dot product with the residual (DOT), so the gain of adding column c is DOT²/PERP with no
 * pass over the rows; adding a column costs one pass (its orthonormal direction against every
 * column). Each set the beam keeps is refitted on all train rows (GSL's least squares) and
 * judged by its RMSE in y.
 */
#include "kan-terms.h"

#include <math.h>
#include <string.h>
#include <gsl/gsl_multifit.h>

#define SELECT_ROWS  240
#define BEAM         8
/* The first step keeps more single terms: the best one alone is often a stand-in. */
#define BEAM_FIRST   32
/* A column closer than this (squared sine) to the span of the chosen ones is not added. */
#define PERP_MIN     1e-7
/* Forward selection goes on to this many terms; backward elimination then takes terms out
 * one at a time (the one whose removal costs least), judging each size up to
 * KAN_TERMS_MAX_TERMS again. Greedy selection takes a product that stands in for a sum of two
 * terms (cos r·cos d for r² + d²); once the terms themselves are in, the stand-in goes. */
#define FORWARD_TERMS 8
/* complete_pairs: the columns it pairs, and the pairs it judges. */
#define POOL          80
#define GATE_SHARE    5e-2
#define WEIGHT_SPAN   10.0
#define PAIR_KEEP     4

typedef enum
{
  F_X, F_X2, F_X3, F_INV, F_INV2, F_SQRT, F_ISQRT, F_LOG, F_EXP, F_NEXP, F_SIN, F_COS, N_FUNCS
} Fn;

/* The functions used in products of three. */
static const gboolean IN_TRIPLE[N_FUNCS] = {
  [F_X] = TRUE, [F_X2] = TRUE, [F_INV] = TRUE, [F_INV2] = TRUE, [F_SQRT] = TRUE,
  [F_SIN] = TRUE, [F_COS] = TRUE,
};
/* … and in products of four (numerator terms only): q·B·v·sin θ, x1·x2·cos θ1·cos θ2 (a law
 * of cosines written out), d·r·cos α/q². No greedy path reaches them through their factors:
 * a factor of mean zero (sin θ over a period, q on [−1, 1]) makes every sub-product
 * uncorrelated with the whole. */
static const gboolean IN_QUAD[N_FUNCS] = {
  [F_X] = TRUE, [F_X2] = TRUE, [F_INV] = TRUE, [F_INV2] = TRUE, [F_SIN] = TRUE, [F_COS] = TRUE,
};

typedef enum { T_Y, T_INV, T_SQ, T_INVSQ, T_LOG, T_SIN, N_TRANSFORMS } Transform;
G_STATIC_ASSERT (N_TRANSFORMS == KAN_TERMS_N_TRANSFORMS);

static const char *const TRANSFORM_NAME[N_TRANSFORMS] = { "y", "1/y", "y^2", "1/y^2", "log|y|",
                                                              "sin(y)" };

typedef struct
{
  int      deg;
  int      var[4];
  Fn       fn[4];
  gboolean den;     /* a denominator term: its column is −t·term */
  gboolean sum;     /* deg 1: fn[0] (var[0]) + fn[0] (var[1]), one column for a symmetric pair
                     * (r² + d²), which neither term alone explains well enough to be chosen */
} Term;

static double
fn_eval (Fn f, double x)
{
  switch (f)
    {
    case F_X: return x;
    case F_X2: return x * x;
    case F_X3: return x * x * x;
    case F_INV: return 1.0 / x;
    case F_INV2: return 1.0 / (x * x);
    case F_SQRT: return x >= 0.0 ? sqrt (x) : NAN;
    case F_ISQRT: return x > 0.0 ? 1.0 / sqrt (x) : NAN;
    case F_LOG: return x > 0.0 ? log (x) : NAN;
    case F_EXP: return exp (x);
    case F_NEXP: return exp (-x);
    case F_SIN: return sin (x);
    case F_COS: return cos (x);
    case N_FUNCS: break;
    }
  return NAN;
}

static KanExpr *
fn_expr (Fn f, int var)
{
  KanExpr *x = kan_expr_var (var);

  switch (f)
    {
    case F_X: return x;
    case F_X2: return kan_expr_binary (KAN_EXPR_POW, x, kan_expr_num (2));
    case F_X3: return kan_expr_binary (KAN_EXPR_POW, x, kan_expr_num (3));
    case F_INV: return kan_expr_binary (KAN_EXPR_DIV, kan_expr_num (1), x);
    case F_INV2:
      return kan_expr_binary (KAN_EXPR_DIV, kan_expr_num (1),
                              kan_expr_binary (KAN_EXPR_POW, x, kan_expr_num (2)));
    case F_SQRT: return kan_expr_unary (KAN_EXPR_CALL, KAN_FUNC_SQRT, x);
    case F_ISQRT:
      return kan_expr_binary (KAN_EXPR_DIV, kan_expr_num (1),
                              kan_expr_unary (KAN_EXPR_CALL, KAN_FUNC_SQRT, x));
    case F_LOG: return kan_expr_unary (KAN_EXPR_CALL, KAN_FUNC_LOG, x);
    case F_EXP: return kan_expr_unary (KAN_EXPR_CALL, KAN_FUNC_EXP, x);
    case F_NEXP:
      return kan_expr_unary (KAN_EXPR_CALL, KAN_FUNC_EXP, kan_expr_unary (KAN_EXPR_NEG, 0, x));
    case F_SIN: return kan_expr_unary (KAN_EXPR_CALL, KAN_FUNC_SIN, x);
    case F_COS: return kan_expr_unary (KAN_EXPR_CALL, KAN_FUNC_COS, x);
    case N_FUNCS: break;
    }
  g_assert_not_reached ();
}

static double
term_eval (const Term *t, const double *row)
{
  double v = 1.0;

  if (t->sum)
    return fn_eval (t->fn[0], row[t->var[0]]) + fn_eval (t->fn[0], row[t->var[1]]);
  for (int k = 0; k < t->deg; k++)
    v *= fn_eval (t->fn[k], row[t->var[k]]);
  return v;
}

static KanExpr *
term_expr (const Term *t)
{
  KanExpr *e = fn_expr (t->fn[0], t->var[0]);

  if (t->sum)
    return kan_expr_binary (KAN_EXPR_ADD, e, fn_expr (t->fn[0], t->var[1]));
  for (int k = 1; k < t->deg; k++)
    e = kan_expr_binary (KAN_EXPR_MUL, e, fn_expr (t->fn[k], t->var[k]));
  return e;
}

/* Whether F is finite on input I of every row of X (N rows). */
static gboolean
fn_defined (Fn f, const double *x, size_t n, int n_in, int i)
{
  for (size_t q = 0; q < n; q++)
    if (!isfinite (fn_eval (f, x[q * n_in + i])))
      return FALSE;
  return TRUE;
}

static double
transform (Transform tr, double y)
{
  switch (tr)
    {
    case T_Y: return y;
    case T_INV: return 1.0 / y;
    case T_SQ: return y * y;
    case T_INVSQ: return 1.0 / (y * y);
    case T_LOG: return log (fabs (y));
    /* Only where sin is one-to-one: then y = asin(r). */
    case T_SIN: return fabs (y) <= M_PI_2 ? sin (y) : NAN;
    case N_TRANSFORMS: break;
    }
  return NAN;
}

static double
untransform (Transform tr, double r, double sign)
{
  switch (tr)
    {
    case T_Y: return r;
    case T_INV: return 1.0 / r;
    case T_SQ: return r >= 0.0 ? sign * sqrt (r) : NAN;
    case T_INVSQ: return r > 0.0 ? sign / sqrt (r) : NAN;
    case T_LOG: return sign * exp (r);
    case T_SIN: return asin (r);
    case N_TRANSFORMS: break;
    }
  return NAN;
}

/* 1/|T'(y)|, scaled by nothing: only ratios between rows matter. */
static double
weight (Transform tr, double y)
{
  double a = fabs (y);

  switch (tr)
    {
    case T_Y: return 1.0;
    case T_INV: return a * a;
    case T_SQ: return 1.0 / (2.0 * a);
    case T_INVSQ: return a * a * a / 2.0;
    case T_LOG: return a;
    case T_SIN: return 1.0 / MAX (cos (y), 1e-3);
    case N_TRANSFORMS: break;
    }
  return 1.0;
}

static KanExpr *
untransform_expr (Transform tr, KanExpr *r, double sign)
{
  KanExpr *s = kan_expr_num (sign);

  switch (tr)
    {
    case T_Y:
      kan_expr_free (s);
      return r;
    case T_INV:
      kan_expr_free (s);
      return kan_expr_binary (KAN_EXPR_DIV, kan_expr_num (1), r);
    case T_SQ:
      return kan_expr_binary (KAN_EXPR_MUL, s, kan_expr_unary (KAN_EXPR_CALL, KAN_FUNC_SQRT, r));
    case T_INVSQ:
      return kan_expr_binary (KAN_EXPR_DIV, s, kan_expr_unary (KAN_EXPR_CALL, KAN_FUNC_SQRT, r));
    case T_LOG:
      return kan_expr_binary (KAN_EXPR_MUL, s, kan_expr_unary (KAN_EXPR_CALL, KAN_FUNC_EXP, r));
    case T_SIN:
      kan_expr_free (s);
      return kan_expr_unary (KAN_EXPR_CALL, KAN_FUNC_ASIN, r);
    case N_TRANSFORMS: break;
    }
  g_assert_not_reached ();
}

/* The library of terms for N_IN inputs: numerator terms, then those of up to three factors
 * again as denominator terms (*OUT_N_NUM receives the number of numerator terms). */
static GArray *
make_terms (const double *x, size_t n, const double *xt, size_t nt, int n_in, guint *out_n_num)
{
  GArray *terms = g_array_new (FALSE, FALSE, sizeof (Term));
  gboolean ok[KAN_TERMS_MAX_INPUTS][N_FUNCS];
  guint n_num, n_den;

  for (int i = 0; i < n_in; i++)
    for (int f = 0; f < N_FUNCS; f++)
      ok[i][f] = fn_defined (f, x, n, n_in, i) && fn_defined (f, xt, nt, n_in, i);
  for (int i = 0; i < n_in; i++)
    for (int f = 0; f < N_FUNCS; f++)
      if (ok[i][f])
        g_array_append_val (terms, ((Term) { 1, { i }, { f }, FALSE }));
  for (int i = 0; i < n_in; i++)
    for (int j = i + 1; j < n_in; j++)
      for (int f = 0; f < N_FUNCS; f++)
        if (ok[i][f] && ok[j][f])
          g_array_append_val (terms, ((Term) { 1, { i, j }, { f }, FALSE, TRUE }));
  for (int i = 0; i < n_in; i++)
    for (int j = i + 1; j < n_in; j++)
      for (int f = 0; f < N_FUNCS; f++)
        for (int g = 0; g < N_FUNCS; g++)
          if (ok[i][f] && ok[j][g])
            g_array_append_val (terms, ((Term) { 2, { i, j }, { f, g }, FALSE }));
  if (n_in <= KAN_TERMS_MAX_TRIPLE_INPUTS)
    for (int i = 0; i < n_in; i++)
      for (int j = i + 1; j < n_in; j++)
        for (int k = j + 1; k < n_in; k++)
          for (int f = 0; f < N_FUNCS; f++)
            for (int g = 0; g < N_FUNCS; g++)
              for (int h = 0; h < N_FUNCS; h++)
                if (IN_TRIPLE[f] && IN_TRIPLE[g] && IN_TRIPLE[h] && ok[i][f] && ok[j][g]
                    && ok[k][h])
                  g_array_append_val (terms, ((Term) { 3, { i, j, k }, { f, g, h }, FALSE }));
  /* Denominator terms go up to products of three: the quotient's columns are twice the
   * library already. */
  n_den = terms->len;
  if (n_in <= KAN_TERMS_MAX_QUAD_INPUTS)
    for (int i = 0; i < n_in; i++)
      for (int j = i + 1; j < n_in; j++)
        for (int k = j + 1; k < n_in; k++)
          for (int l = k + 1; l < n_in; l++)
            for (int f = 0; f < N_FUNCS; f++)
              for (int g = 0; g < N_FUNCS; g++)
                for (int h = 0; h < N_FUNCS; h++)
                  for (int e = 0; e < N_FUNCS; e++)
                    if (IN_QUAD[f] && IN_QUAD[g] && IN_QUAD[h] && IN_QUAD[e] && ok[i][f]
                        && ok[j][g] && ok[k][h] && ok[l][e])
                      g_array_append_val (terms, ((Term) { 4, { i, j, k, l }, { f, g, h, e },
                                                           FALSE }));
  n_num = terms->len;
  *out_n_num = n_num;
  for (guint c = 0; c < n_den; c++)
    {
      Term t = g_array_index (terms, Term, c);
      t.den = TRUE;
      g_array_append_val (terms, t);
    }
  return terms;
}

typedef struct
{
  int     k;
  int     cols[FORWARD_TERMS];
  double  rss;
  double *q;      /* SELECT_ROWS × (k + 1) orthonormal directions, the constant first */
  double *r;      /* residual */
  double *perp;   /* per column: squared norm outside the span */
  double *dot;    /* per column: dot product with the residual */
} State;

static void
state_free (State *s)
{
  if (s == NULL)
    return;
  g_free (s->q);
  g_free (s->r);
  g_free (s->perp);
  g_free (s->dot);
  g_free (s);
}

typedef struct
{
  const double *a;      /* m × n_cols, column-major, unit columns (NaN columns are zero) */
  size_t        m;
  guint         n_cols;
} Cols;

/* Four sums, so the compiler can keep them in vector lanes (the order is fixed: the same
 * bits every run). */
static double
dot (const double *a, const double *b, size_t m)
{
  double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
  size_t i = 0;

  for (; i + 4 <= m; i += 4)
    {
      s0 += a[i] * b[i];
      s1 += a[i + 1] * b[i + 1];
      s2 += a[i + 2] * b[i + 2];
      s3 += a[i + 3] * b[i + 3];
    }
  for (; i < m; i++)
    s0 += a[i] * b[i];
  return (s0 + s1) + (s2 + s3);
}

/* V (M rows) minus its projections on the N orthonormal columns Q, one after another. */
static void
orthogonalise (double *v, const double *q, int n, size_t m)
{
  for (int j = 0; j < n; j++)
    {
      const double *qj = q + (size_t) j * m;
      double d = dot (qj, v, m);
      for (size_t i = 0; i < m; i++)
        v[i] -= d * qj[i];
    }
}

/* A child of P with column C added; NULL if C is too close to P's span. */
static State *
state_add (const Cols *A, const State *p, int c, gboolean scores)
{
  size_t m = A->m;
  const double *ac = A->a + (size_t) c * m;
  g_autofree double *v = g_memdup2 (ac, m * sizeof (double));
  State *s;
  double nrm = 0.0, rq = 0.0;

  /* Two passes of Gram–Schmidt. */
  orthogonalise (v, p->q, p->k + 1, m);
  orthogonalise (v, p->q, p->k + 1, m);
  for (size_t i = 0; i < m; i++)
    nrm += v[i] * v[i];
  if (!(nrm > PERP_MIN))
    return NULL;
  nrm = sqrt (nrm);
  for (size_t i = 0; i < m; i++)
    v[i] /= nrm;

  s = g_new0 (State, 1);
  s->k = p->k + 1;
  memcpy (s->cols, p->cols, p->k * sizeof (int));
  s->cols[p->k] = c;
  s->q = g_new (double, m * (s->k + 1));
  memcpy (s->q, p->q, m * (p->k + 1) * sizeof (double));
  memcpy (s->q + m * (p->k + 1), v, m * sizeof (double));
  for (size_t i = 0; i < m; i++)
    rq += p->r[i] * v[i];
  s->r = g_new (double, m);
  s->rss = 0.0;
  for (size_t i = 0; i < m; i++)
    {
      s->r[i] = p->r[i] - rq * v[i];
      s->rss += s->r[i] * s->r[i];
    }
  if (!scores)
    return s;
  s->perp = g_new (double, A->n_cols);
  s->dot = g_new (double, A->n_cols);
  for (guint j = 0; j < A->n_cols; j++)
    {
      double pj = dot (A->a + (size_t) j * m, v, m);
      s->perp[j] = p->perp[j] - pj * pj;
      s->dot[j] = p->dot[j] - rq * pj;
    }
  return s;
}

typedef struct
{
  int    parent;
  int    col;
  double rss;
} Child;

static int
cmp_child (const void *a, const void *b)
{
  const Child *x = a, *y = b;
  return (x->rss > y->rss) - (x->rss < y->rss);
}

static int
cmp_double (const void *a, const void *b)
{
  return (*(const double *) a > *(const double *) b) - (*(const double *) a < *(const double *) b);
}

static int
cmp_int (const void *a, const void *b)
{
  return (*(const int *) a > *(const int *) b) - (*(const int *) a < *(const int *) b);
}

/* Whether the set P + C equals a set already in KEPT (order aside). */
static gboolean
same_set (GPtrArray *kept, const State *p, int c)
{
  int a[FORWARD_TERMS], k = p->k + 1;

  memcpy (a, p->cols, p->k * sizeof (int));
  a[p->k] = c;
  qsort (a, k, sizeof (int), cmp_int);
  for (guint s = 0; s < kept->len; s++)
    {
      const State *o = kept->pdata[s];
      int b[FORWARD_TERMS];
      if (o->k != k)
        continue;
      memcpy (b, o->cols, k * sizeof (int));
      qsort (b, k, sizeof (int), cmp_int);
      if (memcmp (a, b, k * sizeof (int)) == 0)
        return TRUE;
    }
  return FALSE;
}

/* The set COLS (K columns) built from ROOT, without per-column sums (its residual only). */
static State *
state_build (const Cols *A, const State *root, const int *cols, int k)
{
  State *s = NULL;
  const State *p = root;

  for (int u = 0; u < k; u++)
    {
      State *next = state_add (A, p, cols[u], FALSE);
      if (s)
        state_free (s);
      if (next == NULL)
        return NULL;
      s = next;
      p = s;
    }
  return s;
}

/* Refits the set S on all N train rows (targets T, transform TR) and returns its expression
 * with *REL its RMSE in y over SD; NULL if the fit fails or is not finite. */
static KanExpr *
refit (const State *s, const Term *terms, const double *x, int n_in, const double *y,
       const double *t, const double *wt, size_t n, Transform tr, double sign, double sd,
       double *rel)
{
  int p = s->k + 1;
  gsl_matrix *X = gsl_matrix_alloc (n, p), *cov = gsl_matrix_alloc (p, p);
  gsl_vector *yv = gsl_vector_alloc (n), *c = gsl_vector_alloc (p), *wv = gsl_vector_alloc (n);
  gsl_multifit_linear_workspace *w = gsl_multifit_linear_alloc (n, p);
  KanExpr *num = NULL, *den = NULL, *e = NULL;
  double chisq, sum = 0.0;
  gboolean fine = TRUE;

  for (size_t q = 0; q < n; q++)
    {
      const double *row = x + q * n_in;
      gsl_matrix_set (X, q, 0, 1.0);
      gsl_vector_set (yv, q, t[q]);
      gsl_vector_set (wv, q, wt[q] * wt[q]);
      for (int k = 0; k < s->k; k++)
        {
          const Term *tm = &terms[s->cols[k]];
          double v = term_eval (tm, row) * (tm->den ? -t[q] : 1.0);
          fine = fine && isfinite (v);
          gsl_matrix_set (X, q, k + 1, v);
        }
    }
  if (fine && gsl_multifit_wlinear (X, wv, yv, c, cov, &chisq, w) == GSL_SUCCESS)
    {
      num = kan_expr_num (gsl_vector_get (c, 0));
      for (int k = 0; k < s->k; k++)
        {
          const Term *tm = &terms[s->cols[k]];
          KanExpr *term = kan_expr_binary (KAN_EXPR_MUL, kan_expr_num (gsl_vector_get (c, k + 1)),
                                           term_expr (tm));
          if (tm->den)
            den = den ? kan_expr_binary (KAN_EXPR_ADD, den, term) : term;
          else
            num = kan_expr_binary (KAN_EXPR_ADD, num, term);
        }
      if (den)
        num = kan_expr_binary (KAN_EXPR_DIV, num,
                               kan_expr_binary (KAN_EXPR_ADD, kan_expr_num (1), den));
      e = untransform_expr (tr, num, sign);
      for (size_t q = 0; q < n && isfinite (sum); q++)
        {
          double nu = gsl_vector_get (c, 0), de = 1.0, v;
          for (int k = 0; k < s->k; k++)
            {
              const Term *tm = &terms[s->cols[k]];
              double tv = gsl_vector_get (c, k + 1) * term_eval (tm, x + q * n_in);
              if (tm->den)
                de += tv;
              else
                nu += tv;
            }
          v = untransform (tr, nu / de, sign) - y[q];
          sum += v * v;
        }
      *rel = sqrt (sum / n) / sd;
      if (!isfinite (*rel))
        {
          kan_expr_free (e);
          e = NULL;
        }
    }
  gsl_multifit_linear_free (w);
  gsl_matrix_free (X);
  gsl_matrix_free (cov);
  gsl_vector_free (yv);
  gsl_vector_free (wv);
  gsl_vector_free (c);
  return e;
}

typedef struct
{
  const Term   *terms;
  const double *x, *y, *t, *w;
  int           n_in;
  size_t        n;
  Transform     tr;
  double        sign, sd, tol;
  double        gate;   /* a set whose residual on the selection rows is above is not refitted */
  KanTermsFit  *front;  /* [k − 1]: this transform's lowest RMSE of k terms so far */
  int          *exact;  /* the fewest terms within TOL so far, 0 for none */
} Judge;

/* Refits S on all rows; keeps it in J->front if its RMSE is the lowest of its size so far,
 * and notes in J->exact when it is within the tolerance with fewer terms. */
static void
judge (const Judge *j, const State *s)
{
  double rel = HUGE_VAL;
  KanTermsFit *f;
  KanExpr *e;

  if (s->k < 1 || s->k > KAN_TERMS_MAX_TERMS || (*j->exact && s->k > *j->exact)
      || !(s->rss <= j->gate))
    return;
  e = refit (s, j->terms, j->x, j->n_in, j->y, j->t, j->w, j->n, j->tr, j->sign, j->sd, &rel);
  if (e == NULL)
    return;
  f = &j->front[s->k - 1];
  if (f->expr && !(rel < f->rel_rmse))
    {
      kan_expr_free (e);
      return;
    }
  kan_terms_fit_clear (f);
  *f = (KanTermsFit) { e, rel, s->k,
                       g_strdup_printf ("%s as %d term%s", TRANSFORM_NAME[j->tr], s->k,
                                        s->k == 1 ? "" : "s") };
  if (rel <= j->tol && (*j->exact == 0 || s->k < *j->exact))
    *j->exact = s->k;
}

/* Backward elimination from S (see FORWARD_TERMS), judging each size. */
static void
eliminate (const Cols *A, const State *root, const State *s, const Judge *j)
{
  int cols[FORWARD_TERMS], k = s->k;

  memcpy (cols, s->cols, k * sizeof (int));
  while (k > 1)
    {
      int drop = -1;
      double best_rss = HUGE_VAL;
      State *kept = NULL;
      for (int u = 0; u < k; u++)
        {
          int rest[FORWARD_TERMS], n_rest = 0;
          State *r;
          for (int v = 0; v < k; v++)
            if (v != u)
              rest[n_rest++] = cols[v];
          r = state_build (A, root, rest, n_rest);
          if (r && r->rss < best_rss)
            {
              best_rss = r->rss;
              drop = u;
              state_free (kept);
              kept = r;
            }
          else
            state_free (r);
        }
      if (drop < 0)
        return;
      memmove (cols + drop, cols + drop + 1, (k - drop - 1) * sizeof (int));
      k--;
      judge (j, kept);
      state_free (kept);
    }
}

/* Adds to S the best PAIR_KEEP pairs of columns (among the POOL columns below N_CAND that
 * lower its residual most alone) and judges each: two terms that only together explain the
 * residual (r² + d², where either alone is beaten by a product standing in for both). */
static void
complete_pairs (const Cols *A, const State *root, const State *s, guint n_cand, const Judge *j)
{
  size_t m = A->m;
  Child pool[POOL];
  int n_pool = 0;
  g_autofree double *v = NULL, *gram = NULL;
  Child best[PAIR_KEEP];
  int n_best = 0;

  if (s->k + 2 > KAN_TERMS_MAX_TERMS || (*j->exact && s->k + 2 > *j->exact))
    return;
  for (guint c = 0; c < n_cand; c++)
    {
      gboolean used = FALSE;
      double g;
      for (int u = 0; u < s->k; u++)
        used = used || s->cols[u] == (int) c;
      if (used || !(s->perp[c] > PERP_MIN))
        continue;
      /* Kept as the largest gains: rss holds the gain here. */
      g = s->dot[c] * s->dot[c] / s->perp[c];
      if (n_pool < POOL || g > pool[n_pool - 1].rss)
        {
          int at = n_pool < POOL ? n_pool++ : POOL - 1;
          pool[at] = (Child) { 0, c, g };
          while (at > 0 && pool[at].rss > pool[at - 1].rss)
            {
              Child tmp = pool[at];
              pool[at] = pool[at - 1];
              pool[at - 1] = tmp;
              at--;
            }
        }
    }
  if (n_pool < 2)
    return;
  v = g_new (double, m * n_pool);
  gram = g_new (double, n_pool * n_pool);
  for (int a = 0; a < n_pool; a++)
    {
      double *va = v + (size_t) a * m;
      memcpy (va, A->a + (size_t) pool[a].col * m, m * sizeof (double));
      orthogonalise (va, s->q, s->k + 1, m);
    }
  for (int a = 0; a < n_pool; a++)
    for (int b = a; b < n_pool; b++)
      {
        double d = dot (v + (size_t) a * m, v + (size_t) b * m, m);
        gram[a * n_pool + b] = gram[b * n_pool + a] = d;
      }
  for (int a = 0; a < n_pool; a++)
    for (int b = a + 1; b < n_pool; b++)
      {
        double gaa = gram[a * n_pool + a], gbb = gram[b * n_pool + b],
               gab = gram[a * n_pool + b], det = gaa * gbb - gab * gab,
               da = s->dot[pool[a].col], db = s->dot[pool[b].col], gain;
        if (!(det > PERP_MIN * gaa * gbb))
          continue;
        gain = (gbb * da * da - 2.0 * gab * da * db + gaa * db * db) / det;
        if (n_best < PAIR_KEEP || gain > best[n_best - 1].rss)
          {
            int at = n_best < PAIR_KEEP ? n_best++ : PAIR_KEEP - 1;
            best[at] = (Child) { pool[a].col, pool[b].col, gain };
            while (at > 0 && best[at].rss > best[at - 1].rss)
              {
                Child tmp = best[at];
                best[at] = best[at - 1];
                best[at - 1] = tmp;
                at--;
              }
          }
      }
  /* Triples from the constant alone: the same pool, 3 × 3 systems. */
  if (s->k == 0 && !(*j->exact && 3 > *j->exact))
    {
      int tri[PAIR_KEEP][3], n_tri = 0;
      double tri_gain[PAIR_KEEP];
      for (int a = 0; a < n_pool; a++)
        for (int b = a + 1; b < n_pool; b++)
          for (int c = b + 1; c < n_pool; c++)
            {
              const int ix[3] = { a, b, c };
              double G[3][3], d[3], L[3][3], z[3], gain = 0.0;
              gboolean ok = TRUE;
              for (int u = 0; u < 3; u++)
                {
                  d[u] = s->dot[pool[ix[u]].col];
                  for (int w = 0; w < 3; w++)
                    G[u][w] = gram[ix[u] * n_pool + ix[w]];
                }
              /* Cholesky: gain = |L⁻¹ d|². */
              for (int u = 0; u < 3 && ok; u++)
                {
                  for (int w = 0; w <= u; w++)
                    {
                      double sum = G[u][w];
                      for (int v2 = 0; v2 < w; v2++)
                        sum -= L[u][v2] * L[w][v2];
                      if (u == w)
                        {
                          ok = sum > PERP_MIN * G[u][u];
                          L[u][u] = ok ? sqrt (sum) : 1.0;
                        }
                      else
                        L[u][w] = sum / L[w][w];
                    }
                }
              if (!ok)
                continue;
              for (int u = 0; u < 3; u++)
                {
                  double sum = d[u];
                  for (int w = 0; w < u; w++)
                    sum -= L[u][w] * z[w];
                  z[u] = sum / L[u][u];
                  gain += z[u] * z[u];
                }
              if (n_tri < PAIR_KEEP || gain > tri_gain[n_tri - 1])
                {
                  int at = n_tri < PAIR_KEEP ? n_tri++ : PAIR_KEEP - 1;
                  tri_gain[at] = gain;
                  for (int u = 0; u < 3; u++)
                    tri[at][u] = pool[ix[u]].col;
                  while (at > 0 && tri_gain[at] > tri_gain[at - 1])
                    {
                      double tg = tri_gain[at];
                      int tt[3];
                      memcpy (tt, tri[at], sizeof tt);
                      tri_gain[at] = tri_gain[at - 1];
                      memcpy (tri[at], tri[at - 1], sizeof tt);
                      tri_gain[at - 1] = tg;
                      memcpy (tri[at - 1], tt, sizeof tt);
                      at--;
                    }
                }
            }
      for (int q = 0; q < n_tri; q++)
        {
          int cols[FORWARD_TERMS], k = s->k;
          State *t3;
          memcpy (cols, s->cols, k * sizeof (int));
          memcpy (cols + k, tri[q], 3 * sizeof (int));
          t3 = state_build (A, root, cols, k + 3);
          if (t3)
            judge (j, t3);
          state_free (t3);
        }
    }
  for (int q = 0; q < n_best; q++)
    {
      State *s1 = state_add (A, s, best[q].parent, FALSE), *s2;
      if (s1 == NULL)
        continue;
      s2 = state_add (A, s1, best[q].col, FALSE);
      if (s2)
        judge (j, s2);
      state_free (s1);
      state_free (s2);
    }
}

void
kan_terms_fit_clear (KanTermsFit *f)
{
  kan_expr_free (f->expr);
  g_free (f->what);
  memset (f, 0, sizeof *f);
}

int
kan_terms_front (const double *x, int n_in, const double *y, size_t n, const double *x_test,
                 size_t n_test, double tol, GCancellable *cancellable,
                 KanTermsFront *front)
{
  g_autoptr (GArray) terms = NULL;
  g_autofree double *a = NULL, *t = NULL, *tsel = NULL, *raw = NULL, *wt = NULL;
  size_t m;
  guint n_num = 0;
  double mean = 0.0, sd = 0.0, sign;
  gboolean one_sign = TRUE;
  int exact = 0;

  g_return_val_if_fail (front != NULL, 0);
  memset (front, 0, sizeof *front);
  if (n_in < 1 || n_in > KAN_TERMS_MAX_INPUTS || n < 4 * (KAN_TERMS_MAX_TERMS + 1))
    return 0;
  for (size_t q = 0; q < n; q++)
    {
      if (!isfinite (y[q]))
        return 0;
      mean += y[q];
      one_sign = one_sign && y[q] != 0.0 && (y[q] > 0.0) == (y[0] > 0.0);
    }
  mean /= n;
  for (size_t q = 0; q < n; q++)
    sd += (y[q] - mean) * (y[q] - mean);
  sd = sqrt (sd / n);
  if (!(sd > 0.0))
    return 0;
  sign = y[0] > 0.0 ? 1.0 : -1.0;

  terms = make_terms (x, n, x_test, n_test, n_in, &n_num);
  m = MIN (n, SELECT_ROWS);
  a = g_new (double, m * terms->len);
  t = g_new (double, n);
  tsel = g_new (double, m);
  wt = g_new (double, n);

  /* The terms on the selection rows, once: products of the functions' values. */
  raw = g_new (double, m * MAX (n_num, 1));
  {
    g_autofree double *u = g_new (double, m * n_in * N_FUNCS);
    for (size_t i = 0; i < m; i++)
      for (int v = 0; v < n_in; v++)
        for (int f = 0; f < N_FUNCS; f++)
          u[(i * n_in + v) * N_FUNCS + f] = fn_eval (f, x[(i * n / m) * n_in + v]);
    for (guint c = 0; c < n_num; c++)
      {
        const Term *tm = &g_array_index (terms, Term, c);
        for (size_t i = 0; i < m; i++)
          {
            double w = 1.0;
            if (tm->sum)
              w = u[(i * n_in + tm->var[0]) * N_FUNCS + tm->fn[0]]
                  + u[(i * n_in + tm->var[1]) * N_FUNCS + tm->fn[0]];
            else
              for (int k = 0; k < tm->deg; k++)
                w *= u[(i * n_in + tm->var[k]) * N_FUNCS + tm->fn[k]];
            raw[(size_t) c * m + i] = w;
          }
      }
  }

  for (int tr = 0; tr < N_TRANSFORMS; tr++)
    {
      Cols A = { a, m, terms->len };
      gboolean fine = TRUE;

      if (tr != T_Y && tr != T_SIN && !one_sign)
        continue;
      for (size_t q = 0; q < n; q++)
        {
          t[q] = transform (tr, y[q]);
          fine = fine && isfinite (t[q]);
        }
      if (!fine)
        continue;
      /* Rows weighed by 1/|T'(y)| in the refits, so that noise in y weighs alike in t (delta
       * method). */
      {
        /* Clamped to a factor WEIGHT_SPAN of the median: a few rows must not decide alone. */
        g_autofree double *sorted = g_new (double, n);
        double med;
        for (size_t q = 0; q < n; q++)
          sorted[q] = wt[q] = weight (tr, y[q]);
        qsort (sorted, n, sizeof (double), cmp_double);
        med = sorted[n / 2];
        for (size_t q = 0; q < n; q++)
          wt[q] = med > 0.0 && isfinite (med) ? CLAMP (wt[q] / med, 1.0 / WEIGHT_SPAN, WEIGHT_SPAN)
                                              : 1.0;
      }
      /* The selection itself is unweighted: weights reorder the greedy path, and exact fits
       * then go unfound; they serve the refits, which decide. */
      for (size_t i = 0; i < m; i++)
        tsel[i] = t[i * n / m];
      /* The columns, unit norm. */
      for (guint c = 0; c < terms->len; c++)
        {
          const Term *tm = &g_array_index (terms, Term, c);
          const double *src = raw + (size_t) (tm->den ? c - n_num : c) * m;
          double *col = a + (size_t) c * m, nrm = 0.0;
          for (size_t i = 0; i < m; i++)
            {
              col[i] = tm->den ? -tsel[i] * src[i] : src[i];
              nrm += col[i] * col[i];
            }
          nrm = sqrt (nrm);
          for (size_t i = 0; i < m; i++)
            col[i] = isfinite (nrm) && nrm > 0.0 ? col[i] / nrm : 0.0;
        }
      if (g_cancellable_is_cancelled (cancellable))
        break;

      /* Sums of numerator terms alone, then quotients: the denominator's columns contain t
       * and would crowd the beam out of sums. */
      for (int quotient = 0; quotient < 2; quotient++)
      {
      guint n_cand = quotient ? terms->len : n_num;
      g_autoptr (GPtrArray) beam = g_ptr_array_new_with_free_func ((GDestroyNotify) state_free);
      Judge J = { (const Term *) terms->data, x, y, t, wt, n_in, n, tr, sign, sd, tol, 0.0,
                  front->fit[tr], &exact };
      State *root;

      root = g_new0 (State, 1);
      root->q = g_new (double, m);
      root->r = g_new (double, m);
      root->perp = g_new (double, terms->len);
      root->dot = g_new (double, terms->len);
      {
        /* The constant's direction first, and the residual outside it. */
        double tq = 0.0;
        for (size_t i = 0; i < m; i++)
          {
            root->q[i] = 1.0 / sqrt ((double) m);
            tq += tsel[i] * root->q[i];
          }
        for (size_t i = 0; i < m; i++)
          {
            root->r[i] = tsel[i] - tq * root->q[i];
            root->rss += root->r[i] * root->r[i];
          }
      }
      for (guint c = 0; c < terms->len; c++)
        {
          const double *col = a + (size_t) c * m;
          double p0 = 0.0, d = 0.0;
          for (size_t i = 0; i < m; i++)
            {
              p0 += col[i] * root->q[i];
              d += col[i] * root->r[i];
            }
          root->perp[c] = 1.0 - p0 * p0;
          root->dot[c] = d;
        }
      g_ptr_array_add (beam, root);
      /* Relative to t's own spread: a set that leaves GATE_SHARE of it unexplained is far from
       * the tolerance in y. */
      J.gate = MAX (GATE_SHARE, 100.0 * tol * tol) * root->rss;

      complete_pairs (&A, root, root, n_cand, &J);
      for (int k = 1; k <= FORWARD_TERMS && beam->len > 0; k++)
        {
          g_autoptr (GArray) kids = g_array_new (FALSE, FALSE, sizeof (Child));
          GPtrArray *next = g_ptr_array_new_with_free_func ((GDestroyNotify) state_free);

          for (guint b = 0; b < beam->len; b++)
            {
              const State *p = beam->pdata[b];
              Child top[BEAM_FIRST];
              int n_top = 0, width = k == 1 ? BEAM_FIRST : BEAM;
              for (guint c = 0; c < n_cand; c++)
                {
                  double g;
                  gboolean used = FALSE;
                  for (int u = 0; u < p->k; u++)
                    used = used || p->cols[u] == (int) c;
                  if (used || !(p->perp[c] > PERP_MIN))
                    continue;
                  g = p->dot[c] * p->dot[c] / p->perp[c];
                  if (n_top < width || p->rss - g < top[n_top - 1].rss)
                    {
                      int at = n_top < width ? n_top++ : width - 1;
                      top[at] = (Child) { b, c, p->rss - g };
                      while (at > 0 && top[at].rss < top[at - 1].rss)
                        {
                          Child tmp = top[at];
                          top[at] = top[at - 1];
                          top[at - 1] = tmp;
                          at--;
                        }
                    }
                }
              g_array_append_vals (kids, top, n_top);
            }
          g_array_sort (kids, cmp_child);
          for (guint q = 0; q < kids->len
                            && next->len < (guint) (k == 1 ? BEAM_FIRST
                                                    : k <= KAN_TERMS_MAX_TERMS ? BEAM : 2);
               q++)
            {
              Child *ch = &g_array_index (kids, Child, q);
              State *s;
              if (same_set (next, beam->pdata[ch->parent], ch->col))
                continue;
              s = state_add (&A, beam->pdata[ch->parent], ch->col, TRUE);
              if (s)
                g_ptr_array_add (next, s);
            }
          if (k == 1)
            g_ptr_array_steal_index (beam, 0);   /* the root, kept for eliminate */
          g_ptr_array_unref (beam);
          beam = next;
          if (g_cancellable_is_cancelled (cancellable))
            break;
          for (guint b = 0; b < beam->len; b++)
            judge (&J, beam->pdata[b]);
          if (exact && exact <= k)
            break;
          for (guint b = 0; b < beam->len; b++)
            complete_pairs (&A, root, beam->pdata[b], n_cand, &J);
        }
      /* From the largest sets the forward pass reached (FORWARD_TERMS, or the size where a fit
       * was found, whose small stray terms then go), take terms out again. */
      for (guint b = 0; b < beam->len && !g_cancellable_is_cancelled (cancellable); b++)
        eliminate (&A, root, beam->pdata[b], &J);
      if (beam->len > 0 && beam->pdata[0] == root)
        g_ptr_array_steal_index (beam, 0);
      state_free (root);
      }
    }
  if (g_cancellable_is_cancelled (cancellable))
    {
      kan_terms_front_clear (front);
      return 0;
    }
  return exact;
}

void
kan_terms_front_clear (KanTermsFront *front)
{
  for (int tr = 0; tr < KAN_TERMS_N_TRANSFORMS; tr++)
    for (int k = 0; k < KAN_TERMS_MAX_TERMS; k++)
      kan_terms_fit_clear (&front->fit[tr][k]);
}

gboolean
kan_terms_fit (const double *x, int n_in, const double *y, size_t n, const double *x_test,
               size_t n_test, double tol, GCancellable *cancellable, KanTermsFit *out)
{
  g_autofree KanTermsFront *front = g_new0 (KanTermsFront, 1);
  KanTermsFit *pick = NULL;
  int k;

  g_return_val_if_fail (out != NULL, FALSE);
  memset (out, 0, sizeof *out);
  k = kan_terms_front (x, n_in, y, n, x_test, n_test, tol, cancellable, front);
  for (int tr = 0; tr < KAN_TERMS_N_TRANSFORMS && k > 0; tr++)
    {
      KanTermsFit *f = &front->fit[tr][k - 1];
      if (f->expr && f->rel_rmse <= tol && (pick == NULL || f->rel_rmse < pick->rel_rmse))
        pick = f;
    }
  if (pick)
    {
      *out = *pick;
      memset (pick, 0, sizeof *pick);
    }
  kan_terms_front_clear (front);
  return pick != NULL;
}
