/* kan-session.c — reading and writing session documents.
 *
 * A session is one JSON object (UTF-8, two-space indent, a final newline):
 *
 *   {
 *     "format": "kanvas-session",          always this string; checked first
 *     "version": 1 | 2,                    2 when the data have class names (older builds
 *                                          refuse it with a clear message), else 1; newer
 *                                          versions are refused
 *     "model": null | {
 *       "width": "2,[2,2],1",              kan_shape_to_string
 *       "mult_arity": [2, 3],              one arity per multiplication node, in order
 *       "grid": 5, "k": 3,
 *       "base_fun": "silu",                kan_base_fun_name
 *       "grid_eps": 0.02, "grid_range": [-1.0, 1.0],
 *       "sp_trainable": true, "sb_trainable": true, "affine_trainable": false,
 *       "noise_scale": 0.3, "scale_base_mu": 0.0, "scale_base_sigma": 1.0,
 *       "seed": 1,
 *       "layers": [                        one per edge layer (depth)
 *         {
 *           "n_in": 2, "n_out": 5,          inputs, subnodes of the next node layer
 *           "grid": [[knots], …],           n_in rows of G+2k+1 knots (non-decreasing)
 *           "coef": […],                    n_in·n_out·(G+k), edge-major, one edge per line
 *           "scale_base": […], "scale_sp": […],          n_in·n_out
 *           "mask": […], "mask_sym": […],  n_in·n_out integers 0 or 1
 *           "sym_fn": ["0", "sin", …],     n_in·n_out symbolic library names
 *           "sym": […],                    n_in·n_out·4: a, b, c, d of each edge, one per line
 *           "subnode_scale": […], "subnode_bias": […],  n_out
 *           "node_scale": […], "node_bias": […]         nodes of the next node layer
 *         }, …
 *       ]
 *     },
 *     "data": null
 *       | { "source": "formula", "formula": "…", "vars": ["x1", …], "ranges": [[lo, hi], …],
 *           "n_train": 1000, "n_test": 1000, "noise": 0.0, "seed": 0,
 *           "normalize_input": false, "normalize_label": false }
 *       | { "source": "csv" | "arrays", "path": "…" | null, "test_fraction": 0.2, "seed": 0,
 *           "in_names": […], "out_names": […],
 *           "class_names": ["setosa", …],    (version 2, only for text labels: the labels are
 *                                              indices into it; version 1 files have none)
 *           "train_x": [[row], …], "train_y": [[row], …], "test_x": …, "test_y": …,
 *           "in_mean": […] | null, "in_std": […] | null,
 *           "out_mean": […] | null, "out_std": […] | null },
 *     "train": { every field of KanTrainConfig under its own name, "optimizer": "lbfgs" |
 *                "adam" | "lm" | "auto", "loss": "mse" | "ce" },
 *     "steps_done": 0,
 *     "history": [ { "op": "fit", "detail": "…" | null, "train_rmse": 0.01 | null,
 *                    "test_rmse": …, "model": { as above } (optional) }, … ],
 *     "curve": { "train": [0.5, …], "test": [0.6, …], "train_accuracy": […],
 *                "test_accuracy": […] } (optional, the accuracies too; null for unknown values)
 *   }
 *
 * Formula data sets are regenerated on load (sampling is deterministic); CSV and array data sets
 * carry their rows so that a session trained on one machine opens on another.
 *
 * Numbers.  The document is written by hand rather than with JsonGenerator, which (json-glib
 * 1.6) writes 1e22 as "1e+22.0" — not JSON — and has no way to keep numeric arrays compact.
 * A double is written with the fewest of 15, 16 or 17 significant digits that read back to the
 * same bits, always with a '.' or an exponent so that -0.0 keeps its sign; non-finite values
 * (only possible for unknown RMSEs in the history) are written as null. Integers are written
 * as integers; a seed above 2^63-1 is written as a decimal string because json-glib reads
 * integers as gint64. Flat arrays are written one logical row per line (an edge's coefficients,
 * an edge's a,b,c,d, an input node's edges), so files stay readable and diffable. The same
 * session always gives the same bytes.
 *
 * Loading is strict: the text is parsed by kan-json.c (strict RFC 8259: no comments, NaN,
 * trailing commas or duplicate keys; nesting at most KAN_JSON_MAX_DEPTH deep; errors with line
 * and column), every field is required (null where allowed), unknown fields are refused, every
 * integer is range-checked where it is read, and every error names the file and the JSON path
 * of the problem. Sizes are checked against KAN_SESSION_BUDGET_BYTES, and the arrays of a model
 * against the lengths it needs, before anything is allocated, so that what loading allocates
 * is backed by numbers in the file (a formula data set, which is sampled, is bounded by the
 * budget alone). The parsed document keeps numbers packed (8 bytes each) and is freed once the
 * session is built; see KAN_SESSION_LOAD_FACTOR.
 */
#include "kan-session.h"

#include "kan-file.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "kan-error.h"
#include "kan-json.h"
#include "kan-model-private.h"
#include "kan-spline.h"
#include "kan-symbolic.h"

/* ------------------------------------------------------------------------------------------ */
/* Session objects                                                                            */
/* ------------------------------------------------------------------------------------------ */

static void
history_entry_free (gpointer p)
{
  KanHistoryEntry *e = p;

  if (e == NULL)
    return;
  g_free (e->op);
  g_free (e->detail);
  kan_model_free (e->model);
  g_free (e);
}

KanSession *
kan_session_new (void)
{
  KanSession *s = g_new0 (KanSession, 1);

  kan_train_config_init (&s->train);
  s->history = g_ptr_array_new_with_free_func (history_entry_free);
  s->curve_train = g_array_new (FALSE, FALSE, sizeof (double));
  s->curve_test = g_array_new (FALSE, FALSE, sizeof (double));
  s->curve_train_acc = g_array_new (FALSE, FALSE, sizeof (double));
  s->curve_test_acc = g_array_new (FALSE, FALSE, sizeof (double));
  return s;
}

void
kan_session_free (KanSession *s)
{
  if (s == NULL)
    return;
  kan_model_free (s->model);
  kan_dataset_free (s->data);
  if (s->history != NULL)
    g_ptr_array_unref (s->history);
  g_clear_pointer (&s->curve_train, g_array_unref);
  g_clear_pointer (&s->curve_test, g_array_unref);
  g_clear_pointer (&s->curve_train_acc, g_array_unref);
  g_clear_pointer (&s->curve_test_acc, g_array_unref);
  g_free (s);
}

void
kan_session_add_history (KanSession *s,
                         const char *op,
                         const char *detail,
                         double      train_rmse,
                         double      test_rmse)
{
  KanHistoryEntry *e;

  g_return_if_fail (s != NULL);
  g_return_if_fail (op != NULL);

  e = g_new0 (KanHistoryEntry, 1);
  e->op = g_strdup (op);
  e->detail = g_strdup (detail);
  e->train_rmse = train_rmse;
  e->test_rmse = test_rmse;
  g_ptr_array_add (s->history, e);
}

/* ------------------------------------------------------------------------------------------ */
/* Names of enumerations                                                                      */
/* ------------------------------------------------------------------------------------------ */

static const char *
loss_name (KanLoss loss)
{
  return loss == KAN_LOSS_CE ? "ce" : "mse";
}

static gboolean
loss_lookup (const char *name,
             KanLoss    *out)
{
  if (g_strcmp0 (name, "mse") == 0)
    *out = KAN_LOSS_MSE;
  else if (g_strcmp0 (name, "ce") == 0)
    *out = KAN_LOSS_CE;
  else
    return FALSE;
  return TRUE;
}

