/* kanvas-window.c — the workbench window.
 *
 * The window owns the session (model, data, settings, history). Training runs in a KanWorker on
 * a copy of the model; the window only draws the snapshots the worker publishes, and takes the
 * trained model back when the run ends. Edits to data or model replace the worker, so no
 * callback of an old run can reach a new model.
 */
#include "kanvas-window-private.h"

#include <math.h>
#include <string.h>
#include "kan-render.h"
#include "kan-ops.h"
#include "kanvas-examples.h"
#include "kanvas-discover.h"
#include "kanvas-lesson.h"

G_DEFINE_FINAL_TYPE (KanvasWindow, kanvas_window, ADW_TYPE_APPLICATION_WINDOW)

static void     update_title    (KanvasWindow  *self);
static void     update_controls (KanvasWindow  *self);
static void     reset_worker    (KanvasWindow  *self);
static gboolean has_unsaved     (KanvasWindow  *self);
static void     save_as_action  (GSimpleAction *action,
                                 GVariant      *param,
                                 gpointer       user_data);

/* Messages ------------------------------------------------------------------------------------ */

void
kanvas_window_toast (KanvasWindow *self,
                     const char   *format,
                     ...)
{
  g_autofree char *text = NULL;
  g_autofree char *markup = NULL;
  AdwToast *t;
  va_list args;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  /* Toast titles are Pango markup; messages from the core may hold '<' or '&'. */
  markup = g_markup_escape_text (text, -1);
  g_free (self->last_message);
  self->last_message = g_strdup (text);
  t = adw_toast_new (markup);
  adw_toast_set_timeout (t, 6);
  kanvas_window_add_toast (self, t, KANVAS_TOAST_PLAIN);
}

/* The step toast went (timed out or dismissed by the user). */
static void
on_step_toast_dismissed (AdwToast     *toast,
                         KanvasWindow *self)
{
  self->n_step_toasts--;
  if (self->step_toast == toast)
    g_clear_object (&self->step_toast);
}

void
kanvas_window_add_toast (KanvasWindow   *self,
                         AdwToast       *toast,
                         KanvasToastKind kind)
{
  /* Steps in quick succession do not queue up: while the toast of one is there (shown, or
   * waiting behind a message), the next one takes it over. It is never dismissed from here:
   * libadwaita 1.2 frees a toast twice when one that a high-priority toast pushed back is
   * dismissed, and crashes when one is dismissed during its show animation. */
  if (kind != KANVAS_TOAST_PLAIN && self->step_toast)
    {
      adw_toast_set_title (self->step_toast, adw_toast_get_title (toast));
      adw_toast_set_button_label (self->step_toast, adw_toast_get_button_label (toast));
      adw_toast_set_action_name (self->step_toast, adw_toast_get_action_name (toast));
      adw_toast_set_timeout (self->step_toast, adw_toast_get_timeout (toast));
      g_object_unref (toast);
      return;
    }
  if (kind == KANVAS_TOAST_STEP_FIRST)
    adw_toast_set_priority (toast, ADW_TOAST_PRIORITY_HIGH);
  if (kind != KANVAS_TOAST_PLAIN)
    {
      self->step_toast = g_object_ref (toast);
      self->n_step_toasts++;
      g_signal_connect_object (toast, "dismissed", G_CALLBACK (on_step_toast_dismissed), self, 0);
    }
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

static void
set_row_error (gpointer row,
               gboolean on)
{
  if (on)
    gtk_widget_add_css_class (GTK_WIDGET (row), "error");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (row), "error");
}

static void
clear_errors (KanvasWindow *self)
{
  set_row_error (self->formula_row, FALSE);
  set_row_error (self->ranges_row, FALSE);
  set_row_error (self->csv_file_row, FALSE);
  set_row_error (self->target_row, FALSE);
  set_row_error (self->width_row, FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self->error_label), FALSE);
}

static void
show_error (KanvasWindow *self,
            gpointer      row,
            const GError *error)
{
  if (row)
    set_row_error (row, TRUE);
  gtk_label_set_text (self->error_label, error->message);
  gtk_widget_set_visible (GTK_WIDGET (self->error_label), TRUE);
}

/* Panel ----------------------------------------------------------------------------------------- */

static void
update_source_rows (KanvasWindow *self)
{
  DataSource src = adw_combo_row_get_selected (self->source_row);

  gtk_widget_set_visible (GTK_WIDGET (self->formula_row), src == SOURCE_FORMULA);
  gtk_widget_set_visible (GTK_WIDGET (self->ranges_row), src == SOURCE_FORMULA);
  gtk_widget_set_visible (GTK_WIDGET (self->csv_file_row), src == SOURCE_CSV);
  gtk_widget_set_visible (GTK_WIDGET (self->target_row), src == SOURCE_CSV);
  gtk_widget_set_visible (GTK_WIDGET (self->test_fraction_row), src == SOURCE_CSV);
  gtk_widget_set_visible (GTK_WIDGET (self->samples_row),
                          src == SOURCE_FORMULA || src == SOURCE_MOONS);
  gtk_widget_set_visible (GTK_WIDGET (self->test_samples_row),
                          src == SOURCE_FORMULA || src == SOURCE_MOONS);
  gtk_widget_set_visible (GTK_WIDGET (self->noise_row),
                          src == SOURCE_FORMULA || src == SOURCE_MOONS);
  adw_action_row_set_subtitle (self->noise_row, src == SOURCE_MOONS
                               ? "Standard deviation of the points"
                               : "Relative to the spread of the labels");
}

/* Settings that belong to the data, not to the user's taste: a new source gets the loss and
 * noise that fit it, and the width is made again from the data (its inputs and outputs). */
static void
panel_defaults_for_source (KanvasWindow *self,
                           DataSource    src)
{
  if (src == SOURCE_KEEP)
    return;
  adw_combo_row_set_selected (self->loss_row, src == SOURCE_MOONS ? KAN_LOSS_CE : KAN_LOSS_MSE);
  gtk_spin_button_set_value (self->noise_spin, src == SOURCE_MOONS
                             ? kanvas_example_lookup ("two-moons")->noise : 0);
  gtk_editable_set_text (GTK_EDITABLE (self->width_row), "");
}

static void
on_source_changed (KanvasWindow *self)
{
  update_source_rows (self);
  if (!self->loading_panel)
    panel_defaults_for_source (self, adw_combo_row_get_selected (self->source_row));
}

/* An edit of the panel: the last error message was about the settings before it. */
static void
on_panel_edited (KanvasWindow *self)
{
  if (!self->loading_panel)
    clear_errors (self);
}

static void
on_optimizer_changed (KanvasWindow *self)
{
  double lr = gtk_spin_button_get_value (self->lr_spin);

  if (self->loading_panel)
    return;
  /* pykan's lr = 1 suits L-BFGS and LM; Adam wants about 0.01. */
  if (adw_combo_row_get_selected (self->optimizer_row) == KAN_OPT_ADAM && lr == 1)
    gtk_spin_button_set_value (self->lr_spin, 0.01);
  else if (adw_combo_row_get_selected (self->optimizer_row) != KAN_OPT_ADAM && lr == 0.01)
    gtk_spin_button_set_value (self->lr_spin, 1);
}

static char *
ranges_text (const double *ranges,
             int           n)
{
  GString *s = g_string_new (NULL);
  gboolean same = TRUE;

  for (int v = 1; v < n; v++)
    same = same && ranges[2 * v] == ranges[0] && ranges[2 * v + 1] == ranges[1];
  for (int v = 0; v < (same ? MIN (n, 1) : n); v++)
    g_string_append_printf (s, "%s%g,%g", v ? ":" : "", ranges[2 * v], ranges[2 * v + 1]);
  return g_string_free (s, FALSE);
}

static void
set_targets (KanvasWindow      *self,
             const char *const *names,
             const char        *selected)
{
  guint n_old = g_list_model_get_n_items (G_LIST_MODEL (self->targets));
  guint pick = 0, n = names ? g_strv_length ((char **) names) : 0;

  gtk_string_list_splice (self->targets, 0, n_old, names);
  for (guint c = 0; c < n; c++)
    if (g_strcmp0 (names[c], selected) == 0)
      pick = c;
  if (n > 0)
    adw_combo_row_set_selected (self->target_row, selected ? pick : n - 1);
}

static void
panel_from_session (KanvasWindow *self)
{
  const KanSession *s = self->session;
  const KanDataset *d = s->data;
  const KanTrainConfig *c = &s->train;

  self->loading_panel = TRUE;
  clear_errors (self);
  if (d && d->source == KAN_DATA_FORMULA)
    {
      g_autofree char *r = ranges_text (d->ranges, d->n_in);
      adw_combo_row_set_selected (self->source_row, SOURCE_FORMULA);
      gtk_editable_set_text (GTK_EDITABLE (self->formula_row), d->formula ? d->formula : "");
      gtk_editable_set_text (GTK_EDITABLE (self->ranges_row), r);
    }
  else if (d && d->source == KAN_DATA_CSV)
    {
      GPtrArray *names = g_ptr_array_new ();
      adw_combo_row_set_selected (self->source_row, SOURCE_CSV);
      g_free (self->csv_path);
      self->csv_path = g_strdup (d->csv_path);
      adw_action_row_set_subtitle (self->csv_file_row, d->csv_path ? d->csv_path : "(stored in the session)");
      for (int v = 0; v < d->n_in; v++)
        g_ptr_array_add (names, d->in_names[v]);
      for (int v = 0; v < d->n_out; v++)
        g_ptr_array_add (names, d->out_names[v]);
      g_ptr_array_add (names, NULL);
      set_targets (self, (const char *const *) names->pdata, d->out_names[0]);
      g_ptr_array_free (names, TRUE);
      gtk_spin_button_set_value (self->test_fraction_spin, d->test_fraction);
    }
  else if (d)
    adw_combo_row_set_selected (self->source_row, SOURCE_KEEP);
  if (d)
    {
      gtk_spin_button_set_value (self->noise_spin, d->noise);
      gtk_spin_button_set_value (self->train_spin, d->n_train);
      gtk_spin_button_set_value (self->test_spin, d->n_test);
      gtk_spin_button_set_value (self->data_seed_spin, d->seed);
    }
  if (s->model)
    {
      g_autofree char *w = kan_shape_to_string (kan_model_shape (s->model));
      gtk_editable_set_text (GTK_EDITABLE (self->width_row), w);
      gtk_spin_button_set_value (self->grid_spin, kan_model_grid (s->model));
      gtk_spin_button_set_value (self->k_spin, kan_model_k (s->model));
    }
  adw_combo_row_set_selected (self->optimizer_row, c->opt);
  adw_combo_row_set_selected (self->loss_row, c->loss);
  gtk_spin_button_set_value (self->steps_spin, c->steps);
  gtk_spin_button_set_value (self->lr_spin, c->lr);
  gtk_spin_button_set_value (self->lamb_spin, c->lamb);
  adw_expander_row_set_enable_expansion (self->grid_update_row, c->update_grid);
  gtk_spin_button_set_value (self->grid_updates_spin, c->grid_update_num);
  update_source_rows (self);
  self->loading_panel = FALSE;
}

