/* kanvas-window-private.h — the window's parts shared by its source files.
 *
 * kanvas-window.c holds the workbench (panel, files, training); kanvas-window-session.c the
 * interactive session's operations (selection, pruning, locking, history and undo, the tasks on
 * a thread), which the right-hand pane (KanvasSessionPane, a widget of its own) shows and asks
 * for by its signals.
 */
#pragma once

#include "kanvas-window.h"
#include "kanvas-session-pane.h"
#include "kan-ops.h"

G_BEGIN_DECLS

typedef enum
{
  SOURCE_FORMULA,
  SOURCE_CSV,
  SOURCE_MOONS,
  SOURCE_KEEP,
} DataSource;

/* A command that replaces or drops the session, waiting for the answer to "Save changes?"
 * (kanvas-window.c, the guard). */
typedef struct _KanvasPending KanvasPending;

typedef enum
{
  RUN_IDLE,
  RUN_RUNNING,
  RUN_PAUSED,
} RunState;

struct _KanvasWindow
{
  AdwApplicationWindow  parent_instance;

  /* template widgets */
  AdwToastOverlay      *toast_overlay;
  AdwWindowTitle       *window_title;
  GtkButton            *train_button;
  AdwButtonContent     *train_content;
  GtkMenuButton        *examples_button;
  AdwComboRow          *source_row;
  AdwEntryRow          *formula_row;
  AdwEntryRow          *ranges_row;
  AdwActionRow         *csv_file_row;
  AdwComboRow          *target_row;
  AdwActionRow         *test_fraction_row;
  GtkSpinButton        *test_fraction_spin;
  AdwActionRow         *samples_row;
  AdwActionRow         *test_samples_row;
  GtkSpinButton        *train_spin;
  GtkSpinButton        *test_spin;
  AdwActionRow         *noise_row;
  GtkSpinButton        *noise_spin;
  GtkSpinButton        *data_seed_spin;
  AdwEntryRow          *width_row;
  GtkSpinButton        *grid_spin;
  GtkSpinButton        *k_spin;
  GtkSpinButton        *model_seed_spin;
  GtkLabel             *error_label;
  GtkWidget            *apply_button;
  AdwComboRow          *optimizer_row;
  AdwComboRow          *loss_row;
  GtkSpinButton        *steps_spin;
  GtkSpinButton        *lr_spin;
  GtkSpinButton        *lamb_spin;
  AdwExpanderRow       *grid_update_row;
  GtkSpinButton        *grid_updates_spin;
  KanvasCanvas         *canvas;
  KanvasLossView       *loss_view;
  GtkLabel             *loss_heading;
  GtkLabel             *model_label;
  GtkInscription       *status_label;
  GtkLabel             *state_label;
  GtkScrolledWindow    *panel_scroll; /* the data and model panel */
  AdwFlap              *panel_flap;  /* folds the panel away on narrow windows */
  AdwFlap              *pane_flap;   /* the same for the session pane */
  /* template widgets of the interactive session (kanvas-window-session.c) */
  KanvasSessionPane    *session_pane;
  GMenuModel           *canvas_menu;
  GtkSpinner           *busy_spinner;
  GtkWidget            *busy_cancel;
  GtkWidget            *discover;    /* the Discover page (kanvas-discover.c) */
  GtkStack             *session_stack; /* the pane's pages (borrowed), where Discover adds its */

  /* owned */
  KanSession           *session;
  char                 *path;        /* where the session was opened from or saved to */
  char                 *last_message; /* the last message shown (a toast), for tests */
  char                 *name;        /* shown while there is no path */
  char                 *csv_path;    /* the CSV file chosen in the panel */
  GtkStringList        *targets;     /* the CSV header's column names */
  KanWorker            *worker;
  GArray               *hist_train;  /* RMSE per step of the finished runs */
  GArray               *hist_test;
  GArray               *run_train;   /* of the run in progress */
  GArray               *run_test;
  GArray               *hist_acc_train; /* classification: accuracy where measured (a snapshot,
                                         * the end of a run), else NaN; as long as hist_train */
  GArray               *hist_acc_test;
  GArray               *run_acc_train;  /* of the run in progress, as long as run_train */
  GArray               *run_acc_test;
  GtkFileChooserNative *chooser;
  KanvasPending        *pending;     /* the command waiting for "Save changes?", or NULL */
  GCancellable         *task_cancel; /* of the session's task on a thread (auto-symbolic,
                                      * refine), NULL when there is none */
  char                 *task_label;  /* what the task does, for the status line */
  guint                 preview_id;  /* the prune preview waiting for the thresholds to settle */
  GCancellable         *preview_cancel; /* of the prune preview being computed, or NULL */
  KanOpsPrunePlan      *preview_plan; /* the prune preview shown, when it is current, or NULL */
  AdwToast             *step_toast;  /* the toast of the last step while it is there, or NULL */
  int                   n_step_toasts; /* step toasts not dismissed yet (at most one) */
  GtkWidget            *prune_question; /* "Prune a network trained without λ?", or NULL */

