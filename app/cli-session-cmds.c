/* cli-session-cmds.c — the kanvas-cli commands that read a saved network and work it towards
 * a formula:
 *
 *   scores   -i S [--json]                               attribution of edges, nodes, inputs
 *   prune    -i S [--node-th T] [--edge-th T] [--nodes L:I,I;…] [-n] [-o OUT] [--json]
 *   prune    -i S --inputs T [-o OUT] [--json]              weak inputs and their columns
 *   suggest  -i S --edge L,I,J [--lib …] [--top N] [--json]
 *   lock     -i S --edge L,I,J --fn NAME [-o OUT] [--json]
 *   unlock   -i S --edge L,I,J [-o OUT] [--json]
 *   symbolic -i S [--lib …] [--r2 R] [-o OUT] [--json]
 *   formula  -i S [--style …] [--no-snap] [--json]
 *
 * What each command that changes the model does, and the history entry it appends, belong to
 * kan-ops.c; these commands parse options and print results. Nothing is written unless the
 * command succeeded.
 */
#include "cli.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define COMMON_ENTRIES(what) \
  { "input", 'i', 0, G_OPTION_ARG_FILENAME, &in, what " (required)", "S.kanvas" }, \
  { "output", 'o', 0, G_OPTION_ARG_FILENAME, &out, "Save the session (atomically)", \
    "OUT.kanvas" }, \
  { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the result as JSON", NULL }

/* ------------------------------------------------------------------------------------------ */
/* Shared bits                                                                                 */

/* The session at IN, which must have a model and training rows that fit it. */
static KanSession *
load_with_data (const char *in, GError **error)
{
  KanSession *s;

  if (!cli_require (in, "-i S.kanvas", error))
    return NULL;
  s = cli_load_session (in, error);
  if (s == NULL)
    return NULL;
  if (s->data == NULL || s->data->n_train < 2)
    {
      g_set_error (error, CLI_ERROR, CLI_ERROR_FAILED,
                   "%s: this needs the session's training rows, and it has none", in);
      kan_session_free (s);
      return NULL;
    }
  if (!cli_check_fit (s->model, s->data, s->train.loss, error))
    {
      kan_session_free (s);
      return NULL;
    }
  return s;
}

static gboolean
save (const KanSession *s, const char *out, GError **error)
{
  return out == NULL || kan_session_save (s, out, error);
}

/* The metrics the operation just recorded into *MT, then S saved as save does. */
static gboolean
save_recorded (const KanSession *s,
               const char       *out,
               CliMetrics       *mt,
               GError          **error)
{
  cli_metrics_recorded (s, mt);
  return save (s, out, error);
}

/* c·f(a·x+b)+d of F written out exactly, simplified. */
static char *
fit_text (const KanSymFit *f)
{
  const double abcd[4] = { f->a, f->b, f->c, f->d };

  return kan_formula_edge_to_string (f->sym_id, abcd, 0);
}

/* Members "a", "b", "c", "d" of F and "fit", its fit_text. */
static void
fit_json (CliJson         *j,
          const KanSymFit *f)
{
  g_autofree char *t = fit_text (f);

  cli_json_double (j, "a", f->a);
  cli_json_double (j, "b", f->b);
  cli_json_double (j, "c", f->c);
  cli_json_double (j, "d", f->d);
  cli_json_string (j, "fit", t);
}

/* ------------------------------------------------------------------------------------------ */
/* scores                                                                                      */

int
cli_cmd_scores (int argc, char **argv, GError **error)
{
  CliCommand c;
  g_autofree char *in = NULL, *out = NULL;
  gboolean json = FALSE;
  GOptionEntry entries[] = { COMMON_ENTRIES ("The session to score"), { NULL } };
  g_autoptr (KanSession) s = NULL;
  g_autoptr (KanScores) sc = NULL;
  const KanModel *m;
  int status = 1;

  cli_command_init (&c, "scores", "attribution scores of edges, nodes and inputs", entries);
  g_option_context_set_description (c.ctx,
    "Computes pykan's attribution scores (KAN 2.0) on the session's training inputs: each\n"
    "edge's share of the node it feeds, propagated back from the output. Edges scoring at\n"
    "most 3e-2 and hidden nodes at most 1e-2 are what `prune` removes by default.\n");
  if (!cli_command_parse_or_help (&c, &argc, &argv, &status, error))
    goto done;
  s = load_with_data (in, error);
  if (s == NULL)
    goto done;
  m = s->model;
  sc = kan_scores_compute (m, s->data->train_x, s->data->n_train, error);
  if (sc == NULL || !save (s, out, error))
    goto done;

  if (json)
    {
      CliJson j;
      cli_json_begin_result (&j);
      cli_json_begin_array (&j, "inputs");
      for (int i = 0; i < kan_model_n_in (m); i++)
        {
          cli_json_begin_object (&j, NULL);
          cli_json_string (&j, "name", s->data->in_names[i]);
          cli_json_double (&j, "score", kan_scores_inputs (sc)[i]);
          cli_json_end_object (&j);
        }
      cli_json_end_array (&j);
      cli_json_begin_array (&j, "nodes");
      for (int l = 0; l <= kan_scores_depth (sc); l++)
        {
          cli_json_begin_array (&j, NULL);
          for (int i = 0; i < kan_scores_width (sc, l); i++)
            cli_json_double (&j, NULL, kan_scores_node (sc, l)[i]);
          cli_json_end_array (&j);
        }
      cli_json_end_array (&j);
      cli_json_begin_array (&j, "edges");
      for (int l = 0; l < kan_model_depth (m); l++)
        for (int i = 0; i < kan_model_layer_in (m, l); i++)
          for (int o = 0; o < kan_model_layer_out (m, l); o++)
            {
              cli_json_begin_object (&j, NULL);
              cli_json_int (&j, "l", l);
              cli_json_int (&j, "i", i);
              cli_json_int (&j, "j", o);
              cli_json_double (&j, "score",
                               kan_scores_edge (sc, l)[i * kan_model_layer_out (m, l) + o]);
              cli_json_string (&j, "mode",
                               kan_edge_mode_name (kan_model_edge_mode (m, l, i, o)));
              cli_json_end_object (&j);
            }
      cli_json_end_array (&j);
      cli_json_end_object (&j);
      cli_print_json (&j);
    }
  else
    {
      printf ("inputs:\n");
      for (int i = 0; i < kan_model_n_in (m); i++)
        printf ("  %-12s %.4g\n", s->data->in_names[i], kan_scores_inputs (sc)[i]);
      printf ("nodes (layer: scores):\n");
      for (int l = 0; l <= kan_scores_depth (sc); l++)
        {
          printf ("  %d:", l);
          for (int i = 0; i < kan_scores_width (sc, l); i++)
            printf (" %.4g", kan_scores_node (sc, l)[i]);
          putchar ('\n');
        }
      printf ("edges:\n  %-10s %-10s %s\n", "(l,i,j)", "score", "state");
      for (int l = 0; l < kan_model_depth (m); l++)
        for (int i = 0; i < kan_model_layer_in (m, l); i++)
          for (int o = 0; o < kan_model_layer_out (m, l); o++)
            {
              g_autofree char *e = g_strdup_printf ("(%d,%d,%d)", l, i, o);
              printf ("  %-10s %-10.4g %s\n", e,
                      kan_scores_edge (sc, l)[i * kan_model_layer_out (m, l) + o],
                      kan_edge_mode_name (kan_model_edge_mode (m, l, i, o)));
            }
    }
  status = 0;

done:
  cli_command_clear (&c);
  return status;
}

/* ------------------------------------------------------------------------------------------ */
/* prune                                                                                       */

static void
keep_free (int **keep, int depth)
{
  if (keep)
    for (int l = 0; l < depth; l++)
      g_free (keep[l]);
  g_free (keep);
}

/* "1:0,2;2:1" into KEEP lists for hidden layers 1 … depth-1 (each ends with -1). */
static int **
parse_nodes (const KanModel *m, const char *text, GError **error)
{
  int depth = kan_model_depth (m);
  int **keep = g_new0 (int *, MAX (depth, 1));
  g_auto (GStrv) groups = g_strsplit (text, ";", -1);

  for (char **g = groups; *g; g++)
    {
      g_auto (GStrv) lr = g_strsplit (*g, ":", 2);
      g_auto (GStrv) ids = NULL;
      gint64 l, v;
      int n = 0;

      if (g_strv_length (lr) != 2)
        goto bad;
      if (!cli_parse_int ("--nodes", g_strstrip (lr[0]), 1, MAX (depth - 1, 1), &l, error))
        goto fail;
      if (l >= depth)
        {
          g_set_error (error, CLI_ERROR, CLI_ERROR_USAGE,
                       "--nodes: this network has no hidden layer %s", lr[0]);
          goto fail;
        }
      if (keep[l - 1] != NULL)
        {
          g_set_error (error, CLI_ERROR, CLI_ERROR_USAGE, "--nodes: layer %d given twice",
                       (int) l);
          goto fail;
        }
      ids = g_strsplit (lr[1], ",", -1);
      keep[l - 1] = g_new (int, g_strv_length (ids) + 1);
      for (char **id = ids; *id; id++)
        {
          int width = kan_shape_nodes (kan_model_shape (m), (int) l);
          if (!cli_parse_int ("--nodes", g_strstrip (*id), 0, width - 1, &v, error))
            goto fail;
          keep[l - 1][n++] = (int) v;
        }
      keep[l - 1][n] = -1;
    }
  return keep;

bad:
  g_set_error (error, CLI_ERROR, CLI_ERROR_USAGE,
               "--nodes: '%s' is not a list of LAYER:I,I;LAYER:I", text);
fail:
  keep_free (keep, depth);
  return NULL;
}

/* prune --inputs: removes the inputs scoring at most TH (kan_ops_prune_inputs), prints them. */
static gboolean
prune_inputs (KanSession  *s,
              double       th,
              const char  *out,
              gboolean     json,
              GError     **error)
{
  g_auto (GStrv) before = g_strdupv (s->data->in_names);
  g_autoptr (GString) gone = g_string_new (NULL);
  g_autofree char *kept = NULL;
  int n = kan_ops_prune_inputs (s, th, error);
  CliMetrics mt;

  if (n < 0 || !save_recorded (s, out, &mt, error))
    return FALSE;
  for (int i = 0; before && before[i]; i++)
    if (!g_strv_contains ((const char *const *) s->data->in_names, before[i]))
      g_string_append_printf (gone, "%s%s", gone->len ? "," : "", before[i]);
  kept = g_strjoinv (",", s->data->in_names);
  if (json)
    {
      CliJson j;
      cli_json_begin_result (&j);
      cli_json_int (&j, "inputs_removed", n);
      cli_json_string (&j, "removed", gone->str);
      cli_json_string (&j, "kept", kept);
      cli_print_result_json (&j, NULL, &mt, s->train.loss, out);
    }
  else
    {
      g_autofree char *t = cli_metrics_text (&mt, s->train.loss);
      printf ("removed %d input%s%s%s\nkept %s\n%s\n", n, n == 1 ? "" : "s", n ? ": " : "",
              gone->str, kept, t);
    }
  return TRUE;
}

int
cli_cmd_prune (int argc, char **argv, GError **error)
{
  CliCommand c;
  g_autofree char *in = NULL, *out = NULL, *node_th_text = NULL, *edge_th_text = NULL;
  g_autofree char *nodes_text = NULL, *inputs_text = NULL;
  gboolean json = FALSE, dry_run = FALSE;
  GOptionEntry entries[] = {
    COMMON_ENTRIES ("The session to prune"),
    { "node-th", 0, 0, G_OPTION_ARG_FILENAME, &node_th_text,
      "Remove hidden nodes scoring at most T, ≥ 0 (default 1e-2)", "T" },
    { "edge-th", 0, 0, G_OPTION_ARG_FILENAME, &edge_th_text,
      "Then turn off edges scoring at most T, ≥ 0 (default 3e-2)", "T" },
    { "nodes", 0, 0, G_OPTION_ARG_FILENAME, &nodes_text,
      "Keep exactly these hidden nodes in the layers listed (others by --node-th)",
      "L:I,I;L:I" },
    { "inputs", 0, 0, G_OPTION_ARG_FILENAME, &inputs_text,
      "Instead: remove the inputs (and their data columns) scoring at most T, ≥ 0 (pykan's "
      "1e-2)", "T" },
    { "dry-run", 'n', 0, G_OPTION_ARG_NONE, &dry_run,
      "Only print what would be removed (the preview); change and save nothing", NULL },
    { NULL }
  };
  g_autoptr (KanSession) s = NULL;
  g_autoptr (KanOpsPrunePlan) plan = NULL;
  g_autofree char *nodes = NULL, *edges = NULL;
  int **keep = NULL, depth = 0, n_nodes, n_edges;
  double node_th = KAN_OPS_NODE_THRESHOLD, edge_th = KAN_OPS_EDGE_THRESHOLD;
  CliMetrics mt, before;
  int status = 1;

  cli_command_init (&c, "prune", "remove weak hidden nodes, then weak edges", entries);
  g_option_context_set_description (c.ctx,
    "pykan's prune(): attribution scores on the training inputs; hidden nodes scoring at most\n"
    "--node-th go (a layer keeps at least its best node), then edges of the smaller network\n"
    "scoring at most --edge-th are turned off. Prints what was removed; --dry-run prints the\n"
    "same without changing anything.\n");
  if (!cli_command_parse_or_help (&c, &argc, &argv, &status, error))
    goto done;
  if ((node_th_text && !cli_parse_double ("--node-th", node_th_text, 0, HUGE_VAL, &node_th,
                                          error))
      || (edge_th_text && !cli_parse_double ("--edge-th", edge_th_text, 0, HUGE_VAL, &edge_th,
                                             error)))
    goto done;
  if (dry_run && out)
    {
      g_set_error (error, CLI_ERROR, CLI_ERROR_USAGE, "--dry-run saves nothing; leave out -o");
      goto done;
    }
  s = load_with_data (in, error);
  if (s == NULL)
    goto done;
  if (inputs_text)
    {
      double th;
      if (dry_run || node_th_text || edge_th_text || nodes_text)
        g_set_error (error, CLI_ERROR, CLI_ERROR_USAGE,
                     "--inputs prunes inputs alone; leave out --node-th, --edge-th, --nodes "
                     "and --dry-run");
      else if (cli_parse_double ("--inputs", inputs_text, 0, HUGE_VAL, &th, error)
               && prune_inputs (s, th, out, json, error))
        status = 0;
      goto done;
    }
  depth = kan_model_depth (s->model);
  if (nodes_text && (keep = parse_nodes (s->model, nodes_text, error)) == NULL)
    goto done;

  plan = kan_ops_prune_preview (s, node_th, edge_th, (const int *const *) keep, error);
  if (plan == NULL)
    goto done;
  nodes = kan_ops_prune_plan_nodes_text (plan);
  edges = kan_ops_prune_plan_edges_text (plan);
  n_nodes = (int) plan->nodes->len;
  n_edges = (int) plan->edges->len;
  before = (CliMetrics) { plan->train_before, plan->test_before, NAN, NAN };
  if (dry_run)
    cli_metrics (plan->model, s->data, s->train.loss, &mt);
  else
    {
      kan_ops_prune_apply (s, plan);
      if (!save_recorded (s, out, &mt, error))
        goto done;
    }

  if (json)
    {
      CliJson j;
      cli_json_begin_result (&j);
      cli_json_bool (&j, "dry_run", dry_run);
      cli_json_string (&j, "width_before", plan->width_before);
      cli_json_string (&j, "width", plan->width_after);
      cli_json_int (&j, "nodes_removed", n_nodes);
      cli_json_string (&j, "nodes", nodes);
      cli_json_int (&j, "edges_removed", n_edges);
      cli_json_string (&j, "edges", edges);
      cli_print_result_json (&j, &before, &mt, s->train.loss, out);
    }
  else
    {
      g_autofree char *t = cli_metrics_text (&mt, s->train.loss);
      printf ("width %s -> %s\n", plan->width_before, plan->width_after);
      printf ("%s %d hidden node%s%s%s\n", dry_run ? "would remove" : "removed", n_nodes,
              n_nodes == 1 ? "" : "s", n_nodes ? ": " : "", nodes);
      printf ("%s %d edge%s%s%s (numbered in the pruned network)\n",
              dry_run ? "would turn off" : "turned off", n_edges, n_edges == 1 ? "" : "s",
              n_edges ? ": " : "", edges);
      printf ("%s%s\n", t, dry_run ? " (dry run: nothing was changed)" : "");
    }
  status = 0;

done:
  keep_free (keep, depth);
  cli_command_clear (&c);
  return status;
}

/* ------------------------------------------------------------------------------------------ */
/* suggest                                                                                     */

int
cli_cmd_suggest (int argc, char **argv, GError **error)
{
  CliCommand c;
  g_autofree char *in = NULL, *out = NULL, *edge_text = NULL, *lib_text = NULL;
  g_autofree char *top_text = NULL;
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    COMMON_ENTRIES ("The session"),
    { "edge", 0, 0, G_OPTION_ARG_FILENAME, &edge_text, "The edge (required)", "L,I,J" },
    { "lib", 0, 0, G_OPTION_ARG_FILENAME, &lib_text,
      "Library functions to try (default: all)", "x,x^2,exp,sin" },
    { "top", 0, 0, G_OPTION_ARG_FILENAME, &top_text, "Show the best N, 1 … 1000 (default 5)",
      "N" },
    { NULL }
  };
  g_autoptr (KanSession) s = NULL;
  g_autofree int *lib = NULL;
  g_autofree KanSymFit *fits = NULL;
  int e[3], n_lib = 0, n_fits = 0, status = 1;
  gint64 top = 5;

  cli_command_init (&c, "suggest", "rank library functions for one edge", entries);
  g_option_context_set_description (c.ctx,
    "Fits c·f(a·x+b)+d for every library function to what the edge computes on the training\n"
    "inputs and ranks them as pykan does: score = 0.8·complexity + 0.2·log2(1+1e-5−R²),\n"
    "lower is better. Lock the one you like with `lock --edge L,I,J --fn NAME`.\n");
  if (!cli_command_parse_or_help (&c, &argc, &argv, &status, error))
    goto done;
  if (top_text && !cli_parse_int ("--top", top_text, 1, 1000, &top, error))
    goto done;
  if (lib_text && (lib = cli_parse_lib (lib_text, &n_lib, error)) == NULL)
    goto done;
  s = load_with_data (in, error);
  if (s == NULL || !cli_parse_edge (s->model, edge_text, e, error))
    goto done;
  if (kan_model_edge_mode (s->model, e[0], e[1], e[2]) == KAN_EDGE_OFF)
    {
      g_set_error (error, CLI_ERROR, CLI_ERROR_FAILED,
                   "edge (%d,%d,%d) is pruned; there is nothing to fit", e[0], e[1], e[2]);
      goto done;
    }
  fits = kan_model_suggest (s->model, s->data->train_x, s->data->n_train, e[0], e[1], e[2],
                            lib, n_lib, NULL, &n_fits, error);
  if (fits == NULL || !save (s, out, error))
    goto done;
  n_fits = MIN (n_fits, (int) top);

  if (json)
    {
      CliJson j;
      cli_json_begin_result (&j);
      cli_json_string (&j, "edge", edge_text);
      cli_json_begin_array (&j, "suggestions");
      for (int q = 0; q < n_fits; q++)
        {
          cli_json_begin_object (&j, NULL);
          cli_json_string (&j, "name", kan_sym_info (fits[q].sym_id)->name);
          cli_json_double (&j, "r2", fits[q].r2);
          cli_json_int (&j, "complexity", fits[q].complexity);
          cli_json_double (&j, "score", fits[q].score);
          fit_json (&j, &fits[q]);
          cli_json_end_object (&j);
        }
      cli_json_end_array (&j);
      cli_json_end_object (&j);
      cli_print_json (&j);
    }
  else
    {
      printf ("%-3s %-10s %-14s %-10s %-9s %s\n", "#", "function", "R²", "complexity", "score",
              "c·f(a·x+b)+d");
      for (int q = 0; q < n_fits; q++)
        {
          g_autofree char *t = fit_text (&fits[q]);
          printf ("%-3d %-10s %-13.10f %-10d %-9.4f %s\n", q + 1,
                  kan_sym_info (fits[q].sym_id)->name, fits[q].r2, fits[q].complexity,
                  fits[q].score, t);
        }
    }
  status = 0;

done:
  cli_command_clear (&c);
  return status;
}

