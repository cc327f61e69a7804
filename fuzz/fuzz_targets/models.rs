//! Fuzz target `models`: see [`genesys_cloud_fuzz::run`]. Without `--cfg fuzzing` it replays
//! the files named on its command line.
#![cfg_attr(fuzzing, no_main)]

genesys_cloud_fuzz::fuzz_main!("models");
