/* kanvas-discover.c — the Discover page: kan_discover on a thread, a live Pareto plot, and the
 * chosen network loaded onto the canvas.
 *
 * The search runs in a thread of its own on a copy of the session's data (a Job). Its progress
 * and its end come back to the main loop with g_main_context_invoke_full, each message holding
 * a reference to the job; the job knows the page only through a weak reference, and a message
 * from a job the page no longer runs is dropped. So the page may be destroyed, or start a new
 * search, at any time: the old thread is cancelled and finishes on its own. The session's model
 * changes only on the main thread, when a formula is loaded.
 */
#include "kanvas-discover.h"
#include "kanvas-window-private.h"

#include <math.h>
#include <string.h>
#include "kan-ops.h"

/* How often the elapsed time on the page moves while a search runs. */
#define TICK_MS 200

/* The styles the page prints a formula in (KAN_EXPR_STYLE_TEXT … KAN_EXPR_STYLE_C). */
#define N_STYLES (KAN_EXPR_STYLE_C + 1)
static const char *const style_titles[N_STYLES] = { "Text", "LaTeX", "SymPy", "C" };

/* One search: what the thread reads and what it leaves for the main loop. */
typedef struct
{
  gatomicrefcount     ref;
  GWeakRef            page;       /* the KanvasDiscover that started it */
  GMainContext       *context;    /* where its messages go */
  GCancellable       *cancel;
  KanDataset         *data;       /* the thread's own copy */
  KanDim             *in_dims;    /* NULL without units */
  KanDim              out_dim;
  KanDiscoverOptions  opts;
  KanDiscoverResult  *result;     /* written by the thread before it reports the end */
  GError             *error;
  int                 sent;       /* candidates already copied into a report (search thread) */
} Job;

/* A progress report, copied out of the thread. */
typedef struct
{
  Job    *job;
  char   *stage;
  char   *best_text;     /* NULL: no formula yet */
  int     complexity;    /* of BEST_TEXT, or -1 */
  int     n_candidates;
  double  best_rmse;
  double  seconds;
  /* The formulas tried since the last report: text, complexity, test RMSE. */
  GPtrArray *new_text;
  GArray    *new_complexity;  /* int */
  GArray    *new_rmse;        /* double */
} Progress;

struct _KanvasDiscover
{
  GtkBox             parent_instance;

  /* template widgets */
  GtkSpinButton     *time_spin;
  AdwExpanderRow    *units_row;
  GtkLabel          *error_label;
  GtkWidget         *cancel_button;
  GtkProgressBar    *progress_bar;
  GtkLabel          *status_label;
  GtkLabel          *best_label;
  GtkDrawingArea    *plot;
  GtkWidget         *formula_box;
  GtkLabel          *formula_title;
  GtkLabel          *formula_label;
  GtkLabel          *detail_label;
  GtkGrid           *styles_grid;

  /* borrowed */
  KanvasWindow      *window;
  GtkLabel          *style_labels[N_STYLES];   /* in styles_grid */
  KanHistoryEntry   *loaded_entry;             /* the entry the last load appended */

  /* owned */
  GPtrArray         *unit_rows;      /* AdwEntryRow per column: the inputs, then the output */
  GStrv              unit_columns;   /* their column names */
  Job               *job;            /* the search in progress, or NULL */
  KanDataset        *data;           /* the data of the search in progress or of RESULT */
  KanDiscoverResult *result;
  KanParetoView     *view;
  KanRenderStyle     style;

  /* state */
  guint              tick_id;
  gint64             started;        /* g_get_monotonic_time at the start */
  double             time_limit;     /* of the search in progress */
  char              *stage;          /* its last stage, or NULL */
  int                n_candidates;
  int                loaded;         /* point whose network was loaded last, or -1 */
};

G_DEFINE_FINAL_TYPE (KanvasDiscover, kanvas_discover, GTK_TYPE_BOX)

static void finish (KanvasDiscover *self, Job *job);

/* Jobs -------------------------------------------------------------------------------------- */

static Job *
job_ref (Job *job)
{
  g_atomic_ref_count_inc (&job->ref);
  return job;
}

static void
job_unref (gpointer data)
{
  Job *job = data;

  if (job == NULL || !g_atomic_ref_count_dec (&job->ref))
    return;
  g_weak_ref_clear (&job->page);
  g_main_context_unref (job->context);
  g_object_unref (job->cancel);
  kan_dataset_free (job->data);
  g_free (job->in_dims);
  kan_discover_result_free (job->result);
  g_clear_error (&job->error);
  g_free (job);
}

