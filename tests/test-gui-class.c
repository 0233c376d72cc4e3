/* test-gui-class.c — classification and input importance in the workbench's right-hand pane,
 * in process under Xvfb: the Inputs page ranks the inputs of an 8-input data set where two
 * matter (those two first), its Prune Inputs button leads to a model and data with only those
 * two (kan_ops_prune_inputs, as the window does it); for two moons it shows the train/test
 * accuracy and the decision regions, and the loss view plots the accuracy; a session trained on
 * a CSV file with text labels (tests/data/species.csv) opens in the window with the class names
 * on the output nodes and in the decision regions' legend. Screenshots go to the folder given
 * as the argument. Runs without forking (CK_FORK=no); without a display every test
 * is skipped (77).
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <gtk/gtk.h>
#include <glib/gstdio.h>
#include <adwaita.h>

#include "kanvas-application.h"
#include "kanvas-canvas.h"
#include "kanvas-window.h"
#include "kanvas-session-pane.h"
#include "kanvas-loss-view.h"
#include "kanvas-examples.h"
#include "test-helpers.h"
#include "test-gui-helpers.h"

static const char *shot_dir = ".";

/* A session of DATA (taken) and a new model of WIDTH trained STEPS L-BFGS steps with LAMB. */
static KanSession *
trained_session (KanDataset *data,
                 const char *width,
                 KanLoss     loss,
                 int         steps,
                 double      lamb)
{
  g_autoptr (GError) error = NULL;
  KanSession *s = kan_session_new ();
  KanTrainer *t;
  KanStepInfo info;

  s->data = data;
  s->model = kt_model_new (width, NULL, 5, 3, KAN_BASE_SILU, 1);
  kan_train_config_init (&s->train);
  s->train.loss = loss;
  s->train.lamb = lamb;
  s->train.steps = steps;
  t = kan_trainer_new (s->model, s->data, &s->train, &error);
  ck_assert_msg (t != NULL, "trainer: %s", error ? error->message : "?");
  for (int k = 0; k < steps; k++)
    ck_assert_msg (kan_trainer_step (t, NULL, &info, &error), "step %d: %s", k,
                   error ? error->message : "?");
  kan_trainer_free (t);
  kan_ops_record (s, "fit", "test");
  return s;
}

/* sin(pi*x3) + x6^2 over eight inputs x1 … x8: only x3 and x6 matter. */
static KanSession *
eight_inputs_session (void)
{
  static const char *const vars[] = { "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", NULL };
  g_autoptr (GError) error = NULL;
  KanFormulaSpec spec;
  KanDataset *d;

  kan_formula_spec_init (&spec);
  spec.formula = "sin(pi*x3)+x6^2";
  spec.vars = vars;
  spec.n_train = 300;
  spec.n_test = 100;
  d = kan_dataset_from_formula (&spec, &error);
  ck_assert_msg (d != NULL, "%s", error ? error->message : "?");
  ck_assert_int_eq (d->n_in, 8);
  return trained_session (d, "8,3,1", KAN_LOSS_MSE, 30, 0.01);
}

static GtkWidget *
show_pane (KanvasSessionPane **pane_out,
           int                 width,
           int                 height)
{
  GtkWidget *win = gtk_window_new ();
  GtkWidget *pane = g_object_new (KANVAS_TYPE_SESSION_PANE, NULL);

  gtk_window_set_default_size (GTK_WINDOW (win), width, height);
  gtk_window_set_child (GTK_WINDOW (win), pane);
  gtk_window_present (GTK_WINDOW (win));
  *pane_out = KANVAS_SESSION_PANE (pane);
  return win;
}

