/* fuzz-cli-args.c — libFuzzer target for kanvas-cli's option parsing, every command.
 *
 * The input is an argument list: its bytes split at NUL and newline bytes (at most MAX_ARGS
 * arguments; an empty piece is an empty argument), after "kanvas-cli". It runs through cli_run,
 * the whole command line as main runs it, so GOption's parsing, the strict number parsing, the
 * data, model, training, discover and plot options and their checks all see it.
 *
 * The commands must not do work, and must not touch files outside a scratch folder. tools/fuzz.sh
 * links this target with -Wl,--wrap for the few core functions where work or files begin:
 *   - sessions and CSV files load only from the scratch folder made at start-up, and only by
 *     the names "s.kanvas" (a small model with formula data) and "d.csv"; any other path is
 *     refused (the working folder stays as it is: libFuzzer reads its corpus folders by their
 *     relative names);
 *   - formula data sets are sampled with at most ROWS train and test rows;
 *   - models above MODEL_BYTES, training, refining, discover, saving and drawing are refused.
 * So the commands that load s.kanvas also run their own checks (edges, nodes, points, the
 * library) and the cheap work on it (scores, prune, suggest, lock, eval).
 *
 * Every run must end with a status and, on failure, an error with a message; it must never
 * crash, leak or hit undefined behaviour.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib/gstdio.h>
#include <gsl/gsl_errno.h>

#include "cli.h"
#include "kan-render.h"

#define MAX_ARGS    64
#define ROWS        16
#define MODEL_BYTES ((gsize) 1 << 20)

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* ------------------------------------------------------------------------------------------ */
/* Wrapped core functions (-Wl,--wrap=NAME makes calls to NAME reach __wrap_NAME)             */

KanSession *__real_kan_session_load (const char *path, GError **error);
gboolean    __real_kan_session_save (const KanSession *s, const char *path, GError **error);
KanDataset *__real_kan_dataset_from_csv (const char *path, const char *targets,
                                         double test_fraction, guint64 seed, GError **error);
KanDataset *__real_kan_dataset_from_formula (const KanFormulaSpec *spec, GError **error);
KanModel   *__real_kan_model_new (const KanModelConfig *cfg, GError **error);

KanSession *__wrap_kan_session_load (const char *path, GError **error);
gboolean    __wrap_kan_session_save (const KanSession *s, const char *path, GError **error);
KanDataset *__wrap_kan_dataset_from_csv (const char *path, const char *targets,
                                         double test_fraction, guint64 seed, GError **error);
KanDataset *__wrap_kan_dataset_from_formula (const KanFormulaSpec *spec, GError **error);
KanModel   *__wrap_kan_model_new (const KanModelConfig *cfg, GError **error);
KanTrainer *__wrap_kan_trainer_new (KanModel *model, const KanDataset *data,
                                    const KanTrainConfig *cfg, GError **error);
KanModel   *__wrap_kan_model_refine (const KanModel *m, int grid, const double *x, size_t n,
                                     GError **error);
gboolean    __wrap_kan_discover (const KanDataset *d, const KanDiscoverOptions *o,
                                 KanDiscoverResult **out, GError **error);
gboolean    __wrap_kan_render_to_file (const KanSnapshot *s, const KanRenderStyle *st,
                                       const char *path, double width, double height,
                                       GError **error);
gboolean    __wrap_kan_render_edge_to_file (const KanSnapshot *s, int l, int i, int j,
                                            const KanRenderStyle *st, const char *path,
                                            double width, double height, GError **error);

static gboolean
refuse (GError    **error,
        const char *what)
{
  g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID, "fuzz: %s is not done here", what);
  return FALSE;
}

static char *scratch, *session_path, *csv_path;

KanSession *
__wrap_kan_session_load (const char *path, GError **error)
{
  if (strcmp (path, "s.kanvas") != 0)
    {
      refuse (error, "loading another session");
      return NULL;
    }
  return __real_kan_session_load (session_path, error);
}

gboolean
__wrap_kan_session_save (const KanSession *s, const char *path, GError **error)
{
  return refuse (error, "saving");
}

KanDataset *
__wrap_kan_dataset_from_csv (const char *path, const char *targets, double test_fraction,
                             guint64 seed, GError **error)
{
  if (strcmp (path, "d.csv") != 0)
    {
      refuse (error, "reading another file");
      return NULL;
    }
  return __real_kan_dataset_from_csv (csv_path, targets, test_fraction, seed, error);
}

KanDataset *
__wrap_kan_dataset_from_formula (const KanFormulaSpec *spec, GError **error)
{
  KanFormulaSpec small = *spec;

  small.n_train = MIN (small.n_train, ROWS);
  small.n_test = MIN (small.n_test, ROWS);
  return __real_kan_dataset_from_formula (&small, error);
}

