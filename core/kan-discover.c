/* kan-discover.c — from data to a closed-form formula in one call (see kan-discover.h). */
#include "kan-discover.h"
#include "kan-canon.h"
#include "kan-decompose.h"
#include "kan-error.h"
#include "kan-formula.h"
#include "kan-lock.h"
#include "kan-noise.h"
#include "kan-prune.h"
#include "kan-symbolic.h"
#include "kan-train.h"

#include <math.h>
#include <string.h>

/* LM on a spline or locked network stops early once a step lowers the train loss by less than
 * this share, this many times in a row: it has converged and more steps only cost time. */
#define LM_STALL_REL    1e-9
#define LM_STALL_STEPS  4
/* A selection rule counts a function as fitting an edge as well as the best one when its
 * unexplained variance 1 − R² is at most this many times the best's (or below the floor). */
#define SELECT_R2_FACTOR 10.0
#define SELECT_R2_FLOOR  1e-12
/* A formula is within the noise when its test RMSE is at most this times the best general
 * network's: no smooth model of these data does better. */
#define NOISE_FLOOR_SHARE 1.01
/* A terms candidate ends the search only if its error is at least this share of the general
 * network's (see check_noise). */
#define TERMS_FLOOR_SHARE 0.5
/* The general network's error sizes the noise only within this factor of the best candidate's
 * (see check_noise). */
#define NET_FLOOR_CREDIBLE 30.0
/* Data are taken as noise-free when a general network fits them within this share of std(y). */
#define QUIET_SHARE 1e-3
/* Selection among formulas when the most accurate one leaves only noise: at most this much
 * above its RMSE (an RMSE over 200 test rows varies by about 5 %, over 1000 by 2 %). */
#define NOISE_SELECT_MARGIN 0.15
/* ... counting only networks whose test RMSE is at most this share of std(y) (R² ≥ 0.91): the
 * noise a poorer fit leaves is no estimate of the labels' noise. */
#define NOISE_FLOOR_MAX_SHARE 0.3
/* ... and whose residuals a small network (n,RESIDUAL_HIDDEN,1 at G = RESIDUAL_GRID,
 * RESIDUAL_STEPS LM steps) cannot explain: at most this share of their variance on the test
 * rows. */
#define RESIDUAL_GRID      3
#define RESIDUAL_HIDDEN    3
#define RESIDUAL_STEPS     30
#define RESIDUAL_EXPLAINED 0.05
/* At the end, the formulas of the front within this factor of the selection limit are
 * settled (kan-noise.h), at most SETTLE_MAX of them, simplest first; then, up to
 * SETTLE_MAX_OFF_FRONT more, formulas off the front within the limit itself: with noise a
 * flexible formula can shadow the true one until the true one's constants settle (an
 * a·exp(b·u) + c behind a c/(u + d) + e of one node less). */
#define SETTLE_MARGIN     2.0
#define SETTLE_MAX        12
#define SETTLE_MAX_OFF_FRONT 8
#define SETTLE_OFF_FRONT_CONSTANTS 6
/* Settling refits a formula once per free constant: formulas with more constants than this
 * are towers snapping cannot make exact, and are left as they are. Past the time limit,
 * settling goes on for at most SETTLE_GRACE_SHARE of the limit (at least SETTLE_GRACE_MIN s). */
#define SETTLE_MAX_CONSTANTS 16
#define SETTLE_GRACE_SHARE   0.05
#define SETTLE_GRACE_MIN     1.0

void
kan_discover_options_init (KanDiscoverOptions *o)
{
  memset (o, 0, sizeof *o);
  o->n_seeds = 4;
  o->seed = 1;
  o->grid = 5;
  o->fine_grid = 20;
  o->fit_steps = 100;
  o->sparse_steps = 50;
  o->lamb = 1e-3;
  o->symbolic_steps = 100;
  o->exact_tol = 1e-9;
  o->accuracy_tol = 1.0;
  o->time_limit = 0.0;
  o->decompose = 2;
}

char **
kan_discover_default_widths (int n_in)
{
  GPtrArray *w = g_ptr_array_new ();

  g_ptr_array_add (w, g_strdup_printf ("%d,1", n_in));
  g_ptr_array_add (w, g_strdup_printf ("%d,1,1", n_in));
  if (n_in >= 2)
    g_ptr_array_add (w, g_strdup_printf ("%d,[0,1],1", n_in));
  /* A product of one function of each input (power laws such as G·m1·m2/r²): one
   * multiplication node of arity n. Then a sum next to a product (x1·x2 + sin x3). */
  if (n_in >= 3)
    g_ptr_array_add (w, g_strdup_printf ("%d,[0,1],1|%d", n_in, n_in));
  if (n_in >= 2)
    g_ptr_array_add (w, g_strdup_printf ("%d,[1,1],1", n_in));
  g_ptr_array_add (w, g_strdup_printf ("%d,2,1", n_in));
  g_ptr_array_add (w, g_strdup_printf ("%d,3,1", n_in));
  g_ptr_array_add (w, g_strdup_printf ("%d,5,1", n_in));
  g_ptr_array_add (w, NULL);
  return (char **) g_ptr_array_free (w, FALSE);
}

/* ------------------------------------------------------------------------------------------ */
/* Data in its own units                                                                       */

/* The rows of D as the user gave them: normalisation undone. Output 0 only. */
typedef struct
{
  int     n_in;
  size_t  n_train, n_test;
  double *train_x, *train_y, *test_x, *test_y;
  double  y_std;   /* std of the raw train labels */
} RawData;

static void
raw_part (const KanDataset *d, const double *x, const double *y, size_t n,
          double **rx, double **ry)
{
  int I = d->n_in, O = d->n_out;

  *rx = g_new (double, MAX (n * I, 1));
  *ry = g_new (double, MAX (n, 1));
  for (size_t r = 0; r < n; r++)
    {
      for (int i = 0; i < I; i++)
        (*rx)[r * I + i] = d->in_mean ? x[r * I + i] * d->in_std[i] + d->in_mean[i]
                                      : x[r * I + i];
      (*ry)[r] = d->out_mean ? y[r * O] * d->out_std[0] + d->out_mean[0] : y[r * O];
    }
}

static void
raw_init (RawData *r, const KanDataset *d)
{
  double mu = 0.0, ss = 0.0;

  r->n_in = d->n_in;
  r->n_train = d->n_train;
  r->n_test = d->n_test;
  raw_part (d, d->train_x, d->train_y, d->n_train, &r->train_x, &r->train_y);
  raw_part (d, d->test_x, d->test_y, d->n_test, &r->test_x, &r->test_y);
  for (size_t q = 0; q < r->n_train; q++)
    mu += r->train_y[q];
  mu /= MAX (r->n_train, 1);
  for (size_t q = 0; q < r->n_train; q++)
    ss += (r->train_y[q] - mu) * (r->train_y[q] - mu);
  r->y_std = r->n_train > 1 ? sqrt (ss / (r->n_train - 1)) : 0.0;
}

static void
raw_clear (RawData *r)
{
  g_free (r->train_x);
  g_free (r->train_y);
  g_free (r->test_x);
  g_free (r->test_y);
}

double
kan_discover_rmse (const KanExpr *e, const KanDataset *d, gboolean test)
{
  RawData r;
  double v;

  if ((test ? d->n_test : d->n_train) == 0)
    return NAN;
  raw_init (&r, d);
  v = test ? kan_expr_rmse (e, r.test_x, r.n_in, r.test_y, 1, r.n_test)
           : kan_expr_rmse (e, r.train_x, r.n_in, r.train_y, 1, r.n_train);
  raw_clear (&r);
  return v;
}

/* ------------------------------------------------------------------------------------------ */
/* Formula of a locked model                                                                   */

/* E with every variable i replaced by (x_i − mean_i)/std_i and the result by E·std + mean:
 * the formula over the user's units. Takes E. */
static KanExpr *
denormalise (KanExpr *e, const KanDataset *d)
{
  if (e == NULL)
    return NULL;
  if (e->kind == KAN_EXPR_VAR && d->in_mean)
    {
      int i = e->var;
      kan_expr_free (e);
      return kan_expr_binary (KAN_EXPR_DIV,
                              kan_expr_binary (KAN_EXPR_SUB, kan_expr_var (i),
                                               kan_expr_num (d->in_mean[i])),
                              kan_expr_num (d->in_std[i]));
    }
  e->a = denormalise (e->a, d);
  e->b = denormalise (e->b, d);
  return e;
}

