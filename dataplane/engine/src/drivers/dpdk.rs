//! DPDK driver (cargo feature `dpdk`): ports of Debian's DPDK 22.11 through our `dpdk-sys`
//! crate, polled by `dpdk-input`, transmitted by `<if>-tx` (both trace as VPP's DPDK driver).
//!
//! - EAL is started once per process, from the `dpdk { }` section of startup.conf
//!   ([`init_from_startup`]) or, when `create interface dpdk` comes first, with the defaults
//!   (`--no-huge -m 512 --no-pci`). Without hugepages EAL runs `--no-huge -m 512 --no-shconf`
//!   (multi-process IPC off), on the CPUs the process may use (`--lcores 0@(...)`, so the calling
//!   thread is not pinned to one core), with `--no-telemetry`. The PMDs (net_af_packet, net_pcap, the mempool driver, the buses)
//!   are loaded by EAL from Debian's plugin directory, as a shared DPDK build does.
//! - One mbuf pool (`num-mbufs`, default 16384 mbufs of 2176 bytes) serves every port.
//! - A port is a PCI device (`dev 0000:00:08.0`, hot-plugged with `rte_dev_probe` if EAL did not
//!   probe it) or a virtual device (`vdev net_af_packet0,iface=veth0`, created with
//!   `rte_vdev_init`); it gets its queues, promiscuous mode, and is started.
//!
//! Interfaces are named as VPP names them: `GigabitEthernet0/8/0` from the PCI address, and the
//! device name for vdevs (`net_af_packet0`, `net_pcap0`). Their MAC is the port's, unless
//! `hw-addr` gives one (then the port is asked to take it too).
//!
//! Mbufs are copied into our buffers on receive and out of them on transmit, not wrapped. The
//! buffer pool is the engine's own memory with its own metadata and free list, shared by every
//! driver; PMDs fill mbufs from the mempool given at queue setup, so receiving into our buffers
//! would need a mempool driver over the pool (and pool-wide buffer ownership rules), and
//! `Device::tx_burst` hands buffers back to the caller when it returns, while a PMD keeps a
//! transmitted mbuf until the NIC is done with it. Allocating a buffer, copying 64, 512 or 1500
//! bytes into it and freeing it costs 5, 8 and 21 ns (release build, `copy_cost_per_frame` in
//! `tests/live_dpdk.rs`), against about 2 µs of CPU per packet forwarded through the af_packet
//! PMD on a veth (ci/throughput.sh): under 1 %. Zero copy is worth its complexity only with real
//! NICs at line rate, and needs the engine's pool to become a mempool driver first.

use std::ffi::{c_char, c_void, CStr, CString};
use std::ptr::NonNull;

use parking_lot::Mutex;

use dpdk_sys as sys;

use crate::buffer::{BufferIndex, BufferPool, BUFFER_DATA_SIZE};
use crate::commands::{create_device_interface, default_mac, dpdk_name_from_pci};
use crate::interface::{Device, DeviceClass, RxBurst};
use crate::{Dataplane, DeviceSpec, Mode};

/// Packets per burst (and per `rte_eth_*_burst` call).
const BURST: usize = 256;
/// Descriptors per queue.
const RING_SIZE: u16 = 1024;
/// Default mbufs in the pool.
pub const DEFAULT_NUM_MBUFS: u32 = 16384;
/// Per-lcore mbuf cache.
const MBUF_CACHE: u32 = 256;
/// MAC kind byte of default MACs for DPDK interfaces (see `create interface dpdk`).
const MAC_KIND: u8 = 0x40;

/// One `dev` of the `dpdk { }` section.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DpdkDevConfig {
    /// PCI address (`0000:00:08.0`).
    pub pci: String,
    /// Interface name (default: VPP's from the PCI address).
    pub name: Option<String>,
    /// Receive queues (default 1).
    pub num_rx_queues: Option<u32>,
    /// Transmit queues (default 1).
    pub num_tx_queues: Option<u32>,
}

