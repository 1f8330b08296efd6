//! A live forwarder for measurements (ci/throughput.sh): two interfaces on host interfaces, a CLI
//! script (addresses, routes, static neighbours), then a busy-polling main loop until SIGINT or
//! SIGTERM (or `--seconds`) (with `--adaptive`, sleeping in poll(2) on the devices when idle), then `show interface`, `show errors` and `show runtime`.
//!
//! ```text
//! live_forward --driver af_xdp|dpdk --if IFNAME --if IFNAME --exec FILE [--seconds N]
//!              [--xdp-mode native|skb] [--adaptive]
//! ```
//!
//! The interfaces are named `if0` and `if1` for the script. `af_xdp` opens AF_XDP sockets on the
//! host interfaces; `dpdk` (needs `--features dpdk`) starts EAL without hugepages and makes
//! `net_af_packet` vdevs on them.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use dataplane::App;
use engine::Mode;

static STOP: AtomicBool = AtomicBool::new(false);

/// Empty main-loop iterations before sleeping in poll(2).
const IDLE_POLLS: u32 = 256;

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::Relaxed);
}

fn usage() -> ! {
    eprintln!(
        "usage: live_forward --driver af_xdp|dpdk --if IFNAME --if IFNAME --exec FILE [--seconds N] [--xdp-mode native|skb] [--adaptive]"
    );
    std::process::exit(2)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut driver, mut ifs, mut exec, mut seconds) = (None, Vec::new(), None, None);
    let mut xdp_mode = "native".to_string();
    let mut adaptive = false;
    while let Some(a) = args.next() {
        let mut val = || args.next().unwrap_or_else(|| usage());
        match a.as_str() {
            "--driver" => driver = Some(val()),
            "--if" => ifs.push(val()),
            "--exec" => exec = Some(val()),
            "--seconds" => seconds = Some(val().parse::<u64>().unwrap_or_else(|_| usage())),
            "--xdp-mode" => xdp_mode = val(),
            "--adaptive" => adaptive = true,
            _ => usage(),
        }
    }
    let (Some(driver), Some(exec)) = (driver, exec) else {
        usage()
    };
    if ifs.len() != 2 {
        usage();
    }
    let mut app = App::new(Mode::Live);
    engine::drivers::install(&mut app.dp);
    for (k, host) in ifs.iter().enumerate() {
        let r = match driver.as_str() {
            "af_xdp" => create_af_xdp(&mut app, k, host, &xdp_mode),
            "dpdk" => create_dpdk(&mut app, k, host),
            _ => usage(),
        };
        if let Err(e) = r {
            eprintln!("live_forward: {host}: {e}");
            std::process::exit(1);
        }
    }
    if let Err(e) = app.exec_file(std::path::Path::new(&exec)) {
        eprintln!("live_forward: {e}");
        std::process::exit(1);
    }
    // SAFETY: on_signal only stores to an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
    }
    println!("live_forward: forwarding on {} ({driver})", ifs.join(", "));
    let end = seconds.map(|s| Instant::now() + Duration::from_secs(s));
    let mut n: u64 = 0;
    // Poll, as VPP's polling mode does. `--adaptive`: after a run of empty polls, sleep in poll(2)
    // on the devices' descriptors (1 ms at most), leaving the CPU to others when idle.
    let fds: Vec<libc::pollfd> = app
        .dp
        .devices
        .iter()
        .flatten()
        .filter_map(|d| d.lock().fd())
        .map(|fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    let mut idle = 0u32;
    while !STOP.load(Ordering::Relaxed) {
        if app.dp.graph.run_once() == 0 {
            idle += 1;
        } else {
            idle = 0;
        }
        if adaptive && idle >= IDLE_POLLS {
            idle = 0;
            let mut p = fds.clone();
            if p.is_empty() {
                std::thread::yield_now();
            } else {
                // SAFETY: p is a valid array of p.len() pollfd entries for the call.
                unsafe { libc::poll(p.as_mut_ptr(), p.len() as libc::nfds_t, 1) };
            }
        }
        n += 1;
        if n & 4095 == 0 && end.is_some_and(|e| Instant::now() >= e) {
            break;
        }
    }
    for cmd in ["show interface", "show errors", "show runtime"] {
        match app.exec(cmd) {
            Ok(s) => println!("{s}"),
            Err(e) => println!("{cmd}: {e}"),
        }
    }
}

/// `create interface af_xdp host-if HOST name ifK`, plus the XDP attach mode (not a CLI option).
fn create_af_xdp(app: &mut App, k: usize, host: &str, xdp_mode: &str) -> Result<String, String> {
    use engine::interface::DeviceClass;
    let spec = engine::DeviceSpec {
        name: format!("if{k}"),
        class: Some(DeviceClass::AfXdp),
        instance: app.dp.interface_main().hw.len() as u32,
        mac: None,
        options: vec![
            ("host-if".into(), host.to_string()),
            ("xdp-mode".into(), xdp_mode.to_string()),
        ],
    };
    engine::commands::create_device_interface(&mut app.dp, spec, DeviceClass::AfXdp, 0x30)
        .map(|_| format!("if{k}"))
}

#[cfg(feature = "dpdk")]
fn create_dpdk(app: &mut App, k: usize, host: &str) -> Result<String, String> {
    use engine::drivers::dpdk::{create_interface, PortSource};
    let src = PortSource::Vdev(format!("net_af_packet{k},iface={host}"));
    let name = format!("if{k}");
    create_interface(&mut app.dp, &src, Some(&name), None, (None, None)).map(|_| name)
}

#[cfg(not(feature = "dpdk"))]
fn create_dpdk(_app: &mut App, _k: usize, _host: &str) -> Result<String, String> {
    Err("built without DPDK: build with --features dpdk".into())
}
