/* kan-json.c — a small strict JSON reader that keeps numbers compact.
 *
 * One pass over the text with an explicit stack of open containers (no recursion), so nesting
 * costs a frame per level and is refused past KanJsonLimits.max_depth. Finished containers are
 * copied into an arena, so a node costs 16 bytes and an object member 24.
 *
 * Numbers.  While an array holds only numbers they go to a buffer of doubles owned by its
 * nesting level; when it closes they become one packed array (8 bytes a number, plus one bit a
 * number when integers and fractions are mixed). While an array holds only packed arrays of one
 * length and one kind, their numbers go to the parent's buffer instead, and the parent becomes
 * one matrix: rows of data cost no node at all. Integers that a double cannot hold exactly (beyond
 * ±2^53) get a node of their own, so integers are always read exactly. Large buffers are handed
 * to the document as they are (realloc'ed to size) rather than copied.
 *
 * Memory.  Every allocation that grows with the input — the arena, packed blocks, the work
 * stacks and buffers, key hash tables — is charged against KanJsonLimits.max_bytes before it is
 * made, so a hostile document (millions of empty arrays, say) is refused instead of growing.
 */
#include "kan-json.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "kan-error.h"

/* Node flags: a number's KanJsonNumberKind in the low two bits, and -0 written as an integer. */
#define F_KIND    3
#define F_NEGZERO 4
/* Array flags: packed doubles; a matrix of packed rows; every number written as an integer;
 * integers and fractions mixed (a bitmap of the integers follows the doubles). */
#define F_PACKED  1
#define F_MATRIX  2
#define F_ALLINT  4
#define F_MIXED   8

/* Integers up to this magnitude are exact in a double and may be packed. */
#define EXACT_INT_MAX (G_GUINT64_CONSTANT (1) << 53)
/* Buffers of at least this many bytes are handed to the document instead of copied. */
#define STEAL_BYTES ((gsize) 64 << 10)
#define CHUNK_MIN   ((gsize) 4 << 10)
#define CHUNK_MAX   ((gsize) 1 << 20)
/* Objects with more members than this look their keys up in a hash table. */
#define HASH_AFTER  16
/* What a key costs in a GHashTable, roughly (slots for hash, key and value, load factor). */
#define HASH_ENTRY_BYTES 40
/* Longest word or key quoted in a message. */
#define QUOTE_MAX 40

typedef struct
{
  const double *v;
  gsize         cols;
} Matrix;

typedef struct Chunk
{
  struct Chunk *next;
  gsize         size;
  gsize         used;
} Chunk;

struct _KanJsonDoc
{
  KanJsonNode  root;
  Chunk       *chunks;   /* arena */
  GPtrArray   *blocks;   /* large allocations (g_free) */
  gsize        bytes;
  gsize        peak;
};

/* ------------------------------------------------------------------------------------------ */
/* The parser's state                                                                          */
/* ------------------------------------------------------------------------------------------ */

typedef struct
{
  guint8 *data;
  gsize   len;
  gsize   cap;
} Buf;

enum
{
  MODE_EMPTY,    /* nothing yet */
  MODE_NUMBERS,  /* only numbers, in nums (kinds: one byte each once mixed) */
  MODE_ROWS,     /* only packed rows of WIDTH numbers, in nums */
  MODE_NODES,    /* nodes on the node stack */
};

typedef struct
{
  gboolean    is_object;
  int         mode;
  gboolean    row_int;     /* MODE_ROWS: the rows are integers */
  gsize       base;        /* first node of this container on the node stack */
  gsize       kbase;       /* first key on the key stack (objects) */
  gsize       count;       /* elements or members so far */
  gsize       n_int;       /* MODE_NUMBERS: how many were written as integers */
  gsize       width;       /* MODE_ROWS */
  Buf         nums;        /* kept from one container to the next at this depth */
  Buf         kinds;
  GHashTable *keys;        /* objects with many members */
  const char *open_at;     /* the bracket, for "not closed" messages */
} Frame;

typedef struct
{
  const char *text;
  const char *p;
  const char *end;
  const char *first;       /* the first character (after a byte order mark) */
  const char *line_start;
  gsize       line;
  KanJsonDoc *doc;
  gsize       mem;         /* charged so far: the document and every work buffer */
  gsize       max;
  guint       max_depth;
  Frame      *frames;
  guint       n_frames;
  guint       depth;
  Buf         nodes;       /* KanJsonNode of unfinished containers */
  Buf         keys;        /* const char * of unfinished objects */
  GError    **error;
} Parser;

