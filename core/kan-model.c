/* kan-model.c — a model's parameters and state: configuration, allocation, pykan's
 * initialisation, copies, sizes, accessors and the mode of each edge.
 *
 * The passes over data live beside it: kan-work.c (workspaces), kan-forward.c, kan-backward.c,
 * kan-reg.c (the regulariser) and kan-grid.c (grid update and refinement); shapes are in
 * kan-shape.c.
 */
#include "kan-model-private.h"
#include "kan-spline.h"
#include "kan-symbolic.h"
#include "kan-error.h"

#include <math.h>
#include <string.h>
#include <gsl/gsl_rng.h>

/* Largest model kan_model_new accepts, in bytes of parameters and state; larger requests are a
 * KAN_ERROR_BUDGET error rather than an allocation the system would kill us for. */
#define KAN_MODEL_MAX_BYTES ((gsize) 1 << 30)

/* ------------------------------------------------------------------------------------------ */
/* Base functions                                                                              */

static const char *const base_names[] = { "silu", "identity", "zero" };

const char *
kan_base_fun_name (KanBaseFun f)
{
  g_return_val_if_fail ((unsigned) f < G_N_ELEMENTS (base_names), NULL);
  return base_names[f];
}

gboolean
kan_base_fun_lookup (const char *name, KanBaseFun *out)
{
  g_return_val_if_fail (out != NULL, FALSE);
  for (unsigned q = 0; q < G_N_ELEMENTS (base_names); q++)
    if (g_strcmp0 (name, base_names[q]) == 0)
      {
        *out = (KanBaseFun) q;
        return TRUE;
      }
  return FALSE;
}

/* ------------------------------------------------------------------------------------------ */
/* Allocation and layout                                                                       */

void
kan_model_config_init (KanModelConfig *cfg)
{
  g_return_if_fail (cfg != NULL);
  memset (cfg, 0, sizeof *cfg);
  cfg->grid = 3;
  cfg->k = 3;
  cfg->noise_scale = 0.3;
  cfg->scale_base_mu = 0.0;
  cfg->scale_base_sigma = 1.0;
  cfg->base_fun = KAN_BASE_SILU;
  cfg->grid_eps = 0.02;
  cfg->grid_range[0] = -1.0;
  cfg->grid_range[1] = 1.0;
  cfg->sp_trainable = TRUE;
  cfg->sb_trainable = TRUE;
  cfg->affine_trainable = FALSE;
  cfg->sparse_init = FALSE;
  cfg->seed = 1;
}

/* Counts beyond which layout_sizes gives up: far above any budget, and small enough that the
 * counts are exact in the doubles they are summed in. */
#define LAYOUT_MAX_COUNT ((double) (G_GUINT64_CONSTANT (1) << 52))

void
kan_model_get_config (const KanModel *m,
                      KanModelConfig *cfg)
{
  g_return_if_fail (m != NULL && cfg != NULL);
  kan_model_config_init (cfg);
  cfg->shape = m->shape;
  cfg->grid = m->G;
  cfg->k = m->k;
  cfg->noise_scale = m->noise_scale;
  cfg->scale_base_mu = m->scale_base_mu;
  cfg->scale_base_sigma = m->scale_base_sigma;
  cfg->base_fun = m->base_fun;
  cfg->grid_eps = m->grid_eps;
  cfg->grid_range[0] = m->grid_range[0];
  cfg->grid_range[1] = m->grid_range[1];
  cfg->sp_trainable = m->sp_trainable;
  cfg->sb_trainable = m->sb_trainable;
  cfg->affine_trainable = m->affine_trainable;
  cfg->seed = m->seed;
}

/* Sizes of the three allocations (doubles of parameters, doubles and ints of state) of a model
 * of shape S with G intervals and order K, as kan_model_layout carves them; FALSE if they are
 * absurdly large. */
