//! The c1z store (being written).
