// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
//
// nvlb's XDP program for the af_xdp I/O backend (docs/afxdp.md): steers every received
// frame to the AF_XDP socket of the worker that owns its flow, so that no worker hands
// frames to another (`handoffs` = 0).
//
// The owner is nvlb's owner function (Sources/NVLBRuntime/Engines/Steering.swift):
//
//   key   = client IP | client port << 32 | protocol << 48          (host-order values)
//   h     = XXH64(key as 8 little-endian bytes, seed = 3 << 32 | hash_seed)
//   hash  = (u32)(h ^ h >> 32)                                          (FlowHasher.flowHash)
//   owner = ((u64)hash * workers) >> 32                                 (Steering.owner)
//
// The client is the side NAT leaves unchanged. Plain IPv4 comes from an Internet client
// (client = source). In NVGRE, a packet whose inner (VSID, destination) is a frontend
// address is a request (client = source), anything else a reply (client = destination):
// the `vips` map holds the frontend addresses of the running policy, which nvlb keeps up
// to date on reload. ICMP errors are steered by the packet they quote, as the data plane
// classifies them (docs/packets.md "ICMP and path MTU").
//
// Everything else (ARP, fragments, other protocols, malformed frames) goes to worker 0's
// socket: nothing is passed to the kernel's stack. The socket of (receive queue q,
// worker w) is `xsks[q * workers + w]`.

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define NVLB_MAX_SOCKETS 1024

/// Settings written by nvlb before it attaches the program (index 0).
struct nvlb_xdp_config {
    __u32 workers;   // 1 ... ; 0 means "not configured": everything to worker 0
    __u32 hash_seed; // balancer.hash_seed
};

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct nvlb_xdp_config);
} config SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_XSKMAP);
    __uint(max_entries, NVLB_MAX_SOCKETS);
    __type(key, __u32);
    __type(value, __u32);
} xsks SEC(".maps");

/// Frontend addresses: key VSID << 32 | VIP (VSID 0 for public VIPs), value 1.
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 65536);
    __type(key, __u64);
    __type(value, __u8);
} vips SEC(".maps");

/// Per-CPU counters: see `enum nvlb_xdp_counter`; entry NVLB_XDP_OWNER + w counts the
/// frames steered to worker w (w < NVLB_XDP_COUNTED_OWNERS; later owners count in the last).
#define NVLB_XDP_COUNTED_OWNERS 64
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 4 + NVLB_XDP_COUNTED_OWNERS);
    __type(key, __u32);
    __type(value, __u64);
} counters SEC(".maps");

enum nvlb_xdp_counter {
    NVLB_XDP_OWNER = 4,     // + w: a flow's frame, for its owner w
    NVLB_XDP_DEFAULT = 1,   // not a flow's frame (ARP, ...), sent to worker 0
    NVLB_XDP_NO_SOCKET = 2, // the owner had no socket on this queue: sent to worker 0
    NVLB_XDP_DROPPED = 3,   // no socket at all on this queue: dropped
};

#define PRIME1 0x9E3779B185EBCA87ULL
#define PRIME2 0xC2B2AE3D27D4EB4FULL
#define PRIME3 0x165667B19E3779F9ULL
#define PRIME4 0x85EBCA77C2B2AE63ULL
#define PRIME5 0x27D4EB2F165667C5ULL

static __always_inline __u64 rotl64(__u64 x, int r) { return (x << r) | (x >> (64 - r)); }

/// XXH64 of 8 bytes (the little-endian bytes of `word`): XXH64.hash(word:seed:).
static __always_inline __u64 xxh64_word(__u64 word, __u64 seed)
{
    __u64 h = seed + PRIME5 + 8;
    __u64 k = rotl64(word * PRIME2, 31) * PRIME1;
    h ^= k;
    h = rotl64(h, 27) * PRIME1 + PRIME4;
    h ^= h >> 33;
    h *= PRIME2;
    h ^= h >> 29;
    h *= PRIME3;
    h ^= h >> 32;
    return h;
}

/// FlowHasher.flowHash then Steering.owner.
static __always_inline __u32 owner_of(__u8 proto, __u32 client_ip, __u16 client_port, __u32 seed, __u32 workers)
{
    __u64 key = (__u64)client_ip | (__u64)client_port << 32 | (__u64)proto << 48;
    __u64 h = xxh64_word(key, (__u64)3 << 32 | seed);
    __u32 hash = (__u32)(h ^ (h >> 32));
    return (__u32)(((__u64)hash * workers) >> 32);
}

static __always_inline int is_vip(__u32 vsid, __u32 address)
{
    __u64 key = (__u64)vsid << 32 | address;
    return bpf_map_lookup_elem(&vips, &key) != 0;
}

static __always_inline void count(__u32 which)
{
    __u64 *value = bpf_map_lookup_elem(&counters, &which);
    if (value) *value += 1;
}