KanExpr *
kan_discover_formula (const KanModel *m, const KanDataset *d, gboolean snap, double snap_tol,
                      char ***numeric_edges_out, GError **error)
{
  KanExpr **f, *e;
  RawData r;

  g_return_val_if_fail (m != NULL && d != NULL, NULL);
  if (d->n_in != kan_model_n_in (m) || d->n_out < 1)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_SHAPE,
                   "the data have %d input columns but the model takes %d inputs",
                   d->n_in, kan_model_n_in (m));
      return NULL;
    }
  f = kan_formula_compose (m, numeric_edges_out, error);
  if (f == NULL)
    return NULL;
  e = f[0];
  f[0] = NULL;
  for (int q = 1; f[q]; q++)
    kan_expr_free (f[q]);
  g_free (f);

  e = denormalise (e, d);
  if (d->out_mean)
    e = kan_expr_binary (KAN_EXPR_ADD, kan_expr_binary (KAN_EXPR_MUL, kan_expr_num (d->out_std[0]), e), kan_expr_num (d->out_mean[0]));
  raw_init (&r, d);
  e = kan_canon_polish (e, snap ? &(KanCanonRows) { r.train_x, r.n_in, r.train_y, r.n_train, r.y_std } : NULL,
                        snap_tol);
  raw_clear (&r);
  return e;
}

KanExpr *
kan_discover_polish (KanExpr *e, const KanDataset *d, double snap_tol)
{
  RawData r;

  g_return_val_if_fail (e != NULL && d != NULL, e);
  raw_init (&r, d);
  e = kan_canon_polish (e, &(KanCanonRows) { r.train_x, r.n_in, r.train_y, r.n_train, r.y_std },
                        snap_tol);
  raw_clear (&r);
  return e;
}

/* ------------------------------------------------------------------------------------------ */
/* Training                                                                                    */

/* Trains M in place. A non-finite step ends the run early with the last finite parameters and
 * is not an error; only cancellation and bad configurations are. */
gboolean
kan_discover_train (KanModel *m, const KanDataset *d, KanOptimizer opt, int steps, double lamb,
                    gboolean update_grid, GCancellable *cancellable, GError **error)
{
  KanTrainConfig cfg;
  KanTrainer *t;
  KanStepInfo info;
  double last = HUGE_VAL;
  int stalled = 0;

  kan_train_config_init (&cfg);
  cfg.opt = opt;
  cfg.steps = steps;
  cfg.lamb = lamb;
  cfg.update_grid = update_grid;
  cfg.stop_grid_update_step = steps;
  t = kan_trainer_new (m, d, &cfg, error);
  if (t == NULL)
    return FALSE;
  for (int s = 0; s < steps; s++)
    {
      g_autoptr (GError) local = NULL;

      if (!kan_trainer_step (t, cancellable, &info, &local))
        {
          if (g_error_matches (local, KAN_ERROR, KAN_ERROR_NONFINITE))
            break;
          g_propagate_error (error, g_steal_pointer (&local));
          kan_trainer_free (t);
          return FALSE;
        }
      if (opt == KAN_OPT_LM)
        {
          stalled = info.loss >= last * (1.0 - LM_STALL_REL) ? stalled + 1 : 0;
          last = MIN (last, info.loss);
          if (stalled >= LM_STALL_STEPS || info.loss == 0.0)
            break;
        }
    }
  kan_trainer_free (t);
  return TRUE;
}

/* ------------------------------------------------------------------------------------------ */
/* Locking                                                                                     */

typedef enum
{
  SELECT_EXACT_SIMPLEST,  /* the simplest function fitting as well as the best one */
  SELECT_PYKAN,           /* pykan's ranking (simplicity weighted 0.8) */
  SELECT_BEST_R2,         /* the best fit, ties to the simpler */
  N_SELECT
} Select;

/* Position of SYM_ID in LIB (ties of complexity go to the earlier function). */
static int
lib_rank (const int *lib, int n_lib, int sym_id)
{
  for (int q = 0; q < n_lib; q++)
    if (lib[q] == sym_id)
      return q;
  return n_lib;
}

/* The fit RULE picks from FITS. Under the R² rules, functions of equal complexity that fit
 * equally well go by library order, not by the last digits of R²: a sin or a gaussian with a
 * tiny a·x mimics x^2 as well as x^2 itself fits a spline. */
static const KanSymFit *
select_fit (const KanSymFit *fits, int n, const int *lib, int n_lib, Select rule)
{
  const KanSymFit *best = NULL;
  double best_u = HUGE_VAL;

  if (n == 0)
    return NULL;
  gboolean all_degenerate = TRUE;

  if (rule == SELECT_PYKAN)
    return &fits[0];
  /* Degenerate fits (kan-symfit.h) only count when there is nothing else. */
  for (int q = 0; q < n; q++)
    all_degenerate &= fits[q].degenerate;
  for (int q = 0; q < n; q++)
    if (1.0 - fits[q].r2 < best_u && (all_degenerate || !fits[q].degenerate))
      best_u = 1.0 - fits[q].r2;
  for (int q = 0; q < n; q++)
    {
      double u = 1.0 - fits[q].r2;
      if (fits[q].degenerate && !all_degenerate)
        continue;
      gboolean ok = rule == SELECT_BEST_R2 ? u <= best_u + SELECT_R2_FLOOR
                                           : u <= SELECT_R2_FACTOR * best_u + SELECT_R2_FLOOR;
      if (!ok)
        continue;
      if (best == NULL || fits[q].complexity < best->complexity
          || (fits[q].complexity == best->complexity
              && lib_rank (lib, n_lib, fits[q].sym_id) < lib_rank (lib, n_lib, best->sym_id)))
        best = &fits[q];
    }
  return best;
}

/* Locks every numeric edge of M, layer by layer, under RULE; NAMES receives the function
 * names in edge order. */
static gboolean
lock_all (KanModel *m, const KanDataset *d, const int *lib, int n_lib, Select rule,
          GString *names, GCancellable *cancellable, GError **error)
{
  for (int l = 0; l < kan_model_depth (m); l++)
    for (int i = 0; i < kan_model_layer_in (m, l); i++)
      for (int j = 0; j < kan_model_layer_out (m, l); j++)
        {
          KanSymFit *fits;
          const KanSymFit *f;
          int n = 0;

          if (kan_model_edge_mode (m, l, i, j) != KAN_EDGE_NUMERIC)
            continue;
          /* An edge's fits take milliseconds; a wide network has many edges. */
          if (g_cancellable_is_cancelled (cancellable))
            {
              g_set_error (error, KAN_ERROR, KAN_ERROR_CANCELLED, "discover was stopped");
              return FALSE;
            }
          fits = kan_model_suggest (m, d->train_x, d->n_train, l, i, j, lib, n_lib, NULL, &n,
                                    error);
          if (fits == NULL)
            return FALSE;
          f = select_fit (fits, n, lib, n_lib, rule);
          if (f == NULL)
            {
              g_free (fits);
              g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID,
                           "no library function fits edge (%d,%d,%d)", l, i, j);
              return FALSE;
            }
          {
            double abcd[4] = { f->a, f->b, f->c, f->d };
            kan_model_set_edge (m, l, i, j, KAN_EDGE_SYMBOLIC, f->sym_id, abcd);
          }
          g_string_append_printf (names, "%s%s", names->len ? "," : "",
                                  kan_sym_info (f->sym_id)->name);
          g_free (fits);
        }
  return TRUE;
}

/* ------------------------------------------------------------------------------------------ */
/* The search                                                                                  */

typedef struct
{
  const KanDataset         *d;
  KanDataset               *train_only;  /* D without test rows: trainers skip test RMSEs */
  const KanDiscoverOptions *o;
  const int                *lib;
  int                       n_lib;
  RawData                   raw;
  KanDiscoverResult        *res;
  GPtrArray                *cands;       /* every candidate */
  GTimer                   *timer;
  gboolean                  exact;
  /* The smallest test RMSE of a general network so far (see KanDiscoverResult.noise), and
   * whether a candidate reached it (the search then stops: the data cannot tell better). */
  double                    net_floor;
  gboolean                  within_noise;
  guint                     checked;     /* candidates before this one were checked for it */
  /* Cancelled by the caller's cancellable or at the time limit; every stage watches it. */
  GCancellable             *stop;
  gboolean                  report;      /* call o->progress after each stage */
  /* Exact formulas of the terms stage held back until the oracle stage's turn (see
   * decompose_stage), KanDecomposeFormula. */
  GPtrArray                *held;
} Search;

