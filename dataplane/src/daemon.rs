//! The forwarder daemon: `dataplane -c startup.conf` (or `dataplane --exec FILE`).
//!
//! One main thread runs the graph and the CLI: between dispatches it answers the requests that
//! `dpctl` clients send over the unix socket. When no packets arrive for a while it sleeps in
//! `poll(2)` on the devices' descriptors (10 ms at most, so CLI requests are served promptly).
//! SIGTERM/SIGINT stop it cleanly: interfaces are deleted (taps vanish), the socket is unlinked.
//!
//! With `unix { metrics-listen ADDR:PORT }` a [`MetricsServer`] serves Prometheus metrics: its
//! threads talk HTTP, the main loop only renders the text between dispatches when a scrape is
//! queued (see [`crate::metrics::http`]); a queued scrape wakes the idle loop at once.

use std::io::Write;
use std::os::fd::RawFd;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::Duration;

use cli::server::{CliServer, Response};
use engine::Mode;

use crate::metrics::http::MetricsServer;
use crate::startup::StartupConfig;
use crate::App;

/// Where log lines go: standard error, and the `unix { log FILE }` file if configured.
pub struct Log {
    file: Option<std::fs::File>,
    /// The last lines, for `show logging` (shared with the forwarder).
    pub ring: std::sync::Arc<parking_lot::Mutex<engine::log::LogRing>>,
}

impl Log {
    fn open(path: Option<&Path>) -> Result<Self, String> {
        let file = match path {
            Some(p) => Some(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)
                    .map_err(|e| format!("cannot open log file `{}`: {e}", p.display()))?,
            ),
            None => None,
        };
        Ok(Log {
            file,
            ring: Default::default(),
        })
    }

    /// Write one line (stderr, the log file with its time, `show logging`).
    pub fn line(&mut self, msg: &str) {
        eprintln!("dataplane: {msg}");
        self.add("notice", "dataplane", msg);
    }

    fn add(&mut self, level: &'static str, class: &str, msg: &str) {
        let text = engine::log::format_line(self.ring.lock().push(level, class, msg));
        if let Some(f) = self.file.as_mut() {
            let _ = writeln!(f, "{text}");
        }
    }

    /// A configuration change made through the CLI socket: who made it and how it went.
    fn change(&mut self, peer: Option<cli::server::Peer>, line: &str, error: Option<&str>) {
        let who = peer.map_or("cli".to_string(), |p| p.to_string());
        match error {
            None => self.add("notice", "cli", &format!("{who}: {line}")),
            Some(e) => self.add("warn", "cli", &format!("{who}: {line} (refused: {e})")),
        }
    }
}

/// True for a command that changes nothing (not logged as a configuration change).
fn read_only(line: &str) -> bool {
    matches!(
        line.split_whitespace().next(),
        None | Some("show" | "sh" | "help" | "?" | "echo" | "comment" | "quit" | "exit" | "q")
    )
}

/// The descriptors the idle loop waits on: one per live device that has one (a deleted
/// interface's is gone).
pub fn device_fds(app: &App) -> Vec<RawFd> {
    let mut fds = Vec::new();
    let im = app.dp.interface_main();
    for (sw, d) in app.dp.devices.iter().enumerate() {
        // Devices a worker polls are not the main thread's to wait on.
        if im.hw_of(sw as u32).is_some_and(|h| h.rx_thread != 0) {
            continue;
        }
        if let Some(d) = d.as_ref().and_then(|d| d.try_lock()) {
            d.wait_fds(&mut fds);
        }
    }
    fds
}

/// What the idle loop waits on: the devices, and the metrics server's wake-up descriptor.
fn wait_set(app: &App, metrics: Option<&MetricsServer>) -> Vec<RawFd> {
    let mut fds = device_fds(app);
    fds.extend(metrics.map(|m| m.wake_fd()));
    fds
}

/// True if some live interface has no descriptor to wait on (DPDK ports): the loop must keep
/// polling instead of sleeping, as VPP's polling mode does.
fn must_poll(app: &App) -> bool {
    let im = app.dp.interface_main();
    im.sw.iter().any(|s| {
        !s.deleted
            && im.hw_of(s.sw_if_index).is_some_and(|h| {
                h.class == engine::interface::DeviceClass::Dpdk && h.rx_thread == 0
            })
    })
}

/// Start DPDK's EAL and create the ports of the `dpdk { }` section.
#[cfg(feature = "dpdk")]
fn start_dpdk(app: &mut App, d: &crate::startup::DpdkSection) -> Result<Vec<u32>, String> {
    use engine::drivers::dpdk::{init_from_startup, DpdkDevConfig, EalConfig};
    let eal = EalConfig {
        devs: d
            .devs
            .iter()
            .map(|x| DpdkDevConfig {
                pci: x.pci.clone(),
                name: x.name.clone(),
                num_rx_queues: x.num_rx_queues,
                num_tx_queues: x.num_tx_queues,
            })
            .collect(),
        vdevs: d.vdevs.clone(),
        no_huge: d.no_huge,
        socket_mem: d.socket_mem.clone(),
        no_pci: d.no_pci,
        num_mbufs: d.num_mbufs,
        extra_args: Vec::new(),
    };
    init_from_startup(&mut app.dp, &eal)
}

