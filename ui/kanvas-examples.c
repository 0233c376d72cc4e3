/* kanvas-examples.c — the example gallery. */
#include "kanvas-examples.h"

#include <math.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#define DEMO_FORMULA "exp(sin(pi*x1)+x2^2)"
/* The demo's 50 steps take about 0.6 s at full speed, too fast to watch the curves fall;
 * paced, a run takes about 3 s (the first of a new user's). */
#define DEMO_STEP_MS 60
/* Five Gaussian peaks of width 0.05 at -0.8 … 0.8 (pykan's continual-learning example). */
#define PEAKS_FORMULA "exp(-(x1+0.8)^2/0.005)+exp(-(x1+0.4)^2/0.005)+exp(-x1^2/0.005)" \
                      "+exp(-(x1-0.4)^2/0.005)+exp(-(x1-0.8)^2/0.005)"

static const KanvasExample examples[] = {
  { "demo", "Demo: exp(sin(πx₁)+x₂²)",
    "The KAN paper's first example; width 2,5,1 finds it exactly.",
    DEMO_FORMULA, "-1,1", 1000, 1000, 0, "2,5,1", 5, 3, KAN_OPT_LBFGS, KAN_LOSS_MSE, 50, 1, 0,
    DEMO_STEP_MS },
  { "xy", "Multiplication: x₁·x₂",
    "A product, learned by one multiplication node.",
    "x1*x2", "-1,1", 1000, 1000, 0, "2,[0,1],1", 5, 3, KAN_OPT_LBFGS, KAN_LOSS_MSE, 50, 1, 0 },
  { "sin-sq", "Sum: sin(πx₁)+x₂²",
    "Two separable terms; after pruning one node remains.",
    "sin(pi*x1)+x2^2", "-1,1", 1000, 1000, 0, "2,5,1", 5, 3, KAN_OPT_LBFGS, KAN_LOSS_MSE, 50,
    1, 0 },
  { "deep4", "Deep: exp((sin(π(x₁²+x₂²))+sin(π(x₃²+x₄²)))/2)",
    "Four inputs composed three levels deep; width 4,2,1,1.",
    "exp((sin(pi*(x1^2+x2^2))+sin(pi*(x3^2+x4^2)))/2)", "-1,1", 1000, 1000, 0, "4,2,1,1", 5, 3,
    KAN_OPT_LBFGS, KAN_LOSS_MSE, 50, 1, 0 },
  { "bessel", "Special function: exp(J₀(20x₁)+x₂²)",
    "A Bessel function of the first kind; needs a fine grid.",
    "exp(besselj0(20*x1)+x2^2)", "-1,1", 1000, 1000, 0, "2,1,1", 20, 3, KAN_OPT_LBFGS,
    KAN_LOSS_MSE, 50, 1, 0 },
  { "two-moons", "Classification: two moons",
    "Two interleaved half circles with noise, classes 0 and 1, cross-entropy loss.",
    NULL, NULL, 1000, 1000, 0.2, "2,2", 5, 3, KAN_OPT_LBFGS, KAN_LOSS_CE, 50, 1, 0 },
  { "five-peaks", "Continual learning: five peaks",
    "One input, five Gaussian peaks; a spline with a fine grid.",
    PEAKS_FORMULA, "-1,1", 1000, 1000, 0, "1,1", 50, 3, KAN_OPT_LBFGS, KAN_LOSS_MSE, 50, 1, 0 },
};

const KanvasExample *
kanvas_examples (guint *n_examples)
{
  if (n_examples)
    *n_examples = G_N_ELEMENTS (examples);
  return examples;
}

const KanvasExample *
kanvas_example_lookup (const char *id)
{
  g_return_val_if_fail (id != NULL, NULL);

  for (guint e = 0; e < G_N_ELEMENTS (examples); e++)
    if (g_strcmp0 (examples[e].id, id) == 0)
      return &examples[e];
  return NULL;
}

char *
kanvas_example_ids (void)
{
  GString *s = g_string_new (NULL);

  for (guint e = 0; e < G_N_ELEMENTS (examples); e++)
    g_string_append_printf (s, "%s%s", e ? ", " : "", examples[e].id);
  return g_string_free (s, FALSE);
}

static void
moons_rows (gsl_rng *r,
            guint    n,
            double   noise,
            double  *x,
            double  *y)
{
  /* Alternate the classes so every split holds both in equal shares. */
  for (guint b = 0; b < n; b++)
    {
      double t = M_PI * gsl_rng_uniform (r);
      int cls = b % 2;

      if (cls == 0)
        {
          x[2 * b] = cos (t);
          x[2 * b + 1] = sin (t);
        }
      else
        {
          x[2 * b] = 1 - cos (t);
          x[2 * b + 1] = 0.5 - sin (t);
        }
      x[2 * b] += noise * gsl_ran_gaussian (r, 1);
      x[2 * b + 1] += noise * gsl_ran_gaussian (r, 1);
      y[b] = cls;
    }
}

KanDataset *
kanvas_two_moons (guint   n_train,
                  guint   n_test,
                  double  noise,
                  guint64 seed)
{
  const char *const in_names[] = { "x1", "x2", NULL };
  const char *const out_names[] = { "class", NULL };
  g_autofree double *train_x = g_new (double, 2 * (gsize) MAX (n_train, 1));
  g_autofree double *train_y = g_new (double, MAX (n_train, 1));
  g_autofree double *test_x = g_new (double, 2 * (gsize) MAX (n_test, 1));
  g_autofree double *test_y = g_new (double, MAX (n_test, 1));
  gsl_rng *r = gsl_rng_alloc (gsl_rng_mt19937);
  KanDataset *d;

  gsl_rng_set (r, (unsigned long) seed);
  moons_rows (r, n_train, noise, train_x, train_y);
  moons_rows (r, n_test, noise, test_x, test_y);
  gsl_rng_free (r);

  d = kan_dataset_new_arrays (2, 1, n_train, n_test, train_x, train_y, test_x, test_y,
                              in_names, out_names);
  d->noise = noise;
  d->seed = seed;
  return d;
}

KanDataset *
kanvas_example_dataset (const KanvasExample *ex,
                        guint64              seed,
                        GError             **error)
{
  KanFormulaSpec spec;
  g_autofree double *ranges = NULL;

  g_return_val_if_fail (ex != NULL, NULL);

  if (ex->formula == NULL)
    return kanvas_two_moons (ex->n_train, ex->n_test, ex->noise, seed);

  kan_formula_spec_init (&spec);
  spec.formula = ex->formula;
  if (!kan_parse_ranges (ex->ranges, &ranges, &spec.n_ranges, error))
    return NULL;
  spec.ranges = ranges;
  spec.n_train = ex->n_train;
  spec.n_test = ex->n_test;
  spec.noise = ex->noise;
  spec.seed = seed;
  return kan_dataset_from_formula (&spec, error);
}
