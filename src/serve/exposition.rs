//! The metrics of one read, in the Prometheus formats (prometheus-client, the Prometheus
//! project's own crate): gauges in base units, a `context` label on every series, no
//! label with unbounded values (no month, pid or message id).

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

use crate::model::{Assessment, LockProblem, Snapshot, Status};

type Labels = Vec<(&'static str, String)>;
type Float = Gauge<f64, AtomicU64>;

/// What is known of one context at a scrape: its last read (when there was one), whether
/// the database answered the newest attempt, and how long that took.
pub struct Known<'a> {
    pub context: &'a str,
    pub read: Option<(&'a Snapshot, &'a Assessment)>,
    pub up: bool,
    pub read_seconds: f64,
    pub reads_total: u64,
}

/// The families, registered once per scrape.
struct Families {
    months: Family<Labels, Float>,
    locks: Family<Labels, Float>,
    foreign: Family<Labels, Float>,
    queue: Family<Labels, Float>,
    oldest: Family<Labels, Float>,
    duplicates: Family<Labels, Float>,
    done: Family<Labels, Float>,
    remaining: Family<Labels, Float>,
    rate: Family<Labels, Float>,
    eta: Family<Labels, Float>,
    verdict: Family<Labels, Float>,
    up: Family<Labels, Float>,
    duration: Family<Labels, Float>,
    reads: Family<Labels, Counter>,
}

impl Families {
    fn registered(registry: &mut Registry) -> Self {
        let f = Self {
            months: Family::default(),
            locks: Family::default(),
            foreign: Family::default(),
            queue: Family::default(),
            oldest: Family::default(),
            duplicates: Family::default(),
            done: Family::default(),
            remaining: Family::default(),
            rate: Family::default(),
            eta: Family::default(),
            verdict: Family::default(),
            up: Family::default(),
            duration: Family::default(),
            reads: Family::default(),
        };
        let r = registry;
        r.register("backfill_months", "Months of backfill_log by status", f.months.clone());
        r.register(
            "backfill_month_locks",
            "Month advisory locks by state (held, waiting) and why stuck (none when not)",
            f.locks.clone(),
        );
        r.register("backfill_foreign_advisory_locks", "Advisory locks that are not month locks", f.foreign.clone());
        r.register(
            "backfill_queue_messages",
            "Queue messages by state (ready, in_flight, delayed, dead)",
            f.queue.clone(),
        );
        r.register(
            "backfill_queue_oldest_ready_age_seconds",
            "How long the oldest ready message has waited (0 when none is ready)",
            f.oldest.clone(),
        );
        r.register(
            "backfill_queue_duplicate_months",
            "Months with more than one live queue message",
            f.duplicates.clone(),
        );
        r.register("backfill_progress_done", "Months completed", f.done.clone());
        r.register("backfill_progress_remaining", "Months pending, retry or processing", f.remaining.clone());
        r.register("backfill_rate_months_per_hour", "The recent completion rate", f.rate.clone());
        r.register(
            "backfill_eta_seconds",
            "Seconds until done at the faster (low) and slower (high) recent rate",
            f.eta.clone(),
        );
        r.register("backfill_verdict", "1 while a verdict holds, by kind and level", f.verdict.clone());
        r.register("backfill_up", "1 when the database answered the last read", f.up.clone());
        r.register("backfill_read_duration_seconds", "How long the last read took", f.duration.clone());
        // A counter: the encoder names it backfill_reads_total.
        r.register("backfill_reads", "Reads made since serve started (at most one per min_interval)", f.reads.clone());
        f
    }
}