static void
stage_free (KanDiscoverStage *s)
{
  g_free (s->stage);
  g_free (s->width);
  g_free (s->detail);
  g_free (s);
}

static void
candidate_free (KanDiscoverCandidate *c)
{
  if (c == NULL)
    return;
  kan_expr_free (c->expr);
  kan_expr_fit_free (c->fit);
  g_free (c->text);
  g_free (c->width);
  g_free (c->lock);
  kan_model_free (c->model);
  g_free (c);
}

void
kan_discover_result_free (KanDiscoverResult *r)
{
  if (r == NULL)
    return;
  kan_dataset_free (r->model_data);
  g_ptr_array_unref (r->stages);
  g_ptr_array_unref (r->pareto);
  g_free (r);
}

/* RMSE of M on D's train or test rows, in the labels' own units. */
static double
model_rmse (const KanModel *m, const KanDataset *d, gboolean test)
{
  size_t n = test ? d->n_test : d->n_train;
  double v;

  if (n == 0)
    return NAN;
  v = sqrt (kan_model_loss (m, KAN_LOSS_MSE, test ? d->test_x : d->train_x,
                            test ? d->test_y : d->train_y, n));
  return d->out_std ? v * d->out_std[0] : v;
}

static double judged_rmse (const KanDiscoverCandidate *c);

/* Tells the caller's progress function about stage ST. */
static void
report (const Search *s, const KanDiscoverStage *st)
{
  KanDiscoverProgress p = { st->stage, st->width, (int) s->cands->len, NULL, NAN,
                            g_timer_elapsed (s->timer, NULL),
                            (const KanDiscoverCandidate *const *) s->cands->pdata };

  if (!s->report || s->o->progress == NULL)
    return;
  for (guint q = 0; q < s->cands->len; q++)
    {
      const KanDiscoverCandidate *c = s->cands->pdata[q];
      if (isfinite (judged_rmse (c)) && !(judged_rmse (c) >= p.best_rmse))
        {
          p.best_rmse = judged_rmse (c);
          p.best_text = c->text;
        }
    }
  s->o->progress (&p, s->o->progress_data);
}

static void
add_stage (Search *s, const char *stage, const char *width, guint64 seed, const char *detail,
           const KanModel *m, double t0)
{
  KanDiscoverStage *st = g_new0 (KanDiscoverStage, 1);

  st->stage = g_strdup (stage);
  st->width = g_strdup (width);
  st->seed = seed;
  st->detail = g_strdup (detail);
  st->train_rmse = m ? model_rmse (m, s->d, FALSE) : NAN;
  st->test_rmse = m ? model_rmse (m, s->d, TRUE) : NAN;
  st->seconds = g_timer_elapsed (s->timer, NULL) - t0;
  g_ptr_array_add (s->res->stages, st);
  report (s, st);
}

static gboolean
cancelled (const Search *s, GError **error)
{
  return g_cancellable_set_error_if_cancelled (s->stop, error)
         ? (g_clear_error (error),
            g_set_error (error, KAN_ERROR, KAN_ERROR_CANCELLED, "discover was stopped"), TRUE)
         : FALSE;
}

/* The RMSE a candidate is judged by: test rows if there are any. */
static double
judged_rmse (const KanDiscoverCandidate *c)
{
  return isnan (c->test_rmse) ? c->train_rmse : c->test_rmse;
}

static gboolean
is_exact (const Search *s, double rmse)
{
  return rmse <= s->o->exact_tol * MAX (s->raw.y_std, G_MINDOUBLE);
}

/* Locks a copy of M under each rule, fine-tunes it and keeps its formula as a candidate. */
static gboolean
symbolic_stage (Search *s, const KanModel *m, const char *width, guint64 seed, GError **error)
{
  GPtrArray *seen = g_ptr_array_new_with_free_func (g_free);

  for (int rule = 0; rule < N_SELECT && !s->exact; rule++)
    {
      g_autoptr (KanModel) lm = kan_model_copy (m);
      g_autoptr (GString) names = g_string_new (NULL);
      g_autoptr (GError) local = NULL;
      g_autofree char *detail = NULL;
      KanDiscoverCandidate *c;
      KanExpr *e;
      double t0 = g_timer_elapsed (s->timer, NULL);
      gboolean dup = FALSE;

      if (cancelled (s, error))
        goto fail;
      if (!lock_all (lm, s->d, s->lib, s->n_lib, rule, names, s->stop, &local))
        {
          if (cancelled (s, error))
            goto fail;
          continue;  /* an edge no function fits: this rule gives no candidate */
        }
      for (guint q = 0; q < seen->len; q++)
        dup |= strcmp (seen->pdata[q], names->str) == 0;
      if (dup)
        continue;
      g_ptr_array_add (seen, g_strdup (names->str));
      detail = g_strdup_printf ("lock=%s", names->str);
      add_stage (s, "symbolic", width, seed, detail, lm, t0);

      t0 = g_timer_elapsed (s->timer, NULL);
      if (!kan_discover_train (lm, s->train_only, KAN_OPT_LM, s->o->symbolic_steps, 0.0, FALSE,
                  s->stop, error))
        goto fail;
      add_stage (s, "retrain", width, seed, detail, lm, t0);

      e = kan_discover_formula (lm, s->d, TRUE, s->o->exact_tol, NULL, &local);
      if (e == NULL)
        continue;
      c = g_new0 (KanDiscoverCandidate, 1);
      c->expr = e;
      c->text = kan_expr_to_string (e, (const char *const *) s->d->in_names,
                                    KAN_EXPR_STYLE_TEXT);
      c->complexity = kan_expr_size (e);
      c->train_rmse = kan_expr_rmse (e, s->raw.train_x, s->raw.n_in, s->raw.train_y, 1,
                                     s->raw.n_train);
      c->test_rmse = s->raw.n_test
                     ? kan_expr_rmse (e, s->raw.test_x, s->raw.n_in, s->raw.test_y, 1,
                                      s->raw.n_test)
                     : NAN;
      c->width = g_strdup (width);
      c->seed = seed;
      c->lock = g_strdup (names->str);
      c->model = g_steal_pointer (&lm);
      g_ptr_array_add (s->cands, c);
      if (isfinite (judged_rmse (c)) && is_exact (s, judged_rmse (c)))
        s->exact = TRUE;
    }
  g_ptr_array_unref (seen);
  return TRUE;

fail:
  g_ptr_array_unref (seen);
  return FALSE;
}

/* F (a formula of the decomposition; its expression and network are taken) as a candidate.
 * Returns whether it is exact. */
static gboolean
add_formula (Search *s, KanDecomposeFormula *f)
{
  KanDiscoverCandidate *c = g_new0 (KanDiscoverCandidate, 1);

  c->expr = g_steal_pointer (&f->expr);
  c->text = kan_expr_to_string (c->expr, (const char *const *) s->d->in_names,
                                KAN_EXPR_STYLE_TEXT);
  c->complexity = kan_expr_size (c->expr);
  c->train_rmse = kan_expr_rmse (c->expr, s->raw.train_x, s->raw.n_in, s->raw.train_y, 1,
                                 s->raw.n_train);
  c->test_rmse = s->raw.n_test ? kan_expr_rmse (c->expr, s->raw.test_x, s->raw.n_in,
                                                s->raw.test_y, 1, s->raw.n_test)
                               : NAN;
  c->width = g_strdup (f->width);
  c->lock = g_strdup (f->lock);
  c->model = g_steal_pointer (&f->model);
  g_ptr_array_add (s->cands, c);
  return isfinite (judged_rmse (c)) && is_exact (s, judged_rmse (c));
}

/* A general network (one that can fit any smooth function) reached RMSE on the rows
 * candidates are judged by. */
static void
note_general_net (Search *s, double rmse)
{
  /* A network that leaves most of the variance unexplained says nothing about the noise. */
  if (isfinite (rmse) && rmse <= NOISE_FLOOR_MAX_SHARE * s->raw.y_std)
    s->net_floor = MIN (s->net_floor, rmse);
}

/* Whether settling C is worth its time (see SETTLE_MAX_CONSTANTS, SETTLE_GRACE_SHARE). */
static gboolean
settle_allowed (Search *s, const KanDiscoverCandidate *c)
{
  g_autoptr (KanExpr) copy = kan_expr_copy (c->expr);
  g_autofree KanExpr **consts = NULL;
  double limit = s->o->time_limit;

  if (limit > 0 && g_timer_elapsed (s->timer, NULL)
                    > limit + MAX (SETTLE_GRACE_MIN, SETTLE_GRACE_SHARE * limit))
    return FALSE;
  return kan_expr_free_constants (copy, &consts) <= SETTLE_MAX_CONSTANTS;
}

