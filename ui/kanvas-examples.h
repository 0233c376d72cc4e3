/* kanvas-examples.h — the example gallery of the workbench: GTK-free data and the code that
 * makes each example's data set.
 */
#pragma once

#include <glib.h>
#include "kan.h"

G_BEGIN_DECLS

typedef struct
{
  const char   *id;           /* short name for the load-example action, e.g. "demo" */
  const char   *title;        /* what the gallery shows */
  const char   *description;
  const char   *formula;      /* sampled formula, or NULL for a generated data set */
  const char   *ranges;       /* "lo,hi[:lo,hi…]" as kan_parse_ranges reads it */
  guint         n_train;
  guint         n_test;
  double        noise;
  const char   *width;        /* e.g. "2,5,1" or "2,[0,1],1" */
  int           grid;
  int           k;
  KanOptimizer  opt;
  KanLoss       loss;
  int           steps;
  double        lr;
  double        lamb;
  guint         step_ms;      /* least time of a training step, so a run can be watched; 0: none */
} KanvasExample;

/* The gallery, in display order. */
const KanvasExample *kanvas_examples         (guint               *n_examples);
/* The example with ID, or NULL. */
const KanvasExample *kanvas_example_lookup   (const char          *id);
/* A comma-separated list of the example ids, for error messages. */
char                *kanvas_example_ids      (void);

/* The example's data set, sampled or generated with SEED. */
KanDataset          *kanvas_example_dataset  (const KanvasExample *ex,
                                              guint64              seed,
                                              GError             **error);
/* Two interleaved half circles (labels 0 and 1 in one column) with Gaussian noise of standard
 * deviation NOISE, like scikit-learn's make_moons. */
KanDataset          *kanvas_two_moons        (guint                n_train,
                                              guint                n_test,
                                              double               noise,
                                              guint64              seed);

G_END_DECLS
