//! Packet views (one module per protocol).
