/* kan-lbfgs.c — resumable L-BFGS with a strong-Wolfe line search (see kan-lbfgs.h).
 *
 * The algorithm is the textbook one as used by pykan (through torch): the two-loop recursion
 * with H₀ = yᵀs/yᵀy, a first step of min(1, 1/‖g‖₁)·lr, and the bracketing/zoom line search of
 * Nocedal & Wright (algorithms 3.5 and 3.6) with safeguarded cubic interpolation.
 */
#include "kan-lbfgs.h"
#include "kan-spline.h"

#include <math.h>
#include <string.h>

struct _KanLbfgs
{
  KanLbfgsParams p;
  size_t   n;
  /* history ring: S[q], Y[q] for q < n_pairs, oldest at head */
  double  *S, *Y, *rho, *alpha;
  int      head, n_pairs;
  double   H_diag;
  double  *d, *g, *g_prev, *x0, *g_new, *g_tmp, *bg0, *bg1;
  double   f;        /* objective at x, valid once started */
  double   t;
  long     n_iter;   /* iterations since the last reset */
  gboolean have_state;
  /* the step in progress: its cancellable (borrowed) and whether it fired */
  GCancellable *cancellable;
  gboolean aborted;
};

void
kan_lbfgs_params_init (KanLbfgsParams *p)
{
  p->history = 10;
  p->max_iter = 20;
  p->max_eval = 25;
  p->lr = 1.0;
  p->tolerance_grad = 1e-32;
  p->tolerance_change = 1e-32;
  p->tolerance_ys = 1e-32;
  p->c1 = 1e-4;
  p->c2 = 0.9;
  p->ls_tolerance = 1e-9;
  p->max_ls = 25;
}

KanLbfgs *
kan_lbfgs_new (size_t n, const KanLbfgsParams *p)
{
  KanLbfgs *s = g_new0 (KanLbfgs, 1);
  size_t h = MAX (p->history, 1);

  s->p = *p;
  s->n = n;
  n = MAX (n, 1);
  s->S = g_new0 (double, h * n);
  s->Y = g_new0 (double, h * n);
  s->rho = g_new0 (double, h);
  s->alpha = g_new0 (double, h);
  s->d = g_new0 (double, n);
  s->g = g_new0 (double, n);
  s->g_prev = g_new0 (double, n);
  s->x0 = g_new0 (double, n);
  s->g_new = g_new0 (double, n);
  s->g_tmp = g_new0 (double, n);
  s->bg0 = g_new0 (double, n);
  s->bg1 = g_new0 (double, n);
  return s;
}

void
kan_lbfgs_free (KanLbfgs *s)
{
  if (s == NULL)
    return;
  g_free (s->S); g_free (s->Y); g_free (s->rho); g_free (s->alpha);
  g_free (s->d); g_free (s->g); g_free (s->g_prev); g_free (s->x0);
  g_free (s->g_new); g_free (s->g_tmp); g_free (s->bg0); g_free (s->bg1);
  g_free (s);
}

void
kan_lbfgs_reset (KanLbfgs *s)
{
  s->n_pairs = 0;
  s->head = 0;
  s->n_iter = 0;
  s->H_diag = 1.0;
  s->have_state = FALSE;
}

/* Σ a·b in 4 lanes (entry q in lane q mod 4, the lanes added pairwise): a fixed order, so
 * the same bits every run, in a loop the compiler vectorises where one running sum waits on
 * each addition. */
G_ALWAYS_INLINE static inline double
dot (const double *restrict a, const double *restrict b, size_t n)
{
  double acc[4] = { 0 };
  size_t q = 0;

  for (; q + 4 <= n; q += 4)
    for (int v = 0; v < 4; v++)
      acc[v] += a[q + v] * b[q + v];
  for (int v = 0; q < n; q++, v++)
    acc[v] += a[q] * b[q];
  return (acc[0] + acc[1]) + (acc[2] + acc[3]);
}

G_ALWAYS_INLINE static inline double
max_abs (const double *a, size_t n)
{
  double m = 0.0;
  for (size_t q = 0; q < n; q++)
    m = MAX (m, fabs (a[q]));
  return m;
}

