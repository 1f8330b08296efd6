//! Per-thread buffer pool: fixed-size packet buffers addressed by `u32` index.
//!
//! Every buffer has [`BUFFER_PRE_DATA_SIZE`] bytes of headroom (where encapsulations such as VXLAN or
//! Geneve push their headers without copying) followed by [`BUFFER_DATA_SIZE`] data bytes, and a
//! metadata record modelled on VPP's `vlib_buffer_t` + `vnet_buffer_opaque_t`.
//!
//! The pool is owned by one thread; nodes move buffer *indices* through the graph, never pointers.
//! Allocation and free are O(1) pushes and pops on a free stack, done in bursts.

/// Bytes of headroom before `current_data == 0`.
pub const BUFFER_PRE_DATA_SIZE: usize = 128;
/// Data bytes after the headroom.
pub const BUFFER_DATA_SIZE: usize = 2048;
/// Total bytes per buffer (headroom + data).
pub const BUFFER_TOTAL_SIZE: usize = BUFFER_PRE_DATA_SIZE + BUFFER_DATA_SIZE;
/// The "no index" value for `u32` indices (VPP's `~0`).
pub const INVALID_INDEX: u32 = u32::MAX;
/// `sw_if_index[TX]` of a packet a BVI loopback hands to `l2-input` (VPP's `L2INPUT_BVI`).
pub const L2INPUT_BVI: u32 = u32::MAX - 1;
/// Default number of buffers per thread (VPP's `buffers-per-numa` default).
pub const DEFAULT_BUFFERS: u32 = 16384;

/// Index of a buffer in its pool.
pub type BufferIndex = u32;

/// Direction index into [`BufferMeta::sw_if_index`] and [`BufferMeta::adj_index`].
pub const RX: usize = 0;
/// Direction index into [`BufferMeta::sw_if_index`] and [`BufferMeta::adj_index`].
pub const TX: usize = 1;

/// Buffer flag bits (`BufferMeta::flags`).
pub mod flags {
    /// The packet is being traced; `trace_handle` is valid.
    pub const TRACED: u32 = 1 << 0;
    /// `l2_hdr_offset` is valid.
    pub const L2_HDR_OFFSET_VALID: u32 = 1 << 1;
    /// `l3_hdr_offset` is valid.
    pub const L3_HDR_OFFSET_VALID: u32 = 1 << 2;
    /// `l4_hdr_offset` is valid.
    pub const L4_HDR_OFFSET_VALID: u32 = 1 << 3;
    /// The device computed the L4 checksum.
    pub const L4_CHECKSUM_COMPUTED: u32 = 1 << 4;
    /// The device found the L4 checksum correct.
    pub const L4_CHECKSUM_CORRECT: u32 = 1 << 5;
    /// One VLAN tag was seen.
    pub const VLAN_1_DEEP: u32 = 1 << 6;
    /// Two VLAN tags were seen.
    pub const VLAN_2_DEEP: u32 = 1 << 7;
    /// The packet is addressed to this node (ip4-local).
    pub const LOCAL: u32 = 1 << 8;
    /// The packet was translated by NAT.
    pub const NATED: u32 = 1 << 9;
    /// The packet was generated here (ICMP errors, ARP requests).
    pub const LOCALLY_ORIGINATED: u32 = 1 << 10;
    /// The IPv4 header checksum was verified (ip4-input).
    pub const IP4_CHECKSUM_OK: u32 = 1 << 11;
    /// A fragment whose L4 fields the shallow virtual reassembly found (in the first fragment):
    /// [`super::BufferMeta::reass_l4`] is valid.
    pub const REASS_L4: u32 = 1 << 12;
}

/// The L4 fields of a fragmented datagram, from its first fragment (VPP's
/// `vnet_buffer(b)->ip.reass`): what NAT44 and the ACL plugin need for every fragment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReassL4 {
    /// The first four L4 bytes: TCP/UDP ports, or ICMP type, code and checksum.
    pub head: [u8; 4],
    /// TCP flags (TCP).
    pub tcp_flags: u8,
    /// ICMP echo identifier (ICMP).
    pub icmp_id: u16,
}

