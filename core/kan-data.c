/* kan-data.c — data sets: sampled from a formula, read from a CSV file, or given as arrays.
 *
 * Every failure a user can cause is a GError naming where it happened: the formula position,
 * the first bad row and its inputs, or FILE:LINE:COL for CSV files.
 */
#include "kan-data.h"
#include "kan-file.h"
#include "kan-error.h"
#include "kan-units.h"
#include "kan-text-private.h"

#include <math.h>
#include <string.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

/* A data set may hold at most this many bytes of values. */
#define KAN_DATA_MAX_BYTES ((guint64) 4 << 30)
/* The largest CSV file read. Its text is in memory while its numbers are parsed (at most one per
 * two bytes, 8 bytes each), so 1 GiB of text keeps the reading within the 4 GiB budget. */
#define KAN_DATA_MAX_FILE_BYTES ((guint64) 1 << 30)
/* CSV lines longer than this are rejected (binary files often have none at all). */
#define KAN_CSV_MAX_LINE ((gsize) 1 << 20)

static const double default_range[2] = { -1.0, 1.0 };

void
kan_formula_spec_init (KanFormulaSpec *spec)
{
  g_return_if_fail (spec != NULL);

  memset (spec, 0, sizeof *spec);
  spec->ranges = default_range;
  spec->n_ranges = 1;
  spec->n_train = 1000;
  spec->n_test = 1000;
}

/* ------------------------------------------------------------------------------------------ */
/* Helpers                                                                                    */
/* ------------------------------------------------------------------------------------------ */

/* A generator seeded with SEED. GSL seeds MT19937 from 32 bits; the high half is folded in so
 * that seeds beyond 2³² still give different streams (seeds below 2³² are used as they are). */
static gsl_rng *
rng_new (guint64 seed)
{
  gsl_rng *r = gsl_rng_alloc (gsl_rng_mt19937);

  gsl_rng_set (r, (unsigned long) ((seed ^ (seed >> 32)) & 0xffffffffu));
  return r;
}

/* Fails with KAN_ERROR_BUDGET unless ROWS × COLS doubles fit the memory budget. */
static gboolean
check_budget (size_t   rows,
              size_t   cols,
              GError **error)
{
  if (cols != 0 && rows > KAN_DATA_MAX_BYTES / sizeof (double) / cols)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_BUDGET,
                   "%zu rows × %zu columns would need more than the 4 GiB memory budget",
                   rows, cols);
      return FALSE;
    }
  return TRUE;
}

/* Fails unless NAME can name a variable (kan_expr_name_problem), with a message that starts
 * with the quoted name and ends with a suggestion: "'a-1' is not an identifier (…), so it cannot
 * name a variable of a formula; rename it, e.g. to a_1". */
static gboolean
check_variable_name (const char  *name,
                     GError     **error)
{
  g_autofree char *problem = kan_expr_name_problem (name);
  g_autofree char *shown = NULL;
  g_autofree char *better = NULL;

  if (problem == NULL)
    return TRUE;
  shown = kan_expr_excerpt (name, 0);
  better = kan_expr_name_suggest (name);
  g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID,
               "'%s' %s, so it cannot name a variable of a formula; rename it%s%s", shown,
               problem, better ? ", e.g. to " : "", better ? better : "");
  return FALSE;
}

/* Fails unless every name of NAMES (N of them) can name a variable and no two print alike.
 * WHAT says where they come from, for messages ("variable"). */
static gboolean
check_variable_names (const char *const *names,
                      int                n,
                      const char        *what,
                      GError           **error)
{
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (int i = 0; i < n; i++)
    {
      char *key;
      gpointer also;

      if (!check_variable_name (names[i], error))
        {
          g_prefix_error (error, "%s %d ", what, i + 1);
          return FALSE;
        }
      key = kan_expr_name_key (names[i]);
      if (g_hash_table_lookup_extended (seen, key, NULL, &also))
        {
          int j = GPOINTER_TO_INT (also);

          if (strcmp (names[j], names[i]) == 0)
            g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID,
                         "%s %d '%s' is a duplicate: %s %d has the same name", what, i + 1,
                         names[i], what, j + 1);
          else
            g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID,
                         "%ss %d '%s' and %d '%s' would both print as %s in LaTeX; rename one",
                         what, j + 1, names[j], i + 1, names[i], key);
          g_free (key);
          return FALSE;
        }
      g_hash_table_insert (seen, key, GINT_TO_POINTER (i));
    }
  return TRUE;
}

static double *
dup_doubles (const double *src,
             size_t        n)
{
  if (src == NULL || n == 0)
    return NULL;
  return g_memdup2 (src, n * sizeof (double));
}

static char **
make_names (const char *const *names,
            int                n,
            const char        *prefix)
{
  char **out = g_new0 (char *, n + 1);

  for (int i = 0; i < n; i++)
    out[i] = names != NULL && names[i] != NULL ? g_strdup (names[i])
                                               : g_strdup_printf ("%s%d", prefix, i + 1);
  return out;
}

/* Mean and unbiased standard deviation of column COL of the N×STRIDE matrix X. */
static void
column_stats (const double *x,
              size_t        n,
              size_t        stride,
              size_t        col,
              double       *mean,
              double       *std)
{
  double m = 0.0, ss = 0.0;

  for (size_t r = 0; r < n; r++)
    m += x[r * stride + col];
  m /= (double) n;
  for (size_t r = 0; r < n; r++)
    {
      double d = x[r * stride + col] - m;
      ss += d * d;
    }
  *mean = m;
  *std = n > 1 ? sqrt (ss / (double) (n - 1)) : 0.0;
}

/* Z-scores the columns of train and test with the train statistics, into new arrays *MEAN and
 * *STD. Fails for a column whose train values do not vary. */
static gboolean
normalize_columns (double        *train,
                   size_t         n_train,
                   double        *test,
                   size_t         n_test,
                   int            cols,
                   char         **names,
                   double       **out_mean,
                   double       **out_std,
                   GError       **error)
{
  g_autofree double *mean = g_new (double, cols);
  g_autofree double *std = g_new (double, cols);

  if (n_train < 2)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_DATA,
                   "normalisation needs at least 2 train rows, there is %zu", n_train);
      return FALSE;
    }
  for (int c = 0; c < cols; c++)
    {
      column_stats (train, n_train, cols, c, &mean[c], &std[c]);
      if (!isfinite (mean[c]) || !isfinite (std[c]))
        {
          g_set_error (error, KAN_ERROR, KAN_ERROR_DATA,
                       "cannot normalise '%s': its train values are too large (their %s is not "
                       "a finite number)", names[c], isfinite (mean[c]) ? "spread" : "mean");
          return FALSE;
        }
      if (!(std[c] > 0.0))
        {
          g_set_error (error, KAN_ERROR, KAN_ERROR_DATA,
                       "cannot normalise '%s': its train values do not vary", names[c]);
          return FALSE;
        }
    }
  for (size_t r = 0; r < n_train; r++)
    for (int c = 0; c < cols; c++)
      train[r * cols + c] = (train[r * cols + c] - mean[c]) / std[c];
  for (size_t r = 0; r < n_test; r++)
    for (int c = 0; c < cols; c++)
      test[r * cols + c] = (test[r * cols + c] - mean[c]) / std[c];
  *out_mean = g_steal_pointer (&mean);
  *out_std = g_steal_pointer (&std);
  return TRUE;
}

static KanDataset *
dataset_alloc (KanDataSource source,
               int           n_in,
               int           n_out,
               size_t        n_train,
               size_t        n_test)
{
  KanDataset *d = g_new0 (KanDataset, 1);

  d->source = source;
  d->n_in = n_in;
  d->n_out = n_out;
  d->n_train = n_train;
  d->n_test = n_test;
  d->train_x = g_new0 (double, n_train * n_in);
  d->train_y = g_new0 (double, n_train * n_out);
  if (n_test > 0)
    {
      d->test_x = g_new0 (double, n_test * n_in);
      d->test_y = g_new0 (double, n_test * n_out);
    }
  return d;
}

/* ------------------------------------------------------------------------------------------ */
/* Formula data sets                                                                          */
/* ------------------------------------------------------------------------------------------ */

static char *
describe_inputs (char *const   *names,
                 const double  *x,
                 int            n)
{
  GString *s = g_string_new (NULL);

  for (int i = 0; i < n; i++)
    {
      char buf[G_ASCII_DTOSTR_BUF_SIZE];

      g_string_append_printf (s, "%s%s=%s", i > 0 ? ", " : "", names[i],
                              g_ascii_formatd (buf, sizeof buf, "%.6g", x[i]));
    }
  return g_string_free (s, FALSE);
}

