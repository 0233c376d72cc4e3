/* kan-prune.c — attribution scores and pruning (pykan sections 4.1–4.2).
 *
 * Shapes in comments: n rows, L = depth, I = nodes feeding an edge layer, O = its subnodes,
 * Q = the nodes of the next layer, K = n_out outputs (the rows of the backward pass).
 */
#include "kan-prune.h"
#include "kan-model-private.h"
#include "kan-symbolic.h"
#include "kan-error.h"

#include <math.h>
#include <string.h>

/* Rows per forward chunk: bounds the workspace (it holds several n × I × O arrays). */
#define SCORE_CHUNK_ROWS 1024

struct _KanScores
{
  KanShape *shape;            /* of the model the scores were computed on */
  int       depth;
  int       n_out;            /* K */
  size_t    n_rows;
  int      *width;            /* depth+1: nodes of each node layer */
  int      *subwidth;         /* depth: subnodes fed by each edge layer */

  /* Views into BUF. */
  double  **node;             /* depth+1 arrays of width[l] (mean over outputs) */
  double  **node_all;         /* depth+1 arrays of K × width[l] */
  double  **edge;             /* depth arrays of I × O */
  double  **subnode;          /* depth arrays of O */
  double  **edge_act;         /* depth arrays of I × O: std of the edge outputs */
  double  **sub_act;          /* depth arrays of O: std of the subnode sums */
  double   *buf;
};

/* ------------------------------------------------------------------------------------------ */
/* Scores: allocation and accessors                                                            */

static KanScores *
scores_alloc (const KanModel *m)
{
  KanScores *s = g_new0 (KanScores, 1);
  int L = m->depth;
  size_t total = 0;
  double *p;

  s->shape = kan_shape_copy (m->shape);
  s->depth = L;
  s->n_out = kan_model_n_out (m);
  s->width = g_new (int, L + 1);
  s->subwidth = g_new (int, MAX (L, 1));
  for (int l = 0; l <= L; l++)
    s->width[l] = kan_shape_nodes (m->shape, l);
  for (int l = 0; l < L; l++)
    s->subwidth[l] = m->layers[l].n_out;

  for (int l = 0; l <= L; l++)
    total += (size_t) s->width[l] * (1 + s->n_out);
  for (int l = 0; l < L; l++)
    total += 2 * ((size_t) s->width[l] * s->subwidth[l] + s->subwidth[l]);

  s->buf = g_new0 (double, total);
  s->node = g_new (double *, L + 1);
  s->node_all = g_new (double *, L + 1);
  s->edge = g_new (double *, MAX (L, 1));
  s->subnode = g_new (double *, MAX (L, 1));
  s->edge_act = g_new (double *, MAX (L, 1));
  s->sub_act = g_new (double *, MAX (L, 1));
  p = s->buf;
  for (int l = 0; l <= L; l++)
    {
      s->node[l] = p;      p += s->width[l];
      s->node_all[l] = p;  p += (size_t) s->n_out * s->width[l];
    }
  for (int l = 0; l < L; l++)
    {
      size_t E = (size_t) s->width[l] * s->subwidth[l];
      s->edge[l] = p;      p += E;
      s->edge_act[l] = p;  p += E;
      s->subnode[l] = p;   p += s->subwidth[l];
      s->sub_act[l] = p;   p += s->subwidth[l];
    }
  g_assert (p == s->buf + total);
  return s;
}

void
kan_scores_free (KanScores *s)
{
  if (s == NULL)
    return;
  kan_shape_free (s->shape);
  g_free (s->width);
  g_free (s->subwidth);
  g_free (s->node);
  g_free (s->node_all);
  g_free (s->edge);
  g_free (s->subnode);
  g_free (s->edge_act);
  g_free (s->sub_act);
  g_free (s->buf);
  g_free (s);
}

int
kan_scores_depth (const KanScores *s)
{
  g_return_val_if_fail (s != NULL, 0);
  return s->depth;
}

int
kan_scores_width (const KanScores *s, int l)
{
  g_return_val_if_fail (s != NULL, 0);
  g_return_val_if_fail (l >= 0 && l <= s->depth, 0);
  return s->width[l];
}

int
kan_scores_subwidth (const KanScores *s, int l)
{
  g_return_val_if_fail (s != NULL, 0);
  g_return_val_if_fail (l >= 0 && l < s->depth, 0);
  return s->subwidth[l];
}

size_t
kan_scores_rows (const KanScores *s)
{
  g_return_val_if_fail (s != NULL, 0);
  return s->n_rows;
}

