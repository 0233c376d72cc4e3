/* test-render.c — snapshots, the network layout and hit-testing, and the Cairo pictures.
 *
 * Pictures are checked by their pixels: each edge box is measured against the background, so
 * the tests see what a user sees (fading by score, colours by mode, nothing for pruned edges).
 */
#include <check.h>
#include <math.h>
#include <string.h>
#include <stdlib.h>
#include <stdio.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_rng.h>
#include <sys/stat.h>
#include <glib/gstdio.h>
#include <gio/gio.h>

#include "kan.h"
#include "kan-snapshot.h"
#include "kan-render.h"

/* ck_assert marks a point on every success; inner loops use this instead. */
#define CHECK(cond, ...) \
  do { if (!(cond)) ck_abort_msg (__VA_ARGS__); } while (0)

/* ------------------------------------------------------------------------------------------ */
/* Helpers                                                                                     */

static KanModel *
model_new (const char *width, guint64 seed)
{
  GError *error = NULL;
  KanShape *s = kan_shape_parse (width, NULL, &error);
  KanModelConfig cfg;
  KanModel *m;

  ck_assert_msg (s != NULL, "parse %s: %s", width, error ? error->message : "?");
  kan_model_config_init (&cfg);
  cfg.shape = s;
  cfg.grid = 5;
  cfg.seed = seed;
  m = kan_model_new (&cfg, &error);
  ck_assert_msg (m != NULL, "new %s: %s", width, error ? error->message : "?");
  kan_shape_free (s);
  return m;
}

/* N rows of N_IN uniform inputs on [-1.3, 0.9] (an off-centre, high-entropy range). */
static double *
rows_new (int n_in, size_t n, guint64 seed)
{
  gsl_rng *r = gsl_rng_alloc (gsl_rng_mt19937);
  double *x = g_new (double, n * n_in);

  gsl_rng_set (r, seed);
  for (size_t q = 0; q < n * n_in; q++)
    x[q] = -1.3 + 2.2 * gsl_rng_uniform (r);
  gsl_rng_free (r);
  return x;
}

static KanSnapshot *
snapshot_plain (const char *width)
{
  g_autoptr (KanModel) m = model_new (width, 7);
  GError *error = NULL;
  KanSnapshot *s = kan_snapshot_new (m, NULL, 0, NULL, NULL, &error);
  ck_assert_msg (s != NULL, "snapshot %s: %s", width, error ? error->message : "?");
  return s;
}

typedef struct
{
  double r, g, b, a;
} Px;

static Px
pixel (cairo_surface_t *surf, int x, int y)
{
  unsigned char *data = cairo_image_surface_get_data (surf);
  int stride = cairo_image_surface_get_stride (surf);
  guint32 v = *(guint32 *) (data + (size_t) y * stride + 4 * x);
  Px p;

  /* Premultiplied ARGB32 in native byte order; the test surfaces are opaque. */
  p.a = ((v >> 24) & 0xff) / 255.0;
  p.r = ((v >> 16) & 0xff) / 255.0;
  p.g = ((v >> 8) & 0xff) / 255.0;
  p.b = (v & 0xff) / 255.0;
  return p;
}

/* Statistics of the pixels inside R (inset by one pixel) against background BG. */
typedef struct
{
  int    n, n_ink;          /* pixels, pixels differing from bg by more than 3/255 */
  double mean_diff;         /* mean |pixel − bg| over channels and pixels */
  double max_diff;
  double ink_r, ink_g, ink_b; /* mean colour of the ink pixels */
} BoxStats;

static BoxStats
box_stats (cairo_surface_t *surf, KanRect r, const double bg[3])
{
  BoxStats st = { 0 };
  int x0 = (int) ceil (r.x) + 1, x1 = (int) floor (r.x + r.w) - 1;
  int y0 = (int) ceil (r.y) + 1, y1 = (int) floor (r.y + r.h) - 1;

  cairo_surface_flush (surf);
  for (int y = y0; y <= y1; y++)
    for (int x = x0; x <= x1; x++)
      {
        Px p = pixel (surf, x, y);
        double d = (fabs (p.r - bg[0]) + fabs (p.g - bg[1]) + fabs (p.b - bg[2])) / 3;
        double dm = MAX (MAX (fabs (p.r - bg[0]), fabs (p.g - bg[1])), fabs (p.b - bg[2]));
        st.n++;
        st.mean_diff += d;
        st.max_diff = MAX (st.max_diff, dm);
        if (dm > 3.0 / 255)
          {
            st.n_ink++;
            st.ink_r += p.r;
            st.ink_g += p.g;
            st.ink_b += p.b;
          }
      }
  if (st.n > 0)
    st.mean_diff /= st.n;
  if (st.n_ink > 0)
    {
      st.ink_r /= st.n_ink;
      st.ink_g /= st.n_ink;
      st.ink_b /= st.n_ink;
    }
  return st;
}

static cairo_surface_t *
render (const KanSnapshot *s, const KanRenderStyle *st, int w, int h)
{
  cairo_surface_t *surf = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, w, h);
  cairo_t *cr = cairo_create (surf);
  kan_render_network (cr, s, st, w, h);
  ck_assert_int_eq (cairo_status (cr), CAIRO_STATUS_SUCCESS);
  cairo_destroy (cr);
  cairo_surface_flush (surf);
  return surf;
}

/* Renders S at W × H and measures boxes B0 and B1. */
static void
render_boxes (const KanSnapshot *s, const KanRenderStyle *st, int w, int h, KanRect b0,
              KanRect b1, BoxStats *s0, BoxStats *s1)
{
  cairo_surface_t *surf = render (s, st, w, h);

  *s0 = box_stats (surf, b0, st->bg);
  *s1 = box_stats (surf, b1, st->bg);
  cairo_surface_destroy (surf);
}

