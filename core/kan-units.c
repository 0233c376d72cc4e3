/* kan-units.c — unit expressions, the units of a data set, π groups, and unit checks of
 * formulas (see kan-units.h).
 *
 * Exponents are kept as exact fractions while parsing and reducing, so a scale such as
 * sqrt(p/rho) comes out as p^(1/2)·rho^(-1/2) and not as p^0.4999….
 */
#include "kan-units.h"
#include "kan-arith-private.h"
#include "kan-error.h"

#include <math.h>
#include <string.h>

/* Parentheses in a unit may nest this deep. */
#define MAX_DEPTH 32
/* Digits in one power ("m^12", "m^0.25"). */
#define MAX_POWER_DIGITS 6
/* Bytes of the longest unit name (Ω, the ohm sign, is three). */
#define MAX_UNIT_NAME 3
/* Bytes of an unknown name quoted in messages. */
#define MAX_QUOTED_NAME 40

/* ------------------------------------------------------------------------------------------ */
/* Fractions                                                                                   */

typedef struct
{
  gint64 n, d;  /* d > 0, gcd (n, d) = 1 */
} Rat;

typedef struct
{
  Rat e[KAN_UNITS_N_BASE];
} RDim;

static Rat
rat (gint64 n,
     gint64 d)
{
  Rat r;
  gint64 g;

  if (d < 0)
    {
      n = -n;
      d = -d;
    }
  g = kan_gcd (n, d);
  if (g > 1)
    {
      n /= g;
      d /= g;
    }
  r.n = n;
  r.d = n == 0 ? 1 : d;
  return r;
}

/* The operations set *OVERFLOW instead of wrapping around; the limits on exponents keep the
 * numbers far from it in practice. */
static Rat
rat_add (Rat       a,
         Rat       b,
         gboolean *overflow)
{
  gint64 x, y, z;

  if (__builtin_mul_overflow (a.n, b.d, &x) || __builtin_mul_overflow (b.n, a.d, &y)
      || __builtin_add_overflow (x, y, &x) || __builtin_mul_overflow (a.d, b.d, &z))
    {
      *overflow = TRUE;
      return rat (0, 1);
    }
  return rat (x, z);
}

static Rat
rat_mul (Rat       a,
         Rat       b,
         gboolean *overflow)
{
  gint64 x, z;

  if (__builtin_mul_overflow (a.n, b.n, &x) || __builtin_mul_overflow (a.d, b.d, &z))
    {
      *overflow = TRUE;
      return rat (0, 1);
    }
  return rat (x, z);
}

static Rat
rat_neg (Rat a)
{
  return rat (-a.n, a.d);
}

static Rat
rat_inv (Rat a)
{
  return rat (a.d, a.n);
}

static double
rat_double (Rat a)
{
  return (double) a.n / (double) a.d;
}

/* X as p/q with q ≤ KAN_UNITS_MAX_DENOMINATOR and |p/q| ≤ KAN_UNITS_MAX_EXPONENT. */
static gboolean
rat_from_double (double  x,
                 Rat    *out)
{
  if (!isfinite (x) || fabs (x) > KAN_UNITS_MAX_EXPONENT + KAN_UNITS_EXPONENT_TOLERANCE)
    return FALSE;
  for (gint64 q = 1; q <= KAN_UNITS_MAX_DENOMINATOR; q++)
    {
      double p = round (x * (double) q);

      if (fabs (x * (double) q - p) <= KAN_UNITS_EXPONENT_TOLERANCE * (double) q)
        {
          *out = rat ((gint64) p, q);
          return TRUE;
        }
    }
  return FALSE;
}

static gboolean
rat_in_limits (Rat a)
{
  return a.d <= KAN_UNITS_MAX_DENOMINATOR
         && (a.n < 0 ? -a.n : a.n) <= (gint64) KAN_UNITS_MAX_EXPONENT * a.d;
}

/* "2", "-1/2". */
static char *
rat_string (Rat a)
{
  return a.d == 1 ? g_strdup_printf ("%" G_GINT64_FORMAT, a.n)
                  : g_strdup_printf ("%" G_GINT64_FORMAT "/%" G_GINT64_FORMAT, a.n, a.d);
}

static void
rdim_zero (RDim *d)
{
  for (int b = 0; b < KAN_UNITS_N_BASE; b++)
    d->e[b] = rat (0, 1);
}

static void
rdim_to_dim (const RDim *r,
             KanDim     *d)
{
  for (int b = 0; b < KAN_UNITS_N_BASE; b++)
    d->e[b] = rat_double (r->e[b]);
}

/* ------------------------------------------------------------------------------------------ */
/* Unit names                                                                                  */

static const char *const base_symbols[KAN_UNITS_N_BASE] = { "m", "kg", "s", "A", "K", "mol",
                                                             "cd" };

typedef struct
{
  const char  *name;
  signed char  e[KAN_UNITS_N_BASE];  /* m kg s A K mol cd */
  gboolean     alias;                /* left out of the list in messages */
} UnitDef;

static const UnitDef unit_defs[] = {
  { "m",    {  1,  0,  0,  0, 0, 0, 0 }, FALSE },
  { "kg",   {  0,  1,  0,  0, 0, 0, 0 }, FALSE },
  { "s",    {  0,  0,  1,  0, 0, 0, 0 }, FALSE },
  { "A",    {  0,  0,  0,  1, 0, 0, 0 }, FALSE },
  { "K",    {  0,  0,  0,  0, 1, 0, 0 }, FALSE },
  { "mol",  {  0,  0,  0,  0, 0, 1, 0 }, FALSE },
  { "cd",   {  0,  0,  0,  0, 0, 0, 1 }, FALSE },
  { "Hz",   {  0,  0, -1,  0, 0, 0, 0 }, FALSE },
  { "N",    {  1,  1, -2,  0, 0, 0, 0 }, FALSE },
  { "Pa",   { -1,  1, -2,  0, 0, 0, 0 }, FALSE },
  { "J",    {  2,  1, -2,  0, 0, 0, 0 }, FALSE },
  { "W",    {  2,  1, -3,  0, 0, 0, 0 }, FALSE },
  { "C",    {  0,  0,  1,  1, 0, 0, 0 }, FALSE },
  { "V",    {  2,  1, -3, -1, 0, 0, 0 }, FALSE },
  { "F",    { -2, -1,  4,  2, 0, 0, 0 }, FALSE },
  { "ohm",  {  2,  1, -3, -2, 0, 0, 0 }, FALSE },
  { "Ohm",  {  2,  1, -3, -2, 0, 0, 0 }, TRUE },
  { "\xce\xa9", {  2,  1, -3, -2, 0, 0, 0 }, FALSE },  /* Ω, Greek capital omega */
  { "\xe2\x84\xa6", {  2,  1, -3, -2, 0, 0, 0 }, TRUE },  /* Ω, the ohm sign */
  { "S",    { -2, -1,  3,  2, 0, 0, 0 }, FALSE },
  { "Wb",   {  2,  1, -2, -1, 0, 0, 0 }, FALSE },
  { "T",    {  0,  1, -2, -1, 0, 0, 0 }, FALSE },
  { "H",    {  2,  1, -2, -2, 0, 0, 0 }, FALSE },
  { "Bq",   {  0,  0, -1,  0, 0, 0, 0 }, FALSE },
  { "Gy",   {  2,  0, -2,  0, 0, 0, 0 }, FALSE },
  { "Sv",   {  2,  0, -2,  0, 0, 0, 0 }, FALSE },
  { "kat",  {  0,  0, -1,  0, 0, 1, 0 }, FALSE },
  { "lm",   {  0,  0,  0,  0, 0, 0, 1 }, FALSE },
  { "lx",   { -2,  0,  0,  0, 0, 0, 1 }, FALSE },
  { "eV",   {  2,  1, -2,  0, 0, 0, 0 }, FALSE },
  { "g",    {  0,  1,  0,  0, 0, 0, 0 }, FALSE },
  { "min",  {  0,  0,  1,  0, 0, 0, 0 }, FALSE },
  { "h",    {  0,  0,  1,  0, 0, 0, 0 }, FALSE },
  { "rad",  {  0,  0,  0,  0, 0, 0, 0 }, FALSE },
  { "sr",   {  0,  0,  0,  0, 0, 0, 0 }, FALSE },
  { "deg",  {  0,  0,  0,  0, 0, 0, 0 }, FALSE },
};

