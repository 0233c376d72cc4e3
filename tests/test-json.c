/* test-json.c — the strict JSON reader: values read back exactly, every strictness rule with
 * its line and column, the nesting limit, packed storage and the memory limit; and the JSON
 * writer: its layout, exact numbers and repaired, escaped strings. */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "kan-error.h"
#include "kan-json.h"
#include "test-helpers.h"

/* ------------------------------------------------------------------------------------------ */
/* Helpers                                                                                     */
/* ------------------------------------------------------------------------------------------ */

static KanJsonDoc *
parse_len (const char *text,
           gsize       len)
{
  g_autoptr (GError) error = NULL;
  KanJsonDoc *doc = kan_json_parse (text, len, NULL, &error);

  ck_assert_msg (doc != NULL, "'%.60s' did not parse: %s", text, error ? error->message : "?");
  ck_assert_ptr_null (error);
  return doc;
}

static KanJsonDoc *
parse_ok (const char *text)
{
  return parse_len (text, strlen (text));
}

/* TEXT (LEN bytes, or up to its NUL) must fail with CODE and a message "WHERE: …FRAGMENT…". */
static void
expect_fail_full (const char          *text,
                  gssize               len,
                  const KanJsonLimits *limits,
                  KanError             code,
                  const char          *where,
                  const char          *fragment)
{
  g_autoptr (GError) error = NULL;
  /* WHERE "1:" checks only the line. */
  g_autofree char *prefix = g_str_has_suffix (where, ":") ? g_strdup (where)
                                                          : g_strconcat (where, ": ", NULL);
  KanJsonDoc *doc = kan_json_parse (text, len < 0 ? strlen (text) : (gsize) len, limits, &error);

  ck_assert_msg (doc == NULL, "'%.60s' parsed, expected \"%s\"", text, fragment);
  ck_assert_msg (g_error_matches (error, KAN_ERROR, code), "'%.60s': code %d: %s", text,
                 error ? error->code : -1, error ? error->message : "no error");
  ck_assert_msg (g_str_has_prefix (error->message, prefix), "'%.60s': \"%s\" is not at %s",
                 text, error->message, where);
  ck_assert_msg (strstr (error->message, fragment) != NULL, "'%.60s': \"%s\" lacks \"%s\"",
                 text, error->message, fragment);
  ck_assert_msg (strchr (error->message, '\n') == NULL, "two lines: %s", error->message);
}

static void
expect_fail (const char *text,
             const char *where,
             const char *fragment)
{
  expect_fail_full (text, -1, NULL, KAN_ERROR_PARSE, where, fragment);
}

#define ck_assert_same_bits(a, b) \
  do { double a_ = (a), b_ = (b); \
       ck_assert_msg (memcmp (&a_, &b_, sizeof a_) == 0, "%.17g differs from %.17g", a_, b_); \
  } while (0)

/* ------------------------------------------------------------------------------------------ */
/* Values                                                                                      */
/* ------------------------------------------------------------------------------------------ */

START_TEST (test_values)
{
  const char *text =
    "{\n"
    "  \"null\": null, \"t\": true, \"f\": false,\n"
    "  \"s\": \"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\xc3\xa9\xe2\x82\xac\",\n"
    "  \"empty\": \"\", \"ea\": [], \"eo\": {},\n"
    "  \"int\": -42, \"big\": 9007199254740993, \"max\": 9223372036854775807,\n"
    "  \"min\": -9223372036854775808, \"u\": 9223372036854775808,\n"
    "  \"umax\": 18446744073709551615, \"huge\": 18446744073709551616,\n"
    "  \"neg0\": -0, \"real\": -2.385e-3, \"negreal0\": -0.0, \"inf\": 1e400, \"tiny\": 1e-400,\n"
    "  \"nested\": {\"a\": [1, \"two\", [3.5], {\"x\": null}]}\n"
    "}";
  g_autoptr (KanJsonDoc) doc = parse_ok (text);
  const KanJsonNode *root = kan_json_root (doc), *n;
  KanJsonNode e, e2;

  ck_assert_int_eq (kan_json_type (root), KAN_JSON_OBJECT);
  ck_assert_uint_eq (kan_json_length (root), 20);
  ck_assert_str_eq (kan_json_object_member (root, 1)->key, "t");
  ck_assert_ptr_null (kan_json_object_get (root, "absent"));
  ck_assert_int_eq (kan_json_type (kan_json_object_get (root, "null")), KAN_JSON_NULL);
  ck_assert_str_eq (kan_json_kind (kan_json_object_get (root, "null")), "null");
  ck_assert (kan_json_get_bool (kan_json_object_get (root, "t")));
  ck_assert (!kan_json_get_bool (kan_json_object_get (root, "f")));
  ck_assert_str_eq (kan_json_kind (kan_json_object_get (root, "f")), "a boolean");

  n = kan_json_object_get (root, "s");
  ck_assert_str_eq (kan_json_get_string (n),
                    "a\"b\\c/d\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80\xc3\xa9\xe2\x82\xac");
  ck_assert_uint_eq (kan_json_string_length (n), strlen (kan_json_get_string (n)));
  ck_assert_str_eq (kan_json_get_string (kan_json_object_get (root, "empty")), "");
  ck_assert_uint_eq (kan_json_length (kan_json_object_get (root, "ea")), 0);
  ck_assert_uint_eq (kan_json_length (kan_json_object_get (root, "eo")), 0);

  n = kan_json_object_get (root, "int");
  ck_assert_int_eq (kan_json_number_kind (n), KAN_JSON_INT);
  ck_assert_int_eq (kan_json_get_int (n), -42);
  ck_assert_str_eq (kan_json_kind (n), "an integer");
  n = kan_json_object_get (root, "big");
  ck_assert_int_eq (kan_json_number_kind (n), KAN_JSON_INT);
  ck_assert_int_eq (kan_json_get_int (n), G_GINT64_CONSTANT (9007199254740993));
  ck_assert_same_bits (kan_json_get_double (n), g_ascii_strtod ("9007199254740993", NULL));
  ck_assert_int_eq (kan_json_get_int (kan_json_object_get (root, "max")), G_MAXINT64);
  ck_assert_int_eq (kan_json_get_int (kan_json_object_get (root, "min")), G_MININT64);
  n = kan_json_object_get (root, "u");
  ck_assert_int_eq (kan_json_number_kind (n), KAN_JSON_UINT);
  ck_assert_uint_eq (kan_json_get_uint (n), G_GUINT64_CONSTANT (9223372036854775808));
  ck_assert_uint_eq (kan_json_get_uint (kan_json_object_get (root, "umax")), G_MAXUINT64);
  n = kan_json_object_get (root, "huge");
  ck_assert_int_eq (kan_json_number_kind (n), KAN_JSON_BIG);
  ck_assert_uint_eq (kan_json_big_digits (n), 20);
  ck_assert_same_bits (kan_json_get_double (n), 18446744073709551616.0);
  n = kan_json_object_get (root, "neg0");
  ck_assert_int_eq (kan_json_number_kind (n), KAN_JSON_INT);
  ck_assert_int_eq (kan_json_get_int (n), 0);
  ck_assert_same_bits (kan_json_get_double (n), -0.0);
  n = kan_json_object_get (root, "real");
  ck_assert_int_eq (kan_json_number_kind (n), KAN_JSON_REAL);
  ck_assert_str_eq (kan_json_kind (n), "a number");
  ck_assert_same_bits (kan_json_get_double (n), -2.385e-3);
  ck_assert_same_bits (kan_json_get_double (kan_json_object_get (root, "negreal0")), -0.0);
  ck_assert (isinf (kan_json_get_double (kan_json_object_get (root, "inf"))));
  ck_assert_same_bits (kan_json_get_double (kan_json_object_get (root, "tiny")), 0.0);

  n = kan_json_object_get (kan_json_object_get (root, "nested"), "a");
  ck_assert_uint_eq (kan_json_length (n), 4);
  ck_assert_ptr_null (kan_json_array_doubles (n));
  e = kan_json_array_get (n, 0);
  ck_assert_int_eq (kan_json_get_int (&e), 1);
  e = kan_json_array_get (n, 1);
  ck_assert_str_eq (kan_json_get_string (&e), "two");
  e = kan_json_array_get (n, 2);
  ck_assert_uint_eq (kan_json_length (&e), 1);
  e2 = kan_json_array_get (&e, 0);
  ck_assert_same_bits (kan_json_get_double (&e2), 3.5);
  e = kan_json_array_get (n, 3);
  ck_assert_int_eq (kan_json_type (kan_json_object_get (&e, "x")), KAN_JSON_NULL);

  /* Scalars at the top level; a byte order mark is skipped. */
  {
    g_autoptr (KanJsonDoc) a = parse_ok ("  -17.25e1 ");
    g_autoptr (KanJsonDoc) b = parse_ok ("\"x\"");
    g_autoptr (KanJsonDoc) c = parse_ok ("\xef\xbb\xbf[true]");

    ck_assert_same_bits (kan_json_get_double (kan_json_root (a)), -172.5);
    ck_assert_str_eq (kan_json_get_string (kan_json_root (b)), "x");
    ck_assert_uint_eq (kan_json_length (kan_json_root (c)), 1);
  }
}
END_TEST

