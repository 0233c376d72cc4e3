/* kan-units.h — physical units and dimensional analysis (Buckingham π) for formula discovery.
 *
 * A unit here is only its dimension: the exponents of the seven SI base units. Scale factors do
 * not matter to dimensional analysis (a length in km or in m leads to the same π groups, the
 * factor ends up in the unknown function), so names without prefixes are enough.
 *
 * Unit expressions (kan_units_parse) are products, quotients and powers of these names:
 *
 *   base      m kg s A K mol cd
 *   derived   Hz N Pa J W C V F ohm (also Ohm, Ω) S Wb T H Bq Gy Sv kat lm lx eV
 *   other     g (mass), min and h (time), rad, sr and deg (dimensionless)
 *   none      "1", "-", or an empty text
 *
 * Products are written with '*', '·', '.' or a blank ("kg*m", "kg m", "m.s^-1"), quotients with
 * '/', powers with '^' or '**' and an integer, a decimal or a fraction in parentheses ("s^-2",
 * "m^0.5", "m^(1/2)", "m^(-3/2)"); parentheses group ("(kg*m)/(s^2)"). '/' divides by the one
 * factor after it, and a blank after that factor is refused as ambiguous: "W/m K" must be
 * written "W/(m*K)" or "W*K/m". Prefixed names (km, ms, mg) are refused with a hint. Every
 * exponent must be a fraction with a denominator of at most KAN_UNITS_MAX_DENOMINATOR and a
 * magnitude of at most KAN_UNITS_MAX_EXPONENT.
 *
 * Units of a data set come from a CSV header ("v [m/s]", see kan-data.h) or from a spec
 * "name=unit,name=unit" (kan_units_for_dataset). kan_units_reduce turns them into π groups.
 */
#pragma once

#include <glib.h>
#include "kan-data.h"
#include "kan-expr.h"

G_BEGIN_DECLS

#define KAN_UNITS_N_BASE 7

/* The base units, in the order of KanDim's exponents. */
typedef enum
{
  KAN_UNITS_M,
  KAN_UNITS_KG,
  KAN_UNITS_S,
  KAN_UNITS_A,
  KAN_UNITS_K,
  KAN_UNITS_MOL,
  KAN_UNITS_CD,
} KanUnitsBase;

/* A dimension: the exponent of each base unit (fractions such as 0.5 are allowed). */
typedef struct
{
  double e[KAN_UNITS_N_BASE];
} KanDim;

/* Exponents are fractions p/q with q ≤ this … */
#define KAN_UNITS_MAX_DENOMINATOR     12
/* … and |p/q| ≤ this. */
#define KAN_UNITS_MAX_EXPONENT        64
/* Two exponents given as doubles are equal when they differ by at most this (exponents built
 * from fractions such as 1/3 are not exact in binary). */
#define KAN_UNITS_EXPONENT_TOLERANCE  1e-9

/* Parses a unit expression (see above) into *OUT. Errors are KAN_ERROR_PARSE and name the
 * 1-based character position and the problem: "unit 'm/s^' at position 5: expected a power
 * after '^'" (kan_expr_error_position reads the position back). */
gboolean     kan_units_parse             (const char          *text,
                                          KanDim              *out,
                                          GError             **error);

/* kan_units_parse for callers that place the error themselves (a CSV header, a spec): on
 * failure *POS receives the 1-based character position in TEXT and *PROBLEM (free with g_free)
 * the problem alone ("expected a power after '^'"). */
gboolean     kan_units_parse_detail      (const char          *text,
                                          KanDim              *out,
                                          long                *pos,
                                          char               **problem);

/* D in base units, mass first: "kg*m^2/s^2", "kg/(m*s^2)", "1/s", "m^(1/2)"; "1" when D is
 * dimensionless. kan_units_parse reads it back to D. Free with g_free. */
char        *kan_units_to_string         (const KanDim        *d);

gboolean     kan_units_equal             (const KanDim        *a,
                                          const KanDim        *b);
gboolean     kan_units_is_dimensionless  (const KanDim        *d);