static void
train_config_from_panel (KanvasWindow   *self,
                         KanTrainConfig *cfg)
{
  *cfg = self->session->train;
  cfg->opt = adw_combo_row_get_selected (self->optimizer_row);
  cfg->loss = adw_combo_row_get_selected (self->loss_row);
  cfg->steps = gtk_spin_button_get_value_as_int (self->steps_spin);
  cfg->lr = gtk_spin_button_get_value (self->lr_spin);
  cfg->lamb = gtk_spin_button_get_value (self->lamb_spin);
  cfg->update_grid = adw_expander_row_get_enable_expansion (self->grid_update_row);
  cfg->grid_update_num = gtk_spin_button_get_value_as_int (self->grid_updates_spin);
}

/* Builds the data set the panel describes; on failure says which row is wrong. */
static KanDataset *
dataset_from_panel (KanvasWindow  *self,
                    gpointer      *bad_row,
                    GError       **error)
{
  guint n_train = gtk_spin_button_get_value_as_int (self->train_spin);
  guint n_test = gtk_spin_button_get_value_as_int (self->test_spin);
  double noise = gtk_spin_button_get_value (self->noise_spin);
  guint64 seed = (guint64) gtk_spin_button_get_value (self->data_seed_spin);

  switch ((DataSource) adw_combo_row_get_selected (self->source_row))
    {
    case SOURCE_FORMULA:
      {
        KanFormulaSpec spec;
        g_autofree double *ranges = NULL;
        const char *r = gtk_editable_get_text (GTK_EDITABLE (self->ranges_row));
        KanDataset *d;

        kan_formula_spec_init (&spec);
        if (!kan_parse_ranges (*r ? r : "-1,1", &ranges, &spec.n_ranges, error))
          {
            *bad_row = self->ranges_row;
            return NULL;
          }
        spec.formula = gtk_editable_get_text (GTK_EDITABLE (self->formula_row));
        spec.ranges = ranges;
        spec.n_train = n_train;
        spec.n_test = n_test;
        spec.noise = noise;
        spec.seed = seed;
        d = kan_dataset_from_formula (&spec, error);
        if (d == NULL)
          *bad_row = (error && *error && strstr ((*error)->message, "range"))
                     ? (gpointer) self->ranges_row : (gpointer) self->formula_row;
        return d;
      }
    case SOURCE_CSV:
      {
        GtkStringObject *target = adw_combo_row_get_selected_item (self->target_row);
        if (self->csv_path == NULL)
          {
            *bad_row = self->csv_file_row;
            g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID, "Choose a CSV file first.");
            return NULL;
          }
        if (target == NULL)
          {
            *bad_row = self->target_row;
            g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID, "Choose the target column.");
            return NULL;
          }
        *bad_row = self->csv_file_row;
        return kan_dataset_from_csv (self->csv_path, gtk_string_object_get_string (target),
                                     gtk_spin_button_get_value (self->test_fraction_spin), seed,
                                     error);
      }
    case SOURCE_MOONS:
      return kanvas_two_moons (n_train, n_test, noise, seed);
    case SOURCE_KEEP:
    default:
      if (self->session->data == NULL)
        {
          *bad_row = self->source_row;
          g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID, "The session has no data to keep.");
          return NULL;
        }
      return kan_dataset_copy (self->session->data);
    }
}

static KanModel *
model_from_panel (KanvasWindow      *self,
                  const KanDataset  *d,
                  KanLoss            loss,
                  char             **detail,
                  GError           **error)
{
  KanModelConfig cfg;
  g_autoptr (KanShape) shape = NULL;
  g_autofree char *width = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->width_row))));
  int n_out = loss == KAN_LOSS_CE ? kan_dataset_n_classes (d) : d->n_out;
  KanModel *m;

  if (*width == '\0')
    {
      g_free (width);
      width = g_strdup_printf ("%d,5,%d", d->n_in, n_out);
    }
  shape = kan_shape_parse (width, NULL, error);
  if (shape == NULL)
    return NULL;
  if (kan_shape_nodes (shape, 0) != d->n_in)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_SHAPE,
                   "Width %s has %d input%s but the data has %d (%s…).", width,
                   kan_shape_nodes (shape, 0), kan_shape_nodes (shape, 0) == 1 ? "" : "s",
                   d->n_in, d->in_names[0]);
      return NULL;
    }
  if (kan_shape_nodes (shape, shape->n_layers - 1) != n_out)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_SHAPE,
                   loss == KAN_LOSS_CE ? "Width %s has %d outputs but the data has %d classes."
                                       : "Width %s has %d outputs but the data has %d.",
                   width, kan_shape_nodes (shape, shape->n_layers - 1), n_out);
      return NULL;
    }
  kan_model_config_init (&cfg);
  cfg.shape = shape;
  cfg.grid = gtk_spin_button_get_value_as_int (self->grid_spin);
  cfg.k = gtk_spin_button_get_value_as_int (self->k_spin);
  cfg.seed = (guint64) gtk_spin_button_get_value (self->model_seed_spin);
  m = kan_model_new (&cfg, error);
  if (m && detail)
    *detail = g_strdup_printf ("width=%s grid=%d k=%d seed=%" G_GUINT64_FORMAT, width, cfg.grid,
                               cfg.k, cfg.seed);
  return m;
}

/* Session ----------------------------------------------------------------------------------------- */

static void
refresh_snapshot (KanvasWindow *self)
{
  const KanSession *s = self->session;
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) outs = NULL;
  KanSnapshot *snap;

  if (s->model == NULL || s->data == NULL)
    {
      kanvas_canvas_set_snapshot (self->canvas, NULL);
      return;
    }
  outs = kan_output_names (s->data, s->train.loss, kan_model_n_out (s->model));
  snap = kan_snapshot_new (s->model, s->data->train_x, s->data->n_train,
                           (const char *const *) s->data->in_names,
                           (const char *const *) outs, &error);
  if (snap == NULL)
    kanvas_window_toast (self, "Cannot draw the network: %s", error->message);
  kanvas_canvas_set_snapshot (self->canvas, snap);
}

static gboolean
is_classification (KanvasWindow *self)
{
  return self->session->train.loss == KAN_LOSS_CE;
}

/* A's length becomes N, new places unknown (NaN). */
static void
curve_pad (GArray *a,
           guint   n)
{
  double nan = NAN;

  g_array_set_size (a, MIN (a->len, n));
  while (a->len < n)
    g_array_append_val (a, nan);
}

/* The same, and V its last value. */
static void
curve_put (GArray *a,
           guint   n,
           double  v)
{
  curve_pad (a, n);
  if (n > 0)
    g_array_index (a, double, n - 1) = v;
}

static void
clear_run_curves (KanvasWindow *self)
{
  g_array_set_size (self->run_train, 0);
  g_array_set_size (self->run_test, 0);
  g_array_set_size (self->run_acc_train, 0);
  g_array_set_size (self->run_acc_test, 0);
}

static void
clear_curves (KanvasWindow *self)
{
  g_array_set_size (self->hist_train, 0);
  g_array_set_size (self->hist_test, 0);
  g_array_set_size (self->hist_acc_train, 0);
  g_array_set_size (self->hist_acc_test, 0);
  clear_run_curves (self);
}

/* Into TRAIN and TEST (empty): the whole curve of the session, B's arrays after A's (the finished
 * runs, then the run in progress). */
static void
curve_join (GArray *train,
            GArray *test,
            GArray *a_train,
            GArray *a_test,
            GArray *b_train,
            GArray *b_test)
{
  g_array_append_vals (train, a_train->data, a_train->len);
  g_array_append_vals (train, b_train->data, b_train->len);
  g_array_append_vals (test, a_test->data, a_test->len);
  g_array_append_vals (test, b_test->data, b_test->len);
}

/* Measures the accuracy of MODEL (classification, else NaN) into TRAIN and TEST, as that after
 * step N of the run (none: N = 0). */
static void
measure_accuracy (KanvasWindow   *self,
                  const KanModel *model,
                  guint           n,
                  double         *train,
                  double         *test)
{
  *train = *test = NAN;
  if (!is_classification (self) || model == NULL)
    return;
  kan_ops_accuracy (model, self->session->data, KAN_LOSS_CE, train, test);
  if (n > 0)
    {
      curve_put (self->run_acc_train, n, *train);
      curve_put (self->run_acc_test, n, *test);
    }
}

static void
update_loss_view (KanvasWindow *self)
{
  g_autoptr (GArray) train = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (GArray) test = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (GArray) acc_train = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (GArray) acc_test = g_array_new (FALSE, FALSE, sizeof (double));

  gtk_label_set_text (self->loss_heading, is_classification (self)
                      ? "Train / test cross-entropy and accuracy" : "Train / test RMSE");
  curve_join (train, test, self->hist_train, self->hist_test, self->run_train, self->run_test);
  kanvas_loss_view_set_history (self->loss_view, (double *) train->data, (double *) test->data,
                                train->len);
  if (is_classification (self) && train->len > 0)
    {
      /* The accuracy arrays may lag the run's history by the steps since the last snapshot. */
      g_array_set_size (self->run_acc_train, MIN (self->run_acc_train->len, self->run_train->len));
      g_array_set_size (self->run_acc_test, MIN (self->run_acc_test->len, self->run_train->len));
      curve_join (acc_train, acc_test, self->hist_acc_train, self->hist_acc_test,
                  self->run_acc_train, self->run_acc_test);
      curve_pad (acc_train, train->len);
      curve_pad (acc_test, train->len);
      kanvas_loss_view_set_accuracy (self->loss_view, (double *) acc_train->data,
                                     (double *) acc_test->data, train->len);
    }
  else
    kanvas_loss_view_set_accuracy (self->loss_view, NULL, NULL, 0);
}

