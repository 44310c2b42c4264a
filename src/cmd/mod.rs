//! One module per subcommand.
pub mod catalog;
pub mod data_args;
pub mod demo;
pub mod evaluate;
pub mod experiment;
pub mod home;
pub mod lineage;
pub mod loadtest;
pub mod monitor;
pub mod pipeline;
pub mod predict;
pub mod registry;
pub mod retrain;
pub mod serve;
pub mod train;
pub mod transform;
pub mod validate;