/* Labels for N rows; fails at the first row where the formula is not finite. */
static gboolean
label_rows (const KanExpr  *e,
            const char     *formula,
            char *const    *names,
            const double   *x,
            size_t          n,
            int             n_in,
            const char     *part,
            double         *y,
            GError        **error)
{
  for (size_t r = 0; r < n; r++)
    {
      y[r] = kan_expr_eval (e, x + r * n_in);
      if (!isfinite (y[r]))
        {
          g_autofree char *inputs = describe_inputs (names, x + r * n_in, n_in);

          g_set_error (error, KAN_ERROR, KAN_ERROR_DATA,
                       "formula '%s' is not finite at %s (%s row %zu)", formula, inputs, part,
                       r + 1);
          return FALSE;
        }
    }
  return TRUE;
}

KanDataset *
kan_dataset_from_formula (const KanFormulaSpec *spec,
                          GError              **error)
{
  g_autoptr (KanExpr) e = NULL;
  g_auto (GStrv) names = NULL;
  g_autoptr (KanDataset) d = NULL;
  g_autofree char *shown = NULL;
  g_autoptr (GError) local = NULL;
  gsl_rng *rng;
  const double *ranges;
  int n_ranges, n_in;

  g_return_val_if_fail (spec != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (spec->formula == NULL)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID, "no formula was given");
      return NULL;
    }
  /* Messages quote at most KAN_EXPR_EXCERPT_CHARS characters of the formula. */
  shown = kan_expr_excerpt (spec->formula, 0);
  if (spec->vars != NULL)
    {
      int n_vars = (int) g_strv_length ((char **) spec->vars);

      if (n_vars == 0)
        {
          g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID,
                       "formula '%s': the list of variables is empty", shown);
          return NULL;
        }
      for (int i = 0; i < n_vars; i++)
        if (spec->vars[i][0] == '\0')
          {
            g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID,
                         "formula '%s': the list of variables has an empty name (variable %d)",
                         shown, i + 1);
            return NULL;
          }
      if (!check_variable_names (spec->vars, n_vars, "variable", error))
        {
          g_prefix_error (error, "formula '%s': ", shown);
          return NULL;
        }
    }
  e = kan_expr_parse (spec->formula, spec->vars, &names, &local);
  if (e == NULL)
    {
      g_autofree char *around = kan_expr_excerpt (spec->formula,
                                                  kan_expr_error_position (local));
      g_propagate_prefixed_error (error, g_steal_pointer (&local), "formula '%s': ", around);
      return NULL;
    }
  n_in = (int) g_strv_length (names);
  if (n_in == 0)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID,
                   "formula '%s' has no variables to sample", shown);
      return NULL;
    }
  /* Names found in the formula (no list given) must be usable too: lambda, E or int parse as
   * variables but print as something else. */
  if (spec->vars == NULL
      && !check_variable_names ((const char *const *) names, n_in, "variable", error))
    {
      g_prefix_error (error, "formula '%s': ", shown);
      return NULL;
    }

  ranges = spec->ranges != NULL && spec->n_ranges > 0 ? spec->ranges : default_range;
  n_ranges = spec->ranges != NULL && spec->n_ranges > 0 ? spec->n_ranges : 1;
  if (n_ranges != 1 && n_ranges != n_in)
    {
      g_autofree char *list = g_strjoinv (", ", names);
      g_autofree char *qlist = kan_expr_excerpt (list, 0);

      g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID,
                   "formula '%s' has %d variables (%s) but %d ranges were given; give one "
                   "range for all or one per variable", shown, n_in, qlist, n_ranges);
      return NULL;
    }
  for (int i = 0; i < n_ranges; i++)
    {
      double lo = ranges[2 * i], hi = ranges[2 * i + 1];

      if (!isfinite (lo) || !isfinite (hi) || !(lo < hi))
        {
          char a[G_ASCII_DTOSTR_BUF_SIZE], b[G_ASCII_DTOSTR_BUF_SIZE];

          g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID,
                       "the range [%s, %s] for %s is not a finite interval with lo < hi",
                       g_ascii_formatd (a, sizeof a, "%g", lo),
                       g_ascii_formatd (b, sizeof b, "%g", hi),
                       n_ranges == 1 ? "every variable" : names[i]);
          return NULL;
        }
      if (!isfinite (hi - lo))
        {
          char a[G_ASCII_DTOSTR_BUF_SIZE], b[G_ASCII_DTOSTR_BUF_SIZE];

          g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID,
                       "the range [%s, %s] for %s is too wide: its width hi − lo overflows a "
                       "double", g_ascii_formatd (a, sizeof a, "%g", lo),
                       g_ascii_formatd (b, sizeof b, "%g", hi),
                       n_ranges == 1 ? "every variable" : names[i]);
          return NULL;
        }
    }
  if (spec->n_train < 1)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID, "at least one train row is needed");
      return NULL;
    }
  if (!isfinite (spec->noise) || spec->noise < 0.0)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID,
                   "the noise level must be a finite number ≥ 0");
      return NULL;
    }
  if (spec->n_test > G_MAXSIZE - spec->n_train
      || !check_budget (spec->n_train + spec->n_test, (size_t) n_in + 1, error))
    {
      if (error != NULL && *error == NULL)
        g_set_error (error, KAN_ERROR, KAN_ERROR_BUDGET, "too many rows requested");
      return NULL;
    }

  d = dataset_alloc (KAN_DATA_FORMULA, n_in, 1, spec->n_train, spec->n_test);
  d->formula = g_strdup (spec->formula);
  d->noise = spec->noise;
  d->seed = spec->seed;
  d->ranges = g_new (double, 2 * n_in);
  for (int i = 0; i < n_in; i++)
    {
      d->ranges[2 * i] = ranges[n_ranges == 1 ? 0 : 2 * i];
      d->ranges[2 * i + 1] = ranges[n_ranges == 1 ? 1 : 2 * i + 1];
    }
  d->in_names = g_strdupv (names);
  d->out_names = g_new0 (char *, 2);
  d->out_names[0] = g_strdup ("y");

  /* pykan's order: variable by variable, its train column, then its test column. */
  rng = rng_new (spec->seed);
  for (int i = 0; i < n_in; i++)
    {
      double lo = d->ranges[2 * i], span = d->ranges[2 * i + 1] - lo;

      for (size_t r = 0; r < d->n_train; r++)
        d->train_x[r * n_in + i] = gsl_rng_uniform (rng) * span + lo;
      for (size_t r = 0; r < d->n_test; r++)
        d->test_x[r * n_in + i] = gsl_rng_uniform (rng) * span + lo;
    }

  if (!label_rows (e, shown, names, d->train_x, d->n_train, n_in, "train", d->train_y, error)
      || !label_rows (e, shown, names, d->test_x, d->n_test, n_in, "test", d->test_y, error))
    {
      gsl_rng_free (rng);
      return NULL;
    }

  if (spec->noise > 0.0)
    {
      double mean, std;

      column_stats (d->train_y, d->n_train, 1, 0, &mean, &std);
      for (size_t r = 0; r < d->n_train; r++)
        d->train_y[r] += gsl_ran_gaussian (rng, spec->noise * std);
      for (size_t r = 0; r < d->n_test; r++)
        d->test_y[r] += gsl_ran_gaussian (rng, spec->noise * std);
      /* Blame labels that overflow on the noise, not on what trains on them later. */
      for (int part = 0; part < 2; part++)
        for (size_t r = 0; r < (part == 0 ? d->n_train : d->n_test); r++)
          if (!isfinite ((part == 0 ? d->train_y : d->test_y)[r]))
            {
              g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID,
                           "the noise level %g is too large for these labels: with it, the %s "
                           "label of row %zu is not finite", spec->noise,
                           part == 0 ? "train" : "test", r + 1);
              gsl_rng_free (rng);
              return NULL;
            }
    }
  gsl_rng_free (rng);

  if (spec->normalize_input
      && !normalize_columns (d->train_x, d->n_train, d->test_x, d->n_test, n_in, d->in_names,
                             &d->in_mean, &d->in_std, error))
    return NULL;
  if (spec->normalize_label
      && !normalize_columns (d->train_y, d->n_train, d->test_y, d->n_test, 1, d->out_names,
                             &d->out_mean, &d->out_std, error))
    return NULL;

  return g_steal_pointer (&d);
}

/* ------------------------------------------------------------------------------------------ */
/* CSV files                                                                                  */
/* ------------------------------------------------------------------------------------------ */

/* The current record: one line, or several when a quoted field holds line breaks. */
typedef struct
{
  const char  *display;   /* the file name, for messages */
  const char  *line;      /* start of the current record */
  gsize        line_len;
  guint        line_no;   /* 1-based line where the record starts */
  guint        breaks;    /* line breaks inside the record (in quoted fields) */
} CsvReader;

