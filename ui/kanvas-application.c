/* kanvas-application.c — the application: windows, app-wide actions and the scriptable ones.
 *
 * Every command a script may want is an application action, so that
 * `gapplication action org.kanvas.Kanvas NAME [PARAM]` reaches it over D-Bus; each forwards to
 * the active window (the window's own actions serve its buttons and accelerators).
 */
#include "kanvas-application.h"

#include <malloc.h>

#include "kanvas-window.h"

#ifndef KANVAS_VERSION
#define KANVAS_VERSION "0"
#endif

/* OpenBLAS's own threads would compete with the training worker and the main loop; one is
 * enough for the small matrices of a KAN. */
extern void openblas_set_num_threads (int);

struct _KanvasApplication
{
  AdwApplication parent_instance;
};

G_DEFINE_FINAL_TYPE (KanvasApplication, kanvas_application, ADW_TYPE_APPLICATION)

static KanvasWindow *
active_window (KanvasApplication *self)
{
  GtkWindow *win = gtk_application_get_active_window (GTK_APPLICATION (self));

  if (win == NULL || !KANVAS_IS_WINDOW (win))
    {
      win = GTK_WINDOW (kanvas_window_new (GTK_APPLICATION (self)));
      gtk_window_present (win);
    }
  return KANVAS_WINDOW (win);
}

static void
report (KanvasApplication *self,
        const char        *what,
        GError            *error)
{
  /* The window shows a toast; scripts read the log. */
  g_message ("%s: %s", what, error->message);
  kanvas_window_show_message (active_window (self), error->message);
}

static void
forward_action (GSimpleAction *action,
                GVariant      *param,
                gpointer       user_data)
{
  KanvasApplication *self = user_data;
  KanvasWindow *win = active_window (self);

  g_action_group_activate_action (G_ACTION_GROUP (win), g_action_get_name (G_ACTION (action)),
                                  param);
}

static void
open_action (GSimpleAction *action,
             GVariant      *param,
             gpointer       user_data)
{
  g_autoptr (GError) error = NULL;

  if (!kanvas_window_open_path (active_window (user_data), g_variant_get_string (param, NULL),
                                &error))
    report (user_data, "open", error);
}

/* Scripts may replace the session during a run (the window's own commands are disabled then):
 * the guard stops the run and asks. */
static void
load_example_action (GSimpleAction *action,
                     GVariant      *param,
                     gpointer       user_data)
{
  g_autoptr (GError) error = NULL;

  if (!kanvas_window_load_example (active_window (user_data), g_variant_get_string (param, NULL),
                                   &error))
    report (user_data, "load-example", error);
}

static void
new_action (GSimpleAction *action,
            GVariant      *param,
            gpointer       user_data)
{
  kanvas_window_new_session (active_window (user_data));
}

static void
save_as_action (GSimpleAction *action,
                GVariant      *param,
                gpointer       user_data)
{
  g_autoptr (GError) error = NULL;

  if (!kanvas_window_save_to (active_window (user_data), g_variant_get_string (param, NULL),
                              &error))
    report (user_data, "save-as", error);
}

static void
save_action (GSimpleAction *action,
             GVariant      *param,
             gpointer       user_data)
{
  KanvasWindow *win = active_window (user_data);
  g_autoptr (GError) error = NULL;

  if (kanvas_window_get_path (win) == NULL)
    g_action_group_activate_action (G_ACTION_GROUP (win), "save-as", NULL);
  else if (!kanvas_window_save_to (win, kanvas_window_get_path (win), &error))
    report (user_data, "save", error);
}

static void
export_figure_action (GSimpleAction *action,
                      GVariant      *param,
                      gpointer       user_data)
{
  g_autoptr (GError) error = NULL;

  if (!kanvas_window_export_figure (active_window (user_data),
                                    g_variant_get_string (param, NULL), &error))
    report (user_data, "export-figure", error);
}

static void
quit_action (GSimpleAction *action,
             GVariant      *param,
             gpointer       user_data)
{
  GList *windows = g_list_copy (gtk_application_get_windows (GTK_APPLICATION (user_data)));

  /* Each workbench window asks about its unsaved work first (and may stay open: Cancel).
   * Closing one destroys it while the loop still holds the list: hold references. */
  for (GList *w = windows; w; w = w->next)
    g_object_ref (w->data);
  for (GList *w = windows; w; w = w->next)
    if (KANVAS_IS_WINDOW (w->data))
      kanvas_window_close_asking (w->data, "quitting");
    else
      gtk_window_close (w->data);
  g_list_free_full (windows, g_object_unref);
}

