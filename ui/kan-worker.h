/* kan-worker.h — training on a background thread, with snapshots for the main thread.
 *
 * The worker trains its own copy of the model (the caller's model is never touched), publishes
 * an immutable KanSnapshot at a steady rate (every interval_ms, not every step) and when it
 * pauses or ends, and answers pause, step and stop within one optimizer step. Callbacks run on
 * the GMainContext given at creation (the GTK main loop), never on the worker thread, and never
 * after kan_worker_free. GLib only: no GTK.
 */
#pragma once

#include <glib.h>
#include "kan.h"
#include "kan-snapshot.h"

G_BEGIN_DECLS

typedef struct _KanWorker KanWorker;

typedef enum
{
  KAN_WORKER_IDLE,      /* nothing to train, or finished */
  KAN_WORKER_RUNNING,
  KAN_WORKER_PAUSED,
} KanWorkerState;

/* A new snapshot (transfer full: the callee frees it with kan_snapshot_free). */
typedef void (*KanWorkerSnapshotFunc) (KanSnapshot *snapshot, gpointer user_data);
/* The run ended: MODEL (transfer full) is the trained copy; INFO the last step (NULL if none
 * was done); ERROR (borrowed, may be NULL) says why it ended early, e.g. a non-finite loss
 * (the model is then the last finite one); STOPPED is TRUE after kan_worker_stop. */
typedef void (*KanWorkerDoneFunc) (KanModel          *model,
                                   const KanStepInfo *info,
                                   const GError      *error,
                                   gboolean           stopped,
                                   gpointer           user_data);

/* CONTEXT NULL: the calling thread's default context. Snapshots carry the step count, the last
 * step's metrics and the train/test RMSE history of the run so far. */
KanWorker     *kan_worker_new        (GMainContext          *context,
                                      KanWorkerSnapshotFunc  on_snapshot,
                                      KanWorkerDoneFunc      on_done,
                                      gpointer               user_data);
/* Stops a run (waiting for the thread) and frees; no callback runs afterwards, including
 * dispatches already queued. Call it on the thread that iterates CONTEXT (a callback may call
 * it). */
void           kan_worker_free       (KanWorker             *w);

/* Milliseconds between snapshots while running (default 50). */
void           kan_worker_set_interval (KanWorker           *w,
                                        guint                interval_ms);
/* Each step of a running run takes at least STEP_MS milliseconds (default 0: as fast as the
 * optimizer goes), so that people can watch the curves change; pause, step and stop still
 * answer within a step. */
void           kan_worker_set_step_time (KanWorker          *w,
                                         guint               step_ms);
guint          kan_worker_get_step_time (KanWorker          *w);

/* Starts training copies of MODEL and DATA with CFG for CFG->steps steps. START_PAUSED: wait
 * for resume or step (a snapshot of the starting model comes at once). Fails with
 * G_IO_ERROR_PENDING if a run is in progress: a run lasts until its on_done has been
 * dispatched, so on_done may start the next one. A CFG that kan_trainer_new rejects is
 * reported through on_done. */
gboolean       kan_worker_start      (KanWorker             *w,
                                      const KanModel        *model,
                                      const KanDataset      *data,
                                      const KanTrainConfig  *cfg,
                                      gboolean               start_paused,
                                      GError               **error);
void           kan_worker_pause      (KanWorker             *w);
void           kan_worker_resume     (KanWorker             *w);
/* While paused: run exactly one step, publish a snapshot, pause again. */
void           kan_worker_step       (KanWorker             *w);
/* Ends the run within one optimizer step; on_done follows with STOPPED = TRUE. */
void           kan_worker_stop       (KanWorker             *w);

KanWorkerState kan_worker_get_state  (KanWorker             *w);
int            kan_worker_steps_done (KanWorker             *w);

G_END_DECLS
