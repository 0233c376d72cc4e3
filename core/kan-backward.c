/* kan-backward.c — the backward pass of the last forward, and the Jacobian built from it.
 *
 * Shapes in comments: n rows (samples), I = n_in nodes of the layer, O = n_out subnodes,
 * Q = n_next nodes after multiplication, P = G+k bases, K1 = k+1 non-zero bases at a point.
 */
#include "kan-work-private.h"
#include "kan-spline.h"

#include <string.h>

/* ------------------------------------------------------------------------------------------ */
/* Backward                                                                                    */

/* Backward of sample B: DOUT (n_out) → adds into GRAD. K1 as in forward_edges. */
G_ALWAYS_INLINE static inline void
backward_sample_k (const KanModel *m,
                   KanWork        *w,
                   size_t          b,
                   const double   *dout,
                   double         *grad,
                   int             K1)
{
  int P = m->G + m->k;
  double *g = w->g_a, *gx = w->g_b;
  gboolean reg = w->reg_pending;

  memcpy (g, dout, sizeof (double) * kan_model_n_out (m));
  for (int l = m->depth - 1; l >= 0; l--)
    {
      const KanLayer *L = &m->layers[l];
      WorkLayer *W = &w->wl[l];
      int I = L->n_in, O = L->n_out, Q = L->n_next;
      const double *zs = W->zs + b * O, *z = W->z + b * O, *y = W->y + b * Q;
      double *gz = w->g_c;   /* ∂/∂z, per subnode */
      size_t off_ns = L->node_scale - m->params, off_nb = L->node_bias - m->params;
      size_t off_ss = L->subnode_scale - m->params, off_sb = L->subnode_bias - m->params;
      size_t off_coef = L->coef - m->params, off_sbase = L->scale_base - m->params;
      size_t off_ssp = L->scale_sp - m->params, off_sym = L->sym - m->params;

      /* Node affine and multiplication. */
      for (int q = 0; q < Q; q++)
        {
          double gq = g[q];
          double gy = gq * L->node_scale[q];
          int s0 = L->group_start[q], s1 = L->group_start[q + 1];
          grad[off_ns + q] += gq * y[q];
          grad[off_nb + q] += gq;
          for (int s = s0; s < s1; s++)
            {
              double others = 1.0;
              for (int t = s0; t < s1; t++)
                if (t != s)
                  others *= zs[t];
              /* Subnode affine: zs = ss·z + sb. */
              grad[off_ss + s] += gy * others * z[s];
              grad[off_sb + s] += gy * others;
              gz[s] = gy * others * L->subnode_scale[s];
            }
        }

      /* Edges. */
      for (int i = 0; i < I; i++)
        {
          size_t bi = b * I + i;
          int m0 = W->m0[bi];
          const double *bas = W->bas + bi * K1;
          double xv = W->x[bi], bv = W->base[bi], dbv = W->dbase[bi], gxi = 0.0;
          for (int j = 0; j < O; j++)
            {
              size_t e = (size_t) i * O + j, bij = bi * O + j;
              double gnum = gz[j];
              if (reg)
                gnum += W->alpha[e] * (W->postnum[bij] - W->mean_p[e]);
              if (L->mask[e] != 0.0)
                {
                  double gm = gnum * L->mask[e];
                  double gs = gm * L->scale_sp[e];
                  if (m0 >= 0)
                    {
                      double *gc = grad + off_coef + e * P + m0;
                      KAN_UNROLL
                      for (int r = 0; r < K1; r++)
                        gc[r] += gs * bas[r];
                    }
                  grad[off_sbase + e] += gm * bv;
                  grad[off_ssp + e] += gm * W->spl[bij];
                  if (l > 0)
                    gxi += gm * (L->scale_base[e] * dbv + L->scale_sp[e] * W->dspl[bij]);
                }
              if (L->mask_sym[e] != 0.0)
                {
                  const double *a = L->sym + e * 4;
                  double gsym = gz[j] * L->mask_sym[e];
                  double f = W->symf[bij], fp = W->dsymf[bij];
                  double gu = gsym * a[2] * fp;
                  double *ga = grad + off_sym + e * 4;
                  ga[0] += gu * xv;
                  ga[1] += gu;
                  ga[2] += gsym * f;
                  ga[3] += gsym;
                  gxi += gu * a[0];
                }
            }
          if (reg)
            gxi += W->beta[i] * (xv - W->mean_x[i]);
          gx[i] = gxi;
        }
      if (l > 0)
        memcpy (g, gx, sizeof (double) * I);
    }
}

static void
backward_sample (const KanModel *m, KanWork *w, size_t b, const double *dout, double *grad)
{
  if (m->k == 3)
    backward_sample_k (m, w, b, dout, grad, 4);
  else
    backward_sample_k (m, w, b, dout, grad, m->k + 1);
}

/* Backward over all rows of the last forward, layer by layer and edge by edge: per-edge sums
 * stay in registers and the branches on masks and the regulariser leave the inner loops.
 * K1 as in forward_edges. */