/* Arrays of numbers are packed, arrays of equal rows are one matrix; elements read back with
 * their kind. */
START_TEST (test_packed)
{
  g_autoptr (KanJsonDoc) doc = parse_ok (
    "{\"flat\": [1.5, 2, -3e2, -0, 9007199254740992],"
    " \"ints\": [1, 0, 1],"
    " \"rows\": [[1.25, 2.5], [3.0, -4.75], [5e-1, 6.5]],"
    " \"introws\": [[1, 2], [3, 4]],"
    " \"ragged\": [[1.0, 2.0], [3.0]],"
    " \"kinds\": [[1.0, 2.0], [3, 4]],"
    " \"cube\": [[[1, 2], [3, 4]], [[5, 6]]],"
    " \"mixed\": [[1.5], 2.5, [3.5]],"
    " \"bigint\": [1.5, 9007199254740993],"
    " \"late\": [1, 2, \"three\"]}");
  const KanJsonNode *root = kan_json_root (doc), *a;
  const double *v;
  KanJsonNode e, r;

  a = kan_json_object_get (root, "flat");
  v = kan_json_array_doubles (a);
  ck_assert_ptr_nonnull (v);
  ck_assert_uint_eq (kan_json_length (a), 5);
  ck_assert_same_bits (v[0], 1.5);
  ck_assert_same_bits (v[2], -300.0);
  ck_assert_same_bits (v[3], -0.0);
  ck_assert_same_bits (v[4], 9007199254740992.0);
  e = kan_json_array_get (a, 0);
  ck_assert_int_eq (kan_json_number_kind (&e), KAN_JSON_REAL);
  e = kan_json_array_get (a, 1);
  ck_assert_int_eq (kan_json_number_kind (&e), KAN_JSON_INT);
  ck_assert_int_eq (kan_json_get_int (&e), 2);
  e = kan_json_array_get (a, 2);
  ck_assert_int_eq (kan_json_number_kind (&e), KAN_JSON_REAL);
  e = kan_json_array_get (a, 3);
  ck_assert_int_eq (kan_json_number_kind (&e), KAN_JSON_INT);
  ck_assert_same_bits (kan_json_get_double (&e), -0.0);
  e = kan_json_array_get (a, 4);
  ck_assert_int_eq (kan_json_get_int (&e), G_GINT64_CONSTANT (9007199254740992));

  a = kan_json_object_get (root, "ints");
  ck_assert_ptr_nonnull (kan_json_array_doubles (a));
  for (gsize i = 0; i < 3; i++)
    {
      e = kan_json_array_get (a, i);
      ck_assert_int_eq (kan_json_number_kind (&e), KAN_JSON_INT);
      ck_assert_int_eq (kan_json_get_int (&e), i == 1 ? 0 : 1);
    }

  a = kan_json_object_get (root, "rows");
  ck_assert_uint_eq (kan_json_length (a), 3);
  ck_assert_ptr_null (kan_json_array_doubles (a));
  r = kan_json_array_get (a, 1);
  ck_assert_int_eq (kan_json_type (&r), KAN_JSON_ARRAY);
  ck_assert_uint_eq (kan_json_length (&r), 2);
  v = kan_json_array_doubles (&r);
  ck_assert_ptr_nonnull (v);
  ck_assert_same_bits (v[0], 3.0);
  ck_assert_same_bits (v[1], -4.75);
  e = kan_json_array_get (&r, 0);
  ck_assert_int_eq (kan_json_number_kind (&e), KAN_JSON_REAL);
  r = kan_json_array_get (a, 2);
  ck_assert_same_bits (kan_json_array_doubles (&r)[0], 0.5);

  a = kan_json_object_get (root, "introws");
  r = kan_json_array_get (a, 1);
  e = kan_json_array_get (&r, 1);
  ck_assert_int_eq (kan_json_number_kind (&e), KAN_JSON_INT);
  ck_assert_int_eq (kan_json_get_int (&e), 4);

  a = kan_json_object_get (root, "ragged");
  ck_assert_uint_eq (kan_json_length (a), 2);
  r = kan_json_array_get (a, 0);
  ck_assert_uint_eq (kan_json_length (&r), 2);
  r = kan_json_array_get (a, 1);
  ck_assert_uint_eq (kan_json_length (&r), 1);
  ck_assert_same_bits (kan_json_array_doubles (&r)[0], 3.0);

  a = kan_json_object_get (root, "kinds");
  r = kan_json_array_get (a, 0);
  e = kan_json_array_get (&r, 0);
  ck_assert_int_eq (kan_json_number_kind (&e), KAN_JSON_REAL);
  r = kan_json_array_get (a, 1);
  e = kan_json_array_get (&r, 1);
  ck_assert_int_eq (kan_json_number_kind (&e), KAN_JSON_INT);

  a = kan_json_object_get (root, "cube");
  ck_assert_uint_eq (kan_json_length (a), 2);
  r = kan_json_array_get (a, 0);
  ck_assert_uint_eq (kan_json_length (&r), 2);
  {
    KanJsonNode row = kan_json_array_get (&r, 1);
    e = kan_json_array_get (&row, 0);
    ck_assert_int_eq (kan_json_get_int (&e), 3);
  }
  r = kan_json_array_get (a, 1);
  ck_assert_uint_eq (kan_json_length (&r), 1);
  {
    KanJsonNode row = kan_json_array_get (&r, 0);
    e = kan_json_array_get (&row, 1);
    ck_assert_int_eq (kan_json_get_int (&e), 6);
  }

  a = kan_json_object_get (root, "mixed");
  ck_assert_uint_eq (kan_json_length (a), 3);
  e = kan_json_array_get (a, 1);
  ck_assert_same_bits (kan_json_get_double (&e), 2.5);
  r = kan_json_array_get (a, 2);
  ck_assert_same_bits (kan_json_array_doubles (&r)[0], 3.5);

  /* An integer a double cannot hold keeps its exact value (and a node of its own). */
  a = kan_json_object_get (root, "bigint");
  ck_assert_ptr_null (kan_json_array_doubles (a));
  e = kan_json_array_get (a, 1);
  ck_assert_int_eq (kan_json_get_int (&e), G_GINT64_CONSTANT (9007199254740993));
  e = kan_json_array_get (a, 0);
  ck_assert_same_bits (kan_json_get_double (&e), 1.5);

  a = kan_json_object_get (root, "late");
  ck_assert_ptr_null (kan_json_array_doubles (a));
  e = kan_json_array_get (a, 1);
  ck_assert_int_eq (kan_json_get_int (&e), 2);
  e = kan_json_array_get (a, 2);
  ck_assert_str_eq (kan_json_get_string (&e), "three");
}
END_TEST

