//! Adapters for the core's ports. `embedded`: SQLite, a local folder and a SQLite-backed queue
//! (local mode and small pilots). `whatsapp`: the Cloud API client over HTTPS.

pub mod embedded;
pub mod whatsapp;
