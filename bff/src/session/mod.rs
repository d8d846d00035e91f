//! Sessions: what a session holds ([`record`]), how it is kept — sealed under a key only
//! the cookie carries ([`ticket`]) in Redis or a bounded in-memory map ([`store`],
//! [`memory`]) — the refresh locks ([`lock`]) and the per-user index ([`index`]).

pub mod cache;
pub mod index;
pub mod lock;
pub mod memory;
pub mod record;
pub mod replay;
pub mod store;
pub mod ticket;
pub mod tracking;

pub use index::Owner;
pub use record::{KEY, SessionData, current, end, info, now, reload, touch, write};
pub use store::Store;
