// A packet socket that reports each frame's pending offloads (PACKET_VNET_HDR), its
// statistics (PACKET_STATISTICS), and the ethtool calls that turn receive coalescing off.
// Each returns its result or -errno.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/ethtool.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/sockios.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include "CNVLBShims.h"

_Static_assert(sizeof(nvlb_vnet_header) == sizeof(struct virtio_net_hdr), "nvlb_vnet_header layout");
_Static_assert(VIRTIO_NET_HDR_F_NEEDS_CSUM == NVLB_VNET_NEEDS_CSUM, "needs csum");
_Static_assert(VIRTIO_NET_HDR_GSO_TCPV4 == NVLB_VNET_GSO_TCPV4, "gso tcpv4");
_Static_assert(VIRTIO_NET_HDR_GSO_UDP == NVLB_VNET_GSO_UDP, "gso udp");
_Static_assert(VIRTIO_NET_HDR_GSO_TCPV6 == NVLB_VNET_GSO_TCPV6, "gso tcpv6");
_Static_assert(VIRTIO_NET_HDR_GSO_ECN == NVLB_VNET_GSO_ECN, "gso ecn");

int nvlb_packet_socket_open_vnet(int ifindex) {
    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    int one = 1;
    if (setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) != 0 ||
        setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof(one)) != 0) {
        int error = errno;
        close(fd);
        return -error;
    }
    struct sockaddr_ll address;
    memset(&address, 0, sizeof(address));
    address.sll_family = AF_PACKET;
    address.sll_protocol = htons(ETH_P_ALL);
    address.sll_ifindex = ifindex;
    if (bind(fd, (struct sockaddr *)&address, sizeof(address)) != 0) {
        int error = errno;
        close(fd);
        return -error;
    }
    return fd;
}

long nvlb_packet_receive_vnet(int fd, nvlb_vnet_header *header, void *frame, size_t capacity, void *overflow,
                              size_t overflow_capacity, int *packet_type, uint32_t *vlan) {
    struct iovec parts[3] = {
        {.iov_base = header, .iov_len = sizeof(*header)},
        {.iov_base = frame, .iov_len = capacity},
        {.iov_base = overflow, .iov_len = overflow_capacity},
    };
    struct sockaddr_ll address;
    memset(&address, 0, sizeof(address));
    struct msghdr message;
    memset(&message, 0, sizeof(message));
    message.msg_name = &address;
    message.msg_namelen = sizeof(address);
    message.msg_iov = parts;
    message.msg_iovlen = overflow ? 3 : 2;
    union {
        struct cmsghdr align;
        char bytes[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
    } control;
    message.msg_control = control.bytes;
    message.msg_controllen = sizeof(control.bytes);
    ssize_t count = recvmsg(fd, &message, MSG_DONTWAIT | MSG_TRUNC);
    if (count < 0) return -errno;
    *packet_type = address.sll_pkttype;
    *vlan = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&message); c; c = CMSG_NXTHDR(&message, c)) {
        if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA) continue;
        struct tpacket_auxdata aux;
        memcpy(&aux, CMSG_DATA(c), sizeof(aux));
        if (aux.tp_status & TP_STATUS_VLAN_VALID) {
            uint16_t tpid = (aux.tp_status & TP_STATUS_VLAN_TPID_VALID) ? aux.tp_vlan_tpid : ETH_P_8021Q;
            *vlan = ((uint32_t)tpid << 16) | aux.tp_vlan_tci;
        }
    }
    if ((size_t)count < sizeof(*header)) return 0;
    return (long)(count - (ssize_t)sizeof(*header));
}

int nvlb_packet_statistics(int fd, uint32_t *packets, uint32_t *drops) {
    struct tpacket_stats stats;
    socklen_t length = sizeof(stats);
    if (getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &stats, &length) != 0) return -errno;
    *packets = stats.tp_packets;
    *drops = stats.tp_drops;
    return 0;
}

/// One ETHTOOL_* get or set of an ethtool_value on `name`, through `fd`.
static int ethtool_value(int fd, const char *name, uint32_t command, uint32_t *data) {
    struct ethtool_value value = {.cmd = command, .data = *data};
    struct ifreq request;
    memset(&request, 0, sizeof(request));
    strncpy(request.ifr_name, name, IFNAMSIZ - 1);
    request.ifr_data = (void *)&value;
    if (ioctl(fd, SIOCETHTOOL, &request) != 0) return -errno;
    *data = value.data;
    return 0;
}