const double *
kan_scores_node (const KanScores *s, int l)
{
  g_return_val_if_fail (s != NULL, NULL);
  g_return_val_if_fail (l >= 0 && l <= s->depth, NULL);
  return s->node[l];
}

const double *
kan_scores_node_for_output (const KanScores *s, int l, int k)
{
  g_return_val_if_fail (s != NULL, NULL);
  g_return_val_if_fail (l >= 0 && l <= s->depth, NULL);
  g_return_val_if_fail (k >= 0 && k < s->n_out, NULL);
  return s->node_all[l] + (size_t) k * s->width[l];
}

const double *
kan_scores_inputs (const KanScores *s)
{
  g_return_val_if_fail (s != NULL, NULL);
  return s->node[0];
}

const double *
kan_scores_edge (const KanScores *s, int l)
{
  g_return_val_if_fail (s != NULL, NULL);
  g_return_val_if_fail (l >= 0 && l < s->depth, NULL);
  return s->edge[l];
}

const double *
kan_scores_subnode (const KanScores *s, int l)
{
  g_return_val_if_fail (s != NULL, NULL);
  g_return_val_if_fail (l >= 0 && l < s->depth, NULL);
  return s->subnode[l];
}

const double *
kan_scores_edge_actscale (const KanScores *s, int l)
{
  g_return_val_if_fail (s != NULL, NULL);
  g_return_val_if_fail (l >= 0 && l < s->depth, NULL);
  return s->edge_act[l];
}

const double *
kan_scores_subnode_actscale (const KanScores *s, int l)
{
  g_return_val_if_fail (s != NULL, NULL);
  g_return_val_if_fail (l >= 0 && l < s->depth, NULL);
  return s->sub_act[l];
}

/* TRUE if S was computed on a model of M's shape (same widths, same arities). */
static gboolean
scores_match (const KanScores *s, const KanModel *m)
{
  const KanShape *a = s->shape, *b = m->shape;
  if (a->n_layers != b->n_layers)
    return FALSE;
  for (int l = 0; l < a->n_layers; l++)
    {
      if (a->n_sum[l] != b->n_sum[l] || a->n_mult[l] != b->n_mult[l])
        return FALSE;
      for (int q = 0; q < a->n_mult[l]; q++)
        if (a->arity[l][q] != b->arity[l][q])
          return FALSE;
    }
  return TRUE;
}

static gboolean
check_scores (const KanScores *s, const KanModel *m, GError **error)
{
  if (!scores_match (s, m))
    {
      g_autofree char *ws = kan_shape_to_string (s->shape);
      g_autofree char *wm = kan_shape_to_string (m->shape);
      g_set_error (error, KAN_ERROR, KAN_ERROR_SHAPE,
                   "the attribution scores belong to a model of width %s, not %s", ws, wm);
      return FALSE;
    }
  return TRUE;
}

/* ------------------------------------------------------------------------------------------ */
/* Scores: statistics and the backward pass                                                    */

/* One Welford update of (MEAN, M2) with the COUNT-th value V. */
static inline void
welford (double *mean, double *m2, double count, double v)
{
  double d = v - *mean;
  *mean += d / count;
  *m2 += d * (v - *mean);
}

/* Fills edge_act and sub_act with unbiased standard deviations over the N rows of X. The
 * subnode sum is rebuilt from the edge outputs in the order the forward pass adds them
 * (z_j = 0 + post_0j + post_1j + …), so it is the forward's z bit for bit. */
