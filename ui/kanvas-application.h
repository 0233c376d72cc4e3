/* kanvas-application.h — the Kanvas application (org.kanvas.Kanvas). */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define KANVAS_APPLICATION_ID "org.kanvas.Kanvas"
#define KANVAS_TYPE_APPLICATION (kanvas_application_get_type ())

G_DECLARE_FINAL_TYPE (KanvasApplication, kanvas_application, KANVAS, APPLICATION, AdwApplication)

KanvasApplication *kanvas_application_new (GApplicationFlags flags);

G_END_DECLS
