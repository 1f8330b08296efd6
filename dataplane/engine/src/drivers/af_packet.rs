//! AF_PACKET driver (VPP's `create host-interface name IF` → `host-IF`): a packet socket bound to
//! a host interface with a TPACKET_V3 receive ring shared with the kernel, so receiving costs no
//! system call per packet (the kernel fills blocks of frames; we walk them and hand blocks back).
//! Transmit sends the burst with one `sendmmsg`. The socket ignores its own transmitted frames
//! and puts the interface in promiscuous mode, as a forwarder must.
//!
//! A host interface's peer is often local (a veth: kind clusters, test beds, container hosts)
//! and sends with its offloads on. The socket asks for a virtio-net header on every frame
//! (`PACKET_VNET_HDR`), and af-packet-input finishes what the peer left to "the NIC": partial
//! TCP/UDP checksums are completed, TSO/USO super-frames are segmented into MTU-sized frames
//! (one buffer each, headers as a NIC would write them), and a VLAN tag the kernel took out of
//! the frame is put back. Without the header (kernels that refuse it) partial checksums are
//! still completed from the ring's `TP_STATUS_CSUMNOTREADY`.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{fence, Ordering};

use super::offload;
use crate::buffer::{flags, BufferIndex, BufferPool, BUFFER_DATA_SIZE};
use crate::interface::{Device, RxBurst};

const TPACKET_V3: libc::c_int = 2;
const PACKET_RX_RING: libc::c_int = 5;
const PACKET_VERSION: libc::c_int = 10;
const PACKET_ADD_MEMBERSHIP: libc::c_int = 1;
const PACKET_MR_PROMISC: libc::c_ushort = 1;
const PACKET_IGNORE_OUTGOING: libc::c_int = 23;
const PACKET_VNET_HDR: libc::c_int = 15;
const TP_STATUS_KERNEL: u32 = 0;
const TP_STATUS_USER: u32 = 1;
/// The frame's TCP/UDP checksum is partial (a local sender left it to "the NIC").
const TP_STATUS_CSUMNOTREADY: u32 = 1 << 3;
/// The kernel took the frame's VLAN tag out (`tp_vlan_tci`).
const TP_STATUS_VLAN_VALID: u32 = 1 << 4;
/// `tp_vlan_tpid` is set.
const TP_STATUS_VLAN_TPID_VALID: u32 = 1 << 6;
/// The kernel (or the NIC) verified the L4 checksum.
const TP_STATUS_CSUM_VALID: u32 = 1 << 7;

const BLOCK_SIZE: u32 = 1 << 20;
const BLOCK_NR: u32 = 8;
const FRAME_SIZE: u32 = 2048;

#[repr(C)]
struct TpacketReq3 {
    tp_block_size: u32,
    tp_block_nr: u32,
    tp_frame_size: u32,
    tp_frame_nr: u32,
    tp_retire_blk_tov: u32,
    tp_sizeof_priv: u32,
    tp_feature_req_word: u32,
}

#[repr(C)]
struct PacketMreq {
    mr_ifindex: libc::c_int,
    mr_type: libc::c_ushort,
    mr_alen: libc::c_ushort,
    mr_address: [u8; 8],
}

// Offsets in `struct tpacket_block_desc` (linux/if_packet.h).
const BLK_STATUS: usize = 8;
const BLK_NUM_PKTS: usize = 12;
const BLK_FIRST_PKT: usize = 16;
// Offsets in `struct tpacket3_hdr`.
const PKT_NEXT: usize = 0;
const PKT_SNAPLEN: usize = 12;
const PKT_LEN: usize = 16;
const PKT_STATUS: usize = 20;
const PKT_MAC: usize = 24;
const PKT_VLAN_TCI: usize = 32;
const PKT_VLAN_TPID: usize = 36;

