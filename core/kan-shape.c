/* kan-shape.c — the widths of a network: parsing "2,[3,2],1", copying, counting nodes. */
#include "kan-model.h"
#include "kan-error.h"

#include <errno.h>
#include <stdlib.h>

/* Most subnodes a layer may have (n_sum plus the arities of its multiplication nodes). */
#define KAN_SHAPE_MAX_SUBNODES 1000000

/* ------------------------------------------------------------------------------------------ */
/* Shapes                                                                                      */

static KanShape *
shape_alloc (int n_layers)
{
  KanShape *s = g_new0 (KanShape, 1);
  s->n_layers = n_layers;
  s->n_sum = g_new0 (int, n_layers);
  s->n_mult = g_new0 (int, n_layers);
  s->arity = g_new0 (int *, n_layers);
  return s;
}

void
kan_shape_free (KanShape *s)
{
  if (s == NULL)
    return;
  for (int l = 0; l < s->n_layers; l++)
    g_free (s->arity[l]);
  g_free (s->arity);
  g_free (s->n_sum);
  g_free (s->n_mult);
  g_free (s);
}

KanShape *
kan_shape_copy (const KanShape *s)
{
  KanShape *c;

  g_return_val_if_fail (s != NULL, NULL);
  c = shape_alloc (s->n_layers);
  for (int l = 0; l < s->n_layers; l++)
    {
      c->n_sum[l] = s->n_sum[l];
      c->n_mult[l] = s->n_mult[l];
      c->arity[l] = g_memdup2 (s->arity[l], sizeof (int) * s->n_mult[l]);
    }
  return c;
}

int
kan_shape_nodes (const KanShape *s, int l)
{
  g_return_val_if_fail (s != NULL && l >= 0 && l < s->n_layers, 0);
  return s->n_sum[l] + s->n_mult[l];
}

int
kan_shape_subnodes (const KanShape *s, int l)
{
  int n;

  g_return_val_if_fail (s != NULL && l >= 0 && l < s->n_layers, 0);
  n = s->n_sum[l];
  for (int q = 0; q < s->n_mult[l]; q++)
    n += s->arity[l][q];
  return n;
}

int
kan_shape_n_sum (const KanShape *s, int l)
{
  g_return_val_if_fail (s != NULL && l >= 0 && l < s->n_layers, 0);
  return s->n_sum[l];
}

int
kan_shape_n_mult (const KanShape *s, int l)
{
  g_return_val_if_fail (s != NULL && l >= 0 && l < s->n_layers, 0);
  return s->n_mult[l];
}

int
kan_shape_arity (const KanShape *s, int l, int q)
{
  g_return_val_if_fail (s != NULL && l >= 0 && l < s->n_layers, 0);
  g_return_val_if_fail (q >= 0 && q < s->n_mult[l], 0);
  return s->arity[l][q];
}

int
kan_shape_subnode_node (const KanShape *s, int l, int j)
{
  int sub;

  g_return_val_if_fail (s != NULL && l >= 0 && l < s->n_layers, -1);
  if (j < 0)
    return -1;
  if (j < s->n_sum[l])
    return j;
  sub = s->n_sum[l];
  for (int q = 0; q < s->n_mult[l]; q++)
    {
      sub += s->arity[l][q];
      if (j < sub)
        return s->n_sum[l] + q;
    }
  return -1;
}

static gboolean
parse_int (const char **p, long *out)
{
  char *end;
  while (g_ascii_isspace (**p))
    (*p)++;
  if (!g_ascii_isdigit (**p))
    return FALSE;
  errno = 0;
  *out = strtol (*p, &end, 10);
  if (errno != 0 || *out > 1000000)
    return FALSE;
  *p = end;
  while (g_ascii_isspace (**p))
    (*p)++;
  return TRUE;
}