/// Per-buffer metadata, like VPP's `vlib_buffer_t` header plus `vnet_buffer_opaque_t`.
///
/// Layer offsets are relative to the start of the data area (`current_data == 0`), like VPP's.
/// Exactly one cache line.
#[derive(Clone, Copy, Debug)]
#[repr(C, align(64))]
pub struct BufferMeta {
    /// Offset of the current header from the data start; negative inside the headroom.
    /// Invariant (kept by every mutator): `-BUFFER_PRE_DATA_SIZE <= current_data` and
    /// `current_data + current_length <= BUFFER_DATA_SIZE`, so the packet is always inside its
    /// buffer and data access needs no further check.
    current_data: i16,
    /// Bytes from `current_data` to the end of the packet.
    current_length: u16,
    /// See [`flags`].
    pub flags: u32,
    /// Receive and transmit software interface (`[RX]`, `[TX]`); `INVALID_INDEX` when unset.
    pub sw_if_index: [u32; 2],
    /// Offset of the L2 header.
    pub l2_hdr_offset: i16,
    /// Offset of the L3 header.
    pub l3_hdr_offset: i16,
    /// Offset of the L4 header.
    pub l4_hdr_offset: i16,
    /// Feature arc the packet is on (see `feature`), `u8::MAX` when none.
    pub feature_arc: u8,
    /// Position of the next feature on that arc.
    pub feature_pos: u8,
    /// Error counter index set by the node that drops the packet.
    pub error: u32,
    /// Trace handle when [`flags::TRACED`] is set.
    pub trace_handle: u32,
    /// FIB (table) index for IPv4 lookups.
    pub fib_index: u32,
    /// Adjacency / DPO index (`[TX]` is the one ip4-lookup chose).
    pub adj_index: [u32; 2],
    /// Flow hash computed for load balancing.
    pub flow_hash: u32,
    /// Scratch space for plugins (NAT, ACL, ICMP errors) to pass data between their own nodes.
    pub opaque: [u32; 4],
}

const _: () = assert!(std::mem::size_of::<BufferMeta>() == 64);

impl Default for BufferMeta {
    fn default() -> Self {
        BufferMeta::RESET
    }
}

impl BufferMeta {
    const RESET: BufferMeta = BufferMeta {
        current_data: 0,
        current_length: 0,
        flags: 0,
        sw_if_index: [INVALID_INDEX; 2],
        l2_hdr_offset: 0,
        l3_hdr_offset: 0,
        l4_hdr_offset: 0,
        feature_arc: u8::MAX,
        feature_pos: 0,
        error: 0,
        trace_handle: INVALID_INDEX,
        fib_index: 0,
        adj_index: [INVALID_INDEX; 2],
        flow_hash: 0,
        opaque: [0; 4],
    };

    // ---- L2 fields (VPP's `vnet_buffer(b)->l2`) ----
    //
    // As in VPP, the L2 fields share storage with the IP ones (`vnet_buffer_opaque_t` is a union):
    // `feature_bitmap` is `adj_index[RX]`; `bd_index`, `l2_len` and `shg` are `adj_index[TX]`;
    // `l2fib_sn` and `bd_age` are the low three bytes of `flow_hash`. A routed packet that went
    // through a bridge domain therefore carries the L2 sequence numbers in its flow hash, which
    // VPP's traces print after VXLAN encapsulation (`flow hash: 0x00000001`).

    /// L2 feature bitmap (input or output features still to run).
    #[inline(always)]
    pub fn l2_feature_bitmap(&self) -> u32 {
        self.adj_index[RX]
    }

    /// Set the L2 feature bitmap.
    #[inline(always)]
    pub fn set_l2_feature_bitmap(&mut self, bitmap: u32) {
        self.adj_index[RX] = bitmap;
    }

