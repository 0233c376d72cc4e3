/* kan-pareto-view.c — test error against complexity, one point per formula (Cairo only). */
#include "kan-pareto-view.h"

#include <math.h>

/* Margins of the plot area, in pixels: room for the decade labels on the left and the
 * complexity labels below. */
#define MARGIN_LEFT   48.0
#define MARGIN_RIGHT  14.0
#define MARGIN_TOP    22.0
#define MARGIN_BOTTOM 34.0
#define FONT_SIZE     11.0
#define POINT_RADIUS  4.5
/* Decades shown when every error is zero (nothing to scale by). */
#define EMPTY_DECADES 4
/* Complexities shown at least, so that a single formula does not fill the width. */
#define MIN_SPAN      8

struct _KanParetoView
{
  GArray *points;    /* KanParetoPoint */
  int     best;
  int     selected;
};

/* The mapping from (complexity, log10 error) to pixels for one picture size. */
typedef struct
{
  double x0, x1, y0, y1;      /* plot area */
  double c_lo, c_hi;          /* complexity range */
  double d_lo, d_hi;          /* decades: log10 of the error range */
  gboolean has_zero;          /* D_LO is the line where zero errors sit */
} Frame;

static void
point_clear (gpointer data)
{
  KanParetoPoint *p = data;

  g_free (p->text);
}

KanParetoView *
kan_pareto_view_new (void)
{
  KanParetoView *v = g_new0 (KanParetoView, 1);

  v->points = g_array_new (FALSE, TRUE, sizeof (KanParetoPoint));
  g_array_set_clear_func (v->points, point_clear);
  v->best = v->selected = -1;
  return v;
}

void
kan_pareto_view_free (KanParetoView *v)
{
  if (v == NULL)
    return;
  g_array_unref (v->points);
  g_free (v);
}

void
kan_pareto_view_clear (KanParetoView *v)
{
  g_return_if_fail (v != NULL);
  g_array_set_size (v->points, 0);
  v->best = v->selected = -1;
}

guint
kan_pareto_view_add (KanParetoView  *v,
                     int             complexity,
                     double          rmse,
                     const char     *text,
                     KanParetoFlags  flags)
{
  KanParetoPoint p = { complexity, rmse, g_strdup (text), flags };

  g_return_val_if_fail (v != NULL, 0);
  g_array_append_val (v->points, p);
  return v->points->len - 1;
}

guint
kan_pareto_view_get_n_points (const KanParetoView *v)
{
  g_return_val_if_fail (v != NULL, 0);
  return v->points->len;
}

const KanParetoPoint *
kan_pareto_view_get_point (const KanParetoView *v,
                           guint                i)
{
  g_return_val_if_fail (v != NULL, NULL);
  return i < v->points->len ? &g_array_index (v->points, KanParetoPoint, i) : NULL;
}

void
kan_pareto_view_set_best (KanParetoView *v,
                          int            i)
{
  g_return_if_fail (v != NULL);
  v->best = i >= 0 && i < (int) v->points->len ? i : -1;
}

int
kan_pareto_view_get_best (const KanParetoView *v)
{
  g_return_val_if_fail (v != NULL, -1);
  return v->best;
}

void
kan_pareto_view_set_selected (KanParetoView *v,
                              int            i)
{
  g_return_if_fail (v != NULL);
  v->selected = i >= 0 && i < (int) v->points->len ? i : -1;
}

int
kan_pareto_view_get_selected (const KanParetoView *v)
{
  g_return_val_if_fail (v != NULL, -1);
  return v->selected;
}

/* Geometry ---------------------------------------------------------------------------------- */

static void
frame_compute (const KanParetoView *v,
               double               width,
               double               height,
               Frame               *f)
{
  double lo = INFINITY, hi = -INFINITY;
  int c_lo = G_MAXINT, c_hi = G_MININT;

  f->has_zero = FALSE;
  for (guint k = 0; k < v->points->len; k++)
    {
      const KanParetoPoint *p = &g_array_index (v->points, KanParetoPoint, k);
      c_lo = MIN (c_lo, p->complexity);
      c_hi = MAX (c_hi, p->complexity);
      if (p->rmse > 0 && isfinite (p->rmse))
        {
          lo = MIN (lo, log10 (p->rmse));
          hi = MAX (hi, log10 (p->rmse));
        }
      else
        f->has_zero = TRUE;
    }
  if (c_lo > c_hi)
    c_lo = c_hi = 1;
  /* Whole complexities, with a step of room on either side and at least MIN_SPAN in view,
   * the points in the middle. */
  c_lo -= 1;
  c_hi += 1;
  if (c_hi - c_lo < MIN_SPAN)
    {
      c_lo -= (MIN_SPAN - (c_hi - c_lo)) / 2;
      c_hi = c_lo + MIN_SPAN;
    }
  if (c_lo < 0)
    {
      c_hi -= c_lo;
      c_lo = 0;
    }
  f->c_lo = c_lo;
  f->c_hi = c_hi;
  if (lo > hi)
    {
      lo = -EMPTY_DECADES;
      hi = 0;
    }
  f->d_lo = floor (lo);
  f->d_hi = MAX (ceil (hi), f->d_lo + 1);
  if (f->has_zero)
    f->d_lo -= 1;
  f->x0 = MARGIN_LEFT;
  f->x1 = MAX (width - MARGIN_RIGHT, f->x0 + 1);
  f->y0 = MARGIN_TOP;
  f->y1 = MAX (height - MARGIN_BOTTOM, f->y0 + 1);
}

