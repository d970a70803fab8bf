#![no_main]

use libfuzzer_sys::fuzz_target;
use snapmap_fuzz::{differential, sequence::Input};

fuzz_target!(|input: Input| {
    differential::run(&input);
});
