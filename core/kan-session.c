/* kan-session.c — reading and writing session documents.
 *
 * A session is one JSON object (UTF-8, two-space indent, a final newline):
 *
 *   {
 *     "format": "kanvas-session",          always this string; checked first
 *     "version": 1,                        newer versions are refused
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
 *           "train_x": [[row], …], "train_y": [[row], …], "test_x": …, "test_y": …,
 *           "in_mean": […] | null, "in_std": […] | null,
 *           "out_mean": […] | null, "out_std": […] | null },
 *     "train": { every field of KanTrainConfig under its own name, "optimizer": "lbfgs" |
 *                "adam" | "lm", "loss": "mse" | "ce" },
 *     "steps_done": 0,
 *     "history": [ { "op": "fit", "detail": "…" | null, "train_rmse": 0.01 | null,
 *                    "test_rmse": …, "model": { as above } (optional) }, … ]
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
 * Loading is strict: every field is required (null where allowed), unknown fields are refused,
 * and every error names the file and the JSON path of the problem. Sizes are checked against
 * KAN_SESSION_BUDGET_BYTES before anything is allocated. json-glib keeps the last of duplicated
 * keys; that is not detected.
 */
#include "kan-session.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "kan-error.h"
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

#define OUT_MAX_DEPTH 16

typedef struct
{
  GString  *s;
  int       depth;
  gboolean  empty[OUT_MAX_DEPTH]; /* nothing written yet inside the container at this depth */
} Out;

static void
out_newline (Out *o)
{
  g_string_append_c (o->s, '\n');
  for (int i = 0; i < o->depth; i++)
    g_string_append (o->s, "  ");
}

/* Starts a new line for the next member or element of the current container. */
static void
out_item (Out *o)
{
  if (!o->empty[o->depth])
    g_string_append_c (o->s, ',');
  o->empty[o->depth] = FALSE;
  out_newline (o);
}

static void
out_open (Out *o,
          char c)
{
  g_assert (o->depth + 1 < OUT_MAX_DEPTH);
  g_string_append_c (o->s, c);
  o->depth++;
  o->empty[o->depth] = TRUE;
}

static void
out_close (Out *o,
           char c)
{
  gboolean empty = o->empty[o->depth];

  o->depth--;
  if (!empty)
    out_newline (o);
  g_string_append_c (o->s, c);
}

static void
out_string (Out        *o,
            const char *str)
{
  g_autofree char *valid = NULL;

  if (str == NULL)
    {
      g_string_append (o->s, "null");
      return;
    }
  /* JSON is UTF-8; a path or name that is not (a Latin-1 file name, say) is written repaired. */
  if (!g_utf8_validate (str, -1, NULL))
    str = valid = g_utf8_make_valid (str, -1);

  g_string_append_c (o->s, '"');
  for (const unsigned char *p = (const unsigned char *) str; *p != '\0'; p++)
    {
      switch (*p)
        {
        case '"':
          g_string_append (o->s, "\\\"");
          break;
        case '\\':
          g_string_append (o->s, "\\\\");
          break;
        case '\n':
          g_string_append (o->s, "\\n");
          break;
        case '\r':
          g_string_append (o->s, "\\r");
          break;
        case '\t':
          g_string_append (o->s, "\\t");
          break;
        default:
          if (*p < 0x20)
            g_string_append_printf (o->s, "\\u%04x", *p);
          else
            g_string_append_c (o->s, (char) *p);
        }
    }
  g_string_append_c (o->s, '"');
}

static void
out_key (Out        *o,
         const char *key)
{
  out_item (o);
  out_string (o, key);
  g_string_append (o->s, ": ");
}

/* The shortest of %.15g, %.16g and %.17g that reads back to the same bits, independent of the
 * locale; with a ".0" when it would otherwise read as an integer (which loses -0.0). */
static void
out_double (Out    *o,
            double  v)
{
  static const char *const formats[] = { "%.15g", "%.16g", "%.17g" };
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  if (!isfinite (v))
    {
      g_string_append (o->s, "null");
      return;
    }
  for (guint f = 0; f < G_N_ELEMENTS (formats); f++)
    {
      double back;

      g_ascii_formatd (buf, sizeof buf, formats[f], v);
      back = g_ascii_strtod (buf, NULL);
      if (memcmp (&back, &v, sizeof v) == 0)
        break;
    }
  g_string_append (o->s, buf);
  if (strpbrk (buf, ".e") == NULL)
    g_string_append (o->s, ".0");
}

static void
out_int (Out    *o,
         gint64  v)
{
  g_string_append_printf (o->s, "%" G_GINT64_FORMAT, v);
}

static void
out_uint64 (Out     *o,
            guint64  v)
{
  if (v <= (guint64) G_MAXINT64)
    g_string_append_printf (o->s, "%" G_GUINT64_FORMAT, v);
  else
    g_string_append_printf (o->s, "\"%" G_GUINT64_FORMAT "\"", v);
}

static void
out_bool (Out      *o,
          gboolean  v)
{
  g_string_append (o->s, v ? "true" : "false");
}

static void
out_key_double (Out *o, const char *key, double v)
{
  out_key (o, key);
  out_double (o, v);
}

static void
out_key_int (Out *o, const char *key, gint64 v)
{
  out_key (o, key);
  out_int (o, v);
}

static void
out_key_uint64 (Out *o, const char *key, guint64 v)
{
  out_key (o, key);
  out_uint64 (o, v);
}

static void
out_key_bool (Out *o, const char *key, gboolean v)
{
  out_key (o, key);
  out_bool (o, v);
}

static void
out_key_string (Out *o, const char *key, const char *v)
{
  out_key (o, key);
  out_string (o, v);
}

/* N doubles on one line: [a, b, c]. */
static void
out_double_row (Out          *o,
                const double *v,
                size_t        n)
{
  g_string_append_c (o->s, '[');
  for (size_t i = 0; i < n; i++)
    {
      if (i > 0)
        g_string_append (o->s, ", ");
      out_double (o, v[i]);
    }
  g_string_append_c (o->s, ']');
}

/* A flat array of N doubles, PER_LINE values to a line (on one line when it fits). */
static void
out_doubles (Out          *o,
             const double *v,
             size_t        n,
             size_t        per_line)
{
  if (n <= per_line || per_line == 0)
    {
      out_double_row (o, v, n);
      return;
    }
  out_open (o, '[');
  for (size_t i = 0; i < n; i += per_line)
    {
      out_item (o);
      for (size_t j = i; j < MIN (n, i + per_line); j++)
        {
          if (j > i)
            g_string_append (o->s, ", ");
          out_double (o, v[j]);
        }
    }
  out_close (o, ']');
}