static void
progress_free (gpointer data)
{
  Progress *m = data;

  job_unref (m->job);
  g_free (m->stage);
  g_free (m->best_text);
  g_ptr_array_unref (m->new_text);
  g_array_unref (m->new_complexity);
  g_array_unref (m->new_rmse);
  g_free (m);
}

/* Runs on the main loop: the page shows M if it still runs M's search. */
static gboolean
progress_dispatch (gpointer data)
{
  Progress *m = data;
  g_autoptr (KanvasDiscover) self = g_weak_ref_get (&m->job->page);

  if (self == NULL || self->job != m->job)
    return G_SOURCE_REMOVE;
  g_free (self->stage);
  self->stage = g_strdup (m->stage);
  self->n_candidates = m->n_candidates;
  if (m->best_text)
    {
      g_autofree char *line = g_strdup_printf ("Best so far: %s (test RMSE %.3g)", m->best_text,
                                               m->best_rmse);
      gtk_label_set_text (self->best_label, line);
      gtk_widget_set_visible (GTK_WIDGET (self->best_label), TRUE);
    }
  /* Every formula tried becomes a point of the live plot as it arrives. */
  for (guint q = 0; q < m->new_text->len; q++)
    kan_pareto_view_add (self->view, g_array_index (m->new_complexity, int, q),
                         g_array_index (m->new_rmse, double, q), m->new_text->pdata[q],
                         KAN_PARETO_LIVE);
  if (m->new_text->len)
    gtk_widget_queue_draw (GTK_WIDGET (self->plot));
  return G_SOURCE_REMOVE;
}

/* Called by kan_discover on the search thread. */
static void
on_progress (const KanDiscoverProgress *p,
             gpointer                   data)
{
  Job *job = data;
  Progress *m = g_new0 (Progress, 1);

  m->job = job_ref (job);
  m->stage = g_strdup (p->stage);
  m->best_text = g_strdup (p->best_text);
  m->n_candidates = p->n_candidates;
  m->best_rmse = p->best_rmse;
  m->seconds = p->seconds;
  m->complexity = -1;
  m->new_text = g_ptr_array_new_with_free_func (g_free);
  m->new_complexity = g_array_new (FALSE, FALSE, sizeof (int));
  m->new_rmse = g_array_new (FALSE, FALSE, sizeof (double));
  for (; job->sent < p->n_candidates && p->candidates; job->sent++)
    {
      const KanDiscoverCandidate *c = p->candidates[job->sent];
      double v = isfinite (c->test_rmse) ? c->test_rmse : c->train_rmse;
      if (!isfinite (v))
        continue;
      g_ptr_array_add (m->new_text, g_strdup (c->text));
      g_array_append_val (m->new_complexity, c->complexity);
      g_array_append_val (m->new_rmse, v);
    }
  if (p->best_text)
    {
      /* The complexity measure of discover (kan_expr_size), read back from the text. */
      g_autoptr (KanExpr) e = kan_expr_parse (p->best_text,
                                              (const char *const *) job->data->in_names, NULL,
                                              NULL);
      if (e)
        m->complexity = kan_expr_size (e);
    }
  g_main_context_invoke_full (job->context, G_PRIORITY_DEFAULT, progress_dispatch, m,
                              progress_free);
}

static gboolean
done_dispatch (gpointer data)
{
  Job *job = data;
  g_autoptr (KanvasDiscover) self = g_weak_ref_get (&job->page);

  if (self && self->job == job)
    finish (self, job);
  return G_SOURCE_REMOVE;
}

static gpointer
run_job (gpointer data)
{
  Job *job = data;

  kan_discover (job->data, &job->opts, &job->result, &job->error);
  /* Hands the thread's reference to the message. */
  g_main_context_invoke_full (job->context, G_PRIORITY_DEFAULT, done_dispatch, job, job_unref);
  return NULL;
}

/* Page state -------------------------------------------------------------------------------- */

static void
show_error (KanvasDiscover *self,
            const char     *text)
{
  gtk_label_set_text (self->error_label, text ? text : "");
  gtk_widget_set_visible (GTK_WIDGET (self->error_label), text != NULL);
}

static void
set_action_enabled (KanvasDiscover *self,
                    const char     *name,
                    gboolean        on)
{
  GAction *a = g_action_map_lookup_action (G_ACTION_MAP (self->window), name);

  if (a)
    g_simple_action_set_enabled (G_SIMPLE_ACTION (a), on);
}

static void
update_controls (KanvasDiscover *self)
{
  gboolean running = self->job != NULL;

  set_action_enabled (self, "discover", !running);
  set_action_enabled (self, "discover-cancel", running);
  gtk_widget_set_visible (self->cancel_button, running);
  gtk_widget_set_visible (GTK_WIDGET (self->progress_bar), running);
  gtk_widget_set_sensitive (GTK_WIDGET (self->time_spin), !running);
  gtk_widget_set_sensitive (GTK_WIDGET (self->units_row), !running);
}

