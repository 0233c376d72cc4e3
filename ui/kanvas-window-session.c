/* kanvas-window-session.c — the interactive session: select, prune, lock, retrain, read off.
 *
 * The window's side of the right-hand pane (KanvasSessionPane, which shows the inspector, the
 * whole-network operations, the formula and the history, and asks for edits by its signals).
 * Every edit is a window action (scripts reach them through the application's actions; the
 * pane's requests activate them too) and applies to the main thread's model, so all of them are
 * disabled while a training run holds a copy of it. What an edit does and the history entry it
 * appends belong to kan-ops.c; here the entry gets a copy of the model after it (models are
 * small): undo, redo and clicking an entry swap that copy in.
 *
 * Every step says what it did to the error (history rows and a toast, with Undo when it made
 * things worse). Auto-symbolic and refine run on a thread (a GTask on copies of the model and
 * the data) with a busy state and Cancel; the result is applied on the main thread. So does the
 * prune preview, recomputed whenever the model or a threshold changes: the newest replaces any
 * preview still running, whose result is then dropped.
 */
#include "kanvas-window-private.h"

#include <math.h>
#include <string.h>
#include "kan-render.h"
#include "kan-file.h"
#include "kan-ops.h"

/* The prune preview waits this long (ms) for the thresholds to stop changing. */
#define PREVIEW_DELAY_MS 150
/* Edges left as splines that auto-symbolic's toast names (the panel lists all). */
#define SKIPPED_IN_TOAST 4

/* Actions that edit the model; disabled during a run and while a task runs. */
static const char *const edit_actions[] = {
  "prune", "prune-anyway", "prune-node", "prune-edge", "lock", "unlock", "auto-symbolic",
  "refine", "undo", "redo", "goto-history", "lock-best", "unlock-selected", "prune-selected",
  "prune-inputs",
};
/* The window's training actions, also held back while a task runs. */
static const char *const run_actions[] = { "train", "train-pause", "step", "apply" };

