/* The dataplane's AF_XDP shim (see xsk_shim.c): plain types only, so Rust declares it by hand. */
#ifndef DATAPLANE_XSK_SHIM_H
#define DATAPLANE_XSK_SHIM_H

#include <stddef.h>
#include <stdint.h>

struct dp_xsk;

enum {
    /* Zero-copy where the driver has it, else copy. */
    DP_XSK_MODE_AUTO = 0,
    /* Copy mode. */
    DP_XSK_MODE_COPY = 1,
    /* Zero-copy or fail. */
    DP_XSK_MODE_ZERO_COPY = 2,
    /* Copy mode with the program in generic (skb) mode. */
    DP_XSK_MODE_SKB_COPY = 3,
};

struct dp_xsk_opts {
    const char *ifname;
    /* NULL or "": libxdp's default program. */
    const char *prog_path;
    uint32_t n_queues;
    /* Descriptors of the fill and rx rings (power of two); 0: 2048. */
    uint32_t ring_size;
    int mode;
    /* Descriptors of the tx and completion rings (power of two); 0: as ring_size. */
    uint32_t tx_ring_size;
};

struct dp_xsk_stats {
    uint64_t rx_dropped;
    uint64_t rx_invalid_descs;
    uint64_t tx_invalid_descs;
    uint64_t rx_ring_full;
    uint64_t rx_fill_ring_empty_descs;
    uint64_t tx_ring_empty_descs;
};

int dp_xsk_open(const struct dp_xsk_opts *o, struct dp_xsk **out, char *err, size_t errlen);
void dp_xsk_close(struct dp_xsk *x);
int dp_xsk_fd(const struct dp_xsk *x, uint32_t queue);
uint32_t dp_xsk_n_queues(const struct dp_xsk *x);
int dp_xsk_is_zero_copy(const struct dp_xsk *x);
int dp_xsk_is_native(const struct dp_xsk *x);
int dp_xsk_driver_name(const char *ifname, char *out, size_t len);
uint32_t dp_xsk_rx_peek(struct dp_xsk *x, uint32_t queue, const void **data, uint32_t *len,
                        uint32_t max);
void dp_xsk_rx_release(struct dp_xsk *x, uint32_t queue);
uint32_t dp_xsk_tx(struct dp_xsk *x, uint32_t queue, const void *const *data, const uint32_t *len,
                   uint32_t n);
int dp_xsk_stats(const struct dp_xsk *x, uint32_t queue, struct dp_xsk_stats *s);

#endif
