/* kanvas-session-pane.h — the right-hand pane of the workbench: inspector, network operations,
 * formula and history.
 *
 * The pane shows what it is given and asks for the rest. The window gives it the session (the
 * model, the data and the history; borrowed, with the history entry that is the current state),
 * the canvas whose snapshot and selection the inspector shows, whether a run is in progress and
 * the prune preview's text; the pane computes nothing that changes the session. What the user
 * asks for in it (prune, lock an edge, auto-symbolic, undo, …) it reports as a signal; the window
 * decides what to do. Its buttons are the pane's own actions (`pane.prune`, `pane.lock`, …, named
 * as the window's actions that do the work) and the window enables them with
 * kanvas_session_pane_set_enabled as it enables its own.
 *
 * Signals (all run-last, no return value):
 *   prune-requested ()                          the Prune button
 *   lock-requested (int l, int i, int j, char *name)  a suggestion's Lock button
 *   unlock-requested ()                         Unlock: the selected edge
 *   prune-selection-requested ()                Prune Edge / Prune Node: the selection
 *   auto-symbolic-requested (char *library)     Lock All: the checked functions, comma-separated
 *   refine-requested (int grid)                 Refine, with the new grid
 *   train-requested ()                          Retrain
 *   history-requested (int entry)               a history row: return to entry (0-based)
 *   undo-requested (), redo-requested ()
 *   copy-formula-requested (char *style)        text, latex, sympy or c
 *   export-formula-requested (), export-edge-plot-requested ()   the export buttons
 *   thresholds-changed ()                       a prune threshold changed
 *   panel-changed ()                            another page (inspect, network, …) is shown
 *   message (char *text)                        something to tell the user (a toast)
 *   prune-inputs-requested (double threshold)   the Inputs page's Prune Inputs button
 */
#pragma once

#include <gtk/gtk.h>
#include "kan.h"
#include "kanvas-canvas.h"
#include "kanvas-inputs-page.h"

G_BEGIN_DECLS

#define KANVAS_TYPE_SESSION_PANE (kanvas_session_pane_get_type ())

G_DECLARE_FINAL_TYPE (KanvasSessionPane, kanvas_session_pane, KANVAS, SESSION_PANE, GtkBox)

/* What the pane shows ---------------------------------------------------------------------- */

/* The canvas whose snapshot, selection and style the inspector shows (borrowed; the pane follows
 * its selection). Once. */
void              kanvas_session_pane_set_canvas     (KanvasSessionPane *self,
                                                      KanvasCanvas      *canvas);
/* S (borrowed, may be NULL; the caller keeps it alive while the pane shows it) and the history
 * entry that is the current state (-1: none). Recomputes the formula, the history list and the
 * inspector. */
void              kanvas_session_pane_set_session    (KanvasSessionPane *self,
                                                      const KanSession  *s,
                                                      int                hist_pos);
/* A training run holds a copy of the model: the inspector offers no suggestions meanwhile. */
void              kanvas_session_pane_set_running    (KanvasSessionPane *self,
                                                      gboolean           running);
/* Enables the pane's action named as the window's ACTION (prune, prune-inputs, lock, unlock-selected,
 * prune-selected, auto-symbolic, refine, train, goto-history, undo, redo); other names are
 * ignored. */
void              kanvas_session_pane_set_enabled    (KanvasSessionPane *self,
                                                      const char        *action,
                                                      gboolean           enabled);
/* The prune preview's line ("Would remove …"); BUSY shows that a newer one is being computed. */
void              kanvas_session_pane_set_prune_preview (KanvasSessionPane *self,
                                                      const char        *text,
                                                      gboolean           busy);
/* The edges auto-symbolic left as splines: TITLE and the list TEXT; NULL hides the row. */
void              kanvas_session_pane_set_auto_report (KanvasSessionPane *self,
                                                      const char        *title,
                                                      const char        *text);
/* Checks the library functions LIB (N_LIB ids; N_LIB 0 checks them all). */
void              kanvas_session_pane_set_library    (KanvasSessionPane *self,
                                                      const int         *lib,
                                                      int                n_lib);
/* The edge plot follows the canvas's snapshot (a run's frames): redraws it. */
void              kanvas_session_pane_queue_draw_plot (KanvasSessionPane *self);
/* Shows page NAME (inspect, network, formula, history, or one added to the stack); FALSE if
 * there is none. */
gboolean          kanvas_session_pane_show_panel     (KanvasSessionPane *self,
                                                      const char        *name);

/* What the user set, and what the pane shows -------------------------------------------------- */

const char       *kanvas_session_pane_get_panel      (KanvasSessionPane *self);
/* The stack of pages (borrowed): other views may add a page of their own. */
GtkStack         *kanvas_session_pane_get_stack      (KanvasSessionPane *self);
void              kanvas_session_pane_get_thresholds (KanvasSessionPane *self,
                                                      double            *node_th,
                                                      double            *edge_th);
double            kanvas_session_pane_get_r2         (KanvasSessionPane *self);
/* The formula of the session's model (borrowed), NULL while edges are splines; *NUMERIC (may be
 * NULL) receives the "(l,i,j)" of the spline edges (borrowed, may be NULL). */
const KanExpr    *kanvas_session_pane_get_formula    (KanvasSessionPane *self,
                                                      const char *const **numeric);
/* The Formula page's formula line as shown ("" when there is none). */
const char       *kanvas_session_pane_get_formula_text (KanvasSessionPane *self);
/* The best suggestion for the selected edge (borrowed), or NULL. */
const KanSymFit  *kanvas_session_pane_get_best_fit   (KanvasSessionPane *self);
/* The Inputs page (borrowed): input ranking, prune inputs, decision regions. */
KanvasInputsPage *kanvas_session_pane_get_inputs_page (KanvasSessionPane *self);
/* TRUE while the prune preview shows that a newer one is being computed. */
gboolean          kanvas_session_pane_is_previewing  (KanvasSessionPane *self);

/* History texts, shared with the window's step toasts ------------------------------------------- */

/* The metrics of E; an entry without them (a new model's) but with a stored model gets them
 * from that model on S's data. */
void              kanvas_history_entry_metrics       (const KanSession      *s,
                                                      const KanHistoryEntry *e,
                                                      double                *train,
                                                      double                *test);
/* "train 0.0027 → 0.48 · test 0.0031 → 0.52": the error after E, and before it when BEFORE (the
 * entry before, may be NULL) knows it; "" when E has no metrics. */
char             *kanvas_history_change_text         (const KanSession      *s,
                                                      const KanHistoryEntry *before,
                                                      const KanHistoryEntry *e);

G_END_DECLS
