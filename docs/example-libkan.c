/* example-libkan.c — libkan from a program of your own: pykan's hello-world recipe.
 *
 * Samples exp(sin(πx1) + x2²) on [-1,1]², trains a 2,5,1 network with a little sparsity
 * regularisation, prunes it, trains again, locks every edge to a library function
 * (auto-symbolic), tunes the locked network and prints its formula:
 *
 *   cc example-libkan.c $(pkg-config --cflags --libs kan) -o example-libkan
 *   ./example-libkan            prints  exp(sin(pi*x1) + x2^2)
 *
 * The steps are those of `kanvas-cli fit --lamb 0.01`, `prune`, `fit`, `symbolic --lib
 * x,x^2,exp,sin`, `fit` and `formula`, with the same defaults.
 */
#include <stdio.h>
#include <stdlib.h>
#include <gsl/gsl_errno.h>

#include <kan.h>

/* Runs CFG->steps training steps of MODEL on DATA. */
static gboolean
train (KanModel             *model,
       const KanDataset     *data,
       const KanTrainConfig *cfg,
       GError              **error)
{
  g_autoptr (KanTrainer) trainer = kan_trainer_new (model, data, cfg, error);
  KanStepInfo info;

  if (trainer == NULL)
    return FALSE;
  for (int s = 0; s < cfg->steps; s++)
    if (!kan_trainer_step (trainer, NULL, &info, error))
      return FALSE;
  printf ("trained %d steps: test RMSE %.2e\n", cfg->steps, info.test_rmse);
  return TRUE;
}

static gboolean
run (GError **error)
{
  KanFormulaSpec spec;
  KanModelConfig mcfg;
  KanTrainConfig tcfg;
  g_autoptr (KanDataset) data = NULL;
  g_autoptr (KanShape) shape = NULL;
  g_autoptr (KanModel) model = NULL;
  g_autoptr (KanModel) pruned = NULL;
  g_autoptr (KanExpr) formula = NULL;
  g_autofree int *lib = NULL;
  g_autofree char *text = NULL;
  int n_lib, locked;

  /* The data: 1000 train and 1000 test rows, uniform on [-1, 1]² (the defaults). */
  kan_formula_spec_init (&spec);
  spec.formula = "exp(sin(pi*x1)+x2^2)";
  data = kan_dataset_from_formula (&spec, error);
  if (data == NULL)
    return FALSE;

  /* A 2,5,1 network on a grid of 5 intervals, seed 1. */
  shape = kan_shape_parse ("2,5,1", NULL, error);
  if (shape == NULL)
    return FALSE;
  kan_model_config_init (&mcfg);
  mcfg.shape = shape;
  mcfg.grid = 5;
  mcfg.seed = 1;
  model = kan_model_new (&mcfg, error);
  if (model == NULL)
    return FALSE;

  /* 50 L-BFGS steps with λ = 0.01, so that unneeded nodes fade. */
  kan_train_config_init (&tcfg);
  tcfg.lamb = 0.01;
  if (!train (model, data, &tcfg, error))
    return FALSE;

  /* Prune by pykan's default thresholds, then train the smaller network. */
  pruned = kan_model_prune (model, data->train_x, data->n_train, KAN_PRUNE_NODE_THRESHOLD,
                            KAN_PRUNE_EDGE_THRESHOLD, error);
  if (pruned == NULL)
    return FALSE;
  g_autofree char *width = kan_shape_to_string (kan_model_shape (pruned));
  printf ("pruned to width %s\n", width);
  if (!train (pruned, data, &tcfg, error))
    return FALSE;

  /* Lock every edge to its best fit among x, x², exp and sin; then tune a, b, c, d. */
  lib = kan_sym_parse_lib ("x,x^2,exp,sin", &n_lib, error);
  if (lib == NULL)
    return FALSE;
  locked = kan_model_auto_symbolic (pruned, data->train_x, data->n_train, lib, n_lib, 0.0,
                                    NULL, NULL, error);
  if (locked < 0)
    return FALSE;
  printf ("locked %d edges\n", locked);
  if (!train (pruned, data, &tcfg, error))
    return FALSE;

  /* The formula, simplified and snapped where the train rows agree (as `formula` does). */
  formula = kan_discover_formula (pruned, data, TRUE, 1e-9, NULL, error);
  if (formula == NULL)
    return FALSE;
  text = kan_expr_to_string (formula, (const char *const *) data->in_names,
                             KAN_EXPR_STYLE_TEXT);
  printf ("formula: %s\n", text);
  return TRUE;
}

int
main (void)
{
  g_autoptr (GError) error = NULL;

  /* libkan checks GSL's status codes itself; GSL's default handler would abort instead. */
  gsl_set_error_handler_off ();
  printf ("libkan %s\n", KAN_VERSION_STRING);
  if (!run (&error))
    {
      fprintf (stderr, "example-libkan: %s\n", error->message);
      return EXIT_FAILURE;
    }
  return EXIT_SUCCESS;
}
