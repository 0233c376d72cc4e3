/* test-helpers.c — what several test suites share (see test-helpers.h). */
#include "test-helpers.h"
#include "kan-model-private.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

gboolean
kt_close_to (double a,
             double b,
             double rel)
{
  if (isnan (a) || isnan (b))
    return isnan (a) && isnan (b);
  if (isinf (a) || isinf (b))
    return a == b;
  return fabs (a - b) <= rel * MAX (1.0, MAX (fabs (a), fabs (b)));
}

double
kt_unif (gsl_rng *r,
         double   lo,
         double   hi)
{
  return lo + (hi - lo) * gsl_rng_uniform (r);
}

double
kt_mean (const double *v,
         size_t        n,
         size_t        stride)
{
  double m = 0.0;

  for (size_t i = 0; i < n; i++)
    m += v[i * stride];
  return m / (double) n;
}

double
kt_std (const double *v,
        size_t        n,
        size_t        stride)
{
  double m = kt_mean (v, n, stride), ss = 0.0;

  for (size_t i = 0; i < n; i++)
    ss += (v[i * stride] - m) * (v[i * stride] - m);
  return sqrt (ss / (double) (n - 1));
}

void
kt_randomize_affines (KanModel *m,
                      int       l,
                      gsl_rng  *r,
                      double    scale_lo)
{
  KanLayer *L;

  g_assert (m != NULL && l >= 0 && l < m->depth);
  L = &m->layers[l];
  for (int j = 0; j < L->n_out; j++)
    {
      L->subnode_scale[j] = kt_unif (r, scale_lo, 1.3);
      L->subnode_bias[j] = kt_unif (r, -0.3, 0.3);
    }
  for (int q = 0; q < L->n_next; q++)
    {
      L->node_scale[q] = kt_unif (r, scale_lo, 1.3);
      L->node_bias[q] = kt_unif (r, -0.3, 0.3);
    }
}

KanModel *
kt_model_new (const char *width,
              const char *arity,
              int         grid,
              int         k,
              KanBaseFun  base,
              guint64     seed)
{
  g_autoptr (GError) error = NULL;
  KanShape *s = kan_shape_parse (width, arity, &error);
  KanModelConfig cfg;
  KanModel *m;

  ck_assert_msg (s != NULL, "parse %s: %s", width, error ? error->message : "?");
  kan_model_config_init (&cfg);
  cfg.shape = s;
  cfg.grid = grid;
  cfg.k = k;
  cfg.base_fun = base;
  cfg.seed = seed;
  m = kan_model_new (&cfg, &error);
  ck_assert_msg (m != NULL, "new %s: %s", width, error ? error->message : "?");
  kan_shape_free (s);
  return m;
}

KanDataset *
kt_formula_data (const char *formula,
                 double      lo,
                 double      hi,
                 size_t      n_train,
                 size_t      n_test,
                 guint64     seed)
{
  KanFormulaSpec spec;
  const double range[2] = { lo, hi };
  g_autoptr (GError) error = NULL;
  KanDataset *d;

  kan_formula_spec_init (&spec);
  spec.formula = formula;
  spec.ranges = range;
  spec.n_ranges = 1;
  spec.n_train = n_train;
  spec.n_test = n_test;
  spec.seed = seed;
  d = kan_dataset_from_formula (&spec, &error);
  ck_assert_msg (d != NULL, "%s: %s", formula, error ? error->message : "");
  return d;
}

KanDataset *
kt_demo_data (size_t n_train,
              size_t n_test)
{
  KanFormulaSpec spec;

  kan_formula_spec_init (&spec);
  return kt_formula_data ("exp(sin(pi*x1)+x2^2)", -1, 1, n_train, n_test, spec.seed);
}

KanDataset *
kt_csv_text (const char *text,
             const char *targets,
             GError    **error)
{
  return kan_dataset_from_csv_data (text, strlen (text), "t.csv", targets, 0.0, 1, error);
}

double
kt_largest_part (const KanExpr *e,
                 const double  *x)
{
  double m = fabs (kan_expr_eval (e, x));

  if (e->a != NULL)
    m = MAX (m, kt_largest_part (e->a, x));
  if (e->b != NULL)
    m = MAX (m, kt_largest_part (e->b, x));
  return m;
}

static int n_criticals;

static void
count_critical (const char     *domain,
                GLogLevelFlags  level,
                const char     *message,
                gpointer        data)
{
  if (level & G_LOG_LEVEL_CRITICAL)
    n_criticals++;
}

void
kt_count_criticals (void)
{
  g_log_set_always_fatal (G_LOG_LEVEL_ERROR);
  g_log_set_default_handler (count_critical, NULL);
  n_criticals = 0;
}

int
kt_criticals (void)
{
  return n_criticals;
}

/* ------------------------------------------------------------------------------------------ */
/* Test cases that need something outside libkan                                               */

