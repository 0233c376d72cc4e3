/* test-gui-canvas.c — the network canvas alone, in process under Xvfb: Fit to window for
 * networks of any width, zoom and pan by API and by real input events (xdotool), and the
 * overview.
 *
 * Each case puts a canvas in a GtkScrolledWindow (as the workbench does) in a window of a given
 * size, fits, and checks that every node's centre is inside the canvas and hit-tests as that
 * node; then zooms in (an overview appears, parts of the network leave the view), pans, and
 * presses Ctrl+0 to come back to fit. Screenshots of each case go to the folder given as the
 * argument (Meson gives the build folder). Runs without forking (CK_FORK=no); without a display every test is skipped (77).
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <gsl/gsl_rng.h>
#include <gtk/gtk.h>

#include "kanvas-canvas.h"
#include "kan-snapshot.h"
#include "test-helpers.h"
#include "test-gui-helpers.h"

/* ck_assert marks a point on every success; loops use this instead. */
#define CHECK(cond, ...) \
  do { if (!(cond)) ck_abort_msg (__VA_ARGS__); } while (0)

static const char *const shapes[] = { "8,5,1", "4,8,8,1", "20,16,16,16,1" };
static const int sizes[][2] = { { 1280, 800 }, { 800, 600 } };

static GtkWidget *window;
static KanvasCanvas *canvas;
static char *xdotool;           /* NULL: input events are sent through the canvas's actions */
static char *title;
static const char *shot_dir = ".";  /* argv[1]: where screenshots go (Meson: the build folder) */

static gboolean
is_drawn (gpointer data)
{
  return kanvas_canvas_is_drawn (canvas);
}

static gboolean
has_size (gpointer data)
{
  const int *size = data;
  return gtk_widget_get_width (window) == size[0] && gtk_widget_get_height (window) == size[1]
         && gtk_widget_get_width (GTK_WIDGET (canvas)) > 0;
}

/* A snapshot of a fresh model of WIDTH with scores spread from faint to strong (set by hand:
 * the canvas is under test here, not the scores). */
static KanSnapshot *
snapshot_new (const char *width)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (KanModel) m = kt_model_new (width, NULL, 5, 3, KAN_BASE_SILU, 11);
  gsl_rng *r = gsl_rng_alloc (gsl_rng_mt19937);
  KanSnapshot *s = kan_snapshot_new (m, NULL, 0, NULL, NULL, &error);

  ck_assert_msg (s != NULL, "%s: %s", width, error ? error->message : "?");
  gsl_rng_set (r, 5);
  for (int e = 0; e < s->n_edges; e++)
    {
      double u = gsl_rng_uniform (r);
      s->edges[e].score = 0.7 * u * u;
    }
  gsl_rng_free (r);
  return s;
}

/* Shows SHAPE on a canvas in a scrolled window, in a window of SIZE. */
static void
open_canvas (const char *shape,
             const int  *size)
{
  GtkWidget *scrolled = gtk_scrolled_window_new ();

  window = gtk_window_new ();
  g_free (title);
  title = g_strdup_printf ("kanvas-canvas-test-%d-%s-%dx%d", (int) getpid (), shape, size[0],
                           size[1]);
  gtk_window_set_title (GTK_WINDOW (window), title);
  gtk_window_set_decorated (GTK_WINDOW (window), FALSE);
  gtk_window_set_default_size (GTK_WINDOW (window), size[0], size[1]);
  canvas = KANVAS_CANVAS (kanvas_canvas_new ());
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scrolled), GTK_WIDGET (canvas));
  gtk_window_set_child (GTK_WINDOW (window), scrolled);
  kanvas_canvas_set_snapshot (canvas, snapshot_new (shape));
  gtk_window_present (GTK_WINDOW (window));
  ck_assert_msg (kt_spin_until (has_size, (gpointer) size, 10), "window of %dx%d: got %dx%d",
                 size[0], size[1], gtk_widget_get_width (window), gtk_widget_get_height (window));
  gtk_widget_grab_focus (GTK_WIDGET (canvas));
  ck_assert (kt_spin_until (is_drawn, NULL, 20));
}

static void
close_canvas (void)
{
  gtk_window_destroy (GTK_WINDOW (window));
  window = NULL;
  canvas = NULL;
  kt_spin_for (0.05);
}

/* Writes the window as it shows now (on the X server, with ImageMagick's import) to
 * the screenshot folder as canvas-NAME.png; without import or xdotool, nothing. */
