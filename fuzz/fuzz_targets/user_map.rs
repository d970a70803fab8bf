//! A fuzz target shaped like a user's: it takes a `SnapMap` as its input, through snapmap's
//! `arbitrary` feature, and checks what a user of the map relies on.
#![no_main]

use libfuzzer_sys::fuzz_target;

mod user_map_check;

use user_map_check::{Map, Step};

fuzz_target!(|input: (Map, Vec<Step>)| {
    let (map, steps) = input;
    user_map_check::run(map, &steps);
});
