/* kan-render.c — the network picture, the edge plot and the loss plot, with Cairo only.
 *
 * Geometry follows pykan's MultKAN.plot: node layer l sits at height
 * l·(y0+z0) of a band per edge layer, with y0 = 0.3 to the subnode row and z0 = 0.1 from there
 * to the next node layer; node q of n at x = (q + ½)/n; edge (i→j) of a layer with N = n·n_sub
 * edges in slot i·n_sub + j, its mini-plot box centred half-way up y0. Unlike pykan, box and
 * node sizes are chosen per layer from the space there is, so dense layers shrink without
 * shrinking sparse ones, and the Σ icon of plain sum layers is left out: an edge runs straight
 * into its sum node, drawn as a filled dot; multiplication nodes are a ring with ×, fed by a row
 * of subnodes.
 */
#include "kan-render.h"
#include "kan-file.h"
#include "kan-model.h"
#include "kan-formula.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gio/gio.h>
#include <cairo-pdf.h>
#include <cairo-svg.h>

/* Band fractions (pykan: y0 = 0.3 and z0 = 0.1 of a 0.4 band). */
#define BAND_BOX_CENTRE 0.375   /* y0/2 */
#define BAND_SUB        0.75    /* y0 */
#define BOX_MAX_BAND    0.46    /* a box takes at most this share of the band's height */
#define BOX_MAX_SLOT    0.8     /* … and of its slot's width (pykan: 0.8 for the densest layer) */
#define BOX_MAX_WIDTH   0.2     /* … and of the drawing's width */
#define BOX_PAD         0.12    /* curve inset inside its box, relative to the box */
#define BOX_MAX_ROWS    4       /* rows a dense layer may stagger its boxes over */
#define BOX_MAX_BAND_ROWS 0.56  /* the height staggered rows may take, share of the band */
#define BOX_ROW_GAP     0.15    /* between staggered rows, relative to a box */
#define BOX_MAX_RATIO   2.5     /* largest box side over the smallest one of the picture */
#define BOX_STAGGER_GAIN 1.5    /* stagger only when boxes grow at least this much, */
#define BOX_STAGGER_BELOW 0.04  /* … and one row would make them smaller than this share of
                                   the picture's smaller side */
#define MARK_ALPHA      0.65    /* opacity of marked nodes and edges, whatever their score */

/* ------------------------------------------------------------------------------------------ */
/* Style                                                                                       */

static void
rgb_set (double c[3], double r, double g, double b)
{
  c[0] = r;
  c[1] = g;
  c[2] = b;
}

void
kan_render_style_init (KanRenderStyle *st)
{
  g_return_if_fail (st != NULL);
  memset (st, 0, sizeof *st);
  st->beta = 3.0;
  rgb_set (st->fg, 0.09, 0.09, 0.11);
  rgb_set (st->bg, 1.0, 1.0, 1.0);
  rgb_set (st->symbolic, 0.85, 0.11, 0.14);
  rgb_set (st->both, 0.52, 0.16, 0.72);
  rgb_set (st->selected, 0.21, 0.52, 0.89);   /* GNOME accent blue */
  rgb_set (st->accent, 0.90, 0.45, 0.08);
  rgb_set (st->warning, 0.93, 0.33, 0.0);
  st->marks = NULL;
  st->sel_l = st->sel_i = st->sel_j = -1;
  st->font_size = 0.0;
  st->transparent = FALSE;
  st->text_scale = 1.0;
}

void
kan_render_style_dark (KanRenderStyle *st)
{
  kan_render_style_init (st);
  rgb_set (st->fg, 0.93, 0.93, 0.93);
  rgb_set (st->bg, 0.14, 0.14, 0.14);         /* libadwaita's dark window */
  rgb_set (st->symbolic, 1.0, 0.42, 0.40);
  rgb_set (st->both, 0.80, 0.52, 1.0);
  rgb_set (st->selected, 0.47, 0.68, 0.93);
  rgb_set (st->accent, 1.0, 0.64, 0.28);
  rgb_set (st->warning, 1.0, 0.55, 0.20);
}

double
kan_render_edge_alpha (const KanRenderStyle *st,
                       double                score)
{
  double a;

  g_return_val_if_fail (st != NULL, 0.0);
  a = tanh (st->beta * score);
  if (!(a > 0.0))
    return 0.0;
  return MIN (a, 1.0);
}

void
kan_render_mode_color (const KanRenderStyle *st,
                       KanEdgeMode           mode,
                       double                rgb[3])
{
  const double *c = mode == KAN_EDGE_SYMBOLIC ? st->symbolic
                    : mode == KAN_EDGE_BOTH ? st->both : st->fg;
  memcpy (rgb, c, 3 * sizeof (double));
}

static void
set_rgba (cairo_t *cr, const double c[3], double a)
{
  cairo_set_source_rgba (cr, c[0], c[1], c[2], a);
}

static void
paint_bg (cairo_t *cr, const KanRenderStyle *st, double w, double h)
{
  if (st->transparent)
    return;
  cairo_save (cr);
  set_rgba (cr, st->bg, 1.0);
  cairo_rectangle (cr, 0, 0, w, h);
  cairo_fill (cr);
  cairo_restore (cr);
}

/* ------------------------------------------------------------------------------------------ */
/* Text                                                                                        */

