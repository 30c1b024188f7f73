/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the checks that live in files of their own (one concept each: check-viommu.c, ...) may use of the
 * layout engine while layout_compute() runs. Not installed, not part of the library's interface. */

#include "layout.h"
#include "util.h"

typedef struct Builder Builder;

const Host *layout_builder_host(const Builder *b);
const VmSpec *layout_builder_spec(const Builder *b);
/* The layout built so far: the guest's RAM, holes, phys-bits and vCPU vendor are set before the checks of
 * the guest's address space run. */
const Layout *layout_builder_layout(const Builder *b);

/* As the engine's own problems and recommendations: appended in order, the same advice given once. */
int layout_builder_problem(
        Builder *b,
        const char *code,
        Severity severity,
        const char *device,
        int group,
        const Range *range,
        const char *format,
        ...) _printf_(7, 8);
int layout_builder_recommend(
        Builder *b,
        const char *action,
        const char *libvirt,
        const char *qemu,
        const char *format,
        ...) _printf_(5, 6);

/* check-viommu.c: with a vIOMMU, every assigned member of a host group in one guest DMA address space. */
int layout_check_viommu_spaces(Builder *b);

/* bar-window.c: the assigned devices' 64-bit BARs against the guest's 64-bit MMIO window. */
int layout_check_bar_window(Builder *b);

/* dma-limits.c: vfio_iommu_type1's dma_entry_limit and the locked-memory limit against what the VM needs. */
int layout_check_dma_limits(Builder *b);
