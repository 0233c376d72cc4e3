/* cli.h — what kanvas-cli's files share: errors and option parsing (cli-parse.c), the option
 * groups and what they build (cli-inputs.c), metrics, JSON and terminal output (cli-output.c),
 * and the commands of the other files.
 */
#pragma once

#include <glib.h>
#include "kan.h"
#include "kan-ops.h"

G_BEGIN_DECLS

/* Errors of the command line itself. A usage error (bad option, missing option, bad number)
 * exits with status 2 and a hint to --help; everything else exits with status 1. */
#define CLI_ERROR (cli_error_quark ())

typedef enum
{
  CLI_ERROR_USAGE,
  CLI_ERROR_FAILED,
} CliError;

GQuark       cli_error_quark       (void);

/* Limits of option values, written out for --help. kan_model_new takes grids up to 100000 and
 * spline orders up to KAN_SPLINE_MAX_K; steps, batches and grid updates are ints; seeds are the
 * non-negative gint64. */
#define CLI_MAX_GRID      100000
#define CLI_MAX_THREADS   1024
/* The most nodes (or subnodes) a layer may have: KAN_SHAPE_MAX_SUBNODES in kan-model.c. */
#define CLI_MAX_WIDTH     1000000
#define CLI_MAX_INT_TEXT  "2147483647"
#define CLI_MAX_SEED_TEXT "9223372036854775807"

/* Strict number parsing for option values; NAME is the option for messages ("--steps"). */
gboolean     cli_parse_int         (const char   *name,
                                    const char   *text,
                                    gint64        lo,
                                    gint64        hi,
                                    gint64       *out,
                                    GError      **error);
gboolean     cli_parse_double      (const char   *name,
                                    const char   *text,
                                    double        lo,
                                    double        hi,
                                    double       *out,
                                    GError      **error);
/* Parses "a,b,…" into *OUT (N values; N = EXPECT if EXPECT > 0). */
gboolean     cli_parse_doubles     (const char   *name,
                                    const char   *text,
                                    int           expect,
                                    double      **out,
                                    int          *n,
                                    GError      **error);

/* Fails (a usage error naming NAME) if a number in the width TEXT ("2,[3,2],1", "2,3" for
 * arities) is too large for a layer, before the width parser sees it. */
gboolean     cli_check_width_numbers (const char   *name,
                                      const char   *text,
                                      GError      **error);

/* A sub-command's option context: "kanvas-cli CMD [OPTIONS]" with its own -h/--help. */
typedef struct
{
  const char     *command;
  GOptionContext *ctx;
  gboolean        help;
  GArray         *values;   /* CliValue: the options that take a value, to refuse empty ones */
} CliCommand;

void         cli_command_init      (CliCommand          *c,
                                    const char          *command,
                                    const char          *summary,
                                    const GOptionEntry  *entries);
void         cli_command_add_group (CliCommand          *c,
                                    const char          *name,
                                    const char          *title,
                                    const GOptionEntry  *entries);
/* Parses ARGV; on --help prints the help and sets *HELP. Stray arguments and empty option
 * values (--points '', -o '') are usage errors; only --formula may be given empty, for the
 * parser to say where the formula is missing. */
gboolean     cli_command_parse     (CliCommand          *c,
                                    int                 *argc,
                                    char              ***argv,
                                    GError             **error);
void         cli_command_clear     (CliCommand          *c);
/* cli_command_parse for a command: FALSE on an error, and also after --help, with *STATUS set
 * to 0 (the command is done). */
gboolean     cli_command_parse_or_help (CliCommand      *c,
                                        int             *argc,
                                        char          ***argv,
                                        int             *status,
                                        GError         **error);
/* The library ids of --lib NAMES ("x,x^2,sin"; g_free the result); a usage error names an
 * unknown function. */
int         *cli_parse_lib         (const char          *names,
                                    int                 *n,
                                    GError             **error);

