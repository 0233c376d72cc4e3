/* test-layout.c — the sample-major forward and backward passes (kan-forward.c, kan-backward.c,
 * kan_spline_basis_block3, kan_spline_first3, kan_spline_cubic_run) against a straightforward
 * reference written here: one row at a time, the bases from kan_spline_basis (Cox–de Boor
 * without the tables; on knots that are not uniform, kan_spline_basis_tab at one point, the
 * old row-by-row path's), every edge, subnode and node by the definitions. Loss, every gradient
 * component, the Jacobian and the edge outputs agree to 1e-12 (relative to the sum of the
 * magnitudes of the terms, the scale of the rounding in any order of summation), on random
 * models with every parameter kind, masks, symbolic edges, multiplication nodes, several grids
 * and orders (rows sorted by knot span and by interval), uniform and not, inputs inside the
 * grid, near its ends and beyond the last knots; and two evaluations give the same bits.
 * Layer 0's feature path (few bases: the edges as sums over cached features) against the
 * per-edge pass: the same outputs and edge outputs bit for bit, with masks, after the inputs,
 * the grid or an edge's kind change, and with a coefficient that is not finite.
 */
#include "test-helpers.h"
#include "kan-model-private.h"
#include "kan-work-private.h"
#include "kan-spline.h"
#include "kan-symbolic.h"

#include <math.h>
#include <string.h>

#define REL_TOL 1e-12

/* ------------------------------------------------------------------------------------------ */
/* Reference                                                                                   */

static double
ref_base (KanBaseFun f, double x, double *d)
{
  if (f == KAN_BASE_SILU)
    {
      double sg = 1.0 / (1.0 + exp (-x));
      *d = sg * (1.0 + x * (1.0 - sg));
      return x * sg;
    }
  if (f == KAN_BASE_IDENTITY)
    {
      *d = 1.0;
      return x;
    }
  *d = 0.0;
  return 0.0;
}

/* The reference's bases: kan_spline_basis (Cox–de Boor) by default. On knots that are not
 * uniform its rounding and the tabulated recursion's differ by more than 1e-12 of a tiny
 * basis near the end of its support, so those cases compare with the old row-by-row path's
 * bases instead, kan_spline_basis_tab at one point. */
static gboolean ref_tabulated;

static int
ref_basis (const KanModel *m, const KanLayer *L, int i, double x, double *b, double *db)
{
  const double *t = kan_layer_knots (m, L, i);
  int len = kan_spline_ext_len (m->G, m->k), m0;
  double *ext, *inv;

  if (!ref_tabulated)
    return kan_spline_basis (t, m->G, m->k, x, b, db);
  ext = g_new (double, len);
  inv = g_new (double, (size_t) MAX (m->k, 1) * len);
  kan_spline_tables (t, m->G, m->k, ext, inv);
  m0 = kan_spline_basis_tab (t, ext, inv, m->G, m->k, x, b, db);
  g_free (ext);
  g_free (inv);
  return m0;
}

/* Per layer and row: the values the backward pass needs. */
typedef struct
{
  double *x, *z, *zs, *y;    /* I, O, O, Q */
} RefLayer;

/* Forward of row X (n_in) through M into the per-layer values RL; the output into OUT and
 * the edge outputs of layer l into POST[l] (I × O). */