static void
screenshot (const char *name)
{
  const char *dir = shot_dir;
  g_autofree char *file = g_strdup_printf ("canvas-%s.png", name);
  g_autofree char *path = g_build_filename (dir, file, NULL);
  g_autofree char *import = g_find_program_in_path ("import");
  g_autofree char *cmd = NULL;
  g_autoptr (GError) error = NULL;
  int status;

  ck_assert (kt_spin_until (is_drawn, NULL, 20));
  /* The frame reaches the X server on the next main-loop turns. */
  kt_spin_for (0.15);
  if (import == NULL || xdotool == NULL)
    return;
  cmd = g_strdup_printf ("sh -c '\"%s\" -window \"$(\"%s\" search --name %s | head -n1)\" "
                         "\"%s\"'", import, xdotool, title, path);
  ck_assert_msg (g_spawn_command_line_sync (cmd, NULL, NULL, &status, &error), "%s",
                 error->message);
  ck_assert_msg (g_spawn_check_wait_status (status, &error), "%s: %s", cmd, error->message);
  ck_assert (g_file_test (path, G_FILE_TEST_EXISTS));
}

/* Every node's centre is inside the canvas (outside the overview) and hits that node, and every
 * edge box's centre hits its edge. */
static void
assert_all_hit (const char *what)
{
  const KanSnapshot *s = kanvas_canvas_get_snapshot (canvas);
  g_autoptr (KanLayout) lay = kanvas_canvas_get_layout (canvas);
  double w = gtk_widget_get_width (GTK_WIDGET (canvas));
  double h = gtk_widget_get_height (GTK_WIDGET (canvas));
  int l, i, j, n = 0, n_total = 0;

  for (int k = 0; k <= s->depth; k++)
    n_total += kan_shape_nodes (kan_model_shape (s->model), k);

  for (int k = 0; k <= s->depth; k++)
    for (int q = 0; q < s->n_nodes[k]; q++, n++)
      {
        double x, y;
        ck_assert (kanvas_canvas_get_node_centre (canvas, k, q, &x, &y));
        CHECK (x >= 0 && x < w && y >= 0 && y < h, "%s: node (%d,%d) at %.1f,%.1f outside %gx%g",
               what, k, q, x, y, w, h);
        CHECK (kanvas_canvas_hit (canvas, x, y, &l, &i, &j) && l == k && i == q && j == -1,
               "%s: node (%d,%d) hits (%d,%d,%d)", what, k, q, l, i, j);
      }
  for (int e = 0; e < s->n_edges; e++)
    {
      const KanSnapshotEdge *ed = &s->edges[e];
      KanRect r = kan_layout_edge_box (lay, ed->l, ed->i, ed->j);
      CHECK (kanvas_canvas_hit (canvas, r.x + 0.5 * r.w, r.y + 0.5 * r.h, &l, &i, &j)
             && l == ed->l && i == ed->i && j == ed->j,
             "%s: edge (%d,%d,%d) hits (%d,%d,%d)", what, ed->l, ed->i, ed->j, l, i, j);
    }
  ck_assert_int_eq (n, n_total);
}

/* Runs xdotool with ARGS (a NULL-terminated list) against the test's window; FALSE without
 * xdotool. */
static gboolean
xdo (const char *first,
     ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  const char *a;
  va_list ap;
  int status;

  if (xdotool == NULL)
    return FALSE;
  g_ptr_array_add (argv, g_strdup (xdotool));
  va_start (ap, first);
  for (a = first; a; a = va_arg (ap, const char *))
    g_ptr_array_add (argv, g_strdup (a));
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  ck_assert_msg (g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                               NULL, NULL, &status, &error), "xdotool: %s", error->message);
  ck_assert_msg (g_spawn_check_wait_status (status, &error), "xdotool: %s", error->message);
  return TRUE;
}

/* Moves the pointer to X,Y of the canvas (and the keyboard focus to its window). */
static void
xdo_pointer (double x,
             double y)
{
  graphene_point_t p;
  double sx, sy;
  g_autofree char *xs = NULL, *ys = NULL;

  ck_assert (gtk_widget_compute_point (GTK_WIDGET (canvas), window, &GRAPHENE_POINT_INIT (x, y),
                                       &p));
  gtk_native_get_surface_transform (GTK_NATIVE (window), &sx, &sy);
  xs = g_strdup_printf ("%d", (int) lround (p.x + sx));
  ys = g_strdup_printf ("%d", (int) lround (p.y + sy));
  xdo ("search", "--name", title, "windowfocus", "--sync", "%1", "mousemove", "--window", "%1",
       "--sync", xs, ys, NULL);
}

