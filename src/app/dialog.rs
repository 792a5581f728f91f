//! The two-phase dialogs: each says exactly what will happen before it happens.

use crate::model::claim::{ClaimParams, ClaimReport, MAX_BATCH};

use crate::model::lock_key::{MAX_YEAR, MIN_YEAR};
use crate::model::release::{HolderPlan, Method};
use crate::model::reset::ResetReport;
use crate::model::retry::RetryReport;

use super::msg::{RedriveJob, ResetJob, RetryJob};
use crate::model::dead::RedriveReport;

/// The claim form: batch size, year range, force-retry, dry-run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimForm {
    pub params: ClaimParams,
    pub field: ClaimField,
    /// The claim of listed months: what a dry run of the routine found (the plan).
    pub plan: Option<ClaimReport>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimField {
    Batch,
    FromYear,
    ToYear,
    ForceRetry,
    DryRun,
}

impl ClaimField {
    pub const ALL: [ClaimField; 5] =
        [ClaimField::Batch, ClaimField::FromYear, ClaimField::ToYear, ClaimField::ForceRetry, ClaimField::DryRun];

    pub fn label(self) -> &'static str {
        match self {
            ClaimField::Batch => "batch size",
            ClaimField::FromYear => "from year",
            ClaimField::ToYear => "to year",
            ClaimField::ForceRetry => "force retry",
            ClaimField::DryRun => "dry run",
        }
    }
}

impl ClaimForm {
    /// The form as it opens: a dry run first (Enter shows what the routine would claim, in
    /// this dialog; Enter again claims).
    pub fn new() -> Self {
        Self { params: ClaimParams { dry_run: true, ..ClaimParams::default() }, field: ClaimField::Batch, plan: None }
    }

    /// The claim as a dry run planned it, ready to run for real. For marked months batch
    /// and years follow from the months (only force-retry can change, and plans again).
    pub fn for_months(params: ClaimParams, plan: ClaimReport) -> Self {
        let field = if params.months.is_empty() { ClaimField::Batch } else { ClaimField::ForceRetry };
        Self { params: ClaimParams { dry_run: false, ..params }, field, plan: Some(plan) }
    }

    /// The fields the operator can change.
    pub fn fields(&self) -> &'static [ClaimField] {
        if self.params.months.is_empty() { &ClaimField::ALL } else { &ClaimField::ALL[3..4] }
    }

    pub fn move_field(&mut self, forward: bool) {
        let fields = self.fields();
        let i = fields.iter().position(|f| *f == self.field).unwrap_or(0);
        let n = fields.len();
        self.field = fields[if forward { (i + 1) % n } else { (i + n - 1) % n }];
    }

    /// ←/→ on a number, or either on a switch.
    pub fn adjust(&mut self, up: bool) {
        let step = if up { 1 } else { -1 };
        let p = &mut self.params;
        match self.field {
            ClaimField::Batch => p.batch_size = (p.batch_size + step).clamp(1, MAX_BATCH),
            ClaimField::FromYear => p.years.from = (p.years.from + step as i32).clamp(MIN_YEAR, p.years.to),
            ClaimField::ToYear => p.years.to = (p.years.to + step as i32).clamp(p.years.from, MAX_YEAR),
            ClaimField::ForceRetry => p.force_retry = !p.force_retry,
            ClaimField::DryRun => p.dry_run = !p.dry_run,
        }
    }

    pub fn value(&self, field: ClaimField) -> String {
        let p = &self.params;
        let yes_no = |b: bool| if b { "yes" } else { "no" }.to_string();
        match field {
            ClaimField::Batch => p.batch_size.to_string(),
            ClaimField::FromYear => p.years.from.to_string(),
            ClaimField::ToYear => p.years.to.to_string(),
            ClaimField::ForceRetry => yes_no(p.force_retry),
            ClaimField::DryRun => yes_no(p.dry_run),
        }
    }
}

impl Default for ClaimForm {
    fn default() -> Self {
        Self::new()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dialog {
    Claim(ClaimForm),
    /// Release the sessions of `plans` (the marked holders, else the selected lock's).
    Release {
        plans: Vec<HolderPlan>,
        method: Method,
    },
    /// Reset stuck months, as planned by a dry run of the same routine.
    Reset {
        job: ResetJob,
        plan: ResetReport,
    },
    /// Failed months back to retry, as planned by a dry run of the same routine.
    Retry {
        job: RetryJob,
        plan: RetryReport,
    },
    /// Dead letters back to the queue, as planned by a dry run of the same routine.
    Redrive {
        job: RedriveJob,
        plan: RedriveReport,
    },
    /// Dead letters deleted (the count is in the confirmation).
    Purge {
        which: crate::model::dead::Which,
        /// How many, and which, in words.
        count: usize,
        what: String,
        until: Option<chrono::DateTime<chrono::Utc>>,
        selection: String,
    },
    /// A job is running.
    Running {
        title: String,
        /// The job's last progress report.
        progress: Option<String>,
        /// It stops safely when asked (a redrive, between chunks).
        cancellable: bool,
    },
    /// A job's result, or a refusal.
    Result {
        title: String,
        lines: Vec<String>,
        ok: bool,
    },
}

impl Dialog {
    pub fn title(&self) -> String {
        match self {
            Dialog::Claim(_) => "Run the claim routine".into(),
            Dialog::Release { method, plans } => match (method, plans.as_slice()) {
                (Method::Terminate, [plan]) => {
                    format!("Terminate pid {} (holds {})", plan.target.pid, plan.target.month)
                }
                (Method::Cancel, [plan]) => {
                    format!("Cancel the query of pid {} (holds {})", plan.target.pid, plan.target.month)
                }
                (method, plans) => {
                    let locks: usize = plans.iter().map(|p| p.months.len()).sum();
                    let verb = if *method == Method::Terminate { "Terminate" } else { "Cancel the queries of" };
                    format!("{verb} {} sessions (they hold {locks} month locks)", plans.len())
                }
            },
            Dialog::Reset { job, .. } => format!("Reset stuck months ({} chosen)", job.months.len()),
            Dialog::Retry { job, .. } => format!("Retry {} month(s)", job.months.len()),
            Dialog::Redrive { plan, .. } => format!("Redrive {} dead letter(s)", plan.considered().len()),
            Dialog::Purge { count, .. } => format!("Purge {count} dead letter(s)"),
            Dialog::Running { title, .. } | Dialog::Result { title, .. } => title.clone(),
        }
    }
}
