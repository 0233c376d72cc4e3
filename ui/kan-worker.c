/* kan-worker.c — training on a background thread, with snapshots for the main thread.
 *
 * Ownership. The caller's thread copies the model and data in kan_worker_start; from then on the
 * copies, the trainer and the metric history belong to the worker thread alone (a KanRun). The
 * thread builds each snapshot from its own copy and hands it over through a one-slot mailbox in
 * the KanWorker (under w->lock): a newer snapshot replaces one the main thread has not taken yet,
 * so a busy main thread never makes snapshots pile up. At most one dispatch is queued on the
 * main context at a time; it empties the mailbox and calls the callbacks with no lock held.
 *
 * Lifetime. Every queued dispatch holds a reference to a small shared token, not to the worker.
 * kan_worker_free marks the token dead under the token's mutex before it stops and joins the
 * thread, so a dispatch that runs later (or was queued before) sees a dead token and only
 * drops its reference. The dispatch and kan_worker_free both run on the thread of the worker's
 * main context, so a callback may free the worker; the dispatch re-checks the token after each
 * callback.
 *
 * Control. Pause and step are flags under w->lock with a GCond the paused thread waits on; the
 * thread looks at them between optimizer steps. Stop also cancels the run's GCancellable, which
 * the trainer checks inside every evaluation (a cancelled step is undone, so the model is the
 * one the last finished step left), and wakes a paused thread.
 *
 * Sharing the machine. The thread trains at nice 10 (lower_priority) and on at most one thread
 * fewer than the machine has cores, so that the main loop's frames never wait behind training.
 */
#include "kan-worker.h"

#include <gio/gio.h>
#include <math.h>
#include <string.h>
#ifdef __linux__
#include <errno.h>
#include <sys/resource.h>
#include <unistd.h>
#endif

/* GLib's GMutex and GCond are futex-based on Linux and GLib is not built with ThreadSanitizer,
 * so TSan cannot see the ordering they give. Under TSan the worker's locks tell it explicitly;
 * in normal builds these are plain g_mutex_lock/g_mutex_unlock/g_cond_wait. */
#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#define TSAN_ACQUIRE(p) __tsan_acquire (p)
#define TSAN_RELEASE(p) __tsan_release (p)
#else
#define TSAN_ACQUIRE(p) ((void) (p))
#define TSAN_RELEASE(p) ((void) (p))
#endif

static inline void
lock (GMutex *m)
{
  g_mutex_lock (m);
  TSAN_ACQUIRE (m);
}

static inline void
unlock (GMutex *m)
{
  TSAN_RELEASE (m);
  g_mutex_unlock (m);
}

static inline void
cond_wait (GCond *c, GMutex *m)
{
  TSAN_RELEASE (m);
  g_cond_wait (c, m);
  TSAN_ACQUIRE (m);
}

static inline void
cond_wait_until (GCond *c, GMutex *m, gint64 end_time)
{
  TSAN_RELEASE (m);
  g_cond_wait_until (c, m, end_time);
  TSAN_ACQUIRE (m);
}

/* ------------------------------------------------------------------------------------------ */
/* The alive token shared with queued dispatches                                               */

typedef struct
{
  gatomicrefcount  ref;
  GMutex           mutex;
  KanWorker       *worker;   /* NULL once kan_worker_free has begun */
} Token;

static Token *
token_new (KanWorker *w)
{
  Token *t = g_new0 (Token, 1);

  g_atomic_ref_count_init (&t->ref);
  g_mutex_init (&t->mutex);
  t->worker = w;
  return t;
}

static gpointer
token_ref (Token *t)
{
  g_atomic_ref_count_inc (&t->ref);
  return t;
}

static void
token_unref (gpointer data)
{
  Token *t = data;

  if (g_atomic_ref_count_dec (&t->ref))
    {
      g_mutex_clear (&t->mutex);
      g_free (t);
    }
}

static KanWorker *
token_get (Token *t)
{
  KanWorker *w;

  lock (&t->mutex);
  w = t->worker;
  unlock (&t->mutex);
  return w;
}

static void
token_kill (Token *t)
{
  lock (&t->mutex);
  t->worker = NULL;
  unlock (&t->mutex);
}

