/* kanvas-canvas.c — the network canvas.
 *
 * The widget owns the latest snapshot and draws it with kan_render_network, the same code the
 * CLI exports with. Rasterising a large network in software takes tens of milliseconds, so after
 * the first frame the picture is rendered on a thread (GTask) into an image of the widget's size
 * and shown as a texture; the main loop only blits it. Snapshots are immutable and shared with
 * the thread by reference count, so no lock is held while drawing.
 *
 * The view: at zoom 1 the picture fits the widget (the layout scales nodes, boxes and text to
 * the space there is; boxes too small for a plot become lines, names too small to read give way
 * to tooltips). Zoomed in, the picture is the widget's size times the zoom and the widget shows a
 * part of it: the canvas is a GtkScrollable, so a GtkScrolledWindow around it gives scrollbars,
 * wheel and touchpad panning through the adjustments, and only the visible part is rendered.
 * Drag on empty space (or with the middle button) pans, Ctrl+wheel and pinch zoom about the
 * pointer, Ctrl+plus/minus/0 zoom and fit, Shift+arrows pan; an overview in the bottom right
 * corner shows the visible part while zoomed in (click or drag in it to move there).
 */
#include "kanvas-canvas.h"
#include "kan-formula.h"
#include "kan-ops.h"

#include <math.h>
#include <string.h>

/* Room an edge box and a layer need to be readable: the natural size (a request only; the
 * picture fits whatever it gets). */
#define EDGE_MIN_PX   22.0
#define LAYER_MIN_PX  110.0
#define MIN_PX        120       /* the smallest the widget asks for */
#define ZOOM_MIN      1.0       /* fit */
#define ZOOM_MAX      16.0      /* 20 inputs × 16: plots of about 40 px in an 800 px view */
#define ZOOM_STEP     1.25      /* Ctrl+plus, a wheel click */
#define PAN_STEP      0.1       /* Shift+arrow, share of the view */
#define OVERVIEW_SIZE 0.22      /* the overview's side, share of the view's */
#define OVERVIEW_MIN  72.0
#define OVERVIEW_MAX  240.0
#define OVERVIEW_PAD  10.0      /* from the widget's corner */

typedef enum
{
  DRAG_NONE,
  DRAG_PAN,                     /* the picture follows the pointer */
  DRAG_OVERVIEW                 /* the view's rectangle in the overview follows it */
} DragMode;

/* A snapshot shared between the widget and render threads (g_atomic_rc_box). */
typedef struct
{
  KanSnapshot *snapshot;
} SharedSnapshot;

struct _KanvasCanvas
{
  GtkWidget       parent_instance;

  /* owned */
  SharedSnapshot *shared;
  KanSnapshot    *snapshot;     /* = shared->snapshot, borrowed */
  KanRenderStyle  style;
  GdkTexture     *texture;      /* the last rendered picture */
  GCancellable   *cancellable;
  GtkWidget      *menu_popover; /* the context menu, a child of the canvas */
  GArray         *preview_nodes; /* the prune preview as given (KanOpsNode), or NULL */
  GArray         *preview_edges; /* … (KanOpsEdge), numbered after the nodes go */
  KanRenderMarks  marks;        /* the same in the snapshot's numbering; style.marks points here */
  GtkAdjustment  *hadj;         /* never NULL: ours, or a GtkScrolledWindow's */
  GtkAdjustment  *vadj;
  GdkTexture     *overview;     /* the whole picture, small, while zoomed in */
  /* state */
  double          zoom;         /* 1 = fit; the picture is the widget's size times this */
  double          ox, oy;       /* the view's top left corner in the picture */
  int             view_w;       /* the size the offsets were set for */
  int             view_h;
  double          hide_faint;
  double          pointer_x;    /* the last pointer position (Ctrl+wheel zooms about it) */
  double          pointer_y;
  double          pinch_zoom;   /* the zoom when a pinch began */
  DragMode        drag;
  double          drag_x, drag_y;   /* where it began */
  double          drag_ox, drag_oy; /* the offsets then */
  guint           hscroll_policy : 1;
  guint           vscroll_policy : 1;
  guint           n_snapshots;
  gint64          last_draw_us;
  gboolean        dark;
  gboolean        dirty;        /* the texture is older than the snapshot, style or size */
  gboolean        rendering;    /* a render thread is running */
  gboolean        updating;     /* the canvas is setting the adjustments itself */
  int             tex_width;    /* size (in device pixels) the texture was made for */
  int             tex_height;
  int             tex_scale;
  double          tex_zoom;     /* … and the view it shows */
  double          tex_ox, tex_oy;
};

G_DEFINE_FINAL_TYPE_WITH_CODE (KanvasCanvas, kanvas_canvas, GTK_TYPE_WIDGET,
                               G_IMPLEMENT_INTERFACE (GTK_TYPE_SCROLLABLE, NULL))

enum
{
  PROP_0,
  PROP_BETA,
  PROP_ZOOM,
  PROP_HIDE_FAINT,
  N_PROPS,
  /* GtkScrollable's */
  PROP_HADJUSTMENT = N_PROPS,
  PROP_VADJUSTMENT,
  PROP_HSCROLL_POLICY,
  PROP_VSCROLL_POLICY
};