/* Whether settling C, a formula off the front, is worth its time: only before the time
 * limit, and only for a formula of at most SETTLE_OFF_FRONT_CONSTANTS free constants (a true
 * law shadowed by a flexible imitation is a simple one). */
static gboolean
off_front_allowed (Search *s, const KanDiscoverCandidate *c)
{
  g_autoptr (KanExpr) copy = kan_expr_copy (c->expr);
  g_autofree KanExpr **consts = NULL;

  if (s->o->time_limit > 0 && g_timer_elapsed (s->timer, NULL) > s->o->time_limit)
    return FALSE;
  return kan_expr_free_constants (copy, &consts) <= SETTLE_OFF_FRONT_CONSTANTS;
}

/* C's formula with its constants fixed at simple values as far as the noise allows
 * (kan-noise.h), in canonical form, with the errors of the constants that stay free. The
 * settled formula replaces C's unless it fits the test rows worse by more than sampling
 * explains (three standard errors of an RMSE over those rows). */
static void
settle (Search *s, KanDiscoverCandidate *c)
{
  KanCanonRows rows = { s->raw.train_x, s->raw.n_in, s->raw.train_y, s->raw.n_train,
                        s->raw.y_std };
  KanExprFit *fit = NULL;
  KanExpr *e;
  double train, test, old = judged_rmse (c), now;
  size_t n_judged = s->raw.n_test ? s->raw.n_test : s->raw.n_train;

  if (c->settled)
    return;
  c->settled = TRUE;
  if (!settle_allowed (s, c))
    {
      c->fit = kan_expr_fit (c->expr, rows.x, rows.n_in, rows.y, rows.n, 0, NULL);
      return;
    }
  e = kan_noise_snap (kan_expr_copy (c->expr), &rows, &fit);
  kan_expr_fit_free (fit);
  e = kan_canon_polish (e, &rows, s->o->exact_tol);
  train = kan_expr_rmse (e, rows.x, rows.n_in, rows.y, 1, rows.n);
  test = s->raw.n_test ? kan_expr_rmse (e, s->raw.test_x, s->raw.n_in, s->raw.test_y, 1,
                                        s->raw.n_test)
                       : NAN;
  now = isnan (test) ? train : test;
  if (isfinite (now)
      && (now <= old * (1.0 + 3.0 / sqrt (2.0 * MAX (n_judged, 1))) || is_exact (s, now)))
    {
      kan_expr_free (c->expr);
      c->expr = e;
      g_free (c->text);
      c->text = kan_expr_to_string (e, (const char *const *) s->d->in_names,
                                    KAN_EXPR_STYLE_TEXT);
      c->complexity = kan_expr_size (e);
      c->train_rmse = train;
      c->test_rmse = test;
    }
  else
    kan_expr_free (e);
  /* The errors of the constants as printed: no refit, only the covariance. */
  c->fit = kan_expr_fit (c->expr, rows.x, rows.n_in, rows.y, rows.n, 0, NULL);
}

/* Whether C's residuals still hold structure (kan_discover_residuals_structured). */
static gboolean
residuals_structured (Search *s, const KanDiscoverCandidate *c, GCancellable *stop)
{
  const RawData *r = &s->raw;

  return kan_discover_residuals_structured (c->expr, r->n_in, r->train_x, r->train_y,
                                            r->n_train, r->test_x, r->test_y, r->n_test, stop);
}

gboolean
kan_discover_residuals_structured (const KanExpr *e, int n_in, const double *train_x,
                                   const double *train_y, size_t n_train, const double *test_x,
                                   const double *test_y, size_t n_test, GCancellable *stop)
{
  g_autofree double *rt = g_new (double, MAX (n_train, 1));
  g_autofree double *rv = g_new (double, MAX (n_test, 1));
  g_autofree char *width = g_strdup_printf ("%d,%d,1", n_in, RESIDUAL_HIDDEN);
  g_autoptr (KanShape) sh = kan_shape_parse (width, NULL, NULL);
  g_autoptr (KanDataset) res = NULL;
  g_autoptr (KanModel) m = NULL;
  KanModelConfig cfg;
  double mean = 0.0, var = 0.0, mse;

  if (n_test < 8 || sh == NULL)
    return FALSE;
  kan_expr_eval_rows (e, train_x, n_train, n_in, rt);
  kan_expr_eval_rows (e, test_x, n_test, n_in, rv);
  for (size_t q = 0; q < n_train; q++)
    rt[q] = train_y[q] - rt[q];
  for (size_t q = 0; q < n_test; q++)
    {
      rv[q] = test_y[q] - rv[q];
      mean += rv[q];
    }
  mean /= n_test;
  for (size_t q = 0; q < n_test; q++)
    var += (rv[q] - mean) * (rv[q] - mean);
  var /= n_test;
  if (!(var > 0.0) || !isfinite (var))
    return FALSE;
  res = kan_dataset_new_arrays (n_in, 1, n_train, 0, train_x, rt, NULL, NULL, NULL, NULL);
  kan_model_config_init (&cfg);
  cfg.shape = sh;
  cfg.grid = RESIDUAL_GRID;
  cfg.seed = 1;
  m = kan_model_new (&cfg, NULL);
  if (m == NULL || !kan_discover_train (m, res, KAN_OPT_LM, RESIDUAL_STEPS, 0.0, TRUE, stop,
                                        NULL))
    return FALSE;
  mse = kan_model_loss (m, KAN_LOSS_MSE, test_x, rv, n_test);
  return isfinite (mse) && 1.0 - mse / var > RESIDUAL_EXPLAINED;
}

/* Whether a candidate added since the last call fits as well as the best general network:
 * settled, it is then as good as any smooth model of these data, and the search can stop. */
static gboolean
check_noise (Search *s)
{
  double best = HUGE_VAL, best_terms = HUGE_VAL;

  /* A general network far worse than the best candidate underfits (a law with a large range
   * of values, few rows): its error sizes no noise, and ends nothing. */
  for (guint q = 0; q < s->cands->len; q++)
    {
      KanDiscoverCandidate *c = s->cands->pdata[q];
      best = MIN (best, judged_rmse (c));
      if (strcmp (c->width, "terms") == 0)
        best_terms = MIN (best_terms, judged_rmse (c));
    }
  if (isfinite (s->net_floor) && s->net_floor > NET_FLOOR_CREDIBLE * best)
    return s->within_noise;
  for (; s->checked < s->cands->len; s->checked++)
    {
      KanDiscoverCandidate *c = s->cands->pdata[s->checked];
      /* A sum of terms that is not exact ends the search only when the general network that
       * sizes the noise fits about as well as the best of them (TERMS_FLOOR_SHARE): on
       * noise-free data that network may fit far worse than a close imitation, and the law
       * (found later by the oracle or the ladder) would be lost. A poorer sum of terms does
       * not end it either then: the noise is smaller than the network says. Otherwise it
       * stays a candidate. */
      if (strcmp (c->width, "terms") == 0
          && !(best_terms >= TERMS_FLOOR_SHARE * s->net_floor))
        continue;
      if (!isfinite (s->net_floor) || !(judged_rmse (c) <= NOISE_FLOOR_SHARE * s->net_floor))
        continue;
      settle (s, c);
      if (judged_rmse (c) <= NOISE_FLOOR_SHARE * s->net_floor && !residuals_structured (s, c, s->stop))
        s->within_noise = TRUE;
    }
  return s->within_noise;
}

/* Whether WIDTH needs pruning: a hidden layer with more than one node, or a multiplication
 * node (whose inputs reach every factor). */
static gboolean
needs_pruning (const KanShape *sh)
{
  for (int l = 1; l + 1 < sh->n_layers; l++)
    if (sh->n_sum[l] + sh->n_mult[l] > 1 || sh->n_mult[l] > 0)
      return TRUE;
  return FALSE;
}

static gboolean
needs_sparsifying (const KanShape *sh)
{
  for (int l = 1; l + 1 < sh->n_layers; l++)
    if (sh->n_sum[l] + sh->n_mult[l] > 1)
      return TRUE;
  return FALSE;
}