    /// Bridge-domain index.
    #[inline(always)]
    pub fn l2_bd_index(&self) -> u16 {
        self.adj_index[TX] as u16
    }

    /// Length of the L2 header (14, 18 or 22 with VLAN tags).
    #[inline(always)]
    pub fn l2_len(&self) -> u8 {
        (self.adj_index[TX] >> 16) as u8
    }

    /// Split-horizon group of the input interface (0 for packets from a BVI).
    #[inline(always)]
    pub fn l2_shg(&self) -> u8 {
        (self.adj_index[TX] >> 24) as u8
    }

    /// Set bridge-domain index, L2 header length and split-horizon group at once.
    #[inline(always)]
    pub fn set_l2_bd(&mut self, bd_index: u16, l2_len: u8, shg: u8) {
        self.adj_index[TX] = bd_index as u32 | (l2_len as u32) << 16 | (shg as u32) << 24;
    }

    /// Set the split-horizon group only.
    #[inline(always)]
    pub fn set_l2_shg(&mut self, shg: u8) {
        self.adj_index[TX] = (self.adj_index[TX] & 0x00ff_ffff) | (shg as u32) << 24;
    }

    /// Set the L2 header length only.
    #[inline(always)]
    pub fn set_l2_len(&mut self, l2_len: u8) {
        self.adj_index[TX] = (self.adj_index[TX] & 0xff00_ffff) | (l2_len as u32) << 16;
    }

    /// L2 FIB sequence numbers (`swif` in the low byte, `bd` in the high byte).
    #[inline(always)]
    pub fn l2fib_sn(&self) -> u16 {
        self.flow_hash as u16
    }

    /// MAC aging of the bridge domain (minutes, 0 = off).
    #[inline(always)]
    pub fn l2_bd_age(&self) -> u8 {
        (self.flow_hash >> 16) as u8
    }

    /// Set the L2 FIB sequence numbers and the bridge domain's aging (the top byte of
    /// `flow_hash` is left as it is, as in VPP).
    #[inline(always)]
    pub fn set_l2fib_sn(&mut self, sn: u16, bd_age: u8) {
        self.flow_hash = (self.flow_hash & 0xff00_0000) | sn as u32 | (bd_age as u32) << 16;
    }

    /// Mark the buffer as a fragment of a datagram with these L4 fields.
    #[inline]
    pub fn set_reass_l4(&mut self, r: ReassL4) {
        self.opaque[3] = u32::from_be_bytes(r.head);
        self.opaque[2] = r.tcp_flags as u32 | (r.icmp_id as u32) << 8;
        self.flags |= flags::REASS_L4;
    }

    /// The L4 fields the shallow virtual reassembly found, if this is such a fragment.
    #[inline]
    pub fn reass_l4(&self) -> Option<ReassL4> {
        (self.flags & flags::REASS_L4 != 0).then(|| ReassL4 {
            head: self.opaque[3].to_be_bytes(),
            tcp_flags: self.opaque[2] as u8,
            icmp_id: (self.opaque[2] >> 8) as u16,
        })
    }

    /// True when the packet is traced.
    #[inline]
    pub fn is_traced(&self) -> bool {
        self.flags & flags::TRACED != 0
    }

    /// Offset of the current header from the data start (negative inside the headroom).
    #[inline(always)]
    pub fn current_data(&self) -> i16 {
        self.current_data
    }

    /// Bytes from the current header to the end of the packet.
    #[inline(always)]
    pub fn current_length(&self) -> u16 {
        self.current_length
    }

    /// Move the current header by `delta` bytes (positive strips a header, negative pushes one
    /// into the headroom). Returns false, changing nothing, if the packet would leave its buffer.
    #[inline(always)]
    pub fn advance(&mut self, delta: i32) -> bool {
        let new_data = self.current_data as i32 + delta;
        let new_len = self.current_length as i32 - delta;
        if new_data < -(BUFFER_PRE_DATA_SIZE as i32)
            || new_len < 0
            || new_data + new_len > BUFFER_DATA_SIZE as i32
        {
            return false;
        }
        self.current_data = new_data as i16;
        self.current_length = new_len as u16;
        true
    }

