/* kan-lock.h — suggest, lock and unlock a model's edges (auto-symbolic on a bare model,
 * kan_model_auto_symbolic, is in kan-ops.h, above this module).
 *
 * An edge is fitted to what it computes now: its inputs and outputs over a forward pass of the
 * caller's rows (usually the train inputs). Locking switches it to c·f(a·x+b)+d; unlocking
 * returns it to its spline, which was left untouched while the edge was locked, and forgets the
 * symbolic state (pykan leaves the stale affine and function behind).
 */
#pragma once

#include <glib.h>
#include "kan-model.h"
#include "kan-symfit.h"

G_BEGIN_DECLS

/* Inputs XS and outputs YS (N each) of edge (l,i,j) over a forward pass of the N rows X. */
gboolean    kan_model_edge_samples   (const KanModel        *m,
                                      const double          *x,
                                      size_t                 n,
                                      int                    l,
                                      int                    i,
                                      int                    j,
                                      double                *xs,
                                      double                *ys,
                                      GError               **error);

/* Ranked fits of the library functions LIB (NULL: all) to edge (l,i,j). The edge counts as
 * negligible for "0" when its standard deviation is at most P->zero_threshold times that of
 * the subnode it feeds. Free with g_free. */
KanSymFit  *kan_model_suggest        (const KanModel        *m,
                                      const double          *x,
                                      size_t                 n,
                                      int                    l,
                                      int                    i,
                                      int                    j,
                                      const int             *lib,
                                      int                    n_lib,
                                      const KanSymFitParams *p,
                                      int                   *n_out,
                                      GError               **error);

/* Fits NAME to edge (l,i,j) and locks the edge to it (numeric branch off). FIT (may be NULL,
 * else the caller's storage) receives the fit. */
gboolean    kan_model_lock           (KanModel              *m,
                                      const double          *x,
                                      size_t                 n,
                                      int                    l,
                                      int                    i,
                                      int                    j,
                                      const char            *name,
                                      const KanSymFitParams *p,
                                      KanSymFit             *fit,
                                      GError               **error);

/* Returns edge (l,i,j) to its spline; a pruned edge stays pruned. */
void        kan_model_unlock         (KanModel              *m,
                                      int                    l,
                                      int                    i,
                                      int                    j);

/* Parses "x,x^2,exp,sin" into library ids (g_free the result); errors name unknown names and
 * list the library. */
int        *kan_sym_parse_lib        (const char            *names,
                                      int                   *n_out,
                                      GError               **error);

G_END_DECLS