/* The 1-based line and character column of P, a pointer into the current record. */
static void
csv_locate (const CsvReader *cr,
            const char      *p,
            guint           *line,
            long            *column)
{
  const char *start = cr->line;

  *line = cr->line_no;
  for (const char *q = cr->line; q < p; q++)
    if (*q == '\n' || (*q == '\r' && !(q + 1 < p && q[1] == '\n')))
      {
        (*line)++;
        start = q + 1;
      }
  *column = g_utf8_pointer_to_offset (start, p) + 1;
}

G_GNUC_PRINTF (5, 6)
static void
csv_error (const CsvReader  *cr,
           GError          **error,
           int               code,
           const char       *p,
           const char       *format,
           ...)
{
  va_list args;
  g_autofree char *msg = NULL;
  guint line = cr->line_no;
  long column = 1;

  va_start (args, format);
  msg = g_strdup_vprintf (format, args);
  va_end (args);
  if (p != NULL)
    csv_locate (cr, p, &line, &column);
  g_set_error (error, KAN_ERROR, code, "%s:%u:%ld: %s", cr->display, line, column, msg);
}

/* A quoted header name may span lines, as spreadsheets write a cell with line breaks; each
 * break, with the blanks around it, reads as one space ("total\ncost" is "total cost"). */
static void
join_lines (char *text)
{
  char *w = text;

  for (const char *r = text; *r != '\0';)
    {
      if (*r == '\n' || *r == '\r')
        {
          while (w > text && (w[-1] == ' ' || w[-1] == '\t'))
            w--;
          while (*r == '\n' || *r == '\r' || *r == ' ' || *r == '\t')
            r++;
          if (w > text && *r != '\0')
            *w++ = ' ';
        }
      else
        *w++ = *r++;
    }
  *w = '\0';
}

/* TEXT as quoted in messages (a field may be up to 1 MiB long). */
static char *
csv_quote (const char *text)
{
  return kan_expr_excerpt (text, 0);
}

/* What a line that is not comma-separated seems to be separated by ("tab-separated"), judged by
 * the characters between fields outside quotes; NULL if it looks like nothing else. */
static const char *
csv_guess_separator (const char *line,
                     gsize       len)
{
  static const struct { char c; const char *name; } seps[] = {
    { '\t', "tab-separated" }, { ';', "semicolon-separated" }, { '|', "pipe-separated" },
  };
  gsize count[G_N_ELEMENTS (seps)] = { 0 };
  gsize best = 0, spaces = 0;
  const char *name = NULL;
  gboolean quoted = FALSE;

  for (gsize i = 0; i < len; i++)
    {
      if (line[i] == '"')
        quoted = !quoted;
      if (quoted)
        continue;
      for (guint k = 0; k < G_N_ELEMENTS (seps); k++)
        count[k] += line[i] == seps[k].c;
      /* A blank between two other characters (not at either end). */
      spaces += line[i] == ' ' && i > 0 && line[i - 1] != ' ' && i + 1 < len && line[i + 1] != ' ';
    }
  for (guint k = 0; k < G_N_ELEMENTS (seps); k++)
    if (count[k] > best)
      {
        best = count[k];
        name = seps[k].name;
      }
  if (name == NULL && spaces > 0)
    name = "space-separated";
  return name;
}

typedef struct
{
  char       *text;    /* unquoted, trimmed */
  const char *start;   /* where the field starts in the line (for messages) */
  gboolean    quoted;
} CsvField;

static void
csv_field_clear (gpointer p)
{
  g_free (((CsvField *) p)->text);
}

static gboolean
is_blank (char c)
{
  return c == ' ' || c == '\t';
}

/* Splits the current line into FIELDS (cleared first). */
static gboolean
csv_split (const CsvReader  *cr,
           GArray           *fields,
           GError          **error)
{
  const char *p = cr->line, *end = cr->line + cr->line_len;

  g_array_set_size (fields, 0);
  for (;;)
    {
      CsvField f = { NULL, NULL, FALSE };

      while (p < end && is_blank (*p))
        p++;
      f.start = p;
      if (p < end && *p == '"')
        {
          GString *s = g_string_new (NULL);
          const char *open = p;

          f.quoted = TRUE;
          for (p++;; p++)
            {
              if (p >= end)
                {
                  g_string_free (s, TRUE);
                  csv_error (cr, error, KAN_ERROR_DATA, open,
                             "unterminated quoted field (a quote opened here is never closed)");
                  return FALSE;
                }
              if (*p == '"')
                {
                  if (p + 1 < end && p[1] == '"')
                    p++;  /* "" is a literal quote */
                  else
                    break;
                }
              g_string_append_c (s, *p);
            }
          p++;
          while (p < end && is_blank (*p))
            p++;
          if (p < end && *p != ',')
            {
              g_string_free (s, TRUE);
              csv_error (cr, error, KAN_ERROR_DATA, p,
                         "unexpected text after a closing quote (expected ',')");
              return FALSE;
            }
          f.text = g_strstrip (g_string_free (s, FALSE));
        }
      else
        {
          const char *q = p, *stop;

          while (q < end && *q != ',')
            q++;
          stop = q;
          while (stop > p && is_blank (stop[-1]))
            stop--;
          f.text = g_strndup (p, stop - p);
          p = q;
        }
      g_array_append_val (fields, f);
      if (p >= end)
        return TRUE;
      p++;  /* the comma */
    }
}

/* Advances *POS past the next record of CONTENTS, filling CR: a line (LF, CRLF or CR ends), or
 * several when a quoted field holds line breaks (RFC 4180). A quote that is never closed, or not
 * within KAN_CSV_MAX_LINE bytes, leaves the record at its first line, where csv_split reports
 * it. */
static gboolean
csv_next_line (CsvReader   *cr,
               const char  *contents,
               gsize        length,
               gsize       *pos)
{
  gsize i = *pos, start = *pos;
  gboolean quoted = FALSE, field_start = TRUE;
  guint breaks = 0;

  if (i >= length)
    return FALSE;
  cr->line = contents + i;
  cr->line_no += cr->breaks;
  for (; i < length; i++)
    {
      char c = contents[i];

      if (quoted)
        {
          if (i - start > KAN_CSV_MAX_LINE)
            break;
          if (c == '"')
            {
              if (i + 1 < length && contents[i + 1] == '"')
                i++;  /* "" is a literal quote */
              else
                quoted = FALSE;
            }
          else if (c == '\n' || (c == '\r' && !(i + 1 < length && contents[i + 1] == '\n')))
            breaks++;
          continue;
        }
      if (c == '\n' || c == '\r')
        break;
      if (c == '"' && field_start)
        quoted = TRUE;
      if (c == ',')
        field_start = TRUE;
      else if (c != ' ' && c != '\t')
        field_start = FALSE;
    }
  if (quoted)
    {
      breaks = 0;
      for (i = start; i < length && contents[i] != '\n' && contents[i] != '\r'; i++)
        ;
    }
  cr->breaks = breaks;
  cr->line_len = contents + i - cr->line;
  if (i < length && contents[i] == '\r')
    {
      i++;
      if (i < length && contents[i] == '\n')
        i++;
    }
  else if (i < length && contents[i] == '\n')
    i++;
  cr->line_no++;
  *pos = i;
  return TRUE;
}

static char *
join_names (GPtrArray *names)
{
  GString *s = g_string_new (NULL);

  for (guint i = 0; i < names->len; i++)
    g_string_append_printf (s, "%s%s", i > 0 ? ", " : "", (char *) g_ptr_array_index (names, i));
  return g_string_free (s, FALSE);
}

/* Rejects binary data before parsing: NUL bytes and invalid UTF-8, located by line:column. */
static gboolean
csv_check_text (const char  *display,
                const char  *contents,
                gsize        length,
                GError     **error)
{
  const char *bad = memchr (contents, '\0', length);
  const char *invalid = NULL;
  const char *what;
  CsvReader cr = { display, contents, 0, 1 };

  if (!g_utf8_validate_len (contents, bad != NULL ? (gsize) (bad - contents) : length, &invalid))
    what = "invalid UTF-8 (is this a text file?)";
  else if (bad != NULL)
    {
      invalid = bad;
      what = "a NUL byte (is this a text file?)";
    }
  else
    return TRUE;

  for (const char *p = contents; p < invalid; p++)
    if (*p == '\n' || (*p == '\r' && p[1] != '\n'))
      {
        cr.line_no++;
        cr.line = p + 1;
      }
  csv_error (&cr, error, KAN_ERROR_DATA, invalid, "%s", what);
  return FALSE;
}

/* Where byte OFFSET of F's text is in the line: exact when the text is the field as written
 * (unquoted, or quoted without doubled quotes or line breaks), else the field's start. */
