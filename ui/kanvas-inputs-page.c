/* kanvas-inputs-page.c — which inputs matter (ranked bars, prune inputs) and, for a two-input
 * classifier, its decision regions (kan_render_regions, as `kanvas-cli plot --regions`). */
#include "kanvas-inputs-page.h"

#include <adwaita.h>
#include <math.h>
#include "kan-render.h"

struct _KanvasInputsPage
{
  GtkBox            parent_instance;

  /* widgets (owned by the box) */
  GtkListBox       *rank_list;
  GtkSpinButton    *threshold_spin;
  GtkButton        *prune_button;
  GtkLabel         *accuracy_label;
  GtkDrawingArea   *regions;

  /* borrowed */
  const KanSession *session;

  /* state */
  GArray           *ranking;     /* KanOpsInputRank of the session shown */
  char            **names;       /* input names, as ranked (owned) */
  gboolean          dirty;
  KanRenderStyle    style;
};

G_DEFINE_FINAL_TYPE (KanvasInputsPage, kanvas_inputs_page, GTK_TYPE_BOX)

enum { PRUNE_INPUTS_REQUESTED, N_SIGNALS };
static guint signals[N_SIGNALS];

static void
clear_list (GtkListBox *list)
{
  GtkWidget *row;

  while ((row = gtk_widget_get_first_child (GTK_WIDGET (list))) != NULL)
    gtk_list_box_remove (list, row);
}

/* A row: the input's name, a bar of its score relative to the best, the score. */
static GtkWidget *
rank_row (const char *name,
          double      score,
          double      best,
          gboolean    weak)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);
  GtkWidget *label = gtk_label_new (name);
  GtkWidget *bar = gtk_level_bar_new_for_interval (0, 1);
  char buf[32];
  GtkWidget *value;

  g_snprintf (buf, sizeof buf, "%.3g", score);
  value = gtk_label_new (buf);
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
  gtk_label_set_width_chars (GTK_LABEL (label), 8);
  gtk_label_set_max_width_chars (GTK_LABEL (label), 12);
  gtk_widget_set_tooltip_text (label, name);
  gtk_level_bar_set_value (GTK_LEVEL_BAR (bar), best > 0 ? CLAMP (score / best, 0, 1) : 0);
  gtk_widget_set_hexpand (bar, TRUE);
  gtk_widget_set_valign (bar, GTK_ALIGN_CENTER);
  gtk_label_set_width_chars (GTK_LABEL (value), 7);
  gtk_label_set_xalign (GTK_LABEL (value), 1);
  gtk_widget_add_css_class (value, "numeric");
  gtk_box_append (GTK_BOX (box), label);
  gtk_box_append (GTK_BOX (box), bar);
  gtk_box_append (GTK_BOX (box), value);
  gtk_widget_set_margin_start (box, 8);
  gtk_widget_set_margin_end (box, 8);
  gtk_widget_set_margin_top (box, 4);
  gtk_widget_set_margin_bottom (box, 4);
  if (weak)
    gtk_widget_add_css_class (box, "dim-label");
  gtk_accessible_update_property (GTK_ACCESSIBLE (box), GTK_ACCESSIBLE_PROPERTY_LABEL, name, -1);
  return box;
}

static void
refresh_ranking (KanvasInputsPage *self)
{
  const KanSession *s = self->session;
  double th = gtk_spin_button_get_value (self->threshold_spin);
  g_autoptr (GError) error = NULL;

  clear_list (self->rank_list);
  g_clear_pointer (&self->ranking, g_array_unref);
  g_clear_pointer (&self->names, g_strfreev);
  if (s == NULL || s->model == NULL || s->data == NULL || s->data->n_train < 2
      || s->data->n_in != kan_model_n_in (s->model))
    return;
  self->ranking = kan_ops_input_ranking (s, &error);
  if (self->ranking == NULL)
    {
      GtkWidget *l = gtk_label_new (error->message);
      gtk_label_set_wrap (GTK_LABEL (l), TRUE);
      gtk_list_box_append (self->rank_list, l);
      return;
    }
  self->names = g_new0 (char *, self->ranking->len + 1);
  for (guint q = 0; q < self->ranking->len; q++)
    {
      const KanOpsInputRank *r = &g_array_index (self->ranking, KanOpsInputRank, q);
      const KanOpsInputRank *best = &g_array_index (self->ranking, KanOpsInputRank, 0);
      const char *name = s->data->in_names ? s->data->in_names[r->input] : NULL;
      self->names[q] = name ? g_strdup (name) : g_strdup_printf ("x%d", r->input + 1);
      gtk_list_box_append (self->rank_list,
                           rank_row (self->names[q], r->score, best->score, r->score <= th));
    }
}

