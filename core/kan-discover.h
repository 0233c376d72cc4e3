/* kan-discover.h — the whole manual session in one call: from data to a closed-form formula.
 *
 * For each candidate architecture, simplest first, and a few model seeds: fit the splines,
 * prune (wide and multiplication networks), refine the grid and fit again, lock every edge to
 * a library function (under several selection rules), fine-tune the locked network with
 * Levenberg–Marquardt, and read off its formula: composed, rewritten in the data's own units,
 * simplified, put in a canonical form (constants pulled out of exp, scales out of roots and
 * powers, phases of sin folded) and snapped to simple constants where the data agree. Every
 * formula is a candidate; the Pareto front over (complexity, test RMSE) is kept, and the search
 * stops as soon as a formula is exact.
 */
#pragma once

#include <glib.h>
#include <gio/gio.h>
#include "kan-data.h"
#include "kan-expr.h"
#include "kan-exprfit.h"
#include "kan-model.h"
#include "kan-train.h"
#include "kan-units.h"

G_BEGIN_DECLS

/* The default library of discover, in library names (kan-symbolic.h). */
#define KAN_DISCOVER_DEFAULT_LIB \
  "0,x,x^2,x^3,x^4,1/x,sqrt,exp,log,sin,tanh,arctanh,abs,gaussian"

typedef struct _KanDiscoverCandidate KanDiscoverCandidate;

/* What the search has done so far, for a progress line. */
typedef struct
{
  const char *stage;        /* the stage just finished, e.g. "refine" */
  const char *width;        /* its candidate width */
  int         n_candidates; /* formulas tried so far */
  const char *best_text;    /* the most accurate formula so far (NULL: none yet) */
  double      best_rmse;    /* its test RMSE */
  double      seconds;      /* since the search began */
  /* Every formula tried so far (n_candidates of them, in the order they came), valid during
   * the call only: copy what is needed. */
  const KanDiscoverCandidate *const *candidates;
} KanDiscoverProgress;

typedef struct
{
  /* Candidate widths, tried in order (NULL-terminated); NULL: kan_discover_default_widths. */
  const char *const *widths;
  /* Library ids to lock edges to; NULL: KAN_DISCOVER_DEFAULT_LIB. */
  const int         *lib;
  int                n_lib;
  int                n_seeds;        /* model seeds per width: seed, seed+1, …; default 4.
                                      * Widths of one layer get one: they are linear in
                                      * their coefficients and every seed fits the same */
  guint64            seed;           /* first model seed; default 1 */
  int                grid;           /* G of the first fit; default 5 */
  int                fine_grid;      /* G after refining (0: no refinement); default 20 */
  int                fit_steps;      /* LM steps of each spline fit; default 100 */
  int                sparse_steps;   /* L-BFGS steps with lamb before pruning wide networks;
                                      * default 50 */
  double             lamb;           /* regularisation of those steps; default 1e-3 */
  int                symbolic_steps; /* LM steps on each locked network; default 100 */
  /* A candidate is exact, and the search stops, when its test RMSE (train RMSE without test
   * rows) is at most exact_tol·std(y_train); default 1e-9. */
  double             exact_tol;
  /* The best formula is the simplest whose test RMSE is at most
   * max((1 + accuracy_tol)·RMSE_min, exact_tol·std(y)); default 1. */
  double             accuracy_tol;
  double             time_limit;     /* seconds; the search stops then (within a fraction
                                      * of a second, whatever stage it is in) with what it
                                      * has found; 0: none. Default 0 */
  /* Levels of decomposition (kan-decompose.h) that may split the problem with a trained
   * network as the oracle; 0 also turns off the monomial stage. Used only with the default
   * widths (WIDTHS = NULL). Default 2 */
  int                decompose;
  GCancellable      *cancellable;    /* stops the search like the time limit (every
                                      * training, refit and lock watches it); may be NULL */
  /* Threads for the seeds of one width, which run side by side (the result is the same
   * for any count: their candidates are taken in seed order, up to the first that ends the
   * search); 0: one per processor. Default 0 */
  int                threads;
  /* Called after every stage of the top-level search, from the thread that called
   * kan_discover (never two at once); may be NULL. */
  void             (*progress)       (const KanDiscoverProgress *p,
                                      gpointer                   user_data);
  gpointer           progress_data;
  /* Units of the inputs (n_in) and of the output (kan-units.h), or NULL: none. With units the
   * search runs on the dimensionless groups of kan_units_reduce (y = scale·g(π1, π2, …)) and
   * every formula is written back in the data's own variables; a formula whose units do not
   * match y's is never kept. */
  const KanDim      *in_dims;
  const KanDim      *out_dim;
  /* Run the decomposition's oracle stage right after the monomial stage whatever the number of
   * inputs. The decomposition sets it for its parts, whose formulas are composed and so have
   * no locked network to wait for. Default FALSE */
  gboolean           oracle_first;
} KanDiscoverOptions;



void        kan_discover_options_init (KanDiscoverOptions *o);

/* The default candidate widths for N_IN inputs (NULL-terminated, g_strfreev):
 *   N,1  (additive)      N,1,1  (a function of a sum)      N,[0,1],1  (a product; N ≥ 2)
 *   N,2,1    N,3,1    N,5,1   (pruned after a sparsifying fit) */
char      **kan_discover_default_widths (int n_in);

/* One stage of one candidate, for the log and the --json "stages". */
typedef struct
{
  char   *stage;        /* "fit", "prune", "refine", "symbolic", "retrain" */
  char   *width;        /* the candidate's width as given */
  guint64 seed;
  char   *detail;       /* e.g. "lock=x^2,sin,exp" or the width after pruning */
  double  train_rmse;   /* of the network, in the data's units */
  double  test_rmse;
  double  seconds;      /* of this stage */
} KanDiscoverStage;

