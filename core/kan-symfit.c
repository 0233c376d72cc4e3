/* kan-symfit.c — fast fits of c·f(a·x+b)+d per library function, and pykan's ranking.
 *
 * See kan-symfit.h for the method. Everything here is single-threaded and allocation-free
 * after the one workspace a call sets up.
 */
#include "kan-symfit.h"
#include "kan-error.h"
#include "kan-symbolic.h"

#include <math.h>
#include <string.h>
#include <float.h>
#include <gsl/gsl_fit.h>

/* pykan's r2_loss_fun: log2(1 + R2_LOSS_FLOOR − r2). */
#define R2_LOSS_FLOOR 1e-5
/* Degenerate fits (KanSymFit.degenerate): sin/cos over less than this many radians, exp over
 * less than this much of its argument, bounded functions over less than this share of their
 * range. A genuine sin edge spans a good part of a period; 0.2 rad of sin is a line to 0.7 %. */
#define DEGENERATE_SPAN      0.2
#define DEGENERATE_EXP_SPAN  1e-2
#define DEGENERATE_COVER     1e-2

/* f(a·x+b) counts as constant (it cannot explain y) when its centred sum of squares is below
 * this fraction of its raw sum of squares: the same role as pykan's +1e-4 in the denominator,
 * but independent of the scale of y. */
#define CONSTANT_REL 1e-24

/* Levenberg–Marquardt: iteration caps on the search subsample and on all samples, the relative
 * decrease of the squared error that counts as converged, and the damping schedule. */
#define LM_ITER_SUB    40
#define LM_ITER_FULL   12
#define LM_RTOL        1e-7
#define LM_LAMBDA0     1e-3
#define LM_LAMBDA_MAX  1e12

/* Points per coordinate of the zoom sweeps of two-dimensional searches (after the first). */
#define GRID_ZOOM_2D 9

/* ------------------------------------------------------------------------------------------ */
/* How each function is searched                                                               */

typedef enum
{
  K_LINEAR,    /* x: no search, the regression is exact */
  K_ZERO,      /* 0: the constant mean(y) */
  K_SHIFT,     /* f(a(x−p)) ∝ f(±(x−p)): search the root p, a = ±1 */
  K_STEP,      /* sgn: the best split of the sorted samples, exactly */
  K_SCALE,     /* exp: e^b goes into c; search a, b = 0 */
  K_PERIODIC,  /* sin, cos: phase by regression on sin(a·x), cos(a·x); search a > 0 */
  K_WINDOW,    /* search the window [u_lo, u_hi] of a·x+b */
} Kind;

typedef struct
{
  const char *name;
  Kind        kind;
  gboolean    both_signs; /* K_SHIFT, K_WINDOW: a < 0 gives other shapes (no reflection) */
  double      warp;       /* K_WINDOW: u = warp·sinh(v) (0: u = v) … */
  double      u_max;      /* … for v with |u| ≤ u_max */
  gboolean    tabulate;   /* K_WINDOW: score the grid on a cubic Hermite table of f (costly f) */
} Method;

static const Method methods[] = {
  /* name         kind        both signs  warp   u_max           tabulate */
  { "x",          K_LINEAR,   FALSE,      0,     0,              FALSE },
  { "x^2",        K_SHIFT,    FALSE,      0,     0,              FALSE },
  { "x^3",        K_SHIFT,    FALSE,      0,     0,              FALSE },
  { "x^4",        K_SHIFT,    FALSE,      0,     0,              FALSE },
  { "x^5",        K_SHIFT,    FALSE,      0,     0,              FALSE },
  { "1/x",        K_SHIFT,    FALSE,      0,     0,              FALSE },
  { "1/x^2",      K_SHIFT,    FALSE,      0,     0,              FALSE },
  { "1/x^3",      K_SHIFT,    FALSE,      0,     0,              FALSE },
  { "1/x^4",      K_SHIFT,    FALSE,      0,     0,              FALSE },
  { "1/x^5",      K_SHIFT,    FALSE,      0,     0,              FALSE },
  { "abs",        K_SHIFT,    FALSE,      0,     0,              FALSE },
  /* Defined for u ≥ 0 only: the root may lie on either side of the data. */
  { "sqrt",       K_SHIFT,    TRUE,       0,     0,              FALSE },
  { "x^0.5",      K_SHIFT,    TRUE,       0,     0,              FALSE },
  { "x^1.5",      K_SHIFT,    TRUE,       0,     0,              FALSE },
  { "1/sqrt(x)",  K_SHIFT,    TRUE,       0,     0,              FALSE },
  { "1/x^0.5",    K_SHIFT,    TRUE,       0,     0,              FALSE },
  { "log",        K_SHIFT,    TRUE,       0,     0,              FALSE },
  { "sgn",        K_STEP,     FALSE,      0,     0,              FALSE },
  { "exp",        K_SCALE,    FALSE,      0,     0,              FALSE },
  { "sin",        K_PERIODIC, FALSE,      0,     0,              FALSE },
  { "cos",        K_PERIODIC, FALSE,      0,     0,              FALSE },
  { "0",          K_ZERO,     FALSE,      0,     0,              FALSE },
  /* Windows where the shapes live: beyond them the functions are flat, undefined or (tan)
   * repeat. The sinh warp keeps steps proportional to |u| for slowly saturating functions. */
  { "tan",        K_WINDOW,   FALSE,      0,     G_PI / 2 - 0.01, FALSE },
  { "tanh",       K_WINDOW,   FALSE,      1,     10,             TRUE },
  { "sigmoid",    K_WINDOW,   FALSE,      2,     20,             FALSE },
  { "arctan",     K_WINDOW,   FALSE,      1,     100,            TRUE },
  { "arcsin",     K_WINDOW,   FALSE,      0,     1,              FALSE },
  { "arccos",     K_WINDOW,   FALSE,      0,     1,              FALSE },
  { "arctanh",    K_WINDOW,   FALSE,      0,     1,              FALSE },
  { "gaussian",   K_WINDOW,   FALSE,      1,     6,              FALSE },
  { "cosh",       K_WINDOW,   FALSE,      1,     20,             TRUE },
  { "sinh",       K_WINDOW,   FALSE,      1,     20,             TRUE },
  { "besselj0",   K_WINDOW,   FALSE,      0,     20,             TRUE },
};

