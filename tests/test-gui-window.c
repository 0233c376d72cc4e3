/* test-gui-window.c — the workbench window's manners (issue 13), in process under Xvfb: each
 * dataset's own settings, nothing lost (new data is a new session, commands that replace the
 * model wait for a run), the wheel over spin buttons, Space and Escape, the learning curve in
 * the session file, accuracy for classification, and side panels that fold on small screens.
 *
 * Keys and the wheel are real X input events (xdotool, through XTEST); without xdotool those
 * checks are left out and the program says so. Runs without forking (CK_FORK=no).
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <glib/gstdio.h>
#include <gsl/gsl_errno.h>
#include <adwaita.h>
#include <gdk/x11/gdkx.h>

#include "kanvas-application.h"
#include "kanvas-window.h"
#include "kan-ops.h"
#include "test-gui-helpers.h"
#include "test-helpers.h"


static KanvasApplication *app;
static KanvasWindow *win;
static char *tmpdir;
static char *xdotool;   /* NULL: the checks with real input events are left out */

static void
setup (void)
{
  win = kanvas_window_new (GTK_APPLICATION (app));
  g_object_add_weak_pointer (G_OBJECT (win), (gpointer *) &win);
  gtk_window_present (GTK_WINDOW (win));
  kt_spin_for (0.3);
}

static void
teardown (void)
{
  if (win)
    {
      g_object_remove_weak_pointer (G_OBJECT (win), (gpointer *) &win);
      kanvas_window_close_discard (win);
    }
  win = NULL;
  kt_spin_for (0.1);
}

static gpointer
widget (const char *name)
{
  GObject *w = gtk_widget_get_template_child (GTK_WIDGET (win), KANVAS_TYPE_WINDOW, name);

  ck_assert_msg (w != NULL, "no widget '%s'", name);
  return w;
}

static gboolean
is_idle (gpointer data)
{
  return !kanvas_window_is_training (win);
}

static gboolean
is_training (gpointer data)
{
  return kanvas_window_is_training (win);
}

static gboolean
has_steps (gpointer data)
{
  return kanvas_window_get_steps_done (win) > 0;
}

static gboolean
is_asking (gpointer data)
{
  return kanvas_window_get_question (win) != NULL;
}

static gboolean
enabled (const char *action)
{
  return g_action_group_get_action_enabled (G_ACTION_GROUP (win), action);
}

static void
win_action (const char *name,
            GVariant   *param)
{
  g_action_group_activate_action (G_ACTION_GROUP (win), name, param);
}

static void
train_and_wait (void)
{
  win_action ("train", NULL);
  ck_assert (kanvas_window_is_training (win));
  ck_assert_msg (kt_spin_until (is_idle, NULL, 120), "the run did not end");
}

/* Runs "xdotool ARGS" for the window W (its X id replaces every %W in FORMAT); FALSE without
 * xdotool. */
static gboolean
xdo (GtkWidget  *w,
     const char *format)
{
  GdkSurface *surface = gtk_native_get_surface (GTK_NATIVE (w));
  g_autofree char *xid = g_strdup_printf ("%lu", (unsigned long) gdk_x11_surface_get_xid (surface));
  g_auto (GStrv) parts = g_strsplit (format, "%W", -1);
  g_autofree char *args = g_strjoinv (xid, parts);
  g_autofree char *cmd = NULL;
  g_autoptr (GError) error = NULL;
  int status;

  if (xdotool == NULL)
    return FALSE;
  cmd = g_strdup_printf ("%s %s", xdotool, args);
  ck_assert_msg (g_spawn_command_line_sync (cmd, NULL, NULL, &status, &error), "%s",
                 error->message);
  ck_assert_msg (g_spawn_check_wait_status (status, &error), "%s: %s", cmd, error->message);
  kt_spin_for (0.3);
  return TRUE;
}

/* Each dataset gets its own settings --------------------------------------------------------- */

/* Two moons set cross-entropy and noise 0.2; a formula typed next gets squared error, no noise
 * and a width made from its data, so it builds (it failed with "data has 3 classes"). */