static gboolean
layout_sizes (const KanShape *s, int G, int k,
              gsize *n_params, gsize *n_state_d, gsize *n_state_i)
{
  double np = 0, nd = 0, ni = 0;
  for (int l = 0; l + 1 < s->n_layers; l++)
    {
      double I = kan_shape_nodes (s, l), O = kan_shape_subnodes (s, l + 1);
      double Q = kan_shape_nodes (s, l + 1);
      double E = I * O;
      np += E * ((double) G + k) + 2 * E + 4 * E + 2 * O + 2 * Q;
      nd += I * ((double) G + 2.0 * k + 1) + 2 * E;
      ni += E + Q + 1;
      if (np > LAYOUT_MAX_COUNT || nd > LAYOUT_MAX_COUNT || ni > LAYOUT_MAX_COUNT)
        return FALSE;
    }
  if (np + nd > (double) (G_MAXSIZE / 16) || ni > (double) (G_MAXSIZE / 16))
    return FALSE;
  *n_params = (gsize) np;
  *n_state_d = (gsize) nd;
  *n_state_i = (gsize) ni;
  return TRUE;
}

/* Bytes of a model of DEPTH edge layers whose allocations hold N_DOUBLES doubles and N_INTS
 * ints: the one size formula behind kan_model_config_bytes and kan_model_bytes. */
static gsize
footprint (gsize n_doubles,
           gsize n_ints,
           int   depth)
{
  return n_doubles * sizeof (double) + n_ints * sizeof (int) + sizeof (KanModel)
         + depth * sizeof (KanLayer) + 3 * (depth + 1) * sizeof (int);
}

gsize
kan_model_config_bytes (const KanModelConfig *cfg)
{
  gsize np, nd, ni;

  g_return_val_if_fail (cfg != NULL, G_MAXSIZE);
  if (cfg->shape == NULL || cfg->grid < 1 || cfg->k < 0
      || !layout_sizes (cfg->shape, cfg->grid, cfg->k, &np, &nd, &ni))
    return G_MAXSIZE;
  return footprint (np + nd, ni, cfg->shape->n_layers - 1);
}

/* What kan_model_new allocates on top of the model while it initialises one layer: the knot
 * values of one input node's edges, their coefficients and the spline fit. */
static double
init_extra_bytes (const KanModelConfig *cfg)
{
  double extra = 0;

  for (int l = 0; l + 1 < cfg->shape->n_layers; l++)
    {
      int O = kan_shape_subnodes (cfg->shape, l + 1);
      double P = (double) cfg->grid + cfg->k;
      extra = MAX (extra, ((double) (cfg->grid + 1) * O + O * P) * sizeof (double)
                          + (double) kan_spline_fit_bytes (cfg->grid, cfg->k, cfg->grid + 1, O));
    }
  return extra;
}

gsize
kan_model_new_bytes (const KanModelConfig *cfg)
{
  double bytes;

  g_return_val_if_fail (cfg != NULL, G_MAXSIZE);
  bytes = (double) kan_model_config_bytes (cfg);
  if (bytes >= (double) G_MAXSIZE)
    return G_MAXSIZE;
  bytes += init_extra_bytes (cfg);
  return bytes >= (double) G_MAXSIZE ? G_MAXSIZE : (gsize) bytes;
}

gsize
kan_model_bytes (const KanModel *m)
{
  g_return_val_if_fail (m != NULL, 0);
  return footprint (m->n_params + m->n_state_d, m->n_state_i, m->depth);
}

/* Serials come from one process-wide counter, so two models (or a model freed and another
 * allocated at the same address) never share one, and a workspace cannot mistake their knots. */
static guint serial_counter;

void
kan_model_grid_changed (KanModel *m)
{
  m->grid_serial = (guint) g_atomic_int_add (&serial_counter, 1) + 1;
}

void
kan_model_layout (KanModel *m)
{
  double *p = m->params, *d = m->state_d;
  int *ip = m->state_i;
  int P = m->G + m->k, T = m->G + 2 * m->k + 1;

  for (int l = 0; l < m->depth; l++)
    {
      KanLayer *L = &m->layers[l];
      size_t E;
      L->n_in = kan_shape_nodes (m->shape, l);
      L->n_out = kan_shape_subnodes (m->shape, l + 1);
      L->n_next = kan_shape_nodes (m->shape, l + 1);
      E = (size_t) L->n_in * L->n_out;
      L->coef = p;          p += E * P;
      L->scale_base = p;    p += E;
      L->scale_sp = p;      p += E;
      L->sym = p;           p += 4 * E;
      L->subnode_scale = p; p += L->n_out;
      L->subnode_bias = p;  p += L->n_out;
      L->node_scale = p;    p += L->n_next;
      L->node_bias = p;     p += L->n_next;
      L->grid = d;          d += (size_t) L->n_in * T;
      L->mask = d;          d += E;
      L->mask_sym = d;      d += E;
      L->sym_fn = ip;       ip += E;
      L->group_start = ip;  ip += L->n_next + 1;
    }
}

