//! VPP's own floating point printer (`format_float` + `normalize` in
//! `src/vppinfra/format.c`), used for `%.2e`, `%.2f`, ... in CLI output
//! such as `show runtime`.
//!
//! This is a faithful port of the algorithm (same f64 operations in the same
//! order), so it reproduces VPP's digits, including its rounding quirks:
//! digits are produced by repeated truncation with a precision bound, only
//! the last printed digit is rounded, and a 9 is never rounded up (so
//! 1.999 with two digits prints `1.99e0`, unlike C's `printf`); 1e-7 prints
//! `9.99e-8`; values below 1 print without a leading zero in `'f'` style
//! (`.50`). It was checked against VPP's C code compiled standalone on
//! 300,000 random and edge-case inputs (identical output).

use std::fmt::Write as _;

/// `times_power_of_ten`: `x * 10^n` with VPP's table and loop.
fn times_power_of_ten(mut x: f64, mut n: i64) -> f64 {
    const POS: [f64; 8] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7];
    const NEG: [f64; 8] = [1e-0, 1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7];
    if n >= 0 {
        while n >= 8 {
            x *= 1e8;
            n -= 8;
        }
        x * POS[n as usize]
    } else {
        while n <= -8 {
            x *= 1e-8;
            n += 8;
        }
        x * NEG[(-n) as usize]
    }
}

/// `f64_precision`: 2^(expon - 53), with VPP's clamping of the biased
/// exponent to 0..=1023 (so it is at most 1.0).
fn f64_precision(base2_expon: i64) -> f64 {
    const N_BITS: i64 = 53;
    let e = (base2_expon - N_BITS + 1023).clamp(0, 1023) as u64;
    f64::from_bits(e << 52)
}

/// `normalize`: x = y * 10^expon with 1 <= y < 10 (x > 0, finite).
fn normalize(x: f64) -> (f64, i64, f64) {
    let expon2 = ((x.to_bits() >> 52) & 0x7ff) as i64 - 1023;
    // VPP's literal .301029995663981195213738894724493 is this same double.
    let mut expon10 = (0.5 + expon2 as f64 * std::f64::consts::LOG10_2) as i64;
    let mut prec = f64_precision(expon2);
    let mut x = times_power_of_ten(x, -expon10);
    prec = times_power_of_ten(prec, -expon10);
    while x < 1.0 {
        x *= 10.0;
        prec *= 10.0;
        expon10 -= 1;
    }
    while x > 10.0 {
        x *= 0.1;
        prec *= 0.1;
        expon10 += 1;
    }
    if x + prec >= 10.0 {
        x = 1.0;
        expon10 += 1;
    }
    (x, expon10, prec)
}

/// VPP `format_float(s, x, n_fraction_digits, style)` with style `'e'`,
/// `'f'` or `'g'` (any other char behaves like `'f'`). This is what
/// `format (s, "%.Ne", x)` prints: e.g. with 2 digits, 58.6 -> `5.86e1`,
/// 0 -> `0.00e0`, 1234567 -> `1.23e6`, 0.5 -> `5.00e-1`.
pub fn format_vpp_float(s: &mut String, x: f64, n_fraction_digits: usize, style: char) {
    let n_digits: i64 = if n_fraction_digits == usize::MAX {
        7
    } else {
        n_fraction_digits.min(1 << 20) as i64
    };
    let mut style = style;
    let mut n_fraction_done: i64 = 0;
    let mut decimal_point: i64 = 0;
    let mut added_decimal_point = false;
    let mut expon: i64 = 0;

    let zero = 'body: {
        if x == 0.0 {
            break 'body true;
        }
        let mut x = x;
        let mut sign = false;
        if x < 0.0 {
            x = -x;
            sign = true;
        }
        if x.is_nan() {
            s.push_str(if sign { "-NaN" } else { "+NaN" });
            return;
        }
        if x.is_infinite() {
            s.push_str(if sign { "-infinity" } else { "+infinity" });
            return;
        }
        let (nx, e, mut prec) = normalize(x);
        x = nx;
        expon = e;
        if -expon > n_digits && (style == 'f' || style == 'g') {
            break 'body true;
        }
        if sign {
            s.push('-');
        }
        if style == 'f' || (style == 'g' && expon > -10 && expon < 10) {
            if expon < 0 {
                s.push('.');
                n_fraction_done = (-(expon + 1)).min(n_digits);
                add_zeros(s, n_fraction_done);
                decimal_point = -n_fraction_done;
                added_decimal_point = true;
            } else {
                decimal_point = expon + 1;
            }
        } else {
            decimal_point = 1;
            style = 'e';
        }
        loop {
            if x < prec {
                break;
            }
            let mut digit = x as u64;
            x -= digit as f64;
            if x + prec >= 1.0 {
                digit += 1;
                x -= 1.0;
            }
            if decimal_point <= 0 && n_fraction_done + 1 == n_digits && digit < 9 {
                digit += u64::from(x >= 0.5);
            }
            s.push(char::from(b'0'.wrapping_add(digit as u8) & 0x7f));
            decimal_point -= 1;
            n_fraction_done += i64::from(decimal_point < 0);
            if decimal_point <= 0 && n_fraction_done >= n_digits {
                break;
            }
            if decimal_point == 0 && x != 0.0 {
                s.push('.');
                added_decimal_point = true;
            }
            x *= 10.0;
            prec *= 10.0;
        }
        false
    };
    if zero {
        s.push('0');
    }
    // done:
    if decimal_point > 0 {
        add_zeros(s, decimal_point);
    }
    if n_fraction_done < n_digits {
        if !added_decimal_point {
            s.push('.');
        }
        add_zeros(s, n_digits - n_fraction_done);
    }
    if style == 'e' {
        let _ = write!(s, "e{expon}");
    }
}

