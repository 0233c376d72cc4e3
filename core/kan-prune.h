/* kan-prune.h — attribution scores (KAN 2.0, pykan's attribute()) and pruning.
 *
 * Scores flow backward from the outputs: an edge's share of its target subnode is the ratio of
 * standard deviations std(edge)/(std(subnode sum) + KAN_SCORE_STD_FLOOR), a node's score is the
 * sum of its outgoing edges' scores, and a multiplication node hands its score to every factor.
 *
 * Decisions:
 * - The formula is pykan's. The node and subnode affines are not written into it because their
 *   scales cancel exactly: the subnode affine and a sum node's affine multiply the edge and the
 *   subnode sum by the same |scale| before anything downstream sees them, so the ratio is the
 *   same (only the 1e-4 floor would notice). What a scale does change — the size of the signal
 *   the next layer receives — already enters through the next layer's edge std; a zero scale
 *   makes the node constant, its outgoing edges have std 0, and its score is exactly 0.
 * Where we differ from pykan:
 * - Pruning returns new models that keep every setting (grid_eps, grid_range, base function,
 *   trainability flags, noise, seed), the knots, the symbolic locks and the affines.
 * - A pruned edge is off in both branches (numeric and symbolic), as kan_model_set_edge makes it.
 * - A model with fewer inputs takes only the kept columns; the caller selects them.
 */
#pragma once

#include <glib.h>
#include "kan-model.h"

G_BEGIN_DECLS

/* pykan's floor added to the subnode std in the denominator of an edge score. */
#define KAN_SCORE_STD_FLOOR 1e-4
/* pykan's default thresholds. */
#define KAN_PRUNE_NODE_THRESHOLD 1e-2
#define KAN_PRUNE_EDGE_THRESHOLD 3e-2
#define KAN_PRUNE_INPUT_THRESHOLD 1e-2

typedef struct _KanScores KanScores;

/* Runs M over the N rows of X (n × n_in, N ≥ 2) and computes the attribution scores from the
 * unbiased standard deviations over the rows. Errors: KAN_ERROR_DATA for N < 2 or a non-finite
 * input, KAN_ERROR_NONFINITE if the model produces non-finite statistics. */
/* The scores are a new object (kan_scores_free, which accepts NULL); the arrays the accessors
 * below return belong to it and live as long as it does. */
KanScores    *kan_scores_compute          (const KanModel  *m,
                                           const double    *x,
                                           size_t           n,
                                           GError         **error);
void          kan_scores_free             (KanScores       *s);

int           kan_scores_depth            (const KanScores *s);
/* Nodes of node layer L (0 … depth) and subnodes fed by edge layer L (0 … depth-1). */
int           kan_scores_width            (const KanScores *s, int l);
int           kan_scores_subwidth         (const KanScores *s, int l);
size_t        kan_scores_rows             (const KanScores *s);

/* Node scores of node layer L (0 … depth), the mean over outputs as in pykan: the output
 * layer starts from the identity, so each output node scores 1/n_out (1 with one output). */
const double *kan_scores_node             (const KanScores *s, int l);
/* Node scores of node layer L when the backward pass starts from output K alone (pykan's
 * node_scores_all[l][k]); the output layer is then the unit vector e_K. */
const double *kan_scores_node_for_output  (const KanScores *s, int l, int k);
/* Input importances, node layer 0 (pykan's feature_score). */
const double *kan_scores_inputs           (const KanScores *s);
/* Edge scores of edge layer L (0 … depth-1): layer_in × layer_out, index [i·out + j]. */
const double *kan_scores_edge             (const KanScores *s, int l);
/* Scores of the subnodes fed by edge layer L (layer_out values). */
const double *kan_scores_subnode          (const KanScores *s, int l);
/* The statistics behind them: std of every edge output (as kan_scores_edge) and of every
 * subnode sum before its affine (layer_out values). */
const double *kan_scores_edge_actscale    (const KanScores *s, int l);
const double *kan_scores_subnode_actscale (const KanScores *s, int l);

/* The pruning functions that return a model return a new one (free with kan_model_free) and
 * leave M as it was. */

/* A new model without the hidden nodes whose score is ≤ THRESHOLD (pykan's prune_node), or
 * with the nodes listed in KEEP: KEEP[l-1] lists the nodes to keep in hidden node layer l
 * (1 … depth-1), ends with -1 and is read as a set; KEEP = NULL, or KEEP[l-1] = NULL for one
 * layer, means "by threshold". Input and output nodes are always kept. A kept multiplication
 * node keeps its whole group of subnodes. When the threshold would empty a layer, its best node
 * (the first of equal best) is kept so the result stays a network. The new model computes
 * exactly what M computes after kan_model_mask_node on every removed node.
 * Errors: KAN_ERROR_INVALID for a NaN threshold or a bad KEEP list (out of range, repeated,
 * empty), KAN_ERROR_SHAPE if S was computed on a model of another shape. */
KanModel     *kan_model_prune_nodes       (const KanModel   *m,
                                           const KanScores  *s,
                                           double            threshold,
                                           const int *const *keep,
                                           GError          **error);

/* The nodes of node layer L (0 … depth) that a prune at THRESHOLD keeps, increasing, ending
 * with -1 (free with g_free): those scoring > THRESHOLD, or, when that would empty the layer,
 * its best node (the first of equal best). THRESHOLD must not be NaN. */
int          *kan_scores_kept_nodes       (const KanScores  *s,
                                           int               l,
                                           double            threshold);

/* In place: turns off (numeric and symbolic masks 0) every edge whose score is ≤ THRESHOLD
 * (pykan's prune_edge, default KAN_PRUNE_EDGE_THRESHOLD). Returns how many edges that were on
 * are now off. S must come from a model of M's shape; THRESHOLD must not be NaN. */
int           kan_model_prune_edges       (KanModel         *m,
                                           const KanScores  *s,
                                           double            threshold);

/* A new model with only the inputs whose score is > THRESHOLD, or those listed in KEEP (ends
 * with -1, read as a set). If none would remain, the best input is kept. *KEPT_OUT (if not NULL)
 * receives the kept original column indices in increasing order, followed by -1 (free with
 * g_free); the new model's input i is original column (*KEPT_OUT)[i]. Errors as for
 * kan_model_prune_nodes. */
KanModel     *kan_model_prune_inputs      (const KanModel   *m,
                                           const KanScores  *s,
                                           double            threshold,
                                           const int        *keep,
                                           int             **kept_out,
                                           GError          **error);

/* pykan's prune(): scores on X, prune nodes at NODE_TH, scores of the pruned model on X, prune
 * edges at EDGE_TH. Returns the new model. */
KanModel     *kan_model_prune             (const KanModel   *m,
                                           const double     *x,
                                           size_t            n,
                                           double            node_th,
                                           double            edge_th,
                                           GError          **error);

/* Turns off every edge into (all subnodes of its group) and out of node NODE of node layer
 * LAYER (0 … depth; input nodes have no incoming edges, output nodes no outgoing ones). */
void          kan_model_mask_node         (KanModel         *m,
                                           int               layer,
                                           int               node);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KanScores, kan_scores_free)

G_END_DECLS