static gboolean
candidate (Search *s, const char *width, guint64 seed, GError **error)
{
  g_autoptr (KanShape) sh = NULL;
  g_autoptr (KanModel) m = NULL;
  KanModelConfig cfg;
  const KanDataset *tr = s->train_only;
  double t0 = g_timer_elapsed (s->timer, NULL);

  {
    /* "WIDTH|ARITY" gives the multiplication nodes' arity (default 2). */
    g_auto (GStrv) parts = g_strsplit (width, "|", 2);
    sh = kan_shape_parse (parts[0], parts[1] ? parts[1] : "2", error);
  }
  if (sh == NULL)
    return FALSE;
  if (sh->n_sum[0] + sh->n_mult[0] != s->d->n_in
      || sh->n_sum[sh->n_layers - 1] + sh->n_mult[sh->n_layers - 1] != 1)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_SHAPE,
                   "width %s does not take %d inputs to one output", width, s->d->n_in);
      return FALSE;
    }
  kan_model_config_init (&cfg);
  cfg.shape = sh;
  cfg.grid = s->o->grid;
  cfg.seed = seed;
  m = kan_model_new (&cfg, error);
  if (m == NULL)
    return FALSE;

  if (needs_sparsifying (sh) && s->o->sparse_steps > 0)
    {
      if (!kan_discover_train (m, tr, KAN_OPT_LBFGS, s->o->sparse_steps, s->o->lamb, TRUE,
                  s->stop, error))
        return FALSE;
      add_stage (s, "sparsify", width, seed, NULL, m, t0);
      t0 = g_timer_elapsed (s->timer, NULL);
    }
  else
    {
      if (!kan_discover_train (m, tr, KAN_OPT_LM, s->o->fit_steps, 0.0, TRUE, s->stop, error))
        return FALSE;
      add_stage (s, "fit", width, seed, NULL, m, t0);
      t0 = g_timer_elapsed (s->timer, NULL);
    }
  if (cancelled (s, error))
    return FALSE;

  if (needs_pruning (sh))
    {
      KanModel *p = kan_model_prune (m, tr->train_x, tr->n_train, KAN_PRUNE_NODE_THRESHOLD,
                                     KAN_PRUNE_EDGE_THRESHOLD, error);
      g_autofree char *w = NULL;
      if (p == NULL)
        return FALSE;
      kan_model_free (m);
      m = p;
      if (!kan_discover_train (m, tr, KAN_OPT_LM, s->o->fit_steps, 0.0, TRUE, s->stop, error))
        return FALSE;
      w = kan_shape_to_string (kan_model_shape (m));
      add_stage (s, "prune", width, seed, w, m, t0);
      t0 = g_timer_elapsed (s->timer, NULL);
    }

  if (s->o->fine_grid > 0 && s->o->fine_grid != kan_model_grid (m))
    {
      KanModel *f = kan_model_refine_full (m, s->o->fine_grid, tr->train_x, tr->n_train,
                                           s->stop, error);
      g_autofree char *detail = g_strdup_printf ("grid=%d", s->o->fine_grid);
      if (f == NULL)
        return FALSE;
      kan_model_free (m);
      m = f;
      if (!kan_discover_train (m, tr, KAN_OPT_LM, s->o->fit_steps, 0.0, FALSE, s->stop, error))
        return FALSE;
      add_stage (s, "refine", width, seed, detail, m, t0);
    }
  if (needs_sparsifying (sh))
    note_general_net (s, model_rmse (m, s->d, s->d->n_test > 0));
  if (cancelled (s, error))
    return FALSE;
  return symbolic_stage (s, m, width, seed, error);
}

static gint
cmp_candidates (gconstpointer pa, gconstpointer pb)
{
  const KanDiscoverCandidate *a = *(KanDiscoverCandidate *const *) pa;
  const KanDiscoverCandidate *b = *(KanDiscoverCandidate *const *) pb;
  double ra = judged_rmse (a), rb = judged_rmse (b);

  if (a->complexity != b->complexity)
    return a->complexity < b->complexity ? -1 : 1;
  if (ra != rb)
    return isnan (ra) ? 1 : isnan (rb) ? -1 : ra < rb ? -1 : 1;
  return 0;
}

/* Keeps the Pareto front of S->cands in RES->pareto (the rest are freed) and picks the best. */
static void
pareto (Search *s)
{
  KanDiscoverResult *r = s->res;
  double front = HUGE_VAL, min_rmse = HUGE_VAL, limit;

  /* Settle the front's formulas that could be chosen (their constants snapped as far as the
   * noise allows: this may make them simpler), then take the front again. */
  g_ptr_array_sort (s->cands, cmp_candidates);
  for (guint q = 0; q < s->cands->len; q++)
    min_rmse = MIN (min_rmse, judged_rmse (s->cands->pdata[q]));
  limit = MAX ((1.0 + s->o->accuracy_tol) * min_rmse, s->o->exact_tol * s->raw.y_std);
  for (guint q = 0, settled = 0, off = 0; q < s->cands->len && settled < SETTLE_MAX; q++)
    {
      KanDiscoverCandidate *c = s->cands->pdata[q];
      double v = judged_rmse (c);
      if (isfinite (v) && v < front)
        {
          front = v;
          if (v <= SETTLE_MARGIN * limit)
            {
              settle (s, c);
              settled++;
            }
        }
      else if (isfinite (v) && v <= limit && off < SETTLE_MAX_OFF_FRONT && !c->settled
               && off_front_allowed (s, c))
        {
          settle (s, c);
          off++;
        }
    }
  front = min_rmse = HUGE_VAL;
  g_ptr_array_sort (s->cands, cmp_candidates);
  for (guint q = 0; q < s->cands->len; q++)
    {
      KanDiscoverCandidate *c = s->cands->pdata[q];
      double v = judged_rmse (c);
      s->cands->pdata[q] = NULL;
      if (isfinite (v) && v < front)
        {
          front = v;
          g_ptr_array_add (r->pareto, c);
        }
      else
        candidate_free (c);
    }
  for (guint q = 0; q < r->pareto->len; q++)
    min_rmse = MIN (min_rmse, judged_rmse (r->pareto->pdata[q]));
  limit = MAX ((1.0 + s->o->accuracy_tol) * min_rmse, s->o->exact_tol * s->raw.y_std);
  /* When the most accurate formula leaves only noise (its residuals have no structure a
   * small network finds), a formula worse by more than the sampling error of an RMSE misses
   * part of the law: the limit closes to NOISE_SELECT_MARGIN above it. */
  for (guint q = 0; q < r->pareto->len; q++)
    {
      const KanDiscoverCandidate *c = r->pareto->pdata[q];
      if (judged_rmse (c) == min_rmse && !is_exact (s, min_rmse)
          && !residuals_structured (s, c, NULL))
        limit = MAX (MIN (limit, (1.0 + NOISE_SELECT_MARGIN) * min_rmse),
                     s->o->exact_tol * s->raw.y_std);
    }
  for (guint q = 0; q < r->pareto->len && r->best == NULL; q++)
    if (judged_rmse (r->pareto->pdata[q]) <= limit)
      r->best = r->pareto->pdata[q];
  r->exact = r->best && is_exact (s, judged_rmse (r->best));
  r->noise = MIN (min_rmse, s->net_floor);
  r->within_noise = r->best && isfinite (s->net_floor)
                    && judged_rmse (r->best) <= NOISE_FLOOR_SHARE * s->net_floor;
  if (r->best && r->best->fit == NULL)
    settle (s, (KanDiscoverCandidate *) r->best);
}

/* One seed of a width on a thread of its own: a search of its own that shares the data,
 * options and stop of the parent, with its own stages and candidates. */
typedef struct
{
  Search             s;
  const char        *width;
  guint64            seed;
  GError            *error;
  gboolean           ok;
  GThread           *thread;
} SeedRun;

static gpointer
seed_run (gpointer data)
{
  SeedRun *r = data;

  r->ok = candidate (&r->s, r->width, r->seed, &r->error);
  return NULL;
}

/* What a failed candidate means: cancelled (the search stops with what it has), the
 * caller's mistake (a width that does not fit: an error), or a numerical failure (just no
 * candidate). Returns FALSE for the caller's mistake, with ERROR set. */
static gboolean
candidate_failed (Search *s, GError *local, gboolean *stopped, GError **error)
{
  if (g_error_matches (local, KAN_ERROR, KAN_ERROR_CANCELLED)
      || g_cancellable_is_cancelled (s->stop))
    *stopped = TRUE;
  else if (g_error_matches (local, KAN_ERROR, KAN_ERROR_SHAPE)
           || g_error_matches (local, KAN_ERROR, KAN_ERROR_PARSE))
    {
      g_propagate_error (error, g_error_copy (local));
      return FALSE;
    }
  return TRUE;
}

