/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "machine.h"

#include "json-util.h"
#include "sysfs-parse.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <time.h>
#include <unistd.h>

static const char *const machine_state_table[_MACHINE_STATE_MAX] = {
        [MACHINE_CLAIMED] = "claimed",
        [MACHINE_DEGRADED] = "degraded",
};

const char *machine_state_to_string(MachineState s) {
        return s >= 0 && s < _MACHINE_STATE_MAX ? machine_state_table[s] : NULL;
}

int machine_new(Manager *m, ClaimRecord *claim, Machine **ret) {
        _cleanup_(machine_freep) Machine *machine = NULL;
        int k;

        machine = calloc(1, sizeof(Machine));
        if (!machine)
                return -ENOMEM;
        machine->manager = m;
        k = machine_object_path(claim->machine, &machine->path);
        if (k < 0)
                return k;
        machine->claim = *claim;
        *claim = (ClaimRecord){};
        *ret = TAKE_PTR(machine);
        return 0;
}

Machine *machine_free(Machine *machine) {
        if (!machine)
                return NULL;
        claim_record_done(&machine->claim);
        free(machine->path);
        strv_free(machine->problems);
        strv_free(machine->event_problems);
        free(machine);
        return NULL;
}

static int uint_compare(const void *a, const void *b) {
        unsigned x = *(const unsigned *) a, y = *(const unsigned *) b;
        return x < y ? -1 : x > y;
}

bool machine_has_group(const Machine *machine, unsigned group) {
        /* A device-less claim has no array: bsearch() of NULL is undefined even for 0 elements. */
        return machine->claim.n_groups > 0 &&
                bsearch(&group,
                        machine->claim.groups,
                        machine->claim.n_groups,
                        sizeof(unsigned),
                        uint_compare);
}

bool machine_has_device(const Machine *machine, const char *address) {
        return strv_contains(machine->claim.devices, address);
}

static bool strv_equal(char *const *a, char *const *b) {
        size_t n = strv_length(a);

        if (n != strv_length(b))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!streq(a[i], b[i]))
                        return false;
        return true;
}

int machine_add_event_problem(Machine *machine, const char *problem) {
        if (strv_contains(machine->event_problems, problem))
                return 0;
        return strv_extend(&machine->event_problems, problem);
}

int machine_evaluate(Machine *machine, const Host *h) {
        _cleanup_strv_free_ char **problems = NULL;
        MachineState state;
        int k;

        STRV_FOREACH (a, machine->claim.devices) {
                const Device *d = host_find_device(h, *a);

                if (!d)
                        k = strv_extendf(&problems, "Device %s is gone.", *a);
                else if (d->group < 0)
                        k = strv_extendf(&problems, "Device %s is no longer in an IOMMU group.", *a);
                else if (!machine_has_group(machine, (unsigned) d->group))
                        k = strv_extendf(
                                &problems,
                                "Device %s moved to IOMMU group %d, which is not claimed.",
                                *a,
                                d->group);
                else
                        k = 0;
                if (k < 0)
                        return k;
        }

        for (size_t i = 0; i < machine->claim.n_groups; i++) {
                _cleanup_free_ Blocker *blockers = NULL;
                unsigned n = machine->claim.groups[i];
                const Group *g = host_find_group(h, n);
                int nb;

                if (!g) {
                        if (strv_extendf(&problems, "IOMMU group %u is gone.", n) < 0)
                                return -ENOMEM;
                        continue;
                }
                /* The VM's own devices count as fine: libvirt binds them to vfio-pci when it starts the VM.
                 * A peer on a host driver is what makes QEMU fail with "group N is not viable"
                 * (../shared/DOMAIN.md §2, group viability). */
                nb = group_blockers(h, g, machine->claim.devices, &blockers);
                if (nb < 0)
                        return nb;
                for (int j = 0; j < nb; j++)
                        if (strv_extendf(
                                    &problems,
                                    "IOMMU group %u is not viable: %s is bound to %s.",
                                    n,
                                    blockers[j].device,
                                    strna(blockers[j].driver)) < 0)
                                return -ENOMEM;
        }

        STRV_FOREACH (p, machine->event_problems)
                if (strv_extend(&problems, *p) < 0)
                        return -ENOMEM;

        state = problems ? MACHINE_DEGRADED : MACHINE_CLAIMED;
        if (state == machine->state && strv_equal(problems, machine->problems))
                return 0;
        machine->state = state;
        strv_free(machine->problems);
        machine->problems = TAKE_PTR(problems);
        return 1;
}

static int group_user_compare(const void *a, const void *b) {
        const GroupUser *x = a, *y = b;

        if (x->group != y->group)
                return x->group < y->group ? -1 : 1;
        return (x->pid > y->pid) - (x->pid < y->pid);
}

/* The group of the device whose VFIO cdev is name ("vfio0"), from the model: a QEMU using iommufd holds
 * /dev/vfio/devices/vfioN instead of /dev/vfio/N (libvfiomap/iommufd.h). -1 when unknown. */
static int cdev_group(const Machine *machine, const char *name) {
        const Host *h = machine->manager ? machine->manager->host : NULL;

        for (size_t i = 0; h && i < h->n_devices; i++)
                if (streq_ptr(h->devices[i]->vfio_cdev, name))
                        return h->devices[i]->group;
        return -1;
}

