/* kan-render.h — the network picture, drawn with Cairo only (the GTK canvas and the CLI's
 * `plot` share it).
 *
 * Layers run bottom to top as in pykan's plot. Every edge carries a mini-plot of its activation
 * over the inputs it sees, with alpha = tanh(β·score); numeric edges use the foreground colour,
 * symbolic ones red, edges with both branches purple. Sum and product nodes look different.
 */
#pragma once

#include <cairo.h>
#include "kan-snapshot.h"

G_BEGIN_DECLS

/* Nodes and edges the network picture marks as about to go (the prune preview), numbered as in
 * the snapshot drawn. An edge is also marked when a node at either end of it is. */
typedef struct
{
  int  n_nodes;
  int *nodes;              /* 2·n_nodes ints: node (l,i) as for kan_layout_node_box */
  int  n_edges;
  int *edges;              /* 3·n_edges ints: edge (l,i,j) */
} KanRenderMarks;

typedef struct
{
  double beta;             /* alpha = tanh(beta·score); pykan's default 3 */
  double fg[3];            /* foreground (numeric edges, nodes, text), RGB 0..1 */
  double bg[3];            /* background */
  double symbolic[3];      /* red */
  double both[3];          /* purple */
  double selected[3];      /* highlight of the selected edge or node */
  int    sel_l, sel_i, sel_j; /* selection: edge (l,i,j), node (l,i,-1), none (-1,-1,-1) */
  double font_size;        /* points; 0 = from the size of the picture */
  double accent[3];        /* second series: test RMSE, fitted symbolic curve overlay */
  gboolean transparent;    /* TRUE: do not paint bg first (the caller has painted) */
  double text_scale;       /* multiplies the network picture's text; 1 (0 also reads as 1) */
  double warning[3];       /* marked nodes and edges */
  const KanRenderMarks *marks; /* drawn dashed in the warning colour; NULL (the default): none */
  double hide_below;       /* edges fainter than this alpha are left out (unless selected or
                              marked); 0 (the default) draws every live edge */
} KanRenderStyle;

/* Below this side (in the picture's units, pixels on screen) an edge's box is too small for a
 * readable mini-plot: the edge is drawn as a plain line through where its box would be. */
#define KAN_RENDER_PLOT_MIN 10.0
/* Input and output names that would need a smaller font than this are left out (the canvas
 * shows them in the node's tooltip). */
#define KAN_RENDER_LABEL_MIN 6.5

void     kan_render_style_init  (KanRenderStyle       *st);   /* light theme */
void     kan_render_style_dark  (KanRenderStyle       *st);

/* An edge's opacity, tanh(beta·score) clamped to [0,1] (0 for a NaN score). */
double   kan_render_edge_alpha  (const KanRenderStyle *st,
                                 double                score);
/* The colour of an edge in MODE: fg, symbolic or both (OFF gives fg). */
void     kan_render_mode_color  (const KanRenderStyle *st,
                                 KanEdgeMode           mode,
                                 double                rgb[3]);

/* Geometry of the picture in a WIDTH × HEIGHT area: where every node and edge box sits. */
typedef struct
{
  double x, y, w, h;       /* box */
} KanRect;

typedef struct _KanLayout KanLayout;

KanLayout *kan_layout_new       (const KanSnapshot    *s,
                                 double                width,
                                 double                height);
void       kan_layout_free      (KanLayout            *lay);
KanRect    kan_layout_edge_box  (const KanLayout      *lay,
                                 int l, int i, int j);
/* Node (l,i): node layer l (0 = inputs … depth = outputs). Out-of-range indices give an
 * empty rect at 0,0. */
KanRect    kan_layout_node_box  (const KanLayout      *lay,
                                 int l, int i);
/* Moves every node and box by DX,DY: a layout of a picture larger than the view, in the
 * coordinates of a view scrolled to -DX,-DY. Drawing a moved layout draws the picture moved. */
void       kan_layout_translate (KanLayout            *lay,
                                 double                dx,
                                 double                dy);
/* Magnifies the layout by ZOOM about its coordinates' origin: every position and size
 * scales, so the picture is the same one larger; text and line widths follow the rules for
 * the new size (within their limits). */
void       kan_layout_zoom      (KanLayout            *lay,
                                 double                zoom);
/* TRUE when the boxes of edge layer L are large enough to carry mini-plots
 * (KAN_RENDER_PLOT_MIN); FALSE draws its edges as plain lines. */
gboolean   kan_layout_edge_plots (const KanLayout     *lay,
                                  int                  l);
/* The font size (pixels) the picture uses when the style does not set one. */
double     kan_layout_font_size (const KanLayout      *lay);
/* Hit test: TRUE and (l,i,j) for an edge box, (l,i,-1) for a node, FALSE (and -1,-1,-1) for
 * nothing. A node is hit a little outside its drawn box so small nodes stay clickable. Pruned
 * edges (mode OFF) still have a box, so they can be selected and re-enabled. */
