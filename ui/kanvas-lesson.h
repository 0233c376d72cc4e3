/* kanvas-lesson.h — the guided lesson: the KAN tutorial session, step by step, in the window.
 *
 * A panel under the header bar walks through pykan's hello world on the demo data,
 * exp(sin(pi*x1) + x2^2) on a 2,5,1 network: train with λ, prune, retrain, inspect an edge,
 * lock it and the rest, retrain with Levenberg–Marquardt and read the formula. Each step has a
 * short text and a "Do it" button that performs it with the window's own actions (the ones its
 * buttons and menus trigger); a training step runs on the window's training worker and the
 * lesson waits for the run to end before it offers the next step. Back and Next move between
 * the steps; a step already done is not repeated (doing the first step again starts over).
 *
 * Presentation mode (the window action `presentation`, a check item in the main menu) is for a
 * class watching a projector: the canvas text grows by KANVAS_PRESENTATION_TEXT_SCALE, the loss
 * plot (and the inspector's edge plot) by KANVAS_PRESENTATION_PLOT_SCALE, the window gets the
 * CSS class `presentation` (larger text in the right-hand pane and the loss plot's heading), and
 * every training step takes at least KANVAS_PRESENTATION_STEP_MS, with a frame after each step,
 * so the curves can be seen taking shape.
 */
#pragma once

#include <gtk/gtk.h>
#include "kanvas-window.h"

G_BEGIN_DECLS

/* Presentation mode: the canvas text's scale and the least duration of a training step, which
 * is also the time between the frames of a run. */
#define KANVAS_PRESENTATION_TEXT_SCALE 1.8
#define KANVAS_PRESENTATION_STEP_MS    120
/* The loss plot and the edge plot drawn this much larger (text and lines). */
#define KANVAS_PRESENTATION_PLOT_SCALE 1.5

#define KANVAS_TYPE_LESSON (kanvas_lesson_get_type ())

G_DECLARE_FINAL_TYPE (KanvasLesson, kanvas_lesson, KANVAS, LESSON, GtkBox)

/* Adds the (hidden) lesson panel to WIN and the window actions `lesson` (show or hide the
 * panel), `lesson-do`, `lesson-back`, `lesson-next` (its buttons) and `presentation` (a
 * boolean state). Called once, from the window's init, after the worker exists. */
void          kanvas_lesson_attach           (KanvasWindow  *win);
/* Gives WIN's current worker and canvas the pacing and text size of presentation mode (or
 * the normal ones), and WIN its CSS class and loss plot scale. The window calls it whenever it
 * makes a new worker. */
void          kanvas_lesson_apply_presentation (KanvasWindow *win);

/* WIN's lesson panel. */
KanvasLesson *kanvas_window_get_lesson       (KanvasWindow  *win);
gboolean      kanvas_lesson_get_presentation (KanvasLesson  *self);
/* The least step duration the window's training worker has now, in ms (0: unpaced). */
guint         kanvas_lesson_get_step_time    (KanvasLesson  *self);

/* State, for tests. The step shown (0-based) and how many there are; a step is done once its
 * "Do it" finished; busy while a step waits for training (or for another command to end). */
int           kanvas_lesson_get_step         (KanvasLesson  *self);
int           kanvas_lesson_get_n_steps      (KanvasLesson  *self);
gboolean      kanvas_lesson_step_done        (KanvasLesson  *self,
                                              int            step);
gboolean      kanvas_lesson_is_busy          (KanvasLesson  *self);
/* The texts on the panel: the step's title, its explanation and the status line. */
const char   *kanvas_lesson_get_title        (KanvasLesson  *self);
const char   *kanvas_lesson_get_text         (KanvasLesson  *self);
const char   *kanvas_lesson_get_status       (KanvasLesson  *self);

G_END_DECLS