fn labels(context: &str, more: &[(&'static str, &str)]) -> Labels {
    let mut l = vec![("context", context.to_string())];
    l.extend(more.iter().map(|(k, v)| (*k, v.to_string())));
    l
}

/// Why a lock is stuck, as the label says it: the gravest problem first.
fn stuck(problems: &[LockProblem]) -> &'static str {
    let has = |f: fn(&LockProblem) -> bool| problems.iter().any(f);
    if has(|p| matches!(p, LockProblem::Stranded { .. })) {
        "stranded"
    } else if has(|p| matches!(p, LockProblem::Leaked { .. })) {
        "leaked"
    } else if has(|p| matches!(p, LockProblem::IdleInTransaction { .. })) {
        "idle_in_transaction"
    } else if has(|p| matches!(p, LockProblem::Overdue)) {
        "overdue"
    } else {
        "none"
    }
}

fn add(known: &Known<'_>, f: &Families) {
    let c = known.context;
    f.up.get_or_create(&labels(c, &[])).set(if known.up { 1.0 } else { 0.0 });
    f.duration.get_or_create(&labels(c, &[])).set(known.read_seconds);
    f.reads.get_or_create(&labels(c, &[])).inc_by(known.reads_total);
    let Some((snap, a)) = known.read else { return };
    let counts = snap.status_counts();
    for status in Status::KNOWN {
        let n = counts.get(&status).copied().unwrap_or(0);
        f.months.get_or_create(&labels(c, &[("status", status.as_str())])).set(n as f64);
    }
    let mut foreign = 0;
    for (lock, verdict) in snap.locks.iter().zip(&a.locks) {
        if lock.month().is_none() {
            foreign += 1;
            continue;
        }
        let state = if lock.granted { "held" } else { "waiting" };
        let g = f.locks.get_or_create(&labels(c, &[("state", state), ("stuck", stuck(&verdict.problems))]));
        g.set(g.get() + 1.0);
    }
    f.foreign.get_or_create(&labels(c, &[])).set(f64::from(foreign));
    let q = &snap.queue;
    for (state, n) in [("ready", q.ready), ("in_flight", q.in_flight), ("delayed", q.delayed), ("dead", q.dead)] {
        f.queue.get_or_create(&labels(c, &[("state", state)])).set(n as f64);
    }
    let oldest = q.oldest_ready_at.map_or(0.0, |at| (snap.taken_at - at).num_milliseconds().max(0) as f64 / 1000.0);
    f.oldest.get_or_create(&labels(c, &[])).set(oldest);
    f.duplicates.get_or_create(&labels(c, &[])).set(snap.duplicates.len() as f64);
    let p = &a.progress;
    f.done.get_or_create(&labels(c, &[])).set(p.done as f64);
    f.remaining.get_or_create(&labels(c, &[])).set(p.remaining as f64);
    if let Some(rate) = p.per_hour {
        f.rate.get_or_create(&labels(c, &[])).set(rate);
    }
    for (bound, at) in [("low", p.eta_low), ("high", p.eta_high)] {
        if let Some(at) = at {
            let secs = (at - snap.taken_at).num_milliseconds().max(0) as f64 / 1000.0;
            f.eta.get_or_create(&labels(c, &[("bound", bound)])).set(secs);
        }
    }
    for v in &a.verdicts {
        let kind = v.kind.name();
        f.verdict.get_or_create(&labels(c, &[("kind", &kind), ("level", v.level.word())])).set(1.0);
    }
}

/// Every context's metrics: OpenMetrics (`openmetrics`, ending in `# EOF`) or the classic
/// text format.
pub fn render(known: &[Known<'_>], openmetrics: bool) -> String {
    let mut registry = Registry::default();
    let families = Families::registered(&mut registry);
    for k in known {
        add(k, &families);
    }
    let mut out = String::new();
    let written = if openmetrics {
        prometheus_client::encoding::text::encode(&mut out, &registry)
    } else {
        prometheus_client::encoding::text::encode_registry(&mut out, &registry)
    };
    // Writing to a String cannot fail; were it to, an empty page says nothing false.
    if written.is_err() {
        out.clear();
    }
    if openmetrics { out } else { classic(&out) }
}

/// The classic text format from OpenMetrics without `# EOF`: the same lines, but a
/// counter's HELP and TYPE name its sample (`backfill_reads_total`), as Prometheus'
/// text parser (and `promtool check metrics`) expect.
fn classic(openmetrics: &str) -> String {
    let counters: Vec<&str> =
        openmetrics.lines().filter_map(|l| l.strip_prefix("# TYPE ")?.strip_suffix(" counter")).collect();
    let mut out = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        let renamed = ["# HELP ", "# TYPE "].iter().find_map(|head| {
            let rest = line.strip_prefix(head)?;
            let (name, tail) = rest.split_once(' ')?;
            counters.contains(&name).then(|| format!("{head}{name}_total {tail}"))
        });
        out.push_str(renamed.as_deref().unwrap_or(line));
        out.push('\n');
    }
    out
}

#[cfg(test)]
#[path = "exposition_tests.rs"]
mod tests;
