/* cli-inputs.c — what kanvas-cli's commands start from: the data, model and training option
 * groups several commands share, and the data set, model and training settings built from
 * them; a saved session, and the check that data fit a model.
 */
#include "cli.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------------------------------ */
/* Data                                                                                        */

#define STR_OPT(long_name, field, help, arg) \
  { long_name, 0, 0, G_OPTION_ARG_FILENAME, &o->field, help, arg }
#define FLAG_OPT(long_name, field, help) \
  { long_name, 0, 0, G_OPTION_ARG_NONE, &o->field, help, NULL }

/* Row counts are not capped here: the core refuses data sets and training workspaces over its
 * memory budget (KAN_ERROR_BUDGET) before allocating them. */
#define CLI_MAX_ROWS G_MAXINT64

void
cli_data_opts_add (CliCommand  *c,
                   CliDataOpts *o)
{
  GOptionEntry entries[] = {
    STR_OPT ("formula", formula, "Sample a formula, e.g. 'exp(sin(pi*x1)+x2^2)'", "EXPR"),
    STR_OPT ("vars", vars, "Variable order for --formula (default: natural order)", "a,b,…"),
    STR_OPT ("range", range, "Sampling range, one for all or one per variable (default -1,1)",
             "LO,HI[:LO,HI…]"),
    STR_OPT ("train", n_train, "Training rows sampled from --formula, ≥ 1 (default 1000)", "N"),
    STR_OPT ("test", n_test, "Test rows sampled from --formula, ≥ 0 (default 1000)", "N"),
    STR_OPT ("noise", noise, "Gaussian label noise, relative to the labels' std, ≥ 0 "
             "(default 0)", "S"),
    STR_OPT ("data-seed", seed, "Seed for sampling, or for the CSV train/test split, "
             "0 … " CLI_MAX_SEED_TEXT " (default 0)", "N"),
    FLAG_OPT ("normalize", normalize, "Z-score the inputs of --formula with train statistics"),
    FLAG_OPT ("normalize-label", normalize_label, "Z-score the labels of --formula too"),
    STR_OPT ("csv", csv, "Read a CSV file with a header row", "FILE"),
    STR_OPT ("target", target, "Target column(s) of --csv; the others are inputs", "NAME[,NAME…]"),
    STR_OPT ("test-fraction", test_fraction, "Share of CSV rows held out for testing, "
             "0 ≤ F < 1 (default 0.2)", "F"),
    { NULL }
  };

  cli_command_add_group (c, "data", "Data options (default: the session's data):", entries);
}

gboolean
cli_data_opts_given (const CliDataOpts *o)
{
  return o->formula || o->vars || o->range || o->n_train || o->n_test || o->noise || o->seed
         || o->normalize || o->normalize_label || o->csv || o->target || o->test_fraction;
}

KanDataset *
cli_data_from_opts (const CliDataOpts *o,
                    GError           **error)
{
  gint64 seed = 0;

  if (o->formula && o->csv)
    {
      g_set_error (error, CLI_ERROR, CLI_ERROR_USAGE, "--formula and --csv cannot be combined");
      return NULL;
    }
  if (!o->formula && !o->csv)
    {
      g_set_error (error, CLI_ERROR, CLI_ERROR_USAGE, "data options need --formula or --csv");
      return NULL;
    }
  if (o->seed && !cli_parse_int ("--data-seed", o->seed, 0, G_MAXINT64, &seed, error))
    return NULL;

  if (o->formula)
    {
      KanFormulaSpec spec;
      g_auto (GStrv) vars = NULL;
      g_autofree double *ranges = NULL;
      gint64 n;

      if (o->target || o->test_fraction)
        {
          g_set_error (error, CLI_ERROR, CLI_ERROR_USAGE,
                       "--target and --test-fraction belong to --csv, not --formula");
          return NULL;
        }
      kan_formula_spec_init (&spec);
      spec.formula = o->formula;
      spec.seed = (guint64) seed;
      spec.normalize_input = o->normalize || o->normalize_label;
      spec.normalize_label = o->normalize_label;
      if (o->vars)
        {
          vars = g_strsplit (o->vars, ",", -1);
          for (char **v = vars; *v; v++)
            g_strstrip (*v);
          spec.vars = (const char *const *) vars;
        }
      if (o->range)
        {
          g_autoptr (GError) local = NULL;
          if (!kan_parse_ranges (o->range, &ranges, &spec.n_ranges, &local))
            {
              g_set_error (error, CLI_ERROR, CLI_ERROR_USAGE, "--range: %s", local->message);
              return NULL;
            }
          spec.ranges = ranges;
        }
      if (o->n_train)
        {
          if (!cli_parse_int ("--train", o->n_train, 1, CLI_MAX_ROWS, &n, error))
            return NULL;
          spec.n_train = (size_t) n;
        }
      if (o->n_test)
        {
          if (!cli_parse_int ("--test", o->n_test, 0, CLI_MAX_ROWS, &n, error))
            return NULL;
          spec.n_test = (size_t) n;
        }
      if (o->noise && !cli_parse_double ("--noise", o->noise, 0, HUGE_VAL, &spec.noise, error))
        return NULL;
      return kan_dataset_from_formula (&spec, error);
    }
  else
    {
      double frac = 0.2;

      if (o->vars || o->range || o->n_train || o->n_test || o->noise || o->normalize
          || o->normalize_label)
        {
          g_set_error (error, CLI_ERROR, CLI_ERROR_USAGE,
                       "--vars, --range, --train, --test, --noise and --normalize belong to "
                       "--formula, not --csv");
          return NULL;
        }
      if (!o->target)
        {
          g_set_error (error, CLI_ERROR, CLI_ERROR_USAGE, "--csv needs --target NAME");
          return NULL;
        }
      if (o->test_fraction
          && !cli_parse_double ("--test-fraction", o->test_fraction, 0, 1, &frac, error))
        return NULL;
      if (frac == 1)
        {
          g_set_error (error, CLI_ERROR, CLI_ERROR_USAGE,
                       "--test-fraction: 1 leaves no training rows; give 0 ≤ F < 1");
          return NULL;
        }
      return kan_dataset_from_csv (o->csv, o->target, frac, (guint64) seed, error);
    }
}

