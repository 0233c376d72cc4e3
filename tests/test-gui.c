/* test-gui.c — the workbench window, in process under Xvfb.
 *
 * Runs without forking (CK_FORK=no): GTK is initialised once, and a forked child of an
 * initialised GTK cannot open a second display connection. Without a display every test is
 * skipped (exit code 77), and the program says so.
 */
#include <check.h>
#include <math.h>
#include <string.h>
#include <sys/wait.h>
#include <glib/gstdio.h>
#include <gsl/gsl_errno.h>
#include <adwaita.h>

#include "kanvas-application.h"
#include "kanvas-window.h"
#include "kanvas-discover.h"
#include "test-gui-helpers.h"
#include "test-helpers.h"
#include "kanvas-lesson.h"
#include "kan-ops.h"
#include "kan-lock.h"


static KanvasApplication *app;
static KanvasWindow *win;
static char *tmpdir;

static gboolean
is_idle (gpointer data)
{
  return !kanvas_window_is_training (win);
}

static gboolean
has_snapshots (gpointer data)
{
  return kanvas_canvas_get_n_snapshots (kanvas_window_get_canvas (win)) > GPOINTER_TO_UINT (data);
}

static gboolean
steps_reach (gpointer data)
{
  return kanvas_window_get_steps_done (win) >= GPOINTER_TO_INT (data);
}

static void
setup (void)
{
  win = kanvas_window_new (GTK_APPLICATION (app));
  /* Closing the window in a test (quit, Ctrl+W) sets WIN to NULL. */
  g_object_add_weak_pointer (G_OBJECT (win), (gpointer *) &win);
  gtk_window_present (GTK_WINDOW (win));
  kt_spin_for (0.2);
}

static void
teardown (void)
{
  if (win)
    {
      g_object_remove_weak_pointer (G_OBJECT (win), (gpointer *) &win);
      gtk_window_destroy (GTK_WINDOW (win));
    }
  win = NULL;
  kt_spin_for (0.1);
}

static void
app_action (const char *name,
            GVariant   *param)
{
  /* The application's actions are what `gapplication action` reaches over D-Bus. */
  g_action_group_activate_action (G_ACTION_GROUP (app), name, param);
}

static char *
write_session (const char *name,
               int         steps)
{
  g_autoptr (KanSession) s = kan_session_new ();
  g_autoptr (KanShape) shape = kan_shape_parse ("2,5,1", NULL, NULL);
  g_autoptr (GError) error = NULL;
  char *path = g_build_filename (tmpdir, name, NULL);
  KanFormulaSpec spec;
  KanModelConfig mc;

  kan_formula_spec_init (&spec);
  spec.formula = "exp(sin(pi*x1)+x2^2)";
  s->data = kan_dataset_from_formula (&spec, &error);
  ck_assert_ptr_nonnull (s->data);
  kan_model_config_init (&mc);
  mc.shape = shape;
  mc.grid = 5;
  s->model = kan_model_new (&mc, &error);
  ck_assert_ptr_nonnull (s->model);
  kan_train_config_init (&s->train);
  s->train.steps = steps;
  ck_assert_msg (kan_session_save (s, path, &error), "%s", error ? error->message : "");
  return path;
}

START_TEST (test_starts_on_demo)
{
  const KanSession *s = kanvas_window_get_session (win);
  g_autofree char *width = NULL;
  const KanSnapshot *snap;

  ck_assert_ptr_nonnull (s->model);
  ck_assert_ptr_nonnull (s->data);
  ck_assert_int_eq (s->data->source, KAN_DATA_FORMULA);
  ck_assert_str_eq (s->data->formula, "exp(sin(pi*x1)+x2^2)");
  width = kan_shape_to_string (kan_model_shape (s->model));
  ck_assert_str_eq (width, "2,5,1");
  ck_assert_int_eq (kan_model_grid (s->model), 5);
  ck_assert (!kanvas_window_get_modified (win));
  ck_assert (!kanvas_window_is_training (win));
  snap = kanvas_canvas_get_snapshot (kanvas_window_get_canvas (win));
  ck_assert_ptr_nonnull (snap);
  ck_assert_int_eq (snap->n_edges, 2 * 5 + 5 * 1);
  ck_assert_ptr_nonnull (strstr (gtk_window_get_title (GTK_WINDOW (win)), "Demo"));
}
END_TEST

START_TEST (test_train_action)
{
  KanvasCanvas *canvas = kanvas_window_get_canvas (win);
  guint before = kanvas_canvas_get_n_snapshots (canvas);

  app_action ("train", NULL);
  ck_assert (kanvas_window_is_training (win));
  ck_assert_msg (kt_spin_until (has_snapshots, GUINT_TO_POINTER (before), 20),
                 "no snapshot reached the canvas");
  ck_assert_msg (kt_spin_until (is_idle, NULL, 120), "the run did not end");
  /* The configured number of steps (50 for the demo), then it stops by itself. */
  ck_assert_int_eq (kanvas_window_get_session (win)->steps_done, 50);
  ck_assert_uint_eq (kanvas_loss_view_get_n_steps (kanvas_window_get_loss_view (win)), 50);
  ck_assert (kanvas_window_get_modified (win));
  ck_assert_ptr_nonnull (strstr (gtk_window_get_title (GTK_WINDOW (win)), "•"));
  ck_assert_int_eq (kanvas_canvas_get_snapshot (canvas)->step, 50);
  ck_assert_double_lt (kanvas_canvas_get_snapshot (canvas)->train_rmse, 0.05);
}
END_TEST

START_TEST (test_pause_step_stop)
{
  g_autofree char *path = write_session ("long.kanvas", 100000);
  KanvasCanvas *canvas = kanvas_window_get_canvas (win);
  guint before;
  int n0, n1;

  app_action ("open", g_variant_new_string (path));
  ck_assert_str_eq (kanvas_window_get_path (win), path);
  before = kanvas_canvas_get_n_snapshots (canvas);
  app_action ("train", NULL);
  ck_assert (kt_spin_until (has_snapshots, GUINT_TO_POINTER (before), 20));
  ck_assert (kt_spin_until (steps_reach, GINT_TO_POINTER (3), 20));

  app_action ("pause", NULL);
  ck_assert_int_eq (kanvas_window_get_train_state (win), KAN_WORKER_PAUSED);
  /* The worker publishes a snapshot when it pauses; after that nothing moves. */
  kt_spin_for (0.5);
  n0 = kanvas_window_get_steps_done (win);
  kt_spin_for (0.5);
  n1 = kanvas_window_get_steps_done (win);
  ck_assert_int_eq (n0, n1);
  ck_assert (kanvas_window_is_training (win));

  /* Step: exactly one more. */
  app_action ("step", NULL);
  ck_assert (kt_spin_until (steps_reach, GINT_TO_POINTER (n1 + 1), 10));
  kt_spin_for (0.3);
  ck_assert_int_eq (kanvas_window_get_steps_done (win), n1 + 1);

  /* Resume, then stop: the run ends promptly and the model keeps what was learnt. */
  app_action ("train", NULL);
  ck_assert (kt_spin_until (steps_reach, GINT_TO_POINTER (n1 + 3), 20));
  app_action ("stop", NULL);
  ck_assert_msg (kt_spin_until (is_idle, NULL, 5), "stop did not end the run within 5 s");
  ck_assert_int_ge (kanvas_window_get_session (win)->steps_done, n1 + 3);
  ck_assert_int_lt (kanvas_window_get_session (win)->steps_done, 100000);
}
END_TEST

START_TEST (test_save_open_roundtrip)
{
  g_autofree char *path = g_build_filename (tmpdir, "round.kanvas", NULL);
  g_autofree double *params = NULL;
  const KanSession *s;
  size_t n;

  app_action ("step", NULL);
  ck_assert (kt_spin_until (steps_reach, GINT_TO_POINTER (1), 20));
  app_action ("stop", NULL);
  ck_assert (kt_spin_until (is_idle, NULL, 10));
  s = kanvas_window_get_session (win);
  n = kan_model_n_params (s->model);
  params = g_memdup2 (kan_model_params_const (s->model), n * sizeof (double));
  ck_assert (kanvas_window_get_modified (win));

  app_action ("save-as", g_variant_new_string (path));
  ck_assert (g_file_test (path, G_FILE_TEST_IS_REGULAR));
  ck_assert (!kanvas_window_get_modified (win));
  ck_assert_str_eq (kanvas_window_get_path (win), path);
  ck_assert_ptr_null (strstr (gtk_window_get_title (GTK_WINDOW (win)), "•"));

  /* Something else, then back. */
  app_action ("load-example", g_variant_new_string ("xy"));
  ck_assert_ptr_null (kanvas_window_get_path (win));
  ck_assert_str_eq (kanvas_window_get_session (win)->data->formula, "x1*x2");
  app_action ("open", g_variant_new_string (path));
  s = kanvas_window_get_session (win);
  ck_assert_str_eq (kanvas_window_get_path (win), path);
  ck_assert_uint_eq (kan_model_n_params (s->model), n);
  ck_assert_int_eq (memcmp (kan_model_params_const (s->model), params, n * sizeof (double)), 0);
  ck_assert_int_eq (s->steps_done, 1);
}
END_TEST

/* Bad session files (issue 5/5): opening one shows a message that names the file and what is
 * wrong, and the current session stays as it was. */
START_TEST (test_bad_session_files)
{
  g_autofree char *good = write_session ("good.kanvas", 50);
  g_autofree char *text = NULL;
  gsize len = 0;
  struct { const char *name; const char *expect; } cases[] = {
    { "missing.kanvas", "missing.kanvas" },
    { "truncated.kanvas", "truncated.kanvas" },
    { "version.kanvas", "version" },
    { "nan.kanvas", "nan.kanvas" },
    { "garbage.kanvas", "garbage.kanvas" },
  };
  const KanSession *before;
  g_autofree double *params = NULL;
  size_t n;

  ck_assert (g_file_get_contents (good, &text, &len, NULL));
  {
    g_autofree char *p1 = g_build_filename (tmpdir, "truncated.kanvas", NULL);
    g_autofree char *p2 = g_build_filename (tmpdir, "version.kanvas", NULL);
    g_autofree char *p3 = g_build_filename (tmpdir, "nan.kanvas", NULL);
    g_autofree char *p4 = g_build_filename (tmpdir, "garbage.kanvas", NULL);
    g_autoptr (GString) v = g_string_new (text);
    g_autoptr (GString) nan = g_string_new (text);
    char *coef;
    ck_assert (g_file_set_contents (p1, text, len / 2, NULL));
    ck_assert (g_string_replace (v, "\"version\": 1", "\"version\": 99", 1) == 1);
    ck_assert (g_file_set_contents (p2, v->str, -1, NULL));
    /* The first coefficient becomes a string "nan". */
    coef = strstr (nan->str, "\"coef\"");
    ck_assert_ptr_nonnull (coef);
    coef = strchr (coef, '[');
    while (*coef == '[' || *coef == ' ' || *coef == '\n')
      coef++;
    g_string_insert (nan, coef - nan->str, "\"nan\", ");
    ck_assert (g_file_set_contents (p3, nan->str, -1, NULL));
    ck_assert (g_file_set_contents (p4, "\x89PNG\r\n\x1a\n\x01\x02garbage", 16, NULL));
  }

  app_action ("load-example", g_variant_new_string ("sin-sq"));
  before = kanvas_window_get_session (win);
  n = kan_model_n_params (before->model);
  params = g_memdup2 (kan_model_params_const (before->model), n * sizeof (double));

  for (unsigned q = 0; q < G_N_ELEMENTS (cases); q++)
    {
      g_autofree char *path = g_build_filename (tmpdir, cases[q].name, NULL);
      const KanSession *after;
      const char *msg;

      app_action ("open", g_variant_new_string (path));
      msg = kanvas_window_get_last_message (win);
      ck_assert_msg (msg != NULL && strstr (msg, cases[q].expect) != NULL,
                     "%s: message '%s' does not mention '%s'", cases[q].name,
                     msg ? msg : "(none)", cases[q].expect);
      after = kanvas_window_get_session (win);
      ck_assert_ptr_eq (after, before);
      ck_assert_ptr_null (kanvas_window_get_path (win));
      ck_assert_str_eq (after->data->formula, "sin(pi*x1)+x2^2");
      ck_assert_uint_eq (kan_model_n_params (after->model), n);
      ck_assert_int_eq (memcmp (kan_model_params_const (after->model), params,
                                n * sizeof (double)), 0);
    }
}
END_TEST

START_TEST (test_cli_sessions)
{
  const char *cli = g_getenv ("KANVAS_CLI");
  g_autofree char *from_cli = g_build_filename (tmpdir, "cli.kanvas", NULL);
  g_autofree char *from_gui = g_build_filename (tmpdir, "gui.kanvas", NULL);
  g_autoptr (GError) error = NULL;
  int status = -1;

  if (cli == NULL)
    {
      fprintf (stderr, "test_cli_sessions: KANVAS_CLI is not set; skipped\n");
      return;
    }
  {
    const char *argv[] = { cli, "fit", "--steps", "3", "-o", from_cli, NULL };
    ck_assert (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL
                             | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, NULL, NULL, &status,
                             &error));
    ck_assert (g_spawn_check_wait_status (status, NULL));
  }
  app_action ("open", g_variant_new_string (from_cli));
  ck_assert_str_eq (kanvas_window_get_path (win), from_cli);
  ck_assert_int_eq (kanvas_window_get_session (win)->steps_done, 3);

  app_action ("save-as", g_variant_new_string (from_gui));
  {
    const char *argv[] = { cli, "info", "-i", from_gui, NULL };
    ck_assert (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL
                             | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, NULL, NULL, &status,
                             &error));
    ck_assert_msg (g_spawn_check_wait_status (status, NULL), "kanvas-cli info rejected the GUI's session");
  }
}
END_TEST

