#ifndef PATHFLOW_CPREFETCH_H
#define PATHFLOW_CPREFETCH_H

/// Asks for the cache line at `address` ahead of a write, without waiting for it: the aggregation
/// tables prefetch a datagram's rows before updating them, so their cache misses overlap.
static inline void pathflow_prefetch_write(const void *address) {
    __builtin_prefetch(address, 1, 3);
}

#endif