/// The `dpdk { }` section as plain values (the daemon converts its startup types into this).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EalConfig {
    /// PCI devices.
    pub devs: Vec<DpdkDevConfig>,
    /// Virtual devices, as given to `--vdev`.
    pub vdevs: Vec<String>,
    /// Run without hugepages.
    pub no_huge: bool,
    /// Memory per socket in MB (`socket-mem`), used with hugepages.
    pub socket_mem: Option<String>,
    /// Do not probe PCI.
    pub no_pci: bool,
    /// Mbufs in the pool.
    pub num_mbufs: Option<u32>,
    /// More EAL arguments, appended as given.
    pub extra_args: Vec<String>,
}

impl EalConfig {
    /// What `create interface dpdk` uses when nothing started EAL before: no hugepages, no PCI.
    pub fn live_default() -> Self {
        EalConfig {
            no_huge: true,
            no_pci: true,
            ..Default::default()
        }
    }

    /// EAL's argument vector (argv[0] included).
    pub fn eal_args(&self) -> Vec<String> {
        let mut a = vec!["dataplane".to_string()];
        if self.no_huge {
            // --no-huge implies legacy memory, which EAL refuses with --in-memory; --no-shconf
            // alone already disables the shared config files and multi-process IPC.
            a.extend(["--no-huge", "-m", "512", "--no-shconf"].map(String::from));
        } else {
            if let Some(m) = &self.socket_mem {
                a.extend(["--socket-mem".to_string(), m.clone()]);
            }
            a.push("--in-memory".into());
        }
        if self.no_pci {
            a.push("--no-pci".into());
        } else {
            for d in &self.devs {
                a.extend(["-a".to_string(), d.pci.clone()]);
            }
        }
        for v in &self.vdevs {
            a.extend(["--vdev".to_string(), v.clone()]);
        }
        a.extend(["--lcores".to_string(), format!("0@({})", allowed_cpus())]);
        a.extend(["--no-telemetry", "--log-level", "notice"].map(String::from));
        a.extend(self.extra_args.iter().cloned());
        a
    }
}

/// The CPUs this process may run on, as EAL's list syntax (`0,1`).
fn allowed_cpus() -> String {
    // SAFETY: cpu_set_t is plain data; zeroed is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: set is a valid cpu_set_t of the size passed.
    let rc =
        unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) };
    let cpus: Vec<String> = (0..libc::CPU_SETSIZE as usize)
        // SAFETY: set is initialised and i < CPU_SETSIZE.
        .filter(|&i| rc == 0 && unsafe { libc::CPU_ISSET(i, &set) })
        .map(|i| i.to_string())
        .collect();
    if cpus.is_empty() {
        "0".into()
    } else {
        cpus.join(",")
    }
}

/// The mbuf pool pointer (shared by every port; DPDK's mempool is thread-safe).
#[derive(Clone, Copy)]
struct Pool(NonNull<sys::rte_mempool>);
// SAFETY: an rte_mempool is made for use from any thread (its default ring handler is
// multi-producer/multi-consumer); the pointer lives until the process exits.
unsafe impl Send for Pool {}

/// EAL, once per process.
struct Eal {
    pool: Pool,
    args: Vec<String>,
}

/// EAL state: not started (None), running, or failed to start (EAL cannot be started twice, so
/// the failure is kept and repeated). The mutex also serialises every control-path call
/// (ethdev's control API is not thread-safe), while the data path of a port is serialised by its
/// device mutex.
static EAL: Mutex<Option<Result<Eal, String>>> = Mutex::new(None);

fn rte_err(what: &str, rc: i32) -> String {
    let e = if rc < 0 {
        -rc
    } else {
        // SAFETY: reads this thread's rte_errno.
        unsafe { sys::dp_rte_errno() }
    };
    // SAFETY: rte_strerror returns a static or thread-local NUL-terminated string.
    let s = unsafe { CStr::from_ptr(sys::rte_strerror(e)) }.to_string_lossy();
    format!("dpdk: {what}: {s}")
}

/// Start EAL with `cfg` unless it runs already; returns the arguments it runs with.
pub fn eal_init(cfg: &EalConfig) -> Result<Vec<String>, String> {
    let mut g = EAL.lock();
    eal_init_locked(&mut g, cfg).map(|e| e.args.clone())
}

