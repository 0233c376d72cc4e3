/* test-units.c — unit expressions, the units of a data set (spec and CSV header), π groups,
 * and unit checks of formulas.
 */
#include <check.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_rng.h>

#include "kan-data.h"
#include "kan-error.h"
#include "kan-expr.h"
#include "kan-units.h"
#include "test-helpers.h"

/* Checks that ERROR is KAN_ERROR/CODE and its message contains every NULL-terminated fragment. */
static void
expect_error (const GError *error,
              int           code,
              ...)
{
  va_list args;
  const char *frag;

  ck_assert_msg (error != NULL, "no error");
  ck_assert_msg (g_error_matches (error, KAN_ERROR, code), "error '%s' has code %d, want %d",
                 error->message, error->code, code);
  va_start (args, code);
  while ((frag = va_arg (args, const char *)) != NULL)
    ck_assert_msg (strstr (error->message, frag) != NULL, "message '%s' lacks '%s'",
                   error->message, frag);
  va_end (args);
}

static KanDim
dim (double m, double kg, double s, double a)
{
  KanDim d = { { m, kg, s, a, 0, 0, 0 } };

  return d;
}

static KanDim
parsed (const char *text)
{
  g_autoptr (GError) error = NULL;
  KanDim d;

  ck_assert_msg (kan_units_parse (text, &d, &error), "'%s': %s", text,
                 error ? error->message : "");
  return d;
}

static void
assert_dim (const KanDim *got,
            const KanDim *want,
            const char   *what)
{
  g_autofree char *g = kan_units_to_string (got);
  g_autofree char *w = kan_units_to_string (want);

  ck_assert_msg (kan_units_equal (got, want), "%s: got %s, want %s", what, g, w);
}

/* ------------------------------------------------------------------------------------------ */
/* Parsing and printing                                                                        */

