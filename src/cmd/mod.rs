//! One module per subcommand.
pub mod catalog;
pub mod data_args;
pub mod demo;
pub mod evaluate;
pub mod init;
pub mod monitor;
pub mod predict;
pub mod serve;
pub mod train;
pub mod validate;