static void
font_set (cairo_t *cr, double size, gboolean bold)
{
  cairo_select_font_face (cr, "Sans", CAIRO_FONT_SLANT_NORMAL,
                          bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size (cr, size);
}

/* Draws TEXT with its ink box anchored at (X,Y): HA 0 left … 1 right; VA 0 top … 1 bottom of
 * the line (ascent to descent), so labels of one row share a baseline. Returns the width. */
static double
text_at (cairo_t *cr, const char *text, double x, double y, double ha, double va)
{
  cairo_text_extents_t te;
  cairo_font_extents_t fe;
  double top;

  cairo_text_extents (cr, text, &te);
  cairo_font_extents (cr, &fe);
  top = y - va * (fe.ascent + fe.descent);
  cairo_move_to (cr, x - ha * te.x_advance, top + fe.ascent);
  cairo_show_text (cr, text);
  return te.x_advance;
}

static double
text_width (cairo_t *cr, const char *text)
{
  cairo_text_extents_t te;
  cairo_text_extents (cr, text, &te);
  return te.x_advance;
}

/* ------------------------------------------------------------------------------------------ */
/* Layout                                                                                      */

struct _KanLayout
{
  double   x0, y0;       /* where the picture's top left corner is (kan_layout_translate) */
  double   width, height;
  double   font;
  int      depth;
  int     *n_nodes;      /* depth+1 */
  int     *node_off;     /* depth+2: first node of each layer in node_x */
  double  *node_x;       /* every node's centre x */
  gboolean *node_mult;   /* a multiplication node */
  double  *layer_y;      /* depth+1: centre y of each node layer */
  double  *node_r;       /* depth+1: drawn radius of the layer's sum nodes */
  double  *node_hit;     /* depth+1: half-size of the square a click hits */
  int     *n_sub;        /* depth+1 (index 0 unused) */
  int     *sub_off;      /* depth+2 */
  double  *sub_x;        /* every subnode's centre x */
  int     *sub_node;     /* the node each subnode feeds */
  double  *sub_y;        /* depth+1: the subnode row (= layer_y when the layer has no products) */
  int     *edge_off;     /* depth+1 */
  int     *edge_out;     /* depth: subnodes per edge layer */
  int     *edge_in;      /* depth */
  KanRect *edges;        /* snapshot order */
  double  *box;          /* depth: side of the layer's boxes */
  int     *rows;         /* depth: rows the layer's boxes are staggered over */
  double   line_w;
};

double
kan_layout_font_size (const KanLayout *lay)
{
  g_return_val_if_fail (lay != NULL, 10.0);
  return lay->font;
}

static double
layout_font (double width, double height)
{
  return CLAMP (MIN (width, 1.3 * height) / 44.0, 8.0, 20.0);
}

static double
layout_line_width (double width, double height)
{
  return CLAMP (0.0015 * MIN (width, 1.5 * height), 0.8, 2.2);
}

/* The node of node layer L that subnode J feeds (sums first, then each product's group). */
static int
subnode_owner (const KanSnapshot *s, int l, int j)
{
  int q = kan_shape_subnode_node (kan_model_shape (s->model), l, j);

  return q >= 0 ? q : MIN (j, s->n_nodes[l] - 1);
}

KanLayout *
kan_layout_new (const KanSnapshot *s,
                double             width,
                double             height)
{
  KanLayout *lay;
  const KanShape *shape;
  int D, n_total = 0, n_sub_total = 0, max_nodes = 1;
  double mx, mtop, mbot, aw, band, node_r;

  g_return_val_if_fail (s != NULL && s->model != NULL, NULL);

  lay = g_new0 (KanLayout, 1);
  D = lay->depth = s->depth;
  lay->width = width = MAX (width, 1.0);
  lay->height = height = MAX (height, 1.0);
  lay->font = layout_font (width, height);
  shape = kan_model_shape (s->model);

  lay->n_nodes = g_new (int, D + 1);
  lay->node_off = g_new (int, D + 2);
  lay->n_sub = g_new (int, D + 1);
  lay->sub_off = g_new (int, D + 2);
  lay->layer_y = g_new (double, D + 1);
  lay->sub_y = g_new (double, D + 1);
  lay->node_r = g_new (double, D + 1);
  lay->node_hit = g_new (double, D + 1);
  for (int l = 0; l <= D; l++)
    {
      lay->node_off[l] = n_total;
      lay->sub_off[l] = n_sub_total;
      lay->n_nodes[l] = s->n_nodes[l];
      lay->n_sub[l] = l == 0 ? s->n_nodes[0] : s->n_sub[l];
      n_total += s->n_nodes[l];
      n_sub_total += lay->n_sub[l];
      max_nodes = MAX (max_nodes, s->n_nodes[l]);
    }
  lay->node_off[D + 1] = n_total;
  lay->sub_off[D + 1] = n_sub_total;

  /* Labels take two lines of text below the inputs and above the outputs. */
  mx = 0.03 * width;
  mtop = mbot = 2.6 * lay->font + 0.02 * height;
  aw = width - 2 * mx;
  band = (height - mtop - mbot) / MAX (D, 1);
  /* pykan's dot is 0.14/max(n,5) of the width across; never more than a sliver of the band. */
  node_r = MIN (0.07 * aw / MAX (max_nodes, 5), 0.055 * band);
  node_r = MAX (node_r, 1.5);
  lay->line_w = layout_line_width (width, height);

  lay->node_x = g_new (double, n_total);
  lay->node_mult = g_new0 (gboolean, n_total);
  lay->sub_x = g_new (double, n_sub_total);
  lay->sub_node = g_new (int, n_sub_total);
  for (int l = 0; l <= D; l++)
    {
      int n = lay->n_nodes[l], ns = lay->n_sub[l];
      gboolean has_mult = l > 0 && kan_shape_n_mult (shape, l) > 0;
      double slot = aw / n;

      lay->layer_y[l] = height - mbot - l * band;
      lay->sub_y[l] = has_mult ? lay->layer_y[l] + (1.0 - BAND_SUB) * band : lay->layer_y[l];
      lay->node_r[l] = node_r;
      lay->node_hit[l] = MIN (MAX (1.6 * node_r, 5.0), MIN (0.45 * slot, 0.15 * band));
      for (int q = 0; q < n; q++)
        {
          lay->node_x[lay->node_off[l] + q] = mx + (q + 0.5) * slot;
          lay->node_mult[lay->node_off[l] + q] = q >= s->n_sum[l];
        }
      for (int sub = 0; sub < ns; sub++)
        lay->sub_node[lay->sub_off[l] + sub] = subnode_owner (s, l, sub);
      for (int q = 0; q < ns; q++)
        lay->sub_x[lay->sub_off[l] + q] = has_mult ? mx + (q + 0.5) * aw / ns
                                                   : lay->node_x[lay->node_off[l] + q];
    }

  lay->edge_off = g_new (int, D + 1);
  lay->edge_in = g_new (int, MAX (D, 1));
  lay->edge_out = g_new (int, MAX (D, 1));
  lay->box = g_new (double, MAX (D, 1));
  {
    int q = 0;
    for (int l = 0; l < D; l++)
      {
        lay->edge_off[l] = q;
        lay->edge_in[l] = lay->n_nodes[l];
        lay->edge_out[l] = lay->n_sub[l + 1];
        q += lay->edge_in[l] * lay->edge_out[l];
      }
    lay->edge_off[D] = q;
    g_warn_if_fail (q == s->n_edges);
  }
  lay->edges = g_new0 (KanRect, MAX (lay->edge_off[D], 1));
  lay->rows = g_new (int, MAX (D, 1));
  for (int l = 0; l < D; l++)
    {
      int N = lay->edge_in[l] * lay->edge_out[l], R = 1;
      double slot = aw / N, side = 0.0, side1 = 0.0;

      /* Dense layers stagger their boxes over up to BOX_MAX_ROWS rows (slot id in row
       * id mod R), which lets each box be R slots wide; they still never overlap. */
      for (int r = 1; r <= BOX_MAX_ROWS; r++)
        {
          double hmax = (r == 1 ? BOX_MAX_BAND : BOX_MAX_BAND_ROWS) * band / (r + (r - 1) * BOX_ROW_GAP);
          double sd = MIN (MIN (BOX_MAX_SLOT * slot * r, hmax), BOX_MAX_WIDTH * width);
          /* The outermost boxes stay on the canvas. */
          sd = MIN (sd, 2 * (mx + 0.5 * slot));
          if (r == 1)
            side1 = sd;
          if (sd > side)
            {
              side = sd;
              R = r;
            }
        }
      if (side < BOX_STAGGER_GAIN * side1 || side1 >= BOX_STAGGER_BELOW * MIN (width, height))
        {
          side = side1;
          R = 1;
        }
      lay->box[l] = side;
      lay->rows[l] = R;
    }
  /* Sparse layers get bigger boxes than dense ones, but not so much bigger that the picture
   * looks like two scales. */
  {
    double smallest = G_MAXDOUBLE;
    for (int l = 0; l < D; l++)
      smallest = MIN (smallest, lay->box[l]);
    for (int l = 0; l < D; l++)
      lay->box[l] = MIN (lay->box[l], BOX_MAX_RATIO * smallest);
  }
  for (int l = 0; l < D; l++)
    {
      int N = lay->edge_in[l] * lay->edge_out[l], R = lay->rows[l];
      double slot = aw / N, side = lay->box[l];
      double cy = lay->layer_y[l] - BAND_BOX_CENTRE * band;

      for (int id = 0; id < N; id++)
        {
          KanRect *r = &lay->edges[lay->edge_off[l] + id];
          double cx = mx + (id + 0.5) * slot;
          double row = (id % R) - 0.5 * (R - 1);
          r->x = cx - 0.5 * side;
          r->y = cy - 0.5 * side - row * side * (1 + BOX_ROW_GAP);
          r->w = side;
          r->h = side;
        }
    }
  return lay;
}

void
kan_layout_free (KanLayout *lay)
{
  if (lay == NULL)
    return;
  g_free (lay->n_nodes);
  g_free (lay->node_off);
  g_free (lay->node_x);
  g_free (lay->node_mult);
  g_free (lay->layer_y);
  g_free (lay->node_r);
  g_free (lay->node_hit);
  g_free (lay->n_sub);
  g_free (lay->sub_off);
  g_free (lay->sub_x);
  g_free (lay->sub_node);
  g_free (lay->sub_y);
  g_free (lay->edge_off);
  g_free (lay->edge_in);
  g_free (lay->edge_out);
  g_free (lay->edges);
  g_free (lay->box);
  g_free (lay->rows);
  g_free (lay);
}

void
kan_layout_translate (KanLayout *lay,
                      double     dx,
                      double     dy)
{
  g_return_if_fail (lay != NULL);

  lay->x0 += dx;
  lay->y0 += dy;
  for (int q = 0; q < lay->node_off[lay->depth + 1]; q++)
    lay->node_x[q] += dx;
  for (int q = 0; q < lay->sub_off[lay->depth + 1]; q++)
    lay->sub_x[q] += dx;
  for (int l = 0; l <= lay->depth; l++)
    {
      lay->layer_y[l] += dy;
      lay->sub_y[l] += dy;
    }
  for (int q = 0; q < lay->edge_off[lay->depth]; q++)
    {
      lay->edges[q].x += dx;
      lay->edges[q].y += dy;
    }
}

void
kan_layout_zoom (KanLayout *lay,
                 double     zoom)
{
  g_return_if_fail (lay != NULL);
  g_return_if_fail (zoom > 0);

  lay->x0 *= zoom;
  lay->y0 *= zoom;
  lay->width *= zoom;
  lay->height *= zoom;
  for (int q = 0; q < lay->node_off[lay->depth + 1]; q++)
    lay->node_x[q] *= zoom;
  for (int q = 0; q < lay->sub_off[lay->depth + 1]; q++)
    lay->sub_x[q] *= zoom;
  for (int l = 0; l <= lay->depth; l++)
    {
      lay->layer_y[l] *= zoom;
      lay->sub_y[l] *= zoom;
      lay->node_r[l] *= zoom;
      lay->node_hit[l] *= zoom;
    }
  for (int l = 0; l < lay->depth; l++)
    lay->box[l] *= zoom;
  for (int q = 0; q < lay->edge_off[lay->depth]; q++)
    {
      lay->edges[q].x *= zoom;
      lay->edges[q].y *= zoom;
      lay->edges[q].w *= zoom;
      lay->edges[q].h *= zoom;
    }
  lay->font = layout_font (lay->width, lay->height);
  lay->line_w = layout_line_width (lay->width, lay->height);
}

gboolean
kan_layout_edge_plots (const KanLayout *lay,
                       int              l)
{
  g_return_val_if_fail (lay != NULL, FALSE);
  return l >= 0 && l < lay->depth && lay->box[l] >= KAN_RENDER_PLOT_MIN;
}

KanRect
kan_layout_edge_box (const KanLayout *lay,
                     int l, int i, int j)
{
  KanRect none = { 0, 0, 0, 0 };

  g_return_val_if_fail (lay != NULL, none);
  if (l < 0 || l >= lay->depth || i < 0 || i >= lay->edge_in[l] || j < 0
      || j >= lay->edge_out[l])
    return none;
  return lay->edges[lay->edge_off[l] + i * lay->edge_out[l] + j];
}

static double
node_radius (const KanLayout *lay, int l, int i)
{
  /* A product's ring is a little larger than a dot so its × reads. */
  return lay->node_mult[lay->node_off[l] + i] ? 1.3 * lay->node_r[l] : lay->node_r[l];
}

KanRect
kan_layout_node_box (const KanLayout *lay,
                     int l, int i)
{
  KanRect r = { 0, 0, 0, 0 };
  double rad;

  g_return_val_if_fail (lay != NULL, r);
  if (l < 0 || l > lay->depth || i < 0 || i >= lay->n_nodes[l])
    return r;
  rad = node_radius (lay, l, i);
  r.x = lay->node_x[lay->node_off[l] + i] - rad;
  r.y = lay->layer_y[l] - rad;
  r.w = r.h = 2 * rad;
  return r;
}

static gboolean
in_rect (const KanRect *r, double x, double y)
{
  return x >= r->x && x <= r->x + r->w && y >= r->y && y <= r->y + r->h;
}

gboolean
kan_layout_hit (const KanLayout *lay,
                double           x,
                double           y,
                int             *l,
                int             *i,
                int             *j)
{
  int hl = -1, hi = -1, hj = -1;

  g_return_val_if_fail (lay != NULL, FALSE);

  for (int k = 0; k <= lay->depth && hl < 0; k++)
    {
      double h = MAX (lay->node_hit[k], node_radius (lay, k, 0));
      if (fabs (y - lay->layer_y[k]) > h)
        continue;
      for (int q = 0; q < lay->n_nodes[k]; q++)
        if (fabs (x - lay->node_x[lay->node_off[k] + q]) <= MAX (lay->node_hit[k],
                                                                 node_radius (lay, k, q)))
          {
            hl = k;
            hi = q;
            break;
          }
    }
  for (int k = 0; k < lay->depth && hl < 0; k++)
    {
      int out = lay->edge_out[k], N = lay->edge_in[k] * out;
      const KanRect *first = &lay->edges[lay->edge_off[k]];
      int R = lay->rows[k];
      double top = first->y, bottom = first->y + first->h, slot;
      int id;

      for (int c = 1; c < MIN (R, N); c++)
        {
          top = MIN (top, lay->edges[lay->edge_off[k] + c].y);
          bottom = MAX (bottom, lay->edges[lay->edge_off[k] + c].y + first->h);
        }
      if (N == 0 || y < top || y > bottom)
        continue;
      /* Boxes of a layer are equal and evenly spaced: only slots near X can hold it. */
      slot = N > 1 ? lay->edges[lay->edge_off[k] + 1].x - first->x : first->w;
      id = (int) floor ((x - first->x - 0.5 * first->w) / slot + 0.5);
      for (int c = MAX (id - R - 1, 0); c <= MIN (id + R + 1, N - 1); c++)
        if (in_rect (&lay->edges[lay->edge_off[k] + c], x, y))
          {
            hl = k;
            hi = c / out;
            hj = c % out;
            break;
          }
    }
  if (l)
    *l = hl;
  if (i)
    *i = hi;
  if (j)
    *j = hj;
  return hl >= 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Network                                                                                     */

static gboolean
is_selected (const KanRenderStyle *st, int l, int i, int j)
{
  return st->sel_l == l && st->sel_i == i && st->sel_j == j;
}

static gboolean
is_marked_node (const KanRenderStyle *st, int l, int i)
{
  const KanRenderMarks *m = st->marks;

  for (int q = 0; m && q < m->n_nodes; q++)
    if (m->nodes[2 * q] == l && m->nodes[2 * q + 1] == i)
      return TRUE;
  return FALSE;
}

/* Edge (l,i,j) is marked, or a node it joins is (it goes with the node). */
static gboolean
is_marked_edge (const KanRenderStyle *st, const KanSnapshot *s, int l, int i, int j)
{
  const KanRenderMarks *m = st->marks;

  if (m == NULL)
    return FALSE;
  for (int q = 0; q < m->n_edges; q++)
    if (m->edges[3 * q] == l && m->edges[3 * q + 1] == i && m->edges[3 * q + 2] == j)
      return TRUE;
  return is_marked_node (st, l, i) || is_marked_node (st, l + 1, subnode_owner (s, l + 1, j));
}

/* Marked lines are dashed, in steps of a few line widths. */
static void
set_mark_dash (cairo_t *cr, double lw)
{
  double dash[2] = { MAX (3.0 * lw, 2.0), MAX (2.0 * lw, 1.5) };

  cairo_set_dash (cr, dash, 2, 0);
}

/* A polyline's next point: a line to it, or (the pen up) a move there. */
static void
pen_to (cairo_t  *cr,
        gboolean *pen,
        double    x,
        double    y)
{
  if (*pen)
    cairo_line_to (cr, x, y);
  else
    cairo_move_to (cr, x, y);
  *pen = TRUE;
}

/* The curve of E inside box R, from its sampled points; NaN points break the line. */
static void
path_curve (cairo_t *cr, const KanSnapshotEdge *e, const KanRect *r)
{
  double pad = BOX_PAD * r->w;
  double x0 = r->x + pad, y0 = r->y + r->h - pad;
  double sx = (r->w - 2 * pad) / (e->x_max - e->x_min);
  double sy = (r->h - 2 * pad) / (e->y_max - e->y_min);
  gboolean pen = FALSE;

  for (int p = 0; p < KAN_SNAPSHOT_CURVE_POINTS; p++)
    {
      double cx = e->curve_x[p], cy = e->curve_y[p];
      if (!isfinite (cy))
        {
          pen = FALSE;
          continue;
        }
      cy = CLAMP (cy, e->y_min, e->y_max);
      cx = x0 + (cx - e->x_min) * sx;
      cy = y0 - (cy - e->y_min) * sy;
      pen_to (cr, &pen, cx, cy);
    }
}

/* Edge E: its connecting lines and its mini-plot, at the opacity of its score; MARKED, dashed
 * in the warning colour at a fixed opacity. */
static void
draw_edge (cairo_t              *cr,
           const KanSnapshot    *s,
           const KanLayout      *lay,
           const KanRenderStyle *st,
           const KanSnapshotEdge *e,
           gboolean              marked)
{
  const KanRect *r = &lay->edges[lay->edge_off[e->l] + e->i * lay->edge_out[e->l] + e->j];
  double a = kan_render_edge_alpha (st, e->score);
  double c[3];
  double nx = lay->node_x[lay->node_off[e->l] + e->i], ny = lay->layer_y[e->l];
  double tx = lay->sub_x[lay->sub_off[e->l + 1] + e->j], ty = lay->sub_y[e->l + 1];
  double side = r->w;
  gboolean sel = is_selected (st, e->l, e->i, e->j);

  if (sel)
    {
      double pad = MAX (0.08 * side, 2.0);
      cairo_save (cr);
      cairo_rectangle (cr, r->x - pad, r->y - pad, side + 2 * pad, side + 2 * pad);
      set_rgba (cr, st->selected, 0.18);
      cairo_fill_preserve (cr);
      set_rgba (cr, st->selected, 1.0);
      cairo_set_line_width (cr, MAX (1.5, 1.5 * lay->line_w));
      cairo_stroke (cr);
      cairo_restore (cr);
    }
  if (marked)
    a = MARK_ALPHA;
  if (a <= 0.0)
    return;

  if (marked)
    memcpy (c, st->warning, sizeof c);
  else
    kan_render_mode_color (st, e->mode, c);
  cairo_save (cr);
  set_rgba (cr, c, a);
  cairo_set_line_cap (cr, CAIRO_LINE_CAP_BUTT);
  cairo_set_line_width (cr, lay->line_w);
  if (marked)
    set_mark_dash (cr, lay->line_w);
  /* Node → bottom of the box, top of the box → subnode (or node); through the box when it is
   * too small for a plot. */
  cairo_move_to (cr, nx, ny - (lay->node_mult[lay->node_off[e->l] + e->i] ? node_radius (lay, e->l, e->i) : 0));
  cairo_line_to (cr, r->x + 0.5 * side, r->y + side);
  if (!kan_layout_edge_plots (lay, e->l))
    {
      cairo_line_to (cr, r->x + 0.5 * side, r->y);
      cairo_line_to (cr, tx, ty);
      cairo_stroke (cr);
      cairo_restore (cr);
      return;
    }
  cairo_move_to (cr, r->x + 0.5 * side, r->y);
  cairo_line_to (cr, tx, ty);
  cairo_stroke (cr);

  /* The mini-plot: an opaque ground (lines of fainter edges pass behind staggered boxes),
   * then frame and curve at the edge's alpha. */
  cairo_rectangle (cr, r->x, r->y, side, side);
  set_rgba (cr, st->bg, 1.0);
  cairo_fill (cr);
  if (marked)
    {
      /* A tint of the warning colour, and a frame dashed as the lines. */
      cairo_rectangle (cr, r->x, r->y, side, side);
      set_rgba (cr, c, 0.08);
      cairo_fill (cr);
      set_mark_dash (cr, CLAMP (side / 40.0, 0.8, 2.0));
    }
  set_rgba (cr, c, a);
  cairo_set_line_width (cr, marked ? CLAMP (side / 40.0, 0.8, 2.0) : CLAMP (side / 70.0, 0.5, 1.2));
  cairo_rectangle (cr, r->x, r->y, side, side);
  cairo_stroke (cr);
  cairo_set_dash (cr, NULL, 0, 0);
  cairo_rectangle (cr, r->x, r->y, side, side);
  cairo_clip (cr);
  cairo_set_line_width (cr, CLAMP (side / 26.0, 0.8, 3.5));
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  cairo_set_line_cap (cr, CAIRO_LINE_CAP_ROUND);
  path_curve (cr, e, r);
  cairo_stroke (cr);
  cairo_restore (cr);
}

static void
draw_cross (cairo_t *cr, double x, double y, double h)
{
  cairo_move_to (cr, x - h, y - h);
  cairo_line_to (cr, x + h, y + h);
  cairo_move_to (cr, x - h, y + h);
  cairo_line_to (cr, x + h, y - h);
}

static void
draw_nodes (cairo_t              *cr,
            const KanSnapshot    *s,
            const KanLayout      *lay,
            const KanRenderStyle *st)
{
  cairo_save (cr);
  /* Subnode rows of product layers: small dots, each joined to the node it feeds. */
  for (int l = 1; l <= lay->depth; l++)
    {
      if (lay->sub_y[l] == lay->layer_y[l])
        continue;
      cairo_set_line_width (cr, lay->line_w);
      set_rgba (cr, st->fg, 1.0);
      for (int q = 0; q < lay->n_sub[l]; q++)
        {
          int node = lay->sub_node[lay->sub_off[l] + q];
          double sx = lay->sub_x[lay->sub_off[l] + q];
          cairo_move_to (cr, sx, lay->sub_y[l]);
          cairo_line_to (cr, lay->node_x[lay->node_off[l] + node],
                         lay->layer_y[l] + node_radius (lay, l, node));
        }
      cairo_stroke (cr);
      for (int q = 0; q < lay->n_sub[l]; q++)
        {
          cairo_arc (cr, lay->sub_x[lay->sub_off[l] + q], lay->sub_y[l],
                     MAX (0.45 * lay->node_r[l], 1.2), 0, 2 * G_PI);
          cairo_fill (cr);
        }
    }
  for (int l = 0; l <= lay->depth; l++)
    for (int q = 0; q < lay->n_nodes[l]; q++)
      {
        double x = lay->node_x[lay->node_off[l] + q], y = lay->layer_y[l];
        double rad = node_radius (lay, l, q);

        gboolean marked = is_marked_node (st, l, q);
        const double *ink = marked ? st->warning : st->fg;
        double ink_a = marked ? MARK_ALPHA : 1.0;

        if (lay->node_mult[lay->node_off[l] + q])
          {
            cairo_arc (cr, x, y, rad, 0, 2 * G_PI);
            set_rgba (cr, st->bg, 1.0);
            cairo_fill_preserve (cr);
            set_rgba (cr, ink, ink_a);
            cairo_set_line_width (cr, MAX (1.0, 0.18 * rad));
            cairo_stroke (cr);
            draw_cross (cr, x, y, 0.45 * rad);
            cairo_stroke (cr);
          }
        else
          {
            set_rgba (cr, ink, ink_a);
            cairo_arc (cr, x, y, rad, 0, 2 * G_PI);
            cairo_fill (cr);
          }
        if (marked)
          {
            /* A dashed ring: the node goes. */
            cairo_set_line_width (cr, MAX (1.0, 0.2 * rad));
            set_mark_dash (cr, MAX (1.0, 0.2 * rad));
            cairo_arc (cr, x, y, rad + MAX (0.5 * rad, 2.0), 0, 2 * G_PI);
            cairo_stroke (cr);
            cairo_set_dash (cr, NULL, 0, 0);
          }
        if (is_selected (st, l, q, -1))
          {
            set_rgba (cr, st->selected, 1.0);
            cairo_set_line_width (cr, MAX (1.5, 0.35 * rad));
            cairo_arc (cr, x, y, rad + MAX (0.6 * rad, 2.5), 0, 2 * G_PI);
            cairo_stroke (cr);
          }
      }
  cairo_restore (cr);
}

/* One row of names centred on the nodes of layer L, above (UP) or below; names that would run
 * into their neighbours get a smaller font. */
static void
draw_names (cairo_t              *cr,
            const KanLayout      *lay,
            const KanRenderStyle *st,
            int                   l,
            char *const          *names,
            gboolean              up,
            double                font)
{
  int n = lay->n_nodes[l];
  double slot = n > 1 ? lay->node_x[lay->node_off[l] + 1] - lay->node_x[lay->node_off[l]]
                      : lay->width;
  /* Enlarged text (a style's text_scale) still fits between the node and the picture's edge:
   * the gap below takes 0.45 of the font, a line of text about 1.25. */
  double room = (up ? lay->layer_y[l] - lay->y0 : lay->y0 + lay->height - lay->layer_y[l])
                - lay->node_r[l];
  double gap, y;

  font = MIN (font, room / 1.7);
  gap = lay->node_r[l] + 0.45 * font;
  y = up ? lay->layer_y[l] - gap : lay->layer_y[l] + gap;

  cairo_save (cr);
  set_rgba (cr, st->fg, 1.0);
  for (int q = 0; q < n && names && names[q]; q++)
    {
      double f = font, w;
      font_set (cr, f, FALSE);
      w = text_width (cr, names[q]);
      if (w > 0.92 * slot)
        {
          f = font * 0.92 * slot / w;
          /* Too small to read: the tooltip names the node instead. */
          if (f < KAN_RENDER_LABEL_MIN)
            continue;
          font_set (cr, f, FALSE);
        }
      text_at (cr, names[q], lay->node_x[lay->node_off[l] + q], y, 0.5, up ? 1.0 : 0.0);
    }
  cairo_restore (cr);
}

typedef struct
{
  int    q;
  double key;
} EdgeOrder;

static int
cmp_order (const void *pa, const void *pb)
{
  const EdgeOrder *a = pa, *b = pb;
  if (a->key != b->key)
    return a->key < b->key ? -1 : 1;
  return a->q - b->q;   /* stable */
}

void
kan_render_network_layout (cairo_t              *cr,
                           const KanSnapshot    *s,
                           const KanLayout      *lay,
                           const KanRenderStyle *st)
{
  double font = (st->font_size > 0 ? st->font_size : lay->font)
                * (st->text_scale > 0 ? st->text_scale : 1.0);

  g_return_if_fail (cr != NULL && s != NULL && lay != NULL && st != NULL);
  g_return_if_fail (lay->depth == s->depth && lay->edge_off[lay->depth] == s->n_edges);

  cairo_save (cr);
  cairo_translate (cr, lay->x0, lay->y0);
  paint_bg (cr, st, lay->width, lay->height);
  cairo_restore (cr);
  /* Edges behind nodes, faint ones first so strong ones stay on top. */
  {
    g_autofree EdgeOrder *order = g_new (EdgeOrder, MAX (s->n_edges, 1));
    int n = 0;
    for (int q = 0; q < s->n_edges; q++)
      {
        const KanSnapshotEdge *e = &s->edges[q];
        gboolean sel = is_selected (st, e->l, e->i, e->j);
        gboolean marked;
        if (e->mode == KAN_EDGE_OFF && !sel)
          continue;
        marked = is_marked_edge (st, s, e->l, e->i, e->j);
        /* Edges too faint to matter may be left out, so the strong ones read in a dense net. */
        if (!sel && !marked && kan_render_edge_alpha (st, e->score) < st->hide_below)
          continue;
        order[n].q = q;
        /* The selected edge last, so its frame is not covered; marked ones above the rest. */
        order[n].key = sel ? 2.0 : e->mode == KAN_EDGE_OFF ? 0.0
                       : marked ? 1.5
                       : kan_render_edge_alpha (st, e->score);
        n++;
      }
    qsort (order, n, sizeof *order, cmp_order);
    for (int q = 0; q < n; q++)
      {
        const KanSnapshotEdge *e = &s->edges[order[q].q];
        if (e->mode == KAN_EDGE_OFF)
          {
            /* Pruned: only the selection frame, so the user sees what is selected. */
            KanSnapshotEdge off = *e;
            off.score = 0.0;
            draw_edge (cr, s, lay, st, &off, FALSE);
          }
        else
          draw_edge (cr, s, lay, st, e, is_marked_edge (st, s, e->l, e->i, e->j));
      }
  }
  draw_nodes (cr, s, lay, st);
  draw_names (cr, lay, st, 0, s->in_names, FALSE, font);
  draw_names (cr, lay, st, s->depth, s->out_names, TRUE, font);
}

void
kan_render_network (cairo_t              *cr,
                    const KanSnapshot    *s,
                    const KanRenderStyle *st,
                    double                width,
                    double                height)
{
  g_autoptr (KanLayout) lay = NULL;

  g_return_if_fail (cr != NULL && s != NULL && st != NULL);
  lay = kan_layout_new (s, width, height);
  kan_render_network_layout (cr, s, lay, st);
}

/* ------------------------------------------------------------------------------------------ */
/* Axes                                                                                        */

typedef struct
{
  double x, y, w, h;        /* plot area in device units */
  double x0, x1, y0, y1;    /* data range (y in log10 for log axes) */
} Axes;

static double
ax_x (const Axes *a, double v)
{
  return a->x + (v - a->x0) / (a->x1 - a->x0) * a->w;
}

static double
ax_y (const Axes *a, double v)
{
  return a->y + a->h - (v - a->y0) / (a->y1 - a->y0) * a->h;
}

/* A step of 1, 2 or 5 × 10^k giving about TARGET intervals over SPAN. */
static double
nice_step (double span, int target)
{
  double raw = span / MAX (target, 1), mag, f;

  if (!(raw > 0) || !isfinite (raw))
    return 1.0;
  mag = pow (10.0, floor (log10 (raw)));
  f = raw / mag;
  return (f < 1.5 ? 1.0 : f < 3.5 ? 2.0 : f < 7.5 ? 5.0 : 10.0) * mag;
}

static void
fmt_tick (char *buf, size_t size, double v, double step)
{
  int dec = step >= 1 ? 0 : (int) ceil (-log10 (step) - 1e-9);
  if (fabs (v) < 1e-9 * step)
    v = 0.0;
  if ((fabs (v) >= 1e5 || (fabs (v) < 1e-3 && v != 0.0)))
    snprintf (buf, size, "%.2g", v);
  else
    snprintf (buf, size, "%.*f", MIN (dec, 6), v);
  /* A typographic minus. */
  if (buf[0] == '-')
    {
      g_autofree char *t = g_strconcat ("\xe2\x88\x92", buf + 1, NULL);
      g_strlcpy (buf, t, size);
    }
}

static void
axes_frame (cairo_t *cr, const Axes *a, const KanRenderStyle *st, double lw)
{
  cairo_save (cr);
  set_rgba (cr, st->fg, 1.0);
  cairo_set_line_width (cr, lw);
  cairo_rectangle (cr, a->x, a->y, a->w, a->h);
  cairo_stroke (cr);
  cairo_restore (cr);
}

/* Linear ticks, labels and faint grid lines along X (VERTICAL FALSE) or Y. */
static void
axes_ticks_linear (cairo_t *cr, const Axes *a, const KanRenderStyle *st, gboolean vertical,
                   double font, double lw, int target, gboolean integer)
{
  double lo = vertical ? a->y0 : a->x0, hi = vertical ? a->y1 : a->x1;
  double step = nice_step (hi - lo, target);

  if (integer)
    step = MAX (step, 1.0);
  double tick = 0.35 * font;

  cairo_save (cr);
  font_set (cr, font, FALSE);
  cairo_set_line_width (cr, lw);
  for (double v = ceil (lo / step - 1e-9) * step; v <= hi + 1e-9 * step; v += step)
    {
      char buf[48];
      fmt_tick (buf, sizeof buf, v, step);
      if (vertical)
        {
          double y = ax_y (a, v);
          set_rgba (cr, st->fg, 0.10);
          cairo_move_to (cr, a->x, y);
          cairo_line_to (cr, a->x + a->w, y);
          cairo_stroke (cr);
          set_rgba (cr, st->fg, 1.0);
          cairo_move_to (cr, a->x, y);
          cairo_line_to (cr, a->x + tick, y);
          cairo_stroke (cr);
          text_at (cr, buf, a->x - 0.4 * font, y, 1.0, 0.5);
        }
      else
        {
          double x = ax_x (a, v);
          set_rgba (cr, st->fg, 0.10);
          cairo_move_to (cr, x, a->y);
          cairo_line_to (cr, x, a->y + a->h);
          cairo_stroke (cr);
          set_rgba (cr, st->fg, 1.0);
          cairo_move_to (cr, x, a->y + a->h);
          cairo_line_to (cr, x, a->y + a->h - tick);
          cairo_stroke (cr);
          text_at (cr, buf, x, a->y + a->h + 0.35 * font, 0.5, 0.0);
        }
    }
  cairo_restore (cr);
}

/* "M×10^E" (or "10^E" for M = 1) with a raised exponent, right-aligned at (X, Y middle). */
static void
text_pow10 (cairo_t *cr, int mant, int e, double x, double y, double font)
{
  char exp_buf[16], mant_buf[16];
  double we, wb;

  snprintf (exp_buf, sizeof exp_buf, e < 0 ? "\xe2\x88\x92%d" : "%d", abs (e));
  font_set (cr, 0.72 * font, FALSE);
  we = text_width (cr, exp_buf);
  text_at (cr, exp_buf, x, y - 0.35 * font, 1.0, 0.5);
  font_set (cr, font, FALSE);
  wb = text_at (cr, "10", x - we - 0.05 * font, y, 1.0, 0.5);
  if (mant != 1)
    {
      snprintf (mant_buf, sizeof mant_buf, "%d\xc3\x97", mant);
      text_at (cr, mant_buf, x - we - 0.05 * font - wb, y, 1.0, 0.5);
    }
}

/* Ticks at powers of ten along a log10 Y axis (a->y0, a->y1 are exponents); on short ranges
 * also at 2 and 5 (or every mantissa), labelled, so there are always a few labels. */
static void
axes_ticks_log (cairo_t *cr, const Axes *a, const KanRenderStyle *st, double font, double lw)
{
  int e0 = (int) floor (a->y0), e1 = (int) ceil (a->y1);
  int every = MAX (1, (e1 - e0 + 5) / 6);
  double span = a->y1 - a->y0;
  double tick = 0.35 * font;

  cairo_save (cr);
  cairo_set_line_width (cr, lw);
  for (int e = e0; e <= e1; e++)
    for (int m = 1; m <= 9; m++)
      {
        double v = e + log10 ((double) m), y;
        gboolean major = m == 1;
        gboolean label = major ? (e - e0) % every == 0
                               : span < 0.5 || (span < 1.3 && (m == 2 || m == 5));
        if (v < a->y0 - 1e-9 || v > a->y1 + 1e-9)
          continue;
        if (!major && span >= 5)
          continue;
        y = ax_y (a, v);
        set_rgba (cr, st->fg, major ? 0.12 : 0.05);
        cairo_move_to (cr, a->x, y);
        cairo_line_to (cr, a->x + a->w, y);
        cairo_stroke (cr);
        set_rgba (cr, st->fg, 1.0);
        cairo_move_to (cr, a->x, y);
        cairo_line_to (cr, a->x + (major ? tick : 0.5 * tick), y);
        cairo_stroke (cr);
        if (label)
          text_pow10 (cr, m, e, a->x - 0.4 * font, y, major ? font : 0.85 * font);
      }
  cairo_restore (cr);
}

static void
text_vertical (cairo_t *cr, const char *text, double x, double y)
{
  cairo_save (cr);
  cairo_translate (cr, x, y);
  cairo_rotate (cr, -G_PI / 2);
  text_at (cr, text, 0, 0, 0.5, 0.5);
  cairo_restore (cr);
}

static double
plot_font (const KanRenderStyle *st, double width, double height)
{
  return st->font_size > 0 ? st->font_size : CLAMP (MIN (width, 1.3 * height) / 36.0, 7.0, 18.0);
}

/* ------------------------------------------------------------------------------------------ */
/* Edge plot                                                                                   */

#define EDGE_PLOT_POINTS 400

static void
message_centered (cairo_t *cr, const KanRenderStyle *st, const char *msg, double width,
                  double height, double font)
{
  cairo_save (cr);
  font_set (cr, font, FALSE);
  set_rgba (cr, st->fg, 0.6);
  text_at (cr, msg, 0.5 * width, 0.5 * height, 0.5, 0.5);
  cairo_restore (cr);
}

/* The curve of edge E at EDGE_PLOT_POINTS inputs XS over its range: YS what the model computes
 * (0 for a pruned edge, NaN without a model), and when LOCKED, ZS its symbolic form. */
static void
edge_plot_sample (const KanSnapshot     *s,
                  const KanSnapshotEdge *e,
                  gboolean               locked,
                  double                *xs,
                  double                *ys,
                  double                *zs)
{
  for (int p = 0; p < EDGE_PLOT_POINTS; p++)
    xs[p] = e->x_min + (e->x_max - e->x_min) * p / (EDGE_PLOT_POINTS - 1);
  if (s->model != NULL)
    kan_model_edge_eval (s->model, e->l, e->i, e->j, xs, EDGE_PLOT_POINTS, ys);
  else
    for (int p = 0; p < EDGE_PLOT_POINTS; p++)
      ys[p] = NAN;
  if (e->mode == KAN_EDGE_OFF)
    for (int p = 0; p < EDGE_PLOT_POINTS; p++)
      ys[p] = 0.0;
  if (locked)
    for (int p = 0; p < EDGE_PLOT_POINTS; p++)
      zs[p] = e->abcd[2] * kan_sym_eval (e->sym_id, e->abcd[0] * xs[p] + e->abcd[1], 0.0, NULL)
              + e->abcd[3];
}

/* The plot area inside WIDTH × HEIGHT (room for labels in FONT) and the data range: the edge's
 * input range and the range of its samples and of the curve YS, with a margin. FALSE when the
 * area is too small to draw in. */
static gboolean
edge_plot_axes (const KanSnapshotEdge *e,
                const double          *ys,
                double                 width,
                double                 height,
                double                 font,
                Axes                  *a)
{
  double pad = 0.03 * (e->x_max - e->x_min), ylo = e->y_min, yhi = e->y_max, ypad;

  a->x = 4.6 * font;
  a->y = 2.4 * font;
  a->w = width - a->x - 1.2 * font;
  a->h = height - a->y - 3.4 * font;
  if (a->w < 10 || a->h < 10)
    return FALSE;
  for (int p = 0; p < EDGE_PLOT_POINTS; p++)
    if (isfinite (ys[p]))
      {
        ylo = MIN (ylo, ys[p]);
        yhi = MAX (yhi, ys[p]);
      }
  ypad = 0.08 * (yhi - ylo);
  if (!(ypad > 0))
    ypad = 0.5;
  a->x0 = e->x_min - pad;
  a->x1 = e->x_max + pad;
  a->y0 = ylo - ypad;
  a->y1 = yhi + ypad;
  return TRUE;
}

/* The polyline of VS over XS in A; NaN values break it, far-off ones are kept finite for Cairo
 * (the caller's clip hides them). */
static void
path_series (cairo_t      *cr,
             const Axes   *a,
             const double *xs,
             const double *vs)
{
  double span = a->y1 - a->y0;
  gboolean pen = FALSE;

  for (int p = 0; p < EDGE_PLOT_POINTS; p++)
    {
      double v = vs[p];
      if (!isfinite (v))
        {
          pen = FALSE;
          continue;
        }
      v = CLAMP (v, a->y0 - 10 * span, a->y1 + 10 * span);
      pen_to (cr, &pen, ax_x (a, xs[p]), ax_y (a, v));
    }
}

/* Inside the plot area: the traced samples, the edge's curve in its mode's colour C and, when
 * LOCKED, the symbolic curve ZS dashed in the accent colour. */
static void
edge_plot_curves (cairo_t               *cr,
                  const KanSnapshotEdge *e,
                  const KanRenderStyle  *st,
                  const Axes            *a,
                  const double          *c,
                  double                 lw,
                  gboolean               locked,
                  const double          *xs,
                  const double          *ys,
                  const double          *zs)
{
  double rad = CLAMP (MIN (a->w, a->h) / 130.0, 1.5, 5.0);

  cairo_save (cr);
  cairo_rectangle (cr, a->x, a->y, a->w, a->h);
  cairo_clip (cr);
  /* The traced samples under the curve: they lie on it, so they show as a halo whose
   * density is the data's. */
  set_rgba (cr, st->selected, 0.40);
  for (int p = 0; p < e->n_samples; p++)
    {
      cairo_new_sub_path (cr);
      cairo_arc (cr, ax_x (a, e->sample_x[p]), ax_y (a, e->sample_y[p]), rad, 0, 2 * G_PI);
    }
  cairo_fill (cr);
  set_rgba (cr, c, e->mode == KAN_EDGE_OFF ? 0.35 : 1.0);
  cairo_set_line_width (cr, 2.2 * lw);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  path_series (cr, a, xs, ys);
  cairo_stroke (cr);
  if (locked)
    {
      double dash[2] = { 4 * lw, 3 * lw };
      set_rgba (cr, st->accent, 1.0);
      cairo_set_line_width (cr, 1.6 * lw);
      cairo_set_dash (cr, dash, 2, 0);
      path_series (cr, a, xs, zs);
      cairo_stroke (cr);
      cairo_set_dash (cr, NULL, 0, 0);
    }
  cairo_restore (cr);
}

/* The title (edge, where it runs from and to), its mode and score, and the axis labels. */
static void
edge_plot_labels (cairo_t               *cr,
                  const KanSnapshot     *s,
                  const KanSnapshotEdge *e,
                  const KanRenderStyle  *st,
                  const Axes            *a,
                  double                 font,
                  double                 height)
{
  int l = e->l, i = e->i, j = e->j;
  const char *src = l == 0 && s->in_names && s->in_names[i] ? s->in_names[i] : NULL;
  int node = subnode_owner (s, l + 1, j);
  g_autofree char *title = NULL, *from = NULL, *to = NULL, *right = NULL;

  from = src ? g_strdup (src) : g_strdup_printf ("node (%d,%d)", l, i);
  if (l + 1 == s->depth && node < s->n_sum[l + 1] && s->out_names && s->out_names[node])
    to = g_strdup (s->out_names[node]);
  else
    to = g_strdup_printf ("node (%d,%d)", l + 1, node);
  title = g_strdup_printf ("edge (%d,%d,%d)   %s \xe2\x86\x92 %s", l, i, j, from, to);
  right = g_strdup_printf ("%s \xc2\xb7 score %.3g", kan_edge_mode_name (e->mode), e->score);
  set_rgba (cr, st->fg, 1.0);
  font_set (cr, font, TRUE);
  text_at (cr, title, a->x, 0.55 * font, 0.0, 0.0);
  font_set (cr, font, FALSE);
  text_at (cr, right, a->x + a->w, 0.55 * font, 1.0, 0.0);
  text_at (cr, src ? src : "x", a->x + 0.5 * a->w, height - 0.35 * font, 0.5, 1.0);
  text_vertical (cr, "\xcf\x86(x)", 0.9 * font, a->y + 0.5 * a->h);
}

/* For a locked edge: a legend of the two curves, the second with the edge's formula. */
static void
edge_plot_legend (cairo_t               *cr,
                  const KanSnapshotEdge *e,
                  const KanRenderStyle  *st,
                  const Axes            *a,
                  const double          *c,
                  double                 font,
                  double                 lw)
{
  g_autofree char *f = kan_formula_edge_to_string (e->sym_id, e->abcd, 3);
  double lx = a->x + 0.8 * font, ly = a->y + 0.9 * font, len = 2.2 * font;
  double dash[2] = { 4 * lw, 3 * lw };

  font_set (cr, 0.9 * font, FALSE);
  set_rgba (cr, c, 1.0);
  cairo_set_line_width (cr, 2.2 * lw);
  cairo_move_to (cr, lx, ly);
  cairo_line_to (cr, lx + len, ly);
  cairo_stroke (cr);
  set_rgba (cr, st->fg, 1.0);
  text_at (cr, "edge", lx + len + 0.4 * font, ly, 0.0, 0.5);
  ly += 1.3 * font;
  set_rgba (cr, st->accent, 1.0);
  cairo_set_line_width (cr, 1.6 * lw);
  cairo_set_dash (cr, dash, 2, 0);
  cairo_move_to (cr, lx, ly);
  cairo_line_to (cr, lx + len, ly);
  cairo_stroke (cr);
  cairo_set_dash (cr, NULL, 0, 0);
  set_rgba (cr, st->fg, 1.0);
  text_at (cr, f, lx + len + 0.4 * font, ly, 0.0, 0.5);
}

void
kan_render_edge_plot (cairo_t              *cr,
                      const KanSnapshot    *s,
                      int l, int i, int j,
                      const KanRenderStyle *st,
                      double                width,
                      double                height)
{
  const KanSnapshotEdge *e;
  double font, lw, c[3];
  double xs[EDGE_PLOT_POINTS], ys[EDGE_PLOT_POINTS], zs[EDGE_PLOT_POINTS];
  gboolean locked;
  Axes a;

  g_return_if_fail (cr != NULL && s != NULL && st != NULL);
  font = plot_font (st, width, height);
  lw = CLAMP (MIN (width, height) / 400.0, 0.8, 2.0);
  paint_bg (cr, st, width, height);
  e = kan_snapshot_edge (s, l, i, j);
  if (e == NULL)
    {
      message_centered (cr, st, "no such edge", width, height, font);
      return;
    }
  locked = (e->mode == KAN_EDGE_SYMBOLIC || e->mode == KAN_EDGE_BOTH) && e->sym_id >= 0;
  edge_plot_sample (s, e, locked, xs, ys, zs);
  if (!edge_plot_axes (e, ys, width, height, font, &a))
    return;

  cairo_save (cr);
  axes_ticks_linear (cr, &a, st, FALSE, font, lw, (int) MAX (3, a.w / (8 * font)), FALSE);
  axes_ticks_linear (cr, &a, st, TRUE, font, lw, (int) MAX (3, a.h / (4.5 * font)), FALSE);
  kan_render_mode_color (st, e->mode, c);
  edge_plot_curves (cr, e, st, &a, c, lw, locked, xs, ys, zs);
  axes_frame (cr, &a, st, lw);
  edge_plot_labels (cr, s, e, st, &a, font, height);
  if (locked)
    edge_plot_legend (cr, e, st, &a, c, font, lw);
  cairo_restore (cr);
}

/* ------------------------------------------------------------------------------------------ */
/* Loss plot                                                                                   */

static gboolean
loss_ok (double v)
{
  return isfinite (v) && v > 0.0;
}

static void
loss_series (cairo_t *cr, const Axes *a, const double *v, int n, double lw)
{
  gboolean pen = FALSE;
  int count = 0, last = -1;

  for (int p = 0; p < n; p++)
    {
      double x, y;
      if (!loss_ok (v[p]))
        {
          pen = FALSE;
          continue;
        }
      x = n > 1 ? ax_x (a, p + 1) : a->x + 0.5 * a->w;
      y = ax_y (a, log10 (v[p]));
      if (pen)
        cairo_line_to (cr, x, y);
      else
        cairo_move_to (cr, x, y);
      pen = TRUE;
      count++;
      last = p;
    }
  cairo_set_line_width (cr, lw);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  cairo_stroke (cr);
  /* Isolated points (one step, or between NaNs) would be invisible as a path: mark them. */
  for (int p = 0; p < n; p++)
    {
      gboolean alone = loss_ok (v[p]) && (p == 0 || !loss_ok (v[p - 1]))
                       && (p == n - 1 || !loss_ok (v[p + 1]));
      if (alone || (count <= 40 && loss_ok (v[p])))
        {
          double x = n > 1 ? ax_x (a, p + 1) : a->x + 0.5 * a->w;
          cairo_new_sub_path (cr);
          cairo_arc (cr, x, ax_y (a, log10 (v[p])), 1.6 * lw, 0, 2 * G_PI);
        }
    }
  cairo_fill (cr);
  (void) last;
}

/* The axes of a plot over steps 1 … N (the loss and accuracy plots): the background, the plot
 * box with Y from Y0 to Y1, and the steps ticked along X; sets FONT and LW. FALSE (nothing
 * more to draw) where the box would be too small. */
static gboolean
step_plot_axes (cairo_t              *cr,
                const KanRenderStyle *st,
                int                   n,
                double                y0,
                double                y1,
                double                width,
                double                height,
                double               *font,
                double               *lw,
                Axes                 *a)
{
  *font = plot_font (st, width, height);
  *lw = CLAMP (MIN (width, height) / 300.0, 0.8, 2.0);
  paint_bg (cr, st, width, height);
  a->x = 5.2 * *font;
  a->y = 1.0 * *font;
  a->w = width - a->x - 1.0 * *font;
  a->h = height - a->y - 3.2 * *font;
  if (a->w < 10 || a->h < 10)
    return FALSE;
  a->x0 = 1;
  a->x1 = MAX (n, 2);
  a->y0 = y0;
  a->y1 = y1;
  axes_ticks_linear (cr, a, st, FALSE, *font, *lw,
                     (int) MAX (2, MIN (a->w / (5 * *font), a->x1 - 1)), TRUE);
  return TRUE;
}

/* The frame of a step plot and its names: "step" along X, NAME along Y. */
static void
step_plot_frame (cairo_t              *cr,
                 const KanRenderStyle *st,
                 const Axes           *a,
                 const char           *name,
                 double                font,
                 double                lw,
                 double                height)
{
  axes_frame (cr, a, st, lw);
  set_rgba (cr, st->fg, 1.0);
  font_set (cr, font, FALSE);
  text_at (cr, "step", a->x + 0.5 * a->w, height - 0.3 * font, 0.5, 1.0);
  text_vertical (cr, name, 0.8 * font, a->y + 0.5 * a->h);
}

void
kan_render_loss_plot (cairo_t              *cr,
                      const double         *train,
                      const double         *test,
                      int                   n,
                      const char           *name,
                      const KanRenderStyle *st,
                      double                width,
                      double                height)
{
  double font, lw, lo = INFINITY, hi = -INFINITY, y0 = -3, y1 = 0;
  gboolean has_train = FALSE, has_test = FALSE;
  Axes a;

  g_return_if_fail (cr != NULL && st != NULL);
  if (name == NULL)
    name = "RMSE";
  for (int p = 0; p < n; p++)
    {
      if (train && loss_ok (train[p]))
        {
          has_train = TRUE;
          lo = MIN (lo, train[p]);
          hi = MAX (hi, train[p]);
        }
      if (test && loss_ok (test[p]))
        {
          has_test = TRUE;
          lo = MIN (lo, test[p]);
          hi = MAX (hi, test[p]);
        }
    }
  if (has_train || has_test)
    {
      double l0 = log10 (lo), l1 = log10 (hi), pad = MAX (0.05 * (l1 - l0), 0.15);
      y0 = l0 - pad;
      y1 = l1 + pad;
    }
  if (!step_plot_axes (cr, st, n, y0, y1, width, height, &font, &lw, &a))
    return;
  cairo_save (cr);
  axes_ticks_log (cr, &a, st, font, lw);

  if (has_train || has_test)
    {
      cairo_save (cr);
      cairo_rectangle (cr, a.x, a.y, a.w, a.h);
      cairo_clip (cr);
      if (has_test)
        {
          set_rgba (cr, st->accent, 1.0);
          loss_series (cr, &a, test, n, 1.6 * lw);
        }
      if (has_train)
        {
          set_rgba (cr, st->fg, 1.0);
          loss_series (cr, &a, train, n, 1.6 * lw);
        }
      cairo_restore (cr);
    }
  else
    {
      g_autofree char *none = g_strdup_printf ("no finite %s to show", name);
      message_centered (cr, st, n == 0 ? "no steps yet" : none, width, height - 2 * font, font);
    }
  step_plot_frame (cr, st, &a, name, font, lw, height);

  /* Legend, top right. */
  {
    const char *names[2] = { "train", "test" };
    const double *cols[2] = { st->fg, st->accent };
    gboolean on[2] = { has_train, has_test };
    double len = 1.8 * font, x = a.x + a.w - 0.6 * font, y = a.y + 0.9 * font, wmax = 0;
    font_set (cr, 0.9 * font, FALSE);
    for (int q = 0; q < 2; q++)
      wmax = MAX (wmax, text_width (cr, names[q]));
    for (int q = 0; q < 2; q++)
      {
        if (!on[q])
          continue;
        set_rgba (cr, cols[q], 1.0);
        cairo_set_line_width (cr, 1.6 * lw);
        cairo_move_to (cr, x - wmax - 0.4 * font - len, y);
        cairo_line_to (cr, x - wmax - 0.4 * font, y);
        cairo_stroke (cr);
        set_rgba (cr, st->fg, 1.0);
        text_at (cr, names[q], x - wmax, y, 0.0, 0.5);
        y += 1.3 * font;
      }
  }
  cairo_restore (cr);
}

/* ------------------------------------------------------------------------------------------ */
/* Files                                                                                       */

typedef enum { FMT_NONE, FMT_PNG, FMT_SVG, FMT_PDF } FileFormat;

static FileFormat
format_for (const char *path)
{
  const char *dot = strrchr (path, '.');
  const char *slash = strrchr (path, G_DIR_SEPARATOR);

  if (dot == NULL || (slash != NULL && dot < slash))
    return FMT_NONE;
  if (g_ascii_strcasecmp (dot, ".png") == 0)
    return FMT_PNG;
  if (g_ascii_strcasecmp (dot, ".svg") == 0)
    return FMT_SVG;
  if (g_ascii_strcasecmp (dot, ".pdf") == 0)
    return FMT_PDF;
  return FMT_NONE;
}

gboolean
kan_render_func_to_file (const char    *path,
                         double         width,
                         double         height,
                         KanRenderFunc  func,
                         gpointer       user_data,
                         GError       **error)
{
  FileFormat fmt;
  g_autoptr (GError) local = NULL;
  const char *tmp = NULL;
  KanFileTemp *temp;
  cairo_surface_t *surf = NULL;
  cairo_t *cr;
  cairo_status_t status;

  g_return_val_if_fail (path != NULL && func != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  fmt = format_for (path);
  if (fmt == FMT_NONE)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "%s: unknown picture format (use .png, .svg or .pdf)", path);
      return FALSE;
    }
  if (!(width >= 1 && height >= 1 && width <= 32767 && height <= 32767))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "%s: picture size %g × %g is out of range (1 … 32767)", path, width, height);
      return FALSE;
    }

  /* A PNG is drawn in memory first: 4 bytes a pixel. */
  if (fmt == FMT_PNG && width * height > KAN_RENDER_MAX_PIXELS)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "%s: a %g × %g PNG would need %.3g GiB; at most %.0f megapixels are drawn "
                   "(use .svg or .pdf for larger pictures)", path, width, height,
                   4.0 * width * height / 1073741824.0, KAN_RENDER_MAX_PIXELS / 1e6);
      return FALSE;
    }
  /* A new temporary file beside PATH (kan-file.h: never through an existing name, keeping the
   * mode of the file it replaces), renamed over PATH once complete. */
  temp = kan_file_temp_new (path, &tmp, error);
  if (temp == NULL)
    return FALSE;

  switch (fmt)
    {
    case FMT_PNG:
      surf = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, (int) ceil (width),
                                         (int) ceil (height));
      break;
    case FMT_SVG:
      surf = cairo_svg_surface_create (tmp, width, height);
      break;
    case FMT_PDF:
      surf = cairo_pdf_surface_create (tmp, width, height);
      break;
    case FMT_NONE:
    default:
      g_assert_not_reached ();
    }
  cr = cairo_create (surf);
  func (cr, width, height, user_data);
  status = cairo_status (cr);
  cairo_destroy (cr);
  if (status == CAIRO_STATUS_SUCCESS && fmt == FMT_PNG)
    status = cairo_surface_write_to_png (surf, tmp);
  cairo_surface_finish (surf);
  if (status == CAIRO_STATUS_SUCCESS)
    status = cairo_surface_status (surf);
  cairo_surface_destroy (surf);

  if (status != CAIRO_STATUS_SUCCESS)
    {
      kan_file_temp_abort (temp);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: %s", path,
                   cairo_status_to_string (status));
      return FALSE;
    }
  if (!kan_file_temp_commit (temp, &local))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED, local->message);
      return FALSE;
    }
  return TRUE;
}

