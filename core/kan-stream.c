/* kan-stream.c — a streaming CSV reader and minibatch training over it (kan-stream.h).
 *
 * Reading. The file comes in through a buffer of KAN_STREAM_CHUNK bytes plus room for one record
 * of the longest length kan-data.c accepts. A plain row — numbers between commas, blanks around
 * them, an LF or CRLF end — is parsed in place (the fast path). Anything else (quotes, a lone CR,
 * a blank line, text that is not a number, a wrong field count, bytes that are not ASCII) is
 * handed with the header to kan_dataset_from_csv_data as a two-record file: it accepts the row
 * or says what is wrong with it exactly as for the whole file, and the line numbers of its
 * message are moved to where the record is in the file. So the rules of a CSV file live in one
 * place, kan-data.c.
 */
#include "kan-stream.h"
#include "kan-error.h"
#include "kan-model-private.h"
#include "kan-text-private.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gsl/gsl_rng.h>

/* Bytes read from the file at a time. */
#define KAN_STREAM_CHUNK ((gsize) 1 << 20)
/* The longest record kan-data.c reads (KAN_CSV_MAX_LINE there); one more byte proves a record
 * longer, two leave room for a CRLF. */
#define KAN_STREAM_MAX_RECORD ((gsize) 1 << 20)
#define KAN_STREAM_WINDOW (KAN_STREAM_MAX_RECORD + 2)
/* Numbers longer than this are parsed from a heap copy. */
#define KAN_STREAM_NUMBER_BUF 128

/* ------------------------------------------------------------------------------------------ */
/* Numbers                                                                                    */
/* ------------------------------------------------------------------------------------------ */

