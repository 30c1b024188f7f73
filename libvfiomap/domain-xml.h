/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Small, pure operations on a libvirt domain XML that are not the VM model (vmspec.h): finding its PCI
 * host devices cheaply (the qemu hook runs for every VM start and must let VMs without host devices pass
 * fast, even those whose XML vmspec_parse() would not understand), finding the device behind a libvirt
 * device alias (DEVICE_ADDED events name aliases), and writing a layout's recommendations into the XML
 * (vfiomapctl apply). Buffers in, buffers or a negative errno plus a message out; nothing else. Every
 * function that parses may also fail with -ELIBACC (and a message naming why) in vfiomapctl and vfiomapd,
 * which load libxml2 on first use (libxml-dlopen.c). */

#include "layout.h"
#include "sysfs-parse.h"

#include <stddef.h>

#define DOMAIN_XML_QEMU_NS "http://libvirt.org/schemas/domain/qemu/1.0"

/* The normalised addresses of the domain's VFIO PCI devices: <hostdev mode='subsystem' type='pci'> and
 * <interface type='hostdev'>, in document order. Returns how many (0 with *ret NULL when none), -EINVAL
 * when the document is not a <domain> (with *ret_error naming why), -ENOMEM. */
int domain_xml_pci_hostdevs(const char *xml, size_t len, char ***ret, char **ret_error);

/* The PCI address of the VFIO device whose <alias name=...> is alias: 1 when found, 0 when the alias
 * names something else (a disk, a USB device) or nothing, negative errno on a broken document. */
int domain_xml_hostdev_by_alias(
        const char *xml,
        size_t len,
        const char *alias,
        char ret[static PCI_ADDRESS_MAX]);

/* Writes the libvirt snippets of recommendations into the domain XML.
 *
 * A snippet (Recommendation.libvirt) is one or more elements that belong directly below <domain>, or
 * below <devices> for device elements (<controller>, <iommu>, <hostdev>, <interface>); a snippet whose
 * element is <domain> itself
 * contributes its children and namespace declarations only (never its attributes: a snippet's type='kvm'
 * must not turn a TCG domain into a KVM one). Each element is merged into the element of the same name (and
 * namespace) already there — <controller> also by type and index, <hostdev> and <interface type='hostdev'>
 * by the host address below <source> — by setting its attributes, replacing its
 * text, and merging its children the same way; an element without a match is appended. <qemu:commandline>
 * arguments are pairs: "-machine key=value" replaces the value of an existing "-machine key=..." pair and is
 * appended otherwise.
 *
 * ret_before and ret_after are the document before and after, both serialised the same way (2-space
 * indent, no XML declaration), so that a line diff of the two shows exactly the change. ret_applied gets
 * the actions whose snippet was written, in order; recommendations without a snippet are left out.
 * Returns the number applied, or -EINVAL with *ret_error (a malformed domain or snippet), -ENOMEM. */
int domain_xml_apply(
        const char *xml,
        size_t len,
        const Recommendation *recommendations,
        size_t n_recommendations,
        char **ret_before,
        char **ret_after,
        char ***ret_applied,
        char **ret_error);

/* A unified diff (3 lines of context, "---"/"+++" headers naming label_a and label_b) of two texts, line by
 * line; an empty string when they are equal. Texts of a few thousand lines, like domain XMLs: O(n*m). */
int text_diff_unified(const char *a, const char *b, const char *label_a, const char *label_b, char **ret);