/* "train RMSE 2.6e-03  ·  test RMSE 3.0e-03", or the accuracies for classification. */
static char *
metrics_text (KanvasWindow *self,
              double        train,
              double        test,
              double        acc_tr,
              double        acc_te)
{
  if (!is_classification (self))
    return g_strdup_printf ("train RMSE %.3e  ·  test RMSE %.3e", train, test);
  return g_strdup_printf ("train accuracy %.1f %%  ·  test accuracy %.1f %%", 100 * acc_tr,
                          100 * acc_te);
}

static void
update_model_label (KanvasWindow *self)
{
  const KanSession *s = self->session;
  g_autofree char *w = NULL;
  g_autofree char *text = NULL;
  g_autofree char *data = NULL;

  if (s->model == NULL || s->data == NULL)
    {
      gtk_label_set_text (self->model_label, "No model");
      return;
    }
  w = kan_shape_to_string (kan_model_shape (s->model));
  if (s->data->source == KAN_DATA_FORMULA)
    data = g_strdup_printf ("f = %s", s->data->formula);
  else if (s->data->source == KAN_DATA_CSV && s->data->csv_path)
    data = g_path_get_basename (s->data->csv_path);
  else
    data = g_strdup ("data in the session");
  text = g_strdup_printf ("KAN [%s], G=%d, k=%d  ·  %s  ·  %zu train / %zu test rows", w,
                          kan_model_grid (s->model), kan_model_k (s->model), data,
                          s->data->n_train, s->data->n_test);
  gtk_label_set_text (self->model_label, text);
}

static void
set_modified (KanvasWindow *self,
              gboolean      modified)
{
  self->modified = modified;
  update_title (self);
}

void
kanvas_window_model_rmse (KanvasWindow *self,
                          double       *train,
                          double       *test)
{
  const KanSession *s = self->session;

  kan_ops_metrics (s->model, s->data, s->train.loss, train, test);
}

static void
update_status_idle (KanvasWindow *self)
{
  const KanSession *s = self->session;
  g_autofree char *text = NULL;

  if (s->model && s->data)
    {
      double tr, te, acc_tr, acc_te;
      g_autofree char *metrics = NULL;
      kanvas_window_model_rmse (self, &tr, &te);
      measure_accuracy (self, s->model, 0, &acc_tr, &acc_te);
      metrics = metrics_text (self, tr, te, acc_tr, acc_te);
      text = g_strdup_printf ("Step %d  ·  %s", s->steps_done, metrics);
    }
  gtk_inscription_set_text (self->status_label, text ? text : "");
}

void
kanvas_window_model_changed (KanvasWindow *self)
{
  refresh_snapshot (self);
  update_model_label (self);
  update_status_idle (self);
  set_modified (self, TRUE);
  /* The Model group describes the current model (pruning and refining change it). */
  if (self->session->model)
    {
      g_autofree char *w = kan_shape_to_string (kan_model_shape (self->session->model));
      self->loading_panel = TRUE;
      gtk_editable_set_text (GTK_EDITABLE (self->width_row), w);
      gtk_spin_button_set_value (self->grid_spin, kan_model_grid (self->session->model));
      self->loading_panel = FALSE;
    }
  kanvas_window_session_refresh (self);
}

void
kanvas_window_set_modified (KanvasWindow *self,
                            gboolean      modified)
{
  set_modified (self, modified);
}

/* Takes S (transfer full) as the window's session. Only through replace_session (the guard). */
static void
set_session (KanvasWindow *self,
             KanSession   *s,
             const char   *path,
             const char   *name)
{
  reset_worker (self);
  g_clear_pointer (&self->session, kan_session_free);
  self->session = s;
  g_free (self->path);
  self->path = g_strdup (path);
  g_free (self->name);
  self->name = g_strdup (name);
  /* The learning curve saved with the session, if any. */
  clear_curves (self);
  g_array_append_vals (self->hist_train, s->curve_train->data, s->curve_train->len);
  g_array_append_vals (self->hist_test, s->curve_test->data, s->curve_test->len);
  g_array_append_vals (self->hist_acc_train, s->curve_train_acc->data, s->curve_train_acc->len);
  g_array_append_vals (self->hist_acc_test, s->curve_test_acc->data, s->curve_test_acc->len);
  panel_from_session (self);
  refresh_snapshot (self);
  update_loss_view (self);
  update_model_label (self);
  update_status_idle (self);
  set_modified (self, FALSE);
  kanvas_window_session_reset (self);
  update_controls (self);
}

static void
update_title (KanvasWindow *self)
{
  g_autofree char *base = NULL;
  g_autofree char *title = NULL;
  g_autofree char *wm_title = NULL;
  g_autofree char *subtitle = NULL;

  if (self->path)
    {
      base = g_path_get_basename (self->path);
      if (g_str_has_suffix (base, ".kanvas"))
        base[strlen (base) - strlen (".kanvas")] = '\0';
      subtitle = g_path_get_dirname (self->path);
    }
  else
    {
      base = g_strdup (self->name ? self->name : "Untitled");
      subtitle = g_strdup ("Not saved");
    }
  title = has_unsaved (self) ? g_strdup_printf ("%s •", base) : g_strdup (base);
  adw_window_title_set_title (self->window_title, title);
  adw_window_title_set_subtitle (self->window_title, subtitle);
  wm_title = g_strdup_printf ("%s — Kanvas", title);
  gtk_window_set_title (GTK_WINDOW (self), wm_title);
}

/* Unsaved work: the guard ------------------------------------------------------------------------ */

/* Every command that replaces or drops the session (new, open, load-example, build, close,
 * quit) goes through guard(): it proceeds at once when nothing is unsaved; else it stops a run in
 * progress, waits for the run to end (its steps then are in the session and its history), and
 * asks "Save changes to “NAME” before VERB?". One command waits at a time; a newer one
 * replaces it (scripts may send several). */

typedef void (*ProceedFunc) (KanvasWindow *self,
                             gpointer      data);

struct _KanvasPending
{
  char           *verb;        /* the question ends "before VERB?" */
  ProceedFunc     proceed;
  gpointer        data;
  GDestroyNotify  destroy;
  GtkWidget      *dialog;      /* the question, while it is on screen */
  char           *answer;      /* given by a script while the run was still stopping */
  int             stopped_at;  /* the session's step when the guard stopped its run, or -1 */
  gboolean        stopping;    /* waiting for the run to end */
  gboolean        saving;      /* the Save dialog is open for it */
};

static void guard_continue (KanvasWindow *self);

static gboolean
has_unsaved (KanvasWindow *self)
{
  /* A run in progress is unsaved work even right after a load: its model exists only in the
   * worker until the run ends. */
  return self->modified || self->run_state != RUN_IDLE;
}

static void
on_question_response (AdwMessageDialog *dialog,
                      const char       *response,
                      KanvasWindow     *self);

/* Forgets the waiting command (closing its question) and returns it. */
static KanvasPending *
pending_take (KanvasWindow *self)
{
  KanvasPending *p = g_steal_pointer (&self->pending);

  if (p && p->dialog)
    {
      g_signal_handlers_disconnect_by_func (p->dialog, on_question_response, self);
      /* Safe if the dialog closed itself already (a button closes it before responding). */
      gtk_window_destroy (GTK_WINDOW (p->dialog));
      p->dialog = NULL;
    }
  return p;
}

static void
pending_free (KanvasPending *p)
{
  if (p == NULL)
    return;
  if (p->destroy)
    p->destroy (p->data);
  g_free (p->verb);
  g_free (p->answer);
  g_free (p);
}

/* Ends the waiting command: runs it if PROCEED, else the session stays as it is. */
static void
guard_finish (KanvasWindow *self,
              gboolean      proceed)
{
  KanvasPending *p = pending_take (self);

  if (p == NULL)
    return;
  /* Proceeding may close the window. */
  g_object_ref (self);
  if (proceed)
    p->proceed (self, p->data);
  else
    g_message ("unsaved changes: kept; not %s", p->verb);
  pending_free (p);
  g_object_unref (self);
}

static void
guard_answer (KanvasWindow *self,
              const char   *answer)
{
  KanvasPending *p = self->pending;
  g_autoptr (GError) error = NULL;

  g_message ("unsaved changes: %s", answer);
  if (g_str_equal (answer, "cancel"))
    {
      guard_finish (self, FALSE);
      return;
    }
  /* A script may have started a run while the question was open: stop it, then answer. */
  if (self->run_state != RUN_IDLE)
    {
      g_free (p->answer);
      p->answer = g_strdup (answer);
      guard_continue (self);
      return;
    }
  if (g_str_equal (answer, "discard"))
    {
      set_modified (self, FALSE);
      guard_finish (self, TRUE);
    }
  else if (self->path == NULL)
    {
      /* Save As: save_chosen or the chooser's Cancel ends the command. */
      save_as_action (NULL, NULL, self);
      p->saving = TRUE;
    }
  else if (kanvas_window_save_to (self, self->path, &error))
    guard_finish (self, TRUE);
  else
    {
      kanvas_window_toast (self, "Not saved: %s", error->message);
      g_message ("save: %s", error->message);
      guard_finish (self, FALSE);
    }
}

static void
on_question_response (AdwMessageDialog *dialog,
                      const char       *response,
                      KanvasWindow     *self)
{
  KanvasPending *p = self->pending;

  if (p == NULL || p->dialog != GTK_WIDGET (dialog))
    return;
  g_signal_handlers_disconnect_by_func (dialog, on_question_response, self);
  p->dialog = NULL;
  /* Buttons and Escape close the dialog themselves; adw_message_dialog_response does not. */
  gtk_window_destroy (GTK_WINDOW (dialog));
  guard_answer (self, response);
}

