/* kan-symbolic.h — the symbolic function library of locked edges.
 *
 * A locked edge computes c·f(a·x+b)+d. The library has every function of pykan's SYMBOLIC_LIB
 * with the same complexities, in the same order (ties in ranking follow it), plus cosh, sinh,
 * sigmoid and besselj0. Each has a derivative and a singularity-safe variant.
 */
#pragma once

#include <glib.h>
#include "kan-expr.h"

G_BEGIN_DECLS

typedef struct
{
  const char *name;        /* "x^2", "sin", … as in pykan */
  int         complexity;  /* pykan's complexity */
} KanSymInfo;

/* Number of library functions; ids are 0 … kan_sym_count()-1. */
int                kan_sym_count   (void);
/* The library's own entry for ID (static; do not free), or NULL for an unknown ID. */
const KanSymInfo  *kan_sym_info    (int          id);
/* Returns the id of NAME (aliases such as "x^0.5" are entries of their own, as in pykan), or -1. */
int                kan_sym_lookup  (const char  *name);
/* The id of the constant "0". */
int                kan_sym_zero    (void);

/* f(u) and, if DERIV is not NULL, f'(u). With Y_TH > 0 the singularity-safe variant is used
 * (pykan section 5.2, bounded by Y_TH); with Y_TH <= 0 the plain function. */
double             kan_sym_eval    (int          id,
                                    double       u,
                                    double       y_th,
                                    double      *deriv);

/* A new expression tree for f applied to ARG (takes ARG; free the result with kan_expr_free). */
KanExpr           *kan_sym_expr    (int          id,
                                    KanExpr     *arg);

G_END_DECLS
