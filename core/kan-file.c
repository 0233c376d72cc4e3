/* kan-file.c — atomic, non-following file replacement and bounded reads (see kan-file.h). */
#include "kan-file.h"

#include "kan-error.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* Temporary names are ".BASE.XXXXXX.tmp"; BASE is cut to this many bytes so that the name stays
 * under NAME_MAX (255) whatever PATH's own length. */
#define TEMP_BASE_MAX 200
#define TEMP_RANDOM   6

struct KanFileTemp
{
  char *path;     /* what is replaced */
  char *dir;      /* its folder */
  char *prefix;   /* ".BASE." of the temporary names */
  char *tmp;      /* the temporary file's full name */
  int   fd;
};

char *
kan_file_format_size (guint64 bytes)
{
  if (bytes >= (G_GUINT64_CONSTANT (1) << 30))
    return g_strdup_printf ("%.3g GiB", (double) bytes / 1073741824.0);
  if (bytes >= (G_GUINT64_CONSTANT (1) << 20))
    return g_strdup_printf ("%.3g MiB", (double) bytes / 1048576.0);
  if (bytes >= 1024)
    return g_strdup_printf ("%.3g KiB", (double) bytes / 1024.0);
  return g_strdup_printf ("%" G_GUINT64_FORMAT " bytes", bytes);
}

static const char *
kind_of (mode_t mode)
{
  if (S_ISDIR (mode))
    return "a folder";
  if (S_ISCHR (mode))
    return "a character device";
  if (S_ISBLK (mode))
    return "a block device";
  if (S_ISFIFO (mode))
    return "a FIFO (named pipe)";
  if (S_ISSOCK (mode))
    return "a socket";
  return "not a regular file";
}

static gboolean
fail_errno (GError    **error,
            const char *path,
            const char *what,
            int         err)
{
  g_autofree char *display = g_filename_display_name (path);

  g_set_error (error, KAN_ERROR, KAN_ERROR_IO, "%s: %s: %s", display, what, g_strerror (err));
  return FALSE;
}

/* PATH's state for replacing it: *EXISTS says whether a regular file is there (then *ST holds its
 * lstat), FALSE for nothing or a symbolic link. */
static gboolean
check_output (const char  *path,
              gboolean    *exists,
              struct stat *st,
              GError     **error)
{
  g_autofree char *display = g_filename_display_name (path);
  g_autofree char *dir = NULL;
  struct stat target, dst;

  *exists = FALSE;
  if (path[0] == '\0')
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_IO, "the output file name is empty");
      return FALSE;
    }
  if (g_str_has_suffix (path, G_DIR_SEPARATOR_S))
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_IO, "%s: cannot save: this names a folder, not a file",
                   display);
      return FALSE;
    }
  if (lstat (path, st) == 0)
    {
      if (S_ISREG (st->st_mode))
        {
          *exists = TRUE;
          return TRUE;
        }
      if (!S_ISLNK (st->st_mode))
        {
          g_set_error (error, KAN_ERROR, KAN_ERROR_IO,
                       "%s: cannot save: it is %s, not a regular file; refusing to replace it",
                       display, kind_of (st->st_mode));
          return FALSE;
        }
      /* A symbolic link is replaced by the new file; one that points at something other than a
       * regular file is refused all the same, since the user likely meant that thing. */
      if (stat (path, &target) == 0 && !S_ISREG (target.st_mode))
        {
          g_set_error (error, KAN_ERROR, KAN_ERROR_IO,
                       "%s: cannot save: it is a symbolic link to %s, not to a regular file; "
                       "refusing to replace it", display, kind_of (target.st_mode));
          return FALSE;
        }
      return TRUE;
    }
  if (errno != ENOENT)
    return fail_errno (error, path, "cannot save", errno);
  dir = g_path_get_dirname (path);
  if (stat (dir, &dst) != 0)
    return fail_errno (error, path, "cannot save: its folder is not there", errno);
  if (!S_ISDIR (dst.st_mode))
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_IO, "%s: cannot save: %s is not a folder", display,
                   dir);
      return FALSE;
    }
  return TRUE;
}

gboolean
kan_file_check_output (const char *path,
                       GError    **error)
{
  struct stat st;
  gboolean exists;

  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  return check_output (path, &exists, &st, error);
}

