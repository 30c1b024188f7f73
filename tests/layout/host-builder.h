/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Hosts built in memory for the layout tests and the benchmark. The layout engine is pure, so a test can
 * describe exactly the topology a case needs (a switch without ACS, an ISA bridge group, a 39-bit unit)
 * without a sysfs tree, and the Host is freed by host_free() like a loaded one. Allocation failures
 * abort: these are test fixtures. */

#include "host.h"

Host *hb_host_new(const char *cpu_vendor);
/* class is the 24-bit class code; parent may be NULL; driver NULL means unbound; group -1 for none. */
Device *hb_device(Host *h, const char *address, uint32_t class, PcieType type, const char *parent,
                  const char *driver, int group);
/* Sets the device's ACS capability with the given control bits (PCI_ACS_*). */
void hb_acs(Device *d, uint16_t control);
/* A Resizable BAR capability entry: current size 2^current_log2, sizes a mask of 2^n supported sizes. */
void hb_rebar(Device *d, unsigned bar, unsigned current_log2, uint64_t sizes);
/* A memory BAR; index 0-5, 6 for the ROM. */
void hb_bar(Device *d, unsigned index, uint64_t start, uint64_t end, bool prefetchable64);
void hb_iov_bar(Device *d, unsigned index, uint64_t start, uint64_t end);
void hb_window(Device *d, WindowKind kind, uint64_t start, uint64_t end);
void hb_resv(Host *h, unsigned group, uint64_t start, uint64_t end, ResvType type);
/* A unit serving the listed devices (NULL-terminated). width -1 for unknown, ir 1/0/-1. */
void hb_unit(Host *h, const char *name, IommuKind kind, int width, int ir, ...);
/* Sorts the tables and fills group membership from the devices' group numbers. Call once, last. */
Host *hb_finish(Host *h);
