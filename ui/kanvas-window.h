/* kanvas-window.h — the workbench window: data and model panel, canvas, loss plot, training. */
#pragma once

#include <adwaita.h>
#include "kan.h"
#include "kan-worker.h"
#include "kanvas-canvas.h"
#include "kanvas-loss-view.h"
#include "kanvas-session-pane.h"

G_BEGIN_DECLS

#define KANVAS_TYPE_WINDOW (kanvas_window_get_type ())

G_DECLARE_FINAL_TYPE (KanvasWindow, kanvas_window, KANVAS, WINDOW, AdwApplicationWindow)

KanvasWindow     *kanvas_window_new             (GtkApplication *application);

/* Scriptable commands (the application's actions call these). Errors are also shown in the
 * window as a toast.
 *
 * open_path and load_example read or build the new session first (an error leaves the current
 * one as it was), then replace the current session through the guard below: at once when it
 * has no unsaved work, else once "Save changes?" is answered (Cancel keeps it). */
gboolean          kanvas_window_open_path       (KanvasWindow   *self,
                                                 const char     *path,
                                                 GError        **error);
gboolean          kanvas_window_save_to         (KanvasWindow   *self,
                                                 const char     *path,
                                                 GError        **error);
gboolean          kanvas_window_load_example    (KanvasWindow   *self,
                                                 const char     *id,
                                                 GError        **error);
/* The demo as an untitled session, through the guard (win.new, which is disabled during a run,
 * as are win.open, win.load-example and win.apply). */
void              kanvas_window_new_session     (KanvasWindow   *self);
gboolean          kanvas_window_export_figure   (KanvasWindow   *self,
                                                 const char     *path,
                                                 GError        **error);

/* Unsaved work. Every command that replaces or drops the session (new, open, load-example,
 * build, closing, quitting) goes through one guard: when the session has unsaved work it stops
 * a run in progress (so the run's steps are in the session), then asks "Save changes to “NAME”
 * before …?" with Cancel, Discard and Save (Save As for an untitled session; the command
 * proceeds only if saving worked). The question is an AdwMessageDialog; scripts answer it with
 * kanvas_window_answer (the application's `unsaved-changes` action). */

/* Closes the window, asking first; VERB ends the question ("quitting"). */
void              kanvas_window_close_asking    (KanvasWindow   *self,
                                                 const char     *verb);
/* TRUE while a command waits: for its run to stop, for the answer, or for the Save dialog. */
gboolean          kanvas_window_is_asking       (KanvasWindow   *self);
/* The question on screen (an AdwMessageDialog), or NULL. */
GtkWindow        *kanvas_window_get_question    (KanvasWindow   *self);
/* Answers the waiting command's question as its buttons do: "save", "discard" or "cancel".
 * Given while a run is still stopping, the answer applies once it has stopped (without asking).
 * Fails when nothing is waiting or ANSWER is none of these. */
gboolean          kanvas_window_answer          (KanvasWindow   *self,
                                                 const char     *answer,
                                                 GError        **error);

/* Shows TEXT in the window (a toast). */
void              kanvas_window_show_message    (KanvasWindow   *self,
                                                 const char     *text);

/* State, for tests and the application. */
const KanSession *kanvas_window_get_session     (KanvasWindow   *self);
const char       *kanvas_window_get_path        (KanvasWindow   *self);
/* The last message shown in the window (NULL if none). */
const char       *kanvas_window_get_last_message (KanvasWindow  *self);
/* TRUE when the session holds unsaved work: changed since the last save or load (a run, step,
 * prune, lock, unlock, auto-symbolic, refine, undo, redo or build), or a run in progress. */
gboolean          kanvas_window_get_modified    (KanvasWindow   *self);
/* TRUE while a training run is in progress (running or paused). */
gboolean          kanvas_window_is_training     (KanvasWindow   *self);
KanWorkerState    kanvas_window_get_train_state (KanvasWindow   *self);
KanvasCanvas     *kanvas_window_get_canvas      (KanvasWindow   *self);
KanvasLossView   *kanvas_window_get_loss_view   (KanvasWindow   *self);
/* The right-hand pane: inspector, network operations, formula, history. */
KanvasSessionPane *kanvas_window_get_session_pane (KanvasWindow  *self);
/* Step toasts (what a step did to the error): how many are there (shown or waiting; at most
 * one), and the text of the last one while it is there (else NULL). */
int               kanvas_window_get_n_step_toasts (KanvasWindow *self);
const char       *kanvas_window_get_step_toast  (KanvasWindow   *self);
/* Steps shown by the status line (all runs of this session). */
int               kanvas_window_get_steps_done  (KanvasWindow   *self);
/* Closes without asking about unsaved changes (a run in progress is dropped). */
void              kanvas_window_close_discard   (KanvasWindow   *self);

G_END_DECLS
