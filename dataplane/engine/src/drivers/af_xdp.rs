//! AF_XDP driver (VPP's `create interface af_xdp host-if IF [name N] [num-rx-queues N]
//! [prog FILE] [zero-copy|no-zero-copy]`, input node `af_xdp-input`).
//!
//! The sockets, their UMEM and four rings, and the XDP program come from the `xdp-sys` crate: a
//! small C shim over Debian's libxdp/libbpf (the ring helpers are inline C functions, so the shim
//! walks a whole burst per call). The program is libxdp's default AF_XDP program (or the `prog`
//! file), attached alone in native mode where the driver has it and in generic mode otherwise;
//! libxdp's multi-program dispatcher is not used (it needs bpffs and freplace, which this kernel
//! refuses). One socket per queue, each with its own UMEM.
//!
//! Frames are copied between the UMEM and our buffer pool, as the DPDK driver does: the pool is
//! the engine's own memory and a buffer must stay valid after the device gives it back, while a
//! UMEM frame belongs to its ring. `zero-copy` here is the kernel's AF_XDP zero-copy (the NIC
//! writes into the UMEM); it needs a driver with XSK support, and asking for it on one without
//! (veth, for instance) fails with a one-line error. The default takes zero-copy when offered and
//! copy mode otherwise; `no-zero-copy` forces copy mode.

use std::ffi::{c_char, c_void, CStr, CString};
use std::os::fd::RawFd;
use std::ptr::NonNull;

use xdp_sys as sys;

use super::offload;
use crate::buffer::{BufferIndex, BufferPool, BUFFER_DATA_SIZE};
use crate::graph::FRAME_SIZE;
use crate::interface::{device_handle, Device, DeviceClass, DeviceHandle, RxBurst};
use crate::{Dataplane, DeviceSpec};

/// Descriptors per ring by default (and UMEM frames per direction and queue).
pub const RING_SIZE: u32 = 2048;
/// Largest `rxq-size` / `txq-size`.
pub const MAX_RING_SIZE: u32 = 16384;

/// Options of an AF_XDP interface.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AfXdpConfig {
    /// Host interface.
    pub host_if: String,
    /// Queues to open (one socket each).
    pub num_rx_queues: u32,
    /// XDP object file (None: libxdp's default program).
    pub prog: Option<String>,
    /// Zero-copy requested (Some(true)), refused (Some(false)) or whatever the driver offers.
    pub zero_copy: Option<bool>,
    /// Descriptors of the fill and rx rings (`rxq-size`), and of the tx and completion rings
    /// (`txq-size`): powers of two, [`RING_SIZE`] by default.
    pub rxq_size: u32,
    /// See `rxq_size`.
    pub txq_size: u32,
    /// Run the XDP program in generic (skb) mode even where the driver has native XDP (copy
    /// mode; spec option `xdp-mode skb`). Generic mode runs after RPS steering, so a
    /// measurement can put the receive work on the forwarder's CPU.
    pub generic_xdp: bool,
}

impl AfXdpConfig {
    /// The options `create interface af_xdp` put into the spec.
    pub fn from_spec(spec: &DeviceSpec) -> Result<Self, String> {
        let host_if = spec
            .option("host-if")
            .ok_or("af_xdp needs `host-if <ifname>`")?
            .to_string();
        let num_rx_queues = match spec.option("num-rx-queues") {
            Some(n) => n.parse().map_err(|_| format!("bad num-rx-queues `{n}`"))?,
            None => 1,
        };
        let zero_copy = match spec.option("mode") {
            Some("zero-copy") => Some(true),
            Some("copy") => Some(false),
            _ => None,
        };
        let generic_xdp = match spec.option("xdp-mode") {
            None | Some("native") => false,
            Some("skb") | Some("generic") => true,
            Some(m) => return Err(format!("af_xdp: xdp-mode `{m}`: expected native or skb")),
        };
        if generic_xdp && zero_copy == Some(true) {
            return Err("af_xdp: zero-copy needs native XDP, not xdp-mode skb".into());
        }
        let size = |k: &str| -> Result<u32, String> {
            match spec.option(k) {
                None => Ok(RING_SIZE),
                Some(v) => v
                    .parse::<u32>()
                    .ok()
                    .filter(|n| n.is_power_of_two() && (64..=MAX_RING_SIZE).contains(n))
                    .ok_or_else(|| {
                        format!(
                            "af_xdp: {k} `{v}`: expected a power of two from 64 to {MAX_RING_SIZE}"
                        )
                    }),
            }
        };
        Ok(AfXdpConfig {
            host_if,
            num_rx_queues,
            rxq_size: size("rxq-size")?,
            txq_size: size("txq-size")?,
            prog: spec.option("prog").map(str::to_string),
            zero_copy,
            generic_xdp,
        })
    }
}