enum
{
  SELECTION_CHANGED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void
kanvas_canvas_measure (GtkWidget      *widget,
                       GtkOrientation  orientation,
                       int             for_size,
                       int            *minimum,
                       int            *natural,
                       int            *minimum_baseline,
                       int            *natural_baseline)
{
  KanvasCanvas *self = KANVAS_CANVAS (widget);
  double size = 240;

  if (self->snapshot)
    {
      const KanSnapshot *s = self->snapshot;
      int widest = 1;

      if (orientation == GTK_ORIENTATION_HORIZONTAL)
        {
          for (int l = 0; l < s->depth; l++)
            widest = MAX (widest, s->n_sub[l] * s->n_nodes[l + 1]);
          for (int l = 0; l <= s->depth; l++)
            widest = MAX (widest, 3 * s->n_nodes[l]);
          size = MAX (240, widest * EDGE_MIN_PX);
        }
      else
        size = MAX (240, (s->depth + 0.6) * LAYER_MIN_PX);
    }
  *minimum = MIN_PX;
  /* Only a request: a huge one would make a surrounding window huge. */
  *natural = (int) ceil (MIN (size, 1200));
}

static void
shared_clear (SharedSnapshot *sh)
{
  g_clear_pointer (&sh->snapshot, kan_snapshot_free);
}

static void
shared_release (SharedSnapshot *sh)
{
  g_atomic_rc_box_release_full (sh, (GDestroyNotify) shared_clear);
}

typedef struct
{
  SharedSnapshot *shared;
  KanRenderStyle  style;
  KanRenderMarks  marks;          /* a copy the thread owns; style.marks points here */
  int             width, height;  /* the view, logical */
  int             scale;
  double          zoom, ox, oy;   /* the part of the picture it shows */
  int             ov_width;       /* the overview's size, logical; 0: none */
  int             ov_height;
  GdkTexture     *texture;        /* the results */
  GdkTexture     *overview;
} RenderJob;

static void
marks_clear (KanRenderMarks *m)
{
  g_clear_pointer (&m->nodes, g_free);
  g_clear_pointer (&m->edges, g_free);
  m->n_nodes = m->n_edges = 0;
}

static void
render_job_free (RenderJob *job)
{
  shared_release (job->shared);
  marks_clear (&job->marks);
  g_clear_object (&job->texture);
  g_clear_object (&job->overview);
  g_free (job);
}

static void
free_surface (gpointer surface)
{
  cairo_surface_destroy (surface);
}

/* A texture of an image surface (taken over). */
static GdkTexture *
texture_from_surface (cairo_surface_t *surface)
{
  int ph = cairo_image_surface_get_height (surface);
  g_autoptr (GBytes) bytes = NULL;

  cairo_surface_flush (surface);
  /* CAIRO_FORMAT_ARGB32 is premultiplied BGRA in native order: GDK_MEMORY_DEFAULT. */
  bytes = g_bytes_new_with_free_func (cairo_image_surface_get_data (surface),
                                      (gsize) cairo_image_surface_get_stride (surface) * ph,
                                      free_surface, surface);
  return gdk_memory_texture_new (cairo_image_surface_get_width (surface), ph, GDK_MEMORY_DEFAULT,
                                 bytes, cairo_image_surface_get_stride (surface));
}

/* The layout of the picture at ZOOM for a W × H view, in the coordinates of the view scrolled
 * to OX,OY. Zoomed, it is the fitted layout magnified (not laid out anew for the larger size),
 * so zooming about a point keeps what is there in place, and boxes never rearrange. */
static KanLayout *
view_layout_new (const KanSnapshot *s,
                 double             w,
                 double             h,
                 double             zoom,
                 double             ox,
                 double             oy)
{
  KanLayout *lay = kan_layout_new (s, w, h);

  kan_layout_zoom (lay, zoom);
  kan_layout_translate (lay, -ox, -oy);
  return lay;
}

/* On a worker thread: the visible part of the picture (and the overview) as textures. */
static void
render_thread (GTask        *task,
               gpointer      source,
               gpointer      task_data,
               GCancellable *cancellable)
{
  RenderJob *job = task_data;
  const KanSnapshot *s = job->shared->snapshot;
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32,
                                                         job->width * job->scale,
                                                         job->height * job->scale);
  g_autoptr (KanLayout) lay = view_layout_new (s, job->width, job->height, job->zoom, job->ox,
                                               job->oy);
  cairo_t *cr = cairo_create (surface);

  cairo_scale (cr, job->scale, job->scale);
  kan_render_network_layout (cr, s, lay, &job->style);
  cairo_destroy (cr);
  job->texture = texture_from_surface (surface);
  if (job->ov_width > 0)
    {
      /* Names would be unreadable this small: below KAN_RENDER_LABEL_MIN they are left out. */
      KanRenderStyle st = job->style;
      st.font_size = 0.5 * KAN_RENDER_LABEL_MIN;
      st.text_scale = 1;
      surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, job->ov_width * job->scale,
                                            job->ov_height * job->scale);
      cr = cairo_create (surface);
      cairo_scale (cr, job->scale, job->scale);
      kan_render_network (cr, s, &st, job->ov_width, job->ov_height);
      cairo_destroy (cr);
      job->overview = texture_from_surface (surface);
    }
  g_task_return_boolean (task, TRUE);
}

static void
render_done (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  KanvasCanvas *self = KANVAS_CANVAS (source);
  RenderJob *job = g_task_get_task_data (G_TASK (result));

  self->rendering = FALSE;
  if (!g_task_propagate_boolean (G_TASK (result), NULL))
    return;
  g_set_object (&self->texture, job->texture);
  self->tex_width = job->width * job->scale;
  self->tex_height = job->height * job->scale;
  self->tex_scale = job->scale;
  self->tex_zoom = job->zoom;
  self->tex_ox = job->ox;
  self->tex_oy = job->oy;
  if (job->overview)
    g_set_object (&self->overview, job->overview);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

/* The view ------------------------------------------------------------------------------------ */

static void
view_size (KanvasCanvas *self,
           double       *w,
           double       *h)
{
  *w = MAX (gtk_widget_get_width (GTK_WIDGET (self)), 1);
  *h = MAX (gtk_widget_get_height (GTK_WIDGET (self)), 1);
}

/* Where the overview sits (widget coordinates); FALSE when none shows: at fit, or when the
 * widget is too small for it to leave room for the view. */
static gboolean
overview_rect (KanvasCanvas    *self,
               graphene_rect_t *r)
{
  double w, h, side, k;

  if (self->snapshot == NULL || self->zoom <= ZOOM_MIN)
    return FALSE;
  view_size (self, &w, &h);
  /* The picture has the view's proportions, so the overview has them too. */
  side = CLAMP (OVERVIEW_SIZE * MAX (w, h), OVERVIEW_MIN, OVERVIEW_MAX);
  k = side / MAX (w, h);
  if (k > 0.4)
    return FALSE;
  graphene_rect_init (r, w - k * w - OVERVIEW_PAD, h - k * h - OVERVIEW_PAD, k * w, k * h);
  return TRUE;
}

static gboolean
in_overview (KanvasCanvas *self,
             double        x,
             double        y)
{
  graphene_rect_t r;

  return overview_rect (self, &r) && graphene_rect_contains_point (&r, &GRAPHENE_POINT_INIT (x, y));
}

/* Keeps the offsets inside the picture and the adjustments (the scrollbars) in step. */
static void
view_update (KanvasCanvas *self)
{
  double w, h, pw, ph;

  view_size (self, &w, &h);
  pw = w * self->zoom;
  ph = h * self->zoom;
  self->ox = CLAMP (self->ox, 0, pw - w);
  self->oy = CLAMP (self->oy, 0, ph - h);
  if (self->hadj && self->vadj)
    {
      self->updating = TRUE;
      gtk_adjustment_configure (self->hadj, self->ox, 0, pw, PAN_STEP * w, 0.9 * w, w);
      gtk_adjustment_configure (self->vadj, self->oy, 0, ph, PAN_STEP * h, 0.9 * h, h);
      self->updating = FALSE;
    }
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
set_view (KanvasCanvas *self,
          double        zoom,
          double        ox,
          double        oy)
{
  gboolean zoomed = zoom != self->zoom;

  self->zoom = zoom;
  self->ox = ox;
  self->oy = oy;
  view_update (self);
  if (zoomed)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ZOOM]);
}

/* Centres the view on the point of the picture that X,Y of the overview shows. */
static void
view_centre_on_overview (KanvasCanvas *self,
                         double        x,
                         double        y)
{
  graphene_rect_t r;
  double w, h;

  if (!overview_rect (self, &r))
    return;
  view_size (self, &w, &h);
  set_view (self, self->zoom,
            (x - r.origin.x) / r.size.width * w * self->zoom - 0.5 * w,
            (y - r.origin.y) / r.size.height * h * self->zoom - 0.5 * h);
}

