/* test-prune.c — attribution scores and pruning.
 *
 * Scores are checked against values worked out by hand on networks whose edges are straight
 * lines w·x (base function identity, spline scale 0) fed with inputs of known, uncorrelated
 * spread; pruned models are checked against the original with the removed nodes masked off,
 * sample by sample, on random networks with symbolic locks and multiplication nodes.
 */
#include <check.h>
#include <math.h>
#include <string.h>
#include <stdlib.h>
#include <stdio.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_rng.h>

#include "kan-model-private.h"
#include "kan-prune.h"
#include "kan-symbolic.h"
#include "kan-error.h"
#include "test-helpers.h"

/* ck_assert marks a point (a write to a pipe) on every success; inner loops use this instead. */
#define CHECK(cond, ...) \
  do { if (!(cond)) ck_abort_msg (__VA_ARGS__); } while (0)

/* ------------------------------------------------------------------------------------------ */
/* Helpers                                                                                     */

/* Non-trivial values for every parameter, affines included. */
static void
randomize (KanModel *m, gsl_rng *r)
{
  int P = m->G + m->k;
  for (int l = 0; l < m->depth; l++)
    {
      KanLayer *L = &m->layers[l];
      size_t E = (size_t) L->n_in * L->n_out;
      for (size_t e = 0; e < E; e++)
        {
          for (int q = 0; q < P; q++)
            L->coef[e * P + q] = kt_unif (r, -0.8, 0.8);
          L->scale_base[e] = kt_unif (r, -0.9, 0.9);
          L->scale_sp[e] = kt_unif (r, 0.3, 1.2);
        }
      kt_randomize_affines (m, l, r, 0.6);
    }
}

/* Locks about a third of the edges to bounded library functions, some in both branches. */
static void
lock_random (KanModel *m, gsl_rng *r)
{
  static const char *const fns[] = { "sin", "tanh", "x^2", "x", "cos", "gaussian" };
  for (int l = 0; l < m->depth; l++)
    for (int i = 0; i < m->layers[l].n_in; i++)
      for (int j = 0; j < m->layers[l].n_out; j++)
        {
          double u = gsl_rng_uniform (r);
          double abcd[4] = { kt_unif (r, 0.5, 1.5), kt_unif (r, -0.5, 0.5), kt_unif (r, -1.0, 1.0),
                             kt_unif (r, -0.2, 0.2) };
          int id = kan_sym_lookup (fns[gsl_rng_uniform_int (r, G_N_ELEMENTS (fns))]);
          ck_assert_int_ge (id, 0);
          if (u < 0.2)
            kan_model_set_edge (m, l, i, j, KAN_EDGE_SYMBOLIC, id, abcd);
          else if (u < 0.33)
            kan_model_set_edge (m, l, i, j, KAN_EDGE_BOTH, id, abcd);
        }
}

static double *
random_rows (gsl_rng *r, size_t n, int n_in, double lo, double hi)
{
  double *x = g_new (double, n * n_in);
  for (size_t q = 0; q < n * (size_t) n_in; q++)
    x[q] = kt_unif (r, lo, hi);
  return x;
}

static void
assert_close (double got, double want, double tol, const char *what)
{
  CHECK (fabs (got - want) <= tol * (1.0 + fabs (want)), "%s: got %.17g, want %.17g", what,
         got, want);
}

/* Outputs of A on X and of B on X agree to TOL on every sample. */
static void
assert_same_outputs (const KanModel *a, const double *xa, const KanModel *b, const double *xb,
                     size_t n, double tol)
{
  int O = kan_model_n_out (a);
  g_autofree double *ya = g_new (double, n * O);
  g_autofree double *yb = g_new (double, n * O);

  ck_assert_int_eq (O, kan_model_n_out (b));
  kan_model_eval (a, xa, n, ya);
  kan_model_eval (b, xb, n, yb);
  for (size_t q = 0; q < n * O; q++)
    CHECK (fabs (ya[q] - yb[q]) <= 1e-12 * (1.0 + fabs (ya[q])),
           "sample %zu output %zu: %.17g vs %.17g", q / O, q % O, ya[q], yb[q]);
}

/* The four rows of the hand-worked tests: x1 = ±1.5, x2 = ±0.5 in a 2×2 pattern, so both have
 * mean 0, x1·x2 is uncorrelated with either, std(x1) = 1.5·√(4/3) = √3 and
 * std(x2) = 0.5·√(4/3) = 1/√3 (unbiased, n-1 = 3). */
static const double hand_x[8] = { 1.5, 0.5, -1.5, 0.5, 1.5, -0.5, -1.5, -0.5 };

/* Width 2,2,1 with straight edges: hidden h_j = w_0j·x1 + w_1j·x2, w = [[2, 0.5], [1, -3]],
 * output y = 1.5·h_0 − 0.25·h_1. */
static KanModel *
hand_model_sum (void)
{
  KanModel *m = kt_model_new ("2,2,1", NULL, 3, 3, KAN_BASE_IDENTITY, 7);
  static const double w0[4] = { 2.0, 0.5, 1.0, -3.0 }, w1[2] = { 1.5, -0.25 };
  for (int e = 0; e < 4; e++)
    {
      m->layers[0].scale_base[e] = w0[e];
      m->layers[0].scale_sp[e] = 0.0;
    }
  for (int e = 0; e < 2; e++)
    {
      m->layers[1].scale_base[e] = w1[e];
      m->layers[1].scale_sp[e] = 0.0;
    }
  return m;
}

static KanScores *
scores_ok (const KanModel *m, const double *x, size_t n)
{
  GError *error = NULL;
  KanScores *s = kan_scores_compute (m, x, n, &error);
  ck_assert_msg (s != NULL, "scores: %s", error ? error->message : "?");
  return s;
}

/* ------------------------------------------------------------------------------------------ */
/* Attribution                                                                                 */

