// The af_xdp backend's C side: see include/CNVLBXDP.h and docs/afxdp.md.
#define _GNU_SOURCE
#include "CNVLBXDP.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <xdp/xsk.h>

// MARK: XDP program

struct nvlb_xdp_program {
    struct bpf_object *object;
    int ifindex;
    int prog_fd;
    uint32_t prog_id;
    uint32_t flags; // XDP_FLAGS_DRV_MODE or XDP_FLAGS_SKB_MODE
    int xsks_fd;
    int vips_fd;
    int counters_fd;
};

static const char program_name[] = "nvlb_xdp";

static void say(char *message, size_t capacity, const char *format, ...)
{
    if (!message || capacity == 0) return;
    va_list list;
    va_start(list, format);
    vsnprintf(message, capacity, format, list);
    va_end(list);
}

static int silent_print(enum libbpf_print_level level, const char *format, va_list args)
{
    (void)level;
    (void)format;
    (void)args;
    return 0;
}

/// Removes a stale nvlb program from `ifindex`; -EEXIST when another program is attached.
static int remove_stale(int ifindex, char *message, size_t capacity)
{
    struct bpf_xdp_query_opts query = {.sz = sizeof(query)};
    int err = bpf_xdp_query(ifindex, 0, &query);
    if (err) {
        say(message, capacity, "bpf_xdp_query: %s", strerror(-err));
        return err;
    }
    if (query.attach_mode == XDP_ATTACHED_NONE) return 0;
    uint32_t id = query.prog_id;
    uint32_t flags = XDP_FLAGS_DRV_MODE;
    if (query.attach_mode == XDP_ATTACHED_SKB) flags = XDP_FLAGS_SKB_MODE;
    else if (query.attach_mode == XDP_ATTACHED_HW) flags = XDP_FLAGS_HW_MODE;
    else if (query.attach_mode == XDP_ATTACHED_MULTI) {
        id = query.drv_prog_id ? query.drv_prog_id : query.skb_prog_id;
        flags = query.drv_prog_id ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;
    }
    int fd = bpf_prog_get_fd_by_id(id);
    if (fd < 0) {
        say(message, capacity, "an XDP program (id %u) is attached and cannot be inspected: %s", id,
            strerror(errno));
        return -errno;
    }
    struct bpf_prog_info info;
    uint32_t length = sizeof(info);
    memset(&info, 0, sizeof(info));
    err = bpf_obj_get_info_by_fd(fd, &info, &length);
    close(fd);
    if (err) {
        say(message, capacity, "bpf_obj_get_info_by_fd: %s", strerror(errno));
        return -errno;
    }
    if (strncmp(info.name, program_name, sizeof(info.name)) != 0) {
        say(message, capacity, "another XDP program is attached (id %u, name '%s'); nvlb does not replace it", id,
            info.name);
        return -EEXIST;
    }
    err = bpf_xdp_detach(ifindex, flags, NULL);
    if (err) {
        say(message, capacity, "cannot detach the stale nvlb XDP program (id %u): %s", id, strerror(-err));
        return err;
    }
    return 1;
}

/// Opens, configures and loads the object. Returns the object or NULL (message written).
static struct bpf_object *load(const char *path, uint32_t workers, uint32_t hash_seed, int *error, char *message,
                               size_t capacity)
{
    libbpf_set_print(silent_print);
    struct bpf_object *object = bpf_object__open_file(path, NULL);
    long open_error = libbpf_get_error(object);
    if (open_error) {
        say(message, capacity, "cannot open %s: %s", path, strerror((int)-open_error));
        *error = (int)open_error;
        return NULL;
    }
    int err = bpf_object__load(object);
    if (err) {
        say(message, capacity, "cannot load %s: %s", path, strerror(-err));
        bpf_object__close(object);
        *error = err;
        return NULL;
    }
    int config_fd = bpf_object__find_map_fd_by_name(object, "config");
    if (!bpf_object__find_program_by_name(object, program_name) || config_fd < 0
        || bpf_object__find_map_fd_by_name(object, "xsks") < 0 || bpf_object__find_map_fd_by_name(object, "vips") < 0
        || bpf_object__find_map_fd_by_name(object, "counters") < 0) {
        say(message, capacity, "%s is not nvlb's XDP program (program or maps missing)", path);
        bpf_object__close(object);
        *error = -EINVAL;
        return NULL;
    }
    uint32_t zero = 0;
    uint32_t settings[2] = {workers, hash_seed};
    if (bpf_map_update_elem(config_fd, &zero, settings, BPF_ANY)) {
        *error = -errno;
        say(message, capacity, "cannot configure the XDP program: %s", strerror(errno));
        bpf_object__close(object);
        return NULL;
    }
    return object;
}

