/* kan-model.h — a Kolmogorov–Arnold network: shape, parameters, forward and backward.
 *
 * The model is pykan's MultKAN (v0.2): layers of edges φ(x) = mask·(w_b·b(x) + w_s·spline(x)),
 * or, when locked, c·f(a·x+b)+d; optional multiplication nodes; optional node and subnode
 * affines. Parameters live in one flat buffer so optimisers see a vector.
 *
 * Ownership: what a function named _new, _copy, _parse, _alloc or _refine returns belongs to the
 * caller, who frees it with the matching _free (strings with g_free); free(NULL) is fine. A
 * pointer an accessor returns is borrowed from its argument: valid while that lives and is not
 * changed by the calls its comment names. Arguments are borrowed and not kept after the call,
 * except where said (kan_work_set_cancellable). Every public entry checks its arguments with
 * g_return_val_if_fail: out-of-range indices log a critical and return 0, NULL or nothing.
 */
#pragma once

#include <glib.h>
#include <gio/gio.h>
#include <gsl/gsl_rng.h>

G_BEGIN_DECLS

typedef struct _KanModel KanModel;
typedef struct _KanWork  KanWork;

/* The widths of a network: node layers 0 … depth, each with n_sum addition nodes followed by
 * n_mult multiplication nodes; every multiplication node has its own arity (≥ 2). */
typedef struct
{
  int    n_layers;  /* number of node layers = depth + 1 */
  int   *n_sum;     /* n_layers */
  int   *n_mult;    /* n_layers */
  int  **arity;     /* n_layers arrays of n_mult[l] arities */
} KanShape;

/* Parses "2,5,1" or "2,[3,2],1" (a pair is [n_sum, n_mult]). MULT_ARITY is either one
 * arity for every multiplication node ("2") or a comma-separated list, one per
 * multiplication node in order ("2,3"); NULL means 2. A new shape, or NULL with ERROR set. */
KanShape    *kan_shape_parse     (const char      *width,
                                  const char      *mult_arity,
                                  GError         **error);
KanShape    *kan_shape_copy      (const KanShape  *s);
void         kan_shape_free      (KanShape        *s);
char        *kan_shape_to_string (const KanShape  *s);
/* Nodes of node layer L = n_sum + n_mult; subnodes = n_sum + Σ arity. */
int          kan_shape_nodes     (const KanShape  *s, int l);
int          kan_shape_subnodes  (const KanShape  *s, int l);
/* Addition and multiplication nodes of node layer L, and the arity of its multiplication node
 * Q (0 ≤ Q < n_mult). */
int          kan_shape_n_sum     (const KanShape  *s, int l);
int          kan_shape_n_mult    (const KanShape  *s, int l);
int          kan_shape_arity     (const KanShape  *s, int l, int q);
/* The node of node layer L that subnode J feeds: the sums take one subnode each, then each
 * product its arity's worth, in order. -1 when J is not a subnode of L. */
int          kan_shape_subnode_node (const KanShape *s, int l, int j);

typedef enum
{
  KAN_BASE_SILU,
  KAN_BASE_IDENTITY,
  KAN_BASE_ZERO,
} KanBaseFun;

const char  *kan_base_fun_name   (KanBaseFun       f);
gboolean     kan_base_fun_lookup (const char      *name,
                                  KanBaseFun      *out);

typedef struct
{
  const KanShape *shape;
  int             grid;              /* G, intervals; pykan default 3, Kanvas demo 5 */
  int             k;                 /* spline order; 3 */
  double          noise_scale;       /* 0.3 */
  double          scale_base_mu;     /* 0 */
  double          scale_base_sigma;  /* 1 */
  KanBaseFun      base_fun;          /* silu */
  double          grid_eps;          /* 0.02 */
  double          grid_range[2];     /* -1, 1 */
  gboolean        sp_trainable;      /* TRUE */
  gboolean        sb_trainable;      /* TRUE */
  gboolean        affine_trainable;  /* FALSE */
  gboolean        sparse_init;       /* FALSE */
  guint64         seed;              /* 1 */
} KanModelConfig;

void         kan_model_config_init (KanModelConfig       *cfg);
/* Fills CFG with the settings M was made with (sparse_init FALSE); CFG->shape is borrowed from
 * M. kan_model_alloc (CFG) then makes a model of the same layout. */
void         kan_model_get_config  (const KanModel       *m,
                                    KanModelConfig       *cfg);

