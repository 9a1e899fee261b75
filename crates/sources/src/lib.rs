//! Sources of the ferrodef pipeline: HTTP ingest bodies, syslog, AMQP, files.

pub mod http_body;
pub mod syslog;
