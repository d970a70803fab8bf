#![no_main]

use libfuzzer_sys::fuzz_target;
use snapmap_fuzz::concurrent::{self, Input};

fuzz_target!(|input: Input| concurrent::run(&input));