/* A new model initialised as pykan does, from a generator seeded with CFG->seed. */
KanModel    *kan_model_new       (const KanModelConfig *cfg,
                                  GError              **error);
KanModel    *kan_model_copy      (const KanModel       *m);
void         kan_model_free      (KanModel             *m);

/* Borrowed from M. */
const KanShape *kan_model_shape  (const KanModel *m);
int          kan_model_depth     (const KanModel *m);
int          kan_model_n_in      (const KanModel *m);
int          kan_model_n_out     (const KanModel *m);
int          kan_model_grid      (const KanModel *m);
int          kan_model_k         (const KanModel *m);
/* Inputs and subnode outputs of layer L (an edge is (L, i, j), 0 ≤ i < in, 0 ≤ j < out). */
int          kan_model_layer_in  (const KanModel *m, int l);
int          kan_model_layer_out (const KanModel *m, int l);

/* Knots k and G+k of input node I of layer L (0 ≤ I < layer_in(L)): the interval its grid
 * spans, into RANGE. */
void         kan_model_knot_range (const KanModel *m, int l, int i, double range[2]);

/* The parameter vector (n_params values), borrowed from M: writable through kan_model_params. */
size_t       kan_model_n_params  (const KanModel *m);
double      *kan_model_params    (KanModel       *m);
const double *kan_model_params_const (const KanModel *m);
/* Fills IDX with the indices of parameters that training may move (trainable and on a live
 * edge or node) and returns how many there are. IDX has room for kan_model_n_params(), or is
 * NULL to count only. */
size_t       kan_model_active_params (const KanModel *m,
                                      size_t         *idx);
/* TRUE if every parameter is finite. */
gboolean     kan_model_is_finite (const KanModel *m);

/* Edge state. */
typedef enum
{
  KAN_EDGE_OFF,       /* pruned: numeric and symbolic masks 0 */
  KAN_EDGE_NUMERIC,   /* spline */
  KAN_EDGE_SYMBOLIC,  /* locked: c·f(a·x+b)+d */
  KAN_EDGE_BOTH,      /* both summed */
} KanEdgeMode;

KanEdgeMode  kan_model_edge_mode (const KanModel *m, int l, int i, int j);
/* Sets the masks of edge (l,i,j). SYM_ID is the library function for symbolic modes (ignored
 * otherwise); the affine a,b,c,d is set from ABCD when it is not NULL. */
void         kan_model_set_edge  (KanModel *m, int l, int i, int j,
                                  KanEdgeMode mode, int sym_id, const double *abcd);
int          kan_model_edge_sym  (const KanModel *m, int l, int i, int j);
void         kan_model_edge_abcd (const KanModel *m, int l, int i, int j, double abcd[4]);

/* A workspace for forward/backward over up to N_MAX rows. */
KanWork     *kan_work_new        (const KanModel *m,
                                  size_t          n_max);
void         kan_work_free       (KanWork        *w);
/* Bytes kan_work_new (M, N_MAX) allocates, saturating at G_MAXSIZE; for memory budgets. It
 * counts the symbolic arrays of the layers that have locked edges now; a layer that gets
 * locked edges later adds 2·n_max·in·out doubles at its next forward. */
gsize        kan_work_bytes      (const KanModel *m,
                                  size_t          n_max);
/* The chunk workspaces of kan_model_eval and of the grid operations are kept to about this
 * size (and at most 4096 rows, at least one). */
#define KAN_WORK_CHUNK_BYTES ((gsize) 32 << 20)
/* Rows of a chunk of N rows whose workspace stays within MAX_BYTES (at least 1). */
size_t       kan_work_chunk_rows (const KanModel *m,
                                  size_t          n,
                                  gsize           max_bytes);
/* Forward, backward, the regulariser and the Jacobian look at CANCELLABLE (borrowed; NULL for
 * none) every fraction of a millisecond of work and stop early once it is cancelled; then
 * kan_work_cancelled is TRUE and their results are meaningless. Each forward starts afresh. */
void         kan_work_set_cancellable (KanWork      *w,
                                       GCancellable *cancellable);
gboolean     kan_work_cancelled  (const KanWork  *w);
/* Tells the workspace that the rows behind the pointer last given to forward changed; layer 0's
 * bases are cached across calls with the same pointer, row count and grid. */
void         kan_work_input_changed (KanWork     *w);

