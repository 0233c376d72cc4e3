/* kan-text-private.h — small text helpers shared by the core's readers (not installed). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Whether the LEN bytes at P are all ASCII white space (also when LEN is 0): a blank line of a
 * CSV file, for the in-memory reader (kan-data.c) and the streaming one (kan-stream.c). */
static inline gboolean
kan_text_is_blank (const char *p,
                   gsize       len)
{
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isspace (p[i]))
      return FALSE;
  return TRUE;
}

G_END_DECLS
