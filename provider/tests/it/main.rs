//! Provider integration tests: the real server over real HTTP, on SQLite and
//! PostgreSQL. One test binary (linking many is slow on small machines).
#![allow(clippy::unwrap_used)]

mod admin;
mod api;
mod authorize;
mod cli;
mod codes;
mod forms;
mod hosts;
mod multiprocess;
mod oidc;
mod ops;
mod refresh;
mod storage;
mod support;
mod throttle;
mod token;
