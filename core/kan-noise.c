/* kan-noise.c — snapping constants as far as the noise allows (see kan-noise.h). */
#include "kan-noise.h"
#include "kan-formula.h"

#include <math.h>

/* Levenberg–Marquardt iterations of each refit. */
#define NOISE_FIT_ITER    60
/* Largest denominator of the fractions tried, and largest numerator. */
#define NOISE_MAX_DEN     12
#define NOISE_MAX_NUM     100
/* Refits allowed per formula, beyond one per constant: the search tries every constant once
 * per round and a round ends at the first that snaps. */
#define NOISE_EXTRA_FITS  16
/* Refits spent on ties of two constants (tie_constants), and the longest decimal they take. */
#define NOISE_MAX_TIES    4
#define NOISE_TIE_DIGITS  6
/* Constants without a standard error move by at most this share of themselves. */
#define NOISE_GAUGE_REL   1e-2
/* A noise variance below this share of the labels' variance is rounding, not noise. */
#define NOISE_S2_FLOOR    1e-28

gboolean
kan_noise_simple_value (double v, double window, double *out)
{
  if (!isfinite (v) || !(window >= 0.0))
    return FALSE;
  if (fabs (v) <= window)
    {
      *out = 0.0;
      return TRUE;
    }
  for (int q = 1; q <= NOISE_MAX_DEN; q++)
    {
      double p = round (v * q);
      if (p != 0.0 && (q == 1 || fabs (p) <= NOISE_MAX_NUM) && fabs (p / q - v) <= window)
        {
          *out = p / q;
          return TRUE;
        }
      p = round (v * q / M_PI);
      if (p != 0.0 && fabs (p) <= NOISE_MAX_NUM && fabs (p * M_PI / q - v) <= window)
        {
          *out = p * M_PI / q;
          return TRUE;
        }
    }
  /* Decimals of one to three significant digits: 0.15, 2.5e-3. */
  for (int digits = 1; digits <= 3; digits++)
    {
      double spacing = pow (10.0, floor (log10 (fabs (v))) - (digits - 1));
      double s = round (v / spacing) * spacing;
      if (s != 0.0 && fabs (s - v) <= window)
        {
          *out = s;
          return TRUE;
        }
    }
  return FALSE;
}

/* A copy of E with its free constant K (in kan_expr_free_constants order) set to V so that
 * kan_expr_fit keeps it there: 0 and simple fractions are fixed as numbers (and the copy is
 * simplified: a term times 0 goes), a decimal such as 1.05 becomes the quotient of integers
 * 105/100 (which a later simplification folds back for printing). */
static KanExpr *
with_value (const KanExpr *e, int k, double v)
{
  KanExpr *copy = kan_expr_copy (e), **nums = NULL, *probe = kan_expr_num (v), *node;
  gboolean fixed = kan_expr_free_constants (probe, NULL) == 0;

  kan_expr_free (probe);
  kan_expr_free_constants (copy, &nums);
  node = nums[k];
  g_free (nums);
  if (fixed)
    {
      node->value = v;
      return kan_expr_simplify (copy);
    }
  for (int digits = 1; digits <= 15; digits++)
    {
      double scale = pow (10.0, digits), p = round (v * scale);
      if (fabs (p / scale - v) <= 1e-12 * fabs (v))
        {
          node->kind = KAN_EXPR_DIV;
          node->a = kan_expr_num (p);
          node->b = kan_expr_num (scale);
          return copy;
        }
    }
  node->value = v;  /* not a short decimal: the fit may move it again */
  return copy;
}

static double
rss_of (const KanExprFit *f, size_t n)
{
  return f->rmse * f->rmse * (double) n;
}

static double
allowed_rise (int m)
{
  return MAX (9.0, m + 5.0 * sqrt (2.0 * m));
}

/* The shortest decimal (at most NOISE_TIE_DIGITS significant digits) nearest to M that is
 * within WA of A and WB of B, or FALSE. */