    /// Strip `n` header bytes (move the current header forward). Returns false, changing nothing,
    /// if the packet is shorter than `n`.
    #[inline(always)]
    pub fn strip(&mut self, n: u16) -> bool {
        if n > self.current_length {
            return false;
        }
        // Stays inside the buffer: the end of the packet does not move.
        self.current_data += n as i16;
        self.current_length -= n;
        true
    }

    /// Push `n` header bytes into the headroom (move the current header back). Returns false,
    /// changing nothing, if the headroom is too small.
    #[inline(always)]
    pub fn push(&mut self, n: u16) -> bool {
        if (self.current_data as i32) - (n as i32) < -(BUFFER_PRE_DATA_SIZE as i32) {
            return false;
        }
        self.current_data -= n as i16;
        self.current_length += n;
        true
    }

    /// Set the packet length from the current header. Returns false, changing nothing, if it
    /// would not fit in the buffer.
    #[inline(always)]
    pub fn set_length(&mut self, len: usize) -> bool {
        if self.current_data as isize + len as isize > BUFFER_DATA_SIZE as isize {
            return false;
        }
        self.current_length = len as u16;
        true
    }
}

/// Counters and capacity of a pool, for `show buffers`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Buffers in the pool.
    pub total: u32,
    /// Buffers on the free stack.
    pub free: u32,
    /// Allocation requests that got fewer buffers than asked for.
    pub alloc_failures: u64,
}

/// One cache line of packet memory (gives the data area 64-byte alignment).
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line([u8; 64]);

const LINES_PER_BUFFER: usize = BUFFER_TOTAL_SIZE / 64;
const _: () = assert!(BUFFER_TOTAL_SIZE.is_multiple_of(64));

/// Packet memory: whole cache lines, viewed as bytes.
struct DataArea {
    lines: crate::mem::HugeSlice<Line>,
}

impl DataArea {
    fn new(n_buffers: usize) -> Self {
        DataArea {
            lines: crate::mem::HugeSlice::new(n_buffers * LINES_PER_BUFFER, Line([0; 64])),
        }
    }

    #[inline(always)]
    fn bytes(&self) -> &[u8] {
        // SAFETY: `Line` is a plain `[u8; 64]` with no padding, so the vector's storage is
        // `lines.len() * 64` initialised bytes; the slice borrows `self` immutably.
        unsafe {
            std::slice::from_raw_parts(self.lines.as_ptr() as *const u8, self.lines.len() * 64)
        }
    }

    #[inline(always)]
    fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `bytes`; the slice borrows `self` mutably, so it is the only view.
        unsafe {
            std::slice::from_raw_parts_mut(
                self.lines.as_mut_ptr() as *mut u8,
                self.lines.len() * 64,
            )
        }
    }
}

impl std::ops::Index<std::ops::Range<usize>> for DataArea {
    type Output = [u8];
    #[inline(always)]
    fn index(&self, r: std::ops::Range<usize>) -> &[u8] {
        &self.bytes()[r]
    }
}

impl std::ops::IndexMut<std::ops::Range<usize>> for DataArea {
    #[inline(always)]
    fn index_mut(&mut self, r: std::ops::Range<usize>) -> &mut [u8] {
        &mut self.bytes_mut()[r]
    }
}

/// A per-thread pool of packet buffers.
pub struct BufferPool {
    meta: crate::mem::HugeSlice<BufferMeta>,
    data: DataArea,
    /// Start of the packet memory (the `DataArea` never reallocates).
    base: *mut u8,
    free: Vec<BufferIndex>,
    /// One bit per buffer: set while allocated (catches double frees).
    allocated: Vec<u64>,
    alloc_failures: u64,
    double_frees: u64,
}

