//! The two-phase dialogs: each says exactly what will happen before it happens.

use crate::model::claim::{ClaimParams, ClaimReport, MAX_BATCH};

use crate::model::job::{Job, Plan};
use crate::model::lock_key::{MAX_YEAR, MIN_YEAR};

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

#[derive(Debug, Clone, PartialEq)]
pub enum Dialog {
    Claim(ClaimForm),
    /// An action planned and waiting for the go-ahead: `job` planned `plan` (a dry run's
    /// job, or the action itself when it has no dry run); Enter runs `job.confirmed(plan)`.
    /// Its text and its knobs are its operation's (`job.confirmation(plan)`, `job.turned`).
    Confirm {
        job: Job,
        plan: Plan,
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
            Dialog::Confirm { job, plan } => job.confirmation(plan).title,
            Dialog::Running { title, .. } | Dialog::Result { title, .. } => title.clone(),
        }
    }
}
