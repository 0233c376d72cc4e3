/* kan-work-private.h — the workspace's layout, shared by the files of the model's passes
 * (kan-work.c, kan-forward.c, kan-backward.c, kan-reg.c, kan-grid.c) and by no other module.
 *
 * Shapes in comments: n rows (samples), I = n_in nodes of the layer, O = n_out subnodes,
 * Q = n_next nodes after multiplication, P = G+k bases, K1 = k+1 non-zero bases at a point.
 */
#pragma once

#include "kan-model-private.h"

G_BEGIN_DECLS

/* Cancellation: forward, backward and the Jacobian look at the workspace's cancellable once
 * every KAN_WORK_CHECK_UNITS units of work (a unit is one row of one edge, or one parameter
 * of one Jacobian row: well under a millisecond for the lot). The bases are computed in
 * blocks of KAN_WORK_BLOCK_ROWS rows between checks. */
#define KAN_WORK_CHECK_UNITS ((size_t) 1 << 16)
#define KAN_WORK_BLOCK_ROWS  4096
/* The counting sort of a node's rows (kan-forward.c) runs over this many interleaved
 * contiguous slices of them, so that the counts of consecutive rows (often in the same
 * interval) do not wait on each other through memory. */
#define KAN_WORK_SORT_SLICES 4

typedef struct
{
  /* Per input node i, its rows sorted by the interval that holds x (the first non-zero basis
   * m0, shared by the node's outgoing edges; a stable counting sort, so the order is a
   * function of the data): the rows of one interval form a run, inside which every edge's
   * k+1 coefficients (and the knots of the bases) are constants. "Sorted" arrays below are
   * indexed by the position k in that order; perm and pos translate between positions and
   * rows. Cubic bases on grids of up to KAN_FIRST3_COUNT_MAX_G intervals sort finer, by knot
   * span (kan-forward.c): the rows of a run are then grouped by span too, so that the spans
   * near the ends of the knots are computed as vectors like the others. */
  double *x;       /* n × I   layer input (owned for l > 0; layer 0 copies too, for the trace) */
  double *xc;      /* I × n   the input by node (layers l > 0; NULL for layer 0) */
  double *xs;      /* I × n   sorted: the input */
  int    *perm;    /* I × n   row at sorted position k */
  int    *pos;     /* I × n   sorted position of row b */
  int    *runs;    /* I × (G+1)  first position of interval m (runs[G] = n) */
  int    *m0;      /* I × n   by row: first non-zero basis (0 outside the grid, bases 0) */
  double *bas;     /* I × K1 × n  sorted: basis m0+r of node i at [(i·K1 + r)·n + k] */
  double *dbas;    /* I × K1 × n  their derivatives (layers l > 0: layer 0's inputs are data) */
  double *base;    /* I × n   sorted: b(x) */
  double *dbase;   /* I × n   sorted: b'(x) */
  double *spl;     /* I·O × n  raw spline value of each edge (numeric edges), sorted by i */
  double *post;    /* n × I × O  edge output (numeric + symbolic), when the layer has symbolic
                    * edges; otherwise post_alias is set and the output is postnum */
  double *postnum; /* n × I × O  numeric part of the edge output */
  double *symf;    /* I·O × n  f(a·x+b), allocated when the layer has symbolic edges */
  double *dsymf;   /* I·O × n  f'(a·x+b) */
  double *z;       /* O × n   subnode sums */
  double *zs;      /* O × n   after the subnode affine */
  double *y;       /* Q × n   after multiplication (nodes of one subnode: in zs, kan_node_y) */
  gboolean post_alias;
  /* The last forward left postnum unwritten (no symbolic edge, and the feature path or nobody
   * read the edge outputs after the forward before): kan_forward_write_edges writes it. */
  gboolean postnum_pending;
  /* Layer 0 with few bases (KAN_FEAT_MAX_COLS): the base function and all P bases of every
   * row of input node i as rows of a matrix, feat[(i·(P+1) + c)·n + b] (c = 0 the base
   * function, 1 + p basis p), built from the cached bases on first use; with them the edges
   * are sums of products over the rows, with no gather (kan-forward.c, kan-backward.c). */
  double  *feat;
  gboolean feat_valid;   /* feat holds the current bases */
  gboolean feat_active;  /* the last forward of the layer went that way (spl unwritten) */
  gboolean spl_pending;  /* … and kan_forward_write_edges has not written spl since */
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
  /* The per-edge outputs (postnum) were read since the last forward (edges_read; the next
   * forward then writes them at once, edges_eager), and the model of the last forward. */
  gboolean    edges_read, edges_eager;
  const KanModel *fwd_model;
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
  double     *gb1, *gb2, *gzb;  /* max width × n_max: batched backward, row-contiguous */
  double     *gcl;              /* G+k: one edge's coefficient gradient */
  /* forward scratch: one input node's column, its bases in row order for orders other than
   * 3 (before the sort), the counting sort's positions */
  double     *t_col;            /* n_max */
  double     *t_bas, *t_dbas;   /* n_max × K1 */
  int        *t_next;           /* KAN_WORK_SORT_SLICES × (G+8) */
  int        *t_kst;            /* G+8: first position of each sort key */
  int        *t_key;            /* n_max: each row's sort key */
  gint64     *t_cnt;            /* n_max: the knots at or below each row (first3_keys) */
  /* backward scratch, one input node's rows in its sorted order: an edge's ∂/∂(its numeric
   * part) and that times w_s, and the node's ∂/∂x */
  double     *t_gm, *t_gs, *t_gxs;   /* n_max */
  struct _KanDense *dense;      /* the matrix path's buffers (kan-dense.c), made on first use */
  gboolean    feat_off;         /* no feature path (WorkLayer.feat): tests compare the paths */
};