void
kan_json_limits_init (KanJsonLimits *limits)
{
  g_return_if_fail (limits != NULL);
  limits->max_depth = KAN_JSON_MAX_DEPTH;
  limits->max_bytes = 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Errors                                                                                      */
/* ------------------------------------------------------------------------------------------ */

/* Line and column (from 1, in characters) of AT. The parser counts lines as it goes; a place
 * on an earlier line (an unclosed bracket, a comma before a newline) is found from there. */
static void
position (Parser     *P,
          const char *at,
          gsize      *line,
          gsize      *col)
{
  const char *start = P->line_start;

  *line = P->line;
  if (at < start)
    {
      for (const char *q = at; q < start; q++)
        if (*q == '\n')
          (*line)--;
      start = at;
      while (start > P->first && start[-1] != '\n')
        start--;
    }
  *col = 1;
  for (const guchar *q = (const guchar *) start; q < (const guchar *) at; q++)
    if ((*q & 0xc0) != 0x80)
      (*col)++;
}

static gboolean G_GNUC_PRINTF (4, 5)
fail_code (Parser     *P,
           const char *at,
           KanError    code,
           const char *format,
           ...)
{
  g_autofree char *msg = NULL;
  gsize line, col;
  va_list ap;

  va_start (ap, format);
  msg = g_strdup_vprintf (format, ap);
  va_end (ap);
  position (P, at, &line, &col);
  g_set_error (P->error, KAN_ERROR, code, "%" G_GSIZE_FORMAT ":%" G_GSIZE_FORMAT ": %s",
               line, col, msg);
  return FALSE;
}

#define fail(P, at, ...) fail_code ((P), (at), KAN_ERROR_PARSE, __VA_ARGS__)

/* Length of the valid UTF-8 sequence of a non-ASCII character at P, or 0 (RFC 3629: no
 * overlong forms, no surrogates, nothing above U+10FFFF). */
static gsize
utf8_sequence (const guchar *p,
               const guchar *end)
{
  guchar c = p[0], lo = 0x80, hi = 0xbf;
  gsize n;

  if (c >= 0xc2 && c <= 0xdf)
    n = 2;
  else if (c >= 0xe0 && c <= 0xef)
    {
      n = 3;
      if (c == 0xe0)
        lo = 0xa0;
      else if (c == 0xed)
        hi = 0x9f;
    }
  else if (c >= 0xf0 && c <= 0xf4)
    {
      n = 4;
      if (c == 0xf0)
        lo = 0x90;
      else if (c == 0xf4)
        hi = 0x8f;
    }
  else
    return 0;
  if ((gsize) (end - p) < n)
    return 0;
  if (p[1] < lo || p[1] > hi)
    return 0;
  for (gsize i = 2; i < n; i++)
    if (p[i] < 0x80 || p[i] > 0xbf)
      return 0;
  return n;
}

static gboolean
is_word_char (char c)
{
  return g_ascii_isalnum (c) || c == '_';
}

/* The word at AT ("NaN", "True", …), for messages. */
static char *
word_at (Parser     *P,
         const char *at)
{
  const char *q = at;

  if (q < P->end && *q == '-')
    q++;
  while (q < P->end && is_word_char (*q) && q - at < QUOTE_MAX)
    q++;
  return g_strndup (at, (gsize) (q - at));
}

static gboolean
is_nan_or_inf (const char *word)
{
  if (*word == '-' || *word == '+')
    word++;
  return g_ascii_strcasecmp (word, "nan") == 0 || g_ascii_strcasecmp (word, "inf") == 0
         || g_ascii_strcasecmp (word, "infinity") == 0;
}

/* Refuses the word at AT (which starts with a letter, or '-' and a letter). */
static gboolean
bad_word (Parser     *P,
          const char *at,
          const char *expected)
{
  g_autofree char *word = word_at (P, at);

  if (is_nan_or_inf (word))
    return fail (P, at, "'%s' is not a JSON number (JSON has no NaN or Infinity)", word);
  return fail (P, at, "unexpected word '%s': expected %s", word, expected);
}

/* Refuses what is at AT where EXPECTED ("a value", "',' or ']'", …) should be. */
static gboolean
unexpected (Parser     *P,
            const char *at,
            const char *expected)
{
  guchar c;

  if (at >= P->end)
    return fail (P, at, "unexpected end of file: expected %s", expected);
  c = (guchar) *at;
  if (c == '/')
    return fail (P, at, "comments are not allowed in JSON");
  if (c == '\'')
    return fail (P, at, "strings must be in double quotes, not single quotes");
  if (c == 0)
    return fail (P, at, "a NUL byte: this is not UTF-8 JSON text");
  if (g_ascii_isalpha (c) || c == '_')
    return bad_word (P, at, expected);
  if (c >= 0x80)
    {
      gsize n = utf8_sequence ((const guchar *) at, (const guchar *) P->end);

      if (n == 0)
        return fail (P, at, "invalid UTF-8");
      return fail (P, at, "unexpected character '%.*s': expected %s", (int) n, at, expected);
    }
  if (c < 0x20 || c == 0x7f)
    return fail (P, at, "unexpected control character U+%04X: expected %s", c, expected);
  return fail (P, at, "expected %s, found '%c'", expected, c);
}

/* ------------------------------------------------------------------------------------------ */
/* Memory                                                                                      */
/* ------------------------------------------------------------------------------------------ */

static gboolean
charge (Parser *P,
        gsize   bytes)
{
  if (bytes > P->max - P->mem)
    {
      g_autofree char *limit = P->max >= ((gsize) 1 << 20)
                               ? g_strdup_printf ("%" G_GSIZE_FORMAT " MiB", P->max >> 20)
                               : g_strdup_printf ("%" G_GSIZE_FORMAT " bytes", P->max);

      return fail_code (P, P->p, KAN_ERROR_BUDGET, "the document needs more than %s to hold "
                        "in memory (too many small values for its size)", limit);
    }
  P->mem += bytes;
  if (P->mem > P->doc->peak)
    P->doc->peak = P->mem;
  return TRUE;
}

static void
refund (Parser *P,
        gsize   bytes)
{
  P->mem -= bytes;
}

static gboolean
buf_reserve (Parser *P,
             Buf    *b,
             gsize   extra)
{
  gsize need, cap;

  if (b->cap - b->len >= extra)
    return TRUE;
  if (extra > P->max)
    return charge (P, extra);
  need = b->len + extra;
  cap = MAX (b->cap + b->cap / 2, 256);
  if (cap < need)
    cap = need;
  /* Near the limit, take what is left at once (growing by EXTRA each time would copy the
   * buffer once per element); if even NEED does not fit, charge() refuses. */
  if (cap - b->cap > P->max - P->mem)
    cap = MAX (need, b->cap + (P->max - P->mem));
  if (!charge (P, cap - b->cap))
    return FALSE;
  b->data = g_realloc (b->data, cap);
  b->cap = cap;
  return TRUE;
}

static void
buf_clear (Parser *P,
           Buf    *b)
{
  refund (P, b->cap);
  g_clear_pointer (&b->data, g_free);
  b->len = b->cap = 0;
}

/* SIZE bytes (8-aligned) owned by the document. */
static void *
arena_alloc (Parser *P,
             gsize   size)
{
  KanJsonDoc *doc = P->doc;
  Chunk *c = doc->chunks;
  void *r;

  size = (size + 7) & ~(gsize) 7;
  if (size >= CHUNK_MAX / 4)
    {
      if (!charge (P, size))
        return NULL;
      r = g_malloc (size);
      g_ptr_array_add (doc->blocks, r);
      doc->bytes += size;
      return r;
    }
  if (c == NULL || c->size - c->used < size)
    {
      gsize csize = c != NULL ? MIN (c->size * 2, CHUNK_MAX) : CHUNK_MIN;

      while (csize < size)
        csize *= 2;
      if (!charge (P, sizeof (Chunk) + csize))
        return NULL;
      c = g_malloc (sizeof (Chunk) + csize);
      c->next = doc->chunks;
      c->size = csize;
      c->used = 0;
      doc->chunks = c;
      doc->bytes += sizeof (Chunk) + csize;
    }
  r = (char *) (c + 1) + c->used;
  c->used += size;
  return r;
}

/* The doubles of B followed by EXTRA bytes, owned by the document; B is left empty. */
static double *
take_doubles (Parser *P,
              Buf    *b,
              gsize   extra)
{
  gsize total = b->len + extra;
  void *r;

  if (total >= STEAL_BYTES)
    {
      if (total > b->cap && !charge (P, total - b->cap))
        return NULL;
      if (total < b->cap)
        refund (P, b->cap - total);
      r = g_realloc (b->data, total);
      g_ptr_array_add (P->doc->blocks, r);
      P->doc->bytes += total;
      b->data = NULL;
      b->len = b->cap = 0;
      return r;
    }
  r = arena_alloc (P, MAX (total, 1));
  if (r == NULL)
    return NULL;
  memcpy (r, b->data, b->len);
  b->len = 0;
  return r;
}

static gboolean
push_node (Parser            *P,
           const KanJsonNode *node)
{
  if (!buf_reserve (P, &P->nodes, sizeof *node))
    return FALSE;
  memcpy (P->nodes.data + P->nodes.len, node, sizeof *node);
  P->nodes.len += sizeof *node;
  return TRUE;
}

/* ------------------------------------------------------------------------------------------ */
/* Containers                                                                                  */
/* ------------------------------------------------------------------------------------------ */

static Frame *
top (Parser *P)
{
  return &P->frames[P->depth - 1];
}

static gboolean
push_frame (Parser   *P,
            gboolean  is_object)
{
  Frame *f;

  if (P->depth >= P->max_depth)
    return fail (P, P->p, "arrays and objects nest deeper than %u levels", P->max_depth);
  if (P->depth == P->n_frames)
    {
      guint n = MIN (MAX (P->n_frames * 2, 16), P->max_depth);

      P->frames = g_renew (Frame, P->frames, n);
      memset (P->frames + P->n_frames, 0, sizeof (Frame) * (n - P->n_frames));
      P->n_frames = n;
    }
  f = &P->frames[P->depth++];
  f->is_object = is_object;
  f->mode = MODE_EMPTY;
  f->row_int = FALSE;
  f->base = P->nodes.len / sizeof (KanJsonNode);
  f->kbase = P->keys.len / sizeof (const char *);
  f->count = 0;
  f->n_int = 0;
  f->width = 0;
  f->nums.len = 0;
  f->kinds.len = 0;
  f->keys = NULL;
  f->open_at = P->p;
  return TRUE;
}

static void
pop_frame (Parser *P)
{
  Frame *f = top (P);

  if (f->keys != NULL)
    {
      refund (P, (gsize) g_hash_table_size (f->keys) * HASH_ENTRY_BYTES);
      g_clear_pointer (&f->keys, g_hash_table_unref);
    }
  f->nums.len = 0;
  f->kinds.len = 0;
  P->depth--;
}

static KanJsonNode
number_node (double   d,
             gboolean is_int)
{
  KanJsonNode n = { 0 };

  n.type = KAN_JSON_NUMBER;
  if (is_int)
    {
      n.flags = KAN_JSON_INT | (d == 0 && signbit (d) ? F_NEGZERO : 0);
      n.v.i = (gint64) d;
    }
  else
    {
      n.flags = KAN_JSON_REAL;
      n.v.d = d;
    }
  return n;
}

/* The numbers of F become nodes (a non-number joins them). */
static gboolean
flush_numbers (Parser *P,
               Frame  *f)
{
  const double *v = (const double *) f->nums.data;
  gboolean mixed = f->kinds.len > 0, all_int = f->n_int == f->count;

  if (!buf_reserve (P, &P->nodes, f->count * sizeof (KanJsonNode)))
    return FALSE;
  for (gsize i = 0; i < f->count; i++)
    {
      KanJsonNode n = number_node (v[i], mixed ? f->kinds.data[i] != 0 : all_int);
      push_node (P, &n);
    }
  f->nums.len = 0;
  f->kinds.len = 0;
  f->n_int = 0;
  f->mode = MODE_NODES;
  return TRUE;
}

/* The rows of F become packed array nodes (something else joins them). */
static gboolean
flush_rows (Parser *P,
            Frame  *f)
{
  gsize rows = f->count, width = f->width;
  const double *block;

  if (!buf_reserve (P, &P->nodes, rows * sizeof (KanJsonNode)))
    return FALSE;
  block = take_doubles (P, &f->nums, 0);
  if (block == NULL)
    return FALSE;
  for (gsize r = 0; r < rows; r++)
    {
      KanJsonNode n = { 0 };

      n.type = KAN_JSON_ARRAY;
      n.flags = F_PACKED | (f->row_int ? F_ALLINT : 0);
      n.n = (guint32) width;
      n.v.nums = block + r * width;
      push_node (P, &n);
    }
  f->mode = MODE_NODES;
  return TRUE;
}

static gboolean
check_count (Parser *P,
             Frame  *f)
{
  if (f->count >= G_MAXUINT32)
    return fail (P, P->p, "more than %u elements in one array or object", G_MAXUINT32);
  return TRUE;
}

/* Adds a finished value to the innermost open container, or makes it the root. */
static gboolean
add_node (Parser            *P,
          const KanJsonNode *node)
{
  Frame *f;

  if (P->depth == 0)
    {
      P->doc->root = *node;
      return TRUE;
    }
  f = top (P);
  if (!check_count (P, f))
    return FALSE;
  if (!f->is_object)
    {
      if (f->mode == MODE_NUMBERS && !flush_numbers (P, f))
        return FALSE;
      if (f->mode == MODE_ROWS && !flush_rows (P, f))
        return FALSE;
      f->mode = MODE_NODES;
    }
  if (!push_node (P, node))
    return FALSE;
  f->count++;
  return TRUE;
}

/* A number a double holds exactly (any fraction, or an integer up to ±2^53). */
static gboolean
add_number (Parser   *P,
            double    d,
            gboolean  is_int)
{
  Frame *f = P->depth > 0 ? top (P) : NULL;
  KanJsonNode n;

  if (f != NULL && !f->is_object && (f->mode == MODE_EMPTY || f->mode == MODE_NUMBERS))
    {
      if (!check_count (P, f) || !buf_reserve (P, &f->nums, sizeof d))
        return FALSE;
      memcpy (f->nums.data + f->nums.len, &d, sizeof d);
      f->nums.len += sizeof d;
      if (f->kinds.len == 0 && f->count > 0 && (is_int ? f->n_int == 0 : f->n_int == f->count))
        {
          /* The first number of the other kind: from now on each number's kind is kept. */
          if (!buf_reserve (P, &f->kinds, f->count + 1))
            return FALSE;
          memset (f->kinds.data, f->n_int > 0, f->count);
          f->kinds.len = f->count;
        }
      if (f->kinds.len > 0)
        {
          if (!buf_reserve (P, &f->kinds, 1))
            return FALSE;
          f->kinds.data[f->kinds.len++] = (guint8) is_int;
        }
      f->mode = MODE_NUMBERS;
      f->n_int += is_int;
      f->count++;
      return TRUE;
    }
  n = number_node (d, is_int);
  return add_node (P, &n);
}

static gboolean
close_array (Parser *P)
{
  Frame *f = top (P);
  KanJsonNode node = { 0 };

  /* A packed row of an array of rows goes straight into its parent's matrix. */
  if (f->mode == MODE_NUMBERS && f->kinds.len == 0 && P->depth >= 2)
    {
      Frame *parent = &P->frames[P->depth - 2];
      gboolean row_int = f->n_int == f->count;

      if (!parent->is_object
          && (parent->mode == MODE_EMPTY
              || (parent->mode == MODE_ROWS && parent->width == f->count
                  && parent->row_int == row_int)))
        {
          if (!check_count (P, parent) || !buf_reserve (P, &parent->nums, f->nums.len))
            return FALSE;
          memcpy (parent->nums.data + parent->nums.len, f->nums.data, f->nums.len);
          parent->nums.len += f->nums.len;
          parent->mode = MODE_ROWS;
          parent->width = f->count;
          parent->row_int = row_int;
          parent->count++;
          pop_frame (P);
          return TRUE;
        }
    }

  node.type = KAN_JSON_ARRAY;
  node.n = (guint32) f->count;
  switch (f->mode)
    {
    case MODE_EMPTY:
      break;
    case MODE_NUMBERS:
      {
        gboolean mixed = f->kinds.len > 0;
        double *nums = take_doubles (P, &f->nums, mixed ? (f->count + 7) / 8 : 0);

        if (nums == NULL)
          return FALSE;
        if (mixed)
          {
            guint8 *bits = (guint8 *) (nums + f->count);

            memset (bits, 0, (f->count + 7) / 8);
            for (gsize i = 0; i < f->count; i++)
              if (f->kinds.data[i])
                bits[i / 8] |= (guint8) (1u << (i % 8));
          }
        node.flags = F_PACKED | (f->n_int == f->count ? F_ALLINT : 0) | (mixed ? F_MIXED : 0);
        node.v.nums = nums;
        break;
      }
    case MODE_ROWS:
      {
        Matrix *m = arena_alloc (P, sizeof *m);

        if (m == NULL || (m->v = take_doubles (P, &f->nums, 0)) == NULL)
          return FALSE;
        m->cols = f->width;
        node.flags = F_MATRIX | (f->row_int ? F_ALLINT : 0);
        node.v.matrix = m;
        break;
      }
    case MODE_NODES:
    default:
      {
        gsize bytes = f->count * sizeof (KanJsonNode);
        void *items = arena_alloc (P, bytes);

        if (items == NULL)
          return FALSE;
        memcpy (items, P->nodes.data + f->base * sizeof (KanJsonNode), bytes);
        P->nodes.len = f->base * sizeof (KanJsonNode);
        node.v.items = items;
        break;
      }
    }
  pop_frame (P);
  return add_node (P, &node);
}

static gboolean
close_object (Parser *P)
{
  Frame *f = top (P);
  KanJsonNode node = { 0 };
  KanJsonMember *members = NULL;

  if (f->count > 0)
    {
      const KanJsonNode *values = (const KanJsonNode *) P->nodes.data + f->base;
      const char *const *keys = (const char *const *) P->keys.data + f->kbase;

      members = arena_alloc (P, f->count * sizeof *members);
      if (members == NULL)
        return FALSE;
      for (gsize i = 0; i < f->count; i++)
        {
          members[i].key = keys[i];
          members[i].value = values[i];
        }
    }
  P->nodes.len = f->base * sizeof (KanJsonNode);
  P->keys.len = f->kbase * sizeof (const char *);
  node.type = KAN_JSON_OBJECT;
  node.n = (guint32) f->count;
  node.v.members = members;
  pop_frame (P);
  return add_node (P, &node);
}

/* ------------------------------------------------------------------------------------------ */
/* Scalars                                                                                     */
/* ------------------------------------------------------------------------------------------ */

static void
skip_ws (Parser *P)
{
  const char *p = P->p, *end = P->end;

  while (p < end)
    {
      char c = *p;

      if (c == ' ' || c == '\t' || c == '\r')
        p++;
      else if (c == '\n')
        {
          p++;
          P->line++;
          P->line_start = p;
        }
      else
        break;
    }
  P->p = p;
}

static int
hex_value (char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* The code unit of "\uXXXX" at P (the backslash), or -1. */
static int
hex4 (const char *p,
      const char *end)
{
  int v = 0;

  if (end - p < 6 || p[0] != '\\' || p[1] != 'u')
    return -1;
  for (int i = 2; i < 6; i++)
    {
      int h = hex_value (p[i]);

      if (h < 0)
        return -1;
      v = v * 16 + h;
    }
  return v;
}

/* A string at P->p (the opening quote), checked, then unescaped into the arena. */
static gboolean
parse_string (Parser      *P,
              const char **out,
              gsize       *out_len)
{
  const char *start = P->p + 1, *p = start, *end = P->end;
  gboolean escapes = FALSE;
  gsize raw;
  char *dst, *d;

  for (;;)
    {
      guchar c;

      while (p < end && (guchar) *p >= 0x20 && (guchar) *p < 0x80 && *p != '"' && *p != '\\')
        p++;
      if (p == end)
        return fail (P, p, "unexpected end of file in a string");
      c = (guchar) *p;
      if (c == '"')
        break;
      if (c == '\\')
        {
          int u;

          escapes = TRUE;
          if (p + 1 == end)
            return fail (P, p + 1, "unexpected end of file in a string");
          switch (p[1])
            {
            case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
              p += 2;
              continue;
            case 'u':
              break;
            default:
              if ((guchar) p[1] < 0x20 || (guchar) p[1] >= 0x7f)
                return fail (P, p, "invalid escape in a string");
              return fail (P, p, "invalid escape '\\%c' in a string", p[1]);
            }
          u = hex4 (p, end);
          if (u < 0)
            return fail (P, p, "\\u must be followed by four hexadecimal digits");
          if (u == 0)
            return fail (P, p, "\\u0000 (NUL) is not allowed in a string");
          if (u >= 0xdc00 && u <= 0xdfff)
            return fail (P, p, "lone surrogate \\u%04X in a string", (unsigned) u);
          if (u >= 0xd800 && u <= 0xdbff)
            {
              int lo = hex4 (p + 6, end);

              if (lo < 0xdc00 || lo > 0xdfff)
                return fail (P, p, "lone surrogate \\u%04X in a string", (unsigned) u);
              p += 12;
            }
          else
            p += 6;
          continue;
        }
      if (c < 0x20)
        {
          if (c == 0)
            return fail (P, p, "a NUL byte in a string: this is not UTF-8 JSON text");
          return fail (P, p, "unescaped control character U+%04X in a string%s", c,
                       c == '\n' ? " (a string cannot span lines)" : "");
        }
      {
        gsize n = utf8_sequence ((const guchar *) p, (const guchar *) end);

        if (n == 0)
          return fail (P, p, "invalid UTF-8 in a string");
        p += n;
      }
    }

  raw = (gsize) (p - start);
  if (raw > G_MAXUINT32)
    return fail (P, P->p, "a string longer than %u bytes", G_MAXUINT32);
  if (raw == 0)
    {
      *out = "";
      *out_len = 0;
      P->p = p + 1;
      return TRUE;
    }
  dst = arena_alloc (P, raw + 1);
  if (dst == NULL)
    return FALSE;
  if (!escapes)
    {
      memcpy (dst, start, raw);
      d = dst + raw;
    }
  else
    {
      /* Checked above: every escape is complete and valid. */
      d = dst;
      for (const char *q = start; q < p;)
        {
          if (*q != '\\')
            {
              *d++ = *q++;
              continue;
            }
          switch (q[1])
            {
            case 'b': *d++ = '\b'; q += 2; break;
            case 'f': *d++ = '\f'; q += 2; break;
            case 'n': *d++ = '\n'; q += 2; break;
            case 'r': *d++ = '\r'; q += 2; break;
            case 't': *d++ = '\t'; q += 2; break;
            case 'u':
              {
                gunichar u = (gunichar) hex4 (q, p);

                q += 6;
                if (u >= 0xd800 && u <= 0xdbff)
                  {
                    u = 0x10000 + ((u - 0xd800) << 10) + ((gunichar) hex4 (q, p) - 0xdc00);
                    q += 6;
                  }
                d += g_unichar_to_utf8 (u, d);
                break;
              }
            default:
              *d++ = q[1];
              q += 2;
              break;
            }
        }
    }
  *d = '\0';
  *out = dst;
  *out_len = (gsize) (d - dst);
  P->p = p + 1;
  return TRUE;
}

/* g_ascii_strtod of the text from START to END, which is not NUL-terminated. */
static double
strtod_span (const char *start,
             const char *end)
{
  gsize n = (gsize) (end - start);
  char buf[64];

  if (n < sizeof buf)
    {
      memcpy (buf, start, n);
      buf[n] = '\0';
      return g_ascii_strtod (buf, NULL);
    }
  else
    {
      g_autofree char *copy = g_strndup (start, n);
      return g_ascii_strtod (copy, NULL);
    }
}

static gboolean
parse_number (Parser *P)
{
  const char *start = P->p, *p = start, *end = P->end;
  gboolean neg = FALSE, is_int = TRUE, overflow = FALSE;
  guint64 u = 0;
  gsize digits = 0;

  if (*p == '-')
    {
      neg = TRUE;
      p++;
      if (p == end)
        return fail (P, p, "unexpected end of file in a number");
      if (!g_ascii_isdigit (*p))
        {
          if (g_ascii_isalpha (*p))
            return bad_word (P, start, "a value");
          return fail (P, p, "expected a digit after '-'");
        }
    }
  if (*p == '0')
    {
      p++;
      digits = 1;
      if (p < end && g_ascii_isdigit (*p))
        return fail (P, start, "leading zeros are not allowed in numbers");
    }
  else
    while (p < end && g_ascii_isdigit (*p))
      {
        guint dgt = (guint) (*p - '0');

        if (u > (G_MAXUINT64 - dgt) / 10)
          overflow = TRUE;
        else
          u = u * 10 + dgt;
        digits++;
        p++;
      }
  if (p < end && *p == '.')
    {
      p++;
      if (p == end)
        return fail (P, p, "unexpected end of file in a number");
      if (!g_ascii_isdigit (*p))
        return fail (P, p, "expected a digit after the decimal point");
      while (p < end && g_ascii_isdigit (*p))
        p++;
      is_int = FALSE;
    }
  if (p < end && (*p == 'e' || *p == 'E'))
    {
      p++;
      if (p < end && (*p == '+' || *p == '-'))
        p++;
      if (p == end)
        return fail (P, p, "unexpected end of file in a number");
      if (!g_ascii_isdigit (*p))
        return fail (P, p, "expected a digit in the exponent");
      while (p < end && g_ascii_isdigit (*p))
        p++;
      is_int = FALSE;
    }
  P->p = p;

  if (!is_int)
    return add_number (P, strtod_span (start, p), FALSE);
  if (!overflow && u <= EXACT_INT_MAX)
    return add_number (P, neg ? -(double) u : (double) u, TRUE);

  /* An integer a double may not hold exactly: a node of its own. */
  {
    KanJsonNode n = { 0 };

    n.type = KAN_JSON_NUMBER;
    if (!overflow && !neg && u <= (guint64) G_MAXINT64)
      {
        n.flags = KAN_JSON_INT;
        n.v.i = (gint64) u;
      }
    else if (!overflow && neg && u <= (guint64) G_MAXINT64 + 1)
      {
        n.flags = KAN_JSON_INT;
        n.v.i = u == (guint64) G_MAXINT64 + 1 ? G_MININT64 : -(gint64) u;
      }
    else if (!overflow && !neg)
      {
        n.flags = KAN_JSON_UINT;
        n.v.u = u;
      }
    else
      {
        n.flags = KAN_JSON_BIG;
        n.v.d = strtod_span (start, p);
        n.n = (guint32) MIN (digits, G_MAXUINT32);
      }
    return add_node (P, &n);
  }
}

/* true, false or null (anything else that starts with a letter is refused). */
static gboolean
parse_word (Parser *P)
{
  static const struct { const char *word; KanJsonType type; gint64 value; } words[] = {
    { "true", KAN_JSON_BOOL, 1 }, { "false", KAN_JSON_BOOL, 0 }, { "null", KAN_JSON_NULL, 0 },
  };
  const char *q = P->p;

  while (q < P->end && is_word_char (*q))
    q++;
  for (guint w = 0; w < G_N_ELEMENTS (words); w++)
    if ((gsize) (q - P->p) == strlen (words[w].word)
        && memcmp (P->p, words[w].word, (gsize) (q - P->p)) == 0)
      {
        KanJsonNode n = { 0 };

        n.type = words[w].type;
        n.v.i = words[w].value;
        P->p = q;
        return add_node (P, &n);
      }
  return unexpected (P, P->p, "a value");
}

/* ------------------------------------------------------------------------------------------ */
/* Keys                                                                                        */
/* ------------------------------------------------------------------------------------------ */

/* KEY for a message: control characters escaped, cut after QUOTE_MAX characters. */
static void
append_printable (GString    *s,
                  const char *key)
{
  glong n = 0;

  for (const char *q = key; *q != '\0' && n < QUOTE_MAX; q = g_utf8_next_char (q), n++)
    {
      if ((guchar) *q < 0x20 || *q == 0x7f)
        g_string_append_printf (s, "\\u%04X", (guchar) *q);
      else
        g_string_append_len (s, q, g_utf8_next_char (q) - q);
    }
  if (g_utf8_strlen (key, -1) > QUOTE_MAX)
    g_string_append (s, "…");
}

/* The JSON path of KEY in the innermost object, e.g. "model.layers[0].coef". */
static char *
path_of (Parser     *P,
         const char *key)
{
  GString *s = g_string_new (NULL);
  const char *const *keys = (const char *const *) P->keys.data;

  for (guint d = 0; d < P->depth; d++)
    {
      const Frame *f = &P->frames[d];

      if (d + 1 == P->depth || f->is_object)
        {
          if (s->len > 0)
            g_string_append_c (s, '.');
          append_printable (s, d + 1 == P->depth ? key : keys[f->kbase + f->count]);
        }
      else
        g_string_append_printf (s, "[%" G_GSIZE_FORMAT "]", f->count);
    }
  return g_string_free (s, FALSE);
}

/* A member's key at P->p, checked against the object's other keys, and its ':'. */
static gboolean
parse_key (Parser *P)
{
  Frame *f = top (P);
  const char *at = P->p, *key;
  const char *const *keys;
  gboolean dup = FALSE;
  gsize len;

  if (at == P->end || *at != '"')
    return unexpected (P, at, "a key in double quotes");
  if (!parse_string (P, &key, &len))
    return FALSE;

  /* The keys of the members before this one (none yet: the stack may be unallocated). */
  keys = f->count > 0 ? (const char *const *) P->keys.data + f->kbase : NULL;
  if (f->keys == NULL && f->count >= HASH_AFTER)
    {
      if (!charge (P, f->count * HASH_ENTRY_BYTES))
        return FALSE;
      f->keys = g_hash_table_new (g_str_hash, g_str_equal);
      for (gsize i = 0; i < f->count; i++)
        g_hash_table_add (f->keys, (gpointer) keys[i]);
    }
  if (f->keys != NULL)
    {
      dup = g_hash_table_contains (f->keys, key);
      if (!dup)
        {
          if (!charge (P, HASH_ENTRY_BYTES))
            return FALSE;
          g_hash_table_add (f->keys, (gpointer) key);
        }
    }
  else
    for (gsize i = 0; i < f->count && !dup; i++)
      dup = strcmp (keys[i], key) == 0;
  if (dup)
    {
      g_autofree char *path = path_of (P, key);
      return fail (P, at, "duplicate key: %s", path);
    }

  if (!buf_reserve (P, &P->keys, sizeof key))
    return FALSE;
  memcpy (P->keys.data + P->keys.len, &key, sizeof key);
  P->keys.len += sizeof key;

  skip_ws (P);
  if (P->p == P->end || *P->p != ':')
    return unexpected (P, P->p, "':' after the key");
  P->p++;
  return TRUE;
}

/* ------------------------------------------------------------------------------------------ */
/* The document                                                                                */
/* ------------------------------------------------------------------------------------------ */

static gboolean
not_closed (Parser *P)
{
  const Frame *f = top (P);
  gsize line, col;

  position (P, f->open_at, &line, &col);
  return fail (P, P->end, "unexpected end of file: the %s opened at %" G_GSIZE_FORMAT ":%"
               G_GSIZE_FORMAT " is not closed", f->is_object ? "object" : "array", line, col);
}

static gboolean
parse_document (Parser *P)
{
  gboolean need_value = TRUE;

  for (;;)
    {
      if (need_value)
        {
          const char *at;

          skip_ws (P);
          at = P->p;
          if (at == P->end)
            return P->depth > 0 ? not_closed (P) : unexpected (P, at, "a value");
          switch (*at)
            {
            case '[':
            case '{':
              {
                gboolean obj = *at == '{';

                if (!push_frame (P, obj))
                  return FALSE;
                P->p++;
                skip_ws (P);
                if (P->p < P->end && *P->p == (obj ? '}' : ']'))
                  {
                    P->p++;
                    if (!(obj ? close_object (P) : close_array (P)))
                      return FALSE;
                    need_value = FALSE;
                  }
                else if (obj && !parse_key (P))
                  return FALSE;
                break;
              }
            case '"':
              {
                KanJsonNode n = { 0 };
                const char *s;
                gsize len;

                if (!parse_string (P, &s, &len))
                  return FALSE;
                n.type = KAN_JSON_STRING;
                n.n = (guint32) len;
                n.v.s = s;
                if (!add_node (P, &n))
                  return FALSE;
                need_value = FALSE;
                break;
              }
            case '-': case '0': case '1': case '2': case '3': case '4': case '5': case '6':
            case '7': case '8': case '9':
              if (!parse_number (P))
                return FALSE;
              need_value = FALSE;
              break;
            default:
              if (!g_ascii_isalpha (*at))
                return unexpected (P, at, "a value");
              if (!parse_word (P))
                return FALSE;
              need_value = FALSE;
              break;
            }
          continue;
        }

      /* After a value: the end, the next element, or the end of its container. */
      skip_ws (P);
      if (P->depth == 0)
        {
          if (P->p < P->end)
            {
              if (*P->p == '\0' || *P->p == '/')
                return unexpected (P, P->p, "the end");
              return fail (P, P->p, "unexpected text after the JSON value");
            }
          return TRUE;
        }
      if (P->p == P->end)
        return not_closed (P);
      {
        Frame *f = top (P);
        char close = f->is_object ? '}' : ']';

        if (*P->p == ',')
          {
            const char *comma = P->p;

            P->p++;
            skip_ws (P);
            if (P->p < P->end && *P->p == close)
              return fail (P, comma, "trailing comma before '%c'", close);
            if (f->is_object && !parse_key (P))
              return FALSE;
            need_value = TRUE;
          }
        else if (*P->p == close)
          {
            P->p++;
            if (!(f->is_object ? close_object (P) : close_array (P)))
              return FALSE;
          }
        else
          return unexpected (P, P->p, f->is_object ? "',' or '}'" : "',' or ']'");
      }
    }
}

KanJsonDoc *
kan_json_parse (const char          *text,
                gsize                length,
                const KanJsonLimits *limits,
                GError             **error)
{
  KanJsonLimits defaults;
  Parser P = { 0 };
  gboolean ok;

  g_return_val_if_fail (text != NULL || length == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (limits == NULL)
    {
      kan_json_limits_init (&defaults);
      limits = &defaults;
    }
  P.text = P.p = P.line_start = text != NULL ? text : "";
  P.end = P.text + length;
  P.line = 1;
  P.max_depth = MAX (limits->max_depth, 1);
  P.max = limits->max_bytes;
  if (P.max == 0)
    P.max = length > (G_MAXSIZE - KAN_JSON_MEMORY_SLACK) / KAN_JSON_MEMORY_FACTOR
            ? G_MAXSIZE : length * KAN_JSON_MEMORY_FACTOR + KAN_JSON_MEMORY_SLACK;
  P.error = error;
  P.doc = g_new0 (KanJsonDoc, 1);
  P.doc->blocks = g_ptr_array_new_with_free_func (g_free);
  P.mem = sizeof (KanJsonDoc);

  /* A byte order mark is not part of the document. */
  if (length >= 3 && memcmp (P.p, "\xef\xbb\xbf", 3) == 0)
    P.p = P.line_start = P.p + 3;
  P.first = P.p;

  ok = parse_document (&P);

  while (P.depth > 0)
    pop_frame (&P);
  for (guint d = 0; d < P.n_frames; d++)
    {
      buf_clear (&P, &P.frames[d].nums);
      buf_clear (&P, &P.frames[d].kinds);
    }
  g_free (P.frames);
  buf_clear (&P, &P.nodes);
  buf_clear (&P, &P.keys);
  if (!ok)
    {
      kan_json_free (P.doc);
      return NULL;
    }
  return P.doc;
}

void
kan_json_free (KanJsonDoc *doc)
{
  if (doc == NULL)
    return;
  while (doc->chunks != NULL)
    {
      Chunk *next = doc->chunks->next;

      g_free (doc->chunks);
      doc->chunks = next;
    }
  g_ptr_array_unref (doc->blocks);
  g_free (doc);
}

const KanJsonNode *
kan_json_root (const KanJsonDoc *doc)
{
  g_return_val_if_fail (doc != NULL, NULL);
  return &doc->root;
}

gsize
kan_json_bytes (const KanJsonDoc *doc)
{
  g_return_val_if_fail (doc != NULL, 0);
  return doc->bytes;
}

gsize
kan_json_peak_bytes (const KanJsonDoc *doc)
{
  g_return_val_if_fail (doc != NULL, 0);
  return doc->peak;
}

/* ------------------------------------------------------------------------------------------ */
/* Reading nodes                                                                               */
/* ------------------------------------------------------------------------------------------ */

KanJsonType
kan_json_type (const KanJsonNode *node)
{
  g_return_val_if_fail (node != NULL, KAN_JSON_NULL);
  return (KanJsonType) node->type;
}

const char *
kan_json_kind (const KanJsonNode *node)
{
  g_return_val_if_fail (node != NULL, NULL);
  switch (node->type)
    {
    case KAN_JSON_NULL:
      return "null";
    case KAN_JSON_BOOL:
      return "a boolean";
    case KAN_JSON_NUMBER:
      return (node->flags & F_KIND) == KAN_JSON_REAL ? "a number" : "an integer";
    case KAN_JSON_STRING:
      return "a string";
    case KAN_JSON_ARRAY:
      return "an array";
    case KAN_JSON_OBJECT:
    default:
      return "an object";
    }
}

gboolean
kan_json_get_bool (const KanJsonNode *node)
{
  g_return_val_if_fail (node != NULL && node->type == KAN_JSON_BOOL, FALSE);
  return node->v.i != 0;
}

const char *
kan_json_get_string (const KanJsonNode *node)
{
  g_return_val_if_fail (node != NULL && node->type == KAN_JSON_STRING, NULL);
  return node->v.s;
}

gsize
kan_json_string_length (const KanJsonNode *node)
{
  g_return_val_if_fail (node != NULL && node->type == KAN_JSON_STRING, 0);
  return node->n;
}

KanJsonNumberKind
kan_json_number_kind (const KanJsonNode *node)
{
  g_return_val_if_fail (node != NULL && node->type == KAN_JSON_NUMBER, KAN_JSON_REAL);
  return (KanJsonNumberKind) (node->flags & F_KIND);
}

double
kan_json_get_double (const KanJsonNode *node)
{
  g_return_val_if_fail (node != NULL && node->type == KAN_JSON_NUMBER, 0.0);
  switch (node->flags & F_KIND)
    {
    case KAN_JSON_INT:
      return (node->flags & F_NEGZERO) ? -0.0 : (double) node->v.i;
    case KAN_JSON_UINT:
      return (double) node->v.u;
    default:
      return node->v.d;
    }
}

gint64
kan_json_get_int (const KanJsonNode *node)
{
  g_return_val_if_fail (node != NULL && node->type == KAN_JSON_NUMBER
                        && (node->flags & F_KIND) == KAN_JSON_INT, 0);
  return node->v.i;
}

guint64
kan_json_get_uint (const KanJsonNode *node)
{
  g_return_val_if_fail (node != NULL && node->type == KAN_JSON_NUMBER
                        && ((node->flags & F_KIND) == KAN_JSON_UINT
                            || ((node->flags & F_KIND) == KAN_JSON_INT && node->v.i >= 0)), 0);
  return node->v.u;
}

guint
kan_json_big_digits (const KanJsonNode *node)
{
  g_return_val_if_fail (node != NULL && node->type == KAN_JSON_NUMBER
                        && (node->flags & F_KIND) == KAN_JSON_BIG, 0);
  return node->n;
}

gsize
kan_json_length (const KanJsonNode *node)
{
  g_return_val_if_fail (node != NULL, 0);
  g_return_val_if_fail (node->type == KAN_JSON_ARRAY || node->type == KAN_JSON_OBJECT, 0);
  return node->n;
}

KanJsonNode
kan_json_array_get (const KanJsonNode *array,
                    gsize              index)
{
  KanJsonNode n = { 0 };

  g_return_val_if_fail (array != NULL && array->type == KAN_JSON_ARRAY && index < array->n, n);
  if (array->flags & F_PACKED)
    {
      gboolean is_int = (array->flags & F_ALLINT) != 0;

      if (array->flags & F_MIXED)
        {
          const guint8 *bits = (const guint8 *) (array->v.nums + array->n);
          is_int = (bits[index / 8] >> (index % 8)) & 1;
        }
      return number_node (array->v.nums[index], is_int);
    }
  if (array->flags & F_MATRIX)
    {
      const Matrix *m = array->v.matrix;

      n.type = KAN_JSON_ARRAY;
      n.flags = F_PACKED | (array->flags & F_ALLINT);
      n.n = (guint32) m->cols;
      n.v.nums = m->v + index * m->cols;
      return n;
    }
  return ((const KanJsonNode *) array->v.items)[index];
}

const double *
kan_json_array_doubles (const KanJsonNode *array)
{
  g_return_val_if_fail (array != NULL && array->type == KAN_JSON_ARRAY, NULL);
  return (array->flags & F_PACKED) ? array->v.nums : NULL;
}

const KanJsonMember *
kan_json_object_member (const KanJsonNode *object,
                        gsize              index)
{
  g_return_val_if_fail (object != NULL, NULL);
  g_return_val_if_fail (object->type == KAN_JSON_OBJECT && index < object->n, NULL);
  return (const KanJsonMember *) object->v.members + index;
}

const KanJsonNode *
kan_json_object_get (const KanJsonNode *object,
                     const char        *key)
{
  const KanJsonMember *m;

  g_return_val_if_fail (object != NULL && object->type == KAN_JSON_OBJECT, NULL);
  g_return_val_if_fail (key != NULL, NULL);
  m = object->v.members;
  for (gsize i = 0; i < object->n; i++)
    if (strcmp (m[i].key, key) == 0)
      return &m[i].value;
  return NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* Writing                                                                                     */
/* ------------------------------------------------------------------------------------------ */

/* Writer flags of an open container. */
#define W_EMPTY      1   /* no element yet */
#define W_OBJECT     2
#define W_LINES      4   /* every element on its own line */
#define W_BROKEN     8   /* an inline container that kan_json_write_break has broken */
#define W_BREAK_NEXT 16  /* the next element starts a new line */

/* Characters a terminal may act on rather than show: C0 controls and DEL, C1 controls (U+0080
 * to U+009F, which some terminals read as ESC sequences: U+009B is CSI), the bidirectional
 * formatting characters that reorder what is shown (U+061C, U+200E, U+200F, U+202A to U+202E,
 * U+2066 to U+2069), and the line and paragraph separators. */
static gboolean
char_is_unsafe (gunichar c)
{
  return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x061c || c == 0x200e || c == 0x200f
         || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) || c == 0x2028
         || c == 0x2029;
}

/* Writes C escaped and returns TRUE, or returns FALSE to have it copied as it is. */
static gboolean
escape_char (GString        *out,
             gunichar        c,
             KanEscapeStyle  style)
{
  if (style == KAN_ESCAPE_JSON)
    {
      if (c == '"' || c == '\\')
        g_string_append_printf (out, "\\%c", (char) c);
      else if (c == '\n')
        g_string_append (out, "\\n");
      else if (c == '\r')
        g_string_append (out, "\\r");
      else if (c == '\t')
        g_string_append (out, "\\t");
      else if (char_is_unsafe (c))
        g_string_append_printf (out, "\\u%04x", (unsigned) c);
      else
        return FALSE;
      return TRUE;
    }
  if (!char_is_unsafe (c))
    return FALSE;
  if (c < 0x80)
    g_string_append_printf (out, "\\x%02x", (unsigned) c);
  else
    g_string_append_printf (out, "\\u%04x", (unsigned) c);
  return TRUE;
}

void
kan_json_escape_append (GString        *out,
                        const char     *text,
                        KanEscapeStyle  style)
{
  const char *p, *end;

  g_return_if_fail (out != NULL);
  g_return_if_fail (text != NULL);

  p = text;
  end = text + strlen (text);
  while (p < end)
    {
      gunichar c = g_utf8_get_char_validated (p, end - p);

      if (c == (gunichar) -1 || c == (gunichar) -2)
        {
          g_string_append (out, "\xef\xbf\xbd");
          p++;
          continue;
        }
      if (!escape_char (out, c, style))
        g_string_append_len (out, p, g_utf8_next_char (p) - p);
      p = g_utf8_next_char (p);
    }
}

void
kan_json_writer_init (KanJsonWriter *w,
                      guint          wrap_depth)
{
  g_return_if_fail (w != NULL);
  memset (w, 0, sizeof *w);
  w->s = g_string_sized_new (1024);
  w->wrap_depth = wrap_depth;
  w->flags[0] = W_EMPTY;
}

void
kan_json_writer_clear (KanJsonWriter *w)
{
  g_return_if_fail (w != NULL);
  if (w->s != NULL)
    g_string_free (w->s, TRUE);
  memset (w, 0, sizeof *w);
}

char *
kan_json_writer_finish (KanJsonWriter *w,
                        gsize         *length)
{
  GString *s;

  g_return_val_if_fail (w != NULL && w->s != NULL, NULL);
  g_return_val_if_fail (w->depth == 0, NULL);
  s = g_steal_pointer (&w->s);
  g_string_append_c (s, '\n');
  if (length != NULL)
    *length = s->len;
  memset (w, 0, sizeof *w);
  return g_string_free (s, FALSE);
}

static void
w_newline (KanJsonWriter *w,
           guint          indent)
{
  g_string_append_c (w->s, '\n');
  for (guint i = 0; i < indent; i++)
    g_string_append (w->s, "  ");
}

static void
w_quoted (KanJsonWriter *w,
          const char    *text)
{
  g_string_append_c (w->s, '"');
  kan_json_escape_append (w->s, text, KAN_ESCAPE_JSON);
  g_string_append_c (w->s, '"');
}

/* The separator, line break and key before the next element of the innermost container. */
static void
w_item (KanJsonWriter *w,
        const char    *key)
{
  guint8 *f = &w->flags[w->depth];

  if (w->depth > 0)
    {
      if (!(*f & W_EMPTY))
        g_string_append_c (w->s, ',');
      if (*f & (W_LINES | W_BREAK_NEXT))
        w_newline (w, w->indent[w->depth]);
      else if (!(*f & W_EMPTY))
        g_string_append_c (w->s, ' ');
      g_warn_if_fail (((*f & W_OBJECT) != 0) == (key != NULL));
    }
  *f &= (guint8) ~(W_EMPTY | W_BREAK_NEXT);
  if (key != NULL)
    {
      w_quoted (w, key);
      g_string_append (w->s, ": ");
    }
}

static void
w_open (KanJsonWriter *w,
        const char    *key,
        gboolean       object,
        gboolean       is_inline)
{
  guint d, parent_line;

  g_return_if_fail (w != NULL && w->s != NULL);
  g_return_if_fail (w->depth + 1 < KAN_JSON_WRITER_MAX_DEPTH);
  w_item (w, key);
  g_string_append_c (w->s, object ? '{' : '[');
  /* The line the parent's elements are on: its own indentation once it breaks lines. */
  parent_line = w->depth == 0 ? 0
                : (w->flags[w->depth] & (W_LINES | W_BROKEN)) ? w->indent[w->depth]
                : w->indent[w->depth] - 1u;
  d = ++w->depth;
  w->flags[d] = W_EMPTY | (object ? W_OBJECT : 0);
  if (!is_inline && (w->wrap_depth == 0 || d <= w->wrap_depth))
    w->flags[d] |= W_LINES;
  w->indent[d] = (guint8) (parent_line + 1);
}

void
kan_json_write_begin_object (KanJsonWriter *w,
                             const char    *key)
{
  w_open (w, key, TRUE, FALSE);
}

void
kan_json_write_begin_array (KanJsonWriter *w,
                            const char    *key)
{
  w_open (w, key, FALSE, FALSE);
}

void
kan_json_write_begin_object_inline (KanJsonWriter *w,
                                    const char    *key)
{
  w_open (w, key, TRUE, TRUE);
}

void
kan_json_write_begin_array_inline (KanJsonWriter *w,
                                   const char    *key)
{
  w_open (w, key, FALSE, TRUE);
}

void
kan_json_write_end (KanJsonWriter *w)
{
  guint8 f;

  g_return_if_fail (w != NULL && w->s != NULL && w->depth > 0);
  f = w->flags[w->depth];
  if ((f & (W_LINES | W_BROKEN)) && !(f & W_EMPTY))
    w_newline (w, w->indent[w->depth] - 1u);
  g_string_append_c (w->s, (f & W_OBJECT) ? '}' : ']');
  w->depth--;
}

void
kan_json_write_break (KanJsonWriter *w)
{
  g_return_if_fail (w != NULL && w->depth > 0);
  w->flags[w->depth] |= W_BREAK_NEXT | W_BROKEN;
}

void
kan_json_write_double (KanJsonWriter *w,
                       const char    *key,
                       double         v)
{
  static const char *const formats[] = { "%.15g", "%.16g", "%.17g" };
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  g_return_if_fail (w != NULL && w->s != NULL);
  w_item (w, key);
  if (!isfinite (v))
    {
      g_string_append (w->s, "null");
      return;
    }
  /* Compared bit for bit, so that -0.0 is not taken for 0.0. */
  for (guint f = 0; f < G_N_ELEMENTS (formats); f++)
    {
      double back;

      g_ascii_formatd (buf, sizeof buf, formats[f], v);
      back = g_ascii_strtod (buf, NULL);
      if (memcmp (&back, &v, sizeof v) == 0)
        break;
    }
  g_string_append (w->s, buf);
  if (strpbrk (buf, ".e") == NULL)
    g_string_append (w->s, ".0");
}

void
kan_json_write_int (KanJsonWriter *w,
                    const char    *key,
                    gint64         v)
{
  g_return_if_fail (w != NULL && w->s != NULL);
  w_item (w, key);
  g_string_append_printf (w->s, "%" G_GINT64_FORMAT, v);
}

void
kan_json_write_uint64 (KanJsonWriter *w,
                       const char    *key,
                       guint64        v)
{
  g_return_if_fail (w != NULL && w->s != NULL);
  w_item (w, key);
  if (v <= (guint64) G_MAXINT64)
    g_string_append_printf (w->s, "%" G_GUINT64_FORMAT, v);
  else
    g_string_append_printf (w->s, "\"%" G_GUINT64_FORMAT "\"", v);
}

void
kan_json_write_bool (KanJsonWriter *w,
                     const char    *key,
                     gboolean       v)
{
  g_return_if_fail (w != NULL && w->s != NULL);
  w_item (w, key);
  g_string_append (w->s, v ? "true" : "false");
}

void
kan_json_write_string (KanJsonWriter *w,
                       const char    *key,
                       const char    *v)
{
  g_return_if_fail (w != NULL && w->s != NULL);
  w_item (w, key);
  if (v == NULL)
    g_string_append (w->s, "null");
  else
    w_quoted (w, v);
}

void
kan_json_write_null (KanJsonWriter *w,
                     const char    *key)
{
  g_return_if_fail (w != NULL && w->s != NULL);
  w_item (w, key);
  g_string_append (w->s, "null");
}

void
kan_json_write_doubles (KanJsonWriter *w,
                        const char    *key,
                        const double  *v,
                        gsize          n,
                        gsize          per_line)
{
  gboolean lines = per_line > 0 && n > per_line;

  g_return_if_fail (w != NULL && w->s != NULL);
  g_return_if_fail (v != NULL || n == 0);
  kan_json_write_begin_array_inline (w, key);
  for (gsize i = 0; i < n; i++)
    {
      if (lines && i % per_line == 0)
        kan_json_write_break (w);
      kan_json_write_double (w, NULL, v[i]);
    }
  kan_json_write_end (w);
}
