/* kanvas-window.h — the workbench window: data and model panel, canvas, loss plot, training. */
#pragma once

#include <adwaita.h>
#include "kan.h"
#include "kan-worker.h"
#include "kanvas-canvas.h"
#include "kanvas-loss-view.h"

G_BEGIN_DECLS

#define KANVAS_TYPE_WINDOW (kanvas_window_get_type ())

G_DECLARE_FINAL_TYPE (KanvasWindow, kanvas_window, KANVAS, WINDOW, AdwApplicationWindow)

KanvasWindow     *kanvas_window_new             (GtkApplication *application);

/* Scriptable commands (the application's actions call these). Errors are also shown in the
 * window as a toast. */
gboolean          kanvas_window_open_path       (KanvasWindow   *self,
                                                 const char     *path,
                                                 GError        **error);
gboolean          kanvas_window_save_to         (KanvasWindow   *self,
                                                 const char     *path,
                                                 GError        **error);
gboolean          kanvas_window_load_example    (KanvasWindow   *self,
                                                 const char     *id,
                                                 GError        **error);
gboolean          kanvas_window_export_figure   (KanvasWindow   *self,
                                                 const char     *path,
                                                 GError        **error);

/* Shows TEXT in the window (a toast). */
void              kanvas_window_show_message    (KanvasWindow   *self,
                                                 const char     *text);

/* State, for tests and the application. */
const KanSession *kanvas_window_get_session     (KanvasWindow   *self);
const char       *kanvas_window_get_path        (KanvasWindow   *self);
/* The last message shown in the window (NULL if none). */
const char       *kanvas_window_get_last_message (KanvasWindow  *self);
gboolean          kanvas_window_get_modified    (KanvasWindow   *self);
/* TRUE while a training run is in progress (running or paused). */
gboolean          kanvas_window_is_training     (KanvasWindow   *self);
KanWorkerState    kanvas_window_get_train_state (KanvasWindow   *self);
KanvasCanvas     *kanvas_window_get_canvas      (KanvasWindow   *self);
KanvasLossView   *kanvas_window_get_loss_view   (KanvasWindow   *self);
/* Steps shown by the status line (all runs of this session). */
int               kanvas_window_get_steps_done  (KanvasWindow   *self);
/* Closes without asking about unsaved changes. */
void              kanvas_window_close_discard   (KanvasWindow   *self);

G_END_DECLS
