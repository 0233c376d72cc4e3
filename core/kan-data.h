/* kan-data.h — data sets: sampled from a formula, or read from a CSV file.
 *
 * A data set holds train and test rows as flat row-major buffers, the variable names, and how
 * it was made (so a session can regenerate a formula data set instead of storing it).
 */
#pragma once

#include <glib.h>
#include "kan-expr.h"

G_BEGIN_DECLS

/* A column of text labels names at most this many classes. */
#define KAN_DATA_MAX_CLASSES 256

typedef enum
{
  KAN_DATA_FORMULA,  /* sampled from formula over ranges */
  KAN_DATA_CSV,      /* read from a CSV file (rows are stored in the session) */
  KAN_DATA_ARRAYS,   /* given by the program */
} KanDataSource;

/* How to sample a formula data set. Defaults (kan_formula_spec_init): 1000 train, 1000 test,
 * every range [-1, 1], no noise, seed 0, no normalisation. */
typedef struct
{
  const char         *formula;     /* e.g. "exp(sin(pi*x1)+x2^2)" */
  const char *const  *vars;        /* NULL: variables are inferred, in natural order */
  const double       *ranges;      /* n_ranges pairs lo,hi; one pair applies to all variables */
  int                 n_ranges;
  size_t              n_train;
  size_t              n_test;
  double              noise;       /* std of Gaussian noise added to every label, relative to
                                      the std of the noise-free train labels */
  guint64             seed;
  gboolean            normalize_input;
  gboolean            normalize_label;
} KanFormulaSpec;

typedef struct
{
  KanDataSource  source;
  int            n_in;
  int            n_out;
  size_t         n_train;
  size_t         n_test;
  double        *train_x;     /* n_train × n_in */
  double        *train_y;     /* n_train × n_out */
  double        *test_x;      /* n_test × n_in */
  double        *test_y;      /* n_test × n_out */
  char         **in_names;    /* n_in names, NULL-terminated */
  char         **out_names;   /* n_out names, NULL-terminated */
  /* Units from a CSV header ("v [m/s]" is column v with unit text "m/s"; "theta []" gives "1"),
   * as written, for kan_units_for_dataset (kan-units.h). n_in and n_out entries, NULL-terminated;
   * "" for a column without brackets. NULL when no column has units. */
  char         **in_units;
  char         **out_units;
  /* Classification with text labels ("setosa", "yes"): the class names, sorted by byte order
   * (Unicode code point order for UTF-8), NULL-terminated; the one target column holds their
   * indices 0 … n-1. NULL when the labels are numbers. */
  char         **class_names;

  /* Normalisation applied (z-score with train statistics), or NULL. */
  double        *in_mean, *in_std;    /* n_in each */
  double        *out_mean, *out_std;  /* n_out each */

  /* Provenance. */
  char          *formula;     /* KAN_DATA_FORMULA: the formula text as given */
  double        *ranges;      /* KAN_DATA_FORMULA: n_in pairs lo,hi */
  double         noise;
  guint64        seed;        /* sampling seed, or the split seed for CSV */
  char          *csv_path;    /* KAN_DATA_CSV: the file it came from */
  double         test_fraction; /* KAN_DATA_CSV: share of rows held out for testing */
  char          *class_source;  /* KAN_DATA_CSV with class names: where the first label that
                                   is not a number was read, "FILE:LINE:COL: 'TEXT' (column
                                   'NAME')", for messages; NULL when not known */
} KanDataset;

void         kan_formula_spec_init    (KanFormulaSpec      *spec);

/* Every constructor below returns a new data set that the caller frees with kan_dataset_free,
 * or NULL with ERROR set; the arguments stay the caller's. */

/* Samples SPEC->formula like pykan's create_dataset: each variable in turn draws its train
 * column, then its test column, uniform on its range, from a generator seeded with SPEC->seed.
 * Fails (naming the formula position) for a bad formula, and for labels that are not finite on
 * the sampled inputs (naming the first bad row and its inputs). */
