//! The Docker image and the compose stack without a Docker engine: the Dockerfile's build
//! stage run as written on exactly the files it copies, then docker-compose.yml's services
//! run as compose would, one network namespace each, reached from the host's published ports.
#![allow(clippy::unwrap_used)]

#[path = "../e2e/chrome.rs"]
#[allow(dead_code)]
mod chrome;
mod compose;
mod container;
mod context;
mod dockerfile;
mod forward;
#[path = "../e2e/harness.rs"]
#[allow(dead_code)]
mod harness;
mod ignore;
mod image;
mod image_build;
mod netns;
#[path = "../e2e/poll.rs"]
mod poll;
#[path = "../e2e/recorder.rs"]
#[allow(dead_code)]
mod recorder;
mod runtime;
mod services;
#[path = "../e2e/spa_steps.rs"]
#[allow(dead_code)]
mod spa_steps;
mod stack;

pub use poll::{eventually, loud};