/// What became of one ring entry.
enum Received {
    /// Received (or counted as dropped): go to the next entry.
    Done,
    /// Not enough room left in this burst: try the entry again next time.
    NoRoom,
}

/// The mapped receive ring.
struct Ring {
    base: *mut u8,
    len: usize,
}

impl Drop for Ring {
    fn drop(&mut self) {
        // SAFETY: base/len are exactly what mmap returned; nothing uses the ring after drop.
        unsafe {
            libc::munmap(self.base as *mut libc::c_void, self.len);
        }
    }
}

/// An AF_PACKET device.
pub struct AfPacketDevice {
    fd: OwnedFd,
    ring: Ring,
    /// Host interface name.
    pub host_name: String,
    ifindex: libc::c_int,
    /// Block being read and the next packet in it.
    block: u32,
    pkt_in_block: u32,
    pkt_offset: usize,
    /// The socket has `PACKET_VNET_HDR`: every frame comes with a virtio-net header (partial
    /// checksums and super-frames described) and goes out with one.
    vnet_hdr: bool,
}

// SAFETY: the ring pointer is owned by this device (mapped by it, unmapped on drop) and only
// touched through &mut self, so moving the device to another thread moves its sole user.
unsafe impl Send for AfPacketDevice {}

fn os_err(what: &str) -> String {
    format!("{what}: {}", std::io::Error::last_os_error())
}

