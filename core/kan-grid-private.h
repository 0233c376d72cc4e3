/* kan-grid-private.h — grid operations for callers that own a workspace (not installed). */
#pragma once

#include "kan-model.h"

/* kan_model_update_grid_full through W, a workspace made for M (its rows at a time), whose
 * cached rows it overwrites: the caller calls kan_work_input_changed on W afterwards. Saves
 * creating one per update (a trainer updates the grid every few steps). */
gboolean kan_model_update_grid_work (KanModel     *m,
                                     KanWork      *w,
                                     const double *x,
                                     size_t        n,
                                     GCancellable *cancellable,
                                     GError      **error);
