/* kanvas.c — the Kanvas workbench (GTK 4). */
#include <malloc.h>
#include <gsl/gsl_errno.h>
#include "kanvas-application.h"

/* OpenBLAS's own threads would compete with the training worker; one is enough for the small
 * matrices of a KAN. */
extern void openblas_set_num_threads (int);

int
main (int   argc,
      char *argv[])
{
  g_autoptr (KanvasApplication) app = NULL;

  gsl_set_error_handler_off ();
  openblas_set_num_threads (1);
  /* Snapshots allocate and free a few MB every 50 ms on the worker thread; with glibc's default
   * thresholds each of those blocks is a fresh mmap and its page faults cost ten times the
   * arithmetic. Keep such blocks in the heap instead. */
  mallopt (M_MMAP_THRESHOLD, 64 << 20);
  mallopt (M_TRIM_THRESHOLD, 128 << 20);
  g_set_application_name ("Kanvas");

  app = kanvas_application_new (G_APPLICATION_DEFAULT_FLAGS);
  return g_application_run (G_APPLICATION (app), argc, argv);
}