/* Scrolls as little as it takes to show R (widget coordinates), with a margin. */
static void
view_show_rect (KanvasCanvas  *self,
                const KanRect *r)
{
  const double margin = 8;
  double w, h, ox = self->ox, oy = self->oy;

  view_size (self, &w, &h);
  if (r->x + r->w + margin > w)
    ox += r->x + r->w + margin - w;
  if (r->x - margin < ox - self->ox)
    ox = self->ox + r->x - margin;
  if (r->y + r->h + margin > h)
    oy += r->y + r->h + margin - h;
  if (r->y - margin < oy - self->oy)
    oy = self->oy + r->y - margin;
  set_view (self, self->zoom, ox, oy);
}

static void
on_adjustment_value_changed (GtkAdjustment *adj,
                             KanvasCanvas  *self)
{
  if (self->updating)
    return;
  /* A scrollbar, the wheel or a touchpad moved the view. */
  self->ox = gtk_adjustment_get_value (self->hadj);
  self->oy = gtk_adjustment_get_value (self->vadj);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
set_adjustment (KanvasCanvas   *self,
                GtkAdjustment **slot,
                GtkAdjustment  *adj)
{
  if (adj != NULL && adj == *slot)
    return;
  if (*slot)
    {
      g_signal_handlers_disconnect_by_func (*slot, on_adjustment_value_changed, self);
      g_object_unref (*slot);
    }
  /* Outside a GtkScrolledWindow the canvas keeps adjustments of its own. */
  if (adj == NULL)
    adj = gtk_adjustment_new (0, 0, 0, 0, 0, 0);
  *slot = g_object_ref_sink (adj);
  g_signal_connect (adj, "value-changed", G_CALLBACK (on_adjustment_value_changed), self);
  view_update (self);
}

/* Drawing ------------------------------------------------------------------------------------- */

static void
start_render (KanvasCanvas *self,
              int           w,
              int           h,
              int           scale)
{
  RenderJob *job = g_new0 (RenderJob, 1);
  g_autoptr (GTask) task = g_task_new (self, self->cancellable, render_done, NULL);
  graphene_rect_t ov;

  job->shared = g_atomic_rc_box_acquire (self->shared);
  job->style = self->style;
  if (self->style.marks)
    {
      job->marks.n_nodes = self->marks.n_nodes;
      job->marks.nodes = g_memdup2 (self->marks.nodes, sizeof (int) * 2 * self->marks.n_nodes);
      job->marks.n_edges = self->marks.n_edges;
      job->marks.edges = g_memdup2 (self->marks.edges, sizeof (int) * 3 * self->marks.n_edges);
      job->style.marks = &job->marks;
    }
  job->width = w;
  job->height = h;
  job->scale = scale;
  job->zoom = self->zoom;
  job->ox = self->ox;
  job->oy = self->oy;
  if (overview_rect (self, &ov))
    {
      job->ov_width = (int) ceil (ov.size.width);
      job->ov_height = (int) ceil (ov.size.height);
    }
  g_task_set_task_data (task, job, (GDestroyNotify) render_job_free);
  self->rendering = TRUE;
  self->dirty = FALSE;
  g_task_run_in_thread (task, render_thread);
}

/* TRUE when the last texture (and overview) was made for the view as it is now. */
static gboolean
texture_shows_view (KanvasCanvas *self)
{
  GtkWidget *widget = GTK_WIDGET (self);
  int scale = gtk_widget_get_scale_factor (widget);
  graphene_rect_t ov;

  return self->texture != NULL
         && self->tex_width == gtk_widget_get_width (widget) * scale
         && self->tex_height == gtk_widget_get_height (widget) * scale
         && self->tex_scale == scale && self->tex_zoom == self->zoom
         && self->tex_ox == self->ox && self->tex_oy == self->oy
         && (!overview_rect (self, &ov)
             || (self->overview != NULL
                 && gdk_texture_get_width (self->overview) == (int) ceil (ov.size.width) * scale));
}

gboolean
kanvas_canvas_is_drawn (KanvasCanvas *self)
{
  g_return_val_if_fail (KANVAS_IS_CANVAS (self), FALSE);
  return self->snapshot == NULL
         || (!self->dirty && !self->rendering && texture_shows_view (self));
}

/* The overview: the whole picture, small, with the visible part outlined. */
static void
snapshot_overview (KanvasCanvas *self,
                   GtkSnapshot  *snapshot)
{
  const KanRenderStyle *st = &self->style;
  graphene_rect_t r, v;
  GskRoundedRect frame;
  double w, h;

  if (!overview_rect (self, &r))
    return;
  view_size (self, &w, &h);
  gtk_snapshot_append_color (snapshot, &(GdkRGBA) { st->fg[0], st->fg[1], st->fg[2], 0.35 },
                             &GRAPHENE_RECT_INIT (r.origin.x - 1, r.origin.y - 1,
                                                  r.size.width + 2, r.size.height + 2));
  gtk_snapshot_append_color (snapshot, &(GdkRGBA) { st->bg[0], st->bg[1], st->bg[2], 1 }, &r);
  if (self->overview)
    gtk_snapshot_append_texture (snapshot, self->overview, &r);
  graphene_rect_init (&v, r.origin.x + self->ox / (w * self->zoom) * r.size.width,
                      r.origin.y + self->oy / (h * self->zoom) * r.size.height,
                      r.size.width / self->zoom, r.size.height / self->zoom);
  gtk_snapshot_append_color (snapshot,
                             &(GdkRGBA) { st->selected[0], st->selected[1], st->selected[2], 0.15 },
                             &v);
  gsk_rounded_rect_init_from_rect (&frame, &v, 0);
  {
    GdkRGBA c = { st->selected[0], st->selected[1], st->selected[2], 1 };
    gtk_snapshot_append_border (snapshot, &frame, (float[4]) { 1.5, 1.5, 1.5, 1.5 },
                                (GdkRGBA[4]) { c, c, c, c });
  }
}

static void
kanvas_canvas_snapshot (GtkWidget   *widget,
                        GtkSnapshot *snapshot)
{
  KanvasCanvas *self = KANVAS_CANVAS (widget);
  int w = gtk_widget_get_width (widget);
  int h = gtk_widget_get_height (widget);
  int scale = gtk_widget_get_scale_factor (widget);
  gint64 t0 = g_get_monotonic_time ();

  if (w <= 0 || h <= 0 || self->snapshot == NULL)
    return;
  if (!texture_shows_view (self))
    self->dirty = TRUE;

  if (self->texture == NULL)
    {
      /* The first picture is drawn in place, so the canvas is never empty. */
      g_autoptr (KanLayout) lay = view_layout_new (self->snapshot, w, h, self->zoom, self->ox,
                                                   self->oy);
      cairo_t *cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, w, h));
      kan_render_network_layout (cr, self->snapshot, lay, &self->style);
      cairo_destroy (cr);
      if (!self->rendering)
        start_render (self, w, h, scale);
    }
  else
    {
      /* The last picture where its part of the picture is now (moved or stretched while a new
       * one renders), and a new one if it is old. */
      double tw = (double) self->tex_width / self->tex_scale;
      double th = (double) self->tex_height / self->tex_scale;
      double kx = w * self->zoom / (tw * self->tex_zoom);
      double ky = h * self->zoom / (th * self->tex_zoom);

      gtk_snapshot_push_clip (snapshot, &GRAPHENE_RECT_INIT (0, 0, w, h));
      gtk_snapshot_append_texture (snapshot, self->texture,
                                   &GRAPHENE_RECT_INIT (self->tex_ox * kx - self->ox,
                                                        self->tex_oy * ky - self->oy,
                                                        tw * kx, th * ky));
      gtk_snapshot_pop (snapshot);
      if (self->dirty && !self->rendering)
        start_render (self, w, h, scale);
    }
  snapshot_overview (self, snapshot);
  self->last_draw_us = g_get_monotonic_time () - t0;
}