/* TRUE if some edge of L has its symbolic part on. */
static inline gboolean
kan_layer_has_symbolic (const KanLayer *L)
{
  for (size_t e = 0; e < (size_t) L->n_in * L->n_out; e++)
    if (L->mask_sym[e] != 0.0)
      return TRUE;
  return FALSE;
}

/* The rows of node Q of layer L after multiplication (n of them): W->y, or the subnode's
 * zs when the node has one subnode (the forward writes y only for products). */
static inline const double *
kan_node_y (const KanLayer *L, const WorkLayer *W, int q, size_t n)
{
  if (L->group_start[q + 1] - L->group_start[q] == 1)
    return W->zs + (size_t) L->group_start[q] * n;
  return W->y + (size_t) q * n;
}

/* Counts UNITS of work (rows × edges, or parameters) and looks at the cancellable once every
 * KAN_WORK_CHECK_UNITS of them; TRUE once it is cancelled. */
static inline gboolean
kan_work_tick (KanWork *w,
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

/* Forward through layers 0 … N_LAYERS−1 of M (kan-forward.c); kan_model_forward is the whole
 * network, the grid operations stop at the layer whose inputs they need. */
void kan_model_forward_layers (const KanModel *m,
                               KanWork        *w,
                               const double   *x,
                               size_t          n,
                               double          y_th,
                               int             n_layers);

/* Layer 0 takes the feature path (WorkLayer.feat) when it has at most this many columns per
 * input node (P+1: the base function and the P bases). */
#define KAN_FEAT_MAX_COLS 12
/* … in blocks of this many rows (a multiple of 4), each block's features read by up to
 * KAN_FEAT_MAX_EDGES edges of its node while they are in the cache. */
#define KAN_FEAT_BLOCK 128
#define KAN_FEAT_MAX_EDGES 8

/* Writes the per-edge outputs (postnum) the last forward left pending (kan-forward.c), the
 * same bits as the forward would have written; called through kan_dense_edges by whatever
 * reads them. */
void kan_forward_write_edges (KanWork *w);

G_END_DECLS