static void drop_task (KanvasWindow *self);

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
  if (kanvas_window_is_busy (self))
    {
      kanvas_window_toast (self, "Wait for %s to finish, or cancel it.", self->task_label);
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

/* History ------------------------------------------------------------------------------------- */

static KanHistoryEntry *
entry (KanvasWindow *self,
       int           k)
{
  GPtrArray *h = session (self)->history;

  return k >= 0 && k < (int) h->len ? g_ptr_array_index (h, k) : NULL;
}

void
kanvas_window_recorded (KanvasWindow *self)
{
  KanSession *s = session (self);
  int last = (int) s->history->len - 1;
  KanHistoryEntry *e = entry (self, last);

  /* A new operation after undo forgets the undone ones, as editors do. */
  if (self->hist_pos >= 0 && self->hist_pos + 1 < last)
    g_ptr_array_remove_range (s->history, self->hist_pos + 1, last - self->hist_pos - 1);
  e->model = s->model ? kan_model_copy (s->model) : NULL;
  self->hist_pos = (int) s->history->len - 1;
  g_message ("%s %s: train %.6g, test %.6g", e->op, e->detail ? e->detail : "", e->train_rmse,
             e->test_rmse);
}

void
kanvas_window_record (KanvasWindow *self,
                      const char   *op,
                      const char   *detail)
{
  kan_ops_record (session (self), op, detail);
  kanvas_window_recorded (self);
}

void
kanvas_window_session_reset (KanvasWindow *self)
{
  KanSession *s = session (self);
  KanHistoryEntry *last = entry (self, (int) s->history->len - 1);

  /* A task on the session that went gives nothing back. */
  drop_task (self);
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
  if (s->data && kan_model_n_in (e->model) != s->data->n_in)
    {
      /* Prune Inputs took columns out of the data: a model from before takes more inputs. */
      g_set_error (error, KAN_ERROR, KAN_ERROR_SHAPE,
                   "History entry %d takes %d inputs, but the data now have %d columns (Prune "
                   "Inputs removed the others); it cannot be restored on these data.", k + 1,
                   kan_model_n_in (e->model), s->data->n_in);
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

void
kanvas_window_announce_step (KanvasWindow *self,
                             const char   *what,
                             const char   *extra)
{
  const KanSession *s = session (self);
  const KanHistoryEntry *e = entry (self, self->hist_pos);
  const KanHistoryEntry *before = entry (self, self->hist_pos - 1);
  g_autofree char *change = NULL;
  g_autofree char *text = NULL;
  g_autofree char *markup = NULL;
  gboolean worse;
  AdwToast *t;

  if (e == NULL)
    return;
  change = kanvas_history_change_text (s, before, e);
  if (before)
    {
      double tr, te;
      kanvas_history_entry_metrics (s, before, &tr, &te);
      worse = kan_ops_made_worse (tr, te, e->train_rmse, e->test_rmse);
    }
  else
    worse = FALSE;
  text = g_strdup_printf ("%s%s%s%s%s%s", what, *change ? ": " : "", change,
                          worse ? " (worse)" : "", extra ? ". " : "", extra ? extra : "");
  g_message ("step: %s", text);
  markup = g_markup_escape_text (text, -1);
  g_free (self->last_message);
  self->last_message = g_strdup (text);
  t = adw_toast_new (markup);
  /* Longer for a worse step; not forever, or it would hold back the toasts after it. */
  adw_toast_set_timeout (t, worse ? 10 : 6);
  if (worse)
    {
      /* A step that raised the error by more than KAN_OPS_WORSE_FACTOR is one click from
       * being taken back. */
      adw_toast_set_button_label (t, "_Undo");
      adw_toast_set_action_name (t, "win.undo");
    }
  kanvas_window_add_toast (self, t, worse ? KANVAS_TOAST_STEP_FIRST : KANVAS_TOAST_STEP);
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

/* The formula in STYLE, or NULL with ERROR set. */
static char *
formula_text (KanvasWindow *self,
              KanExprStyle  style,
              GError      **error)
{
  const KanSession *s = session (self);
  const char *const *numeric = NULL;
  const KanExpr *formula = kanvas_session_pane_get_formula (self->session_pane, &numeric);

  if (formula == NULL)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID, numeric && numeric[0]
                   ? "No formula yet: %u edges are still splines." : "No formula.",
                   numeric ? g_strv_length ((char **) numeric) : 0);
      return NULL;
    }
  return kan_expr_to_string (formula, (const char *const *) s->data->in_names, style);
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

/* Selection and panels ------------------------------------------------------------------------ */

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
      || (n == 3 && !kan_ops_check_edge (s->model, v[0], v[1], v[2], &error))
      || (n == 2 && !kan_ops_check_node (s->model, v[0], v[1], &error)))
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

  if (!kanvas_session_pane_show_panel (self->session_pane, name))
    kanvas_window_toast (self, "No panel '%s' (inspect, network, formula, history)", name);
}

/* Edits ------------------------------------------------------------------------------------- */

/* After a kan-ops operation recorded its entry: keeps the undo state, redraws, and says what
 * WHAT did to the error. */
static void
edited (KanvasWindow *self,
        const char   *what,
        const char   *extra)
{
  kanvas_window_recorded (self);
  kanvas_window_model_changed (self);
  kanvas_window_announce_step (self, what, extra);
}

static gboolean
lock_edge (KanvasWindow *self,
           int           l,
           int           i,
           int           j,
           const char   *name,
           GError      **error)
{
  g_autofree char *what = g_strdup_printf ("Locked (%d,%d,%d) to %s", l, i, j, name);

  if (!kan_ops_lock (session (self), l, i, j, name, NULL, error))
    return FALSE;
  edited (self, what, NULL);
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
  g_autoptr (GError) error = NULL;
  int v[3], n;

  if (!parse_ints (text, v, 3, 3, &n, &error)
      || !kan_ops_unlock (session (self), v[0], v[1], v[2], &error))
    {
      fail (self, "unlock", error);
      return;
    }
  edited (self, "Unlocked", NULL);
}

static void
unlock_action (GSimpleAction *action,
               GVariant      *param,
               gpointer       user_data)
{
  if (ready (user_data))
    unlock_edge (user_data, g_variant_get_string (param, NULL));
}

/* The model without hidden node (l,i); the other nodes stay. */
static gboolean
prune_node (KanvasWindow *self,
            int           l,
            int           i,
            GError      **error)
{
  g_autofree char *what = g_strdup_printf ("Pruned node (%d,%d)", l, i);

  if (!kan_ops_prune_node (session (self), l, i, error))
    return FALSE;
  edited (self, what, NULL);
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
  g_autoptr (GError) error = NULL;
  int v[3], n;

  if (!ready (self))
    return;
  if (!parse_ints (g_variant_get_string (param, NULL), v, 3, 3, &n, &error)
      || !kan_ops_prune_edge (session (self), v[0], v[1], v[2], &error))
    {
      fail (self, "prune-edge", error);
      return;
    }
  edited (self, "Pruned an edge", NULL);
}

/* What pruning at the panel's thresholds would remove (kan-ops decides; this only reads the
 * thresholds). */
static KanOpsPrunePlan *
prune_plan (KanvasWindow  *self,
            GError       **error)
{
  double node_th, edge_th;

  kanvas_session_pane_get_thresholds (self->session_pane, &node_th, &edge_th);
  return kan_ops_prune_preview (session (self), node_th, edge_th, NULL, error);
}

/* The preview is in view on the Network panel, and while the prune question is open. */
static gboolean
prune_preview_in_view (KanvasWindow *self)
{
  return self->prune_question != NULL
         || g_strcmp0 (kanvas_session_pane_get_panel (self->session_pane), "network") == 0;
}

/* The canvas marks what PLAN (may be NULL) removes while the preview is in view. */
static void
mark_prune_plan (KanvasWindow          *self,
                 const KanOpsPrunePlan *plan)
{
  KanvasCanvas *canvas = kanvas_window_get_canvas (self);

  if (plan && plan->nodes->len + plan->edges->len > 0 && prune_preview_in_view (self)
      && !kanvas_window_is_training (self))
    kanvas_canvas_set_prune_preview (canvas, plan->nodes, plan->edges);
  else
    kanvas_canvas_clear_prune_preview (canvas);
}

/* The preview on a thread: kan_ops_prune_preview on a session of copies. */
typedef struct
{
  KanSession *session;
  double      node_th;
  double      edge_th;
} PreviewData;

static void
preview_data_free (gpointer data)
{
  PreviewData *pd = data;

  kan_session_free (pd->session);
  g_free (pd);
}

static void
preview_thread (GTask        *task,
                gpointer      source,
                gpointer      data,
                GCancellable *cancellable)
{
  PreviewData *pd = data;
  GError *error = NULL;
  KanOpsPrunePlan *plan;

  /* A preview replaced before it began is not computed. */
  if (g_task_return_error_if_cancelled (task))
    return;
  plan = kan_ops_prune_preview (pd->session, pd->node_th, pd->edge_th, NULL, &error);
  if (plan)
    g_task_return_pointer (task, plan, (GDestroyNotify) kan_ops_prune_plan_free);
  else
    g_task_return_error (task, error);
}

/* Forgets the preview: the one shown, and the one being computed (its result will be dropped). */
static void
drop_preview (KanvasWindow *self)
{
  if (self->preview_cancel)
    g_cancellable_cancel (self->preview_cancel);
  g_clear_object (&self->preview_cancel);
  g_clear_pointer (&self->preview_plan, kan_ops_prune_plan_free);
}

static void
preview_done (GObject      *source,
              GAsyncResult *res,
              gpointer      user_data)
{
  KanvasWindow *self = KANVAS_WINDOW (source);
  GTask *task = G_TASK (res);
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;
  KanOpsPrunePlan *plan = g_task_propagate_pointer (task, &error);

  /* Only the newest preview applies: a newer one (or none, the window going) replaced it. */
  if (g_task_get_cancellable (task) != self->preview_cancel)
    {
      kan_ops_prune_plan_free (plan);
      return;
    }
  g_clear_object (&self->preview_cancel);
  text = plan ? kan_ops_prune_plan_summary (plan) : g_strdup (error->message);
  kanvas_session_pane_set_prune_preview (self->session_pane, text, FALSE);
  self->preview_plan = plan;
  mark_prune_plan (self, plan);
}

/* Recomputes the prune preview (on a thread) for the model and the thresholds as they are. */
static void
refresh_prune_preview (KanvasWindow *self)
{
  const KanSession *s = session (self);
  g_autoptr (GTask) task = NULL;
  PreviewData *pd;

  g_clear_handle_id (&self->preview_id, g_source_remove);
  drop_preview (self);
  mark_prune_plan (self, NULL);
  if (s->model == NULL || s->data == NULL || kanvas_window_is_training (self))
    {
      kanvas_session_pane_set_prune_preview (self->session_pane, s->model ? "(while training: "
                                             "see the scores when it stops)" : "", FALSE);
      return;
    }
  pd = g_new0 (PreviewData, 1);
  pd->session = kan_session_new ();
  pd->session->model = kan_model_copy (s->model);
  pd->session->data = kan_dataset_copy (s->data);
  pd->session->train = s->train;
  kanvas_session_pane_get_thresholds (self->session_pane, &pd->node_th, &pd->edge_th);
  self->preview_cancel = g_cancellable_new ();
  task = g_task_new (self, self->preview_cancel, preview_done, NULL);
  g_task_set_task_data (task, pd, preview_data_free);
  g_task_set_check_cancellable (task, FALSE);
  g_task_run_in_thread (task, preview_thread);
  kanvas_session_pane_set_prune_preview (self->session_pane, "Computing…", TRUE);
}

static void
on_panel_changed (KanvasWindow *self)
{
  if (gtk_widget_in_destruction (GTK_WIDGET (self)) || session (self) == NULL)
    return;
  /* The preview shown is current (a newer one would have dropped it). */
  mark_prune_plan (self, self->preview_plan);
}

static gboolean
preview_timeout (gpointer data)
{
  KanvasWindow *self = data;

  self->preview_id = 0;
  refresh_prune_preview (self);
  return G_SOURCE_REMOVE;
}

static void
prune_now (KanvasWindow *self)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (KanOpsPrunePlan) plan = NULL;
  g_autofree char *what = NULL;

  plan = prune_plan (self, &error);
  if (plan == NULL)
    {
      fail (self, "prune", error);
      return;
    }
  what = g_strdup_printf ("Pruned %u node%s and %u edge%s (%s → %s)", plan->nodes->len,
                          plan->nodes->len == 1 ? "" : "s", plan->edges->len,
                          plan->edges->len == 1 ? "" : "s", plan->width_before,
                          plan->width_after);
  kan_ops_prune_apply (session (self), plan);
  edited (self, what, NULL);
}