static void
show_question (KanvasWindow *self)
{
  KanvasPending *p = self->pending;
  g_autofree char *name = self->path ? g_path_get_basename (self->path)
                                     : g_strdup (self->name ? self->name : "Untitled");
  g_autofree char *stopped = p->stopped_at >= 0
                             ? g_strdup_printf ("Training was stopped at step %d. ", p->stopped_at)
                             : g_strdup ("");
  AdwMessageDialog *dialog = ADW_MESSAGE_DIALOG (adw_message_dialog_new (GTK_WINDOW (self), NULL,
                                                                         NULL));

  adw_message_dialog_format_heading (dialog, "Save changes to “%s” before %s?", name, p->verb);
  adw_message_dialog_format_body (dialog, "%sThe model was trained, edited or rebuilt since the "
                                  "session was opened or last saved. Changes that are not saved "
                                  "will be lost.", stopped);
  adw_message_dialog_add_responses (dialog, "cancel", "_Cancel", "discard", "_Discard",
                                    "save", self->path ? "_Save" : "_Save As…", NULL);
  adw_message_dialog_set_response_appearance (dialog, "discard", ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_response_appearance (dialog, "save", ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (dialog, "save");
  adw_message_dialog_set_close_response (dialog, "cancel");
  /* Not destroy-with-parent (libadwaita's default): the dialog, closed by its button, outlives
   * a window that closes in answer (Save, then quit), and GTK 4.8 then keeps a dangling transient
   * parent for it. Dispose closes a question still open. */
  gtk_window_set_destroy_with_parent (GTK_WINDOW (dialog), FALSE);
  g_signal_connect (dialog, "response", G_CALLBACK (on_question_response), self);
  p->dialog = GTK_WIDGET (dialog);
  gtk_window_present (GTK_WINDOW (dialog));
  /* Scripts wait for this line, then answer with the unsaved-changes action. */
  g_message ("unsaved changes: asking before %s (unsaved-changes: save, discard or cancel)",
             p->verb);
}

static void
guard_continue (KanvasWindow *self)
{
  KanvasPending *p = self->pending;

  if (p == NULL)
    return;
  if (self->run_state != RUN_IDLE)
    {
      /* on_worker_done comes back here once the run has ended (within one step). */
      if (!p->stopping)
        g_message ("unsaved changes: stopping the run before %s", p->verb);
      p->stopping = TRUE;
      kan_worker_stop (self->worker);
      return;
    }
  if (p->stopping)
    {
      p->stopping = FALSE;
      p->stopped_at = self->session->steps_done;
    }
  if (!has_unsaved (self))
    guard_finish (self, TRUE);
  else if (p->answer)
    {
      g_autofree char *answer = g_steal_pointer (&p->answer);
      guard_answer (self, answer);
    }
  else if (p->dialog == NULL)
    show_question (self);
}

static gboolean
guard_continue_idle (gpointer data)
{
  KanvasWindow *self = data;

  if (self->pending && self->pending->stopping && self->run_state == RUN_IDLE)
    guard_continue (self);
  return G_SOURCE_REMOVE;
}

/* Runs PROCEED (DESTROY frees DATA afterwards, whether it ran or not) once the session may be
 * replaced or dropped; VERB names the command in the question. */
static void
guard (KanvasWindow   *self,
       const char     *verb,
       ProceedFunc     proceed,
       gpointer        data,
       GDestroyNotify  destroy)
{
  KanvasPending *p;

  if (self->pending == NULL && !has_unsaved (self))
    {
      proceed (self, data);
      if (destroy)
        destroy (data);
      return;
    }
  if (self->pending)
    {
      g_message ("unsaved changes: %s replaces %s", verb, self->pending->verb);
      guard_finish (self, FALSE);
    }
  p = g_new0 (KanvasPending, 1);
  p->verb = g_strdup (verb);
  p->proceed = proceed;
  p->data = data;
  p->destroy = destroy;
  p->stopped_at = -1;
  self->pending = p;
  guard_continue (self);
}

/* A whole new session, waiting for the guard. */
typedef struct
{
  KanSession *session;
  char       *path;
  char       *name;
  char       *done;   /* logged once it is the window's session */
  gboolean    moons;  /* the panel's source is the two moons */
  guint       pace_ms; /* the least time of a training step (an example's pace), or 0 */
} Replacement;

static void
replacement_free (gpointer data)
{
  Replacement *r = data;

  kan_session_free (r->session);
  g_free (r->path);
  g_free (r->name);
  g_free (r->done);
  g_free (r);
}

static void
replace_now (KanvasWindow *self,
             gpointer      data)
{
  Replacement *r = data;

  set_session (self, g_steal_pointer (&r->session), r->path, r->name);
  if (r->moons)
    {
      self->loading_panel = TRUE;
      adw_combo_row_set_selected (self->source_row, SOURCE_MOONS);
      self->loading_panel = FALSE;
    }
  self->pace_ms = r->pace_ms;
  kanvas_lesson_apply_presentation (self);
  if (r->done)
    g_message ("%s", r->done);
}

/* The only way to a new session: takes S (transfer full) once the guard lets it. */
static void
replace_session (KanvasWindow *self,
                 KanSession   *s,
                 const char   *path,
                 const char   *name,
                 gboolean      moons,
                 guint         pace_ms,
                 const char   *verb,
                 const char   *done)
{
  Replacement *r = g_new0 (Replacement, 1);

  r->pace_ms = pace_ms;
  r->session = s;
  r->path = g_strdup (path);
  r->name = g_strdup (name);
  r->done = g_strdup (done);
  r->moons = moons;
  guard (self, verb, replace_now, r, replacement_free);
}

/* Training ----------------------------------------------------------------------------------------- */

static char *
format_elapsed (double seconds)
{
  int m = (int) (seconds / 60);
  return g_strdup_printf ("%d:%04.1f", m, seconds - 60 * m);
}

static void
on_worker_snapshot (KanSnapshot *snap,
                    gpointer     user_data)
{
  KanvasWindow *self = KANVAS_WINDOW (user_data);
  g_autofree char *elapsed = format_elapsed (snap->seconds);
  g_autofree char *text = NULL;
  g_autofree char *metrics = NULL;
  double acc_tr, acc_te;

  g_array_set_size (self->run_train, 0);
  g_array_set_size (self->run_test, 0);
  g_array_append_vals (self->run_train, snap->history_train, snap->n_history);
  g_array_append_vals (self->run_test, snap->history_test, snap->n_history);
  measure_accuracy (self, snap->model, snap->n_history, &acc_tr, &acc_te);
  metrics = metrics_text (self, snap->train_rmse, snap->test_rmse, acc_tr, acc_te);
  update_loss_view (self);

  text = g_strdup_printf ("Step %d / %d (session %d)  ·  loss %.3e  ·  %s  ·  "
                          "%.1f steps/s  ·  %s elapsed",
                          snap->step, self->run_steps, self->session->steps_done + snap->step,
                          snap->loss, metrics,
                          snap->seconds > 0 ? snap->step / snap->seconds : 0.0, elapsed);
  gtk_inscription_set_text (self->status_label, text);
  kanvas_canvas_set_snapshot (self->canvas, snap);
  update_controls (self);
}

static void
on_worker_done (KanModel          *model,
                const KanStepInfo *info,
                const GError      *error,
                gboolean           stopped,
                gpointer           user_data)
{
  KanvasWindow *self = KANVAS_WINDOW (user_data);
  KanSession *s = self->session;
  int done = (int) self->run_train->len;
  double acc_tr, acc_te;

  if (model)
    {
      kan_model_free (s->model);
      s->model = model;
    }
  if (info && info->step + 1 > done)
    done = info->step + 1;
  self->run_state = RUN_IDLE;
  measure_accuracy (self, s->model, self->run_train->len, &acc_tr, &acc_te);
  if (is_classification (self))
    {
      curve_pad (self->run_acc_train, self->run_train->len);
      curve_pad (self->run_acc_test, self->run_train->len);
      curve_pad (self->hist_acc_train, self->hist_train->len);
      curve_pad (self->hist_acc_test, self->hist_train->len);
      g_array_append_vals (self->hist_acc_train, self->run_acc_train->data, self->run_train->len);
      g_array_append_vals (self->hist_acc_test, self->run_acc_test->data, self->run_train->len);
    }
  g_array_append_vals (self->hist_train, self->run_train->data, self->run_train->len);
  g_array_append_vals (self->hist_test, self->run_test->data, self->run_test->len);
  clear_run_curves (self);

  if (done > 0)
    {
      KanOpsFitRun run = { .steps = done, .stopped = stopped };
      g_autofree char *what = g_strdup_printf ("Trained %d step%s", done, done == 1 ? "" : "s");
      kan_ops_fit_record (s, &s->train, &run);
      kanvas_window_recorded (self);
      set_modified (self, TRUE);
      kanvas_window_session_refresh (self);
      kanvas_window_announce_step (self, what, NULL);
    }
  if (error && !g_error_matches (error, KAN_ERROR, KAN_ERROR_CANCELLED))
    {
      kanvas_window_toast (self, "Training stopped: %s", error->message);
      g_message ("training stopped: %s", error->message);
      /* The worker's model is the last finite one; draw it. */
      refresh_snapshot (self);
    }
  g_message ("training %s after %d steps: train %.6g, test %.6g", stopped ? "stopped" : "ended",
             done, info ? info->train_rmse : NAN, info ? info->test_rmse : NAN);
  update_loss_view (self);
  update_controls (self);
  update_title (self);
  gtk_label_set_text (self->state_label, stopped ? "Stopped" : error ? "Failed" : "Finished");
  /* A command stopped the run to ask about it: go on from the main loop, not from inside the
   * worker's callback (going on may close the window and free the worker). */
  if (self->pending && self->pending->stopping)
    g_idle_add_full (G_PRIORITY_DEFAULT, guard_continue_idle, g_object_ref (self),
                     g_object_unref);
}

static void
reset_worker (KanvasWindow *self)
{
  /* Freeing stops the run; no callback of it runs afterwards. */
  g_clear_pointer (&self->worker, kan_worker_free);
  self->worker = kan_worker_new (g_main_context_default (), on_worker_snapshot, on_worker_done,
                                 self);
  kanvas_lesson_apply_presentation (self);
  self->run_state = RUN_IDLE;
}

static gboolean
start_run (KanvasWindow *self,
           gboolean      paused)
{
  g_autoptr (GError) error = NULL;
  KanTrainConfig cfg;

  if (self->session->model == NULL || self->session->data == NULL)
    {
      kanvas_window_toast (self, "Nothing to train: build a model first.");
      return FALSE;
    }
  train_config_from_panel (self, &cfg);
  if (!kan_worker_start (self->worker, self->session->model, self->session->data, &cfg, paused,
                         &error))
    {
      kanvas_window_toast (self, "Cannot train: %s", error->message);
      g_message ("cannot train: %s", error->message);
      return FALSE;
    }
  self->session->train = cfg;
  self->run_steps = cfg.steps;
  self->run_state = paused ? RUN_PAUSED : RUN_RUNNING;
  clear_run_curves (self);
  update_title (self);
  return TRUE;
}

static const char *const replacing_actions[] = { "apply", "new", "open", "load-example" };

static void
update_controls (KanvasWindow *self)
{
  gboolean running = self->run_state == RUN_RUNNING;

  adw_button_content_set_label (self->train_content, running ? "Pause"
                                : self->run_state == RUN_PAUSED ? "Resume" : "Train");
  adw_button_content_set_icon_name (self->train_content, running ? "media-playback-pause-symbolic"
                                    : "media-playback-start-symbolic");
  gtk_widget_set_sensitive (GTK_WIDGET (self->train_button), self->session->model != NULL);
  g_simple_action_set_enabled (G_SIMPLE_ACTION (g_action_map_lookup_action (G_ACTION_MAP (self), "stop")),
                               self->run_state != RUN_IDLE);
  /* Building, an example, a new or an opened session replace the model a run is training: the
   * window's commands wait for the run to end (scripts' commands ask, stopping it). */
  for (guint a = 0; a < G_N_ELEMENTS (replacing_actions); a++)
    g_simple_action_set_enabled (G_SIMPLE_ACTION (g_action_map_lookup_action (G_ACTION_MAP (self),
                                                                              replacing_actions[a])),
                                 self->run_state == RUN_IDLE);
  if (self->run_state == RUN_RUNNING)
    gtk_label_set_text (self->state_label, "Training…");
  else if (self->run_state == RUN_PAUSED)
    gtk_label_set_text (self->state_label, "Paused");
  else
    gtk_label_set_text (self->state_label, "Ready");
  kanvas_window_session_update (self);
}

static void
train_action (GSimpleAction *action,
              GVariant      *param,
              gpointer       user_data)
{
  KanvasWindow *self = user_data;

  if (self->run_state == RUN_IDLE)
    start_run (self, FALSE);
  else if (self->run_state == RUN_PAUSED)
    {
      kan_worker_resume (self->worker);
      self->run_state = RUN_RUNNING;
    }
  update_controls (self);
}

static void
pause_action (GSimpleAction *action,
              GVariant      *param,
              gpointer       user_data)
{
  KanvasWindow *self = user_data;

  if (self->run_state == RUN_RUNNING)
    {
      kan_worker_pause (self->worker);
      self->run_state = RUN_PAUSED;
    }
  update_controls (self);
}

static void
train_pause_action (GSimpleAction *action,
                    GVariant      *param,
                    gpointer       user_data)
{
  KanvasWindow *self = user_data;

  if (self->run_state == RUN_RUNNING)
    pause_action (NULL, NULL, self);
  else
    train_action (NULL, NULL, self);
}

static void
step_action (GSimpleAction *action,
             GVariant      *param,
             gpointer       user_data)
{
  KanvasWindow *self = user_data;

  if (self->run_state == RUN_IDLE && !start_run (self, TRUE))
    return;
  if (self->run_state == RUN_RUNNING)
    {
      kan_worker_pause (self->worker);
      self->run_state = RUN_PAUSED;
    }
  else
    kan_worker_step (self->worker);
  update_controls (self);
}

static void
stop_action (GSimpleAction *action,
             GVariant      *param,
             gpointer       user_data)
{
  KanvasWindow *self = user_data;

  if (self->run_state != RUN_IDLE)
    kan_worker_stop (self->worker);
}

/* Data and model actions -------------------------------------------------------------------------- */

/* The data and model the panel describes, waiting for the guard. */
typedef struct
{
  KanDataset     *data;
  KanModel       *model;
  KanTrainConfig  cfg;
  char           *detail;
  gboolean        new_data;  /* not the session's data kept */
} Build;

static void
build_free (gpointer data)
{
  Build *b = data;

  kan_dataset_free (b->data);
  kan_model_free (b->model);
  g_free (b->detail);
  g_free (b);
}

static void
build_now (KanvasWindow *self,
           gpointer      data)
{
  Build *b = data;

  /* New data is a new session: saving must not overwrite the file of the old one. */
  if (b->new_data)
    {
      g_clear_pointer (&self->path, g_free);
      g_free (self->name);
      self->name = g_strdup ("Untitled");
    }
  self->pace_ms = 0;
  reset_worker (self);
  kan_dataset_free (self->session->data);
  self->session->data = g_steal_pointer (&b->data);
  kan_model_free (self->session->model);
  self->session->model = g_steal_pointer (&b->model);
  self->session->train = b->cfg;
  self->session->steps_done = 0;
  /* The models before belong to other data: they are no longer states to return to. */
  for (guint h = 0; h < self->session->history->len; h++)
    {
      KanHistoryEntry *e = g_ptr_array_index (self->session->history, h);
      g_clear_pointer (&e->model, kan_model_free);
    }
  self->hist_pos = -1;
  kanvas_window_record (self, "new", b->detail);
  clear_curves (self);
  panel_from_session (self);
  refresh_snapshot (self);
  update_loss_view (self);
  update_model_label (self);
  update_status_idle (self);
  set_modified (self, TRUE);
  kanvas_window_session_refresh (self);
  update_controls (self);
}

static void
apply_action (GSimpleAction *action,
              GVariant      *param,
              gpointer       user_data)
{
  KanvasWindow *self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (KanDataset) data = NULL;
  g_autoptr (KanModel) model = NULL;
  g_autofree char *detail = NULL;
  gpointer bad_row = NULL;
  KanTrainConfig cfg;
  Build *b;

  /* The action is disabled during a run; an entry's Enter key still lands here. */
  if (self->run_state != RUN_IDLE)
    {
      kanvas_window_toast (self, "Stop training first: edits apply while no run is in progress.");
      return;
    }
  clear_errors (self);
  data = dataset_from_panel (self, &bad_row, &error);
  if (data == NULL)
    {
      show_error (self, bad_row, error);
      return;
    }
  train_config_from_panel (self, &cfg);
  /* Text labels name classes: they are classified, with the width made for their number. */
  if (data->class_names != NULL && cfg.loss != KAN_LOSS_CE)
    {
      cfg.loss = KAN_LOSS_CE;
      adw_combo_row_set_selected (self->loss_row, KAN_LOSS_CE);
      gtk_editable_set_text (GTK_EDITABLE (self->width_row), "");
      kanvas_window_toast (self, "The labels of “%s” are text: %d classes, cross-entropy loss.",
                           data->out_names[0], kan_dataset_n_classes (data));
    }
  model = model_from_panel (self, data, cfg.loss, &detail, &error);
  if (model == NULL)
    {
      show_error (self, self->width_row, error);
      return;
    }

  /* Only now, with both made, may the session change: after the guard. */
  b = g_new0 (Build, 1);
  b->data = g_steal_pointer (&data);
  b->model = g_steal_pointer (&model);
  b->cfg = cfg;
  b->detail = g_steal_pointer (&detail);
  b->new_data = adw_combo_row_get_selected (self->source_row) != SOURCE_KEEP;
  guard (self, "building the new data and model", build_now, b, build_free);
}

static void
on_entry_apply (KanvasWindow *self)
{
  /* Not the disabled action during a run: apply_action says why nothing happens. */
  apply_action (NULL, NULL, self);
}

static KanSession *
example_session (const KanvasExample *ex,
                 GError             **error)
{
  g_autoptr (KanSession) s = kan_session_new ();
  g_autoptr (KanShape) shape = NULL;
  g_autofree char *detail = NULL;
  KanModelConfig cfg;

  s->data = kanvas_example_dataset (ex, 0, error);
  if (s->data == NULL)
    return NULL;
  shape = kan_shape_parse (ex->width, NULL, error);
  if (shape == NULL)
    return NULL;
  kan_model_config_init (&cfg);
  cfg.shape = shape;
  cfg.grid = ex->grid;
  cfg.k = ex->k;
  s->model = kan_model_new (&cfg, error);
  if (s->model == NULL)
    return NULL;
  kan_train_config_init (&s->train);
  s->train.opt = ex->opt;
  s->train.loss = ex->loss;
  s->train.steps = ex->steps;
  s->train.lr = ex->lr;
  s->train.lamb = ex->lamb;
  detail = g_strdup_printf ("example=%s width=%s grid=%d k=%d seed=%" G_GUINT64_FORMAT, ex->id,
                            ex->width, cfg.grid, cfg.k, cfg.seed);
  kan_session_add_history (s, "new", detail, NAN, NAN);
  return g_steal_pointer (&s);
}

gboolean
kanvas_window_load_example (KanvasWindow *self,
                            const char   *id,
                            GError      **error)
{
  const KanvasExample *ex;
  KanSession *s;
  g_autofree char *verb = NULL;
  g_autofree char *done = NULL;

  g_return_val_if_fail (KANVAS_IS_WINDOW (self), FALSE);

  ex = kanvas_example_lookup (id);
  if (ex == NULL)
    {
      g_autofree char *ids = kanvas_example_ids ();
      g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID, "No example '%s' (there are %s)", id, ids);
      return FALSE;
    }
  s = example_session (ex, error);
  if (s == NULL)
    return FALSE;
  verb = g_strdup_printf ("loading “%s”", ex->title);
  done = g_strdup_printf ("loaded the example %s", ex->id);
  replace_session (self, s, NULL, ex->title, ex->formula == NULL, ex->step_ms, verb, done);
  return TRUE;
}

static void
load_example_action (GSimpleAction *action,
                     GVariant      *param,
                     gpointer       user_data)
{
  KanvasWindow *self = user_data;
  g_autoptr (GError) error = NULL;

  if (!kanvas_window_load_example (self, g_variant_get_string (param, NULL), &error))
    {
      kanvas_window_toast (self, "%s", error->message);
      g_message ("load-example: %s", error->message);
    }
}

void
kanvas_window_new_session (KanvasWindow *self)
{
  g_autoptr (GError) error = NULL;
  KanSession *s;

  g_return_if_fail (KANVAS_IS_WINDOW (self));

  /* A new session is the demo, untitled. */
  s = example_session (kanvas_example_lookup ("demo"), &error);
  if (s == NULL)
    kanvas_window_toast (self, "%s", error->message);
  else
    replace_session (self, s, NULL, "Untitled", FALSE, 0, "starting a new session",
                     "new session");
}

static void
new_action (GSimpleAction *action,
            GVariant      *param,
            gpointer       user_data)
{
  kanvas_window_new_session (user_data);
}

/* Files ----------------------------------------------------------------------------------------- */

gboolean
kanvas_window_open_path (KanvasWindow *self,
                         const char   *path,
                         GError      **error)
{
  g_autoptr (KanSession) s = NULL;
  g_autofree char *base = NULL;
  g_autofree char *verb = NULL;
  g_autofree char *done = NULL;

  g_return_val_if_fail (KANVAS_IS_WINDOW (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  s = kan_session_load (path, error);
  if (s == NULL)
    return FALSE;
  if (s->data == NULL)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_SESSION,
                   "%s: the session has no data set; give it one with kanvas-cli fit", path);
      return FALSE;
    }
  if (s->model == NULL)
    {
      /* A session with data only gets the default model, as kanvas-cli fit would make. */
      KanModelConfig cfg;
      g_autofree char *width = g_strdup_printf ("%d,5,%d", s->data->n_in,
                                                s->train.loss == KAN_LOSS_CE
                                                ? kan_dataset_n_classes (s->data) : s->data->n_out);
      g_autoptr (KanShape) shape = kan_shape_parse (width, NULL, error);
      if (shape == NULL)
        return FALSE;
      kan_model_config_init (&cfg);
      cfg.shape = shape;
      cfg.grid = 5;
      s->model = kan_model_new (&cfg, error);
      if (s->model == NULL)
        return FALSE;
    }
  base = g_path_get_basename (path);
  verb = g_strdup_printf ("opening “%s”", base);
  done = g_strdup_printf ("opened %s", path);
  replace_session (self, g_steal_pointer (&s), path, NULL, FALSE, 0, verb, done);
  return TRUE;
}

gboolean
kanvas_window_save_to (KanvasWindow *self,
                       const char   *path,
                       GError      **error)
{
  KanSession *s;
  KanModel *saved_model = NULL;
  int saved_steps;
  gboolean ok;

  g_return_val_if_fail (KANVAS_IS_WINDOW (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  s = self->session;
  train_config_from_panel (self, &s->train);
  /* During a run, save what the canvas shows: the latest snapshot's model. */
  saved_steps = s->steps_done;
  if (self->run_state != RUN_IDLE && kanvas_canvas_get_snapshot (self->canvas))
    {
      const KanSnapshot *snap = kanvas_canvas_get_snapshot (self->canvas);
      saved_model = s->model;
      s->model = snap->model;
      s->steps_done += snap->step;
    }
  /* The curve as the plot shows it, the run in progress included. */
  g_array_set_size (s->curve_train, 0);
  g_array_set_size (s->curve_test, 0);
  g_array_set_size (s->curve_train_acc, 0);
  g_array_set_size (s->curve_test_acc, 0);
  curve_join (s->curve_train, s->curve_test, self->hist_train, self->hist_test, self->run_train,
              self->run_test);
  if (is_classification (self))
    {
      curve_join (s->curve_train_acc, s->curve_test_acc, self->hist_acc_train,
                  self->hist_acc_test, self->run_acc_train, self->run_acc_test);
      curve_pad (s->curve_train_acc, s->curve_train->len);
      curve_pad (s->curve_test_acc, s->curve_train->len);
    }
  ok = kan_session_save (s, path, error);
  if (saved_model)
    {
      s->model = saved_model;
      s->steps_done = saved_steps;
    }
  if (!ok)
    return FALSE;
  if (g_strcmp0 (self->path, path) != 0)
    {
      g_free (self->path);
      self->path = g_strdup (path);
    }
  set_modified (self, self->run_state != RUN_IDLE);
  g_message ("saved %s", path);
  return TRUE;
}

gboolean
kanvas_window_export_figure (KanvasWindow *self,
                             const char   *path,
                             GError      **error)
{
  const KanSnapshot *snap;
  KanRenderStyle st;
  double w, h;

  g_return_val_if_fail (KANVAS_IS_WINDOW (self), FALSE);

  snap = kanvas_canvas_get_snapshot (self->canvas);
  if (snap == NULL)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID, "There is no network to export.");
      return FALSE;
    }
  /* Figures are for papers: the light style, with the β the user chose. */
  kan_render_style_init (&st);
  st.beta = kanvas_canvas_get_beta (self->canvas);
  w = MAX (800, gtk_widget_get_width (GTK_WIDGET (self->canvas)));
  h = MAX (600, gtk_widget_get_height (GTK_WIDGET (self->canvas)));
  if (!kan_render_to_file (snap, &st, path, w, h, error))
    return FALSE;
  g_message ("exported %s", path);
  return TRUE;
}

typedef void (*ChooserDone) (KanvasWindow *self, const char *path);

static void
on_chooser_response (GtkNativeDialog *dialog,
                     int              response,
                     KanvasWindow    *self)
{
  ChooserDone done = g_object_get_data (G_OBJECT (dialog), "kanvas-done");
  g_autofree char *path = NULL;

  /* DONE may close the window (Save before closing). */
  g_object_ref (self);
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      path = file ? g_file_get_path (file) : NULL;
      if (path == NULL)
        kanvas_window_toast (self, "Only local files can be used.");
    }
  g_clear_object (&self->chooser);
  if (path)
    done (self, path);
  else if (self->pending && self->pending->saving)
    guard_finish (self, FALSE);
  g_object_unref (self);
}

