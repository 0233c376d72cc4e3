/* kan-dense.c — the edges of a wide layer as matrix products.
 *
 * Every edge (i, j) of a layer sees the same basis values of its input node i, so with the
 * feature row of sample b
 *
 *   X[b, i·(P+1)]       = b(x_bi)              (the base function)
 *   X[b, i·(P+1) + 1+p] = B_p(x_bi), p < P     (all P bases; k+1 of them non-zero)
 *
 * and the weights Wt[j, i·(P+1)] = mask·scale_base, Wt[j, i·(P+1) + 1+p] = mask·scale_sp·c_ijp
 * (0 on masked edges), the subnode sums are z = Wt·Xᵀ (O × n), one dgemm. Backward, with gz
 * (O × n) = ∂/∂z: GF = gz·X (O × D) holds Σ_b gz_jb·X[b, ·], from which every edge parameter's
 * gradient follows (coefficients mask·scale_sp·GF, scale_base mask·GF[base column], scale_sp
 * mask·Σ_p c_p·GF); and H = gzᵀ·Wt (n × D) gives ∂/∂x_bi = b'(x)·H[b, base column] +
 * Σ_r B'_{m0+r}(x)·H[b, 1+m0+r] from the k+2 non-zero derivative features. Dense products do
 * (P+1)/(k+2) times the arithmetic of the per-edge pass but at the speed of OpenBLAS's
 * kernels, which wins by far on wide layers at small grids.
 *
 * What the matrix path does not cover goes the per-edge way (kan-forward.c, kan-backward.c):
 * layers with symbolic edges, non-finite features (a masked edge must stay exactly 0 whatever
 * its input), a pending regulariser gradient (it is per edge), and layers below the size rule
 * (dense_wanted), and every forward after one whose per-edge outputs were read (training with
 * the regulariser reads them each time). Masks, multiplication nodes (after the subnode sums) and non-uniform grids
 * (in the bases) need nothing special. The per-edge outputs (postnum, spl), which only the
 * regulariser, kan_work_edge_output and the Jacobian read, are written on demand by
 * kan_dense_edges exactly as the per-edge forward writes them.
 *
 * Results match the per-edge pass to rounding (the sums run in another order) and are the same
 * bits run to run: OpenBLAS's dgemm with one thread sums in a fixed order, and with several
 * training threads each thread multiplies its own rows in its own workspace.
 */
#include "kan-dense-private.h"

#include <gsl/gsl_cblas.h>
#include <math.h>
#include <string.h>

/* The size rule: the matrix path when a layer has at least DENSE_MIN_OUT subnodes (the cost of
 * the features is shared by that many edges), at most MIN (O, DENSE_MAX_COLS) features per
 * input (the dense products do (P+1)/(k+2) times the arithmetic of the per-edge pass; with P+1
 * ≤ O the features and H take no more memory than the per-edge outputs the path leaves
 * untouched), and at least DENSE_MIN_WORK sample-edges. Measured on the release build, one
 * thread, forward+backward with the bases (per-edge / matrix, ms): [784,64] 1024 rows G=5
 * 499/101, G=10 511/132, G=20 547/230; [64,64] G=5 56/8.1, G=20 59/20, G=50 59/39; [16,16]
 * 1000 rows 2.5/0.89; [100,16] 14.7/7.3; [100,8] 8.3/5.2; [10,10] layers 1.2×; [8,8,1] 4096
 * rows 0.86×. The limits keep a margin of about 2× at the edges of the rule, so that the rule
 * still holds for a per-edge pass twice as fast as today's. */
#define DENSE_MIN_OUT  16
#define DENSE_MAX_COLS 24
#define DENSE_MIN_WORK ((size_t) 1 << 16)

typedef struct
{
  double  *x;        /* n_max × D features, row by row */
  double  *wt;       /* O × D weights */
  double  *gf;       /* O × D: gz·X */
  double  *h;        /* n_max × D: gzᵀ·Wt (layers l > 0) */
  gboolean x_valid;  /* x holds the features of the layer's current bases (layer 0's cache) */
  gboolean finite;   /* … and they are all finite */
  gboolean active;   /* the last forward went this way */
  gboolean edges;    /* … and kan_dense_edges has written its per-edge outputs since */
} DenseLayer;

