//! The data commands of the command line: loading a JSON data set (`import`, in the format of
//! `records`), the bundled seed (`seed`), generated data sets for benchmarks (`synthetic`), and
//! backing the database up and restoring it (`backup`).

pub mod backup;
pub(crate) mod import;
pub mod records;
pub mod seed;
pub mod synthetic;
