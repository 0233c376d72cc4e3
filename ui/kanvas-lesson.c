/* kanvas-lesson.c — the guided lesson and presentation mode.
 *
 * The lesson drives the window only through its actions (configure, train, prune, select,
 * lock, auto-symbolic, show-panel), the same ones its panel, buttons and scripts use, so a step
 * does exactly what a person following the text by hand would do. Whether a step finished is
 * read back from the window: a training run is over when the window is no longer training, and
 * the step then ends with the history entry it should have written (or the selection, or the
 * formula). A short poll does the waiting, so the lesson needs no hook in the window's
 * training code and never blocks the main loop.
 */
#include "kanvas-lesson.h"

#include "kanvas-window-private.h"
#include "kanvas-examples.h"

#define LESSON_KEY "kanvas-lesson"

/* How often a waiting step looks at the window, and how long it waits once the window is idle
 * before it calls the step failed: FAIL_FAST_S after a message or a question (the command
 * said why it did not happen), WAIT_S otherwise (an edit that runs in the background). */
#define POLL_MS     100
#define FAIL_FAST_S 1.0
#define WAIT_S      30.0

/* The lesson text grows by this much in presentation mode. */
#define PRESENTATION_TEXT_SCALE 1.35

typedef struct
{
  const char *action;     /* a window action */
  const char *param;      /* its string parameter, or NULL for none */
} Command;

typedef struct _KanvasLesson KanvasLesson;
typedef gboolean (*StepCheck) (KanvasLesson *self);

typedef struct
{
  const char *title;
  const char *text;
  Command     commands[3];  /* run in order by "Do it" */
  const char *op;           /* the history entry the step appends, or NULL */
  StepCheck   check;        /* what else must hold when it is done, or NULL */
} LessonStep;

struct _KanvasLesson
{
  GtkBox         parent_instance;

  /* template widgets */
  GtkLabel      *step_label;
  GtkLabel      *title_label;
  GtkLabel      *text_label;
  GtkLabel      *formula_label;
  GtkSpinner    *spinner;
  GtkLabel      *status_label;
  GtkWidget     *do_button;
  GtkWidget     *back_button;
  GtkWidget     *next_button;

  /* borrowed: the window holds the lesson */
  KanvasWindow  *window;
  GtkRevealer   *revealer;

  /* state */
  int            step;          /* shown */
  int            n_done;        /* steps 0 … n_done-1 are done */
  gboolean       presentation;
  guint          poll_id;       /* the wait of the step being done, or 0 */
  guint          hist_before;   /* history length when the step began */
  char          *message_before; /* the window's last message then */
  gboolean       saw_question;
  gint64         idle_since;    /* monotonic µs the window has been idle, or 0 */
};

G_DEFINE_FINAL_TYPE (KanvasLesson, kanvas_lesson, GTK_TYPE_BOX)

/* Checks -------------------------------------------------------------------------------------- */

static const KanSession *
lesson_session (KanvasLesson *self)
{
  return kanvas_window_get_session (self->window);
}

static gboolean
check_demo (KanvasLesson *self)
{
  const KanSession *s = lesson_session (self);
  const KanvasExample *demo = kanvas_example_lookup ("demo");
  g_autofree char *width = NULL;

  if (s->model == NULL || s->data == NULL || s->data->formula == NULL || s->steps_done != 0)
    return FALSE;
  width = kan_shape_to_string (kan_model_shape (s->model));
  return g_str_equal (s->data->formula, demo->formula) && g_str_equal (width, demo->width);
}

static gboolean
check_selected (KanvasLesson *self)
{
  int l, i, j;

  kanvas_canvas_get_selection (kanvas_window_get_canvas (self->window), &l, &i, &j);
  return l == 0 && i == 0 && j == 0;
}

/* No edge is a spline any more (each is locked or pruned). */
static gboolean
check_all_locked (KanvasLesson *self)
{
  const KanModel *m = lesson_session (self)->model;

  for (int l = 0; l < kan_model_depth (m); l++)
    for (int i = 0; i < kan_model_layer_in (m, l); i++)
      for (int j = 0; j < kan_model_layer_out (m, l); j++)
        if (kan_model_edge_mode (m, l, i, j) == KAN_EDGE_NUMERIC
            || kan_model_edge_mode (m, l, i, j) == KAN_EDGE_BOTH)
          return FALSE;
  return TRUE;
}

static gboolean
check_formula (KanvasLesson *self)
{
  return *kanvas_session_pane_get_formula_text (self->window->session_pane) != '\0';
}

