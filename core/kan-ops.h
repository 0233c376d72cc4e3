/* kan-ops.h — the operations a person applies to a session, for the CLI and the workbench alike.
 *
 * Each operation changes the session's model, appends the history entry that says what it did
 * (with the train and test RMSE after it), and uses the defaults defined here. The command line
 * and the window only gather parameters and show results; what an operation removes, locks or
 * records is decided here, so the two cannot drift apart.
 *
 * Every operation needs a session with a model; those that look at the data (everything but
 * unlock) need at least two training rows that fit the model. Failures leave the session as it
 * was.
 */
#pragma once

#include <glib.h>
#include "kan-session.h"
#include "kan-prune.h"
#include "kan-symfit.h"
#include "kan-discover.h"

G_BEGIN_DECLS

/* Defaults. Pruning uses pykan's thresholds. Auto-symbolic chooses from the whole library (lib
 * NULL), as pykan's auto_symbolic does, but locks an edge only when its best fit explains 99 %
 * of the edge's variance: pykan locks whatever the R², and on a network that is not yet sparse
 * that turns wiggly splines into sines with R² 0.3 without a word. */
#define KAN_OPS_NODE_THRESHOLD KAN_PRUNE_NODE_THRESHOLD
#define KAN_OPS_EDGE_THRESHOLD KAN_PRUNE_EDGE_THRESHOLD
#define KAN_OPS_R2_THRESHOLD   0.99
/* A step made the model worse when its train or its test RMSE grew by more than this factor
 * (10 %): the workbench then offers to undo it. */
#define KAN_OPS_WORSE_FACTOR   1.10
/* The λ offered for a sparsifying fit before pruning a network trained without one. */
#define KAN_OPS_SPARSE_LAMB    0.01
/* Snapping the formula's constants may raise the train RMSE by this share of std(y) at least
 * (see kan_discover_formula): round-off of an exact network, no more. */
#define KAN_OPS_SNAP_TOL       1e-9

/* Fail with KAN_ERROR_INVALID, naming it, unless edge (L,I,J) or node (L,I) of node layer L
 * (0 … depth) exists in M. */
gboolean         kan_ops_check_edge   (const KanModel    *m,
                                       int                l,
                                       int                i,
                                       int                j,
                                       GError           **error);
gboolean         kan_ops_check_node   (const KanModel    *m,
                                       int                l,
                                       int                i,
                                       GError           **error);

/* Metrics and history ----------------------------------------------------------------------- */

/* The numbers a history entry holds: sqrt of the loss (RMSE for MSE, sqrt(cross-entropy) for
 * CE, as the trainer reports them) of M on D's train and test rows; NaN without rows or data. */
void             kan_ops_metrics      (const KanModel    *m,
                                       const KanDataset  *d,
                                       KanLoss            loss,
                                       double            *train,
                                       double            *test);

/* Appends OP with DETAIL and the metrics of the session's model now. Returns the new entry
 * (owned by the session's history). */
KanHistoryEntry *kan_ops_record       (KanSession        *s,
                                       const char        *op,
                                       const char        *detail);

/* TRUE when the metrics after a step (TRAIN_AFTER, TEST_AFTER) are worse than before it by more
 * than KAN_OPS_WORSE_FACTOR, or became NaN or infinite from finite; a NaN before compares as
 * nothing. */
gboolean         kan_ops_made_worse   (double             train_before,
                                       double             test_before,
                                       double             train_after,
                                       double             test_after);

/* The λ of the last "fit" entry among history entries 0 … UPTO (as its detail records it);
 * NaN when there is none. Pruning is meant for a network trained with λ > 0. */
double           kan_ops_last_fit_lamb (const KanSession *s,
                                        int               upto);

/* The spline network that locking replaced: the last of entries 0 … UPTO whose stored model
 * (KanHistoryEntry.model) has live edges and none of them symbolic. NULL if there is none
 * (or the entries keep no models). */
const KanHistoryEntry *kan_ops_replaced_network (const KanSession *s,
                                                 int               upto);

/* Fit runs -------------------------------------------------------------------------------------- */

typedef struct
{
  int         steps;       /* steps applied in this run */
  gboolean    stopped;     /* the run ended before CFG->steps */
  const char *data_note;   /* new data given for the run (formula or path), or NULL */
  gboolean    have_rmse;   /* TRUE: train_rmse and test_rmse are the model's metrics already */
  double      train_rmse;
  double      test_rmse;
} KanOpsFitRun;

/* Records a training run made with CFG: the "fit" history entry, the steps added to
 * steps_done, and CFG as the session's training settings. */
KanHistoryEntry *kan_ops_fit_record   (KanSession           *s,
                                       const KanTrainConfig *cfg,
                                       const KanOpsFitRun   *run);

/* Prune ---------------------------------------------------------------------------------------- */

typedef struct
{
  int l, i;
} KanOpsNode;

typedef struct
{
  int l, i, j;
} KanOpsEdge;

