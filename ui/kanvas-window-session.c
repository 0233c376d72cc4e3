/* kanvas-window-session.c — the interactive session: select, prune, lock, retrain, read off.
 *
 * The right-hand pane of the window: an inspector for the selected edge or node, the
 * whole-network operations (prune by thresholds, auto-symbolic, refine, retrain), the formula of
 * the network and the history with undo. Every edit is a window action (scripts reach them
 * through the application's actions) and applies to the main thread's model, so all of them are
 * disabled while a training run holds a copy of it. Every edit appends a history entry that keeps
 * a copy of the model after it (models are small): undo, redo and clicking an entry swap that
 * copy in.
 */
#include "kanvas-window-private.h"

#include <math.h>
#include <string.h>
#include "kan-render.h"
#include "kan-file.h"

/* Suggestions shown for an edge. */
#define N_SUGGESTIONS 8
/* Snapping of the formula's constants may raise the train RMSE by this share of std(y) at
 * least (as `kanvas-cli formula`): round-off of an exact network, no more. */
#define FORMULA_SNAP_TOL 1e-9

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

/* Actions that edit the model; disabled during a run. */
static const char *const edit_actions[] = {
  "prune", "prune-node", "prune-edge", "lock", "unlock", "auto-symbolic", "refine", "undo",
  "redo", "goto-history", "lock-best", "unlock-selected", "prune-selected",
};

/* Helpers ------------------------------------------------------------------------------------- */

static KanSession *
session (KanvasWindow *self)
{
  return (KanSession *) kanvas_window_get_session (self);
}

static gboolean
ready (KanvasWindow *self)
{
  const KanSession *s = session (self);

  if (kanvas_window_is_training (self))
    {
      kanvas_window_toast (self, "Stop training first: edits apply while no run is in progress.");
      return FALSE;
    }
  if (s->model == NULL || s->data == NULL)
    {
      kanvas_window_toast (self, "There is no model to edit.");
      return FALSE;
    }
  return TRUE;
}

static void
fail (KanvasWindow *self,
      const char   *what,
      const GError *error)
{
  /* The toast for the user, the log for scripts. */
  g_message ("%s: %s", what, error->message);
  kanvas_window_toast (self, "%s", error->message);
}

/* Parses "a,b[,c]" (N integers) from TEXT. */
static gboolean
parse_ints (const char *text,
            int        *out,
            int         n_min,
            int         n_max,
            int        *n_out,
            GError    **error)
{
  g_auto (GStrv) parts = g_strsplit (text, ",", -1);
  int n = (int) g_strv_length (parts);

  if (n < n_min || n > n_max)
    goto bad;
  for (int k = 0; k < n; k++)
    {
      gint64 v;
      if (!g_ascii_string_to_signed (g_strstrip (parts[k]), 10, 0, 10000, &v, NULL))
        goto bad;
      out[k] = (int) v;
    }
  *n_out = n;
  return TRUE;

bad:
  g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID, "'%s': expected %s", text,
               n_max == 2 ? "l,i" : n_min == 2 ? "l,i,j or l,i" : "l,i,j");
  return FALSE;
}

static gboolean
check_edge (const KanModel *m,
            int             l,
            int             i,
            int             j,
            GError        **error)
{
  if (l < 0 || l >= kan_model_depth (m) || i >= kan_model_layer_in (m, l)
      || j >= kan_model_layer_out (m, l))
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID, "There is no edge (%d,%d,%d) in this "
                   "network.", l, i, j);
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_node (const KanModel *m,
            int             l,
            int             i,
            GError        **error)
{
  const KanShape *sh = kan_model_shape (m);

  if (l < 0 || l >= sh->n_layers || i >= kan_shape_nodes (sh, l))
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID, "There is no node (%d,%d) in this "
                   "network.", l, i);
      return FALSE;
    }
  return TRUE;
}

/* History ------------------------------------------------------------------------------------- */

static KanHistoryEntry *
entry (KanvasWindow *self,
       int           k)
{
  GPtrArray *h = session (self)->history;

  return k >= 0 && k < (int) h->len ? g_ptr_array_index (h, k) : NULL;
}

void
kanvas_window_record (KanvasWindow *self,
                      const char   *op,
                      const char   *detail)
{
  KanSession *s = session (self);
  KanHistoryEntry *e;
  double tr, te;

  /* A new operation after undo forgets the undone ones, as editors do. */
  if (self->hist_pos >= 0 && self->hist_pos + 1 < (int) s->history->len)
    g_ptr_array_set_size (s->history, self->hist_pos + 1);
  kanvas_window_model_rmse (self, &tr, &te);
  kan_session_add_history (s, op, detail, tr, te);
  e = g_ptr_array_index (s->history, s->history->len - 1);
  e->model = s->model ? kan_model_copy (s->model) : NULL;
  self->hist_pos = (int) s->history->len - 1;
  g_message ("%s %s: train %.6g, test %.6g", op, detail ? detail : "", tr, te);
}

void
kanvas_window_session_reset (KanvasWindow *self)
{
  KanSession *s = session (self);
  KanHistoryEntry *last = entry (self, (int) s->history->len - 1);

  if (last && last->model == NULL && s->model)
    last->model = kan_model_copy (s->model);
  self->hist_pos = last ? (int) s->history->len - 1 : -1;
  kanvas_window_session_refresh (self);
}