fn eal_init_locked<'a>(
    g: &'a mut Option<Result<Eal, String>>,
    cfg: &EalConfig,
) -> Result<&'a Eal, String> {
    if g.is_none() {
        *g = Some(eal_start(cfg));
    }
    match g.as_ref().expect("set above") {
        Ok(e) => Ok(e),
        Err(m) => Err(m.clone()),
    }
}

fn eal_start(cfg: &EalConfig) -> Result<Eal, String> {
    let args = cfg.eal_args();
    let cargs: Vec<CString> = args
        .iter()
        .map(|a| CString::new(a.as_str()).map_err(|_| format!("dpdk: bad EAL argument `{a}`")))
        .collect::<Result<_, _>>()?;
    // EAL may keep pointers into argv (device arguments), so the strings live for the process.
    let leaked: Vec<*mut c_char> = cargs.into_iter().map(|c| c.into_raw()).collect();
    let argv: &'static mut [*mut c_char] = Vec::leak(leaked);
    // SAFETY: argv holds argc valid NUL-terminated strings that are never freed; EAL is
    // initialised at most once (the caller holds the EAL mutex and records the outcome).
    let rc = unsafe { sys::rte_eal_init(argv.len() as i32, argv.as_mut_ptr()) };
    if rc < 0 {
        let mut m = rte_err(&format!("EAL init ({}) failed", args.join(" ")), -1);
        if !cfg.no_huge {
            m.push_str(" (no hugepages here? add `no-huge` to the dpdk section)");
        }
        return Err(m);
    }
    let n = cfg
        .num_mbufs
        .unwrap_or(DEFAULT_NUM_MBUFS)
        .max(BURST as u32 * 4);
    let name = CString::new("dataplane_mbufs").expect("no NUL");
    // SAFETY: EAL is initialised; name is NUL-terminated; sizes are DPDK's defaults.
    let mp = unsafe {
        sys::rte_pktmbuf_pool_create(
            name.as_ptr(),
            n,
            MBUF_CACHE,
            0,
            sys::RTE_MBUF_DEFAULT_BUF_SIZE as u16,
            sys::rte_socket_id() as i32,
        )
    };
    let pool = NonNull::new(mp).ok_or_else(|| rte_err("cannot create the mbuf pool", -1))?;
    Ok(Eal {
        pool: Pool(pool),
        args,
    })
}

/// Whether EAL runs in this process.
pub fn eal_running() -> bool {
    matches!(*EAL.lock(), Some(Ok(_)))
}

/// Free mbufs in the pool (None before EAL runs).
pub fn mbufs_available() -> Option<u32> {
    let g = EAL.lock();
    match &*g {
        // SAFETY: the pool pointer is valid for the process.
        Some(Ok(e)) => Some(unsafe { sys::rte_mempool_avail_count(e.pool.0.as_ptr()) }),
        _ => None,
    }
}

fn port_by_name(name: &str) -> Option<u16> {
    let c = CString::new(name).ok()?;
    let mut port = 0u16;
    // SAFETY: c is NUL-terminated; port is writable.
    (unsafe { sys::rte_eth_dev_get_port_by_name(c.as_ptr(), &mut port) } == 0).then_some(port)
}

/// A DPDK port.
pub struct DpdkDevice {
    port: u16,
    /// DPDK's device name (`net_af_packet0`, `0000:00:08.0`).
    pub dev_name: String,
    /// Set for virtual devices: removed with `rte_vdev_uninit` on shutdown.
    vdev: bool,
    n_rx_queues: u16,
    next_queue: u16,
    pool: Pool,
    /// The port's MAC address.
    pub mac: [u8; 6],
    running: bool,
    /// DPDK's `net_af_packet` over a host interface: frames from a local (veth) peer may carry
    /// partial checksums that the PMD does not mark, so each TCP/UDP frame is checked for one.
    host_peer: bool,
}

// SAFETY: the port is used only through &mut self (the device mutex) and the pool is
// thread-safe; DPDK burst functions may run on any thread, one at a time per queue.
unsafe impl Send for DpdkDevice {}

/// What a port is opened from.
#[derive(Clone, Debug)]
pub enum PortSource {
    /// A PCI address.
    Pci(String),
    /// A vdev string (`net_pcap0,rx_pcap=in.pcap,tx_pcap=out.pcap`).
    Vdev(String),
}