/* What a prune by thresholds removes, and the model it leaves. */
typedef struct
{
  double    node_th, edge_th;
  GArray   *nodes;          /* KanOpsNode: hidden nodes removed, numbered in the model before */
  GArray   *edges;          /* KanOpsEdge: edges turned off, numbered in the pruned model */
  char     *width_before;
  char     *width_after;
  double    train_before, test_before;   /* metrics as kan_ops_metrics */
  double    train_after, test_after;
  KanModel *model;          /* the pruned model (owned); kan_ops_prune_apply takes it */
  char     *detail;         /* the history detail */
} KanOpsPrunePlan;

/* The prune of S's model: hidden nodes scoring at most NODE_TH go (KEEP as for
 * kan_model_prune_nodes: KEEP[l-1] lists the nodes hidden layer l keeps, NULL for "by
 * threshold"), and when the threshold would empty a layer its best node stays (the first of
 * equal best); then edges of the smaller network scoring at most EDGE_TH are turned off
 * (pykan's prune). Nothing changes in S. Errors as for kan_scores_compute and
 * kan_model_prune_nodes. */
KanOpsPrunePlan *kan_ops_prune_preview (const KanSession  *s,
                                        double             node_th,
                                        double             edge_th,
                                        const int *const  *keep,
                                        GError           **error);
/* Puts PLAN's model into S and records "prune". PLAN must come from kan_ops_prune_preview on
 * S's model as it is now. */
void             kan_ops_prune_apply   (KanSession        *s,
                                        KanOpsPrunePlan   *plan);
/* Preview and apply in one; *PLAN_OUT (may be NULL) receives what was removed. */
gboolean         kan_ops_prune         (KanSession        *s,
                                        double             node_th,
                                        double             edge_th,
                                        const int *const  *keep,
                                        KanOpsPrunePlan  **plan_out,
                                        GError           **error);
void             kan_ops_prune_plan_free (KanOpsPrunePlan *plan);
/* "(1,0), (1,3)" and "(0,1,0), (1,0,0)": the plan's nodes and edges. */
char            *kan_ops_prune_plan_nodes_text (const KanOpsPrunePlan *plan);
char            *kan_ops_prune_plan_edges_text (const KanOpsPrunePlan *plan);
/* One line for people: what goes, the widths and the train RMSE before and after. */
char            *kan_ops_prune_plan_summary    (const KanOpsPrunePlan *plan);

/* Removes hidden node (L,I) alone; the last node of a layer stays. Records "prune". */
gboolean         kan_ops_prune_node    (KanSession        *s,
                                        int                l,
                                        int                i,
                                        GError           **error);
/* Turns off edge (L,I,J). Records "prune". */
gboolean         kan_ops_prune_edge    (KanSession        *s,
                                        int                l,
                                        int                i,
                                        int                j,
                                        GError           **error);

/* Lock, unlock, auto-symbolic ---------------------------------------------------------------- */

/* Fits library function NAME to edge (L,I,J) and locks the edge to it; FIT (may be NULL)
 * receives the fit. A pruned edge stays pruned (an error). Records "lock". */
gboolean         kan_ops_lock          (KanSession        *s,
                                        int                l,
                                        int                i,
                                        int                j,
                                        const char        *name,
                                        KanSymFit         *fit,
                                        GError           **error);
/* Returns locked edge (L,I,J) to its spline; an edge that is pruned or not locked is an
 * error. Records "unlock" (with metrics only if the session has data). */
gboolean         kan_ops_unlock        (KanSession        *s,
                                        int                l,
                                        int                i,
                                        int                j,
                                        GError           **error);

typedef enum
{
  KAN_OPS_EDGE_LOCKED,          /* locked to fit */
  KAN_OPS_EDGE_SKIPPED_PRUNED,  /* off: nothing to fit */
  KAN_OPS_EDGE_SKIPPED_LOCKED,  /* already locked */
  KAN_OPS_EDGE_SKIPPED_R2,      /* fit (sym_id -1 if there was none) is below the R² threshold */
} KanOpsEdgeOutcome;

typedef struct
{
  int               l, i, j;
  KanOpsEdgeOutcome outcome;
  KanSymFit         fit;        /* the best fit, for LOCKED and SKIPPED_R2 */
} KanOpsEdgeReport;

typedef struct
{
  int     n_locked;
  GArray *edges;                /* KanOpsEdgeReport, one per edge in (l, i, j) order */
} KanOpsSymbolicReport;

/* pykan's auto_symbolic: layer by layer (each fitted on the inputs the locked layers before it
 * produce), every edge that is still a spline is locked to its best-ranked fit from LIB (ids,
 * NULL: the whole library) if that fit's R² is at least R2. Records "symbolic". */
KanOpsSymbolicReport *kan_ops_auto_symbolic (KanSession   *s,
                                             const int    *lib,
                                             int           n_lib,
                                             double        r2,
                                             GError      **error);
/* The work of kan_ops_auto_symbolic on M alone (changed in place; meaningless after an error),
 * for a worker thread: nothing in a session changes. CANCELLABLE (may be NULL) is looked at
 * between edges; once cancelled the result is NULL with KAN_ERROR_CANCELLED. */