/* The units of data set D's inputs (IN_DIMS, n_in of them) and of its first output (*OUT_DIM),
 * from the CSV header (d->in_units, d->out_units) and from SPEC, "name=unit,name=unit,…" (NULL
 * or blank: header units only). SPEC's names are input names or the first output name, each
 * at most once; a unit given there replaces the header's. *HAVE_UNITS tells whether every
 * column has units; when none has, the dims are dimensionless and the call succeeds.
 *
 * Errors (KAN_ERROR_PARSE) name the 1-based position in SPEC and the problem: "units
 * 'm=kg,q=m' at position 6: no column named 'q' (columns: m, v, y)", a name given twice, an
 * entry without '=', a bad unit (the position is that of the problem inside the unit). A bad
 * header unit names its column. Some columns with units and others without is
 * KAN_ERROR_INVALID, naming the columns without units. */
gboolean     kan_units_for_dataset       (const KanDataset    *d,
                                          const char          *spec,
                                          KanDim              *in_dims,
                                          KanDim              *out_dim,
                                          gboolean            *have_units,
                                          GError             **error);

/* Buckingham π reduction: y = scale · g(groups) for some unknown g.
 *
 * The groups are chosen to be simple, by this rule. A dimensionless input is a group on its
 * own. Among the other inputs, a set of "repeating" inputs is chosen whose dimensions are
 * independent and span those of all the other inputs; the scale is the product of repeating
 * inputs with y's units (exponents solved exactly), and every input outside the set heads one
 * group: it times the product of repeating inputs that cancels its units, raised to the
 * smallest power that makes every exponent an integer (so the head's exponent is positive).
 * Of all repeating sets (every subset of the right size, up to KAN_UNITS_MAX_SUBSETS of them;
 * beyond that the set is built greedily from the last column) the one chosen has the least
 * total |exponent| over scale and groups; ties go to fewer variables in all, then to groups
 * headed by the earliest columns — so constants, which usually stand last (c in m, v, c), are
 * the repeating ones, and two inputs with the same units give the ratio v/c. Groups come in
 * the order of their heads' columns. Exponents are computed in exact fractions. */
#define KAN_UNITS_MAX_SUBSETS 100000

typedef struct
{
  int       n_in;
  int       n_groups;
  KanExpr **groups;      /* n_groups dimensionless products Π xᵢ^aᵢ over the input indices */
  double   *group_exps;  /* n_groups × n_in: the aᵢ (integers) */
  int      *heads;       /* n_groups: the input each group is built around (its aᵢ is > 0) */
  char    **names;       /* n_groups names, "pi1", "pi2", …, NULL-terminated */
  KanExpr  *scale;       /* Π xᵢ^bᵢ with y's units; NULL when y is dimensionless */
  double   *scale_exps;  /* n_in: the bᵢ (all 0 when scale is NULL) */
} KanUnitsReduction;

/* Reduces inputs with units IN_DIMS (N_IN) and an output with units OUT_DIM. IN_NAMES (n_in
 * names, or NULL for x1, x2, …) and OUT_NAME (or NULL for y) are for messages. Fails with
 * KAN_ERROR_INVALID when y's units cannot be made from the inputs' (naming both, and a base
 * unit no input has), or when an exponent is not a fraction within the limits above. */
gboolean     kan_units_reduce            (const KanDim        *in_dims,
                                          int                  n_in,
                                          const KanDim        *out_dim,
                                          const char *const   *in_names,
                                          const char          *out_name,
                                          KanUnitsReduction  **out,
                                          GError             **error);
void         kan_units_reduction_free    (KanUnitsReduction   *r);

/* The units of E over inputs with units IN_DIMS (N_IN): numbers are dimensionless; sums,
 * differences need equal units; products and quotients add and subtract exponents; a^b needs
 * a constant b unless a is dimensionless (then b must be dimensionless), and multiplies by b;
 * sqrt halves, abs keeps, sign gives 1 for any argument; every other function needs a
 * dimensionless argument and is dimensionless. On failure *WHY (if not NULL; free with
 * g_free) says which subexpression is wrong, printed with IN_NAMES (NULL: x1, x2, …). */
gboolean     kan_units_expr_dim          (const KanExpr       *e,
                                          const KanDim        *in_dims,
                                          int                  n_in,
                                          const char *const   *in_names,
                                          KanDim              *out,
                                          char               **why);

/* TRUE when E has units OUT_DIM (kan_units_expr_dim); else *WHY says why. */
gboolean     kan_units_check_expr        (const KanExpr       *e,
                                          const KanDim        *in_dims,
                                          int                  n_in,
                                          const char *const   *in_names,
                                          const KanDim        *out_dim,
                                          char               **why);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KanUnitsReduction, kan_units_reduction_free)

G_END_DECLS