static void
on_prune_question (AdwMessageDialog *dialog,
                   const char       *response,
                   KanvasWindow     *self)
{
  self->prune_question = NULL;
  if (!prune_preview_in_view (self))
    mark_prune_plan (self, NULL);
  if (g_str_equal (response, "prune"))
    g_action_group_activate_action (G_ACTION_GROUP (self), "prune-anyway", NULL);
  else if (g_str_equal (response, "train"))
    {
      gtk_spin_button_set_value (self->lamb_spin, KAN_OPS_SPARSE_LAMB);
      g_action_group_activate_action (G_ACTION_GROUP (self), "train", NULL);
      kanvas_window_toast (self, "Training with λ = %g; prune when the run ends.",
                           KAN_OPS_SPARSE_LAMB);
    }
}

/* Pruning removes what scores low; after a fit without regularisation nearly every edge carries
 * part of the function, so the question comes first. */
static void
ask_prune (KanvasWindow *self)
{
  g_autoptr (KanOpsPrunePlan) plan = prune_plan (self, NULL);
  g_autofree char *numbers = NULL;
  g_autofree char *body = NULL;
  GtkWidget *d;

  numbers = plan ? g_strdup_printf (" Here the train RMSE would go from %.3g to %.3g.",
                                    plan->train_before, plan->train_after) : g_strdup ("");
  body = g_strdup_printf ("Pruning removes the edges and nodes with small scores. It is meant "
                          "for a sparse network, which training with a regularisation λ > 0 "
                          "gives; the last fit used λ = 0, so the edges it would remove still "
                          "carry part of the function.%s", numbers);
  d = adw_message_dialog_new (GTK_WINDOW (self), "Prune a network trained without λ?", body);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (d), "cancel", "_Cancel",
                                    "prune", "_Prune Anyway", NULL);
  {
    g_autofree char *train = g_strdup_printf ("_Train with λ = %g First", KAN_OPS_SPARSE_LAMB);
    adw_message_dialog_add_response (ADW_MESSAGE_DIALOG (d), "train", train);
  }
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (d), "train",
                                              ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (d), "prune",
                                              ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (d), "train");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (d), "cancel");
  g_signal_connect_object (d, "response", G_CALLBACK (on_prune_question), self, 0);
  self->prune_question = d;
  mark_prune_plan (self, plan);
  g_message ("prune: asking (the last fit used lamb = 0)");
  gtk_window_present (GTK_WINDOW (d));
}

