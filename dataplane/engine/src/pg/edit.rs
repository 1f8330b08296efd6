//! Packet templates of `data { ... }` streams, VPP's pg edits (`src/vnet/pg/edit.h`, `input.c`).
//!
//! A stream's description is compiled once, when the stream is created, into a [`Template`]: the
//! bytes of its largest packet with every fixed field written in ([`Template::base`]), the fields
//! that change from packet to packet (an increment `A - B` or a random `A + B`), the packet size
//! rule (`size A-B` / `size A+B`), and the length and checksum fix-ups of the headers whose length
//! or checksum were not given. Packets are then generated one by one into their buffers: copy the
//! first `len` bytes of the base, write the changing fields, redo the fix-ups — no allocation, no
//! expansion to a packet list (a stream of random fields or of large ranges has no useful finite
//! expansion). A template with no changing field and a fixed size has its fix-ups done on the base
//! already, so its packets are a plain copy.
//!
//! Increments go from low to high and wrap, one step per packet and per field, as VPP's do.
//! Random values come from the stream's [`PgRng`], seeded, so that two runs (and two replays) of
//! a stream give the same bytes.

use crate::checksum::{fold, sum16};
use crate::rng::Rng;

/// The seeded generator of a stream's random fields and sizes: the engine's [`Rng`], with its
/// seed kept so that a stream enabled again repeats its packets.
#[derive(Clone, Debug)]
pub struct PgRng {
    seed: u64,
    rng: Rng,
}

impl PgRng {
    /// A generator for `seed` (any value, 0 included).
    pub fn new(seed: u64) -> Self {
        PgRng {
            seed,
            rng: Rng::from_seed(seed),
        }
    }

    /// Back to the first value of the sequence (a stream enabled again repeats its packets).
    pub fn reset(&mut self) {
        self.rng = Rng::from_seed(self.seed);
    }

    /// A value in `lo..=hi` (`lo <= hi`).
    #[inline]
    pub fn in_range(&mut self, lo: u64, hi: u64) -> u64 {
        self.rng.in_range(lo, hi)
    }
}

/// Where a header field lives: `width` bytes at `off`, big-endian, of which the `bits` bits from
/// bit `shift` up (VPP's `lsb_bit_offset` / `n_bits`; bit fields such as the IPv4 version or the
/// TCP flags share their bytes with others).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    /// Offset of the field's first byte in the packet.
    pub off: u16,
    /// Bytes spanned (1..=8).
    pub width: u8,
    /// Position of the field's least significant bit in the big-endian value of those bytes.
    pub shift: u8,
    /// Width in bits.
    pub bits: u8,
}

impl Field {
    /// A whole-bytes field.
    pub const fn bytes(off: u16, width: u8) -> Self {
        Field {
            off,
            width,
            shift: 0,
            bits: width * 8,
        }
    }

    /// A bit field of `bits` bits at bit `shift` of the `width` bytes at `off`.
    pub const fn bits(off: u16, width: u8, shift: u8, bits: u8) -> Self {
        Field {
            off,
            width,
            shift,
            bits,
        }
    }

    /// The largest value the field holds.
    pub const fn max(&self) -> u64 {
        if self.bits >= 64 {
            u64::MAX
        } else {
            (1u64 << self.bits) - 1
        }
    }

    /// The field moved by `delta` bytes (a header placed after others).
    pub const fn at(self, delta: u16) -> Self {
        Field {
            off: self.off + delta,
            ..self
        }
    }

    fn range(&self) -> std::ops::Range<usize> {
        self.off as usize..self.off as usize + self.width as usize
    }

    /// Write `v` (masked to the field) into `pkt`; nothing if the packet is too short.
    #[inline]
    pub fn write(&self, pkt: &mut [u8], v: u64) {
        let Some(b) = pkt.get_mut(self.range()) else {
            return;
        };
        let mut word = 0u64;
        for &x in b.iter() {
            word = (word << 8) | x as u64;
        }
        let mask = self.max() << self.shift;
        word = (word & !mask) | ((v << self.shift) & mask);
        for (i, x) in b.iter_mut().rev().enumerate() {
            *x = (word >> (8 * i)) as u8;
        }
    }