static void
run_chooser (KanvasWindow         *self,
             const char           *title,
             GtkFileChooserAction  mode,
             const char           *accept,
             const char           *suggested,
             const char           *pattern,
             const char           *pattern_name,
             ChooserDone           done)
{
  GtkFileFilter *filter;

  if (self->chooser)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);
  /* The Save As a waiting command asked for is gone with its chooser. */
  if (self->pending && self->pending->saving)
    guard_finish (self, FALSE);
  self->chooser = gtk_file_chooser_native_new (title, GTK_WINDOW (self), mode, accept, "_Cancel");
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
  if (pattern)
    {
      filter = gtk_file_filter_new ();
      gtk_file_filter_set_name (filter, pattern_name);
      gtk_file_filter_add_pattern (filter, pattern);
      gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (self->chooser), filter);
      g_object_unref (filter);
      filter = gtk_file_filter_new ();
      gtk_file_filter_set_name (filter, "All files");
      gtk_file_filter_add_pattern (filter, "*");
      gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (self->chooser), filter);
      g_object_unref (filter);
    }
  if (suggested)
    gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (self->chooser), suggested);
  g_object_set_data (G_OBJECT (self->chooser), "kanvas-done", done);
  g_signal_connect (self->chooser, "response", G_CALLBACK (on_chooser_response), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

static void
open_chosen (KanvasWindow *self,
             const char   *path)
{
  g_autoptr (GError) error = NULL;

  if (!kanvas_window_open_path (self, path, &error))
    kanvas_window_toast (self, "%s", error->message);
}

static void
save_chosen (KanvasWindow *self,
             const char   *path)
{
  g_autoptr (GError) error = NULL;
  gboolean ok = kanvas_window_save_to (self, path, &error);

  if (!ok)
    kanvas_window_toast (self, "%s", error->message);
  /* Save As for a command waiting on "Save changes?": it goes on only if this worked. */
  if (self->pending && self->pending->saving)
    guard_finish (self, ok);
}

static void
export_chosen (KanvasWindow *self,
               const char   *path)
{
  g_autoptr (GError) error = NULL;

  if (!kanvas_window_export_figure (self, path, &error))
    kanvas_window_toast (self, "%s", error->message);
  else
    kanvas_window_toast (self, "Exported the network to %s", path);
}

static gboolean
read_csv_header (const char  *path,
                 GStrv       *names,
                 GError     **error)
{
  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_autoptr (GFileInputStream) in = g_file_read (file, NULL, error);
  g_autoptr (GDataInputStream) data = NULL;
  g_autofree char *line = NULL;
  g_auto (GStrv) cols = NULL;
  GPtrArray *out;

  if (in == NULL)
    return FALSE;
  data = g_data_input_stream_new (G_INPUT_STREAM (in));
  line = g_data_input_stream_read_line_utf8 (data, NULL, NULL, error);
  if (line == NULL)
    {
      if (error && *error == NULL)
        g_set_error (error, KAN_ERROR, KAN_ERROR_DATA, "%s: the file is empty", path);
      return FALSE;
    }
  /* The core reads the rows; here only the names matter (BOM, CR and quotes dropped). */
  cols = g_strsplit (g_str_has_prefix (line, "\xEF\xBB\xBF") ? line + 3 : line, ",", -1);
  out = g_ptr_array_new ();
  for (char **c = cols; *c; c++)
    {
      char *name = g_strstrip (*c);
      gsize len = strlen (name);
      if (len >= 2 && name[0] == '"' && name[len - 1] == '"')
        {
          name[len - 1] = '\0';
          name++;
        }
      g_ptr_array_add (out, g_strdup (name));
    }
  g_ptr_array_add (out, NULL);
  if (out->len < 3)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_DATA,
                   "%s:1: the header names %u column; a data set needs an input and a target",
                   path, out->len - 1);
      g_ptr_array_free (out, TRUE);
      return FALSE;
    }
  *names = (GStrv) g_ptr_array_free (out, FALSE);
  return TRUE;
}

