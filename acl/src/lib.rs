//! The acl plugin.

use cli::Registry;
use engine::Dataplane;

/// Register the plugin's nodes, features and commands.
pub fn init(_dp: &mut Dataplane, _reg: &mut Registry<Dataplane>) {}