static const char *
header_pointer (const CsvReader *cr,
                const CsvField  *f,
                gsize            offset)
{
  const char *raw = f->start + (f->quoted ? 1 : 0);
  const char *end = cr->line + cr->line_len;

  while (raw < end && g_ascii_isspace (*raw))
    raw++;
  if ((gsize) (end - raw) >= offset && memcmp (raw, f->text, offset) == 0)
    return raw + offset;
  return f->start;
}

/* Splits the header cell of column COL (1-based), F's text, into its name, left in F->text,
 * and *UNIT: the text in brackets after it ("v [m/s]"), "1" for empty brackets, NULL for none.
 * Fails for brackets that are not closed or nested, text after them, an empty name, and a
 * unit that kan_units_parse refuses. */
static gboolean
split_header_unit (const CsvReader  *cr,
                   CsvField         *f,
                   guint             col,
                   char            **unit,
                   GError          **error)
{
  char *open = strchr (f->text, '['), *close, *nested, *after, *u;
  g_autofree char *text = NULL;
  g_autofree char *problem = NULL;
  KanDim dim;
  long pos = 0;

  *unit = NULL;
  if (open == NULL)
    return TRUE;
  close = strchr (open + 1, ']');
  nested = strchr (open + 1, '[');
  if (close == NULL)
    {
      csv_error (cr, error, KAN_ERROR_DATA, header_pointer (cr, f, open - f->text),
                 "column %u: '[' is never closed (a unit is written as in 'v [m/s]')", col);
      return FALSE;
    }
  if (nested != NULL && nested < close)
    {
      csv_error (cr, error, KAN_ERROR_DATA, header_pointer (cr, f, nested - f->text),
                 "column %u: '[' inside the brackets of a unit", col);
      return FALSE;
    }
  for (after = close + 1; is_blank (*after); after++)
    ;
  if (*after != '\0')
    {
      csv_error (cr, error, KAN_ERROR_DATA, header_pointer (cr, f, after - f->text),
                 "column %u: text after the unit's ']' (a unit is written as in 'v [m/s]')",
                 col);
      return FALSE;
    }
  /* The unit without the blanks inside the brackets, so that positions count in it. */
  for (u = open + 1; is_blank (*u); u++)
    ;
  text = g_strchomp (g_strndup (u, close - u));
  if (!kan_units_parse_detail (text, &dim, &pos, &problem))
    {
      gsize offset = (gsize) (u - f->text)
                     + (gsize) (g_utf8_offset_to_pointer (text, pos - 1) - text);
      const char *at = header_pointer (cr, f, offset);
      g_autofree char *name = g_strstrip (g_strndup (f->text, open - f->text));
      g_autofree char *qn = csv_quote (name);
      g_autofree char *qu = csv_quote (text);

      csv_error (cr, error, KAN_ERROR_DATA, at,
                 "column %u '%s': unit '%s' at position %ld: %s%s", col, qn, qu, pos, problem,
                 strstr (problem, "(units:") != NULL
                 ? "; brackets in a header hold the column's unit" : "");
      return FALSE;
    }
  *open = '\0';
  g_strchomp (f->text);
  if (f->text[0] == '\0')
    {
      csv_error (cr, error, KAN_ERROR_DATA, f->start, "column %u has an empty name before its "
                 "unit", col);
      return FALSE;
    }
  *unit = text[0] != '\0' ? g_steal_pointer (&text) : g_strdup ("1");
  return TRUE;
}

KanDataset *
kan_dataset_from_csv (const char  *path,
                      const char  *targets,
                      double       test_fraction,
                      guint64      seed,
                      GError     **error)
{
  g_autofree char *display = NULL;
  g_autofree char *contents = NULL;
  KanDataset *d;
  gsize length;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  display = g_filename_display_name (path);
  if (!(test_fraction >= 0.0 && test_fraction < 1.0))
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID,
                   "the test fraction must be in [0, 1), not %g", test_fraction);
      return NULL;
    }
  /* Read through a counting limit, so that /dev/zero, /dev/urandom or a pipe is bounded like a
   * regular file (kan-file.h). */
  contents = kan_file_read (path, KAN_DATA_MAX_FILE_BYTES, &length, error);
  if (contents == NULL)
    return NULL;
  d = kan_dataset_from_csv_data (contents, length, display, targets, test_fraction, seed, error);
  if (d != NULL)
    d->csv_path = g_strdup (path);
  return d;
}

/* The columns a CSV header names, and which of them are the targets. */
typedef struct
{
  GPtrArray *names;      /* each column's name, without its unit */
  GPtrArray *cells;      /* each header cell as written ("v [m/s]") */
  GPtrArray *units;      /* each column's unit, "" for none */
  gboolean   any_units;
  int       *is_target;  /* per column, 1 for a target */
  int       *out_cols;   /* the target columns, in the order named */
  int        n_out;
} CsvColumns;

static void
csv_columns_clear (CsvColumns *cols)
{
  g_clear_pointer (&cols->names, g_ptr_array_unref);
  g_clear_pointer (&cols->cells, g_ptr_array_unref);
  g_clear_pointer (&cols->units, g_ptr_array_unref);
  g_clear_pointer (&cols->is_target, g_free);
  g_clear_pointer (&cols->out_cols, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (CsvColumns, csv_columns_clear)

/* Refuses an empty header cell and one with control characters (column COL, 1-based). */
static gboolean
csv_check_header_cell (const CsvReader  *cr,
                       const CsvField   *f,
                       guint             col,
                       GError          **error)
{
  if (f->text[0] == '\0')
    {
      csv_error (cr, error, KAN_ERROR_DATA, f->start, "column %u has an empty name", col);
      return FALSE;
    }
  for (const char *c = f->text; *c != '\0'; c++)
    if ((unsigned char) *c < 0x20 || *c == 0x7f)
      {
        csv_error (cr, error, KAN_ERROR_DATA, f->start,
                   "the name of column %u contains %s", col,
                   *c == '\t' ? "a tab (is the file tab-separated? Kanvas reads "
                                "comma-separated values)"
                              : *c == '\n' || *c == '\r' ? "a line break"
                              : "a control character");
        return FALSE;
      }
  return TRUE;
}

/* Reads the first record of TEXT as the header: its cells into FIELDS, the column names and
 * units into COLS. CR is left on the header, for the messages of the checks that follow. */
static gboolean
csv_read_header (CsvReader   *cr,
                 const char  *text,
                 gsize        length,
                 gsize       *pos,
                 GArray      *fields,
                 CsvColumns  *cols,
                 GError     **error)
{
  g_autoptr (GHashTable) seen = NULL;

  cols->names = g_ptr_array_new_with_free_func (g_free);
  cols->cells = g_ptr_array_new_with_free_func (g_free);
  cols->units = g_ptr_array_new_with_free_func (g_free);
  csv_next_line (cr, text, length, pos);
  if (cr->line_len > KAN_CSV_MAX_LINE)
    {
      csv_error (cr, error, KAN_ERROR_DATA, cr->line, "the line is longer than 1 MiB");
      return FALSE;
    }
  if (kan_text_is_blank (cr->line, cr->line_len))
    {
      csv_error (cr, error, KAN_ERROR_DATA, cr->line,
                 "the first line is empty; it must be the header with the column names");
      return FALSE;
    }
  if (!csv_split (cr, fields, error))
    return FALSE;
  /* One column cannot be a data set (it needs an input and a target), so a header of one field
   * that holds tabs or semicolons is a file with another separator. */
  if (fields->len == 1 && !g_array_index (fields, CsvField, 0).quoted)
    {
      const char *sep = csv_guess_separator (cr->line, cr->line_len);

      if (sep != NULL)
        {
          csv_error (cr, error, KAN_ERROR_DATA, cr->line,
                     "line 1 has 1 field; the file looks %s — Kanvas reads comma-separated "
                     "values", sep);
          return FALSE;
        }
    }
  seen = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < fields->len; i++)
    {
      CsvField *f = &g_array_index (fields, CsvField, i);
      char *unit = NULL;
      gpointer also;

      if (f->quoted)
        join_lines (f->text);
      if (!csv_check_header_cell (cr, f, i + 1, error))
        return FALSE;
      /* "v [m/s]": the name is v; the target list may use either. */
      g_ptr_array_add (cols->cells, g_strdup (f->text));
      if (!split_header_unit (cr, f, i + 1, &unit, error))
        return FALSE;
      g_ptr_array_add (cols->units, unit != NULL ? unit : g_strdup (""));
      cols->any_units |= unit != NULL;
      if (g_hash_table_lookup_extended (seen, f->text, NULL, &also))
        {
          g_autofree char *q = csv_quote (f->text);

          csv_error (cr, error, KAN_ERROR_DATA, f->start,
                     "duplicate column name '%s' (also column %u)", q, GPOINTER_TO_UINT (also));
          return FALSE;
        }
      g_ptr_array_add (cols->names, g_strdup (f->text));
      g_hash_table_insert (seen, g_ptr_array_index (cols->names, i), GUINT_TO_POINTER (i + 1));
    }
  return TRUE;
}

/* Marks the columns TARGETS names (comma-separated, by name or by header cell, in the order
 * given; by default the last column) as the targets of COLS. CR is on the header. */
static gboolean
csv_pick_targets (const CsvReader  *cr,
                  const char       *targets,
                  CsvColumns       *cols,
                  GError          **error)
{
  size_t n_cols = cols->names->len;
  g_auto (GStrv) target_list = NULL;

  cols->is_target = g_new0 (int, n_cols);
  cols->out_cols = g_new0 (int, n_cols);
  if (targets == NULL)
    {
      target_list = g_new0 (char *, 2);
      target_list[0] = g_strdup (g_ptr_array_index (cols->names, n_cols - 1));
    }
  else
    target_list = g_strsplit (targets, ",", 0);
  for (int t = 0; target_list[t] != NULL; t++)
    {
      char *name = g_strstrip (target_list[t]);
      gboolean found = FALSE;

      if (name[0] == '\0')
        {
          g_autofree char *q = csv_quote (targets);

          g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID,
                       "%s: the target list '%s' has an empty name", cr->display, q);
          return FALSE;
        }
      for (size_t c = 0; c < n_cols && !found; c++)
        if (strcmp (g_ptr_array_index (cols->names, c), name) == 0
            || strcmp (g_ptr_array_index (cols->cells, c), name) == 0)
          {
            found = TRUE;
            if (cols->is_target[c])
              {
                g_autofree char *q = csv_quote (name);

                g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID,
                             "%s: target '%s' is named twice", cr->display, q);
                return FALSE;
              }
            cols->is_target[c] = 1;
            cols->out_cols[cols->n_out++] = (int) c;
          }
      if (!found)
        {
          g_autofree char *list = join_names (cols->names);
          g_autofree char *q = csv_quote (name);
          g_autofree char *ql = csv_quote (list);
          const char *sep = csv_guess_separator (cr->line, cr->line_len);

          if (sep != NULL && strcmp (sep, "space-separated") == 0)
            sep = NULL;
          g_set_error (error, KAN_ERROR, KAN_ERROR_DATA,
                       "%s:1:1: no column named '%s' (columns: %s)%s%s%s", cr->display, q, ql,
                       sep ? "; the header looks " : "", sep ? sep : "",
                       sep ? " — Kanvas reads comma-separated values" : "");
          return FALSE;
        }
    }
  if (cols->n_out == 0)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID, "%s: no target column was named",
                   cr->display);
      return FALSE;
    }
  if ((int) n_cols - cols->n_out == 0)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_DATA,
                   "%s:1:1: every column is a target; at least one input column is needed",
                   cr->display);
      return FALSE;
    }
  return TRUE;
}