static void
invalidate (KanvasCanvas *self)
{
  GtkWidget *widget = GTK_WIDGET (self);
  int w = gtk_widget_get_width (widget), h = gtk_widget_get_height (widget);

  self->dirty = TRUE;
  /* While a picture of the current view shows, it stays until the new one is ready: render
   * now (or when the running render ends: render_done queues the frame that starts the next)
   * rather than in the next frame, and leave the frame alone (a training run sends a snapshot
   * every 50 ms; a frame that only re-blits the old picture costs the main loop a software
   * repaint of the canvas). */
  if (self->snapshot != NULL && gtk_widget_get_mapped (widget) && texture_shows_view (self)
      && w > 0 && h > 0)
    {
      if (!self->rendering)
        start_render (self, w, h, gtk_widget_get_scale_factor (widget));
    }
  else
    gtk_widget_queue_draw (widget);
}

KanLayout *
kanvas_canvas_get_layout (KanvasCanvas *self)
{
  double w, h;

  g_return_val_if_fail (KANVAS_IS_CANVAS (self), NULL);

  if (self->snapshot == NULL)
    return NULL;
  /* The layout kanvas_canvas_snapshot draws with. */
  view_size (self, &w, &h);
  return view_layout_new (self->snapshot, w, h, self->zoom, self->ox, self->oy);
}

gboolean
kanvas_canvas_hit (KanvasCanvas *self,
                   double        x,
                   double        y,
                   int          *l,
                   int          *i,
                   int          *j)
{
  g_autoptr (KanLayout) lay = NULL;
  double w, h;

  g_return_val_if_fail (KANVAS_IS_CANVAS (self), FALSE);

  *l = *i = *j = -1;
  /* Only what shows: not what is scrolled away, nor what the overview covers. */
  view_size (self, &w, &h);
  if (x < 0 || y < 0 || x >= w || y >= h || in_overview (self, x, y))
    return FALSE;
  lay = kanvas_canvas_get_layout (self);
  return lay != NULL && kan_layout_hit (lay, x, y, l, i, j);
}

gboolean
kanvas_canvas_get_node_centre (KanvasCanvas *self,
                               int           l,
                               int           i,
                               double       *x,
                               double       *y)
{
  g_autoptr (KanLayout) lay = NULL;
  KanRect r;

  g_return_val_if_fail (KANVAS_IS_CANVAS (self), FALSE);

  lay = kanvas_canvas_get_layout (self);
  if (lay == NULL || l < 0 || l > self->snapshot->depth || i < 0
      || i >= self->snapshot->n_nodes[l])
    return FALSE;
  r = kan_layout_node_box (lay, l, i);
  if (x)
    *x = r.x + 0.5 * r.w;
  if (y)
    *y = r.y + 0.5 * r.h;
  return TRUE;
}

void
kanvas_canvas_select_at (KanvasCanvas *self,
                         double        x,
                         double        y)
{
  int l, i, j;

  g_return_if_fail (KANVAS_IS_CANVAS (self));

  if (!kanvas_canvas_hit (self, x, y, &l, &i, &j))
    l = i = j = -1;
  kanvas_canvas_set_selection (self, l, i, j);
}

static void
popup_menu (KanvasCanvas *self,
            double        x,
            double        y)
{
  if (self->menu_popover == NULL || self->style.sel_l < 0)
    return;
  gtk_popover_set_pointing_to (GTK_POPOVER (self->menu_popover),
                               &(GdkRectangle) { (int) x, (int) y, 1, 1 });
  gtk_popover_popup (GTK_POPOVER (self->menu_popover));
}

static void
on_click_pressed (GtkGestureClick *gesture,
                  int              n_press,
                  double           x,
                  double           y,
                  KanvasCanvas    *self)
{
  gtk_widget_grab_focus (GTK_WIDGET (self));
  /* A press in the overview moves the view (on_drag_begin), and leaves the selection. */
  if (in_overview (self, x, y))
    return;
  kanvas_canvas_select_at (self, x, y);
  if (gtk_gesture_single_get_current_button (GTK_GESTURE_SINGLE (gesture)) == GDK_BUTTON_SECONDARY)
    popup_menu (self, x, y);
}

/* The box of the selection in widget coordinates (empty when nothing is selected). */
static KanRect
selection_box (KanvasCanvas *self)
{
  g_autoptr (KanLayout) lay = kanvas_canvas_get_layout (self);
  const KanRenderStyle *st = &self->style;

  if (lay == NULL || st->sel_l < 0)
    return (KanRect) { 0, 0, 0, 0 };
  return st->sel_j >= 0 ? kan_layout_edge_box (lay, st->sel_l, st->sel_i, st->sel_j)
                        : kan_layout_node_box (lay, st->sel_l, st->sel_i);
}

/* Keyboard: Left/Right walk the edges in order, Up/Down jump a layer (the view follows the
 * selection), Shift+arrows pan, Escape clears, Menu or Shift+F10 opens the context menu at the
 * selection. */
static gboolean
on_key_pressed (GtkEventControllerKey *controller,
                guint                  keyval,
                guint                  keycode,
                GdkModifierType        state,
                KanvasCanvas          *self)
{
  const KanSnapshot *s = self->snapshot;
  int cur = -1, next;

  if ((state & GDK_SHIFT_MASK) && (keyval == GDK_KEY_Left || keyval == GDK_KEY_Right
                                   || keyval == GDK_KEY_Up || keyval == GDK_KEY_Down))
    {
      double w, h;
      view_size (self, &w, &h);
      set_view (self, self->zoom,
                self->ox + PAN_STEP * w * (keyval == GDK_KEY_Left ? -1 : keyval == GDK_KEY_Right),
                self->oy + PAN_STEP * h * (keyval == GDK_KEY_Up ? -1 : keyval == GDK_KEY_Down));
      return TRUE;
    }
  if (s == NULL || s->n_edges == 0)
    return FALSE;
  for (int e = 0; e < s->n_edges && self->style.sel_j >= 0; e++)
    if (s->edges[e].l == self->style.sel_l && s->edges[e].i == self->style.sel_i
        && s->edges[e].j == self->style.sel_j)
      cur = e;
  switch (keyval)
    {
    case GDK_KEY_Right:
      next = cur < 0 ? 0 : (cur + 1) % s->n_edges;
      break;
    case GDK_KEY_Left:
      next = cur <= 0 ? s->n_edges - 1 : cur - 1;
      break;
    case GDK_KEY_Up:
    case GDK_KEY_Down:
      {
        int layer = cur < 0 ? 0 : s->edges[cur].l + (keyval == GDK_KEY_Up ? 1 : -1);
        layer = CLAMP (layer, 0, s->depth - 1);
        next = cur < 0 ? 0 : cur;
        for (int e = 0; e < s->n_edges; e++)
          if (s->edges[e].l == layer)
            {
              next = e;
              break;
            }
        break;
      }
    case GDK_KEY_Escape:
      kanvas_canvas_set_selection (self, -1, -1, -1);
      return TRUE;
    case GDK_KEY_Menu:
    case GDK_KEY_F10:
      if (keyval == GDK_KEY_F10 && !(state & GDK_SHIFT_MASK))
        return FALSE;
      if (self->style.sel_l >= 0)
        {
          KanRect r = selection_box (self);
          view_show_rect (self, &r);
          r = selection_box (self);
          popup_menu (self, r.x + r.w / 2, r.y + r.h / 2);
        }
      return TRUE;
    default:
      return FALSE;
    }
  kanvas_canvas_set_selection (self, s->edges[next].l, s->edges[next].i, s->edges[next].j);
  {
    KanRect r = selection_box (self);
    view_show_rect (self, &r);
  }
  return TRUE;
}

