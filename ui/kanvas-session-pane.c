/* kanvas-session-pane.c — the right-hand pane: inspector, network operations, formula, history.
 *
 * A view: it reads the session and the canvas it is given and reports what the user asks for
 * as signals (kanvas-session-pane.h). The window owns the session and does every edit
 * (kanvas-window-session.c); nothing here includes the window.
 */
#include "kanvas-session-pane.h"
#include "kanvas-inputs-page.h"

#include <math.h>
#include <string.h>
#include <adwaita.h>
#include "kan-render.h"
#include "kan-ops.h"
#include "kan-formula.h"

/* The edge plot grows with the canvas's text scale, up to this. */
#define KANVAS_SESSION_PANE_PLOT_SCALE_MAX 1.5
/* Suggestions shown for an edge. */
#define N_SUGGESTIONS 8

/* The library offered for auto-symbolic, with the ones checked at first. */
static const struct
{
  const char *name;
  gboolean    checked;
} auto_lib[] = {
  { "0", FALSE }, { "x", TRUE }, { "x^2", TRUE }, { "x^3", FALSE }, { "x^4", FALSE },
  { "1/x", FALSE }, { "sqrt", FALSE }, { "exp", TRUE }, { "log", FALSE }, { "sin", TRUE },
  { "cos", FALSE }, { "tanh", FALSE }, { "abs", FALSE }, { "gaussian", FALSE },
  { "arctan", FALSE }, { "sigmoid", FALSE },
};

enum
{
  PRUNE_REQUESTED,
  LOCK_REQUESTED,
  UNLOCK_REQUESTED,
  PRUNE_SELECTION_REQUESTED,
  AUTO_SYMBOLIC_REQUESTED,
  REFINE_REQUESTED,
  TRAIN_REQUESTED,
  HISTORY_REQUESTED,
  UNDO_REQUESTED,
  REDO_REQUESTED,
  COPY_FORMULA_REQUESTED,
  EXPORT_FORMULA_REQUESTED,
  EXPORT_EDGE_PLOT_REQUESTED,
  THRESHOLDS_CHANGED,
  PANEL_CHANGED,
  MESSAGE,
  PRUNE_INPUTS_REQUESTED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

struct _KanvasSessionPane
{
  GtkBox             parent_instance;

  /* template widgets */
  GtkStack          *session_stack;
  KanvasInputsPage  *inputs_page;     /* added in code, not in the template */
  GtkLabel          *inspect_title;
  GtkLabel          *inspect_subtitle;
  GtkWidget         *edge_box;
  GtkDrawingArea    *edge_plot;
  GtkWidget         *unlock_button;
  GtkListBox        *suggest_list;
  GtkWidget         *node_box;
  GtkSpinButton     *prune_node_spin;
  GtkSpinButton     *prune_edge_spin;
  AdwActionRow      *prune_preview_row;
  GtkSpinner        *preview_spinner;
  GtkFlowBox        *lib_flow;
  GtkSpinButton     *r2_spin;
  GtkSpinButton     *refine_spin;
  GtkLabel          *formula_heading;
  GtkLabel          *formula_label;
  GtkLabel          *formula_rmse_label;
  GtkWidget         *copy_box;
  GtkLabel          *numeric_label;
  GtkListBox        *history_list;
  AdwActionRow      *auto_report_row;

  /* borrowed */
  KanvasCanvas      *canvas;
  const KanSession  *session;

  /* owned */
  KanExpr           *formula;     /* of the session's model, NULL while edges are splines */
  GStrv              numeric;     /* "(l,i,j)" of the edges still splines */
  KanSymFit         *fits;        /* suggestions for the selected edge */
  int                n_fits;

