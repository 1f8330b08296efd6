//! Addresses, hex dumps, padding and time intervals
//! (`src/vppinfra/std-formats.c`, `src/vppinfra/format.c`,
//! `src/vnet/ethernet/format.c`, `src/vnet/ip/ip{4,6}_format.c`).

use std::fmt::Write as _;
use std::net::Ipv4Addr;

use super::{column, newline};

const HEX: &[u8; 16] = b"0123456789abcdef";

#[inline]
fn push_hex_byte(s: &mut String, b: u8) {
    s.push(char::from(HEX[usize::from(b >> 4)]));
    s.push(char::from(HEX[usize::from(b & 0xf)]));
}

/// `format_ethernet_address`: `xx:xx:xx:xx:xx:xx`, lowercase.
#[inline]
pub fn format_mac(s: &mut String, a: [u8; 6]) {
    for (i, b) in a.iter().enumerate() {
        if i > 0 {
            s.push(':');
        }
        push_hex_byte(s, *b);
    }
}

/// `format_ip4_address`: `%d.%d.%d.%d`. Accepts `Ipv4Addr`, `[u8; 4]` or a
/// host-order `u32`.
#[inline]
pub fn format_ip4(s: &mut String, a: impl Into<Ipv4Addr>) {
    let o = a.into().octets();
    let _ = write!(s, "{}.{}.{}.{}", o[0], o[1], o[2], o[3]);
}

/// `format_ip6_address` (VPP's own algorithm): 16-bit groups in lowercase
/// `%x`; the first longest run of two or more zero groups becomes `::`.
pub fn format_ip6_address(s: &mut String, a: [u8; 16]) {
    let w: [u16; 8] = std::array::from_fn(|i| u16::from_be_bytes([a[2 * i], a[2 * i + 1]]));
    let (mut max_run, mut max_idx) = (0usize, usize::MAX);
    let (mut run, mut run_idx, mut in_run) = (0usize, 0usize, false);
    for (i, &g) in w.iter().enumerate() {
        if g == 0 {
            if in_run {
                run += 1;
            } else {
                in_run = true;
                run = 1;
                run_idx = i;
            }
        } else {
            if in_run && run > max_run && run > 1 {
                max_idx = run_idx;
                max_run = run;
            }
            in_run = false;
            run = 0;
        }
    }
    if in_run && run > max_run && run > 1 {
        max_idx = run_idx;
        max_run = run;
    }
    let mut last_double_colon = false;
    let mut i = 0;
    while i < 8 {
        if i == max_idx {
            s.push_str("::");
            i += max_run;
            last_double_colon = true;
        } else {
            if !(last_double_colon || i == 0) {
                s.push(':');
            }
            let _ = write!(s, "{:x}", w[i]);
            last_double_colon = false;
            i += 1;
        }
    }
}

/// `format_hex_bytes`: up to 32 bytes as a plain run of `%02x`; longer
/// dumps as rows of 32 bytes, each starting with the offset `%08x: `, the
/// rows after the first indented to the column where the dump began.
/// An empty slice prints nothing.
pub fn format_hex_bytes(s: &mut String, data: &[u8]) {
    let n = data.len();
    if n == 0 {
        return;
    }
    let short = n <= 32;
    let indent = column(s);
    s.reserve(n * 2 + (n / 32 + 1) * (indent + 11));
    for (i, b) in data.iter().enumerate() {
        if !short && i % 32 == 0 {
            let _ = write!(s, "{i:08x}: ");
        }
        push_hex_byte(s, *b);
        if !short && (i + 1) % 32 == 0 && i + 1 < n {
            newline(s, indent);
        }
    }
}

#[derive(Clone, Copy)]
enum Justify {
    Left,
    Right,
    Center,
}

/// VPP's `justify()`: pad to `width` or truncate to `width` bytes.
/// A width of 0 means "natural width" (no padding, no truncation).
fn justify(s: &mut String, text: &str, width: usize, how: Justify) {
    if width == 0 {
        s.push_str(text);
        return;
    }
    let mut t = text;
    if t.len() > width {
        // VPP truncates at a byte; keep valid UTF-8 by cutting at the
        // previous char boundary (identical for ASCII).
        let mut cut = width;
        while !t.is_char_boundary(cut) {
            cut -= 1;
        }
        t = &t[..cut];
    }
    let n = width.saturating_sub(t.len());
    let (left, right) = match how {
        Justify::Left => (0, n),
        Justify::Right => (n, 0),
        Justify::Center => (n / 2 + n % 2, n / 2),
    };
    super::white_space(s, left);
    s.push_str(t);
    super::white_space(s, right);
}

