/* kan-train.c — the training loop: L-BFGS (kan-lbfgs.c), Adam and Levenberg–Marquardt (GSL).
 *
 * Optimisers see only the active parameters (trainable, on a live edge), packed into one
 * vector. One step follows pykan's meaning: for L-BFGS up to lbfgs_max_iter inner iterations
 * and lbfgs_max_eval evaluations; for Adam one gradient step; for LM one LM iteration.
 *
 * Grid updates follow pykan's schedule (before steps 0, 5, …, 45 by default) but are checked:
 * the update is undone when the train loss right after it exceeds the loss before it by more
 * than grid_update_tolerance (relative). Re-placing knots mid-run can hurt, and must never
 * break an optimiser.
 */
#include "kan-train.h"
#include "kan-model-private.h"
#include "kan-grid-private.h"
#include "kan-error.h"

#include <math.h>
#include <string.h>
#include "kan-lbfgs.h"
#include <gsl/gsl_rng.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_multifit_nlinear.h>

/* Default relative loss increase accepted after a grid update (see the file comment). */
#define KAN_GRID_UPDATE_TOLERANCE 0.1

/* Levenberg–Marquardt forms JᵀJ (residuals × parameters² operations) and factors it
 * (parameters³/3) inside GSL, where nothing can stop it: problems whose step needs more than
 * this many operations (about a second of one core) are refused, so that a step can always be
 * cancelled promptly. */
#define KAN_LM_MAX_FLOPS 2e10

/* Largest ratio of the acceleration to the velocity LM's geodesic acceleration accepts (GSL's
 * default; 0.5 and 1.0 took as many steps on T1's eight model seeds). */
#define KAN_LM_AVMAX 0.75

/* KAN_OPT_AUTO picks LM only where one of its steps stays short: at most this many operations
 * (a tenth of KAN_LM_MAX_FLOPS, about 0.1 s of one core). */
#define KAN_AUTO_LM_MAX_FLOPS (KAN_LM_MAX_FLOPS / 10)

/* How long (microseconds) a thread of a split evaluation spins, waiting for the next
 * evaluation or for the other slices, before it sleeps on the condition variable. Waking a
 * sleeping thread goes through the kernel (and, in a virtual machine, an inter-processor
 * interrupt to a halted virtual CPU); within an L-BFGS step the evaluations follow each other
 * a few microseconds apart, so a worker that spins a little is already running when the next
 * one starts. */
#define KAN_TRAIN_SPIN_US 50

/* Bytes counted for the stack of each worker thread (glibc's default reservation). */
#define KAN_TRAIN_THREAD_STACK_BYTES ((double) (8 << 20))

/* Bytes per parameter or data value counted for writing the result out as text (a session
 * file holds each as a number of up to about 25 characters). */
#define KAN_TRAIN_SAVE_BYTES_PER_VALUE 32.0

/* torch's Adam defaults. */
#define ADAM_BETA1 0.9
#define ADAM_BETA2 0.999
#define ADAM_EPS   1e-8

static const char *const opt_names[] = { "lbfgs", "adam", "lm", "auto" };

const char *
kan_optimizer_name (KanOptimizer opt)
{
  g_return_val_if_fail ((unsigned) opt < G_N_ELEMENTS (opt_names), NULL);
  return opt_names[opt];
}

gboolean
kan_optimizer_lookup (const char *name, KanOptimizer *out)
{
  g_return_val_if_fail (name != NULL && out != NULL, FALSE);
  for (unsigned q = 0; q < G_N_ELEMENTS (opt_names); q++)
    if (g_ascii_strcasecmp (name, opt_names[q]) == 0)
      {
        *out = (KanOptimizer) q;
        return TRUE;
      }
  return FALSE;
}

void
kan_train_config_init (KanTrainConfig *cfg)
{
  g_return_if_fail (cfg != NULL);
  memset (cfg, 0, sizeof *cfg);
  cfg->opt = KAN_OPT_LBFGS;
  cfg->loss = KAN_LOSS_MSE;
  cfg->steps = 50;
  cfg->lr = 1.0;
  cfg->lamb = 0.0;
  cfg->lamb_l1 = 1.0;
  cfg->lamb_entropy = 2.0;
  cfg->lamb_coef = 0.0;
  cfg->lamb_coefdiff = 0.0;
  cfg->update_grid = TRUE;
  cfg->grid_update_num = 10;
  cfg->start_grid_update_step = -1;
  cfg->stop_grid_update_step = 50;
  cfg->grid_update_tolerance = KAN_GRID_UPDATE_TOLERANCE;
  cfg->batch = -1;
  cfg->seed = 0;
  cfg->singularity_avoiding = FALSE;
  cfg->y_th = 1000.0;
  cfg->lbfgs_history = 10;
  cfg->lbfgs_max_iter = 20;
  cfg->lbfgs_max_eval = 25;
  cfg->threads = 1;
  cfg->memory_budget = 0.0;
}

/* With threads > 1 (and no regulariser, whose statistics span the whole batch) the rows of an
 * evaluation are split into slices; slice 0 runs on the calling thread, the others on workers
 * that wait for a new generation number. Each slice has its own workspace and gradient.
 * generation and pending are read without the lock while spinning (KAN_TRAIN_SPIN_US), so they
 * (and quit) are only changed atomically; the atomics also order what the calling thread set
 * up before a generation, and the slices' results before pending reaches 0, in a way
 * ThreadSanitizer sees (it does not see GLib's futex-based mutex). */
typedef struct
{
  struct _KanTrainer *t;
  size_t     r0, r1;
  KanWork   *w;
  double    *grad;
  double    *dout;
  double     f;
  gboolean   want_grad;
  gboolean   cancelled;
  GThread   *thread;
} Slice;

struct _KanTrainer
{
  KanModel         *model;
  const KanDataset *data;
  KanTrainConfig    cfg;

  size_t           *idx;       /* active parameter indices */
  size_t            n_act;
  KanWork          *w;         /* train batch */
  KanWork          *w_eval;    /* chunks of the test rows (and of the train rows with batches) */
  double           *eval_out;  /* eval_rows × n_out */
  size_t            eval_rows;
  double           *grad;      /* n_params */
  double           *dout;      /* batch × n_out */
  double           *xb, *yb;   /* minibatch rows (NULL: the whole train set) */
  size_t            nb;        /* rows per evaluation */
  const double     *xcur, *ycur;
  double           *good;      /* last finite parameters */
  gsl_rng          *rng;
  GTimer           *timer;
  int               step;
  long              n_evals;
  gboolean          nonfinite;
  gboolean          cancelled; /* an evaluation of this step was cut short */
  KanModel         *step_backup; /* the model before this step's grid update */
  GCancellable     *cancellable;
  int               evals_this_step;

  /* Adam */
  double           *adam_m, *adam_v;
  long              adam_t;

  /* threads */
  Slice            *slices;
  int               n_slices;
  GMutex            lock;
  GCond             cond;
  gint              generation;
  gint              pending;
  gint              quit;
  gboolean          spin;      /* no more slices than processors: waiting threads spin first */

