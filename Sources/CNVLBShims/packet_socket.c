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

unsigned int nvlb_interface_index(const char *name) {
    return if_nametoindex(name);
}

int nvlb_packet_socket_open(int ifindex) {
    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    struct sockaddr_ll address;
    memset(&address, 0, sizeof(address));
    address.sll_family = AF_PACKET;
    address.sll_protocol = 0;  // Send only: bound with protocol 0, nothing is received.
    address.sll_ifindex = ifindex;
    if (bind(fd, (struct sockaddr *)&address, sizeof(address)) != 0) {
        int error = errno;
        close(fd);
        return -error;
    }
    return fd;
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
