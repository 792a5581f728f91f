//! The tests that need neither a database nor a terminal: the console's state machine,
//! its screens (insta snapshots, styles included), the recorder's format, properties.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

#[path = "../fixture/mod.rs"]
mod fixture;

mod app_actions;
mod app_update;
mod causes_corpus;
mod incident_console;
mod incident_views;
mod properties;
mod recorder;
mod ui;
mod ui_ascii;
mod ui_contexts;
mod wall;
