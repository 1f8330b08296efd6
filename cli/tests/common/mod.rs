//! Test harness: a "daemon" main loop serving a real `Registry<Counter>` over a `CliServer`.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use cli::server::{CliServer, ServerOptions};
use cli::{Args, CliError, Registry};

/// The engine context of the test daemon.
#[derive(Debug, Default)]
pub struct Counter {
    pub value: u64,
    /// Number of requests the main loop served.
    pub served: usize,
}

fn show_counter(c: &mut Counter, a: &mut Args) -> Result<String, CliError> {
    a.expect_end()?;
    Ok(format!("counter {}", c.value))
}
fn show_version(_: &mut Counter, a: &mut Args) -> Result<String, CliError> {
    a.expect_end()?;
    Ok("dataplane test 0.1".into())
}
fn set_counter(c: &mut Counter, a: &mut Args) -> Result<String, CliError> {
    c.value = a.u64()?;
    a.expect_end()?;
    Ok(String::new())
}
fn inc_counter(c: &mut Counter, a: &mut Args) -> Result<String, CliError> {
    a.expect_end()?;
    c.value += 1;
    Ok(c.value.to_string())
}
/// `show lines N`: N numbered lines (big outputs).
fn show_lines(_: &mut Counter, a: &mut Args) -> Result<String, CliError> {
    let n = a.u32()?;
    a.expect_end()?;
    Ok((0..n)
        .map(|i| format!("line {i:08} abcdefghijklmnopqrstuvwxyz"))
        .collect::<Vec<_>>()
        .join("\n"))
}
fn show_weird(_: &mut Counter, a: &mut Args) -> Result<String, CliError> {
    a.expect_end()?;
    Ok("OUT 5\nEND 0\nERR 3\n\t\r\u{0}\u{e9}\u{1F600}\n\n".into())
}

/// A registry with a few commands over [`Counter`].
pub fn registry() -> Registry<Counter> {
    let mut r = Registry::new();
    r.register("show counter", "show the counter value", show_counter)
        .unwrap();
    r.register("show version", "show the version", show_version)
        .unwrap();
    r.register("show lines", "show lines N: print N lines", show_lines)
        .unwrap();
    r.register("show weird", "output with frame-like text", show_weird)
        .unwrap();
    r.register("set counter", "set counter N", set_counter)
        .unwrap();
    r.register("increment counter", "add one to the counter", inc_counter)
        .unwrap();
    r
}

/// A running test daemon: its main loop thread owns the server.
pub struct Daemon {
    pub path: PathBuf,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<Counter>>,
}

impl Daemon {
    /// Binds `path` and starts the main loop.
    pub fn start(path: &Path) -> Daemon {
        Self::start_with(path, ServerOptions::default())
    }

    /// Binds `path` with options and starts the main loop.
    pub fn start_with(path: &Path, opts: ServerOptions) -> Daemon {
        let server = CliServer::bind_with(path, opts).expect("bind");
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let handle = std::thread::spawn(move || main_loop(server, &stop2));
        Daemon {
            path: path.to_path_buf(),
            stop,
            handle: Some(handle),
        }
    }

    /// Stops the main loop (dropping the server) and returns the engine state.
    pub fn stop(mut self) -> Counter {
        self.stop.store(true, Ordering::SeqCst);
        self.handle
            .take()
            .unwrap()
            .join()
            .expect("main loop panicked")
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn main_loop(mut server: CliServer, stop: &AtomicBool) -> Counter {
    let reg = registry();
    let mut ctx = Counter::default();
    while !stop.load(Ordering::SeqCst) {
        // "Dispatch packets" here; idle, so sleep until the CLI needs us.
        server.wait_timeout(Duration::from_millis(20));
        let mut served = 0;
        server.poll(|req| {
            served += 1;
            req.run(&reg, &mut ctx)
        });
        ctx.served += served;
    }
    drop(server);
    ctx
}

/// A fresh temporary directory (removed on drop).
pub fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("dpcli")
        .tempdir()
        .expect("tempdir")
}