static void
fill_groups (KanModel *m)
{
  for (int l = 0; l < m->depth; l++)
    {
      KanLayer *L = &m->layers[l];
      const KanShape *s = m->shape;
      int ns = s->n_sum[l + 1], pos = 0;
      for (int q = 0; q < L->n_next; q++)
        {
          L->group_start[q] = pos;
          pos += q < ns ? 1 : s->arity[l + 1][q - ns];
        }
      L->group_start[L->n_next] = pos;
    }
}

/* The allocation of kan_model_alloc; FOR_INIT adds what kan_model_new needs on top to the
 * budget check. */
static KanModel *
model_alloc (const KanModelConfig *cfg,
             gboolean              for_init,
             GError              **error)
{
  KanModel *m;
  gsize np, nd, ni, bytes;

  g_return_val_if_fail (cfg != NULL, NULL);
  if (cfg->shape == NULL || cfg->shape->n_layers < 2)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_SHAPE, "a network needs at least two node layers");
      return NULL;
    }
  if (cfg->grid < 1 || cfg->grid > 100000)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID,
                   "grid size %d is out of range (1 … 100000)", cfg->grid);
      return NULL;
    }
  if (cfg->k < 1 || cfg->k > KAN_SPLINE_MAX_K)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID,
                   "spline order k = %d is out of range (1 … %d)", cfg->k, KAN_SPLINE_MAX_K);
      return NULL;
    }
  if (!(cfg->grid_range[0] < cfg->grid_range[1]) || !isfinite (cfg->grid_range[0])
      || !isfinite (cfg->grid_range[1]))
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID,
                   "grid range [%g, %g] is not an interval", cfg->grid_range[0],
                   cfg->grid_range[1]);
      return NULL;
    }
  if (!(cfg->grid_eps >= 0 && cfg->grid_eps <= 1))
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID,
                   "grid_eps %g is outside [0, 1]", cfg->grid_eps);
      return NULL;
    }
  bytes = for_init ? kan_model_new_bytes (cfg) : kan_model_config_bytes (cfg);
  if (bytes > KAN_MODEL_MAX_BYTES)
    {
      g_autofree char *w = kan_shape_to_string (cfg->shape);
      g_set_error (error, KAN_ERROR, KAN_ERROR_BUDGET,
                   "a model of width %s with G=%d would need more than %" G_GSIZE_FORMAT
                   " MiB (limit %" G_GSIZE_FORMAT " MiB)", w, cfg->grid,
                   bytes == G_MAXSIZE ? G_MAXSIZE >> 20 : bytes >> 20,
                   KAN_MODEL_MAX_BYTES >> 20);
      return NULL;
    }
  layout_sizes (cfg->shape, cfg->grid, cfg->k, &np, &nd, &ni);

  m = g_new0 (KanModel, 1);
  m->shape = kan_shape_copy (cfg->shape);
  m->depth = cfg->shape->n_layers - 1;
  m->G = cfg->grid;
  m->k = cfg->k;
  m->base_fun = cfg->base_fun;
  m->grid_eps = cfg->grid_eps;
  m->grid_range[0] = cfg->grid_range[0];
  m->grid_range[1] = cfg->grid_range[1];
  m->sp_trainable = cfg->sp_trainable;
  m->sb_trainable = cfg->sb_trainable;
  m->affine_trainable = cfg->affine_trainable;
  m->noise_scale = cfg->noise_scale;
  m->scale_base_mu = cfg->scale_base_mu;
  m->scale_base_sigma = cfg->scale_base_sigma;
  m->seed = cfg->seed;
  m->layers = g_new0 (KanLayer, m->depth);
  m->n_params = np;
  m->params = g_new0 (double, MAX (np, 1));
  m->state_d = g_new0 (double, MAX (nd, 1));
  m->state_i = g_new0 (int, MAX (ni, 1));
  m->n_state_d = nd;
  m->n_state_i = ni;
  kan_model_grid_changed (m);
  kan_model_layout (m);
  fill_groups (m);

  for (int l = 0; l < m->depth; l++)
    {
      KanLayer *L = &m->layers[l];
      size_t E = (size_t) L->n_in * L->n_out;
      for (int i = 0; i < L->n_in; i++)
        kan_knots_uniform (kan_layer_knots (m, L, i), m->G, m->k, m->grid_range[0],
                           m->grid_range[1]);
      for (size_t e = 0; e < E; e++)
        {
          L->mask[e] = 1.0;
          L->mask_sym[e] = 0.0;
          L->sym_fn[e] = kan_sym_zero ();
        }
      for (int j = 0; j < L->n_out; j++)
        L->subnode_scale[j] = 1.0;
      for (int q = 0; q < L->n_next; q++)
        L->node_scale[q] = 1.0;
    }
  return m;
}

