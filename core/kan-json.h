/* kan-json.h — a small strict JSON reader that keeps numbers compact, and the JSON writer.
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
/* Parses LENGTH bytes of TEXT (NUL bytes are an error, not an end) into a new document (free
 * with kan_json_free, which accepts NULL; TEXT is not kept). LIMITS may be NULL for the
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
/* The UTF-8 text of a string (no NUL inside; owned by the document), and its length in bytes. */
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

/* Writing.  The one JSON writer of Kanvas: session files (kan-session.c) and the --json
 * output of the CLI both go through it, so they escape and format numbers the same way.
 *
 * Strings: invalid UTF-8 (a Latin-1 file name, say) is repaired, each bad byte becoming
 * U+FFFD, so the output is always valid JSON. Quotes, backslashes and every character a
 * terminal may act on rather than show (C0 and C1 controls, DEL, the bidirectional
 * formatting characters, U+2028, U+2029) are escaped, so printing the JSON is safe.
 * Numbers: a double is written with the fewest of 15, 16 or 17 significant digits that read
 * back to the same bits, always with a '.' or an exponent (so -0.0 keeps its sign and a
 * reader sees a real); NaN and infinities become null. Integers are written as integers.
 * Layout: two-space indentation. A container opened with begin_object/begin_array puts each
 * element on its own line while it is at most WRAP_DEPTH levels deep (0: any depth), and on
 * one line ("[1, 2]", "{\"a\": 1}") deeper down; the _inline variants are always on one
 * line, except where kan_json_write_break starts a new one. The same calls give the same
 * bytes. */

/* How deep containers may nest in a written document (deeper is a programming error). */
#define KAN_JSON_WRITER_MAX_DEPTH 32

/* Stack-allocate and set up with kan_json_writer_init; the fields are the writer's. */
typedef struct
{
  GString *s;
  guint    depth;
  guint    wrap_depth;
  guint8   flags[KAN_JSON_WRITER_MAX_DEPTH];   /* per open container */
  guint8   indent[KAN_JSON_WRITER_MAX_DEPTH];  /* indentation of its elements' lines */
} KanJsonWriter;

void     kan_json_writer_init          (KanJsonWriter *w,
                                        guint          wrap_depth);
/* The document with a final newline (g_free it); *LENGTH (may be NULL) its length. W is left
 * empty, ready for kan_json_writer_init again. */
char    *kan_json_writer_finish        (KanJsonWriter *w,
                                        gsize         *length);
/* Drops what W holds (for error paths); W may be cleared twice. */
void     kan_json_writer_clear         (KanJsonWriter *w);

/* Every value takes the KEY it has in the enclosing object, or NULL in an array and at the
 * top level. */
void     kan_json_write_begin_object   (KanJsonWriter *w,
                                        const char    *key);
void     kan_json_write_begin_array    (KanJsonWriter *w,
                                        const char    *key);
void     kan_json_write_begin_object_inline (KanJsonWriter *w,
                                             const char    *key);
void     kan_json_write_begin_array_inline  (KanJsonWriter *w,
                                             const char    *key);
/* Closes the innermost container, whichever kind it is. */
void     kan_json_write_end            (KanJsonWriter *w);
/* In an _inline container: the next element starts a new line (indented one level deeper
 * than the line the container opened on), and the closing bracket goes on a line of its own. */
void     kan_json_write_break          (KanJsonWriter *w);

void     kan_json_write_double         (KanJsonWriter *w,
                                        const char    *key,
                                        double         v);
void     kan_json_write_int            (KanJsonWriter *w,
                                        const char    *key,
                                        gint64         v);
/* As an integer up to G_MAXINT64, as a decimal string above (many readers stop at gint64). */
void     kan_json_write_uint64         (KanJsonWriter *w,
                                        const char    *key,
                                        guint64        v);
void     kan_json_write_bool           (KanJsonWriter *w,
                                        const char    *key,
                                        gboolean       v);
/* V NULL is written as null. */
void     kan_json_write_string         (KanJsonWriter *w,
                                        const char    *key,
                                        const char    *v);
void     kan_json_write_null           (KanJsonWriter *w,
                                        const char    *key);
/* N doubles as one array, PER_LINE to a line, or on one line when N <= PER_LINE or PER_LINE
 * is 0. */
void     kan_json_write_doubles        (KanJsonWriter *w,
                                        const char    *key,
                                        const double  *v,
                                        gsize          n,
                                        gsize          per_line);

/* How kan_json_escape_append writes a character that must not appear as it is. */
typedef enum
{
  KAN_ESCAPE_JSON,      /* the inside of a JSON string: \", \\, \n, \r, \t, \u001b, \u202e */
  KAN_ESCAPE_TERMINAL,  /* text for a terminal: \x1b, \u202e (quotes stay as they are) */
} KanEscapeStyle;

/* Appends TEXT to OUT with invalid UTF-8 repaired (U+FFFD for each bad byte) and the characters
 * listed above escaped in STYLE. The JSON writer uses it for every string, and the CLI for
 * everything from a file that it prints. */
void     kan_json_escape_append        (GString        *out,
                                        const char     *text,
                                        KanEscapeStyle  style);

G_END_DECLS
