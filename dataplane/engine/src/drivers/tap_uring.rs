//! Batched tap I/O through io_uring (the default for taps without `gso`): every queue keeps
//! `rx-ring-size` ([`RX_SLOTS`] by default) reads in flight into slots of the device's own memory, and a frame to send is
//! copied into a transmit slot and queued as a write. One `io_uring_enter` per burst submits the
//! writes and the re-armed reads and runs the reads whose data arrived (the ring is set up with
//! cooperative task running and its flag, so a poll with nothing pending makes no system call at
//! all); the readv path makes one call per frame, plus one that finds the queue empty.
//!
//! The slots are copied to and from pool buffers (as the AF_XDP driver does with its UMEM): the
//! pool's buffers never belong to the kernel, so a deleted tap cannot hold any. Frames are at
//! most one buffer (no `gso`: a super-frame would not fit a slot).

use std::os::fd::RawFd;

use io_uring::{opcode, types, IoUring};

use super::offload;
use super::tap::VNET_HDR_LEN;
use crate::buffer::{BufferIndex, BufferPool, BUFFER_DATA_SIZE};
use crate::interface::RxBurst;

/// Reads kept in flight per queue unless `rx-ring-size` says otherwise.
pub const RX_SLOTS: usize = 64;
/// Writes that may be in flight (frames queued to the kernel and not completed) unless
/// `tx-ring-size` says otherwise. A write to a tap completes while it is submitted, so a burst
/// larger than this goes in several rounds.
pub const TX_SLOTS: usize = 64;
/// Most requests one ring holds (the kernel's limit on submission queue entries).
pub const MAX_IN_FLIGHT: usize = 32768;
/// Bytes of one slot: the virtio-net header and a frame that fits a buffer, rounded to lines.
const SLOT: usize = (VNET_HDR_LEN + BUFFER_DATA_SIZE).div_ceil(64) * 64;
/// `user_data` bit of a write (reads have it clear).
const TX_TAG: u64 = 1 << 32;

/// The io_uring state of one tap.
pub struct TapUring {
    ring: IoUring,
    /// Queue descriptors, by queue.
    fds: Vec<RawFd>,
    /// `rx_slots` slots per queue, queue after queue.
    rx: Slots,
    /// Reads in flight per queue (the tap's rx ring size).
    pub rx_slots: usize,
    /// Write slots (the tx ring size).
    pub tx_slots: usize,
    tx: Slots,
    tx_free: Vec<u16>,
    /// Reads and writes submitted and not completed (what teardown waits for).
    in_flight: usize,
    /// Reads to re-arm: completed slots whose read failed to queue (the ring was full).
    rearm: Vec<u32>,
    /// Completed reads (slot, result) not yet handed to a receive burst.
    done_rx: std::collections::VecDeque<(u32, i32)>,
    /// Reads that completed with an error (counted as receive errors).
    pub read_errors: u64,
    /// Writes that completed with an error and are not yet reported by a transmit burst.
    write_errors: usize,
    /// Frames received per queue.
    pub rx_per_queue: Vec<u64>,
}

impl TapUring {
    /// A ring for these queue descriptors with `rx_slots` reads in flight per queue and
    /// `tx_slots` write slots (powers of two; together at most [`MAX_IN_FLIGHT`]), every read
    /// armed.
    pub fn new(fds: &[RawFd], rx_slots: usize, tx_slots: usize) -> Result<Self, String> {
        let n_rx = rx_slots * fds.len();
        if n_rx + tx_slots > MAX_IN_FLIGHT {
            return Err(format!(
                "io_uring: {} reads ({} queues of {rx_slots}) and {tx_slots} writes exceed the {MAX_IN_FLIGHT} a ring holds",
                n_rx,
                fds.len()
            ));
        }
        let entries = (n_rx + tx_slots).next_power_of_two() as u32;
        let ring = IoUring::builder()
            .setup_coop_taskrun()
            .setup_taskrun_flag()
            .setup_cqsize(entries * 2)
            .build(entries)
            .map_err(|e| format!("io_uring: cannot set up a ring: {e}"))?;
        let mut u = TapUring {
            ring,
            fds: fds.to_vec(),
            rx: Slots::new(n_rx)?,
            tx: Slots::new(tx_slots)?,
            rx_slots,
            tx_slots,
            tx_free: (0..tx_slots as u16).rev().collect(),
            in_flight: 0,
            rearm: Vec::with_capacity(n_rx),
            done_rx: std::collections::VecDeque::with_capacity(n_rx),
            read_errors: 0,
            write_errors: 0,
            rx_per_queue: vec![0; fds.len()],
        };
        for slot in 0..n_rx as u32 {
            u.arm_read(slot);
        }
        u.ring
            .submit()
            .map_err(|e| format!("io_uring: cannot submit the reads: {e}"))?;
        if !u.rearm.is_empty() {
            return Err("io_uring: the ring is too small for the reads".into());
        }
        Ok(u)
    }