/* SI prefixes, only to explain why "km" is refused. */
static const char *const prefixes[] = {
  "Y", "Z", "E", "P", "T", "G", "M", "k", "h", "da", "d", "c", "m", "u", "\xc2\xb5", "\xce\xbc",
  "n", "p", "f", "a", "z", "y",
};

static const UnitDef *
unit_lookup (const char *name,
             gsize       len)
{
  for (guint i = 0; i < G_N_ELEMENTS (unit_defs); i++)
    if (strlen (unit_defs[i].name) == len && memcmp (unit_defs[i].name, name, len) == 0)
      return &unit_defs[i];
  return NULL;
}

/* Why the LEN bytes of NAME are not a unit, with what the user may have meant. */
static char *
unknown_unit (const char *name,
              gsize       len)
{
  GString *s = g_string_new (NULL);
  const char *bare = NULL;
  gsize split = 0;

  /* A name may be as long as the text (a whole header cell): quote its start only. */
  if (len > MAX_QUOTED_NAME)
    g_string_append_printf (s, "unknown unit '%.*s…'",
                            (int) (g_utf8_find_prev_char (name, name + MAX_QUOTED_NAME + 1)
                                   - name), name);
  else
    g_string_append_printf (s, "unknown unit '%.*s'", (int) len, name);
  for (guint i = 0; i < G_N_ELEMENTS (prefixes) && bare == NULL; i++)
    {
      gsize pl = strlen (prefixes[i]);

      if (len > pl && memcmp (name, prefixes[i], pl) == 0 && unit_lookup (name + pl, len - pl))
        bare = name + pl;
    }
  for (gsize k = 1; k < len && k <= MAX_UNIT_NAME && split == 0; k++)
    if (unit_lookup (name, k) && unit_lookup (name + k, len - k))
      split = k;
  if (bare != NULL)
    g_string_append_printf (s, ": prefixes are not used, as units only count dimensions "
                            "(write '%.*s')", (int) (name + len - bare), bare);
  if (split > 0)
    g_string_append_printf (s, "%s for a product write '%.*s*%.*s'", bare ? ";" : ":",
                            (int) split, name, (int) (len - split), name + split);
  if (bare == NULL && split == 0)
    {
      g_string_append (s, " (units:");
      for (guint i = 0; i < G_N_ELEMENTS (unit_defs); i++)
        if (!unit_defs[i].alias)
          g_string_append_printf (s, " %s", unit_defs[i].name);
      g_string_append (s, ", and 1 for none)");
    }
  return g_string_free (s, FALSE);
}

/* ------------------------------------------------------------------------------------------ */
/* Parsing                                                                                     */

typedef struct
{
  const char *text;
  const char *p;
  const char *err_at;   /* where the problem is */
  char       *problem;  /* NULL until one is found */
} UnitParser;

G_GNUC_PRINTF (3, 4)
static gboolean
fail (UnitParser *ps,
      const char *at,
      const char *format,
      ...)
{
  va_list args;

  if (ps->problem != NULL)
    return FALSE;
  va_start (args, format);
  ps->problem = g_strdup_vprintf (format, args);
  va_end (args);
  ps->err_at = at;
  return FALSE;
}

static long
char_position (const char *text,
               const char *at)
{
  return g_utf8_pointer_to_offset (text, at) + 1;
}

static void
skip_blanks (UnitParser *ps)
{
  while (*ps->p == ' ' || *ps->p == '\t')
    ps->p++;
}

/* The length in bytes of a letter that may be part of a unit name at P, or 0. */
static int
name_char (const char *p)
{
  static const char *const extra[] = { "\xce\xa9", "\xe2\x84\xa6", "\xc2\xb5", "\xce\xbc" };

  if (g_ascii_isalpha (*p))
    return 1;
  for (guint i = 0; i < G_N_ELEMENTS (extra); i++)
    if (strncmp (p, extra[i], strlen (extra[i])) == 0)
      return (int) strlen (extra[i]);
  return 0;
}

static gboolean
starts_factor (const char *p)
{
  return *p == '(' || g_ascii_isdigit (*p) || name_char (p) > 0;
}

/* "unexpected character 'x'" or "unexpected end", for the problem at P. */
static gboolean
fail_unexpected (UnitParser *ps,
                 const char *p,
                 const char *expected)
{
  if (*p == '\0')
    return fail (ps, p, "unexpected end%s%s", expected ? "; expected " : "",
                 expected ? expected : "");
  return fail (ps, p, "unexpected character '%.*s'%s%s",
               (int) (g_utf8_next_char (p) - p), p, expected ? "; expected " : "",
               expected ? expected : "");
}

/* A check after each operation: the exponents stay fractions within the limits. */
static gboolean
check_limits (UnitParser *ps,
              const char *at,
              const RDim *d,
              gboolean    overflow)
{
  for (int b = 0; b < KAN_UNITS_N_BASE; b++)
    if (overflow || !rat_in_limits (d->e[b]))
      {
        g_autofree char *v = rat_string (d->e[b]);

        return fail (ps, at, "the exponent of %s would be %s; exponents must be fractions p/q "
                     "with q ≤ %d and |p/q| ≤ %d", base_symbols[b], overflow ? "too large" : v,
                     KAN_UNITS_MAX_DENOMINATOR, KAN_UNITS_MAX_EXPONENT);
      }
  return TRUE;
}

/* A non-negative decimal number of at most MAX_POWER_DIGITS digits at ps->p, exactly. */
static gboolean
parse_number (UnitParser *ps,
              Rat        *out)
{
  const char *start = ps->p;
  gint64 n = 0, d = 1;
  int digits = 0;

  if (!g_ascii_isdigit (*ps->p) && !(*ps->p == '.' && g_ascii_isdigit (ps->p[1])))
    return fail (ps, ps->p, "expected a number");
  /* Digits beyond the limit are only counted, so that n cannot overflow. */
  for (; g_ascii_isdigit (*ps->p); ps->p++)
    if (++digits <= MAX_POWER_DIGITS)
      n = n * 10 + (*ps->p - '0');
  if (*ps->p == '.' && g_ascii_isdigit (ps->p[1]))
    for (ps->p++; g_ascii_isdigit (*ps->p); ps->p++)
      if (++digits <= MAX_POWER_DIGITS)
        {
          n = n * 10 + (*ps->p - '0');
          d *= 10;
        }
  if (digits > MAX_POWER_DIGITS)
    return fail (ps, start, "the power '%.*s' has more than %d digits", (int) (ps->p - start),
                 start, MAX_POWER_DIGITS);
  *out = rat (n, d);
  return TRUE;
}