static gboolean
tick (gpointer data)
{
  KanvasDiscover *self = data;
  double elapsed = (g_get_monotonic_time () - self->started) / (double) G_USEC_PER_SEC;
  g_autofree char *text = NULL;

  text = g_strdup_printf ("%s  ·  %d formula%s tried  ·  %.1f s", self->stage ? self->stage
                          : "starting", self->n_candidates, self->n_candidates == 1 ? "" : "s",
                          elapsed);
  gtk_label_set_text (self->status_label, text);
  if (self->time_limit > 0)
    gtk_progress_bar_set_fraction (self->progress_bar, MIN (elapsed / self->time_limit, 1.0));
  else
    gtk_progress_bar_pulse (self->progress_bar);
  return G_SOURCE_CONTINUE;
}

/* Units ------------------------------------------------------------------------------------- */

/* One entry per column of the session's data; rebuilt (from the CSV header's units) only when
 * the columns change, so what a person typed stays. */
static void
sync_unit_rows (KanvasDiscover *self)
{
  const KanSession *s = kanvas_window_get_session (self->window);
  const KanDataset *d = s ? s->data : NULL;
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  g_auto (GStrv) cols = NULL;

  if (d)
    {
      g_strv_builder_addv (b, (const char **) d->in_names);
      g_strv_builder_add (b, d->out_names[0]);
    }
  cols = g_strv_builder_end (b);
  if (self->unit_columns && g_strv_equal ((const char *const *) cols,
                                          (const char *const *) self->unit_columns))
    return;
  for (guint k = 0; k < self->unit_rows->len; k++)
    adw_expander_row_remove (self->units_row, g_ptr_array_index (self->unit_rows, k));
  g_ptr_array_set_size (self->unit_rows, 0);
  for (int c = 0; cols[c]; c++)
    {
      GtkWidget *row = adw_entry_row_new ();
      gboolean out = c == d->n_in;
      char **header = out ? d->out_units : d->in_units;
      g_autofree char *title = out ? g_strdup_printf ("%s (output)", cols[c]) : g_strdup (cols[c]);

      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
      if (header && header[out ? 0 : c])
        gtk_editable_set_text (GTK_EDITABLE (row), header[out ? 0 : c]);
      adw_expander_row_add_row (self->units_row, row);
      g_ptr_array_add (self->unit_rows, row);
    }
  g_strfreev (self->unit_columns);
  self->unit_columns = g_steal_pointer (&cols);
}

/* The units the entries give, as kan_units_for_dataset reads them; *IN_DIMS stays NULL when no
 * column has one. An error names the column and marks its entry. */
static gboolean
units_from_rows (KanvasDiscover  *self,
                 const KanDataset *d,
                 KanDim         **in_dims,
                 KanDim          *out_dim,
                 GError         **error)
{
  g_autoptr (GString) spec = g_string_new (NULL);
  g_autofree KanDim *dims = g_new0 (KanDim, d->n_in);
  gboolean have = FALSE;

  for (guint k = 0; k < self->unit_rows->len; k++)
    {
      GtkWidget *row = g_ptr_array_index (self->unit_rows, k);
      g_autofree char *unit = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (row))));
      g_autofree char *problem = NULL;
      KanDim dim;
      long pos = 0;

      gtk_widget_remove_css_class (row, "error");
      if (*unit == '\0')
        continue;
      /* Checked one by one first, so that a message points at the entry, not into a spec. */
      if (!kan_units_parse_detail (unit, &dim, &pos, &problem))
        {
          gtk_widget_add_css_class (row, "error");
          g_set_error (error, KAN_ERROR, KAN_ERROR_PARSE, "Unit of %s, '%s', at character %ld: %s",
                       self->unit_columns[k], unit, pos, problem);
          return FALSE;
        }
      g_string_append_printf (spec, "%s%s=%s", spec->len ? "," : "", self->unit_columns[k],
                              unit);
    }
  if (!kan_units_for_dataset (d, spec->str, dims, out_dim, &have, error))
    {
      g_prefix_error (error, "Units: ");
      return FALSE;
    }
  *in_dims = have ? g_steal_pointer (&dims) : NULL;
  return TRUE;
}

/* The selected formula ----------------------------------------------------------------------- */

static const KanDiscoverCandidate *
candidate (KanvasDiscover *self,
           int             i)
{
  if (self->result == NULL || i < 0 || i >= (int) self->result->pareto->len)
    return NULL;
  return g_ptr_array_index (self->result->pareto, i);
}