impl AfPacketDevice {
    /// Open a packet socket on host interface `host_name` with a TPACKET_V3 receive ring.
    pub fn open(host_name: &str) -> Result<Self, String> {
        let cname = std::ffi::CString::new(host_name)
            .map_err(|_| format!("bad interface name `{host_name}`"))?;
        // SAFETY: cname is NUL-terminated.
        let ifindex = unsafe { libc::if_nametoindex(cname.as_ptr()) } as libc::c_int;
        if ifindex == 0 {
            return Err(format!("host interface `{host_name}` does not exist"));
        }
        let proto = (libc::ETH_P_ALL as u16).to_be() as libc::c_int;
        // SAFETY: plain socket creation.
        let raw = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                proto,
            )
        };
        if raw < 0 {
            return Err(os_err("cannot open a packet socket"));
        }
        // SAFETY: raw is a fresh descriptor owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let set = |level, opt, val: *const libc::c_void, len: usize, what: &str| {
            // SAFETY: val points to `len` readable bytes for the duration of the call.
            if unsafe { libc::setsockopt(fd.as_raw_fd(), level, opt, val, len as libc::socklen_t) }
                < 0
            {
                Err(os_err(what))
            } else {
                Ok(())
            }
        };
        let v3 = TPACKET_V3;
        set(
            libc::SOL_PACKET,
            PACKET_VERSION,
            &v3 as *const _ as *const _,
            4,
            "cannot select TPACKET_V3",
        )?;
        // Before the ring: frames then carry a virtio-net header, which describes partial
        // checksums and the super-frames of a peer's TSO (a veth peer sends both). Without it
        // (very old kernels) partial checksums are still finished, from the ring's status.
        let vnet_hdr = set(
            libc::SOL_PACKET,
            PACKET_VNET_HDR,
            &1 as *const libc::c_int as *const _,
            4,
            "vnet header",
        )
        .is_ok();
        let req = TpacketReq3 {
            tp_block_size: BLOCK_SIZE,
            tp_block_nr: BLOCK_NR,
            tp_frame_size: FRAME_SIZE,
            tp_frame_nr: BLOCK_SIZE / FRAME_SIZE * BLOCK_NR,
            tp_retire_blk_tov: 1,
            tp_sizeof_priv: 0,
            tp_feature_req_word: 0,
        };
        set(
            libc::SOL_PACKET,
            PACKET_RX_RING,
            &req as *const _ as *const _,
            std::mem::size_of::<TpacketReq3>(),
            "cannot set up the receive ring",
        )?;
        let one: libc::c_int = 1;
        // Not fatal on old kernels: we would see our own frames, which ethernet-input drops.
        let _ = set(
            libc::SOL_PACKET,
            PACKET_IGNORE_OUTGOING,
            &one as *const _ as *const _,
            4,
            "ignore outgoing",
        );
        let len = (BLOCK_SIZE * BLOCK_NR) as usize;
        // SAFETY: mapping the ring the kernel just allocated for this socket (size as requested).
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_LOCKED,
                fd.as_raw_fd(),
                0,
            )
        };
        let base = if base == libc::MAP_FAILED {
            // MAP_LOCKED can fail under memory limits; retry without it.
            // SAFETY: as above.
            let b = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    len,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_SHARED,
                    fd.as_raw_fd(),
                    0,
                )
            };
            if b == libc::MAP_FAILED {
                return Err(os_err("cannot map the receive ring"));
            }
            b
        } else {
            base
        };
        let ring = Ring {
            base: base as *mut u8,
            len,
        };
        // SAFETY: sockaddr_ll is plain data; zeroed is a valid value.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = (libc::ETH_P_ALL as u16).to_be();
        sll.sll_ifindex = ifindex;
        // SAFETY: sll is a valid sockaddr_ll for the call.
        if unsafe {
            libc::bind(
                fd.as_raw_fd(),
                &sll as *const _ as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        } < 0
        {
            return Err(os_err(&format!("cannot bind to `{host_name}`")));
        }
        let mreq = PacketMreq {
            mr_ifindex: ifindex,
            mr_type: PACKET_MR_PROMISC,
            mr_alen: 0,
            mr_address: [0; 8],
        };
        set(
            libc::SOL_PACKET,
            PACKET_ADD_MEMBERSHIP,
            &mreq as *const _ as *const _,
            std::mem::size_of::<PacketMreq>(),
            "cannot enable promiscuous mode",
        )?;
        Ok(AfPacketDevice {
            fd,
            ring,
            host_name: host_name.to_string(),
            ifindex,
            block: 0,
            pkt_in_block: 0,
            pkt_offset: 0,
            vnet_hdr,
        })
    }

    /// Receive the frame whose `tpacket3_hdr` is at `ph` into `out[r.n..]`: one buffer, or one
    /// per segment of a super-frame. Partial checksums are finished and a VLAN tag the kernel
    /// took out is put back; what cannot be received is counted in `r`.
    fn receive_one(
        &self,
        ph: *mut u8,
        pool: &mut BufferPool,
        out: &mut [BufferIndex],
        r: &mut RxBurst,
    ) -> Received {
        let snap = Self::read_u32(ph, PKT_SNAPLEN) as usize;
        let len = Self::read_u32(ph, PKT_LEN) as usize;
        let st = Self::read_u32(ph, PKT_STATUS);
        // SAFETY: tp_mac is a u16 field of the packet header inside the block.
        let mac = unsafe { std::ptr::read_unaligned(ph.add(PKT_MAC) as *const u16) } as usize;
        let in_block = self.pkt_offset + mac + snap <= BLOCK_SIZE as usize;
        // Truncated by the ring, or a bad ring entry.
        if len != snap || !in_block || snap < 14 {
            r.errors += 1;
            return Received::Done;
        }
        // SAFETY: [ph+mac, ph+mac+snap) is inside the block (checked above).
        let frame = unsafe { std::slice::from_raw_parts(ph.add(mac), snap) };
        let vnet = if self.vnet_hdr && mac >= offload::VNET_HDR_LEN {
            let mut b = [0u8; offload::VNET_HDR_LEN];
            // SAFETY: with PACKET_VNET_HDR the kernel writes the header just before the frame,
            // inside the same packet slot.
            unsafe {
                std::ptr::copy_nonoverlapping(
                    ph.add(mac - offload::VNET_HDR_LEN),
                    b.as_mut_ptr(),
                    offload::VNET_HDR_LEN,
                )
            };
            offload::VnetHdr::parse(&b)
        } else {
            offload::VnetHdr::default()
        };
        let tag = (st & TP_STATUS_VLAN_VALID != 0).then(|| {
            let tci = Self::read_u32(ph, PKT_VLAN_TCI) as u16;
            let tpid = if st & TP_STATUS_VLAN_TPID_VALID != 0 {
                // SAFETY: tp_vlan_tpid is a u16 field of the packet header.
                unsafe { std::ptr::read_unaligned(ph.add(PKT_VLAN_TPID) as *const u16) }
            } else {
                0x8100
            };
            (tpid, tci)
        });
        let extra = if tag.is_some() { 4 } else { 0 };
        if vnet.gso_type != offload::VNET_GSO_NONE {
            // A super-frame (the peer's TSO/USO): segmented here, as the NIC would have.
            let Some(plan) = offload::Segmentation::plan(frame, vnet.gso_type, vnet.gso_size)
            else {
                r.errors += 1;
                return Received::Done;
            };
            if plan.count > out.len() || plan.len(0) + extra > BUFFER_DATA_SIZE {
                r.errors += 1;
                return Received::Done;
            }
            if r.n + plan.count > out.len() {
                return Received::NoRoom;
            }
            let got = pool.alloc(&mut out[r.n..r.n + plan.count]);
            if got < plan.count {
                pool.free(&out[r.n..r.n + got]);
                r.no_buf += 1;
                return Received::Done;
            }
            for i in 0..plan.count {
                let bi = out[r.n + i];
                let area = pool.data_area_mut(bi);
                let n = plan.write(frame, i, &mut area[extra..]).unwrap_or(0);
                let n = offload::put_vlan_tag(area, n, tag);
                pool.set_length(bi, n);
                pool.meta_mut(bi).flags |= flags::L4_CHECKSUM_COMPUTED | flags::L4_CHECKSUM_CORRECT;
            }
            r.n += plan.count;
            return Received::Done;
        }
        if snap + extra > BUFFER_DATA_SIZE {
            r.errors += 1;
            return Received::Done;
        }
        let Some(bi) = pool.alloc_one() else {
            r.no_buf += 1;
            return Received::Done;
        };
        let area = pool.data_area_mut(bi);
        area[extra..extra + snap].copy_from_slice(frame);
        let n = offload::put_vlan_tag(area, snap, tag);
        pool.set_length(bi, n);
        let d = pool.data_mut(bi);
        let completed = if vnet.flags & offload::VNET_F_NEEDS_CSUM != 0 {
            offload::complete_checksum_at(
                d,
                usize::from(vnet.csum_start) + extra,
                usize::from(vnet.csum_offset),
            )
        } else if !self.vnet_hdr && st & TP_STATUS_CSUMNOTREADY != 0 {
            offload::complete_partial_checksum(d)
        } else {
            false
        };
        if completed
            || vnet.flags & offload::VNET_F_DATA_VALID != 0
            || st & TP_STATUS_CSUM_VALID != 0
        {
            pool.meta_mut(bi).flags |= flags::L4_CHECKSUM_COMPUTED | flags::L4_CHECKSUM_CORRECT;
        }
        out[r.n] = bi;
        r.n += 1;
        Received::Done
    }

    fn block_ptr(&self, b: u32) -> *mut u8 {
        // SAFETY: b < BLOCK_NR, so the offset is inside the mapping.
        unsafe { self.ring.base.add((b * BLOCK_SIZE) as usize) }
    }

    fn read_u32(p: *const u8, off: usize) -> u32 {
        // SAFETY: callers pass pointers inside the ring and offsets of u32 fields of the kernel's
        // structures; the ring is mapped for the device's life. Unaligned read to be safe.
        unsafe { std::ptr::read_unaligned(p.add(off) as *const u32) }
    }
}