/* The power after '^': an integer, a decimal or a fraction in parentheses, with a sign. */
static gboolean
parse_power (UnitParser *ps,
             Rat        *out)
{
  const char *start;
  gboolean negative = FALSE;

  skip_blanks (ps);
  start = ps->p;
  if (*ps->p == '-' || *ps->p == '+')
    {
      negative = *ps->p == '-';
      ps->p++;
      skip_blanks (ps);
    }
  if (*ps->p == '(')
    {
      const char *open = ps->p;
      gboolean inner_negative = FALSE, overflow = FALSE;
      Rat den;

      ps->p++;
      skip_blanks (ps);
      if (*ps->p == '-' || *ps->p == '+')
        {
          inner_negative = *ps->p == '-';
          ps->p++;
          skip_blanks (ps);
        }
      if (!parse_number (ps, out))
        return FALSE;
      skip_blanks (ps);
      if (*ps->p == '/')
        {
          const char *at;

          ps->p++;
          skip_blanks (ps);
          at = ps->p;
          if (!parse_number (ps, &den))
            return FALSE;
          if (den.n == 0)
            return fail (ps, at, "division by zero in the power");
          /* Six digits each way cannot overflow. */
          *out = rat_mul (*out, rat_inv (den), &overflow);
        }
      skip_blanks (ps);
      if (*ps->p != ')')
        {
          if (*ps->p == '\0')
            return fail (ps, ps->p, "'(' at position %ld is never closed",
                         char_position (ps->text, open));
          return fail_unexpected (ps, ps->p, "')'");
        }
      ps->p++;
      if (inner_negative)
        *out = rat_neg (*out);
    }
  else if (g_ascii_isdigit (*ps->p) || *ps->p == '.')
    {
      if (!parse_number (ps, out))
        return FALSE;
      if (*ps->p == '/' && g_ascii_isdigit (ps->p[1]))
        return fail (ps, ps->p, "a fractional power needs parentheses, as in m^(1/2)");
    }
  else
    return fail (ps, ps->p, "expected a power after '^'");

  if (negative)
    *out = rat_neg (*out);
  if (!rat_in_limits (*out))
    {
      g_autofree char *v = rat_string (*out);

      return fail (ps, start, "the power %s is not a fraction p/q with q ≤ %d and |p/q| ≤ %d",
                   v, KAN_UNITS_MAX_DENOMINATOR, KAN_UNITS_MAX_EXPONENT);
    }
  return TRUE;
}

static gboolean parse_product (UnitParser *ps, RDim *out, int depth);

/* A unit name, "1", or a product in parentheses. */
static gboolean
parse_primary (UnitParser *ps,
               RDim       *out,
               int         depth)
{
  const char *start = ps->p;

  rdim_zero (out);
  if (*ps->p == '(')
    {
      if (depth >= MAX_DEPTH)
        return fail (ps, ps->p, "parentheses nest more than %d deep", MAX_DEPTH);
      ps->p++;
      skip_blanks (ps);
      if (*ps->p == ')')
        return fail (ps, ps->p, "empty parentheses");
      if (!parse_product (ps, out, depth + 1))
        return FALSE;
      skip_blanks (ps);
      if (*ps->p == '\0')
        return fail (ps, ps->p, "'(' at position %ld is never closed",
                     char_position (ps->text, start));
      if (*ps->p != ')')
        return fail_unexpected (ps, ps->p, "an operator or ')'");
      ps->p++;
      return TRUE;
    }
  if (g_ascii_isdigit (*ps->p))
    {
      while (g_ascii_isdigit (*ps->p) || *ps->p == '.')
        ps->p++;
      if (ps->p - start == 1 && *start == '1')
        return TRUE;
      return fail (ps, start, "'%.*s' is not a unit: the only number allowed is 1 (for no "
                   "units), as units only count dimensions", (int) (ps->p - start), start);
    }
  if (name_char (ps->p) > 0)
    {
      const UnitDef *u;
      int k;

      while ((k = name_char (ps->p)) > 0)
        ps->p += k;
      u = unit_lookup (start, ps->p - start);
      if (u == NULL)
        {
          g_autofree char *why = unknown_unit (start, ps->p - start);

          return fail (ps, start, "%s", why);
        }
      if (g_ascii_isdigit (*ps->p) || (*ps->p == '-' && g_ascii_isdigit (ps->p[1])))
        return fail (ps, ps->p, "expected '^' before the power (write %.*s^%.*s)",
                     (int) (ps->p - start), start,
                     (int) strspn (ps->p + 1, "0123456789") + 1, ps->p);
      for (int b = 0; b < KAN_UNITS_N_BASE; b++)
        out->e[b] = rat (u->e[b], 1);
      return TRUE;
    }
  return fail_unexpected (ps, ps->p, "a unit");
}

/* A primary with an optional power. */
static gboolean
parse_factor (UnitParser *ps,
              RDim       *out,
              int         depth)
{
  const char *save;

  if (!parse_primary (ps, out, depth))
    return FALSE;
  save = ps->p;
  skip_blanks (ps);
  if (*ps->p == '^' || (ps->p[0] == '*' && ps->p[1] == '*'))
    {
      const char *at = ps->p;
      gboolean overflow = FALSE;
      Rat power;

      ps->p += *ps->p == '^' ? 1 : 2;
      if (!parse_power (ps, &power))
        return FALSE;
      for (int b = 0; b < KAN_UNITS_N_BASE; b++)
        out->e[b] = rat_mul (out->e[b], power, &overflow);
      return check_limits (ps, at, out, overflow);
    }
  ps->p = save;
  return TRUE;
}

/* Factors joined by '*', '·', '.', '/' or blanks. */
static gboolean
parse_product (UnitParser *ps,
               RDim       *out,
               int         depth)
{
  gboolean after_division = FALSE;

  if (!parse_factor (ps, out, depth))
    return FALSE;
  for (;;)
    {
      const char *save = ps->p, *op;
      gboolean divide = FALSE, overflow = FALSE;
      RDim f;

      skip_blanks (ps);
      op = ps->p;
      if (*ps->p == '*' || *ps->p == '.')
        ps->p++;
      else if (strncmp (ps->p, "\xc2\xb7", 2) == 0)
        ps->p += 2;
      else if (*ps->p == '/')
        {
          divide = TRUE;
          ps->p++;
        }
      else if (starts_factor (ps->p))
        {
          /* A blank after a divisor: "W/m K" reads as W·K/m to some and W/(m·K) to others. */
          if (after_division)
            return fail (ps, ps->p, "a product after '/' needs parentheses or '*': write "
                         "a/(b*c) or a*c/b");
        }
      else
        {
          ps->p = save;
          return TRUE;
        }
      if (ps->p != op)
        {
          skip_blanks (ps);
          if (!starts_factor (ps->p))
            {
              g_autofree char *what = g_strdup_printf ("a unit after '%.*s'",
                                                       (int) (g_utf8_next_char (op) - op), op);

              return fail_unexpected (ps, ps->p, what);
            }
        }
      if (!parse_factor (ps, &f, depth))
        return FALSE;
      for (int b = 0; b < KAN_UNITS_N_BASE; b++)
        out->e[b] = rat_add (out->e[b], divide ? rat_neg (f.e[b]) : f.e[b], &overflow);
      if (!check_limits (ps, op, out, overflow))
        return FALSE;
      /* A juxtaposition gets here only when no division precedes it. */
      after_division = divide;
    }
}

