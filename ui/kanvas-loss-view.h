/* kanvas-loss-view.h — the live train/test RMSE plot (log scale). */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define KANVAS_TYPE_LOSS_VIEW (kanvas_loss_view_get_type ())

G_DECLARE_FINAL_TYPE (KanvasLossView, kanvas_loss_view, KANVAS, LOSS_VIEW, GtkWidget)

GtkWidget *kanvas_loss_view_new         (void);
/* Shows N steps of TRAIN and TEST (copied; TEST may hold NaN where there is no test set). */
void       kanvas_loss_view_set_history (KanvasLossView *self,
                                         const double   *train,
                                         const double   *test,
                                         guint           n);
guint      kanvas_loss_view_get_n_steps (KanvasLossView *self);
void       kanvas_loss_view_set_dark    (KanvasLossView *self,
                                         gboolean        dark);

/* Draws the plot SCALE times larger (its text and lines; 1 is the normal size), as for a
 * projector. 0.5 ≤ SCALE ≤ 4. */
void            kanvas_loss_view_set_text_scale (KanvasLossView *self,
                                                 double          scale);
double          kanvas_loss_view_get_text_scale (KanvasLossView *self);

/* Classification: the train and test accuracy (0 … 1) of each of N steps (N as the history;
 * NaN where a step was not measured). With N > 0 the view shows the history as cross-entropy
 * (the squares of the sqrt(cross-entropy) values the trainer reports) beside the accuracy;
 * N = 0 returns to the RMSE plot. */
void            kanvas_loss_view_set_accuracy   (KanvasLossView *self,
                                                 const double   *train,
                                                 const double   *test,
                                                 guint           n);
/* The latest measured accuracies shown; FALSE (and NaN) when there are none. */
gboolean        kanvas_loss_view_get_accuracy   (KanvasLossView *self,
                                                 double         *train,
                                                 double         *test);

G_END_DECLS
