//! Fuzz target `config_ini`: see [`genesys_cloud_fuzz::run`]. Without `--cfg fuzzing` it replays
//! the files named on its command line.
#![cfg_attr(fuzzing, no_main)]

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| genesys_cloud_fuzz::run("config_ini", data));

#[cfg(not(fuzzing))]
fn main() {
    let mut count = 0;
    for path in std::env::args_os().skip(1) {
        let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.to_string_lossy()));
        genesys_cloud_fuzz::run("config_ini", &data);
        count += 1;
    }
    println!("config_ini: {count} inputs replayed");
}