static gboolean
go_to (KanvasWindow *self,
       int           k,
       GError      **error)
{
  KanHistoryEntry *e = entry (self, k);
  KanSession *s = session (self);

  if (e == NULL || e->model == NULL)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID, e ? "History entry %d has no stored "
                   "model (sessions saved before undo states were kept)" :
                   "There is no history entry %d.", k + 1);
      return FALSE;
    }
  kan_model_free (s->model);
  s->model = kan_model_copy (e->model);
  self->hist_pos = k;
  kanvas_window_model_changed (self);
  return TRUE;
}

static void
undo_action (GSimpleAction *action,
             GVariant      *param,
             gpointer       user_data)
{
  KanvasWindow *self = user_data;
  g_autoptr (GError) error = NULL;

  if (ready (self) && !go_to (self, self->hist_pos - 1, &error))
    fail (self, "undo", error);
}

static void
redo_action (GSimpleAction *action,
             GVariant      *param,
             gpointer       user_data)
{
  KanvasWindow *self = user_data;
  g_autoptr (GError) error = NULL;

  if (ready (self) && !go_to (self, self->hist_pos + 1, &error))
    fail (self, "redo", error);
}

static void
goto_history_action (GSimpleAction *action,
                     GVariant      *param,
                     gpointer       user_data)
{
  KanvasWindow *self = user_data;
  g_autoptr (GError) error = NULL;

  if (ready (self) && !go_to (self, g_variant_get_int32 (param), &error))
    fail (self, "goto-history", error);
}

static void
refresh_history (KanvasWindow *self)
{
  GPtrArray *h = session (self)->history;
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->history_list))))
    gtk_list_box_remove (self->history_list, child);
  for (guint k = 0; k < h->len; k++)
    {
      const KanHistoryEntry *e = g_ptr_array_index (h, k);
      GtkWidget *row = adw_action_row_new ();
      g_autofree char *title = g_strdup_printf ("%u. %s", k + 1, e->op);
      g_autofree char *rmse = isnan (e->train_rmse) ? g_strdup ("")
                              : g_strdup_printf ("train %.3g · test %.3g", e->train_rmse,
                                                 e->test_rmse);
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
          gtk_actionable_set_action_name (GTK_ACTIONABLE (row), "win.goto-history");
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

static const KanExprStyle *
style_named (const char *name)
{
  static const KanExprStyle styles[] = { KAN_EXPR_STYLE_TEXT, KAN_EXPR_STYLE_LATEX,
                                         KAN_EXPR_STYLE_SYMPY, KAN_EXPR_STYLE_C,
                                         KAN_EXPR_STYLE_PYTHON };
  static const char *const names[] = { "text", "latex", "sympy", "c", "python" };

  for (guint k = 0; k < G_N_ELEMENTS (names); k++)
    if (g_str_equal (name, names[k]))
      return &styles[k];
  return NULL;
}

static void
refresh_formula (KanvasWindow *self)
{
  const KanSession *s = session (self);
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
  self->formula = kan_discover_formula (s->model, s->data, TRUE, FORMULA_SNAP_TOL,
                                        &self->numeric, &error);
  gtk_widget_set_sensitive (self->copy_box, self->formula != NULL);
  if (self->formula)
    {
      g_autofree char *text = kan_expr_to_string (self->formula,
                                                  (const char *const *) s->data->in_names,
                                                  KAN_EXPR_STYLE_TEXT);
      g_autofree char *rmse = g_strdup_printf ("Test RMSE %.3g · train RMSE %.3g (of the formula "
                                               "as printed, on the session's data)",
                                               kan_discover_rmse (self->formula, s->data, TRUE),
                                               kan_discover_rmse (self->formula, s->data, FALSE));
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

/* The formula in STYLE, or NULL with ERROR set. */
static char *
formula_text (KanvasWindow *self,
              KanExprStyle  style,
              GError      **error)
{
  const KanSession *s = session (self);

  if (self->formula == NULL)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID, self->numeric && self->numeric[0]
                   ? "No formula yet: %u edges are still splines." : "No formula.",
                   self->numeric ? g_strv_length (self->numeric) : 0);
      return NULL;
    }
  return kan_expr_to_string (self->formula, (const char *const *) s->data->in_names, style);
}

static void
copy_formula_action (GSimpleAction *action,
                     GVariant      *param,
                     gpointer       user_data)
{
  KanvasWindow *self = user_data;
  const KanExprStyle *style = style_named (g_variant_get_string (param, NULL));
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;

  if (style == NULL)
    {
      kanvas_window_toast (self, "Unknown style '%s' (text, latex, sympy, c, python)",
                           g_variant_get_string (param, NULL));
      return;
    }
  text = formula_text (self, *style, &error);
  if (text == NULL)
    {
      fail (self, "copy-formula", error);
      return;
    }
  gdk_clipboard_set_text (gtk_widget_get_clipboard (GTK_WIDGET (self)), text);
  kanvas_window_toast (self, "Copied the formula (%s)", g_variant_get_string (param, NULL));
}

/* Writes the formula to PATH: SymPy, or LaTeX (.tex), text (.txt) or a C function (.c, .h). */
static gboolean
export_formula (KanvasWindow *self,
                const char   *path,
                GError      **error)
{
  const KanSession *s = session (self);
  g_autofree char *lower = g_ascii_strdown (path, -1);
  g_autofree char *body = NULL;
  g_autofree char *doc = NULL;
  KanExprStyle style = KAN_EXPR_STYLE_SYMPY;
  gboolean c = FALSE;

  if (g_str_has_suffix (lower, ".tex"))
    style = KAN_EXPR_STYLE_LATEX;
  else if (g_str_has_suffix (lower, ".txt"))
    style = KAN_EXPR_STYLE_TEXT;
  else if (g_str_has_suffix (lower, ".c") || g_str_has_suffix (lower, ".h"))
    {
      style = KAN_EXPR_STYLE_C;
      c = TRUE;
    }
  body = formula_text (self, style, error);
  if (body == NULL)
    return FALSE;
  if (c)
    {
      GString *args = g_string_new (NULL);
      for (int v = 0; v < s->data->n_in; v++)
        {
          /* The parameters are named as the C expression names them (int → int_). */
          g_autofree char *cname = kan_expr_style_name (s->data->in_names[v], KAN_EXPR_STYLE_C);
          g_string_append_printf (args, "%sdouble %s", v ? ", " : "", cname);
        }
      doc = g_strdup_printf ("#include <math.h>\n\n/* %s, read off a KAN by Kanvas. */\n"
                             "double\nkan_formula (%s)\n{\n  return %s;\n}\n",
                             s->data->out_names[0], args->str, body);
      g_string_free (args, TRUE);
    }
  else
    doc = g_strdup_printf ("%s\n", body);
  if (!kan_file_replace (path, doc, strlen (doc), error))
    return FALSE;
  g_message ("exported the formula to %s", path);
  return TRUE;
}

static void
export_formula_action (GSimpleAction *action,
                       GVariant      *param,
                       gpointer       user_data)
{
  KanvasWindow *self = user_data;
  g_autoptr (GError) error = NULL;

  if (!export_formula (self, g_variant_get_string (param, NULL), &error))
    fail (self, "export-formula", error);
  else
    kanvas_window_toast (self, "Exported the formula to %s", g_variant_get_string (param, NULL));
}

/* Inspector ----------------------------------------------------------------------------------- */

static void
draw_edge_plot (GtkDrawingArea *area,
                cairo_t        *cr,
                int             width,
                int             height,
                gpointer        user_data)
{
  KanvasWindow *self = user_data;
  KanvasCanvas *canvas = kanvas_window_get_canvas (self);
  const KanSnapshot *snap = kanvas_canvas_get_snapshot (canvas);
  KanRenderStyle st = *kanvas_canvas_get_style (canvas);
  int l, i, j;

  kanvas_canvas_get_selection (canvas, &l, &i, &j);
  if (snap == NULL || j < 0 || kan_snapshot_edge (snap, l, i, j) == NULL)
    return;
  st.transparent = TRUE;
  kan_render_edge_plot (cr, snap, l, i, j, &st, width, height);
}

static const char *
mode_text (KanEdgeMode mode)
{
  switch (mode)
    {
    case KAN_EDGE_OFF:
      return "pruned";
    case KAN_EDGE_NUMERIC:
      return "spline";
    case KAN_EDGE_SYMBOLIC:
      return "symbolic";
    case KAN_EDGE_BOTH:
      return "spline + symbolic";
    default:
      return "?";
    }
}

static void
clear_suggestions (KanvasWindow *self)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->suggest_list))))
    gtk_list_box_remove (self->suggest_list, child);
  g_clear_pointer (&self->fits, g_free);
  self->n_fits = 0;
}

