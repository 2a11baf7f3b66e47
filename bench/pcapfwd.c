// The naive forwarder of the live bench (bench/LIVE-BENCH.md): libpcap on IN
// (promiscuous, immediate, incoming only), one pcap_inject per frame on OUT, frames
// copied unchanged. Runs until SIGTERM; prints "forwarded N failed M".
//
//   pcapfwd IN OUT
#include <pcap/pcap.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>

static volatile sig_atomic_t stop_requested;
static pcap_t *capture;
// libpcap waits in poll again after EINTR on an idle link: pcap_breakloop ends the wait.
static void on_signal(int s) {
    (void)s;
    stop_requested = 1;
    if (capture) pcap_breakloop(capture);
}

struct context {
    pcap_t *out;
    uint64_t forwarded;
    uint64_t failed;
};

static void forward(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes) {
    struct context *c = (struct context *)user;
    if (pcap_inject(c->out, bytes, h->caplen) < 0) c->failed++;
    else c->forwarded++;
}

static pcap_t *open_link(const char *name, int capture) {
    char error[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_create(name, error);
    if (!p) { fprintf(stderr, "pcapfwd: %s: %s\n", name, error); return NULL; }
    pcap_set_snaplen(p, 2048);
    pcap_set_promisc(p, capture);
    pcap_set_immediate_mode(p, 1);
    pcap_set_buffer_size(p, 32 << 20);
    pcap_set_timeout(p, 1);
    if (pcap_activate(p) < 0) { fprintf(stderr, "pcapfwd: %s: %s\n", name, pcap_geterr(p)); return NULL; }
    if (capture) pcap_setdirection(p, PCAP_D_IN);
    return p;
}

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: pcapfwd IN OUT\n"); return 2; }
    struct sigaction action = {0};
    action.sa_handler = on_signal;   // no SA_RESTART: poll returns on the signal
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGINT, &action, NULL);
    pcap_t *in = open_link(argv[1], 1);
    pcap_t *out = open_link(argv[2], 0);
    if (!in || !out) return 1;
    capture = in;
    struct context c = {out, 0, 0};
    printf("ready\n");
    fflush(stdout);
    while (!stop_requested) {
        if (pcap_dispatch(in, 64, forward, (u_char *)&c) == PCAP_ERROR) break;
    }
    struct pcap_stat s = {0};
    pcap_stats(in, &s);
    printf("forwarded %llu failed %llu kernel_drops %u\n", (unsigned long long)c.forwarded,
           (unsigned long long)c.failed, s.ps_drop);
    return 0;
}
