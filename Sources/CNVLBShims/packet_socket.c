// AF_PACKET sockets, PACKET_FANOUT, sendmmsg and setns: GNU-only or macro-heavy calls that
// Swift's Glibc module does not import. Each returns its result or -errno.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sched.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "CNVLBShims.h"

_Static_assert(sizeof(nvlb_mmsghdr) == sizeof(struct mmsghdr), "nvlb_mmsghdr layout");
_Static_assert(PACKET_FANOUT_HASH == NVLB_FANOUT_HASH, "fanout hash");
_Static_assert(PACKET_FANOUT_LB == NVLB_FANOUT_LB, "fanout lb");
_Static_assert(PACKET_FANOUT_CPU == NVLB_FANOUT_CPU, "fanout cpu");
_Static_assert(PACKET_FANOUT_ROLLOVER == NVLB_FANOUT_ROLLOVER, "fanout rollover");
_Static_assert(PACKET_FANOUT_RND == NVLB_FANOUT_RND, "fanout rnd");
_Static_assert(PACKET_FANOUT_QM == NVLB_FANOUT_QM, "fanout qm");
_Static_assert(PACKET_FANOUT_FLAG_ROLLOVER == NVLB_FANOUT_FLAG_ROLLOVER, "flag rollover");
_Static_assert(PACKET_FANOUT_FLAG_UNIQUEID == NVLB_FANOUT_FLAG_UNIQUEID, "flag uniqueid");
_Static_assert(PACKET_FANOUT_FLAG_DEFRAG == NVLB_FANOUT_FLAG_DEFRAG, "flag defrag");
_Static_assert(PACKET_OUTGOING == NVLB_PACKET_OUTGOING, "packet outgoing");

unsigned int nvlb_interface_index(const char *name) {
    return if_nametoindex(name);
}

/// A raw packet socket bound to `ifindex` for `protocol` (network order; 0 receives nothing).
static int packet_socket_open_bound(int ifindex, uint16_t protocol) {
    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    struct sockaddr_ll address;
    memset(&address, 0, sizeof(address));
    address.sll_family = AF_PACKET;
    address.sll_protocol = protocol;
    address.sll_ifindex = ifindex;
    if (bind(fd, (struct sockaddr *)&address, sizeof(address)) != 0) {
        int error = errno;
        close(fd);
        return -error;
    }
    return fd;
}

int nvlb_packet_socket_open(int ifindex) {
    return packet_socket_open_bound(ifindex, 0);  // Send only: nothing is received.
}

int nvlb_packet_socket_open_receiving(int ifindex) {
    return packet_socket_open_bound(ifindex, htons(ETH_P_ALL));
}

int nvlb_packet_socket_add_promiscuous(int fd, int ifindex) {
    struct packet_mreq membership;
    memset(&membership, 0, sizeof(membership));
    membership.mr_ifindex = ifindex;
    membership.mr_type = PACKET_MR_PROMISC;
    if (setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &membership, sizeof(membership)) != 0) return -errno;
    return 0;
}

int nvlb_packet_socket_ignore_outgoing(int fd) {
#ifdef PACKET_IGNORE_OUTGOING
    int one = 1;
    if (setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)) != 0) return -errno;
    return 0;
#else
    (void)fd;
    return -ENOPROTOOPT;
#endif
}

long nvlb_packet_receive(int fd, void *buffer, size_t capacity, int *packet_type) {
    struct sockaddr_ll address;
    socklen_t length = sizeof(address);
    memset(&address, 0, sizeof(address));
    ssize_t count = recvfrom(fd, buffer, capacity, MSG_DONTWAIT | MSG_TRUNC, (struct sockaddr *)&address, &length);
    if (count < 0) return -errno;
    *packet_type = address.sll_pkttype;
    return (long)count;
}

int nvlb_socket_set_receive_buffer(int fd, int bytes) {
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes)) != 0) return -errno;
    return 0;
}

int nvlb_packet_socket_set_qdisc_bypass(int fd, int enabled) {
    int value = enabled ? 1 : 0;
    if (setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &value, sizeof(value)) != 0) return -errno;
    return 0;
}

int nvlb_socket_set_send_buffer(int fd, int bytes, int force) {
    if (setsockopt(fd, SOL_SOCKET, force ? SO_SNDBUFFORCE : SO_SNDBUF, &bytes, sizeof(bytes)) != 0) return -errno;
    return 0;
}

int nvlb_packet_fanout_join(int fd, uint16_t group_id, uint16_t mode, uint16_t flags) {
    int value = (int)group_id | ((int)(mode | flags) << 16);
    if (setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &value, sizeof(value)) != 0) return -errno;
    return 0;
}

int nvlb_sendmmsg(int fd, nvlb_mmsghdr *vec, unsigned int vlen, int flags) {
    int sent = sendmmsg(fd, (struct mmsghdr *)vec, vlen, flags);
    return sent < 0 ? -errno : sent;
}

int nvlb_msg_dontwait(void) { return MSG_DONTWAIT; }

int nvlb_enter_network_namespace(int fd) {
    return setns(fd, CLONE_NEWNET) == 0 ? 0 : -errno;
}