/// The pool's metadata and packet memory, borrowed for the length of one frame loop: the loop
/// reads the metadata slice and the data base once instead of through the pool for every packet
/// (they cannot move while borrowed). Same accessors and guarantees as [`BufferPool`]'s.
pub struct FrameBuffers<'a> {
    meta: &'a mut [BufferMeta],
    base: *mut u8,
    _data: std::marker::PhantomData<&'a mut DataArea>,
}

impl<'a> FrameBuffers<'a> {
    /// The same view for a shorter borrow (what the `&mut self` accessors go through).
    #[inline(always)]
    fn reborrow(&mut self) -> FrameBuffers<'_> {
        FrameBuffers {
            meta: &mut *self.meta,
            base: self.base,
            _data: std::marker::PhantomData,
        }
    }

    /// Metadata and mutable packet bytes of `bi`, for as long as the view was borrowed.
    #[inline(always)]
    fn into_meta_and_data(self, bi: BufferIndex) -> (&'a mut BufferMeta, &'a mut [u8]) {
        let m = &mut self.meta[bi as usize];
        let (start, len) = BufferPool::span(bi, m);
        // SAFETY: bi < meta.len() (checked by the index above) and the data area holds
        // meta.len() slots from base, so buffer bi's slot is inside it; the metadata invariant
        // keeps [start, start+len) inside that slot. The view holds the pool's only mutable
        // borrow and is consumed here, so these are the only references to both; metadata and
        // packet bytes are separate allocations.
        let d = unsafe { std::slice::from_raw_parts_mut(self.base.add(start), len) };
        (m, d)
    }

    /// As [`Self::into_meta_and_data`], starting `n` bytes before the current header.
    #[inline(always)]
    fn into_meta_and_data_with_headroom(
        self,
        bi: BufferIndex,
        n: u16,
    ) -> Option<(&'a mut BufferMeta, &'a mut [u8])> {
        let m = &mut self.meta[bi as usize];
        if (m.current_data as i32) - (n as i32) < -(BUFFER_PRE_DATA_SIZE as i32) {
            return None;
        }
        let (start, len) = BufferPool::span(bi, m);
        // SAFETY: as in `into_meta_and_data`, and the check above keeps start - n inside
        // buffer bi's slot (its headroom included).
        let d = unsafe {
            std::slice::from_raw_parts_mut(self.base.add(start - n as usize), len + n as usize)
        };
        Some((m, d))
    }

    /// Metadata and mutable packet bytes at once.
    #[inline(always)]
    pub fn meta_and_data_mut(&mut self, bi: BufferIndex) -> (&mut BufferMeta, &mut [u8]) {
        self.reborrow().into_meta_and_data(bi)
    }

    /// Mutable metadata of a buffer.
    #[inline(always)]
    pub fn meta_mut(&mut self, bi: BufferIndex) -> &mut BufferMeta {
        &mut self.meta[bi as usize]
    }

    /// As [`BufferPool::meta_and_data_with_headroom_mut`].
    #[inline(always)]
    pub fn meta_and_data_with_headroom_mut(
        &mut self,
        bi: BufferIndex,
        n: u16,
    ) -> Option<(&mut BufferMeta, &mut [u8])> {
        self.reborrow().into_meta_and_data_with_headroom(bi, n)
    }
}

impl BufferPool {
    /// A pool of `n` buffers.
    pub fn new(n: u32) -> Self {
        let n_us = n as usize;
        let mut free: Vec<BufferIndex> = (0..n).collect();
        // Pop from the end: hand out low indices first, which keeps replays readable.
        free.reverse();
        let mut data = DataArea::new(n_us);
        let base = data.lines.as_mut_ptr() as *mut u8;
        BufferPool {
            meta: crate::mem::HugeSlice::new(n_us, BufferMeta::RESET),
            data,
            base,
            free,
            allocated: vec![0u64; n_us.div_ceil(64)],
            alloc_failures: 0,
            double_frees: 0,
        }
    }