impl DpdkDevice {
    /// Find or create the port, configure `rxq`/`txq` queues, enable promiscuous mode and start
    /// it. `mac`: an address to give the port (from `hw-addr`).
    pub fn open(
        src: &PortSource,
        rxq: u16,
        txq: u16,
        mac: Option<[u8; 6]>,
    ) -> Result<Self, String> {
        let mut g = EAL.lock();
        let eal = eal_init_locked(&mut g, &EalConfig::live_default())?;
        let pool = eal.pool;
        let (dev_name, vdev) = match src {
            PortSource::Pci(p) => (p.clone(), false),
            PortSource::Vdev(v) => (v.split(',').next().unwrap_or(v).to_string(), true),
        };
        let port = match port_by_name(&dev_name) {
            Some(p) => p,
            None => {
                match src {
                    PortSource::Pci(p) => {
                        let c = CString::new(p.as_str()).map_err(|_| "bad PCI address")?;
                        // SAFETY: c is NUL-terminated; EAL runs.
                        let rc = unsafe { sys::rte_dev_probe(c.as_ptr()) };
                        if rc < 0 {
                            return Err(rte_err(
                                &format!(
                                    "cannot probe PCI device {p} (bound to vfio-pci or uio? EAL started with `{}`)",
                                    eal.args.join(" ")
                                ),
                                rc,
                            ));
                        }
                    }
                    PortSource::Vdev(v) => {
                        let (name, args) = v.split_once(',').unwrap_or((v.as_str(), ""));
                        let cn = CString::new(name).map_err(|_| "bad vdev name")?;
                        let ca = CString::new(args).map_err(|_| "bad vdev arguments")?;
                        // SAFETY: both strings are NUL-terminated; EAL runs.
                        let rc = unsafe { sys::rte_vdev_init(cn.as_ptr(), ca.as_ptr()) };
                        if rc < 0 {
                            return Err(rte_err(&format!("cannot create vdev `{v}`"), rc));
                        }
                    }
                }
                port_by_name(&dev_name).ok_or_else(|| {
                    format!("dpdk: `{dev_name}` was probed but has no ethernet port")
                })?
            }
        };
        let host_peer = vdev && dev_name.starts_with("net_af_packet");
        let mut dev = DpdkDevice {
            port,
            dev_name,
            vdev,
            host_peer,
            n_rx_queues: 0,
            next_queue: 0,
            pool,
            mac: [0; 6],
            running: false,
        };
        // From here on, dropping `dev` stops and closes the port; release the lock first.
        drop(g);
        dev.configure(rxq, txq, mac)?;
        Ok(dev)
    }

