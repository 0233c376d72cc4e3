/* cli-plot.c — "kanvas-cli plot": the network picture (or one edge's plot, or a classifier's
 * decision regions) of a session as PNG, SVG or PDF, drawn by the same Cairo code as the
 * workbench's canvas.
 */
#include "cli.h"
#include "kan-render.h"

#include <stdio.h>
#include <string.h>

#define PLOT_WIDTH       1200
#define PLOT_HEIGHT      900
#define EDGE_PLOT_WIDTH  800
#define EDGE_PLOT_HEIGHT 600
#define PLOT_MIN_SIZE    16
#define PLOT_MAX_SIZE    16384

int
cli_cmd_plot (int argc, char **argv, GError **error)
{
  CliCommand c;
  g_autofree char *in = NULL, *out = NULL, *beta_text = NULL, *width_text = NULL;
  g_autofree char *height_text = NULL, *edge_text = NULL;
  gboolean dark = FALSE, regions = FALSE;
  GOptionEntry entries[] = {
    { "input", 'i', 0, G_OPTION_ARG_FILENAME, &in, "The session to draw (required)",
      "S.kanvas" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &out,
      "The picture to write (required); .png, .svg or .pdf", "OUT.png" },
    { "beta", 0, 0, G_OPTION_ARG_STRING, &beta_text,
      "Edge opacity tanh(beta·score), 0 … 1e6 (default 3; 100 shows every edge)", "B" },
    { "width", 0, 0, G_OPTION_ARG_STRING, &width_text,
      "Width in pixels (points for SVG/PDF), " G_STRINGIFY (PLOT_MIN_SIZE) " … "
      G_STRINGIFY (PLOT_MAX_SIZE) " (default 1200, 800 with --edge)", "W" },
    { "height", 0, 0, G_OPTION_ARG_STRING, &height_text,
      "Height, " G_STRINGIFY (PLOT_MIN_SIZE) " … " G_STRINGIFY (PLOT_MAX_SIZE)
      " (default 900, 600 with --edge)", "H" },
    { "dark", 0, 0, G_OPTION_ARG_NONE, &dark, "Light text on a dark background", NULL },
    { "edge", 0, 0, G_OPTION_ARG_STRING, &edge_text,
      "Draw the large plot of edge (l,i,j) instead of the network", "l,i,j" },
    { "regions", 0, 0, G_OPTION_ARG_NONE, &regions,
      "Draw the decision regions of a classifier with two inputs, with the data on top", NULL },
    { NULL }
  };
  g_autoptr (KanSession) s = NULL;
  g_autoptr (KanSnapshot) snap = NULL;
  KanRenderStyle st;
  const KanDataset *d;
  gint64 w, h;
  double beta = 3.0;
  int edge[3] = { -1, -1, -1 };
  int status = 1;

  cli_command_init (&c, "plot", "draw a session's network (or one edge) to PNG, SVG or PDF",
                    entries);
  g_option_context_set_description (c.ctx,
    "Layers run bottom to top, as in pykan's plot. Every edge shows its activation over the\n"
    "inputs it sees in the session's training data, faded by its attribution score:\n"
    "spline edges in black, locked ones red, edges with both branches purple; pruned\n"
    "edges are not drawn. The file is written atomically.\n"
    "--regions draws the plane of a two-input classifier's inputs coloured by the predicted\n"
    "class (paler where it is unsure), the session's rows on top (train filled, test rings).\n");
  if (!cli_command_parse (&c, &argc, &argv, error))
    goto done;
  if (c.help)
    {
      status = 0;
      goto done;
    }
  if (!cli_require (in, "-i S.kanvas", error) || !cli_require (out, "-o OUT.png", error))
    goto done;
  if (regions && edge_text)
    {
      g_set_error (error, CLI_ERROR, CLI_ERROR_USAGE, "--regions and --edge draw different "
                   "pictures; give one");
      goto done;
    }
  if (beta_text && !cli_parse_double ("--beta", beta_text, 0, 1e6, &beta, error))
    goto done;
  w = edge_text ? EDGE_PLOT_WIDTH : PLOT_WIDTH;
  h = edge_text ? EDGE_PLOT_HEIGHT : PLOT_HEIGHT;
  if (width_text
      && !cli_parse_int ("--width", width_text, PLOT_MIN_SIZE, PLOT_MAX_SIZE, &w, error))
    goto done;
  if (height_text
      && !cli_parse_int ("--height", height_text, PLOT_MIN_SIZE, PLOT_MAX_SIZE, &h, error))
    goto done;

  s = cli_load_session (in, error);
  if (s == NULL || (edge_text && !cli_parse_edge (s->model, edge_text, edge, error)))
    goto done;
  /* Curves span what the edges see on the training rows; without fitting data they span the
   * grid, and names default to x1…, y1…. */
  d = s->data != NULL && s->data->n_in == kan_model_n_in (s->model) ? s->data : NULL;
  snap = kan_snapshot_new (s->model, d ? d->train_x : NULL, d ? d->n_train : 0,
                           d ? (const char *const *) d->in_names : NULL,
                           d && d->n_out == kan_model_n_out (s->model)
                           ? (const char *const *) d->out_names : NULL,
                           error);
  if (snap == NULL)
    goto done;

  if (dark)
    kan_render_style_dark (&st);
  else
    kan_render_style_init (&st);
  st.beta = beta;

  if (regions)
    {
      g_auto (GStrv) classes = kan_class_names (d, kan_model_n_out (s->model));
      if (!kan_render_regions_to_file (s->model, d, (const char *const *) classes, &st, out, w,
                                       h, error))
        goto done;
    }
  else if (edge_text)
    {
      if (!kan_render_edge_to_file (snap, edge[0], edge[1], edge[2], &st, out, w, h, error))
        goto done;
    }
  else if (!kan_render_to_file (snap, &st, out, w, h, error))
    goto done;
  printf ("wrote %s (%" G_GINT64_FORMAT " \xc3\x97 %" G_GINT64_FORMAT ")\n", out, w, h);
  status = 0;

done:
  cli_command_clear (&c);
  return status;
}
