/* kanvas-loss-view.c — the live train/test RMSE plot, drawn by kan_render_loss_plot; for a
 * classifier the cross-entropy beside the accuracy (kan_render_accuracy_plot). */
#include "kanvas-loss-view.h"

#include "kan-render.h"

#include <math.h>

struct _KanvasLossView
{
  GtkWidget       parent_instance;

  /* owned */
  GArray         *train;
  GArray         *test;
  GArray         *acc_train;    /* accuracies per step (classification), empty otherwise */
  GArray         *acc_test;
  KanRenderStyle  style;

  /* state */
  double          text_scale;   /* the plot drawn this much larger (text, lines), fewer ticks */
};

G_DEFINE_FINAL_TYPE (KanvasLossView, kanvas_loss_view, GTK_TYPE_WIDGET)

static void
kanvas_loss_view_measure (GtkWidget      *widget,
                          GtkOrientation  orientation,
                          int             for_size,
                          int            *minimum,
                          int            *natural,
                          int            *minimum_baseline,
                          int            *natural_baseline)
{
  *minimum = orientation == GTK_ORIENTATION_HORIZONTAL ? 200 : 100;
  *natural = orientation == GTK_ORIENTATION_HORIZONTAL ? 600 : 170;
}

static void
kanvas_loss_view_snapshot (GtkWidget   *widget,
                           GtkSnapshot *snapshot)
{
  KanvasLossView *self = KANVAS_LOSS_VIEW (widget);
  int w = gtk_widget_get_width (widget);
  int h = gtk_widget_get_height (widget);
  cairo_t *cr;

  if (w <= 0 || h <= 0)
    return;
  cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, w, h));
  /* A larger text: the plot of a smaller area, magnified to fill the widget. */
  cairo_scale (cr, self->text_scale, self->text_scale);
  if (self->acc_train->len > 0)
    {
      /* Classification: the history holds sqrt(cross-entropy) as the trainer reports it; the
       * plot shows the cross-entropy itself, and the accuracy beside it. */
      double sw = w / self->text_scale, sh = h / self->text_scale, half = floor (sw / 2);
      guint n = self->train->len;
      g_autofree double *ce_train = g_new (double, MAX (n, 1));
      g_autofree double *ce_test = g_new (double, MAX (n, 1));

      for (guint p = 0; p < n; p++)
        {
          double a = g_array_index (self->train, double, p);
          double b = g_array_index (self->test, double, p);
          ce_train[p] = a * a;
          ce_test[p] = b * b;
        }
      kan_render_loss_plot (cr, ce_train, ce_test, (int) n, "cross-entropy", &self->style, half,
                            sh);
      cairo_translate (cr, half, 0);
      kan_render_accuracy_plot (cr, (const double *) self->acc_train->data,
                                (const double *) self->acc_test->data, (int) self->acc_train->len,
                                &self->style, sw - half, sh);
    }
  else
    kan_render_loss_plot (cr, (const double *) self->train->data,
                          (const double *) self->test->data, (int) self->train->len, NULL,
                          &self->style, w / self->text_scale, h / self->text_scale);
  cairo_destroy (cr);
}

static void
kanvas_loss_view_finalize (GObject *object)
{
  KanvasLossView *self = KANVAS_LOSS_VIEW (object);

  g_clear_pointer (&self->train, g_array_unref);
  g_clear_pointer (&self->test, g_array_unref);
  g_clear_pointer (&self->acc_train, g_array_unref);
  g_clear_pointer (&self->acc_test, g_array_unref);
  G_OBJECT_CLASS (kanvas_loss_view_parent_class)->finalize (object);
}

static void
kanvas_loss_view_class_init (KanvasLossViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->finalize = kanvas_loss_view_finalize;
  widget_class->measure = kanvas_loss_view_measure;
  widget_class->snapshot = kanvas_loss_view_snapshot;
  gtk_widget_class_set_css_name (widget_class, "kanvaslossview");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
kanvas_loss_view_init (KanvasLossView *self)
{
  self->train = g_array_new (FALSE, FALSE, sizeof (double));
  self->test = g_array_new (FALSE, FALSE, sizeof (double));
  self->acc_train = g_array_new (FALSE, FALSE, sizeof (double));
  self->acc_test = g_array_new (FALSE, FALSE, sizeof (double));
  kan_render_style_init (&self->style);
  self->text_scale = 1.0;
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  "Loss plot", -1);
}

GtkWidget *
kanvas_loss_view_new (void)
{
  return g_object_new (KANVAS_TYPE_LOSS_VIEW, NULL);
}

void
kanvas_loss_view_set_history (KanvasLossView *self,
                              const double   *train,
                              const double   *test,
                              guint           n)
{
  g_return_if_fail (KANVAS_IS_LOSS_VIEW (self));
  g_return_if_fail (n == 0 || (train != NULL && test != NULL));

  g_array_set_size (self->train, 0);
  g_array_set_size (self->test, 0);
  if (n > 0)
    {
      g_array_append_vals (self->train, train, n);
      g_array_append_vals (self->test, test, n);
    }
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

guint
kanvas_loss_view_get_n_steps (KanvasLossView *self)
{
  g_return_val_if_fail (KANVAS_IS_LOSS_VIEW (self), 0);
  return self->train->len;
}

void
kanvas_loss_view_set_dark (KanvasLossView *self,
                           gboolean        dark)
{
  g_return_if_fail (KANVAS_IS_LOSS_VIEW (self));

  if (dark)
    kan_render_style_dark (&self->style);
  else
    kan_render_style_init (&self->style);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
kanvas_loss_view_set_text_scale (KanvasLossView *self,
                                 double          scale)
{
  g_return_if_fail (KANVAS_IS_LOSS_VIEW (self));
  g_return_if_fail (scale >= 0.5 && scale <= 4);

  self->text_scale = scale;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

double
kanvas_loss_view_get_text_scale (KanvasLossView *self)
{
  g_return_val_if_fail (KANVAS_IS_LOSS_VIEW (self), 1.0);
  return self->text_scale;
}

void
kanvas_loss_view_set_accuracy (KanvasLossView *self,
                               const double   *train,
                               const double   *test,
                               guint           n)
{
  g_return_if_fail (KANVAS_IS_LOSS_VIEW (self));
  g_return_if_fail (n == 0 || (train != NULL && test != NULL));

  g_array_set_size (self->acc_train, 0);
  g_array_set_size (self->acc_test, 0);
  if (n > 0)
    {
      g_array_append_vals (self->acc_train, train, n);
      g_array_append_vals (self->acc_test, test, n);
    }
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  n > 0 ? "Loss and accuracy plot" : "Loss plot", -1);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

gboolean
kanvas_loss_view_get_accuracy (KanvasLossView *self,
                               double         *train,
                               double         *test)
{
  g_return_val_if_fail (KANVAS_IS_LOSS_VIEW (self), FALSE);

  *train = *test = NAN;
  for (guint p = self->acc_train->len; p-- > 0;)
    if (isfinite (g_array_index (self->acc_train, double, p)))
      {
        *train = g_array_index (self->acc_train, double, p);
        *test = g_array_index (self->acc_test, double, p);
        return TRUE;
      }
  return FALSE;
}