/* Whatever way a double is written, it reads back to the bits g_ascii_strtod gives, whether it
 * is packed, in a matrix, in an object or on its own. */
START_TEST (test_doubles_exact)
{
  static const char *const fixed[] = {
    "0.1", "1e23", "8.98846567431158e307", "1.7976931348623157e308", "1.7976931348623159e308",
    "2.2250738585072011e-308", "2.2250738585072012e-308", "4.9406564584124654e-324",
    "2.4703282292062327e-324", "2.4703282292062328e-324", "0.30000000000000004440892098500626",
    "9007199254740993.0", "9007199254740993e0", "123456789012345678901234567890e-30",
    "1.00000000000000011102230246251565404236316680908203125",
    "1.00000000000000011102230246251565404236316680908203124",
    "-0.0", "0e0", "0E+0", "-0e-0", "1E2", "5e-324", "1e-325",
  };
  GRand *rng = g_rand_new_with_seed (2385);
  g_autoptr (GString) list = g_string_new ("[");
  g_autoptr (GString) obj = g_string_new ("{");
  g_autoptr (GPtrArray) texts = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (KanJsonDoc) doc = NULL;
  g_autoptr (KanJsonDoc) odoc = NULL;
  g_autoptr (GString) rows = g_string_new ("[");
  g_autoptr (KanJsonDoc) rdoc = NULL;
  const double *v;

  for (guint i = 0; i < G_N_ELEMENTS (fixed); i++)
    g_ptr_array_add (texts, g_strdup (fixed[i]));
  for (int i = 0; i < 4000; i++)
    {
      char buf[G_ASCII_DTOSTR_BUF_SIZE];
      guint64 bits;
      double x;

      if (i % 2 == 0)
        {
          /* Random bit patterns, written with 15 to 17 digits. */
          do
            {
              bits = ((guint64) g_rand_int (rng) << 32) | g_rand_int (rng);
              memcpy (&x, &bits, sizeof x);
            }
          while (!isfinite (x));
          g_ascii_formatd (buf, sizeof buf, i % 3 == 0 ? "%.15g" : i % 3 == 1 ? "%.16e" : "%.17g",
                           x);
          /* JSON needs a digit before '.', which %g always gives; "inf" cannot occur. */
          g_ptr_array_add (texts, g_strdup (buf));
        }
      else
        {
          /* Random decimal strings: up to 30 digits, a fraction, an exponent. */
          GString *s = g_string_new (g_rand_boolean (rng) ? "-" : "");
          int nd = g_rand_int_range (rng, 1, 31), point = g_rand_int_range (rng, 0, nd + 1);

          g_string_append_c (s, (char) ('1' + g_rand_int_range (rng, 0, 9)));
          for (int d = 1; d < nd; d++)
            {
              if (d == point)
                g_string_append_c (s, '.');
              g_string_append_c (s, (char) ('0' + g_rand_int_range (rng, 0, 10)));
            }
          /* Integers beyond 2^53 are tested on their own below: these must all pack. */
          if (g_rand_boolean (rng) || point == 0 || point == nd)
            g_string_append_printf (s, "e%d", g_rand_int_range (rng, -330, 310));
          g_ptr_array_add (texts, g_string_free (s, FALSE));
        }
    }
  g_rand_free (rng);

  for (guint i = 0; i < texts->len; i++)
    {
      const char *t = g_ptr_array_index (texts, i);

      g_string_append_printf (list, "%s%s", i ? ", " : "", t);
      g_string_append_printf (obj, "%s\"k%u\": %s", i ? ", " : "", i, t);
      g_string_append_printf (rows, "%s[%s, %s]", i ? ", " : "", t, t);
    }
  g_string_append_c (list, ']');
  g_string_append_c (obj, '}');
  g_string_append_c (rows, ']');
  doc = parse_ok (list->str);
  odoc = parse_ok (obj->str);
  rdoc = parse_ok (rows->str);
  v = kan_json_array_doubles (kan_json_root (doc));
  ck_assert_ptr_nonnull (v);
  for (guint i = 0; i < texts->len; i++)
    {
      const char *t = g_ptr_array_index (texts, i);
      double want = g_ascii_strtod (t, NULL);
      KanJsonNode e = kan_json_array_get (kan_json_root (doc), i);
      KanJsonNode row = kan_json_array_get (kan_json_root (rdoc), i);
      KanJsonNode re = kan_json_array_get (&row, 1);
      g_autoptr (KanJsonDoc) one = parse_ok (t);

      ck_assert_same_bits (v[i], want);
      ck_assert_same_bits (kan_json_get_double (&e), want);
      ck_assert_same_bits (kan_json_get_double (&kan_json_object_member (kan_json_root (odoc), i)->value),
                           want);
      ck_assert_same_bits (kan_json_get_double (&re), want);
      ck_assert_same_bits (kan_json_get_double (kan_json_root (one)), want);
    }

  /* Integers too long for a double to hold exactly read as g_ascii_strtod reads them. */
  for (int nd = 15; nd <= 330; nd += 5)
    {
      g_autoptr (GString) t = g_string_new (nd % 2 ? "-" : "");
      g_autofree char *in_array = NULL;
      g_autoptr (KanJsonDoc) one = NULL;
      g_autoptr (KanJsonDoc) arr = NULL;
      double want;
      KanJsonNode e;

      for (int d = 0; d < nd; d++)
        g_string_append_c (t, (char) ('1' + (d * 7 + nd) % 9));
      want = g_ascii_strtod (t->str, NULL);
      in_array = g_strdup_printf ("[0.5, %s]", t->str);
      one = parse_ok (t->str);
      arr = parse_ok (in_array);
      e = kan_json_array_get (kan_json_root (arr), 1);
      ck_assert_same_bits (kan_json_get_double (kan_json_root (one)), want);
      ck_assert_same_bits (kan_json_get_double (&e), want);
      ck_assert_int_eq (kan_json_number_kind (&e), nd > 19 ? KAN_JSON_BIG : KAN_JSON_INT);
    }
}
END_TEST