static void
refresh_accuracy (KanvasInputsPage *self)
{
  const KanSession *s = self->session;
  double tr = NAN, te = NAN;
  g_autofree char *text = NULL;

  if (s != NULL)
    kan_ops_accuracy (s->model, s->data, s->train.loss, &tr, &te);
  if (isfinite (tr))
    text = isfinite (te) ? g_strdup_printf ("Accuracy: train %.1f %% · test %.1f %%", 100 * tr,
                                            100 * te)
                         : g_strdup_printf ("Accuracy: train %.1f %%", 100 * tr);
  gtk_label_set_text (self->accuracy_label, text ? text : "");
  gtk_widget_set_visible (GTK_WIDGET (self->accuracy_label), text != NULL);
  gtk_widget_set_visible (GTK_WIDGET (self->regions), kanvas_inputs_page_has_regions (self));
}

static void
refresh (KanvasInputsPage *self)
{
  if (!self->dirty)
    return;
  self->dirty = FALSE;
  refresh_ranking (self);
  refresh_accuracy (self);
  gtk_widget_queue_draw (GTK_WIDGET (self->regions));
}

static void
draw_regions (GtkDrawingArea *area,
              cairo_t        *cr,
              int             width,
              int             height,
              gpointer        user_data)
{
  KanvasInputsPage *self = KANVAS_INPUTS_PAGE (user_data);
  const KanSession *s = self->session;
  g_auto (GStrv) classes = NULL;

  if (s == NULL || s->model == NULL)
    return;
  classes = kan_class_names (s->data, kan_model_n_out (s->model));
  kan_render_regions (cr, s->model, s->data, (const char *const *) classes, &self->style, width,
                      height);
}

static void
on_prune_clicked (KanvasInputsPage *self)
{
  g_signal_emit (self, signals[PRUNE_INPUTS_REQUESTED], 0,
                 gtk_spin_button_get_value (self->threshold_spin));
}

static void
on_threshold_changed (KanvasInputsPage *self)
{
  self->dirty = TRUE;
  if (gtk_widget_get_mapped (GTK_WIDGET (self)))
    refresh (self);
}

static void
kanvas_inputs_page_map (GtkWidget *widget)
{
  GTK_WIDGET_CLASS (kanvas_inputs_page_parent_class)->map (widget);
  refresh (KANVAS_INPUTS_PAGE (widget));
}

static void
kanvas_inputs_page_finalize (GObject *object)
{
  KanvasInputsPage *self = KANVAS_INPUTS_PAGE (object);

  g_clear_pointer (&self->ranking, g_array_unref);
  g_clear_pointer (&self->names, g_strfreev);
  G_OBJECT_CLASS (kanvas_inputs_page_parent_class)->finalize (object);
}

static void
kanvas_inputs_page_class_init (KanvasInputsPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->finalize = kanvas_inputs_page_finalize;
  widget_class->map = kanvas_inputs_page_map;
  signals[PRUNE_INPUTS_REQUESTED] =
    g_signal_new ("prune-inputs-requested", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_DOUBLE);
}

static GtkWidget *
heading (const char *text)
{
  GtkWidget *l = gtk_label_new (text);
  gtk_label_set_xalign (GTK_LABEL (l), 0);
  gtk_widget_add_css_class (l, "heading");
  return l;
}

