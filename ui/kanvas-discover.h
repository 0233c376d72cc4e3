/* kanvas-discover.h — the Discover page of the workbench: from the session's data to a formula.
 *
 * A page of the window's session panel. It runs kan_discover on a copy of the session's data in
 * a thread of its own, shows its progress (stage, formulas tried, the best so far, elapsed) and
 * a live Pareto plot (test error against complexity), and can be cancelled. When the search
 * ends, its front replaces the live points, the chosen answer is marked and selected, and its
 * locked network is loaded onto the canvas as a "discover" entry of the history; selecting
 * another point loads that one instead.
 */
#pragma once

#include <gtk/gtk.h>
#include "kanvas-window.h"
#include "kan-discover.h"
#include "kan-pareto-view.h"

G_BEGIN_DECLS

#define KANVAS_TYPE_DISCOVER (kanvas_discover_get_type ())

G_DECLARE_FINAL_TYPE (KanvasDiscover, kanvas_discover, KANVAS, DISCOVER, GtkBox)

/* Adds the page "discover" to WIN's session panel and the window actions `discover` (show the
 * page and start) and `discover-cancel`. Called once, from the window's init. */
void                     kanvas_discover_attach         (KanvasWindow    *win);
/* WIN's Discover page. */
KanvasDiscover          *kanvas_window_get_discover     (KanvasWindow    *win);

/* Starts a search on the session's data with the page's time limit and units. Fails (and
 * shows why on the page) when a search runs, a training run holds the model, the data do not
 * suit discover (none, several outputs, classification), or a unit is wrong. */
gboolean                 kanvas_discover_start          (KanvasDiscover  *self,
                                                         GError         **error);
/* Stops the search within one candidate; what it found so far is kept. */
void                     kanvas_discover_cancel         (KanvasDiscover  *self);
gboolean                 kanvas_discover_is_running     (KanvasDiscover  *self);

/* The page's settings, as a person enters them. SECONDS 0: no limit. */
void                     kanvas_discover_set_time_limit (KanvasDiscover  *self,
                                                         double           seconds);
/* The unit of the data column named COLUMN (an input or the output); FALSE if there is no
 * such column. */
gboolean                 kanvas_discover_set_unit       (KanvasDiscover  *self,
                                                         const char      *column,
                                                         const char      *unit);

/* The last finished search (NULL before one ends), and the data it ran on. */
const KanDiscoverResult *kanvas_discover_get_result     (KanvasDiscover  *self);
const KanDataset        *kanvas_discover_get_data       (KanvasDiscover  *self);
/* The plot's points: live ones while searching, then one per candidate of the result's front
 * (point i is pareto[i]). */
const KanParetoView     *kanvas_discover_get_view       (KanvasDiscover  *self);
/* What a click on point I does: selects it, shows its formula and loads its network onto the
 * canvas (a "discover" history entry). Fails while training, or for a formula without a
 * network (found by dimensional analysis alone). */
gboolean                 kanvas_discover_select         (KanvasDiscover  *self,
                                                         int              i,
                                                         GError         **error);
/* The texts on the page: the status line, the error shown (NULL if none), and the selected
 * formula in STYLE (text with ± on fitted constants when it has them; NULL if none). */
const char              *kanvas_discover_get_status     (KanvasDiscover  *self);
const char              *kanvas_discover_get_error      (KanvasDiscover  *self);
const char              *kanvas_discover_get_formula    (KanvasDiscover  *self,
                                                         KanExprStyle     style);

G_END_DECLS
