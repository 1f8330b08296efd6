//! Build facts for `show version verbose`: who built it, where, when, with which compiler, and
//! the git revision (VPP prints the same lines).

use std::process::Command;

fn run(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok()?;
    let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !s.is_empty()).then_some(s)
}

fn main() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or(std::path::Path::new("."))
        .to_path_buf();
    // A new commit changes the revision.
    for p in [".git/HEAD", ".git/refs/heads"] {
        let p = root.join(p);
        if p.exists() {
            println!("cargo:rerun-if-changed={}", p.display());
        }
    }
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    let rev = run(
        "git",
        &["-C", &root.to_string_lossy(), "describe", "--always"],
    )
    .map(|r| format!("-g{r}"))
    .unwrap_or_default();
    let user = std::env::var("USER")
        .ok()
        .or_else(|| run("id", &["-un"]))
        .unwrap_or_else(|| "unknown".into());
    let host = run("hostname", &[])
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    let date = match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(t) => run("date", &["-u", "-d", &format!("@{t}")]),
        Err(_) => run("date", &[]),
    }
    .unwrap_or_else(|| "unknown".into());
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let compiler = run(&rustc, &["--version"]).unwrap_or_else(|| "rustc".into());
    println!("cargo:rustc-env=DP_BUILD_REV={rev}");
    println!("cargo:rustc-env=DP_BUILD_USER={user}");
    println!("cargo:rustc-env=DP_BUILD_HOST={host}");
    println!("cargo:rustc-env=DP_BUILD_DATE={date}");
    println!("cargo:rustc-env=DP_BUILD_TOPDIR={}", root.display());
    println!("cargo:rustc-env=DP_BUILD_COMPILER={compiler}");
}