static gboolean
on_query_tooltip (GtkWidget  *widget,
                  int         x,
                  int         y,
                  gboolean    keyboard,
                  GtkTooltip *tooltip,
                  gpointer    user_data)
{
  KanvasCanvas *self = KANVAS_CANVAS (widget);
  g_autofree char *text = NULL;
  int l, i, j;

  if (keyboard || !kanvas_canvas_hit (self, x, y, &l, &i, &j))
    return FALSE;
  if (j >= 0)
    {
      const KanSnapshotEdge *e = kan_snapshot_edge (self->snapshot, l, i, j);
      g_autofree char *form = NULL;
      if (e == NULL)
        return FALSE;
      if ((e->mode == KAN_EDGE_SYMBOLIC || e->mode == KAN_EDGE_BOTH) && e->sym_id >= 0)
        form = kan_formula_edge_to_string (e->sym_id, e->abcd, 4);
      text = g_strdup_printf ("Edge (%d, %d, %d): %s%s%s\nscore %.3g, input range [%.3g, %.3g]\n"
                              "Click to inspect, right-click for actions",
                              l, i, j, kan_edge_mode_name (e->mode), form ? " " : "", form ? form : "",
                              e->score, e->x_min, e->x_max);
    }
  else
    {
      const KanSnapshot *s = self->snapshot;
      const char *name = NULL;
      if (l == 0 && s->in_names && i < (int) g_strv_length (s->in_names))
        name = s->in_names[i];
      else if (l == s->depth && s->out_names && i < (int) g_strv_length (s->out_names))
        name = s->out_names[i];
      text = g_strdup_printf ("Node %d of layer %d%s%s%s\nscore %.3g", i, l,
                              name ? " (" : "", name ? name : "", name ? ")" : "",
                              s->node_score && s->node_score[l] ? s->node_score[l][i] : 0.0);
    }
  gtk_tooltip_set_text (tooltip, text);
  return TRUE;
}

static gboolean
on_scroll (GtkEventControllerScroll *controller,
           double                    dx,
           double                    dy,
           KanvasCanvas             *self)
{
  GdkModifierType mods = gtk_event_controller_get_current_event_state (GTK_EVENT_CONTROLLER (controller));

  /* Ctrl+wheel zooms about the pointer (a click a step, a touchpad smoothly); a plain wheel
   * scrolls the view through the adjustments. */
  if (!(mods & GDK_CONTROL_MASK))
    return FALSE;
  kanvas_canvas_zoom_at (self, self->zoom * pow (ZOOM_STEP, -dy), self->pointer_x,
                         self->pointer_y);
  return TRUE;
}

static void
on_motion (GtkEventControllerMotion *controller,
           double                    x,
           double                    y,
           KanvasCanvas             *self)
{
  self->pointer_x = x;
  self->pointer_y = y;
}

static void
on_pinch_begin (GtkGesture       *gesture,
                GdkEventSequence *sequence,
                KanvasCanvas     *self)
{
  self->pinch_zoom = self->zoom;
}

static void
on_pinch_scale_changed (GtkGestureZoom *gesture,
                        double          scale,
                        KanvasCanvas   *self)
{
  double x, y;

  if (!gtk_gesture_get_bounding_box_center (GTK_GESTURE (gesture), &x, &y))
    return;
  kanvas_canvas_zoom_at (self, self->pinch_zoom * scale, x, y);
}

/* A drag pans when it starts on empty space (or with the middle button anywhere); in the
 * overview it moves the view there. */
static void
on_drag_begin (GtkGestureDrag *gesture,
               double          x,
               double          y,
               KanvasCanvas   *self)
{
  guint button = gtk_gesture_single_get_current_button (GTK_GESTURE_SINGLE (gesture));
  int l, i, j;

  self->drag = DRAG_NONE;
  self->drag_x = x;
  self->drag_y = y;
  self->drag_ox = self->ox;
  self->drag_oy = self->oy;
  if (in_overview (self, x, y))
    {
      self->drag = DRAG_OVERVIEW;
      view_centre_on_overview (self, x, y);
    }
  else if (button == GDK_BUTTON_MIDDLE
           || (button == GDK_BUTTON_PRIMARY && !kanvas_canvas_hit (self, x, y, &l, &i, &j)))
    self->drag = DRAG_PAN;
  if (self->drag == DRAG_PAN && self->zoom > ZOOM_MIN)
    gtk_widget_set_cursor_from_name (GTK_WIDGET (self), "grabbing");
}

static void
on_drag_update (GtkGestureDrag *gesture,
                double          dx,
                double          dy,
                KanvasCanvas   *self)
{
  if (self->drag == DRAG_PAN)
    set_view (self, self->zoom, self->drag_ox - dx, self->drag_oy - dy);
  else if (self->drag == DRAG_OVERVIEW)
    view_centre_on_overview (self, self->drag_x + dx, self->drag_y + dy);
}

static void
on_drag_end (GtkGestureDrag *gesture,
             double          dx,
             double          dy,
             KanvasCanvas   *self)
{
  self->drag = DRAG_NONE;
  gtk_widget_set_cursor (GTK_WIDGET (self), NULL);
}

static void
zoom_action (GtkWidget  *widget,
             const char *name,
             GVariant   *param)
{
  KanvasCanvas *self = KANVAS_CANVAS (widget);

  if (g_str_equal (name, "canvas.zoom-in"))
    kanvas_canvas_set_zoom (self, self->zoom * ZOOM_STEP);
  else if (g_str_equal (name, "canvas.zoom-out"))
    kanvas_canvas_set_zoom (self, self->zoom / ZOOM_STEP);
  else
    kanvas_canvas_fit (self);
}