static void
shot (GtkWidget  *widget,
      const char *name)
{
  GdkPaintable *p = gtk_widget_paintable_new (widget);
  int w = gtk_widget_get_width (widget), h = gtk_widget_get_height (widget);
  GtkSnapshot *snap = gtk_snapshot_new ();
  g_autoptr (GskRenderNode) node = NULL;
  g_autofree char *path = g_build_filename (shot_dir, name, NULL);
  GskRenderer *r = gtk_native_get_renderer (gtk_widget_get_native (widget));
  g_autoptr (GdkTexture) tex = NULL;

  gdk_paintable_snapshot (p, snap, w, h);
  node = gtk_snapshot_free_to_node (snap);
  if (node != NULL && r != NULL)
    {
      tex = gsk_renderer_render_texture (r, node, &GRAPHENE_RECT_INIT (0, 0, w, h));
      gdk_texture_save_to_png (tex, path);
      printf ("screenshot: %s\n", path);
    }
  g_object_unref (p);
}

static double prune_threshold = -1;

static void
on_prune_inputs (KanvasSessionPane *pane,
                 double             threshold,
                 gpointer           data)
{
  prune_threshold = threshold;
}

START_TEST (test_input_ranking_and_prune)
{
  g_autoptr (KanSession) s = eight_inputs_session ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) rank = NULL;
  KanvasSessionPane *pane;
  GtkWidget *win = show_pane (&pane, 420, 760);
  KanvasInputsPage *page = kanvas_session_pane_get_inputs_page (pane);
  g_auto (GStrv) names = NULL;
  int removed;

  /* Core: the two inputs that matter rank first, far above the others. */
  rank = kan_ops_input_ranking (s, &error);
  ck_assert_ptr_nonnull (rank);
  ck_assert_int_eq (rank->len, 8);
  {
    int a = g_array_index (rank, KanOpsInputRank, 0).input;
    int b = g_array_index (rank, KanOpsInputRank, 1).input;
    ck_assert_msg ((a == 2 && b == 5) || (a == 5 && b == 2), "top two are x%d, x%d", a + 1,
                   b + 1);
    ck_assert_msg (g_array_index (rank, KanOpsInputRank, 2).score
                   < 0.1 * g_array_index (rank, KanOpsInputRank, 1).score,
                   "the third input scores %g, the second %g",
                   g_array_index (rank, KanOpsInputRank, 2).score,
                   g_array_index (rank, KanOpsInputRank, 1).score);
  }

  /* GUI: the page shows the same order. */
  kanvas_session_pane_set_session (pane, s, 0);
  ck_assert (kanvas_session_pane_show_panel (pane, "inputs"));
  kt_spin_for (0.3);
  names = kanvas_inputs_page_get_ranking (page);
  ck_assert_int_eq (g_strv_length (names), 8);
  ck_assert_msg ((g_str_equal (names[0], "x3") && g_str_equal (names[1], "x6"))
                 || (g_str_equal (names[0], "x6") && g_str_equal (names[1], "x3")),
                 "shown first: %s, %s", names[0], names[1]);
  ck_assert (!kanvas_inputs_page_has_regions (page));
  shot (win, "inputs.png");

  /* The button asks the window with the threshold shown; the window calls kan_ops_prune_inputs. */
  g_signal_connect (pane, "prune-inputs-requested", G_CALLBACK (on_prune_inputs), NULL);
  kanvas_session_pane_set_enabled (pane, "prune-inputs", TRUE);
  {
    GtkWidget *button = NULL;
    for (GtkWidget *c = gtk_widget_get_last_child (GTK_WIDGET (page)); c && !button;
         c = gtk_widget_get_prev_sibling (c))
      for (GtkWidget *cc = gtk_widget_get_first_child (c); cc; cc = gtk_widget_get_next_sibling (cc))
        if (GTK_IS_BUTTON (cc) && !GTK_IS_SPIN_BUTTON (cc))
          button = cc;
    ck_assert_ptr_nonnull (button);
    g_signal_emit_by_name (button, "clicked");
  }
  ck_assert_msg (fabs (prune_threshold - KAN_PRUNE_INPUT_THRESHOLD) < 1e-12, "threshold %g",
                 prune_threshold);
  removed = kan_ops_prune_inputs (s, prune_threshold, &error);
  ck_assert_msg (removed == 6, "removed %d: %s", removed, error ? error->message : "");
  ck_assert_int_eq (kan_model_n_in (s->model), 2);
  ck_assert_int_eq (s->data->n_in, 2);
  ck_assert_str_eq (s->data->in_names[0], "x3");
  ck_assert_str_eq (s->data->in_names[1], "x6");
  ck_assert_str_eq (((KanHistoryEntry *) g_ptr_array_index (s->history, s->history->len - 1))->op,
                    "prune-inputs");
  /* The data's columns are the kept ones: the model still computes the formula's shape. */
  {
    double tr, te;
    kan_ops_metrics (s->model, s->data, s->train.loss, &tr, &te);
    ck_assert_msg (tr < 0.5, "train RMSE after pruning inputs %g", tr);
  }
  kanvas_session_pane_set_session (pane, s, 1);
  kt_spin_for (0.2);
  g_strfreev (names);
  names = kanvas_inputs_page_get_ranking (page);
  ck_assert_int_eq (g_strv_length (names), 2);
  gtk_window_destroy (GTK_WINDOW (win));
}
END_TEST

