//! `dpctl`: the vppctl-style client of the dataplane daemon; see [`cli::dpctl`].

fn main() {
    std::process::exit(cli::dpctl::main());
}
