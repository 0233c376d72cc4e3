/* kan-session.h — a whole working state as one versioned JSON document.
 *
 * The model (shape, knots, parameters, masks, locks), the data set (a formula's recipe, or the
 * rows of a CSV file), the training settings and the history of operations. Saving is atomic.
 */
#pragma once

#include <glib.h>
#include "kan-model.h"
#include "kan-data.h"
#include "kan-train.h"

G_BEGIN_DECLS

#define KAN_SESSION_FORMAT  "kanvas-session"
/* The newest version written and read: 2 when the data have class names (kan-session.c), else
 * 1, which older builds read too. */
#define KAN_SESSION_VERSION 2
/* Loading refuses a model or data set that would need more memory than this. */
#define KAN_SESSION_BUDGET_BYTES (G_GUINT64_CONSTANT (1) << 30)
/* Loading a session holds its text (1×), the parsed document (at most 2×: kan-json.c refuses
 * documents that need more, KAN_JSON_MEMORY_FACTOR) and the session built from it (at most as
 * many doubles as the document holds numbers, so at most 2× again): at most
 * KAN_SESSION_LOAD_FACTOR times the file size. Files Kanvas writes need about 2× (measured in
 * tests/test-session.c). A formula data set is sampled, not stored, and has its own budget. */
#define KAN_SESSION_LOAD_FACTOR 5
/* Memory loading one session file may take; the largest file follows from it. */
#define KAN_SESSION_LOAD_BUDGET_BYTES (G_GUINT64_CONSTANT (5) << 28)
/* kan_session_load reads at most this many bytes of a file (pipes and devices included):
 * 256 MiB. */
#define KAN_SESSION_MAX_FILE_BYTES (KAN_SESSION_LOAD_BUDGET_BYTES / KAN_SESSION_LOAD_FACTOR)

typedef struct
{
  char     *op;       /* "new", "fit", "refine", "prune", "lock", … */
  char     *detail;   /* human-readable parameters, e.g. "steps=50 opt=lbfgs" */
  double    train_rmse; /* after the operation, NaN if unknown */
  double    test_rmse;
  KanModel *model;    /* owned, may be NULL: the model after the operation (the GUI's undo
                       * states); written as an optional "model" member of the entry */
} KanHistoryEntry;

typedef struct
{
  KanModel       *model;     /* owned, may be NULL */
  KanDataset     *data;      /* owned, may be NULL */
  KanTrainConfig  train;
  GPtrArray      *history;   /* KanHistoryEntry*, owned */
  int             steps_done; /* training steps applied to this model so far */
  /* The learning curve shown by the workbench: the train and test metric (RMSE, or the
   * cross-entropy) after each training step of the runs since the model was made, as doubles
   * of equal length (NaN where unknown); written as an optional "curve" member. */
  GArray         *curve_train;
  GArray         *curve_test;
  /* Classification: the train and test accuracy (0 … 1) at the same steps, NaN where not
   * measured; empty, or as long as curve_train. */
  GArray         *curve_train_acc;
  GArray         *curve_test_acc;
} KanSession;

KanSession  *kan_session_new        (void);
void         kan_session_free       (KanSession       *s);
void         kan_session_add_history (KanSession      *s,
                                      const char      *op,
                                      const char      *detail,
                                      double           train_rmse,
                                      double           test_rmse);

/* Writes PATH atomically (a temporary file in the same folder, then rename). */
gboolean     kan_session_save       (const KanSession *s,
                                     const char       *path,
                                     GError          **error);
char        *kan_session_to_json    (const KanSession *s,
                                     gsize            *length);
/* Reads and validates PATH; rejects unknown formats, versions, fields of the wrong type,
 * inconsistent shapes and non-finite numbers, naming what is wrong. */
KanSession  *kan_session_load       (const char       *path,
                                     GError          **error);
KanSession  *kan_session_from_json  (const char       *json,
                                     gssize            length,
                                     const char       *name_for_errors,
                                     GError          **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KanSession, kan_session_free)

G_END_DECLS
