//! How the console asks an operation for its request: what the operator has chosen
//! ([`Chosen`]), what the operation answers ([`Ask`]: a dry run to plan it, or a
//! confirmation of a plan it already has), and the catalogue of the operations that answer
//! to the main screen's actions ([`Catalog`], `ops::Operations`, handed to the console by the
//! edge that starts it). The console never names an operation.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use super::action::{Action, OverlayAction};
use super::dead::Which;
use super::lock_key::YearMonth;
use super::op::{Job, Plan};
use super::refusal::Refusal;
use super::release::HolderKey;
use super::{Assessment, LockRow, Snapshot, Thresholds};

/// What the operator has chosen when they ask for an action, as the console shows it.
pub struct Chosen<'a> {
    pub snapshot: Option<&'a Snapshot>,
    /// The snapshot judged (stuck months, lock problems, what each processing month waits for).
    pub assessment: Option<&'a Assessment>,
    pub thresholds: &'a Thresholds,
    /// The marked months.
    pub marked_months: &'a BTreeSet<YearMonth>,
    /// The months an action on months takes: the marked ones, else the selected one.
    pub months: Vec<YearMonth>,
    /// The marked lock holders.
    pub marked_holders: &'a BTreeSet<HolderKey>,
    /// The lock panel has the focus.
    pub on_locks: bool,
    /// The lock panel's selected row.
    pub selected_lock: Option<&'a LockRow>,
    /// The first key that asks for an action, to name in a refusal.
    pub key: Box<dyn Fn(Action) -> Option<String> + 'a>,
}

/// What the operator chose in the dead-letter view: which messages, how many as the view
/// counted them, the same in words, how the audit row names the choice, and none that died
/// after `until` (what the operator saw).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadChoice {
    pub which: Which,
    pub count: usize,
    pub what: String,
    pub selection: String,
    pub until: Option<DateTime<Utc>>,
}

/// What an operation answers to the action asked.
#[derive(Debug)]
pub enum Ask {
    /// Run this dry run: its result is the plan to confirm.
    Plan(Job),
    /// Confirm this plan of this job (planned from what the console already shows).
    Confirm(Job, Plan),
}

/// The operations that answer to the main screen's actions.
pub trait Catalog: Send + Sync {
    /// The request `action` makes of `chosen`; `None` when no operation answers to it.
    fn ask(&self, action: Action, chosen: &Chosen<'_>) -> Option<Result<Ask, Refusal>>;
    /// The request an overlay's `action` makes of the dead letters chosen in its view;
    /// `None` when no operation answers to it.
    fn ask_in_view(&self, _action: OverlayAction, _choice: &DeadChoice) -> Option<Ask> {
        None
    }
}

/// A console with no operation (a replay; a test of the screens alone): every action that
/// would ask one does nothing.
pub struct NoOperations;

impl Catalog for NoOperations {
    fn ask(&self, _action: Action, _chosen: &Chosen<'_>) -> Option<Result<Ask, Refusal>> {
        None
    }
}