KanShape *
kan_shape_parse (const char  *width,
                 const char  *mult_arity,
                 GError     **error)
{
  GArray *sums = g_array_new (FALSE, FALSE, sizeof (int));
  GArray *mults = g_array_new (FALSE, FALSE, sizeof (int));
  GArray *arities = g_array_new (FALSE, FALSE, sizeof (int));
  const char *p = width;
  KanShape *s = NULL;
  int total_mult = 0, used = 0;

  if (width == NULL || *width == '\0')
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_PARSE, "empty width (expected e.g. \"2,5,1\")");
      goto out;
    }
  for (;;)
    {
      long ns, nm = 0;
      const char *start = p;
      while (g_ascii_isspace (*p))
        p++;
      if (*p == '[')
        {
          p++;
          if (!parse_int (&p, &ns) || *p != ',' || (p++, !parse_int (&p, &nm)) || *p != ']')
            {
              g_set_error (error, KAN_ERROR, KAN_ERROR_PARSE,
                           "width \"%s\", position %d: expected [n_sum,n_mult]",
                           width, (int) (start - width) + 1);
              goto out;
            }
          p++;
        }
      else if (!parse_int (&p, &ns))
        {
          g_set_error (error, KAN_ERROR, KAN_ERROR_PARSE,
                       "width \"%s\", position %d: expected a number of nodes",
                       width, (int) (start - width) + 1);
          goto out;
        }
      while (g_ascii_isspace (*p))
        p++;
      if (ns + nm <= 0)
        {
          g_set_error (error, KAN_ERROR, KAN_ERROR_SHAPE,
                       "width \"%s\": layer %u has no nodes", width, sums->len);
          goto out;
        }
      {
        int a = (int) ns, b = (int) nm;
        g_array_append_val (sums, a);
        g_array_append_val (mults, b);
        total_mult += b;
      }
      if (*p == '\0')
        break;
      if (*p != ',')
        {
          g_set_error (error, KAN_ERROR, KAN_ERROR_PARSE,
                       "width \"%s\", position %d: expected ',' between layers",
                       width, (int) (p - width) + 1);
          goto out;
        }
      p++;
    }
  if (sums->len < 2)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_SHAPE,
                   "width \"%s\": a network needs at least an input and an output layer", width);
      goto out;
    }
  if (g_array_index (mults, int, 0) != 0)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_SHAPE,
                   "width \"%s\": the input layer cannot have multiplication nodes", width);
      goto out;
    }

  /* Arities: one value for all, or one per multiplication node. */
  p = mult_arity ? mult_arity : "2";
  for (;;)
    {
      long a;
      if (!parse_int (&p, &a) || a < 2)
        {
          g_set_error (error, KAN_ERROR, KAN_ERROR_PARSE,
                       "multiplication arity \"%s\": expected whole numbers of at least 2",
                       mult_arity ? mult_arity : "2");
          goto out;
        }
      {
        int v = (int) a;
        g_array_append_val (arities, v);
      }
      if (*p == '\0')
        break;
      if (*p != ',')
        {
          g_set_error (error, KAN_ERROR, KAN_ERROR_PARSE,
                       "multiplication arity \"%s\": expected ',' between values", mult_arity);
          goto out;
        }
      p++;
    }
  if (arities->len != 1 && (int) arities->len != total_mult)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_SHAPE,
                   "multiplication arity \"%s\" lists %u values but the width has %d "
                   "multiplication nodes", mult_arity, arities->len, total_mult);
      goto out;
    }

  s = shape_alloc (sums->len);
  for (int l = 0; l < s->n_layers; l++)
    {
      s->n_sum[l] = g_array_index (sums, int, l);
      s->n_mult[l] = g_array_index (mults, int, l);
      s->arity[l] = g_new (int, MAX (1, s->n_mult[l]));
      for (int q = 0; q < s->n_mult[l]; q++)
        s->arity[l][q] = g_array_index (arities, int, arities->len == 1 ? 0 : used++);
    }
  /* Each number is bounded, but Σ arity is a product of two: keep subnode counts in an int. */
  for (int l = 0; l < s->n_layers; l++)
    {
      gint64 sub = s->n_sum[l];
      for (int q = 0; q < s->n_mult[l]; q++)
        sub += s->arity[l][q];
      if (sub > KAN_SHAPE_MAX_SUBNODES)
        {
          g_set_error (error, KAN_ERROR, KAN_ERROR_SHAPE,
                       "width \"%s\": layer %d has %" G_GINT64_FORMAT " subnodes (limit %d)",
                       width, l, sub, KAN_SHAPE_MAX_SUBNODES);
          kan_shape_free (s);
          s = NULL;
          goto out;
        }
    }

out:
  g_array_unref (sums);
  g_array_unref (mults);
  g_array_unref (arities);
  return s;
}

char *
kan_shape_to_string (const KanShape *s)
{
  GString *str;

  g_return_val_if_fail (s != NULL, NULL);
  str = g_string_new (NULL);
  for (int l = 0; l < s->n_layers; l++)
    {
      if (l > 0)
        g_string_append_c (str, ',');
      if (s->n_mult[l] > 0)
        g_string_append_printf (str, "[%d,%d]", s->n_sum[l], s->n_mult[l]);
      else
        g_string_append_printf (str, "%d", s->n_sum[l]);
    }
  return g_string_free (str, FALSE);
}