/* Seeds SEED0 … SEED0 + N − 1 of WIDTH, THREADS at a time. Their stages and candidates join
 * S's in seed order, and a seed whose candidate ends the search (exact, within the noise,
 * stopped) discards the later ones: the result does not depend on the thread count. */
static gboolean
run_seeds (Search *s, const char *width, guint64 seed0, int n, int threads, gboolean *stopped,
           GError **error)
{
  gboolean ok = TRUE, done = FALSE;

  for (int k0 = 0; k0 < n && !done; k0 += threads)
    {
      int m = MIN (threads, n - k0);
      SeedRun *runs = g_new0 (SeedRun, m);

      for (int k = 0; k < m; k++)
        {
          SeedRun *r = &runs[k];
          r->s = *s;
          r->s.res = g_new0 (KanDiscoverResult, 1);
          r->s.res->stages = g_ptr_array_new ();
          r->s.cands = g_ptr_array_new ();
          r->s.checked = 0;
          r->s.report = FALSE;
          r->width = width;
          r->seed = seed0 + k0 + k;
          if (m == 1)
            seed_run (r);
          else
            r->thread = g_thread_new ("kan-discover-seed", seed_run, r);
        }
      for (int k = 0; k < m; k++)
        {
          SeedRun *r = &runs[k];
          if (r->thread)
            g_thread_join (r->thread);
          if (!done)
            {
              for (guint q = 0; q < r->s.res->stages->len; q++)
                {
                  g_ptr_array_add (s->res->stages, r->s.res->stages->pdata[q]);
                  r->s.res->stages->pdata[q] = NULL;
                  report (s, s->res->stages->pdata[s->res->stages->len - 1]);
                }
              for (guint q = 0; q < r->s.cands->len; q++)
                {
                  KanDiscoverCandidate *c = r->s.cands->pdata[q];
                  g_ptr_array_add (s->cands, c);
                  r->s.cands->pdata[q] = NULL;
                  s->exact |= isfinite (judged_rmse (c)) && is_exact (s, judged_rmse (c));
                }
              s->net_floor = MIN (s->net_floor, r->s.net_floor);
              if (!r->ok && !candidate_failed (s, r->error, stopped, error))
                ok = FALSE;
              check_noise (s);
              done = !ok || *stopped || s->exact || s->within_noise;
            }
          for (guint q = 0; q < r->s.cands->len; q++)
            if (r->s.cands->pdata[q])
              candidate_free (r->s.cands->pdata[q]);
          g_ptr_array_unref (r->s.cands);
          for (guint q = 0; q < r->s.res->stages->len; q++)
            if (r->s.res->stages->pdata[q])
              stage_free (r->s.res->stages->pdata[q]);
          g_ptr_array_unref (r->s.res->stages);
          g_free (r->s.res);
          g_clear_error (&r->error);
        }
      g_free (runs);
    }
  return ok;
}

/* A network of one layer is linear in its spline coefficients: every seed reaches the same
 * fit, so it gets one. */
static int
seeds_for (const char *width, const KanDiscoverOptions *o)
{
  int commas = 0;

  for (const char *p = width; *p; p++)
    commas += *p == ',' || *p == '[';
  return commas == 1 ? 1 : o->n_seeds;
}

/* The time limit: a thread that cancels the search's STOP when the limit is reached, unless
 * told to quit first. */
typedef struct
{
  GMutex        lock;
  GCond         cond;
  gboolean      quit;
  gboolean      fired;
  gint64        end_time;   /* monotonic, µs */
  GCancellable *stop;
  GThread      *thread;
} Deadline;

static gpointer
deadline_wait (gpointer data)
{
  Deadline *dl = data;
  gboolean fire = FALSE;

  g_mutex_lock (&dl->lock);
  while (!dl->quit && !fire)
    if (!g_cond_wait_until (&dl->cond, &dl->lock, dl->end_time))
      fire = dl->fired = TRUE;
  g_mutex_unlock (&dl->lock);
  if (fire)
    g_cancellable_cancel (dl->stop);
  return NULL;
}

static void
deadline_start (Deadline *dl, double seconds, GCancellable *stop)
{
  g_mutex_init (&dl->lock);
  g_cond_init (&dl->cond);
  dl->quit = dl->fired = FALSE;
  dl->end_time = g_get_monotonic_time () + (gint64) (seconds * G_USEC_PER_SEC);
  dl->stop = stop;
  dl->thread = g_thread_new ("kan-discover-limit", deadline_wait, dl);
}

/* Stops the thread; TRUE if the limit was reached. */
static gboolean
deadline_stop (Deadline *dl)
{
  gboolean fired;

  g_mutex_lock (&dl->lock);
  dl->quit = TRUE;
  g_cond_signal (&dl->cond);
  g_mutex_unlock (&dl->lock);
  g_thread_join (dl->thread);
  fired = dl->fired;
  g_mutex_clear (&dl->lock);
  g_cond_clear (&dl->cond);
  return fired;
}

static void
forward_cancel (GCancellable *from, gpointer stop)
{
  g_cancellable_cancel (stop);
}

/* A formula of the binomial or monomial stage that is close (test RMSE within
 * PROBE_CLOSE_SHARE of std(y)) but not exact may be the law under noise. A general network
 * (n,PROBE_HIDDEN,1 at G = PROBE_GRID, PROBE_STEPS LM steps, about a second) fitted right then
 * tells the noise, so that check_noise can stop the search at that formula rather than after
 * the ladder's wider widths. */
#define PROBE_CLOSE_SHARE 0.1
#define PROBE_HIDDEN      8
#define PROBE_GRID        2
#define PROBE_STEPS       100

static gboolean
noise_probe (Search *s, GError **error)
{
  g_autofree char *width = g_strdup_printf ("%d,%d,1", s->d->n_in, PROBE_HIDDEN);
  g_autoptr (KanShape) sh = kan_shape_parse (width, NULL, NULL);
  g_autoptr (KanModel) m = NULL;
  KanModelConfig cfg;
  double t0 = g_timer_elapsed (s->timer, NULL);

  if (sh == NULL)
    return TRUE;
  kan_model_config_init (&cfg);
  cfg.shape = sh;
  cfg.grid = PROBE_GRID;
  cfg.seed = 1;
  m = kan_model_new (&cfg, NULL);
  if (m == NULL)
    return TRUE;
  if (!kan_discover_train (m, s->train_only, KAN_OPT_LM, PROBE_STEPS, 0.0, TRUE, s->stop, error))
    return FALSE;
  add_stage (s, "noise probe", width, 1, "a general network for the noise level", m, t0);
  note_general_net (s, model_rmse (m, s->d, s->d->n_test > 0));
  return TRUE;
}

/* Where the oracle stage of the decomposition runs in the default ladder: right after the
 * monomial stage (before the second width) for four inputs or more, where the ladder gets
 * slow; for two or three after the widths with one hidden node or one product node, which are
 * cheap there and usually enough (the tutorial's laws end there with a fully locked network,
 * which a decomposed formula lacks); never for one, where the binomial stage runs before the
 * first width instead. */
static int
oracle_at (int n_in)
{
  return n_in >= 4 ? 1 : n_in == 3 ? 5 : n_in == 2 ? 4 : -1;
}

/* The width before which the oracle stage runs in this search. */
static int
oracle_index (const Search *s)
{
  return s->o->oracle_first && s->d->n_in >= 2 ? 1 : oracle_at (s->d->n_in);
}

/* The decomposition stages (kan-decompose.h) that come before width W of the default ladder;
 * their formulas join the candidates. */
