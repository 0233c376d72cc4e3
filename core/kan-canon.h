/* kan-canon.h — the canonical form of discovered formulas.
 *
 * A formula read off a locked network carries constants that only a gauge of the network
 * fixes (a scale moved between an edge and the next, a phase of sin, a shift inside exp).
 * kan_canon rewrites them to one form: constants pulled out of exp, scales out of roots and
 * powers, common coefficients out of sums, phases of sin/cos folded (multiples of π/2 leave
 * as ±sin/±cos). It also writes what the simplifier leaves alone on purpose, wherever that
 * keeps the value on the formula's domain and adds no node: exp(c·log(a) + b) → a^c·exp(b);
 * the powers of a product merged across the fraction bar and through roots (x^2/x → x,
 * sqrt(x)·sqrt(x) → x, x^0.5 → sqrt(x), y·x^(-0.5) → y/sqrt(x)); a quotient of a sum in a
 * sum split where that leaves fewer nodes ((q + k·C)/C − k → q/C). kan_canon_polish repeats
 * simplify → canonicalise → snap (constants to simple values p/q or p·π/q where the data
 * agree) until nothing moves, then writes coefficients as roots of simple values where that
 * fits (0.3989… → 1/sqrt(2*pi)); roots of other numbers (sqrt(1.00149)) stay numbers.
 */
#pragma once
#include "kan-expr.h"

G_BEGIN_DECLS

/* Rows a snap is checked on: X (N × N_IN, row-major) and labels Y; Y_STD the labels' std. */
typedef struct
{
  const double *x;
  int           n_in;
  const double *y;
  size_t        n;
  double        y_std;
} KanCanonRows;

/* One rewrite of E (simplified) into canonical form; a new tree. */
KanExpr *kan_canon        (const KanExpr      *e);

/* E (taken) simplified, canonicalised and, with ROWS (may be NULL: no snapping), snapped:
 * a snap may raise the RMSE on ROWS by at most max(SNAP_TOL·y_std, 1% of the RMSE before). */
KanExpr *kan_canon_polish (KanExpr            *e,
                           const KanCanonRows *rows,
                           double              snap_tol);

G_END_DECLS