/* ------------------------------------------------------------------------------------------ */
/* Types                                                                                       */

/* How a run ended, for on_done. */
typedef struct
{
  KanModel    *model;
  KanStepInfo  info;
  gboolean     have_info;
  GError      *error;
  gboolean     stopped;
} Done;

static void
done_free (Done *d)
{
  if (d == NULL)
    return;
  kan_model_free (d->model);
  g_clear_error (&d->error);
  g_free (d);
}

/* One run: everything here belongs to the worker thread once it has started. */
typedef struct
{
  KanWorker      *w;
  KanModel       *model;
  KanDataset     *data;
  KanTrainConfig  cfg;
  GCancellable   *cancellable;  /* also held by the worker, for stop */
  GArray         *hist_train;   /* double per step */
  GArray         *hist_test;
  KanStepInfo     info;
  gboolean        have_info;
} KanRun;

struct _KanWorker
{
  /* Set at creation, read-only afterwards. */
  GMainContext          *context;
  KanWorkerSnapshotFunc  on_snapshot;
  KanWorkerDoneFunc      on_done;
  gpointer               user_data;
  Token                 *token;

  /* Everything below is under LOCK. */
  GMutex                 lock;
  GCond                  cond;
  guint                  interval_ms;
  guint                  step_ms;      /* least duration of a step while running, or 0 */
  /* A run is busy from kan_worker_start until its on_done has been dispatched. */
  gboolean               busy;
  GThread               *thread;
  GCancellable          *cancellable;
  KanWorkerState         state;
  int                    steps_done;
  gboolean               pause;
  int                    step_requests;
  gboolean               stop;
  /* The mailbox to the main context. */
  KanSnapshot           *pending_snapshot;
  Done                  *pending_done;
  gboolean               dispatch_queued;
};

/* ------------------------------------------------------------------------------------------ */
/* Main-context side                                                                           */

static gboolean
dispatch (gpointer data)
{
  Token *t = data;
  KanWorker *w = token_get (t);
  KanSnapshot *snap;
  Done *done;
  GThread *thread;

  if (w == NULL)
    return G_SOURCE_REMOVE;

  lock (&w->lock);
  snap = g_steal_pointer (&w->pending_snapshot);
  done = g_steal_pointer (&w->pending_done);
  w->dispatch_queued = FALSE;
  unlock (&w->lock);

  if (snap != NULL)
    {
      if (w->on_snapshot != NULL)
        w->on_snapshot (snap, w->user_data);
      else
        kan_snapshot_free (snap);
    }
  if (done == NULL)
    return G_SOURCE_REMOVE;

  /* The snapshot callback may have freed the worker, and with it the run. */
  if (token_get (t) == NULL)
    {
      done_free (done);
      return G_SOURCE_REMOVE;
    }

  /* The thread posted DONE as its last act, so joining it here is brief. Only then is the
   * worker idle, so on_done may start the next run. */
  lock (&w->lock);
  thread = g_steal_pointer (&w->thread);
  unlock (&w->lock);
  if (thread != NULL)
    g_thread_join (thread);
  lock (&w->lock);
  g_clear_object (&w->cancellable);
  w->state = KAN_WORKER_IDLE;
  w->busy = FALSE;
  unlock (&w->lock);

  if (w->on_done != NULL)
    w->on_done (g_steal_pointer (&done->model), done->have_info ? &done->info : NULL,
                done->error, done->stopped, w->user_data);
  done_free (done);
  return G_SOURCE_REMOVE;
}

/* Called on the worker thread with W->lock held: makes sure one dispatch is queued. */
static void
queue_dispatch_locked (KanWorker *w)
{
  if (w->dispatch_queued)
    return;
  w->dispatch_queued = TRUE;
  /* Always an idle source on W->context, never a direct call: g_main_context_invoke_full runs
   * DISPATCH right here when W->context is this thread's default context and nobody owns it,
   * and DISPATCH takes W->lock, which the caller holds. */
  {
    GSource *source = g_idle_source_new ();
    g_source_set_priority (source, G_PRIORITY_DEFAULT);
    g_source_set_callback (source, dispatch, token_ref (w->token), token_unref);
    g_source_set_static_name (source, "kan-worker dispatch");
    g_source_attach (source, w->context);
    g_source_unref (source);
  }
}

