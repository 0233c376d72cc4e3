/* kanvas.c — the Kanvas workbench (GTK 4). */
#include <gsl/gsl_errno.h>
#include "kanvas-application.h"

int
main (int   argc,
      char *argv[])
{
  g_autoptr (KanvasApplication) app = NULL;

  gsl_set_error_handler_off ();
  /* OpenBLAS's threads and malloc's thresholds are set in the application's startup. */
  g_set_application_name ("Kanvas");

  app = kanvas_application_new (G_APPLICATION_DEFAULT_FLAGS);
  return g_application_run (G_APPLICATION (app), argc, argv);
}
