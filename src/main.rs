#![forbid(unsafe_code)]
//! `backfill-console`: parse the command line, set up logging, hand over.

use clap::Parser;

use backfill_console::cli::{self, Cli, Command};
use backfill_console::logging;

fn main() {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Console);
    let tui = match &command {
        Command::Console | Command::Watch { .. } => true,
        Command::Demo(args) => !args.no_tui,
        _ => false,
    };
    if tui {
        logging::init_tui();
    } else {
        logging::init_stderr();
    }
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
    let code = runtime.block_on(cli::run(cli.global, command));
    // Do not wait for stray tasks (a job on a dead link): the exit is what matters now.
    runtime.shutdown_timeout(std::time::Duration::from_millis(500));
    std::process::exit(code);
}
