// The golden api crate's generated test uses the harness of the real api crate.
include!("../../../../../../crates/genesys-cloud-api/tests/support/mod.rs");