static double
frame_x (const Frame *f,
         double       complexity)
{
  return f->x0 + (complexity - f->c_lo) / (f->c_hi - f->c_lo) * (f->x1 - f->x0);
}

static double
frame_y (const Frame *f,
         double       rmse)
{
  double d = rmse > 0 && isfinite (rmse) ? log10 (rmse) : f->d_lo;

  return f->y1 - (d - f->d_lo) / (f->d_hi - f->d_lo) * (f->y1 - f->y0);
}

gboolean
kan_pareto_view_point_xy (const KanParetoView *v,
                          guint                i,
                          double               width,
                          double               height,
                          double              *x,
                          double              *y)
{
  const KanParetoPoint *p;
  Frame f;

  g_return_val_if_fail (v != NULL, FALSE);
  if (i >= v->points->len)
    return FALSE;
  p = &g_array_index (v->points, KanParetoPoint, i);
  frame_compute (v, width, height, &f);
  *x = frame_x (&f, p->complexity);
  *y = frame_y (&f, p->rmse);
  return TRUE;
}

int
kan_pareto_view_hit (const KanParetoView *v,
                     double               width,
                     double               height,
                     double               x,
                     double               y)
{
  double best_d2 = KAN_PARETO_VIEW_HIT_RADIUS * KAN_PARETO_VIEW_HIT_RADIUS;
  int best = -1;
  Frame f;

  g_return_val_if_fail (v != NULL, -1);
  frame_compute (v, width, height, &f);
  for (guint k = 0; k < v->points->len; k++)
    {
      const KanParetoPoint *p = &g_array_index (v->points, KanParetoPoint, k);
      double dx = frame_x (&f, p->complexity) - x, dy = frame_y (&f, p->rmse) - y;
      /* The later of two equally near points wins: it is drawn on top. */
      if (dx * dx + dy * dy <= best_d2)
        {
          best_d2 = dx * dx + dy * dy;
          best = (int) k;
        }
    }
  return best;
}

/* Drawing ----------------------------------------------------------------------------------- */

static void
set_rgb (cairo_t      *cr,
         const double  rgb[3],
         double        alpha)
{
  cairo_set_source_rgba (cr, rgb[0], rgb[1], rgb[2], alpha);
}

/* TEXT with its reference point at (X, Y): XALIGN 0 left … 1 right, baseline at Y + the
 * font's ascent·YALIGN (0.5 centres it vertically). */
static void
show_text (cairo_t    *cr,
           const char *text,
           double      x,
           double      y,
           double      xalign,
           double      yalign)
{
  cairo_text_extents_t ext;
  cairo_font_extents_t fext;

  cairo_text_extents (cr, text, &ext);
  cairo_font_extents (cr, &fext);
  cairo_move_to (cr, x - xalign * ext.x_advance, y + yalign * fext.ascent * 0.8);
  cairo_show_text (cr, text);
}

static void
draw_axes (cairo_t              *cr,
           const Frame          *f,
           const KanRenderStyle *st)
{
  int n_dec = (int) (f->d_hi - f->d_lo);
  int dec_step = n_dec <= 6 ? 1 : n_dec <= 12 ? 2 : 4;
  int span = (int) (f->c_hi - f->c_lo);
  int c_step = span <= 10 ? 1 : span <= 20 ? 2 : span <= 50 ? 5 : 10;
  char label[32];

  cairo_set_line_width (cr, 1);
  /* Decade grid lines and labels; with zero errors the bottom line is "0". */
  for (int d = (int) f->d_lo; d <= (int) f->d_hi; d++)
    {
      double y = round (frame_y (f, pow (10, d))) + 0.5;
      gboolean zero = f->has_zero && d == (int) f->d_lo;
      if (zero)
        y = round (f->y1) + 0.5;
      set_rgb (cr, st->fg, 0.10);
      cairo_move_to (cr, f->x0, y);
      cairo_line_to (cr, f->x1, y);
      cairo_stroke (cr);
      if (!zero && (d - (int) f->d_lo) % dec_step != 0)
        continue;
      if (zero)
        g_strlcpy (label, "0", sizeof label);
      else
        g_snprintf (label, sizeof label, "1e%d", d);
      set_rgb (cr, st->fg, 0.70);
      show_text (cr, label, f->x0 - 6, y, 1.0, 0.5);
    }
  for (int c = (int) ceil (f->c_lo); c <= (int) f->c_hi; c++)
    {
      double x = round (frame_x (f, c)) + 0.5;
      if (c % c_step != 0)
        continue;
      set_rgb (cr, st->fg, 0.35);
      cairo_move_to (cr, x, f->y1);
      cairo_line_to (cr, x, f->y1 + 4);
      cairo_stroke (cr);
      g_snprintf (label, sizeof label, "%d", c);
      set_rgb (cr, st->fg, 0.70);
      show_text (cr, label, x, f->y1 + 8 + FONT_SIZE * 0.5, 0.5, 0.5);
    }
  set_rgb (cr, st->fg, 0.45);
  cairo_rectangle (cr, f->x0 + 0.5, f->y0 + 0.5, f->x1 - f->x0 - 1, f->y1 - f->y0 - 1);
  cairo_stroke (cr);
  set_rgb (cr, st->fg, 0.70);
  show_text (cr, "test RMSE", f->x0, f->y0 - 9, 0.0, 0.0);
  show_text (cr, "complexity (nodes of the formula)", (f->x0 + f->x1) / 2, f->y1 + 26, 0.5, 0.5);
}