static void
show_candidate (KanvasDiscover *self,
                int             i)
{
  const KanDiscoverCandidate *c = candidate (self, i);
  const char *const *names;
  g_autofree char *main_text = NULL;
  g_autofree char *detail = NULL;

  gtk_widget_set_visible (self->formula_box, c != NULL);
  if (c == NULL)
    return;
  names = (const char *const *) self->data->in_names;
  gtk_label_set_text (self->formula_title, c == self->result->best ? "Chosen formula"
                      : "Selected formula");
  /* Fitted constants carry their standard errors; snapped ones are exact. */
  if (c->fit && c->fit->n > 0)
    main_text = kan_expr_to_string_with_errors (c->expr, c->fit, names, KAN_EXPR_STYLE_TEXT);
  gtk_label_set_text (self->formula_label, main_text ? main_text : c->text);
  detail = g_strdup_printf ("complexity %d  ·  test RMSE %.3g  ·  train RMSE %.3g  ·  width %s, "
                            "seed %" G_GUINT64_FORMAT "  ·  edges %s%s", c->complexity,
                            c->test_rmse, c->train_rmse, c->width, c->seed,
                            c->lock ? c->lock : "—",
                            c == self->result->best && self->result->exact ? "  ·  exact" : "");
  gtk_label_set_text (self->detail_label, detail);
  for (int s = 0; s < N_STYLES; s++)
    {
      g_autofree char *t = kan_expr_to_string (c->expr, names, (KanExprStyle) s);
      gtk_label_set_text (self->style_labels[s], t);
    }
}

/* Whether A and B hold the same rows (a loaded network then belongs to the session's data). */
static gboolean
same_data (const KanDataset *a,
           const KanDataset *b)
{
  if (a == NULL || b == NULL || a->n_in != b->n_in || a->n_out != b->n_out
      || a->n_train != b->n_train || a->n_test != b->n_test)
    return FALSE;
  return memcmp (a->train_x, b->train_x, a->n_train * a->n_in * sizeof (double)) == 0
         && memcmp (a->train_y, b->train_y, a->n_train * a->n_out * sizeof (double)) == 0
         && (a->n_test == 0
             || (memcmp (a->test_x, b->test_x, a->n_test * a->n_in * sizeof (double)) == 0
                 && memcmp (a->test_y, b->test_y, a->n_test * a->n_out * sizeof (double)) == 0));
}

/* Puts candidate C's locked network into the session as a "discover" history entry. */
static gboolean
load_candidate (KanvasDiscover              *self,
                const KanDiscoverCandidate  *c,
                GError                     **error)
{
  KanvasWindow *win = self->window;
  KanSession *s = (KanSession *) kanvas_window_get_session (win);
  KanDiscoverResult chosen = *self->result;
  g_autoptr (KanSession) found = NULL;
  const KanHistoryEntry *e;

  if (kanvas_window_is_training (win))
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID,
                   "Stop training first: a formula's network is loaded while no run holds the "
                   "model.");
      return FALSE;
    }
  if (c->model == NULL)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID,
                   "%s was found by dimensional analysis alone; it has no network to load.",
                   c->text);
      return FALSE;
    }
  /* kan_ops_discover_session builds the session of the result's best: make C the best. */
  chosen.best = c;
  found = kan_ops_discover_session (&chosen, self->data);
  if (!same_data (s->data, found->data))
    {
      /* Other data (the session changed since, or dimensionless groups): the models before
       * belong to other data and are no longer states to return to. */
      kan_dataset_free (s->data);
      s->data = g_steal_pointer (&found->data);
      for (guint h = 0; h < s->history->len; h++)
        g_clear_pointer (&((KanHistoryEntry *) g_ptr_array_index (s->history, h))->model,
                         kan_model_free);
      win->hist_pos = -1;
    }
  kan_model_free (s->model);
  s->model = g_steal_pointer (&found->model);
  e = g_ptr_array_index (found->history, found->history->len - 1);
  kanvas_window_record (win, e->op, e->detail);
  self->loaded_entry = g_ptr_array_index (s->history, s->history->len - 1);
  kanvas_window_model_changed (win);
  return TRUE;
}

gboolean
kanvas_discover_select (KanvasDiscover  *self,
                        int              i,
                        GError         **error)
{
  const KanDiscoverCandidate *c;
  const KanSession *s;

  g_return_val_if_fail (KANVAS_IS_DISCOVER (self), FALSE);
  c = candidate (self, i);
  if (c == NULL)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID, "There is no formula %d to select.", i);
      return FALSE;
    }
  kan_pareto_view_set_selected (self->view, i);
  show_candidate (self, i);
  gtk_widget_queue_draw (GTK_WIDGET (self->plot));
  /* Selecting the network that is on the canvas already adds nothing to the history. */
  s = kanvas_window_get_session (self->window);
  if (i == self->loaded && self->window->hist_pos >= 0
      && g_ptr_array_index (s->history, self->window->hist_pos) == (gpointer) self->loaded_entry)
    return TRUE;
  if (!load_candidate (self, c, error))
    return FALSE;
  self->loaded = i;
  g_message ("discover: loaded %s", c->text);
  return TRUE;
}

