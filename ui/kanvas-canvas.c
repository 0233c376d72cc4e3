/* kanvas-canvas.c — the network canvas.
 *
 * The widget owns the latest snapshot and draws it with kan_render_network, the same code the
 * CLI exports with. Rasterising a large network in software takes tens of milliseconds, so after
 * the first frame the picture is rendered on a thread (GTask) into an image of the widget's size
 * and shown as a texture; the main loop only blits it. Snapshots are immutable and shared with
 * the thread by reference count, so no lock is held while drawing. The minimum size grows with
 * the network and the zoom, so inside a GtkScrolledWindow large networks scroll instead of
 * shrinking into unreadable boxes.
 */
#include "kanvas-canvas.h"
#include "kan-formula.h"
#include "kan-ops.h"

#include <math.h>
#include <string.h>

/* Room an edge box and a layer need to stay readable at zoom 1. */
#define EDGE_MIN_PX   22.0
#define LAYER_MIN_PX  110.0
#define ZOOM_MIN      1.0
#define ZOOM_MAX      8.0

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
  /* state */
  double          zoom;
  guint           n_snapshots;
  gint64          last_draw_us;
  gboolean        dark;
  gboolean        dirty;        /* the texture is older than the snapshot, style or size */
  gboolean        rendering;    /* a render thread is running */
  int             tex_width;    /* size (in device pixels) the texture was made for */
  int             tex_height;
};

G_DEFINE_FINAL_TYPE (KanvasCanvas, kanvas_canvas, GTK_TYPE_WIDGET)

enum
{
  PROP_0,
  PROP_BETA,
  PROP_ZOOM,
  N_PROPS
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
  double size = 200;

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
  *minimum = (int) ceil (size * self->zoom);
  *natural = *minimum;
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
  int             width, height;  /* logical */
  int             scale;
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
  g_free (job);
}

static void
free_surface (gpointer surface)
{
  cairo_surface_destroy (surface);
}

/* On a worker thread: the picture as a texture. */
static void
render_thread (GTask        *task,
               gpointer      source,
               gpointer      task_data,
               GCancellable *cancellable)
{
  RenderJob *job = task_data;
  int pw = job->width * job->scale, ph = job->height * job->scale;
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, pw, ph);
  g_autoptr (GBytes) bytes = NULL;
  cairo_t *cr;

  cr = cairo_create (surface);
  cairo_scale (cr, job->scale, job->scale);
  kan_render_network (cr, job->shared->snapshot, &job->style, job->width, job->height);
  cairo_destroy (cr);
  cairo_surface_flush (surface);
  /* CAIRO_FORMAT_ARGB32 is premultiplied BGRA in native order: GDK_MEMORY_DEFAULT. */
  bytes = g_bytes_new_with_free_func (cairo_image_surface_get_data (surface),
                                      (gsize) cairo_image_surface_get_stride (surface) * ph,
                                      free_surface, surface);
  g_task_return_pointer (task,
                         gdk_memory_texture_new (pw, ph, GDK_MEMORY_DEFAULT, bytes,
                                                 cairo_image_surface_get_stride (surface)),
                         g_object_unref);
}

static void
render_done (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  KanvasCanvas *self = KANVAS_CANVAS (source);
  RenderJob *job = g_task_get_task_data (G_TASK (result));
  GdkTexture *texture = g_task_propagate_pointer (G_TASK (result), NULL);

  self->rendering = FALSE;
  if (texture == NULL)
    return;
  g_set_object (&self->texture, texture);
  self->tex_width = job->width * job->scale;
  self->tex_height = job->height * job->scale;
  g_object_unref (texture);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
start_render (KanvasCanvas *self,
              int           w,
              int           h,
              int           scale)
{
  RenderJob *job = g_new0 (RenderJob, 1);
  g_autoptr (GTask) task = g_task_new (self, self->cancellable, render_done, NULL);

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
  g_task_set_task_data (task, job, (GDestroyNotify) render_job_free);
  self->rendering = TRUE;
  self->dirty = FALSE;
  g_task_run_in_thread (task, render_thread);
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
  if (self->tex_width != w * scale || self->tex_height != h * scale)
    self->dirty = TRUE;

  if (self->texture == NULL)
    {
      /* The first picture is drawn in place, so the canvas is never empty. */
      cairo_t *cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, w, h));
      kan_render_network (cr, self->snapshot, &self->style, w, h);
      cairo_destroy (cr);
      if (!self->rendering)
        start_render (self, w, h, scale);
    }
  else
    {
      /* The last picture (stretched while a new size renders), and a new one if it is old. */
      gtk_snapshot_append_texture (snapshot, self->texture, &GRAPHENE_RECT_INIT (0, 0, w, h));
      if (self->dirty && !self->rendering)
        start_render (self, w, h, scale);
    }
  self->last_draw_us = g_get_monotonic_time () - t0;
}

