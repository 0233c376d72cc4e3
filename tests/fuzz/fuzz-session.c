/* fuzz-session.c — libFuzzer target for the session loader (kan_session_from_json).
 *
 * A session that loads must save again to JSON that loads again (the round trip is exact, so
 * the second document must equal the first).
 */
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

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (KanSession) s = NULL;
  g_autoptr (KanSession) again = NULL;
  g_autofree char *json = NULL;
  g_autofree char *json2 = NULL;
  gsize len = 0, len2 = 0;

  if (size == 0)
    return 0;
  s = kan_session_from_json ((const char *) data, (gssize) size, "fuzz.kanvas", &error);
  if (s == NULL)
    {
      if (error == NULL || error->domain != KAN_ERROR || error->message[0] == '\0')
        abort ();
      return 0;
    }
  if (error != NULL)
    abort ();

  json = kan_session_to_json (s, &len);
  again = kan_session_from_json (json, (gssize) len, "round-trip", &error);
  if (again == NULL)
    {
      fprintf (stderr, "a loaded session does not load after saving: %s\n", error->message);
      abort ();
    }
  json2 = kan_session_to_json (again, &len2);
  if (len != len2 || memcmp (json, json2, len) != 0)
    {
      fprintf (stderr, "the round trip is not exact\n");
      abort ();
    }
  return 0;
}