  /* state */
  int                hist_pos;    /* the history entry that is the current state, or -1 */
  gboolean           running;
  gboolean           previewing;
};

G_DEFINE_FINAL_TYPE (KanvasSessionPane, kanvas_session_pane, GTK_TYPE_BOX)

/* History texts -------------------------------------------------------------------------------- */

void
kanvas_history_entry_metrics (const KanSession      *s,
                              const KanHistoryEntry *e,
                              double                *train,
                              double                *test)
{
  *train = e->train_rmse;
  *test = e->test_rmse;
  if (isnan (*train) && e->model && s->data)
    kan_ops_metrics (e->model, s->data, s->train.loss, train, test);
}

char *
kanvas_history_change_text (const KanSession      *s,
                            const KanHistoryEntry *before,
                            const KanHistoryEntry *e)
{
  double tr = NAN, te = NAN;

  if (isnan (e->train_rmse))
    return g_strdup ("");
  if (before)
    kanvas_history_entry_metrics (s, before, &tr, &te);
  if (isnan (tr))
    return g_strdup_printf ("train %.3g · test %.3g", e->train_rmse, e->test_rmse);
  return g_strdup_printf ("train %.3g → %.3g · test %.3g → %.3g", tr, e->train_rmse, te,
                          e->test_rmse);
}

/* History ------------------------------------------------------------------------------------- */

static void
refresh_history (KanvasSessionPane *self)
{
  GPtrArray *h = self->session->history;
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->history_list))))
    gtk_list_box_remove (self->history_list, child);
  for (guint k = 0; k < h->len; k++)
    {
      const KanHistoryEntry *e = g_ptr_array_index (h, k);
      GtkWidget *row = adw_action_row_new ();
      g_autofree char *title = g_strdup_printf ("%u. %s", k + 1, e->op);
      g_autofree char *rmse = kanvas_history_change_text (self->session,
                                                          k > 0 ? g_ptr_array_index (h, k - 1)
                                                                : NULL, e);
      g_autofree char *markup = g_markup_escape_text (e->detail ? e->detail : "", -1);
      g_autofree char *subtitle = g_strdup_printf ("%s%s%s", markup, *rmse ? "\n" : "", rmse);

      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
      adw_action_row_set_subtitle_lines (ADW_ACTION_ROW (row), 3);
      if ((int) k == self->hist_pos)
        {
          adw_action_row_add_suffix (ADW_ACTION_ROW (row),
                                     gtk_image_new_from_icon_name ("object-select-symbolic"));
          gtk_widget_add_css_class (row, "current-state");
        }
      else if ((int) k > self->hist_pos)
        gtk_widget_add_css_class (row, "dim-label");
      if (e->model && (int) k != self->hist_pos)
        {
          gtk_actionable_set_action_name (GTK_ACTIONABLE (row), "pane.goto-history");
          gtk_actionable_set_action_target (GTK_ACTIONABLE (row), "i", (gint32) k);
          gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), TRUE);
          gtk_widget_set_tooltip_text (row, "Return to the model after this operation");
        }
      else if (e->model == NULL)
        gtk_widget_set_tooltip_text (row, "No stored model: this entry cannot be returned to");
      gtk_list_box_append (self->history_list, row);
    }
}

/* Formula ------------------------------------------------------------------------------------- */

/* RMS difference between networks A and B (same inputs and outputs) on D's test rows (the
 * train rows without any), in the units the models work in (as the history's metrics). */
static double
network_difference (const KanModel   *a,
                    const KanModel   *b,
                    const KanDataset *d)
{
  gboolean test = d->n_test > 0;
  const double *x = test ? d->test_x : d->train_x;
  size_t n = test ? d->n_test : d->n_train;
  size_t n_out = (size_t) kan_model_n_out (a);
  g_autofree double *ya = NULL;
  g_autofree double *yb = NULL;
  double sum = 0;

  if (n == 0 || kan_model_n_in (a) != kan_model_n_in (b) || kan_model_n_out (b) != (int) n_out)
    return NAN;
  ya = g_new (double, n * n_out);
  yb = g_new (double, n * n_out);
  kan_model_eval (a, x, n, ya);
  kan_model_eval (b, x, n, yb);
  for (size_t r = 0; r < n * n_out; r++)
    sum += (ya[r] - yb[r]) * (ya[r] - yb[r]);
  return sqrt (sum / (n * n_out));
}

/* The spline network that locking replaced, from the history: its metrics, and how far the
 * locked network (the formula, before snapping) is from it. NULL without one. */
static char *
replaced_text (KanvasSessionPane *self)
{
  const KanSession *s = self->session;
  const KanHistoryEntry *e = kan_ops_replaced_network (s, self->hist_pos);
  guint k;

  if (e == NULL || !g_ptr_array_find (s->history, e, &k))
    return NULL;
  return g_strdup_printf ("The spline network it replaced (history %u, %s): test RMSE %.3g · "
                          "train RMSE %.3g. The locked network differs from it by RMSE %.3g on "
                          "the %s inputs.", k + 1, e->op, e->test_rmse, e->train_rmse,
                          network_difference (s->model, e->model, s->data),
                          s->data->n_test > 0 ? "test" : "train");
}

