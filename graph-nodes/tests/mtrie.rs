//! Tests for the IPv4 16-8-8 mtrie (`graph_nodes::mtrie::Ip4Mtrie`).
//!
//! Run with `cargo test -p graph-nodes mtrie` (all test names live in the
//! `mtrie` module so the filter matches them).

mod mtrie {
    use graph_nodes::mtrie::Ip4Mtrie;
    use std::collections::HashMap;
    use std::hint::black_box;
    use std::time::Instant;

    const DEFAULT: u32 = 0x7fff_fffe;

    fn ip(a: u8, b: u8, c: u8, d: u8) -> u32 {
        u32::from_be_bytes([a, b, c, d])
    }

    fn mask(len: u8) -> u32 {
        if len == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(len))
        }
    }

    /// Tiny xorshift64 PRNG.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }
        fn u32(&mut self) -> u32 {
            (self.next() >> 32) as u32
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    /// Reference LPM table: one map per prefix length, searched longest
    /// first (a linear scan over the 33 lengths).
    struct Reference {
        by_len: Vec<HashMap<u32, u32>>,
        default: u32,
    }

    impl Reference {
        fn new(default: u32) -> Self {
            Reference {
                by_len: (0..=32).map(|_| HashMap::new()).collect(),
                default,
            }
        }
        fn insert(&mut self, addr: u32, len: u8, value: u32) {
            self.by_len[len as usize].insert(addr & mask(len), value);
        }
        fn remove(&mut self, addr: u32, len: u8) -> bool {
            self.by_len[len as usize]
                .remove(&(addr & mask(len)))
                .is_some()
        }
        /// Longest prefix strictly shorter than `max_len` covering `addr`.
        fn lpm_below(&self, addr: u32, max_len: u8) -> (u32, u8) {
            for len in (0..max_len.min(33)).rev() {
                if let Some(&v) = self.by_len[len as usize].get(&(addr & mask(len))) {
                    return (v, len);
                }
            }
            (self.default, 0)
        }
        fn lookup(&self, addr: u32) -> u32 {
            self.lpm_below(addr, 33).0
        }
        /// Removes `addr/len` from both tables, passing the right cover.
        fn remove_from(&mut self, m: &mut Ip4Mtrie, addr: u32, len: u8) {
            self.remove(addr, len);
            let (cv, cl) = self.lpm_below(addr & mask(len), len);
            m.remove(addr, len, cv, cl);
        }
        fn n_long(&self) -> usize {
            self.by_len[17..].iter().map(HashMap::len).sum()
        }
        fn prefixes(&self) -> Vec<(u32, u8)> {
            let mut v = Vec::new();
            for (len, map) in self.by_len.iter().enumerate() {
                v.extend(map.keys().map(|&a| (a, len as u8)));
            }
            v.sort_unstable();
            v
        }
    }

    /// Addresses at and around every prefix boundary of `prefixes`.
    fn probes(prefixes: &[(u32, u8)]) -> Vec<u32> {
        let mut v = vec![0, 1, u32::MAX, u32::MAX - 1, 0x8000_0000, 0x7fff_ffff];
        for &(a, len) in prefixes {
            let a = a & mask(len);
            let last = a | !mask(len);
            for x in [
                a,
                last,
                a.wrapping_sub(1),
                last.wrapping_add(1),
                a | (!mask(len) >> 1),
            ] {
                v.push(x);
            }
        }
        v
    }

    fn check_all(m: &Ip4Mtrie, r: &Reference, probes: &[u32]) {
        let mut out = vec![0; probes.len()];
        m.lookup_many(probes, &mut out);
        for (&a, &got) in probes.iter().zip(&out) {
            let want = r.lookup(a);
            assert_eq!(m.lookup(a), want, "lookup {a:#010x}");
            assert_eq!(got, want, "lookup_many {a:#010x}");
        }
    }

    fn permutations(n: usize) -> Vec<Vec<usize>> {
        if n == 0 {
            return vec![vec![]];
        }
        let mut all = Vec::new();
        for p in permutations(n - 1) {
            for pos in 0..=p.len() {
                let mut q = p.clone();
                q.insert(pos, n - 1);
                all.push(q);
            }
        }
        all
    }

    #[test]
    fn empty_table_returns_default() {
        let m = Ip4Mtrie::new(42);
        for a in [0, 1, ip(10, 1, 2, 3), u32::MAX] {
            assert_eq!(m.lookup(a), 42);
        }
        assert_eq!(m.n_plies(), 0);
        assert!(m.memory_bytes() >= 65536 * 4);
        let mut out = [0; 3];
        m.lookup_many(&[0, 5, u32::MAX], &mut out);
        assert_eq!(out, [42; 3]);
    }

    #[test]
    fn default_route_and_removal() {
        let mut m = Ip4Mtrie::new(1);
        m.insert(0, 0, 2);
        assert_eq!(m.lookup(ip(8, 8, 8, 8)), 2);
        m.insert(ip(10, 0, 0, 0), 8, 3);
        m.insert(ip(10, 1, 2, 0), 24, 4);
        // Replacing the default route must not hide the more specifics.
        m.insert(0, 0, 5);
        assert_eq!(m.lookup(ip(8, 8, 8, 8)), 5);
        assert_eq!(m.lookup(ip(10, 9, 9, 9)), 3);
        assert_eq!(m.lookup(ip(10, 1, 2, 9)), 4);
        assert_eq!(m.lookup(ip(10, 1, 3, 9)), 3);
        // Removing /0 restores the construction default (cover args ignored).
        m.remove(0, 0, 999, 0);
        assert_eq!(m.lookup(ip(8, 8, 8, 8)), 1);
        assert_eq!(m.lookup(ip(10, 1, 2, 9)), 4);
        m.remove(ip(10, 1, 2, 0), 24, 3, 8);
        m.remove(ip(10, 0, 0, 0), 8, 1, 0);
        assert_eq!(m.lookup(ip(10, 1, 2, 9)), 1);
        assert_eq!(m.n_plies(), 0);
    }

    #[test]
    fn extreme_prefixes() {
        let mut m = Ip4Mtrie::new(0);
        m.insert(0, 0, 1);
        m.insert(u32::MAX, 32, 2);
        m.insert(0, 32, 3);
        assert_eq!(m.lookup(u32::MAX), 2);
        assert_eq!(m.lookup(u32::MAX - 1), 1);
        assert_eq!(m.lookup(0), 3);
        assert_eq!(m.lookup(1), 1);
        assert_eq!(m.n_plies(), 4);
        m.insert(ip(255, 255, 255, 255), 1, 4); // 128.0.0.0/1
        assert_eq!(m.lookup(u32::MAX), 2);
        assert_eq!(m.lookup(u32::MAX - 1), 4);
        assert_eq!(m.lookup(0x8000_0000), 4);
        assert_eq!(m.lookup(0x7fff_ffff), 1);
        m.remove(u32::MAX, 32, 4, 1);
        assert_eq!(m.lookup(u32::MAX), 4);
        m.remove(0, 32, 1, 0);
        assert_eq!(m.lookup(0), 1);
        assert_eq!(m.n_plies(), 0);
        m.remove(0x8000_0000, 1, 1, 0);
        m.remove(0, 0, 0, 0);
        assert_eq!(m.lookup(u32::MAX), 0);
        // Maximum value.
        m.insert(ip(1, 2, 3, 4), 32, (1 << 31) - 1);
        assert_eq!(m.lookup(ip(1, 2, 3, 4)), (1 << 31) - 1);
    }

    #[test]
    fn host_bits_ignored() {
        let mut m = Ip4Mtrie::new(0);
        m.insert(ip(10, 1, 2, 3), 8, 1); // == 10.0.0.0/8
        m.insert(ip(10, 1, 2, 255), 24, 2); // == 10.1.2.0/24
        m.insert(ip(192, 168, 77, 77), 20, 3); // == 192.168.64.0/20
        m.insert(ip(172, 16, 255, 255), 0, 4); // == 0.0.0.0/0
        assert_eq!(m.lookup(ip(10, 200, 0, 0)), 1);
        assert_eq!(m.lookup(ip(10, 1, 2, 0)), 2);
        assert_eq!(m.lookup(ip(192, 168, 64, 0)), 3);
        assert_eq!(m.lookup(ip(192, 168, 79, 255)), 3);
        assert_eq!(m.lookup(ip(192, 168, 80, 0)), 4);
        assert_eq!(m.lookup(ip(11, 0, 0, 0)), 4);
        // Removal also ignores host bits.
        m.remove(ip(10, 1, 2, 77), 24, 1, 8);
        assert_eq!(m.lookup(ip(10, 1, 2, 0)), 1);
        m.remove(ip(192, 168, 65, 1), 20, 4, 0);
        assert_eq!(m.lookup(ip(192, 168, 64, 0)), 4);
        assert_eq!(m.n_plies(), 0);
    }

    #[test]
    fn replace_and_reinsert() {
        let mut m = Ip4Mtrie::new(0);
        m.insert(ip(10, 0, 0, 0), 8, 1);
        m.insert(ip(10, 1, 2, 0), 24, 2);
        m.insert(ip(10, 1, 2, 3), 32, 3);
        // Replace each with a new value.
        m.insert(ip(10, 0, 0, 0), 8, 11);
        m.insert(ip(10, 1, 2, 0), 24, 12);
        m.insert(ip(10, 1, 2, 3), 32, 13);
        assert_eq!(m.lookup(ip(10, 5, 5, 5)), 11);
        assert_eq!(m.lookup(ip(10, 1, 2, 4)), 12);
        assert_eq!(m.lookup(ip(10, 1, 2, 3)), 13);
        let plies = m.n_plies();
        m.insert(ip(10, 1, 2, 3), 32, 13);
        assert_eq!(m.n_plies(), plies);
        // Remove and re-insert.
        m.remove(ip(10, 1, 2, 0), 24, 11, 8);
        assert_eq!(m.lookup(ip(10, 1, 2, 4)), 11);
        assert_eq!(m.lookup(ip(10, 1, 2, 3)), 13);
        m.insert(ip(10, 1, 2, 0), 24, 22);
        assert_eq!(m.lookup(ip(10, 1, 2, 4)), 22);
        assert_eq!(m.lookup(ip(10, 1, 2, 3)), 13);
        m.remove(ip(10, 1, 2, 3), 32, 22, 24);
        assert_eq!(m.lookup(ip(10, 1, 2, 3)), 22);
        m.insert(ip(10, 1, 2, 3), 32, 23);
        assert_eq!(m.lookup(ip(10, 1, 2, 3)), 23);
        // Removing a prefix that is not there changes nothing.
        m.remove(ip(10, 9, 9, 0), 24, 11, 8);
        m.remove(ip(10, 1, 2, 4), 32, 22, 24);
        m.remove(ip(11, 0, 0, 0), 8, 0, 0);
        assert_eq!(m.lookup(ip(10, 9, 9, 1)), 11);
        assert_eq!(m.lookup(ip(10, 1, 2, 4)), 22);
        assert_eq!(m.lookup(ip(10, 1, 2, 3)), 23);
    }

    /// Nested and sibling prefixes, inserted and removed in every order.
    fn every_order(prefixes: &[(u32, u8)]) {
        let perms = permutations(prefixes.len());
        let probes = probes(prefixes);
        // All removal orders for 4 prefixes; a sample of them for 5.
        let rem_step = if prefixes.len() > 4 { 29 } else { 1 };
        for ins in &perms {
            for rem in perms.iter().step_by(rem_step) {
                let mut m = Ip4Mtrie::new(DEFAULT);
                let mut r = Reference::new(DEFAULT);
                for &k in ins {
                    let (a, l) = prefixes[k];
                    m.insert(a, l, k as u32 + 1);
                    r.insert(a, l, k as u32 + 1);
                    check_all(&m, &r, &probes);
                }
                for &k in rem {
                    let (a, l) = prefixes[k];
                    r.remove_from(&mut m, a, l);
                    check_all(&m, &r, &probes);
                }
                assert_eq!(m.n_plies(), 0, "ins {ins:?} rem {rem:?}");
            }
        }
    }

    #[test]
    fn nested_8_16_24_32_every_order() {
        every_order(&[
            (ip(10, 0, 0, 0), 8),
            (ip(10, 1, 0, 0), 16),
            (ip(10, 1, 2, 0), 24),
            (ip(10, 1, 2, 3), 32),
        ]);
    }

    #[test]
    fn odd_lengths_every_order() {
        // Lengths that fill several slots of a ply, plus a default route.
        every_order(&[
            (0, 0),
            (ip(10, 0, 0, 0), 12),
            (ip(10, 1, 0, 0), 20),
            (ip(10, 1, 2, 16), 28),
            (ip(10, 1, 2, 17), 32),
        ]);
    }

    #[test]
    fn siblings_and_overlaps_every_order() {
        every_order(&[
            (ip(10, 1, 0, 0), 16),
            (ip(10, 1, 2, 0), 23),
            (ip(10, 1, 3, 0), 24),
            (ip(10, 1, 2, 128), 25),
            (ip(10, 1, 3, 255), 32),
        ]);
    }

    /// Random prefix: lengths weighted toward 8..=32, addresses clustered in
    /// a few /16s so many prefixes share plies.
    fn random_prefix(rng: &mut Rng, clusters: &[u32]) -> (u32, u8) {
        let len = match rng.below(100) {
            0..=2 => rng.below(8) as u8,
            3..=29 => 8 + rng.below(17) as u8, // 8..=24
            30..=59 => 24,
            60..=79 => 25 + rng.below(8) as u8, // 25..=32
            _ => 32,
        };
        let addr = if rng.below(10) < 8 {
            clusters[rng.below(clusters.len() as u64) as usize] | (rng.u32() & 0xffff)
        } else {
            rng.u32()
        };
        (addr & mask(len), len)
    }

    #[test]
    fn randomized_differential() {
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let clusters: Vec<u32> = (0..6).map(|_| rng.u32() & 0xffff_0000).collect();
        let mut m = Ip4Mtrie::new(DEFAULT);
        let mut r = Reference::new(DEFAULT);
        let mut live: Vec<(u32, u8)> = Vec::new();
        let mut max_plies = 0;
        let mut batch = vec![0u32; 64];
        let mut out = vec![0u32; 64];
        for op in 0..20_000u32 {
            match rng.below(10) {
                // insert (new or replace)
                0..=4 => {
                    let (a, l) = random_prefix(&mut rng, &clusters);
                    let v = rng.u32() >> 1;
                    if r.by_len[l as usize].insert(a, v).is_none() {
                        live.push((a, l));
                    }
                    m.insert(a, l, v);
                }
                // remove a live prefix
                5..=7 if !live.is_empty() => {
                    let (a, l) = live.swap_remove(rng.below(live.len() as u64) as usize);
                    r.remove_from(&mut m, a, l);
                }
                // remove a random (probably absent) prefix
                5..=7 => {
                    let (a, l) = random_prefix(&mut rng, &clusters);
                    if r.by_len[l as usize].contains_key(&a) {
                        live.retain(|&p| p != (a, l));
                    }
                    r.remove_from(&mut m, a, l);
                }
                // batch lookups
                _ => {
                    for x in batch.iter_mut() {
                        *x = match rng.below(3) {
                            0 => rng.u32(),
                            1 => {
                                clusters[rng.below(clusters.len() as u64) as usize]
                                    | (rng.u32() & 0xffff)
                            }
                            _ if !live.is_empty() => {
                                let (a, l) = live[rng.below(live.len() as u64) as usize];
                                a | (rng.u32() & !mask(l))
                            }
                            _ => rng.u32(),
                        };
                    }
                    m.lookup_many(&batch, &mut out);
                    for (&a, &got) in batch.iter().zip(&out) {
                        assert_eq!(got, r.lookup(a), "op {op} addr {a:#010x}");
                    }
                }
            }
            // Each ply holds at least one prefix longer than its base, and a
            // prefix longer than /16 lives in at most two plies.
            assert!(
                m.n_plies() <= 2 * r.n_long(),
                "op {op}: {} plies for {} long prefixes",
                m.n_plies(),
                r.n_long()
            );
            max_plies = max_plies.max(m.n_plies());
            for _ in 0..2 {
                let a = clusters[rng.below(clusters.len() as u64) as usize] | (rng.u32() & 0xffff);
                assert_eq!(m.lookup(a), r.lookup(a), "op {op} addr {a:#010x}");
            }
        }
        let all = r.prefixes();
        println!(
            "differential: {} live prefixes, {} plies (max {max_plies}), {} bytes",
            all.len(),
            m.n_plies(),
            m.memory_bytes()
        );
        check_all(&m, &r, &probes(&all));
        // Remove everything (random order): back to the default and 0 plies.
        let mut all = all;
        while !all.is_empty() {
            let (a, l) = all.swap_remove(rng.below(all.len() as u64) as usize);
            r.remove_from(&mut m, a, l);
        }
        assert_eq!(m.n_plies(), 0);
        for _ in 0..1000 {
            assert_eq!(m.lookup(rng.u32()), DEFAULT);
        }
        assert_eq!(m.memory_bytes(), Ip4Mtrie::new(DEFAULT).memory_bytes());
    }

    #[test]
    fn churn_reuses_freed_plies() {
        let mut m = Ip4Mtrie::new(0);
        m.insert(ip(10, 0, 0, 0), 8, 1);
        // Keep one ply pair alive so the pool is not released.
        m.insert(ip(10, 0, 0, 1), 32, 2);
        let mut rng = Rng(12345);
        let mut peak = 0;
        for round in 0..50 {
            let routes: Vec<u32> = (0..200)
                .map(|_| ip(10, 0, 0, 0) | (rng.u32() & 0x00ff_ffff))
                .filter(|&a| a != ip(10, 0, 0, 1))
                .collect();
            for &a in &routes {
                m.insert(a, 32, 3);
            }
            for &a in &routes {
                m.remove(a, 32, 1, 8);
            }
            if round == 0 {
                peak = m.memory_bytes();
            }
            assert_eq!(m.n_plies(), 2);
            // The pool only grows as much as the largest live set needs
            // (~400 plies): allow for Vec growth but not per-round leaks.
            assert!(m.memory_bytes() <= 2 * peak, "round {round}");
        }
        assert_eq!(m.lookup(ip(10, 0, 0, 1)), 2);
        assert_eq!(m.lookup(ip(10, 0, 0, 2)), 1);
    }

    #[test]
    #[should_panic]
    fn value_too_large_panics() {
        Ip4Mtrie::new(0).insert(0, 8, 1 << 31);
    }

    #[test]
    #[should_panic]
    fn length_too_large_panics() {
        Ip4Mtrie::new(0).insert(0, 33, 1);
    }

    /// 1M routes (random /24s and /32s plus some shorter): correctness on a
    /// sample, memory and lookup speed. Slow in debug builds, hence ignored;
    /// run with `cargo test -p graph-nodes --release mtrie -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn million_routes() {
        let mut rng = Rng(0xdead_beef_cafe_f00d);
        let mut m = Ip4Mtrie::new(0);
        let mut r = Reference::new(0);
        let t = Instant::now();
        m.insert(0, 0, 1);
        r.insert(0, 0, 1);
        let mut n = 1;
        while n < 1_000_000 {
            let x = rng.below(100);
            let len = match x {
                0..=69 => 24,
                70..=94 => 32,
                _ => 8 + rng.below(16) as u8,
            };
            let a = rng.u32() & mask(len);
            let v = 2 + (rng.u32() >> 2);
            m.insert(a, len, v);
            r.insert(a, len, v);
            n += 1;
        }
        let build = t.elapsed();
        let n_prefixes: usize = r.by_len.iter().map(HashMap::len).sum();
        println!(
            "1M routes: {n_prefixes} distinct prefixes, {} plies, {:.1} MiB, built in {:.2?} ({:.0} ns/insert)",
            m.n_plies(),
            m.memory_bytes() as f64 / (1024.0 * 1024.0),
            build,
            build.as_nanos() as f64 / n as f64
        );

        // Correctness on a sample: random addresses plus addresses inside /32s.
        let mut sample: Vec<u32> = (0..100_000).map(|_| rng.u32()).collect();
        sample.extend(r.by_len[32].keys().take(20_000).copied());
        sample.extend(r.by_len[24].keys().take(20_000).map(|&a| a | 0x80));
        let mut out = vec![0; sample.len()];
        m.lookup_many(&sample, &mut out);
        for (&a, &got) in sample.iter().zip(&out) {
            let want = r.lookup(a);
            assert_eq!(got, want, "{a:#010x}");
            assert_eq!(m.lookup(a), want, "{a:#010x}");
        }

        // Speed: 10M random lookups, 256 at a time.
        const N: usize = 10_000_000;
        const VEC: usize = 256;
        let addrs: Vec<u32> = (0..N).map(|_| rng.u32()).collect();
        let mut out = [0u32; VEC];
        let mut sum = 0u64;
        let t = Instant::now();
        for chunk in addrs.chunks_exact(VEC) {
            m.lookup_many(black_box(chunk), &mut out);
            sum = sum.wrapping_add(u64::from(out[0]) + u64::from(out[VEC - 1]));
        }
        let dt = t.elapsed();
        println!(
            "lookup_many: {:.2} ns/lookup (checksum {sum:x})",
            dt.as_nanos() as f64 / N as f64
        );

        let mut sum = 0u64;
        let t = Instant::now();
        for &a in &addrs {
            sum = sum.wrapping_add(u64::from(m.lookup(black_box(a))));
        }
        let dt = t.elapsed();
        println!(
            "lookup (scalar loop): {:.2} ns/lookup (checksum {sum:x})",
            dt.as_nanos() as f64 / N as f64
        );

        // Tear everything down: back to 0 plies.
        let t = Instant::now();
        let mut all = r.prefixes();
        all.sort_unstable_by_key(|&(a, l)| (std::cmp::Reverse(l), a));
        for (a, l) in all {
            r.remove_from(&mut m, a, l);
        }
        println!("removed all in {:.2?}", t.elapsed());
        assert_eq!(m.n_plies(), 0);
        assert_eq!(m.lookup(rng.u32()), 0);
    }
}
