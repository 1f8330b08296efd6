//! TAP driver (VPP's `create tap`, "tapv2"): a Linux TAP device opened with the virtio-net header
//! (IFF_VNET_HDR), polled in bursts; with `num-rx-queues N`, N kernel queues (IFF_MULTI_QUEUE),
//! each polled in turn (the kernel spreads the host's flows over them by hash). Each frame is read straight into a pool buffer with `readv`
//! (header into a scratch array, frame into the buffer's data area), and written with `writev`.
//!
//! Offloads as VPP's flags name them: with `csum-offload` the kernel may hand us frames with a
//! partial TCP/UDP checksum (NEEDS_CSUM), finished here; with `gso` also TCP/IPv4 (and, where
//! the kernel has USO, UDP) super-frames of up to 64 KB, one per read: the part that does not fit
//! the buffer lands in a per-device scratch area, and the super-frame is segmented here into
//! MTU-sized frames with the headers a NIC's TSO would give them (buffer chains, which would let
//! it cross the graph whole, are not there yet). A pod's TCP then sends 64 KB per system call
//! and never computes a checksum. The host side can be moved into a network namespace and given a MAC,
//! an address and a default route, as VPP's `host-*` options do.

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::process::Command;

use super::offload;
use crate::buffer::{flags, BufferIndex, BufferPool, BUFFER_DATA_SIZE};
use crate::interface::{Device, RxBurst};
use crate::DeviceSpec;

const TUNSETIFF: libc::c_ulong = 0x4004_54ca;
const TUNSETOFFLOAD: libc::c_ulong = 0x4004_54d0;
const TUNSETVNETHDRSZ: libc::c_ulong = 0x4004_54d8;
const IFF_TAP: libc::c_short = 0x0002;
const IFF_NO_PI: libc::c_short = 0x1000;
const IFF_VNET_HDR: libc::c_short = 0x4000;
const IFF_MULTI_QUEUE: libc::c_short = 0x0100;
const TUN_F_CSUM: libc::c_ulong = 0x01;
const TUN_F_TSO4: libc::c_ulong = 0x02;
const TUN_F_USO4: libc::c_ulong = 0x20;
/// Largest frame a read can return with `gso` (a 64 KB IPv4 datagram and its Ethernet header).
const GSO_MAX_FRAME: usize = 65_536 + 64;
/// `virtio_net_hdr_v1` (with num_buffers).
pub const VNET_HDR_LEN: usize = 12;
/// Largest `host-mtu-size`: a frame the host sends without GSO must fit one buffer.
pub const MAX_HOST_MTU: u32 = BUFFER_DATA_SIZE as u32 - 14;

#[repr(C)]
struct IfReq {
    name: [libc::c_char; libc::IFNAMSIZ],
    flags: libc::c_short,
    _pad: [u8; 22],
}

/// `struct ifreq` with its union as bytes (name, then 24 bytes: an int, flags or a sockaddr).
#[repr(C)]
struct IfReqData {
    name: [libc::c_char; libc::IFNAMSIZ],
    data: [u8; 24],
}

/// One `SIOC*IF*` ioctl on interface `name` of this namespace; `fill` sets the union, which
/// comes back as the kernel left it. No `ip` process: creating a pod's tap stays cheap.
fn netdev_ioctl(name: &str, req: libc::c_ulong, data: [u8; 24]) -> Result<[u8; 24], String> {
    let mut r = IfReqData {
        name: [0; libc::IFNAMSIZ],
        data,
    };
    for (d, s) in r.name.iter_mut().zip(name.bytes()) {
        *d = s as libc::c_char;
    }
    // SAFETY: socket has no preconditions; the descriptor is closed below.
    let sock = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if sock < 0 {
        return Err(format!("socket: {}", std::io::Error::last_os_error()));
    }
    // SAFETY: the SIOC*IF* requests used here read and write a `struct ifreq`, which IfReqData
    // lays out (16-byte name, 24-byte union); r lives for the call.
    let rc = unsafe { libc::ioctl(sock, req as _, &mut r) };
    let e = std::io::Error::last_os_error();
    // SAFETY: sock is the descriptor opened above, closed once.
    unsafe { libc::close(sock) };
    if rc < 0 {
        return Err(format!("`{name}`: {e}"));
    }
    Ok(r.data)
}