void
cli_data_opts_clear (CliDataOpts *o)
{
  g_clear_pointer (&o->formula, g_free);
  g_clear_pointer (&o->vars, g_free);
  g_clear_pointer (&o->range, g_free);
  g_clear_pointer (&o->n_train, g_free);
  g_clear_pointer (&o->n_test, g_free);
  g_clear_pointer (&o->noise, g_free);
  g_clear_pointer (&o->seed, g_free);
  g_clear_pointer (&o->csv, g_free);
  g_clear_pointer (&o->target, g_free);
  g_clear_pointer (&o->test_fraction, g_free);
}

char *
cli_data_describe (const KanDataset *d)
{
  GString *s = g_string_new (NULL);
  g_autofree char *ins = g_strjoinv (",", d->in_names);
  g_autofree char *outs = g_strjoinv (",", d->out_names);

  switch (d->source)
    {
    case KAN_DATA_FORMULA:
      g_string_append_printf (s, "formula %s", d->formula);
      break;
    case KAN_DATA_CSV:
      g_string_append_printf (s, "CSV %s", d->csv_path ? d->csv_path : "(unnamed)");
      break;
    case KAN_DATA_ARRAYS:
      g_string_append (s, "arrays");
      break;
    }
  g_string_append_printf (s, ", inputs %s → outputs %s, %zu train / %zu test rows", ins, outs,
                          d->n_train, d->n_test);
  if (d->in_mean)
    g_string_append (s, ", normalised");
  return g_string_free (s, FALSE);
}

/* ------------------------------------------------------------------------------------------ */
/* Model                                                                                       */

void
cli_model_opts_add (CliCommand   *c,
                    CliModelOpts *o)
{
  GOptionEntry entries[] = {
    STR_OPT ("width", width, "Node widths, [n_sum,n_mult] for multiplication nodes "
             "(default N_IN,5,N_OUT)", "2,5,1"),
    STR_OPT ("mult-arity", mult_arity, "Arity of multiplication nodes: one, or one per node "
             "(default 2)", "N[,N…]"),
    STR_OPT ("grid", grid, "Grid intervals G, 1 … " G_STRINGIFY (CLI_MAX_GRID) " (default 5)",
             "G"),
    STR_OPT ("k", k, "Spline order k, 1 … " G_STRINGIFY (KAN_SPLINE_MAX_K) " (default 3)", "K"),
    STR_OPT ("seed", seed, "Model initialisation seed, 0 … " CLI_MAX_SEED_TEXT
             " (default 1)", "N"),
    STR_OPT ("base", base, "Base function: silu, identity or zero (default silu)", "FUN"),
    STR_OPT ("grid-eps", grid_eps, "Mix of uniform and quantile grids in updates, 0 … 1 "
             "(default 0.02)", "E"),
    STR_OPT ("grid-range", grid_range, "Initial grid range (default -1,1)", "LO,HI"),
    { NULL }
  };

  cli_command_add_group (c, "model", "Model options (new models only):", entries);
}