static void
fill_suggestions (KanvasWindow *self,
                  int           l,
                  int           i,
                  int           j)
{
  const KanSession *s = session (self);
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
      g_autofree char *target = g_strdup_printf ("%d,%d,%d,%s", l, i, j, name);
      GtkWidget *row = adw_action_row_new ();
      GtkWidget *lock = gtk_button_new_with_label ("Lock");

      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
      gtk_widget_set_valign (lock, GTK_ALIGN_CENTER);
      gtk_actionable_set_action_name (GTK_ACTIONABLE (lock), "win.lock");
      gtk_actionable_set_action_target (GTK_ACTIONABLE (lock), "s", target);
      gtk_widget_set_tooltip_text (lock, "Lock the edge to this function");
      if (q == 0)
        gtk_widget_add_css_class (lock, "suggested-action");
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), lock);
      gtk_list_box_append (self->suggest_list, row);
    }
}

static void
refresh_inspector (KanvasWindow *self)
{
  KanvasCanvas *canvas = kanvas_window_get_canvas (self);
  const KanSnapshot *snap = kanvas_canvas_get_snapshot (canvas);
  const KanSession *s = session (self);
  int l, i, j;

  clear_suggestions (self);
  kanvas_canvas_get_selection (canvas, &l, &i, &j);
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
      sub = g_strdup_printf ("%s%s%s · score %.4g · input range [%.3g, %.3g]", mode_text (e->mode),
                             locked ? ": " : "", locked ? form : "", e->score, e->x_min, e->x_max);
      gtk_label_set_text (self->inspect_title, title);
      gtk_label_set_text (self->inspect_subtitle, sub);
      gtk_widget_set_visible (self->edge_box, TRUE);
      gtk_widget_set_visible (self->unlock_button, locked);
      gtk_widget_queue_draw (GTK_WIDGET (self->edge_plot));
      if (e->mode != KAN_EDGE_OFF && !kanvas_window_is_training (self) && s->model && s->data)
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
on_selection_changed (KanvasWindow *self)
{
  int l;

  kanvas_canvas_get_selection (kanvas_window_get_canvas (self), &l, NULL, NULL);
  refresh_inspector (self);
  kanvas_window_session_update (self);
  if (l >= 0)
    gtk_stack_set_visible_child_name (self->session_stack, "inspect");
}

static void
select_action (GSimpleAction *action,
               GVariant      *param,
               gpointer       user_data)
{
  KanvasWindow *self = user_data;
  const KanSession *s = session (self);
  g_autoptr (GError) error = NULL;
  int v[3] = { -1, -1, -1 }, n;

  if (s->model == NULL)
    return;
  if (!parse_ints (g_variant_get_string (param, NULL), v, 2, 3, &n, &error)
      || (n == 3 && !check_edge (s->model, v[0], v[1], v[2], &error))
      || (n == 2 && !check_node (s->model, v[0], v[1], &error)))
    {
      fail (self, "select", error);
      return;
    }
  kanvas_canvas_set_selection (kanvas_window_get_canvas (self), v[0], v[1], n == 3 ? v[2] : -1);
}

static void
show_panel_action (GSimpleAction *action,
                   GVariant      *param,
                   gpointer       user_data)
{
  KanvasWindow *self = user_data;
  const char *name = g_variant_get_string (param, NULL);

  if (gtk_stack_get_child_by_name (self->session_stack, name))
    gtk_stack_set_visible_child_name (self->session_stack, name);
  else
    kanvas_window_toast (self, "No panel '%s' (inspect, network, formula, history)", name);
}

/* Edits ------------------------------------------------------------------------------------- */

static gboolean
lock_edge (KanvasWindow *self,
           int           l,
           int           i,
           int           j,
           const char   *name,
           GError      **error)
{
  KanSession *s = session (self);
  g_autofree char *detail = NULL;
  KanSymFit fit;

  if (!check_edge (s->model, l, i, j, error))
    return FALSE;
  if (kan_sym_lookup (name) < 0)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID, "'%s' is not a library function", name);
      return FALSE;
    }
  if (!kan_model_lock (s->model, s->data->train_x, s->data->n_train, l, i, j, name, NULL, &fit,
                       error))
    return FALSE;
  detail = g_strdup_printf ("(%d,%d,%d) %s r2=%.6f", l, i, j, name, fit.r2);
  kanvas_window_record (self, "lock", detail);
  kanvas_window_model_changed (self);
  return TRUE;
}

