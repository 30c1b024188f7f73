/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* libvirt's event loop interface (virEventRegisterImpl(), include/libvirt/libvirt-event.h) implemented on
 * sd-event sources, so the remote driver's socket, its keepalive timer and its event dispatch run in an
 * sd-event loop instead of a thread spinning virEventRunDefaultImpl().
 *
 * libvirt allows one implementation per process and calls it from every thread that calls into libvirt,
 * while sd-event is single-threaded: all libvirt calls of the process must therefore happen in the thread
 * that runs this loop (libvirt.c keeps them in one). Calls from another thread are refused with -1. */

#include <systemd/sd-event.h>

/* Registers the implementation over e (referenced until exit). Only the first call does anything: libvirt
 * cannot unregister an implementation. Must be called before the first virConnectOpen*(). */
int libvirt_event_register(sd_event *e);