static void
kanvas_canvas_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  KanvasCanvas *self = KANVAS_CANVAS (object);

  switch (prop_id)
    {
    case PROP_BETA:
      g_value_set_double (value, self->style.beta);
      break;
    case PROP_ZOOM:
      g_value_set_double (value, self->zoom);
      break;
    case PROP_HIDE_FAINT:
      g_value_set_double (value, self->style.hide_below);
      break;
    case PROP_HADJUSTMENT:
      g_value_set_object (value, self->hadj);
      break;
    case PROP_VADJUSTMENT:
      g_value_set_object (value, self->vadj);
      break;
    case PROP_HSCROLL_POLICY:
      g_value_set_enum (value, self->hscroll_policy);
      break;
    case PROP_VSCROLL_POLICY:
      g_value_set_enum (value, self->vscroll_policy);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
kanvas_canvas_set_property (GObject      *object,
                            guint         prop_id,
                            const GValue *value,
                            GParamSpec   *pspec)
{
  KanvasCanvas *self = KANVAS_CANVAS (object);

  switch (prop_id)
    {
    case PROP_BETA:
      kanvas_canvas_set_beta (self, g_value_get_double (value));
      break;
    case PROP_ZOOM:
      kanvas_canvas_set_zoom (self, g_value_get_double (value));
      break;
    case PROP_HIDE_FAINT:
      kanvas_canvas_set_hide_faint (self, g_value_get_double (value));
      break;
    case PROP_HADJUSTMENT:
      set_adjustment (self, &self->hadj, g_value_get_object (value));
      break;
    case PROP_VADJUSTMENT:
      set_adjustment (self, &self->vadj, g_value_get_object (value));
      break;
    case PROP_HSCROLL_POLICY:
    case PROP_VSCROLL_POLICY:
      {
        /* The picture fits any size, so the policy changes nothing but is kept. */
        guint v = g_value_get_enum (value);
        if (prop_id == PROP_HSCROLL_POLICY && self->hscroll_policy != v)
          self->hscroll_policy = v;
        else if (prop_id == PROP_VSCROLL_POLICY && self->vscroll_policy != v)
          self->vscroll_policy = v;
        else
          break;
        g_object_notify_by_pspec (object, pspec);
        break;
      }
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
kanvas_canvas_size_allocate (GtkWidget *widget,
                             int        width,
                             int        height,
                             int        baseline)
{
  KanvasCanvas *self = KANVAS_CANVAS (widget);

  /* The picture scales with the view: the same part stays in view. */
  if (self->view_w > 0 && self->view_h > 0)
    {
      self->ox *= (double) width / self->view_w;
      self->oy *= (double) height / self->view_h;
    }
  self->view_w = width;
  self->view_h = height;
  view_update (self);
  if (self->menu_popover)
    gtk_popover_present (GTK_POPOVER (self->menu_popover));
}

static void
kanvas_canvas_dispose (GObject *object)
{
  KanvasCanvas *self = KANVAS_CANVAS (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_pointer (&self->menu_popover, gtk_widget_unparent);
  if (self->hadj)
    g_signal_handlers_disconnect_by_func (self->hadj, on_adjustment_value_changed, self);
  if (self->vadj)
    g_signal_handlers_disconnect_by_func (self->vadj, on_adjustment_value_changed, self);
  g_clear_object (&self->hadj);
  g_clear_object (&self->vadj);
  G_OBJECT_CLASS (kanvas_canvas_parent_class)->dispose (object);
}

static void
kanvas_canvas_finalize (GObject *object)
{
  KanvasCanvas *self = KANVAS_CANVAS (object);

  g_clear_pointer (&self->shared, shared_release);
  g_clear_object (&self->texture);
  g_clear_object (&self->overview);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->preview_nodes, g_array_unref);
  g_clear_pointer (&self->preview_edges, g_array_unref);
  marks_clear (&self->marks);
  G_OBJECT_CLASS (kanvas_canvas_parent_class)->finalize (object);
}

static void
kanvas_canvas_class_init (KanvasCanvasClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = kanvas_canvas_dispose;
  object_class->finalize = kanvas_canvas_finalize;
  object_class->get_property = kanvas_canvas_get_property;
  object_class->set_property = kanvas_canvas_set_property;
  widget_class->measure = kanvas_canvas_measure;
  widget_class->snapshot = kanvas_canvas_snapshot;
  widget_class->size_allocate = kanvas_canvas_size_allocate;

  properties[PROP_BETA] =
    g_param_spec_double ("beta", NULL, NULL, 0, 1000, 3,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_ZOOM] =
    g_param_spec_double ("zoom", NULL, NULL, ZOOM_MIN, ZOOM_MAX, 1,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_HIDE_FAINT] =
    g_param_spec_double ("hide-faint", NULL, NULL, 0, 1, 0,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
  g_object_class_override_property (object_class, PROP_HADJUSTMENT, "hadjustment");
  g_object_class_override_property (object_class, PROP_VADJUSTMENT, "vadjustment");
  g_object_class_override_property (object_class, PROP_HSCROLL_POLICY, "hscroll-policy");
  g_object_class_override_property (object_class, PROP_VSCROLL_POLICY, "vscroll-policy");

  /* The window has the same shortcuts for its zoom buttons; these serve the canvas alone. */
  gtk_widget_class_install_action (widget_class, "canvas.zoom-in", NULL, zoom_action);
  gtk_widget_class_install_action (widget_class, "canvas.zoom-out", NULL, zoom_action);
  gtk_widget_class_install_action (widget_class, "canvas.zoom-fit", NULL, zoom_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_plus, GDK_CONTROL_MASK,
                                       "canvas.zoom-in", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_equal, GDK_CONTROL_MASK,
                                       "canvas.zoom-in", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Add, GDK_CONTROL_MASK,
                                       "canvas.zoom-in", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_minus, GDK_CONTROL_MASK,
                                       "canvas.zoom-out", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Subtract, GDK_CONTROL_MASK,
                                       "canvas.zoom-out", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_0, GDK_CONTROL_MASK,
                                       "canvas.zoom-fit", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_0, GDK_CONTROL_MASK,
                                       "canvas.zoom-fit", NULL);

  signals[SELECTION_CHANGED] =
    g_signal_new ("selection-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 0);

  gtk_widget_class_set_css_name (widget_class, "kanvascanvas");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
kanvas_canvas_init (KanvasCanvas *self)
{
  GtkGesture *click = gtk_gesture_click_new ();
  GtkEventController *keys = gtk_event_controller_key_new ();
  GtkEventController *scroll =
    gtk_event_controller_scroll_new (GTK_EVENT_CONTROLLER_SCROLL_VERTICAL);
  GtkEventController *motion = gtk_event_controller_motion_new ();
  GtkGesture *pinch = gtk_gesture_zoom_new ();
  GtkGesture *drag = gtk_gesture_drag_new ();

  kan_render_style_init (&self->style);
  self->zoom = 1;
  self->cancellable = g_cancellable_new ();
  set_adjustment (self, &self->hadj, NULL);
  set_adjustment (self, &self->vadj, NULL);
  g_signal_connect (motion, "motion", G_CALLBACK (on_motion), self);
  gtk_widget_add_controller (GTK_WIDGET (self), motion);
  g_signal_connect (pinch, "begin", G_CALLBACK (on_pinch_begin), self);
  g_signal_connect (pinch, "scale-changed", G_CALLBACK (on_pinch_scale_changed), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (pinch));
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (drag), 0);
  g_signal_connect (drag, "drag-begin", G_CALLBACK (on_drag_begin), self);
  g_signal_connect (drag, "drag-update", G_CALLBACK (on_drag_update), self);
  g_signal_connect (drag, "drag-end", G_CALLBACK (on_drag_end), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (drag));

  /* Any button selects; the secondary one also opens the context menu. */
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (click), 0);
  g_signal_connect (click, "pressed", G_CALLBACK (on_click_pressed), self);
  g_signal_connect (keys, "key-pressed", G_CALLBACK (on_key_pressed), self);
  gtk_widget_add_controller (GTK_WIDGET (self), keys);
  gtk_widget_set_focusable (GTK_WIDGET (self), TRUE);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (click));
  g_signal_connect (scroll, "scroll", G_CALLBACK (on_scroll), self);
  gtk_widget_add_controller (GTK_WIDGET (self), scroll);
  gtk_widget_set_has_tooltip (GTK_WIDGET (self), TRUE);
  g_signal_connect (self, "query-tooltip", G_CALLBACK (on_query_tooltip), NULL);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  "Network", -1);
}

GtkWidget *
kanvas_canvas_new (void)
{
  return g_object_new (KANVAS_TYPE_CANVAS, NULL);
}

void
kanvas_canvas_set_snapshot (KanvasCanvas *self,
                            KanSnapshot  *snapshot)
{
  gboolean reshape, had_selection = self->style.sel_l >= 0;

  g_return_if_fail (KANVAS_IS_CANVAS (self));

  reshape = self->snapshot == NULL || snapshot == NULL
            || self->snapshot->depth != snapshot->depth
            || memcmp (self->snapshot->n_sub, snapshot->n_sub,
                       sizeof (int) * (snapshot->depth + 1)) != 0
            || memcmp (self->snapshot->n_nodes, snapshot->n_nodes,
                       sizeof (int) * (snapshot->depth + 1)) != 0;
  /* A render thread may still hold the old one; it goes with the last reference. */
  g_clear_pointer (&self->shared, shared_release);
  self->snapshot = snapshot;
  if (snapshot)
    {
      self->shared = g_atomic_rc_box_new0 (SharedSnapshot);
      self->shared->snapshot = snapshot;
      self->n_snapshots++;
    }
  else
    {
      g_clear_object (&self->texture);
      self->tex_width = self->tex_height = 0;
    }
  if (reshape)
    {
      /* A picture of another network must not show, even stretched for a moment. */
      g_clear_object (&self->texture);
      self->tex_width = self->tex_height = 0;
      self->style.sel_l = self->style.sel_i = self->style.sel_j = -1;
      /* A preview numbers nodes and edges of the network it was made for. */
      kanvas_canvas_clear_prune_preview (self);
      /* Another network starts whole in view. */
      g_clear_object (&self->overview);
      set_view (self, ZOOM_MIN, 0, 0);
      gtk_widget_queue_resize (GTK_WIDGET (self));
    }
  invalidate (self);
  if (reshape && had_selection)
    g_signal_emit (self, signals[SELECTION_CHANGED], 0);
}

const KanSnapshot *
kanvas_canvas_get_snapshot (KanvasCanvas *self)
{
  g_return_val_if_fail (KANVAS_IS_CANVAS (self), NULL);
  return self->snapshot;
}

guint
kanvas_canvas_get_n_snapshots (KanvasCanvas *self)
{
  g_return_val_if_fail (KANVAS_IS_CANVAS (self), 0);
  return self->n_snapshots;
}

double
kanvas_canvas_get_beta (KanvasCanvas *self)
{
  g_return_val_if_fail (KANVAS_IS_CANVAS (self), 0);
  return self->style.beta;
}

void
kanvas_canvas_set_beta (KanvasCanvas *self,
                        double        beta)
{
  g_return_if_fail (KANVAS_IS_CANVAS (self));

  if (self->style.beta == beta)
    return;
  self->style.beta = beta;
  invalidate (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BETA]);
}

double
kanvas_canvas_get_zoom (KanvasCanvas *self)
{
  g_return_val_if_fail (KANVAS_IS_CANVAS (self), 1);
  return self->zoom;
}

void
kanvas_canvas_set_zoom (KanvasCanvas *self,
                        double        zoom)
{
  g_return_if_fail (KANVAS_IS_CANVAS (self));

  kanvas_canvas_zoom_at (self, zoom, 0.5 * gtk_widget_get_width (GTK_WIDGET (self)),
                         0.5 * gtk_widget_get_height (GTK_WIDGET (self)));
}

void
kanvas_canvas_zoom_at (KanvasCanvas *self,
                       double        zoom,
                       double        x,
                       double        y)
{
  double w, h, fx, fy;

  g_return_if_fail (KANVAS_IS_CANVAS (self));

  zoom = CLAMP (zoom, ZOOM_MIN, ZOOM_MAX);
  if (self->zoom == zoom)
    return;
  /* The point of the picture under X,Y stays there. */
  view_size (self, &w, &h);
  fx = (x + self->ox) / (w * self->zoom);
  fy = (y + self->oy) / (h * self->zoom);
  set_view (self, zoom, fx * w * zoom - x, fy * h * zoom - y);
}

void
kanvas_canvas_fit (KanvasCanvas *self)
{
  g_return_if_fail (KANVAS_IS_CANVAS (self));
  set_view (self, ZOOM_MIN, 0, 0);
}

void
kanvas_canvas_get_scroll (KanvasCanvas *self,
                          double       *x,
                          double       *y)
{
  g_return_if_fail (KANVAS_IS_CANVAS (self));
  if (x)
    *x = self->ox;
  if (y)
    *y = self->oy;
}

void
kanvas_canvas_scroll_to (KanvasCanvas *self,
                         double        x,
                         double        y)
{
  g_return_if_fail (KANVAS_IS_CANVAS (self));
  set_view (self, self->zoom, x, y);
}

gboolean
kanvas_canvas_get_overview (KanvasCanvas    *self,
                            graphene_rect_t *rect)
{
  graphene_rect_t r;

  g_return_val_if_fail (KANVAS_IS_CANVAS (self), FALSE);
  if (!overview_rect (self, &r))
    return FALSE;
  if (rect)
    *rect = r;
  return TRUE;
}

double
kanvas_canvas_get_hide_faint (KanvasCanvas *self)
{
  g_return_val_if_fail (KANVAS_IS_CANVAS (self), 0);
  return self->style.hide_below;
}

void
kanvas_canvas_set_hide_faint (KanvasCanvas *self,
                              double        alpha)
{
  g_return_if_fail (KANVAS_IS_CANVAS (self));

  alpha = CLAMP (alpha, 0, 1);
  if (self->style.hide_below == alpha)
    return;
  self->style.hide_below = alpha;
  invalidate (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_HIDE_FAINT]);
}

