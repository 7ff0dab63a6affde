/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Host preflight (kc_preflight.h): reads sysfs and procfs under a root
 * prefix and reports one line per check. It never changes the host; the
 * fixes it prints are what deploy/kc-setup-host and deploy/kc-bind do.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kc_preflight.h"

#define CPU_WORDS (KC_CPUS_MAX / 64u)
#define HP_SIZES_MAX 8u	     /* hugepage sizes a kernel offers (x86: 2) */
#define TEXT_MAX 256u	     /* a file's first line, a CPU list */
#define GROUP_MEMBERS_MAX 64u /* devices of one IOMMU group looked at */

struct pf {
	const struct kc_config *cfg;
	char root[PATH_MAX];
	kc_preflight_emit_fn *emit;
	void *arg;
	struct kc_preflight_result res;
	enum kc_preflight_outcome worst;
	struct kc_cpuset lcore_cpus[KC_LCORES_MAX];
};

const char *kc_preflight_outcome_name(enum kc_preflight_outcome o)
{
	switch (o) {
	case KC_PREFLIGHT_OK:
		return "ok";
	case KC_PREFLIGHT_WARNING:
		return "warning";
	case KC_PREFLIGHT_FAILURE:
		return "failure";
	}
	return "?";
}

static void report(struct pf *p, enum kc_preflight_outcome o,
		   const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void report(struct pf *p, enum kc_preflight_outcome o,
		   const char *fmt, ...)
{
	char line[KC_PREFLIGHT_LINE_MAX];
	int n;
	va_list ap;

	n = snprintf(line, sizeof(line), "%s: ", kc_preflight_outcome_name(o));
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	if (o == KC_PREFLIGHT_OK)
		p->res.oks++;
	else if (o == KC_PREFLIGHT_WARNING)
		p->res.warnings++;
	else
		p->res.failures++;
	if (o > p->worst)
		p->worst = o;
	if (p->emit != NULL)
		p->emit(p->arg, o, line);
}

/* root + the host path made by fmt; false if it does not fit. */
__attribute__((format(printf, 4, 0)))
static bool host_path(const struct pf *p, char *out, size_t len,
		      const char *fmt, va_list ap)
{
	char rel[PATH_MAX];
	int n;

	n = vsnprintf(rel, sizeof(rel), fmt, ap);
	if (n < 0 || (size_t)n >= sizeof(rel))
		return false;
	n = snprintf(out, len, "%s%s", p->root, rel);
	return n >= 0 && (size_t)n < len;
}

/* The first line of a file, without its newline; -errno on failure. */
static int read_line(const struct pf *p, char *buf, size_t len,
		     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int read_line(const struct pf *p, char *buf, size_t len,
		     const char *fmt, ...)
{
	char path[PATH_MAX];
	FILE *f;
	bool ok;
	va_list ap;

	va_start(ap, fmt);
	ok = host_path(p, path, sizeof(path), fmt, ap);
	va_end(ap);
	if (!ok)
		return -ENAMETOOLONG;
	f = fopen(path, "r");
	if (f == NULL)
		return -errno;
	if (fgets(buf, (int)len, f) == NULL)
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static bool read_u64(const struct pf *p, uint64_t *v, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static bool read_u64(const struct pf *p, uint64_t *v, const char *fmt, ...)
{
	char path[PATH_MAX], buf[64], *end;
	FILE *f;
	bool ok;
	va_list ap;

	va_start(ap, fmt);
	ok = host_path(p, path, sizeof(path), fmt, ap);
	va_end(ap);
	if (!ok)
		return false;
	f = fopen(path, "r");
	if (f == NULL)
		return false;
	ok = fgets(buf, sizeof(buf), f) != NULL;
	fclose(f);
	if (!ok)
		return false;
	errno = 0;
	*v = strtoull(buf, &end, 10);
	return errno == 0 && end != buf;
}

static bool exists(const struct pf *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static bool exists(const struct pf *p, const char *fmt, ...)
{
	char path[PATH_MAX];
	struct stat st;
	bool ok;
	va_list ap;

	va_start(ap, fmt);
	ok = host_path(p, path, sizeof(path), fmt, ap);
	va_end(ap);
	return ok && stat(path, &st) == 0;
}

/* The last component of a symlink's target (a device's driver, its IOMMU
 * group); false when there is no such link. */
static bool link_name(const struct pf *p, char *out, size_t len,
		      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static bool link_name(const struct pf *p, char *out, size_t len,
		      const char *fmt, ...)
{
	char path[PATH_MAX], target[PATH_MAX];
	const char *base;
	ssize_t n;
	int w;
	bool ok;
	va_list ap;

	va_start(ap, fmt);
	ok = host_path(p, path, sizeof(path), fmt, ap);
	va_end(ap);
	if (!ok)
		return false;
	n = readlink(path, target, sizeof(target) - 1);
	if (n <= 0)
		return false;
	target[n] = '\0';
	base = strrchr(target, '/');
	w = snprintf(out, len, "%s", base != NULL ? base + 1 : target);
	return w >= 0 && (size_t)w < len;
}

static FILE *open_file(const struct pf *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static FILE *open_file(const struct pf *p, const char *fmt, ...)
{
	char path[PATH_MAX];
	bool ok;
	va_list ap;

	va_start(ap, fmt);
	ok = host_path(p, path, sizeof(path), fmt, ap);
	va_end(ap);
	return ok ? fopen(path, "r") : NULL;
}

static DIR *open_dir(const struct pf *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static DIR *open_dir(const struct pf *p, const char *fmt, ...)
{
	char path[PATH_MAX];
	bool ok;
	va_list ap;

	va_start(ap, fmt);
	ok = host_path(p, path, sizeof(path), fmt, ap);
	va_end(ap);
	return ok ? opendir(path) : NULL;
}

/* Entries of a directory other than . and ..; -1 if it cannot be read. */
static int dir_entries(const struct pf *p, const char *dir)
{
	DIR *d = open_dir(p, "%s", dir);
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/* ---- CPU sets ---- */

/* a & b, or a & ~b */
static struct kc_cpuset cpu_and(const struct kc_cpuset *a,
				const struct kc_cpuset *b, bool not_b)
{
	struct kc_cpuset r;

	for (uint32_t i = 0; i < CPU_WORDS; i++)
		r.w[i] = a->w[i] & (not_b ? ~b->w[i] : b->w[i]);
	return r;
}

static void cpulist_format(const struct kc_cpuset *s, char *out, size_t len)
{
	size_t n = 0;

	out[0] = '\0';
	for (uint32_t c = 0; c < KC_CPUS_MAX; c++) {
		uint32_t e = c;
		int w;

		if (!kc_cpuset_has(s, c))
			continue;
		while (e + 1 < KC_CPUS_MAX && kc_cpuset_has(s, e + 1))
			e++;
		w = e == c ? snprintf(out + n, len - n, "%s%u", n ? "," : "", c)
			   : snprintf(out + n, len - n, "%s%u-%u", n ? "," : "",
				      c, e);
		if (w < 0 || (size_t)w >= len - n)
			return;
		n += (size_t)w;
		c = e;
	}
}

static uint32_t cpu_first(const struct kc_cpuset *s)
{
	for (uint32_t c = 0; c < KC_CPUS_MAX; c++)
		if (kc_cpuset_has(s, c))
			return c;
	return 0;
}

static bool is_data_path(const struct kc_config *cfg, uint32_t lcore)
{
	const struct kc_lcore_map *m = &cfg->pipeline.lcores;

	for (uint32_t i = 0; i < m->rx_count; i++)
		if (m->rx[i] == lcore)
			return true;
	for (uint32_t i = 0; i < m->worker_count; i++)
		if (m->worker[i] == lcore)
			return true;
	return false;
}

/* ---- lcores ---- */

static void check_lcores(struct pf *p)
{
	const struct kc_config *cfg = p->cfg;
	const struct kc_cpuset *main_cpus = &p->lcore_cpus[cfg->eal.main_lcore];
	struct kc_cpuset online = { { 0 } };
	char buf[TEXT_MAX], list[TEXT_MAX], miss[TEXT_MAX];
	bool have_online = false, failed = false;
	uint32_t spare;

	if (read_line(p, buf, sizeof(buf),
		      "/sys/devices/system/cpu/online") == 0) {
		const char *s = buf;

		have_online = kc_cpulist_parse(&s, &online) == 0;
	}
	if (!have_online) {
		/* No online list: a CPU exists when its directory does. */
		for (uint32_t c = 0; c < KC_CPUS_MAX; c++)
			if (exists(p, "/sys/devices/system/cpu/cpu%u", c))
				kc_cpuset_add(&online, c);
	}
	if (kc_cpuset_empty(&online)) {
		/* No sysfs (a container?): not a reason to refuse a start
		 * the EAL may well manage. */
		report(p, KC_PREFLIGHT_WARNING, "lcores: the host's CPUs "
		       "cannot be read (/sys/devices/system/cpu), so the "
		       "lcores' CPUs are not checked; fix: mount sysfs on /sys");
		return;
	}
	cpulist_format(&online, list, sizeof(list));
	/* The example CPU of a fix: one the main lcore does not use. */
	{
		struct kc_cpuset other = cpu_and(&online, main_cpus, true);

		spare = kc_cpuset_empty(&other) ? cpu_first(&online) :
			cpu_first(&other);
	}
	for (uint32_t l = 0; l < KC_LCORES_MAX; l++) {
		struct kc_cpuset missing;

		if ((cfg->eal.lcore_set & (1ull << l)) == 0)
			continue;
		missing = cpu_and(&p->lcore_cpus[l], &online, true);
		if (kc_cpuset_empty(&missing))
			continue;
		cpulist_format(&missing, miss, sizeof(miss));
		report(p, KC_PREFLIGHT_FAILURE,
		       "lcores: lcore %u needs CPU %s, which this host does not "
		       "have online (online: %s); fix: give lcore %u an online "
		       "CPU in eal.lcores, e.g. \"%u@%u\"", l, miss,
		       list[0] ? list : "none", l, l, spare);
		failed = true;
	}
	if (!failed)
		report(p, KC_PREFLIGHT_OK, "lcores: eal.lcores \"%s\" runs on "
		       "online CPUs (online: %s)", cfg->eal.lcores, list);
	for (uint32_t l = 0; l < KC_LCORES_MAX; l++) {
		struct kc_cpuset shared;

		if (!is_data_path(cfg, l))
			continue;
		shared = cpu_and(&p->lcore_cpus[l], main_cpus, false);
		if (kc_cpuset_empty(&shared))
			continue;
		cpulist_format(&shared, miss, sizeof(miss));
		report(p, KC_PREFLIGHT_WARNING,
		       "lcores: the main lcore %u and data-path lcore %u may "
		       "both run on CPU %s, so the control plane takes time "
		       "from the data path; fix: give them separate CPUs in "
		       "eal.lcores", cfg->eal.main_lcore, l, miss);
	}
}

/* ---- hugepages ---- */

struct hp_size {
	uint64_t kb;
	uint64_t nr;
	uint64_t free;
};

static uint32_t hp_sizes(const struct pf *p, struct hp_size *sz)
{
	DIR *d = open_dir(p, "/sys/kernel/mm/hugepages");
	struct dirent *e;
	uint32_t n = 0;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL && n < HP_SIZES_MAX) {
		unsigned long long kb;
		char tail;

		if (sscanf(e->d_name, "hugepages-%llukB%c", &kb, &tail) != 1)
			continue;
		sz[n].kb = kb;
		if (!read_u64(p, &sz[n].nr, "/sys/kernel/mm/hugepages/%s/"
			      "nr_hugepages", e->d_name))
			sz[n].nr = 0;
		if (!read_u64(p, &sz[n].free, "/sys/kernel/mm/hugepages/%s/"
			      "free_hugepages", e->d_name))
			sz[n].free = 0;
		n++;
	}
	closedir(d);
	/* Smallest first: messages and fixes do not depend on readdir's
	 * order. */
	for (uint32_t i = 1; i < n; i++)
		for (uint32_t j = i; j > 0 && sz[j].kb < sz[j - 1].kb; j--) {
			struct hp_size t = sz[j];

			sz[j] = sz[j - 1];
			sz[j - 1] = t;
		}
	return n;
}

static void check_hugepages(struct pf *p)
{
	const uint64_t need_kb = (uint64_t)p->cfg->eal.memory_mb * 1024;
	struct hp_size sz[HP_SIZES_MAX];
	const struct hp_size *fix;
	uint64_t free_kb = 0, nr = 0, add;
	char found[TEXT_MAX];
	size_t n = 0;
	uint32_t count;

	count = hp_sizes(p, sz);
	if (count == 0) {
		report(p, KC_PREFLIGHT_FAILURE, "hugepages: the kernel offers "
		       "none (no /sys/kernel/mm/hugepages); fix: a kernel "
		       "with CONFIG_HUGETLBFS, or eal.hugepages: false");
		return;
	}
	/* The fix reserves 2 MB pages, which the kernel can find at run
	 * time; 1 GB pages are best reserved on the kernel command line. */
	fix = &sz[0];
	found[0] = '\0';
	for (uint32_t i = 0; i < count; i++) {
		int w;

		if (sz[i].kb == 2048)
			fix = &sz[i];
		free_kb += sz[i].free * sz[i].kb;
		nr += sz[i].nr;
		if (sz[i].nr == 0)
			continue;
		w = snprintf(found + n, sizeof(found) - n, "%s%" PRIu64 " of "
			     "%" PRIu64 " pages of %" PRIu64 " kB free",
			     n ? ", " : "", sz[i].free, sz[i].nr, sz[i].kb);
		if (w > 0 && (size_t)w < sizeof(found) - n)
			n += (size_t)w;
	}
	if (nr == 0) {
		report(p, KC_PREFLIGHT_FAILURE, "hugepages: none reserved, and "
		       "eal.memory_mb %u needs %" PRIu64 " pages of %" PRIu64
		       " kB; fix: echo %" PRIu64 " > /sys/kernel/mm/hugepages/"
		       "hugepages-%" PRIu64 "kB/nr_hugepages",
		       p->cfg->eal.memory_mb, (need_kb + fix->kb - 1) / fix->kb,
		       fix->kb, (need_kb + fix->kb - 1) / fix->kb, fix->kb);
		return;
	}
	if (free_kb < need_kb) {
		add = (need_kb - free_kb + fix->kb - 1) / fix->kb;
		report(p, KC_PREFLIGHT_FAILURE, "hugepages: %" PRIu64 " MB free "
		       "(%s), and eal.memory_mb %u needs %u MB; fix: echo %"
		       PRIu64 " > /sys/kernel/mm/hugepages/hugepages-%" PRIu64
		       "kB/nr_hugepages", free_kb / 1024, found,
		       p->cfg->eal.memory_mb, p->cfg->eal.memory_mb,
		       fix->nr + add, fix->kb);
		return;
	}
	report(p, KC_PREFLIGHT_OK, "hugepages: %" PRIu64 " MB free (%s) for "
	       "eal.memory_mb %u", free_kb / 1024, found, p->cfg->eal.memory_mb);
}

static void check_hugetlbfs(struct pf *p)
{
	char line[1024];
	FILE *f = open_file(p, "/proc/mounts");
	bool found = false;

	if (f != NULL) {
		while (!found && fgets(line, sizeof(line), f) != NULL) {
			char dev[256], dir[512], type[64];

			if (sscanf(line, "%255s %511s %63s", dev, dir, type) == 3 &&
			    strcmp(type, "hugetlbfs") == 0) {
				found = true;
				report(p, KC_PREFLIGHT_OK, "hugetlbfs: mounted "
				       "on %s", dir);
			}
		}
		fclose(f);
	}
	if (found)
		return;
	/* --in-memory maps hugepages without a hugetlbfs file (the EAL's
	 * "allocated anonymously"); only shared-memory mode needs a mount. */
	if (p->cfg->eal.in_memory)
		report(p, KC_PREFLIGHT_OK, "hugetlbfs: not mounted, not needed "
		       "with eal.in_memory: true");
	else
		report(p, KC_PREFLIGHT_FAILURE, "hugetlbfs: not mounted (none "
		       "in /proc/mounts), and eal.in_memory: false keeps the "
		       "EAL's hugepage files in one; fix: mkdir -p "
		       "/dev/hugepages && mount -t hugetlbfs nodev "
		       "/dev/hugepages");
}

/* ---- IOMMU and PCI devices ---- */

static bool cmdline_has(const char *cmdline, const char *word)
{
	size_t len = strlen(word);
	const char *s = cmdline;

	while ((s = strstr(s, word)) != NULL) {
		if ((s == cmdline || s[-1] == ' ') &&
		    (s[len] == ' ' || s[len] == '\0'))
			return true;
		s += len;
	}
	return false;
}

static bool cpu_is_amd(const struct pf *p)
{
	char line[256];
	FILE *f = open_file(p, "/proc/cpuinfo");
	bool amd = false;

	if (f == NULL)
		return false;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "vendor_id", 9) == 0) {
			amd = strstr(line, "AuthenticAMD") != NULL;
			break;
		}
	fclose(f);
	return amd;
}

/* A driver that lets vfio use the rest of an IOMMU group: vfio-pci
 * itself, pci-stub (holds a device for nobody) and pcieport (bridges). */
static bool group_driver_ok(const char *drv)
{
	return strcmp(drv, "vfio-pci") == 0 || strcmp(drv, "pci-stub") == 0 ||
	       strcmp(drv, "pcieport") == 0;
}

static bool is_uio(const char *drv)
{
	return strcmp(drv, "uio_pci_generic") == 0 ||
	       strcmp(drv, "igb_uio") == 0;
}

/* Mellanox NICs stay on their kernel driver: DPDK's mlx4/mlx5 drivers
 * work through it (bifurcated), with no vfio-pci and no IOMMU needed. */
static bool is_bifurcated(const char *drv)
{
	return strcmp(drv, "mlx5_core") == 0 || strcmp(drv, "mlx4_core") == 0;
}

/* Returns true when the IOMMU is there (the groups mean something). */
static bool check_iommu(struct pf *p, bool all_uio)
{
	char cmdline[4096];
	bool amd = cpu_is_amd(p), pt, present;
	enum kc_preflight_outcome o = all_uio ? KC_PREFLIGHT_WARNING :
					       KC_PREFLIGHT_FAILURE;
	const char *why = all_uio ? " (the pci ports are bound to uio, which "
				    "runs without one, unprotected)" : "";

	if (read_line(p, cmdline, sizeof(cmdline), "/proc/cmdline") != 0)
		cmdline[0] = '\0';
	pt = cmdline_has(cmdline, "iommu=pt");
	present = dir_entries(p, "/sys/class/iommu") > 0;
	if (present) {
		report(p, KC_PREFLIGHT_OK, "iommu: present (/sys/class/iommu)");
		if (!pt)
			report(p, KC_PREFLIGHT_WARNING, "iommu: iommu=pt is not "
			       "on the kernel command line, so the host's own "
			       "devices pay for IOMMU translation; fix: add "
			       "iommu=pt to the kernel command line");
		return true;
	}
	if (amd && cmdline_has(cmdline, "amd_iommu=off"))
		report(p, o, "iommu: off on the kernel command line "
		       "(amd_iommu=off)%s; fix: remove amd_iommu=off and add "
		       "iommu=pt on the kernel command line", why);
	else if (!amd && !cmdline_has(cmdline, "intel_iommu=on"))
		report(p, o, "iommu: off on the kernel command line (no "
		       "intel_iommu=on)%s; fix: add intel_iommu=on iommu=pt to "
		       "the kernel command line", why);
	else
		report(p, o, "iommu: none (/sys/class/iommu is empty) although "
		       "the kernel command line does not turn it off%s; fix: "
		       "enable %s in the firmware setup (in a VM: give it a "
		       "virtual IOMMU)", why,
		       amd ? "AMD-Vi (IOMMU)" : "VT-d");
	return false;
}

static void check_group(struct pf *p, const struct kc_port_cfg *pc)
{
	const char *addr = pc->pci;
	char group[64], dir[PATH_MAX], drv[64];
	DIR *d;
	struct dirent *e;
	bool viable = true;
	uint32_t seen = 0;

	if (!link_name(p, group, sizeof(group),
		       "/sys/bus/pci/devices/%s/iommu_group", addr)) {
		report(p, KC_PREFLIGHT_FAILURE, "pci %s (port %s): no IOMMU "
		       "group although the host has an IOMMU; fix: add "
		       "intel_iommu=on iommu=pt to the kernel command line",
		       addr, pc->name);
		return;
	}
	snprintf(dir, sizeof(dir), "/sys/bus/pci/devices/%s/iommu_group/"
		 "devices", addr);
	d = open_dir(p, "%s", dir);
	while (d != NULL && (e = readdir(d)) != NULL &&
	       seen < GROUP_MEMBERS_MAX) {
		if (e->d_name[0] == '.' || strcmp(e->d_name, addr) == 0)
			continue;
		seen++;
		if (!link_name(p, drv, sizeof(drv), "%s/%s/driver", dir,
			       e->d_name) || group_driver_ok(drv))
			continue;
		viable = false;
		report(p, KC_PREFLIGHT_FAILURE, "pci %s (port %s): IOMMU group "
		       "%s is not viable: %s in the same group is bound to %s, "
		       "and vfio takes a whole group; fix: deploy/kc-bind %s",
		       addr, pc->name, group, e->d_name, drv, e->d_name);
	}
	if (d != NULL)
		closedir(d);
	if (viable)
		report(p, KC_PREFLIGHT_OK, "pci %s (port %s): IOMMU group %s is "
		       "viable", addr, pc->name, group);
}

static void check_numa(struct pf *p, const struct kc_port_cfg *pc)
{
	const struct kc_config *cfg = p->cfg;
	char buf[TEXT_MAX], list[TEXT_MAX], other[TEXT_MAX];
	struct kc_cpuset node = { { 0 } };
	const char *s = buf;
	bool all_local = true;
	int numa;

	if (read_line(p, buf, sizeof(buf), "/sys/bus/pci/devices/%s/numa_node",
		      pc->pci) != 0 || sscanf(buf, "%d", &numa) != 1 ||
	    numa < 0) {
		report(p, KC_PREFLIGHT_OK, "pci %s (port %s): no NUMA node "
		       "reported (one-socket host)", pc->pci, pc->name);
		return;
	}
	if (read_line(p, buf, sizeof(buf), "/sys/devices/system/node/node%d/"
		      "cpulist", numa) != 0 || kc_cpulist_parse(&s, &node) != 0) {
		report(p, KC_PREFLIGHT_WARNING, "pci %s (port %s): on NUMA node "
		       "%d, whose CPUs cannot be read; fix: check "
		       "/sys/devices/system/node/node%d/cpulist", pc->pci,
		       pc->name, numa, numa);
		return;
	}
	cpulist_format(&node, list, sizeof(list));
	/* Every data-path lcore touches every port: RX lcores poll it and
	 * each data-path lcore sends on its own TX queue of it. */
	for (uint32_t l = 0; l < KC_LCORES_MAX; l++) {
		struct kc_cpuset away;

		if (!is_data_path(cfg, l))
			continue;
		away = cpu_and(&p->lcore_cpus[l], &node, true);
		if (kc_cpuset_empty(&away))
			continue;
		all_local = false;
		cpulist_format(&away, other, sizeof(other));
		report(p, KC_PREFLIGHT_WARNING, "pci %s (port %s): on NUMA "
		       "node %d (CPUs %s), but lcore %u that polls it may run "
		       "on CPU %s of another node, and every packet crosses the "
		       "socket interconnect; fix: give lcore %u a CPU of node "
		       "%d in eal.lcores, e.g. \"%u@%u\"", pc->pci, pc->name,
		       numa, list, l, other, l, numa, l, cpu_first(&node));
	}
	if (all_local)
		report(p, KC_PREFLIGHT_OK, "pci %s (port %s): on NUMA node %d "
		       "with the lcores that poll it", pc->pci, pc->name, numa);
}

static void check_pci(struct pf *p)
{
	const struct kc_config *cfg = p->cfg;
	char drv[KC_PORTS_MAX][64];
	bool found[KC_PORTS_MAX], all_uio = true, all_bif = true, iommu;

	for (uint32_t i = 0; i < cfg->port_count; i++) {
		const struct kc_port_cfg *pc = &cfg->ports[i];

		if (pc->driver != KC_PORT_PCI)
			continue;
		found[i] = exists(p, "/sys/bus/pci/devices/%s", pc->pci);
		if (!link_name(p, drv[i], sizeof(drv[i]),
			       "/sys/bus/pci/devices/%s/driver", pc->pci))
			drv[i][0] = '\0';
		all_uio &= found[i] && (is_uio(drv[i]) ||
					is_bifurcated(drv[i]));
		all_bif &= found[i] && is_bifurcated(drv[i]);
	}
	if (all_bif) {
		report(p, KC_PREFLIGHT_OK, "iommu: not needed (the pci ports "
		       "stay on their kernel driver, mlx4/mlx5)");
		iommu = false;
	} else {
		iommu = check_iommu(p, all_uio);
	}
	/* vfio's IOMMU backend is only a soft dependency of vfio: insmod, or
	 * a module list without it, leaves it out, and then the EAL finds "no
	 * supported IOMMU extensions" and says the device is not there. */
	for (uint32_t i = 0; iommu && i < cfg->port_count; i++) {
		if (cfg->ports[i].driver != KC_PORT_PCI || !found[i] ||
		    strcmp(drv[i], "vfio-pci") != 0)
			continue;
		if (exists(p, "/sys/module/vfio_iommu_type1"))
			report(p, KC_PREFLIGHT_OK, "vfio: vfio_iommu_type1 "
			       "loaded (vfio's IOMMU backend)");
		else
			report(p, KC_PREFLIGHT_FAILURE, "vfio: "
			       "vfio_iommu_type1 is not loaded, so the EAL "
			       "finds no IOMMU backend and cannot use the "
			       "NICs on vfio-pci; fix: modprobe "
			       "vfio_iommu_type1");
		break;
	}
	for (uint32_t i = 0; i < cfg->port_count; i++) {
		const struct kc_port_cfg *pc = &cfg->ports[i];

		if (pc->driver != KC_PORT_PCI)
			continue;
		if (!found[i]) {
			report(p, KC_PREFLIGHT_FAILURE, "pci %s (port %s): no "
			       "such device (/sys/bus/pci/devices/%s); fix: "
			       "find the NIC's address with lspci -D -d ::0200 "
			       "and set the port's pci", pc->pci, pc->name,
			       pc->pci);
			continue;
		}
		if (strcmp(drv[i], "vfio-pci") == 0) {
			report(p, KC_PREFLIGHT_OK, "pci %s (port %s): bound to "
			       "vfio-pci", pc->pci, pc->name);
		} else if (is_bifurcated(drv[i])) {
			report(p, KC_PREFLIGHT_OK, "pci %s (port %s): on %s, "
			       "which DPDK's driver uses as it is (bifurcated: "
			       "no vfio-pci)", pc->pci, pc->name, drv[i]);
		} else if (is_uio(drv[i])) {
			report(p, KC_PREFLIGHT_WARNING, "pci %s (port %s): "
			       "bound to %s, which gives the NIC's DMA the "
			       "whole memory; fix: deploy/kc-bind %s (vfio-pci, "
			       "with an IOMMU)", pc->pci, pc->name, drv[i],
			       pc->pci);
		} else {
			report(p, KC_PREFLIGHT_FAILURE, "pci %s (port %s): "
			       "bound to %s, not vfio-pci; fix: deploy/kc-bind "
			       "%s", pc->pci, pc->name,
			       drv[i][0] ? drv[i] : "no driver", pc->pci);
		}
		if (iommu && !is_uio(drv[i]) && !is_bifurcated(drv[i]))
			check_group(p, pc);
		check_numa(p, pc);
	}
}

static bool has_pci_port(const struct kc_config *cfg)
{
	for (uint32_t i = 0; i < cfg->port_count; i++)
		if (cfg->ports[i].driver == KC_PORT_PCI)
			return true;
	return false;
}

enum kc_preflight_outcome kc_preflight_run(const struct kc_config *cfg,
					   const char *root,
					   kc_preflight_emit_fn *emit,
					   void *arg,
					   struct kc_preflight_result *res)
{
	/* Static: 64 lcores' CPU sets are 8 KiB; preflight runs once, on
	 * the main thread, before anything else starts. */
	static struct pf p;
	size_t len;

	memset(&p, 0, sizeof(p));
	p.cfg = cfg;
	p.emit = emit;
	p.arg = arg;
	snprintf(p.root, sizeof(p.root), "%s", root ? root : "/");
	len = strlen(p.root);
	while (len > 0 && p.root[len - 1] == '/')
		p.root[--len] = '\0';
	if (kc_lcores_parse(cfg->eal.lcores, p.lcore_cpus) != 0)
		/* Not from the config parser, which refuses such lists. */
		report(&p, KC_PREFLIGHT_FAILURE, "lcores: eal.lcores \"%s\" is "
		       "not an EAL lcore list; fix: lcore ids 0..%u, CPU ids "
		       "0..%u", cfg->eal.lcores, KC_LCORES_MAX - 1,
		       KC_CPUS_MAX - 1);
	else
		check_lcores(&p);
	if (cfg->eal.hugepages) {
		check_hugepages(&p);
		check_hugetlbfs(&p);
	} else {
		report(&p, KC_PREFLIGHT_OK, "hugepages: not used "
		       "(eal.hugepages: false)");
	}
	if (has_pci_port(cfg))
		check_pci(&p);
	else
		report(&p, KC_PREFLIGHT_OK, "iommu: not needed (no pci port)");
	if (res != NULL)
		*res = p.res;
	return p.worst;
}