static void
scores_statistics (KanScores *s, const KanModel *m, const double *x, size_t n)
{
  int L = m->depth, n_in = kan_model_n_in (m), wmax = 1;
  size_t chunk = MIN (n, (size_t) SCORE_CHUNK_ROWS);
  KanWork *w = kan_work_new (m, chunk);
  double **mean_e = g_new (double *, L), **mean_z = g_new (double *, L);
  double *z;

  for (int l = 0; l < L; l++)
    {
      const KanLayer *Ly = &m->layers[l];
      mean_e[l] = g_new0 (double, (size_t) Ly->n_in * Ly->n_out);
      mean_z[l] = g_new0 (double, Ly->n_out);
      wmax = MAX (wmax, Ly->n_out);
    }
  z = g_new (double, wmax);

  for (size_t r0 = 0; r0 < n; r0 += chunk)
    {
      size_t c = MIN (chunk, n - r0);
      kan_work_input_changed (w);
      kan_model_forward (m, w, x + r0 * n_in, c, 0.0, NULL);
      for (int l = 0; l < L; l++)
        {
          const KanLayer *Ly = &m->layers[l];
          int I = Ly->n_in, O = Ly->n_out;
          const double *post = kan_work_edge_output (w, l);
          double *me = mean_e[l], *mz = mean_z[l], *m2e = s->edge_act[l], *m2z = s->sub_act[l];
          for (size_t b = 0; b < c; b++)
            {
              double count = (double) (r0 + b + 1);
              const double *pb = post + b * I * O;
              memset (z, 0, sizeof (double) * O);
              for (int i = 0; i < I; i++)
                for (int j = 0; j < O; j++)
                  {
                    size_t e = (size_t) i * O + j;
                    welford (me + e, m2e + e, count, pb[e]);
                    z[j] += pb[e];
                  }
              for (int j = 0; j < O; j++)
                welford (mz + j, m2z + j, count, z[j]);
            }
        }
    }

  for (int l = 0; l < L; l++)
    {
      const KanLayer *Ly = &m->layers[l];
      size_t E = (size_t) Ly->n_in * Ly->n_out;
      for (size_t e = 0; e < E; e++)
        s->edge_act[l][e] = sqrt (s->edge_act[l][e] / (double) (n - 1));
      for (int j = 0; j < Ly->n_out; j++)
        s->sub_act[l][j] = sqrt (s->sub_act[l][j] / (double) (n - 1));
      g_free (mean_e[l]);
      g_free (mean_z[l]);
    }
  g_free (mean_e);
  g_free (mean_z);
  g_free (z);
  kan_work_free (w);
  s->n_rows = n;
}

/* pykan's attribute(): from S = I over the outputs, for each edge layer from the last,
 *   Ssub[k,j]  = S[k, node of j]                                  (K × O)
 *   E[k,i,j]   = edge_act[i,j] · Ssub[k,j] / (sub_act[j] + floor)  (K × I × O)
 *   S'[k,i]    = Σ_j E[k,i,j]                                      (K × I)
 * and the node, subnode and edge scores are the means over k. */
static void
scores_backward (KanScores *s, const KanModel *m)
{
  int L = m->depth, K = s->n_out, omax = 1;
  double *ssub;

  for (int l = 0; l < L; l++)
    omax = MAX (omax, m->layers[l].n_out);
  ssub = g_new (double, (size_t) K * omax);

  memset (s->node_all[L], 0, sizeof (double) * K * K);
  for (int k = 0; k < K; k++)
    s->node_all[L][(size_t) k * K + k] = 1.0;

  for (int l = L - 1; l >= 0; l--)
    {
      const KanLayer *Ly = &m->layers[l];
      int I = Ly->n_in, O = Ly->n_out;
      const double *S = s->node_all[l + 1], *act = s->edge_act[l];
      double *Sn = s->node_all[l], *edge = s->edge[l], *sub = s->subnode[l];

      for (int k = 0; k < K; k++)
        for (int q = 0; q < Ly->n_next; q++)
          for (int j = Ly->group_start[q]; j < Ly->group_start[q + 1]; j++)
            ssub[(size_t) k * O + j] = S[(size_t) k * Ly->n_next + q];

      memset (edge, 0, sizeof (double) * I * O);
      for (int k = 0; k < K; k++)
        for (int i = 0; i < I; i++)
          {
            double sum = 0.0;
            for (int j = 0; j < O; j++)
              {
                size_t e = (size_t) i * O + j;
                double v = act[e] * ssub[(size_t) k * O + j]
                           / (s->sub_act[l][j] + KAN_SCORE_STD_FLOOR);
                sum += v;
                edge[e] += v;
              }
            Sn[(size_t) k * I + i] = sum;
          }
      for (int e = 0; e < I * O; e++)
        edge[e] /= K;
      for (int j = 0; j < O; j++)
        {
          double acc = 0.0;
          for (int k = 0; k < K; k++)
            acc += ssub[(size_t) k * O + j];
          sub[j] = acc / K;
        }
    }

  for (int l = 0; l <= L; l++)
    for (int i = 0; i < s->width[l]; i++)
      {
        double acc = 0.0;
        for (int k = 0; k < K; k++)
          acc += s->node_all[l][(size_t) k * s->width[l] + i];
        s->node[l][i] = acc / K;
      }
  g_free (ssub);
}