void
kan_pareto_view_draw (const KanParetoView  *v,
                      cairo_t              *cr,
                      const KanRenderStyle *st,
                      double                width,
                      double                height)
{
  Frame f;
  gboolean first = TRUE;
  double last_y = 0;

  g_return_if_fail (v != NULL && cr != NULL && st != NULL);
  cairo_save (cr);
  if (!st->transparent)
    {
      set_rgb (cr, st->bg, 1.0);
      cairo_rectangle (cr, 0, 0, width, height);
      cairo_fill (cr);
    }
  cairo_select_font_face (cr, "Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size (cr, FONT_SIZE);
  frame_compute (v, width, height, &f);
  draw_axes (cr, &f, st);

  if (v->points->len == 0)
    {
      set_rgb (cr, st->fg, 0.5);
      show_text (cr, "Formulas appear here as they are found", (f.x0 + f.x1) / 2,
                 (f.y0 + f.y1) / 2, 0.5, 0.5);
      cairo_restore (cr);
      return;
    }

  /* The front as a staircase: each point is the best error up to its complexity. */
  set_rgb (cr, st->accent, 0.55);
  cairo_set_line_width (cr, 1.5);
  for (guint k = 0; k < v->points->len; k++)
    {
      const KanParetoPoint *p = &g_array_index (v->points, KanParetoPoint, k);
      double x = frame_x (&f, p->complexity), y = frame_y (&f, p->rmse);
      if (!(p->flags & KAN_PARETO_FRONT))
        continue;
      if (first)
        cairo_move_to (cr, x, y);
      else
        {
          cairo_line_to (cr, x, last_y);
          cairo_line_to (cr, x, y);
        }
      first = FALSE;
      last_y = y;
    }
  if (!first)
    {
      /* Beyond the most complex formula the best error stays where it is. */
      cairo_line_to (cr, f.x1, last_y);
      cairo_stroke (cr);
    }

  for (guint k = 0; k < v->points->len; k++)
    {
      const KanParetoPoint *p = &g_array_index (v->points, KanParetoPoint, k);
      double x = frame_x (&f, p->complexity), y = frame_y (&f, p->rmse);
      cairo_new_path (cr);
      cairo_arc (cr, x, y, POINT_RADIUS, 0, 2 * G_PI);
      if (p->flags & KAN_PARETO_FRONT)
        {
          set_rgb (cr, st->accent, 1.0);
          cairo_fill_preserve (cr);
          set_rgb (cr, st->fg, 0.6);
          cairo_set_line_width (cr, 1);
          cairo_stroke (cr);
        }
      else
        {
          set_rgb (cr, st->bg, 1.0);
          cairo_fill_preserve (cr);
          set_rgb (cr, st->fg, 0.55);
          cairo_set_line_width (cr, 1.5);
          cairo_stroke (cr);
        }
    }

  if (v->selected >= 0)
    {
      const KanParetoPoint *p = &g_array_index (v->points, KanParetoPoint, v->selected);
      set_rgb (cr, st->selected, 1.0);
      cairo_set_line_width (cr, 2.5);
      cairo_new_path (cr);
      cairo_arc (cr, frame_x (&f, p->complexity), frame_y (&f, p->rmse), POINT_RADIUS + 4, 0,
                 2 * G_PI);
      cairo_stroke (cr);
    }
  if (v->best >= 0)
    {
      const KanParetoPoint *p = &g_array_index (v->points, KanParetoPoint, v->best);
      double x = frame_x (&f, p->complexity), y = frame_y (&f, p->rmse);
      /* A red ring and the word, placed to the side with more room. */
      set_rgb (cr, st->symbolic, 1.0);
      cairo_set_line_width (cr, 2);
      cairo_new_path (cr);
      cairo_arc (cr, x, y, POINT_RADIUS + 8, 0, 2 * G_PI);
      cairo_stroke (cr);
      show_text (cr, "chosen", x + (x < (f.x0 + f.x1) / 2 ? 15 : -15),
                 y < f.y0 + 20 ? y + 18 : y - 14, x < (f.x0 + f.x1) / 2 ? 0.0 : 1.0, 0.5);
    }
  cairo_restore (cr);
}
