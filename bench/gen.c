// Live-bench traffic generator (bench/LIVE-BENCH.md): minimum-size IPv4/UDP frames of
// FLOWS flows (CLIENTS client addresses x ports) to one destination address and port,
// sent on an AF_PACKET socket with one sendmmsg per batch, optionally paced to a rate.
//
//   gen IFACE DST_MAC DST_IP DST_PORT FLOWS SECONDS RATE_PPS BATCH
//
// RATE_PPS 0 sends as fast as the kernel takes frames. Prints "sent N seconds S" at the end.
// Built by bench/live-bench.sh with cc; needs CAP_NET_RAW.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FRAME 60
#define MAX_BATCH 1024

static volatile sig_atomic_t stop_requested;
static void on_signal(int s) { (void)s; stop_requested = 1; }

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static uint16_t checksum(const uint8_t *p, int n) {
    uint32_t s = 0;
    for (int i = 0; i + 1 < n; i += 2) s += (uint32_t)p[i] << 8 | p[i + 1];
    if (n & 1) s += (uint32_t)p[n - 1] << 8;
    while (s >> 16) s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

static int parse_mac(const char *text, uint8_t mac[6]) {
    unsigned m[6];
    if (sscanf(text, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 6) return -1;
    for (int i = 0; i < 6; i++) mac[i] = (uint8_t)m[i];
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 9) {
        fprintf(stderr, "usage: gen IFACE DST_MAC DST_IP DST_PORT FLOWS SECONDS RATE_PPS BATCH\n");
        return 2;
    }
    const char *iface = argv[1];
    uint8_t dst_mac[6];
    struct in_addr dst_ip;
    if (parse_mac(argv[2], dst_mac) != 0 || inet_pton(AF_INET, argv[3], &dst_ip) != 1) {
        fprintf(stderr, "gen: bad MAC or address\n");
        return 2;
    }
    int dport = atoi(argv[4]);
    int flows = atoi(argv[5]);
    double seconds = atof(argv[6]);
    double rate = atof(argv[7]);
    int batch = atoi(argv[8]);
    if (flows < 1 || seconds <= 0 || batch < 1 || batch > MAX_BATCH) {
        fprintf(stderr, "gen: bad flows, seconds or batch\n");
        return 2;
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);

    int fd = socket(AF_PACKET, SOCK_RAW, 0);
    if (fd < 0) { perror("gen: socket"); return 1; }
    struct sockaddr_ll addr = {0};
    addr.sll_family = AF_PACKET;
    addr.sll_ifindex = (int)if_nametoindex(iface);
    addr.sll_halen = 6;
    memcpy(addr.sll_addr, dst_mac, 6);
    if (addr.sll_ifindex == 0) { perror("gen: if_nametoindex"); return 1; }
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0) { perror("gen: bind"); return 1; }
    int sndbuf = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf);

    // One frame per flow: clients 198.18.0.0/15 (100 addresses) x ports 10000.., UDP, 18 bytes
    // of payload: 60-byte frames (the Ethernet minimum, before the 4-byte FCS).
    uint8_t *frames = calloc((size_t)flows, FRAME);
    int clients = flows < 100 ? flows : 100;
    for (int f = 0; f < flows; f++) {
        uint8_t *p = frames + (size_t)f * FRAME;
        memcpy(p, dst_mac, 6);
        const uint8_t src_mac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
        memcpy(p + 6, src_mac, 6);
        p[12] = 0x08; p[13] = 0x00;
        uint8_t *ip = p + 14;
        ip[0] = 0x45; ip[1] = 0;
        ip[2] = 0; ip[3] = 46;          // 20 + 8 + 18
        ip[4] = (uint8_t)(f >> 8); ip[5] = (uint8_t)f;
        ip[6] = 0x40; ip[7] = 0;        // DF
        ip[8] = 64; ip[9] = 17;
        uint32_t client = 0xC6120000u + 1 + (uint32_t)(f % clients);
        ip[12] = (uint8_t)(client >> 24); ip[13] = (uint8_t)(client >> 16);
        ip[14] = (uint8_t)(client >> 8); ip[15] = (uint8_t)client;
        memcpy(ip + 16, &dst_ip, 4);
        uint16_t c = checksum(ip, 20);
        ip[10] = (uint8_t)(c >> 8); ip[11] = (uint8_t)c;
        uint8_t *udp = ip + 20;
        uint16_t sport = (uint16_t)(10000 + f / clients);
        udp[0] = (uint8_t)(sport >> 8); udp[1] = (uint8_t)sport;
        udp[2] = (uint8_t)(dport >> 8); udp[3] = (uint8_t)dport;
        udp[4] = 0; udp[5] = 26;
        udp[6] = 0; udp[7] = 0;         // no UDP checksum (valid for IPv4)
        for (int i = 0; i < 18; i++) udp[8 + i] = (uint8_t)i;
    }

    struct mmsghdr *msgs = calloc(MAX_BATCH, sizeof *msgs);
    struct iovec *iov = calloc(MAX_BATCH, sizeof *iov);
    uint64_t start = now_ns();
    uint64_t end = start + (uint64_t)(seconds * 1e9);
    uint64_t sent = 0;
    size_t next = 0;
    double interval = rate > 0 ? 1e9 / rate : 0;
    while (!stop_requested) {
        uint64_t t = now_ns();
        if (t >= end) break;
        int n = batch;
        if (rate > 0) {
            // Pacing: no more than rate x elapsed frames so far; sleep off the lead.
            uint64_t allowed = (uint64_t)((double)(t - start) / interval) + 1;
            if (allowed <= sent) {
                uint64_t due = start + (uint64_t)((double)(sent + 1) * interval);
                if (due > t + 20000) {
                    struct timespec s = {0, (long)(due - t - 10000)};
                    nanosleep(&s, NULL);
                }
                continue;
            }
            if ((uint64_t)n > allowed - sent) n = (int)(allowed - sent);
        }
        for (int i = 0; i < n; i++) {
            iov[i].iov_base = frames + next * FRAME;
            iov[i].iov_len = FRAME;
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
            msgs[i].msg_hdr.msg_name = &addr;
            msgs[i].msg_hdr.msg_namelen = sizeof addr;
            if (++next == (size_t)flows) next = 0;
        }
        int r = sendmmsg(fd, msgs, (unsigned)n, 0);
        if (r < 0) {
            if (errno == ENOBUFS || errno == EAGAIN || errno == EINTR) continue;
            perror("gen: sendmmsg");
            return 1;
        }
        sent += (uint64_t)r;
        // Frames not taken are offered again (next rewinds).
        next = (next + (size_t)flows - (size_t)(n - r)) % (size_t)flows;
    }
    printf("sent %llu seconds %.3f\n", (unsigned long long)sent, (double)(now_ns() - start) / 1e9);
    return 0;
}