gboolean
cli_model_opts_given (const CliModelOpts *o)
{
  return o->width || o->mult_arity || o->grid || o->k || o->seed || o->base || o->grid_eps
         || o->grid_range;
}

KanModel *
cli_model_from_opts (const CliModelOpts *o,
                     const KanDataset   *data,
                     KanLoss             loss,
                     char              **detail,
                     GError            **error)
{
  KanModelConfig cfg;
  g_autoptr (KanShape) shape = NULL;
  g_autoptr (GError) local = NULL;
  g_autofree char *width = NULL;
  g_autofree char *shape_text = NULL;
  KanModel *m;
  gint64 v;

  kan_model_config_init (&cfg);
  cfg.grid = 5;
  if (o->width)
    width = g_strdup (o->width);
  else
    width = g_strdup_printf ("%d,5,%d", data->n_in,
                             loss == KAN_LOSS_CE ? kan_dataset_n_classes (data) : data->n_out);
  if (!cli_check_width_numbers ("--width", width, error)
      || (o->mult_arity && !cli_check_width_numbers ("--mult-arity", o->mult_arity, error)))
    return NULL;
  shape = kan_shape_parse (width, o->mult_arity, &local);
  if (shape == NULL)
    {
      g_autofree char *shown = kan_expr_excerpt (width, 0);

      g_set_error (error, CLI_ERROR, CLI_ERROR_USAGE, "--width %s: %s", shown, local->message);
      return NULL;
    }
  cfg.shape = shape;
  if (o->grid)
    {
      if (!cli_parse_int ("--grid", o->grid, 1, CLI_MAX_GRID, &v, error))
        return NULL;
      cfg.grid = (int) v;
    }
  if (o->k)
    {
      if (!cli_parse_int ("--k", o->k, 1, KAN_SPLINE_MAX_K, &v, error))
        return NULL;
      cfg.k = (int) v;
    }
  if (o->seed)
    {
      if (!cli_parse_int ("--seed", o->seed, 0, G_MAXINT64, &v, error))
        return NULL;
      cfg.seed = (guint64) v;
    }
  if (o->base && !kan_base_fun_lookup (o->base, &cfg.base_fun))
    {
      g_set_error (error, CLI_ERROR, CLI_ERROR_USAGE,
                   "--base: unknown function '%s' (silu, identity or zero)", o->base);
      return NULL;
    }
  if (o->grid_eps && !cli_parse_double ("--grid-eps", o->grid_eps, 0, 1, &cfg.grid_eps, error))
    return NULL;
  if (o->grid_range)
    {
      g_autofree double *r = NULL;
      int n;
      if (!cli_parse_doubles ("--grid-range", o->grid_range, 2, &r, &n, error))
        return NULL;
      if (!(r[0] < r[1]))
        {
          g_set_error (error, CLI_ERROR, CLI_ERROR_USAGE,
                       "--grid-range: the low end must be below the high end");
          return NULL;
        }
      if (!isfinite (r[1] - r[0]))
        {
          g_set_error (error, CLI_ERROR, CLI_ERROR_USAGE,
                       "--grid-range: [%g, %g] is too wide: its width hi − lo overflows a double",
                       r[0], r[1]);
          return NULL;
        }
      cfg.grid_range[0] = r[0];
      cfg.grid_range[1] = r[1];
    }

  m = kan_model_new (&cfg, error);
  if (m == NULL)
    return NULL;
  shape_text = kan_shape_to_string (shape);
  if (detail)
    *detail = g_strdup_printf ("width=%s grid=%d k=%d base=%s seed=%" G_GUINT64_FORMAT,
                               shape_text, cfg.grid, cfg.k, kan_base_fun_name (cfg.base_fun),
                               cfg.seed);
  return m;
}

void
cli_model_opts_clear (CliModelOpts *o)
{
  g_clear_pointer (&o->width, g_free);
  g_clear_pointer (&o->mult_arity, g_free);
  g_clear_pointer (&o->grid, g_free);
  g_clear_pointer (&o->k, g_free);
  g_clear_pointer (&o->seed, g_free);
  g_clear_pointer (&o->base, g_free);
  g_clear_pointer (&o->grid_eps, g_free);
  g_clear_pointer (&o->grid_range, g_free);
}

/* ------------------------------------------------------------------------------------------ */
/* Training                                                                                    */