/* Data options: --formula … or --csv FILE --target NAME. */
typedef struct
{
  char     *formula, *vars, *range, *n_train, *n_test, *noise, *seed;
  gboolean  normalize, normalize_label;
  char     *csv, *target, *test_fraction;
} CliDataOpts;

void         cli_data_opts_add     (CliCommand          *c,
                                    CliDataOpts         *o);
gboolean     cli_data_opts_given   (const CliDataOpts   *o);
KanDataset  *cli_data_from_opts    (const CliDataOpts   *o,
                                    GError             **error);
void         cli_data_opts_clear   (CliDataOpts         *o);
/* One line describing a data set, e.g. "formula exp(x1), 1000 train / 1000 test rows". */
char        *cli_data_describe     (const KanDataset    *d);

/* Model options. */
typedef struct
{
  char *width, *mult_arity, *grid, *k, *seed, *base, *grid_eps, *grid_range;
} CliModelOpts;

void         cli_model_opts_add    (CliCommand          *c,
                                    CliModelOpts        *o);
gboolean     cli_model_opts_given  (const CliModelOpts  *o);
/* A new model for DATA: the width defaults to "N_IN,5,N_OUT" (N_OUT = classes for CE).
 * *DETAIL receives a history detail such as "width=2,5,1 grid=5 k=3 seed=1". */
KanModel    *cli_model_from_opts   (const CliModelOpts  *o,
                                    const KanDataset    *data,
                                    KanLoss              loss,
                                    char               **detail,
                                    GError             **error);
void         cli_model_opts_clear  (CliModelOpts        *o);

/* Training options; only those given override CFG. */
typedef struct
{
  char     *opt, *steps, *lr, *lamb, *lamb_l1, *lamb_entropy, *lamb_coef, *batch;
  char     *grid_update_num, *stop_grid_update_step, *loss, *threads;
  gboolean  no_grid_update, singularity_avoiding;
} CliTrainOpts;

void         cli_train_opts_add    (CliCommand          *c,
                                    CliTrainOpts        *o);
gboolean     cli_train_opts_apply  (const CliTrainOpts  *o,
                                    KanTrainConfig      *cfg,
                                    GError             **error);
void         cli_train_opts_clear  (CliTrainOpts        *o);
/* The learning rate an optimiser starts from when none is given: 1 for L-BFGS and LM,
 * 0.01 for Adam. */
double       cli_default_lr        (KanOptimizer         opt);

/* Loss-specific metrics of a model on a data set. For MSE, value = RMSE; for CE, value =
 * sqrt(cross-entropy) as the trainer reports it, and accuracy is the share of rows whose
 * largest output is the label. NaN where a part has no rows. */
typedef struct
{
  double train, test;
  double train_acc, test_acc;
} CliMetrics;

void         cli_metrics           (const KanModel      *m,
                                    const KanDataset    *d,
                                    KanLoss              loss,
                                    CliMetrics          *out);
/* The metrics the session's last history entry recorded (kan-ops.c measures them), with the
 * accuracies computed for CE. */
void         cli_metrics_recorded  (const KanSession    *s,
                                    CliMetrics          *out);
/* "%.2e", or "n/a" for NaN; BUF holds at least 32 bytes. */
const char  *cli_fmt_sci           (char                *buf,
                                    double               v);

/* The --json output: libkan's JSON writer (kan-json.h), members of the outer two levels on
 * their own lines and anything deeper on one line. These names keep the commands short. */
typedef KanJsonWriter CliJson;

#define CLI_JSON_WRAP_DEPTH 2