START_TEST (test_settings_per_dataset)
{
  GtkWidget *error_label = widget ("error_label");
  GtkWidget *button = widget ("apply_button");
  graphene_point_t at, after;
  const KanSession *s;
  g_autofree char *w = NULL;

  win_action ("load-example", g_variant_new_string ("two-moons"));
  s = kanvas_window_get_session (win);
  ck_assert_int_eq (s->train.loss, KAN_LOSS_CE);
  ck_assert_int_eq (adw_combo_row_get_selected (widget ("loss_row")), KAN_LOSS_CE);
  ck_assert (fabs (gtk_spin_button_get_value (widget ("noise_spin")) - 0.2) < 1e-12);

  adw_combo_row_set_selected (widget ("source_row"), 0);  /* Formula */
  ck_assert_int_eq (adw_combo_row_get_selected (widget ("loss_row")), KAN_LOSS_MSE);
  ck_assert (gtk_spin_button_get_value (widget ("noise_spin")) == 0);
  gtk_editable_set_text (widget ("formula_row"), "x1*x2+0.25");
  gtk_editable_set_text (widget ("ranges_row"), "-1,1");
  ck_assert (gtk_widget_compute_point (button, GTK_WIDGET (win), &GRAPHENE_POINT_INIT (0, 0),
                                       &at));

  /* A wrong width is an error under the button (which stays where it is) until it is edited. */
  gtk_editable_set_text (widget ("width_row"), "3,5,1");
  win_action ("apply", NULL);
  ck_assert (gtk_widget_get_visible (error_label));
  kt_spin_for (0.1);
  ck_assert (gtk_widget_compute_point (button, GTK_WIDGET (win), &GRAPHENE_POINT_INIT (0, 0),
                                       &after));
  ck_assert (at.x == after.x && at.y == after.y);
  gtk_editable_set_text (widget ("width_row"), "");
  ck_assert (!gtk_widget_get_visible (error_label));

  win_action ("apply", NULL);
  ck_assert (!kanvas_window_is_asking (win));
  ck_assert (!gtk_widget_get_visible (error_label));
  s = kanvas_window_get_session (win);
  ck_assert_str_eq (s->data->formula, "x1*x2+0.25");
  ck_assert_int_eq (s->train.loss, KAN_LOSS_MSE);
  ck_assert (s->data->noise == 0);
  w = kan_shape_to_string (kan_model_shape (s->model));
  ck_assert_str_eq (w, "2,5,1");

  /* And an example after two moons brings its own. */
  win_action ("load-example", g_variant_new_string ("two-moons"));
  ck_assert (kanvas_window_answer (win, "discard", NULL));
  kt_spin_for (0.05);
  ck_assert_int_eq (kanvas_window_get_session (win)->train.loss, KAN_LOSS_CE);
  win_action ("load-example", g_variant_new_string ("sin-sq"));
  ck_assert (!kanvas_window_is_asking (win));
  ck_assert_int_eq (kanvas_window_get_session (win)->train.loss, KAN_LOSS_MSE);
  ck_assert (gtk_spin_button_get_value (widget ("noise_spin")) == 0);
  ck_assert_int_eq (adw_combo_row_get_selected (widget ("loss_row")), KAN_LOSS_MSE);
}
END_TEST

/* Nothing lost ---------------------------------------------------------------------------------- */

/* New data starts a new, untitled session: Ctrl+S cannot overwrite the old file with it. A new
 * model for the same data stays in the file's session. */
START_TEST (test_new_data_is_untitled)
{
  g_autofree char *path = g_build_filename (tmpdir, "old.kanvas", NULL);
  g_autoptr (GError) error = NULL;

  ck_assert_msg (kanvas_window_save_to (win, path, &error), "%s", error ? error->message : "");
  ck_assert_str_eq (kanvas_window_get_path (win), path);

  adw_combo_row_set_selected (widget ("source_row"), 3);  /* Keep current data */
  gtk_editable_set_text (widget ("width_row"), "2,3,1");
  win_action ("apply", NULL);
  ck_assert (!kanvas_window_is_asking (win));
  ck_assert_str_eq (kanvas_window_get_path (win), path);
  ck_assert (kanvas_window_get_modified (win));
  ck_assert (kanvas_window_save_to (win, path, &error));

  adw_combo_row_set_selected (widget ("source_row"), 0);
  gtk_editable_set_text (widget ("formula_row"), "sin(x1)+x2");
  win_action ("apply", NULL);
  ck_assert (!kanvas_window_is_asking (win));
  ck_assert_str_eq (kanvas_window_get_session (win)->data->formula, "sin(x1)+x2");
  ck_assert_ptr_null (kanvas_window_get_path (win));
  ck_assert_ptr_nonnull (strstr (gtk_window_get_title (GTK_WINDOW (win)), "Untitled"));
  g_unlink (path);
}
END_TEST

