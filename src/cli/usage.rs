//! A flag whose value is wrong: the command never ran. Such an error exits with status 2,
//! like clap's own usage errors (the README's contract), where any other error exits 1.

/// What is wrong with a flag's value, in one line that names the flag.
#[derive(Debug)]
pub struct Usage(pub String);

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

/// A usage error for `text` (it names the flag).
pub fn usage(text: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Usage(text.into()))
}

/// Whether `e` is a usage error.
pub fn is_usage(e: &anyhow::Error) -> bool {
    e.downcast_ref::<Usage>().is_some()
}
