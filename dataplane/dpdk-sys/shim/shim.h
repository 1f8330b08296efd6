/* Declarations of the out-of-line wrappers in shim.c (see there). */
#ifndef DATAPLANE_DPDK_SHIM_H
#define DATAPLANE_DPDK_SHIM_H

#include <stdint.h>

struct rte_mbuf;
struct rte_mempool;

uint16_t dp_rte_eth_rx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n);
uint16_t dp_rte_eth_tx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n);
struct rte_mbuf *dp_rte_pktmbuf_alloc(struct rte_mempool *mp);
int dp_rte_pktmbuf_alloc_bulk(struct rte_mempool *mp, struct rte_mbuf **mbufs, unsigned int n);
void dp_rte_pktmbuf_free(struct rte_mbuf *m);
void *dp_rte_pktmbuf_mtod(struct rte_mbuf *m);
uint16_t dp_rte_pktmbuf_data_len(const struct rte_mbuf *m);
uint32_t dp_rte_pktmbuf_pkt_len(const struct rte_mbuf *m);
char *dp_rte_pktmbuf_append(struct rte_mbuf *m, uint16_t len);
/* The calling thread's rte_errno (a per-lcore variable). */
int dp_rte_errno(void);
/* For each of n received mbufs: its data pointer and length (UINT32_MAX if it is chained). */
void dp_mbufs_rx_view(struct rte_mbuf *const *mbufs, uint16_t n, const void **data, uint32_t *len);
/* Appends len[i] bytes to each fresh mbuf and returns where to write them; returns how many
 * mbufs were prepared (fewer only if a length exceeds the mbuf's room). */
uint16_t dp_mbufs_tx_prepare(struct rte_mbuf *const *mbufs, uint16_t n, const uint16_t *len,
                             void **data);

#endif