KanDataset  *kan_dataset_from_formula (const KanFormulaSpec *spec,
                                       GError              **error);

/* Reads a CSV file with a header row; TARGETS is a comma-separated list of output column names
 * (the other columns are inputs). Rows are shuffled with SEED and TEST_FRACTION of them are held
 * out for testing. Accepts CRLF line ends, a UTF-8 BOM, quoted header names and blank trailing
 * lines. A header cell may end with the column's unit in brackets, "v [m/s]" (kan-units.h): the
 * name is the text before '[' and the unit must parse; a target may be named with or without
 * it. Errors name the file, line and column.
 *
 * Class labels as text: when the only target column holds a field that is not a number
 * ("setosa", "yes"), every field of that column is read as text, numbers included ("1" and
 * "1.0" are then two classes): the distinct labels become D->class_names, sorted by byte
 * order (so the numbering does not depend on the order or the shuffling of the rows), and the
 * column holds their indices. Errors: text in a target column when there are several targets,
 * more than KAN_DATA_MAX_CLASSES distinct labels, an empty label, or a label with a line break
 * or control character. A regression loss cannot use such data (kan_dataset_check_numeric_labels). */
KanDataset  *kan_dataset_from_csv     (const char          *path,
                                       const char          *targets,
                                       double               test_fraction,
                                       guint64              seed,
                                       GError              **error);

/* The same as kan_dataset_from_csv for LENGTH bytes of CONTENTS already in memory (they need
 * not be NUL-terminated). NAME_FOR_ERRORS stands for the file in messages; csv_path is NULL. */
KanDataset  *kan_dataset_from_csv_data (const char         *contents,
                                        gsize               length,
                                        const char         *name_for_errors,
                                        const char         *targets,
                                        double              test_fraction,
                                        guint64             seed,
                                        GError            **error);

/* A data set from caller-owned arrays (copied). Names may be NULL (x1.., y1..). */
KanDataset  *kan_dataset_new_arrays   (int                  n_in,
                                       int                  n_out,
                                       size_t               n_train,
                                       size_t               n_test,
                                       const double        *train_x,
                                       const double        *train_y,
                                       const double        *test_x,
                                       const double        *test_y,
                                       const char *const   *in_names,
                                       const char *const   *out_names);

/* A deep copy (free with kan_dataset_free); NULL for NULL. kan_dataset_free accepts NULL. */
KanDataset  *kan_dataset_copy         (const KanDataset    *d);
void         kan_dataset_free         (KanDataset          *d);

/* The number of classes of a cross-entropy data set, whose labels 0 … n-1 are in the first
 * output column: the number of class names when D has them, else the largest label (at most
 * 1e6) + 1, over train and test rows. */
int          kan_dataset_n_classes    (const KanDataset    *d);

/* Fails when D's labels are class names (read from text), which only a classification
 * (cross-entropy) loss can use; the message names the file, line and column of the first text
 * label when they are known. */
gboolean     kan_dataset_check_numeric_labels (const KanDataset *d,
                                               GError          **error);

/* Renumbers D's labels (class names) as indices into CLASSES, the class names of the data a
 * model was trained on, and gives D those names, so that a model evaluates other data of the
 * same classes. Fails, leaving D as it was, for a class of D that CLASSES lacks. Nothing to do
 * (TRUE) when D has no class names. */
gboolean     kan_dataset_use_classes  (KanDataset          *d,
                                       const char *const   *classes,
                                       GError             **error);

/* Checks that every value is finite and the shapes are consistent. */
gboolean     kan_dataset_validate     (const KanDataset    *d,
                                       GError             **error);

/* Parses "lo,hi[:lo,hi…]" into *OUT (pairs, a new array: g_free it) and *N_PAIRS. */
gboolean     kan_parse_ranges         (const char          *text,
                                       double             **out,
                                       int                 *n_pairs,
                                       GError             **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KanDataset, kan_dataset_free)

G_END_DECLS
