/* kan-model-private.h — the model's layout, for the core's own modules (session, train, …). */
#pragma once

#include "kan-model.h"

G_BEGIN_DECLS

/* One layer of edges, from the n_in nodes of node layer l to the n_out subnodes of node layer
 * l+1 (n_next nodes after multiplication). Every per-edge array is indexed [i·n_out + j]
 * (input-major; pykan stores its symbolic branch as [j][i], we do not). Pointers into
 * KanModel.params are parameters; the rest point into KanModel.state. */
typedef struct
{
  int     n_in;
  int     n_out;          /* subnodes */
  int     n_next;         /* nodes of layer l+1 */

  /* parameters */
  double *coef;           /* n_in × n_out × (G+k) */
  double *scale_base;     /* n_in × n_out */
  double *scale_sp;       /* n_in × n_out */
  double *sym;            /* n_in × n_out × 4: a, b, c, d of c·f(a·x+b)+d */
  double *subnode_scale;  /* n_out */
  double *subnode_bias;   /* n_out */
  double *node_scale;     /* n_next */
  double *node_bias;      /* n_next */

  /* state */
  double *grid;           /* n_in × (G+2k+1) knots, one vector per input node */
  double *mask;           /* n_in × n_out numeric mask (0 or 1) */
  double *mask_sym;       /* n_in × n_out symbolic mask (0 or 1) */
  int    *sym_fn;         /* n_in × n_out library id (kan-symbolic.h) */
  int    *group_start;    /* n_next+1: node q of layer l+1 takes subnodes group_start[q] … */
} KanLayer;

struct _KanModel
{
  KanShape       *shape;
  int             depth;
  int             G;
  int             k;
  KanBaseFun      base_fun;
  double          grid_eps;
  double          grid_range[2];
  gboolean        sp_trainable;
  gboolean        sb_trainable;
  gboolean        affine_trainable;
  double          noise_scale;
  double          scale_base_mu;
  double          scale_base_sigma;
  guint64         seed;
  guint64         grid_serial;   /* bumped whenever knots change (invalidates cached bases) */

  KanLayer       *layers;        /* depth */
  double         *params;
  size_t          n_params;
  double         *state_d;       /* grids, masks */
  int            *state_i;       /* sym_fn, group_start */
  size_t          n_state_d;
  size_t          n_state_i;
};

/* Rebuilds the layer pointers of M after params/state were (re)allocated. */
void     kan_model_layout       (KanModel *m);
/* Gives M a new, process-unique grid serial: call after changing its knots. */
void     kan_model_grid_changed (KanModel       *m);
/* Copies the parameters and state of SRC (same shape and grid) into DST. */
void     kan_model_restore      (KanModel       *dst,
                                 const KanModel *src);
/* An uninitialised model (zero parameters, uniform knots on grid_range, masks on) with the
 * settings of CFG. Used by kan_model_new and by loaders. */
KanModel *kan_model_alloc       (const KanModelConfig *cfg,
                                 GError              **error);

/* TRUE if (L, I, J) is an edge of M: the bounds check of the public edge functions. */
static inline gboolean
kan_model_has_edge (const KanModel *m, int l, int i, int j)
{
  return m != NULL && l >= 0 && l < m->depth && i >= 0 && i < m->layers[l].n_in
         && j >= 0 && j < m->layers[l].n_out;
}

/* Knots of one input node: G+2k+1 values. */
static inline double *
kan_layer_knots (const KanModel *m, const KanLayer *L, int i)
{
  return L->grid + (size_t) i * (m->G + 2 * m->k + 1);
}

G_END_DECLS