/* The steps ------------------------------------------------------------------------------------ */

static const LessonStep steps[] = {
  { "Meet the data and the network",
    "The data are 1,000 samples of y = exp(sin(πx₁) + x₂²), with x₁ and x₂ between −1 and 1. "
    "The network has width 2,5,1: two inputs, five hidden nodes, one output. Every edge is a "
    "small curve that can learn (a spline); the nodes only add what arrives. "
    "Do It loads this demo, untrained.",
    { { "load-example", "demo" } }, NULL, check_demo },
  { "Train with a sparsity penalty",
    "Training bends every edge's curve to fit the data. A small penalty, λ = 0.01, on how much "
    "each edge does pushes the edges the answer does not need towards zero: they fade on the "
    "canvas. Do It runs 50 L-BFGS steps with λ = 0.01. Watch the curves take shape and the "
    "error fall in the plot below.",
    { { "configure", "opt=lbfgs,steps=50,lamb=0.01" }, { "train", NULL } }, "fit", NULL },
  { "Prune what does not matter",
    "Faint edges and nodes carry almost nothing. Pruning removes the hidden nodes whose score "
    "is below a threshold, and then the weak edges; the Network tab previews what will go. "
    "Do It prunes: the 2,5,1 network becomes 2,1,1, because one hidden node is enough here. "
    "The error jumps, since the kept curves were fitted next to the removed ones; the next step "
    "mends that.",
    { { "show-panel", "network" }, { "prune", NULL } }, "prune", NULL },
  { "Retrain without the penalty",
    "The penalty has done its job; kept on, it would only bend the answer. Do It trains the "
    "small network again for 50 steps with λ = 0, so its three curves settle on the data.",
    { { "configure", "lamb=0" }, { "train", NULL } }, "fit", NULL },
  { "Inspect an edge",
    "Click an edge to look at it closely. Do It selects the edge from x₁ to the hidden node. "
    "The Inspect tab draws its curve over the samples it sees and ranks functions of the "
    "library by how well c·f(a·x+b)+d fits it (R² near 1 is a perfect fit). "
    "This one is a full period of a sine, and sin tops the list.",
    { { "select", "0,0,0" }, { "show-panel", "inspect" } }, NULL, check_selected },
  { "Lock edges to functions",
    "Locking replaces a spline by the function it resembles. Do It locks the x₁ edge to sin, "
    "then lets auto-symbolic choose for the others from x, x², exp and sin: the x₂ edge "
    "becomes x² and the output edge exp. Locked edges turn red.",
    { { "lock", "0,0,0,sin" }, { "auto-symbolic", "x,x^2,exp,sin" } }, "symbolic",
    check_all_locked },
  { "Retrain the constants",
    "Each locked edge is c·f(a·x+b)+d, with constants fitted one edge at a time. Do It trains "
    "the whole locked network for 50 Levenberg–Marquardt steps, which tunes all the constants "
    "together until the error is down to round-off.",
    { { "configure", "opt=lm,lamb=0,steps=50" }, { "train", NULL } }, "fit", NULL },
  { "Read the formula",
    "Now every edge is a function, so the network is a formula. Do It opens the Formula tab, "
    "where it can be copied as text, LaTeX, SymPy or C. The network found:",
    { { "show-panel", "formula" } }, NULL, check_formula },
};

/* Showing a step ------------------------------------------------------------------------------- */

static void
set_action_enabled (KanvasLesson *self,
                    const char   *name,
                    gboolean      on)
{
  GAction *a = g_action_map_lookup_action (G_ACTION_MAP (self->window), name);

  g_simple_action_set_enabled (G_SIMPLE_ACTION (a), on);
}