static void
csv_chosen (KanvasWindow *self,
            const char   *path)
{
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) names = NULL;
  g_autofree char *width = NULL;

  clear_errors (self);
  if (!read_csv_header (path, &names, &error))
    {
      show_error (self, self->csv_file_row, error);
      return;
    }
  g_free (self->csv_path);
  self->csv_path = g_strdup (path);
  adw_action_row_set_subtitle (self->csv_file_row, path);
  set_targets (self, (const char *const *) names, NULL);
  adw_combo_row_set_selected (self->source_row, SOURCE_CSV);
  panel_defaults_for_source (self, SOURCE_CSV);
  width = g_strdup_printf ("%u,5,1", g_strv_length (names) - 1);
  gtk_editable_set_text (GTK_EDITABLE (self->width_row), width);
  kanvas_window_toast (self, "Pick the target column, then build the data and model.");
}

static void
open_action (GSimpleAction *action,
             GVariant      *param,
             gpointer       user_data)
{
  run_chooser (user_data, "Open Session", GTK_FILE_CHOOSER_ACTION_OPEN, "_Open", NULL,
               "*.kanvas", "Kanvas sessions", open_chosen);
}

static void
save_as_action (GSimpleAction *action,
                GVariant      *param,
                gpointer       user_data)
{
  KanvasWindow *self = user_data;
  g_autofree char *name = NULL;

  if (self->path)
    name = g_path_get_basename (self->path);
  run_chooser (self, "Save Session", GTK_FILE_CHOOSER_ACTION_SAVE, "_Save",
               name ? name : "session.kanvas", "*.kanvas", "Kanvas sessions", save_chosen);
}

