/* test-helpers.h — what several test suites share: comparisons, random values, small models,
 * the demo data, and a main() that runs test cases needing outside programs as SKIP-able
 * tests of their own. */
#pragma once

#include <check.h>
#include <gsl/gsl_rng.h>

#include "kan-data.h"
#include "kan-expr.h"
#include "kan-model.h"

G_BEGIN_DECLS

/* |A − B| ≤ REL·max(1, |A|, |B|); a NaN equals only a NaN, an infinity only itself. */
gboolean    kt_close_to      (double        a,
                              double        b,
                              double        rel);

/* Uniform on [LO, HI). */
double      kt_unif          (gsl_rng      *r,
                              double        lo,
                              double        hi);

/* The mean and the sample standard deviation (n − 1 in the denominator) of the N values
 * V[0], V[STRIDE], V[2·STRIDE], … */
double      kt_mean          (const double *v,
                              size_t        n,
                              size_t        stride);
double      kt_std           (const double *v,
                              size_t        n,
                              size_t        stride);

/* Random affines for node layer L+1 of M: every subnode's and then every node's scale uniform
 * on [SCALE_LO, 1.3) and bias on [-0.3, 0.3), drawn in that order from R. */
void        kt_randomize_affines (KanModel *m,
                                  int       l,
                                  gsl_rng  *r,
                                  double    scale_lo);

/* A new model of WIDTH (ARITY as for kan_shape_parse, NULL for 2) with kan_model_config_init's
 * settings but GRID, K, BASE and SEED. Fails the test when it cannot be made. */
KanModel   *kt_model_new     (const char   *width,
                              const char   *arity,
                              int           grid,
                              int           k,
                              KanBaseFun    base,
                              guint64       seed);

/* FORMULA sampled on [LO, HI] for every variable, with SEED and kan_formula_spec_init's other
 * settings. Fails the test when the data cannot be made. */
KanDataset *kt_formula_data  (const char   *formula,
                              double        lo,
                              double        hi,
                              size_t        n_train,
                              size_t        n_test,
                              guint64       seed);

/* The demo data set, exp(sin(pi*x1)+x2^2) on [-1,1]² with kan_formula_spec_init's seed. */
KanDataset *kt_demo_data     (size_t        n_train,
                              size_t        n_test);

/* kan_dataset_from_csv_data on TEXT as a file named t.csv with TARGETS, no test rows, seed 1. */
KanDataset *kt_csv_text      (const char   *text,
                              const char   *targets,
                              GError      **error);

/* The largest magnitude of any subexpression of E at X: where it is large, rounding in a
 * reordered computation is large too (sin of 1e11 has no correct digits left). */
double      kt_largest_part  (const KanExpr *e,
                              const double  *x);

/* From now on in this process critical warnings are counted (kt_criticals) instead of being
 * fatal: for tests of the argument checks at public entry points. */
void        kt_count_criticals (void);
int         kt_criticals       (void);

/* Runs STMT and fails the test unless it raised exactly one critical (after
 * kt_count_criticals). */
#define KT_EXPECT_CRITICAL(stmt) \
  do { int kt_before_ = kt_criticals (); stmt; \
    ck_assert_msg (kt_criticals () == kt_before_ + 1, "no critical from %s", #stmt); } while (0)

/* A test case of S named NAME whose tests need PROGRAM in PATH and python3 able to import
 * PYTHON_MODULE (either may be NULL). kt_run runs it only when both are there. */
TCase      *kt_tcase_needing (Suite        *s,
                              const char   *name,
                              const char   *program,
                              const char   *python_module);

/* Runs suite S (and frees it) and returns the exit status for main(). With no argument every
 * test case whose needs are met runs, and each one left out is named on stderr. With one
 * argument only the test case of that name runs; when its needs are not met the status is 77,
 * which Meson reports as SKIP. An unknown name is a failure. */
int         kt_run           (Suite        *s,
                              int           argc,
                              char        **argv);

/* Runs every test of suite S (and frees it) in this process (CK_NOFORK: widgets and the display
 * live here) and returns the exit status for main(): 1 when a test failed. */
int         kt_run_nofork    (Suite        *s);

/* Iterates the default main context until COND (DATA) holds or TIMEOUT seconds pass; returns
 * whether it holds. For tests of widgets and workers that answer from the main loop. */
gboolean    kt_spin_until    (gboolean    (*cond) (gpointer),
                              gpointer      data,
                              double        timeout);
/* Iterates the default main context for SECONDS. */
void        kt_spin_for      (double        seconds);

G_END_DECLS