static gboolean
rects_overlap (KanRect a, KanRect b)
{
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

/* ------------------------------------------------------------------------------------------ */
/* Layout and hit-testing                                                                      */

static const char *const shapes[] = { "1,1", "2,1", "2,5,1", "3,[2,2],2", "4,8,8,1",
                                      "10,10,10,1", "1,12,1" };
static const double sizes[][2] = { { 1200, 900 }, { 400, 300 }, { 1800, 1100 }, { 640, 1000 } };

START_TEST (test_hit_every_edge)
{
  g_autoptr (KanSnapshot) s = snapshot_plain (shapes[_i]);

  for (unsigned z = 0; z < G_N_ELEMENTS (sizes); z++)
    {
      double W = sizes[z][0], H = sizes[z][1];
      g_autoptr (KanLayout) lay = kan_layout_new (s, W, H);
      int l, i, j, n_hit = 0;

      for (int q = 0; q < s->n_edges; q++)
        {
          const KanSnapshotEdge *e = &s->edges[q];
          KanRect r = kan_layout_edge_box (lay, e->l, e->i, e->j);
          CHECK (r.w > 0 && r.h > 0, "%s: empty box for (%d,%d,%d)", shapes[_i], e->l, e->i,
                 e->j);
          CHECK (kan_layout_hit (lay, r.x + 0.5 * r.w, r.y + 0.5 * r.h, &l, &i, &j),
                 "%s %gx%g: centre of (%d,%d,%d) hits nothing", shapes[_i], W, H, e->l, e->i,
                 e->j);
          CHECK (l == e->l && i == e->i && j == e->j,
                 "%s %gx%g: centre of (%d,%d,%d) hits (%d,%d,%d)", shapes[_i], W, H, e->l, e->i,
                 e->j, l, i, j);
          /* Just inside the corners too. */
          CHECK (kan_layout_hit (lay, r.x + 0.05 * r.w, r.y + 0.95 * r.h, &l, &i, &j)
                 && l == e->l && i == e->i && j == e->j,
                 "%s: corner of (%d,%d,%d)", shapes[_i], e->l, e->i, e->j);
          n_hit++;
        }
      ck_assert_int_eq (n_hit, s->n_edges);

      for (int k = 0; k <= s->depth; k++)
        for (int q = 0; q < s->n_nodes[k]; q++)
          {
            KanRect r = kan_layout_node_box (lay, k, q);
            CHECK (r.w > 0, "%s: empty node box (%d,%d)", shapes[_i], k, q);
            CHECK (kan_layout_hit (lay, r.x + 0.5 * r.w, r.y + 0.5 * r.h, &l, &i, &j)
                   && l == k && i == q && j == -1,
                   "%s %gx%g: node (%d,%d) hits (%d,%d,%d)", shapes[_i], W, H, k, q, l, i, j);
          }

      {
        const double corners[][2] = { { 1, 1 }, { W - 2, 1 }, { 1, H - 2 }, { W - 2, H - 2 } };
        for (unsigned c = 0; c < G_N_ELEMENTS (corners); c++)
          {
            l = i = j = 7;
            CHECK (!kan_layout_hit (lay, corners[c][0], corners[c][1], &l, &i, &j),
                   "%s: corner %u hits (%d,%d,%d)", shapes[_i], c, l, i, j);
            CHECK (l == -1 && i == -1 && j == -1, "%s: a miss sets -1", shapes[_i]);
          }
      }
      /* Out-of-range queries are empty, not crashes. */
      ck_assert (kan_layout_edge_box (lay, s->depth, 0, 0).w == 0);
      ck_assert (kan_layout_edge_box (lay, 0, -1, 0).w == 0);
      ck_assert (kan_layout_node_box (lay, s->depth + 1, 0).w == 0);
      ck_assert (kan_layout_font_size (lay) > 0);
    }
}
END_TEST

START_TEST (test_layout_no_overlap)
{
  g_autoptr (KanSnapshot) s = snapshot_plain (shapes[_i]);

  for (unsigned z = 0; z < G_N_ELEMENTS (sizes); z++)
    {
      double W = sizes[z][0], H = sizes[z][1];
      g_autoptr (KanLayout) lay = kan_layout_new (s, W, H);
      g_autofree KanRect *boxes = g_new (KanRect, s->n_edges);

      for (int q = 0; q < s->n_edges; q++)
        {
          const KanSnapshotEdge *e = &s->edges[q];
          boxes[q] = kan_layout_edge_box (lay, e->l, e->i, e->j);
          CHECK (boxes[q].x >= 0 && boxes[q].y >= 0 && boxes[q].x + boxes[q].w <= W
                 && boxes[q].y + boxes[q].h <= H,
                 "%s %gx%g: box (%d,%d,%d) leaves the canvas", shapes[_i], W, H, e->l, e->i,
                 e->j);
        }
      for (int a = 0; a < s->n_edges; a++)
        for (int b = a + 1; b < s->n_edges; b++)
          CHECK (!rects_overlap (boxes[a], boxes[b]), "%s %gx%g: boxes %d and %d overlap",
                 shapes[_i], W, H, a, b);
      /* Nodes sit clear of every box, and inside the canvas. */
      for (int k = 0; k <= s->depth; k++)
        for (int q = 0; q < s->n_nodes[k]; q++)
          {
            KanRect r = kan_layout_node_box (lay, k, q);
            CHECK (r.x >= 0 && r.y >= 0 && r.x + r.w <= W && r.y + r.h <= H,
                   "%s: node (%d,%d) off canvas", shapes[_i], k, q);
            for (int a = 0; a < s->n_edges; a++)
              CHECK (!rects_overlap (r, boxes[a]), "%s: node (%d,%d) overlaps box %d",
                     shapes[_i], k, q, a);
          }
    }
}
END_TEST

/* Pykan's order: within a row of boxes, edge (i→j) of a layer sits in slot i·n_out + j. */
START_TEST (test_layout_slot_order)
{
  g_autoptr (KanSnapshot) s = snapshot_plain ("3,4,2");
  g_autoptr (KanLayout) lay = kan_layout_new (s, 1400, 900);

  for (int l = 0; l < s->depth; l++)
    {
      int in = s->n_nodes[l], out = s->n_sub[l + 1];
      double prev = -1;
      for (int id = 0; id < in * out; id++)
        {
          KanRect r = kan_layout_edge_box (lay, l, id / out, id % out);
          ck_assert (r.x + 0.5 * r.w > prev);
          prev = r.x + 0.5 * r.w;
        }
    }
  /* Layers run bottom to top. */
  ck_assert (kan_layout_node_box (lay, 0, 0).y > kan_layout_node_box (lay, 1, 0).y);
  ck_assert (kan_layout_node_box (lay, 1, 0).y > kan_layout_node_box (lay, 2, 0).y);
}
END_TEST

/* A zoomed and moved layout is the fitted one magnified and shifted (what the canvas shows
 * zoomed in and scrolled), and hit-tests where it draws. */
START_TEST (test_layout_zoom_translate)
{
  g_autoptr (KanSnapshot) s = snapshot_plain (shapes[_i]);
  const double zooms[] = { 1.7, 3.3 }, W = 1000, H = 640, ox = 123.4, oy = 56.7;
  g_autoptr (KanLayout) base = kan_layout_new (s, W, H);

  for (unsigned z = 0; z < G_N_ELEMENTS (zooms); z++)
    {
      double k = zooms[z];
      g_autoptr (KanLayout) lay = kan_layout_new (s, W, H);
      int l, i, j;

      kan_layout_zoom (lay, k);
      kan_layout_translate (lay, -ox, -oy);
      ck_assert (kan_layout_font_size (lay) >= kan_layout_font_size (base));
      for (int n = 0; n <= s->depth; n++)
        for (int q = 0; q < s->n_nodes[n]; q++)
          {
            KanRect a = kan_layout_node_box (base, n, q), b = kan_layout_node_box (lay, n, q);
            CHECK (fabs (b.x - (k * a.x - ox)) < 1e-9 && fabs (b.y - (k * a.y - oy)) < 1e-9
                   && fabs (b.w - k * a.w) < 1e-9, "%s ×%g: node (%d,%d) not magnified",
                   shapes[_i], k, n, q);
            CHECK (kan_layout_hit (lay, b.x + 0.5 * b.w, b.y + 0.5 * b.h, &l, &i, &j)
                   && l == n && i == q && j == -1, "%s ×%g: node (%d,%d) hits (%d,%d,%d)",
                   shapes[_i], k, n, q, l, i, j);
          }
      for (int q = 0; q < s->n_edges; q++)
        {
          const KanSnapshotEdge *e = &s->edges[q];
          KanRect a = kan_layout_edge_box (base, e->l, e->i, e->j);
          KanRect b = kan_layout_edge_box (lay, e->l, e->i, e->j);
          CHECK (fabs (b.x - (k * a.x - ox)) < 1e-9 && fabs (b.y - (k * a.y - oy)) < 1e-9
                 && fabs (b.w - k * a.w) < 1e-9 && fabs (b.h - k * a.h) < 1e-9,
                 "%s ×%g: box (%d,%d,%d) not magnified", shapes[_i], k, e->l, e->i, e->j);
          CHECK (kan_layout_hit (lay, b.x + 0.5 * b.w, b.y + 0.5 * b.h, &l, &i, &j)
                 && l == e->l && i == e->i && j == e->j, "%s ×%g: box (%d,%d,%d) hits (%d,%d,%d)",
                 shapes[_i], k, e->l, e->i, e->j, l, i, j);
        }
    }
}
END_TEST

/* Boxes too small for a plot: the dense layers of a wide network in a small picture have none,
 * the same network in a large one has them. */
START_TEST (test_layout_plots_by_size)
{
  g_autoptr (KanSnapshot) wide = snapshot_plain ("20,16,16,16,1");
  g_autoptr (KanSnapshot) demo = snapshot_plain ("2,5,1");
  g_autoptr (KanLayout) small = kan_layout_new (wide, 800, 600);
  g_autoptr (KanLayout) large = kan_layout_new (wide, 800, 600);
  g_autoptr (KanLayout) lay = kan_layout_new (demo, 900, 600);

  ck_assert (!kan_layout_edge_plots (small, 0));
  ck_assert (kan_layout_edge_plots (small, 3));   /* 16 edges into the output */
  kan_layout_zoom (large, 8);
  for (int l = 0; l < wide->depth; l++)
    ck_assert (kan_layout_edge_plots (large, l));
  for (int l = 0; l < demo->depth; l++)
    ck_assert (kan_layout_edge_plots (lay, l));
  ck_assert (!kan_layout_edge_plots (lay, -1) && !kan_layout_edge_plots (lay, demo->depth));
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* Pixels                                                                                      */

START_TEST (test_alpha_follows_score)
{
  g_autoptr (KanSnapshot) s = snapshot_plain ("2,1");
  KanRenderStyle st;
  const int W = 600, H = 400;
  g_autoptr (KanLayout) lay = kan_layout_new (s, W, H);
  KanRect b0 = kan_layout_edge_box (lay, 0, 0, 0), b1 = kan_layout_edge_box (lay, 0, 1, 0);
  BoxStats s0, s1;

  kan_render_style_init (&st);
  ck_assert_int_eq (s->n_edges, 2);
  s->edges[0].score = 1.0;     /* alpha tanh(3) ≈ 0.995 */
  s->edges[1].score = 0.08;    /* alpha tanh(0.24) ≈ 0.24 */
  render_boxes (s, &st, W, H, b0, b1, &s0, &s1);
  ck_assert_msg (s0.n_ink > 20 && s1.n_ink > 20, "both edges draw (%d, %d ink pixels)",
                 s0.n_ink, s1.n_ink);
  ck_assert_msg (s0.mean_diff > 2.0 * s1.mean_diff, "stronger edge is darker: %g vs %g",
                 s0.mean_diff, s1.mean_diff);
  /* The faint edge's darkest pixel is no darker than its alpha allows. */
  ck_assert_msg (s1.max_diff <= kan_render_edge_alpha (&st, 0.08) + 0.02,
                 "faint edge max %g, alpha %g", s1.max_diff, kan_render_edge_alpha (&st, 0.08));

  /* Score 0: the box stays background. */
  s->edges[1].score = 0.0;
  render_boxes (s, &st, W, H, b0, b1, &s0, &s1);
  ck_assert_msg (s1.max_diff <= 2.0 / 255, "score-0 box differs from bg by %g", s1.max_diff);
  ck_assert_int_gt (s0.n_ink, 20);

  /* β scales: with β = 100 the faint edge is fully opaque. */
  s->edges[1].score = 0.08;
  st.beta = 100;
  render_boxes (s, &st, W, H, b0, b1, &s0, &s1);
  ck_assert_msg (fabs (s1.max_diff - s0.max_diff) < 0.05, "both opaque at β=100: %g vs %g",
                 s0.max_diff, s1.max_diff);
}
END_TEST

/* hide_below leaves out edges fainter than it, but never the selected or a marked one. */
START_TEST (test_hide_faint)
{
  g_autoptr (KanSnapshot) s = snapshot_plain ("2,1");
  KanRenderStyle st;
  const int W = 600, H = 400;
  g_autoptr (KanLayout) lay = kan_layout_new (s, W, H);
  KanRect b0 = kan_layout_edge_box (lay, 0, 0, 0), b1 = kan_layout_edge_box (lay, 0, 1, 0);
  int marked[3] = { 0, 1, 0 };
  KanRenderMarks marks = { 0, NULL, 1, marked };
  BoxStats s0, s1;

  kan_render_style_init (&st);
  s->edges[0].score = 1.0;     /* alpha ≈ 0.995 */
  s->edges[1].score = 0.08;    /* alpha ≈ 0.24 */
  st.hide_below = 0.3;
  render_boxes (s, &st, W, H, b0, b1, &s0, &s1);
  ck_assert_int_gt (s0.n_ink, 20);
  ck_assert_msg (s1.max_diff <= 2.0 / 255, "hidden edge differs from bg by %g", s1.max_diff);

  /* Just below its alpha it shows. */
  st.hide_below = 0.2;
  render_boxes (s, &st, W, H, b0, b1, &s0, &s1);
  ck_assert_int_gt (s1.n_ink, 20);

  st.hide_below = 0.3;
  st.sel_l = 0;
  st.sel_i = 1;
  st.sel_j = 0;
  render_boxes (s, &st, W, H, b0, b1, &s0, &s1);
  ck_assert_int_gt (s1.n_ink, 20);

  st.sel_l = st.sel_i = st.sel_j = -1;
  st.marks = &marks;
  render_boxes (s, &st, W, H, b0, b1, &s0, &s1);
  ck_assert_int_gt (s1.n_ink, 20);
}
END_TEST

/* A box below KAN_RENDER_PLOT_MIN is a plain line: ink down its middle, none in its corners. */
START_TEST (test_small_box_is_line)
{
  g_autoptr (KanSnapshot) s = snapshot_plain ("2,1");
  g_autoptr (KanLayout) lay = kan_layout_new (s, 45, 120);
  KanRenderStyle st;
  KanRect r = kan_layout_edge_box (lay, 0, 0, 0);
  cairo_surface_t *surf;
  BoxStats corner, middle;

  kan_render_style_init (&st);
  s->edges[0].score = s->edges[1].score = 1.0;
  ck_assert (!kan_layout_edge_plots (lay, 0));
  ck_assert (r.w < KAN_RENDER_PLOT_MIN && r.w > 4);
  surf = render (s, &st, 45, 120);
  corner = box_stats (surf, (KanRect) { r.x - 1, r.y - 1, 0.3 * r.w + 1, 0.3 * r.h + 1 }, st.bg);
  middle = box_stats (surf, (KanRect) { r.x + 0.5 * r.w - 2, r.y, 4, r.h }, st.bg);
  cairo_surface_destroy (surf);
  ck_assert_msg (corner.max_diff <= 2.0 / 255, "a frame or curve in a line's box: %g",
                 corner.max_diff);
  ck_assert_int_gt (middle.n_ink, 2);
}
END_TEST

/* Names that would need a font below KAN_RENDER_LABEL_MIN are left out (the canvas's tooltip
 * names the node); short ones in the same place are drawn. */
START_TEST (test_labels_give_way)
{
  static const char *const long_names[] = { "temperature_a", "temperature_b", "temperature_c",
                                            "temperature_d", "temperature_e", "temperature_f",
                                            NULL };
  static const char *const short_names[] = { "a", "b", "c", "d", "e", "f", NULL };
  g_autoptr (KanModel) m = model_new ("6,1", 7);
  const int W = 300, H = 240;
  KanRenderStyle st;

  kan_render_style_init (&st);
  for (int v = 0; v < 2; v++)
    {
      g_autoptr (KanSnapshot) s = kan_snapshot_new (m, NULL, 0, v ? short_names : long_names, NULL,
                                                    NULL);
      g_autoptr (KanLayout) lay = kan_layout_new (s, W, H);
      KanRect n0 = kan_layout_node_box (lay, 0, 0), n1 = kan_layout_node_box (lay, 0, 1);
      double slot = n1.x - n0.x;
      cairo_surface_t *surf = render (s, &st, W, H);
      int ink = 0;

      for (int q = 0; q < 6; q++)
        {
          KanRect n = kan_layout_node_box (lay, 0, q);
          BoxStats below = box_stats (surf, (KanRect) { n.x + 0.5 * n.w - 0.45 * slot,
                                                        n.y + n.h + 1, 0.9 * slot,
                                                        H - (n.y + n.h + 1) },
                                      st.bg);
          ink += below.n_ink > 0;
        }
      cairo_surface_destroy (surf);
      ck_assert_msg (ink == (v ? 6 : 0), "%s names: %d of 6 drawn", v ? "short" : "long", ink);
    }
}
END_TEST

START_TEST (test_mode_colours)
{
  g_autoptr (KanSnapshot) s = snapshot_plain ("2,1");
  KanRenderStyle st;
  const int W = 600, H = 400;
  g_autoptr (KanLayout) lay = kan_layout_new (s, W, H);
  KanRect b0 = kan_layout_edge_box (lay, 0, 0, 0), b1 = kan_layout_edge_box (lay, 0, 1, 0);
  cairo_surface_t *surf;
  BoxStats s0, s1;

  if (_i == 0)
    kan_render_style_init (&st);
  else
    kan_render_style_dark (&st);
  s->edges[0].score = s->edges[1].score = 1.0;

  /* Symbolic: red; both: purple. */
  s->edges[0].mode = KAN_EDGE_SYMBOLIC;
  s->edges[1].mode = KAN_EDGE_BOTH;
  surf = render (s, &st, W, H);
  s0 = box_stats (surf, b0, st.bg);
  s1 = box_stats (surf, b1, st.bg);
  cairo_surface_destroy (surf);
  ck_assert_int_gt (s0.n_ink, 20);
  ck_assert_int_gt (s1.n_ink, 20);
  ck_assert_msg (s0.ink_r > s0.ink_g + 0.15 && s0.ink_r > s0.ink_b + 0.15,
                 "symbolic ink is red: %g %g %g", s0.ink_r, s0.ink_g, s0.ink_b);
  ck_assert_msg (s1.ink_r > s1.ink_g + 0.1 && s1.ink_b > s1.ink_g + 0.1,
                 "both ink is purple: %g %g %g", s1.ink_r, s1.ink_g, s1.ink_b);

  /* Numeric: the foreground, a grey. */
  s->edges[0].mode = KAN_EDGE_NUMERIC;
  surf = render (s, &st, W, H);
  s0 = box_stats (surf, b0, st.bg);
  cairo_surface_destroy (surf);
  ck_assert_msg (fabs (s0.ink_r - s0.ink_g) < 0.05 && fabs (s0.ink_g - s0.ink_b) < 0.05,
                 "numeric ink is grey: %g %g %g", s0.ink_r, s0.ink_g, s0.ink_b);

  /* Pruned: nothing, even at full score. */
  s->edges[1].mode = KAN_EDGE_OFF;
  surf = render (s, &st, W, H);
  s1 = box_stats (surf, b1, st.bg);
  {
    /* Nor its connecting lines: the strip between the box and the output node is empty. */
    KanRect out = kan_layout_node_box (lay, 1, 0);
    KanRect strip = { b1.x + 0.5 * b1.w - 2, out.y + out.h + 3, 4, b1.y - out.y - out.h - 6 };
    BoxStats ss;
    if (strip.h > 4)
      {
        /* The line runs diagonally; sample the box-top end where it leaves the box. */
        KanRect top = { b1.x + 0.5 * b1.w - 3, b1.y - 6, 6, 5 };
        ss = box_stats (surf, top, st.bg);
        ck_assert_msg (ss.max_diff <= 2.0 / 255, "pruned edge's line drawn (%g)", ss.max_diff);
      }
  }
  cairo_surface_destroy (surf);
  ck_assert_msg (s1.max_diff <= 2.0 / 255, "pruned edge drew (%g)", s1.max_diff);

  /* The background is the style's. */
  surf = render (s, &st, W, H);
  {
    Px p = pixel (surf, 2, 2);
    ck_assert (fabs (p.r - st.bg[0]) < 0.01 && fabs (p.g - st.bg[1]) < 0.01);
  }
  cairo_surface_destroy (surf);
}
END_TEST

START_TEST (test_selection_highlight)
{
  g_autoptr (KanSnapshot) s = snapshot_plain ("2,1");
  KanRenderStyle st;
  const int W = 600, H = 400;
  g_autoptr (KanLayout) lay = kan_layout_new (s, W, H);
  KanRect b1 = kan_layout_edge_box (lay, 0, 1, 0);
  KanRect ring = { b1.x - 6, b1.y - 6, b1.w + 12, 5 };
  cairo_surface_t *surf;
  BoxStats before, after;

  kan_render_style_init (&st);
  s->edges[1].score = 0.0;    /* even an invisible edge shows its selection */
  surf = render (s, &st, W, H);
  before = box_stats (surf, ring, st.bg);
  cairo_surface_destroy (surf);
  st.sel_l = 0;
  st.sel_i = 1;
  st.sel_j = 0;
  surf = render (s, &st, W, H);
  after = box_stats (surf, ring, st.bg);
  cairo_surface_destroy (surf);
  ck_assert_int_eq (before.n_ink, 0);
  ck_assert_int_gt (after.n_ink, 5);
  ck_assert_msg (after.ink_b > after.ink_r, "selection is blue: %g %g %g", after.ink_r,
                 after.ink_g, after.ink_b);
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* Files                                                                                       */

static int
dir_count (const char *dir)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  int n = 0;
  while (g_dir_read_name (d) != NULL)
    n++;
  g_dir_close (d);
  return n;
}

START_TEST (test_render_to_file)
{
  g_autoptr (KanSnapshot) s = snapshot_plain ("2,3,1");
  g_autofree char *dir = g_dir_make_tmp ("kanvas-render-XXXXXX", NULL);
  const char *ext[] = { "png", "svg", "pdf", "PNG" };
  KanRenderStyle st;

  kan_render_style_init (&st);
  st.transparent = TRUE;   /* files get a background regardless */
  ck_assert_ptr_nonnull (dir);
  for (unsigned q = 0; q < G_N_ELEMENTS (ext); q++)
    {
      g_autofree char *path = g_strdup_printf ("%s/net%u.%s", dir, q, ext[q]);
      g_autofree char *data = NULL;
      gsize len = 0;
      GError *error = NULL;

      ck_assert_msg (kan_render_to_file (s, &st, path, 500, 400, &error), "%s: %s", path,
                     error ? error->message : "?");
      ck_assert (g_file_get_contents (path, &data, &len, NULL));
      ck_assert_uint_gt (len, 100);
      if (g_ascii_strcasecmp (ext[q], "png") == 0)
        ck_assert (memcmp (data, "\x89PNG\r\n\x1a\n", 8) == 0);
      else if (strcmp (ext[q], "svg") == 0)
        ck_assert (g_str_has_prefix (data, "<?xml") && strstr (data, "<svg") != NULL);
      else
        ck_assert (memcmp (data, "%PDF-", 5) == 0);
      ck_assert_int_eq (dir_count (dir), (int) q + 1);   /* no temporary left behind */
      {
        /* A new file gets the usual 0666 under the umask, not a temporary file's 0600. */
        GStatBuf sb;
        mode_t mask = umask (0);
        umask (mask);
        ck_assert (g_stat (path, &sb) == 0);
        ck_assert_int_eq (sb.st_mode & 0777, 0666 & ~mask);
      }
    }

  /* A PNG has the size asked for and an opaque background. */
  {
    g_autofree char *path = g_strdup_printf ("%s/net0.png", dir);
    cairo_surface_t *img = cairo_image_surface_create_from_png (path);
    ck_assert_int_eq (cairo_surface_status (img), CAIRO_STATUS_SUCCESS);
    ck_assert_int_eq (cairo_image_surface_get_width (img), 500);
    ck_assert_int_eq (cairo_image_surface_get_height (img), 400);
    ck_assert (pixel (img, 1, 1).a > 0.99);
    cairo_surface_destroy (img);
  }

  /* Overwriting replaces the file. */
  {
    g_autofree char *path = g_strdup_printf ("%s/net0.png", dir);
    ck_assert (kan_render_to_file (s, &st, path, 300, 200, NULL));
    cairo_surface_t *img = cairo_image_surface_create_from_png (path);
    ck_assert_int_eq (cairo_image_surface_get_width (img), 300);
    cairo_surface_destroy (img);
  }

  /* The edge plot goes to files the same way; a missing edge is an error. */
  {
    g_autofree char *path = g_strdup_printf ("%s/edge.svg", dir);
    GError *error = NULL;
    ck_assert (kan_render_edge_to_file (s, 1, 2, 0, &st, path, 500, 400, NULL));
    ck_assert (g_file_test (path, G_FILE_TEST_EXISTS));
    g_unlink (path);
    ck_assert (!kan_render_edge_to_file (s, 1, 3, 0, &st, path, 500, 400, &error));
    ck_assert_ptr_nonnull (error);
    ck_assert (!g_file_test (path, G_FILE_TEST_EXISTS));
    g_error_free (error);
  }

  for (unsigned q = 0; q < G_N_ELEMENTS (ext); q++)
    {
      g_autofree char *path = g_strdup_printf ("%s/net%u.%s", dir, q, ext[q]);
      g_unlink (path);
    }
  ck_assert_int_eq (dir_count (dir), 0);
  g_rmdir (dir);
}
END_TEST

START_TEST (test_render_to_file_errors)
{
  g_autoptr (KanSnapshot) s = snapshot_plain ("2,1");
  g_autofree char *dir = g_dir_make_tmp ("kanvas-render-XXXXXX", NULL);
  const char *bad[] = { "net.jpg", "net", "net.png.txt", "dir.png/net" };
  KanRenderStyle st;

  kan_render_style_init (&st);
  for (unsigned q = 0; q < G_N_ELEMENTS (bad); q++)
    {
      g_autofree char *path = g_build_filename (dir, bad[q], NULL);
      GError *error = NULL;
      ck_assert (!kan_render_to_file (s, &st, path, 300, 200, &error));
      ck_assert_ptr_nonnull (error);
      ck_assert (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT));
      ck_assert_msg (g_str_has_prefix (error->message, path), "message names the file: %s",
                     error->message);
      g_error_free (error);
    }
  ck_assert_int_eq (dir_count (dir), 0);

  /* A folder that does not exist: an error naming the path, nothing written. */
  {
    g_autofree char *path = g_build_filename (dir, "missing", "net.png", NULL);
    g_autofree char *prefix = g_strdup_printf ("%s: ", path);
    GError *error = NULL;
    ck_assert (!kan_render_to_file (s, &st, path, 300, 200, &error));
    ck_assert_ptr_nonnull (error);
    ck_assert_msg (g_str_has_prefix (error->message, prefix), "%s", error->message);
    g_error_free (error);
  }
  /* A target that is a folder: the rename fails and the temporary is removed. */
  {
    g_autofree char *path = g_build_filename (dir, "taken.png", NULL);
    GError *error = NULL;
    ck_assert (g_mkdir (path, 0700) == 0);
    ck_assert (!kan_render_to_file (s, &st, path, 300, 200, &error));
    ck_assert_ptr_nonnull (error);
    ck_assert (g_str_has_prefix (error->message, path));
    g_error_free (error);
    ck_assert_int_eq (dir_count (dir), 1);
    g_rmdir (path);
  }
  /* Sizes out of range. */
  {
    g_autofree char *path = g_build_filename (dir, "net.png", NULL);
    ck_assert (!kan_render_to_file (s, &st, path, 0, 200, NULL));
    ck_assert (!kan_render_to_file (s, &st, path, 300, NAN, NULL));
  }
  ck_assert_int_eq (dir_count (dir), 0);
  g_rmdir (dir);
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* Snapshots                                                                                   */

START_TEST (test_snapshot_traces)
{
  g_autoptr (KanModel) m = model_new ("3,4,2", 11);
  const size_t n = 700;
  g_autofree double *x = rows_new (3, n, 5);
  const char *in_names[] = { "mass", "speed", NULL };   /* shorter than needed */
  const char *out_names[] = { "energy", "time", NULL };
  GError *error = NULL;
  g_autoptr (KanSnapshot) s = kan_snapshot_new (m, x, n, in_names, out_names, &error);
  g_autoptr (KanScores) sc = kan_scores_compute (m, x, n, NULL);

  ck_assert_ptr_nonnull (s);
  ck_assert_ptr_nonnull (sc);
  ck_assert_int_eq (s->depth, 2);
  ck_assert_int_eq (s->n_edges, 3 * 4 + 4 * 2);
  ck_assert_str_eq (s->in_names[0], "mass");
  ck_assert_str_eq (s->in_names[1], "speed");
  ck_assert_str_eq (s->in_names[2], "x3");
  ck_assert_ptr_null (s->in_names[3]);
  ck_assert_str_eq (s->out_names[1], "time");
  ck_assert_int_eq (s->step, 0);
  ck_assert (isnan (s->train_rmse));
  ck_assert_int_eq (s->n_history, 0);
  ck_assert (s->model != m);

  for (int q = 0; q < s->n_edges; q++)
    {
      const KanSnapshotEdge *e = &s->edges[q];
      const double *es = kan_scores_edge (sc, e->l);
      int out = kan_model_layer_out (m, e->l);
      double ys[KAN_SNAPSHOT_CURVE_POINTS];

      CHECK (kan_snapshot_edge (s, e->l, e->i, e->j) == e, "edge order at %d", q);
      CHECK (fabs (e->score - es[e->i * out + e->j]) <= 1e-12 * (1 + fabs (e->score)),
             "score of (%d,%d,%d)", e->l, e->i, e->j);
      CHECK (e->sym_id == -1 && e->mode == KAN_EDGE_NUMERIC, "plain edge");
      CHECK (e->n_samples == KAN_SNAPSHOT_MAX_SAMPLES, "samples %d", e->n_samples);
      CHECK (e->x_min < e->x_max && e->y_min < e->y_max, "ranges");
      CHECK (e->curve_x[0] == e->x_min && e->curve_x[KAN_SNAPSHOT_CURVE_POINTS - 1] == e->x_max,
             "curve spans the range");
      for (int p = 0; p < e->n_samples; p++)
        CHECK (e->sample_x[p] >= e->x_min && e->sample_x[p] <= e->x_max
               && e->sample_y[p] >= e->y_min && e->sample_y[p] <= e->y_max,
               "sample %d of (%d,%d,%d) outside the ranges", p, e->l, e->i, e->j);
      kan_model_edge_eval (m, e->l, e->i, e->j, e->curve_x, KAN_SNAPSHOT_CURVE_POINTS, ys);
      for (int p = 0; p < KAN_SNAPSHOT_CURVE_POINTS; p++)
        CHECK (ys[p] == e->curve_y[p] && e->curve_y[p] >= e->y_min && e->curve_y[p] <= e->y_max,
               "curve point %d", p);
      /* Samples are the traced edge: the curve through the same x gives the same y. */
      {
        double yy;
        kan_model_edge_eval (m, e->l, e->i, e->j, &e->sample_x[3], 1, &yy);
        CHECK (fabs (yy - e->sample_y[3]) < 1e-9 * (1 + fabs (yy)), "sample on the curve");
      }
    }
  /* Input ranges are the data's. */
  {
    double lo = INFINITY, hi = -INFINITY;
    for (size_t b = 0; b < n; b++)
      {
        lo = MIN (lo, x[b * 3 + 1]);
        hi = MAX (hi, x[b * 3 + 1]);
      }
    ck_assert (kan_snapshot_edge (s, 0, 1, 2)->x_min == lo);
    ck_assert (kan_snapshot_edge (s, 0, 1, 2)->x_max == hi);
  }
  for (int l = 0; l <= s->depth; l++)
    for (int i = 0; i < s->n_nodes[l]; i++)
      ck_assert (fabs (s->node_score[l][i] - kan_scores_node (sc, l)[i]) < 1e-12);
  ck_assert_ptr_null (kan_snapshot_edge (s, 2, 0, 0));
  ck_assert_ptr_null (kan_snapshot_edge (s, 0, 3, 0));
  ck_assert_ptr_null (kan_snapshot_edge (s, 1, 0, 2));
}
END_TEST

START_TEST (test_snapshot_locked_and_pruned)
{
  g_autoptr (KanModel) m = model_new ("2,3,1", 3);
  g_autofree double *x = rows_new (2, 400, 9);
  const double abcd[4] = { 2.385, 0.5, 1.5, -0.25 };
  int sin_id = kan_sym_lookup ("sin"), sq_id = kan_sym_lookup ("x^2");
  g_autoptr (KanSnapshot) s = NULL;
  const KanSnapshotEdge *e;

  ck_assert_int_ge (sin_id, 0);
  kan_model_set_edge (m, 0, 0, 1, KAN_EDGE_SYMBOLIC, sin_id, abcd);
  kan_model_set_edge (m, 0, 1, 2, KAN_EDGE_BOTH, sq_id, abcd);
  kan_model_set_edge (m, 1, 0, 0, KAN_EDGE_OFF, 0, NULL);
  s = kan_snapshot_new (m, x, 400, NULL, NULL, NULL);
  ck_assert_ptr_nonnull (s);

  e = kan_snapshot_edge (s, 0, 0, 1);
  ck_assert_int_eq (e->mode, KAN_EDGE_SYMBOLIC);
  ck_assert_int_eq (e->sym_id, sin_id);
  for (int q = 0; q < 4; q++)
    ck_assert (e->abcd[q] == abcd[q]);
  for (int p = 0; p < KAN_SNAPSHOT_CURVE_POINTS; p += 7)
    ck_assert (fabs (e->curve_y[p] - (1.5 * sin (2.385 * e->curve_x[p] + 0.5) - 0.25)) < 1e-12);
  ck_assert (e->score > 0);

  e = kan_snapshot_edge (s, 0, 1, 2);
  ck_assert_int_eq (e->mode, KAN_EDGE_BOTH);
  ck_assert_int_eq (e->sym_id, sq_id);
  ck_assert (e->abcd[0] == abcd[0] && e->abcd[3] == abcd[3]);

  e = kan_snapshot_edge (s, 1, 0, 0);
  ck_assert_int_eq (e->mode, KAN_EDGE_OFF);
  ck_assert_int_eq (e->sym_id, -1);
  ck_assert (e->score == 0.0);
  ck_assert_str_eq (s->in_names[1], "x2");
  ck_assert_str_eq (s->out_names[0], "y1");
}
END_TEST

/* Fewer than two rows: no scores, every live edge and node counts fully; no data at all: curves
 * over the grid range, no samples. */
START_TEST (test_snapshot_few_rows)
{
  g_autoptr (KanModel) m = model_new ("2,2,1", 4);
  const double one[2] = { 0.25, -0.5 };
  g_autoptr (KanSnapshot) s1 = NULL, s0 = NULL;

  kan_model_set_edge (m, 0, 1, 1, KAN_EDGE_OFF, 0, NULL);
  s1 = kan_snapshot_new (m, one, 1, NULL, NULL, NULL);
  s0 = kan_snapshot_new (m, NULL, 0, NULL, NULL, NULL);
  ck_assert_ptr_nonnull (s1);
  ck_assert_ptr_nonnull (s0);
  for (int q = 0; q < s1->n_edges; q++)
    {
      const KanSnapshotEdge *e = &s1->edges[q];
      double want = e->mode == KAN_EDGE_OFF ? 0.0 : 1.0;
      ck_assert (e->score == want && s0->edges[q].score == want);
      ck_assert_int_le (e->n_samples, 1);
      ck_assert (e->x_min < e->x_max);
      ck_assert_int_eq (s0->edges[q].n_samples, 0);
      ck_assert (isfinite (s0->edges[q].curve_y[10]));
    }
  /* One row gives a point range, widened around the value. */
  ck_assert (s1->edges[0].x_min < 0.25 && s1->edges[0].x_max > 0.25);
  ck_assert (s0->edges[0].x_min == -1.0 && s0->edges[0].x_max == 1.0);
  for (int l = 0; l <= s1->depth; l++)
    for (int i = 0; i < s1->n_nodes[l]; i++)
      ck_assert (s1->node_score[l][i] == 1.0);
}
END_TEST

/* More rows than a snapshot keeps: it thins them, and still sees the extremes' neighbourhood. */
START_TEST (test_snapshot_many_rows)
{
  g_autoptr (KanModel) m = model_new ("2,3,1", 4);
  const size_t n = 3 * KAN_SNAPSHOT_MAX_ROWS + 17;
  g_autofree double *x = rows_new (2, n, 21);
  g_autoptr (KanSnapshot) s = kan_snapshot_new (m, x, n, NULL, NULL, NULL);

  ck_assert_ptr_nonnull (s);
  ck_assert_int_eq (s->edges[0].n_samples, KAN_SNAPSHOT_MAX_SAMPLES);
  ck_assert (s->edges[0].x_min < -1.2 && s->edges[0].x_max > 0.8);
  ck_assert (s->edges[0].score > 0);
}
END_TEST

/* Non-finite inputs: no scores (all 1), samples without the bad rows, a picture. */
START_TEST (test_snapshot_nonfinite)
{
  g_autoptr (KanModel) m = model_new ("2,1", 4);
  g_autofree double *x = rows_new (2, 50, 2);
  g_autoptr (KanSnapshot) s = NULL;
  KanRenderStyle st;
  cairo_surface_t *surf;

  x[7] = NAN;
  x[20] = INFINITY;
  s = kan_snapshot_new (m, x, 50, NULL, NULL, NULL);
  ck_assert_ptr_nonnull (s);
  for (int q = 0; q < s->n_edges; q++)
    {
      ck_assert (s->edges[q].score == 1.0);
      ck_assert (isfinite (s->edges[q].x_min) && isfinite (s->edges[q].x_max));
      for (int p = 0; p < s->edges[q].n_samples; p++)
        ck_assert (isfinite (s->edges[q].sample_x[p]) && isfinite (s->edges[q].sample_y[p]));
    }
  kan_render_style_init (&st);
  surf = render (s, &st, 300, 200);
  cairo_surface_destroy (surf);
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* Edge and loss plots                                                                         */

static int
count_near (cairo_surface_t *surf, const double c[3], double tol)
{
  int n = 0, w = cairo_image_surface_get_width (surf), h = cairo_image_surface_get_height (surf);
  cairo_surface_flush (surf);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        Px p = pixel (surf, x, y);
        if (fabs (p.r - c[0]) < tol && fabs (p.g - c[1]) < tol && fabs (p.b - c[2]) < tol)
          n++;
      }
  return n;
}

static int
count_ink (cairo_surface_t *surf, const double bg[3])
{
  int w = cairo_image_surface_get_width (surf), h = cairo_image_surface_get_height (surf);
  KanRect all = { -1, -1, w + 1, h + 1 };
  return box_stats (surf, all, bg).n_ink;
}

START_TEST (test_edge_plot)
{
  g_autoptr (KanModel) m = model_new ("2,3,1", 3);
  g_autofree double *x = rows_new (2, 300, 9);
  const double abcd[4] = { 2.385, 0.5, 1.5, -0.25 };
  g_autoptr (KanSnapshot) s = NULL;
  KanRenderStyle st;
  cairo_surface_t *surf = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, 640, 480);
  cairo_t *cr = cairo_create (surf);
  int numeric_accent, locked_accent, empty_ink;

  kan_render_style_init (&st);
  kan_model_set_edge (m, 0, 1, 1, KAN_EDGE_BOTH, kan_sym_lookup ("sin"), abcd);
  s = kan_snapshot_new (m, x, 300, NULL, NULL, NULL);

  kan_render_edge_plot (cr, s, 0, 0, 1, &st, 640, 480);
  numeric_accent = count_near (surf, st.accent, 0.08);
  ck_assert_int_gt (count_ink (surf, st.bg), 2000);
  kan_render_edge_plot (cr, s, 0, 1, 1, &st, 640, 480);
  locked_accent = count_near (surf, st.accent, 0.08);
  ck_assert_msg (locked_accent > numeric_accent + 100, "symbolic overlay drawn: %d vs %d",
                 locked_accent, numeric_accent);
  ck_assert_int_gt (count_near (surf, st.both, 0.08), 100);
  /* Samples scattered: the selection colour shows. */
  ck_assert_int_gt (count_near (surf, st.selected, 0.35), 10);

  /* No such edge: a message, no crash. */
  kan_render_edge_plot (cr, s, 4, 0, 0, &st, 640, 480);
  empty_ink = count_ink (surf, st.bg);
  ck_assert_int_gt (empty_ink, 0);
  ck_assert_int_lt (empty_ink, 5000);
  /* Tiny areas draw nothing much, and do not fail. */
  kan_render_edge_plot (cr, s, 0, 0, 0, &st, 20, 10);
  ck_assert_int_eq (cairo_status (cr), CAIRO_STATUS_SUCCESS);
  cairo_destroy (cr);
  cairo_surface_destroy (surf);
}
END_TEST

START_TEST (test_loss_plot)
{
  KanRenderStyle st;
  cairo_surface_t *surf = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, 600, 300);
  cairo_t *cr = cairo_create (surf);
  double train[80], test[80];
  double nan3[3] = { NAN, NAN, NAN }, zeros[4] = { 0, 0, -1, 0 };
  int ink_normal, ink_empty, accent_normal;

  kan_render_style_init (&st);
  for (int p = 0; p < 80; p++)
    {
      train[p] = 0.4 * exp (-p / 9.0) + 1e-3;
      test[p] = 1.4 * train[p];
    }
  kan_render_loss_plot (cr, train, test, 80, NULL, &st, 600, 300);
  ink_normal = count_ink (surf, st.bg);
  accent_normal = count_near (surf, st.accent, 0.1);

  kan_render_loss_plot (cr, NULL, NULL, 0, NULL, &st, 600, 300);
  ink_empty = count_ink (surf, st.bg);
  ck_assert_int_eq (count_near (surf, st.accent, 0.1), 0);
  ck_assert_int_gt (accent_normal, 200);
  ck_assert_int_gt (ink_normal, ink_empty);
  ck_assert_int_gt (ink_empty, 0);    /* axes and a message */

  /* NaN, zeros, negative, a single step, a train-only series: no crash, status stays OK. */
  kan_render_loss_plot (cr, nan3, nan3, 3, NULL, &st, 600, 300);
  kan_render_loss_plot (cr, zeros, zeros, 4, NULL, &st, 600, 300);
  kan_render_loss_plot (cr, train, NULL, 1, NULL, &st, 600, 300);
  ck_assert_int_gt (count_near (surf, st.fg, 0.1), 10);
  train[5] = NAN;
  train[6] = 0.0;
  kan_render_loss_plot (cr, train, nan3, 3, NULL, &st, 600, 300);
  kan_render_loss_plot (cr, train, test, 80, NULL, &st, 30, 20);
  {
    /* Constant RMSE: a flat line, still a range. */
    double flat[10], flat2[10];
    for (int p = 0; p < 10; p++)
      {
        flat[p] = 0.125;
        flat2[p] = 0.25;
      }
    kan_render_loss_plot (cr, flat, flat2, 10, NULL, &st, 600, 300);
    ck_assert_int_gt (count_near (surf, st.accent, 0.1), 50);
  }
  ck_assert_int_eq (cairo_status (cr), CAIRO_STATUS_SUCCESS);
  cairo_destroy (cr);
  cairo_surface_destroy (surf);
}
END_TEST

