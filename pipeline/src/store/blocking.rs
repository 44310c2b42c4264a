//! Blocking store clients (the synchronous `postgres` client, the object store's runtime)
//! must not run on an async runtime's thread: `sentio serve` resolves registry models from
//! inside its runtime. Such calls run on a short-lived scoped thread instead; everywhere
//! else (the executor's step threads, the CLI) they run in place.
pub(crate) fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    if tokio::runtime::Handle::try_current().is_err() {
        return f();
    }
    std::thread::scope(|s| match s.spawn(f).join() {
        Ok(v) => v,
        Err(panic) => std::panic::resume_unwind(panic),
    })
}