/// Where the flow of the IPv4 packet at `ip` is decided. Returns 1 and sets the client
/// (host order) when it is a TCP/UDP packet or an ICMP error quoting one; 0 otherwise.
/// `vsid` is 0 for plain IPv4 (an Internet client: always a request).
static __always_inline int client_of(
    struct iphdr *ip, void *data_end, __u32 vsid, __u8 *proto, __u32 *client_ip, __u16 *client_port)
{
    if ((void *)(ip + 1) > data_end) return 0;
    if (ip->version != 4 || ip->ihl < 5) return 0;
    // A non-first fragment has no ports (dropped by the data plane).
    if (ip->frag_off & bpf_htons(0x1FFF)) return 0;
    __u32 ihl = (__u32)ip->ihl * 4;
    __u8 *l4 = (__u8 *)ip + ihl;
    __u32 source = bpf_ntohl(ip->saddr);
    __u32 destination = bpf_ntohl(ip->daddr);
    if (ip->protocol == IPPROTO_TCP || ip->protocol == IPPROTO_UDP) {
        if ((void *)(l4 + 4) > data_end) return 0;
        __u16 sport = (__u16)l4[0] << 8 | l4[1];
        __u16 dport = (__u16)l4[2] << 8 | l4[3];
        *proto = ip->protocol;
        if (vsid == 0 || is_vip(vsid, destination)) {
            *client_ip = source;
            *client_port = sport;
        } else {
            *client_ip = destination;
            *client_port = dport;
        }
        return 1;
    }
    if (ip->protocol != IPPROTO_ICMP) return 0;
    // ICMP errors (destination unreachable, time exceeded, parameter problem) quote a
    // packet nvlb sent: to a client (VIP:P → client:c, when the error comes from the
    // client's side, i.e. toward a VIP or from the Internet) or to a DIP (client:c →
    // DIP:bp). Either way the client is the quoted side that is not the VIP.
    if ((void *)(l4 + 8) > data_end) return 0;
    __u8 type = l4[0];
    if (type != 3 && type != 11 && type != 12) return 0;
    struct iphdr *quoted = (struct iphdr *)(l4 + 8);
    if ((void *)(quoted + 1) > data_end) return 0;
    if (quoted->version != 4 || quoted->ihl < 5) return 0;
    if (quoted->protocol != IPPROTO_TCP && quoted->protocol != IPPROTO_UDP) return 0;
    __u8 *ports = (__u8 *)quoted + (__u32)quoted->ihl * 4;
    if ((void *)(ports + 4) > data_end) return 0;
    int client_side = vsid == 0 || is_vip(vsid, destination);
    *proto = quoted->protocol;
    if (client_side) {
        *client_ip = bpf_ntohl(quoted->daddr);
        *client_port = (__u16)ports[2] << 8 | ports[3];
    } else {
        *client_ip = bpf_ntohl(quoted->saddr);
        *client_port = (__u16)ports[0] << 8 | ports[1];
    }
    return 1;
}

SEC("xdp")
int nvlb_xdp(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    __u32 zero = 0;
    struct nvlb_xdp_config *settings = bpf_map_lookup_elem(&config, &zero);
    __u32 workers = settings ? settings->workers : 0;
    __u32 seed = settings ? settings->hash_seed : 0;
    __u32 owner = 0;
    int steered = 0;

    struct ethhdr *eth = data;
    if (workers > 1 && (void *)(eth + 1) <= data_end && eth->h_proto == bpf_htons(ETH_P_IP)) {
        struct iphdr *outer = (struct iphdr *)(eth + 1);
        __u8 proto = 0;
        __u32 client_ip = 0;
        __u16 client_port = 0;
        int found = 0;
        if ((void *)(outer + 1) <= data_end && outer->version == 4 && outer->ihl >= 5
            && outer->protocol == 47 /* GRE */) {
            // NVGRE: GRE with only the key bit, protocol 0x6558, then the inner frame.
            __u8 *gre = (__u8 *)outer + (__u32)outer->ihl * 4;
            if ((void *)(gre + 8) <= data_end && gre[0] == 0x20 && gre[1] == 0x00 && gre[2] == 0x65
                && gre[3] == 0x58 && !(outer->frag_off & bpf_htons(0x3FFF))) {
                __u32 vsid = (__u32)gre[4] << 16 | (__u32)gre[5] << 8 | gre[6];
                struct ethhdr *inner = (struct ethhdr *)(gre + 8);
                if ((void *)(inner + 1) <= data_end && inner->h_proto == bpf_htons(ETH_P_IP) && vsid != 0)
                    found = client_of((struct iphdr *)(inner + 1), data_end, vsid, &proto, &client_ip,
                                      &client_port);
            }
        } else {
            found = client_of(outer, data_end, 0, &proto, &client_ip, &client_port);
        }
        if (found) {
            owner = owner_of(proto, client_ip, client_port, seed, workers);
            if (owner >= workers) owner = 0;
            steered = 1;
        }
    }
    count(steered ? NVLB_XDP_OWNER + (owner < NVLB_XDP_COUNTED_OWNERS ? owner : NVLB_XDP_COUNTED_OWNERS - 1)
                  : NVLB_XDP_DEFAULT);

    __u32 base = ctx->rx_queue_index * (workers ? workers : 1);
    __u32 key = base + owner;
    if (!bpf_map_lookup_elem(&xsks, &key)) {
        if (owner != 0) count(NVLB_XDP_NO_SOCKET);
        key = base;
        if (!bpf_map_lookup_elem(&xsks, &key)) {
            count(NVLB_XDP_DROPPED);
            return XDP_DROP;
        }
    }
    return bpf_redirect_map(&xsks, key, XDP_DROP);
}

char _license[] SEC("license") = "Dual BSD/GPL";
