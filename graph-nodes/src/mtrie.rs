//! IPv4 16-8-8 mtrie.
