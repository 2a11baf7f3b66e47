#ifndef NVLB_XDP_H
#define NVLB_XDP_H

// The af_xdp I/O backend's C side (docs/afxdp.md): loading and attaching nvlb's XDP
// program (libbpf), and AF_XDP sockets over one shared UMEM (libxdp). The ring helpers of
// <xdp/xsk.h> are static inline, so they are wrapped here in batch functions.

#include <stddef.h>
#include <stdint.h>

// MARK: XDP program

/// nvlb's XDP program attached to one interface, with its maps.
typedef struct nvlb_xdp_program nvlb_xdp_program;

/// How the program is attached.
enum {
    /// Native (driver) mode when the driver has it, else generic (skb) mode.
    NVLB_XDP_MODE_AUTO = 0,
    /// Native (driver) mode only.
    NVLB_XDP_MODE_DRIVER = 1,
    /// Generic (skb) mode.
    NVLB_XDP_MODE_SKB = 2,
};

/// Opens the object file at `path`, writes `workers` and `hash_seed` into its `config` map,
/// loads it and attaches it to `ifindex` in `mode`. A program named `nvlb_xdp` already
/// attached (left by a run that was killed) is replaced; any other program is not touched
/// and the call fails with -EEXIST. On failure writes a message into `message`.
/// Returns 0 or -errno.
int nvlb_xdp_program_attach(
    const char *path, int ifindex, uint32_t workers, uint32_t hash_seed, int mode, nvlb_xdp_program **out,
    char *message, size_t message_capacity);

/// The mode the program runs in: NVLB_XDP_MODE_DRIVER or NVLB_XDP_MODE_SKB.
int nvlb_xdp_program_mode(const nvlb_xdp_program *program);

/// The kernel's id of the loaded program.
uint32_t nvlb_xdp_program_id(const nvlb_xdp_program *program);

/// Puts the AF_XDP socket `fd` at `key` (queue × workers + worker) of the XSKMAP.
int nvlb_xdp_program_add_socket(nvlb_xdp_program *program, uint32_t key, int fd);

/// Adds and removes frontend keys (VSID << 32 | VIP) of the `vips` map. Returns 0 or the
/// first -errno (the other keys are still tried).
int nvlb_xdp_program_update_vips(
    nvlb_xdp_program *program, const uint64_t *add, size_t add_count, const uint64_t *remove, size_t remove_count);

/// Entries of the program's counters map: [1] frames of no flow (to worker 0), [2] owner
/// without a socket, [3] dropped (no socket at all), [4 + w] frames steered to worker w
/// (the last entry also counts higher workers).
#define NVLB_XDP_COUNTERS 68

/// The program's counters summed over CPUs, NVLB_XDP_COUNTERS entries.
int nvlb_xdp_program_counters(nvlb_xdp_program *program, uint64_t *out);

/// Loads the program as `nvlb_xdp_program_attach` does without attaching it (for
/// `nvlb_xdp_program_test_run`). Returns 0 or -errno.
int nvlb_xdp_program_load(
    const char *path, uint32_t workers, uint32_t hash_seed, nvlb_xdp_program **out, char *message,
    size_t message_capacity);

/// Runs the program once on the `length`-byte frame (BPF_PROG_TEST_RUN); writes its XDP
/// action. Returns 0 or -errno.
int nvlb_xdp_program_test_run(nvlb_xdp_program *program, const void *frame, uint32_t length, uint32_t *action);

/// Detaches the program when it is still the one attached, and frees everything.
void nvlb_xdp_program_detach(nvlb_xdp_program *program);

/// The id of the XDP program attached to `ifindex` (any mode), 0 when none, or -errno.
int64_t nvlb_xdp_attached_program_id(int ifindex);

// MARK: UMEM and sockets

/// One UMEM (frames of `frame_size` bytes) shared by every AF_XDP socket of the process,
/// with its free-frame pool and the fill and completion rings of each (interface, queue).
typedef struct nvlb_xsk_umem nvlb_xsk_umem;

/// One AF_XDP socket bound to (interface, queue), with its own receive and transmit rings.
typedef struct nvlb_xsk nvlb_xsk;

/// Creates the UMEM over `frame_count` frames of `frame_size` bytes (a page-aligned area
/// it allocates). `ring_size` sizes every fill, completion, receive and transmit ring.
int nvlb_xsk_umem_create(uint32_t frame_count, uint32_t frame_size, uint32_t ring_size, nvlb_xsk_umem **out);

/// The first byte of the UMEM area.
void *nvlb_xsk_umem_area(const nvlb_xsk_umem *umem);

/// Frees the UMEM; every socket must have been deleted.
void nvlb_xsk_umem_delete(nvlb_xsk_umem *umem);

/// Opens a socket on (`ifname`, `queue`) sharing `umem`; the sockets of one (interface,
/// queue) share its fill and completion rings. No XDP program is loaded for it (nvlb's is
/// attached separately). `copy` forces copy mode. Fills the queue's fill ring on first use.
/// Returns 0 or -errno.
int nvlb_xsk_create(nvlb_xsk_umem *umem, const char *ifname, uint32_t queue, int copy, nvlb_xsk **out);

/// The socket's descriptor (for the XSKMAP and poll).
int nvlb_xsk_fd(const nvlb_xsk *xsk);

/// Closes the socket.
void nvlb_xsk_delete(nvlb_xsk *xsk);

/// Takes up to `max` received frames: their UMEM addresses (data start) and lengths.
uint32_t nvlb_xsk_receive(nvlb_xsk *xsk, uint64_t *addresses, uint32_t *lengths, uint32_t max);

/// Queues `count` frames (UMEM address of the data start, length) on the transmit ring and
/// wakes the kernel; returns how many fit (the rest stay the caller's).
uint32_t nvlb_xsk_transmit(nvlb_xsk *xsk, const uint64_t *addresses, const uint32_t *lengths, uint32_t count);

/// The UMEM's shared bookkeeping, once per pass of a worker, under a lock: frames the
/// worker is done with (`give`) go back to the pool, every completion ring is drained into
/// it, every fill ring is topped up from it, and up to `want` free frames (their base
/// addresses) are handed to the worker in `take`. Returns how many were taken.
uint32_t nvlb_xsk_umem_service(
    nvlb_xsk_umem *umem, const uint64_t *give, uint32_t give_count, uint64_t *take, uint32_t want);

/// Kernel statistics of the socket (XDP_STATISTICS): frames dropped (no room in the UMEM
/// frame, e.g. too long), fill ring empty, receive ring full, invalid descriptors.
typedef struct {
    uint64_t rx_dropped;
    uint64_t rx_invalid_descs;
    uint64_t tx_invalid_descs;
    uint64_t rx_ring_full;
    uint64_t rx_fill_ring_empty_descs;
    uint64_t tx_ring_empty_descs;
} nvlb_xsk_statistics;

int nvlb_xsk_get_statistics(const nvlb_xsk *xsk, nvlb_xsk_statistics *out);

/// Whether the socket runs in zero-copy mode (XDP_OPTIONS), 0 for copy mode, or -errno.
int nvlb_xsk_zero_copy(const nvlb_xsk *xsk);

/// Number of receive queues of `ifname` (from /sys/class/net/IF/queues), at least 1.
uint32_t nvlb_interface_receive_queues(const char *ifname);

#endif
