/* fuzz-session-struct.c — structure-aware libFuzzer target for the session loader.
 *
 * Random bytes seldom get past the JSON parser, so this target starts from a valid session
 * built from the first bytes (width, multiplication nodes and arity, G, k, rows, optimiser,
 * symbolic edges, a history entry with a model) and spends the rest on edits of its text:
 * numbers set to extremes (0, -1, 2^31, 2^63, 2^64, 1e30, 401 digits, …), to small integers or
 * to arbitrary doubles, array elements removed or repeated, strings replaced by other widths,
 * names and enumerations.
 *
 * A document that is refused must be refused with one line naming the file. A document that
 * loads must save to JSON that loads again, every model in it must run forward, and one
 * training step on its data must run: sizes that pass the loader's checks are safe to use.
 * (The step's L-BFGS iteration and evaluation counts are capped at pykan's 20 and 25: they cost
 * time, not memory, and a slow input would only slow the fuzzer down.)
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>

#include "kan.h"

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  gsl_set_error_handler_off ();
  return 0;
}

typedef struct
{
  const uint8_t *d;
  size_t         n;
  size_t         i;
} Bytes;

static guint
byte (Bytes *b)
{
  return b->i < b->n ? b->d[b->i++] : 0;
}

static gboolean
more (const Bytes *b)
{
  return b->i < b->n;
}

/* ------------------------------------------------------------------------------------------ */
/* The valid session to start from                                                             */
/* ------------------------------------------------------------------------------------------ */

static KanSession *
base_session (Bytes *b)
{
  g_autoptr (KanShape) shape = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *width = NULL;
  g_autofree char *arity = NULL;
  g_autofree double *x = NULL;
  g_autofree double *y = NULL;
  KanSession *s = kan_session_new ();
  KanModelConfig cfg;
  GRand *r;
  int n_in = 1 + (int) (byte (b) % 3), hidden = 1 + (int) (byte (b) % 4);
  int n_mult = (int) (byte (b) % 3), n_out = 1 + (int) (byte (b) % 2);
  size_t n_train = 1 + byte (b) % 24, n_test = byte (b) % 6;

  if (n_mult > 0)
    {
      width = g_strdup_printf ("%d,[%d,%d],%d", n_in, hidden, n_mult, n_out);
      arity = g_strdup_printf ("%u", 2 + byte (b) % 2);
    }
  else
    width = g_strdup_printf ("%d,%d,%d", n_in, hidden, n_out);
  shape = kan_shape_parse (width, arity, &error);
  if (shape == NULL)
    abort ();
  kan_model_config_init (&cfg);
  cfg.shape = shape;
  cfg.grid = 1 + (int) (byte (b) % 6);
  cfg.k = 1 + (int) (byte (b) % 3);
  cfg.seed = byte (b);
  s->model = kan_model_new (&cfg, &error);
  if (s->model == NULL)
    abort ();
  if (byte (b) % 2)
    {
      const double abcd[4] = { 1.5, -0.25, 0.75, 0.125 };
      kan_model_set_edge (s->model, 0, 0, 0, (KanEdgeMode) (byte (b) % 4),
                          (int) (byte (b) % (guint) kan_sym_count ()), abcd);
    }

  r = g_rand_new_with_seed (byte (b));
  x = g_new (double, (n_train + n_test) * (size_t) n_in);
  y = g_new (double, (n_train + n_test) * (size_t) n_out);
  for (size_t q = 0; q < (n_train + n_test) * (size_t) n_in; q++)
    x[q] = g_rand_double_range (r, -1, 1);
  for (size_t q = 0; q < (n_train + n_test) * (size_t) n_out; q++)
    y[q] = g_rand_double_range (r, -1, 1);
  g_rand_free (r);
  s->data = kan_dataset_new_arrays (n_in, n_out, n_train, n_test, x, y, x + n_train * n_in,
                                    y + n_train * n_out, NULL, NULL);

  s->train.opt = (KanOptimizer) (byte (b) % 3);
  s->train.steps = 1;
  s->train.batch = byte (b) % 2 ? 4 : -1;
  kan_session_add_history (s, "new", width, NAN, NAN);
  if (byte (b) % 2)
    {
      KanHistoryEntry *e;

      kan_session_add_history (s, "fit", "steps=1", 0.5, 0.25);
      e = g_ptr_array_index (s->history, s->history->len - 1);
      e->model = kan_model_copy (s->model);
    }
  return s;
}

/* ------------------------------------------------------------------------------------------ */
/* Edits of the text                                                                           */
/* ------------------------------------------------------------------------------------------ */

typedef struct
{
  gsize    start;
  gsize    end;
  gboolean is_string;  /* with its quotes */
} Token;

