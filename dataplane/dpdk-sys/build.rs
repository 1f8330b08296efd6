//! Finds DPDK with pkg-config, compiles the C shim, and generates bindings for the allowlisted
//! API. Without libdpdk the crate builds empty (cfg `dpdk_available` unset), unless the `require`
//! feature asks for DPDK, in which case the build fails with the package to install.

use std::env;
use std::path::PathBuf;

/// Flags `libdpdk.pc` puts in Cflags that pkg-config-rs does not hand back as include paths or
/// defines: every DPDK header expects rte_config.h included first, and the inline fast path uses
/// SSE4.2 instructions enabled by the machine flag.
const DPDK_EXTRA_CFLAGS: &[&str] = &["-include", "rte_config.h", "-march=corei7"];

fn main() {
    println!("cargo::rustc-check-cfg=cfg(dpdk_available)");
    println!("cargo:rerun-if-changed=shim/shim.c");
    println!("cargo:rerun-if-changed=shim/shim.h");
    println!("cargo:rerun-if-changed=shim/wrapper.h");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_LIBDIR");
    let lib = match pkg_config::Config::new()
        .atleast_version("21.11")
        .cargo_metadata(false)
        .probe("libdpdk")
    {
        Ok(lib) => lib,
        Err(e) => {
            if env::var_os("CARGO_FEATURE_REQUIRE").is_some() {
                panic!(
                    "DPDK was asked for (feature `dpdk`) but pkg-config cannot find libdpdk: {e}\n\
                     install it with: apt-get install libdpdk-dev dpdk pkg-config libclang-dev"
                );
            }
            println!(
                "cargo:warning=libdpdk not found by pkg-config; dpdk-sys builds empty (install libdpdk-dev for DPDK support)"
            );
            watch_pkg_config_dirs();
            return;
        }
    };
    println!("cargo:rustc-cfg=dpdk_available");

    let mut cflags: Vec<String> = lib
        .include_paths
        .iter()
        .map(|p| format!("-I{}", p.display()))
        .collect();
    for (k, v) in &lib.defines {
        cflags.push(match v {
            Some(v) => format!("-D{k}={v}"),
            None => format!("-D{k}"),
        });
    }
    cflags.extend(DPDK_EXTRA_CFLAGS.iter().map(|s| s.to_string()));

    // The shim.
    let mut cc = cc::Build::new();
    cc.file("shim/shim.c").include("shim").opt_level(3);
    for f in &cflags {
        cc.flag(f);
    }
    cc.flag_if_supported("-Wno-unused-parameter");
    cc.compile("dpdk_shim");

    // Link only what the driver calls; PMDs (net_af_packet, net_pcap, mempool_ring, the vdev and
    // PCI buses) are not linked: EAL loads them from its plugin directory at start, as a shared
    // DPDK build does.
    for dir in &lib.link_paths {
        println!("cargo:rustc-link-search=native={}", dir.display());
    }
    for l in [
        "rte_ethdev",
        "rte_mbuf",
        "rte_mempool",
        "rte_eal",
        "rte_bus_vdev",
        "rte_kvargs",
    ] {
        println!("cargo:rustc-link-lib=dylib={l}");
    }
    println!("cargo:version={}", lib.version);

    let bindings = bindgen::Builder::default()
        .header("shim/wrapper.h")
        .clang_arg("-Ishim")
        .clang_args(&cflags)
        .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()))
        .allowlist_function("dp_.*")
        .allowlist_function("rte_eal_init")
        .allowlist_function("rte_eal_cleanup")
        .allowlist_function("rte_strerror")
        .allowlist_function("rte_version")
        .allowlist_function("rte_socket_id")
        .allowlist_function("rte_pktmbuf_pool_create")
        .allowlist_function("rte_pktmbuf_free_bulk")
        .allowlist_function("rte_mempool_free")
        .allowlist_function("rte_mempool_avail_count")
        .allowlist_function("rte_mempool_in_use_count")
        .allowlist_function("rte_vdev_init")
        .allowlist_function("rte_vdev_uninit")
        .allowlist_function("rte_dev_probe")
        .allowlist_function("rte_eth_dev_count_avail")
        .allowlist_function("rte_eth_dev_get_port_by_name")
        .allowlist_function("rte_eth_dev_get_name_by_port")
        .allowlist_function("rte_eth_dev_is_valid_port")
        .allowlist_function("rte_eth_dev_info_get")
        .allowlist_function("rte_eth_dev_socket_id")
        .allowlist_function("rte_eth_dev_configure")
        .allowlist_function("rte_eth_rx_queue_setup")
        .allowlist_function("rte_eth_tx_queue_setup")
        .allowlist_function("rte_eth_dev_start")
        .allowlist_function("rte_eth_dev_stop")
        .allowlist_function("rte_eth_dev_close")
        .allowlist_function("rte_eth_macaddr_get")
        .allowlist_function("rte_eth_dev_default_mac_addr_set")
        .allowlist_function("rte_eth_promiscuous_enable")
        .allowlist_function("rte_eth_allmulticast_enable")
        .allowlist_function("rte_eth_link_get_nowait")
        .allowlist_function("rte_eth_stats_get")
        .allowlist_var("RTE_MBUF_DEFAULT_BUF_SIZE")
        .allowlist_var("RTE_PKTMBUF_HEADROOM")
        .allowlist_var("RTE_MAX_ETHPORTS")
        .allowlist_var("RTE_ETH_NAME_MAX_LEN")
        .allowlist_var("SOCKET_ID_ANY")
        // Only handled through pointers: no layout needed (and rte_mbuf's markers and cache-line
        // alignment are not worth mirroring).
        .opaque_type("rte_mbuf")
        .opaque_type("rte_mempool")
        .opaque_type("rte_device")
        .derive_default(true)
        .layout_tests(false)
        .generate_comments(false)
        .formatter(bindgen::Formatter::None)
        .generate()
        .expect("bindgen over the DPDK headers");
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR")).join("bindings.rs");
    bindings.write_to_file(&out).expect("write bindings.rs");
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