/// `%=Ns`: centred in `width`; when the padding is odd the extra space goes
/// to the left. Text longer than `width` is truncated.
#[inline]
pub fn pad_center(s: &mut String, text: &str, width: usize) {
    justify(s, text, width, Justify::Center);
}

/// `%-Ns`: left-aligned (padded on the right), truncated to `width`.
#[inline]
pub fn pad_left(s: &mut String, text: &str, width: usize) {
    justify(s, text, width, Justify::Left);
}

/// `%Ns`: right-aligned (padded on the left), truncated to `width`.
#[inline]
pub fn pad_right(s: &mut String, text: &str, width: usize) {
    justify(s, text, width, Justify::Right);
}

/// Writes a value with VPP's `%0Nd`: zero padded and truncated to `width`.
fn zero_padded(s: &mut String, v: u64, width: usize) {
    let t = v.to_string();
    if t.len() >= width {
        s.push_str(&t[..width]);
    } else {
        for _ in t.len()..width {
            s.push('0');
        }
        s.push_str(&t);
    }
}

/// `format_time_interval(fmt, t)`: `d` days (`%d`), `h` hours, `m` minutes,
/// `s` seconds (`%02d`), `f` milliseconds (`%03d`), `u` microseconds
/// (`%06d`); other characters are copied. Each unit is truncated (not
/// rounded) with the same f64 operations as VPP. Negative or NaN times are
/// treated as 0 (undefined behaviour in C).
pub fn format_time_interval(s: &mut String, fmt: &str, t: f64) {
    const SPM: f64 = 60.0;
    const SPH: f64 = 60.0 * SPM;
    const SPD: f64 = 24.0 * SPH;
    let mut t = if t.is_nan() || t < 0.0 { 0.0 } else { t };
    let days = (t / SPD) as u64;
    t -= days as f64 * SPD;
    let hours = (t / SPH) as u64;
    t -= hours as f64 * SPH;
    let minutes = (t / SPM) as u64;
    t -= minutes as f64 * SPM;
    let secs = t as u64;
    t -= secs as f64;
    let msecs = (1e3 * t) as u64;
    let usecs = (1e6 * t) as u64;
    for c in fmt.chars() {
        match c {
            // `%d` of a value passed as uword and read as int.
            'd' => {
                let _ = write!(s, "{}", days as u32 as i32);
            }
            'h' => zero_padded(s, hours, 2),
            'm' => zero_padded(s, minutes, 2),
            's' => zero_padded(s, secs, 2),
            'f' => zero_padded(s, msecs, 3),
            'u' => zero_padded(s, usecs, 6),
            c => s.push(c),
        }
    }
}