static void
lock_action (GSimpleAction *action,
             GVariant      *param,
             gpointer       user_data)
{
  KanvasWindow *self = user_data;
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) parts = NULL;
  const char *text = g_variant_get_string (param, NULL);
  const char *comma;
  int v[3], n;

  if (!ready (self))
    return;
  /* "l,i,j,name": the name may hold commas of its own only after the third one. */
  comma = text;
  for (int k = 0; k < 3 && comma; k++)
    comma = strchr (comma + (k ? 1 : 0), ',');
  if (comma == NULL)
    {
      g_set_error (&error, KAN_ERROR, KAN_ERROR_INVALID, "'%s': expected l,i,j,name", text);
      fail (self, "lock", error);
      return;
    }
  {
    g_autofree char *head = g_strndup (text, comma - text);
    if (!parse_ints (head, v, 3, 3, &n, &error)
        || !lock_edge (self, v[0], v[1], v[2], g_strstrip ((char *) comma + 1), &error))
      fail (self, "lock", error);
  }
}

static void
unlock_edge (KanvasWindow *self,
             const char   *text)
{
  KanSession *s = session (self);
  g_autoptr (GError) error = NULL;
  g_autofree char *detail = NULL;
  int v[3], n;

  if (!parse_ints (text, v, 3, 3, &n, &error) || !check_edge (s->model, v[0], v[1], v[2], &error))
    {
      fail (self, "unlock", error);
      return;
    }
  kan_model_unlock (s->model, v[0], v[1], v[2]);
  detail = g_strdup_printf ("(%d,%d,%d)", v[0], v[1], v[2]);
  kanvas_window_record (self, "unlock", detail);
  kanvas_window_model_changed (self);
}

static void
unlock_action (GSimpleAction *action,
               GVariant      *param,
               gpointer       user_data)
{
  if (ready (user_data))
    unlock_edge (user_data, g_variant_get_string (param, NULL));
}

/* The new model without hidden node (l,i); the other nodes stay. */
static gboolean
prune_node (KanvasWindow *self,
            int           l,
            int           i,
            GError      **error)
{
  KanSession *s = session (self);
  const KanShape *sh;
  g_autoptr (KanScores) sc = NULL;
  g_autofree char *detail = NULL;
  g_autoptr (GPtrArray) keep = g_ptr_array_new_with_free_func (g_free);
  KanModel *m;
  int depth;

  if (!check_node (s->model, l, i, error))
    return FALSE;
  sh = kan_model_shape (s->model);
  depth = kan_model_depth (s->model);
  if (l == 0 || l == depth)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID, "Node (%d,%d) is an %s node; only "
                   "hidden nodes can be pruned.", l, i, l == 0 ? "input" : "output");
      return FALSE;
    }
  if (kan_shape_nodes (sh, l) == 1)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID, "Node (%d,%d) is the last of its layer.",
                   l, i);
      return FALSE;
    }
  sc = kan_scores_compute (s->model, s->data->train_x, s->data->n_train, error);
  if (sc == NULL)
    return FALSE;
  for (int layer = 1; layer < depth; layer++)
    {
      int n = kan_shape_nodes (sh, layer), k = 0;
      int *list = g_new (int, n + 1);
      for (int node = 0; node < n; node++)
        if (layer != l || node != i)
          list[k++] = node;
      list[k] = -1;
      g_ptr_array_add (keep, list);
    }
  m = kan_model_prune_nodes (s->model, sc, 0, (const int *const *) keep->pdata, error);
  if (m == NULL)
    return FALSE;
  kan_model_free (s->model);
  s->model = m;
  detail = g_strdup_printf ("node (%d,%d)", l, i);
  kanvas_window_record (self, "prune", detail);
  kanvas_window_model_changed (self);
  return TRUE;
}