START_TEST (test_scores_hand_sum)
{
  g_autoptr (KanModel) m = hand_model_sum ();
  g_autoptr (KanScores) s = scores_ok (m, hand_x, 4);
  const double tol = 1e-13;
  /* std of each edge = |w|·std(x): 2√3, 0.5√3, 1/√3, 3/√3. */
  static const double act0[4] = { 3.4641016151377544, 0.8660254037844386, 0.5773502691896258,
                                  1.7320508075688772 };
  /* std(h_0) = √(4·3 + 1/3) = √(37/3), std(h_1) = √(0.25·3 + 9/3) = √3.75,
   * std(y) = √(var(1.5·h0 − 0.25·h1)) with var(y) = 3·(1.5·2 − 0.25·0.5)² + (1/3)·(1.5 + 0.75)². */
  static const double sub0[2] = { 3.5118845842842465, 1.9364916731037085 };
  const double std_y = 5.146297212559725;
  /* Hidden scores: |v_j|·std(h_j)/(std(y) + 1e-4). */
  static const double node1[2] = { 1.0235950819284405, 0.09407025891713733 };
  /* Edge scores of layer 0: act0[i,j]·node1[j]/(std(h_j) + 1e-4), and input scores their
   * row sums. */
  static const double edge0[4] = { 1.0096392200645223, 0.04206732637255216,
                                   0.16827320334408705, 0.08413465274510432 };
  static const double node0[2] = { 1.0517065464370745, 0.25240785608919136 };

  ck_assert_int_eq (kan_scores_depth (s), 2);
  ck_assert_int_eq (kan_scores_rows (s), 4);
  ck_assert_int_eq (kan_scores_width (s, 1), 2);
  ck_assert_int_eq (kan_scores_subwidth (s, 0), 2);
  for (int e = 0; e < 4; e++)
    assert_close (kan_scores_edge_actscale (s, 0)[e], act0[e], tol, "edge actscale 0");
  for (int j = 0; j < 2; j++)
    assert_close (kan_scores_subnode_actscale (s, 0)[j], sub0[j], tol, "subnode actscale 0");
  assert_close (kan_scores_subnode_actscale (s, 1)[0], std_y, tol, "subnode actscale 1");
  /* Layer-1 edge stds: 1.5·std(h0), 0.25·std(h1). */
  assert_close (kan_scores_edge_actscale (s, 1)[0], 1.5 * sub0[0], tol, "edge actscale 1");
  assert_close (kan_scores_edge_actscale (s, 1)[1], 0.25 * sub0[1], tol, "edge actscale 1");

  assert_close (kan_scores_node (s, 2)[0], 1.0, 0, "output score");
  assert_close (kan_scores_subnode (s, 1)[0], 1.0, 0, "output subnode score");
  for (int j = 0; j < 2; j++)
    {
      assert_close (kan_scores_node (s, 1)[j], node1[j], tol, "hidden score");
      assert_close (kan_scores_edge (s, 1)[j], node1[j], tol, "layer-1 edge score");
      assert_close (kan_scores_subnode (s, 0)[j], node1[j], tol, "hidden subnode score");
    }
  for (int e = 0; e < 4; e++)
    assert_close (kan_scores_edge (s, 0)[e], edge0[e], tol, "layer-0 edge score");
  for (int i = 0; i < 2; i++)
    {
      assert_close (kan_scores_node (s, 0)[i], node0[i], tol, "input score");
      assert_close (kan_scores_inputs (s)[i], node0[i], tol, "feature score");
      assert_close (kan_scores_node_for_output (s, 0, 0)[i], node0[i], tol, "per output");
    }
}
END_TEST

/* Affines of the hidden node change what the output sees (h_0 = −0.8·(2.5·z_0 + 0.3) + 0.2);
 * the layer-0 ratios are unchanged because the scales cancel. Output-layer affines change
 * nothing. A zero subnode scale makes the node constant and its score exactly 0. */
START_TEST (test_scores_hand_affine)
{
  const double tol = 1e-13;
  {
    g_autoptr (KanModel) m = hand_model_sum ();
    g_autoptr (KanScores) s = NULL;
    /* std(y) = √(var(1.5·(−2)·z0 − 0.25·z1)); hidden: 1.5·2·std(z0)/(std(y) + 1e-4) … */
    static const double node1[2] = { 0.9857323761425832, 0.04529530352570628 };
    static const double edge0[4] = { 0.9722927405687974, 0.020255629552780693,
                                     0.16204879009479956, 0.04051125910556139 };
    static const double node0[2] = { 0.9925483701215781, 0.20256004920036094 };
    m->layers[0].subnode_scale[0] = 2.5;
    m->layers[0].subnode_bias[0] = 0.3;
    m->layers[0].node_scale[0] = -0.8;
    m->layers[0].node_bias[0] = 0.2;
    s = scores_ok (m, hand_x, 4);
    assert_close (kan_scores_subnode_actscale (s, 1)[0], 10.68804823155285, tol, "std y");
    for (int j = 0; j < 2; j++)
      assert_close (kan_scores_node (s, 1)[j], node1[j], tol, "hidden score");
    for (int e = 0; e < 4; e++)
      assert_close (kan_scores_edge (s, 0)[e], edge0[e], tol, "layer-0 edge score");
    for (int i = 0; i < 2; i++)
      assert_close (kan_scores_node (s, 0)[i], node0[i], tol, "input score");
  }
  {
    g_autoptr (KanModel) a = hand_model_sum ();
    g_autoptr (KanModel) b = hand_model_sum ();
    g_autoptr (KanScores) sa = NULL, sb = NULL;
    b->layers[1].subnode_scale[0] = -3.7;
    b->layers[1].subnode_bias[0] = 1.1;
    b->layers[1].node_scale[0] = 0.02;
    b->layers[1].node_bias[0] = -5.0;
    sa = scores_ok (a, hand_x, 4);
    sb = scores_ok (b, hand_x, 4);
    for (int l = 0; l <= 2; l++)
      for (int i = 0; i < kan_scores_width (sa, l); i++)
        ck_assert (kan_scores_node (sa, l)[i] == kan_scores_node (sb, l)[i]);
  }
  {
    g_autoptr (KanModel) m = hand_model_sum ();
    g_autoptr (KanScores) s = NULL;
    m->layers[0].subnode_scale[0] = 0.0;
    m->layers[0].subnode_bias[0] = 0.3;
    s = scores_ok (m, hand_x, 4);
    ck_assert (kan_scores_node (s, 1)[0] == 0.0);
    ck_assert (kan_scores_edge (s, 0)[0] == 0.0 && kan_scores_edge (s, 0)[2] == 0.0);
    assert_close (kan_scores_node (s, 1)[1], 0.9997934835460576, tol, "live hidden node");
    assert_close (kan_scores_node (s, 0)[0], 0.4470981504848478, tol, "input 0");
    assert_close (kan_scores_node (s, 0)[1], 0.8941963009696956, tol, "input 1");
  }
}
END_TEST