/* Whether the step's cancellable fired (looked at after every evaluation). */
static gboolean
aborted (KanLbfgs *s)
{
  if (!s->aborted && s->cancellable != NULL && g_cancellable_is_cancelled (s->cancellable))
    s->aborted = TRUE;
  return s->aborted;
}

/* Evaluates at x0 + t·d into X; non-finite values become +∞ (rejected by every test). */
G_ALWAYS_INLINE static inline double
eval_at (KanLbfgs *s, double *x, double t, KanObjectiveFunc fn, void *data, double *g)
{
  double f;
  for (size_t q = 0; q < s->n; q++)
    x[q] = s->x0[q] + t * s->d[q];
  f = fn (data, x, g);
  if (aborted (s))
    return HUGE_VAL;
  if (!isfinite (f))
    return HUGE_VAL;
  for (size_t q = 0; q < s->n; q++)
    if (!isfinite (g[q]))
      return HUGE_VAL;
  return f;
}

/* Minimiser of the cubic through (x1,f1,g1), (x2,f2,g2), clamped to [lo, hi]; the midpoint
 * when the cubic has no minimum or an input is not finite. */
static double
cubic_interpolate (double x1, double f1, double g1, double x2, double f2, double g2,
                   double lo, double hi)
{
  double d1, d2sq, pos;

  if (!isfinite (f1) || !isfinite (f2) || !isfinite (g1) || !isfinite (g2) || x1 == x2)
    return 0.5 * (lo + hi);
  d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2);
  d2sq = d1 * d1 - g1 * g2;
  if (!(d2sq >= 0))
    return 0.5 * (lo + hi);
  {
    double d2 = sqrt (d2sq);
    if (x1 <= x2)
      pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2));
    else
      pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2));
  }
  if (!isfinite (pos))
    return 0.5 * (lo + hi);
  return MIN (MAX (pos, lo), hi);
}

/* Strong-Wolfe line search along s->d from s->x0 (objective F0, gradient G0, slope GTD).
 * On return X holds the accepted point, G its gradient, *T the step; returns f there and adds
 * the evaluations to *EVALS. */