/* The end of a search ----------------------------------------------------------------------- */

static void
finish (KanvasDiscover *self,
        Job            *job)
{
  KanDiscoverResult *r;
  g_autofree char *status = NULL;
  /* Only the Cancel button cancels JOB's cancellable; the time limit stops the engine inside. */
  gboolean cancelled = g_cancellable_is_cancelled (job->cancel);
  double elapsed = (g_get_monotonic_time () - self->started) / (double) G_USEC_PER_SEC;
  int best = -1;

  g_clear_handle_id (&self->tick_id, g_source_remove);
  gtk_widget_set_visible (GTK_WIDGET (self->best_label), FALSE);
  self->result = g_steal_pointer (&job->result);
  if (self->result == NULL)
    {
      if (g_error_matches (job->error, KAN_ERROR, KAN_ERROR_CANCELLED))
        status = g_strdup_printf ("%s after %.1f s, before any formula was found.",
                                  cancelled ? "Cancelled" : "Out of time", elapsed);
      else
        {
          g_autofree char *text = g_strdup_printf ("Discover failed: %s", job->error->message);
          status = g_strdup ("No formula.");
          show_error (self, text);
          kanvas_window_toast (self->window, "%s", text);
        }
      g_message ("discover: %s", job->error->message);
      kan_pareto_view_clear (self->view);
    }
  else
    {
      r = self->result;
      kan_pareto_view_clear (self->view);
      for (guint q = 0; q < r->pareto->len; q++)
        {
          const KanDiscoverCandidate *c = g_ptr_array_index (r->pareto, q);
          kan_pareto_view_add (self->view, c->complexity, c->test_rmse, c->text,
                               KAN_PARETO_FRONT);
          if (c == r->best)
            best = (int) q;
        }
      kan_pareto_view_set_best (self->view, best);
      if (r->stopped)
        status = g_strdup_printf ("%s after %.1f s: the best of %d formula%s found so far.",
                                  cancelled ? "Cancelled" : "Time limit reached", r->seconds,
                                  r->n_candidates, r->n_candidates == 1 ? "" : "s");
      else
        status = g_strdup_printf ("%s  ·  %d formula%s in %.1f s.",
                                  r->exact ? "Exact formula found"
                                  : r->within_noise ? "As close as the noise allows"
                                  : "Approximate: the most accurate formulas are shown",
                                  r->n_candidates, r->n_candidates == 1 ? "" : "s", r->seconds);
      g_message ("discover: %s: %s (%d formulas, %.2f s)", r->stopped ? "stopped"
                 : r->exact ? "exact" : r->within_noise ? "within noise" : "approximate",
                 r->best->text,
                 r->n_candidates, r->seconds);
    }
  gtk_label_set_text (self->status_label, status);
  g_clear_pointer (&self->job, job_unref);
  update_controls (self);
  gtk_widget_queue_draw (GTK_WIDGET (self->plot));
  if (best >= 0)
    {
      g_autoptr (GError) error = NULL;
      if (!kanvas_discover_select (self, best, &error))
        {
          /* Shown, but not loaded (e.g. training meanwhile): a click loads it later. */
          kanvas_window_toast (self->window, "%s", error->message);
          g_message ("discover: %s", error->message);
        }
    }
}

/* Starting and cancelling ------------------------------------------------------------------- */

