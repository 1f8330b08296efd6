//! `l2-patch`, VPP's `test l2patch rx IF tx IF [del]`: a device-input feature that sends every
//! frame received on one interface straight to another interface's output. It is the shortest
//! path from an input node to an interface output, used by engine tests and benchmarks.

use crate::buffer::{BufferIndex, INVALID_INDEX};
use crate::graph::{FormatEnv, Node, NodeCx, NodeKind, NodeRegistration, FRAME_SIZE};
use crate::trace::TraceRecord;
use crate::Dataplane;

/// Errors of l2-patch.
pub mod errors {
    /// No patch is configured for the receive interface.
    pub const NO_PATCH: u32 = 0;
    /// Strings in code order.
    pub const STRINGS: &[&str] = &["no patch for interface"];
}

/// The l2-patch node: rx sw_if_index -> (tx sw_if_index, next slot).
#[derive(Clone, Default)]
pub struct L2Patch {
    /// Per rx sw_if_index: (tx sw_if_index, slot), INVALID_INDEX when none.
    pub table: Vec<(u32, u16)>,
}

impl Node for L2Patch {
    crate::fork_by_clone!();
    fn process(&mut self, cx: &mut NodeCx<'_>, frame: &[BufferIndex]) {
        let mut nexts = [0u16; FRAME_SIZE];
        for (k, &bi) in frame.iter().enumerate() {
            let m = cx.vm.buffers.meta_mut(bi);
            let rx = m.sw_if_index[0];
            match self.table.get(rx as usize) {
                Some(&(tx, slot)) if tx != INVALID_INDEX => {
                    m.sw_if_index[1] = tx;
                    nexts[k] = slot;
                }
                _ => {
                    cx.set_error(bi, errors::NO_PATCH);
                    nexts[k] = 0;
                }
            }
            if cx.tracing() {
                let tx = cx.vm.buffers.meta(bi).sw_if_index[1];
                if let Some(r) = cx.trace(bi) {
                    r.u[0] = rx as u64;
                    r.u[1] = tx as u64;
                }
            }
        }
        cx.enqueue(frame, &nexts[..frame.len()]);
    }

    fn format_trace(&self, rec: &TraceRecord, _env: &FormatEnv<'_>, s: &mut String) {
        s.push_str(&format!(
            "L2_PATCH: rx {} tx {}",
            rec.u[0] as u32 as i32, rec.u[1] as u32 as i32
        ));
    }
}

/// Register the node, its feature and its CLI-facing helper.
pub fn register(dp: &mut Dataplane) {
    dp.graph.register(
        NodeRegistration::new("l2-patch", NodeKind::Internal)
            .nexts(&["error-drop"])
            .errors(errors::STRINGS),
        Box::new(L2Patch::default()),
    );
    let t = dp.features;
    dp.config_mut()
        .edit(t)
        .register_feature(crate::feature::FeatureRegistration {
            arc: "device-input".into(),
            node: "l2-patch".into(),
            runs_before: vec![],
            runs_after: vec![],
        })
        .expect("device-input arc exists");
}

/// Configure (or remove with `del`) a patch from `rx` to `tx`.
pub fn set_patch(dp: &mut Dataplane, rx: u32, tx: u32, del: bool) -> Result<(), String> {
    let node = dp
        .graph
        .node_index("l2-patch")
        .ok_or("l2-patch is not registered")?;
    let out = crate::output_node_of(dp, tx).ok_or_else(|| format!("no interface {tx}"))?;
    let slot = dp.graph.add_next(node, out);
    let p = dp
        .graph
        .node_mut::<L2Patch>(node)
        .ok_or("l2-patch has an unexpected type")?;
    if p.table.len() <= rx as usize {
        p.table.resize(rx as usize + 1, (INVALID_INDEX, 0));
    }
    p.table[rx as usize] = if del { (INVALID_INDEX, 0) } else { (tx, slot) };
    dp.feature_enable_disable("device-input", "l2-patch", rx, !del)
}