gboolean   kan_layout_hit       (const KanLayout      *lay,
                                 double                x,
                                 double                y,
                                 int                  *l,
                                 int                  *i,
                                 int                  *j);

/* Draws S into CR over WIDTH × HEIGHT (from the current origin). */
void       kan_render_network   (cairo_t              *cr,
                                 const KanSnapshot    *s,
                                 const KanRenderStyle *st,
                                 double                width,
                                 double                height);
/* Draws S as laid out by LAY (made for S, possibly moved by kan_layout_translate). */
void       kan_render_network_layout (cairo_t              *cr,
                                      const KanSnapshot    *s,
                                      const KanLayout      *lay,
                                      const KanRenderStyle *st);

/* A large plot of one edge: its curve, the traced samples scattered under it and, when locked,
 * the symbolic curve; axes with ticks. */
void       kan_render_edge_plot (cairo_t              *cr,
                                 const KanSnapshot    *s,
                                 int l, int i, int j,
                                 const KanRenderStyle *st,
                                 double                width,
                                 double                height);

/* Train/test loss per step on a log scale; NAME is the quantity on the axis ("cross-entropy";
 * NULL: "RMSE"). */
void       kan_render_loss_plot (cairo_t              *cr,
                                 const double         *train,
                                 const double         *test,
                                 int                   n,
                                 const char           *name,
                                 const KanRenderStyle *st,
                                 double                width,
                                 double                height);

/* Writes the network picture to PATH; the format follows the extension (.png, .svg, .pdf,
 * any case). The file is written to a temporary name in the same folder and renamed, so PATH
 * is either the complete new picture or untouched. Errors (G_IO_ERROR) start with "PATH: ". */
gboolean   kan_render_to_file   (const KanSnapshot    *s,
                                 const KanRenderStyle *st,
                                 const char           *path,
                                 double                width,
                                 double                height,
                                 GError              **error);
/* The same for the large plot of edge (l,i,j); an edge that does not exist is an error. */
gboolean   kan_render_edge_to_file (const KanSnapshot    *s,
                                    int l, int i, int j,
                                    const KanRenderStyle *st,
                                    const char           *path,
                                    double                width,
                                    double                height,
                                    GError              **error);
/* PNG pictures are drawn in memory (4 bytes a pixel): at most this many pixels (400 MB). */
#define KAN_RENDER_MAX_PIXELS 1e8
/* Any drawing: FUNC draws over WIDTH × HEIGHT into the file's surface (it paints its own
 * background). */
typedef void (*KanRenderFunc) (cairo_t *cr, double width, double height, gpointer user_data);
gboolean   kan_render_func_to_file (const char        *path,
                                    double             width,
                                    double             height,
                                    KanRenderFunc      func,
                                    gpointer           user_data,
                                    GError           **error);

/* Classification ---------------------------------------------------------------------------- */

/* The colour of class K (a palette of 10, repeating). */
void       kan_render_class_color (int                   k,
                                   double                c[3]);
/* Train/test accuracy (shares 0 … 1) per step on 0 … 100 %; NaN where a step has no
 * measurement (the line bridges it). The latest values are written bottom right. */
void       kan_render_accuracy_plot (cairo_t              *cr,
                                     const double         *train,
                                     const double         *test,
                                     int                   n,
                                     const KanRenderStyle *st,
                                     double                width,
                                     double                height);
/* TRUE when M is a classifier of two inputs (two outputs or more) and D (may be NULL) has two
 * input columns: what the decision-region picture needs. */
gboolean   kan_render_regions_ok  (const KanModel       *m,
                                   const KanDataset     *d);
/* Where kan_render_regions draws the input plane in a WIDTH × HEIGHT picture: the plot
 * rectangle PLOT and RANGE = x_lo, x_hi, y_lo, y_hi (D's inputs with 5 % margins; D may be
 * NULL: -1 … 1). */
void       kan_render_regions_frame (const KanDataset     *d,
                                     const KanRenderStyle *st,
                                     double                width,
                                     double                height,
                                     KanRect              *plot,
                                     double                range[4]);
/* Decision regions: the plane of M's two inputs coloured by the predicted class (the largest
 * output; paler where the classes are close), D's rows on top (train filled, test as rings, in
 * the colour of their label), axes named after D's inputs and a legend of CLASS_NAMES (NULL or
 * shorter: "class K"). Without a two-input classifier a message says so. */
void       kan_render_regions     (cairo_t              *cr,
                                   const KanModel       *m,
                                   const KanDataset     *d,
                                   const char *const    *class_names,
                                   const KanRenderStyle *st,
                                   double                width,
                                   double                height);
/* The same to a file, as kan_render_to_file; not a two-input classifier is an error. */
gboolean   kan_render_regions_to_file (const KanModel       *m,
                                       const KanDataset     *d,
                                       const char *const    *class_names,
                                       const KanRenderStyle *st,
                                       const char           *path,
                                       double                width,
                                       double                height,
                                       GError              **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KanLayout, kan_layout_free)

G_END_DECLS
