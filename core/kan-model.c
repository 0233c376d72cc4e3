/* kan-model.c — shapes, parameters, initialisation, forward, regulariser, backward, grids.
 *
 * Shapes in comments: n rows (samples), I = n_in nodes of the layer, O = n_out subnodes,
 * Q = n_next nodes after multiplication, P = G+k bases, K1 = k+1 non-zero bases at a point.
 */
#include "kan-model-private.h"
#include "kan-spline.h"
#include "kan-symbolic.h"
#include "kan-error.h"

#include <math.h>
#include <string.h>
#include <stdlib.h>
#include <errno.h>
#include <gsl/gsl_rng.h>

/* Largest model kan_model_new accepts, in bytes of parameters and state; larger requests are a
 * KAN_ERROR_BUDGET error rather than an allocation the system would kill us for. */
#define KAN_MODEL_MAX_BYTES ((gsize) 1 << 30)

/* Cancellation: forward, backward and the Jacobian look at the workspace's cancellable once
 * every KAN_WORK_CHECK_UNITS units of work (a unit is one row of one edge, or one parameter
 * of one Jacobian row: well under a millisecond for the lot). The bases are computed in
 * blocks of KAN_WORK_BLOCK_ROWS rows between checks. */
#define KAN_WORK_CHECK_UNITS ((size_t) 1 << 16)
#define KAN_WORK_BLOCK_ROWS  4096

/* Most rows of one chunk of kan_model_eval and of the grid operations. */
#define KAN_WORK_CHUNK_ROWS  4096

/* Most subnodes a layer may have (n_sum plus the arities of its multiplication nodes). */
#define KAN_SHAPE_MAX_SUBNODES 1000000

/* pykan's constants: the regulariser's input-range offset and log floor, and the floor of
 * standard deviations below which the gradient of std is taken as 0. */
#define REG_INPUT_RANGE_OFFSET 0.1
#define REG_LOG_FLOOR          1e-4

/* ------------------------------------------------------------------------------------------ */
/* Shapes                                                                                      */

static KanShape *
shape_alloc (int n_layers)
{
  KanShape *s = g_new0 (KanShape, 1);
  s->n_layers = n_layers;
  s->n_sum = g_new0 (int, n_layers);
  s->n_mult = g_new0 (int, n_layers);
  s->arity = g_new0 (int *, n_layers);
  return s;
}

void
kan_shape_free (KanShape *s)
{
  if (s == NULL)
    return;
  for (int l = 0; l < s->n_layers; l++)
    g_free (s->arity[l]);
  g_free (s->arity);
  g_free (s->n_sum);
  g_free (s->n_mult);
  g_free (s);
}

KanShape *
kan_shape_copy (const KanShape *s)
{
  KanShape *c = shape_alloc (s->n_layers);
  for (int l = 0; l < s->n_layers; l++)
    {
      c->n_sum[l] = s->n_sum[l];
      c->n_mult[l] = s->n_mult[l];
      c->arity[l] = g_memdup2 (s->arity[l], sizeof (int) * s->n_mult[l]);
    }
  return c;
}

int
kan_shape_nodes (const KanShape *s, int l)
{
  return s->n_sum[l] + s->n_mult[l];
}

int
kan_shape_subnodes (const KanShape *s, int l)
{
  int n = s->n_sum[l];
  for (int q = 0; q < s->n_mult[l]; q++)
    n += s->arity[l][q];
  return n;
}

static gboolean
parse_int (const char **p, long *out)
{
  char *end;
  while (g_ascii_isspace (**p))
    (*p)++;
  if (!g_ascii_isdigit (**p))
    return FALSE;
  errno = 0;
  *out = strtol (*p, &end, 10);
  if (errno != 0 || *out > 1000000)
    return FALSE;
  *p = end;
  while (g_ascii_isspace (**p))
    (*p)++;
  return TRUE;
}

