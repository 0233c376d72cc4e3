/* bench-symfit.c — time kan_symfit_suggest over the whole library on one edge of 1000 samples.
 *
 * Prints the median of 5 runs for a few edges (smooth, singular, oscillating). Not a test:
 * timings depend on the machine and its load.
 */
#include "kan-symfit.h"
#include "kan-symbolic.h"

#include <gsl/gsl_errno.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define N_SAMPLES 1000
#define N_RUNS    5

static double
now_ms (void)
{
  struct timespec t;
  clock_gettime (CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

int
main (void)
{
  static const struct
  {
    const char *label;
    double (*f) (double);
  } edges[] = {
    { "0.7·sin(2.3x+0.4)+0.3x²", NULL },
    { "tanh(2.1x−0.3)", tanh },
    { "1/(1.7x+2.2)", NULL },
  };
  gsl_rng *rng = gsl_rng_alloc (gsl_rng_mt19937);
  double x[N_SAMPLES], y[N_SAMPLES], worst = 0;

  gsl_set_error_handler_off ();
  for (size_t e = 0; e < G_N_ELEMENTS (edges); e++)
    {
      double t[N_RUNS];
      for (int i = 0; i < N_SAMPLES; i++)
        {
          x[i] = -1 + 2 * gsl_rng_uniform (rng);
          y[i] = e == 0 ? 0.7 * sin (2.3 * x[i] + 0.4) + 0.3 * x[i] * x[i]
                 : e == 1 ? tanh (2.1 * x[i] - 0.3) : 1 / (1.7 * x[i] + 2.2);
        }
      for (int r = 0; r < N_RUNS; r++)
        {
          int n_out;
          GError *error = NULL;
          double t0 = now_ms ();
          KanSymFit *fits = kan_symfit_suggest (x, y, N_SAMPLES, NULL, 0, NULL, &n_out, &error);
          t[r] = now_ms () - t0;
          if (fits == NULL)
            {
              fprintf (stderr, "bench-symfit: %s\n", error->message);
              return 1;
            }
          if (r == 0)
            printf ("%-26s best %-9s r2 = %.12f\n", edges[e].label,
                    kan_sym_info (fits[0].sym_id)->name, fits[0].r2);
          g_free (fits);
        }
      qsort (t, N_RUNS, sizeof *t, cmp_double);
      printf ("%-26s %d functions × %d samples: median %.1f ms (min %.1f, max %.1f)\n",
              edges[e].label, kan_sym_count (), N_SAMPLES, t[N_RUNS / 2], t[0], t[N_RUNS - 1]);
      worst = MAX (worst, t[N_RUNS / 2]);
    }
  printf ("worst median: %.1f ms\n", worst);
  gsl_rng_free (rng);
  return 0;
}