typedef struct
{
  const KanSnapshot    *s;
  const KanRenderStyle *st;
  int                   l, i, j;
} DrawArgs;

static void
draw_network_cb (cairo_t *cr, double width, double height, gpointer data)
{
  DrawArgs *d = data;
  kan_render_network (cr, d->s, d->st, width, height);
}

static void
draw_edge_cb (cairo_t *cr, double width, double height, gpointer data)
{
  DrawArgs *d = data;
  kan_render_edge_plot (cr, d->s, d->l, d->i, d->j, d->st, width, height);
}

/* Files always get a background, whatever the style says about the widget. */
static void
opaque_style (KanRenderStyle *dst, const KanRenderStyle *st)
{
  *dst = *st;
  dst->transparent = FALSE;
}

gboolean
kan_render_to_file (const KanSnapshot    *s,
                    const KanRenderStyle *st,
                    const char           *path,
                    double                width,
                    double                height,
                    GError              **error)
{
  KanRenderStyle own;
  DrawArgs d = { s, &own, -1, -1, -1 };

  g_return_val_if_fail (s != NULL && st != NULL && path != NULL, FALSE);
  opaque_style (&own, st);
  return kan_render_func_to_file (path, width, height, draw_network_cb, &d, error);
}

gboolean
kan_render_edge_to_file (const KanSnapshot    *s,
                         int l, int i, int j,
                         const KanRenderStyle *st,
                         const char           *path,
                         double                width,
                         double                height,
                         GError              **error)
{
  KanRenderStyle own;
  DrawArgs d = { s, &own, l, i, j };

  g_return_val_if_fail (s != NULL && st != NULL && path != NULL, FALSE);
  if (kan_snapshot_edge (s, l, i, j) == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "the network has no edge (%d,%d,%d)", l, i, j);
      return FALSE;
    }
  opaque_style (&own, st);
  return kan_render_func_to_file (path, width, height, draw_edge_cb, &d, error);
}