static gboolean
scores_finite (const KanScores *s)
{
  for (int l = 0; l < s->depth; l++)
    {
      size_t E = (size_t) s->width[l] * s->subwidth[l];
      for (size_t e = 0; e < E; e++)
        if (!isfinite (s->edge[l][e]))
          return FALSE;
    }
  for (int l = 0; l <= s->depth; l++)
    for (size_t q = 0; q < (size_t) s->width[l] * s->n_out; q++)
      if (!isfinite (s->node_all[l][q]))
        return FALSE;
  return TRUE;
}

KanScores *
kan_scores_compute (const KanModel  *m,
                    const double    *x,
                    size_t           n,
                    GError         **error)
{
  KanScores *s;
  int n_in;

  g_return_val_if_fail (m != NULL, NULL);
  g_return_val_if_fail (x != NULL || n == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (n < 2)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_DATA,
                   "attribution needs at least two samples for a standard deviation (got %zu)",
                   n);
      return NULL;
    }
  n_in = kan_model_n_in (m);
  for (size_t b = 0; b < n; b++)
    for (int i = 0; i < n_in; i++)
      if (!isfinite (x[b * n_in + i]))
        {
          g_set_error (error, KAN_ERROR, KAN_ERROR_DATA,
                       "attribution input row %zu, column %d is not a finite number", b + 1,
                       i + 1);
          return NULL;
        }

  s = scores_alloc (m);
  scores_statistics (s, m, x, n);
  scores_backward (s, m);
  if (!scores_finite (s))
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_NONFINITE,
                   "the model's activations are not finite on these samples; "
                   "no attribution scores");
      kan_scores_free (s);
      return NULL;
    }
  return s;
}

/* ------------------------------------------------------------------------------------------ */
/* Pruning                                                                                     */

static gboolean
check_threshold (double threshold, const char *what, GError **error)
{
  if (isnan (threshold))
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID, "the %s threshold is not a number",
                   what);
      return FALSE;
    }
  return TRUE;
}

/* The nodes of a layer of WIDTH nodes scoring > THRESHOLD, increasing, into OUT, or the best
 * one (the first of equal best) if none does; returns how many. */
static int
kept_by_threshold (const double *score,
                   int           width,
                   double        threshold,
                   int          *out)
{
  int count = 0;

  for (int q = 0; q < width; q++)
    if (score[q] > threshold)
      out[count++] = q;
  if (count == 0)
    {
      /* An empty layer is no network; keep the node the scores value most. */
      int best = 0;
      for (int q = 1; q < width; q++)
        if (score[q] > score[best])
          best = q;
      out[count++] = best;
    }
  return count;
}

/* The nodes of a layer of WIDTH nodes to keep, increasing, into OUT; returns how many. With
 * KEEP (ends with -1) those, else those scoring > THRESHOLD, else the best one. WHAT names the
 * layer in messages. Returns -1 with ERROR set for a bad KEEP list. */
static int
select_nodes (const double *score,
              int           width,
              double        threshold,
              const int    *keep,
              const char   *what,
              int          *out,
              GError      **error)
{
  int count = 0;

  if (keep != NULL)
    {
      g_autofree gboolean *on = g_new0 (gboolean, width);
      for (int q = 0; keep[q] != -1; q++)
        {
          if (keep[q] < 0 || keep[q] >= width)
            {
              g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID,
                           "%s: node %d is out of range (the layer has %d nodes)", what,
                           keep[q], width);
              return -1;
            }
          if (on[keep[q]])
            {
              g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID,
                           "%s: node %d is listed twice", what, keep[q]);
              return -1;
            }
          on[keep[q]] = TRUE;
        }
      for (int q = 0; q < width; q++)
        if (on[q])
          out[count++] = q;
      if (count == 0)
        {
          g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID,
                       "%s: the list of nodes to keep is empty", what);
          return -1;
        }
      return count;
    }

  return kept_by_threshold (score, width, threshold, out);
}

int *
kan_scores_kept_nodes (const KanScores *s,
                       int              l,
                       double           threshold)
{
  int *list, count;

  g_return_val_if_fail (s != NULL && l >= 0 && l <= s->depth, NULL);
  g_return_val_if_fail (!isnan (threshold), NULL);
  list = g_new (int, s->width[l] + 1);
  count = kept_by_threshold (s->node[l], s->width[l], threshold, list);
  list[count] = -1;
  return list;
}

/* A new model with the nodes NODES[l][0 … CNT[l]-1] of every node layer l (increasing), with
 * every setting and parameter of M carried over. A kept node keeps all its subnodes. */