/* ------------------------------------------------------------------------------------------ */
/* lock, unlock                                                                                */

static int
lock_or_unlock (gboolean lock, int argc, char **argv, GError **error)
{
  CliCommand c;
  g_autofree char *in = NULL, *out = NULL, *edge_text = NULL, *fn = NULL;
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    COMMON_ENTRIES ("The session"),
    { "edge", 0, 0, G_OPTION_ARG_FILENAME, &edge_text, "The edge (required)", "L,I,J" },
    { "fn", 0, 0, G_OPTION_ARG_FILENAME, &fn, "Library function, e.g. sin (required)", "NAME" },
    { NULL }
  };
  g_autoptr (KanSession) s = NULL;
  g_autofree char *text = NULL;
  KanSymFit fit = { 0 };
  CliMetrics mt;
  int e[3], status = 1;

  if (!lock)
    entries[4] = entries[5];  /* unlock has no --fn */
  cli_command_init (&c, lock ? "lock" : "unlock",
                    lock ? "lock one edge to a library function"
                         : "return a locked edge to its spline", entries);
  g_option_context_set_description (c.ctx, lock
    ? "Fits c·f(a·x+b)+d for NAME to what the edge computes on the training inputs and\n"
      "switches the edge to it (its spline is kept, unused, for `unlock`). See `suggest`.\n"
    : "Switches a locked edge back to the spline it had when it was locked.\n");
  if (!cli_command_parse_or_help (&c, &argc, &argv, &status, error))
    goto done;
  if (lock && !cli_require (fn, "--fn NAME", error))
    goto done;
  if (lock && kan_sym_lookup (fn) < 0)
    {
      g_autoptr (GError) local = NULL;
      int n;
      g_free (kan_sym_parse_lib (fn, &n, &local));
      /* A list that parses ("sin,", "x,exp") is still not one function. */
      if (local != NULL)
        g_set_error (error, CLI_ERROR, CLI_ERROR_USAGE, "--fn: %s", local->message);
      else
        g_set_error (error, CLI_ERROR, CLI_ERROR_USAGE,
                     "--fn: '%s' is not one library function; give one name, e.g. sin", fn);
      goto done;
    }
  s = lock ? load_with_data (in, error)
           : (cli_require (in, "-i S.kanvas", error) ? cli_load_session (in, error) : NULL);
  if (s == NULL || !cli_parse_edge (s->model, edge_text, e, error))
    goto done;
  if (lock)
    {
      if (!kan_ops_lock (s, e[0], e[1], e[2], fn, &fit, error))
        goto done;
      text = fit_text (&fit);
    }
  else if (!kan_ops_unlock (s, e[0], e[1], e[2], error))
    goto done;
  if (!save_recorded (s, out, &mt, error))
    goto done;

  if (json)
    {
      CliJson j;
      cli_json_begin_result (&j);
      cli_json_string (&j, "edge", edge_text);
      if (lock)
        {
          cli_json_string (&j, "fn", fn);
          cli_json_double (&j, "r2", fit.r2);
          fit_json (&j, &fit);
        }
      cli_print_result_json (&j, NULL, &mt, s->train.loss, out);
    }
  else
    {
      g_autofree char *t = s->data ? cli_metrics_text (&mt, s->train.loss) : g_strdup ("");
      if (lock)
        printf ("edge (%d,%d,%d) locked to %s: %s (R² %.10f)\n", e[0], e[1], e[2], fn, text,
                fit.r2);
      else
        printf ("edge (%d,%d,%d) is a spline again\n", e[0], e[1], e[2]);
      if (*t)
        printf ("%s\n", t);
    }
  status = 0;