/* Parses TEXT into *OUT; on failure *PROBLEM and *AT say what and where. */
static gboolean
parse_unit (const char  *text,
            RDim        *out,
            const char **at,
            char       **problem)
{
  UnitParser ps = { text, text, NULL, NULL };
  const char *invalid = NULL;
  const char *s = text, *e = text + strlen (text);

  rdim_zero (out);
  if (!g_utf8_validate (text, -1, &invalid))
    {
      *at = invalid;
      *problem = g_strdup ("invalid UTF-8");
      return FALSE;
    }
  /* No units: an empty text or a lone dash, as engineering tables write it. */
  while (s < e && g_ascii_isspace (*s))
    s++;
  while (e > s && g_ascii_isspace (e[-1]))
    e--;
  if (s == e || (e - s == 1 && *s == '-'))
    return TRUE;

  ps.p = s;
  if (parse_product (&ps, out, 0))
    {
      skip_blanks (&ps);
      if (*ps.p == '\0')
        return TRUE;
      if (*ps.p == ')')
        fail (&ps, ps.p, "')' without a matching '('");
      else
        fail_unexpected (&ps, ps.p, "an operator");
    }
  *at = ps.err_at;
  *problem = ps.problem;
  return FALSE;
}

gboolean
kan_units_parse_detail (const char  *text,
                        KanDim      *out,
                        long        *pos,
                        char       **problem)
{
  const char *at = NULL;
  char *why = NULL;
  RDim r;

  g_return_val_if_fail (text != NULL && out != NULL, FALSE);

  if (!parse_unit (text, &r, &at, &why))
    {
      if (pos != NULL)
        *pos = char_position (text, at);
      if (problem != NULL)
        *problem = why;
      else
        g_free (why);
      return FALSE;
    }
  rdim_to_dim (&r, out);
  return TRUE;
}

gboolean
kan_units_parse (const char  *text,
                 KanDim      *out,
                 GError     **error)
{
  g_autofree char *problem = NULL;
  long pos = 0;

  g_return_val_if_fail (text != NULL && out != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!kan_units_parse_detail (text, out, &pos, &problem))
    {
      g_autofree char *shown = kan_expr_excerpt (text, pos);

      g_set_error (error, KAN_ERROR, KAN_ERROR_PARSE, "unit '%s' at position %ld: %s", shown,
                   pos, problem);
      return FALSE;
    }
  return TRUE;
}

/* ------------------------------------------------------------------------------------------ */
/* Printing and comparing                                                                      */

static void
append_power (GString    *s,
              int         base,
              double      e)
{
  Rat r;

  g_string_append (s, base_symbols[base]);
  if (fabs (e - 1.0) <= KAN_UNITS_EXPONENT_TOLERANCE)
    return;
  if (rat_from_double (e, &r))
    {
      if (r.d == 1)
        g_string_append_printf (s, "^%" G_GINT64_FORMAT, r.n);
      else
        g_string_append_printf (s, "^(%" G_GINT64_FORMAT "/%" G_GINT64_FORMAT ")", r.n, r.d);
    }
  else
    {
      char buf[G_ASCII_DTOSTR_BUF_SIZE];

      g_string_append_printf (s, "^(%s)", g_ascii_formatd (buf, sizeof buf, "%.17g", e));
    }
}

char *
kan_units_to_string (const KanDim *d)
{
  /* Mass first, as in kg*m^2/s^2. */
  static const int order[KAN_UNITS_N_BASE] = { KAN_UNITS_KG, KAN_UNITS_M, KAN_UNITS_S,
                                               KAN_UNITS_A, KAN_UNITS_K, KAN_UNITS_MOL,
                                               KAN_UNITS_CD };
  GString *s;
  int n_num = 0, n_den = 0;

  g_return_val_if_fail (d != NULL, NULL);

  s = g_string_new (NULL);
  for (int k = 0; k < KAN_UNITS_N_BASE; k++)
    {
      double e = d->e[order[k]];

      if (e > KAN_UNITS_EXPONENT_TOLERANCE)
        {
          if (n_num++ > 0)
            g_string_append_c (s, '*');
          append_power (s, order[k], e);
        }
      else if (e < -KAN_UNITS_EXPONENT_TOLERANCE)
        n_den++;
    }
  if (n_num == 0)
    g_string_append_c (s, '1');
  if (n_den > 0)
    {
      int k_den = 0;

      g_string_append (s, n_den > 1 ? "/(" : "/");
      for (int k = 0; k < KAN_UNITS_N_BASE; k++)
        {
          double e = d->e[order[k]];

          if (e < -KAN_UNITS_EXPONENT_TOLERANCE)
            {
              if (k_den++ > 0)
                g_string_append_c (s, '*');
              append_power (s, order[k], -e);
            }
        }
      if (n_den > 1)
        g_string_append_c (s, ')');
    }
  return g_string_free (s, FALSE);
}

gboolean
kan_units_equal (const KanDim *a,
                 const KanDim *b)
{
  g_return_val_if_fail (a != NULL && b != NULL, FALSE);

  for (int k = 0; k < KAN_UNITS_N_BASE; k++)
    if (!(fabs (a->e[k] - b->e[k]) <= KAN_UNITS_EXPONENT_TOLERANCE))
      return FALSE;
  return TRUE;
}

gboolean
kan_units_is_dimensionless (const KanDim *d)
{
  static const KanDim none = { { 0 } };

  return kan_units_equal (d, &none);
}

/* ------------------------------------------------------------------------------------------ */
/* The units of a data set                                                                     */

static void
set_spec_error (GError    **error,
                const char *spec,
                const char *at,
                const char *format,
                ...) G_GNUC_PRINTF (4, 5);

static void
set_spec_error (GError    **error,
                const char *spec,
                const char *at,
                const char *format,
                ...)
{
  va_list args;
  g_autofree char *msg = NULL;
  g_autofree char *shown = NULL;
  long pos = char_position (spec, at);

  va_start (args, format);
  msg = g_strdup_vprintf (format, args);
  va_end (args);
  shown = kan_expr_excerpt (spec, pos);
  g_set_error (error, KAN_ERROR, KAN_ERROR_PARSE, "units '%s' at position %ld: %s", shown, pos,
               msg);
}