/* ROWS rows of COLS doubles: [[…], […]], a row to a line. */
static void
out_matrix (Out          *o,
            const double *v,
            size_t        rows,
            size_t        cols)
{
  out_open (o, '[');
  for (size_t r = 0; r < rows; r++)
    {
      out_item (o);
      out_double_row (o, v + r * cols, cols);
    }
  out_close (o, ']');
}

/* A mask: integers 0 or 1, PER_LINE to a line. */
static void
out_mask (Out          *o,
          const double *v,
          size_t        n,
          size_t        per_line)
{
  gboolean multi = n > per_line;

  if (multi)
    out_open (o, '[');
  else
    g_string_append_c (o->s, '[');
  for (size_t i = 0; i < n; i++)
    {
      if (multi && i % per_line == 0)
        out_item (o);
      else if (i > 0)
        g_string_append (o->s, ", ");
      g_string_append_c (o->s, v[i] != 0.0 ? '1' : '0');
    }
  if (multi)
    out_close (o, ']');
  else
    g_string_append_c (o->s, ']');
}

static void
out_strv (Out               *o,
          const char *const *v,
          size_t             n)
{
  g_string_append_c (o->s, '[');
  for (size_t i = 0; i < n; i++)
    {
      if (i > 0)
        g_string_append (o->s, ", ");
      out_string (o, v != NULL ? v[i] : NULL);
    }
  g_string_append_c (o->s, ']');
}

static const char *
sym_name (int id)
{
  if (id < 0 || id >= kan_sym_count ())
    id = kan_sym_zero ();
  return kan_sym_info (id)->name;
}

static void
write_layer (Out            *o,
             const KanModel *m,
             const KanLayer *L)
{
  size_t n_edges = (size_t) L->n_in * L->n_out;
  size_t n_coef = (size_t) (m->G + m->k);
  size_t n_knots = (size_t) (m->G + 2 * m->k + 1);
  size_t per_node = (size_t) L->n_out;

  out_open (o, '{');
  out_key_int (o, "n_in", L->n_in);
  out_key_int (o, "n_out", L->n_out);
  out_key (o, "grid");
  out_matrix (o, L->grid, (size_t) L->n_in, n_knots);
  out_key (o, "coef");
  out_doubles (o, L->coef, n_edges * n_coef, n_coef);
  out_key (o, "scale_base");
  out_doubles (o, L->scale_base, n_edges, per_node);
  out_key (o, "scale_sp");
  out_doubles (o, L->scale_sp, n_edges, per_node);
  out_key (o, "mask");
  out_mask (o, L->mask, n_edges, per_node);
  out_key (o, "mask_sym");
  out_mask (o, L->mask_sym, n_edges, per_node);

  out_key (o, "sym_fn");
  out_open (o, '[');
  for (int i = 0; i < L->n_in; i++)
    {
      out_item (o);
      for (int j = 0; j < L->n_out; j++)
        {
          if (j > 0)
            g_string_append (o->s, ", ");
          out_string (o, sym_name (L->sym_fn[(size_t) i * L->n_out + j]));
        }
    }
  out_close (o, ']');

  out_key (o, "sym");
  out_doubles (o, L->sym, n_edges * 4, 4);
  out_key (o, "subnode_scale");
  out_double_row (o, L->subnode_scale, (size_t) L->n_out);
  out_key (o, "subnode_bias");
  out_double_row (o, L->subnode_bias, (size_t) L->n_out);
  out_key (o, "node_scale");
  out_double_row (o, L->node_scale, (size_t) L->n_next);
  out_key (o, "node_bias");
  out_double_row (o, L->node_bias, (size_t) L->n_next);
  out_close (o, '}');
}

static void
write_model (Out            *o,
             const KanModel *m)
{
  const KanShape *shape = m->shape;
  g_autofree char *width = kan_shape_to_string (shape);

  out_open (o, '{');
  out_key_string (o, "width", width);
  out_key (o, "mult_arity");
  g_string_append_c (o->s, '[');
  for (int l = 0, first = 1; l < shape->n_layers; l++)
    for (int q = 0; q < shape->n_mult[l]; q++, first = 0)
      {
        if (!first)
          g_string_append (o->s, ", ");
        out_int (o, shape->arity[l][q]);
      }
  g_string_append_c (o->s, ']');
  out_key_int (o, "grid", m->G);
  out_key_int (o, "k", m->k);
  out_key_string (o, "base_fun", kan_base_fun_name (m->base_fun));
  out_key_double (o, "grid_eps", m->grid_eps);
  out_key (o, "grid_range");
  out_double_row (o, m->grid_range, 2);
  out_key_bool (o, "sp_trainable", m->sp_trainable);
  out_key_bool (o, "sb_trainable", m->sb_trainable);
  out_key_bool (o, "affine_trainable", m->affine_trainable);
  out_key_double (o, "noise_scale", m->noise_scale);
  out_key_double (o, "scale_base_mu", m->scale_base_mu);
  out_key_double (o, "scale_base_sigma", m->scale_base_sigma);
  out_key_uint64 (o, "seed", m->seed);
  out_key (o, "layers");
  out_open (o, '[');
  for (int l = 0; l < m->depth; l++)
    {
      out_item (o);
      write_layer (o, m, &m->layers[l]);
    }
  out_close (o, ']');
  out_close (o, '}');
}

static void
out_key_stats (Out          *o,
               const char   *key,
               const double *v,
               int           n)
{
  out_key (o, key);
  if (v == NULL)
    g_string_append (o->s, "null");
  else
    out_double_row (o, v, (size_t) n);
}