KanModel *
kan_model_alloc (const KanModelConfig *cfg,
                 GError              **error)
{
  return model_alloc (cfg, FALSE, error);
}

/* The q in 0 … N-1 whose midpoint (q+½)/N is nearest X (the first on a tie). */
static int
nearest_midpoint (int    n,
                  double x)
{
  double best = INFINITY;
  int qb = 0;

  for (int q = 0; q < n; q++)
    {
      double dist = fabs ((q + 0.5) / n - x);
      if (dist < best)
        best = dist, qb = q;
    }
  return qb;
}

/* pykan's sparse_mask: inputs at (i+½)/I and outputs at (j+½)/O on [0,1]; each input links to
 * its nearest output, each output to its nearest input. */
static void
sparse_mask (KanLayer *L)
{
  int I = L->n_in, O = L->n_out;
  memset (L->mask, 0, sizeof (double) * I * O);
  for (int i = 0; i < I; i++)
    L->mask[i * O + nearest_midpoint (O, (i + 0.5) / I)] = 1.0;
  for (int j = 0; j < O; j++)
    L->mask[nearest_midpoint (I, (j + 0.5) / O) * O + j] = 1.0;
}

KanModel *
kan_model_new (const KanModelConfig *cfg,
               GError              **error)
{
  KanModel *m = model_alloc (cfg, TRUE, error);
  gsl_rng *rng;
  int G, k, P;

  if (m == NULL)
    return NULL;
  G = m->G;
  k = m->k;
  P = G + k;
  rng = gsl_rng_alloc (gsl_rng_mt19937);
  gsl_rng_set (rng, (unsigned long) cfg->seed);

  for (int l = 0; l < m->depth; l++)
    {
      KanLayer *L = &m->layers[l];
      int I = L->n_in, O = L->n_out;
      double *y = g_new (double, (size_t) (G + 1) * O);
      double *c = g_new (double, (size_t) O * P);
      double inv_sqrt_in = 1.0 / sqrt (I);

      /* Noise (G+1, I, O), uniform in ±noise_scale/(2G), read as curve values at the interior
       * knots and fitted (minimum norm: G+1 points, G+k unknowns). Value (q, i, j) waits in
       * slot q of edge (i, j)'s coefficients (G+1 ≤ G+k slots), so the noise needs no array of
       * its own; each input node's edges are then fitted in place. */
      for (int q = 0; q <= G; q++)
        for (size_t e = 0; e < (size_t) I * O; e++)
          L->coef[e * P + q] = (gsl_rng_uniform (rng) - 0.5) * m->noise_scale / G;
      for (int i = 0; i < I; i++)
        {
          const double *t = kan_layer_knots (m, L, i);
          for (int q = 0; q <= G; q++)
            for (int j = 0; j < O; j++)
              y[q * O + j] = L->coef[((size_t) i * O + j) * P + q];
          if (!kan_spline_fit (t, G, k, t + k, y, G + 1, O, c, error))
            {
              g_free (y); g_free (c);
              gsl_rng_free (rng);
              kan_model_free (m);
              return NULL;
            }
          for (int j = 0; j < O; j++)
            memcpy (L->coef + ((size_t) i * O + j) * P, c + (size_t) j * P, sizeof (double) * P);
        }
      g_free (y);
      g_free (c);

      if (cfg->sparse_init)
        sparse_mask (L);
      for (size_t e = 0; e < (size_t) I * O; e++)
        L->scale_base[e] = m->scale_base_mu * inv_sqrt_in
                           + m->scale_base_sigma * (gsl_rng_uniform (rng) * 2 - 1) * inv_sqrt_in;
      for (size_t e = 0; e < (size_t) I * O; e++)
        L->scale_sp[e] = inv_sqrt_in * L->mask[e];
    }
  gsl_rng_free (rng);
  return m;
}

