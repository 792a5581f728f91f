//! Stepping a claim by hand: the claim pauses at every step until the test says go.

use backfill_console::db::claim::{Step, StepObserver, steps::StepFuture};
use tokio::sync::{Mutex, mpsc};

pub struct Gate {
    steps: mpsc::UnboundedSender<Step>,
    go: Mutex<mpsc::UnboundedReceiver<()>>,
}

pub struct Controller {
    steps: mpsc::UnboundedReceiver<Step>,
    go: mpsc::UnboundedSender<()>,
}

pub fn gate() -> (Gate, Controller) {
    let (step_tx, step_rx) = mpsc::unbounded_channel();
    let (go_tx, go_rx) = mpsc::unbounded_channel();
    (Gate { steps: step_tx, go: Mutex::new(go_rx) }, Controller { steps: step_rx, go: go_tx })
}

impl StepObserver for Gate {
    fn at(&self, step: Step) -> StepFuture<'_> {
        Box::pin(async move {
            let _ = self.steps.send(step);
            let _ = self.go.lock().await.recv().await;
        })
    }
}

impl Controller {
    /// The step the claim is paused at now.
    pub async fn next(&mut self) -> Step {
        tokio::time::timeout(std::time::Duration::from_secs(30), self.steps.recv())
            .await
            .expect("the claim reached no step within 30 s")
            .expect("the claim ended")
    }

    pub async fn expect(&mut self, want: Step) {
        assert_eq!(self.next().await, want);
    }

    pub fn go(&self) {
        let _ = self.go.send(());
    }

    /// Lets the claim, paused at the step last seen, run to its end.
    pub fn release_all(self) {
        let Controller { mut steps, go } = self;
        let _ = go.send(());
        tokio::spawn(async move {
            while steps.recv().await.is_some() {
                let _ = go.send(());
            }
        });
    }
}