static void
write_data (Out              *o,
            const KanDataset *d)
{
  out_open (o, '{');
  out_key_string (o, "source", source_name (d->source));
  if (d->source == KAN_DATA_FORMULA)
    {
      out_key_string (o, "formula", d->formula);
      out_key (o, "vars");
      out_strv (o, (const char *const *) d->in_names, (size_t) d->n_in);
      out_key (o, "ranges");
      out_matrix (o, d->ranges, (size_t) d->n_in, 2);
      out_key_int (o, "n_train", (gint64) d->n_train);
      out_key_int (o, "n_test", (gint64) d->n_test);
      out_key_double (o, "noise", d->noise);
      out_key_uint64 (o, "seed", d->seed);
      out_key_bool (o, "normalize_input", d->in_mean != NULL);
      out_key_bool (o, "normalize_label", d->out_mean != NULL);
    }
  else
    {
      out_key_string (o, "path", d->csv_path);
      out_key_double (o, "test_fraction", d->test_fraction);
      out_key_uint64 (o, "seed", d->seed);
      out_key (o, "in_names");
      out_strv (o, (const char *const *) d->in_names, (size_t) d->n_in);
      out_key (o, "out_names");
      out_strv (o, (const char *const *) d->out_names, (size_t) d->n_out);
      out_key (o, "train_x");
      out_matrix (o, d->train_x, d->n_train, (size_t) d->n_in);
      out_key (o, "train_y");
      out_matrix (o, d->train_y, d->n_train, (size_t) d->n_out);
      out_key (o, "test_x");
      out_matrix (o, d->test_x, d->n_test, (size_t) d->n_in);
      out_key (o, "test_y");
      out_matrix (o, d->test_y, d->n_test, (size_t) d->n_out);
      out_key_stats (o, "in_mean", d->in_mean, d->n_in);
      out_key_stats (o, "in_std", d->in_std, d->n_in);
      out_key_stats (o, "out_mean", d->out_mean, d->n_out);
      out_key_stats (o, "out_std", d->out_std, d->n_out);
    }
  out_close (o, '}');
}

static void
write_train (Out                  *o,
             const KanTrainConfig *t)
{
  out_open (o, '{');
  out_key_string (o, "optimizer", kan_optimizer_name (t->opt));
  out_key_string (o, "loss", loss_name (t->loss));
  out_key_int (o, "steps", t->steps);
  out_key_double (o, "lr", t->lr);
  out_key_double (o, "lamb", t->lamb);
  out_key_double (o, "lamb_l1", t->lamb_l1);
  out_key_double (o, "lamb_entropy", t->lamb_entropy);
  out_key_double (o, "lamb_coef", t->lamb_coef);
  out_key_double (o, "lamb_coefdiff", t->lamb_coefdiff);
  out_key_bool (o, "update_grid", t->update_grid);
  out_key_int (o, "grid_update_num", t->grid_update_num);
  out_key_int (o, "start_grid_update_step", t->start_grid_update_step);
  out_key_int (o, "stop_grid_update_step", t->stop_grid_update_step);
  out_key_double (o, "grid_update_tolerance", t->grid_update_tolerance);
  out_key_int (o, "batch", t->batch);
  out_key_uint64 (o, "seed", t->seed);
  out_key_bool (o, "singularity_avoiding", t->singularity_avoiding);
  out_key_double (o, "y_th", t->y_th);
  out_key_int (o, "lbfgs_history", t->lbfgs_history);
  out_key_int (o, "lbfgs_max_iter", t->lbfgs_max_iter);
  out_key_int (o, "lbfgs_max_eval", t->lbfgs_max_eval);
  out_key_int (o, "threads", t->threads);
  out_close (o, '}');
}

char *
kan_session_to_json (const KanSession *s,
                     gsize            *length)
{
  Out o = { 0 };

  g_return_val_if_fail (s != NULL, NULL);

  o.s = g_string_sized_new (4096);
  out_open (&o, '{');
  out_key_string (&o, "format", KAN_SESSION_FORMAT);
  out_key_int (&o, "version", KAN_SESSION_VERSION);

  out_key (&o, "model");
  if (s->model != NULL)
    write_model (&o, s->model);
  else
    g_string_append (o.s, "null");

  out_key (&o, "data");
  if (s->data != NULL)
    write_data (&o, s->data);
  else
    g_string_append (o.s, "null");

  out_key (&o, "train");
  write_train (&o, &s->train);
  out_key_int (&o, "steps_done", s->steps_done);

  out_key (&o, "history");
  out_open (&o, '[');
  for (guint i = 0; s->history != NULL && i < s->history->len; i++)
    {
      const KanHistoryEntry *e = g_ptr_array_index (s->history, i);

      out_item (&o);
      g_string_append (o.s, "{\"op\": ");
      out_string (&o, e->op);
      g_string_append (o.s, ", \"detail\": ");
      out_string (&o, e->detail);
      g_string_append (o.s, ", \"train_rmse\": ");
      out_double (&o, e->train_rmse);
      g_string_append (o.s, ", \"test_rmse\": ");
      out_double (&o, e->test_rmse);
      if (e->model != NULL)
        {
          g_string_append (o.s, ", \"model\": ");
          write_model (&o, e->model);
        }
      g_string_append_c (o.s, '}');
    }
  out_close (&o, ']');
  out_close (&o, '}');
  g_string_append_c (o.s, '\n');

  if (length != NULL)
    *length = o.s->len;
  return g_string_free (o.s, FALSE);
}

/* Replaces PATH by DATA atomically: a reader (or a crash) sees the old file or the new one,
 * never a partial one. The data go to a temporary file in the same folder, which is fsynced and
 * renamed over PATH. The temporary name is fixed (".NAME.tmp" next to PATH) rather than random
 * (g_file_set_contents's NAME.XXXXXX), so a save killed half-way leaves at most that one file
 * behind and the next save reuses it, instead of strays piling up. Two processes saving to the
 * same PATH take turns through a lock on the temporary file. On failure the temporary file is
 * removed and PATH is untouched. */
static gboolean
save_atomically (const char *path,
                 const char *data,
                 gsize       len,
                 GError    **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *tmp = g_strdup_printf ("%s%s.%s.tmp", dir, G_DIR_SEPARATOR_S, base);
  const char *what;
  int fd, err, dfd;
  gsize done = 0;

  for (;;)
    {
      struct stat a, b;

      fd = g_open (tmp, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
      if (fd < 0)
        {
          err = errno;
          g_set_error (error, KAN_ERROR, KAN_ERROR_IO, "%s: cannot save: cannot create %s: %s",
                       path, tmp, g_strerror (err));
          return FALSE;
        }
      if (flock (fd, LOCK_EX) != 0)
        {
          err = errno;
          what = "cannot lock";
          goto fail;
        }
      /* Another save may have renamed the file away between our open and our lock. */
      if (fstat (fd, &a) == 0 && g_stat (tmp, &b) == 0 && a.st_dev == b.st_dev
          && a.st_ino == b.st_ino)
        break;
      close (fd);
    }

  if (ftruncate (fd, 0) != 0)
    {
      err = errno;
      what = "cannot write";
      goto fail;
    }
  while (done < len)
    {
      gssize n = write (fd, data + done, len - done);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          err = n < 0 ? errno : ENOSPC;
          what = "cannot write";
          goto fail;
        }
      done += (gsize) n;
    }
  if (fsync (fd) != 0)
    {
      err = errno;
      what = "cannot write";
      goto fail;
    }
  if (g_rename (tmp, path) != 0)
    {
      err = errno;
      what = "cannot replace it";
      goto fail;
    }
  close (fd);
  /* The rename itself reaches the disk with the folder. */
  dfd = g_open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (dfd >= 0)
    {
      fsync (dfd);
      close (dfd);
    }
  return TRUE;

fail:
  g_unlink (tmp);
  close (fd);
  g_set_error (error, KAN_ERROR, KAN_ERROR_IO, "%s: cannot save: %s: %s", path, what,
               g_strerror (err));
  return FALSE;
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
  return save_atomically (path, json, len, error);
}

