/* cli-discover.c — kanvas-cli discover: data in, a closed-form formula out.
 *
 *   discover [data options] [search options] [--pareto] [-o OUT] [--json]
 *
 * The search is kan_discover's (kan-discover.c); this command reads its options, shows its
 * progress on a terminal and prints the result. Nothing is written unless it succeeded.
 */
#include "cli.h"

#include <math.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------------------------------ */
/* discover                                                                                    */

/* One line on the terminal (stderr), rewritten after every stage of the search: time,
 * stage, formulas tried, the most accurate so far. */
static void
discover_progress (const KanDiscoverProgress *p, gpointer data)
{
  gboolean *shown = data;
  char rmse[32];
  g_autofree char *line = NULL;
  glong len;

  cli_fmt_sci (rmse, p->best_rmse);
  line = g_strdup_printf ("[%5.1f s] %s %s · %d formula%s · best %s %s", p->seconds, p->stage,
                          p->width ? p->width : "", p->n_candidates,
                          p->n_candidates == 1 ? "" : "s", p->best_text ? rmse : "—",
                          p->best_text ? p->best_text : "");
  /* One terminal line: cut at 79 characters (not bytes: the line has UTF-8 in it). */
  len = g_utf8_strlen (line, -1);
  if (len > 79)
    *g_utf8_offset_to_pointer (line, 78) = '\0';
  fprintf (stderr, "\r\033[K%s%s", line, len > 79 ? "…" : "");
  fflush (stderr);
  *shown = TRUE;
}

/* The free constants of the best formula, in print order, with their standard errors. */
static void
constants_json (CliJson *j, const KanDiscoverCandidate *best, const KanDataset *d)
{
  cli_json_begin_array (j, "constants");
  for (int k = 0; best->fit && k < best->fit->n; k++)
    {
      cli_json_begin_object (j, NULL);
      cli_json_double (j, "value", best->fit->value[k]);
      cli_json_double (j, "stderr", best->fit->stderr_[k]);
      cli_json_end_object (j);
    }
  cli_json_end_array (j);
  if (best->fit && best->fit->n > 0)
    {
      g_autofree char *errs = kan_expr_to_string_with_errors (
        best->expr, best->fit, (const char *const *) d->in_names, KAN_EXPR_STYLE_TEXT);
      cli_json_string (j, "formula_with_errors", errs);
    }
}

/* The command's options as given, and what parsing them made. */
typedef struct
{
  char     *out, *widths_text, *lib_text, *seeds_text, *seed_text, *time_text, *grid_text;
  char     *fine_text, *threads_text, *units_text;
  gboolean  json, show_pareto, progress_shown;
  int      *lib;
  GStrv     widths;
  KanDim   *in_dims;
  KanDim    out_dim;
} DiscoverArgs;

static void
discover_args_clear (DiscoverArgs *a)
{
  g_free (a->out);
  g_free (a->widths_text);
  g_free (a->lib_text);
  g_free (a->seeds_text);
  g_free (a->seed_text);
  g_free (a->time_text);
  g_free (a->grid_text);
  g_free (a->fine_text);
  g_free (a->threads_text);
  g_free (a->units_text);
  g_free (a->lib);
  g_strfreev (a->widths);
  g_free (a->in_dims);
}