/* The window's commands that replace the model are disabled during a run (running or paused);
 * a trained model is then not replaced by an example without asking. */
START_TEST (test_replacing_disabled_during_run)
{
  const char *replacing[] = { "apply", "new", "open", "load-example" };
  const KanModel *m;

  for (guint a = 0; a < G_N_ELEMENTS (replacing); a++)
    ck_assert_msg (enabled (replacing[a]), "%s disabled before the run", replacing[a]);
  win_action ("train", NULL);
  ck_assert (kanvas_window_is_training (win));
  for (guint a = 0; a < G_N_ELEMENTS (replacing); a++)
    ck_assert_msg (!enabled (replacing[a]), "%s enabled during the run", replacing[a]);
  ck_assert (kt_spin_until (has_steps, NULL, 20));
  win_action ("pause", NULL);
  ck_assert_int_eq (kanvas_window_get_train_state (win), KAN_WORKER_PAUSED);
  win_action ("load-example", g_variant_new_string ("xy"));
  ck_assert_str_eq (kanvas_window_get_session (win)->data->formula, "exp(sin(pi*x1)+x2^2)");
  for (guint a = 0; a < G_N_ELEMENTS (replacing); a++)
    ck_assert_msg (!enabled (replacing[a]), "%s enabled while paused", replacing[a]);
  win_action ("stop", NULL);
  ck_assert (kt_spin_until (is_idle, NULL, 20));
  for (guint a = 0; a < G_N_ELEMENTS (replacing); a++)
    ck_assert_msg (enabled (replacing[a]), "%s disabled after the run", replacing[a]);

  /* The trained model is unsaved work: an example asks; Cancel keeps the model. */
  m = kanvas_window_get_session (win)->model;
  win_action ("load-example", g_variant_new_string ("xy"));
  ck_assert (kanvas_window_is_asking (win));
  ck_assert (kanvas_window_answer (win, "cancel", NULL));
  kt_spin_for (0.05);
  ck_assert_ptr_eq (kanvas_window_get_session (win)->model, m);
}
END_TEST

/* Closing through Discard after training is clean: any GLib warning or critical on the way
 * aborts here. */
START_TEST (test_discard_closes_cleanly)
{
  GLogLevelFlags old = g_log_set_always_fatal (G_LOG_LEVEL_WARNING | G_LOG_LEVEL_CRITICAL
                                               | G_LOG_FATAL_MASK);

  win_action ("step", NULL);
  ck_assert (kt_spin_until (has_steps, NULL, 20));
  kanvas_window_close_asking (win, "quitting");
  ck_assert (kt_spin_until (is_asking, NULL, 10));
  ck_assert (kanvas_window_answer (win, "discard", NULL));
  kt_spin_for (0.3);
  ck_assert_ptr_null (win);
  g_log_set_always_fatal (old);
}
END_TEST

/* The learning curve ------------------------------------------------------------------------ */

/* The loss curve (and for classification the accuracy) survives save and open, and the status
 * line reports accuracy, as `kanvas-cli eval` does. */