START_TEST (test_invalid_entries)
{
  GtkWidget *formula = GTK_WIDGET (gtk_widget_get_template_child (GTK_WIDGET (win), KANVAS_TYPE_WINDOW,
                                                      "formula_row"));
  GtkWidget *width = GTK_WIDGET (gtk_widget_get_template_child (GTK_WIDGET (win), KANVAS_TYPE_WINDOW,
                                                    "width_row"));
  GtkLabel *label = GTK_LABEL (gtk_widget_get_template_child (GTK_WIDGET (win),
                                                              KANVAS_TYPE_WINDOW, "error_label"));
  const KanModel *model = kanvas_window_get_session (win)->model;
  const KanDataset *data = kanvas_window_get_session (win)->data;

  gtk_editable_set_text (GTK_EDITABLE (formula), "exp(sin(pi*x1)+");
  g_action_group_activate_action (G_ACTION_GROUP (win), "apply", NULL);
  ck_assert (gtk_widget_has_css_class (formula, "error"));
  ck_assert (gtk_widget_get_visible (GTK_WIDGET (label)));
  ck_assert_int_gt (strlen (gtk_label_get_text (label)), 5);
  /* The model and data are the ones from before. */
  ck_assert_ptr_eq (kanvas_window_get_session (win)->model, model);
  ck_assert_ptr_eq (kanvas_window_get_session (win)->data, data);
  ck_assert (!kanvas_window_get_modified (win));

  /* A valid formula with three variables does not fit width 2,5,1. */
  gtk_editable_set_text (GTK_EDITABLE (formula), "x1*x2+x3");
  g_action_group_activate_action (G_ACTION_GROUP (win), "apply", NULL);
  ck_assert (!gtk_widget_has_css_class (formula, "error"));
  ck_assert (gtk_widget_has_css_class (width, "error"));
  ck_assert_ptr_eq (kanvas_window_get_session (win)->model, model);

  gtk_editable_set_text (GTK_EDITABLE (width), "3,[2,");
  g_action_group_activate_action (G_ACTION_GROUP (win), "apply", NULL);
  ck_assert (gtk_widget_has_css_class (width, "error"));
  ck_assert_ptr_eq (kanvas_window_get_session (win)->model, model);

  /* Fixed: the session changes and the error goes. */
  gtk_editable_set_text (GTK_EDITABLE (width), "3,4,1");
  g_action_group_activate_action (G_ACTION_GROUP (win), "apply", NULL);
  ck_assert (!gtk_widget_has_css_class (width, "error"));
  ck_assert (!gtk_widget_get_visible (GTK_WIDGET (label)));
  ck_assert_int_eq (kan_model_n_in (kanvas_window_get_session (win)->model), 3);
  ck_assert (kanvas_window_get_modified (win));

  /* Bad scripted input is a message, not a crash. */
  app_action ("load-example", g_variant_new_string ("no-such-example"));
  app_action ("open", g_variant_new_string ("/nonexistent/x.kanvas"));
  ck_assert_int_eq (kan_model_n_in (kanvas_window_get_session (win)->model), 3);
}
END_TEST

START_TEST (test_examples_load)
{
  const char *ids[] = { "demo", "xy", "sin-sq", "deep4", "bessel", "two-moons", "five-peaks" };

  for (guint e = 0; e < G_N_ELEMENTS (ids); e++)
    {
      g_autoptr (GError) error = NULL;
      ck_assert_msg (kanvas_window_load_example (win, ids[e], &error), "%s: %s", ids[e],
                     error ? error->message : "");
      ck_assert_ptr_nonnull (kanvas_canvas_get_snapshot (kanvas_window_get_canvas (win)));
    }
  /* Two moons is a classification: cross-entropy over two outputs. */
  ck_assert_int_eq (kanvas_window_get_session (win)->train.loss, KAN_LOSS_MSE);
  ck_assert (kanvas_window_load_example (win, "two-moons", NULL));
  ck_assert_int_eq (kanvas_window_get_session (win)->train.loss, KAN_LOSS_CE);
  ck_assert_int_eq (kan_model_n_out (kanvas_window_get_session (win)->model), 2);
}
END_TEST

START_TEST (test_window_not_blank)
{
  KanvasCanvas *canvas = kanvas_window_get_canvas (win);
  GskRenderer *renderer;
  g_autoptr (GdkPaintable) paintable = NULL;
  g_autoptr (GtkSnapshot) snapshot = NULL;
  g_autoptr (GskRenderNode) node = NULL;
  g_autoptr (GdkTexture) texture = NULL;
  g_autofree guchar *pixels = NULL;
  int w = gtk_widget_get_width (GTK_WIDGET (canvas));
  int h = gtk_widget_get_height (GTK_WIDGET (canvas));
  double sum = 0, sum2 = 0;
  int dark = 0, n = 0;

  ck_assert_int_gt (w, 100);
  ck_assert_int_gt (h, 100);
  ck_assert_ptr_nonnull (kanvas_canvas_get_snapshot (canvas));

  /* Render the canvas the way the window does, to a texture, and look at its pixels. */
  paintable = gtk_widget_paintable_new (GTK_WIDGET (canvas));
  snapshot = gtk_snapshot_new ();
  gdk_paintable_snapshot (paintable, GDK_SNAPSHOT (snapshot), w, h);
  node = gtk_snapshot_to_node (snapshot);
  ck_assert_ptr_nonnull (node);
  renderer = gtk_native_get_renderer (GTK_NATIVE (win));
  ck_assert_ptr_nonnull (renderer);
  texture = gsk_renderer_render_texture (renderer, node, &GRAPHENE_RECT_INIT (0, 0, w, h));
  pixels = g_malloc (4 * (gsize) w * h);
  gdk_texture_download (texture, pixels, 4 * w);
  for (int p = 0; p < w * h; p++)
    {
      double v = (pixels[4 * p] + pixels[4 * p + 1] + pixels[4 * p + 2]) / 3.0;
      sum += v;
      sum2 += v * v;
      dark += v < 128;
      n++;
    }
  {
    double mean = sum / n, var = sum2 / n - mean * mean;
    ck_assert_msg (var > 50, "the canvas looks blank (variance %g)", var);
    ck_assert_msg (dark > 500, "the canvas has only %d dark pixels", dark);
  }
  ck_assert_int_lt (kanvas_canvas_get_last_draw_us (canvas), 1000000);
}
END_TEST


/* A widget of the window's template or of its right-hand pane's, by its id. */
static GtkWidget *
child (const char *name)
{
  GObject *w = gtk_widget_get_template_child (GTK_WIDGET (win), KANVAS_TYPE_WINDOW, name);

  if (w == NULL)
    w = gtk_widget_get_template_child (GTK_WIDGET (kanvas_window_get_session_pane (win)),
                                       KANVAS_TYPE_SESSION_PANE, name);
  ck_assert_msg (w != NULL, "no widget '%s'", name);
  return GTK_WIDGET (w);
}

static char *
model_width (void)
{
  return kan_shape_to_string (kan_model_shape (kanvas_window_get_session (win)->model));
}

/* Trains with the panel's settings and waits for the run to end. */
static void
train_and_wait (void)
{
  int before = kanvas_window_get_session (win)->steps_done;

  app_action ("train", NULL);
  ck_assert (kanvas_window_is_training (win));
  ck_assert_msg (kt_spin_until (is_idle, NULL, 120), "the run did not end");
  ck_assert_int_gt (kanvas_window_get_session (win)->steps_done, before);
}

static gboolean
edits_enabled (gpointer data)
{
  return g_action_group_get_action_enabled (G_ACTION_GROUP (win), "prune-node");
}

/* Auto-symbolic and refine run on a thread: waits until the window takes edits again. */
static void
wait_task (void)
{
  ck_assert_msg (kt_spin_until (edits_enabled, NULL, 120), "the operation did not end");
}

static gboolean
preview_arrived (gpointer data)
{
  return !kanvas_session_pane_is_previewing (kanvas_window_get_session_pane (win));
}

/* The prune preview is computed on a thread: waits until the pane shows the newest. */
static void
wait_preview (void)
{
  ck_assert_msg (kt_spin_until (preview_arrived, NULL, 60), "the prune preview did not arrive");
}

START_TEST (test_canvas_hit)
{
  KanvasCanvas *canvas = kanvas_window_get_canvas (win);
  const KanSnapshot *snap = kanvas_canvas_get_snapshot (canvas);
  g_autoptr (KanLayout) lay = kanvas_canvas_get_layout (canvas);
  GtkLabel *title = GTK_LABEL (child ("inspect_title"));
  int l, i, j;

  ck_assert_ptr_nonnull (snap);
  ck_assert_ptr_nonnull (lay);
  /* Every edge's box maps to its (l,i,j), in the geometry the canvas draws with. */
  for (int e = 0; e < snap->n_edges; e++)
    {
      const KanSnapshotEdge *ed = &snap->edges[e];
      KanRect r = kan_layout_edge_box (lay, ed->l, ed->i, ed->j);
      ck_assert_double_gt (r.w, 2);
      ck_assert_double_gt (r.h, 2);
      ck_assert (kanvas_canvas_hit (canvas, r.x + r.w / 2, r.y + r.h / 2, &l, &i, &j));
      ck_assert_msg (l == ed->l && i == ed->i && j == ed->j, "edge (%d,%d,%d) hit as (%d,%d,%d)",
                     ed->l, ed->i, ed->j, l, i, j);
      /* A little inside each corner too. */
      ck_assert (kanvas_canvas_hit (canvas, r.x + 0.1 * r.w, r.y + 0.1 * r.h, &l, &i, &j));
      ck_assert (l == ed->l && i == ed->i && j == ed->j);
      ck_assert (kanvas_canvas_hit (canvas, r.x + 0.9 * r.w, r.y + 0.9 * r.h, &l, &i, &j));
      ck_assert (l == ed->l && i == ed->i && j == ed->j);
    }
  /* Every node maps to (l,i,-1). */
  for (int nl = 0; nl <= snap->depth; nl++)
    for (int n = 0; n < snap->n_nodes[nl]; n++)
      {
        KanRect r = kan_layout_node_box (lay, nl, n);
        ck_assert (kanvas_canvas_hit (canvas, r.x + r.w / 2, r.y + r.h / 2, &l, &i, &j));
        ck_assert_msg (l == nl && i == n && j == -1, "node (%d,%d) hit as (%d,%d,%d)", nl, n, l,
                       i, j);
      }
  /* A corner of the canvas is nothing. */
  ck_assert (!kanvas_canvas_hit (canvas, 1, 1, &l, &i, &j));
  ck_assert_int_eq (l, -1);

  /* A click selects, and the inspector follows with the suggestions. */
  {
    KanRect r = kan_layout_edge_box (lay, 0, 1, 3);
    GtkWidget *list = child ("suggest_list");
    int rows = 0;
    kanvas_canvas_select_at (canvas, r.x + r.w / 2, r.y + r.h / 2);
    kanvas_canvas_get_selection (canvas, &l, &i, &j);
    ck_assert (l == 0 && i == 1 && j == 3);
    ck_assert_str_eq (gtk_label_get_text (title), "Edge (0, 1, 3)");
    for (GtkWidget *c = gtk_widget_get_first_child (list); c; c = gtk_widget_get_next_sibling (c))
      rows++;
    ck_assert_int_ge (rows, 3);
    kanvas_canvas_select_at (canvas, 1, 1);
    kanvas_canvas_get_selection (canvas, &l, &i, &j);
    ck_assert_int_eq (l, -1);
  }
  /* The scripted selection: nodes and edges; bad ones leave it alone. */
  app_action ("select", g_variant_new_string ("1,2"));
  kanvas_canvas_get_selection (canvas, &l, &i, &j);
  ck_assert (l == 1 && i == 2 && j == -1);
  ck_assert_ptr_nonnull (strstr (gtk_label_get_text (title), "Node (1, 2)"));
  app_action ("select", g_variant_new_string ("0,0,9"));
  app_action ("select", g_variant_new_string ("junk"));
  kanvas_canvas_get_selection (canvas, &l, &i, &j);
  ck_assert (l == 1 && i == 2 && j == -1);
}
END_TEST

/* The true function of the demo. */
static double
demo_truth (double x1,
            double x2)
{
  return exp (sin (M_PI * x1) + x2 * x2);
}