/* ------------------------------------------------------------------------------------------ */
/* Reading                                                                                    */
/* ------------------------------------------------------------------------------------------ */

/* Every reader takes the file name for messages, the JSON path of what it reads, and the error
 * location; it returns FALSE (or NULL) after setting the error. */
typedef struct
{
  const char *name;
  GError    **error;
} In;

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

static const char *
node_kind (JsonNode *node)
{
  switch (json_node_get_node_type (node))
    {
    case JSON_NODE_OBJECT:
      return "an object";
    case JSON_NODE_ARRAY:
      return "an array";
    case JSON_NODE_NULL:
      return "null";
    case JSON_NODE_VALUE:
    default:
      break;
    }
  switch (json_node_get_value_type (node))
    {
    case G_TYPE_STRING:
      return "a string";
    case G_TYPE_BOOLEAN:
      return "a boolean";
    case G_TYPE_INT64:
      return "an integer";
    case G_TYPE_DOUBLE:
      return "a number";
    default:
      return "a value";
    }
}

static gboolean
node_is_number (JsonNode *node)
{
  GType t;

  if (!JSON_NODE_HOLDS_VALUE (node))
    return FALSE;
  t = json_node_get_value_type (node);
  return t == G_TYPE_DOUBLE || t == G_TYPE_INT64;
}

static gboolean
node_is_int (JsonNode *node)
{
  return JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_INT64;
}

static gboolean
node_is_string (JsonNode *node)
{
  return JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING;
}

static char *
path_join (const char *path,
           const char *key)
{
  return *path != '\0' ? g_strconcat (path, ".", key, NULL) : g_strdup (key);
}

/* An object at PATH whose members are all in FIELDS (NULL-terminated) and all present. */
static JsonObject *
get_object (In                *in,
            JsonNode          *node,
            const char        *path,
            const char *const *fields)
{
  JsonObject *obj;
  JsonObjectIter iter;
  const char *key;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      in_fail (in, KAN_ERROR_SESSION, "%s: expected an object, found %s", path, node_kind (node));
      return NULL;
    }
  obj = json_node_get_object (node);
  json_object_iter_init (&iter, obj);
  while (json_object_iter_next (&iter, &key, NULL))
    if (!g_strv_contains (fields, key))
      {
        in_fail (in, KAN_ERROR_SESSION, "%s%sunknown field '%s'", path, *path ? ": " : "", key);
        return NULL;
      }
  for (const char *const *f = fields; *f != NULL; f++)
    if (!json_object_has_member (obj, *f))
      {
        g_autofree char *p = path_join (path, *f);
        in_fail (in, KAN_ERROR_SESSION, "%s is missing", p);
        return NULL;
      }
  return obj;
}

static gboolean
node_double (In         *in,
             JsonNode   *node,
             const char *path,
             double     *out)
{
  if (!node_is_number (node))
    return in_fail (in, KAN_ERROR_SESSION, "%s: expected a number, found %s",
                    path, node_kind (node));
  *out = json_node_get_double (node);
  if (!isfinite (*out))
    return in_fail (in, KAN_ERROR_SESSION, "%s: %g is not a finite number", path, *out);
  return TRUE;
}

static gboolean
node_int (In         *in,
          JsonNode   *node,
          const char *path,
          gint64      lo,
          gint64      hi,
          gint64     *out)
{
  if (!node_is_int (node))
    return in_fail (in, KAN_ERROR_SESSION, "%s: expected an integer, found %s",
                    path, node_kind (node));
  *out = json_node_get_int (node);
  if (*out < lo || *out > hi)
    return in_fail (in, KAN_ERROR_SESSION,
                    "%s is %" G_GINT64_FORMAT ", expected %" G_GINT64_FORMAT " to %"
                    G_GINT64_FORMAT, path, *out, lo, hi);
  return TRUE;
}

static gboolean
get_double (In *in, JsonObject *obj, const char *path, const char *key, double *out)
{
  g_autofree char *p = path_join (path, key);
  return node_double (in, json_object_get_member (obj, key), p, out);
}

static gboolean
get_nonneg (In *in, JsonObject *obj, const char *path, const char *key, double *out)
{
  g_autofree char *p = path_join (path, key);

  if (!node_double (in, json_object_get_member (obj, key), p, out))
    return FALSE;
  if (*out < 0)
    return in_fail (in, KAN_ERROR_SESSION, "%s is %g, expected at least 0", p, *out);
  return TRUE;
}

static gboolean
get_int (In *in, JsonObject *obj, const char *path, const char *key, gint64 lo, gint64 hi,
         int *out)
{
  g_autofree char *p = path_join (path, key);
  gint64 v;

  g_assert (lo >= G_MININT && hi <= G_MAXINT);
  if (!node_int (in, json_object_get_member (obj, key), p, lo, hi, &v))
    return FALSE;
  *out = (int) v;
  return TRUE;
}

static gboolean
get_bool (In *in, JsonObject *obj, const char *path, const char *key, gboolean *out)
{
  g_autofree char *p = path_join (path, key);
  JsonNode *node = json_object_get_member (obj, key);

  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    return in_fail (in, KAN_ERROR_SESSION, "%s: expected true or false, found %s",
                    p, node_kind (node));
  *out = json_node_get_boolean (node);
  return TRUE;
}