/* Input columns name the variables of formulas (targets are only labels), so their names must
 * be variable names that stay distinct in LaTeX. FIELDS are the header's cells. */
static gboolean
csv_check_input_names (const CsvReader   *cr,
                       GArray            *fields,
                       const CsvColumns  *cols,
                       GError           **error)
{
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (size_t c = 0; c < cols->names->len; c++)
    {
      const CsvField *f = &g_array_index (fields, CsvField, c);
      g_autoptr (GError) local = NULL;
      char *key;
      gpointer also;

      if (cols->is_target[c])
        continue;
      if (!check_variable_name (f->text, &local))
        {
          csv_error (cr, error, KAN_ERROR_DATA, f->start, "input column %zu %s", c + 1,
                     local->message);
          return FALSE;
        }
      key = kan_expr_name_key (f->text);
      if (g_hash_table_lookup_extended (seen, key, NULL, &also))
        {
          csv_error (cr, error, KAN_ERROR_DATA, f->start,
                     "input columns %u '%s' and %zu '%s' would both print as %s in LaTeX; "
                     "rename one", GPOINTER_TO_UINT (also),
                     (char *) g_ptr_array_index (cols->names, GPOINTER_TO_UINT (also) - 1),
                     c + 1, f->text, key);
          g_free (key);
          return FALSE;
        }
      g_hash_table_insert (seen, key, GUINT_TO_POINTER ((guint) c + 1));
    }
  return TRUE;
}

/* The text labels of a CSV file's target column (kan_dataset_from_csv: class names). */
typedef struct
{
  int         col;        /* the column read as text, or -1 while the labels are numbers */
  int         found;      /* the column where a label that is not a number was met, or -1 */
  char       *source;     /* "FILE:LINE:COL: 'TEXT' (column 'NAME')" of that label */
  GPtrArray  *names;      /* the distinct labels, in order of appearance */
  GHashTable *index;      /* label → 1 + its place in NAMES */
  GError     *postponed;  /* a label that is a number but not a finite one, reported unless the
                             column turns out to hold text */
} CsvClasses;

static void
csv_classes_clear (CsvClasses *k)
{
  g_clear_pointer (&k->source, g_free);
  g_clear_pointer (&k->names, g_ptr_array_unref);
  g_clear_pointer (&k->index, g_hash_table_unref);
  g_clear_error (&k->postponed);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (CsvClasses, csv_classes_clear)

/* Reads F, a field of the text label column COL, as a class: its index into *V. */
static gboolean
csv_class_label (const CsvReader  *cr,
                 const CsvField   *f,
                 GPtrArray        *names,
                 int               col,
                 CsvClasses       *k,
                 double           *v,
                 GError          **error)
{
  gpointer at;

  for (const char *c = f->text; *c != '\0'; c++)
    if ((unsigned char) *c < 0x20 || *c == 0x7f)
      {
        g_autofree char *qn = csv_quote (g_ptr_array_index (names, col));

        csv_error (cr, error, KAN_ERROR_DATA, f->start, "the label in column '%s' contains %s",
                   qn, *c == '\n' || *c == '\r' ? "a line break" : "a control character");
        return FALSE;
      }
  if (!g_hash_table_lookup_extended (k->index, f->text, NULL, &at))
    {
      if (k->names->len == KAN_DATA_MAX_CLASSES)
        {
          g_autofree char *q = csv_quote (f->text);
          g_autofree char *qn = csv_quote (g_ptr_array_index (names, col));

          csv_error (cr, error, KAN_ERROR_DATA, f->start,
                     "'%s' would be class %d of column '%s': a column of text labels names at "
                     "most %d classes (its first label that is not a number is %s)", q,
                     KAN_DATA_MAX_CLASSES + 1, qn, KAN_DATA_MAX_CLASSES, k->source);
          return FALSE;
        }
      g_ptr_array_add (k->names, g_strdup (f->text));
      at = GUINT_TO_POINTER (k->names->len);
      g_hash_table_insert (k->index, g_ptr_array_index (k->names, k->names->len - 1), at);
    }
  *v = (double) (GPOINTER_TO_UINT (at) - 1);
  return TRUE;
}

/* Reads F, field COL of a data row, as a number into *V. A target's label that is not a number
 * is the sign of a column of class names (K->found, nothing else set: the caller reads the rows
 * again); one that is not finite waits in K->postponed, in case such a column follows. */
static gboolean
csv_number (const CsvReader   *cr,
            const CsvField    *f,
            const CsvColumns  *cols,
            int                col,
            CsvClasses        *k,
            double            *v,
            GError           **error)
{
  const char *problem = NULL;
  g_autofree char *q = NULL;
  g_autofree char *qn = NULL;

  if (kan_parse_number (f->text, v, &problem))
    return TRUE;
  q = csv_quote (f->text);
  qn = csv_quote (g_ptr_array_index (cols->names, col));
  if (cols->is_target[col] && strcmp (problem, "is not a number") == 0)
    {
      if (cols->n_out > 1)
        {
          csv_error (cr, error, KAN_ERROR_DATA, f->start, "'%s' %s (column '%s'); text labels "
                     "name classes, which need a single target column", q, problem, qn);
          return FALSE;
        }
      {
        guint line;
        long column;

        csv_locate (cr, f->start, &line, &column);
        k->source = g_strdup_printf ("%s:%u:%ld: '%s' (column '%s')", cr->display, line, column,
                                     q, qn);
      }
      k->found = col;
      return FALSE;
    }
  if (cols->is_target[col] && cols->n_out == 1)
    {
      *v = NAN;
      if (k->postponed == NULL)
        csv_error (cr, &k->postponed, KAN_ERROR_DATA, f->start, "'%s' %s (column '%s')", q,
                   problem, qn);
      return TRUE;
    }
  csv_error (cr, error, KAN_ERROR_DATA, f->start, "'%s' %s (column '%s')", q, problem, qn);
  return FALSE;
}

/* Parses the current record, a data row, into VALUES: as many fields as COLS has columns,
 * each a number, or a class (K->col). FIELDS is scratch space. */
static gboolean
csv_parse_row (const CsvReader   *cr,
               GArray            *fields,
               const CsvColumns  *cols,
               CsvClasses        *k,
               GArray            *values,
               GError           **error)
{
  GPtrArray *names = cols->names;
  size_t n_cols = names->len;

  if (!csv_split (cr, fields, error))
    return FALSE;
  if (fields->len != n_cols)
    {
      const char *where = fields->len > n_cols
                          ? g_array_index (fields, CsvField, n_cols).start
                          : cr->line + cr->line_len;
      const char *sep = fields->len < n_cols
                        ? csv_guess_separator (cr->line, cr->line_len) : NULL;

      if (sep != NULL && strcmp (sep, "space-separated") == 0)
        sep = NULL;  /* blanks around numbers are common in comma-separated files */
      csv_error (cr, error, KAN_ERROR_DATA, where,
                 "line %u has %u field%s, the header has %zu%s%s%s", cr->line_no,
                 fields->len, fields->len == 1 ? "" : "s", n_cols,
                 sep ? "; the line looks " : "", sep ? sep : "",
                 sep ? " — Kanvas reads comma-separated values" : "");
      return FALSE;
    }
  if (!check_budget ((size_t) values->len / n_cols + 1, n_cols, error))
    return FALSE;
  for (guint i = 0; i < fields->len; i++)
    {
      CsvField *f = &g_array_index (fields, CsvField, i);
      double v;

      if (f->text[0] == '\0')
        {
          g_autofree char *qn = csv_quote (g_ptr_array_index (names, i));

          csv_error (cr, error, KAN_ERROR_DATA, f->start, "empty %s in column '%s'",
                     (int) i == k->col ? "label" : "field", qn);
          return FALSE;
        }
      if ((int) i == k->col ? !csv_class_label (cr, f, names, (int) i, k, &v, error)
                            : !csv_number (cr, f, cols, (int) i, k, &v, error))
        return FALSE;
      g_array_append_val (values, v);
    }
  return TRUE;
}

/* Reads the data rows after the header into VALUES, row-major. Blank lines may only end the
 * file, and there must be at least one row. */
static gboolean
csv_read_rows (CsvReader         *cr,
               const char        *text,
               gsize              length,
               gsize             *pos,
               GArray            *fields,
               const CsvColumns  *cols,
               CsvClasses        *k,
               GArray            *values,
               GError           **error)
{
  guint last_data_line = 0;
  gboolean blank_seen = FALSE;
  guint blank_line = 0;

  while (csv_next_line (cr, text, length, pos))
    {
      if (cr->line_len > KAN_CSV_MAX_LINE)
        {
          csv_error (cr, error, KAN_ERROR_DATA, cr->line, "the line is longer than 1 MiB");
          return FALSE;
        }
      if (kan_text_is_blank (cr->line, cr->line_len))
        {
          if (!blank_seen)
            blank_line = cr->line_no;
          blank_seen = TRUE;
          continue;
        }
      if (blank_seen)
        {
          CsvReader at = *cr;

          /* Blank lines are accepted only at the end of the file. */
          at.line_no = blank_line;
          at.line = cr->line;
          csv_error (&at, error, KAN_ERROR_DATA, NULL, "empty line between data rows");
          return FALSE;
        }
      if (!csv_parse_row (cr, fields, cols, k, values, error))
        return FALSE;
      last_data_line = cr->line_no;
    }
  if (last_data_line == 0)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_DATA,
                   "%s:2:1: the file has a header but no data rows", cr->display);
      return FALSE;
    }
  if (k->postponed != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&k->postponed));
      return FALSE;
    }
  return TRUE;
}