/* Width 2,[1,1],1 (arity 2): subnode 0 is the sum node z0 = 1.2·x1 + 0.8·x2, subnodes 1 and 2
 * the factors 2·x1 and −1.5·x2 of the mult node h1 = z1·z2; y = 0.6·h0 + 1.1·h1. Both factors
 * get the mult node's score. */
START_TEST (test_scores_hand_mult)
{
  g_autoptr (KanModel) m = kt_model_new ("2,[1,1],1", "2", 3, 3, KAN_BASE_IDENTITY, 3);
  g_autoptr (KanScores) s = NULL;
  const double tol = 1e-13;
  static const double w0[6] = { 1.2, 2.0, 0.0, 0.8, 0.0, -1.5 }, w1[2] = { 0.6, 1.1 };
  /* std(z) = √(1.44·3 + 0.64/3), 2√3, 1.5/√3; std(h1) = 3·1.5·0.5·√(4/3);
   * std(y) = √(0.36·var(z0) + 1.21·var(h1)). */
  static const double sub0[3] = { 2.129162589689508, 3.4641016151377544, 0.8660254037844386 };
  const double std_y = 3.1304153079104378, std_h1 = 2.598076211353316;
  static const double node1[2] = { 0.40807899919403723, 0.9129116300013345 };
  static const double edge0[6] = { 0.39834272965402534, 0.9128852772733058, 0.0,
                                   0.08852060658978343, 0.0, 0.9128062282170187 };
  static const double node0[2] = { 1.3112280069273312, 1.001326834806802 };

  for (int e = 0; e < 6; e++)
    {
      m->layers[0].scale_base[e] = w0[e];
      m->layers[0].scale_sp[e] = 0.0;
    }
  kan_model_set_edge (m, 0, 0, 2, KAN_EDGE_OFF, 0, NULL);
  kan_model_set_edge (m, 0, 1, 1, KAN_EDGE_OFF, 0, NULL);
  for (int e = 0; e < 2; e++)
    {
      m->layers[1].scale_base[e] = w1[e];
      m->layers[1].scale_sp[e] = 0.0;
    }
  s = scores_ok (m, hand_x, 4);

  ck_assert_int_eq (kan_scores_width (s, 1), 2);
  ck_assert_int_eq (kan_scores_subwidth (s, 0), 3);
  for (int j = 0; j < 3; j++)
    assert_close (kan_scores_subnode_actscale (s, 0)[j], sub0[j], tol, "subnode std");
  assert_close (kan_scores_subnode_actscale (s, 1)[0], std_y, tol, "std y");
  assert_close (kan_scores_edge_actscale (s, 1)[1], 1.1 * std_h1, tol, "mult edge std");
  for (int q = 0; q < 2; q++)
    assert_close (kan_scores_node (s, 1)[q], node1[q], tol, "hidden score");
  assert_close (kan_scores_subnode (s, 0)[0], node1[0], tol, "sum subnode");
  assert_close (kan_scores_subnode (s, 0)[1], node1[1], tol, "factor 1");
  assert_close (kan_scores_subnode (s, 0)[2], node1[1], tol, "factor 2");
  for (int e = 0; e < 6; e++)
    assert_close (kan_scores_edge (s, 0)[e], edge0[e], tol, "layer-0 edge score");
  for (int i = 0; i < 2; i++)
    assert_close (kan_scores_node (s, 0)[i], node0[i], tol, "input score");
}
END_TEST

/* The statistics over more rows than one forward chunk equal a two-pass std over one big
 * forward, and the backward pass follows pykan's per-output formula. */