static void
unsaved_changes_action (GSimpleAction *action,
                        GVariant      *param,
                        gpointer       user_data)
{
  GtkApplication *app = user_data;
  GtkWindow *active = gtk_application_get_active_window (app);
  KanvasWindow *win = NULL;
  g_autoptr (GError) error = NULL;

  /* The active window's question, else the first window asking (quit asks in every one). */
  if (active && KANVAS_IS_WINDOW (active) && kanvas_window_is_asking (KANVAS_WINDOW (active)))
    win = KANVAS_WINDOW (active);
  for (GList *w = gtk_application_get_windows (app); w && win == NULL; w = w->next)
    if (KANVAS_IS_WINDOW (w->data) && kanvas_window_is_asking (w->data))
      win = w->data;
  if (win == NULL)
    {
      g_message ("unsaved-changes: no question is waiting for an answer");
      return;
    }
  if (!kanvas_window_answer (win, g_variant_get_string (param, NULL), &error))
    {
      g_message ("unsaved-changes: %s", error->message);
      kanvas_window_show_message (win, error->message);
    }
}

static void
about_action (GSimpleAction *action,
              GVariant      *param,
              gpointer       user_data)
{
  const char *developers[] = { "The Kanvas authors", NULL };
  GtkWindow *parent = gtk_application_get_active_window (GTK_APPLICATION (user_data));

  adw_show_about_window (parent,
                         "application-name", "Kanvas",
                         "application-icon", KANVAS_APPLICATION_ID,
                         "version", KANVAS_VERSION,
                         "developer-name", "The Kanvas authors",
                         "developers", developers,
                         "comments", "A workbench for Kolmogorov–Arnold Networks: train a KAN, "
                                     "watch its edges learn, and read off the formula.",
                         "license-type", GTK_LICENSE_GPL_3_0,
                         "copyright", "© The Kanvas authors",
                         NULL);
}

static void
help_action (GSimpleAction *action,
             GVariant      *param,
             gpointer       user_data)
{
  g_autoptr (GtkBuilder) builder = gtk_builder_new_from_resource ("/org/kanvas/Kanvas/ui/kanvas-help.ui");
  GtkWindow *help = GTK_WINDOW (gtk_builder_get_object (builder, "help_window"));

  GtkEventController *keys = gtk_shortcut_controller_new ();

  /* Escape closes it, as it closes dialogs. */
  gtk_shortcut_controller_add_shortcut (GTK_SHORTCUT_CONTROLLER (keys),
                                        gtk_shortcut_new (gtk_keyval_trigger_new (GDK_KEY_Escape, 0),
                                                          gtk_named_action_new ("window.close")));
  gtk_widget_add_controller (GTK_WIDGET (help), keys);
  gtk_window_set_transient_for (help, gtk_application_get_active_window (GTK_APPLICATION (user_data)));
  gtk_window_set_application (help, GTK_APPLICATION (user_data));
  gtk_window_present (help);
}

static const GActionEntry app_entries[] = {
  { "open", open_action, "s" },
  { "save", save_action },
  { "save-as", save_as_action, "s" },
  { "load-example", load_example_action, "s" },
  { "new", new_action },
  { "train", forward_action },
  { "pause", forward_action },
  { "step", forward_action },
  { "stop", forward_action },
  { "export-figure", export_figure_action, "s" },
  /* The interactive session (the window's actions of the same names). */
  { "select", forward_action, "s" },
  { "show-panel", forward_action, "s" },
  { "prune", forward_action },
  { "prune-node", forward_action, "s" },
  { "prune-edge", forward_action, "s" },
  { "lock", forward_action, "s" },
  { "unlock", forward_action, "s" },
  { "auto-symbolic", forward_action, "s" },
  { "discover", forward_action },
  { "discover-cancel", forward_action },
  { "prune-anyway", forward_action },
  { "cancel-task", forward_action },
  { "refine", forward_action, "i" },
  { "undo", forward_action },
  { "redo", forward_action },
  { "goto-history", forward_action, "i" },
  { "export-formula", forward_action, "s" },
  { "export-edge-plot", forward_action, "s" },
  { "configure", forward_action, "s" },
  /* The guided lesson (kanvas-lesson.c): the panel, its buttons, presentation mode. */
  { "lesson", forward_action },
  { "lesson-do", forward_action },
  { "lesson-back", forward_action },
  { "lesson-next", forward_action },
  { "presentation", forward_action },
  { "help", help_action },
  { "about", about_action },
  { "quit", quit_action },
  /* Answers "Save changes to … before …?": 'save', 'discard' or 'cancel'. */
  { "unsaved-changes", unsaved_changes_action, "s" },
};