START_TEST (test_styles)
{
  KanRenderStyle light, dark;

  kan_render_style_init (&light);
  kan_render_style_dark (&dark);
  ck_assert (light.beta == 3.0 && dark.beta == 3.0);
  ck_assert (light.sel_l == -1 && light.sel_i == -1 && light.sel_j == -1);
  ck_assert (light.bg[0] > 0.9 && dark.bg[0] < 0.3);
  ck_assert (dark.fg[0] > 0.8);
  ck_assert (dark.symbolic[0] > dark.symbolic[1] && dark.both[2] > dark.both[1]);
  ck_assert (fabs (kan_render_edge_alpha (&light, 1.0) - tanh (3.0)) < 1e-15);
  ck_assert (kan_render_edge_alpha (&light, 0.0) == 0.0);
  ck_assert (kan_render_edge_alpha (&light, -1.0) == 0.0);
  ck_assert (kan_render_edge_alpha (&light, NAN) == 0.0);
  ck_assert (kan_render_edge_alpha (&light, INFINITY) == 1.0);
}
END_TEST

/* ------------------------------------------------------------------------------------------ */

/* Decision regions of a known classifier: output 0 = x1, output 1 = −x1, so class 0 is the right
 * half of the plane and class 1 the left; a train row of class 1 at (0.5, 0.5) is drawn in class
 * 1's colour inside class 0's region. */
