/* kan-json.h — a small strict JSON reader that keeps numbers compact.
 *
 * RFC 8259 JSON and nothing else: no comments, no single quotes, no NaN or Infinity, no leading
 * zeros, no trailing commas, no text after the value, no unescaped control characters, valid
 * UTF-8 only, no lone surrogate escapes, no duplicate keys. Additionally a string may not contain
 * U+0000 (strings are C strings). A leading UTF-8 byte order mark is skipped. Every error is
 * one line "LINE:COLUMN: what" (columns count characters, from 1).
 *
 * The parser is iterative: nesting is limited by KanJsonLimits.max_depth, not by the C stack.
 * An array whose elements are all numbers is stored as one packed array of doubles, and an
 * array of such arrays of one length as one matrix, so a number costs 8 bytes however it was
 * written. The parser also refuses a document whose parsed form (with its work buffers) would
 * need more than KanJsonLimits.max_bytes.
 *
 * Nodes are read through the functions below; an element of an array is returned by value
 * (packed numbers have no node of their own) and stays valid as long as the document.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Deepest nesting of arrays and objects accepted by default. */
#define KAN_JSON_MAX_DEPTH 512
/* By default the parsed form may need at most KAN_JSON_MEMORY_FACTOR times the length of the
 * text plus KAN_JSON_MEMORY_SLACK bytes; see kan_json_limits_init. */
#define KAN_JSON_MEMORY_FACTOR 2
#define KAN_JSON_MEMORY_SLACK  ((gsize) 1 << 20)

typedef enum
{
  KAN_JSON_NULL,
  KAN_JSON_BOOL,
  KAN_JSON_NUMBER,
  KAN_JSON_STRING,
  KAN_JSON_ARRAY,
  KAN_JSON_OBJECT,
} KanJsonType;

/* How a number was written. */
typedef enum
{
  KAN_JSON_REAL,     /* with a fraction or an exponent */
  KAN_JSON_INT,      /* an integer that fits in gint64 */
  KAN_JSON_UINT,     /* an integer above G_MAXINT64 that fits in guint64 */
  KAN_JSON_BIG,      /* an integer beyond 64 bits */
} KanJsonNumberKind;

/* Read through the functions; the fields are the parser's. */
typedef struct
{
  guint8  type;     /* KanJsonType */
  guint8  flags;
  guint16 reserved;
  guint32 n;        /* length of a string, array or object; digits of a big integer */
  union
  {
    double             d;
    gint64             i;
    guint64            u;
    const char        *s;
    const void        *items;
    const double      *nums;
    const void        *matrix;
    const void        *members;
  } v;
} KanJsonNode;

typedef struct
{
  const char  *key;
  KanJsonNode  value;
} KanJsonMember;

typedef struct
{
  guint max_depth;  /* KAN_JSON_MAX_DEPTH */
  gsize max_bytes;  /* 0: KAN_JSON_MEMORY_FACTOR × length + KAN_JSON_MEMORY_SLACK */
} KanJsonLimits;

typedef struct _KanJsonDoc KanJsonDoc;

void                 kan_json_limits_init   (KanJsonLimits       *limits);
/* Parses LENGTH bytes of TEXT (NUL bytes are an error, not an end). LIMITS may be NULL for the
 * defaults. Errors are KAN_ERROR_PARSE, or KAN_ERROR_BUDGET when the document would need more
 * than max_bytes; the message is "LINE:COLUMN: what". */
KanJsonDoc          *kan_json_parse         (const char          *text,
                                             gsize                length,
                                             const KanJsonLimits *limits,
                                             GError             **error);
void                 kan_json_free          (KanJsonDoc          *doc);
const KanJsonNode   *kan_json_root          (const KanJsonDoc    *doc);
/* Bytes the parsed form holds, and the most it held while parsing (with work buffers). */
gsize                kan_json_bytes         (const KanJsonDoc    *doc);
gsize                kan_json_peak_bytes    (const KanJsonDoc    *doc);

KanJsonType          kan_json_type          (const KanJsonNode   *node);
/* "an object", "an array", "a string", "an integer", "a number", "a boolean" or "null". */
const char          *kan_json_kind          (const KanJsonNode   *node);

gboolean             kan_json_get_bool      (const KanJsonNode   *node);
/* The UTF-8 text of a string (no NUL inside), and its length in bytes. */
const char          *kan_json_get_string    (const KanJsonNode   *node);
gsize                kan_json_string_length (const KanJsonNode   *node);

KanJsonNumberKind    kan_json_number_kind   (const KanJsonNode   *node);
/* The double g_ascii_strtod gives for the number as written (±inf beyond the range). */
double               kan_json_get_double    (const KanJsonNode   *node);
/* The value of a KAN_JSON_INT or KAN_JSON_UINT number. */
gint64               kan_json_get_int       (const KanJsonNode   *node);
guint64              kan_json_get_uint      (const KanJsonNode   *node);
/* Decimal digits of a KAN_JSON_BIG integer (its sign is that of kan_json_get_double). */
guint                kan_json_big_digits    (const KanJsonNode   *node);

/* Elements of an array, members of an object. */
gsize                kan_json_length        (const KanJsonNode   *node);
KanJsonNode          kan_json_array_get     (const KanJsonNode   *array,
                                             gsize                index);
/* The elements of an array of numbers as doubles, or NULL when it is not stored packed
 * (an empty array, or one with a non-number or an integer beyond ±2^53 in it). */
const double        *kan_json_array_doubles (const KanJsonNode   *array);
const KanJsonMember *kan_json_object_member (const KanJsonNode   *object,
                                             gsize                index);
/* The value of KEY, or NULL. */
const KanJsonNode   *kan_json_object_get    (const KanJsonNode   *object,
                                             const char          *key);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KanJsonDoc, kan_json_free)

G_END_DECLS
