/* AF_XDP sockets for the dataplane: UMEM, fill/completion/rx/tx rings (libxdp's xsk API) and the
 * XDP program that redirects to them, behind a small ABI of plain types for Rust.
 *
 * libxdp's ring helpers (xsk_ring_prod__reserve, xsk_ring_cons__peek, ...) are inline functions
 * in <xdp/xsk.h>; they are used here, in C, and Rust calls one function per burst.
 *
 * The XDP program: libxdp's default AF_XDP program (xsk_def_xdp_prog.o, found by libxdp in its
 * object directory or $LIBXDP_OBJECT_PATH) or the user's file, loaded with libbpf and attached
 * alone with bpf_xdp_attach (native mode, else generic/skb mode). libxdp's own loader would try
 * its multi-program dispatcher first, which needs bpffs and freplace support this kernel refuses,
 * so sockets are created with XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD and registered in the
 * program's `xsks_map` with xsk_socket__update_xskmap.
 *
 * Frames: each queue has its own UMEM of 2 * RING frames of 2048 bytes. The first half circulates
 * between the fill ring, the kernel and the rx ring; the second half is a free stack for
 * transmission, refilled from the completion ring. Received frames are handed to the caller as
 * (pointer, length) views and given back to the fill ring by dp_xsk_rx_release.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <linux/sockios.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>
#include <xdp/xsk.h>

#include "xsk_shim.h"

#define FRAME_SIZE 2048u
#define MAX_QUEUES 64
#define DEFAULT_PROG "xsk_def_xdp_prog.o"

struct dp_xsk_queue {
    struct xsk_umem *umem;
    struct xsk_socket *xsk;
    void *area;
    size_t area_len;
    /* Descriptors of the fill/rx rings and of the tx/completion rings. */
    uint32_t rx_ring;
    uint32_t tx_ring;
    struct xsk_ring_prod fill;
    struct xsk_ring_cons comp;
    struct xsk_ring_cons rx;
    struct xsk_ring_prod tx;
    /* Frames of the rx ring handed out by the last peek, to refill. */
    uint64_t *peeked;
    uint32_t n_peeked;
    /* Free transmit frames. */
    uint64_t *tx_free;
    uint32_t n_tx_free;
    int fd;
};

struct dp_xsk {
    int ifindex;
    char ifname[IF_NAMESIZE];
    struct xdp_program *prog;
    int prog_fd;
    uint32_t attach_flags;
    int zero_copy;
    uint32_t n_queues;
    struct dp_xsk_queue q[MAX_QUEUES];
};