    /// The field's value in `pkt` (0 if the packet is too short).
    pub fn read(&self, pkt: &[u8]) -> u64 {
        let Some(b) = pkt.get(self.range()) else {
            return 0;
        };
        let word = b.iter().fold(0u64, |w, &x| (w << 8) | x as u64);
        (word >> self.shift) & self.max()
    }
}

/// How a field (or the packet size) varies: VPP's `PG_EDIT_FIXED`, `PG_EDIT_INCREMENT` (`A - B`)
/// and `PG_EDIT_RANDOM` (`A + B`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Value {
    /// The same value in every packet.
    Fixed(u64),
    /// `lo`, `lo + 1`, ... `hi`, `lo`, ... one step per packet.
    Increment(u64, u64),
    /// A value drawn from `lo..=hi` for every packet.
    Random(u64, u64),
}

impl Value {
    /// The lowest value (what a fixed base holds).
    pub fn lo(&self) -> u64 {
        match *self {
            Value::Fixed(v) | Value::Increment(v, _) | Value::Random(v, _) => v,
        }
    }

    /// The highest value.
    pub fn hi(&self) -> u64 {
        match *self {
            Value::Fixed(v) | Value::Increment(_, v) | Value::Random(_, v) => v,
        }
    }
}

/// A field that changes from packet to packet, with its increment position.
#[derive(Clone, Debug)]
struct Edit {
    field: Field,
    value: Value,
    next: u64,
}

impl Edit {
    #[inline]
    fn step(&mut self, rng: &mut PgRng) -> u64 {
        match self.value {
            Value::Fixed(v) => v,
            Value::Increment(lo, hi) => {
                let v = self.next;
                self.next = if v >= hi { lo } else { v + 1 };
                v
            }
            Value::Random(lo, hi) => rng.in_range(lo, hi),
        }
    }
}

/// A length or checksum VPP's pg fills in because the description did not give it (the edit
/// functions of `ip4_pg.c`, `udp_pg.c`, `tcp_pg.c` and `icmp4.c`). Offsets are from the start
/// of the packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fixup {
    /// IPv4 total length (from the packet length) and/or header checksum.
    Ip4 {
        /// IPv4 header offset.
        ip: u16,
        /// Set the total length.
        length: bool,
        /// Set the header checksum.
        checksum: bool,
    },
    /// UDP length (from the packet length) and/or checksum (with the IPv4 pseudo-header).
    Udp {
        /// IPv4 header offset.
        ip: u16,
        /// UDP header offset.
        udp: u16,
        /// Set the length.
        length: bool,
        /// Set the checksum (0 is sent as 0xffff).
        checksum: bool,
    },
    /// TCP checksum over the segment (with the IPv4 pseudo-header).
    Tcp {
        /// IPv4 header offset.
        ip: u16,
        /// TCP header offset.
        tcp: u16,
        /// The IPv4 total length was given: the segment ends where it says, not at the packet end.
        ip_length_given: bool,
    },
    /// ICMP checksum over the message.
    Icmp {
        /// IPv4 header offset.
        ip: u16,
        /// ICMP header offset.
        icmp: u16,
        /// The IPv4 total length was given (see [`Fixup::Tcp`]).
        ip_length_given: bool,
    },
}

fn put16(pkt: &mut [u8], off: usize, v: u16) {
    if let Some(b) = pkt.get_mut(off..off + 2) {
        b.copy_from_slice(&v.to_be_bytes());
    }
}

fn get16(pkt: &[u8], off: usize) -> u16 {
    pkt.get(off..off + 2)
        .map_or(0, |b| u16::from_be_bytes([b[0], b[1]]))
}

/// IPv4 pseudo-header sum: addresses, protocol, L4 length.
fn pseudo_header(pkt: &[u8], ip: usize, l4_len: usize) -> u64 {
    let addrs = pkt.get(ip + 12..ip + 20).unwrap_or(&[]);
    let proto = pkt.get(ip + 9).copied().unwrap_or(0) as u64;
    sum16(0, addrs) + proto + l4_len as u64
}