gboolean
kan_units_for_dataset (const KanDataset *d,
                       const char       *spec,
                       KanDim           *in_dims,
                       KanDim           *out_dim,
                       gboolean         *have_units,
                       GError          **error)
{
  g_autofree gboolean *given = NULL;
  g_autofree const char **given_at = NULL;
  g_autofree KanDim *dims = NULL;
  g_autofree const char **names = NULL;
  int n_cols;

  g_return_val_if_fail (d != NULL && d->in_names != NULL && d->out_names != NULL, FALSE);
  g_return_val_if_fail (in_dims != NULL && out_dim != NULL && have_units != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  /* Columns 0 … n_in − 1 are the inputs, column n_in the (first) output. */
  n_cols = d->n_in + 1;
  names = g_new (const char *, n_cols);
  for (int c = 0; c < d->n_in; c++)
    names[c] = d->in_names[c];
  names[d->n_in] = d->out_names[0];
  given = g_new0 (gboolean, n_cols);
  given_at = g_new0 (const char *, n_cols);
  dims = g_new0 (KanDim, n_cols);
  *have_units = FALSE;

  if (spec != NULL && !g_utf8_validate (spec, -1, NULL))
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_PARSE, "units: the text is not valid UTF-8");
      return FALSE;
    }
  for (const char *p = spec; p != NULL && *p != '\0';)
    {
      const char *end = strchr (p, ','), *s = p, *eq, *name_end, *unit;
      g_autofree char *unit_text = NULL;
      g_autofree char *problem = NULL;
      int col = -1;
      long upos = 0;

      if (end == NULL)
        end = p + strlen (p);
      while (s < end && g_ascii_isspace (*s))
        s++;
      if (s == end)
        {
          /* A blank spec is no spec; a blank entry among others is a slip. */
          if (p == spec && *end == '\0')
            break;
          set_spec_error (error, spec, s, "empty entry (expected name=unit)");
          return FALSE;
        }
      eq = memchr (s, '=', end - s);
      if (eq == NULL)
        {
          name_end = end;
          while (name_end > s && g_ascii_isspace (name_end[-1]))
            name_end--;
          set_spec_error (error, spec, s, "'%.*s' has no '=' (expected name=unit, e.g. v=m/s)",
                          (int) (name_end - s), s);
          return FALSE;
        }
      name_end = eq;
      while (name_end > s && g_ascii_isspace (name_end[-1]))
        name_end--;
      if (name_end == s)
        {
          set_spec_error (error, spec, s, "a unit without a column name before '='");
          return FALSE;
        }
      for (int c = 0; c < n_cols && col < 0; c++)
        if (strlen (names[c]) == (gsize) (name_end - s)
            && memcmp (names[c], s, name_end - s) == 0)
          col = c;
      if (col < 0)
        {
          g_autofree char *list = g_strjoinv (", ", (char **) d->in_names);

          set_spec_error (error, spec, s, "no column named '%.*s' (columns: %s, %s)",
                          (int) (name_end - s), s, list, d->out_names[0]);
          return FALSE;
        }
      if (given[col])
        {
          set_spec_error (error, spec, s, "'%s' is given twice (first at position %ld)",
                          names[col], char_position (spec, given_at[col]));
          return FALSE;
        }
      unit = eq + 1;
      unit_text = g_strndup (unit, end - unit);
      if (!kan_units_parse_detail (unit_text, &dims[col], &upos, &problem))
        {
          g_autofree char *shown = kan_expr_excerpt (g_strstrip (unit_text), 0);

          set_spec_error (error, spec, g_utf8_offset_to_pointer (unit, upos - 1),
                          "unit '%s' of '%s': %s", shown, names[col], problem);
          return FALSE;
        }
      given[col] = TRUE;
      given_at[col] = s;
      p = *end == ',' ? end + 1 : end;
      if (*end == ',' && *p == '\0')
        {
          set_spec_error (error, spec, p, "empty entry after the last ',' (expected "
                          "name=unit)");
          return FALSE;
        }
    }

  /* Header units for the columns the spec does not name. */
  for (int c = 0; c < n_cols; c++)
    {
      char **units = c < d->n_in ? d->in_units : d->out_units;
      const char *u = units != NULL ? units[c < d->n_in ? c : 0] : NULL;
      g_autofree char *problem = NULL;
      long upos = 0;

      if (given[c] || u == NULL || u[0] == '\0')
        continue;
      if (!kan_units_parse_detail (u, &dims[c], &upos, &problem))
        {
          g_autofree char *shown = kan_expr_excerpt (u, upos);

          g_set_error (error, KAN_ERROR, KAN_ERROR_PARSE,
                       "column '%s': unit '%s' at position %ld: %s", names[c], shown, upos,
                       problem);
          return FALSE;
        }
      given[c] = TRUE;
    }

  {
    g_autoptr (GString) with = g_string_new (NULL);
    g_autoptr (GString) without = g_string_new (NULL);
    int n_with = 0;

    for (int c = 0; c < n_cols; c++)
      {
        GString *s = given[c] ? with : without;

        g_string_append_printf (s, "%s%s", s->len > 0 ? ", " : "", names[c]);
        n_with += given[c];
      }
    if (n_with > 0 && n_with < n_cols)
      {
        g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID,
                     "units are given for %s but not for %s; dimensional analysis needs the "
                     "units of every column (1 for a dimensionless one)", with->str,
                     without->str);
        return FALSE;
      }
    *have_units = n_with == n_cols;
  }
  memcpy (in_dims, dims, d->n_in * sizeof (KanDim));
  *out_dim = dims[d->n_in];
  return TRUE;
}

/* ------------------------------------------------------------------------------------------ */
/* π groups                                                                                    */

/* Row-reduces the ROWS × COLS matrix A (row-major) in place, pivoting in the first PIVOT_COLS
 * columns only; PIVOTS (ROWS) receives each pivot row's column. Returns the rank, or −1 when a
 * fraction overflows. */
static int
row_reduce (Rat *a,
            int  rows,
            int  cols,
            int  pivot_cols,
            int *pivots)
{
  gboolean overflow = FALSE;
  int r = 0;

  for (int c = 0; c < pivot_cols && r < rows; c++)
    {
      int p = -1;
      Rat inv;

      for (int i = r; i < rows && p < 0; i++)
        if (a[i * cols + c].n != 0)
          p = i;
      if (p < 0)
        continue;
      for (int j = 0; j < cols; j++)
        {
          Rat t = a[r * cols + j];

          a[r * cols + j] = a[p * cols + j];
          a[p * cols + j] = t;
        }
      inv = rat_inv (a[r * cols + c]);
      for (int j = 0; j < cols; j++)
        a[r * cols + j] = rat_mul (a[r * cols + j], inv, &overflow);
      for (int i = 0; i < rows; i++)
        {
          Rat f = a[i * cols + c];

          if (i == r || f.n == 0)
            continue;
          for (int j = 0; j < cols; j++)
            a[i * cols + j] = rat_add (a[i * cols + j],
                                       rat_neg (rat_mul (f, a[r * cols + j], &overflow)),
                                       &overflow);
        }
      pivots[r++] = c;
    }
  return overflow ? -1 : r;
}

