/* fuzz-csv.c — libFuzzer target for the CSV reader (kan_dataset_from_csv_data).
 *
 * The first byte picks the target list (the last column, a named column, two columns) so that
 * the target lookup is exercised too; the rest is the file. Every accepted data set must be
 * valid: finite values and consistent shapes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

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
  static const char *const targets[] = { NULL, "y", "y,x2", "x1", " y ", "" };
  g_autoptr (GError) error = NULL;
  g_autoptr (KanDataset) d = NULL;
  const char *target;

  if (size < 1)
    return 0;
  target = targets[data[0] % G_N_ELEMENTS (targets)];
  d = kan_dataset_from_csv_data ((const char *) data + 1, size - 1, "fuzz.csv", target, 0.25,
                                 data[0], &error);
  if (d == NULL)
    {
      /* Every refusal is an error in our domain, with a message. */
      if (error == NULL || error->domain != KAN_ERROR || error->message[0] == '\0')
        abort ();
      return 0;
    }
  if (error != NULL || !kan_dataset_validate (d, NULL))
    abort ();
  return 0;
}