G_ALWAYS_INLINE static inline double
strong_wolfe (KanLbfgs *s, double *x, KanObjectiveFunc fn, void *data,
              double f0, const double *g0, double gtd, double *t_io, double *g, int *evals)
{
  const KanLbfgsParams *p = &s->p;
  size_t n = s->n;
  double t = *t_io, d_norm = max_abs (s->d, n);
  double f_new, gtd_new, t_prev = 0.0, f_prev = f0, gtd_prev = gtd;
  double *g_new = s->g_new, *g_prev = s->g_tmp;
  double br[2] = { 0 }, bf[2] = { 0 }, bgtd[2] = { 0 };
  double *bg[2] = { s->bg0, s->bg1 };
  int ls_iter = 0, n_br = 0, lo, hi;
  gboolean done = FALSE, insuf = FALSE;

  memcpy (g_prev, g0, sizeof (double) * n);
  f_new = eval_at (s, x, t, fn, data, g_new);
  (*evals)++;
  if (s->aborted)
    return HUGE_VAL;
  gtd_new = dot (g_new, s->d, n);

  while (ls_iter < p->max_ls)
    {
      if (f_new > f0 + p->c1 * t * gtd || (ls_iter > 1 && f_new >= f_prev))
        {
          br[0] = t_prev; bf[0] = f_prev; bgtd[0] = gtd_prev; memcpy (bg[0], g_prev, sizeof (double) * n);
          br[1] = t; bf[1] = f_new; bgtd[1] = gtd_new; memcpy (bg[1], g_new, sizeof (double) * n);
          n_br = 2;
          break;
        }
      if (fabs (gtd_new) <= -p->c2 * gtd)
        {
          br[0] = t; bf[0] = f_new; bgtd[0] = gtd_new; memcpy (bg[0], g_new, sizeof (double) * n);
          n_br = 1;
          done = TRUE;
          break;
        }
      if (gtd_new >= 0)
        {
          br[0] = t_prev; bf[0] = f_prev; bgtd[0] = gtd_prev; memcpy (bg[0], g_prev, sizeof (double) * n);
          br[1] = t; bf[1] = f_new; bgtd[1] = gtd_new; memcpy (bg[1], g_new, sizeof (double) * n);
          n_br = 2;
          break;
        }
      {
        double min_step = t + 0.01 * (t - t_prev), max_step = t * 10, tmp = t;
        t = cubic_interpolate (t_prev, f_prev, gtd_prev, t, f_new, gtd_new, min_step, max_step);
        t_prev = tmp;
      }
      f_prev = f_new;
      gtd_prev = gtd_new;
      memcpy (g_prev, g_new, sizeof (double) * n);
      f_new = eval_at (s, x, t, fn, data, g_new);
      (*evals)++;
      if (s->aborted)
        return HUGE_VAL;
      gtd_new = dot (g_new, s->d, n);
      ls_iter++;
    }
  if (ls_iter == p->max_ls)
    {
      br[0] = 0.0; bf[0] = f0; bgtd[0] = gtd; memcpy (bg[0], g0, sizeof (double) * n);
      br[1] = t; bf[1] = f_new; bgtd[1] = gtd_new; memcpy (bg[1], g_new, sizeof (double) * n);
      n_br = 2;
    }

  /* Zoom. */
  lo = (n_br == 1 || bf[0] <= bf[1]) ? 0 : 1;
  hi = 1 - lo;
  while (!done && ls_iter < p->max_ls && n_br == 2)
    {
      double bmax = MAX (br[0], br[1]), bmin = MIN (br[0], br[1]), eps;
      if (fabs (br[1] - br[0]) * d_norm < p->ls_tolerance)
        break;
      t = cubic_interpolate (br[0], bf[0], bgtd[0], br[1], bf[1], bgtd[1], bmin, bmax);
      eps = 0.1 * (bmax - bmin);
      if (MIN (bmax - t, t - bmin) < eps)
        {
          if (insuf || t >= bmax || t <= bmin)
            {
              t = fabs (t - bmax) < fabs (t - bmin) ? bmax - eps : bmin + eps;
              insuf = FALSE;
            }
          else
            insuf = TRUE;
        }
      else
        insuf = FALSE;

      f_new = eval_at (s, x, t, fn, data, g_new);
      (*evals)++;
      if (s->aborted)
        return HUGE_VAL;
      gtd_new = dot (g_new, s->d, n);
      ls_iter++;

      if (f_new > f0 + p->c1 * t * gtd || f_new >= bf[lo])
        {
          br[hi] = t; bf[hi] = f_new; bgtd[hi] = gtd_new; memcpy (bg[hi], g_new, sizeof (double) * n);
          lo = bf[0] <= bf[1] ? 0 : 1;
          hi = 1 - lo;
        }
      else
        {
          if (fabs (gtd_new) <= -p->c2 * gtd)
            done = TRUE;
          else if (gtd_new * (br[hi] - br[lo]) >= 0)
            {
              br[hi] = br[lo]; bf[hi] = bf[lo]; bgtd[hi] = bgtd[lo];
              memcpy (bg[hi], bg[lo], sizeof (double) * n);
            }
          br[lo] = t; bf[lo] = f_new; bgtd[lo] = gtd_new; memcpy (bg[lo], g_new, sizeof (double) * n);
        }
    }

  t = br[lo];
  *t_io = t;
  memcpy (g, bg[lo], sizeof (double) * n);
  for (size_t q = 0; q < n; q++)
    x[q] = s->x0[q] + t * s->d[q];
  return bf[lo];
}

/* Compiled for AVX2 and the baseline (KAN_SIMD_CLONES, kan-spline.h), the helpers above
 * inlined into each: the vector loops over the parameters are elementwise or keep dot's four
 * lanes, and there is no FMA, so both give the same bits. */