/* The 7 × N matrix whose columns are the dims of the inputs COLS (N), then EXTRA (or none). */
static Rat *
dim_matrix (const RDim *dims,
            const int  *cols,
            int         n,
            const RDim *extra,
            int         n_extra_cols)
{
  int width = n + n_extra_cols;
  Rat *a = g_new (Rat, KAN_UNITS_N_BASE * (gsize) MAX (width, 1));

  for (int b = 0; b < KAN_UNITS_N_BASE; b++)
    {
      for (int k = 0; k < n; k++)
        a[b * width + k] = dims[cols[k]].e[b];
      if (extra != NULL)
        a[b * width + n] = extra->e[b];
    }
  return a;
}

/* One choice of repeating inputs and what it gives. */
typedef struct
{
  Rat    *scale;    /* n_in */
  gint64 *groups;   /* n_heads × n_in integer exponents */
  int    *heads;    /* n_heads, ascending */
  int     n_heads;
  double  cost;     /* total |exponent| */
  int     n_vars;   /* variables used, counted once per group and once in the scale */
} Choice;

static void
choice_clear (Choice *c)
{
  g_clear_pointer (&c->scale, g_free);
  g_clear_pointer (&c->groups, g_free);
  g_clear_pointer (&c->heads, g_free);
}

/* Whether A is the better choice than B (see the rule in kan-units.h). */
static gboolean
choice_better (const Choice *a,
               const Choice *b)
{
  if (fabs (a->cost - b->cost) > KAN_UNITS_EXPONENT_TOLERANCE)
    return a->cost < b->cost;
  if (a->n_vars != b->n_vars)
    return a->n_vars < b->n_vars;
  for (int k = 0; k < a->n_heads; k++)
    if (a->heads[k] != b->heads[k])
      return a->heads[k] < b->heads[k];
  return FALSE;
}

/* Evaluates the repeating set REP (R inputs, of rank R) among the dimensional inputs DIMENSIONAL
 * (ND). Returns FALSE when REP is not independent or a fraction overflows (*OVERFLOW). */
static gboolean
evaluate_choice (const RDim *dims,
                 int         n_in,
                 const int  *dimensional,
                 int         nd,
                 const int  *rep,
                 int         r,
                 const RDim *out,
                 Choice     *c,
                 gboolean   *overflow)
{
  g_autofree int *cols = g_new (int, nd);
  g_autofree int *pivots = g_new (int, KAN_UNITS_N_BASE);
  g_autofree gboolean *in_rep = g_new0 (gboolean, n_in);
  g_autofree Rat *a = NULL;
  int width, n = 0, rank;

  /* Columns: the repeating inputs, y, then the heads. */
  for (int k = 0; k < r; k++)
    {
      cols[n++] = rep[k];
      in_rep[rep[k]] = TRUE;
    }
  memset (c, 0, sizeof *c);
  c->heads = g_new (int, nd - r + 1);
  for (int k = 0; k < nd; k++)
    if (!in_rep[dimensional[k]])
      c->heads[c->n_heads++] = dimensional[k];
  width = nd + 1;
  a = g_new (Rat, KAN_UNITS_N_BASE * width);
  for (int b = 0; b < KAN_UNITS_N_BASE; b++)
    {
      for (int k = 0; k < r; k++)
        a[b * width + k] = dims[rep[k]].e[b];
      a[b * width + r] = out->e[b];
      for (int k = 0; k < c->n_heads; k++)
        a[b * width + r + 1 + k] = dims[c->heads[k]].e[b];
    }
  rank = row_reduce (a, KAN_UNITS_N_BASE, width, r, pivots);
  if (rank < 0)
    *overflow = TRUE;
  if (rank != r)
    {
      choice_clear (c);
      return FALSE;
    }

  /* Row k holds the coefficient of rep[k] (pivots[k] == k, as REP is independent). */
  c->scale = g_new (Rat, n_in);
  for (int i = 0; i < n_in; i++)
    c->scale[i] = rat (0, 1);
  for (int k = 0; k < r; k++)
    {
      c->scale[rep[k]] = a[k * width + r];
      c->cost += fabs (rat_double (c->scale[rep[k]]));
      c->n_vars += c->scale[rep[k]].n != 0;
    }

  /* Head h: h · Π rep^(−coef), scaled to the smallest integer exponents. */
  c->groups = g_new0 (gint64, (gsize) MAX (c->n_heads, 1) * n_in);
  for (int g = 0; g < c->n_heads; g++)
    {
      gint64 *ex = c->groups + (gsize) g * n_in;
      gint64 lcm = 1, common = 0;

      for (int k = 0; k < r; k++)
        {
          Rat q = a[k * width + r + 1 + g];
          gint64 m;

          if (__builtin_mul_overflow (lcm / kan_gcd (lcm, q.d), q.d, &m))
            *overflow = TRUE;
          else
            lcm = m;
        }
      ex[c->heads[g]] = lcm;
      for (int k = 0; k < r; k++)
        {
          Rat q = a[k * width + r + 1 + g];

          if (__builtin_mul_overflow (-q.n, lcm / q.d, &ex[rep[k]]))
            *overflow = TRUE;
        }
      for (int i = 0; i < n_in; i++)
        common = kan_gcd (common, ex[i]);
      for (int i = 0; i < n_in; i++)
        {
          ex[i] /= common;
          c->cost += (double) (ex[i] < 0 ? -ex[i] : ex[i]);
          c->n_vars += ex[i] != 0;
        }
    }
  return !*overflow;
}

/* Π xᵢ^eᵢ for exponents E (N_IN fractions), written to read well: the positive powers over the
 * negative ones, and a common root (sqrt for halves) around the whole. */
static KanExpr *
product_expr (const Rat *e,
              int        n_in)
{
  KanExpr *num = NULL, *den = NULL, *inner;
  gint64 q = 1;

  for (int i = 0; i < n_in; i++)
    q = q / kan_gcd (q, e[i].d) * e[i].d;
  for (int i = 0; i < n_in; i++)
    {
      gint64 k = e[i].n * (q / e[i].d), m = k < 0 ? -k : k;
      KanExpr *f, **side = k > 0 ? &num : &den;

      if (k == 0)
        continue;
      f = m == 1 ? kan_expr_var (i)
                 : kan_expr_binary (KAN_EXPR_POW, kan_expr_var (i), kan_expr_num ((double) m));
      *side = *side == NULL ? f : kan_expr_binary (KAN_EXPR_MUL, *side, f);
    }
  if (num == NULL)
    num = kan_expr_num (1.0);
  inner = den != NULL ? kan_expr_binary (KAN_EXPR_DIV, num, den) : num;
  if (q == 1)
    return inner;
  if (q == 2)
    return kan_expr_unary (KAN_EXPR_CALL, KAN_FUNC_SQRT, inner);
  return kan_expr_binary (KAN_EXPR_POW, inner,
                          kan_expr_binary (KAN_EXPR_DIV, kan_expr_num (1.0),
                                           kan_expr_num ((double) q)));
}

static const char *
name_or (const char *const *names,
         int                i,
         char             **fallback)
{
  if (names != NULL)
    return names[i];
  g_free (*fallback);
  *fallback = g_strdup_printf ("x%d", i + 1);
  return *fallback;
}