static const char *
source_name (KanDataSource source)
{
  switch (source)
    {
    case KAN_DATA_FORMULA:
      return "formula";
    case KAN_DATA_CSV:
      return "csv";
    case KAN_DATA_ARRAYS:
    default:
      return "arrays";
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Writing                                                                                    */
/* ------------------------------------------------------------------------------------------ */

/* Written with kan-json.h's writer, every container on its own lines; the flat arrays of a
 * model go one logical row to a line. */

/* A mask: integers 0 or 1, PER_LINE to a line. */
static void
out_mask (KanJsonWriter *w,
          const char    *key,
          const double  *v,
          size_t         n,
          size_t         per_line)
{
  kan_json_write_begin_array_inline (w, key);
  for (size_t i = 0; i < n; i++)
    {
      if (n > per_line && i % per_line == 0)
        kan_json_write_break (w);
      kan_json_write_int (w, NULL, v[i] != 0.0);
    }
  kan_json_write_end (w);
}

/* ROWS rows of COLS doubles: [[…], […]], a row to a line. */
static void
out_matrix (KanJsonWriter *w,
            const char    *key,
            const double  *v,
            size_t         rows,
            size_t         cols)
{
  kan_json_write_begin_array (w, key);
  for (size_t r = 0; r < rows; r++)
    kan_json_write_doubles (w, NULL, v + r * cols, cols, 0);
  kan_json_write_end (w);
}

static void
out_strv (KanJsonWriter     *w,
          const char        *key,
          const char *const *v,
          size_t             n)
{
  kan_json_write_begin_array_inline (w, key);
  for (size_t i = 0; i < n; i++)
    kan_json_write_string (w, NULL, v != NULL ? v[i] : NULL);
  kan_json_write_end (w);
}

static const char *
sym_name (int id)
{
  if (id < 0 || id >= kan_sym_count ())
    id = kan_sym_zero ();
  return kan_sym_info (id)->name;
}

static void
write_layer (KanJsonWriter  *w,
             const char     *key,
             const KanModel *m,
             const KanLayer *L)
{
  size_t n_edges = (size_t) L->n_in * L->n_out;
  size_t n_coef = (size_t) (m->G + m->k);
  size_t n_knots = (size_t) (m->G + 2 * m->k + 1);
  size_t per_node = (size_t) L->n_out;

  kan_json_write_begin_object (w, key);
  kan_json_write_int (w, "n_in", L->n_in);
  kan_json_write_int (w, "n_out", L->n_out);
  out_matrix (w, "grid", L->grid, (size_t) L->n_in, n_knots);
  kan_json_write_doubles (w, "coef", L->coef, n_edges * n_coef, n_coef);
  kan_json_write_doubles (w, "scale_base", L->scale_base, n_edges, per_node);
  kan_json_write_doubles (w, "scale_sp", L->scale_sp, n_edges, per_node);
  out_mask (w, "mask", L->mask, n_edges, per_node);
  out_mask (w, "mask_sym", L->mask_sym, n_edges, per_node);

  /* One line per input node, however many outputs. */
  kan_json_write_begin_array_inline (w, "sym_fn");
  for (int i = 0; i < L->n_in; i++)
    {
      kan_json_write_break (w);
      for (int j = 0; j < L->n_out; j++)
        kan_json_write_string (w, NULL, sym_name (L->sym_fn[(size_t) i * L->n_out + j]));
    }
  kan_json_write_end (w);

  kan_json_write_doubles (w, "sym", L->sym, n_edges * 4, 4);
  kan_json_write_doubles (w, "subnode_scale", L->subnode_scale, (size_t) L->n_out, 0);
  kan_json_write_doubles (w, "subnode_bias", L->subnode_bias, (size_t) L->n_out, 0);
  kan_json_write_doubles (w, "node_scale", L->node_scale, (size_t) L->n_next, 0);
  kan_json_write_doubles (w, "node_bias", L->node_bias, (size_t) L->n_next, 0);
  kan_json_write_end (w);
}

static void
write_model (KanJsonWriter  *w,
             const char     *key,
             const KanModel *m)
{
  const KanShape *shape = m->shape;
  g_autofree char *width = kan_shape_to_string (shape);

  kan_json_write_begin_object (w, key);
  kan_json_write_string (w, "width", width);
  kan_json_write_begin_array_inline (w, "mult_arity");
  for (int l = 0; l < shape->n_layers; l++)
    for (int q = 0; q < shape->n_mult[l]; q++)
      kan_json_write_int (w, NULL, shape->arity[l][q]);
  kan_json_write_end (w);
  kan_json_write_int (w, "grid", m->G);
  kan_json_write_int (w, "k", m->k);
  kan_json_write_string (w, "base_fun", kan_base_fun_name (m->base_fun));
  kan_json_write_double (w, "grid_eps", m->grid_eps);
  kan_json_write_doubles (w, "grid_range", m->grid_range, 2, 0);
  kan_json_write_bool (w, "sp_trainable", m->sp_trainable);
  kan_json_write_bool (w, "sb_trainable", m->sb_trainable);
  kan_json_write_bool (w, "affine_trainable", m->affine_trainable);
  kan_json_write_double (w, "noise_scale", m->noise_scale);
  kan_json_write_double (w, "scale_base_mu", m->scale_base_mu);
  kan_json_write_double (w, "scale_base_sigma", m->scale_base_sigma);
  kan_json_write_uint64 (w, "seed", m->seed);
  kan_json_write_begin_array (w, "layers");
  for (int l = 0; l < m->depth; l++)
    write_layer (w, NULL, m, &m->layers[l]);
  kan_json_write_end (w);
  kan_json_write_end (w);
}

static void
out_stats (KanJsonWriter *w,
           const char    *key,
           const double  *v,
           int            n)
{
  if (v == NULL)
    kan_json_write_null (w, key);
  else
    kan_json_write_doubles (w, key, v, (size_t) n, 0);
}

static void
write_data (KanJsonWriter    *w,
            const KanDataset *d)
{
  kan_json_write_begin_object (w, "data");
  kan_json_write_string (w, "source", source_name (d->source));
  if (d->source == KAN_DATA_FORMULA)
    {
      kan_json_write_string (w, "formula", d->formula);
      out_strv (w, "vars", (const char *const *) d->in_names, (size_t) d->n_in);
      out_matrix (w, "ranges", d->ranges, (size_t) d->n_in, 2);
      kan_json_write_int (w, "n_train", (gint64) d->n_train);
      kan_json_write_int (w, "n_test", (gint64) d->n_test);
      kan_json_write_double (w, "noise", d->noise);
      kan_json_write_uint64 (w, "seed", d->seed);
      kan_json_write_bool (w, "normalize_input", d->in_mean != NULL);
      kan_json_write_bool (w, "normalize_label", d->out_mean != NULL);
    }
  else
    {
      kan_json_write_string (w, "path", d->csv_path);
      kan_json_write_double (w, "test_fraction", d->test_fraction);
      kan_json_write_uint64 (w, "seed", d->seed);
      out_strv (w, "in_names", (const char *const *) d->in_names, (size_t) d->n_in);
      out_strv (w, "out_names", (const char *const *) d->out_names, (size_t) d->n_out);
      if (d->class_names != NULL)
        out_strv (w, "class_names", (const char *const *) d->class_names,
                  g_strv_length (d->class_names));
      out_matrix (w, "train_x", d->train_x, d->n_train, (size_t) d->n_in);
      out_matrix (w, "train_y", d->train_y, d->n_train, (size_t) d->n_out);
      out_matrix (w, "test_x", d->test_x, d->n_test, (size_t) d->n_in);
      out_matrix (w, "test_y", d->test_y, d->n_test, (size_t) d->n_out);
      out_stats (w, "in_mean", d->in_mean, d->n_in);
      out_stats (w, "in_std", d->in_std, d->n_in);
      out_stats (w, "out_mean", d->out_mean, d->n_out);
      out_stats (w, "out_std", d->out_std, d->n_out);
    }
  kan_json_write_end (w);
}

static void
write_train (KanJsonWriter        *w,
             const KanTrainConfig *t)
{
  kan_json_write_begin_object (w, "train");
  kan_json_write_string (w, "optimizer", kan_optimizer_name (t->opt));
  kan_json_write_string (w, "loss", loss_name (t->loss));
  kan_json_write_int (w, "steps", t->steps);
  kan_json_write_double (w, "lr", t->lr);
  kan_json_write_double (w, "lamb", t->lamb);
  kan_json_write_double (w, "lamb_l1", t->lamb_l1);
  kan_json_write_double (w, "lamb_entropy", t->lamb_entropy);
  kan_json_write_double (w, "lamb_coef", t->lamb_coef);
  kan_json_write_double (w, "lamb_coefdiff", t->lamb_coefdiff);
  kan_json_write_bool (w, "update_grid", t->update_grid);
  kan_json_write_int (w, "grid_update_num", t->grid_update_num);
  kan_json_write_int (w, "start_grid_update_step", t->start_grid_update_step);
  kan_json_write_int (w, "stop_grid_update_step", t->stop_grid_update_step);
  kan_json_write_double (w, "grid_update_tolerance", t->grid_update_tolerance);
  kan_json_write_int (w, "batch", t->batch);
  kan_json_write_uint64 (w, "seed", t->seed);
  kan_json_write_bool (w, "singularity_avoiding", t->singularity_avoiding);
  kan_json_write_double (w, "y_th", t->y_th);
  kan_json_write_int (w, "lbfgs_history", t->lbfgs_history);
  kan_json_write_int (w, "lbfgs_max_iter", t->lbfgs_max_iter);
  kan_json_write_int (w, "lbfgs_max_eval", t->lbfgs_max_eval);
  kan_json_write_int (w, "threads", t->threads);
  kan_json_write_end (w);
}

char *
kan_session_to_json (const KanSession *s,
                     gsize            *length)
{
  KanJsonWriter w;

  g_return_val_if_fail (s != NULL, NULL);

  kan_json_writer_init (&w, 0);
  kan_json_write_begin_object (&w, NULL);
  kan_json_write_string (&w, "format", KAN_SESSION_FORMAT);
  /* Version 1 readers understand everything but class names and the optimiser "auto". */
  kan_json_write_int (&w, "version", (s->data != NULL && s->data->class_names != NULL)
                                     || s->train.opt == KAN_OPT_AUTO
                                     ? KAN_SESSION_VERSION : 1);
  if (s->model != NULL)
    write_model (&w, "model", s->model);
  else
    kan_json_write_null (&w, "model");
  if (s->data != NULL)
    write_data (&w, s->data);
  else
    kan_json_write_null (&w, "data");
  write_train (&w, &s->train);
  kan_json_write_int (&w, "steps_done", s->steps_done);

  /* An entry on one line, but for the model it may carry. */
  kan_json_write_begin_array (&w, "history");
  for (guint i = 0; s->history != NULL && i < s->history->len; i++)
    {
      const KanHistoryEntry *e = g_ptr_array_index (s->history, i);

      kan_json_write_begin_object_inline (&w, NULL);
      kan_json_write_string (&w, "op", e->op);
      kan_json_write_string (&w, "detail", e->detail);
      kan_json_write_double (&w, "train_rmse", e->train_rmse);
      kan_json_write_double (&w, "test_rmse", e->test_rmse);
      if (e->model != NULL)
        write_model (&w, "model", e->model);
      kan_json_write_end (&w);
    }
  kan_json_write_end (&w);
  if (s->curve_train != NULL && s->curve_train->len > 0)
    {
      guint n = MIN (s->curve_train->len, s->curve_test ? s->curve_test->len : 0);
      kan_json_write_begin_object (&w, "curve");
      kan_json_write_doubles (&w, "train", (const double *) s->curve_train->data, n, 10);
      kan_json_write_doubles (&w, "test", (const double *) s->curve_test->data, n, 10);
      if (s->curve_train_acc->len >= n && s->curve_test_acc->len >= n)
        {
          kan_json_write_doubles (&w, "train_accuracy",
                                  (const double *) s->curve_train_acc->data, n, 10);
          kan_json_write_doubles (&w, "test_accuracy",
                                  (const double *) s->curve_test_acc->data, n, 10);
        }
      kan_json_write_end (&w);
    }
  kan_json_write_end (&w);
  return kan_json_writer_finish (&w, length);
}

gboolean
kan_session_save (const KanSession *s,
                  const char       *path,
                  GError          **error)
{
  g_autofree char *json = NULL;
  gsize len = 0;

  g_return_val_if_fail (s != NULL, FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  /* A file that loading would refuse is not written. */
  if (s->model != NULL && !kan_model_is_finite (s->model))
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_NONFINITE,
                   "%s: not saved: the model has non-finite parameters", path);
      return FALSE;
    }

  json = kan_session_to_json (s, &len);
  /* Atomic, never through a pre-existing temporary name or link, keeping the mode and owner
   * of the file it replaces (kan-file.h). */
  return kan_file_replace (path, json, len, error);
}

/* ------------------------------------------------------------------------------------------ */
/* Reading                                                                                    */
/* ------------------------------------------------------------------------------------------ */

/* Every integer a document gives is range-checked where it is read, against what it later
 * allocates or loops over; where kanvas-cli has the same option (app/cli-inputs.c) the range is
 * the same or wider, so that whatever the CLI writes loads again. */
#define MAX_GRID          100000   /* as kan_model_alloc and --grid */
#define MAX_ARITY         1000000  /* kan_shape_parse's bound on a number and on subnodes */
/* L-BFGS keeps 2·history vectors of the trained parameters (kan-lbfgs.c); pykan uses 10,
 * torch 100. */
#define MAX_LBFGS_HISTORY 1000
/* Inner iterations and evaluations of one L-BFGS step (pykan: 20 and 25); a step holds the
 * worker until it ends. */
#define MAX_LBFGS_ITER    100000
#define MAX_THREADS       1024     /* as --threads */

/* Every reader takes the file name for messages, the JSON path of what it reads, and the error
 * location; it returns FALSE (or NULL) after setting the error. */
typedef struct
{
  const char *name;
  GError    **error;
  int         version;  /* of the document */
} In;

typedef KanJsonNode Node;

static gboolean G_GNUC_PRINTF (3, 4)
in_fail (In         *in,
         KanError    code,
         const char *format,
         ...)
{
  g_autofree char *msg = NULL;
  va_list ap;

  va_start (ap, format);
  msg = g_strdup_vprintf (format, ap);
  va_end (ap);
  g_set_error (in->error, KAN_ERROR, code, "%s: %s", in->name, msg);
  return FALSE;
}

static gboolean
node_is (const Node  *node,
         KanJsonType  type)
{
  return kan_json_type (node) == type;
}

static char *
path_join (const char *path,
           const char *key)
{
  return *path != '\0' ? g_strconcat (path, ".", key, NULL) : g_strdup (key);
}

/* A key or string from the document for a one-line message: control characters escaped, cut
 * after PRINT_MAX characters. */
#define PRINT_MAX 80

static char *
printable (const char *s)
{
  GString *out = g_string_new (NULL);
  int n = 0;

  for (const char *q = s; *q != '\0'; q = g_utf8_next_char (q), n++)
    {
      if (n == PRINT_MAX)
        {
          g_string_append (out, "…");
          break;
        }
      if ((guchar) *q < 0x20 || *q == 0x7f)
        g_string_append_printf (out, "\\u%04X", (guchar) *q);
      else
        g_string_append_len (out, q, g_utf8_next_char (q) - q);
    }
  return g_string_free (out, FALSE);
}

/* An object at PATH whose members are all in FIELDS (NULL-terminated) and all present. The
 * parser has refused duplicate keys. */
static const Node *
get_object (In                *in,
            const Node        *node,
            const char        *path,
            const char *const *fields)
{
  if (!node_is (node, KAN_JSON_OBJECT))
    {
      in_fail (in, KAN_ERROR_SESSION, "%s: expected an object, found %s", path,
               kan_json_kind (node));
      return NULL;
    }
  for (gsize i = 0; i < kan_json_length (node); i++)
    {
      const char *key = kan_json_object_member (node, i)->key;

      if (!g_strv_contains (fields, key))
        {
          g_autofree char *k = printable (key);
          in_fail (in, KAN_ERROR_SESSION, "%s%sunknown field '%s'", path, *path ? ": " : "", k);
          return NULL;
        }
    }
  for (const char *const *f = fields; *f != NULL; f++)
    if (kan_json_object_get (node, *f) == NULL)
      {
        g_autofree char *p = path_join (path, *f);
        in_fail (in, KAN_ERROR_SESSION, "%s is missing", p);
        return NULL;
      }
  return node;
}

/* A member that get_object has checked is there. */
static const Node *
member (const Node *obj,
        const char *key)
{
  const Node *n = kan_json_object_get (obj, key);

  g_assert (n != NULL);
  return n;
}

static gboolean
node_double (In         *in,
             const Node *node,
             const char *path,
             double     *out)
{
  if (!node_is (node, KAN_JSON_NUMBER))
    return in_fail (in, KAN_ERROR_SESSION, "%s: expected a number, found %s",
                    path, kan_json_kind (node));
  *out = kan_json_get_double (node);
  if (!isfinite (*out))
    return in_fail (in, KAN_ERROR_SESSION, "%s: %g is not a finite number", path, *out);
  return TRUE;
}

/* A number for a message, exactly as far as it is an integer: "7", "1e+30",
 * "a 401-digit integer". */
static char *
number_text (const Node *node)
{
  switch (kan_json_number_kind (node))
    {
    case KAN_JSON_INT:
      return g_strdup_printf ("%" G_GINT64_FORMAT, kan_json_get_int (node));
    case KAN_JSON_UINT:
      return g_strdup_printf ("%" G_GUINT64_FORMAT, kan_json_get_uint (node));
    case KAN_JSON_BIG:
      return g_strdup_printf ("a %s%u-digit integer",
                              kan_json_get_double (node) < 0 ? "negative " : "",
                              kan_json_big_digits (node));
    case KAN_JSON_REAL:
    default:
      return g_strdup_printf ("%g", kan_json_get_double (node));
    }
}

/* "is 7", "is 1e+30", "is too large (a 401-digit integer)": a number outside a range. */
static char *
describe_number (const Node *node)
{
  g_autofree char *text = number_text (node);

  if (kan_json_number_kind (node) == KAN_JSON_BIG)
    return g_strdup_printf ("is too %s (%s)", kan_json_get_double (node) < 0 ? "small" : "large",
                            text);
  return g_strdup_printf ("is %s", text);
}

/* Where a number lies against [LO, HI], exactly whatever its size or form. */
static int
compare_range (const Node *node,
               gint64      lo,
               guint64     hi)
{
  switch (kan_json_number_kind (node))
    {
    case KAN_JSON_INT:
      {
        gint64 v = kan_json_get_int (node);
        return v < lo ? -1 : v >= 0 && (guint64) v > hi ? 1 : 0;
      }
    case KAN_JSON_UINT:
      return kan_json_get_uint (node) > hi ? 1 : 0;
    case KAN_JSON_BIG:
      return kan_json_get_double (node) < 0 ? -1 : 1;
    case KAN_JSON_REAL:
    default:
      {
        double d = kan_json_get_double (node);
        return d < (double) lo ? -1 : d > (double) hi ? 1 : 0;
      }
    }
}

/* An integer in [LO, HI] (HI above G_MAXINT64 only for unsigned reads). A number out of the
 * range is reported with the range whatever its form (1e30, a 401-digit integer); one in the
 * range must be written as an integer. */
static gboolean
node_integer (In         *in,
              const Node *node,
              const char *path,
              gint64      lo,
              guint64     hi,
              guint64    *out)
{
  if (!node_is (node, KAN_JSON_NUMBER))
    return in_fail (in, KAN_ERROR_SESSION, "%s: expected an integer, found %s",
                    path, kan_json_kind (node));
  if (compare_range (node, lo, hi) != 0)
    {
      g_autofree char *what = describe_number (node);

      return in_fail (in, KAN_ERROR_SESSION, "%s %s, expected %" G_GINT64_FORMAT " to %"
                      G_GUINT64_FORMAT, path, what, lo, hi);
    }
  switch (kan_json_number_kind (node))
    {
    case KAN_JSON_INT:
      *out = (guint64) kan_json_get_int (node);
      return TRUE;
    case KAN_JSON_UINT:
      *out = kan_json_get_uint (node);
      return TRUE;
    default:
      return in_fail (in, KAN_ERROR_SESSION, "%s: expected an integer, found %s",
                      path, kan_json_kind (node));
    }
}

static gboolean
node_int (In         *in,
          const Node *node,
          const char *path,
          gint64      lo,
          gint64      hi,
          gint64     *out)
{
  guint64 v;

  g_assert (lo <= hi);
  if (!node_integer (in, node, path, lo, (guint64) hi, &v))
    return FALSE;
  *out = (gint64) v;
  return TRUE;
}

static gboolean
get_double (In *in, const Node *obj, const char *path, const char *key, double *out)
{
  g_autofree char *p = path_join (path, key);
  return node_double (in, member (obj, key), p, out);
}

static gboolean
get_nonneg (In *in, const Node *obj, const char *path, const char *key, double *out)
{
  g_autofree char *p = path_join (path, key);

  if (!node_double (in, member (obj, key), p, out))
    return FALSE;
  if (*out < 0)
    return in_fail (in, KAN_ERROR_SESSION, "%s is %g, expected at least 0", p, *out);
  return TRUE;
}

static gboolean
get_int (In *in, const Node *obj, const char *path, const char *key, gint64 lo, gint64 hi,
         int *out)
{
  g_autofree char *p = path_join (path, key);
  gint64 v;

  g_assert (lo >= G_MININT && hi <= G_MAXINT);
  if (!node_int (in, member (obj, key), p, lo, hi, &v))
    return FALSE;
  *out = (int) v;
  return TRUE;
}

static gboolean
get_bool (In *in, const Node *obj, const char *path, const char *key, gboolean *out)
{
  g_autofree char *p = path_join (path, key);
  const Node *node = member (obj, key);

  if (!node_is (node, KAN_JSON_BOOL))
    return in_fail (in, KAN_ERROR_SESSION, "%s: expected true or false, found %s",
                    p, kan_json_kind (node));
  *out = kan_json_get_bool (node);
  return TRUE;
}

/* A string member; NULL for JSON null when NULLABLE. */
static gboolean
get_string (In *in, const Node *obj, const char *path, const char *key, gboolean nullable,
            const char **out)
{
  g_autofree char *p = path_join (path, key);
  const Node *node = member (obj, key);

  if (nullable && node_is (node, KAN_JSON_NULL))
    {
      *out = NULL;
      return TRUE;
    }
  if (!node_is (node, KAN_JSON_STRING))
    return in_fail (in, KAN_ERROR_SESSION, "%s: expected a string%s, found %s",
                    p, nullable ? " or null" : "", kan_json_kind (node));
  *out = kan_json_get_string (node);
  return TRUE;
}

/* A seed: an integer from 0 to 2^64-1, or the same as a decimal string (which is how seeds
 * above 2^63-1 are written, for readers that take integers as gint64). */
static gboolean
get_seed (In *in, const Node *obj, const char *path, const char *key, guint64 *out)
{
  g_autofree char *p = path_join (path, key);
  const Node *node = member (obj, key);

  if (node_is (node, KAN_JSON_STRING))
    {
      if (!g_ascii_string_to_unsigned (kan_json_get_string (node), 10, 0, G_MAXUINT64, out,
                                       NULL))
        {
          g_autofree char *s = printable (kan_json_get_string (node));
          return in_fail (in, KAN_ERROR_SESSION, "%s: '%s' is not a seed", p, s);
        }
      return TRUE;
    }
  return node_integer (in, node, p, 0, G_MAXUINT64, out);
}

/* An array at PATH of exactly N elements (any length when N < 0). */
static const Node *
node_array (In         *in,
            const Node *node,
            const char *path,
            gint64      n)
{
  if (!node_is (node, KAN_JSON_ARRAY))
    {
      in_fail (in, KAN_ERROR_SESSION, "%s: expected an array, found %s", path,
               kan_json_kind (node));
      return NULL;
    }
  if (n >= 0 && kan_json_length (node) != (guint64) n)
    {
      in_fail (in, KAN_ERROR_SESSION, "%s has %" G_GSIZE_FORMAT " values, expected %"
               G_GINT64_FORMAT, path, kan_json_length (node), n);
      return NULL;
    }
  return node;
}

/* N finite doubles into DST. */
static gboolean
node_doubles (In         *in,
              const Node *node,
              const char *path,
              size_t      n,
              double     *dst)
{
  const Node *a = node_array (in, node, path, (gint64) n);
  const double *packed;

  if (a == NULL)
    return FALSE;
  packed = n > 0 ? kan_json_array_doubles (a) : NULL;
  if (packed != NULL)
    memcpy (dst, packed, n * sizeof (double));
  for (size_t i = 0; i < n; i++)
    {
      if (packed == NULL)
        {
          Node e = kan_json_array_get (a, i);

          if (G_UNLIKELY (!node_is (&e, KAN_JSON_NUMBER)))
            return in_fail (in, KAN_ERROR_SESSION, "%s[%zu]: expected a number, found %s",
                            path, i, kan_json_kind (&e));
          dst[i] = kan_json_get_double (&e);
        }
      if (G_UNLIKELY (!isfinite (dst[i])))
        return in_fail (in, KAN_ERROR_SESSION, "%s[%zu]: %g is not a finite number",
                        path, i, dst[i]);
    }
  return TRUE;
}

static gboolean
get_doubles (In *in, const Node *obj, const char *path, const char *key, size_t n, double *dst)
{
  g_autofree char *p = path_join (path, key);
  return node_doubles (in, member (obj, key), p, n, dst);
}

/* ROWS arrays of COLS elements (checked without reading them). */
static gboolean
node_matrix_shape (In         *in,
                   const Node *node,
                   const char *path,
                   size_t      rows,
                   size_t      cols)
{
  const Node *a = node_array (in, node, path, (gint64) rows);

  if (a == NULL)
    return FALSE;
  for (size_t r = 0; r < rows; r++)
    {
      Node row = kan_json_array_get (a, r);

      if (!node_is (&row, KAN_JSON_ARRAY) || kan_json_length (&row) != cols)
        {
          g_autofree char *p = g_strdup_printf ("%s[%zu]", path, r);
          return node_array (in, &row, p, (gint64) cols) != NULL;
        }
    }
  return TRUE;
}

/* ROWS arrays of COLS finite doubles, row-major into DST. */
static gboolean
node_matrix (In         *in,
             const Node *node,
             const char *path,
             size_t      rows,
             size_t      cols,
             double     *dst)
{
  const Node *a = node_array (in, node, path, (gint64) rows);

  if (a == NULL)
    return FALSE;
  for (size_t r = 0; r < rows; r++)
    {
      Node row = kan_json_array_get (a, r);
      const double *packed = node_is (&row, KAN_JSON_ARRAY) && kan_json_length (&row) == cols
                             && cols > 0 ? kan_json_array_doubles (&row) : NULL;
      gboolean finite = packed != NULL;

      /* Rows of a matrix are packed: copy them whole when they are all finite. */
      if (packed != NULL)
        {
          for (size_t c = 0; c < cols && finite; c++)
            finite = isfinite (packed[c]);
          if (finite)
            memcpy (dst + r * cols, packed, cols * sizeof (double));
        }
      if (!finite)
        {
          g_autofree char *p = g_strdup_printf ("%s[%zu]", path, r);

          if (!node_doubles (in, &row, p, cols, dst + r * cols))
            return FALSE;
        }
    }
  return TRUE;
}

/* An array of strings (NULL-terminated copy in *OUT). */
static gboolean
node_strv (In         *in,
           const Node *node,
           const char *path,
           gint64      n,
           GStrv      *out)
{
  const Node *a = node_array (in, node, path, n);
  g_auto (GStrv) v = NULL;
  gsize len;

  if (a == NULL)
    return FALSE;
  len = kan_json_length (a);
  v = g_new0 (char *, len + 1);
  for (gsize i = 0; i < len; i++)
    {
      Node e = kan_json_array_get (a, i);

      if (!node_is (&e, KAN_JSON_STRING))
        return in_fail (in, KAN_ERROR_SESSION, "%s[%" G_GSIZE_FORMAT "]: expected a string, "
                        "found %s", path, i, kan_json_kind (&e));
      v[i] = g_strdup (kan_json_get_string (&e));
    }
  *out = g_steal_pointer (&v);
  return TRUE;
}

/* Budget checks are done in doubles so absurd sizes cannot overflow. */
static gboolean
check_budget (In         *in,
              const char *what,
              double      bytes)
{
  if (bytes > (double) KAN_SESSION_BUDGET_BYTES)
    return in_fail (in, KAN_ERROR_BUDGET,
                    "%s would need %.3g GiB, more than the %.3g GiB a session may use",
                    what, bytes / 1073741824.0, KAN_SESSION_BUDGET_BYTES / 1073741824.0);
  return TRUE;
}

static const char *const layer_fields[] = {
  "n_in", "n_out", "grid", "coef", "scale_base", "scale_sp", "mask", "mask_sym", "sym_fn", "sym",
  "subnode_scale", "subnode_bias", "node_scale", "node_bias", NULL
};

/* Inputs, subnodes and nodes after multiplication of edge layer L of SHAPE. */
static void
layer_dims (const KanShape *shape,
            int             l,
            int            *n_in,
            int            *n_out,
            int            *n_next)
{
  *n_in = kan_shape_nodes (shape, l);
  *n_next = kan_shape_nodes (shape, l + 1);
  *n_out = kan_shape_subnodes (shape, l + 1);
}

/* The layer at PATH has every member, its sizes agree with the width and its arrays have the
 * lengths the model needs. Checked for every layer before the model is allocated, so that a
 * short file cannot make Kanvas allocate a large model. */
static gboolean
check_layer (In             *in,
             const Node     *node,
             const char     *path,
             const KanShape *shape,
             int             l,
             int             G,
             int             k)
{
  static const struct { const char *key; int per; } per_edge[] = {
    { "scale_base", 1 }, { "scale_sp", 1 }, { "mask", 1 }, { "mask_sym", 1 }, { "sym_fn", 1 },
    { "sym", 4 },
  };
  const Node *obj = get_object (in, node, path, layer_fields);
  int n_in, n_out, n_next, in_doc, out_doc;
  size_t n_edges;

  if (obj == NULL)
    return FALSE;
  layer_dims (shape, l, &n_in, &n_out, &n_next);
  n_edges = (size_t) n_in * n_out;
  if (!get_int (in, obj, path, "n_in", 0, G_MAXINT, &in_doc)
      || !get_int (in, obj, path, "n_out", 0, G_MAXINT, &out_doc))
    return FALSE;
  if (in_doc != n_in || out_doc != n_out)
    return in_fail (in, KAN_ERROR_SESSION,
                    "%s is %d×%d, but the width gives it %d inputs and %d subnodes",
                    path, in_doc, out_doc, n_in, n_out);

  {
    g_autofree char *p = path_join (path, "grid");
    if (!node_matrix_shape (in, member (obj, "grid"), p, (size_t) n_in,
                            (size_t) G + 2 * (size_t) k + 1))
      return FALSE;
  }
  {
    g_autofree char *p = path_join (path, "coef");
    if (!node_array (in, member (obj, "coef"), p, (gint64) (n_edges * (size_t) (G + k))))
      return FALSE;
  }
  for (guint q = 0; q < G_N_ELEMENTS (per_edge); q++)
    {
      g_autofree char *p = path_join (path, per_edge[q].key);
      if (!node_array (in, member (obj, per_edge[q].key), p, (gint64) n_edges * per_edge[q].per))
        return FALSE;
    }
  {
    static const char *const keys[] = { "subnode_scale", "subnode_bias", "node_scale",
                                        "node_bias" };
    for (guint q = 0; q < G_N_ELEMENTS (keys); q++)
      {
        g_autofree char *p = path_join (path, keys[q]);
        if (!node_array (in, member (obj, keys[q]), p, q < 2 ? n_out : n_next))
          return FALSE;
      }
  }
  return TRUE;
}

static gboolean
read_mask (In         *in,
           const Node *obj,
           const char *path,
           const char *key,
           size_t      n,
           double     *dst)
{
  g_autofree char *p = path_join (path, key);

  if (!node_doubles (in, member (obj, key), p, n, dst))
    return FALSE;
  for (size_t i = 0; i < n; i++)
    if (dst[i] != 0.0 && dst[i] != 1.0)
      return in_fail (in, KAN_ERROR_SESSION, "%s[%zu] is %g, expected 0 or 1", p, i, dst[i]);
  return TRUE;
}

/* The values of a layer that check_layer has passed. */
static gboolean
read_layer (In         *in,
            const Node *obj,
            const char *path,
            KanModel   *m,
            KanLayer   *L)
{
  size_t n_edges = (size_t) L->n_in * L->n_out;
  size_t n_knots = (size_t) (m->G + 2 * m->k + 1);

  {
    g_autofree char *p = path_join (path, "grid");

    if (!node_matrix (in, member (obj, "grid"), p, (size_t) L->n_in, n_knots, L->grid))
      return FALSE;
    for (int i = 0; i < L->n_in; i++)
      {
        const double *t = kan_layer_knots (m, L, i);

        for (size_t q = 1; q < n_knots; q++)
          if (t[q] < t[q - 1])
            return in_fail (in, KAN_ERROR_SESSION, "%s[%d]: knot %zu (%g) is below knot %zu (%g)",
                            p, i, q, t[q], q - 1, t[q - 1]);
      }
  }

  if (!get_doubles (in, obj, path, "coef", n_edges * (size_t) (m->G + m->k), L->coef)
      || !get_doubles (in, obj, path, "scale_base", n_edges, L->scale_base)
      || !get_doubles (in, obj, path, "scale_sp", n_edges, L->scale_sp)
      || !read_mask (in, obj, path, "mask", n_edges, L->mask)
      || !read_mask (in, obj, path, "mask_sym", n_edges, L->mask_sym))
    return FALSE;

  {
    g_autofree char *p = path_join (path, "sym_fn");
    const Node *a = node_array (in, member (obj, "sym_fn"), p, (gint64) n_edges);

    if (a == NULL)
      return FALSE;
    for (size_t e = 0; e < n_edges; e++)
      {
        Node name = kan_json_array_get (a, e);
        int id;

        if (!node_is (&name, KAN_JSON_STRING))
          return in_fail (in, KAN_ERROR_SESSION, "%s[%zu]: expected a function name, found %s",
                          p, e, kan_json_kind (&name));
        id = kan_sym_lookup (kan_json_get_string (&name));
        if (id < 0)
          {
            g_autofree char *s = printable (kan_json_get_string (&name));
            return in_fail (in, KAN_ERROR_SESSION, "%s[%zu]: unknown symbolic function '%s'",
                            p, e, s);
          }
        L->sym_fn[e] = id;
      }
  }

  return get_doubles (in, obj, path, "sym", n_edges * 4, L->sym)
         && get_doubles (in, obj, path, "subnode_scale", (size_t) L->n_out, L->subnode_scale)
         && get_doubles (in, obj, path, "subnode_bias", (size_t) L->n_out, L->subnode_bias)
         && get_doubles (in, obj, path, "node_scale", (size_t) L->n_next, L->node_scale)
         && get_doubles (in, obj, path, "node_bias", (size_t) L->n_next, L->node_bias);
}

static const char *const model_fields[] = {
  "width", "mult_arity", "grid", "k", "base_fun", "grid_eps", "grid_range", "sp_trainable",
  "sb_trainable", "affine_trainable", "noise_scale", "scale_base_mu", "scale_base_sigma", "seed",
  "layers", NULL
};

/* The model at PATH ("model", "history[3].model"). */
static KanModel *
read_model (In         *in,
            const Node *node,
            const char *path)
{
  const Node *obj = get_object (in, node, path, model_fields);
  KanModelConfig cfg;
  g_autoptr (KanShape) shape = NULL;
  g_autoptr (KanModel) m = NULL;
  g_autoptr (GString) arity = g_string_new (NULL);
  g_autoptr (GError) local = NULL;
  g_autofree char *p_arity = path_join (path, "mult_arity");
  g_autofree char *p_width = path_join (path, "width");
  g_autofree char *p_layers = path_join (path, "layers");
  g_autofree char *p_range = path_join (path, "grid_range");
  const char *width, *base;
  const Node *a, *layers;
  gsize n_arity;
  gint64 total_mult = 0;

  if (obj == NULL)
    return NULL;

  kan_model_config_init (&cfg);
  if (!get_string (in, obj, path, "width", FALSE, &width))
    return NULL;
  a = node_array (in, member (obj, "mult_arity"), p_arity, -1);
  if (a == NULL)
    return NULL;
  n_arity = kan_json_length (a);
  for (gsize q = 0; q < n_arity; q++)
    {
      g_autofree char *p = g_strdup_printf ("%s[%" G_GSIZE_FORMAT "]", p_arity, q);
      Node e = kan_json_array_get (a, q);
      gint64 v;

      if (!node_int (in, &e, p, 2, MAX_ARITY, &v))
        return NULL;
      g_string_append_printf (arity, "%s%" G_GINT64_FORMAT, q > 0 ? "," : "", v);
    }
  shape = kan_shape_parse (width, n_arity > 0 ? arity->str : NULL, &local);
  if (shape == NULL)
    {
      g_autofree char *w = printable (width);
      in_fail (in, KAN_ERROR_SESSION, "%s '%s': %s", p_width, w, local->message);
      return NULL;
    }
  for (int l = 0; l < shape->n_layers; l++)
    total_mult += shape->n_mult[l];
  /* kan_shape_parse takes one arity for all nodes; the document lists each. */
  if (total_mult != (gint64) n_arity)
    {
      in_fail (in, KAN_ERROR_SESSION,
               "%s has %" G_GSIZE_FORMAT " values, expected %" G_GINT64_FORMAT
               " (one per multiplication node)", p_arity, n_arity, total_mult);
      return NULL;
    }
  if (shape->n_layers < 2)
    {
      g_autofree char *w = printable (width);
      in_fail (in, KAN_ERROR_SESSION, "%s '%s' has no layer of edges", p_width, w);
      return NULL;
    }
  cfg.shape = shape;

  if (!get_int (in, obj, path, "grid", 1, MAX_GRID, &cfg.grid)
      || !get_int (in, obj, path, "k", 1, KAN_SPLINE_MAX_K, &cfg.k))
    return NULL;
  if (!check_budget (in, "the model", (double) kan_model_config_bytes (&cfg)))
    return NULL;

  if (!get_string (in, obj, path, "base_fun", FALSE, &base))
    return NULL;
  if (!kan_base_fun_lookup (base, &cfg.base_fun))
    {
      g_autofree char *b = printable (base);
      in_fail (in, KAN_ERROR_SESSION, "%s.base_fun: unknown base function '%s'", path, b);
      return NULL;
    }
  if (!get_nonneg (in, obj, path, "grid_eps", &cfg.grid_eps)
      || !get_doubles (in, obj, path, "grid_range", 2, cfg.grid_range)
      || !get_bool (in, obj, path, "sp_trainable", &cfg.sp_trainable)
      || !get_bool (in, obj, path, "sb_trainable", &cfg.sb_trainable)
      || !get_bool (in, obj, path, "affine_trainable", &cfg.affine_trainable)
      || !get_double (in, obj, path, "noise_scale", &cfg.noise_scale)
      || !get_double (in, obj, path, "scale_base_mu", &cfg.scale_base_mu)
      || !get_double (in, obj, path, "scale_base_sigma", &cfg.scale_base_sigma)
      || !get_seed (in, obj, path, "seed", &cfg.seed))
    return NULL;
  if (!(cfg.grid_range[0] < cfg.grid_range[1]))
    {
      in_fail (in, KAN_ERROR_SESSION, "%s [%g, %g] is empty", p_range,
               cfg.grid_range[0], cfg.grid_range[1]);
      return NULL;
    }

  layers = node_array (in, member (obj, "layers"), p_layers, shape->n_layers - 1);
  if (layers == NULL)
    return NULL;
  for (int l = 0; l + 1 < shape->n_layers; l++)
    {
      g_autofree char *p = g_strdup_printf ("%s[%d]", p_layers, l);
      Node layer = kan_json_array_get (layers, (gsize) l);

      if (!check_layer (in, &layer, p, shape, l, cfg.grid, cfg.k))
        return NULL;
    }

  m = kan_model_alloc (&cfg, &local);
  if (m == NULL)
    {
      in_fail (in, g_error_matches (local, KAN_ERROR, KAN_ERROR_BUDGET)
                   ? KAN_ERROR_BUDGET : KAN_ERROR_SESSION, "%s: %s", path, local->message);
      return NULL;
    }
  /* kan_model_alloc copies every setting from CFG, which was read from the document. */

  for (int l = 0; l < m->depth; l++)
    {
      g_autofree char *p = g_strdup_printf ("%s[%d]", p_layers, l);
      Node layer = kan_json_array_get (layers, (gsize) l);

      if (!read_layer (in, &layer, p, m, &m->layers[l]))
        return NULL;
    }
  return g_steal_pointer (&m);
}

static const char *const formula_fields[] = {
  "source", "formula", "vars", "ranges", "n_train", "n_test", "noise", "seed", "normalize_input",
  "normalize_label", NULL
};

static const char *const rows_fields[] = {
  "source", "path", "test_fraction", "seed", "in_names", "out_names", "train_x", "train_y",
  "test_x", "test_y", "in_mean", "in_std", "out_mean", "out_std", NULL
};
/* Version 2: the same with class names. */
static const char *const rows_fields_classes[] = {
  "source", "path", "test_fraction", "seed", "in_names", "out_names", "class_names", "train_x",
  "train_y", "test_x", "test_y", "in_mean", "in_std", "out_mean", "out_std", NULL
};

static KanDataset *
read_formula_data (In         *in,
                   const Node *obj)
{
  KanFormulaSpec spec;
  g_auto (GStrv) vars = NULL;
  g_autofree double *ranges = NULL;
  g_autoptr (GError) local = NULL;
  KanDataset *d;
  gint64 n_train, n_test;
  int n_vars;

  kan_formula_spec_init (&spec);
  if (!get_string (in, obj, "data", "formula", FALSE, &spec.formula)
      || !node_strv (in, member (obj, "vars"), "data.vars", -1, &vars))
    return NULL;
  n_vars = (int) g_strv_length (vars);
  if (n_vars < 1)
    {
      in_fail (in, KAN_ERROR_SESSION, "data.vars is empty");
      return NULL;
    }
  ranges = g_new (double, 2 * (size_t) n_vars);
  if (!node_matrix (in, member (obj, "ranges"), "data.ranges", (size_t) n_vars, 2, ranges))
    return NULL;
  for (int i = 0; i < n_vars; i++)
    if (!(ranges[2 * i] < ranges[2 * i + 1]))
      {
        in_fail (in, KAN_ERROR_SESSION, "data.ranges[%d] [%g, %g] is empty",
                 i, ranges[2 * i], ranges[2 * i + 1]);
        return NULL;
      }
  /* The rows are sampled, not stored: their number is bounded by the data budget below. */
  if (!node_int (in, member (obj, "n_train"), "data.n_train", 1, G_MAXINT64, &n_train)
      || !node_int (in, member (obj, "n_test"), "data.n_test", 0, G_MAXINT64, &n_test))
    return NULL;
  /* The formula has one output. */
  if (!check_budget (in, "the data set",
                     ((double) n_train + (double) n_test) * (n_vars + 1) * sizeof (double)))
    return NULL;
  if (!get_nonneg (in, obj, "data", "noise", &spec.noise)
      || !get_seed (in, obj, "data", "seed", &spec.seed)
      || !get_bool (in, obj, "data", "normalize_input", &spec.normalize_input)
      || !get_bool (in, obj, "data", "normalize_label", &spec.normalize_label))
    return NULL;

  spec.vars = (const char *const *) vars;
  spec.ranges = ranges;
  spec.n_ranges = n_vars;
  spec.n_train = (size_t) n_train;
  spec.n_test = (size_t) n_test;
  d = kan_dataset_from_formula (&spec, &local);
  if (d == NULL)
    in_fail (in, g_error_matches (local, KAN_ERROR, KAN_ERROR_BUDGET)
                 ? KAN_ERROR_BUDGET : KAN_ERROR_SESSION, "data.formula: %s", local->message);
  return d;
}

/* Normalisation statistics: null, or N finite numbers (standard deviations positive). */
static gboolean
read_stats (In         *in,
            const Node *obj,
            const char *key,
            int         n,
            gboolean    positive,
            double    **out)
{
  g_autofree char *p = path_join ("data", key);
  const Node *node = member (obj, key);
  g_autofree double *v = NULL;

  *out = NULL;
  if (node_is (node, KAN_JSON_NULL))
    return TRUE;
  if (node_array (in, node, p, n) == NULL)
    return FALSE;
  v = g_new (double, (size_t) n);
  if (!node_doubles (in, node, p, (size_t) n, v))
    return FALSE;
  for (int i = 0; positive && i < n; i++)
    if (!(v[i] > 0))
      return in_fail (in, KAN_ERROR_SESSION, "%s[%d] is %g, expected more than 0", p, i, v[i]);
  *out = g_steal_pointer (&v);
  return TRUE;
}

static KanDataset *
read_rows_data (In            *in,
                const Node    *obj,
                KanDataSource  source)
{
  g_auto (GStrv) in_names = NULL;
  g_auto (GStrv) out_names = NULL;
  g_auto (GStrv) class_names = NULL;
  g_autofree double *train_x = NULL;
  g_autofree double *train_y = NULL;
  g_autofree double *test_x = NULL;
  g_autofree double *test_y = NULL;
  g_autofree double *in_mean = NULL;
  g_autofree double *in_std = NULL;
  g_autofree double *out_mean = NULL;
  g_autofree double *out_std = NULL;
  g_autoptr (KanDataset) d = NULL;
  g_autoptr (GError) local = NULL;
  const char *path;
  double test_fraction;
  guint64 seed;
  const Node *rows_train, *rows_test;
  size_t n_train, n_test;
  int n_in, n_out;

  if (!get_string (in, obj, "data", "path", TRUE, &path)
      || !get_nonneg (in, obj, "data", "test_fraction", &test_fraction)
      || !get_seed (in, obj, "data", "seed", &seed)
      || !node_strv (in, member (obj, "in_names"), "data.in_names", -1, &in_names)
      || !node_strv (in, member (obj, "out_names"), "data.out_names", -1, &out_names))
    return NULL;
  if (kan_json_object_get (obj, "class_names") != NULL
      && !node_strv (in, member (obj, "class_names"), "data.class_names", -1, &class_names))
    return NULL;
  if (test_fraction >= 1)
    {
      in_fail (in, KAN_ERROR_SESSION, "data.test_fraction is %g, expected less than 1",
               test_fraction);
      return NULL;
    }
  n_in = (int) g_strv_length (in_names);
  n_out = (int) g_strv_length (out_names);
  if (n_in < 1 || n_out < 1)
    {
      in_fail (in, KAN_ERROR_SESSION, "data.%s is empty", n_in < 1 ? "in_names" : "out_names");
      return NULL;
    }

  /* The numbers of rows and columns are those of the document's arrays, so the arrays
   * allocated below are backed by numbers in it. */
  rows_train = node_array (in, member (obj, "train_x"), "data.train_x", -1);
  rows_test = rows_train ? node_array (in, member (obj, "test_x"), "data.test_x", -1) : NULL;
  if (rows_test == NULL)
    return NULL;
  n_train = kan_json_length (rows_train);
  n_test = kan_json_length (rows_test);
  if (!check_budget (in, "the data set",
                     ((double) n_train + (double) n_test) * (n_in + n_out) * sizeof (double)))
    return NULL;
  if (!node_matrix_shape (in, rows_train, "data.train_x", n_train, (size_t) n_in)
      || !node_matrix_shape (in, member (obj, "train_y"), "data.train_y", n_train, (size_t) n_out)
      || !node_matrix_shape (in, rows_test, "data.test_x", n_test, (size_t) n_in)
      || !node_matrix_shape (in, member (obj, "test_y"), "data.test_y", n_test, (size_t) n_out))
    return NULL;

  train_x = g_new (double, n_train * n_in + 1);
  train_y = g_new (double, n_train * n_out + 1);
  test_x = g_new (double, n_test * n_in + 1);
  test_y = g_new (double, n_test * n_out + 1);
  if (!node_matrix (in, rows_train, "data.train_x", n_train, (size_t) n_in, train_x)
      || !node_matrix (in, member (obj, "train_y"), "data.train_y", n_train, (size_t) n_out,
                       train_y)
      || !node_matrix (in, rows_test, "data.test_x", n_test, (size_t) n_in, test_x)
      || !node_matrix (in, member (obj, "test_y"), "data.test_y", n_test, (size_t) n_out,
                       test_y))
    return NULL;

  if (!read_stats (in, obj, "in_mean", n_in, FALSE, &in_mean)
      || !read_stats (in, obj, "in_std", n_in, TRUE, &in_std)
      || !read_stats (in, obj, "out_mean", n_out, FALSE, &out_mean)
      || !read_stats (in, obj, "out_std", n_out, TRUE, &out_std))
    return NULL;
  if ((in_mean == NULL) != (in_std == NULL) || (out_mean == NULL) != (out_std == NULL))
    {
      in_fail (in, KAN_ERROR_SESSION, "data: %s and %s must both be null or both be given",
               (in_mean == NULL) != (in_std == NULL) ? "in_mean" : "out_mean",
               (in_mean == NULL) != (in_std == NULL) ? "in_std" : "out_std");
      return NULL;
    }

  /* The rows move into the data set rather than being copied (peak memory while loading). */
  d = kan_dataset_new_arrays (n_in, n_out, 0, 0, NULL, NULL, NULL, NULL,
                              (const char *const *) in_names, (const char *const *) out_names);
  d->n_train = n_train;
  d->n_test = n_test;
  d->train_x = g_steal_pointer (&train_x);
  d->train_y = g_steal_pointer (&train_y);
  if (n_test > 0)
    {
      d->test_x = g_steal_pointer (&test_x);
      d->test_y = g_steal_pointer (&test_y);
    }
  d->source = source;
  d->csv_path = g_strdup (path);
  d->test_fraction = test_fraction;
  d->seed = seed;
  d->in_mean = g_steal_pointer (&in_mean);
  d->in_std = g_steal_pointer (&in_std);
  d->out_mean = g_steal_pointer (&out_mean);
  d->out_std = g_steal_pointer (&out_std);
  d->class_names = g_steal_pointer (&class_names);
  if (!kan_dataset_validate (d, &local))
    {
      in_fail (in, KAN_ERROR_SESSION, "data: %s", local->message);
      return NULL;
    }
  return g_steal_pointer (&d);
}

static KanDataset *
read_data (In         *in,
           const Node *node)
{
  const Node *obj, *src;
  const char *source;

  if (!node_is (node, KAN_JSON_OBJECT))
    {
      in_fail (in, KAN_ERROR_SESSION, "data: expected an object or null, found %s",
               kan_json_kind (node));
      return NULL;
    }
  /* The source decides which fields belong. */
  src = kan_json_object_get (node, "source");
  if (src == NULL)
    {
      in_fail (in, KAN_ERROR_SESSION, "data.source is missing");
      return NULL;
    }
  if (!node_is (src, KAN_JSON_STRING))
    {
      in_fail (in, KAN_ERROR_SESSION, "data.source: expected a string, found %s",
               kan_json_kind (src));
      return NULL;
    }
  source = kan_json_get_string (src);
  if (strcmp (source, "formula") == 0)
    {
      obj = get_object (in, node, "data", formula_fields);
      return obj != NULL ? read_formula_data (in, obj) : NULL;
    }
  if (strcmp (source, "csv") == 0 || strcmp (source, "arrays") == 0)
    {
      obj = get_object (in, node, "data", in->version >= 2
                                          && kan_json_object_get (node, "class_names") != NULL
                                          ? rows_fields_classes : rows_fields);
      return obj != NULL
             ? read_rows_data (in, obj, source[0] == 'c' ? KAN_DATA_CSV : KAN_DATA_ARRAYS)
             : NULL;
    }
  {
    g_autofree char *s = printable (source);
    in_fail (in, KAN_ERROR_SESSION,
             "data.source: unknown source '%s' (expected formula, csv or arrays)", s);
  }
  return NULL;
}

static const char *const train_fields[] = {
  "optimizer", "loss", "steps", "lr", "lamb", "lamb_l1", "lamb_entropy", "lamb_coef",
  "lamb_coefdiff", "update_grid", "grid_update_num", "start_grid_update_step",
  "stop_grid_update_step", "grid_update_tolerance", "batch", "seed", "singularity_avoiding",
  "y_th", "lbfgs_history", "lbfgs_max_iter", "lbfgs_max_eval", "threads", NULL
};

static gboolean
read_train (In             *in,
            const Node     *node,
            KanTrainConfig *t)
{
  const Node *obj = get_object (in, node, "train", train_fields);
  const char *opt, *loss;
  gint64 batch;

  if (obj == NULL)
    return FALSE;
  if (!get_string (in, obj, "train", "optimizer", FALSE, &opt)
      || !get_string (in, obj, "train", "loss", FALSE, &loss))
    return FALSE;
  if (!kan_optimizer_lookup (opt, &t->opt))
    {
      g_autofree char *s = printable (opt);
      return in_fail (in, KAN_ERROR_SESSION, "train.optimizer: unknown optimizer '%s'", s);
    }
  if (!loss_lookup (loss, &t->loss))
    {
      g_autofree char *s = printable (loss);
      return in_fail (in, KAN_ERROR_SESSION, "train.loss: unknown loss '%s'", s);
    }
  /* Rows per minibatch, -1 (or 0, from older files) for the whole train set; the trainer takes
   * at most the train set, so only the type of the field bounds it. */
  if (!node_int (in, member (obj, "batch"), "train.batch", -1, G_MAXLONG, &batch))
    return FALSE;
  t->batch = (long) batch;

  /* Steps, grid-update counts and steps, threads: loops and divisions, never allocations
   * (the trainer clamps grid_update_num to at least 1, and uses at most 64 threads). */
  return get_int (in, obj, "train", "steps", 0, G_MAXINT, &t->steps)
         && get_nonneg (in, obj, "train", "lr", &t->lr)
         && get_nonneg (in, obj, "train", "lamb", &t->lamb)
         && get_nonneg (in, obj, "train", "lamb_l1", &t->lamb_l1)
         && get_nonneg (in, obj, "train", "lamb_entropy", &t->lamb_entropy)
         && get_nonneg (in, obj, "train", "lamb_coef", &t->lamb_coef)
         && get_nonneg (in, obj, "train", "lamb_coefdiff", &t->lamb_coefdiff)
         && get_bool (in, obj, "train", "update_grid", &t->update_grid)
         && get_int (in, obj, "train", "grid_update_num", 0, G_MAXINT, &t->grid_update_num)
         && get_int (in, obj, "train", "start_grid_update_step", -1, G_MAXINT,
                     &t->start_grid_update_step)
         && get_int (in, obj, "train", "stop_grid_update_step", -1, G_MAXINT,
                     &t->stop_grid_update_step)
         && get_nonneg (in, obj, "train", "grid_update_tolerance", &t->grid_update_tolerance)
         && get_seed (in, obj, "train", "seed", &t->seed)
         && get_bool (in, obj, "train", "singularity_avoiding", &t->singularity_avoiding)
         && get_nonneg (in, obj, "train", "y_th", &t->y_th)
         && get_int (in, obj, "train", "lbfgs_history", 1, MAX_LBFGS_HISTORY, &t->lbfgs_history)
         && get_int (in, obj, "train", "lbfgs_max_iter", 1, MAX_LBFGS_ITER, &t->lbfgs_max_iter)
         && get_int (in, obj, "train", "lbfgs_max_eval", 1, MAX_LBFGS_ITER, &t->lbfgs_max_eval)
         && get_int (in, obj, "train", "threads", 1, MAX_THREADS, &t->threads);
}

static const char *const history_fields[] = {
  "op", "detail", "train_rmse", "test_rmse", NULL
};
/* An entry may also carry the model after its operation (version 1 files without it load). */
static const char *const history_fields_model[] = {
  "op", "detail", "train_rmse", "test_rmse", "model", NULL
};

/* An RMSE: a finite non-negative number, or null for unknown (NaN). */
static gboolean
get_rmse (In *in, const Node *obj, const char *path, const char *key, double *out)
{
  if (node_is (member (obj, key), KAN_JSON_NULL))
    {
      *out = NAN;
      return TRUE;
    }
  return get_nonneg (in, obj, path, key, out);
}

static gboolean
read_history (In         *in,
              const Node *node,
              KanSession *s)
{
  const Node *a = node_array (in, node, "history", -1);

  if (a == NULL)
    return FALSE;
  for (gsize i = 0; i < kan_json_length (a); i++)
    {
      g_autofree char *p = g_strdup_printf ("history[%" G_GSIZE_FORMAT "]", i);
      g_autofree char *pm = g_strconcat (p, ".model", NULL);
      Node en = kan_json_array_get (a, i);
      gboolean has_model = node_is (&en, KAN_JSON_OBJECT)
                           && kan_json_object_get (&en, "model") != NULL;
      const Node *obj = get_object (in, &en, p,
                                    has_model ? history_fields_model : history_fields);
      const char *op, *detail;
      double train_rmse, test_rmse;
      KanModel *m = NULL;
      KanHistoryEntry *e;

      if (obj == NULL
          || !get_string (in, obj, p, "op", FALSE, &op)
          || !get_string (in, obj, p, "detail", TRUE, &detail)
          || !get_rmse (in, obj, p, "train_rmse", &train_rmse)
          || !get_rmse (in, obj, p, "test_rmse", &test_rmse))
        return FALSE;
      if (has_model && !node_is (member (obj, "model"), KAN_JSON_NULL)
          && (m = read_model (in, member (obj, "model"), pm)) == NULL)
        return FALSE;
      kan_session_add_history (s, op, detail, train_rmse, test_rmse);
      e = g_ptr_array_index (s->history, s->history->len - 1);
      e->model = m;
    }
  return TRUE;
}

static const char *const session_fields[] = {
  "format", "version", "model", "data", "train", "steps_done", "history", NULL
};
static const char *const session_fields_curve[] = {
  "format", "version", "model", "data", "train", "steps_done", "history", "curve", NULL
};

/* One series of the optional curve: numbers, or null for unknown values (NaN). */
static gboolean
read_curve_series (In         *in,
                   const Node *node,
                   const char *path,
                   gint64      n,
                   GArray     *out)
{
  const Node *a = node_array (in, node, path, n);

  if (a == NULL)
    return FALSE;
  g_array_set_size (out, 0);
  for (gsize i = 0; i < kan_json_length (a); i++)
    {
      Node e = kan_json_array_get (a, i);
      double v = NAN;

      if (!node_is (&e, KAN_JSON_NULL) && !node_is (&e, KAN_JSON_NUMBER))
        return in_fail (in, KAN_ERROR_SESSION, "%s[%" G_GSIZE_FORMAT "]: expected a number or "
                        "null, found %s", path, i, kan_json_kind (&e));
      if (node_is (&e, KAN_JSON_NUMBER))
        v = kan_json_get_double (&e);
      g_array_append_val (out, v);
    }
  return TRUE;
}

static gboolean
read_curve (In         *in,
            const Node *root,
            KanSession *s)
{
  static const char *const fields[] = { "train", "test", NULL };
  static const char *const fields_acc[] = {
    "train", "test", "train_accuracy", "test_accuracy", NULL
  };
  const Node *node = kan_json_object_get (root, "curve");
  gboolean acc;

  if (node == NULL)
    return TRUE;
  acc = node_is (node, KAN_JSON_OBJECT) && (kan_json_object_get (node, "train_accuracy") != NULL
                                            || kan_json_object_get (node, "test_accuracy") != NULL);
  if (get_object (in, node, "curve", acc ? fields_acc : fields) == NULL
      || !read_curve_series (in, member (node, "train"), "curve.train", -1, s->curve_train))
    return FALSE;
  if (!read_curve_series (in, member (node, "test"), "curve.test",
                          (gint64) s->curve_train->len, s->curve_test))
    return FALSE;
  return !acc
         || (read_curve_series (in, member (node, "train_accuracy"), "curve.train_accuracy",
                                (gint64) s->curve_train->len, s->curve_train_acc)
             && read_curve_series (in, member (node, "test_accuracy"), "curve.test_accuracy",
                                   (gint64) s->curve_train->len, s->curve_test_acc));
}

/* The model and data set must fit each other, and training them must fit its budget. */
static gboolean
check_consistent (In               *in,
                  const KanSession *s)
{
  const KanDataset *d = s->data;
  int model_out;

  for (guint h = 0; d != NULL && h < s->history->len; h++)
    {
      const KanHistoryEntry *e = g_ptr_array_index (s->history, h);
      if (e->model != NULL && kan_model_n_in (e->model) != d->n_in)
        return in_fail (in, KAN_ERROR_SESSION, "history[%u].model: the data set has %d inputs, "
                        "the model %d", h, d->n_in, kan_model_n_in (e->model));
    }
  /* L-BFGS keeps 2·history vectors of the parameters and 8 more (kan-lbfgs.c); the trainer's
   * own budget does not count them. */
  if (s->model != NULL)
    {
      double n = (double) kan_model_n_params (s->model);
      double need = ((double) s->train.lbfgs_history * 2 + 8) * n * sizeof (double);

      if (need > KAN_TRAIN_BUDGET_BYTES)
        return in_fail (in, KAN_ERROR_BUDGET, "train.lbfgs_history is %d: L-BFGS would need "
                        "%.3g GiB for the model's %.0f parameters, more than the %g GiB "
                        "training budget", s->train.lbfgs_history, need / 1073741824.0, n,
                        KAN_TRAIN_BUDGET_BYTES / 1073741824.0);
    }
  /* Class names are read from text labels, which only cross-entropy uses. */
  if (d != NULL && d->class_names != NULL && s->train.loss != KAN_LOSS_CE)
    return in_fail (in, KAN_ERROR_SESSION, "data.class_names: the labels name classes, but "
                    "train.loss is '%s' (class names need 'ce')", loss_name (s->train.loss));
  if (s->model == NULL || d == NULL)
    return TRUE;
  if (d->n_in != kan_model_n_in (s->model))
    return in_fail (in, KAN_ERROR_SESSION, "data: the data set has %d inputs, the model %d",
                    d->n_in, kan_model_n_in (s->model));
  /* Cross-entropy labels are class indices in one column. */
  model_out = s->train.loss == KAN_LOSS_CE ? 1 : kan_model_n_out (s->model);
  if (d->n_out != model_out)
    return in_fail (in, KAN_ERROR_SESSION,
                    "data: the data set has %d outputs, the model needs %d", d->n_out, model_out);
  if (d->class_names != NULL && kan_dataset_n_classes (d) > kan_model_n_out (s->model))
    return in_fail (in, KAN_ERROR_SESSION, "data: the data set has %d classes, the model %d "
                    "outputs", kan_dataset_n_classes (d), kan_model_n_out (s->model));
  return TRUE;
}

static gboolean
read_session (In         *in,
              const Node *root,
              KanSession *s)
{
  const Node *node;

  if (!node_is (root, KAN_JSON_OBJECT))
    return in_fail (in, KAN_ERROR_SESSION, "not a Kanvas session: expected an object, found %s",
                    kan_json_kind (root));

  /* Format and version first: a newer or foreign document gets the message that explains it. */
  node = kan_json_object_get (root, "format");
  if (node == NULL)
    return in_fail (in, KAN_ERROR_SESSION, "not a Kanvas session: format is missing");
  if (!node_is (node, KAN_JSON_STRING))
    return in_fail (in, KAN_ERROR_SESSION, "format: expected a string, found %s",
                    kan_json_kind (node));
  if (strcmp (kan_json_get_string (node), KAN_SESSION_FORMAT) != 0)
    {
      g_autofree char *f = printable (kan_json_get_string (node));
      return in_fail (in, KAN_ERROR_SESSION, "unknown format '%s' (expected '%s')",
                      f, KAN_SESSION_FORMAT);
    }
  node = kan_json_object_get (root, "version");
  if (node == NULL)
    return in_fail (in, KAN_ERROR_SESSION, "version is missing");
  if (!node_is (node, KAN_JSON_NUMBER))
    return in_fail (in, KAN_ERROR_SESSION, "version: expected an integer, found %s",
                    kan_json_kind (node));
  /* Any number above the version this build writes is a newer format, however it is written
   * (1e30, a 401-digit integer). */
  if (compare_range (node, 1, KAN_SESSION_VERSION) != 0)
    {
      g_autofree char *what = number_text (node);

      if (compare_range (node, 1, KAN_SESSION_VERSION) > 0)
        return in_fail (in, KAN_ERROR_SESSION, "version %s is newer than this Kanvas understands "
                        "(%d)", what, KAN_SESSION_VERSION);
      return in_fail (in, KAN_ERROR_SESSION, "version %s is not valid", what);
    }
  if (kan_json_number_kind (node) != KAN_JSON_INT)
    return in_fail (in, KAN_ERROR_SESSION, "version: expected an integer, found %s",
                    kan_json_kind (node));
  in->version = (int) kan_json_get_int (node);

  if (get_object (in, root, "", kan_json_object_get (root, "curve") != NULL
                                 ? session_fields_curve : session_fields) == NULL)
    return FALSE;

  node = member (root, "model");
  if (!node_is (node, KAN_JSON_NULL) && (s->model = read_model (in, node, "model")) == NULL)
    return FALSE;
  node = member (root, "data");
  if (!node_is (node, KAN_JSON_NULL) && (s->data = read_data (in, node)) == NULL)
    return FALSE;
  if (!read_train (in, member (root, "train"), &s->train)
      || !get_int (in, root, "", "steps_done", 0, G_MAXINT, &s->steps_done)
      || !read_history (in, member (root, "history"), s)
      || !read_curve (in, root, s))
    return FALSE;
  return check_consistent (in, s);
}

KanSession *
kan_session_from_json (const char  *json,
                       gssize       length,
                       const char  *name_for_errors,
                       GError     **error)
{
  g_autoptr (KanJsonDoc) doc = NULL;
  g_autoptr (KanSession) s = NULL;
  g_autoptr (GError) local = NULL;
  In in = { name_for_errors != NULL ? name_for_errors : "<session>", error, 0 };

  g_return_val_if_fail (json != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (length < 0)
    length = (gssize) strlen (json);
  if (length == 0)
    {
      in_fail (&in, KAN_ERROR_SESSION, "the file is empty");
      return NULL;
    }
  if ((guint64) length > KAN_SESSION_MAX_FILE_BYTES)
    {
      in_fail (&in, KAN_ERROR_BUDGET, "the file is %.1f MiB; a session file may be at most %"
               G_GUINT64_FORMAT " MiB (loading one needs up to %d times its size in memory)",
               (double) length / 1048576.0, (guint64) KAN_SESSION_MAX_FILE_BYTES >> 20,
               KAN_SESSION_LOAD_FACTOR);
      return NULL;
    }
  /* The parser's own limits: KAN_JSON_MAX_DEPTH levels, and at most KAN_JSON_MEMORY_FACTOR
   * times the text for the parsed form (see KAN_SESSION_LOAD_FACTOR). */
  doc = kan_json_parse (json, (gsize) length, NULL, &local);
  if (doc == NULL)
    {
      /* "LINE:COL: what" under the file's name. */
      g_set_error (error, KAN_ERROR, g_error_matches (local, KAN_ERROR, KAN_ERROR_BUDGET)
                                     ? KAN_ERROR_BUDGET : KAN_ERROR_SESSION,
                   "%s:%s", in.name, local->message);
      return NULL;
    }

  s = kan_session_new ();
  if (!read_session (&in, kan_json_root (doc), s))
    return NULL;
  return g_steal_pointer (&s);
}

KanSession *
kan_session_load (const char  *path,
                  GError     **error)
{
  g_autofree char *contents = NULL;
  gsize len = 0;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* Read through a counting limit, so that /dev/zero or a pipe is bounded like a file. */
  contents = kan_file_read (path, KAN_SESSION_MAX_FILE_BYTES, &len, error);
  if (contents == NULL)
    return NULL;
  return kan_session_from_json (contents, (gssize) len, path, error);
}