static nvlb_xdp_program *wrap(struct bpf_object *object, int ifindex, uint32_t flags)
{
    nvlb_xdp_program *result = calloc(1, sizeof(*result));
    if (!result) return NULL;
    struct bpf_program *program = bpf_object__find_program_by_name(object, program_name);
    result->object = object;
    result->ifindex = ifindex;
    result->prog_fd = bpf_program__fd(program);
    struct bpf_prog_info info;
    uint32_t length = sizeof(info);
    memset(&info, 0, sizeof(info));
    bpf_obj_get_info_by_fd(result->prog_fd, &info, &length);
    result->prog_id = info.id;
    result->flags = flags;
    result->xsks_fd = bpf_object__find_map_fd_by_name(object, "xsks");
    result->vips_fd = bpf_object__find_map_fd_by_name(object, "vips");
    result->counters_fd = bpf_object__find_map_fd_by_name(object, "counters");
    return result;
}

int nvlb_xdp_program_load(
    const char *path, uint32_t workers, uint32_t hash_seed, nvlb_xdp_program **out, char *message, size_t capacity)
{
    *out = NULL;
    int err = 0;
    struct bpf_object *object = load(path, workers, hash_seed, &err, message, capacity);
    if (!object) return err;
    *out = wrap(object, 0, 0);
    if (!*out) {
        bpf_object__close(object);
        return -ENOMEM;
    }
    return 0;
}

int nvlb_xdp_program_test_run(nvlb_xdp_program *program, const void *frame, uint32_t length, uint32_t *action)
{
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = length, .repeat = 1);
    int err = bpf_prog_test_run_opts(program->prog_fd, &opts);
    if (err) return -errno;
    *action = opts.retval;
    return 0;
}

int nvlb_xdp_program_attach(
    const char *path, int ifindex, uint32_t workers, uint32_t hash_seed, int mode, nvlb_xdp_program **out,
    char *message, size_t capacity)
{
    *out = NULL;
    int err = 0;
    struct bpf_object *object = load(path, workers, hash_seed, &err, message, capacity);
    if (!object) return err;
    err = remove_stale(ifindex, message, capacity);
    if (err < 0) {
        bpf_object__close(object);
        return err;
    }
    int prog_fd = bpf_program__fd(bpf_object__find_program_by_name(object, program_name));
    uint32_t flags = mode == NVLB_XDP_MODE_SKB ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
    err = bpf_xdp_attach(ifindex, prog_fd, flags | XDP_FLAGS_UPDATE_IF_NOEXIST, NULL);
    if (err && mode == NVLB_XDP_MODE_AUTO) {
        flags = XDP_FLAGS_SKB_MODE;
        err = bpf_xdp_attach(ifindex, prog_fd, flags | XDP_FLAGS_UPDATE_IF_NOEXIST, NULL);
    }
    if (err) {
        say(message, capacity, "cannot attach the XDP program (%s mode): %s",
            flags == XDP_FLAGS_SKB_MODE ? "skb" : "driver", strerror(-err));
        bpf_object__close(object);
        return err;
    }
    *out = wrap(object, ifindex, flags);
    if (!*out) {
        bpf_xdp_detach(ifindex, flags, NULL);
        bpf_object__close(object);
        return -ENOMEM;
    }
    return 0;
}

int nvlb_xdp_program_mode(const nvlb_xdp_program *program)
{
    return program->flags == XDP_FLAGS_SKB_MODE ? NVLB_XDP_MODE_SKB : NVLB_XDP_MODE_DRIVER;
}

uint32_t nvlb_xdp_program_id(const nvlb_xdp_program *program) { return program->prog_id; }

int nvlb_xdp_program_add_socket(nvlb_xdp_program *program, uint32_t key, int fd)
{
    return bpf_map_update_elem(program->xsks_fd, &key, &fd, BPF_ANY) ? -errno : 0;
}