/* One formula found. */
struct _KanDiscoverCandidate
{
  KanExpr  *expr;        /* over the data's inputs, in the data's own units */
  char     *text;        /* KAN_EXPR_STYLE_TEXT with the data's input names */
  int       complexity;  /* kan_expr_size (expr) */
  double    train_rmse;  /* of EXPR on the data (as printed, constants snapped) */
  double    test_rmse;
  char     *width;
  guint64   seed;
  char     *lock;        /* the functions the edges were locked to, e.g. "x^2,sin,exp" */
  KanExprFit *fit;       /* EXPR's free constants and their standard errors on the train
                          * rows (kan-exprfit.h); NULL until the candidate is settled (the
                          * Pareto front's are, see kan_discover) */
  gboolean  settled;     /* constants fixed as far as the noise allows (kan-noise.h) */
  KanModel *model;       /* the locked, fine-tuned network it was read from; for formulas
                          * of the decomposition (width "monomial" or "decompose") a locked
                          * network when one computes it, else the spline network the
                          * decomposition used as its oracle (kan-decompose.h) */
};

typedef struct
{
  GPtrArray                  *stages;   /* KanDiscoverStage*, in order */
  GPtrArray                  *pareto;   /* KanDiscoverCandidate*, simplest first, each more
                                         * accurate (test RMSE) than all simpler ones */
  const KanDiscoverCandidate *best;     /* one of PARETO (see accuracy_tol) */
  gboolean                    exact;    /* BEST is exact (see exact_tol) */
  /* The label noise, estimated from above: the smallest test RMSE (train RMSE without test
   * rows) that any formula or general network (one that can fit any smooth function: the
   * decomposition's surrogate, widths with a hidden layer wider than one) reached. */
  double                      noise;
  /* BEST fits the test rows as well as the best general network (within 1%): the
   * data cannot tell it from the truth. With noisy labels the search stops there. */
  gboolean                    within_noise;
  int                         n_candidates; /* formulas tried */
  gboolean                    stopped;  /* cut short by the time limit or the cancellable:
                                         * BEST is the best found so far */
  double                      seconds;
  /* The data the candidates' networks take: NULL for D itself; with units, the dimensionless
   * groups (inputs pi1, pi2, … as kan_units_reduce names them, labels y / scale). */
  KanDataset                 *model_data;
} KanDiscoverResult;

/* Runs the search on D (one output, at least 4 train rows). Fails with KAN_ERROR_INVALID for
 * bad options, KAN_ERROR_SHAPE for data or widths of the wrong shape, KAN_ERROR_CANCELLED
 * when cancelled or out of time before any formula was found (stopped later, it succeeds
 * with STOPPED set), and KAN_ERROR_NONFINITE when no candidate produced a finite formula. */
gboolean    kan_discover              (const KanDataset          *d,
                                       const KanDiscoverOptions  *o,
                                       KanDiscoverResult        **out,
                                       GError                   **error);
void        kan_discover_result_free  (KanDiscoverResult         *r);

/* The formula of locked model M for data D, as discover prints it: composed, in the data's
 * units (undoing D's input and label normalisation), simplified, canonicalised and snapped
 * where the train rows agree: a snap may raise the train RMSE by at most
 * max(SNAP_TOL·std(y_train), 1% of the RMSE before snapping). With SNAP = FALSE only
 * simplified and canonicalised. Output 0 only. *NUMERIC_EDGES_OUT and the error for edges
 * that are still splines as for kan_formula_compose. */
KanExpr    *kan_discover_formula      (const KanModel            *m,
                                       const KanDataset          *d,
                                       gboolean                   snap,
                                       double                     snap_tol,
                                       char                    ***numeric_edges_out,
                                       GError                   **error);

/* E (taken) simplified, canonicalised and snapped as kan_discover_formula does, with the
 * snaps checked on D's train rows. */
KanExpr    *kan_discover_polish       (KanExpr                   *e,
                                       const KanDataset          *d,
                                       double                     snap_tol);

/* RMSE of E (over D's raw inputs) against D's raw labels of output 0, on the train rows
 * (TEST = FALSE) or the test rows; NaN without rows. */
double      kan_discover_rmse         (const KanExpr             *e,
                                       const KanDataset          *d,
                                       gboolean                   test);

/* Whether the residuals of E (labels minus E over the rows) still hold structure: a small
 * network (n,3,1 at G = 3, 30 LM steps) fitted to them on the train rows explains more than 5 %
 * of their variance on the test rows. Residuals that are noise leave nothing to explain on rows
 * the fit never saw. FALSE with fewer than 8 test rows. */
gboolean    kan_discover_residuals_structured (const KanExpr *e,
                                               int            n_in,
                                               const double  *train_x,
                                               const double  *train_y,
                                               size_t         n_train,
                                               const double  *test_x,
                                               const double  *test_y,
                                               size_t         n_test,
                                               GCancellable  *stop);

/* Trains M on D with OPT for at most STEPS steps (regulariser LAMB, grid updates if
 * UPDATE_GRID), stopping early once the loss stalls. A non-finite loss ends the run with the
 * last finite model and is not an error; cancellation and bad configurations are. */
gboolean    kan_discover_train        (KanModel                  *m,
                                       const KanDataset          *d,
                                       KanOptimizer               opt,
                                       int                        steps,
                                       double                     lamb,
                                       gboolean                   update_grid,
                                       GCancellable              *cancellable,
                                       GError                   **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KanDiscoverResult, kan_discover_result_free)

G_END_DECLS