/* Random documents read the same as json-glib reads them (values within its range). */
static void
random_value (GRand   *r,
              GString *s,
              int      depth)
{
  int kind = depth > 5 ? g_rand_int_range (r, 0, 5) : g_rand_int_range (r, 0, 8);

  switch (kind)
    {
    case 0:
      g_string_append (s, g_rand_boolean (r) ? "true" : g_rand_boolean (r) ? "false" : "null");
      break;
    case 1:
      g_string_append_printf (s, "%" G_GINT64_FORMAT,
                              (gint64) (((guint64) g_rand_int (r) << 32) | g_rand_int (r)));
      break;
    case 2:
      {
        char buf[G_ASCII_DTOSTR_BUF_SIZE];
        g_string_append (s, g_ascii_formatd (buf, sizeof buf, "%.17g",
                                             g_rand_double_range (r, -1e6, 1e6)));
        if (!strpbrk (buf, ".e"))
          g_string_append (s, ".5");
        break;
      }
    case 3:
    case 4:
      {
        static const char *const pieces[] = { "a", "\\n", "\\u00e9", "\xe2\x82\xac", "\\\"",
                                              "\\ud834\\udd1e", " ", "Z", "\\/" };
        int n = g_rand_int_range (r, 0, 6);

        g_string_append_c (s, '"');
        for (int i = 0; i < n; i++)
          g_string_append (s, pieces[g_rand_int_range (r, 0, G_N_ELEMENTS (pieces))]);
        g_string_append_c (s, '"');
        break;
      }
    case 5:
    case 6:
      {
        int n = g_rand_int_range (r, 0, 6);
        gboolean numbers = g_rand_boolean (r);

        g_string_append_c (s, '[');
        for (int i = 0; i < n; i++)
          {
            if (i > 0)
              g_string_append (s, ", ");
            if (numbers)
              g_string_append_printf (s, "%d.25", g_rand_int_range (r, -50, 50));
            else
              random_value (r, s, depth + 1);
          }
        g_string_append_c (s, ']');
        break;
      }
    default:
      {
        int n = g_rand_int_range (r, 0, 5);

        g_string_append_c (s, '{');
        for (int i = 0; i < n; i++)
          {
            g_string_append_printf (s, "%s\"m%d\":\n ", i ? ", " : "", i);
            random_value (r, s, depth + 1);
          }
        g_string_append_c (s, '}');
        break;
      }
    }
}