/* Functions added to the library later are searched like tanh, in both directions. */
static const Method method_default = { NULL, K_WINDOW, TRUE, 1.0, 10.0, FALSE };

static const Method *
method_of (int sym_id)
{
  const char *name = kan_sym_info (sym_id)->name;

  for (size_t i = 0; i < G_N_ELEMENTS (methods); i++)
    if (strcmp (methods[i].name, name) == 0)
      return &methods[i];
  return &method_default;
}

/* ------------------------------------------------------------------------------------------ */
/* Data prepared once per edge                                                                 */

typedef struct
{
  const KanSymFitParams *p;
  size_t  n;
  double *x, *y;           /* sorted by x */
  double  xmin, xmax, xc, w;
  double  ymean, syy, ymax;
  size_t  m;               /* the search subsample */
  double *xs, *ys, *ycs;   /* its x, y and y − mean */
  double  syys;
  double *u, *du;          /* work, n each */
  double  a_abs[2];        /* |a| range of searches restricted to a > 0 */
} Prep;

typedef struct
{
  double x, y;
} Pair;

static int
pair_cmp (const void *pa, const void *pb)
{
  double a = ((const Pair *) pa)->x, b = ((const Pair *) pb)->x;
  return (a > b) - (a < b);
}

static gboolean
check_params (const KanSymFitParams *p,
              GError               **error)
{
  if (!(p->a_range[0] < p->a_range[1]) || !(p->b_range[0] < p->b_range[1])
      || !isfinite (p->a_range[0]) || !isfinite (p->a_range[1])
      || !isfinite (p->b_range[0]) || !isfinite (p->b_range[1]))
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID,
                   "symbolic fit: a_range and b_range must be finite with lo < hi");
      return FALSE;
    }
  if (p->grid_number < 5 || p->iterations < 1 || p->subsample < 8)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID,
                   "symbolic fit: grid_number must be ≥ 5 (is %d), iterations ≥ 1 (is %d), "
                   "subsample ≥ 8 (is %d)", p->grid_number, p->iterations, p->subsample);
      return FALSE;
    }
  if (!(p->weight_simple >= 0 && p->weight_simple <= 1))
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID,
                   "symbolic fit: weight_simple must be in [0, 1] (is %g)", p->weight_simple);
      return FALSE;
    }
  if (!(p->zero_threshold >= 0) || isnan (p->zero_guard_r2))
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID,
                   "symbolic fit: zero_threshold must be ≥ 0 and zero_guard_r2 a number");
      return FALSE;
    }
  return TRUE;
}

static gboolean
prep_init (Prep                  *P,
           const double          *x,
           const double          *y,
           size_t                 n,
           const KanSymFitParams *p,
           GError               **error)
{
  memset (P, 0, sizeof *P);
  if (n < 4)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_DATA,
                   "symbolic fit needs at least 4 samples, got %zu", n);
      return FALSE;
    }
  for (size_t i = 0; i < n; i++)
    if (!isfinite (x[i]) || !isfinite (y[i]))
      {
        g_set_error (error, KAN_ERROR, KAN_ERROR_DATA,
                     "symbolic fit: sample %zu is not finite (x = %g, y = %g)", i, x[i], y[i]);
        return FALSE;
      }
  if (!check_params (p, error))
    return FALSE;

  size_t m = MIN (n, (size_t) p->subsample);
  P->p = p;
  P->n = n;
  P->m = m;
  /* One allocation: x, y, u, du, and xs, ys, ycs (room for all n, see below). */
  P->x = g_new (double, 7 * n);
  P->y = P->x + n;
  P->u = P->y + n;
  P->du = P->u + n;
  P->xs = P->du + n;
  P->ys = P->xs + n;
  P->ycs = P->ys + n;

  Pair *pairs = g_new (Pair, n);
  for (size_t i = 0; i < n; i++)
    pairs[i] = (Pair) { x[i], y[i] };
  qsort (pairs, n, sizeof *pairs, pair_cmp);
  for (size_t i = 0; i < n; i++)
    {
      P->x[i] = pairs[i].x;
      P->y[i] = pairs[i].y;
    }
  g_free (pairs);

  P->xmin = P->x[0];
  P->xmax = P->x[n - 1];
  P->xc = 0.5 * (P->xmin + P->xmax);
  P->w = P->xmax - P->xmin;

  double s = 0;
  for (size_t i = 0; i < n; i++)
    {
      s += P->y[i];
      P->ymax = MAX (P->ymax, fabs (P->y[i]));
    }
  P->ymean = s / n;
  for (size_t i = 0; i < n; i++)
    P->syy += (P->y[i] - P->ymean) * (P->y[i] - P->ymean);

  /* Evenly spaced in rank, first and last included so domain checks see the extremes. A
   * subsample that misses all the variation of y is no use for searching: then use all. */
  for (int pass = 0; pass < 2; pass++)
    {
      for (size_t k = 0; k < m; k++)
        {
          size_t i = m == n ? k : (size_t) llround ((double) k * (n - 1) / (m - 1));
          P->xs[k] = P->x[i];
          P->ys[k] = P->y[i];
        }
      double sm = 0;
      for (size_t k = 0; k < m; k++)
        sm += P->ys[k];
      sm /= m;
      P->syys = 0;
      for (size_t k = 0; k < m; k++)
        {
          P->ycs[k] = P->ys[k] - sm;
          P->syys += P->ycs[k] * P->ycs[k];
        }
      if (P->syys > 0 || P->syy == 0 || m == n)
        break;
      P->m = m = n;
    }

  double lo = p->a_range[0], hi = p->a_range[1];
  if (lo < 0 && hi > 0)
    {
      P->a_abs[0] = 0;
      P->a_abs[1] = MAX (-lo, hi);
    }
  else
    {
      P->a_abs[0] = MIN (fabs (lo), fabs (hi));
      P->a_abs[1] = MAX (fabs (lo), fabs (hi));
    }
  return TRUE;
}