static void
prune_node_action (GSimpleAction *action,
                   GVariant      *param,
                   gpointer       user_data)
{
  KanvasWindow *self = user_data;
  g_autoptr (GError) error = NULL;
  int v[2], n;

  if (!ready (self))
    return;
  if (!parse_ints (g_variant_get_string (param, NULL), v, 2, 2, &n, &error)
      || !prune_node (self, v[0], v[1], &error))
    fail (self, "prune-node", error);
}

static void
prune_edge_action (GSimpleAction *action,
                   GVariant      *param,
                   gpointer       user_data)
{
  KanvasWindow *self = user_data;
  KanSession *s;
  g_autoptr (GError) error = NULL;
  g_autofree char *detail = NULL;
  int v[3], n;

  if (!ready (self))
    return;
  s = session (self);
  if (!parse_ints (g_variant_get_string (param, NULL), v, 3, 3, &n, &error)
      || !check_edge (s->model, v[0], v[1], v[2], &error))
    {
      fail (self, "prune-edge", error);
      return;
    }
  kan_model_set_edge (s->model, v[0], v[1], v[2], KAN_EDGE_OFF, -1, NULL);
  detail = g_strdup_printf ("edge (%d,%d,%d)", v[0], v[1], v[2]);
  kanvas_window_record (self, "prune", detail);
  kanvas_window_model_changed (self);
}

/* What pruning at the panel's thresholds would remove: a text for the preview, and the new
 * model if M_OUT is not NULL. */
static char *
prune_plan (KanvasWindow  *self,
            KanModel     **m_out,
            GError       **error)
{
  const KanSession *s = session (self);
  double node_th = gtk_spin_button_get_value (self->prune_node_spin);
  double edge_th = gtk_spin_button_get_value (self->prune_edge_spin);
  g_autoptr (KanScores) sc = NULL;
  g_autoptr (KanScores) sc2 = NULL;
  g_autoptr (KanModel) m = NULL;
  g_autoptr (GString) nodes = g_string_new (NULL);
  g_autoptr (GString) edges = g_string_new (NULL);
  g_autofree char *w0 = NULL, *w1 = NULL;
  int n_nodes = 0, n_edges = 0, depth = kan_model_depth (s->model);

  /* The same steps as kan_model_prune: nodes by the scores of the model, then edges by the
   * scores of the pruned one (numbered in it). */
  sc = kan_scores_compute (s->model, s->data->train_x, s->data->n_train, error);
  if (sc == NULL)
    return NULL;
  for (int l = 1; l < depth; l++)
    {
      const double *ns = kan_scores_node (sc, l);
      for (int i = 0; i < kan_scores_width (sc, l); i++)
        if (ns[i] <= node_th)
          {
            g_string_append_printf (nodes, "%s(%d,%d)", n_nodes ? " " : "", l, i);
            n_nodes++;
          }
    }
  m = kan_model_prune_nodes (s->model, sc, node_th, NULL, error);
  if (m == NULL)
    return NULL;
  sc2 = kan_scores_compute (m, s->data->train_x, s->data->n_train, error);
  if (sc2 == NULL)
    return NULL;
  for (int l = 0; l < kan_model_depth (m); l++)
    {
      const double *es = kan_scores_edge (sc2, l);
      int out = kan_model_layer_out (m, l);
      for (int i = 0; i < kan_model_layer_in (m, l); i++)
        for (int j = 0; j < out; j++)
          if (kan_model_edge_mode (m, l, i, j) != KAN_EDGE_OFF && es[i * out + j] <= edge_th)
            {
              g_string_append_printf (edges, "%s(%d,%d,%d)", n_edges ? " " : "", l, i, j);
              n_edges++;
            }
    }
  if (m_out)
    {
      kan_model_prune_edges (m, sc2, edge_th);
      *m_out = g_steal_pointer (&m);
      return g_strdup ("");
    }
  w0 = kan_shape_to_string (kan_model_shape (s->model));
  w1 = kan_shape_to_string (kan_model_shape (m));
  return g_strdup_printf ("%d node%s%s%s%s, then %d edge%s%s%s%s · width %s → %s", n_nodes,
                          n_nodes == 1 ? "" : "s", n_nodes ? " (" : "", nodes->str,
                          n_nodes ? ")" : "", n_edges, n_edges == 1 ? "" : "s",
                          n_edges ? " (" : "", edges->str, n_edges ? ", in the new numbering)" : "",
                          w0, w1);
}

static void
refresh_prune_preview (KanvasWindow *self)
{
  const KanSession *s = session (self);
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;

  if (s->model == NULL || s->data == NULL || kanvas_window_is_training (self))
    text = g_strdup (s->model ? "(while training: see the scores when it stops)" : "");
  else
    text = prune_plan (self, NULL, &error);
  adw_action_row_set_subtitle (self->prune_preview_row,
                               text ? text : error ? error->message : "");
}

static void
prune_action (GSimpleAction *action,
              GVariant      *param,
              gpointer       user_data)
{
  KanvasWindow *self = user_data;
  KanSession *s;
  g_autoptr (GError) error = NULL;
  g_autofree char *detail = NULL;
  g_autofree char *w0 = NULL, *w1 = NULL;
  g_autofree char *ignored = NULL;
  KanModel *m = NULL;

  if (!ready (self))
    return;
  s = session (self);
  ignored = prune_plan (self, &m, &error);
  if (ignored == NULL)
    {
      fail (self, "prune", error);
      return;
    }
  w0 = kan_shape_to_string (kan_model_shape (s->model));
  w1 = kan_shape_to_string (kan_model_shape (m));
  kan_model_free (s->model);
  s->model = m;
  detail = g_strdup_printf ("node_th=%g edge_th=%g width=%s->%s",
                            gtk_spin_button_get_value (self->prune_node_spin),
                            gtk_spin_button_get_value (self->prune_edge_spin), w0, w1);
  kanvas_window_record (self, "prune", detail);
  kanvas_window_model_changed (self);
}

