/* kan-stream.h — CSV files too large for memory: a streaming reader and minibatch training.
 *
 * The reader reads a file a chunk at a time (never the whole file) and gives its rows in file
 * order, with the header, column, unit and target conventions of kan_dataset_from_csv
 * (kan-data.h) and the same errors (FILE:LINE:COL: what is wrong). It differs in two ways a
 * stream must: a problem is reported where it is first met (the in-memory reader checks the
 * text of the whole file for NUL bytes and invalid UTF-8 before anything else), and there is
 * no size limit. Numbers are parsed by kan_stream_parse_number, which gives the double strtod
 * gives, bit for bit.
 *
 * Streaming fit: a first pass over the file counts its rows and draws a held-out sample of at
 * most KanStreamConfig.reservoir rows (uniform, from the seed); the sample is the test set and
 * places the grids. Then each epoch re-reads the file and takes one Adam step per batch of
 * train rows. Memory is the batch, the sample and the reader's buffer: it does not grow with
 * the file (kan_stream_fit_bytes).
 */
#pragma once

#include <glib.h>
#include <gio/gio.h>
#include "kan-data.h"
#include "kan-model.h"
#include "kan-train.h"

G_BEGIN_DECLS

/* Parses the number in [P, END) as kan_parse_number does (a decimal number, optionally signed,
 * with nothing around it; not hexadecimal, not infinite, not NaN), into *OUT. Up to 2^53 in the
 * digits and a power of ten up to 22 either way (Clinger's fast path) take one exact
 * multiplication or division; anything else goes to g_ascii_strtod. FALSE (and *OUT untouched)
 * for text that kan_parse_number refuses. */
gboolean     kan_stream_parse_number (const char   *p,
                                      const char   *end,
                                      double       *out);

typedef struct _KanCsvStream KanCsvStream;

/* Opens PATH and reads its header; TARGETS as for kan_dataset_from_csv (NULL: the last
 * column). Errors are those of kan_dataset_from_csv for the header, or KAN_ERROR_IO naming the
 * file. */
KanCsvStream *kan_csv_stream_open      (const char    *path,
                                        const char    *targets,
                                        GError       **error);
void          kan_csv_stream_free      (KanCsvStream  *s);
int           kan_csv_stream_n_in      (const KanCsvStream *s);
int           kan_csv_stream_n_out     (const KanCsvStream *s);
/* A data set of no rows' worth that holds the column names and units (its one row is
 * meaningless): for building a model or a data set with the file's names. Borrowed. */
const KanDataset *kan_csv_stream_columns (const KanCsvStream *s);
/* Reads up to MAX rows into X (MAX × n_in) and Y (MAX × n_out); *N_READ is the number read,
 * 0 at the end of the file. FALSE with ERROR set on a bad row (rows before it were given). */
gboolean      kan_csv_stream_read      (KanCsvStream  *s,
                                        double        *x,
                                        double        *y,
                                        gsize          max,
                                        gsize         *n_read,
                                        GError       **error);
/* Back to the first data row (the file must be seekable). */
gboolean      kan_csv_stream_rewind    (KanCsvStream  *s,
                                        GError       **error);
/* Bytes of the file read so far in this pass, the file's size (0 if unknown), rows given in
 * this pass. */
guint64       kan_csv_stream_offset    (const KanCsvStream *s);
guint64       kan_csv_stream_size      (const KanCsvStream *s);
gint64        kan_csv_stream_rows      (const KanCsvStream *s);
/* The bytes the reader holds (its buffer and header): fixed when it is opened. */
gsize         kan_csv_stream_bytes     (const KanCsvStream *s);

/* Streaming fit --------------------------------------------------------------------------- */