static void
prep_clear (Prep *P)
{
  g_free (P->x);
}

/* ------------------------------------------------------------------------------------------ */
/* Scoring candidates                                                                          */

/* Squared Pearson correlation of U (M values) with the centred YC; 0 if U is not finite or is
 * constant. */
static double
corr2 (const double *u,
       const double *yc,
       double        syy,
       size_t        m)
{
  double su = 0, suu_raw = 0;

  for (size_t k = 0; k < m; k++)
    {
      su += u[k];
      suu_raw += u[k] * u[k];
    }
  if (!isfinite (su) || !isfinite (suu_raw))
    return 0.0;
  double mu = su / m, suu = 0, suy = 0;
  for (size_t k = 0; k < m; k++)
    {
      double du = u[k] - mu;
      suu += du * du;
      suy += du * yc[k];
    }
  if (!(suu > CONSTANT_REL * suu_raw) || syy <= 0)
    return 0.0;
  double r2 = suy * suy / (suu * syy);
  return isfinite (r2) ? MIN (r2, 1.0) : 0.0;
}

static double
score_ab (int           id,
          double        a,
          double        b,
          const double *x,
          const double *yc,
          double        syy,
          size_t        m,
          double       *u)
{
  for (size_t k = 0; k < m; k++)
    u[k] = kan_sym_eval (id, a * x[k] + b, 0.0, NULL);
  return corr2 (u, yc, syy, m);
}

/* Best phase for sin/cos at frequency A: regress y on sin(a·x), cos(a·x). Sets *B and returns
 * the squared correlation. */
static double
score_periodic (gboolean      is_cos,
                double        a,
                const double *x,
                const double *yc,
                double        syy,
                size_t        m,
                double       *b)
{
  double ss = 0, sc = 0, cc = 0, s_sum = 0, c_sum = 0, sy = 0, cy = 0;

  for (size_t k = 0; k < m; k++)
    {
      double s, c;
      sincos (a * x[k], &s, &c);
      s_sum += s; c_sum += c;
      ss += s * s; sc += s * c; cc += c * c;
      sy += s * yc[k]; cy += c * yc[k];
    }
  double raw = ss + cc;
  ss -= s_sum * s_sum / m;
  cc -= c_sum * c_sum / m;
  sc -= s_sum * c_sum / m;
  double det = ss * cc - sc * sc;
  if (!(det > CONSTANT_REL * raw * raw) || syy <= 0)
    return 0.0;
  double al = (cc * sy - sc * cy) / det, be = (ss * cy - sc * sy) / det;
  /* al·sin + be·cos = R·sin(a·x + atan2(be, al)) = R·cos(a·x + atan2(−al, be)). */
  *b = is_cos ? atan2 (-al, be) : atan2 (be, al);
  double r2 = (al * sy + be * cy) / syy;
  return isfinite (r2) ? CLAMP (r2, 0.0, 1.0) : 0.0;
}

/* ------------------------------------------------------------------------------------------ */
/* Grid searches with pykan's zoom                                                             */

/* f and f' at u0 + k·h, k = 0 … n−1, for cubic Hermite interpolation. */
typedef struct
{
  double  u0, h;
  int     n;
  double *f, *df;
} Table;

/* Table spacing: the Hermite error is about h^4/384 times the fourth derivative, below 1e-7
 * relative for the tabulated functions. */
#define TABLE_STEP 0.05

static void
table_init (Table  *T,
            int     id,
            double  u_max)
{
  T->h = TABLE_STEP;
  T->n = (int) ceil (2 * u_max / T->h) + 3;
  T->u0 = -u_max - T->h;
  T->f = g_new (double, 2 * T->n);
  T->df = T->f + T->n;
  for (int k = 0; k < T->n; k++)
    T->f[k] = kan_sym_eval (id, T->u0 + k * T->h, 0.0, &T->df[k]);
}

