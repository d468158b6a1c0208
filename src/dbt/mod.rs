//! dbt: the runner project (`dbt/` in the project directory) whose dependencies are the configured
//! analytics packages, the dbt processes olmisctl runs there, and what their artifacts say.
//!
//! - [`project`]: the runner project, the configured packages and `packages.yml`;
//! - [`invocation`]: dbt's arguments and environment (secrets only in the environment);
//! - [`source_collection`]: the ClickHouse named collection the reconciliation test reads;
//! - [`process`]: finding dbt and running it with its output streaming to the user;
//! - [`results`]: run_results.json / sources.json / manifest.json into a summary;
//! - [`run`]: `dbt-build` and `dbt-test`; [`verify`]: `verify dbt`;
//! - [`container`]: the same in the Airflow container, for compose mode on a host without dbt.

pub mod container;
pub mod invocation;
pub mod process;
pub mod project;
pub mod results;
pub mod run;
pub mod source_collection;
pub mod verify;