/// An AF_XDP interface: one socket per queue on a host interface.
pub struct AfXdpDevice {
    x: Option<NonNull<sys::dp_xsk>>,
    /// Host interface.
    pub host_if: String,
    n_queues: u32,
    /// Queue to poll first next time (round robin, so no queue starves).
    next_queue: u32,
    /// Whether the kernel runs the sockets in zero-copy mode.
    pub zero_copy: bool,
    /// (fill/rx, tx/completion) ring sizes.
    rings: (u32, u32),
    /// Whether the program runs in native (driver) mode rather than generic (skb) mode.
    pub native: bool,
    /// The host interface is virtual (a veth, no device behind it): its peer's frames may carry
    /// partial checksums, which AF_XDP does not mark, so each TCP/UDP frame is checked for one.
    pub virtual_peer: bool,
}

// SAFETY: the handle is owned by this device alone (created by it, closed by it) and only used
// through &mut self; libxdp keeps no thread affinity, so the device can move between threads.
unsafe impl Send for AfXdpDevice {}

impl AfXdpDevice {
    /// Open the sockets and attach the XDP program.
    pub fn open(cfg: &AfXdpConfig) -> Result<Self, String> {
        let err = |m: &str| format!("af_xdp: {m}");
        if cfg.host_if.is_empty() || cfg.host_if.len() >= libc::IFNAMSIZ {
            return Err(err(&format!(
                "host interface name `{}` must be 1..15 characters",
                cfg.host_if
            )));
        }
        let ifname = CString::new(cfg.host_if.as_str()).map_err(|_| err("bad interface name"))?;
        let prog = cfg
            .prog
            .as_deref()
            .map(|p| {
                if !std::path::Path::new(p).exists() {
                    return Err(err(&format!("program file `{p}` does not exist")));
                }
                CString::new(p).map_err(|_| err("bad program path"))
            })
            .transpose()?;
        let opts = sys::dp_xsk_opts {
            ifname: ifname.as_ptr(),
            prog_path: prog.as_ref().map_or(std::ptr::null(), |p| p.as_ptr()),
            n_queues: cfg.num_rx_queues.max(1),
            ring_size: cfg.rxq_size,
            tx_ring_size: cfg.txq_size,
            mode: match cfg.zero_copy {
                _ if cfg.generic_xdp => sys::DP_XSK_MODE_SKB_COPY,
                None => sys::DP_XSK_MODE_AUTO,
                Some(false) => sys::DP_XSK_MODE_COPY,
                Some(true) => sys::DP_XSK_MODE_ZERO_COPY,
            },
        };
        let mut handle: *mut sys::dp_xsk = std::ptr::null_mut();
        let mut msg = [0 as c_char; 256];
        // SAFETY: opts points to NUL-terminated strings that outlive the call; handle and msg are
        // writable (msg for its full length).
        let rc = unsafe { sys::dp_xsk_open(&opts, &mut handle, msg.as_mut_ptr(), msg.len()) };
        let Some(x) = NonNull::new(handle).filter(|_| rc == 0) else {
            // SAFETY: the shim always NUL-terminates msg within its length.
            let m = unsafe { CStr::from_ptr(msg.as_ptr()) }.to_string_lossy();
            return Err(err(if m.is_empty() {
                "cannot open sockets"
            } else {
                &m
            }));
        };
        // SAFETY: x is the live handle just opened.
        let (n_queues, zero_copy, native) = unsafe {
            (
                sys::dp_xsk_n_queues(x.as_ptr()),
                sys::dp_xsk_is_zero_copy(x.as_ptr()) != 0,
                sys::dp_xsk_is_native(x.as_ptr()) != 0,
            )
        };
        Ok(AfXdpDevice {
            x: Some(x),
            host_if: cfg.host_if.clone(),
            n_queues,
            next_queue: 0,
            zero_copy,
            rings: (
                if cfg.rxq_size == 0 {
                    RING_SIZE
                } else {
                    cfg.rxq_size
                },
                match (cfg.txq_size, cfg.rxq_size) {
                    (0, 0) => RING_SIZE,
                    (0, rx) => rx,
                    (tx, _) => tx,
                },
            ),
            native,
            virtual_peer: !std::path::Path::new(&format!("/sys/class/net/{}/device", cfg.host_if))
                .exists(),
        })
    }

