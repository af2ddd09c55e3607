//! End-to-end scenarios: the local runner as a real process, driven only through signed webhook
//! posts and observed only through the Graph API calls it makes — as Meta and WhatsApp users.

mod admin;
mod aws_faults;
mod control_room;
mod escalation;
mod faults;
mod harness;
mod inbound_types;
mod lambda_events;
mod lifecycle;
mod logscan;
mod meta_rules;
mod outbox;
mod robustness;
mod stack;
