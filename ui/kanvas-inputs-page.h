/* kanvas-inputs-page.h — the Inputs page of the right-hand pane: the inputs ranked by
 * importance (attribution scores, bars) with "Prune inputs below…", and for a classifier of two
 * inputs its decision regions under the data with the train/test accuracy.
 *
 * Like the session pane it shows what it is given and reports what the user asks for:
 *   prune-inputs-requested (double threshold)   the Prune Inputs button
 */
#pragma once

#include <gtk/gtk.h>
#include "kan.h"

G_BEGIN_DECLS

#define KANVAS_TYPE_INPUTS_PAGE (kanvas_inputs_page_get_type ())

G_DECLARE_FINAL_TYPE (KanvasInputsPage, kanvas_inputs_page, KANVAS, INPUTS_PAGE, GtkBox)

GtkWidget   *kanvas_inputs_page_new            (void);
/* S (borrowed, may be NULL; kept alive by the caller while shown). The ranking and the regions
 * are recomputed when the page is next drawn. */
void         kanvas_inputs_page_set_session    (KanvasInputsPage *self,
                                                const KanSession *s);
void         kanvas_inputs_page_set_dark       (KanvasInputsPage *self,
                                                gboolean          dark);
/* Enables the Prune Inputs button (the window disables it during a run). */
void         kanvas_inputs_page_set_prune_enabled (KanvasInputsPage *self,
                                                   gboolean          enabled);

/* For tests and scripts: the ranked input names as shown, best first (NULL-terminated, free
 * with g_strfreev), and the accuracy line ("" when there is none). */
char       **kanvas_inputs_page_get_ranking    (KanvasInputsPage *self);
const char  *kanvas_inputs_page_get_accuracy_text (KanvasInputsPage *self);
/* TRUE when the decision regions are shown. */
gboolean     kanvas_inputs_page_has_regions    (KanvasInputsPage *self);

G_END_DECLS