START_TEST (test_curve_survives_save_open)
{
  g_autofree char *path = g_build_filename (tmpdir, "curve.kanvas", NULL);
  g_autoptr (GError) error = NULL;
  KanvasLossView *view = kanvas_window_get_loss_view (win);
  GtkInscription *status = widget ("status_label");
  g_autofree char *want = NULL;
  guint n;
  double tr, te, acc_tr, acc_te, acc_tr2, acc_te2;

  win_action ("load-example", g_variant_new_string ("two-moons"));
  gtk_spin_button_set_value (widget ("steps_spin"), 12);
  train_and_wait ();
  n = kanvas_loss_view_get_n_steps (view);
  ck_assert_int_eq (n, 12);
  ck_assert (kanvas_loss_view_get_accuracy (view, &acc_tr, &acc_te));
  kan_ops_accuracy (kanvas_window_get_session (win)->model, kanvas_window_get_session (win)->data,
                    KAN_LOSS_CE, &tr, &te);
  ck_assert (acc_tr == tr && acc_te == te);
  want = g_strdup_printf ("train accuracy %.1f %%  ·  test accuracy %.1f %%", 100 * tr, 100 * te);
  ck_assert_msg (strstr (gtk_inscription_get_text (status), want) != NULL, "status '%s'",
                 gtk_inscription_get_text (status));

  ck_assert_msg (kanvas_window_save_to (win, path, &error), "%s", error ? error->message : "");
  win_action ("load-example", g_variant_new_string ("demo"));
  ck_assert_int_eq (kanvas_loss_view_get_n_steps (view), 0);
  ck_assert_msg (kanvas_window_open_path (win, path, &error), "%s", error ? error->message : "");
  ck_assert_int_eq (kanvas_loss_view_get_n_steps (view), n);
  ck_assert (kanvas_loss_view_get_accuracy (view, &acc_tr2, &acc_te2));
  ck_assert (acc_tr2 == acc_tr && acc_te2 == acc_te);
  ck_assert_int_eq (kanvas_window_get_session (win)->curve_train->len, n);
  ck_assert (isfinite (g_array_index (kanvas_window_get_session (win)->curve_test, double, n - 1)));
  g_unlink (path);

  /* Regression keeps RMSE in the status line. */
  win_action ("load-example", g_variant_new_string ("xy"));
  ck_assert_ptr_nonnull (strstr (gtk_inscription_get_text (status), "train RMSE"));
  ck_assert (!kanvas_loss_view_get_accuracy (view, &acc_tr, &acc_te));
}
END_TEST

/* Desktop manners -------------------------------------------------------------------------------- */

/* The wheel over a spin button without focus scrolls the panel and leaves the value; with the
 * focus, it changes the value. */
START_TEST (test_wheel_over_spin_button)
{
  GtkWidget *spin = widget ("data_seed_spin");
  GtkAdjustment *adj = gtk_scrolled_window_get_vadjustment (widget ("panel_scroll"));
  graphene_point_t p;
  g_autofree char *cmd = NULL;
  double before = gtk_spin_button_get_value (GTK_SPIN_BUTTON (spin));
  double sx, sy;

  if (xdotool == NULL)
    return;
  gtk_widget_grab_focus (widget ("apply_button"));
  ck_assert (gtk_widget_compute_point (spin, GTK_WIDGET (win),
                                       &GRAPHENE_POINT_INIT (20, gtk_widget_get_height (spin) / 2.0),
                                       &p));
  /* xdotool's coordinates are the X window's, which has the window's shadow around it. */
  gtk_native_get_surface_transform (GTK_NATIVE (win), &sx, &sy);
  cmd = g_strdup_printf ("windowfocus --sync %%W mousemove --window %%W --sync %d %d click 5",
                         (int) (p.x + sx), (int) (p.y + sy));
  ck_assert (gtk_adjustment_get_value (adj) == 0);
  xdo (GTK_WIDGET (win), cmd);
  ck_assert_msg (gtk_spin_button_get_value (GTK_SPIN_BUTTON (spin)) == before,
                 "the wheel changed the value to %g", gtk_spin_button_get_value (GTK_SPIN_BUTTON (spin)));
  ck_assert_msg (gtk_adjustment_get_value (adj) > 0, "the panel did not scroll");

  /* Focused, the wheel is the spin button's (up: the seed is at its lowest). */
  gtk_adjustment_set_value (adj, 0);
  kt_spin_for (0.1);
  gtk_widget_grab_focus (spin);
  cmd[strlen (cmd) - 1] = '4';
  xdo (GTK_WIDGET (win), cmd);
  ck_assert (gtk_spin_button_get_value (GTK_SPIN_BUTTON (spin)) != before);
}
END_TEST

/* Space and F5 train (Space pauses too) whichever button has the focus; in a text entry Space is
 * a space. */
