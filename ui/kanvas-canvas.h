/* kanvas-canvas.h — the network canvas: draws training snapshots with the Cairo renderer. */
#pragma once

#include <gtk/gtk.h>
#include "kan-render.h"

G_BEGIN_DECLS

#define KANVAS_TYPE_CANVAS (kanvas_canvas_get_type ())

G_DECLARE_FINAL_TYPE (KanvasCanvas, kanvas_canvas, KANVAS, CANVAS, GtkWidget)

GtkWidget         *kanvas_canvas_new              (void);
/* Takes SNAPSHOT (transfer full, may be NULL) and redraws. */
void               kanvas_canvas_set_snapshot     (KanvasCanvas *self,
                                                   KanSnapshot  *snapshot);
const KanSnapshot *kanvas_canvas_get_snapshot     (KanvasCanvas *self);
/* How many snapshots the canvas has been given since it was made. */
guint              kanvas_canvas_get_n_snapshots  (KanvasCanvas *self);
double             kanvas_canvas_get_beta         (KanvasCanvas *self);
void               kanvas_canvas_set_beta         (KanvasCanvas *self,
                                                   double        beta);
/* 1 fits the whole picture to the widget (both ways); larger values (up to 16) make it bigger,
 * and the widget shows a part of it (scroll or drag to see the rest). Changing it keeps the
 * centre of the view in place; values are clamped to [1, 16]. */
double             kanvas_canvas_get_zoom         (KanvasCanvas *self);
void               kanvas_canvas_set_zoom         (KanvasCanvas *self,
                                                   double        zoom);
/* The same, keeping the point under X,Y (widget coordinates) in place. */
void               kanvas_canvas_zoom_at          (KanvasCanvas *self,
                                                   double        zoom,
                                                   double        x,
                                                   double        y);
/* Zoom 1, the whole network in view (Ctrl+0). */
void               kanvas_canvas_fit              (KanvasCanvas *self);
/* Where the view's top left corner is in the zoomed picture (0,0 at fit). The canvas is a
 * GtkScrollable: its adjustments show the same numbers. */
void               kanvas_canvas_get_scroll       (KanvasCanvas *self,
                                                   double       *x,
                                                   double       *y);
void               kanvas_canvas_scroll_to        (KanvasCanvas *self,
                                                   double        x,
                                                   double        y);
/* Where the overview (the whole picture in small, shown while zoomed in) sits in widget
 * coordinates; FALSE when none shows. */
gboolean           kanvas_canvas_get_overview     (KanvasCanvas    *self,
                                                   graphene_rect_t *rect);
/* Edges whose opacity tanh(β·score) is below ALPHA (0…1) are left out, unless selected or
 * marked by a prune preview; 0 (the default) shows every edge. Property "hide-faint". */
double             kanvas_canvas_get_hide_faint   (KanvasCanvas *self);
void               kanvas_canvas_set_hide_faint   (KanvasCanvas *self,
                                                   double        alpha);
void               kanvas_canvas_set_dark         (KanvasCanvas *self,
                                                   gboolean      dark);
const KanRenderStyle *kanvas_canvas_get_style     (KanvasCanvas *self);
/* Enlarges (or shrinks) the picture's text by SCALE (the style's text_scale; 1 as drawn). */
void               kanvas_canvas_set_text_scale   (KanvasCanvas *self,
                                                   double        scale);
/* The selection: an edge (l,i,j), a node (l,i,-1) or nothing (-1,-1,-1). */
void               kanvas_canvas_get_selection    (KanvasCanvas *self,
                                                   int          *l,
                                                   int          *i,
                                                   int          *j);
void               kanvas_canvas_set_selection    (KanvasCanvas *self,
                                                   int           l,
                                                   int           i,
                                                   int           j);
/* The geometry the canvas draws with at its current size, zoom and scroll, in widget
 * coordinates (free with kan_layout_free), or NULL without a snapshot. Hit tests use the same
 * layout. Zoomed in, parts of it lie outside the widget. */
KanLayout         *kanvas_canvas_get_layout       (KanvasCanvas *self);
/* What is at X,Y (widget coordinates), as kan_layout_hit; nothing outside the widget or under
 * the overview. */
gboolean           kanvas_canvas_hit              (KanvasCanvas *self,
                                                   double        x,
                                                   double        y,
                                                   int          *l,
                                                   int          *i,
                                                   int          *j);
/* The centre of node (l,i) in widget coordinates (outside the widget when scrolled away);
 * FALSE without a snapshot or such a node. */
gboolean           kanvas_canvas_get_node_centre  (KanvasCanvas *self,
                                                   int           l,
                                                   int           i,
                                                   double       *x,
                                                   double       *y);
/* A click at X,Y: selects what is there, or clears the selection. */
void               kanvas_canvas_select_at        (KanvasCanvas *self,
                                                   double        x,
                                                   double        y);
/* The menu a right click (or Menu / Shift+F10) opens over the selection. */
void               kanvas_canvas_set_context_menu (KanvasCanvas *self,
                                                   GMenuModel   *menu);
/* The prune preview: marks what a prune would remove (drawn dashed in the style's warning
 * colour) until cleared or until a snapshot of another shape arrives. NODES (KanOpsNode) and
 * EDGES (KanOpsEdge) are numbered as kan_ops_prune_preview gives them: nodes in the network
 * shown, edges in the network left once those nodes go. The edges of removed nodes are marked
 * too. The arrays are copied. */
void               kanvas_canvas_set_prune_preview   (KanvasCanvas *self,
                                                      const GArray *nodes,
                                                      const GArray *edges);
void               kanvas_canvas_clear_prune_preview (KanvasCanvas *self);
/* TRUE while a preview shows, with its arrays as given (owned by the canvas; NULL when none). */
gboolean           kanvas_canvas_get_prune_preview   (KanvasCanvas  *self,
                                                      const GArray **nodes,
                                                      const GArray **edges);
/* TRUE when what shows is the current picture of the current view (no render pending). */
gboolean           kanvas_canvas_is_drawn         (KanvasCanvas *self);
/* Microseconds the last frame took to draw (for the frame-time benchmark). */
gint64             kanvas_canvas_get_last_draw_us (KanvasCanvas *self);

G_END_DECLS