gboolean
kanvas_discover_start (KanvasDiscover  *self,
                       GError         **error)
{
  const KanSession *s;
  g_autofree KanDim *in_dims = NULL;
  KanDim out_dim;
  GError *local = NULL;
  GThread *thread;
  Job *job;

  g_return_val_if_fail (KANVAS_IS_DISCOVER (self), FALSE);
  s = kanvas_window_get_session (self->window);
  show_error (self, NULL);
  if (self->job)
    g_set_error (&local, KAN_ERROR, KAN_ERROR_INVALID,
                 "A search is running already: cancel it first.");
  else if (kanvas_window_is_training (self->window))
    g_set_error (&local, KAN_ERROR, KAN_ERROR_INVALID,
                 "Stop training first: discover starts while no run is in progress.");
  else if (s->data == NULL)
    g_set_error (&local, KAN_ERROR, KAN_ERROR_INVALID,
                 "There is no data: build or open a session first.");
  else if (s->train.loss == KAN_LOSS_CE)
    g_set_error (&local, KAN_ERROR, KAN_ERROR_INVALID,
                 "Discover finds a formula for a numeric output; this session classifies "
                 "(cross-entropy loss).");
  else if (s->data->n_out != 1)
    g_set_error (&local, KAN_ERROR, KAN_ERROR_INVALID,
                 "Discover finds a formula for one output; the data have %d.", s->data->n_out);
  else
    {
      sync_unit_rows (self);
      if (units_from_rows (self, s->data, &in_dims, &out_dim, &local))
        goto start;
    }
  show_error (self, local->message);
  g_propagate_error (error, local);
  return FALSE;

start:
  job = g_new0 (Job, 1);
  g_atomic_ref_count_init (&job->ref);
  g_weak_ref_init (&job->page, self);
  job->context = g_main_context_ref_thread_default ();
  job->cancel = g_cancellable_new ();
  job->data = kan_dataset_copy (s->data);
  kan_discover_options_init (&job->opts);
  job->opts.time_limit = gtk_spin_button_get_value (self->time_spin);
  job->opts.cancellable = job->cancel;
  job->opts.progress = on_progress;
  job->opts.progress_data = job;
  if (in_dims)
    {
      job->in_dims = g_steal_pointer (&in_dims);
      job->out_dim = out_dim;
      job->opts.in_dims = job->in_dims;
      job->opts.out_dim = &job->out_dim;
    }
  thread = g_thread_try_new ("kan-discover", run_job, job_ref (job), &local);
  if (thread == NULL)
    {
      job_unref (job);
      job_unref (job);
      show_error (self, local->message);
      g_propagate_error (error, local);
      return FALSE;
    }
  g_thread_unref (thread);

  self->job = job;
  g_clear_pointer (&self->result, kan_discover_result_free);
  kan_dataset_free (self->data);
  self->data = kan_dataset_copy (s->data);
  kan_pareto_view_clear (self->view);
  self->loaded = -1;
  self->loaded_entry = NULL;
  self->n_candidates = 0;
  g_clear_pointer (&self->stage, g_free);
  self->time_limit = job->opts.time_limit;
  self->started = g_get_monotonic_time ();
  gtk_progress_bar_set_fraction (self->progress_bar, 0);
  gtk_widget_set_visible (self->formula_box, FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self->best_label), FALSE);
  self->tick_id = g_timeout_add (TICK_MS, tick, self);
  tick (self);
  update_controls (self);
  gtk_widget_queue_draw (GTK_WIDGET (self->plot));
  g_message ("discover: started (time limit %g s%s)", self->time_limit,
             job->in_dims ? ", with units" : "");
  return TRUE;
}

void
kanvas_discover_cancel (KanvasDiscover *self)
{
  g_return_if_fail (KANVAS_IS_DISCOVER (self));
  if (self->job == NULL)
    return;
  g_cancellable_cancel (self->job->cancel);
  gtk_label_set_text (self->status_label, "Cancelling…");
  g_message ("discover: cancelling");
}

/* The plot ---------------------------------------------------------------------------------- */

static void
draw_plot (GtkDrawingArea *area,
           cairo_t        *cr,
           int             width,
           int             height,
           gpointer        data)
{
  KanvasDiscover *self = data;

  kan_pareto_view_draw (self->view, cr, &self->style, width, height);
}

static void
on_plot_released (GtkGestureClick *gesture,
                  int              n_press,
                  double           x,
                  double           y,
                  KanvasDiscover  *self)
{
  GtkWidget *plot = GTK_WIDGET (self->plot);
  int i = kan_pareto_view_hit (self->view, gtk_widget_get_width (plot),
                               gtk_widget_get_height (plot), x, y);
  g_autoptr (GError) error = NULL;

  /* Live points are only a preview; the finished search's points are its candidates. */
  if (i < 0 || self->job)
    return;
  if (!kanvas_discover_select (self, i, &error))
    {
      kanvas_window_toast (self->window, "%s", error->message);
      g_message ("discover: %s", error->message);
    }
}

static gboolean
on_plot_tooltip (GtkWidget      *plot,
                 int             x,
                 int             y,
                 gboolean        keyboard,
                 GtkTooltip     *tooltip,
                 KanvasDiscover *self)
{
  int i = kan_pareto_view_hit (self->view, gtk_widget_get_width (plot),
                               gtk_widget_get_height (plot), x, y);
  const KanParetoPoint *p = i >= 0 ? kan_pareto_view_get_point (self->view, i) : NULL;
  g_autofree char *text = NULL;

  if (p == NULL)
    return FALSE;
  text = g_strdup_printf ("%s\ncomplexity %d, test RMSE %.3g", p->text, p->complexity, p->rmse);
  gtk_tooltip_set_text (tooltip, text);
  return TRUE;
}