void
cli_train_opts_add (CliCommand   *c,
                    CliTrainOpts *o)
{
  GOptionEntry entries[] = {
    STR_OPT ("opt", opt, "Optimiser: auto, lbfgs, adam or lm (default auto: lm on small "
             "unregularised MSE fits, else lbfgs)", "NAME"),
    STR_OPT ("steps", steps, "Training steps, 0 … " CLI_MAX_INT_TEXT " (default 50)", "N"),
    STR_OPT ("lr", lr, "Learning rate, > 0 (default 1 for lbfgs and lm, 0.01 for adam)", "X"),
    STR_OPT ("lamb", lamb, "Regularisation strength, ≥ 0 (default 0)", "X"),
    STR_OPT ("lamb-l1", lamb_l1, "L1 weight inside the regulariser, ≥ 0 (default 1)", "X"),
    STR_OPT ("lamb-entropy", lamb_entropy, "Entropy weight inside the regulariser, ≥ 0 "
             "(default 2)", "X"),
    STR_OPT ("lamb-coef", lamb_coef, "Coefficient L1 weight inside the regulariser, ≥ 0 "
             "(default 0)", "X"),
    STR_OPT ("batch", batch, "Minibatch rows, 1 … " CLI_MAX_INT_TEXT ", or -1 for the "
             "whole train set (the default)", "N"),
    FLAG_OPT ("no-grid-update", no_grid_update, "Do not update grids from the data while training"),
    STR_OPT ("grid-update-num", grid_update_num, "Number of grid updates, 1 … "
             CLI_MAX_INT_TEXT " (default 10)", "N"),
    STR_OPT ("stop-grid-update-step", stop_grid_update_step,
             "No grid updates from this step on, 0 … " CLI_MAX_INT_TEXT " (default 50)", "N"),
    STR_OPT ("loss", loss, "Loss: mse, or ce for class labels (default mse)", "NAME"),
    FLAG_OPT ("singularity-avoiding", singularity_avoiding,
              "Bound symbolic functions near their singularities"),
    STR_OPT ("threads", threads, "Threads for loss evaluations, 1 … " G_STRINGIFY (CLI_MAX_THREADS)
             " (default 1)", "N"),
    { NULL }
  };

  cli_command_add_group (c, "train", "Training options (override the session's):", entries);
}

double
cli_default_lr (KanOptimizer opt)
{
  return opt == KAN_OPT_ADAM ? 0.01 : 1.0;
}

gboolean
cli_train_opts_apply (const CliTrainOpts *o,
                      KanTrainConfig     *cfg,
                      GError            **error)
{
  gint64 v;

  if (o->opt)
    {
      KanOptimizer opt;
      if (!kan_optimizer_lookup (o->opt, &opt))
        {
          g_set_error (error, CLI_ERROR, CLI_ERROR_USAGE,
                       "--opt: unknown optimiser '%s' (auto, lbfgs, adam or lm)", o->opt);
          return FALSE;
        }
      /* A new optimiser without --lr starts from its own default rate. */
      if (opt != cfg->opt && !o->lr)
        cfg->lr = cli_default_lr (opt);
      cfg->opt = opt;
    }
  if (o->steps)
    {
      if (!cli_parse_int ("--steps", o->steps, 0, G_MAXINT, &v, error))
        return FALSE;
      cfg->steps = (int) v;
    }
  if (o->lr)
    {
      if (!cli_parse_double ("--lr", o->lr, 0, HUGE_VAL, &cfg->lr, error))
        return FALSE;
      if (cfg->lr == 0)
        {
          g_set_error (error, CLI_ERROR, CLI_ERROR_USAGE, "--lr: must be > 0");
          return FALSE;
        }
    }
  if (o->lamb && !cli_parse_double ("--lamb", o->lamb, 0, HUGE_VAL, &cfg->lamb, error))
    return FALSE;
  if (o->lamb_l1 && !cli_parse_double ("--lamb-l1", o->lamb_l1, 0, HUGE_VAL, &cfg->lamb_l1, error))
    return FALSE;
  if (o->lamb_entropy
      && !cli_parse_double ("--lamb-entropy", o->lamb_entropy, 0, HUGE_VAL, &cfg->lamb_entropy,
                            error))
    return FALSE;
  if (o->lamb_coef
      && !cli_parse_double ("--lamb-coef", o->lamb_coef, 0, HUGE_VAL, &cfg->lamb_coef, error))
    return FALSE;
  if (o->batch)
    {
      if (!cli_parse_int ("--batch", o->batch, -1, G_MAXINT, &v, error))
        return FALSE;
      if (v == 0)
        {
          g_set_error (error, CLI_ERROR, CLI_ERROR_USAGE,
                       "--batch: 0 rows; give N ≥ 1, or -1 for the whole train set");
          return FALSE;
        }
      cfg->batch = (long) v;
    }
  if (o->no_grid_update)
    cfg->update_grid = FALSE;
  if (o->grid_update_num)
    {
      if (!cli_parse_int ("--grid-update-num", o->grid_update_num, 1, G_MAXINT, &v, error))
        return FALSE;
      cfg->grid_update_num = (int) v;
    }
  if (o->stop_grid_update_step)
    {
      if (!cli_parse_int ("--stop-grid-update-step", o->stop_grid_update_step, 0, G_MAXINT, &v,
                          error))
        return FALSE;
      cfg->stop_grid_update_step = (int) v;
    }
  if (o->loss)
    {
      if (g_ascii_strcasecmp (o->loss, "mse") == 0)
        cfg->loss = KAN_LOSS_MSE;
      else if (g_ascii_strcasecmp (o->loss, "ce") == 0)
        cfg->loss = KAN_LOSS_CE;
      else
        {
          g_set_error (error, CLI_ERROR, CLI_ERROR_USAGE, "--loss: unknown loss '%s' (mse or ce)",
                       o->loss);
          return FALSE;
        }
    }
  if (o->singularity_avoiding)
    cfg->singularity_avoiding = TRUE;
  if (o->threads)
    {
      if (!cli_parse_int ("--threads", o->threads, 1, CLI_MAX_THREADS, &v, error))
        return FALSE;
      cfg->threads = (int) v;
    }
  return TRUE;
}