void
kanvas_canvas_set_dark (KanvasCanvas *self,
                        gboolean      dark)
{
  KanRenderStyle st;

  g_return_if_fail (KANVAS_IS_CANVAS (self));

  /* Keep what the user chose (β, selection); take the colours of the theme. */
  if (dark)
    kan_render_style_dark (&st);
  else
    kan_render_style_init (&st);
  st.beta = self->style.beta;
  st.sel_l = self->style.sel_l;
  st.sel_i = self->style.sel_i;
  st.sel_j = self->style.sel_j;
  st.font_size = self->style.font_size;
  st.text_scale = self->style.text_scale;
  st.marks = self->style.marks;
  st.hide_below = self->style.hide_below;
  self->style = st;
  self->dark = dark;
  invalidate (self);
}

void
kanvas_canvas_set_text_scale (KanvasCanvas *self,
                              double        scale)
{
  g_return_if_fail (KANVAS_IS_CANVAS (self));
  g_return_if_fail (scale > 0);

  if (self->style.text_scale == scale)
    return;
  self->style.text_scale = scale;
  invalidate (self);
}

const KanRenderStyle *
kanvas_canvas_get_style (KanvasCanvas *self)
{
  g_return_val_if_fail (KANVAS_IS_CANVAS (self), NULL);
  return &self->style;
}

