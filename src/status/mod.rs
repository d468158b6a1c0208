//! `olmisctl status`: the state of the whole platform for people, monitoring and Prometheus.

pub mod model;
pub mod prometheus;
pub mod serve;
