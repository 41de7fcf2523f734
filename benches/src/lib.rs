//! Shared helpers for the bench suites.
