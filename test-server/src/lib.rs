//! test server