typedef struct
{
  long           batch;      /* rows per Adam step: 4096 */
  int            epochs;     /* passes over the train rows: 1 */
  gsize          reservoir;  /* at most this many held-out rows (and at most a fifth of the
                              * file): 10000 */
  guint64        seed;       /* draws the held-out sample: 0 */
  long           max_steps;  /* stop after this many steps; 0: no limit */
  /* The optimiser settings: opt is Adam (lr 0.01 by default); loss MSE; lamb and its weights,
   * threads, update_grid, grid_update_num and stop_grid_update_step (counted in steps) as for
   * kan_trainer_new. Grid updates use the held-out sample's inputs, like pykan's do the train
   * inputs, and are kept only if the sample's loss does not rise beyond
   * grid_update_tolerance. */
  KanTrainConfig train;
} KanStreamConfig;

void         kan_stream_config_init  (KanStreamConfig *cfg);

typedef struct
{
  gboolean sampling;     /* the first pass (counting and sampling), not training */
  int      epoch;        /* 0-based */
  int      epochs;
  gint64   rows;         /* rows read in this pass */
  gint64   rows_total;   /* rows in the file (0 while sampling) */
  guint64  bytes;        /* bytes read in this pass */
  guint64  bytes_total;  /* the file's size (0 if unknown) */
  long     step;         /* steps done */
  long     steps_total;  /* steps all epochs will take (0 while sampling) */
  double   batch_rmse;   /* RMSE of the last batch after its step (NaN before the first) */
  double   seconds;      /* since this pass (sampling, or training) began */
} KanStreamProgress;

typedef void (*KanStreamProgressFunc) (const KanStreamProgress *p,
                                       gpointer                 user_data);

typedef struct _KanStreamFit KanStreamFit;

/* The first pass over S (rewound first): counts the rows and draws the held-out sample. PROGRESS
 * (may be NULL) is called every few thousand rows. CANCELLABLE stops it (KAN_ERROR_CANCELLED).
 * S is borrowed and must outlive the result. */
KanStreamFit *kan_stream_fit_new     (KanCsvStream          *s,
                                      const KanStreamConfig *cfg,
                                      GCancellable          *cancellable,
                                      KanStreamProgressFunc  progress,
                                      gpointer               user_data,
                                      GError               **error);
void          kan_stream_fit_free    (KanStreamFit          *f);
/* The held-out sample as a KAN_DATA_CSV data set of train rows (csv_path set, names and units
 * of the file): a session's data, and what a model's default width is made for. Borrowed. */
const KanDataset *kan_stream_fit_sample (const KanStreamFit *f);
gint64        kan_stream_fit_rows    (const KanStreamFit    *f);  /* rows in the file */
gint64        kan_stream_fit_train_rows (const KanStreamFit *f);  /* not held out */
/* Trains MODEL (borrowed) for the epochs: rewinds the file, and steps on each batch of train
 * rows (the last, short batch is filled up with rows of the batch before it). A grid update
 * with the sample's inputs comes before the first step. Ctrl-C (CANCELLABLE) ends it after the
 * step in progress is undone: the return is TRUE and kan_stream_fit_stopped says so. */
gboolean      kan_stream_fit_train   (KanStreamFit          *f,
                                      KanModel              *model,
                                      GCancellable          *cancellable,
                                      KanStreamProgressFunc  progress,
                                      gpointer               user_data,
                                      GError               **error);
long          kan_stream_fit_steps   (const KanStreamFit    *f);
gboolean      kan_stream_fit_stopped (const KanStreamFit    *f);
/* RMSE of MODEL on the held-out sample. */
double        kan_stream_fit_test_rmse (const KanStreamFit  *f,
                                        const KanModel      *model);
/* The rows the fit holds in memory (batch and sample, inputs and targets), and the bytes of
 * them with the reader's: what training memory is proportional to, whatever the file's size. */
gsize         kan_stream_fit_rows_held (const KanStreamFit  *f);
gsize         kan_stream_fit_bytes   (const KanStreamFit    *f);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KanCsvStream, kan_csv_stream_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KanStreamFit, kan_stream_fit_free)

G_END_DECLS