static void
auto_symbolic_action (GSimpleAction *action,
                      GVariant      *param,
                      gpointer       user_data)
{
  KanvasWindow *self = user_data;
  KanSession *s;
  g_autoptr (GError) error = NULL;
  g_autoptr (GString) log = g_string_new (NULL);
  g_autofree int *lib = NULL;
  g_autofree char *detail = NULL;
  const char *names = g_variant_get_string (param, NULL);
  double r2 = gtk_spin_button_get_value (self->r2_spin);
  int n_lib = 0, locked;

  if (!ready (self))
    return;
  s = session (self);
  if (*names && (lib = kan_sym_parse_lib (names, &n_lib, &error)) == NULL)
    {
      fail (self, "auto-symbolic", error);
      return;
    }
  /* The panel shows the library used. */
  for (GtkWidget *c = gtk_widget_get_first_child (GTK_WIDGET (self->lib_flow)); c;
       c = gtk_widget_get_next_sibling (c))
    {
      GtkCheckButton *check = GTK_CHECK_BUTTON (gtk_flow_box_child_get_child (GTK_FLOW_BOX_CHILD (c)));
      const char *name = gtk_check_button_get_label (check);
      gboolean in = *names == '\0';
      for (int k = 0; k < n_lib && !in; k++)
        in = g_str_equal (kan_sym_info (lib[k])->name, name);
      gtk_check_button_set_active (check, in);
    }
  locked = kan_model_auto_symbolic (s->model, s->data->train_x, s->data->n_train, lib, n_lib, r2,
                                    NULL, log, &error);
  if (locked < 0)
    {
      fail (self, "auto-symbolic", error);
      return;
    }
  g_message ("auto-symbolic:\n%s", log->str);
  detail = g_strdup_printf ("lib=%s r2=%g locked=%d", *names ? names : "all", r2, locked);
  kanvas_window_record (self, "symbolic", detail);
  kanvas_window_model_changed (self);
  kanvas_window_toast (self, "Locked %d edge%s", locked, locked == 1 ? "" : "s");
}

static void
on_auto_clicked (KanvasWindow *self)
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
    {
      kanvas_window_toast (self, "Check at least one function of the library.");
      return;
    }
  g_action_group_activate_action (G_ACTION_GROUP (self), "auto-symbolic",
                                  g_variant_new_string (names->str));
}

static void
refine_action (GSimpleAction *action,
               GVariant      *param,
               gpointer       user_data)
{
  KanvasWindow *self = user_data;
  KanSession *s;
  g_autoptr (GError) error = NULL;
  g_autofree char *detail = NULL;
  int g = g_variant_get_int32 (param), g0;
  KanModel *m;

  if (!ready (self))
    return;
  s = session (self);
  g0 = kan_model_grid (s->model);
  m = kan_model_refine (s->model, g, s->data->train_x, s->data->n_train, &error);
  if (m == NULL)
    {
      fail (self, "refine", error);
      return;
    }
  kan_model_free (s->model);
  s->model = m;
  detail = g_strdup_printf ("grid %d->%d", g0, g);
  kanvas_window_record (self, "refine", detail);
  kanvas_window_model_changed (self);
}

static void
on_refine_clicked (KanvasWindow *self)
{
  g_action_group_activate_action (G_ACTION_GROUP (self), "refine",
                                  g_variant_new_int32 (gtk_spin_button_get_value_as_int (self->refine_spin)));
}

/* Actions on the selection (the context menu and the inspector's buttons). */

static void
lock_best_action (GSimpleAction *action,
                  GVariant      *param,
                  gpointer       user_data)
{
  KanvasWindow *self = user_data;
  g_autoptr (GError) error = NULL;
  int l, i, j;

  kanvas_canvas_get_selection (kanvas_window_get_canvas (self), &l, &i, &j);
  if (!ready (self) || j < 0)
    return;
  if (self->fits == NULL || self->n_fits == 0)
    {
      kanvas_window_toast (self, "No suggestion for this edge.");
      return;
    }
  if (!lock_edge (self, l, i, j, kan_sym_info (self->fits[0].sym_id)->name, &error))
    fail (self, "lock", error);
}

static void
unlock_selected_action (GSimpleAction *action,
                        GVariant      *param,
                        gpointer       user_data)
{
  KanvasWindow *self = user_data;
  g_autofree char *text = NULL;
  int l, i, j;

  kanvas_canvas_get_selection (kanvas_window_get_canvas (self), &l, &i, &j);
  if (!ready (self) || j < 0)
    return;
  text = g_strdup_printf ("%d,%d,%d", l, i, j);
  unlock_edge (self, text);
}

static void
prune_selected_action (GSimpleAction *action,
                       GVariant      *param,
                       gpointer       user_data)
{
  KanvasWindow *self = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;
  int l, i, j;

  kanvas_canvas_get_selection (kanvas_window_get_canvas (self), &l, &i, &j);
  if (!ready (self) || l < 0)
    return;
  if (j >= 0)
    {
      text = g_strdup_printf ("%d,%d,%d", l, i, j);
      g_action_group_activate_action (G_ACTION_GROUP (self), "prune-edge",
                                      g_variant_new_string (text));
    }
  else if (!prune_node (self, l, i, &error))
    fail (self, "prune-node", error);
}

/* Exports ---------------------------------------------------------------------------------- */