static void
prune_action (GSimpleAction *action,
              GVariant      *param,
              gpointer       user_data)
{
  KanvasWindow *self = user_data;

  if (!ready (self))
    return;
  if (kan_ops_last_fit_lamb (session (self), self->hist_pos) == 0)
    ask_prune (self);
  else
    prune_now (self);
}

/* Removes the inputs whose attribution score is at most the threshold, from the model and their
 * columns from the data (kan_ops_prune_inputs). */
static void
prune_inputs_action (GSimpleAction *action,
                     GVariant      *param,
                     gpointer       user_data)
{
  KanvasWindow *self = user_data;
  g_autoptr (GError) error = NULL;
  double th = g_variant_get_double (param);
  g_autofree char *what = NULL;
  int n;

  if (!ready (self))
    return;
  n = kan_ops_prune_inputs (session (self), th, &error);
  if (n < 0)
    {
      fail (self, "prune-inputs", error);
      return;
    }
  if (n == 0)
    {
      kanvas_window_toast (self, "No input scores at or below %g: nothing to prune.", th);
      return;
    }
  what = g_strdup_printf ("Pruned %d input%s", n, n == 1 ? "" : "s");
  edited (self, what, NULL);
}

static void
prune_anyway_action (GSimpleAction *action,
                     GVariant      *param,
                     gpointer       user_data)
{
  if (ready (user_data))
    prune_now (user_data);
}

/* Tasks on a thread ---------------------------------------------------------------------------- */

/* What a task works on: copies, so that the session may change (or go) meanwhile. */
typedef struct
{
  KanModel             *model;     /* the copy, then the result */
  KanDataset           *data;
  const KanModel       *base;      /* the session's model when the task began (not owned) */
  int                  *lib;       /* auto-symbolic */
  int                   n_lib;
  double                r2;
  KanOpsSymbolicReport *report;
  int                   new_grid;  /* refine */
} TaskData;