static KanModel *
prune_build (const KanModel *m, int *const *nodes, const int *cnt, GError **error)
{
  KanShape *shape = kan_shape_copy (m->shape);
  KanModelConfig cfg;
  KanModel *m2;
  int P = m->G + m->k, T = m->G + 2 * m->k + 1;

  for (int l = 0; l <= m->depth; l++)
    {
      int ns = m->shape->n_sum[l], n_sum = 0, n_mult = 0;
      for (int c = 0; c < cnt[l]; c++)
        {
          int q = nodes[l][c];
          if (q < ns)
            n_sum++;
          else
            shape->arity[l][n_mult++] = m->shape->arity[l][q - ns];
        }
      shape->n_sum[l] = n_sum;
      shape->n_mult[l] = n_mult;
    }

  kan_model_get_config (m, &cfg);
  cfg.shape = shape;
  m2 = kan_model_alloc (&cfg, error);
  kan_shape_free (shape);
  if (m2 == NULL)
    return NULL;

  for (int l = 0; l < m->depth; l++)
    {
      const KanLayer *A = &m->layers[l];
      KanLayer *B = &m2->layers[l];
      const int *in = nodes[l], *next = nodes[l + 1];
      g_autofree int *sub = g_new (int, MAX (A->n_out, 1));
      int n_sub = 0;

      /* Subnodes of the kept nodes of layer l+1, in order. */
      for (int c = 0; c < cnt[l + 1]; c++)
        {
          int q = next[c];
          g_assert (B->group_start[c + 1] - B->group_start[c]
                    == A->group_start[q + 1] - A->group_start[q]);
          for (int j = A->group_start[q]; j < A->group_start[q + 1]; j++)
            sub[n_sub++] = j;
        }
      g_assert (B->n_in == cnt[l] && B->n_out == n_sub && B->n_next == cnt[l + 1]);

      for (int i2 = 0; i2 < B->n_in; i2++)
        {
          int i = in[i2];
          memcpy (kan_layer_knots (m2, B, i2), kan_layer_knots (m, A, i), sizeof (double) * T);
          for (int j2 = 0; j2 < B->n_out; j2++)
            {
              size_t e = (size_t) i * A->n_out + sub[j2], e2 = (size_t) i2 * B->n_out + j2;
              memcpy (B->coef + e2 * P, A->coef + e * P, sizeof (double) * P);
              memcpy (B->sym + e2 * 4, A->sym + e * 4, sizeof (double) * 4);
              B->scale_base[e2] = A->scale_base[e];
              B->scale_sp[e2] = A->scale_sp[e];
              B->mask[e2] = A->mask[e];
              B->mask_sym[e2] = A->mask_sym[e];
              B->sym_fn[e2] = A->sym_fn[e];
            }
        }
      for (int j2 = 0; j2 < B->n_out; j2++)
        {
          B->subnode_scale[j2] = A->subnode_scale[sub[j2]];
          B->subnode_bias[j2] = A->subnode_bias[sub[j2]];
        }
      for (int q2 = 0; q2 < B->n_next; q2++)
        {
          B->node_scale[q2] = A->node_scale[next[q2]];
          B->node_bias[q2] = A->node_bias[next[q2]];
        }
    }
  kan_model_grid_changed (m2);
  return m2;
}

/* Per-layer node lists with every node of every layer; layers the caller fills are replaced. */
typedef struct
{
  int   n_layers;
  int **nodes;
  int  *cnt;
} NodeSel;

static void
node_sel_init (NodeSel *sel, const KanModel *m)
{
  sel->n_layers = m->depth + 1;
  sel->nodes = g_new (int *, sel->n_layers);
  sel->cnt = g_new (int, sel->n_layers);
  for (int l = 0; l < sel->n_layers; l++)
    {
      sel->cnt[l] = kan_shape_nodes (m->shape, l);
      sel->nodes[l] = g_new (int, sel->cnt[l]);
      for (int q = 0; q < sel->cnt[l]; q++)
        sel->nodes[l][q] = q;
    }
}

static void
node_sel_clear (NodeSel *sel)
{
  for (int l = 0; l < sel->n_layers; l++)
    g_free (sel->nodes[l]);
  g_free (sel->nodes);
  g_free (sel->cnt);
}