/* The search options A gives, into O (initialised by the caller). */
static gboolean
discover_options (DiscoverArgs       *a,
                  KanDiscoverOptions *o,
                  GError            **error)
{
  gint64 v;

  if (a->seeds_text)
    {
      if (!cli_parse_int ("--seeds", a->seeds_text, 1, 1000, &v, error))
        return FALSE;
      o->n_seeds = (int) v;
    }
  if (a->seed_text)
    {
      /* The seeds tried are seed … seed + seeds − 1; they must all be seeds (≤ 2^63 − 1). */
      if (!cli_parse_int ("--seed", a->seed_text, 0, G_MAXINT64 - (o->n_seeds - 1), &v, error))
        return FALSE;
      o->seed = (guint64) v;
    }
  if (a->grid_text)
    {
      if (!cli_parse_int ("--grid", a->grid_text, 1, 1000, &v, error))
        return FALSE;
      o->grid = (int) v;
    }
  if (a->fine_text)
    {
      if (!cli_parse_int ("--fine-grid", a->fine_text, 0, 1000, &v, error))
        return FALSE;
      o->fine_grid = (int) v;
    }
  if (a->threads_text)
    {
      if (!cli_parse_int ("--threads", a->threads_text, 1, 256, &v, error))
        return FALSE;
      o->threads = (int) v;
    }
  if (isatty (STDERR_FILENO))
    {
      o->progress = discover_progress;
      o->progress_data = &a->progress_shown;
    }
  if (a->time_text
      && !cli_parse_double ("--time-limit", a->time_text, 0, HUGE_VAL, &o->time_limit, error))
    return FALSE;
  if (a->lib_text)
    {
      if ((a->lib = cli_parse_lib (a->lib_text, &o->n_lib, error)) == NULL)
        return FALSE;
      o->lib = a->lib;
    }
  if (a->widths_text)
    {
      a->widths = g_strsplit (a->widths_text, ";", -1);
      for (char **w = a->widths; *w; w++)
        if (!cli_check_width_numbers ("--widths", *w, error))
          return FALSE;
        else if (g_strstrip (*w)[0] == '\0')
          {
            g_set_error (error, CLI_ERROR, CLI_ERROR_USAGE,
                         "--widths: width %d is empty; write W;W…, e.g. \"2,1;2,5,1\"",
                         (int) (w - a->widths) + 1);
            return FALSE;
          }
      o->widths = (const char *const *) a->widths;
    }
  return TRUE;
}

/* The units of D's columns, from --units or the CSV header, into O when every column has
 * one. */
static gboolean
discover_units (DiscoverArgs       *a,
                const KanDataset   *d,
                KanDiscoverOptions *o,
                GError            **error)
{
  gboolean have = FALSE;

  a->in_dims = g_new0 (KanDim, d->n_in);
  if (d->n_out != 1)
    {
      g_set_error (error, CLI_ERROR, CLI_ERROR_USAGE,
                   "--units: discover takes one target column (got %d)", d->n_out);
      return FALSE;
    }
  if (!kan_units_for_dataset (d, a->units_text, a->in_dims, &a->out_dim, &have, error))
    {
      if (a->units_text)
        g_prefix_error (error, "--units: ");
      return FALSE;
    }
  if (!have && a->units_text)
    {
      g_set_error (error, CLI_ERROR, CLI_ERROR_USAGE,
                   "--units: every column needs a unit for dimensional analysis");
      return FALSE;
    }
  if (have)
    {
      o->in_dims = a->in_dims;
      o->out_dim = &a->out_dim;
    }
  return TRUE;
}

static void
discover_print_json (const KanDiscoverResult *r,
                     const KanDataset        *d,
                     const char              *out)
{
  const KanDiscoverCandidate *best = r->best;
  CliJson j;

  cli_json_begin_result (&j);
  cli_formula_json (&j, best->expr, d);
  cli_json_double (&j, "train_rmse", best->train_rmse);
  cli_json_double (&j, "test_rmse", best->test_rmse);
  cli_json_int (&j, "complexity", best->complexity);
  cli_json_bool (&j, "exact", r->exact);
  cli_json_bool (&j, "within_noise", r->within_noise);
  cli_json_double (&j, "noise", r->noise);
  constants_json (&j, best, d);
  cli_json_string (&j, "width", best->width);
  cli_json_int (&j, "seed", (gint64) best->seed);
  cli_json_string (&j, "lock", best->lock);
  cli_json_int (&j, "candidates", r->n_candidates);
  cli_json_bool (&j, "stopped", r->stopped);
  cli_json_double (&j, "seconds", r->seconds);
  cli_json_begin_array (&j, "stages");
  for (guint q = 0; q < r->stages->len; q++)
    {
      const KanDiscoverStage *st = r->stages->pdata[q];
      cli_json_begin_object (&j, NULL);
      cli_json_string (&j, "stage", st->stage);
      cli_json_string (&j, "width", st->width);
      cli_json_int (&j, "seed", (gint64) st->seed);
      cli_json_string (&j, "detail", st->detail);
      cli_json_double (&j, "train_rmse", st->train_rmse);
      cli_json_double (&j, "test_rmse", st->test_rmse);
      cli_json_double (&j, "seconds", st->seconds);
      cli_json_end_object (&j);
    }
  cli_json_end_array (&j);
  cli_json_begin_array (&j, "pareto");
  for (guint q = 0; q < r->pareto->len; q++)
    {
      const KanDiscoverCandidate *p = r->pareto->pdata[q];
      cli_json_begin_object (&j, NULL);
      cli_json_string (&j, "formula", p->text);
      cli_json_int (&j, "complexity", p->complexity);
      cli_json_double (&j, "train_rmse", p->train_rmse);
      cli_json_double (&j, "test_rmse", p->test_rmse);
      cli_json_string (&j, "width", p->width);
      cli_json_bool (&j, "best", p == best);
      cli_json_end_object (&j);
    }
  cli_json_end_array (&j);
  cli_json_string (&j, "output", out);
  cli_json_end_object (&j);
  cli_print_json (&j);
}