int nvlb_xdp_program_update_vips(
    nvlb_xdp_program *program, const uint64_t *add, size_t add_count, const uint64_t *remove, size_t remove_count)
{
    int first = 0;
    uint8_t one = 1;
    for (size_t i = 0; i < remove_count; i++) {
        if (bpf_map_delete_elem(program->vips_fd, &remove[i]) && errno != ENOENT && !first) first = -errno;
    }
    for (size_t i = 0; i < add_count; i++) {
        if (bpf_map_update_elem(program->vips_fd, &add[i], &one, BPF_ANY) && !first) first = -errno;
    }
    return first;
}

int nvlb_xdp_program_counters(nvlb_xdp_program *program, uint64_t *out)
{
    int cpus = libbpf_num_possible_cpus();
    if (cpus <= 0) return cpus ? cpus : -EINVAL;
    uint64_t *values = calloc((size_t)cpus, sizeof(uint64_t));
    if (!values) return -ENOMEM;
    for (uint32_t key = 0; key < NVLB_XDP_COUNTERS; key++) {
        out[key] = 0;
        if (bpf_map_lookup_elem(program->counters_fd, &key, values)) continue;
        for (int c = 0; c < cpus; c++) out[key] += values[c];
    }
    free(values);
    return 0;
}

void nvlb_xdp_program_detach(nvlb_xdp_program *program)
{
    if (!program) return;
    uint32_t attached = 0;
    struct bpf_xdp_query_opts query = {.sz = sizeof(query)};
    if (bpf_xdp_query(program->ifindex, 0, &query) == 0) {
        attached = program->flags == XDP_FLAGS_SKB_MODE ? query.skb_prog_id : query.drv_prog_id;
        if (query.attach_mode != XDP_ATTACHED_MULTI && query.attach_mode != XDP_ATTACHED_NONE)
            attached = query.prog_id;
    }
    if (attached == program->prog_id) {
        struct bpf_xdp_attach_opts opts = {.sz = sizeof(opts), .old_prog_fd = program->prog_fd};
        bpf_xdp_detach(program->ifindex, program->flags | XDP_FLAGS_REPLACE, &opts);
    }
    bpf_object__close(program->object);
    free(program);
}

int64_t nvlb_xdp_attached_program_id(int ifindex)
{
    struct bpf_xdp_query_opts query = {.sz = sizeof(query)};
    int err = bpf_xdp_query(ifindex, 0, &query);
    if (err) return err;
    if (query.attach_mode == XDP_ATTACHED_NONE) return 0;
    if (query.attach_mode == XDP_ATTACHED_MULTI) return query.drv_prog_id ? query.drv_prog_id : query.skb_prog_id;
    return query.prog_id;
}

// MARK: UMEM and sockets

/// The fill and completion rings of one (interface, queue).
struct nvlb_xsk_queue {
    char ifname[IF_NAMESIZE];
    uint32_t queue;
    struct xsk_ring_prod fill;
    struct xsk_ring_cons comp;
    int ready; // rings set up by the first socket of the queue
    struct nvlb_xsk_queue *next;
};

struct nvlb_xsk_umem {
    struct xsk_umem *umem;
    void *area;
    size_t area_size;
    uint32_t frame_size;
    uint32_t ring_size;
    // The rings xsk_umem__create sets up; copied into the first queue's by libxdp.
    struct xsk_ring_prod first_fill;
    struct xsk_ring_cons first_comp;
    struct nvlb_xsk_queue *queues;
    // Free frames (base addresses), a stack, under `lock`.
    uint64_t *free;
    uint32_t free_count;
    uint32_t frame_count;
    int lock;
};

struct nvlb_xsk {
    struct xsk_socket *socket;
    struct xsk_ring_cons rx;
    struct xsk_ring_prod tx;
    struct nvlb_xsk_queue *queue;
    nvlb_xsk_umem *umem;
};

static void lock(int *flag)
{
    while (__atomic_exchange_n(flag, 1, __ATOMIC_ACQUIRE)) {
        while (__atomic_load_n(flag, __ATOMIC_RELAXED)) __builtin_ia32_pause();
    }
}

static void unlock(int *flag) { __atomic_store_n(flag, 0, __ATOMIC_RELEASE); }

