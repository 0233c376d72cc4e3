/* kan-inline-private.h — forced inlining of the hot per-block loops (not installed).
 *
 * The forward and backward passes inline their per-edge loops into each caller so that the
 * compiler vectorises every variant. Under the sanitizers (ASan/UBSan builds and the libFuzzer
 * targets) forced inlining multiplies the instrumented code and makes one file take minutes to
 * compile, for no gain: there the loops are ordinary static inline functions. Results do not
 * depend on it (inlining does not reorder floating-point operations). */
#pragma once

#include <glib.h>

#if defined(__SANITIZE_ADDRESS__)
#  define KAN_HOT_INLINE static inline
#elif defined(__has_feature)
#  if __has_feature(address_sanitizer)
#    define KAN_HOT_INLINE static inline
#  endif
#endif
#ifndef KAN_HOT_INLINE
#  define KAN_HOT_INLINE G_ALWAYS_INLINE static inline
#endif