/* K reads column K->found as class names from now on; VALUES is emptied for a new reading. */
static void
csv_classes_begin (CsvClasses *k,
                   GArray     *values)
{
  g_clear_error (&k->postponed);
  g_array_set_size (values, 0);
  k->col = k->found;
  k->names = g_ptr_array_new_with_free_func (g_free);
  k->index = g_hash_table_new (g_str_hash, g_str_equal);
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* K's class names sorted by byte order, and column K->col of VALUES (N_COLS columns)
 * renumbered to match. */
static char **
csv_sorted_classes (const CsvClasses *k,
                    GArray           *values,
                    size_t            n_cols)
{
  guint n = k->names->len;
  char **sorted = g_new0 (char *, n + 1);
  g_autofree double *renumber = g_new (double, n);

  for (guint i = 0; i < n; i++)
    sorted[i] = g_strdup (g_ptr_array_index (k->names, i));
  qsort (sorted, n, sizeof (char *), compare_strings);
  for (guint i = 0; i < n; i++)
    renumber[GPOINTER_TO_UINT (g_hash_table_lookup (k->index, sorted[i])) - 1] = (double) i;
  for (size_t r = 0; r < values->len / n_cols; r++)
    {
      double *v = &g_array_index (values, double, r * n_cols + (size_t) k->col);
      *v = renumber[(size_t) *v];
    }
  return sorted;
}

/* 0 … N-1 shuffled (Fisher–Yates) with a generator seeded by SEED. */
static size_t *
shuffled_rows (size_t  n,
               guint64 seed)
{
  size_t *order = g_new (size_t, n);
  gsl_rng *rng = rng_new (seed);

  for (size_t r = 0; r < n; r++)
    order[r] = r;
  for (size_t i = n - 1; i > 0; i--)
    {
      size_t j = gsl_rng_uniform_int (rng, i + 1), tmp = order[i];

      order[i] = order[j];
      order[j] = tmp;
    }
  gsl_rng_free (rng);
  return order;
}

/* The data set of the N_ROWS rows of VALUES, taken in ORDER: the first N_ROWS - N_TEST train,
 * the rest test, each split into the input and target columns of COLS. */
static KanDataset *
csv_build_dataset (const CsvColumns *cols,
                   GArray           *values,
                   const size_t     *order,
                   size_t            n_rows,
                   size_t            n_test)
{
  size_t n_cols = cols->names->len;
  int n_out = cols->n_out, n_in = (int) n_cols - n_out;
  KanDataset *d = dataset_alloc (KAN_DATA_CSV, n_in, n_out, n_rows - n_test, n_test);

  d->in_names = g_new0 (char *, n_in + 1);
  d->out_names = g_new0 (char *, n_out + 1);
  for (size_t c = 0, k = 0; c < n_cols; c++)
    if (!cols->is_target[c])
      d->in_names[k++] = g_strdup (g_ptr_array_index (cols->names, c));
  for (int t = 0; t < n_out; t++)
    d->out_names[t] = g_strdup (g_ptr_array_index (cols->names, cols->out_cols[t]));
  if (cols->any_units)
    {
      d->in_units = g_new0 (char *, n_in + 1);
      d->out_units = g_new0 (char *, n_out + 1);
      for (size_t c = 0, k = 0; c < n_cols; c++)
        if (!cols->is_target[c])
          d->in_units[k++] = g_strdup (g_ptr_array_index (cols->units, c));
      for (int t = 0; t < n_out; t++)
        d->out_units[t] = g_strdup (g_ptr_array_index (cols->units, cols->out_cols[t]));
    }
  for (size_t r = 0; r < n_rows; r++)
    {
      const double *row = &g_array_index (values, double, order[r] * n_cols);
      gboolean train = r < d->n_train;
      size_t rr = train ? r : r - d->n_train;
      double *x = (train ? d->train_x : d->test_x) + rr * n_in;
      double *y = (train ? d->train_y : d->test_y) + rr * n_out;

      for (size_t c = 0, k = 0; c < n_cols; c++)
        if (!cols->is_target[c])
          x[k++] = row[c];
      for (int t = 0; t < n_out; t++)
        y[t] = row[cols->out_cols[t]];
    }
  return d;
}

KanDataset *
kan_dataset_from_csv_data (const char  *contents,
                           gsize        length,
                           const char  *name_for_errors,
                           const char  *targets,
                           double       test_fraction,
                           guint64      seed,
                           GError     **error)
{
  g_auto (CsvColumns) cols = { 0 };
  g_auto (CsvClasses) classes = { 0 };
  g_autoptr (GArray) fields = NULL;
  g_autoptr (GArray) values = NULL;
  g_autofree size_t *order = NULL;
  g_auto (GStrv) classes_sorted = NULL;
  const char *display = name_for_errors != NULL ? name_for_errors : "<csv>";
  KanDataset *d;
  CsvReader cr = { 0 }, header;
  const char *text;
  size_t n_rows, n_test;
  gsize pos = 0, rows_pos;

  g_return_val_if_fail (contents != NULL || length == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  cr.display = display;
  if (!(test_fraction >= 0.0 && test_fraction < 1.0))
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID,
                   "the test fraction must be in [0, 1), not %g", test_fraction);
      return NULL;
    }
  if (contents == NULL)
    contents = "";

  text = contents;
  if (length >= 3 && memcmp (text, "\xef\xbb\xbf", 3) == 0)
    {
      text += 3;
      length -= 3;
    }
  if (!csv_check_text (display, text, length, error))
    return NULL;

  if (kan_text_is_blank (text, length))
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_DATA, "%s:1:1: the file is empty", display);
      return NULL;
    }

  fields = g_array_new (FALSE, FALSE, sizeof (CsvField));
  g_array_set_clear_func (fields, csv_field_clear);
  values = g_array_new (FALSE, FALSE, sizeof (double));
  if (!csv_read_header (&cr, text, length, &pos, fields, &cols, error)
      || !csv_pick_targets (&cr, targets, &cols, error)
      || !csv_check_input_names (&cr, fields, &cols, error))
    return NULL;
  header = cr;
  rows_pos = pos;
  classes.col = classes.found = -1;
  if (!csv_read_rows (&cr, text, length, &pos, fields, &cols, &classes, values, error))
    {
      /* A target's label that is not a number: the column holds class names, read again. */
      if (classes.found < 0)
        return NULL;
      csv_classes_begin (&classes, values);
      cr = header;
      pos = rows_pos;
      if (!csv_read_rows (&cr, text, length, &pos, fields, &cols, &classes, values, error))
        return NULL;
    }

  /* Shuffle the rows and hold out round(test_fraction · N) for testing, keeping at least one
   * train row. */
  n_rows = values->len / cols.names->len;
  n_test = (size_t) round (test_fraction * (double) n_rows);
  if (n_test >= n_rows)
    n_test = n_rows - 1;
  order = shuffled_rows (n_rows, seed);
  if (classes.col >= 0)
    classes_sorted = csv_sorted_classes (&classes, values, cols.names->len);
  d = csv_build_dataset (&cols, values, order, n_rows, n_test);
  d->class_names = g_steal_pointer (&classes_sorted);
  d->class_source = g_steal_pointer (&classes.source);
  d->test_fraction = test_fraction;
  d->seed = seed;
  return d;
}