int nvlb_disable_receive_coalescing(const char *name, int *gro_changed, int *lro_changed) {
    *gro_changed = 0;
    *lro_changed = 0;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    int result = 0;
    uint32_t data = 0;
    if (ethtool_value(fd, name, ETHTOOL_GGRO, &data) == 0 && data != 0) {
        data = 0;
        result = ethtool_value(fd, name, ETHTOOL_SGRO, &data);
        if (result == 0) *gro_changed = 1;
    }
    uint32_t flags = 0;
    if (result == 0 && ethtool_value(fd, name, ETHTOOL_GFLAGS, &flags) == 0 && (flags & ETH_FLAG_LRO)) {
        flags &= ~(uint32_t)ETH_FLAG_LRO;
        result = ethtool_value(fd, name, ETHTOOL_SFLAGS, &flags);
        if (result == 0) *lro_changed = 1;
    }
    close(fd);
    return result;
}

long nvlb_packet_send_vnet(int fd, const void *frame, size_t length) {
    nvlb_vnet_header header;
    memset(&header, 0, sizeof(header));
    struct iovec parts[2] = {
        {.iov_base = &header, .iov_len = sizeof(header)},
        {.iov_base = (void *)frame, .iov_len = length},
    };
    struct msghdr message;
    memset(&message, 0, sizeof(message));
    message.msg_iov = parts;
    message.msg_iovlen = 2;
    ssize_t sent = sendmsg(fd, &message, 0);
    if (sent < 0) return -errno;
    return sent >= (ssize_t)sizeof(header) ? (long)(sent - (ssize_t)sizeof(header)) : 0;
}

int nvlb_socket_set_receive_buffer_force(int fd, int bytes) {
    // SO_RCVBUFFORCE (CAP_NET_ADMIN) goes past net.core.rmem_max; SO_RCVBUF otherwise.
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(bytes)) == 0) return 0;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes)) != 0) return -errno;
    return 0;
}

enum { NVLB_VNET_BATCH_MAX = 64 };

int nvlb_packet_receive_vnet_batch(int fd, nvlb_vnet_header *headers, void *const *frames, size_t room,
                                   void *const *overflows, size_t overflow_capacity, unsigned int count,
                                   long *lengths, int *packet_types, uint32_t *vlans) {
    if (count > NVLB_VNET_BATCH_MAX) count = NVLB_VNET_BATCH_MAX;
    if (count == 0) return 0;
    struct mmsghdr messages[NVLB_VNET_BATCH_MAX];
    struct iovec parts[NVLB_VNET_BATCH_MAX][3];
    struct sockaddr_ll addresses[NVLB_VNET_BATCH_MAX];
    union {
        struct cmsghdr align;
        char bytes[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
    } controls[NVLB_VNET_BATCH_MAX];
    memset(messages, 0, sizeof(struct mmsghdr) * count);
    for (unsigned int i = 0; i < count; i++) {
        parts[i][0].iov_base = &headers[i];
        parts[i][0].iov_len = sizeof(nvlb_vnet_header);
        parts[i][1].iov_base = frames[i];
        parts[i][1].iov_len = room;
        parts[i][2].iov_base = overflows[i];
        parts[i][2].iov_len = overflow_capacity;
        messages[i].msg_hdr.msg_name = &addresses[i];
        messages[i].msg_hdr.msg_namelen = sizeof(addresses[i]);
        messages[i].msg_hdr.msg_iov = parts[i];
        messages[i].msg_hdr.msg_iovlen = 3;
        messages[i].msg_hdr.msg_control = controls[i].bytes;
        messages[i].msg_hdr.msg_controllen = sizeof(controls[i].bytes);
    }
    int received = recvmmsg(fd, messages, count, MSG_DONTWAIT | MSG_TRUNC, NULL);
    if (received < 0) return -errno;
    for (int i = 0; i < received; i++) {
        struct msghdr *message = &messages[i].msg_hdr;
        size_t length = messages[i].msg_len;
        lengths[i] = length >= sizeof(nvlb_vnet_header) ? (long)(length - sizeof(nvlb_vnet_header)) : 0;
        packet_types[i] = addresses[i].sll_pkttype;
        vlans[i] = 0;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(message); c; c = CMSG_NXTHDR(message, c)) {
            if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA) continue;
            struct tpacket_auxdata aux;
            memcpy(&aux, CMSG_DATA(c), sizeof(aux));
            if (aux.tp_status & TP_STATUS_VLAN_VALID) {
                uint16_t tpid = (aux.tp_status & TP_STATUS_VLAN_TPID_VALID) ? aux.tp_vlan_tpid : ETH_P_8021Q;
                vlans[i] = ((uint32_t)tpid << 16) | aux.tp_vlan_tci;
            }
        }
    }
    return received;
}