/* The formula panel's text evaluates to the demo's function. */
static void
check_formula_panel (char **text_out)
{
  const char *text = gtk_label_get_text (GTK_LABEL (child ("formula_label")));
  const char *vars[] = { "x1", "x2", NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (KanExpr) e = NULL;
  g_autoptr (GRand) rand = g_rand_new_with_seed (7);

  ck_assert_msg (*text, "the formula panel is empty: %s",
                 gtk_label_get_text (GTK_LABEL (child ("numeric_label"))));
  e = kan_expr_parse (text, vars, NULL, &error);
  ck_assert_msg (e != NULL, "cannot parse '%s': %s", text, error ? error->message : "");
  for (int r = 0; r < 200; r++)
    {
      double x[2] = { g_rand_double_range (rand, -1, 1), g_rand_double_range (rand, -1, 1) };
      double want = demo_truth (x[0], x[1]), got = kan_expr_eval (e, x);
      ck_assert_msg (fabs (got - want) <= 1e-6 * fabs (want), "'%s' at (%g,%g): %.12g, want %.12g",
                     text, x[0], x[1], got, want);
    }
  if (text_out)
    *text_out = g_strdup (text);
}

START_TEST (test_session_end_to_end)
{
  g_autofree char *path = g_build_filename (tmpdir, "symbolic.kanvas", NULL);
  g_autofree char *formula_path = g_build_filename (tmpdir, "formula.py", NULL);
  g_autofree char *tex_path = g_build_filename (tmpdir, "formula.tex", NULL);
  g_autofree char *text = NULL;
  g_autofree char *text2 = NULL;
  g_autofree char *w = NULL;
  g_autofree char *contents = NULL;
  const KanSession *s;
  const KanModel *m;
  guint n_hist;

  app_action ("load-example", g_variant_new_string ("demo"));
  /* pykan's recipe: a sparsifying fit, prune, fit again, auto-symbolic, fit the locked net. */
  app_action ("configure", g_variant_new_string ("opt=lbfgs,steps=50,lamb=0.01"));
  train_and_wait ();
  /* The preview the panel shows is kan-ops' preview, and the prune removes what it said. */
  {
    g_autoptr (KanOpsPrunePlan) plan = NULL;
    g_autofree char *want = NULL;
    g_autoptr (GError) error = NULL;

    wait_preview ();
    plan = kan_ops_prune_preview (
      kanvas_window_get_session (win),
      gtk_spin_button_get_value (GTK_SPIN_BUTTON (child ("prune_node_spin"))),
      gtk_spin_button_get_value (GTK_SPIN_BUTTON (child ("prune_edge_spin"))), NULL, &error);
    ck_assert_ptr_nonnull (plan);
    want = kan_ops_prune_plan_summary (plan);
    ck_assert_str_eq (adw_action_row_get_subtitle (ADW_ACTION_ROW (child ("prune_preview_row"))),
                      want);
    app_action ("prune", NULL);
    w = model_width ();
    ck_assert_str_eq (w, plan->width_after);
    s = kanvas_window_get_session (win);
    ck_assert_str_eq (((KanHistoryEntry *) g_ptr_array_index (s->history,
                                                              s->history->len - 1))->detail,
                      plan->detail);
  }
  ck_assert_str_eq (w, "2,1,1");
  app_action ("configure", g_variant_new_string ("lamb=0"));
  train_and_wait ();
  app_action ("auto-symbolic", g_variant_new_string ("x,x^2,exp,sin"));
  wait_task ();
  app_action ("configure", g_variant_new_string ("opt=lm,lamb=0,steps=50"));
  train_and_wait ();

  /* No spline edge remains, and the panel shows exp(sin(pi*x1) + x2^2). */
  m = kanvas_window_get_session (win)->model;
  for (int l = 0; l < kan_model_depth (m); l++)
    for (int i = 0; i < kan_model_layer_in (m, l); i++)
      for (int j = 0; j < kan_model_layer_out (m, l); j++)
        ck_assert_int_ne (kan_model_edge_mode (m, l, i, j), KAN_EDGE_NUMERIC);
  check_formula_panel (&text);
  ck_assert_ptr_nonnull (strstr (gtk_label_get_text (GTK_LABEL (child ("formula_rmse_label"))),
                                 "Test RMSE"));
  g_message ("formula: %s", text);

  /* Every operation is in the history. */
  s = kanvas_window_get_session (win);
  n_hist = s->history->len;
  ck_assert_uint_ge (n_hist, 6);
  {
    const char *ops[] = { "new", "fit", "prune", "fit", "symbolic", "fit" };
    for (guint k = 0; k < G_N_ELEMENTS (ops); k++)
      ck_assert_str_eq (((KanHistoryEntry *) g_ptr_array_index (s->history,
                                                                n_hist - 6 + k))->op, ops[k]);
  }

  /* Exports: SymPy by default, LaTeX by extension. */
  app_action ("export-formula", g_variant_new_string (formula_path));
  ck_assert (g_file_get_contents (formula_path, &contents, NULL, NULL));
  ck_assert_ptr_nonnull (strstr (contents, "**2"));
  g_clear_pointer (&contents, g_free);
  app_action ("export-formula", g_variant_new_string (tex_path));
  ck_assert (g_file_get_contents (tex_path, &contents, NULL, NULL));
  ck_assert_ptr_nonnull (strstr (contents, "\\sin"));

  /* Save, open something else, reopen: the same formula and history. */
  app_action ("save-as", g_variant_new_string (path));
  app_action ("load-example", g_variant_new_string ("xy"));
  ck_assert_str_eq (gtk_label_get_text (GTK_LABEL (child ("formula_label"))), "");
  app_action ("open", g_variant_new_string (path));
  check_formula_panel (&text2);
  ck_assert_str_eq (text, text2);
  ck_assert_uint_eq (kanvas_window_get_session (win)->history->len, n_hist);

  /* Undo back to before the pruning (the undo states came back from the file): whole again. */
  for (int k = 0; k < 4; k++)
    app_action ("undo", NULL);
  g_free (w);
  w = model_width ();
  ck_assert_str_eq (w, "2,5,1");
  ck_assert_ptr_nonnull (kanvas_canvas_get_snapshot (kanvas_window_get_canvas (win)));
  ck_assert_int_eq (kanvas_canvas_get_snapshot (kanvas_window_get_canvas (win))->n_edges, 15);
  /* Redo the prune; then a new edit drops the entries after it. */
  app_action ("redo", NULL);
  g_free (w);
  w = model_width ();
  ck_assert_str_eq (w, "2,1,1");
  app_action ("lock", g_variant_new_string ("0,0,0,sin"));
  ck_assert_int_eq (kan_model_edge_mode (kanvas_window_get_session (win)->model, 0, 0, 0),
                    KAN_EDGE_SYMBOLIC);
  ck_assert_uint_eq (kanvas_window_get_session (win)->history->len, n_hist - 2);
  app_action ("unlock", g_variant_new_string ("0,0,0"));
  ck_assert_int_eq (kan_model_edge_mode (kanvas_window_get_session (win)->model, 0, 0, 0),
                    KAN_EDGE_NUMERIC);
  /* The formula panel lists the spline edges. */
  ck_assert_ptr_nonnull (strstr (gtk_label_get_text (GTK_LABEL (child ("numeric_label"))),
                                 "(0,0,0)"));
  app_action ("undo", NULL);
  ck_assert_int_eq (kan_model_edge_mode (kanvas_window_get_session (win)->model, 0, 0, 0),
                    KAN_EDGE_SYMBOLIC);
}
END_TEST

START_TEST (test_session_actions)
{
  g_autofree char *w = NULL;
  g_autofree char *png = g_build_filename (tmpdir, "edge.svg", NULL);
  const KanModel *m;

  /* Edits are refused while a run holds a copy of the model. */
  app_action ("step", NULL);
  ck_assert (kanvas_window_is_training (win));
  ck_assert (!g_action_group_get_action_enabled (G_ACTION_GROUP (win), "prune"));
  app_action ("prune-node", g_variant_new_string ("1,0"));
  w = model_width ();
  ck_assert_str_eq (w, "2,5,1");
  app_action ("stop", NULL);
  ck_assert (kt_spin_until (is_idle, NULL, 10));
  ck_assert (g_action_group_get_action_enabled (G_ACTION_GROUP (win), "prune"));

  /* Prune one node by hand; refine; undo both. */
  app_action ("prune-node", g_variant_new_string ("1,0"));
  g_free (w);
  w = model_width ();
  ck_assert_str_eq (w, "2,4,1");
  app_action ("prune-node", g_variant_new_string ("0,0"));
  app_action ("prune-node", g_variant_new_string ("7,0"));
  g_free (w);
  w = model_width ();
  ck_assert_str_eq (w, "2,4,1");
  app_action ("refine", g_variant_new_int32 (10));
  wait_task ();
  ck_assert_int_eq (kan_model_grid (kanvas_window_get_session (win)->model), 10);
  app_action ("undo", NULL);
  ck_assert_int_eq (kan_model_grid (kanvas_window_get_session (win)->model), 5);
  app_action ("undo", NULL);
  g_free (w);
  w = model_width ();
  ck_assert_str_eq (w, "2,5,1");

  /* Lock via the selection's best suggestion; prune an edge; bad input is a message. */
  app_action ("select", g_variant_new_string ("0,0,0"));
  g_action_group_activate_action (G_ACTION_GROUP (win), "lock-best", NULL);
  m = kanvas_window_get_session (win)->model;
  ck_assert_int_eq (kan_model_edge_mode (m, 0, 0, 0), KAN_EDGE_SYMBOLIC);
  ck_assert (gtk_widget_get_visible (child ("unlock_button")));
  app_action ("export-edge-plot", g_variant_new_string (png));
  ck_assert (g_file_test (png, G_FILE_TEST_IS_REGULAR));
  app_action ("prune-edge", g_variant_new_string ("0,1,4"));
  ck_assert_int_eq (kan_model_edge_mode (kanvas_window_get_session (win)->model, 0, 1, 4),
                    KAN_EDGE_OFF);
  app_action ("lock", g_variant_new_string ("0,0,1,no-such-function"));
  app_action ("lock", g_variant_new_string ("9,0,1,sin"));
  app_action ("auto-symbolic", g_variant_new_string ("sin,bogus"));
  app_action ("unlock", g_variant_new_string ("x"));
  ck_assert_int_eq (kan_model_edge_mode (kanvas_window_get_session (win)->model, 0, 0, 1),
                    KAN_EDGE_NUMERIC);
  /* Clicking a history entry returns to it. */
  g_action_group_activate_action (G_ACTION_GROUP (win), "goto-history", g_variant_new_int32 (0));
  ck_assert_int_eq (kan_model_edge_mode (kanvas_window_get_session (win)->model, 0, 0, 0),
                    KAN_EDGE_NUMERIC);
  ck_assert_int_eq (kan_model_edge_mode (kanvas_window_get_session (win)->model, 0, 1, 4),
                    KAN_EDGE_NUMERIC);
}
END_TEST

/* Unsaved work (issue "Hardening round two", 6) ------------------------------------------------ */

static gboolean
is_closed (gpointer data)
{
  return win == NULL;
}

static gboolean
has_question (gpointer data)
{
  return win != NULL && kanvas_window_get_question (win) != NULL;
}

static gboolean
not_asking (gpointer data)
{
  return win == NULL || !kanvas_window_is_asking (win);
}

/* One optimizer step, then stop: the session has unsaved work. */
static void
step_once (void)
{
  int before = kanvas_window_get_steps_done (win);

  app_action ("step", NULL);
  ck_assert (kt_spin_until (steps_reach, GINT_TO_POINTER (before + 1), 20));
  app_action ("stop", NULL);
  ck_assert (kt_spin_until (is_idle, NULL, 10));
  ck_assert (kanvas_window_get_modified (win));
  ck_assert_ptr_nonnull (strstr (gtk_window_get_title (GTK_WINDOW (win)), "•"));
}

static double *
params_now (size_t *n)
{
  const KanModel *m = kanvas_window_get_session (win)->model;

  *n = kan_model_n_params (m);
  return g_memdup2 (kan_model_params_const (m), *n * sizeof (double));
}

static void
assert_params (const double *params,
               size_t        n)
{
  const KanModel *m = kanvas_window_get_session (win)->model;

  ck_assert_uint_eq (kan_model_n_params (m), n);
  ck_assert_msg (memcmp (kan_model_params_const (m), params, n * sizeof (double)) == 0,
                 "the trained model was not kept");
}

static GtkWidget *
find_button (GtkWidget  *w,
             const char *label)
{
  if (GTK_IS_BUTTON (w) && g_strcmp0 (gtk_button_get_label (GTK_BUTTON (w)), label) == 0)
    return w;
  for (GtkWidget *c = gtk_widget_get_first_child (w); c; c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *b = find_button (c, label);
      if (b)
        return b;
    }
  return NULL;
}

/* The question on screen; its heading must hold every string of WANT. */
static AdwMessageDialog *
question (const char *const *want)
{
  GtkWindow *q = kanvas_window_get_question (win);
  const char *heading;

  ck_assert_msg (q != NULL, "no question about unsaved changes");
  ck_assert (ADW_IS_MESSAGE_DIALOG (q));
  ck_assert (gtk_widget_get_visible (GTK_WIDGET (q)));
  ck_assert_ptr_eq (gtk_window_get_transient_for (q), GTK_WINDOW (win));
  heading = adw_message_dialog_get_heading (ADW_MESSAGE_DIALOG (q));
  ck_assert_ptr_nonnull (strstr (heading, "Save changes to “"));
  for (; want && *want; want++)
    ck_assert_msg (strstr (heading, *want) != NULL, "'%s' does not say '%s'", heading, *want);
  return ADW_MESSAGE_DIALOG (q);
}

/* Presses the question's button LABEL, as a user does. */
static void
press (const char *label)
{
  GtkWindow *q = kanvas_window_get_question (win);
  GtkWidget *b;

  ck_assert_msg (q != NULL, "no question to answer with %s", label);
  b = find_button (GTK_WIDGET (q), label);
  ck_assert_msg (b != NULL, "the question has no button %s", label);
  g_object_ref (q);
  g_signal_emit_by_name (b, "clicked");
  /* The dialog closed itself; the window may be gone too (closing, quitting). */
  ck_assert (!gtk_widget_get_visible (GTK_WIDGET (q)));
  g_object_unref (q);
  kt_spin_for (0.05);
}

/* A clean session proceeds without asking: new, open, load-example, build, quit. */
START_TEST (test_unsaved_clean_proceeds)
{
  g_autofree char *path = write_session ("clean.kanvas", 5);
  GtkWidget *width = child ("width_row");

  ck_assert (!kanvas_window_get_modified (win));
  app_action ("new", NULL);
  ck_assert (!kanvas_window_is_asking (win));
  ck_assert_ptr_nonnull (strstr (gtk_window_get_title (GTK_WINDOW (win)), "Untitled"));
  app_action ("open", g_variant_new_string (path));
  ck_assert (!kanvas_window_is_asking (win));
  ck_assert_str_eq (kanvas_window_get_path (win), path);
  app_action ("load-example", g_variant_new_string ("xy"));
  ck_assert (!kanvas_window_is_asking (win));
  ck_assert_str_eq (kanvas_window_get_session (win)->data->formula, "x1*x2");

  gtk_editable_set_text (GTK_EDITABLE (width), "2,3,1");
  g_action_group_activate_action (G_ACTION_GROUP (win), "apply", NULL);
  ck_assert (!kanvas_window_is_asking (win));
  g_autofree char *w = model_width ();
  ck_assert_str_eq (w, "2,3,1");
  /* A build is a change of data and model: unsaved until saved. */
  ck_assert (kanvas_window_get_modified (win));
  {
    g_autofree char *saved = g_build_filename (tmpdir, "built.kanvas", NULL);
    app_action ("save-as", g_variant_new_string (saved));
  }
  ck_assert (!kanvas_window_get_modified (win));

  app_action ("quit", NULL);
  ck_assert_msg (kt_spin_until (is_closed, NULL, 5), "quit did not close a clean window");
}
END_TEST

/* new: Cancel keeps the trained model, Discard starts over (buttons pressed as a user does). */
START_TEST (test_unsaved_new)
{
  const char *want[] = { "“Demo: ", "before starting a new session?", NULL };
  const KanSession *s;
  g_autofree double *params = NULL;
  size_t n;
  int steps;

  step_once ();
  s = kanvas_window_get_session (win);
  steps = s->steps_done;
  params = params_now (&n);

  app_action ("new", NULL);
  question (want);
  ck_assert (find_button (GTK_WIDGET (kanvas_window_get_question (win)), "_Save As…") != NULL);
  press ("_Cancel");
  ck_assert_ptr_null (kanvas_window_get_question (win));
  ck_assert (!kanvas_window_is_asking (win));
  ck_assert_ptr_eq (kanvas_window_get_session (win), s);
  ck_assert_int_eq (s->steps_done, steps);
  assert_params (params, n);
  ck_assert (kanvas_window_get_modified (win));

  /* Ctrl+N is the window's action of the same name. */
  g_action_group_activate_action (G_ACTION_GROUP (win), "new", NULL);
  question (want);
  press ("_Discard");
  ck_assert (!kanvas_window_is_asking (win));
  ck_assert_int_eq (kanvas_window_get_session (win)->steps_done, 0);
  ck_assert (!kanvas_window_get_modified (win));
  ck_assert_ptr_nonnull (strstr (gtk_window_get_title (GTK_WINDOW (win)), "Untitled"));
}
END_TEST

/* open: Save writes the trained session to its file, then opens the other one. */
START_TEST (test_unsaved_open_save)
{
  g_autofree char *a = write_session ("a.kanvas", 3);
  g_autofree char *b = write_session ("b.kanvas", 3);
  const char *want[] = { "“a.kanvas”", "before opening “b.kanvas”?", NULL };
  g_autoptr (KanSession) saved = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree double *params = NULL;
  size_t n;
  int steps;

  app_action ("open", g_variant_new_string (a));
  ck_assert_str_eq (kanvas_window_get_path (win), a);
  train_and_wait ();
  steps = kanvas_window_get_session (win)->steps_done;
  ck_assert_int_eq (steps, 3);
  params = params_now (&n);
  ck_assert (kanvas_window_get_modified (win));

  app_action ("open", g_variant_new_string (b));
  question (want);
  ck_assert_str_eq (kanvas_window_get_path (win), a);
  press ("_Save");
  ck_assert (!kanvas_window_is_asking (win));
  ck_assert_str_eq (kanvas_window_get_path (win), b);
  ck_assert_int_eq (kanvas_window_get_session (win)->steps_done, 0);
  ck_assert (!kanvas_window_get_modified (win));

  /* The trained model is in a.kanvas. */
  saved = kan_session_load (a, &error);
  ck_assert_msg (saved != NULL, "%s", error ? error->message : "");
  ck_assert_int_eq (saved->steps_done, steps);
  ck_assert_uint_eq (kan_model_n_params (saved->model), n);
  ck_assert_int_eq (memcmp (kan_model_params_const (saved->model), params, n * sizeof (double)),
                    0);

  /* Open with Discard, from the window's own action path too. */
  step_once ();
  app_action ("open", g_variant_new_string (a));
  question (NULL);
  press ("_Discard");
  ck_assert_str_eq (kanvas_window_get_path (win), a);
  ck_assert_int_eq (kanvas_window_get_session (win)->steps_done, steps);
}
END_TEST

/* load-example from the Examples menu, answered the scripts' way (the unsaved-changes action). */
START_TEST (test_unsaved_load_example)
{
  const char *want[] = { "“Demo: ", "before loading “Multiplication: x₁·x₂”?", NULL };
  const char *msg;
  g_autofree double *params = NULL;
  size_t n;

  step_once ();
  params = params_now (&n);

  /* The Examples menu's items activate win.load-example. */
  g_action_group_activate_action (G_ACTION_GROUP (win), "load-example",
                                  g_variant_new_string ("xy"));
  question (want);
  /* A wrong answer is a message; the question stays. */
  app_action ("unsaved-changes", g_variant_new_string ("maybe"));
  msg = kanvas_window_get_last_message (win);
  ck_assert_ptr_nonnull (msg);
  ck_assert_ptr_nonnull (strstr (msg, "save, discard or cancel"));
  question (want);
  app_action ("unsaved-changes", g_variant_new_string ("cancel"));
  kt_spin_for (0.05);
  ck_assert_ptr_null (kanvas_window_get_question (win));
  ck_assert_str_eq (kanvas_window_get_session (win)->data->formula, "exp(sin(pi*x1)+x2^2)");
  assert_params (params, n);

  app_action ("load-example", g_variant_new_string ("xy"));
  question (want);
  app_action ("unsaved-changes", g_variant_new_string ("discard"));
  kt_spin_for (0.05);
  ck_assert_ptr_null (kanvas_window_get_question (win));
  ck_assert_str_eq (kanvas_window_get_session (win)->data->formula, "x1*x2");
  ck_assert (!kanvas_window_get_modified (win));

  /* With nothing to answer, the action does nothing. */
  app_action ("unsaved-changes", g_variant_new_string ("discard"));
  ck_assert_str_eq (kanvas_window_get_session (win)->data->formula, "x1*x2");

  /* A bad example name is a message, never a question. */
  step_once ();
  app_action ("load-example", g_variant_new_string ("no-such-example"));
  ck_assert (!kanvas_window_is_asking (win));
}
END_TEST

/* Build (Ctrl+B): disabled during a run; with unsaved work it asks. */
START_TEST (test_unsaved_build)
{
  const char *want[] = { "before building the new data and model?", NULL };
  GtkWidget *width = child ("width_row");
  const KanModel *m;
  g_autofree char *w = NULL;

  app_action ("step", NULL);
  ck_assert (kanvas_window_is_training (win));
  ck_assert (kt_spin_until (steps_reach, GINT_TO_POINTER (1), 20));
  ck_assert (!g_action_group_get_action_enabled (G_ACTION_GROUP (win), "apply"));
  m = kanvas_window_get_session (win)->model;
  gtk_editable_set_text (GTK_EDITABLE (width), "2,3,1");
  g_action_group_activate_action (G_ACTION_GROUP (win), "apply", NULL);
  /* Enter in an entry row says why nothing happens. */
  g_signal_emit_by_name (width, "apply");
  ck_assert_ptr_nonnull (strstr (kanvas_window_get_last_message (win), "Stop training first"));
  ck_assert_ptr_eq (kanvas_window_get_session (win)->model, m);
  ck_assert (!kanvas_window_is_asking (win));
  app_action ("stop", NULL);
  ck_assert (kt_spin_until (is_idle, NULL, 10));
  ck_assert (g_action_group_get_action_enabled (G_ACTION_GROUP (win), "apply"));
  m = kanvas_window_get_session (win)->model;
  ck_assert (kanvas_window_get_modified (win));

  gtk_editable_set_text (GTK_EDITABLE (width), "2,3,1");
  g_action_group_activate_action (G_ACTION_GROUP (win), "apply", NULL);
  question (want);
  press ("_Cancel");
  ck_assert_ptr_eq (kanvas_window_get_session (win)->model, m);
  w = model_width ();
  ck_assert_str_eq (w, "2,5,1");
  ck_assert_int_ge (kanvas_window_get_session (win)->steps_done, 1);

  g_action_group_activate_action (G_ACTION_GROUP (win), "apply", NULL);
  question (want);
  press ("_Discard");
  g_free (w);
  w = model_width ();
  ck_assert_str_eq (w, "2,3,1");
  ck_assert_int_eq (kanvas_window_get_session (win)->steps_done, 0);
}
END_TEST

/* quit during the first run after a load: the run stops, then the question; Cancel keeps the
 * window and the model, Save writes the file and quits. */
START_TEST (test_unsaved_quit_first_run)
{
  g_autofree char *path = write_session ("quit.kanvas", 100000);
  const char *want[] = { "“quit.kanvas”", "before quitting?", NULL };
  g_autoptr (KanSession) saved = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree double *params = NULL;
  AdwMessageDialog *q;
  size_t n;
  int steps;

  app_action ("open", g_variant_new_string (path));
  ck_assert (!kanvas_window_get_modified (win));
  app_action ("train", NULL);
  ck_assert (kt_spin_until (steps_reach, GINT_TO_POINTER (3), 20));
  /* Nothing saved yet, nothing modified before the run ends: still unsaved work. */
  ck_assert (kanvas_window_get_modified (win));
  ck_assert_ptr_nonnull (strstr (gtk_window_get_title (GTK_WINDOW (win)), "•"));

  app_action ("quit", NULL);
  ck_assert (win != NULL);
  ck_assert (kanvas_window_is_asking (win));
  ck_assert_msg (kt_spin_until (has_question, NULL, 10), "no question after the run stopped");
  ck_assert (!kanvas_window_is_training (win));
  q = question (want);
  ck_assert_ptr_nonnull (strstr (adw_message_dialog_get_body (q), "stopped at step"));
  steps = kanvas_window_get_session (win)->steps_done;
  ck_assert_int_ge (steps, 3);
  ck_assert_int_lt (steps, 100000);
  params = params_now (&n);

  press ("_Cancel");
  ck_assert (win != NULL);
  ck_assert (!kanvas_window_is_training (win));
  ck_assert_int_eq (kanvas_window_get_session (win)->steps_done, steps);
  assert_params (params, n);

  /* Ctrl+Q is app.quit. */
  app_action ("quit", NULL);
  question (want);
  press ("_Save");
  ck_assert_msg (kt_spin_until (is_closed, NULL, 5), "Save did not go on to quit");
  saved = kan_session_load (path, &error);
  ck_assert_msg (saved != NULL, "%s", error ? error->message : "");
  ck_assert_int_eq (saved->steps_done, steps);
  ck_assert_int_eq (memcmp (kan_model_params_const (saved->model), params, n * sizeof (double)),
                    0);
}
END_TEST

/* Closing the window (Ctrl+W, the title bar's button): Escape cancels, Discard closes. */
START_TEST (test_unsaved_close_window)
{
  const char *want[] = { "“Demo: ", "before closing?", NULL };

  step_once ();
  gtk_widget_activate_action (GTK_WIDGET (win), "window.close", NULL);
  question (want);
  /* Escape (the dialog's close) is Cancel. */
  gtk_window_close (kanvas_window_get_question (win));
  kt_spin_for (0.05);
  ck_assert (win != NULL);
  ck_assert (!kanvas_window_is_asking (win));

  gtk_window_close (GTK_WINDOW (win));
  question (want);
  press ("_Discard");
  ck_assert_msg (kt_spin_until (is_closed, NULL, 5), "Discard did not close the window");
}
END_TEST

/* A command given during a run: the run stops first; a script's answer given before the
 * question could be shown applies when it has stopped. A newer command replaces a waiting one. */
START_TEST (test_unsaved_during_run)
{
  g_autofree char *path = write_session ("run.kanvas", 100000);

  app_action ("open", g_variant_new_string (path));
  app_action ("train", NULL);
  ck_assert (kt_spin_until (steps_reach, GINT_TO_POINTER (2), 20));
  app_action ("load-example", g_variant_new_string ("sin-sq"));
  ck_assert (kanvas_window_is_asking (win));
  /* A newer command replaces the waiting one. */
  app_action ("load-example", g_variant_new_string ("xy"));
  app_action ("unsaved-changes", g_variant_new_string ("discard"));
  ck_assert_msg (kt_spin_until (not_asking, NULL, 10), "the command did not go on");
  ck_assert_ptr_null (kanvas_window_get_question (win));
  ck_assert (!kanvas_window_is_training (win));
  ck_assert_str_eq (kanvas_window_get_session (win)->data->formula, "x1*x2");
  ck_assert (!kanvas_window_get_modified (win));

  /* Paused runs count too; Cancel keeps what the run did. */
  app_action ("step", NULL);
  ck_assert (kt_spin_until (steps_reach, GINT_TO_POINTER (1), 20));
  ck_assert_int_eq (kanvas_window_get_train_state (win), KAN_WORKER_PAUSED);
  app_action ("new", NULL);
  ck_assert_msg (kt_spin_until (has_question, NULL, 10), "no question after the run stopped");
  ck_assert (!kanvas_window_is_training (win));
  press ("_Cancel");
  ck_assert_str_eq (kanvas_window_get_session (win)->data->formula, "x1*x2");
  ck_assert_int_eq (kanvas_window_get_session (win)->steps_done, 1);
  ck_assert (kanvas_window_get_modified (win));
}
END_TEST

/* Every model-changing step marks the session unsaved; every save and load clears it. */
START_TEST (test_unsaved_marks_every_edit)
{
  g_autofree char *path = g_build_filename (tmpdir, "edits.kanvas", NULL);
  struct { const char *action; GVariant *param; } ops[] = {
    { "prune-node", g_variant_new_string ("1,0") },
    { "lock", g_variant_new_string ("0,0,0,sin") },
    { "unlock", g_variant_new_string ("0,0,0") },
    { "auto-symbolic", g_variant_new_string ("x,x^2,exp,sin") },
    { "undo", NULL },
    { "redo", NULL },
    { "goto-history", g_variant_new_int32 (0) },
    { "refine", g_variant_new_int32 (10) },
  };

  for (guint k = 0; k < G_N_ELEMENTS (ops); k++)
    if (ops[k].param)
      g_variant_ref_sink (ops[k].param);
  step_once ();
  app_action ("save-as", g_variant_new_string (path));
  ck_assert (!kanvas_window_get_modified (win));
  for (guint k = 0; k < G_N_ELEMENTS (ops); k++)
    {
      guint n = kanvas_window_get_session (win)->history->len;
      app_action (ops[k].action, ops[k].param);
      wait_task ();
      ck_assert_msg (kanvas_window_get_modified (win), "%s did not mark the session",
                     ops[k].action);
      ck_assert_msg (kanvas_window_get_session (win)->history->len != n
                     || g_str_equal (ops[k].action, "undo") || g_str_equal (ops[k].action, "redo")
                     || g_str_equal (ops[k].action, "goto-history"),
                     "%s changed nothing", ops[k].action);
      app_action ("save", NULL);
      ck_assert (!kanvas_window_get_modified (win));
    }
  step_once ();
  app_action ("open", g_variant_new_string (path));
  question (NULL);
  press ("_Discard");
  ck_assert (!kanvas_window_get_modified (win));
  for (guint k = 0; k < G_N_ELEMENTS (ops); k++)
    if (ops[k].param)
      g_variant_unref (ops[k].param);
}
END_TEST

/* `kanvas FILE` and `gapplication open` into a window with unsaved work: a new window, nothing
 * replaced and nothing asked; into a clean one: opened in place. */
START_TEST (test_unsaved_command_line_open)
{
  g_autofree char *path = write_session ("cli-open.kanvas", 5);
  g_autoptr (GFile) file = g_file_new_for_path (path);
  GList *windows;
  KanvasWindow *other = NULL;
  const KanSession *s;

  step_once ();
  s = kanvas_window_get_session (win);
  g_application_open (G_APPLICATION (app), &file, 1, "");
  kt_spin_for (0.1);
  ck_assert (!kanvas_window_is_asking (win));
  ck_assert_ptr_eq (kanvas_window_get_session (win), s);
  ck_assert_ptr_null (kanvas_window_get_path (win));
  windows = gtk_application_get_windows (GTK_APPLICATION (app));
  for (GList *w = windows; w; w = w->next)
    if (w->data != (gpointer) win && KANVAS_IS_WINDOW (w->data))
      other = w->data;
  ck_assert_ptr_nonnull (other);
  ck_assert_str_eq (kanvas_window_get_path (other), path);
  gtk_window_destroy (GTK_WINDOW (other));
  kt_spin_for (0.1);

  app_action ("save-as", g_variant_new_string (path));
  app_action ("new", NULL);
  ck_assert (!kanvas_window_get_modified (win));
  g_application_open (G_APPLICATION (app), &file, 1, "");
  kt_spin_for (0.1);
  ck_assert_uint_eq (g_list_length (gtk_application_get_windows (GTK_APPLICATION (app))), 1);
  ck_assert_str_eq (kanvas_window_get_path (win), path);
}
END_TEST

/* Writes TEXT to NAME in the temporary folder; returns the path. */
static char *
write_file (const char *name,
            const char *text,
            gssize      len)
{
  char *path = g_build_filename (tmpdir, name, NULL);

  ck_assert (g_file_set_contents (path, text, len, NULL));
  return path;
}

/* TRUE unless `kanvas-cli info` on PATH dies of a signal (the core's reader crashing). */
static gboolean
core_reader_survives (const char *path)
{
  const char *cli = g_getenv ("KANVAS_CLI");
  const char *argv[] = { cli, "info", "-i", path, NULL };
  int status = 0;

  if (cli == NULL)
    return TRUE;
  ck_assert (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL
                           | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, NULL, NULL, &status, NULL));
  return !WIFSIGNALED (status);
}