/* ------------------------------------------------------------------------------------------ */
/* Arrays, copies, validation                                                                 */
/* ------------------------------------------------------------------------------------------ */

KanDataset *
kan_dataset_new_arrays (int                  n_in,
                        int                  n_out,
                        size_t               n_train,
                        size_t               n_test,
                        const double        *train_x,
                        const double        *train_y,
                        const double        *test_x,
                        const double        *test_y,
                        const char *const   *in_names,
                        const char *const   *out_names)
{
  KanDataset *d;

  g_return_val_if_fail (n_in >= 1 && n_out >= 1, NULL);
  g_return_val_if_fail (n_train == 0 || (train_x != NULL && train_y != NULL), NULL);
  g_return_val_if_fail (n_test == 0 || (test_x != NULL && test_y != NULL), NULL);

  d = dataset_alloc (KAN_DATA_ARRAYS, n_in, n_out, n_train, n_test);
  if (n_train > 0)
    {
      memcpy (d->train_x, train_x, n_train * n_in * sizeof (double));
      memcpy (d->train_y, train_y, n_train * n_out * sizeof (double));
    }
  if (n_test > 0)
    {
      memcpy (d->test_x, test_x, n_test * n_in * sizeof (double));
      memcpy (d->test_y, test_y, n_test * n_out * sizeof (double));
    }
  d->in_names = make_names (in_names, n_in, "x");
  d->out_names = make_names (out_names, n_out, "y");
  return d;
}

int
kan_dataset_n_classes (const KanDataset *d)
{
  double mx = 0;

  g_return_val_if_fail (d != NULL, 0);
  if (d->class_names != NULL)
    return (int) g_strv_length (d->class_names);
  for (size_t b = 0; b < d->n_train; b++)
    mx = MAX (mx, d->train_y[b * d->n_out]);
  for (size_t b = 0; b < d->n_test; b++)
    mx = MAX (mx, d->test_y[b * d->n_out]);
  return (int) MIN (mx, 1e6) + 1;
}

KanDataset *
kan_dataset_copy (const KanDataset *d)
{
  KanDataset *c;

  if (d == NULL)
    return NULL;
  c = g_new (KanDataset, 1);
  *c = *d;
  c->train_x = dup_doubles (d->train_x, d->n_train * d->n_in);
  c->train_y = dup_doubles (d->train_y, d->n_train * d->n_out);
  c->test_x = dup_doubles (d->test_x, d->n_test * d->n_in);
  c->test_y = dup_doubles (d->test_y, d->n_test * d->n_out);
  c->in_names = g_strdupv (d->in_names);
  c->out_names = g_strdupv (d->out_names);
  c->in_units = g_strdupv (d->in_units);
  c->out_units = g_strdupv (d->out_units);
  c->in_mean = dup_doubles (d->in_mean, d->n_in);
  c->in_std = dup_doubles (d->in_std, d->n_in);
  c->out_mean = dup_doubles (d->out_mean, d->n_out);
  c->out_std = dup_doubles (d->out_std, d->n_out);
  c->formula = g_strdup (d->formula);
  c->ranges = d->ranges != NULL ? dup_doubles (d->ranges, 2 * (size_t) d->n_in) : NULL;
  c->csv_path = g_strdup (d->csv_path);
  c->class_names = g_strdupv (d->class_names);
  c->class_source = g_strdup (d->class_source);
  return c;
}

void
kan_dataset_free (KanDataset *d)
{
  if (d == NULL)
    return;
  g_free (d->train_x);
  g_free (d->train_y);
  g_free (d->test_x);
  g_free (d->test_y);
  g_strfreev (d->in_names);
  g_strfreev (d->out_names);
  g_strfreev (d->in_units);
  g_strfreev (d->out_units);
  g_free (d->in_mean);
  g_free (d->in_std);
  g_free (d->out_mean);
  g_free (d->out_std);
  g_free (d->formula);
  g_free (d->ranges);
  g_free (d->csv_path);
  g_strfreev (d->class_names);
  g_free (d->class_source);
  g_free (d);
}

static gboolean
check_finite (const double  *v,
              size_t         rows,
              int            cols,
              const char    *what,
              char *const   *names,
              GError       **error)
{
  for (size_t r = 0; r < rows; r++)
    for (int c = 0; c < cols; c++)
      if (!isfinite (v[r * cols + c]))
        {
          g_set_error (error, KAN_ERROR, KAN_ERROR_DATA,
                       "%s row %zu, column '%s' is not finite (%g)", what, r + 1, names[c],
                       v[r * cols + c]);
          return FALSE;
        }
  return TRUE;
}

/* Class names: 1 … KAN_DATA_MAX_CLASSES distinct, non-empty names without control characters,
 * one target column, every label an index into them. */
static gboolean
check_classes (const KanDataset  *d,
               GError           **error)
{
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  guint n = g_strv_length (d->class_names);

  if (n < 1 || n > KAN_DATA_MAX_CLASSES)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_SHAPE,
                   "the data set has %u class names; 1 … %d are possible", n,
                   KAN_DATA_MAX_CLASSES);
      return FALSE;
    }
  if (d->n_out != 1)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_SHAPE,
                   "class names need one target column, the data set has %d", d->n_out);
      return FALSE;
    }
  for (guint k = 0; k < n; k++)
    {
      const char *name = d->class_names[k];

      if (name[0] == '\0' || g_hash_table_contains (seen, name))
        {
          g_set_error (error, KAN_ERROR, KAN_ERROR_SHAPE, "class name %u is %s", k + 1,
                       name[0] == '\0' ? "empty" : "a duplicate");
          return FALSE;
        }
      for (const char *c = name; *c != '\0'; c++)
        if ((unsigned char) *c < 0x20 || *c == 0x7f)
          {
            g_set_error (error, KAN_ERROR, KAN_ERROR_SHAPE,
                         "class name %u contains a control character", k + 1);
            return FALSE;
          }
      g_hash_table_add (seen, (gpointer) name);
    }
  for (size_t b = 0; b < d->n_train + d->n_test; b++)
    {
      gboolean train = b < d->n_train;
      double c = train ? d->train_y[b] : d->test_y[b - d->n_train];

      if (!(c >= 0 && c < n && c == floor (c)))
        {
          g_set_error (error, KAN_ERROR, KAN_ERROR_SHAPE,
                       "%s row %zu: label %g is not a class index 0 … %u", train ? "train" : "test",
                       (train ? b : b - d->n_train) + 1, c, n - 1);
          return FALSE;
        }
    }
  return TRUE;
}

