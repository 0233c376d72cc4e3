/* kan-snapshot.h — an immutable picture of a model for drawing: no GTK, no Cairo.
 *
 * The training worker publishes snapshots to the main thread; the canvas, the CLI's `plot` and
 * the tests draw only snapshots. A snapshot owns a copy of the model plus everything a drawing
 * needs: each edge's curve sampled over the range of inputs it sees, its traced samples, its
 * attribution score and mode, variable names and training metrics.
 */
#pragma once

#include <glib.h>
#include "kan.h"

G_BEGIN_DECLS

/* Points per edge curve. */
#define KAN_SNAPSHOT_CURVE_POINTS 64
/* Traced samples kept per edge (a subsample of the data rows, for scatter plots). */
#define KAN_SNAPSHOT_MAX_SAMPLES 200
/* Rows used for scores and traces: larger data sets are thinned to this many, evenly spaced. */
#define KAN_SNAPSHOT_MAX_ROWS 2000

typedef struct
{
  int          l, i, j;
  KanEdgeMode  mode;
  int          sym_id;          /* locked function, or -1 */
  double       abcd[4];
  double       score;           /* attribution score (kan-prune.h); 0 for a pruned edge */
  double       x_min, x_max;    /* range of the inputs the edge sees */
  double       y_min, y_max;    /* range of the curve and samples */
  double       curve_x[KAN_SNAPSHOT_CURVE_POINTS];
  double       curve_y[KAN_SNAPSHOT_CURVE_POINTS];
  int          n_samples;
  double      *sample_x;        /* n_samples, owned */
  double      *sample_y;
} KanSnapshotEdge;

typedef struct
{
  KanModel        *model;       /* owned copy */
  int              depth;
  int             *n_nodes;     /* depth+1: nodes per node layer */
  int             *n_sum;       /* depth+1 */
  int             *n_sub;       /* depth+1: subnodes per node layer (index 0 unused = n_nodes[0]) */
  double         **node_score;  /* depth+1 arrays of n_nodes[l] */
  int              n_edges;
  KanSnapshotEdge *edges;       /* ordered by l, then i, then j */
  char           **in_names;    /* NULL-terminated */
  char           **out_names;
  /* metrics */
  int              step;
  double           train_rmse;
  double           test_rmse;
  double           loss;
  double           seconds;
  double          *history_train; /* n_history values of train RMSE per step */
  double          *history_test;
  int              n_history;
} KanSnapshot;

/* Builds a snapshot of M over the rows X (n × n_in; the train inputs, up to
 * KAN_SNAPSHOT_MAX_ROWS rows are used). Scores need two rows: with fewer (X may be NULL when N is
 * 0), or when they cannot be computed, every live edge and node scores 1 and curves span the
 * grid range. Names may be NULL or shorter than needed (x1…, y1…). The metrics are left for the
 * caller: step 0, NaN RMSEs, no history. */
KanSnapshot *kan_snapshot_new   (const KanModel      *m,
                                 const double        *x,
                                 size_t               n,
                                 const char *const   *in_names,
                                 const char *const   *out_names,
                                 GError             **error);
void         kan_snapshot_free  (KanSnapshot         *s);
/* The edge (l,i,j), or NULL. */
const KanSnapshotEdge *kan_snapshot_edge (const KanSnapshot *s, int l, int i, int j);

/* The locked form c·f(a·x+b)+d of library function SYM_ID written out with its numbers, e.g.
 * "0.4968·sin(3.142·x + 0.0005) + 0.3487" (4 significant digits; "x" names the input). */
char        *kan_edge_form_text (int           sym_id,
                                 const double  abcd[4]);

/* Names of the N_CLASSES classes of a cross-entropy data set D (may be NULL), for output nodes,
 * legends and lists: D's class names when its labels were text ("setosa"), else "LABEL = K"
 * after D's label column ("y = 0", "species = 2"), or "class K".
 * NULL-terminated; free with g_strfreev. */
char       **kan_class_names    (const KanDataset *d,
                                 int               n_classes);
/* Names of the N_OUT output nodes of a model trained on D with LOSS: the class names
 * (kan_class_names) for cross-entropy, else D's output names. Free with g_strfreev. */
char       **kan_output_names   (const KanDataset *d,
                                 KanLoss           loss,
                                 int               n_out);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KanSnapshot, kan_snapshot_free)

G_END_DECLS