static inline double
table_eval (const Table *T,
            double       u)
{
  double t = (u - T->u0) / T->h;
  int k = (int) t;
  if (!(t >= 0) || k >= T->n - 1)
    return NAN;
  double s = t - k, s2 = s * s, s3 = s2 * s;
  return (2 * s3 - 3 * s2 + 1) * T->f[k] + (s3 - 2 * s2 + s) * T->h * T->df[k]
         + (-2 * s3 + 3 * s2) * T->f[k + 1] + (s3 - s2) * T->h * T->df[k + 1];
}

typedef struct
{
  const Prep   *P;
  int           id;
  const Method *meth;
  double        sign;   /* K_SHIFT */
  const Table  *table;  /* K_WINDOW with tabulate */
} Search;

/* Maps search coordinates V to (a, b); FALSE if the candidate is outside the allowed set. */
static gboolean
search_map (const Search *S,
            const double *v,
            double       *a,
            double       *b)
{
  const Prep *P = S->P;
  const KanSymFitParams *p = P->p;

  switch (S->meth->kind)
    {
    case K_SHIFT:
      {
        /* t ∈ (0,1) ↦ p over the whole line, densest over the data. */
        double root = P->xc + 0.5 * P->w * tan (G_PI * (v[0] - 0.5));
        *a = S->sign;
        *b = -S->sign * root;
        return isfinite (*b);
      }
    case K_SCALE:
      *a = v[0];
      *b = 0.0;
      return TRUE;
    case K_PERIODIC:
      *a = v[0];
      *b = 0.0;
      return v[0] > 0;
    case K_WINDOW:
      {
        double s = S->meth->warp;
        double lo = s > 0 ? s * sinh (v[0]) : v[0], hi = s > 0 ? s * sinh (v[1]) : v[1];
        *a = (hi - lo) / P->w;
        *b = lo - *a * P->xmin;
        if (*a == 0)
          return FALSE;
        if (!S->meth->both_signs)
          return *a > 0 && *a >= P->a_abs[0] && *a <= P->a_abs[1]
                 && *b >= p->b_range[0] && *b <= p->b_range[1];
        return *a >= p->a_range[0] && *a <= p->a_range[1]
               && *b >= p->b_range[0] && *b <= p->b_range[1];
      }
    default:
      g_assert_not_reached ();
    }
}

static double
search_score (const Search *S,
              const double *v,
              double       *a,
              double       *b,
              double       *work)
{
  const Prep *P = S->P;

  if (!search_map (S, v, a, b))
    return -1.0;
  if (S->meth->kind == K_PERIODIC)
    return score_periodic (strcmp (S->meth->name, "cos") == 0, *a, P->xs, P->ycs, P->syys,
                           P->m, b);
  if (S->table)
    {
      for (size_t k = 0; k < P->m; k++)
        work[k] = table_eval (S->table, *a * P->xs[k] + *b);
      return corr2 (work, P->ycs, P->syys, P->m);
    }
  return score_ab (S->id, *a, *b, P->xs, P->ycs, P->syys, P->m, work);
}

/* pykan's coarse-to-fine search over DIM (1 or 2) coordinates in [LO, HI]. Returns the best
 * squared correlation of the last sweep (negative if no candidate was allowed) and its (a,b). */
static double
search_grid (const Search *S,
             int           dim,
             double        lo[2],
             double        hi[2],
             double       *best_a,
             double       *best_b,
             double       *work)
{
  const KanSymFitParams *p = S->P->p;
  double best = -1.0;

  for (int it = 0; it < p->iterations; it++)
    {
      int G = dim == 1 ? p->grid_number : it == 0 ? p->grid_number / 3 + 1 : GRID_ZOOM_2D;
      int nj = dim == 1 ? 1 : G;
      int bi = -1, bj = -1;
      double sweep_best = -1.0, sa = 0, sb = 0;

      for (int i = 0; i < G; i++)
        for (int j = 0; j < nj; j++)
          {
            double v[2], a, b;
            v[0] = lo[0] + (hi[0] - lo[0]) * i / (G - 1);
            v[1] = dim == 1 ? 0 : lo[1] + (hi[1] - lo[1]) * j / (G - 1);
            double r2 = search_score (S, v, &a, &b, work);
            if (r2 > sweep_best)
              {
                sweep_best = r2;
                bi = i; bj = j;
                sa = a; sb = b;
              }
          }
      if (sweep_best < 0)
        break;
      best = sweep_best;
      *best_a = sa;
      *best_b = sb;

      /* Zoom each coordinate: to the edge cell at a boundary, else to the neighbouring cells. */
      int idx[2] = { bi, bj };
      for (int d = 0; d < dim; d++)
        {
          double step = (hi[d] - lo[d]) / (G - 1), at = lo[d] + step * idx[d];
          if (idx[d] == 0)
            hi[d] = lo[d] + step;
          else if (idx[d] == G - 1)
            lo[d] = hi[d] - step;
          else
            {
              lo[d] = at - step;
              hi[d] = at + step;
            }
        }
    }
  return best;
}

/* ------------------------------------------------------------------------------------------ */
/* Levenberg–Marquardt polish                                                                  */

enum { P_A = 1, P_B = 2, P_C = 4, P_D = 8 };

typedef struct
{
  int      id;
  int      free;       /* P_* bits */
  double   a_lim[2];   /* bounds kept on a and b (±∞: none) */
  double   b_lim[2];
} Lm;