START_TEST (test_scores_statistics)
{
  g_autoptr (KanModel) m = kt_model_new ("3,[2,1],2", "3", 4, 3, KAN_BASE_SILU, 11);
  gsl_rng *r = gsl_rng_alloc (gsl_rng_mt19937);
  const size_t n = 2500;
  g_autofree double *x = NULL;
  g_autoptr (KanScores) s = NULL;
  g_autoptr (KanWork) w = NULL;
  int K;

  gsl_rng_set (r, 5);
  randomize (m, r);
  lock_random (m, r);
  x = random_rows (r, n, 3, -1.3, 1.3);
  s = scores_ok (m, x, n);
  w = kan_work_new (m, n);
  kan_model_forward (m, w, x, n, 0.0, NULL);
  K = kan_model_n_out (m);

  for (int l = 0; l < m->depth; l++)
    {
      int I = m->layers[l].n_in, O = m->layers[l].n_out;
      const double *post = kan_work_edge_output (w, l);
      for (int j = 0; j < O; j++)
        {
          double mz = 0, vz = 0;
          for (size_t b = 0; b < n; b++)
            {
              double z = 0;
              for (int i = 0; i < I; i++)
                z += post[(b * I + i) * O + j];
              mz += z;
            }
          mz /= n;
          for (size_t b = 0; b < n; b++)
            {
              double z = 0;
              for (int i = 0; i < I; i++)
                z += post[(b * I + i) * O + j];
              vz += (z - mz) * (z - mz);
            }
          assert_close (kan_scores_subnode_actscale (s, l)[j], sqrt (vz / (n - 1)), 1e-11,
                        "subnode std");
          for (int i = 0; i < I; i++)
            {
              double me = 0, ve = 0;
              for (size_t b = 0; b < n; b++)
                me += post[(b * I + i) * O + j];
              me /= n;
              for (size_t b = 0; b < n; b++)
                {
                  double d = post[(b * I + i) * O + j] - me;
                  ve += d * d;
                }
              assert_close (kan_scores_edge_actscale (s, l)[i * O + j], sqrt (ve / (n - 1)),
                            1e-11, "edge std");
            }
        }
    }

  /* Per output k: start from e_k and apply the formula layer by layer. */
  for (int l = 0; l <= m->depth; l++)
    {
      int W = kan_scores_width (s, l);
      for (int i = 0; i < W; i++)
        {
          double mean = 0;
          for (int k = 0; k < K; k++)
            mean += kan_scores_node_for_output (s, l, k)[i];
          assert_close (kan_scores_node (s, l)[i], mean / K, 1e-14, "mean over outputs");
        }
    }
  for (int k = 0; k < K; k++)
    for (int q = 0; q < K; q++)
      ck_assert (kan_scores_node_for_output (s, m->depth, k)[q] == (k == q ? 1.0 : 0.0));
  for (int q = 0; q < K; q++)
    assert_close (kan_scores_node (s, m->depth)[q], 1.0 / K, 0, "output score 1/n_out");
  for (int k = 0; k < K; k++)
    for (int l = m->depth - 1; l >= 0; l--)
      {
        const KanLayer *Ly = &m->layers[l];
        const double *S = kan_scores_node_for_output (s, l + 1, k);
        const double *act = kan_scores_edge_actscale (s, l);
        const double *sub = kan_scores_subnode_actscale (s, l);
        for (int i = 0; i < Ly->n_in; i++)
          {
            double want = 0;
            for (int q = 0; q < Ly->n_next; q++)
              for (int j = Ly->group_start[q]; j < Ly->group_start[q + 1]; j++)
                want += act[i * Ly->n_out + j] * S[q] / (sub[j] + KAN_SCORE_STD_FLOOR);
            assert_close (kan_scores_node_for_output (s, l, k)[i], want, 1e-13, "backward");
          }
      }
  gsl_rng_free (r);
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* Pruning nodes                                                                               */

static const struct
{
  const char *width, *arity;
  gboolean    sym;
} prune_cases[] = {
  { "3,5,4,2", NULL, FALSE },
  { "3,5,4,2", NULL, TRUE },
  { "3,[2,2],[1,2],2", "2,3,3,2", TRUE },
  { "2,[0,2],[2,1],1", "3", TRUE },
  { "4,[3,2],1", "2", FALSE },
};

/* The upper median of N values. */
static double
median (const double *v, int n)
{
  g_autofree double *c = g_memdup2 (v, sizeof (double) * n);
  for (int a = 0; a < n; a++)
    for (int b = a + 1; b < n; b++)
      if (c[b] < c[a])
        {
          double t = c[a];
          c[a] = c[b];
          c[b] = t;
        }
  return c[n / 2];
}

/* The nodes kept by threshold, as the header promises: score > th, else the best one. */
static int
expected_keep (const double *score, int width, double th, int *out)
{
  int c = 0, best = 0;
  for (int q = 0; q < width; q++)
    {
      if (score[q] > th)
        out[c++] = q;
      if (score[q] > score[best])
        best = q;
    }
  if (c == 0)
    out[c++] = best;
  return c;
}

/* Checks M2 against M with every hidden node not in KEEP[l] masked, on X. */
static void
check_pruned (const KanModel *m, const KanModel *m2, int **keep, const int *cnt,
              const double *x, size_t n)
{
  g_autoptr (KanModel) masked = kan_model_copy (m);

  ck_assert_int_eq (m2->depth, m->depth);
  for (int l = 1; l < m->depth; l++)
    {
      int ns = m->shape->n_sum[l], n_sum = 0, n_mult = 0, c = 0;
      for (int q = 0; q < kan_shape_nodes (m->shape, l); q++)
        if (c < cnt[l] && keep[l][c] == q)
          {
            c++;
            if (q < ns)
              n_sum++;
            else
              {
                ck_assert_int_eq (m2->shape->arity[l][n_mult], m->shape->arity[l][q - ns]);
                n_mult++;
              }
          }
        else
          kan_model_mask_node (masked, l, q);
      ck_assert_int_eq (m2->shape->n_sum[l], n_sum);
      ck_assert_int_eq (m2->shape->n_mult[l], n_mult);
    }
  assert_same_outputs (masked, x, m2, x, n, 1e-12);
}

START_TEST (test_prune_nodes_masked)
{
  gsl_rng *r = gsl_rng_alloc (gsl_rng_mt19937);
  const size_t n = 300;
  g_autoptr (KanModel) m = NULL;
  g_autoptr (KanScores) s = NULL;
  g_autofree double *x = NULL;
  int dropped_any = 0;

  gsl_rng_set (r, 100 + _i);
  m = kt_model_new (prune_cases[_i].width, prune_cases[_i].arity, 5, 3, KAN_BASE_SILU, 20 + _i);
  randomize (m, r);
  if (prune_cases[_i].sym)
    lock_random (m, r);
  x = random_rows (r, n, kan_model_n_in (m), -1.2, 1.2);
  s = scores_ok (m, x, n);

  for (int t = 0; t < 5; t++)
    {
      int L = m->depth;
      int **keep = g_new0 (int *, L + 1), *cnt = g_new0 (int, L + 1);
      int **lists = g_new0 (int *, MAX (L - 1, 1));
      double th;
      GError *error = NULL;
      KanModel *m2;

      /* Thresholds: all positive, the median of the first hidden layer, one that empties
       * every layer; then manual lists. */
      if (t == 0)
        th = 0.0;
      else if (t == 1)
        th = median (kan_scores_node (s, 1), kan_scores_width (s, 1));
      else
        th = 1e9;
      for (int l = 1; l < L; l++)
        {
          int W = kan_scores_width (s, l);
          keep[l] = g_new (int, W);
          if (t <= 2)
            cnt[l] = expected_keep (kan_scores_node (s, l), W, th, keep[l]);
          else
            {
              /* A random non-empty subset, listed in reverse order. */
              int c = 0;
              lists[l - 1] = g_new (int, W + 1);
              for (int q = W - 1; q >= 0; q--)
                if (gsl_rng_uniform (r) < 0.5)
                  lists[l - 1][c++] = q;
              if (c == 0)
                lists[l - 1][c++] = (int) gsl_rng_uniform_int (r, W);
              lists[l - 1][c] = -1;
              cnt[l] = 0;
              for (int q = 0; q < W; q++)
                for (int a = 0; a < c; a++)
                  if (lists[l - 1][a] == q)
                    keep[l][cnt[l]++] = q;
            }
          dropped_any += W - cnt[l];
        }

      if (t <= 2)
        m2 = kan_model_prune_nodes (m, s, th, NULL, &error);
      else
        m2 = kan_model_prune_nodes (m, s, 0.5, (const int *const *) lists, &error);
      ck_assert_msg (m2 != NULL, "prune: %s", error ? error->message : "?");
      check_pruned (m, m2, keep, cnt, x, n);
      if (t == 2)
        for (int l = 1; l < L; l++)
          ck_assert_int_eq (kan_shape_nodes (m2->shape, l), 1);

      kan_model_free (m2);
      for (int l = 0; l <= L; l++)
        g_free (keep[l]);
      for (int l = 0; l < L - 1; l++)
        g_free (lists[l]);
      g_free (keep);
      g_free (cnt);
      g_free (lists);
    }
  ck_assert_int_gt (dropped_any, 0);
  gsl_rng_free (r);
}
END_TEST

/* Every setting and every parameter of the kept part survives, knots and locks included. */
START_TEST (test_prune_settings)
{
  GError *error = NULL;
  KanShape *shape = kan_shape_parse ("3,[3,2],[2,1],2", "2,3,2", &error);
  KanModelConfig cfg;
  g_autoptr (KanModel) m = NULL;
  g_autoptr (KanModel) m2 = NULL;
  g_autoptr (KanScores) s = NULL;
  gsl_rng *r = gsl_rng_alloc (gsl_rng_mt19937);
  g_autofree double *x = NULL;
  static const int keep1[] = { 4, 0, 2, -1 }, keep2[] = { 2, 1, -1 };
  const int *const keep[] = { keep1, keep2 };
  /* Kept nodes per node layer (sorted) and the subnodes they bring. */
  static const int nodes[4][5] = { { 0, 1, 2 }, { 0, 2, 4 }, { 1, 2 }, { 0, 1 } };
  static const int cnt[4] = { 3, 3, 2, 2 };
  int P, T;

  ck_assert (shape != NULL);
  kan_model_config_init (&cfg);
  cfg.shape = shape;
  cfg.grid = 4;
  cfg.k = 2;
  cfg.noise_scale = 0.17;
  cfg.scale_base_mu = 0.11;
  cfg.scale_base_sigma = 0.7;
  cfg.base_fun = KAN_BASE_IDENTITY;
  cfg.grid_eps = 0.37;
  cfg.grid_range[0] = -2.5;
  cfg.grid_range[1] = 3.1;
  cfg.sp_trainable = FALSE;
  cfg.sb_trainable = FALSE;
  cfg.affine_trainable = TRUE;
  cfg.seed = 987654321;
  m = kan_model_new (&cfg, &error);
  ck_assert (m != NULL);
  kan_shape_free (shape);
  gsl_rng_set (r, 77);
  randomize (m, r);
  lock_random (m, r);
  P = m->G + m->k;
  T = m->G + 2 * m->k + 1;
  /* Distinct knots per input node, still increasing. */
  for (int l = 0; l < m->depth; l++)
    for (int i = 0; i < m->layers[l].n_in; i++)
      {
        double *t = kan_layer_knots (m, &m->layers[l], i);
        for (int q = 0; q < T; q++)
          t[q] += 0.013 * q * (i + 1) + 0.05 * l;
      }
  kan_model_grid_changed (m);

  x = random_rows (r, 50, 3, -2.0, 2.0);
  s = scores_ok (m, x, 50);
  m2 = kan_model_prune_nodes (m, s, KAN_PRUNE_NODE_THRESHOLD, keep, &error);
  ck_assert_msg (m2 != NULL, "%s", error ? error->message : "?");

  ck_assert_int_eq (m2->G, 4);
  ck_assert_int_eq (m2->k, 2);
  ck_assert_int_eq (m2->base_fun, KAN_BASE_IDENTITY);
  ck_assert (m2->grid_eps == 0.37);
  ck_assert (m2->grid_range[0] == -2.5 && m2->grid_range[1] == 3.1);
  ck_assert (!m2->sp_trainable && !m2->sb_trainable && m2->affine_trainable);
  ck_assert (m2->noise_scale == 0.17);
  ck_assert (m2->scale_base_mu == 0.11 && m2->scale_base_sigma == 0.7);
  ck_assert (m2->seed == 987654321);
  {
    g_autofree char *w = kan_shape_to_string (m2->shape);
    ck_assert_str_eq (w, "3,[2,1],[1,1],2");
    ck_assert_int_eq (m2->shape->arity[1][0], 3);
    ck_assert_int_eq (m2->shape->arity[2][0], 2);
  }

  for (int l = 0; l < m->depth; l++)
    {
      const KanLayer *A = &m->layers[l], *B = &m2->layers[l];
      int sub[8], n_sub = 0;
      for (int c = 0; c < cnt[l + 1]; c++)
        for (int j = A->group_start[nodes[l + 1][c]]; j < A->group_start[nodes[l + 1][c] + 1];
             j++)
          sub[n_sub++] = j;
      ck_assert_int_eq (B->n_in, cnt[l]);
      ck_assert_int_eq (B->n_out, n_sub);
      ck_assert_int_eq (B->n_next, cnt[l + 1]);
      for (int i2 = 0; i2 < B->n_in; i2++)
        {
          int i = nodes[l][i2];
          ck_assert (memcmp (kan_layer_knots (m2, B, i2), kan_layer_knots (m, A, i),
                             sizeof (double) * T) == 0);
          for (int j2 = 0; j2 < B->n_out; j2++)
            {
              size_t e = (size_t) i * A->n_out + sub[j2], e2 = (size_t) i2 * B->n_out + j2;
              ck_assert (memcmp (B->coef + e2 * P, A->coef + e * P, sizeof (double) * P) == 0);
              ck_assert (memcmp (B->sym + e2 * 4, A->sym + e * 4, sizeof (double) * 4) == 0);
              ck_assert (B->scale_base[e2] == A->scale_base[e]);
              ck_assert (B->scale_sp[e2] == A->scale_sp[e]);
              ck_assert (B->mask[e2] == A->mask[e]);
              ck_assert (B->mask_sym[e2] == A->mask_sym[e]);
              ck_assert_int_eq (B->sym_fn[e2], A->sym_fn[e]);
            }
        }
      for (int j2 = 0; j2 < B->n_out; j2++)
        ck_assert (B->subnode_scale[j2] == A->subnode_scale[sub[j2]]
                   && B->subnode_bias[j2] == A->subnode_bias[sub[j2]]);
      for (int q2 = 0; q2 < B->n_next; q2++)
        ck_assert (B->node_scale[q2] == A->node_scale[nodes[l + 1][q2]]
                   && B->node_bias[q2] == A->node_bias[nodes[l + 1][q2]]);
    }
  {
    int *kk[4] = { (int *) nodes[0], (int *) nodes[1], (int *) nodes[2], (int *) nodes[3] };
    check_pruned (m, m2, kk, cnt, x, 50);
  }
  gsl_rng_free (r);
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* Inputs, edges, prune()                                                                      */

/* y depends on x1 only: every edge out of x2 is off, so x2 scores exactly 0 and is dropped. */
START_TEST (test_prune_inputs)
{
  gsl_rng *r = gsl_rng_alloc (gsl_rng_mt19937);
  g_autoptr (KanModel) m = kt_model_new ("2,3,1", NULL, 5, 3, KAN_BASE_SILU, 4);
  g_autoptr (KanModel) m2 = NULL;
  g_autoptr (KanModel) m3 = NULL;
  g_autoptr (KanScores) s = NULL;
  g_autofree double *x = NULL, *x1 = NULL;
  g_autofree int *kept = NULL, *kept3 = NULL;
  static const int both[] = { 1, 0, -1 };
  GError *error = NULL;
  const size_t n = 200;

  gsl_rng_set (r, 9);
  randomize (m, r);
  kan_model_mask_node (m, 0, 1);
  x = random_rows (r, n, 2, -1.0, 1.0);
  s = scores_ok (m, x, n);
  ck_assert (kan_scores_inputs (s)[1] == 0.0);
  ck_assert (kan_scores_inputs (s)[0] > KAN_PRUNE_INPUT_THRESHOLD);

  m2 = kan_model_prune_inputs (m, s, KAN_PRUNE_INPUT_THRESHOLD, NULL, &kept, &error);
  ck_assert_msg (m2 != NULL, "%s", error ? error->message : "?");
  ck_assert_int_eq (kan_model_n_in (m2), 1);
  ck_assert_int_eq (kept[0], 0);
  ck_assert_int_eq (kept[1], -1);
  x1 = g_new (double, n);
  for (size_t b = 0; b < n; b++)
    x1[b] = x[b * 2 + kept[0]];
  assert_same_outputs (m, x, m2, x1, n, 1e-12);
  /* Hidden layers and outputs untouched. */
  ck_assert_int_eq (kan_model_layer_out (m2, 0), 3);
  ck_assert (memcmp (m2->layers[1].coef, m->layers[1].coef,
                     sizeof (double) * 3 * (m->G + m->k)) == 0);

  /* A manual list keeps both, sorted. */
  m3 = kan_model_prune_inputs (m, s, 1e9, both, &kept3, &error);
  ck_assert (m3 != NULL);
  ck_assert_int_eq (kan_model_n_in (m3), 2);
  ck_assert (kept3[0] == 0 && kept3[1] == 1 && kept3[2] == -1);
  assert_same_outputs (m, x, m3, x, n, 0);
  gsl_rng_free (r);
}
END_TEST

START_TEST (test_prune_edges)
{
  gsl_rng *r = gsl_rng_alloc (gsl_rng_mt19937);
  g_autoptr (KanModel) m = kt_model_new ("3,4,2", NULL, 5, 3, KAN_BASE_SILU, 8);
  g_autoptr (KanModel) orig = NULL;
  g_autoptr (KanScores) s = NULL;
  g_autofree double *x = NULL, *all = NULL;
  double abcd[4] = { 1.0, 0.0, 1e-7, 0.0 };
  int n_all = 0, want = 0, got;
  double th;

  gsl_rng_set (r, 31);
  randomize (m, r);
  lock_random (m, r);
  /* A locked edge of negligible size: must end up off in both branches. */
  kan_model_set_edge (m, 0, 1, 2, KAN_EDGE_BOTH, kan_sym_lookup ("sin"), abcd);
  m->layers[0].scale_base[1 * 4 + 2] = 1e-7;
  m->layers[0].scale_sp[1 * 4 + 2] = 1e-7;
  kan_model_set_edge (m, 1, 3, 0, KAN_EDGE_OFF, 0, NULL);
  x = random_rows (r, 150, 3, -1.0, 1.0);
  s = scores_ok (m, x, 150);
  orig = kan_model_copy (m);

  all = g_new (double, 3 * 4 + 4 * 2);
  for (int l = 0; l < 2; l++)
    for (int e = 0; e < m->layers[l].n_in * m->layers[l].n_out; e++)
      all[n_all++] = kan_scores_edge (s, l)[e];
  th = median (all, n_all);
  ck_assert (kan_scores_edge (s, 1)[3 * 2 + 0] == 0.0);
  ck_assert (kan_scores_edge (s, 0)[1 * 4 + 2] < th);

  for (int l = 0; l < 2; l++)
    for (int i = 0; i < m->layers[l].n_in; i++)
      for (int j = 0; j < m->layers[l].n_out; j++)
        if (kan_scores_edge (s, l)[i * m->layers[l].n_out + j] <= th
            && kan_model_edge_mode (m, l, i, j) != KAN_EDGE_OFF)
          want++;
  got = kan_model_prune_edges (m, s, th);
  ck_assert_int_eq (got, want);
  ck_assert_int_gt (got, 0);

  for (int l = 0; l < 2; l++)
    {
      const KanLayer *A = &orig->layers[l], *B = &m->layers[l];
      int P = m->G + m->k;
      for (int i = 0; i < A->n_in; i++)
        for (int j = 0; j < A->n_out; j++)
          {
            size_t e = (size_t) i * A->n_out + j;
            if (kan_scores_edge (s, l)[e] <= th)
              {
                ck_assert_int_eq (kan_model_edge_mode (m, l, i, j), KAN_EDGE_OFF);
                ck_assert (B->mask[e] == 0.0 && B->mask_sym[e] == 0.0);
              }
            else
              {
                ck_assert_int_eq (kan_model_edge_mode (m, l, i, j),
                                  kan_model_edge_mode (orig, l, i, j));
                ck_assert_int_eq (B->sym_fn[e], A->sym_fn[e]);
                ck_assert (memcmp (B->sym + e * 4, A->sym + e * 4, 4 * sizeof (double)) == 0);
              }
            /* Spline parameters are not touched. */
            ck_assert (memcmp (B->coef + e * P, A->coef + e * P, sizeof (double) * P) == 0);
          }
    }
  ck_assert_int_eq (kan_model_edge_mode (m, 0, 1, 2), KAN_EDGE_OFF);
  /* Idempotent with the same scores. */
  ck_assert_int_eq (kan_model_prune_edges (m, s, th), 0);
  gsl_rng_free (r);
}
END_TEST

/* prune() = prune_nodes, scores of the result, prune_edges. */
START_TEST (test_prune_pipeline)
{
  gsl_rng *r = gsl_rng_alloc (gsl_rng_mt19937);
  g_autoptr (KanModel) m = kt_model_new ("3,[4,1],3,1", "2", 5, 3, KAN_BASE_SILU, 12);
  g_autoptr (KanModel) a = NULL;
  g_autoptr (KanModel) b = NULL;
  g_autoptr (KanScores) s = NULL;
  g_autoptr (KanScores) s2 = NULL;
  g_autofree double *x = NULL;
  GError *error = NULL;
  const double nth = 0.05, eth = 0.08;

  gsl_rng_set (r, 44);
  randomize (m, r);
  lock_random (m, r);
  kan_model_mask_node (m, 1, 2);
  x = random_rows (r, 120, 3, -1.0, 1.0);

  a = kan_model_prune (m, x, 120, nth, eth, &error);
  ck_assert_msg (a != NULL, "%s", error ? error->message : "?");
  s = scores_ok (m, x, 120);
  b = kan_model_prune_nodes (m, s, nth, NULL, &error);
  ck_assert (b != NULL);
  ck_assert_int_lt (kan_shape_nodes (b->shape, 1), 5);
  s2 = scores_ok (b, x, 120);
  kan_model_prune_edges (b, s2, eth);
  ck_assert_int_eq (a->n_params, b->n_params);
  ck_assert_int_eq (a->n_state_d, b->n_state_d);
  ck_assert (memcmp (a->params, b->params, sizeof (double) * a->n_params) == 0);
  ck_assert (memcmp (a->state_d, b->state_d, sizeof (double) * a->n_state_d) == 0);
  ck_assert (memcmp (a->state_i, b->state_i, sizeof (int) * a->n_state_i) == 0);
  gsl_rng_free (r);
}
END_TEST

/* mask_node turns off every edge into the node's whole group and out of the node. */
START_TEST (test_mask_node)
{
  g_autoptr (KanModel) m = kt_model_new ("2,[1,2],2", "3", 3, 3, KAN_BASE_SILU, 2);
  const KanLayer *L0 = &m->layers[0], *L1 = &m->layers[1];

  kan_model_set_edge (m, 1, 2, 1, KAN_EDGE_SYMBOLIC, kan_sym_lookup ("sin"), NULL);
  kan_model_mask_node (m, 1, 2);  /* second mult node: subnodes 4, 5, 6 */
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < L0->n_out; j++)
      ck_assert_int_eq (kan_model_edge_mode (m, 0, i, j) == KAN_EDGE_OFF, j >= 4);
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < L1->n_out; j++)
      ck_assert_int_eq (kan_model_edge_mode (m, 1, i, j) == KAN_EDGE_OFF, i == 2);
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* Errors                                                                                      */

static int n_criticals;

static void
count_criticals (const char *domain, GLogLevelFlags level, const char *msg, gpointer data)
{
  if (level & G_LOG_LEVEL_CRITICAL)
    n_criticals++;
}

static void
assert_error (GError **error, int code)
{
  ck_assert_msg (*error != NULL, "expected an error");
  ck_assert (g_error_matches (*error, KAN_ERROR, code));
  ck_assert (strlen ((*error)->message) > 10);
  g_clear_error (error);
}

START_TEST (test_errors)
{
  gsl_rng *r = gsl_rng_alloc (gsl_rng_mt19937);
  g_autoptr (KanModel) m = kt_model_new ("2,[3,1],2,1", "2", 3, 3, KAN_BASE_SILU, 5);
  g_autoptr (KanModel) other = kt_model_new ("2,4,2,1", NULL, 3, 3, KAN_BASE_SILU, 5);
  g_autoptr (KanModel) copy = NULL;
  g_autoptr (KanScores) s = NULL;
  g_autoptr (KanScores) so = NULL;
  g_autofree double *x = NULL;
  GError *error = NULL;
  int *kept = (int *) 1;
  static const int out_of_range[] = { 0, 4, -1 }, negative[] = { 0, -3, -1 },
                   twice[] = { 1, 1, -1 }, empty[] = { -1 }, fine[] = { 0, 1, -1 };

  gsl_rng_set (r, 3);
  x = random_rows (r, 40, 2, -1.0, 1.0);

  /* Scores: too few rows, non-finite input, non-finite model. */
  ck_assert (kan_scores_compute (m, x, 1, &error) == NULL);
  assert_error (&error, KAN_ERROR_DATA);
  x[7] = NAN;
  ck_assert (kan_scores_compute (m, x, 40, &error) == NULL);
  assert_error (&error, KAN_ERROR_DATA);
  x[7] = 0.25;
  copy = kan_model_copy (m);
  copy->layers[1].node_scale[0] = INFINITY;
  ck_assert (kan_scores_compute (copy, x, 40, &error) == NULL);
  assert_error (&error, KAN_ERROR_NONFINITE);

  s = scores_ok (m, x, 40);
  so = scores_ok (other, x, 40);

  /* prune_nodes */
  ck_assert (kan_model_prune_nodes (m, s, NAN, NULL, &error) == NULL);
  assert_error (&error, KAN_ERROR_INVALID);
  {
    const int *const k1[] = { out_of_range, NULL };
    const int *const k2[] = { fine, negative };
    const int *const k3[] = { twice, NULL };
    const int *const k4[] = { NULL, empty };
    const int *const k5[] = { fine, NULL };
    KanModel *ok;
    ck_assert (kan_model_prune_nodes (m, s, 0.01, k1, &error) == NULL);
    assert_error (&error, KAN_ERROR_INVALID);
    ck_assert (kan_model_prune_nodes (m, s, 0.01, k2, &error) == NULL);
    assert_error (&error, KAN_ERROR_INVALID);
    ck_assert (kan_model_prune_nodes (m, s, 0.01, k3, &error) == NULL);
    assert_error (&error, KAN_ERROR_INVALID);
    ck_assert (kan_model_prune_nodes (m, s, 0.01, k4, &error) == NULL);
    assert_error (&error, KAN_ERROR_INVALID);
    /* A NULL entry means "by threshold" for that layer. */
    ok = kan_model_prune_nodes (m, s, -1.0, k5, &error);
    ck_assert (ok != NULL);
    ck_assert_int_eq (kan_shape_nodes (ok->shape, 1), 2);
    ck_assert_int_eq (kan_shape_nodes (ok->shape, 2), 2);
    kan_model_free (ok);
  }
  ck_assert (kan_model_prune_nodes (m, so, 0.01, NULL, &error) == NULL);
  assert_error (&error, KAN_ERROR_SHAPE);

  /* prune_inputs */
  ck_assert (kan_model_prune_inputs (m, s, NAN, NULL, &kept, &error) == NULL);
  assert_error (&error, KAN_ERROR_INVALID);
  ck_assert (kept == NULL);
  ck_assert (kan_model_prune_inputs (m, s, 0.01, (int[]) { 2, -1 }, &kept, &error) == NULL);
  assert_error (&error, KAN_ERROR_INVALID);
  ck_assert (kan_model_prune_inputs (m, s, 0.01, twice, NULL, &error) == NULL);
  assert_error (&error, KAN_ERROR_INVALID);
  ck_assert (kan_model_prune_inputs (m, s, 0.01, empty, NULL, &error) == NULL);
  assert_error (&error, KAN_ERROR_INVALID);
  ck_assert (kan_model_prune_inputs (m, so, 0.01, NULL, NULL, &error) == NULL);
  assert_error (&error, KAN_ERROR_SHAPE);

  /* prune() */
  ck_assert (kan_model_prune (m, x, 40, 0.01, NAN, &error) == NULL);
  assert_error (&error, KAN_ERROR_INVALID);
  ck_assert (kan_model_prune (m, x, 40, NAN, 0.03, &error) == NULL);
  assert_error (&error, KAN_ERROR_INVALID);
  ck_assert (kan_model_prune (m, x, 1, 0.01, 0.03, &error) == NULL);
  assert_error (&error, KAN_ERROR_DATA);

  /* prune_edges is a programmer's call: a NaN threshold or foreign scores are criticals that
   * leave the model alone. This test runs in its own process, so relaxing fatality is local. */
  g_log_set_always_fatal (G_LOG_LEVEL_ERROR);
  g_log_set_default_handler (count_criticals, NULL);
  {
    g_autoptr (KanModel) before = kan_model_copy (m);
    n_criticals = 0;
    ck_assert_int_eq (kan_model_prune_edges (m, s, NAN), 0);
    ck_assert_int_eq (kan_model_prune_edges (m, so, 0.03), 0);
    ck_assert_int_eq (n_criticals, 2);
    ck_assert (memcmp (before->state_d, m->state_d, sizeof (double) * m->n_state_d) == 0);
    kan_model_mask_node (m, 4, 0);
    kan_model_mask_node (m, 1, 4);
    ck_assert_int_eq (n_criticals, 4);
  }
  gsl_rng_free (r);
}
END_TEST

/* ------------------------------------------------------------------------------------------ */

static Suite *
prune_suite (void)
{
  Suite *s = suite_create ("prune");
  TCase *tc;

  tc = tcase_create ("scores");
  tcase_add_test (tc, test_scores_hand_sum);
  tcase_add_test (tc, test_scores_hand_affine);
  tcase_add_test (tc, test_scores_hand_mult);
  tcase_add_test (tc, test_scores_statistics);
  suite_add_tcase (s, tc);

  tc = tcase_create ("prune");
  tcase_set_timeout (tc, 120);
  tcase_add_loop_test (tc, test_prune_nodes_masked, 0, G_N_ELEMENTS (prune_cases));
  tcase_add_test (tc, test_prune_settings);
  tcase_add_test (tc, test_prune_inputs);
  tcase_add_test (tc, test_prune_edges);
  tcase_add_test (tc, test_prune_pipeline);
  tcase_add_test (tc, test_mask_node);
  suite_add_tcase (s, tc);

  tc = tcase_create ("errors");
  tcase_add_test (tc, test_errors);
  suite_add_tcase (s, tc);
  return s;
}

int
main (int    argc,
      char **argv)
{
  gsl_set_error_handler_off ();
  return kt_run (prune_suite (), argc, argv);
}
