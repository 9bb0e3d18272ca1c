//! The `baton-notion` CLI (being written).