static void
discover_print_text (const KanDiscoverResult *r,
                     const KanDataset        *d,
                     gboolean                 show_pareto)
{
  const KanDiscoverCandidate *best = r->best;
  char a[32], b[32], n[32];

  printf ("%s\n", best->text);
  if (best->fit && best->fit->n > 0)
    {
      g_autofree char *errs = kan_expr_to_string_with_errors (
        best->expr, best->fit, (const char *const *) d->in_names, KAN_EXPR_STYLE_TEXT);
      printf ("constants ± standard error: %s\n", errs);
    }
  printf ("%s: train RMSE %s, test RMSE %s, noise ≤ %s; width %s, seed %" G_GUINT64_FORMAT
          ", edges %s; %d formula%s in %.2f s\n",
          r->exact ? "exact" : r->within_noise ? "within noise" : "approximate",
          cli_fmt_sci (a, best->train_rmse), cli_fmt_sci (b, best->test_rmse),
          cli_fmt_sci (n, r->noise), best->width, best->seed, best->lock, r->n_candidates,
          r->n_candidates == 1 ? "" : "s", r->seconds);
  if (show_pareto)
    {
      printf ("\n%-10s  %-9s  %s\n", "complexity", "test RMSE", "formula");
      for (guint q = 0; q < r->pareto->len; q++)
        {
          const KanDiscoverCandidate *p = r->pareto->pdata[q];
          printf ("%10d  %-9s  %s%s\n", p->complexity, cli_fmt_sci (a, p->test_rmse),
                  p->text, p == best ? "   <- best" : "");
        }
    }
}