    fn configure(&mut self, rxq: u16, txq: u16, mac: Option<[u8; 6]>) -> Result<(), String> {
        let _g = EAL.lock();
        let port = self.port;
        let mut info = sys::rte_eth_dev_info::default();
        // SAFETY: port is a valid port id; info is writable.
        let rc = unsafe { sys::rte_eth_dev_info_get(port, &mut info) };
        if rc != 0 {
            return Err(rte_err("cannot read device info", rc));
        }
        let rxq = rxq.clamp(1, info.max_rx_queues.max(1));
        let txq = txq.clamp(1, info.max_tx_queues.max(1));
        let conf = sys::rte_eth_conf::default();
        // SAFETY: conf is a zeroed rte_eth_conf (DPDK's documented default); port valid.
        let rc = unsafe { sys::rte_eth_dev_configure(port, rxq, txq, &conf) };
        if rc < 0 {
            return Err(rte_err(&format!("cannot configure port {port}"), rc));
        }
        // SAFETY: port valid.
        let socket = unsafe { sys::rte_eth_dev_socket_id(port) };
        let socket = if socket < 0 { 0 } else { socket as u32 };
        for q in 0..rxq {
            // SAFETY: port and queue valid; null rx_conf selects the driver's defaults; the pool
            // outlives the port.
            let rc = unsafe {
                sys::rte_eth_rx_queue_setup(
                    port,
                    q,
                    RING_SIZE,
                    socket,
                    std::ptr::null(),
                    self.pool.0.as_ptr(),
                )
            };
            if rc < 0 {
                return Err(rte_err(&format!("cannot set up rx queue {q}"), rc));
            }
        }
        for q in 0..txq {
            // SAFETY: as above, null tx_conf for defaults.
            let rc = unsafe {
                sys::rte_eth_tx_queue_setup(port, q, RING_SIZE, socket, std::ptr::null())
            };
            if rc < 0 {
                return Err(rte_err(&format!("cannot set up tx queue {q}"), rc));
            }
        }
        if let Some(m) = mac {
            let mut a = sys::rte_ether_addr { addr_bytes: m };
            // Best effort: not every PMD can change its address; promiscuous mode covers it.
            // SAFETY: port valid; a is a valid address.
            unsafe { sys::rte_eth_dev_default_mac_addr_set(port, &mut a) };
        }
        // SAFETY: port valid.
        let rc = unsafe { sys::rte_eth_dev_start(port) };
        if rc < 0 {
            return Err(rte_err(&format!("cannot start port {port}"), rc));
        }
        self.running = true;
        // Promiscuous mode: the interface's MAC may be one the port does not know; some PMDs
        // (pcap) have no such mode, which is fine.
        // SAFETY: port valid and started.
        unsafe {
            sys::rte_eth_promiscuous_enable(port);
        }
        let mut a = sys::rte_ether_addr::default();
        // SAFETY: port valid; a writable.
        if unsafe { sys::rte_eth_macaddr_get(port, &mut a) } == 0 {
            self.mac = a.addr_bytes;
        }
        self.n_rx_queues = rxq;
        Ok(())
    }

    /// DPDK's port id.
    pub fn port_id(&self) -> u16 {
        self.port
    }

    /// The port's counters (`rte_eth_stats_get`): packets in, out, missed, errors.
    pub fn stats(&self) -> Option<(u64, u64, u64, u64)> {
        let mut s = sys::rte_eth_stats::default();
        // SAFETY: port valid; s writable.
        (unsafe { sys::rte_eth_stats_get(self.port, &mut s) } == 0)
            .then_some((s.ipackets, s.opackets, s.imissed, s.ierrors))
    }
}

impl Device for DpdkDevice {
    fn rx_burst(&mut self, pool: &mut BufferPool, out: &mut [BufferIndex], _now: u64) -> RxBurst {
        let mut r = RxBurst::default();
        if !self.running {
            return r;
        }
        let mut mbufs = [std::ptr::null_mut::<sys::rte_mbuf>(); BURST];
        let mut data = [std::ptr::null::<c_void>(); BURST];
        let mut len = [0u32; BURST];
        for k in 0..self.n_rx_queues {
            let want = (out.len() - r.n).min(BURST);
            // Take no more mbufs than there are buffers: the rest waits in the ring.
            let avail = (pool.total() - pool.in_use()) as usize;
            if avail < want {
                r.no_buf += 1;
            }
            let want = want.min(avail);
            if want == 0 {
                break;
            }
            let q = (self.next_queue + k) % self.n_rx_queues;
            // SAFETY: the port runs with this queue; mbufs has room for `want` pointers.
            let n =
                unsafe { sys::dp_rte_eth_rx_burst(self.port, q, mbufs.as_mut_ptr(), want as u16) }
                    as usize;
            if n == 0 {
                continue;
            }
            // SAFETY: mbufs[..n] are mbufs just received; data/len have room for n entries.
            unsafe {
                sys::dp_mbufs_rx_view(
                    mbufs.as_ptr(),
                    n as u16,
                    data.as_mut_ptr(),
                    len.as_mut_ptr(),
                )
            };
            let got = pool.alloc(&mut out[r.n..r.n + n]);
            let mut kept = 0;
            for i in 0..got {
                let l = len[i] as usize;
                if !(14..=BUFFER_DATA_SIZE).contains(&l) {
                    // Runt, or chained (jumbo) frame that does not fit one buffer.
                    r.errors += 1;
                    continue;
                }
                // SAFETY: data[i] points to the l bytes of mbuf i's single segment, alive until
                // the mbufs are freed below.
                let frame = unsafe { std::slice::from_raw_parts(data[i] as *const u8, l) };
                let bi = out[r.n + kept];
                pool.fill(bi, frame);
                if self.host_peer {
                    super::offload::repair_partial_checksum(pool.data_mut(bi));
                }
                kept += 1;
            }
            r.no_buf += (n - got) as u64;
            pool.free(&out[r.n + kept..r.n + got]);
            // SAFETY: mbufs[..n] are ours (received) and no view into them is used any more.
            unsafe { sys::rte_pktmbuf_free_bulk(mbufs.as_mut_ptr(), n as u32) };
            r.n += kept;
            if r.n == out.len() {
                break;
            }
        }
        self.next_queue = (self.next_queue + 1) % self.n_rx_queues.max(1);
        r
    }

