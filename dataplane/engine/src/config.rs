//! Configuration as immutable snapshots, published in one step.
//!
//! Every table the data path reads (feature arcs, ACLs, ...) is registered here once and gets a
//! typed [`Table`] key. The main thread edits *staged* copies ([`ConfigMain::edit`]: copy on
//! write, once per publication however many edits follow) and [`ConfigMain::commit`] publishes
//! all of them together as one [`Snapshot`] with a single atomic pointer swap. A graph picks up
//! the newest snapshot at the start of a main-loop iteration (a frame boundary) and hands it to
//! its nodes through [`NodeCx::config`](crate::graph::NodeCx::config), so a node never takes a
//! lock and never sees half of a change that spans several tables (an ACL applied to an
//! interface: the ACL table and the interface's feature arc change together). Readers on other
//! threads hold their snapshot as an `Arc`; an old snapshot is freed when its last reader
//! moves on.
//!
//! The main thread's graph commits what is staged before each iteration, so a CLI command is
//! seen by the next packet, as before; a long script publishes at its yields (paced so that
//! copying big tables does not eat the script's time) and when it ends.

use std::any::Any;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;

type Slot = Arc<dyn Any + Send + Sync>;

/// One published configuration: every registered table as it was at one commit.
pub struct Snapshot {
    epoch: u64,
    tables: Box<[Slot]>,
}

impl Snapshot {
    /// The table behind `t` in this snapshot.
    ///
    /// Panics if `t` belongs to another configuration (a wiring bug found by any test).
    #[inline]
    pub fn get<T: Any>(&self, t: Table<T>) -> &T {
        self.tables
            .get(t.slot as usize)
            .and_then(|s| s.downcast_ref::<T>())
            .expect("table registered with this configuration")
    }

    /// Number of the commit that made this snapshot (0: the empty start).
    pub fn epoch(&self) -> u64 {
        self.epoch
    }
}

/// Typed key of a registered table.
pub struct Table<T> {
    slot: u32,
    _t: PhantomData<fn() -> T>,
}

impl<T> Clone for Table<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Table<T> {}

impl<T> std::fmt::Debug for Table<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Table({})", self.slot)
    }
}

/// Where readers find the newest snapshot (one per dataplane, shared with every graph).
pub type SnapshotSource = Arc<ArcSwap<Snapshot>>;

/// What commits have cost (`show config`).
#[derive(Clone, Copy, Debug, Default)]
pub struct CommitStats {
    /// Snapshots published.
    pub commits: u64,
    /// Tables copied on write (a table is copied at most once per commit).
    pub copies: u64,
    /// Time of the last commit, copies of the edits before it included.
    pub last: Duration,
    /// Longest commit.
    pub max: Duration,
    /// All commits.
    pub total: Duration,
}

/// The main thread's side: staged tables and the publication point.
pub struct ConfigMain {
    staged: Vec<Slot>,
    names: Vec<&'static str>,
    dirty: bool,
    epoch: u64,
    source: SnapshotSource,
    /// Time spent copying tables since the last commit (charged to it).
    copying: Duration,
    last_commit: Instant,
    stats: CommitStats,
}

impl Default for ConfigMain {
    fn default() -> Self {
        Self::new()
    }
}

impl ConfigMain {
    /// No tables; epoch 0 published.
    pub fn new() -> Self {
        ConfigMain {
            staged: Vec::new(),
            names: Vec::new(),
            dirty: false,
            epoch: 0,
            source: Arc::new(ArcSwap::from_pointee(Snapshot {
                epoch: 0,
                tables: Box::new([]),
            })),
            copying: Duration::ZERO,
            last_commit: Instant::now(),
            stats: CommitStats::default(),
        }
    }