static inline void cli_json_init (CliJson *j) { kan_json_writer_init (j, CLI_JSON_WRAP_DEPTH); }
static inline char *cli_json_finish (CliJson *j) { return kan_json_writer_finish (j, NULL); }
static inline void cli_json_begin_object (CliJson *j, const char *key)
{ kan_json_write_begin_object (j, key); }
static inline void cli_json_end_object (CliJson *j) { kan_json_write_end (j); }
static inline void cli_json_begin_array (CliJson *j, const char *key)
{ kan_json_write_begin_array (j, key); }
static inline void cli_json_end_array (CliJson *j) { kan_json_write_end (j); }
static inline void cli_json_double (CliJson *j, const char *key, double v)
{ kan_json_write_double (j, key, v); }
static inline void cli_json_int (CliJson *j, const char *key, gint64 v)
{ kan_json_write_int (j, key, v); }
static inline void cli_json_bool (CliJson *j, const char *key, gboolean v)
{ kan_json_write_bool (j, key, v); }
static inline void cli_json_string (CliJson *j, const char *key, const char *v)
{ kan_json_write_string (j, key, v); }
static inline void cli_json_null (CliJson *j, const char *key) { kan_json_write_null (j, key); }
/* J started with a command's result object open: the outer object of every --json output. */
static inline void cli_json_begin_result (CliJson *j)
{ cli_json_init (j); cli_json_begin_object (j, NULL); }

/* TEXT as it may be shown on a terminal: control characters (C0, DEL, C1), bidirectional
 * formatting characters and line separators are written as \x1b or \u202e, and invalid UTF-8
 * as U+FFFD, so that no text from a file can move the cursor, recolour or reorder the screen. */
char        *cli_term_escape       (const char          *text);

/* TEXT with every word (a run without blanks) longer than CLI_MAX_WORD_BYTES cut to its first
 * KAN_EXPR_EXCERPT_CHARS characters and "…": for error messages that quote long arguments
 * (a 5000-character --opt, an unknown option, a path). Messages quote formulas in part already,
 * around the position they name. */
#define CLI_MAX_WORD_BYTES 160
char        *cli_shorten_words     (const char          *text);

/* Loads PATH and fails unless it has a model. */
KanSession  *cli_load_session      (const char          *path,
                                    GError             **error);
/* A usage error "missing required option WHAT" unless VALUE is set. */
gboolean     cli_require           (const char          *value,
                                    const char          *what,
                                    GError             **error);
/* Fails unless data D fits model M under LOSS. */
gboolean     cli_check_fit         (const KanModel      *m,
                                    const KanDataset    *d,
                                    KanLoss              loss,
                                    GError             **error);
/* "train RMSE 2.63e-03, test RMSE 2.98e-03", or cross-entropy with accuracy. */
char        *cli_metrics_text      (const CliMetrics    *mt,
                                    KanLoss              loss);
/* Members PREFIX"train_rmse", PREFIX"test_rmse" (and accuracies for CE). */
void         cli_metrics_json      (CliJson             *j,
                                    const CliMetrics    *mt,
                                    KanLoss              loss,
                                    const char          *prefix);
/* A classifier's accuracy per class (named by kan_class_names: the CSV's text labels, or
 * "LABEL = K"), train and test: lines "  class NAME: train 97.5% of 40, test 100.0% of 10",
 * or the member "classes": [{"name", "train_rows", "train_accuracy", "test_rows",
 * "test_accuracy"}, …] of J. */
void         cli_print_classes     (const KanModel      *m,
                                    const KanDataset    *d);
void         cli_classes_json      (CliJson             *j,
                                    const KanModel      *m,
                                    const KanDataset    *d);
/* Gives D (other data for the model of S) the classes of S's data (kan_dataset_use_classes),
 * so that text labels mean the same classes; fails for text labels the model was not trained
 * on, or when S's data have numeric labels. */
gboolean     cli_match_classes     (const KanSession    *s,
                                    KanDataset          *d,
                                    GError             **error);
/* Finishes J and prints it on stdout. */
void         cli_print_json        (CliJson             *j);
/* The tail of a command's result object: the metrics BEFORE (members "before_…", if not NULL)
 * and AFTER, "output": OUT; then closes the object J opened and prints it. */
void         cli_print_result_json (CliJson             *j,
                                    const CliMetrics    *before,
                                    const CliMetrics    *after,
                                    KanLoss              loss,
                                    const char          *out);

