/* kan-train.h — training, driven step by step by the caller (new / step / free).
 *
 * The GUI worker thread and the CLI run the same loop. One L-BFGS "step" means what it means in
 * pykan: up to 20 inner iterations and 25 loss evaluations, so step counts compare one to one.
 */
#pragma once

#include <glib.h>
#include <gio/gio.h>
#include "kan-model.h"
#include "kan-data.h"

G_BEGIN_DECLS

/* kan_trainer_new refuses (KAN_ERROR_BUDGET) training whose peak (kan_trainer_bytes) would be
 * more, unless KanTrainConfig.memory_budget says otherwise. */
#define KAN_TRAIN_BUDGET_BYTES ((double) (G_GUINT64_CONSTANT (4) << 30))

typedef enum
{
  KAN_OPT_LBFGS,
  KAN_OPT_ADAM,
  KAN_OPT_LM,      /* Levenberg–Marquardt with geodesic acceleration (GSL), MSE loss without
                    * regularisation only */
  KAN_OPT_AUTO,    /* kan_train_resolve_optimizer: LM (fixed grid) where it is fast, else L-BFGS */
} KanOptimizer;

typedef enum
{
  KAN_LOSS_MSE,
  KAN_LOSS_CE,     /* cross-entropy; labels are class indices 0 … n_out-1 in one column */
} KanLoss;

typedef struct
{
  KanOptimizer opt;              /* lbfgs (pykan); kanvas-cli fit starts new sessions on auto */
  KanLoss      loss;             /* mse */
  int          steps;            /* 50 */
  double       lr;               /* 1 (pykan); Adam users want ~1e-2 */
  double       lamb;             /* 0 */
  double       lamb_l1;          /* 1 */
  double       lamb_entropy;     /* 2 */
  double       lamb_coef;        /* 0 */
  double       lamb_coefdiff;    /* 0 */
  gboolean     update_grid;      /* TRUE */
  int          grid_update_num;  /* 10 */
  int          start_grid_update_step; /* -1 */
  int          stop_grid_update_step;  /* 50 */
  /* A grid update is kept only if the train loss right after it is at most
   * (1 + grid_update_tolerance) times the loss before it; otherwise the old grid stays. */
  double       grid_update_tolerance;  /* see kan-train.c */
  long         batch;            /* -1: whole train set */
  guint64      seed;             /* minibatch sampling */
  gboolean     singularity_avoiding; /* FALSE */
  double       y_th;             /* 1000 when avoiding singularities */
  int          lbfgs_history;    /* 10 */
  int          lbfgs_max_iter;   /* 20 inner iterations per step */
  int          lbfgs_max_eval;   /* 25 evaluations per step */
  int          threads;          /* 1; >1 splits samples across threads */
  double       memory_budget;    /* bytes kan_trainer_bytes may reach; 0: KAN_TRAIN_BUDGET_BYTES.
                                  * Not saved in sessions */
} KanTrainConfig;

void         kan_train_config_init (KanTrainConfig *cfg);
/* A static string ("lbfgs", "adam", "lm", "auto"); do not free. */
const char  *kan_optimizer_name    (KanOptimizer    opt);
gboolean     kan_optimizer_lookup  (const char     *name,
                                    KanOptimizer   *out);

typedef struct
{
  int      step;          /* 0-based index of the step just done */
  double   loss;          /* training objective (loss + lamb·reg) at the end of the step */
  double   train_rmse;    /* sqrt(loss_fn) on the train set (RMSE for MSE) */
  double   test_rmse;     /* on the test set (NaN if there is none) */
  double   reg;           /* regulariser value (0 when lamb = 0) */
  long     n_evals;       /* loss+gradient evaluations so far in this trainer */
  double   seconds;       /* wall time so far in this trainer */
  gboolean grid_updated;  /* a grid update was applied before this step */
  gboolean grid_rejected; /* a grid update was tried and undone because the loss rose */
} KanStepInfo;