START_TEST (test_two_moons_accuracy)
{
  g_autoptr (KanSession) s = trained_session (kanvas_two_moons (400, 200, 0.1, 0), "2,5,2",
                                              KAN_LOSS_CE, 30, 0);
  KanvasSessionPane *pane;
  GtkWidget *win = show_pane (&pane, 420, 760);
  KanvasInputsPage *page = kanvas_session_pane_get_inputs_page (pane);
  double tr, te, shown_tr, shown_te;
  const char *text;
  g_autofree char *want = NULL;
  GtkWidget *lwin, *loss;
  double acc_tr[3], acc_te[3], hist[3] = { 0.6, 0.4, 0.3 };

  kan_ops_accuracy (s->model, s->data, s->train.loss, &tr, &te);
  ck_assert_msg (tr > 0.9 && te > 0.85, "two moons: accuracy %g / %g", tr, te);
  kanvas_session_pane_set_session (pane, s, 0);
  ck_assert (kanvas_session_pane_show_panel (pane, "inputs"));
  kt_spin_for (0.3);
  text = kanvas_inputs_page_get_accuracy_text (page);
  want = g_strdup_printf ("Accuracy: train %.1f %% · test %.1f %%", 100 * tr, 100 * te);
  ck_assert_str_eq (text, want);
  ck_assert (kanvas_inputs_page_has_regions (page));
  shot (win, "classification.png");
  gtk_window_destroy (GTK_WINDOW (win));

  /* The loss view: cross-entropy beside the accuracy, the latest accuracy as given. */
  lwin = gtk_window_new ();
  loss = kanvas_loss_view_new ();
  gtk_window_set_default_size (GTK_WINDOW (lwin), 800, 200);
  gtk_window_set_child (GTK_WINDOW (lwin), loss);
  gtk_window_present (GTK_WINDOW (lwin));
  acc_tr[0] = 0.5; acc_tr[1] = NAN; acc_tr[2] = tr;
  acc_te[0] = 0.5; acc_te[1] = NAN; acc_te[2] = te;
  kanvas_loss_view_set_history (KANVAS_LOSS_VIEW (loss), hist, hist, 3);
  ck_assert (!kanvas_loss_view_get_accuracy (KANVAS_LOSS_VIEW (loss), &shown_tr, &shown_te));
  kanvas_loss_view_set_accuracy (KANVAS_LOSS_VIEW (loss), acc_tr, acc_te, 3);
  ck_assert (kanvas_loss_view_get_accuracy (KANVAS_LOSS_VIEW (loss), &shown_tr, &shown_te));
  ck_assert (shown_tr == tr && shown_te == te);
  kt_spin_for (0.3);
  shot (lwin, "classification-loss.png");
  gtk_window_destroy (GTK_WINDOW (lwin));
}
END_TEST