static const double exact_pow10[] = {
  1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
  1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

/* g_ascii_strtod of [P, END), finite or FALSE. */
static gboolean
parse_slow (const char *p,
            const char *end,
            double     *out)
{
  char buf[KAN_STREAM_NUMBER_BUF];
  gsize len = (gsize) (end - p);
  char *text = len < sizeof buf ? buf : g_malloc (len + 1);
  char *stop = NULL;
  double v;

  memcpy (text, p, len);
  text[len] = '\0';
  v = g_ascii_strtod (text, &stop);
  if (text != buf)
    g_free (text);
  if (!isfinite (v))
    return FALSE;
  *out = v;
  return TRUE;
}

gboolean
kan_stream_parse_number (const char *p,
                         const char *end,
                         double     *out)
{
  const char *start = p;
  guint64 m = 0;
  int nd = 0;            /* significant digits in m (at most 19) */
  long e10 = 0;          /* the power of ten that m is multiplied by */
  long ex = 0;
  gboolean neg = FALSE, any = FALSE, lost = FALSE, ex_neg = FALSE;
  const char *digits;
  double v;

  g_return_val_if_fail (p != NULL && end != NULL && out != NULL, FALSE);

  if (p < end && (*p == '+' || *p == '-'))
    neg = *p++ == '-';
  for (; p < end && g_ascii_isdigit (*p); p++)
    {
      int d = *p - '0';

      any = TRUE;
      if (m == 0 && d == 0)
        continue;
      if (nd < 19)
        m = m * 10 + (guint64) d, nd++;
      else
        e10++, lost |= d != 0;
    }
  if (p < end && *p == '.')
    for (p++; p < end && g_ascii_isdigit (*p); p++)
      {
        int d = *p - '0';

        any = TRUE;
        if (m == 0 && d == 0)
          e10--;
        else if (nd < 19)
          m = m * 10 + (guint64) d, nd++, e10--;
        else
          lost |= d != 0;
      }
  if (!any)
    return FALSE;
  if (p < end && (*p == 'e' || *p == 'E'))
    {
      p++;
      if (p < end && (*p == '+' || *p == '-'))
        ex_neg = *p++ == '-';
      digits = p;
      for (; p < end && g_ascii_isdigit (*p); p++)
        if (ex < 100000)
          ex = ex * 10 + (*p - '0');
      if (p == digits)
        return FALSE;
    }
  if (p != end)
    return FALSE;
  if (m == 0 && !lost)
    {
      *out = neg ? -0.0 : 0.0;
      return TRUE;
    }
  e10 += ex_neg ? -ex : ex;
  /* Trailing zeros of the digits ("1.50000") move into the exponent. */
  while (!lost && m % 10 == 0 && (m > ((guint64) 1 << 53) || e10 < -22))
    m /= 10, e10++;
  /* Clinger: m and 10^|e10| are exact doubles, so one operation rounds once, correctly. */
  if (lost || m > ((guint64) 1 << 53) || e10 < -22 || e10 > 22)
    return parse_slow (start, end, out);
  v = e10 >= 0 ? (double) m * exact_pow10[e10] : (double) m / exact_pow10[-e10];
  *out = neg ? -v : v;
  return TRUE;
}

/* ------------------------------------------------------------------------------------------ */
/* The reader                                                                                 */
/* ------------------------------------------------------------------------------------------ */

struct _KanCsvStream
{
  int         fd;
  char       *path;
  char       *display;
  char       *targets;          /* as given to kan_csv_stream_open, or NULL */
  char       *buf;
  gsize       cap, start, end;  /* unread bytes are buf[start, end) */
  gboolean    eof;
  guint64     consumed;         /* file bytes before buf[start] */
  guint64     size;
  guint64     data_offset;      /* where the first data record starts */
  guint       data_line;        /* its line */
  char       *header;           /* the header record as written (without its line end) */
  gsize       header_len;
  guint       header_lines;
  int         n_cols, n_in, n_out;
  int        *slot;             /* per column: ≥ 0 an input, -1 - t target t */
  KanDataset *columns;          /* names and units (from kan-data.c) */
  guint       line_no;          /* the line the next record starts on */
  gboolean    blank_seen;
  guint       blank_line;
  gint64      rows;
};

/* Reads more of the file into the buffer, moving the unread bytes to its start when the room
 * after them is short of KAN_STREAM_CHUNK. */
static gboolean
stream_fill (KanCsvStream  *s,
             GError       **error)
{
  ssize_t got;

  if (s->eof)
    return TRUE;
  if (s->cap - s->end < KAN_STREAM_CHUNK && s->start > 0)
    {
      memmove (s->buf, s->buf + s->start, s->end - s->start);
      s->end -= s->start;
      s->start = 0;
    }
  if (s->end == s->cap)
    return TRUE;
  do
    got = read (s->fd, s->buf + s->end, s->cap - s->end);
  while (got < 0 && errno == EINTR);
  if (got < 0)
    {
      int e = errno;

      g_set_error (error, KAN_ERROR, KAN_ERROR_IO, "%s: %s", s->display, g_strerror (e));
      return FALSE;
    }
  if (got == 0)
    s->eof = TRUE;
  s->end += (gsize) got;
  return TRUE;
}

/* Makes at least WANT unread bytes available, or all that is left. */
static gboolean
stream_want (KanCsvStream  *s,
             gsize          want,
             GError       **error)
{
  while (s->end - s->start < want && !s->eof)
    if (!stream_fill (s, error))
      return FALSE;
  return TRUE;
}

static void
stream_advance (KanCsvStream *s,
                gsize         n)
{
  s->start += n;
  s->consumed += n;
}

/* The extent of the record at P (AVAIL bytes available), by kan-data.c's rules: it ends at a
 * line end outside quotes; a quote opens a quoted field where a field starts, "" inside is a
 * quote, and line breaks inside count in *BREAKS. A quote not closed within the longest record
 * leaves the record at its first line. *LEN is the record without its line end, *TERM the
 * bytes of the line end. FALSE if the record does not end within AVAIL bytes. */
static gboolean
record_extent (const char *p,
               gsize       avail,
               gboolean    at_eof,
               gsize      *len,
               gsize      *term,
               guint      *breaks)
{
  gboolean quoted = FALSE, field_start = TRUE;
  guint nb = 0;
  gsize i;

  for (i = 0; i < avail; i++)
    {
      char c = p[i];

      if (quoted)
        {
          if (i > KAN_STREAM_MAX_RECORD)
            break;
          if (c == '"')
            {
              if (i + 1 < avail && p[i + 1] == '"')
                i++;
              else if (i + 1 >= avail && !at_eof)
                return FALSE;
              else
                quoted = FALSE;
            }
          else if (c == '\n' || (c == '\r' && i + 1 < avail && p[i + 1] != '\n'))
            nb++;
          else if (c == '\r' && i + 1 >= avail)
            {
              if (!at_eof)
                return FALSE;
              nb++;
            }
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
      /* Never closed (within the file or the longest record): the first line alone. */
      if (i >= avail && !at_eof && i <= KAN_STREAM_MAX_RECORD)
        return FALSE;
      nb = 0;
      for (i = 0; i < avail && p[i] != '\n' && p[i] != '\r'; i++)
        ;
    }
  if (i >= avail && !at_eof)
    return FALSE;
  *len = i;
  *breaks = nb;
  *term = 0;
  if (i < avail && p[i] == '\r')
    {
      if (i + 1 >= avail && !at_eof)
        return FALSE;
      *term = i + 1 < avail && p[i + 1] == '\n' ? 2 : 1;
    }
  else if (i < avail && p[i] == '\n')
    *term = 1;
  return TRUE;
}

/* The next record at the reader's position: *REC and *LEN (at most KAN_STREAM_WINDOW bytes
 * of it: a longer record is cut, and is an error anyway), *TERM, *BREAKS. */
static gboolean
stream_record (KanCsvStream  *s,
               const char   **rec,
               gsize         *len,
               gsize         *term,
               guint         *breaks,
               GError       **error)
{
  gsize avail;

  if (!stream_want (s, KAN_STREAM_WINDOW, error))
    return FALSE;
  avail = MIN (s->end - s->start, KAN_STREAM_WINDOW);
  *rec = s->buf + s->start;
  if (!record_extent (*rec, avail, s->eof || avail == KAN_STREAM_WINDOW, len, term, breaks))
    {
      *len = avail;
      *term = 0;
      *breaks = 0;
    }
  return TRUE;
}

/* Counts the fields of a header record as kan-data.c splits it. */
static int
count_fields (const char *p,
              gsize       len)
{
  const char *end = p + len;
  int n = 1;

  while (p < end)
    {
      while (p < end && (*p == ' ' || *p == '\t'))
        p++;
      if (p < end && *p == '"')
        {
          for (p++; p < end; p++)
            if (*p == '"')
              {
                if (p + 1 < end && p[1] == '"')
                  p++;
                else
                  break;
              }
          p++;
        }
      while (p < end && *p != ',')
        p++;
      if (p < end)
        {
          n++;
          p++;
        }
    }
  return n;
}

/* kan_dataset_from_csv_data on the header, then (if BLANK) an empty line, then LEN bytes of
 * REC: the record's values, or its error with line numbers moved to LINE (the record's line)
 * and, for the blank line, BLANK_LINE. */
static KanDataset *
check_with_kan_data (const KanCsvStream  *s,
                     const char          *rec,
                     gsize                len,
                     gboolean             blank,
                     guint                line,
                     guint                blank_line,
                     GError             **error)
{
  GString *doc = g_string_sized_new (s->header_len + len + 4);
  g_autoptr (GError) local = NULL;
  KanDataset *d;
  guint rec_doc_line = s->header_lines + 1 + (blank ? 1 : 0);
  gsize dl = strlen (s->display);
  const char *msg, *p;
  char *after;
  guint64 n;
  GString *out;

  g_string_append_len (doc, s->header, (gssize) s->header_len);
  g_string_append_c (doc, '\n');
  if (blank)
    g_string_append_c (doc, '\n');
  g_string_append_len (doc, rec, (gssize) len);
  d = kan_dataset_from_csv_data (doc->str, doc->len, s->display, s->targets, 0.0, 0, &local);
  g_string_free (doc, TRUE);
  if (d != NULL)
    return d;

  /* "FILE:N:C: …": N counts in the little file; the message may say "line N has" too. */
  msg = local->message;
  if (strncmp (msg, s->display, dl) != 0 || msg[dl] != ':' || !g_ascii_isdigit (msg[dl + 1]))
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }
  out = g_string_new_len (msg, (gssize) dl + 1);
  n = g_ascii_strtoull (msg + dl + 1, &after, 10);
#define MOVE_LINE(k) ((k) == rec_doc_line - 1 && blank ? (guint64) blank_line \
                      : (k) >= rec_doc_line ? (k) - rec_doc_line + line : (k))
  g_string_append_printf (out, "%" G_GUINT64_FORMAT, MOVE_LINE (n));
  p = after;
  if (*p == ':')
    {
      const char *q = strchr (p + 1, ':');

      if (q != NULL && g_str_has_prefix (q, ": line "))
        {
          guint64 k = g_ascii_strtoull (q + 7, &after, 10);

          g_string_append_len (out, p, q + 7 - p);
          g_string_append_printf (out, "%" G_GUINT64_FORMAT, MOVE_LINE (k));
          p = after;
        }
    }
#undef MOVE_LINE
  g_string_append (out, p);
  g_set_error_literal (error, local->domain, local->code, out->str);
  g_string_free (out, TRUE);
  return NULL;
}