static gboolean
export_edge_plot (KanvasWindow *self,
                  const char   *path,
                  GError      **error)
{
  KanvasCanvas *canvas = kanvas_window_get_canvas (self);
  const KanSnapshot *snap = kanvas_canvas_get_snapshot (canvas);
  KanRenderStyle st;
  int l, i, j;

  kanvas_canvas_get_selection (canvas, &l, &i, &j);
  if (snap == NULL || j < 0)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID, "Select an edge first.");
      return FALSE;
    }
  /* Figures are for papers: the light style. */
  kan_render_style_init (&st);
  if (!kan_render_edge_to_file (snap, l, i, j, &st, path, 640, 420, error))
    return FALSE;
  g_message ("exported %s", path);
  return TRUE;
}

static void
export_edge_plot_action (GSimpleAction *action,
                         GVariant      *param,
                         gpointer       user_data)
{
  KanvasWindow *self = user_data;
  g_autoptr (GError) error = NULL;

  if (!export_edge_plot (self, g_variant_get_string (param, NULL), &error))
    fail (self, "export-edge-plot", error);
  else
    kanvas_window_toast (self, "Exported the plot to %s", g_variant_get_string (param, NULL));
}

typedef gboolean (*ExportFunc) (KanvasWindow *self, const char *path, GError **error);

static void
on_export_response (GtkNativeDialog *dialog,
                    int              response,
                    KanvasWindow    *self)
{
  ExportFunc func = g_object_get_data (G_OBJECT (dialog), "kanvas-export");

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = file ? g_file_get_path (file) : NULL;
      g_autoptr (GError) error = NULL;
      if (path && !func (self, path, &error))
        kanvas_window_toast (self, "%s", error->message);
      else if (path)
        kanvas_window_toast (self, "Exported %s", path);
    }
  gtk_native_dialog_destroy (dialog);
  g_object_unref (dialog);
}