static void
refresh_formula (KanvasSessionPane *self)
{
  const KanSession *s = self->session;
  g_autoptr (GError) error = NULL;

  g_clear_pointer (&self->formula, kan_expr_free);
  g_clear_pointer (&self->numeric, g_strfreev);
  gtk_label_set_text (self->numeric_label, "");
  gtk_label_set_text (self->formula_rmse_label, "");
  if (s->model == NULL || s->data == NULL)
    {
      gtk_label_set_text (self->formula_heading, "No model");
      gtk_label_set_text (self->formula_label, "");
      gtk_widget_set_sensitive (self->copy_box, FALSE);
      return;
    }
  if (s->data->n_out != 1 || s->train.loss != KAN_LOSS_MSE)
    {
      gtk_label_set_text (self->formula_heading, "Formulas are read off networks with one "
                          "output trained with the squared error.");
      gtk_label_set_text (self->formula_label, "");
      gtk_widget_set_sensitive (self->copy_box, FALSE);
      return;
    }
  self->formula = kan_ops_formula (s, TRUE, &self->numeric, &error);
  gtk_widget_set_sensitive (self->copy_box, self->formula != NULL);
  if (self->formula)
    {
      g_autofree char *text = kan_expr_to_string (self->formula,
                                                  (const char *const *) s->data->in_names,
                                                  KAN_EXPR_STYLE_TEXT);
      g_autofree char *against = replaced_text (self);
      g_autofree char *rmse = g_strdup_printf ("Test RMSE %.3g · train RMSE %.3g (of the formula "
                                               "as printed, on the session's data)%s%s",
                                               kan_discover_rmse (self->formula, s->data, TRUE),
                                               kan_discover_rmse (self->formula, s->data, FALSE),
                                               against ? "\n\n" : "", against ? against : "");
      g_autofree char *head = g_strdup_printf ("The network is symbolic: %s =",
                                               s->data->out_names[0]);
      gtk_label_set_text (self->formula_heading, head);
      gtk_label_set_text (self->formula_label, text);
      gtk_label_set_text (self->formula_rmse_label, rmse);
      gtk_label_set_text (self->numeric_label, "Every edge is locked to a function.");
    }
  else if (self->numeric && self->numeric[0])
    {
      g_autofree char *list = g_strjoinv ("  ", self->numeric);
      g_autofree char *text = g_strdup_printf ("Still splines (%u): %s\n\nLock them from the "
                                               "inspector or with Auto-symbolic; the formula "
                                               "appears when every edge is symbolic.",
                                               g_strv_length (self->numeric), list);
      gtk_label_set_text (self->formula_heading, "No closed form yet");
      gtk_label_set_text (self->formula_label, "");
      gtk_label_set_text (self->numeric_label, text);
    }
  else
    {
      gtk_label_set_text (self->formula_heading, "No formula");
      gtk_label_set_text (self->formula_label, error ? error->message : "");
    }
}

/* Inspector ----------------------------------------------------------------------------------- */

static void
draw_edge_plot (GtkDrawingArea *area,
                cairo_t        *cr,
                int             width,
                int             height,
                gpointer        user_data)
{
  KanvasSessionPane *self = user_data;
  const KanSnapshot *snap;
  KanRenderStyle st;
  int l, i, j;

  if (self->canvas == NULL)
    return;
  snap = kanvas_canvas_get_snapshot (self->canvas);
  st = *kanvas_canvas_get_style (self->canvas);
  kanvas_canvas_get_selection (self->canvas, &l, &i, &j);
  if (snap == NULL || j < 0 || kan_snapshot_edge (snap, l, i, j) == NULL)
    return;
  st.transparent = TRUE;
  /* Larger text (presentation mode): the plot of a smaller area, magnified. */
  if (st.text_scale > 1)
    {
      double z = MIN (st.text_scale, KANVAS_SESSION_PANE_PLOT_SCALE_MAX);
      cairo_scale (cr, z, z);
      kan_render_edge_plot (cr, snap, l, i, j, &st, width / z, height / z);
      return;
    }
  kan_render_edge_plot (cr, snap, l, i, j, &st, width, height);
}

static void
clear_suggestions (KanvasSessionPane *self)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->suggest_list))))
    gtk_list_box_remove (self->suggest_list, child);
  g_clear_pointer (&self->fits, g_free);
  self->n_fits = 0;
}