/* Reads the header (from the start of the file) and checks it with kan-data.c. */
static gboolean
stream_read_header (KanCsvStream  *s,
                    const char    *targets,
                    GError       **error)
{
  const char *rec;
  gsize len, term;
  guint breaks;
  g_autoptr (GString) doc = NULL;
  g_autoptr (KanDataset) d = NULL;

  if (!stream_want (s, 3, error))
    return FALSE;
  if (s->end - s->start >= 3 && memcmp (s->buf + s->start, "\xef\xbb\xbf", 3) == 0)
    stream_advance (s, 3);
  if (!stream_record (s, &rec, &len, &term, &breaks, error))
    return FALSE;
  if (kan_text_is_blank (rec, len) && len <= KAN_STREAM_MAX_RECORD)
    {
      /* Blank up to here: "the file is empty" if it is blank to its end. */
      gboolean empty = TRUE;

      while (empty)
        {
          gsize avail = s->end - s->start;

          empty = kan_text_is_blank (s->buf + s->start, avail);
          if (!empty || s->eof)
            break;
          stream_advance (s, avail);
          if (!stream_fill (s, error))
            return FALSE;
        }
      d = kan_dataset_from_csv_data (empty ? "" : "\nx", empty ? 0 : 2, s->display, targets,
                                     0.0, 0, error);
      g_return_val_if_fail (d == NULL, FALSE);
      return FALSE;
    }
  s->header = g_strndup (rec, len);
  s->header_len = len;
  s->header_lines = 1 + breaks;
  s->n_cols = count_fields (rec, len);

  /* The header with a row 1,2,…: kan-data.c checks the header and the targets, and the row
   * tells which column went where. */
  doc = g_string_new_len (rec, (gssize) len);
  g_string_append_c (doc, '\n');
  for (int c = 0; c < s->n_cols; c++)
    g_string_append_printf (doc, "%s%d", c > 0 ? "," : "", c + 1);
  d = kan_dataset_from_csv_data (doc->str, doc->len, s->display, targets, 0.0, 0, error);
  if (d == NULL)
    return FALSE;
  if (d->n_in + d->n_out != s->n_cols)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_DATA, "%s:1:1: cannot count the columns of "
                   "the header", s->display);
      return FALSE;
    }
  s->n_in = d->n_in;
  s->n_out = d->n_out;
  s->slot = g_new (int, s->n_cols);
  for (int i = 0; i < d->n_in; i++)
    s->slot[(int) d->train_x[i] - 1] = i;
  for (int t = 0; t < d->n_out; t++)
    s->slot[(int) d->train_y[t] - 1] = -1 - t;
  s->columns = g_steal_pointer (&d);
  stream_advance (s, len + term);
  s->data_offset = s->consumed;
  s->line_no = s->data_line = s->header_lines + 1;
  return TRUE;
}