    /// Register a table with its initial value; it is published with the next commit.
    pub fn register<T: Clone + Send + Sync + 'static>(
        &mut self,
        name: &'static str,
        init: T,
    ) -> Table<T> {
        let slot = self.staged.len() as u32;
        self.staged.push(Arc::new(init));
        self.names.push(name);
        self.dirty = true;
        Table {
            slot,
            _t: PhantomData,
        }
    }

    /// The staged table (what the main thread has written, committed or not).
    #[inline]
    pub fn get<T: Any>(&self, t: Table<T>) -> &T {
        self.staged
            .get(t.slot as usize)
            .and_then(|s| s.downcast_ref::<T>())
            .expect("table registered with this configuration")
    }

    /// The staged table, to change. The first edit after a commit copies the table (readers
    /// keep the published one); later edits before the next commit change the copy in place.
    pub fn edit<T: Clone + Send + Sync + 'static>(&mut self, t: Table<T>) -> &mut T {
        let slot = &mut self.staged[t.slot as usize];
        if Arc::get_mut(slot).is_none() {
            let t0 = Instant::now();
            let copy: T = slot
                .downcast_ref::<T>()
                .expect("table registered with this configuration")
                .clone();
            *slot = Arc::new(copy);
            self.copying += t0.elapsed();
            self.stats.copies += 1;
        }
        self.dirty = true;
        Arc::get_mut(slot)
            .and_then(|a| a.downcast_mut::<T>())
            .expect("a table just made unique")
    }

    /// True if edits wait for a commit.
    #[inline]
    pub fn is_dirty(&self) -> bool {
        self.dirty
    }

    /// Publish every staged table as one snapshot (one atomic swap). Nothing happens when
    /// nothing changed. Returns true if a snapshot was published.
    pub fn commit(&mut self) -> bool {
        if !self.dirty {
            return false;
        }
        let t0 = Instant::now();
        self.epoch += 1;
        let snap = Snapshot {
            epoch: self.epoch,
            tables: self.staged.clone().into_boxed_slice(),
        };
        self.source.store(Arc::new(snap));
        self.dirty = false;
        let took = t0.elapsed() + std::mem::take(&mut self.copying);
        let s = &mut self.stats;
        s.commits += 1;
        s.last = took;
        s.max = s.max.max(took);
        s.total += took;
        self.last_commit = Instant::now();
        true
    }

    /// Commit unless the last commit was so recent that copying the tables again would take
    /// more than a quarter of the time since (a long script's yields: its edits are published
    /// every few milliseconds, not after each command, so it does not spend its time copying).
    pub fn commit_paced(&mut self) -> bool {
        if self.dirty && self.last_commit.elapsed() >= self.stats.last * 4 {
            self.commit()
        } else {
            false
        }
    }

    /// Number of the last commit.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Where readers (graphs of other threads) load the newest snapshot.
    pub fn source(&self) -> SnapshotSource {
        self.source.clone()
    }

    /// The newest published snapshot.
    pub fn published(&self) -> Arc<Snapshot> {
        self.source.load_full()
    }

    /// Commit costs so far.
    pub fn stats(&self) -> CommitStats {
        self.stats
    }

    /// Registered tables: name and whether the published snapshot shares the staged copy
    /// (false: edited since the last commit).
    pub fn tables(&self) -> Vec<(&'static str, bool)> {
        let published = self.source.load();
        self.names
            .iter()
            .zip(&self.staged)
            .enumerate()
            .map(|(i, (&n, s))| {
                let shared = published.tables.get(i).is_some_and(|p| Arc::ptr_eq(p, s));
                (n, shared)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Default)]
    struct Roles(Vec<u32>);
    #[derive(Clone, Default)]
    struct Arcs(Vec<u32>);

    #[test]
    fn edits_are_invisible_until_commit_and_copied_once_per_commit() {
        let mut c = ConfigMain::new();
        let r = c.register("roles", Roles::default());
        c.commit();
        let before = c.published();
        for i in 0..100 {
            c.edit(r).0.push(i);
        }
        assert_eq!(c.stats().copies, 1, "one copy for 100 edits");
        assert!(before.get(r).0.is_empty());
        assert!(c.published().get(r).0.is_empty(), "not committed yet");
        assert_eq!(c.get(r).0.len(), 100, "the main thread reads its own edits");
        assert!(c.commit());
        assert_eq!(c.published().get(r).0.len(), 100);
        assert!(
            before.get(r).0.is_empty(),
            "an old reader keeps its snapshot"
        );
        assert!(!c.commit(), "nothing to publish");
        assert_eq!(c.epoch(), 2);
    }

    #[test]
    fn a_change_across_two_tables_is_seen_whole_by_another_thread() {
        let mut c = ConfigMain::new();
        let roles = c.register("roles", Roles::default());
        let arcs = c.register("arcs", Arcs::default());
        c.commit();
        let src = c.source();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let reader = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut seen = 0u64;
                let mut last = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let s = src.load_full();
                    // The writer keeps both tables the same length: a torn view differs.
                    assert_eq!(s.get(roles).0.len(), s.get(arcs).0.len());
                    assert!(s.epoch() >= last, "epochs never go back");
                    last = s.epoch();
                    seen += 1;
                }
                seen
            })
        };
        for i in 0..20_000 {
            c.edit(roles).0.push(i);
            c.edit(arcs).0.push(i);
            c.commit();
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        assert!(reader.join().expect("reader saw no torn snapshot") > 0);
        assert_eq!(c.stats().commits, 20_001);
    }
}