/* Hostile session files: the window shows an error and keeps its session, even with unsaved
 * work (and never asks about it for a file it cannot open). Needs the core's reader to refuse
 * both files (a nesting limit, a bound on lbfgs_history). */
START_TEST (test_hostile_session_files)
{
  g_autofree char *good = write_session ("good2.kanvas", 50);
  g_autofree char *text = NULL;
  g_autoptr (GString) hist = NULL;
  g_autoptr (GString) deep = g_string_sized_new (200002);
  g_autofree double *params = NULL;
  const KanSession *before;
  const char *key;
  char *files[3] = { NULL, NULL, NULL };
  size_t n;

  ck_assert (g_file_get_contents (good, &text, NULL, NULL));
  hist = g_string_new (text);
  key = strstr (hist->str, "\"lbfgs_history\":");
  ck_assert_ptr_nonnull (key);
  {
    gsize at = key - hist->str + strlen ("\"lbfgs_history\":");
    gsize end = at;
    while (hist->str[end] == ' ')
      end++;
    while (g_ascii_isdigit (hist->str[end]))
      end++;
    g_string_erase (hist, at, end - at);
    g_string_insert (hist, at, " 2147483647");
  }
  files[0] = write_file ("lbfgs-history.kanvas", hist->str, -1);
  for (int k = 0; k < 100000; k++)
    g_string_append_c (deep, '[');
  files[1] = write_file ("deep-open.kanvas", deep->str, deep->len);
  for (int k = 0; k < 100000; k++)
    g_string_append_c (deep, ']');
  files[2] = write_file ("deep.kanvas", deep->str, deep->len);

  app_action ("load-example", g_variant_new_string ("sin-sq"));
  step_once ();
  before = kanvas_window_get_session (win);
  params = params_now (&n);

  for (guint f = 0; f < G_N_ELEMENTS (files); f++)
    {
      g_autofree char *base = g_path_get_basename (files[f]);
      const char *msg;

      /* In process a crash would take the whole suite with it: ask the CLI first. */
      ck_assert_msg (core_reader_survives (files[f]), "%s: the core's session reader crashes on "
                     "it (kanvas-cli info dies of a signal); it must refuse it with an error",
                     base);
      kanvas_window_show_message (win, "before");
      app_action ("open", g_variant_new_string (files[f]));
      msg = kanvas_window_get_last_message (win);
      ck_assert_msg (!kanvas_window_is_asking (win), "%s: the window asks about replacing its "
                     "session with a file it should refuse", base);
      ck_assert_ptr_eq (kanvas_window_get_session (win), before);
      ck_assert_msg (kanvas_window_get_path (win) == NULL, "%s was opened", base);
      ck_assert_msg (msg != NULL && strstr (msg, base) != NULL, "%s: the message '%s' does not "
                     "name the file", base, msg ? msg : "(none)");
      assert_params (params, n);
      ck_assert_str_eq (before->data->formula, "sin(pi*x1)+x2^2");
      ck_assert (kanvas_window_get_modified (win));
    }
  for (guint f = 0; f < G_N_ELEMENTS (files); f++)
    g_free (files[f]);
}
END_TEST

