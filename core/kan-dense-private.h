/* kan-dense-private.h — the edges of a wide layer as matrix products (kan-dense.c), called by
 * the forward and backward passes at their layer loops; not installed.
 *
 * Shapes in comments: n rows, I = n_in, O = n_out, P = G+k bases, D = I·(P+1) features.
 */
#pragma once

#include "kan-work-private.h"

G_BEGIN_DECLS

typedef struct _KanDense KanDense;

/* Which layers take the matrix path: AUTO by the size rule of kan-dense.c (the default), or
 * every layer it can do (ALWAYS) or none (NEVER) — for the tests, which compare the paths. */
typedef enum
{
  KAN_DENSE_AUTO,
  KAN_DENSE_ALWAYS,
  KAN_DENSE_NEVER,
} KanDensePolicy;

void     kan_dense_set_policy    (KanWork        *w,
                                  KanDensePolicy  policy);
/* TRUE if the last forward of layer L went the matrix way. */
gboolean kan_dense_layer_active  (const KanWork  *w,
                                  int             l);

/* Forward of layer L's edges after its bases: the subnode sums W->z, if the size rule picks
 * the matrix path (then TRUE; the per-edge outputs postnum and spl are left unwritten until
 * kan_dense_edges). FALSE: the caller runs its per-edge pass. */
gboolean kan_dense_forward_layer (const KanModel *m,
                                  KanWork        *w,
                                  int             l,
                                  gboolean        has_sym);
/* Layer 0's bases were recomputed: its cached features are stale. */
void     kan_dense_forget        (KanWork        *w);
/* Backward of layer L's edges if its forward went the matrix way and no regulariser gradient
 * is pending: GZ (O × n, ∂/∂z) → the edge parameters' gradients added into GRAD and, for
 * L > 0, ∂/∂x added into GX (I × n). FALSE: the caller runs its per-edge pass. */
gboolean kan_dense_backward_layer (const KanModel *m,
                                   KanWork        *w,
                                   int             l,
                                   const double   *gz,
                                   double         *gx,
                                   double         *grad);
/* Writes the per-edge outputs (postnum, spl) of every layer whose last forward went the
 * matrix way, as the per-edge pass would have: called by whatever reads them (the
 * regulariser, kan_work_edge_output, the Jacobian). Cheap when already written. */
void     kan_dense_edges         (KanWork        *w);
void     kan_dense_free          (KanDense       *d);
/* The doubles the matrix path may allocate for a workspace of N rows of M (for
 * kan_work_bytes): the layers whose shape the size rule allows, whatever their rows. */
double   kan_dense_doubles       (const KanModel *m,
                                  double          n);
/* Sets OpenBLAS to one thread, once per process. */
void     kan_blas_single_thread  (void);

G_END_DECLS