  /* L-BFGS */
  KanLbfgs         *lbfgs;
  double           *xv;        /* packed parameters */
  double            lbfgs_f;   /* objective at the step's accepted point (NaN: unknown) */
  /* The last evaluation of lbfgs_objective (packed point, objective, gradient; FINITE if both
   * were) and, when it is the accepted point of the last step (MEMO_VALID), the model state it
   * was made in: an evaluation in that same state (the grid check's loss before, the next
   * step's first evaluation, also after a rejected grid update put the model back) is this
   * one. New rows or batch invalidate it; a changed model fails the comparison. */
  double           *memo_x, *memo_g, memo_f;
  gboolean          memo_finite, memo_valid;
  double           *memo_params, *memo_state_d;
  int              *memo_state_i;

  /* Levenberg–Marquardt */
  gboolean                        lm_auto;   /* chosen by KAN_OPT_AUTO: fixed grid, Levenberg
                                              * scaling */
  gsl_multifit_nlinear_workspace *lm;
  gsl_multifit_nlinear_fdf        lm_fdf;
  gboolean                        lm_ready;
};

/* ------------------------------------------------------------------------------------------ */
/* Loss                                                                                        */

/* Loss of OUT against Y over N rows; DOUT (if not NULL) receives ∂loss/∂out. */
static double
loss_eval (KanLoss loss, const double *out, const double *y, size_t n, int O, double *dout)
{
  double f = 0.0;

  if (loss == KAN_LOSS_MSE)
    {
      double inv = 1.0 / ((double) n * O);
      for (size_t q = 0; q < n * O; q++)
        {
          double r = out[q] - y[q];
          f += r * r;
          if (dout)
            dout[q] = 2.0 * r * inv;
        }
      return f * inv;
    }

  /* Cross-entropy with class-index labels: mean over rows of logsumexp(out) − out[c]. */
  for (size_t b = 0; b < n; b++)
    {
      const double *o = out + b * O;
      int c = (int) y[b];
      double mx = o[0], s = 0.0;
      for (int q = 1; q < O; q++)
        mx = MAX (mx, o[q]);
      for (int q = 0; q < O; q++)
        s += exp (o[q] - mx);
      f += mx + log (s) - o[c];
      if (dout)
        for (int q = 0; q < O; q++)
          dout[b * O + q] = (exp (o[q] - mx) / s - (q == c ? 1.0 : 0.0)) / n;
    }
  return f / n;
}

/* Loss of M on the N rows of X, Y a chunk of CHUNK rows at a time through W (made for them)
 * and OUT (chunk × n_out); Y has Y_COLS columns. NaN if W's cancellable fired. W keeps the
 * bases of the data layer for the last chunk it saw (kan-forward.c keys them by the rows'
 * address, count and the model's knots): when all N rows fit in one chunk, evaluating the same
 * rows again (the test rows after every step) skips them. Whoever rewrites rows in place
 * calls kan_work_input_changed on W. */
static double
loss_chunked (const KanModel *m, KanWork *w, double *out, size_t chunk, KanLoss loss,
              const double *x, const double *y, int y_cols, size_t n)
{
  int I = kan_model_n_in (m), O = kan_model_n_out (m);
  double f = 0.0;

  for (size_t s = 0; s < n; s += chunk)
    {
      size_t c = MIN (chunk, n - s);
      kan_model_forward (m, w, x + s * I, c, 0.0, out);
      if (kan_work_cancelled (w))
        return NAN;
      f += loss_eval (loss, out, y + s * y_cols, c, O, NULL) * c;
    }
  return f / n;
}

double
kan_model_loss (const KanModel *m,
                KanLoss         loss,
                const double   *x,
                const double   *y,
                size_t          n)
{
  size_t chunk;
  KanWork *w;
  double *out;
  double f;

  g_return_val_if_fail (m != NULL, NAN);
  g_return_val_if_fail (n == 0 || (x != NULL && y != NULL), NAN);
  chunk = kan_work_chunk_rows (m, n, KAN_WORK_CHUNK_BYTES);
  w = kan_work_new (m, chunk);
  out = g_new (double, chunk * kan_model_n_out (m));

  /* Class-index labels have one column; MSE targets one per output. */
  f = loss_chunked (m, w, out, chunk, loss, x, y, loss == KAN_LOSS_CE ? 1 : kan_model_n_out (m),
                    n);
  g_free (out);
  kan_work_free (w);
  return f;
}

/* ------------------------------------------------------------------------------------------ */
/* Objective over the active parameters                                                        */

static void
unpack (KanTrainer *t, const double *x)
{
  double *p = t->model->params;
  for (size_t q = 0; q < t->n_act; q++)
    p[t->idx[q]] = x[q];
}

static void
pack (KanTrainer *t, double *x)
{
  const double *p = t->model->params;
  for (size_t q = 0; q < t->n_act; q++)
    x[q] = p[t->idx[q]];
}

/* Objective (loss + lamb·reg) at the model's current parameters; gradient into G (packed) if
 * not NULL; the loss alone and the regulariser into LOSS_OUT and REG_OUT if not NULL.
 * Non-finite values set t->nonfinite. */
static double
objective_serial (KanTrainer *t, double *g, double *loss_out, double *reg_out)
{
  KanModel *m = t->model;
  int O = kan_model_n_out (m);
  double y_th = t->cfg.singularity_avoiding ? t->cfg.y_th : 0.0;
  double *out = t->dout + t->nb * O;
  double f, reg = 0.0;

  kan_model_forward (m, t->w, t->xcur, t->nb, y_th, out);
  if (kan_work_cancelled (t->w))
    {
      t->cancelled = TRUE;
      return NAN;
    }
  if (g)
    memset (t->grad, 0, sizeof (double) * m->n_params);
  if (t->cfg.lamb > 0)
    reg = kan_model_reg (m, t->w, t->cfg.lamb_l1, t->cfg.lamb_entropy, t->cfg.lamb_coef,
                         t->cfg.lamb_coefdiff, t->cfg.lamb, g ? t->grad : NULL);
  f = loss_eval (t->cfg.loss, out, t->ycur, t->nb, O, g ? t->dout : NULL);
  if (loss_out)
    *loss_out = f;
  if (reg_out)
    *reg_out = reg;
  f += t->cfg.lamb * reg;
  if (g)
    kan_model_backward (m, t->w, t->dout, t->grad);
  if (kan_work_cancelled (t->w))
    {
      t->cancelled = TRUE;
      return NAN;
    }
  if (g)
    {
      for (size_t q = 0; q < t->n_act; q++)
        {
          g[q] = t->grad[t->idx[q]];
          if (!isfinite (g[q]))
            t->nonfinite = TRUE;
        }
    }
  if (!isfinite (f))
    t->nonfinite = TRUE;
  t->n_evals++;
  t->evals_this_step++;
  return f;
}

/* Forward, loss and (if wanted) backward of one slice of rows; the loss is weighted by the
 * slice's share of the batch so that slices add up to the batch mean. */