static void
temp_free (KanFileTemp *t)
{
  if (t->fd >= 0)
    close (t->fd);
  g_free (t->path);
  g_free (t->dir);
  g_free (t->prefix);
  g_free (t->tmp);
  g_free (t);
}

/* Removes temporary files of earlier saves to the same path that were killed half-way: same
 * prefix, regular, ours, and not locked by a save still in progress. Called before a save
 * creates its own temporary file and after it renamed it. */
static void
remove_strays (const KanFileTemp *t)
{
  size_t plen = strlen (t->prefix);
  struct dirent *e;
  DIR *d;
  int dfd;

  d = opendir (t->dir);
  if (d == NULL)
    return;
  dfd = dirfd (d);
  while ((e = readdir (d)) != NULL)
    {
      const char *name = e->d_name;
      struct stat st;
      int fd;

      if (strlen (name) != plen + TEMP_RANDOM + 4 || strncmp (name, t->prefix, plen) != 0
          || strcmp (name + plen + TEMP_RANDOM, ".tmp") != 0)
        continue;
      fd = openat (dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
      if (fd < 0)
        continue;
      if (fstat (fd, &st) == 0 && S_ISREG (st.st_mode) && st.st_uid == geteuid ()
          && flock (fd, LOCK_EX | LOCK_NB) == 0)
        unlinkat (dfd, name, 0);
      close (fd);
    }
  closedir (d);
}

KanFileTemp *
kan_file_temp_new (const char  *path,
                   const char **tmp_path,
                   GError     **error)
{
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  g_autofree char *base = NULL;
  KanFileTemp *t;
  struct stat old;
  gboolean exists;
  size_t blen;
  int err = EEXIST;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!check_output (path, &exists, &old, error))
    return NULL;

  t = g_new0 (KanFileTemp, 1);
  t->fd = -1;
  t->path = g_strdup (path);
  t->dir = g_path_get_dirname (path);
  base = g_path_get_basename (path);
  blen = MIN (strlen (base), (size_t) TEMP_BASE_MAX);
  t->prefix = g_strdup_printf (".%.*s.", (int) blen, base);
  /* What a save killed half-way left behind goes first, so that at most one is ever there. */
  remove_strays (t);

  /* O_EXCL with O_NOFOLLOW: nothing that already exists under the name — a file, a symbolic link
   * planted by someone else, a device — is ever opened. */
  for (int attempt = 0; attempt < 100 && t->fd < 0; attempt++)
    {
      char rnd[TEMP_RANDOM + 1];

      for (int i = 0; i < TEMP_RANDOM; i++)
        rnd[i] = alphabet[g_random_int_range (0, (gint32) sizeof alphabet - 1)];
      rnd[TEMP_RANDOM] = '\0';
      g_free (t->tmp);
      t->tmp = g_strdup_printf ("%s%s%s%s.tmp", t->dir, G_DIR_SEPARATOR_S, t->prefix, rnd);
      t->fd = open (t->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
      if (t->fd < 0)
        {
          err = errno;
          if (err != EEXIST)
            break;
        }
    }
  if (t->fd < 0)
    {
      g_autofree char *what = g_strdup_printf ("cannot save: cannot create a temporary file in %s",
                                               t->dir);
      fail_errno (error, path, what, err);
      temp_free (t);
      return NULL;
    }
  /* Held until the rename: a concurrent save's clean-up leaves a locked temporary file alone. */
  (void) flock (t->fd, LOCK_EX);

  /* The file being replaced keeps its owner and mode (a 0600 session stays private). Both are
   * set before any data is written, so the data are never readable by more people than before. */
  if (exists)
    {
      mode_t mode = old.st_mode & 07777;

      if ((old.st_uid != geteuid () || old.st_gid != getegid ())
          && fchown (t->fd, old.st_uid, old.st_gid) != 0)
        mode &= ~(mode_t) (S_ISUID | S_ISGID);
      if (fchmod (t->fd, mode) != 0)
        {
          err = errno;
          fail_errno (error, path, "cannot save: cannot set the mode of the temporary file", err);
          kan_file_temp_abort (t);
          return NULL;
        }
    }
  if (tmp_path != NULL)
    *tmp_path = t->tmp;
  return t;
}

void
kan_file_temp_abort (KanFileTemp *t)
{
  if (t == NULL)
    return;
  g_unlink (t->tmp);
  temp_free (t);
}

gboolean
kan_file_temp_commit (KanFileTemp *t,
                      GError     **error)
{
  struct stat st;
  gboolean exists;
  int err, dfd;

  g_return_val_if_fail (t != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (fsync (t->fd) != 0)
    {
      err = errno;
      fail_errno (error, t->path, "cannot save: cannot write", err);
      kan_file_temp_abort (t);
      return FALSE;
    }
  /* Checked again just before the rename: the output may have changed during a long write. */
  if (!check_output (t->path, &exists, &st, error))
    {
      kan_file_temp_abort (t);
      return FALSE;
    }
  if (g_rename (t->tmp, t->path) != 0)
    {
      err = errno;
      fail_errno (error, t->path, "cannot save: cannot replace it", err);
      kan_file_temp_abort (t);
      return FALSE;
    }
  /* The rename itself reaches the disk with the folder. */
  dfd = open (t->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0)
    {
      (void) fsync (dfd);
      close (dfd);
    }
  close (t->fd);
  t->fd = -1;
  remove_strays (t);
  temp_free (t);
  return TRUE;
}

gboolean
kan_file_replace (const char *path,
                  const char *data,
                  gsize       len,
                  GError    **error)
{
  KanFileTemp *t;
  gsize done = 0;

  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (data != NULL || len == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  t = kan_file_temp_new (path, NULL, error);
  if (t == NULL)
    return FALSE;
  while (done < len)
    {
      gssize n = write (t->fd, data + done, len - done);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          fail_errno (error, path, "cannot save: cannot write", n < 0 ? errno : ENOSPC);
          kan_file_temp_abort (t);
          return FALSE;
        }
      done += (gsize) n;
    }
  return kan_file_temp_commit (t, error);
}

char *
kan_file_read (const char *path,
               guint64     limit,
               gsize      *length,
               GError    **error)
{
  g_autofree char *display = NULL;
  g_autofree char *buf = NULL;
  struct stat st;
  gsize cap, len = 0;
  int fd, err;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  display = g_filename_display_name (path);
  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    {
      err = errno;
      fail_errno (error, path, "cannot read", err);
      return NULL;
    }
  if (fstat (fd, &st) != 0)
    {
      err = errno;
      close (fd);
      fail_errno (error, path, "cannot read", err);
      return NULL;
    }
  if (S_ISDIR (st.st_mode))
    {
      close (fd);
      g_set_error (error, KAN_ERROR, KAN_ERROR_IO, "%s: cannot read: it is a folder", display);
      return NULL;
    }
  if (S_ISREG (st.st_mode) && (guint64) st.st_size > limit)
    goto too_large;

  /* Pipes, FIFOs and devices report no size: grow the buffer, never past LIMIT + 1 bytes. */
  cap = S_ISREG (st.st_mode) ? (gsize) st.st_size + 1 : 65536;
  cap = (gsize) MIN ((guint64) cap, limit + 1);
  cap = MAX (cap, 1);
  buf = g_malloc (cap + 1);
  for (;;)
    {
      gssize n;

      if (len == cap)
        {
          if ((guint64) len > limit)
            goto too_large;
          cap = (gsize) MIN ((guint64) cap * 2, limit + 1);
          buf = g_realloc (buf, cap + 1);
        }
      n = read (fd, buf + len, cap - len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          err = errno;
          close (fd);
          fail_errno (error, path, "cannot read", err);
          return NULL;
        }
      if (n == 0)
        break;
      len += (gsize) n;
    }
  close (fd);
  if ((guint64) len > limit)
    goto too_large_closed;
  buf[len] = '\0';
  if (length != NULL)
    *length = len;
  return g_steal_pointer (&buf);

too_large:
  close (fd);
too_large_closed:
  {
    g_autofree char *lim = kan_file_format_size (limit);
    g_set_error (error, KAN_ERROR, KAN_ERROR_BUDGET,
                 "%s: the file is larger than %s, the most Kanvas reads of this kind of file",
                 display, lim);
  }
  return NULL;
}
