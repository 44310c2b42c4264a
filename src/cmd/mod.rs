//! One module per subcommand.
pub mod data_args;
pub mod demo;
pub mod evaluate;
pub mod predict;
pub mod train;
pub mod validate;
