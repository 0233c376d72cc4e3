/* kan-expr.h — expression trees: parse user formulas, evaluate them, print them.
 *
 * One tree type serves three uses: data sets sampled from a user formula, the network's
 * composed symbolic formula, and printing (text, LaTeX, SymPy, C, Python).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  KAN_EXPR_NUM,   /* constant: value */
  KAN_EXPR_VAR,   /* variable: var (index into the variable list) */
  KAN_EXPR_ADD,   /* a + b */
  KAN_EXPR_SUB,   /* a - b */
  KAN_EXPR_MUL,   /* a * b */
  KAN_EXPR_DIV,   /* a / b */
  KAN_EXPR_POW,   /* a ^ b */
  KAN_EXPR_NEG,   /* -a */
  KAN_EXPR_CALL,  /* func(a) */
} KanExprKind;

/* Functions of one argument known to the parser and printer. */
typedef enum
{
  KAN_FUNC_SIN, KAN_FUNC_COS, KAN_FUNC_TAN,
  KAN_FUNC_ASIN, KAN_FUNC_ACOS, KAN_FUNC_ATAN,
  KAN_FUNC_SINH, KAN_FUNC_COSH, KAN_FUNC_TANH,
  KAN_FUNC_ASINH, KAN_FUNC_ACOSH, KAN_FUNC_ATANH,
  KAN_FUNC_EXP, KAN_FUNC_LOG, KAN_FUNC_SQRT, KAN_FUNC_ABS, KAN_FUNC_SIGN,
  KAN_FUNC_SIGMOID, KAN_FUNC_ERF, KAN_FUNC_GAMMA,
  KAN_FUNC_BESSELJ0, KAN_FUNC_BESSELJ1, KAN_FUNC_BESSELY0, KAN_FUNC_BESSELY1,
  KAN_FUNC_N_FUNCS
} KanFunc;

typedef struct _KanExpr KanExpr;
struct _KanExpr
{
  KanExprKind kind;
  double      value;  /* KAN_EXPR_NUM */
  int         var;    /* KAN_EXPR_VAR */
  KanFunc     func;   /* KAN_EXPR_CALL */
  KanExpr    *a;      /* first operand (unary and binary nodes) */
  KanExpr    *b;      /* second operand (binary nodes) */
};

typedef enum
{
  KAN_EXPR_STYLE_TEXT,    /* exp(sin(pi*x1) + x2^2) — parseable by kan_expr_parse */
  KAN_EXPR_STYLE_LATEX,   /* e^{\sin{\left(\pi x_{1} \right)} + x_{2}^{2}} */
  KAN_EXPR_STYLE_SYMPY,   /* exp(sin(pi*x1) + x2**2) — parseable by sympy.sympify */
  KAN_EXPR_STYLE_C,       /* exp(sin(M_PI*x1) + pow(x2, 2)) — C99 with <math.h> */
  KAN_EXPR_STYLE_PYTHON,  /* np.exp(np.sin(np.pi*x1) + x2**2) — NumPy */
} KanExprStyle;

/* Parses TEXT. VARS is the NULL-terminated list of allowed variable names; a name outside it
 * is an error. With VARS == NULL every identifier that is not a function or constant becomes
 * a variable; *OUT_VARS (if not NULL) then receives the names in natural order (x2 before x10),
 * and VAR indices follow that order. Errors name the 1-based character position. */
KanExpr     *kan_expr_parse        (const char         *text,
                                    const char *const  *vars,
                                    GStrv              *out_vars,
                                    GError            **error);

KanExpr     *kan_expr_num          (double              value);
KanExpr     *kan_expr_var          (int                 var);
KanExpr     *kan_expr_unary        (KanExprKind         kind,
                                    KanFunc             func,
                                    KanExpr            *a);
KanExpr     *kan_expr_binary       (KanExprKind         kind,
                                    KanExpr            *a,
                                    KanExpr            *b);
KanExpr     *kan_expr_copy         (const KanExpr      *e);
void         kan_expr_free         (KanExpr            *e);
gboolean     kan_expr_equal        (const KanExpr      *x,
                                    const KanExpr      *y);

double       kan_expr_eval         (const KanExpr      *e,
                                    const double       *vars);
/* Evaluates E on N rows of X (row-major, STRIDE doubles per row) into OUT. */
void         kan_expr_eval_rows    (const KanExpr      *e,
                                    const double       *x,
                                    size_t              n,
                                    size_t              stride,
                                    double             *out);
/* Largest variable index used, or -1. */
int          kan_expr_max_var      (const KanExpr      *e);
/* Number of nodes of the tree (a constant such as pi counts one): the complexity measure of
 * discovered formulas. */
int          kan_expr_size         (const KanExpr      *e);

char        *kan_expr_to_string    (const KanExpr      *e,
                                    const char *const  *var_names,
                                    KanExprStyle        style);

const char  *kan_func_name         (KanFunc             f);
gboolean     kan_func_lookup       (const char         *name,
                                    KanFunc            *out);
double       kan_func_eval         (KanFunc             f,
                                    double              x);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KanExpr, kan_expr_free)

G_END_DECLS