START_TEST (test_regions_known_model)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (KanModel) m = NULL;
  g_autoptr (KanDataset) d = NULL;
  const double one[4] = { 1, 0, 1, 0 }, neg[4] = { 1, 0, -1, 0 };
  const double tx[6] = { -1, -1, 1, 1, 0.5, 0.5 }, ty[3] = { 1, 0, 1 };
  cairo_surface_t *surf = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, 500, 400);
  cairo_t *cr = cairo_create (surf);
  KanRenderStyle st;
  KanRect plot;
  double range[4], c0[3], c1[3];
  int id = kan_sym_lookup ("x");

  m = model_new ("2,2", 3);
  ck_assert_int_ge (id, 0);
  kan_model_set_edge (m, 0, 0, 0, KAN_EDGE_SYMBOLIC, id, one);
  kan_model_set_edge (m, 0, 0, 1, KAN_EDGE_SYMBOLIC, id, neg);
  kan_model_set_edge (m, 0, 1, 0, KAN_EDGE_OFF, -1, NULL);
  kan_model_set_edge (m, 0, 1, 1, KAN_EDGE_OFF, -1, NULL);
  d = kan_dataset_new_arrays (2, 1, 3, 0, tx, ty, NULL, NULL, NULL, NULL);
  ck_assert (kan_render_regions_ok (m, d));

  kan_render_style_init (&st);
  kan_render_regions (cr, m, d, NULL, &st, 500, 400);
  cairo_surface_flush (surf);
  kan_render_regions_frame (d, &st, 500, 400, &plot, range);
  kan_render_class_color (0, c0);
  kan_render_class_color (1, c1);
  /* Sample the plane at data coordinates (−0.5, −0.5) (left: class 1) and (0.5, −0.5) (right:
   * class 0): the tint leans to the class's colour (blue vs orange). */
  {
    int xl = (int) (plot.x + (-0.5 - range[0]) / (range[1] - range[0]) * plot.w);
    int xr = (int) (plot.x + (0.5 - range[0]) / (range[1] - range[0]) * plot.w);
    int yb = (int) (plot.y + plot.h - (-0.5 - range[2]) / (range[3] - range[2]) * plot.h);
    double fx = plot.x + (0.5 - range[0]) / (range[1] - range[0]) * plot.w;
    double fy = plot.y + plot.h - (0.5 - range[2]) / (range[3] - range[2]) * plot.h;
    int yp = (int) floor (fy);
    Px left = pixel (surf, xl, yb), right = pixel (surf, xr, yb);
    Px pt = pixel (surf, (int) floor (fx), yp);
    ck_assert_msg (left.r > left.b + 0.1, "left is class 1 (orange): %g %g %g", left.r, left.g,
                   left.b);
    ck_assert_msg (right.b > right.r + 0.1, "right is class 0 (blue): %g %g %g", right.r, right.g,
                   right.b);
    /* The point: class 1's colour at full strength over class 0's pale region. */
    ck_assert_msg (fabs (pt.r - c1[0]) < 0.05 && fabs (pt.g - c1[1]) < 0.05
                   && fabs (pt.b - c1[2]) < 0.05, "point colour %g %g %g", pt.r, pt.g, pt.b);
  }
  /* Not a two-input classifier: a message, and an error for files. */
  {
    g_autoptr (KanModel) reg = model_new ("2,3,1", 3);
    g_autoptr (GError) e2 = NULL;
    ck_assert (!kan_render_regions_ok (reg, d));
    ck_assert (!kan_render_regions_to_file (reg, d, NULL, &st, "/tmp/never.png", 100, 100, &e2));
    ck_assert_ptr_nonnull (e2);
  }
  cairo_destroy (cr);
  cairo_surface_destroy (surf);
}
END_TEST