static void
fill_suggestions (KanvasSessionPane *self,
                  int                l,
                  int                i,
                  int                j)
{
  const KanSession *s = self->session;
  g_autoptr (GError) error = NULL;

  self->fits = kan_model_suggest (s->model, s->data->train_x, s->data->n_train, l, i, j, NULL, 0,
                                  NULL, &self->n_fits, &error);
  if (self->fits == NULL)
    {
      GtkWidget *row = adw_action_row_new ();
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), "No suggestions");
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), error ? error->message : "");
      gtk_list_box_append (self->suggest_list, row);
      return;
    }
  for (int q = 0; q < MIN (self->n_fits, N_SUGGESTIONS); q++)
    {
      const KanSymFit *f = &self->fits[q];
      const char *name = kan_sym_info (f->sym_id)->name;
      double abcd[4] = { f->a, f->b, f->c, f->d };
      g_autofree char *form = kan_edge_form_text (f->sym_id, abcd);
      g_autofree char *title = g_markup_printf_escaped ("<b>%s</b>   R² %.6f   complexity %d",
                                                        name, f->r2, f->complexity);
      g_autofree char *subtitle = g_markup_escape_text (form, -1);
      GtkWidget *row = adw_action_row_new ();
      GtkWidget *lock = gtk_button_new_with_label ("Lock");

      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
      gtk_widget_set_valign (lock, GTK_ALIGN_CENTER);
      gtk_actionable_set_action_name (GTK_ACTIONABLE (lock), "pane.lock");
      gtk_actionable_set_action_target (GTK_ACTIONABLE (lock), "(iiis)", l, i, j, name);
      gtk_widget_set_tooltip_text (lock, "Lock the edge to this function");
      if (q == 0)
        gtk_widget_add_css_class (lock, "suggested-action");
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), lock);
      gtk_list_box_append (self->suggest_list, row);
    }
}

static void
refresh_inspector (KanvasSessionPane *self)
{
  const KanSnapshot *snap = self->canvas ? kanvas_canvas_get_snapshot (self->canvas) : NULL;
  const KanSession *s = self->session;
  int l = -1, i = -1, j = -1;

  clear_suggestions (self);
  if (self->canvas)
    kanvas_canvas_get_selection (self->canvas, &l, &i, &j);
  gtk_widget_set_visible (self->edge_box, FALSE);
  gtk_widget_set_visible (self->node_box, FALSE);
  if (snap == NULL || l < 0)
    {
      gtk_label_set_text (self->inspect_title, "Nothing selected");
      gtk_label_set_text (self->inspect_subtitle,
                          "Click an edge or a node of the network to inspect it (or use the "
                          "arrow keys on the canvas). Right-click for its actions.");
      return;
    }
  if (j >= 0)
    {
      const KanSnapshotEdge *e = kan_snapshot_edge (snap, l, i, j);
      g_autofree char *title = g_strdup_printf ("Edge (%d, %d, %d)", l, i, j);
      g_autofree char *form = NULL;
      g_autofree char *sub = NULL;
      gboolean locked;

      if (e == NULL)
        return;
      locked = (e->mode == KAN_EDGE_SYMBOLIC || e->mode == KAN_EDGE_BOTH) && e->sym_id >= 0;
      if (locked)
        form = kan_edge_form_text (e->sym_id, e->abcd);
      sub = g_strdup_printf ("%s%s%s · score %.4g · input range [%.3g, %.3g]",
                             kan_edge_mode_name (e->mode), locked ? ": " : "",
                             locked ? form : "", e->score, e->x_min, e->x_max);
      gtk_label_set_text (self->inspect_title, title);
      gtk_label_set_text (self->inspect_subtitle, sub);
      gtk_widget_set_visible (self->edge_box, TRUE);
      gtk_widget_set_visible (self->unlock_button, locked);
      gtk_widget_queue_draw (GTK_WIDGET (self->edge_plot));
      if (e->mode != KAN_EDGE_OFF && !self->running && s && s->model && s->data)
        fill_suggestions (self, l, i, j);
    }
  else
    {
      const char *name = NULL;
      g_autofree char *title = NULL;
      g_autofree char *sub = NULL;
      gboolean hidden = l > 0 && l < snap->depth;

      if (l == 0 && i < (int) g_strv_length (snap->in_names))
        name = snap->in_names[i];
      else if (l == snap->depth && i < (int) g_strv_length (snap->out_names))
        name = snap->out_names[i];
      title = g_strdup_printf ("Node (%d, %d)%s%s", l, i, name ? " · " : "", name ? name : "");
      sub = g_strdup_printf ("%s node · score %.4g%s", l == 0 ? "Input" : hidden ? "Hidden"
                             : "Output", snap->node_score[l][i],
                             hidden ? "" : " · only hidden nodes can be pruned");
      gtk_label_set_text (self->inspect_title, title);
      gtk_label_set_text (self->inspect_subtitle, sub);
      gtk_widget_set_visible (self->node_box, TRUE);
    }
}

