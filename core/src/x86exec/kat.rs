//! Known-answer rows.
