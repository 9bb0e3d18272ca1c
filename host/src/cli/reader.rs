//! The `baton` c1z reader CLI (being written).