static void
slice_eval (Slice *sl)
{
  KanTrainer *t = sl->t;
  KanModel *m = t->model;
  int O = kan_model_n_out (m), I = kan_model_n_in (m);
  size_t n = sl->r1 - sl->r0;
  double share = (double) n / t->nb;
  double y_th = t->cfg.singularity_avoiding ? t->cfg.y_th : 0.0;
  double *out = sl->dout + n * O;

  kan_model_forward (m, sl->w, t->xcur + sl->r0 * I, n, y_th, out);
  sl->cancelled = kan_work_cancelled (sl->w);
  if (sl->cancelled)
    return;
  sl->f = share * loss_eval (t->cfg.loss, out, t->ycur + sl->r0 * t->data->n_out, n, O,
                             sl->want_grad ? sl->dout : NULL);
  if (sl->want_grad)
    {
      for (size_t q = 0; q < n * O; q++)
        sl->dout[q] *= share;
      memset (sl->grad, 0, sizeof (double) * m->n_params);
      kan_model_backward (m, sl->w, sl->dout, sl->grad);
      sl->cancelled = kan_work_cancelled (sl->w);
    }
}

/* Spins for at most KAN_TRAIN_SPIN_US while (*V == X) differs from UNTIL_EQUAL; TRUE once it
 * holds. */
static gboolean
spin_until (const gint *v, gint x, gboolean until_equal)
{
  gint64 end = 0;

  for (unsigned q = 1;; q++)
    {
      if ((g_atomic_int_get (v) == x) == until_equal)
        return TRUE;
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause ();
#endif
      if ((q & 63) == 0)
        {
          gint64 now = g_get_monotonic_time ();
          if (end == 0)
            end = now + KAN_TRAIN_SPIN_US;
          else if (now >= end)
            return FALSE;
        }
    }
}

static gpointer
slice_worker (gpointer data)
{
  Slice *sl = data;
  KanTrainer *t = sl->t;
  gint seen = 0;

  for (;;)
    {
      gboolean quit;

      if (t->spin)
        spin_until (&t->generation, seen, FALSE);
      g_mutex_lock (&t->lock);
      while (g_atomic_int_get (&t->generation) == seen && !g_atomic_int_get (&t->quit))
        g_cond_wait (&t->cond, &t->lock);
      quit = g_atomic_int_get (&t->quit);
      g_mutex_unlock (&t->lock);
      if (quit)
        break;
      seen = g_atomic_int_get (&t->generation);
      slice_eval (sl);
      g_mutex_lock (&t->lock);
      if (g_atomic_int_dec_and_test (&t->pending))
        g_cond_broadcast (&t->cond);
      g_mutex_unlock (&t->lock);
    }
  return NULL;
}

static double
objective_full (KanTrainer *t, double *g, double *loss_out, double *reg_out)
{
  double f = 0.0;

  if (t->n_slices < 2 || t->cfg.lamb > 0)
    return objective_serial (t, g, loss_out, reg_out);

  for (int q = 0; q < t->n_slices; q++)
    t->slices[q].want_grad = g != NULL;
  g_mutex_lock (&t->lock);
  g_atomic_int_set (&t->pending, t->n_slices - 1);
  g_atomic_int_inc (&t->generation);
  g_cond_broadcast (&t->cond);
  g_mutex_unlock (&t->lock);
  slice_eval (&t->slices[0]);
  if (!t->spin || !spin_until (&t->pending, 0, TRUE))
    {
      g_mutex_lock (&t->lock);
      while (g_atomic_int_get (&t->pending) > 0)
        g_cond_wait (&t->cond, &t->lock);
      g_mutex_unlock (&t->lock);
    }

  for (int q = 0; q < t->n_slices; q++)
    if (t->slices[q].cancelled)
      {
        t->cancelled = TRUE;
        return NAN;
      }
  for (int q = 0; q < t->n_slices; q++)
    f += t->slices[q].f;
  if (g)
    for (size_t k = 0; k < t->n_act; k++)
      {
        double acc = 0.0;
        for (int q = 0; q < t->n_slices; q++)
          acc += t->slices[q].grad[t->idx[k]];
        g[k] = acc;
        if (!isfinite (acc))
          t->nonfinite = TRUE;
      }
  if (!isfinite (f))
    t->nonfinite = TRUE;
  if (loss_out)
    *loss_out = f;
  if (reg_out)
    *reg_out = 0.0;
  t->n_evals++;
  t->evals_this_step++;
  return f;
}

static double
objective (KanTrainer *t, double *g)
{
  return objective_full (t, g, NULL, NULL);
}

/* ------------------------------------------------------------------------------------------ */
/* Set-up                                                                                      */

static void
refresh_active (KanTrainer *t)
{
  t->n_act = kan_model_active_params (t->model, t->idx);
}

/* Rows of one evaluation: the minibatch, or the whole train set (always for LM). */
static size_t
batch_rows (const KanDataset *d, const KanTrainConfig *cfg)
{
  return (cfg->batch > 0 && (size_t) cfg->batch < d->n_train && cfg->opt != KAN_OPT_LM)
         ? (size_t) cfg->batch : d->n_train;
}

/* Slices an evaluation of NB rows is split into (1: no worker threads). */
static int
slice_count (const KanTrainConfig *cfg, size_t nb)
{
  if (cfg->threads > 1 && cfg->opt != KAN_OPT_LM && nb >= (size_t) cfg->threads * 16)
    return MIN (cfg->threads, 64);
  return 1;
}

/* Operations of one LM step on P parameters and NRES residuals: JᵀJ and its factorisation. */
static double
lm_step_flops (double p, double nres)
{
  return nres * p * p + p * p * p / 3;
}

KanOptimizer
kan_train_resolve_optimizer (const KanModel       *model,
                             const KanDataset     *data,
                             const KanTrainConfig *cfg)
{
  KanTrainConfig lm;
  double p, nres, budget;

  g_return_val_if_fail (model != NULL && data != NULL && cfg != NULL, KAN_OPT_LBFGS);
  if (cfg->opt != KAN_OPT_AUTO)
    return cfg->opt;
  if (cfg->loss != KAN_LOSS_MSE || cfg->lamb > 0 || cfg->singularity_avoiding
      || (cfg->batch > 0 && (size_t) cfg->batch < data->n_train)
      || data->n_out != kan_model_n_out (model))
    return KAN_OPT_LBFGS;
  p = (double) kan_model_active_params (model, NULL);
  nres = (double) data->n_train * kan_model_n_out (model);
  if (p < 1 || p > KAN_AUTO_LM_MAX_PARAMS || nres < p
      || lm_step_flops (p, nres) > KAN_AUTO_LM_MAX_FLOPS)
    return KAN_OPT_LBFGS;
  lm = *cfg;
  lm.opt = KAN_OPT_LM;
  budget = cfg->memory_budget > 0 ? cfg->memory_budget : KAN_TRAIN_BUDGET_BYTES;
  if ((double) kan_trainer_bytes (model, data, &lm) > budget)
    return KAN_OPT_LBFGS;
  return KAN_OPT_LM;
}