static void
assert_same_tree (const KanJsonNode *a,
                  JsonNode          *b)
{
  switch (kan_json_type (a))
    {
    case KAN_JSON_NULL:
      ck_assert (JSON_NODE_HOLDS_NULL (b));
      break;
    case KAN_JSON_BOOL:
      ck_assert_int_eq (json_node_get_value_type (b), G_TYPE_BOOLEAN);
      ck_assert_int_eq (kan_json_get_bool (a), json_node_get_boolean (b));
      break;
    case KAN_JSON_NUMBER:
      if (kan_json_number_kind (a) == KAN_JSON_INT)
        {
          ck_assert_int_eq (json_node_get_value_type (b), G_TYPE_INT64);
          ck_assert_int_eq (kan_json_get_int (a), json_node_get_int (b));
        }
      else
        {
          ck_assert_int_eq (json_node_get_value_type (b), G_TYPE_DOUBLE);
          ck_assert_same_bits (kan_json_get_double (a), json_node_get_double (b));
        }
      break;
    case KAN_JSON_STRING:
      ck_assert_str_eq (kan_json_get_string (a), json_node_get_string (b));
      break;
    case KAN_JSON_ARRAY:
      {
        JsonArray *ja = json_node_get_array (b);

        ck_assert_uint_eq (kan_json_length (a), json_array_get_length (ja));
        for (gsize i = 0; i < kan_json_length (a); i++)
          {
            KanJsonNode e = kan_json_array_get (a, i);
            assert_same_tree (&e, json_array_get_element (ja, (guint) i));
          }
        break;
      }
    case KAN_JSON_OBJECT:
      {
        JsonObject *jo = json_node_get_object (b);

        ck_assert_uint_eq (kan_json_length (a), json_object_get_size (jo));
        for (gsize i = 0; i < kan_json_length (a); i++)
          {
            const KanJsonMember *m = kan_json_object_member (a, i);
            ck_assert (json_object_has_member (jo, m->key));
            assert_same_tree (&m->value, json_object_get_member (jo, m->key));
          }
        break;
      }
    default:
      ck_abort ();
    }
}

