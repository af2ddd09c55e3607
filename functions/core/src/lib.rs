//! Shikayat's domain: complaints and their lifecycle, routing, conversation rules, the bilingual
//! message catalogue, and the ports (traits) through which the functions reach the world.
//! Plain Rust: no AWS types and no I/O here; adapters implement the ports.

pub mod catalogue;
pub mod command;
pub mod complaint;
pub mod config;
pub mod conversation;
pub mod digest;
pub mod error;
pub mod escalation;
pub mod ids;
pub mod inbound;
pub mod lifecycle;
pub mod media;
pub mod outbound;
pub mod pacing;
pub mod ports;
pub mod pseudonym;
pub mod routing;
pub mod rules;
pub mod secret;
pub mod signature;
pub mod templates;

pub use complaint::{Complaint, Status};
pub use config::DistrictConfig;
pub use error::CoreError;
pub use ids::{ComplaintId, Phone};