static void
save_action (GSimpleAction *action,
             GVariant      *param,
             gpointer       user_data)
{
  KanvasWindow *self = user_data;

  if (self->path == NULL)
    save_as_action (NULL, NULL, self);
  else
    save_chosen (self, self->path);
}

static void
export_figure_action (GSimpleAction *action,
                      GVariant      *param,
                      gpointer       user_data)
{
  run_chooser (user_data, "Export Figure", GTK_FILE_CHOOSER_ACTION_SAVE, "_Export",
               "network.png", NULL, NULL, export_chosen);
}

static void
import_csv_action (GSimpleAction *action,
                   GVariant      *param,
                   gpointer       user_data)
{
  run_chooser (user_data, "Import CSV", GTK_FILE_CHOOSER_ACTION_OPEN, "_Import", NULL,
               "*.csv", "CSV files", csv_chosen);
}

static void
zoom_action (GSimpleAction *action,
             GVariant      *param,
             gpointer       user_data)
{
  KanvasWindow *self = user_data;
  const char *name = g_action_get_name (G_ACTION (action));
  double z = kanvas_canvas_get_zoom (self->canvas);

  if (g_str_equal (name, "zoom-in"))
    z *= 1.25;
  else if (g_str_equal (name, "zoom-out"))
    z /= 1.25;
  else
    {
      /* The whole network in the window, however wide it is. */
      kanvas_canvas_fit (self->canvas);
      return;
    }
  kanvas_canvas_set_zoom (self->canvas, z);
}

/* Closing ----------------------------------------------------------------------------------------- */

static void
close_now (KanvasWindow *self,
           gpointer      data)
{
  gtk_window_close (GTK_WINDOW (self));
}

void
kanvas_window_close_asking (KanvasWindow *self,
                            const char   *verb)
{
  g_return_if_fail (KANVAS_IS_WINDOW (self));

  guard (self, verb ? verb : "closing", close_now, NULL, NULL);
}

static gboolean
kanvas_window_close_request (GtkWindow *window)
{
  KanvasWindow *self = KANVAS_WINDOW (window);

  /* The guard closes again once it may (then nothing is unsaved or waiting). */
  if (has_unsaved (self) || self->pending)
    {
      kanvas_window_close_asking (self, "closing");
      return TRUE;
    }
  return GTK_WINDOW_CLASS (kanvas_window_parent_class)->close_request (window);
}

void
kanvas_window_close_discard (KanvasWindow *self)
{
  g_return_if_fail (KANVAS_IS_WINDOW (self));

  pending_free (pending_take (self));
  reset_worker (self);
  set_modified (self, FALSE);
  gtk_window_close (GTK_WINDOW (self));
}

gboolean
kanvas_window_is_asking (KanvasWindow *self)
{
  g_return_val_if_fail (KANVAS_IS_WINDOW (self), FALSE);
  return self->pending != NULL;
}

GtkWindow *
kanvas_window_get_question (KanvasWindow *self)
{
  g_return_val_if_fail (KANVAS_IS_WINDOW (self), NULL);
  return self->pending && self->pending->dialog ? GTK_WINDOW (self->pending->dialog) : NULL;
}

gboolean
kanvas_window_answer (KanvasWindow  *self,
                      const char    *answer,
                      GError       **error)
{
  KanvasPending *p;

  g_return_val_if_fail (KANVAS_IS_WINDOW (self), FALSE);
  g_return_val_if_fail (answer != NULL, FALSE);

  p = self->pending;
  if (!g_str_equal (answer, "save") && !g_str_equal (answer, "discard")
      && !g_str_equal (answer, "cancel"))
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID,
                   "'%s': answer save, discard or cancel", answer);
      return FALSE;
    }
  if (p == NULL)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID, "No question about unsaved changes is "
                   "waiting for an answer.");
      return FALSE;
    }
  if (p->saving)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID, "The Save dialog is open: choose a file "
                   "there or cancel it.");
      return FALSE;
    }
  if (p->dialog)
    {
      /* As if its button was pressed. */
      g_signal_handlers_disconnect_by_func (p->dialog, on_question_response, self);
      gtk_window_destroy (GTK_WINDOW (p->dialog));
      p->dialog = NULL;
      guard_answer (self, answer);
    }
  else if (g_str_equal (answer, "cancel"))
    guard_answer (self, answer);
  else
    {
      /* The run is still stopping: the answer applies when it has, without asking. */
      g_free (p->answer);
      p->answer = g_strdup (answer);
    }
  return TRUE;
}

/* Theme ----------------------------------------------------------------------------------------- */

static void
on_dark_changed (AdwStyleManager *manager,
                 GParamSpec      *pspec,
                 KanvasWindow    *self)
{
  gboolean dark = adw_style_manager_get_dark (manager);

  kanvas_canvas_set_dark (self->canvas, dark);
  kanvas_loss_view_set_dark (self->loss_view, dark);
}

/* Keyboard and wheel ------------------------------------------------------------------------------ */

static gboolean
on_key_pressed (KanvasWindow          *self,
                guint                  keyval,
                guint                  keycode,
                GdkModifierType        state,
                GtkEventControllerKey *controller)
{
  GtkWidget *focus = gtk_root_get_focus (GTK_ROOT (self));

  if (keyval != GDK_KEY_space || (state & gtk_accelerator_get_default_mod_mask ()) != 0)
    return FALSE;
  /* Text entries (spin buttons too) type the space; open menus activate their item. */
  if (focus && (GTK_IS_EDITABLE (focus) || gtk_widget_get_ancestor (focus, GTK_TYPE_POPOVER)))
    return FALSE;
  gtk_widget_activate_action (GTK_WIDGET (self), "win.train-pause", NULL);
  return TRUE;
}

/* The wheel over a spin button that does not have the focus scrolls the panel, as over any
 * other row: a value should not change because the pointer passed over it. */
static gboolean
on_spin_scroll (GtkEventControllerScroll *controller,
                double                    dx,
                double                    dy,
                KanvasWindow             *self)
{
  GtkWidget *spin = gtk_event_controller_get_widget (GTK_EVENT_CONTROLLER (controller));
  GtkAdjustment *adj = gtk_scrolled_window_get_vadjustment (self->panel_scroll);
  double page = gtk_adjustment_get_page_size (adj);

  if (gtk_widget_get_state_flags (spin) & GTK_STATE_FLAG_FOCUS_WITHIN)
    return FALSE;
  /* GtkScrolledWindow's own step for a wheel click; touchpads give pixels. */
  if (gtk_event_controller_scroll_get_unit (controller) == GDK_SCROLL_UNIT_WHEEL)
    dy *= pow (page, 2.0 / 3.0);
  gtk_adjustment_set_value (adj, gtk_adjustment_get_value (adj) + dy);
  return TRUE;
}

static void
guard_spin_wheels (KanvasWindow *self,
                   GtkWidget    *widget)
{
  if (GTK_IS_SPIN_BUTTON (widget))
    {
      GtkEventController *scroll =
        gtk_event_controller_scroll_new (GTK_EVENT_CONTROLLER_SCROLL_VERTICAL);
      gtk_event_controller_set_propagation_phase (scroll, GTK_PHASE_CAPTURE);
      g_signal_connect (scroll, "scroll", G_CALLBACK (on_spin_scroll), self);
      gtk_widget_add_controller (widget, scroll);
      return;
    }
  for (GtkWidget *c = gtk_widget_get_first_child (widget); c; c = gtk_widget_get_next_sibling (c))
    guard_spin_wheels (self, c);
}

static void
hide_faint_change_state (GSimpleAction *action,
                         GVariant      *state,
                         gpointer       user_data)
{
  KanvasWindow *self = user_data;

  g_simple_action_set_state (action, state);
  kanvas_canvas_set_hide_faint (self->canvas, g_variant_get_boolean (state)
                                              ? KANVAS_WINDOW_FAINT_ALPHA : 0);
}

/* Object ----------------------------------------------------------------------------------------- */

static const GActionEntry win_entries[] = {
  { "new", new_action },
  { "open", open_action },
  { "save", save_action },
  { "save-as", save_as_action },
  { "export-figure", export_figure_action },
  { "import-csv", import_csv_action },
  { "load-example", load_example_action, "s" },
  { "apply", apply_action },
  { "train", train_action },
  { "pause", pause_action },
  { "train-pause", train_pause_action },
  { "step", step_action },
  { "stop", stop_action },
  { "zoom-in", zoom_action },
  { "zoom-out", zoom_action },
  { "zoom-fit", zoom_action },
  { "hide-faint", NULL, NULL, "false", hide_faint_change_state },
};

static void
kanvas_window_dispose (GObject *object)
{
  KanvasWindow *self = KANVAS_WINDOW (object);

  pending_free (pending_take (self));
  g_clear_pointer (&self->worker, kan_worker_free);
  kanvas_window_session_dispose (self);
  g_clear_object (&self->step_toast);
  if (self->chooser)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);
  gtk_widget_dispose_template (GTK_WIDGET (self), KANVAS_TYPE_WINDOW);
  G_OBJECT_CLASS (kanvas_window_parent_class)->dispose (object);
}

static void
kanvas_window_finalize (GObject *object)
{
  KanvasWindow *self = KANVAS_WINDOW (object);

  g_clear_pointer (&self->session, kan_session_free);
  g_clear_pointer (&self->path, g_free);
  g_clear_pointer (&self->last_message, g_free);
  g_clear_pointer (&self->name, g_free);
  g_clear_pointer (&self->csv_path, g_free);
  g_clear_object (&self->targets);
  g_clear_pointer (&self->hist_train, g_array_unref);
  g_clear_pointer (&self->hist_test, g_array_unref);
  g_clear_pointer (&self->run_train, g_array_unref);
  g_clear_pointer (&self->run_test, g_array_unref);
  g_clear_pointer (&self->hist_acc_train, g_array_unref);
  g_clear_pointer (&self->hist_acc_test, g_array_unref);
  g_clear_pointer (&self->run_acc_train, g_array_unref);
  g_clear_pointer (&self->run_acc_test, g_array_unref);
  G_OBJECT_CLASS (kanvas_window_parent_class)->finalize (object);
}