static void
task_data_free (gpointer data)
{
  TaskData *td = data;

  kan_model_free (td->model);
  kan_dataset_free (td->data);
  g_free (td->lib);
  kan_ops_symbolic_report_free (td->report);
  g_free (td);
}

gboolean
kanvas_window_is_busy (KanvasWindow *self)
{
  return self->task_cancel != NULL;
}

static void
set_busy (KanvasWindow *self,
          const char   *label)
{
  g_free (self->task_label);
  self->task_label = g_strdup (label);
  gtk_widget_set_visible (GTK_WIDGET (self->busy_spinner), label != NULL);
  gtk_spinner_set_spinning (self->busy_spinner, label != NULL);
  gtk_widget_set_visible (self->busy_cancel, label != NULL);
  if (label == NULL)
    gtk_label_set_text (self->state_label, "Ready");
  kanvas_window_session_update (self);
}

/* Ends the task in progress, if any: its result will be dropped. */
static void
drop_task (KanvasWindow *self)
{
  if (self->task_cancel == NULL)
    return;
  g_cancellable_cancel (self->task_cancel);
  g_clear_object (&self->task_cancel);
  set_busy (self, NULL);
}

static void
start_task (KanvasWindow        *self,
            const char          *label,
            TaskData            *td,
            GTaskThreadFunc      func,
            GAsyncReadyCallback  done)
{
  g_autoptr (GTask) task = NULL;

  td->base = session (self)->model;
  self->task_cancel = g_cancellable_new ();
  task = g_task_new (self, self->task_cancel, done, NULL);
  g_task_set_task_data (task, td, task_data_free);
  g_task_set_check_cancellable (task, FALSE);
  g_task_run_in_thread (task, func);
  set_busy (self, label);
  g_message ("%s: started on a thread", label);
}

/* On the main thread when a task ends: TRUE if its result applies to the session as it is
 * (it was not cancelled or replaced meanwhile); ends the busy state. */
static gboolean
task_finish (KanvasWindow  *self,
             GAsyncResult  *res,
             const char    *what,
             GError       **error)
{
  GTask *task = G_TASK (res);
  TaskData *td = g_task_get_task_data (task);
  gboolean ok = g_task_propagate_boolean (task, error);

  if (g_task_get_cancellable (task) != self->task_cancel)
    return FALSE;                               /* dropped: the session changed */
  g_clear_object (&self->task_cancel);
  set_busy (self, NULL);
  if (!ok && g_error_matches (*error, KAN_ERROR, KAN_ERROR_CANCELLED))
    {
      kanvas_window_toast (self, "%s cancelled; the model is as it was.", what);
      g_message ("%s: cancelled", what);
      return FALSE;
    }
  if (!ok)
    {
      fail (self, what, *error);
      return FALSE;
    }
  if (td->base != session (self)->model)
    {
      kanvas_window_toast (self, "%s: the model changed meanwhile; nothing applied.", what);
      return FALSE;
    }
  return TRUE;
}