/* GSL's LM calls BLAS (JᵀJ by dsyrk) from the training thread. OpenBLAS's pthread build splits
 * such calls over its own threads: their summation order changes from run to run, and between
 * calls they spin in sched_yield (18 % of the perf samples of LM fits in a program that did not
 * set one thread), taking the core from the trainer's workers. kanvas-cli and the workbench set
 * one BLAS thread in main; trainers do it for every other program linking libkan. */
static void
blas_single_thread (void)
{
  static gsize done = 0;
  extern void openblas_set_num_threads (int n);

  if (g_once_init_enter (&done))
    {
      openblas_set_num_threads (1);
      g_once_init_leave (&done, 1);
    }
}

static double
dataset_bytes (const KanDataset *d)
{
  double cols = d->n_in + d->n_out;
  /* The rows; normalisation, names and provenance. */
  return (double) (d->n_train + d->n_test) * cols * sizeof (double)
         + cols * (2 * sizeof (double) + 64) + sizeof (KanDataset) + 1024;
}

gsize
kan_trainer_bytes (const KanModel       *m,
                   const KanDataset     *d,
                   const KanTrainConfig *cfg)
{
  const double D = sizeof (double);
  KanTrainConfig rc;
  size_t nb, n_eval, n_all;
  int T, O;
  double P, A, h;
  double b, step, after;

  g_return_val_if_fail (m != NULL && d != NULL && cfg != NULL, 0);
  rc = *cfg;
  rc.opt = kan_train_resolve_optimizer (m, d, cfg);
  cfg = &rc;
  nb = batch_rows (d, cfg);
  n_eval = MAX (d->n_test, nb < d->n_train ? d->n_train : 0);
  n_all = MAX (d->n_train, d->n_test);
  T = slice_count (cfg, nb);
  O = kan_model_n_out (m);
  /* Active parameters are at most all of them. */
  P = (double) m->n_params;
  A = P;
  h = MAX (cfg->lbfgs_history, 1);

  /* What exists already: the model and the data. */
  b = (double) kan_model_bytes (m) + dataset_bytes (d);
  /* The trainer: parameter indices, gradient, last finite parameters, outputs and their
   * gradient, the minibatch, the batch workspace, the evaluation chunk. */
  b += sizeof (KanTrainer) + P * sizeof (size_t) + 2 * P * D + 2.0 * nb * O * D;
  if (nb < d->n_train)
    b += (double) nb * (d->n_in + d->n_out) * D;
  b += (double) kan_work_bytes (m, nb);
  if (n_eval > 0)
    {
      size_t r = kan_work_chunk_rows (m, n_eval, KAN_WORK_CHUNK_BYTES);
      b += (double) kan_work_bytes (m, r) + (double) r * O * D;
    }
  /* Worker threads: a workspace, gradient and outputs per slice, and a stack. */
  for (int q = 0; T > 1 && q < T; q++)
    {
      size_t rows = nb * (q + 1) / T - nb * q / T;
      b += (double) kan_work_bytes (m, rows) + P * D + 2.0 * rows * O * D + sizeof (Slice)
           + (q > 0 ? KAN_TRAIN_THREAD_STACK_BYTES : 0);
    }
  /* The optimiser's state. */
  switch (cfg->opt)
    {
    case KAN_OPT_LBFGS:
      /* 2·history pairs, 8 vectors (kan-lbfgs.c), the packed parameters, and the last
       * evaluation with the model state it was made in. */
      b += ((2 * h + 11) * A + 2 * h + P + m->n_state_d) * D + m->n_state_i * sizeof (int)
           + 256;
      break;
    case KAN_OPT_ADAM:
      b += 2 * P * D;
      break;
    case KAN_OPT_LM:
      {
        /* GSL's trust-region workspace: J (residuals × parameters), JᵀJ and its factor
         * (parameters² each) and vectors; a Jacobian row and the start point of ours. */
        double nres = (double) d->n_train * O;
        b += (nres * A + 2 * A * A + 20 * (nres + A) + P + A + O) * D;
      }
      break;
    case KAN_OPT_AUTO:
      /* Resolved above. */
      break;
    }
  /* During a step: a packed gradient, the minibatch draw, and a grid update: the model before
   * it (kept for the step, to go back to) and the update's own memory. */
  step = A * D + (nb < d->n_train ? (double) d->n_train * sizeof (size_t) : 0.0);
  if (cfg->update_grid)
    step += (double) kan_model_bytes (m) + (double) kan_model_update_grid_bytes (m, nb);
  /* After the steps, the caller's evaluations (a chunk and an output per row) and the result
   * written out as text. */
  after = (double) kan_work_bytes (m, kan_work_chunk_rows (m, n_all, KAN_WORK_CHUNK_BYTES))
          + (double) n_all * O * D
          + KAN_TRAIN_SAVE_BYTES_PER_VALUE * (P + m->n_state_d + m->n_state_i
                                              + (double) (d->n_train + d->n_test)
                                                * (d->n_in + d->n_out));
  b += step + after;
  return b >= (double) G_MAXSIZE ? G_MAXSIZE : (gsize) b;
}