/* "y's units (kg*K) cannot be made …", for OUT not in the span of the inputs' units. */
static void
set_unreachable_error (GError           **error,
                       const KanDim      *in_dims,
                       int                n_in,
                       const KanDim      *out_dim,
                       const char *const *in_names,
                       const char        *out_name)
{
  g_autoptr (GString) list = g_string_new (NULL);
  g_autoptr (GString) missing = g_string_new (NULL);
  g_autofree char *out_text = kan_units_to_string (out_dim);
  g_autofree char *fallback = NULL;

  for (int i = 0; i < n_in; i++)
    {
      g_autofree char *u = kan_units_to_string (&in_dims[i]);

      g_string_append_printf (list, "%s%s [%s]", i > 0 ? ", " : "",
                              name_or (in_names, i, &fallback), u);
    }
  for (int b = 0; b < KAN_UNITS_N_BASE; b++)
    {
      gboolean any = FALSE;

      for (int i = 0; i < n_in; i++)
        any |= fabs (in_dims[i].e[b]) > KAN_UNITS_EXPONENT_TOLERANCE;
      if (fabs (out_dim->e[b]) > KAN_UNITS_EXPONENT_TOLERANCE && !any)
        g_string_append_printf (missing, "%s%s", missing->len > 0 ? ", " : "",
                                base_symbols[b]);
    }
  g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID,
               "the units of %s (%s) cannot be made from those of the inputs (%s)%s%s%s",
               out_name != NULL ? out_name : "y", out_text, list->str,
               missing->len > 0 ? "; no input has " : "", missing->str,
               missing->len > 0 ? " in its units" : "");
}

/* C(N, K), or G_MAXINT64 when it is larger than that. */
static gint64
binomial (int n,
          int k)
{
  gint64 c = 1;

  for (int i = 1; i <= k; i++)
    {
      if (c > G_MAXINT64 / (n - k + i))
        return G_MAXINT64;
      c = c * (n - k + i) / i;
    }
  return c;
}

gboolean
kan_units_reduce (const KanDim       *in_dims,
                  int                 n_in,
                  const KanDim       *out_dim,
                  const char *const  *in_names,
                  const char         *out_name,
                  KanUnitsReduction **out,
                  GError            **error)
{
  g_autofree RDim *dims = NULL;
  g_autofree int *dimensional = NULL;
  g_autofree int *rep = NULL;
  g_autofree int *pivots = g_new (int, KAN_UNITS_N_BASE);
  g_autofree Rat *a = NULL;
  g_autofree char *fallback = NULL;
  KanUnitsReduction *res;
  Choice best = { 0 };
  gboolean overflow = FALSE, found = FALSE, y_dimensionless = TRUE;
  RDim y;
  int nd = 0, rank, n_groups, g;

  g_return_val_if_fail (in_dims != NULL && n_in >= 1 && out_dim != NULL && out != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  *out = NULL;
  dims = g_new (RDim, n_in);
  dimensional = g_new (int, n_in);
  for (int i = 0; i <= n_in; i++)
    {
      const KanDim *d = i < n_in ? &in_dims[i] : out_dim;
      RDim *r = i < n_in ? &dims[i] : &y;
      gboolean zero = TRUE;

      for (int b = 0; b < KAN_UNITS_N_BASE; b++)
        {
          if (!rat_from_double (d->e[b], &r->e[b]))
            {
              char buf[G_ASCII_DTOSTR_BUF_SIZE];

              g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID,
                           "the exponent of %s in the units of %s is %s, not a fraction p/q "
                           "with q ≤ %d and |p/q| ≤ %d", base_symbols[b],
                           i < n_in ? name_or (in_names, i, &fallback)
                                    : out_name != NULL ? out_name : "y",
                           g_ascii_formatd (buf, sizeof buf, "%g", d->e[b]),
                           KAN_UNITS_MAX_DENOMINATOR, KAN_UNITS_MAX_EXPONENT);
              return FALSE;
            }
          zero &= r->e[b].n == 0;
        }
      if (i < n_in && !zero)
        dimensional[nd++] = i;
      if (i == n_in)
        y_dimensionless = zero;
    }

  /* The rank of the dimensional inputs, and whether y's units lie in their span. */
  a = dim_matrix (dims, dimensional, nd, &y, 1);
  rank = row_reduce (a, KAN_UNITS_N_BASE, nd + 1, nd + 1, pivots);
  if (rank < 0)
    goto overflowed;
  if (rank > 0 && pivots[rank - 1] == nd)
    {
      set_unreachable_error (error, in_dims, n_in, out_dim, in_names, out_name);
      return FALSE;
    }

  /* Every repeating set of the rank's size, in lexicographic order. */
  rep = g_new (int, MAX (rank, 1));
  if (binomial (nd, rank) <= KAN_UNITS_MAX_SUBSETS)
    {
      g_autofree int *idx = g_new (int, MAX (rank, 1));

      for (int k = 0; k < rank; k++)
        idx[k] = k;
      for (;;)
        {
          Choice c;
          int k;

          for (k = 0; k < rank; k++)
            rep[k] = dimensional[idx[k]];
          if (evaluate_choice (dims, n_in, dimensional, nd, rep, rank, &y, &c, &overflow))
            {
              if (!found || choice_better (&c, &best))
                {
                  choice_clear (&best);
                  best = c;
                  found = TRUE;
                }
              else
                choice_clear (&c);
            }
          else if (overflow)
            {
              choice_clear (&c);
              choice_clear (&best);
              goto overflowed;
            }
          for (k = rank - 1; k >= 0 && idx[k] == nd - rank + k; k--)
            ;
          if (k < 0)
            break;
          idx[k]++;
          for (int j = k + 1; j < rank; j++)
            idx[j] = idx[j - 1] + 1;
        }
    }
  else
    {
      /* Too many sets to try: take each input from the last that adds a new dimension. */
      int n_rep = 0;

      for (int k = nd - 1; k >= 0 && n_rep < rank; k--)
        {
          g_autofree Rat *m = NULL;

          rep[n_rep] = dimensional[k];
          m = dim_matrix (dims, rep, n_rep + 1, NULL, 0);
          if (row_reduce (m, KAN_UNITS_N_BASE, n_rep + 1, n_rep + 1, pivots) == n_rep + 1)
            n_rep++;
        }
      for (int i = 0, j = n_rep - 1; i < j; i++, j--)
        {
          int t = rep[i];

          rep[i] = rep[j];
          rep[j] = t;
        }
      found = evaluate_choice (dims, n_in, dimensional, nd, rep, rank, &y, &best, &overflow);
      if (!found)
        {
          choice_clear (&best);
          goto overflowed;
        }
    }
  g_assert (found);

  /* The groups: the dimensionless inputs and one per head, in column order. */
  n_groups = (n_in - nd) + best.n_heads;
  res = g_new0 (KanUnitsReduction, 1);
  res->n_in = n_in;
  res->n_groups = n_groups;
  res->groups = g_new0 (KanExpr *, MAX (n_groups, 1));
  res->group_exps = g_new0 (double, (gsize) MAX (n_groups, 1) * n_in);
  res->heads = g_new0 (int, MAX (n_groups, 1));
  res->names = g_new0 (char *, n_groups + 1);
  res->scale_exps = g_new0 (double, n_in);
  g = 0;
  for (int i = 0, h = 0; i < n_in; i++)
    {
      g_autofree Rat *e = g_new (Rat, n_in);
      gboolean head = h < best.n_heads && best.heads[h] == i;
      gboolean dimensionless = TRUE;

      for (int b = 0; b < KAN_UNITS_N_BASE; b++)
        dimensionless &= dims[i].e[b].n == 0;
      if (!head && !dimensionless)
        continue;
      for (int j = 0; j < n_in; j++)
        {
          e[j] = head ? rat (best.groups[(gsize) h * n_in + j], 1) : rat (j == i, 1);
          res->group_exps[(gsize) g * n_in + j] = rat_double (e[j]);
        }
      res->groups[g] = product_expr (e, n_in);
      res->heads[g] = i;
      res->names[g] = g_strdup_printf ("pi%d", g + 1);
      g++;
      h += head;
    }
  g_assert (g == n_groups);
  for (int i = 0; i < n_in; i++)
    res->scale_exps[i] = rat_double (best.scale[i]);
  if (!y_dimensionless)
    res->scale = product_expr (best.scale, n_in);
  choice_clear (&best);
  *out = res;
  return TRUE;

overflowed:
  g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID,
               "the exponents of the units are too large to reduce exactly");
  return FALSE;
}