static void
on_selection_changed (KanvasSessionPane *self)
{
  int l;

  if (gtk_widget_in_destruction (GTK_WIDGET (self)) || self->canvas == NULL)
    return;
  kanvas_canvas_get_selection (self->canvas, &l, NULL, NULL);
  refresh_inspector (self);
  if (l >= 0)
    gtk_stack_set_visible_child_name (self->session_stack, "inspect");
}

/* Requests --------------------------------------------------------------------------------------- */

/* The pane's actions, named as the window's actions they ask for. */
static const char *const pane_actions[] = {
  "prune", "lock", "unlock-selected", "prune-selected", "auto-symbolic", "refine", "train",
  "goto-history", "undo", "redo", "copy-formula", "export-formula-dialog",
  "export-edge-plot-dialog",
};

static void
on_pane_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *param)
{
  KanvasSessionPane *self = KANVAS_SESSION_PANE (widget);
  const char *name = action_name + strlen ("pane.");

  if (g_str_equal (name, "prune"))
    g_signal_emit (self, signals[PRUNE_REQUESTED], 0);
  else if (g_str_equal (name, "lock"))
    {
      const char *fn;
      int l, i, j;
      g_variant_get (param, "(iii&s)", &l, &i, &j, &fn);
      g_signal_emit (self, signals[LOCK_REQUESTED], 0, l, i, j, fn);
    }
  else if (g_str_equal (name, "unlock-selected"))
    g_signal_emit (self, signals[UNLOCK_REQUESTED], 0);
  else if (g_str_equal (name, "prune-selected"))
    g_signal_emit (self, signals[PRUNE_SELECTION_REQUESTED], 0);
  else if (g_str_equal (name, "auto-symbolic"))
    {
      g_autoptr (GString) names = g_string_new (NULL);

      for (GtkWidget *c = gtk_widget_get_first_child (GTK_WIDGET (self->lib_flow)); c;
           c = gtk_widget_get_next_sibling (c))
        {
          GtkCheckButton *check = GTK_CHECK_BUTTON (gtk_flow_box_child_get_child (GTK_FLOW_BOX_CHILD (c)));
          if (gtk_check_button_get_active (check))
            g_string_append_printf (names, "%s%s", names->len ? "," : "",
                                    gtk_check_button_get_label (check));
        }
      if (names->len == 0)
        g_signal_emit (self, signals[MESSAGE], 0, "Check at least one function of the library.");
      else
        g_signal_emit (self, signals[AUTO_SYMBOLIC_REQUESTED], 0, names->str);
    }
  else if (g_str_equal (name, "refine"))
    g_signal_emit (self, signals[REFINE_REQUESTED], 0,
                   gtk_spin_button_get_value_as_int (self->refine_spin));
  else if (g_str_equal (name, "train"))
    g_signal_emit (self, signals[TRAIN_REQUESTED], 0);
  else if (g_str_equal (name, "goto-history"))
    g_signal_emit (self, signals[HISTORY_REQUESTED], 0, g_variant_get_int32 (param));
  else if (g_str_equal (name, "undo"))
    g_signal_emit (self, signals[UNDO_REQUESTED], 0);
  else if (g_str_equal (name, "redo"))
    g_signal_emit (self, signals[REDO_REQUESTED], 0);
  else if (g_str_equal (name, "copy-formula"))
    g_signal_emit (self, signals[COPY_FORMULA_REQUESTED], 0, g_variant_get_string (param, NULL));
  else if (g_str_equal (name, "export-formula-dialog"))
    g_signal_emit (self, signals[EXPORT_FORMULA_REQUESTED], 0);
  else if (g_str_equal (name, "export-edge-plot-dialog"))
    g_signal_emit (self, signals[EXPORT_EDGE_PLOT_REQUESTED], 0);
}

static void
on_threshold_changed (KanvasSessionPane *self)
{
  g_signal_emit (self, signals[THRESHOLDS_CHANGED], 0);
}

static void
on_panel_changed (KanvasSessionPane *self)
{
  /* The stack changes pages as the pane goes too. */
  if (gtk_widget_in_destruction (GTK_WIDGET (self)))
    return;
  g_signal_emit (self, signals[PANEL_CHANGED], 0);
}

/* Object ------------------------------------------------------------------------------------ */

static void
kanvas_session_pane_dispose (GObject *object)
{
  KanvasSessionPane *self = KANVAS_SESSION_PANE (object);

  if (self->canvas)
    {
      g_signal_handlers_disconnect_by_data (self->canvas, self);
      g_object_remove_weak_pointer (G_OBJECT (self->canvas), (gpointer *) &self->canvas);
      self->canvas = NULL;
    }
  self->session = NULL;
  g_clear_pointer (&self->formula, kan_expr_free);
  g_clear_pointer (&self->numeric, g_strfreev);
  g_clear_pointer (&self->fits, g_free);
  gtk_widget_dispose_template (GTK_WIDGET (self), KANVAS_TYPE_SESSION_PANE);
  G_OBJECT_CLASS (kanvas_session_pane_parent_class)->dispose (object);
}