static void
invalidate (KanvasCanvas *self)
{
  self->dirty = TRUE;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

KanLayout *
kanvas_canvas_get_layout (KanvasCanvas *self)
{
  g_return_val_if_fail (KANVAS_IS_CANVAS (self), NULL);

  if (self->snapshot == NULL)
    return NULL;
  /* The same size kanvas_canvas_snapshot draws over. */
  return kan_layout_new (self->snapshot, gtk_widget_get_width (GTK_WIDGET (self)),
                         gtk_widget_get_height (GTK_WIDGET (self)));
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

  g_return_val_if_fail (KANVAS_IS_CANVAS (self), FALSE);

  *l = *i = *j = -1;
  lay = kanvas_canvas_get_layout (self);
  return lay != NULL && kan_layout_hit (lay, x, y, l, i, j);
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
  kanvas_canvas_select_at (self, x, y);
  if (gtk_gesture_single_get_current_button (GTK_GESTURE_SINGLE (gesture)) == GDK_BUTTON_SECONDARY)
    popup_menu (self, x, y);
}

/* Keyboard: Left/Right walk the edges in order, Up/Down jump a layer, Escape clears, Menu or
 * Shift+F10 opens the context menu at the selection. */
static gboolean
on_key_pressed (GtkEventControllerKey *controller,
                guint                  keyval,
                guint                  keycode,
                GdkModifierType        state,
                KanvasCanvas          *self)
{
  const KanSnapshot *s = self->snapshot;
  int cur = -1, next;

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
          g_autoptr (KanLayout) lay = kanvas_canvas_get_layout (self);
          KanRect r = self->style.sel_j >= 0
                      ? kan_layout_edge_box (lay, self->style.sel_l, self->style.sel_i,
                                             self->style.sel_j)
                      : kan_layout_node_box (lay, self->style.sel_l, self->style.sel_i);
          popup_menu (self, r.x + r.w / 2, r.y + r.h / 2);
        }
      return TRUE;
    default:
      return FALSE;
    }
  kanvas_canvas_set_selection (self, s->edges[next].l, s->edges[next].i, s->edges[next].j);
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

  /* Ctrl+wheel zooms; a plain wheel scrolls the surrounding window. */
  if (!(mods & GDK_CONTROL_MASK))
    return FALSE;
  kanvas_canvas_set_zoom (self, self->zoom * (dy < 0 ? 1.25 : 0.8));
  return TRUE;
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

  if (self->menu_popover)
    gtk_popover_present (GTK_POPOVER (self->menu_popover));
}

static void
kanvas_canvas_dispose (GObject *object)
{
  KanvasCanvas *self = KANVAS_CANVAS (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_pointer (&self->menu_popover, gtk_widget_unparent);
  G_OBJECT_CLASS (kanvas_canvas_parent_class)->dispose (object);
}

static void
kanvas_canvas_finalize (GObject *object)
{
  KanvasCanvas *self = KANVAS_CANVAS (object);

  g_clear_pointer (&self->shared, shared_release);
  g_clear_object (&self->texture);
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
  g_object_class_install_properties (object_class, N_PROPS, properties);

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

  kan_render_style_init (&self->style);
  self->zoom = 1;
  self->cancellable = g_cancellable_new ();

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

  zoom = CLAMP (zoom, ZOOM_MIN, ZOOM_MAX);
  if (self->zoom == zoom)
    return;
  self->zoom = zoom;
  gtk_widget_queue_resize (GTK_WIDGET (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ZOOM]);
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