/* Squared error at TH and, if JTJ is not NULL, the normal equations over the free parameters
 * (K of them, packed). Returns NaN if any value is not finite. */
static double
lm_eval (const Lm     *L,
         const double  th[4],
         const double *x,
         const double *y,
         size_t        n,
         double        jtj[16],
         double        jtr[4])
{
  double sse = 0;
  int k = 0;

  for (int q = 0; q < 4; q++)
    k += (L->free >> q) & 1;
  if (jtj)
    {
      memset (jtj, 0, 16 * sizeof (double));
      memset (jtr, 0, 4 * sizeof (double));
    }
  for (size_t i = 0; i < n; i++)
    {
      double d, f = kan_sym_eval (L->id, th[0] * x[i] + th[1], 0.0, &d);
      double r = th[2] * f + th[3] - y[i];
      sse += r * r;
      if (jtj)
        {
          double g[4], full[4] = { th[2] * d * x[i], th[2] * d, f, 1.0 };
          int q = 0;
          for (int t = 0; t < 4; t++)
            if (L->free & (1 << t))
              g[q++] = full[t];
          for (int s = 0; s < k; s++)
            {
              jtr[s] += g[s] * r;
              for (int t = 0; t <= s; t++)
                jtj[s * 4 + t] += g[s] * g[t];
            }
        }
    }
  if (!isfinite (sse))
    return NAN;
  if (jtj)
    for (int s = 0; s < k; s++)
      {
        if (!isfinite (jtr[s]))
          return NAN;
        for (int t = 0; t <= s; t++)
          {
            if (!isfinite (jtj[s * 4 + t]))
              return NAN;
            jtj[t * 4 + s] = jtj[s * 4 + t];
          }
      }
  return sse;
}

/* Solves A·z = r for a K×K symmetric positive definite A (stride 4) by Cholesky. */
static gboolean
chol_solve (double a[16],
            int    k,
            double r[4],
            double z[4])
{
  for (int j = 0; j < k; j++)
    {
      double s = a[j * 4 + j];
      for (int t = 0; t < j; t++)
        s -= a[j * 4 + t] * a[j * 4 + t];
      if (!(s > 0))
        return FALSE;
      a[j * 4 + j] = sqrt (s);
      for (int i = j + 1; i < k; i++)
        {
          double v = a[i * 4 + j];
          for (int t = 0; t < j; t++)
            v -= a[i * 4 + t] * a[j * 4 + t];
          a[i * 4 + j] = v / a[j * 4 + j];
        }
    }
  for (int i = 0; i < k; i++)
    {
      double v = r[i];
      for (int t = 0; t < i; t++)
        v -= a[i * 4 + t] * z[t];
      z[i] = v / a[i * 4 + i];
    }
  for (int i = k - 1; i >= 0; i--)
    {
      double v = z[i];
      for (int t = i + 1; t < k; t++)
        v -= a[t * 4 + i] * z[t];
      z[i] = v / a[i * 4 + i];
    }
  return TRUE;
}

static void
lm_clamp (const Lm *L,
          double    th[4])
{
  th[0] = CLAMP (th[0], L->a_lim[0], L->a_lim[1]);
  th[1] = CLAMP (th[1], L->b_lim[0], L->b_lim[1]);
}

/* Polishes TH in place on (X, Y); returns its squared error (NaN if TH was not valid). */
static double
lm_run (const Lm     *L,
        double        th[4],
        const double *x,
        const double *y,
        size_t        n,
        int           max_iter)
{
  double jtj[16], jtr[4], njtj[16], njtr[4];
  double sse = lm_eval (L, th, x, y, n, jtj, jtr), lambda = LM_LAMBDA0;
  int k = 0, map[4];

  if (isnan (sse))
    return NAN;
  for (int q = 0; q < 4; q++)
    if (L->free & (1 << q))
      map[k++] = q;

  for (int it = 0; it < max_iter && sse > 0; )
    {
      double A[16], r[4], z[4], trial[4];
      memcpy (A, jtj, sizeof A);
      for (int s = 0; s < k; s++)
        {
          A[s * 4 + s] += lambda * (jtj[s * 4 + s] > 0 ? jtj[s * 4 + s] : 1.0);
          r[s] = -jtr[s];
        }
      gboolean ok = chol_solve (A, k, r, z);
      double nsse = NAN;
      if (ok)
        {
          memcpy (trial, th, sizeof trial);
          for (int s = 0; s < k; s++)
            trial[map[s]] += z[s];
          lm_clamp (L, trial);
          nsse = lm_eval (L, trial, x, y, n, njtj, njtr);
        }
      if (ok && nsse < sse)
        {
          double gain = sse - nsse;
          memcpy (th, trial, sizeof trial);
          memcpy (jtj, njtj, sizeof jtj);
          memcpy (jtr, njtr, sizeof jtr);
          sse = nsse;
          lambda = MAX (lambda * 0.3, 1e-12);
          it++;
          if (gain <= LM_RTOL * (sse + gain))
            break;
        }
      else
        {
          lambda *= 8;
          it++;
          if (lambda > LM_LAMBDA_MAX)
            break;
        }
    }
  return sse;
}

/* ------------------------------------------------------------------------------------------ */
/* One function on one edge                                                                    */