struct _KanDense
{
  KanDensePolicy  policy;
  /* kan_dense_edges was called since the last forward (edges_read) and before it (prefer_edges):
   * a caller that reads the per-edge outputs after every forward (training with the
   * regulariser) gets the per-edge pass, which writes them anyway, under KAN_DENSE_AUTO. */
  gboolean        edges_read, prefer_edges;
  int             depth;
  DenseLayer     *dl;
  const KanModel *model;   /* borrowed: the model of the last forward */
};

/* One BLAS thread (as kan-train.c sets for trainers, and kanvas-cli and the workbench in main)
 * for programs that call the passes without a trainer: OpenBLAS's own threads would share out
 * the products by the cores free at the time. */
void
kan_blas_single_thread (void)
{
  extern void openblas_set_num_threads (int n);
  static gsize done = 0;

  if (!g_once_init_enter (&done))
    return;
  openblas_set_num_threads (1);
  g_once_init_leave (&done, 1);
}

static KanDense *
dense_get (KanWork *w)
{
  if (w->dense == NULL)
    {
      kan_blas_single_thread ();
      w->dense = g_new0 (KanDense, 1);
      w->dense->depth = w->depth;
      w->dense->dl = g_new0 (DenseLayer, w->depth);
    }
  return w->dense;
}

void
kan_dense_set_policy (KanWork *w, KanDensePolicy policy)
{
  g_return_if_fail (w != NULL);
  dense_get (w)->policy = policy;
}

gboolean
kan_dense_layer_active (const KanWork *w, int l)
{
  g_return_val_if_fail (w != NULL && l >= 0 && l < w->depth, FALSE);
  return w->dense != NULL && w->dense->dl[l].active;
}

void
kan_dense_free (KanDense *d)
{
  if (d == NULL)
    return;
  for (int l = 0; l < d->depth; l++)
    {
      DenseLayer *D = &d->dl[l];
      g_free (D->x); g_free (D->wt); g_free (D->gf); g_free (D->h);
    }
  g_free (d->dl);
  g_free (d);
}

void
kan_dense_forget (KanWork *w)
{
  if (w->dense != NULL)
    w->dense->dl[0].x_valid = FALSE;
}

/* The size rule but for the work: the shape of layer L allows the matrix path. */
static gboolean
dense_shape_ok (const KanModel *m, const KanLayer *L)
{
  return L->n_out >= DENSE_MIN_OUT && m->G + m->k + 1 <= MIN (L->n_out, DENSE_MAX_COLS);
}

static gboolean
dense_wanted (const KanModel *m, const KanLayer *L, const KanDense *d, size_t n,
              gboolean has_sym)
{
  KanDensePolicy policy = d ? d->policy : KAN_DENSE_AUTO;

  if (has_sym || policy == KAN_DENSE_NEVER || n == 0)
    return FALSE;
  if (policy == KAN_DENSE_ALWAYS)
    return TRUE;
  return dense_shape_ok (m, L) && n * L->n_in * L->n_out >= DENSE_MIN_WORK
         && !(d && d->prefer_edges);
}

double
kan_dense_doubles (const KanModel *m, double n)
{
  double total = 0.0;

  for (int l = 0; l < m->depth; l++)
    {
      const KanLayer *L = &m->layers[l];
      double D = (double) L->n_in * (m->G + m->k + 1);
      if (dense_shape_ok (m, L))
        total += n * D * (l > 0 ? 2 : 1) + 2.0 * L->n_out * D;
    }
  return total;
}

/* The feature rows X (n × D) of layer input node by node from the sorted bases of WorkLayer;
 * TRUE if all are finite. */