typedef struct
{
  char *name;
  char *program;
  char *python_module;
} Need;

/* One suite per test program, so one list per process. */
static GPtrArray *needs;

static void
need_free (gpointer p)
{
  Need *n = p;

  g_free (n->name);
  g_free (n->program);
  g_free (n->python_module);
  g_free (n);
}

TCase *
kt_tcase_needing (Suite      *s,
                  const char *name,
                  const char *program,
                  const char *python_module)
{
  TCase *tc = tcase_create (name);
  Need *n = g_new0 (Need, 1);

  n->name = g_strdup (name);
  n->program = g_strdup (program);
  n->python_module = g_strdup (python_module);
  if (needs == NULL)
    needs = g_ptr_array_new_with_free_func (need_free);
  g_ptr_array_add (needs, n);
  tcase_set_tags (tc, name);
  suite_add_tcase (s, tc);
  return tc;
}

/* NULL when N's needs are met, else what is missing (free with g_free). */
static char *
need_missing (const Need *n)
{
  if (n->program != NULL)
    {
      g_autofree char *path = g_find_program_in_path (n->program);

      if (path == NULL)
        return g_strdup_printf ("%s is not in PATH", n->program);
    }
  if (n->python_module != NULL)
    {
      g_autofree char *python = g_find_program_in_path ("python3");
      g_autofree char *code = g_strdup_printf ("import %s", n->python_module);
      char *argv[] = { "python3", "-c", code, NULL };
      int status = -1;

      if (python == NULL
          || !g_spawn_sync (NULL, argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL
                            | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, NULL, NULL, &status, NULL)
          || !g_spawn_check_wait_status (status, NULL))
        return g_strdup_printf ("python3 with %s is not installed", n->python_module);
    }
  return NULL;
}

static const Need *
need_find (const char *name)
{
  for (guint q = 0; needs != NULL && q < needs->len; q++)
    {
      const Need *n = needs->pdata[q];

      if (g_str_equal (n->name, name))
        return n;
    }
  return NULL;
}

int
kt_run (Suite  *s,
        int     argc,
        char  **argv)
{
  SRunner *sr = srunner_create (s);
  int status;

  if (argc > 2)
    {
      fprintf (stderr, "usage: %s [TEST-CASE]\n", argv[0]);
      status = 1;
    }
  else if (argc == 2)
    {
      const Need *n = need_find (argv[1]);
      g_autofree char *missing = n != NULL ? need_missing (n) : NULL;

      if (missing != NULL)
        {
          printf ("SKIP: test case %s: %s\n", argv[1], missing);
          status = 77;
        }
      else
        {
          srunner_run (sr, NULL, argv[1], CK_NORMAL);
          if (srunner_ntests_run (sr) == 0)
            {
              fprintf (stderr, "%s: no tests in a test case named '%s'\n", argv[0], argv[1]);
              status = 1;
            }
          else
            status = srunner_ntests_failed (sr) == 0 ? 0 : 1;
        }
    }
  else
    {
      g_autoptr (GString) exclude = g_string_new (NULL);

      for (guint q = 0; needs != NULL && q < needs->len; q++)
        {
          const Need *n = needs->pdata[q];
          g_autofree char *missing = need_missing (n);

          if (missing != NULL)
            {
              fprintf (stderr, "test case %s left out: %s\n", n->name, missing);
              g_string_append_printf (exclude, "%s%s", exclude->len ? " " : "", n->name);
            }
        }
      srunner_run_tagged (sr, NULL, NULL, NULL, exclude->len ? exclude->str : NULL, CK_NORMAL);
      status = srunner_ntests_failed (sr) == 0 ? 0 : 1;
    }
  srunner_free (sr);
  g_clear_pointer (&needs, g_ptr_array_unref);
  return status;
}

static gboolean
spin_tick (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

int
kt_run_nofork (Suite *s)
{
  SRunner *sr = srunner_create (s);
  int failed;

  srunner_set_fork_status (sr, CK_NOFORK);
  srunner_run_all (sr, CK_NORMAL);
  failed = srunner_ntests_failed (sr);
  srunner_free (sr);
  return failed ? 1 : 0;
}

gboolean
kt_spin_until (gboolean (*cond) (gpointer),
               gpointer  data,
               double    timeout)
{
  gint64 end = g_get_monotonic_time () + (gint64) (timeout * G_USEC_PER_SEC);
  /* A ticking source, so the loop wakes to test COND even when nothing else happens. */
  guint id = g_timeout_add (5, spin_tick, NULL);
  gboolean ok;

  while (!(ok = cond (data)) && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (id);
  return ok;
}

static gboolean
spin_never (gpointer data)
{
  return FALSE;
}

void
kt_spin_for (double seconds)
{
  kt_spin_until (spin_never, NULL, seconds);
}