static gboolean
common_decimal (double m, double a, double wa, double b, double wb, double *out)
{
  for (int digits = 1; digits <= NOISE_TIE_DIGITS; digits++)
    {
      char buf[G_ASCII_DTOSTR_BUF_SIZE], fmt[8];
      double s;

      /* The decimal as printed, not as a multiplication would leave it. */
      g_snprintf (fmt, sizeof fmt, "%%.%de", digits - 1);
      g_ascii_formatd (buf, sizeof buf, fmt, m);
      s = g_ascii_strtod (buf, NULL);
      if (s != 0.0 && fabs (s - a) <= wa && fabs (s - b) <= wb)
        {
          *out = s;
          return TRUE;
        }
    }
  return FALSE;
}

typedef struct
{
  int    k, l;
  double z;
} Tie;

static int
tie_cmp (const void *a, const void *b)
{
  double za = ((const Tie *) a)->z, zb = ((const Tie *) b)->z;

  return (za > zb) - (za < zb);
}

/* Ties of constants: two free constants of E whose values agree within KAN_NOISE_SNAP_Z
 * standard errors each, such as 0.11938·A + 0.11939·B, are both fixed at the shortest
 * decimal within those bounds nearest to their mean weighted by 1/se² (0.11939·A + 0.11939·B, which the canonical form prints as
 * 0.11939·(A + B)), when the residual sum of squares rises by no more than the noise explains
 * for two more fixed constants (the test of kan_noise_snap). Closest pairs first, at most
 * NOISE_MAX_TIES refits. *FIT is the fit of E, replaced with the result's. */
static KanExpr *
tie_constants (KanExpr *e, const KanCanonRows *r, KanExprFit **fit, double rss0, double s2,
               int *fixed)
{
  int tries = 0;
  gboolean moved = TRUE;

  while (moved && tries < NOISE_MAX_TIES)
    {
      g_autofree KanExpr **nums = NULL;
      g_autoptr (GArray) ties = g_array_new (FALSE, FALSE, sizeof (Tie));
      int n = kan_expr_free_constants (e, &nums);

      moved = FALSE;
      if (n < 2 || n != (*fit)->n)
        break;
      for (int k = 0; k < n; k++)
        for (int l = k + 1; l < n; l++)
          {
            double a = nums[k]->value, b = nums[l]->value;
            double sa = (*fit)->stderr_[k], sb = (*fit)->stderr_[l];
            Tie t = { k, l, fabs (a - b) / sqrt (sa * sa + sb * sb) };
            if (a != 0.0 && (a > 0) == (b > 0) && isfinite (t.z) && t.z <= KAN_NOISE_SNAP_Z)
              g_array_append_val (ties, t);
          }
      g_array_sort (ties, tie_cmp);
      for (guint q = 0; q < ties->len && !moved && tries < NOISE_MAX_TIES; q++)
        {
          const Tie *t = &g_array_index (ties, Tie, q);
          g_autoptr (KanExpr) one = NULL;
          KanExpr *trial;
          KanExprFit *tf;
          double v;

          double sa = (*fit)->stderr_[t->k], sb = (*fit)->stderr_[t->l];
          double wa = 1.0 / (sa * sa), wb = 1.0 / (sb * sb);
          double m = (wa * nums[t->k]->value + wb * nums[t->l]->value) / (wa + wb);

          if (!common_decimal (m, nums[t->k]->value, KAN_NOISE_SNAP_Z * sa, nums[t->l]->value,
                               KAN_NOISE_SNAP_Z * sb, &v))
            continue;
          /* l > k: fixing l first leaves k's index as it was. */
          one = with_value (e, t->l, v);
          {
            /* Simplifying an exact value may reorder the constants: k must still be k. */
            g_autofree KanExpr **left = NULL;
            if (kan_expr_free_constants (one, &left) != n - 1
                || left[t->k]->value != nums[t->k]->value)
              continue;
          }
          trial = with_value (one, t->k, v);
          tries++;
          tf = kan_expr_fit (trial, r->x, r->n_in, r->y, r->n, NOISE_FIT_ITER, NULL);
          if (tf && isfinite (tf->rmse)
              && rss_of (tf, r->n) - rss0 <= s2 * allowed_rise (*fixed + 2))
            {
              kan_expr_free (e);
              e = trial;
              kan_expr_fit_free (*fit);
              *fit = tf;
              *fixed += 2;
              moved = TRUE;
            }
          else
            {
              kan_expr_fit_free (tf);
              kan_expr_free (trial);
            }
        }
    }
  return e;
}

