/* kan-error.h — the error domain of libkan.
 *
 * Every failure a user can cause (a bad file, formula, shape or option) is reported as a GError
 * in this domain, with a message that names what is wrong and where.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define KAN_ERROR (kan_error_quark ())

typedef enum
{
  KAN_ERROR_PARSE,       /* a formula or option string could not be parsed */
  KAN_ERROR_IO,          /* a file could not be read or written */
  KAN_ERROR_DATA,        /* a data set is malformed (ragged rows, NaN, …) */
  KAN_ERROR_SHAPE,       /* widths, counts or dimensions do not fit together */
  KAN_ERROR_SESSION,     /* a session document is malformed or of an unknown version */
  KAN_ERROR_NONFINITE,   /* training produced a non-finite loss or gradient */
  KAN_ERROR_INVALID,     /* an option value is out of range */
  KAN_ERROR_CANCELLED,   /* the caller asked to stop */
  KAN_ERROR_BUDGET,      /* the request would exceed the memory budget */
} KanError;

GQuark kan_error_quark (void);

G_END_DECLS