/* The Discover page (kanvas-discover.c). Run these alone with CK_RUN_CASE=discover. */

#define DEMO_FORMULA "exp(sin(pi*x1) + x2^2)"
/* A formula discover does not settle quickly (with noise it searches every width). */
#define SLOW_FORMULA "x1*exp(-x2)+0.5*sin(3*x1)"
/* The engine stops within a fraction of a second of a cancel; the page follows at the next
 * main-loop turn. Generous for a loaded machine, far below one search. */
#define CANCEL_SECONDS 2.0

static void
win_action_discover (const char *name)
{
  /* Window actions: the application does not forward discover and discover-cancel yet. */
  g_action_group_activate_action (G_ACTION_GROUP (win), name, NULL);
}

static KanvasDiscover *
discover_page (void)
{
  return kanvas_window_get_discover (win);
}

static gboolean
search_ended (gpointer data)
{
  return !kanvas_discover_is_running (discover_page ());
}

static gboolean
has_live_point (gpointer data)
{
  return kan_pareto_view_get_n_points (kanvas_discover_get_view (discover_page ())) > 0;
}

/* Opens a session with data sampled from FORMULA (with NOISE) and a 2,5,1 model. */
static void
open_formula_session (const char *formula,
                      double      noise)
{
  g_autoptr (KanSession) s = kan_session_new ();
  g_autoptr (KanShape) shape = kan_shape_parse ("2,5,1", NULL, NULL);
  g_autoptr (GError) error = NULL;
  g_autofree char *path = g_build_filename (tmpdir, "discover.kanvas", NULL);
  KanFormulaSpec spec;
  KanModelConfig mc;

  kan_formula_spec_init (&spec);
  spec.formula = formula;
  spec.noise = noise;
  s->data = kan_dataset_from_formula (&spec, &error);
  ck_assert_msg (s->data != NULL, "%s", error ? error->message : "");
  kan_model_config_init (&mc);
  mc.shape = shape;
  s->model = kan_model_new (&mc, &error);
  ck_assert_ptr_nonnull (s->model);
  kan_train_config_init (&s->train);
  kan_session_add_history (s, "new", "width=2,5,1", NAN, NAN);
  ck_assert_msg (kan_session_save (s, path, &error), "%s", error ? error->message : "");
  ck_assert_msg (kanvas_window_open_path (win, path, &error), "%s",
                 error ? error->message : "");
}

static int
n_edges (const KanModel *m)
{
  int n = 0;

  for (int l = 0; l < kan_model_depth (m); l++)
    n += kan_model_layer_in (m, l) * kan_model_layer_out (m, l);
  return n;
}

/* The plot shows one point per candidate of the result's front, each where a click finds it. */
static void
assert_view_matches (const KanDiscoverResult *r)
{
  const KanParetoView *v = kanvas_discover_get_view (discover_page ());
  int best = -1;

  ck_assert_uint_eq (kan_pareto_view_get_n_points (v), r->pareto->len);
  for (guint q = 0; q < r->pareto->len; q++)
    {
      const KanDiscoverCandidate *c = g_ptr_array_index (r->pareto, q);
      const KanParetoPoint *p = kan_pareto_view_get_point (v, q);
      double x, y;

      ck_assert_int_eq (p->complexity, c->complexity);
      ck_assert (p->rmse == c->test_rmse || (isnan (p->rmse) && isnan (c->test_rmse)));
      ck_assert_str_eq (p->text, c->text);
      ck_assert (p->flags & KAN_PARETO_FRONT);
      ck_assert (kan_pareto_view_point_xy (v, q, 316, 210, &x, &y));
      ck_assert_int_eq (kan_pareto_view_hit (v, 316, 210, x + 2, y - 2), (int) q);
      if (c == r->best)
        best = (int) q;
    }
  ck_assert_int_ge (best, 0);
  ck_assert_int_eq (kan_pareto_view_get_best (v), best);
}

START_TEST (test_discover_demo)
{
  const KanSession *s = kanvas_window_get_session (win);
  const KanDiscoverResult *r;
  const KanHistoryEntry *e;
  const KanSnapshot *snap;
  g_autoptr (KanExpr) formula = NULL;
  g_autofree char *text = NULL;
  g_autofree char *width = NULL;
  guint n_history = s->history->len;
  int best;

  /* The demo is found in about a second; the limit only bounds a failure. */
  kanvas_discover_set_time_limit (discover_page (), 60);
  win_action_discover ("discover");
  ck_assert (kanvas_discover_is_running (discover_page ()));
  ck_assert_msg (kt_spin_until (search_ended, NULL, 90), "the search did not end");
  ck_assert_ptr_null (kanvas_discover_get_error (discover_page ()));

  r = kanvas_discover_get_result (discover_page ());
  ck_assert_ptr_nonnull (r);
  ck_assert_str_eq (r->best->text, DEMO_FORMULA);
  ck_assert (r->exact);
  assert_view_matches (r);
  ck_assert_ptr_nonnull (strstr (kanvas_discover_get_status (discover_page ()), "Exact"));

  /* The chosen answer is selected, its formula shown in every style. */
  best = kan_pareto_view_get_best (kanvas_discover_get_view (discover_page ()));
  ck_assert_int_eq (kan_pareto_view_get_selected (kanvas_discover_get_view (discover_page ())), best);
  ck_assert_str_eq (kanvas_discover_get_formula (discover_page (), KAN_EXPR_STYLE_TEXT), DEMO_FORMULA);
  ck_assert_ptr_nonnull (strstr (kanvas_discover_get_formula (discover_page (), KAN_EXPR_STYLE_LATEX),
                                 "\\sin"));
  ck_assert_ptr_nonnull (strstr (kanvas_discover_get_formula (discover_page (), KAN_EXPR_STYLE_SYMPY),
                                 "x2**2"));
  ck_assert_ptr_nonnull (strstr (kanvas_discover_get_formula (discover_page (), KAN_EXPR_STYLE_C),
                                 "M_PI"));

  /* Its locked network is the session's model, on the canvas, as a history entry. */
  s = kanvas_window_get_session (win);
  ck_assert_uint_eq (s->history->len, n_history + 1);
  e = g_ptr_array_index (s->history, s->history->len - 1);
  ck_assert_str_eq (e->op, "discover");
  ck_assert_ptr_nonnull (strstr (e->detail, DEMO_FORMULA));
  ck_assert_double_lt (e->train_rmse, 1e-6);
  width = kan_shape_to_string (kan_model_shape (s->model));
  ck_assert_str_eq (width, r->best->width);
  snap = kanvas_canvas_get_snapshot (kanvas_window_get_canvas (win));
  ck_assert_ptr_nonnull (snap);
  ck_assert_int_eq (snap->n_edges, n_edges (r->best->model));
  formula = kan_ops_formula (s, TRUE, NULL, NULL);
  ck_assert_ptr_nonnull (formula);
  text = kan_expr_to_string (formula, (const char *const *) s->data->in_names,
                             KAN_EXPR_STYLE_TEXT);
  ck_assert_str_eq (text, DEMO_FORMULA);
  ck_assert (kanvas_window_get_modified (win));

  /* Selecting it again adds nothing; undo returns to the network before, as for any edit. */
  ck_assert (kanvas_discover_select (discover_page (), best, NULL));
  ck_assert_uint_eq (kanvas_window_get_session (win)->history->len, n_history + 1);
  app_action ("undo", NULL);
  g_free (width);
  width = kan_shape_to_string (kan_model_shape (kanvas_window_get_session (win)->model));
  ck_assert_str_eq (width, "2,5,1");
  ck_assert_int_eq (kanvas_canvas_get_snapshot (kanvas_window_get_canvas (win))->n_edges, 15);
}
END_TEST

START_TEST (test_discover_cancel)
{
  const KanDiscoverResult *r;
  const KanParetoView *v;
  gint64 t0;
  double took;
  int steps;

  open_formula_session (SLOW_FORMULA, 0.01);
  kanvas_discover_set_time_limit (discover_page (), 0);
  win_action_discover ("discover");
  ck_assert (kanvas_discover_is_running (discover_page ()));
  /* The live plot gets the best formula so far while the search runs. */
  ck_assert_msg (kt_spin_until (has_live_point, NULL, 60), "no formula reached the live plot");
  v = kanvas_discover_get_view (discover_page ());
  for (guint k = 0; k < kan_pareto_view_get_n_points (v); k++)
    ck_assert (kan_pareto_view_get_point (v, k)->flags & KAN_PARETO_LIVE);
  ck_assert (kanvas_discover_is_running (discover_page ()));
  /* Starting again while it runs is refused. */
  ck_assert (!kanvas_discover_start (discover_page (), NULL));

  t0 = g_get_monotonic_time ();
  win_action_discover ("discover-cancel");
  ck_assert_msg (kt_spin_until (search_ended, NULL, 30), "cancel did not end the search");
  took = (g_get_monotonic_time () - t0) / (double) G_USEC_PER_SEC;
  ck_assert_msg (took < CANCEL_SECONDS, "the search took %.2f s to stop", took);
  ck_assert_ptr_nonnull (strstr (kanvas_discover_get_status (discover_page ()), "Cancelled"));

  /* What it had found stays: the front so far, its best on the canvas. */
  r = kanvas_discover_get_result (discover_page ());
  ck_assert_ptr_nonnull (r);
  ck_assert (r->stopped);
  assert_view_matches (r);
  ck_assert_str_eq (((KanHistoryEntry *) g_ptr_array_index (
                       kanvas_window_get_session (win)->history,
                       kanvas_window_get_session (win)->history->len - 1))->op, "discover");

  /* The window works on: training runs and ends, and a new search starts and stops. */
  steps = kanvas_window_get_steps_done (win);
  app_action ("step", NULL);
  ck_assert_msg (kt_spin_until (steps_reach, GINT_TO_POINTER (steps + 1), 30), "no step was taken");
  app_action ("stop", NULL);
  ck_assert_msg (kt_spin_until (is_idle, NULL, 30), "the run did not stop");
  kanvas_discover_set_time_limit (discover_page (), 1);
  ck_assert (kanvas_discover_start (discover_page (), NULL));
  ck_assert_msg (kt_spin_until (search_ended, NULL, 30), "a one-second search did not end");
}
END_TEST

START_TEST (test_discover_units)
{
  g_autoptr (GError) error = NULL;
  const char *shown;

  /* A bad unit names its column and where it is wrong; nothing starts. */
  ck_assert (kanvas_discover_set_unit (discover_page (), "x1", "m/s^"));
  ck_assert (!kanvas_discover_set_unit (discover_page (), "nope", "m"));
  ck_assert (!kanvas_discover_start (discover_page (), &error));
  ck_assert (!kanvas_discover_is_running (discover_page ()));
  shown = kanvas_discover_get_error (discover_page ());
  ck_assert_ptr_nonnull (shown);
  ck_assert_str_eq (shown, error->message);
  ck_assert_ptr_nonnull (strstr (shown, "x1"));
  ck_assert_ptr_nonnull (strstr (shown, "m/s^"));
  ck_assert_msg (strstr (shown, "at character 5: expected a power") != NULL, "%s", shown);
  g_clear_error (&error);

  /* Units on some columns only: the columns without are named. */
  ck_assert (kanvas_discover_set_unit (discover_page (), "x1", "m"));
  ck_assert (!kanvas_discover_start (discover_page (), &error));
  ck_assert_ptr_nonnull (strstr (kanvas_discover_get_error (discover_page ()), "Units"));
  ck_assert_ptr_nonnull (strstr (kanvas_discover_get_error (discover_page ()), "x2"));
  g_clear_error (&error);

  /* No units at all is the plain search; the error goes. */
  ck_assert (kanvas_discover_set_unit (discover_page (), "x1", ""));
  kanvas_discover_set_time_limit (discover_page (), 1);
  ck_assert (kanvas_discover_start (discover_page (), &error));
  ck_assert_ptr_null (kanvas_discover_get_error (discover_page ()));
  ck_assert_msg (kt_spin_until (search_ended, NULL, 30), "a one-second search did not end");
}
END_TEST

