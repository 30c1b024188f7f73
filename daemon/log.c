/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "log.h"

#include <stdarg.h>

static int max_level = LOG_INFO;

void log_set_max_level(int level) {
        max_level = level;
}

int log_get_max_level(void) {
        return max_level;
}

int log_full_errno(int level, int error, const char *format, ...) {
        int saved = errno, e = error < 0 ? -error : error;
        va_list ap;

        if (level > max_level)
                return -e;

        /* One line per message even with the libvirt thread logging too (daemon/libvirt.h). */
        flockfile(stderr);
        /* JOURNAL_STREAM is set by systemd when stderr is connected to the journal (systemd.exec(5)). */
        if (getenv("JOURNAL_STREAM"))
                fprintf(stderr, "<%i>", level);
        errno = e;
        va_start(ap, format);
        vfprintf(stderr, format, ap);
        va_end(ap);
        fputc('\n', stderr);
        funlockfile(stderr);
        errno = saved;
        return -e;
}