KanTrainer *
kan_trainer_new (KanModel             *model,
                 const KanDataset     *data,
                 const KanTrainConfig *cfg_in,
                 GError              **error)
{
  KanTrainer *t;
  KanTrainConfig rc;
  const KanTrainConfig *cfg = &rc;
  int O;

  g_return_val_if_fail (model != NULL && data != NULL && cfg_in != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  rc = *cfg_in;
  rc.opt = kan_train_resolve_optimizer (model, data, cfg_in);

  if (data->n_in != kan_model_n_in (model))
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_SHAPE,
                   "the data have %d input columns but the model takes %d inputs",
                   data->n_in, kan_model_n_in (model));
      return NULL;
    }
  O = kan_model_n_out (model);
  if (cfg->loss == KAN_LOSS_MSE && data->n_out != O)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_SHAPE,
                   "the data have %d target columns but the model has %d outputs",
                   data->n_out, O);
      return NULL;
    }
  if (cfg->loss == KAN_LOSS_CE)
    {
      if (data->n_out != 1)
        {
          g_set_error (error, KAN_ERROR, KAN_ERROR_SHAPE,
                       "cross-entropy needs one target column of class indices, the data have %d",
                       data->n_out);
          return NULL;
        }
      for (size_t b = 0; b < data->n_train + data->n_test; b++)
        {
          double c = b < data->n_train ? data->train_y[b] : data->test_y[b - data->n_train];
          if (c != floor (c) || c < 0 || c >= O)
            {
              g_set_error (error, KAN_ERROR, KAN_ERROR_DATA,
                           "cross-entropy labels must be class indices 0 … %d; found %g", O - 1, c);
              return NULL;
            }
        }
    }
  if (data->n_train < 1)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_DATA, "there are no training rows");
      return NULL;
    }
  if (cfg->steps < 0 || !(cfg->lr > 0) || !isfinite (cfg->lr) || cfg->lamb < 0
      || !isfinite (cfg->lamb))
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID,
                   "invalid training settings (steps %d, lr %g, lamb %g): steps must be ≥ 0, "
                   "lr > 0 and lamb ≥ 0", cfg->steps, cfg->lr, cfg->lamb);
      return NULL;
    }
  if (cfg->opt == KAN_OPT_LM && (cfg->loss != KAN_LOSS_MSE || cfg->lamb > 0))
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID,
                   "Levenberg–Marquardt minimises a plain sum of squares: use the MSE loss "
                   "with lamb = 0, or another optimiser");
      return NULL;
    }
  if (cfg->lbfgs_history < 1 || cfg->lbfgs_max_iter < 1 || cfg->lbfgs_max_eval < 1)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID,
                   "L-BFGS history, iterations and evaluations must be at least 1");
      return NULL;
    }

  {
    double budget = cfg->memory_budget > 0 ? cfg->memory_budget : KAN_TRAIN_BUDGET_BYTES;
    double need = (double) kan_trainer_bytes (model, data, cfg);

    if (need > budget)
      {
        g_set_error (error, KAN_ERROR, KAN_ERROR_BUDGET,
                     "training on %zu rows would need %.3g GiB (model, data, workspaces and "
                     "optimiser state), more than the %g GiB budget; use fewer rows, a smaller "
                     "model or minibatches", data->n_train + data->n_test, need / 1073741824.0,
                     budget / 1073741824.0);
        return NULL;
      }
  }
  if (cfg->opt == KAN_OPT_LM)
    {
      /* The active parameters, counted without the index array. */
      double p = (double) kan_model_active_params (model, NULL);
      double nres = (double) data->n_train * O, flops = lm_step_flops (p, nres);

      if (flops > KAN_LM_MAX_FLOPS)
        {
          g_set_error (error, KAN_ERROR, KAN_ERROR_BUDGET,
                       "Levenberg–Marquardt on %.0f parameters and %.0f residuals needs about "
                       "%.2g operations per step that cannot be interrupted, more than the %.2g "
                       "allowed; use L-BFGS, fewer rows or a smaller model", p, nres, flops,
                       KAN_LM_MAX_FLOPS);
          return NULL;
        }
    }

  blas_single_thread ();
  t = g_new0 (KanTrainer, 1);
  t->model = model;
  t->data = data;
  t->cfg = *cfg;
  t->lm_auto = cfg_in->opt == KAN_OPT_AUTO && cfg->opt == KAN_OPT_LM;
  t->lbfgs_f = NAN;
  if (t->cfg.grid_update_num < 1)
    t->cfg.grid_update_num = 1;
  t->idx = g_new (size_t, MAX (model->n_params, 1));
  refresh_active (t);
  t->nb = batch_rows (data, cfg);
  t->w = kan_work_new (model, t->nb);
  {
    /* Test rows, and with minibatches the whole train set, are evaluated a chunk at a time. */
    size_t n_eval = MAX (data->n_test, t->nb < data->n_train ? data->n_train : 0);
    t->eval_rows = kan_work_chunk_rows (model, n_eval, KAN_WORK_CHUNK_BYTES);
    t->w_eval = kan_work_new (model, t->eval_rows);
    t->eval_out = g_new (double, t->eval_rows * O);
  }
  t->grad = g_new0 (double, MAX (model->n_params, 1));
  t->dout = g_new0 (double, 2 * t->nb * O);
  if (t->nb < data->n_train)
    {
      t->xb = g_new (double, t->nb * data->n_in);
      t->yb = g_new (double, t->nb * data->n_out);
      t->xcur = t->xb;
      t->ycur = t->yb;
    }
  else
    {
      t->xcur = data->train_x;
      t->ycur = data->train_y;
    }
  if (slice_count (cfg, t->nb) > 1)
    {
      int T = slice_count (cfg, t->nb);
      g_mutex_init (&t->lock);
      g_cond_init (&t->cond);
      t->n_slices = T;
      t->spin = T <= (int) g_get_num_processors ();
      t->slices = g_new0 (Slice, T);
      for (int q = 0; q < T; q++)
        {
          Slice *sl = &t->slices[q];
          sl->t = t;
          sl->r0 = t->nb * q / T;
          sl->r1 = t->nb * (q + 1) / T;
          sl->w = kan_work_new (model, sl->r1 - sl->r0);
          sl->grad = g_new0 (double, MAX (model->n_params, 1));
          sl->dout = g_new0 (double, 2 * (sl->r1 - sl->r0) * O);
          if (q > 0)
            sl->thread = g_thread_new ("kan-train", slice_worker, sl);
        }
    }
  t->good = g_memdup2 (model->params, sizeof (double) * MAX (model->n_params, 1));
  t->rng = gsl_rng_alloc (gsl_rng_mt19937);
  gsl_rng_set (t->rng, (unsigned long) cfg->seed);
  t->timer = g_timer_new ();
  g_timer_stop (t->timer);
  if (cfg->opt == KAN_OPT_ADAM)
    {
      t->adam_m = g_new0 (double, MAX (model->n_params, 1));
      t->adam_v = g_new0 (double, MAX (model->n_params, 1));
    }
  return t;
}

void
kan_trainer_free (KanTrainer *t)
{
  if (t == NULL)
    return;
  if (t->lm)
    gsl_multifit_nlinear_free (t->lm);
  kan_lbfgs_free (t->lbfgs);
  g_free (t->xv);
  g_free (t->memo_x);
  g_free (t->memo_g);
  g_free (t->memo_params);
  g_free (t->memo_state_d);
  g_free (t->memo_state_i);
  if (t->slices)
    {
      g_mutex_lock (&t->lock);
      g_atomic_int_set (&t->quit, TRUE);
      g_cond_broadcast (&t->cond);
      g_mutex_unlock (&t->lock);
      for (int q = 0; q < t->n_slices; q++)
        {
          Slice *sl = &t->slices[q];
          if (sl->thread)
            g_thread_join (sl->thread);
          kan_work_free (sl->w);
          g_free (sl->grad);
          g_free (sl->dout);
        }
      g_free (t->slices);
      g_mutex_clear (&t->lock);
      g_cond_clear (&t->cond);
    }
  kan_work_free (t->w);
  kan_work_free (t->w_eval);
  g_free (t->eval_out);
  kan_model_free (t->step_backup);
  g_free (t->idx);
  g_free (t->grad);
  g_free (t->dout);
  g_free (t->xb);
  g_free (t->yb);
  g_free (t->good);
  g_free (t->adam_m);
  g_free (t->adam_v);
  gsl_rng_free (t->rng);
  g_timer_destroy (t->timer);
  g_free (t);
}

int
kan_trainer_steps_done (const KanTrainer *t)
{
  g_return_val_if_fail (t != NULL, 0);
  return t->step;
}

KanOptimizer
kan_trainer_optimizer (const KanTrainer *t)
{
  g_return_val_if_fail (t != NULL, KAN_OPT_LBFGS);
  return t->cfg.opt;
}

