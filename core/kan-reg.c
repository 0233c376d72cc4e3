/* kan-reg.c — pykan's regulariser of the last forward, and the gradient backward adds for it. */
#include "kan-work-private.h"
#include "kan-dense-private.h"

#include <math.h>

/* pykan's constants: the regulariser's input-range offset and its log floor. */
#define REG_INPUT_RANGE_OFFSET 0.1
#define REG_LOG_FLOOR          1e-4

/* ------------------------------------------------------------------------------------------ */
/* Regulariser                                                                                 */

/* Unbiased mean and standard deviation of N values with stride STRIDE. */
static void
mean_std (const double *v, size_t n, size_t stride, double *mean, double *std)
{
  double mu = 0.0, ss = 0.0;
  for (size_t b = 0; b < n; b++)
    mu += v[b * stride];
  mu /= n;
  for (size_t b = 0; b < n; b++)
    {
      double d = v[b * stride] - mu;
      ss += d * d;
    }
  *mean = mu;
  *std = n > 1 ? sqrt (ss / (n - 1)) : 0.0;
}

/* Entropy term of one row/column set: values A[r·rs + c·cs] for r < R rows, c < C entries;
 * H = −(1/R) Σ_r Σ_c p log2(p + ε) with p = A/(Σ_c A + 1). Adds SCALE·∂H/∂A into DA. */
static double
entropy_term (const double *A, int R, int C, int rs, int cs, double scale, double *dA)
{
  double H = 0.0;
  for (int r = 0; r < R; r++)
    {
      double s = 1.0, dot = 0.0;
      for (int c = 0; c < C; c++)
        s += A[r * rs + c * cs];
      for (int c = 0; c < C; c++)
        {
          double p = A[r * rs + c * cs] / s;
          double hp = log2 (p + REG_LOG_FLOOR);
          H -= p * hp / R;
          if (dA)
            {
              /* dh/dp for h = p·log2(p+ε) */
              double dh = hp + p / ((p + REG_LOG_FLOOR) * M_LN2);
              dot += dh * A[r * rs + c * cs];
            }
        }
      if (dA)
        for (int c = 0; c < C; c++)
          {
            double p = A[r * rs + c * cs] / s;
            double dh = log2 (p + REG_LOG_FLOOR) + p / ((p + REG_LOG_FLOOR) * M_LN2);
            dA[r * rs + c * cs] -= scale / R * (dh / s - dot / (s * s));
          }
    }
  return H;
}

double
kan_model_reg (const KanModel *m,
               KanWork        *w,
               double          lamb_l1,
               double          lamb_entropy,
               double          lamb_coef,
               double          lamb_coefdiff,
               double          scale,
               double         *grad)
{
  size_t n;
  int P;
  double reg = 0.0;

  g_return_val_if_fail (m != NULL && w != NULL, NAN);
  kan_dense_edges (w);
  n = w->n;
  P = m->G + m->k;
  for (int l = 0; l < m->depth; l++)
    {
      const KanLayer *L = &m->layers[l];
      WorkLayer *W = &w->wl[l];
      int I = L->n_in, O = L->n_out;
      double *A = g_new0 (double, (size_t) I * O);    /* indexed [i·O + j] */
      double *dA = g_new0 (double, (size_t) I * O);
      double *sx = g_new0 (double, I), *sp = g_new0 (double, (size_t) I * O);

      for (int i = 0; i < I; i++)
        mean_std (W->x + i, n, I, &W->mean_x[i], &sx[i]);
      for (int i = 0; i < I; i++)
        for (int j = 0; j < O; j++)
          {
            size_t e = (size_t) i * O + j;
            /* Cancelled: the value is not needed, only a quick return. */
            if (kan_work_tick (w, n))
              {
                g_free (A); g_free (dA); g_free (sx); g_free (sp);
                w->reg_pending = FALSE;
                return NAN;
              }
            mean_std (W->postnum + e, n, (size_t) I * O, &W->mean_p[e], &sp[e]);
            A[e] = sp[e] / (sx[i] + REG_INPUT_RANGE_OFFSET);
            reg += lamb_l1 * A[e];
            dA[e] += lamb_l1;
          }
      /* Rows are subnodes j (entries over i), columns are inputs i (entries over j). */
      reg += lamb_entropy * entropy_term (A, O, I, 1, O, lamb_entropy, grad ? dA : NULL);
      reg += lamb_entropy * entropy_term (A, I, O, O, 1, lamb_entropy, grad ? dA : NULL);

      if (grad)
        {
          for (int i = 0; i < I; i++)
            {
              double R = sx[i] + REG_INPUT_RANGE_OFFSET, bsum = 0.0;
              for (int j = 0; j < O; j++)
                {
                  size_t e = (size_t) i * O + j;
                  W->alpha[e] = sp[e] > 0 ? scale * dA[e] / (R * (n - 1) * sp[e]) : 0.0;
                  bsum += dA[e] * (-A[e] / R);
                }
              /* Layer 0's inputs are data: nothing upstream to train. */
              W->beta[i] = (l > 0 && sx[i] > 0) ? scale * bsum / ((n - 1) * sx[i]) : 0.0;
            }
        }

      if (lamb_coef != 0.0 || lamb_coefdiff != 0.0)
        for (int i = 0; i < I; i++)
          for (int j = 0; j < O; j++)
            {
              const double *c = L->coef + ((size_t) i * O + j) * P;
              double *gc = grad ? grad + (c - m->params) : NULL;
              for (int r = 0; r < P; r++)
                {
                  reg += lamb_coef * fabs (c[r]) / O;
                  if (gc)
                    gc[r] += scale * lamb_coef * ((c[r] > 0) - (c[r] < 0)) / O;
                  if (r + 1 < P)
                    {
                      double d = c[r + 1] - c[r], sg = (d > 0) - (d < 0);
                      reg += lamb_coefdiff * fabs (d) / O;
                      if (gc)
                        {
                          gc[r + 1] += scale * lamb_coefdiff * sg / O;
                          gc[r] -= scale * lamb_coefdiff * sg / O;
                        }
                    }
                }
            }
      g_free (A);
      g_free (dA);
      g_free (sx);
      g_free (sp);
    }
  w->reg_pending = grad != NULL && n > 1;
  return reg;
}