/// Without the `dpdk` feature a `dpdk { }` section cannot be honoured.
#[cfg(not(feature = "dpdk"))]
fn start_dpdk(_app: &mut App, _d: &crate::startup::DpdkSection) -> Result<Vec<u32>, String> {
    Err(
        "startup.conf has a `dpdk { }` section but this build has no DPDK support; \
         rebuild with `cargo build --release -p dataplane --features dpdk` (needs libdpdk-dev)"
            .into(),
    )
}

/// Sleep until a device descriptor is readable or `timeout` passes.
fn wait_for_devices(fds: &[RawFd], timeout: Duration) {
    if fds.is_empty() {
        std::thread::sleep(timeout);
        return;
    }
    let mut p: Vec<libc::pollfd> = fds
        .iter()
        .map(|&fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    // Microseconds count (`unix { poll-sleep-usec N }`): ppoll, not poll's milliseconds.
    let ts = libc::timespec {
        tv_sec: timeout.as_secs() as libc::time_t,
        tv_nsec: timeout.subsec_nanos() as libc::c_long,
    };
    // SAFETY: p is a valid array of pollfd for the call and ts a valid timespec; the
    // descriptors are owned by devices that outlive the call (closed ones give POLLNVAL).
    unsafe {
        libc::ppoll(
            p.as_mut_ptr(),
            p.len() as libc::nfds_t,
            &ts,
            std::ptr::null(),
        );
    }
}

/// The cores of the workers `cpu { }` asks for: `corelist-workers` as given (each must exist);
/// `workers N` on the cores after the main core (and `skip-cores`), as VPP places them, those
/// beyond this machine's cores left unpinned.
fn worker_cores(cpu: &crate::startup::CpuSection) -> Result<Vec<Option<u32>>, String> {
    // SAFETY: sysconf has no preconditions.
    let n_cpus = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) }.max(1) as u32;
    if !cpu.corelist_workers.is_empty() {
        return cpu
            .corelist_workers
            .iter()
            .map(|&c| {
                if c < n_cpus {
                    Ok(Some(c))
                } else {
                    Err(format!(
                        "cpu {{ corelist-workers }}: core {c} does not exist (cores 0-{} here)",
                        n_cpus - 1
                    ))
                }
            })
            .collect();
    }
    let first = cpu.main_core.unwrap_or(0) + 1 + cpu.skip_cores.unwrap_or(0);
    Ok((0..cpu.workers.unwrap_or(0))
        .map(|k| Some(first + k).filter(|&c| c < n_cpus))
        .collect())
}

