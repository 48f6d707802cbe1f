//! The mactuxd protocol.
//!
//! This crate will hold the request and response types exchanged between a
//! `mactux run` process (one Linux task) and the per-user daemon `mactuxd`:
//! length-prefixed bincode 2 frames over one Unix-socket connection per task,
//! a version handshake, and a maximum frame size. It is filled in by the
//! daemon and process-model issue; the runtime does not talk to a daemon yet.

/// The protocol version a client and daemon must agree on.
pub const PROTOCOL_VERSION: u32 = 0;