    /// Number of buffers in the pool.
    #[inline]
    pub fn total(&self) -> u32 {
        self.meta.len() as u32
    }

    /// Buffers currently allocated.
    #[inline]
    pub fn in_use(&self) -> u32 {
        self.total() - self.free.len() as u32
    }

    /// Counters for `show buffers`.
    pub fn stats(&self) -> PoolStats {
        PoolStats {
            total: self.total(),
            free: self.free.len() as u32,
            alloc_failures: self.alloc_failures,
        }
    }

    /// Frees that named a buffer that was not allocated (a bug somewhere; counted, never fatal).
    pub fn double_frees(&self) -> u64 {
        self.double_frees
    }

    /// Allocate up to `out.len()` buffers into `out`; returns how many were allocated.
    /// A short count is recorded as an allocation failure; the caller counts its own drop.
    #[inline]
    pub fn alloc(&mut self, out: &mut [BufferIndex]) -> usize {
        let n = out.len().min(self.free.len());
        let start = self.free.len() - n;
        for (o, &bi) in out.iter_mut().zip(self.free[start..].iter().rev()) {
            *o = bi;
            self.meta[bi as usize] = BufferMeta::RESET;
            self.allocated[bi as usize / 64] |= 1 << (bi % 64);
        }
        self.free.truncate(start);
        if n < out.len() {
            self.alloc_failures += 1;
        }
        n
    }

    /// Allocate one buffer.
    #[inline]
    pub fn alloc_one(&mut self) -> Option<BufferIndex> {
        let mut b = [0u32; 1];
        (self.alloc(&mut b) == 1).then_some(b[0])
    }

    /// A copy of a buffer (flooding and other replication): same metadata (but not traced) and the
    /// same packet bytes at the same offset. None, counted as an allocation failure, when the pool
    /// is empty.
    pub fn copy_buffer(&mut self, bi: BufferIndex) -> Option<BufferIndex> {
        let nb = self.alloc_one()?;
        let mut m = self.meta[bi as usize];
        m.flags &= !flags::TRACED;
        m.trace_handle = INVALID_INDEX;
        let (start, len) = Self::span(bi, &m);
        let (nstart, _) = Self::span(nb, &m);
        self.data
            .bytes_mut()
            .copy_within(start..start + len, nstart);
        self.meta[nb as usize] = m;
        Some(nb)
    }

    /// Return buffers to the pool.
    #[inline]
    pub fn free(&mut self, bufs: &[BufferIndex]) {
        for &bi in bufs {
            let (w, bit) = (bi as usize / 64, 1u64 << (bi % 64));
            match self.allocated.get_mut(w) {
                Some(word) if *word & bit != 0 => {
                    *word &= !bit;
                    self.free.push(bi);
                }
                _ => self.double_frees += 1,
            }
        }
    }

    /// True if `bi` is currently allocated.
    pub fn is_allocated(&self, bi: BufferIndex) -> bool {
        self.allocated
            .get(bi as usize / 64)
            .is_some_and(|w| w & (1 << (bi % 64)) != 0)
    }