/* ------------------------------------------------------------------------------------------ */
/* Worker-thread side                                                                          */

static void
publish (KanRun *run)
{
  KanWorker *w = run->w;
  const KanDataset *d = run->data;
  GError *error = NULL;
  KanSnapshot *s, *old;
  int n = (int) run->hist_train->len;
  g_auto (GStrv) outs = kan_output_names (d, run->cfg.loss, kan_model_n_out (run->model));

  s = kan_snapshot_new (run->model, d->train_x, d->n_train,
                        (const char *const *) d->in_names, (const char *const *) outs, &error);
  if (s == NULL)
    {
      /* A picture we cannot make must not end the training. */
      g_warning ("training snapshot: %s", error->message);
      g_error_free (error);
      return;
    }
  s->step = n;
  s->train_rmse = run->have_info ? run->info.train_rmse : NAN;
  s->test_rmse = run->have_info ? run->info.test_rmse : NAN;
  s->loss = run->have_info ? run->info.loss : NAN;
  s->seconds = run->have_info ? run->info.seconds : 0.0;
  g_free (s->history_train);
  g_free (s->history_test);
  s->n_history = n;
  s->history_train = n > 0 ? g_memdup2 (run->hist_train->data, sizeof (double) * n) : NULL;
  s->history_test = n > 0 ? g_memdup2 (run->hist_test->data, sizeof (double) * n) : NULL;

  lock (&w->lock);
  old = w->pending_snapshot;
  w->pending_snapshot = s;
  queue_dispatch_locked (w);
  unlock (&w->lock);
  kan_snapshot_free (old);
}

/* The training thread runs at a lower priority than the main loop: on a machine with few cores,
 * the window's frames (and the X server or compositor, in the same scheduling group) must not
 * wait behind a thread that never sleeps. Linux gives each thread its own nice value, which the
 * trainer's own threads inherit; elsewhere this does nothing. Not SCHED_IDLE: on a busy machine
 * that would stop training altogether. */
#define WORKER_NICE 10

static void
lower_priority (void)
{
#ifdef __linux__
  errno = 0;
  if (getpriority (PRIO_PROCESS, gettid ()) < WORKER_NICE && errno == 0)
    setpriority (PRIO_PROCESS, gettid (), WORKER_NICE);
#endif
}

