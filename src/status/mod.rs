//! `olmisctl status`: the state of the whole platform for people, monitoring and Prometheus.

pub mod gather;
pub mod model;
pub mod prometheus;
pub mod screen;
pub mod serve;