/* Forward over N rows of X (n × n_in) into OUT (n × n_out). Keeps what backward, the
 * regulariser and the trace accessors need. Y_TH > 0 selects singularity-safe symbolic
 * functions bounded by Y_TH. */
void         kan_model_forward   (const KanModel *m,
                                  KanWork        *w,
                                  const double   *x,
                                  size_t          n,
                                  double          y_th,
                                  double         *out);

/* The pykan regulariser (section 3.4, metric edge_forward_spline_n) of the last forward.
 * When GRAD is not NULL, the next backward adds SCALE·∂reg/∂θ into its gradient. Returns reg. */
double       kan_model_reg       (const KanModel *m,
                                  KanWork        *w,
                                  double          lamb_l1,
                                  double          lamb_entropy,
                                  double          lamb_coef,
                                  double          lamb_coefdiff,
                                  double          scale,
                                  double         *grad);

/* Backward of the last forward: given DOUT (n × n_out) = ∂loss/∂out, adds ∂loss/∂θ into GRAD
 * (n_params), plus the pending regulariser term if kan_model_reg asked for it. */
void         kan_model_backward  (const KanModel *m,
                                  KanWork        *w,
                                  const double   *dout,
                                  double         *grad);

/* The Jacobian of the last forward's outputs: row r = sample b·n_out + o, column = position in
 * IDX (n_idx active parameters, as from kan_model_active_params). J is (n·n_out) × n_idx. */
void         kan_model_jacobian  (const KanModel *m,
                                  KanWork        *w,
                                  const size_t   *idx,
                                  size_t          n_idx,
                                  double         *jac);

/* Trace of the last forward. Input of layer L: n × layer_in(L) (row-major). Edge outputs of
 * layer L: n × layer_in(L) × layer_out(L), index (b·in + i)·out + j. Borrowed from W and
 * overwritten by its next forward. */
const double *kan_work_layer_input (const KanWork *w, int l);
const double *kan_work_edge_output (const KanWork *w, int l);
size_t       kan_work_rows       (const KanWork  *w);

/* Convenience: forward of N rows without keeping a workspace. */
void         kan_model_eval      (const KanModel *m,
                                  const double   *x,
                                  size_t          n,
                                  double         *out);

/* Value of edge (l,i,j) at inputs XS[0..n-1] into YS (the whole edge function, masks and
 * scales included). Used for plotting. */
void         kan_model_edge_eval (const KanModel *m, int l, int i, int j,
                                  const double *xs, size_t n, double *ys);

/* Grid operations (pykan section 2.5–2.6). Both work through the rows a chunk at a time
 * (memory: kan_model_update_grid_bytes, never a workspace for all rows). */
/* Re-places every layer's knots from the samples X (n × n_in): each layer sees the outputs of
 * the already-updated earlier layers; coefficients are refitted by least squares. On failure
 * (or cancellation, KAN_ERROR_CANCELLED) earlier layers may already be updated. */
gboolean     kan_model_update_grid (KanModel     *m,
                                    const double *x,
                                    size_t        n,
                                    GError      **error);
gboolean     kan_model_update_grid_full (KanModel     *m,
                                         const double *x,
                                         size_t        n,
                                         GCancellable *cancellable,
                                         GError      **error);
/* Bytes kan_model_update_grid allocates for N rows (and kan_model_refine to the same G). */
gsize        kan_model_update_grid_bytes (const KanModel *m,
                                          size_t          n);
/* A new model with G' intervals whose splines are least-squares fits of the old ones on X. */
KanModel    *kan_model_refine    (const KanModel *m,
                                  int             new_grid,
                                  const double   *x,
                                  size_t          n,
                                  GError        **error);
KanModel    *kan_model_refine_full (const KanModel *m,
                                    int             new_grid,
                                    const double   *x,
                                    size_t          n,
                                    GCancellable   *cancellable,
                                    GError        **error);

/* Bytes a model of CFG would need (parameters + state), for memory budgets. */
gsize        kan_model_config_bytes (const KanModelConfig *cfg);
/* Bytes kan_model_new (CFG) allocates at its peak: the model and what initialising one layer
 * needs. kan_model_new refuses (KAN_ERROR_BUDGET) more than 1 GiB. */
gsize        kan_model_new_bytes (const KanModelConfig *cfg);
/* Bytes model M occupies. */
gsize        kan_model_bytes     (const KanModel       *m);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KanModel, kan_model_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KanWork, kan_work_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KanShape, kan_shape_free)

G_END_DECLS