/* A string member; NULL for JSON null when NULLABLE. */
static gboolean
get_string (In *in, JsonObject *obj, const char *path, const char *key, gboolean nullable,
            const char **out)
{
  g_autofree char *p = path_join (path, key);
  JsonNode *node = json_object_get_member (obj, key);

  if (nullable && JSON_NODE_HOLDS_NULL (node))
    {
      *out = NULL;
      return TRUE;
    }
  if (!node_is_string (node))
    return in_fail (in, KAN_ERROR_SESSION, "%s: expected a string%s, found %s",
                    p, nullable ? " or null" : "", node_kind (node));
  *out = json_node_get_string (node);
  return TRUE;
}

/* A seed: a non-negative integer, or a decimal string for values above 2^63-1. */
static gboolean
get_seed (In *in, JsonObject *obj, const char *path, const char *key, guint64 *out)
{
  g_autofree char *p = path_join (path, key);
  JsonNode *node = json_object_get_member (obj, key);
  gint64 v;

  if (node_is_string (node))
    {
      if (!g_ascii_string_to_unsigned (json_node_get_string (node), 10, 0, G_MAXUINT64, out,
                                       NULL))
        return in_fail (in, KAN_ERROR_SESSION, "%s: '%s' is not a seed", p,
                        json_node_get_string (node));
      return TRUE;
    }
  if (!node_int (in, node, p, 0, G_MAXINT64, &v))
    return FALSE;
  *out = (guint64) v;
  return TRUE;
}

/* An array at PATH of exactly N elements (any length when N < 0). */
static JsonArray *
node_array (In         *in,
            JsonNode   *node,
            const char *path,
            gint64      n)
{
  JsonArray *a;

  if (!JSON_NODE_HOLDS_ARRAY (node))
    {
      in_fail (in, KAN_ERROR_SESSION, "%s: expected an array, found %s", path, node_kind (node));
      return NULL;
    }
  a = json_node_get_array (node);
  if (n >= 0 && json_array_get_length (a) != (guint64) n)
    {
      in_fail (in, KAN_ERROR_SESSION, "%s has %u values, expected %" G_GINT64_FORMAT,
               path, json_array_get_length (a), n);
      return NULL;
    }
  return a;
}

/* N finite doubles into DST. */
static gboolean
node_doubles (In         *in,
              JsonNode   *node,
              const char *path,
              size_t      n,
              double     *dst)
{
  JsonArray *a = node_array (in, node, path, (gint64) n);

  if (a == NULL)
    return FALSE;
  for (size_t i = 0; i < n; i++)
    {
      JsonNode *e = json_array_get_element (a, (guint) i);

      if (G_UNLIKELY (!node_is_number (e)))
        return in_fail (in, KAN_ERROR_SESSION, "%s[%zu]: expected a number, found %s",
                        path, i, node_kind (e));
      dst[i] = json_node_get_double (e);
      if (G_UNLIKELY (!isfinite (dst[i])))
        return in_fail (in, KAN_ERROR_SESSION, "%s[%zu]: %g is not a finite number",
                        path, i, dst[i]);
    }
  return TRUE;
}

static gboolean
get_doubles (In *in, JsonObject *obj, const char *path, const char *key, size_t n, double *dst)
{
  g_autofree char *p = path_join (path, key);
  return node_doubles (in, json_object_get_member (obj, key), p, n, dst);
}

/* ROWS arrays of COLS finite doubles, row-major into DST. */
static gboolean
node_matrix (In         *in,
             JsonNode   *node,
             const char *path,
             size_t      rows,
             size_t      cols,
             double     *dst)
{
  JsonArray *a = node_array (in, node, path, (gint64) rows);

  if (a == NULL)
    return FALSE;
  for (size_t r = 0; r < rows; r++)
    {
      g_autofree char *p = g_strdup_printf ("%s[%zu]", path, r);

      if (!node_doubles (in, json_array_get_element (a, (guint) r), p, cols, dst + r * cols))
        return FALSE;
    }
  return TRUE;
}