/* The guided lesson ------------------------------------------------------------------------- */

static GtkWidget *
lesson_child (const char *name)
{
  return GTK_WIDGET (gtk_widget_get_template_child (GTK_WIDGET (kanvas_window_get_lesson (win)),
                                                    KANVAS_TYPE_LESSON, name));
}

static gboolean
lesson_idle (gpointer data)
{
  return !kanvas_lesson_is_busy (kanvas_window_get_lesson (win));
}

/* Clicks the lesson's button NAME, which must be clickable. */
static void
lesson_click (const char *name)
{
  GtkWidget *button = lesson_child (name);

  kt_spin_for (0.02);
  ck_assert_msg (gtk_widget_is_sensitive (button), "the lesson's %s is not clickable", name);
  g_signal_emit_by_name (button, "clicked");
}

START_TEST (test_lesson_runs_to_formula)
{
  KanvasLesson *lesson = kanvas_window_get_lesson (win);
  int n = kanvas_lesson_get_n_steps (lesson);
  GtkWidget *revealer = gtk_widget_get_parent (GTK_WIDGET (lesson));
  g_autofree char *text = NULL;

  ck_assert_int_ge (n, 5);
  ck_assert_int_le (n, 8);
  ck_assert (!gtk_revealer_get_reveal_child (GTK_REVEALER (revealer)));
  app_action ("lesson", NULL);
  ck_assert (gtk_revealer_get_reveal_child (GTK_REVEALER (revealer)));
  ck_assert_int_eq (kanvas_lesson_get_step (lesson), 0);

  for (int k = 0; k < n; k++)
    {
      gboolean trained;
      int steps_before = kanvas_window_get_session (win)->steps_done;

      ck_assert_int_eq (kanvas_lesson_get_step (lesson), k);
      ck_assert (!kanvas_lesson_step_done (lesson, k));
      ck_assert (*kanvas_lesson_get_text (lesson));
      /* Not past a step before it is done. */
      kt_spin_for (0.02);
      ck_assert (!gtk_widget_is_sensitive (lesson_child ("next_button")));
      lesson_click ("do_button");
      trained = kanvas_window_is_training (win);
      if (trained)
        {
          /* A training step waits for the run: nothing to click meanwhile. */
          ck_assert (kanvas_lesson_is_busy (lesson));
          kt_spin_for (0.02);
          ck_assert (!gtk_widget_is_sensitive (lesson_child ("next_button")));
          ck_assert (!gtk_widget_is_sensitive (lesson_child ("do_button")));
        }
      ck_assert_msg (kt_spin_until (lesson_idle, NULL, 120), "step %d did not end", k + 1);
      ck_assert_msg (kanvas_lesson_step_done (lesson, k), "step %d failed: %s", k + 1,
                     kanvas_lesson_get_status (lesson));
      ck_assert (!kanvas_window_is_training (win));
      if (trained)
        ck_assert_int_eq (kanvas_window_get_session (win)->steps_done, steps_before + 50);
      if (k == 0)
        ck_assert_int_eq (kanvas_window_get_session (win)->steps_done, 0);
      if (k < n - 1)
        lesson_click ("next_button");
    }

  /* The end: the formula, in the Formula tab and on the lesson's panel. */
  ck_assert_str_eq (gtk_label_get_text (GTK_LABEL (child ("formula_label"))),
                    "exp(sin(pi*x1) + x2^2)");
  ck_assert_str_eq (gtk_stack_get_visible_child_name (GTK_STACK (child ("session_stack"))),
                    "formula");
  ck_assert (gtk_widget_get_visible (lesson_child ("formula_label")));
  ck_assert_str_eq (gtk_label_get_text (GTK_LABEL (lesson_child ("formula_label"))),
                    "exp(sin(pi*x1) + x2^2)");
  check_formula_panel (&text);
  {
    const char *ops[] = { "fit", "prune", "fit", "lock", "symbolic", "fit" };
    const KanSession *s = kanvas_window_get_session (win);
    ck_assert_uint_ge (s->history->len, G_N_ELEMENTS (ops));
    for (guint k = 0; k < G_N_ELEMENTS (ops); k++)
      ck_assert_str_eq (((KanHistoryEntry *)
                         g_ptr_array_index (s->history,
                                            s->history->len - G_N_ELEMENTS (ops) + k))->op,
                        ops[k]);
  }
  /* The last step has no Next; Back shows a done step, whose Do It stays off. */
  kt_spin_for (0.02);
  ck_assert (!gtk_widget_is_sensitive (lesson_child ("next_button")));
  lesson_click ("back_button");
  ck_assert_int_eq (kanvas_lesson_get_step (lesson), n - 2);
  kt_spin_for (0.02);
  ck_assert (!gtk_widget_is_sensitive (lesson_child ("do_button")));
  lesson_click ("next_button");
  ck_assert_int_eq (kanvas_lesson_get_step (lesson), n - 1);
  app_action ("lesson", NULL);
  ck_assert (!gtk_revealer_get_reveal_child (GTK_REVEALER (revealer)));
}
END_TEST

/* Do It does nothing while the window is busy with something else, and says why. */
START_TEST (test_lesson_refuses_while_training)
{
  KanvasLesson *lesson = kanvas_window_get_lesson (win);
  int steps_before;

  app_action ("configure", g_variant_new_string ("steps=100000"));
  app_action ("train", NULL);
  ck_assert (kanvas_window_is_training (win));
  lesson_click ("do_button");
  ck_assert (!kanvas_lesson_is_busy (lesson));
  ck_assert (!kanvas_lesson_step_done (lesson, 0));
  ck_assert_ptr_nonnull (strstr (kanvas_lesson_get_status (lesson), "busy"));
  ck_assert (kt_spin_until (steps_reach, GINT_TO_POINTER (2), 20));
  app_action ("stop", NULL);
  ck_assert (kt_spin_until (is_idle, NULL, 30));
  steps_before = kanvas_window_get_session (win)->steps_done;
  ck_assert_int_gt (steps_before, 0);

  /* Idle again: the first step runs (through "Save changes?", answered Discard). */
  lesson_click ("do_button");
  ck_assert (kanvas_lesson_is_busy (lesson));
  if (kanvas_window_is_asking (win))
    app_action ("unsaved-changes", g_variant_new_string ("discard"));
  ck_assert (kt_spin_until (lesson_idle, NULL, 30));
  ck_assert_msg (kanvas_lesson_step_done (lesson, 0), "%s", kanvas_lesson_get_status (lesson));
  ck_assert_int_eq (kanvas_window_get_session (win)->steps_done, 0);
}
END_TEST

START_TEST (test_lesson_presentation)
{
  KanvasLesson *lesson = kanvas_window_get_lesson (win);
  KanvasCanvas *canvas = kanvas_window_get_canvas (win);
  g_autoptr (GVariant) state = NULL;
  guint before;
  gint64 t0;
  double seconds;
  const int steps = 10;

  ck_assert (!kanvas_lesson_get_presentation (lesson));
  ck_assert_double_eq (kanvas_canvas_get_style (canvas)->text_scale, 1.0);
  /* The demo has a pace of its own, slower than full speed but faster than presentation mode. */
  ck_assert_uint_gt (kanvas_lesson_get_step_time (lesson), 0);
  ck_assert_uint_lt (kanvas_lesson_get_step_time (lesson), KANVAS_PRESENTATION_STEP_MS);
  ck_assert_double_eq (kanvas_loss_view_get_text_scale (kanvas_window_get_loss_view (win)), 1.0);
  ck_assert (!gtk_widget_has_css_class (GTK_WIDGET (win), "presentation"));

  app_action ("presentation", NULL);
  /* The loss plot and the right-hand pane's text grow too. */
  ck_assert_double_eq (kanvas_loss_view_get_text_scale (kanvas_window_get_loss_view (win)),
                       KANVAS_PRESENTATION_PLOT_SCALE);
  ck_assert (gtk_widget_has_css_class (GTK_WIDGET (win), "presentation"));
  state = g_action_group_get_action_state (G_ACTION_GROUP (win), "presentation");
  ck_assert (g_variant_get_boolean (state));
  ck_assert (kanvas_lesson_get_presentation (lesson));
  ck_assert_double_eq (kanvas_canvas_get_style (canvas)->text_scale,
                       KANVAS_PRESENTATION_TEXT_SCALE);
  ck_assert_uint_eq (kanvas_lesson_get_step_time (lesson), KANVAS_PRESENTATION_STEP_MS);

  /* A paced run: every step takes its time and reaches the canvas as a frame of its own (a
   * frame the main loop has not taken yet is replaced by the next, hence a little slack). */
  app_action ("configure", g_variant_new_string ("opt=lbfgs,steps=10,lamb=0"));
  before = kanvas_canvas_get_n_snapshots (canvas);
  t0 = g_get_monotonic_time ();
  train_and_wait ();
  seconds = (g_get_monotonic_time () - t0) / (double) G_USEC_PER_SEC;
  ck_assert_int_eq (kanvas_window_get_session (win)->steps_done, steps);
  ck_assert_double_ge (seconds, steps * KANVAS_PRESENTATION_STEP_MS / 1000.0);
  ck_assert_uint_ge (kanvas_canvas_get_n_snapshots (canvas) - before, steps - 2);

  /* A new session gets a new worker, paced as well. */
  app_action ("load-example", g_variant_new_string ("xy"));
  if (kanvas_window_is_asking (win))
    app_action ("unsaved-changes", g_variant_new_string ("discard"));
  ck_assert_str_eq (kanvas_window_get_session (win)->data->formula, "x1*x2");
  ck_assert_uint_eq (kanvas_lesson_get_step_time (lesson), KANVAS_PRESENTATION_STEP_MS);
  ck_assert_double_eq (kanvas_canvas_get_style (canvas)->text_scale,
                       KANVAS_PRESENTATION_TEXT_SCALE);

  /* Off again: as before. */
  app_action ("presentation", NULL);
  ck_assert (!kanvas_lesson_get_presentation (lesson));
  ck_assert_double_eq (kanvas_loss_view_get_text_scale (kanvas_window_get_loss_view (win)), 1.0);
  ck_assert (!gtk_widget_has_css_class (GTK_WIDGET (win), "presentation"));
  ck_assert_double_eq (kanvas_canvas_get_style (canvas)->text_scale, 1.0);
  ck_assert_uint_eq (kanvas_lesson_get_step_time (lesson), 0);
}
END_TEST

/* A manual session that cannot silently go wrong (issue 12) ------------------------------------
 *
 * Each step says what it did to the error and offers Undo when it made it worse; pruning a
 * network trained without λ asks first; auto-symbolic leaves edges below its R² threshold as
 * splines; the Formula tab compares the formula with the network it replaced; auto-symbolic
 * and refine run on a thread while the window keeps drawing. */

/* Busy: the status bar's Cancel button shows while a task runs. */
static gboolean
busy_is (gpointer data)
{
  return gtk_widget_get_visible (child ("busy_cancel")) == GPOINTER_TO_INT (data);
}

static const KanSession *
sess (void)
{
  return kanvas_window_get_session (win);
}

static const KanHistoryEntry *
last_entry (void)
{
  return g_ptr_array_index (sess ()->history, sess ()->history->len - 1);
}

/* The message dialog transient for the window, or NULL. */
static AdwMessageDialog *
dialog_on_top (void)
{
  GListModel *tops = gtk_window_get_toplevels ();   /* borrowed */

  for (guint k = 0; k < g_list_model_get_n_items (tops); k++)
    {
      g_autoptr (GtkWindow) w = g_list_model_get_item (tops, k);
      if (ADW_IS_MESSAGE_DIALOG (w) && gtk_window_get_transient_for (w) == GTK_WINDOW (win)
          && gtk_widget_get_visible (GTK_WIDGET (w)))
        return ADW_MESSAGE_DIALOG (w);
    }
  return NULL;
}

/* Presses the dialog's button LABEL, as a user does; the dialog closes. */
static void
press_dialog (AdwMessageDialog *d,
       const char       *label)
{
  GtkWidget *b = find_button (GTK_WIDGET (d), label);

  ck_assert_msg (b != NULL, "the dialog has no button %s", label);
  g_signal_emit_by_name (b, "clicked");
  kt_spin_for (0.1);
  ck_assert_ptr_null (dialog_on_top ());
}

/* The subtitle of history row K (0-based). */
static const char *
history_subtitle (guint k)
{
  GtkWidget *row = gtk_widget_get_first_child (child ("history_list"));

  for (; row && k > 0; k--)
    row = gtk_widget_get_next_sibling (row);
  ck_assert_ptr_nonnull (row);
  return adw_action_row_get_subtitle (ADW_ACTION_ROW (row));
}

/* Default settings, as a new user trains: the demo's defaults fit without regularisation. */
static void
train_unregularised (void)
{
  app_action ("load-example", g_variant_new_string ("demo"));
  ck_assert_double_eq (sess ()->train.lamb, 0);
  train_and_wait ();
  ck_assert (strstr (last_entry ()->detail, "lamb=0") != NULL);
}