KAN_SIMD_CLONES int
kan_lbfgs_step (KanLbfgs         *s,
                double           *x,
                KanObjectiveFunc  fn,
                void             *data,
                GCancellable     *cancellable,
                double           *f_out)
{
  const KanLbfgsParams *p = &s->p;
  size_t n = s->n;
  int evals = 0, h = MAX (p->history, 1);
  double f;

  s->cancellable = cancellable;
  s->aborted = FALSE;
  /* The objective at the starting point (the model may have changed since the last step). */
  f = fn (data, x, s->g);
  evals++;
  if (aborted (s))
    return -1;
  if (!isfinite (f))
    {
      *f_out = f;
      return evals;
    }
  if (max_abs (s->g, n) <= p->tolerance_grad)
    {
      *f_out = f;
      return evals;
    }

  for (int it = 0; it < p->max_iter; it++)
    {
      double gtd, f_prev, t;

      s->n_iter++;
      if (s->n_iter == 1)
        {
          for (size_t q = 0; q < n; q++)
            s->d[q] = -s->g[q];
          s->n_pairs = 0;
          s->head = 0;
          s->H_diag = 1.0;
        }
      else
        {
          /* New curvature pair from the last step, kept if yᵀs is positive enough. */
          double *y = s->g_new, *sv = s->g_tmp, ys;
          for (size_t q = 0; q < n; q++)
            {
              y[q] = s->g[q] - s->g_prev[q];
              sv[q] = s->d[q] * s->t;
            }
          ys = dot (y, sv, n);
          if (ys > p->tolerance_ys)
            {
              int slot;
              if (s->n_pairs == h)
                {
                  slot = s->head;
                  s->head = (s->head + 1) % h;
                }
              else
                slot = (s->head + s->n_pairs++) % h;
              memcpy (s->Y + (size_t) slot * n, y, sizeof (double) * n);
              memcpy (s->S + (size_t) slot * n, sv, sizeof (double) * n);
              s->rho[slot] = 1.0 / ys;
              s->H_diag = ys / dot (y, y, n);
            }

          /* Two-loop recursion: d = −H·g. */
          for (size_t q = 0; q < n; q++)
            s->d[q] = -s->g[q];
          for (int r = s->n_pairs - 1; r >= 0; r--)
            {
              int slot = (s->head + r) % h;
              const double *S = s->S + (size_t) slot * n, *Y = s->Y + (size_t) slot * n;
              double a = dot (S, s->d, n) * s->rho[slot];
              s->alpha[slot] = a;
              for (size_t q = 0; q < n; q++)
                s->d[q] -= a * Y[q];
            }
          for (size_t q = 0; q < n; q++)
            s->d[q] *= s->H_diag;
          for (int r = 0; r < s->n_pairs; r++)
            {
              int slot = (s->head + r) % h;
              const double *S = s->S + (size_t) slot * n, *Y = s->Y + (size_t) slot * n;
              double be = dot (Y, s->d, n) * s->rho[slot];
              for (size_t q = 0; q < n; q++)
                s->d[q] += S[q] * (s->alpha[slot] - be);
            }
        }
      memcpy (s->g_prev, s->g, sizeof (double) * n);
      f_prev = f;

      if (s->n_iter == 1)
        {
          double l1 = 0.0;
          for (size_t q = 0; q < n; q++)
            l1 += fabs (s->g[q]);
          t = MIN (1.0, 1.0 / l1) * p->lr;
        }
      else
        t = p->lr;

      gtd = dot (s->g, s->d, n);
      if (!(gtd < -p->tolerance_change))
        {
          /* Not a descent direction (stale history after a grid update, or rounding): start
           * afresh from steepest descent next time. */
          s->n_iter = 0;
          break;
        }

      memcpy (s->x0, x, sizeof (double) * n);
      f = strong_wolfe (s, x, fn, data, f, s->g_prev, gtd, &t, s->g, &evals);
      if (s->aborted)
        {
          /* X and the history hold a step half done: the caller restores X and resets. */
          s->cancellable = NULL;
          return -1;
        }
      s->t = t;

      if (evals >= p->max_eval)
        break;
      if (max_abs (s->g, n) <= p->tolerance_grad)
        break;
      if (max_abs (s->d, n) * fabs (t) <= p->tolerance_change)
        break;
      if (fabs (f - f_prev) < p->tolerance_change)
        break;
    }
  s->cancellable = NULL;
  s->have_state = TRUE;
  *f_out = f;
  return evals;
}