static void
update (KanvasLesson *self)
{
  const LessonStep *st = &steps[self->step];
  gboolean busy = self->poll_id != 0;
  gboolean done = self->step < self->n_done;
  gboolean last = self->step == (int) G_N_ELEMENTS (steps) - 1;
  g_autofree char *counter = g_strdup_printf ("Lesson · step %d of %d", self->step + 1,
                                              (int) G_N_ELEMENTS (steps));

  gtk_label_set_text (self->step_label, counter);
  gtk_label_set_text (self->title_label, st->title);
  gtk_label_set_text (self->text_label, st->text);
  gtk_widget_set_visible (GTK_WIDGET (self->formula_label), last && done);
  if (last && done)
    gtk_label_set_text (self->formula_label,
                        kanvas_session_pane_get_formula_text (self->window->session_pane));
  gtk_spinner_set_spinning (self->spinner, busy);
  gtk_widget_set_visible (GTK_WIDGET (self->spinner), busy);
  if (!busy)
    {
      if (done && last)
        gtk_label_set_text (self->status_label, "That is the whole session. Step 1 starts over.");
      else if (done)
        gtk_label_set_text (self->status_label, self->step == 0 && self->n_done > 1
                            ? "Done. Do It again starts the lesson over; Next goes on."
                            : "Done. Press Next.");
      else if (self->step == self->n_done)
        gtk_label_set_text (self->status_label, "Press Do It, or do the same by hand.");
    }
  gtk_button_set_label (GTK_BUTTON (self->do_button),
                        self->step == 0 && self->n_done > 0 ? "_Start Over" : "_Do It");

  /* A step is done once, in order; the first one may be repeated to start over. */
  set_action_enabled (self, "lesson-do",
                      !busy && (self->step == self->n_done || self->step == 0));
  set_action_enabled (self, "lesson-back", !busy && self->step > 0);
  set_action_enabled (self, "lesson-next", !busy && done && !last);
}

/* Doing a step ---------------------------------------------------------------------------------- */

static gboolean
step_finished (KanvasLesson *self)
{
  const LessonStep *st = &steps[self->step];
  const KanSession *s = lesson_session (self);

  if (st->op)
    {
      const KanHistoryEntry *e;

      if (s->history->len <= self->hist_before)
        return FALSE;
      e = g_ptr_array_index (s->history, s->history->len - 1);
      if (!g_str_equal (e->op, st->op))
        return FALSE;
    }
  return st->check == NULL || st->check (self);
}

/* Training, asking "Save changes?", or running an edit in the background. */
static gboolean
window_busy (KanvasWindow *win)
{
  return kanvas_window_is_training (win) || kanvas_window_is_asking (win)
         || kanvas_window_is_busy (win);
}

static void
stop_waiting (KanvasLesson *self)
{
  g_clear_handle_id (&self->poll_id, g_source_remove);
  g_clear_pointer (&self->message_before, g_free);
}

static gboolean
poll_step (gpointer data)
{
  KanvasLesson *self = data;
  KanvasWindow *win = self->window;
  const char *message = kanvas_window_get_last_message (win);
  gint64 now = g_get_monotonic_time ();
  double idle;

  if (window_busy (win))
    {
      self->saw_question |= kanvas_window_is_asking (win);
      self->idle_since = 0;
      return G_SOURCE_CONTINUE;
    }
  if (step_finished (self))
    {
      self->poll_id = 0;
      stop_waiting (self);
      self->n_done = self->step + 1;
      g_message ("lesson: step %d done", self->n_done);
      update (self);
      return G_SOURCE_REMOVE;
    }
  if (self->idle_since == 0)
    self->idle_since = now;
  idle = (now - self->idle_since) / (double) G_USEC_PER_SEC;
  if (idle < WAIT_S && (idle < FAIL_FAST_S
                        || (!self->saw_question && g_strcmp0 (message, self->message_before) == 0)))
    return G_SOURCE_CONTINUE;

  self->poll_id = 0;
  {
    gboolean said = message && g_strcmp0 (message, self->message_before) != 0;
    g_autofree char *text = g_strdup_printf ("This step did not finish%s%s", said ? ": " : ".",
                                             said ? message : "");
    stop_waiting (self);
    update (self);
    /* After update, which would say "Press Do It". */
    gtk_label_set_text (self->status_label, text);
    g_message ("lesson: step %d: %s", self->step + 1, text);
  }
  return G_SOURCE_REMOVE;
}

static void
do_step (KanvasLesson *self)
{
  const LessonStep *st = &steps[self->step];

  if (self->poll_id != 0)
    return;
  if (window_busy (self->window))
    {
      gtk_label_set_text (self->status_label,
                          "The window is busy: let it finish (or stop it), then Do It again.");
      return;
    }
  /* A command the window holds back now would be ignored: say so rather than wait. */
  for (guint c = 0; c < G_N_ELEMENTS (st->commands) && st->commands[c].action; c++)
    if (!g_action_group_get_action_enabled (G_ACTION_GROUP (self->window),
                                            st->commands[c].action))
      {
        g_autofree char *text = g_strdup_printf ("“%s” is not available now, so this step "
                                                 "cannot be done.", st->commands[c].action);
        gtk_label_set_text (self->status_label, text);
        g_message ("lesson: step %d: %s", self->step + 1, text);
        return;
      }
  if (self->step == 0)
    self->n_done = 0;
  self->hist_before = lesson_session (self)->history->len;
  self->message_before = g_strdup (kanvas_window_get_last_message (self->window));
  self->saw_question = FALSE;
  self->idle_since = 0;
  gtk_label_set_text (self->status_label, "Working…");
  /* Wait from the main loop: a step's commands may finish later (a run, a question). */
  self->poll_id = g_timeout_add (POLL_MS, poll_step, self);
  update (self);
  g_message ("lesson: step %d: %s", self->step + 1, st->title);
  for (guint c = 0; c < G_N_ELEMENTS (st->commands) && st->commands[c].action; c++)
    g_action_group_activate_action (G_ACTION_GROUP (self->window), st->commands[c].action,
                                    st->commands[c].param
                                    ? g_variant_new_string (st->commands[c].param) : NULL);
  if (kanvas_window_is_training (self->window))
    gtk_label_set_text (self->status_label, "Training… the next step waits for the run to end.");
}