/* ------------------------------------------------------------------------------------------ */
/* Classification: accuracy plot and decision regions                                          */

/* Cells of the region grid: about this many pixels a side, at most REGION_MAX_CELLS a side. */
#define REGION_CELL_PX    3.0
#define REGION_MAX_CELLS  240
/* Opacity of a region's colour over the background: from REGION_ALPHA_MIN where the classes
 * tie to REGION_ALPHA_MAX where the model is sure. */
#define REGION_ALPHA_MIN  0.10
#define REGION_ALPHA_MAX  0.35

void
kan_render_class_color (int    k,
                        double c[3])
{
  /* Tableau 10: distinct on light and dark backgrounds, and for the usual colour blindness in
   * the first two (blue, orange). */
  static const double pal[10][3] = {
    { 0.122, 0.467, 0.706 }, { 1.000, 0.498, 0.055 }, { 0.173, 0.627, 0.173 },
    { 0.839, 0.153, 0.157 }, { 0.580, 0.404, 0.741 }, { 0.549, 0.337, 0.294 },
    { 0.890, 0.467, 0.761 }, { 0.498, 0.498, 0.498 }, { 0.737, 0.741, 0.133 },
    { 0.090, 0.745, 0.812 },
  };
  const double *p = pal[((k % 10) + 10) % 10];

  c[0] = p[0];
  c[1] = p[1];
  c[2] = p[2];
}

