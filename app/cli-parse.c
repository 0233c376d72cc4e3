/* cli-parse.c — strict parsing of option values for kanvas-cli, and each command's option
 * context.
 *
 * Every option value is taken as a raw string (G_OPTION_ARG_FILENAME, so that nothing is
 * converted from the locale's charset) and parsed here strictly, which tells "not given" from
 * "given" and names the option in every message.
 */
#include "cli.h"

#include "kan-file.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

G_DEFINE_QUARK (kanvas-cli-error-quark, cli_error)

/* ------------------------------------------------------------------------------------------ */
/* Numbers                                                                                     */

/* An option value as quoted in messages: at most KAN_EXPR_EXCERPT_CHARS characters. */
static char *
quote_value (const char *text)
{
  return kan_expr_excerpt (text, 0);
}

gboolean
cli_parse_int (const char *name,
               const char *text,
               gint64      lo,
               gint64      hi,
               gint64     *out,
               GError    **error)
{
  g_autofree char *shown = quote_value (text);
  const char *digits = text + (text[0] == '-' || text[0] == '+');
  char *end = NULL;
  gint64 v;

  if (digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X'))
    {
      g_set_error (error, CLI_ERROR, CLI_ERROR_USAGE,
                   "%s: '%s' is a hexadecimal number; numbers are read in decimal only", name,
                   shown);
      return FALSE;
    }
  errno = 0;
  v = g_ascii_strtoll (text, &end, 10);
  if (!g_ascii_isdigit (digits[0]) || *end != '\0')
    {
      g_set_error (error, CLI_ERROR, CLI_ERROR_USAGE, "%s: '%s' is not an integer", name, shown);
      return FALSE;
    }
  /* Beyond 64 bits strtoll saturates; the value is then too large (or small) all the same. */
  if ((errno == ERANGE && text[0] != '-') || v > hi)
    {
      g_set_error (error, CLI_ERROR, CLI_ERROR_USAGE,
                   "%s: %s is too large (at most %" G_GINT64_FORMAT ")", name, shown, hi);
      return FALSE;
    }
  if (errno == ERANGE || v < lo)
    {
      g_set_error (error, CLI_ERROR, CLI_ERROR_USAGE,
                   "%s: %s is too small (at least %" G_GINT64_FORMAT ")", name, shown, lo);
      return FALSE;
    }
  *out = v;
  return TRUE;
}

gboolean
cli_parse_double (const char *name,
                  const char *text,
                  double      lo,
                  double      hi,
                  double     *out,
                  GError    **error)
{
  g_autofree char *shown = quote_value (text);
  const char *problem = NULL;
  double v;

  if (!kan_parse_number (text, &v, &problem))
    {
      g_set_error (error, CLI_ERROR, CLI_ERROR_USAGE, "%s: '%s' %s", name, shown, problem);
      return FALSE;
    }
  if (v < lo || v > hi)
    {
      if (isinf (hi))
        g_set_error (error, CLI_ERROR, CLI_ERROR_USAGE, "%s: %s is out of range (must be ≥ %g)",
                     name, shown, lo);
      else if (isinf (lo))
        g_set_error (error, CLI_ERROR, CLI_ERROR_USAGE, "%s: %s is out of range (must be ≤ %g)",
                     name, shown, hi);
      else
        g_set_error (error, CLI_ERROR, CLI_ERROR_USAGE, "%s: %s is out of range (%g … %g)",
                     name, shown, lo, hi);
      return FALSE;
    }
  *out = v;
  return TRUE;
}

gboolean
cli_parse_doubles (const char  *name,
                   const char  *text,
                   int          expect,
                   double     **out,
                   int         *n,
                   GError     **error)
{
  g_auto (GStrv) parts = g_strsplit (text, ",", -1);
  int count = (int) g_strv_length (parts);
  g_autofree double *v = NULL;

  if (expect > 0 && count != expect)
    {
      g_autofree char *shown = quote_value (text);

      g_set_error (error, CLI_ERROR, CLI_ERROR_USAGE, "%s: '%s' has %d value%s, expected %d",
                   name, shown, count, count == 1 ? "" : "s", expect);
      return FALSE;
    }
  v = g_new (double, MAX (count, 1));
  for (int q = 0; q < count; q++)
    if (!cli_parse_double (name, g_strstrip (parts[q]), -HUGE_VAL, HUGE_VAL, &v[q], error))
      return FALSE;
  *out = g_steal_pointer (&v);
  *n = count;
  return TRUE;
}

gboolean
cli_check_width_numbers (const char  *name,
                         const char  *text,
                         GError     **error)
{
  for (const char *p = text; *p != '\0';)
    {
      gsize run = strspn (p, "0123456789");

      if (run > 0)
        {
          g_autofree char *number = g_strndup (p, run);
          gint64 v;

          if (!cli_parse_int (name, number, 0, CLI_MAX_WIDTH, &v, error))
            return FALSE;
          p += run;
        }
      else
        p++;
    }
  return TRUE;
}

/* ------------------------------------------------------------------------------------------ */
/* Option contexts                                                                             */

/* An option that takes a value: its name and where GOption stores it. */
typedef struct
{
  const char  *long_name;
  char       **slot;
} CliValue;

void
cli_command_init (CliCommand         *c,
                  const char         *command,
                  const char         *summary,
                  const GOptionEntry *entries)
{
  g_autofree char *param = g_strdup_printf ("— %s", summary);
  GOptionEntry help[] = {
    { "help", 'h', 0, G_OPTION_ARG_NONE, &c->help, "Show this help", NULL },
    { NULL }
  };

  c->command = command;
  c->help = FALSE;
  c->values = g_array_new (FALSE, FALSE, sizeof (CliValue));
  c->ctx = g_option_context_new (param);
  /* Our own --help prints every group at once; GLib's would hide them behind --help-GROUP. */
  g_option_context_set_help_enabled (c->ctx, FALSE);
  g_option_context_set_ignore_unknown_options (c->ctx, FALSE);
  /* GLib prints the main group last, so the command's own options form the first group. */
  if (entries != NULL)
    cli_command_add_group (c, "command", "Options:", entries);
  g_option_context_add_main_entries (c->ctx, help, NULL);
}

void
cli_command_add_group (CliCommand         *c,
                       const char         *name,
                       const char         *title,
                       const GOptionEntry *entries)
{
  GOptionGroup *g = g_option_group_new (name, title, title, NULL, NULL);

  for (const GOptionEntry *e = entries; e->long_name != NULL; e++)
    if (e->arg == G_OPTION_ARG_FILENAME || e->arg == G_OPTION_ARG_STRING)
      {
        CliValue v = { e->long_name, e->arg_data };
        g_array_append_val (c->values, v);
      }
  g_option_group_add_entries (g, entries);
  g_option_context_add_group (c->ctx, g);
}

gboolean
cli_command_parse (CliCommand   *c,
                   int          *argc,
                   char       ***argv,
                   GError      **error)
{
  g_autoptr (GError) local = NULL;

  if (!g_option_context_parse (c->ctx, argc, argv, &local))
    {
      g_set_error (error, CLI_ERROR, CLI_ERROR_USAGE, "%s", local->message);
      return FALSE;
    }
  if (c->help)
    {
      g_autofree char *text = g_option_context_get_help (c->ctx, FALSE, NULL);
      /* The usage line names g_get_prgname (), which main sets to "kanvas-cli CMD". */
      fputs (text, stdout);
      return TRUE;
    }
  for (guint q = 0; q < c->values->len; q++)
    {
      const CliValue *v = &g_array_index (c->values, CliValue, q);

      if (*v->slot != NULL && (*v->slot)[0] == '\0' && strcmp (v->long_name, "formula") != 0)
        {
          g_set_error (error, CLI_ERROR, CLI_ERROR_USAGE, "--%s: the value is empty",
                       v->long_name);
          return FALSE;
        }
    }
  /* An output that could never be written (a device, a FIFO, a folder, a missing folder) is
   * refused now, before any long work, with the message saving would give. */
  for (guint q = 0; q < c->values->len; q++)
    {
      const CliValue *v = &g_array_index (c->values, CliValue, q);

      if (*v->slot != NULL && strcmp (v->long_name, "output") == 0
          && !kan_file_check_output (*v->slot, error))
        return FALSE;
    }
  if (*argc > 1)
    {
      g_autofree char *shown = quote_value ((*argv)[1]);

      g_set_error (error, CLI_ERROR, CLI_ERROR_USAGE, "unexpected argument '%s'", shown);
      return FALSE;
    }
  return TRUE;
}

void
cli_command_clear (CliCommand *c)
{
  g_clear_pointer (&c->ctx, g_option_context_free);
  g_clear_pointer (&c->values, g_array_unref);
}


gboolean
cli_require (const char *value,
             const char *what,
             GError    **error)
{
  if (value == NULL)
    g_set_error (error, CLI_ERROR, CLI_ERROR_USAGE, "missing required option %s", what);
  return value != NULL;
}

gboolean
cli_command_parse_or_help (CliCommand   *c,
                           int          *argc,
                           char       ***argv,
                           int          *status,
                           GError      **error)
{
  if (!cli_command_parse (c, argc, argv, error))
    return FALSE;
  if (c->help)
    {
      *status = 0;
      return FALSE;
    }
  return TRUE;
}

/* ------------------------------------------------------------------------------------------ */
/* Values of particular options                                                           */

/* "l,i,j" of an existing edge of M. */
gboolean
cli_parse_edge (const KanModel *m, const char *text, int e[3], GError **error)
{
  g_autofree double *v = NULL;
  int n;

  if (!cli_require (text, "--edge L,I,J", error)
      || !cli_parse_doubles ("--edge", text, 3, &v, &n, error))
    return FALSE;
  for (int q = 0; q < 3; q++)
    {
      if (v[q] != floor (v[q]) || fabs (v[q]) > G_MAXINT / 2)
        {
          g_set_error (error, CLI_ERROR, CLI_ERROR_USAGE,
                       "--edge: '%s' is not three integers l,i,j", text);
          return FALSE;
        }
      e[q] = (int) v[q];
    }
  if (e[0] < 0 || e[0] >= kan_model_depth (m) || e[1] < 0
      || e[1] >= kan_model_layer_in (m, e[0]) || e[2] < 0
      || e[2] >= kan_model_layer_out (m, e[0]))
    {
      g_autofree char *w = kan_shape_to_string (kan_model_shape (m));
      g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID,
                   "edge (%d,%d,%d) does not exist in this network (width %s)", e[0], e[1],
                   e[2], w);
      return FALSE;
    }
  return TRUE;
}

int *
cli_parse_lib (const char *names,
               int        *n,
               GError    **error)
{
  g_autoptr (GError) local = NULL;
  int *ids = kan_sym_parse_lib (names, n, &local);

  if (ids == NULL)
    g_set_error (error, CLI_ERROR, CLI_ERROR_USAGE, "--lib: %s", local->message);
  return ids;
}