    /// The kernel's socket statistics, summed over the queues.
    pub fn stats(&self) -> sys::dp_xsk_stats {
        let mut sum = sys::dp_xsk_stats::default();
        let Some(x) = self.x else { return sum };
        for q in 0..self.n_queues {
            let mut s = sys::dp_xsk_stats::default();
            // SAFETY: x is live; s is writable.
            if unsafe { sys::dp_xsk_stats(x.as_ptr(), q, &mut s) } == 0 {
                sum.rx_dropped += s.rx_dropped;
                sum.rx_invalid_descs += s.rx_invalid_descs;
                sum.tx_invalid_descs += s.tx_invalid_descs;
                sum.rx_ring_full += s.rx_ring_full;
                sum.rx_fill_ring_empty_descs += s.rx_fill_ring_empty_descs;
                sum.tx_ring_empty_descs += s.tx_ring_empty_descs;
            }
        }
        sum
    }
}

impl Device for AfXdpDevice {
    fn rx_burst(&mut self, pool: &mut BufferPool, out: &mut [BufferIndex], _now: u64) -> RxBurst {
        let mut r = RxBurst::default();
        let Some(x) = self.x else { return r };
        let max = out.len().min(FRAME_SIZE);
        let mut data = [std::ptr::null::<c_void>(); FRAME_SIZE];
        let mut len = [0u32; FRAME_SIZE];
        for k in 0..self.n_queues {
            if r.n == max {
                break;
            }
            let q = (self.next_queue + k) % self.n_queues;
            // Take no more frames than there are free buffers, so no frame is lost for want of
            // a buffer: what stays in the ring is received next time.
            let want = max - r.n;
            let avail = (pool.total() - pool.in_use()) as usize;
            if avail < want {
                r.no_buf += 1;
            }
            let take = want.min(avail);
            if take == 0 {
                break;
            }
            // SAFETY: x is live; data and len hold FRAME_SIZE >= take entries.
            let n = unsafe {
                sys::dp_xsk_rx_peek(
                    x.as_ptr(),
                    q,
                    data.as_mut_ptr(),
                    len.as_mut_ptr(),
                    take as u32,
                )
            } as usize;
            let got = pool.alloc(&mut out[r.n..r.n + n]);
            let mut kept = 0;
            for i in 0..got {
                let l = len[i] as usize;
                if !(14..=BUFFER_DATA_SIZE).contains(&l) {
                    r.errors += 1;
                    continue;
                }
                // SAFETY: the shim returned a view of a received frame of l bytes inside the
                // UMEM; it stays valid until dp_xsk_rx_release below.
                let frame = unsafe { std::slice::from_raw_parts(data[i] as *const u8, l) };
                let bi = out[r.n + kept];
                pool.fill(bi, frame);
                if self.virtual_peer {
                    offload::repair_partial_checksum(pool.data_mut(bi));
                }
                kept += 1;
            }
            r.no_buf += (n - got) as u64;
            // SAFETY: x is live; the frame views above are no longer used.
            unsafe { sys::dp_xsk_rx_release(x.as_ptr(), q) };
            pool.free(&out[r.n + kept..r.n + got]);
            r.n += kept;
        }
        self.next_queue = (self.next_queue + 1) % self.n_queues.max(1);
        r
    }

    fn tx_burst(&mut self, pool: &BufferPool, bufs: &[BufferIndex], _now: u64) -> usize {
        let Some(x) = self.x else { return 0 };
        let mut data = [std::ptr::null::<c_void>(); FRAME_SIZE];
        let mut len = [0u32; FRAME_SIZE];
        let mut sent = 0;
        for chunk in bufs.chunks(FRAME_SIZE) {
            for (k, &bi) in chunk.iter().enumerate() {
                let d = pool.data(bi);
                data[k] = d.as_ptr() as *const c_void;
                len[k] = d.len() as u32;
            }
            // SAFETY: x is live; data/len describe chunk.len() live buffers, read during the
            // call only (the shim copies them into UMEM frames).
            let n = unsafe {
                sys::dp_xsk_tx(
                    x.as_ptr(),
                    0,
                    data.as_ptr(),
                    len.as_ptr(),
                    chunk.len() as u32,
                )
            } as usize;
            sent += n;
            if n < chunk.len() {
                break;
            }
        }
        sent
    }

