#![forbid(unsafe_code)]
//! backfill-console: an operations console for the PostgreSQL-backed backfill scheduler.

pub mod app;
pub mod cli;
pub mod config;
pub mod contexts;
pub mod db;
pub mod demo;
pub mod duration_text;
pub mod logging;
pub mod model;
pub mod ops;
pub mod pgserver;
pub mod present;
pub mod redact;
pub mod serve;
pub mod text;
pub mod tui;
pub mod ui;
