//! The claim routine's vocabulary: what the operator asks for and what a claim did.

pub mod params;
pub mod report;

pub use params::{ClaimParams, MAX_BATCH, ParamsError, YearRange};
pub use report::{Candidate, ClaimReport, Claimed};

/// `contemporary-notable` for 2020 and later, else `baseline` (SPEC §2 step 5).
pub fn prompt_variant(year: i32) -> &'static str {
    if year >= 2020 { "contemporary-notable" } else { "baseline" }
}
