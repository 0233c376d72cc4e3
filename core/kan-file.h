/* kan-file.h — the one way libkan, the CLI and the workbench read and write files.
 *
 * Writing: kan_file_replace() (and the two-step kan_file_temp_new() / kan_file_temp_commit() for
 * writers that need a file name, such as Cairo's SVG and PDF surfaces) replace PATH atomically.
 * The data go to a new temporary file beside PATH, created with O_CREAT | O_EXCL | O_NOFOLLOW
 * under a random name, so no file, symbolic link or device that already exists can be followed,
 * truncated or reused; it takes the mode and owner of the file it replaces (a 0600 session stays
 * 0600), is fsynced, and renamed over PATH. An existing PATH that is not a regular file (a device,
 * a FIFO, a socket, a folder) is refused, and so is a PATH that is a symbolic link to one. A
 * symbolic link PATH itself is replaced by the new file, never written through. A reader (or a
 * crash) sees the old file or the new one, never a partial one; a save killed half-way leaves its
 * temporary file ".NAME.XXXXXX.tmp", which the next save to the same PATH removes (temporary files
 * that a live save still holds are locked and left alone).
 *
 * Reading: kan_file_read() reads at most LIMIT bytes through a counting loop, so pipes, FIFOs and
 * devices (/dev/zero, /dev/urandom) are bounded like regular files: past LIMIT the read stops
 * with KAN_ERROR_BUDGET instead of filling the memory.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Checks that PATH may be written by kan_file_replace(): it does not exist, or it is a regular
 * file or a symbolic link (which is replaced, not followed) to one — and that its folder exists.
 * Callers use it to refuse an output before doing long work. */
gboolean kan_file_check_output (const char *path,
                                GError    **error);

/* Replaces PATH by LEN bytes of DATA atomically (see above). On failure PATH is untouched and no
 * temporary file is left. Errors are KAN_ERROR_IO and start with PATH. */
gboolean kan_file_replace (const char *path,
                           const char *data,
                           gsize       len,
                           GError    **error);

/* A temporary file beside PATH for writers that need a name. kan_file_temp_new() checks PATH
 * like kan_file_check_output(), creates the temporary file (empty, locked) and returns its name
 * in *TMP_PATH; the caller writes it by name, then calls kan_file_temp_commit() to fsync it,
 * give it PATH's mode and owner, and rename it over PATH, or kan_file_temp_abort() to remove it.
 * Both free the handle. *TMP_PATH belongs to the handle and lives until then. */
typedef struct KanFileTemp KanFileTemp;

KanFileTemp *kan_file_temp_new    (const char  *path,
                                   const char **tmp_path,
                                   GError     **error);
gboolean     kan_file_temp_commit (KanFileTemp *t,
                                   GError     **error);
void         kan_file_temp_abort  (KanFileTemp *t);

/* Reads PATH whole, at most LIMIT bytes, into a new buffer (g_free it). The contents are
 * NUL-terminated (*LENGTH excludes the NUL). A folder, an unreadable file or more than LIMIT bytes is an error naming PATH
 * (KAN_ERROR_IO, or KAN_ERROR_BUDGET for the size, whose message states the limit). */
char *kan_file_read (const char *path,
                     guint64     limit,
                     gsize      *length,
                     GError    **error);

/* "3.5 GiB", "12 MiB", "800 bytes": for messages about sizes. Free with g_free. */
char *kan_file_format_size (guint64 bytes);

G_END_DECLS