KanShape *
kan_shape_parse (const char  *width,
                 const char  *mult_arity,
                 GError     **error)
{
  GArray *sums = g_array_new (FALSE, FALSE, sizeof (int));
  GArray *mults = g_array_new (FALSE, FALSE, sizeof (int));
  GArray *arities = g_array_new (FALSE, FALSE, sizeof (int));
  const char *p = width;
  KanShape *s = NULL;
  int total_mult = 0, used = 0;

  if (width == NULL || *width == '\0')
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_PARSE, "empty width (expected e.g. \"2,5,1\")");
      goto out;
    }
  for (;;)
    {
      long ns, nm = 0;
      const char *start = p;
      while (g_ascii_isspace (*p))
        p++;
      if (*p == '[')
        {
          p++;
          if (!parse_int (&p, &ns) || *p != ',' || (p++, !parse_int (&p, &nm)) || *p != ']')
            {
              g_set_error (error, KAN_ERROR, KAN_ERROR_PARSE,
                           "width \"%s\", position %d: expected [n_sum,n_mult]",
                           width, (int) (start - width) + 1);
              goto out;
            }
          p++;
        }
      else if (!parse_int (&p, &ns))
        {
          g_set_error (error, KAN_ERROR, KAN_ERROR_PARSE,
                       "width \"%s\", position %d: expected a number of nodes",
                       width, (int) (start - width) + 1);
          goto out;
        }
      while (g_ascii_isspace (*p))
        p++;
      if (ns + nm <= 0)
        {
          g_set_error (error, KAN_ERROR, KAN_ERROR_SHAPE,
                       "width \"%s\": layer %u has no nodes", width, sums->len);
          goto out;
        }
      {
        int a = (int) ns, b = (int) nm;
        g_array_append_val (sums, a);
        g_array_append_val (mults, b);
        total_mult += b;
      }
      if (*p == '\0')
        break;
      if (*p != ',')
        {
          g_set_error (error, KAN_ERROR, KAN_ERROR_PARSE,
                       "width \"%s\", position %d: expected ',' between layers",
                       width, (int) (p - width) + 1);
          goto out;
        }
      p++;
    }
  if (sums->len < 2)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_SHAPE,
                   "width \"%s\": a network needs at least an input and an output layer", width);
      goto out;
    }
  if (g_array_index (mults, int, 0) != 0)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_SHAPE,
                   "width \"%s\": the input layer cannot have multiplication nodes", width);
      goto out;
    }

  /* Arities: one value for all, or one per multiplication node. */
  p = mult_arity ? mult_arity : "2";
  for (;;)
    {
      long a;
      if (!parse_int (&p, &a) || a < 2)
        {
          g_set_error (error, KAN_ERROR, KAN_ERROR_PARSE,
                       "multiplication arity \"%s\": expected whole numbers of at least 2",
                       mult_arity ? mult_arity : "2");
          goto out;
        }
      {
        int v = (int) a;
        g_array_append_val (arities, v);
      }
      if (*p == '\0')
        break;
      if (*p != ',')
        {
          g_set_error (error, KAN_ERROR, KAN_ERROR_PARSE,
                       "multiplication arity \"%s\": expected ',' between values", mult_arity);
          goto out;
        }
      p++;
    }
  if (arities->len != 1 && (int) arities->len != total_mult)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_SHAPE,
                   "multiplication arity \"%s\" lists %u values but the width has %d "
                   "multiplication nodes", mult_arity, arities->len, total_mult);
      goto out;
    }

  s = shape_alloc (sums->len);
  for (int l = 0; l < s->n_layers; l++)
    {
      s->n_sum[l] = g_array_index (sums, int, l);
      s->n_mult[l] = g_array_index (mults, int, l);
      s->arity[l] = g_new (int, MAX (1, s->n_mult[l]));
      for (int q = 0; q < s->n_mult[l]; q++)
        s->arity[l][q] = g_array_index (arities, int, arities->len == 1 ? 0 : used++);
    }
  /* Each number is bounded, but Σ arity is a product of two: keep subnode counts in an int. */
  for (int l = 0; l < s->n_layers; l++)
    {
      gint64 sub = s->n_sum[l];
      for (int q = 0; q < s->n_mult[l]; q++)
        sub += s->arity[l][q];
      if (sub > KAN_SHAPE_MAX_SUBNODES)
        {
          g_set_error (error, KAN_ERROR, KAN_ERROR_SHAPE,
                       "width \"%s\": layer %d has %" G_GINT64_FORMAT " subnodes (limit %d)",
                       width, l, sub, KAN_SHAPE_MAX_SUBNODES);
          kan_shape_free (s);
          s = NULL;
          goto out;
        }
    }

out:
  g_array_unref (sums);
  g_array_unref (mults);
  g_array_unref (arities);
  return s;
}

char *
kan_shape_to_string (const KanShape *s)
{
  GString *str = g_string_new (NULL);
  for (int l = 0; l < s->n_layers; l++)
    {
      if (l > 0)
        g_string_append_c (str, ',');
      if (s->n_mult[l] > 0)
        g_string_append_printf (str, "[%d,%d]", s->n_sum[l], s->n_mult[l]);
      else
        g_string_append_printf (str, "%d", s->n_sum[l]);
    }
  return g_string_free (str, FALSE);
}

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
  for (unsigned q = 0; q < G_N_ELEMENTS (base_names); q++)
    if (g_strcmp0 (name, base_names[q]) == 0)
      {
        *out = (KanBaseFun) q;
        return TRUE;
      }
  return FALSE;
}

