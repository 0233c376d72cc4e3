/* kan-error.c */
#include "kan-error.h"

G_DEFINE_QUARK (kan-error-quark, kan_error)
