//! The tests that drive the real binary in a pseudo-terminal or as a command, and those
//! that need servers of their own (TLS, access rules, faults), whatever the major.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

#[path = "../common/mod.rs"]
mod common;

mod cli_output;
mod demo;
mod faults;
mod hostile_data;
mod pty;
mod pty_contexts;
mod pty_incident;
mod pty_replay;
mod push;
mod serve;
mod server_access;
mod tls;