static gboolean
decompose_stage (Search *s, int w, GError **error)
{
  g_autoptr (GPtrArray) found = NULL;
  g_autoptr (KanDataset) raw = NULL;
  KanDiscoverOptions o;
  double left = 0.0;
  gboolean ok = TRUE;
  int at = oracle_index (s);

  if (s->o->widths || s->o->decompose < 1
      || (w != 1 && w != at && !(w == 0 && s->d->n_in == 1)))
    return TRUE;
  if (s->o->time_limit > 0
      && (left = s->o->time_limit - g_timer_elapsed (s->timer, NULL)) <= 0)
    return TRUE;
  o = *s->o;
  o.cancellable = s->stop;
  raw = kan_dataset_new_arrays (s->raw.n_in, 1, s->raw.n_train, s->raw.n_test, s->raw.train_x,
                                s->raw.train_y, s->raw.test_x, s->raw.test_y,
                                (const char *const *) s->d->in_names, NULL);
  found = g_ptr_array_new_with_free_func ((GDestroyNotify) kan_decompose_formula_free);
  if (w == 0)
    ok = kan_decompose_binomial (raw, &o, s->res->stages, found, error)
         && kan_decompose_power_function (raw, &o, s->res->stages, found, error);
  else if (w == 1)
    {
      gboolean exact = FALSE;

      ok = kan_decompose_monomial (raw, &o, s->res->stages, found, error);
      for (guint q = 0; q < found->len; q++)
        {
          const KanExpr *e = ((KanDecomposeFormula *) found->pdata[q])->expr;
          exact |= s->raw.n_test > 0
                   ? is_exact (s, kan_expr_rmse (e, s->raw.test_x, s->raw.n_in, s->raw.test_y,
                                                 1, s->raw.n_test))
                   : is_exact (s, kan_expr_rmse (e, s->raw.train_x, s->raw.n_in,
                                                 s->raw.train_y, 1, s->raw.n_train));
        }
      /* The terms stage, after the monomial one. An exact sum of terms comes with no locked
       * network (like a composed formula), so where the oracle stage waits for the ladder's
       * cheap widths (two or three inputs at the top level: they end the tutorial's laws with
       * one), an exact one waits with it; its candidates under noise join at once (and end
       * the search only as check_noise allows). */
      if (ok && !exact)
        ok = kan_decompose_terms (raw, &o, s->res->stages, found, at == 1 ? NULL : s->held,
                                  error);
    }
  for (guint q = 0; q < found->len; q++)
    s->exact |= add_formula (s, found->pdata[q]);
  if (ok && found->len > 0 && !s->exact && !isfinite (s->net_floor) && s->cands->len > 0
      && judged_rmse (s->cands->pdata[s->cands->len - 1]) <= PROBE_CLOSE_SHARE * s->raw.y_std)
    ok = noise_probe (s, error);
  g_ptr_array_set_size (found, 0);
  if (ok && w == at && w != 1)
    {
      for (guint q = 0; q < s->held->len; q++)
        s->exact |= add_formula (s, s->held->pdata[q]);
      g_ptr_array_set_size (s->held, 0);
    }
  if (ok && !s->exact && w == at)
    {
      guint first = s->res->stages->len;
      ok = kan_decompose_oracle (raw, &o, left, s->res->stages, found, error);
      /* The surrogate of the whole problem (the first one; those of sub-problems fit other
       * labels) is a general network. */
      for (guint q = first; q < s->res->stages->len; q++)
        {
          const KanDiscoverStage *st = s->res->stages->pdata[q];
          if (strcmp (st->stage, "surrogate") == 0)
            {
              note_general_net (s, s->raw.n_test ? st->test_rmse : st->train_rmse);
              break;
            }
        }
      for (guint q = 0; q < found->len; q++)
        s->exact |= add_formula (s, found->pdata[q]);
    }
  return ok;
}

/* Discovery with units: the search on the dimensionless groups, its formulas written back in
 * D's variables and checked for units. */
static gboolean
discover_with_units (const KanDataset *d, const KanDiscoverOptions *o, KanDiscoverResult **out,
                     GError **error)
{
  g_autoptr (KanUnitsReduction) u = NULL;
  g_autoptr (KanDataset) raw = NULL;
  KanDiscoverResult *r = NULL;
  KanDiscoverOptions so = *o;
  KanDiscoverStage *st;
  GPtrArray *front;
  RawData rd;
  GString *what;
  double best_rmse = HUGE_VAL;

  if (!kan_units_reduce (o->in_dims, d->n_in, o->out_dim, (const char *const *) d->in_names,
                         d->out_names ? d->out_names[0] : "y", &u, error))
    return FALSE;
  raw_init (&rd, d);
  raw = kan_dataset_new_arrays (rd.n_in, 1, rd.n_train, rd.n_test, rd.train_x, rd.train_y,
                                rd.test_x, rd.test_y, (const char *const *) d->in_names,
                                (const char *const *) d->out_names);
  so.in_dims = so.out_dim = NULL;
  if (u->n_groups == 0)
    {
      /* No group: y is the scale times a constant, found by least squares. */
      double sy = 0.0, ss = 0.0;
      KanDiscoverCandidate *c = g_new0 (KanDiscoverCandidate, 1);
      g_autofree double *sc = g_new (double, MAX (rd.n_train, 1));
      KanCanonRows rows = { rd.train_x, rd.n_in, rd.train_y, rd.n_train, rd.y_std };

      kan_expr_eval_rows (u->scale, rd.train_x, rd.n_train, rd.n_in, sc);
      for (size_t q = 0; q < rd.n_train; q++)
        if (isfinite (sc[q]))
          {
            sy += sc[q] * rd.train_y[q];
            ss += sc[q] * sc[q];
          }
      c->expr = kan_expr_binary (KAN_EXPR_MUL, kan_expr_num (ss > 0 ? sy / ss : 0.0),
                                 kan_expr_copy (u->scale));
      c->expr = kan_noise_snap (c->expr, &rows, NULL);
      c->expr = kan_canon_polish (c->expr, &rows, o->exact_tol);
      c->text = kan_expr_to_string (c->expr, (const char *const *) d->in_names,
                                    KAN_EXPR_STYLE_TEXT);
      c->complexity = kan_expr_size (c->expr);
      c->train_rmse = kan_expr_rmse (c->expr, rd.train_x, rd.n_in, rd.train_y, 1, rd.n_train);
      c->test_rmse = rd.n_test ? kan_expr_rmse (c->expr, rd.test_x, rd.n_in, rd.test_y, 1,
                                                rd.n_test)
                               : NAN;
      c->width = g_strdup ("units");
      c->lock = g_strdup ("");
      c->fit = kan_expr_fit (c->expr, rd.train_x, rd.n_in, rd.train_y, rd.n_train, 0, NULL);
      c->settled = TRUE;
      r = g_new0 (KanDiscoverResult, 1);
      r->stages = g_ptr_array_new_with_free_func ((GDestroyNotify) stage_free);
      r->pareto = g_ptr_array_new_with_free_func ((GDestroyNotify) candidate_free);
      g_ptr_array_add (r->pareto, c);
      r->best = c;
      r->n_candidates = 1;
      r->exact = judged_rmse (c) <= o->exact_tol * MAX (rd.y_std, G_MINDOUBLE);
      r->noise = judged_rmse (c);
    }
  else
  {
    g_autoptr (KanDataset) sub = kan_decompose_reduced_data (raw, u->groups, u->n_groups,
                                                             u->scale,
                                                             (const char *const *) u->names);
    if (sub->n_train < 4)
      {
        g_set_error (error, KAN_ERROR, KAN_ERROR_DATA,
                     "the dimensionless groups are not finite on enough rows (%zu)",
                     sub->n_train);
        raw_clear (&rd);
        return FALSE;
      }
    if (!kan_discover (sub, &so, &r, error))
      {
        raw_clear (&rd);
        return FALSE;
      }
    r->model_data = g_steal_pointer (&sub);
  }

  /* The groups, for the stages. */
  what = g_string_new (NULL);
  if (u->scale)
    {
      g_autofree char *t = kan_expr_to_string (u->scale, (const char *const *) d->in_names,
                                               KAN_EXPR_STYLE_TEXT);
      g_string_append_printf (what, "y = %s * g(", t);
    }
  else
    g_string_append (what, "y = g(");
  for (int k = 0; k < u->n_groups; k++)
    {
      g_autofree char *t = kan_expr_to_string (u->groups[k], (const char *const *) d->in_names,
                                               KAN_EXPR_STYLE_TEXT);
      g_string_append_printf (what, "%s%s = %s", k ? ", " : "", u->names[k], t);
    }
  g_string_append (what, ")");
  st = g_new0 (KanDiscoverStage, 1);
  st->stage = g_strdup ("units");
  st->width = g_strdup ("units");
  st->detail = g_string_free (what, FALSE);
  st->train_rmse = st->test_rmse = NAN;
  g_ptr_array_insert (r->stages, 0, st);

  if (u->n_groups == 0)
    {
      raw_clear (&rd);
      *out = r;
      return TRUE;
    }

  /* Each formula of the front in D's variables; those whose units do not match go. */
  front = g_ptr_array_new_with_free_func ((GDestroyNotify) candidate_free);
  for (guint q = 0; q < r->pareto->len; q++)
    {
      KanDiscoverCandidate *c = r->pareto->pdata[q];
      KanExpr *e = kan_decompose_subst (c->expr, u->groups);
      gboolean was_best = c == r->best;

      if (u->scale)
        e = kan_expr_binary (KAN_EXPR_MUL, kan_expr_copy (u->scale), e);
      e = kan_discover_polish (e, d, o->exact_tol);
      if (!kan_units_check_expr (e, o->in_dims, d->n_in, (const char *const *) d->in_names,
                                 o->out_dim, NULL))
        {
          kan_expr_free (e);
          continue;
        }
      r->pareto->pdata[q] = NULL;
      kan_expr_free (c->expr);
      kan_expr_fit_free (c->fit);
      g_free (c->text);
      c->expr = e;
      c->text = kan_expr_to_string (e, (const char *const *) d->in_names, KAN_EXPR_STYLE_TEXT);
      c->complexity = kan_expr_size (e);
      c->train_rmse = kan_expr_rmse (e, rd.train_x, rd.n_in, rd.train_y, 1, rd.n_train);
      c->test_rmse = rd.n_test ? kan_expr_rmse (e, rd.test_x, rd.n_in, rd.test_y, 1, rd.n_test)
                               : NAN;
      c->fit = kan_expr_fit (c->expr, rd.train_x, rd.n_in, rd.train_y, rd.n_train, 0, NULL);
      g_ptr_array_add (front, c);
      if (was_best)
        r->best = c;
    }
  raw_clear (&rd);
  g_ptr_array_unref (r->pareto);
  r->pareto = front;
  if (front->len == 0)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_NONFINITE,
                   "discover found no formula with the units of %s",
                   d->out_names ? d->out_names[0] : "y");
      kan_discover_result_free (r);
      return FALSE;
    }
  /* The best stays the one chosen on the groups, unless it was dropped: then the most
   * accurate left. */
  if (!g_ptr_array_find (front, r->best, NULL))
    for (guint q = 0; q < front->len; q++)
      if (judged_rmse (front->pdata[q]) < best_rmse)
        {
          best_rmse = judged_rmse (front->pdata[q]);
          r->best = front->pdata[q];
        }
  /* The noise estimate of the groups' search is in units of y / scale; in y's, the most
   * accurate formula's test RMSE bounds it. */
  r->noise = HUGE_VAL;
  for (guint q = 0; q < front->len; q++)
    r->noise = MIN (r->noise, judged_rmse (front->pdata[q]));
  *out = r;
  return TRUE;
}