/* The window on a session of text labels: the output nodes and the regions' legend are named by
 * the CSV's classes (sorted: setosa, versicolor, virginica), not "species = 0" or "y2". */
START_TEST (test_text_labels_window)
{
  g_autoptr (GError) error = NULL;
  const char *dir = g_getenv ("KANVAS_TEST_DATA");
  g_autofree char *csv = g_build_filename (dir ? dir : "tests/data", "species.csv", NULL);
  g_autofree char *tmp = g_dir_make_tmp ("kanvas-gui-class-XXXXXX", &error);
  g_autofree char *path = g_build_filename (tmp, "species.kanvas", NULL);
  static const char *const want[] = { "setosa", "versicolor", "virginica", NULL };
  KanDataset *d = kan_dataset_from_csv (csv, "species", 0.2, 1, &error);
  g_autoptr (KanSession) s = NULL;
  g_autoptr (KanvasApplication) app = NULL;
  const KanSnapshot *snap;
  KanvasWindow *win;
  KanvasInputsPage *page;
  g_auto (GStrv) legend = NULL;
  double tr, te;

  ck_assert_msg (d != NULL, "%s", error ? error->message : "?");
  ck_assert (g_strv_equal ((const char *const *) d->class_names, want));
  s = trained_session (d, "2,4,3", KAN_LOSS_CE, 30, 0);
  kan_ops_accuracy (s->model, s->data, s->train.loss, &tr, &te);
  ck_assert_msg (tr > 0.9, "species: train accuracy %g", tr);
  ck_assert_msg (kan_session_save (s, path, &error), "%s", error->message);

  app = kanvas_application_new (G_APPLICATION_NON_UNIQUE);
  ck_assert_msg (g_application_register (G_APPLICATION (app), NULL, &error), "%s",
                 error ? error->message : "?");
  win = kanvas_window_new (GTK_APPLICATION (app));
  gtk_window_set_default_size (GTK_WINDOW (win), 1280, 800);
  gtk_window_present (GTK_WINDOW (win));
  kt_spin_for (0.3);
  ck_assert_msg (kanvas_window_open_path (win, path, &error), "%s", error ? error->message : "");
  kt_spin_for (0.3);

  /* The output nodes of the network. */
  snap = kanvas_canvas_get_snapshot (kanvas_window_get_canvas (win));
  ck_assert_ptr_nonnull (snap);
  ck_assert (g_strv_equal ((const char *const *) snap->out_names, want));
  /* The legend of the decision regions names the same classes. */
  legend = kan_class_names (kanvas_window_get_session (win)->data, 3);
  ck_assert (g_strv_equal ((const char *const *) legend, want));
  page = kanvas_session_pane_get_inputs_page (kanvas_window_get_session_pane (win));
  ck_assert (kanvas_session_pane_show_panel (kanvas_window_get_session_pane (win), "inputs"));
  kt_spin_for (0.5);
  ck_assert (kanvas_inputs_page_has_regions (page));
  shot (GTK_WIDGET (win), "text-labels.png");

  kanvas_window_close_discard (win);
  kt_spin_for (0.1);
  g_unlink (path);
  g_rmdir (tmp);
}
END_TEST

static Suite *
class_suite (void)
{
  Suite *s = suite_create ("gui-class");
  TCase *tc = tcase_create ("pane");

  tcase_set_timeout (tc, 300);
  tcase_add_test (tc, test_input_ranking_and_prune);
  tcase_add_test (tc, test_two_moons_accuracy);
  tcase_add_test (tc, test_text_labels_window);
  suite_add_tcase (s, tc);
  return s;
}

int
main (int   argc,
      char *argv[])
{
  if (!kt_gui_init (argc, argv, &shot_dir))
    return KT_GUI_SKIP;
  adw_init ();
  return kt_run_nofork (class_suite ());
}