START_TEST (test_naive_path_warns_and_skips)
{
  const KanModel *m;
  g_autofree char *w = NULL;
  g_autoptr (KanModel) before = NULL;
  AdwMessageDialog *d;
  guint n_hist;
  const char *lib = "x,x^2,exp,sin";
  g_autofree int *ids = NULL;
  int n_ids = 0;
  int n_skipped = 0;

  train_unregularised ();
  /* The fit's toast gives the error before and after. */
  ck_assert_ptr_nonnull (strstr (kanvas_window_get_last_message (win), "Trained"));
  ck_assert_ptr_nonnull (strstr (kanvas_window_get_last_message (win), "→"));

  /* Prune asks first and changes nothing until answered. */
  n_hist = sess ()->history->len;
  app_action ("prune", NULL);
  d = dialog_on_top ();
  ck_assert_msg (d != NULL, "pruning after a fit with λ = 0 did not warn");
  ck_assert_ptr_nonnull (strstr (adw_message_dialog_get_heading (d), "without λ"));
  ck_assert_ptr_nonnull (strstr (adw_message_dialog_get_body (d), "sparse"));
  ck_assert (adw_message_dialog_has_response (d, "train"));
  ck_assert (adw_message_dialog_has_response (d, "prune"));
  ck_assert_uint_eq (sess ()->history->len, n_hist);
  w = model_width ();
  ck_assert_str_eq (w, "2,5,1");

  /* Prune anyway: the error rises, and the toast says so and offers Undo. */
  press_dialog (d, "_Prune Anyway");
  ck_assert_str_eq (last_entry ()->op, "prune");
  ck_assert_msg (kan_ops_made_worse (((KanHistoryEntry *) g_ptr_array_index (sess ()->history,
                                                                             n_hist - 1))->train_rmse,
                                     NAN, last_entry ()->train_rmse, NAN),
                 "pruning the unregularised demo did not raise the error (%g)",
                 last_entry ()->train_rmse);
  ck_assert_ptr_nonnull (strstr (kanvas_window_get_last_message (win), "(worse)"));
  ck_assert_ptr_nonnull (strstr (kanvas_window_get_last_message (win), "Pruned"));
  /* The history row says before → after too. */
  ck_assert_ptr_nonnull (strstr (history_subtitle (sess ()->history->len - 1), "→"));
  /* The toast's Undo is win.undo: it takes the prune back. */
  g_action_group_activate_action (G_ACTION_GROUP (win), "undo", NULL);
  g_free (w);
  w = model_width ();
  ck_assert_str_eq (w, "2,5,1");
  g_action_group_activate_action (G_ACTION_GROUP (win), "redo", NULL);

  /* Auto-symbolic with the panel's R² (the default): edges whose best fit is below it stay
   * splines, the others lock. */
  ck_assert_double_eq (gtk_spin_button_get_value (GTK_SPIN_BUTTON (child ("r2_spin"))),
                       KAN_OPS_R2_THRESHOLD);
  ck_assert_double_ge (KAN_OPS_R2_THRESHOLD, 0.99);
  before = kan_model_copy (sess ()->model);
  ids = kan_sym_parse_lib (lib, &n_ids, NULL);
  ck_assert_ptr_nonnull (ids);
  app_action ("auto-symbolic", g_variant_new_string (lib));
  ck_assert (busy_is (GINT_TO_POINTER (TRUE)));
  wait_task ();
  ck_assert_str_eq (last_entry ()->op, "symbolic");
  m = sess ()->model;
  for (int l = 0; l < kan_model_depth (m); l++)
    for (int i = 0; i < kan_model_layer_in (m, l); i++)
      for (int j = 0; j < kan_model_layer_out (m, l); j++)
        {
          g_autofree KanSymFit *fits = NULL;
          int n_fits = 0;
          if (kan_model_edge_mode (before, l, i, j) != KAN_EDGE_NUMERIC)
            continue;
          /* Layer by layer, as auto-symbolic fits: later layers see the locked ones before. */
          if (l == 0)
            {
              fits = kan_model_suggest (before, sess ()->data->train_x, sess ()->data->n_train, l,
                                        i, j, ids, n_ids, NULL, &n_fits, NULL);
              ck_assert_ptr_nonnull (fits);
              ck_assert_int_eq (kan_model_edge_mode (m, l, i, j),
                                n_fits > 0 && fits[0].r2 >= KAN_OPS_R2_THRESHOLD
                                ? KAN_EDGE_SYMBOLIC : KAN_EDGE_NUMERIC);
            }
          n_skipped += kan_model_edge_mode (m, l, i, j) == KAN_EDGE_NUMERIC;
        }
  ck_assert_msg (n_skipped > 0, "every edge of the pruned unregularised demo reached R² %g",
                 KAN_OPS_R2_THRESHOLD);
  /* The skipped edges are listed with their best R², in the toast and in the panel. */
  ck_assert_ptr_nonnull (strstr (kanvas_window_get_last_message (win), "left as splines"));
  ck_assert_ptr_nonnull (strstr (kanvas_window_get_last_message (win), "R² 0."));
  ck_assert (gtk_widget_get_visible (child ("auto_report_row")));
  ck_assert_ptr_nonnull (strstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (child ("auto_report_row"))),
                                 "best"));

  /* Retrain: the run goes on from the partly locked network. */
  train_and_wait ();
  ck_assert_str_eq (last_entry ()->op, "fit");
}
END_TEST

START_TEST (test_prune_offers_lambda)
{
  AdwMessageDialog *d;
  g_autofree char *w = NULL;

  train_unregularised ();
  app_action ("prune", NULL);
  d = dialog_on_top ();
  ck_assert_ptr_nonnull (d);
  /* "Train with λ = 0.01 first" sets λ and starts the run. */
  press_dialog (d, "_Train with λ = 0.01 First");
  ck_assert_double_eq_tol (gtk_spin_button_get_value (GTK_SPIN_BUTTON (child ("lamb_spin"))),
                           KAN_OPS_SPARSE_LAMB, 1e-12);
  ck_assert (kanvas_window_is_training (win));
  ck_assert_msg (kt_spin_until (is_idle, NULL, 120), "the run did not end");
  ck_assert_ptr_nonnull (strstr (last_entry ()->detail, "lamb=0.01"));
  /* Now pruning goes ahead without a question, and removes what it should. */
  app_action ("prune", NULL);
  ck_assert_ptr_null (dialog_on_top ());
  ck_assert_str_eq (last_entry ()->op, "prune");
  w = model_width ();
  ck_assert_str_ne (w, "2,5,1");
  /* The preview follows the threshold once it settles. */
  wait_preview ();
  {
    g_autofree char *before = g_strdup (adw_action_row_get_subtitle (ADW_ACTION_ROW (child ("prune_preview_row"))));
    gtk_spin_button_set_value (GTK_SPIN_BUTTON (child ("prune_edge_spin")), 5);
    wait_preview ();
    ck_assert_str_ne (adw_action_row_get_subtitle (ADW_ACTION_ROW (child ("prune_preview_row"))),
                      before);
  }
}
END_TEST

/* Kan-ops' preview at the panel's thresholds. */
static KanOpsPrunePlan *
panel_prune_plan (void)
{
  g_autoptr (GError) error = NULL;
  KanOpsPrunePlan *plan;

  plan = kan_ops_prune_preview (sess (),
                                gtk_spin_button_get_value (GTK_SPIN_BUTTON (child ("prune_node_spin"))),
                                gtk_spin_button_get_value (GTK_SPIN_BUTTON (child ("prune_edge_spin"))),
                                NULL, &error);
  ck_assert_msg (plan != NULL, "%s", error ? error->message : "");
  return plan;
}

/* The canvas marks exactly what PLAN removes, and draws the marks. */
static void
assert_canvas_marks (const KanOpsPrunePlan *plan)
{
  KanvasCanvas *canvas = kanvas_window_get_canvas (win);
  const KanRenderStyle *st = kanvas_canvas_get_style (canvas);
  const KanSnapshot *snap = kanvas_canvas_get_snapshot (canvas);
  const GArray *nodes = NULL, *edges = NULL;

  ck_assert_msg (kanvas_canvas_get_prune_preview (canvas, &nodes, &edges),
                 "the canvas marks nothing while the prune preview is in view");
  ck_assert_uint_eq (nodes->len, plan->nodes->len);
  ck_assert_uint_eq (edges->len, plan->edges->len);
  /* (an empty GArray may have no data at all: memcmp must not see NULL) */
  ck_assert (nodes->len == 0
             || memcmp (nodes->data, plan->nodes->data, sizeof (KanOpsNode) * nodes->len) == 0);
  ck_assert (edges->len == 0
             || memcmp (edges->data, plan->edges->data, sizeof (KanOpsEdge) * edges->len) == 0);
  /* The renderer gets all of them, the edges numbered as the picture is: live edges there. */
  ck_assert_ptr_nonnull (st->marks);
  ck_assert_int_eq (st->marks->n_nodes, (int) plan->nodes->len);
  ck_assert_int_eq (st->marks->n_edges, (int) plan->edges->len);
  for (int q = 0; q < st->marks->n_edges; q++)
    {
      const int *e = st->marks->edges + 3 * q;
      const KanSnapshotEdge *se = kan_snapshot_edge (snap, e[0], e[1], e[2]);
      ck_assert_ptr_nonnull (se);
      ck_assert_int_ne (se->mode, KAN_EDGE_OFF);
    }
  /* A removed node is drawn in the warning colour instead of the foreground. */
  if (st->marks->n_nodes > 0)
    {
      const int w = 600, h = 500;
      g_autoptr (KanLayout) lay = kan_layout_new (snap, w, h);
      KanRect r = kan_layout_node_box (lay, st->marks->nodes[0], st->marks->nodes[1]);
      cairo_surface_t *surf = cairo_image_surface_create (CAIRO_FORMAT_RGB24, w, h);
      cairo_t *cr = cairo_create (surf);
      KanRenderStyle plain = *st;
      int x = (int) (r.x + r.w / 2), y = (int) (r.y + r.h / 2);
      guint32 marked_px, plain_px;

      kan_render_network (cr, snap, st, w, h);
      cairo_surface_flush (surf);
      marked_px = *(guint32 *) (void *) (cairo_image_surface_get_data (surf)
                                         + y * cairo_image_surface_get_stride (surf) + 4 * x);
      plain.marks = NULL;
      kan_render_network (cr, snap, &plain, w, h);
      cairo_surface_flush (surf);
      plain_px = *(guint32 *) (void *) (cairo_image_surface_get_data (surf)
                                        + y * cairo_image_surface_get_stride (surf) + 4 * x);
      cairo_destroy (cr);
      cairo_surface_destroy (surf);
      /* Red channel: high in the warning colour, low in the light theme's foreground. */
      ck_assert_uint_gt ((marked_px >> 16) & 0xff, 0xc0);
      ck_assert_uint_lt ((plain_px >> 16) & 0xff, 0x40);
    }
}

static gboolean
canvas_unmarked (void)
{
  KanvasCanvas *canvas = kanvas_window_get_canvas (win);

  return !kanvas_canvas_get_prune_preview (canvas, NULL, NULL)
         && kanvas_canvas_get_style (canvas)->marks == NULL;
}

static void
show_panel (const char *name)
{
  g_action_group_activate_action (G_ACTION_GROUP (win), "show-panel", g_variant_new_string (name));
}

/* The prune preview shows on the canvas what would go while it is in view (the Network panel,
 * or the prune question), and nothing once it is left, cancelled or applied. */
START_TEST (test_prune_preview_marks_canvas)
{
  g_autoptr (KanOpsPrunePlan) plan = NULL;
  g_autoptr (KanOpsPrunePlan) after = NULL;
  AdwMessageDialog *d;

  train_unregularised ();
  wait_preview ();
  plan = panel_prune_plan ();
  ck_assert_uint_gt (plan->nodes->len + plan->edges->len, 0);
  show_panel ("inspect");
  ck_assert (canvas_unmarked ());
  show_panel ("network");
  assert_canvas_marks (plan);
  show_panel ("formula");
  ck_assert (canvas_unmarked ());

  /* The prune question shows the marks too; Cancel takes them away and prunes nothing. */
  app_action ("prune", NULL);
  d = dialog_on_top ();
  ck_assert_ptr_nonnull (d);
  assert_canvas_marks (plan);
  press_dialog (d, "_Cancel");
  ck_assert (canvas_unmarked ());
  ck_assert_str_ne (last_entry ()->op, "prune");

  /* Applied through the question: the marks go with it. */
  app_action ("prune", NULL);
  d = dialog_on_top ();
  ck_assert_ptr_nonnull (d);
  assert_canvas_marks (plan);
  press_dialog (d, "_Prune Anyway");
  ck_assert_str_eq (last_entry ()->op, "prune");
  ck_assert (canvas_unmarked ());
  /* Back on the Network panel, the canvas marks the preview of the pruned network, as the panel
   * lists it. */
  after = panel_prune_plan ();
  show_panel ("network");
  wait_preview ();
  if (after->nodes->len + after->edges->len > 0)
    assert_canvas_marks (after);
  else
    ck_assert (canvas_unmarked ());
}
END_TEST

/* The README's student: λ = 0.01, prune, lock all with the whole library. The x2 edge is x²,
 * whatever order the library is given in, and the formula tab compares the formula with the
 * spline network it replaced. */
START_TEST (test_lock_all_locks_square)
{
  g_autofree char *w = NULL;
  const char *libs[] = { "", "sin,cos,exp,x,x^2,x^3,tanh" };
  const char *text;
  const KanModel *m;

  app_action ("load-example", g_variant_new_string ("demo"));
  app_action ("configure", g_variant_new_string ("opt=lbfgs,steps=50,lamb=0.01"));
  train_and_wait ();
  app_action ("prune", NULL);
  ck_assert_ptr_null (dialog_on_top ());
  w = model_width ();
  ck_assert_str_eq (w, "2,1,1");
  app_action ("configure", g_variant_new_string ("lamb=0"));
  train_and_wait ();
  for (guint k = 0; k < G_N_ELEMENTS (libs); k++)
    {
      app_action ("auto-symbolic", g_variant_new_string (libs[k]));
      wait_task ();
      m = sess ()->model;
      ck_assert_int_eq (kan_model_edge_mode (m, 0, 1, 0), KAN_EDGE_SYMBOLIC);
      ck_assert_msg (g_str_equal (kan_sym_info (kan_model_edge_sym (m, 0, 1, 0))->name, "x^2"),
                     "with library '%s' the x2 edge locked to %s", libs[k],
                     kan_sym_info (kan_model_edge_sym (m, 0, 1, 0))->name);
      if (k + 1 < G_N_ELEMENTS (libs))
        g_action_group_activate_action (G_ACTION_GROUP (win), "undo", NULL);
    }
  /* Fine-tune the locked network; the formula tab gives both errors. */
  app_action ("configure", g_variant_new_string ("opt=lm,lamb=0,steps=50"));
  train_and_wait ();
  text = gtk_label_get_text (GTK_LABEL (child ("formula_rmse_label")));
  ck_assert_msg (*gtk_label_get_text (GTK_LABEL (child ("formula_label"))), "no formula");
  ck_assert_ptr_nonnull (strstr (text, "Test RMSE"));
  ck_assert_msg (strstr (text, "spline network it replaced") != NULL, "'%s'", text);
  {
    /* The replaced network is the λ = 0 fit before locking, and the label gives its RMSE. */
    const KanHistoryEntry *e = kan_ops_replaced_network (sess (), sess ()->history->len - 1);
    g_autofree char *want = NULL;
    ck_assert_ptr_nonnull (e);
    ck_assert_str_eq (e->op, "fit");
    want = g_strdup_printf ("test RMSE %.3g", e->test_rmse);
    ck_assert_msg (strstr (text, want) != NULL, "'%s' lacks '%s'", text, want);
  }
  if (g_getenv ("KANVAS_SHOT_DIR"))
    {
      app_action ("show-panel", g_variant_new_string ("formula"));
      kt_spin_for (1);
    }
}
END_TEST