static void
run_export (KanvasWindow *self,
            const char   *title,
            const char   *suggested,
            ExportFunc    func)
{
  GtkFileChooserNative *chooser =
    gtk_file_chooser_native_new (title, GTK_WINDOW (self), GTK_FILE_CHOOSER_ACTION_SAVE,
                                 "_Export", "_Cancel");

  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), suggested);
  g_object_set_data (G_OBJECT (chooser), "kanvas-export", func);
  g_signal_connect (chooser, "response", G_CALLBACK (on_export_response), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

static void
export_formula_dialog_action (GSimpleAction *action,
                              GVariant      *param,
                              gpointer       user_data)
{
  run_export (user_data, "Export Formula", "formula.py", export_formula);
}

static void
export_edge_plot_dialog_action (GSimpleAction *action,
                                GVariant      *param,
                                gpointer       user_data)
{
  run_export (user_data, "Export Edge Plot", "edge.png", export_edge_plot);
}

/* Training settings from scripts ------------------------------------------------------------ */

/* "opt=lm,steps=50,lr=1,lamb=0.01": sets the Training panel. */
static void
configure_action (GSimpleAction *action,
                  GVariant      *param,
                  gpointer       user_data)
{
  KanvasWindow *self = user_data;
  g_auto (GStrv) items = g_strsplit (g_variant_get_string (param, NULL), ",", -1);

  for (char **it = items; *it; it++)
    {
      g_auto (GStrv) kv = g_strsplit (*it, "=", 2);
      char *end = NULL;
      double v;

      if (kv[0] == NULL || kv[1] == NULL)
        goto bad;
      g_strstrip (kv[0]);
      g_strstrip (kv[1]);
      if (g_str_equal (kv[0], "opt"))
        {
          KanOptimizer opt;
          if (!kan_optimizer_lookup (kv[1], &opt))
            goto bad;
          adw_combo_row_set_selected (self->optimizer_row, opt);
          continue;
        }
      v = g_ascii_strtod (kv[1], &end);
      if (end == kv[1] || *end != '\0' || !isfinite (v))
        goto bad;
      if (g_str_equal (kv[0], "steps"))
        gtk_spin_button_set_value (self->steps_spin, v);
      else if (g_str_equal (kv[0], "lr"))
        gtk_spin_button_set_value (self->lr_spin, v);
      else if (g_str_equal (kv[0], "lamb"))
        gtk_spin_button_set_value (self->lamb_spin, v);
      else if (g_str_equal (kv[0], "grid-updates"))
        adw_expander_row_set_enable_expansion (self->grid_update_row, v > 0);
      else
        goto bad;
      continue;
    bad:
      kanvas_window_toast (self, "configure: cannot use '%s' (opt=lbfgs|adam|lm, steps=N, lr=X, "
                           "lamb=X, grid-updates=0|1)", *it);
      g_message ("configure: cannot use '%s'", *it);
      return;
    }
}

/* Object ------------------------------------------------------------------------------------ */

static const GActionEntry session_entries[] = {
  { "select", select_action, "s" },
  { "show-panel", show_panel_action, "s" },
  { "prune", prune_action },
  { "prune-node", prune_node_action, "s" },
  { "prune-edge", prune_edge_action, "s" },
  { "lock", lock_action, "s" },
  { "unlock", unlock_action, "s" },
  { "auto-symbolic", auto_symbolic_action, "s" },
  { "refine", refine_action, "i" },
  { "undo", undo_action },
  { "redo", redo_action },
  { "goto-history", goto_history_action, "i" },
  { "lock-best", lock_best_action },
  { "unlock-selected", unlock_selected_action },
  { "prune-selected", prune_selected_action },
  { "copy-formula", copy_formula_action, "s" },
  { "export-formula", export_formula_action, "s" },
  { "export-edge-plot", export_edge_plot_action, "s" },
  { "export-formula-dialog", export_formula_dialog_action },
  { "export-edge-plot-dialog", export_edge_plot_dialog_action },
  { "configure", configure_action, "s" },
};

static void
set_enabled (KanvasWindow *self,
             const char   *name,
             gboolean      on)
{
  GAction *a = g_action_map_lookup_action (G_ACTION_MAP (self), name);

  if (a)
    g_simple_action_set_enabled (G_SIMPLE_ACTION (a), on);
}

void
kanvas_window_session_update (KanvasWindow *self)
{
  const KanSession *s = session (self);
  gboolean idle = !kanvas_window_is_training (self) && s && s->model && s->data;
  const KanHistoryEntry *prev, *next;
  int l = -1, i = -1, j = -1;
  KanEdgeMode mode = KAN_EDGE_OFF;

  if (s == NULL)
    return;
  kanvas_canvas_get_selection (kanvas_window_get_canvas (self), &l, &i, &j);
  if (j >= 0 && s->model && l < kan_model_depth (s->model) && i < kan_model_layer_in (s->model, l)
      && j < kan_model_layer_out (s->model, l))
    mode = kan_model_edge_mode (s->model, l, i, j);
  prev = entry (self, self->hist_pos - 1);
  next = entry (self, self->hist_pos + 1);
  for (guint k = 0; k < G_N_ELEMENTS (edit_actions); k++)
    set_enabled (self, edit_actions[k], idle);
  set_enabled (self, "undo", idle && prev && prev->model);
  set_enabled (self, "redo", idle && next && next->model);
  set_enabled (self, "lock-best", idle && j >= 0 && mode != KAN_EDGE_OFF);
  set_enabled (self, "unlock-selected", idle && (mode == KAN_EDGE_SYMBOLIC || mode == KAN_EDGE_BOTH));
  set_enabled (self, "prune-selected", idle && l >= 0 && (j >= 0 ? mode != KAN_EDGE_OFF
                                                           : l > 0 && s->model
                                                             && l < kan_model_depth (s->model)));
  gtk_widget_set_sensitive (GTK_WIDGET (self->auto_button), idle);
  gtk_widget_set_sensitive (GTK_WIDGET (self->refine_button), idle);
  /* Step training stays live in the inspector's plot. */
  gtk_widget_queue_draw (GTK_WIDGET (self->edge_plot));
}

void
kanvas_window_session_refresh (KanvasWindow *self)
{
  const KanSession *s = session (self);

  if (s == NULL)
    return;
  if (s->model)
    gtk_spin_button_set_value (self->refine_spin, 2 * kan_model_grid (s->model));
  refresh_formula (self);
  refresh_history (self);
  refresh_inspector (self);
  refresh_prune_preview (self);
  kanvas_window_session_update (self);
}

static void
on_threshold_changed (KanvasWindow *self)
{
  refresh_prune_preview (self);
}

void
kanvas_window_session_class_init (GtkWidgetClass *widget_class)
{
#define CHILD(name) gtk_widget_class_bind_template_child (widget_class, KanvasWindow, name)
  CHILD (session_stack);
  CHILD (inspect_title);
  CHILD (inspect_subtitle);
  CHILD (edge_box);
  CHILD (edge_plot);
  CHILD (unlock_button);
  CHILD (suggest_list);
  CHILD (node_box);
  CHILD (prune_node_button);
  CHILD (prune_node_spin);
  CHILD (prune_edge_spin);
  CHILD (prune_preview_row);
  CHILD (lib_flow);
  CHILD (r2_spin);
  CHILD (auto_button);
  CHILD (refine_spin);
  CHILD (refine_button);
  CHILD (formula_heading);
  CHILD (formula_label);
  CHILD (formula_rmse_label);
  CHILD (copy_box);
  CHILD (numeric_label);
  CHILD (history_list);
  CHILD (canvas_menu);
#undef CHILD
}

void
kanvas_window_session_init (KanvasWindow *self)
{
  KanvasCanvas *canvas = kanvas_window_get_canvas (self);

  g_action_map_add_action_entries (G_ACTION_MAP (self), session_entries,
                                   G_N_ELEMENTS (session_entries), self);
  for (guint k = 0; k < G_N_ELEMENTS (auto_lib); k++)
    {
      GtkWidget *check = gtk_check_button_new_with_label (auto_lib[k].name);
      gtk_check_button_set_active (GTK_CHECK_BUTTON (check), auto_lib[k].checked);
      gtk_flow_box_append (self->lib_flow, check);
    }
  gtk_drawing_area_set_draw_func (self->edge_plot, draw_edge_plot, self, NULL);
  g_signal_connect_object (canvas, "selection-changed", G_CALLBACK (on_selection_changed), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_swapped (self->auto_button, "clicked", G_CALLBACK (on_auto_clicked), self);
  g_signal_connect_swapped (self->refine_button, "clicked", G_CALLBACK (on_refine_clicked), self);
  g_signal_connect_swapped (self->prune_node_spin, "value-changed",
                            G_CALLBACK (on_threshold_changed), self);
  g_signal_connect_swapped (self->prune_edge_spin, "value-changed",
                            G_CALLBACK (on_threshold_changed), self);

  kanvas_canvas_set_context_menu (canvas, self->canvas_menu);
}

void
kanvas_window_session_dispose (KanvasWindow *self)
{
  g_clear_pointer (&self->formula, kan_expr_free);
  g_clear_pointer (&self->numeric, g_strfreev);
  g_clear_pointer (&self->fits, g_free);
}