int machine_users(const Machine *machine, const char *root, GroupUser **ret, size_t *ret_n) {
        _cleanup_free_ GroupUser *users = NULL;
        _cleanup_free_ char *procdir = NULL;
        size_t n = 0, allocated = 0;
        DIR *d;
        struct dirent *de;

        *ret = NULL;
        *ret_n = 0;
        if (machine->claim.n_groups == 0)
                return 0;
        if (asprintf_safe(&procdir, "%s/proc", streq_ptr(root, "/") || !root ? "" : root) < 0)
                return -ENOMEM;

        /* opendir/readdir/readlink: what umockdev redirects (../shared/DOMAIN.md §6). Processes come and go
         * and other users' fds are unreadable without privileges: both are skipped, not errors. */
        d = opendir(procdir);
        if (!d)
                return 0;
        while ((de = readdir(d))) {
                _cleanup_free_ char *fddir = NULL;
                struct dirent *fe;
                DIR *f;
                int pid;

                if (safe_atoi(de->d_name, &pid) < 0 || pid <= 0)
                        continue;
                if (asprintf_safe(&fddir, "%s/%s/fd", procdir, de->d_name) < 0) {
                        closedir(d);
                        return -ENOMEM;
                }
                f = opendir(fddir);
                if (!f)
                        continue;
                while ((fe = readdir(f))) {
                        char link[PATH_MAX + 64], target[PATH_MAX];
                        const char *node;
                        ssize_t l;
                        int group;

                        if (fe->d_name[0] == '.')
                                continue;
                        (void) snprintf(link, sizeof(link), "%s/%s", fddir, fe->d_name);
                        l = readlink(link, target, sizeof(target) - 1);
                        if (l <= 0)
                                continue;
                        target[l] = 0;
                        node = startswith(target, "/dev/vfio/");
                        if (!node)
                                continue;
                        if (startswith(node, "devices/"))
                                group = cdev_group(machine, node + strlen("devices/"));
                        else if (safe_atoi(node, &group) < 0)
                                continue;
                        if (group < 0 || !machine_has_group(machine, (unsigned) group))
                                continue;
                        if (!GREEDY_REALLOC(users, allocated, n + 1)) {
                                closedir(f);
                                closedir(d);
                                return -ENOMEM;
                        }
                        users[n++] = (GroupUser){ .group = (unsigned) group, .pid = pid };
                }
                closedir(f);
        }
        closedir(d);

        if (n > 0)
                qsort(users, n, sizeof(GroupUser), group_user_compare);
        /* A process holding the node twice is one user. */
        size_t w = 0;
        for (size_t i = 0; i < n; i++)
                if (w == 0 || group_user_compare(users + w - 1, users + i) != 0)
                        users[w++] = users[i];
        *ret = TAKE_PTR(users);
        *ret_n = w;
        return 0;
}

const char *machine_format_claimed_at(const Machine *machine, char buf[static 64]) {
        time_t t = (time_t) (machine->claim.claimed_at / 1000000);
        struct tm tm;

        if (!localtime_r(&t, &tm) || strftime(buf, 64, "claimed %Y-%m-%d %H:%M:%S", &tm) == 0)
                (void) snprintf(buf, 64, "claimed at an unknown time");
        return buf;
}

/* <root>/proc/PID/comm, cleaned by proc_comm_parse(); false when the process is gone or the name unreadable. */
static bool user_comm(const char *root, pid_t pid, char ret[static PROC_COMM_MAX]) {
        char path[PATH_MAX], buf[PROC_COMM_MAX + 1];
        _cleanup_close_ int fd = -EBADF;
        ssize_t l;

        (void) snprintf(path,
                        sizeof(path),
                        "%s/proc/%d/comm",
                        streq_ptr(root, "/") || !root ? "" : root,
                        (int) pid);
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return false;
        do
                l = read(fd, buf, sizeof(buf));
        while (l < 0 && errno == EINTR);
        return l > 0 && proc_comm_parse(buf, (size_t) l, ret) >= 0;
}

json_object *machine_to_json(const Machine *machine, const char *root) {
        _cleanup_free_ GroupUser *users = NULL;
        json_object *o = json_object_new_object(), *a, *layout;
        size_t n_users = 0;

        (void) json_object_object_add(o, "machine", json_object_new_string(machine->claim.machine));
        (void) json_object_object_add(
                o, "state", json_object_new_string(machine_state_to_string(machine->state)));
        a = json_object_new_array();
        STRV_FOREACH (p, machine->problems)
                (void) json_object_array_add(a, json_object_new_string(*p));
        (void) json_object_object_add(o, "problems", a);
        (void) json_object_object_add(
                o, "claimed_at", json_object_new_int64((int64_t) machine->claim.claimed_at));
        a = json_object_new_array();
        for (size_t i = 0; i < machine->claim.n_groups; i++)
                (void) json_object_array_add(a, json_object_new_int64(machine->claim.groups[i]));
        (void) json_object_object_add(o, "groups", a);
        a = json_object_new_array();
        STRV_FOREACH (d, machine->claim.devices)
                (void) json_object_array_add(a, json_object_new_string(*d));
        (void) json_object_object_add(o, "devices", a);

        a = json_object_new_array();
        if (machine_users(machine, root, &users, &n_users) >= 0)
                for (size_t i = 0; i < n_users; i++) {
                        json_object *u = json_object_new_object();
                        char comm[PROC_COMM_MAX];

                        (void) json_object_object_add(u, "group", json_object_new_int64(users[i].group));
                        (void) json_object_object_add(u, "pid", json_object_new_int64(users[i].pid));
                        (void) json_object_object_add(
                                u,
                                "comm",
                                user_comm(root, users[i].pid, comm) ? json_object_new_string(comm) : NULL);
                        (void) json_object_array_add(a, u);
                }
        (void) json_object_object_add(o, "users", a);

        /* The layout as an object, so a reader of Describe() needs one parser; null if it cannot be parsed
         * (a claims file written by hand). */
        layout = json_tokener_parse(machine->claim.layout ?: "");
        (void) json_object_object_add(o, "layout", layout);
        return o;
}