static gboolean
dense_features (const KanModel *m, const KanLayer *L, const WorkLayer *W, double *restrict X,
                size_t n)
{
  int I = L->n_in, P = m->G + m->k, K1 = m->k + 1;
  size_t D = (size_t) I * (P + 1);
  double probe = 0.0;

  memset (X, 0, sizeof (double) * n * D);
  for (int i = 0; i < I; i++)
    {
      const int *restrict perm = W->perm + (size_t) i * n, *restrict m0 = W->m0 + (size_t) i * n;
      const double *restrict bas = W->bas + (size_t) i * n * K1;
      const double *restrict base = W->base + (size_t) i * n;
      for (size_t kk = 0; kk < n; kk++)
        {
          size_t b = (size_t) perm[kk];
          double *row = X + b * D + (size_t) i * (P + 1);
          row[0] = base[kk];
          probe += 0.0 * base[kk];
          for (int r = 0; r < K1; r++)
            {
              row[1 + m0[b] + r] = bas[(size_t) r * n + kk];
              probe += 0.0 * bas[(size_t) r * n + kk];
            }
        }
    }
  return probe == 0.0;   /* 0·v is NaN for v infinite or NaN */
}

/* Wt (O × D) from the layer's current parameters. */
static void
dense_weights (const KanModel *m, const KanLayer *L, double *restrict wt)
{
  int I = L->n_in, O = L->n_out, P = m->G + m->k;
  size_t D = (size_t) I * (P + 1);

  for (int j = 0; j < O; j++)
    for (int i = 0; i < I; i++)
      {
        size_t e = (size_t) i * O + j;
        double *row = wt + j * D + (size_t) i * (P + 1), msk = L->mask[e];
        const double *c = L->coef + e * P;
        if (msk == 0.0)
          {
            memset (row, 0, sizeof (double) * (P + 1));
            continue;
          }
        row[0] = msk * L->scale_base[e];
        for (int p = 0; p < P; p++)
          row[1 + p] = (msk * L->scale_sp[e]) * c[p];
      }
}

gboolean
kan_dense_forward_layer (const KanModel *m, KanWork *w, int l, gboolean has_sym)
{
  const KanLayer *L = &m->layers[l];
  WorkLayer *W = &w->wl[l];
  KanDense *d;
  DenseLayer *DL;
  size_t n = w->n, D = (size_t) L->n_in * (m->G + m->k + 1);
  int O = L->n_out;

  /* A forward starts at layer 0: the layers after the last it reaches are not its own. */
  if (w->dense != NULL)
    {
      for (int q = l; q < w->depth; q++)
        w->dense->dl[q].active = FALSE;
      if (l == 0)
        {
          w->dense->prefer_edges = w->dense->edges_read;
          w->dense->edges_read = FALSE;
        }
    }
  if (!dense_wanted (m, L, w->dense, n, has_sym))
    return FALSE;
  d = dense_get (w);
  DL = &d->dl[l];
  if (DL->x == NULL)
    {
      DL->x = g_new (double, w->n_max * D);
      DL->wt = g_new (double, (size_t) O * D);
      DL->gf = g_new (double, (size_t) O * D);
    }
  if (l > 0 || !DL->x_valid)
    {
      DL->finite = dense_features (m, L, W, DL->x, n);
      DL->x_valid = TRUE;
    }
  if (!DL->finite)
    return FALSE;
  if (kan_work_tick (w, n * L->n_in * O))
    return TRUE;
  dense_weights (m, L, DL->wt);
  cblas_dgemm (CblasRowMajor, CblasNoTrans, CblasTrans, O, (int) n, (int) D, 1.0, DL->wt,
               (int) D, DL->x, (int) D, 0.0, W->z, (int) n);
  W->post_alias = TRUE;
  DL->active = TRUE;
  DL->edges = FALSE;
  d->model = m;
  return TRUE;
}