gboolean
kan_dataset_check_numeric_labels (const KanDataset *d,
                                  GError          **error)
{
  g_autofree char *some = NULL;

  g_return_val_if_fail (d != NULL, FALSE);

  if (d->class_names == NULL)
    return TRUE;
  if (d->class_source != NULL)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_DATA,
                   "%s is not a number; text labels name classes, which need the cross-entropy "
                   "loss", d->class_source);
      return FALSE;
    }
  some = g_strjoinv (", ", d->class_names);
  g_set_error (error, KAN_ERROR, KAN_ERROR_DATA,
               "the labels of column '%s' name classes (%s), which need the cross-entropy loss",
               d->out_names[0], some);
  return FALSE;
}

gboolean
kan_dataset_use_classes (KanDataset        *d,
                         const char *const *classes,
                         GError           **error)
{
  g_autoptr (GHashTable) index = g_hash_table_new (g_str_hash, g_str_equal);
  g_autofree double *renumber = NULL;
  guint n;

  g_return_val_if_fail (d != NULL && classes != NULL, FALSE);

  if (d->class_names == NULL)
    return TRUE;
  for (guint k = 0; classes[k] != NULL; k++)
    g_hash_table_insert (index, (gpointer) classes[k], GUINT_TO_POINTER (k + 1));
  n = g_strv_length (d->class_names);
  renumber = g_new (double, n);
  for (guint k = 0; k < n; k++)
    {
      guint at = GPOINTER_TO_UINT (g_hash_table_lookup (index, d->class_names[k]));

      if (at == 0)
        {
          g_autofree char *known = g_strjoinv (", ", (char **) classes);

          g_set_error (error, KAN_ERROR, KAN_ERROR_DATA,
                       "class '%s' of column '%s' is not one of the model's classes (%s)",
                       d->class_names[k], d->out_names[0], known);
          return FALSE;
        }
      renumber[k] = (double) (at - 1);
    }
  for (size_t b = 0; b < d->n_train; b++)
    d->train_y[b] = renumber[(size_t) d->train_y[b]];
  for (size_t b = 0; b < d->n_test; b++)
    d->test_y[b] = renumber[(size_t) d->test_y[b]];
  g_strfreev (d->class_names);
  d->class_names = g_strdupv ((char **) classes);
  return TRUE;
}

gboolean
kan_dataset_validate (const KanDataset *d,
                      GError          **error)
{
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (d == NULL)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_SHAPE, "there is no data set");
      return FALSE;
    }
  if (d->n_in < 1 || d->n_out < 1)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_SHAPE,
                   "a data set needs at least one input and one output, not %d and %d",
                   d->n_in, d->n_out);
      return FALSE;
    }
  if (d->n_train < 1)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_SHAPE, "the data set has no train rows");
      return FALSE;
    }
  if (d->train_x == NULL || d->train_y == NULL
      || (d->n_test > 0 && (d->test_x == NULL || d->test_y == NULL)))
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_SHAPE, "the data set is missing its values");
      return FALSE;
    }
  if (d->in_names == NULL || d->out_names == NULL
      || g_strv_length (d->in_names) != (guint) d->n_in
      || g_strv_length (d->out_names) != (guint) d->n_out)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_SHAPE,
                   "the data set needs %d input names and %d output names", d->n_in, d->n_out);
      return FALSE;
    }
  if ((d->in_units != NULL && g_strv_length (d->in_units) != (guint) d->n_in)
      || (d->out_units != NULL && g_strv_length (d->out_units) != (guint) d->n_out))
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_SHAPE,
                   "the data set's units need %d input entries and %d output entries", d->n_in,
                   d->n_out);
      return FALSE;
    }
  if (!check_variable_names ((const char *const *) d->in_names, d->n_in, "input", error))
    return FALSE;
  if (d->class_names != NULL && !check_classes (d, error))
    return FALSE;
  if (d->source == KAN_DATA_FORMULA && (d->formula == NULL || d->ranges == NULL))
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_SHAPE,
                   "a formula data set needs its formula and ranges");
      return FALSE;
    }
  if ((d->in_mean == NULL) != (d->in_std == NULL) || (d->out_mean == NULL) != (d->out_std == NULL))
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_SHAPE,
                   "the normalisation needs both a mean and a standard deviation");
      return FALSE;
    }
  return check_finite (d->train_x, d->n_train, d->n_in, "train input", d->in_names, error)
         && check_finite (d->train_y, d->n_train, d->n_out, "train label", d->out_names, error)
         && check_finite (d->test_x, d->n_test, d->n_in, "test input", d->in_names, error)
         && check_finite (d->test_y, d->n_test, d->n_out, "test label", d->out_names, error)
         && (d->in_std == NULL
             || check_finite (d->in_std, 1, d->n_in, "input std", d->in_names, error))
         && (d->in_mean == NULL
             || check_finite (d->in_mean, 1, d->n_in, "input mean", d->in_names, error))
         && (d->out_std == NULL
             || check_finite (d->out_std, 1, d->n_out, "label std", d->out_names, error))
         && (d->out_mean == NULL
             || check_finite (d->out_mean, 1, d->n_out, "label mean", d->out_names, error));
}

/* ------------------------------------------------------------------------------------------ */
/* Ranges                                                                                     */
/* ------------------------------------------------------------------------------------------ */

/* Each bound is a constant expression, so "-pi,pi" and "0,2*pi" work as well as "-1,1". */
static gboolean
parse_bound (const char  *text,
             const char  *piece,
             int          index,
             const char  *which,
             double      *out,
             GError     **error)
{
  static const char *const no_vars[] = { NULL };
  g_autoptr (GError) local = NULL;
  g_autoptr (KanExpr) e = kan_expr_parse (piece, no_vars, NULL, &local);
  g_autofree char *shown = kan_expr_excerpt (text, 0);

  if (e == NULL)
    {
      g_autofree char *bound = kan_expr_excerpt (g_strstrip ((char *) piece),
                                                 kan_expr_error_position (local));
      g_set_error (error, KAN_ERROR, KAN_ERROR_PARSE,
                   "ranges '%s': range %d, %s bound '%s': %s", shown, index, which, bound,
                   local->message);
      return FALSE;
    }
  *out = kan_expr_eval (e, NULL);
  if (!isfinite (*out))
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_PARSE,
                   "ranges '%s': range %d, %s bound is not finite", shown, index, which);
      return FALSE;
    }
  return TRUE;
}

gboolean
kan_parse_ranges (const char  *text,
                  double     **out,
                  int         *n_pairs,
                  GError     **error)
{
  g_auto (GStrv) pairs = NULL;
  g_autofree double *values = NULL;
  g_autofree char *shown = NULL;
  int n;

  g_return_val_if_fail (text != NULL && out != NULL && n_pairs != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  *out = NULL;
  *n_pairs = 0;
  shown = kan_expr_excerpt (text, 0);
  pairs = g_strsplit (text, ":", 0);
  n = (int) g_strv_length (pairs);
  if (n == 0 || (n == 1 && kan_text_is_blank (pairs[0], strlen (pairs[0]))))
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_PARSE,
                   "ranges '%s': expected lo,hi (for example -1,1 or -1,1:0,2)", shown);
      return FALSE;
    }
  values = g_new (double, 2 * (size_t) n);
  for (int i = 0; i < n; i++)
    {
      g_auto (GStrv) bounds = g_strsplit (pairs[i], ",", 0);

      if (g_strv_length (bounds) != 2)
        {
          g_autofree char *pair = kan_expr_excerpt (g_strstrip (pairs[i]), 0);

          g_set_error (error, KAN_ERROR, KAN_ERROR_PARSE,
                       "ranges '%s': range %d ('%s') must be two numbers lo,hi", shown, i + 1,
                       pair);
          return FALSE;
        }
      if (!parse_bound (text, bounds[0], i + 1, "lower", &values[2 * i], error)
          || !parse_bound (text, bounds[1], i + 1, "upper", &values[2 * i + 1], error))
        return FALSE;
      if (!(values[2 * i] < values[2 * i + 1]))
        {
          g_set_error (error, KAN_ERROR, KAN_ERROR_PARSE,
                       "ranges '%s': range %d has lo ≥ hi (%g, %g)", shown, i + 1,
                       values[2 * i], values[2 * i + 1]);
          return FALSE;
        }
      /* Sampling draws lo + u·(hi − lo), so the width itself must be a finite number. */
      if (!isfinite (values[2 * i + 1] - values[2 * i]))
        {
          g_set_error (error, KAN_ERROR, KAN_ERROR_PARSE,
                       "ranges '%s': range %d [%g, %g] is too wide: its width hi − lo "
                       "overflows a double", shown, i + 1, values[2 * i], values[2 * i + 1]);
          return FALSE;
        }
    }
  *out = g_steal_pointer (&values);
  *n_pairs = n;
  return TRUE;
}
