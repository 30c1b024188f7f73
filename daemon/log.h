/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The daemon's only logging: one line per message on stderr. Under systemd (JOURNAL_STREAM set) each line
 * starts with the sd-daemon priority prefix ("<3>"), which journald turns into the message priority
 * (sd-daemon(3)); on a terminal or in a test the prefix is left out. */

#include "util.h"

#include <syslog.h>

void log_set_max_level(int level);
int log_get_max_level(void);

/* Logs and returns -abs(error); %m in format expands to strerror(error). */
int log_full_errno(int level, int error, const char *format, ...) _printf_(3, 4);

#define log_full(level, ...) (void) log_full_errno((level), 0, __VA_ARGS__)
#define log_debug(...) log_full(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_full(LOG_INFO, __VA_ARGS__)
#define log_notice(...) log_full(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, __VA_ARGS__)
#define log_error(...) log_full(LOG_ERR, __VA_ARGS__)

#define log_debug_errno(error, ...) log_full_errno(LOG_DEBUG, (error), __VA_ARGS__)
#define log_warning_errno(error, ...) log_full_errno(LOG_WARNING, (error), __VA_ARGS__)
#define log_error_errno(error, ...) log_full_errno(LOG_ERR, (error), __VA_ARGS__)

/* For allocation failures, like systemd's log_oom(). */
#define log_oom() log_error_errno(ENOMEM, "Out of memory.")
