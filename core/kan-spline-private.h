/* kan-spline-private.h — spline helpers shared inside the core (not installed). */
#pragma once

#include <glib.h>
#include <stddef.h>

/* kan_spline_basis (without derivatives) for the N points XS: point s gets the first basis
 * index (or −1 outside the knots) in M0S[s] and its k+1 bases in B[s·(k+1) …], the same bits
 * as kan_spline_basis gives it; several points at a time. */
void kan_spline_basis_many (const double *t,
                            int           G,
                            int           k,
                            const double *xs,
                            size_t        n,
                            int          *m0s,
                            double       *b);