START_TEST (test_parse_good)
{
  static const struct { const char *text; double m, kg, s, a; } cases[] = {
    { "kg*m^2/s^2",   2,    1, -2,  0 },
    { "kg m^2 s^-2",  2,    1, -2,  0 },
    { "J",            2,    1, -2,  0 },
    { "eV",           2,    1, -2,  0 },
    { "m/s",          1,    0, -1,  0 },
    { "m.s^-1",       1,    0, -1,  0 },
    { "m·s**-1",      1,    0, -1,  0 },
    { " m / s ",      1,    0, -1,  0 },
    { "(kg*m)/(s^2)", 1,    1, -2,  0 },
    { "N",            1,    1, -2,  0 },
    { "m^(1/2)",      0.5,  0,  0,  0 },
    { "m^0.5",        0.5,  0,  0,  0 },
    { "m^-0.5",      -0.5,  0,  0,  0 },
    { "m^(-3/2)",    -1.5,  0,  0,  0 },
    { "m ^ (3 / 2)",  1.5,  0,  0,  0 },
    { "Pa",          -1,    1, -2,  0 },
    { "kg/(m*s^2)",  -1,    1, -2,  0 },
    { "kg/m/s^2",    -1,    1, -2,  0 },
    { "1/s",          0,    0, -1,  0 },
    { "Hz",           0,    0, -1,  0 },
    { "C^2/(N m^2)", -3,   -1,  4,  2 },
    { "F/m",         -3,   -1,  4,  2 },
    { "V/A",          2,    1, -3, -2 },
    { "ohm",          2,    1, -3, -2 },
    { "\xce\xa9",     2,    1, -3, -2 },
    { "",             0,    0,  0,  0 },
    { "1",            0,    0,  0,  0 },
    { "-",            0,    0,  0,  0 },
    { "rad",          0,    0,  0,  0 },
    { "m/m",          0,    0,  0,  0 },
    { "((m))^2",      2,    0,  0,  0 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      KanDim want = dim (cases[i].m, cases[i].kg, cases[i].s, cases[i].a);
      KanDim got = parsed (cases[i].text);

      assert_dim (&got, &want, cases[i].text);
    }
  /* Exponents come out exact, not merely close. */
  {
    KanDim d = parsed ("(m^(1/3))^3*s^(1/2)*s^(1/2)");

    ck_assert (d.e[KAN_UNITS_M] == 1.0);
    ck_assert (d.e[KAN_UNITS_S] == 1.0);
  }
}
END_TEST

START_TEST (test_parse_bad)
{
  static const struct { const char *text; long pos; const char *frag; } cases[] = {
    { "m/s^",        5, "expected a power after '^'" },
    { "m/",          3, "a unit after '/'" },
    { "m*",          3, "a unit after '*'" },
    { "km",          1, "prefixes are not used" },
    { "ms",          1, "for a product write 'm*s'" },
    { "k\xce\xa9/x", 1, "write '\xce\xa9'" },
    { "\xce\xa9/x",  3, "unknown unit 'x'" },
    { "m2",          2, "write m^2" },
    { "s-2",         2, "write s^-2" },
    { "W/m K",       5, "a product after '/' needs parentheses" },
    { "(m/s",        5, "'(' at position 1 is never closed" },
    { "m)",          2, "')' without a matching '('" },
    { "m^1/2",       4, "needs parentheses" },
    { "2 m",         1, "the only number allowed is 1" },
    { "foo",         1, "unknown unit 'foo' (units: m kg s" },
    { "m^(1/13)",    3, "not a fraction p/q with q ≤ 12" },
    { "m^65",        3, "not a fraction p/q" },
    { "(m^50)^(3/2)", 7, "the exponent of m would be 75" },
    { "(m^(1/4))^(1/4)", 10, "the exponent of m would be 1/16" },
    { "m, s",        2, "unexpected character ','" },
    { "m^1234567",   3, "more than 6 digits" },
    { "m^(1/0)",     6, "division by zero" },
    { "()",          2, "empty parentheses" },
    { "m^2^3",       4, "unexpected character '^'" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      KanDim d;

      ck_assert_msg (!kan_units_parse (cases[i].text, &d, &error), "'%s' was accepted",
                     cases[i].text);
      expect_error (error, KAN_ERROR_PARSE, cases[i].frag, NULL);
      ck_assert_msg (kan_expr_error_position (error) == cases[i].pos,
                     "'%s': position %ld in '%s', want %ld", cases[i].text,
                     kan_expr_error_position (error), error->message, cases[i].pos);
    }
  /* The whole message, once. */
  {
    g_autoptr (GError) error = NULL;
    KanDim d;

    ck_assert (!kan_units_parse ("m/s^", &d, &error));
    ck_assert_str_eq (error->message, "unit 'm/s^' at position 5: expected a power after '^'");
  }
  /* A long unknown name is quoted by its start only. */
  {
    g_autoptr (GError) error = NULL;
    g_autofree char *long_name = g_strnfill (5000, 'x');
    KanDim d;

    ck_assert (!kan_units_parse (long_name, &d, &error));
    ck_assert_msg (strlen (error->message) < 300, "%s", error->message);
    ck_assert (strstr (error->message, "xxx…'") != NULL);
  }
  /* Invalid UTF-8 is located too. */
  {
    char *problem = NULL;
    long pos = 0;
    KanDim d;

    ck_assert (!kan_units_parse_detail ("m/\xff", &d, &pos, &problem));
    ck_assert_int_eq (pos, 3);
    ck_assert_str_eq (problem, "invalid UTF-8");
    g_free (problem);
  }
}
END_TEST

START_TEST (test_to_string)
{
  static const struct { const char *text, *printed; } cases[] = {
    { "J",             "kg*m^2/s^2" },
    { "m s^-1",        "m/s" },
    { "Pa",            "kg/(m*s^2)" },
    { "Hz",            "1/s" },
    { "",              "1" },
    { "m^(1/2)",       "m^(1/2)" },
    { "m^(-3/2)",      "1/m^(3/2)" },
    { "F",             "s^4*A^2/(kg*m^2)" },
    { "mol/(m^3*K)",   "mol/(m^3*K)" },
    { "cd/m^2",        "cd/m^2" },
    { "m^(1/3)/s^(2/3)", "m^(1/3)/s^(2/3)" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      KanDim d = parsed (cases[i].text), back;
      g_autofree char *s = kan_units_to_string (&d);

      ck_assert_msg (strcmp (s, cases[i].printed) == 0, "'%s' printed as '%s', want '%s'",
                     cases[i].text, s, cases[i].printed);
      back = parsed (s);
      assert_dim (&back, &d, s);
    }
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* The units of a data set                                                                     */

/* Inputs m, v, c and output y; two rows of values that do not matter here. */
static KanDataset *
mvc_dataset (void)
{
  static const char *const in[] = { "m", "v", "c", NULL };
  static const char *const out[] = { "y", NULL };
  static const double x[] = { 1.5, 0.2, 1.0, 2.5, 0.3, 1.0 }, y[] = { 1.53, 2.62 };

  return kan_dataset_new_arrays (3, 1, 2, 0, x, y, NULL, NULL, in, out);
}

static void
expect_spec_error (const char *spec,
                   int         code,
                   long        pos,
                   ...)
{
  g_autoptr (KanDataset) d = mvc_dataset ();
  g_autoptr (GError) error = NULL;
  KanDim in[3], out;
  gboolean have = FALSE;
  va_list args;
  const char *frag;

  ck_assert_msg (!kan_units_for_dataset (d, spec, in, &out, &have, &error), "'%s' accepted",
                 spec);
  ck_assert_msg (g_error_matches (error, KAN_ERROR, code), "'%s': code %d (%s)", spec,
                 error->code, error->message);
  if (pos > 0)
    ck_assert_msg (kan_expr_error_position (error) == pos, "'%s': '%s' is not at %ld", spec,
                   error->message, pos);
  va_start (args, pos);
  while ((frag = va_arg (args, const char *)) != NULL)
    ck_assert_msg (strstr (error->message, frag) != NULL, "message '%s' lacks '%s'",
                   error->message, frag);
  va_end (args);
}

START_TEST (test_spec)
{
  g_autoptr (KanDataset) d = mvc_dataset ();
  g_autoptr (GError) error = NULL;
  KanDim in[3], out, want;
  gboolean have = FALSE;

  ck_assert (kan_units_for_dataset (d, "m=kg, v = m/s ,c=m*s^-1,y=g", in, &out, &have,
                                    &error));
  ck_assert (have);
  want = dim (0, 1, 0, 0);
  assert_dim (&in[0], &want, "m");
  want = dim (1, 0, -1, 0);
  assert_dim (&in[1], &want, "v");
  assert_dim (&in[2], &want, "c");
  want = dim (0, 1, 0, 0);
  assert_dim (&out, &want, "y");

  /* No units anywhere is not an error: there is just nothing to reduce. */
  have = TRUE;
  ck_assert (kan_units_for_dataset (d, NULL, in, &out, &have, &error));
  ck_assert (!have);
  ck_assert (kan_units_is_dimensionless (&in[1]));
  have = TRUE;
  ck_assert (kan_units_for_dataset (d, "  ", in, &out, &have, &error));
  ck_assert (!have);

  expect_spec_error ("m=kg,q=m", KAN_ERROR_PARSE, 6, "no column named 'q'",
                     "(columns: m, v, c, y)", NULL);
  expect_spec_error ("m=kg,v=m/s,m=g", KAN_ERROR_PARSE, 12, "'m' is given twice",
                     "first at position 1", NULL);
  expect_spec_error ("m=kg,v", KAN_ERROR_PARSE, 6, "'v' has no '='", NULL);
  expect_spec_error ("m=kg,=m", KAN_ERROR_PARSE, 6, "without a column name", NULL);
  expect_spec_error ("m=kg,,v=m/s", KAN_ERROR_PARSE, 6, "empty entry", NULL);
  expect_spec_error ("m=kg,", KAN_ERROR_PARSE, 6, "empty entry after the last ','", NULL);
  /* The unit's own position, moved to the spec's. */
  expect_spec_error ("m=kg,v=m/s^", KAN_ERROR_PARSE, 12, "unit 'm/s^' of 'v'",
                     "expected a power after '^'", NULL);
  expect_spec_error ("m=kg, v= km/s", KAN_ERROR_PARSE, 10, "unknown unit 'km'", NULL);
  /* Units for some columns only. */
  expect_spec_error ("m=kg,v=m/s", KAN_ERROR_INVALID, 0, "given for m, v but not for c, y",
                     NULL);
}
END_TEST

START_TEST (test_header_units)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (KanDataset) d = NULL;
  g_autoptr (KanDataset) copy = NULL;
  KanDim in[4], out, want;
  gboolean have = FALSE;

  d = kt_csv_text ("m [kg],v [m/s], c[ m/s ],\"theta []\",y [kg]\n1,2,3,4,5\n2,3,4,5,6\n", "y",
                &error);
  ck_assert_msg (d != NULL, "%s", error ? error->message : "");
  ck_assert_int_eq (d->n_in, 4);
  ck_assert_str_eq (d->in_names[0], "m");
  ck_assert_str_eq (d->in_names[2], "c");
  ck_assert_str_eq (d->in_names[3], "theta");
  ck_assert_str_eq (d->out_names[0], "y");
  ck_assert_str_eq (d->in_units[1], "m/s");
  ck_assert_str_eq (d->in_units[2], "m/s");
  ck_assert_str_eq (d->in_units[3], "1");
  ck_assert_ptr_null (d->in_units[4]);
  ck_assert_str_eq (d->out_units[0], "kg");
  ck_assert (kan_dataset_validate (d, &error));

  ck_assert (kan_units_for_dataset (d, NULL, in, &out, &have, &error));
  ck_assert (have);
  want = dim (1, 0, -1, 0);
  assert_dim (&in[2], &want, "c");
  want = dim (0, 1, 0, 0);
  assert_dim (&out, &want, "y");
  /* A spec replaces the header's unit of the columns it names. */
  ck_assert (kan_units_for_dataset (d, "y=J", in, &out, &have, &error));
  want = dim (2, 1, -2, 0);
  assert_dim (&out, &want, "y=J");

  /* Copies keep the units. */
  copy = kan_dataset_copy (d);
  ck_assert_str_eq (copy->in_units[1], "m/s");
  ck_assert_str_eq (copy->out_units[0], "kg");
  ck_assert (copy->in_units != d->in_units);

  /* A target may be named with its unit as well. */
  g_clear_pointer (&d, kan_dataset_free);
  d = kt_csv_text ("x [m],t [s],\"v [m/s]\"\n1,2,3\n2,3,4\n", "v [m/s]", &error);
  ck_assert_msg (d != NULL, "%s", error ? error->message : "");
  ck_assert_str_eq (d->out_names[0], "v");
  ck_assert_str_eq (d->out_units[0], "m/s");

  /* Columns without brackets have "" among others with units; a file without any has none. */
  g_clear_pointer (&d, kan_dataset_free);
  d = kt_csv_text ("x [m],t,y\n1,2,3\n2,3,4\n", "y", &error);
  ck_assert_msg (d != NULL, "%s", error ? error->message : "");
  ck_assert_str_eq (d->in_units[0], "m");
  ck_assert_str_eq (d->in_units[1], "");
  ck_assert_str_eq (d->out_units[0], "");
  ck_assert (!kan_units_for_dataset (d, NULL, in, &out, &have, &error));
  expect_error (error, KAN_ERROR_INVALID, "given for x but not for t, y", NULL);
  g_clear_error (&error);
  ck_assert (kan_units_for_dataset (d, "t=s,y=m", in, &out, &have, &error));
  ck_assert (have);
  g_clear_pointer (&d, kan_dataset_free);
  d = kt_csv_text ("x,t,y\n1,2,3\n2,3,4\n", "y", &error);
  ck_assert_ptr_nonnull (d);
  ck_assert_ptr_null (d->in_units);
  ck_assert_ptr_null (d->out_units);
}
END_TEST

START_TEST (test_header_unit_errors)
{
  static const struct { const char *text, *targets; const char *frags[3]; } cases[] = {
    /* The unit's problem: the file, line 1, the column of the problem in the line, the column
     * and the position in the unit. */
    { "m [kg],v [m/s^],y\n1,2,3\n", "y",
      { "t.csv:1:15: column 2 'v': unit 'm/s^' at position 5: expected a power after '^'" } },
    { "m [kg],\"v [ m/s^ ]\",y\n1,2,3\n", "y",
      { "t.csv:1:17: column 2 'v': unit 'm/s^' at position 5" } },
    { "x,price [USD]\n1,2\n", NULL,
      { "t.csv:1:10: column 2 'price': unit 'USD' at position 1: unknown unit 'USD'",
        "brackets in a header hold the column's unit" } },
    { "x [km],y\n1,2\n", "y", { "t.csv:1:4: column 1 'x'", "prefixes are not used" } },
    { "v [m/s,y\n1,2\n", "y", { "t.csv:1:3: column 1: '[' is never closed" } },
    { "v [m [s]],y\n1,2\n", "y", { "t.csv:1:6: column 1: '[' inside the brackets" } },
    { "v [m/s] x,y\n1,2\n", "y", { "t.csv:1:9: column 1: text after the unit's ']'" } },
    { "x,[m/s]\n1,2\n", NULL, { "t.csv:1:3: column 2 has an empty name before its unit" } },
    { "v [m/s],v [km/h],y\n1,2,3\n", "y", { "t.csv:1:12", "'km'" } },
    { "v [m/s],v [m],y\n1,2,3\n", "y", { "duplicate column name 'v' (also column 1)" } },
    /* Control characters are still found first, brackets or not. */
    { "x\x1b[31m,b,y\n1,2,3\n", "y", { "t.csv:1:1: the name of column 1 contains a control "
                                       "character" } },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (KanDataset) d = kt_csv_text (cases[i].text, cases[i].targets, &error);

      ck_assert_msg (d == NULL, "'%s' was read", cases[i].text);
      ck_assert (g_error_matches (error, KAN_ERROR, KAN_ERROR_DATA));
      for (int k = 0; k < 3 && cases[i].frags[k] != NULL; k++)
        ck_assert_msg (strstr (error->message, cases[i].frags[k]) != NULL,
                       "'%s': message '%s' lacks '%s'", cases[i].text, error->message,
                       cases[i].frags[k]);
    }
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* π groups                                                                                    */

/* Checks the invariants of R for inputs IN (N) and output OUT: every group is dimensionless
 * (computed from its expression and from its exponents), the scale has y's units, and there
 * are n − rank groups. */
static void
check_reduction (const KanUnitsReduction *r,
                 const KanDim            *in,
                 int                      n,
                 const KanDim            *out,
                 int                      rank)
{
  KanDim d;

  ck_assert_int_eq (r->n_in, n);
  ck_assert_int_eq (r->n_groups, n - rank);
  for (int g = 0; g < r->n_groups; g++)
    {
      KanDim sum = { { 0 } };
      g_autofree char *why = NULL;

      ck_assert_msg (kan_units_expr_dim (r->groups[g], in, n, NULL, &d, &why), "%s", why);
      ck_assert_msg (kan_units_is_dimensionless (&d), "group %d is not dimensionless", g + 1);
      for (int i = 0; i < n; i++)
        {
          double a = r->group_exps[g * n + i];

          ck_assert (a == round (a));
          for (int b = 0; b < KAN_UNITS_N_BASE; b++)
            sum.e[b] += a * in[i].e[b];
        }
      ck_assert (kan_units_is_dimensionless (&sum));
      ck_assert (r->group_exps[g * n + r->heads[g]] > 0);
      ck_assert (g == 0 || r->heads[g] > r->heads[g - 1]);
      {
        g_autofree char *name = g_strdup_printf ("pi%d", g + 1);

        ck_assert_str_eq (r->names[g], name);
      }
    }
  ck_assert_ptr_null (r->names[r->n_groups]);
  if (kan_units_is_dimensionless (out))
    ck_assert_ptr_null (r->scale);
  else
    {
      g_autofree char *why = NULL;

      ck_assert_ptr_nonnull (r->scale);
      ck_assert_msg (kan_units_check_expr (r->scale, in, n, NULL, out, &why), "%s", why);
    }
}

static char *
text_of (const KanExpr      *e,
         const char *const  *names)
{
  return kan_expr_to_string (e, names, KAN_EXPR_STYLE_TEXT);
}

START_TEST (test_reduce_relativistic_mass)
{
  const char *const names[] = { "m", "v", "c", NULL };
  KanDim in[3] = { parsed ("kg"), parsed ("m/s"), parsed ("m/s") }, out = parsed ("kg");
  g_autoptr (KanUnitsReduction) r = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *scale = NULL;
  g_autofree char *group = NULL;

  ck_assert_msg (kan_units_reduce (in, 3, &out, names, "y", &r, &error), "%s",
                 error ? error->message : "");
  check_reduction (r, in, 3, &out, 2);
  scale = text_of (r->scale, names);
  group = text_of (r->groups[0], names);
  ck_assert_str_eq (scale, "m");
  ck_assert_str_eq (group, "v/c");
  ck_assert_int_eq (r->heads[0], 1);
  ck_assert (r->scale_exps[0] == 1.0 && r->scale_exps[1] == 0.0 && r->scale_exps[2] == 0.0);
}
END_TEST

START_TEST (test_reduce_sound_speed)
{
  const char *const names[] = { "gamma", "p", "rho", NULL };
  KanDim in[3] = { parsed ("1"), parsed ("Pa"), parsed ("kg/m^3") }, out = parsed ("m/s");
  g_autoptr (KanUnitsReduction) r = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *scale = NULL;
  g_autofree char *group = NULL;

  ck_assert_msg (kan_units_reduce (in, 3, &out, names, "v", &r, &error), "%s",
                 error ? error->message : "");
  check_reduction (r, in, 3, &out, 2);
  scale = text_of (r->scale, names);
  group = text_of (r->groups[0], names);
  ck_assert_str_eq (scale, "sqrt(p/rho)");
  ck_assert_str_eq (group, "gamma");
  /* Exactly one half, not something close to it. */
  ck_assert (r->scale_exps[0] == 0.0 && r->scale_exps[1] == 0.5 && r->scale_exps[2] == -0.5);
}
END_TEST

START_TEST (test_reduce_coulomb)
{
  const char *const names[] = { "q1", "q2", "epsilon", "r", NULL };
  KanDim in[4] = { parsed ("C"), parsed ("C"), parsed ("C^2/(N m^2)"), parsed ("m") };
  KanDim out = parsed ("N");
  g_autoptr (KanUnitsReduction) r = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *scale = NULL;
  g_autofree char *group = NULL;

  ck_assert_msg (kan_units_reduce (in, 4, &out, names, "F", &r, &error), "%s",
                 error ? error->message : "");
  check_reduction (r, in, 4, &out, 3);
  scale = text_of (r->scale, names);
  group = text_of (r->groups[0], names);
  /* The charges' ratio, and a scale of one charge squared over epsilon·r². */
  ck_assert_msg (strcmp (group, "q1/q2") == 0 || strcmp (group, "q2/q1") == 0, "%s", group);
  ck_assert_msg (strcmp (scale, "q2^2/(epsilon*r^2)") == 0
                 || strcmp (scale, "q1^2/(epsilon*r^2)") == 0, "%s", scale);
}
END_TEST

START_TEST (test_reduce_more)
{
  g_autoptr (GError) error = NULL;

  /* y's units out of reach: the message names y's units, the inputs', and what is missing. */
  {
    const char *const names[] = { "m", "v", NULL };
    KanDim in[2] = { parsed ("kg"), parsed ("m/s") }, out = parsed ("K*m");
    KanUnitsReduction *r = NULL;

    ck_assert (!kan_units_reduce (in, 2, &out, names, "T", &r, &error));
    ck_assert_ptr_null (r);
    expect_error (error, KAN_ERROR_INVALID, "the units of T (m*K) cannot be made from those of "
                  "the inputs (m [kg], v [m/s])", "no input has K", NULL);
    g_clear_error (&error);
    /* In span of nothing: only dimensionless inputs. */
    in[0] = in[1] = parsed ("1");
    ck_assert (!kan_units_reduce (in, 2, &out, NULL, NULL, &r, &error));
    expect_error (error, KAN_ERROR_INVALID, "the units of y", "x1 [1], x2 [1]", NULL);
    g_clear_error (&error);
    /* Every base present, yet not in the span: kg·m from kg/m and kg·m² … is fine, but m from
     * kg/m and kg·m² … is not. */
    in[0] = parsed ("kg/m^2");
    in[1] = parsed ("kg/m^2");
    out = parsed ("m");
    ck_assert (!kan_units_reduce (in, 2, &out, NULL, NULL, &r, &error));
    expect_error (error, KAN_ERROR_INVALID, "cannot be made", NULL);
    ck_assert_ptr_null (strstr (error->message, "no input has"));
    g_clear_error (&error);
  }

  /* All dimensionless: no scale, each input its own group. */
  {
    KanDim in[3] = { parsed ("1"), parsed ("rad"), parsed ("") }, out = parsed ("1");
    g_autoptr (KanUnitsReduction) r = NULL;

    ck_assert (kan_units_reduce (in, 3, &out, NULL, NULL, &r, &error));
    check_reduction (r, in, 3, &out, 0);
    ck_assert_ptr_null (r->scale);
    for (int g = 0; g < 3; g++)
      {
        ck_assert_int_eq (r->groups[g]->kind, KAN_EXPR_VAR);
        ck_assert_int_eq (r->groups[g]->var, g);
      }
  }

  /* The pendulum: the mass has nothing to cancel against, so no group at all. */
  {
    const char *const names[] = { "L", "g", "m", NULL };
    KanDim in[3] = { parsed ("m"), parsed ("m/s^2"), parsed ("kg") }, out = parsed ("s");
    g_autoptr (KanUnitsReduction) r = NULL;
    g_autofree char *scale = NULL;

    ck_assert (kan_units_reduce (in, 3, &out, names, NULL, &r, &error));
    check_reduction (r, in, 3, &out, 3);
    scale = text_of (r->scale, names);
    ck_assert_str_eq (scale, "sqrt(L/g)");
  }

  /* A group that needs integer exponents: T·sqrt(g/L) becomes T²·g/L. */
  {
    const char *const names[] = { "T", "g", "L", NULL };
    KanDim in[3] = { parsed ("s"), parsed ("m/s^2"), parsed ("m") }, out = parsed ("m");
    g_autoptr (KanUnitsReduction) r = NULL;
    g_autofree char *group = NULL;

    ck_assert (kan_units_reduce (in, 3, &out, names, NULL, &r, &error));
    check_reduction (r, in, 3, &out, 2);
    group = text_of (r->groups[0], names);
    ck_assert_str_eq (group, "T^2*g/L");
  }

  /* Gravity between two bodies (Feynman I.9.18): nine inputs, rank 3, six groups. */
  {
    const char *const names[] = { "m1", "m2", "G", "x1", "x2", "y1", "y2", "z1", "z2", NULL };
    KanDim in[9], out = parsed ("N");
    g_autoptr (KanUnitsReduction) r = NULL;

    in[0] = in[1] = parsed ("kg");
    in[2] = parsed ("m^3/(kg*s^2)");
    for (int i = 3; i < 9; i++)
      in[i] = parsed ("m");
    ck_assert (kan_units_reduce (in, 9, &out, names, NULL, &r, &error));
    check_reduction (r, in, 9, &out, 3);
    for (int g = 0; g < r->n_groups; g++)
      {
        int used = 0;

        for (int i = 0; i < 9; i++)
          used += r->group_exps[g * 9 + i] != 0.0;
        ck_assert_msg (used == 2, "group %d uses %d inputs", g + 1, used);
      }
  }

  /* Exponents that are not simple fractions are refused. */
  {
    KanDim in[1] = { dim (M_PI, 0, 0, 0) }, out = dim (1, 0, 0, 0);
    KanUnitsReduction *r = NULL;

    ck_assert (!kan_units_reduce (in, 1, &out, NULL, NULL, &r, &error));
    expect_error (error, KAN_ERROR_INVALID, "the exponent of m in the units of x1", NULL);
    g_clear_error (&error);
  }
}
END_TEST

/* The rank of the dimension matrix of D (N ≤ 8 units), by an SVD: an independent check of the
 * exact elimination. */
static int
rank_of (const KanDim *d,
         int           n)
{
  gsl_matrix *a = gsl_matrix_calloc (8, KAN_UNITS_N_BASE);
  gsl_matrix *v = gsl_matrix_alloc (KAN_UNITS_N_BASE, KAN_UNITS_N_BASE);
  gsl_vector *sv = gsl_vector_alloc (KAN_UNITS_N_BASE);
  gsl_vector *work = gsl_vector_alloc (KAN_UNITS_N_BASE);
  int rank = 0;

  for (int i = 0; i < n; i++)
    for (int b = 0; b < KAN_UNITS_N_BASE; b++)
      gsl_matrix_set (a, i, b, d[i].e[b]);
  gsl_linalg_SV_decomp (a, v, sv, work);
  for (int k = 0; k < KAN_UNITS_N_BASE; k++)
    rank += gsl_vector_get (sv, k) > 1e-9;
  gsl_matrix_free (a);
  gsl_matrix_free (v);
  gsl_vector_free (sv);
  gsl_vector_free (work);
  return rank;
}

/* Random inputs over a few units: the invariants hold whatever the choice, and a reduction
 * fails exactly when y's units are out of the inputs' span. */
START_TEST (test_reduce_random)
{
  static const char *const pool[] = { "m", "s", "kg", "m/s", "m/s^2", "N", "J", "1", "kg/m^3",
                                      "Pa", "m^2", "1/s", "W", "m^(1/2)", "K", "J/K" };
  gsl_rng *rng = gsl_rng_alloc (gsl_rng_mt19937);
  int n_failed = 0;

  gsl_rng_set (rng, 2385);
  for (int trial = 0; trial < 300; trial++)
    {
      int n = 1 + (int) gsl_rng_uniform_int (rng, 7), rank, rank_y;
      KanDim in[8], out;
      g_autoptr (KanUnitsReduction) r = NULL;
      g_autoptr (GError) error = NULL;
      gboolean ok;

      for (int i = 0; i < n; i++)
        in[i] = parsed (pool[gsl_rng_uniform_int (rng, G_N_ELEMENTS (pool))]);
      /* y: a product of powers of two inputs' units, or a unit from the pool. */
      if (gsl_rng_uniform (rng) < 0.7)
        {
          int i = (int) gsl_rng_uniform_int (rng, n), j = (int) gsl_rng_uniform_int (rng, n);

          for (int b = 0; b < KAN_UNITS_N_BASE; b++)
            out.e[b] = in[i].e[b] - 1.5 * in[j].e[b];
        }
      else
        out = parsed (pool[gsl_rng_uniform_int (rng, G_N_ELEMENTS (pool))]);
      rank = rank_of (in, n);
      in[n] = out;
      rank_y = rank_of (in, n + 1);

      ok = kan_units_reduce (in, n, &out, NULL, NULL, &r, &error);
      ck_assert_msg (ok == (rank_y == rank), "trial %d: %s", trial,
                     error ? error->message : "accepted");
      if (ok)
        check_reduction (r, in, n, &out, rank);
      else
        {
          expect_error (error, KAN_ERROR_INVALID, "cannot be made", NULL);
          n_failed++;
        }
    }
  /* Both outcomes were tried. */
  ck_assert (n_failed > 10 && n_failed < 200);
  gsl_rng_free (rng);
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* Units of formulas                                                                           */

static gboolean
check_formula (const char        *formula,
               const char *const *names,
               const KanDim      *in,
               const char        *out_unit,
               char             **why)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (KanExpr) e = kan_expr_parse (formula, names, NULL, &error);
  KanDim out = parsed (out_unit);

  ck_assert_msg (e != NULL, "%s: %s", formula, error ? error->message : "");
  return kan_units_check_expr (e, in, (int) g_strv_length ((char **) names), names, &out, why);
}

START_TEST (test_check_expr)
{
  const char *const names[] = { "m", "v", "c", "p", "rho", "gamma", "x", NULL };
  KanDim in[7] = { parsed ("kg"), parsed ("m/s"), parsed ("m/s"), parsed ("Pa"),
                   parsed ("kg/m^3"), parsed ("1"), parsed ("1") };
  static const struct { const char *formula, *unit; const char *why; } cases[] = {
    { "m*c^2",                        "J",   NULL },
    { "m/sqrt(1 - (v/c)^2)",          "kg",  NULL },
    { "m*c^2/sqrt(1 - v^2/c^2)",      "J",   NULL },
    { "sqrt(gamma*p/rho)",            "m/s", NULL },
    { "(p/rho)^0.5*exp(-x)",          "m/s", NULL },
    { "abs(v - c)*sign(v)",           "m/s", NULL },
    { "2^x*m",                        "kg",  NULL },
    { "-m*cos(pi*x)",                 "kg",  NULL },
    { "exp(v)",                       "1",   "'exp(v)': the argument of exp must be "
                                             "dimensionless, but it has units m/s" },
    { "v + m",                        "kg",  "'v + m': adds quantities with different units "
                                             "(m/s and kg)" },
    { "m - 1",                        "kg",  "subtracts" },
    { "m*c^2",                        "kg",  "the formula has units kg*m^2/s^2, not kg" },
    { "v^x",                          "m/s", "is raised to a power that is not a constant" },
    { "x^v",                          "1",   "the power must be dimensionless" },
    { "log(p)",                       "1",   "argument of log" },
    { "m*tanh(v)",                    "kg",  "'tanh(v)'" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *why = NULL;
      gboolean ok = check_formula (cases[i].formula, names, in, cases[i].unit, &why);

      if (cases[i].why == NULL)
        ck_assert_msg (ok, "'%s' [%s] refused: %s", cases[i].formula, cases[i].unit, why);
      else
        {
          ck_assert_msg (!ok, "'%s' [%s] accepted", cases[i].formula, cases[i].unit);
          ck_assert_msg (why != NULL && strstr (why, cases[i].why) != NULL,
                         "'%s': '%s' lacks '%s'", cases[i].formula, why, cases[i].why);
        }
    }
  /* WHY may be NULL. */
  ck_assert (!check_formula ("exp(v)", names, in, "1", NULL));
}
END_TEST

static Suite *
units_suite (void)
{
  Suite *s = suite_create ("units");
  TCase *tp = tcase_create ("parse");
  TCase *td = tcase_create ("data sets");
  TCase *tr = tcase_create ("reduce");
  TCase *tc = tcase_create ("check");

  tcase_add_test (tp, test_parse_good);
  tcase_add_test (tp, test_parse_bad);
  tcase_add_test (tp, test_to_string);
  suite_add_tcase (s, tp);
  tcase_add_test (td, test_spec);
  tcase_add_test (td, test_header_units);
  tcase_add_test (td, test_header_unit_errors);
  suite_add_tcase (s, td);
  tcase_add_test (tr, test_reduce_relativistic_mass);
  tcase_add_test (tr, test_reduce_sound_speed);
  tcase_add_test (tr, test_reduce_coulomb);
  tcase_add_test (tr, test_reduce_more);
  tcase_add_test (tr, test_reduce_random);
  suite_add_tcase (s, tr);
  tcase_add_test (tc, test_check_expr);
  suite_add_tcase (s, tc);
  return s;
}

int
main (int argc, char **argv)
{
  gsl_set_error_handler_off ();
  return kt_run (units_suite (), argc, argv);
}