/* Numbers and strings of TEXT (member keys included: replacing one makes an unknown field). */
static GArray *
tokenize (const char *text)
{
  GArray *toks = g_array_new (FALSE, FALSE, sizeof (Token));

  for (const char *p = text; *p != '\0';)
    {
      Token t;

      if (*p == '"')
        {
          const char *q = p + 1;

          while (*q != '\0' && *q != '"')
            q += *q == '\\' && q[1] != '\0' ? 2 : 1;
          if (*q == '\0')
            break;
          t.start = (gsize) (p - text);
          t.end = (gsize) (q + 1 - text);
          t.is_string = TRUE;
          g_array_append_val (toks, t);
          p = q + 1;
        }
      else if (*p == '-' || g_ascii_isdigit (*p))
        {
          const char *q = p + 1;

          while (g_ascii_isdigit (*q) || *q == '.' || *q == 'e' || *q == 'E' || *q == '+'
                 || *q == '-')
            q++;
          t.start = (gsize) (p - text);
          t.end = (gsize) (q - text);
          t.is_string = FALSE;
          g_array_append_val (toks, t);
          p = q;
        }
      else
        p++;
    }
  return toks;
}

/* The TARGET-th token of the kind asked for (modulo their number), or NULL. */
static const Token *
pick (GArray   *toks,
      gboolean  is_string,
      guint     target)
{
  guint n = 0, k = 0;

  for (guint i = 0; i < toks->len; i++)
    n += g_array_index (toks, Token, i).is_string == is_string;
  if (n == 0)
    return NULL;
  target %= n;
  for (guint i = 0; i < toks->len; i++)
    {
      const Token *t = &g_array_index (toks, Token, i);

      if (t->is_string == is_string && k++ == target)
        return t;
    }
  return NULL;
}

static const char *const extremes[] = {
  "0", "-1", "1", "2", "3", "-0", "0.5", "-0.5", "10", "20", "21", "25", "26", "64", "65",
  "1000", "1001", "1024", "1025", "100000", "100001", "1000000", "1000001", "2147483647",
  "2147483648", "-2147483648", "-2147483649", "4294967296", "9007199254740993",
  "9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
  "18446744073709551615", "18446744073709551616", "1e30", "-1e30", "1e308", "1e400", "-1e400",
  "5e-324", "1e-400", "2.0", "1e2", "3.000000000000001",
  "7777777777777777777777777777777777777777777777777777777777777777777777777777777777777777777777"
  "7777777777777777777777777777777777777777777777777777777777777777777777777777777777777777777777"
  "7777777777777777777777777777777777777777777777777777777777777777777777777777777777777777777777"
  "7777777777777777777777777777777777777777777777777777777777777777777777777777777777777777777777"
  "777777777777777777777777",
};

static const char *const strings[] = {
  "\"2,5,1\"", "\"1,1\"", "\"2,[1,1],1\"", "\"2,[0,2],1\"", "\"3,[2,2],[1,1],2\"", "\"2,1000000,1\"",
  "\"1000,1000,1000\"", "\"2,1,1,1,1,1,1,1\"", "\"0,1\"", "\"\"", "\"silu\"", "\"identity\"",
  "\"zero\"", "\"relu\"", "\"x^2\"", "\"sin\"", "\"0\"", "\"besselj0\"", "\"lbfgs\"", "\"adam\"",
  "\"lm\"", "\"sgd\"", "\"mse\"", "\"ce\"", "\"arrays\"", "\"csv\"", "\"formula\"",
  "\"18446744073709551615\"", "\"18446744073709551616\"", "\"-1\"", "null", "true", "[]", "{}",
  "[[]]", "[1, 2]", "\"\\u00e9\"",
};

