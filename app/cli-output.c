/* cli-output.c — what kanvas-cli's commands print: metrics as text and JSON, numbers, and
 * text from files made safe for a terminal.
 */
#include "cli.h"
#include "kan-snapshot.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------------------------------ */
/* Metrics                                                                                     */

/* The train and test accuracies of M on D into OUT (kan_ops_accuracy: the workbench shows the
 * same numbers). */
static void
accuracies (const KanModel   *m,
            const KanDataset *d,
            KanLoss           loss,
            CliMetrics       *out)
{
  kan_ops_accuracy (m, d, loss, &out->train_acc, &out->test_acc);
}

void
cli_metrics (const KanModel   *m,
             const KanDataset *d,
             KanLoss           loss,
             CliMetrics       *out)
{
  kan_ops_metrics (m, d, loss, &out->train, &out->test);
  accuracies (m, d, loss, out);
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
    accuracies (s->model, s->data, s->train.loss, out);
}

/* Per class of a classifier: rows and rows whose largest output is the class, train and test. */
typedef struct
{
  int     n;
  char  **names;           /* kan_class_names */
  size_t *rows[2], *hits[2];
} ClassCounts;

static void
class_counts_clear (ClassCounts *c)
{
  g_strfreev (c->names);
  for (int p = 0; p < 2; p++)
    {
      g_free (c->rows[p]);
      g_free (c->hits[p]);
    }
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (ClassCounts, class_counts_clear)

static void
class_counts (const KanModel   *m,
              const KanDataset *d,
              ClassCounts      *c)
{
  int n_out = kan_model_n_out (m);

  c->n = MAX (n_out, kan_dataset_n_classes (d));
  c->names = kan_class_names (d, c->n);
  for (int p = 0; p < 2; p++)
    {
      size_t n = p == 0 ? d->n_train : d->n_test;
      const double *x = p == 0 ? d->train_x : d->test_x;
      const double *y = p == 0 ? d->train_y : d->test_y;
      g_autofree double *out = g_new (double, MAX (n, 1) * n_out);

      c->rows[p] = g_new0 (size_t, c->n);
      c->hits[p] = g_new0 (size_t, c->n);
      if (n > 0)
        kan_model_eval (m, x, n, out);
      for (size_t b = 0; b < n; b++)
        {
          int label = (int) y[b * d->n_out], best = 0;

          for (int q = 1; q < n_out; q++)
            best = out[b * n_out + q] > out[b * n_out + best] ? q : best;
          if (label < 0 || label >= c->n)
            continue;
          c->rows[p][label]++;
          c->hits[p][label] += best == label;
        }
    }
}

static double
share (size_t hits,
       size_t rows)
{
  return rows > 0 ? (double) hits / (double) rows : NAN;
}

void
cli_print_classes (const KanModel   *m,
                   const KanDataset *d)
{
  g_auto (ClassCounts) c = { 0 };

  class_counts (m, d, &c);
  for (int k = 0; k < c.n; k++)
    {
      g_autofree char *name = cli_term_escape (c.names[k]);
      char a[32], b[32];

      snprintf (a, sizeof a, "%.1f%%", 100 * share (c.hits[0][k], c.rows[0][k]));
      snprintf (b, sizeof b, "%.1f%%", 100 * share (c.hits[1][k], c.rows[1][k]));
      printf ("  class %s: train %s of %zu, test %s of %zu\n", name,
              c.rows[0][k] > 0 ? a : "n/a", c.rows[0][k], c.rows[1][k] > 0 ? b : "n/a",
              c.rows[1][k]);
    }
}

void
cli_classes_json (CliJson          *j,
                  const KanModel   *m,
                  const KanDataset *d)
{
  g_auto (ClassCounts) c = { 0 };

  class_counts (m, d, &c);
  cli_json_begin_array (j, "classes");
  for (int k = 0; k < c.n; k++)
    {
      cli_json_begin_object (j, NULL);
      cli_json_string (j, "name", c.names[k]);
      cli_json_int (j, "train_rows", (gint64) c.rows[0][k]);
      cli_json_double (j, "train_accuracy", share (c.hits[0][k], c.rows[0][k]));
      cli_json_int (j, "test_rows", (gint64) c.rows[1][k]);
      cli_json_double (j, "test_accuracy", share (c.hits[1][k], c.rows[1][k]));
      cli_json_end_object (j);
    }
  cli_json_end_array (j);
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

void
cli_print_result_json (CliJson          *j,
                       const CliMetrics *before,
                       const CliMetrics *after,
                       KanLoss           loss,
                       const char       *out)
{
  if (before != NULL)
    cli_metrics_json (j, before, loss, "before_");
  cli_metrics_json (j, after, loss, "");
  cli_json_string (j, "output", out);
  cli_json_end_object (j);
  cli_print_json (j);
}