gboolean
kan_dense_backward_layer (const KanModel *m, KanWork *w, int l, const double *gz, double *gx,
                          double *grad)
{
  const KanLayer *L = &m->layers[l];
  const WorkLayer *W = &w->wl[l];
  DenseLayer *DL;
  int I = L->n_in, O = L->n_out, P = m->G + m->k, K1 = m->k + 1;
  size_t n = w->n, D = (size_t) I * (P + 1);
  double *g_coef = grad + (L->coef - m->params), *g_sb = grad + (L->scale_base - m->params);
  double *g_sp = grad + (L->scale_sp - m->params);

  if (w->dense == NULL || !w->dense->dl[l].active || w->reg_pending)
    return FALSE;
  DL = &w->dense->dl[l];
  if (kan_work_tick (w, n * I * O))
    return TRUE;
  dense_weights (m, L, DL->wt);
  cblas_dgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, O, (int) D, (int) n, 1.0, gz, (int) n,
               DL->x, (int) D, 0.0, DL->gf, (int) D);
  for (int i = 0; i < I; i++)
    for (int j = 0; j < O; j++)
      {
        size_t e = (size_t) i * O + j;
        const double *gf = DL->gf + j * D + (size_t) i * (P + 1), *c = L->coef + e * P;
        double msk = L->mask[e], gs, sp = 0.0;
        if (msk == 0.0)
          continue;
        gs = msk * L->scale_sp[e];
        for (int p = 0; p < P; p++)
          {
            g_coef[e * P + p] += gs * gf[1 + p];
            sp += c[p] * gf[1 + p];
          }
        g_sb[e] += msk * gf[0];
        g_sp[e] += msk * sp;
      }
  if (l == 0)
    return TRUE;

  /* ∂/∂x from the non-zero derivative features of each (row, node). */
  if (DL->h == NULL)
    DL->h = g_new (double, w->n_max * D);
  if (kan_work_tick (w, n * I * O))
    return TRUE;
  cblas_dgemm (CblasRowMajor, CblasTrans, CblasNoTrans, (int) n, (int) D, O, 1.0, gz, (int) n,
               DL->wt, (int) D, 0.0, DL->h, (int) D);
  for (int i = 0; i < I; i++)
    {
      const int *restrict pos = W->pos + (size_t) i * n, *restrict m0 = W->m0 + (size_t) i * n;
      const double *restrict dbas = W->dbas + (size_t) i * n * K1;
      const double *restrict dbase = W->dbase + (size_t) i * n;
      double *restrict gxi = gx + (size_t) i * n;
      for (size_t b = 0; b < n; b++)
        {
          const double *h = DL->h + b * D + (size_t) i * (P + 1);
          size_t kk = (size_t) pos[b];
          double v = dbase[kk] * h[0];
          for (int r = 0; r < K1; r++)
            v += dbas[(size_t) r * n + kk] * h[1 + m0[b] + r];
          gxi[b] += v;
        }
    }
  return TRUE;
}

/* The per-edge outputs of layer L as forward_edges (kan-forward.c) writes them, with the same
 * operations in the same order, so their bits match the per-edge pass. */
static void
dense_edges_layer (const KanModel *m, const KanLayer *L, WorkLayer *W, size_t n)
{
  int I = L->n_in, O = L->n_out, P = m->G + m->k, K1 = m->k + 1, G = m->G;
  size_t IO = (size_t) I * O;

  for (int i = 0; i < I; i++)
    for (int j = 0; j < O; j++)
      {
        size_t e = (size_t) i * O + j;
        const int *runs = W->runs + (size_t) i * (G + 1), *perm = W->perm + (size_t) i * n;
        const double *bas = W->bas + (size_t) i * n * K1, *base = W->base + (size_t) i * n;
        const double *c = L->coef + e * P;
        double msk = L->mask[e], wb = msk * L->scale_base[e], ws = msk * L->scale_sp[e];
        double *spl = W->spl + e * n;

        if (msk == 0.0)
          {
            for (size_t b = 0; b < n; b++)
              W->postnum[b * IO + e] = 0.0;
            continue;
          }
        for (int q = 0; q < G; q++)
          for (size_t kk = (size_t) runs[q]; kk < (size_t) runs[q + 1]; kk++)
            {
              double sv = 0.0;
              for (int r = 0; r < K1; r++)
                sv += c[q + r] * bas[(size_t) r * n + kk];
              spl[kk] = sv;
            }
        for (size_t kk = 0; kk < n; kk++)
          W->postnum[(size_t) perm[kk] * IO + e] = wb * base[kk] + ws * spl[kk];
      }
}

void
kan_dense_edges (KanWork *w)
{
  KanDense *d = w->dense;

  kan_forward_write_edges (w);   /* the per-edge pass's layers */
  if (d == NULL)
    return;
  d->edges_read = TRUE;
  for (int l = 0; l < d->depth; l++)
    if (d->dl[l].active && !d->dl[l].edges)
      {
        dense_edges_layer (d->model, &d->model->layers[l], &w->wl[l], w->n);
        d->dl[l].edges = TRUE;
      }
}