KanExpr *
kan_noise_snap (KanExpr *e, const KanCanonRows *r, KanExprFit **fit_out)
{
  KanExprFit *fit;
  double rss0, s2;
  int fixed = 0, fits = 0, budget;

  if (fit_out)
    *fit_out = NULL;
  g_return_val_if_fail (e != NULL && r != NULL, e);
  fit = kan_expr_fit (e, r->x, r->n_in, r->y, r->n, NOISE_FIT_ITER, NULL);
  if (fit == NULL || fit->n == 0 || (size_t) fit->n >= r->n || !isfinite (fit->rmse))
    goto done;
  rss0 = rss_of (fit, r->n);
  s2 = MAX (rss0 / (double) (r->n - fit->n), NOISE_S2_FLOOR * r->y_std * r->y_std);
  budget = 2 * fit->n + NOISE_EXTRA_FITS;

  for (;;)
    {
      g_autofree KanExpr **nums = NULL;
      g_autofree double *target = NULL;
      g_autofree double *z = NULL;
      int n = kan_expr_free_constants (e, &nums), best;
      gboolean moved = FALSE;

      if (n == 0 || n != fit->n)
        break;
      target = g_new (double, n);
      z = g_new (double, n);
      for (int k = 0; k < n; k++)
        {
          double se = fit->stderr_[k];
          /* No error: the constant is not determined on its own (a gauge the canonical form
           * missed, such as a scale inside a square and one outside). Such a constant can
           * move freely; try simple values within a small share of it, the refit decides. */
          if (!isfinite (se) && nums[k]->value != 0.0)
            se = NOISE_GAUGE_REL * fabs (nums[k]->value) / KAN_NOISE_SNAP_Z;
          z[k] = HUGE_VAL;
          if (isfinite (se) && se > 0.0
              && kan_noise_simple_value (nums[k]->value, KAN_NOISE_SNAP_Z * se, &target[k]))
            z[k] = fabs (nums[k]->value - target[k]) / se;
        }
      /* Closest first (in standard errors); each tried at most once this round. */
      while (!moved && fits < budget)
        {
          KanExpr *trial;
          KanExprFit *tf;

          best = -1;
          for (int k = 0; k < n; k++)
            if (isfinite (z[k]) && (best < 0 || z[k] < z[best]))
              best = k;
          if (best < 0)
            break;
          z[best] = HUGE_VAL;
          trial = with_value (e, best, target[best]);
          tf = kan_expr_fit (trial, r->x, r->n_in, r->y, r->n, NOISE_FIT_ITER, NULL);
          fits++;
          if (tf && isfinite (tf->rmse) && rss_of (tf, r->n) - rss0 <= s2 * allowed_rise (fixed + 1))
            {
              kan_expr_free (e);
              e = trial;
              kan_expr_fit_free (fit);
              fit = tf;
              fixed++;
              moved = TRUE;
            }
          else
            {
              kan_expr_fit_free (tf);
              kan_expr_free (trial);
            }
        }
      if (!moved)
        break;
    }
  e = tie_constants (e, r, &fit, rss0, s2, &fixed);

done:
  if (fit_out)
    *fit_out = fit;
  else
    kan_expr_fit_free (fit);
  return e;
}