void
kan_render_accuracy_plot (cairo_t              *cr,
                          const double         *train,
                          const double         *test,
                          int                   n,
                          const KanRenderStyle *st,
                          double                width,
                          double                height)
{
  double font, lw;
  gboolean has[2] = { FALSE, FALSE };
  const double *series[2] = { train, test };
  Axes a;

  g_return_if_fail (cr != NULL && st != NULL);
  for (int q = 0; q < 2; q++)
    for (int p = 0; series[q] && p < n; p++)
      has[q] = has[q] || isfinite (series[q][p]);
  if (!step_plot_axes (cr, st, n, 0, 100, width, height, &font, &lw, &a))
    return;
  cairo_save (cr);
  axes_ticks_linear (cr, &a, st, TRUE, font, lw, (int) MAX (2, MIN (5, a.h / (2.5 * font))),
                     FALSE);
  cairo_save (cr);
  cairo_rectangle (cr, a.x, a.y, a.w, a.h);
  cairo_clip (cr);
  for (int q = 1; q >= 0; q--)
    {
      gboolean pen = FALSE;
      if (!has[q])
        continue;
      set_rgba (cr, q == 0 ? st->fg : st->accent, 1.0);
      for (int p = 0; p < n; p++)
        {
          double x = n > 1 ? ax_x (&a, p + 1) : a.x + 0.5 * a.w;
          double y;
          if (!isfinite (series[q][p]))
            continue;   /* steps without a measurement: the line bridges them */
          y = ax_y (&a, 100 * series[q][p]);
          if (pen)
            cairo_line_to (cr, x, y);
          else
            cairo_move_to (cr, x, y);
          pen = TRUE;
          if (n == 1)
            cairo_arc (cr, x, y, 1.6 * lw, 0, 2 * G_PI);
        }
      cairo_set_line_width (cr, 1.6 * lw);
      cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
      cairo_stroke (cr);
    }
  cairo_restore (cr);
  if (!has[0] && !has[1])
    message_centered (cr, st, n == 0 ? "no steps yet" : "no accuracy to show", width,
                      height - 2 * font, font);
  step_plot_frame (cr, st, &a, "accuracy %", font, lw, height);
  /* The latest values, bottom right (where accuracy curves seldom are). */
  {
    char buf[96] = "";
    double last[2] = { NAN, NAN };
    for (int q = 0; q < 2; q++)
      for (int p = n - 1; series[q] && p >= 0; p--)
        if (isfinite (series[q][p]))
          {
            last[q] = series[q][p];
            break;
          }
    if (isfinite (last[0]) && isfinite (last[1]))
      snprintf (buf, sizeof buf, "train %.1f %%  ·  test %.1f %%", 100 * last[0], 100 * last[1]);
    else if (isfinite (last[0]))
      snprintf (buf, sizeof buf, "train %.1f %%", 100 * last[0]);
    if (buf[0])
      {
        font_set (cr, 0.9 * font, FALSE);
        text_at (cr, buf, a.x + a.w - 0.6 * font, a.y + a.h - 0.6 * font, 1.0, 1.0);
      }
  }
  cairo_restore (cr);
}