KanModel *
__wrap_kan_model_new (const KanModelConfig *cfg, GError **error)
{
  if (cfg->shape != NULL && cfg->grid >= 1 && cfg->k >= 1 && cfg->k <= KAN_SPLINE_MAX_K
      && cfg->grid <= CLI_MAX_GRID && kan_model_config_bytes (cfg) > MODEL_BYTES)
    {
      refuse (error, "a model this large");
      return NULL;
    }
  return __real_kan_model_new (cfg, error);
}

KanTrainer *
__wrap_kan_trainer_new (KanModel *model, const KanDataset *data, const KanTrainConfig *cfg,
                        GError **error)
{
  refuse (error, "training");
  return NULL;
}

KanModel *
__wrap_kan_model_refine (const KanModel *m, int grid, const double *x, size_t n,
                         GError **error)
{
  refuse (error, "refining");
  return NULL;
}

gboolean
__wrap_kan_discover (const KanDataset *d, const KanDiscoverOptions *o,
                     KanDiscoverResult **out, GError **error)
{
  return refuse (error, "discovering");
}

gboolean
__wrap_kan_render_to_file (const KanSnapshot *s, const KanRenderStyle *st, const char *path,
                           double width, double height, GError **error)
{
  return refuse (error, "drawing");
}

gboolean
__wrap_kan_render_edge_to_file (const KanSnapshot *s, int l, int i, int j,
                                const KanRenderStyle *st, const char *path, double width,
                                double height, GError **error)
{
  return refuse (error, "drawing");
}

/* ------------------------------------------------------------------------------------------ */
/* Start-up: the scratch folder with s.kanvas and d.csv                                       */

static void
remove_scratch (void)
{
  if (scratch == NULL)
    return;
  g_unlink (session_path);
  g_unlink (csv_path);
  g_rmdir (scratch);
  g_clear_pointer (&scratch, g_free);
  g_clear_pointer (&session_path, g_free);
  g_clear_pointer (&csv_path, g_free);
}

static void
make_scratch (void)
{
  static const char csv[] = "a,b,y\n0.1,0.2,0.3\n0.4,0.5,0.6\n0.7,0.8,0.9\n1.1,1.2,1.3\n";
  g_autoptr (GError) error = NULL;
  g_autoptr (KanSession) s = kan_session_new ();
  g_autoptr (KanShape) shape = NULL;
  KanFormulaSpec spec;
  KanModelConfig cfg;

  scratch = g_dir_make_tmp ("kanvas-fuzz-cli-XXXXXX", &error);
  if (scratch == NULL)
    {
      fprintf (stderr, "fuzz-cli-args: no scratch folder: %s\n", error->message);
      abort ();
    }
  session_path = g_build_filename (scratch, "s.kanvas", NULL);
  csv_path = g_build_filename (scratch, "d.csv", NULL);
  atexit (remove_scratch);
  if (!g_file_set_contents (csv_path, csv, -1, &error))
    abort ();

  kan_formula_spec_init (&spec);
  spec.formula = "x1*x2 + sin(x1)";
  s->data = __real_kan_dataset_from_formula (&spec, &error);
  kan_model_config_init (&cfg);
  shape = kan_shape_parse ("2,2,1", NULL, &error);
  cfg.shape = shape;
  cfg.grid = 3;
  cfg.k = 2;
  s->model = s->data && shape ? __real_kan_model_new (&cfg, &error) : NULL;
  if (s->model == NULL || !__real_kan_session_save (s, session_path, &error))
    {
      fprintf (stderr, "fuzz-cli-args: cannot make s.kanvas: %s\n", error->message);
      abort ();
    }
}

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  gsl_set_error_handler_off ();
  /* Help texts and results go to stdout; nobody reads them here. */
  if (freopen ("/dev/null", "w", stdout) == NULL)
    abort ();
  make_scratch ();
  return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* One input                                                                                  */

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr (GError) error = NULL;
  char *owned[MAX_ARGS + 2];
  char *argv[MAX_ARGS + 2];
  const char *command = NULL;
  int argc = 0, status;
  size_t start = 0;

  owned[argc++] = g_strdup ("kanvas-cli");
  for (size_t i = 0; i <= size && argc <= MAX_ARGS; i++)
    if (i == size || data[i] == '\0' || data[i] == '\n')
      {
        owned[argc++] = g_strndup ((const char *) data + start, i - start);
        start = i + 1;
      }
  owned[argc] = NULL;
  /* cli_run and GOption rearrange the vector, so they get a copy; ours frees the strings. */
  memcpy (argv, owned, sizeof (char *) * (argc + 1));

  status = cli_run (argc, argv, &command, &error);
  /* A failure says why (main prints the message); a success has no error. */
  if (error != NULL && (error->message == NULL || error->message[0] == '\0' || status == 0))
    {
      fprintf (stderr, "fuzz-cli-args: status %d with an error without a message or the "
               "other way round\n", status);
      abort ();
    }
  if (error == NULL && status != 0)
    {
      fprintf (stderr, "fuzz-cli-args: status %d without an error (a silent failure)\n",
               status);
      abort ();
    }

  for (int q = 0; q < argc; q++)
    g_free (owned[q]);
  return 0;
}