int nvlb_xsk_umem_create(uint32_t frame_count, uint32_t frame_size, uint32_t ring_size, nvlb_xsk_umem **out)
{
    *out = NULL;
    nvlb_xsk_umem *u = calloc(1, sizeof(*u));
    if (!u) return -ENOMEM;
    u->area_size = (size_t)frame_count * frame_size;
    u->area = mmap(NULL, u->area_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (u->area == MAP_FAILED) {
        int err = -errno;
        free(u);
        return err;
    }
    u->free = calloc(frame_count, sizeof(uint64_t));
    if (!u->free) {
        munmap(u->area, u->area_size);
        free(u);
        return -ENOMEM;
    }
    for (uint32_t i = 0; i < frame_count; i++) u->free[i] = (uint64_t)(frame_count - 1 - i) * frame_size;
    u->free_count = frame_count;
    u->frame_count = frame_count;
    u->frame_size = frame_size;
    u->ring_size = ring_size;
    struct xsk_umem_config config = {
        .fill_size = ring_size,
        .comp_size = ring_size,
        .frame_size = frame_size,
        .frame_headroom = 0,
        .flags = 0,
    };
    int err = xsk_umem__create(&u->umem, u->area, u->area_size, &u->first_fill, &u->first_comp, &config);
    if (err) {
        free(u->free);
        munmap(u->area, u->area_size);
        free(u);
        return err;
    }
    *out = u;
    return 0;
}

void *nvlb_xsk_umem_area(const nvlb_xsk_umem *umem) { return umem->area; }

void nvlb_xsk_umem_delete(nvlb_xsk_umem *u)
{
    if (!u) return;
    xsk_umem__delete(u->umem);
    struct nvlb_xsk_queue *q = u->queues;
    while (q) {
        struct nvlb_xsk_queue *next = q->next;
        free(q);
        q = next;
    }
    free(u->free);
    munmap(u->area, u->area_size);
    free(u);
}

/// Tops up the fill ring of `q` from the pool. Caller holds the lock.
static void refill(nvlb_xsk_umem *u, struct nvlb_xsk_queue *q)
{
    uint32_t want = xsk_prod_nb_free(&q->fill, u->ring_size);
    if (want > u->free_count) want = u->free_count;
    if (want == 0) return;
    uint32_t index = 0;
    uint32_t got = xsk_ring_prod__reserve(&q->fill, want, &index);
    for (uint32_t i = 0; i < got; i++) *xsk_ring_prod__fill_addr(&q->fill, index + i) = u->free[--u->free_count];
    xsk_ring_prod__submit(&q->fill, got);
}

int nvlb_xsk_create(nvlb_xsk_umem *u, const char *ifname, uint32_t queue, int copy, nvlb_xsk **out)
{
    *out = NULL;
    lock(&u->lock);
    struct nvlb_xsk_queue *q = u->queues;
    while (q && (q->queue != queue || strncmp(q->ifname, ifname, IF_NAMESIZE) != 0)) q = q->next;
    int created = 0;
    if (!q) {
        q = calloc(1, sizeof(*q));
        if (!q) {
            unlock(&u->lock);
            return -ENOMEM;
        }
        snprintf(q->ifname, sizeof(q->ifname), "%s", ifname);
        q->queue = queue;
        created = 1;
    }
    nvlb_xsk *x = calloc(1, sizeof(*x));
    if (!x) {
        if (created) free(q);
        unlock(&u->lock);
        return -ENOMEM;
    }
    struct xsk_socket_config config = {
        .rx_size = u->ring_size,
        .tx_size = u->ring_size,
        .libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
        .xdp_flags = 0,
        .bind_flags = (uint16_t)(XDP_USE_NEED_WAKEUP | (copy ? XDP_COPY : 0)),
    };
    int err = xsk_socket__create_shared(&x->socket, ifname, queue, u->umem, &x->rx, &x->tx, &q->fill, &q->comp,
                                        &config);
    if (err) {
        free(x);
        if (created) free(q);
        unlock(&u->lock);
        return err;
    }
    x->queue = q;
    x->umem = u;
    if (created) {
        q->ready = 1;
        q->next = u->queues;
        u->queues = q;
        refill(u, q);
    }
    unlock(&u->lock);
    *out = x;
    return 0;
}

int nvlb_xsk_fd(const nvlb_xsk *x) { return xsk_socket__fd(x->socket); }

void nvlb_xsk_delete(nvlb_xsk *x)
{
    if (!x) return;
    xsk_socket__delete(x->socket);
    free(x);
}

uint32_t nvlb_xsk_receive(nvlb_xsk *x, uint64_t *addresses, uint32_t *lengths, uint32_t max)
{
    uint32_t index = 0;
    uint32_t n = xsk_ring_cons__peek(&x->rx, max, &index);
    for (uint32_t i = 0; i < n; i++) {
        const struct xdp_desc *d = xsk_ring_cons__rx_desc(&x->rx, index + i);
        addresses[i] = d->addr;
        lengths[i] = d->len;
    }
    if (n) xsk_ring_cons__release(&x->rx, n);
    return n;
}

uint32_t nvlb_xsk_transmit(nvlb_xsk *x, const uint64_t *addresses, const uint32_t *lengths, uint32_t count)
{
    if (count == 0) return 0;
    uint32_t index = 0;
    uint32_t n = xsk_ring_prod__reserve(&x->tx, count, &index);
    for (uint32_t i = 0; i < n; i++) {
        struct xdp_desc *d = xsk_ring_prod__tx_desc(&x->tx, index + i);
        d->addr = addresses[i];
        d->len = lengths[i];
        d->options = 0;
    }
    if (n) xsk_ring_prod__submit(&x->tx, n);
    // Copy mode sends in the system call, at most 32 frames per call: wake the kernel until
    // the ring is empty (bounded). Zero-copy drivers only need a wake-up when they ask.
    uint32_t size = x->umem->ring_size;
    for (int kicks = 0; kicks < 64 && xsk_ring_prod__needs_wakeup(&x->tx); kicks++) {
        if (sendto(xsk_socket__fd(x->socket), NULL, 0, MSG_DONTWAIT, NULL, 0) < 0 && errno != EAGAIN
            && errno != EBUSY && errno != ENOBUFS)
            break;
        if (xsk_prod_nb_free(&x->tx, size) >= size) break;
    }
    return n;
}

uint32_t nvlb_xsk_umem_service(
    nvlb_xsk_umem *u, const uint64_t *give, uint32_t give_count, uint64_t *take, uint32_t want)
{
    lock(&u->lock);
    uint64_t mask = ~(uint64_t)(u->frame_size - 1);
    for (uint32_t i = 0; i < give_count && u->free_count < u->frame_count; i++)
        u->free[u->free_count++] = give[i] & mask;
    for (struct nvlb_xsk_queue *q = u->queues; q; q = q->next) {
        uint32_t index = 0;
        uint32_t n = xsk_ring_cons__peek(&q->comp, u->ring_size, &index);
        for (uint32_t i = 0; i < n && u->free_count < u->frame_count; i++)
            u->free[u->free_count++] = *xsk_ring_cons__comp_addr(&q->comp, index + i) & mask;
        if (n) xsk_ring_cons__release(&q->comp, n);
    }
    uint32_t taken = 0;
    while (taken < want && u->free_count > 0) take[taken++] = u->free[--u->free_count];
    for (struct nvlb_xsk_queue *q = u->queues; q; q = q->next) refill(u, q);
    unlock(&u->lock);
    return taken;
}

int nvlb_xsk_get_statistics(const nvlb_xsk *x, nvlb_xsk_statistics *out)
{
    struct xdp_statistics s;
    socklen_t length = sizeof(s);
    memset(&s, 0, sizeof(s));
    if (getsockopt(xsk_socket__fd(x->socket), SOL_XDP, XDP_STATISTICS, &s, &length)) return -errno;
    out->rx_dropped = s.rx_dropped;
    out->rx_invalid_descs = s.rx_invalid_descs;
    out->tx_invalid_descs = s.tx_invalid_descs;
    out->rx_ring_full = s.rx_ring_full;
    out->rx_fill_ring_empty_descs = s.rx_fill_ring_empty_descs;
    out->tx_ring_empty_descs = s.tx_ring_empty_descs;
    return 0;
}

int nvlb_xsk_zero_copy(const nvlb_xsk *x)
{
    struct xdp_options options;
    socklen_t length = sizeof(options);
    if (getsockopt(xsk_socket__fd(x->socket), SOL_XDP, XDP_OPTIONS, &options, &length)) return -errno;
    return (options.flags & XDP_OPTIONS_ZEROCOPY) ? 1 : 0;
}

uint32_t nvlb_interface_receive_queues(const char *ifname)
{
    char path[128];
    snprintf(path, sizeof(path), "/sys/class/net/%s/queues", ifname);
    DIR *dir = opendir(path);
    if (!dir) return 1;
    uint32_t count = 0;
    struct dirent *entry;
    while ((entry = readdir(dir))) {
        if (strncmp(entry->d_name, "rx-", 3) == 0) count++;
    }
    closedir(dir);
    return count ? count : 1;
}
