/* cli-output.c — what kanvas-cli's commands print: metrics as text and JSON, numbers, and
 * text from files made safe for a terminal.
 */
#include "cli.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------------------------------ */
/* Metrics                                                                                     */

/* The share of the N rows whose largest output is the class label (CE), or NaN. */
static double
accuracy (const KanModel *m,
          KanLoss         loss,
          const double   *x,
          const double   *y,
          size_t          n)
{
  int O = kan_model_n_out (m);
  size_t hits = 0;
  double *out;

  if (n == 0 || loss != KAN_LOSS_CE)
    return NAN;
  out = g_new (double, n * O);
  kan_model_eval (m, x, n, out);
  for (size_t b = 0; b < n; b++)
    {
      int best = 0;
      for (int q = 1; q < O; q++)
        if (out[b * O + q] > out[b * O + best])
          best = q;
      hits += best == (int) y[b];
    }
  g_free (out);
  return (double) hits / n;
}

void
cli_metrics (const KanModel   *m,
             const KanDataset *d,
             KanLoss           loss,
             CliMetrics       *out)
{
  kan_ops_metrics (m, d, loss, &out->train, &out->test);
  out->train_acc = accuracy (m, loss, d->train_x, d->train_y, d->n_train);
  out->test_acc = accuracy (m, loss, d->test_x, d->test_y, d->n_test);
}

void
cli_metrics_recorded (const KanSession *s,
                      CliMetrics       *out)
{
  const KanHistoryEntry *e = g_ptr_array_index (s->history, s->history->len - 1);

  out->train = e->train_rmse;
  out->test = e->test_rmse;
  out->train_acc = out->test_acc = NAN;
  if (s->data && s->model)
    {
      out->train_acc = accuracy (s->model, s->train.loss, s->data->train_x, s->data->train_y,
                                 s->data->n_train);
      out->test_acc = accuracy (s->model, s->train.loss, s->data->test_x, s->data->test_y,
                                s->data->n_test);
    }
}

const char *
cli_fmt_sci (char  *buf,
             double v)
{
  if (isnan (v))
    return "n/a";
  snprintf (buf, 32, "%.2e", v);
  return buf;
}

char *
cli_shorten_words (const char *text)
{
  GString *s;
  const char *p = text;

  if (text == NULL)
    return NULL;
  s = g_string_new (NULL);
  while (*p != '\0')
    {
      gsize run = strcspn (p, " ");

      if (run > CLI_MAX_WORD_BYTES)
        {
          g_autofree char *word = g_strndup (p, run);
          g_autofree char *cut = kan_expr_excerpt (word, 0);
          g_string_append (s, cut);
        }
      else
        g_string_append_len (s, p, run);
      p += run;
      if (*p == ' ')
        g_string_append_c (s, *p++);
    }
  return g_string_free (s, FALSE);
}

char *
cli_term_escape (const char *text)
{
  GString *s;

  if (text == NULL)
    return NULL;
  s = g_string_new (NULL);
  kan_json_escape_append (s, text, KAN_ESCAPE_TERMINAL);
  return g_string_free (s, FALSE);
}

/* "train RMSE 2.63e-03, test RMSE 2.98e-03", or cross-entropy with accuracy. */
char *
cli_metrics_text (const CliMetrics *mt,
                  KanLoss           loss)
{
  char a[32], b[32];

  if (loss == KAN_LOSS_CE)
    return g_strdup_printf ("train cross-entropy %s (accuracy %.1f%%), "
                            "test cross-entropy %s (accuracy %.1f%%)",
                            cli_fmt_sci (a, mt->train * mt->train), 100 * mt->train_acc,
                            cli_fmt_sci (b, mt->test * mt->test), 100 * mt->test_acc);
  return g_strdup_printf ("train RMSE %s, test RMSE %s", cli_fmt_sci (a, mt->train),
                          cli_fmt_sci (b, mt->test));
}

void
cli_metrics_json (CliJson          *j,
                  const CliMetrics *mt,
                  KanLoss           loss,
                  const char       *prefix)
{
  g_autofree char *k1 = g_strconcat (prefix, "train_rmse", NULL);
  g_autofree char *k2 = g_strconcat (prefix, "test_rmse", NULL);

  cli_json_double (j, k1, mt->train);
  cli_json_double (j, k2, mt->test);
  if (loss == KAN_LOSS_CE)
    {
      g_autofree char *k3 = g_strconcat (prefix, "train_accuracy", NULL);
      g_autofree char *k4 = g_strconcat (prefix, "test_accuracy", NULL);
      cli_json_double (j, k3, mt->train_acc);
      cli_json_double (j, k4, mt->test_acc);
    }
}

void
cli_print_json (CliJson *j)
{
  g_autofree char *text = cli_json_finish (j);
  fputs (text, stdout);
}