done:
  cli_command_clear (&c);
  return status;
}

int
cli_cmd_lock (int argc, char **argv, GError **error)
{
  return lock_or_unlock (TRUE, argc, argv, error);
}

int
cli_cmd_unlock (int argc, char **argv, GError **error)
{
  return lock_or_unlock (FALSE, argc, argv, error);
}

/* ------------------------------------------------------------------------------------------ */
/* symbolic                                                                                    */

int
cli_cmd_symbolic (int argc, char **argv, GError **error)
{
  CliCommand c;
  g_autofree char *in = NULL, *out = NULL, *lib_text = NULL, *r2_text = NULL;
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    COMMON_ENTRIES ("The session"),
    { "lib", 0, 0, G_OPTION_ARG_FILENAME, &lib_text,
      "Library functions to choose from (default: all)", "x,x^2,exp,sin" },
    { "r2", 0, 0, G_OPTION_ARG_FILENAME, &r2_text,
      "Leave an edge a spline if its best fit has R² below R, ≤ 1 (default 0.99; 0 locks every edge as pykan does)", "R" },
    { NULL }
  };
  g_autoptr (KanSession) s = NULL;
  g_autoptr (KanOpsSymbolicReport) report = NULL;
  g_autofree int *lib = NULL;
  double r2 = KAN_OPS_R2_THRESHOLD;
  int n_lib = 0, status = 1;
  CliMetrics mt;

  cli_command_init (&c, "symbolic", "lock every spline edge to its best library function",
                    entries);
  g_option_context_set_description (c.ctx,
    "pykan's auto_symbolic: layer by layer, each edge that is still a spline is locked to the\n"
    "best-ranked function of `suggest`, if its R² reaches --r2. Prints one line per edge.\n"
    "Train afterwards (`fit -i … --opt lm`) to tune the a, b, c, d of the locked edges.\n");
  if (!cli_command_parse_or_help (&c, &argc, &argv, &status, error))
    goto done;
  if (r2_text && !cli_parse_double ("--r2", r2_text, -HUGE_VAL, 1.0, &r2, error))
    goto done;
  if (lib_text && (lib = cli_parse_lib (lib_text, &n_lib, error)) == NULL)
    goto done;
  s = load_with_data (in, error);
  if (s == NULL)
    goto done;
  report = kan_ops_auto_symbolic (s, lib, n_lib, r2, error);
  if (report == NULL)
    goto done;
  if (!save_recorded (s, out, &mt, error))
    goto done;

  if (json)
    {
      CliJson j;
      cli_json_begin_result (&j);
      cli_json_int (&j, "locked", report->n_locked);
      cli_json_begin_array (&j, "log");
      for (guint q = 0; q < report->edges->len; q++)
        {
          g_autofree char *line =
            kan_ops_edge_report_text (&g_array_index (report->edges, KanOpsEdgeReport, q), r2);
          cli_json_string (&j, NULL, line);
        }
      cli_json_end_array (&j);
      cli_json_begin_array (&j, "edges");
      for (guint q = 0; q < report->edges->len; q++)
        {
          const KanOpsEdgeReport *e = &g_array_index (report->edges, KanOpsEdgeReport, q);
          static const char *const outcome[] = { "locked", "pruned", "already locked",
                                                 "r2 below threshold" };
          cli_json_begin_object (&j, NULL);
          cli_json_int (&j, "l", e->l);
          cli_json_int (&j, "i", e->i);
          cli_json_int (&j, "j", e->j);
          cli_json_bool (&j, "locked", e->outcome == KAN_OPS_EDGE_LOCKED);
          cli_json_string (&j, "outcome", outcome[e->outcome]);
          if (e->fit.sym_id >= 0)
            {
              cli_json_string (&j, "fn", kan_sym_info (e->fit.sym_id)->name);
              cli_json_double (&j, "r2", e->fit.r2);
            }
          cli_json_end_object (&j);
        }
      cli_json_end_array (&j);
      cli_print_result_json (&j, NULL, &mt, s->train.loss, out);
    }
  else
    {
      g_autofree char *t = cli_metrics_text (&mt, s->train.loss);
      for (guint q = 0; q < report->edges->len; q++)
        {
          g_autofree char *line =
            kan_ops_edge_report_text (&g_array_index (report->edges, KanOpsEdgeReport, q), r2);
          printf ("%s\n", line);
        }
      printf ("locked %d edge%s; %s\n", report->n_locked, report->n_locked == 1 ? "" : "s", t);
    }
  status = 0;