START_TEST (test_space_trains)
{
  GtkWidget *formula = widget ("formula_row");

  if (xdotool == NULL)
    return;
  gtk_widget_grab_focus (widget ("apply_button"));
  xdo (GTK_WIDGET (win), "windowfocus --sync %W key space");
  ck_assert_msg (kt_spin_until (is_training, NULL, 5) || kanvas_window_get_steps_done (win) > 0,
                 "Space did not train");
  ck_assert (!kanvas_window_is_asking (win));
  if (kanvas_window_is_training (win))
    {
      xdo (GTK_WIDGET (win), "key space");
      ck_assert_int_eq (kanvas_window_get_train_state (win), KAN_WORKER_PAUSED);
      win_action ("stop", NULL);
      ck_assert (kt_spin_until (is_idle, NULL, 20));
    }

  /* F5 too, from a focused button. */
  gtk_widget_grab_focus (widget ("apply_button"));
  xdo (GTK_WIDGET (win), "key F5");
  ck_assert_msg (kanvas_window_is_training (win), "F5 did not train");
  win_action ("stop", NULL);
  ck_assert (kt_spin_until (is_idle, NULL, 20));

  gtk_widget_grab_focus (formula);
  xdo (GTK_WIDGET (win), "key End space");
  ck_assert (!kanvas_window_is_training (win));
  ck_assert_str_eq (gtk_editable_get_text (GTK_EDITABLE (formula)), "exp(sin(pi*x1)+x2^2) ");
}
END_TEST

static GtkWindow *
find_window (const char *title)
{
  GListModel *all = gtk_window_get_toplevels ();

  for (guint i = 0; i < g_list_model_get_n_items (all); i++)
    {
      g_autoptr (GtkWindow) w = g_list_model_get_item (all, i);
      if (g_strcmp0 (gtk_window_get_title (w), title) == 0 && gtk_widget_get_visible (GTK_WIDGET (w)))
        return w;
    }
  return NULL;
}

static gboolean
help_closed (gpointer data)
{
  return find_window ("How to Read a KAN") == NULL;
}

START_TEST (test_escape_closes_help)
{
  GtkWindow *help;

  if (xdotool == NULL)
    return;
  g_action_group_activate_action (G_ACTION_GROUP (app), "help", NULL);
  kt_spin_for (0.3);
  help = find_window ("How to Read a KAN");
  ck_assert_ptr_nonnull (help);
  xdo (GTK_WIDGET (help), "windowfocus --sync %W key Escape");
  ck_assert_msg (kt_spin_until (help_closed, NULL, 5), "Escape did not close the help window");
}
END_TEST

/* Fit to window is the canvas's fit; faint edges can be hidden. */
START_TEST (test_zoom_fit_and_faint_edges)
{
  KanvasCanvas *canvas = kanvas_window_get_canvas (win);

  win_action ("zoom-in", NULL);
  win_action ("zoom-in", NULL);
  ck_assert (kanvas_canvas_get_zoom (canvas) > 1.5);
  win_action ("zoom-fit", NULL);
  ck_assert (kanvas_canvas_get_zoom (canvas) == 1);
  ck_assert (kanvas_canvas_get_hide_faint (canvas) == 0);
  win_action ("hide-faint", NULL);
  ck_assert (kanvas_canvas_get_hide_faint (canvas) > 0);
  win_action ("hide-faint", NULL);
  ck_assert (kanvas_canvas_get_hide_faint (canvas) == 0);
}
END_TEST

static int want_width;

/* The window has been laid out at about WANT_WIDTH (GTK takes its frame's few pixels off the
 * size asked for). */
static gboolean
has_width (gpointer data)
{
  int w = gtk_widget_get_width (GTK_WIDGET (win));
  return w <= want_width && w >= want_width - 16;
}

/* The fixture's window again, opened at W×H. */
static void
reopen (int w,
        int h)
{
  teardown ();
  win = kanvas_window_new (GTK_APPLICATION (app));
  g_object_add_weak_pointer (G_OBJECT (win), (gpointer *) &win);
  gtk_window_set_default_size (GTK_WINDOW (win), w, h);
  gtk_window_present (GTK_WINDOW (win));
  want_width = w;
  ck_assert_msg (kt_spin_until (has_width, NULL, 5), "the window is %d wide, not %d",
                 gtk_widget_get_width (GTK_WIDGET (win)), w);
  kt_spin_for (0.3);
}