double
kan_trainer_evaluate (KanTrainer *t,
                      double     *grad)
{
  double *g, f;

  g_return_val_if_fail (t != NULL, NAN);
  g = grad ? g_new (double, MAX (t->n_act, 1)) : NULL;
  t->cancelled = FALSE;
  f = objective_full (t, g, NULL, NULL);
  if (grad)
    {
      memset (grad, 0, sizeof (double) * t->model->n_params);
      for (size_t q = 0; q < t->n_act; q++)
        grad[t->idx[q]] = g[q];
    }
  g_free (g);
  return t->cancelled ? NAN : f;
}

/* Draws a fresh minibatch without replacement (partial Fisher–Yates over row indices). */
static void
draw_batch (KanTrainer *t)
{
  const KanDataset *d = t->data;
  size_t N = d->n_train;
  size_t *perm;

  if (t->xb == NULL)
    return;
  t->memo_valid = FALSE;
  perm = g_new (size_t, N);
  for (size_t q = 0; q < N; q++)
    perm[q] = q;
  for (size_t q = 0; q < t->nb; q++)
    {
      size_t r = q + gsl_rng_uniform_int (t->rng, N - q);
      size_t tmp = perm[q];
      perm[q] = perm[r];
      perm[r] = tmp;
      memcpy (t->xb + q * d->n_in, d->train_x + perm[q] * d->n_in, sizeof (double) * d->n_in);
      memcpy (t->yb + q * d->n_out, d->train_y + perm[q] * d->n_out, sizeof (double) * d->n_out);
    }
  g_free (perm);
  kan_work_input_changed (t->w);
  for (int q = 0; q < t->n_slices; q++)
    kan_work_input_changed (t->slices[q].w);
}

/* ------------------------------------------------------------------------------------------ */
/* L-BFGS                                                                                      */

/* TRUE if the model is in the state of the memo (the last step's accepted point), so that
 * an evaluation now gives the memo's objective and gradient, bit for bit. */
static gboolean
memo_holds (const KanTrainer *t)
{
  const KanModel *m = t->model;

  return t->memo_valid
         && memcmp (m->params, t->memo_params, sizeof (double) * m->n_params) == 0
         && memcmp (m->state_d, t->memo_state_d, sizeof (double) * m->n_state_d) == 0
         && memcmp (m->state_i, t->memo_state_i, sizeof (int) * m->n_state_i) == 0;
}

static double
lbfgs_objective (void *data, const double *x, double *g)
{
  KanTrainer *t = data;
  gboolean was_bad = t->nonfinite;
  double f;

  unpack (t, x);
  if (g && memo_holds (t) && memcmp (x, t->memo_x, sizeof (double) * t->n_act) == 0)
    {
      memcpy (g, t->memo_g, sizeof (double) * t->n_act);
      return t->memo_f;
    }
  t->nonfinite = FALSE;
  f = objective (t, g);
  if (t->nonfinite)
    f = HUGE_VAL;
  if (g && !t->cancelled)
    {
      memcpy (t->memo_x, x, sizeof (double) * t->n_act);
      memcpy (t->memo_g, g, sizeof (double) * t->n_act);
      t->memo_f = f;
      t->memo_finite = !t->nonfinite;
    }
  t->memo_valid = FALSE;
  t->nonfinite = was_bad;
  return f;
}

/* Keeps the last evaluation as the memo if it was made at the accepted point X, now the
 * model's parameters. */
static void
memo_keep (KanTrainer *t, const double *x)
{
  const KanModel *m = t->model;

  t->memo_valid = FALSE;
  if (!t->memo_finite || memcmp (x, t->memo_x, sizeof (double) * t->n_act) != 0)
    return;
  t->memo_params = g_renew (double, t->memo_params, MAX (m->n_params, 1));
  t->memo_state_d = g_renew (double, t->memo_state_d, MAX (m->n_state_d, 1));
  t->memo_state_i = g_renew (int, t->memo_state_i, MAX (m->n_state_i, 1));
  memcpy (t->memo_params, m->params, sizeof (double) * m->n_params);
  memcpy (t->memo_state_d, m->state_d, sizeof (double) * m->n_state_d);
  memcpy (t->memo_state_i, m->state_i, sizeof (int) * m->n_state_i);
  t->memo_valid = TRUE;
}

static gboolean
step_lbfgs (KanTrainer *t, GError **error)
{
  double f;

  if (t->lbfgs == NULL)
    {
      KanLbfgsParams p;
      kan_lbfgs_params_init (&p);
      p.history = t->cfg.lbfgs_history;
      p.max_iter = t->cfg.lbfgs_max_iter;
      p.max_eval = t->cfg.lbfgs_max_eval;
      p.lr = t->cfg.lr;
      t->lbfgs = kan_lbfgs_new (t->n_act, &p);
      t->xv = g_new (double, MAX (t->n_act, 1));
      t->memo_x = g_new (double, MAX (t->n_act, 1));
      t->memo_g = g_new (double, MAX (t->n_act, 1));
    }
  pack (t, t->xv);
  t->evals_this_step = 0;
  t->lbfgs_f = NAN;
  if (kan_lbfgs_step (t->lbfgs, t->xv, lbfgs_objective, t, t->cancellable, &f) < 0)
    {
      /* Stopped inside the step: the caller goes back to the step's start. */
      t->cancelled = TRUE;
      return TRUE;
    }
  /* The optimiser's x is its accepted point; the model holds the last trial. */
  unpack (t, t->xv);
  t->lbfgs_f = f;
  memo_keep (t, t->xv);
  return TRUE;
}

/* ------------------------------------------------------------------------------------------ */
/* Adam                                                                                        */

static gboolean
step_adam (KanTrainer *t, GError **error)
{
  double *g = g_new (double, MAX (t->n_act, 1));
  double *p = t->model->params;
  double b1t, b2t;

  objective (t, g);
  if (t->cancelled)
    {
      g_free (g);
      return TRUE;
    }
  t->adam_t++;
  b1t = 1.0 - pow (ADAM_BETA1, t->adam_t);
  b2t = 1.0 - pow (ADAM_BETA2, t->adam_t);
  for (size_t q = 0; q < t->n_act; q++)
    {
      size_t k = t->idx[q];
      t->adam_m[k] = ADAM_BETA1 * t->adam_m[k] + (1 - ADAM_BETA1) * g[q];
      t->adam_v[k] = ADAM_BETA2 * t->adam_v[k] + (1 - ADAM_BETA2) * g[q] * g[q];
      p[k] -= t->cfg.lr * (t->adam_m[k] / b1t) / (sqrt (t->adam_v[k] / b2t) + ADAM_EPS);
    }
  g_free (g);
  return TRUE;
}

/* ------------------------------------------------------------------------------------------ */
/* Levenberg–Marquardt                                                                         */

