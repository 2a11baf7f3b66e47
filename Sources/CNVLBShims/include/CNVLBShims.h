#ifndef NVLB_SHIMS_H
#define NVLB_SHIMS_H

#include <stdint.h>
#include <stddef.h>

/// Prefetch the cache line at `address` for reading (and later writing).
static inline void nvlb_prefetch(const void *address) {
    __builtin_prefetch(address, 1, 3);
}

/// Pin the calling thread to one CPU. Returns 0 or an errno value.
int nvlb_pin_current_thread(int cpu);

/// The CPU the calling thread runs on, or -1.
int nvlb_current_cpu(void);

/// CPU time consumed by the calling thread, in nanoseconds.
uint64_t nvlb_thread_cpu_nanoseconds(void);

/// Monotonic clock, in nanoseconds.
uint64_t nvlb_monotonic_nanoseconds(void);

/// Unblocks SIGHUP, SIGINT and SIGTERM for the calling thread (a parent may have
/// started the process with them blocked).
void nvlb_unblock_signals(void);

/// The CPUs the calling thread may run on (its `sched_getaffinity` mask), ascending.
/// Writes at most `capacity` CPU numbers into `cpus` and returns how many CPUs the mask
/// holds (which may exceed `capacity`: call again with a larger buffer), or -errno.
int nvlb_allowed_cpus(int32_t *cpus, int capacity);

/// Name the calling thread (`pthread_setname_np`); `name` is truncated to the 15 bytes
/// Linux allows. Returns 0 or an errno value.
int nvlb_set_current_thread_name(const char *name);

// MARK: Packet sockets (packet_socket.c): AF_PACKET, PACKET_FANOUT, sendmmsg, setns.
// Every function returns its result (>= 0) or a negated errno value: no errno to read.

#include <sys/socket.h>
#include <sys/uio.h>

/// Layout of glibc's `struct mmsghdr` (GNU-only, so invisible to Swift): one message of a
/// `sendmmsg` batch. `msg_len` receives the bytes sent.
typedef struct nvlb_mmsghdr {
    struct msghdr msg_hdr;
    unsigned int msg_len;
} nvlb_mmsghdr;

/// `if_nametoindex`: the interface index, or 0 when no such interface exists.
unsigned int nvlb_interface_index(const char *name);

/// A send-only `AF_PACKET`/`SOCK_RAW` socket bound to `ifindex` (protocol 0: the kernel
/// delivers no received frames to it). Returns the descriptor or -errno.
int nvlb_packet_socket_open(int ifindex);

/// An `AF_PACKET`/`SOCK_RAW` socket bound to `ifindex` for every EtherType (`ETH_P_ALL`):
/// it sends and receives whole frames. Created with protocol 0 and bound afterwards, so no
/// frame of another interface is queued in between. Returns the descriptor or -errno.
int nvlb_packet_socket_open_receiving(int ifindex);

/// `setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, PACKET_MR_PROMISC)` on `ifindex`: the
/// interface is promiscuous while the socket is open. 0 or -errno.
int nvlb_packet_socket_add_promiscuous(int fd, int ifindex);

/// `setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING)` (Linux >= 4.20): frames sent on the
/// interface are not looped back to this socket. 0 or -errno.
int nvlb_packet_socket_ignore_outgoing(int fd);

/// `sll_pkttype` of a frame the host itself sent (`PACKET_OUTGOING`).
enum { NVLB_PACKET_OUTGOING = 4 };

/// `recvfrom(fd, buffer, capacity, MSG_DONTWAIT | MSG_TRUNC, struct sockaddr_ll)`: one frame.
/// Returns its length on the wire (more than `capacity` when it was truncated) or -errno,
/// and stores its `sll_pkttype` in `*packet_type`.
long nvlb_packet_receive(int fd, void *buffer, size_t capacity, int *packet_type);

/// `setsockopt(SOL_PACKET, PACKET_QDISC_BYPASS)`: frames skip the qdisc layer. 0 or -errno.
int nvlb_packet_socket_set_qdisc_bypass(int fd, int enabled);

/// `setsockopt(SOL_SOCKET, SO_SNDBUF)` (or `SO_SNDBUFFORCE` when `force`). 0 or -errno.
int nvlb_socket_set_send_buffer(int fd, int bytes, int force);

/// `setsockopt(SOL_SOCKET, SO_RCVBUF)`. 0 or -errno.
int nvlb_socket_set_receive_buffer(int fd, int bytes);

/// Joins `fd` (an AF_PACKET socket, e.g. `pcap_fileno`) to fanout group `group_id` with
/// `mode` (NVLB_FANOUT_*) and `flags` (NVLB_FANOUT_FLAG_*). 0 or -errno.
int nvlb_packet_fanout_join(int fd, uint16_t group_id, uint16_t mode, uint16_t flags);