/* At 800 px both side panels fold away and the canvas gets the window's width; their buttons
 * bring them back over it. At 1240 px, all three stand side by side. */
START_TEST (test_panels_fold_on_small_windows)
{
  GtkWidget *canvas;
  AdwFlap *panel, *pane;

  reopen (800, 600);
  canvas = GTK_WIDGET (kanvas_window_get_canvas (win));
  panel = widget ("panel_flap");
  pane = widget ("pane_flap");
  ck_assert (adw_flap_get_folded (panel) && adw_flap_get_folded (pane));
  ck_assert (!adw_flap_get_reveal_flap (panel) && !adw_flap_get_reveal_flap (pane));
  /* All of it but the canvas frame's border. */
  ck_assert_int_ge (gtk_widget_get_width (canvas), gtk_widget_get_width (GTK_WIDGET (win)) - 4);
  win_action ("show-data-panel", NULL);
  ck_assert (adw_flap_get_reveal_flap (panel));
  win_action ("show-data-panel", NULL);

  reopen (1240, 780);
  canvas = GTK_WIDGET (kanvas_window_get_canvas (win));
  panel = widget ("panel_flap");
  pane = widget ("pane_flap");
  ck_assert (!adw_flap_get_folded (panel) && !adw_flap_get_folded (pane));
  ck_assert (adw_flap_get_reveal_flap (panel) && adw_flap_get_reveal_flap (pane));
  ck_assert_int_ge (gtk_widget_get_width (canvas), 400);
}
END_TEST

/* The demo's run lasts long enough to watch (paced, the steps themselves as fast). */
START_TEST (test_demo_is_paced)
{
  gint64 t0 = g_get_monotonic_time ();

  train_and_wait ();
  ck_assert_int_eq (kanvas_window_get_session (win)->steps_done, 50);
  ck_assert_msg (g_get_monotonic_time () - t0 > 2 * G_USEC_PER_SEC, "the demo ran in %.2f s",
                 (g_get_monotonic_time () - t0) / 1e6);
}
END_TEST

static Suite *
window_suite (void)
{
  Suite *s = suite_create ("gui-window");
  TCase *tc = tcase_create ("window");

  tcase_add_checked_fixture (tc, setup, teardown);
  tcase_set_timeout (tc, 300);
  tcase_add_test (tc, test_settings_per_dataset);
  tcase_add_test (tc, test_new_data_is_untitled);
  tcase_add_test (tc, test_replacing_disabled_during_run);
  tcase_add_test (tc, test_discard_closes_cleanly);
  tcase_add_test (tc, test_curve_survives_save_open);
  tcase_add_test (tc, test_wheel_over_spin_button);
  tcase_add_test (tc, test_space_trains);
  tcase_add_test (tc, test_escape_closes_help);
  tcase_add_test (tc, test_zoom_fit_and_faint_edges);
  tcase_add_test (tc, test_panels_fold_on_small_windows);
  tcase_add_test (tc, test_demo_is_paced);
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
  if (!GDK_IS_X11_DISPLAY (gdk_display_get_default ()))
    {
      printf ("SKIP: the display is not X11; the window tests send keys with xdotool — run "
              "them under xvfb-run, as tools/run-tests.sh does\n");
      return KT_GUI_SKIP;
    }
  xdotool = g_find_program_in_path ("xdotool");
  if (xdotool == NULL)
    printf ("xdotool not found: the wheel, Space and Escape checks are left out\n");
  tmpdir = g_dir_make_tmp ("kanvas-gui-window-XXXXXX", &error);
  g_assert_no_error (error);
  app = kanvas_application_new (G_APPLICATION_NON_UNIQUE);
  if (!g_application_register (G_APPLICATION (app), NULL, &error))
    {
      printf ("cannot register the application: %s\n", error->message);
      return 1;
    }

  failed = kt_run_nofork (window_suite ());

  g_object_unref (app);
  /* The tests remove the files they write. */
  if (g_rmdir (tmpdir) != 0)
    {
      printf ("%s is left with files in it\n", tmpdir);
      failed++;
    }
  g_free (tmpdir);
  g_free (xdotool);
  return failed ? 1 : 0;
}