/* A 4,10,10,1 network with G = 10, as the issue times it. */
static char *
write_big_session (void)
{
  g_autoptr (KanSession) s = kan_session_new ();
  g_autoptr (KanShape) shape = kan_shape_parse ("4,10,10,1", NULL, NULL);
  g_autoptr (GError) error = NULL;
  char *path = g_build_filename (tmpdir, "big.kanvas", NULL);
  KanFormulaSpec spec;
  KanModelConfig mc;

  kan_formula_spec_init (&spec);
  spec.formula = "exp(0.5*(sin(pi*(x1^2+x2^2))+sin(pi*(x3^2+x4^2))))";
  s->data = kan_dataset_from_formula (&spec, &error);
  ck_assert_msg (s->data != NULL, "%s", error ? error->message : "");
  kan_model_config_init (&mc);
  mc.shape = shape;
  mc.grid = 10;
  s->model = kan_model_new (&mc, &error);
  ck_assert_ptr_nonnull (s->model);
  kan_train_config_init (&s->train);
  ck_assert_msg (kan_session_save (s, path, &error), "%s", error ? error->message : "");
  return path;
}

typedef struct
{
  gint64 last;
  gint64 max_gap;
  int    ticks;
} Ticks;

static gboolean
on_tick (GtkWidget     *widget,
         GdkFrameClock *clock,
         gpointer       data)
{
  Ticks *t = data;
  gint64 now = g_get_monotonic_time ();

  t->max_gap = MAX (t->max_gap, now - t->last);
  t->last = now;
  t->ticks++;
  return G_SOURCE_CONTINUE;
}

START_TEST (test_window_draws_during_auto_symbolic)
{
  g_autofree char *path = write_big_session ();
  Ticks t = { 0 };
  guint id;
  gint64 start;
  double seconds;

  app_action ("open", g_variant_new_string (path));
  ck_assert_str_eq (kanvas_window_get_path (win), path);
  id = gtk_widget_add_tick_callback (GTK_WIDGET (win), on_tick, &t, NULL);
  kt_spin_for (0.2);
  t.ticks = 0;
  t.max_gap = 0;
  start = t.last = g_get_monotonic_time ();
  /* The whole library, as the issue timed it. */
  app_action ("auto-symbolic", g_variant_new_string (""));
  ck_assert (busy_is (GINT_TO_POINTER (TRUE)));
  /* While it runs: no edits, no training, a Cancel button and a spinner. */
  ck_assert (!g_action_group_get_action_enabled (G_ACTION_GROUP (win), "prune"));
  ck_assert (!g_action_group_get_action_enabled (G_ACTION_GROUP (win), "train"));
  ck_assert (gtk_widget_get_visible (child ("busy_cancel")));
  ck_assert (kt_spin_until (busy_is, GINT_TO_POINTER (FALSE), 300));
  seconds = (g_get_monotonic_time () - start) / 1e6;
  gtk_widget_remove_tick_callback (GTK_WIDGET (win), id);
  g_message ("auto-symbolic on 4,10,10,1 G=10: %.2f s, %d frames, longest gap %.3f s", seconds,
             t.ticks, t.max_gap / 1e6);
  ck_assert_str_eq (last_entry ()->op, "symbolic");
  /* The frame clock kept ticking: at least ten frames a second of work, none far apart. */
  ck_assert_int_ge (t.ticks, (int) (10 * seconds));
  ck_assert_msg (t.max_gap < 500000, "the window stopped drawing for %.3f s", t.max_gap / 1e6);
  ck_assert (g_action_group_get_action_enabled (G_ACTION_GROUP (win), "train"));
  ck_assert (!gtk_widget_get_visible (child ("busy_cancel")));

  /* Cancel: the model stays as it was and nothing is recorded. */
  {
    guint n = sess ()->history->len;
    const KanModel *kept = sess ()->model;
    g_autoptr (KanModel) pre = kan_model_copy (kept);
    app_action ("auto-symbolic", g_variant_new_string (""));
    ck_assert (busy_is (GINT_TO_POINTER (TRUE)));
    kt_spin_for (0.2);
    g_action_group_activate_action (G_ACTION_GROUP (win), "cancel-task", NULL);
    ck_assert (kt_spin_until (busy_is, GINT_TO_POINTER (FALSE), 10));
    ck_assert_uint_eq (sess ()->history->len, n);
    ck_assert_ptr_nonnull (strstr (kanvas_window_get_last_message (win), "cancelled"));
    ck_assert_ptr_eq (sess ()->model, kept);
    ck_assert_uint_eq (kan_model_n_params (kept), kan_model_n_params (pre));
    ck_assert (memcmp (kan_model_params_const (kept), kan_model_params_const (pre),
                       kan_model_n_params (pre) * sizeof (double)) == 0);
  }
  /* Refine runs on the thread too; opening another session drops it. */
  app_action ("refine", g_variant_new_int32 (20));
  ck_assert (busy_is (GINT_TO_POINTER (TRUE)));
  ck_assert (kt_spin_until (busy_is, GINT_TO_POINTER (FALSE), 60));
  ck_assert_int_eq (kan_model_grid (sess ()->model), 20);
  ck_assert_str_eq (last_entry ()->op, "refine");
  app_action ("auto-symbolic", g_variant_new_string (""));
  ck_assert (busy_is (GINT_TO_POINTER (TRUE)));
  app_action ("load-example", g_variant_new_string ("demo"));
  question (NULL);
  press ("_Discard");
  ck_assert (busy_is (GINT_TO_POINTER (FALSE)));
  kt_spin_for (0.5);
  ck_assert_str_ne (last_entry ()->op, "symbolic");
}
END_TEST

/* The prune preview runs on a thread with a busy state; thresholds changed while one runs give
 * the preview of the last value, and prune then removes what that preview said. */
START_TEST (test_prune_preview_on_thread)
{
  KanvasSessionPane *pane = kanvas_window_get_session_pane (win);
  GtkSpinButton *edge = GTK_SPIN_BUTTON (child ("prune_edge_spin"));
  g_autoptr (KanOpsPrunePlan) all = NULL;
  g_autoptr (KanOpsPrunePlan) plan = NULL;
  g_autofree char *want = NULL;
  g_autofree char *w = NULL;

  app_action ("configure", g_variant_new_string ("opt=lbfgs,steps=20,lamb=0.01"));
  train_and_wait ();
  wait_preview ();
  /* Two thresholds with different previews: everything, and a little. */
  gtk_spin_button_set_value (edge, 5);
  all = panel_prune_plan ();
  gtk_spin_button_set_value (edge, 0.02);
  plan = panel_prune_plan ();
  want = kan_ops_prune_plan_summary (plan);
  {
    g_autofree char *other = kan_ops_prune_plan_summary (all);
    ck_assert_str_ne (other, want);
  }
  /* The first change starts a preview (after the debounce); the second, while it may still
   * run, replaces it. */
  gtk_spin_button_set_value (edge, 5);
  ck_assert (kanvas_session_pane_is_previewing (pane));
  kt_spin_for (0.2);
  gtk_spin_button_set_value (edge, 0.02);
  ck_assert (kanvas_session_pane_is_previewing (pane));
  wait_preview ();
  ck_assert_str_eq (adw_action_row_get_subtitle (ADW_ACTION_ROW (child ("prune_preview_row"))),
                    want);
  /* Nothing older arrives later. */
  kt_spin_for (0.5);
  ck_assert_str_eq (adw_action_row_get_subtitle (ADW_ACTION_ROW (child ("prune_preview_row"))),
                    want);
  /* Prune removes what the preview said. */
  app_action ("prune", NULL);
  ck_assert_str_eq (last_entry ()->op, "prune");
  ck_assert_str_eq (last_entry ()->detail, plan->detail);
  w = model_width ();
  ck_assert_str_eq (w, plan->width_after);
}
END_TEST

/* Steps in quick succession do not queue their toasts up: one is there, with the last step's
 * text, whatever messages come between (libadwaita 1.2 crashes on some dismissals). */
START_TEST (test_step_toasts_do_not_queue)
{
  const char *steps[][2] = {
    { "lock", "0,0,0,sin" }, { "unlock", "0,0,0" }, { "lock", "0,1,0,x^2" }, { "lock", "0,0,1,x" },
  };

  ck_assert_int_eq (kanvas_window_get_n_step_toasts (win), 0);
  for (guint k = 0; k < G_N_ELEMENTS (steps); k++)
    {
      g_autofree char *markup = NULL;

      app_action (steps[k][0], g_variant_new_string (steps[k][1]));
      ck_assert_int_eq (kanvas_window_get_n_step_toasts (win), 1);
      markup = g_markup_escape_text (kanvas_window_get_last_message (win), -1);
      ck_assert_str_eq (kanvas_window_get_step_toast (win), markup);
      /* A message between steps, and a little time for the animations. */
      kanvas_window_show_message (win, "A message between the steps.");
      kt_spin_for (0.05 * k);
    }
  ck_assert_str_eq (last_entry ()->op, "lock");
  ck_assert_ptr_nonnull (strstr (kanvas_window_get_step_toast (win), "Locked (0,0,1) to x"));
  /* Once the animations are over, still one. */
  kt_spin_for (1);
  ck_assert_int_le (kanvas_window_get_n_step_toasts (win), 1);
}
END_TEST

/* Prune Inputs from the pane reaches the session through the window (an action), takes the
 * unused column out of the model and the data, and a model from before it is not restored onto
 * the narrower data (Undo says why instead). */
START_TEST (test_prune_inputs_action)
{
  const char *cli = g_getenv ("KANVAS_CLI");
  g_autofree char *path = g_build_filename (tmpdir, "three.kanvas", NULL);
  g_autoptr (GError) error = NULL;
  const KanSession *s;
  const KanHistoryEntry *last;
  int status = -1;

  if (cli == NULL)
    {
      fprintf (stderr, "test_prune_inputs_action: KANVAS_CLI is not set; skipped\n");
      return;
    }
  {
    const char *argv[] = { cli, "fit", "--formula", "sin(pi*x1) + x2^2 + 0*x3", "--width",
                           "3,3,1", "--lamb", "0.01", "--steps", "30", "-o", path, NULL };
    ck_assert (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL
                             | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, NULL, NULL, &status,
                             &error));
    ck_assert (g_spawn_check_wait_status (status, NULL));
  }
  app_action ("open", g_variant_new_string (path));
  s = kanvas_window_get_session (win);
  ck_assert_int_eq (s->data->n_in, 3);
  g_action_group_activate_action (G_ACTION_GROUP (win), "prune-inputs",
                                  g_variant_new_double (0.01));
  s = kanvas_window_get_session (win);
  ck_assert_int_eq (s->data->n_in, 2);
  ck_assert_int_eq (kan_model_n_in (s->model), 2);
  last = s->history->pdata[s->history->len - 1];
  ck_assert_str_eq (last->op, "prune-inputs");
  /* Undo would put a 3-input model on 2-column data: refused, the session unchanged. */
  g_action_group_activate_action (G_ACTION_GROUP (win), "undo", NULL);
  s = kanvas_window_get_session (win);
  ck_assert_int_eq (kan_model_n_in (s->model), 2);
  ck_assert_int_eq (s->data->n_in, 2);
  ck_assert (g_unlink (path) == 0);
}
END_TEST

static Suite *
gui_suite (void)
{
  Suite *s = suite_create ("gui");
  TCase *tc = tcase_create ("window");

  tcase_add_checked_fixture (tc, setup, teardown);
  tcase_set_timeout (tc, 300);
  tcase_add_test (tc, test_starts_on_demo);
  tcase_add_test (tc, test_window_not_blank);
  tcase_add_test (tc, test_train_action);
  tcase_add_test (tc, test_pause_step_stop);
  tcase_add_test (tc, test_save_open_roundtrip);
  tcase_add_test (tc, test_cli_sessions);
  tcase_add_test (tc, test_prune_inputs_action);
  tcase_add_test (tc, test_invalid_entries);
  tcase_add_test (tc, test_examples_load);
  tcase_add_test (tc, test_bad_session_files);
  tcase_add_test (tc, test_canvas_hit);
  tcase_add_test (tc, test_session_actions);
  tcase_add_test (tc, test_session_end_to_end);
  tcase_add_test (tc, test_unsaved_clean_proceeds);
  tcase_add_test (tc, test_unsaved_new);
  tcase_add_test (tc, test_unsaved_open_save);
  tcase_add_test (tc, test_unsaved_load_example);
  tcase_add_test (tc, test_unsaved_build);
  tcase_add_test (tc, test_unsaved_quit_first_run);
  tcase_add_test (tc, test_unsaved_close_window);
  tcase_add_test (tc, test_unsaved_during_run);
  tcase_add_test (tc, test_unsaved_marks_every_edit);
  tcase_add_test (tc, test_unsaved_command_line_open);
  tcase_add_test (tc, test_hostile_session_files);
  suite_add_tcase (s, tc);
  tc = tcase_create ("discover");
  tcase_add_checked_fixture (tc, setup, teardown);
  tcase_set_timeout (tc, 300);
  tcase_add_test (tc, test_discover_demo);
  tcase_add_test (tc, test_discover_cancel);
  tcase_add_test (tc, test_discover_units);
  suite_add_tcase (s, tc);
  tc = tcase_create ("manual-session");
  tcase_add_checked_fixture (tc, setup, teardown);
  tcase_add_test (tc, test_naive_path_warns_and_skips);
  tcase_add_test (tc, test_prune_offers_lambda);
  tcase_add_test (tc, test_prune_preview_marks_canvas);
  tcase_add_test (tc, test_prune_preview_on_thread);
  tcase_add_test (tc, test_step_toasts_do_not_queue);
  tcase_add_test (tc, test_lock_all_locks_square);
  tcase_add_test (tc, test_window_draws_during_auto_symbolic);
  suite_add_tcase (s, tc);
  tc = tcase_create ("lesson");
  tcase_add_checked_fixture (tc, setup, teardown);
  tcase_set_timeout (tc, 300);
  tcase_add_test (tc, test_lesson_runs_to_formula);
  tcase_add_test (tc, test_lesson_refuses_while_training);
  tcase_add_test (tc, test_lesson_presentation);
  suite_add_tcase (s, tc);
  return s;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr (GError) error = NULL;
  const char *unused_shots = NULL;
  int failed;

  if (!kt_gui_init (argc, argv, &unused_shots))
    return KT_GUI_SKIP;
  tmpdir = g_dir_make_tmp ("kanvas-gui-XXXXXX", &error);
  g_assert_no_error (error);

  /* NON_UNIQUE: a test must not hand its work to a Kanvas already on the bus. */
  app = kanvas_application_new (G_APPLICATION_NON_UNIQUE);
  if (!g_application_register (G_APPLICATION (app), NULL, &error))
    {
      printf ("cannot register the application: %s\n", error->message);
      return 1;
    }

  failed = kt_run_nofork (gui_suite ());

  g_object_unref (app);
  {
    g_autoptr (GDir) dir = g_dir_open (tmpdir, 0, NULL);
    const char *name;
    while (dir && (name = g_dir_read_name (dir)))
      {
        g_autofree char *p = g_build_filename (tmpdir, name, NULL);
        g_unlink (p);
      }
    g_rmdir (tmpdir);
  }
  g_free (tmpdir);
  return failed ? 1 : 0;
}