    fn tx_burst(&mut self, pool: &BufferPool, bufs: &[BufferIndex], _now: u64) -> usize {
        if !self.running {
            return 0;
        }
        let mut sent = 0;
        let mut mbufs = [std::ptr::null_mut::<sys::rte_mbuf>(); BURST];
        let mut data = [std::ptr::null_mut::<c_void>(); BURST];
        let mut len = [0u16; BURST];
        for chunk in bufs.chunks(BURST) {
            let n = chunk.len();
            // SAFETY: the pool is valid; mbufs has room for n pointers.
            if unsafe {
                sys::dp_rte_pktmbuf_alloc_bulk(self.pool.0.as_ptr(), mbufs.as_mut_ptr(), n as u32)
            } != 0
            {
                break;
            }
            for (k, &bi) in chunk.iter().enumerate() {
                len[k] = pool.data(bi).len() as u16;
            }
            // SAFETY: mbufs[..n] are fresh mbufs; len/data have n entries.
            let ready = unsafe {
                sys::dp_mbufs_tx_prepare(mbufs.as_ptr(), n as u16, len.as_ptr(), data.as_mut_ptr())
            } as usize;
            for (k, &bi) in chunk[..ready].iter().enumerate() {
                let d = pool.data(bi);
                // SAFETY: data[k] points to len[k] == d.len() writable bytes appended to mbuf k,
                // which does not overlap our buffer pool.
                unsafe { std::ptr::copy_nonoverlapping(d.as_ptr(), data[k] as *mut u8, d.len()) };
            }
            // SAFETY: mbufs[..ready] are prepared packets; the PMD takes ownership of those it
            // accepts.
            let tx =
                unsafe { sys::dp_rte_eth_tx_burst(self.port, 0, mbufs.as_mut_ptr(), ready as u16) }
                    as usize;
            if tx < n {
                // SAFETY: mbufs[tx..n] were not taken by the PMD and are still ours.
                unsafe { sys::rte_pktmbuf_free_bulk(mbufs[tx..n].as_mut_ptr(), (n - tx) as u32) };
            }
            sent += tx;
            if tx < n {
                break;
            }
        }
        sent
    }

    fn shutdown(&mut self) {
        if !self.running && self.n_rx_queues == 0 && !self.vdev {
            return;
        }
        let _g = EAL.lock();
        // SAFETY: the port is valid until closed here; nothing polls it once the device is shut
        // down (the input node dropped it, and we hold the device).
        unsafe {
            if self.running {
                sys::rte_eth_dev_stop(self.port);
            }
            sys::rte_eth_dev_close(self.port);
        }
        self.running = false;
        self.n_rx_queues = 0;
        if self.vdev {
            if let Ok(c) = CString::new(self.dev_name.as_str()) {
                // SAFETY: c is NUL-terminated; the port is closed.
                unsafe { sys::rte_vdev_uninit(c.as_ptr()) };
            }
            self.vdev = false;
        }
    }
}

