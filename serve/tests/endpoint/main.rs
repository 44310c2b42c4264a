//! Integration tests of the endpoint: real servers on 127.0.0.1:0, real (tiny) models.
mod admin;
mod common;
mod contract;
mod errors;
mod hostile;
mod lifecycle;
mod metrics;
mod openapi;
mod routing;
mod tools;