static guint
new_signal (GObjectClass *klass,
            const char   *name,
            guint         n_params,
            ...)
{
  GType types[4];
  va_list args;

  g_assert (n_params <= G_N_ELEMENTS (types));
  va_start (args, n_params);
  for (guint k = 0; k < n_params; k++)
    types[k] = va_arg (args, GType);
  va_end (args);
  return g_signal_newv (name, G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, NULL, NULL, NULL,
                        NULL, G_TYPE_NONE, n_params, types);
}

static void
kanvas_session_pane_class_init (KanvasSessionPaneClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = kanvas_session_pane_dispose;

  signals[PRUNE_REQUESTED] = new_signal (object_class, "prune-requested", 0);
  signals[LOCK_REQUESTED] = new_signal (object_class, "lock-requested", 4, G_TYPE_INT, G_TYPE_INT,
                                        G_TYPE_INT, G_TYPE_STRING);
  signals[UNLOCK_REQUESTED] = new_signal (object_class, "unlock-requested", 0);
  signals[PRUNE_SELECTION_REQUESTED] = new_signal (object_class, "prune-selection-requested", 0);
  signals[AUTO_SYMBOLIC_REQUESTED] = new_signal (object_class, "auto-symbolic-requested", 1,
                                                 G_TYPE_STRING);
  signals[REFINE_REQUESTED] = new_signal (object_class, "refine-requested", 1, G_TYPE_INT);
  signals[TRAIN_REQUESTED] = new_signal (object_class, "train-requested", 0);
  signals[HISTORY_REQUESTED] = new_signal (object_class, "history-requested", 1, G_TYPE_INT);
  signals[UNDO_REQUESTED] = new_signal (object_class, "undo-requested", 0);
  signals[REDO_REQUESTED] = new_signal (object_class, "redo-requested", 0);
  signals[COPY_FORMULA_REQUESTED] = new_signal (object_class, "copy-formula-requested", 1,
                                                G_TYPE_STRING);
  signals[EXPORT_FORMULA_REQUESTED] = new_signal (object_class, "export-formula-requested", 0);
  signals[EXPORT_EDGE_PLOT_REQUESTED] = new_signal (object_class, "export-edge-plot-requested", 0);
  signals[THRESHOLDS_CHANGED] = new_signal (object_class, "thresholds-changed", 0);
  signals[PANEL_CHANGED] = new_signal (object_class, "panel-changed", 0);
  signals[MESSAGE] = new_signal (object_class, "message", 1, G_TYPE_STRING);
  signals[PRUNE_INPUTS_REQUESTED] = new_signal (object_class, "prune-inputs-requested", 1,
                                                G_TYPE_DOUBLE);

  for (guint k = 0; k < G_N_ELEMENTS (pane_actions); k++)
    {
      g_autofree char *name = g_strconcat ("pane.", pane_actions[k], NULL);
      const char *type = g_str_equal (pane_actions[k], "lock") ? "(iiis)"
                         : g_str_equal (pane_actions[k], "goto-history") ? "i"
                         : g_str_equal (pane_actions[k], "copy-formula") ? "s" : NULL;
      gtk_widget_class_install_action (widget_class, name, type, on_pane_action);
    }

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/kanvas/Kanvas/ui/kanvas-session-pane.ui");
#define CHILD(name) gtk_widget_class_bind_template_child (widget_class, KanvasSessionPane, name)
  CHILD (session_stack);
  CHILD (inspect_title);
  CHILD (inspect_subtitle);
  CHILD (edge_box);
  CHILD (edge_plot);
  CHILD (unlock_button);
  CHILD (suggest_list);
  CHILD (node_box);
  CHILD (prune_node_spin);
  CHILD (prune_edge_spin);
  CHILD (prune_preview_row);
  CHILD (preview_spinner);
  CHILD (lib_flow);
  CHILD (r2_spin);
  CHILD (refine_spin);
  CHILD (formula_heading);
  CHILD (formula_label);
  CHILD (formula_rmse_label);
  CHILD (copy_box);
  CHILD (numeric_label);
  CHILD (history_list);
  CHILD (auto_report_row);
#undef CHILD
}

static void
on_prune_inputs_requested (KanvasSessionPane *self,
                           double             threshold)
{
  g_signal_emit (self, signals[PRUNE_INPUTS_REQUESTED], 0, threshold);
}