static void
kanvas_window_class_init (KanvasWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->dispose = kanvas_window_dispose;
  object_class->finalize = kanvas_window_finalize;
  window_class->close_request = kanvas_window_close_request;

  g_type_ensure (KANVAS_TYPE_CANVAS);
  g_type_ensure (KANVAS_TYPE_LOSS_VIEW);
  gtk_widget_class_set_template_from_resource (widget_class, "/org/kanvas/Kanvas/ui/kanvas-window.ui");
#define CHILD(name) gtk_widget_class_bind_template_child (widget_class, KanvasWindow, name)
  CHILD (toast_overlay);
  CHILD (window_title);
  CHILD (train_button);
  CHILD (train_content);
  CHILD (examples_button);
  CHILD (source_row);
  CHILD (formula_row);
  CHILD (ranges_row);
  CHILD (csv_file_row);
  CHILD (target_row);
  CHILD (test_fraction_row);
  CHILD (test_fraction_spin);
  CHILD (samples_row);
  CHILD (test_samples_row);
  CHILD (train_spin);
  CHILD (test_spin);
  CHILD (noise_row);
  CHILD (noise_spin);
  CHILD (data_seed_spin);
  CHILD (width_row);
  CHILD (grid_spin);
  CHILD (k_spin);
  CHILD (model_seed_spin);
  CHILD (error_label);
  CHILD (optimizer_row);
  CHILD (loss_row);
  CHILD (steps_spin);
  CHILD (lr_spin);
  CHILD (lamb_spin);
  CHILD (grid_update_row);
  CHILD (grid_updates_spin);
  CHILD (canvas);
  CHILD (loss_view);
  CHILD (model_label);
  CHILD (status_label);
  CHILD (state_label);
  CHILD (panel_scroll);
  CHILD (apply_button);
  CHILD (loss_heading);
  CHILD (panel_flap);
  CHILD (pane_flap);
#undef CHILD
  kanvas_window_session_class_init (widget_class);
}

static GMenuModel *
examples_menu (void)
{
  GMenu *menu = g_menu_new ();
  const KanvasExample *ex;
  guint n;

  ex = kanvas_examples (&n);
  for (guint e = 0; e < n; e++)
    {
      g_autoptr (GMenuItem) item = g_menu_item_new (ex[e].title, NULL);
      g_menu_item_set_action_and_target (item, "win.load-example", "s", ex[e].id);
      g_menu_append_item (menu, item);
    }
  return G_MENU_MODEL (menu);
}

static void
kanvas_window_init (KanvasWindow *self)
{
  g_autoptr (GMenuModel) menu = examples_menu ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GPropertyAction) panel_action = NULL;
  g_autoptr (GPropertyAction) pane_action = NULL;
  GtkEventController *keys;
  AdwStyleManager *style = adw_style_manager_get_default ();
  GtkExpression *expr;

  gtk_widget_init_template (GTK_WIDGET (self));
  g_action_map_add_action_entries (G_ACTION_MAP (self), win_entries, G_N_ELEMENTS (win_entries),
                                   self);

  /* The side panels give way to the canvas on small screens (AdwFlap folds them); these show
   * and hide them. */
  panel_action = g_property_action_new ("show-data-panel", self->panel_flap, "reveal-flap");
  g_action_map_add_action (G_ACTION_MAP (self), G_ACTION (panel_action));
  pane_action = g_property_action_new ("show-session-pane", self->pane_flap, "reveal-flap");
  g_action_map_add_action (G_ACTION_MAP (self), G_ACTION (pane_action));

  self->hist_train = g_array_new (FALSE, FALSE, sizeof (double));
  self->hist_test = g_array_new (FALSE, FALSE, sizeof (double));
  self->run_train = g_array_new (FALSE, FALSE, sizeof (double));
  self->run_test = g_array_new (FALSE, FALSE, sizeof (double));
  self->hist_acc_train = g_array_new (FALSE, FALSE, sizeof (double));
  self->hist_acc_test = g_array_new (FALSE, FALSE, sizeof (double));
  self->run_acc_train = g_array_new (FALSE, FALSE, sizeof (double));
  self->run_acc_test = g_array_new (FALSE, FALSE, sizeof (double));
  self->targets = gtk_string_list_new (NULL);
  expr = gtk_property_expression_new (GTK_TYPE_STRING_OBJECT, NULL, "string");
  adw_combo_row_set_expression (self->target_row, expr);
  gtk_expression_unref (expr);
  adw_combo_row_set_model (self->target_row, G_LIST_MODEL (self->targets));
  gtk_menu_button_set_menu_model (self->examples_button, menu);

  g_signal_connect_swapped (self->source_row, "notify::selected", G_CALLBACK (on_source_changed), self);
  g_signal_connect_swapped (self->optimizer_row, "notify::selected",
                            G_CALLBACK (on_optimizer_changed), self);
  g_signal_connect_swapped (self->formula_row, "apply", G_CALLBACK (on_entry_apply), self);
  g_signal_connect_swapped (self->ranges_row, "apply", G_CALLBACK (on_entry_apply), self);
  g_signal_connect_swapped (self->width_row, "apply", G_CALLBACK (on_entry_apply), self);

  /* Space trains or pauses from anywhere but a text entry: seen before the focused button. */
  keys = gtk_event_controller_key_new ();
  gtk_event_controller_set_propagation_phase (keys, GTK_PHASE_CAPTURE);
  g_signal_connect_swapped (keys, "key-pressed", G_CALLBACK (on_key_pressed), self);
  gtk_widget_add_controller (GTK_WIDGET (self), keys);
  guard_spin_wheels (self, GTK_WIDGET (self->panel_scroll));

  /* Any edit of the panel clears the message about the settings before it. */
  g_signal_connect_swapped (self->formula_row, "changed", G_CALLBACK (on_panel_edited), self);
  g_signal_connect_swapped (self->ranges_row, "changed", G_CALLBACK (on_panel_edited), self);
  g_signal_connect_swapped (self->width_row, "changed", G_CALLBACK (on_panel_edited), self);
  g_signal_connect_swapped (self->source_row, "notify::selected", G_CALLBACK (on_panel_edited),
                            self);
  g_signal_connect_swapped (self->target_row, "notify::selected", G_CALLBACK (on_panel_edited),
                            self);
  g_signal_connect_swapped (self->loss_row, "notify::selected", G_CALLBACK (on_panel_edited),
                            self);

  g_signal_connect_object (style, "notify::dark", G_CALLBACK (on_dark_changed), self, 0);
  on_dark_changed (style, NULL, self);

  self->hist_pos = -1;
  kanvas_window_session_init (self);
  kanvas_discover_attach (self);
  self->session = kan_session_new ();
  self->worker = kan_worker_new (g_main_context_default (), on_worker_snapshot, on_worker_done,
                                 self);
  kanvas_lesson_attach (self);
  if (!kanvas_window_load_example (self, "demo", &error))
    g_critical ("the built-in demo failed: %s", error->message);
}

KanvasWindow *
kanvas_window_new (GtkApplication *application)
{
  KanvasWindow *self = g_object_new (KANVAS_TYPE_WINDOW, "application", application, NULL);
  GdkDisplay *display = gtk_widget_get_display (GTK_WIDGET (self));
  g_autoptr (GdkMonitor) monitor = NULL;
  int w, h;

  /* A small screen gets a window that fits it (the side panels then fold away). */
  if (display && g_list_model_get_n_items (gdk_display_get_monitors (display)) > 0)
    {
      GdkRectangle area;
      monitor = g_list_model_get_item (gdk_display_get_monitors (display), 0);
      gdk_monitor_get_geometry (monitor, &area);
      gtk_window_get_default_size (GTK_WINDOW (self), &w, &h);
      gtk_window_set_default_size (GTK_WINDOW (self), MIN (w, area.width), MIN (h, area.height));
    }
  return self;
}

void
kanvas_window_show_message (KanvasWindow *self,
                            const char   *text)
{
  g_return_if_fail (KANVAS_IS_WINDOW (self));
  kanvas_window_toast (self, "%s", text);
}

const KanSession *
kanvas_window_get_session (KanvasWindow *self)
{
  g_return_val_if_fail (KANVAS_IS_WINDOW (self), NULL);
  return self->session;
}

const char *
kanvas_window_get_last_message (KanvasWindow *self)
{
  g_return_val_if_fail (KANVAS_IS_WINDOW (self), NULL);
  return self->last_message;
}

const char *
kanvas_window_get_path (KanvasWindow *self)
{
  g_return_val_if_fail (KANVAS_IS_WINDOW (self), NULL);
  return self->path;
}

gboolean
kanvas_window_get_modified (KanvasWindow *self)
{
  g_return_val_if_fail (KANVAS_IS_WINDOW (self), FALSE);
  return has_unsaved (self);
}

gboolean
kanvas_window_is_training (KanvasWindow *self)
{
  g_return_val_if_fail (KANVAS_IS_WINDOW (self), FALSE);
  return self->run_state != RUN_IDLE;
}

KanWorkerState
kanvas_window_get_train_state (KanvasWindow *self)
{
  g_return_val_if_fail (KANVAS_IS_WINDOW (self), KAN_WORKER_IDLE);
  return self->run_state == RUN_RUNNING ? KAN_WORKER_RUNNING
         : self->run_state == RUN_PAUSED ? KAN_WORKER_PAUSED : KAN_WORKER_IDLE;
}

KanvasCanvas *
kanvas_window_get_canvas (KanvasWindow *self)
{
  g_return_val_if_fail (KANVAS_IS_WINDOW (self), NULL);
  return self->canvas;
}

KanvasLossView *
kanvas_window_get_loss_view (KanvasWindow *self)
{
  g_return_val_if_fail (KANVAS_IS_WINDOW (self), NULL);
  return self->loss_view;
}

KanvasSessionPane *
kanvas_window_get_session_pane (KanvasWindow *self)
{
  g_return_val_if_fail (KANVAS_IS_WINDOW (self), NULL);
  return self->session_pane;
}

int
kanvas_window_get_n_step_toasts (KanvasWindow *self)
{
  g_return_val_if_fail (KANVAS_IS_WINDOW (self), 0);
  return self->n_step_toasts;
}

const char *
kanvas_window_get_step_toast (KanvasWindow *self)
{
  g_return_val_if_fail (KANVAS_IS_WINDOW (self), NULL);
  return self->step_toast ? adw_toast_get_title (self->step_toast) : NULL;
}

int
kanvas_window_get_steps_done (KanvasWindow *self)
{
  g_return_val_if_fail (KANVAS_IS_WINDOW (self), 0);
  return self->session->steps_done + (int) self->run_train->len;
}