done:
  cli_command_clear (&c);
  return status;
}

/* ------------------------------------------------------------------------------------------ */
/* formula                                                                                     */

static const struct
{
  const char  *name;
  KanExprStyle style;
} styles[] = {
  { "text", KAN_EXPR_STYLE_TEXT },
  { "sympy", KAN_EXPR_STYLE_SYMPY },
  { "latex", KAN_EXPR_STYLE_LATEX },
  { "c", KAN_EXPR_STYLE_C },
  { "python", KAN_EXPR_STYLE_PYTHON },
};

/* The JSON members every formula result has: "formula" (text) and the other styles. */
void
cli_formula_json (CliJson          *j,
                  const KanExpr    *e,
                  const KanDataset *d)
{
  const char *const *names = (const char *const *) d->in_names;

  for (unsigned q = 0; q < G_N_ELEMENTS (styles); q++)
    {
      g_autofree char *t = kan_expr_to_string (e, names, styles[q].style);
      cli_json_string (j, q == 0 ? "formula" : styles[q].name, t);
    }
}

int
cli_cmd_formula (int argc, char **argv, GError **error)
{
  CliCommand c;
  g_autofree char *in = NULL, *out = NULL, *style_text = NULL;
  gboolean json = FALSE, no_snap = FALSE;
  GOptionEntry entries[] = {
    COMMON_ENTRIES ("The session"),
    { "style", 0, 0, G_OPTION_ARG_FILENAME, &style_text,
      "text, latex, sympy, c, python or all (default text)", "STYLE" },
    { "no-snap", 0, 0, G_OPTION_ARG_NONE, &no_snap,
      "Print the constants as fitted, not snapped to simple values", NULL },
    { NULL }
  };
  g_autoptr (KanSession) s = NULL;
  g_autoptr (KanExpr) e = NULL;
  int style = 0, status = 1;
  gboolean all = FALSE;

  cli_command_init (&c, "formula", "the closed-form formula of a fully locked network",
                    entries);
  g_option_context_set_description (c.ctx,
    "Composes the locked edges into one formula over the data's variable names, in the data's\n"
    "units; simplifies it; gathers constants that only the network's parametrisation splits\n"
    "(out of exp, roots and products); and snaps constants to integers, fractions p/q and\n"
    "multiples of pi (q ≤ 12) where that does not raise the train RMSE (beyond 1% of it or\n"
    "1e-9·std(y)). Fails, naming them, while edges are still splines. --json prints every\n"
    "style and the train and test RMSE of the printed formula on the session's data.\n");
  if (!cli_command_parse_or_help (&c, &argc, &argv, &status, error))
    goto done;
  if (style_text)
    {
      style = -1;
      all = strcmp (style_text, "all") == 0;
      for (unsigned q = 0; q < G_N_ELEMENTS (styles); q++)
        if (strcmp (style_text, styles[q].name) == 0)
          style = (int) q;
      if (style < 0 && !all)
        {
          g_set_error (error, CLI_ERROR, CLI_ERROR_USAGE,
                       "--style: unknown style '%s' (text, latex, sympy, c, python or all)",
                       style_text);
          goto done;
        }
    }
  s = load_with_data (in, error);
  if (s == NULL)
    goto done;
  if (s->data->n_out != 1)
    {
      g_set_error (error, CLI_ERROR, CLI_ERROR_FAILED,
                   "formula handles one output; this model has %d", s->data->n_out);
      goto done;
    }
  e = kan_ops_formula (s, !no_snap, NULL, error);
  if (e == NULL || !save (s, out, error))
    goto done;

  if (json)
    {
      CliJson j;
      cli_json_begin_result (&j);
      cli_formula_json (&j, e, s->data);
      cli_json_double (&j, "train_rmse", kan_discover_rmse (e, s->data, FALSE));
      cli_json_double (&j, "test_rmse", kan_discover_rmse (e, s->data, TRUE));
      cli_json_end_object (&j);
      cli_print_json (&j);
    }
  else
    for (unsigned q = 0; q < G_N_ELEMENTS (styles); q++)
      if (all || (int) q == style)
        {
          g_autofree char *t = kan_expr_to_string (e, (const char *const *) s->data->in_names,
                                                   styles[q].style);
          if (all)
            printf ("%-7s %s\n", styles[q].name, t);
          else
            printf ("%s\n", t);
        }
  status = 0;

done:
  cli_command_clear (&c);
  return status;
}