static void
kanvas_session_pane_init (KanvasSessionPane *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->hist_pos = -1;
  /* The operations' defaults, whatever the template says. */
  gtk_spin_button_set_value (self->prune_node_spin, KAN_OPS_NODE_THRESHOLD);
  gtk_spin_button_set_value (self->prune_edge_spin, KAN_OPS_EDGE_THRESHOLD);
  gtk_spin_button_set_value (self->r2_spin, KAN_OPS_R2_THRESHOLD);
  for (guint k = 0; k < G_N_ELEMENTS (auto_lib); k++)
    {
      GtkWidget *check = gtk_check_button_new_with_label (auto_lib[k].name);
      gtk_check_button_set_active (GTK_CHECK_BUTTON (check), auto_lib[k].checked);
      gtk_flow_box_append (self->lib_flow, check);
    }
  gtk_drawing_area_set_draw_func (self->edge_plot, draw_edge_plot, self, NULL);
  g_signal_connect_swapped (self->prune_node_spin, "value-changed",
                            G_CALLBACK (on_threshold_changed), self);
  g_signal_connect_swapped (self->prune_edge_spin, "value-changed",
                            G_CALLBACK (on_threshold_changed), self);
  g_signal_connect_swapped (self->session_stack, "notify::visible-child-name",
                            G_CALLBACK (on_panel_changed), self);
  /* Which inputs matter, and a two-input classifier's decision regions. */
  self->inputs_page = KANVAS_INPUTS_PAGE (kanvas_inputs_page_new ());
  {
    GtkWidget *scroll = gtk_scrolled_window_new ();
    gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scroll), GTK_POLICY_NEVER,
                                    GTK_POLICY_AUTOMATIC);
    gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scroll), GTK_WIDGET (self->inputs_page));
    gtk_stack_add_titled (self->session_stack, scroll, "inputs", "Inputs");
  }
  g_signal_connect_swapped (self->inputs_page, "prune-inputs-requested",
                            G_CALLBACK (on_prune_inputs_requested), self);
}

/* Setters ------------------------------------------------------------------------------------ */

void
kanvas_session_pane_set_canvas (KanvasSessionPane *self,
                                KanvasCanvas      *canvas)
{
  g_return_if_fail (KANVAS_IS_SESSION_PANE (self));
  g_return_if_fail (KANVAS_IS_CANVAS (canvas));
  g_return_if_fail (self->canvas == NULL);

  /* The window may dispose of the canvas first. */
  self->canvas = canvas;
  g_object_add_weak_pointer (G_OBJECT (canvas), (gpointer *) &self->canvas);
  g_signal_connect_object (canvas, "selection-changed", G_CALLBACK (on_selection_changed), self,
                           G_CONNECT_SWAPPED);
}

void
kanvas_session_pane_set_session (KanvasSessionPane *self,
                                 const KanSession  *s,
                                 int                hist_pos)
{
  g_return_if_fail (KANVAS_IS_SESSION_PANE (self));

  self->session = s;
  self->hist_pos = hist_pos;
  kanvas_inputs_page_set_session (self->inputs_page, s);
  if (s == NULL)
    return;
  if (s->model)
    gtk_spin_button_set_value (self->refine_spin, 2 * kan_model_grid (s->model));
  refresh_formula (self);
  refresh_history (self);
  refresh_inspector (self);
}

void
kanvas_session_pane_set_running (KanvasSessionPane *self,
                                 gboolean           running)
{
  g_return_if_fail (KANVAS_IS_SESSION_PANE (self));
  self->running = running;
}

void
kanvas_session_pane_set_enabled (KanvasSessionPane *self,
                                 const char        *action,
                                 gboolean           enabled)
{
  g_return_if_fail (KANVAS_IS_SESSION_PANE (self));

  if (g_str_equal (action, "prune-inputs"))
    kanvas_inputs_page_set_prune_enabled (self->inputs_page, enabled);
  for (guint k = 0; k < G_N_ELEMENTS (pane_actions); k++)
    if (g_str_equal (action, pane_actions[k]))
      {
        g_autofree char *name = g_strconcat ("pane.", action, NULL);
        gtk_widget_action_set_enabled (GTK_WIDGET (self), name, enabled);
        return;
      }
}

void
kanvas_session_pane_set_prune_preview (KanvasSessionPane *self,
                                       const char        *text,
                                       gboolean           busy)
{
  g_return_if_fail (KANVAS_IS_SESSION_PANE (self));

  self->previewing = busy;
  adw_action_row_set_subtitle (self->prune_preview_row, text ? text : "");
  gtk_widget_set_visible (GTK_WIDGET (self->preview_spinner), busy);
  gtk_spinner_set_spinning (self->preview_spinner, busy);
}