    fn rx_queues(&self) -> u32 {
        self.n_queues
    }

    fn ring_sizes(&self) -> Option<(u32, u32)> {
        Some(self.rings)
    }

    fn fd(&self) -> Option<RawFd> {
        // SAFETY: x is live.
        self.x
            .map(|x| unsafe { sys::dp_xsk_fd(x.as_ptr(), 0) })
            .filter(|&fd| fd >= 0)
    }

    fn wait_fds(&self, out: &mut Vec<RawFd>) {
        if let Some(x) = self.x {
            for q in 0..self.n_queues {
                // SAFETY: x is live and q is one of its queues.
                let fd = unsafe { sys::dp_xsk_fd(x.as_ptr(), q) };
                if fd >= 0 {
                    out.push(fd);
                }
            }
        }
    }

    fn shutdown(&mut self) {
        if let Some(x) = self.x.take() {
            // SAFETY: x is live and taken out of self, so it is closed exactly once.
            unsafe { sys::dp_xsk_close(x.as_ptr()) };
        }
    }
}

impl Drop for AfXdpDevice {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Whether this build has AF_XDP (libxdp was found when it was compiled).
pub fn available() -> bool {
    sys::AVAILABLE
}

/// The host interface's MAC address (from sysfs).
fn host_mac(ifname: &str) -> Option<[u8; 6]> {
    let text = std::fs::read_to_string(format!("/sys/class/net/{ifname}/address")).ok()?;
    let mut mac = [0u8; 6];
    let mut parts = text.trim().split(':');
    for b in &mut mac {
        *b = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    Some(mac)
}

/// Factory of `create interface af_xdp` in live mode. The interface takes the host interface's
/// MAC, as VPP's af_xdp does.
pub fn factory(dp: &mut Dataplane, spec: &DeviceSpec) -> Result<DeviceHandle, String> {
    let cfg = AfXdpConfig::from_spec(spec)?;
    let dev = AfXdpDevice::open(&cfg)?;
    if let Some(mac) = host_mac(&cfg.host_if) {
        device_mac::offer(dp, &spec.name, DeviceClass::AfXdp, mac);
    }
    Ok(device_handle(dev))
}

/// Device MACs handed from a factory to the interface being created: a factory cannot set the
/// interface's MAC (the CLI picks it before calling the factory), so it leaves the device's
/// address here and a creation hook puts it into the interface table (and tells the rewrite
/// hooks). Used by AF_XDP (the host interface's MAC) and DPDK (the port's MAC).
pub(crate) mod device_mac {
    use std::collections::HashMap;

    use crate::interface::DeviceClass;
    use crate::Dataplane;

    #[derive(Default)]
    struct Pending(HashMap<String, (DeviceClass, [u8; 6])>);

    /// Give interface `name` (about to be created) the device's `mac`.
    pub(crate) fn offer(dp: &mut Dataplane, name: &str, class: DeviceClass, mac: [u8; 6]) {
        if mac == [0; 6] {
            return;
        }
        if dp.ext::<Pending>().is_none() {
            dp.insert_ext(Pending::default());
        }
        if let Some(p) = dp.ext_mut::<Pending>() {
            p.0.insert(name.to_string(), (class, mac));
        }
        let hook = take as fn(&mut Dataplane, u32);
        if !dp.on_interface_created.contains(&hook) {
            dp.on_interface_created.push(hook);
        }
    }

    /// Creation hook.
    fn take(dp: &mut Dataplane, sw_if_index: u32) {
        let name = dp.interface_main().name(sw_if_index);
        let Some((class, mac)) = dp.ext_mut::<Pending>().and_then(|p| p.0.remove(&name)) else {
            return;
        };
        {
            let im = dp.interface_main_mut();
            let Some(hw) = im.sw(sw_if_index).map(|s| s.hw_if_index) else {
                return;
            };
            let h = &mut im.hw[hw as usize];
            if h.class != class {
                return;
            }
            h.mac = mac;
        }
        let hooks = dp.on_mac_changed.clone();
        for h in hooks {
            h(dp, sw_if_index);
        }
    }
}
