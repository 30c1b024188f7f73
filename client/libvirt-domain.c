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

static virConnectPtr connect_libvirt(bool read_only, char **ret_error) {
        virConnectPtr conn;

        virSetErrorFunc(NULL, ignore_error);
        conn = read_only ? virConnectOpenReadOnly(uri()) : virConnectOpen(uri());
        if (!conn && ret_error)
                (void) asprintf_safe(ret_error, "Failed to connect to libvirt at %s: %s", uri(),
                                     virGetLastErrorMessage());
        return conn;
}

int libvirt_domain_xml_error(const char *name, unsigned flags, char **ret, char **ret_error) {
        virConnectPtr conn;
        virDomainPtr dom;
        char *xml = NULL;
        int k = 0;

        *ret_error = NULL;
        /* Secrets (VIR_DOMAIN_XML_SECURE) are only for read-write connections. */
        conn = connect_libvirt(!(flags & VIR_DOMAIN_XML_SECURE), ret_error);
        if (!conn)
                return -ECONNREFUSED;
        dom = virDomainLookupByName(conn, name);
        if (!dom) {
                (void) asprintf_safe(ret_error, "libvirt at %s has no domain %s: %s", uri(), name,
                                     virGetLastErrorMessage());
                k = -ENOENT;
        } else {
                xml = virDomainGetXMLDesc(dom, flags);
                if (!xml) {
                        (void) asprintf_safe(ret_error, "Failed to read the XML of domain %s: %s", name,
                                             virGetLastErrorMessage());
                        k = -EIO;
                }
                virDomainFree(dom);
        }
        virConnectClose(conn);
        if (k < 0)
                return k;
        *ret = xml;
        return 0;
}

int libvirt_domain_xml(const char *name, unsigned flags, char **ret) {
        _cleanup_free_ char *error = NULL;
        int k;

        k = libvirt_domain_xml_error(name, flags, ret, &error);
        if (k == -ENOENT)
                return log_error_errno(k, "%s is neither a file nor a libvirt domain: %s", name,
                                       strna(error));
        if (k < 0)
                return log_error_errno(k, "%s", error ?: "Failed to ask libvirt: out of memory");
        return 0;
}

int libvirt_domain_define(const char *xml) {
        _cleanup_free_ char *error = NULL;
        virConnectPtr conn;
        virDomainPtr dom;
        int k = 0;

        conn = connect_libvirt(false, &error);
        if (!conn)
                return log_error_errno(ECONNREFUSED, "%s", error ?: "Failed to connect to libvirt");
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