impl Drop for DpdkDevice {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn dpdk_factory(
    dp: &mut Dataplane,
    spec: &DeviceSpec,
) -> Result<crate::interface::DeviceHandle, String> {
    let src = match (spec.option("dev"), spec.option("vdev")) {
        (Some(p), _) => PortSource::Pci(p.to_string()),
        (None, Some(v)) => PortSource::Vdev(v.to_string()),
        _ => return Err("dpdk: expected `dev <pci-address>` or `vdev <name>`".into()),
    };
    let q = |k: &str| -> Result<u16, String> {
        spec.option(k)
            .map(|v| v.parse::<u16>().map_err(|_| format!("dpdk: bad {k} `{v}`")))
            .transpose()
            .map(|v| v.unwrap_or(1))
    };
    let default = default_mac(MAC_KIND, spec.instance);
    let explicit_mac = spec.mac.filter(|m| *m != default);
    let dev = DpdkDevice::open(&src, q("num-rx-queues")?, q("num-tx-queues")?, explicit_mac)?;
    if explicit_mac.is_none() {
        super::af_xdp::device_mac::offer(dp, &spec.name, DeviceClass::Dpdk, dev.mac);
    }
    Ok(crate::interface::device_handle(dev))
}

/// Install the DPDK factory (`create interface dpdk` in live mode).
pub fn install(dp: &mut Dataplane) {
    dp.device_factories.insert(DeviceClass::Dpdk, dpdk_factory);
}

/// Interface name of a vdev: the device name before its arguments (`net_af_packet0`).
pub fn vdev_interface_name(vdev: &str) -> String {
    vdev.split(',').next().unwrap_or(vdev).to_string()
}

/// Create a DPDK interface on a PCI device or vdev (what `create interface dpdk` does, callable
/// with vdev arguments: `net_pcap0,rx_pcap=in.pcap,tx_pcap=out.pcap`). `name` defaults to VPP's
/// name for the PCI address or the vdev's device name; `mac` to the port's address. In replay mode
/// the interface is memory-backed. Returns the sw_if_index.
pub fn create_interface(
    dp: &mut Dataplane,
    src: &PortSource,
    name: Option<&str>,
    mac: Option<[u8; 6]>,
    queues: (Option<u32>, Option<u32>),
) -> Result<u32, String> {
    let name = match (name, src) {
        (Some(n), _) => n.to_string(),
        (None, PortSource::Pci(p)) => dpdk_name_from_pci(p).ok_or_else(|| {
            format!("dpdk: `{p}` is not a PCI address; expected DDDD:BB:DD.F such as 0000:00:08.0")
        })?,
        (None, PortSource::Vdev(v)) => vdev_interface_name(v),
    };
    let mut spec = DeviceSpec {
        name,
        class: Some(DeviceClass::Dpdk),
        instance: dp.interface_main().hw.len() as u32,
        mac,
        ..Default::default()
    };
    match src {
        PortSource::Pci(p) => spec.options.push(("dev".into(), p.clone())),
        PortSource::Vdev(v) => spec.options.push(("vdev".into(), v.clone())),
    }
    if let Some(n) = queues.0 {
        spec.options.push(("num-rx-queues".into(), n.to_string()));
    }
    if let Some(n) = queues.1 {
        spec.options.push(("num-tx-queues".into(), n.to_string()));
    }
    create_device_interface(dp, spec, DeviceClass::Dpdk, MAC_KIND)
}

/// Start EAL from the startup configuration's `dpdk { }` section and create an interface for
/// every `dev` and `vdev` in it (in replay mode: memory-backed interfaces of the same names, and
/// no EAL). Returns the sw_if_indices created, in order.
pub fn init_from_startup(dp: &mut Dataplane, cfg: &EalConfig) -> Result<Vec<u32>, String> {
    if dp.mode == Mode::Live {
        eal_init(cfg)?;
        install(dp);
    }
    let mut created = Vec::new();
    for d in &cfg.devs {
        let src = PortSource::Pci(d.pci.clone());
        let q = (d.num_rx_queues, d.num_tx_queues);
        created.push(create_interface(dp, &src, d.name.as_deref(), None, q)?);
    }
    for v in &cfg.vdevs {
        let src = PortSource::Vdev(v.clone());
        created.push(create_interface(dp, &src, None, None, (None, None))?);
    }
    Ok(created)
}

/// DPDK's version string (`DPDK 22.11.11`).
pub fn version() -> String {
    // SAFETY: rte_version returns a static NUL-terminated string (no EAL needed).
    unsafe { CStr::from_ptr(sys::rte_version()) }
        .to_string_lossy()
        .into_owned()
}
