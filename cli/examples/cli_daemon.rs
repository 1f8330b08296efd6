//! A toy daemon serving a small command registry on a CLI socket, to try `dpctl` by hand:
//!
//! ```text
//! cargo run -p cli --example cli_daemon -- /tmp/cli.sock &
//! cargo run -p cli --bin dpctl -- -s /tmp/cli.sock
//! ```

use std::path::PathBuf;
use std::time::Duration;

use cli::server::CliServer;
use cli::{Args, CliError, Registry};

struct Engine {
    counter: u64,
}

fn show_counter(e: &mut Engine, a: &mut Args) -> Result<String, CliError> {
    a.expect_end()?;
    Ok(format!("counter {}", e.counter))
}

fn set_counter(e: &mut Engine, a: &mut Args) -> Result<String, CliError> {
    e.counter = a.u64()?;
    a.expect_end()?;
    Ok(String::new())
}

fn show_version(_: &mut Engine, a: &mut Args) -> Result<String, CliError> {
    a.expect_end()?;
    Ok(format!("cli_daemon {}", env!("CARGO_PKG_VERSION")))
}

fn main() {
    let path = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp/dataplane-cli.sock"));
    let mut reg = Registry::new();
    reg.register("show counter", "show the counter", show_counter)
        .unwrap();
    reg.register("show version", "show the version", show_version)
        .unwrap();
    reg.register("set counter", "set counter N", set_counter)
        .unwrap();
    let mut server = match CliServer::bind(&path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("cli_daemon: {e}");
            std::process::exit(1);
        }
    };
    eprintln!("cli_daemon: listening on {}", path.display());
    let mut engine = Engine { counter: 0 };
    loop {
        // A real daemon dispatches packets here and only sleeps when idle.
        server.wait_timeout(Duration::from_millis(100));
        server.poll(|req| req.run(&reg, &mut engine));
    }
}
