/* Status strings and the thread-local detailed error message. */
#include "internal.h"

#include <stdio.h>
#include <string.h>

#define SL__ERRBUF 1024
static _Thread_local char sl__errbuf[SL__ERRBUF];

const char *sl_status_str(sl_status s) {
    switch (s) {
#define SL__STATUS_CASE(name, value, msg) \
    case name:                            \
        return msg;
        SL_STATUS_LIST(SL__STATUS_CASE)
#undef SL__STATUS_CASE
    }
    return "unknown status";
}

const char *sl_error_message(void) { return sl__errbuf; }

void sl_error_clear(void) { sl__errbuf[0] = '\0'; }

sl_status sl__fail(sl_status s, const char *fmt, ...) {
    /* Format into a local buffer first: an argument may be sl_error_message()
     * itself, and vsnprintf must not write over its own input. */
    char buf[SL__ERRBUF];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    memcpy(sl__errbuf, buf, sizeof buf);
    return s;
}

sl_status sl__fail_prefix(sl_status s, const char *fmt, ...) {
    char buf[SL__ERRBUF];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    size_t len = n < 0 ? 0 : SL__MIN((size_t)n, sizeof buf - 1);
    const char *old = sl__errbuf[0] ? sl__errbuf : sl_status_str(s);
    /* Append ": old" by hand; the result is cut at the buffer's end. */
    const char sep[] = ": ";
    for (size_t k = 0; sep[k] && len < sizeof buf - 1; k++) buf[len++] = sep[k];
    for (size_t k = 0; old[k] && len < sizeof buf - 1; k++) buf[len++] = old[k];
    buf[len] = '\0';
    memcpy(sl__errbuf, buf, len + 1);
    return s;
}

const char *sl_version(void) { return SL_VERSION_STRING; }
