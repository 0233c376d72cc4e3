/* kan-arith-private.h — integer arithmetic shared by the core's own modules (not installed). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The greatest common divisor of |A| and |B|; 0 when both are 0. */
static inline gint64
kan_gcd (gint64 a,
         gint64 b)
{
  a = a < 0 ? -a : a;
  b = b < 0 ? -b : b;
  while (b != 0)
    {
      gint64 t = a % b;

      a = b;
      b = t;
    }
  return a;
}

G_END_DECLS