KanModel *
kan_model_copy (const KanModel *m)
{
  KanModel *c;

  g_return_val_if_fail (m != NULL, NULL);
  c = g_memdup2 (m, sizeof *m);
  c->shape = kan_shape_copy (m->shape);
  c->layers = g_new0 (KanLayer, m->depth);
  c->params = g_memdup2 (m->params, sizeof (double) * MAX (m->n_params, 1));
  c->state_d = g_memdup2 (m->state_d, sizeof (double) * MAX (m->n_state_d, 1));
  c->state_i = g_memdup2 (m->state_i, sizeof (int) * MAX (m->n_state_i, 1));
  kan_model_grid_changed (c);
  kan_model_layout (c);
  return c;
}

void
kan_model_restore (KanModel       *dst,
                   const KanModel *src)
{
  g_return_if_fail (dst->n_params == src->n_params && dst->n_state_d == src->n_state_d
                    && dst->n_state_i == src->n_state_i);
  memcpy (dst->params, src->params, sizeof (double) * dst->n_params);
  memcpy (dst->state_d, src->state_d, sizeof (double) * dst->n_state_d);
  memcpy (dst->state_i, src->state_i, sizeof (int) * dst->n_state_i);
  kan_model_grid_changed (dst);
}

void
kan_model_free (KanModel *m)
{
  if (m == NULL)
    return;
  kan_shape_free (m->shape);
  g_free (m->layers);
  g_free (m->params);
  g_free (m->state_d);
  g_free (m->state_i);
  g_free (m);
}

/* ------------------------------------------------------------------------------------------ */
/* Accessors                                                                                   */

const KanShape *
kan_model_shape (const KanModel *m)
{
  g_return_val_if_fail (m != NULL, NULL);
  return m->shape;
}

int
kan_model_depth (const KanModel *m)
{
  g_return_val_if_fail (m != NULL, 0);
  return m->depth;
}

int
kan_model_n_in (const KanModel *m)
{
  g_return_val_if_fail (m != NULL, 0);
  return m->layers[0].n_in;
}

int
kan_model_n_out (const KanModel *m)
{
  g_return_val_if_fail (m != NULL, 0);
  return m->layers[m->depth - 1].n_next;
}

int
kan_model_grid (const KanModel *m)
{
  g_return_val_if_fail (m != NULL, 0);
  return m->G;
}

int
kan_model_k (const KanModel *m)
{
  g_return_val_if_fail (m != NULL, 0);
  return m->k;
}

int
kan_model_layer_in (const KanModel *m, int l)
{
  g_return_val_if_fail (m != NULL && l >= 0 && l < m->depth, 0);
  return m->layers[l].n_in;
}

int
kan_model_layer_out (const KanModel *m, int l)
{
  g_return_val_if_fail (m != NULL && l >= 0 && l < m->depth, 0);
  return m->layers[l].n_out;
}

void
kan_model_knot_range (const KanModel *m, int l, int i, double range[2])
{
  const double *t;

  g_return_if_fail (range != NULL);
  g_return_if_fail (m != NULL && l >= 0 && l < m->depth && i >= 0 && i < m->layers[l].n_in);
  t = kan_layer_knots (m, &m->layers[l], i);
  range[0] = t[m->k];
  range[1] = t[m->G + m->k];
}

size_t
kan_model_n_params (const KanModel *m)
{
  g_return_val_if_fail (m != NULL, 0);
  return m->n_params;
}

double *
kan_model_params (KanModel *m)
{
  g_return_val_if_fail (m != NULL, NULL);
  return m->params;
}

const double *
kan_model_params_const (const KanModel *m)
{
  g_return_val_if_fail (m != NULL, NULL);
  return m->params;
}

gboolean
kan_model_is_finite (const KanModel *m)
{
  g_return_val_if_fail (m != NULL, FALSE);
  for (size_t q = 0; q < m->n_params; q++)
    if (!isfinite (m->params[q]))
      return FALSE;
  return TRUE;
}