impl Device for AfPacketDevice {
    fn rx_burst(&mut self, pool: &mut BufferPool, out: &mut [BufferIndex], _now: u64) -> RxBurst {
        let mut r = RxBurst::default();
        'blocks: while r.n < out.len() {
            let blk = self.block_ptr(self.block);
            let status_ptr = blk.wrapping_add(BLK_STATUS) as *const u32;
            // SAFETY: status_ptr is the block's status word, inside the ring.
            let status = unsafe { std::ptr::read_volatile(status_ptr) };
            if status & TP_STATUS_USER == 0 {
                break;
            }
            // The kernel's writes to the block happen before it sets the status.
            fence(Ordering::Acquire);
            let num = Self::read_u32(blk, BLK_NUM_PKTS);
            if self.pkt_in_block == 0 {
                self.pkt_offset = Self::read_u32(blk, BLK_FIRST_PKT) as usize;
            }
            while self.pkt_in_block < num && r.n < out.len() {
                let ph = blk.wrapping_add(self.pkt_offset);
                match self.receive_one(ph, pool, out, &mut r) {
                    Received::Done => {}
                    // A super-frame whose segments do not fit what is left of `out`: it stays
                    // for the next burst.
                    Received::NoRoom => break 'blocks,
                }
                self.pkt_in_block += 1;
                self.pkt_offset += Self::read_u32(ph, PKT_NEXT) as usize;
            }
            if self.pkt_in_block >= num {
                // Hand the block back to the kernel.
                fence(Ordering::Release);
                // SAFETY: as for the read above.
                unsafe { std::ptr::write_volatile(status_ptr as *mut u32, TP_STATUS_KERNEL) };
                self.pkt_in_block = 0;
                self.block = (self.block + 1) % BLOCK_NR;
            }
        }
        r
    }

    fn tx_burst(&mut self, pool: &BufferPool, bufs: &[BufferIndex], _now: u64) -> usize {
        const MAX: usize = 256;
        let n = bufs.len().min(MAX);
        // SAFETY: iovec and mmsghdr are plain data; zeroed values are valid.
        let mut iov: [libc::iovec; 2 * MAX] = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        let mut msgs: [libc::mmsghdr; MAX] = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_ifindex = self.ifindex;
        sll.sll_halen = 6;
        // With PACKET_VNET_HDR every frame goes out behind a virtio-net header: ours says
        // "nothing to do" (complete checksums, no segmentation).
        let hdr = [0u8; offload::VNET_HDR_LEN];
        let per = if self.vnet_hdr { 2 } else { 1 };
        for (k, &bi) in bufs[..n].iter().enumerate() {
            let d = pool.data(bi);
            let frame = libc::iovec {
                iov_base: d.as_ptr() as *mut libc::c_void,
                iov_len: d.len(),
            };
            if self.vnet_hdr {
                iov[2 * k] = libc::iovec {
                    iov_base: hdr.as_ptr() as *mut libc::c_void,
                    iov_len: hdr.len(),
                };
                iov[2 * k + 1] = frame;
            } else {
                iov[k] = frame;
            }
            msgs[k].msg_hdr.msg_iov = &mut iov[per * k];
            msgs[k].msg_hdr.msg_iovlen = per;
            msgs[k].msg_hdr.msg_name = &mut sll as *mut _ as *mut libc::c_void;
            msgs[k].msg_hdr.msg_namelen = std::mem::size_of::<libc::sockaddr_ll>() as u32;
        }
        // SAFETY: msgs[..n] point to iovecs of live buffer memory and to sll, all alive for the
        // call; sendmmsg only reads them (and writes msg_len).
        let sent = unsafe { libc::sendmmsg(self.fd.as_raw_fd(), msgs.as_mut_ptr(), n as u32, 0) };
        if sent < 0 {
            0
        } else {
            sent as usize
        }
    }

    fn fd(&self) -> Option<RawFd> {
        Some(self.fd.as_raw_fd())
    }
}