static double want_zoom;

static gboolean
zoom_is (gpointer data)
{
  return fabs (kanvas_canvas_get_zoom (canvas) - want_zoom) < 1e-9;
}

/* Presses Ctrl+KEY over the canvas and waits for the zoom to become ZOOM. */
static void
press_ctrl (const char *key,
            const char *action,
            double      zoom)
{
  g_autofree char *combo = g_strdup_printf ("ctrl+%s", key);

  want_zoom = zoom;
  if (!xdo ("key", combo, NULL))
    gtk_widget_activate_action (GTK_WIDGET (canvas), action, NULL);
  ck_assert_msg (kt_spin_until (zoom_is, NULL, 5), "%s: zoom %g, want %g", combo,
                 kanvas_canvas_get_zoom (canvas), zoom);
}

START_TEST (test_fit_zoom_pan)
{
  const char *shape = shapes[_i / G_N_ELEMENTS (sizes)];
  const int *size = sizes[_i % G_N_ELEMENTS (sizes)];
  g_autofree char *name = g_strdup_printf ("%s-%dx%d", shape, size[0], size[1]);
  g_autofree char *shot = NULL;
  GtkAdjustment *hadj, *vadj;
  double w, h, ox, oy, x0, y0, x1, y1;
  graphene_rect_t ov;
  int l, i, j, outside = 0;
  const KanSnapshot *s;

  for (char *c = name; *c; c++)
    if (*c == ',')
      *c = '-';
  open_canvas (shape, size);
  s = kanvas_canvas_get_snapshot (canvas);
  hadj = gtk_scrollable_get_hadjustment (GTK_SCROLLABLE (canvas));
  vadj = gtk_scrollable_get_vadjustment (GTK_SCROLLABLE (canvas));
  w = gtk_widget_get_width (GTK_WIDGET (canvas));
  h = gtk_widget_get_height (GTK_WIDGET (canvas));
  /* The canvas gets the window: the scrolled window does not make it larger. */
  ck_assert_msg (w >= size[0] - 20 && h >= size[1] - 20, "canvas %gx%g in %dx%d", w, h, size[0],
                 size[1]);

  /* Fit: the whole network in view, nothing to scroll, no overview. */
  kanvas_canvas_fit (canvas);
  ck_assert_double_eq (kanvas_canvas_get_zoom (canvas), 1.0);
  ck_assert_double_le (gtk_adjustment_get_upper (hadj), gtk_adjustment_get_page_size (hadj));
  ck_assert_double_le (gtk_adjustment_get_upper (vadj), gtk_adjustment_get_page_size (vadj));
  ck_assert (!kanvas_canvas_get_overview (canvas, NULL));
  assert_all_hit (name);
  shot = g_strdup_printf ("%s-fit", name);
  screenshot (shot);

  /* Zoom in three steps (Ctrl+plus) about the centre: part of the network leaves the view, the
   * overview appears, the scrollbars have room. */
  press_ctrl ("plus", "canvas.zoom-in", 1.25);
  press_ctrl ("plus", "canvas.zoom-in", 1.25 * 1.25);
  press_ctrl ("plus", "canvas.zoom-in", 1.25 * 1.25 * 1.25);
  ck_assert (kanvas_canvas_get_overview (canvas, &ov));
  ck_assert (ov.origin.x > 0.5 * w && ov.origin.y > 0.5 * h
             && ov.origin.x + ov.size.width <= w && ov.origin.y + ov.size.height <= h);
  ck_assert_double_gt (gtk_adjustment_get_upper (hadj), gtk_adjustment_get_page_size (hadj) + 1);
  ck_assert_double_gt (gtk_adjustment_get_upper (vadj), gtk_adjustment_get_page_size (vadj) + 1);
  kanvas_canvas_get_scroll (canvas, &ox, &oy);
  ck_assert_double_eq_tol (ox, gtk_adjustment_get_value (hadj), 1e-9);
  /* Zoomed about the centre: the centre of the picture is still in the middle. */
  ck_assert_double_eq_tol (ox + 0.5 * w, 0.5 * w * kanvas_canvas_get_zoom (canvas), 1e-6);
  for (int k = 0; k <= s->depth; k++)
    for (int q = 0; q < s->n_nodes[k]; q++)
      {
        double x, y;
        ck_assert (kanvas_canvas_get_node_centre (canvas, k, q, &x, &y));
        if (x < 0 || x >= w || y < 0 || y >= h)
          {
            outside++;
            CHECK (!kanvas_canvas_hit (canvas, x, y, &l, &i, &j),
                   "a node scrolled away still hits (%d,%d,%d)", l, i, j);
          }
      }
  ck_assert_int_gt (outside, 0);
  g_free (shot);
  shot = g_strdup_printf ("%s-zoomed", name);
  screenshot (shot);

  /* The scrollbars move the view: a node moves by what the adjustment moved. */
  ck_assert (kanvas_canvas_get_node_centre (canvas, 0, 0, &x0, &y0));
  gtk_adjustment_set_value (hadj, 0);
  gtk_adjustment_set_value (vadj, gtk_adjustment_get_upper (vadj));
  ck_assert (kanvas_canvas_get_node_centre (canvas, 0, 0, &x1, &y1));
  ck_assert_double_eq_tol (x1 - x0, ox, 1e-6);
  ck_assert_double_eq_tol (y0 - y1, gtk_adjustment_get_value (vadj) - oy, 1e-6);
  /* … now the first input is in view (bottom left) and hits. */
  ck_assert (kanvas_canvas_hit (canvas, x1, y1, &l, &i, &j) && l == 0 && i == 0 && j == -1);

  if (xdotool)
    {
      double zx, zy, z0 = kanvas_canvas_get_zoom (canvas), dx, dy, px, py;

      /* Ctrl+wheel zooms about the pointer: the node under it stays under it. */
      ck_assert (kanvas_canvas_get_node_centre (canvas, 0, 0, &zx, &zy));
      xdo_pointer (zx, zy);
      want_zoom = z0 * 1.25;
      xdo ("keydown", "ctrl", "click", "4", "keyup", "ctrl", NULL);
      ck_assert_msg (kt_spin_until (zoom_is, NULL, 5), "Ctrl+wheel: zoom %g, want %g",
                     kanvas_canvas_get_zoom (canvas), want_zoom);
      ck_assert (kanvas_canvas_get_node_centre (canvas, 0, 0, &px, &py));
      ck_assert_msg (fabs (px - zx) < 1.0 && fabs (py - zy) < 1.0,
                     "node under the pointer moved from %g,%g to %g,%g", zx, zy, px, py);

      /* A drag on empty space pans by the drag. */
      kanvas_canvas_scroll_to (canvas, 0.5 * (gtk_adjustment_get_upper (hadj) - w),
                               0.5 * (gtk_adjustment_get_upper (vadj) - h));
      kanvas_canvas_get_scroll (canvas, &ox, &oy);
      /* Empty space: a point of the middle of the view that hits nothing. */
      {
        gboolean found = FALSE;
        for (py = 0.3 * h; py < 0.7 * h && !found; py += 3)
          for (px = 0.3 * w; px < 0.6 * w && !found; px += 3)
            found = !kanvas_canvas_hit (canvas, px, py, &l, &i, &j);
        ck_assert (found);
        px -= 3;   /* the loops stepped once more before they stopped */
        py -= 3;
        ck_assert (!kanvas_canvas_hit (canvas, px, py, &l, &i, &j));
      }
      dx = -0.2 * w;
      dy = 0.1 * h;
      xdo_pointer (px, py);
      xdo ("mousedown", "1", NULL);
      for (int step = 1; step <= 4; step++)
        {
          xdo_pointer (px + step * dx / 4, py + step * dy / 4);
          kt_spin_for (0.02);
        }
      xdo ("mouseup", "1", NULL);
      kt_spin_for (0.1);
      {
        double nx, ny;
        kanvas_canvas_get_scroll (canvas, &nx, &ny);
        ck_assert_msg (fabs ((nx - ox) + dx) < 2 && fabs ((ny - oy) + dy) < 2,
                       "drag by %g,%g moved the view by %g,%g", dx, dy, nx - ox, ny - oy);
        ox = nx;
        oy = ny;
      }
      /* Shift+Right pans a tenth of the view. */
      xdo ("key", "shift+Right", NULL);
      kt_spin_for (0.1);
      {
        double nx, ny;
        kanvas_canvas_get_scroll (canvas, &nx, &ny);
        ck_assert_double_eq_tol (nx - ox, 0.1 * w, 1e-6);
        ck_assert_double_eq_tol (ny, oy, 1e-9);
        ox = nx;
      }
      /* A plain wheel scrolls (the scrolled window moves the adjustments), it does not zoom. */
      xdo_pointer (px, py);
      xdo ("click", "5", NULL);
      kt_spin_for (0.2);
      {
        double nx, ny;
        kanvas_canvas_get_scroll (canvas, &nx, &ny);
        ck_assert_msg (ny > oy + 1, "wheel down: view from y %g to %g", oy, ny);
        ck_assert_double_eq_tol (nx, ox, 1e-9);
        ck_assert_double_eq_tol (kanvas_canvas_get_zoom (canvas), z0 * 1.25, 1e-9);
      }
    }

  /* Ctrl+0: back to fit, everything in view and hit-testable again. */
  press_ctrl ("0", "canvas.zoom-fit", 1.0);
  kanvas_canvas_get_scroll (canvas, &ox, &oy);
  ck_assert_double_eq (ox, 0);
  ck_assert_double_eq (oy, 0);
  ck_assert (!kanvas_canvas_get_overview (canvas, NULL));
  assert_all_hit (name);
  /* Zooming out at fit stays at fit. */
  press_ctrl ("minus", "canvas.zoom-out", 1.0);
  close_canvas ();
}
END_TEST