gboolean
kan_render_regions_ok (const KanModel   *m,
                       const KanDataset *d)
{
  return m != NULL && kan_model_n_in (m) == 2 && kan_model_n_out (m) >= 2
         && (d == NULL || (d->n_in == 2 && d->n_out >= 1));
}

void
kan_render_regions_frame (const KanDataset     *d,
                          const KanRenderStyle *st,
                          double                width,
                          double                height,
                          KanRect              *plot,
                          double                range[4])
{
  double font = plot_font (st, width, height);
  double lo[2] = { INFINITY, INFINITY }, hi[2] = { -INFINITY, -INFINITY };
  double side;

  for (int part = 0; d != NULL && part < 2; part++)
    {
      const double *x = part == 0 ? d->train_x : d->test_x;
      size_t n = part == 0 ? d->n_train : d->n_test;
      for (size_t b = 0; b < n; b++)
        for (int c = 0; c < 2; c++)
          if (isfinite (x[b * 2 + c]))
            {
              lo[c] = MIN (lo[c], x[b * 2 + c]);
              hi[c] = MAX (hi[c], x[b * 2 + c]);
            }
    }
  for (int c = 0; c < 2; c++)
    {
      double pad;
      if (!(hi[c] > lo[c]))
        {
          double mid = isfinite (lo[c]) ? lo[c] : 0.0;
          lo[c] = mid - 1;
          hi[c] = mid + 1;
        }
      pad = 0.05 * (hi[c] - lo[c]);
      range[2 * c] = lo[c] - pad;
      range[2 * c + 1] = hi[c] + pad;
    }
  /* A square plane (the inputs' ranges stretched to it), left of the legend. */
  side = MAX (10, MIN (width - 5.2 * font - 9 * font, height - 1.2 * font - 3.4 * font));
  plot->x = 5.2 * font;
  plot->y = 1.2 * font;
  plot->w = side;
  plot->h = side;
}

