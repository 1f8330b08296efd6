//! L2/L3 graph nodes: wire views, VPP trace formatters, FIB and the IPv4 nodes.

pub mod format;
pub mod mtrie;
pub mod wire;

use cli::Registry;
use engine::Dataplane;

/// Register the L2/L3 nodes, their features and commands.
pub fn init(_dp: &mut Dataplane, _reg: &mut Registry<Dataplane>) {}