KanCsvStream *
kan_csv_stream_open (const char  *path,
                     const char  *targets,
                     GError     **error)
{
  g_autoptr (KanCsvStream) s = NULL;
  struct stat st;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  s = g_new0 (KanCsvStream, 1);
  s->fd = -1;
  s->path = g_strdup (path);
  s->display = g_filename_display_name (path);
  s->targets = g_strdup (targets);
  s->fd = open (path, O_RDONLY | O_CLOEXEC);
  if (s->fd < 0 || fstat (s->fd, &st) != 0)
    {
      int e = errno;

      g_set_error (error, KAN_ERROR, KAN_ERROR_IO, "%s: %s", s->display, g_strerror (e));
      return NULL;
    }
  if (S_ISDIR (st.st_mode))
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_IO, "%s: %s", s->display, g_strerror (EISDIR));
      return NULL;
    }
  s->size = S_ISREG (st.st_mode) ? (guint64) st.st_size : 0;
  s->cap = KAN_STREAM_CHUNK + KAN_STREAM_WINDOW;
  s->buf = g_malloc (s->cap);
  if (!stream_read_header (s, targets, error))
    return NULL;
  return g_steal_pointer (&s);
}

void
kan_csv_stream_free (KanCsvStream *s)
{
  if (s == NULL)
    return;
  if (s->fd >= 0)
    close (s->fd);
  g_free (s->path);
  g_free (s->display);
  g_free (s->targets);
  g_free (s->buf);
  g_free (s->header);
  g_free (s->slot);
  kan_dataset_free (s->columns);
  g_free (s);
}

int
kan_csv_stream_n_in (const KanCsvStream *s)
{
  g_return_val_if_fail (s != NULL, 0);
  return s->n_in;
}

int
kan_csv_stream_n_out (const KanCsvStream *s)
{
  g_return_val_if_fail (s != NULL, 0);
  return s->n_out;
}

const KanDataset *
kan_csv_stream_columns (const KanCsvStream *s)
{
  g_return_val_if_fail (s != NULL, NULL);
  return s->columns;
}

guint64
kan_csv_stream_offset (const KanCsvStream *s)
{
  g_return_val_if_fail (s != NULL, 0);
  return s->consumed;
}

guint64
kan_csv_stream_size (const KanCsvStream *s)
{
  g_return_val_if_fail (s != NULL, 0);
  return s->size;
}

gint64
kan_csv_stream_rows (const KanCsvStream *s)
{
  g_return_val_if_fail (s != NULL, 0);
  return s->rows;
}

gsize
kan_csv_stream_bytes (const KanCsvStream *s)
{
  g_return_val_if_fail (s != NULL, 0);
  return sizeof *s + s->cap + s->header_len + 1 + (gsize) s->n_cols * sizeof (int);
}

