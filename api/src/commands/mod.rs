//! The data commands of the command line: loading a JSON data set (`import`, in the format of
//! `records`), the bundled seed (`seed`) and generated data sets for benchmarks (`synthetic`).

pub(crate) mod import;
pub mod records;
pub mod seed;
pub mod synthetic;