/* The class of each cell of a GX × GY grid over RANGE (row 0 at the top) into CLS, and how sure
 * the model is (softmax of the largest output, rescaled to 0 … 1) into SURE. */
static void
regions_classify (const KanModel *m,
                  const double    range[4],
                  int             gx,
                  int             gy,
                  int            *cls,
                  double         *sure)
{
  int n_out = kan_model_n_out (m);
  size_t n = (size_t) gx * gy;
  g_autofree double *x = g_new (double, 2 * n);
  g_autofree double *out = g_new (double, n * n_out);

  for (int r = 0; r < gy; r++)
    for (int c = 0; c < gx; c++)
      {
        size_t b = (size_t) r * gx + c;
        x[2 * b] = range[0] + (c + 0.5) / gx * (range[1] - range[0]);
        x[2 * b + 1] = range[3] - (r + 0.5) / gy * (range[3] - range[2]);
      }
  kan_model_eval (m, x, n, out);
  for (size_t b = 0; b < n; b++)
    {
      const double *o = out + b * n_out;
      int best = 0;
      double sum = 0;
      for (int q = 1; q < n_out; q++)
        if (o[q] > o[best])
          best = q;
      for (int q = 0; q < n_out; q++)
        sum += exp (o[q] - o[best]);
      cls[b] = isfinite (o[best]) ? best : -1;
      /* 1/sum is the winner's probability, 1/n_out … 1. */
      sure[b] = isfinite (sum) ? CLAMP ((1.0 / sum - 1.0 / n_out) / (1.0 - 1.0 / n_out), 0, 1)
                               : 0.0;
    }
}