static void
ref_forward_row (const KanModel *m, const double *x, double y_th, RefLayer *rl, double **post,
                 double *out)
{
  int P = m->G + m->k;

  memcpy (rl[0].x, x, sizeof (double) * m->layers[0].n_in);
  for (int l = 0; l < m->depth; l++)
    {
      const KanLayer *L = &m->layers[l];
      double *next = l + 1 < m->depth ? rl[l + 1].x : out;
      for (int j = 0; j < L->n_out; j++)
        rl[l].z[j] = 0.0;
      for (int i = 0; i < L->n_in; i++)
        {
          double xv = rl[l].x[i], b[KAN_SPLINE_MAX_K + 1], db, bv;
          int m0 = ref_basis (m, L, i, xv, b, NULL);
          bv = ref_base (m->base_fun, xv, &db);
          for (int j = 0; j < L->n_out; j++)
            {
              size_t e = (size_t) i * L->n_out + j;
              double v = 0.0, spl = 0.0;
              if (m0 >= 0)
                for (int r = 0; r <= m->k; r++)
                  spl += L->coef[e * P + m0 + r] * b[r];
              if (L->mask[e] != 0.0)
                v += L->mask[e] * (L->scale_base[e] * bv + L->scale_sp[e] * spl);
              if (L->mask_sym[e] != 0.0)
                {
                  const double *a = L->sym + e * 4;
                  double f = kan_sym_eval (L->sym_fn[e], a[0] * xv + a[1], y_th, NULL);
                  v += L->mask_sym[e] * (a[2] * f + a[3]);
                }
              post[l][e] = v;
              rl[l].z[j] += v;
            }
        }
      for (int j = 0; j < L->n_out; j++)
        rl[l].zs[j] = L->subnode_scale[j] * rl[l].z[j] + L->subnode_bias[j];
      for (int q = 0; q < L->n_next; q++)
        {
          rl[l].y[q] = 1.0;
          for (int s = L->group_start[q]; s < L->group_start[q + 1]; s++)
            rl[l].y[q] *= rl[l].zs[s];
          next[q] = L->node_scale[q] * rl[l].y[q] + L->node_bias[q];
        }
    }
}

/* Adds T into GRAD[P] and |T| into GABS[P]. */
static inline void
acc (double *grad, double *gabs, size_t p, double t)
{
  grad[p] += t;
  gabs[p] += fabs (t);
}

