/* test-gui-helpers.h — the start shared by the in-process GUI suites (header only: the
 * kan-test-helpers library is built without GTK). */
#pragma once

#include <stdio.h>
#include <gsl/gsl_errno.h>
#include <gtk/gtk.h>

/* What a GUI suite's main() returns without a display: Meson reports it as SKIP. */
#define KT_GUI_SKIP 77

/* Turns GSL's abort-on-error off, takes ARGV[1] (if any) as *SHOT_DIR, the folder for
 * screenshots, and opens the display. FALSE, after saying so on stdout, when there is none:
 * main() then returns KT_GUI_SKIP. */
static inline gboolean
kt_gui_init (int          argc,
             char       **argv,
             const char **shot_dir)
{
  gsl_set_error_handler_off ();
  if (argc > 1)
    *shot_dir = argv[1];
  if (!gtk_init_check ())
    {
      printf ("SKIP: no display (DISPLAY/WAYLAND_DISPLAY unset or unusable); the GUI tests need "
              "one — run them under xvfb-run, as tools/run-tests.sh does\n");
      return FALSE;
    }
  return TRUE;
}