static void
symbolic_thread (GTask        *task,
                 gpointer      source,
                 gpointer      data,
                 GCancellable *cancellable)
{
  TaskData *td = data;
  GError *error = NULL;

  td->report = kan_ops_auto_symbolic_model (td->model, td->data, td->lib, td->n_lib, td->r2,
                                            cancellable, &error);
  if (td->report)
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
symbolic_done (GObject      *source,
               GAsyncResult *res,
               gpointer      user_data)
{
  KanvasWindow *self = KANVAS_WINDOW (source);
  TaskData *td = g_task_get_task_data (G_TASK (res));
  g_autoptr (GError) error = NULL;
  g_autoptr (GString) log = g_string_new (NULL);
  g_autoptr (GString) skipped = g_string_new (NULL);
  g_autoptr (GString) shown = g_string_new (NULL);
  g_autofree char *what = NULL;
  g_autofree char *extra = NULL;
  int n_skipped = 0;

  if (!task_finish (self, res, "Auto-symbolic", &error))
    return;
  for (guint q = 0; q < td->report->edges->len; q++)
    {
      const KanOpsEdgeReport *e = &g_array_index (td->report->edges, KanOpsEdgeReport, q);
      g_autofree char *line = kan_ops_edge_report_text (e, td->r2);
      g_autofree char *item = NULL;
      g_string_append_printf (log, "%s\n", line);
      if (e->outcome != KAN_OPS_EDGE_SKIPPED_R2)
        continue;
      item = e->fit.sym_id >= 0
             ? g_strdup_printf ("(%d,%d,%d) best %s R² %.3f", e->l, e->i, e->j,
                                kan_sym_info (e->fit.sym_id)->name, e->fit.r2)
             : g_strdup_printf ("(%d,%d,%d) no fit", e->l, e->i, e->j);
      g_string_append_printf (skipped, "%s%s", skipped->len ? ", " : "", item);
      /* The toast names a few; the panel lists them all. */
      if (++n_skipped <= SKIPPED_IN_TOAST)
        g_string_append_printf (shown, "%s%s", shown->len ? ", " : "", item);
    }
  if (n_skipped > SKIPPED_IN_TOAST)
    g_string_append_printf (shown, " and %d more (see Auto-symbolic in the Network tab)",
                            n_skipped - SKIPPED_IN_TOAST);
  g_message ("auto-symbolic:\n%s", log->str);
  kan_ops_auto_symbolic_apply (session (self), g_steal_pointer (&td->model), td->report, td->lib,
                               td->n_lib, td->r2);
  /* The panel keeps the list of edges left as splines until the next run. */
  kanvas_session_pane_set_auto_report (self->session_pane, NULL, NULL);
  if (n_skipped > 0)
    {
      g_autofree char *title = g_strdup_printf ("Left as splines (R² below %g)", td->r2);
      kanvas_session_pane_set_auto_report (self->session_pane, title, skipped->str);
      extra = g_strdup_printf ("%d below R² %g left as splines: %s", n_skipped, td->r2,
                               shown->str);
    }
  what = g_strdup_printf ("Auto-symbolic locked %d edge%s", td->report->n_locked,
                          td->report->n_locked == 1 ? "" : "s");
  edited (self, what, extra);
}

static void
auto_symbolic_action (GSimpleAction *action,
                      GVariant      *param,
                      gpointer       user_data)
{
  KanvasWindow *self = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree int *lib = NULL;
  const char *names = g_variant_get_string (param, NULL);
  TaskData *td;
  int n_lib = 0;

  if (!ready (self))
    return;
  if (*names && (lib = kan_sym_parse_lib (names, &n_lib, &error)) == NULL)
    {
      fail (self, "auto-symbolic", error);
      return;
    }
  /* The panel shows the library used. */
  kanvas_session_pane_set_library (self->session_pane, lib, n_lib);
  td = g_new0 (TaskData, 1);
  td->model = kan_model_copy (session (self)->model);
  td->data = kan_dataset_copy (session (self)->data);
  td->lib = g_steal_pointer (&lib);
  td->n_lib = n_lib;
  td->r2 = kanvas_session_pane_get_r2 (self->session_pane);
  start_task (self, "Auto-symbolic…", td, symbolic_thread, symbolic_done);
}

static void
refine_thread (GTask        *task,
               gpointer      source,
               gpointer      data,
               GCancellable *cancellable)
{
  TaskData *td = data;
  GError *error = NULL;
  KanModel *m = kan_model_refine_full (td->model, td->new_grid, td->data->train_x,
                                       td->data->n_train, cancellable, &error);

  if (m == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  kan_model_free (td->model);
  td->model = m;
  g_task_return_boolean (task, TRUE);
}

static void
refine_done (GObject      *source,
             GAsyncResult *res,
             gpointer      user_data)
{
  KanvasWindow *self = KANVAS_WINDOW (source);
  TaskData *td = g_task_get_task_data (G_TASK (res));
  g_autoptr (GError) error = NULL;
  g_autofree char *what = NULL;

  if (!task_finish (self, res, "Refine", &error))
    return;
  what = g_strdup_printf ("Refined the grid %d → %d", kan_model_grid (session (self)->model),
                          td->new_grid);
  kan_ops_refine_apply (session (self), g_steal_pointer (&td->model), td->new_grid);
  edited (self, what, NULL);
}

static void
refine_action (GSimpleAction *action,
               GVariant      *param,
               gpointer       user_data)
{
  KanvasWindow *self = user_data;
  TaskData *td;

  if (!ready (self))
    return;
  td = g_new0 (TaskData, 1);
  td->model = kan_model_copy (session (self)->model);
  td->data = kan_dataset_copy (session (self)->data);
  td->new_grid = g_variant_get_int32 (param);
  start_task (self, "Refining…", td, refine_thread, refine_done);
}

static void
cancel_task_action (GSimpleAction *action,
                    GVariant      *param,
                    gpointer       user_data)
{
  KanvasWindow *self = user_data;

  /* The task notices between edges (or inside the refit) and ends with "cancelled". */
  if (self->task_cancel)
    g_cancellable_cancel (self->task_cancel);
}

/* Actions on the selection (the context menu and the inspector's buttons). */

static void
lock_best_action (GSimpleAction *action,
                  GVariant      *param,
                  gpointer       user_data)
{
  KanvasWindow *self = user_data;
  g_autoptr (GError) error = NULL;
  const KanSymFit *best;
  int l, i, j;

  kanvas_canvas_get_selection (kanvas_window_get_canvas (self), &l, &i, &j);
  if (!ready (self) || j < 0)
    return;
  best = kanvas_session_pane_get_best_fit (self->session_pane);
  if (best == NULL)
    {
      kanvas_window_toast (self, "No suggestion for this edge.");
      return;
    }
  if (!lock_edge (self, l, i, j, kan_sym_info (best->sym_id)->name, &error))
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
      kanvas_window_toast (self, "configure: cannot use '%s' (opt=lbfgs|adam|lm|auto, steps=N, lr=X, "
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
  { "prune-anyway", prune_anyway_action },
  { "prune-inputs", prune_inputs_action, "d" },
  { "cancel-task", cancel_task_action },
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
  /* The pane's buttons for the same action. */
  kanvas_session_pane_set_enabled (self->session_pane, name, on);
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
  kanvas_session_pane_set_running (self->session_pane, kanvas_window_is_training (self));
  /* What a run changes, a preview made before it does not describe. */
  if (kanvas_window_is_training (self))
    mark_prune_plan (self, NULL);
  kanvas_canvas_get_selection (kanvas_window_get_canvas (self), &l, &i, &j);
  if (j >= 0 && s->model && l < kan_model_depth (s->model) && i < kan_model_layer_in (s->model, l)
      && j < kan_model_layer_out (s->model, l))
    mode = kan_model_edge_mode (s->model, l, i, j);
  prev = entry (self, self->hist_pos - 1);
  next = entry (self, self->hist_pos + 1);
  idle = idle && !kanvas_window_is_busy (self);
  for (guint k = 0; k < G_N_ELEMENTS (edit_actions); k++)
    set_enabled (self, edit_actions[k], idle);
  /* A run would train the model the task is replacing; building would replace it. */
  for (guint k = 0; k < G_N_ELEMENTS (run_actions); k++)
    set_enabled (self, run_actions[k], !kanvas_window_is_busy (self)
                 && (!g_str_equal (run_actions[k], "apply") || !kanvas_window_is_training (self)));
  if (kanvas_window_is_busy (self))
    gtk_label_set_text (self->state_label, self->task_label);
  set_enabled (self, "undo", idle && prev && prev->model);
  set_enabled (self, "redo", idle && next && next->model);
  set_enabled (self, "lock-best", idle && j >= 0 && mode != KAN_EDGE_OFF);
  set_enabled (self, "unlock-selected", idle && (mode == KAN_EDGE_SYMBOLIC || mode == KAN_EDGE_BOTH));
  set_enabled (self, "prune-selected", idle && l >= 0 && (j >= 0 ? mode != KAN_EDGE_OFF
                                                           : l > 0 && s->model
                                                             && l < kan_model_depth (s->model)));
  /* Step training stays live in the inspector's plot. */
  kanvas_session_pane_queue_draw_plot (self->session_pane);
}

void
kanvas_window_session_refresh (KanvasWindow *self)
{
  const KanSession *s = session (self);

  if (s == NULL)
    return;
  kanvas_session_pane_set_running (self->session_pane, kanvas_window_is_training (self));
  kanvas_session_pane_set_session (self->session_pane, s, self->hist_pos);
  refresh_prune_preview (self);
  kanvas_window_session_update (self);
}

/* The pane's requests ------------------------------------------------------------------------ */

static void
activate (KanvasWindow *self,
          const char   *action,
          GVariant     *param)
{
  /* As the buttons did when they were the window's: a disabled action does nothing. */
  g_action_group_activate_action (G_ACTION_GROUP (self), action, param);
}

static void
on_selection_changed (KanvasWindow *self)
{
  /* The pane follows the canvas itself; the window's actions depend on the selection. */
  kanvas_window_session_update (self);
}

static void
on_threshold_changed (KanvasWindow *self)
{
  /* Spinning a threshold changes it many times a second: preview once it settles. What is
   * shown no longer applies, and one being computed is dropped. */
  drop_preview (self);
  mark_prune_plan (self, NULL);
  kanvas_session_pane_set_prune_preview (self->session_pane, "Computing…", TRUE);
  g_clear_handle_id (&self->preview_id, g_source_remove);
  self->preview_id = g_timeout_add (PREVIEW_DELAY_MS, preview_timeout, self);
}

static void
on_prune_requested (KanvasWindow *self)
{
  activate (self, "prune", NULL);
}

static void
on_lock_requested (KanvasWindow *self,
                   int           l,
                   int           i,
                   int           j,
                   const char   *name)
{
  g_autofree char *target = g_strdup_printf ("%d,%d,%d,%s", l, i, j, name);

  activate (self, "lock", g_variant_new_string (target));
}

static void
on_unlock_requested (KanvasWindow *self)
{
  activate (self, "unlock-selected", NULL);
}

static void
on_prune_selection_requested (KanvasWindow *self)
{
  activate (self, "prune-selected", NULL);
}

static void
on_auto_symbolic_requested (KanvasWindow *self,
                            const char   *library)
{
  activate (self, "auto-symbolic", g_variant_new_string (library));
}

static void
on_refine_requested (KanvasWindow *self,
                     int           grid)
{
  activate (self, "refine", g_variant_new_int32 (grid));
}

static void
on_train_requested (KanvasWindow *self)
{
  activate (self, "train", NULL);
}

static void
on_prune_inputs_requested (KanvasWindow *self,
                           double        threshold)
{
  activate (self, "prune-inputs", g_variant_new_double (threshold));
}

static void
on_history_requested (KanvasWindow *self,
                      int           k)
{
  activate (self, "goto-history", g_variant_new_int32 (k));
}

static void
on_undo_requested (KanvasWindow *self)
{
  activate (self, "undo", NULL);
}

static void
on_redo_requested (KanvasWindow *self)
{
  activate (self, "redo", NULL);
}

static void
on_copy_formula_requested (KanvasWindow *self,
                           const char   *style)
{
  activate (self, "copy-formula", g_variant_new_string (style));
}

static void
on_export_formula_requested (KanvasWindow *self)
{
  activate (self, "export-formula-dialog", NULL);
}

static void
on_export_edge_plot_requested (KanvasWindow *self)
{
  activate (self, "export-edge-plot-dialog", NULL);
}

static void
on_pane_message (KanvasWindow *self,
                 const char   *text)
{
  kanvas_window_toast (self, "%s", text);
}

/* Object ------------------------------------------------------------------------------------ */

void
kanvas_window_session_class_init (GtkWidgetClass *widget_class)
{
  g_type_ensure (KANVAS_TYPE_SESSION_PANE);
#define CHILD(name) gtk_widget_class_bind_template_child (widget_class, KanvasWindow, name)
  CHILD (session_pane);
  CHILD (canvas_menu);
  CHILD (busy_spinner);
  CHILD (busy_cancel);
#undef CHILD
}

void
kanvas_window_session_init (KanvasWindow *self)
{
  KanvasCanvas *canvas = kanvas_window_get_canvas (self);
  static const struct
  {
    const char *signal;
    GCallback   handler;
  } requests[] = {
    { "prune-requested", G_CALLBACK (on_prune_requested) },
    { "lock-requested", G_CALLBACK (on_lock_requested) },
    { "unlock-requested", G_CALLBACK (on_unlock_requested) },
    { "prune-selection-requested", G_CALLBACK (on_prune_selection_requested) },
    { "auto-symbolic-requested", G_CALLBACK (on_auto_symbolic_requested) },
    { "refine-requested", G_CALLBACK (on_refine_requested) },
    { "train-requested", G_CALLBACK (on_train_requested) },
    { "history-requested", G_CALLBACK (on_history_requested) },
    { "undo-requested", G_CALLBACK (on_undo_requested) },
    { "redo-requested", G_CALLBACK (on_redo_requested) },
    { "copy-formula-requested", G_CALLBACK (on_copy_formula_requested) },
    { "export-formula-requested", G_CALLBACK (on_export_formula_requested) },
    { "export-edge-plot-requested", G_CALLBACK (on_export_edge_plot_requested) },
    { "thresholds-changed", G_CALLBACK (on_threshold_changed) },
    { "panel-changed", G_CALLBACK (on_panel_changed) },
    { "message", G_CALLBACK (on_pane_message) },
    { "prune-inputs-requested", G_CALLBACK (on_prune_inputs_requested) },
  };

  g_action_map_add_action_entries (G_ACTION_MAP (self), session_entries,
                                   G_N_ELEMENTS (session_entries), self);
  /* Other views add pages to the pane's stack (kanvas-discover.c). */
  self->session_stack = kanvas_session_pane_get_stack (self->session_pane);
  kanvas_session_pane_set_canvas (self->session_pane, canvas);
  for (guint k = 0; k < G_N_ELEMENTS (requests); k++)
    g_signal_connect_swapped (self->session_pane, requests[k].signal, requests[k].handler, self);
  g_signal_connect_object (canvas, "selection-changed", G_CALLBACK (on_selection_changed), self,
                           G_CONNECT_SWAPPED);
  kanvas_canvas_set_context_menu (canvas, self->canvas_menu);
}

void
kanvas_window_session_dispose (KanvasWindow *self)
{
  /* The tasks' callbacks still come (each GTask holds the window) but find themselves
   * dropped. */
  if (self->task_cancel)
    g_cancellable_cancel (self->task_cancel);
  g_clear_object (&self->task_cancel);
  g_clear_pointer (&self->task_label, g_free);
  g_clear_handle_id (&self->preview_id, g_source_remove);
  drop_preview (self);
  if (self->prune_question)
    gtk_window_destroy (GTK_WINDOW (self->prune_question));
  self->prune_question = NULL;
}
