/* kan-noise.h — decisions about a formula that know how noisy the data are.
 *
 * Fitted to noisy labels, a formula's constants differ from the true ones by about their
 * standard errors: 0.9993·x·y for x·y, (u + 0.0004)² for u². kan_noise_snap fixes such a
 * constant at the simplest value within NOISE_SNAP_Z standard errors of it (0, an integer, a
 * fraction p/q or multiple p·π/q with q ≤ 12, a decimal of at most three significant digits),
 * refits the others, and keeps the change when the residual sum of squares rises by no more
 * than the noise explains: ΔRSS ≤ s²·T(m) for m constants fixed so far, with s² = RSS/(n − p)
 * the noise variance the fit itself estimates and T(m) = max(9, m + 5·sqrt(2m)), about a
 * 3 σ likelihood-ratio test. On noise-free data s² is tiny and the test strict, so constants
 * only snap where they are exact.
 */
#pragma once
#include "kan-canon.h"
#include "kan-exprfit.h"

G_BEGIN_DECLS

/* A constant may move by this many of its standard errors to reach a simple value. */
#define KAN_NOISE_SNAP_Z 3.0

/* E (taken) with constants fixed at simple values where ROWS (n > p required) cannot tell
 * them apart, and the rest refitted by Levenberg–Marquardt; not simplified to canonical form
 * (run kan_canon_polish after). *FIT_OUT (may be NULL) receives the last fit of the result
 * (its constants' values and standard errors), or NULL when none could be made. */
KanExpr *kan_noise_snap (KanExpr            *e,
                         const KanCanonRows *rows,
                         KanExprFit        **fit_out);

/* The simplest value within WINDOW of V (see above; 0 first), or FALSE when there is none. */
gboolean kan_noise_simple_value (double  v,
                                 double  window,
                                 double *out);

G_END_DECLS