/* An array of strings (NULL-terminated copy in *OUT). */
static gboolean
node_strv (In         *in,
           JsonNode   *node,
           const char *path,
           gint64      n,
           GStrv      *out)
{
  JsonArray *a = node_array (in, node, path, n);
  g_auto (GStrv) v = NULL;
  guint len;

  if (a == NULL)
    return FALSE;
  len = json_array_get_length (a);
  v = g_new0 (char *, len + 1);
  for (guint i = 0; i < len; i++)
    {
      JsonNode *e = json_array_get_element (a, i);

      if (!node_is_string (e))
        return in_fail (in, KAN_ERROR_SESSION, "%s[%u]: expected a string, found %s",
                        path, i, node_kind (e));
      v[i] = g_strdup (json_node_get_string (e));
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

static gboolean
read_mask (In         *in,
           JsonObject *obj,
           const char *path,
           const char *key,
           size_t      n,
           double     *dst)
{
  g_autofree char *p = path_join (path, key);

  if (!node_doubles (in, json_object_get_member (obj, key), p, n, dst))
    return FALSE;
  for (size_t i = 0; i < n; i++)
    if (dst[i] != 0.0 && dst[i] != 1.0)
      return in_fail (in, KAN_ERROR_SESSION, "%s[%zu] is %g, expected 0 or 1", p, i, dst[i]);
  return TRUE;
}

static gboolean
read_layer (In         *in,
            JsonNode   *node,
            const char *path,
            KanModel   *m,
            KanLayer   *L)
{
  JsonObject *obj = get_object (in, node, path, layer_fields);
  size_t n_edges = (size_t) L->n_in * L->n_out;
  size_t n_knots = (size_t) (m->G + 2 * m->k + 1);
  int n_in, n_out;

  if (obj == NULL)
    return FALSE;
  if (!get_int (in, obj, path, "n_in", 0, G_MAXINT, &n_in)
      || !get_int (in, obj, path, "n_out", 0, G_MAXINT, &n_out))
    return FALSE;
  if (n_in != L->n_in || n_out != L->n_out)
    return in_fail (in, KAN_ERROR_SESSION,
                    "%s is %d×%d, but the width gives it %d inputs and %d subnodes",
                    path, n_in, n_out, L->n_in, L->n_out);

  {
    g_autofree char *p = path_join (path, "grid");

    if (!node_matrix (in, json_object_get_member (obj, "grid"), p, (size_t) L->n_in, n_knots,
                      L->grid))
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
    JsonArray *a = node_array (in, json_object_get_member (obj, "sym_fn"), p, (gint64) n_edges);

    if (a == NULL)
      return FALSE;
    for (size_t e = 0; e < n_edges; e++)
      {
        JsonNode *name = json_array_get_element (a, (guint) e);
        int id;

        if (!node_is_string (name))
          return in_fail (in, KAN_ERROR_SESSION, "%s[%zu]: expected a function name, found %s",
                          p, e, node_kind (name));
        id = kan_sym_lookup (json_node_get_string (name));
        if (id < 0)
          return in_fail (in, KAN_ERROR_SESSION, "%s[%zu]: unknown symbolic function '%s'",
                          p, e, json_node_get_string (name));
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

/* Bytes of the parameters and state of a model of SHAPE (as kan-model-private.h lays it out). */
static double
model_bytes (const KanShape *shape,
             int             G,
             int             k)
{
  double total = 0;

  for (int l = 0; l + 1 < shape->n_layers; l++)
    {
      double n_in = (double) shape->n_sum[l] + shape->n_mult[l];
      double n_next = (double) shape->n_sum[l + 1] + shape->n_mult[l + 1];
      double n_out = shape->n_sum[l + 1];
      double edges;

      for (int q = 0; q < shape->n_mult[l + 1]; q++)
        n_out += shape->arity[l + 1][q];
      edges = n_in * n_out;
      total += sizeof (double) * (edges * ((double) G + k + 2 + 4 + 2) + 2 * n_out + 2 * n_next
                                  + n_in * ((double) G + 2.0 * k + 1));
      total += sizeof (int) * (edges + n_next + 1);
    }
  return total;
}

static KanModel *
read_model (In       *in,
            JsonNode *node)
{
  JsonObject *obj = get_object (in, node, "model", model_fields);
  KanModelConfig cfg;
  g_autoptr (KanShape) shape = NULL;
  g_autoptr (KanModel) m = NULL;
  g_autoptr (GString) arity = g_string_new (NULL);
  g_autoptr (GError) local = NULL;
  const char *width, *base;
  JsonArray *a, *layers;
  int n_arity, total_mult = 0;

  if (obj == NULL)
    return NULL;

  kan_model_config_init (&cfg);
  if (!get_string (in, obj, "model", "width", FALSE, &width))
    return NULL;
  a = node_array (in, json_object_get_member (obj, "mult_arity"), "model.mult_arity", -1);
  if (a == NULL)
    return NULL;
  n_arity = (int) json_array_get_length (a);
  for (int q = 0; q < n_arity; q++)
    {
      g_autofree char *p = g_strdup_printf ("model.mult_arity[%d]", q);
      gint64 v;

      if (!node_int (in, json_array_get_element (a, (guint) q), p, 2, G_MAXINT, &v))
        return NULL;
      g_string_append_printf (arity, "%s%" G_GINT64_FORMAT, q > 0 ? "," : "", v);
    }
  shape = kan_shape_parse (width, n_arity > 0 ? arity->str : NULL, &local);
  if (shape == NULL)
    {
      in_fail (in, KAN_ERROR_SESSION, "model.width '%s': %s", width, local->message);
      return NULL;
    }
  for (int l = 0; l < shape->n_layers; l++)
    total_mult += shape->n_mult[l];
  /* kan_shape_parse takes one arity for all nodes; the document lists each. */
  if (total_mult != n_arity)
    {
      in_fail (in, KAN_ERROR_SESSION,
               "model.mult_arity has %d values, expected %d (one per multiplication node)",
               n_arity, total_mult);
      return NULL;
    }
  if (shape->n_layers < 2)
    {
      in_fail (in, KAN_ERROR_SESSION, "model.width '%s' has no layer of edges", width);
      return NULL;
    }
  cfg.shape = shape;

  if (!get_int (in, obj, "model", "grid", 1, G_MAXINT / 4, &cfg.grid)
      || !get_int (in, obj, "model", "k", 1, KAN_SPLINE_MAX_K, &cfg.k))
    return NULL;
  if (!check_budget (in, "the model", model_bytes (shape, cfg.grid, cfg.k)))
    return NULL;

  if (!get_string (in, obj, "model", "base_fun", FALSE, &base))
    return NULL;
  if (!kan_base_fun_lookup (base, &cfg.base_fun))
    {
      in_fail (in, KAN_ERROR_SESSION, "model.base_fun: unknown base function '%s'", base);
      return NULL;
    }
  if (!get_nonneg (in, obj, "model", "grid_eps", &cfg.grid_eps)
      || !get_doubles (in, obj, "model", "grid_range", 2, cfg.grid_range)
      || !get_bool (in, obj, "model", "sp_trainable", &cfg.sp_trainable)
      || !get_bool (in, obj, "model", "sb_trainable", &cfg.sb_trainable)
      || !get_bool (in, obj, "model", "affine_trainable", &cfg.affine_trainable)
      || !get_double (in, obj, "model", "noise_scale", &cfg.noise_scale)
      || !get_double (in, obj, "model", "scale_base_mu", &cfg.scale_base_mu)
      || !get_double (in, obj, "model", "scale_base_sigma", &cfg.scale_base_sigma)
      || !get_seed (in, obj, "model", "seed", &cfg.seed))
    return NULL;
  if (!(cfg.grid_range[0] < cfg.grid_range[1]))
    {
      in_fail (in, KAN_ERROR_SESSION, "model.grid_range [%g, %g] is empty",
               cfg.grid_range[0], cfg.grid_range[1]);
      return NULL;
    }

  layers = node_array (in, json_object_get_member (obj, "layers"), "model.layers",
                       shape->n_layers - 1);
  if (layers == NULL)
    return NULL;

  {
    gsize bytes = kan_model_config_bytes (&cfg);

    if (!check_budget (in, "the model", (double) bytes))
      return NULL;
  }
  m = kan_model_alloc (&cfg, &local);
  if (m == NULL)
    {
      in_fail (in, g_error_matches (local, KAN_ERROR, KAN_ERROR_BUDGET)
                   ? KAN_ERROR_BUDGET : KAN_ERROR_SESSION, "model: %s", local->message);
      return NULL;
    }
  /* The allocator takes these from CFG; set them again so the document is the authority. */
  m->grid_eps = cfg.grid_eps;
  m->grid_range[0] = cfg.grid_range[0];
  m->grid_range[1] = cfg.grid_range[1];
  m->sp_trainable = cfg.sp_trainable;
  m->sb_trainable = cfg.sb_trainable;
  m->affine_trainable = cfg.affine_trainable;
  m->noise_scale = cfg.noise_scale;
  m->scale_base_mu = cfg.scale_base_mu;
  m->scale_base_sigma = cfg.scale_base_sigma;
  m->base_fun = cfg.base_fun;
  m->seed = cfg.seed;

  for (int l = 0; l < m->depth; l++)
    {
      g_autofree char *p = g_strdup_printf ("model.layers[%d]", l);

      if (!read_layer (in, json_array_get_element (layers, (guint) l), p, m, &m->layers[l]))
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

static KanDataset *
read_formula_data (In         *in,
                   JsonObject *obj)
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
      || !node_strv (in, json_object_get_member (obj, "vars"), "data.vars", -1, &vars))
    return NULL;
  n_vars = (int) g_strv_length (vars);
  if (n_vars < 1)
    {
      in_fail (in, KAN_ERROR_SESSION, "data.vars is empty");
      return NULL;
    }
  ranges = g_new (double, 2 * (size_t) n_vars);
  if (!node_matrix (in, json_object_get_member (obj, "ranges"), "data.ranges",
                    (size_t) n_vars, 2, ranges))
    return NULL;
  for (int i = 0; i < n_vars; i++)
    if (!(ranges[2 * i] < ranges[2 * i + 1]))
      {
        in_fail (in, KAN_ERROR_SESSION, "data.ranges[%d] [%g, %g] is empty",
                 i, ranges[2 * i], ranges[2 * i + 1]);
        return NULL;
      }
  if (!node_int (in, json_object_get_member (obj, "n_train"), "data.n_train", 1, G_MAXINT64,
                 &n_train)
      || !node_int (in, json_object_get_member (obj, "n_test"), "data.n_test", 0, G_MAXINT64,
                    &n_test))
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
    in_fail (in, KAN_ERROR_SESSION, "data.formula: %s", local->message);
  return d;
}

/* Normalisation statistics: null, or N finite numbers (standard deviations positive). */
static gboolean
read_stats (In         *in,
            JsonObject *obj,
            const char *key,
            int         n,
            gboolean    positive,
            double    **out)
{
  g_autofree char *p = path_join ("data", key);
  JsonNode *node = json_object_get_member (obj, key);
  g_autofree double *v = NULL;

  *out = NULL;
  if (JSON_NODE_HOLDS_NULL (node))
    return TRUE;
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
                JsonObject    *obj,
                KanDataSource  source)
{
  g_auto (GStrv) in_names = NULL;
  g_auto (GStrv) out_names = NULL;
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
  JsonArray *rows_train, *rows_test;
  size_t n_train, n_test;
  int n_in, n_out;

  if (!get_string (in, obj, "data", "path", TRUE, &path)
      || !get_nonneg (in, obj, "data", "test_fraction", &test_fraction)
      || !get_seed (in, obj, "data", "seed", &seed)
      || !node_strv (in, json_object_get_member (obj, "in_names"), "data.in_names", -1, &in_names)
      || !node_strv (in, json_object_get_member (obj, "out_names"), "data.out_names", -1,
                     &out_names))
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

  rows_train = node_array (in, json_object_get_member (obj, "train_x"), "data.train_x", -1);
  rows_test = rows_train ? node_array (in, json_object_get_member (obj, "test_x"),
                                       "data.test_x", -1) : NULL;
  if (rows_test == NULL)
    return NULL;
  n_train = json_array_get_length (rows_train);
  n_test = json_array_get_length (rows_test);
  if (!check_budget (in, "the data set",
                     ((double) n_train + (double) n_test) * (n_in + n_out) * sizeof (double)))
    return NULL;

  train_x = g_new (double, n_train * n_in + 1);
  train_y = g_new (double, n_train * n_out + 1);
  test_x = g_new (double, n_test * n_in + 1);
  test_y = g_new (double, n_test * n_out + 1);
  if (!node_matrix (in, json_object_get_member (obj, "train_x"), "data.train_x", n_train,
                    (size_t) n_in, train_x)
      || !node_matrix (in, json_object_get_member (obj, "train_y"), "data.train_y", n_train,
                       (size_t) n_out, train_y)
      || !node_matrix (in, json_object_get_member (obj, "test_x"), "data.test_x", n_test,
                       (size_t) n_in, test_x)
      || !node_matrix (in, json_object_get_member (obj, "test_y"), "data.test_y", n_test,
                       (size_t) n_out, test_y))
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

  d = kan_dataset_new_arrays (n_in, n_out, n_train, n_test, train_x, train_y, test_x, test_y,
                              (const char *const *) in_names, (const char *const *) out_names);
  d->source = source;
  d->csv_path = g_strdup (path);
  d->test_fraction = test_fraction;
  d->seed = seed;
  d->in_mean = g_steal_pointer (&in_mean);
  d->in_std = g_steal_pointer (&in_std);
  d->out_mean = g_steal_pointer (&out_mean);
  d->out_std = g_steal_pointer (&out_std);
  if (!kan_dataset_validate (d, &local))
    {
      in_fail (in, KAN_ERROR_SESSION, "data: %s", local->message);
      return NULL;
    }
  return g_steal_pointer (&d);
}

static KanDataset *
read_data (In       *in,
           JsonNode *node)
{
  JsonObject *obj;
  JsonNode *src;
  const char *source;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      in_fail (in, KAN_ERROR_SESSION, "data: expected an object or null, found %s",
               node_kind (node));
      return NULL;
    }
  /* The source decides which fields belong. */
  src = json_object_get_member (json_node_get_object (node), "source");
  if (src == NULL)
    {
      in_fail (in, KAN_ERROR_SESSION, "data.source is missing");
      return NULL;
    }
  if (!node_is_string (src))
    {
      in_fail (in, KAN_ERROR_SESSION, "data.source: expected a string, found %s",
               node_kind (src));
      return NULL;
    }
  source = json_node_get_string (src);
  if (strcmp (source, "formula") == 0)
    {
      obj = get_object (in, node, "data", formula_fields);
      return obj != NULL ? read_formula_data (in, obj) : NULL;
    }
  if (strcmp (source, "csv") == 0 || strcmp (source, "arrays") == 0)
    {
      obj = get_object (in, node, "data", rows_fields);
      return obj != NULL
             ? read_rows_data (in, obj, source[0] == 'c' ? KAN_DATA_CSV : KAN_DATA_ARRAYS)
             : NULL;
    }
  in_fail (in, KAN_ERROR_SESSION,
           "data.source: unknown source '%s' (expected formula, csv or arrays)", source);
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
            JsonNode       *node,
            KanTrainConfig *t)
{
  JsonObject *obj = get_object (in, node, "train", train_fields);
  const char *opt, *loss;
  gint64 batch;

  if (obj == NULL)
    return FALSE;
  if (!get_string (in, obj, "train", "optimizer", FALSE, &opt)
      || !get_string (in, obj, "train", "loss", FALSE, &loss))
    return FALSE;
  if (!kan_optimizer_lookup (opt, &t->opt))
    return in_fail (in, KAN_ERROR_SESSION, "train.optimizer: unknown optimizer '%s'", opt);
  if (!loss_lookup (loss, &t->loss))
    return in_fail (in, KAN_ERROR_SESSION, "train.loss: unknown loss '%s'", loss);
  if (!node_int (in, json_object_get_member (obj, "batch"), "train.batch", -1, G_MAXLONG, &batch))
    return FALSE;
  t->batch = (long) batch;

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
         && get_int (in, obj, "train", "lbfgs_history", 1, G_MAXINT, &t->lbfgs_history)
         && get_int (in, obj, "train", "lbfgs_max_iter", 1, G_MAXINT, &t->lbfgs_max_iter)
         && get_int (in, obj, "train", "lbfgs_max_eval", 1, G_MAXINT, &t->lbfgs_max_eval)
         && get_int (in, obj, "train", "threads", 1, 1024, &t->threads);
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
get_rmse (In *in, JsonObject *obj, const char *path, const char *key, double *out)
{
  if (JSON_NODE_HOLDS_NULL (json_object_get_member (obj, key)))
    {
      *out = NAN;
      return TRUE;
    }
  return get_nonneg (in, obj, path, key, out);
}

static gboolean
read_history (In         *in,
              JsonNode   *node,
              KanSession *s)
{
  JsonArray *a = node_array (in, node, "history", -1);

  if (a == NULL)
    return FALSE;
  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      g_autofree char *p = g_strdup_printf ("history[%u]", i);
      JsonNode *en = json_array_get_element (a, i);
      gboolean has_model = JSON_NODE_HOLDS_OBJECT (en)
                           && json_object_has_member (json_node_get_object (en), "model");
      JsonObject *obj = get_object (in, en, p, has_model ? history_fields_model : history_fields);
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
      if (has_model && !JSON_NODE_HOLDS_NULL (json_object_get_member (obj, "model"))
          && (m = read_model (in, json_object_get_member (obj, "model"))) == NULL)
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

/* The model and data set must fit each other. */
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
  return TRUE;
}

static gboolean
read_session (In         *in,
              JsonNode   *root,
              KanSession *s)
{
  JsonObject *obj;
  JsonNode *node;
  gint64 version;

  if (!JSON_NODE_HOLDS_OBJECT (root))
    return in_fail (in, KAN_ERROR_SESSION, "not a Kanvas session: expected an object, found %s",
                    node_kind (root));
  obj = json_node_get_object (root);

  /* Format and version first: a newer or foreign document gets the message that explains it. */
  node = json_object_get_member (obj, "format");
  if (node == NULL)
    return in_fail (in, KAN_ERROR_SESSION, "not a Kanvas session: format is missing");
  if (!node_is_string (node))
    return in_fail (in, KAN_ERROR_SESSION, "format: expected a string, found %s",
                    node_kind (node));
  if (strcmp (json_node_get_string (node), KAN_SESSION_FORMAT) != 0)
    return in_fail (in, KAN_ERROR_SESSION, "unknown format '%s' (expected '%s')",
                    json_node_get_string (node), KAN_SESSION_FORMAT);
  node = json_object_get_member (obj, "version");
  if (node == NULL)
    return in_fail (in, KAN_ERROR_SESSION, "version is missing");
  if (!node_int (in, node, "version", G_MININT64, G_MAXINT64, &version))
    return FALSE;
  if (version > KAN_SESSION_VERSION)
    return in_fail (in, KAN_ERROR_SESSION,
                    "version %" G_GINT64_FORMAT " is newer than this Kanvas understands (%d)",
                    version, KAN_SESSION_VERSION);
  if (version < 1)
    return in_fail (in, KAN_ERROR_SESSION, "version %" G_GINT64_FORMAT " is not valid", version);

  if (get_object (in, root, "", session_fields) == NULL)
    return FALSE;

  node = json_object_get_member (obj, "model");
  if (!JSON_NODE_HOLDS_NULL (node) && (s->model = read_model (in, node)) == NULL)
    return FALSE;
  node = json_object_get_member (obj, "data");
  if (!JSON_NODE_HOLDS_NULL (node) && (s->data = read_data (in, node)) == NULL)
    return FALSE;
  if (!read_train (in, json_object_get_member (obj, "train"), &s->train)
      || !get_int (in, obj, "", "steps_done", 0, G_MAXINT, &s->steps_done)
      || !read_history (in, json_object_get_member (obj, "history"), s))
    return FALSE;
  return check_consistent (in, s);
}

KanSession *
kan_session_from_json (const char  *json,
                       gssize       length,
                       const char  *name_for_errors,
                       GError     **error)
{
  g_autoptr (JsonParser) parser = NULL;
  g_autoptr (KanSession) s = NULL;
  g_autoptr (GError) local = NULL;
  In in = { name_for_errors != NULL ? name_for_errors : "<session>", error };

  g_return_val_if_fail (json != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (length < 0)
    length = (gssize) strlen (json);
  if (length == 0)
    {
      in_fail (&in, KAN_ERROR_SESSION, "the file is empty");
      return NULL;
    }
  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, json, length, &local))
    {
      /* json-glib says "<data>:LINE:COL: Parse error: …"; name the file instead. */
      const char *msg = local->message;

      if (g_str_has_prefix (msg, "<data>:"))
        g_set_error (error, KAN_ERROR, KAN_ERROR_SESSION, "%s:%s", in.name, msg + 7);
      else
        in_fail (&in, KAN_ERROR_SESSION, "not valid JSON: %s", msg);
      return NULL;
    }
  if (json_parser_get_root (parser) == NULL)
    {
      in_fail (&in, KAN_ERROR_SESSION, "the file holds no JSON value");
      return NULL;
    }

  s = kan_session_new ();
  if (!read_session (&in, json_parser_get_root (parser), s))
    return NULL;
  return g_steal_pointer (&s);
}

KanSession *
kan_session_load (const char  *path,
                  GError     **error)
{
  g_autofree char *contents = NULL;
  g_autoptr (GError) local = NULL;
  gsize len = 0;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!g_file_get_contents (path, &contents, &len, &local))
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_IO, "%s: cannot read: %s", path, local->message);
      return NULL;
    }
  return kan_session_from_json (contents, (gssize) len, path, error);
}