gboolean
kan_csv_stream_rewind (KanCsvStream  *s,
                       GError       **error)
{
  g_return_val_if_fail (s != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (lseek (s->fd, (off_t) s->data_offset, SEEK_SET) < 0)
    {
      int e = errno;

      g_set_error (error, KAN_ERROR, KAN_ERROR_IO, "%s: cannot read the file again (%s)",
                   s->display, g_strerror (e));
      return FALSE;
    }
  s->start = s->end = 0;
  s->eof = FALSE;
  s->consumed = s->data_offset;
  s->line_no = s->data_line;
  s->blank_seen = FALSE;
  s->rows = 0;
  return TRUE;
}

/* Parses the plain row [P, END) (no line end) into X and Y: numbers between commas, each
 * perhaps in quotes, blanks around them. FALSE if it is not plain. */
static inline gboolean
parse_plain_row (const KanCsvStream *s,
                 const char         *p,
                 const char         *end,
                 double             *x,
                 double             *y)
{
  for (int c = 0; c < s->n_cols; c++)
    {
      const char *f, *fe;
      double v;
      int k;

      while (p < end && (*p == ' ' || *p == '\t'))
        p++;
      if (p < end && *p == '"')
        {
          /* "number": blanks inside and after the quotes, nothing else. */
          f = ++p;
          while (p < end && *p != '"')
            p++;
          if (p >= end)
            return FALSE;
          fe = p++;
          while (p < end && (*p == ' ' || *p == '\t'))
            p++;
          if (p < end && *p != ',')
            return FALSE;
          while (f < fe && (*f == ' ' || *f == '\t'))
            f++;
        }
      else
        {
          f = p;
          while (p < end && *p != ',')
            p++;
          fe = p;
        }
      while (fe > f && (fe[-1] == ' ' || fe[-1] == '\t'))
        fe--;
      if (fe == f || !kan_stream_parse_number (f, fe, &v))
        return FALSE;
      k = s->slot[c];
      if (k >= 0)
        x[k] = v;
      else
        y[-1 - k] = v;
      if (c + 1 < s->n_cols)
        {
          if (p >= end)
            return FALSE;
          p++;
        }
    }
  return p == end;
}

/* One record the fast path did not take: a blank line, or a record for kan-data.c. *GOT says
 * whether a row went into X and Y. */
static gboolean
stream_careful (KanCsvStream  *s,
                double        *x,
                double        *y,
                gboolean      *got,
                GError       **error)
{
  const char *rec;
  gsize len, term;
  guint breaks;
  g_autoptr (KanDataset) d = NULL;

  *got = FALSE;
  if (!stream_record (s, &rec, &len, &term, &breaks, error))
    return FALSE;
  if (len <= KAN_STREAM_MAX_RECORD && kan_text_is_blank (rec, len))
    {
      if (!s->blank_seen)
        s->blank_line = s->line_no;
      s->blank_seen = TRUE;
      stream_advance (s, len + term);
      s->line_no += 1 + breaks;
      return TRUE;
    }
  d = check_with_kan_data (s, rec, len, s->blank_seen, s->line_no, s->blank_line, error);
  if (d == NULL)
    return FALSE;
  if (d->class_names != NULL)
    {
      g_autofree char *q = kan_expr_excerpt (d->class_names[0], 0);

      g_set_error (error, KAN_ERROR, KAN_ERROR_DATA, "%s:%u:1: target '%s' holds text ('%s'); "
                   "streaming trains on numeric targets only", s->display, s->line_no,
                   d->out_names[0], q);
      return FALSE;
    }
  if (s->blank_seen || d->n_train != 1)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_DATA, "%s:%u:1: cannot read the line",
                   s->display, s->line_no);
      return FALSE;
    }
  memcpy (x, d->train_x, sizeof (double) * s->n_in);
  memcpy (y, d->train_y, sizeof (double) * s->n_out);
  *got = TRUE;
  stream_advance (s, len + term);
  s->line_no += 1 + breaks;
  return TRUE;
}