static const struct
{
  const char *action;
  const char *accels[3];
} accels[] = {
  { "win.new", { "<Control>n", NULL } },
  { "win.open", { "<Control>o", NULL } },
  { "win.save", { "<Control>s", NULL } },
  { "win.save-as", { "<Control><Shift>s", NULL } },
  { "win.export-figure", { "<Control>e", NULL } },
  { "win.train-pause", { "F5", NULL } },
  { "win.show-data-panel", { "F9", NULL } },
  { "win.show-session-pane", { "<Shift>F9", NULL } },
  { "win.step", { "F6", NULL } },
  { "win.stop", { "<Shift>F5", NULL } },
  { "win.apply", { "<Control>b", NULL } },
  { "win.undo", { "<Control>z", NULL } },
  { "win.redo", { "<Control><Shift>z", NULL } },
  { "win.discover", { "<Control>d", NULL } },
  { "app.help", { "F1", NULL } },
  { "win.zoom-in", { "<Control>plus", "<Control>equal", NULL } },
  { "win.zoom-out", { "<Control>minus", NULL } },
  { "win.zoom-fit", { "<Control>0", NULL } },
  { "window.close", { "<Control>w", NULL } },
  { "app.quit", { "<Control>q", NULL } },
};

static void
kanvas_application_startup (GApplication *app)
{
  G_APPLICATION_CLASS (kanvas_application_parent_class)->startup (app);

  /* Here rather than in main, so that the tests and bench-gui run as the app does. */
  openblas_set_num_threads (1);
  /* Snapshots allocate and free a few MB every 50 ms on the worker thread; with glibc's default
   * thresholds each of those blocks is a fresh mmap and its page faults cost ten times the
   * arithmetic. Keep such blocks in the heap instead. */
  mallopt (M_MMAP_THRESHOLD, 64 << 20);
  mallopt (M_TRIM_THRESHOLD, 128 << 20);

  g_action_map_add_action_entries (G_ACTION_MAP (app), app_entries, G_N_ELEMENTS (app_entries),
                                   app);
  for (guint a = 0; a < G_N_ELEMENTS (accels); a++)
    gtk_application_set_accels_for_action (GTK_APPLICATION (app), accels[a].action,
                                           accels[a].accels);
  gtk_window_set_default_icon_name (KANVAS_APPLICATION_ID);
}

static void
kanvas_application_activate (GApplication *app)
{
  gtk_window_present (GTK_WINDOW (active_window (KANVAS_APPLICATION (app))));
}

static void
kanvas_application_open (GApplication  *app,
                         GFile        **files,
                         int            n_files,
                         const char    *hint)
{
  for (int f = 0; f < n_files; f++)
    {
      GtkWindow *active = gtk_application_get_active_window (GTK_APPLICATION (app));
      KanvasWindow *win;
      g_autofree char *path = g_file_get_path (files[f]);
      g_autoptr (GError) error = NULL;

      /* Reuse a window that holds nothing worth keeping (no unsaved work, no file, no
       * question open); else a new window, so opening from the command line never has to ask.
       * Either way the file goes through the window's guard like every other open. */
      if (active && KANVAS_IS_WINDOW (active)
          && !kanvas_window_get_modified (KANVAS_WINDOW (active))
          && !kanvas_window_is_asking (KANVAS_WINDOW (active))
          && kanvas_window_get_path (KANVAS_WINDOW (active)) == NULL)
        win = KANVAS_WINDOW (active);
      else
        win = kanvas_window_new (GTK_APPLICATION (app));
      gtk_window_present (GTK_WINDOW (win));
      if (path == NULL || !kanvas_window_open_path (win, path ? path : "?", &error))
        {
          g_autofree char *uri = g_file_get_uri (files[f]);
          g_autofree char *msg = g_strdup_printf ("%s", error ? error->message
                                                  : "only local files can be opened");
          g_message ("open %s: %s", uri, msg);
          kanvas_window_show_message (win, msg);
        }
    }
}

static void
kanvas_application_class_init (KanvasApplicationClass *klass)
{
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  app_class->startup = kanvas_application_startup;
  app_class->activate = kanvas_application_activate;
  app_class->open = kanvas_application_open;
}

static void
kanvas_application_init (KanvasApplication *self)
{
}

KanvasApplication *
kanvas_application_new (GApplicationFlags flags)
{
  return g_object_new (KANVAS_TYPE_APPLICATION,
                       "application-id", KANVAS_APPLICATION_ID,
                       "flags", flags | G_APPLICATION_HANDLES_OPEN,
                       "resource-base-path", "/org/kanvas/Kanvas",
                       NULL);
}