gboolean
kan_discover (const KanDataset *d, const KanDiscoverOptions *o, KanDiscoverResult **out,
              GError **error)
{
  KanDiscoverOptions defaults;
  g_auto (GStrv) own_widths = NULL;
  g_autofree int *own_lib = NULL;
  const char *const *widths;
  Search s = { 0 };
  Deadline limit;
  gulong forward_id = 0;
  gboolean ok = TRUE, stopped = FALSE, timed_out = FALSE;
  int threads;

  g_return_val_if_fail (d != NULL && out != NULL, FALSE);
  if (o == NULL)
    {
      kan_discover_options_init (&defaults);
      o = &defaults;
    }
  /* A formula needs numbers to fit, not class names. */
  if (!kan_dataset_validate (d, error) || !kan_dataset_check_numeric_labels (d, error))
    return FALSE;
  if (d->n_out != 1 || d->n_train < 4)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_SHAPE,
                   "discover needs one target column and at least 4 train rows "
                   "(got %d targets, %zu rows)", d->n_out, d->n_train);
      return FALSE;
    }
  if (o->in_dims && o->out_dim && o->widths == NULL)
    return discover_with_units (d, o, out, error);
  if (o->n_seeds < 1 || o->grid < 1 || o->fine_grid < 0 || o->fit_steps < 1
      || o->sparse_steps < 0 || !(o->lamb >= 0) || o->symbolic_steps < 0
      || !(o->exact_tol >= 0) || !(o->accuracy_tol >= 0) || !(o->time_limit >= 0)
      || o->threads < 0)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_INVALID, "discover options out of range");
      return FALSE;
    }

  s.d = d;
  s.o = o;
  if (o->lib)
    {
      s.lib = o->lib;
      s.n_lib = o->n_lib;
    }
  else
    {
      own_lib = kan_sym_parse_lib (KAN_DISCOVER_DEFAULT_LIB, &s.n_lib, error);
      g_assert (own_lib != NULL);
      s.lib = own_lib;
    }
  if (o->widths)
    widths = o->widths;
  else
    {
      own_widths = kan_discover_default_widths (d->n_in);
      widths = (const char *const *) own_widths;
    }
  s.train_only = kan_dataset_new_arrays (d->n_in, d->n_out, d->n_train, 0, d->train_x,
                                         d->train_y, NULL, NULL,
                                         (const char *const *) d->in_names,
                                         (const char *const *) d->out_names);
  raw_init (&s.raw, d);
  s.res = g_new0 (KanDiscoverResult, 1);
  s.res->stages = g_ptr_array_new_with_free_func ((GDestroyNotify) stage_free);
  s.res->pareto = g_ptr_array_new_with_free_func ((GDestroyNotify) candidate_free);
  s.cands = g_ptr_array_new ();
  s.held = g_ptr_array_new_with_free_func ((GDestroyNotify) kan_decompose_formula_free);
  s.net_floor = HUGE_VAL;
  s.report = TRUE;
  threads = o->threads > 0 ? o->threads : (int) g_get_num_processors ();
  s.timer = g_timer_new ();
  /* One cancellable for the whole search, passed down into every training, refit and lock:
   * the caller's cancellation and the time limit stop it within a fraction of a second. */
  s.stop = g_cancellable_new ();
  if (o->cancellable)
    forward_id = g_cancellable_connect (o->cancellable, G_CALLBACK (forward_cancel), s.stop,
                                        NULL);
  if (o->time_limit > 0)
    deadline_start (&limit, o->time_limit, s.stop);

  {
    int w = 0, at = oracle_index (&s), n_widths = 0;
    while (widths[n_widths])
      n_widths++;
    for (; widths[w] && ok && !s.exact && !s.within_noise && !stopped; w++)
      {
        g_autoptr (GError) local = NULL;
        if (!decompose_stage (&s, w, &local))
          ok = candidate_failed (&s, local, &stopped, error);
        if (ok && !stopped && !s.exact && !check_noise (&s))
          ok = run_seeds (&s, widths[w], o->seed, seeds_for (widths[w], o), threads, &stopped,
                          error);
      }
    /* Noise-free data (the best general network within QUIET_SHARE of std(y)) that a network
     * of the ladder fitted "within the noise" before the oracle stage's turn: such a fit is a
     * close imitation, not the law; the oracle stage still runs (the law may be a function of
     * one monomial, as sin²(E·t/ħ)). */
    if (ok && !stopped && !s.exact && s.within_noise && at > 1 && w <= at && at < n_widths
        && s.net_floor <= QUIET_SHARE * s.raw.y_std)
      {
        g_autoptr (GError) local = NULL;
        if (!decompose_stage (&s, at, &local))
          ok = candidate_failed (&s, local, &stopped, error);
      }
  }
  stopped = stopped || g_cancellable_is_cancelled (s.stop);
  if (o->time_limit > 0)
    timed_out = deadline_stop (&limit);
  if (forward_id)
    g_cancellable_disconnect (o->cancellable, forward_id);
  g_object_unref (s.stop);

  s.res->n_candidates = s.cands->len;
  s.res->stopped = stopped && !s.exact && !s.within_noise;
  if (ok)
    {
      pareto (&s);
      if (s.res->best == NULL && stopped)
        {
          if (timed_out && !(o->cancellable && g_cancellable_is_cancelled (o->cancellable)))
            g_set_error (error, KAN_ERROR, KAN_ERROR_CANCELLED,
                         "discover found no formula within its time limit of %g s",
                         o->time_limit);
          else
            g_set_error (error, KAN_ERROR, KAN_ERROR_CANCELLED,
                         "discover was stopped before it found a formula");
          ok = FALSE;
        }
      else if (s.res->best == NULL)
        {
          g_set_error (error, KAN_ERROR, KAN_ERROR_NONFINITE,
                       "discover found no formula with a finite error");
          ok = FALSE;
        }
    }
  for (guint q = 0; q < s.cands->len; q++)
    if (s.cands->pdata[q])
      candidate_free (s.cands->pdata[q]);
  g_ptr_array_unref (s.cands);
  s.res->seconds = g_timer_elapsed (s.timer, NULL);
  g_timer_destroy (s.timer);
  raw_clear (&s.raw);
  g_ptr_array_unref (s.held);
  kan_dataset_free (s.train_only);
  if (!ok)
    {
      kan_discover_result_free (s.res);
      return FALSE;
    }
  *out = s.res;
  return TRUE;
}