void
kanvas_canvas_get_selection (KanvasCanvas *self,
                             int          *l,
                             int          *i,
                             int          *j)
{
  g_return_if_fail (KANVAS_IS_CANVAS (self));
  if (l)
    *l = self->style.sel_l;
  if (i)
    *i = self->style.sel_i;
  if (j)
    *j = self->style.sel_j;
}

void
kanvas_canvas_set_selection (KanvasCanvas *self,
                             int           l,
                             int           i,
                             int           j)
{
  g_return_if_fail (KANVAS_IS_CANVAS (self));

  if (self->style.sel_l == l && self->style.sel_i == i && self->style.sel_j == j)
    return;
  self->style.sel_l = l;
  self->style.sel_i = i;
  self->style.sel_j = j;
  invalidate (self);
  g_signal_emit (self, signals[SELECTION_CHANGED], 0);
}

void
kanvas_canvas_set_context_menu (KanvasCanvas *self,
                                GMenuModel   *menu)
{
  g_return_if_fail (KANVAS_IS_CANVAS (self));

  g_clear_pointer (&self->menu_popover, gtk_widget_unparent);
  if (menu == NULL)
    return;
  self->menu_popover = gtk_popover_menu_new_from_model (menu);
  gtk_widget_set_halign (self->menu_popover, GTK_ALIGN_START);
  gtk_widget_set_parent (self->menu_popover, GTK_WIDGET (self));
}

gint64
kanvas_canvas_get_last_draw_us (KanvasCanvas *self)
{
  g_return_val_if_fail (KANVAS_IS_CANVAS (self), 0);
  return self->last_draw_us;
}

/* The index, among the nodes of node layer L that stay, of node I (-1 when I goes). */
static int
index_kept_node (const GArray *removed,
                 int           l,
                 int           i)
{
  int k = i;

  for (guint q = 0; q < removed->len; q++)
    {
      const KanOpsNode *n = &g_array_index (removed, KanOpsNode, q);
      if (n->l == l && n->i == i)
        return -1;
      if (n->l == l && n->i < i)
        k--;
    }
  return k;
}

/* The node of node layer L that stays and is the K-th of those that stay (-1 when none is). */
static int
kept_node (const GArray *removed,
           int           n_nodes,
           int           l,
           int           k)
{
  for (int i = 0; i < n_nodes; i++)
    if (index_kept_node (removed, l, i) == k)
      return i;
  return -1;
}

/* The subnode of node layer L that is the K-th of those whose node stays (-1 when none is). */
static int
kept_subnode (const KanSnapshot *s,
              const GArray      *removed,
              int                l,
              int                k)
{
  const KanShape *shape = kan_model_shape (s->model);

  for (int j = 0; j < s->n_sub[l]; j++)
    {
      int owner = kan_shape_subnode_node (shape, l, j);
      if (owner < 0)
        owner = j;
      if (index_kept_node (removed, l, owner) >= 0 && k-- == 0)
        return j;
    }
  return -1;
}

void
kanvas_canvas_set_prune_preview (KanvasCanvas *self,
                                 const GArray *nodes,
                                 const GArray *edges)
{
  const KanSnapshot *s;

  g_return_if_fail (KANVAS_IS_CANVAS (self));
  g_return_if_fail (nodes != NULL && edges != NULL);
  g_return_if_fail (g_array_get_element_size ((GArray *) nodes) == sizeof (KanOpsNode));
  g_return_if_fail (g_array_get_element_size ((GArray *) edges) == sizeof (KanOpsEdge));

  kanvas_canvas_clear_prune_preview (self);
  s = self->snapshot;
  if (s == NULL)
    return;
  self->preview_nodes = g_array_copy ((GArray *) nodes);
  self->preview_edges = g_array_copy ((GArray *) edges);

  /* The renderer draws the snapshot: edges from the plan's numbering back to the snapshot's. */
  self->marks.nodes = g_new (int, 2 * MAX (nodes->len, 1));
  for (guint q = 0; q < nodes->len; q++)
    {
      const KanOpsNode *n = &g_array_index (nodes, KanOpsNode, q);
      if (n->l < 0 || n->l > s->depth || n->i < 0 || n->i >= s->n_nodes[n->l])
        continue;
      self->marks.nodes[2 * self->marks.n_nodes] = n->l;
      self->marks.nodes[2 * self->marks.n_nodes + 1] = n->i;
      self->marks.n_nodes++;
    }
  self->marks.edges = g_new (int, 3 * MAX (edges->len, 1));
  for (guint q = 0; q < edges->len; q++)
    {
      const KanOpsEdge *e = &g_array_index (edges, KanOpsEdge, q);
      int i, j;
      if (e->l < 0 || e->l >= s->depth)
        continue;
      i = kept_node (nodes, s->n_nodes[e->l], e->l, e->i);
      j = kept_subnode (s, nodes, e->l + 1, e->j);
      if (i < 0 || j < 0)
        continue;
      self->marks.edges[3 * self->marks.n_edges] = e->l;
      self->marks.edges[3 * self->marks.n_edges + 1] = i;
      self->marks.edges[3 * self->marks.n_edges + 2] = j;
      self->marks.n_edges++;
    }
  self->style.marks = &self->marks;
  invalidate (self);
}

void
kanvas_canvas_clear_prune_preview (KanvasCanvas *self)
{
  g_return_if_fail (KANVAS_IS_CANVAS (self));

  if (self->preview_nodes == NULL)
    return;
  g_clear_pointer (&self->preview_nodes, g_array_unref);
  g_clear_pointer (&self->preview_edges, g_array_unref);
  marks_clear (&self->marks);
  self->style.marks = NULL;
  invalidate (self);
}

gboolean
kanvas_canvas_get_prune_preview (KanvasCanvas  *self,
                                 const GArray **nodes,
                                 const GArray **edges)
{
  g_return_val_if_fail (KANVAS_IS_CANVAS (self), FALSE);

  if (nodes)
    *nodes = self->preview_nodes;
  if (edges)
    *edges = self->preview_edges;
  return self->preview_nodes != NULL;
}