/// Set the MTU of host interface `name` (this namespace).
fn set_host_mtu(name: &str, mtu: i32) -> Result<(), String> {
    let mut d = [0u8; 24];
    d[..4].copy_from_slice(&mtu.to_ne_bytes());
    netdev_ioctl(name, libc::SIOCSIFMTU, d)
        .map(|_| ())
        .map_err(|e| format!("cannot set the MTU of {e}"))
}

/// Set the MAC of host interface `name` (this namespace).
fn set_host_mac(name: &str, mac: &str) -> Result<(), String> {
    let parts: Vec<u8> = mac
        .split(':')
        .filter_map(|p| u8::from_str_radix(p, 16).ok())
        .collect();
    let m: [u8; 6] = parts
        .try_into()
        .map_err(|_| format!("`{mac}` is not a MAC address (expected xx:xx:xx:xx:xx:xx)"))?;
    let mut d = [0u8; 24];
    d[..2].copy_from_slice(&libc::ARPHRD_ETHER.to_ne_bytes());
    d[2..8].copy_from_slice(&m);
    netdev_ioctl(name, libc::SIOCSIFHWADDR, d)
        .map(|_| ())
        .map_err(|e| format!("cannot set the MAC of {e}"))
}

/// Bring host interface `name` up (this namespace).
fn set_host_up(name: &str) -> Result<(), String> {
    let d = netdev_ioctl(name, libc::SIOCGIFFLAGS, [0; 24])
        .map_err(|e| format!("cannot read the flags of {e}"))?;
    let flags = i16::from_ne_bytes([d[0], d[1]]) | libc::IFF_UP as i16;
    let mut d = [0u8; 24];
    d[..2].copy_from_slice(&flags.to_ne_bytes());
    netdev_ioctl(name, libc::SIOCSIFFLAGS, d)
        .map(|_| ())
        .map_err(|e| format!("cannot bring up {e}"))
}

