//! Worker threads (`cpu { workers N }` / `corelist-workers`): each runs a graph of its own,
//! forked from the main thread's ([`Graph::fork`]), with its own buffers, counters and trace, and
//! polls the interfaces placed on it (`show interface rx-placement`).
//!
//! Who owns what:
//! - Configuration tables are snapshots ([`crate::config`]): a worker picks up the newest at the
//!   start of each main-loop iteration; ordinary changes never stop it.
//! - The graph itself (nodes, next slots, node-held state such as an input node's interface
//!   list) is the main thread's: when it changes ([`Graph::generation`]), the main thread
//!   updates each worker's graph between two of its iterations (VPP's worker barrier, for node
//!   additions): the worker's graph sits behind a mutex that the worker holds for one iteration
//!   at a time, so the update waits at most one iteration and is measured (`show threads`).
//! - Devices are shared: a worker locks a device for a receive or transmit burst (one queue per
//!   device for now: the documented lock where a device has fewer queues than threads).

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::graph::Graph;

/// One worker thread.
pub struct Worker {
    /// Thread index (1 for `vpp_wk_0`).
    pub thread_index: u32,
    /// Core it is pinned to.
    pub core: Option<u32>,
    /// Its graph, locked by the worker for one main-loop iteration at a time.
    pub graph: Arc<Mutex<Graph>>,
    /// Kernel thread id (`show threads` LWP), once the thread runs.
    pub lwp: Arc<AtomicI32>,
    handle: Option<JoinHandle<()>>,
}

impl Worker {
    /// VPP's name of the thread (`vpp_wk_0`).
    pub fn name(&self) -> String {
        format!("vpp_wk_{}", self.thread_index - 1)
    }
}

/// Cost of the updates of the workers' graphs (`show threads`).
#[derive(Clone, Copy, Debug, Default)]
pub struct SyncStats {
    /// Updates done.
    pub syncs: u64,
    /// Longest wait for a worker to reach its iteration boundary plus the update.
    pub max: Duration,
    /// The last one.
    pub last: Duration,
}

/// The worker threads of a dataplane.
pub struct Workers {
    /// The workers, by thread index - 1.
    pub workers: Vec<Worker>,
    stop: Arc<AtomicBool>,
    /// Main graph generation the workers' graphs were last built from.
    synced: u64,
    /// Graph updates so far.
    pub stats: SyncStats,
    /// Buffers per worker.
    pub n_buffers: u32,
    /// Next worker to place an interface on (round robin, as VPP places queues).
    next: u32,
    /// Iterations of all workers (a liveness figure for tests and `show threads`).
    pub loops: Arc<AtomicU64>,
}

/// Pin the calling thread to a core.
pub fn pin_to_core(core: u32) -> Result<(), String> {
    // SAFETY: cpu_set_t is plain data; CPU_ZERO/CPU_SET write inside it; sched_setaffinity reads
    // `size_of::<cpu_set_t>()` bytes of it for the calling thread (pid 0).
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_ZERO(&mut set);
        libc::CPU_SET(core as usize, &mut set);
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            return Err(format!(
                "cannot pin to core {core}: {}",
                std::io::Error::last_os_error()
            ));
        }
    }
    Ok(())
}

impl Workers {
    /// Start `cores.len()` workers (each pinned to its core if given), their graphs forked from
    /// `main`.
    pub fn start(main: &Graph, cores: &[Option<u32>], n_buffers: u32) -> Result<Workers, String> {
        let stop = Arc::new(AtomicBool::new(false));
        let loops = Arc::new(AtomicU64::new(0));
        let mut workers = Vec::new();
        for (k, &core) in cores.iter().enumerate() {
            let thread_index = k as u32 + 1;
            let graph = Arc::new(Mutex::new(main.fork(thread_index, n_buffers)));
            let lwp = Arc::new(AtomicI32::new(0));
            let handle = {
                let (graph, stop, lwp, loops) =
                    (graph.clone(), stop.clone(), lwp.clone(), loops.clone());
                std::thread::Builder::new()
                    .name(format!("vpp_wk_{k}"))
                    .spawn(move || {
                        // SAFETY: gettid has no preconditions.
                        lwp.store(unsafe { libc::gettid() }, Ordering::Relaxed);
                        if let Some(c) = core {
                            // A failure was reported by the main thread's check below.
                            let _ = pin_to_core(c);
                        }
                        worker_loop(&graph, &stop, &loops);
                    })
                    .map_err(|e| format!("cannot start worker {k}: {e}"))?
            };
            workers.push(Worker {
                thread_index,
                core,
                graph,
                lwp,
                handle: Some(handle),
            });
        }
        Ok(Workers {
            workers,
            stop,
            synced: main.generation(),
            stats: SyncStats::default(),
            n_buffers,
            next: 0,
            loops,
        })
    }

    /// Number of workers.
    pub fn len(&self) -> usize {
        self.workers.len()
    }

    /// True if there are none.
    pub fn is_empty(&self) -> bool {
        self.workers.is_empty()
    }

    /// The thread a new interface's receive queues go to (round robin over the workers).
    pub fn place_next(&mut self) -> u32 {
        let t = self.next % self.workers.len() as u32 + 1;
        self.next += 1;
        t
    }

    /// Bring every worker's graph up to the main graph's structure if it changed. Each update
    /// waits for its worker's current iteration to end, then rebuilds the worker's nodes from the
    /// main graph's, keeping its buffers, counters and trace.
    pub fn sync(&mut self, main: &Graph) {
        if main.generation() == self.synced {
            return;
        }
        let t0 = Instant::now();
        for w in &self.workers {
            w.graph.lock().update_from(main);
        }
        self.synced = main.generation();
        let took = t0.elapsed();
        self.stats.syncs += 1;
        self.stats.last = took;
        self.stats.max = self.stats.max.max(took);
    }

    /// Stop the workers and wait for them.
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for w in &mut self.workers {
            if let Some(h) = w.handle.take() {
                let _ = h.join();
            }
        }
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A worker's main loop: one graph iteration per lock; when idle, it sleeps a little longer each
/// time (up to 1 ms), so an idle worker costs nothing and a busy one never sleeps.
fn worker_loop(graph: &Mutex<Graph>, stop: &AtomicBool, loops: &AtomicU64) {
    let mut idle = 0u32;
    while !stop.load(Ordering::Relaxed) {
        let busy = {
            let mut g = graph.lock();
            let n = g.run_once();
            n > 0 || g.has_pending()
        };
        loops.fetch_add(1, Ordering::Relaxed);
        if busy {
            idle = 0;
            continue;
        }
        idle = idle.saturating_add(1);
        if idle > 64 {
            let us = (u64::from(idle - 64) * 10).min(1000);
            std::thread::sleep(Duration::from_micros(us));
        } else {
            std::hint::spin_loop();
        }
    }
}