void
cli_train_opts_clear (CliTrainOpts *o)
{
  g_clear_pointer (&o->opt, g_free);
  g_clear_pointer (&o->steps, g_free);
  g_clear_pointer (&o->lr, g_free);
  g_clear_pointer (&o->lamb, g_free);
  g_clear_pointer (&o->lamb_l1, g_free);
  g_clear_pointer (&o->lamb_entropy, g_free);
  g_clear_pointer (&o->lamb_coef, g_free);
  g_clear_pointer (&o->batch, g_free);
  g_clear_pointer (&o->grid_update_num, g_free);
  g_clear_pointer (&o->stop_grid_update_step, g_free);
  g_clear_pointer (&o->loss, g_free);
  g_clear_pointer (&o->threads, g_free);
}


/* ------------------------------------------------------------------------------------------ */
/* Sessions                                                                               */

KanSession *
cli_load_session (const char *path,
                  GError    **error)
{
  KanSession *s = kan_session_load (path, error);

  if (s != NULL && s->model == NULL)
    {
      g_set_error (error, CLI_ERROR, CLI_ERROR_FAILED, "%s: the session has no model", path);
      kan_session_free (s);
      return NULL;
    }
  return s;
}

/* Fails unless data D fits model M under LOSS. */
gboolean
cli_check_fit (const KanModel   *m,
               const KanDataset *d,
               KanLoss           loss,
               GError          **error)
{
  if (d->n_in != kan_model_n_in (m))
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_SHAPE,
                   "the data have %d input columns but the model takes %d inputs",
                   d->n_in, kan_model_n_in (m));
      return FALSE;
    }
  if (loss != KAN_LOSS_CE && !kan_dataset_check_numeric_labels (d, error))
    return FALSE;
  if (loss == KAN_LOSS_MSE && d->n_out != kan_model_n_out (m))
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_SHAPE,
                   "the data have %d target columns but the model has %d outputs",
                   d->n_out, kan_model_n_out (m));
      return FALSE;
    }
  return TRUE;
}

gboolean
cli_match_classes (const KanSession *s,
                   KanDataset       *d,
                   GError          **error)
{
  if (s->data == NULL)
    return TRUE;
  if (d->class_names == NULL)
    {
      if (s->data->class_names == NULL)
        return TRUE;
      g_set_error (error, CLI_ERROR, CLI_ERROR_FAILED,
                   "the labels of column '%s' are numbers, but the model was trained on the "
                   "classes %s…; give the labels as those names", d->out_names[0],
                   s->data->class_names[0]);
      return FALSE;
    }
  if (s->data->class_names == NULL)
    {
      g_set_error (error, CLI_ERROR, CLI_ERROR_FAILED,
                   "the labels of column '%s' are text, but the model was trained on numeric "
                   "labels", d->out_names[0]);
      return FALSE;
    }
  return kan_dataset_use_classes (d, (const char *const *) s->data->class_names, error);
}
