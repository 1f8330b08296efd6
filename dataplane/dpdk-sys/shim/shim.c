/* Out-of-line wrappers for DPDK's static-inline fast path, so Rust can call them.
 *
 * DPDK defines rte_eth_rx_burst, rte_eth_tx_burst, rte_pktmbuf_alloc and friends as static inline
 * functions in its headers; they have no symbol in the shared libraries. Each wrapper here is one
 * call. The two "vector" helpers walk a burst in C so that Rust pays one foreign call per burst,
 * not one per packet.
 *
 * Compiled with the flags libdpdk.pc asks for (-include rte_config.h -march=corei7).
 */
#include <stdint.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "shim.h"

uint16_t dp_rte_eth_rx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n)
{
    return rte_eth_rx_burst(port, queue, pkts, n);
}

uint16_t dp_rte_eth_tx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n)
{
    return rte_eth_tx_burst(port, queue, pkts, n);
}

struct rte_mbuf *dp_rte_pktmbuf_alloc(struct rte_mempool *mp)
{
    return rte_pktmbuf_alloc(mp);
}

int dp_rte_pktmbuf_alloc_bulk(struct rte_mempool *mp, struct rte_mbuf **mbufs, unsigned int n)
{
    return rte_pktmbuf_alloc_bulk(mp, mbufs, n);
}

void dp_rte_pktmbuf_free(struct rte_mbuf *m)
{
    rte_pktmbuf_free(m);
}

void *dp_rte_pktmbuf_mtod(struct rte_mbuf *m)
{
    return rte_pktmbuf_mtod(m, void *);
}

uint16_t dp_rte_pktmbuf_data_len(const struct rte_mbuf *m)
{
    return rte_pktmbuf_data_len(m);
}

uint32_t dp_rte_pktmbuf_pkt_len(const struct rte_mbuf *m)
{
    return rte_pktmbuf_pkt_len(m);
}

char *dp_rte_pktmbuf_append(struct rte_mbuf *m, uint16_t len)
{
    return rte_pktmbuf_append(m, len);
}

int dp_rte_errno(void)
{
    return rte_errno;
}

void dp_mbufs_rx_view(struct rte_mbuf *const *mbufs, uint16_t n, const void **data, uint32_t *len)
{
    for (uint16_t i = 0; i < n; i++) {
        struct rte_mbuf *m = mbufs[i];
        data[i] = rte_pktmbuf_mtod(m, const void *);
        /* Chained mbufs (jumbo frames) report the first segment only and their full length: the
         * caller compares the two and drops what it cannot take whole. */
        len[i] = m->nb_segs == 1 ? m->data_len : UINT32_MAX;
    }
}

uint16_t dp_mbufs_tx_prepare(struct rte_mbuf *const *mbufs, uint16_t n, const uint16_t *len,
                             void **data)
{
    for (uint16_t i = 0; i < n; i++) {
        char *p = rte_pktmbuf_append(mbufs[i], len[i]);
        if (p == NULL)
            return i;
        data[i] = p;
    }
    return n;
}