/// Run the daemon until SIGTERM/SIGINT. Returns an error message for a failed start.
pub fn run(cfg: StartupConfig) -> Result<(), String> {
    let mut log = Log::open(cfg.unix.log.as_deref())?;
    for l in &cfg.ignored {
        log.line(&format!("startup.conf: {l}"));
    }
    if let Some(core) = cfg.cpu.main_core {
        engine::workers::pin_to_core(core).map_err(|e| format!("main thread: {e}"))?;
    }
    let cores = worker_cores(&cfg.cpu)?;
    let mut app = App::with_plugins(Mode::Live, cfg.buffers.buffers_per_numa, &cfg.plugins);
    app.dp.log = log.ring.clone();
    cfg.node.apply(&mut app.dp.graph)?;
    engine::drivers::install(&mut app.dp);
    if !cores.is_empty() {
        app.dp.start_workers(&cores, cfg.buffers.buffers_per_numa)?;
        let placed: Vec<String> = cores
            .iter()
            .enumerate()
            .map(|(k, c)| match c {
                Some(c) => format!("vpp_wk_{k} on core {c}"),
                None => format!("vpp_wk_{k} unpinned"),
            })
            .collect();
        log.line(&format!(
            "{} worker threads: {}",
            cores.len(),
            placed.join(", ")
        ));
    }
    if cfg.dpdk.present {
        let ports = start_dpdk(&mut app, &cfg.dpdk)?;
        let names: Vec<String> = ports
            .iter()
            .map(|&sw| app.dp.interface_main().name(sw))
            .collect();
        log.line(&format!(
            "dpdk: {} port(s): {}",
            names.len(),
            names.join(", ")
        ));
    }
    let mut server = CliServer::bind_with(
        &cfg.unix.cli_listen,
        cli::server::ServerOptions {
            prompt: cfg.unix.cli_prompt.clone(),
            ..Default::default()
        },
    )?;
    if let Some(pf) = &cfg.unix.pidfile {
        if let Err(e) = std::fs::write(pf, format!("{}\n", std::process::id())) {
            shutdown(&mut app, &mut server, &mut log);
            return Err(format!("cannot write the pidfile {}: {e}", pf.display()));
        }
    }
    let idle_wait = cfg
        .unix
        .poll_sleep_usec
        .map_or(Duration::from_millis(10), |us| {
            Duration::from_micros(us.into())
        });
    log.line(&format!(
        "listening on {} ({} buffers)",
        cfg.unix.cli_listen.display(),
        cfg.buffers.buffers_per_numa
    ));
    let mut metrics = match cfg.unix.metrics_listen {
        None => None,
        Some(addr) => match MetricsServer::bind(addr) {
            Ok(m) => {
                log.line(&format!(
                    "metrics for Prometheus at http://{}/metrics",
                    m.local_addr()
                ));
                Some(m)
            }
            Err(e) => {
                shutdown(&mut app, &mut server, &mut log);
                return Err(e);
            }
        },
    };

    // The forwarder's stop flag: long commands (bulk routes, scripts) give up when it is set.
    let stop = app.dp.stop.clone();
    {
        let stop = stop.clone();
        let waker = server.waker();
        let mut signals = signal_hook::iterator::Signals::new([
            signal_hook::consts::SIGTERM,
            signal_hook::consts::SIGINT,
        ])
        .map_err(|e| format!("cannot install signal handlers: {e}"))?;
        std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                if signals.forever().next().is_some() {
                    stop.store(true, Ordering::SeqCst);
                    waker.wake();
                }
            })
            .map_err(|e| format!("cannot start the signal thread: {e}"))?;
    }

    if let Some(exec) = &cfg.unix.exec {
        match app.exec_file(exec) {
            Ok(out) => {
                if !out.is_empty() {
                    log.line(&out);
                }
            }
            Err(e) => {
                // A broken startup script should not leave a half-configured forwarder running.
                shutdown(&mut app, &mut server, &mut log);
                return Err(format!("startup script failed: {e}"));
            }
        }
    }

    // `unix { interactive }`: commands from standard input too.
    let stdin_rx = if cfg.unix.interactive {
        let (tx, rx) = mpsc::channel::<String>();
        let prompt = cfg.unix.cli_prompt.clone();
        std::thread::Builder::new()
            .name("stdin".into())
            .spawn(move || {
                let stdin = std::io::stdin();
                let mut line = String::new();
                loop {
                    print!("{prompt}");
                    let _ = std::io::stdout().flush();
                    line.clear();
                    match stdin.read_line(&mut line) {
                        Ok(0) | Err(_) => break,
                        Ok(_) => {
                            if tx.send(line.trim_end().to_string()).is_err() {
                                break;
                            }
                        }
                    }
                }
            })
            .map_err(|e| format!("cannot start the stdin thread: {e}"))?;
        Some(rx)
    } else {
        None
    };

    let mut idle = 0u32;
    let mut fds = wait_set(&app, metrics.as_ref());
    let mut generation = app.dp.interfaces_generation();
    let mut polling = must_poll(&app);
    while !stop.load(Ordering::SeqCst) {
        app.dp.after_commands();
        let produced = app.dp.graph.run_once();
        app.dp.run_processes();
        let App { registry, dp } = &mut app;
        let served = server.poll_from(|req, peer| {
            Response::from(match &req {
                cli::server::Request::Exec(line) => {
                    let l = line.trim();
                    if l == "quit" || l == "exit" || l == "q" {
                        Ok(String::new())
                    } else {
                        let r = registry.execute(dp, l);
                        if !read_only(l) {
                            let e = r.as_ref().err().map(|e| e.to_string());
                            log.change(peer, l, e.as_deref());
                        }
                        r
                    }
                }
                cli::server::Request::Complete(_) => return req.run(registry, dp),
            })
        });
        let scraped = metrics
            .as_mut()
            .map_or(0, |m| m.poll(|| crate::metrics::render(&app.dp)));
        if let Some(rx) = &stdin_rx {
            while let Ok(line) = rx.try_recv() {
                match app.exec(&line) {
                    Ok(o) if !o.is_empty() => println!("{o}"),
                    Ok(_) => {}
                    Err(e) => eprintln!("{e}"),
                }
            }
        }
        // An interface came or went: a deleted tap's descriptor must leave the poll set (poll
        // would return POLLNVAL at once and the loop would spin).
        if app.dp.interfaces_generation() != generation {
            generation = app.dp.interfaces_generation();
            fds = wait_set(&app, metrics.as_ref());
            polling = must_poll(&app);
        }
        if produced == 0 && served == 0 && scraped == 0 && !app.dp.graph.has_pending() && !polling {
            idle += 1;
            if idle > 256 {
                wait_for_devices(&fds, idle_wait);
            }
        } else {
            idle = 0;
        }
    }
    log.line("stopping");
    if let Some(m) = metrics.as_mut() {
        m.shutdown();
    }
    shutdown(&mut app, &mut server, &mut log);
    if let Some(pf) = &cfg.unix.pidfile {
        let _ = std::fs::remove_file(pf);
    }
    Ok(())
}

fn shutdown(app: &mut App, server: &mut CliServer, log: &mut Log) {
    // Close the devices (taps vanish, their closes run on the reaper's threads, which we wait
    // for); the rest of the state goes with the process.
    let n = app.dp.devices.iter().flatten().count();
    app.dp.stop_workers();
    app.dp.close_devices();
    log.line(&format!("closed {n} devices"));
    server.shutdown();
}