G_ALWAYS_INLINE static inline void
backward_batch_k (const KanModel *m,
                  KanWork        *w,
                  const double   *dout,
                  double         *grad,
                  int             K1)
{
  size_t n = w->n;
  int P = m->G + m->k;
  gboolean reg = w->reg_pending;
  double *g = w->gb1, *gx = w->gb2, *gz = w->gzb;

  memcpy (g, dout, sizeof (double) * n * kan_model_n_out (m));
  for (int l = m->depth - 1; l >= 0; l--)
    {
      const KanLayer *L = &m->layers[l];
      WorkLayer *W = &w->wl[l];
      int I = L->n_in, O = L->n_out, Q = L->n_next;
      double *g_ns = grad + (L->node_scale - m->params), *g_nb = grad + (L->node_bias - m->params);
      double *g_ss = grad + (L->subnode_scale - m->params);
      double *g_sb = grad + (L->subnode_bias - m->params);

      /* Node affine and multiplication: g (n × Q) → gz (n × O). */
      for (size_t b = 0; b < n; b++)
        {
          const double *zs = W->zs + b * O, *z = W->z + b * O, *y = W->y + b * Q;
          for (int q = 0; q < Q; q++)
            {
              double gq = g[b * Q + q], gy = gq * L->node_scale[q];
              int s0 = L->group_start[q], s1 = L->group_start[q + 1];
              g_ns[q] += gq * y[q];
              g_nb[q] += gq;
              for (int s = s0; s < s1; s++)
                {
                  double others = 1.0;
                  for (int t = s0; t < s1; t++)
                    if (t != s)
                      others *= zs[t];
                  g_ss[s] += gy * others * z[s];
                  g_sb[s] += gy * others;
                  gz[b * O + s] = gy * others * L->subnode_scale[s];
                }
            }
        }

      if (l > 0)
        memset (gx, 0, sizeof (double) * n * I);
      for (int i = 0; i < I; i++)
        for (int j = 0; j < O; j++)
          {
            size_t e = (size_t) i * O + j;
            if (kan_work_tick (w, n))
              return;
            if (L->mask[e] != 0.0)
              {
                double msk = L->mask[e], sp = L->scale_sp[e], sbw = L->scale_base[e];
                double alpha = reg ? W->alpha[e] : 0.0, mp = W->mean_p[e];
                double acc_sb = 0.0, acc_sp = 0.0, *gcl = w->gcl, *gc;
                memset (gcl, 0, sizeof (double) * P);
                for (size_t b = 0; b < n; b++)
                  {
                    size_t bi = b * I + i, bij = bi * O + j;
                    double gm = gz[b * O + j];
                    int m0 = W->m0[bi];
                    if (reg)
                      gm += alpha * (W->postnum[bij] - mp);
                    gm *= msk;
                    if (m0 >= 0)
                      {
                        const double *bas = W->bas + bi * K1;
                        double gs = gm * sp;
                        KAN_UNROLL
                        for (int r = 0; r < K1; r++)
                          gcl[m0 + r] += gs * bas[r];
                      }
                    acc_sb += gm * W->base[bi];
                    acc_sp += gm * W->spl[bij];
                    if (l > 0)
                      gx[bi] += gm * (sbw * W->dbase[bi] + sp * W->dspl[bij]);
                  }
                gc = grad + (L->coef - m->params) + e * P;
                for (int r = 0; r < P; r++)
                  gc[r] += gcl[r];
                grad[(L->scale_base - m->params) + e] += acc_sb;
                grad[(L->scale_sp - m->params) + e] += acc_sp;
              }
            if (L->mask_sym[e] != 0.0)
              {
                const double *a = L->sym + e * 4;
                double ms = L->mask_sym[e], ga = 0.0, gb = 0.0, gcc = 0.0, gd = 0.0;
                double *gs4 = grad + (L->sym - m->params) + e * 4;
                for (size_t b = 0; b < n; b++)
                  {
                    size_t bi = b * I + i, bij = bi * O + j;
                    double gsym = gz[b * O + j] * ms;
                    double gu = gsym * a[2] * W->dsymf[bij];
                    ga += gu * W->x[bi];
                    gb += gu;
                    gcc += gsym * W->symf[bij];
                    gd += gsym;
                    if (l > 0)
                      gx[bi] += gu * a[0];
                  }
                gs4[0] += ga;
                gs4[1] += gb;
                gs4[2] += gcc;
                gs4[3] += gd;
              }
          }

      if (l > 0)
        {
          double *tmp;
          if (reg)
            for (size_t b = 0; b < n; b++)
              for (int i = 0; i < I; i++)
                gx[b * I + i] += W->beta[i] * (W->x[b * I + i] - W->mean_x[i]);
          tmp = g;
          g = gx;
          gx = tmp;
        }
    }
}

void
kan_model_backward (const KanModel *m,
                    KanWork        *w,
                    const double   *dout,
                    double         *grad)
{
  g_return_if_fail (m != NULL && w != NULL);
  g_return_if_fail ((dout != NULL && grad != NULL) || w->n == 0);
  if (m->k == 3)
    backward_batch_k (m, w, dout, grad, 4);
  else
    backward_batch_k (m, w, dout, grad, m->k + 1);
  w->reg_pending = FALSE;
}

void
kan_model_jacobian (const KanModel *m,
                    KanWork        *w,
                    const size_t   *idx,
                    size_t          n_idx,
                    double         *jac)
{
  int O;
  double *row, *e;
  gboolean reg;

  g_return_if_fail (m != NULL && w != NULL);
  g_return_if_fail ((idx != NULL && jac != NULL) || n_idx == 0);
  O = kan_model_n_out (m);
  row = g_new (double, m->n_params);
  e = g_new0 (double, O);
  reg = w->reg_pending;
  w->reg_pending = FALSE;
  for (size_t b = 0; b < w->n && !kan_work_tick (w, m->n_params); b++)
    for (int o = 0; o < O; o++)
      {
        double *J = jac + (b * O + o) * n_idx;
        memset (row, 0, sizeof (double) * m->n_params);
        e[o] = 1.0;
        backward_sample (m, w, b, e, row);
        e[o] = 0.0;
        for (size_t q = 0; q < n_idx; q++)
          J[q] = row[idx[q]];
      }
  w->reg_pending = reg;
  g_free (row);
  g_free (e);
}