    /// Queue the read of rx slot `slot` (remembered for later if the submission queue is full).
    fn arm_read(&mut self, slot: u32) {
        let q = slot as usize / self.rx_slots;
        let buf = self.rx.slot_mut(slot as usize).as_mut_ptr();
        let e = opcode::Read::new(types::Fd(self.fds[q]), buf, SLOT as u32)
            .offset(u64::MAX)
            .build()
            .user_data(slot as u64);
        // SAFETY: the slot is device memory that outlives the ring (Drop cancels and reaps every
        // request before the memory goes) and no other request uses it until this one completes.
        if unsafe { self.ring.submission().push(&e) }.is_ok() {
            self.in_flight += 1;
        } else {
            self.rearm.push(slot);
        }
    }

    /// Take every completion: finished writes free their slots, finished reads wait in
    /// `done_rx` until a receive burst has room for them (their slots are re-armed only then).
    fn reap(&mut self) {
        let mut cq = self.ring.completion();
        for cqe in cq.by_ref() {
            self.in_flight -= 1;
            let ud = cqe.user_data();
            if ud & TX_TAG != 0 {
                self.tx_free.push(ud as u16);
                // The host side down (EIO) or gone: the frame was not sent.
                self.write_errors += usize::from(cqe.result() < 0);
            } else {
                self.done_rx.push_back((ud as u32, cqe.result()));
            }
        }
        cq.sync();
    }

    /// Submit what is queued (writes, re-armed reads; with data pending this runs the reads),
    /// take the completions, and hand over as many received frames as `out` has room for
    /// (copied into new pool buffers, partial checksums finished).
    pub fn rx_burst(&mut self, pool: &mut BufferPool, out: &mut [BufferIndex], r: &mut RxBurst) {
        for slot in std::mem::take(&mut self.rearm) {
            self.arm_read(slot);
        }
        if let Err(e) = self.ring.submit() {
            if e.raw_os_error() != Some(libc::EBUSY) {
                r.errors += 1;
            }
        }
        self.reap();
        while r.n < out.len() {
            let Some((slot, res)) = self.done_rx.pop_front() else {
                break;
            };
            self.take_frame(slot, res, pool, out, r);
            if res < 0 {
                // A failing queue (its tap going away) is retried once per burst, not in a loop.
                self.rearm.push(slot);
            } else {
                self.arm_read(slot);
            }
        }
    }

    /// A completed read of `slot`: its frame into a new pool buffer.
    fn take_frame(
        &mut self,
        slot: u32,
        res: i32,
        pool: &mut BufferPool,
        out: &mut [BufferIndex],
        r: &mut RxBurst,
    ) {
        if res < 0 {
            self.read_errors += 1;
            r.errors += 1;
            return;
        }
        let n = res as usize;
        let s = self.rx.slot(slot as usize);
        let mut h = [0u8; offload::VNET_HDR_LEN];
        h.copy_from_slice(&s[..offload::VNET_HDR_LEN]);
        let vnet = offload::VnetHdr::parse(&h);
        let len = n.saturating_sub(VNET_HDR_LEN);
        if !(14..=BUFFER_DATA_SIZE).contains(&len) || vnet.gso_type != offload::VNET_GSO_NONE {
            r.errors += 1;
            return;
        }
        let Some(bi) = pool.alloc_one() else {
            r.no_buf += 1;
            return;
        };
        pool.fill(bi, &s[VNET_HDR_LEN..n]);
        offload::finish_rx_checksum(pool, bi, &vnet);
        self.rx_per_queue[slot as usize / self.rx_slots] += 1;
        out[r.n] = bi;
        r.n += 1;
    }