  /* state */
  RunState              run_state;
  int                   run_steps;   /* steps the run in progress was asked for */
  gboolean              modified;    /* changed since the last save or load */
  gboolean              loading_panel;
  guint                 pace_ms;     /* least time of a training step for this session's
                                      * example (kanvas_lesson_apply_presentation), or 0 */
  int                   hist_pos;    /* history entry whose model is the current one, or -1 */
};

/* "Hide faint edges" leaves out edges drawn fainter than this opacity (kanvas_canvas_set_hide_faint). */
#define KANVAS_WINDOW_FAINT_ALPHA 0.1

/* What a toast tells (kanvas_window_add_toast). */
typedef enum
{
  KANVAS_TOAST_PLAIN,       /* a message */
  KANVAS_TOAST_STEP,        /* what a step did to the error */
  KANVAS_TOAST_STEP_FIRST,  /* the same, before a message shown (a step that made it worse) */
} KanvasToastKind;

/* kanvas-window.c */
/* Shows TOAST (transfer full). Steps do not queue up: a step's toast takes over the text (and
 * Undo button) of the last step's while that one is there. */
void     kanvas_window_add_toast       (KanvasWindow   *self,
                                        AdwToast       *toast,
                                        KanvasToastKind kind);
void     kanvas_window_toast           (KanvasWindow   *self,
                                        const char     *format,
                                        ...) G_GNUC_PRINTF (2, 3);
/* After an edit of the session's model: redraws the canvas, updates the labels that describe
 * the model, marks the session modified and refreshes the session panes. */
void     kanvas_window_model_changed   (KanvasWindow   *self);
void     kanvas_window_set_modified    (KanvasWindow   *self,
                                        gboolean        modified);
/* Train and test metrics of the session's model, as history entries hold them
 * (kan_ops_metrics). */
void     kanvas_window_model_rmse      (KanvasWindow   *self,
                                        double         *train,
                                        double         *test);

/* kanvas-window-session.c */
void     kanvas_window_session_class_init (GtkWidgetClass *widget_class);
void     kanvas_window_session_init    (KanvasWindow   *self);
void     kanvas_window_session_dispose (KanvasWindow   *self);
/* The session was replaced (opened, example): the last history entry gets the current model
 * if it has none, and it becomes the current state. Refreshes. */
void     kanvas_window_session_reset   (KanvasWindow   *self);
/* Appends a history entry (kan_ops_record) and treats it as kanvas_window_recorded does. */
void     kanvas_window_record          (KanvasWindow   *self,
                                        const char     *op,
                                        const char     *detail);
/* After a kan-ops operation appended its history entry: the entry keeps a copy of the model
 * after it (the undo state), entries undone before it are dropped, and it becomes the current
 * state. The caller refreshes. */
void     kanvas_window_recorded        (KanvasWindow   *self);
/* Enables the session's actions: none while training (edits apply to the main thread's model
 * only when no run holds a copy of it). Cheap; called on every snapshot. */
void     kanvas_window_session_update  (KanvasWindow   *self);
/* Recomputes the formula, the inspector, the prune preview and the history list. */
void     kanvas_window_session_refresh (KanvasWindow   *self);
/* After a step was recorded (the current history entry): a toast saying what WHAT did to the
 * train and test error, with Undo when it made them worse (kan_ops_made_worse). EXTRA (may be
 * NULL) follows the numbers. */
void     kanvas_window_announce_step   (KanvasWindow   *self,
                                        const char     *what,
                                        const char     *extra);
/* TRUE while an operation of the session runs on a thread (then edits and training wait). */
gboolean kanvas_window_is_busy         (KanvasWindow   *self);

G_END_DECLS