gboolean
kan_csv_stream_read (KanCsvStream  *s,
                     double        *x,
                     double        *y,
                     gsize          max,
                     gsize         *n_read,
                     GError       **error)
{
  gsize n = 0;

  g_return_val_if_fail (s != NULL && n_read != NULL, FALSE);
  g_return_val_if_fail (max == 0 || (x != NULL && y != NULL), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  *n_read = 0;
  while (n < max)
    {
      const char *p = s->buf + s->start, *nl, *le;
      gsize avail = s->end - s->start;
      double *xr = x + n * s->n_in, *yr = y + n * s->n_out;
      gboolean got;

      nl = memchr (p, '\n', MIN (avail, KAN_STREAM_WINDOW));
      if (nl == NULL && !s->eof && avail < KAN_STREAM_WINDOW)
        {
          if (!stream_fill (s, error))
            return FALSE;
          continue;
        }
      if (avail == 0 && s->eof)
        break;
      /* The fast path: a plain row ending in LF, CRLF or the end of the file. */
      le = nl != NULL ? nl : p + avail;
      if (le > p && le[-1] == '\r')
        le--;
      if (!s->blank_seen && (nl != NULL || s->eof) && (gsize) (le - p) <= KAN_STREAM_MAX_RECORD
          && parse_plain_row (s, p, le, xr, yr))
        {
          stream_advance (s, nl != NULL ? (gsize) (nl + 1 - p) : avail);
          s->line_no++;
          n++;
          continue;
        }
      if (!stream_careful (s, xr, yr, &got, error))
        {
          *n_read = n;
          s->rows += (gint64) n;
          return FALSE;
        }
      n += got;
    }
  s->rows += (gint64) n;
  *n_read = n;
  if (n == 0 && max > 0 && s->rows == 0)
    {
      /* The file has a header but no data rows: kan-data.c's words. */
      g_autoptr (KanDataset) d = kan_dataset_from_csv_data (s->header, s->header_len,
                                                            s->display, s->targets, 0.0, 0,
                                                            error);
      g_return_val_if_fail (d == NULL, FALSE);
      return FALSE;
    }
  return TRUE;
}

/* ------------------------------------------------------------------------------------------ */
/* Streaming fit                                                                              */
/* ------------------------------------------------------------------------------------------ */

void
kan_stream_config_init (KanStreamConfig *cfg)
{
  g_return_if_fail (cfg != NULL);

  memset (cfg, 0, sizeof *cfg);
  cfg->batch = 4096;
  cfg->epochs = 1;
  cfg->reservoir = 10000;
  kan_train_config_init (&cfg->train);
  cfg->train.opt = KAN_OPT_ADAM;
  cfg->train.lr = 0.01;
}

struct _KanStreamFit
{
  KanCsvStream    *s;
  KanStreamConfig  cfg;
  gint64           rows;
  KanDataset      *sample;     /* the held-out rows, as train rows */
  gint64          *held;       /* their row indices, ascending */
  gsize            n_held;
  gsize            nb;         /* rows per batch */
  long             steps;
  gboolean         stopped;
  GTimer          *timer;
};

void
kan_stream_fit_free (KanStreamFit *f)
{
  if (f == NULL)
    return;
  kan_dataset_free (f->sample);
  g_free (f->held);
  if (f->timer)
    g_timer_destroy (f->timer);
  g_free (f);
}

static int
cmp_gint64 (gconstpointer a,
            gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

/* Rows read at a time by the sampling pass. */
#define KAN_STREAM_SCAN_ROWS 4096

KanStreamFit *
kan_stream_fit_new (KanCsvStream          *s,
                    const KanStreamConfig *cfg,
                    GCancellable          *cancellable,
                    KanStreamProgressFunc  progress,
                    gpointer               user_data,
                    GError               **error)
{
  g_autoptr (KanStreamFit) f = NULL;
  int I, O;
  gsize K, kept = 0, slots;
  g_autofree double *rx = NULL, *ry = NULL, *bx = NULL, *by = NULL;
  g_autofree gint64 *idx = NULL;
  gsl_rng *rng;
  const KanDataset *cols;
  gboolean ok = TRUE;

  g_return_val_if_fail (s != NULL && cfg != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (cfg->batch < 1 || cfg->epochs < 1 || cfg->reservoir < 1 || cfg->max_steps < 0)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID,
                   "streaming needs a batch, epochs and a held-out sample of at least 1 "
                   "(batch %ld, epochs %d, sample %zu)", cfg->batch, cfg->epochs,
                   cfg->reservoir);
      return NULL;
    }
  if (cfg->train.opt != KAN_OPT_ADAM || cfg->train.loss != KAN_LOSS_MSE)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID,
                   "streaming trains with Adam on the MSE loss only");
      return NULL;
    }
  /* Right after kan_csv_stream_open the reader is at the first row already (a pipe works). */
  if (s->consumed != s->data_offset && !kan_csv_stream_rewind (s, error))
    return NULL;

  f = g_new0 (KanStreamFit, 1);
  f->s = s;
  f->cfg = *cfg;
  f->timer = g_timer_new ();
  I = s->n_in;
  O = s->n_out;
  K = cfg->reservoir;
  /* The sample's arrays grow to K rows as the file has them. */
  slots = MIN (K, (gsize) KAN_STREAM_SCAN_ROWS);
  rx = g_new (double, slots * I);
  ry = g_new (double, slots * O);
  idx = g_new (gint64, slots);
  bx = g_new (double, KAN_STREAM_SCAN_ROWS * I);
  by = g_new (double, KAN_STREAM_SCAN_ROWS * O);

  /* Algorithm R: row r replaces a uniform slot with probability K/(r+1). */
  rng = gsl_rng_alloc (gsl_rng_mt19937);
  gsl_rng_set (rng, (unsigned long) ((cfg->seed ^ (cfg->seed >> 32)) & 0xffffffffu));
  for (;;)
    {
      gsize n;
      KanStreamProgress p = { .sampling = TRUE, .epochs = cfg->epochs,
                              .bytes_total = s->size, .batch_rmse = NAN };

      if (!kan_csv_stream_read (s, bx, by, KAN_STREAM_SCAN_ROWS, &n, error))
        {
          ok = FALSE;
          break;
        }
      if (n == 0)
        break;
      for (gsize q = 0; q < n; q++, f->rows++)
        {
          gsize slot;

          if ((gsize) f->rows < K)
            {
              if (kept == slots)
                {
                  slots = MIN (K, 2 * slots);
                  rx = g_renew (double, rx, slots * I);
                  ry = g_renew (double, ry, slots * O);
                  idx = g_renew (gint64, idx, slots);
                }
              slot = kept++;
            }
          else
            {
              guint64 j = (guint64) (gsl_rng_uniform (rng) * (double) (f->rows + 1));

              if (j >= K)
                continue;
              slot = (gsize) j;
            }
          memcpy (rx + slot * I, bx + q * I, sizeof (double) * I);
          memcpy (ry + slot * O, by + q * O, sizeof (double) * O);
          idx[slot] = f->rows;
        }
      if (cancellable != NULL && g_cancellable_is_cancelled (cancellable))
        {
          g_set_error (error, KAN_ERROR, KAN_ERROR_CANCELLED, "reading was stopped");
          ok = FALSE;
          break;
        }
      if (progress != NULL)
        {
          p.rows = f->rows;
          p.bytes = s->consumed;
          p.seconds = g_timer_elapsed (f->timer, NULL);
          progress (&p, user_data);
        }
    }
  if (!ok)
    {
      gsl_rng_free (rng);
      return NULL;
    }

  /* At most a fifth of the rows are held out (at least one row stays for training). */
  {
    gsize keep = MIN (kept, (gsize) (f->rows / 5));

    if (keep == 0 && f->rows >= 2)
      keep = 1;
    /* A uniform subset of the sample: a partial Fisher–Yates shuffle, the first KEEP slots. */
    for (gsize q = 0; q < keep && keep < kept; q++)
      {
        gsize r = q + gsl_rng_uniform_int (rng, kept - q);
        gint64 ti = idx[q];

        idx[q] = idx[r];
        idx[r] = ti;
        for (int c = 0; c < I; c++)
          {
            double tv = rx[q * I + c];
            rx[q * I + c] = rx[r * I + c];
            rx[r * I + c] = tv;
          }
        for (int c = 0; c < O; c++)
          {
            double tv = ry[q * O + c];
            ry[q * O + c] = ry[r * O + c];
            ry[r * O + c] = tv;
          }
      }
    kept = keep;
  }
  gsl_rng_free (rng);
  if (kept == 0)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_DATA,
                   "%s: %" G_GINT64_FORMAT " data row%s: streaming needs at least 2 (one to "
                   "hold out, one to train on)", s->display, f->rows, f->rows == 1 ? "" : "s");
      return NULL;
    }
  cols = s->columns;
  f->sample = kan_dataset_new_arrays (I, O, kept, 0, rx, ry, NULL, NULL,
                                      (const char *const *) cols->in_names,
                                      (const char *const *) cols->out_names);
  f->sample->source = KAN_DATA_CSV;
  f->sample->csv_path = g_strdup (s->path);
  f->sample->in_units = g_strdupv (cols->in_units);
  f->sample->out_units = g_strdupv (cols->out_units);
  f->sample->seed = cfg->seed;
  f->held = g_memdup2 (idx, sizeof (gint64) * kept);
  f->n_held = kept;
  qsort (f->held, kept, sizeof (gint64), cmp_gint64);
  f->nb = (gsize) MIN ((gint64) cfg->batch, f->rows - (gint64) kept);
  return g_steal_pointer (&f);
}