/* Runs the command ARGV[1] with its options as main does, and returns the exit status; errors
 * go to *ERROR instead of stderr (CLI_ERROR_USAGE for usage errors) and *COMMAND names the
 * command that ran, or is NULL. main prints the error; the fuzz target of the option parsing
 * (tests/fuzz/fuzz-cli-args.c) calls this directly. */
int          cli_run               (int                  argc,
                                    char               **argv,
                                    const char         **command,
                                    GError             **error);

/* Ctrl-C for long commands (fit, discover): from begin to end, SIGINT only sets a flag, and a
 * watcher thread cancels CANCELLABLE within 20 ms of it. A second Ctrl-C gets the default
 * action. cli_interrupt_end stops the thread, puts the old handler back and returns whether
 * Ctrl-C was pressed. */
typedef struct _CliInterrupt CliInterrupt;

/* Exit status of a command stopped by Ctrl-C (128 + SIGINT, as shells report it). */
#define CLI_EXIT_INTERRUPTED 130

CliInterrupt *cli_interrupt_begin  (GCancellable        *cancellable);
gboolean     cli_interrupt_end     (CliInterrupt        *ci);

/* The commands that work a saved network towards a formula (cli-session-cmds.c). */
int          cli_cmd_scores        (int argc, char **argv, GError **error);
int          cli_cmd_prune         (int argc, char **argv, GError **error);
int          cli_cmd_suggest       (int argc, char **argv, GError **error);
int          cli_cmd_lock          (int argc, char **argv, GError **error);
int          cli_cmd_unlock        (int argc, char **argv, GError **error);
int          cli_cmd_symbolic      (int argc, char **argv, GError **error);
int          cli_cmd_formula       (int argc, char **argv, GError **error);
/* The JSON members every formula result has: "formula" (text) and one per other style, with
 * D's variable names (cli-session-cmds.c). */
void         cli_formula_json      (CliJson             *j,
                                    const KanExpr       *e,
                                    const KanDataset    *d);

/* The discover sub-command (cli-discover.c). */
int          cli_cmd_discover      (int argc, char **argv, GError **error);

/* The bench sub-command (cli-bench.c). */
int          cli_cmd_bench         (int argc, char **argv, GError **error);
/* bench --scale (cli-bench-scale.c): the scale figures against pykan and their targets, as text
 * or JSON on stdout; QUICK runs small sizes (a smoke test). */
gboolean     cli_bench_scale       (gboolean             quick,
                                    gboolean             json,
                                    GError             **error);
/* The CPU seconds of the calling thread so far (single-threaded timings on a loaded machine). */
double       cli_thread_cpu_seconds (void);

/* The streaming benchmark (cli-bench-stream.c): writes a synthetic 8-input CSV of ROWS rows to
 * a temporary file, times a read-only pass, then one epoch of minibatch training of width
 * 8,8,1 (QUICK: a smaller reservoir and batch), and removes the file. */
typedef struct
{
  gint64 rows;
  int    n_in;
  double file_mb;
  double read_seconds;
  double read_mb_per_s;
  long   batch;
  long   steps;
  double train_seconds;
  double test_rmse;
  gint64 peak_rss_kb;
} CliStreamBench;

gboolean     cli_bench_stream      (gint64               rows,
                                    gboolean             quick,
                                    CliStreamBench      *out,
                                    GError             **error);

/* The stream sub-command: training on a CSV file read a batch at a time (cli-stream.c). */
int          cli_cmd_stream        (int argc, char **argv, GError **error);

/* The plot sub-command (cli-plot.c). */
int          cli_cmd_plot          (int argc, char **argv, GError **error);

/* "l,i,j" of an existing edge of M into E: a usage error if it is not three integers, a
 * KAN_ERROR_INVALID naming the width if the edge does not exist. */
gboolean     cli_parse_edge         (const KanModel *m,
                                     const char     *text,
                                     int             e[3],
                                     GError        **error);

G_END_DECLS