impl Fixup {
    /// Apply to one packet (its final length is `pkt.len()`). Never reads or writes out of bounds.
    #[inline]
    pub fn apply(&self, pkt: &mut [u8]) {
        let len = pkt.len();
        match *self {
            Fixup::Ip4 {
                ip,
                length,
                checksum,
            } => {
                let ip = ip as usize;
                if len < ip + 20 {
                    return;
                }
                if length {
                    put16(pkt, ip + 2, (len - ip).min(0xffff) as u16);
                }
                if checksum {
                    put16(pkt, ip + 10, 0);
                    let c = !fold(sum16(0, &pkt[ip..ip + 20]));
                    put16(pkt, ip + 10, c);
                }
            }
            Fixup::Udp {
                ip,
                udp,
                length,
                checksum,
            } => {
                let (ip, udp) = (ip as usize, udp as usize);
                if len < udp + 8 {
                    return;
                }
                let avail = len - udp;
                let udp_len = if length {
                    put16(pkt, udp + 4, avail.min(0xffff) as u16);
                    avail
                } else {
                    (get16(pkt, udp + 4) as usize).min(avail)
                };
                if checksum {
                    put16(pkt, udp + 6, 0);
                    let sum = pseudo_header(pkt, ip, udp_len);
                    let c = !fold(sum16(sum, &pkt[udp..udp + udp_len]));
                    // Zero means "no checksum" in UDP.
                    put16(pkt, udp + 6, if c == 0 { 0xffff } else { c });
                }
            }
            Fixup::Tcp {
                ip,
                tcp,
                ip_length_given,
            } => {
                let (ip, tcp) = (ip as usize, tcp as usize);
                if len < tcp + 20 {
                    return;
                }
                let l4 = l4_len(pkt, ip, tcp, ip_length_given);
                put16(pkt, tcp + 16, 0);
                let sum = pseudo_header(pkt, ip, l4);
                let c = !fold(sum16(sum, &pkt[tcp..tcp + l4]));
                put16(pkt, tcp + 16, c);
            }
            Fixup::Icmp {
                ip,
                icmp,
                ip_length_given,
            } => {
                let (ip, icmp) = (ip as usize, icmp as usize);
                if len < icmp + 4 {
                    return;
                }
                let l4 = l4_len(pkt, ip, icmp, ip_length_given);
                put16(pkt, icmp + 2, 0);
                let c = !fold(sum16(0, &pkt[icmp..icmp + l4]));
                put16(pkt, icmp + 2, c);
            }
        }
    }
}

/// Bytes of the L4 message at `l4`: to the end of the packet, or to the end the IPv4 total length
/// gives when it was set by hand (never past the packet).
fn l4_len(pkt: &[u8], ip: usize, l4: usize, ip_length_given: bool) -> usize {
    let avail = pkt.len() - l4;
    if ip_length_given {
        let total = get16(pkt, ip + 2) as usize;
        total.saturating_sub(l4 - ip).min(avail)
    } else {
        avail
    }
}

/// A compiled `data { ... }` description (see the module documentation).
#[derive(Clone, Debug)]
pub struct Template {
    base: Vec<u8>,
    header_len: usize,
    edits: Vec<Edit>,
    fixups: Vec<Fixup>,
    per_packet_fixups: bool,
    size: Value,
    next_size: u64,
}

impl Template {
    /// The largest packet with every fixed field set (and, for a constant stream, its fix-ups).
    pub fn base(&self) -> &[u8] {
        &self.base
    }

    /// Bytes of headers (what `size` may not go below).
    pub fn header_len(&self) -> usize {
        self.header_len
    }

    /// Smallest and largest packet size, and whether sizes are random.
    pub fn sizes(&self) -> (usize, usize, bool) {
        (
            self.size.lo() as usize,
            self.size.hi() as usize,
            matches!(self.size, Value::Random(..)),
        )
    }

    /// True if every packet is the same.
    pub fn is_constant(&self) -> bool {
        self.edits.is_empty() && matches!(self.size, Value::Fixed(_))
    }