static double
r2_of_sse (const Prep *P,
           double      sse)
{
  if (isnan (sse))
    return -INFINITY;
  if (P->syy > 0)
    return MIN (1.0 - sse / P->syy, 1.0);
  /* Constant y: R² = 1 if the fit is exact to rounding, else −∞. */
  double tol = 4 * DBL_EPSILON * P->ymax;
  return sse <= P->n * tol * tol ? 1.0 : -INFINITY;
}

/* c, d by linear regression of y on f(a·x+b) over all samples; returns the squared error (NaN
 * if f is not finite everywhere or constant). */
static double
fit_linear (const Prep *P,
            int         id,
            double      th[4])
{
  for (size_t i = 0; i < P->n; i++)
    {
      P->u[i] = kan_sym_eval (id, th[0] * P->x[i] + th[1], 0.0, NULL);
      if (!isfinite (P->u[i]))
        return NAN;
    }
  double su = 0, suu_raw = 0;
  for (size_t i = 0; i < P->n; i++)
    {
      su += P->u[i];
      suu_raw += P->u[i] * P->u[i];
    }
  double mu = su / P->n, suu = 0;
  for (size_t i = 0; i < P->n; i++)
    suu += (P->u[i] - mu) * (P->u[i] - mu);
  if (!(suu > CONSTANT_REL * suu_raw))
    return NAN;

  double c0, c1, cov00, cov01, cov11, sse;
  if (gsl_fit_linear (P->u, 1, P->y, 1, P->n, &c0, &c1, &cov00, &cov01, &cov11, &sse) != 0
      || !isfinite (c0) || !isfinite (c1))
    return NAN;
  th[2] = c1;
  th[3] = c0;
  /* GSL's sumsq is the residual of its centred formulation; recompute it directly. */
  sse = 0;
  for (size_t i = 0; i < P->n; i++)
    {
      double r = c1 * P->u[i] + c0 - P->y[i];
      sse += r * r;
    }
  return sse;
}

static void
fit_constant (const Prep *P,
              KanSymFit  *out)
{
  out->a = 1.0;
  out->b = 0.0;
  out->c = 0.0;
  out->d = P->ymean;
  out->r2 = r2_of_sse (P, P->syy);
}

static gboolean
negligible (const Prep *P)
{
  return sqrt (P->syy / P->n) <= P->p->zero_threshold;
}

/* sgn: every split of the sorted samples between distinct x, by prefix sums. */
static gboolean
fit_step (const Prep *P,
          double      th[4])
{
  const double *x = P->x, *y = P->y;
  size_t n = P->n, best_k = 0;
  double best = -1.0, total = 0, left = 0;

  for (size_t i = 0; i < n; i++)
    total += y[i] - P->ymean;
  for (size_t k = 1; k < n; k++)
    {
      left += y[k - 1] - P->ymean;
      if (x[k] == x[k - 1])
        continue;
      /* u = −1 on the k left samples, +1 on the rest: r2 = cov²/(var_u·syy). */
      double nk = (double) k, mk = (double) (n - k);
      /* Σ (u − ū)(y − ȳ) = Σ u (y − ȳ), as Σ (y − ȳ) = 0. */
      double cov = (total - left) - left;
      double mu = (mk - nk) / n, suu = n - n * mu * mu;
      double r2 = cov * cov / (suu * P->syy);
      if (r2 > best)
        {
          best = r2;
          best_k = k;
        }
    }
  if (best_k == 0)
    return FALSE;
  th[0] = 1.0;
  th[1] = -0.5 * (x[best_k - 1] + x[best_k]);
  return TRUE;
}

/* Whether fit F of a function of kind M imitates a simpler one (see KanSymFit.degenerate):
 * sin/cos over less than DEGENERATE_SPAN radians, exp over less than DEGENERATE_EXP_SPAN of its
 * argument, or a bounded function (tanh, sigmoid, arctan, arcsin, arccos, gaussian, tan)
 * whose values over the samples cover less than DEGENERATE_COVER of its range. */
static gboolean
degenerate (const Prep *P, const Method *M, const KanSymFit *f)
{
  double span = fabs (f->a) * P->w, lo = HUGE_VAL, hi = -HUGE_VAL, full;

  switch (M->kind)
    {
    case K_PERIODIC:
      return span < DEGENERATE_SPAN;
    case K_SCALE:
      return span < DEGENERATE_EXP_SPAN;
    case K_WINDOW:
      if (strcmp (M->name, "cosh") == 0 || strcmp (M->name, "arctanh") == 0)
        return FALSE;  /* unbounded: no range to compare with */
      full = strcmp (M->name, "sigmoid") == 0 || strcmp (M->name, "gaussian") == 0 ? 1.0
             : strcmp (M->name, "tan") == 0 ? 2.0 : strcmp (M->name, "arccos") == 0 ? G_PI
             : strcmp (M->name, "arctan") == 0 || strcmp (M->name, "arcsin") == 0 ? G_PI
             : 2.0;
      for (size_t i = 0; i < P->n; i++)
        {
          double v = kan_sym_eval (f->sym_id, f->a * P->x[i] + f->b, 0.0, NULL);
          lo = MIN (lo, v);
          hi = MAX (hi, v);
        }
      return isfinite (hi - lo) && hi - lo < DEGENERATE_COVER * full;
    default:
      return FALSE;
    }
}