    /// Copy the frames into transmit slots and queue their writes to queue `q`, one submission
    /// for all; returns how many were sent: queued, less the writes that completed with an
    /// error (a frame finds no slot when tx_slots writes are still in flight; the caller counts
    /// the rest as transmit errors).
    pub fn tx_burst(&mut self, q: usize, pool: &BufferPool, bufs: &[BufferIndex]) -> usize {
        let mut sent = 0;
        // Rounds of at most tx_slots writes; a round whose submission frees no slot ends it.
        while sent < bufs.len() {
            self.reap();
            let round = sent;
            for &bi in &bufs[sent..] {
                let Some(slot) = self.tx_free.pop() else {
                    break;
                };
                let d = pool.data(bi);
                let s = self.tx.slot_mut(slot as usize);
                let len = VNET_HDR_LEN + d.len().min(SLOT - VNET_HDR_LEN);
                s[..VNET_HDR_LEN].fill(0);
                s[VNET_HDR_LEN..len].copy_from_slice(&d[..len - VNET_HDR_LEN]);
                let e = opcode::Write::new(types::Fd(self.fds[q]), s.as_ptr(), len as u32)
                    .offset(u64::MAX)
                    .build()
                    .user_data(TX_TAG | slot as u64);
                // SAFETY: the slot is device memory that outlives the ring and is not reused
                // until this write completes (it is off the free list until then).
                if unsafe { self.ring.submission().push(&e) }.is_err() {
                    self.tx_free.push(slot);
                    break;
                }
                self.in_flight += 1;
                sent += 1;
            }
            if sent == round || self.ring.submit().is_err() {
                break;
            }
        }
        self.reap();
        // Writes that failed (this burst's or an earlier one's, found when their completions
        // came) are reported as not sent, so the interface's tx-error counts them.
        let failed = self.write_errors.min(sent);
        self.write_errors -= failed;
        sent - failed
    }
}

/// Slots of [`SLOT`] bytes in their own anonymous mapping, returned to the kernel when the tap
/// goes (a tap's slots are not left in the allocator's caches of the thread that closes it).
struct Slots {
    ptr: std::ptr::NonNull<u8>,
    n: usize,
}

impl Slots {
    fn new(n: usize) -> Result<Slots, String> {
        // SAFETY: an anonymous private mapping of n * SLOT bytes; no memory of ours is touched.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                n * SLOT,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(format!(
                "io_uring: cannot map {} KiB of slots: {}",
                n * SLOT / 1024,
                std::io::Error::last_os_error()
            ));
        }
        let ptr = std::ptr::NonNull::new(p as *mut u8).ok_or("io_uring: mmap returned null")?;
        Ok(Slots { ptr, n })
    }

    /// Keep the mapping for the rest of the process: a request the kernel did not give back
    /// may still write into it.
    fn leak(&mut self) {
        self.n = 0;
    }

    fn slot(&self, i: usize) -> &[u8] {
        assert!(i < self.n);
        // SAFETY: slot i lies inside the mapping (checked above), which lives as long as self.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr().add(i * SLOT), SLOT) }
    }

    fn slot_mut(&mut self, i: usize) -> &mut [u8] {
        assert!(i < self.n);
        // SAFETY: as in slot; &mut self makes this the only view.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr().add(i * SLOT), SLOT) }
    }
}

impl Drop for Slots {
    fn drop(&mut self) {
        if self.n == 0 {
            return;
        }
        // SAFETY: the mapping made in new, unmapped once; TapUring's Drop has reaped every
        // request that could still write into it.
        unsafe { libc::munmap(self.ptr.as_ptr() as *mut libc::c_void, self.n * SLOT) };
    }
}

// SAFETY: Slots owns its mapping exclusively, like a Box<[u8]>.
unsafe impl Send for Slots {}

impl Drop for TapUring {
    fn drop(&mut self) {
        // Cancel every read in flight and wait for the completions, so that the kernel writes
        // into no slot after the memory is freed. Bounded: a second of waiting at most.
        let e = opcode::AsyncCancel2::new(types::CancelBuilder::any())
            .build()
            .user_data(u64::MAX);
        // SAFETY: a cancel request refers to no memory of ours.
        let queued = unsafe { self.ring.submission().push(&e) }.is_ok();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
        let mut cancel_done = !queued;
        while (self.in_flight > 0 || !cancel_done) && std::time::Instant::now() < deadline {
            let ts = types::Timespec::new().nsec(10_000_000);
            let args = types::SubmitArgs::new().timespec(&ts);
            let _ = self.ring.submitter().submit_with_args(1, &args);
            for cqe in self.ring.completion() {
                if cqe.user_data() == u64::MAX {
                    cancel_done = true;
                } else {
                    self.in_flight = self.in_flight.saturating_sub(1);
                }
            }
        }
        if self.in_flight > 0 {
            // Not given back in time: the slots stay mapped rather than risk a late write.
            self.rx.leak();
            self.tx.leak();
        }
    }
}