KanModel *
kan_model_prune_nodes (const KanModel   *m,
                       const KanScores  *s,
                       double            threshold,
                       const int *const *keep,
                       GError          **error)
{
  NodeSel sel;
  KanModel *m2 = NULL;

  g_return_val_if_fail (m != NULL && s != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!check_threshold (threshold, "node", error) || !check_scores (s, m, error))
    return NULL;

  node_sel_init (&sel, m);
  for (int l = 1; l < m->depth; l++)
    {
      g_autofree char *what = g_strdup_printf ("hidden layer %d", l);
      sel.cnt[l] = select_nodes (s->node[l], s->width[l], threshold,
                                 keep ? keep[l - 1] : NULL, what, sel.nodes[l], error);
      if (sel.cnt[l] < 0)
        goto out;
    }
  m2 = prune_build (m, sel.nodes, sel.cnt, error);
out:
  node_sel_clear (&sel);
  return m2;
}

KanModel *
kan_model_prune_inputs (const KanModel   *m,
                        const KanScores  *s,
                        double            threshold,
                        const int        *keep,
                        int             **kept_out,
                        GError          **error)
{
  NodeSel sel;
  KanModel *m2 = NULL;

  g_return_val_if_fail (m != NULL && s != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (kept_out)
    *kept_out = NULL;
  if (!check_threshold (threshold, "input", error) || !check_scores (s, m, error))
    return NULL;

  node_sel_init (&sel, m);
  sel.cnt[0] = select_nodes (s->node[0], s->width[0], threshold, keep, "inputs",
                             sel.nodes[0], error);
  if (sel.cnt[0] >= 0)
    m2 = prune_build (m, sel.nodes, sel.cnt, error);
  if (m2 != NULL && kept_out != NULL)
    {
      *kept_out = g_new (int, sel.cnt[0] + 1);
      memcpy (*kept_out, sel.nodes[0], sizeof (int) * sel.cnt[0]);
      (*kept_out)[sel.cnt[0]] = -1;
    }
  node_sel_clear (&sel);
  return m2;
}

int
kan_model_prune_edges (KanModel        *m,
                       const KanScores *s,
                       double           threshold)
{
  int count = 0;

  g_return_val_if_fail (m != NULL && s != NULL, 0);
  g_return_val_if_fail (!isnan (threshold), 0);
  g_return_val_if_fail (scores_match (s, m), 0);

  for (int l = 0; l < m->depth; l++)
    {
      KanLayer *Ly = &m->layers[l];
      for (int i = 0; i < Ly->n_in; i++)
        for (int j = 0; j < Ly->n_out; j++)
          {
            size_t e = (size_t) i * Ly->n_out + j;
            if (s->edge[l][e] > threshold)
              continue;
            if (Ly->mask[e] != 0.0 || Ly->mask_sym[e] != 0.0)
              {
                kan_model_set_edge (m, l, i, j, KAN_EDGE_OFF, 0, NULL);
                count++;
              }
          }
    }
  return count;
}

KanModel *
kan_model_prune (const KanModel  *m,
                 const double    *x,
                 size_t           n,
                 double           node_th,
                 double           edge_th,
                 GError         **error)
{
  g_autoptr (KanScores) s = NULL;
  g_autoptr (KanScores) s2 = NULL;
  g_autoptr (KanModel) m2 = NULL;

  g_return_val_if_fail (m != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!check_threshold (node_th, "node", error) || !check_threshold (edge_th, "edge", error))
    return NULL;
  s = kan_scores_compute (m, x, n, error);
  if (s == NULL)
    return NULL;
  m2 = kan_model_prune_nodes (m, s, node_th, NULL, error);
  if (m2 == NULL)
    return NULL;
  s2 = kan_scores_compute (m2, x, n, error);
  if (s2 == NULL)
    return NULL;
  kan_model_prune_edges (m2, s2, edge_th);
  return g_steal_pointer (&m2);
}

void
kan_model_mask_node (KanModel *m,
                     int       layer,
                     int       node)
{
  g_return_if_fail (m != NULL);
  g_return_if_fail (layer >= 0 && layer <= m->depth);
  g_return_if_fail (node >= 0 && node < kan_shape_nodes (m->shape, layer));

  if (layer > 0)
    {
      const KanLayer *Ly = &m->layers[layer - 1];
      for (int i = 0; i < Ly->n_in; i++)
        for (int j = Ly->group_start[node]; j < Ly->group_start[node + 1]; j++)
          kan_model_set_edge (m, layer - 1, i, j, KAN_EDGE_OFF, 0, NULL);
    }
  if (layer < m->depth)
    {
      const KanLayer *Ly = &m->layers[layer];
      for (int j = 0; j < Ly->n_out; j++)
        kan_model_set_edge (m, layer, node, j, KAN_EDGE_OFF, 0, NULL);
    }
}
