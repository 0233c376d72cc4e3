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
 * and VAR indices follow that order (free them with g_strfreev). Errors name the 1-based
 * character position. Returns a new tree (kan_expr_free) or NULL. */
KanExpr     *kan_expr_parse        (const char         *text,
                                    const char *const  *vars,
                                    GStrv              *out_vars,
                                    GError            **error);

/* New nodes; kan_expr_unary and kan_expr_binary take their operands. kan_expr_copy makes a deep
 * copy, and kan_expr_copy, kan_expr_free, kan_expr_equal, kan_expr_max_var and kan_expr_size
 * accept NULL (the empty tree). */
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

/* E printed in STYLE with VAR_NAMES (NULL: x1, x2, …); free with g_free. */
char        *kan_expr_to_string    (const KanExpr      *e,
                                    const char *const  *var_names,
                                    KanExprStyle        style);

/* Variable names. A variable's name is an ASCII letter, then letters and digits with single
 * underscores between them (x1, temp_K, v_max, theta, gamma, E), other than the constants the
 * text style writes by name (pi, e, inf, nan). In text a function is always a name followed by
 * '(', so a variable may share a function's name (gamma*p is a product, gamma(p) a call). Each
 * style shows the name so that it reads as that variable there: text as it is, LaTeX typeset,
 * C and Python with '_' appended where the language or the output reserves the word (int_,
 * exp_, lambda_, np_), SymPy as Symbol('E', real=True) where sympify would read the bare word
 * as something else (kan_expr_style_name).
 *
 * kan_expr_name_problem returns NULL for a usable name, else why it is not, as a phrase that
 * follows the quoted name ("is not an identifier …"); free it with g_free. */
char        *kan_expr_name_problem (const char         *name);
/* A usable name close to NAME ("a-1" → "a_1", "lambda" → "lambda_1"), or NULL. */
char        *kan_expr_name_suggest (const char         *name);
/* Two names print the same in some style exactly when their keys are equal: the key is the
 * name as LaTeX prints it (x1 and x_1 both print as x_{1}). Free with g_free. */
char        *kan_expr_name_key     (const char         *name);
/* NAME as STYLE prints it (see above). Free with g_free. */
char        *kan_expr_style_name   (const char         *name,
                                    KanExprStyle        style);

/* For messages: TEXT when it has at most KAN_EXPR_EXCERPT_CHARS characters, else that many
 * around the 1-based character position POS (the start when POS < 1), with "…" where cut.
 * Invalid UTF-8 is replaced. */
#define KAN_EXPR_EXCERPT_CHARS 80
char        *kan_expr_excerpt      (const char         *text,
                                    long                pos);
/* The 1-based character position named by a parse error ("position N: …", "… at position N"),
 * or 0. */
long         kan_expr_error_position (const GError     *error);

/* Numbers in data and options: a decimal number, optionally signed ("-1.5e-3", ".5", "2."),
 * with nothing around it. Hexadecimal ("0x1p3"), infinities, NaN and numbers too large for a
 * double are refused; *PROBLEM (if not NULL) then says why, as a phrase following the quoted
 * text ("is not a number", "is not a finite number", "is a hexadecimal number; numbers are read
 * in decimal only"). */
gboolean     kan_parse_number      (const char         *text,
                                    double             *out,
                                    const char        **problem);

/* The parser's name of F (a static string; do not free). */
const char  *kan_func_name         (KanFunc             f);
gboolean     kan_func_lookup       (const char         *name,
                                    KanFunc            *out);
double       kan_func_eval         (KanFunc             f,
                                    double              x);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KanExpr, kan_expr_free)

G_END_DECLS
