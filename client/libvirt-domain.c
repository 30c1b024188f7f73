/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The client's only use of libvirt: reading a domain's XML (layout NAME, apply NAME) and defining the
 * changed one (apply). The connection goes to $LIBVIRT_DEFAULT_URI, or qemu:///system, like virsh's.
 *
 * The qemu hook (verb-libvirt-hook.c) never comes here: libvirt runs the hook while it holds the domain's
 * lock, so a call back into libvirt from the hook would wait for itself (../shared/DOMAIN.md §4). */

#include "util.h"
#include "vfiomapctl.h"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

static void ignore_error(void *userdata, virErrorPtr error) {
        /* libvirt prints every error on stderr by default; we print the one that matters, once. */
}

static const char *uri(void) {
        const char *e = getenv("LIBVIRT_DEFAULT_URI");
        return isempty(e) ? "qemu:///system" : e;
}

static virConnectPtr connect_libvirt(bool read_only) {
        virConnectPtr conn;

        virSetErrorFunc(NULL, ignore_error);
        conn = read_only ? virConnectOpenReadOnly(uri()) : virConnectOpen(uri());
        if (!conn)
                log_error_errno(
                        ECONNREFUSED,
                        "Failed to connect to libvirt at %s: %s",
                        uri(),
                        virGetLastErrorMessage());
        return conn;
}

int libvirt_domain_xml(const char *name, unsigned flags, char **ret) {
        virConnectPtr conn;
        virDomainPtr dom;
        char *xml = NULL;
        int k = 0;

        /* Secrets (VIR_DOMAIN_XML_SECURE) are only for read-write connections. */
        conn = connect_libvirt(!(flags & VIR_DOMAIN_XML_SECURE));
        if (!conn)
                return -ECONNREFUSED;
        dom = virDomainLookupByName(conn, name);
        if (!dom)
                k = log_error_errno(
                        ENOENT,
                        "%s is neither a file nor a libvirt domain at %s: %s",
                        name,
                        uri(),
                        virGetLastErrorMessage());
        else {
                xml = virDomainGetXMLDesc(dom, flags);
                if (!xml)
                        k = log_error_errno(
                                EIO,
                                "Failed to read the XML of domain %s: %s",
                                name,
                                virGetLastErrorMessage());
                virDomainFree(dom);
        }
        virConnectClose(conn);
        if (k < 0)
                return k;
        *ret = xml;
        return 0;
}

int libvirt_domain_define(const char *xml) {
        virConnectPtr conn;
        virDomainPtr dom;
        int k = 0;

        conn = connect_libvirt(false);
        if (!conn)
                return -ECONNREFUSED;
        /* Validation against libvirt's schema: a recommendation this libvirt does not know (maxphysaddr
         * needs 8.7, its limit 9.3) is refused here rather than dropped silently. */
        dom = virDomainDefineXMLFlags(conn, xml, VIR_DOMAIN_DEFINE_VALIDATE);
        if (!dom)
                k = log_error_errno(
                        EINVAL, "libvirt refused the new definition: %s", virGetLastErrorMessage());
        else
                virDomainFree(dom);
        virConnectClose(conn);
        return k;
}