static void
regions_points (cairo_t              *cr,
                const KanDataset     *d,
                const KanRenderStyle *st,
                const Axes           *a,
                double                lw)
{
  size_t total = d->n_train + d->n_test;
  double r = CLAMP (a->w / 110.0, 2.0, 5.0) * (total > 2000 ? 0.7 : 1.0);

  for (int part = 1; part >= 0; part--)
    {
      const double *x = part == 0 ? d->train_x : d->test_x;
      const double *y = part == 0 ? d->train_y : d->test_y;
      size_t n = part == 0 ? d->n_train : d->n_test;
      for (size_t b = 0; b < n; b++)
        {
          double px = ax_x (a, x[2 * b]), py = ax_y (a, x[2 * b + 1]), c[3];
          kan_render_class_color ((int) y[b * d->n_out], c);
          cairo_new_path (cr);
          cairo_arc (cr, px, py, r, 0, 2 * G_PI);
          if (part == 0)
            {
              /* Train rows: filled, with a rim in the background colour. */
              set_rgba (cr, c, 1.0);
              cairo_fill_preserve (cr);
              set_rgba (cr, st->bg, 0.9);
              cairo_set_line_width (cr, 0.6 * lw);
              cairo_stroke (cr);
            }
          else
            {
              /* Test rows: rings. */
              set_rgba (cr, c, 1.0);
              cairo_set_line_width (cr, 1.3 * lw);
              cairo_stroke (cr);
            }
        }
    }
}

static void
regions_legend (cairo_t              *cr,
                const KanRenderStyle *st,
                const Axes           *a,
                int                   n_classes,
                const char *const    *class_names,
                double                font)
{
  double x = a->x + a->w + 1.0 * font, y = a->y + 0.6 * font;
  int shown = MIN (n_classes, (int) (a->h / (1.4 * font)) - 3);

  font_set (cr, 0.9 * font, FALSE);
  for (int k = 0; k < shown; k++)
    {
      double c[3];
      char buf[32];
      const char *name = class_names && class_names[k] ? class_names[k] : NULL;
      if (name == NULL)
        {
          snprintf (buf, sizeof buf, "class %d", k);
          name = buf;
        }
      kan_render_class_color (k, c);
      set_rgba (cr, c, 1.0);
      cairo_rectangle (cr, x, y - 0.4 * font, 0.8 * font, 0.8 * font);
      cairo_fill (cr);
      set_rgba (cr, st->fg, 1.0);
      text_at (cr, name, x + 1.2 * font, y, 0.0, 0.5);
      y += 1.4 * font;
    }
  /* What the marks mean. */
  y += 0.4 * font;
  set_rgba (cr, st->fg, 1.0);
  cairo_new_path (cr);
  cairo_arc (cr, x + 0.4 * font, y, 0.3 * font, 0, 2 * G_PI);
  cairo_fill (cr);
  text_at (cr, "train", x + 1.2 * font, y, 0.0, 0.5);
  y += 1.4 * font;
  cairo_set_line_width (cr, 0.12 * font);
  cairo_new_path (cr);
  cairo_arc (cr, x + 0.4 * font, y, 0.3 * font, 0, 2 * G_PI);
  cairo_stroke (cr);
  text_at (cr, "test", x + 1.2 * font, y, 0.0, 0.5);
}

void
kan_render_regions (cairo_t              *cr,
                    const KanModel       *m,
                    const KanDataset     *d,
                    const char *const    *class_names,
                    const KanRenderStyle *st,
                    double                width,
                    double                height)
{
  double font, lw, range[4];
  KanRect plot;
  int gx, gy, n_classes;
  g_autofree int *cls = NULL;
  g_autofree double *sure = NULL;
  Axes a;

  g_return_if_fail (cr != NULL && st != NULL);
  font = plot_font (st, width, height);
  lw = CLAMP (MIN (width, height) / 400.0, 0.8, 2.0);
  paint_bg (cr, st, width, height);
  if (!kan_render_regions_ok (m, d))
    {
      message_centered (cr, st, "decision regions need a classifier with two inputs", width,
                        height, font);
      return;
    }
  kan_render_regions_frame (d, st, width, height, &plot, range);
  a = (Axes) { plot.x, plot.y, plot.w, plot.h, range[0], range[1], range[2], range[3] };
  n_classes = kan_model_n_out (m);

  gx = CLAMP ((int) ceil (a.w / REGION_CELL_PX), 2, REGION_MAX_CELLS);
  gy = CLAMP ((int) ceil (a.h / REGION_CELL_PX), 2, REGION_MAX_CELLS);
  cls = g_new (int, (size_t) gx * gy);
  sure = g_new (double, (size_t) gx * gy);
  regions_classify (m, range, gx, gy, cls, sure);

  /* The grid as a small image (one pixel a cell, premultiplied ARGB), scaled to the plane. */
  {
    cairo_surface_t *img = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, gx, gy);
    unsigned char *px;
    int stride;
    cairo_pattern_t *pat;
    cairo_matrix_t mat;

    cairo_surface_flush (img);
    px = cairo_image_surface_get_data (img);
    stride = cairo_image_surface_get_stride (img);
    for (int r = 0; px != NULL && r < gy; r++)
      for (int c = 0; c < gx; c++)
        {
          size_t b = (size_t) r * gx + c;
          guint32 *p = (guint32 *) (px + (size_t) r * stride) + c;
          double col[3], al;
          if (cls[b] < 0)
            {
              *p = 0;
              continue;
            }
          kan_render_class_color (cls[b], col);
          al = REGION_ALPHA_MIN + (REGION_ALPHA_MAX - REGION_ALPHA_MIN) * sure[b];
          *p = ((guint32) lround (255 * al) << 24) | ((guint32) lround (255 * al * col[0]) << 16)
               | ((guint32) lround (255 * al * col[1]) << 8) | (guint32) lround (255 * al * col[2]);
        }
    cairo_surface_mark_dirty (img);
    cairo_save (cr);
    cairo_rectangle (cr, a.x, a.y, a.w, a.h);
    cairo_clip (cr);
    pat = cairo_pattern_create_for_surface (img);
    cairo_matrix_init_scale (&mat, gx / a.w, gy / a.h);
    cairo_matrix_translate (&mat, -a.x, -a.y);
    cairo_pattern_set_matrix (pat, &mat);
    cairo_pattern_set_filter (pat, CAIRO_FILTER_GOOD);
    cairo_pattern_set_extend (pat, CAIRO_EXTEND_PAD);
    cairo_set_source (cr, pat);
    cairo_paint (cr);
    cairo_pattern_destroy (pat);
    cairo_surface_destroy (img);
  }
  cairo_restore (cr);

  /* Grid lines under the points. */
  axes_ticks_linear (cr, &a, st, FALSE, font, lw, (int) MAX (3, a.w / (6 * font)), FALSE);
  axes_ticks_linear (cr, &a, st, TRUE, font, lw, (int) MAX (3, a.h / (4 * font)), FALSE);
  if (d != NULL)
    {
      cairo_save (cr);
      cairo_rectangle (cr, a.x, a.y, a.w, a.h);
      cairo_clip (cr);
      regions_points (cr, d, st, &a, lw);
      cairo_restore (cr);
    }

  cairo_save (cr);
  axes_frame (cr, &a, st, lw);
  set_rgba (cr, st->fg, 1.0);
  font_set (cr, font, FALSE);
  text_at (cr, d && d->in_names && d->in_names[0] ? d->in_names[0] : "x1", a.x + 0.5 * a.w,
           a.y + a.h + 2.0 * font, 0.5, 0.0);
  text_vertical (cr, d && d->in_names && d->in_names[0] && d->in_names[1] ? d->in_names[1] : "x2",
                 0.8 * font, a.y + 0.5 * a.h);
  regions_legend (cr, st, &a, n_classes, class_names, font);
  cairo_restore (cr);
}

typedef struct
{
  const KanModel       *m;
  const KanDataset     *d;
  const char *const    *class_names;
  const KanRenderStyle *st;
} RegionsArgs;

static void
draw_regions_cb (cairo_t *cr, double width, double height, gpointer data)
{
  RegionsArgs *r = data;
  kan_render_regions (cr, r->m, r->d, r->class_names, r->st, width, height);
}

gboolean
kan_render_regions_to_file (const KanModel       *m,
                            const KanDataset     *d,
                            const char *const    *class_names,
                            const KanRenderStyle *st,
                            const char           *path,
                            double                width,
                            double                height,
                            GError              **error)
{
  KanRenderStyle own;
  RegionsArgs r = { m, d, class_names, &own };

  g_return_val_if_fail (m != NULL && st != NULL && path != NULL, FALSE);
  if (!kan_render_regions_ok (m, d))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "decision regions need a classifier with two inputs (this network is "
                   "%d → %d)", kan_model_n_in (m), kan_model_n_out (m));
      return FALSE;
    }
  opaque_style (&own, st);
  return kan_render_func_to_file (path, width, height, draw_regions_cb, &r, error);
}
