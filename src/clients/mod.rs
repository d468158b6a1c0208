//! One typed client per external system. Each turns transport and API failures into
//! [`crate::error::Error::Service`] with the system's name and a hint, and never puts a secret in
//! an error message.

pub mod airflow;
pub mod clickhouse;
pub mod connect;
pub mod docker;
pub mod http;
pub mod kafka;
pub mod postgres;
pub mod postgres_tls;
pub mod superset;
pub mod webdriver;