static gpointer
worker_thread (gpointer data)
{
  KanRun *run = data;
  KanWorker *w = run->w;
  GMainContext *own = g_main_context_new ();
  KanTrainer *trainer;
  GError *error = NULL;
  gboolean stopped = FALSE, published = FALSE;
  gint64 last_publish = g_get_monotonic_time ();
  Done *done;

  /* See queue_dispatch_locked: without this, g_main_context_invoke_full could run the dispatch
   * right here when W->context is the global default context and nobody owns it. */
  g_main_context_push_thread_default (own);
  lower_priority ();

  trainer = kan_trainer_new (run->model, run->data, &run->cfg, &error);
  while (trainer != NULL)
    {
      gboolean single = FALSE;
      guint interval, step_ms;
      gint64 now, step_start;

      if ((int) run->hist_train->len >= run->cfg.steps)
        break;

      lock (&w->lock);
      while (w->pause && w->step_requests == 0 && !w->stop)
        {
          w->state = KAN_WORKER_PAUSED;
          if (!published)
            {
              /* One snapshot each time the run comes to rest. */
              unlock (&w->lock);
              publish (run);
              published = TRUE;
              last_publish = g_get_monotonic_time ();
              lock (&w->lock);
              continue;
            }
          cond_wait (&w->cond, &w->lock);
        }
      if (w->stop)
        {
          unlock (&w->lock);
          stopped = TRUE;
          break;
        }
      if (w->pause)
        {
          single = TRUE;
          w->step_requests--;
        }
      else
        w->state = KAN_WORKER_RUNNING;
      interval = w->interval_ms;
      step_ms = w->step_ms;
      unlock (&w->lock);

      step_start = g_get_monotonic_time ();
      if (!kan_trainer_step (trainer, run->cancellable, &run->info, &error))
        {
          if (g_error_matches (error, KAN_ERROR, KAN_ERROR_CANCELLED))
            {
              g_clear_error (&error);
              stopped = TRUE;
            }
          break;
        }
      run->have_info = TRUE;
      published = FALSE;
      g_array_append_val (run->hist_train, run->info.train_rmse);
      g_array_append_val (run->hist_test, run->info.test_rmse);
      lock (&w->lock);
      w->steps_done = (int) run->hist_train->len;
      unlock (&w->lock);

      /* A step the trainer cut short because of stop still counts; the run ends here. */
      if (g_cancellable_is_cancelled (run->cancellable))
        {
          stopped = TRUE;
          break;
        }
      now = g_get_monotonic_time ();
      if (single || now - last_publish >= (gint64) interval * 1000)
        {
          publish (run);
          published = TRUE;
          last_publish = g_get_monotonic_time ();
        }
      /* A paced run rests until the step has taken STEP_MS; stop and resume wake it, a pause
       * is seen when the rest ends. */
      if (step_ms > 0 && !single)
        {
          gint64 until = step_start + (gint64) step_ms * 1000;
          lock (&w->lock);
          while (!w->stop && !w->pause && g_get_monotonic_time () < until)
            cond_wait_until (&w->cond, &w->lock, until);
          unlock (&w->lock);
        }
    }

  /* The model is the last finite one: the trainer rolls a failed step back. */
  if (trainer != NULL && !published)
    publish (run);
  kan_trainer_free (trainer);

  done = g_new0 (Done, 1);
  done->model = g_steal_pointer (&run->model);
  done->info = run->info;
  done->have_info = run->have_info;
  done->error = error;
  done->stopped = stopped;

  kan_dataset_free (run->data);
  g_object_unref (run->cancellable);
  g_array_unref (run->hist_train);
  g_array_unref (run->hist_test);
  g_free (run);

  lock (&w->lock);
  g_assert (w->pending_done == NULL);
  w->pending_done = done;
  queue_dispatch_locked (w);
  unlock (&w->lock);

  g_main_context_pop_thread_default (own);
  g_main_context_unref (own);
  return NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* API                                                                                         */

KanWorker *
kan_worker_new (GMainContext          *context,
                KanWorkerSnapshotFunc  on_snapshot,
                KanWorkerDoneFunc      on_done,
                gpointer               user_data)
{
  KanWorker *w = g_new0 (KanWorker, 1);

  w->context = context != NULL ? g_main_context_ref (context) : g_main_context_ref_thread_default ();
  w->on_snapshot = on_snapshot;
  w->on_done = on_done;
  w->user_data = user_data;
  w->token = token_new (w);
  g_mutex_init (&w->lock);
  g_cond_init (&w->cond);
  w->interval_ms = 50;
  w->state = KAN_WORKER_IDLE;
  return w;
}

void
kan_worker_free (KanWorker *w)
{
  GThread *thread;

  if (w == NULL)
    return;

  /* First, so that no dispatch, queued or running later, reaches a callback. */
  token_kill (w->token);

  lock (&w->lock);
  w->stop = TRUE;
  if (w->cancellable != NULL)
    g_cancellable_cancel (w->cancellable);
  g_cond_broadcast (&w->cond);
  thread = g_steal_pointer (&w->thread);
  unlock (&w->lock);
  if (thread != NULL)
    g_thread_join (thread);

  /* The thread is gone: nothing else touches W now. */
  kan_snapshot_free (w->pending_snapshot);
  done_free (w->pending_done);
  g_clear_object (&w->cancellable);
  token_unref (w->token);
  g_mutex_clear (&w->lock);
  g_cond_clear (&w->cond);
  g_main_context_unref (w->context);
  g_free (w);
}

void
kan_worker_set_interval (KanWorker *w,
                         guint      interval_ms)
{
  g_return_if_fail (w != NULL);

  lock (&w->lock);
  w->interval_ms = interval_ms;
  unlock (&w->lock);
}

void
kan_worker_set_step_time (KanWorker *w,
                          guint      step_ms)
{
  g_return_if_fail (w != NULL);

  lock (&w->lock);
  w->step_ms = step_ms;
  g_cond_broadcast (&w->cond);
  unlock (&w->lock);
}

guint
kan_worker_get_step_time (KanWorker *w)
{
  guint step_ms;

  g_return_val_if_fail (w != NULL, 0);

  lock (&w->lock);
  step_ms = w->step_ms;
  unlock (&w->lock);
  return step_ms;
}

gboolean
kan_worker_start (KanWorker            *w,
                  const KanModel       *model,
                  const KanDataset     *data,
                  const KanTrainConfig *cfg,
                  gboolean              start_paused,
                  GError              **error)
{
  KanRun *run;

  g_return_val_if_fail (w != NULL, FALSE);
  g_return_val_if_fail (model != NULL && data != NULL && cfg != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  lock (&w->lock);
  if (w->busy)
    {
      unlock (&w->lock);
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_PENDING,
                           "a training run is in progress; stop it first");
      return FALSE;
    }
  w->busy = TRUE;
  unlock (&w->lock);

  /* The copies are made here, on the caller's thread, so the worker never reads the caller's
   * model or data and the caller may edit them as soon as this returns. */
  run = g_new0 (KanRun, 1);
  run->w = w;
  run->model = kan_model_copy (model);
  run->data = kan_dataset_copy (data);
  run->cfg = *cfg;
  /* The main loop keeps a core of its own: a session trained with --threads N by the CLI trains
   * here on at most one thread fewer than the machine has (on two cores, one). */
  run->cfg.threads = CLAMP (cfg->threads, 1, MAX ((int) g_get_num_processors () - 1, 1));
  run->cancellable = g_cancellable_new ();
  run->hist_train = g_array_new (FALSE, FALSE, sizeof (double));
  run->hist_test = g_array_new (FALSE, FALSE, sizeof (double));

  lock (&w->lock);
  g_clear_object (&w->cancellable);
  w->cancellable = g_object_ref (run->cancellable);
  w->state = start_paused ? KAN_WORKER_PAUSED : KAN_WORKER_RUNNING;
  w->steps_done = 0;
  w->pause = start_paused;
  w->step_requests = 0;
  w->stop = FALSE;
  /* Under the lock, so that the dispatch of this run's end finds the thread to join. */
  w->thread = g_thread_new ("kan-worker", worker_thread, run);
  unlock (&w->lock);
  return TRUE;
}

void
kan_worker_pause (KanWorker *w)
{
  g_return_if_fail (w != NULL);

  lock (&w->lock);
  if (w->busy)
    w->pause = TRUE;
  unlock (&w->lock);
}

void
kan_worker_resume (KanWorker *w)
{
  g_return_if_fail (w != NULL);

  lock (&w->lock);
  w->pause = FALSE;
  w->step_requests = 0;
  g_cond_broadcast (&w->cond);
  unlock (&w->lock);
}

void
kan_worker_step (KanWorker *w)
{
  g_return_if_fail (w != NULL);

  lock (&w->lock);
  /* Only meaningful while paused (or pausing); a running worker is already stepping. */
  if (w->busy && w->pause && !w->stop)
    {
      w->step_requests++;
      g_cond_broadcast (&w->cond);
    }
  unlock (&w->lock);
}

void
kan_worker_stop (KanWorker *w)
{
  g_return_if_fail (w != NULL);

  lock (&w->lock);
  if (w->busy)
    {
      w->stop = TRUE;
      if (w->cancellable != NULL)
        g_cancellable_cancel (w->cancellable);
      g_cond_broadcast (&w->cond);
    }
  unlock (&w->lock);
}

KanWorkerState
kan_worker_get_state (KanWorker *w)
{
  KanWorkerState s;

  g_return_val_if_fail (w != NULL, KAN_WORKER_IDLE);

  lock (&w->lock);
  s = w->state;
  unlock (&w->lock);
  return s;
}

int
kan_worker_steps_done (KanWorker *w)
{
  int n;

  g_return_val_if_fail (w != NULL, 0);

  lock (&w->lock);
  n = w->steps_done;
  unlock (&w->lock);
  return n;
}