static void
on_dark_changed (AdwStyleManager *manager,
                 GParamSpec      *pspec,
                 KanvasDiscover  *self)
{
  if (adw_style_manager_get_dark (manager))
    kan_render_style_dark (&self->style);
  else
    kan_render_style_init (&self->style);
  gtk_widget_queue_draw (GTK_WIDGET (self->plot));
}

/* Window actions ---------------------------------------------------------------------------- */

static void
discover_action (GSimpleAction *action,
                 GVariant      *param,
                 gpointer       user_data)
{
  KanvasWindow *win = user_data;
  g_autoptr (GError) error = NULL;

  gtk_stack_set_visible_child_name (win->session_stack, "discover");
  if (!kanvas_discover_start (kanvas_window_get_discover (win), &error))
    {
      kanvas_window_toast (win, "%s", error->message);
      g_message ("discover: %s", error->message);
    }
}

static void
discover_cancel_action (GSimpleAction *action,
                        GVariant      *param,
                        gpointer       user_data)
{
  kanvas_discover_cancel (kanvas_window_get_discover (user_data));
}

static const GActionEntry discover_entries[] = {
  { "discover", discover_action },
  { "discover-cancel", discover_cancel_action },
};

/* Object ------------------------------------------------------------------------------------ */

static void
kanvas_discover_dispose (GObject *object)
{
  KanvasDiscover *self = KANVAS_DISCOVER (object);

  /* The thread stops at its next check and its messages find no page. */
  if (self->job)
    g_cancellable_cancel (self->job->cancel);
  g_clear_pointer (&self->job, job_unref);
  g_clear_handle_id (&self->tick_id, g_source_remove);
  gtk_widget_dispose_template (GTK_WIDGET (self), KANVAS_TYPE_DISCOVER);
  G_OBJECT_CLASS (kanvas_discover_parent_class)->dispose (object);
}

static void
kanvas_discover_finalize (GObject *object)
{
  KanvasDiscover *self = KANVAS_DISCOVER (object);

  g_clear_pointer (&self->unit_rows, g_ptr_array_unref);
  g_clear_pointer (&self->unit_columns, g_strfreev);
  g_clear_pointer (&self->data, kan_dataset_free);
  g_clear_pointer (&self->result, kan_discover_result_free);
  g_clear_pointer (&self->view, kan_pareto_view_free);
  g_clear_pointer (&self->stage, g_free);
  G_OBJECT_CLASS (kanvas_discover_parent_class)->finalize (object);
}

static void
kanvas_discover_class_init (KanvasDiscoverClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = kanvas_discover_dispose;
  object_class->finalize = kanvas_discover_finalize;
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/kanvas/Kanvas/ui/kanvas-discover.ui");
#define CHILD(name) gtk_widget_class_bind_template_child (widget_class, KanvasDiscover, name)
  CHILD (time_spin);
  CHILD (units_row);
  CHILD (error_label);
  CHILD (cancel_button);
  CHILD (progress_bar);
  CHILD (status_label);
  CHILD (best_label);
  CHILD (plot);
  CHILD (formula_box);
  CHILD (formula_title);
  CHILD (formula_label);
  CHILD (detail_label);
  CHILD (styles_grid);
#undef CHILD
}

static void
kanvas_discover_init (KanvasDiscover *self)
{
  GtkGesture *click;
  AdwStyleManager *style = adw_style_manager_get_default ();

  gtk_widget_init_template (GTK_WIDGET (self));
  self->unit_rows = g_ptr_array_new ();
  self->view = kan_pareto_view_new ();
  self->loaded = -1;
  for (int s = 0; s < N_STYLES; s++)
    {
      GtkWidget *name = gtk_label_new (style_titles[s]);
      GtkWidget *value = gtk_label_new (NULL);

      gtk_label_set_xalign (GTK_LABEL (name), 0);
      gtk_widget_add_css_class (name, "dim-label");
      gtk_widget_set_valign (name, GTK_ALIGN_START);
      gtk_label_set_xalign (GTK_LABEL (value), 0);
      gtk_label_set_wrap (GTK_LABEL (value), TRUE);
      gtk_label_set_wrap_mode (GTK_LABEL (value), PANGO_WRAP_WORD_CHAR);
      gtk_label_set_selectable (GTK_LABEL (value), TRUE);
      gtk_label_set_max_width_chars (GTK_LABEL (value), 28);
      gtk_widget_set_hexpand (value, TRUE);
      gtk_widget_add_css_class (value, "monospace");
      gtk_grid_attach (self->styles_grid, name, 0, s, 1, 1);
      gtk_grid_attach (self->styles_grid, value, 1, s, 1, 1);
      self->style_labels[s] = GTK_LABEL (value);
    }
  gtk_drawing_area_set_draw_func (self->plot, draw_plot, self, NULL);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->plot), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  "Pareto plot: test error against complexity", -1);
  click = gtk_gesture_click_new ();
  g_signal_connect (click, "released", G_CALLBACK (on_plot_released), self);
  gtk_widget_add_controller (GTK_WIDGET (self->plot), GTK_EVENT_CONTROLLER (click));
  g_signal_connect (self->plot, "query-tooltip", G_CALLBACK (on_plot_tooltip), self);
  g_signal_connect_object (style, "notify::dark", G_CALLBACK (on_dark_changed), self, 0);
  on_dark_changed (style, NULL, self);
  gtk_label_set_text (self->status_label, "Not started.");
}