static void
kanvas_inputs_page_init (KanvasInputsPage *self)
{
  GtkWidget *row, *frame, *label;

  gtk_orientable_set_orientation (GTK_ORIENTABLE (self), GTK_ORIENTATION_VERTICAL);
  gtk_box_set_spacing (GTK_BOX (self), 8);
  g_object_set (self, "margin-start", 12, "margin-end", 12, "margin-top", 6, "margin-bottom", 12,
                NULL);
  kan_render_style_init (&self->style);
  self->dirty = TRUE;

  gtk_box_append (GTK_BOX (self), heading ("Inputs by importance"));
  self->rank_list = GTK_LIST_BOX (gtk_list_box_new ());
  gtk_list_box_set_selection_mode (self->rank_list, GTK_SELECTION_NONE);
  gtk_widget_add_css_class (GTK_WIDGET (self->rank_list), "boxed-list");
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->rank_list),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, "Input ranking", -1);
  gtk_box_append (GTK_BOX (self), GTK_WIDGET (self->rank_list));

  row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  label = gtk_label_new ("Prune inputs scoring ≤");
  self->threshold_spin = GTK_SPIN_BUTTON (gtk_spin_button_new_with_range (0, 1, 0.005));
  gtk_spin_button_set_digits (self->threshold_spin, 3);
  gtk_spin_button_set_value (self->threshold_spin, KAN_PRUNE_INPUT_THRESHOLD);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->threshold_spin),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, "Input threshold", -1);
  self->prune_button = GTK_BUTTON (gtk_button_new_with_label ("Prune Inputs"));
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->prune_button),
                               "Remove the dimmed inputs from the model and their columns from "
                               "the data");
  gtk_widget_set_hexpand (GTK_WIDGET (self->prune_button), TRUE);
  gtk_widget_set_halign (GTK_WIDGET (self->prune_button), GTK_ALIGN_END);
  gtk_box_append (GTK_BOX (row), label);
  gtk_box_append (GTK_BOX (row), GTK_WIDGET (self->threshold_spin));
  gtk_box_append (GTK_BOX (row), GTK_WIDGET (self->prune_button));
  gtk_box_append (GTK_BOX (self), row);

  self->accuracy_label = GTK_LABEL (gtk_label_new (""));
  gtk_label_set_xalign (self->accuracy_label, 0);
  gtk_widget_add_css_class (GTK_WIDGET (self->accuracy_label), "heading");
  gtk_widget_set_margin_top (GTK_WIDGET (self->accuracy_label), 8);
  gtk_box_append (GTK_BOX (self), GTK_WIDGET (self->accuracy_label));

  self->regions = GTK_DRAWING_AREA (gtk_drawing_area_new ());
  gtk_drawing_area_set_content_height (self->regions, 260);
  gtk_widget_set_vexpand (GTK_WIDGET (self->regions), TRUE);
  gtk_drawing_area_set_draw_func (self->regions, draw_regions, self, NULL);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->regions), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  "Decision regions", -1);
  frame = GTK_WIDGET (self->regions);
  gtk_box_append (GTK_BOX (self), frame);

  g_signal_connect_swapped (self->prune_button, "clicked", G_CALLBACK (on_prune_clicked), self);
  g_signal_connect_swapped (self->threshold_spin, "value-changed",
                            G_CALLBACK (on_threshold_changed), self);
  refresh_accuracy (self);
}

GtkWidget *
kanvas_inputs_page_new (void)
{
  return g_object_new (KANVAS_TYPE_INPUTS_PAGE, NULL);
}

void
kanvas_inputs_page_set_session (KanvasInputsPage *self,
                                const KanSession *s)
{
  g_return_if_fail (KANVAS_IS_INPUTS_PAGE (self));

  self->session = s;
  self->dirty = TRUE;
  if (gtk_widget_get_mapped (GTK_WIDGET (self)))
    refresh (self);
}

void
kanvas_inputs_page_set_dark (KanvasInputsPage *self,
                             gboolean          dark)
{
  g_return_if_fail (KANVAS_IS_INPUTS_PAGE (self));

  if (dark)
    kan_render_style_dark (&self->style);
  else
    kan_render_style_init (&self->style);
  gtk_widget_queue_draw (GTK_WIDGET (self->regions));
}

void
kanvas_inputs_page_set_prune_enabled (KanvasInputsPage *self,
                                      gboolean          enabled)
{
  g_return_if_fail (KANVAS_IS_INPUTS_PAGE (self));
  gtk_widget_set_sensitive (GTK_WIDGET (self->prune_button), enabled);
}

char **
kanvas_inputs_page_get_ranking (KanvasInputsPage *self)
{
  g_return_val_if_fail (KANVAS_IS_INPUTS_PAGE (self), NULL);
  refresh (self);
  return self->names ? g_strdupv (self->names) : g_new0 (char *, 1);
}

const char *
kanvas_inputs_page_get_accuracy_text (KanvasInputsPage *self)
{
  g_return_val_if_fail (KANVAS_IS_INPUTS_PAGE (self), "");
  refresh (self);
  return gtk_label_get_text (self->accuracy_label);
}

gboolean
kanvas_inputs_page_has_regions (KanvasInputsPage *self)
{
  const KanSession *s;

  g_return_val_if_fail (KANVAS_IS_INPUTS_PAGE (self), FALSE);
  s = self->session;
  return s != NULL && s->model != NULL && s->train.loss == KAN_LOSS_CE
         && kan_render_regions_ok (s->model, s->data);
}
