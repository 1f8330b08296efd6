//! Closes deleted devices off the main thread.
//!
//! Closing a tap's descriptor unregisters its host interface, and the kernel waits for RCU grace
//! periods there: about 16 ms per tap, during which the main loop would forward nothing. A
//! deleted device whose [`Device::retire_key`] names what it holds in the host goes to a few
//! closer threads instead (closes on several threads share the kernel's waits). A new device that
//! needs the same host name first waits for the old one to be gone ([`Reaper::wait_for`]), so
//! `delete tap` followed by `create tap` with the same name behaves as if the close had been
//! synchronous.

use std::collections::HashSet;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

use crate::interface::Device;

/// Threads that close retired devices.
const CLOSERS: usize = 8;

/// How long a new device waits for an old one of the same name before giving up.
const WAIT: Duration = Duration::from_secs(10);

type Pending = Arc<(Mutex<HashSet<String>>, Condvar)>;

/// The closer threads and the host names they have yet to release.
#[derive(Default)]
pub struct Reaper {
    tx: Option<Sender<(String, Box<dyn Device>)>>,
    pending: Pending,
}

impl Reaper {
    /// Close `dev` in the background; `key` (its host interface) stays busy until it is closed.
    pub fn retire(&mut self, key: String, dev: Box<dyn Device>) {
        self.pending
            .0
            .lock()
            .expect("reaper lock")
            .insert(key.clone());
        let tx = self.tx.get_or_insert_with(|| spawn(self.pending.clone()));
        if let Err(e) = tx.send((key, dev)) {
            // The closers are gone (cannot happen while the reaper lives): close here.
            let (key, dev) = e.into_inner();
            drop(dev);
            release(&self.pending, &key);
        }
    }

    /// Wait until no retired device holds `key`. Returns false if it is still held after 10 s.
    pub fn wait_for(&self, key: &str) -> bool {
        let (set, cv) = &*self.pending;
        let deadline = Instant::now() + WAIT;
        let mut s = set.lock().expect("reaper lock");
        while s.contains(key) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            s = cv.wait_timeout(s, left).expect("reaper lock").0;
        }
        true
    }

    /// Wait until every retired device is closed (shutdown, tests).
    pub fn wait_all(&self) {
        let (set, cv) = &*self.pending;
        let deadline = Instant::now() + WAIT;
        let mut s = set.lock().expect("reaper lock");
        while !s.is_empty() && Instant::now() < deadline {
            s = cv
                .wait_timeout(s, Duration::from_millis(100))
                .expect("reaper lock")
                .0;
        }
    }

    /// Retired devices not closed yet.
    pub fn n_pending(&self) -> usize {
        self.pending.0.lock().expect("reaper lock").len()
    }
}

fn release(pending: &Pending, key: &str) {
    let (set, cv) = &**pending;
    set.lock().expect("reaper lock").remove(key);
    cv.notify_all();
}

fn spawn(pending: Pending) -> Sender<(String, Box<dyn Device>)> {
    let (tx, rx): (_, Receiver<(String, Box<dyn Device>)>) = crossbeam_channel::unbounded();
    for i in 0..CLOSERS {
        let rx = rx.clone();
        let pending = pending.clone();
        let _ = std::thread::Builder::new()
            .name(format!("dp-closer-{i}"))
            .spawn(move || {
                for (key, dev) in rx {
                    drop(dev);
                    release(&pending, &key);
                }
            });
    }
    tx
}