typedef struct _KanTrainer KanTrainer;

/* The optimiser KAN_OPT_AUTO stands for on MODEL and DATA under CFG (any other choice is
 * returned as it is): Levenberg–Marquardt for an MSE loss without regulariser, singularity
 * avoidance or minibatches, on at most KAN_AUTO_LM_MAX_PARAMS active parameters and no more
 * rows than LM's limit (kan-train.c); L-BFGS otherwise. LM chosen this way keeps the grid fixed
 * (no grid updates) and scales its trust region uniformly (GSL's Levenberg scaling): on pykan's
 * T1 this reached the test RMSE of 50 L-BFGS steps in 10–14 steps on every model seed 1–8. */
#define KAN_AUTO_LM_MAX_PARAMS 400
KanOptimizer kan_train_resolve_optimizer (const KanModel       *model,
                                          const KanDataset     *data,
                                          const KanTrainConfig *cfg);

/* Trains MODEL in place (borrowed; must outlive the trainer) on DATA (borrowed). Fails with
 * KAN_ERROR_BUDGET when kan_trainer_bytes is over the budget, or when a Levenberg–Marquardt
 * step would be too long to interrupt (see kan-train.c). */
KanTrainer  *kan_trainer_new       (KanModel             *model,
                                    const KanDataset     *data,
                                    const KanTrainConfig *cfg,
                                    GError              **error);
/* The peak bytes of training MODEL on DATA under CFG, counted from what exists before (the
 * model and the data) to what comes after (evaluating and saving the result): workspaces,
 * worker threads, optimiser state (L-BFGS history, Adam moments, LM's Jacobian and JᵀJ), the
 * copy a grid update keeps for the step and the update's own memory. */
gsize        kan_trainer_bytes     (const KanModel       *model,
                                    const KanDataset     *data,
                                    const KanTrainConfig *cfg);
/* One step. On a non-finite loss or gradient the model is restored to how it was before the
 * step and FALSE is returned with KAN_ERROR_NONFINITE. CANCELLABLE (may be NULL) is looked at
 * inside every evaluation (every fraction of a millisecond of work): once it is cancelled the
 * step stops, the model is put back as it was before the step, and FALSE is returned with
 * KAN_ERROR_CANCELLED. */
gboolean     kan_trainer_step      (KanTrainer           *t,
                                    GCancellable         *cancellable,
                                    KanStepInfo          *info,
                                    GError              **error);
int          kan_trainer_steps_done (const KanTrainer    *t);
/* The optimiser the trainer runs (KAN_OPT_AUTO resolved). */
KanOptimizer kan_trainer_optimizer (const KanTrainer     *t);
/* One evaluation of the training objective (loss + lamb·reg) at the model's parameters over the
 * current batch, on the trainer's threads: rows are split into fixed blocks, one per thread,
 * each with its own gradient, summed in block order, so the result is the same bit for bit
 * from run to run. GRAD (may be NULL) receives the gradient, n_params long, 0 for inactive
 * parameters. NaN if the evaluation was cut short. */
double       kan_trainer_evaluate  (KanTrainer           *t,
                                    double               *grad);
/* Frees T (NULL is fine); the model and data it borrowed stay the caller's. */
void         kan_trainer_free      (KanTrainer           *t);

/* Loss (loss_fn only, no regulariser) and RMSE-like metric of MODEL on rows X, Y. */
double       kan_model_loss        (const KanModel       *m,
                                    KanLoss               loss,
                                    const double         *x,
                                    const double         *y,
                                    size_t                n);

/* The train rows of the data set T borrowed were rewritten in place (same shape): the next step
 * reads them afresh instead of the bases cached for the old rows. For callers that feed their
 * own batches through a data set of one batch (kan-stream.c). */
void         kan_trainer_rows_changed (KanTrainer        *t);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KanTrainer, kan_trainer_free)

G_END_DECLS