START_TEST (test_random_documents)
{
  GRand *r = g_rand_new_with_seed (4141);

  for (int q = 0; q < 300; q++)
    {
      g_autoptr (GString) s = g_string_new (NULL);
      g_autoptr (JsonParser) parser = json_parser_new ();
      g_autoptr (KanJsonDoc) doc = NULL;

      random_value (r, s, 0);
      doc = parse_ok (s->str);
      ck_assert_msg (json_parser_load_from_data (parser, s->str, -1, NULL), "%s", s->str);
      assert_same_tree (kan_json_root (doc), json_parser_get_root (parser));
    }
  g_rand_free (r);
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* Strictness                                                                                  */
/* ------------------------------------------------------------------------------------------ */

START_TEST (test_reject_syntax)
{
  expect_fail ("", "1:1", "unexpected end of file: expected a value");
  expect_fail ("  \n  ", "2:3", "unexpected end of file");
  expect_fail ("[1,]", "1:3", "trailing comma before ']'");
  expect_fail ("{\"a\": 1,\n }", "1:8", "trailing comma before '}'");
  expect_fail ("[1] x", "1:5", "unexpected text after the JSON value");
  expect_fail ("{} {}", "1:4", "unexpected text after the JSON value");
  expect_fail ("[1]\n// note", "2:1", "comments are not allowed");
  expect_fail ("/* note */ [1]", "1:1", "comments are not allowed");
  expect_fail ("[1, /* two */ 2]", "1:5", "comments are not allowed");
  expect_fail ("['a']", "1:2", "double quotes, not single quotes");
  expect_fail ("{'a': 1}", "1:2", "double quotes, not single quotes");
  expect_fail ("[1 2]", "1:4", "expected ',' or ']', found '2'");
  expect_fail ("[1}", "1:3", "expected ',' or ']', found '}'");
  expect_fail ("{\"a\" 1}", "1:6", "expected ':' after the key, found '1'");
  expect_fail ("{1: 2}", "1:2", "expected a key in double quotes, found '1'");
  expect_fail ("{\"a\": 1 \"b\": 2}", "1:9", "expected ',' or '}'");
  expect_fail ("[,1]", "1:2", "expected a value, found ','");
  expect_fail ("[True]", "1:2", "unexpected word 'True'");
  expect_fail ("[nul]", "1:2", "unexpected word 'nul'");
  expect_fail ("[truex]", "1:2", "unexpected word 'truex'");
  expect_fail ("[1, 2", "1:6", "the array opened at 1:1 is not closed");
  expect_fail ("{\"a\": [1,\n  {\"b\": 2", "2:10", "the object opened at 2:3 is not closed");
  expect_fail ("[\"abc", "1:6", "unexpected end of file in a string");
  expect_fail ("{\"a\":", "1:6", "unexpected end of file");
  expect_fail_full ("[1]\0", 4, NULL, KAN_ERROR_PARSE, "1:4", "UTF-8");
  expect_fail_full ("\0\1\2", 3, NULL, KAN_ERROR_PARSE, "1:1", "a NUL byte");
  expect_fail ("[\x7f]", "1:2", "control character U+007F");
  expect_fail ("[\xe2\x82\xac]", "1:2", "unexpected character '\xe2\x82\xac'");
}
END_TEST

START_TEST (test_reject_numbers)
{
  expect_fail ("[NaN]", "1:2", "'NaN' is not a JSON number");
  expect_fail ("[nan]", "1:2", "'nan' is not a JSON number");
  expect_fail ("[Infinity]", "1:2", "'Infinity' is not a JSON number");
  expect_fail ("[1, -Infinity]", "1:5", "'-Infinity' is not a JSON number");
  expect_fail ("{\"x\": -inf}", "1:7", "'-inf' is not a JSON number");
  expect_fail ("[01]", "1:2", "leading zeros are not allowed");
  expect_fail ("[-01]", "1:2", "leading zeros are not allowed");
  expect_fail ("[00.5]", "1:2", "leading zeros are not allowed");
  expect_fail ("[1.]", "1:4", "expected a digit after the decimal point");
  expect_fail ("[1.e5]", "1:4", "expected a digit after the decimal point");
  expect_fail ("[.5]", "1:2", "expected a value, found '.'");
  expect_fail ("[1e]", "1:4", "expected a digit in the exponent");
  expect_fail ("[1e+]", "1:5", "expected a digit in the exponent");
  expect_fail ("[+1]", "1:2", "expected a value, found '+'");
  expect_fail ("[-]", "1:3", "expected a digit after '-'");
  expect_fail ("-", "1:2", "unexpected end of file in a number");
  expect_fail ("[1.", "1:4", "unexpected end of file in a number");
  expect_fail ("[1e-", "1:5", "unexpected end of file in a number");
  expect_fail ("[1", "1:3", "the array opened at 1:1 is not closed");
  expect_fail ("tru", "1:1", "unexpected word 'tru'");
  expect_fail ("[0x10]", "1:3", "unexpected word 'x10'");
  expect_fail ("[1.5.3]", "1:5", "expected ',' or ']', found '.'");
}
END_TEST

START_TEST (test_reject_strings)
{
  expect_fail ("[\"a\tb\"]", "1:4", "unescaped control character U+0009 in a string");
  expect_fail ("[\"a\nb\"]", "1:4", "a string cannot span lines");
  expect_fail ("[\"a\\u0000b\"]", "1:4", "\\u0000 (NUL) is not allowed");
  expect_fail_full ("[\"a\0b\"]", 7, NULL, KAN_ERROR_PARSE, "1:4", "NUL byte in a string");
  expect_fail ("[\"\\x\"]", "1:3", "invalid escape '\\x'");
  expect_fail ("[\"\\'\"]", "1:3", "invalid escape '\\''");
  expect_fail ("[\"\\u12G4\"]", "1:3", "four hexadecimal digits");
  expect_fail ("[\"\\u12\"]", "1:3", "four hexadecimal digits");
  /* Lone surrogates. */
  expect_fail ("[\"\\ud800\"]", "1:3", "lone surrogate \\uD800");
  expect_fail ("[\"ab\\uDC00\"]", "1:5", "lone surrogate \\uDC00");
  expect_fail ("[\"\\ud800\\u0041\"]", "1:3", "lone surrogate \\uD800");
  expect_fail ("[\"\\ud800x\"]", "1:3", "lone surrogate");
  expect_fail ("[\"\\udbff\\udbff\"]", "1:3", "lone surrogate");
  /* Invalid UTF-8: a stray byte, an overlong form, an encoded surrogate, a cut sequence, beyond
   * U+10FFFF, Latin-1. */
  expect_fail ("[\"\xff\"]", "1:3", "invalid UTF-8 in a string");
  expect_fail ("[\"\xc0\xaf\"]", "1:3", "invalid UTF-8");
  expect_fail ("[\"\xe0\x80\xaf\"]", "1:3", "invalid UTF-8");
  expect_fail ("[\"\xed\xa0\x80\"]", "1:3", "invalid UTF-8");
  expect_fail ("[\"\xe2\x82\"]", "1:3", "invalid UTF-8");
  expect_fail ("[\"\xf4\x90\x80\x80\"]", "1:3", "invalid UTF-8");
  expect_fail ("[\"caf\xe9\"]", "1:6", "invalid UTF-8");
  expect_fail ("[\xe9]", "1:2", "invalid UTF-8");
  /* Columns count characters, not bytes. */
  expect_fail ("[\"\xc3\xa9\xe2\x82\xac\", x]", "1:8", "unexpected word 'x'");
  expect_fail ("\xef\xbb\xbf[x]", "1:2", "unexpected word 'x'");
}
END_TEST

START_TEST (test_reject_duplicates)
{
  g_autoptr (GString) big = g_string_new ("{");

  expect_fail ("{\"a\": 1, \"a\": 2}", "1:10", "duplicate key: a");
  expect_fail ("{\"a\": 1,\n \"b\": {\"c\": [0, {\"d\": 1, \"e\": 2, \"d\": 3}]}}", "2:34",
               "duplicate key: b.c[1].d");
  expect_fail ("[[1], {\"x\": [2, 3, {\"y\": 1, \"y\\u0000\": 2}]}]", "1:31", "NUL");
  expect_fail ("[[1], {\"x\": [2, 3, {\"y\": 1, \"\\u0079\": 2}]}]", "1:29",
               "duplicate key: [1].x[2].y");
  /* A key with a control character is printed escaped, on one line. */
  expect_fail ("{\"a\\nb\": 1, \"a\\nb\": 2}", "1:13", "duplicate key: a\\u000Ab");
  /* Objects with many members use a hash table. */
  for (int i = 0; i < 100; i++)
    g_string_append_printf (big, "\"k%d\": %d, ", i, i);
  {
    g_autofree char *where = g_strdup_printf ("1:%" G_GSIZE_FORMAT, big->len + 1);

    g_string_append (big, "\"k37\": 0}");
    expect_fail (big->str, where, "duplicate key: k37");
  }
  {
    /* The same keys in different objects are fine. */
    g_autoptr (KanJsonDoc) doc = parse_ok ("[{\"a\": 1}, {\"a\": 2, \"b\": {\"a\": 3}}]");
    ck_assert_uint_eq (kan_json_length (kan_json_root (doc)), 2);
  }
}
END_TEST

/* 100 000 open brackets (200 KB with the closing ones) stop at the limit instead of
 * overflowing a stack; 512 levels are fine. */
START_TEST (test_depth)
{
  enum { N = 100000 };
  g_autofree char *deep = g_malloc (2 * N + 1);
  g_autofree char *deep_obj = NULL;
  g_autoptr (GString) obj = g_string_new (NULL);
  KanJsonLimits lim;

  memset (deep, '[', N);
  memset (deep + N, ']', N);
  deep[2 * N] = '\0';
  expect_fail (deep, "1:513", "arrays and objects nest deeper than 512 levels");
  /* Unclosed, too. */
  expect_fail_full (deep, N, NULL, KAN_ERROR_PARSE, "1:513", "deeper than 512 levels");

  for (int d = 511; d <= 513; d++)
    {
      g_autofree char *t = g_strnfill (2 * (gsize) d, ']');

      memset (t, '[', (gsize) d);
      if (d <= KAN_JSON_MAX_DEPTH)
        {
          g_autoptr (KanJsonDoc) doc = parse_ok (t);
          const KanJsonNode *n = kan_json_root (doc);
          KanJsonNode e;
          int levels = 1;

          while (kan_json_length (n) > 0)
            {
              e = kan_json_array_get (n, 0);
              n = &e;
              levels++;
            }
          ck_assert_int_eq (levels, d);
        }
      else
        expect_fail (t, "1:513", "deeper than 512");
    }

  for (int i = 0; i < N; i++)
    g_string_append (obj, "{\"a\":");
  expect_fail (obj->str, "1:2561", "deeper than 512 levels");

  kan_json_limits_init (&lim);
  lim.max_depth = 3;
  expect_fail_full ("[[[[1]]]]", -1, &lim, KAN_ERROR_PARSE, "1:4", "deeper than 3 levels");
  {
    g_autoptr (KanJsonDoc) doc = kan_json_parse ("[[[1]]]", 7, &lim, NULL);
    ck_assert_ptr_nonnull (doc);
  }
}
END_TEST

/* The parsed form of numbers costs 8 bytes each; a document of many tiny containers is refused
 * before it outgrows its limit. */
START_TEST (test_memory)
{
  enum { N = 200000 };
  g_autoptr (GString) flat = g_string_new ("{\"v\": [");
  g_autoptr (GString) rows = g_string_new ("[");
  g_autoptr (GString) empties = g_string_new ("[");
  g_autoptr (KanJsonDoc) doc = NULL;
  g_autoptr (KanJsonDoc) rdoc = NULL;
  KanJsonLimits lim;
  const double *v;

  for (int i = 0; i < N; i++)
    g_string_append_printf (flat, "%s%d.5", i ? ", " : "", i);
  g_string_append (flat, "]}");
  doc = parse_ok (flat->str);
  v = kan_json_array_doubles (kan_json_object_get (kan_json_root (doc), "v"));
  ck_assert_ptr_nonnull (v);
  ck_assert_same_bits (v[N - 1], N - 0.5);
  ck_assert_same_bits (v[12345], 12345.5);
  /* One packed block: 8 bytes a number, plus a little. */
  ck_assert_uint_le (kan_json_bytes (doc), 8 * (gsize) N + 16384);
  ck_assert_uint_le (kan_json_peak_bytes (doc), 2 * 8 * (gsize) N + 65536);

  for (int i = 0; i < N; i++)
    g_string_append_printf (rows, "%s[%d.5, 1.0]", i ? ", " : "", i);
  g_string_append (rows, "]");
  rdoc = parse_ok (rows->str);
  {
    KanJsonNode r = kan_json_array_get (kan_json_root (rdoc), N - 1);
    ck_assert_same_bits (kan_json_array_doubles (&r)[0], N - 0.5);
  }
  /* A matrix: no node per row. */
  ck_assert_uint_le (kan_json_bytes (rdoc), 16 * (gsize) N + 16384);

  /* Two million empty arrays (6 MB of text) would need 32 MB of nodes. */
  for (int i = 0; i < 2000000; i++)
    g_string_append (empties, "[],");
  g_string_append (empties, "[]]");
  expect_fail_full (empties->str, -1, NULL, KAN_ERROR_BUDGET, "1:", "MiB to hold in memory");
  kan_json_limits_init (&lim);
  lim.max_bytes = 128 << 20;
  {
    g_autoptr (GError) error = NULL;
    g_autoptr (KanJsonDoc) e = kan_json_parse (empties->str, empties->len, &lim, &error);

    ck_assert_msg (e != NULL, "%s", error ? error->message : "");
    ck_assert_uint_eq (kan_json_length (kan_json_root (e)), 2000001);
    ck_assert_uint_ge (kan_json_bytes (e), 16 * (gsize) 2000001);
    ck_assert_uint_le (kan_json_peak_bytes (e), lim.max_bytes);
  }
  lim.max_bytes = 100000;
  expect_fail_full (flat->str, -1, &lim, KAN_ERROR_BUDGET, "1:", "more than 100000 bytes");
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* Writing                                                                                     */
/* ------------------------------------------------------------------------------------------ */

/* The layout: wrapped levels on their own lines, deeper ones (and _inline ones) on one line,
 * broken lines of an inline array indented one level below the line it opened on. */
START_TEST (test_write_layout)
{
  static const double row[] = { 1.0, -0.0, 0.1, 1e22, 5e-324 };
  KanJsonWriter w;
  g_autofree char *cli = NULL;
  g_autofree char *all = NULL;
  gsize len = 0;

  kan_json_writer_init (&w, 2);
  kan_json_write_begin_object (&w, NULL);
  kan_json_write_int (&w, "n", -3);
  kan_json_write_begin_array (&w, "rows");
  kan_json_write_begin_object (&w, NULL);
  kan_json_write_double (&w, "x", 2.5);
  kan_json_write_bool (&w, "ok", TRUE);
  kan_json_write_end (&w);
  kan_json_write_end (&w);
  kan_json_write_begin_array (&w, "empty");
  kan_json_write_end (&w);
  kan_json_write_end (&w);
  cli = kan_json_writer_finish (&w, &len);
  ck_assert_str_eq (cli, "{\n  \"n\": -3,\n  \"rows\": [\n    {\"x\": 2.5, \"ok\": true}\n  ],\n"
                         "  \"empty\": []\n}\n");
  ck_assert_uint_eq (len, strlen (cli));

  kan_json_writer_init (&w, 0);
  kan_json_write_begin_object (&w, NULL);
  kan_json_write_doubles (&w, "row", row, G_N_ELEMENTS (row), 0);
  kan_json_write_doubles (&w, "pairs", row, 4, 2);
  kan_json_write_begin_array (&w, "h");
  kan_json_write_begin_object_inline (&w, NULL);
  kan_json_write_null (&w, "op");
  kan_json_write_begin_object (&w, "m");
  kan_json_write_uint64 (&w, "seed", G_MAXUINT64);
  kan_json_write_uint64 (&w, "small", 7);
  kan_json_write_end (&w);
  kan_json_write_end (&w);
  kan_json_write_end (&w);
  kan_json_write_end (&w);
  all = kan_json_writer_finish (&w, NULL);
  ck_assert_str_eq (all, "{\n"
                         "  \"row\": [1.0, -0.0, 0.1, 1e+22, 4.94065645841247e-324],\n"
                         "  \"pairs\": [\n"
                         "    1.0, -0.0,\n"
                         "    0.1, 1e+22\n"
                         "  ],\n"
                         "  \"h\": [\n"
                         "    {\"op\": null, \"m\": {\n"
                         "      \"seed\": \"18446744073709551615\",\n"
                         "      \"small\": 7\n"
                         "    }}\n"
                         "  ]\n"
                         "}\n");
}
END_TEST

/* Doubles read back to the same bits; non-finite values are null. */
START_TEST (test_write_numbers)
{
  const double v[] = { 0.0, -0.0, 1.0, -1.5, 0.1, 1.0 / 3.0, DBL_MAX, DBL_MIN, 5e-324, 1e22,
                       123456789012345678.0, NAN, INFINITY, -INFINITY };
  KanJsonWriter w;
  g_autoptr (KanJsonDoc) doc = NULL;
  g_autofree char *text = NULL;

  kan_json_writer_init (&w, 1);
  kan_json_write_begin_array (&w, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (v); i++)
    kan_json_write_double (&w, NULL, v[i]);
  kan_json_write_int (&w, NULL, G_MININT64);
  kan_json_write_end (&w);
  text = kan_json_writer_finish (&w, NULL);
  doc = parse_ok (text);
  for (guint i = 0; i < G_N_ELEMENTS (v); i++)
    {
      KanJsonNode e = kan_json_array_get (kan_json_root (doc), i);

      if (!isfinite (v[i]))
        {
          ck_assert_int_eq (kan_json_type (&e), KAN_JSON_NULL);
          continue;
        }
      ck_assert_int_eq (kan_json_number_kind (&e), KAN_JSON_REAL);
      {
        double back = kan_json_get_double (&e);
        ck_assert_msg (memcmp (&back, &v[i], sizeof back) == 0, "%.17g came back as %.17g",
                       v[i], back);
      }
    }
  {
    KanJsonNode last = kan_json_array_get (kan_json_root (doc), G_N_ELEMENTS (v));
    ck_assert_int_eq (kan_json_get_int (&last), G_MININT64);
  }
}
END_TEST

/* Strings: invalid UTF-8 (a Latin-1 name) is repaired, so what is written always parses, and
 * characters a terminal acts on are escaped, in JSON and for the terminal. */
START_TEST (test_write_strings)
{
  static const char *const in[] = {
    "caf\xe9.kanvas",                    /* Latin-1 é */
    "a\"b\\c\nd\re\tf\x01g\x7f",         /* JSON escapes and controls */
    "\xc2\x9b" "31m \xe2\x80\xae" "evil", /* C1 CSI and RIGHT-TO-LEFT OVERRIDE */
    "\xf0\x9f\x98\x80 ok \xe2\x86\x92",  /* valid non-ASCII stays */
    "\xe2\x82",                          /* a cut sequence */
  };
  static const char *const want[] = {
    "caf\xef\xbf\xbd.kanvas",
    "a\"b\\c\nd\re\tf\x01g\x7f",
    "\xc2\x9b" "31m \xe2\x80\xae" "evil",
    "\xf0\x9f\x98\x80 ok \xe2\x86\x92",
    "\xef\xbf\xbd\xef\xbf\xbd",
  };
  KanJsonWriter w;
  g_autoptr (KanJsonDoc) doc = NULL;
  g_autofree char *text = NULL;
  g_autoptr (GString) term = g_string_new (NULL);

  kan_json_writer_init (&w, 0);
  kan_json_write_begin_object (&w, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (in); i++)
    {
      g_autofree char *key = g_strdup_printf ("k\xff%u", i);
      kan_json_write_string (&w, key, in[i]);
    }
  kan_json_write_string (&w, "none", NULL);
  kan_json_write_end (&w);
  text = kan_json_writer_finish (&w, NULL);

  ck_assert (g_utf8_validate (text, -1, NULL));
  ck_assert_ptr_nonnull (strstr (text, "\\u009b31m \\u202eevil"));
  ck_assert_ptr_nonnull (strstr (text, "\\nd\\re\\tf\\u0001g\\u007f"));
  doc = parse_ok (text);
  ck_assert_uint_eq (kan_json_length (kan_json_root (doc)), G_N_ELEMENTS (in) + 1);
  for (guint i = 0; i < G_N_ELEMENTS (in); i++)
    {
      const KanJsonMember *m = kan_json_object_member (kan_json_root (doc), i);
      g_autofree char *key = g_strdup_printf ("k\xef\xbf\xbd%u", i);

      ck_assert_str_eq (m->key, key);
      ck_assert_str_eq (kan_json_get_string (&m->value), want[i]);
    }
  ck_assert_int_eq (kan_json_type (&kan_json_object_member (kan_json_root (doc),
                                                            G_N_ELEMENTS (in))->value),
                    KAN_JSON_NULL);

  kan_json_escape_append (term, "\x1b[2J\xe2\x80\xae" "caf\xe9 \"q\"\n", KAN_ESCAPE_TERMINAL);
  ck_assert_str_eq (term->str, "\\x1b[2J\\u202ecaf\xef\xbf\xbd \"q\"\\x0a");
}
END_TEST

static Suite *
json_suite (void)
{
  Suite *s = suite_create ("json");
  TCase *tc;

  tc = tcase_create ("values");
  tcase_add_test (tc, test_values);
  tcase_add_test (tc, test_packed);
  tcase_add_test (tc, test_doubles_exact);
  tcase_add_test (tc, test_random_documents);
  suite_add_tcase (s, tc);

  tc = tcase_create ("strict");
  tcase_add_test (tc, test_reject_syntax);
  tcase_add_test (tc, test_reject_numbers);
  tcase_add_test (tc, test_reject_strings);
  tcase_add_test (tc, test_reject_duplicates);
  suite_add_tcase (s, tc);

  tc = tcase_create ("limits");
  tcase_add_test (tc, test_depth);
  tcase_add_test (tc, test_memory);
  suite_add_tcase (s, tc);

  tc = tcase_create ("writer");
  tcase_add_test (tc, test_write_layout);
  tcase_add_test (tc, test_write_numbers);
  tcase_add_test (tc, test_write_strings);
  suite_add_tcase (s, tc);
  return s;
}

int
main (int    argc,
      char **argv)
{
  return kt_run (json_suite (), argc, argv);
}