/// Run `ip ARGS...` (inside namespace `ns` if given); errors name the command.
pub fn ip_cmd(ns: Option<&str>, args: &[&str]) -> Result<(), String> {
    let mut c = Command::new("ip");
    if let Some(ns) = ns {
        c.arg("-n").arg(ns);
    }
    c.args(args);
    let out = c
        .output()
        .map_err(|e| format!("cannot run `ip {}`: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`ip {}{}` failed: {}",
            ns.map(|n| format!("-n {n} ")).unwrap_or_default(),
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Open one queue of tap `host_name` (creating the tap with the first): `/dev/net/tun` with
/// IFF_VNET_HDR, and IFF_MULTI_QUEUE when the tap has several queues.
fn open_queue(host_name: &str, multi: bool) -> Result<OwnedFd, String> {
    let path = CString::new("/dev/net/tun").expect("no NUL");
    // SAFETY: path is a valid NUL-terminated string; open has no other preconditions.
    let raw = unsafe {
        libc::open(
            path.as_ptr(),
            libc::O_RDWR | libc::O_NONBLOCK | libc::O_CLOEXEC,
        )
    };
    if raw < 0 {
        return Err(format!(
            "cannot open /dev/net/tun: {}",
            std::io::Error::last_os_error()
        ));
    }
    // SAFETY: raw is a freshly opened descriptor that nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    let mut req = IfReq {
        name: [0; libc::IFNAMSIZ],
        flags: IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | if multi { IFF_MULTI_QUEUE } else { 0 },
        _pad: [0; 22],
    };
    for (d, s) in req.name.iter_mut().zip(host_name.bytes()) {
        *d = s as libc::c_char;
    }
    // SAFETY: TUNSETIFF reads and writes an ifreq, which IfReq lays out (name, flags, pad to
    // 40 bytes); req lives for the call.
    if unsafe { libc::ioctl(fd.as_raw_fd(), TUNSETIFF, &mut req) } < 0 {
        return Err(format!(
            "cannot create tap `{host_name}`: {}",
            std::io::Error::last_os_error()
        ));
    }
    let hdr_len: libc::c_int = VNET_HDR_LEN as libc::c_int;
    // SAFETY: TUNSETVNETHDRSZ reads an int from the pointer, which is valid for the call.
    if unsafe { libc::ioctl(fd.as_raw_fd(), TUNSETVNETHDRSZ, &hdr_len) } < 0 {
        return Err(format!(
            "cannot set the virtio-net header size on `{host_name}`: {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(fd)
}

/// The reaper key of a tap's host interface: the name it is created with (it is created in our
/// namespace and only then moved to the pod's).
pub fn tap_key(host_name: &str) -> String {
    format!("tap:{host_name}")
}

/// A TAP device.
pub struct TapDevice {
    /// Batched reads and writes through io_uring (the default without gso) instead of
    /// readv/writev. First, so that it is dropped first: its teardown completes the requests
    /// that hold the queues' files, and closing the descriptors then removes the tap at once,
    /// as without a ring (a file last released by the ring's teardown is slower to go).
    uring: Option<super::tap_uring::TapUring>,
    /// One descriptor per kernel queue (`num-rx-queues`; IFF_MULTI_QUEUE when more than one).
    /// Every queue is received from; frames are sent on the first.
    fds: Vec<OwnedFd>,
    /// Queue to read first next time (round robin, so no queue starves).
    next_queue: usize,
    /// Frames received per queue (`show tap`).
    rx_per_queue: Vec<u64>,
    /// Host-side interface name.
    pub host_name: String,
    /// Namespace the host side lives in.
    pub host_ns: Option<String>,
    /// With `gso`: where a super-frame is assembled (its head is copied in front of the part
    /// the read put here).
    scratch: Box<[u8]>,
    /// A super-frame in `scratch` whose segments did not all fit the last burst.
    pending: Option<Pending>,
    /// With `gro-coalesce`: where runs of TCP segments are merged into one write.
    tx_scratch: Box<[u8]>,
    /// Why io_uring is not used although it would have been (the kernel refused a ring).
    pub uring_fallback: Option<String>,
}

/// A super-frame being segmented.
struct Pending {
    plan: super::offload::Segmentation,
    len: usize,
    next: usize,
}

impl TapDevice {
    /// Create the TAP device and configure its host side from `spec`'s options
    /// (`host-if-name`, `host-ns`, `host-mac-addr`, `host-ip4-addr`, `host-ip4-gw`).
    pub fn create(spec: &DeviceSpec) -> Result<Self, String> {
        let host_name = spec
            .option("host-if-name")
            .map(str::to_string)
            .unwrap_or_else(|| format!("tap{}", spec.instance));
        if host_name.is_empty() || host_name.len() >= libc::IFNAMSIZ {
            return Err(format!(
                "host interface name `{host_name}` must be 1..15 characters"
            ));
        }
        let n_queues = match spec.option("num-rx-queues") {
            Some(n) => n
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=64).contains(n))
                .ok_or_else(|| format!("num-rx-queues `{n}`: expected 1..64"))?,
            None => 1,
        };
        let fds = (0..n_queues)
            .map(|_| open_queue(&host_name, n_queues > 1))
            .collect::<Result<Vec<_>, _>>()?;
        // Without `gso`/`csum-offload` the kernel hands us complete frames with computed
        // checksums and no GSO. USO is asked for where the kernel has it (6.2 and later).
        let coalesce = spec.option("gro-coalesce").is_some();
        let gso = coalesce || spec.option("gso").is_some();
        let csum = gso || spec.option("csum-offload").is_some();
        let mut offloads = match (gso, csum) {
            (true, _) => TUN_F_CSUM | TUN_F_TSO4 | TUN_F_USO4,
            (false, true) => TUN_F_CSUM,
            _ => 0,
        };
        // SAFETY: TUNSETOFFLOAD takes an unsigned long by value. Every queue gets the same set.
        let set = |f: libc::c_ulong| {
            fds.iter()
                .all(|fd| unsafe { libc::ioctl(fd.as_raw_fd(), TUNSETOFFLOAD, f) } >= 0)
        };
        if !set(offloads) {
            offloads &= !TUN_F_USO4;
            if !set(offloads) {
                return Err(format!(
                    "cannot set the offloads of `{host_name}`: {}",
                    std::io::Error::last_os_error()
                ));
            }
        }
        // Batched I/O through io_uring unless the tap carries super-frames (gso) or is told
        // not to; a kernel or sandbox without io_uring falls back to readv/writev (the factory
        // logs why), unless `io-uring` was asked for explicitly.
        let forced = spec.option("io-uring").is_some();
        let mut uring_fallback = None;
        let uring = if gso || spec.option("no-io-uring").is_some() {
            if forced {
                return Err(
                    "io-uring works on taps without gso or gro-coalesce (a super-frame does not fit a ring slot)"
                        .into(),
                );
            }
            None
        } else {
            let raw: Vec<RawFd> = fds.iter().map(|fd| fd.as_raw_fd()).collect();
            let size = |k: &str, d: usize| spec.option(k).and_then(|v| v.parse().ok()).unwrap_or(d);
            let rx = size("rx-ring-size", super::tap_uring::RX_SLOTS);
            let tx = size("tx-ring-size", super::tap_uring::TX_SLOTS);
            match super::tap_uring::TapUring::new(&raw, rx, tx) {
                Ok(u) => Some(u),
                Err(e) if forced => return Err(e),
                Err(e) => {
                    uring_fallback = Some(e);
                    None
                }
            }
        };
        let dev = TapDevice {
            uring,
            uring_fallback,
            rx_per_queue: vec![0; fds.len()],
            fds,
            next_queue: 0,
            host_name,
            host_ns: spec.option("host-ns").map(str::to_string),
            scratch: if offloads & TUN_F_TSO4 != 0 {
                vec![0u8; GSO_MAX_FRAME].into_boxed_slice()
            } else {
                Box::default()
            },
            pending: None,
            tx_scratch: if coalesce {
                vec![0u8; GSO_MAX_FRAME].into_boxed_slice()
            } else {
                Box::default()
            },
        };
        dev.configure_host(spec)?;
        Ok(dev)
    }

    fn configure_host(&self, spec: &DeviceSpec) -> Result<(), String> {
        let name = self.host_name.as_str();
        let ns = self.host_ns.as_deref();
        // Frames must fit a buffer: the host MTU is Ethernet's default unless `host-mtu-size`
        // (at most MAX_HOST_MTU) says otherwise. MTU and MAC are set
        // here, before a move to another namespace (they survive it); only what must happen
        // in the pod's namespace runs `ip`.
        let mtu = spec
            .option("host-mtu-size")
            .and_then(|m| m.parse::<i32>().ok())
            .unwrap_or(1500);
        set_host_mtu(name, mtu)?;
        if let Some(mac) = spec.option("host-mac-addr") {
            set_host_mac(name, mac)?;
        }
        match ns {
            Some(ns) => {
                ip_cmd(None, &["link", "set", "dev", name, "netns", ns])?;
                ip_cmd(Some(ns), &["link", "set", "dev", name, "up"])?;
            }
            None => set_host_up(name)?,
        }
        if let Some(a) = spec.option("host-ip4-addr") {
            ip_cmd(ns, &["addr", "add", a, "dev", name])?;
        }
        if let Some(gw) = spec.option("host-ip4-gw") {
            // The gateway may be outside the host address's subnet (Contiv's virtual gateway).
            ip_cmd(ns, &["route", "add", gw, "dev", name])?;
            ip_cmd(ns, &["route", "add", "default", "via", gw, "dev", name])?;
        }
        Ok(())
    }
}

impl TapDevice {
    /// With `gro-coalesce`: the longest run (two segments or more) at the start of `bufs`
    /// merged into `tx_scratch`; (segments used, (bytes, virtio-net header)). Segments whose
    /// checksum nobody checked are verified first: the receiver trusts a coalesced frame.
    fn coalesce_run(
        &mut self,
        pool: &BufferPool,
        bufs: &[BufferIndex],
    ) -> Option<(usize, (usize, [u8; offload::VNET_HDR_LEN]))> {
        if self.tx_scratch.is_empty() || bufs.len() < 2 {
            return None;
        }
        let checked = |bi: BufferIndex| {
            pool.meta(bi).flags & flags::L4_CHECKSUM_CORRECT != 0
                || offload::l4_checksum_ok(pool.data(bi))
        };
        let first = pool.data(bufs[0]);
        let mut c = offload::Coalesce::start(first)?;
        if !checked(bufs[0]) {
            return None;
        }
        let mut n = 1;
        while n < bufs.len() && checked(bufs[n]) && c.push(first, pool.data(bufs[n])) {
            n += 1;
        }
        if n < 2 {
            return None;
        }
        let segs = bufs[..n].iter().map(|&bi| pool.data(bi));
        let w = c.write(segs, &mut self.tx_scratch)?;
        Some((n, w))
    }

    /// Write the super-frame's next segments into new buffers, as many as `out` has room for;
    /// what is left stays pending for the next burst.
    fn emit_segments(
        &mut self,
        mut p: Pending,
        pool: &mut BufferPool,
        out: &mut [BufferIndex],
        r: &mut RxBurst,
    ) {
        let want = (p.plan.count - p.next).min(out.len() - r.n);
        let got = pool.alloc(&mut out[r.n..r.n + want]);
        if got < want {
            r.no_buf += 1;
        }
        let frame = &self.scratch[..p.len];
        for k in 0..got {
            let bi = out[r.n + k];
            let n = p
                .plan
                .write(frame, p.next + k, pool.data_area_mut(bi))
                .unwrap_or(0);
            pool.set_length(bi, n);
            pool.meta_mut(bi).flags |= flags::L4_CHECKSUM_COMPUTED | flags::L4_CHECKSUM_CORRECT;
        }
        r.n += got;
        p.next += got;
        if p.next < p.plan.count && got > 0 {
            self.pending = Some(p);
        }
    }
}

impl Device for TapDevice {
    fn rx_burst(&mut self, pool: &mut BufferPool, out: &mut [BufferIndex], _now: u64) -> RxBurst {
        let mut r = RxBurst::default();
        if let Some(p) = self.pending.take() {
            self.emit_segments(p, pool, out, &mut r);
            if self.pending.is_some() {
                return r;
            }
        }
        if let Some(u) = self.uring.as_mut() {
            u.rx_burst(pool, out, &mut r);
            return r;
        }
        let nq = self.fds.len();
        for k in 0..nq {
            if r.n == out.len() || self.pending.is_some() {
                break;
            }
            let q = (self.next_queue + k) % nq;
            let before = r.n;
            self.rx_queue(q, pool, out, &mut r);
            self.rx_per_queue[q] += (r.n - before) as u64;
        }
        self.next_queue = (self.next_queue + 1) % nq;
        r
    }

    fn tx_burst(&mut self, pool: &BufferPool, bufs: &[BufferIndex], _now: u64) -> usize {
        match self.uring.as_mut() {
            Some(u) => u.tx_burst(0, pool, bufs),
            None => self.tx_queue(0, pool, bufs),
        }
    }

    fn fd(&self) -> Option<RawFd> {
        self.fds.first().map(|fd| fd.as_raw_fd())
    }

    fn rx_queues(&self) -> u32 {
        self.fds.len() as u32
    }

    fn ring_sizes(&self) -> Option<(u32, u32)> {
        self.uring_sizes().map(|(rx, tx)| (rx as u32, tx as u32))
    }

    fn wait_fds(&self, out: &mut Vec<RawFd>) {
        out.extend(self.fds.iter().map(|fd| fd.as_raw_fd()));
    }

    fn shutdown(&mut self) {
        // Closing the descriptors (on drop) removes the non-persistent tap; nothing else to undo.
    }

    fn retire_key(&self) -> Option<String> {
        // Unregistering the host interface waits for RCU grace periods (~16 ms).
        Some(tap_key(&self.host_name))
    }
}

impl TapDevice {
    /// Frames received per queue since creation.
    pub fn rx_per_queue(&self) -> &[u64] {
        match &self.uring {
            Some(u) => &u.rx_per_queue,
            None => &self.rx_per_queue,
        }
    }

    /// Whether reads and writes go through io_uring.
    pub fn io_uring(&self) -> bool {
        self.uring.is_some()
    }

    /// With io_uring: (reads in flight per queue, write slots).
    pub fn uring_sizes(&self) -> Option<(usize, usize)> {
        self.uring.as_ref().map(|u| (u.rx_slots, u.tx_slots))
    }

    /// The queue descriptors.
    pub fn queue_fds(&self) -> Vec<RawFd> {
        self.fds.iter().map(|fd| fd.as_raw_fd()).collect()
    }

    /// Read queue `q` until it is empty, `out` is full or a super-frame's segments are left
    /// pending.
    fn rx_queue(
        &mut self,
        q: usize,
        pool: &mut BufferPool,
        out: &mut [BufferIndex],
        r: &mut RxBurst,
    ) {
        let fd = self.fds[q].as_raw_fd();
        while r.n < out.len() {
            let Some(bi) = pool.alloc_one() else {
                r.no_buf += 1;
                break;
            };
            let mut hdr = [0u8; VNET_HDR_LEN];
            let area = pool.data_area_mut(bi);
            let area_len = area.len();
            let tail = self.scratch.get_mut(area_len..).unwrap_or_default();
            let iov = [
                libc::iovec {
                    iov_base: hdr.as_mut_ptr() as *mut libc::c_void,
                    iov_len: hdr.len(),
                },
                libc::iovec {
                    iov_base: area.as_mut_ptr() as *mut libc::c_void,
                    iov_len: area_len,
                },
                libc::iovec {
                    iov_base: tail.as_mut_ptr() as *mut libc::c_void,
                    iov_len: tail.len(),
                },
            ];
            let n_iov = if tail.is_empty() { 2 } else { 3 };
            // SAFETY: the iovecs point into live, writable memory of the stated lengths (a
            // local array, the buffer's data area and the device's scratch area), exclusively
            // borrowed for the call.
            let n = unsafe { libc::readv(fd, iov.as_ptr(), n_iov) };
            if n < 0 {
                pool.free(&[bi]);
                let e = std::io::Error::last_os_error();
                if e.kind() != std::io::ErrorKind::WouldBlock {
                    r.errors += 1;
                }
                break;
            }
            let len = (n as usize).saturating_sub(VNET_HDR_LEN);
            let mut h10 = [0u8; offload::VNET_HDR_LEN];
            h10.copy_from_slice(&hdr[..offload::VNET_HDR_LEN]);
            let vnet = offload::VnetHdr::parse(&h10);
            if len < 14 || (len > BUFFER_DATA_SIZE && vnet.gso_type == offload::VNET_GSO_NONE) {
                pool.free(&[bi]);
                r.errors += 1;
                continue;
            }
            if vnet.gso_type != offload::VNET_GSO_NONE {
                // A super-frame: made contiguous in the scratch area, then segmented.
                let head = len.min(area_len);
                let area = pool.data_area_mut(bi);
                if self.scratch.len() < len {
                    pool.free(&[bi]);
                    r.errors += 1;
                    continue;
                }
                self.scratch[..head].copy_from_slice(&area[..head]);
                pool.free(&[bi]);
                match offload::Segmentation::plan(
                    &self.scratch[..len],
                    vnet.gso_type,
                    vnet.gso_size,
                ) {
                    Some(plan) if plan.len(0) <= BUFFER_DATA_SIZE => {
                        self.emit_segments(Pending { plan, len, next: 0 }, pool, out, r);
                        if self.pending.is_some() {
                            break;
                        }
                    }
                    _ => r.errors += 1,
                }
                continue;
            }
            pool.set_length(bi, len);
            offload::finish_rx_checksum(pool, bi, &vnet);
            out[r.n] = bi;
            r.n += 1;
        }
    }

    /// Write the frames to queue `q`; returns how many were sent.
    fn tx_queue(&mut self, q: usize, pool: &BufferPool, bufs: &[BufferIndex]) -> usize {
        let fd = self.fds[q].as_raw_fd();
        let hdr = [0u8; VNET_HDR_LEN];
        let mut sent = 0;
        while sent < bufs.len() {
            // A run of segments of one TCP flow goes out as one super-frame.
            let run = self.coalesce_run(pool, &bufs[sent..]);
            if let Some((n, vnet)) = run {
                let mut h = [0u8; VNET_HDR_LEN];
                h[..offload::VNET_HDR_LEN].copy_from_slice(&vnet.1);
                let iov = [
                    libc::iovec {
                        iov_base: h.as_ptr() as *mut libc::c_void,
                        iov_len: h.len(),
                    },
                    libc::iovec {
                        iov_base: self.tx_scratch.as_ptr() as *mut libc::c_void,
                        iov_len: vnet.0,
                    },
                ];
                // SAFETY: the iovecs point to live memory of the stated lengths; writev only
                // reads.
                if unsafe { libc::writev(fd, iov.as_ptr(), 2) } < 0 {
                    break;
                }
                sent += n;
                continue;
            }
            let d = pool.data(bufs[sent]);
            let iov = [
                libc::iovec {
                    iov_base: hdr.as_ptr() as *mut libc::c_void,
                    iov_len: hdr.len(),
                },
                libc::iovec {
                    iov_base: d.as_ptr() as *mut libc::c_void,
                    iov_len: d.len(),
                },
            ];
            // SAFETY: the iovecs point to live memory of the stated lengths; writev only reads.
            let n = unsafe { libc::writev(fd, iov.as_ptr(), 2) };
            if n < 0 {
                // Full queue or interface down: the caller counts the rest as tx errors.
                break;
            }
            sent += 1;
        }
        sent
    }
}

/// (reads in flight per queue, write slots) of a tap running io_uring.
type RingSizes = Option<(usize, usize)>;

/// `show tap [IF]`: each tap with its host side (name, namespace, MAC, address: which pod it
/// is), in the layout of VPP's `show tap`.
pub fn show_tap(dp: &mut crate::Dataplane, a: &mut cli::Args) -> Result<String, cli::CliError> {
    use std::fmt::Write;
    let want = a.next_word();
    a.expect_end()?;
    let im = dp.interface_main();
    if let Some(w) = &want {
        let tap = im.by_name(w).map(|sw| im.hw[sw.hw_if_index as usize].class);
        match tap {
            None => return Err(cli::CliError::new(format!("unknown interface `{w}`"))),
            Some(c) if c != crate::interface::DeviceClass::Tap => {
                return Err(cli::CliError::new(format!("`{w}` is not a tap interface")))
            }
            _ => {}
        }
    }
    let mut s = String::new();
    for h in &im.hw {
        let sw = &im.sw[h.sw_if_index as usize];
        if h.class != crate::interface::DeviceClass::Tap
            || sw.deleted
            || want.as_deref().is_some_and(|w| w != sw.name)
        {
            continue;
        }
        let opt = |k: &str| {
            h.options
                .iter()
                .find(|(o, _)| o == k)
                .map(|(_, v)| v.as_str())
        };
        let _ = writeln!(s, "Interface: {} (ifindex {})", sw.name, h.hw_if_index);
        let default_name = format!("tap{}", h.dev_instance);
        let _ = writeln!(
            s,
            "  name \"{}\"",
            opt("host-if-name").unwrap_or(&default_name)
        );
        if let Some(ns) = opt("host-ns") {
            let _ = writeln!(s, "  host-ns \"{ns}\"");
        }
        if let Some(m) = opt("host-mac-addr") {
            let _ = writeln!(s, "  host-mac-addr: {m}");
        }
        if let Some(ip) = opt("host-ip4-addr") {
            let _ = writeln!(s, "  host-ip4-addr: {ip}");
        }
        if let Some(gw) = opt("host-ip4-gw") {
            let _ = writeln!(s, "  host-ip4-gw: {gw}");
        }
        let _ = writeln!(s, "  host-carrier-up: {}", u8::from(h.link_up));
        // (descriptor, frames received) per queue of a live tap, and the io_uring ring sizes
        // if io_uring runs.
        let (queues, uring): (Vec<(RawFd, u64)>, RingSizes) = dp
            .devices
            .get(h.sw_if_index as usize)
            .and_then(|d| d.as_ref())
            .map(|d| {
                let d = d.lock();
                let any: &dyn std::any::Any = &**d;
                any.downcast_ref::<TapDevice>()
                    .map(|t| {
                        let q = t.queue_fds().into_iter();
                        (
                            q.zip(t.rx_per_queue().iter().copied()).collect(),
                            t.uring_sizes(),
                        )
                    })
                    .unwrap_or_default()
            })
            .unwrap_or_default();
        if dp.mode == crate::Mode::Live && !queues.is_empty() {
            let fds: Vec<String> = queues.iter().map(|q| q.0.to_string()).collect();
            let _ = writeln!(s, "  tap-fds {}", fds.join(" "));
        } else {
            let _ = writeln!(s, "  tap-fds (replay: pcap-backed)");
        }
        let gso = u8::from(opt("gso").is_some() || opt("gro-coalesce").is_some());
        let csum = u8::from(gso == 1 || opt("csum-offload").is_some());
        let _ = writeln!(s, "  gso-enabled {gso}");
        let _ = writeln!(s, "  csum-enabled {csum}");
        let _ = writeln!(
            s,
            "  packet-coalesce {}",
            u8::from(opt("gro-coalesce").is_some())
        );
        let _ = writeln!(s, "  io-uring {}", u8::from(uring.is_some()));
        let _ = writeln!(s, "  mac Address: {}", crate::interface::format_mac(&h.mac));
        let _ = writeln!(s, "  device instance: {}", h.dev_instance);
        let _ = writeln!(
            s,
            "  admin state: {}",
            if sw.admin_up { "up" } else { "down" }
        );
        if dp.mode == crate::Mode::Live && !queues.is_empty() {
            // VPP prints its virtqueues here; ours are the kernel's tap queues.
            // qsz: the reads (writes) kept in flight with io_uring; readv/writev has no ring.
            let (rx, tx) = match uring {
                Some((rx, tx)) => (format!("qsz {rx}, "), format!("qsz {tx}, ")),
                None => (String::new(), String::new()),
            };
            let _ = writeln!(s, "  Number of RX Virtqueue  {}", queues.len());
            let _ = writeln!(s, "  Number of TX Virtqueue  1");
            for (q, (fd, n)) in queues.iter().enumerate() {
                let _ = writeln!(
                    s,
                    "  Virtqueue (RX) {q}\n    {rx}tap-fd {fd}, frames received {n}"
                );
            }
            let _ = writeln!(s, "  Virtqueue (TX) 0\n    {tx}tap-fd {}", queues[0].0);
        }
    }
    Ok(s.trim_end().to_string())
}