void
kanvas_session_pane_set_auto_report (KanvasSessionPane *self,
                                     const char        *title,
                                     const char        *text)
{
  g_return_if_fail (KANVAS_IS_SESSION_PANE (self));

  gtk_widget_set_visible (GTK_WIDGET (self->auto_report_row), title != NULL);
  if (title == NULL)
    return;
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->auto_report_row), title);
  adw_action_row_set_subtitle (self->auto_report_row, text ? text : "");
}

void
kanvas_session_pane_set_library (KanvasSessionPane *self,
                                 const int         *lib,
                                 int                n_lib)
{
  g_return_if_fail (KANVAS_IS_SESSION_PANE (self));

  for (GtkWidget *c = gtk_widget_get_first_child (GTK_WIDGET (self->lib_flow)); c;
       c = gtk_widget_get_next_sibling (c))
    {
      GtkCheckButton *check = GTK_CHECK_BUTTON (gtk_flow_box_child_get_child (GTK_FLOW_BOX_CHILD (c)));
      const char *name = gtk_check_button_get_label (check);
      gboolean in = n_lib == 0;
      for (int k = 0; k < n_lib && !in; k++)
        in = g_str_equal (kan_sym_info (lib[k])->name, name);
      gtk_check_button_set_active (check, in);
    }
}

void
kanvas_session_pane_queue_draw_plot (KanvasSessionPane *self)
{
  g_return_if_fail (KANVAS_IS_SESSION_PANE (self));
  gtk_widget_queue_draw (GTK_WIDGET (self->edge_plot));
}

gboolean
kanvas_session_pane_show_panel (KanvasSessionPane *self,
                                const char        *name)
{
  g_return_val_if_fail (KANVAS_IS_SESSION_PANE (self), FALSE);

  if (gtk_stack_get_child_by_name (self->session_stack, name) == NULL)
    return FALSE;
  gtk_stack_set_visible_child_name (self->session_stack, name);
  return TRUE;
}

/* Getters ------------------------------------------------------------------------------------ */

const char *
kanvas_session_pane_get_panel (KanvasSessionPane *self)
{
  g_return_val_if_fail (KANVAS_IS_SESSION_PANE (self), NULL);
  return gtk_stack_get_visible_child_name (self->session_stack);
}

GtkStack *
kanvas_session_pane_get_stack (KanvasSessionPane *self)
{
  g_return_val_if_fail (KANVAS_IS_SESSION_PANE (self), NULL);
  return self->session_stack;
}

void
kanvas_session_pane_get_thresholds (KanvasSessionPane *self,
                                    double            *node_th,
                                    double            *edge_th)
{
  g_return_if_fail (KANVAS_IS_SESSION_PANE (self));
  *node_th = gtk_spin_button_get_value (self->prune_node_spin);
  *edge_th = gtk_spin_button_get_value (self->prune_edge_spin);
}

double
kanvas_session_pane_get_r2 (KanvasSessionPane *self)
{
  g_return_val_if_fail (KANVAS_IS_SESSION_PANE (self), NAN);
  return gtk_spin_button_get_value (self->r2_spin);
}

const KanExpr *
kanvas_session_pane_get_formula (KanvasSessionPane   *self,
                                 const char *const  **numeric)
{
  g_return_val_if_fail (KANVAS_IS_SESSION_PANE (self), NULL);
  if (numeric)
    *numeric = (const char *const *) self->numeric;
  return self->formula;
}

const char *
kanvas_session_pane_get_formula_text (KanvasSessionPane *self)
{
  g_return_val_if_fail (KANVAS_IS_SESSION_PANE (self), NULL);
  return gtk_label_get_text (self->formula_label);
}

const KanSymFit *
kanvas_session_pane_get_best_fit (KanvasSessionPane *self)
{
  g_return_val_if_fail (KANVAS_IS_SESSION_PANE (self), NULL);
  return self->fits && self->n_fits > 0 ? &self->fits[0] : NULL;
}

gboolean
kanvas_session_pane_is_previewing (KanvasSessionPane *self)
{
  g_return_val_if_fail (KANVAS_IS_SESSION_PANE (self), FALSE);
  return self->previewing;
}

KanvasInputsPage *
kanvas_session_pane_get_inputs_page (KanvasSessionPane *self)
{
  g_return_val_if_fail (KANVAS_IS_SESSION_PANE (self), NULL);
  return self->inputs_page;
}