static int
lm_f (const gsl_vector *x, void *params, gsl_vector *f)
{
  KanTrainer *t = params;
  const KanDataset *d = t->data;
  int O = kan_model_n_out (t->model);
  double *out = t->dout;

  unpack (t, x->data);
  kan_model_forward (t->model, t->w, d->train_x, d->n_train, 0.0, out);
  if (kan_work_cancelled (t->w))
    {
      t->cancelled = TRUE;
      return GSL_EBADFUNC;
    }
  t->n_evals++;
  t->evals_this_step++;
  for (size_t q = 0; q < d->n_train * O; q++)
    {
      double r = out[q] - d->train_y[q];
      if (!isfinite (r))
        return GSL_EBADFUNC;
      gsl_vector_set (f, q, r);
    }
  return GSL_SUCCESS;
}

static int
lm_df (const gsl_vector *x, void *params, gsl_matrix *J)
{
  KanTrainer *t = params;
  const KanDataset *d = t->data;

  unpack (t, x->data);
  kan_model_forward (t->model, t->w, d->train_x, d->n_train, 0.0, NULL);
  if (!kan_work_cancelled (t->w))
    kan_model_jacobian (t->model, t->w, t->idx, t->n_act, J->data);
  if (kan_work_cancelled (t->w))
    {
      t->cancelled = TRUE;
      return GSL_EBADFUNC;
    }
  for (size_t q = 0; q < J->size1 * J->size2; q++)
    if (!isfinite (J->data[q]))
      return GSL_EBADFUNC;
  return GSL_SUCCESS;
}

static gboolean
lm_init (KanTrainer *t, GError **error)
{
  gsl_multifit_nlinear_parameters fp = gsl_multifit_nlinear_default_parameters ();
  size_t nres = t->data->n_train * kan_model_n_out (t->model);
  gsl_vector_view x;
  double *x0 = g_new (double, MAX (t->n_act, 1));
  int st;

  if (nres < t->n_act)
    {
      g_free (x0);
      g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID,
                   "Levenberg–Marquardt needs at least as many residuals (%zu) as parameters "
                   "(%zu): add data or use L-BFGS", nres, t->n_act);
      return FALSE;
    }
  /* Geodesic acceleration (Transtrum & Sethna), its second directional derivative by finite
   * differences of the residuals: one more evaluation per iteration, and the runs that plain
   * LM lets stall (T1, model seed 8) converge. */
  fp.trs = gsl_multifit_nlinear_trs_lmaccel;
  fp.avmax = KAN_LM_AVMAX;
  fp.solver = gsl_multifit_nlinear_solver_cholesky;
  /* Chosen automatically: a uniform trust region (Levenberg) instead of one scaled by the
   * Jacobian's column norms (Moré). On T1's model seeds 1–8 (fixed grid) Moré took 15–31
   * steps, Levenberg 10–14; Marquardt stalled on five. */
  if (t->lm_auto)
    fp.scale = gsl_multifit_nlinear_scale_levenberg;
  if (t->lm && (t->lm_fdf.p != t->n_act))
    {
      gsl_multifit_nlinear_free (t->lm);
      t->lm = NULL;
    }
  if (t->lm == NULL)
    t->lm = gsl_multifit_nlinear_alloc (gsl_multifit_nlinear_trust, &fp, nres, t->n_act);
  t->lm_fdf.f = lm_f;
  t->lm_fdf.df = lm_df;
  t->lm_fdf.fvv = NULL;
  t->lm_fdf.n = nres;
  t->lm_fdf.p = t->n_act;
  t->lm_fdf.params = t;
  pack (t, x0);
  x = gsl_vector_view_array (x0, t->n_act);
  st = gsl_multifit_nlinear_init (&x.vector, &t->lm_fdf, t->lm);
  g_free (x0);
  if (st != GSL_SUCCESS)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_NONFINITE,
                   "Levenberg–Marquardt could not start: %s", gsl_strerror (st));
      return FALSE;
    }
  t->lm_ready = TRUE;
  return TRUE;
}

static void restore_step_start (KanTrainer *t);

static gboolean
step_lm (KanTrainer *t, GError **error)
{
  int st;

  /* Nothing to move (every edge pruned or frozen): a step changes nothing. */
  if (t->n_act == 0)
    return TRUE;
  if (!t->lm_ready && !lm_init (t, error))
    return FALSE;
  st = gsl_multifit_nlinear_iterate (t->lm);
  /* The solver's x is its accepted point; a rejected or failed trial leaves it where it was. */
  {
    const gsl_vector *pos = gsl_multifit_nlinear_position (t->lm);
    gboolean finite = TRUE;
    for (size_t q = 0; q < pos->size; q++)
      finite = finite && isfinite (pos->data[q]);
    if (finite)
      unpack (t, pos->data);
    else
      restore_step_start (t);
  }
  /* A trial point with non-finite residuals (GSL_EBADFUNC), no progress (GSL_ENOPROG, typical
   * at convergence) or a singular system are not failures of the model: the accepted point
   * stands, and the solver starts afresh from it next step. Whether the model itself is finite
   * is checked after every step. */
  if (st != GSL_SUCCESS)
    t->lm_ready = FALSE;
  return TRUE;
}

/* After an LM step, the loss at the solver's accepted point from the residuals it holds (the
 * model holds that point too), instead of evaluating the model again; after an L-BFGS step
 * without regulariser, the objective L-BFGS evaluated at its accepted point (with a finite
 * gradient: it rejects others), the same bits as evaluating again at the same parameters.
 * FALSE when there is nothing to read or it is not finite: the caller evaluates. */
static gboolean
step_end_loss (KanTrainer *t, double *loss)
{
  const gsl_vector *r;
  double f = 0.0;

  if (t->cfg.opt == KAN_OPT_LBFGS && t->cfg.lamb == 0 && isfinite (t->lbfgs_f))
    {
      *loss = t->lbfgs_f;
      return TRUE;
    }
  if (t->cfg.opt != KAN_OPT_LM || !t->lm_ready || t->lm == NULL)
    return FALSE;
  r = gsl_multifit_nlinear_residual (t->lm);
  for (size_t q = 0; q < r->size; q++)
    f += r->data[q] * r->data[q];
  if (!isfinite (f))
    return FALSE;
  *loss = f / r->size;
  return TRUE;
}

/* ------------------------------------------------------------------------------------------ */
/* Step                                                                                        */

/* Loss on N rows of X, Y through the evaluation workspace; NaN with t->cancelled set if the
 * step was cancelled meanwhile. */
static double
eval_loss (KanTrainer *t, const double *x, const double *y, size_t n)
{
  double f = loss_chunked (t->model, t->w_eval, t->eval_out, t->eval_rows, t->cfg.loss, x, y,
                           t->data->n_out, n);
  if (kan_work_cancelled (t->w_eval))
    t->cancelled = TRUE;
  return f;
}

/* LM chosen by KAN_OPT_AUTO keeps the grid: every update moves the least-squares problem under
 * the solver, which starts afresh after it; on T1 (model seeds 1–8) pykan's schedule took
 * 21–50 LM steps (one seed never reached the accuracy) against 10–14 with a fixed grid. */