/// `PACKET_FANOUT_*` modes and flags (linux/if_packet.h).
enum {
    NVLB_FANOUT_HASH = 0,
    NVLB_FANOUT_LB = 1,
    NVLB_FANOUT_CPU = 2,
    NVLB_FANOUT_ROLLOVER = 3,
    NVLB_FANOUT_RND = 4,
    NVLB_FANOUT_QM = 5,
    NVLB_FANOUT_FLAG_ROLLOVER = 0x1000,
    NVLB_FANOUT_FLAG_UNIQUEID = 0x2000,
    NVLB_FANOUT_FLAG_DEFRAG = 0x8000,
};

/// `sendmmsg(fd, vec, vlen, flags)`: frames sent (a prefix of the batch) or -errno.
int nvlb_sendmmsg(int fd, nvlb_mmsghdr *vec, unsigned int vlen, int flags);

/// `MSG_DONTWAIT`.
int nvlb_msg_dontwait(void);

/// `setns(fd, CLONE_NEWNET)` for the calling thread only. 0 or -errno.
int nvlb_enter_network_namespace(int fd);

// MARK: Offload-aware receive (vnet_receive.c): PACKET_VNET_HDR, PACKET_STATISTICS, ethtool.

/// Layout of `struct virtio_net_hdr` (linux/virtio_net.h) in host byte order: what a
/// `PACKET_VNET_HDR` socket puts in front of each frame about its pending offloads.
typedef struct nvlb_vnet_header {
    uint8_t flags;
    uint8_t gso_type;
    uint16_t hdr_len;
    uint16_t gso_size;
    uint16_t csum_start;
    uint16_t csum_offset;
} nvlb_vnet_header;

/// `VIRTIO_NET_HDR_*` flags and GSO types. UDP_L4 is UDP segmentation offload (USO).
enum {
    NVLB_VNET_NEEDS_CSUM = 1,
    NVLB_VNET_GSO_NONE = 0,
    NVLB_VNET_GSO_TCPV4 = 1,
    NVLB_VNET_GSO_UDP = 3,
    NVLB_VNET_GSO_TCPV6 = 4,
    NVLB_VNET_GSO_UDP_L4 = 5,
    NVLB_VNET_GSO_ECN = 0x80,
};

/// An `AF_PACKET`/`SOCK_RAW` socket with `PACKET_VNET_HDR` and `PACKET_AUXDATA` bound to
/// `ifindex` for every EtherType: each frame received comes with its `virtio_net_hdr` and
/// the VLAN tag the interface took off. The descriptor or -errno.
int nvlb_packet_socket_open_vnet(int ifindex);

/// `recvmsg(MSG_DONTWAIT | MSG_TRUNC)` of one frame of a `PACKET_VNET_HDR` socket: the
/// header into `*header`, the frame's first `capacity` bytes into `frame`, the next
/// `overflow_capacity` bytes into `overflow` (may be NULL). Returns the frame's length on
/// the wire (more than both capacities when truncated) or -errno; stores `sll_pkttype`, and
/// in `*vlan` the tag the interface removed from the frame (TPID << 16 | TCI) or 0.
long nvlb_packet_receive_vnet(int fd, nvlb_vnet_header *header, void *frame, size_t capacity, void *overflow,
                              size_t overflow_capacity, int *packet_type, uint32_t *vlan);

/// ``nvlb_packet_receive_vnet`` for up to 64 frames with one `recvmmsg`: frame `i` into
/// `headers[i]`, `frames[i]` (`room` bytes) and `overflows[i]` (`overflow_capacity` bytes);
/// its length in `lengths[i]`, packet type and VLAN tag likewise. Frames received, or -errno.
int nvlb_packet_receive_vnet_batch(int fd, nvlb_vnet_header *headers, void *const *frames, size_t room,
                                   void *const *overflows, size_t overflow_capacity, unsigned int count,
                                   long *lengths, int *packet_types, uint32_t *vlans);

/// Sends one whole frame on a `PACKET_VNET_HDR` socket, behind an all-zero header (no
/// offload asked). Bytes of the frame sent, or -errno.
long nvlb_packet_send_vnet(int fd, const void *frame, size_t length);

/// `setsockopt(SOL_SOCKET, SO_RCVBUFFORCE)`, or `SO_RCVBUF` (capped by
/// `net.core.rmem_max`) without `CAP_NET_ADMIN`. 0 or -errno.
int nvlb_socket_set_receive_buffer_force(int fd, int bytes);

/// `getsockopt(SOL_PACKET, PACKET_STATISTICS)`: frames queued and frames dropped since the
/// last call (the kernel resets them on read). 0 or -errno.
int nvlb_packet_statistics(int fd, uint32_t *packets, uint32_t *drops);

/// Turns generic receive offload and large receive offload off on interface `name`
/// (`SIOCETHTOOL` `ETHTOOL_SGRO`, `ETHTOOL_SFLAGS` without `ETH_FLAG_LRO`), each only when
/// it was on; sets `*gro_changed` / `*lro_changed` to 1 for what it turned off. 0 or -errno.
int nvlb_disable_receive_coalescing(const char *name, int *gro_changed, int *lro_changed);

#endif