/// The trace timestamp `%02d:%02d:%02d:%06d` (hours, minutes, seconds,
/// microseconds; days dropped so hours wrap at 24), i.e.
/// `format_time_interval("h:m:s:u", t)`. Microseconds are truncated, so a
/// time built as `us / 1e6` may print one microsecond less because of f64
/// error (as in VPP); add half a microsecond to print an exact value.
#[inline]
pub fn format_time_interval_hmsu(s: &mut String, seconds: f64) {
    format_time_interval(s, "h:m:s:u", seconds);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(g: impl FnOnce(&mut String)) -> String {
        let mut s = String::new();
        g(&mut s);
        s
    }

    #[test]
    fn mac_and_ip4() {
        assert_eq!(
            f(|s| format_mac(s, [0x02, 0xfe, 0x69, 0x99, 0xeb, 0x9d])),
            "02:fe:69:99:eb:9d"
        );
        assert_eq!(f(|s| format_ip4(s, [10, 1, 1, 12])), "10.1.1.12");
        assert_eq!(
            f(|s| format_ip4(s, Ipv4Addr::new(192, 168, 16, 1))),
            "192.168.16.1"
        );
        assert_eq!(f(|s| format_ip4(s, 0x0a010109u32)), "10.1.1.9");
    }

    #[test]
    fn ip6() {
        let a = |g: [u16; 8]| {
            let mut b = [0u8; 16];
            for (i, w) in g.iter().enumerate() {
                b[2 * i..2 * i + 2].copy_from_slice(&w.to_be_bytes());
            }
            f(|s| format_ip6_address(s, b))
        };
        assert_eq!(a([0; 8]), "::");
        assert_eq!(a([0, 0, 0, 0, 0, 0, 0, 1]), "::1");
        assert_eq!(a([0xfe80, 0, 0, 0, 0, 0, 0, 1]), "fe80::1");
        assert_eq!(a([1, 0, 0, 0, 0, 0, 0, 0]), "1::");
        assert_eq!(a([1, 0, 2, 3, 4, 5, 6, 7]), "1:0:2:3:4:5:6:7");
        assert_eq!(a([1, 0, 0, 2, 0, 0, 0, 3]), "1:0:0:2::3");
        assert_eq!(a([1, 0, 0, 2, 0, 0, 3, 4]), "1::2:0:0:3:4");
        assert_eq!(
            a([0x2001, 0xdb8, 0, 0, 0xff, 0, 0, 0xabcd]),
            "2001:db8::ff:0:0:abcd"
        );
    }

    #[test]
    fn hex_short_and_long() {
        assert_eq!(f(|s| format_hex_bytes(s, &[])), "");
        assert_eq!(f(|s| format_hex_bytes(s, &[0xab, 0x01])), "ab01");
        let d: Vec<u8> = (0..32).collect();
        let out = f(|s| format_hex_bytes(s, &d));
        assert_eq!(out.len(), 64);
        assert!(!out.contains(':'));
        let d: Vec<u8> = (0..33).collect();
        let out = f(|s| {
            s.push_str("xx");
            format_hex_bytes(s, &d)
        });
        assert_eq!(
            out,
            "xx00000000: 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n  00000020: 20"
        );
        // Exactly 64 bytes: no trailing newline.
        let d = [0u8; 64];
        let out = f(|s| format_hex_bytes(s, &d));
        assert_eq!(out.lines().count(), 2);
        assert!(!out.ends_with('\n'));
    }

    #[test]
    fn padding() {
        assert_eq!(f(|s| pad_center(s, "ab", 7)), "   ab  ");
        assert_eq!(f(|s| pad_center(s, "ab", 6)), "  ab  ");
        assert_eq!(f(|s| pad_center(s, "abc", 6)), "  abc ");
        assert_eq!(f(|s| pad_left(s, "ab", 5)), "ab   ");
        assert_eq!(f(|s| pad_right(s, "ab", 5)), "   ab");
        assert_eq!(f(|s| pad_center(s, "abcdefgh", 5)), "abcde");
        assert_eq!(f(|s| pad_left(s, "abcdefgh", 5)), "abcde");
        assert_eq!(f(|s| pad_right(s, "abcdefgh", 5)), "abcde");
        assert_eq!(f(|s| pad_right(s, "abcdefgh", 0)), "abcdefgh");
        // Multi-byte chars: cut at a char boundary, then pad to the width
        // in bytes.
        assert_eq!(f(|s| pad_left(s, "é", 1)), " ");
        assert_eq!(f(|s| pad_left(s, "aé", 2)), "a ");
        assert_eq!(f(|s| pad_left(s, "aé", 3)), "aé");
    }

    #[test]
    fn time_interval() {
        let t = 1.0 * 3600.0 + 48.0 * 60.0 + 51.0 + 0.256986;
        assert_eq!(f(|s| format_time_interval_hmsu(s, t)), "01:48:51:256986");
        assert_eq!(f(|s| format_time_interval_hmsu(s, 0.0)), "00:00:00:000000");
        // Days are dropped.
        assert_eq!(
            f(|s| format_time_interval_hmsu(s, 86400.0 + 61.5)),
            "00:01:01:500000"
        );
        assert_eq!(
            f(|s| format_time_interval_hmsu(s, 59.9999999)),
            "00:00:59:999999"
        );
        assert_eq!(f(|s| format_time_interval_hmsu(s, -1.0)), "00:00:00:000000");
        assert_eq!(
            f(|s| format_time_interval_hmsu(s, f64::NAN)),
            "00:00:00:000000"
        );
        assert_eq!(
            f(|s| format_time_interval(s, "d:h:m:s:f", 90061.25)),
            "1:01:01:01:250"
        );
        // Truncation, not rounding: 0.0000009 s is 0 us.
        assert_eq!(
            f(|s| format_time_interval_hmsu(s, 0.0000009)),
            "00:00:00:000000"
        );
    }
}