int
cli_cmd_discover (int argc, char **argv, GError **error)
{
  CliCommand c;
  CliDataOpts dopt = { 0 };
  DiscoverArgs args = { 0 }, *a = &args;
  GOptionEntry entries[] = {
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &a->out,
      "Save the final session: data and the locked network of the best formula", "OUT.kanvas" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &a->json, "Print the result as JSON", NULL },
    { "pareto", 0, 0, G_OPTION_ARG_NONE, &a->show_pareto,
      "Also print the alternatives, simplest to most accurate", NULL },
    { "widths", 0, 0, G_OPTION_ARG_FILENAME, &a->widths_text,
      "Candidate widths in order, separated by ';'", "W;W…" },
    { "lib", 0, 0, G_OPTION_ARG_FILENAME, &a->lib_text,
      "Library to lock edges to (default " KAN_DISCOVER_DEFAULT_LIB ")", "x,x^2,…" },
    { "seeds", 0, 0, G_OPTION_ARG_FILENAME, &a->seeds_text,
      "Model seeds per width, 1 … 1000 (default 4; one for one-layer widths)", "N" },
    { "seed", 0, 0, G_OPTION_ARG_FILENAME, &a->seed_text,
      "First model seed, 0 … " CLI_MAX_SEED_TEXT " − (seeds − 1) (default 1)", "N" },
    { "grid", 0, 0, G_OPTION_ARG_FILENAME, &a->grid_text,
      "Grid of the first fit, 1 … 1000 (default 5)", "G" },
    { "fine-grid", 0, 0, G_OPTION_ARG_FILENAME, &a->fine_text,
      "Grid after refining, 1 … 1000, or 0 for none (default 20)", "G" },
    { "units", 0, 0, G_OPTION_ARG_FILENAME, &a->units_text,
      "Units of the columns, e.g. m=kg,v=m/s,c=m/s,y=kg (or in the CSV header: \"v [m/s]\"); "
      "the search then works on dimensionless groups", "NAME=UNIT,…" },
    { "threads", 0, 0, G_OPTION_ARG_FILENAME, &a->threads_text,
      "Seeds trained side by side, 1 … 256 (default: one per processor; the result is the same)",
      "N" },
    { "time-limit", 0, 0, G_OPTION_ARG_FILENAME, &a->time_text,
      "Stop after this many seconds with the best formula so far (default: none)", "S" },
    { NULL }
  };
  g_autoptr (KanDataset) d = NULL;
  g_autoptr (KanDiscoverResult) r = NULL;
  g_autoptr (GCancellable) cancel = g_cancellable_new ();
  KanDiscoverOptions o;
  const KanDiscoverCandidate *best;
  CliInterrupt *ci;
  gboolean found, interrupted;
  int status = 1;

  cli_command_init (&c, "discover", "find a closed-form formula for data, end to end",
                    entries);
  cli_data_opts_add (&c, &dopt);
  g_option_context_set_description (c.ctx,
    "The manual session in one call. For each candidate width, simplest first — for n inputs\n"
    "n,1 (additive), n,1,1 (a function of a sum), n,[0,1],1 (a product), n,2,1, n,3,1, n,5,1 —\n"
    "and each seed:\n"
    "  fit       100 Levenberg–Marquardt steps at G=5 (widths with one hidden node);\n"
    "            wider ones: 50 L-BFGS steps with lamb=1e-3 to sparsify, then\n"
    "  prune     nodes ≤ 1e-2, edges ≤ 3e-2, and 100 LM steps (also for products);\n"
    "  refine    to G=20 and 100 LM steps;\n"
    "  symbolic  lock every edge under three rules — the simplest function fitting as well\n"
    "            as the best (1−R² within 10×), pykan's ranking, the best R² — each giving\n"
    "  retrain   100 LM steps on the locked network (a, b, c, d of every edge);\n"
    "  formula   compose, simplify, gather constants, snap (checked on the train rows).\n"
    "Every formula is a candidate (complexity = nodes of its tree, error = test RMSE). The\n"
    "search stops at the first exact one (test RMSE ≤ 1e-9·std(y)); the result is the\n"
    "simplest candidate within 2× of the most accurate. -o saves the data and the locked\n"
    "network of that formula.\n");
  if (!cli_command_parse_or_help (&c, &argc, &argv, &status, error))
    goto done;
  if (!cli_data_opts_given (&dopt))
    {
      g_set_error (error, CLI_ERROR, CLI_ERROR_USAGE, "discover needs --formula or --csv");
      goto done;
    }
  kan_discover_options_init (&o);
  if (!discover_options (a, &o, error))
    goto done;
  d = cli_data_from_opts (&dopt, error);
  if (d == NULL)
    goto done;
  if ((a->units_text || d->in_units || d->out_units) && !discover_units (a, d, &o, error))
    goto done;

  /* Ctrl-C and the time limit stop the search within a second with what it has found. */
  o.cancellable = cancel;
  ci = cli_interrupt_begin (cancel);
  found = kan_discover (d, &o, &r, error);
  interrupted = cli_interrupt_end (ci);
  /* Units that cannot be reduced are the option's fault. */
  if (!found && o.in_dims && g_error_matches (*error, KAN_ERROR, KAN_ERROR_INVALID))
    g_prefix_error (error, "--units: ");
  if (a->progress_shown)
    fputs ("\r\033[K", stderr);
  if (!found)
    {
      if (interrupted && g_error_matches (*error, KAN_ERROR, KAN_ERROR_CANCELLED))
        {
          fprintf (stderr, "kanvas-cli: %s\n", (*error)->message);
          g_clear_error (error);
          status = CLI_EXIT_INTERRUPTED;
        }
      goto done;
    }
  best = r->best;

  if (a->out && best->model == NULL)
    {
      g_set_error (error, CLI_ERROR, CLI_ERROR_USAGE,
                   "-o: %s was found by dimensional analysis alone; there is no network to save",
                   best->text);
      goto done;
    }
  if (a->out)
    {
      g_autoptr (KanSession) s = kan_ops_discover_session (r, d);
      if (!kan_session_save (s, a->out, error))
        goto done;
    }

  if (a->json)
    discover_print_json (r, d, a->out);
  else
    discover_print_text (r, d, a->show_pareto);
  if (r->stopped)
    fprintf (stderr, "stopped after %.1f s (%s): the best formula found so far\n", r->seconds,
             interrupted ? "Ctrl-C" : "time limit");
  status = r->stopped && interrupted ? CLI_EXIT_INTERRUPTED : 0;

done:
  discover_args_clear (a);
  cli_data_opts_clear (&dopt);
  cli_command_clear (&c);
  return status;
}
