//! Finds libxdp and libbpf with pkg-config and compiles the C shim against them. Without them the
//! crate builds a stub whose `dp_xsk_open` reports that AF_XDP support is missing (cfg
//! `xdp_available` unset), so the workspace builds on machines without libxdp.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(xdp_available)");
    println!("cargo:rerun-if-changed=shim/xsk_shim.c");
    println!("cargo:rerun-if-changed=shim/xsk_shim.h");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_LIBDIR");
    let probe = |name: &str, version: &str| {
        pkg_config::Config::new()
            .atleast_version(version)
            .cargo_metadata(false)
            .probe(name)
    };
    let (xdp, bpf) = match (probe("libxdp", "1.2"), probe("libbpf", "0.8")) {
        (Ok(x), Ok(b)) => (x, b),
        (x, b) => {
            let why = x
                .err()
                .or(b.err())
                .map(|e| e.to_string())
                .unwrap_or_default();
            println!(
                "cargo:warning=libxdp/libbpf not found by pkg-config ({}); AF_XDP support is left out (install libxdp-dev libbpf-dev)",
                why.lines()
                    .map(str::trim)
                    .find(|l| !l.is_empty())
                    .unwrap_or("")
            );
            watch_pkg_config_dirs();
            return;
        }
    };
    println!("cargo:rustc-cfg=xdp_available");
    let mut cc = cc::Build::new();
    cc.file("shim/xsk_shim.c").include("shim").opt_level(2);
    for p in xdp.include_paths.iter().chain(&bpf.include_paths) {
        cc.include(p);
    }
    cc.flag_if_supported("-Wno-unused-parameter");
    cc.compile("xsk_shim");
    for dir in xdp.link_paths.iter().chain(&bpf.link_paths) {
        println!("cargo:rustc-link-search=native={}", dir.display());
    }
    println!("cargo:rustc-link-lib=dylib=xdp");
    println!("cargo:rustc-link-lib=dylib=bpf");
}

/// When the library is missing, watch pkg-config's search directories, so that installing the
/// -dev package later makes cargo probe again (otherwise the empty build is cached for good).
fn watch_pkg_config_dirs() {
    let out = std::process::Command::new("pkg-config")
        .args(["--variable", "pc_path", "pkg-config"])
        .output();
    let path = match out {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).trim().to_string(),
        _ => "/usr/lib/x86_64-linux-gnu/pkgconfig:/usr/lib/pkgconfig:/usr/share/pkgconfig".into(),
    };
    for dir in path.split(':').filter(|d| std::path::Path::new(d).is_dir()) {
        println!("cargo:rerun-if-changed={dir}");
    }
}