void
kan_units_reduction_free (KanUnitsReduction *r)
{
  if (r == NULL)
    return;
  for (int g = 0; g < r->n_groups; g++)
    kan_expr_free (r->groups[g]);
  g_free (r->groups);
  g_free (r->group_exps);
  g_free (r->heads);
  g_strfreev (r->names);
  kan_expr_free (r->scale);
  g_free (r->scale_exps);
  g_free (r);
}

/* ------------------------------------------------------------------------------------------ */
/* Units of formulas                                                                           */

typedef struct
{
  const KanDim      *in_dims;
  int                n_in;
  const char *const *names;
  char              *why;
} DimCtx;

G_GNUC_PRINTF (3, 4)
static gboolean
dim_fail (DimCtx        *c,
          const KanExpr *e,
          const char    *format,
          ...)
{
  va_list args;
  g_autofree char *text = kan_expr_to_string (e, c->names, KAN_EXPR_STYLE_TEXT);
  g_autofree char *msg = NULL;

  va_start (args, format);
  msg = g_strdup_vprintf (format, args);
  va_end (args);
  c->why = g_strdup_printf ("'%s': %s", text, msg);
  return FALSE;
}

static gboolean
expr_dim (DimCtx        *c,
          const KanExpr *e,
          KanDim        *out)
{
  KanDim da, db;

  memset (out, 0, sizeof *out);
  switch (e->kind)
    {
    case KAN_EXPR_NUM:
      return TRUE;

    case KAN_EXPR_VAR:
      if (e->var < 0 || e->var >= c->n_in)
        return dim_fail (c, e, "not one of the %d inputs", c->n_in);
      *out = c->in_dims[e->var];
      return TRUE;

    case KAN_EXPR_ADD:
    case KAN_EXPR_SUB:
      if (!expr_dim (c, e->a, &da) || !expr_dim (c, e->b, &db))
        return FALSE;
      if (!kan_units_equal (&da, &db))
        {
          g_autofree char *ua = kan_units_to_string (&da);
          g_autofree char *ub = kan_units_to_string (&db);

          return dim_fail (c, e, "%s quantities with different units (%s and %s)",
                           e->kind == KAN_EXPR_ADD ? "adds" : "subtracts", ua, ub);
        }
      *out = da;
      return TRUE;

    case KAN_EXPR_MUL:
    case KAN_EXPR_DIV:
      if (!expr_dim (c, e->a, &da) || !expr_dim (c, e->b, &db))
        return FALSE;
      for (int b = 0; b < KAN_UNITS_N_BASE; b++)
        out->e[b] = e->kind == KAN_EXPR_MUL ? da.e[b] + db.e[b] : da.e[b] - db.e[b];
      return TRUE;

    case KAN_EXPR_POW:
      if (!expr_dim (c, e->a, &da) || !expr_dim (c, e->b, &db))
        return FALSE;
      if (kan_expr_max_var (e->b) < 0)
        {
          double p = kan_expr_eval (e->b, NULL);

          if (!isfinite (p))
            return dim_fail (c, e, "the power is not a finite number");
          for (int b = 0; b < KAN_UNITS_N_BASE; b++)
            out->e[b] = da.e[b] * p;
          return TRUE;
        }
      if (!kan_units_is_dimensionless (&da))
        {
          g_autofree char *ua = kan_units_to_string (&da);

          return dim_fail (c, e, "a quantity with units (%s) is raised to a power that is not "
                           "a constant", ua);
        }
      if (!kan_units_is_dimensionless (&db))
        {
          g_autofree char *ub = kan_units_to_string (&db);

          return dim_fail (c, e, "the power must be dimensionless, but it has units %s", ub);
        }
      return TRUE;

    case KAN_EXPR_NEG:
      return expr_dim (c, e->a, out);

    case KAN_EXPR_CALL:
      if (!expr_dim (c, e->a, &da))
        return FALSE;
      switch (e->func)
        {
        case KAN_FUNC_SQRT:
          for (int b = 0; b < KAN_UNITS_N_BASE; b++)
            out->e[b] = 0.5 * da.e[b];
          return TRUE;
        case KAN_FUNC_ABS:
          *out = da;
          return TRUE;
        case KAN_FUNC_SIGN:
          return TRUE;
        default:
          if (!kan_units_is_dimensionless (&da))
            {
              g_autofree char *ua = kan_units_to_string (&da);

              return dim_fail (c, e, "the argument of %s must be dimensionless, but it has "
                               "units %s", kan_func_name (e->func), ua);
            }
          return TRUE;
        }
    }
  return dim_fail (c, e, "unknown kind of expression");
}

gboolean
kan_units_expr_dim (const KanExpr      *e,
                    const KanDim       *in_dims,
                    int                 n_in,
                    const char *const  *in_names,
                    KanDim             *out,
                    char              **why)
{
  DimCtx c = { in_dims, n_in, in_names, NULL };
  gboolean ok;

  g_return_val_if_fail (e != NULL && (in_dims != NULL || n_in == 0) && out != NULL, FALSE);

  ok = expr_dim (&c, e, out);
  if (why != NULL)
    *why = g_steal_pointer (&c.why);
  g_free (c.why);
  return ok;
}

gboolean
kan_units_check_expr (const KanExpr      *e,
                      const KanDim       *in_dims,
                      int                 n_in,
                      const char *const  *in_names,
                      const KanDim       *out_dim,
                      char              **why)
{
  KanDim d;

  g_return_val_if_fail (out_dim != NULL, FALSE);

  if (why != NULL)
    *why = NULL;
  if (!kan_units_expr_dim (e, in_dims, n_in, in_names, &d, why))
    return FALSE;
  if (!kan_units_equal (&d, out_dim))
    {
      if (why != NULL)
        {
          g_autofree char *have = kan_units_to_string (&d);
          g_autofree char *want = kan_units_to_string (out_dim);

          *why = g_strdup_printf ("the formula has units %s, not %s", have, want);
        }
      return FALSE;
    }
  return TRUE;
}
