//! Placeholder; filled by the loadtest issue.
