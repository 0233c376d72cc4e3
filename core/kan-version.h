/* kan-version.h — the version of libkan a program was compiled against.
 *
 * The numbers are the Kanvas project version (meson.build); core/meson.build refuses to
 * configure when they disagree, so this file cannot go stale unnoticed.
 */
#pragma once

#define KAN_VERSION_MAJOR 0
#define KAN_VERSION_MINOR 1
#define KAN_VERSION_MICRO 0
#define KAN_VERSION_STRING "0.1.0"

/* True when the headers are version MAJOR.MINOR.MICRO or newer. */
#define KAN_CHECK_VERSION(major, minor, micro)                                 \
  (KAN_VERSION_MAJOR > (major)                                                 \
   || (KAN_VERSION_MAJOR == (major) && KAN_VERSION_MINOR > (minor))            \
   || (KAN_VERSION_MAJOR == (major) && KAN_VERSION_MINOR == (minor)            \
       && KAN_VERSION_MICRO >= (micro)))
