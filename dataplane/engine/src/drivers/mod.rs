//! Real device drivers for live mode: TAP (tapv2 with the virtio-net header), AF_PACKET
//! (TPACKET_V3 ring), AF_XDP (libxdp sockets) and, with the `dpdk` feature, DPDK ports. In replay
//! mode interfaces are pcap-backed instead and these are not used.

pub mod af_packet;
pub mod af_xdp;
#[cfg(feature = "dpdk")]
pub mod dpdk;
pub mod offload;
pub mod tap;
pub mod tap_uring;

use crate::interface::{device_handle, DeviceClass, DeviceHandle};
use crate::{Dataplane, DeviceSpec};

fn tap_factory(dp: &mut Dataplane, spec: &DeviceSpec) -> Result<DeviceHandle, String> {
    let host = spec
        .option("host-if-name")
        .map(str::to_string)
        .unwrap_or_else(|| format!("tap{}", spec.instance));
    // A tap of that name deleted a moment ago may still be closing.
    if !dp.reaper.wait_for(&tap::tap_key(&host)) {
        return Err(format!(
            "host interface `{host}` of a deleted tap is still being removed by the kernel"
        ));
    }
    let dev = tap::TapDevice::create(spec)?;
    if let Some(why) = &dev.uring_fallback {
        dp.log.lock().push(
            "warn",
            "tap",
            &format!(
                "{}: {why}; reading and writing one frame per system call",
                spec.name
            ),
        );
    }
    Ok(device_handle(dev))
}

fn af_packet_factory(_dp: &mut Dataplane, spec: &DeviceSpec) -> Result<DeviceHandle, String> {
    let host = spec
        .option("host-if-name")
        .ok_or("host-interface needs a host interface name")?;
    Ok(device_handle(af_packet::AfPacketDevice::open(host)?))
}

/// Install the live drivers' factories.
pub fn install(dp: &mut Dataplane) {
    dp.device_factories.insert(DeviceClass::Tap, tap_factory);
    dp.device_factories
        .insert(DeviceClass::AfPacket, af_packet_factory);
    dp.device_factories
        .insert(DeviceClass::AfXdp, af_xdp::factory);
    #[cfg(feature = "dpdk")]
    dpdk::install(dp);
}
