//! Embedded adapters for local mode and small pilots: everything lives under one data folder.
//!
//! - `<data_dir>/shikayat.sqlite` — one SQLite database ([`Db`]) holding complaints and their
//!   timelines, the message log, conversations, the directory, settings/counters
//!   ([`SqliteStore`]) and the queues ([`SqliteQueue`]).
//! - `<data_dir>/media/` — media files with their metadata ([`FolderMedia`]).
//!
//! Build one `Db` per process and share clones of it: every clone uses the same connection.

mod conversations;
mod db;
mod directory;
mod media;
mod messages;
mod queue;
mod store;
#[cfg(test)]
mod testutil;

pub use db::Db;
pub use media::FolderMedia;
pub use queue::{Delivery, SqliteQueue};
pub use store::SqliteStore;