size_t
kan_model_active_params (const KanModel *m,
                         size_t         *idx)
{
  size_t n = 0;
  int P;

  g_return_val_if_fail (m != NULL, 0);
  P = m->G + m->k;
#define PUSH(ptr) (idx ? (void) (idx[n] = (size_t) ((ptr) - m->params)) : (void) 0, n++)
  for (int l = 0; l < m->depth; l++)
    {
      const KanLayer *L = &m->layers[l];
      int I = L->n_in, O = L->n_out;
      for (int e = 0; e < I * O; e++)
        {
          if (L->mask[e] == 0.0)
            continue;
          if (m->sp_trainable || L->scale_sp[e] != 0.0)
            for (int r = 0; r < P; r++)
              PUSH (L->coef + (size_t) e * P + r);
          if (m->sb_trainable && m->base_fun != KAN_BASE_ZERO)
            PUSH (L->scale_base + e);
          if (m->sp_trainable)
            PUSH (L->scale_sp + e);
        }
      for (int e = 0; e < I * O; e++)
        if (L->mask_sym[e] != 0.0 && L->sym_fn[e] != kan_sym_zero ())
          for (int r = 0; r < 4; r++)
            PUSH (L->sym + (size_t) e * 4 + r);
        else if (L->mask_sym[e] != 0.0)
          PUSH (L->sym + (size_t) e * 4 + 3);  /* the constant d of a "0" edge */
      if (m->affine_trainable)
        {
          for (int j = 0; j < O; j++)
            PUSH (L->subnode_scale + j);
          for (int j = 0; j < O; j++)
            PUSH (L->subnode_bias + j);
          for (int q = 0; q < L->n_next; q++)
            PUSH (L->node_scale + q);
          for (int q = 0; q < L->n_next; q++)
            PUSH (L->node_bias + q);
        }
    }
#undef PUSH
  return n;
}

KanEdgeMode
kan_model_edge_mode (const KanModel *m, int l, int i, int j)
{
  const KanLayer *L;
  int e;
  gboolean n, s;

  g_return_val_if_fail (kan_model_has_edge (m, l, i, j), KAN_EDGE_OFF);
  L = &m->layers[l];
  e = i * L->n_out + j;
  n = L->mask[e] != 0.0;
  s = L->mask_sym[e] != 0.0;
  return n && s ? KAN_EDGE_BOTH : n ? KAN_EDGE_NUMERIC : s ? KAN_EDGE_SYMBOLIC : KAN_EDGE_OFF;
}

void
kan_model_set_edge (KanModel *m, int l, int i, int j,
                    KanEdgeMode mode, int sym_id, const double *abcd)
{
  KanLayer *L;
  int e;

  g_return_if_fail (kan_model_has_edge (m, l, i, j));
  L = &m->layers[l];
  e = i * L->n_out + j;
  L->mask[e] = (mode == KAN_EDGE_NUMERIC || mode == KAN_EDGE_BOTH) ? 1.0 : 0.0;
  L->mask_sym[e] = (mode == KAN_EDGE_SYMBOLIC || mode == KAN_EDGE_BOTH) ? 1.0 : 0.0;
  if (mode == KAN_EDGE_SYMBOLIC || mode == KAN_EDGE_BOTH)
    {
      g_return_if_fail (sym_id >= 0 && sym_id < kan_sym_count ());
      L->sym_fn[e] = sym_id;
    }
  else
    L->sym_fn[e] = kan_sym_zero ();
  if (abcd)
    memcpy (L->sym + (size_t) e * 4, abcd, 4 * sizeof (double));
  else if (mode == KAN_EDGE_NUMERIC || mode == KAN_EDGE_OFF)
    memset (L->sym + (size_t) e * 4, 0, 4 * sizeof (double));
}

int
kan_model_edge_sym (const KanModel *m, int l, int i, int j)
{
  const KanLayer *L;

  g_return_val_if_fail (kan_model_has_edge (m, l, i, j), kan_sym_zero ());
  L = &m->layers[l];
  return L->sym_fn[i * L->n_out + j];
}

void
kan_model_edge_abcd (const KanModel *m, int l, int i, int j, double abcd[4])
{
  const KanLayer *L;

  g_return_if_fail (abcd != NULL);
  g_return_if_fail (kan_model_has_edge (m, l, i, j));
  L = &m->layers[l];
  memcpy (abcd, L->sym + (size_t) (i * L->n_out + j) * 4, 4 * sizeof (double));
}