static void
fit_one (const Prep *P,
         int         id,
         KanSymFit  *out)
{
  const Method *M = method_of (id);
  const KanSymFitParams *p = P->p;
  double th[4] = { 1.0, 0.0, 0.0, P->ymean };

  memset (out, 0, sizeof *out);
  out->sym_id = id;
  out->complexity = kan_sym_info (id)->complexity;

  if (M->kind == K_ZERO)
    {
      fit_constant (P, out);
      if (negligible (P))
        out->r2 = 1.0;
      goto done;
    }
  if (P->syy == 0 || P->w == 0)
    {
      fit_constant (P, out);
      goto done;
    }

  int free = P_A | P_B | P_C | P_D;
  gboolean found = TRUE;
  Lm L = { id, 0, { -INFINITY, INFINITY }, { -INFINITY, INFINITY } };
  double lo[2], hi[2];
  double *work = P->u;

  switch (M->kind)
    {
    case K_LINEAR:
      free = 0;
      break;
    case K_STEP:
      found = fit_step (P, th);
      free = 0;
      break;
    case K_SHIFT:
      {
        double best = -1.0;
        for (int s = 0; s < (M->both_signs ? 2 : 1); s++)
          {
            Search S = { P, id, M, s == 0 ? 1.0 : -1.0, NULL };
            double a, b, r2;
            lo[0] = 0.5 / p->grid_number;
            hi[0] = 1.0 - lo[0];
            r2 = search_grid (&S, 1, lo, hi, &a, &b, work);
            if (r2 > best)
              {
                best = r2;
                th[0] = a;
                th[1] = b;
              }
          }
        found = best >= 0;
        free = P_B | P_C | P_D;
      }
      break;
    case K_SCALE:
      {
        Search S = { P, id, M, 1.0, NULL };
        lo[0] = p->a_range[0];
        hi[0] = p->a_range[1];
        found = search_grid (&S, 1, lo, hi, &th[0], &th[1], work) >= 0;
        free = P_A | P_C | P_D;
        L.a_lim[0] = p->a_range[0];
        L.a_lim[1] = p->a_range[1];
      }
      break;
    case K_PERIODIC:
      {
        Search S = { P, id, M, 1.0, NULL };
        lo[0] = P->a_abs[0];
        hi[0] = P->a_abs[1];
        found = search_grid (&S, 1, lo, hi, &th[0], &th[1], work) >= 0;
        L.a_lim[0] = P->a_abs[0];
        L.a_lim[1] = P->a_abs[1];
      }
      break;
    case K_WINDOW:
      {
        Table T = { 0 };
        Search S = { P, id, M, 1.0, NULL };
        double s = M->warp, V = s > 0 ? asinh (M->u_max / s) : M->u_max;
        lo[0] = lo[1] = -V;
        hi[0] = hi[1] = V;
        if (M->tabulate)
          {
            table_init (&T, id, M->u_max);
            S.table = &T;
          }
        found = search_grid (&S, 2, lo, hi, &th[0], &th[1], work) >= 0;
        g_free (T.f);
        L.a_lim[0] = M->both_signs ? p->a_range[0] : P->a_abs[0];
        L.a_lim[1] = M->both_signs ? p->a_range[1] : P->a_abs[1];
        L.b_lim[0] = p->b_range[0];
        L.b_lim[1] = p->b_range[1];
      }
      break;
    default:
      g_assert_not_reached ();
    }

  double sse0 = found ? fit_linear (P, id, th) : NAN;
  if (isnan (sse0))
    {
      fit_constant (P, out);
      goto done;
    }

  L.free = free;
  if (free)
    {
      double t1[4], t2[4];
      memcpy (t1, th, sizeof t1);
      /* Converge on the subsample first, then finish on all samples. */
      if (P->m < P->n && isnan (lm_run (&L, t1, P->xs, P->ys, P->m, LM_ITER_SUB)))
        memcpy (t1, th, sizeof t1);
      memcpy (t2, t1, sizeof t2);
      double sse2 = lm_run (&L, t2, P->x, P->y, P->n, LM_ITER_FULL);
      if (isnan (sse2) && memcmp (t1, th, sizeof t1) != 0)
        {
          memcpy (t2, th, sizeof t2);
          sse2 = lm_run (&L, t2, P->x, P->y, P->n, LM_ITER_FULL);
        }
      if (sse2 < sse0)
        {
          memcpy (th, t2, sizeof t2);
          sse0 = sse2;
        }
    }

  if (M->kind == K_PERIODIC)
    {
      /* Report the phase nearest the middle of b_range. */
      double mid = 0.5 * (p->b_range[0] + p->b_range[1]);
      th[1] -= 2 * G_PI * round ((th[1] - mid) / (2 * G_PI));
    }
  out->a = th[0];
  out->b = th[1];
  out->c = th[2];
  out->d = th[3];
  out->r2 = r2_of_sse (P, sse0);

  out->degenerate = degenerate (P, M, out);

done:
  /* R² closer to 1 than rounding can resolve ranks as exact, so that exact equivalents and
   * exact degenerate limits (sin with a → 0 is x²) tie and fall back to library order. */
  out->score = p->weight_simple * out->complexity
               + (1 - p->weight_simple)
                   * log2 (1 + R2_LOSS_FLOOR - MIN (out->r2, 1 - KAN_SYMFIT_R2_RESOLUTION));
}

/* ------------------------------------------------------------------------------------------ */
/* Public API                                                                                  */