static inline double
base_eval (KanBaseFun f, double x, double *d)
{
  switch (f)
    {
    case KAN_BASE_SILU:
      {
        double sg = 1.0 / (1.0 + exp (-x));
        *d = sg * (1.0 + x * (1.0 - sg));
        return x * sg;
      }
    case KAN_BASE_IDENTITY:
      *d = 1.0;
      return x;
    case KAN_BASE_ZERO:
    default:
      *d = 0.0;
      return 0.0;
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Allocation and layout                                                                       */

void
kan_model_config_init (KanModelConfig *cfg)
{
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

/* Sizes of the three allocations; FALSE if they overflow. */
static gboolean
layout_sizes (const KanShape *s, int G, int k,
              gsize *n_params, gsize *n_state_d, gsize *n_state_i)
{
  guint64 np = 0, nd = 0, ni = 0;
  for (int l = 0; l + 1 < s->n_layers; l++)
    {
      guint64 I = kan_shape_nodes (s, l), O = kan_shape_subnodes (s, l + 1);
      guint64 Q = kan_shape_nodes (s, l + 1);
      guint64 E = I * O;
      np += E * (G + k) + 2 * E + 4 * E + 2 * O + 2 * Q;
      nd += I * (G + 2 * k + 1) + 2 * E;
      ni += E + Q + 1;
      if (np > G_MAXUINT32 * (guint64) 64 || nd > G_MAXUINT32 * (guint64) 64)
        return FALSE;
    }
  *n_params = np;
  *n_state_d = nd;
  *n_state_i = ni;
  return TRUE;
}

gsize
kan_model_config_bytes (const KanModelConfig *cfg)
{
  gsize np, nd, ni;
  if (cfg->shape == NULL || cfg->grid < 1 || cfg->k < 0
      || !layout_sizes (cfg->shape, cfg->grid, cfg->k, &np, &nd, &ni))
    return G_MAXSIZE;
  if (np + nd > G_MAXSIZE / 16)
    return G_MAXSIZE;
  return (np + nd) * sizeof (double) + ni * sizeof (int) + sizeof (KanModel)
         + (cfg->shape->n_layers - 1) * sizeof (KanLayer) + 3 * cfg->shape->n_layers * sizeof (int);
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
  double bytes = (double) kan_model_config_bytes (cfg);

  if (bytes >= (double) G_MAXSIZE)
    return G_MAXSIZE;
  bytes += init_extra_bytes (cfg);
  return bytes >= (double) G_MAXSIZE ? G_MAXSIZE : (gsize) bytes;
}

gsize
kan_model_bytes (const KanModel *m)
{
  return (m->n_params + m->n_state_d) * sizeof (double) + m->n_state_i * sizeof (int)
         + sizeof (KanModel) + m->depth * sizeof (KanLayer)
         + 3 * (m->depth + 1) * sizeof (int);
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

/* pykan's sparse_mask: inputs at (i+½)/I and outputs at (j+½)/O on [0,1]; each input links to
 * its nearest output, each output to its nearest input. */
static void
sparse_mask (KanLayer *L)
{
  int I = L->n_in, O = L->n_out;
  memset (L->mask, 0, sizeof (double) * I * O);
  for (int i = 0; i < I; i++)
    {
      double xi = (i + 0.5) / I, best = INFINITY;
      int jb = 0;
      for (int j = 0; j < O; j++)
        {
          double dist = fabs ((j + 0.5) / O - xi);
          if (dist < best)
            best = dist, jb = j;
        }
      L->mask[i * O + jb] = 1.0;
    }
  for (int j = 0; j < O; j++)
    {
      double xj = (j + 0.5) / O, best = INFINITY;
      int ib = 0;
      for (int i = 0; i < I; i++)
        {
          double dist = fabs ((i + 0.5) / I - xj);
          if (dist < best)
            best = dist, ib = i;
        }
      L->mask[ib * O + j] = 1.0;
    }
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
  KanModel *c = g_memdup2 (m, sizeof *m);

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

const KanShape *kan_model_shape (const KanModel *m) { return m->shape; }
int kan_model_depth (const KanModel *m) { return m->depth; }
int kan_model_n_in (const KanModel *m) { return m->layers[0].n_in; }
int kan_model_n_out (const KanModel *m) { return m->layers[m->depth - 1].n_next; }
int kan_model_grid (const KanModel *m) { return m->G; }
int kan_model_k (const KanModel *m) { return m->k; }
int kan_model_layer_in (const KanModel *m, int l) { return m->layers[l].n_in; }
int kan_model_layer_out (const KanModel *m, int l) { return m->layers[l].n_out; }
size_t kan_model_n_params (const KanModel *m) { return m->n_params; }
double *kan_model_params (KanModel *m) { return m->params; }
const double *kan_model_params_const (const KanModel *m) { return m->params; }

gboolean
kan_model_is_finite (const KanModel *m)
{
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
  int P = m->G + m->k;

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
  const KanLayer *L = &m->layers[l];
  int e = i * L->n_out + j;
  gboolean n = L->mask[e] != 0.0, s = L->mask_sym[e] != 0.0;
  return n && s ? KAN_EDGE_BOTH : n ? KAN_EDGE_NUMERIC : s ? KAN_EDGE_SYMBOLIC : KAN_EDGE_OFF;
}

void
kan_model_set_edge (KanModel *m, int l, int i, int j,
                    KanEdgeMode mode, int sym_id, const double *abcd)
{
  KanLayer *L;
  int e;

  g_return_if_fail (l >= 0 && l < m->depth);
  L = &m->layers[l];
  g_return_if_fail (i >= 0 && i < L->n_in && j >= 0 && j < L->n_out);
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
  const KanLayer *L = &m->layers[l];
  return L->sym_fn[i * L->n_out + j];
}

void
kan_model_edge_abcd (const KanModel *m, int l, int i, int j, double abcd[4])
{
  const KanLayer *L = &m->layers[l];
  memcpy (abcd, L->sym + (size_t) (i * L->n_out + j) * 4, 4 * sizeof (double));
}

/* ------------------------------------------------------------------------------------------ */
/* Workspace                                                                                   */

static gboolean
layer_has_symbolic (const KanLayer *L)
{
  for (size_t e = 0; e < (size_t) L->n_in * L->n_out; e++)
    if (L->mask_sym[e] != 0.0)
      return TRUE;
  return FALSE;
}

typedef struct
{
  double *x;       /* n × I   layer input (owned for l > 0; layer 0 copies too, for the trace) */
  int    *m0;      /* n × I   first non-zero basis, -1 outside the grid */
  double *bas;     /* n × I × K1 */
  double *dbas;    /* n × I × K1 */
  double *base;    /* n × I   b(x) */
  double *dbase;   /* n × I   b'(x) */
  double *spl;     /* n × I × O  raw spline value */
  double *dspl;    /* n × I × O  raw spline derivative */
  double *post;    /* n × I × O  edge output (numeric + symbolic) */
  double *postnum; /* n × I × O  numeric part of the edge output */
  double *symf;    /* n × I × O  f(a·x+b), allocated when the layer has symbolic edges */
  double *dsymf;   /* n × I × O  f'(a·x+b) */
  double *z;       /* n × O   subnode sums */
  double *zs;      /* n × O   after the subnode affine */
  double *y;       /* n × Q   after multiplication */
  /* pending regulariser gradient: ∂/∂postnum[b,i,j] = alpha[e]·(postnum − mean_p[e]) and
   * ∂/∂x[b,i] = beta[i]·(x − mean_x[i]) */
  double *alpha, *mean_p, *beta, *mean_x;
  /* kan_spline_tables of every input node: n_in × ext_len and n_in × k × ext_len */
  double *ext, *inv;
} WorkLayer;

struct _KanWork
{
  int         depth;
  size_t      n_max;
  size_t      n;          /* rows of the last forward */
  int         K1;
  WorkLayer  *wl;
  double     *out;        /* n × n_out, last output */
  double      y_th;
  gboolean    reg_pending;
  /* layer-0 basis cache key */
  const double *cache_x;
  size_t      cache_n;
  guint64     cache_grid_serial;
  const KanModel *cache_model;
  gboolean    cache_valid;
  /* spline tables key */
  const KanModel *tab_model;
  guint64     tab_serial;
  gboolean    tab_valid;
  /* cancellation (borrowed), checked every KAN_WORK_CHECK_UNITS units of work */
  GCancellable *cancellable;
  gboolean    cancelled;
  size_t      ticks;
  /* per-sample backward scratch */
  double     *g_a, *g_b, *g_c;  /* max width */
  double     *gb1, *gb2, *gzb;  /* n_max × max width: batched backward */
  double     *gcl;              /* G+k: one edge's coefficient gradient */
};

gsize
kan_work_bytes (const KanModel *m,
                size_t          n_max)
{
  /* Counted in doubles, as kan_work_new allocates them (ints count as a double), plus the
   * symbolic arrays forward adds for layers with locked edges and the structs. */
  double n = (double) MAX (n_max, 1), K1 = m->k + 1, ext = kan_spline_ext_len (m->G, m->k);
  double wmax = 1, total = 0;

  for (int l = 0; l < m->depth; l++)
    {
      const KanLayer *L = &m->layers[l];
      double I = L->n_in, O = L->n_out, Q = L->n_next;
      total += n * (I * (4 + 2 * K1) + 4 * I * O + 2 * O + Q)
               + 2 * I * O + 2 * I + I * ext * (1 + MAX (m->k, 1));
      if (layer_has_symbolic (L))
        total += 2 * n * I * O;
      wmax = MAX (wmax, MAX (I, MAX (O, Q)));
    }
  total += n * m->layers[m->depth - 1].n_next + 3 * wmax + 3 * n * wmax + m->G + m->k;
  total = total * sizeof (double) + sizeof (KanWork) + m->depth * sizeof (WorkLayer);
  return total >= (double) G_MAXSIZE ? G_MAXSIZE : (gsize) total;
}

size_t
kan_work_chunk_rows (const KanModel *m,
                     size_t          n,
                     gsize           max_bytes)
{
  double fixed = (double) kan_work_bytes (m, 1) - ((double) kan_work_bytes (m, 2)
                                                   - (double) kan_work_bytes (m, 1));
  double per_row = (double) kan_work_bytes (m, 2) - (double) kan_work_bytes (m, 1);
  double rows = ((double) max_bytes - fixed) / MAX (per_row, 1.0);

  rows = MIN (rows, (double) KAN_WORK_CHUNK_ROWS);
  return (size_t) MAX (1.0, MIN ((double) MAX (n, 1), floor (rows)));
}

KanWork *
kan_work_new (const KanModel *m,
              size_t          n_max)
{
  KanWork *w = g_new0 (KanWork, 1);
  int K1 = m->k + 1, wmax = 1;

  w->depth = m->depth;
  w->n_max = n_max;
  w->K1 = K1;
  w->wl = g_new0 (WorkLayer, m->depth);
  for (int l = 0; l < m->depth; l++)
    {
      const KanLayer *L = &m->layers[l];
      WorkLayer *W = &w->wl[l];
      size_t I = L->n_in, O = L->n_out, Q = L->n_next;
      W->x = g_new (double, n_max * I);
      W->m0 = g_new (int, n_max * I);
      W->bas = g_new (double, n_max * I * K1);
      W->dbas = g_new (double, n_max * I * K1);
      W->base = g_new (double, n_max * I);
      W->dbase = g_new (double, n_max * I);
      W->spl = g_new (double, n_max * I * O);
      W->dspl = g_new (double, n_max * I * O);
      W->post = g_new (double, n_max * I * O);
      W->postnum = g_new (double, n_max * I * O);
      W->z = g_new (double, n_max * O);
      W->zs = g_new (double, n_max * O);
      W->y = g_new (double, n_max * Q);
      W->alpha = g_new0 (double, I * O);
      W->mean_p = g_new0 (double, I * O);
      W->beta = g_new0 (double, I);
      W->mean_x = g_new0 (double, I);
      W->ext = g_new (double, I * kan_spline_ext_len (m->G, m->k));
      W->inv = g_new (double, I * MAX (m->k, 1) * kan_spline_ext_len (m->G, m->k));
      wmax = MAX (wmax, (int) MAX (I, MAX (O, Q)));
    }
  w->out = g_new (double, n_max * m->layers[m->depth - 1].n_next);
  w->g_a = g_new (double, wmax);
  w->g_b = g_new (double, wmax);
  w->g_c = g_new (double, wmax);
  w->gb1 = g_new (double, n_max * wmax);
  w->gb2 = g_new (double, n_max * wmax);
  w->gzb = g_new (double, n_max * wmax);
  w->gcl = g_new (double, m->G + m->k);
  return w;
}

void
kan_work_free (KanWork *w)
{
  if (w == NULL)
    return;
  for (int l = 0; l < w->depth; l++)
    {
      WorkLayer *W = &w->wl[l];
      g_free (W->x); g_free (W->m0); g_free (W->bas); g_free (W->dbas);
      g_free (W->base); g_free (W->dbase); g_free (W->spl); g_free (W->dspl);
      g_free (W->post); g_free (W->postnum); g_free (W->symf); g_free (W->dsymf);
      g_free (W->z); g_free (W->zs); g_free (W->y);
      g_free (W->alpha); g_free (W->mean_p); g_free (W->beta); g_free (W->mean_x);
      g_free (W->ext); g_free (W->inv);
    }
  g_free (w->wl);
  g_free (w->out);
  g_free (w->g_a);
  g_free (w->g_b);
  g_free (w->g_c);
  g_free (w->gb1);
  g_free (w->gb2);
  g_free (w->gzb);
  g_free (w->gcl);
  g_free (w);
}

void
kan_work_input_changed (KanWork *w)
{
  w->cache_valid = FALSE;
}

void
kan_work_set_cancellable (KanWork      *w,
                          GCancellable *cancellable)
{
  w->cancellable = cancellable;
  w->cancelled = FALSE;
  w->ticks = 0;
}

gboolean
kan_work_cancelled (const KanWork *w)
{
  return w->cancelled;
}

/* Counts UNITS of work (rows × edges, or parameters) and looks at the cancellable once every
 * KAN_WORK_CHECK_UNITS of them; TRUE once it is cancelled. */
static inline gboolean
work_tick (KanWork *w,
           size_t   units)
{
  if (w->cancelled)
    return TRUE;
  w->ticks += units;
  if (w->ticks < KAN_WORK_CHECK_UNITS)
    return FALSE;
  w->ticks = 0;
  if (w->cancellable != NULL && g_cancellable_is_cancelled (w->cancellable))
    w->cancelled = TRUE;
  return w->cancelled;
}

const double *kan_work_layer_input (const KanWork *w, int l) { return w->wl[l].x; }
const double *kan_work_edge_output (const KanWork *w, int l) { return w->wl[l].post; }
size_t kan_work_rows (const KanWork *w) { return w->n; }

/* ------------------------------------------------------------------------------------------ */
/* Forward                                                                                     */

static void
update_tables (const KanModel *m, KanWork *w)
{
  int len = kan_spline_ext_len (m->G, m->k);

  if (w->tab_valid && w->tab_model == m && w->tab_serial == m->grid_serial)
    return;
  for (int l = 0; l < m->depth; l++)
    {
      const KanLayer *L = &m->layers[l];
      WorkLayer *W = &w->wl[l];
      for (int i = 0; i < L->n_in; i++)
        kan_spline_tables (kan_layer_knots (m, L, i), m->G, m->k, W->ext + (size_t) i * len,
                           W->inv + (size_t) i * m->k * len);
    }
  w->tab_valid = TRUE;
  w->tab_model = m;
  w->tab_serial = m->grid_serial;
}

/* Bases and base function of layer input W->x (n × I); K is a parameter so that the k = 3
 * call below is specialised by the compiler. */
G_ALWAYS_INLINE static inline void
forward_bases_k (const KanModel *m, const KanLayer *L, WorkLayer *W, KanWork *w, int k, size_t n)
{
  int I = L->n_in, K1 = k + 1, len = kan_spline_ext_len (m->G, k);
  for (size_t b0 = 0; b0 < n; b0 += KAN_WORK_BLOCK_ROWS)
    {
      size_t b1 = MIN (n, b0 + KAN_WORK_BLOCK_ROWS);
      if (work_tick (w, (b1 - b0) * I))
        return;
      for (size_t b = b0; b < b1; b++)
        for (int i = 0; i < I; i++)
          {
            size_t bi = b * I + i;
            double xv = W->x[bi];
            const double *t = kan_layer_knots (m, L, i);
            const double *ext = W->ext + (size_t) i * len, *inv = W->inv + (size_t) i * k * len;
            if (k == 3)
              W->m0[bi] = kan_spline_basis_tab3 (t, ext, inv, m->G, xv, W->bas + bi * K1,
                                                 W->dbas + bi * K1);
            else
              W->m0[bi] = kan_spline_basis_tab (t, ext, inv, m->G, k, xv, W->bas + bi * K1,
                                                W->dbas + bi * K1);
            W->base[bi] = base_eval (m->base_fun, xv, &W->dbase[bi]);
          }
    }
}

static void
forward_bases (const KanModel *m, const KanLayer *L, WorkLayer *W, KanWork *w, int K1, size_t n)
{
  if (K1 == 4)
    forward_bases_k (m, L, W, w, 3, n);
  else
    forward_bases_k (m, L, W, w, K1 - 1, n);
}

/* Edges of one layer: post[b,i,j] = mask·(w_b·b(x) + w_s·spline(x)) + mask_s·(c·f(a·x+b)+d),
 * summed into the subnodes z. Edge by edge, so masks are tested once per edge; K1 is a parameter
 * so that the k = 3 call is unrolled. */
G_ALWAYS_INLINE static inline void
forward_edges (const KanModel *m, const KanLayer *L, WorkLayer *W, KanWork *w, size_t n, int K1,
               gboolean has_sym, gboolean need_dx, double y_th)
{
  int I = L->n_in, O = L->n_out, P = m->G + m->k;

  memset (W->z, 0, sizeof (double) * n * O);
  for (int i = 0; i < I; i++)
    for (int j = 0; j < O; j++)
      {
        size_t e = (size_t) i * O + j;
        const double *c = L->coef + e * P;
        double msk = L->mask[e], wb = msk * L->scale_base[e], ws = msk * L->scale_sp[e];
        gboolean sym = has_sym && L->mask_sym[e] != 0.0, numeric = msk != 0.0;

        if (work_tick (w, n))
          return;

        for (size_t b = 0; b < n; b++)
          {
            size_t bi = b * I + i, bij = bi * O + j;
            int m0 = W->m0[bi];
            double sv = 0.0, ds = 0.0, pn;
            if (m0 >= 0)
              {
                const double *bas = W->bas + bi * K1;
                KAN_UNROLL
                for (int r = 0; r < K1; r++)
                  sv += c[m0 + r] * bas[r];
                /* Layer 0's inputs are data: nothing needs ∂/∂x there. */
                if (need_dx)
                  {
                    const double *dbas = W->dbas + bi * K1;
                    KAN_UNROLL
                    for (int r = 0; r < K1; r++)
                      ds += c[m0 + r] * dbas[r];
                  }
              }
            W->spl[bij] = sv;
            W->dspl[bij] = ds;
            /* A masked edge is exactly 0, whatever its (possibly stale) parameters hold. */
            pn = numeric ? wb * W->base[bi] + ws * sv : 0.0;
            W->postnum[bij] = pn;
            W->post[bij] = pn;
            W->z[b * O + j] += pn;
          }
        if (sym)
          {
            const double *a = L->sym + e * 4;
            double ms = L->mask_sym[e];
            for (size_t b = 0; b < n; b++)
              {
                size_t bi = b * I + i, bij = bi * O + j;
                double f = kan_sym_eval (L->sym_fn[e], a[0] * W->x[bi] + a[1], y_th,
                                         &W->dsymf[bij]);
                double ps = ms * (a[2] * f + a[3]);
                W->symf[bij] = f;
                W->post[bij] += ps;
                W->z[b * O + j] += ps;
              }
          }
      }
}

/* Forward through layers 0 … N_LAYERS−1: the input of layer N_LAYERS (or the output) is then
 * in the workspace. Stops early, with W->cancelled set, when the cancellable fires. */
static void
forward_layers (const KanModel *m,
                KanWork        *w,
                const double   *x,
                size_t          n,
                double          y_th,
                int             n_layers)
{
  int K1 = m->k + 1;

  w->n = n;
  w->y_th = y_th;
  w->reg_pending = FALSE;
  w->cancelled = FALSE;
  update_tables (m, w);

  for (int l = 0; l < n_layers; l++)
    {
      const KanLayer *L = &m->layers[l];
      WorkLayer *W = &w->wl[l];
      int I = L->n_in, O = L->n_out, Q = L->n_next;
      gboolean has_sym = layer_has_symbolic (L);

      if (l == 0)
        {
          gboolean cached = w->cache_valid && w->cache_x == x && w->cache_n == n
                            && w->cache_model == m && w->cache_grid_serial == m->grid_serial;
          if (!cached)
            {
              w->cache_valid = FALSE;
              memcpy (W->x, x, sizeof (double) * n * I);
              forward_bases (m, L, W, w, K1, n);
              if (w->cancelled)
                return;
              w->cache_valid = TRUE;
              w->cache_x = x;
              w->cache_n = n;
              w->cache_model = m;
              w->cache_grid_serial = m->grid_serial;
            }
        }
      else
        forward_bases (m, L, W, w, K1, n);
      if (w->cancelled)
        return;

      if (has_sym && W->symf == NULL)
        {
          W->symf = g_new (double, w->n_max * I * O);
          W->dsymf = g_new (double, w->n_max * I * O);
        }

      if (K1 == 4)
        forward_edges (m, L, W, w, n, 4, has_sym, l > 0, y_th);
      else
        forward_edges (m, L, W, w, n, K1, has_sym, l > 0, y_th);
      if (w->cancelled)
        return;

      /* Subnode affine, multiplication, node affine. */
      {
        double *xnext = l + 1 < m->depth ? w->wl[l + 1].x : w->out;
        for (size_t b = 0; b < n; b++)
          {
            const double *z = W->z + b * O;
            double *zs = W->zs + b * O, *y = W->y + b * Q, *xn = xnext + b * Q;
            for (int j = 0; j < O; j++)
              zs[j] = L->subnode_scale[j] * z[j] + L->subnode_bias[j];
            for (int q = 0; q < Q; q++)
              {
                double prod = 1.0;
                for (int s = L->group_start[q]; s < L->group_start[q + 1]; s++)
                  prod *= zs[s];
                y[q] = prod;
                xn[q] = L->node_scale[q] * prod + L->node_bias[q];
              }
          }
      }
    }
}

void
kan_model_forward (const KanModel *m,
                   KanWork        *w,
                   const double   *x,
                   size_t          n,
                   double          y_th,
                   double         *out)
{
  g_return_if_fail (n <= w->n_max);
  forward_layers (m, w, x, n, y_th, m->depth);
  if (out && !w->cancelled)
    memcpy (out, w->out, sizeof (double) * n * kan_model_n_out (m));
}

void
kan_model_eval (const KanModel *m,
                const double   *x,
                size_t          n,
                double         *out)
{
  /* Chunks keep the workspace small for many rows and wide models. */
  const size_t chunk = kan_work_chunk_rows (m, n, KAN_WORK_CHUNK_BYTES);
  KanWork *w = kan_work_new (m, chunk);
  int I = kan_model_n_in (m), O = kan_model_n_out (m);

  for (size_t s = 0; s < n; s += chunk)
    {
      size_t c = MIN (chunk, n - s);
      kan_work_input_changed (w);
      kan_model_forward (m, w, x + s * I, c, 0.0, out + s * O);
    }
  kan_work_free (w);
}

void
kan_model_edge_eval (const KanModel *m, int l, int i, int j,
                     const double *xs, size_t n, double *ys)
{
  const KanLayer *L = &m->layers[l];
  size_t e = (size_t) i * L->n_out + j;
  const double *t = kan_layer_knots (m, L, i);
  const double *a = L->sym + e * 4;

  for (size_t s = 0; s < n; s++)
    {
      double d, v = 0.0;
      if (L->mask[e] != 0.0)
        v += L->mask[e] * (L->scale_base[e] * base_eval (m->base_fun, xs[s], &d)
                           + L->scale_sp[e] * kan_spline_eval (t, m->G, m->k,
                                                               L->coef + e * (m->G + m->k),
                                                               xs[s]));
      if (L->mask_sym[e] != 0.0)
        v += L->mask_sym[e] * (a[2] * kan_sym_eval (L->sym_fn[e], a[0] * xs[s] + a[1], 0.0, NULL)
                               + a[3]);
      ys[s] = v;
    }
}

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
  size_t n = w->n;
  int P = m->G + m->k;
  double reg = 0.0;

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
            if (work_tick (w, n))
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
            if (work_tick (w, n))
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
  int O = kan_model_n_out (m);
  double *row = g_new (double, m->n_params);
  double *e = g_new0 (double, O);
  gboolean reg = w->reg_pending;

  w->reg_pending = FALSE;
  for (size_t b = 0; b < w->n && !work_tick (w, m->n_params); b++)
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

/* ------------------------------------------------------------------------------------------ */
/* Grids                                                                                       */

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

/* Refits the splines of input I of layer L on new interior knots NEW_INTERIOR (G+1 values) so
 * that they match the old splines at the samples XS (n, sorted or not). */
static gboolean
refit_input (KanModel *m, KanLayer *L, int i, const double *new_interior,
             const double *xs, size_t n, GError **error)
{
  int G = m->G, k = m->k, P = G + k, O = L->n_out, T = G + 2 * k + 1;
  double *t = kan_layer_knots (m, L, i);
  double *tnew = g_new (double, T);
  double *yv = g_new (double, n * O);
  double *c = g_new (double, (size_t) O * P);
  gboolean ok;

  for (size_t s = 0; s < n; s++)
    for (int j = 0; j < O; j++)
      yv[s * O + j] = kan_spline_eval (t, G, k, L->coef + ((size_t) i * O + j) * P, xs[s]);
  memcpy (tnew + k, new_interior, sizeof (double) * (G + 1));
  kan_knots_extend (tnew, G, k);
  ok = kan_spline_fit (tnew, G, k, xs, yv, n, O, c, error);
  if (ok)
    {
      memcpy (t, tnew, sizeof (double) * T);
      for (int j = 0; j < O; j++)
        memcpy (L->coef + ((size_t) i * O + j) * P, c + (size_t) j * P, sizeof (double) * P);
    }
  g_free (tnew);
  g_free (yv);
  g_free (c);
  return ok;
}

/* Inputs of layer L of M for the N rows of X into XL (n × layer_in(L)), a chunk of rows at a
 * time through W (made for CHUNK rows). FALSE if W's cancellable fired. */
static gboolean
layer_inputs (const KanModel *m, KanWork *w, size_t chunk, int l, const double *x, size_t n,
              double *xl)
{
  int I0 = m->layers[0].n_in, I = m->layers[l].n_in;

  if (l == 0)
    {
      memcpy (xl, x, sizeof (double) * n * I0);
      return !(w->cancellable && g_cancellable_is_cancelled (w->cancellable));
    }
  for (size_t s = 0; s < n; s += chunk)
    {
      size_t c = MIN (chunk, n - s);
      kan_work_input_changed (w);
      forward_layers (m, w, x + s * I0, c, 0.0, l);
      if (w->cancelled)
        return FALSE;
      memcpy (xl + s * I, w->wl[l].x, sizeof (double) * c * I);
    }
  return TRUE;
}

/* The most inputs (OUT = FALSE) or subnode outputs of any layer. */
static int
max_layer_width (const KanModel *m, gboolean out)
{
  int v = 1;
  for (int l = 0; l < m->depth; l++)
    v = MAX (v, out ? m->layers[l].n_out : m->layers[l].n_in);
  return v;
}

/* Bytes of the grid operations on N rows at G intervals: a chunk workspace, one layer's
 * inputs, a sorted column, the old splines' values, the new coefficients, knots and the fit. */
static double
grid_op_bytes (const KanModel *m, int G, size_t n)
{
  double I = max_layer_width (m, FALSE), O = max_layer_width (m, TRUE), P = (double) G + m->k;
  size_t chunk = kan_work_chunk_rows (m, n, KAN_WORK_CHUNK_BYTES);

  return (double) kan_work_bytes (m, chunk)
         + ((double) n * (I + 1 + O) + O * P + 2.0 * (G + 2 * m->k + 3)) * sizeof (double)
         + (double) kan_spline_fit_bytes (G, m->k, n, (int) O);
}

gsize
kan_model_update_grid_bytes (const KanModel *m,
                             size_t          n)
{
  double b = grid_op_bytes (m, m->G, n);
  return b >= (double) G_MAXSIZE ? G_MAXSIZE : (gsize) b;
}

static gboolean
set_cancelled (GError **error, const char *what)
{
  g_set_error (error, KAN_ERROR, KAN_ERROR_CANCELLED, "%s was stopped", what);
  return FALSE;
}

gboolean
kan_model_update_grid (KanModel     *m,
                       const double *x,
                       size_t        n,
                       GError      **error)
{
  return kan_model_update_grid_full (m, x, n, NULL, error);
}

gboolean
kan_model_update_grid_full (KanModel     *m,
                            const double *x,
                            size_t        n,
                            GCancellable *cancellable,
                            GError      **error)
{
  KanWork *w;
  double *xl, *xs, *interior;
  gboolean ok = TRUE;
  size_t chunk;
  int G = m->G;

  if (n < 2)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_DATA, "a grid update needs at least two samples");
      return FALSE;
    }
  chunk = kan_work_chunk_rows (m, n, KAN_WORK_CHUNK_BYTES);
  w = kan_work_new (m, chunk);
  kan_work_set_cancellable (w, cancellable);
  xl = g_new (double, n * max_layer_width (m, FALSE));
  xs = g_new (double, n);
  interior = g_new (double, G + 1);
  for (int l = 0; l < m->depth && ok; l++)
    {
      KanLayer *L = &m->layers[l];
      if (!layer_inputs (m, w, chunk, l, x, n, xl))
        {
          ok = set_cancelled (error, "the grid update");
          break;
        }
      for (int i = 0; i < L->n_in && ok; i++)
        {
          double lo, hi;
          if (cancellable && g_cancellable_is_cancelled (cancellable))
            {
              ok = set_cancelled (error, "the grid update");
              break;
            }
          for (size_t s = 0; s < n; s++)
            xs[s] = xl[s * L->n_in + i];
          qsort (xs, n, sizeof (double), cmp_double);
          lo = xs[0];
          hi = xs[n - 1];
          /* A constant or non-finite input (a dead node) keeps its grid. */
          if (!(hi > lo) || !isfinite (lo) || !isfinite (hi))
            continue;
          for (int q = 0; q <= G; q++)
            {
              size_t id = q < G ? (size_t) floor ((double) n / G * q) : n - 1;
              double uni = lo + (hi - lo) / G * q;
              interior[q] = m->grid_eps * uni + (1.0 - m->grid_eps) * xs[id];
            }
          /* Both mixtures agree at the ends; keep them exact so the samples lie inside. */
          interior[0] = lo;
          interior[G] = hi;
          ok = refit_input (m, L, i, interior, xs, n, error);
        }
      kan_model_grid_changed (m);
    }
  g_free (interior);
  g_free (xs);
  g_free (xl);
  kan_work_free (w);
  return ok;
}

KanModel *
kan_model_refine (const KanModel *m,
                  int             new_grid,
                  const double   *x,
                  size_t          n,
                  GError        **error)
{
  return kan_model_refine_full (m, new_grid, x, n, NULL, error);
}

KanModel *
kan_model_refine_full (const KanModel *m,
                       int             new_grid,
                       const double   *x,
                       size_t          n,
                       GCancellable   *cancellable,
                       GError        **error)
{
  KanModelConfig cfg;
  KanModel *c;
  KanWork *w;
  double *xl;
  size_t chunk;
  int Gp = m->G, k = m->k;

  if (n < 1)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_DATA, "refining the grid needs samples");
      return NULL;
    }
  kan_model_config_init (&cfg);
  cfg.shape = m->shape;
  cfg.grid = new_grid;
  cfg.k = k;
  cfg.base_fun = m->base_fun;
  cfg.grid_eps = m->grid_eps;
  cfg.grid_range[0] = m->grid_range[0];
  cfg.grid_range[1] = m->grid_range[1];
  cfg.sp_trainable = m->sp_trainable;
  cfg.sb_trainable = m->sb_trainable;
  cfg.affine_trainable = m->affine_trainable;
  cfg.noise_scale = m->noise_scale;
  cfg.scale_base_mu = m->scale_base_mu;
  cfg.scale_base_sigma = m->scale_base_sigma;
  cfg.seed = m->seed;
  c = kan_model_alloc (&cfg, error);
  if (c == NULL)
    return NULL;

  /* The parent's layer inputs, a layer and a chunk of rows at a time. */
  chunk = kan_work_chunk_rows (m, n, KAN_WORK_CHUNK_BYTES);
  w = kan_work_new (m, chunk);
  kan_work_set_cancellable (w, cancellable);
  xl = g_new (double, n * max_layer_width (m, FALSE));
  for (int l = 0; l < m->depth; l++)
    {
      const KanLayer *Lp = &m->layers[l];
      KanLayer *Lc = &c->layers[l];
      int I = Lp->n_in, O = Lp->n_out, Pc = new_grid + k, Pp = Gp + k;
      size_t E = (size_t) I * O;
      double *xs = g_new (double, n), *yv = g_new (double, n * O);
      double *coef = g_new (double, (size_t) O * Pc);

      if (!layer_inputs (m, w, chunk, l, x, n, xl))
        {
          g_free (xs); g_free (yv); g_free (coef); g_free (xl);
          kan_work_free (w);
          kan_model_free (c);
          set_cancelled (error, "refining the grid");
          return NULL;
        }
      for (int i = 0; i < I; i++)
        {
          const double *tp = kan_layer_knots (m, Lp, i);
          double *tc = kan_layer_knots (c, Lc, i);
          double smin = INFINITY, smax = -INFINITY;
          for (size_t s = 0; s < n; s++)
            {
              double v = xl[s * I + i];
              smin = MIN (smin, v);
              smax = MAX (smax, v);
            }
          {
            /* New interior knots interpolate anchor knots piecewise-linearly (anchor q at
             * q/(n_anchor-1), child knot r at r/G'). The anchors are the parent's interior knots
             * (pykan's rule: an integer ratio G'/Gp nests the grids and the refit is exact) or,
             * when training moved the inputs past them, the parent knots that span the samples,
             * widened to the samples (pykan keeps the parent's range and loses the function
             * outside it). */
            int last = Gp + 2 * k, lo = k, hi = k + Gp, n_anchor = 0;
            double *anchor = g_new (double, last + 3);
            if (!(smin >= tp[k] && smax <= tp[k + Gp]) && smax > smin)
              {
                lo = 0;
                while (lo < last && tp[lo + 1] <= smin)
                  lo++;
                hi = last;
                while (hi > 0 && tp[hi - 1] >= smax)
                  hi--;
                if (smin < tp[lo])
                  anchor[n_anchor++] = smin;
              }
            for (int q = lo; q <= hi; q++)
              anchor[n_anchor++] = tp[q];
            if (hi == last && smax > tp[last])
              anchor[n_anchor++] = smax;
            for (int r = 0; r <= new_grid; r++)
              {
                double pos = (double) r / new_grid * (n_anchor - 1);
                int q = MIN ((int) floor (pos), n_anchor - 2);
                double f = pos - q;
                tc[k + r] = (1 - f) * anchor[q] + f * anchor[q + 1];
              }
            tc[k] = anchor[0];
            tc[k + new_grid] = anchor[n_anchor - 1];
            g_free (anchor);
          }
          kan_knots_extend (tc, new_grid, k);

          for (size_t s = 0; s < n; s++)
            {
              xs[s] = xl[s * I + i];
              for (int j = 0; j < O; j++)
                yv[s * O + j] = kan_spline_eval (tp, Gp, k, Lp->coef + ((size_t) i * O + j) * Pp,
                                                 xs[s]);
            }
          if ((cancellable && g_cancellable_is_cancelled (cancellable)
               && !set_cancelled (error, "refining the grid"))
              || !kan_spline_fit (tc, new_grid, k, xs, yv, n, O, coef, error))
            {
              g_free (xs); g_free (yv); g_free (coef); g_free (xl);
              kan_work_free (w);
              kan_model_free (c);
              return NULL;
            }
          for (int j = 0; j < O; j++)
            memcpy (Lc->coef + ((size_t) i * O + j) * Pc, coef + (size_t) j * Pc,
                    sizeof (double) * Pc);
        }
      memcpy (Lc->scale_base, Lp->scale_base, sizeof (double) * E);
      memcpy (Lc->scale_sp, Lp->scale_sp, sizeof (double) * E);
      memcpy (Lc->sym, Lp->sym, sizeof (double) * E * 4);
      memcpy (Lc->mask, Lp->mask, sizeof (double) * E);
      memcpy (Lc->mask_sym, Lp->mask_sym, sizeof (double) * E);
      memcpy (Lc->sym_fn, Lp->sym_fn, sizeof (int) * E);
      memcpy (Lc->subnode_scale, Lp->subnode_scale, sizeof (double) * O);
      memcpy (Lc->subnode_bias, Lp->subnode_bias, sizeof (double) * O);
      memcpy (Lc->node_scale, Lp->node_scale, sizeof (double) * Lp->n_next);
      memcpy (Lc->node_bias, Lp->node_bias, sizeof (double) * Lp->n_next);
      g_free (xs);
      g_free (yv);
      g_free (coef);
    }
  g_free (xl);
  kan_work_free (w);
  return c;
}