/* Applies one edit chosen by the bytes to TEXT. */
static void
mutate (GString *text,
        Bytes   *b)
{
  g_autoptr (GArray) toks = tokenize (text->str);
  guint op = byte (b) % 7;
  guint target = byte (b) << 8;
  const Token *t;

  target |= byte (b);
  t = pick (toks, op == 5, target);
  if (t == NULL)
    return;
  switch (op)
    {
    case 0:
      g_string_erase (text, (gssize) t->start, (gssize) (t->end - t->start));
      g_string_insert (text, (gssize) t->start, extremes[byte (b) % G_N_ELEMENTS (extremes)]);
      break;
    case 1:
      {
        char buf[16];

        g_snprintf (buf, sizeof buf, "%d", (int) byte (b) - 16);
        g_string_erase (text, (gssize) t->start, (gssize) (t->end - t->start));
        g_string_insert (text, (gssize) t->start, buf);
        break;
      }
    case 2:
      /* Shorter: an element goes, with its comma. */
      if (text->str[t->end] == ',')
        g_string_erase (text, (gssize) t->start, (gssize) (t->end + 1 - t->start));
      else if (t->start >= 2 && text->str[t->start - 2] == ',')
        g_string_erase (text, (gssize) t->start - 2, (gssize) (t->end - t->start + 2));
      break;
    case 3:
      {
        /* Longer: an element comes twice. */
        g_autofree char *copy = g_strndup (text->str + t->start, t->end - t->start);
        g_autofree char *ins = g_strconcat (", ", copy, NULL);

        g_string_insert (text, (gssize) t->end, ins);
        break;
      }
    case 4:
      {
        /* Any double, from eight bytes. */
        char buf[G_ASCII_DTOSTR_BUF_SIZE];
        guint64 bits = 0;
        double v;

        for (int q = 0; q < 8; q++)
          bits = bits << 8 | byte (b);
        memcpy (&v, &bits, sizeof v);
        if (!isfinite (v))
          v = 0.25;
        g_ascii_formatd (buf, sizeof buf, "%.17g", v);
        g_string_erase (text, (gssize) t->start, (gssize) (t->end - t->start));
        g_string_insert (text, (gssize) t->start, buf);
        break;
      }
    case 5:
      g_string_erase (text, (gssize) t->start, (gssize) (t->end - t->start));
      g_string_insert (text, (gssize) t->start, strings[byte (b) % G_N_ELEMENTS (strings)]);
      break;
    default:
      {
        /* A number becomes a small array or an object: the wrong type. */
        static const char *const shapes[] = { "[]", "[1]", "{}", "\"1\"", "null", "true" };

        g_string_erase (text, (gssize) t->start, (gssize) (t->end - t->start));
        g_string_insert (text, (gssize) t->start, shapes[byte (b) % G_N_ELEMENTS (shapes)]);
        break;
      }
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Using what loaded                                                                           */
/* ------------------------------------------------------------------------------------------ */

static void
forward (const KanModel *m)
{
  enum { N = 5 };
  int n_in = kan_model_n_in (m), n_out = kan_model_n_out (m);
  g_autofree double *x = g_new (double, N * (size_t) n_in);
  g_autofree double *y = g_new (double, N * (size_t) n_out);

  for (size_t q = 0; q < N * (size_t) n_in; q++)
    x[q] = -1.5 + 0.37 * (double) (q % 9);
  kan_model_eval (m, x, N, y);
}

static void
use (KanSession *s)
{
  if (s->model != NULL)
    forward (s->model);
  for (guint h = 0; h < s->history->len; h++)
    {
      const KanHistoryEntry *e = g_ptr_array_index (s->history, h);
      if (e->model != NULL)
        forward (e->model);
    }
  if (s->model != NULL && s->data != NULL)
    {
      g_autoptr (GError) error = NULL;
      KanTrainConfig cfg = s->train;
      KanTrainer *t;
      KanStepInfo info;

      cfg.lbfgs_max_iter = MIN (cfg.lbfgs_max_iter, 20);
      cfg.lbfgs_max_eval = MIN (cfg.lbfgs_max_eval, 25);
      t = kan_trainer_new (s->model, s->data, &cfg, &error);
      if (t == NULL)
        {
          if (error == NULL)
            abort ();
          return;
        }
      kan_trainer_step (t, NULL, &info, NULL);
      kan_trainer_free (t);
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  Bytes b = { data, size, 0 };
  g_autoptr (KanSession) base = base_session (&b);
  g_autoptr (KanSession) s = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *json = NULL;
  GString *text;

  json = kan_session_to_json (base, NULL);
  text = g_string_new (json);
  for (int q = 0; q < 6 && more (&b); q++)
    mutate (text, &b);
  /* For triage: FUZZ_DUMP=1 ./fuzz-session-struct CRASH prints the document, and every
   * input says whether it loaded. */
  if (g_getenv ("FUZZ_DUMP") != NULL)
    fprintf (stderr, "%s\n", text->str);

  s = kan_session_from_json (text->str, (gssize) text->len, "fuzz.kanvas", &error);
  if (s == NULL)
    {
      if (error == NULL || error->domain != KAN_ERROR
          || !g_str_has_prefix (error->message, "fuzz.kanvas")
          || strchr (error->message, '\n') != NULL)
        {
          fprintf (stderr, "bad error for a refused document: %s\n",
                   error ? error->message : "(none)");
          abort ();
        }
      if (g_getenv ("FUZZ_DUMP") != NULL)
        fprintf (stderr, "refused: %s\n", error->message);
      g_string_free (text, TRUE);
      return 0;
    }
  if (g_getenv ("FUZZ_DUMP") != NULL)
    fprintf (stderr, "loaded\n");
  g_string_free (text, TRUE);

  /* What loads saves to what loads. */
  {
    g_autofree char *again = kan_session_to_json (s, NULL);
    g_autoptr (KanSession) s2 = kan_session_from_json (again, -1, "again.kanvas", &error);

    if (s2 == NULL)
      {
        fprintf (stderr, "a loaded session does not load after saving: %s\n", error->message);
        abort ();
      }
  }
  use (s);
  return 0;
}