/* Presentation mode ----------------------------------------------------------------------------- */

static void
style_labels (KanvasLesson *self)
{
  PangoAttrList *attrs = pango_attr_list_new ();

  if (self->presentation)
    pango_attr_list_insert (attrs, pango_attr_scale_new (PRESENTATION_TEXT_SCALE));
  gtk_label_set_attributes (self->text_label, attrs);
  gtk_label_set_attributes (self->status_label, attrs);
  pango_attr_list_unref (attrs);
  gtk_widget_remove_css_class (GTK_WIDGET (self->title_label),
                               self->presentation ? "title-3" : "title-1");
  gtk_widget_add_css_class (GTK_WIDGET (self->title_label),
                            self->presentation ? "title-1" : "title-3");
}

void
kanvas_lesson_apply_presentation (KanvasWindow *win)
{
  KanvasLesson *self = g_object_get_data (G_OBJECT (win), LESSON_KEY);
  gboolean on = self != NULL && self->presentation;

  if (win->worker)
    kan_worker_set_step_time (win->worker, on ? MAX (KANVAS_PRESENTATION_STEP_MS, win->pace_ms)
                                                : win->pace_ms);
  if (win->canvas)
    kanvas_canvas_set_text_scale (win->canvas, on ? KANVAS_PRESENTATION_TEXT_SCALE : 1.0);
  if (win->loss_view)
    kanvas_loss_view_set_text_scale (win->loss_view, on ? KANVAS_PRESENTATION_PLOT_SCALE : 1.0);
  /* The inspector's and the loss plot's labels (style.css). */
  if (on)
    gtk_widget_add_css_class (GTK_WIDGET (win), "presentation");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (win), "presentation");
}

/* Actions ---------------------------------------------------------------------------------------- */

static KanvasLesson *
lesson_of (gpointer win)
{
  return g_object_get_data (G_OBJECT (win), LESSON_KEY);
}

static void
lesson_action (GSimpleAction *action,
               GVariant      *param,
               gpointer       user_data)
{
  KanvasLesson *self = lesson_of (user_data);

  if (self)
    gtk_revealer_set_reveal_child (self->revealer,
                                   !gtk_revealer_get_reveal_child (self->revealer));
}

static void
lesson_do_action (GSimpleAction *action,
                  GVariant      *param,
                  gpointer       user_data)
{
  KanvasLesson *self = lesson_of (user_data);

  if (self)
    do_step (self);
}

static void
lesson_move (gpointer user_data,
             int      delta)
{
  KanvasLesson *self = lesson_of (user_data);

  if (self == NULL || self->poll_id != 0)
    return;
  self->step = CLAMP (self->step + delta, 0, (int) G_N_ELEMENTS (steps) - 1);
  update (self);
}

static void
lesson_back_action (GSimpleAction *action,
                    GVariant      *param,
                    gpointer       user_data)
{
  lesson_move (user_data, -1);
}

static void
lesson_next_action (GSimpleAction *action,
                    GVariant      *param,
                    gpointer       user_data)
{
  KanvasLesson *self = lesson_of (user_data);

  /* Next follows the lesson: only past a step that is done. */
  if (self && self->step < self->n_done)
    lesson_move (user_data, +1);
}

static void
presentation_change_state (GSimpleAction *action,
                           GVariant      *state,
                           gpointer       user_data)
{
  KanvasLesson *self = lesson_of (user_data);

  g_simple_action_set_state (action, state);
  if (self == NULL)
    return;
  self->presentation = g_variant_get_boolean (state);
  style_labels (self);
  kanvas_lesson_apply_presentation (self->window);
}

