/* kan.h — libkan, the numerical core of Kanvas: the one header a program includes.
 *
 * Build against the installed library with `pkg-config --cflags --libs kan`
 * (docs/example-libkan.c shows a whole run: data, training, pruning, locking, the formula).
 *
 * Conventions that hold for every public function unless its comment says otherwise:
 * - Ownership. A function named _new, _copy, _parse, _from_… or returning a char * gives the
 *   caller a new object or string: free it with the matching _free (or g_free for strings and
 *   plain arrays). A `const` pointer in a result is borrowed from the argument it came from
 *   and lives as long as that argument. Pointer arguments are borrowed for the duration of the
 *   call; a function that keeps or takes one (kan_trainer_new keeps the model and data,
 *   kan_expr_simplify takes its tree) says so.
 * - Errors. What a user can get wrong (data, formulas, options, files) comes back as FALSE,
 *   NULL or -1 with a GError in the KAN_ERROR domain. A programming error — a NULL object,
 *   an index out of range — is caught at the entry with g_return_val_if_fail, as GLib does:
 *   a critical warning is logged and the function returns its failure value.
 * - Threads. There is no global state: distinct objects may be used from distinct threads.
 */
#pragma once

#include "kan-version.h"
#include "kan-error.h"
#include "kan-expr.h"
#include "kan-data.h"
#include "kan-spline.h"
#include "kan-symbolic.h"
#include "kan-model.h"
#include "kan-train.h"
#include "kan-session.h"
#include "kan-prune.h"
#include "kan-formula.h"
#include "kan-symfit.h"
#include "kan-lock.h"
#include "kan-discover.h"
#include "kan-units.h"
#include "kan-exprfit.h"
#include "kan-noise.h"
#include "kan-canon.h"
#include "kan-decompose.h"
#include "kan-lbfgs.h"
#include "kan-json.h"
#include "kan-file.h"
#include "kan-ops.h"
#include "kan-stream.h"
