/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Host preflight against fake sysfs/procfs trees built in a temporary
 * directory: a healthy host first, then one test per failure class, each
 * asserting the outcome and the exact line (with its fix) the module gives.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "kc_config.h"
#include "kc_preflight.h"

#define LINES_MAX 32
#define DEV "0000:3b:00.0"
#define PEER "0000:3b:00.1"

static char root[PATH_MAX];
static struct kc_config cfg;
static char lines[LINES_MAX][KC_PREFLIGHT_LINE_MAX];
static unsigned int nb_lines;
static struct kc_preflight_result res;

static void capture(void *arg, enum kc_preflight_outcome o, const char *line)
{
	(void)arg;
	(void)o;
	assert_true(nb_lines < LINES_MAX);
	snprintf(lines[nb_lines++], sizeof(lines[0]), "%s", line);
}

static void path_of(char *out, const char *rel)
{
	assert_true((size_t)snprintf(out, PATH_MAX, "%s/%s", root, rel) <
		    PATH_MAX);
}

static void mkdirs(const char *rel)
{
	char path[PATH_MAX];

	path_of(path, rel);
	for (char *s = path + strlen(root) + 1; *s != '\0'; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
		*s = '/';
	}
	assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
}

/* Write a file under root, making its directories. */
static void put(const char *rel, const char *text)
{
	char path[PATH_MAX], dir[PATH_MAX];
	FILE *f;

	snprintf(dir, sizeof(dir), "%s", rel);
	*strrchr(dir, '/') = '\0';
	mkdirs(dir);
	path_of(path, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void del(const char *rel)
{
	char path[PATH_MAX];

	path_of(path, rel);
	assert_int_equal(unlink(path), 0);
}

/* A symlink rel -> root/target, as sysfs links devices and drivers. */
static void link_to(const char *rel, const char *target)
{
	char path[PATH_MAX], to[PATH_MAX];

	path_of(path, rel);
	path_of(to, target);
	unlink(path);
	assert_int_equal(symlink(to, path), 0);
}

static void bind_driver(const char *dev, const char *drv)
{
	char rel[PATH_MAX], target[PATH_MAX];

	snprintf(target, sizeof(target), "sys/bus/pci/drivers/%s", drv);
	mkdirs(target);
	snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/driver", dev);
	link_to(rel, target);
}

static void load(const char *yaml)
{
	char err[KC_CFG_ERR_MAX];

	if (kc_config_parse(yaml, strlen(yaml), "t.yaml", "/etc/kc", &cfg,
			    err, sizeof(err)) != 0)
		fail_msg("config: %s", err);
}

#define CONFIG(eal) \
	"eal:\n" eal \
	"ports:\n" \
	"  - name: nic0\n" \
	"    driver: pci\n" \
	"    pci: " DEV "\n" \
	"    ip: 10.0.0.2/24\n" \
	"kcp:\n" \
	"  keys_file: dev.keys\n"
#define EAL_HUGE \
	"  lcores: \"0-1\"\n" \
	"  hugepages: true\n" \
	"  in_memory: false\n" \
	"  memory_mb: 256\n"

/*
 * A host where everything is right: 4 CPUs on two nodes, 512 free 2 MB
 * pages, hugetlbfs mounted, an Intel IOMMU on, the NIC on node 0 bound to
 * vfio-pci, alone in its group but for a function with no driver.
 */
static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/kc-preflight.XXXXXX");
	assert_non_null(mkdtemp(root));
	put("sys/devices/system/cpu/online", "0-3\n");
	put("sys/devices/system/node/node0/cpulist", "0-1\n");
	put("sys/devices/system/node/node1/cpulist", "2-3\n");
	put("sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", "512\n");
	put("sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "512\n");
	put("sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages", "0\n");
	put("sys/kernel/mm/hugepages/hugepages-1048576kB/free_hugepages",
	    "0\n");
	put("proc/mounts", "sysfs /sys sysfs rw 0 0\n"
	    "hugetlbfs /dev/hugepages hugetlbfs rw,relatime,pagesize=2M 0 0\n");
	put("proc/cmdline", "BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro "
	    "intel_iommu=on iommu=pt quiet\n");
	put("proc/cpuinfo", "processor\t: 0\nvendor_id\t: GenuineIntel\n");
	mkdirs("sys/class/iommu/dmar0");
	put("sys/bus/pci/devices/" DEV "/numa_node", "0\n");
	put("sys/bus/pci/devices/" PEER "/numa_node", "0\n");
	bind_driver(DEV, "vfio-pci");
	mkdirs("sys/module/vfio_iommu_type1");
	mkdirs("sys/kernel/iommu_groups/17/devices");
	link_to("sys/bus/pci/devices/" DEV "/iommu_group",
		"sys/kernel/iommu_groups/17");
	link_to("sys/kernel/iommu_groups/17/devices/" DEV,
		"sys/bus/pci/devices/" DEV);
	link_to("sys/kernel/iommu_groups/17/devices/" PEER,
		"sys/bus/pci/devices/" PEER);
	load(CONFIG(EAL_HUGE));
	nb_lines = 0;
	return 0;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static enum kc_preflight_outcome run(void)
{
	nb_lines = 0;
	return kc_preflight_run(&cfg, root, capture, NULL, &res);
}

static void dump(void)
{
	for (unsigned int i = 0; i < nb_lines; i++)
		print_message("  line %u: %s\n", i, lines[i]);
}

/* The line must be among those printed, exactly. */
static void expect(const char *line)
{
	for (unsigned int i = 0; i < nb_lines; i++)
		if (strcmp(lines[i], line) == 0)
			return;
	dump();
	fail_msg("missing line: %s", line);
}

static void expect_outcome(enum kc_preflight_outcome got,
			   enum kc_preflight_outcome want, uint32_t failures,
			   uint32_t warnings)
{
	if (got != want || res.failures != failures ||
	    res.warnings != warnings)
		dump();
	assert_int_equal(got, want);
	assert_int_equal(res.failures, failures);
	assert_int_equal(res.warnings, warnings);
	assert_int_equal(res.oks + res.warnings + res.failures, nb_lines);
}

static void test_healthy_host(void **state)
{
	(void)state;
	expect_outcome(run(), KC_PREFLIGHT_OK, 0, 0);
	expect("ok: lcores: eal.lcores \"0-1\" runs on online CPUs "
	       "(online: 0-3)");
	expect("ok: hugepages: 1024 MB free (512 of 512 pages of 2048 kB "
	       "free) for eal.memory_mb 256");
	expect("ok: hugetlbfs: mounted on /dev/hugepages");
	expect("ok: iommu: present (/sys/class/iommu)");
	expect("ok: vfio: vfio_iommu_type1 loaded (vfio's IOMMU backend)");
	expect("ok: pci " DEV " (port nic0): bound to vfio-pci");
	expect("ok: pci " DEV " (port nic0): IOMMU group 17 is viable");
	expect("ok: pci " DEV " (port nic0): on NUMA node 0 with the lcores "
	       "that poll it");
	assert_string_equal(kc_preflight_outcome_name(KC_PREFLIGHT_WARNING),
			    "warning");
}

/* What the integration configs ask for: nothing of the host but CPUs. */
static void test_software_ports_ask_nothing(void **state)
{
	static const char yaml[] =
		"eal:\n  lcores: \"0-1\"\n  hugepages: false\n"
		"ports:\n  - name: kc0\n    driver: tap\n    ip: 10.77.0.2/24\n"
		"kcp:\n  keys_file: dev.keys\n";

	(void)state;
	load(yaml);
	/* Everything but the CPUs gone: not looked at. */
	del("proc/mounts");
	del("proc/cmdline");
	expect_outcome(run(), KC_PREFLIGHT_OK, 0, 0);
	assert_int_equal(nb_lines, 3);
	expect("ok: hugepages: not used (eal.hugepages: false)");
	expect("ok: iommu: not needed (no pci port)");
}

static void test_no_hugepages(void **state)
{
	(void)state;
	put("sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", "0\n");
	put("sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "0\n");
	expect_outcome(run(), KC_PREFLIGHT_FAILURE, 1, 0);
	expect("failure: hugepages: none reserved, and eal.memory_mb 256 "
	       "needs 128 pages of 2048 kB; fix: echo 128 > "
	       "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages");
}

static void test_too_few_free_hugepages(void **state)
{
	(void)state;
	put("sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "64\n");
	expect_outcome(run(), KC_PREFLIGHT_FAILURE, 1, 0);
	expect("failure: hugepages: 128 MB free (64 of 512 pages of 2048 kB "
	       "free), and eal.memory_mb 256 needs 256 MB; fix: echo 576 > "
	       "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages");
}

/* 1 GB pages count by their size; the fix still adds 2 MB pages. */
static void test_hugepages_by_size(void **state)
{
	(void)state;
	put("sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", "0\n");
	put("sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "0\n");
	put("sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages", "1\n");
	put("sys/kernel/mm/hugepages/hugepages-1048576kB/free_hugepages",
	    "1\n");
	expect_outcome(run(), KC_PREFLIGHT_OK, 0, 0);
	expect("ok: hugepages: 1024 MB free (1 of 1 pages of 1048576 kB "
	       "free) for eal.memory_mb 256");
	load(CONFIG("  lcores: \"0-1\"\n  hugepages: true\n"
		    "  in_memory: false\n  memory_mb: 1536\n"));
	expect_outcome(run(), KC_PREFLIGHT_FAILURE, 1, 0);
	expect("failure: hugepages: 1024 MB free (1 of 1 pages of 1048576 kB "
	       "free), and eal.memory_mb 1536 needs 1536 MB; fix: echo 256 > "
	       "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages");
}

static void test_hugetlbfs_not_mounted(void **state)
{
	(void)state;
	put("proc/mounts", "sysfs /sys sysfs rw 0 0\n"
	    "tmpfs /run tmpfs rw 0 0\n");
	expect_outcome(run(), KC_PREFLIGHT_FAILURE, 1, 0);
	expect("failure: hugetlbfs: not mounted (none in /proc/mounts), and "
	       "eal.in_memory: false keeps the EAL's hugepage files in one; "
	       "fix: mkdir -p /dev/hugepages && mount -t hugetlbfs nodev "
	       "/dev/hugepages");
	/* --in-memory maps hugepages without a mount. */
	load(CONFIG("  lcores: \"0-1\"\n  hugepages: true\n"
		    "  in_memory: true\n  memory_mb: 256\n"));
	expect_outcome(run(), KC_PREFLIGHT_OK, 0, 0);
	expect("ok: hugetlbfs: not mounted, not needed with eal.in_memory: "
	       "true");
}

static void test_no_iommu(void **state)
{
	char path[PATH_MAX];

	(void)state;
	path_of(path, "sys/class/iommu/dmar0");
	assert_int_equal(rmdir(path), 0);
	expect_outcome(run(), KC_PREFLIGHT_FAILURE, 1, 0);
	expect("failure: iommu: none (/sys/class/iommu is empty) although the "
	       "kernel command line does not turn it off; fix: enable VT-d in "
	       "the firmware setup (in a VM: give it a virtual IOMMU)");
	/* Without an IOMMU, groups are not looked at. */
	for (unsigned int i = 0; i < nb_lines; i++)
		assert_null(strstr(lines[i], "IOMMU group"));
	/* On AMD it says so. */
	put("proc/cpuinfo", "vendor_id\t: AuthenticAMD\n");
	expect_outcome(run(), KC_PREFLIGHT_FAILURE, 1, 0);
	expect("failure: iommu: none (/sys/class/iommu is empty) although the "
	       "kernel command line does not turn it off; fix: enable AMD-Vi "
	       "(IOMMU) in the firmware setup (in a VM: give it a virtual "
	       "IOMMU)");
}

static void test_iommu_off_on_cmdline(void **state)
{
	char path[PATH_MAX];

	(void)state;
	path_of(path, "sys/class/iommu/dmar0");
	assert_int_equal(rmdir(path), 0);
	put("proc/cmdline", "BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro quiet\n");
	expect_outcome(run(), KC_PREFLIGHT_FAILURE, 1, 0);
	expect("failure: iommu: off on the kernel command line (no "
	       "intel_iommu=on); fix: add intel_iommu=on iommu=pt to the "
	       "kernel command line");
	put("proc/cpuinfo", "vendor_id\t: AuthenticAMD\n");
	put("proc/cmdline", "root=/dev/sda1 amd_iommu=off\n");
	expect_outcome(run(), KC_PREFLIGHT_FAILURE, 1, 0);
	expect("failure: iommu: off on the kernel command line "
	       "(amd_iommu=off); fix: remove amd_iommu=off and add iommu=pt "
	       "on the kernel command line");
}

/* An IOMMU in translated mode works, but costs the host: advice. */
static void test_iommu_without_pt(void **state)
{
	(void)state;
	put("proc/cmdline", "root=/dev/sda1 intel_iommu=on\n");
	expect_outcome(run(), KC_PREFLIGHT_WARNING, 0, 1);
	expect("warning: iommu: iommu=pt is not on the kernel command line, "
	       "so the host's own devices pay for IOMMU translation; fix: add "
	       "iommu=pt to the kernel command line");
}

/* The documented fallback without an IOMMU: uio_pci_generic, warned. */
static void test_uio_without_iommu(void **state)
{
	char path[PATH_MAX];

	(void)state;
	path_of(path, "sys/class/iommu/dmar0");
	assert_int_equal(rmdir(path), 0);
	put("proc/cmdline", "root=/dev/sda1\n");
	bind_driver(DEV, "uio_pci_generic");
	expect_outcome(run(), KC_PREFLIGHT_WARNING, 0, 2);
	expect("warning: iommu: off on the kernel command line (no "
	       "intel_iommu=on) (the pci ports are bound to uio, which runs "
	       "without one, unprotected); fix: add intel_iommu=on iommu=pt "
	       "to the kernel command line");
	expect("warning: pci " DEV " (port nic0): bound to uio_pci_generic, "
	       "which gives the NIC's DMA the whole memory; fix: deploy/kc-bind "
	       DEV " (vfio-pci, with an IOMMU)");
}

/* vfio without its IOMMU backend: the EAL would say "device not found". */
static void test_vfio_backend_missing(void **state)
{
	char path[PATH_MAX];

	(void)state;
	path_of(path, "sys/module/vfio_iommu_type1");
	assert_int_equal(rmdir(path), 0);
	expect_outcome(run(), KC_PREFLIGHT_FAILURE, 1, 0);
	expect("failure: vfio: vfio_iommu_type1 is not loaded, so the EAL "
	       "finds no IOMMU backend and cannot use the NICs on vfio-pci; "
	       "fix: modprobe vfio_iommu_type1");
}

/* Mellanox NICs stay on mlx5_core: no vfio-pci, no IOMMU asked for. */
static void test_bifurcated_mlx5(void **state)
{
	char path[PATH_MAX];

	(void)state;
	path_of(path, "sys/class/iommu/dmar0");
	assert_int_equal(rmdir(path), 0);
	put("proc/cmdline", "root=/dev/sda1\n");
	bind_driver(DEV, "mlx5_core");
	expect_outcome(run(), KC_PREFLIGHT_OK, 0, 0);
	expect("ok: iommu: not needed (the pci ports stay on their kernel "
	       "driver, mlx4/mlx5)");
	expect("ok: pci " DEV " (port nic0): on mlx5_core, which DPDK's "
	       "driver uses as it is (bifurcated: no vfio-pci)");
}

static void test_device_missing(void **state)
{
	(void)state;
	snprintf(cfg.ports[0].pci, sizeof(cfg.ports[0].pci), "0000:af:00.0");
	expect_outcome(run(), KC_PREFLIGHT_FAILURE, 1, 0);
	expect("failure: pci 0000:af:00.0 (port nic0): no such device "
	       "(/sys/bus/pci/devices/0000:af:00.0); fix: find the NIC's "
	       "address with lspci -D -d ::0200 and set the port's pci");
}

static void test_device_bound_to_other_driver(void **state)
{
	char path[PATH_MAX];

	(void)state;
	bind_driver(DEV, "ixgbe");
	expect_outcome(run(), KC_PREFLIGHT_FAILURE, 1, 0);
	expect("failure: pci " DEV " (port nic0): bound to ixgbe, not "
	       "vfio-pci; fix: deploy/kc-bind " DEV);
	path_of(path, "sys/bus/pci/devices/" DEV "/driver");
	assert_int_equal(unlink(path), 0);
	expect_outcome(run(), KC_PREFLIGHT_FAILURE, 1, 0);
	expect("failure: pci " DEV " (port nic0): bound to no driver, not "
	       "vfio-pci; fix: deploy/kc-bind " DEV);
}

static void test_group_not_viable(void **state)
{
	(void)state;
	bind_driver(PEER, "ixgbe");
	expect_outcome(run(), KC_PREFLIGHT_FAILURE, 1, 0);
	expect("failure: pci " DEV " (port nic0): IOMMU group 17 is not "
	       "viable: " PEER " in the same group is bound to ixgbe, and "
	       "vfio takes a whole group; fix: deploy/kc-bind " PEER);
	/* vfio-pci, pci-stub or no driver leave it viable. */
	bind_driver(PEER, "pci-stub");
	expect_outcome(run(), KC_PREFLIGHT_OK, 0, 0);
}

static void test_numa_mismatch_warns(void **state)
{
	(void)state;
	put("sys/bus/pci/devices/" DEV "/numa_node", "1\n");
	expect_outcome(run(), KC_PREFLIGHT_WARNING, 0, 1);
	expect("warning: pci " DEV " (port nic0): on NUMA node 1 (CPUs 2-3), "
	       "but lcore 1 that polls it may run on CPU 1 of another node, "
	       "and every packet crosses the socket interconnect; fix: give "
	       "lcore 1 a CPU of node 1 in eal.lcores, e.g. \"1@2\"");
	/* Mapped onto node 1, it is fine. */
	load(CONFIG("  lcores: \"0@0,1@3\"\n  hugepages: true\n"
		    "  in_memory: false\n  memory_mb: 256\n"));
	expect_outcome(run(), KC_PREFLIGHT_OK, 0, 0);
	/* numa_node -1: a one-socket host. */
	put("sys/bus/pci/devices/" DEV "/numa_node", "-1\n");
	expect_outcome(run(), KC_PREFLIGHT_OK, 0, 0);
	expect("ok: pci " DEV " (port nic0): no NUMA node reported (one-socket "
	       "host)");
}

static void test_lcore_cpu_missing(void **state)
{
	char path[PATH_MAX];

	(void)state;
	load(CONFIG("  lcores: \"0,1,5\"\n  hugepages: true\n"
		    "  in_memory: false\n  memory_mb: 256\n"));
	expect_outcome(run(), KC_PREFLIGHT_FAILURE, 1, 0);
	expect("failure: lcores: lcore 5 needs CPU 5, which this host does "
	       "not have online (online: 0-3); fix: give lcore 5 an online CPU "
	       "in eal.lcores, e.g. \"5@1\"");
	/* A floating group over CPUs one of which is missing. */
	load(CONFIG("  lcores: \"0@0,(1-2)@(2-4)\"\n  hugepages: true\n"
		    "  in_memory: false\n  memory_mb: 256\n"));
	expect_outcome(run(), KC_PREFLIGHT_FAILURE, 2, 1);
	expect("failure: lcores: lcore 1 needs CPU 4, which this host does "
	       "not have online (online: 0-3); fix: give lcore 1 an online CPU "
	       "in eal.lcores, e.g. \"1@1\"");
	/* Without an online list, the cpuN directories count. */
	load(CONFIG("  lcores: \"0-2\"\n  hugepages: true\n"
		    "  in_memory: false\n  memory_mb: 256\n"));
	del("sys/devices/system/cpu/online");
	mkdirs("sys/devices/system/cpu/cpu0");
	mkdirs("sys/devices/system/cpu/cpu1");
	expect_outcome(run(), KC_PREFLIGHT_FAILURE, 1, 0);
	expect("failure: lcores: lcore 2 needs CPU 2, which this host does "
	       "not have online (online: 0-1); fix: give lcore 2 an online CPU "
	       "in eal.lcores, e.g. \"2@1\"");
	/* No CPU information at all: a warning, not a refusal. */
	path_of(path, "sys/devices/system/cpu/cpu0");
	assert_int_equal(rmdir(path), 0);
	path_of(path, "sys/devices/system/cpu/cpu1");
	assert_int_equal(rmdir(path), 0);
	expect_outcome(run(), KC_PREFLIGHT_WARNING, 0, 1);
}

static void test_main_lcore_shares_cpu(void **state)
{
	(void)state;
	load(CONFIG("  lcores: \"0@0,1@0\"\n  hugepages: true\n"
		    "  in_memory: false\n  memory_mb: 256\n"));
	expect_outcome(run(), KC_PREFLIGHT_WARNING, 0, 1);
	expect("warning: lcores: the main lcore 0 and data-path lcore 1 may "
	       "both run on CPU 0, so the control plane takes time from the "
	       "data path; fix: give them separate CPUs in eal.lcores");
	/* What tap-pipeline.yaml does: two lcores floating over 0-1. */
	load(CONFIG("  lcores: \"0@0,1@1,(2-3)@(0-1)\"\n  hugepages: true\n"
		    "  in_memory: false\n  memory_mb: 512\n")
	     "pipeline:\n  rx_lcores: [1]\n  worker_lcores: [2, 3]\n"
	     "  ring_size: 1024\nmempool:\n  mbufs: 32767\n");
	expect_outcome(run(), KC_PREFLIGHT_WARNING, 0, 2);
	expect("warning: lcores: the main lcore 0 and data-path lcore 3 may "
	       "both run on CPU 0, so the control plane takes time from the "
	       "data path; fix: give them separate CPUs in eal.lcores");
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_healthy_host),
		T(test_software_ports_ask_nothing),
		T(test_no_hugepages),
		T(test_too_few_free_hugepages),
		T(test_hugepages_by_size),
		T(test_hugetlbfs_not_mounted),
		T(test_no_iommu),
		T(test_iommu_off_on_cmdline),
		T(test_iommu_without_pt),
		T(test_uio_without_iommu),
		T(test_bifurcated_mlx5),
		T(test_vfio_backend_missing),
		T(test_device_missing),
		T(test_device_bound_to_other_driver),
		T(test_group_not_viable),
		T(test_numa_mismatch_warns),
		T(test_lcore_cpu_missing),
		T(test_main_lcore_shares_cpu),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