static const GActionEntry lesson_entries[] = {
  { "lesson", lesson_action },
  { "lesson-do", lesson_do_action },
  { "lesson-back", lesson_back_action },
  { "lesson-next", lesson_next_action },
  { "presentation", NULL, NULL, "false", presentation_change_state },
};

/* Object ----------------------------------------------------------------------------------------- */

static void
kanvas_lesson_dispose (GObject *object)
{
  KanvasLesson *self = KANVAS_LESSON (object);

  stop_waiting (self);
  if (self->window && g_object_get_data (G_OBJECT (self->window), LESSON_KEY) == self)
    g_object_set_data (G_OBJECT (self->window), LESSON_KEY, NULL);
  gtk_widget_dispose_template (GTK_WIDGET (self), KANVAS_TYPE_LESSON);
  G_OBJECT_CLASS (kanvas_lesson_parent_class)->dispose (object);
}

static void
kanvas_lesson_class_init (KanvasLessonClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = kanvas_lesson_dispose;
  gtk_widget_class_set_template_from_resource (widget_class, "/org/kanvas/Kanvas/ui/kanvas-lesson.ui");
#define CHILD(name) gtk_widget_class_bind_template_child (widget_class, KanvasLesson, name)
  CHILD (step_label);
  CHILD (title_label);
  CHILD (text_label);
  CHILD (formula_label);
  CHILD (spinner);
  CHILD (status_label);
  CHILD (do_button);
  CHILD (back_button);
  CHILD (next_button);
#undef CHILD
}

static void
kanvas_lesson_init (KanvasLesson *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

void
kanvas_lesson_attach (KanvasWindow *win)
{
  KanvasLesson *self = g_object_new (KANVAS_TYPE_LESSON, NULL);
  GtkWidget *column = adw_toast_overlay_get_child (win->toast_overlay);

  self->window = win;
  g_object_set_data (G_OBJECT (win), LESSON_KEY, self);
  g_action_map_add_action_entries (G_ACTION_MAP (win), lesson_entries,
                                   G_N_ELEMENTS (lesson_entries), win);
  /* Under the header bar, across the window, hidden until asked for. */
  self->revealer = GTK_REVEALER (gtk_revealer_new ());
  gtk_revealer_set_child (self->revealer, GTK_WIDGET (self));
  gtk_box_insert_child_after (GTK_BOX (column), GTK_WIDGET (self->revealer),
                              gtk_widget_get_first_child (column));
  style_labels (self);
  update (self);
}

KanvasLesson *
kanvas_window_get_lesson (KanvasWindow *win)
{
  g_return_val_if_fail (KANVAS_IS_WINDOW (win), NULL);
  return lesson_of (win);
}

gboolean
kanvas_lesson_get_presentation (KanvasLesson *self)
{
  g_return_val_if_fail (KANVAS_IS_LESSON (self), FALSE);
  return self->presentation;
}

guint
kanvas_lesson_get_step_time (KanvasLesson *self)
{
  g_return_val_if_fail (KANVAS_IS_LESSON (self), 0);
  return self->window->worker ? kan_worker_get_step_time (self->window->worker) : 0;
}

int
kanvas_lesson_get_step (KanvasLesson *self)
{
  g_return_val_if_fail (KANVAS_IS_LESSON (self), -1);
  return self->step;
}

int
kanvas_lesson_get_n_steps (KanvasLesson *self)
{
  return G_N_ELEMENTS (steps);
}

gboolean
kanvas_lesson_step_done (KanvasLesson *self,
                         int           step)
{
  g_return_val_if_fail (KANVAS_IS_LESSON (self), FALSE);
  return step >= 0 && step < self->n_done;
}

gboolean
kanvas_lesson_is_busy (KanvasLesson *self)
{
  g_return_val_if_fail (KANVAS_IS_LESSON (self), FALSE);
  return self->poll_id != 0;
}

const char *
kanvas_lesson_get_title (KanvasLesson *self)
{
  g_return_val_if_fail (KANVAS_IS_LESSON (self), NULL);
  return gtk_label_get_text (self->title_label);
}

const char *
kanvas_lesson_get_text (KanvasLesson *self)
{
  g_return_val_if_fail (KANVAS_IS_LESSON (self), NULL);
  return gtk_label_get_text (self->text_label);
}

const char *
kanvas_lesson_get_status (KanvasLesson *self)
{
  g_return_val_if_fail (KANVAS_IS_LESSON (self), NULL);
  return gtk_label_get_text (self->status_label);
}