void
kan_symfit_params_init (KanSymFitParams *p)
{
  g_return_if_fail (p != NULL);
  p->a_range[0] = -10;
  p->a_range[1] = 10;
  p->b_range[0] = -10;
  p->b_range[1] = 10;
  p->grid_number = 101;
  p->iterations = 3;
  p->weight_simple = 0.8;
  p->zero_threshold = 1e-3;
  p->zero_guard_r2 = 0.9;
  p->subsample = 64;
}

static gboolean
check_id (int      id,
          GError **error)
{
  if (id < 0 || id >= kan_sym_count ())
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID,
                   "symbolic fit: no library function with id %d (0 … %d)", id,
                   kan_sym_count () - 1);
      return FALSE;
    }
  return TRUE;
}

gboolean
kan_symfit_fit (int                    sym_id,
                const double          *x,
                const double          *y,
                size_t                 n,
                const KanSymFitParams *p,
                KanSymFit             *out,
                GError               **error)
{
  KanSymFitParams defaults;
  Prep P;

  g_return_val_if_fail (x != NULL || n == 0, FALSE);
  g_return_val_if_fail (y != NULL || n == 0, FALSE);
  g_return_val_if_fail (out != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (p == NULL)
    {
      kan_symfit_params_init (&defaults);
      p = &defaults;
    }
  if (!check_id (sym_id, error) || !prep_init (&P, x, y, n, p, error))
    return FALSE;
  fit_one (&P, sym_id, out);
  prep_clear (&P);
  return TRUE;
}

static int
fit_cmp (const KanSymFit *a,
         int              ia,
         const KanSymFit *b,
         int              ib)
{
  /* A degenerate fit never outranks a fit that is not: its R² comes from imitating one. */
  if (a->degenerate != b->degenerate)
    return a->degenerate ? 1 : -1;
  /* Exact fits come first, whatever their complexity: pykan's loss saturates at R² = 1, so a
   * line fitting arcsin to R² = 0.995 would outrank arcsin fitted exactly. Among exact fits,
   * and among inexact ones, pykan's loss decides. */
  gboolean ea = a->r2 >= 1.0 - KAN_SYMFIT_EXACT_R2, eb = b->r2 >= 1.0 - KAN_SYMFIT_EXACT_R2;
  if (ea != eb)
    return ea ? -1 : 1;
  if (a->score != b->score)
    return a->score < b->score ? -1 : 1;
  return (ia > ib) - (ia < ib);
}

KanSymFit *
kan_symfit_suggest (const double          *x,
                    const double          *y,
                    size_t                 n,
                    const int             *lib_ids,
                    int                    n_lib,
                    const KanSymFitParams *p,
                    int                   *n_out,
                    GError               **error)
{
  KanSymFitParams defaults;
  Prep P;

  g_return_val_if_fail (x != NULL || n == 0, NULL);
  g_return_val_if_fail (y != NULL || n == 0, NULL);
  g_return_val_if_fail (n_out != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  *n_out = 0;
  if (p == NULL)
    {
      kan_symfit_params_init (&defaults);
      p = &defaults;
    }
  if (lib_ids == NULL)
    n_lib = kan_sym_count ();
  else if (n_lib <= 0)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID,
                   "symbolic fit: the function list is empty");
      return NULL;
    }
  for (int k = 0; lib_ids && k < n_lib; k++)
    if (!check_id (lib_ids[k], error))
      return NULL;
  if (!prep_init (&P, x, y, n, p, error))
    return NULL;

  KanSymFit *fits = g_new (KanSymFit, n_lib);
  int *order = g_new (int, n_lib);
  for (int k = 0; k < n_lib; k++)
    {
      fit_one (&P, lib_ids ? lib_ids[k] : k, &fits[k]);
      order[k] = k;
    }

  /* Insertion sort on (score, library position): n_lib is a few dozen. */
  for (int k = 1; k < n_lib; k++)
    {
      int v = order[k], j = k;
      while (j > 0 && fit_cmp (&fits[v], v, &fits[order[j - 1]], order[j - 1]) < 0)
        {
          order[j] = order[j - 1];
          j--;
        }
      order[j] = v;
    }

  /* "0" of a non-negligible edge moves below the last function with r2 > zero_guard_r2. */
  if (!negligible (&P))
    for (int k = n_lib - 1; k >= 0; k--)
      {
        if (fits[order[k]].sym_id != kan_sym_zero ())
          continue;
        int last = -1;
        for (int j = k + 1; j < n_lib; j++)
          if (fits[order[j]].sym_id != kan_sym_zero () && fits[order[j]].r2 > p->zero_guard_r2)
            last = j;
        if (last > k)
          {
            int z = order[k];
            memmove (order + k, order + k + 1, (last - k) * sizeof *order);
            order[last] = z;
          }
      }

  KanSymFit *ranked = g_new (KanSymFit, n_lib);
  for (int k = 0; k < n_lib; k++)
    ranked[k] = fits[order[k]];
  g_free (order);
  g_free (fits);
  prep_clear (&P);
  *n_out = n_lib;
  return ranked;
}

double
kan_symfit_eval (const KanSymFit *f,
                 double           x)
{
  g_return_val_if_fail (f != NULL, NAN);
  return f->c * kan_sym_eval (f->sym_id, f->a * x + f->b, 0.0, NULL) + f->d;
}