    /// Back to the first packet: increments at their low values (the generator is reset by its
    /// owner).
    pub fn reset(&mut self) {
        for e in &mut self.edits {
            e.next = e.value.lo();
        }
        self.next_size = self.size.lo();
    }

    /// The size of the next packet.
    #[inline]
    pub fn next_len(&mut self, rng: &mut PgRng) -> usize {
        let v = match self.size {
            Value::Fixed(v) => v,
            Value::Increment(lo, hi) => {
                let v = self.next_size;
                self.next_size = if v >= hi { lo } else { v + 1 };
                v
            }
            Value::Random(lo, hi) => rng.in_range(lo, hi),
        };
        (v as usize).min(self.base.len())
    }

    /// Turn a copy of the base's first bytes into the next packet: changing fields, then fix-ups
    /// (inner headers first, as VPP runs its edit functions).
    #[inline]
    pub fn apply(&mut self, pkt: &mut [u8], rng: &mut PgRng) {
        for e in &mut self.edits {
            let v = e.step(rng);
            e.field.write(pkt, v);
        }
        if self.per_packet_fixups {
            for f in self.fixups.iter().rev() {
                f.apply(pkt);
            }
        }
    }

    /// The next packet in a new vector (tests, and callers that want the bytes).
    pub fn generate(&mut self, rng: &mut PgRng) -> Vec<u8> {
        let len = self.next_len(rng);
        let mut pkt = self.base[..len].to_vec();
        self.apply(&mut pkt, rng);
        pkt
    }
}

/// Builds a [`Template`]: headers are appended in order, fields set, fix-ups added.
#[derive(Clone, Debug, Default)]
pub struct Builder {
    hdr: Vec<u8>,
    edits: Vec<(Field, Value)>,
    fixups: Vec<Fixup>,
}

impl Builder {
    /// Bytes of headers so far (the offset of the next header).
    pub fn len(&self) -> usize {
        self.hdr.len()
    }

    /// True before the first header.
    pub fn is_empty(&self) -> bool {
        self.hdr.is_empty()
    }

    /// Append `n` zero bytes for a header; returns its offset.
    pub fn push_header(&mut self, n: usize) -> u16 {
        let off = self.hdr.len();
        self.hdr.resize(off + n, 0);
        off as u16
    }

    /// Append bytes as they are.
    pub fn push_bytes(&mut self, b: &[u8]) {
        self.hdr.extend_from_slice(b);
    }

    /// Give a field its value; a later call for the same field replaces an earlier one.
    pub fn set(&mut self, field: Field, value: Value) {
        self.edits.retain(|(f, _)| *f != field);
        field.write(&mut self.hdr, value.lo());
        if !matches!(value, Value::Fixed(_)) {
            self.edits.push((field, value));
        }
    }

    /// The value of a field as set so far (fixed, or the low end of a range).
    pub fn get(&self, field: Field) -> u64 {
        field.read(&self.hdr)
    }

    /// The value of a field if it is fixed (not a range).
    pub fn fixed(&self, field: Field) -> Option<u64> {
        if self.edits.iter().any(|(f, _)| *f == field) {
            None
        } else {
            Some(field.read(&self.hdr))
        }
    }

    /// Add a fix-up (in header order; they run innermost first).
    pub fn fixup(&mut self, f: Fixup) {
        self.fixups.push(f);
    }

