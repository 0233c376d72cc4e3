/* kan-pareto-view.h — the picture of a formula search: test error (log scale) against
 * complexity, one point per formula, drawn with Cairo only.
 *
 * A KanParetoView holds the points, which one is the chosen answer and which one the user
 * selected; drawing and hit-testing share one geometry, so a click lands on the point drawn
 * under it. The workbench's Discover page draws it in a GtkDrawingArea; nothing here needs GTK.
 */
#pragma once

#include <cairo.h>
#include <glib.h>
#include "kan-render.h"

G_BEGIN_DECLS

/* How a point is drawn. */
typedef enum
{
  KAN_PARETO_LIVE  = 1 << 0,   /* reported while the search runs (hollow) */
  KAN_PARETO_FRONT = 1 << 1,   /* on the final front (filled, joined by a step line) */
} KanParetoFlags;

typedef struct
{
  int            complexity;
  double         rmse;         /* test RMSE; 0 or less is drawn on the bottom line, "0" */
  char          *text;         /* the formula, for the tooltip and the caller */
  KanParetoFlags flags;
} KanParetoPoint;

/* A click selects the nearest point within this many pixels of its centre. */
#define KAN_PARETO_VIEW_HIT_RADIUS 12.0

typedef struct _KanParetoView KanParetoView;

KanParetoView        *kan_pareto_view_new          (void);
void                  kan_pareto_view_free         (KanParetoView        *v);
/* Drops every point, the best mark and the selection. */
void                  kan_pareto_view_clear        (KanParetoView        *v);
/* Appends a point (TEXT is copied); returns its index. */
guint                 kan_pareto_view_add          (KanParetoView        *v,
                                                    int                   complexity,
                                                    double                rmse,
                                                    const char           *text,
                                                    KanParetoFlags        flags);
guint                 kan_pareto_view_get_n_points (const KanParetoView  *v);
const KanParetoPoint *kan_pareto_view_get_point    (const KanParetoView  *v,
                                                    guint                 i);
/* The chosen answer and the selected point: an index, or -1 for none. */
void                  kan_pareto_view_set_best     (KanParetoView        *v,
                                                    int                   i);
int                   kan_pareto_view_get_best     (const KanParetoView  *v);
void                  kan_pareto_view_set_selected (KanParetoView        *v,
                                                    int                   i);
int                   kan_pareto_view_get_selected (const KanParetoView  *v);

/* Where point I is drawn in a WIDTH × HEIGHT picture; FALSE if there is no such point. */
gboolean              kan_pareto_view_point_xy     (const KanParetoView  *v,
                                                    guint                 i,
                                                    double                width,
                                                    double                height,
                                                    double               *x,
                                                    double               *y);
/* The point nearest to (X, Y) within KAN_PARETO_VIEW_HIT_RADIUS, or -1. */
int                   kan_pareto_view_hit          (const KanParetoView  *v,
                                                    double                width,
                                                    double                height,
                                                    double                x,
                                                    double                y);
/* Draws the plot over WIDTH × HEIGHT from the current origin with ST's colours. */
void                  kan_pareto_view_draw         (const KanParetoView  *v,
                                                    cairo_t              *cr,
                                                    const KanRenderStyle *st,
                                                    double                width,
                                                    double                height);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KanParetoView, kan_pareto_view_free)

G_END_DECLS