static gboolean
grid_update_due (const KanTrainer *t, int s)
{
  const KanTrainConfig *c = &t->cfg;
  int freq = MAX (1, c->stop_grid_update_step / c->grid_update_num);
  if (t->lm_auto)
    return FALSE;
  return c->update_grid && s % freq == 0 && s < c->stop_grid_update_step
         && s >= c->start_grid_update_step;
}

static void
inputs_changed (KanTrainer *t)
{
  kan_work_input_changed (t->w);
  kan_work_input_changed (t->w_eval);
  for (int q = 0; q < t->n_slices; q++)
    kan_work_input_changed (t->slices[q].w);
}

/* Puts the model back as it was when this step started: its knots too if a grid update
 * changed them, else its parameters. */
static void
restore_step_start (KanTrainer *t)
{
  if (t->step_backup != NULL)
    kan_model_restore (t->model, t->step_backup);
  else
    memcpy (t->model->params, t->good, sizeof (double) * t->model->n_params);
  inputs_changed (t);
}

/* Grid update on the current batch, kept only if the loss does not rise beyond tolerance.
 * A kept update leaves the model before it in t->step_backup until the step ends. */
static void
checked_grid_update (KanTrainer *t, gboolean *rejected)
{
  KanModel *m = t->model;
  KanModel *backup = kan_model_copy (m);
  double before, after = NAN;
  gboolean ok;

  /* The loss of the last step's accepted point, unless anything changed since (with lamb > 0
   * the objective is not the loss alone, and is evaluated). */
  if (t->cfg.lamb == 0 && memo_holds (t))
    before = t->memo_f;
  else
    before = objective (t, NULL);
  ok = !t->cancelled
       && kan_model_update_grid_work (m, t->w, t->xcur, t->nb, t->cancellable, NULL);
  if (t->cancellable != NULL && g_cancellable_is_cancelled (t->cancellable))
    t->cancelled = TRUE;
  inputs_changed (t);
  if (ok && !t->cancelled)
    after = objective (t, NULL);
  /* A failed refit, or one that makes the loss worse, leaves the old grid in place. */
  *rejected = t->cancelled || !ok || !(after <= before * (1.0 + t->cfg.grid_update_tolerance));
  if (*rejected)
    {
      kan_model_restore (m, backup);
      inputs_changed (t);
      kan_model_free (backup);
    }
  else
    t->step_backup = backup;
  t->nonfinite = FALSE;
}

gboolean
kan_trainer_step (KanTrainer    *t,
                  GCancellable  *cancellable,
                  KanStepInfo   *info,
                  GError       **error)
{
  KanModel *m;
  const KanDataset *d;
  g_autoptr (GError) local = NULL;
  gboolean ok = TRUE, grid_updated = FALSE, grid_rejected = FALSE;
  double f = NAN, loss = NAN, reg = 0.0, train_rmse = NAN, test_rmse = NAN;
  int s;

  g_return_val_if_fail (t != NULL, FALSE);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  m = t->model;
  d = t->data;
  s = t->step;

  if (cancellable && g_cancellable_is_cancelled (cancellable))
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_CANCELLED, "training was stopped");
      return FALSE;
    }
  /* Every evaluation of the step looks at CANCELLABLE as it goes. */
  t->cancellable = cancellable;
  t->cancelled = FALSE;
  kan_work_set_cancellable (t->w, cancellable);
  kan_work_set_cancellable (t->w_eval, cancellable);
  for (int q = 0; q < t->n_slices; q++)
    kan_work_set_cancellable (t->slices[q].w, cancellable);
  g_timer_continue (t->timer);
  t->nonfinite = FALSE;
  memcpy (t->good, m->params, sizeof (double) * m->n_params);

  draw_batch (t);
  if (grid_update_due (t, s))
    {
      checked_grid_update (t, &grid_rejected);
      grid_updated = !grid_rejected;
      if (grid_updated)
        t->lm_ready = FALSE;
    }

  if (!t->cancelled)
    switch (t->cfg.opt)
      {
      case KAN_OPT_LBFGS:
        ok = step_lbfgs (t, &local);
        break;
      case KAN_OPT_ADAM:
        ok = step_adam (t, &local);
        break;
      case KAN_OPT_LM:
        ok = step_lm (t, &local);
        break;
      case KAN_OPT_AUTO:
        /* Resolved in kan_trainer_new. */
        g_assert_not_reached ();
      }

  /* The state the step ends in must be finite: objective, gradient and parameters. */
  if (ok && !t->cancelled)
    {
      if (!step_end_loss (t, &f))
        {
          double *g = g_new (double, MAX (t->n_act, 1));
          f = objective_full (t, g, &loss, &reg);
          g_free (g);
        }
      else
        loss = f;
      if (!t->cancelled && (t->nonfinite || !kan_model_is_finite (m)))
        {
          restore_step_start (t);
          t->lm_ready = FALSE;
          g_set_error (&local, KAN_ERROR, KAN_ERROR_NONFINITE,
                       "step %d: the loss or its gradient became non-finite (NaN or Inf); the "
                       "model was restored to its parameters before this step. Try a smaller "
                       "learning rate%s.", s + 1,
                       t->cfg.singularity_avoiding ? "" : " or singularity avoidance");
          ok = FALSE;
        }
    }
  /* With minibatches the step's loss is a sample; report the whole train set. */
  if (ok && !t->cancelled && info)
    {
      train_rmse = t->xb != NULL ? sqrt (eval_loss (t, d->train_x, d->train_y, d->n_train))
                                 : sqrt (loss);
      if (d->n_test > 0)
        test_rmse = sqrt (eval_loss (t, d->test_x, d->test_y, d->n_test));
    }

  /* Cancelled part-way: nothing of the step stays, and the optimisers forget the trial points
   * they saw (their next step starts afresh from the restored model). */
  if (t->cancelled)
    {
      restore_step_start (t);
      if (t->lbfgs)
        kan_lbfgs_reset (t->lbfgs);
      t->lm_ready = FALSE;
      g_clear_error (&local);
      g_set_error (&local, KAN_ERROR, KAN_ERROR_CANCELLED,
                   "training was stopped during step %d; the model is as it was before it",
                   s + 1);
      ok = FALSE;
    }
  g_clear_pointer (&t->step_backup, kan_model_free);
  g_timer_stop (t->timer);
  if (!ok)
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }

  t->step++;
  if (info)
    {
      info->step = s;
      info->loss = f;
      info->reg = reg;
      info->train_rmse = train_rmse;
      info->test_rmse = test_rmse;
      info->n_evals = t->n_evals;
      info->seconds = g_timer_elapsed (t->timer, NULL);
      info->grid_updated = grid_updated;
      info->grid_rejected = grid_rejected;
    }
  return TRUE;
}

/* ------------------------------------------------------------------------------------------ */
/* Caller-fed rows                                                                             */

void
kan_trainer_rows_changed (KanTrainer *t)
{
  g_return_if_fail (t != NULL);
  t->memo_valid = FALSE;
  inputs_changed (t);
}