/* The window's side ------------------------------------------------------------------------- */

void
kanvas_discover_attach (KanvasWindow *win)
{
  KanvasDiscover *self = g_object_new (KANVAS_TYPE_DISCOVER, NULL);

  self->window = win;
  win->discover = GTK_WIDGET (self);
  gtk_stack_add_titled (win->session_stack, GTK_WIDGET (self), "discover", "Discover");
  g_action_map_add_action_entries (G_ACTION_MAP (win), discover_entries,
                                   G_N_ELEMENTS (discover_entries), win);
  /* The units follow the session's columns whenever the page is shown. */
  g_signal_connect (self, "map", G_CALLBACK (sync_unit_rows), NULL);
  update_controls (self);
}

KanvasDiscover *
kanvas_window_get_discover (KanvasWindow *win)
{
  g_return_val_if_fail (KANVAS_IS_WINDOW (win), NULL);
  return KANVAS_DISCOVER (win->discover);
}

/* Settings and state, for scripts and tests ------------------------------------------------- */

void
kanvas_discover_set_time_limit (KanvasDiscover *self,
                                double          seconds)
{
  g_return_if_fail (KANVAS_IS_DISCOVER (self));
  gtk_spin_button_set_value (self->time_spin, seconds);
}

gboolean
kanvas_discover_set_unit (KanvasDiscover *self,
                          const char     *column,
                          const char     *unit)
{
  g_return_val_if_fail (KANVAS_IS_DISCOVER (self), FALSE);
  sync_unit_rows (self);
  for (guint k = 0; k < self->unit_rows->len; k++)
    if (g_strcmp0 (self->unit_columns[k], column) == 0)
      {
        gtk_editable_set_text (GTK_EDITABLE (g_ptr_array_index (self->unit_rows, k)), unit);
        return TRUE;
      }
  return FALSE;
}

gboolean
kanvas_discover_is_running (KanvasDiscover *self)
{
  g_return_val_if_fail (KANVAS_IS_DISCOVER (self), FALSE);
  return self->job != NULL;
}

const KanDiscoverResult *
kanvas_discover_get_result (KanvasDiscover *self)
{
  g_return_val_if_fail (KANVAS_IS_DISCOVER (self), NULL);
  return self->result;
}

const KanDataset *
kanvas_discover_get_data (KanvasDiscover *self)
{
  g_return_val_if_fail (KANVAS_IS_DISCOVER (self), NULL);
  return self->data;
}

const KanParetoView *
kanvas_discover_get_view (KanvasDiscover *self)
{
  g_return_val_if_fail (KANVAS_IS_DISCOVER (self), NULL);
  return self->view;
}

const char *
kanvas_discover_get_status (KanvasDiscover *self)
{
  g_return_val_if_fail (KANVAS_IS_DISCOVER (self), NULL);
  return gtk_label_get_text (self->status_label);
}

const char *
kanvas_discover_get_error (KanvasDiscover *self)
{
  g_return_val_if_fail (KANVAS_IS_DISCOVER (self), NULL);
  return gtk_widget_get_visible (GTK_WIDGET (self->error_label))
         ? gtk_label_get_text (self->error_label) : NULL;
}

const char *
kanvas_discover_get_formula (KanvasDiscover *self,
                             KanExprStyle    style)
{
  g_return_val_if_fail (KANVAS_IS_DISCOVER (self), NULL);
  g_return_val_if_fail (style < N_STYLES, NULL);
  if (kan_pareto_view_get_selected (self->view) < 0)
    return NULL;
  return style == KAN_EXPR_STYLE_TEXT ? gtk_label_get_text (self->formula_label)
                                      : gtk_label_get_text (self->style_labels[style]);
}