KanOpsSymbolicReport *kan_ops_auto_symbolic_model (KanModel         *m,
                                                   const KanDataset *d,
                                                   const int        *lib,
                                                   int               n_lib,
                                                   double            r2,
                                                   GCancellable     *cancellable,
                                                   GError          **error);
/* The same on the N rows of X (n × n_in) instead of a data set's train rows, with fit
 * parameters P (NULL: the defaults, which the other entry points use). */
KanOpsSymbolicReport *kan_ops_auto_symbolic_rows (KanModel              *m,
                                                  const double          *x,
                                                  size_t                 n,
                                                  const int             *lib,
                                                  int                    n_lib,
                                                  const KanSymFitParams *p,
                                                  double                 r2,
                                                  GCancellable          *cancellable,
                                                  GError               **error);
/* Puts M (taken), the result of kan_ops_auto_symbolic_model with R on S's model and data, into
 * S and records "symbolic" as kan_ops_auto_symbolic does. */
void             kan_ops_auto_symbolic_apply  (KanSession                 *s,
                                               KanModel                   *m,
                                               const KanOpsSymbolicReport *r,
                                               const int                  *lib,
                                               int                         n_lib,
                                               double                      r2);
void             kan_ops_symbolic_report_free (KanOpsSymbolicReport *r);
/* One line about one edge, e.g. "(0,1,0) locked to sin, r2 = 0.999998, …". */
char            *kan_ops_edge_report_text     (const KanOpsEdgeReport *e,
                                               double                  r2);

/* Locks every edge that is still numeric to its best suggestion from LIB (NULL: all) if that
 * fit's R² is at least R2_THRESHOLD, layer by layer (each layer is fitted on inputs produced by
 * the already-locked layers before it); kan_ops_auto_symbolic_rows does the work.
 * Appends one line per edge to LOG if not NULL (kan_ops_edge_report_text). Returns the number
 * of edges locked, or -1 with ERROR set. */
int              kan_model_auto_symbolic (KanModel              *m,
                                          const double          *x,
                                          size_t                 n,
                                          const int             *lib,
                                          int                    n_lib,
                                          double                 r2_threshold,
                                          const KanSymFitParams *p,
                                          GString               *log,
                                          GError               **error);

/* Refine, formula, discover ------------------------------------------------------------------- */

/* Refits the splines on NEW_GRID intervals (kan_model_refine on the train inputs). BEFORE_TRAIN
 * and BEFORE_TEST (may be NULL) receive the metrics before. Records "refine". */
gboolean         kan_ops_refine        (KanSession        *s,
                                        int                new_grid,
                                        double            *before_train,
                                        double            *before_test,
                                        GError           **error);

/* Puts M (taken), a refinement of S's model to NEW_GRID intervals made elsewhere (a worker
 * calling kan_model_refine_full on S's train inputs), into S and records "refine" as
 * kan_ops_refine does. */
void             kan_ops_refine_apply  (KanSession        *s,
                                        KanModel          *m,
                                        int                new_grid);

/* The network's formula as kan_discover_formula gives it, snapped (if SNAP) with
 * KAN_OPS_SNAP_TOL. */
KanExpr         *kan_ops_formula       (const KanSession  *s,
                                        gboolean           snap,
                                        char            ***numeric_edges_out,
                                        GError           **error);

/* A new session holding the best network of R (its data: R's model data, or D) with LM
 * settings for fine-tuning and a "discover" history entry; NULL if the best formula has no
 * network. */
KanSession      *kan_ops_discover_session (const KanDiscoverResult *r,
                                           const KanDataset        *d);

/* Classification and inputs (issue 13) ------------------------------------------------------ */

/* The share of D's train and test rows whose largest output of M is the row's class label
 * (cross-entropy data: labels 0 … n-1 in the first output column; the first of equal largest
 * outputs counts). NaN for a part without rows, for a LOSS other than KAN_LOSS_CE, or when M or
 * D is NULL. The CLI's eval and the workbench both report this. */
void             kan_ops_accuracy      (const KanModel    *m,
                                        const KanDataset  *d,
                                        KanLoss            loss,
                                        double            *train,
                                        double            *test);

/* One input of a model and its importance (kan_scores_inputs on the train rows). */
typedef struct
{
  int    input;            /* column of the model's input layer */
  double score;
} KanOpsInputRank;

/* S's inputs ranked by importance, highest first (equal scores: lower column first), as a
 * GArray of KanOpsInputRank. Errors as for kan_scores_compute. */
GArray          *kan_ops_input_ranking (const KanSession  *s,
                                        GError           **error);

/* Removes the inputs scoring ≤ THRESHOLD (the best one stays if none would remain): the model
 * takes only the kept inputs (kan_model_prune_inputs) and the data keep only their columns (a
 * formula data set becomes rows held in the session). Records "prune-inputs" with the removed
 * and kept names. Returns the number of inputs removed (0 changes and records nothing), or -1
 * with ERROR set (a NaN threshold, or as kan_scores_compute). */
int              kan_ops_prune_inputs  (KanSession        *s,
                                        double             threshold,
                                        GError           **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KanOpsPrunePlan, kan_ops_prune_plan_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KanOpsSymbolicReport, kan_ops_symbolic_report_free)

G_END_DECLS