const KanDataset *
kan_stream_fit_sample (const KanStreamFit *f)
{
  g_return_val_if_fail (f != NULL, NULL);
  return f->sample;
}

gint64
kan_stream_fit_rows (const KanStreamFit *f)
{
  g_return_val_if_fail (f != NULL, 0);
  return f->rows;
}

gint64
kan_stream_fit_train_rows (const KanStreamFit *f)
{
  g_return_val_if_fail (f != NULL, 0);
  return f->rows - (gint64) f->n_held;
}

long
kan_stream_fit_steps (const KanStreamFit *f)
{
  g_return_val_if_fail (f != NULL, 0);
  return f->steps;
}

gboolean
kan_stream_fit_stopped (const KanStreamFit *f)
{
  g_return_val_if_fail (f != NULL, FALSE);
  return f->stopped;
}

double
kan_stream_fit_test_rmse (const KanStreamFit *f,
                          const KanModel     *model)
{
  g_return_val_if_fail (f != NULL && model != NULL, NAN);
  return sqrt (kan_model_loss (model, KAN_LOSS_MSE, f->sample->train_x, f->sample->train_y,
                               f->sample->n_train));
}

gsize
kan_stream_fit_rows_held (const KanStreamFit *f)
{
  g_return_val_if_fail (f != NULL, 0);
  /* The batch (trainer's data set), the sampling pass's block, and the sample. */
  return f->nb + KAN_STREAM_SCAN_ROWS + f->n_held;
}

gsize
kan_stream_fit_bytes (const KanStreamFit *f)
{
  g_return_val_if_fail (f != NULL, 0);
  return kan_stream_fit_rows_held (f) * (gsize) (f->s->n_in + f->s->n_out) * sizeof (double)
         + f->n_held * sizeof (gint64) + kan_csv_stream_bytes (f->s);
}

/* A grid update from the sample's inputs, kept only if the sample's loss does not rise beyond
 * the tolerance (as kan-train.c keeps its own). */
static void
stream_grid_update (KanStreamFit *f,
                    KanModel     *m,
                    KanTrainer   *t,
                    GCancellable *cancellable,
                    gboolean      checked)
{
  const KanDataset *d = f->sample;
  g_autoptr (KanModel) backup = kan_model_copy (m);
  double before = checked ? kan_stream_fit_test_rmse (f, m) : NAN, after;
  gboolean ok = kan_model_update_grid_full (m, d->train_x, d->n_train, cancellable, NULL);

  after = ok && checked ? kan_stream_fit_test_rmse (f, m) : NAN;
  if (!ok || !kan_model_is_finite (m)
      || (checked && !(after * after <= before * before
                                          * (1.0 + f->cfg.train.grid_update_tolerance))))
    kan_model_restore (m, backup);
  kan_trainer_rows_changed (t);
}