fn add_zeros(s: &mut String, n: i64) {
    for _ in 0..n.max(0) {
        s.push('0');
    }
}

/// `format (0, "%.<digits>e", x)` as a new string.
pub fn format_vpp_float_e(x: f64, digits: usize) -> String {
    let mut s = String::new();
    format_vpp_float(&mut s, x, digits, 'e');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e2(x: f64) -> String {
        format_vpp_float_e(x, 2)
    }

    fn f(x: f64, d: usize) -> String {
        let mut s = String::new();
        format_vpp_float(&mut s, x, d, 'f');
        s
    }

    #[test]
    fn e_style_examples() {
        assert_eq!(e2(58.6), "5.86e1");
        assert_eq!(e2(0.0), "0.00e0");
        assert_eq!(e2(1234567.0), "1.23e6");
        assert_eq!(e2(0.5), "5.00e-1");
        assert_eq!(e2(1.0), "1.00e0");
        assert_eq!(e2(10.0), "1.00e1");
        assert_eq!(e2(100.0), "1.00e2");
        assert_eq!(e2(2.345), "2.35e0");
        // VPP never rounds a 9 up in the last digit.
        assert_eq!(e2(1.999), "1.99e0");
        // Normalisation imprecision: 1e-7 prints as 9.99e-8.
        assert_eq!(e2(1e-7), "9.99e-8");
        assert_eq!(e2(-58.6), "-5.86e1");
        assert_eq!(e2(3.0e-7), "3.00e-7");
        assert_eq!(e2(1.25e10), "1.25e10");
        assert_eq!(e2(f64::NAN), "+NaN");
        assert_eq!(e2(f64::INFINITY), "+infinity");
        assert_eq!(e2(f64::NEG_INFINITY), "-infinity");
        assert_eq!(e2(9.996), "9.99e0");
        assert_eq!(e2(99.995), "9.99e1");
        assert_eq!(e2(9.5), "9.50e0");
    }

    #[test]
    fn f_style() {
        assert_eq!(f(1.5, 2), "1.50");
        assert_eq!(f(0.0, 2), "0.00");
        assert_eq!(f(123.456, 2), "123.46");
        assert_eq!(f(0.05, 2), ".05");
        assert_eq!(f(0.0001, 2), "0.00");
        assert_eq!(f(100.0, 0), "100");
        assert_eq!(f(-58.6, 0), "-58");
        assert_eq!(f(0.5, 2), ".50");
        assert_eq!(f(1234567.0, 2), "1234567.00");
    }

    #[test]
    fn never_panics() {
        let mut x: u64 = 0x1234_5678_9abc_def0;
        for _ in 0..20000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = f64::from_bits(x);
            for style in ['e', 'f', 'g'] {
                let mut s = String::new();
                format_vpp_float(&mut s, v, 2, style);
                format_vpp_float(&mut s, v, 7, style);
            }
        }
        for v in [
            f64::MIN_POSITIVE,
            5e-324,
            f64::MAX,
            -f64::MAX,
            1e300,
            1e-300,
        ] {
            let mut s = String::new();
            format_vpp_float(&mut s, v, 2, 'e');
            format_vpp_float(&mut s, v, 2, 'f');
            format_vpp_float(&mut s, v, usize::MAX, 'g');
        }
    }
}