static void set_err(char *err, size_t len, const char *fmt, ...)
{
    if (err == NULL || len == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
}

/* libbpf and libxdp print debug chatter and expected probe failures; keep only warnings that
 * are not about the dispatcher we deliberately do not use. */
static int quiet_libbpf(enum libbpf_print_level level, const char *fmt, va_list args)
{
    if (level != LIBBPF_WARN || getenv("DATAPLANE_XDP_DEBUG") == NULL)
        return 0;
    return vfprintf(stderr, fmt, args);
}

static int quiet_libxdp(enum libxdp_print_level level, const char *fmt, va_list args)
{
    if (level != LIBXDP_WARN || getenv("DATAPLANE_XDP_DEBUG") == NULL)
        return 0;
    return vfprintf(stderr, fmt, args);
}

int dp_xsk_driver_name(const char *ifname, char *out, size_t len)
{
    struct ethtool_drvinfo info = {.cmd = ETHTOOL_GDRVINFO};
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", ifname);
    ifr.ifr_data = (void *)&info;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int rc = ioctl(fd, SIOCETHTOOL, &ifr);
    int e = errno;
    close(fd);
    if (rc < 0)
        return -e;
    snprintf(out, len, "%s", info.driver);
    return 0;
}

static void queue_close(struct dp_xsk_queue *q)
{
    if (q->xsk)
        xsk_socket__delete(q->xsk);
    if (q->umem)
        xsk_umem__delete(q->umem);
    if (q->area)
        munmap(q->area, q->area_len);
    free(q->peeked);
    free(q->tx_free);
    memset(q, 0, sizeof *q);
}

static int queue_open(struct dp_xsk *x, uint32_t qid, uint32_t ring, uint32_t tx_ring,
                      uint16_t bind_flags, char *err, size_t errlen)
{
    struct dp_xsk_queue *q = &x->q[qid];
    q->rx_ring = ring;
    q->tx_ring = tx_ring;
    q->area_len = (size_t)(ring + tx_ring) * FRAME_SIZE;
    q->area = mmap(NULL, q->area_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (q->area == MAP_FAILED) {
        q->area = NULL;
        set_err(err, errlen, "cannot map %zu bytes of UMEM: %s", q->area_len, strerror(errno));
        return -ENOMEM;
    }
    q->peeked = calloc(ring, sizeof(uint64_t));
    q->tx_free = calloc(tx_ring, sizeof(uint64_t));
    if (!q->peeked || !q->tx_free) {
        set_err(err, errlen, "out of memory");
        return -ENOMEM;
    }
    struct xsk_umem_config ucfg = {
        .fill_size = ring,
        .comp_size = tx_ring,
        .frame_size = FRAME_SIZE,
        .frame_headroom = 0,
        .flags = 0,
    };
    int rc = xsk_umem__create(&q->umem, q->area, q->area_len, &q->fill, &q->comp, &ucfg);
    if (rc) {
        q->umem = NULL;
        set_err(err, errlen, "cannot register the UMEM: %s", strerror(-rc));
        return rc;
    }
    struct xsk_socket_config scfg = {
        .rx_size = ring,
        .tx_size = tx_ring,
        .libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
        .xdp_flags = x->attach_flags,
        .bind_flags = bind_flags,
    };
    rc = xsk_socket__create(&q->xsk, x->ifname, qid, q->umem, &q->rx, &q->tx, &scfg);
    if (rc) {
        q->xsk = NULL;
        if (bind_flags & XDP_ZEROCOPY) {
            /* Drivers without XSK zero-copy refuse the bind (EOPNOTSUPP, or EBUSY/EINVAL from
             * their ndo_bpf, depending on the kernel). */
            char drv[64] = "unknown";
            dp_xsk_driver_name(x->ifname, drv, sizeof drv);
            set_err(err, errlen,
                    "`%s` (driver %s) has no AF_XDP zero-copy support (bind: %s); "
                    "use no-zero-copy",
                    x->ifname, drv, strerror(-rc));
        } else {
            set_err(err, errlen, "cannot create an AF_XDP socket on `%s` queue %u: %s",
                    x->ifname, qid, strerror(-rc));
        }
        return rc;
    }
    q->fd = xsk_socket__fd(q->xsk);
    /* `ring` frames to the fill ring (all of it), `tx_ring` to the transmit stack. */
    uint32_t idx = 0;
    if (xsk_ring_prod__reserve(&q->fill, ring, &idx) != ring) {
        set_err(err, errlen, "cannot fill the fill ring");
        return -ENOSPC;
    }
    for (uint32_t i = 0; i < ring; i++)
        *xsk_ring_prod__fill_addr(&q->fill, idx + i) = (uint64_t)i * FRAME_SIZE;
    xsk_ring_prod__submit(&q->fill, ring);
    for (uint32_t i = 0; i < tx_ring; i++)
        q->tx_free[i] = (uint64_t)(ring + i) * FRAME_SIZE;
    q->n_tx_free = tx_ring;
    return 0;
}

static int attach_program(struct dp_xsk *x, const char *prog_path, int force_skb, char *err,
                          size_t errlen)
{
    struct xdp_program *p;
    if (prog_path && *prog_path)
        p = xdp_program__open_file(prog_path, NULL, NULL);
    else
        p = xdp_program__find_file(DEFAULT_PROG, NULL, NULL);
    long perr = libxdp_get_error(p);
    if (perr || p == NULL) {
        set_err(err, errlen, "cannot open XDP program `%s`: %s",
                prog_path && *prog_path ? prog_path : DEFAULT_PROG, strerror((int)-perr));
        return perr ? (int)perr : -ENOENT;
    }
    x->prog = p;
    struct bpf_object *obj = xdp_program__bpf_obj(p);
    int rc = bpf_object__load(obj);
    if (rc) {
        set_err(err, errlen, "cannot load XDP program `%s`: %s", xdp_program__name(p),
                strerror(-rc));
        return rc;
    }
    struct bpf_map *map = bpf_object__find_map_by_name(obj, "xsks_map");
    if (map == NULL) {
        set_err(err, errlen, "XDP program `%s` has no `xsks_map` (an XSKMAP) to redirect with",
                xdp_program__name(p));
        return -ENOENT;
    }
    /* The program was loaded through its bpf_object, so take its descriptor from there
     * (xdp_program__fd only knows programs libxdp loaded itself). */
    struct bpf_program *bp = bpf_object__find_program_by_name(obj, xdp_program__name(p));
    x->prog_fd = bp ? bpf_program__fd(bp) : -1;
    if (x->prog_fd < 0) {
        set_err(err, errlen, "XDP program `%s` has no loaded program descriptor",
                xdp_program__name(p));
        return -ENOENT;
    }
    /* Native mode where the driver has it, else generic (skb) mode. Never replace a program
     * someone else attached. */
    uint32_t modes[2] = {XDP_FLAGS_DRV_MODE, XDP_FLAGS_SKB_MODE};
    rc = -EOPNOTSUPP;
    for (int i = force_skb ? 1 : 0; i < 2; i++) {
        uint32_t flags = modes[i] | XDP_FLAGS_UPDATE_IF_NOEXIST;
        rc = bpf_xdp_attach(x->ifindex, x->prog_fd, flags, NULL);
        if (rc == 0) {
            x->attach_flags = modes[i];
            break;
        }
        if (rc == -EBUSY || rc == -EEXIST)
            break;
    }
    if (rc) {
        if (rc == -EBUSY || rc == -EEXIST)
            set_err(err, errlen, "`%s` already has an XDP program; remove it first "
                                 "(xdp-loader unload -a %s)", x->ifname, x->ifname);
        else
            set_err(err, errlen, "cannot attach XDP program to `%s`: %s", x->ifname,
                    strerror(-rc));
        return rc;
    }
    return bpf_map__fd(map);
}

static void detach_program(struct dp_xsk *x)
{
    if (x->attach_flags) {
        LIBBPF_OPTS(bpf_xdp_attach_opts, opts, .old_prog_fd = x->prog_fd);
        /* Only if it is still ours. */
        bpf_xdp_detach(x->ifindex, x->attach_flags | XDP_FLAGS_REPLACE, &opts);
        x->attach_flags = 0;
    }
    if (x->prog) {
        xdp_program__close(x->prog);
        x->prog = NULL;
    }
}

void dp_xsk_close(struct dp_xsk *x)
{
    if (x == NULL)
        return;
    detach_program(x);
    for (uint32_t i = 0; i < MAX_QUEUES; i++)
        queue_close(&x->q[i]);
    free(x);
}

int dp_xsk_open(const struct dp_xsk_opts *o, struct dp_xsk **out, char *err, size_t errlen)
{
    *out = NULL;
    libbpf_set_print(quiet_libbpf);
    libxdp_set_print(quiet_libxdp);
    if (o->n_queues == 0 || o->n_queues > MAX_QUEUES) {
        set_err(err, errlen, "num-rx-queues %u out of range 1..%d", o->n_queues, MAX_QUEUES);
        return -EINVAL;
    }
    uint32_t ring = o->ring_size ? o->ring_size : 2048;
    uint32_t tx_ring = o->tx_ring_size ? o->tx_ring_size : ring;
    if (ring & (ring - 1) || tx_ring & (tx_ring - 1)) {
        set_err(err, errlen, "ring sizes %u and %u must be powers of two", ring, tx_ring);
        return -EINVAL;
    }
    struct dp_xsk *x = calloc(1, sizeof *x);
    if (x == NULL) {
        set_err(err, errlen, "out of memory");
        return -ENOMEM;
    }
    snprintf(x->ifname, sizeof x->ifname, "%s", o->ifname);
    x->ifindex = (int)if_nametoindex(o->ifname);
    if (x->ifindex == 0) {
        set_err(err, errlen, "host interface `%s` does not exist", o->ifname);
        free(x);
        return -ENODEV;
    }
    /* UMEM pages are locked; without CAP_IPC_LOCK the memlock limit must allow them. */
    struct rlimit r = {RLIM_INFINITY, RLIM_INFINITY};
    setrlimit(RLIMIT_MEMLOCK, &r);

    int map_fd = attach_program(x, o->prog_path, o->mode == DP_XSK_MODE_SKB_COPY, err, errlen);
    if (map_fd < 0) {
        dp_xsk_close(x);
        return map_fd;
    }
    uint16_t bind_flags = XDP_USE_NEED_WAKEUP;
    if (o->mode == DP_XSK_MODE_COPY || o->mode == DP_XSK_MODE_SKB_COPY ||
        x->attach_flags == XDP_FLAGS_SKB_MODE)
        bind_flags |= XDP_COPY;
    else if (o->mode == DP_XSK_MODE_ZERO_COPY)
        bind_flags |= XDP_ZEROCOPY;
    if (o->mode == DP_XSK_MODE_ZERO_COPY && x->attach_flags == XDP_FLAGS_SKB_MODE) {
        char drv[64] = "unknown";
        dp_xsk_driver_name(x->ifname, drv, sizeof drv);
        set_err(err, errlen,
                "`%s` (driver %s) has no native XDP, so no AF_XDP zero-copy; use no-zero-copy",
                x->ifname, drv);
        dp_xsk_close(x);
        return -EOPNOTSUPP;
    }
    for (uint32_t i = 0; i < o->n_queues; i++) {
        int rc = queue_open(x, i, ring, tx_ring, bind_flags, err, errlen);
        if (rc == 0) {
            rc = xsk_socket__update_xskmap(x->q[i].xsk, map_fd);
            if (rc)
                set_err(err, errlen, "cannot register the socket of queue %u in xsks_map: %s", i,
                        strerror(-rc));
        }
        if (rc) {
            dp_xsk_close(x);
            return rc;
        }
        x->n_queues = i + 1;
    }
    struct xdp_options opts;
    socklen_t optlen = sizeof opts;
    if (getsockopt(x->q[0].fd, SOL_XDP, XDP_OPTIONS, &opts, &optlen) == 0)
        x->zero_copy = (opts.flags & XDP_OPTIONS_ZEROCOPY) != 0;
    *out = x;
    return 0;
}

int dp_xsk_fd(const struct dp_xsk *x, uint32_t queue)
{
    return queue < x->n_queues ? x->q[queue].fd : -1;
}

uint32_t dp_xsk_n_queues(const struct dp_xsk *x)
{
    return x->n_queues;
}

int dp_xsk_is_zero_copy(const struct dp_xsk *x)
{
    return x->zero_copy;
}

int dp_xsk_is_native(const struct dp_xsk *x)
{
    return x->attach_flags == XDP_FLAGS_DRV_MODE;
}

uint32_t dp_xsk_rx_peek(struct dp_xsk *x, uint32_t queue, const void **data, uint32_t *len,
                        uint32_t max)
{
    struct dp_xsk_queue *q = &x->q[queue];
    if (q->n_peeked) /* the previous burst was not released: keep the rings consistent */
        dp_xsk_rx_release(x, queue);
    uint32_t idx = 0;
    uint32_t n = xsk_ring_cons__peek(&q->rx, max, &idx);
    if (n == 0) {
        if (xsk_ring_prod__needs_wakeup(&q->fill))
            recvfrom(q->fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
        return 0;
    }
    for (uint32_t i = 0; i < n; i++) {
        const struct xdp_desc *d = xsk_ring_cons__rx_desc(&q->rx, idx + i);
        uint64_t addr = xsk_umem__add_offset_to_addr(d->addr);
        data[i] = xsk_umem__get_data(q->area, addr);
        len[i] = d->len;
        q->peeked[i] = xsk_umem__extract_addr(d->addr) & ~(uint64_t)(FRAME_SIZE - 1);
    }
    q->n_peeked = n;
    return n;
}

void dp_xsk_rx_release(struct dp_xsk *x, uint32_t queue)
{
    struct dp_xsk_queue *q = &x->q[queue];
    uint32_t n = q->n_peeked;
    if (n == 0)
        return;
    xsk_ring_cons__release(&q->rx, n);
    /* The fill ring has room for every rx frame, so this never fails. */
    uint32_t idx = 0;
    if (xsk_ring_prod__reserve(&q->fill, n, &idx) == n) {
        for (uint32_t i = 0; i < n; i++)
            *xsk_ring_prod__fill_addr(&q->fill, idx + i) = q->peeked[i];
        xsk_ring_prod__submit(&q->fill, n);
    }
    q->n_peeked = 0;
}

static void reclaim_completions(struct dp_xsk_queue *q)
{
    uint32_t idx = 0;
    uint32_t n = xsk_ring_cons__peek(&q->comp, q->tx_ring, &idx);
    for (uint32_t i = 0; i < n; i++)
        q->tx_free[q->n_tx_free++] = *xsk_ring_cons__comp_addr(&q->comp, idx + i);
    if (n)
        xsk_ring_cons__release(&q->comp, n);
}

uint32_t dp_xsk_tx(struct dp_xsk *x, uint32_t queue, const void *const *data, const uint32_t *len,
                   uint32_t n)
{
    struct dp_xsk_queue *q = &x->q[queue];
    reclaim_completions(q);
    if (n > q->n_tx_free)
        n = q->n_tx_free;
    uint32_t idx = 0;
    if (n == 0 || xsk_ring_prod__reserve(&q->tx, n, &idx) != n)
        n = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t addr = q->tx_free[--q->n_tx_free];
        uint32_t l = len[i] > FRAME_SIZE ? FRAME_SIZE : len[i];
        memcpy(xsk_umem__get_data(q->area, addr), data[i], l);
        struct xdp_desc *d = xsk_ring_prod__tx_desc(&q->tx, idx + i);
        d->addr = addr;
        d->len = l;
        d->options = 0;
    }
    if (n)
        xsk_ring_prod__submit(&q->tx, n);
    /* Copy mode transmits inside sendto, a bounded batch (32 frames) per call: kick until the
     * kernel has taken what is queued, or it stops making progress (device queue full). */
    if (!x->zero_copy || xsk_ring_prod__needs_wakeup(&q->tx)) {
        for (int tries = 0; tries < 64; tries++) {
            uint32_t prod = *q->tx.producer;
            uint32_t cons = __atomic_load_n(q->tx.consumer, __ATOMIC_ACQUIRE);
            if (prod == cons)
                break;
            if (sendto(q->fd, NULL, 0, MSG_DONTWAIT, NULL, 0) < 0 && errno != EAGAIN &&
                errno != EBUSY && errno != ENOBUFS)
                break;
            if (__atomic_load_n(q->tx.consumer, __ATOMIC_ACQUIRE) == cons)
                break;
        }
    }
    return n;
}

int dp_xsk_stats(const struct dp_xsk *x, uint32_t queue, struct dp_xsk_stats *s)
{
    struct xdp_statistics st;
    socklen_t len = sizeof st;
    memset(s, 0, sizeof *s);
    if (queue >= x->n_queues)
        return -EINVAL;
    if (getsockopt(x->q[queue].fd, SOL_XDP, XDP_STATISTICS, &st, &len) < 0)
        return -errno;
    s->rx_dropped = st.rx_dropped;
    s->rx_invalid_descs = st.rx_invalid_descs;
    s->tx_invalid_descs = st.tx_invalid_descs;
    s->rx_ring_full = len > 24 ? st.rx_ring_full : 0;
    s->rx_fill_ring_empty_descs = len > 32 ? st.rx_fill_ring_empty_descs : 0;
    s->tx_ring_empty_descs = len > 40 ? st.tx_ring_empty_descs : 0;
    return 0;
}