static Suite *
render_suite (void)
{
  Suite *s = suite_create ("render");
  TCase *tc;

  tc = tcase_create ("layout");
  tcase_add_loop_test (tc, test_hit_every_edge, 0, G_N_ELEMENTS (shapes));
  tcase_add_loop_test (tc, test_layout_no_overlap, 0, G_N_ELEMENTS (shapes));
  tcase_add_test (tc, test_layout_slot_order);
  tcase_add_loop_test (tc, test_layout_zoom_translate, 0, G_N_ELEMENTS (shapes));
  tcase_add_test (tc, test_layout_plots_by_size);
  suite_add_tcase (s, tc);

  tc = tcase_create ("pixels");
  tcase_add_test (tc, test_alpha_follows_score);
  tcase_add_loop_test (tc, test_mode_colours, 0, 2);
  tcase_add_test (tc, test_selection_highlight);
  tcase_add_test (tc, test_hide_faint);
  tcase_add_test (tc, test_small_box_is_line);
  tcase_add_test (tc, test_labels_give_way);
  tcase_add_test (tc, test_styles);
  suite_add_tcase (s, tc);

  tc = tcase_create ("files");
  tcase_add_test (tc, test_render_to_file);
  tcase_add_test (tc, test_regions_known_model);
  tcase_add_test (tc, test_render_to_file_errors);
  suite_add_tcase (s, tc);

  tc = tcase_create ("snapshot");
  tcase_add_test (tc, test_snapshot_traces);
  tcase_add_test (tc, test_snapshot_locked_and_pruned);
  tcase_add_test (tc, test_snapshot_few_rows);
  tcase_add_test (tc, test_snapshot_many_rows);
  tcase_add_test (tc, test_snapshot_nonfinite);
  suite_add_tcase (s, tc);

  tc = tcase_create ("plots");
  tcase_add_test (tc, test_edge_plot);
  tcase_add_test (tc, test_loss_plot);
  suite_add_tcase (s, tc);
  return s;
}

int
main (void)
{
  SRunner *sr;
  int failed;

  gsl_set_error_handler_off ();
  sr = srunner_create (render_suite ());
  srunner_run_all (sr, CK_NORMAL);
  failed = srunner_ntests_failed (sr);
  srunner_free (sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