gboolean
kan_stream_fit_train (KanStreamFit          *f,
                      KanModel              *model,
                      GCancellable          *cancellable,
                      KanStreamProgressFunc  progress,
                      gpointer               user_data,
                      GError               **error)
{
  KanCsvStream *s;
  g_autoptr (KanDataset) batch = NULL;
  g_autoptr (KanTrainer) t = NULL;
  g_autofree double *zx = NULL, *zy = NULL;
  g_autofree double *bx = NULL, *by = NULL;
  KanTrainConfig tc;
  int I, O, freq;
  long steps_total, per_epoch;
  double batch_rmse = NAN;

  g_return_val_if_fail (f != NULL && model != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  s = f->s;
  I = s->n_in;
  O = s->n_out;
  if (kan_model_n_in (model) != I || kan_model_n_out (model) != O)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_SHAPE,
                   "the file has %d inputs and %d targets but the model takes %d and gives %d",
                   I, O, kan_model_n_in (model), kan_model_n_out (model));
      return FALSE;
    }
  /* The trainer sees a data set of one batch, refilled in place before each step. */
  zx = g_new0 (double, f->nb * I);
  zy = g_new0 (double, f->nb * O);
  batch = kan_dataset_new_arrays (I, O, f->nb, 0, zx, zy, NULL, NULL, NULL, NULL);
  g_clear_pointer (&zx, g_free);
  g_clear_pointer (&zy, g_free);
  tc = f->cfg.train;
  tc.batch = -1;
  tc.update_grid = FALSE;
  tc.steps = 0;
  t = kan_trainer_new (model, batch, &tc, error);
  if (t == NULL)
    return FALSE;
  bx = g_new (double, f->nb * I);
  by = g_new (double, f->nb * O);

  per_epoch = (long) ((kan_stream_fit_train_rows (f) + (gint64) f->nb - 1) / (gint64) f->nb);
  steps_total = per_epoch * f->cfg.epochs;
  if (f->cfg.max_steps > 0)
    steps_total = MIN (steps_total, f->cfg.max_steps);
  freq = MAX (1, f->cfg.train.stop_grid_update_step / MAX (1, f->cfg.train.grid_update_num));
  if (f->cfg.train.update_grid)
    stream_grid_update (f, model, t, cancellable, FALSE);

  g_timer_start (f->timer);
  f->steps = 0;
  f->stopped = FALSE;
  for (int ep = 0; ep < f->cfg.epochs && f->steps < steps_total; ep++)
    {
      gint64 row = 0;      /* file row index of the next row read */
      gsize next_held = 0;

      if (!kan_csv_stream_rewind (s, error))
        return FALSE;
      while (f->steps < steps_total)
        {
          gsize filled = 0;
          KanStepInfo info;
          g_autoptr (GError) local = NULL;

          /* Fill the batch with train rows (held-out rows are skipped). */
          while (filled < f->nb)
            {
              gsize want = f->nb - filled, n;

              if (!kan_csv_stream_read (s, bx, by, want, &n, error))
                return FALSE;
              if (n == 0)
                break;
              for (gsize q = 0; q < n; q++, row++)
                {
                  if (next_held < f->n_held && f->held[next_held] == row)
                    {
                      next_held++;
                      continue;
                    }
                  memcpy (batch->train_x + filled * I, bx + q * I, sizeof (double) * I);
                  memcpy (batch->train_y + filled * O, by + q * O, sizeof (double) * O);
                  filled++;
                }
            }
          if (filled == 0)
            break;
          kan_trainer_rows_changed (t);
          if (f->cfg.train.update_grid && f->steps > 0 && f->steps % freq == 0
              && f->steps < f->cfg.train.stop_grid_update_step)
            stream_grid_update (f, model, t, cancellable, TRUE);
          if (!kan_trainer_step (t, cancellable, &info, &local))
            {
              if (g_error_matches (local, KAN_ERROR, KAN_ERROR_CANCELLED))
                {
                  f->stopped = TRUE;
                  return TRUE;
                }
              g_propagate_error (error, g_steal_pointer (&local));
              return FALSE;
            }
          f->steps++;
          batch_rmse = info.train_rmse;
          if (progress != NULL)
            {
              KanStreamProgress p = {
                .epoch = ep, .epochs = f->cfg.epochs, .rows = s->rows,
                .rows_total = f->rows, .bytes = s->consumed, .bytes_total = s->size,
                .step = f->steps, .steps_total = steps_total, .batch_rmse = batch_rmse,
                .seconds = g_timer_elapsed (f->timer, NULL),
              };
              progress (&p, user_data);
            }
          if (filled < f->nb)
            break;
        }
    }
  if (cancellable != NULL && g_cancellable_is_cancelled (cancellable) && f->steps < steps_total)
    f->stopped = TRUE;
  return TRUE;
}