/* Backward of the row last given to ref_forward_row: DOUT (n_out) → GRAD and GABS (n_params). */
static void
ref_backward_row (const KanModel *m, RefLayer *rl, const double *dout, double y_th,
                  double *grad, double *gabs, double *g, double *gx, double *gz)
{
  int P = m->G + m->k;

  memcpy (g, dout, sizeof (double) * kan_model_n_out (m));
  for (int l = m->depth - 1; l >= 0; l--)
    {
      const KanLayer *L = &m->layers[l];
      const RefLayer *R = &rl[l];
      for (int q = 0; q < L->n_next; q++)
        {
          double gy = g[q] * L->node_scale[q];
          acc (grad, gabs, L->node_scale - m->params + q, g[q] * R->y[q]);
          acc (grad, gabs, L->node_bias - m->params + q, g[q]);
          for (int s = L->group_start[q]; s < L->group_start[q + 1]; s++)
            {
              double others = 1.0;
              for (int t = L->group_start[q]; t < L->group_start[q + 1]; t++)
                if (t != s)
                  others *= R->zs[t];
              acc (grad, gabs, L->subnode_scale - m->params + s, gy * others * R->z[s]);
              acc (grad, gabs, L->subnode_bias - m->params + s, gy * others);
              gz[s] = gy * others * L->subnode_scale[s];
            }
        }
      for (int i = 0; i < L->n_in; i++)
        {
          double xv = R->x[i], b[KAN_SPLINE_MAX_K + 1], db[KAN_SPLINE_MAX_K + 1], dbv, bv;
          int m0 = ref_basis (m, L, i, xv, b, db);
          bv = ref_base (m->base_fun, xv, &dbv);
          gx[i] = 0.0;
          for (int j = 0; j < L->n_out; j++)
            {
              size_t e = (size_t) i * L->n_out + j;
              if (L->mask[e] != 0.0)
                {
                  double gm = gz[j] * L->mask[e], spl = 0.0, dspl = 0.0;
                  if (m0 >= 0)
                    for (int r = 0; r <= m->k; r++)
                      {
                        spl += L->coef[e * P + m0 + r] * b[r];
                        dspl += L->coef[e * P + m0 + r] * db[r];
                        acc (grad, gabs, L->coef - m->params + e * P + m0 + r,
                             gm * L->scale_sp[e] * b[r]);
                      }
                  acc (grad, gabs, L->scale_base - m->params + e, gm * bv);
                  acc (grad, gabs, L->scale_sp - m->params + e, gm * spl);
                  gx[i] += gm * (L->scale_base[e] * dbv + L->scale_sp[e] * dspl);
                }
              if (L->mask_sym[e] != 0.0)
                {
                  const double *a = L->sym + e * 4;
                  size_t o = L->sym - m->params + e * 4;
                  double fp, f = kan_sym_eval (L->sym_fn[e], a[0] * xv + a[1], y_th, &fp);
                  double gsym = gz[j] * L->mask_sym[e], gu = gsym * a[2] * fp;
                  acc (grad, gabs, o + 0, gu * xv);
                  acc (grad, gabs, o + 1, gu);
                  acc (grad, gabs, o + 2, gsym * f);
                  acc (grad, gabs, o + 3, gsym);
                  gx[i] += gu * a[0];
                }
            }
        }
      memcpy (g, gx, sizeof (double) * L->n_in);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Random models                                                                               */

typedef struct
{
  const char *width, *arity;
  int         G, k;
  KanBaseFun  base;
  gboolean    skew;     /* knots re-placed from skewed samples: not uniform */
} Case;

static const Case cases[] = {
  { "2,5,1",     NULL, 5,  3, KAN_BASE_SILU },       /* T1 */
  { "3,4,2",     NULL, 7,  2, KAN_BASE_SILU },
  { "2,[3,2],1", "2",  6,  3, KAN_BASE_SILU },       /* multiplication nodes */
  { "3,[2,1],2", "3",  4,  1, KAN_BASE_IDENTITY },
  { "2,3,3,1",   NULL, 30, 3, KAN_BASE_SILU },       /* many knots, still sorted by span */
  { "2,3,1",     NULL, 40, 3, KAN_BASE_SILU },       /* sorted by interval: binary search */
  { "2,5,1",     NULL, 5,  3, KAN_BASE_SILU, TRUE }, /* non-uniform knots */
  { "2,[3,2],1", "2",  36, 3, KAN_BASE_SILU, TRUE },
  { "2,2",       NULL, 4,  4, KAN_BASE_ZERO },
  { "4,3,1",     NULL, 3,  3, KAN_BASE_SILU },
};

/* The model of case C (seed SEED); with C->skew its knots re-placed from samples u³ (u
 * uniform on [-1, 1]), so that they are not uniform. */
static KanModel *
case_model (const Case *c, int seed, gsl_rng *r)
{
  KanModel *m = kt_model_new (c->width, c->arity, c->G, c->k, c->base, seed);

  if (c->skew)
    {
      size_t ns = 200;
      int I = kan_model_n_in (m);
      double *xs = g_new (double, ns * I);
      for (size_t q = 0; q < ns * I; q++)
        xs[q] = pow (kt_unif (r, -1.0, 1.0), 3);
      ck_assert (kan_model_update_grid (m, xs, ns, NULL));
      g_free (xs);
    }
  return m;
}

/* Perturbs every parameter, and with EDGES sets random edges off, symbolic (sin, x^2, 1/x
 * through the singularity guard) or both. */
static void
randomize (KanModel *m, gsl_rng *r, gboolean edges)
{
  double *p = kan_model_params (m);
  const char *fns[] = { "sin", "x^2", "tanh", "1/x" };

  for (size_t q = 0; q < kan_model_n_params (m); q++)
    p[q] += kt_unif (r, -0.4, 0.4);
  if (!edges)
    return;
  for (int l = 0; l < kan_model_depth (m); l++)
    for (int i = 0; i < kan_model_layer_in (m, l); i++)
      for (int j = 0; j < kan_model_layer_out (m, l); j++)
        {
          double u = kt_unif (r, 0, 1);
          double abcd[4] = { kt_unif (r, 0.5, 1.5), kt_unif (r, -0.5, 0.5),
                             kt_unif (r, 0.5, 1.5), kt_unif (r, -0.5, 0.5) };
          int id = kan_sym_lookup (fns[gsl_rng_uniform_int (r, G_N_ELEMENTS (fns))]);
          ck_assert_int_ge (id, 0);
          if (u < 0.15)
            kan_model_set_edge (m, l, i, j, KAN_EDGE_OFF, 0, NULL);
          else if (u < 0.3)
            kan_model_set_edge (m, l, i, j, KAN_EDGE_SYMBOLIC, id, abcd);
          else if (u < 0.4)
            kan_model_set_edge (m, l, i, j, KAN_EDGE_BOTH, id, abcd);
        }
}

/* |A − B| within REL_TOL of SCALE (the sum of the magnitudes of the terms), and of |B|. */
static void
assert_close (double a, double b, double scale, const char *what, size_t idx)
{
  double tol = REL_TOL * MAX (scale, fabs (b));
  ck_assert_msg (fabs (a - b) <= tol || (a == b), "%s[%zu]: %.17g vs reference %.17g (tol %.3g)",
                 what, idx, a, b, tol);
}

/* ------------------------------------------------------------------------------------------ */
/* Tests                                                                                       */

START_TEST (test_against_reference)
{
  const Case *c = &cases[_i / 2];
  gboolean edges = _i % 2;
  gsl_rng *r = gsl_rng_alloc (gsl_rng_mt19937);
  KanModel *m;
  KanWork *w;
  size_t n = 300, P, nj = 23;
  int D, I, O, wmax = 1;
  double y_th = 10.0, *x, *out, *dout, *grad, *rgrad, *gabs, *rout, **post, *jac, *g, *gx, *gz;
  size_t *idx;
  RefLayer *rl;

  gsl_rng_set (r, 1234 + _i);
  m = case_model (c, 7 + _i, r);
  ref_tabulated = c->skew;
  randomize (m, r, edges);
  D = kan_model_depth (m);
  I = kan_model_n_in (m);
  O = kan_model_n_out (m);
  P = kan_model_n_params (m);
  for (int l = 0; l < D; l++)
    wmax = MAX (wmax, MAX (m->layers[l].n_in, MAX (m->layers[l].n_out, m->layers[l].n_next)));
  x = g_new (double, n * I);
  out = g_new (double, n * O);
  rout = g_new (double, O);
  dout = g_new (double, n * O);
  grad = g_new0 (double, P);
  rgrad = g_new0 (double, P);
  gabs = g_new0 (double, P);
  g = g_new (double, wmax);
  gx = g_new (double, wmax);
  gz = g_new (double, wmax);
  post = g_new (double *, D);
  rl = g_new (RefLayer, D);
  for (int l = 0; l < D; l++)
    {
      const KanLayer *L = &m->layers[l];
      post[l] = g_new (double, (size_t) L->n_in * L->n_out);
      rl[l].x = g_new (double, L->n_in);
      rl[l].z = g_new (double, L->n_out);
      rl[l].zs = g_new (double, L->n_out);
      rl[l].y = g_new (double, L->n_next);
    }
  /* Inputs mostly on the grid ([-1, 1]), some beyond it, a few beyond the last knots, one
   * exactly on a knot. */
  for (size_t q = 0; q < n * I; q++)
    x[q] = q % 17 == 0 ? kt_unif (r, -1.6, 1.6)
           : q % 29 == 0 ? kt_unif (r, -4.0, 4.0) : kt_unif (r, -1.0, 1.0);
  x[5 * I] = kan_layer_knots (m, &m->layers[0], 0)[m->k + 1];
  for (size_t q = 0; q < n * O; q++)
    dout[q] = kt_unif (r, -1.0, 1.0);

  w = kan_work_new (m, n);
  kan_model_forward (m, w, x, n, y_th, out);
  kan_model_backward (m, w, dout, grad);

  for (size_t b = 0; b < n; b++)
    {
      ref_forward_row (m, x + b * I, y_th, rl, post, rout);
      for (int o = 0; o < O; o++)
        ck_assert_msg (kt_close_to (out[b * O + o], rout[o], REL_TOL), "row %zu: %.17g vs %.17g",
                       b, out[b * O + o], rout[o]);
      for (int l = 0; l < D; l++)
        {
          size_t IO = (size_t) m->layers[l].n_in * m->layers[l].n_out;
          const double *wpost = kan_work_edge_output (w, l) + b * IO;
          for (size_t e = 0; e < IO; e++)
            assert_close (wpost[e], post[l][e], 1.0, "edge output", e);
        }
      ref_backward_row (m, rl, dout + b * O, y_th, rgrad, gabs, g, gx, gz);
    }
  for (size_t p = 0; p < P; p++)
    assert_close (grad[p], rgrad[p], gabs[p], "gradient", p);

  /* The Jacobian: row (b, o) is the gradient of output o of row b. */
  idx = g_new (size_t, P);
  for (size_t p = 0; p < P; p++)
    idx[p] = p;
  jac = g_new (double, nj * O * P);
  kan_model_forward (m, w, x, nj, y_th, NULL);
  kan_model_jacobian (m, w, idx, P, jac);
  for (size_t b = 0; b < nj; b++)
    for (int o = 0; o < O; o++)
      {
        double e1[8] = { 0 };
        ck_assert_int_le (O, 8);
        e1[o] = 1.0;
        memset (rgrad, 0, sizeof (double) * P);
        memset (gabs, 0, sizeof (double) * P);
        ref_forward_row (m, x + b * I, y_th, rl, post, rout);
        ref_backward_row (m, rl, e1, y_th, rgrad, gabs, g, gx, gz);
        for (size_t p = 0; p < P; p++)
          assert_close (jac[(b * O + o) * P + p], rgrad[p], gabs[p], "jacobian", p);
      }

  kan_work_free (w);
  for (int l = 0; l < D; l++)
    {
      g_free (post[l]);
      g_free (rl[l].x);
      g_free (rl[l].z);
      g_free (rl[l].zs);
      g_free (rl[l].y);
    }
  g_free (post);
  g_free (rl);
  g_free (idx);
  g_free (jac);
  g_free (x);
  g_free (out);
  g_free (rout);
  g_free (dout);
  g_free (grad);
  g_free (rgrad);
  g_free (gabs);
  g_free (g);
  g_free (gx);
  g_free (gz);
  kan_model_free (m);
  gsl_rng_free (r);
}
END_TEST

/* Loss + gradient (with the regulariser) twice in one workspace — the second time with
 * layer 0's bases cached — and once in a fresh one: the same bits every time. */
START_TEST (test_bit_identical)
{
  const Case *c = &cases[_i];
  gsl_rng *r = gsl_rng_alloc (gsl_rng_mt19937);
  KanModel *m;
  size_t n = 513, P;
  int I, O;
  double *x, *dout, *out[3], *grad[3], reg[3];
  KanWork *w = NULL;

  gsl_rng_set (r, 99 + _i);
  m = case_model (c, 3, r);
  randomize (m, r, TRUE);
  I = kan_model_n_in (m);
  O = kan_model_n_out (m);
  P = kan_model_n_params (m);
  x = g_new (double, n * I);
  dout = g_new (double, n * O);
  for (size_t q = 0; q < n * I; q++)
    x[q] = kt_unif (r, -1.2, 1.2);
  for (size_t q = 0; q < n * O; q++)
    dout[q] = kt_unif (r, -1.0, 1.0);
  for (int t = 0; t < 3; t++)
    {
      if (t != 1)
        {
          kan_work_free (w);
          w = kan_work_new (m, n);
        }
      out[t] = g_new (double, n * O);
      grad[t] = g_new0 (double, P);
      kan_model_forward (m, w, x, n, 10.0, out[t]);
      reg[t] = kan_model_reg (m, w, 1.0, 2.0, 0.5, 0.5, 0.01, grad[t]);
      kan_model_backward (m, w, dout, grad[t]);
    }
  kan_work_free (w);
  for (int t = 1; t < 3; t++)
    {
      ck_assert_int_eq (memcmp (out[0], out[t], sizeof (double) * n * O), 0);
      ck_assert_int_eq (memcmp (grad[0], grad[t], sizeof (double) * P), 0);
      ck_assert_int_eq (memcmp (&reg[0], &reg[t], sizeof (double)), 0);
    }
  for (int t = 0; t < 3; t++)
    {
      g_free (out[t]);
      g_free (grad[t]);
    }
  g_free (x);
  g_free (dout);
  kan_model_free (m);
  gsl_rng_free (r);
}
END_TEST

/* One loss+gradient pass in workspace W (kept: layer 0's features stay cached between
 * calls): the outputs, the gradient and layer 0's edge outputs, into fresh buffers. */
typedef struct
{
  double *out, *grad, *edges;
  gboolean feat;   /* layer 0 went the feature way */
} FeatPass;

static FeatPass
feat_pass (KanModel *m, KanWork *w, const double *x, size_t n, const double *dout)
{
  FeatPass p;
  size_t E = n * m->layers[0].n_in * m->layers[0].n_out;

  p.out = g_new (double, n * kan_model_n_out (m));
  p.grad = g_new0 (double, kan_model_n_params (m));
  kan_model_forward (m, w, x, n, 10.0, p.out);
  kan_model_backward (m, w, dout, p.grad);
  p.feat = w->wl[0].feat_active;
  p.edges = g_memdup2 (kan_work_edge_output (w, 0), sizeof (double) * E);
  return p;
}

static void
feat_pass_clear (FeatPass *p)
{
  g_free (p->out);
  g_free (p->grad);
  g_free (p->edges);
}

/* A against B: the outputs and layer 0's edge outputs bit for bit (the feature path computes
 * them with the per-edge pass's operations); the gradients to REL_TOL of the largest of their
 * block (the sums over the rows run in another order). */
static void
assert_feat_pass (const KanModel *m, const FeatPass *a, const FeatPass *b, size_t n,
                  const char *what)
{
  size_t P = kan_model_n_params (m), E = n * m->layers[0].n_in * m->layers[0].n_out;
  double scale = 0.0;

  ck_assert_msg (memcmp (a->out, b->out, sizeof (double) * n * kan_model_n_out (m)) == 0,
                 "%s: outputs", what);
  ck_assert_msg (memcmp (a->edges, b->edges, sizeof (double) * E) == 0, "%s: edge outputs",
                 what);
  for (size_t q = 0; q < P; q++)
    scale = MAX (scale, fabs (b->grad[q]));
  for (size_t q = 0; q < P; q++)
    assert_close (a->grad[q], b->grad[q], scale, what, q);
}

/* Layer 0's feature path (cached features, the edges as sums over them) against the per-edge
 * pass, on the cases with few bases: with masked edges; after the inputs change in place
 * (kan_work_input_changed), after a grid update, after an edge is made symbolic (the per-edge
 * pass) and numeric again, and with a coefficient that is not finite (the per-edge pass: its
 * rows alone are NaN). Each time the same workspace against a fresh one with the path off. */
START_TEST (test_feature_path)
{
  const Case *c = &cases[_i];
  gsl_rng *r = gsl_rng_alloc (gsl_rng_mt19937);
  KanModel *m;
  KanWork *w, *wref;
  size_t n = 301;
  int I, O, P;
  gboolean few;
  double *x, *dout;

  gsl_rng_set (r, 555 + _i);
  m = case_model (c, 11, r);
  randomize (m, r, FALSE);
  kan_model_set_edge (m, 0, 0, 0, KAN_EDGE_OFF, 0, NULL);
  if (m->layers[0].n_out > 1)
    kan_model_set_edge (m, 0, m->layers[0].n_in - 1, 1, KAN_EDGE_OFF, 0, NULL);
  I = kan_model_n_in (m);
  O = kan_model_n_out (m);
  P = m->G + m->k;
  few = P + 1 <= KAN_FEAT_MAX_COLS;
  x = g_new (double, n * I);
  dout = g_new (double, n * O);
  for (size_t q = 0; q < n * I; q++)
    x[q] = q % 23 == 0 ? kt_unif (r, -3.0, 3.0) : kt_unif (r, -1.1, 1.1);
  for (size_t q = 0; q < n * O; q++)
    dout[q] = kt_unif (r, -1.0, 1.0);
  w = kan_work_new (m, n);
  for (int step = 0; step < 6; step++)
    {
      FeatPass a, b;
      const char *what[] = { "masked edges", "cached features", "inputs changed",
                             "grid updated", "symbolic edge", "numeric again" };
      if (step == 2)
        {
          for (size_t q = 0; q < n * I; q++)
            x[q] = kt_unif (r, -1.3, 1.3);
          kan_work_input_changed (w);
        }
      else if (step == 3)
        ck_assert (kan_model_update_grid (m, x, n, NULL));
      else if (step == 4)
        {
          double abcd[4] = { 1.1, 0.2, 0.9, -0.1 };
          kan_model_set_edge (m, 0, 0, 0, KAN_EDGE_SYMBOLIC, kan_sym_lookup ("sin"), abcd);
        }
      else if (step == 5)
        kan_model_set_edge (m, 0, 0, 0, KAN_EDGE_NUMERIC, 0, NULL);
      wref = kan_work_new (m, n);
      wref->feat_off = TRUE;
      a = feat_pass (m, w, x, n, dout);
      b = feat_pass (m, wref, x, n, dout);
      ck_assert (!b.feat);
      ck_assert_msg (a.feat == (few && step != 4), "%s: feature path %d", what[step], a.feat);
      assert_feat_pass (m, &a, &b, n, what[step]);
      feat_pass_clear (&a);
      feat_pass_clear (&b);
      kan_work_free (wref);
    }

  /* A coefficient that is not finite: the per-edge pass, NaN on the rows it reaches. */
  {
    FeatPass a, b;
    size_t e = (size_t) 1 * m->layers[0].n_out + 0;   /* edge (1, 0): on */
    m->layers[0].coef[e * P] = NAN;   /* the first basis: the rows of the first interval */
    wref = kan_work_new (m, n);
    wref->feat_off = TRUE;
    a = feat_pass (m, w, x, n, dout);
    b = feat_pass (m, wref, x, n, dout);
    ck_assert (!a.feat);
    ck_assert (memcmp (a.out, b.out, sizeof (double) * n * O) == 0);
    {
      size_t finite = 0;
      for (size_t q = 0; q < n * O; q++)
        finite += isfinite (a.out[q]);
      ck_assert_msg (finite > 0 && finite < n * O, "%zu finite outputs of %zu", finite, n * O);
    }
    feat_pass_clear (&a);
    feat_pass_clear (&b);
    kan_work_free (wref);
  }
  kan_work_free (w);
  g_free (x);
  g_free (dout);
  kan_model_free (m);
  gsl_rng_free (r);
}
END_TEST

/* kan_spline_basis_block3 gives exactly kan_spline_basis_tab3's values at every point:
 * inside, on knots, near the ends (where some bases do not exist), outside, NaN. */
START_TEST (test_basis_block)
{
  int G = _i == 0 ? 5 : 40, len = kan_spline_ext_len (G, 3);
  double *t = g_new (double, G + 7), *ext = g_new (double, len), *inv = g_new (double, 3 * len);
  size_t n = 700;
  double *xs = g_new (double, n), *b = g_new (double, n * 4), *db = g_new (double, n * 4);
  int *m0 = g_new (int, n);
  gsl_rng *r = gsl_rng_alloc (gsl_rng_mt19937);

  gsl_rng_set (r, 5);
  /* Uneven interior knots, as after a grid update. */
  t[3] = -1.0;
  for (int q = 1; q <= G; q++)
    t[3 + q] = t[2 + q] + kt_unif (r, 0.2, 1.0);
  kan_knots_extend (t, G, 3);
  kan_spline_tables (t, G, 3, ext, inv);
  for (size_t s = 0; s < n; s++)
    xs[s] = s % 50 == 0 ? t[(s / 50) % (G + 7)] : kt_unif (r, t[0] - 0.5, t[G + 6] + 0.5);
  xs[1] = NAN;
  kan_spline_basis_block3 (t, ext, inv, G, xs, n, m0, b, db);
  for (size_t s = 0; s < n; s++)
    {
      double rb[4], rdb[4];
      int rm = kan_spline_basis_tab3 (t, ext, inv, G, xs[s], rb, rdb);
      ck_assert_int_eq (m0[s], MAX (rm, 0));
      ck_assert_int_eq (memcmp (b + s * 4, rb, sizeof rb), 0);
      ck_assert_int_eq (memcmp (db + s * 4, rdb, sizeof rdb), 0);
    }
  g_free (t);
  g_free (ext);
  g_free (inv);
  g_free (xs);
  g_free (b);
  g_free (db);
  g_free (m0);
  gsl_rng_free (r);
}
END_TEST

/* kan_spline_first3 gives kan_spline_basis_tab3's first basis at every point, and
 * kan_spline_cubic_run its exact values at the points of one interval, on uniform knots (the
 * span by arithmetic) and uneven ones (by binary search), few knots and many. */
START_TEST (test_basis_runs)
{
  int G = _i % 2 == 0 ? 5 : 40, len = kan_spline_ext_len (G, 3);
  gboolean uneven = _i >= 2;
  double *t = g_new (double, G + 7), *ext = g_new (double, len), *inv = g_new (double, 3 * len);
  size_t n = 700;
  double *xs = g_new (double, n), *xq = g_new (double, n), *b = g_new (double, 4 * n);
  double *db = g_new (double, 4 * n);
  int *m0 = g_new (int, n);
  gsl_rng *r = gsl_rng_alloc (gsl_rng_mt19937);

  gsl_rng_set (r, 11 + _i);
  if (uneven)
    {
      t[3] = -1.0;
      for (int q = 1; q <= G; q++)
        t[3 + q] = t[2 + q] + kt_unif (r, 0.2, 1.0);
      kan_knots_extend (t, G, 3);
    }
  else
    kan_knots_uniform (t, G, 3, -1.3, 0.7);
  kan_spline_tables (t, G, 3, ext, inv);
  for (size_t s = 0; s < n; s++)
    xs[s] = s % 50 == 0 ? t[(s / 50) % (G + 7)] : kt_unif (r, t[0] - 0.5, t[G + 6] + 0.5);
  xs[1] = NAN;
  kan_spline_first3 (t, ext, inv, G, xs, n, m0);
  for (size_t s = 0; s < n; s++)
    {
      double rb[4], rdb[4];
      ck_assert_int_eq (m0[s], MAX (kan_spline_basis_tab3 (t, ext, inv, G, xs[s], rb, rdb), 0));
    }
  for (int q = 0; q < G; q++)
    {
      size_t nq = 0;
      for (size_t s = 0; s < n; s++)
        if (xs[s] >= t[q + 3] && xs[s] < t[q + 4])
          xq[nq++] = xs[s];
      kan_spline_cubic_run (ext, inv, G, q, xq, nq, b, db, n);
      for (size_t s = 0; s < nq; s++)
        {
          double rb[4], rdb[4];
          ck_assert_int_eq (kan_spline_basis_tab3 (t, ext, inv, G, xq[s], rb, rdb), q);
          for (int k = 0; k < 4; k++)
            {
              ck_assert_int_eq (memcmp (&b[k * n + s], &rb[k], sizeof (double)), 0);
              ck_assert_int_eq (memcmp (&db[k * n + s], &rdb[k], sizeof (double)), 0);
            }
        }
    }
  g_free (t);
  g_free (ext);
  g_free (inv);
  g_free (xs);
  g_free (xq);
  g_free (b);
  g_free (db);
  g_free (m0);
  gsl_rng_free (r);
}
END_TEST

/* SiLU of large inputs (the forward pass's vectorised exp hands those to libm): the output of a
 * one-edge model agrees with the reference at both ends of exp's range and beyond. */
START_TEST (test_silu_range)
{
  const double xs[] = { -800.0, -709.5, -708.2, -707.9, -40.0, -1e-3, 0.0, 0.25, 37.0, 707.9,
                        708.2, 709.5, 800.0 };
  size_t n = G_N_ELEMENTS (xs);
  KanModel *m = kt_model_new ("1,1", NULL, 4, 3, KAN_BASE_SILU, 5);
  KanWork *w = kan_work_new (m, n);
  double out[G_N_ELEMENTS (xs)], rout[1], post0[1], *post = post0;
  RefLayer rl;
  double rx[1], rz[1], rzs[1], ry[1];

  rl.x = rx;
  rl.z = rz;
  rl.zs = rzs;
  rl.y = ry;
  kan_model_forward (m, w, xs, n, 0.0, out);
  for (size_t b = 0; b < n; b++)
    {
      ref_forward_row (m, xs + b, 0.0, &rl, &post, rout);
      ck_assert_msg (kt_close_to (out[b], rout[0], REL_TOL), "x = %g: %.17g vs %.17g", xs[b],
                     out[b], rout[0]);
    }
  kan_work_free (w);
  kan_model_free (m);
}
END_TEST

static Suite *
layout_suite (void)
{
  Suite *s = suite_create ("layout");
  TCase *tc = tcase_create ("layout");

  tcase_add_loop_test (tc, test_against_reference, 0, 2 * G_N_ELEMENTS (cases));
  tcase_add_loop_test (tc, test_bit_identical, 0, G_N_ELEMENTS (cases));
  tcase_add_loop_test (tc, test_feature_path, 0, G_N_ELEMENTS (cases));
  tcase_add_loop_test (tc, test_basis_block, 0, 2);
  tcase_add_loop_test (tc, test_basis_runs, 0, 4);
  tcase_add_test (tc, test_silu_range);
  suite_add_tcase (s, tc);
  return s;
}

int
main (int    argc,
      char **argv)
{
  gsl_set_error_handler_off ();
  return kt_run (layout_suite (), argc, argv);
}
