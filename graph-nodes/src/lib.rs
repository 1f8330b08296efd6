//! L2/L3 graph nodes: wire views, VPP trace formatters, FIB and the IPv4 nodes.

pub mod format;
pub mod mtrie;
pub mod wire;
