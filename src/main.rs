#![forbid(unsafe_code)]
//! `backfill-console`: parse the command line, set up logging, hand over.

use clap::Parser;

use backfill_console::cli::{self, Cli, Command};

fn main() {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_env("BACKFILL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    let command = cli.command.unwrap_or(Command::Console);
    let code = runtime.block_on(cli::run(cli.global, command));
    drop(runtime);
    std::process::exit(code);
}