    /// Ask the CPU to bring a buffer's metadata and first header lines into cache (call a few
    /// packets ahead in node loops).
    #[inline(always)]
    pub fn prefetch(&self, bi: BufferIndex) {
        #[cfg(target_arch = "x86_64")]
        {
            use core::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            let i = bi as usize;
            let m = self.meta.as_ptr().wrapping_add(i) as *const i8;
            let d = self
                .base
                .wrapping_add(i * BUFFER_TOTAL_SIZE + BUFFER_PRE_DATA_SIZE)
                as *const i8;
            // SAFETY: prefetch is only a hint: it never faults and has no memory effects, even
            // for an address outside any allocation.
            #[allow(unused_unsafe)]
            unsafe {
                _mm_prefetch(m, _MM_HINT_T0);
                _mm_prefetch(d, _MM_HINT_T0);
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = bi;
    }

    /// Metadata of a buffer.
    #[inline]
    pub fn meta(&self, bi: BufferIndex) -> &BufferMeta {
        &self.meta[bi as usize]
    }

    /// Mutable metadata of a buffer.
    #[inline]
    pub fn meta_mut(&mut self, bi: BufferIndex) -> &mut BufferMeta {
        &mut self.meta[bi as usize]
    }

    #[inline]
    fn base(bi: BufferIndex) -> usize {
        bi as usize * BUFFER_TOTAL_SIZE + BUFFER_PRE_DATA_SIZE
    }

    /// Byte range of the packet in the data area: (start, length). In bounds by the metadata
    /// invariant (see [`BufferMeta::current_data`]).
    #[inline(always)]
    fn span(bi: BufferIndex, m: &BufferMeta) -> (usize, usize) {
        let start = (bi as usize * BUFFER_TOTAL_SIZE + BUFFER_PRE_DATA_SIZE) as isize
            + m.current_data as isize;
        (start as usize, m.current_length as usize)
    }

    /// The packet bytes from `current_data` for `current_length` bytes.
    #[inline(always)]
    pub fn data(&self, bi: BufferIndex) -> &[u8] {
        let m = &self.meta[bi as usize];
        let (start, len) = Self::span(bi, m);
        // SAFETY: bi < meta.len() (checked by the index above), so buffer bi's slot is inside the
        // data area; the metadata invariant keeps [start, start+len) inside that slot. The
        // borrow of `self` prevents mutable aliases.
        unsafe { std::slice::from_raw_parts(self.base.add(start), len) }
    }

    /// Mutable packet bytes from `current_data` for `current_length` bytes.
    #[inline(always)]
    pub fn data_mut(&mut self, bi: BufferIndex) -> &mut [u8] {
        let m = &self.meta[bi as usize];
        let (start, len) = Self::span(bi, m);
        // SAFETY: as in `data`; `&mut self` makes this the only view of the bytes.
        unsafe { std::slice::from_raw_parts_mut(self.base.add(start), len) }
    }

    /// Metadata and mutable packet bytes at once.
    #[inline(always)]
    pub fn meta_and_data_mut(&mut self, bi: BufferIndex) -> (&mut BufferMeta, &mut [u8]) {
        self.frame_view().into_meta_and_data(bi)
    }

    /// The metadata and packet memory borrowed once for a frame loop ([`FrameBuffers`]).
    #[inline(always)]
    pub fn frame_view(&mut self) -> FrameBuffers<'_> {
        FrameBuffers {
            meta: &mut self.meta,
            base: self.base,
            _data: std::marker::PhantomData,
        }
    }

    /// Metadata and the packet bytes starting `n` bytes before the current header (inside the
    /// headroom), without moving the header; None if the headroom is smaller than `n`. Lets a
    /// node read the current header at offset `n` and write a new one in front of it, then
    /// `push(n)`, with a single data access.
    #[inline(always)]
    pub fn meta_and_data_with_headroom_mut(
        &mut self,
        bi: BufferIndex,
        n: u16,
    ) -> Option<(&mut BufferMeta, &mut [u8])> {
        self.frame_view().into_meta_and_data_with_headroom(bi, n)
    }

    /// Push `n` header bytes and return the metadata and the whole packet from the new header
    /// (None, changing nothing, if the headroom is too small).
    #[inline(always)]
    pub fn push_header(&mut self, bi: BufferIndex, n: u16) -> Option<(&mut BufferMeta, &mut [u8])> {
        if !self.meta[bi as usize].push(n) {
            return None;
        }
        Some(self.meta_and_data_mut(bi))
    }

    /// Bytes from `offset` (relative to the data start, may be negative) to the end of the buffer
    /// area, regardless of `current_length` (trace capture of padding, like VPP's).
    #[inline]
    pub fn raw_from(&self, bi: BufferIndex, offset: i16) -> &[u8] {
        let slot = bi as usize * BUFFER_TOTAL_SIZE;
        let start = (Self::base(bi) as isize + offset as isize).max(slot as isize) as usize;
        let end = slot + BUFFER_TOTAL_SIZE;
        &self.data[start.min(end)..end]
    }

    /// Move `current_data` by `delta` bytes (positive: strip a header; negative: push into the
    /// headroom). Returns false, changing nothing, if the move leaves the buffer.
    #[inline]
    pub fn advance(&mut self, bi: BufferIndex, delta: i32) -> bool {
        self.meta[bi as usize].advance(delta)
    }

    /// Set the packet to `len` bytes at `current_data` (used by drivers and generators).
    /// Returns false if it does not fit.
    #[inline]
    pub fn set_length(&mut self, bi: BufferIndex, len: usize) -> bool {
        self.meta[bi as usize].set_length(len)
    }

    /// Copy `bytes` into the buffer at data offset 0 and set the length. Returns false if too long.
    #[inline]
    pub fn fill(&mut self, bi: BufferIndex, bytes: &[u8]) -> bool {
        if bytes.len() > BUFFER_DATA_SIZE {
            return false;
        }
        let base = Self::base(bi);
        self.data[base..base + bytes.len()].copy_from_slice(bytes);
        let m = &mut self.meta[bi as usize];
        m.current_data = 0;
        m.current_length = bytes.len() as u16;
        true
    }

    /// The whole data area (from `current_data == 0`) of a buffer, for drivers that receive into it.
    #[inline]
    pub fn data_area_mut(&mut self, bi: BufferIndex) -> &mut [u8] {
        let base = Self::base(bi);
        &mut self.data[base..base + BUFFER_DATA_SIZE]
    }
}

// SAFETY: `base` points into `data`, which the pool owns; moving the pool to another thread moves
// the sole owner of that memory along with the pointer.
unsafe impl Send for BufferPool {}

impl std::fmt::Debug for BufferPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BufferPool")
            .field("total", &self.total())
            .field("free", &self.free.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alloc_free_accounting() {
        let mut p = BufferPool::new(8);
        let mut b = [0u32; 5];
        assert_eq!(p.alloc(&mut b), 5);
        assert_eq!(b, [0, 1, 2, 3, 4]);
        assert_eq!(p.in_use(), 5);
        p.free(&b[..2]);
        assert_eq!(p.in_use(), 3);
        p.free(&b[..1]);
        assert_eq!(p.double_frees(), 1);
        assert_eq!(p.in_use(), 3);
    }

    #[test]
    fn exhaustion_is_counted_not_fatal() {
        let mut p = BufferPool::new(4);
        let mut b = [0u32; 6];
        assert_eq!(p.alloc(&mut b), 4);
        assert_eq!(p.stats().alloc_failures, 1);
        assert!(p.alloc_one().is_none());
        assert_eq!(p.stats().alloc_failures, 2);
    }

    #[test]
    fn advance_into_headroom_and_back() {
        let mut p = BufferPool::new(1);
        let bi = p.alloc_one().unwrap();
        assert!(p.fill(bi, &[1, 2, 3, 4]));
        assert!(p.advance(bi, 2));
        assert_eq!(p.data(bi), &[3, 4]);
        assert!(p.advance(bi, -52));
        assert_eq!(p.meta(bi).current_data, -50);
        assert_eq!(p.data(bi).len(), 54);
        assert!(!p.advance(bi, -200), "cannot leave the headroom");
        assert!(!p.advance(bi, 100), "cannot strip more than the packet");
        assert_eq!(p.meta(bi).current_data, -50);
    }

    #[test]
    fn fill_too_long_is_refused() {
        let mut p = BufferPool::new(1);
        let bi = p.alloc_one().unwrap();
        assert!(!p.fill(bi, &[0u8; BUFFER_DATA_SIZE + 1]));
        assert!(p.fill(bi, &[0u8; BUFFER_DATA_SIZE]));
    }
}