    /// The template: headers then `payload` (cut or zero-padded to fill `size`'s largest packet).
    /// Errors if the sizes are below the headers or above a buffer.
    pub fn finish(self, payload: &[u8], size: Value, max_bytes: usize) -> Result<Template, String> {
        let (min, max) = (size.lo() as usize, size.hi() as usize);
        if min > max {
            return Err(format!(
                "size {min}-{max}: the smallest size is above the largest"
            ));
        }
        if min < self.hdr.len() {
            return Err(format!(
                "size {min} is smaller than the packet's headers ({} bytes)",
                self.hdr.len()
            ));
        }
        if max > max_bytes {
            return Err(format!(
                "size {max} is larger than a buffer ({max_bytes} bytes; chained buffers are not supported)"
            ));
        }
        let mut base = self.hdr;
        let header_len = base.len();
        let n = max - header_len;
        base.extend(payload.iter().copied().take(n));
        base.resize(max, 0);
        let edits: Vec<Edit> = self
            .edits
            .into_iter()
            .map(|(field, value)| Edit {
                field,
                value,
                next: value.lo(),
            })
            .collect();
        let mut t = Template {
            base,
            header_len,
            per_packet_fixups: false,
            edits,
            fixups: self.fixups,
            next_size: size.lo(),
            size,
        };
        // The base is a valid largest packet; a constant stream needs nothing more per packet.
        for f in t.fixups.iter().rev() {
            f.apply(&mut t.base);
        }
        t.per_packet_fixups = !t.fixups.is_empty() && !t.is_constant();
        Ok(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_write_their_bits_only() {
        let mut p = [0xffu8; 4];
        // The IPv4 version nibble: bits 4..8 of byte 0.
        Field::bits(0, 1, 4, 4).write(&mut p, 4);
        assert_eq!(p[0], 0x4f);
        // The fragment offset: 13 low bits of a 16-bit word.
        Field::bits(2, 2, 0, 13).write(&mut p, 0x0123);
        assert_eq!(&p[2..], &[0xe1, 0x23]);
        assert_eq!(Field::bits(2, 2, 0, 13).read(&p), 0x0123);
        // Too short: nothing happens.
        Field::bytes(3, 2).write(&mut p, 0);
        assert_eq!(Field::bytes(3, 2).read(&p), 0);
        let mut mac = [0u8; 6];
        Field::bytes(0, 6).write(&mut mac, 0x0001_0203_0405);
        assert_eq!(mac, [0, 1, 2, 3, 4, 5]);
    }

    #[test]
    fn rng_is_seeded_and_in_range() {
        let mut a = PgRng::new(5);
        let xs: Vec<u64> = (0..200).map(|_| a.in_range(10, 20)).collect();
        a.reset();
        let ys: Vec<u64> = (0..200).map(|_| a.in_range(10, 20)).collect();
        assert_eq!(xs, ys);
        assert!(xs.iter().all(|&x| (10..=20).contains(&x)));
        assert!(xs.contains(&10) && xs.contains(&20));
        assert_ne!(
            xs,
            (0..200)
                .map(|_| PgRng::new(6).in_range(10, 20))
                .collect::<Vec<_>>()
        );
        let _ = PgRng::new(0).in_range(0, u64::MAX);
    }

    #[test]
    fn increments_wrap_and_sizes_step() {
        let mut b = Builder::default();
        b.push_header(2);
        b.set(Field::bytes(0, 1), Value::Increment(7, 9));
        b.set(Field::bytes(1, 1), Value::Fixed(0xaa));
        let mut t = b.finish(&[1, 2, 3], Value::Increment(3, 4), 2048).unwrap();
        let mut rng = PgRng::new(0);
        let pkts: Vec<Vec<u8>> = (0..4).map(|_| t.generate(&mut rng)).collect();
        assert_eq!(
            pkts,
            [
                vec![7, 0xaa, 1],
                vec![8, 0xaa, 1, 2],
                vec![9, 0xaa, 1],
                vec![7, 0xaa, 1, 2]
            ]
        );
        t.reset();
        assert_eq!(t.generate(&mut rng), [7, 0xaa, 1]);
    }

    #[test]
    fn sizes_are_checked() {
        let mut b = Builder::default();
        b.push_header(42);
        assert!(b
            .clone()
            .finish(&[], Value::Fixed(40), 2048)
            .unwrap_err()
            .contains("smaller than the packet's headers (42 bytes)"));
        assert!(b
            .clone()
            .finish(&[], Value::Fixed(3000), 2048)
            .unwrap_err()
            .contains("larger than a buffer"));
        assert_eq!(
            b.finish(&[], Value::Fixed(42), 2048).unwrap().base().len(),
            42
        );
    }
}