/* Resizing at a zoom keeps the zoom and the part in view; a network of another shape starts at
 * fit. */
START_TEST (test_resize_and_reshape)
{
  static const int size[2] = { 1000, 700 };
  static const int smaller[2] = { 700, 500 };
  double w, ox, oy, fx;

  open_canvas ("4,8,8,1", size);
  kanvas_canvas_set_zoom (canvas, 3);
  kanvas_canvas_scroll_to (canvas, 900, 500);
  kanvas_canvas_get_scroll (canvas, &ox, &oy);
  w = gtk_widget_get_width (GTK_WIDGET (canvas));
  fx = ox / (w * 3);
  gtk_window_set_default_size (GTK_WINDOW (window), smaller[0], smaller[1]);
  ck_assert (kt_spin_until (has_size, (gpointer) smaller, 10));
  ck_assert_double_eq (kanvas_canvas_get_zoom (canvas), 3);
  w = gtk_widget_get_width (GTK_WIDGET (canvas));
  kanvas_canvas_get_scroll (canvas, &ox, &oy);
  ck_assert_double_eq_tol (ox / (w * 3), fx, 1e-6);

  kanvas_canvas_set_snapshot (canvas, snapshot_new ("8,5,1"));
  ck_assert_double_eq (kanvas_canvas_get_zoom (canvas), 1);
  kanvas_canvas_get_scroll (canvas, &ox, &oy);
  ck_assert_double_eq (ox, 0);
  ck_assert_double_eq (oy, 0);
  ck_assert (kt_spin_until (is_drawn, NULL, 20));
  assert_all_hit ("8,5,1 after 4,8,8,1");

  /* Hiding faint edges is a property of its own, kept across snapshots, within [0, 1]. */
  kanvas_canvas_set_hide_faint (canvas, 0.3);
  ck_assert_double_eq (kanvas_canvas_get_hide_faint (canvas), 0.3);
  ck_assert_double_eq (kanvas_canvas_get_style (canvas)->hide_below, 0.3);
  kanvas_canvas_set_hide_faint (canvas, 7);
  ck_assert_double_eq (kanvas_canvas_get_hide_faint (canvas), 1);
  kanvas_canvas_set_dark (canvas, TRUE);
  ck_assert_double_eq (kanvas_canvas_get_style (canvas)->hide_below, 1);
  kanvas_canvas_set_hide_faint (canvas, 0.5);
  ck_assert (kt_spin_until (is_drawn, NULL, 20));
  screenshot ("8-5-1-hide-faint-dark");
  close_canvas ();
}
END_TEST

static Suite *
canvas_suite (void)
{
  Suite *s = suite_create ("gui-canvas");
  TCase *tc = tcase_create ("canvas");

  tcase_set_timeout (tc, 300);
  tcase_add_loop_test (tc, test_fit_zoom_pan, 0, G_N_ELEMENTS (shapes) * G_N_ELEMENTS (sizes));
  tcase_add_test (tc, test_resize_and_reshape);
  suite_add_tcase (s, tc);
  return s;
}

int
main (int   argc,
      char *argv[])
{
  int status;

  if (!kt_gui_init (argc, argv, &shot_dir))
    return KT_GUI_SKIP;
  xdotool = g_find_program_in_path ("xdotool");
  if (xdotool == NULL)
    printf ("xdotool not found: keys go through the canvas's actions, and the wheel and drag "
            "checks are left out\n");

  status = kt_run_nofork (canvas_suite ());
  g_free (xdotool);
  g_free (title);
  return status;
}
